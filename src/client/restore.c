/* The AE restart decision (docs/protocol.md §6) as a pure function of the sealed candidates
 * and the network record, so that every row of the table is unit-tested without a daemon. */
#include <string.h>

#include <sodium.h>

#include "client/client_internal.h"

void nr_sealed_order(struct nr_sealed_cand *a, struct nr_sealed_cand *b, int *swapped)
{
    int swap = 0;
    if (!a->present && b->present) {
        swap = 1;
    } else if (a->present && b->present && b->version > a->version) {
        swap = 1;
    }
    if (swap) {
        struct nr_sealed_cand t = *a;
        *a = *b;
        *b = t;
    }
    if (swapped) {
        *swapped = swap;
    }
}

static int same_digest(const uint8_t a[NR_DIGEST_BYTES], const uint8_t b[NR_DIGEST_BYTES])
{
    return sodium_memcmp(a, b, NR_DIGEST_BYTES) == 0;
}

int nr_restore_decide(const struct nr_sealed_cand *latest, const struct nr_sealed_cand *previous,
                      uint64_t net_version, const uint8_t net_digest[NR_DIGEST_BYTES], int *result,
                      int *pick)
{
    *pick = NR_PICK_NONE;
    *result = NR_RESTORE_NO_RECORD;

    if (net_version == 0) {
        /* No record anywhere. A sealed version 1 is a first update that never committed;
         * anything higher means a committed history that the network does not show. */
        if (!latest->present || latest->version <= 1) {
            return NR_OK;
        }
        return NR_EAHEAD;
    }
    if (!latest->present) {
        return NR_EROLLBACK; /* the network has a record, our sealed state is gone */
    }
    if (latest->version == net_version) {
        if (!same_digest(latest->digest, net_digest)) {
            return NR_EFORK;
        }
        *result = NR_RESTORE_FRESH;
        *pick = NR_PICK_LATEST;
        return NR_OK;
    }
    if (latest->version < net_version) {
        return NR_EROLLBACK;
    }
    if (latest->version - net_version > 1) {
        return NR_EAHEAD;
    }
    /* latest == net + 1: the last sealed update never committed; fall back to previous. */
    if (!previous->present || previous->version != net_version) {
        return NR_EROLLBACK; /* the committed state is not among our sealed files */
    }
    if (!same_digest(previous->digest, net_digest)) {
        return NR_EFORK;
    }
    *result = NR_RESTORE_DROPPED_UNCOMMITTED;
    *pick = NR_PICK_PREVIOUS;
    return NR_OK;
}
