/* The fault injector and the fault budget. The injector acts every few ms to hundreds of ms
 * in the fault phase (kills, restarts, clones, partitions, replays, reroutes, AE crashes,
 * incarnation collisions, each with a per-seed weight); the budget counts the members that
 * are down and marks a run that goes beyond f. docs/simulator.md, fault model. */
#include "faults.h"

#include <inttypes.h>
#include <stdio.h>

#include "net.h"

/* ------------------------------------------------------------------------------------ */
/* the fault budget                                                                     */

/* Down: lost its memory. A FROZEN instance handed its state over (it is not down), and an
 * instance of a new epoch that holds the start state is not down before the epoch's genesis
 * (§10). */
static int member_down(const struct sim_world *w, uint16_t m)
{
    int t = w->top[m];
    if (t < 0 || !w->inst[t].alive || w->inst[t].halted || sim_poisoned(w, t))
        return 1;
    enum nr_se_state st = nr_se_state(w->inst[t].se);
    if (st == NR_SE_ACTIVE || st == NR_SE_FROZEN)
        return 0;
    for (int i = 0; i < w->ninst; i++) /* a restart beside a frozen instance of the member */
        if (w->inst[i].alive && !w->inst[i].halted && w->inst[i].member == m &&
            w->inst[i].netep == w->netep && nr_se_state(w->inst[i].se) == NR_SE_FROZEN)
            return 0;
    const struct sim_inst *in = &w->inst[t];
    return !(in->netep > NR_CHAIN_EPOCH_FIRST && st == NR_SE_JOINING && in->has_start &&
             (!w->chain_has[in->netep] || w->chain_g[in->netep].founders[m].inc == in->inc));
}

unsigned sim_down_count(const struct sim_world *w)
{
    unsigned down = 0;
    for (uint16_t m = 0; m < w->n; m++)
        down += (unsigned)member_down(w, m);
    return down;
}

/* May the injector take member m down now? (budget-aware seeds keep <= f down) */
int sim_may_down(const struct sim_world *w, uint16_t m)
{
    if (!w->sw.budget_aware || member_down(w, m))
        return 1;
    return sim_down_count(w) + 1 <= w->f;
}

int sim_room(const struct sim_world *w)
{
    return w->ninst + (int)w->n + 4 < (int)SIM_MAX_INST;
}

void sim_budget_account(struct sim_world *w)
{
    if (w->phase != SIM_PH_FAULTS && w->phase != SIM_PH_SCRIPT)
        return;
    if (w->budget_exceeded)
        return;
    unsigned down = sim_down_count(w);
    if (down > w->f) {
        w->budget_exceeded = 1;
        w->budget_exceeded_at = w->now;
        sim_trace(w, "FAULT BUDGET EXCEEDED: %u of %u members lost their memory at once", down,
                  w->n);
    }
}

/* ------------------------------------------------------------------------------------ */
/* the injector                                                                         */

static int random_alive(struct sim_world *w, int member)
{
    int cand[SIM_MAX_INST];
    int nc = 0;
    for (int i = 0; i < w->ninst; i++)
        if (w->inst[i].alive && (member < 0 || w->inst[i].member == member))
            cand[nc++] = i;
    return nc ? cand[sim_rng_below(&w->rng, (uint64_t)nc)] : -1;
}

static void fault_restart(struct sim_world *w, uint16_t m)
{
    if (!sim_may_down(w, m))
        return;
    int victim = random_alive(w, m);
    if (victim >= 0)
        sim_kill(w, victim);
    if (!sim_room(w))
        return;
    w->restarts++;
    sim_spawn(w, m, sim_rng_ppm(&w->rng, w->sw.stale_hint_ppm), 0);
}

static void fault_clone(struct sim_world *w, uint16_t m)
{
    if (!sim_room(w) || !sim_may_down(w, m))
        return;
    w->clones++;
    sim_trace(w, "CLONE of member %u", m);
    sim_spawn(w, m, sim_rng_ppm(&w->rng, w->sw.stale_hint_ppm), (int)sim_rng_below(&w->rng, 3));
}

void sim_fault_event(struct sim_world *w)
{
    if (w->phase != SIM_PH_FAULTS)
        return;
    const struct sim_swarm *s = &w->sw;
    uint32_t ws[] = {s->w_kill,     s->w_restart, s->w_clone, s->w_concurrent, s->w_partition,
                     s->w_isolate,  s->w_link,    s->w_heal,  s->w_replay,     s->w_reroute,
                     s->w_ae_crash, s->w_collide, s->w_blank, s->w_reconf};
    uint32_t total = 0;
    for (unsigned i = 0; i < sizeof(ws) / sizeof(ws[0]); i++)
        total += ws[i];
    sim_ev_push(w, w->now + sim_rng_range(&w->rng, 1, 2u * s->fault_gap_ms), SIM_EV_FAULT, 0, 0,
                NULL);
    if (total == 0)
        return;
    uint32_t pick = (uint32_t)sim_rng_below(&w->rng, total);
    unsigned act = 0;
    while (pick >= ws[act]) {
        pick -= ws[act];
        act++;
    }
    uint16_t m = (uint16_t)sim_rng_below(&w->rng, w->n);
    switch (act) {
    case 0: { /* SIGKILL, restart later */
        int v = random_alive(w, -1);
        if (v < 0)
            break;
        uint16_t vm = w->inst[v].member;
        if (w->top[vm] == v && !sim_may_down(w, vm))
            break;
        sim_kill(w, v);
        if (sim_rng_below(&w->rng, 10) < 7)
            sim_ev_push(w, w->now + sim_rng_range(&w->rng, 0, 300), SIM_EV_RESTART, vm, 0, NULL);
        break;
    }
    case 1:
        fault_restart(w, m);
        break;
    case 2:
        fault_clone(w, m);
        break;
    case 3: { /* two or more members restart or clone at once */
        unsigned k = (unsigned)sim_rng_range(&w->rng, 2, w->n);
        uint16_t order[NR_MAX_MEMBERS];
        for (uint16_t i = 0; i < w->n; i++)
            order[i] = i;
        for (unsigned i = w->n - 1; i > 0; i--) {
            unsigned j = (unsigned)sim_rng_below(&w->rng, i + 1);
            uint16_t t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        sim_trace(w, "CONCURRENT restart/clone of %u members", k);
        for (unsigned i = 0; i < k; i++) {
            if (sim_rng_below(&w->rng, 2))
                fault_restart(w, order[i]);
            else
                fault_clone(w, order[i]);
        }
        break;
    }
    case 4: { /* bipartition of all instances */
        uint8_t side[SIM_MAX_INST];
        for (int i = 0; i < w->ninst; i++)
            side[i] = (uint8_t)sim_rng_below(&w->rng, 2);
        for (int a = 0; a < w->ninst; a++)
            for (int b = 0; b < w->ninst; b++)
                if (side[a] != side[b])
                    w->link[a][b] = SIM_LINK_CUT;
        sim_trace(w, "PARTITION (random halves)");
        sim_ev_push(w, w->now + sim_rng_range(&w->rng, 50, 1500), SIM_EV_HEAL, -1, 0, NULL);
        break;
    }
    case 5: { /* isolate one instance */
        int v = random_alive(w, -1);
        if (v < 0)
            break;
        for (int b = 0; b < w->ninst; b++)
            sim_set_link(w, v, b, SIM_LINK_CUT);
        sim_trace(w, "ISOLATE %s", w->inst[v].label);
        sim_ev_push(w, w->now + sim_rng_range(&w->rng, 50, 1500), SIM_EV_HEAL, v, 0, NULL);
        break;
    }
    case 6: { /* one directed link flips */
        int a = random_alive(w, -1), b = random_alive(w, -1);
        if (a < 0 || a == b)
            break;
        w->link[a][b] = w->link[a][b] == SIM_LINK_UP ? SIM_LINK_CUT : SIM_LINK_UP;
        sim_trace(w, "LINK %s->%s %s", w->inst[a].label, w->inst[b].label,
                  w->link[a][b] == SIM_LINK_UP ? "up" : "cut");
        break;
    }
    case 7:
        sim_set_all_links(w, SIM_LINK_UP);
        sim_trace(w, "HEAL all links");
        break;
    case 8: { /* replay an old message on its own (still open) channel */
        struct sim_msg *old = w->ring[sim_rng_below(&w->rng, SIM_RING)];
        if (!old || !w->inst[old->from].alive || !w->inst[old->to].alive)
            break;
        sim_trace(w, "REPLAY %s %s->%s", sim_msg_name(sim_msg_type(old)), w->inst[old->from].label,
                  w->inst[old->to].label);
        struct sim_msg *c = sim_msg_new(w, old->from, old->to, old->bytes, old->len);
        sim_ev_push(w, w->now + sim_rng_range(&w->rng, 0, 20), SIM_EV_DELIVER, c->to, 0, c);
        break;
    }
    case 11: { /* the host starts an instance with an incarnation already used */
        int v = -1, cnt = 0;
        for (int i = 0; i < w->ninst; i++)
            if (w->inst[i].member == m && sim_rng_below(&w->rng, (uint64_t)++cnt) == 0)
                v = i;
        if (v < 0 || !sim_room(w) || !sim_may_down(w, m))
            break;
        nr_inc_t inc = w->inst[v].inc;
        sim_trace(w, "COLLIDE: new instance of member %u reuses incarnation %" PRIx64 " of %s", m,
                  inc, w->inst[v].label);
        w->clones++;
        if (inc >= w->poisoned[m])
            w->poisoned[m] = inc;
        sim_spawn_inc(w, m, inc, 1); /* both now count as down (sim_poisoned, F8) */
        break;
    }
    case 12: { /* the host starts blank instances from identities alone (issue: resurrection) */
        if (!sim_room(w))
            break;
        if (sim_rng_below(&w->rng, 2) && !w->sw.budget_aware) {
            /* a whole blank network: one instance per member, reaching only each other */
            sim_trace(w, "BLANK NETWORK: every member started from its identity alone");
            w->blank_networks++;
            for (uint16_t k = 0; k < w->n && sim_room(w); k++)
                sim_spawn_blank(w, k, (uint32_t)sim_rng_range(&w->rng, 1, w->max_epoch[k] + 3u), 0);
            uint64_t group = 0;
            for (int i = 0; i < w->ninst; i++)
                if (w->inst[i].blank && w->inst[i].alive && w->inst[i].created_ms == w->now)
                    group |= (uint64_t)1 << i;
            for (int i = 0; i < w->ninst; i++)
                if (group >> i & 1u)
                    w->inst[i].reach = group;
        } else {
            /* one blank instance of member m reaching a random subset of instances */
            if (!sim_may_down(w, m))
                break;
            uint64_t reach = 0;
            for (int i = 0; i < w->ninst; i++)
                if (w->inst[i].alive && sim_rng_below(&w->rng, 2))
                    reach |= (uint64_t)1 << i;
            sim_trace(w, "BLANK instance of member %u", m);
            sim_spawn_blank(w, m, (uint32_t)sim_rng_range(&w->rng, 1, w->max_epoch[m] + 3u), reach);
        }
        break;
    }
    case 13: /* governance opens the next epoch: a handover begins (§10) */
        if (sim_reconf_begin(w) == 0)
            w->reconfigs++;
        break;
    case 9:
        for (int a = 0; a < w->ninst; a++)
            for (unsigned j = 0; j < NR_MAX_MEMBERS; j++)
                w->route[a][j] = -1;
        sim_trace(w, "REROUTE all channels");
        break;
    case 10:
    default: { /* an AE process dies mid-operation and restarts: its channel closes */
        if (w->nae == 0)
            break;
        struct sim_ae *ae = &w->ae[sim_rng_below(&w->rng, (uint64_t)w->nae)];
        if (ae->pending >= 0) {
            const struct sim_op *op = &w->rec[ae->rec].ops[ae->pending];
            if (w->inst[op->inst].alive)
                nr_se_client_gone(w->inst[op->inst].se, sim_client_handle(ae));
            sim_trace(w, "AE CRASH ae%d: op %d left open", ae->id, ae->pending);
            ae->pending = -1;
        }
        ae->gen++;
        ae->inst = -1;
        ae->restore = 1;
        sim_schedule_ae(w, ae->id, sim_rng_range(&w->rng, 5, 100));
        break;
    }
    }
}
