/* Intel SGX DCAP quote verification (see dcap.h for the layout and the order of checks).
 *
 * Cryptography and X.509 come from OpenSSL (libcrypto); the quote, the PCK certificate's SGX
 * extension and the TCB info collateral are parsed here with bounds-checked cursors. Every
 * input is untrusted: each failure is an error value with one line of context. */
#include "tee/dcap.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "common/errf.h"
#include "common/hex.h"

#define QUOTE_VERSION 3u
#define ATT_KEY_ECDSA_P256 2u
#define TEE_TYPE_SGX 0u
#define CERT_TYPE_PCK_CHAIN 5u
#define SIG_BYTES 64u
#define KEY_BYTES 64u
#define QE_ISV_PROD_ID 1u

static const uint8_t intel_qe_vendor[16] = {0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
                                            0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07};
/* MRSIGNER of Intel's quoting enclaves. */
static const uint8_t intel_qe_mrsigner[32] = {
    0x8c, 0x4f, 0x57, 0x75, 0xd7, 0x96, 0x50, 0x3e, 0x96, 0x13, 0x7f, 0x77, 0xc6, 0x8a, 0x82, 0x9a,
    0x00, 0x56, 0xac, 0x8d, 0xed, 0x70, 0x14, 0x0b, 0x08, 0x1b, 0x09, 0x44, 0x90, 0xc5, 0x7b, 0xff};
/* DER contents of OID 1.2.840.113741.1.13.1 (Intel SGX extensions of PCK certificates). */
static const uint8_t sgx_ext_oid[] = {0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01};

static int errf(char *err, size_t cap, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int errf(char *err, size_t cap, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rc = nr_verrf(err, cap, rc, fmt, ap);
    va_end(ap);
    ERR_clear_error(); /* never leave OpenSSL's queue to the next caller */
    return rc;
}

/* ---- bounds-checked cursor ---- */

struct cur {
    const uint8_t *p;
    size_t left;
};

static int take(struct cur *c, size_t n, const uint8_t **out)
{
    if (c->left < n)
        return NR_ETRUNCATED;
    *out = c->p;
    c->p += n;
    c->left -= n;
    return NR_OK;
}

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8u * i);
    return v;
}

/* Exactly 2n hex digits -> n bytes (src/common/hex.h). */
static int hex_bytes(uint8_t *out, size_t n, const char *hex)
{
    return hex ? nr_hex_decode(out, n, hex, strlen(hex)) : NR_EMALFORMED;
}

int nr_dcap_hex32(uint8_t out[32], const char *hex)
{
    if (!out)
        return NR_EINVAL;
    return hex_bytes(out, 32, hex) == NR_OK ? NR_OK : NR_EINVAL;
}

/* ---- quote layout ---- */

int nr_dcap_parse(struct nr_dcap_quote *q, const uint8_t *quote, size_t len)
{
    const uint8_t *p;
    if (!q || (!quote && len))
        return NR_EINVAL;
    memset(q, 0, sizeof *q);
    if (len > NR_DCAP_QUOTE_MAX_BYTES)
        return NR_ETOOBIG;
    struct cur c = {quote, len};
    int rc;
    if ((rc = take(&c, NR_DCAP_HEADER_BYTES, &q->header)) != NR_OK)
        return rc;
    if (le16(q->header) != QUOTE_VERSION)
        return NR_EVERSION;
    if (le16(q->header + 2) != ATT_KEY_ECDSA_P256 || le32(q->header + 4) != TEE_TYPE_SGX)
        return NR_EMALFORMED;
    if ((rc = take(&c, NR_DCAP_BODY_BYTES, &q->body)) != NR_OK || (rc = take(&c, 4, &p)) != NR_OK)
        return rc;
    uint32_t sig_len = le32(p);
    if (sig_len != c.left)
        return sig_len > c.left ? NR_ETRUNCATED : NR_EMALFORMED;
    if ((rc = take(&c, SIG_BYTES, &q->isv_sig)) != NR_OK ||
        (rc = take(&c, KEY_BYTES, &q->att_key)) != NR_OK ||
        (rc = take(&c, NR_DCAP_BODY_BYTES, &q->qe_body)) != NR_OK ||
        (rc = take(&c, SIG_BYTES, &q->qe_sig)) != NR_OK || (rc = take(&c, 2, &p)) != NR_OK)
        return rc;
    q->qe_auth_len = le16(p);
    if ((rc = take(&c, q->qe_auth_len, &q->qe_auth)) != NR_OK || (rc = take(&c, 6, &p)) != NR_OK)
        return rc;
    q->cert_type = le16(p);
    q->cert_len = le32(p + 2);
    if (q->cert_len != c.left)
        return q->cert_len > c.left ? NR_ETRUNCATED : NR_EMALFORMED;
    if ((rc = take(&c, q->cert_len, &q->cert_data)) != NR_OK)
        return rc;
    return NR_OK;
}

/* ---- OpenSSL helpers ---- */

static EVP_PKEY *p256_from_xy(const uint8_t xy[KEY_BYTES])
{
    uint8_t pt[1 + KEY_BYTES];
    EVP_PKEY *pk = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (!ctx)
        return NULL;
    pt[0] = 0x04; /* uncompressed point */
    memcpy(pt + 1, xy, KEY_BYTES);
    char group[] = "prime256v1";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof pt),
        OSSL_PARAM_construct_end(),
    };
    if (EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        pk = NULL;
    EVP_PKEY_CTX_free(ctx);
    return pk;
}

static int is_p256(EVP_PKEY *pk)
{
    char name[32];
    size_t nlen = 0;
    if (!pk || !EVP_PKEY_is_a(pk, "EC"))
        return 0;
    if (EVP_PKEY_get_group_name(pk, name, sizeof name, &nlen) != 1)
        return 0;
    return strcmp(name, "prime256v1") == 0 || strcmp(name, "P-256") == 0;
}

/* ECDSA-SHA256 over msg with a raw r || s signature (32 + 32, big-endian). 1 if valid. */
static int ecdsa_ok(EVP_PKEY *pk, const uint8_t sig[SIG_BYTES], const uint8_t *msg, size_t len)
{
    int ok = 0;
    unsigned char *der = NULL;
    ECDSA_SIG *s = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, 32, NULL), *sv = BN_bin2bn(sig + 32, 32, NULL);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!s || !r || !sv || !md)
        goto out;
    if (ECDSA_SIG_set0(s, r, sv) != 1)
        goto out;
    r = sv = NULL; /* owned by s */
    int dlen = i2d_ECDSA_SIG(s, &der);
    if (dlen <= 0)
        goto out;
    if (EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pk) != 1)
        goto out;
    ok = EVP_DigestVerify(md, der, (size_t)dlen, msg, len) == 1;
out:
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    BN_free(r);
    BN_free(sv);
    ECDSA_SIG_free(s);
    ERR_clear_error();
    return ok;
}

static int fingerprint(X509 *x, uint8_t out[32])
{
    unsigned char *der = NULL;
    int len = i2d_X509(x, &der);
    if (len <= 0)
        return 0;
    SHA256(der, (size_t)len, out);
    OPENSSL_free(der);
    return 1;
}

/* Up to NR_DCAP_MAX_CERTS PEM certificates; NR_ECERT if none, too many, or bad. */
static int load_pem_chain(X509 *certs[NR_DCAP_MAX_CERTS], unsigned *n, const uint8_t *pem,
                          size_t len)
{
    *n = 0;
    if (len == 0 || len > NR_DCAP_QUOTE_MAX_BYTES * 4u)
        return NR_ECERT;
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    if (!bio)
        return NR_ENOMEM;
    int rc = NR_OK;
    for (;;) {
        X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        if (!x)
            break;
        if (*n == NR_DCAP_MAX_CERTS) {
            X509_free(x);
            rc = NR_ECERT;
            break;
        }
        certs[(*n)++] = x;
    }
    BIO_free(bio);
    ERR_clear_error();
    if (rc == NR_OK && *n == 0)
        rc = NR_ECERT;
    return rc;
}

static void free_certs(X509 *certs[NR_DCAP_MAX_CERTS], unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        X509_free(certs[i]);
}

static int crl_error(int e)
{
    switch (e) {
    case X509_V_ERR_CERT_REVOKED:
    case X509_V_ERR_UNABLE_TO_GET_CRL:
    case X509_V_ERR_CRL_HAS_EXPIRED:
    case X509_V_ERR_CRL_NOT_YET_VALID:
    case X509_V_ERR_CRL_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
    case X509_V_ERR_ERROR_IN_CRL_LAST_UPDATE_FIELD:
    case X509_V_ERR_ERROR_IN_CRL_NEXT_UPDATE_FIELD:
    case X509_V_ERR_DIFFERENT_CRL_SCOPE:
    case X509_V_ERR_KEYUSAGE_NO_CRL_SIGN:
        return 1;
    default:
        return 0;
    }
}

/* Verify certs[0] (leaf) up to the certificate with the pinned fingerprint, at `t`, with the
 * given CRLs (crl checking on when crls or require_crl). */
static int verify_path(X509 *certs[NR_DCAP_MAX_CERTS], unsigned n, const uint8_t root_fp[32],
                       int64_t t, const struct nr_dcap_blob *crls, unsigned n_crls,
                       int require_crl, const char *what, char *err, size_t cap)
{
    int rc = NR_ECERT;
    X509 *root = NULL;
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    STACK_OF(X509_CRL) *crl_stack = sk_X509_CRL_new_null();
    if (!store || !ctx || !untrusted || !crl_stack) {
        rc = errf(err, cap, NR_ENOMEM, "%s: out of memory", what);
        goto out;
    }
    for (unsigned i = 1; i < n; i++) {
        uint8_t fp[32];
        if (!fingerprint(certs[i], fp)) {
            rc = errf(err, cap, NR_ECERT, "%s: certificate %u cannot be encoded", what, i);
            goto out;
        }
        if (CRYPTO_memcmp(fp, root_fp, 32) == 0)
            root = certs[i];
        else if (!sk_X509_push(untrusted, certs[i])) {
            rc = errf(err, cap, NR_ENOMEM, "%s: out of memory", what);
            goto out;
        }
    }
    if (!root) {
        rc = errf(err, cap, NR_ECERT, "%s: no certificate with the pinned root fingerprint", what);
        goto out;
    }
    if (X509_STORE_add_cert(store, root) != 1) {
        rc = errf(err, cap, NR_ECERT, "%s: root not usable", what);
        goto out;
    }
    for (unsigned i = 0; i < n_crls && i < NR_DCAP_MAX_CRLS; i++) {
        const unsigned char *p = crls[i].data;
        if (!p || crls[i].len == 0 || crls[i].len > 1u << 20) {
            rc = errf(err, cap, NR_EREVOKED, "%s: CRL %u empty or too large", what, i);
            goto out;
        }
        X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)crls[i].len);
        if (!crl || p != crls[i].data + crls[i].len) {
            X509_CRL_free(crl);
            rc = errf(err, cap, NR_EREVOKED, "%s: CRL %u is not one DER CRL", what, i);
            goto out;
        }
        if (!sk_X509_CRL_push(crl_stack, crl)) {
            X509_CRL_free(crl);
            rc = errf(err, cap, NR_ENOMEM, "%s: out of memory", what);
            goto out;
        }
    }
    if (X509_STORE_CTX_init(ctx, store, certs[0], untrusted) != 1) {
        rc = errf(err, cap, NR_ENOMEM, "%s: verify context", what);
        goto out;
    }
    X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_time(param, (time_t)t);
    unsigned long flags = X509_V_FLAG_X509_STRICT;
    if (n_crls || require_crl) {
        flags |= X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL;
        X509_STORE_CTX_set0_crls(ctx, crl_stack);
    }
    X509_VERIFY_PARAM_set_flags(param, flags);
    if (X509_verify_cert(ctx) != 1) {
        int e = X509_STORE_CTX_get_error(ctx);
        int depth = X509_STORE_CTX_get_error_depth(ctx);
        rc = errf(err, cap, crl_error(e) ? NR_EREVOKED : NR_ECERT, "%s: depth %d: %s", what,
                  depth, X509_verify_cert_error_string(e));
        goto out;
    }
    rc = NR_OK;
out:
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    sk_X509_free(untrusted); /* the certificates belong to the caller */
    sk_X509_CRL_pop_free(crl_stack, X509_CRL_free);
    ERR_clear_error();
    return rc;
}

/* ---- the PCK certificate's SGX extension (DER) ---- */

struct der {
    const uint8_t *p;
    size_t left;
};

/* Next TLV: single-byte tags, definite lengths of at most 2 length bytes. */
static int der_next(struct der *c, uint8_t *tag, struct der *val)
{
    if (c->left < 2)
        return NR_ETRUNCATED;
    uint8_t t = c->p[0];
    if ((t & 0x1fu) == 0x1fu)
        return NR_EMALFORMED;
    size_t len = c->p[1], hdr = 2;
    if (len == 0x81u || len == 0x82u) {
        size_t nb = len - 0x80u;
        if (c->left < 2 + nb)
            return NR_ETRUNCATED;
        len = 0;
        for (size_t i = 0; i < nb; i++)
            len = (len << 8) | c->p[2 + i];
        hdr += nb;
    } else if (len > 0x80u) {
        return NR_EMALFORMED;
    } else if (len == 0x80u) {
        return NR_EMALFORMED; /* indefinite length is not DER */
    }
    if (c->left - hdr < len)
        return NR_ETRUNCATED;
    *tag = t;
    val->p = c->p + hdr;
    val->left = len;
    c->p += hdr + len;
    c->left -= hdr + len;
    return NR_OK;
}

/* OID value == sgx_ext_oid || suffix (suffix_len arcs, each < 128). */
static int oid_is(const struct der *oid, const uint8_t *suffix, size_t suffix_len)
{
    return oid->left == sizeof sgx_ext_oid + suffix_len &&
           memcmp(oid->p, sgx_ext_oid, sizeof sgx_ext_oid) == 0 &&
           memcmp(oid->p + sizeof sgx_ext_oid, suffix, suffix_len) == 0;
}

static int der_uint16(const struct der *v, uint16_t *out)
{
    if (v->left == 0 || v->left > 3 || (v->p[0] & 0x80u))
        return NR_EMALFORMED;
    uint32_t x = 0;
    for (size_t i = 0; i < v->left; i++)
        x = (x << 8) | v->p[i];
    if (x > 0xffffu)
        return NR_EMALFORMED;
    *out = (uint16_t)x;
    return NR_OK;
}

/* SEQUENCE { OID, value } -> oid, value (tag checked by caller). */
static int der_pair(struct der *seq_val, struct der *oid, uint8_t *vtag, struct der *val)
{
    uint8_t t;
    int rc = der_next(seq_val, &t, oid);
    if (rc != NR_OK)
        return rc;
    if (t != 0x06u)
        return NR_EMALFORMED;
    return der_next(seq_val, vtag, val);
}

static int parse_tcb(struct der tcb, struct nr_dcap_info *info, unsigned *seen)
{
    while (tcb.left) {
        uint8_t t, vt;
        struct der item, oid, val;
        int rc = der_next(&tcb, &t, &item);
        if (rc != NR_OK)
            return rc;
        if (t != 0x30u)
            return NR_EMALFORMED;
        if ((rc = der_pair(&item, &oid, &vt, &val)) != NR_OK)
            return rc;
        for (uint8_t k = 1; k <= 18; k++) {
            const uint8_t suf[2] = {2, k};
            if (!oid_is(&oid, suf, 2))
                continue;
            uint16_t v = 0;
            if (k <= 16) {
                if (vt != 0x02u || der_uint16(&val, &v) != NR_OK || v > 255)
                    return NR_EMALFORMED;
                info->cpusvn[k - 1] = (uint8_t)v;
            } else if (k == 17) {
                if (vt != 0x02u || der_uint16(&val, &info->cert_pce_svn) != NR_OK)
                    return NR_EMALFORMED;
            } else if (vt != 0x04u || val.left != NR_DCAP_CPUSVN_BYTES) {
                return NR_EMALFORMED; /* cpusvn: must match the components */
            }
            *seen |= 1u << k;
        }
    }
    return NR_OK;
}

static int parse_sgx_ext(X509 *leaf, struct nr_dcap_info *info)
{
    ASN1_OBJECT *obj = OBJ_txt2obj("1.2.840.113741.1.13.1", 1);
    if (!obj)
        return NR_ENOMEM;
    int idx = X509_get_ext_by_OBJ(leaf, obj, -1);
    ASN1_OBJECT_free(obj);
    if (idx < 0)
        return NR_EMALFORMED;
    X509_EXTENSION *ext = X509_get_ext(leaf, idx);
    ASN1_OCTET_STRING *os = ext ? X509_EXTENSION_get_data(ext) : NULL;
    if (!os || ASN1_STRING_length(os) <= 0)
        return NR_EMALFORMED;
    struct der top = {ASN1_STRING_get0_data(os), (size_t)ASN1_STRING_length(os)}, seq;
    uint8_t t;
    int rc = der_next(&top, &t, &seq);
    if (rc != NR_OK)
        return rc;
    if (t != 0x30u || top.left != 0)
        return NR_EMALFORMED;
    unsigned have = 0, tcb_seen = 0;
    while (seq.left) {
        struct der item, oid, val;
        uint8_t vt;
        if ((rc = der_next(&seq, &t, &item)) != NR_OK)
            return rc;
        if (t != 0x30u)
            return NR_EMALFORMED;
        if ((rc = der_pair(&item, &oid, &vt, &val)) != NR_OK)
            return rc;
        const uint8_t s1 = 1, s2 = 2, s3 = 3, s4 = 4;
        if (oid_is(&oid, &s1, 1)) { /* PPID */
            if (vt != 0x04u || val.left != NR_DCAP_PPID_BYTES)
                return NR_EMALFORMED;
            memcpy(info->ppid, val.p, NR_DCAP_PPID_BYTES);
            have |= 1u;
        } else if (oid_is(&oid, &s2, 1)) { /* TCB */
            if (vt != 0x30u || (rc = parse_tcb(val, info, &tcb_seen)) != NR_OK)
                return rc != NR_OK ? rc : NR_EMALFORMED;
            have |= 2u;
        } else if (oid_is(&oid, &s3, 1)) { /* PCE-ID */
            if (vt != 0x04u || val.left != 2)
                return NR_EMALFORMED;
            memcpy(info->pce_id, val.p, 2);
            have |= 4u;
        } else if (oid_is(&oid, &s4, 1)) { /* FMSPC */
            if (vt != 0x04u || val.left != NR_DCAP_FMSPC_BYTES)
                return NR_EMALFORMED;
            memcpy(info->fmspc, val.p, NR_DCAP_FMSPC_BYTES);
            have |= 8u;
        }
    }
    /* every one of PPID, TCB (all 16 components and the PCE SVN), PCE-ID, FMSPC */
    if (have != 15u || (tcb_seen & 0x3fffeu) != 0x3fffeu)
        return NR_EMALFORMED;
    return NR_OK;
}

/* ---- TCB info collateral ---- */

static int parse_time(const char *s, int64_t *out)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    int y, mo, d, h, mi, se;
    char z = 0;
    if (!s || strlen(s) != 20 ||
        sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &se, &z) != 7 || z != 'Z')
        return NR_EMALFORMED;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
        return NR_EMALFORMED;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    *out = (int64_t)timegm(&tm);
    return NR_OK;
}

/* The raw bytes of the value of the top-level key "tcbInfo" (an object). */
static int raw_tcb_info(const char *doc, size_t len, const char **start, size_t *out_len)
{
    static const char key[] = "\"tcbInfo\"";
    size_t i = 0, depth = 0;
    int in_str = 0;
    /* Find the key at depth 1, outside strings. */
    for (; i < len; i++) {
        char ch = doc[i];
        if (in_str) {
            if (ch == '\\')
                i++;
            else if (ch == '"')
                in_str = 0;
            continue;
        }
        if (ch == '{' || ch == '[')
            depth++;
        else if (ch == '}' || ch == ']') {
            if (depth == 0)
                return NR_EMALFORMED;
            depth--;
        } else if (ch == '"') {
            if (depth == 1 && len - i >= sizeof key - 1 && memcmp(doc + i, key, sizeof key - 1) == 0) {
                i += sizeof key - 1;
                break;
            }
            in_str = 1;
        }
    }
    while (i < len && (doc[i] == ' ' || doc[i] == '\t' || doc[i] == '\n' || doc[i] == '\r'))
        i++;
    if (i >= len || doc[i] != ':')
        return NR_EMALFORMED;
    i++;
    while (i < len && (doc[i] == ' ' || doc[i] == '\t' || doc[i] == '\n' || doc[i] == '\r'))
        i++;
    if (i >= len || doc[i] != '{')
        return NR_EMALFORMED;
    size_t s = i;
    depth = 0;
    in_str = 0;
    for (; i < len; i++) {
        char ch = doc[i];
        if (in_str) {
            if (ch == '\\')
                i++;
            else if (ch == '"')
                in_str = 0;
            continue;
        }
        if (ch == '"')
            in_str = 1;
        else if (ch == '{' || ch == '[')
            depth++;
        else if (ch == '}' || ch == ']') {
            if (--depth == 0) {
                *start = doc + s;
                *out_len = i - s + 1;
                return NR_OK;
            }
        }
    }
    return NR_ETRUNCATED;
}

static int status_of(const char *s)
{
    static const struct {
        const char *name;
        int status;
    } t[] = {
        {"UpToDate", NR_DCAP_TCB_UP_TO_DATE},
        {"SWHardeningNeeded", NR_DCAP_TCB_SW_HARDENING_NEEDED},
        {"ConfigurationNeeded", NR_DCAP_TCB_CONFIGURATION_NEEDED},
        {"ConfigurationAndSWHardeningNeeded", NR_DCAP_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED},
        {"OutOfDate", NR_DCAP_TCB_OUT_OF_DATE},
        {"OutOfDateConfigurationNeeded", NR_DCAP_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED},
        {"Revoked", NR_DCAP_TCB_REVOKED},
    };
    for (size_t i = 0; s && i < sizeof t / sizeof t[0]; i++) {
        if (strcmp(s, t[i].name) == 0)
            return t[i].status;
    }
    return NR_DCAP_TCB_UNKNOWN;
}

static int json_u16(const cJSON *o, const char *name, uint16_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 65535 ||
        v->valuedouble != (double)(int)v->valuedouble)
        return NR_EMALFORMED;
    *out = (uint16_t)v->valueint;
    return NR_OK;
}

/* Component SVNs of one tcbLevels[].tcb (version 3: sgxtcbcomponents[16].svn; version 2:
 * sgxtcbcompNNsvn). */
static int level_svns(const cJSON *tcb, int version, uint8_t comp[16], uint16_t *pcesvn)
{
    if (!cJSON_IsObject(tcb) || json_u16(tcb, "pcesvn", pcesvn) != NR_OK)
        return NR_EMALFORMED;
    if (version == 3) {
        const cJSON *arr = cJSON_GetObjectItemCaseSensitive(tcb, "sgxtcbcomponents");
        if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) != 16)
            return NR_EMALFORMED;
        for (int i = 0; i < 16; i++) {
            uint16_t v;
            if (json_u16(cJSON_GetArrayItem(arr, i), "svn", &v) != NR_OK || v > 255)
                return NR_EMALFORMED;
            comp[i] = (uint8_t)v;
        }
        return NR_OK;
    }
    for (int i = 0; i < 16; i++) {
        char name[24];
        uint16_t v;
        snprintf(name, sizeof name, "sgxtcbcomp%02dsvn", i + 1);
        if (json_u16(tcb, name, &v) != NR_OK || v > 255)
            return NR_EMALFORMED;
        comp[i] = (uint8_t)v;
    }
    return NR_OK;
}

static int eval_tcb(const struct nr_dcap_policy *pol, struct nr_dcap_info *info, char *err,
                    size_t cap)
{
    X509 *certs[NR_DCAP_MAX_CERTS];
    unsigned n = 0;
    cJSON *doc = NULL, *body = NULL;
    const char *raw = NULL;
    size_t raw_len = 0;
    uint8_t sig[SIG_BYTES], fmspc[NR_DCAP_FMSPC_BYTES], pce_id[2];
    int rc;
    const char *json = (const char *)pol->tcb_info.data;
    size_t len = pol->tcb_info.len;
    if (len == 0 || len > NR_DCAP_TCB_INFO_MAX_BYTES)
        return errf(err, cap, NR_ETCB, "tcb info: empty or larger than %u bytes",
                    NR_DCAP_TCB_INFO_MAX_BYTES);
    /* Parse first (bytes only), then the signing chain, then the signature. */
    if ((rc = raw_tcb_info(json, len, &raw, &raw_len)) != NR_OK)
        return errf(err, cap, NR_ETCB, "tcb info: no tcbInfo object");
    doc = cJSON_ParseWithLength(json, len);
    const cJSON *sj = doc ? cJSON_GetObjectItemCaseSensitive(doc, "signature") : NULL;
    if (!cJSON_IsString(sj) || hex_bytes(sig, sizeof sig, sj->valuestring) != NR_OK) {
        rc = errf(err, cap, NR_ETCB, "tcb info: no signature (128 hex digits)");
        goto out;
    }
    rc = load_pem_chain(certs, &n, pol->tcb_sign_chain.data, pol->tcb_sign_chain.len);
    if (rc != NR_OK) {
        rc = errf(err, cap, rc, "tcb info: signing chain is not PEM certificates");
        goto out;
    }
    rc = verify_path(certs, n, pol->root_fp, pol->time, pol->crls, 0, 0, "tcb signing chain", err,
                     cap);
    if (rc != NR_OK)
        goto out;
    EVP_PKEY *pk = X509_get0_pubkey(certs[0]);
    if (!is_p256(pk) || !ecdsa_ok(pk, sig, (const uint8_t *)raw, raw_len)) {
        rc = errf(err, cap, NR_ETCB, "tcb info: signature does not verify");
        goto out;
    }
    /* Evaluate exactly the signed bytes. */
    body = cJSON_ParseWithLength(raw, raw_len);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(body, "id");
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(body, "version");
    const cJSON *fj = cJSON_GetObjectItemCaseSensitive(body, "fmspc");
    const cJSON *pj = cJSON_GetObjectItemCaseSensitive(body, "pceId");
    const cJSON *nu = cJSON_GetObjectItemCaseSensitive(body, "nextUpdate");
    const cJSON *iss = cJSON_GetObjectItemCaseSensitive(body, "issueDate");
    const cJSON *levels = cJSON_GetObjectItemCaseSensitive(body, "tcbLevels");
    int version = cJSON_IsNumber(ver) ? ver->valueint : 0;
    if (version != 2 && version != 3) {
        rc = errf(err, cap, NR_ETCB, "tcb info: version %d not supported", version);
        goto out;
    }
    if ((version == 3 && (!cJSON_IsString(id) || strcmp(id->valuestring, "SGX") != 0)) ||
        !cJSON_IsString(fj) || hex_bytes(fmspc, sizeof fmspc, fj->valuestring) != NR_OK ||
        !cJSON_IsString(pj) || hex_bytes(pce_id, sizeof pce_id, pj->valuestring) != NR_OK ||
        !cJSON_IsArray(levels)) {
        rc = errf(err, cap, NR_ETCB, "tcb info: missing or bad id, fmspc, pceId or tcbLevels");
        goto out;
    }
    int64_t t_next = 0, t_issue = 0;
    if (!cJSON_IsString(nu) || parse_time(nu->valuestring, &t_next) != NR_OK ||
        !cJSON_IsString(iss) || parse_time(iss->valuestring, &t_issue) != NR_OK) {
        rc = errf(err, cap, NR_ETCB, "tcb info: bad issueDate or nextUpdate");
        goto out;
    }
    if (pol->time < t_issue || pol->time > t_next) {
        rc = errf(err, cap, NR_ETCB, "tcb info: not current at the verification time");
        goto out;
    }
    if (memcmp(fmspc, info->fmspc, sizeof fmspc) != 0 ||
        memcmp(pce_id, info->pce_id, sizeof pce_id) != 0) {
        rc = errf(err, cap, NR_ETCB, "tcb info: for another platform (fmspc or pceId)");
        goto out;
    }
    int status = NR_DCAP_TCB_UNKNOWN;
    const cJSON *lv;
    cJSON_ArrayForEach(lv, levels)
    {
        uint8_t comp[16];
        uint16_t pcesvn = 0;
        if (level_svns(cJSON_GetObjectItemCaseSensitive(lv, "tcb"), version, comp, &pcesvn) !=
            NR_OK) {
            rc = errf(err, cap, NR_ETCB, "tcb info: malformed tcb level");
            goto out;
        }
        int le = pcesvn <= info->cert_pce_svn;
        for (int i = 0; i < 16 && le; i++)
            le = comp[i] <= info->cpusvn[i];
        if (le) {
            const cJSON *st = cJSON_GetObjectItemCaseSensitive(lv, "tcbStatus");
            status = cJSON_IsString(st) ? status_of(st->valuestring) : NR_DCAP_TCB_UNKNOWN;
            break;
        }
    }
    info->tcb_status = status;
    unsigned allowed = pol->tcb_allowed ? pol->tcb_allowed
                                        : NR_DCAP_TCB_BIT(NR_DCAP_TCB_UP_TO_DATE);
    if (status == NR_DCAP_TCB_UNKNOWN || !(allowed & NR_DCAP_TCB_BIT(status))) {
        rc = errf(err, cap, NR_ETCB, "tcb info: platform TCB status %d not allowed", status);
        goto out;
    }
    rc = NR_OK;
out:
    cJSON_Delete(body);
    cJSON_Delete(doc);
    free_certs(certs, n);
    return rc;
}

/* ---- verification ---- */

static void body_fields(struct nr_dcap_info *info, const struct nr_dcap_quote *q)
{
    info->qe_svn = le16(q->header + 8);
    info->pce_svn = le16(q->header + 10);
    memcpy(info->mrenclave, q->body + NR_DCAP_BODY_MRENCLAVE, 32);
    memcpy(info->mrsigner, q->body + NR_DCAP_BODY_MRSIGNER, 32);
    info->isv_prod_id = le16(q->body + NR_DCAP_BODY_ISV_PROD_ID);
    info->isv_svn = le16(q->body + NR_DCAP_BODY_ISV_SVN);
    info->attributes_flags = le64(q->body + NR_DCAP_BODY_ATTRIBUTES);
    memcpy(info->report_data, q->body + NR_DCAP_BODY_REPORT_DATA, 64);
}

int nr_dcap_pck_info(struct nr_dcap_info *info, const uint8_t *quote, size_t len)
{
    struct nr_dcap_quote q;
    X509 *certs[NR_DCAP_MAX_CERTS];
    unsigned n = 0;
    if (!info)
        return NR_EINVAL;
    memset(info, 0, sizeof *info);
    int rc = nr_dcap_parse(&q, quote, len);
    if (rc != NR_OK)
        return rc;
    if (q.cert_type != CERT_TYPE_PCK_CHAIN)
        return NR_EMALFORMED;
    body_fields(info, &q);
    if ((rc = load_pem_chain(certs, &n, q.cert_data, q.cert_len)) != NR_OK)
        return rc;
    rc = parse_sgx_ext(certs[0], info) == NR_OK ? NR_OK : NR_ECERT;
    free_certs(certs, n);
    ERR_clear_error();
    return rc;
}

int nr_dcap_verify(struct nr_dcap_info *info_out, const struct nr_dcap_policy *pol,
                   const uint8_t *quote, size_t len, char *err, size_t cap)
{
    struct nr_dcap_quote q;
    struct nr_dcap_info info;
    X509 *certs[NR_DCAP_MAX_CERTS];
    unsigned n = 0;
    EVP_PKEY *ak = NULL;
    uint8_t h[32];
    int rc;
    if (err && cap)
        err[0] = 0;
    memset(&info, 0, sizeof info);
    if (info_out)
        memset(info_out, 0, sizeof *info_out);
    if (!pol || (!quote && len))
        return errf(err, cap, NR_EINVAL, "no policy or quote");
    if ((rc = nr_dcap_parse(&q, quote, len)) != NR_OK)
        return errf(err, cap, rc, "quote layout: %s", nr_errname(rc));
    if (memcmp(q.header + 12, intel_qe_vendor, sizeof intel_qe_vendor) != 0)
        return errf(err, cap, NR_EMALFORMED, "quote: QE vendor is not Intel");
    if (q.cert_type != CERT_TYPE_PCK_CHAIN)
        return errf(err, cap, NR_EMALFORMED, "quote: certification data type %u, not a PCK chain",
                    (unsigned)q.cert_type);
    body_fields(&info, &q);

    /* PCK chain to the pinned root, with revocation. */
    if ((rc = load_pem_chain(certs, &n, q.cert_data, q.cert_len)) != NR_OK) {
        rc = errf(err, cap, rc, "pck chain: not 1 to %u PEM certificates", NR_DCAP_MAX_CERTS);
        goto out;
    }
    rc = verify_path(certs, n, pol->root_fp, pol->time, pol->crls, pol->n_crls, pol->require_crl,
                     "pck chain", err, cap);
    if (rc != NR_OK)
        goto out;
    if (parse_sgx_ext(certs[0], &info) != NR_OK) {
        rc = errf(err, cap, NR_ECERT, "pck certificate: missing or malformed SGX extension");
        goto out;
    }
    /* QE report: signed by the PCK key, binds the attestation key. */
    EVP_PKEY *pck = X509_get0_pubkey(certs[0]);
    if (!is_p256(pck)) {
        rc = errf(err, cap, NR_ECERT, "pck certificate: key is not ECDSA P-256");
        goto out;
    }
    if (!ecdsa_ok(pck, q.qe_sig, q.qe_body, NR_DCAP_BODY_BYTES)) {
        rc = errf(err, cap, NR_EATTEST, "qe report: signature by the PCK key does not verify");
        goto out;
    }
    {
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        unsigned hl = 0;
        int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
                 EVP_DigestUpdate(md, q.att_key, KEY_BYTES) == 1 &&
                 (q.qe_auth_len == 0 || EVP_DigestUpdate(md, q.qe_auth, q.qe_auth_len) == 1) &&
                 EVP_DigestFinal_ex(md, h, &hl) == 1 && hl == sizeof h;
        EVP_MD_CTX_free(md);
        if (!ok) {
            rc = errf(err, cap, NR_ENOMEM, "qe report: hash");
            goto out;
        }
    }
    static const uint8_t zero32[32];
    const uint8_t *qrd = q.qe_body + NR_DCAP_BODY_REPORT_DATA;
    if (CRYPTO_memcmp(qrd, h, 32) != 0 || CRYPTO_memcmp(qrd + 32, zero32, 32) != 0) {
        rc = errf(err, cap, NR_EATTEST,
                  "qe report: report data is not SHA-256(attestation key || QE auth data)");
        goto out;
    }
    if (memcmp(q.qe_body + NR_DCAP_BODY_MRSIGNER, intel_qe_mrsigner, 32) != 0 ||
        le16(q.qe_body + NR_DCAP_BODY_ISV_PROD_ID) != QE_ISV_PROD_ID ||
        (le64(q.qe_body + NR_DCAP_BODY_ATTRIBUTES) & NR_DCAP_ATTR_DEBUG)) {
        rc = errf(err, cap, NR_EATTEST, "qe report: not Intel's quoting enclave");
        goto out;
    }
    /* ISV report: signed by the attestation key. */
    if (!(ak = p256_from_xy(q.att_key))) {
        rc = errf(err, cap, NR_EATTEST, "attestation key: not a P-256 point");
        goto out;
    }
    if (!ecdsa_ok(ak, q.isv_sig, quote, NR_DCAP_HEADER_BYTES + NR_DCAP_BODY_BYTES)) {
        rc = errf(err, cap, NR_EATTEST, "isv report: signature by the attestation key does not verify");
        goto out;
    }
    if (pol->tcb_info.data && (rc = eval_tcb(pol, &info, err, cap)) != NR_OK)
        goto out;
    /* Enclave policy. */
    if ((info.attributes_flags & NR_DCAP_ATTR_DEBUG) && !pol->allow_debug) {
        rc = errf(err, cap, NR_EMEASUREMENT, "enclave: debug enclave not allowed");
        goto out;
    }
    if (pol->n_mrenclave == 0 && !pol->check_mrsigner && !pol->any_mrenclave) {
        rc = errf(err, cap, NR_EINVAL, "policy: neither MRENCLAVE nor MRSIGNER given");
        goto out;
    }
    if (pol->n_mrenclave) {
        int ok = 0;
        for (unsigned i = 0; i < pol->n_mrenclave && i < NR_DCAP_MAX_MRENCLAVE; i++)
            ok |= CRYPTO_memcmp(pol->mrenclave[i], info.mrenclave, 32) == 0;
        if (!ok) {
            rc = errf(err, cap, NR_EMEASUREMENT, "enclave: MRENCLAVE not allowed");
            goto out;
        }
    }
    if (pol->check_mrsigner && CRYPTO_memcmp(pol->mrsigner, info.mrsigner, 32) != 0) {
        rc = errf(err, cap, NR_EMEASUREMENT, "enclave: MRSIGNER not allowed");
        goto out;
    }
    if (pol->check_isv_prod_id && pol->isv_prod_id != info.isv_prod_id) {
        rc = errf(err, cap, NR_EMEASUREMENT, "enclave: ISV product id %u not allowed",
                  (unsigned)info.isv_prod_id);
        goto out;
    }
    if (info.isv_svn < pol->min_isv_svn) {
        rc = errf(err, cap, NR_EMEASUREMENT, "enclave: ISV SVN %u below %u",
                  (unsigned)info.isv_svn, (unsigned)pol->min_isv_svn);
        goto out;
    }
    if (pol->report_data && CRYPTO_memcmp(pol->report_data, info.report_data, 64) != 0) {
        rc = errf(err, cap, NR_EATTEST, "enclave: report data differs");
        goto out;
    }
    rc = NR_OK;
    if (info_out)
        *info_out = info;
out:
    EVP_PKEY_free(ak);
    free_certs(certs, n);
    ERR_clear_error();
    return rc;
}

/* ---- collateral files, checked when loaded ---- */

int nr_dcap_check_crl(const uint8_t *der, size_t len, char *err, size_t cap)
{
    if (!der || len == 0 || len > NR_DCAP_TCB_INFO_MAX_BYTES * 16u)
        return errf(err, cap, NR_EMALFORMED, "empty, or larger than %u bytes",
                    NR_DCAP_TCB_INFO_MAX_BYTES * 16u);
    if (len >= 10 && memcmp(der, "-----BEGIN", 10) == 0)
        return errf(err, cap, NR_EMALFORMED,
                    "PEM, not DER (convert with: openssl crl -in F -outform DER -out F.der)");
    const unsigned char *p = der;
    X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)len);
    int exact = crl && p == der + len;
    X509_CRL_free(crl);
    ERR_clear_error();
    if (!exact)
        return errf(err, cap, NR_EMALFORMED, "not one DER certificate revocation list");
    return NR_OK;
}

int nr_dcap_check_tcb_info(const uint8_t *json, size_t len, char *err, size_t cap)
{
    const char *raw = NULL;
    size_t raw_len = 0;
    uint8_t sig[SIG_BYTES], fmspc[NR_DCAP_FMSPC_BYTES];
    if (!json || len == 0 || len > NR_DCAP_TCB_INFO_MAX_BYTES)
        return errf(err, cap, NR_EMALFORMED, "empty, or larger than %u bytes",
                    NR_DCAP_TCB_INFO_MAX_BYTES);
    if (raw_tcb_info((const char *)json, len, &raw, &raw_len) != NR_OK)
        return errf(err, cap, NR_EMALFORMED, "no top-level \"tcbInfo\" object");
    cJSON *doc = cJSON_ParseWithLength((const char *)json, len);
    cJSON *body = cJSON_ParseWithLength(raw, raw_len);
    const cJSON *sj = doc ? cJSON_GetObjectItemCaseSensitive(doc, "signature") : NULL;
    const cJSON *ver = body ? cJSON_GetObjectItemCaseSensitive(body, "version") : NULL;
    const cJSON *id = body ? cJSON_GetObjectItemCaseSensitive(body, "id") : NULL;
    const cJSON *fj = body ? cJSON_GetObjectItemCaseSensitive(body, "fmspc") : NULL;
    const cJSON *levels = body ? cJSON_GetObjectItemCaseSensitive(body, "tcbLevels") : NULL;
    int version = cJSON_IsNumber(ver) ? ver->valueint : 0;
    int rc = NR_OK;
    if (!doc || !body)
        rc = errf(err, cap, NR_EMALFORMED, "not JSON");
    else if (!cJSON_IsString(sj) || hex_bytes(sig, sizeof sig, sj->valuestring) != NR_OK)
        rc = errf(err, cap, NR_EMALFORMED, "no \"signature\" (128 hex digits)");
    else if (version != 2 && version != 3)
        rc = errf(err, cap, NR_EMALFORMED, "tcbInfo version %d (2 or 3 supported)", version);
    else if (version == 3 && (!cJSON_IsString(id) || strcmp(id->valuestring, "SGX") != 0))
        rc = errf(err, cap, NR_EMALFORMED, "tcbInfo id is not \"SGX\"");
    else if (!cJSON_IsString(fj) || hex_bytes(fmspc, sizeof fmspc, fj->valuestring) != NR_OK ||
             !cJSON_IsArray(levels))
        rc = errf(err, cap, NR_EMALFORMED, "tcbInfo without fmspc or tcbLevels");
    cJSON_Delete(doc);
    cJSON_Delete(body);
    return rc;
}

int nr_dcap_check_pem_chain(const uint8_t *pem, size_t len, char *err, size_t cap)
{
    X509 *certs[NR_DCAP_MAX_CERTS];
    unsigned n = 0;
    if (!pem || len == 0)
        return errf(err, cap, NR_EMALFORMED, "empty");
    int rc = load_pem_chain(certs, &n, pem, len);
    free_certs(certs, n);
    if (rc == NR_ENOMEM)
        return rc;
    if (rc != NR_OK)
        return errf(err, cap, NR_EMALFORMED, "not 1 to %u PEM certificates", NR_DCAP_MAX_CERTS);
    return NR_OK;
}
