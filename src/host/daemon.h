/* narratord internals: the daemon object (daemon.c). It owns the TEE, the sealed store, the
 * protocol core and the two transports: the peer network (peer.h) and the local AE server
 * (local.h), each with its own state; the metrics endpoint (metrics.c) reads the layers'
 * counters through their accessors.
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

#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "chan/chan.h"
#include "common/code_identity.h"
#include "core/core.h"
#include "core/wire.h"
#include "host/collateral.h"
#include "host/config.h"
#include "host/local.h"
#include "host/log.h"
#include "host/peer.h"
#include "host/store.h"
#include "tee/tee.h"

#define NR_TICK_MS 5u
#define NR_WRITE_BEHIND_MS 100u

/* Exit codes of narratord. */
enum nr_exit {
    NR_EXIT_OK = 0,
    NR_EXIT_STARTUP = 1, /* bad config, unreadable files, bind failure ... */
    NR_EXIT_USAGE = 2,
    NR_EXIT_SUPERSEDED = 3,   /* halted: a newer incarnation of this SE exists */
    NR_EXIT_TOTALFAILURE = 4, /* reserved: total failure is a reported state, not a halt */
    NR_EXIT_HALTED = 5,       /* halted for another reason */
};

/* The daemon's own counters (the transports keep theirs: peer.h, local.h). */
struct nr_daemon_stats {
    uint64_t store_records;
    uint64_t store_commits;
    uint64_t store_errors;
    uint64_t loop_iterations;
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
    struct nr_attest_policy policy;    /* peers' evidence */
    struct nr_attest_policy ae_policy; /* AEs' quotes on the local channel (gramine) */
    struct nr_host_collateral collateral; /* [SGX] (gramine) */
    uint8_t measurement[NR_MEASUREMENT_BYTES];

    /* the chain anchor (anchored mode; NULL unanchored): its worker owns the chain reads */
    struct nr_anchor *anchor;
    int anchored;
    struct nr_ratelimit rl_anchor;
    char identity_path[NR_CFG_PATH_MAX + 16];

    /* transport: each layer owns its connections and counters */
    struct nr_peer_net *peer;
    struct nr_local_server *local;

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

    struct nr_daemon_stats stats;
    struct nr_ratelimit rl_store;
};

/* daemon.c */
int nr_daemon_init(struct nr_daemon *d, const char *config_path, char *err, size_t err_cap)
    __attribute__((warn_unused_result));
int nr_daemon_run(struct nr_daemon *d); /* returns an enum nr_exit */
void nr_daemon_free(struct nr_daemon *d);
const char *nr_se_state_name(enum nr_se_state s);

/* metrics.c */
int nr_metrics_start(struct nr_daemon *d) __attribute__((warn_unused_result));
void nr_metrics_stop(struct nr_daemon *d);

#endif
