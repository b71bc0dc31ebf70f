/* Unit tests of narratord's chain anchor without a chain: the [Chain] configuration section
 * (src/host/config.c) and the comparison of an on-chain record with the membership file
 * (nr_host_chain_compare, src/host/chain.c). The real chain is in chaininit.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "chan/membership.h"
#include "eth/registry.h"
#include "host/chain.h"
#include "host/config.h"

#define NODE                                                                                       \
    "[Node]\nIndex = 0\nListen = 127.0.0.1:7100\nSocket = /tmp/s.sock\nDataDir = /tmp/d\n"         \
    "Platform = /tmp/p\nMembership = /tmp/m.txt\n"                                                 \
    "AttestationRoot = 0000000000000000000000000000000000000000000000000000000000000000\n"
#define CHAIN                                                                                      \
    "[Chain]\nRpcUrl = http://127.0.0.1:8545\nChainId = 31337\n"                                   \
    "Contract = 0x5FbDB2315678afecb367f032d93F642f64180aa3\n"

static struct nr_host_config g_cfg;
static char g_err[NR_CFG_ERR_MAX];

static int parse(const char *text)
{
    return nr_host_config_parse(&g_cfg, "se.ini", text, strlen(text), g_err, sizeof g_err);
}

static void test_config_chain_defaults(void **state)
{
    (void)state;
    assert_int_equal(parse(NODE), NR_OK);
    assert_int_equal(g_cfg.chain.enabled, 0);
    assert_int_equal(parse(NODE CHAIN), NR_OK);
    assert_int_equal(g_cfg.chain.enabled, 1);
    assert_string_equal(g_cfg.chain.rpc_url, "http://127.0.0.1:8545");
    assert_int_equal(g_cfg.chain.chain_id, 31337);
    assert_int_equal(g_cfg.chain.contract[0], 0x5f);
    assert_int_equal(g_cfg.chain.contract[19], 0xa3);
    assert_int_equal(g_cfg.chain.confirmations, 1);
    assert_int_equal(g_cfg.chain.required, 1);
    assert_int_equal(g_cfg.chain.start_timeout_ms, NR_CFG_CHAIN_DEFAULT_START_TIMEOUT_MS);
    /* section order does not matter, keys are case-insensitive */
    assert_int_equal(parse(CHAIN "confirmations = 12\nREQUIRED = no\nStartTimeout = 500ms\n" NODE),
                     NR_OK);
    assert_int_equal(g_cfg.chain.confirmations, 12);
    assert_int_equal(g_cfg.chain.required, 0);
    assert_int_equal(g_cfg.chain.start_timeout_ms, 500);
    assert_int_equal(parse(NODE CHAIN "StartTimeout = 3\n"), NR_OK);
    assert_int_equal(g_cfg.chain.start_timeout_ms, 3000);
    assert_int_equal(parse(NODE CHAIN "StartTimeout = 7s\n"), NR_OK);
    assert_int_equal(g_cfg.chain.start_timeout_ms, 7000);
}

static void expect_error(const char *text, const char *msg)
{
    assert_int_equal(parse(text), NR_ECONFIG);
    if (strstr(g_err, msg) == NULL)
        fail_msg("error '%s' lacks '%s'", g_err, msg);
}

static void test_config_chain_errors(void **state)
{
    (void)state;
    expect_error(NODE
                 "[Chain]\nChainId = 1\nContract = 0x5FbDB2315678afecb367f032d93F642f64180aa3\n",
                 "se.ini:9: RpcUrl: missing required key in [Chain]");
    expect_error(
        NODE
        "[Chain]\nRpcUrl = http://x:1\nContract = 0x5FbDB2315678afecb367f032d93F642f64180aa3\n",
        "ChainId: missing required key in [Chain]");
    expect_error(NODE "[Chain]\nRpcUrl = http://x:1\nChainId = 5\n",
                 "Contract: missing required key in [Chain]");
    expect_error(NODE CHAIN CHAIN, "[Chain]: duplicate section");
    expect_error(NODE CHAIN "Frob = 1\n", "Frob: unknown key in [Chain]");
    expect_error(NODE CHAIN "ChainId = 2\n", "ChainId: duplicate key");
    expect_error(NODE "[Chain]\nRpcUrl = ftp://x\n", "RpcUrl: bad URL");
    expect_error(NODE "[Chain]\nChainId = 0\n", "ChainId: bad chain id");
    expect_error(NODE "[Chain]\nChainId = 99999999999999999999999\n", "ChainId: bad chain id");
    expect_error(NODE "[Chain]\nContract = 0x5FbDB2315678afecb367f032d93F642f64180aa\n",
                 "Contract: bad address");
    expect_error(NODE "[Chain]\nContract = 5FbDB2315678afecb367f032d93F642f64180aa3xx\n",
                 "Contract: bad address");
    expect_error(NODE "[Chain]\nContract = 0xZZbDB2315678afecb367f032d93F642f64180aa3\n",
                 "Contract: bad address");
    expect_error(NODE CHAIN "Confirmations = 0\n", "Confirmations: bad number");
    expect_error(NODE CHAIN "Confirmations = 1001\n", "Confirmations: bad number");
    expect_error(NODE CHAIN "Required = maybe\n", "Required: bad value");
    expect_error(NODE CHAIN "StartTimeout = 0\n", "StartTimeout: bad duration");
    expect_error(NODE CHAIN "StartTimeout = ms\n", "StartTimeout: bad duration");
    expect_error(NODE CHAIN "StartTimeout = -1\n", "StartTimeout: bad duration");
    expect_error(NODE CHAIN "StartTimeout = 86401\n", "StartTimeout: bad duration");
    expect_error(NODE CHAIN "StartTimeout = 1h\n", "StartTimeout: bad duration");
}

/* ---- comparison ---- */

static struct nr_membership g_m;
static struct nr_registry_system g_sys;
static struct nr_registry_member g_mem[3];
static uint8_t g_meas[32];

static void build(void)
{
    uint8_t sys_id[32], root[32], pub[32], plat[32], ev[64], eth[20];
    memset(sys_id, 0x51, sizeof sys_id);
    memset(root, 0x77, sizeof root);
    memset(g_meas, 0xaa, sizeof g_meas);
    nr_membership_init(&g_m, sys_id, 3, 1, root);
    assert_int_equal(nr_membership_add_measurement(&g_m, g_meas), NR_OK);
    memset(&g_sys, 0, sizeof g_sys);
    g_sys.exists = 1;
    g_sys.finalized = 1;
    g_sys.n = 3;
    g_sys.f = 1;
    g_sys.registered = 3;
    memcpy(g_sys.measurement, g_meas, 32);
    for (uint16_t i = 0; i < 3; i++) {
        memset(pub, 0x10 + i, sizeof pub);
        memset(plat, 0x20 + i, sizeof plat);
        memset(ev, 0x30 + i, sizeof ev);
        memset(eth, 0x40 + i, sizeof eth);
        assert_int_equal(nr_membership_add_member(&g_m, i, pub, plat, ev, sizeof ev, eth), NR_OK);
        memcpy(g_mem[i].identity_key, pub, 32);
        memcpy(g_mem[i].platform_id, plat, 32);
        nr_keccak256(g_mem[i].evidence_hash, ev, sizeof ev);
        memcpy(g_mem[i].account, eth, 20);
    }
}

static int compare_as(uint16_t self, char *err, size_t cap)
{
    return nr_host_chain_compare(&g_sys, g_mem, 3, &g_m, self, g_m.members[self].identity_pub,
                                 g_m.members[self].platform_id, err, cap);
}

static void expect_cmp(uint16_t self, int rc, const char *msg)
{
    char err[512] = "";
    assert_int_equal(compare_as(self, err, sizeof err), rc);
    if (msg && strstr(err, msg) == NULL)
        fail_msg("error '%s' lacks '%s'", err, msg);
}

static void test_compare_equal(void **state)
{
    (void)state;
    build();
    for (uint16_t i = 0; i < 3; i++)
        expect_cmp(i, NR_OK, NULL);
}

static void test_compare_member_differs(void **state)
{
    (void)state;
    build();
    g_mem[1].identity_key[5] ^= 1;
    expect_cmp(0, NR_ECHAIN, "member 1 (");
    expect_cmp(0, NR_ECHAIN, "another identity key");
    expect_cmp(1, NR_ENOTMEMBER, "is not in the finalised on-chain membership");
    build();
    g_mem[2].platform_id[0] ^= 1;
    expect_cmp(0, NR_ECHAIN, "member 2 (");
    expect_cmp(0, NR_ECHAIN, "another platform id");
    build();
    g_mem[2].evidence_hash[31] ^= 1;
    expect_cmp(0, NR_ECHAIN, "another evidence hash");
    build();
    g_mem[0].account[0] ^= 1;
    expect_cmp(1, NR_ECHAIN, "another Ethereum account");
    build();
    g_m.members[0].has_eth = 0; /* the file names no account: not compared */
    g_mem[0].account[0] ^= 1;
    expect_cmp(1, NR_OK, NULL);
}

static void test_compare_system_differs(void **state)
{
    (void)state;
    build();
    g_sys.n = 5;
    g_sys.f = 2;
    expect_cmp(0, NR_ECHAIN, "n=3 f=1 in the file, n=5 f=2");
    build();
    memset(g_sys.measurement, 0xbb, 32);
    expect_cmp(0, NR_ECHAIN, "measurement");
    build();
    char err[256];
    assert_int_equal(nr_host_chain_compare(&g_sys, g_mem, 2, &g_m, 0, g_m.members[0].identity_pub,
                                           g_m.members[0].platform_id, err, sizeof err),
                     NR_ECHAIN);
    /* this SE registered at another index than its configured Index */
    build();
    struct nr_registry_member t = g_mem[0];
    g_mem[0] = g_mem[1];
    g_mem[1] = t;
    expect_cmp(0, NR_ECHAIN, "member 1 on chain but Index = 0");
    /* right identity on another platform: not this SE */
    build();
    assert_int_equal(nr_host_chain_compare(&g_sys, g_mem, 3, &g_m, 0, g_m.members[0].identity_pub,
                                           g_m.members[1].platform_id, err, sizeof err),
                     NR_ENOTMEMBER);
    /* a tiny error buffer is not overrun */
    build();
    g_mem[1].identity_key[0] ^= 1;
    char small[8];
    assert_int_equal(compare_as(0, small, sizeof small), NR_ECHAIN);
    assert_int_equal(small[sizeof small - 1], '\0');
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_chain_defaults),
        cmocka_unit_test(test_config_chain_errors),
        cmocka_unit_test(test_compare_equal),
        cmocka_unit_test(test_compare_member_differs),
        cmocka_unit_test(test_compare_system_differs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
