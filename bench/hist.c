/* Log-linear histogram; see hist.h for the bucket layout. */
#include "hist.h"

#include <string.h>

void nr_hist_init(struct nr_hist *h)
{
    memset(h, 0, sizeof(*h));
    h->min = UINT64_MAX;
}

static unsigned log2_floor(uint64_t v)
{
    return 63u - (unsigned)__builtin_clzll(v);
}

size_t nr_hist_index(uint64_t value)
{
    if (value < NR_HIST_LINEAR) {
        return (size_t)value;
    }
    /* value has e+1 significant bits, e >= 7: keep the top 7 bits (64..127). */
    unsigned shift = log2_floor(value) - NR_HIST_SUB_BITS;
    return (size_t)shift * NR_HIST_SUB + (size_t)(value >> shift);
}

uint64_t nr_hist_bucket_low(size_t index)
{
    if (index < NR_HIST_LINEAR) {
        return (uint64_t)index;
    }
    unsigned shift = (unsigned)(index / NR_HIST_SUB) - 1u;
    uint64_t sub = (uint64_t)(index % NR_HIST_SUB) + NR_HIST_SUB;
    return sub << shift;
}

uint64_t nr_hist_bucket_high(size_t index)
{
    if (index < NR_HIST_LINEAR) {
        return (uint64_t)index;
    }
    unsigned shift = (unsigned)(index / NR_HIST_SUB) - 1u;
    uint64_t sub = (uint64_t)(index % NR_HIST_SUB) + NR_HIST_SUB;
    if (sub == 2u * NR_HIST_SUB - 1u && shift == 64u - NR_HIST_SUB_BITS - 1u) {
        return UINT64_MAX; /* last bucket: avoid overflowing the shift */
    }
    return ((sub + 1u) << shift) - 1u;
}

void nr_hist_record(struct nr_hist *h, uint64_t value)
{
    h->bucket[nr_hist_index(value)]++;
    h->count++;
    h->sum += (long double)value;
    if (value < h->min) {
        h->min = value;
    }
    if (value > h->max) {
        h->max = value;
    }
}

void nr_hist_merge(struct nr_hist *dst, const struct nr_hist *src)
{
    if (src->count == 0) {
        return;
    }
    for (size_t i = 0; i < NR_HIST_BUCKETS; i++) {
        dst->bucket[i] += src->bucket[i];
    }
    dst->count += src->count;
    dst->sum += src->sum;
    if (src->min < dst->min) {
        dst->min = src->min;
    }
    if (src->max > dst->max) {
        dst->max = src->max;
    }
}

uint64_t nr_hist_quantile(const struct nr_hist *h, double q)
{
    if (h->count == 0) {
        return 0;
    }
    if (q >= 1.0) {
        return h->max;
    }
    if (q < 0.0) {
        q = 0.0;
    }
    /* rank of the sample we want, 1-based: ceil(q * count), at least 1 */
    double want = q * (double)h->count;
    uint64_t rank = (uint64_t)want;
    if ((double)rank < want) {
        rank++;
    }
    if (rank == 0) {
        rank = 1;
    }
    uint64_t seen = 0;
    for (size_t i = 0; i < NR_HIST_BUCKETS; i++) {
        seen += h->bucket[i];
        if (seen >= rank) {
            uint64_t lo = nr_hist_bucket_low(i);
            uint64_t hi = nr_hist_bucket_high(i);
            uint64_t mid = lo + (hi - lo) / 2u;
            if (mid < h->min) {
                mid = h->min;
            }
            if (mid > h->max) {
                mid = h->max;
            }
            return mid;
        }
    }
    return h->max;
}

double nr_hist_mean(const struct nr_hist *h)
{
    return h->count ? (double)(h->sum / (long double)h->count) : 0.0;
}
