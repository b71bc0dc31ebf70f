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

/* nr_evidence_verify, and the storage proofs must be exactly want[0..n_want) ("what" names
 * the read in errors). */
static int verify_slots(struct nr_evidence_result *r, const struct nr_evidence *ev,
                        const struct nr_evidence_policy *policy, const uint8_t (*want)[32],
                        size_t n_want, const char *what, char *err, size_t err_cap)
{
    int rc = nr_evidence_verify(r, ev, policy, err, err_cap);
    if (rc != NR_OK)
        return rc;
    if (r->n_slots != n_want)
        return nr_errf(err, err_cap, NR_EPROOF, "evidence: %zu storage proofs, the %s needs %zu",
                       r->n_slots, what, n_want);
    for (size_t j = 0; j < n_want; j++)
        if (memcmp(r->slot[j], want[j], 32) != 0)
            return nr_errf(err, err_cap, NR_EPROOF,
                           "evidence: storage proof %zu is for another slot than the %s needs", j,
                           what);
    return NR_OK;
}

int nr_evidence_genesis(struct nr_evidence_genesis *out, const struct nr_evidence *ev,
                        const struct nr_evidence_policy *policy, const uint8_t system_id[32],
                        uint32_t epoch, char *err, size_t err_cap)
{
    memset(out, 0, sizeof *out);
    struct nr_evidence_result r;
    uint8_t want[NR_EVIDENCE_GENESIS_SLOTS][32];
    nr_evidence_genesis_slots(want, system_id, epoch);
    int rc = verify_slots(&r, ev, policy, (const uint8_t(*)[32])want, NR_EVIDENCE_GENESIS_SLOTS,
                          "genesis", err, err_cap);
    if (rc != NR_OK)
        return rc;
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

size_t nr_evidence_epoch_slot_count(uint32_t epoch, uint32_t n)
{
    if (epoch == 0 || n > NR_REGISTRY_MAX_EPOCH_MEMBERS)
        return 0;
    return NR_EVIDENCE_EPOCH_HEAD_SLOTS +
           (epoch > NR_GENESIS_EPOCH_FIRST ? NR_EVIDENCE_EPOCH_RECORD_SLOTS : 0u) +
           NR_REGISTRY_MEMBER_FIELDS * (size_t)n + NR_REGISTRY_GENESIS_FIELDS;
}

size_t nr_evidence_epoch_slots(uint8_t slots[NR_EVIDENCE_EPOCH_MAX_SLOTS][32],
                               const uint8_t system_id[32], uint32_t epoch, uint32_t n)
{
    size_t count = nr_evidence_epoch_slot_count(epoch, n), k = 0;
    if (count == 0)
        return 0;
    for (uint32_t i = 0; i < NR_REGISTRY_SYSTEM_FIELDS; i++)
        nr_registry_slot_system(slots[k++], system_id, i);
    nr_registry_slot_members_length(slots[k++], system_id);
    nr_registry_slot_last_epoch(slots[k++], system_id);
    if (epoch > NR_GENESIS_EPOCH_FIRST) {
        for (uint32_t i = 0; i < NR_REGISTRY_EPOCH_FIELDS; i++)
            nr_registry_slot_epoch(slots[k++], system_id, epoch, i);
        nr_registry_slot_epoch_members_length(slots[k++], system_id, epoch);
    }
    for (uint32_t m = 0; m < n; m++)
        for (uint32_t i = 0; i < NR_REGISTRY_MEMBER_FIELDS; i++)
            nr_registry_slot_epoch_member(slots[k++], system_id, epoch, m, i);
    for (uint32_t i = 0; i < NR_REGISTRY_GENESIS_FIELDS; i++)
        nr_registry_slot_genesis(slots[k++], system_id, epoch, i);
    return k;
}

static int is_zero32(const uint8_t p[32])
{
    uint8_t acc = 0;
    for (size_t i = 0; i < 32; i++)
        acc |= p[i];
    return acc == 0;
}

/* The words of n consecutive slots, concatenated (the record decoders take one buffer). */
static void gather(uint8_t *out, const uint8_t (*words)[32], size_t n)
{
    for (size_t i = 0; i < n; i++)
        memcpy(out + 32 * i, words[i], 32);
}

/* The epoch record of epoch 1 (the finalised system) or >= 2, checked against the current one. */
static int epoch_record(struct nr_evidence_epoch *out, uint32_t epoch, const uint8_t (*words)[32],
                        size_t *k, char *err, size_t err_cap)
{
    struct nr_registry_epoch *e = &out->epoch;
    const struct nr_registry_system *sys = &out->system;
    if (epoch == NR_GENESIS_EPOCH_FIRST) {
        memset(e, 0, sizeof *e);
        e->epoch = epoch;
        e->exists = sys->finalized;
        if (e->exists) {
            e->n = sys->n;
            e->f = sys->f;
            e->kind = NR_REGISTRY_KIND_INIT;
            e->opened_block = sys->finalized_block;
            e->registered = sys->registered;
            memcpy(e->members_hash, sys->members_hash, 32);
        }
    } else {
        uint8_t w[NR_REGISTRY_EPOCH_FIELDS * 32];
        gather(w, words + *k, NR_REGISTRY_EPOCH_FIELDS);
        if (nr_registry_epoch_from_words(e, epoch, w, words[*k + NR_REGISTRY_EPOCH_FIELDS]) !=
            NR_OK)
            return nr_errf(err, err_cap, NR_ECHAIN,
                           "evidence: the record of epoch %u holds words the contract never "
                           "writes",
                           epoch);
        *k += NR_EVIDENCE_EPOCH_RECORD_SLOTS;
        if (e->exists && (e->kind == NR_REGISTRY_KIND_INIT || e->opened_block == 0 ||
                          is_zero32(e->predecessor) || is_zero32(e->state_root) || e->n == 0 ||
                          e->n > NR_REGISTRY_MAX_EPOCH_MEMBERS))
            return nr_errf(err, err_cap, NR_ECHAIN,
                           "evidence: epoch %u is open with fields openEpoch refuses (kind %u, "
                           "n %u, opened in block %" PRIu64 ")",
                           epoch, e->kind, e->n, e->opened_block);
    }
    if (!e->exists) {
        if (epoch <= out->current_epoch)
            return nr_errf(err, err_cap, NR_ECHAIN,
                           "evidence: the current epoch is %u but epoch %u has no record",
                           out->current_epoch, epoch);
        return NR_OK;
    }
    if (epoch > out->current_epoch)
        return nr_errf(err, err_cap, NR_ECHAIN,
                       "evidence: epoch %u is open beyond the current epoch %u", epoch,
                       out->current_epoch);
    if (e->n == 0 || e->f >= e->n || e->n != 2 * e->f + 1 || e->registered != e->n)
        return nr_errf(err, err_cap, NR_ECHAIN,
                       "evidence: epoch %u has n=%u f=%u and %u members stored", epoch, e->n, e->f,
                       e->registered);
    return NR_OK;
}

/* The n members: well-formed, distinct, and hashing to the epoch's members hash. */
static int epoch_members(struct nr_evidence_epoch *out, const uint8_t system_id[32], uint32_t epoch,
                         const uint8_t (*words)[32], size_t *k, char *err, size_t err_cap)
{
    const struct nr_registry_epoch *e = &out->epoch;
    for (uint32_t i = 0; i < e->n; i++) {
        struct nr_registry_member *m = &out->members[i];
        uint8_t w[NR_REGISTRY_MEMBER_FIELDS * 32];
        gather(w, words + *k, NR_REGISTRY_MEMBER_FIELDS);
        *k += NR_REGISTRY_MEMBER_FIELDS;
        if (nr_registry_member_from_words(m, w) != NR_OK || is_zero32(m->platform_id) ||
            is_zero32(m->identity_key))
            return nr_errf(err, err_cap, NR_ECHAIN,
                           "evidence: member %u of epoch %u is not a member the contract "
                           "stores",
                           i, epoch);
        for (uint32_t j = 0; j < i; j++)
            if (memcmp(out->members[j].platform_id, m->platform_id, 32) == 0 ||
                memcmp(out->members[j].identity_key, m->identity_key, 32) == 0)
                return nr_errf(err, err_cap, NR_ECHAIN,
                               "evidence: members %u and %u of epoch %u share a platform or an "
                               "identity key",
                               j, i, epoch);
    }
    uint8_t h[32];
    nr_registry_epoch_members_hash(h, system_id, epoch, e->n, e->f, out->system.measurement,
                                   out->members, e->n);
    if (memcmp(h, e->members_hash, 32) != 0)
        return nr_errf(err, err_cap, NR_ECHAIN,
                       "evidence: the members of epoch %u do not hash to its members hash", epoch);
    return NR_OK;
}

/* The genesis of the epoch: its id recomputed from its founders, n, predecessor and root. */
static int epoch_genesis(struct nr_evidence_epoch *out, const uint8_t system_id[32], uint32_t epoch,
                         const uint8_t (*words)[32], size_t k, char *err, size_t err_cap)
{
    struct nr_registry_epoch *e = &out->epoch;
    uint8_t w[NR_REGISTRY_GENESIS_FIELDS * 32];
    gather(w, words + k, NR_REGISTRY_GENESIS_FIELDS);
    if (nr_registry_genesis_from_words(&out->genesis, w) != NR_OK)
        return nr_errf(err, err_cap, NR_ECHAIN,
                       "evidence: the genesis of epoch %u holds words the contract never writes",
                       epoch);
    if (!out->genesis.recorded) {
        if (e->exists && epoch < out->current_epoch)
            return nr_errf(err, err_cap, NR_ECHAIN,
                           "evidence: epoch %u was succeeded without a genesis", epoch);
        return NR_OK;
    }
    struct nr_founder f[NR_GENESIS_MAX_FOUNDERS];
    if (!e->exists || nr_genesis_founders_unpack(f, e->n, out->genesis.founders) != NR_OK)
        return nr_errf(err, err_cap, NR_ECHAIN,
                       "evidence: a genesis is recorded for epoch %u, which cannot have one",
                       epoch);
    uint8_t id[32];
    nr_genesis_packed_id(id, system_id, epoch, e->n, out->genesis.founders, e->predecessor,
                         e->state_root);
    if (memcmp(id, out->genesis.id, 32) != 0)
        return nr_errf(err, err_cap, NR_ECHAIN,
                       "evidence: the recorded genesis id of epoch %u does not match its "
                       "founders, predecessor and state root",
                       epoch);
    e->has_genesis = 1;
    memcpy(e->genesis_id, out->genesis.id, 32);
    return NR_OK;
}

int nr_evidence_epoch_decode(struct nr_evidence_epoch *out, const uint8_t system_id[32],
                             uint32_t epoch, uint32_t n, const uint8_t (*words)[32], size_t n_words,
                             char *err, size_t err_cap)
{
    memset(out, 0, sizeof *out);
    if (err != NULL && err_cap > 0)
        err[0] = '\0';
    if (epoch == 0)
        return nr_errf(err, err_cap, NR_EINVAL, "evidence: there is no epoch 0");
    size_t want = nr_evidence_epoch_slot_count(epoch, n);
    if (want == 0)
        return nr_errf(err, err_cap, NR_ETOOBIG, "evidence: %u members (at most %u)", n,
                       NR_REGISTRY_MAX_EPOCH_MEMBERS);
    if (n_words != want)
        return nr_errf(err, err_cap, NR_EPROOF,
                       "evidence: %zu words, epoch %u with %u members needs %zu", n_words, epoch, n,
                       want);
    /* head: the system, its members length, lastOpenedEpoch */
    uint8_t sw[NR_REGISTRY_SYSTEM_FIELDS * 32];
    gather(sw, words, NR_REGISTRY_SYSTEM_FIELDS);
    if (nr_registry_system_from_words(&out->system, sw, words[NR_REGISTRY_SYSTEM_FIELDS]) !=
            NR_OK ||
        nr_registry_current_epoch_from_words(&out->current_epoch, &out->system,
                                             words[NR_REGISTRY_SYSTEM_FIELDS + 1]) != NR_OK)
        return nr_errf(err, err_cap, NR_ECHAIN,
                       "evidence: the system record holds words the contract never writes");
    size_t k = NR_EVIDENCE_EPOCH_HEAD_SLOTS;
    int rc = epoch_record(out, epoch, words, &k, err, err_cap);
    if (rc != NR_OK)
        return rc;
    const struct nr_registry_epoch *e = &out->epoch;
    if (e->exists && e->n > NR_REGISTRY_MAX_EPOCH_MEMBERS)
        return nr_errf(err, err_cap, NR_ETOOBIG,
                       "evidence: epoch %u has %u members; at most %u are read", epoch, e->n,
                       NR_REGISTRY_MAX_EPOCH_MEMBERS);
    if ((e->exists ? e->n : 0u) != n)
        return nr_errf(err, err_cap, NR_EPROOF,
                       "evidence: the proof covers %u members, epoch %u has %u", n, epoch,
                       e->exists ? e->n : 0u);
    if (e->exists && (rc = epoch_members(out, system_id, epoch, words, &k, err, err_cap)) != NR_OK)
        return rc;
    return epoch_genesis(out, system_id, epoch, words, k, err, err_cap);
}

int nr_evidence_epoch(struct nr_evidence_epoch *out, const struct nr_evidence *ev,
                      const struct nr_evidence_policy *policy, const uint8_t system_id[32],
                      uint32_t epoch, uint32_t n, char *err, size_t err_cap)
{
    memset(out, 0, sizeof *out);
    uint8_t want[NR_EVIDENCE_EPOCH_MAX_SLOTS][32];
    size_t n_want = nr_evidence_epoch_slots(want, system_id, epoch, n);
    if (n_want == 0)
        return nr_errf(err, err_cap, epoch == 0 ? NR_EINVAL : NR_ETOOBIG,
                       "evidence: no epoch read of epoch %u with %u members", epoch, n);
    struct nr_evidence_result r;
    int rc =
        verify_slots(&r, ev, policy, (const uint8_t(*)[32])want, n_want, "epoch", err, err_cap);
    if (rc != NR_OK)
        return rc;
    rc = nr_evidence_epoch_decode(out, system_id, epoch, n, (const uint8_t(*)[32])r.value,
                                  r.n_slots, err, err_cap);
    if (rc != NR_OK)
        return rc;
    out->block_number = r.block_number;
    memcpy(out->block_hash, r.block_hash, 32);
    return NR_OK;
}
