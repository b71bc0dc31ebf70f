/* SE identity: an Ed25519 key pair generated inside the TEE, plus a slot for the SE's
 * Ethereum secp256k1 key (filled by the chain tooling through nr_identity_set_eth(); until
 * then `has_eth` is 0 and the slot is zero). Stored sealed to the SE's measurement and
 * platform (nr_tee_seal), written atomically with mode 0600.
 *
 * Sealed plaintext (NR_IDENTITY_PLAIN_BYTES = 124), AD = D("narrator-identity-v1"):
 *   "NRID" || u8 version (1) || u8 flags (bit0: has_eth) || u16 reserved (0)
 *   || ed25519 sk[64] (libsodium layout: seed || pub) || eth_sk[32] || eth_addr[20]
 *
 * Attestation of an identity (what the membership file and the chain carry): evidence from
 * nr_tee_quote with
 *   report_data = BLAKE2b-512(D("narrator-identity") || system_id[32] || identity_pub[32]
 *                             || eth_addr[20])          (eth_addr all zero when has_eth = 0)
 * where D(s) is the string s with its NUL byte. Secret keys are never printed or logged. */
#ifndef NR_IDENTITY_H
#define NR_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include "chan/chan.h"
#include "narrator/errors.h"
#include "tee/tee.h"

#define NR_IDENTITY_ETH_SK_BYTES 32u
#define NR_IDENTITY_ETH_ADDR_BYTES 20u
#define NR_IDENTITY_PLAIN_BYTES 124u

struct nr_identity {
    uint8_t sk[NR_IDENTITY_SK_BYTES];
    uint8_t pub[NR_IDENTITY_PUB_BYTES];
    int has_eth;
    uint8_t eth_sk[NR_IDENTITY_ETH_SK_BYTES];
    uint8_t eth_addr[NR_IDENTITY_ETH_ADDR_BYTES];
};

/* Generate a new identity inside the TEE and seal it to `path` (NR_EEXIST if the file
 * exists). `out` (may be NULL) receives the identity; wipe it with nr_identity_wipe(). */
int nr_identity_create(struct nr_tee *tee, const char *path, struct nr_identity *out)
    __attribute__((warn_unused_result));
/* Unseal an identity. NR_ENOTFOUND, NR_EUNSEAL (another platform/enclave, tampered),
 * NR_EMALFORMED (bad contents). */
int nr_identity_load(struct nr_tee *tee, const char *path, struct nr_identity *id)
    __attribute__((warn_unused_result));
/* Seal `id` to `path` (atomic replace). */
int nr_identity_save(struct nr_tee *tee, const char *path, const struct nr_identity *id)
    __attribute__((warn_unused_result));
/* Fill the Ethereum slot (key and its address, computed by the caller) and re-seal. */
int nr_identity_set_eth(struct nr_tee *tee, const char *path, struct nr_identity *id,
                        const uint8_t eth_sk[NR_IDENTITY_ETH_SK_BYTES],
                        const uint8_t eth_addr[NR_IDENTITY_ETH_ADDR_BYTES])
    __attribute__((warn_unused_result));
void nr_identity_wipe(struct nr_identity *id);

/* The report data binding an identity (see above). eth_addr may be NULL (= zero slot). */
void nr_identity_report_data(uint8_t out[NR_REPORT_DATA_BYTES], const uint8_t system_id[32],
                             const uint8_t identity_pub[NR_IDENTITY_PUB_BYTES],
                             const uint8_t *eth_addr);
/* Fresh attestation evidence for this identity in system `system_id`. */
int nr_identity_evidence(struct nr_tee *tee, const struct nr_identity *id,
                         const uint8_t system_id[32], uint8_t *evidence, size_t cap, size_t *ev_len)
    __attribute__((warn_unused_result));

#endif
