/* libnarrator sessions against a real 3-node network (started by session_api.sh): many
 * records over one channel, pipelined updates and reads across records (requests and replies
 * batched many to a channel record), the window, conflicts, closing a record with requests in
 * flight, batches larger than one channel record, and agreement with the single-record API.
 * Environment: NET (the network directory), NARRATOR_SYSTEM_ID. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "narrator/narrator.h"

#define AE "narrator-session-test/1"

static char g_net[512];
static unsigned g_seq;
static char g_sock[600], g_plat[600];

static void options(struct nr_client_options *o, uint32_t window)
{
    size_t bin_len = 0;
    memset(o, 0, sizeof *o);
    snprintf(g_sock, sizeof g_sock, "%s/node0/se.sock", g_net);
    snprintf(g_plat, sizeof g_plat, "%s/node0/platform", g_net);
    o->socket_path = g_sock;
    o->platform_dir = g_plat;
    o->code_identity = AE;
    o->timeout_ms = 10000;
    o->window = window;
    const char *sys = getenv("NARRATOR_SYSTEM_ID");
    assert_non_null(sys);
    assert_int_equal(
        sodium_hex2bin(o->system_id, sizeof o->system_id, sys, strlen(sys), NULL, &bin_len, NULL),
        0);
}

static struct nr_session *session(uint32_t window)
{
    struct nr_client_options o;
    struct nr_session *s = NULL;
    options(&o, window);
    assert_int_equal(nr_session_open(&s, &o), NR_OK);
    return s;
}

static const char *fresh_name(char *buf, size_t cap)
{
    snprintf(buf, cap, "srec-%u-%u", (unsigned)getpid(), g_seq++);
    return buf;
}

static void dg(uint8_t d[NR_DIGEST_BYTES], uint64_t v, unsigned rec)
{
    memset(d, 0, NR_DIGEST_BYTES);
    memcpy(d, &v, sizeof v);
    memcpy(d + 8, &rec, sizeof rec);
    d[31] = 0x5e;
}

/* Collect exactly `want` completions into out (in arrival order). */
static void collect(struct nr_session *s, struct nr_completion *out, size_t want)
{
    size_t got = 0;
    while (got < want) {
        size_t n = 0;
        assert_int_equal(nr_session_wait(s, out + got, want - got, &n), NR_OK);
        assert_true(n >= 1);
        got += n;
    }
}

static void test_many_records_pipelined(void **state)
{
    (void)state;
    enum { R = 40, W = 5 };
    char name[64];
    struct nr_session *s = session(R * W + R);
    struct nr_rec *r[R];
    uint8_t d[NR_DIGEST_BYTES];
    for (unsigned j = 0; j < R; j++)
        assert_int_equal(nr_record_open(&r[j], s, fresh_name(name, sizeof name)), NR_OK);
    /* W updates of every record in flight at once, tags = record * 100 + version */
    for (uint64_t v = 1; v <= W; v++)
        for (unsigned j = 0; j < R; j++) {
            dg(d, v, j);
            assert_int_equal(nr_record_submit_update(r[j], v, d, j * 100u + v), NR_OK);
        }
    assert_int_equal(nr_session_outstanding(s), R * W);
    static struct nr_completion c[R * W];
    collect(s, c, R * W);
    uint64_t last[R] = {0};
    for (unsigned k = 0; k < R * W; k++) {
        unsigned j = (unsigned)(c[k].tag / 100u);
        assert_true(j < R);
        assert_int_equal(c[k].op, NR_OP_UPDATE);
        assert_int_equal(c[k].status, NR_OK);
        assert_ptr_equal(c[k].record, r[j]);
        /* one record's updates commit in submission order */
        assert_int_equal(c[k].version, last[j] + 1u);
        assert_int_equal(c[k].tag % 100u, c[k].version);
        last[j] = c[k].version;
    }
    assert_int_equal(nr_session_outstanding(s), 0);
    /* reads of every record, pipelined: each sees its last version and digest */
    for (unsigned j = 0; j < R; j++)
        assert_int_equal(nr_record_submit_read(r[j], j), NR_OK);
    collect(s, c, R);
    for (unsigned k = 0; k < R; k++) {
        unsigned j = (unsigned)c[k].tag;
        assert_int_equal(c[k].op, NR_OP_READ);
        assert_int_equal(c[k].status, NR_OK);
        assert_int_equal(c[k].version, W);
        dg(d, W, j);
        assert_memory_equal(c[k].digest, d, NR_DIGEST_BYTES);
    }
    size_t n = 7;
    assert_int_equal(nr_session_wait(s, c, 1, &n), NR_ENOTFOUND);
    assert_int_equal(n, 0);
    for (unsigned j = 0; j < R; j++)
        nr_record_close(r[j]);
    nr_session_close(s);
}

static void test_window_conflict_and_no_record(void **state)
{
    (void)state;
    char name[64];
    struct nr_session *s = session(4);
    struct nr_rec *a = NULL, *b = NULL;
    uint8_t d[NR_DIGEST_BYTES];
    struct nr_completion c[4];
    assert_int_equal(nr_record_open(&a, s, fresh_name(name, sizeof name)), NR_OK);
    assert_int_equal(nr_record_open(&b, s, fresh_name(name, sizeof name)), NR_OK);
    /* a record nobody wrote reads as version 0 */
    assert_int_equal(nr_record_submit_read(b, 9), NR_OK);
    collect(s, c, 1);
    assert_int_equal(c[0].status, NR_OK);
    assert_int_equal(c[0].version, 0);
    /* the window: 4 outstanding, the 5th is refused */
    dg(d, 1, 0);
    assert_int_equal(nr_record_submit_update(a, 1, d, 1), NR_OK);
    assert_int_equal(nr_record_submit_update(a, 3, d, 3), NR_OK); /* not last + 1 */
    dg(d, 2, 0);
    assert_int_equal(nr_record_submit_update(a, 2, d, 2), NR_OK);
    assert_int_equal(nr_record_submit_read(b, 10), NR_OK);
    assert_int_equal(nr_record_submit_read(b, 11), NR_EFULL);
    collect(s, c, 4);
    int seen = 0;
    for (unsigned k = 0; k < 4; k++) {
        if (c[k].tag == 3) {
            assert_int_equal(c[k].status, NR_ECONFLICT); /* fails alone */
            assert_int_equal(c[k].version, 0);
        } else {
            assert_int_equal(c[k].status, NR_OK);
        }
        seen |= 1 << c[k].tag % 16u;
    }
    assert_int_equal(seen, (1 << 1) | (1 << 2) | (1 << 3) | (1 << 10));
    /* the session stays usable after a protocol answer */
    dg(d, 3, 0);
    assert_int_equal(nr_record_submit_update(a, 3, d, 4), NR_OK);
    collect(s, c, 1);
    assert_int_equal(c[0].status, NR_OK);
    assert_int_equal(c[0].version, 3);
    /* bad arguments */
    assert_int_equal(nr_record_submit_update(a, 0, d, 0), NR_EINVAL);
    struct nr_rec *bad = a;
    assert_int_equal(nr_record_open(&bad, s, ""), NR_EINVAL);
    assert_null(bad);
    assert_int_equal(nr_record_submit_open(&bad, s, "", 0), NR_EINVAL);
    nr_record_close(a);
    nr_record_close(b);
    nr_session_close(s);
}

/* More requests than fit in one 64 KiB channel record: the session sends several records. */
static void test_big_batch_and_close_in_flight(void **state)
{
    (void)state;
    enum { R = 200, W = 10 };
    char name[64];
    struct nr_session *s = session(R * W);
    static struct nr_rec *r[R];
    static struct nr_completion c[R * W];
    uint8_t d[NR_DIGEST_BYTES];
    for (unsigned j = 0; j < R; j++)
        assert_int_equal(nr_record_open(&r[j], s, fresh_name(name, sizeof name)), NR_OK);
    for (unsigned j = 0; j < R; j++)
        for (uint64_t v = 1; v <= W; v++) {
            dg(d, v, j);
            assert_int_equal(nr_record_submit_update(r[j], v, d, j), NR_OK);
        }
    assert_int_equal(nr_session_flush(s), NR_OK);
    /* closing a record with updates in flight: they complete, reported without it */
    nr_record_close(r[0]);
    collect(s, c, R * W);
    unsigned per[R] = {0}, orphans = 0;
    for (unsigned k = 0; k < R * W; k++) {
        assert_int_equal(c[k].status, NR_OK);
        per[c[k].tag]++;
        if (c[k].record == NULL) {
            assert_int_equal(c[k].tag, 0);
            orphans++;
        }
    }
    assert_int_equal(orphans, W);
    for (unsigned j = 0; j < R; j++)
        assert_int_equal(per[j], W);
    for (unsigned j = 1; j < R; j++)
        nr_record_close(r[j]);
    nr_session_close(s);
}

/* Pipelined opens: records opened and written in one batch, no round trip per open. */
static void test_pipelined_open(void **state)
{
    (void)state;
    enum { R = 500 };
    char name[64];
    struct nr_session *s = session(2 * R);
    static struct nr_rec *r[R];
    static struct nr_completion c[2 * R];
    uint8_t d[NR_DIGEST_BYTES];
    for (unsigned j = 0; j < R; j++) {
        assert_int_equal(nr_record_submit_open(&r[j], s, fresh_name(name, sizeof name), j), NR_OK);
        dg(d, 1, j);
        assert_int_equal(nr_record_submit_update(r[j], 1, d, R + j), NR_OK);
    }
    assert_int_equal(nr_session_outstanding(s), 2 * R);
    collect(s, c, 2 * R);
    unsigned opens = 0, updates = 0;
    for (unsigned k = 0; k < 2 * R; k++) {
        assert_int_equal(c[k].status, NR_OK);
        if (c[k].op == NR_OP_OPEN) {
            assert_true(c[k].tag < R);
            assert_ptr_equal(c[k].record, r[c[k].tag]);
            opens++;
        } else {
            assert_int_equal(c[k].op, NR_OP_UPDATE);
            assert_int_equal(c[k].version, 1);
            updates++;
        }
    }
    assert_int_equal(opens, R);
    assert_int_equal(updates, R);
    /* the synchronous open still works in the same session, and reads what was written */
    struct nr_rec *again = NULL;
    snprintf(name, sizeof name, "srec-%u-%u", (unsigned)getpid(), g_seq - 1);
    assert_int_equal(nr_record_open(&again, s, name), NR_OK);
    assert_int_equal(nr_record_submit_read(again, 1), NR_OK);
    collect(s, c, 1);
    assert_int_equal(c[0].version, 1);
    dg(d, 1, R - 1);
    assert_memory_equal(c[0].digest, d, NR_DIGEST_BYTES);
    nr_record_close(again);
    for (unsigned j = 0; j < R; j++)
        nr_record_close(r[j]);
    nr_session_close(s);
}

/* A session and the single-record API see the same records. */
static void test_agrees_with_nr_open(void **state)
{
    (void)state;
    char name[64];
    struct nr_client_options o;
    struct nr_session *s = session(8);
    struct nr_rec *r = NULL;
    struct nr_client *cl = NULL;
    uint8_t d[NR_DIGEST_BYTES], got[NR_DIGEST_BYTES];
    struct nr_completion c[1];
    uint64_t v = 0;
    fresh_name(name, sizeof name);
    assert_int_equal(nr_record_open(&r, s, name), NR_OK);
    dg(d, 1, 77);
    assert_int_equal(nr_record_submit_update(r, 1, d, 0), NR_OK);
    collect(s, c, 1);
    assert_int_equal(c[0].status, NR_OK);
    options(&o, 0);
    assert_int_equal(nr_open(&cl, &o, name), NR_OK);
    assert_int_equal(nr_read(cl, &v, got), NR_OK);
    assert_int_equal(v, 1);
    assert_memory_equal(got, d, NR_DIGEST_BYTES);
    dg(d, 2, 77);
    assert_int_equal(nr_update(cl, 2, d, &v), NR_OK);
    assert_int_equal(nr_record_submit_read(r, 5), NR_OK);
    collect(s, c, 1);
    assert_int_equal(c[0].version, 2);
    assert_memory_equal(c[0].digest, d, NR_DIGEST_BYTES);
    /* the session's stale write conflicts */
    assert_int_equal(nr_record_submit_update(r, 2, d, 6), NR_OK);
    collect(s, c, 1);
    assert_int_equal(c[0].status, NR_ECONFLICT);
    nr_close(cl);
    nr_record_close(r);
    nr_session_close(s);
}

int main(void)
{
    const char *net = getenv("NET");
    if (!net) {
        fprintf(stderr, "NET not set\n");
        return 2;
    }
    snprintf(g_net, sizeof g_net, "%s", net);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_many_records_pipelined),
        cmocka_unit_test(test_window_conflict_and_no_record),
        cmocka_unit_test(test_big_batch_and_close_in_flight),
        cmocka_unit_test(test_pipelined_open),
        cmocka_unit_test(test_agrees_with_nr_open),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
