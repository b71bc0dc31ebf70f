/* A log-linear latency histogram (HDR-style): exact below 128, then 64 linear sub-buckets per
 * power of two, so every recorded value is reported within 1/64 (1.6 %) of its true value.
 * Fixed size (NR_HIST_BUCKETS counters), no allocation, mergeable by adding counters: each
 * load-generator thread keeps its own and the main thread merges them at the end.
 * Values are plain uint64_t (nr-bench records nanoseconds). Not thread-safe. */
#ifndef NR_BENCH_HIST_H
#define NR_BENCH_HIST_H

#include <stddef.h>
#include <stdint.h>

#define NR_HIST_SUB_BITS 6u                              /* 64 sub-buckets per octave */
#define NR_HIST_SUB (1u << NR_HIST_SUB_BITS)
#define NR_HIST_LINEAR (2u * NR_HIST_SUB)                /* values < 128 are exact */
#define NR_HIST_BUCKETS ((64u - NR_HIST_SUB_BITS) * NR_HIST_SUB + NR_HIST_SUB) /* 3776 */

struct nr_hist {
    uint64_t count;
    uint64_t min; /* exact */
    uint64_t max; /* exact */
    long double sum;
    uint64_t bucket[NR_HIST_BUCKETS];
};

void nr_hist_init(struct nr_hist *h);
void nr_hist_record(struct nr_hist *h, uint64_t value);
/* dst += src. */
void nr_hist_merge(struct nr_hist *dst, const struct nr_hist *src);
/* The value at quantile q in [0, 1] (q = 0.5: median), reported as the midpoint of its bucket
 * clamped to [min, max]; 0 for an empty histogram. q >= 1 returns the exact max. */
uint64_t nr_hist_quantile(const struct nr_hist *h, double q);
double nr_hist_mean(const struct nr_hist *h);

/* Bucket arithmetic, exported for tests. */
size_t nr_hist_index(uint64_t value);
uint64_t nr_hist_bucket_low(size_t index);
uint64_t nr_hist_bucket_high(size_t index); /* inclusive */

#endif
