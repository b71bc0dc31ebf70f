/* libnarrator internals shared by its source files (not installed). */
#ifndef NR_CLIENT_INTERNAL_H
#define NR_CLIENT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/wire.h" /* NR_CLIENT_MAX_LINEAGE */
#include "narrator/narrator.h"

struct nr_tee;
struct nr_chan;

#define NR_CLIENT_DEFAULT_TIMEOUT_MS 10000u
#define NR_CLIENT_DEFAULT_WINDOW 64u
#define NR_CLIENT_MAX_WINDOW 65536u         /* outstanding requests per session */
#define NR_CLIENT_IBUF_BYTES (256u * 1024u) /* socket read buffer: many frames per recv */

/* One outstanding request of a session, at slots[req_id & mask] (req_id 0: free). */
struct nr_slot {
    uint64_t req_id;
    struct nr_rec *record;
    uint64_t tag;
    uint8_t op;   /* enum nr_op */
    uint8_t sync; /* a synchronous call waits for it: not queued as a completion */
    uint8_t done;
    int status;
    uint64_t version; /* writes: the submitted version; once done: the reply's */
    uint32_t handle;  /* C_OPEN: the record handle from the reply */
    uint8_t digest[NR_DIGEST_BYTES];
};

struct nr_session {
    int fd;
    struct nr_tee *tee;
    struct nr_chan *chan;
    uint8_t system_id[NR_SYSTEM_ID_BYTES];
    uint32_t timeout_ms;
    uint32_t window;      /* max outstanding requests */
    uint32_t outstanding; /* slots in use */
    uint64_t next_req;
    uint32_t next_handle; /* record handles are picked here (wire.h C_OPEN) */
    int broken;           /* a transport or protocol error happened: every later call fails */
    int has_genesis;      /* the SE named the genesis of its network (C_OPEN/C_STATUS reply) */
    uint8_t genesis[NR_GENESIS_ID_BYTES];
    unsigned npred; /* ... and the epochs before it, newest first (wire.h C_REPLY) */
    uint8_t pred[NR_CLIENT_MAX_LINEAGE][NR_GENESIS_ID_BYTES];
    struct nr_slot *slots;
    uint64_t mask;
    uint64_t *doneq; /* completed asynchronous req_ids, in arrival order (ring, mask + 1) */
    uint64_t dq_head, dq_count;
    uint8_t *obuf; /* client messages queued for the next record */
    size_t olen;
    uint8_t *sbuf; /* u32 length || sealed record: one send per frame */
    uint8_t *ibuf; /* received bytes [ioff, ilen) */
    size_t ioff, ilen;
    uint8_t *pt; /* opened record */
};

struct nr_rec {
    struct nr_session *s;
    uint32_t handle;
    uint32_t outstanding;
    int closing; /* nr_record_close with requests outstanding: freed by the last one */
};

struct nr_client_msg;

/* session.c, for the single-record API (client.c). A transport or protocol error breaks
 * the session: nr_session_fail marks it broken and returns rc. */
int nr_session_fail(struct nr_session *s, int rc);
/* Queue, send and wait for one synchronous request on record r; *out gets the reply. */
int nr_session_roundtrip(struct nr_session *s, struct nr_client_msg *m, struct nr_rec *r,
                         uint8_t op, struct nr_slot *out);

/* One outstanding pipelined update of the single-record API, in submission order. */
struct nr_pending {
    uint64_t tag;
    int done;
    int status;
    uint64_t version;
};

struct nr_client {
    struct nr_session *s;
    struct nr_rec *r;
    struct nr_tee *tee; /* = s->tee (seal.c) */
    uint8_t system_id[NR_SYSTEM_ID_BYTES];
    uint32_t window;
    uint64_t next_tag;
    /* pipelined writes: ring of `window` slots */
    struct nr_pending *ring;
    uint32_t head, count;
};

/* Internal op of a synchronous C_STATUS (asks the SE for its genesis id). */
#define NR_OP_STATUS_ 4

/* The genesis id of the SE's network: from the open reply, or asked with C_STATUS.
 * NR_ENOTREADY while the SE has none (it is still joining). */
int nr_client_genesis(struct nr_client *c, uint8_t out[NR_GENESIS_ID_BYTES]);

/* Restore decision (docs/protocol.md §8), a pure function. One sealed candidate: */
struct nr_sealed_cand {
    int present; /* a valid sealed file with this version exists */
    uint64_t version;
    uint8_t digest[NR_DIGEST_BYTES];      /* nr_state_digest(state, version) */
    uint8_t genesis[NR_GENESIS_ID_BYTES]; /* the network it was sealed under */
};
enum nr_restore_pick { NR_PICK_NONE = 0, NR_PICK_LATEST = 1, NR_PICK_PREVIOUS = 2 };
/* `latest` is the sealed candidate with the higher version, `previous` the other one.
 * net_version 0 means the network holds no record. Returns NR_OK with *result
 * (enum nr_restore_result) and *pick, or NR_EROLLBACK / NR_EFORK / NR_EAHEAD. */
int nr_restore_decide(const struct nr_sealed_cand *latest, const struct nr_sealed_cand *previous,
                      uint64_t net_version, const uint8_t net_digest[NR_DIGEST_BYTES], int *result,
                      int *pick);

/* nr_restore() after its network read: load <path>.0/.1, decide against (vn, dn) of the
 * network with genesis id gn, whose earlier epochs have the npred genesis ids pred (newest
 * first; sealed state of one of them is this network's: docs/protocol.md §10.5). NR_EGENESIS
 * if a sealed file belongs to any other network. */
int nr_restore_local(struct nr_client *c, const char *path, uint64_t vn,
                     const uint8_t dn[NR_DIGEST_BYTES], const uint8_t gn[NR_GENESIS_ID_BYTES],
                     const uint8_t (*pred)[NR_GENESIS_ID_BYTES], unsigned npred, uint8_t *state,
                     size_t cap, size_t *len, uint64_t *version, int *result);

/* One sealed state file, parsed (seal.c). Untrusted bytes: any defect leaves the candidate
 * absent; only NR_ENOMEM is returned as an error. ld->pt owns u64 version || genesis[32] ||
 * state. */
struct nr_loaded {
    uint8_t *pt;
    size_t pt_len;
};
int nr_state_file_open(struct nr_tee *tee, const uint8_t system_id[NR_SYSTEM_ID_BYTES],
                       const char *file, unsigned idx, const uint8_t *data, size_t len,
                       struct nr_sealed_cand *cand, struct nr_loaded *ld);
void nr_loaded_free(struct nr_loaded *ld);
/* The bytes of sealed file `file` holding (state, version); *out is malloc'ed. */
int nr_state_file_build(struct nr_tee *tee, const uint8_t system_id[NR_SYSTEM_ID_BYTES],
                        const uint8_t genesis[NR_GENESIS_ID_BYTES], const char *file,
                        const uint8_t *state, size_t len, uint64_t version, uint8_t **out,
                        size_t *out_len);

/* Order two candidates so that the first has the higher version (absent ones last). */
void nr_sealed_order(struct nr_sealed_cand *a, struct nr_sealed_cand *b, int *swapped);

#endif
