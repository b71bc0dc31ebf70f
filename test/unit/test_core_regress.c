/* Regression scenarios for safety findings of the core review (each once broke S1 or S2).
 * This test compiles the core's source in, to stage schedules message by message and to
 * pick keys by their slot position. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>

#include "core/se_internal.h"

#define N 3
#define MAXQ (1u << 16)

struct msg {
    uint16_t from, to;
    uint8_t *bytes;
    size_t len;
};
struct node {
    uint16_t idx;
    struct nr_se *se;
    int up;
    uint32_t epoch;
};
struct rep {
    int have, status;
    uint64_t version;
};

static struct node nodes[N];
static struct msg q[MAXQ];
static size_t qh, qt;
static uint64_t now_;
static struct rep reps[1u << 16];
static int halted_[N];
static int (*filter)(const struct msg *m); /* 0 deliver, 1 drop, 2 capture */
static struct msg cap[4096];
static int ncap;
static uint64_t nreq = 1;
static uint64_t nonce_seed = 0x1234567;
/* every instance created, so that reset() frees the ones a scenario orphaned */
static struct nr_se *all_se[64];
static int n_all;

static void destroy_se(struct nr_se *se)
{
    for (int i = 0; i < n_all; i++)
        if (all_se[i] == se) {
            all_se[i] = all_se[--n_all];
            nr_se_destroy(se);
            return;
        }
}

static void on_send(void *ctx, uint16_t to, const uint8_t *b, size_t len)
{
    struct node *nd = ctx;
    if (!nd->up || !nodes[to].up)
        return;
    struct msg *m = &q[qt++ % MAXQ];
    m->from = nd->idx;
    m->to = to;
    m->bytes = malloc(len);
    memcpy(m->bytes, b, len);
    m->len = len;
}

static void on_reply(void *ctx, uint64_t c, uint64_t req, int st, uint64_t v, const uint8_t *d)
{
    (void)ctx;
    (void)c;
    (void)d;
    struct rep *r = &reps[req % (1u << 16)];
    assert_false(r->have); /* exactly one reply per request */
    r->have = 1;
    r->status = st;
    r->version = v;
}

static void on_halted(void *ctx, int reason)
{
    halted_[((struct node *)ctx)->idx] = reason;
}

static void reset(void)
{
    while (qh != qt)
        free(q[qh++ % MAXQ].bytes);
    for (int i = 0; i < ncap; i++)
        free(cap[i].bytes);
    ncap = 0;
    while (n_all > 0)
        destroy_se(all_se[0]);
    for (int i = 0; i < N; i++) {
        memset(&nodes[i], 0, sizeof(nodes[i]));
        halted_[i] = 0;
    }
    memset(reps, 0, sizeof(reps));
    filter = NULL;
    now_ = 0;
}

static struct nr_se *start_node(uint16_t i, int was_active, uint32_t epoch)
{
    struct node *nd = &nodes[i];
    struct nr_se_io io = {.ctx = nd, .send_peer = on_send, .client_reply = on_reply,
                          .halted = on_halted};
    struct nr_se_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.n = N;
    cfg.f = 1;
    cfg.self = i;
    nd->epoch = epoch ? epoch : nd->epoch + 1u;
    cfg.incarnation = nr_incarnation_make(nd->epoch, 0x1000u * (i + 1u) + nd->epoch);
    nonce_seed = nonce_seed * 6364136223846793005ull + 1442695040888963407ull;
    cfg.nonce = nonce_seed | 1u;
    cfg.was_active = was_active;
    cfg.max_records = 16384;
    nd->idx = i;
    nd->up = 1;
    halted_[i] = 0;
    assert_int_equal(nr_se_create(&nd->se, &cfg, &io), NR_OK);
    assert_true(n_all < 64);
    all_se[n_all++] = nd->se;
    nr_se_start(nd->se, now_);
    return nd->se;
}

static void deliver(struct msg *m)
{
    if (nodes[m->to].up && nodes[m->from].up)
        (void)nr_se_on_peer_msg(nodes[m->to].se, m->from, m->bytes, m->len, now_);
}

static void run(uint64_t ms)
{
    uint64_t end = now_ + ms;
    while (now_ < end) {
        while (qh != qt) {
            struct msg m = q[qh++ % MAXQ];
            int f = filter ? filter(&m) : 0;
            if (f == 2 && ncap < 4096) {
                cap[ncap++] = m;
                continue;
            }
            if (f == 0)
                deliver(&m);
            free(m.bytes);
        }
        now_ += 10;
        for (uint16_t i = 0; i < N; i++)
            if (nodes[i].up) {
                nr_se_flush(nodes[i].se, now_);
                nr_se_tick(nodes[i].se, now_);
            }
    }
}

static void key_of(uint8_t k[32], uint32_t x)
{
    memset(k, 0, 32);
    memcpy(k, &x, 4);
    k[31] = 0x5a;
}

static uint64_t wr_on(struct nr_se *se, uint32_t k, uint64_t v, uint8_t tag)
{
    uint8_t key[32], d[32];
    key_of(key, k);
    memset(d, tag, 32);
    d[0] = (uint8_t)v;
    uint64_t r = nreq++;
    reps[r % (1u << 16)].have = 0;
    nr_se_client_write(se, 7, r, key, v, d, now_);
    return r % (1u << 16);
}

static uint64_t rd_on(struct nr_se *se, uint32_t k)
{
    uint8_t key[32];
    key_of(key, k);
    uint64_t r = nreq++;
    reps[r % (1u << 16)].have = 0;
    nr_se_client_read(se, 7, r, key, now_);
    return r % (1u << 16);
}

static void kill_node(uint16_t i)
{
    nodes[i].up = 0;
    destroy_se(nodes[i].se);
    nodes[i].se = NULL;
}

static void genesis(void)
{
    for (uint16_t i = 0; i < N; i++)
        start_node(i, 0, 0);
    run(2000);
    for (uint16_t i = 0; i < N; i++)
        assert_int_equal(nr_se_state(nodes[i].se), NR_SE_ACTIVE);
}

/* 1. A member that never stored anything must not let f+1 members whose sealed hints were
 * rolled back to "absent" run genesis again while a committed value exists. */
static int phase;
static int cut_se2(const struct msg *m)
{
    return (phase == 1 && (m->to == 2 || m->from == 2)) ? 1 : 0;
}

static void test_no_genesis_after_hint_rollback(void **state)
{
    (void)state;
    reset();
    filter = cut_se2;
    genesis();
    phase = 1;
    uint64_t w = wr_on(nodes[0].se, 7, 1, 1);
    run(300);
    assert_int_equal(reps[w].status, NR_OK);
    phase = 0;
    kill_node(0);
    kill_node(1);
    start_node(0, 0, 0);
    start_node(1, 0, 0); /* hints rolled back to "absent" */
    run(4000);
    for (uint16_t i = 0; i < 2; i++)
        assert_int_not_equal(nr_se_state(nodes[i].se), NR_SE_ACTIVE);
    assert_true(nr_se_stats(nodes[0].se)->total_failure ||
                nr_se_stats(nodes[1].se)->total_failure); /* reported, retrying */
    reset();
}

/* 2. An old instance, cut off and superseded, must not answer "no record" on its own. */
static void test_no_local_answer_for_absent_record(void **state)
{
    (void)state;
    reset();
    genesis();
    struct nr_se *old = nodes[0].se;
    nodes[0].se = NULL;
    struct nr_se *clone = start_node(0, 1, 0);
    run(2000);
    assert_int_equal(nr_se_state(clone), NR_SE_ACTIVE);
    uint64_t w = wr_on(clone, 5, 1, 1);
    run(200);
    assert_int_equal(reps[w].status, NR_OK);
    uint64_t r = rd_on(old, 5); /* the host never delivers its FETCH */
    nr_se_flush(old, now_);
    assert_false(reps[r].have);
    reset();
}

/* 3. Two instances that drew the same incarnation are told apart by their nonces: both are
 * refused, and they cannot commit two digests for one version. */
static void test_same_incarnation_clones_refused(void **state)
{
    (void)state;
    reset();
    genesis();
    uint32_t ep = nodes[0].epoch;
    struct nr_se *a = start_node(0, 1, ep + 1u);
    run(1000);
    assert_int_equal(nr_se_state(a), NR_SE_ACTIVE);
    struct nr_se *b = start_node(0, 1, ep + 1u); /* same incarnation as a */
    run(1000);
    assert_true(nodes[1].se->stats.incarnation_collisions + nodes[2].se->stats.incarnation_collisions > 0);
    /* route a only to member 1 and b only to member 2 */
    uint64_t ra = wr_on(a, 9, 1, 1), rb;
    nr_se_flush(a, now_);
    while (qh != qt) {
        struct msg m = q[qh++ % MAXQ];
        if (m.from == 0 && m.to == 1)
            deliver(&m);
        else if (m.to == 0 && m.from == 1)
            (void)nr_se_on_peer_msg(a, 1, m.bytes, m.len, now_);
        free(m.bytes);
    }
    rb = wr_on(b, 9, 1, 2);
    nr_se_flush(b, now_);
    while (qh != qt) {
        struct msg m = q[qh++ % MAXQ];
        if (m.from == 0 && m.to == 2)
            deliver(&m);
        else if (m.to == 0 && m.from == 2)
            (void)nr_se_on_peer_msg(b, 2, m.bytes, m.len, now_);
        free(m.bytes);
    }
    int committed = (reps[ra].have && reps[ra].status == NR_OK) +
                    (reps[rb].have && reps[rb].status == NR_OK);
    assert_true(committed <= 1);
    reset();
}

/* 4. Join reply chunks of two different snapshots must never be merged into one reply. */
static int capture_join_from_1(const struct msg *m)
{
    if (phase == 1 && (m->to == 2 || m->from == 2))
        return 1;
    if (phase == 2 && m->from == 1 && m->to == 0 && m->bytes[1] == NR_MSG_JOIN_REPLY)
        return 2;
    return 0;
}

static uint32_t chunk_of(const struct msg *m)
{
    const uint8_t *p = m->bytes + NR_PEER_HDR_BYTES(N) + 10;
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void test_join_snapshots_not_mixed(void **state)
{
    (void)state;
    reset();
    filter = capture_join_from_1;
    genesis();
    phase = 1;
    for (uint32_t k = 0; k < 4200; k++) {
        (void)wr_on(nodes[0].se, k, 1, 1);
        if (k % 500 == 0)
            run(20);
    }
    run(1000);
    phase = 0;
    run(100);
    struct nr_se *s1 = nodes[1].se;
    uint32_t idx = 0, sR = NONE;
    for (uint32_t i = 0; i < s1->n_slots; i++)
        if (s1->slots[i].used && s1->slots[i].version) {
            if (idx == 4095) {
                sR = i;
                break;
            }
            idx++;
        }
    assert_int_not_equal(sR, NONE);
    uint32_t Rk;
    memcpy(&Rk, s1->slots[sR].key, 4);
    kill_node(0);
    start_node(0, 1, 0);
    phase = 2;
    run(100);
    uint32_t kk = 100000;
    for (;; kk++) {
        uint8_t key[32];
        key_of(key, kk);
        uint32_t h = se_slot_hash(s1, 2, key);
        while (s1->slots[h].used)
            if (++h == s1->n_slots)
                h = 0;
        if (h < sR)
            break;
    }
    (void)wr_on(nodes[2].se, kk, 1, 9);
    run(100);
    int a = ncap;
    run(600);
    struct msg *A1 = NULL, *B0 = NULL;
    for (int i = 0; i < ncap; i++) {
        if (i < a && chunk_of(&cap[i]) == 1)
            A1 = &cap[i];
        if (i >= a && !B0 && chunk_of(&cap[i]) == 0)
            B0 = &cap[i];
    }
    assert_non_null(A1);
    assert_non_null(B0);
    phase = 3;
    deliver(B0);
    deliver(A1);
    /* Either still joining, or joined with R present. */
    struct nr_record rec;
    uint8_t key[32];
    key_of(key, Rk);
    if (nr_se_state(nodes[0].se) == NR_SE_ACTIVE)
        assert_int_equal(nr_se_get(nodes[0].se, 0, key, &rec), NR_OK);
    filter = NULL;
    run(3000);
    assert_int_equal(nr_se_state(nodes[0].se), NR_SE_ACTIVE);
    uint64_t r = rd_on(nodes[0].se, Rk);
    run(300);
    assert_true(reps[r].have);
    assert_int_equal(reps[r].status, NR_OK);
    assert_int_equal(reps[r].version, 1);
    uint64_t w = wr_on(nodes[0].se, Rk, 1, 2); /* same version, other digest */
    run(300);
    assert_int_equal(reps[w].status, NR_ECONFLICT);
    reset();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_genesis_after_hint_rollback),
        cmocka_unit_test(test_no_local_answer_for_absent_record),
        cmocka_unit_test(test_same_incarnation_clones_refused),
        cmocka_unit_test(test_join_snapshots_not_mixed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
