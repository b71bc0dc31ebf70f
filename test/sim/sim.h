/* The Narrator deterministic simulator: shared declarations.
 *
 * One seed drives everything: the member count, the fault rates (swarm testing), every
 * message delay, drop, duplicate and replay, every partition, crash, restart and clone, and
 * every AE operation. The unmodified protocol core (src/core/) is driven through core.h
 * only; the checker (check.c) asserts S1-S3 after every step. See docs/simulator.md.
 * world.c holds the world (instances, AEs, the step loop, the phases), net.c the network
 * and the event heap (net.h), faults.c the fault injector and budget (faults.h), trace.c
 * the trace and the failure report. */
#ifndef NR_SIM_H
#define NR_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

#define SIM_MAX_INST 64u  /* SE instances per run (every start, restart and clone) */
#define SIM_MAX_AE 48u    /* simulated application enclaves */
#define SIM_MAX_REC 48u   /* records (all owners) */
#define SIM_MAX_HINTS 64u /* sealed-hint snapshots per member */
#define SIM_RING 64u      /* captured messages kept for replays */
#define SIM_TRACE_LINES 512u
#define SIM_TRACE_LINE 224u
#define SIM_MAX_STEPS 500000u
#define SIM_MAX_PROPOSALS 256u /* distinct records per run: more is a storm or a livelock */
#define SIM_MAX_EPOCHS 4u      /* network epochs per run (1 + reconfigurations) */

/* Exit codes / run outcomes. */
enum sim_result {
    SIM_PASS = 0,
    SIM_SAFETY = 1,   /* S1/S2/S3 violated */
    SIM_LIVENESS = 2, /* the healthy quorum did not converge in the bounded time */
    SIM_ERROR = 3,    /* the simulator itself or a scenario precondition failed */
};

/* ---- PRNG (xoshiro256**, seeded with splitmix64): the only source of randomness ---- */
struct sim_rng {
    uint64_t s[4];
};
uint64_t sim_mix64(uint64_t x);
void sim_rng_seed(struct sim_rng *r, uint64_t seed);
uint64_t sim_rng_next(struct sim_rng *r);
uint64_t sim_rng_below(struct sim_rng *r, uint64_t n);               /* uniform in [0, n), n > 0 */
uint64_t sim_rng_range(struct sim_rng *r, uint64_t lo, uint64_t hi); /* [lo, hi] */
int sim_rng_ppm(struct sim_rng *r, uint32_t ppm); /* true with probability ppm / 1e6 */

/* ---- options from the command line ---- */
struct sim_opts {
    unsigned n;        /* 0: chosen by the seed (3 or 5) */
    int verbose;       /* print the whole trace live */
    uint64_t fault_ms; /* 0: chosen by the seed */
    uint64_t live_ms;  /* bound of the liveness phase (simulated ms) */
    int quiet;         /* no report on failure (used by --expect-violation) */
    int anchor_mode;   /* -1: chosen by the seed; 1: anchored (chain oracle); 0: unanchored */
    int reconf;        /* -1: chosen by the seed; 0: no reconfiguration; 1: allowed */
    int trace;         /* keep the trace ring (off for fast multi-seed runs: a failing
                        * seed is re-run with the trace on, which replays it exactly) */
};

/* ---- the world ---- */
enum sim_link { SIM_LINK_UP = 0, SIM_LINK_CUT = 1, SIM_LINK_HOLD = 2 };
enum sim_phase { SIM_PH_GENESIS = 0, SIM_PH_FAULTS = 1, SIM_PH_LIVE = 2, SIM_PH_SCRIPT = 3 };

struct sim_world;

struct sim_msg {
    struct sim_msg *next; /* held list */
    int from, to;         /* instance ids */
    uint64_t seq;
    size_t len;
    uint8_t bytes[];
};

struct sim_inst {
    struct sim_world *w;
    int id;
    int used, alive, halted, was_active_seen;
    int blank;         /* started from the member's identity alone (fault "blank") */
    int tf_reported;   /* it reported total failure (counted once) */
    uint64_t reach;    /* instances it can reach (bit i: instance i; all ones: any) */
    uint64_t anchor_t; /* highest chain time it was shown (its sealed "height") */
    int halt_reason;
    uint16_t member;
    uint32_t epoch; /* incarnation epoch (restart count) */
    uint32_t netep; /* network epoch it serves (1 + reconfigurations, §10) */
    int has_start;  /* it loaded its epoch's start state */
    uint16_t n;     /* member count of its epoch */
    nr_inc_t inc;
    uint64_t nonce;
    struct nr_se *se;
    uint64_t created_ms;
    char label[16];
};

enum sim_op_kind { SIM_OP_WRITE = 1, SIM_OP_READ = 2 };

/* One AE operation in the history of one record. */
struct sim_op {
    uint8_t kind;
    uint8_t done;    /* a reply arrived */
    uint8_t checked; /* S1 checked at its response */
    uint16_t ae;
    int inst;
    int status;    /* NR_OK or NR_E* (valid when done) */
    uint64_t inv;  /* history sequence number of the invocation */
    uint64_t resp; /* ... of the response (0: none yet) */
    uint64_t v;    /* write: version written; read: version returned */
    uint8_t d[NR_DIGEST_BYTES];
};

struct sim_rec {
    uint16_t owner;
    int gone; /* its owner left the network (§10): no further operations */
    uint8_t key[NR_KEY_BYTES];
    struct sim_op *ops;
    size_t nops, cap;
    /* S2: the op index (+1) that first committed/observed each version, 0 = none */
    uint32_t *obs;
    size_t obs_cap;
    uint64_t max_obs; /* highest version acked or read */
};

struct sim_ae {
    int id;
    uint16_t member;
    int rec;
    int inst;      /* attached SE instance, -1 none */
    int pending;   /* op index in the record history, -1 none */
    int secondary; /* an AE clone: a second writer for the same record */
    int restore;   /* must read before the next write */
    int scheduled;
    uint64_t last_v; /* last version this AE knows committed */
    uint32_t opno;
    uint32_t gen;   /* channel generation: a crashed AE reconnects with a new handle */
    int live_stage; /* liveness phase: 0 read, 1 write, 2 read, 3 done */
    uint64_t live_v;
    int down; /* its member is kept down in the liveness phase */
    int gone; /* its member left the network in a reconfiguration (§10) */
};

/* Swarm parameters: chosen per seed. */
struct sim_swarm {
    uint32_t drop_ppm, dup_ppm, spike_ppm;
    uint32_t delay_min_ms, delay_max_ms, spike_ms;
    uint32_t fault_gap_ms;
    uint32_t w_kill, w_restart, w_clone, w_concurrent, w_partition, w_isolate, w_link, w_heal,
        w_replay, w_reroute, w_ae_crash, w_collide, w_blank, w_reconf;
    uint32_t anchor_gap_ms; /* the host feeds chain evidence this often */
    uint32_t confirm_ms;    /* a record counts after this long on chain (confirmations) */
    uint32_t post_max_ms;   /* a proposal reaches the chain after up to this long */
    uint32_t stale_hint_ppm;
    uint32_t ae_clone_ppm;
    uint32_t records_per_member;
    uint32_t retransmit_ms, join_retry_ms, max_batch, max_inflight;
    int durability;
    int multicast;    /* a message to member j reaches every connected instance of j */
    int halt_exit;    /* the host kills an instance soon after it halts */
    int budget_aware; /* the injector keeps at most f members down (liveness is checked) */
    uint32_t ae_think_ms;
    uint32_t write_ppm;
};

struct sim_ev {
    uint64_t at, seq;
    int kind;
    int a;
    uint64_t b;
    struct sim_msg *msg;
};

struct sim_hint {
    uint32_t epoch;
    int was_active;
};

struct sim_world {
    uint64_t seed;
    struct sim_rng rng;
    struct sim_opts opt;
    struct sim_swarm sw;
    uint16_t n, f;
    enum sim_phase phase;
    uint64_t now, step, hseq, evseq, msgseq;
    uint64_t fault_end, live_end;

    struct sim_inst inst[SIM_MAX_INST];
    int ninst;
    uint8_t link[SIM_MAX_INST][SIM_MAX_INST];
    int route[SIM_MAX_INST][NR_MAX_MEMBERS];
    uint8_t default_link; /* link mode of new instances (scripts hold everything) */

    uint32_t max_epoch[NR_MAX_MEMBERS];
    int top[NR_MAX_MEMBERS]; /* instance with the highest incarnation ever created */
    int ever_active[NR_MAX_MEMBERS];
    int kept_down[NR_MAX_MEMBERS];
    nr_inc_t poisoned[NR_MAX_MEMBERS]; /* highest incarnation the host reused (collision) */
    struct sim_hint hints[NR_MAX_MEMBERS][SIM_MAX_HINTS];

    /* the chain oracle (anchored runs): one genesis per system, first proposal wins, never
     * rolled back; instances see it through evidence of any confirmed height >= the one
     * they last saw (a blank instance: any height at all) */
    int anchored;
    int chain_has[SIM_MAX_EPOCHS + 1]; /* per network epoch: its genesis is recorded */
    uint64_t chain_at[SIM_MAX_EPOCHS + 1];
    struct nr_genesis chain_g[SIM_MAX_EPOCHS + 1];

    /* reconfiguration (§10): the current network epoch, a handover in progress, and the
     * start state of the current epoch (sorted as its root) */
    uint32_t netep;
    int ho_collector;                /* instance collecting the handover, -1 none */
    uint16_t ho_next_n;              /* member count of the next epoch (replace: n; grow; shrink) */
    uint16_t ho_map[NR_MAX_MEMBERS]; /* old member index -> new (NR_OWNER_GONE: removed) */
    uint16_t start_old_n;            /* member count of the epoch the start state comes from */
    uint16_t start_map[NR_MAX_MEMBERS];
    unsigned grows, shrinks;
    int ho_ready;        /* instance whose handover completed, -1 none */
    uint64_t ho_started; /* when the current handover began (0: none) */
    struct nr_handover ho_cert;
    struct nr_record *start;
    size_t nstart;
    unsigned reconfigs, handover_retries;
    uint64_t pause_max_ms; /* longest time from a handover's start to its epoch's genesis */
    struct nr_genesis proposals[SIM_MAX_PROPOSALS];
    int nproposals;
    unsigned blank_networks;
    unsigned nhints[NR_MAX_MEMBERS];

    struct sim_rec rec[SIM_MAX_REC];
    int nrec;
    struct sim_ae ae[SIM_MAX_AE];
    int nae;

    struct sim_ev *heap;
    size_t nheap, capheap;
    struct sim_msg *held_head, *held_tail;
    struct sim_msg *ring[SIM_RING];
    unsigned ring_pos;

    char trace[SIM_TRACE_LINES][SIM_TRACE_LINE];
    uint64_t ntrace;

    int check_rec[SIM_MAX_REC]; /* records with a new response since the last check */
    int violation;
    char why[2048];
    int bad_rec; /* record of the violation, -1 none */
    int budget_exceeded;
    int step_limit_hit;
    uint64_t budget_exceeded_at;
    int in_callback;

    /* outcome counters */
    unsigned halts_total_failure, halts_superseded, halts_other, tf_within_budget;
    unsigned writes_acked, reads_ok, restarts, clones, kills, blanks;
    uint64_t converge_ms;    /* liveness phase: time to converge */
    struct nr_se_stats core; /* summed over every instance at its end (coverage) */
};

/* world.c: instances, AEs, the step loop and the phases */
struct sim_world *sim_world_new(uint64_t seed, const struct sim_opts *opt, unsigned n);
void sim_world_free(struct sim_world *w);
int sim_spawn(struct sim_world *w, uint16_t member, int stale, int clone_links);
int sim_spawn_epoch(struct sim_world *w, uint16_t member, uint32_t epoch, int was_active);
int sim_spawn_inc(struct sim_world *w, uint16_t member, nr_inc_t inc, int was_active);
int sim_spawn_blank(struct sim_world *w, uint16_t member, uint32_t epoch, uint64_t reach);
/* Reconfiguration (§10): begin a handover of the current epoch at a live instance of it (a
 * new collector if the last one died). Returns 0 if one was started. */
int sim_reconf_begin(struct sim_world *w);
void sim_anchor_feed(struct sim_world *w);
void sim_kill(struct sim_world *w, int id);
int sim_add_record(struct sim_world *w, uint16_t owner);
int sim_add_ae(struct sim_world *w, int rec, int secondary);
int sim_ae_write(struct sim_world *w, int ae, int inst, uint64_t v);
int sim_ae_read(struct sim_world *w, int ae, int inst);
void sim_schedule_ae(struct sim_world *w, int ae, uint64_t delay); /* once; no-op if due */
uint64_t sim_client_handle(const struct sim_ae *ae);
int sim_process_one(struct sim_world *w); /* 0: nothing left */
void sim_after_step(struct sim_world *w); /* flush every SE, check, account the budget */
int sim_run_until(struct sim_world *w, uint64_t t);
int sim_genesis(struct sim_world *w);
int sim_live_phase(struct sim_world *w);
int sim_run_random(struct sim_world *w);
enum nr_se_state sim_state(const struct sim_world *w, int id);
/* The instance still carries an incarnation the host gave to another instance too. */
int sim_poisoned(const struct sim_world *w, int id);

/* net.c: links and held messages (the rest of the network is net.h) */
int sim_release(struct sim_world *w, int from, int to, int type); /* returns count */
int sim_discard(struct sim_world *w, int from, int to);
void sim_set_link(struct sim_world *w, int a, int b, uint8_t mode);
void sim_set_all_links(struct sim_world *w, uint8_t mode);

/* trace.c */
void sim_trace(struct sim_world *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sim_report(struct sim_world *w, int result, const char *what);
const char *sim_msg_name(int type);
const char *sim_state_name(enum nr_se_state s);

/* check.c */
int sim_check_record(struct sim_world *w, int rec);
void sim_dump_record(const struct sim_world *w, int rec);

/* scenario.c */
int sim_run_scenario(const char *name, uint64_t seed, const struct sim_opts *opt);
void sim_list_scenarios(void);

#endif
