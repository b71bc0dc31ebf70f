/* The Narrator protocol core: the state-enclave (SE) state machine.
 *
 * Sans-I/O and enclave-safe: no sockets, files, clocks, threads or globals. The host (the
 * narratord daemon, or the deterministic simulator) feeds events in and receives actions
 * through the `struct nr_se_io` callbacks. Time and randomness come in from the host:
 * time as the `now_ms` argument of every event, randomness only as the incarnation drawn
 * by the host at nr_se_create().
 *
 * Callbacks are invoked synchronously from inside an event call. A callback must NOT call
 * back into the same nr_se (queue the work instead). Buffers passed to callbacks are only
 * valid for the duration of the callback.
 *
 * The protocol itself, its messages and its safety argument are in docs/protocol.md; the
 * wire layout is in src/core/wire.h. */
#ifndef NR_CORE_H
#define NR_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "common/genesis.h"
#include "common/handover.h"
#include "narrator/errors.h"
#include "narrator/sizes.h"

#define NR_MAX_MEMBERS 16u /* n <= 16, so f <= 7 */
#define NR_KEY_BYTES 32u   /* record key: BLAKE2b-256(ae measurement || record name) */

/* An incarnation is a 64-bit number: high 32 bits an epoch, low 32 bits random. Drawn by the
 * host for every start of an SE instance (never reused); ordered as plain integers. 0 means
 * "none / unknown". See nr_incarnation_make(). */
typedef uint64_t nr_inc_t;

static inline nr_inc_t nr_incarnation_make(uint32_t epoch, uint32_t random32)
{
    return ((uint64_t)epoch << 32) | (uint64_t)(random32 | 1u);
}
static inline uint32_t nr_incarnation_epoch(nr_inc_t inc)
{
    return (uint32_t)(inc >> 32);
}

/* Genesis (docs/protocol.md §6). A network is born once per (system id, epoch): n founding
 * SE instances, each named by its incarnation and its 64-bit instance nonce, form it with no
 * state. The record (struct nr_genesis), the founders' packing and the genesis id are those of
 * the registry contract, in src/common/genesis.h (nr_genesis_pack, nr_genesis_unpack,
 * nr_genesis_compute_id). Every SE<->SE message carries the sender's genesis id; an instance
 * inherits one only by being a named founder of an anchored record or through a completed
 * join quorum of members of that genesis. */
#define NR_CHAIN_EPOCH_FIRST 1u /* the epoch a system's first genesis opens */
_Static_assert(NR_MAX_MEMBERS == NR_GENESIS_MAX_FOUNDERS, "a genesis names every member");
_Static_assert(sizeof(nr_inc_t) == sizeof(((struct nr_founder *)0)->inc), "founder incarnation");

/* One replicated record: (version, digest) of one AE record, stamped with the incarnation of
 * the owner SE that proposed it. version 0 means "no record". */
struct nr_record {
    uint8_t key[NR_KEY_BYTES];
    uint16_t owner; /* member index of the SE that sequences this record */
    uint64_t version;
    uint8_t digest[NR_DIGEST_BYTES];
    nr_inc_t stamp; /* incarnation of `owner` that proposed this value */
};

enum nr_se_state {
    NR_SE_JOINING = 1, /* lost memory (or fresh): collecting f+1 join replies */
    NR_SE_ACTIVE = 2,  /* merged; serving */
    NR_SE_HALTED = 3,  /* superseded, total failure, or fatal error: serves nothing */
    NR_SE_FROZEN = 4,  /* handed its state over to the next epoch (docs/protocol.md §10):
                        * serves no AE (NR_EEPOCH), stores and acknowledges nothing, admits
                        * no joiner; only answers the handover rounds of its epoch */
};

/* The stamp of every record an epoch starts from (its handover state): below every
 * incarnation (an incarnation's high 32 bits are >= 1), so that any write of the new epoch
 * supersedes it. */
#define NR_STAMP_START 1u

/* A completed handover (docs/protocol.md §10): the epoch's state, certified by f+1 members.
 * The state itself is the collector's record table (nr_se_foreach) once it is FROZEN. */
struct nr_handover_sig {
    uint16_t member;
    nr_inc_t inc;
    uint8_t sig[NR_SIG_BYTES]; /* Ed25519 over nr_handover_msg(...) by member's identity key */
};
struct nr_handover {
    uint8_t system_id[NR_SYSTEM_ID_BYTES];
    uint32_t epoch;                       /* the epoch handing over */
    uint8_t genesis[NR_GENESIS_ID_BYTES]; /* its genesis id (the successor's predecessor) */
    uint32_t next_epoch;                  /* epoch + 1 */
    uint8_t root[NR_STATE_ROOT_BYTES];    /* nr_state_root of the state (common/handover.h) */
    uint64_t count;                       /* records in it */
    uint16_t nsigs;                       /* >= f+1, distinct members */
    struct nr_handover_sig sigs[NR_MAX_MEMBERS];
};

enum nr_durability {
    NR_DURABILITY_MEMORY = 0, /* replicated in f+1 enclaves' memory (default) */
    NR_DURABILITY_DISK = 1,   /* also persisted (group-committed fsync) before acknowledging */
};

enum nr_log_level { NR_LOG_ERROR = 0, NR_LOG_WARN = 1, NR_LOG_INFO = 2, NR_LOG_DEBUG = 3 };

/* Counters the core keeps; the host exports them as metrics. */
struct nr_se_stats {
    uint64_t writes_committed;
    uint64_t reads_served;
    uint64_t batches_committed;
    uint64_t msgs_in;
    uint64_t msgs_dropped_malformed;
    uint64_t msgs_dropped_stale_inc;  /* from an incarnation we have not admitted / superseded */
    uint64_t msgs_dropped_unexpected; /* wrong state, wrong order, duplicate */
    uint64_t conflicts_refused;       /* client writes refused: version != last+1 (S2) */
    uint64_t fork_attempts;           /* two digests for one version seen (S6) */
    uint64_t stale_leftovers;         /* uncommitted values of older incarnations overwritten */
    uint64_t joins_admitted;          /* JOIN requests we admitted (peer restarts) */
    uint64_t join_replies_discarded;  /* join replies filtered out by views (trap guard) */
    uint64_t votes_discarded;         /* acks / fetch replies filtered out by views */
    uint64_t superseded;              /* 1 once this instance learned it is superseded */
    uint64_t total_failure;           /* 1 while total failure is detected (retrying) */
    uint64_t incarnation_collisions;  /* two instances of a member with one incarnation */
    uint64_t msgs_dropped_genesis;    /* from an instance of another network (genesis id) */
    uint64_t genesis_proposals;       /* genesis records proposed to the anchor */
    uint64_t anchor_refused;          /* anchor records that failed the core's checks */
    uint64_t anchor_height;           /* highest confirmed block of an accepted anchor */
    uint64_t frozen;                  /* 1 once this instance handed over (FROZEN) */
    uint64_t msgs_dropped_epoch;      /* from an instance of another epoch of this system */
    uint64_t handovers_completed;     /* handovers this instance collected and certified */
    uint64_t start_records;           /* records of the start state it loaded (epoch >= 2) */
    uint64_t start_dropped;           /* ... of members the new epoch no longer has */
};

/* Host callbacks. `ctx` is the host's pointer given at creation. */
struct nr_se_io {
    void *ctx;
    /* Send an already-encoded protocol message to peer `to` (member index). The host
     * delivers it over the authenticated channel; it may drop it (the core retransmits). */
    void (*send_peer)(void *ctx, uint16_t to, const uint8_t *msg, size_t len);
    /* Reply to a local AE request (see nr_se_client_*). For reads and writes, `version` and
     * `digest` are the committed record (version 0: no record). `status` is NR_OK or an
     * NR_E* code. */
    void (*client_reply)(void *ctx, uint64_t client, uint64_t req_id, int status, uint64_t version,
                         const uint8_t digest[NR_DIGEST_BYTES]);
    /* Durability: persist these records. token 0: a write-behind hint for restarts, nothing
     * to report back. token != 0 (DISK mode): the core waits for nr_se_persisted(token)
     * before acknowledging or counting its own vote. May be NULL in MEMORY mode. */
    void (*persist)(void *ctx, uint64_t token, const struct nr_record *recs, size_t count);
    /* Log a line (no trailing newline). Never contains secrets. */
    void (*log)(void *ctx, int level, const char *msg);
    /* The instance stopped serving for good (`reason`: NR_ESUPERSEDED, NR_ETOTALFAILURE...).
     * The host should report it loudly and exit. */
    void (*halted)(void *ctx, int reason);
    /* Optional: the instance became ACTIVE (joined, or by genesis). */
    void (*active)(void *ctx);
    /* Anchored mode: this instance proposes genesis record g (every other member answered
     * that it is JOINING and knows of no state). The host records it on chain from this SE's
     * account (several members may post the same record: "already recorded" is fine) and
     * keeps feeding nr_se_anchor(). Called again only for a different record. */
    void (*genesis_proposed)(void *ctx, const struct nr_genesis *g);
    /* Optional (S6): a stored value `old` was replaced by `by`, a value of a later
     * incarnation of the same owner with an equal or lower version and another digest: an
     * uncommitted leftover of an older incarnation (docs/protocol.md §3, §9.5). */
    void (*leftover)(void *ctx, const struct nr_record *old, const struct nr_record *by);
    /* Handover (§10): sign msg with this member's identity key (Ed25519, NR_SIG_BYTES).
     * Returns 0 on success. NULL: this instance cannot sign a handover (it still freezes). */
    int (*sign)(void *ctx, const uint8_t *msg, size_t len, uint8_t sig[NR_SIG_BYTES]);
    /* Optional: the handover this instance collected is complete: f+1 members signed it.
     * The state is this instance's record table (nr_se_foreach), which no longer changes.
     * The host writes the state and the certificate out for the next epoch's members. */
    void (*handover_ready)(void *ctx, const struct nr_handover *h);
};

struct nr_se_config {
    uint8_t system_id[NR_SYSTEM_ID_BYTES];
    uint16_t n; /* members, n = 2f+1, 3 <= n <= NR_MAX_MEMBERS (n = 1 allowed for tests) */
    uint16_t f;
    uint16_t self;        /* my member index */
    nr_inc_t incarnation; /* fresh for this start, drawn by the host; nonzero */
    uint64_t nonce;       /* 64 random bits from the TEE for this instance (0: derived
                           * from the incarnation; tests only) */
    int was_active;       /* sealed hint: this SE (some earlier instance) was ACTIVE */
    int anchored;         /* 1: genesis only through the chain anchor (nr_se_anchor);
                           * 0: unanchored, for development only (docs/threat-model.md) */
    uint32_t epoch;       /* chain epoch of the membership (0: NR_CHAIN_EPOCH_FIRST) */
    int has_genesis_hint; /* unanchored mode: the sealed hint names the genesis this SE */
    uint8_t genesis_hint[NR_GENESIS_ID_BYTES]; /* served in; it joins only that network */
    uint32_t max_records;                      /* capacity of the record table (all owners) */
    uint32_t max_batch;                        /* entries per PREPARE (default 1024) */
    uint32_t max_inflight;  /* PREPARE batches in flight (pipelining window, default 16) */
    uint32_t retransmit_ms; /* resend unacknowledged messages after this (default 200) */
    uint32_t join_retry_ms; /* resend JOIN requests after this (default 500) */
    int durability;         /* enum nr_durability */
};

struct nr_se; /* opaque */

/* Fills defaults for unset (zero) tuning fields. */
void nr_se_config_defaults(struct nr_se_config *cfg);

/* Allocate an SE instance (all memory up front, bounded by cfg->max_records). Returns
 * NR_OK, NR_EINVAL (bad config) or NR_ENOMEM. The instance starts in NR_SE_JOINING and does
 * nothing until nr_se_start(). */
int nr_se_create(struct nr_se **out, const struct nr_se_config *cfg, const struct nr_se_io *io)
    __attribute__((warn_unused_result));
void nr_se_destroy(struct nr_se *se);

/* Begin the join protocol (sends JOIN requests to every peer). */
void nr_se_start(struct nr_se *se, uint64_t now_ms);

/* A decrypted, authenticated message from peer `from` (the channel has verified that the
 * bytes come from member `from`'s identity key). Malformed or out-of-place messages are
 * dropped and counted; the return value says why (for logs/tests) but needs no action. */
int nr_se_on_peer_msg(struct nr_se *se, uint16_t from, const uint8_t *msg, size_t len,
                      uint64_t now_ms);

/* The authenticated channel to member `j` was (re)established: the core resends at once
 * what j has not answered (JOIN requests, PREPAREs, FETCHes) instead of waiting for its
 * retry timers. Optional: the timers alone are enough for correctness. */
void nr_se_peer_connected(struct nr_se *se, uint16_t j, uint64_t now_ms);

/* Anchored mode: what the chain shows for (system id, epoch) at the confirmed height, as
 * verified by the trusted chain verifier (src/eth/evidence.h): g = the recorded genesis, or
 * NULL when none is recorded. The core checks the record itself (system id, epoch, n, id =
 * nr_genesis_compute_id) before using it. An instance named as a founder (its incarnation
 * and nonce) becomes ACTIVE by genesis; any other joins that genesis; with none recorded,
 * the instance may propose one. Ignored in unanchored mode. */
void nr_se_anchor(struct nr_se *se, const struct nr_genesis *g, uint64_t height, uint64_t now_ms);
/* 1 while the instance waits on the anchor (anchored and JOINING): the host keeps
 * fetching chain evidence. */
int nr_se_wants_anchor(const struct nr_se *se);

/* ---- epochs (docs/protocol.md §10) ----
 * Handover: the host (told by governance that the next epoch is opened on chain) asks one
 * ACTIVE instance to collect the epoch's final state. It becomes FROZEN at once and asks
 * every peer to freeze and send its records; with f+1 snapshots counted through the view
 * filters (rule QUORUM, own vote included) it merges them, computes the state root, and asks
 * the counted members to sign it; f+1 signatures complete it (handover_ready). From the
 * first freeze on, no update can commit in this epoch any more (§10.3). A FROZEN instance
 * that collects nothing may be asked too (the first collector died). NR_OK, NR_ENOTREADY
 * (neither ACTIVE nor such a FROZEN instance), NR_EINVAL (next_epoch is not this epoch + 1). */
int nr_se_handover(struct nr_se *se, uint32_t next_epoch, uint64_t now_ms)
    __attribute__((warn_unused_result));
/* The completed handover this instance collected: NR_OK, or NR_ENOTREADY. */
int nr_se_handover_result(const struct nr_se *se, struct nr_handover *out);

/* Start state of an epoch >= 2 (before nr_se_start): the handover state, in the PREVIOUS
 * epoch's member indices, sorted strictly by (owner, key) (the order of the root), with the
 * predecessor's genesis id and the certified root. owner_map[i] is the new index of old member
 * i (NR_OWNER_GONE: the member left; its records are dropped and counted: its AEs cannot run
 * anywhere else, as their sealed state is bound to that platform). The map comes from the
 * two epochs' verified on-chain memberships (same platform id). The core recomputes the root
 * and refuses anything else with NR_EHANDOVER: wrong root or count, unsorted or duplicate
 * records, version 0, an owner >= old_n. Only an instance holding the start state can be a
 * founder of the epoch's genesis; any other instance of the epoch joins it. */
#define NR_OWNER_GONE 0xffffu
int nr_se_load_start(struct nr_se *se, const uint8_t predecessor[NR_GENESIS_ID_BYTES],
                     const uint8_t root[NR_STATE_ROOT_BYTES], const uint16_t *owner_map,
                     uint16_t old_n, const struct nr_record *recs, size_t count)
    __attribute__((warn_unused_result));

/* Timers: call at least every few ms (the core keeps its own deadlines). */
void nr_se_tick(struct nr_se *se, uint64_t now_ms);

/* Local AE requests. `client` is the host's handle of the AE's channel (nonzero: 0 means
 * "no client" inside the core and is never replied to), `key` the record key
 * the channel computed from the AE's attested measurement and the record name. Each request
 * gets exactly one client_reply (possibly later). */
void nr_se_client_write(struct nr_se *se, uint64_t client, uint64_t req_id,
                        const uint8_t key[NR_KEY_BYTES], uint64_t version,
                        const uint8_t digest[NR_DIGEST_BYTES], uint64_t now_ms);
void nr_se_client_read(struct nr_se *se, uint64_t client, uint64_t req_id,
                       const uint8_t key[NR_KEY_BYTES], uint64_t now_ms);
/* The AE's channel closed: forget its pending replies (requests still complete). */
void nr_se_client_gone(struct nr_se *se, uint64_t client);

/* DISK durability: the records given to persist(token) are on stable storage. */
void nr_se_persisted(struct nr_se *se, uint64_t token, uint64_t now_ms);

/* Flush partially filled batches now (the host calls this at the end of each event-loop
 * iteration, so that everything that arrived in one wakeup goes in one PREPARE). */
void nr_se_flush(struct nr_se *se, uint64_t now_ms);

/* Introspection (host, tests, simulator checker). */
enum nr_se_state nr_se_state(const struct nr_se *se);
nr_inc_t nr_se_incarnation(const struct nr_se *se);
const struct nr_se_stats *nr_se_stats(const struct nr_se *se);
/* The genesis id of the network this instance serves (ACTIVE) or joins (JOINING with a
 * target). NR_OK, or NR_ENOTREADY when it has none yet. */
int nr_se_genesis_id(const struct nr_se *se, uint8_t out[NR_GENESIS_ID_BYTES]);
/* Epoch >= 2: the genesis id of the epoch before this one (its chain record's predecessor, or
 * the start state's). NR_OK, or NR_ENOTREADY (epoch 1, or not known yet). */
int nr_se_predecessor(const struct nr_se *se, uint8_t out[NR_GENESIS_ID_BYTES]);
/* This instance's view: view[i] = incarnation of member i it currently accepts (0 = none). */
void nr_se_view(const struct nr_se *se, nr_inc_t view[NR_MAX_MEMBERS]);
/* Look up a stored record (any owner). Returns NR_OK or NR_ENOTFOUND. */
int nr_se_get(const struct nr_se *se, uint16_t owner, const uint8_t key[NR_KEY_BYTES],
              struct nr_record *out);
/* Number of stored records, and iteration (for the sealed hint / snapshots). */
size_t nr_se_record_count(const struct nr_se *se);
/* Calls fn for every record; stops early if fn returns nonzero. */
void nr_se_foreach(const struct nr_se *se, int (*fn)(void *arg, const struct nr_record *r),
                   void *arg);

#endif
