/* Fuzz target for the ABI decoders (return and revert data from an untrusted JSON-RPC node).
 *
 * The first input byte picks the word index, the rest is the data. Properties: no crash, every
 * returned slice lies inside the data, revert reasons are NUL-terminated printable ASCII within
 * the caller's capacity.
 *
 * Built with -fsanitize=fuzzer under NR_FUZZ, and with NR_FUZZ_REPLAY as a plain executable
 * that runs the files or directories named on its command line (CTest: corpus/abi). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eth/eth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_slice(const uint8_t *base, size_t len, const uint8_t *p, size_t n)
{
    if (p < base || p > base + len || n > (size_t)(base + len - p))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
    if (size == 0)
        return 0;
    size_t index = in[0] % 8u;
    /* a private copy, so that ASan sees any read past the end */
    size_t len = size - 1u;
    uint8_t *data = malloc(len ? len : 1u);
    if (data == NULL)
        return 0;
    if (len)
        memcpy(data, in + 1, len);

    uint8_t w[32], addr[NR_ETH_ADDR_BYTES];
    uint64_t u;
    int b;
    const uint8_t *p;
    size_t n;
    int have = nr_abi_word(data, len, index, w) == NR_OK;
    if (have != (index < len / 32u))
        abort();
    if (nr_abi_u64(data, len, index, &u) == NR_OK) {
        for (size_t i = 0; i < 8u; i++)
            if (!have || w[31u - i] != (uint8_t)(u >> (8u * i)))
                abort();
    }
    if (nr_abi_address(data, len, index, addr) == NR_OK) {
        if (!have || memcmp(addr, w + 12, NR_ETH_ADDR_BYTES) != 0)
            abort();
    }
    if (nr_abi_bool(data, len, index, &b) == NR_OK && b != 0 && b != 1)
        abort();
    if (nr_abi_dyn(data, len, index, &p, &n) == NR_OK)
        check_slice(data, len, p, n);
    if (nr_abi_array(data, len, index, &p, &n) == NR_OK) {
        if (n > len / 32u)
            abort();
        check_slice(data, len, p, 32u * n);
    }
    char reason[40];
    size_t cap = 1u + index * 5u; /* 1..36 */
    memset(reason, 'Z', sizeof reason);
    int rc = nr_abi_revert_reason(data, len, reason, cap);
    if (rc == NR_OK || rc == NR_ENOTFOUND || rc == NR_EMALFORMED) {
        size_t k = strnlen(reason, cap);
        if (k >= cap)
            abort(); /* not terminated within cap */
        for (size_t i = 0; i < k; i++)
            if (reason[i] < 0x20 || reason[i] > 0x7e)
                abort();
        if (reason[cap] != 'Z' && cap < sizeof reason)
            abort(); /* wrote past cap */
    } else {
        abort();
    }
    free(data);
    return 0;
}

/* Replay runner (NR_FUZZ_REPLAY): main() over the corpus, shared by every target. */
#include "fuzz_replay.h"
