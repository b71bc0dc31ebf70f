/* The state-enclave protocol core: lifecycle, receipt and dispatch of peer messages (§2),
 * timers and introspection. The rules live in the files named in se_internal.h; see
 * docs/protocol.md for the protocol and its safety argument. */
#include "core/se_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void se_log(struct nr_se *se, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void se_log(struct nr_se *se, int level, const char *fmt, ...)
{
    char line[256];
    va_list ap;

    if (!se->io.log)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    se->io.log(se->io.ctx, level, line);
}

/* Learn that incarnation `inc` of member j exists (§2.3). `nonce` is the instance's random
 * nonce when the message came from that instance itself (0 when learned from a view). Two
 * instances with one incarnation but different nonces are both refused from then on: their
 * incarnation is poisoned (seen[j] moves past it), so each learns it is superseded. */
void se_learn(struct nr_se *se, uint16_t j, nr_inc_t inc, uint64_t nonce)
{
    if (inc > se->seen[j]) {
        se->seen[j] = inc;
        se->seen_nonce[j] = nonce;
        return;
    }
    if (inc != se->seen[j] || nonce == 0 || j == se->cfg.self)
        return;
    if (se->seen_nonce[j] == 0) {
        se->seen_nonce[j] = nonce;
    } else if (se->seen_nonce[j] != nonce) {
        se->seen[j] = inc + 1u; /* incarnations are odd: no instance has inc + 1 */
        se->seen_nonce[j] = 0;
        se->stats.incarnation_collisions++;
        se_log(se, NR_LOG_ERROR,
               "CLONE DETECTED: two instances of member %u share incarnation %016llx; both "
               "refused",
               j, (unsigned long long)inc);
    }
}

void nr_se_config_defaults(struct nr_se_config *cfg)
{
    if (!cfg->max_records)
        cfg->max_records = 1u << 16;
    if (!cfg->max_batch)
        cfg->max_batch = 1024;
    if (!cfg->max_inflight)
        cfg->max_inflight = 16;
    if (!cfg->retransmit_ms)
        cfg->retransmit_ms = 200;
    if (!cfg->join_retry_ms)
        cfg->join_retry_ms = 500;
}

static void known_view(const struct nr_se *se, nr_inc_t out[NR_MAX_MEMBERS])
{
    for (uint16_t j = 0; j < se->cfg.n; j++)
        out[j] = max_inc(se->view[j], se->seen[j]);
}

uint8_t *se_hdr(struct nr_se *se, uint8_t type, nr_inc_t dest_inc, uint32_t body_len)
{
    struct nr_peer_hdr h;
    memset(&h, 0, sizeof(h));
    h.type = type;
    h.sender = se->cfg.self;
    h.body_len = body_len;
    h.sender_inc = se->inc;
    h.sender_nonce = se->nonce;
    h.dest_inc = dest_inc;
    if (se->has_genesis)
        memcpy(h.genesis, se->genesis, NR_GENESIS_ID_BYTES);
    h.epoch = se->cfg.epoch;
    known_view(se, h.view);
    return nr_peer_hdr_put(se->buf, se->cfg.n, &h);
}

void se_send(struct nr_se *se, uint16_t to, const uint8_t *end)
{
    if (se->io.send_peer)
        se->io.send_peer(se->io.ctx, to, se->buf, (size_t)(end - se->buf));
}

static void fail_all_ops(struct nr_se *se, int status)
{
    for (uint32_t i = 0; i < se->n_ops; i++) {
        if (se->ops[i].in_use) {
            se_reply(se, &se->ops[i], status, 0, NULL);
            se->ops[i].client = 0;
        }
    }
}

void se_halt(struct nr_se *se, int reason)
{
    if (se->state == NR_SE_HALTED)
        return;
    se->state = NR_SE_HALTED;
    if (reason == NR_ESUPERSEDED) {
        se->stats.superseded = 1;
        se_log(se, NR_LOG_ERROR,
               "HALT: this instance (incarnation %016llx) was superseded by incarnation %016llx",
               (unsigned long long)se->inc, (unsigned long long)se->seen[se->cfg.self]);
    } else if (reason == NR_ETOTALFAILURE) {
        se->stats.total_failure = 1;
        se_log(se, NR_LOG_ERROR,
               "HALT: TOTAL FAILURE: at least f+1=%u members lost their memory; the network "
               "cannot recover safely from host-held data",
               quorum(se));
    } else {
        se_log(se, NR_LOG_ERROR, "HALT: %s", nr_strerror(reason));
    }
    fail_all_ops(se, reason == NR_ESUPERSEDED ? NR_ESUPERSEDED : NR_EHALTED);
    if (se->io.halted)
        se->io.halted(se->io.ctx, reason);
}

int nr_se_create(struct nr_se **out, const struct nr_se_config *cfg_in, const struct nr_se_io *io)
{
    struct nr_se_config cfg = *cfg_in;
    struct nr_se *se;
    size_t body_max;

    *out = NULL;
    nr_se_config_defaults(&cfg);
    if (cfg.n == 0 || cfg.n > NR_MAX_MEMBERS || cfg.self >= cfg.n || cfg.incarnation == 0)
        return NR_EINVAL;
    if (cfg.n != 2u * cfg.f + 1u)
        return NR_EINVAL;
    if (cfg.max_batch > NR_MAX_PREPARE_ENTRIES || cfg.max_batch > NR_MAX_FETCH_KEYS)
        return NR_EINVAL;
    if (cfg.max_records > (1u << 28) || cfg.max_inflight > 1024)
        return NR_EINVAL;
    if (cfg.durability == NR_DURABILITY_DISK && !io->persist)
        return NR_EINVAL;

    se = calloc(1, sizeof(*se));
    if (!se)
        return NR_ENOMEM;
    se->cfg = cfg;
    se->io = *io;
    se->state = NR_SE_JOINING;
    se->inc = cfg.incarnation;
    se->nonce = cfg.nonce ? cfg.nonce : (cfg.incarnation * 0x9E3779B97F4A7C15ull) | 1u;
    se->view[cfg.self] = se->seen[cfg.self] = se->inc;
    se->seen_nonce[cfg.self] = se->nonce;
    se->network_existed = cfg.was_active;
    if (!se->cfg.epoch)
        se->cfg.epoch = NR_CHAIN_EPOCH_FIRST;
    if (!cfg.anchored && cfg.has_genesis_hint) {
        /* Unanchored: the sealed hint names the network this member served in; it joins
         * only that one (anchored: the chain names it, and the hint is not needed). */
        se->has_genesis = 1;
        memcpy(se->genesis, cfg.genesis_hint, NR_GENESIS_ID_BYTES);
    }

    se->n_slots = cfg.max_records + cfg.max_records / 4u + 16u;
    se->slots = calloc(se->n_slots, sizeof(*se->slots));
    se->n_ops = cfg.max_batch * cfg.max_inflight * 2u + 1024u;
    se->ops = calloc(se->n_ops, sizeof(*se->ops));
    se->prep = calloc(cfg.max_inflight, sizeof(*se->prep));
    se->fetch = calloc(cfg.max_inflight, sizeof(*se->fetch));
    se->recs = calloc(NR_MAX_PREPARE_ENTRIES, sizeof(*se->recs));
    se->order = calloc(se->n_slots, sizeof(*se->order));
    body_max = NR_BATCH_HDR_BYTES + (size_t)cfg.max_batch * NR_FETCH_REC_BYTES;
    if (body_max < NR_BATCH_HDR_BYTES + (size_t)NR_MAX_FETCH_KEYS * NR_FETCH_REC_BYTES)
        body_max = NR_BATCH_HDR_BYTES + (size_t)NR_MAX_FETCH_KEYS * NR_FETCH_REC_BYTES;
    if (body_max < NR_JOIN_REPLY_FIXED + (size_t)JOIN_CHUNK_RECS * NR_JOIN_REC_BYTES)
        body_max = NR_JOIN_REPLY_FIXED + (size_t)JOIN_CHUNK_RECS * NR_JOIN_REC_BYTES;
    se->buf_cap = NR_PEER_HDR_BYTES(cfg.n) + body_max;
    se->buf = malloc(se->buf_cap);
    if (!se->slots || !se->ops || !se->prep || !se->fetch || !se->recs || !se->buf || !se->order)
        goto nomem;
    for (uint32_t i = 0; i < cfg.max_inflight; i++) {
        se->prep[i].ops = calloc(cfg.max_batch, sizeof(uint32_t));
        se->fetch[i].ops = calloc(cfg.max_batch, sizeof(uint32_t));
        if (!se->prep[i].ops || !se->fetch[i].ops)
            goto nomem;
    }
    for (uint32_t i = 0; i < se->n_ops; i++)
        se->ops[i].next = i + 1 < se->n_ops ? i + 1 : NONE;
    se->op_free = 0;
    se->ready_w.head = se->ready_w.tail = NONE;
    se->ready_r.head = se->ready_r.tail = NONE;
    *out = se;
    return NR_OK;
nomem:
    nr_se_destroy(se);
    return NR_ENOMEM;
}

void nr_se_destroy(struct nr_se *se)
{
    if (!se)
        return;
    if (se->prep)
        for (uint32_t i = 0; i < se->cfg.max_inflight; i++)
            free(se->prep[i].ops);
    if (se->fetch)
        for (uint32_t i = 0; i < se->cfg.max_inflight; i++)
            free(se->fetch[i].ops);
    free(se->prep);
    free(se->fetch);
    free(se->slots);
    free(se->ops);
    free(se->recs);
    free(se->order);
    free(se->buf);
    free(se);
}

void se_become_active(struct nr_se *se, const char *how)
{
    se->state = NR_SE_ACTIVE;
    se->stats.total_failure = 0;
    se->view[se->cfg.self] = se->seen[se->cfg.self] = se->inc;
    se_log(se, NR_LOG_INFO, "ACTIVE (%s) as incarnation %016llx with %u records", how,
           (unsigned long long)se->inc, se->n_used);
    if (se->io.active)
        se->io.active(se->io.ctx);
}

void nr_se_start(struct nr_se *se, uint64_t now_ms)
{
    se->now_ms = now_ms;
    se->join_round = 1;
    se->join_round_ms = now_ms;
    if (se->cfg.n == 1) {
        se_become_active(se, "single member");
        return;
    }
    se_log(se, NR_LOG_INFO, "joining as member %u incarnation %016llx (hint: %s)", se->cfg.self,
           (unsigned long long)se->inc, se->cfg.was_active ? "was active" : "none");
    for (uint16_t j = 0; j < se->cfg.n; j++)
        if (j != se->cfg.self)
            se_send_join_req(se, j);
}

/* Is `inc` the incarnation of j that we accept? ACTIVE senders of protocol traffic that are
 * newer than anything we know are admitted implicitly: they completed a join through f+1
 * others (§2 step 5). */
int se_accepts(struct nr_se *se, uint16_t j, nr_inc_t inc)
{
#ifdef NR_MUTATE_ACCEPT_SUPERSEDED
    if (inc != 0)
        return 1;
#endif
    if (inc == se->view[j] && se->view[j] >= se->seen[j])
        return 1;
    if (inc > se->view[j] && inc >= se->seen[j]) {
        se->view[j] = se->seen[j] = inc;
        se_log(se, NR_LOG_INFO, "member %u is now incarnation %016llx", j, (unsigned long long)inc);
        return 1;
    }
    return 0;
}

int nr_se_on_peer_msg(struct nr_se *se, uint16_t from, const uint8_t *msg, size_t len,
                      uint64_t now_ms)
{
    struct nr_peer_hdr h;
    struct nr_cur body;
    int rc;

    se->now_ms = now_ms;
    se->stats.msgs_in++;
    if (se->state == NR_SE_HALTED)
        return NR_EHALTED;
    rc = nr_peer_hdr_decode(&h, &body, msg, len, se->cfg.n);
    if (rc == 0 && (h.sender != from || from == se->cfg.self))
        rc = NR_EMALFORMED;
    if (rc) {
        se->stats.msgs_dropped_malformed++;
        se_log(se, NR_LOG_WARN, "dropped message from member %u: %s", from, nr_strerror(rc));
        return rc;
    }
    if (!se_genesis_admits(se, &h))
        return NR_EGENESIS; /* another network's instance (§2 step 2, §6) */
    if (h.dest_inc != 0 && h.dest_inc != se->inc) {
        se->stats.msgs_dropped_stale_inc++;
        return NR_EREPLAY;
    }
    /* Learn supersession from the view and the sender's incarnation (§2.3). */
    se_learn(se, from, h.sender_inc, h.sender_nonce);
    for (uint16_t j = 0; j < se->cfg.n; j++)
        se_learn(se, j, h.view[j], 0);
    if (se->seen[se->cfg.self] > se->inc) {
        if (se->state == NR_SE_JOINING) {
            se_reincarnate(se);
            return 0;
        }
        se_halt(se, NR_ESUPERSEDED);
        return NR_ESUPERSEDED;
    }

    switch (h.type) {
    case NR_MSG_JOIN_REQ:
        rc = se_on_join_req(se, &h, &body);
        break;
    case NR_MSG_JOIN_REPLY:
        rc = se_on_join_reply(se, &h, &body);
        break;
    case NR_MSG_FREEZE:
        rc = se_on_freeze(se, &h, &body);
        break;
    case NR_MSG_FREEZE_REPLY:
        rc = se_on_freeze_reply(se, &h, &body);
        break;
    case NR_MSG_SIGN_REQ:
        rc = se_on_sign_req(se, &h, &body);
        break;
    case NR_MSG_SIGN_REPLY:
        rc = se_on_sign_reply(se, &h, &body);
        break;
    default:
        if (se->state != NR_SE_ACTIVE) {
            se->stats.msgs_dropped_unexpected++;
            return NR_ENOTREADY;
        }
        if (!se_accepts(se, from, h.sender_inc)) {
            /* A superseded (or replayed older) incarnation: refuse, and tell it, so that
             * it learns from our view that it is superseded and halts (S6). */
            se->stats.msgs_dropped_stale_inc++;
            if (h.type == NR_MSG_PREPARE || h.type == NR_MSG_FETCH)
                se_send_ack(se, from, h.sender_inc, 0, ACK_STALE);
            return NR_EREPLAY;
        }
        if (h.type == NR_MSG_PREPARE)
            rc = se_on_prepare(se, &h, &body);
        else if (h.type == NR_MSG_ACK)
            rc = se_on_ack(se, &h, &body);
        else if (h.type == NR_MSG_FETCH)
            rc = se_on_fetch(se, &h, &body);
        else
            rc = se_on_fetch_reply(se, &h, &body);
        break;
    }
    if (rc && rc != NR_EBUSY) {
        se->stats.msgs_dropped_malformed++;
        se_log(se, NR_LOG_WARN, "dropped message type %u from member %u: %s", h.type, from,
               nr_strerror(rc));
    }
    return rc;
}

void nr_se_tick(struct nr_se *se, uint64_t now_ms)
{
    se->now_ms = now_ms;
    if (se->state == NR_SE_JOINING) {
        if (now_ms >= se->join_round_ms + se->cfg.join_retry_ms) {
            se->join_round++;
            se->join_round_ms = now_ms;
            se_total_failure_check(se);
            if (se->state != NR_SE_JOINING)
                return;
            for (uint16_t j = 0; j < se->cfg.n; j++) {
                if (j == se->cfg.self || se_vote_counts(se, se->jvotes, j, JOIN_FILTER))
                    continue;
                if (se->jp[j].status == JP_PARTIAL &&
                    now_ms < se->jp[j].last_chunk_ms + se->cfg.join_retry_ms)
                    continue; /* a large snapshot still streaming in */
                se_send_join_req(se, j);
            }
        }
        return;
    }
    if (se->state == NR_SE_FROZEN) {
        se_handover_tick(se);
        return;
    }
    if (se->state != NR_SE_ACTIVE)
        return;
    se_retransmit(se, se->prep);
    se_retransmit(se, se->fetch);
    nr_se_flush(se, now_ms);
}

/* A channel to member j (re)opened: whatever j has not answered yet goes out now rather
 * than at the next retry (a restarted SE's JOIN requests sent before its channels were up
 * would otherwise wait for join_retry_ms). */
void nr_se_peer_connected(struct nr_se *se, uint16_t j, uint64_t now_ms)
{
    se->now_ms = now_ms;
    if (j >= se->cfg.n || j == se->cfg.self)
        return;
    if (se->state == NR_SE_JOINING) {
        if (!se_vote_counts(se, se->jvotes, j, JOIN_FILTER))
            se_send_join_req(se, j);
        return;
    }
    if (se->state != NR_SE_ACTIVE)
        return;
    for (uint32_t i = 0; i < se->cfg.max_inflight; i++) {
        if (se->prep[i].in_use && !se_vote_counts(se, se->prep[i].votes, j, COMMIT_FILTER))
            se_send_round(se, &se->prep[i], j);
        if (se->fetch[i].in_use && !se_vote_counts(se, se->fetch[i].votes, j, COMMIT_FILTER))
            se_send_round(se, &se->fetch[i], j);
    }
}

enum nr_se_state nr_se_state(const struct nr_se *se)
{
    return se->state;
}

nr_inc_t nr_se_incarnation(const struct nr_se *se)
{
    return se->inc;
}

const struct nr_se_stats *nr_se_stats(const struct nr_se *se)
{
    return &se->stats;
}

void nr_se_view(const struct nr_se *se, nr_inc_t view[NR_MAX_MEMBERS])
{
    memset(view, 0, sizeof(nr_inc_t) * NR_MAX_MEMBERS);
    memcpy(view, se->view, sizeof(nr_inc_t) * se->cfg.n);
}
