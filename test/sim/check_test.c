/* Known-answer tests of the simulator's checker (check.c): hand-made histories that must
 * pass, and ones that must be reported as S1, S2 or S3 violations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sim.h"

struct fx {
    struct sim_world *w;
    int rec;
};

static int setup(void **state)
{
    struct sim_opts opt;
    memset(&opt, 0, sizeof(opt));
    opt.quiet = 1;
    struct fx *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    fx->w = sim_world_new(7, &opt, 3);
    assert_non_null(fx->w);
    fx->w->ninst = 1; /* ops name instance 0 in messages */
    snprintf(fx->w->inst[0].label, sizeof(fx->w->inst[0].label), "s0.0");
    fx->rec = sim_add_record(fx->w, 0);
    assert_true(fx->rec >= 0);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    fx->w->ninst = 0;
    sim_world_free(fx->w);
    free(fx);
    return 0;
}

/* Append an op: kind, ae, version, digest tag, invocation, response (0: open), status. */
static void op(struct fx *fx, int kind, int ae, uint64_t v, uint8_t tag, uint64_t inv,
               uint64_t resp, int status)
{
    struct sim_rec *r = &fx->w->rec[fx->rec];
    if (r->nops == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 16;
        r->ops = realloc(r->ops, r->cap * sizeof(*r->ops));
        assert_non_null(r->ops);
    }
    struct sim_op *o = &r->ops[r->nops++];
    memset(o, 0, sizeof(*o));
    o->kind = (uint8_t)kind;
    o->ae = (uint16_t)ae;
    o->v = v;
    if (v)
        memset(o->d, tag, sizeof(o->d));
    o->inv = inv;
    o->resp = resp;
    o->done = resp != 0;
    o->status = status;
}

#define W SIM_OP_WRITE
#define R SIM_OP_READ

static int check(struct fx *fx)
{
    return sim_check_record(fx->w, fx->rec);
}

static void test_sequential_ok(void **state)
{
    struct fx *fx = *state;
    op(fx, R, 0, 0, 0, 1, 2, NR_OK);
    op(fx, W, 0, 1, 0xa1, 3, 4, NR_OK);
    op(fx, R, 0, 1, 0xa1, 5, 6, NR_OK);
    op(fx, W, 0, 2, 0xa2, 7, 8, NR_OK);
    op(fx, R, 0, 2, 0xa2, 9, 10, NR_OK);
    assert_int_equal(check(fx), 0);
}

static void test_concurrent_ok(void **state)
{
    struct fx *fx = *state;
    op(fx, W, 0, 1, 0xa1, 1, 6, NR_OK); /* long write */
    op(fx, R, 1, 0, 0, 2, 3, NR_OK);    /* concurrent read sees the old value */
    op(fx, R, 1, 1, 0xa1, 4, 5, NR_OK); /* ... and then the new one */
    op(fx, R, 1, 1, 0xa1, 7, 8, NR_OK);
    assert_int_equal(check(fx), 0);
}

static void test_indeterminate_write_may_appear_later(void **state)
{
    struct fx *fx = *state;
    op(fx, W, 0, 1, 0xa1, 1, 0, 0); /* SE died: no reply */
    op(fx, R, 1, 0, 0, 2, 3, NR_OK);
    op(fx, R, 1, 1, 0xa1, 10, 11, NR_OK);      /* written back by a later incarnation */
    op(fx, W, 0, 2, 0xa2, 12, 13, NR_EHALTED); /* error: may or may not take effect */
    op(fx, R, 1, 2, 0xa2, 14, 15, NR_OK);
    assert_int_equal(check(fx), 0);
}

static void test_s1_rollback(void **state)
{
    struct fx *fx = *state;
    op(fx, W, 0, 1, 0xa1, 1, 2, NR_OK);
    op(fx, R, 0, 0, 0, 3, 4, NR_OK);
    assert_int_equal(check(fx), 1);
    assert_non_null(strstr(fx->w->why, "S1"));
}

static void test_s2_fork(void **state)
{
    struct fx *fx = *state;
    op(fx, W, 0, 1, 0xa1, 1, 3, NR_OK);
    op(fx, W, 1, 1, 0xb1, 2, 4, NR_OK);
    assert_int_equal(check(fx), 1);
    assert_non_null(strstr(fx->w->why, "S2"));
}

static void test_s3_value_never_written(void **state)
{
    struct fx *fx = *state;
    op(fx, W, 0, 1, 0xa1, 1, 2, NR_OK);
    op(fx, R, 0, 1, 0xee, 3, 4, NR_OK);
    assert_int_equal(check(fx), 1);
}

static void test_s3_read_before_write_invoked(void **state)
{
    struct fx *fx = *state;
    op(fx, R, 1, 1, 0xa1, 1, 2, NR_OK);
    op(fx, W, 0, 1, 0xa1, 3, 0, 0);
    assert_int_equal(check(fx), 1);
    assert_non_null(strstr(fx->w->why, "S3"));
}

static void test_s3_reads_go_backwards(void **state)
{
    struct fx *fx = *state;
    op(fx, W, 0, 1, 0xa1, 1, 0, 0); /* both writes indeterminate: no S1 */
    op(fx, W, 0, 2, 0xa2, 2, 0, 0);
    op(fx, R, 1, 2, 0xa2, 3, 4, NR_OK);
    op(fx, R, 2, 1, 0xa1, 5, 6, NR_OK); /* later read, older value */
    assert_int_equal(check(fx), 1);
    assert_non_null(strstr(fx->w->why, "S3"));
}

static void test_s3_refused_write_read(void **state)
{
    struct fx *fx = *state;
    op(fx, W, 0, 1, 0xa1, 1, 2, NR_ECONFLICT);
    op(fx, R, 0, 1, 0xa1, 3, 4, NR_OK);
    assert_int_equal(check(fx), 1);
}

static void test_s3_missing_version(void **state)
{
    struct fx *fx = *state;
    op(fx, W, 0, 2, 0xa2, 1, 2, NR_OK); /* v2 committed, nobody ever wrote v1 */
    assert_int_equal(check(fx), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sequential_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_indeterminate_write_may_appear_later, setup, teardown),
        cmocka_unit_test_setup_teardown(test_s1_rollback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_s2_fork, setup, teardown),
        cmocka_unit_test_setup_teardown(test_s3_value_never_written, setup, teardown),
        cmocka_unit_test_setup_teardown(test_s3_read_before_write_invoked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_s3_reads_go_backwards, setup, teardown),
        cmocka_unit_test_setup_teardown(test_s3_refused_write_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_s3_missing_version, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
