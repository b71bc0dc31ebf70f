/* Epochs (docs/protocol.md §10): the handover round that ends an epoch, and the start state
 * an epoch >= 2 begins from.
 *
 * Handover. A collector (nr_se_handover) freezes itself and sends FREEZE to every peer. An
 * ACTIVE member that accepts the collector freezes: from then on it serves no AE, stores and
 * acknowledges no PREPARE and admits no joiner; it answers with a snapshot of all its records
 * (FREEZE_REPLY, chunked like a join ACCEPT). A frozen member answers every collector of its
 * genesis (its table no longer changes, except by the merges of its own collection). The
 * collector merges every snapshot (rule STORE), counts f+1 members through the view filters
 * (rule QUORUM, own vote included, halting if a vote shows it superseded), sorts its table,
 * computes the state root and asks every member to sign (epoch, genesis, next epoch, root,
 * count): a member signs only once frozen (a SIGN_REQ freezes an ACTIVE member as FREEZE
 * does); with f+1 signatures of distinct members it reports the certified handover.
 *
 * Start state. An instance of epoch >= 2 loads the certified state before it starts; only
 * such an instance may be named a founder of the epoch's genesis, whose id names the
 * predecessor and the root (common/genesis.h). */
#include "core/se_internal.h"

static const uint8_t zero_id[NR_GENESIS_ID_BYTES];

static int slot_less(const struct slot *a, const struct slot *b)
{
    if (a->owner != b->owner)
        return a->owner < b->owner;
    return memcmp(a->key, b->key, NR_KEY_BYTES) < 0;
}

/* Heap sort of slot indices (no allocation, no recursion). */
static void sift(const struct slot *sl, uint32_t *a, uint32_t i, uint32_t n)
{
    for (;;) {
        uint32_t c = 2u * i + 1u;
        if (c >= n)
            return;
        if (c + 1u < n && slot_less(&sl[a[c]], &sl[a[c + 1u]]))
            c++;
        if (!slot_less(&sl[a[i]], &sl[a[c]]))
            return;
        uint32_t t = a[i];
        a[i] = a[c];
        a[c] = t;
        i = c;
    }
}

/* The state root of the table (records with version != 0, §10.1); returns their count. */
static uint64_t table_root(struct nr_se *se, uint8_t root[NR_STATE_ROOT_BYTES])
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < se->n_slots; i++)
        if (se->slots[i].used && se->slots[i].version != 0)
            se->order[n++] = i;
    for (uint32_t i = n / 2u; i-- > 0;)
        sift(se->slots, se->order, i, n);
    for (uint32_t end = n; end > 1u; end--) {
        uint32_t t = se->order[0];
        se->order[0] = se->order[end - 1u];
        se->order[end - 1u] = t;
        sift(se->slots, se->order, 0, end - 1u);
    }
    struct nr_state_root r;
    nr_state_root_init(&r, n);
    for (uint32_t k = 0; k < n; k++) {
        const struct slot *s = &se->slots[se->order[k]];
        nr_state_root_add(&r, s->owner, s->key, s->version, s->digest);
    }
    nr_state_root_final(&r, root);
    return n;
}

/* Become FROZEN for next_epoch: every pending AE request fails with NR_EEPOCH (the AE retries
 * at the next epoch, where its record holds whatever committed here), every round in flight
 * is abandoned, and no later message changes the table except this instance's own
 * collection merges. */
void se_freeze(struct nr_se *se, uint32_t next_epoch)
{
    if (se->state != NR_SE_ACTIVE)
        return;
    se->state = NR_SE_FROZEN;
    se->frozen_for = next_epoch;
    se->stats.frozen = 1;
    for (uint32_t i = 0; i < se->n_ops; i++) {
        if (se->ops[i].in_use) {
            se_reply(se, &se->ops[i], NR_EEPOCH, 0, NULL);
            se->ops[i].client = 0;
            se->ops[i].in_use = 0;
        }
    }
    for (uint32_t i = 0; i < se->cfg.max_inflight; i++)
        se->prep[i].in_use = se->fetch[i].in_use = 0;
    se->n_dacks = 0;
    se->ready_w.head = se->ready_w.tail = NONE;
    se->ready_w.len = 0;
    se->ready_r.head = se->ready_r.tail = NONE;
    se->ready_r.len = 0;
    se_log(se, NR_LOG_WARN,
           "FROZEN: epoch %u handed over to epoch %u; serving nothing (AE requests: epoch change)",
           se->cfg.epoch, next_epoch);
}

static void send_freeze(struct nr_se *se, uint16_t to)
{
    uint8_t *p = se_hdr(se, NR_MSG_FREEZE, 0, NR_FREEZE_BODY_BYTES);
    p = nr_put_u32(p, se->ho.next_epoch);
    se->ho.sent_ms[to] = se->now_ms;
    se_send(se, to, p);
}

static void send_sign_req(struct nr_se *se, uint16_t to)
{
    uint8_t *p = se_hdr(se, NR_MSG_SIGN_REQ, 0, NR_SIGN_REQ_BODY_BYTES);
    p = nr_put_u32(p, se->ho.next_epoch);
    p = nr_put_bytes(p, se->ho.cert.root, NR_STATE_ROOT_BYTES);
    p = nr_put_u64(p, se->ho.cert.count);
    se->ho.sent_ms[to] = se->now_ms;
    se_send(se, to, p);
}

static int sign_root(struct nr_se *se, uint32_t next_epoch, const uint8_t root[NR_STATE_ROOT_BYTES],
                     uint64_t count, uint8_t sig[NR_SIG_BYTES])
{
    uint8_t msg[NR_HANDOVER_MSG_BYTES];
    if (!se->io.sign || !se->has_genesis)
        return -1;
    nr_handover_msg(msg, se->cfg.system_id, se->cfg.epoch, se->genesis, next_epoch, root, count);
    return se->io.sign(se->io.ctx, msg, sizeof msg, sig);
}

static int has_sig(const struct nr_handover *c, uint16_t member)
{
    for (uint16_t k = 0; k < c->nsigs; k++)
        if (c->sigs[k].member == member)
            return 1;
    return 0;
}

static void add_sig(struct nr_se *se, uint16_t member, nr_inc_t inc, const uint8_t *sig)
{
    struct nr_handover *c = &se->ho.cert;
    if (has_sig(c, member) || c->nsigs >= NR_MAX_MEMBERS)
        return;
    c->sigs[c->nsigs].member = member;
    c->sigs[c->nsigs].inc = inc;
    memcpy(c->sigs[c->nsigs].sig, sig, NR_SIG_BYTES);
    c->nsigs++;
    if (se->ho.phase == HO_SIGN && c->nsigs >= quorum(se)) {
        se->ho.phase = HO_DONE;
        se->stats.handovers_completed++;
        se_log(se, NR_LOG_INFO, "handover to epoch %u complete: %llu records, %u signatures",
               se->ho.next_epoch, (unsigned long long)c->count, c->nsigs);
        if (se->io.handover_ready)
            se->io.handover_ready(se->io.ctx, c);
    }
}

/* Phase 1 -> 2: f+1 snapshots counted through the view filters (§10.2). */
static void collect_check(struct nr_se *se)
{
    int superseded = 0;
    if (se->ho.phase != HO_COLLECT)
        return;
    uint16_t count = se_count_votes(se, se->ho.votes, 1, JOIN_FILTER, &superseded);
    if (superseded) {
        se_halt(se, NR_ESUPERSEDED);
        return;
    }
#ifdef NR_MUTATE_HANDOVER_F
    if (count < se->cfg.f) /* mutation: the state of f members is handed over */
#else
    if (count < quorum(se))
#endif
        return;
    memset(se->ho.counted, 0, sizeof(se->ho.counted));
    for (uint16_t j = 0; j < se->cfg.n; j++)
        se->ho.counted[j] = (uint8_t)se_vote_counts(se, se->ho.votes, j, JOIN_FILTER);
    struct nr_handover *c = &se->ho.cert;
    memset(c, 0, sizeof(*c));
    memcpy(c->system_id, se->cfg.system_id, NR_SYSTEM_ID_BYTES);
    c->epoch = se->cfg.epoch;
    memcpy(c->genesis, se->genesis, NR_GENESIS_ID_BYTES);
    c->next_epoch = se->ho.next_epoch;
    c->count = table_root(se, c->root);
    se->ho.phase = HO_SIGN;
    se_log(se, NR_LOG_INFO, "handover to epoch %u: state of %llu records collected; signing",
           se->ho.next_epoch, (unsigned long long)c->count);
    uint8_t sig[NR_SIG_BYTES];
    if (sign_root(se, c->next_epoch, c->root, c->count, sig) == 0)
        add_sig(se, se->cfg.self, se->inc, sig);
    /* Every frozen member may sign (not only the counted ones: a counted member may die
     * before it signs). The root's completeness rests on the counted snapshots; a signature
     * says that its member ended this epoch and vouches for the collector's root. */
    for (uint16_t j = 0; j < se->cfg.n; j++)
        if (j != se->cfg.self)
            send_sign_req(se, j);
}

int nr_se_handover(struct nr_se *se, uint32_t next_epoch, uint64_t now_ms)
{
    se->now_ms = now_ms;
    if (next_epoch != se->cfg.epoch + 1u)
        return NR_EINVAL;
    /* an ACTIVE instance, or a FROZEN one that collects nothing yet (the collector that froze
     * it died: any frozen member may take over, §10.2) */
    if (se->ho.phase != HO_NONE ||
        !(se->state == NR_SE_ACTIVE || (se->state == NR_SE_FROZEN && se->frozen_for == next_epoch)))
        return NR_ENOTREADY;
    se_freeze(se, next_epoch);
    memset(&se->ho, 0, sizeof(se->ho));
    se->ho.phase = HO_COLLECT;
    se->ho.next_epoch = next_epoch;
    for (uint16_t j = 0; j < se->cfg.n; j++)
        if (j != se->cfg.self)
            send_freeze(se, j);
    collect_check(se); /* n = 1 */
    return NR_OK;
}

int nr_se_handover_result(const struct nr_se *se, struct nr_handover *out)
{
    if (se->ho.phase != HO_DONE)
        return NR_ENOTREADY;
    *out = se->ho.cert;
    return NR_OK;
}

void se_handover_tick(struct nr_se *se)
{
    if (se->state != NR_SE_FROZEN)
        return;
    for (uint16_t j = 0; j < se->cfg.n; j++) {
        if (j == se->cfg.self || se->now_ms < se->ho.sent_ms[j] + se->cfg.retransmit_ms)
            continue;
        if (se->ho.phase == HO_COLLECT && !se_vote_counts(se, se->ho.votes, j, JOIN_FILTER) &&
            (se->ho.hp[j].status != JP_PARTIAL ||
             se->now_ms >= se->ho.hp[j].last_chunk_ms + se->cfg.retransmit_ms))
            send_freeze(se, j);
        else if (se->ho.phase == HO_SIGN && !has_sig(&se->ho.cert, j))
            send_sign_req(se, j);
    }
}

/* A peer asks us to freeze and hand over our records (§10.2). */
int se_on_freeze(struct nr_se *se, const struct nr_peer_hdr *h, struct nr_cur *b)
{
    uint32_t next = 0;
    uint16_t j = h->sender;
    if (nr_cur_u32(b, &next) || b->left)
        return NR_EMALFORMED;
    if (next != se->cfg.epoch + 1u)
        return NR_EMALFORMED;
    if (se->state == NR_SE_JOINING) {
        se_send_join_status(se, NR_MSG_FREEZE_REPLY, j, h->sender_inc, NR_JOIN_JOINING, next);
        return 0;
    }
    if (se->state == NR_SE_ACTIVE) {
        if (!se_accepts(se, j, h->sender_inc)) {
            /* not an incarnation of j we accept: it may not end our epoch */
            se->stats.msgs_dropped_stale_inc++;
            return 0;
        }
#ifdef NR_MUTATE_NO_FREEZE
        /* mutation: hand the records over but keep serving (commits after the snapshot) */
        se_send_snapshot(se, NR_MSG_FREEZE_REPLY, j, h->sender_inc, next);
        return 0;
#endif
        se_freeze(se, next);
    }
    if (se->state != NR_SE_FROZEN || se->frozen_for != next)
        return 0;
    if (se->now_ms >= se->last_snapshot_ms[j] + se->cfg.retransmit_ms / 2u ||
        se->last_snapshot_ms[j] == 0)
        se_send_snapshot(se, NR_MSG_FREEZE_REPLY, j, h->sender_inc, next);
    return 0;
}

int se_on_freeze_reply(struct nr_se *se, const struct nr_peer_hdr *h, struct nr_cur *b)
{
    uint32_t next = 0;
    struct snap_head sh;
    uint16_t j = h->sender;
    struct join_peer *hp = &se->ho.hp[j];
    int rc, newer = 0;

    if (nr_cur_u32(b, &next))
        return NR_EMALFORMED;
    if ((rc = se_snap_head(b, &sh)) != 0)
        return rc;
    if (se->state != NR_SE_FROZEN || se->ho.phase != HO_COLLECT || next != se->ho.next_epoch ||
        sh.status != NR_JOIN_ACCEPT) {
        se->stats.msgs_dropped_unexpected++;
        return 0;
    }
    if (hp->status == JP_DONE && se->ho.votes[j].inc == h->sender_inc) {
        se->stats.msgs_dropped_unexpected++;
        return 0;
    }
    if (sh.chunk == 0 && (hp->status != JP_PARTIAL || sh.snapshot != hp->snapshot)) {
        hp->status = JP_PARTIAL;
        hp->snapshot = sh.snapshot;
        hp->next_chunk = 0;
        hp->chunks = sh.chunks;
        se->ho.votes[j].have = 0;
    }
    if (hp->status != JP_PARTIAL || sh.snapshot != hp->snapshot || sh.chunk != hp->next_chunk ||
        sh.chunks != hp->chunks) {
        se->stats.msgs_dropped_unexpected++;
        return 0;
    }
    rc = se_merge_records(se, b, sh.count, OWN_COMMITTED, &newer);
    if (rc)
        return rc;
    if (newer) {
        se_halt(se, NR_ESUPERSEDED); /* a newer incarnation of us wrote: we are superseded */
        return 0;
    }
    hp->next_chunk++;
    hp->last_chunk_ms = se->now_ms;
    if (hp->next_chunk == hp->chunks) {
        hp->status = JP_DONE;
        se->ho.votes[j].have = 1;
        se->ho.votes[j].inc = h->sender_inc;
        memcpy(se->ho.votes[j].view, h->view, sizeof(h->view));
        collect_check(se);
    }
    return 0;
}

int se_on_sign_req(struct nr_se *se, const struct nr_peer_hdr *h, struct nr_cur *b)
{
    uint32_t next = 0;
    uint64_t count = 0;
    uint8_t root[NR_STATE_ROOT_BYTES], sig[NR_SIG_BYTES];

    nr_cur_u32(b, &next);
    nr_cur_bytes(b, root, NR_STATE_ROOT_BYTES);
    nr_cur_u64(b, &count);
    if (b->err || b->left)
        return NR_EMALFORMED;
    /* Only a frozen member signs: its signature says that it ended this epoch (it commits
     * nothing here any more). An ACTIVE member that accepts the collector freezes first. */
    if (next != se->cfg.epoch + 1u)
        return NR_EMALFORMED;
    if (se->state == NR_SE_ACTIVE && se_accepts(se, h->sender, h->sender_inc))
        se_freeze(se, next);
    if (se->state != NR_SE_FROZEN || se->frozen_for != next) {
        se->stats.msgs_dropped_unexpected++;
        return 0;
    }
    if (sign_root(se, next, root, count, sig) != 0)
        return 0;
    uint8_t *p = se_hdr(se, NR_MSG_SIGN_REPLY, h->sender_inc, NR_SIGN_REPLY_BODY_BYTES);
    p = nr_put_u32(p, next);
    p = nr_put_bytes(p, root, NR_STATE_ROOT_BYTES);
    p = nr_put_u64(p, count);
    p = nr_put_bytes(p, sig, NR_SIG_BYTES);
    se_send(se, h->sender, p);
    return 0;
}

int se_on_sign_reply(struct nr_se *se, const struct nr_peer_hdr *h, struct nr_cur *b)
{
    uint32_t next = 0;
    uint64_t count = 0;
    uint8_t root[NR_STATE_ROOT_BYTES], sig[NR_SIG_BYTES];
    uint16_t j = h->sender;

    nr_cur_u32(b, &next);
    nr_cur_bytes(b, root, NR_STATE_ROOT_BYTES);
    nr_cur_u64(b, &count);
    nr_cur_bytes(b, sig, NR_SIG_BYTES);
    if (b->err || b->left)
        return NR_EMALFORMED;
    if (se->state != NR_SE_FROZEN || se->ho.phase != HO_SIGN || next != se->ho.next_epoch ||
        count != se->ho.cert.count || memcmp(root, se->ho.cert.root, NR_STATE_ROOT_BYTES) != 0) {
        se->stats.msgs_dropped_unexpected++;
        return 0;
    }
    add_sig(se, j, h->sender_inc, sig);
    return 0;
}

/* ---- start state of an epoch >= 2 ---- */

static int rec_less(const struct nr_record *a, const struct nr_record *b)
{
    if (a->owner != b->owner)
        return a->owner < b->owner;
    return memcmp(a->key, b->key, NR_KEY_BYTES) < 0;
}

int nr_se_load_start(struct nr_se *se, const uint8_t predecessor[NR_GENESIS_ID_BYTES],
                     const uint8_t root[NR_STATE_ROOT_BYTES], const uint16_t *owner_map,
                     uint16_t old_n, const struct nr_record *recs, size_t count)
{
    uint8_t got[NR_STATE_ROOT_BYTES];
    struct nr_state_root r;

    if (se->cfg.epoch <= NR_CHAIN_EPOCH_FIRST || se->join_round != 0 || se->has_start ||
        se->n_used != 0 || old_n == 0 || old_n > NR_MAX_MEMBERS || !owner_map ||
        memcmp(predecessor, zero_id, NR_GENESIS_ID_BYTES) == 0)
        return NR_EINVAL;
    for (uint16_t i = 0; i < old_n; i++) {
        if (owner_map[i] == NR_OWNER_GONE)
            continue;
        if (owner_map[i] >= se->cfg.n)
            return NR_EINVAL;
        for (uint16_t k = 0; k < i; k++)
            if (owner_map[k] == owner_map[i])
                return NR_EINVAL; /* two old members cannot become one */
    }
    nr_state_root_init(&r, count);
    for (size_t k = 0; k < count; k++) {
        const struct nr_record *x = &recs[k];
        if (x->owner >= old_n || x->version == 0 || (k > 0 && !rec_less(&recs[k - 1], x)))
            return NR_EHANDOVER;
        nr_state_root_add(&r, x->owner, x->key, x->version, x->digest);
    }
    nr_state_root_final(&r, got);
    if (memcmp(got, root, NR_STATE_ROOT_BYTES) != 0)
        return NR_EHANDOVER;
    for (size_t k = 0; k < count; k++) {
        uint16_t owner = owner_map[recs[k].owner];
        if (owner == NR_OWNER_GONE) {
            se->stats.start_dropped++;
            continue;
        }
        uint32_t si = se_slot_find(se, owner, recs[k].key, 1);
        if (si == NONE) {
            /* a partial load is no start state: the instance can still join */
            for (uint32_t i = 0; i < se->n_slots; i++)
                se->slots[i].used = 0;
            se->n_used = 0;
            se->stats.start_records = se->stats.start_dropped = 0;
            return NR_EFULL;
        }
        struct slot *s = &se->slots[si];
#ifdef NR_MUTATE_START_EMPTY
        continue; /* mutation: the new epoch starts without the handed-over state */
#endif
        s->version = recs[k].version;
        memcpy(s->digest, recs[k].digest, NR_DIGEST_BYTES);
        s->stamp = NR_STAMP_START;
        s->own_state = OWN_COMMITTED;
        se->stats.start_records++;
    }
    se->has_start = 1;
    memcpy(se->start_pred, predecessor, NR_GENESIS_ID_BYTES);
    memcpy(se->start_root, root, NR_STATE_ROOT_BYTES);
    se_log(se, NR_LOG_INFO, "epoch %u: start state loaded (%llu records, %llu of departed members)",
           se->cfg.epoch, (unsigned long long)se->stats.start_records,
           (unsigned long long)se->stats.start_dropped);
    return NR_OK;
}
