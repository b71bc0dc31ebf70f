/* libnarrator: the API an application enclave (AE) links to protect its state against
 * rollback and forking.
 *
 * Model. An AE keeps its state outside the enclave as sealed files. For every update it
 *   1. seals (state, v+1) locally with nr_seal_state(),
 *   2. calls nr_update(v+1, digest) — this returns only once f+1 state enclaves hold the
 *      new version (the update is committed),
 *   3. only then releases any output that depends on the new state.
 * On restart it calls nr_restore(), which compares its sealed files with the network record
 * and answers, with a distinct code each: fresh, uncommitted-update-dropped,
 * ROLLBACK DETECTED, or no record.
 *
 * All functions return 0 (NR_OK) or a negative NR_E* code (narrator/errors.h);
 * nr_strerror() describes it. A handle is not thread-safe; use one per thread.
 *
 * Timeouts and broken handles. Every wait is bounded by `timeout_ms`. A timeout, a closed
 * socket or any transport/protocol error (NR_ETIMEDOUT, NR_ECLOSED, NR_EAUTH, NR_EREPLAY,
 * NR_EMALFORMED...) breaks the handle: every later call returns NR_ECLOSED. The outcome of
 * the request in flight is then unknown (an update may still commit), so the AE closes the
 * handle, opens a new one and reads (nr_read) or restores (nr_restore) before writing again.
 * Protocol answers (NR_ECONFLICT, NR_ENOTREADY, NR_EUNAVAIL, NR_EHALTED...) leave the
 * handle usable. */
#ifndef NARRATOR_H
#define NARRATOR_H

#include <stddef.h>
#include <stdint.h>

#include "narrator/errors.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define NR_API __attribute__((visibility("default")))
#define NR_MUST_CHECK __attribute__((warn_unused_result))
#else
#define NR_API
#define NR_MUST_CHECK
#endif

#include "narrator/sizes.h"

struct nr_client; /* an open record: one AE's channel to its local SE */

struct nr_client_options {
    const char *socket_path;      /* the local SE's Unix socket (required) */
    const char *platform_dir;     /* sim TEE: this platform's directory (required for sim) */
    const char *tee_backend;      /* "sim" (default) */
    const char *code_identity;    /* the AE's code identity, measured by the TEE (required) */
    const char *se_code_identity; /* the SE's code identity (default "narrator-se/1") */
    uint8_t system_id[NR_SYSTEM_ID_BYTES]; /* the system the AE trusts */
    uint32_t timeout_ms;                 /* per request; 0 = default 10000 */
    uint32_t window;                     /* max outstanding pipelined requests (per handle or per
                                          * session); 0 = default 64, at most 65536 */
    /* tee_backend "gramine" only (docs/sgx.md): the SE's DCAP quote is verified in the AE's
     * enclave, and must come from this platform. */
    const uint8_t *se_measurement;   /* 32 bytes: the SE's MRENCLAVE (this or se_signer) */
    const uint8_t *se_signer;        /* 32 bytes: MRSIGNER the SE must have, or NULL */
    const uint8_t *attestation_root; /* 32 bytes: SHA-256 of the pinned root certificate (DER);
                                      * NULL = the Intel SGX Root CA */
    int allow_debug_se;              /* accept an SGX debug SE enclave (development only) */
};

/* Open `record_name` (1..128 bytes) through the local SE: connects to the Unix socket,
 * starts the AE's enclave instance (nr_tee_open of platform_dir + code_identity), runs the
 * attested local handshake (the SE must have the measurement of se_code_identity on this
 * platform) and binds the record: its key is BLAKE2b-256(AE measurement || name), so an AE
 * only ever reaches records of its own measurement. Errors: NR_EINVAL, NR_EUNREACHABLE (no
 * SE listening), NR_ETIMEDOUT, NR_EHANDSHAKE (the SE refused the handshake: another system
 * id; or the socket closed during it), NR_EATTEST (a local report does not verify: the AE's
 * at the SE — another platform, or an SE of another measurement than se_code_identity — or
 * the SE's at the AE), NR_EMEASUREMENT (the SE's report names another measurement). */
NR_API int nr_open(struct nr_client **out, const struct nr_client_options *opt,
                   const char *record_name) NR_MUST_CHECK;
NR_API void nr_close(struct nr_client *c);

/* Commit version `version` (must be the current committed version + 1) with `digest`.
 * Returns NR_OK once f+1 SEs hold it; *committed (may be NULL) gets the version.
 * NR_ECONFLICT if version is not last+1, NR_EUNAVAIL/NR_ETIMEDOUT without a quorum. */
NR_API int nr_update(struct nr_client *c, uint64_t version, const uint8_t digest[NR_DIGEST_BYTES],
                     uint64_t *committed) NR_MUST_CHECK;

/* The latest committed (version, digest); version 0 (and NR_OK) if there is no record.
 * Linearizable: never older than any update acknowledged before the call. NR_ENOTREADY
 * while the SE is joining, NR_ETIMEDOUT without a quorum. */
NR_API int nr_read(struct nr_client *c, uint64_t *version,
                   uint8_t digest[NR_DIGEST_BYTES]) NR_MUST_CHECK;

/* Pipelined variant for high-throughput callers: submit without waiting, then collect
 * replies in order. At most `window` outstanding (see nr_client_options): submit returns
 * NR_EFULL beyond it. Submitted updates are queued and sent together (one channel frame)
 * by the next nr_update_wait() (or once 64 KiB are queued). The SE queues the writes of one record
 * and commits them in order, so versions v+1, v+2, ... may all be in flight. nr_update_wait()
 * returns the oldest one's outcome (NR_ENOTFOUND if none is outstanding). nr_update() and nr_read()
 * return NR_EBUSY while pipelined writes are outstanding. */
NR_API int nr_update_submit(struct nr_client *c, uint64_t version,
                            const uint8_t digest[NR_DIGEST_BYTES]) NR_MUST_CHECK;
NR_API int nr_update_wait(struct nr_client *c, uint64_t *committed) NR_MUST_CHECK;

/* ---- Sessions: many records, many requests in flight, over one channel ----
 * A session is one attested channel to the local SE (as nr_open, without a record). It
 * opens any number of records (up to 65536) and pipelines updates and reads across all of
 * them: requests are queued in the session and sent together (one channel frame, one
 * write) by nr_session_flush() or nr_session_wait(), or when 64 KiB of requests are
 * queued; the SE answers in batches likewise. Per record the SE still commits one update
 * at a time, in submission order: versions v+1, v+2, ... of one record may all be in flight.
 * Completions come back in any order across records; `tag` (any value of the caller's)
 * identifies them. At most `window` requests (nr_client_options; default 64, at most
 * 65536) are outstanding per session: submit returns NR_EFULL beyond it. Timeouts and
 * transport errors break the whole session exactly as they break an nr_open() handle
 * (every later call returns NR_ECLOSED; outcomes of requests in flight are unknown). A
 * session is not thread-safe; use one per thread. */
struct nr_session;
struct nr_rec;

enum nr_op { NR_OP_UPDATE = 1, NR_OP_READ = 2, NR_OP_OPEN = 3 };

struct nr_completion {
    struct nr_rec *record; /* NULL if the record was closed in the meantime */
    uint64_t tag;          /* as given to submit */
    int op;                /* enum nr_op */
    int status;            /* NR_OK or an NR_E* code, as nr_update() / nr_read() would return it */
    uint64_t version;      /* update: the committed version; read: the record's (0: no record) */
    uint8_t digest[NR_DIGEST_BYTES]; /* read: the record's digest (zero if none) */
};

/* Connect and run the attested handshake (errors as nr_open). */
NR_API int nr_session_open(struct nr_session **out,
                           const struct nr_client_options *opt) NR_MUST_CHECK;
/* Close the channel and free every record of the session. */
NR_API void nr_session_close(struct nr_session *s);
/* Open `record_name` (1..128 bytes) in the session: one round trip (completions of other
 * requests that arrive meanwhile are kept for nr_session_wait). NR_EFULL if the session has
 * 65536 records or its window is full. */
NR_API int nr_record_open(struct nr_rec **out, struct nr_session *s,
                          const char *record_name) NR_MUST_CHECK;
/* Pipelined open: queue the open and return the record at once; updates and reads of it
 * may be submitted right behind (the SE handles them after the open). The open completes
 * with op NR_OP_OPEN; if it failed, the record's requests fail with NR_EINVAL, and the
 * caller still closes the record. */
NR_API int nr_record_submit_open(struct nr_rec **out, struct nr_session *s, const char *record_name,
                                 uint64_t tag) NR_MUST_CHECK;
/* Forget the record (its outstanding requests still complete, with record = NULL). */
NR_API void nr_record_close(struct nr_rec *r);
/* Queue an update (version must be the record's committed version + 1 when it reaches the
 * SE; several may be queued) or a read. NR_EFULL when `window` requests are outstanding. */
NR_API int nr_record_submit_update(struct nr_rec *r, uint64_t version,
                                   const uint8_t digest[NR_DIGEST_BYTES], uint64_t tag) NR_MUST_CHECK;
NR_API int nr_record_submit_read(struct nr_rec *r, uint64_t tag) NR_MUST_CHECK;
/* Send everything queued now (nr_session_wait does it too). */
NR_API int nr_session_flush(struct nr_session *s) NR_MUST_CHECK;
/* Send what is queued, then wait (bounded by timeout_ms) for at least one completion and
 * return up to `cap` of them in *n. NR_ENOTFOUND if nothing is outstanding. */
NR_API int nr_session_wait(struct nr_session *s, struct nr_completion *out, size_t cap,
                           size_t *n) NR_MUST_CHECK;
/* Requests submitted and not yet returned by nr_session_wait. */
NR_API uint32_t nr_session_outstanding(const struct nr_session *s);

/* The genesis id of the network the local SE serves (docs/protocol.md §6): sealed state is
 * bound to it. Asks the SE if its open reply did not carry one; NR_ENOTREADY while the SE
 * is still joining. */
NR_API int nr_genesis_id(struct nr_client *c, uint8_t out[NR_GENESIS_ID_BYTES]) NR_MUST_CHECK;

/* ---- Sealing helpers: bind application state to its version ----
 * Files: <path>.0 and <path>.1 hold the two latest sealed versions (version v goes to
 * <path>.(v % 2)), each written atomically (temporary file, fsync, rename, fsync of the
 * directory). Content: "NRSTATE2" || u32 blob_len || TEE-sealed(u64 version || genesis id ||
 * state) -- the genesis id of the SE's network (nr_genesis_id) --, the
 * seal's associated data binding "narrator-state-file", the system id and the file's base
 * name (so the two files cannot be swapped). A file that does not unseal counts as absent.
 * State is at most 16 MiB. */

/* Digest the network stores for (state, version):
 * BLAKE2b-256("narrator-state" || u64le version || state). */
NR_API void nr_state_digest(uint8_t digest[NR_DIGEST_BYTES], const uint8_t *state, size_t len,
                            uint64_t version);
/* Seal (state, version) to the AE's state files, keeping the previous version too. */
NR_API int nr_seal_state(struct nr_client *c, const char *path, const uint8_t *state, size_t len,
                         uint64_t version) NR_MUST_CHECK;

enum nr_restore_result {
    NR_RESTORE_FRESH = 0,               /* sealed state equals the committed record */
    NR_RESTORE_DROPPED_UNCOMMITTED = 1, /* last sealed update never committed: dropped */
    NR_RESTORE_NO_RECORD = 2,           /* no record anywhere: start from scratch */
};
/* One call on restart. On success (*result set) `state` holds the state to continue from
 * (*len, *version). Errors: NR_EROLLBACK (ROLLBACK DETECTED: sealed state older than the
 * network, or missing), NR_EFORK (same version, different digest), NR_EAHEAD (sealed state
 * ahead of the network by more than one), plus transport errors. The AE must refuse to run
 * on any error. NR_RESTORE_NO_RECORD (len 0, version 0) also covers a sealed version 1
 * whose first commit never happened. NR_ETOOBIG if the state does not fit in `cap`.
 * NR_EGENESIS (GENESIS MISMATCH) if the sealed state was committed in another network than
 * the one the local SE serves: a network started beside the real one (docs/threat-model.md)
 * -- never restored, and never taken for "no state". */
NR_API int nr_restore(struct nr_client *c, const char *path, uint8_t *state, size_t cap,
                      size_t *len, uint64_t *version, int *result) NR_MUST_CHECK;

#ifdef __cplusplus
}
#endif
#endif
