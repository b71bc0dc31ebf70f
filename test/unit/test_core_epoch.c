/* Epochs in the protocol core (docs/protocol.md §10) over an in-memory network: a handover
 * that freezes the epoch and certifies its state, the next epoch started from it through an
 * anchored genesis that names predecessor and root, and every start state the core refuses
 * (NR_EHANDOVER / NR_EINVAL). The simulator covers the same code under faults. */
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

#define MAXN 5
#define MAXQ 8192

struct net;
struct node {
    struct net *net;
    uint16_t idx;
    struct nr_se *se;
};
struct qm {
    uint16_t from, to;
    uint8_t *b;
    size_t len;
};
struct net {
    uint16_t n;
    struct node nodes[MAXN];
    struct qm q[MAXQ];
    size_t qh, qt;
    uint64_t now;
    int last_status[16];
    uint64_t last_version[16];
    int handovers;
    struct nr_handover cert;
    int proposed;
    struct nr_genesis proposal;
};

static const uint8_t SYS[NR_SYSTEM_ID_BYTES] = {7, 7, 7};

static void on_send(void *ctx, uint16_t to, const uint8_t *msg, size_t len)
{
    struct node *nd = ctx;
    struct net *net = nd->net;
    assert_true(net->qt - net->qh < MAXQ);
    struct qm *m = &net->q[net->qt++ % MAXQ];
    m->from = nd->idx;
    m->to = to;
    m->b = malloc(len);
    memcpy(m->b, msg, len);
    m->len = len;
}

static void on_reply(void *ctx, uint64_t client, uint64_t req, int status, uint64_t version,
                     const uint8_t *digest)
{
    struct node *nd = ctx;
    (void)client, (void)digest;
    nd->net->last_status[req % 16] = status;
    nd->net->last_version[req % 16] = version;
}

static int on_sign(void *ctx, const uint8_t *msg, size_t len, uint8_t sig[NR_SIG_BYTES])
{
    struct node *nd = ctx;
    memset(sig, (int)nd->idx, NR_SIG_BYTES);
    sig[0] = (uint8_t)len;
    (void)msg;
    return 0;
}

static void on_ready(void *ctx, const struct nr_handover *h)
{
    struct node *nd = ctx;
    nd->net->handovers++;
    nd->net->cert = *h;
}

static void on_proposed(void *ctx, const struct nr_genesis *g)
{
    struct node *nd = ctx;
    nd->net->proposed = 1;
    nd->net->proposal = *g;
}

static void on_log(void *ctx, int level, const char *msg)
{
    struct node *nd = ctx;
    if (level <= NR_LOG_ERROR || getenv("NR_TEST_VERBOSE"))
        fprintf(stderr, "  [se%u] %s\n", nd->idx, msg);
}

static struct nr_se *make(struct net *net, uint16_t i, uint32_t epoch, int anchored)
{
    struct node *nd = &net->nodes[i];
    struct nr_se_io io = {.ctx = nd,
                          .send_peer = on_send,
                          .client_reply = on_reply,
                          .log = on_log,
                          .sign = on_sign,
                          .handover_ready = on_ready,
                          .genesis_proposed = on_proposed};
    struct nr_se_config cfg;
    memset(&cfg, 0, sizeof cfg);
    memcpy(cfg.system_id, SYS, sizeof SYS);
    cfg.n = net->n;
    cfg.f = (uint16_t)((net->n - 1u) / 2u);
    cfg.self = i;
    cfg.epoch = epoch;
    cfg.anchored = anchored;
    cfg.incarnation = nr_incarnation_make(epoch, 0x1000u * (i + 1u) + epoch);
    cfg.max_records = 256;
    nd->net = net;
    nd->idx = i;
    assert_int_equal(nr_se_create(&nd->se, &cfg, &io), NR_OK);
    return nd->se;
}

static void run(struct net *net, uint64_t ms)
{
    uint64_t end = net->now + ms;
    while (net->now < end) {
        while (net->qh != net->qt) {
            struct qm m = net->q[net->qh++ % MAXQ];
            if (net->nodes[m.to].se)
                (void)nr_se_on_peer_msg(net->nodes[m.to].se, m.from, m.b, m.len, net->now);
            free(m.b);
        }
        net->now += 10;
        for (uint16_t i = 0; i < net->n; i++)
            if (net->nodes[i].se) {
                nr_se_flush(net->nodes[i].se, net->now);
                nr_se_tick(net->nodes[i].se, net->now);
            }
    }
}

static void free_net(struct net *net)
{
    while (net->qh != net->qt)
        free(net->q[net->qh++ % MAXQ].b);
    for (uint16_t i = 0; i < net->n; i++)
        nr_se_destroy(net->nodes[i].se);
    free(net);
}

static void key_of(uint8_t key[NR_KEY_BYTES], unsigned k)
{
    memset(key, 0, NR_KEY_BYTES);
    key[0] = (uint8_t)k;
    key[31] = 0xee;
}

static void write_rec(struct net *net, uint16_t at, unsigned k, uint64_t v, uint64_t req)
{
    uint8_t key[NR_KEY_BYTES], d[NR_DIGEST_BYTES];
    key_of(key, k);
    memset(d, (int)(v + k), sizeof d);
    net->last_status[req % 16] = 1;
    nr_se_client_write(net->nodes[at].se, 1, req, key, v, d, net->now);
}

/* An epoch-1 network of n (unanchored genesis) with records written at every member. */
static struct net *epoch1(uint16_t n)
{
    struct net *net = calloc(1, sizeof *net);
    net->n = n;
    for (uint16_t i = 0; i < n; i++)
        make(net, i, 1, 0);
    for (uint16_t i = 0; i < n; i++)
        nr_se_start(net->nodes[i].se, net->now);
    run(net, 2000);
    for (uint16_t i = 0; i < n; i++)
        assert_int_equal(nr_se_state(net->nodes[i].se), NR_SE_ACTIVE);
    for (uint16_t i = 0; i < n; i++) {
        for (uint64_t v = 1; v <= 3; v++) {
            write_rec(net, i, i, v, i);
            run(net, 200);
            assert_int_equal(net->last_status[i], NR_OK);
        }
    }
    return net;
}

struct collected {
    struct nr_record r[64];
    size_t n;
};

static int collect(void *arg, const struct nr_record *r)
{
    struct collected *c = arg;
    if (r->version != 0 && c->n < 64)
        c->r[c->n++] = *r;
    return 0;
}

static int rec_cmp(const void *a, const void *b)
{
    const struct nr_record *x = a, *y = b;
    if (x->owner != y->owner)
        return x->owner < y->owner ? -1 : 1;
    return memcmp(x->key, y->key, NR_KEY_BYTES);
}

/* The handover freezes everyone, certifies f+1 signatures and a root over every record;
 * FROZEN members refuse AE requests with NR_EEPOCH and admit nobody. */
static void test_handover_certifies_and_freezes(void **state)
{
    (void)state;
    struct net *net = epoch1(3);
    assert_int_equal(nr_se_handover(net->nodes[0].se, 3, net->now), NR_EINVAL); /* not e+1 */
    assert_int_equal(nr_se_handover(net->nodes[0].se, 2, net->now), NR_OK);
    assert_int_equal(nr_se_handover(net->nodes[0].se, 2, net->now), NR_ENOTREADY); /* once */
    run(net, 1000);
    assert_int_equal(net->handovers, 1);
    struct nr_handover h;
    assert_int_equal(nr_se_handover_result(net->nodes[0].se, &h), NR_OK);
    assert_int_equal(nr_se_handover_result(net->nodes[1].se, &h), NR_ENOTREADY);
    assert_int_equal(net->cert.count, 3);
    assert_true(net->cert.nsigs >= 2);
    assert_int_equal(net->cert.epoch, 1);
    assert_int_equal(net->cert.next_epoch, 2);
    for (uint16_t i = 0; i < 3; i++) {
        assert_int_equal(nr_se_state(net->nodes[i].se), NR_SE_FROZEN);
        assert_int_equal(nr_se_stats(net->nodes[i].se)->frozen, 1);
    }
    /* the root is that of the collector's table, sorted */
    struct collected c = {.n = 0};
    nr_se_foreach(net->nodes[0].se, collect, &c);
    qsort(c.r, c.n, sizeof c.r[0], rec_cmp);
    struct nr_state_root r;
    uint8_t root[NR_STATE_ROOT_BYTES];
    nr_state_root_init(&r, c.n);
    for (size_t k = 0; k < c.n; k++) {
        assert_int_equal(c.r[k].version, 3);
        nr_state_root_add(&r, c.r[k].owner, c.r[k].key, c.r[k].version, c.r[k].digest);
    }
    nr_state_root_final(&r, root);
    assert_memory_equal(root, net->cert.root, NR_STATE_ROOT_BYTES);
    /* a frozen member serves nothing */
    write_rec(net, 1, 1, 4, 9);
    assert_int_equal(net->last_status[9], NR_EEPOCH);
    free_net(net);
}

/* Epoch 2 starts from the certified state through an anchored genesis naming predecessor and
 * root; its first write continues the versions; a record naming another root is refused. */
static void test_next_epoch_starts_from_the_handover(void **state)
{
    (void)state;
    struct net *old = epoch1(3);
    assert_int_equal(nr_se_handover(old->nodes[2].se, 2, old->now), NR_OK);
    run(old, 1000);
    assert_int_equal(old->handovers, 1);
    struct collected c = {.n = 0};
    nr_se_foreach(old->nodes[2].se, collect, &c);
    qsort(c.r, c.n, sizeof c.r[0], rec_cmp);
    struct nr_handover cert = old->cert;

    /* grow 3 -> 5: old members keep their indices */
    struct net *net = calloc(1, sizeof *net);
    net->n = 5;
    uint16_t map[3] = {0, 1, 2};
    for (uint16_t i = 0; i < 5; i++) {
        struct nr_se *se = make(net, i, 2, 1);
        assert_int_equal(nr_se_load_start(se, cert.genesis, cert.root, map, 3, c.r, c.n), NR_OK);
        assert_int_equal(nr_se_stats(se)->start_records, 3);
    }
    for (uint16_t i = 0; i < 5; i++) {
        nr_se_start(net->nodes[i].se, net->now);
        nr_se_anchor(net->nodes[i].se, NULL, 1, net->now);
    }
    run(net, 1000);
    assert_true(net->proposed);
    assert_memory_equal(net->proposal.predecessor, cert.genesis, NR_GENESIS_ID_BYTES);
    assert_memory_equal(net->proposal.state_root, cert.root, NR_STATE_ROOT_BYTES);
    /* a record with another root is refused, the right one founds the epoch */
    struct nr_genesis bad = net->proposal;
    bad.state_root[0] ^= 1;
    nr_genesis_compute_id(bad.id, &bad);
    nr_se_anchor(net->nodes[0].se, &bad, 2, net->now);
    assert_int_equal(nr_se_stats(net->nodes[0].se)->anchor_refused, 1);
    for (uint16_t i = 0; i < 5; i++)
        nr_se_anchor(net->nodes[i].se, &net->proposal, 2, net->now);
    run(net, 500);
    for (uint16_t i = 0; i < 5; i++)
        assert_int_equal(nr_se_state(net->nodes[i].se), NR_SE_ACTIVE);
    /* versions continue: v4 after the handed-over v3; v3 again is a conflict */
    write_rec(net, 1, 1, 4, 3);
    run(net, 300);
    assert_int_equal(net->last_status[3], NR_OK);
    write_rec(net, 0, 0, 3, 4);
    run(net, 300);
    assert_int_equal(net->last_status[4], NR_ECONFLICT);
    /* messages of epoch 1 are dropped before anything is learnt from them */
    write_rec(old, 0, 0, 4, 5); /* frozen: NR_EEPOCH, nothing sent */
    assert_int_equal(old->last_status[5], NR_EEPOCH);
    free_net(old);
    free_net(net);
}

/* Every malformed start state is refused, and nothing of it stays in the table. */
static void test_start_state_refused(void **state)
{
    (void)state;
    struct net *net = calloc(1, sizeof *net);
    net->n = 3;
    struct nr_se *se = make(net, 0, 2, 1);
    struct nr_record r[3];
    memset(r, 0, sizeof r);
    for (int k = 0; k < 3; k++) {
        r[k].owner = (uint16_t)k;
        key_of(r[k].key, (unsigned)k);
        r[k].version = 2;
        memset(r[k].digest, k + 1, NR_DIGEST_BYTES);
    }
    uint8_t pred[NR_GENESIS_ID_BYTES], root[NR_STATE_ROOT_BYTES], zero[NR_GENESIS_ID_BYTES];
    memset(pred, 0x42, sizeof pred);
    memset(zero, 0, sizeof zero);
    struct nr_state_root sr;
    nr_state_root_init(&sr, 3);
    for (int k = 0; k < 3; k++)
        nr_state_root_add(&sr, r[k].owner, r[k].key, r[k].version, r[k].digest);
    nr_state_root_final(&sr, root);
    uint16_t map[3] = {0, 1, 2}, dup[3] = {0, 1, 1}, out[3] = {0, 1, 3};

    uint8_t badroot[NR_STATE_ROOT_BYTES];
    memcpy(badroot, root, sizeof root);
    badroot[5] ^= 0x80;
    assert_int_equal(nr_se_load_start(se, pred, badroot, map, 3, r, 3), NR_EHANDOVER);
    assert_int_equal(nr_se_load_start(se, pred, root, map, 3, r, 2), NR_EHANDOVER); /* count */
    struct nr_record swapped[3] = {r[1], r[0], r[2]};
    assert_int_equal(nr_se_load_start(se, pred, root, map, 3, swapped, 3), NR_EHANDOVER);
    struct nr_record twice[3] = {r[0], r[0], r[2]};
    assert_int_equal(nr_se_load_start(se, pred, root, map, 3, twice, 3), NR_EHANDOVER);
    struct nr_record v0[3] = {r[0], r[1], r[2]};
    v0[1].version = 0;
    assert_int_equal(nr_se_load_start(se, pred, root, map, 3, v0, 3), NR_EHANDOVER);
    assert_int_equal(nr_se_load_start(se, pred, root, map, 2, r, 3), NR_EHANDOVER); /* owner */
    assert_int_equal(nr_se_load_start(se, pred, root, dup, 3, r, 3), NR_EINVAL);
    assert_int_equal(nr_se_load_start(se, pred, root, out, 3, r, 3), NR_EINVAL);
    assert_int_equal(nr_se_load_start(se, zero, root, map, 3, r, 3), NR_EINVAL);
    assert_int_equal(nr_se_record_count(se), 0);
    /* the right one loads once; a departed member's records are dropped and counted */
    uint16_t gone[3] = {0, NR_OWNER_GONE, 1};
    assert_int_equal(nr_se_load_start(se, pred, root, gone, 3, r, 3), NR_OK);
    assert_int_equal(nr_se_stats(se)->start_records, 2);
    assert_int_equal(nr_se_stats(se)->start_dropped, 1);
    struct nr_record got;
    assert_int_equal(nr_se_get(se, 1, r[2].key, &got), NR_OK); /* old member 2 is now 1 */
    assert_int_equal(got.version, 2);
    assert_int_equal(got.stamp, NR_STAMP_START);
    assert_int_equal(nr_se_load_start(se, pred, root, map, 3, r, 3), NR_EINVAL); /* twice */
    free_net(net);

    /* epoch 1 has no start state */
    net = calloc(1, sizeof *net);
    net->n = 3;
    se = make(net, 0, 1, 1);
    assert_int_equal(nr_se_load_start(se, pred, root, map, 3, r, 3), NR_EINVAL);
    free_net(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handover_certifies_and_freezes),
        cmocka_unit_test(test_next_epoch_starts_from_the_handover),
        cmocka_unit_test(test_start_state_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
