/* Protocol core with an in-memory network: n = 3 SEs exchanging messages through FIFO
 * queues, members that can be taken down (their messages dropped) and restarted (new
 * incarnation, memory lost). The deterministic simulator (test/sim) covers faults
 * exhaustively; these tests pin the behaviours the core issue names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/core.h"
#include "core/wire.h"

#define N 3
#define MAXQ 4096

struct msg {
    uint16_t from, to;
    uint8_t *bytes;
    size_t len;
};

struct net;

struct node {
    struct net *net;
    uint16_t idx;
    struct nr_se *se;
    int up;
    uint32_t epoch;
};

struct reply {
    uint64_t client, req;
    int status;
    uint64_t version;
    uint8_t digest[NR_DIGEST_BYTES];
    int have;
};

struct net {
    struct node nodes[N];
    struct msg q[MAXQ];
    size_t qh, qt;
    uint64_t now;
    struct reply replies[256];
    int halted[N];
};

static void on_send(void *ctx, uint16_t to, const uint8_t *msg, size_t len)
{
    struct node *nd = ctx;
    struct net *net = nd->net;
    if (!nd->up || !net->nodes[to].up)
        return;
    assert_true(net->qt - net->qh < MAXQ);
    struct msg *m = &net->q[net->qt++ % MAXQ];
    m->from = nd->idx;
    m->to = to;
    m->bytes = malloc(len);
    memcpy(m->bytes, msg, len);
    m->len = len;
}

static void on_reply(void *ctx, uint64_t client, uint64_t req, int status, uint64_t version,
                     const uint8_t digest[NR_DIGEST_BYTES])
{
    struct node *nd = ctx;
    struct reply *r = &nd->net->replies[req % 256];
    r->client = client;
    r->req = req;
    r->status = status;
    r->version = version;
    memcpy(r->digest, digest, NR_DIGEST_BYTES);
    r->have = 1;
}

static void on_halted(void *ctx, int reason)
{
    struct node *nd = ctx;
    nd->net->halted[nd->idx] = reason;
}

static void on_log(void *ctx, int level, const char *msg)
{
    struct node *nd = ctx;
    if (level <= NR_LOG_WARN || getenv("NR_TEST_VERBOSE"))
        fprintf(stderr, "  [se%u t=%llu] %s\n", nd->idx, (unsigned long long)nd->net->now, msg);
}

static void start_node(struct net *net, uint16_t i, int was_active)
{
    struct node *nd = &net->nodes[i];
    struct nr_se_io io = {.ctx = nd, .send_peer = on_send, .client_reply = on_reply,
                          .halted = on_halted, .log = on_log};
    struct nr_se_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.n = N;
    cfg.f = 1;
    cfg.self = i;
    nd->epoch++;
    cfg.incarnation = nr_incarnation_make(nd->epoch, 0x1000u * (i + 1u) + nd->epoch);
    cfg.was_active = was_active;
    cfg.max_records = 1024;
    nd->net = net;
    nd->idx = i;
    nd->up = 1;
    assert_int_equal(nr_se_create(&nd->se, &cfg, &io), NR_OK);
    nr_se_start(nd->se, net->now);
}

static void stop_node(struct net *net, uint16_t i)
{
    net->nodes[i].up = 0;
    nr_se_destroy(net->nodes[i].se);
    net->nodes[i].se = NULL;
}

/* Deliver messages and advance time until quiet. */
static void run(struct net *net, uint64_t ms)
{
    uint64_t end = net->now + ms;
    while (net->now < end) {
        while (net->qh != net->qt) {
            struct msg m = net->q[net->qh++ % MAXQ];
            struct node *to = &net->nodes[m.to];
            if (to->up && net->nodes[m.from].up)
                (void)nr_se_on_peer_msg(to->se, m.from, m.bytes, m.len, net->now);
            free(m.bytes);
        }
        net->now += 10;
        for (uint16_t i = 0; i < N; i++)
            if (net->nodes[i].up) {
                nr_se_flush(net->nodes[i].se, net->now);
                nr_se_tick(net->nodes[i].se, net->now);
            }
    }
}

static struct net *net_new(void)
{
    struct net *net = calloc(1, sizeof(*net));
    for (uint16_t i = 0; i < N; i++)
        start_node(net, i, 0);
    run(net, 2000);
    for (uint16_t i = 0; i < N; i++)
        assert_int_equal(nr_se_state(net->nodes[i].se), NR_SE_ACTIVE);
    return net;
}

static void net_free(struct net *net)
{
    while (net->qh != net->qt)
        free(net->q[net->qh++ % MAXQ].bytes);
    for (uint16_t i = 0; i < N; i++)
        if (net->nodes[i].se)
            nr_se_destroy(net->nodes[i].se);
    free(net);
}

static void key_of(uint8_t key[NR_KEY_BYTES], int k)
{
    memset(key, 0, NR_KEY_BYTES);
    key[0] = (uint8_t)k;
    key[31] = 0x5a;
}

static void digest_of(uint8_t d[NR_DIGEST_BYTES], int k, uint64_t v)
{
    memset(d, 0, NR_DIGEST_BYTES);
    d[0] = (uint8_t)k;
    d[1] = (uint8_t)v;
    d[2] = 0xd1;
}

static uint64_t next_req = 1;

static struct reply *write_(struct net *net, uint16_t node, int k, uint64_t v, uint64_t wait)
{
    uint8_t key[NR_KEY_BYTES], d[NR_DIGEST_BYTES];
    uint64_t req = next_req++;
    key_of(key, k);
    digest_of(d, k, v);
    net->replies[req % 256].have = 0;
    nr_se_client_write(net->nodes[node].se, 7, req, key, v, d, net->now);
    run(net, wait);
    return &net->replies[req % 256];
}

static struct reply *read_(struct net *net, uint16_t node, int k, uint64_t wait)
{
    uint8_t key[NR_KEY_BYTES];
    uint64_t req = next_req++;
    key_of(key, k);
    net->replies[req % 256].have = 0;
    nr_se_client_read(net->nodes[node].se, 7, req, key, net->now);
    run(net, wait);
    return &net->replies[req % 256];
}

static void test_genesis_and_update(void **state)
{
    (void)state;
    struct net *net = net_new();
    struct reply *r = write_(net, 0, 1, 1, 100);
    assert_true(r->have);
    assert_int_equal(r->status, NR_OK);
    assert_int_equal(r->version, 1);
    /* Replicated to the peers: every member stores the record. */
    uint8_t key[NR_KEY_BYTES];
    key_of(key, 1);
    struct nr_record rec;
    int holders = 0;
    for (uint16_t i = 0; i < N; i++)
        if (nr_se_get(net->nodes[i].se, 0, key, &rec) == NR_OK && rec.version == 1)
            holders++;
    assert_true(holders >= 2);
    net_free(net);
}

static void test_reads_return_latest(void **state)
{
    (void)state;
    struct net *net = net_new();
    struct reply *r = read_(net, 1, 5, 100);
    assert_true(r->have);
    assert_int_equal(r->status, NR_OK);
    assert_int_equal(r->version, 0); /* no record */
    for (uint64_t v = 1; v <= 5; v++)
        assert_int_equal(write_(net, 1, 5, v, 100)->status, NR_OK);
    r = read_(net, 1, 5, 100);
    assert_int_equal(r->status, NR_OK);
    assert_int_equal(r->version, 5);
    uint8_t d[NR_DIGEST_BYTES];
    digest_of(d, 5, 5);
    assert_memory_equal(r->digest, d, NR_DIGEST_BYTES);
    net_free(net);
}

/* S2: the sequencer refuses a second write for an existing version, and a gap. */
static void test_S2_conflicting_write_refused(void **state)
{
    (void)state;
    struct net *net = net_new();
    assert_int_equal(write_(net, 0, 2, 1, 100)->status, NR_OK);
    assert_int_equal(write_(net, 0, 2, 2, 100)->status, NR_OK);
    struct reply *r = write_(net, 0, 2, 2, 100); /* same version again */
    assert_int_equal(r->status, NR_ECONFLICT);
    assert_int_equal(r->version, 2);
    assert_int_equal(write_(net, 0, 2, 4, 100)->status, NR_ECONFLICT); /* gap */
    assert_int_equal(write_(net, 0, 2, 1, 100)->status, NR_ECONFLICT); /* old */
    assert_int_equal(read_(net, 0, 2, 100)->version, 2);
    net_free(net);
}

/* n = 3: commit with one SE crashed; two crashed (memory lost) is beyond the budget:
 * writes block, and the restarted members detect total failure instead of serving. */
static void test_total_failure_when_two_of_three_lose_memory(void **state)
{
    (void)state;
    struct net *net = net_new();
    assert_int_equal(write_(net, 0, 3, 1, 100)->status, NR_OK);
    stop_node(net, 2);
    assert_int_equal(write_(net, 0, 3, 2, 100)->status, NR_OK);
    stop_node(net, 1);
    struct reply *r = write_(net, 0, 3, 3, 2000);
    assert_false(r->have); /* blocked: no quorum */
    start_node(net, 1, 1); /* restarts with lost memory and rejoins via 0 ... */
    run(net, 3000);
    /* ... but a join needs f+1 = 2 other ACTIVE members: 2 is down, so 1 waits. */
    assert_int_equal(nr_se_state(net->nodes[1].se), NR_SE_JOINING);
    assert_false(r->have);
    start_node(net, 2, 1);
    run(net, 3000);
    /* 1 and 2 both lost memory: more than f. Nobody can join: total failure, reported and
     * retried (not a halt): the instances stay JOINING and serve nothing. */
    assert_true(nr_se_stats(net->nodes[1].se)->total_failure ||
                nr_se_stats(net->nodes[2].se)->total_failure);
    assert_int_equal(nr_se_state(net->nodes[1].se), NR_SE_JOINING);
    assert_int_equal(nr_se_state(net->nodes[2].se), NR_SE_JOINING);
    assert_int_equal(net->halted[1], 0);
    assert_int_equal(net->halted[2], 0);
    assert_false(r->have);
    net_free(net);
}

static void test_L1_resume_after_member_returns(void **state)
{
    (void)state;
    struct net *net = net_new();
    assert_int_equal(write_(net, 0, 4, 1, 100)->status, NR_OK);
    /* n = 3: updates commit with one SE down, block with two down, and resume when one
     * returns. Down = cut off with its memory intact (a crash would lose memory). */
    net->nodes[2].up = 0;
    assert_int_equal(write_(net, 0, 4, 2, 100)->status, NR_OK);
    net->nodes[1].up = 0;
    struct reply *r = write_(net, 0, 4, 3, 1000);
    assert_false(r->have); /* two of three unreachable: blocked */
    net->nodes[1].up = 1;  /* one returns: the retransmitted PREPARE commits */
    run(net, 1000);
    assert_true(r->have);
    assert_int_equal(r->status, NR_OK);
    assert_int_equal(r->version, 3);
    net->nodes[2].up = 1;
    run(net, 1000);
    net_free(net);
}

/* A restarted SE rejoins, merges, and its first read writes the merged value back (S3). */
static void test_S3_restart_merge_and_read_writeback(void **state)
{
    (void)state;
    struct net *net = net_new();
    for (uint64_t v = 1; v <= 3; v++)
        assert_int_equal(write_(net, 0, 6, v, 100)->status, NR_OK);
    stop_node(net, 0);
    start_node(net, 0, 1);
    run(net, 2000);
    assert_int_equal(nr_se_state(net->nodes[0].se), NR_SE_ACTIVE);
    uint64_t before = nr_se_stats(net->nodes[0].se)->batches_committed;
    struct reply *r = read_(net, 0, 6, 200);
    assert_true(r->have);
    assert_int_equal(r->status, NR_OK);
    assert_int_equal(r->version, 3);
    /* The merged value was unconfirmed: the read wrote it back in a PREPARE round. */
    assert_int_equal(nr_se_stats(net->nodes[0].se)->batches_committed, before + 1);
    /* Peers now hold it stamped with the new incarnation. */
    uint8_t key[NR_KEY_BYTES];
    struct nr_record rec;
    key_of(key, 6);
    assert_int_equal(nr_se_get(net->nodes[1].se, 0, key, &rec), NR_OK);
    assert_int_equal(rec.version, 3);
    assert_true(rec.stamp == nr_se_incarnation(net->nodes[0].se) ||
                nr_se_get(net->nodes[2].se, 0, key, &rec) == NR_OK);
    /* And the sequence continues from the merged version. */
    assert_int_equal(write_(net, 0, 6, 4, 100)->status, NR_OK);
    assert_int_equal(write_(net, 0, 6, 4, 100)->status, NR_ECONFLICT);
    net_free(net);
}

/* An old instance that meets a newer incarnation of itself halts (S5, S6). */
static void test_S5_superseded_instance_halts(void **state)
{
    (void)state;
    struct net *net = net_new();
    assert_int_equal(write_(net, 0, 7, 1, 100)->status, NR_OK);
    /* Start a second instance of member 0 (a clone) in place of the first, keeping the
     * first alive off the network; the clone joins. */
    struct nr_se *old = net->nodes[0].se;
    net->nodes[0].se = NULL;
    start_node(net, 0, 1);
    run(net, 2000);
    assert_int_equal(nr_se_state(net->nodes[0].se), NR_SE_ACTIVE);
    struct nr_se *clone = net->nodes[0].se;
    /* The old instance comes back: its prepare is refused, and the ack-less retransmits
     * never commit; any message it receives exposes the newer incarnation. */
    net->nodes[0].se = old;
    uint8_t key[NR_KEY_BYTES], d[NR_DIGEST_BYTES];
    key_of(key, 7);
    digest_of(d, 99, 2);
    net->replies[200].have = 0;
    nr_se_client_write(old, 7, 200, key, 2, d, net->now);
    run(net, 1000);
    assert_true(net->replies[200].have);
    assert_int_equal(net->replies[200].status, NR_ESUPERSEDED);
    assert_int_equal(nr_se_state(old), NR_SE_HALTED);
    net->nodes[0].se = clone;
    nr_se_destroy(old);
    net->halted[0] = 0;
    assert_int_equal(read_(net, 0, 7, 200)->version, 1);
    net_free(net);
}

static void test_malformed_messages_dropped(void **state)
{
    (void)state;
    struct net *net = net_new();
    struct nr_se *se = net->nodes[1].se;
    uint8_t junk[64];
    memset(junk, 0xab, sizeof(junk));
    for (size_t len = 0; len < sizeof(junk); len++)
        assert_true(nr_se_on_peer_msg(se, 0, junk, len, net->now) < 0);
    assert_true(nr_se_stats(se)->msgs_dropped_malformed >= sizeof(junk));
    assert_int_equal(nr_se_state(se), NR_SE_ACTIVE);
    net_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_genesis_and_update),
        cmocka_unit_test(test_reads_return_latest),
        cmocka_unit_test(test_S2_conflicting_write_refused),
        cmocka_unit_test(test_total_failure_when_two_of_three_lose_memory),
        cmocka_unit_test(test_L1_resume_after_member_returns),
        cmocka_unit_test(test_S3_restart_merge_and_read_writeback),
        cmocka_unit_test(test_S5_superseded_instance_halts),
        cmocka_unit_test(test_malformed_messages_dropped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
