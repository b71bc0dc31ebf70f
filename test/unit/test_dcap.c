/* Known-answer tests of DCAP quote verification (src/tee/dcap.c) on the real quote, PCK chain
 * and CRLs in ../shared/vectors/sgx/, and on every truncated, bit-flipped and re-signed
 * variant: each is a clear error value, never a crash and never NR_OK. Re-signed variants use
 * a chain made here (dcap_forge.c) that carries the real PCK certificate's SGX extension. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dcap_forge.h"
#include "tee/dcap.h"

/* 2023-05-01T00:00:00Z: inside both CRLs' validity and every certificate's. */
#define T_VALID 1682899200
#define T_CRL_EXPIRED 1700000000 /* 2023-11-14: the processor CRL's nextUpdate has passed */
#define T_LEAF_EXPIRED 1900000000 /* 2030-03-17: after the PCK leaf's notAfter */

static const char mrenclave_hex[] =
    "1dd0df84810e53e26b2b167dfe0f97cc4364085fe0bd41d5e18a759c21d5c189";
static const char mrsigner_hex[] =
    "d412a4f07ef83892a5915fb2ab584be31e186e5a4f95ab5f6950fd4eb8694d7b";

struct vec {
    uint8_t quote[8192];
    size_t quote_len;
    uint8_t leaf[4096], pcrl[4096], rcrl[4096];
    size_t leaf_len, pcrl_len, rcrl_len;
    struct forge f;
};

static size_t slurp(const char *name, uint8_t *buf, size_t cap)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", NR_SGX_VECTORS_DIR, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "missing vector %s\n", path);
        return 0;
    }
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n < cap ? n : 0;
}

static int setup(void **state)
{
    struct vec *v = calloc(1, sizeof *v);
    if (!v)
        return -1;
    v->quote_len = slurp("hw_quote.dat", v->quote, sizeof v->quote);
    v->leaf_len = slurp("leaf_cert.der", v->leaf, sizeof v->leaf);
    v->pcrl_len = slurp("processor_crl.der", v->pcrl, sizeof v->pcrl);
    v->rcrl_len = slurp("root_crl.der", v->rcrl, sizeof v->rcrl);
    if (v->quote_len != 4603 || !v->leaf_len || !v->pcrl_len || !v->rcrl_len)
        return -1;
    if (forge_init(&v->f, v->leaf, v->leaf_len) != 0)
        return -1;
    *state = v;
    return 0;
}

static int teardown(void **state)
{
    struct vec *v = *state;
    forge_free(&v->f);
    free(v);
    return 0;
}

/* The policy that accepts the real quote (it comes from a debug enclave). */
static void real_policy(const struct vec *v, struct nr_dcap_policy *p, int with_crls)
{
    memset(p, 0, sizeof *p);
    assert_int_equal(nr_dcap_hex32(p->root_fp, NR_DCAP_INTEL_ROOT_FP), NR_OK);
    p->time = T_VALID;
    if (with_crls) {
        p->crls[0] = (struct nr_dcap_blob){v->pcrl, v->pcrl_len};
        p->crls[1] = (struct nr_dcap_blob){v->rcrl, v->rcrl_len};
        p->n_crls = 2;
        p->require_crl = 1;
    }
    assert_int_equal(nr_dcap_hex32(p->mrenclave[0], mrenclave_hex), NR_OK);
    p->n_mrenclave = 1;
    p->allow_debug = 1;
}

static void test_hex32(void **state)
{
    (void)state;
    uint8_t b[32];
    assert_int_equal(nr_dcap_hex32(b, NR_DCAP_INTEL_ROOT_FP), NR_OK);
    assert_int_equal(b[0], 0x44);
    assert_int_equal(b[31], 0xd3);
    assert_int_equal(nr_dcap_hex32(b, "44a0"), NR_EINVAL);
    char bad[65];
    memcpy(bad, NR_DCAP_INTEL_ROOT_FP, sizeof bad);
    bad[7] = 'g';
    assert_int_equal(nr_dcap_hex32(b, bad), NR_EINVAL);
}

static void test_parse_real(void **state)
{
    struct vec *v = *state;
    struct nr_dcap_quote q;
    assert_int_equal(nr_dcap_parse(&q, v->quote, v->quote_len), NR_OK);
    assert_int_equal(q.qe_auth_len, 32);
    assert_int_equal(q.cert_type, 5);
    assert_int_equal(q.cert_len, 3551);
    assert_ptr_equal(q.cert_data + q.cert_len, v->quote + v->quote_len);
}

static void test_real_quote_verifies(void **state)
{
    struct vec *v = *state;
    struct nr_dcap_policy p;
    struct nr_dcap_info info;
    char err[256];
    uint8_t exp[32];
    real_policy(v, &p, 1);
    int rc = nr_dcap_verify(&info, &p, v->quote, v->quote_len, err, sizeof err);
    if (rc != NR_OK)
        fprintf(stderr, "verify: %s\n", err);
    assert_int_equal(rc, NR_OK);
    assert_int_equal(nr_dcap_hex32(exp, mrenclave_hex), NR_OK);
    assert_memory_equal(info.mrenclave, exp, 32);
    assert_int_equal(nr_dcap_hex32(exp, mrsigner_hex), NR_OK);
    assert_memory_equal(info.mrsigner, exp, 32);
    assert_int_equal(info.qe_svn, 7);
    assert_int_equal(info.pce_svn, 12);
    assert_int_equal(info.isv_prod_id, 0);
    assert_int_equal(info.isv_svn, 0);
    assert_true(info.attributes_flags & NR_DCAP_ATTR_DEBUG);
    assert_int_equal(info.tcb_status, NR_DCAP_TCB_UNKNOWN);
    static const uint8_t zero[16];
    assert_memory_not_equal(info.ppid, zero, sizeof info.ppid);
    /* The PCK certificate's TCB components (an older TCB level than the report's CPUSVN). */
    static const uint8_t comp[4] = {0x11, 0x11, 0x02, 0x04};
    assert_memory_equal(info.cpusvn, comp, sizeof comp);
    assert_int_equal(info.pce_id[0] | info.pce_id[1], 0);

    /* Without CRLs (not required): the chain and signatures alone. */
    real_policy(v, &p, 0);
    assert_int_equal(nr_dcap_verify(NULL, &p, v->quote, v->quote_len, NULL, 0), NR_OK);
    /* By MRSIGNER instead of MRENCLAVE. */
    p.n_mrenclave = 0;
    p.check_mrsigner = 1;
    assert_int_equal(nr_dcap_hex32(p.mrsigner, mrsigner_hex), NR_OK);
    p.check_isv_prod_id = 1;
    p.isv_prod_id = 0;
    assert_int_equal(nr_dcap_verify(NULL, &p, v->quote, v->quote_len, NULL, 0), NR_OK);
}

static void test_policy_refusals(void **state)
{
    struct vec *v = *state;
    struct nr_dcap_policy p;
    char err[256];
    uint8_t rd[64] = {1};

    real_policy(v, &p, 1);
    p.allow_debug = 0;
    assert_int_equal(nr_dcap_verify(NULL, &p, v->quote, v->quote_len, err, sizeof err),
                     NR_EMEASUREMENT);
    assert_non_null(strstr(err, "debug"));

    real_policy(v, &p, 1);
    p.mrenclave[0][0] ^= 1;
    assert_int_equal(nr_dcap_verify(NULL, &p, v->quote, v->quote_len, NULL, 0), NR_EMEASUREMENT);

    real_policy(v, &p, 1);
    p.check_mrsigner = 1; /* all-zero MRSIGNER */
    assert_int_equal(nr_dcap_verify(NULL, &p, v->quote, v->quote_len, NULL, 0), NR_EMEASUREMENT);

    real_policy(v, &p, 1);
    p.check_isv_prod_id = 1;
    p.isv_prod_id = 7;
    assert_int_equal(nr_dcap_verify(NULL, &p, v->quote, v->quote_len, NULL, 0), NR_EMEASUREMENT);

    real_policy(v, &p, 1);
    p.min_isv_svn = 1;
    assert_int_equal(nr_dcap_verify(NULL, &p, v->quote, v->quote_len, NULL, 0), NR_EMEASUREMENT);

    real_policy(v, &p, 1);
    p.report_data = rd;
    assert_int_equal(nr_dcap_verify(NULL, &p, v->quote, v->quote_len, NULL, 0), NR_EATTEST);
    memset(rd, 0, sizeof rd); /* the real quote's report data is all zero */
    assert_int_equal(nr_dcap_verify(NULL, &p, v->quote, v->quote_len, NULL, 0), NR_OK);

    real_policy(v, &p, 1);
    p.n_mrenclave = 0; /* a policy that names no enclave accepts nothing */
    assert_int_equal(nr_dcap_verify(NULL, &p, v->quote, v->quote_len, NULL, 0), NR_EINVAL);
}

static void test_pin_time_and_crls(void **state)
{
    struct vec *v = *state;
    struct nr_dcap_policy p;
    char err[256];

    /* Another pinned root: the root the quote carries is never trusted on its own. */
    real_policy(v, &p, 1);
    p.root_fp[5] ^= 0x10;
    assert_int_equal(nr_dcap_verify(NULL, &p, v->quote, v->quote_len, err, sizeof err), NR_ECERT);
    assert_non_null(strstr(err, "pinned"));

    /* CRLs past nextUpdate at the verification time. */
    real_policy(v, &p, 1);
    p.time = T_CRL_EXPIRED;
    assert_int_equal(nr_dcap_verify(NULL, &p, v->quote, v->quote_len, err, sizeof err),
                     NR_EREVOKED);
    /* Without CRLs the same time passes (the certificates are valid). */
    real_policy(v, &p, 0);
    p.time = T_CRL_EXPIRED;
    assert_int_equal(nr_dcap_verify(NULL, &p, v->quote, v->quote_len, NULL, 0), NR_OK);
    /* An expired leaf. */
    p.time = T_LEAF_EXPIRED;
    assert_int_equal(nr_dcap_verify(NULL, &p, v->quote, v->quote_len, NULL, 0), NR_ECERT);
    /* Required but missing, or only one of the two CAs' CRLs. */
    real_policy(v, &p, 0);
    p.require_crl = 1;
    assert_int_equal(nr_dcap_verify(NULL, &p, v->quote, v->quote_len, NULL, 0), NR_EREVOKED);
    real_policy(v, &p, 1);
    p.n_crls = 1;
    assert_int_equal(nr_dcap_verify(NULL, &p, v->quote, v->quote_len, NULL, 0), NR_EREVOKED);
    /* A corrupt CRL. */
    uint8_t bad[4096];
    memcpy(bad, v->pcrl, v->pcrl_len);
    bad[v->pcrl_len - 3] ^= 1; /* inside the CRL's signature */
    real_policy(v, &p, 1);
    p.crls[0] = (struct nr_dcap_blob){bad, v->pcrl_len};
    assert_int_equal(nr_dcap_verify(NULL, &p, v->quote, v->quote_len, NULL, 0), NR_EREVOKED);
    p.crls[0] = (struct nr_dcap_blob){bad, 10};
    assert_int_equal(nr_dcap_verify(NULL, &p, v->quote, v->quote_len, NULL, 0), NR_EREVOKED);
}

static void test_every_truncation(void **state)
{
    struct vec *v = *state;
    struct nr_dcap_policy p;
    real_policy(v, &p, 1);
    for (size_t n = 0; n < v->quote_len; n++) {
        uint8_t *copy = malloc(n ? n : 1); /* exact size: ASan sees any over-read */
        assert_non_null(copy);
        memcpy(copy, v->quote, n);
        int rc = nr_dcap_verify(NULL, &p, copy, n, NULL, 0);
        free(copy);
        if (rc == NR_OK)
            fail_msg("truncation to %zu bytes accepted", n);
        assert_true(rc < 0);
    }
    /* And one byte too many. */
    uint8_t longer[4604];
    memcpy(longer, v->quote, v->quote_len);
    longer[v->quote_len] = 0;
    assert_int_equal(nr_dcap_verify(NULL, &p, longer, sizeof longer, NULL, 0), NR_EMALFORMED);
}

/* A flip that PEM decoding ignores (line breaks, unused bits of the last base64 digit, text
 * after the last END line) leaves the certificates byte-identical: the only flips allowed to
 * pass. */
static int pem_insignificant(const struct vec *v, const uint8_t *flipped, size_t i)
{
    struct nr_dcap_quote q;
    if (nr_dcap_parse(&q, v->quote, v->quote_len) != NR_OK)
        return 0;
    size_t start = (size_t)(q.cert_data - v->quote);
    if (i < start)
        return 0;
    return forge_same_certs(v->quote + start, q.cert_len, flipped + start, q.cert_len);
}

static void test_every_bit_flip(void **state)
{
    struct vec *v = *state;
    struct nr_dcap_policy p;
    uint8_t *copy = malloc(v->quote_len);
    unsigned accepted = 0;
    assert_non_null(copy);
    real_policy(v, &p, 1);
    /* Every byte, one bit each (rotating), plus every bit of the signed regions' first 64 bytes
     * and of the lengths. */
    for (size_t i = 0; i < v->quote_len; i++) {
        for (unsigned bit = 0; bit < 8; bit++) {
            if (bit != i % 8 && i >= 64 && !(i >= 432 && i < 436))
                continue;
            memcpy(copy, v->quote, v->quote_len);
            copy[i] ^= (uint8_t)(1u << bit);
            int rc = nr_dcap_verify(NULL, &p, copy, v->quote_len, NULL, 0);
            assert_true(rc <= 0);
            if (rc == NR_OK) {
                if (!pem_insignificant(v, copy, i))
                    fail_msg("flip of bit %u of byte %zu accepted", bit, i);
                accepted++;
            }
        }
    }
    free(copy);
    assert_true(accepted < 64); /* only whitespace and trailing bytes */
}

static void patch_mrenclave(uint8_t *body)
{
    body[NR_DCAP_BODY_MRENCLAVE] ^= 0xff;
}

static void test_resigned_variants(void **state)
{
    struct vec *v = *state;
    struct nr_dcap_policy p;
    uint8_t q[8192];
    char err[256];
    size_t n;

    /* (a) New attestation key, ISV report re-signed with it, QE report left: its report data no
     * longer binds the key (and the QE signature cannot be remade without the PCK key). */
    real_policy(v, &p, 1);
    n = forge_quote(&v->f, v->quote, v->quote_len, q, sizeof q, 1, 0, 0, NULL);
    assert_true(n == v->quote_len);
    assert_int_equal(nr_dcap_verify(NULL, &p, q, n, err, sizeof err), NR_EATTEST);
    assert_non_null(strstr(err, "qe report"));

    /* (b) The real chain, QE report re-signed by a key that is not the PCK key. */
    n = forge_quote(&v->f, v->quote, v->quote_len, q, sizeof q, 0, 1, 0, NULL);
    assert_int_equal(nr_dcap_verify(NULL, &p, q, n, err, sizeof err), NR_EATTEST);

    /* (c) Everything re-signed under a forged root with the real SGX extension: every signature
     * is valid, only the pin rejects it... */
    n = forge_quote(&v->f, v->quote, v->quote_len, q, sizeof q, 1, 1, 1, patch_mrenclave);
    assert_true(n > 0);
    real_policy(v, &p, 0);
    assert_int_equal(nr_dcap_verify(NULL, &p, q, n, err, sizeof err), NR_ECERT);
    /* ... which the positive control shows: pinning the forged root accepts it. */
    memcpy(p.root_fp, v->f.root_fp, 32);
    p.n_mrenclave = 0;
    p.check_mrsigner = 1;
    assert_int_equal(nr_dcap_hex32(p.mrsigner, mrsigner_hex), NR_OK);
    int rc = nr_dcap_verify(NULL, &p, q, n, err, sizeof err);
    if (rc != NR_OK)
        fprintf(stderr, "forged control: %s\n", err);
    assert_int_equal(rc, NR_OK);
    /* With the forged root pinned, the allow-list still holds. */
    real_policy(v, &p, 0);
    memcpy(p.root_fp, v->f.root_fp, 32);
    assert_int_equal(nr_dcap_verify(NULL, &p, q, n, NULL, 0), NR_EMEASUREMENT);

    /* (d) A body change under the real chain, ISV report re-signed by the new attestation key:
     * the QE report does not bind that key. */
    real_policy(v, &p, 1);
    n = forge_quote(&v->f, v->quote, v->quote_len, q, sizeof q, 1, 0, 0, patch_mrenclave);
    assert_int_equal(nr_dcap_verify(NULL, &p, q, n, NULL, 0), NR_EATTEST);
    /* (e) A body change without any re-signing. */
    memcpy(q, v->quote, v->quote_len);
    patch_mrenclave(q + 48);
    assert_int_equal(nr_dcap_verify(NULL, &p, q, v->quote_len, NULL, 0), NR_EATTEST);
}

static void test_layout_errors(void **state)
{
    struct vec *v = *state;
    struct nr_dcap_policy p;
    uint8_t q[8192];
    real_policy(v, &p, 1);
    memcpy(q, v->quote, v->quote_len);
    q[0] = 4; /* version 4 */
    assert_int_equal(nr_dcap_verify(NULL, &p, q, v->quote_len, NULL, 0), NR_EVERSION);
    memcpy(q, v->quote, v->quote_len);
    q[2] = 3; /* ECDSA-384 */
    assert_int_equal(nr_dcap_verify(NULL, &p, q, v->quote_len, NULL, 0), NR_EMALFORMED);
    memcpy(q, v->quote, v->quote_len);
    q[4] = 0x81; /* TDX */
    assert_int_equal(nr_dcap_verify(NULL, &p, q, v->quote_len, NULL, 0), NR_EMALFORMED);
    memcpy(q, v->quote, v->quote_len);
    q[12] ^= 1; /* QE vendor */
    assert_int_equal(nr_dcap_verify(NULL, &p, q, v->quote_len, NULL, 0), NR_EMALFORMED);
    memcpy(q, v->quote, v->quote_len);
    q[432] ^= 1; /* signature data length */
    assert_true(nr_dcap_verify(NULL, &p, q, v->quote_len, NULL, 0) == NR_ETRUNCATED ||
                nr_dcap_verify(NULL, &p, q, v->quote_len, NULL, 0) == NR_EMALFORMED);
    assert_int_equal(nr_dcap_verify(NULL, &p, NULL, 0, NULL, 0), NR_ETRUNCATED);
    assert_int_equal(nr_dcap_verify(NULL, NULL, v->quote, v->quote_len, NULL, 0), NR_EINVAL);
    uint8_t *big = calloc(1, NR_DCAP_QUOTE_MAX_BYTES + 1);
    assert_non_null(big);
    assert_int_equal(nr_dcap_verify(NULL, &p, big, NR_DCAP_QUOTE_MAX_BYTES + 1, NULL, 0),
                     NR_ETOOBIG);
    free(big);
}

/* ---- TCB info collateral (signed here by the forged TCB signing key) ---- */

static size_t tcb_doc(const struct vec *v, char *out, size_t cap, const char *fmspc,
                      const char *next_update, int comp0, const char *status0,
                      const char *status1, int tamper)
{
    char levels[2048], body[4096];
    uint8_t sig[64];
    char sig_hex[129];
    /* level 0 needs component 0 >= comp0; level 1 needs nothing. */
    snprintf(levels, sizeof levels,
             "[{\"tcb\":{\"sgxtcbcomponents\":[{\"svn\":%d},{\"svn\":0},{\"svn\":0},{\"svn\":0},"
             "{\"svn\":0},{\"svn\":0},{\"svn\":0},{\"svn\":0},{\"svn\":0},{\"svn\":0},{\"svn\":0},"
             "{\"svn\":0},{\"svn\":0},{\"svn\":0},{\"svn\":0},{\"svn\":0}],\"pcesvn\":0},"
             "\"tcbDate\":\"2023-02-15T00:00:00Z\",\"tcbStatus\":\"%s\"},"
             "{\"tcb\":{\"sgxtcbcomponents\":[{\"svn\":0},{\"svn\":0},{\"svn\":0},{\"svn\":0},"
             "{\"svn\":0},{\"svn\":0},{\"svn\":0},{\"svn\":0},{\"svn\":0},{\"svn\":0},{\"svn\":0},"
             "{\"svn\":0},{\"svn\":0},{\"svn\":0},{\"svn\":0},{\"svn\":0}],\"pcesvn\":0},"
             "\"tcbDate\":\"2018-01-01T00:00:00Z\",\"tcbStatus\":\"%s\"}]",
             comp0, status0, status1);
    snprintf(body, sizeof body,
             "{\"id\":\"SGX\",\"version\":3,\"issueDate\":\"2023-04-01T00:00:00Z\","
             "\"nextUpdate\":\"%s\",\"fmspc\":\"%s\",\"pceId\":\"0000\",\"tcbType\":0,"
             "\"tcbEvaluationDataNumber\":15,\"tcbLevels\":%s}",
             next_update, fmspc, levels);
    if (forge_sign(v->f.tcb_key, (const uint8_t *)body, strlen(body), sig) != 0)
        return 0;
    for (int i = 0; i < 64; i++)
        snprintf(sig_hex + 2 * i, 3, "%02x", sig[i]);
    char *date = strstr(body, "2023-02-15");
    if (tamper && date)
        date[9] = '6'; /* a signed byte changes after signing */
    int n = snprintf(out, cap, "{\"tcbInfo\":%s,\"signature\":\"%s\"}", body, sig_hex);
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

static void test_tcb_collateral(void **state)
{
    struct vec *v = *state;
    struct nr_dcap_policy p;
    struct nr_dcap_info info;
    uint8_t q[8192];
    char doc[8192], fmspc[13], err[256];
    size_t n = forge_quote(&v->f, v->quote, v->quote_len, q, sizeof q, 1, 1, 1, NULL);
    assert_true(n > 0);
    /* The platform's FMSPC from its certificate. */
    real_policy(v, &p, 0);
    memcpy(p.root_fp, v->f.root_fp, 32);
    assert_int_equal(nr_dcap_verify(&info, &p, q, n, NULL, 0), NR_OK);
    for (int i = 0; i < 6; i++)
        snprintf(fmspc + 2 * i, 3, "%02X", info.fmspc[i]);
    int c0 = info.cpusvn[0];
    p.tcb_sign_chain = (struct nr_dcap_blob){(const uint8_t *)v->f.tcb_chain_pem,
                                             v->f.tcb_chain_len};
    size_t dl;
#define SET_DOC(...)                                                                               \
    do {                                                                                           \
        dl = tcb_doc(v, doc, sizeof doc, __VA_ARGS__);                                             \
        assert_true(dl > 0);                                                                       \
        p.tcb_info = (struct nr_dcap_blob){(const uint8_t *)doc, dl};                              \
    } while (0)

    /* The platform meets level 0: UpToDate. */
    SET_DOC(fmspc, "2023-06-01T00:00:00Z", c0, "UpToDate", "OutOfDate", 0);
    int rc = nr_dcap_verify(&info, &p, q, n, err, sizeof err);
    if (rc != NR_OK)
        fprintf(stderr, "tcb: %s\n", err);
    assert_int_equal(rc, NR_OK);
    assert_int_equal(info.tcb_status, NR_DCAP_TCB_UP_TO_DATE);
    /* Level 0 needs a newer component: the platform falls to level 1, OutOfDate. */
    SET_DOC(fmspc, "2023-06-01T00:00:00Z", c0 + 1, "UpToDate", "OutOfDate", 0);
    assert_int_equal(nr_dcap_verify(&info, &p, q, n, err, sizeof err), NR_ETCB);
    p.tcb_allowed = NR_DCAP_TCB_BIT(NR_DCAP_TCB_UP_TO_DATE) |
                    NR_DCAP_TCB_BIT(NR_DCAP_TCB_OUT_OF_DATE);
    assert_int_equal(nr_dcap_verify(&info, &p, q, n, NULL, 0), NR_OK);
    assert_int_equal(info.tcb_status, NR_DCAP_TCB_OUT_OF_DATE);
    p.tcb_allowed = 0;
    /* Revoked is never allowed by default. */
    SET_DOC(fmspc, "2023-06-01T00:00:00Z", c0, "Revoked", "OutOfDate", 0);
    assert_int_equal(nr_dcap_verify(NULL, &p, q, n, NULL, 0), NR_ETCB);
    /* Another platform's collateral, stale collateral, a tampered document. */
    SET_DOC("00906ED50000", "2023-06-01T00:00:00Z", c0, "UpToDate", "OutOfDate", 0);
    if (strcmp(fmspc, "00906ED50000") != 0)
        assert_int_equal(nr_dcap_verify(NULL, &p, q, n, NULL, 0), NR_ETCB);
    SET_DOC(fmspc, "2023-04-30T00:00:00Z", c0, "UpToDate", "OutOfDate", 0);
    assert_int_equal(nr_dcap_verify(NULL, &p, q, n, NULL, 0), NR_ETCB);
    SET_DOC(fmspc, "2023-06-01T00:00:00Z", c0, "UpToDate", "OutOfDate", 1);
    assert_int_equal(nr_dcap_verify(NULL, &p, q, n, err, sizeof err), NR_ETCB);
    assert_non_null(strstr(err, "signature"));
    /* Every truncation of a good document fails cleanly. */
    SET_DOC(fmspc, "2023-06-01T00:00:00Z", c0, "UpToDate", "OutOfDate", 0);
    for (size_t k = 0; k < dl; k += 7) {
        p.tcb_info.len = k;
        assert_true(nr_dcap_verify(NULL, &p, q, n, NULL, 0) != NR_OK);
    }
    /* A signing chain under another root (the real Intel pin). */
    p.tcb_info.len = dl;
    assert_int_equal(nr_dcap_verify(NULL, &p, q, n, NULL, 0), NR_OK);
    p.tcb_sign_chain.len = 10;
    assert_int_equal(nr_dcap_verify(NULL, &p, q, n, NULL, 0), NR_ECERT);
#undef SET_DOC
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hex32),
        cmocka_unit_test(test_parse_real),
        cmocka_unit_test(test_real_quote_verifies),
        cmocka_unit_test(test_policy_refusals),
        cmocka_unit_test(test_pin_time_and_crls),
        cmocka_unit_test(test_layout_errors),
        cmocka_unit_test(test_every_truncation),
        cmocka_unit_test(test_every_bit_flip),
        cmocka_unit_test(test_resigned_variants),
        cmocka_unit_test(test_tcb_collateral),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
