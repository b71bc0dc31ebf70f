/* The handover between epochs (docs/protocol.md §10), one encoding for the protocol core and
 * every verifier: the state root over a set of records, and the message each signer of a
 * handover signs. Enclave-safe: no I/O, hashing only (SHA3-256 from nettle).
 *
 * State root. Records are sorted by (owner, key) (owner ascending, key bytewise); each leaf is
 *   be16(owner) || key[32] || be64(version) || digest[32]                       (74 bytes)
 * and the root is
 *   SHA3-256("narrator-state-v1" || be64(count) || leaf_0 || ... || leaf_count-1)
 * Stamps are not part of the root: they are incarnations of the old epoch, which a new epoch
 * does not use (its start state carries the stamp NR_STAMP_START). Records with version 0 are
 * not records and are never included. A sequential hash, not a Merkle tree: it certifies a
 * whole state, which is all a handover needs (checkpoint receipts need paths: issue 11).
 *
 * Signed message (every signer of a handover signs exactly these bytes with its identity key):
 *   "narrator-handover-v1" || system_id[32] || be32(epoch) || genesis[32] || be32(next_epoch)
 *   || root[32] || be64(count)                                                 (152 bytes) */
#ifndef NR_COMMON_HANDOVER_H
#define NR_COMMON_HANDOVER_H

#include <stddef.h>
#include <stdint.h>

#include <nettle/sha3.h>

#include "narrator/sizes.h"

#define NR_STATE_DOMAIN "narrator-state-v1"
#define NR_HANDOVER_DOMAIN "narrator-handover-v1"
#define NR_STATE_ROOT_BYTES 32u
#define NR_STATE_LEAF_BYTES (2u + 32u + 8u + NR_DIGEST_BYTES) /* 74 */
#define NR_HANDOVER_MSG_BYTES                                                                      \
    (sizeof NR_HANDOVER_DOMAIN - 1u + NR_SYSTEM_ID_BYTES + 4u + NR_GENESIS_ID_BYTES + 4u +         \
     NR_STATE_ROOT_BYTES + 8u)
#define NR_SIG_BYTES 64u /* Ed25519 */

/* Incremental state root: init with the record count, add the leaves in (owner, key) order,
 * finish. The caller sorts (the core sorts its table; a verifier checks the order and refuses
 * a file that is not strictly increasing). */
struct nr_state_root {
    struct sha3_256_ctx h;
};
void nr_state_root_init(struct nr_state_root *r, uint64_t count);
void nr_state_root_add(struct nr_state_root *r, uint16_t owner, const uint8_t key[32],
                       uint64_t version, const uint8_t digest[NR_DIGEST_BYTES]);
void nr_state_root_final(struct nr_state_root *r, uint8_t out[NR_STATE_ROOT_BYTES]);

/* The bytes a signer of a handover signs (NR_HANDOVER_MSG_BYTES). */
void nr_handover_msg(uint8_t out[NR_HANDOVER_MSG_BYTES],
                     const uint8_t system_id[NR_SYSTEM_ID_BYTES], uint32_t epoch,
                     const uint8_t genesis[NR_GENESIS_ID_BYTES], uint32_t next_epoch,
                     const uint8_t root[NR_STATE_ROOT_BYTES], uint64_t count);

#endif
