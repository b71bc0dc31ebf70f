/* The simulated network and the event heap: every message delay, drop, duplicate and hold,
 * the links between instances, the channels (unicast routes or multicast), and the ring of
 * captured messages kept for replays. Everything random comes from w->rng. */
#include "net.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/wire.h"

#define LIVE_DELAY_MAX_MS 5u

/* ------------------------------------------------------------------------------------ */
/* event heap, ordered by (time, sequence)                                               */

static int ev_less(const struct sim_ev *a, const struct sim_ev *b)
{
    return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

void sim_ev_push(struct sim_world *w, uint64_t at, int kind, int a, uint64_t b, struct sim_msg *msg)
{
    if (w->nheap == w->capheap) {
        size_t cap = w->capheap ? w->capheap * 2 : 1024;
        struct sim_ev *h = realloc(w->heap, cap * sizeof(*h));
        if (!h) {
            fprintf(stderr, "narrator-sim: out of memory\n");
            abort();
        }
        w->heap = h;
        w->capheap = cap;
    }
    struct sim_ev ev = {.at = at, .seq = w->evseq++, .kind = kind, .a = a, .b = b, .msg = msg};
    size_t i = w->nheap++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!ev_less(&ev, &w->heap[p]))
            break;
        w->heap[i] = w->heap[p];
        i = p;
    }
    w->heap[i] = ev;
}

int sim_ev_pop(struct sim_world *w, struct sim_ev *out)
{
    if (w->nheap == 0)
        return 0;
    *out = w->heap[0];
    struct sim_ev last = w->heap[--w->nheap];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const struct sim_ev *best = &last;
        if (l < w->nheap && ev_less(&w->heap[l], best)) {
            m = l;
            best = &w->heap[l];
        }
        if (r < w->nheap && ev_less(&w->heap[r], best))
            m = r;
        if (m == i)
            break;
        w->heap[i] = w->heap[m];
        i = m;
    }
    if (w->nheap > 0)
        w->heap[i] = last;
    return 1;
}

/* ------------------------------------------------------------------------------------ */
/* network                                                                               */

struct sim_msg *sim_msg_new(struct sim_world *w, int from, int to, const uint8_t *b, size_t len)
{
    struct sim_msg *m = malloc(sizeof(*m) + len);
    if (!m) {
        fprintf(stderr, "narrator-sim: out of memory\n");
        abort();
    }
    m->next = NULL;
    m->from = from;
    m->to = to;
    m->seq = w->msgseq++;
    m->len = len;
    memcpy(m->bytes, b, len);
    return m;
}

int sim_msg_type(const struct sim_msg *m)
{
    return m->len > 1 ? m->bytes[1] : 0;
}

static uint64_t msg_delay(struct sim_world *w)
{
    if (w->phase == SIM_PH_LIVE || w->phase == SIM_PH_GENESIS)
        return sim_rng_range(&w->rng, 1, LIVE_DELAY_MAX_MS);
    if (w->phase == SIM_PH_SCRIPT)
        return 1;
    uint64_t d = sim_rng_range(&w->rng, w->sw.delay_min_ms, w->sw.delay_max_ms);
    if (sim_rng_ppm(&w->rng, w->sw.spike_ppm))
        d += sim_rng_range(&w->rng, 1, w->sw.spike_ms);
    return d;
}

static void net_send_to(struct sim_world *w, int from, int to, const uint8_t *b, size_t len)
{
    uint8_t mode = w->link[from][to];
    if (mode == SIM_LINK_CUT)
        return;
    struct sim_msg *m = sim_msg_new(w, from, to, b, len);
    if (mode == SIM_LINK_HOLD) {
        if (w->held_tail)
            w->held_tail->next = m;
        else
            w->held_head = m;
        w->held_tail = m;
        return;
    }
    /* the liveness phase keeps a little loss and duplication: "a network that eventually
     * delivers" (L1), so retransmission is part of what must converge */
    uint32_t drop = w->phase == SIM_PH_FAULTS ? w->sw.drop_ppm
                    : w->phase == SIM_PH_LIVE ? w->sw.drop_ppm / 4
                                              : 0;
    if (drop && sim_rng_ppm(&w->rng, drop)) {
        if (w->opt.verbose)
            sim_trace(w, "  drop %s %s->%s", sim_msg_name(sim_msg_type(m)), w->inst[from].label,
                      w->inst[to].label);
        free(m);
        return;
    }
    uint32_t dup = w->phase == SIM_PH_FAULTS ? w->sw.dup_ppm
                   : w->phase == SIM_PH_LIVE ? w->sw.dup_ppm / 4
                                             : 0;
    if (dup && sim_rng_ppm(&w->rng, dup)) {
        struct sim_msg *d = sim_msg_new(w, from, to, b, len);
        sim_ev_push(w, w->now + msg_delay(w), SIM_EV_DELIVER, to, 0, d);
    }
    sim_ev_push(w, w->now + msg_delay(w), SIM_EV_DELIVER, to, 0, m);
}

void sim_net_send(struct sim_world *w, int from, uint16_t to_member, const uint8_t *b, size_t len)
{
    int cand[SIM_MAX_INST];
    int nc = 0;
    for (int i = 0; i < w->ninst; i++) {
        struct sim_inst *t = &w->inst[i];
        if (i != from && t->alive && t->member == to_member && w->link[from][i] != SIM_LINK_CUT &&
            (w->inst[from].reach >> i & 1u) && (t->reach >> from & 1u))
            cand[nc++] = i;
    }
    if (w->opt.verbose)
        sim_trace(w, "  send %s %s->member %u (%d reachable instances)",
                  sim_msg_name(len > 1 ? b[1] : 0), w->inst[from].label, to_member, nc);
    if (nc == 0)
        return;
    if (w->sw.multicast || w->phase == SIM_PH_SCRIPT) {
        for (int k = 0; k < nc; k++)
            net_send_to(w, from, cand[k], b, len);
        return;
    }
    /* one channel per (instance, member): stays on the same instance while it lives */
    int r = w->route[from][to_member];
    int ok = 0;
    for (int k = 0; k < nc; k++)
        if (cand[k] == r)
            ok = 1;
    if (!ok) {
        r = cand[sim_rng_below(&w->rng, (uint64_t)nc)];
        w->route[from][to_member] = r;
    }
    net_send_to(w, from, r, b, len);
}

static void ring_keep(struct sim_world *w, struct sim_msg *m)
{
    unsigned i = w->ring_pos++ % SIM_RING;
    free(w->ring[i]);
    w->ring[i] = m;
}

void sim_net_deliver(struct sim_world *w, struct sim_msg *m)
{
    struct sim_inst *to = &w->inst[m->to];
    if (!to->alive) {
        free(m);
        return;
    }
    const struct sim_inst *from = &w->inst[m->from];
    if (from->n != to->n) {
        /* epochs of different memberships: the channel (src/chan) authenticates every peer
         * against its own epoch's membership, and the two never connect */
        free(m);
        return;
    }
    struct nr_peer_hdr h;
    struct nr_cur body;
    memset(&h, 0, sizeof(h));
    if (nr_peer_hdr_decode(&h, &body, m->bytes, m->len, to->n) != 0)
        memset(&h, 0, sizeof(h));
    sim_trace(w, "deliver %-11s %s->%s inc %" PRIx64 "->%" PRIx64, sim_msg_name(sim_msg_type(m)),
              from->label, to->label, h.sender_inc, h.dest_inc);
    /* the newest channel from a member wins: replies go back where requests came from */
    w->route[m->to][from->member] = m->from;
    int rc = nr_se_on_peer_msg(to->se, from->member, m->bytes, m->len, w->now);
    if (rc != 0 && w->opt.verbose)
        sim_trace(w, "  -> %s", nr_errname(rc));
    ring_keep(w, m);
}

void sim_set_link(struct sim_world *w, int a, int b, uint8_t mode)
{
    w->link[a][b] = mode;
    w->link[b][a] = mode;
}

void sim_set_all_links(struct sim_world *w, uint8_t mode)
{
    for (int a = 0; a < w->ninst; a++)
        for (int b = 0; b < w->ninst; b++)
            w->link[a][b] = mode;
    w->default_link = mode;
}

/* Deliver held messages from instance `from` to `to` (-1: any) of `type` (0: any) in the
 * order they were sent. Messages they cause are held or sent as their links say. */
int sim_release(struct sim_world *w, int from, int to, int type)
{
    int count = 0;
    struct sim_msg **pp = &w->held_head;
    struct sim_msg *prev = NULL;
    /* detach the matching ones first: delivering may append to the held list */
    struct sim_msg *batch = NULL, **bt = &batch;
    while (*pp) {
        struct sim_msg *m = *pp;
        if ((from < 0 || m->from == from) && (to < 0 || m->to == to) &&
            (type == 0 || sim_msg_type(m) == type)) {
            *pp = m->next;
            if (w->held_tail == m)
                w->held_tail = prev;
            m->next = NULL;
            *bt = m;
            bt = &m->next;
        } else {
            prev = m;
            pp = &m->next;
        }
    }
    while (batch) {
        struct sim_msg *m = batch;
        batch = m->next;
        m->next = NULL;
        w->step++;
        sim_net_deliver(w, m);
        sim_after_step(w);
        count++;
    }
    return count;
}

/* Drop held messages from `from` to `to` (-1: any): the network lost them. */
int sim_discard(struct sim_world *w, int from, int to)
{
    int count = 0;
    struct sim_msg **pp = &w->held_head;
    w->held_tail = NULL;
    while (*pp) {
        struct sim_msg *m = *pp;
        if ((from < 0 || m->from == from) && (to < 0 || m->to == to)) {
            *pp = m->next;
            free(m);
            count++;
        } else {
            w->held_tail = m;
            pp = &m->next;
        }
    }
    return count;
}
