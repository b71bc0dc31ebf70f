/* The registry's records as data: see registry_state.h. */
#include "eth/registry_state.h"

#include <string.h>

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

static uint64_t get_be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

static int all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

/* keccak256(key . uint256(slot)): the slot of mapping[key] for a mapping at `slot`. */
static void mapping_slot(uint8_t out[32], const uint8_t key[32], const uint8_t slot[32])
{
    uint8_t buf[64];
    memcpy(buf, key, 32);
    memcpy(buf + 32, slot, 32);
    nr_keccak256(out, buf, sizeof buf);
}

static void word_u64(uint8_t w[32], uint64_t v)
{
    memset(w, 0, 32);
    put_be64(w + 24, v);
}

/* base + off as 256-bit big-endian numbers. */
static void add_offset(uint8_t s[32], uint64_t off)
{
    uint64_t carry = off;
    for (int i = 31; i >= 0 && carry; i--) {
        uint64_t v = s[i] + (carry & 0xffu);
        s[i] = (uint8_t)v;
        carry = (carry >> 8) + (v >> 8);
    }
}

void nr_registry_slot_system(uint8_t out_slot[32], const uint8_t system_id[32],
                             uint32_t field_offset)
{
    uint8_t p[32];
    word_u64(p, NR_REGISTRY_SLOT_SYSTEMS);
    mapping_slot(out_slot, system_id, p);
    add_offset(out_slot, field_offset);
}

void nr_registry_slot_members_length(uint8_t out_slot[32], const uint8_t system_id[32])
{
    uint8_t p[32];
    word_u64(p, NR_REGISTRY_SLOT_MEMBERS);
    mapping_slot(out_slot, system_id, p);
}

void nr_registry_slot_genesis(uint8_t out_slot[32], const uint8_t system_id[32], uint64_t epoch,
                              uint32_t field_offset)
{
    uint8_t p[32], inner[32], e[32];
    word_u64(p, NR_REGISTRY_SLOT_GENESES);
    mapping_slot(inner, system_id, p);
    word_u64(e, epoch);
    mapping_slot(out_slot, e, inner);
    add_offset(out_slot, field_offset);
}

int nr_registry_system_from_words(struct nr_registry_system *out,
                                  const uint8_t words[NR_REGISTRY_SYSTEM_FIELDS * 32],
                                  const uint8_t length[32])
{
    memset(out, 0, sizeof *out);
    const uint8_t *meta = words + 32 * NR_REGISTRY_SYSTEM_META;
    const uint8_t *blk = words + 32 * NR_REGISTRY_SYSTEM_BLOCKS;
    if (!all_zero(meta, 3) || meta[3] > 1 || !all_zero(blk, 16) || !all_zero(length, 24))
        return NR_EMALFORMED;
    out->finalized = meta[3];
    out->f = (uint32_t)get_be(meta + 4, 4);
    out->n = (uint32_t)get_be(meta + 8, 4);
    memcpy(out->creator, meta + 12, NR_ETH_ADDR_BYTES);
    out->exists = !all_zero(out->creator, NR_ETH_ADDR_BYTES);
    out->finalized_block = get_be(blk + 16, 8);
    out->created_block = get_be(blk + 24, 8);
    memcpy(out->measurement, words + 32 * NR_REGISTRY_SYSTEM_MEASUREMENT, 32);
    memcpy(out->members_hash, words + 32 * NR_REGISTRY_SYSTEM_MEMBERS_HASH, 32);
    uint64_t reg = get_be(length + 24, 8);
    if (reg > UINT32_MAX)
        return NR_EMALFORMED;
    out->registered = (uint32_t)reg;
    return NR_OK;
}

int nr_registry_genesis_from_words(struct nr_registry_genesis *out,
                                   const uint8_t words[NR_REGISTRY_GENESIS_FIELDS * 32])
{
    memset(out, 0, sizeof *out);
    const uint8_t *bp = words + 32 * NR_REGISTRY_GENESIS_BLOCK_POSTER;
    if (!all_zero(bp, 4))
        return NR_EMALFORMED;
    memcpy(out->id, words + 32 * NR_REGISTRY_GENESIS_ID, 32);
    out->recorded = !all_zero(out->id, 32);
    memcpy(out->poster, bp + 4, NR_ETH_ADDR_BYTES);
    out->block_number = get_be(bp + 24, 8);
    memcpy(out->founders, words + 32 * NR_REGISTRY_GENESIS_FOUNDERS, NR_GENESIS_FOUNDERS_BYTES);
    return NR_OK;
}

void nr_registry_slot_last_epoch(uint8_t out_slot[32], const uint8_t system_id[32])
{
    uint8_t p[32];
    word_u64(p, NR_REGISTRY_SLOT_LAST_EPOCH);
    mapping_slot(out_slot, system_id, p);
}

/* keccak256(uint256(epoch) . keccak256(id . uint256(slot))): a (system, epoch) mapping entry. */
static void epoch_entry(uint8_t out[32], const uint8_t system_id[32], uint64_t epoch, uint64_t slot)
{
    uint8_t p[32], inner[32], e[32];
    word_u64(p, slot);
    mapping_slot(inner, system_id, p);
    word_u64(e, epoch);
    mapping_slot(out, e, inner);
}

void nr_registry_slot_epoch(uint8_t out_slot[32], const uint8_t system_id[32], uint64_t epoch,
                            uint32_t field_offset)
{
    epoch_entry(out_slot, system_id, epoch, NR_REGISTRY_SLOT_EPOCHS);
    add_offset(out_slot, field_offset);
}

void nr_registry_slot_epoch_members_length(uint8_t out_slot[32], const uint8_t system_id[32],
                                           uint64_t epoch)
{
    if (epoch == NR_GENESIS_EPOCH_FIRST)
        nr_registry_slot_members_length(out_slot, system_id);
    else
        epoch_entry(out_slot, system_id, epoch, NR_REGISTRY_SLOT_EPOCH_MEMBERS);
}

void nr_registry_slot_epoch_member(uint8_t out_slot[32], const uint8_t system_id[32],
                                   uint64_t epoch, uint32_t index, uint32_t field_offset)
{
    uint8_t len[32];
    nr_registry_slot_epoch_members_length(len, system_id, epoch);
    nr_keccak256(out_slot, len, 32); /* a dynamic array's elements start at keccak256(slot) */
    add_offset(out_slot, (uint64_t)NR_REGISTRY_MEMBER_FIELDS * index + field_offset);
}

int nr_registry_epoch_from_words(struct nr_registry_epoch *out, uint32_t epoch,
                                 const uint8_t words[NR_REGISTRY_EPOCH_FIELDS * 32],
                                 const uint8_t length[32])
{
    memset(out, 0, sizeof *out);
    out->epoch = epoch;
    const uint8_t *meta = words + 32 * NR_REGISTRY_EPOCH_META;
    if (!all_zero(meta, 15) || meta[23] > NR_REGISTRY_KIND_RECOVERY || !all_zero(length, 28))
        return NR_EMALFORMED;
    out->n = (uint32_t)get_be(meta + 28, 4);
    out->f = (uint32_t)get_be(meta + 24, 4);
    out->kind = meta[23];
    out->opened_block = get_be(meta + 15, 8);
    memcpy(out->members_hash, words + 32 * NR_REGISTRY_EPOCH_MEMBERS_HASH, 32);
    memcpy(out->predecessor, words + 32 * NR_REGISTRY_EPOCH_PREDECESSOR, 32);
    memcpy(out->state_root, words + 32 * NR_REGISTRY_EPOCH_STATE_ROOT, 32);
    memcpy(out->handover_hash, words + 32 * NR_REGISTRY_EPOCH_HANDOVER, 32);
    out->registered = (uint32_t)get_be(length + 28, 4);
    out->exists = out->kind != 0;
    if (!out->exists && (!all_zero(words, NR_REGISTRY_EPOCH_FIELDS * 32) || out->registered != 0))
        return NR_EMALFORMED; /* openEpoch writes the kind with every other field */
    return NR_OK;
}

int nr_registry_member_from_words(struct nr_registry_member *out,
                                  const uint8_t words[NR_REGISTRY_MEMBER_FIELDS * 32])
{
    memset(out, 0, sizeof *out);
    const uint8_t *acct = words + 32 * NR_REGISTRY_MEMBER_ACCOUNT;
    if (!all_zero(acct, 12))
        return NR_EMALFORMED;
    memcpy(out->platform_id, words + 32 * NR_REGISTRY_MEMBER_PLATFORM, 32);
    memcpy(out->identity_key, words + 32 * NR_REGISTRY_MEMBER_IDENTITY, 32);
    memcpy(out->evidence_hash, words + 32 * NR_REGISTRY_MEMBER_EVIDENCE, 32);
    memcpy(out->account, acct + 12, NR_ETH_ADDR_BYTES);
    return NR_OK;
}

int nr_registry_current_epoch_from_words(uint32_t *out, const struct nr_registry_system *sys,
                                         const uint8_t last_opened[32])
{
    *out = 0;
    if (!all_zero(last_opened, 28))
        return NR_EMALFORMED;
    uint32_t last = (uint32_t)get_be(last_opened + 28, 4);
    if (last == NR_GENESIS_EPOCH_FIRST || (last != 0 && !sys->finalized))
        return NR_EMALFORMED; /* openEpoch opens epochs >= 2 of finalised systems only */
    *out = last != 0 ? last : (sys->finalized ? NR_GENESIS_EPOCH_FIRST : 0u);
    return NR_OK;
}

/* H_0 given; H_i = keccak256(H_{i-1} . platformId_i . identityKey_i . evidenceHash_i). */
static void members_chain(uint8_t h[32], const struct nr_registry_member *members, size_t n)
{
    uint8_t buf[128];
    for (size_t i = 0; i < n; i++) {
        memcpy(buf, h, 32);
        memcpy(buf + 32, members[i].platform_id, 32);
        memcpy(buf + 64, members[i].identity_key, 32);
        memcpy(buf + 96, members[i].evidence_hash, 32);
        nr_keccak256(h, buf, sizeof buf);
    }
}

void nr_registry_members_hash(uint8_t out[32], const uint8_t system_id[32], uint32_t n, uint32_t f,
                              const uint8_t measurement[32],
                              const struct nr_registry_member *members, size_t n_members)
{
    uint8_t buf[128];
    memcpy(buf, system_id, 32);
    word_u64(buf + 32, n);
    word_u64(buf + 64, f);
    memcpy(buf + 96, measurement, 32);
    nr_keccak256(out, buf, sizeof buf);
    members_chain(out, members, n_members);
}

void nr_registry_epoch_members_hash(uint8_t out[32], const uint8_t system_id[32], uint32_t epoch,
                                    uint32_t n, uint32_t f, const uint8_t measurement[32],
                                    const struct nr_registry_member *members, size_t n_members)
{
    if (epoch == NR_GENESIS_EPOCH_FIRST) {
        nr_registry_members_hash(out, system_id, n, f, measurement, members, n_members);
        return;
    }
    uint8_t buf[160];
    memcpy(buf, system_id, 32);
    word_u64(buf + 32, epoch);
    word_u64(buf + 64, n);
    word_u64(buf + 96, f);
    memcpy(buf + 128, measurement, 32);
    nr_keccak256(out, buf, sizeof buf);
    members_chain(out, members, n_members);
}
