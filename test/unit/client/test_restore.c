/* Unit tests: the AE restart decision table (docs/protocol.md §6), row by row. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "client/client_internal.h"

static struct nr_sealed_cand cand(uint64_t v, uint8_t d)
{
    struct nr_sealed_cand c;
    memset(&c, 0, sizeof c);
    c.present = v != 0;
    c.version = v;
    memset(c.digest, d, sizeof c.digest);
    return c;
}

/* Run one row: sealed (v1,d1) and (v2,d2) in any order, network (vn, dn). */
static int row(uint64_t v1, uint8_t d1, uint64_t v2, uint8_t d2, uint64_t vn, uint8_t dn,
               int *result, int *pick, uint64_t *picked_version)
{
    struct nr_sealed_cand a = cand(v1, d1), b = cand(v2, d2);
    uint8_t net[NR_DIGEST_BYTES];
    memset(net, dn, sizeof net);
    nr_sealed_order(&a, &b, NULL);
    int rc = nr_restore_decide(&a, &b, vn, net, result, pick);
    *picked_version = *pick == NR_PICK_LATEST ? a.version : *pick == NR_PICK_PREVIOUS ? b.version : 0;
    return rc;
}

static void test_fresh(void **state)
{
    (void)state;
    int res, pick;
    uint64_t v;
    assert_int_equal(row(5, 0x55, 4, 0x44, 5, 0x55, &res, &pick, &v), NR_OK);
    assert_int_equal(res, NR_RESTORE_FRESH);
    assert_int_equal(v, 5);
    /* order of the files does not matter */
    assert_int_equal(row(4, 0x44, 5, 0x55, 5, 0x55, &res, &pick, &v), NR_OK);
    assert_int_equal(res, NR_RESTORE_FRESH);
    assert_int_equal(v, 5);
    /* only one file needed */
    assert_int_equal(row(1, 0x11, 0, 0, 1, 0x11, &res, &pick, &v), NR_OK);
    assert_int_equal(res, NR_RESTORE_FRESH);
    assert_int_equal(v, 1);
}

static void test_dropped_uncommitted(void **state)
{
    (void)state;
    int res, pick;
    uint64_t v;
    assert_int_equal(row(6, 0x66, 5, 0x55, 5, 0x55, &res, &pick, &v), NR_OK);
    assert_int_equal(res, NR_RESTORE_DROPPED_UNCOMMITTED);
    assert_int_equal(pick, NR_PICK_PREVIOUS);
    assert_int_equal(v, 5);
}

static void test_rollback(void **state)
{
    (void)state;
    int res, pick;
    uint64_t v;
    /* sealed older than the network */
    assert_int_equal(row(3, 0x33, 2, 0x22, 4, 0x44, &res, &pick, &v), NR_EROLLBACK);
    assert_int_equal(row(3, 0x33, 0, 0, 9, 0x99, &res, &pick, &v), NR_EROLLBACK);
    /* missing while the network has a record */
    assert_int_equal(row(0, 0, 0, 0, 1, 0x11, &res, &pick, &v), NR_EROLLBACK);
    /* latest is net+1 but the committed version is not on disk */
    assert_int_equal(row(6, 0x66, 0, 0, 5, 0x55, &res, &pick, &v), NR_EROLLBACK);
    assert_int_equal(row(6, 0x66, 4, 0x44, 5, 0x55, &res, &pick, &v), NR_EROLLBACK);
    assert_int_equal(pick, NR_PICK_NONE);
}

static void test_fork(void **state)
{
    (void)state;
    int res, pick;
    uint64_t v;
    /* same version, different digest */
    assert_int_equal(row(5, 0x50, 4, 0x44, 5, 0x55, &res, &pick, &v), NR_EFORK);
    /* previous at net version with a different digest */
    assert_int_equal(row(6, 0x66, 5, 0x50, 5, 0x55, &res, &pick, &v), NR_EFORK);
}

static void test_ahead(void **state)
{
    (void)state;
    int res, pick;
    uint64_t v;
    assert_int_equal(row(7, 0x77, 6, 0x66, 5, 0x55, &res, &pick, &v), NR_EAHEAD);
    assert_int_equal(row(2, 0x22, 1, 0x11, 0, 0, &res, &pick, &v), NR_EAHEAD);
}

static void test_no_record(void **state)
{
    (void)state;
    int res, pick;
    uint64_t v;
    assert_int_equal(row(0, 0, 0, 0, 0, 0, &res, &pick, &v), NR_OK);
    assert_int_equal(res, NR_RESTORE_NO_RECORD);
    assert_int_equal(pick, NR_PICK_NONE);
    /* a first update that never committed */
    assert_int_equal(row(1, 0x11, 0, 0, 0, 0, &res, &pick, &v), NR_OK);
    assert_int_equal(res, NR_RESTORE_NO_RECORD);
    assert_int_equal(pick, NR_PICK_NONE);
}

static void test_order(void **state)
{
    (void)state;
    struct nr_sealed_cand a = cand(0, 0), b = cand(3, 0x33);
    int sw = 0;
    nr_sealed_order(&a, &b, &sw);
    assert_int_equal(sw, 1);
    assert_int_equal(a.version, 3);
    assert_false(b.present);
    a = cand(8, 1);
    b = cand(7, 2);
    nr_sealed_order(&a, &b, &sw);
    assert_int_equal(sw, 0);
    assert_int_equal(a.version, 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fresh),    cmocka_unit_test(test_dropped_uncommitted),
        cmocka_unit_test(test_rollback), cmocka_unit_test(test_fork),
        cmocka_unit_test(test_ahead),    cmocka_unit_test(test_no_record),
        cmocka_unit_test(test_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
