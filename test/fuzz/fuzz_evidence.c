/* Fuzz target for the chain-evidence verifier (src/eth/evidence.c): every byte is from the
 * host. Input: 20-byte registry, 1 byte k, 1 byte min_height, 8-byte height (big-endian), then
 * items as (1-byte kind, 2-byte big-endian length, bytes): kind 0 = a header, 1 = an account
 * proof node, 2 = a storage slot (32 bytes) opening a new storage proof, 3 = a node of the
 * current storage proof. Properties: never crashes; returns NR_OK or one of NR_EPROOF,
 * NR_EDISAGREE, NR_ESTALE, NR_EINVAL (bad policy/sizes), NR_ECHAIN (genesis or epoch words),
 * NR_ETOOBIG (an epoch read of more than 16 members: nr_evidence_epoch); on NR_OK
 * the height is >= min_height and at least k headers hash to the block hash.
 *
 * Replay runner over test/fuzz/corpus/evidence (seeds from test/vectors/evidence_genesis.json). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eth/evidence.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct nr_eth_bytes g_nodes[NR_EVIDENCE_MAX_SLOTS + 1][NR_MPT_MAX_NODES];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 30)
        return 0;
    struct nr_evidence ev;
    struct nr_evidence_policy pol;
    memset(&ev, 0, sizeof ev);
    memset(&pol, 0, sizeof pol);
    memcpy(pol.registry, data, 20);
    pol.agree = data[20];
    pol.min_height = data[21];
    for (int i = 0; i < 8; i++)
        ev.height = (ev.height << 8) | data[22 + i];
    size_t pos = 30, n_acct = 0;
    ev.account_proof = g_nodes[NR_EVIDENCE_MAX_SLOTS];
    while (pos + 3 <= size) {
        unsigned kind = data[pos];
        size_t len = ((size_t)data[pos + 1] << 8) | data[pos + 2];
        pos += 3;
        if (len > size - pos)
            len = size - pos;
        struct nr_eth_bytes b = {data + pos, len};
        pos += len;
        if (kind == 0 && ev.n_headers < NR_EVIDENCE_MAX_HEADERS) {
            ev.headers[ev.n_headers++] = b;
        } else if (kind == 1 && n_acct < NR_MPT_MAX_NODES) {
            g_nodes[NR_EVIDENCE_MAX_SLOTS][n_acct++] = b;
        } else if (kind == 2 && len == 32 && ev.n_storage < NR_EVIDENCE_MAX_SLOTS) {
            memcpy(ev.storage[ev.n_storage].slot, b.p, 32);
            ev.storage[ev.n_storage].nodes = g_nodes[ev.n_storage];
            ev.n_storage++;
        } else if (kind == 3 && ev.n_storage > 0) {
            struct nr_evidence_storage *s = &ev.storage[ev.n_storage - 1];
            if (s->n_nodes < NR_MPT_MAX_NODES)
                g_nodes[ev.n_storage - 1][s->n_nodes++] = b;
        }
    }
    ev.n_account_nodes = n_acct;
    struct nr_evidence_result r;
    char err[256];
    int rc = nr_evidence_verify(&r, &ev, &pol, err, sizeof err);
    if (rc != NR_OK && rc != NR_EPROOF && rc != NR_EDISAGREE && rc != NR_ESTALE && rc != NR_EINVAL)
        abort();
    if (rc == NR_OK) {
        if (ev.height < pol.min_height || r.agreeing < pol.agree)
            abort();
        unsigned same = 0;
        for (size_t i = 0; i < ev.n_headers; i++) {
            uint8_t h[32];
            nr_keccak256(h, ev.headers[i].p, ev.headers[i].len);
            same += memcmp(h, r.block_hash, 32) == 0;
        }
        if (same < pol.agree)
            abort();
    }
    struct nr_evidence_genesis g;
    uint8_t sys[32] = {0};
    memcpy(sys, data, 20);
    rc = nr_evidence_genesis(&g, &ev, &pol, sys, 1, err, sizeof err);
    if (rc != NR_OK && rc != NR_EPROOF && rc != NR_EDISAGREE && rc != NR_ESTALE &&
        rc != NR_EINVAL && rc != NR_ECHAIN)
        abort();
    /* the epoch read over the same evidence: epoch and n from the policy bytes */
    static struct nr_evidence_epoch e;
    rc = nr_evidence_epoch(&e, &ev, &pol, sys, 1u + data[21] % 4u, data[20] % 18u, err, sizeof err);
    if (rc != NR_OK && rc != NR_EPROOF && rc != NR_EDISAGREE && rc != NR_ESTALE &&
        rc != NR_EINVAL && rc != NR_ECHAIN && rc != NR_ETOOBIG)
        abort();
    return 0;
}

#include "fuzz_replay.h"
