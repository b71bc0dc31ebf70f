/* Fuzz target for the client message batch decoder (src/core/wire.c): the plaintext of one
 * local-channel record, bytes an untrusted AE chose (narratord decodes them) or that a
 * compromised host replays to an AE's library.
 *
 * Properties checked on every input:
 *  - nr_client_msg_next never crashes and never reads past the record: the cursor only
 *    moves forward and stops inside the input;
 *  - every message it accepts re-encodes to exactly the bytes it consumed (the encoding is
 *    canonical: one message, one byte string);
 *  - nr_client_msg_decode accepts the input iff it is exactly one message.
 *
 * Built two ways: with -fsanitize=fuzzer under NR_FUZZ, and with NR_FUZZ_REPLAY as a plain
 * executable that runs every file of test/fuzz/corpus/client_msg once (CTest). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/wire.h"
#include "fuzz_replay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct nr_cur cur;
    struct nr_client_msg m;
    uint8_t re[NR_CLIENT_MAX_BYTES];
    unsigned count = 0;
    int rc = 0;

    if (size > NR_CLIENT_BATCH_MAX)
        return 0;
    nr_cur_init(&cur, data, size);
    while (cur.left > 0) {
        const uint8_t *start = cur.p;
        size_t before = cur.left;
        rc = nr_client_msg_next(&m, &cur);
        if (rc != 0)
            break;
        if (cur.left >= before || cur.p < start || cur.p > data + size)
            abort();
        size_t used = before - cur.left;
        size_t n = nr_client_msg_encode(re, sizeof re, &m);
        if (n != used || memcmp(re, start, n) != 0)
            abort();
        count++;
    }
    if (rc > 0)
        abort();
    int one = nr_client_msg_decode(&m, data, size);
    if ((one == 0) != (count == 1 && rc == 0 && cur.left == 0 && size > 0))
        abort();
    return 0;
}
