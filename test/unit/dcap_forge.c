/* Test helper: re-signed DCAP quote variants (see dcap_forge.h). */
#include "dcap_forge.h"

#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/ec.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#define HDR 48u
#define BODY 384u

int forge_sign(EVP_PKEY *k, const uint8_t *msg, size_t len, uint8_t sig[64])
{
    unsigned char der[80];
    size_t dlen = sizeof der;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int rc = -1;
    if (!md || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k) != 1 ||
        EVP_DigestSign(md, der, &dlen, msg, len) != 1)
        goto out;
    const unsigned char *p = der;
    ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)dlen);
    if (!s)
        goto out;
    const BIGNUM *r = NULL, *sv = NULL;
    ECDSA_SIG_get0(s, &r, &sv);
    if (BN_bn2binpad(r, sig, 32) == 32 && BN_bn2binpad(sv, sig + 32, 32) == 32)
        rc = 0;
    ECDSA_SIG_free(s);
out:
    EVP_MD_CTX_free(md);
    return rc;
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ext)
        return -1;
    int ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok == 1 ? 0 : -1;
}

static X509 *make_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, int ca,
                       long serial)
{
    X509 *x = X509_new();
    if (!x)
        return NULL;
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    /* 2018-01-01 .. 2040-01-01 */
    ASN1_TIME_set(X509_getm_notBefore(x), 1514764800);
    ASN1_TIME_set(X509_getm_notAfter(x), 2208988800);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
    X509_set_pubkey(x, key);
    X509 *iss = issuer ? issuer : x;
    if (add_ext(x, iss, NID_subject_key_identifier, "hash") != 0 ||
        add_ext(x, iss, NID_authority_key_identifier, "keyid:always") != 0 ||
        add_ext(x, iss, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE") !=
            0 ||
        add_ext(x, iss, NID_key_usage, ca ? "critical,keyCertSign,cRLSign"
                                          : "critical,digitalSignature,nonRepudiation") != 0) {
        X509_free(x);
        return NULL;
    }
    if (X509_sign(x, issuer_key, EVP_sha256()) <= 0) {
        X509_free(x);
        return NULL;
    }
    return x;
}

static size_t pem_of(X509 *const *certs, size_t n, char *out, size_t cap)
{
    BIO *b = BIO_new(BIO_s_mem());
    size_t len = 0;
    for (size_t i = 0; b && i < n; i++)
        PEM_write_bio_X509(b, certs[i]);
    char *p = NULL;
    long l = b ? BIO_get_mem_data(b, &p) : 0;
    if (l > 0 && (size_t)l < cap) {
        memcpy(out, p, (size_t)l);
        len = (size_t)l;
        out[len] = 0;
    }
    BIO_free(b);
    return len;
}

int forge_init(struct forge *f, const uint8_t *real_leaf_der, size_t len)
{
    memset(f, 0, sizeof *f);
    const unsigned char *p = real_leaf_der;
    X509 *real = d2i_X509(NULL, &p, (long)len);
    if (!real)
        return -1;
    f->root_key = EVP_EC_gen("P-256");
    f->leaf_key = EVP_EC_gen("P-256");
    f->att_key = EVP_EC_gen("P-256");
    f->tcb_key = EVP_EC_gen("P-256");
    int rc = -1;
    if (!f->root_key || !f->leaf_key || !f->att_key || !f->tcb_key)
        goto out;
    f->root = make_cert("Forged SGX Root CA", f->root_key, NULL, f->root_key, 1, 1);
    f->leaf = f->root ? make_cert("Forged SGX PCK Certificate", f->leaf_key, f->root, f->root_key,
                                  0, 2)
                      : NULL;
    f->tcb_cert = f->root ? make_cert("Forged SGX TCB Signing", f->tcb_key, f->root,
                                      f->root_key, 0, 3)
                          : NULL;
    if (!f->leaf || !f->tcb_cert)
        goto out;
    /* Copy the SGX extension, then re-sign the leaf. */
    ASN1_OBJECT *obj = OBJ_txt2obj("1.2.840.113741.1.13.1", 1);
    int idx = obj ? X509_get_ext_by_OBJ(real, obj, -1) : -1;
    ASN1_OBJECT_free(obj);
    if (idx < 0 || X509_add_ext(f->leaf, X509_get_ext(real, idx), -1) != 1 ||
        X509_sign(f->leaf, f->root_key, EVP_sha256()) <= 0)
        goto out;
    unsigned char *der = NULL;
    int dl = i2d_X509(f->root, &der);
    if (dl <= 0)
        goto out;
    SHA256(der, (size_t)dl, f->root_fp);
    OPENSSL_free(der);
    X509 *chain[2] = {f->leaf, f->root};
    f->chain_len = pem_of(chain, 2, f->chain_pem, sizeof f->chain_pem);
    X509 *tchain[2] = {f->tcb_cert, f->root};
    f->tcb_chain_len = pem_of(tchain, 2, f->tcb_chain_pem, sizeof f->tcb_chain_pem);
    rc = f->chain_len && f->tcb_chain_len ? 0 : -1;
out:
    X509_free(real);
    return rc;
}

int forge_init_sibling(struct forge *f, const struct forge *base, const uint8_t *real_leaf_der,
                       size_t len)
{
    memset(f, 0, sizeof *f);
    const unsigned char *p = real_leaf_der;
    X509 *real = d2i_X509(NULL, &p, (long)len);
    if (!real)
        return -1;
    int rc = -1;
    EVP_PKEY_up_ref(base->root_key);
    f->root_key = base->root_key;
    X509_up_ref(base->root);
    f->root = base->root;
    memcpy(f->root_fp, base->root_fp, sizeof f->root_fp);
    f->leaf_key = EVP_EC_gen("P-256");
    f->att_key = EVP_EC_gen("P-256");
    f->tcb_key = EVP_EC_gen("P-256");
    if (!f->leaf_key || !f->att_key || !f->tcb_key)
        goto out;
    f->leaf = make_cert("Forged SGX PCK Certificate", f->leaf_key, f->root, f->root_key, 0, 4);
    f->tcb_cert = make_cert("Forged SGX TCB Signing", f->tcb_key, f->root, f->root_key, 0, 5);
    if (!f->leaf || !f->tcb_cert)
        goto out;
    ASN1_OBJECT *obj = OBJ_txt2obj("1.2.840.113741.1.13.1", 1);
    int idx = obj ? X509_get_ext_by_OBJ(real, obj, -1) : -1;
    ASN1_OBJECT_free(obj);
    if (idx < 0 || X509_add_ext(f->leaf, X509_get_ext(real, idx), -1) != 1 ||
        X509_sign(f->leaf, f->root_key, EVP_sha256()) <= 0)
        goto out;
    X509 *chain[2] = {f->leaf, f->root};
    f->chain_len = pem_of(chain, 2, f->chain_pem, sizeof f->chain_pem);
    X509 *tchain[2] = {f->tcb_cert, f->root};
    f->tcb_chain_len = pem_of(tchain, 2, f->tcb_chain_pem, sizeof f->tcb_chain_pem);
    rc = f->chain_len && f->tcb_chain_len ? 0 : -1;
out:
    X509_free(real);
    return rc;
}

void forge_free(struct forge *f)
{
    X509_free(f->root);
    X509_free(f->leaf);
    X509_free(f->tcb_cert);
    EVP_PKEY_free(f->root_key);
    EVP_PKEY_free(f->leaf_key);
    EVP_PKEY_free(f->att_key);
    EVP_PKEY_free(f->tcb_key);
    memset(f, 0, sizeof *f);
}

static void put_le16(uint8_t *p, size_t v)
{
    p[0] = (uint8_t)(v & 0xffu);
    p[1] = (uint8_t)((v >> 8) & 0xffu);
}

static void put_le32(uint8_t *p, size_t v)
{
    for (unsigned i = 0; i < 4; i++)
        p[i] = (uint8_t)((v >> (8 * i)) & 0xffu);
}

size_t forge_quote(const struct forge *f, const uint8_t *in, size_t in_len, uint8_t *out,
                   size_t cap, int new_att_key, int resign_qe, int new_chain,
                   void (*body_patch)(uint8_t *body))
{
    /* Offsets of the real layout (see src/tee/dcap.h). */
    const size_t sig = HDR + BODY + 4, ak = sig + 64, qe = ak + 64, qsig = qe + BODY,
                 auth = qsig + 64;
    if (in_len < auth + 2)
        return 0;
    size_t auth_len = (size_t)(in[auth] | (in[auth + 1] << 8));
    size_t cert = auth + 2 + auth_len;
    if (in_len < cert + 6)
        return 0;
    size_t cert_len = new_chain ? f->chain_len
                                : (size_t)in[cert + 2] | ((size_t)in[cert + 3] << 8) |
                                      ((size_t)in[cert + 4] << 16) | ((size_t)in[cert + 5] << 24);
    size_t total = cert + 6 + cert_len;
    if (total > cap || (!new_chain && total != in_len))
        return 0;
    memcpy(out, in, cert + 6);
    if (new_chain)
        memcpy(out + cert + 6, f->chain_pem, f->chain_len);
    else
        memcpy(out + cert + 6, in + cert + 6, cert_len);
    put_le32(out + cert + 2, cert_len);
    put_le32(out + HDR + BODY, total - sig);
    put_le16(out + auth, auth_len);
    if (body_patch)
        body_patch(out + HDR);
    if (new_att_key) {
        uint8_t pt[65];
        size_t pl = sizeof pt;
        if (EVP_PKEY_get_octet_string_param(f->att_key, "encoded-pub-key", pt, sizeof pt, &pl) !=
                1 ||
            pl != 65)
            return 0;
        memcpy(out + ak, pt + 1, 64);
        /* QE report data = SHA-256(attestation key || auth data) || zeros */
        static uint8_t buf[64 + 65536];
        memcpy(buf, out + ak, 64);
        memcpy(buf + 64, out + auth + 2, auth_len);
        SHA256(buf, 64 + auth_len, out + qe + 320);
        memset(out + qe + 352, 0, 32);
        if (forge_sign(f->att_key, out, HDR + BODY, out + sig) != 0)
            return 0;
    }
    if (resign_qe && forge_sign(f->leaf_key, out + qe, BODY, out + qsig) != 0)
        return 0;
    return total;
}

/* DER of every PEM certificate in pem, concatenated into out. */
static size_t pem_to_der(const uint8_t *pem, size_t len, uint8_t *out, size_t cap)
{
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    size_t n = 0;
    X509 *x;
    while (b && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
        unsigned char *der = NULL;
        int dl = i2d_X509(x, &der);
        if (dl > 0 && n + (size_t)dl <= cap) {
            memcpy(out + n, der, (size_t)dl);
            n += (size_t)dl;
        }
        OPENSSL_free(der);
        X509_free(x);
    }
    BIO_free(b);
    ERR_clear_error();
    return n;
}

int forge_same_certs(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    static uint8_t da[16384], db[16384];
    size_t na = pem_to_der(a, alen, da, sizeof da), nb = pem_to_der(b, blen, db, sizeof db);
    return na > 0 && na == nb && memcmp(da, db, na) == 0;
}
