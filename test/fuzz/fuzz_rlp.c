/* Fuzz target for the RLP decoder (bytes from an untrusted JSON-RPC node or peer).
 *
 * Properties checked on every input:
 *  - nr_rlp_validate never crashes and returns 0 or an NR_E* decoding error;
 *  - a decode walk over the same bytes agrees with it (validate OK <=> the walk consumes the
 *    input exactly with no error, at most NR_RLP_MAX_DEPTH list levels);
 *  - an input that validates is canonical: re-encoding the decoded tree with the encoder
 *    reproduces it byte for byte.
 *
 * Built two ways: with -fsanitize=fuzzer under NR_FUZZ (LLVMFuzzerTestOneInput only), and with
 * NR_FUZZ_REPLAY as a plain executable that runs every file of the directories (or files)
 * named on its command line once; CTest runs it over test/fuzz/corpus/rlp. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eth/eth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Decode-walks one item (which must span in[0..len) exactly) and re-encodes it into out.
 * Returns 0 or an error. */
static int walk(const uint8_t *in, size_t len, unsigned depth, struct nr_rlp_buf *out)
{
    struct nr_rlp_item it;
    size_t used;
    int rc = nr_rlp_decode(&it, in, len, &used);
    if (rc != NR_OK)
        return rc;
    if (used != len)
        return NR_EMALFORMED;
    if (!it.is_list) {
        nr_u256 u;
        uint64_t v;
        int ru = nr_rlp_item_u256(&u, &it), rv = nr_rlp_item_u64(&v, &it);
        if (ru == NR_OK && rv == NR_OK) {
            nr_u256 back;
            nr_u256_from_u64(&back, v);
            if (nr_u256_cmp(&back, &u) != 0)
                abort();
        }
        nr_rlp_bytes(out, it.payload, it.payload_len);
        return NR_OK;
    }
    if (depth >= NR_RLP_MAX_DEPTH)
        return NR_ETOOBIG;
    size_t m = nr_rlp_list_begin(out);
    const uint8_t *cur = it.payload;
    size_t left = it.payload_len;
    while (left) {
        const uint8_t *start = cur;
        struct nr_rlp_item sub;
        rc = nr_rlp_next(&sub, &cur, &left);
        if (rc != NR_OK)
            return rc;
        rc = walk(start, (size_t)(cur - start), depth + 1u, out);
        if (rc != NR_OK)
            return rc;
    }
    nr_rlp_list_end(out, m);
    return NR_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int rc = nr_rlp_validate(data, size);
    if (rc != NR_OK && rc != NR_EMALFORMED && rc != NR_ETRUNCATED && rc != NR_ETOOBIG)
        abort();
    struct nr_rlp_buf out = {0};
    int wrc = walk(data, size, 0, &out);
    if ((rc == NR_OK) != (wrc == NR_OK))
        abort();
    if (wrc == NR_OK) {
        if (out.err != NR_OK || out.len != size || (size && memcmp(out.p, data, size) != 0))
            abort(); /* accepted but not canonical */
    }
    free(out.p);
    return 0;
}

/* Replay runner (NR_FUZZ_REPLAY): main() over the corpus, shared by every target. */
#include "fuzz_replay.h"
