/* The simulated world: SE instances of the unmodified core and their callbacks, the
 * simulated AEs, the step loop and the two phases of a random run (faults, then liveness).
 * The network is net.c, the fault injector faults.c, the trace and report trace.c.
 * Everything random comes from w->rng, so one seed replays exactly. */
#include "sim.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "faults.h"
#include "net.h"

#define TICK_MS 5u
#define MAX_RECORDS_PER_SE 256u

/* ------------------------------------------------------------------------------------ */
/* SE instances and their callbacks                                                      */

void sim_schedule_ae(struct sim_world *w, int a, uint64_t delay)
{
    if (w->ae[a].scheduled)
        return;
    w->ae[a].scheduled = 1;
    sim_ev_push(w, w->now + delay, SIM_EV_AE, a, 0, NULL);
}

static void cb_send(void *ctx, uint16_t to, const uint8_t *msg, size_t len)
{
    struct sim_inst *in = ctx;
    struct sim_world *w = in->w;
    if (!in->alive || to >= in->n)
        return;
    sim_net_send(w, in->id, to, msg, len);
}

static void cb_reply(void *ctx, uint64_t client, uint64_t req_id, int status, uint64_t version,
                     const uint8_t digest[NR_DIGEST_BYTES])
{
    struct sim_inst *in = ctx;
    struct sim_world *w = in->w;
    if (!in->alive)
        return;
    /* client handle = gen << 16 | (ae id + 1): the core treats client 0 as "no client" */
    uint64_t aid = client & 0xffffu;
    if (aid == 0 || aid > (uint64_t)w->nae) {
        snprintf(w->why, sizeof(w->why), "API: %s replied to unknown client %" PRIu64, in->label,
                 client);
        w->violation = SIM_ERROR;
        return;
    }
    struct sim_ae *ae = &w->ae[aid - 1];
    struct sim_rec *rec = &w->rec[ae->rec];
    if ((client >> 16) != ae->gen) {
        snprintf(w->why, sizeof(w->why),
                 "API: %s replied to request %" PRIu64 " of ae%d on a channel that was closed "
                 "(nr_se_client_gone)",
                 in->label, req_id, ae->id);
        w->violation = SIM_ERROR;
        return;
    }
    if (ae->pending < 0 || (uint64_t)ae->pending != req_id ||
        rec->ops[ae->pending].inst != in->id) {
        snprintf(w->why, sizeof(w->why),
                 "API: %s sent a reply for request %" PRIu64 " of ae%d that is not pending "
                 "there (each request gets exactly one reply)",
                 in->label, req_id, ae->id);
        w->violation = SIM_ERROR;
        return;
    }
    struct sim_op *op = &rec->ops[ae->pending];
    op->done = 1;
    op->status = status;
    op->resp = ++w->hseq;
    if (op->kind == SIM_OP_WRITE && status == NR_OK &&
        (version != op->v || !digest || memcmp(digest, op->d, NR_DIGEST_BYTES) != 0)) {
        snprintf(w->why, sizeof(w->why),
                 "S2 violated (record r%d): write op %d (ae%d, v=%" PRIu64 ") acked by %s "
                 "with a different committed record v=%" PRIu64,
                 ae->rec, ae->pending, ae->id, op->v, in->label, version);
        w->bad_rec = ae->rec;
        w->violation = SIM_SAFETY;
    }
    if (op->kind == SIM_OP_READ && status == NR_OK) {
        op->v = version;
        if (digest)
            memcpy(op->d, digest, NR_DIGEST_BYTES);
        else
            memset(op->d, 0, NR_DIGEST_BYTES);
    }
    sim_trace(w, "ae%d <- %s %s v=%" PRIu64 " d=%02x%02x (op %d) from %s", ae->id,
              op->kind == SIM_OP_WRITE ? "W" : "R", nr_errname(status),
              op->kind == SIM_OP_WRITE ? op->v : version,
              op->kind == SIM_OP_WRITE ? op->d[0] : (digest ? digest[0] : 0),
              op->kind == SIM_OP_WRITE ? op->d[1] : (digest ? digest[1] : 0), ae->pending,
              in->label);
    ae->pending = -1;
    w->check_rec[ae->rec] = 1;
    if (status == NR_OK) {
        if (op->kind == SIM_OP_WRITE) {
            ae->last_v = op->v;
            w->writes_acked++;
        } else {
            ae->last_v = version;
            w->reads_ok++;
        }
        ae->restore = 0;
    } else {
        ae->restore = 1;
    }
    if (w->phase == SIM_PH_LIVE) {
        if (status != NR_OK)
            ae->live_stage = 0;
        else if (ae->live_stage == 0 && op->kind == SIM_OP_READ) {
            ae->live_stage = 1;
            ae->live_v = version + 1;
        } else if (ae->live_stage == 1 && op->kind == SIM_OP_WRITE)
            ae->live_stage = 2;
        else if (ae->live_stage == 2 && op->kind == SIM_OP_READ)
            ae->live_stage = version >= ae->live_v ? 3 : 0;
    }
    uint64_t think = status == NR_OK ? sim_rng_range(&w->rng, 0, w->sw.ae_think_ms)
                                     : sim_rng_range(&w->rng, 10, 100);
    sim_schedule_ae(w, ae->id, think);
}

static void cb_persist(void *ctx, uint64_t token, const struct nr_record *recs, size_t count)
{
    struct sim_inst *in = ctx;
    struct sim_world *w = in->w;
    if (!in->alive)
        return;
    sim_ev_push(w, w->now + sim_rng_range(&w->rng, 0, 5), SIM_EV_PERSISTED, in->id, token, NULL);
}

static void cb_log(void *ctx, int level, const char *msg)
{
    struct sim_inst *in = ctx;
    struct sim_world *w = in->w;
    if (level <= NR_LOG_INFO || w->opt.verbose)
        sim_trace(w, "  [%s] %s", in->label, msg);
}

static void cb_halted(void *ctx, int reason)
{
    struct sim_inst *in = ctx;
    struct sim_world *w = in->w;
    if (!in->alive || in->halted)
        return;
    in->halted = 1;
    in->halt_reason = reason;
    if (reason == NR_ETOTALFAILURE) {
        w->halts_total_failure++;
        if (!w->budget_exceeded && w->phase != SIM_PH_GENESIS) {
            w->tf_within_budget++;
            sim_trace(w, "NOTE: total failure declared while at most f members are down");
        }
    } else if (reason == NR_ESUPERSEDED)
        w->halts_superseded++;
    else
        w->halts_other++;
    sim_trace(w, "HALT %s inc %" PRIx64 ": %s", in->label, in->inc, nr_errname(reason));
    if (w->sw.halt_exit || w->phase == SIM_PH_LIVE)
        sim_ev_push(w, w->now + sim_rng_range(&w->rng, 1, 50), SIM_EV_KILL, in->id, in->inc, NULL);
    for (int a = 0; a < w->nae; a++)
        if (w->ae[a].inst == in->id)
            sim_schedule_ae(w, a, sim_rng_range(&w->rng, 5, 60));
}

/* Anchored runs: the host posts the proposal to the chain oracle after a while. */
static void cb_genesis_proposed(void *ctx, const struct nr_genesis *g)
{
    struct sim_inst *in = ctx;
    struct sim_world *w = in->w;
    if (!in->alive)
        return;
    int k = 0;
    while (k < w->nproposals && memcmp(w->proposals[k].id, g->id, NR_GENESIS_ID_BYTES) != 0)
        k++;
    if (k < w->nproposals) { /* the same record again: another transaction posting it */
        sim_ev_push(w, w->now + sim_rng_range(&w->rng, 1, w->sw.post_max_ms), SIM_EV_POST, k, 0,
                    NULL);
        return;
    }
    if (w->nproposals >= (int)SIM_MAX_PROPOSALS)
        return;
    w->proposals[w->nproposals] = *g;
    sim_trace(w, "PROPOSE %s: genesis %02x%02x%02x%02x...", in->label, g->id[0], g->id[1], g->id[2],
              g->id[3]);
    sim_ev_push(w, w->now + sim_rng_range(&w->rng, 1, w->sw.post_max_ms), SIM_EV_POST,
                w->nproposals, 0, NULL);
    w->nproposals++;
}

/* S1/S6: a value reported as an uncommitted leftover must never have been acknowledged or
 * read as committed. */
static void cb_leftover(void *ctx, const struct nr_record *old, const struct nr_record *by)
{
    struct sim_inst *in = ctx;
    struct sim_world *w = in->w;
    (void)by;
    for (int r = 0; r < w->nrec; r++) {
        const struct sim_rec *rec = &w->rec[r];
        if (rec->owner != old->owner || memcmp(rec->key, old->key, NR_KEY_BYTES) != 0)
            continue;
        for (size_t i = 0; i < rec->nops; i++) {
            const struct sim_op *o = &rec->ops[i];
            if (o->done && o->status == NR_OK && o->v == old->version &&
                memcmp(o->d, old->digest, NR_DIGEST_BYTES) == 0 && !w->violation) {
                snprintf(w->why, sizeof(w->why),
                         "S1: %s replaced the committed value v%" PRIu64 " of record r%d as an "
                         "uncommitted leftover (op %zu)",
                         in->label, old->version, r, i);
                w->bad_rec = r;
                w->violation = SIM_SAFETY;
            }
        }
    }
}

/* Member identity keys for handover signatures: Ed25519 from a per-(seed, member) seed. */
static void member_keys(const struct sim_world *w, uint16_t m, uint8_t pk[32], uint8_t sk[64])
{
    uint8_t seed[32];
    uint64_t x = sim_mix64(w->seed ^ (0x5EEDull << 20) ^ m);
    for (unsigned i = 0; i < 32; i++) {
        if (i % 8 == 0)
            x = sim_mix64(x + i);
        seed[i] = (uint8_t)(x >> (8 * (i % 8)));
    }
    crypto_sign_seed_keypair(pk, sk, seed);
}

static int cb_sign(void *ctx, const uint8_t *msg, size_t len, uint8_t sig[NR_SIG_BYTES])
{
    struct sim_inst *in = ctx;
    uint8_t pk[32], sk[64];
    member_keys(in->w, in->member, pk, sk);
    return crypto_sign_detached(sig, NULL, msg, len, sk);
}

static void cb_handover_ready(void *ctx, const struct nr_handover *h)
{
    struct sim_inst *in = ctx;
    struct sim_world *w = in->w;
    (void)h;
    if (in->alive && in->netep == w->netep && w->ho_ready < 0)
        w->ho_ready = in->id; /* the switch happens after this step (no re-entry) */
}

static void cb_active(void *ctx)
{
    struct sim_inst *in = ctx;
    struct sim_world *w = in->w;
    if (!in->alive)
        return;
    in->was_active_seen = 1;
    if (in->netep != w->netep)
        return; /* an instance of an older epoch: no hint of the current one */
    w->ever_active[in->member] = 1;
    if (w->nhints[in->member] < SIM_MAX_HINTS)
        w->hints[in->member][w->nhints[in->member]++] = (struct sim_hint){in->epoch, 1};
    sim_trace(w, "ACTIVE %s inc %" PRIx64, in->label, in->inc);
}

/* top[m]: member m's instance with the highest incarnation in the current network epoch (an
 * instance of an older epoch never is, whatever its incarnation: §10). */
static void sim_top_update(struct sim_world *w, const struct sim_inst *in)
{
    int t = w->top[in->member];
    if (in->netep != w->netep)
        return;
    if (t < 0 || w->inst[t].netep != w->netep || in->inc > w->inst[t].inc)
        w->top[in->member] = in->id;
}

int sim_poisoned(const struct sim_world *w, int id)
{
    /* an incarnation two instances ever held (a collision, or two colliding instances that
     * re-incarnated alike: the low bits are kept) is refused by every member that hears both */
    const struct sim_inst *in = &w->inst[id];
    for (int j = 0; j < w->ninst; j++)
        if (j != id && w->inst[j].member == in->member && w->inst[j].inc == in->inc)
            return 1;
    return 0;
}

enum nr_se_state sim_state(const struct sim_world *w, int id)
{
    const struct sim_inst *in = &w->inst[id];
    if (!in->alive || !in->se)
        return NR_SE_HALTED;
    return nr_se_state(in->se);
}

int sim_spawn_epoch(struct sim_world *w, uint16_t member, uint32_t epoch, int was_active)
{
    return sim_spawn_inc(w, member, nr_incarnation_make(epoch, (uint32_t)sim_rng_next(&w->rng)),
                         was_active);
}

/* Start an instance with a given incarnation (the host draws it, so a malicious host can
 * repeat one); its nonce is TEE randomness the host cannot choose. */
int sim_spawn_inc(struct sim_world *w, uint16_t member, nr_inc_t inc, int was_active)
{
    uint32_t epoch = nr_incarnation_epoch(inc);
    int rc;
    if (w->ninst >= (int)SIM_MAX_INST || member >= w->n)
        return -1; /* (a restart planned for a member that left in a reconfiguration) */
    int id = w->ninst;
    struct sim_inst *in = &w->inst[id];
    memset(in, 0, sizeof(*in));
    in->w = w;
    in->id = id;
    in->used = 1;
    in->alive = 1;
    in->member = member;
    in->epoch = epoch;
    in->netep = w->netep;
    in->n = w->n;
    in->inc = inc;
    in->nonce = sim_rng_next(&w->rng) | 1u;
    in->reach = ~(uint64_t)0;
    in->created_ms = w->now;
    unsigned k = 0;
    for (int i = 0; i < w->ninst; i++)
        if (w->inst[i].member == member)
            k++;
    snprintf(in->label, sizeof(in->label), "s%u.%u", member, k);

    struct nr_se_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    for (unsigned i = 0; i < NR_SYSTEM_ID_BYTES; i++)
        cfg.system_id[i] = (uint8_t)(0xA0u + i);
    cfg.n = w->n;
    cfg.f = w->f;
    cfg.self = member;
    cfg.incarnation = in->inc;
    cfg.nonce = in->nonce;
    cfg.was_active = was_active;
    cfg.anchored = w->anchored;
    cfg.epoch = w->netep;
    cfg.max_records = MAX_RECORDS_PER_SE;
    cfg.max_batch = w->sw.max_batch;
    cfg.max_inflight = w->sw.max_inflight;
    cfg.retransmit_ms = w->sw.retransmit_ms;
    cfg.join_retry_ms = w->sw.join_retry_ms;
    cfg.durability = w->sw.durability;
    nr_se_config_defaults(&cfg);

    struct nr_se_io io = {
        .ctx = in,
        .send_peer = cb_send,
        .client_reply = cb_reply,
        .persist = w->sw.durability == NR_DURABILITY_DISK ? cb_persist : NULL,
        .log = cb_log,
        .halted = cb_halted,
        .active = cb_active,
        .genesis_proposed = cb_genesis_proposed,
        .leftover = cb_leftover,
        .sign = cb_sign,
        .handover_ready = cb_handover_ready,
    };
    rc = nr_se_create(&in->se, &cfg, &io);
    if (rc != NR_OK) {
        snprintf(w->why, sizeof(w->why), "nr_se_create failed: %s", nr_errname(rc));
        w->violation = SIM_ERROR;
        in->alive = 0;
        in->used = 0;
        return -1;
    }
    w->ninst++;
    for (int i = 0; i < w->ninst; i++) {
        w->link[id][i] = w->default_link;
        w->link[i][id] = w->default_link;
    }
    for (unsigned m = 0; m < NR_MAX_MEMBERS; m++)
        w->route[id][m] = -1;
    for (int i = 0; i < w->ninst; i++)
        w->route[i][member] = id; /* a new instance connects to everyone */
    if (epoch > w->max_epoch[member])
        w->max_epoch[member] = epoch;
    sim_top_update(w, in);
    if (w->nhints[member] < SIM_MAX_HINTS)
        w->hints[member][w->nhints[member]++] = (struct sim_hint){epoch, was_active};
    sim_trace(w, "SPAWN %s epoch %u inc %" PRIx64 " was_active=%d", in->label, epoch, in->inc,
              was_active);
    if (w->netep > NR_CHAIN_EPOCH_FIRST && w->start != NULL &&
        (!w->chain_has[w->netep] || sim_rng_below(&w->rng, 2))) {
        /* an epoch >= 2: the host hands the instance the certified start state (always
         * before the epoch's genesis: every founder needs it; later, a restart may or may not
         * get the file) */
        const struct nr_handover *c = &w->ho_cert;
        rc = nr_se_load_start(in->se, c->genesis, c->root, w->start_map, w->start_old_n, w->start,
                              w->nstart);
        in->has_start = rc == NR_OK;
        if (rc != NR_OK) {
            snprintf(w->why, sizeof(w->why), "%s refused the certified start state: %s", in->label,
                     nr_errname(rc));
            w->violation = SIM_ERROR;
        }
    }
    if (w->anchored && w->chain_has[w->netep] &&
        w->chain_at[w->netep] + w->sw.confirm_ms <= w->now && sim_rng_below(&w->rng, 4)) {
        /* the host fetched chain evidence before starting it (usually: a fresh view) */
        in->anchor_t = w->now - w->sw.confirm_ms;
        nr_se_anchor(in->se, &w->chain_g[w->netep], in->anchor_t, w->now);
    }
    nr_se_start(in->se, w->now);
    return id;
}

/* A restart or clone of `member` from its sealed hint: the latest snapshot, or with
 * `stale` a random older one (a rollback of the sealed file by the host). */
int sim_spawn(struct sim_world *w, uint16_t member, int stale, int clone_links)
{
    unsigned nh = w->nhints[member];
    struct sim_hint h = {0, 0};
    if (nh > 0)
        h = stale ? w->hints[member][sim_rng_below(&w->rng, nh)] : w->hints[member][nh - 1];
    /* Anchored runs take the hint as it is (any old hint, or none). Unanchored runs keep
     * the development mode's stated assumption that a hint never rolls back below "was
     * active" once the member was (docs/simulator.md, fault model). */
    int was_active = h.was_active || (!w->anchored && w->ever_active[member]);
    int id = sim_spawn_epoch(w, member, h.epoch + 1, was_active);
    if (id < 0)
        return id;
    if (stale)
        sim_trace(w, "  (%s started from a stale sealed hint: epoch %u)", w->inst[id].label,
                  h.epoch);
    if (clone_links == 2) {
        /* the clone hides from one member, which keeps talking to the older instance:
         * that member's rounds then mix votes of the old instance with votes whose views
         * show the clone (the QUORUM view filter has to discard the old one) */
        uint16_t hide = (uint16_t)sim_rng_below(&w->rng, w->n);
        if (hide == member)
            hide = (uint16_t)((hide + 1) % w->n);
        for (int j = 0; j < w->ninst; j++)
            if (w->inst[j].member == hide)
                sim_set_link(w, id, j, SIM_LINK_CUT);
        sim_trace(w, "  (%s hidden from member %u)", w->inst[id].label, hide);
        sim_ev_push(w, w->now + sim_rng_range(&w->rng, 100, 2000), SIM_EV_HEAL, -1, 0, NULL);
    } else if (clone_links) {
        /* the clone and the older instances of its member see different peers */
        for (int j = 0; j < w->ninst; j++) {
            struct sim_inst *p = &w->inst[j];
            if (j == id || !p->alive || p->member == member)
                continue;
            if (sim_rng_below(&w->rng, 2)) {
                sim_set_link(w, id, j, SIM_LINK_CUT);
            } else if (sim_rng_below(&w->rng, 2)) {
                for (int o = 0; o < w->ninst; o++)
                    if (o != id && w->inst[o].alive && w->inst[o].member == member)
                        sim_set_link(w, o, j, SIM_LINK_CUT);
            }
        }
        sim_ev_push(w, w->now + sim_rng_range(&w->rng, 100, 2000), SIM_EV_HEAL, -1, 0, NULL);
    }
    return id;
}

/* A blank instance: the member's identity alone (no hint at all), any epoch, reaching only
 * the instances in `reach` (and the blank instances spawned with it). */
int sim_spawn_blank(struct sim_world *w, uint16_t member, uint32_t epoch, uint64_t reach)
{
    int id = sim_spawn_epoch(w, member, epoch, 0);
    if (id < 0)
        return id;
    w->inst[id].blank = 1;
    w->inst[id].reach = reach | ((uint64_t)1 << id);
    w->blanks++;
    sim_trace(w, "  (%s is BLANK: identity only, epoch %u)", w->inst[id].label, epoch);
    return id;
}

/* The host shows every waiting instance chain evidence of some confirmed height at or above
 * the one it last saw (it cannot forge or roll back the chain, only pick an older view). */
void sim_anchor_feed(struct sim_world *w)
{
    uint64_t top = w->now > w->sw.confirm_ms ? w->now - w->sw.confirm_ms : 0;
    for (int i = 0; i < w->ninst; i++) {
        struct sim_inst *in = &w->inst[i];
        if (!in->alive || !nr_se_wants_anchor(in->se))
            continue;
        uint64_t t = in->anchor_t;
        if (top > t)
            t = sim_rng_below(&w->rng, 4) ? top : sim_rng_range(&w->rng, t, top);
        in->anchor_t = t;
        int present = w->chain_has[in->netep] && w->chain_at[in->netep] <= t;
        nr_se_anchor(in->se, present ? &w->chain_g[in->netep] : NULL, t, w->now);
    }
}

static void add_core_stats(struct sim_world *w, const struct sim_inst *in)
{
    const struct nr_se_stats *st = nr_se_stats(in->se);
    struct nr_se_stats *t = &w->core;
    t->writes_committed += st->writes_committed;
    t->reads_served += st->reads_served;
    t->fork_attempts += st->fork_attempts;
    t->stale_leftovers += st->stale_leftovers;
    t->votes_discarded += st->votes_discarded;
    t->join_replies_discarded += st->join_replies_discarded;
    t->msgs_dropped_stale_inc += st->msgs_dropped_stale_inc;
    t->joins_admitted += st->joins_admitted;
    t->conflicts_refused += st->conflicts_refused;
    t->incarnation_collisions += st->incarnation_collisions;
}

void sim_kill(struct sim_world *w, int id)
{
    struct sim_inst *in = &w->inst[id];
    if (!in->alive)
        return;
    sim_trace(w, "KILL %s inc %" PRIx64 " (%s)", in->label, in->inc,
              sim_state_name(nr_se_state(in->se)));
    in->alive = 0;
    add_core_stats(w, in);
    nr_se_destroy(in->se);
    in->se = NULL;
    w->kills++;
    for (int a = 0; a < w->nae; a++)
        if (w->ae[a].inst == id)
            sim_schedule_ae(w, a, sim_rng_range(&w->rng, 5, 60));
}

/* ------------------------------------------------------------------------------------ */
/* reconfiguration (docs/protocol.md §10)                                                */

/* Governance opened epoch netep + 1 on chain: the host asks a live instance of the current
 * epoch to collect the handover (again, at another instance, if the collector died). */
int sim_reconf_begin(struct sim_world *w)
{
    if (!w->anchored || w->netep >= SIM_MAX_EPOCHS || !w->chain_has[w->netep])
        return -1;
    /* a new reconfiguration needs room for the next epoch's instances (the fault injector
     * keeps n + 4 free); taking over a started one needs none */
    if (!w->ho_started && w->ninst + 2 * (int)w->n + 4 >= (int)SIM_MAX_INST)
        return -1;
    if (w->ho_collector >= 0) {
        const struct sim_inst *c = &w->inst[w->ho_collector];
        if (c->alive && !c->halted)
            return -1; /* one collection at a time */
    }
    int cand[SIM_MAX_INST], nc = 0;
    for (int i = 0; i < w->ninst; i++) {
        const struct sim_inst *in = &w->inst[i];
        if (!in->alive || in->halted || in->netep != w->netep)
            continue;
        enum nr_se_state st = nr_se_state(in->se);
        if (st == NR_SE_ACTIVE || st == NR_SE_FROZEN)
            cand[nc++] = i;
    }
    if (nc == 0)
        return -1;
    int c = cand[sim_rng_below(&w->rng, (uint64_t)nc)];
    if (!w->ho_started) {
        /* the next epoch's membership: replace a member (same indices), grow 3 -> 5 (two
         * new members after the old ones) or shrink 5 -> 3 (two members leave, the others
         * keep their order) */
        uint64_t kind = sim_rng_below(&w->rng, 2);
        for (uint16_t j = 0; j < NR_MAX_MEMBERS; j++)
            w->ho_map[j] = j < w->n ? j : NR_OWNER_GONE;
        w->ho_next_n = w->n;
        if (kind == 1 && w->n == 3) {
            w->ho_next_n = 5;
        } else if (kind == 1 && w->n == 5) {
            uint16_t a = (uint16_t)sim_rng_below(&w->rng, 5);
            uint16_t b = (uint16_t)((a + 1u + sim_rng_below(&w->rng, 4)) % 5u);
            uint16_t next = 0;
            for (uint16_t j = 0; j < 5; j++)
                w->ho_map[j] = (j == a || j == b) ? NR_OWNER_GONE : next++;
            w->ho_next_n = 3;
        }
    }
    int rc = nr_se_handover(w->inst[c].se, w->netep + 1u, w->now);
    sim_trace(w, "RECONFIGURE: epoch %u -> %u (%s, n %u -> %u), handover collected by %s: %s",
              w->netep, w->netep + 1u,
              w->ho_next_n > w->n   ? "grow"
              : w->ho_next_n < w->n ? "shrink"
                                    : "replace",
              w->n, w->ho_next_n, w->inst[c].label, nr_errname(rc));
    if (rc != NR_OK)
        return -1;
    if (w->ho_started)
        w->handover_retries++;
    else
        w->ho_started = w->now;
    w->ho_collector = c;
    return 0;
}

static int rec_cmp(const void *a, const void *b)
{
    const struct nr_record *x = a, *y = b;
    if (x->owner != y->owner)
        return x->owner < y->owner ? -1 : 1;
    return memcmp(x->key, y->key, NR_KEY_BYTES);
}

struct start_buf {
    struct nr_record *r;
    size_t n, cap;
};

static int collect_rec(void *arg, const struct nr_record *r)
{
    struct start_buf *b = arg;
    if (r->version == 0)
        return 0;
    if (b->n == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 64;
        b->r = realloc(b->r, b->cap * sizeof(*b->r));
        if (!b->r)
            return 1;
    }
    b->r[b->n++] = *r;
    return 0;
}

/* A certificate a new member would accept: f+1 distinct members of the epoch, each with a
 * valid Ed25519 signature of its identity key over the handover message. */
static int cert_ok(const struct sim_world *w, const struct nr_handover *c, char *why, size_t cap)
{
    uint8_t msg[NR_HANDOVER_MSG_BYTES], seen[NR_MAX_MEMBERS] = {0};
    unsigned good = 0;
    nr_handover_msg(msg, c->system_id, c->epoch, c->genesis, c->next_epoch, c->root, c->count);
    for (uint16_t k = 0; k < c->nsigs; k++) {
        uint16_t m = c->sigs[k].member;
        uint8_t pk[32], sk[64];
        if (m >= w->n || seen[m])
            continue;
        member_keys(w, m, pk, sk);
        if (crypto_sign_verify_detached(c->sigs[k].sig, msg, sizeof msg, pk) == 0) {
            seen[m] = 1;
            good++;
        }
    }
    if (good >= (unsigned)w->f + 1u && c->epoch == w->netep && c->next_epoch == w->netep + 1u &&
        memcmp(c->genesis, w->chain_g[w->netep].id, NR_GENESIS_ID_BYTES) == 0)
        return 1;
    snprintf(why, cap,
             "handover certificate refused: %u valid signatures of distinct members "
             "(need %u), epoch %u -> %u",
             good, w->f + 1u, c->epoch, c->next_epoch);
    return 0;
}

/* The handover completed: the next epoch opens with its state (the new members verify the
 * certificate), the old epoch's instances are stopped (some only after a while: the host
 * may keep them running), and every member starts an instance of the new epoch. */
static void reconf_switch(struct sim_world *w, int id)
{
    struct sim_inst *c = &w->inst[id];
    struct nr_handover cert;
    char why[256];
    if (!c->alive || nr_se_handover_result(c->se, &cert) != NR_OK)
        return;
    if (!cert_ok(w, &cert, why, sizeof why)) {
        sim_trace(w, "%s", why);
        return;
    }
    struct start_buf b = {0};
    nr_se_foreach(c->se, collect_rec, &b);
    if (b.n > 1)
        qsort(b.r, b.n, sizeof(*b.r), rec_cmp);
    free(w->start);
    w->start = b.r;
    w->nstart = b.n;
    w->ho_cert = cert;
    w->start_old_n = w->n;
    memcpy(w->start_map, w->ho_map, sizeof(w->start_map));
    w->netep++;
    w->ho_collector = -1;
    uint16_t old_n = w->n;
    if (w->ho_next_n > old_n)
        w->grows++;
    else if (w->ho_next_n < old_n)
        w->shrinks++;
    w->n = w->ho_next_n;
    w->f = (uint16_t)((w->n - 1u) / 2u);
    /* records and AEs follow their member to its new index; those of a member that left
     * stop (their AEs cannot run anywhere else: sealed state is bound to the platform) */
    for (int r = 0; r < w->nrec; r++) {
        uint16_t to = w->rec[r].owner < old_n ? w->ho_map[w->rec[r].owner] : NR_OWNER_GONE;
        if (to == NR_OWNER_GONE)
            w->rec[r].gone = 1;
        else
            w->rec[r].owner = to;
    }
    for (int a = 0; a < w->nae; a++) {
        struct sim_ae *ae = &w->ae[a];
        if (w->rec[ae->rec].gone) {
            ae->gone = 1;
            if (ae->pending >= 0 && ae->inst >= 0 && w->inst[ae->inst].alive)
                nr_se_client_gone(w->inst[ae->inst].se, sim_client_handle(ae));
            ae->pending = -1;
            continue;
        }
        ae->member = w->rec[ae->rec].owner;
    }
    for (uint16_t m = 0; m < NR_MAX_MEMBERS; m++) {
        w->top[m] = -1;
        w->kept_down[m] = 0;
    }
    sim_trace(w,
              "EPOCH %u opened: handover by %s, %zu records, root %02x%02x%02x%02x..., "
              "%u signatures",
              w->netep, c->label, b.n, cert.root[0], cert.root[1], cert.root[2], cert.root[3],
              cert.nsigs);
    for (int i = 0; i < w->ninst; i++) {
        struct sim_inst *in = &w->inst[i];
        if (!in->alive || in->netep == w->netep)
            continue;
        if (sim_rng_below(&w->rng, 4) != 0)
            sim_kill(w, i);
        else /* the host keeps it running a while */
            sim_ev_push(w, w->now + sim_rng_range(&w->rng, 1, 1500), SIM_EV_KILL, i, in->inc, NULL);
    }
    /* sealed hints are per epoch: nothing of the old epoch says the new one existed */
    memset(w->ever_active, 0, sizeof(w->ever_active));
    memset(w->nhints, 0, sizeof(w->nhints));
    for (uint16_t m = 0; m < w->n; m++)
        sim_spawn_epoch(w, m, w->max_epoch[m] + 1, 0);
    for (uint16_t m = old_n; m < w->n; m++) /* new members bring new AEs */
        for (uint32_t k = 0; k < w->sw.records_per_member; k++) {
            int r = sim_add_record(w, m);
            if (r >= 0)
                (void)sim_add_ae(w, r, 0);
        }
    for (int a = 0; a < w->nae; a++) {
        if (w->ae[a].gone)
            continue;
        w->ae[a].restore = 1;
        sim_schedule_ae(w, a, sim_rng_range(&w->rng, 1, 50));
    }
}

/* ------------------------------------------------------------------------------------ */
/* records and AEs                                                                       */

int sim_add_record(struct sim_world *w, uint16_t owner)
{
    if (w->nrec >= (int)SIM_MAX_REC)
        return -1;
    int id = w->nrec++;
    struct sim_rec *r = &w->rec[id];
    memset(r, 0, sizeof(*r));
    r->owner = owner;
    for (unsigned i = 0; i < NR_KEY_BYTES; i += 8) {
        uint64_t x = sim_mix64(((uint64_t)owner << 32) ^ (uint64_t)id ^ ((uint64_t)i << 48));
        memcpy(r->key + i, &x, 8);
    }
    return id;
}

int sim_add_ae(struct sim_world *w, int rec, int secondary)
{
    if (w->nae >= (int)SIM_MAX_AE)
        return -1;
    int id = w->nae++;
    struct sim_ae *ae = &w->ae[id];
    memset(ae, 0, sizeof(*ae));
    ae->id = id;
    ae->rec = rec;
    ae->member = w->rec[rec].owner;
    ae->inst = -1;
    ae->pending = -1;
    ae->secondary = secondary;
    ae->restore = 1;
    return id;
}

uint64_t sim_client_handle(const struct sim_ae *ae)
{
    return ((uint64_t)ae->gen << 16) | (uint64_t)(ae->id + 1);
}

static int hist_add(struct sim_world *w, int rec, const struct sim_op *op)
{
    struct sim_rec *r = &w->rec[rec];
    if (r->nops == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        struct sim_op *o = realloc(r->ops, cap * sizeof(*o));
        if (!o) {
            fprintf(stderr, "narrator-sim: out of memory\n");
            abort();
        }
        r->ops = o;
        r->cap = cap;
    }
    r->ops[r->nops] = *op;
    return (int)r->nops++;
}

static void make_digest(struct sim_world *w, int rec, uint64_t v, int ae, uint32_t opno,
                        uint8_t d[NR_DIGEST_BYTES])
{
    uint64_t x = sim_mix64(w->seed ^ sim_mix64(((uint64_t)(unsigned)rec << 40) ^ v) ^
                           sim_mix64(((uint64_t)(unsigned)ae << 32) | opno));
    for (unsigned i = 0; i < NR_DIGEST_BYTES; i += 8) {
        x = sim_mix64(x + i);
        memcpy(d + i, &x, 8);
    }
}

int sim_ae_write(struct sim_world *w, int a, int inst, uint64_t v)
{
    struct sim_ae *ae = &w->ae[a];
    struct sim_inst *in = &w->inst[inst];
    if (!in->alive || ae->pending >= 0)
        return -1;
    struct sim_op op;
    memset(&op, 0, sizeof(op));
    op.kind = SIM_OP_WRITE;
    op.ae = (uint16_t)a;
    op.inst = inst;
    op.inv = ++w->hseq;
    op.v = v;
    make_digest(w, ae->rec, v, a, ae->opno++, op.d);
    int idx = hist_add(w, ae->rec, &op);
    ae->pending = idx;
    ae->inst = inst;
    sim_trace(w, "ae%d -> W r%d v=%" PRIu64 " d=%02x%02x (op %d) at %s", a, ae->rec, v, op.d[0],
              op.d[1], idx, in->label);
    nr_se_client_write(in->se, sim_client_handle(ae), (uint64_t)idx, w->rec[ae->rec].key, v, op.d,
                       w->now);
    return idx;
}

int sim_ae_read(struct sim_world *w, int a, int inst)
{
    struct sim_ae *ae = &w->ae[a];
    struct sim_inst *in = &w->inst[inst];
    if (!in->alive || ae->pending >= 0)
        return -1;
    struct sim_op op;
    memset(&op, 0, sizeof(op));
    op.kind = SIM_OP_READ;
    op.ae = (uint16_t)a;
    op.inst = inst;
    op.inv = ++w->hseq;
    int idx = hist_add(w, ae->rec, &op);
    ae->pending = idx;
    ae->inst = inst;
    sim_trace(w, "ae%d -> R r%d (op %d) at %s", a, ae->rec, idx, in->label);
    nr_se_client_read(in->se, sim_client_handle(ae), (uint64_t)idx, w->rec[ae->rec].key, w->now);
    return idx;
}

static int pick_instance(struct sim_world *w, const struct sim_ae *ae)
{
    int cand[SIM_MAX_INST];
    int nc = 0;
    for (int i = 0; i < w->ninst; i++) {
        const struct sim_inst *in = &w->inst[i];
        if (in->alive && !in->halted && in->member == ae->member &&
            (in->netep == w->netep || sim_rng_below(&w->rng, 4) == 0))
            cand[nc++] = i; /* an instance of an older epoch only now and then (§10) */
    }
    if (nc == 0)
        return -1;
    int top = w->top[ae->member];
    int top_ok = top >= 0 && w->inst[top].alive && !w->inst[top].halted;
    if (w->phase == SIM_PH_LIVE)
        return top_ok ? top : -1;
    if (top_ok && !ae->secondary && sim_rng_below(&w->rng, 10) < 7)
        return top;
    return cand[sim_rng_below(&w->rng, (uint64_t)nc)];
}

static void ae_event(struct sim_world *w, int a)
{
    struct sim_ae *ae = &w->ae[a];
    ae->scheduled = 0;
    if (ae->pending >= 0) {
        const struct sim_op *op = &w->rec[ae->rec].ops[ae->pending];
        const struct sim_inst *in = &w->inst[op->inst];
        if (in->alive && !in->halted)
            return; /* still waiting for the reply */
        /* the SE died (or is being shut down): the op stays open (indeterminate) forever */
        sim_trace(w, "ae%d abandons op %d at %s (%s)", a, ae->pending, in->label,
                  in->alive ? "halted" : "dead");
        if (in->alive)
            nr_se_client_gone(in->se, sim_client_handle(ae));
        ae->pending = -1;
        ae->inst = -1;
        ae->restore = 1;
        if (w->phase == SIM_PH_LIVE)
            ae->live_stage = 0;
    }
    if (ae->gone)
        return;
    if (w->phase == SIM_PH_LIVE && (ae->secondary || ae->down || ae->live_stage == 3))
        return;
    if (w->phase == SIM_PH_SCRIPT)
        return;
    int inst = ae->inst;
    if (inst < 0 || !w->inst[inst].alive || w->inst[inst].halted ||
        (w->inst[inst].netep != w->netep && sim_rng_below(&w->rng, 2)) ||
        (w->phase == SIM_PH_FAULTS && sim_rng_below(&w->rng, 20) == 0) ||
        (w->phase == SIM_PH_LIVE && inst != w->top[ae->member]))
        inst = pick_instance(w, ae);
    if (inst < 0) {
        sim_schedule_ae(w, a, sim_rng_range(&w->rng, 20, 100));
        return;
    }
    if (w->phase == SIM_PH_LIVE) {
        if (ae->live_stage == 1)
            sim_ae_write(w, a, inst, ae->live_v);
        else
            sim_ae_read(w, a, inst);
        return;
    }
    if (ae->restore || !sim_rng_ppm(&w->rng, w->sw.write_ppm))
        sim_ae_read(w, a, inst);
    else
        sim_ae_write(w, a, inst, ae->last_v + 1);
}

/* ------------------------------------------------------------------------------------ */
/* the step loop                                                                         */

/* A JOINING instance may take a fresh incarnation itself (it has served nothing yet). */
static void refresh_incarnation(struct sim_world *w, struct sim_inst *in)
{
    nr_inc_t inc = nr_se_incarnation(in->se);
    if (inc == in->inc)
        return;
    sim_trace(w, "REINCARNATE %s: %" PRIx64 " -> %" PRIx64, in->label, in->inc, inc);
    in->inc = inc;
    in->epoch = nr_incarnation_epoch(inc);
    if (in->epoch > w->max_epoch[in->member])
        w->max_epoch[in->member] = in->epoch;
    sim_top_update(w, in);
    if (w->nhints[in->member] < SIM_MAX_HINTS)
        w->hints[in->member][w->nhints[in->member]++] =
            (struct sim_hint){in->epoch, w->ever_active[in->member]};
}

/* A later epoch's genesis needs f+1 of its named founders to become ACTIVE (the others
 * join through them). A member whose named founder is gone before it ever was ACTIVE (the
 * host stopped it, or started another instance of the member before the genesis, so that
 * the named one re-incarnated) is down for that epoch: more than f of them is beyond the
 * fault budget (FINDINGS.md F10). */
static void founders_account(struct sim_world *w)
{
    uint32_t e = w->netep;
    if (e <= NR_CHAIN_EPOCH_FIRST || !w->chain_has[e] || w->budget_exceeded ||
        w->phase == SIM_PH_GENESIS)
        return;
    const struct nr_genesis *g = &w->chain_g[e];
    unsigned lost = 0;
    for (uint16_t m = 0; m < g->n && m < w->n; m++) {
        if (w->ever_active[m])
            continue;
        int ok = 0;
        for (int i = 0; i < w->ninst && !ok; i++) {
            const struct sim_inst *in = &w->inst[i];
            ok = in->alive && !in->halted && in->member == m && in->netep == e &&
                 in->inc == g->founders[m].inc;
        }
        lost += !ok;
    }
    if (lost > w->f) {
        w->budget_exceeded = 1;
        w->budget_exceeded_at = w->now;
        sim_trace(w,
                  "FAULT BUDGET EXCEEDED: %u named founders of epoch %u are gone before they "
                  "were ACTIVE",
                  lost, e);
    }
}

void sim_after_step(struct sim_world *w)
{
    founders_account(w);
    if (w->ho_ready >= 0) {
        int id = w->ho_ready;
        w->ho_ready = -1;
        reconf_switch(w, id);
    }
    if (w->ho_collector >= 0 &&
        (!w->inst[w->ho_collector].alive || w->inst[w->ho_collector].halted) &&
        w->phase != SIM_PH_GENESIS)
        sim_reconf_begin(w); /* the collector died: another instance collects */
    for (int i = 0; i < w->ninst; i++)
        if (w->inst[i].alive)
            nr_se_flush(w->inst[i].se, w->now);
    for (int i = 0; i < w->ninst; i++)
        if (w->inst[i].alive)
            refresh_incarnation(w, &w->inst[i]);
    for (int i = 0; i < w->ninst; i++) {
        struct sim_inst *in = &w->inst[i];
        if (!in->alive)
            continue;
        if (nr_se_stats(in->se)->total_failure && !in->tf_reported) {
            in->tf_reported = 1;
            w->halts_total_failure++;
            if (!w->budget_exceeded && w->phase != SIM_PH_GENESIS) {
                w->tf_within_budget++;
                sim_trace(w, "NOTE: %s reports total failure while at most f members are down",
                          in->label);
            }
        }
        /* S4: in an anchored run, no instance serves in any network but the one on chain */
        uint8_t gid[NR_GENESIS_ID_BYTES];
        if (w->anchored && !w->violation && nr_se_state(in->se) == NR_SE_ACTIVE &&
            (nr_se_genesis_id(in->se, gid) != NR_OK || !w->chain_has[in->netep] ||
             memcmp(gid, w->chain_g[in->netep].id, NR_GENESIS_ID_BYTES) != 0)) {
            snprintf(w->why, sizeof(w->why),
                     "S4: %s%s is ACTIVE in a network whose genesis is not the one on chain",
                     in->label, in->blank ? " (blank)" : "");
            w->violation = SIM_SAFETY;
        }
    }
    for (int r = 0; r < w->nrec; r++) {
        if (!w->check_rec[r])
            continue;
        w->check_rec[r] = 0;
        if (!w->violation && sim_check_record(w, r))
            w->violation = SIM_SAFETY;
    }
    sim_budget_account(w);
}

int sim_process_one(struct sim_world *w)
{
    struct sim_ev ev;
    if (!sim_ev_pop(w, &ev))
        return 0;
    if (ev.at > w->now)
        w->now = ev.at;
    w->step++;
    if (w->step > SIM_MAX_STEPS && !w->violation) {
        snprintf(w->why, sizeof(w->why),
                 "step limit: more than %u events in one run (message storm or livelock)",
                 SIM_MAX_STEPS);
        w->violation = SIM_LIVENESS;
        w->step_limit_hit = 1;
    }
    switch (ev.kind) {
    case SIM_EV_DELIVER:
        sim_net_deliver(w, ev.msg);
        break;
    case SIM_EV_TICK:
        for (int i = 0; i < w->ninst; i++)
            if (w->inst[i].alive)
                nr_se_tick(w->inst[i].se, w->now);
        sim_ev_push(w, w->now + TICK_MS, SIM_EV_TICK, 0, 0, NULL);
        break;
    case SIM_EV_AE:
        ae_event(w, ev.a);
        break;
    case SIM_EV_FAULT:
        sim_fault_event(w);
        break;
    case SIM_EV_PERSISTED:
        if (w->inst[ev.a].alive)
            nr_se_persisted(w->inst[ev.a].se, ev.b, w->now);
        break;
    case SIM_EV_KILL:
        if (w->inst[ev.a].alive && w->inst[ev.a].inc == ev.b) {
            sim_kill(w, ev.a);
            if (w->phase == SIM_PH_LIVE && w->top[w->inst[ev.a].member] == ev.a &&
                !w->kept_down[w->inst[ev.a].member])
                sim_ev_push(w, w->now + 50, SIM_EV_RESTART, w->inst[ev.a].member, 0, NULL);
        }
        break;
    case SIM_EV_RESTART: {
        uint16_t m = (uint16_t)ev.a;
        if (w->phase == SIM_PH_FAULTS && sim_room(w) && sim_may_down(w, m)) {
            w->restarts++;
            sim_spawn(w, m, sim_rng_ppm(&w->rng, w->sw.stale_hint_ppm), 0);
        } else if (w->phase == SIM_PH_LIVE && sim_room(w) && !w->kept_down[m] &&
                   (w->top[m] < 0 || !w->inst[w->top[m]].alive || w->inst[w->top[m]].halted)) {
            sim_trace(w, "host restarts member %u after its halt", m);
            sim_spawn_epoch(w, m, w->max_epoch[m] + 1, w->ever_active[m]);
        }
        break;
    }
    case SIM_EV_POST:
        if (ev.a >= 0 && ev.a < w->nproposals && w->proposals[ev.a].epoch <= SIM_MAX_EPOCHS &&
            !w->chain_has[w->proposals[ev.a].epoch]) {
            /* the registry: one genesis per epoch, first proposal wins, never rolled back;
             * a later epoch's must name the predecessor and the root it was opened with */
            const struct nr_genesis *g = &w->proposals[ev.a];
            uint32_t e = g->epoch;
            if (e > NR_CHAIN_EPOCH_FIRST &&
                (e != w->netep || !w->chain_has[e - 1u] ||
                 memcmp(g->predecessor, w->chain_g[e - 1u].id, NR_GENESIS_ID_BYTES) != 0 ||
                 memcmp(g->state_root, w->ho_cert.root, NR_STATE_ROOT_BYTES) != 0)) {
                sim_trace(w, "CHAIN: genesis proposal for epoch %u refused (predecessor or root)",
                          e);
                break;
            }
            w->chain_has[e] = 1;
            w->chain_at[e] = w->now;
            w->chain_g[e] = *g;

            sim_trace(w, "CHAIN: genesis %02x%02x%02x%02x... of epoch %u recorded", g->id[0],
                      g->id[1], g->id[2], g->id[3], e);
            if (e > NR_CHAIN_EPOCH_FIRST && w->ho_started) {
                uint64_t pause = w->now - w->ho_started;
                if (pause > w->pause_max_ms)
                    w->pause_max_ms = pause;
                w->ho_started = 0;
            }
        }
        break;
    case SIM_EV_ANCHOR:
        sim_anchor_feed(w);
        sim_ev_push(w, w->now + sim_rng_range(&w->rng, 1, w->sw.anchor_gap_ms), SIM_EV_ANCHOR, 0, 0,
                    NULL);
        break;
    case SIM_EV_HEAL:
        if (ev.a < 0) {
            sim_set_all_links(w, SIM_LINK_UP);
            sim_trace(w, "HEAL all links");
        } else {
            for (int b = 0; b < w->ninst; b++)
                sim_set_link(w, ev.a, b, SIM_LINK_UP);
            sim_trace(w, "HEAL %s", w->inst[ev.a].label);
        }
        break;
    default:
        break;
    }
    sim_after_step(w);
    return 1;
}

int sim_run_until(struct sim_world *w, uint64_t t)
{
    while (!w->violation && w->nheap > 0 && w->heap[0].at <= t)
        sim_process_one(w);
    if (w->now < t)
        w->now = t;
    return w->violation;
}

/* ------------------------------------------------------------------------------------ */
/* world lifecycle and the two phases                                                    */

static void choose_swarm(struct sim_world *w)
{
    struct sim_swarm *s = &w->sw;
    struct sim_rng *r = &w->rng;
    s->drop_ppm = sim_rng_below(r, 2) ? (uint32_t)sim_rng_range(r, 0, 200000) : 0;
    s->dup_ppm = sim_rng_below(r, 2) ? (uint32_t)sim_rng_range(r, 0, 100000) : 0;
    s->delay_min_ms = (uint32_t)sim_rng_range(r, 1, 2);
    s->delay_max_ms = (uint32_t)sim_rng_range(r, 1, 40);
    s->spike_ppm = sim_rng_below(r, 3) == 0 ? (uint32_t)sim_rng_range(r, 0, 50000) : 0;
    s->spike_ms = (uint32_t)sim_rng_range(r, 50, 800);
    s->fault_gap_ms = (uint32_t)sim_rng_range(r, 30, 600);
    uint32_t *ws[] = {&s->w_kill,     &s->w_restart, &s->w_clone, &s->w_concurrent, &s->w_partition,
                      &s->w_isolate,  &s->w_link,    &s->w_heal,  &s->w_replay,     &s->w_reroute,
                      &s->w_ae_crash, &s->w_collide, &s->w_blank};
    for (unsigned i = 0; i < sizeof(ws) / sizeof(ws[0]); i++)
        *ws[i] = sim_rng_below(r, 3) ? (uint32_t)sim_rng_range(r, 1, 10) : 0;
    s->stale_hint_ppm = sim_rng_below(r, 2) ? (uint32_t)sim_rng_range(r, 0, 500000) : 0;
    s->ae_clone_ppm = sim_rng_below(r, 2) ? (uint32_t)sim_rng_range(r, 0, 600000) : 0;
    s->records_per_member = (uint32_t)sim_rng_range(r, 1, 3);
    s->retransmit_ms = (uint32_t)sim_rng_range(r, 10, 100);
    s->join_retry_ms = (uint32_t)sim_rng_range(r, 20, 200);
    s->max_batch = sim_rng_below(r, 2) ? (uint32_t)sim_rng_range(r, 1, 4) : 64;
    s->max_inflight = (uint32_t)sim_rng_range(r, 1, 16);
    s->durability = sim_rng_below(r, 4) == 0 ? NR_DURABILITY_DISK : NR_DURABILITY_MEMORY;
    s->multicast = (int)sim_rng_below(r, 2);
    s->halt_exit = (int)sim_rng_below(r, 2);
    s->budget_aware = (int)sim_rng_below(r, 2);
    s->ae_think_ms = (uint32_t)sim_rng_range(r, 0, 50);
    s->write_ppm = (uint32_t)sim_rng_range(r, 300000, 900000);
    s->anchor_gap_ms = (uint32_t)sim_rng_range(r, 5, 200);
    s->confirm_ms = (uint32_t)sim_rng_range(r, 0, 300);
    s->post_max_ms = (uint32_t)sim_rng_range(r, 1, 300);
    if (!w->anchored)
        s->w_blank = 0; /* unanchored (development only): no defence against it, by design */
}

struct sim_world *sim_world_new(uint64_t seed, const struct sim_opts *opt, unsigned n)
{
    struct sim_world *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    w->seed = seed;
    w->opt = *opt;
    sim_rng_seed(&w->rng, seed);
    if (n == 0)
        n = sim_rng_below(&w->rng, 2) ? 5u : 3u;
    w->n = (uint16_t)n;
    w->f = (uint16_t)((n - 1) / 2);
    for (unsigned m = 0; m < NR_MAX_MEMBERS; m++)
        w->top[m] = -1;
    w->anchored = opt->anchor_mode >= 0 ? opt->anchor_mode : sim_rng_below(&w->rng, 8) != 0;
    choose_swarm(w);
    w->netep = NR_CHAIN_EPOCH_FIRST;
    w->ho_collector = w->ho_ready = -1;
    /* Reconfiguration (§10) is decided apart from the seed's main stream, so that runs
     * without it replay exactly as before it existed. */
    uint64_t rx = sim_mix64(seed ^ 0x7265636f6e66ull);
    int reconf = opt->reconf >= 0 ? opt->reconf : (int)(rx & 1u);
    w->sw.w_reconf = w->anchored && reconf ? (uint32_t)(1u + (rx >> 8) % 10u) : 0;
    w->default_link = SIM_LINK_UP;
    return w;
}

void sim_world_free(struct sim_world *w)
{
    if (!w)
        return;
    for (int i = 0; i < w->ninst; i++)
        if (w->inst[i].alive && w->inst[i].se)
            nr_se_destroy(w->inst[i].se);
    struct sim_ev ev;
    while (sim_ev_pop(w, &ev))
        free(ev.msg);
    while (w->held_head) {
        struct sim_msg *m = w->held_head;
        w->held_head = m->next;
        free(m);
    }
    for (unsigned i = 0; i < SIM_RING; i++)
        free(w->ring[i]);
    for (int r = 0; r < w->nrec; r++) {
        free(w->rec[r].ops);
        free(w->rec[r].obs);
    }
    free(w->heap);
    free(w->start);
    free(w);
}

/* All members start fresh at once; the network is fault-free until all are ACTIVE. */
int sim_genesis(struct sim_world *w)
{
    w->phase = SIM_PH_GENESIS;
    for (uint16_t m = 0; m < w->n; m++)
        if (sim_spawn_epoch(w, m, 1, 0) < 0)
            return SIM_ERROR;
    sim_ev_push(w, w->now + TICK_MS, SIM_EV_TICK, 0, 0, NULL);
    if (w->anchored)
        sim_ev_push(w, w->now + 1, SIM_EV_ANCHOR, 0, 0, NULL);
    uint64_t deadline = w->now + 10000;
    for (;;) {
        int all = 1;
        for (uint16_t m = 0; m < w->n; m++)
            if (sim_state(w, w->top[m]) != NR_SE_ACTIVE)
                all = 0;
        if (all)
            return SIM_PASS;
        if (w->violation)
            return w->violation;
        if (w->now > deadline || !sim_process_one(w)) {
            snprintf(w->why, sizeof(w->why),
                     "genesis: not all members ACTIVE after 10 s on a fault-free network");
            return SIM_LIVENESS;
        }
    }
}

static int live_done(struct sim_world *w, char *why, size_t cap)
{
    for (uint16_t m = 0; m < w->n; m++) {
        if (w->kept_down[m])
            continue;
        int t = w->top[m];
        if (sim_state(w, t) != NR_SE_ACTIVE || w->inst[t].halted) {
            snprintf(why, cap, "member %u: newest instance %s is %s", m,
                     t >= 0 ? w->inst[t].label : "-",
                     t >= 0 && w->inst[t].alive ? sim_state_name(sim_state(w, t)) : "dead");
            return 0;
        }
    }
    for (int a = 0; a < w->nae; a++) {
        const struct sim_ae *ae = &w->ae[a];
        if (ae->down || ae->gone)
            continue;
        if (ae->pending >= 0) {
            snprintf(why, cap, "ae%d (record r%d, member %u): operation %d still pending at %s", a,
                     ae->rec, ae->member, ae->pending,
                     w->inst[w->rec[ae->rec].ops[ae->pending].inst].label);
            return 0;
        }
        if (!ae->secondary && ae->live_stage != 3) {
            snprintf(why, cap, "ae%d (record r%d, member %u): fresh write+read not done (stage %d)",
                     a, ae->rec, ae->member, ae->live_stage);
            return 0;
        }
    }
    return 1;
}

/* Faults stop, partitions heal, the host keeps one instance per member (the newest) and
 * restarts failed members; at most f members stay down. The healthy quorum must converge
 * and every AE must finish its operation and a fresh write + read within w->opt.live_ms. */
int sim_live_phase(struct sim_world *w)
{
    w->phase = SIM_PH_LIVE;
    w->live_end = w->now + w->opt.live_ms;
    sim_trace(w, "=== liveness phase (budget %s) ===",
              w->budget_exceeded ? "EXCEEDED: safety only" : "kept");
    sim_set_all_links(w, SIM_LINK_UP);
    for (int i = 0; i < w->ninst; i++)
        w->inst[i].reach = ~(uint64_t)0; /* the host stops hiding instances */
    while (w->held_head) {
        struct sim_msg *m = w->held_head;
        w->held_head = m->next;
        m->next = NULL;
        sim_ev_push(w, w->now + 1, SIM_EV_DELIVER, m->to, 0, m);
    }
    w->held_tail = NULL;
    for (int a = 0; a < w->ninst; a++)
        for (unsigned j = 0; j < NR_MAX_MEMBERS; j++)
            w->route[a][j] = -1;
    for (uint16_t m = 0; m < w->n; m++) {
        int t = w->top[m];
        if (t >= 0 && sim_state(w, t) == NR_SE_JOINING) {
            /* an operator keeps the instance that holds the member's state: during a handover
             * that is a FROZEN one (the newest may be a restart that cannot join any more) */
            for (int i = 0; i < w->ninst; i++)
                if (w->inst[i].alive && !w->inst[i].halted && w->inst[i].member == m &&
                    w->inst[i].netep == w->netep && sim_state(w, i) == NR_SE_FROZEN &&
                    !sim_poisoned(w, i))
                    t = w->top[m] = i;
        }
        for (int i = 0; i < w->ninst; i++)
            if (i != t && w->inst[i].alive && w->inst[i].member == m)
                sim_kill(w, i);
        if (t < 0 || !w->inst[t].alive || w->inst[t].halted || sim_poisoned(w, t)) {
            if (t >= 0)
                sim_kill(w, t);
            if (sim_spawn_epoch(w, m, w->max_epoch[m] + 1, w->ever_active[m]) < 0)
                return SIM_ERROR;
        }
    }
    /* (a new epoch whose genesis is not on chain yet needs every member: founders are all n,
     * as at the first genesis, so nobody stays down then) */
    if (!w->budget_exceeded && w->chain_has[w->netep]) {
        unsigned down = 0;
        for (uint16_t m = 0; m < w->n; m++)
            if (sim_state(w, w->top[m]) != NR_SE_ACTIVE)
                down++;
        unsigned extra = down < w->f ? (unsigned)sim_rng_range(&w->rng, 0, w->f - down) : 0;
        for (unsigned k = 0; k < extra; k++) {
            uint16_t m = (uint16_t)sim_rng_below(&w->rng, w->n);
            if (w->kept_down[m] || sim_state(w, w->top[m]) != NR_SE_ACTIVE)
                continue;
            w->kept_down[m] = 1;
            sim_trace(w, "member %u stays down for the liveness phase", m);
            sim_kill(w, w->top[m]);
        }
    }
    for (int a = 0; a < w->nae; a++) {
        struct sim_ae *ae = &w->ae[a];
        if (ae->gone)
            continue;
        ae->down = w->kept_down[ae->member];
        ae->live_stage = 0;
        if (ae->pending < 0 || !w->inst[w->rec[ae->rec].ops[ae->pending].inst].alive)
            sim_schedule_ae(w, a, sim_rng_range(&w->rng, 1, 20));
    }
    char why[512];
    while (!w->violation) {
        if (live_done(w, why, sizeof(why))) {
            sim_trace(w, "liveness: converged%s",
                      w->budget_exceeded ? " (although beyond the fault budget)" : "");
            w->converge_ms = w->now - (w->live_end - w->opt.live_ms);
            return SIM_PASS;
        }
        if (w->now > w->live_end || !sim_process_one(w))
            break;
    }
    if (w->violation)
        return w->violation;
    if (w->budget_exceeded) {
        if (!live_done(w, why, sizeof(why)))
            sim_trace(w, "beyond the fault budget, not converged: %s", why);
        sim_trace(w, "beyond the fault budget: %u total-failure halts, no safety violation",
                  w->halts_total_failure);
        return SIM_PASS;
    }
    live_done(w, why, sizeof(why));
    snprintf(w->why, sizeof(w->why),
             "liveness: not converged %" PRIu64 " ms after faults "
             "stopped: %s",
             w->opt.live_ms, why);
    return SIM_LIVENESS;
}

int sim_run_random(struct sim_world *w)
{
    int rc = sim_genesis(w);
    if (rc != SIM_PASS)
        return rc;
    for (uint16_t m = 0; m < w->n; m++)
        for (uint32_t k = 0; k < w->sw.records_per_member; k++) {
            int r = sim_add_record(w, m);
            if (r < 0)
                continue;
            int a = sim_add_ae(w, r, 0);
            if (a >= 0)
                sim_schedule_ae(w, a, sim_rng_range(&w->rng, 0, 20));
            if (sim_rng_ppm(&w->rng, w->sw.ae_clone_ppm)) {
                a = sim_add_ae(w, r, 1);
                if (a >= 0)
                    sim_schedule_ae(w, a, sim_rng_range(&w->rng, 0, 20));
            }
        }
    w->phase = SIM_PH_FAULTS;
    uint64_t fault_ms = w->opt.fault_ms ? w->opt.fault_ms : sim_rng_range(&w->rng, 1000, 5000);
    w->fault_end = w->now + fault_ms;
    sim_trace(w,
              "=== fault phase: %" PRIu64 " ms, drop %u ppm, dup %u ppm, delay %u-%u ms, "
              "fault gap %u ms, multicast %d, durability %d, budget-aware %d ===",
              fault_ms, w->sw.drop_ppm, w->sw.dup_ppm, w->sw.delay_min_ms, w->sw.delay_max_ms,
              w->sw.fault_gap_ms, w->sw.multicast, w->sw.durability, w->sw.budget_aware);
    sim_ev_push(w, w->now + sim_rng_range(&w->rng, 1, w->sw.fault_gap_ms), SIM_EV_FAULT, 0, 0,
                NULL);
    while (!w->violation && w->now < w->fault_end)
        if (!sim_process_one(w))
            break;
    if (w->violation)
        return w->violation;
    rc = sim_live_phase(w);
    for (int i = 0; i < w->ninst; i++)
        if (w->inst[i].alive && w->inst[i].se)
            add_core_stats(w, &w->inst[i]);
    return rc;
}
