/* Unit tests of the benchmark histogram: bucket layout, precision bound, quantiles against
 * exact sorted samples, merging. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "hist.h"

static struct nr_hist *new_hist(void)
{
    struct nr_hist *h = malloc(sizeof(*h));
    assert_non_null(h);
    nr_hist_init(h);
    return h;
}

static void test_buckets_contiguous(void **state)
{
    (void)state;
    assert_int_equal(nr_hist_index(0), 0);
    assert_int_equal(nr_hist_index(127), 127);
    assert_int_equal(nr_hist_index(128), 128);
    assert_int_equal(nr_hist_index(UINT64_MAX), NR_HIST_BUCKETS - 1);
    assert_true(nr_hist_bucket_high(NR_HIST_BUCKETS - 1) == UINT64_MAX);
    for (size_t i = 0; i + 1 < NR_HIST_BUCKETS; i++) {
        /* buckets tile the whole range without gaps or overlaps */
        assert_true(nr_hist_bucket_high(i) + 1 == nr_hist_bucket_low(i + 1));
        assert_int_equal(nr_hist_index(nr_hist_bucket_low(i)), i);
        assert_int_equal(nr_hist_index(nr_hist_bucket_high(i)), i);
    }
}

static void test_precision(void **state)
{
    (void)state;
    /* every value lands in a bucket no wider than 1/64 of its low bound */
    uint64_t v = 1;
    for (int k = 0; k < 2000000; k++) {
        size_t i = nr_hist_index(v);
        uint64_t lo = nr_hist_bucket_low(i), hi = nr_hist_bucket_high(i);
        assert_true(lo <= v && v <= hi);
        if (lo >= NR_HIST_LINEAR) {
            assert_true((hi - lo + 1) * 64u <= lo);
        }
        v = v * 1000003u % 0x7fffffffffffffffu + 1u;
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void test_quantiles_vs_exact(void **state)
{
    (void)state;
    enum { N = 100000 };
    uint64_t *s = malloc(N * sizeof(*s));
    assert_non_null(s);
    struct nr_hist *h = new_hist();
    uint64_t x = 88172645463325252u;
    for (int i = 0; i < N; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        /* latency-like: mostly 50..500 us, a tail to 50 ms, in ns */
        uint64_t v = 50000u + x % 450000u;
        if (x % 100u == 0) {
            v = 1000000u + (x >> 8) % 49000000u;
        }
        s[i] = v;
        nr_hist_record(h, v);
    }
    qsort(s, N, sizeof(*s), cmp_u64);
    const double qs[] = {0.0, 0.5, 0.9, 0.99, 0.999};
    for (size_t k = 0; k < sizeof(qs) / sizeof(qs[0]); k++) {
        size_t rank = (size_t)(qs[k] * N);
        if (rank > 0 && (double)rank == qs[k] * N) {
            rank--; /* ceil(q*N) as 1-based rank -> 0-based index */
        }
        uint64_t exact = s[rank];
        uint64_t got = nr_hist_quantile(h, qs[k]);
        double rel = (double)(got > exact ? got - exact : exact - got) / (double)exact;
        assert_true(rel <= 1.0 / 64.0);
    }
    assert_true(nr_hist_quantile(h, 1.0) == s[N - 1]);
    assert_true(h->min == s[0]);
    assert_true(h->count == N);
    free(s);
    free(h);
}

static void test_merge(void **state)
{
    (void)state;
    struct nr_hist *a = new_hist(), *b = new_hist(), *all = new_hist();
    for (uint64_t v = 1; v < 200000; v += 7) {
        nr_hist_record((v / 7) % 2 ? a : b, v * 13);
        nr_hist_record(all, v * 13);
    }
    struct nr_hist *m = new_hist();
    nr_hist_merge(m, a);
    nr_hist_merge(m, b);
    assert_true(m->count == all->count);
    assert_true(m->min == all->min && m->max == all->max);
    for (size_t i = 0; i < NR_HIST_BUCKETS; i++) {
        assert_true(m->bucket[i] == all->bucket[i]);
    }
    assert_true(nr_hist_quantile(m, 0.99) == nr_hist_quantile(all, 0.99));
    /* merging an empty histogram changes nothing, an empty one reports 0 */
    struct nr_hist *e = new_hist();
    nr_hist_merge(m, e);
    assert_true(m->count == all->count);
    assert_true(nr_hist_quantile(e, 0.5) == 0);
    free(a);
    free(b);
    free(all);
    free(m);
    free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buckets_contiguous),
        cmocka_unit_test(test_precision),
        cmocka_unit_test(test_quantiles_vs_exact),
        cmocka_unit_test(test_merge),
    };
    return cmocka_run_group_tests_name("bench_hist", tests, NULL, NULL);
}
