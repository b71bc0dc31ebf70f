/* The genesis record's encoding (genesis.h). */
#include "common/genesis.h"

#include <string.h>

#include "eth/eth.h" /* nr_keccak256 (src/eth/keccak.c, part of nr_common) */
#include "narrator/errors.h"

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

static uint64_t get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

/* n <= NR_GENESIS_MAX_FOUNDERS */
static void put_founders(uint8_t out[NR_GENESIS_FOUNDERS_BYTES], const struct nr_founder *f,
                         size_t n)
{
    memset(out, 0, NR_GENESIS_FOUNDERS_BYTES);
    for (size_t j = 0; j < n; j++) {
        uint8_t *p = out + j * NR_GENESIS_FOUNDER_BYTES; /* = word j/2, offset 16*(j%2) */
        put_be64(p, f[j].inc);
        put_be64(p + 8, f[j].nonce);
    }
}

/* n <= NR_GENESIS_MAX_FOUNDERS */
static void get_founders(struct nr_founder *f, size_t n,
                         const uint8_t in[NR_GENESIS_FOUNDERS_BYTES])
{
    for (size_t j = 0; j < n; j++) {
        const uint8_t *p = in + j * NR_GENESIS_FOUNDER_BYTES;
        f[j].inc = get_be64(p);
        f[j].nonce = get_be64(p + 8);
    }
}

static size_t clamp_founders(size_t n)
{
    return n < NR_GENESIS_MAX_FOUNDERS ? n : NR_GENESIS_MAX_FOUNDERS;
}

int nr_genesis_founders_pack(uint8_t out[NR_GENESIS_FOUNDERS_BYTES],
                             const struct nr_founder *founders, size_t n)
{
    if (n > NR_GENESIS_MAX_FOUNDERS) {
        memset(out, 0, NR_GENESIS_FOUNDERS_BYTES);
        return NR_EINVAL;
    }
    put_founders(out, founders, n);
    return NR_OK;
}

int nr_genesis_founders_unpack(struct nr_founder *out, size_t n,
                               const uint8_t in[NR_GENESIS_FOUNDERS_BYTES])
{
    if (n > NR_GENESIS_MAX_FOUNDERS)
        return NR_EINVAL;
    uint8_t acc = 0;
    for (size_t i = n * NR_GENESIS_FOUNDER_BYTES; i < NR_GENESIS_FOUNDERS_BYTES; i++)
        acc |= in[i];
    if (acc != 0)
        return NR_EMALFORMED;
    get_founders(out, n, in);
    return NR_OK;
}

void nr_genesis_packed_id(uint8_t out[NR_GENESIS_ID_BYTES],
                          const uint8_t system_id[NR_SYSTEM_ID_BYTES], uint32_t epoch, uint32_t n,
                          const uint8_t founders[NR_GENESIS_FOUNDERS_BYTES],
                          const uint8_t predecessor[NR_GENESIS_ID_BYTES],
                          const uint8_t state_root[NR_GENESIS_ID_BYTES])
{
    uint8_t buf[sizeof NR_GENESIS_DOMAIN - 1u + NR_SYSTEM_ID_BYTES + 4u + 4u +
                NR_GENESIS_FOUNDERS_BYTES + 2u * NR_GENESIS_ID_BYTES];
    uint8_t *p = buf;

    memcpy(p, NR_GENESIS_DOMAIN, sizeof NR_GENESIS_DOMAIN - 1u);
    p += sizeof NR_GENESIS_DOMAIN - 1u;
    memcpy(p, system_id, NR_SYSTEM_ID_BYTES);
    p += NR_SYSTEM_ID_BYTES;
    for (int i = 3; i >= 0; i--)
        *p++ = (uint8_t)(epoch >> (8 * i));
    for (int i = 3; i >= 0; i--)
        *p++ = (uint8_t)(n >> (8 * i));
    memcpy(p, founders, NR_GENESIS_FOUNDERS_BYTES);
    p += NR_GENESIS_FOUNDERS_BYTES;
    if (epoch > NR_GENESIS_EPOCH_FIRST) {
        static const uint8_t zero[NR_GENESIS_ID_BYTES];
        memcpy(p, predecessor ? predecessor : zero, NR_GENESIS_ID_BYTES);
        p += NR_GENESIS_ID_BYTES;
        memcpy(p, state_root ? state_root : zero, NR_GENESIS_ID_BYTES);
        p += NR_GENESIS_ID_BYTES;
    }
    nr_keccak256(out, buf, (size_t)(p - buf));
}

void nr_genesis_pack(uint8_t words[NR_GENESIS_WORDS][NR_GENESIS_WORD_BYTES],
                     const struct nr_genesis *g)
{
    put_founders((uint8_t *)words, g->founders, clamp_founders(g->n));
}

void nr_genesis_unpack(struct nr_genesis *g,
                       const uint8_t words[NR_GENESIS_WORDS][NR_GENESIS_WORD_BYTES], uint16_t n)
{
    memset(g->founders, 0, sizeof g->founders);
    g->n = n;
    get_founders(g->founders, clamp_founders(n), (const uint8_t *)words);
}

void nr_genesis_compute_id(uint8_t out[NR_GENESIS_ID_BYTES], const struct nr_genesis *g)
{
    uint8_t words[NR_GENESIS_WORDS][NR_GENESIS_WORD_BYTES];
    nr_genesis_pack(words, g);
    nr_genesis_packed_id(out, g->system_id, g->epoch, g->n, (const uint8_t *)words,
                         g->predecessor, g->state_root);
}
