/* The NarratorRegistry's records as data: the storage slot of every field the state enclave
 * reads through storage proofs, the typed records and their hashes (the genesis encoding:
 * genesis.h).
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
 *   slot 5  mapping(bytes32 => uint256) lastOpenedEpoch  at keccak256(id . uint256(5))
 *   slot 6  mapping(bytes32 => mapping(uint256 => Epoch)) epochs
 *           epochs[id][e] at keccak256(uint256(e) . keccak256(id . uint256(6)))
 *   slot 7  mapping(bytes32 => mapping(uint256 => Member[])) epochMembers
 *           length at L = keccak256(uint256(e) . keccak256(id . uint256(7)))
 *   slot 8  governance, slot 9 approvalCount, slot 10 approvedBy (not read by the enclave)
 * Member i of an array whose length is at slot L is at keccak256(L) + 4 i (the members of
 * epoch 1 are the array at slot 1, members[id]).
 * A word below is 32 bytes, big-endian; "bytes [a, b)" index the word as stored.
 *   System +0: creator bytes [12,32), n (uint32) [8,12), f (uint32) [4,8), finalized [3]
 *          +1: createdBlock (uint64) [24,32), finalizedBlock (uint64) [16,24)
 *          +2: measurement   +3: membersHash
 *   Genesis +0: id   +1: blockNumber (uint64) [24,32), poster [4,24)   +2..+9: founders
 *   Member +0: platformId   +1: identityKey   +2: evidenceHash   +3: account [12,32)
 *   Epoch +0: n (uint32) [28,32), f (uint32) [24,28), kind (uint8) [23], openedBlock (uint64)
 *             [15,23)   +1: membersHash   +2: predecessor   +3: stateRoot   +4: handoverHash
 * lastOpenedEpoch is 0 until an epoch >= 2 is opened: the current epoch is then 1 once the
 * system is finalised (0 before). */
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
#define NR_REGISTRY_SYSTEM_META 0u   /* creator, n, f, finalized */
#define NR_REGISTRY_SYSTEM_BLOCKS 1u /* createdBlock, finalizedBlock */
#define NR_REGISTRY_SYSTEM_MEASUREMENT 2u
#define NR_REGISTRY_SYSTEM_MEMBERS_HASH 3u
#define NR_REGISTRY_SYSTEM_FIELDS 4u
#define NR_REGISTRY_GENESIS_ID 0u
#define NR_REGISTRY_GENESIS_BLOCK_POSTER 1u
#define NR_REGISTRY_GENESIS_FOUNDERS 2u /* +2 .. +9 */
#define NR_REGISTRY_GENESIS_FIELDS 10u
#define NR_REGISTRY_SLOT_LAST_EPOCH 5u
#define NR_REGISTRY_SLOT_EPOCHS 6u
#define NR_REGISTRY_SLOT_EPOCH_MEMBERS 7u
#define NR_REGISTRY_EPOCH_META 0u /* n, f, kind, openedBlock */
#define NR_REGISTRY_EPOCH_MEMBERS_HASH 1u
#define NR_REGISTRY_EPOCH_PREDECESSOR 2u
#define NR_REGISTRY_EPOCH_STATE_ROOT 3u
#define NR_REGISTRY_EPOCH_HANDOVER 4u
#define NR_REGISTRY_EPOCH_FIELDS 5u
#define NR_REGISTRY_MEMBER_PLATFORM 0u
#define NR_REGISTRY_MEMBER_IDENTITY 1u
#define NR_REGISTRY_MEMBER_EVIDENCE 2u
#define NR_REGISTRY_MEMBER_ACCOUNT 3u
#define NR_REGISTRY_MEMBER_FIELDS 4u

/* How an epoch began (the contract's KIND_*). */
#define NR_REGISTRY_KIND_INIT 1u
#define NR_REGISTRY_KIND_RECONFIGURATION 2u
#define NR_REGISTRY_KIND_RECOVERY 3u
/* The contract's MAX_EPOCH_MEMBERS: every member of an epoch founds its genesis. */
#define NR_REGISTRY_MAX_EPOCH_MEMBERS NR_GENESIS_MAX_FOUNDERS

/* Slot of field field_offset of systems[system_id]. */
void nr_registry_slot_system(uint8_t out_slot[32], const uint8_t system_id[32],
                             uint32_t field_offset);
/* Slot of members[system_id].length (the number of registered members). */
void nr_registry_slot_members_length(uint8_t out_slot[32], const uint8_t system_id[32]);
/* Slot of field field_offset of geneses[system_id][epoch]. */
void nr_registry_slot_genesis(uint8_t out_slot[32], const uint8_t system_id[32], uint64_t epoch,
                              uint32_t field_offset);
/* Slot of lastOpenedEpoch[system_id]. */
void nr_registry_slot_last_epoch(uint8_t out_slot[32], const uint8_t system_id[32]);
/* Slot of field field_offset of epochs[system_id][epoch] (epoch >= 2; epoch 1 has no such
 * record: it is the system record). */
void nr_registry_slot_epoch(uint8_t out_slot[32], const uint8_t system_id[32], uint64_t epoch,
                            uint32_t field_offset);
/* Slot of the length of the members array of an epoch: members[system_id] for epoch 1 (=
 * nr_registry_slot_members_length), epochMembers[system_id][epoch] from epoch 2 on. */
void nr_registry_slot_epoch_members_length(uint8_t out_slot[32], const uint8_t system_id[32],
                                           uint64_t epoch);
/* Slot of field field_offset of member index of an epoch (the same two arrays). */
void nr_registry_slot_epoch_member(uint8_t out_slot[32], const uint8_t system_id[32],
                                   uint64_t epoch, uint32_t index, uint32_t field_offset);

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

struct nr_registry_member {
    uint8_t platform_id[32];
    uint8_t identity_key[32];
    uint8_t evidence_hash[32];
    uint8_t account[NR_ETH_ADDR_BYTES]; /* filled by reads; ignored by register */
};

/* An epoch as getEpoch describes it (epoch 1: the finalised system, kind init). */
struct nr_registry_epoch {
    int exists; /* opened (epoch 1: finalised) */
    uint32_t epoch;
    uint32_t n, f;
    uint8_t kind;          /* NR_REGISTRY_KIND_* */
    uint64_t opened_block; /* epoch 1: the finalisation block */
    uint8_t members_hash[32];
    uint8_t predecessor[32];   /* zero for epoch 1 */
    uint8_t state_root[32];    /* zero for epoch 1 */
    uint8_t handover_hash[32]; /* zero for epoch 1 (and may be for a recovery) */
    uint32_t registered;       /* members stored (from storage words; views: n) */
    int has_genesis;
    uint8_t genesis_id[32]; /* zero when none */
};

struct nr_registry_genesis {
    int recorded; /* id != 0 */
    uint8_t id[32];
    uint64_t block_number;
    uint8_t poster[NR_ETH_ADDR_BYTES];
    uint8_t founders[NR_GENESIS_FOUNDERS_BYTES];
};

/* Decode the storage words of a system record: words holds fields +0..+3 (32 bytes each, in
 * order), length is the members length word. NR_EMALFORMED for bits the contract never writes
 * (non-zero padding, finalized not 0/1, a length beyond 64 bits). */
int nr_registry_system_from_words(struct nr_registry_system *out,
                                  const uint8_t words[NR_REGISTRY_SYSTEM_FIELDS * 32],
                                  const uint8_t length[32]) __attribute__((warn_unused_result));
/* Decode the ten storage words of a genesis record (fields +0..+9, 32 bytes each, in order). */
int nr_registry_genesis_from_words(struct nr_registry_genesis *out,
                                   const uint8_t words[NR_REGISTRY_GENESIS_FIELDS * 32])
    __attribute__((warn_unused_result));
/* Decode the five storage words of epochs[id][epoch] and the length word of its members array
 * (the record alone: nothing about other records, no genesis). exists = kind != 0. NR_EMALFORMED
 * for bits the contract never writes (padding, a kind above 3, a length beyond 32 bits, words
 * left in a record that is not open). */
int nr_registry_epoch_from_words(struct nr_registry_epoch *out, uint32_t epoch,
                                 const uint8_t words[NR_REGISTRY_EPOCH_FIELDS * 32],
                                 const uint8_t length[32]) __attribute__((warn_unused_result));
/* Decode the four storage words of a member (NR_EMALFORMED: non-zero account padding). */
int nr_registry_member_from_words(struct nr_registry_member *out,
                                  const uint8_t words[NR_REGISTRY_MEMBER_FIELDS * 32])
    __attribute__((warn_unused_result));
/* The current epoch from the system record and the lastOpenedEpoch word: the word when it is
 * not zero, else 1 if finalised, else 0. NR_EMALFORMED for what the contract never writes (a
 * word of 1 or beyond 32 bits, an opened epoch of a system that is not finalised). */
int nr_registry_current_epoch_from_words(uint32_t *out, const struct nr_registry_system *sys,
                                         const uint8_t last_opened[32])
    __attribute__((warn_unused_result));

/* The contract's members hash of the finalised system: keccak chain over (systemId, n, f,
 * measurement) then each member's (platformId, identityKey, evidenceHash):
 *   H_0 = keccak256(abi.encode(systemId, n, f, measurement))
 *   H_i = keccak256(abi.encode(H_{i-1}, platformId_i, identityKey_i, evidenceHash_i)) */
void nr_registry_members_hash(uint8_t out[32], const uint8_t system_id[32], uint32_t n, uint32_t f,
                              const uint8_t measurement[32],
                              const struct nr_registry_member *members, size_t n_members);
/* The members hash of an epoch: epoch 1 is nr_registry_members_hash; from epoch 2 on the epoch
 * is mixed into the first word: H_0 = keccak256(abi.encode(systemId, epoch, n, f,
 * measurement)), then the same chain (measurement: the system's). */
void nr_registry_epoch_members_hash(uint8_t out[32], const uint8_t system_id[32], uint32_t epoch,
                                    uint32_t n, uint32_t f, const uint8_t measurement[32],
                                    const struct nr_registry_member *members, size_t n_members);

#endif
