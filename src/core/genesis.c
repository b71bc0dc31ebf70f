/* Genesis (docs/protocol.md §6): proposals, the anchor, and the receipt rule that keeps the
 * messages of one network apart from those of any other (the record's encoding and its id:
 * src/common/genesis.c).
 *
 * A genesis is never decided from inputs the host controls (sealed hints, or the answers of
 * instances it chose to start): in anchored mode only a record on chain, checked here, makes
 * an instance ACTIVE by genesis, and only if the record names this very instance (its
 * incarnation and its random nonce). Every other instance of the network got there through
 * a join quorum of that genesis. */
#include "core/se_internal.h"

#include <stdio.h>

static int is_zero(const uint8_t *p, size_t len)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < len; i++)
        acc |= p[i];
    return acc == 0;
}

static void short_id(char out[17], const uint8_t *id)
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 8; i++) {
        out[2 * i] = hex[id[i] >> 4];
        out[2 * i + 1] = hex[id[i] & 15];
    }
    out[16] = 0;
}

/* The network this instance will join from now on. A target is set once and never changes:
 * anchored, only the chain's record sets it (and a second, different record is refused);
 * unanchored, the sealed hint or the first ACCEPT does, and only while there is none. So the
 * records a joiner merges all come from replies of its one target. */
void se_genesis_target(struct nr_se *se, const uint8_t id[NR_GENESIS_ID_BYTES])
{
    char s[17];
    if (se->has_genesis) {
        assert(memcmp(se->genesis, id, NR_GENESIS_ID_BYTES) == 0);
        return;
    }
    se->has_genesis = 1;
    memcpy(se->genesis, id, NR_GENESIS_ID_BYTES);
    short_id(s, id);
    se_log(se, NR_LOG_INFO, "join: target genesis %s...", s);
    if (se->join_round > 0 && se->cfg.anchored) {
        /* started already: the requests sent without a target were dropped by the ACTIVE
         * members; ask again now, naming the genesis */
        for (uint16_t j = 0; j < se->cfg.n; j++)
            if (j != se->cfg.self)
                se_send_join_req(se, j);
    }
}

/* Receipt rule (§2 step 2): is a message with this header from our network? Messages of
 * another network are dropped before anything is learnt from them (a blank-clone network's
 * views must not make us refuse our own peers), counted and logged. */
int se_genesis_admits(struct nr_se *se, const struct nr_peer_hdr *h)
{
    int zero = is_zero(h->genesis, NR_GENESIS_ID_BYTES);
    int ok;

#ifdef NR_MUTATE_NO_GENESIS_CHECK
    return 1;
#endif
    if (h->epoch != se->cfg.epoch) {
        /* an instance of another epoch of this system (§10): the previous epoch's members
         * while a new one starts, or a stale instance of an old one */
        se->stats.msgs_dropped_epoch++;
        return 0;
    }
    if (se->state == NR_SE_ACTIVE || se->state == NR_SE_FROZEN) {
        /* Unanchored: a blank restart (no hint, no target) may ask to join. Anchored: every
         * joiner learnt the genesis from the chain first and names it. */
        ok = memcmp(h->genesis, se->genesis, NR_GENESIS_ID_BYTES) == 0 ||
             (zero && !se->cfg.anchored && h->type == NR_MSG_JOIN_REQ);
    } else if (se->has_genesis) {
        ok = zero || memcmp(h->genesis, se->genesis, NR_GENESIS_ID_BYTES) == 0;
    } else if (se->cfg.anchored) {
        /* no target yet, anchored: only the chain names one, so only other joiners' messages
         * (no genesis) concern us; an instance serving any network — the previous epoch's
         * too (§10) — is heard once the anchor named the genesis we join */
        ok = zero;
    } else {
        ok = 1; /* no target yet: the first ACCEPT names it (join.c) */
    }
    if (ok)
        return 1;
    se->stats.msgs_dropped_genesis++;
    uint64_t k = se->genesis_drops[h->sender]++;
    if ((k & (k + 1u)) == 0) { /* 1st, 2nd, 4th, 8th ... */
        char a[17], b[17];
        short_id(a, h->genesis);
        short_id(b, se->genesis);
        se_log(se, NR_LOG_WARN,
               "dropped %llu message(s) from an instance of member %u of another network "
               "(genesis %s..., ours %s...)",
               (unsigned long long)(k + 1u), h->sender, a, se->has_genesis ? b : "none yet");
    }
    return 0;
}

static void become_founder(struct nr_se *se, const struct nr_genesis *g, const char *how)
{
    char s[17], line[96];
    for (uint16_t j = 0; j < se->cfg.n; j++) {
        if (j == se->cfg.self)
            continue;
        se->view[j] = g->founders[j].inc;
        se->seen[j] = max_inc(se->seen[j], g->founders[j].inc);
    }
    se->has_genesis = 1;
    memcpy(se->genesis, g->id, NR_GENESIS_ID_BYTES);
    /* (has-state stays as it is: a founder that stored nothing and admitted nobody answers
     * without it, so the other founders can still complete an unanchored genesis, §6.3) */
    short_id(s, g->id);
    snprintf(line, sizeof(line), "genesis %s..., %s", s, how);
    se_become_active(se, line);
}

static int named_founder(const struct nr_se *se, const struct nr_genesis *g)
{
    const struct nr_founder *me = &g->founders[se->cfg.self];
    if (g->epoch > NR_CHAIN_EPOCH_FIRST && !se->has_start)
        return 0; /* a founder of a later epoch starts from its handover state (§10.4) */
    return me->inc == se->inc && me->nonce == se->nonce && se->seen[se->cfg.self] == se->inc;
}

/* The proposal this instance would make: itself and every other member's JOINING (or, in
 * unanchored mode, blank ACCEPT) answerer. 0 if some member has not answered blank. */
static int make_proposal(struct nr_se *se, struct nr_genesis *g, int ignore_state)
{
    memset(g, 0, sizeof(*g));
    memcpy(g->system_id, se->cfg.system_id, NR_SYSTEM_ID_BYTES);
    g->epoch = se->cfg.epoch;
    g->n = se->cfg.n;
    int later = se->cfg.epoch > NR_CHAIN_EPOCH_FIRST;
    if (later) {
        /* §10.4: every founder of a later epoch holds its start state */
        if (!se->has_start)
            return 0;
        memcpy(g->predecessor, se->start_pred, NR_GENESIS_ID_BYTES);
        memcpy(g->state_root, se->start_root, NR_STATE_ROOT_BYTES);
    }
    for (uint16_t j = 0; j < se->cfg.n; j++) {
        const struct join_peer *jp = &se->jp[j];
        if (j != se->cfg.self && later && !(jp->status == JP_JOINING && jp->has_start))
            return 0;
        if (j == se->cfg.self) {
            g->founders[j].inc = se->inc;
            g->founders[j].nonce = se->nonce;
        } else if (jp->status == JP_JOINING &&
                   (!jp->was_active || ignore_state || se->cfg.anchored)) {
            g->founders[j].inc = jp->joining_inc;
            g->founders[j].nonce = jp->nonce;
        } else if (!se->cfg.anchored && jp->status == JP_DONE && !jp->was_active) {
            g->founders[j].inc = se->jvotes[j].inc; /* went ACTIVE by genesis a moment ago */
            g->founders[j].nonce = jp->nonce;
        } else {
            return 0;
        }
    }
    nr_genesis_compute_id(g->id, g);
    return 1;
}

/* Called by join_check() while JOINING and no join quorum completed (§6). */
void se_genesis_check(struct nr_se *se)
{
    struct nr_genesis g;

    if (se->state != NR_SE_JOINING)
        return;
#ifdef NR_MUTATE_GENESIS_UNANCHORED
    /* mutation: a member that finds a genesis on chain runs another one anyway, decided
     * from what the instances it reaches answer (the resurrection attack) */
    if (se->cfg.anchored && se->anchor_present) {
        if (make_proposal(se, &g, 1))
            become_founder(se, &g, "NOT anchored (mutation)");
        return;
    }
#endif
    /* Anchored, the chain decides: with a record on chain we only ever join, and without one a
     * proposal decides nothing by itself (one genesis per epoch, founders named), so the
     * has-state hints — which the host controls — are not consulted (§6.2). */
    if (se->cfg.anchored && (!se->anchor_seen || se->anchor_present))
        return;
    if (!se->cfg.anchored && se->network_existed)
        return;
    if (!make_proposal(se, &g, 0))
        return;
    if (se->cfg.anchored) {
        if (se->has_proposed && memcmp(se->proposed, g.id, NR_GENESIS_ID_BYTES) == 0)
            return;
        char s[17];
        short_id(s, g.id);
        se->has_proposed = 1;
        memcpy(se->proposed, g.id, NR_GENESIS_ID_BYTES);
        se->stats.genesis_proposals++;
        se_log(se, NR_LOG_INFO,
               "genesis: every other member is blank; proposing genesis %s... to the anchor", s);
        if (se->io.genesis_proposed)
            se->io.genesis_proposed(se->io.ctx, &g);
        return;
    }
    /* Unanchored (development only): decided locally. An ACCEPT that named a target decides
     * it: a founder of that genesis computes the same id. */
    if (se->has_genesis && memcmp(se->genesis, g.id, NR_GENESIS_ID_BYTES) != 0)
        return;
    become_founder(se, &g, "UNANCHORED: no member holds state (development only)");
}

void nr_se_anchor(struct nr_se *se, const struct nr_genesis *g_in, uint64_t height, uint64_t now_ms)
{
    uint8_t id[NR_GENESIS_ID_BYTES];
    char s[17];

    se->now_ms = now_ms;
    if (!se->cfg.anchored || se->state == NR_SE_HALTED)
        return;
    if (!g_in) {
        if (se->anchor_present) {
            /* The chain cannot forget a record at a height we already accepted: evidence from
             * a lagging view; keep what we know. */
            se->stats.anchor_refused++;
            return;
        }
        se->anchor_seen = 1;
        if (se->state == NR_SE_JOINING)
            se_genesis_check(se);
        return;
    }
    struct nr_genesis g = *g_in;
    nr_genesis_compute_id(id, &g);
    if (g.n != se->cfg.n || g.epoch != se->cfg.epoch ||
        memcmp(g.system_id, se->cfg.system_id, NR_SYSTEM_ID_BYTES) != 0 ||
        memcmp(id, g.id, NR_GENESIS_ID_BYTES) != 0) {
        se->stats.anchor_refused++;
        se_log(se, NR_LOG_ERROR,
               "anchor: refused a genesis record that does not match this system (system id, "
               "epoch, n or genesis id)");
        return;
    }
    if (se->has_start && (memcmp(g.predecessor, se->start_pred, NR_GENESIS_ID_BYTES) != 0 ||
                          memcmp(g.state_root, se->start_root, NR_STATE_ROOT_BYTES) != 0)) {
        /* §10.4: the epoch's genesis names another predecessor or start state than the
         * certified handover this instance holds */
        se->stats.anchor_refused++;
        se_log(se, NR_LOG_ERROR,
               "anchor: refused a genesis record of epoch %u that names another predecessor or "
               "state root than the handover this state enclave holds",
               g.epoch);
        return;
    }
    if (se->anchor_present && memcmp(se->anchor.id, g.id, NR_GENESIS_ID_BYTES) != 0) {
        se->stats.anchor_refused++;
        se_log(se, NR_LOG_ERROR, "anchor: a second, different genesis record: ignored");
        return;
    }
    if (height > se->stats.anchor_height)
        se->stats.anchor_height = height;
    se->anchor_seen = 1;
    if (!se->anchor_present) {
        short_id(s, g.id);
        se_log(se, NR_LOG_INFO, "anchor: genesis %s... recorded on chain (block %llu)", s,
               (unsigned long long)height);
    }
    se->anchor_present = 1;
    se->anchor = g;
    se->network_existed = 1;
    if (se->state != NR_SE_JOINING)
        return;
    if (named_founder(se, &g)) {
        become_founder(se, &g, "anchored on chain");
        return;
    }
    const struct nr_founder *me = &g.founders[se->cfg.self];
    if (me->nonce == se->nonce && !se->founder_warned++)
        se_log(se, NR_LOG_WARN,
               "anchor: the genesis names this instance (nonce) as incarnation %016llx, but it is "
               "%016llx and knows of %016llx%s: it joins instead",
               (unsigned long long)me->inc, (unsigned long long)se->inc,
               (unsigned long long)se->seen[se->cfg.self],
               se->has_start || g.epoch <= NR_CHAIN_EPOCH_FIRST ? "" : " (no start state)");
    se_genesis_target(se, g.id);
}

int nr_se_wants_anchor(const struct nr_se *se)
{
    return se->cfg.anchored && se->state == NR_SE_JOINING;
}

int nr_se_predecessor(const struct nr_se *se, uint8_t out[NR_GENESIS_ID_BYTES])
{
    if (se->cfg.epoch <= NR_CHAIN_EPOCH_FIRST)
        return NR_ENOTREADY;
    if (se->anchor_present) {
        memcpy(out, se->anchor.predecessor, NR_GENESIS_ID_BYTES);
        return NR_OK;
    }
    if (se->has_start) {
        memcpy(out, se->start_pred, NR_GENESIS_ID_BYTES);
        return NR_OK;
    }
    return NR_ENOTREADY;
}

int nr_se_genesis_id(const struct nr_se *se, uint8_t out[NR_GENESIS_ID_BYTES])
{
    if (!se->has_genesis)
        return NR_ENOTREADY;
    memcpy(out, se->genesis, NR_GENESIS_ID_BYTES);
    return NR_OK;
}
