/* Unit tests: narratord configuration parser (src/host/config.c). Every malformed case must
 * yield NR_ECONFIG and one line "file:line: Key: reason" with the right line and key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "host/config.h"
#include "narrator/errors.h"

#define ROOT_HEX "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

static const char *const good_lines[] = {
    "# narratord test config",          /* 1 */
    "[Node]",                           /* 2 */
    "Index = 0",                        /* 3 */
    "Listen = 127.0.0.1:7100",          /* 4 */
    "Socket = /tmp/se0.sock",           /* 5 */
    "DataDir = /tmp/se0",               /* 6 */
    "Platform = /tmp/plat0",            /* 7 */
    "TeeBackend = sim",                 /* 8 */
    "Membership = /tmp/membership.txt", /* 9 */
    "AttestationRoot = " ROOT_HEX,      /* 10 */
    "Durability = disk",                /* 11 */
    "LogLevel = debug",                 /* 12 */
    "Metrics = 127.0.0.1:9100",         /* 13 */
    "MaxRecords = 1000",                /* 14 */
    "",                                 /* 15 */
    "[Peer]",                           /* 16 */
    "Index = 1",                        /* 17 */
    "Endpoint = 127.0.0.1:7101",        /* 18 */
    "[Peer]",                           /* 19 */
    "Index = 2",                        /* 20 */
    "Endpoint = [::1]:7102",            /* 21 */
};
#define N_GOOD (sizeof good_lines / sizeof good_lines[0])

/* Build the good config with line `line` (1-based) replaced by `repl` (NULL: deleted;
 * line 0: nothing replaced) and `extra` appended. */
static char *build(unsigned line, const char *repl, const char *extra)
{
    size_t cap = 8192;
    char *buf = calloc(1, cap);
    assert_non_null(buf);
    for (unsigned i = 0; i < N_GOOD; i++) {
        const char *l = good_lines[i];
        if (i + 1 == line) {
            if (!repl)
                continue;
            l = repl;
        }
        strcat(buf, l);
        strcat(buf, "\n");
    }
    if (extra)
        strcat(buf, extra);
    return buf;
}

static int parse(struct nr_host_config *c, const char *text, char *err, size_t cap)
{
    return nr_host_config_parse(c, "t.ini", text, strlen(text), err, cap);
}

static void test_good(void **state)
{
    (void)state;
    struct nr_host_config c;
    char err[NR_CFG_ERR_MAX];
    char *t = build(0, NULL, NULL);

    assert_int_equal(parse(&c, t, err, sizeof err), NR_OK);
    assert_string_equal(err, "");
    assert_int_equal(c.index, 0);
    assert_string_equal(c.listen.text, "127.0.0.1:7100");
    assert_int_equal(c.listen.sa.ss_family, AF_INET);
    assert_string_equal(c.socket_path, "/tmp/se0.sock");
    assert_string_equal(c.data_dir, "/tmp/se0");
    assert_string_equal(c.platform_dir, "/tmp/plat0");
    assert_string_equal(c.tee_backend, "sim");
    assert_string_equal(c.membership_path, "/tmp/membership.txt");
    assert_int_equal(c.attestation_root[0], 0x00);
    assert_int_equal(c.attestation_root[1], 0x11);
    assert_int_equal(c.attestation_root[31], 0xff);
    assert_int_equal(c.durability, NR_DURABILITY_DISK);
    assert_int_equal(c.log_level, NR_LOG_DEBUG);
    assert_true(c.has_metrics);
    assert_int_equal(c.max_records, 1000);
    assert_int_equal(c.n_peers, 2);
    assert_int_equal(c.peers[0].index, 1);
    assert_int_equal(c.peers[1].index, 2);
    assert_int_equal(c.peers[1].endpoint.sa.ss_family, AF_INET6);
    free(t);
}

static void test_defaults_and_syntax_variants(void **state)
{
    (void)state;
    struct nr_host_config c;
    char err[NR_CFG_ERR_MAX];
    /* CRLF, indentation, comments, case-insensitive keys, optional keys absent. */
    const char *t = "; comment\r\n"
                    "  [node]\r\n"
                    "  index=2\r\n"
                    "\tLISTEN = 127.0.0.1:7102 ; inline comment\r\n"
                    "Socket = /tmp/s.sock\r\n"
                    "DataDir = /tmp/d\r\n"
                    "Platform = /tmp/p\r\n"
                    "Membership = /tmp/m\r\n"
                    "AttestationRoot = " ROOT_HEX "\r\n";

    assert_int_equal(parse(&c, t, err, sizeof err), NR_OK);
    assert_int_equal(c.index, 2);
    assert_string_equal(c.tee_backend, "sim");
    assert_int_equal(c.durability, NR_DURABILITY_MEMORY);
    assert_int_equal(c.log_level, NR_LOG_INFO);
    assert_false(c.has_metrics);
    assert_int_equal(c.max_records, NR_CFG_DEFAULT_MAX_RECORDS);
    assert_int_equal(c.snapshot, 0); /* default off with Durability = memory */
    assert_int_equal(c.n_peers, 0);

    /* Snapshot = on with memory durability; default on with disk durability */
    char t1[2048];
    snprintf(t1, sizeof t1, "%sSnapshot = on\n", t);
    assert_int_equal(parse(&c, t1, err, sizeof err), NR_OK);
    assert_int_equal(c.snapshot, 1);
    snprintf(t1, sizeof t1, "%sDurability = disk\n", t);
    assert_int_equal(parse(&c, t1, err, sizeof err), NR_OK);
    assert_int_equal(c.snapshot, 1);

    /* Snapshot = off with memory durability */
    char t2[2048];
    snprintf(t2, sizeof t2, "%sSnapshot = no\n", t);
    assert_int_equal(parse(&c, t2, err, sizeof err), NR_OK);
    assert_int_equal(c.snapshot, 0);
}

struct bad_case {
    unsigned line;     /* line replaced (0: none) */
    const char *repl;  /* replacement (NULL: delete the line) */
    const char *extra; /* appended text */
    const char *want;  /* expected message prefix */
};

#define SGX_ON "TeeBackend = gramine"
static const struct bad_case bad_cases[] = {
    /* [SGX] (the section starts on line 22) */
    {0, NULL, "[SGX]\nAllowDebug = yes\n", "t.ini:22: [SGX]: only with TeeBackend = gramine"},
    {8, SGX_ON, "[SGX]\nAllowDebug = maybe\n", "t.ini:23: AllowDebug: bad value"},
    {8, SGX_ON, "[SGX]\nPckCrl =\n", "t.ini:23: PckCrl: empty path"},
    {8, SGX_ON, "[SGX]\nPckCrl = /a\nPckCrl = /b\nPckCrl = /c\nPckCrl = /d\nPckCrl = /e\n",
     "t.ini:27: PckCrl: too many CRLs"},
    {8, SGX_ON, "[SGX]\nRequireCrl = yes\n", "t.ini:23: RequireCrl: yes needs PckCrl"},
    {8, SGX_ON, "[SGX]\nTcbInfo = /t.json\n", "t.ini:23: TcbSigningChain: missing"},
    {8, SGX_ON, "[SGX]\nTcbSigningChain = /c.pem\n",
     "t.ini:23: TcbSigningChain: given without TcbInfo"},
    {8, SGX_ON, "[SGX]\nMinTcbStatus = UpToDate\n", "t.ini:23: MinTcbStatus: needs TcbInfo"},
    {8, SGX_ON, "[SGX]\nTcbInfo = /t\nTcbSigningChain = /c\nMinTcbStatus = Revoked\n",
     "t.ini:25: MinTcbStatus: bad status"},
    {8, SGX_ON, "[SGX]\nAeSigner = 00ff\n", "t.ini:23: AeSigner: expected 64 hex digits"},
    {8, SGX_ON, "[SGX]\nAllowDebug = no\nAllowDebug = no\n",
     "t.ini:24: AllowDebug: duplicate key (first at line 23)"},
    {8, SGX_ON, "[SGX]\nColour = blue\n", "t.ini:23: Colour: unknown key in [SGX]"},
    {8, SGX_ON, "[SGX]\n[SGX]\n", "t.ini:23: [SGX]: duplicate section (first at line 22)"},
    {4, "Listen = 127.0.0.1", NULL, "t.ini:4: Listen: bad address"},
    {4, "Listen = 127.0.0.1:0", NULL, "t.ini:4: Listen: bad address"},
    {4, "Listen = 127.0.0.1:65536", NULL, "t.ini:4: Listen: bad address"},
    {4, "Listen = 999.0.0.1:7100", NULL, "t.ini:4: Listen: bad address"},
    {4, "Listen = localhost:7100", NULL, "t.ini:4: Listen: bad address"},
    {4, "Listen = [::1:7100", NULL, "t.ini:4: Listen: bad address"},
    {4, "Listen = 127.0.0.1:7x00", NULL, "t.ini:4: Listen: bad address"},
    {13, "Metrics = nowhere", NULL, "t.ini:13: Metrics: bad address"},
    {21, "Endpoint = 1.2.3.4:", NULL, "t.ini:21: Endpoint: bad address"},
    {3, "Index = 16", NULL, "t.ini:3: Index: bad member index"},
    {3, "Index = -1", NULL, "t.ini:3: Index: bad member index"},
    {3, "Index = ", NULL, "t.ini:3: Index: bad member index"},
    {17, "Index = x", NULL, "t.ini:17: Index: bad member index"},
    {8, "TeeBackend = sgx2", NULL, "t.ini:8: TeeBackend: unknown backend"},
    {10, "AttestationRoot = 0011", NULL, "t.ini:10: AttestationRoot: bad public key"},
    {10, "AttestationRoot = zz112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", NULL,
     "t.ini:10: AttestationRoot: bad public key"},
    {11, "Durability = maybe", NULL, "t.ini:11: Durability: bad value"},
    {12, "LogLevel = loud", NULL, "t.ini:12: LogLevel: bad level"},
    {14, "Snapshot = maybe", NULL, "t.ini:14: Snapshot: bad value (on or off)"},
    {14, "Snapshot = off", NULL,
     "t.ini:14: Snapshot: off is only possible with Durability = memory"},
    {14, "MaxRecords = 0", NULL, "t.ini:14: MaxRecords: bad number"},
    {14, "MaxRecords = 99999999999999999999999", NULL, "t.ini:14: MaxRecords: bad number"},
    {14, "Frobnicate = 1", NULL, "t.ini:14: Frobnicate: unknown key in [Node]"},
    {18, "Endpointt = 127.0.0.1:7101", NULL, "t.ini:18: Endpointt: unknown key in [Peer]"},
    {12, "Listen = 127.0.0.1:7200", NULL, "t.ini:12: Listen: duplicate key (first at line 4)"},
    {18, "Index = 3", NULL, "t.ini:18: Index: duplicate key (first at line 17)"},
    {15, "[Nodes]", NULL, "t.ini:15: [Nodes]: unknown section"},
    {15, "[Node", NULL, "t.ini:15: [Node: unterminated section header"},
    {15, "[Node]", NULL, "t.ini:15: [Node]: duplicate section (first at line 2)"},
    {5, NULL, NULL, "t.ini:2: Socket: missing required key in [Node]"},
    {10, NULL, NULL, "t.ini:2: AttestationRoot: missing required key in [Node]"},
    {18, NULL, NULL, "t.ini:16: Endpoint: missing required key in [Peer]"},
    {2, NULL, NULL, "t.ini:2: Index: key outside a section"},
    {1, "Index = 0", NULL, "t.ini:1: Index: key outside a section"},
    {15, "just some words", NULL, "t.ini:15: just some words: syntax error"},
    {17, "Index = 0", NULL, "t.ini:17: Index: peer has this node's own index 0"},
    {20, "Index = 1", NULL, "t.ini:20: Index: duplicate peer index 1 (first at line 17)"},
    {6,
     "DataDir = /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
     NULL, "t.ini:6: DataDir: line too long"},
    {5,
     "Socket = /ssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss"
     "ssssssssssssssssssssssssssssssssssssss",
     NULL, "t.ini:5: Socket: path too long"},
    {0, NULL, "[Peer]\nIndex = 3\nEndpoint = 127.0.0.1:7103\nbogus\n",
     "t.ini:25: bogus: syntax error"},
    {0, NULL, "[Peer]\n", "t.ini:22: Index: missing required key in [Peer]"},
};

/* [Chain] with several endpoints (RpcUrl once per endpoint) and Agree. */
#define CHAIN_HEAD "[Chain]\nChainId = 31337\nContract = 0x5FbDB2315678afecb367f032d93F642f64180aa3\n"
static void test_chain_endpoints(void **state)
{
    (void)state;
    struct nr_host_config c;
    char err[NR_CFG_ERR_MAX];
    char *t = build(0, NULL, CHAIN_HEAD "RpcUrl = http://127.0.0.1:8545\n");
    assert_int_equal(parse(&c, t, err, sizeof err), NR_OK);
    free(t);
    assert_int_equal(c.chain.n_rpc_urls, 1);
    assert_int_equal(c.chain.agree, 1);
    assert_string_equal(c.chain.rpc_url, "http://127.0.0.1:8545");
    t = build(0, NULL,
              CHAIN_HEAD "RpcUrl = http://127.0.0.1:8545\nRpcUrl = https://rpc.example.org/k\n"
                         "RpcUrl = http://127.0.0.1:8546\nRequired = no\n");
    assert_int_equal(parse(&c, t, err, sizeof err), NR_OK);
    free(t);
    assert_int_equal(c.chain.n_rpc_urls, 3);
    assert_int_equal(c.chain.agree, 3); /* default: all */
    assert_int_equal(c.chain.required, 0);
    assert_string_equal(c.chain.rpc_url, "http://127.0.0.1:8545");
    assert_string_equal(c.chain.rpc_urls[1], "https://rpc.example.org/k");
    t = build(0, NULL, CHAIN_HEAD "RpcUrl = http://a:1\nAgree = 1\nRpcUrl = http://b:1\n");
    assert_int_equal(parse(&c, t, err, sizeof err), NR_OK);
    free(t);
    assert_int_equal(c.chain.agree, 1);
    assert_int_equal(c.chain.n_rpc_urls, 2);

    static const struct {
        const char *extra, *want;
    } bad[] = {
        /* lines: [Chain] is 22, ChainId 23, Contract 24, then the extra lines from 25 */
        {CHAIN_HEAD "RpcUrl = http://a:1\nAgree = 2\n",
         "t.ini:26: Agree: 2 endpoints must agree but 1 RpcUrl is configured"},
        {CHAIN_HEAD "RpcUrl = http://a:1\nRpcUrl = http://b:1\nAgree = 3\n",
         "t.ini:27: Agree: 3 endpoints must agree but 2 RpcUrl are configured"},
        {CHAIN_HEAD "RpcUrl = http://a:1\nAgree = 0\n", "t.ini:26: Agree: bad number"},
        {CHAIN_HEAD "RpcUrl = http://a:1\nAgree = 9\n", "t.ini:26: Agree: bad number"},
        {CHAIN_HEAD "RpcUrl = http://a:1\nAgree = 1\nAgree = 1\n",
         "t.ini:27: Agree: duplicate key (first at line 26)"},
        {CHAIN_HEAD "RpcUrl = http://a:1\nRpcUrl = http://a:1\n",
         "t.ini:26: RpcUrl: duplicate endpoint"},
        {CHAIN_HEAD "RpcUrl = http://a:1\nRpcUrl = http://b:1\nRpcUrl = http://c:1\n"
                    "RpcUrl = http://d:1\nRpcUrl = http://e:1\nRpcUrl = http://f:1\n"
                    "RpcUrl = http://g:1\nRpcUrl = http://h:1\nRpcUrl = http://i:1\n",
         "t.ini:33: RpcUrl: more than 8 endpoints"},
        {CHAIN_HEAD "RpcUrl = http://a:1\nRpcUrl = ftp://b\n", "t.ini:26: RpcUrl: bad URL"},
        {CHAIN_HEAD "Agree = 1\n", "t.ini:22: RpcUrl: missing required key in [Chain]"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        t = build(0, NULL, bad[i].extra);
        int rc = parse(&c, t, err, sizeof err);
        if (rc != NR_ECONFIG || strncmp(err, bad[i].want, strlen(bad[i].want)) != 0) {
            print_error("case %zu: rc=%d err='%s' want='%s'\n", i, rc, err, bad[i].want);
            fail();
        }
        free(t);
    }
}

static void test_sgx_section(void **state)
{
    (void)state;
    struct nr_host_config c;
    char err[NR_CFG_ERR_MAX];
    char *t = build(8, SGX_ON, NULL);
    assert_int_equal(parse(&c, t, err, sizeof err), NR_OK);
    assert_false(c.sgx.enabled);
    assert_int_equal(c.sgx.tcb_allowed, 1u << 1); /* UpToDate only */
    free(t);
    t = build(8, SGX_ON,
              "[SGX]\n"
              "PckCrl = /c/pck.der\n"                 /* 23 */
              "PckCrl = /c/root.der\n"                /* 24 */
              "RequireCrl = yes\n"                    /* 25 */
              "TcbInfo = /c/tcb.json\n"               /* 26 */
              "TcbSigningChain = /c/tcb.pem\n"        /* 27 */
              "MinTcbStatus = swhardeningneeded\n"    /* 28 */
              "AllowDebug = yes\n"                    /* 29 */
              "AeSigner = " ROOT_HEX "\n");           /* 30 */
    assert_int_equal(parse(&c, t, err, sizeof err), NR_OK);
    assert_true(c.sgx.enabled);
    assert_int_equal(c.sgx.n_crls, 2);
    assert_string_equal(c.sgx.crl_path[1], "/c/root.der");
    assert_int_equal(c.sgx.crl_line[0], 23);
    assert_int_equal(c.sgx.crl_line[1], 24);
    assert_true(c.sgx.require_crl);
    assert_string_equal(c.sgx.tcb_info_path, "/c/tcb.json");
    assert_int_equal(c.sgx.tcb_info_line, 26);
    assert_int_equal(c.sgx.tcb_chain_line, 27);
    assert_int_equal(c.sgx.tcb_allowed, (1u << 1) | (1u << 2));
    assert_true(c.sgx.allow_debug);
    assert_true(c.sgx.check_ae_signer);
    assert_int_equal(c.sgx.ae_signer[1], 0x11);
    free(t);
    t = build(8, SGX_ON,
              "[SGX]\nTcbInfo = /t\nTcbSigningChain = /c\n"
              "MinTcbStatus = OutOfDateConfigurationNeeded\n");
    assert_int_equal(parse(&c, t, err, sizeof err), NR_OK);
    assert_int_equal(c.sgx.tcb_allowed, 0x7eu); /* statuses 1..6, never Revoked (7) */
    free(t);
}

static void test_bad_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const struct bad_case *bc = &bad_cases[i];
        struct nr_host_config c;
        char err[NR_CFG_ERR_MAX];
        char *t = build(bc->line, bc->repl, bc->extra);
        int rc = parse(&c, t, err, sizeof err);
        if (rc != NR_ECONFIG || strncmp(err, bc->want, strlen(bc->want)) != 0) {
            print_error("case %zu: rc=%d err='%s' want='%s'\n", i, rc, err, bc->want);
            fail();
        }
        assert_null(strchr(err, '\n')); /* one line */
        free(t);
    }
}

static void test_no_node_section(void **state)
{
    (void)state;
    struct nr_host_config c;
    char err[NR_CFG_ERR_MAX];
    const char *t = "# only peers\n[Peer]\nIndex = 1\nEndpoint = 127.0.0.1:7101\n";
    assert_int_equal(parse(&c, t, err, sizeof err), NR_ECONFIG);
    assert_string_equal(err, "t.ini:1: [Node]: missing section");
}

static void test_nul_byte(void **state)
{
    (void)state;
    struct nr_host_config c;
    char err[NR_CFG_ERR_MAX];
    char *t = build(0, NULL, NULL);
    size_t len = strlen(t);
    char *nl = strstr(t, "Socket");
    nl[2] = '\0';
    assert_int_equal(nr_host_config_parse(&c, "t.ini", t, len, err, sizeof err), NR_ECONFIG);
    assert_string_equal(err, "t.ini:5: So?ket: NUL byte in line");
    free(t);
}

static void test_too_many_peers(void **state)
{
    (void)state;
    struct nr_host_config c;
    char err[NR_CFG_ERR_MAX];
    char extra[4096] = "";
    for (unsigned i = 3; i < 3 + NR_MAX_MEMBERS; i++) {
        char s[128];
        snprintf(s, sizeof s, "[Peer]\nIndex = %u\nEndpoint = 127.0.0.1:%u\n", i % 16, 7100 + i);
        strcat(extra, s);
    }
    char *t = build(0, NULL, extra);
    assert_int_equal(parse(&c, t, err, sizeof err), NR_ECONFIG);
    assert_non_null(strstr(err, "[Peer]: too many peers"));
    free(t);
}

static void test_load_file(void **state)
{
    (void)state;
    struct nr_host_config c;
    char err[NR_CFG_ERR_MAX];
    char path[] = "/tmp/nr_test_config_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    char *t = build(4, "Listen = nope", NULL);
    assert_int_equal(write(fd, t, strlen(t)), (ssize_t)strlen(t));
    close(fd);
    assert_int_equal(nr_host_config_load(&c, path, err, sizeof err), NR_ECONFIG);
    char want[128];
    snprintf(want, sizeof want, "%s:4: Listen: bad address", path);
    assert_string_equal(err, want);
    unlink(path);
    assert_int_equal(nr_host_config_load(&c, path, err, sizeof err), NR_ECONFIG);
    assert_non_null(strstr(err, ":0: (file): cannot open"));
    free(t);
}

static void test_oversized(void **state)
{
    (void)state;
    struct nr_host_config c;
    char err[NR_CFG_ERR_MAX];
    size_t len = NR_CFG_FILE_MAX + 1u;
    char *t = malloc(len);
    assert_non_null(t);
    memset(t, '\n', len);
    assert_int_equal(nr_host_config_parse(&c, "t.ini", t, len, err, sizeof err), NR_ECONFIG);
    assert_non_null(strstr(err, "t.ini:0: (file): too large"));
    free(t);
}

static void test_addr_parse(void **state)
{
    (void)state;
    struct nr_host_addr a;
    assert_int_equal(nr_host_addr_parse(&a, "10.1.2.3:1"), NR_OK);
    assert_int_equal(nr_host_addr_parse(&a, "[fe80::1]:65535"), NR_OK);
    assert_int_equal(nr_host_addr_parse(&a, "[fe80::1]65535"), NR_EINVAL);
    assert_int_equal(nr_host_addr_parse(&a, ":80"), NR_EINVAL);
    assert_int_equal(nr_host_addr_parse(&a, "1.2.3.4:+80"), NR_EINVAL);
    assert_int_equal(nr_host_addr_parse(&a, ""), NR_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),       cmocka_unit_test(test_defaults_and_syntax_variants),
        cmocka_unit_test(test_bad_cases),  cmocka_unit_test(test_no_node_section),
        cmocka_unit_test(test_nul_byte),   cmocka_unit_test(test_too_many_peers),
        cmocka_unit_test(test_load_file),  cmocka_unit_test(test_oversized),
        cmocka_unit_test(test_addr_parse), cmocka_unit_test(test_chain_endpoints),
        cmocka_unit_test(test_sgx_section),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
