/* narratord sealed store on LMDB (DataDir/store/).
 *
 * Everything in it is a hint for restarts: the host controls the disk and may roll it back,
 * so the protocol never trusts it for safety (docs/protocol.md §5). Every value is sealed
 * with nr_tee_seal() with the LMDB key as additional data, so a value cannot be read on
 * another platform or by another enclave, nor moved to another key, nor altered: any of these
 * gives NR_EUNSEAL.
 *
 * Keys:
 *   "hint"                       sealed {u8 format=1, u32 epoch, u8 was_active,
 *                                        u8 has_genesis, genesis[32]}
 *   'r' u16 owner key[32]        sealed {u8 format=1, u64 version, digest[32], u64 stamp}
 *
 * Group commit: nr_store_put_records() adds to one open write transaction; nr_store_commit()
 * commits it once per event-loop iteration and, when asked (DISK durability), forces it to
 * stable storage (the environment runs with MDB_NOSYNC; nr_store_commit(sync=1) calls
 * mdb_env_sync). The hint is always written durably on its own. */
#ifndef NR_HOST_STORE_H
#define NR_HOST_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "tee/tee.h"

struct nr_store; /* opaque */

struct nr_store_hint {
    uint32_t epoch; /* epoch of the latest started incarnation */
    int was_active; /* some instance on this data dir became ACTIVE */
    int has_genesis; /* ... in the network with this genesis id */
    uint8_t genesis[NR_GENESIS_ID_BYTES];
};

/* Open (creating if needed) the store in directory `dir` (created with mode 0700). The map
 * is sized for `max_records` records. NR_EIO on LMDB errors. */
int nr_store_open(struct nr_store **out, const char *dir, struct nr_tee *tee, uint32_t max_records)
    __attribute__((warn_unused_result));
/* Aborts any uncommitted batch. */
void nr_store_close(struct nr_store *st);

/* NR_OK, NR_ENOTFOUND (fresh store), NR_EUNSEAL (tampered / foreign), NR_EMALFORMED. */
int nr_store_hint_get(struct nr_store *st, struct nr_store_hint *out)
    __attribute__((warn_unused_result));
/* Writes and syncs the hint (its own transaction; commits any open batch first). */
int nr_store_hint_put(struct nr_store *st, const struct nr_store_hint *h)
    __attribute__((warn_unused_result));

/* Add records to the open batch (opened on demand). NR_EFULL if the map is full. */
int nr_store_put_records(struct nr_store *st, const struct nr_record *recs, size_t count)
    __attribute__((warn_unused_result));
/* Records waiting in the open batch. */
size_t nr_store_batch_size(const struct nr_store *st);
/* Commit the open batch (if any); sync = then force everything committed so far to stable
 * storage. */
int nr_store_commit(struct nr_store *st, int sync) __attribute__((warn_unused_result));

/* Read back one committed record. NR_OK, NR_ENOTFOUND, NR_EUNSEAL, NR_EMALFORMED. */
int nr_store_get_record(struct nr_store *st, uint16_t owner, const uint8_t key[NR_KEY_BYTES],
                        struct nr_record *out) __attribute__((warn_unused_result));
/* Every committed record, in key order; stops early if fn returns nonzero. Records that fail
 * to unseal are skipped and counted in *bad (may be NULL). */
int nr_store_foreach(struct nr_store *st, int (*fn)(void *arg, const struct nr_record *r),
                     void *arg, uint64_t *bad) __attribute__((warn_unused_result));
/* Number of records in the store (committed). */
int nr_store_count(struct nr_store *st, uint64_t *out) __attribute__((warn_unused_result));

#endif
