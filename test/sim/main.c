/* narrator-sim: command line of the deterministic simulator. See docs/simulator.md. */
#include "sim.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef NR_SIM_MUTATION
#define NR_SIM_MUTATION "none"
#endif

static void usage(void)
{
    printf("usage: narrator-sim [options]\n"
           "  --seed N              run one seed (default: a random seed, printed)\n"
           "  --seeds N [--from S]  run seeds S..S+N-1 (S defaults to 1); prints a summary\n"
           "  --n 3|5               member count (default: chosen by each seed)\n"
           "  --scenario NAME       run a named scenario (see --list)\n"
           "  --list                list the named scenarios\n"
           "  --regressions FILE    run every seed listed in FILE (lines: SEED [N] [reconf];\n"
           "                        a seed runs without reconfiguration unless it says reconf)\n"
           "  --expect-violation    succeed iff some run finds a safety violation\n"
           "                        (mutation tests: shows that the checker bites)\n"
           "  --fault-ms MS         length of the fault phase (default: chosen by the seed)\n"
           "  --live-ms MS          bound of the liveness phase (default 5000)\n"
           "  --anchored            every run anchored on the chain oracle (default: 7 of 8)\n"
           "  --unanchored          every run unanchored (development mode: no blank faults)\n"
           "  --reconf              every anchored run may reconfigure (default: half of them)\n"
           "  --no-reconf           no reconfiguration (epochs, docs/protocol.md §10)\n"
           "  -v, --verbose         print the whole trace\n"
           "exit status: 0 pass, 1 safety violation, 2 liveness failure, 3 error\n");
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s || *end != '\0')
        return -1;
    *out = (uint64_t)v;
    return 0;
}

struct totals {
    uint64_t runs, passed, safety, liveness, errors, beyond_budget;
    uint64_t writes, reads, restarts, clones, kills, tf_halts, sup_halts, tf_within;
    uint64_t steps, sim_ms, converge_max_ms, storms, blanks, blank_networks, anchored;
    uint64_t reconf_runs, epochs_opened, handover_retries, pause_max_ms, grows, shrinks;
    struct nr_se_stats core;
};

static int run_seed(uint64_t seed, const struct sim_opts *opt_in, unsigned n, struct totals *t)
{
    struct sim_opts fast = *opt_in;
    const struct sim_opts *opt = opt_in;
    if (!opt_in->trace && !opt_in->verbose) {
        /* fast pass without the trace; a failure is replayed with it (deterministic) */
        fast.quiet = 1;
        opt = &fast;
    }
    struct sim_world *w = sim_world_new(seed, opt, n);
    if (!w) {
        fprintf(stderr, "narrator-sim: out of memory\n");
        return SIM_ERROR;
    }
    w->bad_rec = -1;
    if (opt->verbose)
        printf("seed %" PRIu64 " n=%u\n", seed, w->n);
    int rc = sim_run_random(w);
    int storm = 0;
    if (rc == SIM_LIVENESS && w->step_limit_hit && w->budget_exceeded) {
        /* beyond the budget liveness is not required; a storm is reported, not failed
         * (test/sim/FINDINGS.md, F3) */
        if (!opt_in->quiet)
            printf("note: seed %" PRIu64 ": message storm beyond the fault budget "
                   "(step limit; FINDINGS.md F3)\n",
                   seed);
        rc = SIM_PASS;
        storm = 1;
    }
    if (w->tf_within_budget && !opt_in->quiet)
        printf("note: seed %" PRIu64 ": an instance declared total failure while at most f "
               "members were down\n",
               seed);
    if (rc != SIM_PASS && opt == &fast && !opt_in->quiet) {
        /* replay with the trace on for the report; the outcome must be the same */
        struct sim_opts slow = *opt_in;
        slow.trace = 1;
        struct sim_world *w2 = sim_world_new(seed, &slow, n);
        if (w2) {
            w2->bad_rec = -1;
            int rc2 = sim_run_random(w2);
            if (rc2 != rc || w2->step != w->step)
                printf("narrator-sim: replay of seed %" PRIu64 " diverged (%d at step %" PRIu64
                       " vs %d at step %" PRIu64 "): the simulation is not deterministic\n",
                       seed, rc, w->step, rc2, w2->step);
            sim_report(w2, rc2, w2->why);
            if (rc2 == SIM_SAFETY && w2->bad_rec >= 0)
                sim_dump_record(w2, w2->bad_rec);
            sim_world_free(w2);
        }
    } else if (rc != SIM_PASS && !opt->quiet) {
        sim_report(w, rc, w->why);
        if (rc == SIM_SAFETY && w->bad_rec >= 0)
            sim_dump_record(w, w->bad_rec);
    }
    if (t) {
        t->runs++;
        t->passed += rc == SIM_PASS;
        t->safety += rc == SIM_SAFETY;
        t->liveness += rc == SIM_LIVENESS;
        t->errors += rc == SIM_ERROR;
        t->beyond_budget += (uint64_t)w->budget_exceeded;
        t->storms += (uint64_t)storm;
        t->writes += w->writes_acked;
        t->reads += w->reads_ok;
        t->restarts += w->restarts;
        t->clones += w->clones;
        t->kills += w->kills;
        t->blanks += w->blanks;
        t->blank_networks += w->blank_networks;
        t->anchored += (uint64_t)w->anchored;
        t->reconf_runs += w->sw.w_reconf != 0;
        t->epochs_opened += w->netep - NR_CHAIN_EPOCH_FIRST;
        t->handover_retries += w->handover_retries;
        t->grows += w->grows;
        t->shrinks += w->shrinks;
        if (w->pause_max_ms > t->pause_max_ms)
            t->pause_max_ms = w->pause_max_ms;
        t->core.msgs_dropped_genesis += w->core.msgs_dropped_genesis;
        t->tf_halts += w->halts_total_failure;
        t->sup_halts += w->halts_superseded;
        t->tf_within += w->tf_within_budget;
        t->steps += w->step;
        t->core.fork_attempts += w->core.fork_attempts;
        t->core.stale_leftovers += w->core.stale_leftovers;
        t->core.votes_discarded += w->core.votes_discarded;
        t->core.join_replies_discarded += w->core.join_replies_discarded;
        t->core.msgs_dropped_stale_inc += w->core.msgs_dropped_stale_inc;
        t->core.joins_admitted += w->core.joins_admitted;
        t->core.conflicts_refused += w->core.conflicts_refused;
        t->core.incarnation_collisions += w->core.incarnation_collisions;
        if (!w->budget_exceeded && rc == SIM_PASS && w->converge_ms > t->converge_max_ms)
            t->converge_max_ms = w->converge_ms;
        t->sim_ms += w->now;
    }
    sim_world_free(w);
    return rc;
}

static void print_totals(const struct totals *t)
{
    printf("stats: %" PRIu64 " runs (%" PRIu64 " beyond the fault budget, %" PRIu64
           " of them message storms), %" PRIu64 " steps, %" PRIu64 " simulated s, %" PRIu64
           " writes acked, %" PRIu64 " reads, %" PRIu64 " kills, %" PRIu64 " restarts, %" PRIu64
           " clones, %" PRIu64 " superseded halts, %" PRIu64 " total-failure reports (%" PRIu64
           " within the budget); slowest convergence within the budget %" PRIu64 " ms\n",
           t->runs, t->beyond_budget, t->storms, t->steps, t->sim_ms / 1000, t->writes, t->reads,
           t->kills, t->restarts, t->clones, t->sup_halts, t->tf_halts, t->tf_within,
           t->converge_max_ms);
    printf("genesis: %" PRIu64 " anchored runs, %" PRIu64 " blank instances (%" PRIu64
           " blank networks), %" PRIu64 " messages of another network dropped\n",
           t->anchored, t->blanks, t->blank_networks, t->core.msgs_dropped_genesis);
    printf("epochs: %" PRIu64 " runs could reconfigure, %" PRIu64
           " epochs opened by handover (%" PRIu64 " grew 3 -> 5, %" PRIu64
           " shrank 5 -> 3, the others replaced members), %" PRIu64
           " handovers taken over by another collector; longest pause from handover to "
           "the new epoch's genesis %" PRIu64 " simulated ms\n",
           t->reconf_runs, t->epochs_opened, t->grows, t->shrinks, t->handover_retries,
           t->pause_max_ms);
    printf("core counters: %" PRIu64 " joins admitted, %" PRIu64 " join replies and %" PRIu64
           " votes discarded by views, %" PRIu64 " stale-incarnation drops, %" PRIu64
           " fork attempts, %" PRIu64 " stale leftovers, %" PRIu64 " conflicts refused, %" PRIu64
           " incarnation collisions\n",
           t->core.joins_admitted, t->core.join_replies_discarded, t->core.votes_discarded,
           t->core.msgs_dropped_stale_inc, t->core.fork_attempts, t->core.stale_leftovers,
           t->core.conflicts_refused, t->core.incarnation_collisions);
}

int main(int argc, char **argv)
{
    struct sim_opts opt;
    memset(&opt, 0, sizeof(opt));
    opt.live_ms = 5000;
    opt.anchor_mode = -1;
    opt.reconf = -1;
    opt.trace = 1; /* multi-seed modes turn it off */
    uint64_t seed = 0, nseeds = 0, from = 1;
    int have_seed = 0, expect_violation = 0;
    const char *scenario = NULL, *regressions = NULL;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t x = 0;
        if (!strcmp(a, "--seed") && val && !parse_u64(val, &seed)) {
            have_seed = 1;
            i++;
        } else if (!strcmp(a, "--seeds") && val && !parse_u64(val, &nseeds)) {
            i++;
        } else if (!strcmp(a, "--from") && val && !parse_u64(val, &from)) {
            i++;
        } else if (!strcmp(a, "--n") && val && !parse_u64(val, &x) && (x == 3 || x == 5)) {
            opt.n = (unsigned)x;
            i++;
        } else if (!strcmp(a, "--scenario") && val) {
            scenario = val;
            i++;
        } else if (!strcmp(a, "--regressions") && val) {
            regressions = val;
            i++;
        } else if (!strcmp(a, "--fault-ms") && val && !parse_u64(val, &opt.fault_ms)) {
            i++;
        } else if (!strcmp(a, "--live-ms") && val && !parse_u64(val, &opt.live_ms)) {
            i++;
        } else if (!strcmp(a, "--anchored")) {
            opt.anchor_mode = 1;
        } else if (!strcmp(a, "--unanchored")) {
            opt.anchor_mode = 0;
        } else if (!strcmp(a, "--reconf")) {
            opt.reconf = 1;
        } else if (!strcmp(a, "--no-reconf")) {
            opt.reconf = 0;
        } else if (!strcmp(a, "--expect-violation")) {
            expect_violation = 1;
        } else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
            opt.verbose = 1;
        } else if (!strcmp(a, "--list")) {
            sim_list_scenarios();
            return 0;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage();
            return 0;
        } else {
            fprintf(stderr, "narrator-sim: bad argument '%s'\n", a);
            usage();
            return SIM_ERROR;
        }
    }

    if (scenario) {
        if (!have_seed)
            seed = 1;
        int rc = sim_run_scenario(scenario, seed, &opt);
        printf("scenario %s (seed %" PRIu64 ", mutation %s): %s\n", scenario, seed, NR_SIM_MUTATION,
               rc == SIM_PASS       ? "pass"
               : rc == SIM_SAFETY   ? "SAFETY VIOLATION"
               : rc == SIM_LIVENESS ? "LIVENESS FAILURE"
                                    : "ERROR");
        if (expect_violation)
            return rc == SIM_SAFETY ? 0 : 1;
        return rc;
    }

    if (regressions) {
        FILE *fp = fopen(regressions, "r");
        if (!fp) {
            fprintf(stderr, "narrator-sim: cannot open %s\n", regressions);
            return SIM_ERROR;
        }
        char line[256];
        opt.trace = 0;
        struct totals t;
        memset(&t, 0, sizeof(t));
        unsigned failed = 0;
        while (fgets(line, sizeof(line), fp)) {
            unsigned long long s;
            unsigned nn = 0;
            char *h = strchr(line, '#');
            if (h)
                *h = '\0';
            int got = sscanf(line, "%llu %u", &s, &nn);
            if (got < 1)
                continue;
            struct sim_opts o = opt;
            o.n = got == 2 ? nn : opt.n;
            o.reconf = strstr(line, "reconf") ? 1 : 0; /* older seeds replay exactly */
            if (o.reconf)
                o.anchor_mode = 1; /* (as run: --anchored --reconf) */
            int rc = run_seed((uint64_t)s, &o, o.n, &t);
            if (rc != SIM_PASS) {
                printf("regression seed %llu FAILED (%d)\n", s, rc);
                failed++;
            }
        }
        fclose(fp);
        printf("%" PRIu64 " passed, %u failed (regressions)\n", t.passed, failed);
        print_totals(&t);
        return failed ? 1 : 0;
    }

    if (nseeds > 0) {
        opt.trace = 0;
        setvbuf(stdout, NULL, _IOLBF, 0); /* long runs: notes survive an interruption */
        struct totals t;
        memset(&t, 0, sizeof(t));
        uint64_t failed[64];
        unsigned nfailed = 0;
        if (expect_violation)
            opt.quiet = 1;
        for (uint64_t s = from; s < from + nseeds; s++) {
            int rc = run_seed(s, &opt, opt.n, &t);
            if (expect_violation && rc == SIM_SAFETY) {
                printf("mutation %s: safety violation found at seed %" PRIu64 " after %" PRIu64
                       " seeds (replay: --seed %" PRIu64 "%s)\n",
                       NR_SIM_MUTATION, s, s - from + 1, s, opt.n == 5 ? " --n 5" : "");
                opt.quiet = 0;
                run_seed(s, &opt, opt.n, NULL);
                return 0;
            }
            if (rc != SIM_PASS && nfailed < 64)
                failed[nfailed++] = s;
            if ((s - from + 1) % 1000 == 0) {
                fprintf(stderr, "progress: %" PRIu64 " seeds, %" PRIu64 " failed\n", s - from + 1,
                        t.runs - t.passed);
                fflush(stderr);
            }
        }
        if (expect_violation) {
            printf("mutation %s: NO safety violation found in %" PRIu64 " seeds\n", NR_SIM_MUTATION,
                   nseeds);
            print_totals(&t);
            return 1;
        }
        uint64_t nf = t.runs - t.passed;
        printf("%" PRIu64 " passed, %" PRIu64 " failed (%" PRIu64 " safety, %" PRIu64
               " liveness, %" PRIu64 " errors)\n",
               t.passed, nf, t.safety, t.liveness, t.errors);
        if (nfailed) {
            printf("failing seeds:");
            for (unsigned i = 0; i < nfailed; i++)
                printf(" %" PRIu64, failed[i]);
            printf("%s\n", nf > nfailed ? " ..." : "");
        }
        print_totals(&t);
        return nf ? 1 : 0;
    }

    if (!have_seed) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        seed = sim_mix64((uint64_t)ts.tv_sec ^ ((uint64_t)ts.tv_nsec << 20)) % 1000000000u;
    }
    printf("seed %" PRIu64 "\n", seed);
    fflush(stdout);
    struct totals t;
    memset(&t, 0, sizeof(t));
    int rc = run_seed(seed, &opt, opt.n, &t);
    if (expect_violation)
        return rc == SIM_SAFETY ? 0 : 1;
    printf("seed %" PRIu64 ": %s\n", seed, rc == SIM_PASS ? "pass" : "FAIL");
    print_totals(&t);
    return rc;
}
