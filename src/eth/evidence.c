/* Chain evidence verification: see evidence.h. */
#include "eth/evidence.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/errf.h"

int nr_evidence_header(uint8_t hash[32], uint64_t *number, uint8_t state_root[32],
                       const uint8_t *rlp, size_t len)
{
    memset(hash, 0, 32);
    memset(state_root, 0, 32);
    *number = 0;
    if (rlp == NULL || len == 0 || len > NR_EVIDENCE_MAX_HEADER_BYTES)
        return NR_EPROOF;
    struct nr_rlp_item list, it;
    size_t consumed = 0;
    if (nr_rlp_decode(&list, rlp, len, &consumed) != NR_OK || consumed != len || !list.is_list)
        return NR_EPROOF;
    const uint8_t *cur = list.payload;
    size_t left = list.payload_len;
    int have_root = 0, have_number = 0;
    for (unsigned i = 0; left > 0; i++) {
        if (nr_rlp_next(&it, &cur, &left) != NR_OK)
            return NR_EPROOF;
        if (i == NR_EVIDENCE_HEADER_STATE_ROOT) {
            if (it.is_list || it.payload_len != 32)
                return NR_EPROOF;
            memcpy(state_root, it.payload, 32);
            have_root = 1;
        } else if (i == NR_EVIDENCE_HEADER_NUMBER) {
            if (it.is_list || nr_rlp_item_u64(number, &it) != NR_OK)
                return NR_EPROOF;
            have_number = 1;
        }
    }
    if (!have_root || !have_number)
        return NR_EPROOF;
    nr_keccak256(hash, rlp, len);
    return NR_OK;
}

int nr_evidence_verify(struct nr_evidence_result *out, const struct nr_evidence *ev,
                       const struct nr_evidence_policy *policy, char *err, size_t err_cap)
{
    memset(out, 0, sizeof *out);
    if (err != NULL && err_cap > 0)
        err[0] = '\0';
    size_t m = ev->n_headers;
    if (m == 0 || m > NR_EVIDENCE_MAX_HEADERS || policy->agree == 0 || policy->agree > m)
        return nr_errf(err, err_cap, NR_EINVAL, "evidence: %zu headers, %u must agree", m,
                       policy->agree);
    if (ev->n_storage > NR_EVIDENCE_MAX_SLOTS)
        return nr_errf(err, err_cap, NR_EINVAL, "evidence: %zu storage proofs (at most %u)",
                       ev->n_storage, NR_EVIDENCE_MAX_SLOTS);

    /* 1. k of m headers: the same block at height H. */
    uint8_t hash[NR_EVIDENCE_MAX_HEADERS][32], root[NR_EVIDENCE_MAX_HEADERS][32];
    int ok[NR_EVIDENCE_MAX_HEADERS];
    for (size_t i = 0; i < m; i++) {
        uint64_t number = 0;
        ok[i] = nr_evidence_header(hash[i], &number, root[i], ev->headers[i].p,
                                   ev->headers[i].len) == NR_OK &&
                number == ev->height;
    }
    int chosen = -1;
    unsigned best = 0;
    for (size_t i = 0; i < m; i++) {
        if (!ok[i])
            continue;
        unsigned same = 0;
        for (size_t j = 0; j < m; j++)
            same += ok[j] && memcmp(hash[i], hash[j], 32) == 0;
        if (same >= policy->agree && chosen >= 0 && memcmp(hash[i], hash[chosen], 32) != 0)
            return nr_errf(
                err, err_cap, NR_EDISAGREE,
                "evidence: headers %d and %zu are two different blocks at height %" PRIu64
                ", each with %u agreeing endpoints",
                chosen, i, ev->height, policy->agree);
        if (same >= policy->agree && chosen < 0) {
            chosen = (int)i;
            best = same;
        }
    }
    for (size_t i = 0; i < m; i++)
        if (chosen < 0 || !ok[i] || memcmp(hash[i], hash[chosen], 32) != 0)
            out->dissent |= 1u << i;
    if (chosen < 0) {
        unsigned valid = 0;
        for (size_t i = 0; i < m; i++)
            valid += (unsigned)ok[i];
        return nr_errf(
            err, err_cap, NR_EDISAGREE,
            "evidence: fewer than %u of %zu headers are the same block at height %" PRIu64
            " (%u are headers of that height)",
            policy->agree, m, ev->height, valid);
    }
    out->agreeing = best;
    out->block_number = ev->height;
    memcpy(out->block_hash, hash[chosen], 32);
    memcpy(out->state_root, root[chosen], 32);

    /* 2. never below the sealed highest height. */
    if (ev->height < policy->min_height)
        return nr_errf(err, err_cap, NR_ESTALE,
                       "evidence: height %" PRIu64 " is below the highest verified height %" PRIu64,
                       ev->height, policy->min_height);

    /* 3. the registry account. */
    struct nr_mpt_account acc;
    int found = 0;
    int rc = nr_mpt_account(&acc, &found, out->state_root, policy->registry, ev->account_proof,
                            ev->n_account_nodes);
    if (rc != NR_OK)
        return nr_errf(err, err_cap, NR_EPROOF,
                       "evidence: the registry's account proof does not verify against the state "
                       "root of block %" PRIu64,
                       ev->height);
    if (!found)
        return nr_errf(err, err_cap, NR_EPROOF,
                       "evidence: the registry account does not exist at block %" PRIu64,
                       ev->height);
    memcpy(out->storage_root, acc.storage_root, 32);

    /* 4. the storage words. */
    for (size_t j = 0; j < ev->n_storage; j++) {
        const struct nr_evidence_storage *s = &ev->storage[j];
        memcpy(out->slot[j], s->slot, 32);
        rc =
            nr_mpt_storage(out->value[j], &found, out->storage_root, s->slot, s->nodes, s->n_nodes);
        if (rc != NR_OK)
            return nr_errf(err, err_cap, NR_EPROOF,
                           "evidence: storage proof %zu does not verify against the registry's "
                           "storage root",
                           j);
    }
    out->n_slots = ev->n_storage;
    return NR_OK;
}

void nr_evidence_genesis_slots(uint8_t slots[NR_EVIDENCE_GENESIS_SLOTS][32],
                               const uint8_t system_id[32], uint32_t epoch)
{
    size_t k = 0;
    for (uint32_t i = 0; i < NR_REGISTRY_SYSTEM_FIELDS; i++)
        nr_registry_slot_system(slots[k++], system_id, i);
    nr_registry_slot_members_length(slots[k++], system_id);
    for (uint32_t i = 0; i < NR_REGISTRY_GENESIS_FIELDS; i++)
        nr_registry_slot_genesis(slots[k++], system_id, epoch, i);
}

int nr_evidence_genesis(struct nr_evidence_genesis *out, const struct nr_evidence *ev,
                        const struct nr_evidence_policy *policy, const uint8_t system_id[32],
                        uint32_t epoch, char *err, size_t err_cap)
{
    memset(out, 0, sizeof *out);
    struct nr_evidence_result r;
    int rc = nr_evidence_verify(&r, ev, policy, err, err_cap);
    if (rc != NR_OK)
        return rc;
    uint8_t want[NR_EVIDENCE_GENESIS_SLOTS][32];
    nr_evidence_genesis_slots(want, system_id, epoch);
    if (r.n_slots != NR_EVIDENCE_GENESIS_SLOTS)
        return nr_errf(err, err_cap, NR_EPROOF,
                       "evidence: %zu storage proofs, the genesis needs %u", r.n_slots,
                       NR_EVIDENCE_GENESIS_SLOTS);
    for (size_t j = 0; j < NR_EVIDENCE_GENESIS_SLOTS; j++)
        if (memcmp(r.slot[j], want[j], 32) != 0)
            return nr_errf(err, err_cap, NR_EPROOF,
                           "evidence: storage proof %zu is for another slot than the genesis needs",
                           j);
    uint8_t v[NR_EVIDENCE_GENESIS_SLOTS * 32]; /* the words, in nr_evidence_genesis_slots order */
    for (size_t j = 0; j < NR_EVIDENCE_GENESIS_SLOTS; j++)
        memcpy(v + 32 * j, r.value[j], 32);
    if (nr_registry_system_from_words(&out->system, v, v + 32 * NR_REGISTRY_SYSTEM_FIELDS) !=
            NR_OK ||
        nr_registry_genesis_from_words(&out->genesis, v + 32 * (NR_REGISTRY_SYSTEM_FIELDS + 1)) !=
            NR_OK)
        return nr_errf(err, err_cap, NR_ECHAIN,
                       "evidence: registry storage holds words the contract never writes");
    out->block_number = r.block_number;
    memcpy(out->block_hash, r.block_hash, 32);
    if (out->genesis.recorded) {
        struct nr_founder f[NR_GENESIS_MAX_FOUNDERS];
        uint8_t id[32];
        if (!out->system.exists || !out->system.finalized ||
            out->system.n > NR_GENESIS_MAX_FOUNDERS ||
            nr_genesis_founders_unpack(f, out->system.n, out->genesis.founders) != NR_OK)
            return nr_errf(err, err_cap, NR_ECHAIN,
                           "evidence: a genesis is recorded for a system that cannot have one");
        nr_genesis_packed_id(id, system_id, epoch, out->system.n, out->genesis.founders, NULL,
                             NULL);
        if (memcmp(id, out->genesis.id, 32) != 0)
            return nr_errf(err, err_cap, NR_ECHAIN,
                           "evidence: the recorded genesis id does not match its founders");
    }
    return NR_OK;
}
