/* narratord internals: the daemon object shared by the event loop (daemon.c), the peer
 * transport (peer.c), the local AE socket (local.c) and the metrics endpoint (metrics.c).
 *
 * Threading: one thread, one libevent base. The protocol core is called only from event
 * callbacks and from the end-of-iteration hook; its io callbacks never call back into it:
 * they only queue bytes into bufferevents, records into the store batch, or set flags.
 *
 * Connection objects are never freed inside a callback that may still use them: closing
 * marks them and moves them to a graveyard list, emptied at the end of each loop iteration. */
#ifndef NR_HOST_DAEMON_H
#define NR_HOST_DAEMON_H

#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "chan/chan.h"
#include "core/core.h"
#include "core/wire.h"
#include "host/config.h"
#include "host/log.h"
#include "host/store.h"
#include "tee/tee.h"

#define NR_SE_CODE_IDENTITY "narrator-se/1"
#define NR_FRAME_HDR_BYTES 4u
/* Largest core message, and the largest peer frame (a sealed core message). */
#define NR_PEER_MSG_MAX (NR_PEER_HDR_BYTES(NR_MAX_MEMBERS) + NR_MAX_BODY)
#define NR_PEER_FRAME_MAX (NR_PEER_MSG_MAX + NR_CHAN_RECORD_OVERHEAD)
#define NR_LOCAL_FRAME_MAX                                                                         \
    (NR_CHAN_HS_MAX_BYTES > NR_CLIENT_BATCH_MAX + NR_CHAN_RECORD_OVERHEAD                          \
         ? NR_CHAN_HS_MAX_BYTES                                                                    \
         : NR_CLIENT_BATCH_MAX + NR_CHAN_RECORD_OVERHEAD)
#define NR_HANDSHAKE_TIMEOUT_MS 5000u
#define NR_MAX_PENDING_HANDSHAKES 64u               /* per listener: unauthenticated connections */
#define NR_PEER_OUTBUF_BASE (64u * 1024u * 1024u)   /* + one full join snapshot, see below */
#define NR_LOCAL_OUTBUF_LIMIT (16u * 1024u * 1024u) /* stop reading a client beyond this */
#define NR_PEER_MAX_CONNS 4u                        /* per member; a newer one closes the oldest */
#define NR_RECONNECT_MIN_MS 25u
#define NR_RECONNECT_MAX_MS 500u /* a restarted peer is found within 0.5 s */
#define NR_TICK_MS 5u
#define NR_WRITE_BEHIND_MS 100u
#define NR_CLIENT_BUCKETS 4096u

/* Exit codes of narratord. */
enum nr_exit {
    NR_EXIT_OK = 0,
    NR_EXIT_STARTUP = 1, /* bad config, unreadable files, bind failure ... */
    NR_EXIT_USAGE = 2,
    NR_EXIT_SUPERSEDED = 3,   /* halted: a newer incarnation of this SE exists */
    NR_EXIT_TOTALFAILURE = 4, /* halted: more than f SEs lost their memory */
    NR_EXIT_HALTED = 5,       /* halted for another reason */
};

struct nr_daemon;

/* A TCP connection to or from a peer SE. */
struct nr_pconn {
    struct nr_daemon *d;
    struct bufferevent *bev;
    struct nr_chan *ch;
    int member;   /* authenticated member index, -1 until the handshake completes */
    int expected; /* dialled connections: the member we dialled; -1 for accepted ones */
    int ready;
    int closing;
    int dirty; /* in d->dirty_p: output to push at the end of this iteration */
    char addr[64];
    struct nr_pconn *next; /* d->pconns or d->graveyard_p */
};

struct nr_peer {
    struct nr_daemon *d;
    int configured;
    uint16_t index;
    struct nr_host_addr endpoint;
    int dial; /* we connect to it (our index is lower) */
    /* Authenticated connections of this member, oldest first. Usually one; more while
     * several instances of the member (a restart not yet noticed, or clones) are connected:
     * messages from all of them go to the core, which filters by incarnation, and sends go
     * to all of them, so that every instance hears the current views (a superseded clone
     * learns it and halts). */
    struct nr_pconn *conns[NR_PEER_MAX_CONNS];
    unsigned n_conns;
    struct nr_pconn *dialing;
    struct event *retry;
    uint32_t backoff_ms;
    uint64_t connects, disconnects, msgs_in, msgs_out, bytes_in, bytes_out;
};

/* A local AE connection on the Unix socket. */
struct nr_lconn {
    struct nr_daemon *d;
    struct bufferevent *bev;
    struct nr_chan *ch;
    uint64_t id; /* client handle given to the core */
    int ready;
    int closing;
    int dirty; /* in d->dirty_l */
    /* Records opened on this connection: handle h is bound if h <= cap_keys and
     * bound[h - 1]; its key is keys[h - 1] (handles are picked by the AE, wire.h). */
    uint8_t (*keys)[NR_KEY_BYTES];
    uint8_t *bound;
    uint32_t n_keys, cap_keys;
    /* Replies of this loop iteration, coalesced: sealed as one channel record at the push. */
    uint8_t *obuf;
    size_t olen, ocap; /* ocap grows by doubling up to NR_CLIENT_BATCH_MAX */
    uint8_t measurement[NR_MEASUREMENT_BYTES];
    struct nr_lconn *next;  /* d->lconns or d->graveyard_l */
    struct nr_lconn *hnext; /* client table bucket */
};

/* Transport counters (exported as metrics next to the core's nr_se_stats). */
struct nr_host_stats {
    uint64_t peer_connects;
    uint64_t peer_disconnects;
    uint64_t peer_handshake_failures;
    uint64_t peer_frames_oversize;
    uint64_t peer_refused_pending; /* accepts refused: too many pending handshakes */
    uint64_t peer_records_unauth;  /* records failing channel authentication / replay */
    uint64_t peer_wrong_direction; /* authenticated peers that should have been dialled */
    uint64_t peer_msgs_in;
    uint64_t peer_msgs_out;
    uint64_t peer_bytes_in;
    uint64_t peer_bytes_out;
    uint64_t peer_sends_dropped_noconn;
    uint64_t peer_sends_dropped_backpressure;
    uint64_t peer_core_rejects; /* messages the core dropped (nonzero return) */
    uint64_t local_connects;
    uint64_t local_disconnects;
    uint64_t local_handshake_failures;
    uint64_t local_frames_oversize;
    uint64_t local_refused_pending;
    uint64_t local_records_unauth;
    uint64_t local_malformed;
    uint64_t client_opens;
    uint64_t client_writes;
    uint64_t client_reads;
    uint64_t client_status;
    uint64_t client_replies;
    uint64_t client_replies_dropped; /* connection gone */
    uint64_t store_records;
    uint64_t store_commits;
    uint64_t store_errors;
    uint64_t loop_iterations;
};

struct nr_member_info {
    uint8_t identity_pub[NR_IDENTITY_PUB_BYTES];
    uint8_t platform_id[NR_PLATFORM_ID_BYTES];
};

struct nr_daemon {
    struct nr_host_config cfg;
    const char *config_path;
    struct event_base *base;
    struct nr_tee *tee;
    struct nr_store *store;
    struct nr_se *se;
    struct nr_se_config se_cfg;

    /* identity and membership */
    uint8_t identity_sk[NR_IDENTITY_SK_BYTES];
    uint8_t identity_pub[NR_IDENTITY_PUB_BYTES];
    uint8_t system_id[NR_SYSTEM_ID_BYTES];
    uint16_t n, f;
    struct nr_member_info members[NR_MAX_MEMBERS];
    struct nr_attest_policy policy;
    uint8_t measurement[NR_MEASUREMENT_BYTES];

    /* transport */
    struct nr_peer peers[NR_MAX_MEMBERS];
    struct evconnlistener *peer_listener;
    struct evconnlistener *local_listener;
    int local_socket_bound;
    dev_t local_socket_dev; /* identity of the socket file we bound (F3: never */
    ino_t local_socket_ino; /* unlink a newer instance's socket at the same path) */
    struct nr_pconn *pconns, *graveyard_p;
    unsigned pending_p, pending_l; /* connections still in their handshake */
    struct nr_lconn *lconns, *graveyard_l;
    struct nr_lconn *clients[NR_CLIENT_BUCKETS];
    uint64_t next_client_id;
    uint8_t *rx; /* scratch: one opened record (plaintext) */
    /* Sends to a peer whose output buffer holds more than this are dropped (the core
     * resends). NR_PEER_OUTBUF_BASE plus one whole join snapshot (all records, sent in one
     * go as one atomic snapshot: dropping part of it would make a large join impossible). */
    size_t peer_outbuf_limit;
    /* Connections written to during this iteration: their output is pushed to the kernel at
     * the end of the iteration (one write per connection per iteration), instead of waiting
     * for the next poll round. */
    struct nr_pconn **dirty_p;
    struct nr_lconn **dirty_l;
    size_t n_dirty_p, cap_dirty_p, n_dirty_l, cap_dirty_l;

    /* metrics */
    struct evhttp *http;
    struct evconnlistener *http_listener;

    /* loop */
    struct event *tick_ev;
    struct event *sig_ev[3];
    uint64_t start_ms;
    uint64_t last_commit_ms;
    uint64_t last_summary_ms, last_summary_writes, last_summary_reads;
    uint64_t *tokens; /* DISK: persist tokens waiting for the group commit */
    size_t n_tokens, cap_tokens;
    int became_active;
    int stop;
    int halted_reason; /* 0, or the NR_E* reason given to halted() */
    nr_inc_t incarnation;

    struct nr_host_stats stats;
    struct nr_ratelimit rl_peer, rl_local, rl_core, rl_store;
};

/* daemon.c */
int nr_daemon_init(struct nr_daemon *d, const char *config_path, char *err, size_t err_cap)
    __attribute__((warn_unused_result));
int nr_daemon_run(struct nr_daemon *d); /* returns an enum nr_exit */
void nr_daemon_free(struct nr_daemon *d);
const char *nr_se_state_name(enum nr_se_state s);

/* framing helpers (peer.c) */
/* Extract one u32-LE length-prefixed frame from `in` into a pulled-up pointer. Returns 1 and
 * sets *frame and *len (valid until nr_frame_consume), 0 if incomplete, NR_ETOOBIG if the
 * announced length exceeds cap. */
int nr_frame_peek(struct evbuffer *in, size_t cap, uint8_t **frame, size_t *len);
void nr_frame_consume(struct evbuffer *in, size_t len);
int nr_frame_write(struct evbuffer *out, const uint8_t *data, size_t len);
/* Seal `len` bytes with the channel directly into `out` as one frame. */
int nr_frame_write_sealed(struct evbuffer *out, struct nr_chan *ch, const uint8_t *pt, size_t len);

/* Push a bufferevent's pending output to its socket now (non-blocking, best effort). */
void nr_bev_push(struct bufferevent *bev);
/* The same for a connection past its handshake: also keeps libevent's write event enabled
 * only while output is left over. */
void nr_bev_push_ready(struct bufferevent *bev);

/* peer.c */
void nr_peer_push(struct nr_daemon *d);
int nr_peer_start(struct nr_daemon *d) __attribute__((warn_unused_result));
void nr_peer_stop(struct nr_daemon *d);
void nr_peer_send(struct nr_daemon *d, uint16_t to, const uint8_t *msg, size_t len);
void nr_peer_reap(struct nr_daemon *d);
unsigned nr_peer_connected_count(const struct nr_daemon *d);

/* local.c */
int nr_local_start(struct nr_daemon *d) __attribute__((warn_unused_result));
void nr_local_stop(struct nr_daemon *d);
void nr_local_reply(struct nr_daemon *d, uint64_t client, uint64_t req_id, int status,
                    uint64_t version, const uint8_t digest[NR_DIGEST_BYTES]);
void nr_local_reap(struct nr_daemon *d);
void nr_local_push(struct nr_daemon *d);
unsigned nr_local_count(const struct nr_daemon *d);

/* metrics.c */
int nr_metrics_start(struct nr_daemon *d) __attribute__((warn_unused_result));
void nr_metrics_stop(struct nr_daemon *d);

#endif
