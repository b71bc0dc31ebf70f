/* Unit tests for the gramine TEE backend (src/tee/tee_gramine.c) against a directory that
 * stands for Gramine's /dev/attestation: no SGX machine was available to this project.
 *
 * The directory holds attestation_type, my_target_info (MRENCLAVE of the real quote in
 * ../shared/vectors/sgx/), keys/_sgx_mrenclave, user_report_data, target_info, report, and
 * "quote": either the real quote (a regular file), or a FIFO served by a thread that, like
 * Gramine, answers each read with a fresh quote over the report data last written to
 * user_report_data (the real quote's body, re-signed under a chain made here that carries the
 * real PCK certificate's SGX extension, test/unit/dcap_forge.c). With the FIFO, two gramine
 * SEs complete the PEER channel handshake with DCAP evidence (src/chan/chan.c), and an AE
 * and its SE the LOCAL one with quotes both ways; a second directory with a leaf of another
 * PPID under the same forged root stands for another CPU. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "chan/chan.h"
#include "dcap_forge.h"
#include "tee/dcap.h"
#include "tee/tee.h"

static const char mrenclave_hex[] =
    "1dd0df84810e53e26b2b167dfe0f97cc4364085fe0bd41d5e18a759c21d5c189";

struct st {
    char dir[256], dir2[256];
    uint8_t quote[8192];
    size_t quote_len;
    uint8_t leaf[4096];
    size_t leaf_len;
    uint8_t mrenclave[32];
    struct forge f;
    /* FIFO server */
    pthread_t thr;
    int serving, stop;
    unsigned served;
};

static size_t slurp(const char *path, uint8_t *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n < cap ? n : 0;
}

static void put(const char *dir, const char *name, const void *data, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* A fresh attestation directory for the enclave with the real quote's MRENCLAVE. */
static void make_dir(struct st *s, const char *dir, const uint8_t key[16])
{
    char keys[512];
    uint8_t ti[NR_GRAMINE_TARGET_INFO_BYTES], report[NR_GRAMINE_REPORT_BYTES];
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(keys, sizeof keys, "%s/keys", dir);
    assert_int_equal(mkdir(keys, 0700), 0);
    put(dir, "attestation_type", "dcap\n", 5);
    memset(ti, 0x5a, sizeof ti);
    memcpy(ti, s->mrenclave, 32);
    put(dir, "my_target_info", ti, sizeof ti);
    put(dir, "keys/_sgx_mrenclave", key, 16);
    put(dir, "user_report_data", "", 0);
    put(dir, "target_info", "", 0);
    memset(report, 0xa5, sizeof report);
    put(dir, "report", report, sizeof report);
    put(dir, "quote", s->quote, s->quote_len);
}

static void rm_dir(const char *dir)
{
    static const char *const names[] = {"attestation_type", "my_target_info",
                                        "keys/_sgx_mrenclave", "user_report_data",
                                        "target_info", "report", "quote"};
    char path[512];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/keys", dir);
    rmdir(path);
    rmdir(dir);
}

static int setup(void **state)
{
    struct st *s = calloc(1, sizeof *s);
    uint8_t key[16];
    if (!s || sodium_init() < 0)
        return -1;
    s->quote_len = slurp(NR_SGX_VECTORS_DIR "/hw_quote.dat", s->quote, sizeof s->quote);
    s->leaf_len = slurp(NR_SGX_VECTORS_DIR "/leaf_cert.der", s->leaf, sizeof s->leaf);
    if (s->quote_len != 4603 || !s->leaf_len || forge_init(&s->f, s->leaf, s->leaf_len) != 0)
        return -1;
    if (nr_dcap_hex32(s->mrenclave, mrenclave_hex) != NR_OK)
        return -1;
    snprintf(s->dir, sizeof s->dir, "/tmp/nr-gramine-%d", (int)getpid());
    snprintf(s->dir2, sizeof s->dir2, "/tmp/nr-gramine-%d-b", (int)getpid());
    randombytes_buf(key, sizeof key);
    make_dir(s, s->dir, key);
    randombytes_buf(key, sizeof key); /* another CPU: another seal key */
    make_dir(s, s->dir2, key);
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    struct st *s = *state;
    rm_dir(s->dir);
    rm_dir(s->dir2);
    forge_free(&s->f);
    free(s);
    return 0;
}

static void intel_policy(const struct st *s, struct nr_attest_policy *pol)
{
    memset(pol, 0, sizeof *pol);
    assert_int_equal(nr_dcap_hex32(pol->root_pub, NR_DCAP_INTEL_ROOT_FP), NR_OK);
    memcpy(pol->allowed[0], s->mrenclave, 32);
    pol->n_allowed = 1;
    pol->allow_debug = 1; /* the real quote comes from a debug enclave */
}

static void test_open_identity(void **state)
{
    struct st *s = *state;
    struct nr_tee *t = NULL;
    struct nr_dcap_info info;
    uint8_t m[32], pid[32], exp[32];
    assert_int_equal(nr_tee_open(&t, "gramine", s->dir, "ignored"), NR_OK);
    nr_tee_measurement(t, m);
    assert_memory_equal(m, s->mrenclave, 32);
    /* Platform id: BLAKE2b-256("narrator-sgx-platform\0" || PPID). */
    assert_int_equal(nr_dcap_pck_info(&info, s->quote, s->quote_len), NR_OK);
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, 32);
    crypto_generichash_update(&h, (const uint8_t *)"narrator-sgx-platform", 22);
    crypto_generichash_update(&h, info.ppid, sizeof info.ppid);
    crypto_generichash_final(&h, exp, 32);
    nr_tee_platform_id(t, pid);
    assert_memory_equal(pid, exp, 32);
    /* The name is no measurement under gramine. */
    nr_tee_measure("gramine", "narrator-se/1", m);
    static const uint8_t zero[32];
    assert_memory_equal(m, zero, 32);
    nr_tee_close(t);
}

static void test_open_failures(void **state)
{
    struct st *s = *state;
    struct nr_tee *t = NULL;
    char path[512];
    uint8_t ti[NR_GRAMINE_TARGET_INFO_BYTES];
    assert_int_equal(nr_tee_open(&t, "gramine", "/nonexistent-attestation", "x"), NR_ENOTFOUND);
    put(s->dir, "attestation_type", "none", 4);
    assert_int_equal(nr_tee_open(&t, "gramine", s->dir, "x"), NR_ECONFIG);
    put(s->dir, "attestation_type", "dcap", 4);
    put(s->dir, "my_target_info", ti, 100);
    assert_int_equal(nr_tee_open(&t, "gramine", s->dir, "x"), NR_EMALFORMED);
    /* A quote about another enclave than my_target_info says. */
    memset(ti, 0, sizeof ti);
    put(s->dir, "my_target_info", ti, sizeof ti);
    assert_int_equal(nr_tee_open(&t, "gramine", s->dir, "x"), NR_EATTEST);
    memcpy(ti, s->mrenclave, 32);
    put(s->dir, "my_target_info", ti, sizeof ti);
    put(s->dir, "quote", "", 0); /* no quote: remote attestation not enabled */
    assert_int_equal(nr_tee_open(&t, "gramine", s->dir, "x"), NR_EATTEST);
    put(s->dir, "quote", s->quote, 1000);
    assert_int_equal(nr_tee_open(&t, "gramine", s->dir, "x"), NR_EATTEST);
    put(s->dir, "quote", s->quote, s->quote_len);
    snprintf(path, sizeof path, "%s/keys/_sgx_mrenclave", s->dir);
    uint8_t key[16];
    assert_int_equal(slurp(path, key, sizeof key + 1), 16);
    put(s->dir, "keys/_sgx_mrenclave", key, 15);
    assert_int_equal(nr_tee_open(&t, "gramine", s->dir, "x"), NR_EMALFORMED);
    put(s->dir, "keys/_sgx_mrenclave", key, 16);
    assert_null(t);
    assert_int_equal(nr_tee_open(&t, "gramine", s->dir, "x"), NR_OK);
    nr_tee_close(t);
}

static void test_seal(void **state)
{
    struct st *s = *state;
    struct nr_tee *a = NULL, *a2 = NULL, *b = NULL;
    uint8_t blob[256], pt[256];
    size_t blen = 0, plen = 0;
    const uint8_t msg[] = "sealed record", ad[] = "ad";
    assert_int_equal(nr_tee_open(&a, "gramine", s->dir, "x"), NR_OK);
    assert_int_equal(nr_tee_open(&a2, "gramine", s->dir, "x"), NR_OK);
    assert_int_equal(nr_tee_open(&b, "gramine", s->dir2, "x"), NR_OK);
    assert_int_equal(nr_tee_seal(a, msg, sizeof msg, ad, sizeof ad, blob, sizeof blob, &blen),
                     NR_OK);
    assert_int_equal(blen, sizeof msg + NR_SIM_SEAL_OVERHEAD);
    assert_memory_equal(blob, "NRSG", 4);
    /* Another instance of the same enclave on the same CPU opens it. */
    assert_int_equal(nr_tee_unseal(a2, blob, blen, ad, sizeof ad, pt, sizeof pt, &plen), NR_OK);
    assert_int_equal(plen, sizeof msg);
    assert_memory_equal(pt, msg, plen);
    /* Another CPU (seal key), other ad, tampering, truncation. */
    assert_int_equal(nr_tee_unseal(b, blob, blen, ad, sizeof ad, pt, sizeof pt, &plen),
                     NR_EUNSEAL);
    assert_int_equal(nr_tee_unseal(a, blob, blen, NULL, 0, pt, sizeof pt, &plen), NR_EUNSEAL);
    blob[40] ^= 1;
    assert_int_equal(nr_tee_unseal(a, blob, blen, ad, sizeof ad, pt, sizeof pt, &plen),
                     NR_EUNSEAL);
    assert_int_equal(nr_tee_unseal(a, blob, 20, ad, sizeof ad, pt, sizeof pt, &plen), NR_EUNSEAL);
    assert_int_equal(nr_tee_seal(a, msg, sizeof msg, NULL, 0, blob, 10, &blen), NR_EFULL);
    nr_tee_close(a);
    nr_tee_close(a2);
    nr_tee_close(b);
}

static void test_quote_and_verify(void **state)
{
    struct st *s = *state;
    struct nr_tee *t = NULL;
    struct nr_attest_policy pol;
    uint8_t rd[64], ev[NR_EVIDENCE_MAX_BYTES], got[64], m[32], pid[32], mine[32];
    size_t elen = 0;
    char path[512];
    assert_int_equal(nr_tee_open(&t, "gramine", s->dir, "x"), NR_OK);
    for (int i = 0; i < 64; i++)
        rd[i] = (uint8_t)i;
    assert_int_equal(nr_tee_quote(t, rd, ev, sizeof ev, &elen), NR_OK);
    /* The report data went to user_report_data; the quote came back as evidence. */
    snprintf(path, sizeof path, "%s/user_report_data", s->dir);
    assert_int_equal(slurp(path, got, sizeof got + 1), 64);
    assert_memory_equal(got, rd, 64);
    assert_int_equal(elen, s->quote_len);
    assert_memory_equal(ev, s->quote, elen);
    assert_int_equal(nr_tee_quote(t, rd, ev, 100, &elen), NR_EFULL);

    /* Verification of the real quote (report data zero) under the Intel pin, now. */
    intel_policy(s, &pol);
    memset(rd, 0, sizeof rd);
    assert_int_equal(nr_tee_verify_evidence("gramine", &pol, s->quote, s->quote_len, rd, m, pid),
                     NR_OK);
    assert_memory_equal(m, s->mrenclave, 32);
    nr_tee_platform_id(t, mine);
    assert_memory_equal(pid, mine, 32);
    rd[0] = 1;
    assert_int_equal(nr_tee_verify_evidence("gramine", &pol, s->quote, s->quote_len, rd, m, pid),
                     NR_EATTEST);
    rd[0] = 0;
    pol.allow_debug = 0;
    assert_int_equal(nr_tee_verify_evidence("gramine", &pol, s->quote, s->quote_len, rd, m, pid),
                     NR_EMEASUREMENT);
    intel_policy(s, &pol);
    pol.allowed[0][0] ^= 1;
    assert_int_equal(nr_tee_verify_evidence("gramine", &pol, s->quote, s->quote_len, rd, m, pid),
                     NR_EMEASUREMENT);
    intel_policy(s, &pol);
    pol.n_allowed = 0;
    assert_int_equal(nr_tee_verify_evidence("gramine", &pol, s->quote, s->quote_len, rd, m, pid),
                     NR_EMEASUREMENT);
    intel_policy(s, &pol);
    pol.root_pub[0] ^= 1;
    assert_int_equal(nr_tee_verify_evidence("gramine", &pol, s->quote, s->quote_len, rd, m, pid),
                     NR_ECERT);
    intel_policy(s, &pol);
    assert_int_equal(nr_tee_verify_evidence("gramine", &pol, s->quote, 300, rd, m, pid),
                     NR_EATTEST);
    /* sim evidence is no quote, and the other way round. */
    assert_int_equal(nr_tee_verify_evidence("sim", &pol, s->quote, s->quote_len, rd, m, pid),
                     NR_EATTEST);
    nr_tee_close(t);
}

static void test_local_reports(void **state)
{
    struct st *s = *state;
    struct nr_tee *t = NULL;
    uint8_t ti[NR_GRAMINE_TARGET_INFO_BYTES], other[NR_GRAMINE_TARGET_INFO_BYTES];
    uint8_t rd[64], report[NR_GRAMINE_REPORT_BYTES], got[NR_GRAMINE_TARGET_INFO_BYTES];
    uint8_t lr[NR_LOCAL_REPORT_BYTES], m[32];
    char path[512];
    assert_int_equal(nr_tee_open(&t, "gramine", s->dir, "x"), NR_OK);
    assert_int_equal(nr_tee_gramine_target_info(t, ti), NR_OK);
    assert_memory_equal(ti, s->mrenclave, 32);
    memset(other, 7, sizeof other);
    memset(rd, 9, sizeof rd);
    assert_int_equal(nr_tee_gramine_report(t, other, rd, report), NR_OK);
    snprintf(path, sizeof path, "%s/target_info", s->dir);
    assert_int_equal(slurp(path, got, sizeof got + 1), sizeof other);
    assert_memory_equal(got, other, sizeof other);
    assert_int_equal(report[0], 0xa5);
    /* The tee.h local reports cannot be verified under Gramine: a clear error. */
    assert_int_equal(nr_tee_local_report(t, s->mrenclave, rd, lr), NR_ENOTSUP);
    assert_int_equal(nr_tee_local_verify(t, lr, m, rd), NR_ENOTSUP);
    put(s->dir, "report", report, 100);
    assert_int_equal(nr_tee_gramine_report(t, other, rd, report), NR_EMALFORMED);
    memset(report, 0xa5, sizeof report);
    put(s->dir, "report", report, sizeof report);
    nr_tee_close(t);
}

/* ---- the PEER handshake with DCAP evidence, quotes served through a FIFO ---- */

static uint8_t g_rd[64];
static void patch_rd(uint8_t *body)
{
    memcpy(body + NR_DCAP_BODY_REPORT_DATA, g_rd, 64);
}

/* Like Gramine: each write of user_report_data (a FIFO here) is followed by one read of quote
 * (a FIFO too), answered with a quote over that report data. */
static void *quote_server(void *arg)
{
    struct st *s = arg;
    char qpath[512], rpath[512];
    uint8_t q[8192];
    snprintf(qpath, sizeof qpath, "%s/quote", s->dir);
    snprintf(rpath, sizeof rpath, "%s/user_report_data", s->dir);
    for (;;) {
        int fd = open(rpath, O_RDONLY); /* blocks until the backend writes report data */
        if (fd < 0)
            return NULL;
        size_t got = 0;
        ssize_t r;
        memset(g_rd, 0, sizeof g_rd);
        while (got < sizeof g_rd && (r = read(fd, g_rd + got, sizeof g_rd - got)) > 0)
            got += (size_t)r;
        close(fd);
        if (s->stop)
            return NULL;
        size_t n = forge_quote(&s->f, s->quote, s->quote_len, q, sizeof q, 1, 1, 1, patch_rd);
        fd = open(qpath, O_WRONLY); /* blocks until the backend reads the quote */
        if (fd < 0)
            return NULL;
        if (n && write(fd, q, n) == (ssize_t)n)
            s->served++;
        close(fd);
    }
}

struct peers {
    uint8_t pub[2][32];
    uint8_t pid[32];
};

static int lookup(void *arg, const uint8_t id[NR_IDENTITY_PUB_BYTES], uint16_t *member,
                  uint8_t platform_id[NR_PLATFORM_ID_BYTES])
{
    struct peers *p = arg;
    for (uint16_t i = 0; i < 2; i++) {
        if (memcmp(p->pub[i], id, 32) == 0) {
            *member = i;
            memcpy(platform_id, p->pid, 32);
            return NR_OK;
        }
    }
    return NR_ENOTMEMBER;
}

static void test_peer_handshake_dcap(void **state)
{
    struct st *s = *state;
    char qpath[512];
    struct nr_tee *ta = NULL, *tb = NULL;
    struct nr_attest_policy pol;
    struct peers peers;
    uint8_t sk[2][64];
    struct nr_chan *ch[2] = {NULL, NULL};
    /* The report data and quote pseudo-files become FIFOs served by a thread. */
    char rpath[512];
    snprintf(qpath, sizeof qpath, "%s/quote", s->dir);
    snprintf(rpath, sizeof rpath, "%s/user_report_data", s->dir);
    assert_int_equal(unlink(qpath), 0);
    assert_int_equal(mkfifo(qpath, 0600), 0);
    assert_int_equal(unlink(rpath), 0);
    assert_int_equal(mkfifo(rpath, 0600), 0);
    assert_int_equal(pthread_create(&s->thr, NULL, quote_server, s), 0);
    assert_int_equal(nr_tee_open(&ta, "gramine", s->dir, "x"), NR_OK);
    assert_int_equal(nr_tee_open(&tb, "gramine", s->dir, "x"), NR_OK);
    /* Policy: the forged root pinned (standing for Intel's), our MRENCLAVE, debug allowed. */
    memset(&pol, 0, sizeof pol);
    memcpy(pol.root_pub, s->f.root_fp, 32);
    memcpy(pol.allowed[0], s->mrenclave, 32);
    pol.n_allowed = 1;
    pol.allow_debug = 1;
    nr_tee_platform_id(ta, peers.pid);
    for (int i = 0; i < 2; i++)
        crypto_sign_keypair(peers.pub[i], sk[i]);
    for (int i = 0; i < 2; i++) {
        struct nr_chan_config cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.kind = NR_CHAN_PEER;
        cfg.role = i == 0 ? NR_CHAN_INITIATOR : NR_CHAN_RESPONDER;
        memset(cfg.system_id, 0x11, 32);
        cfg.tee = i == 0 ? ta : tb;
        cfg.identity_sk = sk[i];
        cfg.identity_pub = peers.pub[i];
        cfg.self = (uint16_t)i;
        cfg.tee_backend = "gramine";
        cfg.policy = &pol;
        cfg.lookup = lookup;
        cfg.lookup_arg = &peers;
        assert_int_equal(nr_chan_create(&ch[i], &cfg), NR_OK);
    }
    static uint8_t m1[NR_CHAN_HS_MAX_BYTES], m2[NR_CHAN_HS_MAX_BYTES], m3[NR_CHAN_HS_MAX_BYTES];
    size_t l1 = 0, l2 = 0, l3 = 0, l4 = 0;
    assert_int_equal(nr_chan_hs_start(ch[0], m1, sizeof m1, &l1), NR_OK);
    assert_int_equal(nr_chan_hs_recv(ch[1], m1, l1, m2, sizeof m2, &l2), NR_OK);
    assert_true(l2 > NR_DCAP_QUOTE_MIN_BYTES); /* the reply carries a DCAP quote */
    assert_int_equal(nr_chan_hs_recv(ch[0], m2, l2, m3, sizeof m3, &l3), NR_OK);
    assert_true(nr_chan_ready(ch[0]));
    assert_int_equal(nr_chan_hs_recv(ch[1], m3, l3, m1, sizeof m1, &l4), NR_OK);
    assert_true(nr_chan_ready(ch[1]));
    assert_int_equal(nr_chan_peer_member(ch[0]), 1);
    assert_int_equal(nr_chan_peer_member(ch[1]), 0);
    uint8_t rec[64], pt[64];
    size_t rl = 0, pl = 0;
    assert_int_equal(nr_chan_seal(ch[0], (const uint8_t *)"hi", 2, rec, sizeof rec, &rl), NR_OK);
    assert_int_equal(nr_chan_open(ch[1], rec, rl, pt, sizeof pt, &pl), NR_OK);
    assert_memory_equal(pt, "hi", 2);
    for (int i = 0; i < 2; i++)
        nr_chan_destroy(ch[i]);

    /* Under the real Intel pin, the same (forged) evidence is refused in the handshake. */
    assert_int_equal(nr_dcap_hex32(pol.root_pub, NR_DCAP_INTEL_ROOT_FP), NR_OK);
    for (int i = 0; i < 2; i++) {
        struct nr_chan_config cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.kind = NR_CHAN_PEER;
        cfg.role = i == 0 ? NR_CHAN_INITIATOR : NR_CHAN_RESPONDER;
        memset(cfg.system_id, 0x11, 32);
        cfg.tee = i == 0 ? ta : tb;
        cfg.identity_sk = sk[i];
        cfg.identity_pub = peers.pub[i];
        cfg.self = (uint16_t)i;
        cfg.tee_backend = "gramine";
        cfg.policy = &pol;
        cfg.lookup = lookup;
        cfg.lookup_arg = &peers;
        assert_int_equal(nr_chan_create(&ch[i], &cfg), NR_OK);
    }
    assert_int_equal(nr_chan_hs_start(ch[0], m1, sizeof m1, &l1), NR_OK);
    assert_int_equal(nr_chan_hs_recv(ch[1], m1, l1, m2, sizeof m2, &l2), NR_OK);
    assert_int_equal(nr_chan_hs_recv(ch[0], m2, l2, m3, sizeof m3, &l3), NR_ECERT);
    for (int i = 0; i < 2; i++)
        nr_chan_destroy(ch[i]);
    assert_true(s->served >= 5); /* two opens, three quotes in the handshakes */

    nr_tee_close(ta);
    nr_tee_close(tb);
    /* Stop the server: one last write wakes it. */
    s->stop = 1;
    int fd = open(rpath, O_WRONLY);
    if (fd >= 0)
        close(fd);
    pthread_join(s->thr, NULL);
    unlink(qpath);
    unlink(rpath);
    put(s->dir, "quote", s->quote, s->quote_len);
    put(s->dir, "user_report_data", "", 0);
}

/* ---- the LOCAL channel under gramine: DCAP quotes both ways ---- */

/* A quote server for one attestation directory (FIFOs, as above), with its own forge (its
 * own PCK leaf: its own platform). */
struct qsrv {
    char dir[256];
    const struct forge *f;
    const uint8_t *orig;
    size_t orig_len;
    pthread_t thr;
    volatile int stop;
    unsigned served;
};

static _Thread_local uint8_t tl_rd[64];
static void patch_tl_rd(uint8_t *body)
{
    memcpy(body + NR_DCAP_BODY_REPORT_DATA, tl_rd, 64);
}

static void *qsrv_main(void *arg)
{
    struct qsrv *q = arg;
    char qpath[512], rpath[512];
    static _Thread_local uint8_t out[8192];
    snprintf(qpath, sizeof qpath, "%s/quote", q->dir);
    snprintf(rpath, sizeof rpath, "%s/user_report_data", q->dir);
    for (;;) {
        int fd = open(rpath, O_RDONLY);
        if (fd < 0)
            return NULL;
        size_t got = 0;
        ssize_t r;
        memset(tl_rd, 0, sizeof tl_rd);
        while (got < sizeof tl_rd && (r = read(fd, tl_rd + got, sizeof tl_rd - got)) > 0)
            got += (size_t)r;
        close(fd);
        if (q->stop)
            return NULL;
        size_t n = forge_quote(q->f, q->orig, q->orig_len, out, sizeof out, 1, 1, 1, patch_tl_rd);
        fd = open(qpath, O_WRONLY);
        if (fd < 0)
            return NULL;
        if (n && write(fd, out, n) == (ssize_t)n)
            q->served++;
        close(fd);
    }
}

static void qsrv_start(struct qsrv *q, const char *dir, const struct forge *f, const struct st *s)
{
    char qpath[512], rpath[512];
    memset(q, 0, sizeof *q);
    snprintf(q->dir, sizeof q->dir, "%s", dir);
    q->f = f;
    q->orig = s->quote;
    q->orig_len = s->quote_len;
    snprintf(qpath, sizeof qpath, "%s/quote", dir);
    snprintf(rpath, sizeof rpath, "%s/user_report_data", dir);
    assert_int_equal(unlink(qpath), 0);
    assert_int_equal(mkfifo(qpath, 0600), 0);
    assert_int_equal(unlink(rpath), 0);
    assert_int_equal(mkfifo(rpath, 0600), 0);
    assert_int_equal(pthread_create(&q->thr, NULL, qsrv_main, q), 0);
}

static void qsrv_stop(struct qsrv *q, const struct st *s)
{
    char qpath[512], rpath[512];
    snprintf(qpath, sizeof qpath, "%s/quote", q->dir);
    snprintf(rpath, sizeof rpath, "%s/user_report_data", q->dir);
    q->stop = 1;
    int fd = open(rpath, O_WRONLY);
    if (fd >= 0)
        close(fd);
    pthread_join(q->thr, NULL);
    unlink(qpath);
    unlink(rpath);
    put(q->dir, "quote", s->quote, s->quote_len);
    put(q->dir, "user_report_data", "", 0);
}

static struct nr_chan *local_chan(struct nr_tee *t, int role, const struct nr_attest_policy *pol,
                                  const uint8_t se_meas[32])
{
    struct nr_chan_config cfg;
    struct nr_chan *ch = NULL;
    memset(&cfg, 0, sizeof cfg);
    cfg.kind = NR_CHAN_LOCAL;
    cfg.role = role;
    memset(cfg.system_id, 0x22, 32);
    cfg.tee = t;
    cfg.tee_backend = "gramine";
    cfg.policy = pol;
    memcpy(cfg.se_measurement, se_meas, 32);
    assert_int_equal(nr_chan_create(&ch, &cfg), NR_OK);
    return ch;
}

/* The AE's M3 made by hand for an AE on `t` (to show what the SE refuses): its quote binds
 * report data BLAKE2b-512(D("narrator-chan-local-ae-quote") || h2 || eph_A). */
static size_t craft_m3(struct nr_tee *t, const uint8_t *m1, size_t l1, const uint8_t *m2,
                       size_t l2, uint8_t *out, size_t cap)
{
    uint8_t h[32], rd[64], kind = 2, sys[32];
    size_t ev = 0;
    crypto_generichash_state st;
    memset(sys, 0x22, sizeof sys);
    crypto_generichash_init(&st, NULL, 0, 32);
    crypto_generichash_update(&st, (const uint8_t *)"narrator-chan-v1", 17);
    crypto_generichash_update(&st, &kind, 1);
    crypto_generichash_update(&st, sys, 32);
    crypto_generichash_final(&st, h, 32);
    const uint8_t *msgs[2] = {m1, m2};
    size_t lens[2] = {l1, l2};
    for (int i = 0; i < 2; i++) {
        crypto_generichash_init(&st, NULL, 0, 32);
        crypto_generichash_update(&st, h, 32);
        crypto_generichash_update(&st, msgs[i], lens[i]);
        crypto_generichash_final(&st, h, 32);
    }
    crypto_generichash_init(&st, NULL, 0, 64);
    crypto_generichash_update(&st, (const uint8_t *)"narrator-chan-local-ae-quote", 29);
    crypto_generichash_update(&st, h, 32);
    crypto_generichash_update(&st, m1 + 36, 32); /* eph_A */
    crypto_generichash_final(&st, rd, 64);
    assert_true(cap > 6 + NR_EVIDENCE_MAX_BYTES);
    assert_int_equal(nr_tee_quote(t, rd, out + 6, NR_EVIDENCE_MAX_BYTES, &ev), NR_OK);
    out[0] = 1;
    out[1] = 8;
    out[2] = 0;
    out[3] = 0;
    out[4] = (uint8_t)(ev & 0xffu);
    out[5] = (uint8_t)(ev >> 8);
    return 6 + ev;
}

static void test_local_handshake_dcap(void **state)
{
    struct st *s = *state;
    struct forge f2;
    struct qsrv q1, q2;
    uint8_t leaf2[4096];
    struct nr_tee *se = NULL, *ae = NULL, *ae2 = NULL;
    struct nr_attest_policy se_pol, ae_pol, pol;
    static uint8_t m1[NR_CHAN_HS_MAX_BYTES], m2[NR_CHAN_HS_MAX_BYTES], m3[NR_CHAN_HS_MAX_BYTES];
    static uint8_t old2[NR_CHAN_HS_MAX_BYTES], old3[NR_CHAN_HS_MAX_BYTES], x[NR_CHAN_HS_MAX_BYTES];
    size_t l1 = 0, l2 = 0, l3 = 0, l4 = 0, lo2 = 0, lo3 = 0;
    uint8_t m[32], pid1[32], pid2[32];

    /* A second platform: the real leaf's SGX extension with another PPID, same forged root. */
    static const uint8_t ppid_oid[] = {0x06, 0x0a, 0x2a, 0x86, 0x48, 0x86, 0xf8,
                                       0x4d, 0x01, 0x0d, 0x01, 0x01, 0x04, 0x10};
    memcpy(leaf2, s->leaf, s->leaf_len);
    size_t at = 0;
    for (size_t i = 0; i + sizeof ppid_oid + 16 <= s->leaf_len && !at; i++)
        if (memcmp(leaf2 + i, ppid_oid, sizeof ppid_oid) == 0)
            at = i + sizeof ppid_oid;
    assert_true(at > 0);
    leaf2[at] ^= 0x55;
    assert_int_equal(forge_init_sibling(&f2, &s->f, leaf2, s->leaf_len), 0);
    qsrv_start(&q1, s->dir, &s->f, s);
    qsrv_start(&q2, s->dir2, &f2, s);
    assert_int_equal(nr_tee_open(&se, "gramine", s->dir, "x"), NR_OK);
    assert_int_equal(nr_tee_open(&ae, "gramine", s->dir, "x"), NR_OK);
    assert_int_equal(nr_tee_open(&ae2, "gramine", s->dir2, "x"), NR_OK);
    nr_tee_platform_id(se, pid1);
    nr_tee_platform_id(ae2, pid2);
    assert_memory_not_equal(pid1, pid2, 32);

    /* The SE accepts any AE measurement; the AE wants the SE's MRENCLAVE. Same pinned root. */
    memset(&se_pol, 0, sizeof se_pol);
    memcpy(se_pol.root_pub, s->f.root_fp, 32);
    se_pol.any_measurement = 1;
    se_pol.allow_debug = 1; /* the vector quote is a debug enclave's */
    memset(&ae_pol, 0, sizeof ae_pol);
    memcpy(ae_pol.root_pub, s->f.root_fp, 32);
    memcpy(ae_pol.allowed[0], s->mrenclave, 32);
    ae_pol.n_allowed = 1;
    ae_pol.allow_debug = 1;

    /* A gramine LOCAL channel needs a policy. */
    {
        struct nr_chan_config cfg;
        struct nr_chan *ch = NULL;
        memset(&cfg, 0, sizeof cfg);
        cfg.kind = NR_CHAN_LOCAL;
        cfg.role = NR_CHAN_INITIATOR;
        cfg.tee = ae;
        cfg.tee_backend = "gramine";
        assert_int_equal(nr_chan_create(&ch, &cfg), NR_EINVAL);
        assert_null(ch);
    }

    /* 1. The handshake on one platform, then records both ways. */
    struct nr_chan *a = local_chan(ae, NR_CHAN_INITIATOR, &ae_pol, s->mrenclave);
    struct nr_chan *b = local_chan(se, NR_CHAN_RESPONDER, &se_pol, s->mrenclave);
    assert_int_equal(nr_chan_hs_start(a, m1, sizeof m1, &l1), NR_OK);
    assert_int_equal(l1, 68);
    assert_int_equal(nr_chan_hs_recv(b, m1, l1, m2, sizeof m2, &l2), NR_OK);
    assert_true(l2 > 38 + NR_DCAP_QUOTE_MIN_BYTES);
    assert_int_equal(m2[1], 7);
    assert_false(nr_chan_ready(b));
    assert_int_equal(nr_chan_hs_recv(a, m2, l2, m3, sizeof m3, &l3), NR_OK);
    assert_true(l3 > 6 + NR_DCAP_QUOTE_MIN_BYTES);
    assert_true(nr_chan_ready(a));
    assert_int_equal(nr_chan_hs_recv(b, m3, l3, x, sizeof x, &l4), NR_OK);
    assert_int_equal(l4, 0);
    assert_true(nr_chan_ready(b));
    nr_chan_peer_measurement(b, m);
    assert_memory_equal(m, s->mrenclave, 32);
    nr_chan_peer_measurement(a, m);
    assert_memory_equal(m, s->mrenclave, 32);
    uint8_t rec[64], pt[64];
    size_t rl = 0, pl = 0;
    assert_int_equal(nr_chan_seal(a, (const uint8_t *)"up", 2, rec, sizeof rec, &rl), NR_OK);
    assert_int_equal(nr_chan_open(b, rec, rl, pt, sizeof pt, &pl), NR_OK);
    assert_memory_equal(pt, "up", 2);
    assert_int_equal(nr_chan_seal(b, (const uint8_t *)"down", 4, rec, sizeof rec, &rl), NR_OK);
    assert_int_equal(nr_chan_open(a, rec, rl, pt, sizeof pt, &pl), NR_OK);
    assert_memory_equal(pt, "down", 4);
    nr_chan_destroy(a);
    nr_chan_destroy(b);
    memcpy(old2, m2, l2);
    lo2 = l2;
    memcpy(old3, m3, l3);
    lo3 = l3;

    /* 2. Replays: the SE's reply of the last handshake to a new AE, the AE's finish of the
     * last handshake to a new SE. Each quote binds the transcript: refused. */
    a = local_chan(ae, NR_CHAN_INITIATOR, &ae_pol, s->mrenclave);
    assert_int_equal(nr_chan_hs_start(a, m1, sizeof m1, &l1), NR_OK);
    assert_int_equal(nr_chan_hs_recv(a, old2, lo2, m3, sizeof m3, &l3), NR_EATTEST);
    assert_int_equal(l3, 0);
    assert_false(nr_chan_ready(a));
    nr_chan_destroy(a);
    a = local_chan(ae, NR_CHAN_INITIATOR, &ae_pol, s->mrenclave);
    b = local_chan(se, NR_CHAN_RESPONDER, &se_pol, s->mrenclave);
    assert_int_equal(nr_chan_hs_start(a, m1, sizeof m1, &l1), NR_OK);
    assert_int_equal(nr_chan_hs_recv(b, m1, l1, m2, sizeof m2, &l2), NR_OK);
    assert_int_equal(nr_chan_hs_recv(b, old3, lo3, x, sizeof x, &l4), NR_EATTEST);
    assert_false(nr_chan_ready(b));
    nr_chan_destroy(a);
    nr_chan_destroy(b);

    /* 3. Another platform. An AE on platform 2 refuses the SE of platform 1 ... */
    a = local_chan(ae2, NR_CHAN_INITIATOR, &ae_pol, s->mrenclave);
    b = local_chan(se, NR_CHAN_RESPONDER, &se_pol, s->mrenclave);
    assert_int_equal(nr_chan_hs_start(a, m1, sizeof m1, &l1), NR_OK);
    assert_int_equal(nr_chan_hs_recv(b, m1, l1, m2, sizeof m2, &l2), NR_OK);
    assert_int_equal(nr_chan_hs_recv(a, m2, l2, m3, sizeof m3, &l3), NR_EATTEST);
    nr_chan_destroy(a);
    /* ... and the SE refuses a genuine, correctly bound quote from platform 2 (the same
     * message made on platform 1 is accepted: only the platform differs). */
    l3 = craft_m3(ae2, m1, l1, m2, l2, m3, sizeof m3);
    assert_int_equal(nr_chan_hs_recv(b, m3, l3, x, sizeof x, &l4), NR_EATTEST);
    nr_chan_destroy(b);
    a = local_chan(ae, NR_CHAN_INITIATOR, &ae_pol, s->mrenclave);
    b = local_chan(se, NR_CHAN_RESPONDER, &se_pol, s->mrenclave);
    assert_int_equal(nr_chan_hs_start(a, m1, sizeof m1, &l1), NR_OK);
    assert_int_equal(nr_chan_hs_recv(b, m1, l1, m2, sizeof m2, &l2), NR_OK);
    l3 = craft_m3(ae, m1, l1, m2, l2, m3, sizeof m3);
    assert_int_equal(nr_chan_hs_recv(b, m3, l3, x, sizeof x, &l4), NR_OK);
    assert_true(nr_chan_ready(b));
    nr_chan_destroy(a);
    nr_chan_destroy(b);

    /* 4. Another measurement: the AE expects another SE MRENCLAVE, or another MRSIGNER. */
    pol = ae_pol;
    pol.allowed[0][0] ^= 1;
    a = local_chan(ae, NR_CHAN_INITIATOR, &pol, s->mrenclave);
    b = local_chan(se, NR_CHAN_RESPONDER, &se_pol, s->mrenclave);
    assert_int_equal(nr_chan_hs_start(a, m1, sizeof m1, &l1), NR_OK);
    assert_int_equal(nr_chan_hs_recv(b, m1, l1, m2, sizeof m2, &l2), NR_OK);
    assert_int_equal(nr_chan_hs_recv(a, m2, l2, m3, sizeof m3, &l3), NR_EMEASUREMENT);
    nr_chan_destroy(a);
    nr_chan_destroy(b);
    pol = ae_pol;
    pol.n_allowed = 0;
    pol.check_signer = 1;
    memset(pol.signer, 0x33, 32);
    a = local_chan(ae, NR_CHAN_INITIATOR, &pol, s->mrenclave);
    b = local_chan(se, NR_CHAN_RESPONDER, &se_pol, s->mrenclave);
    assert_int_equal(nr_chan_hs_start(a, m1, sizeof m1, &l1), NR_OK);
    assert_int_equal(nr_chan_hs_recv(b, m1, l1, m2, sizeof m2, &l2), NR_OK);
    assert_int_equal(nr_chan_hs_recv(a, m2, l2, m3, sizeof m3, &l3), NR_EMEASUREMENT);
    nr_chan_destroy(a);
    nr_chan_destroy(b);
    /* A debug AE is refused by an SE that does not allow debug enclaves. */
    pol = se_pol;
    pol.allow_debug = 0;
    a = local_chan(ae, NR_CHAN_INITIATOR, &ae_pol, s->mrenclave);
    b = local_chan(se, NR_CHAN_RESPONDER, &pol, s->mrenclave);
    assert_int_equal(nr_chan_hs_start(a, m1, sizeof m1, &l1), NR_OK);
    assert_int_equal(nr_chan_hs_recv(b, m1, l1, m2, sizeof m2, &l2), NR_OK);
    assert_int_equal(nr_chan_hs_recv(a, m2, l2, m3, sizeof m3, &l3), NR_OK);
    assert_int_equal(nr_chan_hs_recv(b, m3, l3, x, sizeof x, &l4), NR_EMEASUREMENT);
    nr_chan_destroy(a);
    nr_chan_destroy(b);

    /* 5. Bad quotes: a flipped byte of the ISV report signature, a truncated message, a
     * wrong length, a quote to another root (the Intel pin). */
    for (int v = 0; v < 4; v++) {
        a = local_chan(ae, NR_CHAN_INITIATOR, &ae_pol, s->mrenclave);
        b = local_chan(se, NR_CHAN_RESPONDER, &se_pol, s->mrenclave);
        assert_int_equal(nr_chan_hs_start(a, m1, sizeof m1, &l1), NR_OK);
        assert_int_equal(nr_chan_hs_recv(b, m1, l1, m2, sizeof m2, &l2), NR_OK);
        int want = NR_EATTEST;
        if (v == 0) {
            m2[38 + 436 + 5] ^= 1;
        } else if (v == 1) {
            l2 -= 1;
            want = NR_ETRUNCATED;
        } else if (v == 2) {
            m2[36] ^= 1; /* ev_len */
            want = NR_ETRUNCATED;
        } else {
            nr_chan_destroy(a);
            pol = ae_pol;
            assert_int_equal(nr_dcap_hex32(pol.root_pub, NR_DCAP_INTEL_ROOT_FP), NR_OK);
            a = local_chan(ae, NR_CHAN_INITIATOR, &pol, s->mrenclave);
            assert_int_equal(nr_chan_hs_start(a, m1, sizeof m1, &l1), NR_OK);
            nr_chan_destroy(b);
            b = local_chan(se, NR_CHAN_RESPONDER, &se_pol, s->mrenclave);
            assert_int_equal(nr_chan_hs_recv(b, m1, l1, m2, sizeof m2, &l2), NR_OK);
            want = NR_ECERT;
        }
        int rc = nr_chan_hs_recv(a, m2, l2, m3, sizeof m3, &l3);
        if (v == 2)
            assert_true(rc == NR_ETRUNCATED || rc == NR_EMALFORMED);
        else
            assert_int_equal(rc, want);
        assert_false(nr_chan_ready(a));
        nr_chan_destroy(a);
        nr_chan_destroy(b);
    }
    /* A bad AE quote at the SE (a flipped signature byte). */
    a = local_chan(ae, NR_CHAN_INITIATOR, &ae_pol, s->mrenclave);
    b = local_chan(se, NR_CHAN_RESPONDER, &se_pol, s->mrenclave);
    assert_int_equal(nr_chan_hs_start(a, m1, sizeof m1, &l1), NR_OK);
    assert_int_equal(nr_chan_hs_recv(b, m1, l1, m2, sizeof m2, &l2), NR_OK);
    assert_int_equal(nr_chan_hs_recv(a, m2, l2, m3, sizeof m3, &l3), NR_OK);
    m3[6 + 436 + 5] ^= 1;
    assert_int_equal(nr_chan_hs_recv(b, m3, l3, x, sizeof x, &l4), NR_EATTEST);
    nr_chan_destroy(a);
    nr_chan_destroy(b);

    nr_tee_close(se);
    nr_tee_close(ae);
    nr_tee_close(ae2);
    qsrv_stop(&q1, s);
    qsrv_stop(&q2, s);
    assert_true(q1.served > 10);
    forge_free(&f2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_identity),     cmocka_unit_test(test_open_failures),
        cmocka_unit_test(test_seal),              cmocka_unit_test(test_quote_and_verify),
        cmocka_unit_test(test_local_reports),     cmocka_unit_test(test_peer_handshake_dcap),
        cmocka_unit_test(test_local_handshake_dcap),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
