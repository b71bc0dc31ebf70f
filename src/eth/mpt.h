/* Merkle-Patricia trie proofs (EIP-1186 eth_getProof), verified without I/O.
 *
 * Enclave-safe: no allocation, no globals, no I/O; only keccak and the strict RLP decoder of
 * eth.h. The proof is the node list a node returns ("accountProof", "storageProof[i].proof"):
 * the RLP encoding of each node on the path from the root, hashed nodes only (a node whose
 * encoding is shorter than 32 bytes is embedded in its parent and followed there).
 *
 * The walk follows the key's 64 nibbles from the root: every hashed node must be the next proof
 * element and hash to the reference its parent holds (the root to `root`); branch nodes take one
 * nibble, extension nodes their hex-prefix path, a leaf ends the walk. The outcome is one of
 *   - found: the leaf's value;
 *   - proven absent: the walk reaches an empty branch slot, a leaf or extension whose path
 *     leaves the key, or the root is the empty trie's;
 *   - NR_EPROOF: anything else (wrong hash, malformed node, a node too large, too many nodes,
 *     nodes left over after the walk ended, a path that runs past the key).
 * Keys here are always 32-byte hashes (keccak of an address or of a storage slot), so every
 * value sits in a leaf at depth 64 nibbles. */
#ifndef NR_ETH_MPT_H
#define NR_ETH_MPT_H

#include <stddef.h>
#include <stdint.h>

#include "eth/eth.h"
#include "narrator/errors.h"

#define NR_MPT_MAX_NODES 64u        /* proof elements per key (a path has at most 64 branches) */
#define NR_MPT_MAX_NODE_BYTES 1024u /* a branch is at most 532 bytes; a leaf far less */
#define NR_MPT_KEY_BYTES 32u

/* keccak256(rlp("")): the root of an empty trie. */
extern const uint8_t nr_mpt_empty_root[32];

/* One byte string (a node, a header): pointer and length, owned by the caller. */
struct nr_eth_bytes {
    const uint8_t *p;
    size_t len;
};

/* Verify a proof for key (32 bytes: the hashed key) against root. On NR_OK *found says which
 * outcome; when found, *value / *value_len is the leaf's value (the RLP item payload, pointing
 * into one of the nodes). */
int nr_mpt_verify(const uint8_t **value, size_t *value_len, int *found, const uint8_t root[32],
                  const uint8_t key[NR_MPT_KEY_BYTES], const struct nr_eth_bytes *proof,
                  size_t n_nodes) __attribute__((warn_unused_result));

/* An account of the state trie: RLP [nonce, balance, storageRoot, codeHash]. */
struct nr_mpt_account {
    uint64_t nonce;
    nr_u256 balance;
    uint8_t storage_root[32];
    uint8_t code_hash[32];
};
/* Account proof: key keccak256(address). *found = 0 when proven absent (out zeroed). */
int nr_mpt_account(struct nr_mpt_account *out, int *found, const uint8_t state_root[32],
                   const uint8_t address[NR_ETH_ADDR_BYTES], const struct nr_eth_bytes *proof,
                   size_t n_nodes) __attribute__((warn_unused_result));
/* Storage proof: key keccak256(slot). value = the 32-byte big-endian word, zero when proven
 * absent (geth deletes zero words; anvil keeps some as leaves holding 0: *found = 1, value 0). */
int nr_mpt_storage(uint8_t value[32], int *found, const uint8_t storage_root[32],
                   const uint8_t slot[32], const struct nr_eth_bytes *proof, size_t n_nodes)
    __attribute__((warn_unused_result));

#endif
