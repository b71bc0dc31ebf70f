/* Chain evidence: what a state enclave believes about the registry, and why (design brief 5.8).
 *
 * Sans-I/O. The host fetches bytes (src/host/chain_evidence.c); this code, which is enclave-safe
 * (no I/O, no globals, no allocation: caller buffers and bounded arrays; keccak, RLP and
 * mpt.h only), decides what they prove:
 *   1. each of the m block headers (one per configured endpoint, the RLP the block hash is
 *      computed over) is decoded and hashed; at least k of them must be the same header, with
 *      number == the claimed height H (NR_EDISAGREE otherwise, also when two different headers
 *      both reach k);
 *   2. H >= min_height, the sealed highest height verified before (NR_ESTALE otherwise);
 *   3. the registry's account proof is verified against that header's stateRoot: the account
 *      must exist (NR_EPROOF otherwise) and gives the storageRoot;
 *   4. every storage proof is verified against storageRoot: a slot's 32-byte value, zero when
 *      proven absent.
 * Any bad proof node, hash or encoding is NR_EPROOF. On top of that, the records a state
 * enclave reads: the genesis of an epoch (nr_evidence_genesis) and an epoch with its members
 * and genesis (nr_evidence_epoch). What this trusts: that k of the m
 * endpoints do not collude on a block hash at the confirmed height (no consensus light client:
 * see docs/chain.md "Chain evidence"). */
#ifndef NR_ETH_EVIDENCE_H
#define NR_ETH_EVIDENCE_H

#include <stddef.h>
#include <stdint.h>

#include "eth/eth.h"
#include "eth/mpt.h"
#include "eth/registry_state.h"
#include "narrator/errors.h"

#define NR_EVIDENCE_MAX_HEADERS 8u         /* m: configured endpoints */
#define NR_EVIDENCE_MAX_HEADER_BYTES 4096u /* a header is ~600 bytes; PoA extraData is longer */
#define NR_EVIDENCE_MAX_SLOTS 96u          /* an epoch of 16 members needs 86 */
#define NR_EVIDENCE_HEADER_STATE_ROOT 3u   /* header field indexes */
#define NR_EVIDENCE_HEADER_NUMBER 8u

struct nr_evidence_storage {
    uint8_t slot[32]; /* the storage slot (not hashed) */
    const struct nr_eth_bytes *nodes;
    size_t n_nodes;
};

struct nr_evidence {
    uint64_t height;                                      /* H, the claimed (confirmed) height */
    struct nr_eth_bytes headers[NR_EVIDENCE_MAX_HEADERS]; /* header RLP from endpoint i */
    size_t n_headers;                                     /* m */
    const struct nr_eth_bytes *account_proof;             /* the registry's account proof */
    size_t n_account_nodes;
    struct nr_evidence_storage storage[NR_EVIDENCE_MAX_SLOTS];
    size_t n_storage;
};

struct nr_evidence_policy {
    uint8_t registry[NR_ETH_ADDR_BYTES];
    unsigned agree;      /* k: headers that must be the same block (1..m) */
    uint64_t min_height; /* the verified height must be >= this */
};

struct nr_evidence_result {
    uint64_t block_number;
    uint8_t block_hash[32];
    uint8_t state_root[32];
    uint8_t storage_root[32];
    unsigned agreeing; /* headers equal to the chosen one */
    uint32_t dissent;  /* bit i: header i is not the chosen block (or is not a header) */
    size_t n_slots;
    uint8_t slot[NR_EVIDENCE_MAX_SLOTS][32];
    uint8_t value[NR_EVIDENCE_MAX_SLOTS][32]; /* zero when absent */
};

/* Decode one block header: its hash (keccak of the bytes), number and stateRoot. NR_EPROOF if
 * it is not an RLP list with a 32-byte field 3 and an integer field 8. */
int nr_evidence_header(uint8_t hash[32], uint64_t *number, uint8_t state_root[32],
                       const uint8_t *rlp, size_t len) __attribute__((warn_unused_result));

/* Steps 1-4 above. err (may be NULL) gets one line naming what failed (header i, slot j). */
int nr_evidence_verify(struct nr_evidence_result *out, const struct nr_evidence *ev,
                       const struct nr_evidence_policy *policy, char *err, size_t err_cap)
    __attribute__((warn_unused_result));

/* ---- the genesis check ---- */

/* The slots a genesis read proves, in this order: the system record's four fields, its members
 * length, then the genesis record's ten fields of (system_id, epoch). */
#define NR_EVIDENCE_GENESIS_SLOTS (NR_REGISTRY_SYSTEM_FIELDS + 1u + NR_REGISTRY_GENESIS_FIELDS)
void nr_evidence_genesis_slots(uint8_t slots[NR_EVIDENCE_GENESIS_SLOTS][32],
                               const uint8_t system_id[32], uint32_t epoch);

struct nr_evidence_genesis {
    uint64_t block_number; /* the verified height */
    uint8_t block_hash[32];
    struct nr_registry_system system;   /* exists = 0: no such system */
    struct nr_registry_genesis genesis; /* recorded = 0: none for this epoch */
};

/* nr_evidence_verify, then: the storage proofs must be exactly the slots of
 * nr_evidence_genesis_slots (NR_EPROOF otherwise), and their values are decoded into the
 * system and genesis records. A recorded genesis whose id is not nr_genesis_packed_id of its
 * founders and the system's n, or whose founders past n are not zero, is NR_ECHAIN (the contract
 * refuses such records; this is the enclave's own check). */
int nr_evidence_genesis(struct nr_evidence_genesis *out, const struct nr_evidence *ev,
                        const struct nr_evidence_policy *policy, const uint8_t system_id[32],
                        uint32_t epoch, char *err, size_t err_cap)
    __attribute__((warn_unused_result));

/* ---- the epoch check (docs/chain.md "Epochs") ----
 *
 * What an epoch is, proven: the system record, its members length and lastOpenedEpoch (the
 * head); from epoch 2 on the epoch record (five words) and its members length; then the four
 * words of each of the epoch's n members (epoch 1: the finalised members); then the genesis
 * record of (system, epoch). The host learns n first (a view, untrusted) and asks for the
 * slots of that n; the verifier checks that the proven record has exactly n members (an
 * absent epoch: n = 0), so a wrong n is a refused proof, never a wrong member list. */
#define NR_EVIDENCE_EPOCH_HEAD_SLOTS (NR_REGISTRY_SYSTEM_FIELDS + 2u)
#define NR_EVIDENCE_EPOCH_RECORD_SLOTS (NR_REGISTRY_EPOCH_FIELDS + 1u) /* epoch >= 2 only */
#define NR_EVIDENCE_EPOCH_MAX_SLOTS                                                                \
    (NR_EVIDENCE_EPOCH_HEAD_SLOTS + NR_EVIDENCE_EPOCH_RECORD_SLOTS +                               \
     NR_REGISTRY_MEMBER_FIELDS * NR_REGISTRY_MAX_EPOCH_MEMBERS + NR_REGISTRY_GENESIS_FIELDS)
/* The number of slots of (epoch, n): 0 for epoch 0 or n > NR_REGISTRY_MAX_EPOCH_MEMBERS. */
size_t nr_evidence_epoch_slot_count(uint32_t epoch, uint32_t n);
/* The slots, in the order above; returns their number (as nr_evidence_epoch_slot_count). */
size_t nr_evidence_epoch_slots(uint8_t slots[NR_EVIDENCE_EPOCH_MAX_SLOTS][32],
                               const uint8_t system_id[32], uint32_t epoch, uint32_t n);

struct nr_evidence_epoch {
    uint64_t block_number; /* the verified height (nr_evidence_epoch only) */
    uint8_t block_hash[32];
    struct nr_registry_system system; /* exists = 0: no such system */
    uint32_t current_epoch;           /* 0: not finalised */
    struct nr_registry_epoch epoch;   /* exists = 0: not open; has_genesis, genesis_id */
    struct nr_registry_member members[NR_REGISTRY_MAX_EPOCH_MEMBERS]; /* epoch.n of them */
    struct nr_registry_genesis genesis;                               /* recorded = 0: none yet */
};

/* Decode and check the proven words of an epoch read (words[i] is the value of slot i of
 * nr_evidence_epoch_slots(system_id, epoch, n)): pure, no proof involved (nr_evidence_epoch
 * proves the words first). NR_EPROOF: not the word count of (epoch, n), or the record does not
 * have n members. NR_ETOOBIG: an epoch 1 of more than NR_REGISTRY_MAX_EPOCH_MEMBERS members.
 * NR_EINVAL: epoch 0. NR_ECHAIN, for what the contract never writes and this code checks
 * itself: bad padding or flags; an open epoch whose n != 2f+1, kind is not 2 or 3, state root or
 * predecessor is zero, or which is beyond the current epoch; an epoch before the current one
 * without a genesis; a member with a zero platform id or identity key, or a platform or key
 * twice; members that do not hash to the recorded members hash; a genesis for an epoch that is
 * not open, or whose id is not nr_genesis_packed_id(system_id, epoch, n, founders,
 * predecessor, state root). */
int nr_evidence_epoch_decode(struct nr_evidence_epoch *out, const uint8_t system_id[32],
                             uint32_t epoch, uint32_t n, const uint8_t (*words)[32], size_t n_words,
                             char *err, size_t err_cap) __attribute__((warn_unused_result));
/* nr_evidence_verify, then: the storage proofs must be exactly the slots of
 * nr_evidence_epoch_slots(system_id, epoch, n) (NR_EPROOF otherwise), and their values go
 * through nr_evidence_epoch_decode. */
int nr_evidence_epoch(struct nr_evidence_epoch *out, const struct nr_evidence *ev,
                      const struct nr_evidence_policy *policy, const uint8_t system_id[32],
                      uint32_t epoch, uint32_t n, char *err, size_t err_cap)
    __attribute__((warn_unused_result));

#endif
