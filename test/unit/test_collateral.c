/* Unit tests: narratord's [SGX] collateral files (src/host/collateral.c): the real CRLs of
 * ../shared/vectors/sgx load, bad files give one "file:line: Key: path: reason" line, and the
 * policies for peers and AEs carry the collateral and the debug / AeSigner settings. */
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

#include "host/collateral.h"
#include "narrator/errors.h"

#define ROOT_HEX "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

static char g_dir[128];

static void put(const char *name, const void *data, size_t len)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static size_t slurp(const char *path, uint8_t *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n < cap ? n : 0;
}

/* A gramine config with [SGX] = `sgx` ("@" = g_dir). */
static int load(struct nr_host_config *c, struct nr_host_collateral *col, const char *sgx,
                char *err, size_t cap)
{
    char text[4096], body[2048];
    /* "@" stands for the test directory. */
    size_t o = 0;
    for (const char *q = sgx; *q && o + sizeof g_dir + 1 < sizeof body; q++) {
        if (*q == '@') {
            memcpy(body + o, g_dir, strlen(g_dir));
            o += strlen(g_dir);
        } else {
            body[o++] = *q;
        }
    }
    body[o] = '\0';
    snprintf(text, sizeof text,
             "[Node]\nIndex = 0\nListen = 127.0.0.1:7100\nSocket = /tmp/s.sock\n"
             "DataDir = /tmp/d\nPlatform = /dev/attestation\nTeeBackend = gramine\n"
             "Membership = /tmp/m.txt\nAttestationRoot = " ROOT_HEX "\n[SGX]\n%s",
             body); /* [SGX] is line 10 */
    int rc = nr_host_config_parse(c, "se.ini", text, strlen(text), err, cap);
    if (rc != NR_OK)
        return rc;
    return nr_host_collateral_load(col, c, "se.ini", err, cap);
}

static const char tcb_json[] =
    "{\"tcbInfo\":{\"id\":\"SGX\",\"version\":3,\"issueDate\":\"2024-01-01T00:00:00Z\","
    "\"nextUpdate\":\"2024-02-01T00:00:00Z\",\"fmspc\":\"00906ed50000\",\"pceId\":\"0000\","
    "\"tcbType\":0,\"tcbEvaluationDataNumber\":16,\"tcbLevels\":[]},\"signature\":\""
    "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000\"}";

static int setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/nr-collateral-%d", (int)getpid());
    return mkdir(g_dir, 0700) == 0 ? 0 : -1;
}

static void test_good(void **state)
{
    (void)state;
    static uint8_t crl[65536], leaf[4096];
    char pem[8192], b64[8000];
    size_t n = slurp(NR_SGX_VECTORS_DIR "/processor_crl.der", crl, sizeof crl);
    assert_true(n > 0);
    put("pck.der", crl, n);
    n = slurp(NR_SGX_VECTORS_DIR "/root_crl.der", crl, sizeof crl);
    assert_true(n > 0);
    put("root.der", crl, n);
    put("tcb.json", tcb_json, sizeof tcb_json - 1);
    n = slurp(NR_SGX_VECTORS_DIR "/leaf_cert.der", leaf, sizeof leaf);
    assert_true(n > 0);
    sodium_bin2base64(b64, sizeof b64, leaf, n, sodium_base64_VARIANT_ORIGINAL);
    snprintf(pem, sizeof pem, "-----BEGIN CERTIFICATE-----\n");
    for (size_t i = 0; i < strlen(b64); i += 64) {
        strncat(pem, b64 + i, 64);
        strcat(pem, "\n");
    }
    strcat(pem, "-----END CERTIFICATE-----\n");
    put("tcb.pem", pem, strlen(pem));

    struct nr_host_config c;
    struct nr_host_collateral col;
    char err[NR_CFG_ERR_MAX];
    int rc = load(&c, &col,
                  "PckCrl = @/pck.der\nPckCrl = @/root.der\nRequireCrl = yes\n"
                  "TcbInfo = @/tcb.json\nTcbSigningChain = @/tcb.pem\n"
                  "MinTcbStatus = OutOfDate\nAllowDebug = yes\n",
                  err, sizeof err);
    if (rc != NR_OK)
        print_error("%s\n", err);
    assert_int_equal(rc, NR_OK);
    assert_true(col.loaded);
    assert_int_equal(col.att.n_crls, 2);
    assert_ptr_equal(col.att.crl[1], col.crl[1]);
    assert_true(col.att.require_crl);
    assert_int_equal(col.att.tcb_info_len, sizeof tcb_json - 1);
    assert_int_equal(col.att.tcb_allowed, 0x3eu);

    /* Policies: peers keep their measurement and get the collateral; AEs any measurement. */
    struct nr_attest_policy peer, ae;
    memset(&peer, 0, sizeof peer);
    memset(peer.allowed[0], 0xaa, 32);
    peer.n_allowed = 1;
    nr_host_collateral_policies(&c, &col, &peer, &ae);
    assert_ptr_equal(peer.collateral, &col.att);
    assert_true(peer.allow_debug);
    assert_int_equal(peer.n_allowed, 1);
    assert_ptr_equal(ae.collateral, &col.att);
    assert_int_equal(ae.n_allowed, 0);
    assert_true(ae.any_measurement);
    assert_false(ae.check_signer);
    assert_true(ae.allow_debug);
    nr_host_collateral_free(&col);

    /* AeSigner: AEs must have that MRSIGNER. No [SGX] files: no collateral. */
    rc = load(&c, &col, "AeSigner = " ROOT_HEX "\n", err, sizeof err);
    assert_int_equal(rc, NR_OK);
    memset(&peer, 0, sizeof peer);
    nr_host_collateral_policies(&c, &col, &peer, &ae);
    assert_ptr_equal(peer.collateral, &col.att);
    assert_int_equal(col.att.n_crls, 0);
    assert_null(col.att.tcb_info);
    assert_false(peer.allow_debug);
    assert_false(ae.any_measurement);
    assert_true(ae.check_signer);
    assert_int_equal(ae.signer[31], 0xff);
    nr_host_collateral_free(&col);
}

struct bad {
    const char *sgx;
    const char *want; /* after "se.ini:" */
};

static void test_bad_files(void **state)
{
    (void)state;
    static const char pem_crl[] = "-----BEGIN X509 CRL-----\nMIIB\n-----END X509 CRL-----\n";
    put("pem.crl", pem_crl, sizeof pem_crl - 1);
    put("junk", "junk", 4);
    put("empty", "", 0);
    put("notjson", "{\"tcbInfo\":{\"id\":", 18);
    put("tcb2.json", tcb_json, sizeof tcb_json - 1);
    put("v9.json", "{\"tcbInfo\":{\"version\":9},\"signature\":\"00\"}", 43);
    static const struct bad cases[] = {
        {"PckCrl = @/missing\n", "11: PckCrl: "},
        {"PckCrl = @/junk\n", "11: PckCrl: "},
        {"AllowDebug = no\nPckCrl = @/pem.crl\n", "12: PckCrl: "},
        {"PckCrl = @/empty\n", "11: PckCrl: "},
        {"TcbInfo = @/notjson\nTcbSigningChain = @/junk\n", "11: TcbInfo: "},
        {"TcbInfo = @/v9.json\nTcbSigningChain = @/junk\n", "11: TcbInfo: "},
        {"TcbInfo = @/tcb2.json\nTcbSigningChain = @/junk\n", "12: TcbSigningChain: "},
    };
    static const char *const why[] = {"cannot open", "not one DER", "PEM, not DER", "empty",
                                      "no top-level", "no \"signature\"", "not 1 to"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct nr_host_config c;
        struct nr_host_collateral col;
        char err[NR_CFG_ERR_MAX], want[256];
        snprintf(want, sizeof want, "se.ini:%s%s/", cases[i].want, g_dir);
        int rc = load(&c, &col, cases[i].sgx, err, sizeof err);
        if (rc != NR_ECONFIG || strncmp(err, want, strlen(want)) != 0 || !strstr(err, why[i])) {
            print_error("case %zu: rc=%d err='%s' want='%s...%s'\n", i, rc, err, want, why[i]);
            fail();
        }
        assert_null(strchr(err, '\n'));
        assert_false(col.loaded);
    }
}

static int teardown(void **state)
{
    (void)state;
    static const char *const names[] = {"pck.der", "root.der", "tcb.json", "tcb.pem", "pem.crl",
                                        "junk", "empty", "notjson", "tcb2.json", "v9.json"};
    char path[256];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", g_dir, names[i]);
        unlink(path);
    }
    rmdir(g_dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_bad_files),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
