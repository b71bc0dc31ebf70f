/* Join (docs/protocol.md §5): JOIN_REQ / JOIN_REPLY, admission, snapshots, the join quorum,
 * re-incarnation and total failure. */
#include "core/se_internal.h"

static uint8_t join_flags(const struct nr_se *se)
{
    return (uint8_t)((se->network_existed ? JF_HAS_STATE : 0u) |
                     (se->has_start ? JF_HAS_START : 0u));
}

void se_send_join_req(struct nr_se *se, uint16_t to)
{
    if (se->now_ms < se->join_hold_until_ms)
        return; /* backing off after repeated re-incarnations (§5.5); the retry timer sends */
    uint8_t *p = se_hdr(se, NR_MSG_JOIN_REQ, 0, NR_JOIN_REQ_BODY_BYTES);
    p = nr_put_u8(p, join_flags(se));
    se->jp[to].last_req_ms = se->now_ms;
    se_send(se, to, p);
}

/* FREEZE_REPLY bodies start with a u32 (the next epoch); JOIN_REPLY bodies do not. */
static uint8_t *snap_hdr(struct nr_se *se, uint8_t type, nr_inc_t dest_inc, uint32_t body,
                         uint32_t prefix)
{
    int pre = type == NR_MSG_FREEZE_REPLY;
    uint8_t *p = se_hdr(se, type, dest_inc, body + (pre ? 4u : 0u));
    return pre ? nr_put_u32(p, prefix) : p;
}

void se_send_join_status(struct nr_se *se, uint8_t type, uint16_t to, nr_inc_t dest_inc,
                         uint8_t status, uint32_t prefix)
{
    uint8_t *p = snap_hdr(se, type, dest_inc, NR_JOIN_REPLY_FIXED, prefix);
    p = nr_put_u8(p, status);
    p = nr_put_u8(p, join_flags(se));
    p = nr_put_u64(p, 0);
    p = nr_put_u32(p, 0);
    p = nr_put_u32(p, 1);
    p = nr_put_u32(p, 0);
    se_send(se, to, p);
}

/* §5.2 (and §10): all records, in chunks. One snapshot: all chunks are encoded now. */
void se_send_snapshot(struct nr_se *se, uint8_t type, uint16_t to, nr_inc_t dest_inc,
                      uint32_t prefix)
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
            snap_hdr(se, type, dest_inc, NR_JOIN_REPLY_FIXED + count * NR_JOIN_REC_BYTES, prefix);
        p = nr_put_u8(p, NR_JOIN_ACCEPT);
        p = nr_put_u8(p, join_flags(se));
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

int se_snap_head(struct nr_cur *b, struct snap_head *sh)
{
    memset(sh, 0, sizeof(*sh));
    nr_cur_u8(b, &sh->status);
    nr_cur_u8(b, &sh->flags);
    nr_cur_u64(b, &sh->snapshot);
    nr_cur_u32(b, &sh->chunk);
    nr_cur_u32(b, &sh->chunks);
    nr_cur_u32(b, &sh->count);
    if (b->err)
        return b->err;
    if (sh->chunks == 0 || sh->chunk >= sh->chunks || sh->count > NR_MAX_JOIN_RECS ||
        (uint64_t)sh->count * NR_JOIN_REC_BYTES != b->left || sh->status > NR_JOIN_FROZEN)
        return NR_EMALFORMED;
    return 0;
}

int se_merge_records(struct nr_se *se, struct nr_cur *b, uint32_t count, uint8_t own_state,
                     int *newer)
{
    *newer = 0;
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
            *newer = 1;
            return 0;
        }
#ifndef NR_MUTATE_SKIP_JOIN_MERGE
        uint32_t si = se_slot_find(se, owner, key, 1);
        if (si == NONE) {
            se_log(se, NR_LOG_ERROR, "merge: record table full (%u records)", se->n_used);
            se_halt(se, NR_EFULL);
            return NR_EFULL;
        }
        se_store_rule(se, &se->slots[si], version, digest, stamp);
        if (owner == se->cfg.self)
            se->slots[si].own_state = own_state;
#endif
    }
    return 0;
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
    if (flags & JF_HAS_STATE)
        se->network_existed = 1;
    if (se->state == NR_SE_FROZEN) {
        se_send_join_status(se, NR_MSG_JOIN_REPLY, j, h->sender_inc, NR_JOIN_FROZEN, 0);
        return 0;
    }
    if (se->state != NR_SE_ACTIVE) {
        se_send_join_status(se, NR_MSG_JOIN_REPLY, j, h->sender_inc, NR_JOIN_JOINING, 0);
        return 0;
    }
    if (h->sender_inc == se->view[j] && se->view[j] >= se->seen[j]) {
        /* A resent request: one fresh snapshot per retry interval at most (a replayed
         * request must not make us stream the whole table again and again). */
        if (se->now_ms >= se->last_snapshot_ms[j] + se->cfg.join_retry_ms / 2u ||
            se->last_snapshot_ms[j] == 0)
            se_send_snapshot(se, NR_MSG_JOIN_REPLY, j, h->sender_inc, 0);
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
        se_send_snapshot(se, NR_MSG_JOIN_REPLY, j, h->sender_inc, 0);
        /* Rounds waiting on j's old incarnation will be resent to the new one. */
        return 0;
    }
    se->stats.msgs_dropped_stale_inc++;
    se_send_join_status(se, NR_MSG_JOIN_REPLY, j, h->sender_inc, NR_JOIN_STALE, 0);
    return 0;
}

int se_on_join_reply(struct nr_se *se, const struct nr_peer_hdr *h, struct nr_cur *b)
{
    struct snap_head sh;
    uint16_t j = h->sender;
    struct join_peer *jp = &se->jp[j];
    int rc = se_snap_head(b, &sh);

    if (rc)
        return rc;
    uint8_t status = sh.status, flags = sh.flags;
    uint32_t chunk = sh.chunk, chunks = sh.chunks, count = sh.count;
    uint64_t snapshot = sh.snapshot;
    if (se->state != NR_SE_JOINING) {
        se->stats.msgs_dropped_unexpected++;
        return 0;
    }
    if (flags & JF_HAS_STATE)
        se->network_existed = 1;
    if (status == NR_JOIN_FROZEN) {
        /* The replier handed this epoch over: it admits nobody, and the epoch's state lives
         * on in the next one. Not a vote, and not a sign of lost memory either. */
        jp->status = JP_FROZEN;
        se->jvotes[j].have = 0;
        return 0;
    }
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
        jp->was_active = flags & JF_HAS_STATE;
        jp->has_start = (flags & JF_HAS_START) != 0;
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
        jp->was_active = flags & JF_HAS_STATE;
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
    int newer = 0;
    rc = se_merge_records(se, b, count, OWN_UNCONFIRMED, &newer);
    if (rc)
        return rc;
    if (newer) {
        se_reincarnate(se);
        return 0;
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
            se->jp[j].joining_round + 1u >= se->join_round && se->jp[j].joining_inc >= se->seen[j])
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
