/* The sealed-blob format of both TEE backends: see seal.h. */
#include "tee/seal.h"

#include <string.h>

#include <sodium.h>

#define SEAL_HDR 8u
#define SEAL_NONCE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES

_Static_assert(SEAL_HDR + SEAL_NONCE + crypto_aead_xchacha20poly1305_ietf_ABYTES ==
                   NR_SIM_SEAL_OVERHEAD,
               "seal layout");
_Static_assert(NR_SIM_SEAL_OVERHEAD <= NR_SEAL_OVERHEAD, "seal overhead bound");

void nr_tee_hash_dom(uint8_t out[32], const uint8_t *key, size_t key_len, const char *domain,
                     const uint8_t *data, size_t len)
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, key, key_len, 32);
    crypto_generichash_update(&st, (const uint8_t *)domain, strlen(domain) + 1);
    if (len)
        crypto_generichash_update(&st, data, len);
    crypto_generichash_final(&st, out, 32);
    sodium_memzero(&st, sizeof st);
}

static void seal_header(const struct nr_seal_format *f, uint8_t hdr[SEAL_HDR])
{
    memcpy(hdr, f->magic, 4);
    hdr[4] = f->version;
    hdr[5] = 0;
    hdr[6] = 0;
    hdr[7] = 0;
}

static void seal_key_ad(const struct nr_seal_format *f, const uint8_t *root, size_t root_len,
                        const uint8_t *measurement, const uint8_t *ad, size_t ad_len,
                        uint8_t key[32], uint8_t full_ad[SEAL_HDR + 64])
{
    nr_tee_hash_dom(key, root, root_len, f->key_domain, measurement, NR_MEASUREMENT_BYTES);
    seal_header(f, full_ad);
    memcpy(full_ad + SEAL_HDR, measurement, NR_MEASUREMENT_BYTES);
    nr_tee_hash_dom(full_ad + SEAL_HDR + 32, NULL, 0, f->ad_domain, ad, ad ? ad_len : 0);
}

int nr_tee_seal_blob(const struct nr_seal_format *f, const uint8_t *root, size_t root_len,
                     const uint8_t measurement[NR_MEASUREMENT_BYTES], const uint8_t *pt, size_t len,
                     const uint8_t *ad, size_t ad_len, uint8_t *out, size_t cap, size_t *out_len)
{
    uint8_t key[32], full_ad[SEAL_HDR + 64];
    *out_len = 0;
    if (len > SIZE_MAX - NR_SIM_SEAL_OVERHEAD || cap < len + NR_SIM_SEAL_OVERHEAD)
        return NR_EFULL;
    seal_key_ad(f, root, root_len, measurement, ad, ad_len, key, full_ad);
    seal_header(f, out);
    randombytes_buf(out + SEAL_HDR, SEAL_NONCE);
    unsigned long long clen = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(out + SEAL_HDR + SEAL_NONCE, &clen, pt, len, full_ad,
                                               sizeof full_ad, NULL, out + SEAL_HDR, key);
    sodium_memzero(key, sizeof key);
    *out_len = SEAL_HDR + SEAL_NONCE + (size_t)clen;
    return NR_OK;
}

int nr_tee_unseal_blob(const struct nr_seal_format *f, const uint8_t *root, size_t root_len,
                       const uint8_t measurement[NR_MEASUREMENT_BYTES], const uint8_t *blob,
                       size_t len, const uint8_t *ad, size_t ad_len, uint8_t *pt, size_t cap,
                       size_t *pt_len)
{
    uint8_t key[32], full_ad[SEAL_HDR + 64], hdr[SEAL_HDR];
    *pt_len = 0;
    if (len < NR_SIM_SEAL_OVERHEAD)
        return NR_EUNSEAL;
    seal_header(f, hdr);
    if (memcmp(blob, hdr, SEAL_HDR) != 0)
        return NR_EUNSEAL; /* wrong magic or version: not one of this backend's blobs */
    size_t plen = len - NR_SIM_SEAL_OVERHEAD;
    if (cap < plen)
        return NR_EFULL;
    seal_key_ad(f, root, root_len, measurement, ad, ad_len, key, full_ad);
    unsigned long long mlen = 0;
    int bad = crypto_aead_xchacha20poly1305_ietf_decrypt(
        pt, &mlen, NULL, blob + SEAL_HDR + SEAL_NONCE, len - SEAL_HDR - SEAL_NONCE, full_ad,
        sizeof full_ad, blob + SEAL_HDR, key);
    sodium_memzero(key, sizeof key);
    if (bad) {
        if (plen)
            sodium_memzero(pt, plen);
        return NR_EUNSEAL;
    }
    *pt_len = (size_t)mlen;
    return NR_OK;
}
