/* Fuzz target for the decoders of the registry's epoch words (src/eth/registry_state.c
 * nr_registry_epoch_from_words, nr_registry_member_from_words,
 * nr_registry_current_epoch_from_words; src/eth/evidence.c nr_evidence_epoch_decode): the words
 * are proven storage values, but the proof says only that the chain holds them, not that they
 * are well-formed, and the host picks epoch and n. Input: epoch (1 byte), n (1 byte), system id
 * (32 bytes), then 32-byte words (a partial last word is dropped).
 * Properties: never crashes; the word decoders return NR_OK or NR_EMALFORMED; the epoch decoder
 * returns NR_OK or one of NR_ECHAIN, NR_EPROOF, NR_EINVAL, NR_ETOOBIG; on NR_OK an open epoch
 * has n = 2f+1 members, as many as claimed, that hash to its members hash, and a recorded
 * genesis has the id of its founders, predecessor and state root.
 *
 * Replay runner over test/fuzz/corpus/epoch_words (real epoch reads from anvil, written by
 * test_chain_epochs with NR_TEST_EPOCH_CORPUS=test/fuzz/corpus/epoch_words). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eth/evidence.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t g_words[NR_EVIDENCE_EPOCH_MAX_SLOTS][32];
static struct nr_evidence_epoch g_out;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 34)
        return 0;
    uint32_t epoch = data[0], n = data[1];
    uint8_t sys[32];
    memcpy(sys, data + 2, 32);
    size_t n_words = (size - 34) / 32;
    if (n_words > NR_EVIDENCE_EPOCH_MAX_SLOTS)
        n_words = NR_EVIDENCE_EPOCH_MAX_SLOTS;
    memset(g_words, 0, sizeof g_words);
    memcpy(g_words, data + 34, 32 * n_words);
    const uint8_t *w = (const uint8_t *)g_words;

    /* the word decoders on whatever words come first */
    struct nr_registry_epoch e;
    struct nr_registry_member m;
    struct nr_registry_system s;
    uint32_t cur = 0;
    int rc = nr_registry_epoch_from_words(&e, epoch, w, w + 32 * NR_REGISTRY_EPOCH_FIELDS);
    if (rc != NR_OK && rc != NR_EMALFORMED)
        abort();
    if (rc == NR_OK && e.exists != (e.kind != 0))
        abort();
    rc = nr_registry_member_from_words(&m, w);
    if (rc != NR_OK && rc != NR_EMALFORMED)
        abort();
    if (nr_registry_system_from_words(&s, w, w + 32 * NR_REGISTRY_SYSTEM_FIELDS) == NR_OK) {
        rc = nr_registry_current_epoch_from_words(&cur, &s, w + 32 * 5);
        if (rc != NR_OK && rc != NR_EMALFORMED)
            abort();
        if (rc == NR_OK && (cur == 1) != (s.finalized && cur < 2))
            abort();
    }

    /* the epoch decoder */
    char err[256];
    rc = nr_evidence_epoch_decode(&g_out, sys, epoch, n, (const uint8_t(*)[32])g_words, n_words,
                                  err, sizeof err);
    if (rc != NR_OK && rc != NR_ECHAIN && rc != NR_EPROOF && rc != NR_EINVAL && rc != NR_ETOOBIG)
        abort();
    if (rc != NR_OK || !g_out.epoch.exists)
        return 0;
    const struct nr_registry_epoch *x = &g_out.epoch;
    if (x->n != n || x->n != 2 * x->f + 1 || x->n > NR_REGISTRY_MAX_EPOCH_MEMBERS ||
        epoch > g_out.current_epoch)
        abort();
    uint8_t h[32];
    nr_registry_epoch_members_hash(h, sys, epoch, x->n, x->f, g_out.system.measurement,
                                   g_out.members, x->n);
    if (memcmp(h, x->members_hash, 32) != 0)
        abort();
    if (x->has_genesis) {
        nr_genesis_packed_id(h, sys, epoch, x->n, g_out.genesis.founders, x->predecessor,
                             x->state_root);
        if (memcmp(h, x->genesis_id, 32) != 0)
            abort();
    }
    return 0;
}

#include "fuzz_replay.h"
