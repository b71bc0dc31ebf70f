/* Internal to src/tee/: the blob format both backends seal with, and their domain-separated
 * hash. A blob is
 *     magic[4] || u8 version || 3 zero bytes || nonce[24] || XChaCha20-Poly1305(pt)
 * (NR_SIM_SEAL_OVERHEAD bytes more than the plaintext) under the key
 * BLAKE2b-256 keyed by the backend's sealing root over (key domain || measurement), with the
 * associated data header || measurement || BLAKE2b-256(ad domain || caller's ad). The
 * backends differ only in their magic, domains and sealing root. */
#ifndef NR_TEE_SEAL_H
#define NR_TEE_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "tee/tee.h"

struct nr_seal_format {
    char magic[4];
    uint8_t version;
    const char *key_domain;
    const char *ad_domain;
};

/* BLAKE2b-256 over domain (with its NUL) || data, keyed when key_len > 0. */
void nr_tee_hash_dom(uint8_t out[32], const uint8_t *key, size_t key_len, const char *domain,
                     const uint8_t *data, size_t len);

int nr_tee_seal_blob(const struct nr_seal_format *f, const uint8_t *root, size_t root_len,
                     const uint8_t measurement[NR_MEASUREMENT_BYTES], const uint8_t *pt, size_t len,
                     const uint8_t *ad, size_t ad_len, uint8_t *out, size_t cap, size_t *out_len);
int nr_tee_unseal_blob(const struct nr_seal_format *f, const uint8_t *root, size_t root_len,
                       const uint8_t measurement[NR_MEASUREMENT_BYTES], const uint8_t *blob,
                       size_t len, const uint8_t *ad, size_t ad_len, uint8_t *pt, size_t cap,
                       size_t *pt_len);

#endif
