/* The simulator's trace ring and its failure report: the last lines before a violation,
 * every instance's state, view and counters, and the command that replays the seed. */
#include "sim.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "core/wire.h"

/* ------------------------------------------------------------------------------------ */
/* trace                                                                                  */

void sim_trace(struct sim_world *w, const char *fmt, ...)
{
    if (!w->opt.trace && !w->opt.verbose)
        return;
    char *line = w->trace[w->ntrace % SIM_TRACE_LINES];
    int off = snprintf(line, SIM_TRACE_LINE, "t=%-6" PRIu64 " #%-7" PRIu64 " ", w->now, w->step);
    if (off < 0)
        off = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + off, SIM_TRACE_LINE - (size_t)off, fmt, ap);
    va_end(ap);
    w->ntrace++;
    if (w->opt.verbose)
        printf("%s\n", line);
}

const char *sim_state_name(enum nr_se_state s)
{
    switch (s) {
    case NR_SE_JOINING:
        return "JOINING";
    case NR_SE_ACTIVE:
        return "ACTIVE";
    case NR_SE_HALTED:
        return "HALTED";
    case NR_SE_FROZEN:
        return "FROZEN";
    default:
        return "?";
    }
}

static const char *result_name(int r)
{
    switch (r) {
    case SIM_PASS:
        return "pass";
    case SIM_SAFETY:
        return "SAFETY VIOLATION";
    case SIM_LIVENESS:
        return "LIVENESS FAILURE";
    default:
        return "SIMULATOR ERROR";
    }
}

void sim_report(struct sim_world *w, int result, const char *what)
{
    if (w->opt.quiet)
        return;
    printf("=== %s: seed %" PRIu64 " n=%u step %" PRIu64 " t=%" PRIu64 "ms\n", result_name(result),
           w->seed, w->n, w->step, w->now);
    printf("%s\n", what);
    if (!w->opt.verbose) {
        uint64_t first = w->ntrace > 150 ? w->ntrace - 150 : 0;
        printf("--- trace tail (%" PRIu64 " lines) ---\n", w->ntrace - first);
        for (uint64_t i = first; i < w->ntrace; i++)
            printf("%s\n", w->trace[i % SIM_TRACE_LINES]);
    }
    printf("--- instances ---\n");
    for (int i = 0; i < w->ninst; i++) {
        const struct sim_inst *in = &w->inst[i];
        if (!in->alive) {
            printf("  %-6s inc %09" PRIx64 " dead%s\n", in->label, in->inc,
                   in->halted ? " (halted before)" : "");
            continue;
        }
        nr_inc_t view[NR_MAX_MEMBERS];
        nr_se_view(in->se, view);
        const struct nr_se_stats *st = nr_se_stats(in->se);
        printf("  %-6s inc %09" PRIx64 " %-7s view", in->label, in->inc,
               sim_state_name(nr_se_state(in->se)));
        for (unsigned j = 0; j < w->n; j++)
            printf(" %09" PRIx64, view[j]);
        printf(" | in %" PRIu64 " stale %" PRIu64 " unexp %" PRIu64 " wc %" PRIu64
               " votes_disc %" PRIu64 " joins %" PRIu64 " jdisc %" PRIu64 " forks %" PRIu64 "\n",
               st->msgs_in, st->msgs_dropped_stale_inc, st->msgs_dropped_unexpected,
               st->writes_committed, st->votes_discarded, st->joins_admitted,
               st->join_replies_discarded, st->fork_attempts);
    }
    printf("--- replay: narrator-sim --seed %" PRIu64 "%s%s ---\n", w->seed,
           w->opt.n ? " --n " : "", w->opt.n ? (w->opt.n == 3 ? "3" : "5") : "");
    fflush(stdout);
}

const char *sim_msg_name(int type)
{
    switch (type) {
    case NR_MSG_PREPARE:
        return "PREPARE";
    case NR_MSG_ACK:
        return "ACK";
    case NR_MSG_FETCH:
        return "FETCH";
    case NR_MSG_FETCH_REPLY:
        return "FETCH_REPLY";
    case NR_MSG_JOIN_REQ:
        return "JOIN_REQ";
    case NR_MSG_JOIN_REPLY:
        return "JOIN_REPLY";
    default:
        return "?";
    }
}
