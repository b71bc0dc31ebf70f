/* Join (docs/protocol.md §5): JOIN_REQ / JOIN_REPLY, admission, snapshots, the join quorum,
 * re-incarnation and total failure. */
#include "core/se_internal.h"

void se_send_join_req(struct nr_se *se, uint16_t to)
{
    if (se->now_ms < se->join_hold_until_ms)
        return; /* backing off after repeated re-incarnations (§5.5); the retry timer sends */
    uint8_t *p = se_hdr(se, NR_MSG_JOIN_REQ, 0, NR_JOIN_REQ_BODY_BYTES);
    p = nr_put_u8(p, se->network_existed ? 1 : 0);
    se->jp[to].last_req_ms = se->now_ms;
    se_send(se, to, p);
}

static void send_join_status(struct nr_se *se, uint16_t to, nr_inc_t dest_inc, uint8_t status)
{
    uint8_t *p = se_hdr(se, NR_MSG_JOIN_REPLY, dest_inc, NR_JOIN_REPLY_FIXED);
    p = nr_put_u8(p, status);
    p = nr_put_u8(p, se->network_existed ? 1 : 0);
    p = nr_put_u64(p, 0);
    p = nr_put_u32(p, 0);
    p = nr_put_u32(p, 1);
    p = nr_put_u32(p, 0);
    se_send(se, to, p);
}

/* §5.2: ACCEPT with all records, in chunks. One snapshot: all chunks are encoded now. */
static void send_join_accept(struct nr_se *se, uint16_t to, nr_inc_t dest_inc)
{
    uint32_t total = 0;
    for (uint32_t i = 0; i < se->n_slots; i++)
        if (se->slots[i].used && se->slots[i].version != 0)
            total++;
    uint32_t chunks = total == 0 ? 1u : (total + JOIN_CHUNK_RECS - 1u) / JOIN_CHUNK_RECS;
    uint32_t si = 0;
    uint64_t snapshot = ++se->next_snapshot;

    se->last_snapshot_ms[to] = se->now_ms;
    for (uint32_t c = 0; c < chunks; c++) {
        uint32_t count = total - c * JOIN_CHUNK_RECS;
        if (count > JOIN_CHUNK_RECS)
            count = JOIN_CHUNK_RECS;
        uint8_t *p =
            se_hdr(se, NR_MSG_JOIN_REPLY, dest_inc, NR_JOIN_REPLY_FIXED + count * NR_JOIN_REC_BYTES);
        p = nr_put_u8(p, NR_JOIN_ACCEPT);
        p = nr_put_u8(p, se->network_existed ? 1 : 0);
        p = nr_put_u64(p, snapshot);
        p = nr_put_u32(p, c);
        p = nr_put_u32(p, chunks);
        p = nr_put_u32(p, count);
        for (uint32_t k = 0; k < count; k++) {
            while (!se->slots[si].used || se->slots[si].version == 0)
                si++;
            const struct slot *s = &se->slots[si++];
            p = nr_put_u16(p, s->owner);
            p = nr_put_bytes(p, s->key, NR_KEY_BYTES);
            p = nr_put_u64(p, s->version);
            p = nr_put_bytes(p, s->digest, NR_DIGEST_BYTES);
            p = nr_put_u64(p, s->stamp);
        }
        se_send(se, to, p);
    }
}

/* A JOINING instance that learns of a newer incarnation of itself has served nothing: it
 * restarts its join with a higher epoch (§5.5). */
void se_reincarnate(struct nr_se *se)
{
    uint32_t epoch = nr_incarnation_epoch(se->seen[se->cfg.self]) + 1u;
    nr_inc_t old = se->inc;
    se->inc = nr_incarnation_make(epoch, (uint32_t)(old & 0xffffffffu));
    se->view[se->cfg.self] = se->seen[se->cfg.self] = se->inc;
    memset(se->jp, 0, sizeof(se->jp));
    memset(se->jvotes, 0, sizeof(se->jvotes));
    /* Two JOINING instances of one member that reach different peers supersede each other in
     * turn (simulator findings F3, F7). From the second re-incarnation on, back off
     * exponentially (up to 8 retry intervals), with a per-instance offset from the random
     * nonce so that clones fall out of step. Only delays: safety does not depend on timing. */
    se->reincarnations++;
    if (se->reincarnations >= 2) {
        uint32_t k = se->reincarnations - 2u;
        uint64_t base = se->cfg.join_retry_ms ? se->cfg.join_retry_ms : 1u;
        se->join_hold_until_ms = se->now_ms + (base << (k < 3u ? k : 3u)) + se->nonce % base;
    }
    se_log(se, NR_LOG_WARN, "join: a newer incarnation of this member exists; rejoining as %016llx",
          (unsigned long long)se->inc);
    for (uint16_t j = 0; j < se->cfg.n; j++)
        if (j != se->cfg.self)
            se_send_join_req(se, j);
}

static void join_check(struct nr_se *se)
{
    uint16_t n = se->cfg.n;
    int superseded = 0;

    if (se->state != NR_SE_JOINING)
        return;
    /* Quorum of f+1 distinct other members, filtered by each other's views (§9.3). */
    uint16_t count = se_count_votes(se, se->jvotes, 0, JOIN_FILTER, &superseded);
    if (superseded) {
        se_reincarnate(se);
        return;
    }
    if (count >= quorum(se)) {
        for (uint16_t j = 0; j < n; j++)
            if (se->jvotes[j].have && !se_vote_counts(se, se->jvotes, j, JOIN_FILTER))
                se->stats.join_replies_discarded++;
        for (uint16_t j = 0; j < n; j++) {
            if (j == se->cfg.self)
                continue;
            nr_inc_t v = 0;
            for (uint16_t k = 0; k < n; k++)
                if (k != se->cfg.self && se->jvotes[k].have)
                    v = max_inc(v, se->jvotes[k].view[j]);
            se->view[j] = v;
            se->seen[j] = max_inc(se->seen[j], v);
        }
        se->network_existed = 1;
        se_become_active(se, "joined");
        return;
    }
    se_genesis_check(se); /* §6 */
}

int se_on_join_req(struct nr_se *se, const struct nr_peer_hdr *h, struct nr_cur *b)
{
    uint8_t flags = 0;
    uint16_t j = h->sender;

    if (nr_cur_u8(b, &flags) || b->left)
        return NR_EMALFORMED;
    if (flags & 1u)
        se->network_existed = 1;
    if (se->state != NR_SE_ACTIVE) {
        send_join_status(se, j, h->sender_inc, NR_JOIN_JOINING);
        return 0;
    }
    if (h->sender_inc == se->view[j] && se->view[j] >= se->seen[j]) {
        /* A resent request: one fresh snapshot per retry interval at most (a replayed
         * request must not make us stream the whole table again and again). */
        if (se->now_ms >= se->last_snapshot_ms[j] + se->cfg.join_retry_ms / 2u ||
            se->last_snapshot_ms[j] == 0)
            send_join_accept(se, j, h->sender_inc);
        return 0;
    }
    if (h->sender_inc > se->view[j] && h->sender_inc >= se->seen[j]) {
        se->view[j] = se->seen[j] = h->sender_inc; /* admit (I1) */
        se->seen_nonce[j] = h->sender_nonce;
        /* A member restarted after the network formed: from now on nobody may take this
         * network for a blank one (genesis, §6.3). */
        se->network_existed = 1;
        se->stats.joins_admitted++;
        se_log(se, NR_LOG_INFO, "admitted member %u incarnation %016llx", j,
              (unsigned long long)h->sender_inc);
        send_join_accept(se, j, h->sender_inc);
        /* Rounds waiting on j's old incarnation will be resent to the new one. */
        return 0;
    }
    se->stats.msgs_dropped_stale_inc++;
    send_join_status(se, j, h->sender_inc, NR_JOIN_STALE);
    return 0;
}

int se_on_join_reply(struct nr_se *se, const struct nr_peer_hdr *h, struct nr_cur *b)
{
    uint8_t status = 0, flags = 0;
    uint32_t chunk = 0, chunks = 0, count = 0;
    uint64_t snapshot = 0;
    uint16_t j = h->sender;
    struct join_peer *jp = &se->jp[j];

    nr_cur_u8(b, &status);
    nr_cur_u8(b, &flags);
    nr_cur_u64(b, &snapshot);
    nr_cur_u32(b, &chunk);
    nr_cur_u32(b, &chunks);
    nr_cur_u32(b, &count);
    if (b->err)
        return b->err;
    if (chunks == 0 || chunk >= chunks || count > NR_MAX_JOIN_RECS ||
        (uint64_t)count * NR_JOIN_REC_BYTES != b->left || status > NR_JOIN_STALE)
        return NR_EMALFORMED;
    if (se->state != NR_SE_JOINING) {
        se->stats.msgs_dropped_unexpected++;
        return 0;
    }
    if (flags & 1u)
        se->network_existed = 1;
    if (status == NR_JOIN_STALE) {
        /* A peer admitted an equal or newer incarnation of us. */
        se->seen[se->cfg.self] = max_inc(se->seen[se->cfg.self], h->view[se->cfg.self]);
        jp->status = JP_STALE;
        se_reincarnate(se);
        return 0;
    }
    /* A complete reply from this replier incarnation is final: later snapshots, replays
     * and JOINING answers from it change nothing. */
    if (jp->status == JP_DONE && se->jvotes[j].inc == h->sender_inc) {
        se->stats.msgs_dropped_unexpected++;
        return 0;
    }
    if (status == NR_JOIN_JOINING) {
        jp->status = JP_JOINING;
        jp->was_active = flags & 1u;
        jp->joining_round = se->join_round;
        jp->joining_inc = h->sender_inc;
        jp->nonce = h->sender_nonce;
        se->jvotes[j].have = 0;
        join_check(se);
        return 0;
    }
    if (h->view[se->cfg.self] != se->inc) {
        se->stats.msgs_dropped_unexpected++;
        return 0;
    }
    /* ACCEPT: the replier is ACTIVE in some network (§6). Anchored, only the genesis on
     * chain is joined, so nothing counts before the anchor names it; unanchored, the first
     * ACCEPT of a blank joiner names its target, and replies of any other network were
     * already dropped at receipt (se_genesis_admits). */
    static const uint8_t zero_id[NR_GENESIS_ID_BYTES] = {0};
    if (memcmp(h->genesis, zero_id, NR_GENESIS_ID_BYTES) == 0 ||
        (se->cfg.anchored && !se->anchor_present)) {
        se->stats.msgs_dropped_unexpected++;
        return 0;
    }
    if (!se->has_genesis)
        se_genesis_target(se, h->genesis);
    if (chunk == 0 && (jp->status != JP_PARTIAL || snapshot != jp->snapshot)) {
        jp->was_active = flags & 1u;
        jp->status = JP_PARTIAL;
        jp->snapshot = snapshot;
        jp->next_chunk = 0;
        jp->chunks = chunks;
        jp->nonce = h->sender_nonce;
        se->jvotes[j].have = 0;
    }
    /* Chunks of one snapshot only, in order (a reply is one atomic snapshot, §9.2). */
    if (jp->status != JP_PARTIAL || snapshot != jp->snapshot || chunk != jp->next_chunk ||
        chunks != jp->chunks) {
        se->stats.msgs_dropped_unexpected++; /* out of order: the retry resends all */
        return 0;
    }
    for (uint32_t k = 0; k < count; k++) {
        uint16_t owner = 0;
        uint8_t key[NR_KEY_BYTES], digest[NR_DIGEST_BYTES];
        uint64_t version = 0, stamp = 0;
        nr_cur_u16(b, &owner);
        nr_cur_bytes(b, key, NR_KEY_BYTES);
        nr_cur_u64(b, &version);
        nr_cur_bytes(b, digest, NR_DIGEST_BYTES);
        nr_cur_u64(b, &stamp);
        if (owner >= se->cfg.n || stamp == 0 || version == 0)
            return NR_EMALFORMED;
        if (owner == se->cfg.self && stamp > se->inc) {
            se->seen[se->cfg.self] = max_inc(se->seen[se->cfg.self], stamp);
            se_reincarnate(se);
            return 0;
        }
#ifndef NR_MUTATE_SKIP_JOIN_MERGE
        uint32_t si = se_slot_find(se, owner, key, 1);
        if (si == NONE) {
            se_log(se, NR_LOG_ERROR, "join: record table full (%u records)", se->n_used);
            se_halt(se, NR_EFULL);
            return NR_EFULL;
        }
        se_store_rule(se, &se->slots[si], version, digest, stamp);
        if (owner == se->cfg.self)
            se->slots[si].own_state = OWN_UNCONFIRMED;
#endif
    }
    jp->next_chunk++;
    jp->last_chunk_ms = se->now_ms;
    if (jp->next_chunk == jp->chunks) {
        jp->status = JP_DONE;
        se->jvotes[j].have = 1;
        se->jvotes[j].inc = h->sender_inc;
        memcpy(se->jvotes[j].view, h->view, sizeof(h->view));
        join_check(se);
    }
    return 0;
}

/* §5.7: at least f+1 members (us included) have lost their memory, and a network existed.
 * Total failure is a reported state, not a halt: the instance keeps retrying, and the state
 * clears when a join quorum forms after all (a partition healed, a stale clone stopped). */
void se_total_failure_check(struct nr_se *se)
{
    uint16_t joining = 1; /* us */
    for (uint16_t j = 0; j < se->cfg.n; j++)
        /* A JOINING answer proves that *an* instance of j has no state; it says nothing of
         * member j if a newer incarnation of j is known (a stale clone answering). */
        if (j != se->cfg.self && se->jp[j].status == JP_JOINING &&
            se->jp[j].joining_round + 1u >= se->join_round &&
            se->jp[j].joining_inc >= se->seen[j])
            joining++;
    if (se->network_existed && joining >= quorum(se)) {
        if (++se->tf_strikes >= TOTAL_FAILURE_ROUNDS && !se->stats.total_failure) {
            se->stats.total_failure = 1;
            se_log(se, NR_LOG_ERROR,
                   "TOTAL FAILURE: at least f+1=%u members answer that they lost their memory; "
                   "no join quorum can form from host-held data. Serving nothing, retrying "
                   "(docs/operations.md, total failure)",
                   quorum(se));
        }
    } else {
        se->tf_strikes = 0;
        if (se->stats.total_failure) {
            se->stats.total_failure = 0;
            se_log(se, NR_LOG_WARN, "total failure no longer observed; still joining");
        }
    }
}
