/* The state-enclave protocol core. See docs/protocol.md for the protocol and its safety
 * argument; every rule below names the section it implements.
 *
 * Enclave-safe: no I/O, no globals, no clocks; all memory is allocated in nr_se_create().
 *
 * Mutation switches (NR_MUTATE_*) each disable one safety rule. They exist only so that the
 * simulator can show that its checker catches the resulting violations; production builds
 * never define them. */
#include "core/core.h"
#include "core/wire.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NONE UINT32_MAX
#define JOIN_CHUNK_RECS 4096u
#define TOTAL_FAILURE_ROUNDS 3u
#define MAX_DISK_ACKS 1024u
#define JOIN_REPLY_FIXED 22u /* status, flags, snapshot, chunk, chunks, count */

/* Own-record states (protocol.md §1). */
enum { OWN_COMMITTED = 0, OWN_UNCONFIRMED = 1 };

enum { OP_WRITE = 1, OP_READ = 2 };
enum { ROUND_PREPARE = 1, ROUND_FETCH = 2 };
/* ACK status (wire.h): 0 ok, 1 conflict, 2 full, 3 stale (sender is superseded). */
enum { ACK_OK = 0, ACK_CONFLICT = 1, ACK_FULL = 2, ACK_STALE = 3 };

/* Join progress per peer (§5). */
enum { JP_NONE = 0, JP_PARTIAL, JP_DONE, JP_JOINING, JP_STALE };

/* 88 bytes: the record table dominates an SE's memory (1M records ~ 110 MB). */
struct slot {
    uint8_t key[NR_KEY_BYTES];
    uint64_t version;
    uint8_t digest[NR_DIGEST_BYTES];
    nr_inc_t stamp;
    uint16_t owner;
    uint8_t used;
    uint8_t own_state;
    uint32_t q_head; /* queue of local ops (own records only); its tail is in the head op */
};

_Static_assert(sizeof(struct slot) == 88, "record slot layout");

struct op {
    uint64_t client, req_id;
    uint64_t version;
    uint8_t digest[NR_DIGEST_BYTES];
    uint32_t slot;
    uint32_t next;       /* next op of the same record, or free list */
    uint32_t tail;       /* in a record's head op: the last op of its queue */
    uint32_t next_ready; /* ready FIFO link */
    uint8_t type;
    uint8_t writeback;
    uint8_t in_use;
    uint8_t started;
};

struct vote {
    nr_inc_t inc;
    nr_inc_t view[NR_MAX_MEMBERS];
    uint8_t have;
};

struct round {
    uint8_t in_use;
    uint8_t kind;
    uint8_t self_ok; /* DISK mode: own copy persisted */
    uint64_t seq;
    uint64_t persist_token;
    uint32_t *ops;
    uint32_t n_ops;
    struct vote votes[NR_MAX_MEMBERS];
    uint64_t sent_ms[NR_MAX_MEMBERS];
};

struct fifo {
    uint32_t head, tail;
    uint32_t len;
};

struct join_peer {
    uint8_t status;
    uint8_t was_active;
    uint32_t next_chunk, chunks;
    uint64_t snapshot;      /* replier's id of the snapshot being received */
    uint64_t last_chunk_ms; /* progress of a partial reply */
    uint64_t last_req_ms;
    uint64_t joining_round; /* retry round of the last JOINING reply */
    nr_inc_t joining_inc;   /* incarnation that sent it */
};

struct disk_ack {
    uint64_t token;
    uint64_t batch;
    nr_inc_t dest_inc;
    uint16_t to;
    uint8_t status;
};

struct nr_se {
    struct nr_se_config cfg;
    struct nr_se_io io;
    enum nr_se_state state;
    nr_inc_t inc;
    uint64_t nonce;
    nr_inc_t view[NR_MAX_MEMBERS];
    nr_inc_t seen[NR_MAX_MEMBERS];
    uint64_t seen_nonce[NR_MAX_MEMBERS]; /* nonce of the instance that is seen[j] (0: unknown) */
    uint64_t last_snapshot_ms[NR_MAX_MEMBERS]; /* replier side: last ACCEPT snapshot sent */
    uint64_t next_snapshot;
    struct nr_se_stats stats;
    uint64_t now_ms;

    /* record table: open addressing, linear probing, no deletion */
    struct slot *slots;
    uint32_t n_slots;
    uint32_t n_used;

    /* local operations */
    struct op *ops;
    uint32_t n_ops;
    uint32_t op_free;
    struct fifo ready_w; /* ops waiting to go into a PREPARE */
    struct fifo ready_r; /* ops waiting to go into a FETCH */

    /* rounds in flight */
    struct round *prep;
    struct round *fetch;
    uint64_t next_seq;

    /* join */
    struct join_peer jp[NR_MAX_MEMBERS];
    struct vote jvotes[NR_MAX_MEMBERS];
    uint64_t join_round;
    uint64_t join_round_ms;
    uint32_t tf_strikes;
    int network_existed;

    /* DISK durability */
    uint64_t next_token;
    struct disk_ack dacks[MAX_DISK_ACKS];
    uint32_t n_dacks;

    /* encode scratch */
    uint8_t *buf;
    size_t buf_cap;
    struct nr_record *recs; /* persist scratch */
};

/* ------------------------------------------------------------------------------------- */
/* helpers */

static void logf_(struct nr_se *se, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void logf_(struct nr_se *se, int level, const char *fmt, ...)
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

static nr_inc_t max_inc(nr_inc_t a, nr_inc_t b)
{
    return a > b ? a : b;
}

/* Learn that incarnation `inc` of member j exists (§2.3). `nonce` is the instance's random
 * nonce when the message came from that instance itself (0 when learned from a view). Two
 * instances with one incarnation but different nonces are both refused from then on: their
 * incarnation is poisoned (seen[j] moves past it), so each learns it is superseded. */
static void learn(struct nr_se *se, uint16_t j, nr_inc_t inc, uint64_t nonce)
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
        logf_(se, NR_LOG_ERROR,
              "CLONE DETECTED: two instances of member %u share incarnation %016llx; both "
              "refused",
              j, (unsigned long long)inc);
    }
}

static uint16_t quorum(const struct nr_se *se)
{
    return (uint16_t)(se->cfg.f + 1u);
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

/* ------------------------------------------------------------------------------------- */
/* record table */

static uint32_t slot_hash(const struct nr_se *se, uint16_t owner, const uint8_t *key)
{
    uint64_t h;
    memcpy(&h, key, sizeof(h));
    h ^= (uint64_t)owner * 0x9E3779B97F4A7C15ull;
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 32;
    return (uint32_t)(((h & 0xffffffffull) * (uint64_t)se->n_slots) >> 32);
}

/* Find the slot of (owner, key); with create, insert an empty record. NONE if absent or the
 * table is full. */
static uint32_t slot_find(struct nr_se *se, uint16_t owner, const uint8_t *key, int create)
{
    uint32_t i = slot_hash(se, owner, key);

    for (uint32_t probes = 0; probes < se->n_slots; probes++) {
        struct slot *s = &se->slots[i];
        if (!s->used) {
            if (!create || se->n_used >= se->cfg.max_records)
                return NONE;
            memset(s, 0, sizeof(*s));
            s->used = 1;
            s->owner = owner;
            memcpy(s->key, key, NR_KEY_BYTES);
            s->q_head = NONE;
            se->n_used++;
            return i;
        }
        if (s->owner == owner && memcmp(s->key, key, NR_KEY_BYTES) == 0)
            return i;
        if (++i == se->n_slots)
            i = 0;
    }
    return NONE;
}

/* Rule STORE (§3). Returns 0 if stored or no-op, 1 if refused (same stamp, two digests). */
static int store_rule(struct nr_se *se, struct slot *s, uint64_t v, const uint8_t *d,
                      nr_inc_t stamp)
{
    se->network_existed = 1;
    learn(se, s->owner, stamp, 0);
    if (s->version == 0 && s->stamp == 0) {
        s->version = v;
        memcpy(s->digest, d, NR_DIGEST_BYTES);
        s->stamp = stamp;
        return 0;
    }
    if (stamp > s->stamp) {
        if (s->version >= v && memcmp(s->digest, d, NR_DIGEST_BYTES) != 0) {
            se->stats.stale_leftovers++;
            if (s->version == v)
                se->stats.fork_attempts++;
            logf_(se, NR_LOG_WARN,
                  "record of member %u: value v%llu of an older incarnation replaced by a "
                  "later incarnation (uncommitted leftover)",
                  s->owner, (unsigned long long)s->version);
        }
        s->version = v;
        memcpy(s->digest, d, NR_DIGEST_BYTES);
        s->stamp = stamp;
        return 0;
    }
    if (stamp == s->stamp) {
        if (v > s->version) {
            s->version = v;
            memcpy(s->digest, d, NR_DIGEST_BYTES);
            return 0;
        }
        if (v == s->version && memcmp(s->digest, d, NR_DIGEST_BYTES) != 0) {
            se->stats.fork_attempts++;
            logf_(se, NR_LOG_ERROR,
                  "FORK ATTEMPT: member %u incarnation %016llx sent two digests for v%llu",
                  s->owner, (unsigned long long)stamp, (unsigned long long)v);
            return 1;
        }
        return 0;
    }
    return 0; /* older stamp: the stored value supersedes it */
}

/* ------------------------------------------------------------------------------------- */
/* ops */

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

static void reply(struct nr_se *se, const struct op *o, int status, uint64_t v,
                  const uint8_t *d)
{
    static const uint8_t zero[NR_DIGEST_BYTES] = {0};
    if (o->client && se->io.client_reply)
        se->io.client_reply(se->io.ctx, o->client, o->req_id, status, v, d ? d : zero);
}

static void start_head(struct nr_se *se, uint32_t si);

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
            reply(se, o, NR_ECONFLICT, s->version, s->digest);
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

/* ------------------------------------------------------------------------------------- */
/* sending */

static void known_view(const struct nr_se *se, nr_inc_t out[NR_MAX_MEMBERS])
{
    for (uint16_t j = 0; j < se->cfg.n; j++)
        out[j] = max_inc(se->view[j], se->seen[j]);
}

static uint8_t *hdr(struct nr_se *se, uint8_t type, nr_inc_t dest_inc, uint32_t body_len)
{
    struct nr_peer_hdr h;
    memset(&h, 0, sizeof(h));
    h.type = type;
    h.sender = se->cfg.self;
    h.body_len = body_len;
    h.sender_inc = se->inc;
    h.sender_nonce = se->nonce;
    h.dest_inc = dest_inc;
    known_view(se, h.view);
    return nr_peer_hdr_put(se->buf, se->cfg.n, &h);
}

static void send_buf(struct nr_se *se, uint16_t to, const uint8_t *end)
{
    if (se->io.send_peer)
        se->io.send_peer(se->io.ctx, to, se->buf, (size_t)(end - se->buf));
}

static void send_prepare(struct nr_se *se, struct round *r, uint16_t to)
{
    uint32_t body = 12u + r->n_ops * NR_PREPARE_ENTRY_BYTES;
    uint8_t *p = hdr(se, NR_MSG_PREPARE, 0, body);
    p = nr_put_u64(p, r->seq);
    p = nr_put_u32(p, r->n_ops);
    for (uint32_t k = 0; k < r->n_ops; k++) {
        const struct op *o = &se->ops[r->ops[k]];
        p = nr_put_bytes(p, se->slots[o->slot].key, NR_KEY_BYTES);
        p = nr_put_u64(p, o->version);
        p = nr_put_bytes(p, o->digest, NR_DIGEST_BYTES);
    }
    r->sent_ms[to] = se->now_ms;
    send_buf(se, to, p);
}

static void send_fetch(struct nr_se *se, struct round *r, uint16_t to)
{
    uint32_t body = 12u + r->n_ops * NR_KEY_BYTES;
    uint8_t *p = hdr(se, NR_MSG_FETCH, 0, body);
    p = nr_put_u64(p, r->seq);
    p = nr_put_u32(p, r->n_ops);
    for (uint32_t k = 0; k < r->n_ops; k++)
        p = nr_put_bytes(p, se->slots[se->ops[r->ops[k]].slot].key, NR_KEY_BYTES);
    r->sent_ms[to] = se->now_ms;
    send_buf(se, to, p);
}

static void send_round(struct nr_se *se, struct round *r, uint16_t to)
{
    if (r->kind == ROUND_PREPARE)
        send_prepare(se, r, to);
    else
        send_fetch(se, r, to);
}

static void send_ack(struct nr_se *se, uint16_t to, nr_inc_t dest_inc, uint64_t batch,
                     uint8_t status)
{
    uint8_t *p = hdr(se, NR_MSG_ACK, dest_inc, 9);
    p = nr_put_u64(p, batch);
    p = nr_put_u8(p, status);
    send_buf(se, to, p);
}

static void send_join_req(struct nr_se *se, uint16_t to)
{
    uint8_t *p = hdr(se, NR_MSG_JOIN_REQ, 0, 1);
    p = nr_put_u8(p, se->network_existed ? 1 : 0);
    se->jp[to].last_req_ms = se->now_ms;
    send_buf(se, to, p);
}

static void send_join_status(struct nr_se *se, uint16_t to, nr_inc_t dest_inc, uint8_t status)
{
    uint8_t *p = hdr(se, NR_MSG_JOIN_REPLY, dest_inc, JOIN_REPLY_FIXED);
    p = nr_put_u8(p, status);
    p = nr_put_u8(p, se->network_existed ? 1 : 0);
    p = nr_put_u64(p, 0);
    p = nr_put_u32(p, 0);
    p = nr_put_u32(p, 1);
    p = nr_put_u32(p, 0);
    send_buf(se, to, p);
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
            hdr(se, NR_MSG_JOIN_REPLY, dest_inc, JOIN_REPLY_FIXED + count * NR_JOIN_REC_BYTES);
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
        send_buf(se, to, p);
    }
}

/* ------------------------------------------------------------------------------------- */
/* halting */

static void fail_all_ops(struct nr_se *se, int status)
{
    for (uint32_t i = 0; i < se->n_ops; i++) {
        if (se->ops[i].in_use) {
            reply(se, &se->ops[i], status, 0, NULL);
            se->ops[i].client = 0;
        }
    }
}

static void halt(struct nr_se *se, int reason)
{
    if (se->state == NR_SE_HALTED)
        return;
    se->state = NR_SE_HALTED;
    if (reason == NR_ESUPERSEDED) {
        se->stats.superseded = 1;
        logf_(se, NR_LOG_ERROR,
              "HALT: this instance (incarnation %016llx) was superseded by incarnation %016llx",
              (unsigned long long)se->inc, (unsigned long long)se->seen[se->cfg.self]);
    } else if (reason == NR_ETOTALFAILURE) {
        se->stats.total_failure = 1;
        logf_(se, NR_LOG_ERROR,
              "HALT: TOTAL FAILURE: at least f+1=%u members lost their memory; the network "
              "cannot recover safely from host-held data",
              quorum(se));
    } else {
        logf_(se, NR_LOG_ERROR, "HALT: %s", nr_strerror(reason));
    }
    fail_all_ops(se, reason == NR_ESUPERSEDED ? NR_ESUPERSEDED : NR_EHALTED);
    if (se->io.halted)
        se->io.halted(se->io.ctx, reason);
}

/* A JOINING instance that learns of a newer incarnation of itself has served nothing: it
 * restarts its join with a higher epoch (§5.5). */
static void reincarnate(struct nr_se *se)
{
    uint32_t epoch = nr_incarnation_epoch(se->seen[se->cfg.self]) + 1u;
    nr_inc_t old = se->inc;
    se->inc = nr_incarnation_make(epoch, (uint32_t)(old & 0xffffffffu));
    se->view[se->cfg.self] = se->seen[se->cfg.self] = se->inc;
    memset(se->jp, 0, sizeof(se->jp));
    memset(se->jvotes, 0, sizeof(se->jvotes));
    logf_(se, NR_LOG_WARN, "join: a newer incarnation of this member exists; rejoining as %016llx",
          (unsigned long long)se->inc);
    for (uint16_t j = 0; j < se->cfg.n; j++)
        if (j != se->cfg.self)
            send_join_req(se, j);
}

/* ------------------------------------------------------------------------------------- */
/* QUORUM (§3) */

/* Does member j's vote survive the view filters: not superseded in the collector's own
 * knowledge, nor in any other collected vote's view? */
static int vote_counts(const struct nr_se *se, const struct vote *votes, uint16_t j, int filter)
{
    if (j == se->cfg.self || !votes[j].have)
        return 0;
    if (!filter)
        return 1;
#ifndef NR_MUTATE_ACCEPT_SUPERSEDED
    if (se->seen[j] > votes[j].inc)
        return 0;
#endif
    for (uint16_t k = 0; k < se->cfg.n; k++)
        if (k != j && k != se->cfg.self && votes[k].have && votes[k].view[j] > votes[j].inc)
            return 0;
    return 1;
}

/* Count distinct members whose votes survive the view filters; with_self counts the
 * collector. Sets *superseded if a vote shows a newer incarnation of the collector. */
static uint16_t count_votes(const struct nr_se *se, const struct vote *votes, int with_self,
                            int filter, int *superseded)
{
    uint16_t count = 0;
    *superseded = 0;
    for (uint16_t j = 0; j < se->cfg.n; j++) {
        if (j != se->cfg.self && votes[j].have && votes[j].view[se->cfg.self] > se->inc)
            *superseded = 1;
        if (vote_counts(se, votes, j, filter))
            count++;
    }
    if (with_self)
        count++;
#ifdef NR_MUTATE_COUNT_SELF_TWICE
    if (with_self)
        count++;
#endif
    return count;
}

#ifdef NR_MUTATE_NO_VOTE_FILTER
#define COMMIT_FILTER 0
#else
#define COMMIT_FILTER 1
#endif
#if defined(NR_MUTATE_NO_VOTE_FILTER) || defined(NR_MUTATE_NO_JOIN_FILTER)
#define JOIN_FILTER 0
#else
#define JOIN_FILTER 1
#endif

/* ------------------------------------------------------------------------------------- */
/* batching */

static struct round *round_free(struct round *rs, uint32_t n)
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

static void try_complete(struct nr_se *se, struct round *r);

static void launch(struct nr_se *se, struct fifo *q, struct round *rs, uint8_t kind)
{
    while (q->head != NONE && se->state == NR_SE_ACTIVE) {
        struct round *r = round_free(rs, se->cfg.max_inflight);
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
                send_round(se, r, j);
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
        reply(se, o, NR_OK, s->version, s->digest);
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
        reply(se, o, NR_OK, s->version, s->digest);
        finish_head(se, o->slot);
    }
}

static void try_complete(struct nr_se *se, struct round *r)
{
    int superseded = 0;
    if (!r->in_use || se->state != NR_SE_ACTIVE)
        return;
    uint16_t count = count_votes(se, r->votes, r->self_ok, COMMIT_FILTER, &superseded);
    if (superseded) {
        halt(se, NR_ESUPERSEDED);
        return;
    }
    if (count < quorum(se))
        return;
    for (uint16_t j = 0; j < se->cfg.n; j++)
        if (r->votes[j].have && !vote_counts(se, r->votes, j, COMMIT_FILTER))
            se->stats.votes_discarded++; /* filtered out by views (S5) */
    if (r->kind == ROUND_PREPARE)
        complete_prepare(se, r);
    else
        complete_fetch(se, r);
    nr_se_flush(se, se->now_ms);
}

/* ------------------------------------------------------------------------------------- */
/* lifecycle */

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

    se->n_slots = cfg.max_records + cfg.max_records / 4u + 16u;
    se->slots = calloc(se->n_slots, sizeof(*se->slots));
    se->n_ops = cfg.max_batch * cfg.max_inflight * 2u + 1024u;
    se->ops = calloc(se->n_ops, sizeof(*se->ops));
    se->prep = calloc(cfg.max_inflight, sizeof(*se->prep));
    se->fetch = calloc(cfg.max_inflight, sizeof(*se->fetch));
    se->recs = calloc(NR_MAX_PREPARE_ENTRIES, sizeof(*se->recs));
    body_max = 12u + (size_t)cfg.max_batch * NR_FETCH_REC_BYTES;
    if (body_max < 12u + (size_t)NR_MAX_FETCH_KEYS * NR_FETCH_REC_BYTES)
        body_max = 12u + (size_t)NR_MAX_FETCH_KEYS * NR_FETCH_REC_BYTES;
    if (body_max < JOIN_REPLY_FIXED + (size_t)JOIN_CHUNK_RECS * NR_JOIN_REC_BYTES)
        body_max = JOIN_REPLY_FIXED + (size_t)JOIN_CHUNK_RECS * NR_JOIN_REC_BYTES;
    se->buf_cap = NR_PEER_HDR_BYTES(cfg.n) + body_max;
    se->buf = malloc(se->buf_cap);
    if (!se->slots || !se->ops || !se->prep || !se->fetch || !se->recs || !se->buf)
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
    free(se->buf);
    free(se);
}

static void become_active(struct nr_se *se, const char *how)
{
    se->state = NR_SE_ACTIVE;
    se->view[se->cfg.self] = se->seen[se->cfg.self] = se->inc;
    logf_(se, NR_LOG_INFO, "ACTIVE (%s) as incarnation %016llx with %u records", how,
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
        become_active(se, "single member");
        return;
    }
    logf_(se, NR_LOG_INFO, "joining as member %u incarnation %016llx (hint: %s)", se->cfg.self,
          (unsigned long long)se->inc, se->cfg.was_active ? "was active" : "none");
    for (uint16_t j = 0; j < se->cfg.n; j++)
        if (j != se->cfg.self)
            send_join_req(se, j);
}

/* ------------------------------------------------------------------------------------- */
/* join (§5) */

static void join_check(struct nr_se *se)
{
    uint16_t n = se->cfg.n;
    int superseded = 0;

    if (se->state != NR_SE_JOINING)
        return;
    /* Quorum of f+1 distinct other members, filtered by each other's views (§7.3). */
    uint16_t count = count_votes(se, se->jvotes, 0, JOIN_FILTER, &superseded);
    if (superseded) {
        reincarnate(se);
        return;
    }
    if (count >= quorum(se)) {
        for (uint16_t j = 0; j < n; j++)
            if (se->jvotes[j].have && !vote_counts(se, se->jvotes, j, JOIN_FILTER))
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
        become_active(se, "joined");
        return;
    }
    /* Genesis (§5.6): every other member answered JOINING, nobody was ever active. */
    if (!se->network_existed) {
        uint16_t blank = 0;
        for (uint16_t j = 0; j < n; j++)
            if (j != se->cfg.self && !se->jp[j].was_active &&
                (se->jp[j].status == JP_JOINING || se->jp[j].status == JP_DONE))
                blank++;
        if (blank == n - 1u) {
            for (uint16_t j = 0; j < n; j++)
                if (j != se->cfg.self)
                    se->view[j] = se->seen[j];
            become_active(se, "genesis: no member holds state");
        }
    }
}

static int on_join_req(struct nr_se *se, const struct nr_peer_hdr *h, struct nr_cur *b)
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
         * network for a blank one (genesis, §5.7). */
        se->network_existed = 1;
        se->stats.joins_admitted++;
        logf_(se, NR_LOG_INFO, "admitted member %u incarnation %016llx", j,
              (unsigned long long)h->sender_inc);
        send_join_accept(se, j, h->sender_inc);
        /* Rounds waiting on j's old incarnation will be resent to the new one. */
        return 0;
    }
    se->stats.msgs_dropped_stale_inc++;
    send_join_status(se, j, h->sender_inc, NR_JOIN_STALE);
    return 0;
}

static int on_join_reply(struct nr_se *se, const struct nr_peer_hdr *h, struct nr_cur *b)
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
        reincarnate(se);
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
        se->jvotes[j].have = 0;
        join_check(se);
        return 0;
    }
    if (h->view[se->cfg.self] != se->inc) {
        se->stats.msgs_dropped_unexpected++;
        return 0;
    }
    if (chunk == 0 && (jp->status != JP_PARTIAL || snapshot != jp->snapshot)) {
        jp->was_active = flags & 1u;
        jp->status = JP_PARTIAL;
        jp->snapshot = snapshot;
        jp->next_chunk = 0;
        jp->chunks = chunks;
        se->jvotes[j].have = 0;
    }
    /* Chunks of one snapshot only, in order (a reply is one atomic snapshot, §7.2). */
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
            reincarnate(se);
            return 0;
        }
#ifndef NR_MUTATE_SKIP_JOIN_MERGE
        uint32_t si = slot_find(se, owner, key, 1);
        if (si == NONE) {
            logf_(se, NR_LOG_ERROR, "join: record table full (%u records)", se->n_used);
            halt(se, NR_EFULL);
            return NR_EFULL;
        }
        store_rule(se, &se->slots[si], version, digest, stamp);
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

/* §5.7: at least f+1 members (us included) have lost their memory, and a network existed. */
static void total_failure_check(struct nr_se *se)
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
        if (++se->tf_strikes >= TOTAL_FAILURE_ROUNDS)
            halt(se, NR_ETOTALFAILURE);
    } else {
        se->tf_strikes = 0;
    }
}

/* ------------------------------------------------------------------------------------- */
/* update and read: replica side */

static int on_prepare(struct nr_se *se, const struct nr_peer_hdr *h, struct nr_cur *b)
{
    uint64_t batch = 0;
    uint32_t count = 0, stored = 0;
    uint8_t status = 0;

    nr_cur_u64(b, &batch);
    nr_cur_u32(b, &count);
    if (b->err)
        return b->err;
    if (count > NR_MAX_PREPARE_ENTRIES || (uint64_t)count * NR_PREPARE_ENTRY_BYTES != b->left)
        return NR_EMALFORMED;
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
        uint32_t si = slot_find(se, h->sender, key, 1);
        if (si == NONE) {
            logf_(se, NR_LOG_ERROR, "record table full (%u records): cannot store", se->n_used);
            status = 2;
            continue;
        }
        if (store_rule(se, &se->slots[si], version, digest, h->sender_inc))
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
    send_ack(se, h->sender, h->sender_inc, batch, status);
    return 0;
}

static int on_fetch(struct nr_se *se, const struct nr_peer_hdr *h, struct nr_cur *b)
{
    uint64_t req = 0;
    uint32_t count = 0;

    nr_cur_u64(b, &req);
    nr_cur_u32(b, &count);
    if (b->err)
        return b->err;
    if (count > NR_MAX_FETCH_KEYS || (uint64_t)count * NR_KEY_BYTES != b->left)
        return NR_EMALFORMED;
    const uint8_t *keys; /* points into msg, not into se->buf */
    nr_cur_ptr(b, &keys, (size_t)count * NR_KEY_BYTES);
    uint8_t *p = hdr(se, NR_MSG_FETCH_REPLY, h->sender_inc, 12u + count * NR_FETCH_REC_BYTES);
    p = nr_put_u64(p, req);
    p = nr_put_u32(p, count);
    for (uint32_t k = 0; k < count; k++) {
        const uint8_t *key = keys + (size_t)k * NR_KEY_BYTES;
        uint32_t si = slot_find(se, h->sender, key, 0);
        static const uint8_t zero[NR_DIGEST_BYTES] = {0};
        const struct slot *s = si == NONE ? NULL : &se->slots[si];
        p = nr_put_bytes(p, key, NR_KEY_BYTES);
        p = nr_put_u64(p, s ? s->version : 0);
        p = nr_put_bytes(p, s ? s->digest : zero, NR_DIGEST_BYTES);
        p = nr_put_u64(p, s ? s->stamp : 0);
    }
    send_buf(se, h->sender, p);
    return 0;
}

/* ------------------------------------------------------------------------------------- */
/* update and read: collector side */

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

static int on_ack(struct nr_se *se, const struct nr_peer_hdr *h, struct nr_cur *b)
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
        return 0; /* the view in the header already told us what we needed (§2.3) */
    struct round *r = find_round(se->prep, se->cfg.max_inflight, batch);
    if (!r) {
        se->stats.msgs_dropped_unexpected++; /* late or duplicate */
        return 0;
    }
    if (status != 0) {
        se->stats.votes_discarded++;
        logf_(se, NR_LOG_ERROR, "member %u refused batch %llu (%s)", h->sender,
              (unsigned long long)batch, status == 1 ? "conflict: fork attempt" : "full");
        return 0;
    }
    record_vote(r, h);
    try_complete(se, r);
    return 0;
}

static int on_fetch_reply(struct nr_se *se, const struct nr_peer_hdr *h, struct nr_cur *b)
{
    uint64_t req = 0;
    uint32_t count = 0;

    nr_cur_u64(b, &req);
    nr_cur_u32(b, &count);
    if (b->err)
        return b->err;
    if (count > NR_MAX_FETCH_KEYS || (uint64_t)count * NR_FETCH_REC_BYTES != b->left)
        return NR_EMALFORMED;
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
            halt(se, NR_ESUPERSEDED);
            return 0;
        }
        if (stamp > s->stamp || (stamp == s->stamp && version > s->version))
            se->stats.stale_leftovers++;
    }
    record_vote(r, h);
    try_complete(se, r);
    return 0;
}

/* ------------------------------------------------------------------------------------- */
/* receipt (§2) */

/* Is `inc` the incarnation of j that we accept? ACTIVE senders of protocol traffic that are
 * newer than anything we know are admitted implicitly: they completed a join through f+1
 * others (§2, step 4). */
static int accepts(struct nr_se *se, uint16_t j, nr_inc_t inc)
{
#ifdef NR_MUTATE_ACCEPT_SUPERSEDED
    if (inc != 0)
        return 1;
#endif
    if (inc == se->view[j] && se->view[j] >= se->seen[j])
        return 1;
    if (inc > se->view[j] && inc >= se->seen[j]) {
        se->view[j] = se->seen[j] = inc;
        logf_(se, NR_LOG_INFO, "member %u is now incarnation %016llx", j,
              (unsigned long long)inc);
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
        logf_(se, NR_LOG_WARN, "dropped message from member %u: %s", from, nr_strerror(rc));
        return rc;
    }
    if (h.dest_inc != 0 && h.dest_inc != se->inc) {
        se->stats.msgs_dropped_stale_inc++;
        return NR_EREPLAY;
    }
    /* Learn supersession from the view and the sender's incarnation (§2.3). */
    learn(se, from, h.sender_inc, h.sender_nonce);
    for (uint16_t j = 0; j < se->cfg.n; j++)
        learn(se, j, h.view[j], 0);
    if (se->seen[se->cfg.self] > se->inc) {
        if (se->state == NR_SE_JOINING) {
            reincarnate(se);
            return 0;
        }
        halt(se, NR_ESUPERSEDED);
        return NR_ESUPERSEDED;
    }

    switch (h.type) {
    case NR_MSG_JOIN_REQ:
        rc = on_join_req(se, &h, &body);
        break;
    case NR_MSG_JOIN_REPLY:
        rc = on_join_reply(se, &h, &body);
        break;
    default:
        if (se->state != NR_SE_ACTIVE) {
            se->stats.msgs_dropped_unexpected++;
            return NR_ENOTREADY;
        }
        if (!accepts(se, from, h.sender_inc)) {
            /* A superseded (or replayed older) incarnation: refuse, and tell it, so that
             * it learns from our view that it is superseded and halts (S6). */
            se->stats.msgs_dropped_stale_inc++;
            if (h.type == NR_MSG_PREPARE || h.type == NR_MSG_FETCH)
                send_ack(se, from, h.sender_inc, 0, ACK_STALE);
            return NR_EREPLAY;
        }
        if (h.type == NR_MSG_PREPARE)
            rc = on_prepare(se, &h, &body);
        else if (h.type == NR_MSG_ACK)
            rc = on_ack(se, &h, &body);
        else if (h.type == NR_MSG_FETCH)
            rc = on_fetch(se, &h, &body);
        else
            rc = on_fetch_reply(se, &h, &body);
        break;
    }
    if (rc && rc != NR_EBUSY) {
        se->stats.msgs_dropped_malformed++;
        logf_(se, NR_LOG_WARN, "dropped message type %u from member %u: %s", h.type, from,
              nr_strerror(rc));
    }
    return rc;
}

/* ------------------------------------------------------------------------------------- */
/* timers */

static int now_after(const struct nr_se *se, uint64_t sent_ms)
{
    return se->now_ms >= sent_ms + se->cfg.retransmit_ms;
}

static void retransmit(struct nr_se *se, struct round *rs)
{
    for (uint32_t i = 0; i < se->cfg.max_inflight; i++) {
        struct round *r = &rs[i];
        if (!r->in_use)
            continue;
        for (uint16_t j = 0; j < se->cfg.n; j++) {
            if (j == se->cfg.self)
                continue;
            if (!vote_counts(se, r->votes, j, COMMIT_FILTER) && now_after(se, r->sent_ms[j]))
                send_round(se, r, j);
        }
    }
}

void nr_se_tick(struct nr_se *se, uint64_t now_ms)
{
    se->now_ms = now_ms;
    if (se->state == NR_SE_JOINING) {
        if (now_ms >= se->join_round_ms + se->cfg.join_retry_ms) {
            se->join_round++;
            se->join_round_ms = now_ms;
            total_failure_check(se);
            if (se->state != NR_SE_JOINING)
                return;
            for (uint16_t j = 0; j < se->cfg.n; j++) {
                if (j == se->cfg.self || vote_counts(se, se->jvotes, j, JOIN_FILTER))
                    continue;
                if (se->jp[j].status == JP_PARTIAL &&
                    now_ms < se->jp[j].last_chunk_ms + se->cfg.join_retry_ms)
                    continue; /* a large snapshot still streaming in */
                send_join_req(se, j);
            }
        }
        return;
    }
    if (se->state != NR_SE_ACTIVE)
        return;
    retransmit(se, se->prep);
    retransmit(se, se->fetch);
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
        if (!vote_counts(se, se->jvotes, j, JOIN_FILTER))
            send_join_req(se, j);
        return;
    }
    if (se->state != NR_SE_ACTIVE)
        return;
    for (uint32_t i = 0; i < se->cfg.max_inflight; i++) {
        if (se->prep[i].in_use && !vote_counts(se, se->prep[i].votes, j, COMMIT_FILTER))
            send_round(se, &se->prep[i], j);
        if (se->fetch[i].in_use && !vote_counts(se, se->fetch[i].votes, j, COMMIT_FILTER))
            send_round(se, &se->fetch[i], j);
    }
}

/* ------------------------------------------------------------------------------------- */
/* local AE requests */

static void client_op(struct nr_se *se, uint64_t client, uint64_t req_id, const uint8_t *key,
                      uint8_t type, uint64_t version, const uint8_t *digest)
{
    struct op tmp = {.client = client, .req_id = req_id};

    if (se->state != NR_SE_ACTIVE) {
        reply(se, &tmp, se->state == NR_SE_JOINING ? NR_ENOTREADY : NR_EHALTED, 0, NULL);
        return;
    }
    if (type == OP_WRITE && version == 0) {
        reply(se, &tmp, NR_EINVAL, 0, NULL);
        return;
    }
    /* Even "no record" is only answered after a read quorum confirmed that we are current
     * (§4): an old instance must not claim a record is absent. */
    uint32_t si = slot_find(se, se->cfg.self, key, 1);
    if (si == NONE) {
        reply(se, &tmp, NR_EFULL, 0, NULL);
        return;
    }
    uint32_t i = op_alloc(se);
    if (i == NONE) {
        reply(se, &tmp, NR_EBUSY, 0, NULL);
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
    client_op(se, client, req_id, key, OP_WRITE, version, digest);
}

void nr_se_client_read(struct nr_se *se, uint64_t client, uint64_t req_id,
                       const uint8_t key[NR_KEY_BYTES], uint64_t now_ms)
{
    se->now_ms = now_ms;
    client_op(se, client, req_id, key, OP_READ, 0, NULL);
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
        send_ack(se, a.to, a.dest_inc, a.batch, a.status);
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

/* ------------------------------------------------------------------------------------- */
/* introspection */

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

int nr_se_get(const struct nr_se *se, uint16_t owner, const uint8_t key[NR_KEY_BYTES],
              struct nr_record *out)
{
    uint32_t si = slot_find((struct nr_se *)se, owner, key, 0);
    if (si == NONE)
        return NR_ENOTFOUND;
    const struct slot *s = &se->slots[si];
    memcpy(out->key, s->key, NR_KEY_BYTES);
    out->owner = s->owner;
    out->version = s->version;
    memcpy(out->digest, s->digest, NR_DIGEST_BYTES);
    out->stamp = s->stamp;
    return NR_OK;
}

size_t nr_se_record_count(const struct nr_se *se)
{
    return se->n_used;
}

void nr_se_foreach(const struct nr_se *se, int (*fn)(void *arg, const struct nr_record *r),
                   void *arg)
{
    struct nr_record r;
    for (uint32_t i = 0; i < se->n_slots; i++) {
        const struct slot *s = &se->slots[i];
        if (!s->used || s->version == 0)
            continue;
        memcpy(r.key, s->key, NR_KEY_BYTES);
        r.owner = s->owner;
        r.version = s->version;
        memcpy(r.digest, s->digest, NR_DIGEST_BYTES);
        r.stamp = s->stamp;
        if (fn(arg, &r))
            return;
    }
}
