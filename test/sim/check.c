/* The checker: S1, S2 and S3 over the recorded history of every record, after every step.
 *
 * The history of one record is a list of AE operations on a versioned register, each with
 * an invocation and (maybe) a response, numbered on one global history clock:
 *   write (v, d): an AE asked its SE to commit version v with digest d; acked or not;
 *   read -> (v, d): the SE returned the committed record.
 * A write that got no reply, or an error reply, is indeterminate: it may take effect at any
 * time after its invocation, or never.
 *
 * S1  once (v, d) is acked, every read invoked after the ack returns a version >= v, and a
 *     read that returns v returns d.
 * S2  for each version at most one digest is ever acked or returned by a read.
 * S3  the history is linearizable. Because S2 makes the versions of a record one chain
 *     (v = prev + 1), a linearization is fixed up to the placement of the points: write v
 *     must take effect after write v-1 and after every read of v-1, and reads of v between
 *     write v and write v+1. Placing every point as early as its constraints allow (greedy
 *     over increasing versions) finds a linearization iff one exists. */
#include "sim.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INF UINT64_MAX

struct pt {
    uint64_t a, b; /* a + b * epsilon, on the history clock */
};

static int pt_less(struct pt x, struct pt y)
{
    return x.a < y.a || (x.a == y.a && x.b < y.b);
}

static struct pt pt_max(struct pt x, struct pt y)
{
    return pt_less(x, y) ? y : x;
}

/* x <= resp (a point may coincide with nothing but is before the response) */
static int pt_before(struct pt x, uint64_t resp)
{
    return x.a < resp || (x.a == resp && x.b == 0);
}

static int find_write(const struct sim_rec *r, uint64_t v, const uint8_t *d)
{
    for (size_t i = 0; i < r->nops; i++) {
        const struct sim_op *o = &r->ops[i];
        if (o->kind == SIM_OP_WRITE && o->v == v && memcmp(o->d, d, NR_DIGEST_BYTES) == 0)
            return (int)i;
    }
    return -1;
}

static int is_ok(const struct sim_op *o)
{
    return o->done && o->status == NR_OK;
}

/* Refused before the SE proposed anything (NR_ECONFLICT: version is not last+1,
 * NR_ENOTREADY: not joined yet): such a write never takes effect. */
static int refused(const struct sim_op *o)
{
    return o->done && (o->status == NR_ECONFLICT || o->status == NR_ENOTREADY);
}

static int violation(struct sim_world *w, int rec, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int violation(struct sim_world *w, int rec, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->why, sizeof(w->why), fmt, ap);
    va_end(ap);
    w->bad_rec = rec;
    return 1;
}

static int obs_grow(struct sim_rec *r, uint64_t v)
{
    if (v < r->obs_cap)
        return 0;
    size_t cap = r->obs_cap ? r->obs_cap : 64;
    while (cap <= v)
        cap *= 2;
    uint32_t *o = realloc(r->obs, cap * sizeof(*o));
    if (!o)
        return -1;
    memset(o + r->obs_cap, 0, (cap - r->obs_cap) * sizeof(*o));
    r->obs = o;
    r->obs_cap = cap;
    return 0;
}

static const struct sim_op *cmp_ops; /* qsort has no context argument in C11 */
static int by_version(const void *x, const void *y)
{
    const struct sim_op *a = &cmp_ops[*(const int *)x], *b = &cmp_ops[*(const int *)y];
    if (a->v != b->v)
        return a->v < b->v ? -1 : 1;
    return a->inv < b->inv ? -1 : (a->inv > b->inv);
}

int sim_check_record(struct sim_world *w, int rid)
{
    struct sim_rec *r = &w->rec[rid];

    /* S2: one digest per version among acks and reads; every read value was written. */
    if (r->obs_cap)
        memset(r->obs, 0,
               (r->max_obs + 1 < r->obs_cap ? r->max_obs + 1 : r->obs_cap) * sizeof(*r->obs));
    r->max_obs = 0;
    for (size_t i = 0; i < r->nops; i++) {
        const struct sim_op *o = &r->ops[i];
        if (!is_ok(o) || o->v == 0)
            continue;
        if (o->kind == SIM_OP_READ) {
            int wi = find_write(r, o->v, o->d);
            if (wi < 0)
                return violation(w, rid,
                                 "S3 violated (record r%d): read op %zu by ae%u returned v=%" PRIu64
                                 " with a digest that no AE ever wrote for that version",
                                 rid, i, o->ae, o->v);
            if (refused(&r->ops[wi]))
                return violation(w, rid,
                                 "S3 violated (record r%d): read op %zu by ae%u returned v=%" PRIu64
                                 " written by op %d, which the SE refused (%s)",
                                 rid, i, o->ae, o->v, wi, nr_errname(r->ops[wi].status));
        }
        if (obs_grow(r, o->v) != 0)
            return violation(w, rid, "checker: out of memory");
        uint32_t first = r->obs[o->v];
        if (first == 0) {
            r->obs[o->v] = (uint32_t)i + 1;
        } else if (memcmp(r->ops[first - 1].d, o->d, NR_DIGEST_BYTES) != 0) {
            const struct sim_op *p = &r->ops[first - 1];
            return violation(w, rid,
                             "S2 violated (fork, record r%d v=%" PRIu64 "): op %u (%s by ae%u "
                             "at %s) has digest %02x%02x.., op %zu (%s by ae%u at %s) has "
                             "digest %02x%02x..",
                             rid, o->v, first - 1, p->kind == SIM_OP_WRITE ? "write ack" : "read",
                             p->ae, w->inst[p->inst].label, p->d[0], p->d[1], i,
                             o->kind == SIM_OP_WRITE ? "write ack" : "read", o->ae,
                             w->inst[o->inst].label, o->d[0], o->d[1]);
        }
        if (o->v > r->max_obs)
            r->max_obs = o->v;
    }

    /* S1: a read that completed now sees every write acked before it was invoked. */
    for (size_t i = 0; i < r->nops; i++) {
        struct sim_op *o = &r->ops[i];
        if (o->kind != SIM_OP_READ || !o->done || o->checked)
            continue;
        o->checked = 1;
        if (o->status != NR_OK)
            continue;
        for (size_t j = 0; j < r->nops; j++) {
            const struct sim_op *wr = &r->ops[j];
            if (wr->kind != SIM_OP_WRITE || !is_ok(wr) || wr->resp > o->inv)
                continue;
            if (wr->v > o->v || (wr->v == o->v && memcmp(wr->d, o->d, NR_DIGEST_BYTES) != 0))
                return violation(w, rid,
                                 "S1 violated (rollback, record r%d): write op %zu (ae%u, "
                                 "v=%" PRIu64 ") was acked at h%" PRIu64 " by %s, but read op "
                                 "%zu (ae%u) invoked later at h%" PRIu64 " returned v=%" PRIu64
                                 " from %s",
                                 rid, j, wr->ae, wr->v, wr->resp, w->inst[wr->inst].label, i, o->ae,
                                 o->inv, o->v, w->inst[o->inst].label);
        }
    }

    /* S3: greedy earliest placement of linearization points over the version chain. */
    uint64_t vmax = r->max_obs;
    int *wop = malloc((size_t)(vmax + 1) * sizeof(int));
    int *reads = malloc((r->nops + 1) * sizeof(int));
    if (!wop || !reads) {
        free(wop);
        free(reads);
        return violation(w, rid, "checker: out of memory");
    }
    int ret = 0;
    for (uint64_t v = 1; v <= vmax; v++) {
        wop[v] = -1;
        uint32_t first = r->obs[v];
        if (first) {
            const struct sim_op *o = &r->ops[first - 1];
            wop[v] = o->kind == SIM_OP_WRITE ? (int)first - 1 : find_write(r, v, o->d);
        } else {
            /* unobserved version: any write of v may be the one; the earliest is best */
            for (size_t i = 0; i < r->nops; i++) {
                const struct sim_op *o = &r->ops[i];
                if (o->kind == SIM_OP_WRITE && o->v == v && !refused(o) &&
                    (wop[v] < 0 || o->inv < r->ops[wop[v]].inv))
                    wop[v] = (int)i;
            }
        }
        if (wop[v] < 0) {
            ret = violation(w, rid,
                            "S3 violated (record r%d): version %" PRIu64 " was committed but "
                            "no AE ever wrote version %" PRIu64,
                            rid, vmax, v);
            goto out;
        }
    }
    size_t nr = 0;
    for (size_t i = 0; i < r->nops; i++)
        if (r->ops[i].kind == SIM_OP_READ && is_ok(&r->ops[i]))
            reads[nr++] = (int)i;
    cmp_ops = r->ops;
    qsort(reads, nr, sizeof(int), by_version);

    struct pt last = {0, 0};
    int last_cause = -1;
    size_t ri = 0;
    for (uint64_t v = 0; v <= vmax; v++) {
        struct pt tw = {0, 0};
        if (v > 0) {
            const struct sim_op *o = &r->ops[wop[v]];
            tw = pt_max((struct pt){o->inv, 0}, (struct pt){last.a, last.b + 1});
            uint64_t ub = is_ok(o) ? o->resp : INF;
            if (!pt_before(tw, ub)) {
                ret = violation(w, rid,
                                "S3 violated (record r%d): write op %d (ae%u, v=%" PRIu64
                                ") was acked at h%" PRIu64 " but cannot take effect before "
                                "h%" PRIu64 ": op %d (%s of v=%" PRIu64 ") was invoked after "
                                "the ack",
                                rid, wop[v], o->ae, v, o->resp, tw.a, last_cause,
                                last_cause >= 0 && r->ops[last_cause].kind == SIM_OP_READ ? "read"
                                                                                          : "write",
                                last_cause >= 0 ? r->ops[last_cause].v : 0);
                goto out;
            }
            last = tw;
            last_cause = wop[v];
        }
        struct pt after_reads = last;
        int cause = last_cause;
        for (; ri < nr && r->ops[reads[ri]].v == v; ri++) {
            const struct sim_op *o = &r->ops[reads[ri]];
            struct pt p = pt_max((struct pt){o->inv, 0}, (struct pt){tw.a, tw.b + 1});
            if (!pt_before(p, o->resp)) {
                ret = violation(w, rid,
                                "S3 violated (record r%d): read op %d (ae%u, h%" PRIu64
                                "..h%" PRIu64 ") returned v=%" PRIu64 " but version %" PRIu64
                                " cannot take effect before h%" PRIu64 " (forced by op %d: a "
                                "write invoked after the read returned, or an older read "
                                "invoked after it)",
                                rid, reads[ri], o->ae, o->inv, o->resp, v, v, tw.a, last_cause);
                goto out;
            }
            if (pt_less(after_reads, p)) {
                after_reads = p;
                cause = reads[ri];
            }
        }
        last = after_reads;
        last_cause = cause;
    }
out:
    free(wop);
    free(reads);
    return ret;
}

void sim_dump_record(const struct sim_world *w, int rid)
{
    const struct sim_rec *r = &w->rec[rid];
    printf("--- history of record r%d (owner member %u), %zu ops ---\n", rid, r->owner, r->nops);
    size_t first = r->nops > 80 ? r->nops - 80 : 0;
    for (size_t i = first; i < r->nops; i++) {
        const struct sim_op *o = &r->ops[i];
        char resp[32];
        if (o->done)
            snprintf(resp, sizeof(resp), "h%" PRIu64, o->resp);
        else
            snprintf(resp, sizeof(resp), "open");
        printf("  op %-4zu ae%-2u %s v=%-4" PRIu64 " d=%02x%02x h%" PRIu64 "..%s %s at %s\n", i,
               o->ae, o->kind == SIM_OP_WRITE ? "W" : "R", o->v, o->d[0], o->d[1], o->inv, resp,
               o->done ? nr_errname(o->status) : "-", w->inst[o->inst].label);
    }
}
