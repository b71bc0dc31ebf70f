/* The state-enclave core's internal header: the state of one instance (struct nr_se) and
 * the functions the core's files share. Not part of any public API.
 *
 * Files (one job each; docs/protocol.md names the rules by section):
 *   se.c        lifecycle, message receipt and dispatch (§2), timers, introspection
 *   table.c     the record table and rule STORE (§3)
 *   quorum.c    rule QUORUM: counting votes through the view filters (§3, §5.3)
 *   replicate.c local AE requests, batching, PREPARE/ACK (§3) and FETCH/FETCH_REPLY (§4)
 *   join.c      JOIN_REQ/JOIN_REPLY, join completion, total failure (§5)
 *   genesis.c   genesis: proposals, the anchor, the genesis id (§6)
 *   handover.c  epochs: the handover round and an epoch's start state (§10)
 *
 * Enclave-safe: no I/O, no globals, no clocks; all memory is allocated in nr_se_create().
 *
 * Mutation switches (NR_MUTATE_*) each disable one safety rule. They exist only so that the
 * simulator can show that its checker catches the resulting violations; production builds
 * never define them. */
#ifndef NR_CORE_SE_INTERNAL_H
#define NR_CORE_SE_INTERNAL_H

#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "core/core.h"
#include "core/wire.h"

#define NONE UINT32_MAX
#define JOIN_CHUNK_RECS 4096u
#define TOTAL_FAILURE_ROUNDS 3u
#define MAX_DISK_ACKS 1024u

/* Own-record states (protocol.md §1). */
enum { OWN_COMMITTED = 0, OWN_UNCONFIRMED = 1 };

enum { OP_WRITE = 1, OP_READ = 2 };
enum { ROUND_PREPARE = 1, ROUND_FETCH = 2 };
/* ACK status (wire.h): 0 ok, 1 conflict, 2 full, 3 stale (sender is superseded). */
enum { ACK_OK = 0, ACK_CONFLICT = 1, ACK_FULL = 2, ACK_STALE = 3 };

/* Join progress per peer (§5). */
enum { JP_NONE = 0, JP_PARTIAL, JP_DONE, JP_JOINING, JP_STALE, JP_FROZEN };
/* JOIN_REQ / JOIN_REPLY flags */
#define JF_HAS_STATE 1u
#define JF_HAS_START 2u /* holds its epoch's start state (epoch >= 2): may be a founder */

/* 88 bytes: the record table dominates an SE's memory (1M records ~ 110 MB). */
struct slot {
    uint8_t key[NR_KEY_BYTES];
    uint64_t version;
    uint8_t digest[NR_DIGEST_BYTES];
    nr_inc_t stamp;
    uint16_t owner;
    uint8_t used;
    uint8_t own_state;
    uint32_t q_head; /* queue of local ops (own records only); its tail is in the head op */
};

_Static_assert(sizeof(struct slot) == 88, "record slot layout");

struct op {
    uint64_t client, req_id;
    uint64_t version;
    uint8_t digest[NR_DIGEST_BYTES];
    uint32_t slot;
    uint32_t next;       /* next op of the same record, or free list */
    uint32_t tail;       /* in a record's head op: the last op of its queue */
    uint32_t next_ready; /* ready FIFO link */
    uint8_t type;
    uint8_t writeback;
    uint8_t in_use;
    uint8_t started;
};

struct vote {
    nr_inc_t inc;
    nr_inc_t view[NR_MAX_MEMBERS];
    uint8_t have;
};

struct round {
    uint8_t in_use;
    uint8_t kind;
    uint8_t self_ok; /* DISK mode: own copy persisted */
    uint64_t seq;
    uint64_t persist_token;
    uint32_t *ops;
    uint32_t n_ops;
    struct vote votes[NR_MAX_MEMBERS];
    uint64_t sent_ms[NR_MAX_MEMBERS];
};

struct fifo {
    uint32_t head, tail;
    uint32_t len;
};

struct join_peer {
    uint8_t status;
    uint8_t was_active;
    uint32_t next_chunk, chunks;
    uint64_t snapshot;      /* replier's id of the snapshot being received */
    uint64_t last_chunk_ms; /* progress of a partial reply */
    uint64_t last_req_ms;
    uint64_t joining_round; /* retry round of the last JOINING reply */
    nr_inc_t joining_inc;   /* incarnation that sent it */
    uint64_t nonce;         /* instance nonce of the last JOINING or ACCEPT replier */
    uint8_t has_start;      /* its last JOINING answer said it holds the start state */
};

/* Handover collector (handover.c, §10). */
enum { HO_NONE = 0, HO_COLLECT = 1, HO_SIGN = 2, HO_DONE = 3 };
struct handover {
    uint8_t phase;
    uint32_t next_epoch;
    struct join_peer hp[NR_MAX_MEMBERS]; /* snapshot progress per peer */
    struct vote votes[NR_MAX_MEMBERS];
    uint8_t counted[NR_MAX_MEMBERS]; /* members whose snapshot is in the root */
    uint64_t sent_ms[NR_MAX_MEMBERS];
    struct nr_handover cert; /* root, count, signatures so far */
};

struct disk_ack {
    uint64_t token;
    uint64_t batch;
    nr_inc_t dest_inc;
    uint16_t to;
    uint8_t status;
};

struct nr_se {
    struct nr_se_config cfg;
    struct nr_se_io io;
    enum nr_se_state state;
    nr_inc_t inc;
    uint64_t nonce;
    nr_inc_t view[NR_MAX_MEMBERS];
    nr_inc_t seen[NR_MAX_MEMBERS];
    uint64_t seen_nonce[NR_MAX_MEMBERS]; /* nonce of the instance that is seen[j] (0: unknown) */
    uint64_t last_snapshot_ms[NR_MAX_MEMBERS]; /* replier side: last ACCEPT snapshot sent */
    uint64_t next_snapshot;
    struct nr_se_stats stats;
    uint64_t now_ms;

    /* record table: open addressing, linear probing, no deletion */
    struct slot *slots;
    uint32_t n_slots;
    uint32_t n_used;

    /* local operations */
    struct op *ops;
    uint32_t n_ops;
    uint32_t op_free;
    struct fifo ready_w; /* ops waiting to go into a PREPARE */
    struct fifo ready_r; /* ops waiting to go into a FETCH */

    /* rounds in flight */
    struct round *prep;
    struct round *fetch;
    uint64_t next_seq;

    /* join */
    struct join_peer jp[NR_MAX_MEMBERS];
    struct vote jvotes[NR_MAX_MEMBERS];
    uint64_t join_round;
    uint64_t join_round_ms;
    uint32_t tf_strikes;
    int network_existed;
    uint32_t reincarnations;     /* while JOINING (back-off, §5.5) */
    uint64_t join_hold_until_ms; /* no JOIN_REQ before this */

    /* genesis (genesis.c): the network this instance serves (ACTIVE) or joins (target) */
    int has_genesis;
    uint8_t genesis[NR_GENESIS_ID_BYTES];
    int anchor_seen;    /* anchored: a verified anchor arrived */
    int anchor_present; /* ... and it shows a recorded genesis (anchor) */
    struct nr_genesis anchor;
    int has_proposed;
    int founder_warned; /* logged once: named, but no longer that incarnation */
    uint8_t proposed[NR_GENESIS_ID_BYTES];
    uint64_t genesis_drops[NR_MAX_MEMBERS]; /* per sender, for rate-limited logs */

    /* epochs (handover.c) */
    uint32_t frozen_for; /* FROZEN: the next epoch it handed over to */
    struct handover ho;  /* as collector */
    int has_start;       /* epoch >= 2: holds the start state */
    uint8_t start_pred[NR_GENESIS_ID_BYTES];
    uint8_t start_root[NR_STATE_ROOT_BYTES];
    uint32_t *order; /* scratch: slot indices sorted by (owner, key) */

    /* DISK durability */
    uint64_t next_token;
    struct disk_ack dacks[MAX_DISK_ACKS];
    uint32_t n_dacks;

    /* encode scratch */
    uint8_t *buf;
    size_t buf_cap;
    struct nr_record *recs; /* persist scratch */
};

static inline nr_inc_t max_inc(nr_inc_t a, nr_inc_t b)
{
    return a > b ? a : b;
}

static inline uint16_t quorum(const struct nr_se *se)
{
    return (uint16_t)(se->cfg.f + 1u);
}

/* View filters of rule QUORUM (mutations switch one off for the simulator). */
#ifdef NR_MUTATE_NO_VOTE_FILTER
#define COMMIT_FILTER 0
#else
#define COMMIT_FILTER 1
#endif
#ifdef NR_MUTATE_NO_JOIN_FILTER
#define JOIN_FILTER 0
#else
#define JOIN_FILTER 1
#endif

/* se.c */
void se_log(struct nr_se *se, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void se_learn(struct nr_se *se, uint16_t j, nr_inc_t inc, uint64_t nonce);
uint8_t *se_hdr(struct nr_se *se, uint8_t type, nr_inc_t dest_inc, uint32_t body_len);
void se_send(struct nr_se *se, uint16_t to, const uint8_t *end);
void se_halt(struct nr_se *se, int reason);
void se_become_active(struct nr_se *se, const char *how);
/* §2 step 5: is inc the incarnation of j we accept (admitting a newer one implicitly)? */
int se_accepts(struct nr_se *se, uint16_t j, nr_inc_t inc);

/* genesis.c */
int se_genesis_admits(struct nr_se *se, const struct nr_peer_hdr *h);
void se_genesis_check(struct nr_se *se);
void se_genesis_target(struct nr_se *se, const uint8_t id[NR_GENESIS_ID_BYTES]);

/* handover.c */
void se_freeze(struct nr_se *se, uint32_t next_epoch);
void se_handover_tick(struct nr_se *se);
int se_on_freeze(struct nr_se *se, const struct nr_peer_hdr *h, struct nr_cur *b);
int se_on_freeze_reply(struct nr_se *se, const struct nr_peer_hdr *h, struct nr_cur *b);
int se_on_sign_req(struct nr_se *se, const struct nr_peer_hdr *h, struct nr_cur *b);
int se_on_sign_reply(struct nr_se *se, const struct nr_peer_hdr *h, struct nr_cur *b);

/* join.c: one snapshot of all records (JOIN_REPLY ACCEPT, or FREEZE_REPLY with prefix) */
void se_send_snapshot(struct nr_se *se, uint8_t type, uint16_t to, nr_inc_t dest_inc,
                      uint32_t prefix);
void se_send_join_status(struct nr_se *se, uint8_t type, uint16_t to, nr_inc_t dest_inc,
                         uint8_t status, uint32_t prefix);
/* JOIN_REPLY / FREEZE_REPLY fixed part */
struct snap_head {
    uint8_t status, flags;
    uint64_t snapshot;
    uint32_t chunk, chunks, count;
};
int se_snap_head(struct nr_cur *b, struct snap_head *sh);
/* Merge count records from b into the table (rule STORE); owner == self and a stamp newer
 * than us: sets *newer. Returns 0, NR_EMALFORMED or NR_EFULL (halted). */
int se_merge_records(struct nr_se *se, struct nr_cur *b, uint32_t count, uint8_t own_state,
                     int *newer);

/* table.c */
uint32_t se_slot_hash(const struct nr_se *se, uint16_t owner, const uint8_t *key);
uint32_t se_slot_find(struct nr_se *se, uint16_t owner, const uint8_t *key, int create);
int se_store_rule(struct nr_se *se, struct slot *s, uint64_t v, const uint8_t *d, nr_inc_t stamp);

/* quorum.c */
int se_vote_counts(const struct nr_se *se, const struct vote *votes, uint16_t j, int filter);
uint16_t se_count_votes(const struct nr_se *se, const struct vote *votes, int with_self, int filter,
                        int *superseded);

/* replicate.c */
void se_reply(struct nr_se *se, const struct op *o, int status, uint64_t v, const uint8_t *d);
void se_send_ack(struct nr_se *se, uint16_t to, nr_inc_t dest_inc, uint64_t batch, uint8_t status);
void se_send_round(struct nr_se *se, struct round *r, uint16_t to);
void se_retransmit(struct nr_se *se, struct round *rs);
int se_on_prepare(struct nr_se *se, const struct nr_peer_hdr *h, struct nr_cur *b);
int se_on_fetch(struct nr_se *se, const struct nr_peer_hdr *h, struct nr_cur *b);
int se_on_ack(struct nr_se *se, const struct nr_peer_hdr *h, struct nr_cur *b);
int se_on_fetch_reply(struct nr_se *se, const struct nr_peer_hdr *h, struct nr_cur *b);

/* join.c */
void se_send_join_req(struct nr_se *se, uint16_t to);
void se_reincarnate(struct nr_se *se);
void se_total_failure_check(struct nr_se *se);
int se_on_join_req(struct nr_se *se, const struct nr_peer_hdr *h, struct nr_cur *b);
int se_on_join_reply(struct nr_se *se, const struct nr_peer_hdr *h, struct nr_cur *b);

#endif
