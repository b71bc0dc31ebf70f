/* The local AE server (local.c): the Unix socket AEs connect to, one NR_CHAN_LOCAL channel
 * per connection, the record handles each connection opened, and the coalesced replies. It
 * owns its connections, its client table and its counters; it reaches the protocol core
 * only through the callbacks of struct nr_local_server_ops (the daemon's glue). */
#ifndef NR_HOST_LOCAL_H
#define NR_HOST_LOCAL_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "chan/chan.h"
#include "core/wire.h"
#include "tee/tee.h"

struct nr_local_server;

/* What the local server needs from the daemon. The pointers must outlive it. */
struct nr_local_server_config {
    const char *socket_path;
    struct nr_tee *tee;
    const char *tee_backend;
    const uint8_t *system_id;   /* NR_SYSTEM_ID_BYTES */
    const uint8_t *measurement; /* this SE's, NR_MEASUREMENT_BYTES */
    const struct nr_attest_policy *ae_policy; /* AEs' quotes under gramine (chan.h); sim: unused */
    uint16_t self;
};

/* The numbers a C_STATUS reply carries. */
struct nr_local_status {
    uint64_t state; /* enum nr_se_state */
    uint64_t incarnation;
    uint64_t writes_committed;
    uint64_t reads_served;
    uint64_t records;
};

/* Upcalls into the daemon (the core). `client` is the connection's client handle; the
 * reply to an update or read comes back through nr_local_server_reply. */
struct nr_local_server_ops {
    void *ctx;
    void (*client_update)(void *ctx, uint64_t client, uint64_t req_id,
                          const uint8_t key[NR_KEY_BYTES], uint64_t version,
                          const uint8_t digest[NR_DIGEST_BYTES], uint64_t now_ms);
    void (*client_read)(void *ctx, uint64_t client, uint64_t req_id,
                        const uint8_t key[NR_KEY_BYTES], uint64_t now_ms);
    /* The connection has gone (told outside any core callback). */
    void (*client_gone)(void *ctx, uint64_t client);
    void (*status)(void *ctx, struct nr_local_status *out);
    /* The genesis id of the SE's network: NR_OK once it has one. */
    int (*genesis_id)(void *ctx, uint8_t out[NR_GENESIS_ID_BYTES]);
    /* Optional: the genesis ids of the epochs before the SE's, newest first (at most max);
     * returns how many. */
    unsigned (*lineage)(void *ctx, uint8_t (*out)[NR_GENESIS_ID_BYTES], unsigned max);
};

/* Counters (exported as metrics). */
struct nr_local_stats {
    uint64_t connects;
    uint64_t disconnects;
    uint64_t handshake_failures;
    uint64_t frames_oversize;
    uint64_t refused_pending;
    uint64_t frames_unauth;
    uint64_t malformed;
    uint64_t client_opens;
    uint64_t client_writes;
    uint64_t client_reads;
    uint64_t client_status;
    uint64_t client_replies;
    uint64_t client_replies_dropped; /* connection gone */
};

int nr_local_server_new(struct nr_local_server **out, const struct nr_local_server_config *cfg,
                        const struct nr_local_server_ops *ops) __attribute__((warn_unused_result));
/* Bind the socket (mode 0600; a stale socket is replaced) and accept AEs. */
int nr_local_server_start(struct nr_local_server *ls, struct event_base *base)
    __attribute__((warn_unused_result));
/* Hand queued replies to the kernel (best effort), close every connection, remove the
 * socket we bound, free (NULL is a no-op). */
void nr_local_server_free(struct nr_local_server *ls);

/* The core's reply to a request of client `client` (dropped, and counted, if it has gone). */
void nr_local_server_reply(struct nr_local_server *ls, uint64_t client, uint64_t req_id,
                           int status, uint64_t version, const uint8_t digest[NR_DIGEST_BYTES]);
/* End of a loop iteration: seal and push the coalesced replies; free closed connections. */
void nr_local_server_push(struct nr_local_server *ls);
void nr_local_server_reap(struct nr_local_server *ls);

unsigned nr_local_server_clients(const struct nr_local_server *ls);
const struct nr_local_stats *nr_local_server_stats(const struct nr_local_server *ls);

#endif
