/* Test helper: builds re-signed variants of a real DCAP quote with keys and certificates made
 * here (OpenSSL). A "forged" chain is a root CA and a PCK-like leaf that carries the real
 * leaf's SGX extension; with it, every signature of a quote can be made valid, so a test can
 * show that only the root pin (or the binding under test) rejects the variant. */
#ifndef NR_TEST_DCAP_FORGE_H
#define NR_TEST_DCAP_FORGE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

struct forge {
    EVP_PKEY *root_key, *leaf_key, *att_key, *tcb_key;
    X509 *root, *leaf, *tcb_cert;
    uint8_t root_fp[32];
    char chain_pem[8192]; /* leaf, root */
    size_t chain_len;
    char tcb_chain_pem[8192]; /* tcb signing cert, root */
    size_t tcb_chain_len;
};

/* Make keys and certificates; the leaf copies the SGX extension of `real_leaf_der`. */
int forge_init(struct forge *f, const uint8_t *real_leaf_der, size_t len);
void forge_free(struct forge *f);
/* Another platform under the same forged root as `base`: a new leaf key and certificate
 * carrying the SGX extension of `real_leaf_der` (e.g. with another PPID). */
int forge_init_sibling(struct forge *f, const struct forge *base, const uint8_t *real_leaf_der,
                       size_t len);

/* Rebuild `quote` (in place layout from a real quote `in`) into out: replaces the attestation
 * key with f->att_key (if new_att_key), recomputes the QE report data, re-signs the QE report
 * with f->leaf_key (if resign_qe), replaces the certification data with f's chain (if
 * new_chain), and re-signs the ISV report with the attestation key in use (f->att_key; only if
 * new_att_key). `body_patch` (may be NULL) is applied to the ISV report body first. Returns the
 * new length, 0 on failure. */
size_t forge_quote(const struct forge *f, const uint8_t *in, size_t in_len, uint8_t *out,
                   size_t cap, int new_att_key, int resign_qe, int new_chain,
                   void (*body_patch)(uint8_t *body));

/* 1 if two PEM texts hold byte-identical certificates (DER), in the same order. */
int forge_same_certs(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

/* Raw r || s ECDSA-SHA256 signature. 0 on success. */
int forge_sign(EVP_PKEY *k, const uint8_t *msg, size_t len, uint8_t sig[64]);

#endif
