/* The handover certificate (docs/protocol.md §10.2): its one encoding, the hash the registry
 * stores (openEpoch's handoverHash) and its check against the membership of the epoch that
 * handed over. Enclave-side code: the new epoch's members run the check before they load the
 * start state; the certificate itself is host-carried, untrusted bytes.
 *
 * Encoding (all integers big-endian):
 *   "narrator-handover-cert-v1" || system_id[32] || be32 epoch || genesis[32] ||
 *   be32 next_epoch || root[32] || be64 count || u8 nsigs ||
 *   nsigs * (be16 member || be64 inc || sig[64])
 * handoverHash = keccak256(encoding). Each sig is Ed25519 by member's identity key over
 * nr_handover_msg(system_id, epoch, genesis, next_epoch, root, count) (common/handover.h). */
#ifndef NR_CHAN_HANDOVER_CERT_H
#define NR_CHAN_HANDOVER_CERT_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h" /* struct nr_handover (types only) */

#define NR_HANDOVER_CERT_DOMAIN "narrator-handover-cert-v1"
#define NR_HANDOVER_CERT_SIG_BYTES (2u + 8u + NR_SIG_BYTES)
#define NR_HANDOVER_CERT_FIXED                                                                     \
    (sizeof NR_HANDOVER_CERT_DOMAIN - 1u + NR_SYSTEM_ID_BYTES + 4u + NR_GENESIS_ID_BYTES + 4u +    \
     NR_STATE_ROOT_BYTES + 8u + 1u)
#define NR_HANDOVER_CERT_MAX_BYTES                                                                 \
    (NR_HANDOVER_CERT_FIXED + NR_MAX_MEMBERS * NR_HANDOVER_CERT_SIG_BYTES)

/* Encode h into out (>= NR_HANDOVER_CERT_MAX_BYTES); returns the length, 0 if h->nsigs is out
 * of range. */
size_t nr_handover_cert_encode(uint8_t *out, size_t cap, const struct nr_handover *h);
/* Decode exactly len bytes: NR_OK, NR_ETRUNCATED, NR_ETOOBIG or NR_EMALFORMED (domain, a
 * signature count above NR_MAX_MEMBERS, trailing bytes). Says nothing about validity. */
int nr_handover_cert_decode(struct nr_handover *h, const uint8_t *in, size_t len)
    __attribute__((warn_unused_result));
/* keccak256 of an encoding: what the registry stores as the epoch's handoverHash. */
void nr_handover_cert_hash(uint8_t out[32], const uint8_t *enc, size_t len);

/* Is h a certified handover of epoch `epoch` (genesis id `genesis`) of system `system_id`,
 * whose members' identity keys are keys[0..n-1] with f = (n-1)/2? It must name exactly that
 * system, epoch, genesis and next_epoch = epoch + 1, and carry valid signatures of at least
 * f+1 distinct members (a signature of an unknown member index or a second one of the same
 * member does not count; an invalid one fails the certificate). NR_OK, or NR_EHANDOVER with
 * a one-line reason in err. */
int nr_handover_cert_verify(const struct nr_handover *h,
                            const uint8_t system_id[NR_SYSTEM_ID_BYTES], uint32_t epoch,
                            const uint8_t genesis[NR_GENESIS_ID_BYTES], const uint8_t (*keys)[32],
                            uint16_t n, char *err, size_t errcap)
    __attribute__((warn_unused_result));

#endif
