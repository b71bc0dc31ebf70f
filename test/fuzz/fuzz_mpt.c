/* Fuzz target for the Merkle-Patricia proof verifier (src/eth/mpt.c): proof nodes come from an
 * untrusted node. Input: 32-byte root, 32-byte storage slot (the key is its keccak), then nodes as (2-byte big-endian length,
 * bytes). Properties: never crashes; returns NR_OK or NR_EPROOF; a found value lies inside one
 * of the nodes; NR_OK needs every node to hash-chain from the root (checked by recomputing that
 * the first node hashes to the root whenever any node is given).
 *
 * Built as a libFuzzer binary under NR_FUZZ, and as a replay runner (NR_FUZZ_REPLAY) that CTest
 * runs over test/fuzz/corpus/mpt (seeds: the proofs of test/vectors/evidence_genesis.json). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eth/mpt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 64)
        return 0;
    const uint8_t *root = data, *slot = data + 32;
    uint8_t key[32];
    nr_keccak256(key, slot, 32);
    struct nr_eth_bytes nodes[NR_MPT_MAX_NODES + 2];
    memset(nodes, 0, sizeof nodes);
    size_t n = 0, pos = 64;
    while (pos + 2 <= size && n < sizeof nodes / sizeof nodes[0]) {
        size_t len = ((size_t)data[pos] << 8) | data[pos + 1];
        pos += 2;
        if (len > size - pos)
            len = size - pos;
        nodes[n++] = (struct nr_eth_bytes){data + pos, len};
        pos += len;
    }
    const uint8_t *v = NULL;
    size_t vlen = 0;
    int found = 0;
    int rc = nr_mpt_verify(&v, &vlen, &found, root, key, nodes, n);
    if (rc != NR_OK && rc != NR_EPROOF)
        abort();
    if (rc == NR_OK && n > 0) {
        uint8_t h[32];
        nr_keccak256(h, nodes[0].p, nodes[0].len);
        if (memcmp(h, root, 32) != 0)
            abort();
    }
    if (rc == NR_OK && found) {
        int inside = 0;
        for (size_t i = 0; i < n; i++)
            if (v >= nodes[i].p && v + vlen <= nodes[i].p + nodes[i].len)
                inside = 1;
        if (!inside)
            abort();
    }
    if (rc != NR_OK && (found || v != NULL))
        abort();
    uint8_t word[32];
    rc = nr_mpt_storage(word, &found, root, slot, nodes, n);
    if (rc != NR_OK && rc != NR_EPROOF)
        abort();
    struct nr_mpt_account acc;
    rc = nr_mpt_account(&acc, &found, root, slot, nodes, n); /* the slot's first 20 bytes */
    if (rc != NR_OK && rc != NR_EPROOF)
        abort();
    return 0;
}

#include "fuzz_replay.h"
