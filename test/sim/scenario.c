/* Named scenarios: hand-driven schedules for the attacks the protocol is built to survive.
 * Each one sets the world up, drives it (message by message where the order matters), then
 * hands over to the liveness phase; the checker runs after every step throughout. */
#include "sim.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/wire.h"

struct scenario {
    const char *name;
    unsigned n;
    const char *about;
    int (*run)(struct sim_world *w);
};

/* A quiet, fault-free network for scripted runs. */
static void calm(struct sim_world *w)
{
    struct sim_swarm *s = &w->sw;
    s->drop_ppm = s->dup_ppm = s->spike_ppm = 0;
    s->delay_min_ms = 1;
    s->delay_max_ms = 5;
    s->w_kill = s->w_restart = s->w_clone = s->w_concurrent = s->w_partition = 0;
    s->w_isolate = s->w_link = s->w_heal = s->w_replay = s->w_reroute = 0;
    s->stale_hint_ppm = 0;
    s->retransmit_ms = 50;
    s->join_retry_ms = 100;
    s->max_batch = 64;
    s->max_inflight = 16;
    s->durability = NR_DURABILITY_MEMORY;
    s->multicast = 1;
    s->halt_exit = 0;
    s->ae_think_ms = 10;
    s->write_ppm = 600000;
}

static int expect(struct sim_world *w, int cond, const char *what)
{
    if (cond)
        return 0;
    snprintf(w->why, sizeof(w->why), "scenario precondition failed: %s", what);
    sim_trace(w, "scenario: EXPECTATION FAILED: %s", what);
    return SIM_ERROR;
}

/* Run the random engine (no random faults) for `ms` with AEs active. */
static int run_free(struct sim_world *w, uint64_t ms)
{
    enum sim_phase old = w->phase;
    w->phase = SIM_PH_FAULTS;
    int rc = sim_run_until(w, w->now + ms);
    w->phase = old;
    return rc;
}

static int wait_op(struct sim_world *w, int a, uint64_t ms)
{
    uint64_t end = w->now + ms;
    while (w->ae[a].pending >= 0 && w->now < end && !w->violation)
        if (!sim_process_one(w))
            break;
    return w->ae[a].pending < 0;
}

static int op_status(struct sim_world *w, int a, int op)
{
    const struct sim_op *o = &w->rec[w->ae[a].rec].ops[op];
    return o->done ? o->status : 1;
}

/* protocol.md §9.3: n = 3, SE0 and SE1 restart at once. 1' is admitted by old 0 and by 2
 * before 2 admits 0'; 0' is then admitted by 2 and by old 1. Old 0 commits v2 with 1';
 * if 0' were let in (join replies not filtered by views), it would commit another v2 with
 * 2: a fork. */
static int sc_trap(struct sim_world *w)
{
    int rc = sim_genesis(w);
    if (rc != SIM_PASS)
        return rc;
    const int s0 = 0, s1 = 1, s2 = 2;
    int r0 = sim_add_record(w, 0);
    int a0 = sim_add_ae(w, r0, 0), a1 = sim_add_ae(w, r0, 1);
    w->phase = SIM_PH_SCRIPT;

    int op = sim_ae_write(w, a0, s0, 1);
    sim_after_step(w);
    wait_op(w, a0, 2000);
    if ((rc = expect(w, op_status(w, a0, op) == NR_OK, "v1 committed by s0.0")))
        return rc;

    sim_trace(w, "scenario: hold every link; SE0 and SE1 restart at once (old ones live on)");
    sim_set_all_links(w, SIM_LINK_HOLD);
    int s0b = sim_spawn_epoch(w, 0, w->max_epoch[0] + 1, 1);
    int s1b = sim_spawn_epoch(w, 1, w->max_epoch[1] + 1, 1);
    if (s0b < 0 || s1b < 0)
        return SIM_ERROR;
    sim_after_step(w);

    sim_trace(w, "scenario: 1' is admitted by old 0 and by 2");
    sim_release(w, s1b, s0, NR_MSG_JOIN_REQ);
    sim_release(w, s1b, s2, NR_MSG_JOIN_REQ);
    sim_release(w, s0, s1b, NR_MSG_JOIN_REPLY);
    sim_release(w, s2, s1b, NR_MSG_JOIN_REPLY);
    if ((rc = expect(w, sim_state(w, s1b) == NR_SE_ACTIVE, "s1.1 joined through s0.0 and s2.0")))
        return rc;

    sim_trace(w, "scenario: 0' is admitted by 2 and by old 1 (which has not heard of 1')");
    sim_release(w, s0b, s2, NR_MSG_JOIN_REQ);
    sim_release(w, s0b, s1, NR_MSG_JOIN_REQ);
    sim_release(w, s2, s0b, NR_MSG_JOIN_REPLY);
    sim_release(w, s1, s0b, NR_MSG_JOIN_REPLY);
    int trapped = sim_state(w, s0b) == NR_SE_ACTIVE;
    sim_trace(w,
              "scenario: s0.1 is %s (a correct core keeps it JOINING: old 1's reply is "
              "discarded because 2's view shows 1')",
              trapped ? "ACTIVE" : "not ACTIVE");

    sim_trace(w, "scenario: old 0 commits v2 with 1'");
    op = sim_ae_write(w, a0, s0, 2);
    sim_after_step(w);
    sim_release(w, s0, s1b, NR_MSG_PREPARE);
    sim_release(w, s1b, s0, NR_MSG_ACK);
    if (w->violation)
        return w->violation;

    sim_trace(w, "scenario: a second AE writes v2 through 0'");
    int op1 = sim_ae_write(w, a1, s0b, 2);
    sim_after_step(w);
    sim_release(w, s0b, s2, NR_MSG_PREPARE);
    sim_release(w, s2, s0b, NR_MSG_ACK);
    if (w->violation)
        return w->violation;
    sim_trace(w, "scenario: v2 by old 0: %s; v2 by 0': %s", nr_errname(op_status(w, a0, op)),
              op_status(w, a1, op1) == 1 ? "pending" : nr_errname(op_status(w, a1, op1)));
    return sim_live_phase(w);
}

/* A clone of SE0 partitioned with a subset: n = 5, old s0 reaches {1, 2}, the clone
 * reaches {2, 3, 4}. Two AEs of one record write through either instance at once. */
static int sc_clone_partition(struct sim_world *w)
{
    int rc = sim_genesis(w);
    if (rc != SIM_PASS)
        return rc;
    int r0 = sim_add_record(w, 0);
    int a0 = sim_add_ae(w, r0, 0), a1 = sim_add_ae(w, r0, 1);
    w->phase = SIM_PH_FAULTS;
    w->fault_end = w->now + 100000;
    sim_ae_read(w, a0, 0);
    sim_after_step(w);
    sim_run_until(w, w->now + 300);
    int c = sim_spawn_epoch(w, 0, w->max_epoch[0] + 1, 1);
    if (c < 0)
        return SIM_ERROR;
    sim_trace(w, "scenario: clone %s reaches {2,3,4}; old s0.0 reaches {1,2}", w->inst[c].label);
    sim_set_link(w, c, 1, SIM_LINK_CUT);
    sim_set_link(w, 0, 3, SIM_LINK_CUT);
    sim_set_link(w, 0, 4, SIM_LINK_CUT);
    w->ae[a1].inst = c;
    if (w->ae[a1].pending < 0)
        sim_ae_read(w, a1, c);
    sim_after_step(w);
    if ((rc = run_free(w, 3000)))
        return rc;
    return sim_live_phase(w);
}

/* Restart from a stale sealed hint: SE1 restarts twice, then once more from its oldest
 * sealed hint, so its new incarnation is older than one the peers admitted. It must never
 * become ACTIVE. */
static int sc_stale_hint(struct sim_world *w)
{
    int rc = sim_genesis(w);
    if (rc != SIM_PASS)
        return rc;
    int r0 = sim_add_record(w, 1), r1 = sim_add_record(w, 0);
    int a0 = sim_add_ae(w, r0, 0), a1 = sim_add_ae(w, r1, 0);
    w->phase = SIM_PH_FAULTS;
    w->fault_end = w->now + 100000;
    sim_ae_read(w, a0, 1);
    sim_ae_read(w, a1, 0);
    sim_after_step(w);
    if ((rc = run_free(w, 500)))
        return rc;
    for (int k = 0; k < 2; k++) {
        sim_kill(w, w->top[1]);
        if (sim_spawn(w, 1, 0, 0) < 0)
            return SIM_ERROR;
        if ((rc = run_free(w, 800)))
            return rc;
        if ((rc = expect(w, sim_state(w, w->top[1]) == NR_SE_ACTIVE, "SE1 rejoined")))
            return rc;
    }
    nr_inc_t admitted = w->inst[w->top[1]].inc;
    sim_kill(w, w->top[1]);
    int st = sim_spawn_epoch(w, 1, w->hints[1][0].epoch + 1, 1);
    if (st < 0)
        return SIM_ERROR;
    sim_trace(w, "scenario: %s started from the oldest sealed hint (epoch %u)", w->inst[st].label,
              w->hints[1][0].epoch);
    uint64_t end = w->now + 2000;
    while (w->now < end && !w->violation) {
        /* it may take a fresh, newer incarnation while JOINING; never the stale one */
        if (sim_state(w, st) == NR_SE_ACTIVE && nr_se_incarnation(w->inst[st].se) <= admitted) {
            snprintf(w->why, sizeof(w->why),
                     "I1 violated: %s (incarnation %" PRIx64 ", older than one already admitted) "
                     "became ACTIVE",
                     w->inst[st].label, w->inst[st].inc);
            return SIM_SAFETY;
        }
        if (!sim_process_one(w))
            break;
    }
    if (w->violation)
        return w->violation;
    sim_trace(w, "scenario: stale instance is %s",
              w->inst[st].halted ? nr_errname(w->inst[st].halt_reason) : "not ACTIVE");
    return sim_live_phase(w);
}

/* Beyond the budget: n = 3, SE0 and SE1 lose their memory at once. Nobody may serve
 * stale state: the joiners must halt with NR_ETOTALFAILURE or stay JOINING. */
static int sc_total_failure(struct sim_world *w)
{
    int rc = sim_genesis(w);
    if (rc != SIM_PASS)
        return rc;
    int r0 = sim_add_record(w, 0), r2 = sim_add_record(w, 2);
    int a0 = sim_add_ae(w, r0, 0), a2 = sim_add_ae(w, r2, 0);
    w->phase = SIM_PH_FAULTS;
    w->fault_end = w->now + 100000;
    sim_ae_read(w, a0, 0);
    sim_ae_read(w, a2, 2);
    sim_after_step(w);
    if ((rc = run_free(w, 500)))
        return rc;
    sim_kill(w, w->top[0]);
    sim_kill(w, w->top[1]);
    int n0 = sim_spawn(w, 0, 0, 0), n1 = sim_spawn(w, 1, 0, 0);
    if (n0 < 0 || n1 < 0)
        return SIM_ERROR;
    if ((rc = run_free(w, 3000)))
        return rc;
    if ((rc = expect(w, sim_state(w, n0) != NR_SE_ACTIVE && sim_state(w, n1) != NR_SE_ACTIVE,
                     "no joiner became ACTIVE after a total failure")))
        return rc;
    sim_trace(w, "scenario: joiners %s / %s",
              w->inst[n0].halted ? nr_errname(w->inst[n0].halt_reason) : "JOINING",
              w->inst[n1].halted ? nr_errname(w->inst[n1].halt_reason) : "JOINING");
    return sim_live_phase(w);
}

static const struct scenario scenarios[] = {
    {"trap", 3, "concurrent-restart trap of protocol.md 7.3, message by message", sc_trap},
    {"clone-partition", 5, "a clone of SE0 partitioned with a different subset",
     sc_clone_partition},
    {"stale-hint", 3, "SE restart from an older sealed hint (older incarnation)", sc_stale_hint},
    {"total-failure", 3, "two of three SEs lose their memory at once", sc_total_failure},
};

void sim_list_scenarios(void)
{
    for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
        printf("%-16s n=%u  %s\n", scenarios[i].name, scenarios[i].n, scenarios[i].about);
}

int sim_run_scenario(const char *name, uint64_t seed, const struct sim_opts *opt)
{
    const struct scenario *sc = NULL;
    for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
        if (!strcmp(scenarios[i].name, name))
            sc = &scenarios[i];
    if (!sc) {
        fprintf(stderr, "narrator-sim: unknown scenario '%s' (try --list)\n", name);
        return SIM_ERROR;
    }
    struct sim_world *w = sim_world_new(seed, opt, sc->n);
    if (!w)
        return SIM_ERROR;
    w->bad_rec = -1;
    calm(w);
    int rc = sc->run(w);
    if (rc == SIM_PASS && w->violation)
        rc = w->violation;
    if (rc != SIM_PASS) {
        sim_report(w, rc, w->why);
        if (rc == SIM_SAFETY && w->bad_rec >= 0)
            sim_dump_record(w, w->bad_rec);
    } else if (!opt->quiet) {
        printf("scenario %s: %" PRIu64 " steps, %" PRIu64 " ms simulated, %u writes acked, "
               "%u reads, beyond budget: %s\n",
               name, w->step, w->now, w->writes_acked, w->reads_ok,
               w->budget_exceeded ? "yes" : "no");
    }
    sim_world_free(w);
    return rc;
}
