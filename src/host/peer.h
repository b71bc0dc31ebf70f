/* The peer network (peer.c): one TCP listener, dialled and accepted connections to the other
 * SEs, each an NR_CHAN_PEER channel carrying core messages. It owns its connections, its
 * counters and its scratch buffer; it reaches the protocol core only through the two
 * callbacks of struct nr_peer_net_ops (the daemon's glue). */
#ifndef NR_HOST_PEER_H
#define NR_HOST_PEER_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "chan/chan.h"
#include "core/wire.h"
#include "host/config.h"
#include "tee/tee.h"

/* Largest core message, and the largest peer frame (a sealed core message). */
#define NR_PEER_MSG_MAX (NR_PEER_HDR_BYTES(NR_MAX_MEMBERS) + NR_MAX_BODY)
#define NR_PEER_FRAME_MAX (NR_PEER_MSG_MAX + NR_CHAN_FRAME_OVERHEAD)

struct nr_peer_net;

/* One member of the membership, as the channel handshake looks it up. */
struct nr_member_info {
    uint8_t identity_pub[NR_IDENTITY_PUB_BYTES];
    uint8_t platform_id[NR_PLATFORM_ID_BYTES];
};

/* What the peer network needs from the daemon. The pointers must outlive it. */
struct nr_peer_net_config {
    const struct nr_host_config *cfg; /* Index, Listen, [Peer] sections, TEE backend */
    const char *config_path;          /* for error messages */
    struct nr_tee *tee;
    const uint8_t *identity_sk; /* NR_IDENTITY_SK_BYTES */
    const uint8_t *identity_pub;
    const uint8_t *system_id;
    const struct nr_attest_policy *policy;
    const struct nr_member_info *members; /* n of them */
    uint16_t n;
    uint32_t max_records; /* sizes the output-buffer limit (one whole join snapshot) */
};

/* Upcalls into the daemon (the core): called from the peer network's event callbacks. */
struct nr_peer_net_ops {
    void *ctx;
    /* One message from an authenticated member; a nonzero return (the core dropped it) is
     * counted and logged. */
    int (*on_msg)(void *ctx, uint16_t member, const uint8_t *msg, size_t len);
    void (*on_connected)(void *ctx, uint16_t member);
};

/* Counters (exported as metrics). */
struct nr_peer_stats {
    uint64_t connects;
    uint64_t disconnects;
    uint64_t handshake_failures;
    uint64_t frames_oversize;
    uint64_t refused_pending; /* accepts refused: too many pending handshakes */
    uint64_t frames_unauth;   /* frames failing channel authentication / replay */
    uint64_t wrong_direction; /* authenticated peers that should have been dialled */
    uint64_t msgs_in;
    uint64_t msgs_out;
    uint64_t bytes_in;
    uint64_t bytes_out;
    uint64_t sends_dropped_noconn;
    uint64_t sends_dropped_backpressure;
    uint64_t core_rejects; /* messages the core dropped (nonzero return) */
};

/* One configured peer, for /status. */
struct nr_peer_info {
    const char *endpoint;
    unsigned n_conns;
    uint64_t connects, msgs_in, msgs_out;
};

/* Check the [Peer] sections against the membership and allocate; no socket yet. On a
 * configuration error *err says why. */
int nr_peer_net_new(struct nr_peer_net **out, const struct nr_peer_net_config *cfg,
                    const struct nr_peer_net_ops *ops, char *err, size_t err_cap)
    __attribute__((warn_unused_result));
/* Listen and start dialling the members with a higher index. */
int nr_peer_net_start(struct nr_peer_net *pn, struct event_base *base)
    __attribute__((warn_unused_result));
/* Close every connection and free (NULL is a no-op). */
void nr_peer_net_free(struct nr_peer_net *pn);

/* Seal one core message to every connection of member `to` (dropped, and counted, if there
 * is none or its output buffer is full: the core resends). */
void nr_peer_net_send(struct nr_peer_net *pn, uint16_t to, const uint8_t *msg, size_t len);
/* End of a loop iteration: push queued output to the kernel; free closed connections. */
void nr_peer_net_push(struct nr_peer_net *pn);
void nr_peer_net_reap(struct nr_peer_net *pn);

unsigned nr_peer_net_connected(const struct nr_peer_net *pn); /* members with a channel */
const struct nr_peer_stats *nr_peer_net_stats(const struct nr_peer_net *pn);
/* 1 and *out for a configured peer, 0 otherwise. */
int nr_peer_net_info(const struct nr_peer_net *pn, uint16_t member, struct nr_peer_info *out);

#endif
