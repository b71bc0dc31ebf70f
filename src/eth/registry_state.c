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
static void add_offset(uint8_t s[32], uint32_t off)
{
    uint32_t carry = off;
    for (int i = 31; i >= 0 && carry; i--) {
        uint32_t v = s[i] + (carry & 0xffu);
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
