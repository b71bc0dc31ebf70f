/* Update and read (docs/protocol.md §3, §4): local AE requests, their per-record queues,
 * batching into PREPARE/FETCH rounds, the replica side (STORE, answers) and the collector
 * side (votes, completion, write-back, retransmission). */
#include "core/se_internal.h"

static void start_head(struct nr_se *se, uint32_t si);
static void try_complete(struct nr_se *se, struct round *r);

static uint32_t op_alloc(struct nr_se *se)
{
    uint32_t i = se->op_free;
    if (i == NONE)
        return NONE;
    se->op_free = se->ops[i].next;
    memset(&se->ops[i], 0, sizeof(se->ops[i]));
    se->ops[i].in_use = 1;
    se->ops[i].next = se->ops[i].next_ready = NONE;
    return i;
}

static void op_free(struct nr_se *se, uint32_t i)
{
    se->ops[i].in_use = 0;
    se->ops[i].next = se->op_free;
    se->op_free = i;
}

static void fifo_push(struct nr_se *se, struct fifo *q, uint32_t i)
{
    se->ops[i].next_ready = NONE;
    q->len++;
    if (q->tail == NONE)
        q->head = i;
    else
        se->ops[q->tail].next_ready = i;
    q->tail = i;
}

static uint32_t fifo_pop(struct nr_se *se, struct fifo *q)
{
    uint32_t i = q->head;
    if (i == NONE)
        return NONE;
    q->head = se->ops[i].next_ready;
    if (q->head == NONE)
        q->tail = NONE;
    q->len--;
    return i;
}

void se_reply(struct nr_se *se, const struct op *o, int status, uint64_t v, const uint8_t *d)
{
    static const uint8_t zero[NR_DIGEST_BYTES] = {0};
    if (o->client && se->io.client_reply)
        se->io.client_reply(se->io.ctx, o->client, o->req_id, status, v, d ? d : zero);
}

/* The head op of record si finished (replied): pop it, start the next one. */
static void finish_head(struct nr_se *se, uint32_t si)
{
    struct slot *s = &se->slots[si];
    uint32_t i = s->q_head;
    assert(i != NONE);
    s->q_head = se->ops[i].next;
    if (s->q_head != NONE)
        se->ops[s->q_head].tail = se->ops[i].tail;
    op_free(se, i);
    if (s->q_head != NONE)
        start_head(se, si);
}

/* Start the head op of record si (§3.1, §4.1). */
static void start_head(struct nr_se *se, uint32_t si)
{
    struct slot *s = &se->slots[si];
    uint32_t i = s->q_head;
    struct op *o = &se->ops[i];

    o->started = 1;
    if (o->type == OP_WRITE) {
        if (o->version != s->version + 1) {
            se->stats.conflicts_refused++;
            se_reply(se, o, NR_ECONFLICT, s->version, s->digest);
            finish_head(se, si);
            return;
        }
        fifo_push(se, &se->ready_w, i);
    } else {
        fifo_push(se, &se->ready_r, i);
    }
}

static void enqueue_op(struct nr_se *se, uint32_t si, uint32_t i)
{
    struct slot *s = &se->slots[si];
    se->ops[i].slot = si;
    if (s->q_head == NONE) {
        s->q_head = i;
        se->ops[i].tail = i;
        start_head(se, si);
    } else {
        struct op *head = &se->ops[s->q_head];
        se->ops[head->tail].next = i;
        head->tail = i;
    }
}

static void send_prepare(struct nr_se *se, struct round *r, uint16_t to)
{
    uint32_t body = NR_BATCH_HDR_BYTES + r->n_ops * NR_PREPARE_ENTRY_BYTES;
    uint8_t *p = se_hdr(se, NR_MSG_PREPARE, 0, body);
    p = nr_put_u64(p, r->seq);
    p = nr_put_u32(p, r->n_ops);
    for (uint32_t k = 0; k < r->n_ops; k++) {
        const struct op *o = &se->ops[r->ops[k]];
        p = nr_put_bytes(p, se->slots[o->slot].key, NR_KEY_BYTES);
        p = nr_put_u64(p, o->version);
        p = nr_put_bytes(p, o->digest, NR_DIGEST_BYTES);
    }
    r->sent_ms[to] = se->now_ms;
    se_send(se, to, p);
}

static void send_fetch(struct nr_se *se, struct round *r, uint16_t to)
{
    uint32_t body = NR_BATCH_HDR_BYTES + r->n_ops * NR_KEY_BYTES;
    uint8_t *p = se_hdr(se, NR_MSG_FETCH, 0, body);
    p = nr_put_u64(p, r->seq);
    p = nr_put_u32(p, r->n_ops);
    for (uint32_t k = 0; k < r->n_ops; k++)
        p = nr_put_bytes(p, se->slots[se->ops[r->ops[k]].slot].key, NR_KEY_BYTES);
    r->sent_ms[to] = se->now_ms;
    se_send(se, to, p);
}

void se_send_round(struct nr_se *se, struct round *r, uint16_t to)
{
    if (r->kind == ROUND_PREPARE)
        send_prepare(se, r, to);
    else
        send_fetch(se, r, to);
}

void se_send_ack(struct nr_se *se, uint16_t to, nr_inc_t dest_inc, uint64_t batch, uint8_t status)
{
    uint8_t *p = se_hdr(se, NR_MSG_ACK, dest_inc, NR_ACK_BODY_BYTES);
    p = nr_put_u64(p, batch);
    p = nr_put_u8(p, status);
    se_send(se, to, p);
}

static struct round *round_find_free(struct round *rs, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (!rs[i].in_use)
            return &rs[i];
    return NULL;
}

static void persist_ops(struct nr_se *se, struct round *r)
{
    if (!se->io.persist)
        return;
    for (uint32_t k = 0; k < r->n_ops; k++) {
        const struct op *o = &se->ops[r->ops[k]];
        struct nr_record *rec = &se->recs[k];
        memcpy(rec->key, se->slots[o->slot].key, NR_KEY_BYTES);
        rec->owner = se->cfg.self;
        rec->version = o->version;
        memcpy(rec->digest, o->digest, NR_DIGEST_BYTES);
        rec->stamp = se->inc;
    }
    r->persist_token = se->cfg.durability == NR_DURABILITY_DISK ? ++se->next_token : 0;
    se->io.persist(se->io.ctx, r->persist_token, se->recs, r->n_ops);
}

static void launch(struct nr_se *se, struct fifo *q, struct round *rs, uint8_t kind)
{
    while (q->head != NONE && se->state == NR_SE_ACTIVE) {
        struct round *r = round_find_free(rs, se->cfg.max_inflight);
        if (!r)
            return;
        memset(r->votes, 0, sizeof(r->votes));
        memset(r->sent_ms, 0, sizeof(r->sent_ms));
        r->in_use = 1;
        r->kind = kind;
        r->seq = ++se->next_seq;
        r->n_ops = 0;
        r->self_ok = 1;
        while (r->n_ops < se->cfg.max_batch && q->head != NONE)
            r->ops[r->n_ops++] = fifo_pop(se, q);
        if (kind == ROUND_PREPARE) {
            persist_ops(se, r);
            if (se->cfg.durability == NR_DURABILITY_DISK)
                r->self_ok = 0;
        }
        for (uint16_t j = 0; j < se->cfg.n; j++)
            if (j != se->cfg.self)
                se_send_round(se, r, j);
        try_complete(se, r); /* n = 1 */
    }
}

void nr_se_flush(struct nr_se *se, uint64_t now_ms)
{
    se->now_ms = now_ms;
    if (se->state != NR_SE_ACTIVE)
        return;
    launch(se, &se->ready_w, se->prep, ROUND_PREPARE);
    launch(se, &se->ready_r, se->fetch, ROUND_FETCH);
}

/* A round reached its quorum. */
static void complete_prepare(struct nr_se *se, struct round *r)
{
    r->in_use = 0;
    se->stats.batches_committed++;
    for (uint32_t k = 0; k < r->n_ops; k++) {
        uint32_t i = r->ops[k];
        struct op *o = &se->ops[i];
        struct slot *s = &se->slots[o->slot];
        /* The committed value becomes the record (I3: versions only grow). */
        s->version = o->version;
        memcpy(s->digest, o->digest, NR_DIGEST_BYTES);
        s->stamp = se->inc;
        s->own_state = OWN_COMMITTED;
        se->network_existed = 1;
        if (o->type == OP_WRITE)
            se->stats.writes_committed++;
        else
            se->stats.reads_served++;
        se_reply(se, o, NR_OK, s->version, s->digest);
        finish_head(se, o->slot);
    }
}

static void complete_fetch(struct nr_se *se, struct round *r)
{
    r->in_use = 0;
    for (uint32_t k = 0; k < r->n_ops; k++) {
        uint32_t i = r->ops[k];
        struct op *o = &se->ops[i];
        struct slot *s = &se->slots[o->slot];
        if (s->own_state == OWN_UNCONFIRMED && s->version != 0) {
            /* §4.4: write the merged value back, stamped with our incarnation. */
            o->writeback = 1;
            o->version = s->version;
            memcpy(o->digest, s->digest, NR_DIGEST_BYTES);
            fifo_push(se, &se->ready_w, i);
            continue;
        }
        se->stats.reads_served++;
        se_reply(se, o, NR_OK, s->version, s->digest);
        finish_head(se, o->slot);
    }
}

static void try_complete(struct nr_se *se, struct round *r)
{
    int superseded = 0;
    if (!r->in_use || se->state != NR_SE_ACTIVE)
        return;
    uint16_t count = se_count_votes(se, r->votes, r->self_ok, COMMIT_FILTER, &superseded);
    if (superseded) {
        se_halt(se, NR_ESUPERSEDED);
        return;
    }
    if (count < quorum(se))
        return;
    for (uint16_t j = 0; j < se->cfg.n; j++)
        if (r->votes[j].have && !se_vote_counts(se, r->votes, j, COMMIT_FILTER))
            se->stats.votes_discarded++; /* filtered out by views (S5) */
    if (r->kind == ROUND_PREPARE)
        complete_prepare(se, r);
    else
        complete_fetch(se, r);
    nr_se_flush(se, se->now_ms);
}

int se_on_prepare(struct nr_se *se, const struct nr_peer_hdr *h, struct nr_cur *b)
{
    uint64_t batch = 0;
    uint32_t count = 0, stored = 0;
    uint8_t status = 0;

    int rc = nr_wire_batch_head(b, &batch, &count, NR_MAX_PREPARE_ENTRIES, NR_PREPARE_ENTRY_BYTES);
    if (rc)
        return rc;
    for (uint32_t k = 0; k < count; k++) {
        const uint8_t *key, *digest;
        uint64_t version = 0;
        nr_cur_ptr(b, &key, NR_KEY_BYTES);
        nr_cur_u64(b, &version);
        nr_cur_ptr(b, &digest, NR_DIGEST_BYTES);
        if (version == 0) {
            status = 1;
            continue;
        }
        uint32_t si = se_slot_find(se, h->sender, key, 1);
        if (si == NONE) {
            se_log(se, NR_LOG_ERROR, "record table full (%u records): cannot store", se->n_used);
            status = 2;
            continue;
        }
        if (se_store_rule(se, &se->slots[si], version, digest, h->sender_inc))
            status = 1;
        struct nr_record *rec = &se->recs[stored];
        const struct slot *s = &se->slots[si];
        memcpy(rec->key, s->key, NR_KEY_BYTES);
        rec->owner = s->owner;
        rec->version = s->version;
        memcpy(rec->digest, s->digest, NR_DIGEST_BYTES);
        rec->stamp = s->stamp;
        stored++;
    }
    if (se->cfg.durability == NR_DURABILITY_DISK && se->io.persist) {
        if (se->n_dacks == MAX_DISK_ACKS)
            return NR_EBUSY; /* the collector resends */
        struct disk_ack *a = &se->dacks[se->n_dacks++];
        a->token = ++se->next_token;
        a->batch = batch;
        a->dest_inc = h->sender_inc;
        a->to = h->sender;
        a->status = status;
        se->io.persist(se->io.ctx, a->token, se->recs, stored);
        return 0;
    }
    if (se->io.persist && stored)
        se->io.persist(se->io.ctx, 0, se->recs, stored); /* write-behind hint */
    se_send_ack(se, h->sender, h->sender_inc, batch, status);
    return 0;
}

int se_on_fetch(struct nr_se *se, const struct nr_peer_hdr *h, struct nr_cur *b)
{
    uint64_t req = 0;
    uint32_t count = 0;

    int rc = nr_wire_batch_head(b, &req, &count, NR_MAX_FETCH_KEYS, NR_KEY_BYTES);
    if (rc)
        return rc;
    const uint8_t *keys; /* points into msg, not into se->buf */
    nr_cur_ptr(b, &keys, (size_t)count * NR_KEY_BYTES);
    uint8_t *p = se_hdr(se, NR_MSG_FETCH_REPLY, h->sender_inc,
                        NR_BATCH_HDR_BYTES + count * NR_FETCH_REC_BYTES);
    p = nr_put_u64(p, req);
    p = nr_put_u32(p, count);
    for (uint32_t k = 0; k < count; k++) {
        const uint8_t *key = keys + (size_t)k * NR_KEY_BYTES;
        uint32_t si = se_slot_find(se, h->sender, key, 0);
        static const uint8_t zero[NR_DIGEST_BYTES] = {0};
        const struct slot *s = si == NONE ? NULL : &se->slots[si];
        p = nr_put_bytes(p, key, NR_KEY_BYTES);
        p = nr_put_u64(p, s ? s->version : 0);
        p = nr_put_bytes(p, s ? s->digest : zero, NR_DIGEST_BYTES);
        p = nr_put_u64(p, s ? s->stamp : 0);
    }
    se_send(se, h->sender, p);
    return 0;
}

static struct round *find_round(struct round *rs, uint32_t n, uint64_t seq)
{
    for (uint32_t i = 0; i < n; i++)
        if (rs[i].in_use && rs[i].seq == seq)
            return &rs[i];
    return NULL;
}

static void record_vote(struct round *r, const struct nr_peer_hdr *h)
{
    struct vote *v = &r->votes[h->sender];
    v->have = 1;
    v->inc = h->sender_inc;
    memcpy(v->view, h->view, sizeof(h->view));
}

int se_on_ack(struct nr_se *se, const struct nr_peer_hdr *h, struct nr_cur *b)
{
    uint64_t batch = 0;
    uint8_t status = 0;

    nr_cur_u64(b, &batch);
    nr_cur_u8(b, &status);
    if (b->err)
        return b->err;
    if (b->left || status > ACK_STALE)
        return NR_EMALFORMED;
    if (status == ACK_STALE)
        return 0; /* the view in the header already told us what we needed (§2 step 4) */
    struct round *r = find_round(se->prep, se->cfg.max_inflight, batch);
    if (!r) {
        se->stats.msgs_dropped_unexpected++; /* late or duplicate */
        return 0;
    }
    if (status != 0) {
        se->stats.votes_discarded++;
        se_log(se, NR_LOG_ERROR, "member %u refused batch %llu (%s)", h->sender,
               (unsigned long long)batch, status == 1 ? "conflict: fork attempt" : "full");
        return 0;
    }
    record_vote(r, h);
    try_complete(se, r);
    return 0;
}

int se_on_fetch_reply(struct nr_se *se, const struct nr_peer_hdr *h, struct nr_cur *b)
{
    uint64_t req = 0;
    uint32_t count = 0;

    int rc = nr_wire_batch_head(b, &req, &count, NR_MAX_FETCH_KEYS, NR_FETCH_REC_BYTES);
    if (rc)
        return rc;
    struct round *r = find_round(se->fetch, se->cfg.max_inflight, req);
    if (!r) {
        se->stats.msgs_dropped_unexpected++;
        return 0;
    }
    if (count != r->n_ops)
        return NR_EMALFORMED;
    for (uint32_t k = 0; k < count; k++) {
        uint8_t key[NR_KEY_BYTES], digest[NR_DIGEST_BYTES];
        uint64_t version = 0, stamp = 0;
        nr_cur_bytes(b, key, NR_KEY_BYTES);
        nr_cur_u64(b, &version);
        nr_cur_bytes(b, digest, NR_DIGEST_BYTES);
        nr_cur_u64(b, &stamp);
        const struct slot *s = &se->slots[se->ops[r->ops[k]].slot];
        if (memcmp(key, s->key, NR_KEY_BYTES) != 0)
            return NR_EMALFORMED;
        if (stamp > se->inc) { /* §4.3: a newer incarnation of us wrote this record */
            se->seen[se->cfg.self] = max_inc(se->seen[se->cfg.self], stamp);
            se_halt(se, NR_ESUPERSEDED);
            return 0;
        }
        if (stamp > s->stamp || (stamp == s->stamp && version > s->version))
            se->stats.stale_leftovers++;
    }
    record_vote(r, h);
    try_complete(se, r);
    return 0;
}

static int retransmit_due(const struct nr_se *se, uint64_t sent_ms)
{
    return se->now_ms >= sent_ms + se->cfg.retransmit_ms;
}

void se_retransmit(struct nr_se *se, struct round *rs)
{
    for (uint32_t i = 0; i < se->cfg.max_inflight; i++) {
        struct round *r = &rs[i];
        if (!r->in_use)
            continue;
        for (uint16_t j = 0; j < se->cfg.n; j++) {
            if (j == se->cfg.self)
                continue;
            if (!se_vote_counts(se, r->votes, j, COMMIT_FILTER) &&
                retransmit_due(se, r->sent_ms[j]))
                se_send_round(se, r, j);
        }
    }
}

static void se_client_op(struct nr_se *se, uint64_t client, uint64_t req_id, const uint8_t *key,
                         uint8_t type, uint64_t version, const uint8_t *digest)
{
    struct op tmp = {.client = client, .req_id = req_id};

    if (se->state != NR_SE_ACTIVE) {
        se_reply(se, &tmp,
                 se->state == NR_SE_JOINING  ? NR_ENOTREADY
                 : se->state == NR_SE_FROZEN ? NR_EEPOCH
                                             : NR_EHALTED,
                 0, NULL);
        return;
    }
    if (type == OP_WRITE && version == 0) {
        se_reply(se, &tmp, NR_EINVAL, 0, NULL);
        return;
    }
    /* Even "no record" is only answered after a read quorum confirmed that we are current
     * (§4): an old instance must not claim a record is absent. */
    uint32_t si = se_slot_find(se, se->cfg.self, key, 1);
    if (si == NONE) {
        se_reply(se, &tmp, NR_EFULL, 0, NULL);
        return;
    }
    uint32_t i = op_alloc(se);
    if (i == NONE) {
        se_reply(se, &tmp, NR_EBUSY, 0, NULL);
        return;
    }
    struct op *o = &se->ops[i];
    o->client = client;
    o->req_id = req_id;
    o->type = type;
    o->version = version;
    if (digest)
        memcpy(o->digest, digest, NR_DIGEST_BYTES);
    enqueue_op(se, si, i);
    /* A full batch goes out at once; a partial one waits for nr_se_flush(). */
    if (se->ready_w.len >= se->cfg.max_batch)
        launch(se, &se->ready_w, se->prep, ROUND_PREPARE);
    if (se->ready_r.len >= se->cfg.max_batch)
        launch(se, &se->ready_r, se->fetch, ROUND_FETCH);
}

void nr_se_client_write(struct nr_se *se, uint64_t client, uint64_t req_id,
                        const uint8_t key[NR_KEY_BYTES], uint64_t version,
                        const uint8_t digest[NR_DIGEST_BYTES], uint64_t now_ms)
{
    se->now_ms = now_ms;
    se_client_op(se, client, req_id, key, OP_WRITE, version, digest);
}

void nr_se_client_read(struct nr_se *se, uint64_t client, uint64_t req_id,
                       const uint8_t key[NR_KEY_BYTES], uint64_t now_ms)
{
    se->now_ms = now_ms;
    se_client_op(se, client, req_id, key, OP_READ, 0, NULL);
}

void nr_se_client_gone(struct nr_se *se, uint64_t client)
{
    for (uint32_t i = 0; i < se->n_ops; i++)
        if (se->ops[i].in_use && se->ops[i].client == client)
            se->ops[i].client = 0;
}

void nr_se_persisted(struct nr_se *se, uint64_t token, uint64_t now_ms)
{
    se->now_ms = now_ms;
    if (se->state != NR_SE_ACTIVE)
        return;
    for (uint32_t i = 0; i < se->n_dacks; i++) {
        if (se->dacks[i].token != token)
            continue;
        struct disk_ack a = se->dacks[i];
        se->dacks[i] = se->dacks[--se->n_dacks];
        se_send_ack(se, a.to, a.dest_inc, a.batch, a.status);
        return;
    }
    for (uint32_t i = 0; i < se->cfg.max_inflight; i++) {
        struct round *r = &se->prep[i];
        if (r->in_use && !r->self_ok && r->persist_token == token) {
            r->self_ok = 1;
            try_complete(se, r);
            return;
        }
    }
}
