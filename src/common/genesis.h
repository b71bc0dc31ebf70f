/* The genesis record's encoding (docs/protocol.md §6), one implementation for the protocol
 * core and the chain client: the founders packed into the registry's bytes32[8] words, and the
 * genesis id
 *   keccak256("narrator-genesis-v1" || system_id || be32(epoch) || be32(n) || words[8])
 * exactly what NarratorRegistry.recordGenesis checks, for a system's first epoch. A later
 * epoch (reconfiguration, recovery: docs/protocol.md §10) names the genesis it succeeds and the
 * state root it began from, so its id is
 *   keccak256("narrator-genesis-v1" || system_id || be32(epoch) || be32(n) || words[8]
 *             || predecessor[32] || state_root[32])          (epoch > NR_GENESIS_EPOCH_FIRST) Founder j (0 <= j < n) is 16 bytes at
 * byte 16 * (j % 2) of word j / 2: big-endian incarnation, then big-endian nonce; every other
 * byte is zero. Enclave-safe: no I/O, Keccak only. */
#ifndef NR_COMMON_GENESIS_H
#define NR_COMMON_GENESIS_H

#include <stddef.h>
#include <stdint.h>

#include "narrator/sizes.h"

#define NR_GENESIS_DOMAIN "narrator-genesis-v1" /* no NUL on the wire */
#define NR_GENESIS_MAX_FOUNDERS 16u             /* the contract's MAX_GENESIS_FOUNDERS */
#define NR_GENESIS_WORDS 8u                     /* bytes32[8] */
#define NR_GENESIS_WORD_BYTES 32u
#define NR_GENESIS_FOUNDERS_BYTES (NR_GENESIS_WORDS * NR_GENESIS_WORD_BYTES)
#define NR_GENESIS_FOUNDER_BYTES 16u /* one founder: incarnation, nonce */
#define NR_GENESIS_EPOCH_FIRST 1u     /* a system's first epoch: no predecessor */

/* A founding SE instance: member j founded the network as this incarnation (nr_inc_t) with
 * this instance nonce. */
struct nr_founder {
    uint64_t inc;
    uint64_t nonce;
};

/* A genesis record: the network of (system_id, epoch) founded by n instances. */
struct nr_genesis {
    uint8_t id[NR_GENESIS_ID_BYTES];
    uint8_t system_id[NR_SYSTEM_ID_BYTES];
    uint32_t epoch;
    uint16_t n;
    struct nr_founder founders[NR_GENESIS_MAX_FOUNDERS];
    /* epoch > NR_GENESIS_EPOCH_FIRST only (zero otherwise): the genesis id of the epoch this
     * one succeeds, and the root of the state it began from (the handover or recovery state) */
    uint8_t predecessor[NR_GENESIS_ID_BYTES];
    uint8_t state_root[NR_GENESIS_ID_BYTES];
};

/* Pack n founders into out (zeroed first). NR_EINVAL if n > NR_GENESIS_MAX_FOUNDERS. */
int nr_genesis_founders_pack(uint8_t out[NR_GENESIS_FOUNDERS_BYTES],
                             const struct nr_founder *founders, size_t n)
    __attribute__((warn_unused_result));
/* The inverse, for n founders from untrusted words: NR_EMALFORMED if a byte past founder n-1
 * is not zero, NR_EINVAL if n > NR_GENESIS_MAX_FOUNDERS. */
int nr_genesis_founders_unpack(struct nr_founder *out, size_t n,
                               const uint8_t in[NR_GENESIS_FOUNDERS_BYTES])
    __attribute__((warn_unused_result));
/* The genesis id of n founders already packed. predecessor and state_root are used only when
 * epoch > NR_GENESIS_EPOCH_FIRST (NULL: zero). */
void nr_genesis_packed_id(uint8_t out[NR_GENESIS_ID_BYTES],
                          const uint8_t system_id[NR_SYSTEM_ID_BYTES], uint32_t epoch, uint32_t n,
                          const uint8_t founders[NR_GENESIS_FOUNDERS_BYTES],
                          const uint8_t predecessor[NR_GENESIS_ID_BYTES],
                          const uint8_t state_root[NR_GENESIS_ID_BYTES]);

/* The same on a struct nr_genesis (the protocol core's form): pack g's founders (at most
 * NR_GENESIS_MAX_FOUNDERS of g->n); unpack n of them (g->n = n, no check of the unused
 * bytes); the genesis id of g, which neither reads nor writes g->id. */
void nr_genesis_pack(uint8_t words[NR_GENESIS_WORDS][NR_GENESIS_WORD_BYTES],
                     const struct nr_genesis *g);
void nr_genesis_unpack(struct nr_genesis *g,
                       const uint8_t words[NR_GENESIS_WORDS][NR_GENESIS_WORD_BYTES], uint16_t n);
void nr_genesis_compute_id(uint8_t out[NR_GENESIS_ID_BYTES], const struct nr_genesis *g);

#endif
