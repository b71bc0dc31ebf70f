/* Fuzz target for the genesis membership parser (a file the host hands to the SE).
 *
 * Properties checked on every input:
 *  - nr_membership_parse never crashes; on error it returns an NR_E* code and a message that
 *    starts with the source name;
 *  - an accepted file is written back by nr_membership_write, and that text parses to a
 *    membership that writes back to the same bytes (the writer is a fixed point);
 *  - nr_membership_verify on an accepted file never crashes (the corpus holds a real genesis
 *    file, so the evidence checks are reached too). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chan/membership.h"
#include "fuzz_replay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct nr_membership m, m2;
    static char out[NR_MEMBERSHIP_MAX_BYTES], out2[NR_MEMBERSHIP_MAX_BYTES];
    char err[NR_MEMBERSHIP_ERR_BYTES];
    size_t olen = 0, olen2 = 0;
    int rc = nr_membership_parse(&m, "fuzz.txt", (const char *)data, size, err, sizeof err);
    if (rc != NR_OK) {
        if (rc >= 0 || strncmp(err, "fuzz.txt:", 9) != 0)
            abort();
        return 0;
    }
    if (nr_membership_write(&m, out, sizeof out, &olen) != NR_OK)
        abort();
    if (nr_membership_parse(&m2, "again", out, olen, err, sizeof err) != NR_OK)
        abort();
    if (nr_membership_write(&m2, out2, sizeof out2, &olen2) != NR_OK || olen != olen2 ||
        memcmp(out, out2, olen) != 0)
        abort();
    rc = nr_membership_verify(&m, "sim", NULL, err, sizeof err);
    if (rc > 0)
        abort();
    return 0;
}
