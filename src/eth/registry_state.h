/* The NarratorRegistry's records as data: the storage slot of every field the state enclave
 * reads through storage proofs, and the typed records (the genesis encoding: genesis.h).
 * Pure functions over caller buffers (keccak only): enclave-safe, shared by the bindings
 * (registry.h) and the chain-evidence verifier (evidence.h).
 *
 * Storage layout of contracts/NarratorRegistry.sol (solc 0.8.28; checked against eth_getStorageAt
 * on anvil by test_chain_genesis):
 *   slot 0  mapping(bytes32 => System) systems        systems[id] at keccak256(id . uint256(0))
 *   slot 1  mapping(bytes32 => Member[]) members      length at keccak256(id . uint256(1))
 *   slot 2  platformTaken, slot 3 identityTaken
 *   slot 4  mapping(bytes32 => mapping(uint256 => Genesis)) geneses
 *           geneses[id][epoch] at keccak256(uint256(epoch) . keccak256(id . uint256(4)))
 * A word below is 32 bytes, big-endian; "bytes [a, b)" index the word as stored.
 *   System +0: creator bytes [12,32), n (uint32) [8,12), f (uint32) [4,8), finalized [3]
 *          +1: createdBlock (uint64) [24,32), finalizedBlock (uint64) [16,24)
 *          +2: measurement   +3: membersHash
 *   Genesis +0: id   +1: blockNumber (uint64) [24,32), poster [4,24)   +2..+9: founders */
#ifndef NR_ETH_REGISTRY_STATE_H
#define NR_ETH_REGISTRY_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "common/genesis.h"
#include "eth/eth.h"
#include "narrator/errors.h"

/* ---- genesis ---- */
/* The genesis id and the founders' packing (keccak256(abi.encodePacked("narrator-genesis-v1",
 * systemId, uint32(epoch), uint32(n), founders)), exactly as recordGenesis checks it) are in
 * src/common/genesis.h, shared with the protocol core: nr_genesis_packed_id,
 * nr_genesis_founders_pack, nr_genesis_founders_unpack. */

/* ---- storage slots ---- */
#define NR_REGISTRY_SLOT_SYSTEMS 0u
#define NR_REGISTRY_SLOT_MEMBERS 1u
#define NR_REGISTRY_SLOT_GENESES 4u
/* field offsets inside the structs */
#define NR_REGISTRY_SYSTEM_META 0u         /* creator, n, f, finalized */
#define NR_REGISTRY_SYSTEM_BLOCKS 1u       /* createdBlock, finalizedBlock */
#define NR_REGISTRY_SYSTEM_MEASUREMENT 2u
#define NR_REGISTRY_SYSTEM_MEMBERS_HASH 3u
#define NR_REGISTRY_SYSTEM_FIELDS 4u
#define NR_REGISTRY_GENESIS_ID 0u
#define NR_REGISTRY_GENESIS_BLOCK_POSTER 1u
#define NR_REGISTRY_GENESIS_FOUNDERS 2u     /* +2 .. +9 */
#define NR_REGISTRY_GENESIS_FIELDS 10u

/* Slot of field field_offset of systems[system_id]. */
void nr_registry_slot_system(uint8_t out_slot[32], const uint8_t system_id[32],
                             uint32_t field_offset);
/* Slot of members[system_id].length (the number of registered members). */
void nr_registry_slot_members_length(uint8_t out_slot[32], const uint8_t system_id[32]);
/* Slot of field field_offset of geneses[system_id][epoch]. */
void nr_registry_slot_genesis(uint8_t out_slot[32], const uint8_t system_id[32], uint64_t epoch,
                              uint32_t field_offset);

/* ---- typed records ---- */
struct nr_registry_system {
    int exists;
    uint8_t creator[NR_ETH_ADDR_BYTES];
    uint32_t n, f;
    uint8_t measurement[32];
    uint32_t registered;
    int finalized;
    uint64_t created_block, finalized_block;
    uint8_t members_hash[32];
};

struct nr_registry_genesis {
    int recorded; /* id != 0 */
    uint8_t id[32];
    uint64_t block_number;
    uint8_t poster[NR_ETH_ADDR_BYTES];
    uint8_t founders[NR_GENESIS_FOUNDERS_BYTES];
};

/* Decode the storage words of a system record: words holds fields +0..+3 (32 bytes each, in
 * order), length is the members length word. NR_EMALFORMED for bits the contract never writes (non-zero padding,
 * finalized not 0/1, a length beyond 64 bits). */
int nr_registry_system_from_words(struct nr_registry_system *out,
                                  const uint8_t words[NR_REGISTRY_SYSTEM_FIELDS * 32],
                                  const uint8_t length[32]) __attribute__((warn_unused_result));
/* Decode the ten storage words of a genesis record (fields +0..+9, 32 bytes each, in order). */
int nr_registry_genesis_from_words(struct nr_registry_genesis *out,
                                   const uint8_t words[NR_REGISTRY_GENESIS_FIELDS * 32])
    __attribute__((warn_unused_result));

#endif
