/* Integration: the NarratorRegistry contract and the C chain client against a real anvil.
 *
 * One anvil per run (started here on a free loopback port, stopped at the end), the contract
 * compiled by the build (solc-js) and deployed by the C client, state enclave accounts generated
 * with nr_eth_keygen and funded by the deployer. Each test uses its own system id. Gas used by
 * every step is printed ("GAS ...") for docs/chain.md. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "anvil_fixture.h"
#include "eth/registry.h"
#ifdef NR_TEST_WITH_TEE
#include <ftw.h>
#include <unistd.h>

#include "chan/identity.h"
#include "eth/chain_se.h"
#include "tee/tee.h"
#endif

#define N_SE 4

static struct {
    struct nr_anvil anvil;
    struct nr_registry *reg;
    uint8_t key0[32]; /* deployer, creator */
    uint8_t se_sk[N_SE][32];
    uint8_t se_addr[N_SE][20];
    uint8_t contract[20];
} G;

static void random_cb(void *arg, uint8_t *out, size_t len)
{
    (void)arg;
    randombytes_buf(out, len);
}

static void fill(uint8_t out[32], const char *label, unsigned i)
{
    char s[160];
    snprintf(s, sizeof s, "%s/%u", label, i);
    nr_keccak256(out, (const uint8_t *)s, strlen(s));
}

static struct nr_registry *open_reg(unsigned confirmations, unsigned timeout_ms)
{
    struct nr_registry_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.rpc.url = G.anvil.url;
    cfg.rpc.expect_chain_id = NR_ANVIL_CHAIN_ID;
    cfg.has_contract = 1;
    memcpy(cfg.contract, G.contract, 20);
    cfg.confirmations = confirmations;
    cfg.receipt_timeout_ms = timeout_ms;
    cfg.poll_ms = 50;
    struct nr_registry *reg = NULL;
    int rc = nr_registry_open(&reg, &cfg);
    if (rc != NR_OK)
        fprintf(stderr, "open: %s\n", nr_registry_errmsg(reg));
    assert_int_equal(rc, NR_OK);
    return reg;
}

static int group_setup(void **state)
{
    (void)state;
    if (sodium_init() < 0)
        return -1;
    if (nr_anvil_start(&G.anvil, NULL) != 0)
        return -1;
    size_t n = 0;
    if (nr_eth_hex_decode(G.key0, 32, &n, NR_ANVIL_KEY0) != NR_OK)
        return -1;
    struct nr_registry_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.rpc.url = G.anvil.url;
    cfg.rpc.expect_chain_id = NR_ANVIL_CHAIN_ID;
    cfg.poll_ms = 50;
    if (nr_registry_open(&G.reg, &cfg) != NR_OK) {
        fprintf(stderr, "open: %s\n", nr_registry_errmsg(G.reg));
        return -1;
    }
    size_t code_len = 0;
    char *code = nr_test_read_file(NR_REGISTRY_BIN, &code_len);
    if (code == NULL) {
        fprintf(stderr, "missing %s\n", NR_REGISTRY_BIN);
        return -1;
    }
    struct nr_eth_receipt r;
    int rc = nr_registry_deploy(G.reg, &r, G.contract, G.key0, (const uint8_t *)code, code_len);
    free(code);
    if (rc != NR_OK) {
        fprintf(stderr, "deploy: %s\n", nr_registry_errmsg(G.reg));
        return -1;
    }
    printf("GAS deploy=%" PRIu64 "\n", r.gas_used);
    for (unsigned i = 0; i < N_SE; i++) {
        /* Each state enclave's Ethereum key is generated as the TEE would, then funded. */
        if (nr_eth_keygen(G.se_sk[i], random_cb, NULL) != NR_OK ||
            nr_eth_address(G.se_addr[i], G.se_sk[i]) != NR_OK)
            return -1;
        nr_u256 ten_eth;
        if (nr_u256_parse(&ten_eth, "10000000000000000000") != NR_OK)
            return -1;
        if ((rc = nr_registry_transfer(G.reg, &r, G.key0, G.se_addr[i], &ten_eth)) != NR_OK) {
            fprintf(stderr, "fund: %s\n", nr_registry_errmsg(G.reg));
            return -1;
        }
        if (i == 0)
            printf("GAS fund=%" PRIu64 "\n", r.gas_used);
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    nr_registry_close(G.reg);
    nr_anvil_stop(&G.anvil);
    sodium_memzero(&G, sizeof G);
    return 0;
}

static void member_of(struct nr_registry_member *m, const char *sys, unsigned i)
{
    memset(m, 0, sizeof *m);
    char label[64];
    snprintf(label, sizeof label, "%s/platform", sys);
    fill(m->platform_id, label, i);
    snprintf(label, sizeof label, "%s/identity", sys);
    fill(m->identity_key, label, i);
    snprintf(label, sizeof label, "%s/evidence", sys);
    fill(m->evidence_hash, label, i);
}

static void create(struct nr_registry *reg, const char *sys, uint8_t id[32], uint8_t meas[32],
                   uint32_t n, uint32_t f)
{
    fill(id, sys, 0);
    fill(meas, "measurement", n);
    struct nr_eth_receipt r;
    int rc = nr_registry_create_system(reg, &r, G.key0, id, n, f, meas);
    if (rc != NR_OK)
        fprintf(stderr, "%s\n", nr_registry_errmsg(reg));
    assert_int_equal(rc, NR_OK);
    assert_int_equal(r.status, 1);
}

static void expect_revert(struct nr_registry *reg, int rc, const char *reason)
{
    printf("  rejected: %s\n", nr_registry_errmsg(reg));
    assert_int_equal(rc, NR_EREVERT);
    assert_string_equal(nr_registry_revert_reason(reg), reason);
    assert_non_null(strstr(nr_registry_errmsg(reg), reason));
}

/* Full initialisation: create, 3 x register (each SE from its own account), finalize, read
 * back and verify as a state enclave does before serving. */
static void test_full_init_three_members(void **state)
{
    (void)state;
    struct nr_registry *reg = G.reg;
    uint8_t id[32], meas[32];
    fill(id, "full", 0);
    fill(meas, "measurement", 3);

    /* First-initialisation check: the id is unused. */
    struct nr_registry_system sys;
    assert_int_equal(nr_registry_get_system(reg, &sys, id, NULL), NR_OK);
    assert_false(sys.exists);

    struct nr_eth_receipt r;
    assert_int_equal(nr_registry_create_system(reg, &r, G.key0, id, 3, 1, meas), NR_OK);
    printf("GAS createSystem=%" PRIu64 "\n", r.gas_used);
    uint64_t created_block = r.block_number;

    struct nr_registry_member m[3], back[NR_REGISTRY_MAX_MEMBERS];
    for (unsigned i = 0; i < 3; i++) {
        member_of(&m[i], "full", i);
        int rc = nr_registry_register_member(reg, &r, G.se_sk[i], id, &m[i]);
        if (rc != NR_OK)
            fprintf(stderr, "%s\n", nr_registry_errmsg(reg));
        assert_int_equal(rc, NR_OK);
        printf("GAS registerMember[%u]=%" PRIu64 "\n", i, r.gas_used);
    }
    /* Not finalised yet: an SE must refuse to serve. */
    size_t n_back = 0;
    assert_int_equal(nr_registry_verify(reg, &sys, back, NR_REGISTRY_MAX_MEMBERS, &n_back, id, meas),
                     NR_ECHAIN);
    printf("  before finalize: %s\n", nr_registry_errmsg(reg));

    assert_int_equal(nr_registry_finalize(reg, &r, G.key0, id), NR_OK);
    printf("GAS finalize=%" PRIu64 "\n", r.gas_used);

    int rc = nr_registry_verify(reg, &sys, back, NR_REGISTRY_MAX_MEMBERS, &n_back, id, meas);
    if (rc != NR_OK)
        fprintf(stderr, "%s\n", nr_registry_errmsg(reg));
    assert_int_equal(rc, NR_OK);
    assert_int_equal(n_back, 3);
    assert_true(sys.exists);
    assert_true(sys.finalized);
    assert_int_equal(sys.n, 3);
    assert_int_equal(sys.f, 1);
    assert_int_equal(sys.registered, 3);
    assert_int_equal(sys.created_block, created_block);
    assert_int_equal(sys.finalized_block, r.block_number);
    assert_memory_equal(sys.measurement, meas, 32);
    uint8_t creator[20];
    assert_int_equal(nr_eth_address(creator, G.key0), NR_OK);
    assert_memory_equal(sys.creator, creator, 20);
    for (unsigned i = 0; i < 3; i++) {
        assert_memory_equal(back[i].platform_id, m[i].platform_id, 32);
        assert_memory_equal(back[i].identity_key, m[i].identity_key, 32);
        assert_memory_equal(back[i].evidence_hash, m[i].evidence_hash, 32);
        assert_memory_equal(back[i].account, G.se_addr[i], 20);
    }
    /* Our members hash equals the contract's. */
    uint8_t h[32];
    nr_registry_members_hash(h, id, 3, 1, meas, m, 3);
    assert_memory_equal(h, sys.members_hash, 32);

    /* A different measurement is refused. */
    uint8_t other[32];
    fill(other, "other measurement", 0);
    assert_int_equal(nr_registry_verify(reg, &sys, back, NR_REGISTRY_MAX_MEMBERS, &n_back, id, other),
                     NR_EMEASUREMENT);
    /* Too little room for the members is an error, not an overflow. */
    assert_int_equal(nr_registry_verify(reg, &sys, back, 2, &n_back, id, meas), NR_EFULL);

    /* A finalised system is frozen. */
    struct nr_registry_member extra;
    member_of(&extra, "full", 9);
    expect_revert(reg, nr_registry_register_member(reg, &r, G.se_sk[3], id, &extra),
                  "system is finalized");
    expect_revert(reg, nr_registry_finalize(reg, &r, G.key0, id), "system is finalized");

    /* Events: one SystemCreated, three MemberRegistered, one SystemFinalized for this id. */
    const char *sigs[3] = {NR_REGISTRY_EVENT_CREATED, NR_REGISTRY_EVENT_REGISTERED,
                           NR_REGISTRY_EVENT_FINALIZED};
    size_t want[3] = {1, 3, 1};
    for (int k = 0; k < 3; k++) {
        uint8_t topic0[32];
        nr_keccak256(topic0, (const uint8_t *)sigs[k], strlen(sigs[k]));
        struct nr_eth_log *logs = NULL;
        size_t n_logs = 0;
        assert_int_equal(nr_rpc_get_logs(nr_registry_rpc(reg), &logs, &n_logs, G.contract, topic0,
                                         id, 0, UINT64_MAX),
                         NR_OK);
        assert_int_equal(n_logs, want[k]);
        for (size_t i = 0; i < n_logs; i++) {
            assert_memory_equal(logs[i].address, G.contract, 20);
            assert_memory_equal(logs[i].topics[1], id, 32);
        }
        if (k == 2) {
            /* SystemFinalized data: n, f, measurement, membersHash */
            assert_int_equal(logs[0].data_len, 4 * 32);
            assert_memory_equal(logs[0].data + 96, h, 32);
        }
        nr_rpc_logs_free(logs, n_logs);
    }
}

static void test_second_create_rejected(void **state)
{
    (void)state;
    uint8_t id[32], meas[32];
    create(G.reg, "double-create", id, meas, 3, 1);
    struct nr_eth_receipt r;
    /* Same id, even from another account and with other parameters. */
    expect_revert(G.reg, nr_registry_create_system(G.reg, &r, G.se_sk[0], id, 5, 2, meas),
                  "system already exists");
    expect_revert(G.reg, nr_registry_create_system(G.reg, &r, G.key0, id, 3, 1, meas),
                  "system already exists");
}

static void test_bad_parameters_rejected(void **state)
{
    (void)state;
    uint8_t id[32], meas[32], zero[32] = {0};
    fill(id, "bad-params", 0);
    fill(meas, "m", 0);
    struct nr_eth_receipt r;
    expect_revert(G.reg, nr_registry_create_system(G.reg, &r, G.key0, id, 4, 1, meas),
                  "n must equal 2f+1");
    expect_revert(G.reg, nr_registry_create_system(G.reg, &r, G.key0, zero, 3, 1, meas),
                  "system id must not be zero");
    expect_revert(G.reg, nr_registry_create_system(G.reg, &r, G.key0, id, 3, 1, zero),
                  "measurement must not be zero");
    struct nr_registry_member m;
    member_of(&m, "bad-params", 0);
    expect_revert(G.reg, nr_registry_register_member(G.reg, &r, G.se_sk[0], id, &m),
                  "no such system");
}

static void test_second_registration_same_platform_rejected(void **state)
{
    (void)state;
    uint8_t id[32], meas[32];
    create(G.reg, "double-platform", id, meas, 3, 1);
    struct nr_registry_member m;
    member_of(&m, "double-platform", 0);
    struct nr_eth_receipt r;
    assert_int_equal(nr_registry_register_member(G.reg, &r, G.se_sk[0], id, &m), NR_OK);
    /* The same platform again, from another account and with another identity key. */
    struct nr_registry_member again = m;
    fill(again.identity_key, "another identity", 0);
    expect_revert(G.reg, nr_registry_register_member(G.reg, &r, G.se_sk[1], id, &again),
                  "platform already registered");
    /* Another platform reusing the identity key. */
    struct nr_registry_member reuse = m;
    fill(reuse.platform_id, "another platform", 0);
    expect_revert(G.reg, nr_registry_register_member(G.reg, &r, G.se_sk[1], id, &reuse),
                  "identity key already registered");
    /* At most n slots. */
    for (unsigned i = 1; i < 3; i++) {
        member_of(&m, "double-platform", i);
        assert_int_equal(nr_registry_register_member(G.reg, &r, G.se_sk[i], id, &m), NR_OK);
    }
    member_of(&m, "double-platform", 3);
    expect_revert(G.reg, nr_registry_register_member(G.reg, &r, G.se_sk[3], id, &m),
                  "membership is full");
}

static void test_finalize_by_non_creator_rejected(void **state)
{
    (void)state;
    uint8_t id[32], meas[32];
    create(G.reg, "non-creator", id, meas, 1, 0);
    struct nr_eth_receipt r;
    expect_revert(G.reg, nr_registry_finalize(G.reg, &r, G.key0, id), "membership is incomplete");
    struct nr_registry_member m;
    member_of(&m, "non-creator", 0);
    assert_int_equal(nr_registry_register_member(G.reg, &r, G.se_sk[0], id, &m), NR_OK);
    expect_revert(G.reg, nr_registry_finalize(G.reg, &r, G.se_sk[0], id),
                  "only the creator can finalize");
    struct nr_registry_system sys;
    assert_int_equal(nr_registry_get_system(G.reg, &sys, id, NULL), NR_OK);
    assert_false(sys.finalized);
    assert_int_equal(nr_registry_finalize(G.reg, &r, G.key0, id), NR_OK);
    printf("GAS finalize(n=1)=%" PRIu64 "\n", r.gas_used);
}

/* A transaction that is mined and reverts (gas limit given, so no estimate screens it): the
 * receipt has status 0 and the reason is recovered by replaying the call. */
static void test_mined_revert_has_reason(void **state)
{
    (void)state;
    uint8_t id[32], meas[32];
    create(G.reg, "mined-revert", id, meas, 3, 1);
    struct nr_abi_arg a[4];
    memset(a, 0, sizeof a);
    a[0].type = NR_ABI_BYTES32;
    memcpy(a[0].b32, id, 32);
    a[1].type = NR_ABI_UINT256;
    nr_u256_from_u64(&a[1].u, 3);
    a[2].type = NR_ABI_UINT256;
    nr_u256_from_u64(&a[2].u, 1);
    a[3].type = NR_ABI_BYTES32;
    memcpy(a[3].b32, meas, 32);
    struct nr_abi_buf buf = {0};
    assert_int_equal(nr_abi_encode_call(&buf, NR_REGISTRY_SIG_CREATE, a, 4), NR_OK);
    struct nr_eth_receipt r;
    memset(&r, 0, sizeof r);
    int rc = nr_registry_send(G.reg, &r, G.key0, G.contract, NULL, buf.p, buf.len, 200000);
    free(buf.p);
    expect_revert(G.reg, rc, "system already exists");
    assert_int_equal(r.status, 0);
    assert_true(r.block_number > 0);
    printf("GAS reverted createSystem=%" PRIu64 "\n", r.gas_used);
}

static void test_wrong_chain_id(void **state)
{
    (void)state;
    struct nr_registry_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.rpc.url = G.anvil.url;
    cfg.rpc.expect_chain_id = 1; /* mainnet expected, devnet found */
    cfg.has_contract = 1;
    memcpy(cfg.contract, G.contract, 20);
    struct nr_registry *reg = NULL;
    assert_int_equal(nr_registry_open(&reg, &cfg), NR_ECHAINID);
    printf("  %s\n", nr_registry_errmsg(reg));
    assert_non_null(strstr(nr_registry_errmsg(reg), "31337"));
    nr_registry_close(reg);

    /* A transaction signed for another chain is refused by the node. */
    struct nr_eth_tx tx;
    memset(&tx, 0, sizeof tx);
    tx.type = 2;
    tx.chain_id = 5;
    tx.gas_limit = 21000;
    nr_u256_from_u64(&tx.max_fee, 10000000000u);
    nr_u256_from_u64(&tx.max_priority_fee, 1000000000u);
    tx.has_to = 1;
    memcpy(tx.to, G.se_addr[3], 20);
    uint8_t *raw = NULL, hash[32];
    size_t raw_len = 0;
    assert_int_equal(nr_eth_tx_sign(&raw, &raw_len, hash, &tx, G.se_sk[3]), NR_OK);
    int rc = nr_rpc_send_raw(nr_registry_rpc(G.reg), hash, raw, raw_len);
    free(raw);
    printf("  wrong-chain tx: %s (%s)\n", nr_errname(rc), nr_rpc_errmsg(nr_registry_rpc(G.reg)));
    assert_int_equal(rc, NR_ERPC);

    /* A registry address with no code behind it. */
    memset(&cfg, 0, sizeof cfg);
    cfg.rpc.url = G.anvil.url;
    cfg.has_contract = 1;
    memset(cfg.contract, 0x42, 20);
    assert_int_equal(nr_registry_open(&reg, &cfg), NR_ECHAIN);
    printf("  %s\n", nr_registry_errmsg(reg));
    nr_registry_close(reg);
}

static void test_nonce_too_low(void **state)
{
    (void)state;
    struct nr_rpc *rpc = nr_registry_rpc(G.reg);
    uint64_t nonce = 0;
    assert_int_equal(nr_rpc_nonce(rpc, &nonce, G.se_addr[2], "pending"), NR_OK);
    assert_true(nonce > 0); /* it registered members above */
    struct nr_eth_tx tx;
    memset(&tx, 0, sizeof tx);
    tx.type = 0;
    tx.chain_id = NR_ANVIL_CHAIN_ID;
    tx.nonce = 0; /* used */
    tx.gas_limit = 21000;
    assert_int_equal(nr_rpc_gas_price(rpc, &tx.gas_price), NR_OK);
    tx.has_to = 1;
    memcpy(tx.to, G.se_addr[0], 20);
    uint8_t *raw = NULL, hash[32];
    size_t raw_len = 0;
    assert_int_equal(nr_eth_tx_sign(&raw, &raw_len, hash, &tx, G.se_sk[2]), NR_OK);
    int rc = nr_rpc_send_raw(rpc, hash, raw, raw_len);
    free(raw);
    printf("  %s\n", nr_rpc_errmsg(rpc));
    assert_int_equal(rc, NR_ENONCE);
    /* The registry path fetches the pending nonce and succeeds. */
    nr_u256 one;
    nr_u256_from_u64(&one, 1);
    struct nr_eth_receipt r;
    assert_int_equal(nr_registry_transfer(G.reg, &r, G.se_sk[2], G.se_addr[0], &one), NR_OK);
}

/* With automine off a transaction stays pending: waiting for its receipt ends with a clear
 * timeout ("still pending"); once the node drops it, the error says "dropped". */
static void test_missing_receipt_and_dropped_transaction(void **state)
{
    (void)state;
    struct nr_rpc *rpc = nr_registry_rpc(G.reg);
    cJSON *res = NULL;
    assert_int_equal(nr_rpc_call(rpc, &res, "evm_setAutomine", "[false]"), NR_OK);
    cJSON_Delete(res);

    uint64_t nonce = 0;
    assert_int_equal(nr_rpc_nonce(rpc, &nonce, G.se_addr[3], "pending"), NR_OK);
    struct nr_eth_tx tx;
    memset(&tx, 0, sizeof tx);
    tx.type = 0;
    tx.chain_id = NR_ANVIL_CHAIN_ID;
    tx.nonce = nonce;
    tx.gas_limit = 21000;
    assert_int_equal(nr_rpc_gas_price(rpc, &tx.gas_price), NR_OK);
    tx.has_to = 1;
    memcpy(tx.to, G.se_addr[0], 20);
    uint8_t *raw = NULL, hash[32];
    size_t raw_len = 0;
    assert_int_equal(nr_eth_tx_sign(&raw, &raw_len, hash, &tx, G.se_sk[3]), NR_OK);
    uint8_t got[32];
    assert_int_equal(nr_rpc_send_raw(rpc, got, raw, raw_len), NR_OK);
    assert_memory_equal(got, hash, 32);
    /* Sending the same bytes again is harmless ("already known" counts as sent). */
    int again = nr_rpc_send_raw(rpc, got, raw, raw_len);
    printf("  resend: %s %s\n", nr_errname(again), nr_rpc_errmsg(rpc));
    assert_int_equal(again, NR_OK);
    free(raw);

    struct nr_eth_receipt r;
    uint64_t t0 = nr_test_now_ms();
    assert_int_equal(nr_rpc_receipt(rpc, &r, hash), NR_ENOTFOUND);
    assert_int_equal(nr_rpc_wait_receipt(rpc, &r, hash, 400, 50), NR_ETIMEDOUT);
    printf("  %s\n", nr_rpc_errmsg(rpc));
    assert_non_null(strstr(nr_rpc_errmsg(rpc), "still pending"));

    char params[80], hex[67];
    assert_int_equal(nr_eth_hex_encode(hex, sizeof hex, hash, 32), NR_OK);
    snprintf(params, sizeof params, "[\"%s\"]", hex);
    assert_int_equal(nr_rpc_call(rpc, &res, "anvil_dropTransaction", params), NR_OK);
    cJSON_Delete(res);
    assert_int_equal(nr_rpc_wait_receipt(rpc, &r, hash, 400, 50), NR_ETIMEDOUT);
    printf("  %s\n", nr_rpc_errmsg(rpc));
    assert_non_null(strstr(nr_rpc_errmsg(rpc), "dropped"));
    /* Never a hang: both waits together are bounded by their timeouts plus a few requests. */
    assert_true(nr_test_now_ms() - t0 < 30000);

    assert_int_equal(nr_rpc_call(rpc, &res, "evm_setAutomine", "[true]"), NR_OK);
    cJSON_Delete(res);
}

/* Confirmations: with 3 required and no new blocks, the wait ends with a clear timeout; after
 * two more blocks the same receipt is confirmed, and views read at the confirmed head. */
static void test_confirmations(void **state)
{
    (void)state;
    cJSON *res = NULL;
    assert_int_equal(nr_rpc_call(nr_registry_rpc(G.reg), &res, "evm_setAutomine", "[true]"), NR_OK);
    cJSON_Delete(res);
    struct nr_registry *reg = open_reg(3, 600);
    uint8_t id[32], meas[32];
    fill(id, "confirm", 0);
    fill(meas, "measurement", 1);
    struct nr_eth_receipt r;
    memset(&r, 0, sizeof r);
    int rc = nr_registry_create_system(reg, &r, G.key0, id, 1, 0, meas);
    printf("  %s\n", nr_registry_errmsg(reg));
    assert_int_equal(rc, NR_ETIMEDOUT);
    assert_non_null(strstr(nr_registry_errmsg(reg), "confirmations"));
    assert_int_equal(r.status, 1);

    /* Not yet visible at the confirmed head, but visible at latest. */
    struct nr_registry_system sys;
    assert_int_equal(nr_registry_get_system(reg, &sys, id, NULL), NR_OK);
    assert_false(sys.exists);
    assert_int_equal(nr_registry_get_system(reg, &sys, id, "latest"), NR_OK);
    assert_true(sys.exists);

    assert_int_equal(nr_rpc_call(nr_registry_rpc(reg), &res, "anvil_mine", "[\"0x2\"]"), NR_OK);
    cJSON_Delete(res);
    assert_int_equal(nr_rpc_wait_confirmations(nr_registry_rpc(reg), &r, 3, 2000, 50), NR_OK);
    assert_int_equal(nr_registry_get_system(reg, &sys, id, NULL), NR_OK);
    assert_true(sys.exists);
    nr_registry_close(reg);
}

/* A reorganisation that removes a mined transaction (evm_snapshot / evm_revert, then new
 * blocks) is detected while waiting for confirmations. */
static void test_reorg_while_confirming(void **state)
{
    (void)state;
    struct nr_rpc *rpc = nr_registry_rpc(G.reg);
    cJSON *snap = NULL, *res = NULL;
    assert_int_equal(nr_rpc_call(rpc, &snap, "evm_snapshot", "[]"), NR_OK);
    assert_true(cJSON_IsString(snap));
    nr_u256 one;
    nr_u256_from_u64(&one, 1);
    struct nr_eth_receipt r;
    assert_int_equal(nr_registry_transfer(G.reg, &r, G.key0, G.se_addr[1], &one), NR_OK);
    char params[96];
    snprintf(params, sizeof params, "[\"%s\"]", snap->valuestring);
    cJSON_Delete(snap);
    assert_int_equal(nr_rpc_call(rpc, &res, "evm_revert", params), NR_OK);
    assert_true(cJSON_IsTrue(res));
    cJSON_Delete(res);
    assert_int_equal(nr_rpc_call(rpc, &res, "anvil_mine", "[\"0x3\"]"), NR_OK);
    cJSON_Delete(res);
    assert_int_equal(nr_rpc_wait_confirmations(rpc, &r, 2, 2000, 50), NR_ECHAIN);
    printf("  %s\n", nr_rpc_errmsg(rpc));
    assert_non_null(strstr(nr_rpc_errmsg(rpc), "reorganisation"));
}

static void test_views_of_unknown_things(void **state)
{
    (void)state;
    uint8_t id[32];
    fill(id, "never-created", 0);
    struct nr_registry_system sys;
    assert_int_equal(nr_registry_get_system(G.reg, &sys, id, NULL), NR_OK);
    assert_false(sys.exists);
    struct nr_registry_member m;
    int rc = nr_registry_get_member(G.reg, &m, id, 0, NULL);
    printf("  %s\n", nr_registry_errmsg(G.reg));
    assert_int_equal(rc, NR_EREVERT);
    assert_string_equal(nr_registry_revert_reason(G.reg), "no such member");
    struct nr_registry_member back[4];
    size_t n = 0;
    assert_int_equal(nr_registry_verify(G.reg, &sys, back, 4, &n, id, NULL), NR_ECHAIN);
    printf("  %s\n", nr_registry_errmsg(G.reg));
}

/* Unreachable endpoint: a clear error quickly, after exactly 1 + retries attempts with
 * backoff. */
static void test_unreachable_endpoint(void **state)
{
    (void)state;
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", nr_test_free_port());
    struct nr_rpc_config cfg = {.url = url, .retries = 3, .backoff_ms = 50, .connect_timeout_ms = 500};
    struct nr_rpc *rpc = NULL;
    uint64_t t0 = nr_test_now_ms();
    assert_int_equal(nr_rpc_open(&rpc, &cfg), NR_OK); /* no chain id check: no request yet */
    uint64_t id = 0;
    assert_int_equal(nr_rpc_chain_id(rpc, &id), NR_EUNREACHABLE);
    uint64_t elapsed = nr_test_now_ms() - t0;
    printf("  %s (%" PRIu64 " ms)\n", nr_rpc_errmsg(rpc), elapsed);
    assert_int_equal(nr_rpc_attempts(rpc), 4);
    assert_non_null(strstr(nr_rpc_errmsg(rpc), "4 attempts"));
    assert_true(elapsed >= 50 + 100 + 200); /* the backoff really happened */
    nr_rpc_close(rpc);

    /* Through the registry: the open fails with the same clear error. */
    struct nr_registry_config rc_cfg;
    memset(&rc_cfg, 0, sizeof rc_cfg);
    rc_cfg.rpc = cfg;
    rc_cfg.rpc.expect_chain_id = NR_ANVIL_CHAIN_ID;
    rc_cfg.rpc.retries = NR_RPC_NO_RETRY;
    struct nr_registry *reg = NULL;
    assert_int_equal(nr_registry_open(&reg, &rc_cfg), NR_EUNREACHABLE);
    printf("  %s\n", nr_registry_errmsg(reg));
    assert_non_null(strstr(nr_registry_errmsg(reg), url));
    nr_registry_close(reg);
}

/* The signatures the C bindings use are the contract's (solc's method identifiers). */
static void test_selectors_match_compiled_abi(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s", NR_REGISTRY_BIN);
    char *dot = strrchr(path, '.');
    assert_non_null(dot);
    snprintf(dot, sizeof path - (size_t)(dot - path), ".json");
    size_t len = 0;
    char *text = nr_test_read_file(path, &len);
    assert_non_null(text);
    cJSON *root = cJSON_ParseWithLength(text, len);
    free(text);
    assert_non_null(root);
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(root, "methodIdentifiers");
    const char *sigs[] = {NR_REGISTRY_SIG_CREATE, NR_REGISTRY_SIG_REGISTER, NR_REGISTRY_SIG_FINALIZE,
                          NR_REGISTRY_SIG_GET_SYSTEM, NR_REGISTRY_SIG_GET_MEMBER};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(ids, sigs[i]);
        if (!cJSON_IsString(id))
            fail_msg("%s is not a function of the compiled contract", sigs[i]);
        uint8_t sel[4];
        char hex[11];
        nr_abi_selector(sel, sigs[i]);
        assert_int_equal(nr_eth_hex_encode(hex, sizeof hex, sel, 4), NR_OK);
        assert_string_equal(hex + 2, id->valuestring);
    }
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(root, "evmVersion")->valuestring, "paris");
    cJSON_Delete(root);
}

static void test_chain_ini(void **state)
{
    (void)state;
    struct nr_chain_ini ini;
    char err[256];
    const char *good = "# devnet\n[Chain]\nRpcUrl = http://127.0.0.1:8545\nChainId = 31337\n"
                       "Contract = 0x5FbDB2315678afecb367f032d93F642f64180aa3\nConfirmations = 2\n";
    assert_int_equal(nr_chain_ini_parse(&ini, "chain.ini", good, strlen(good), err, sizeof err), NR_OK);
    assert_string_equal(ini.rpc_url, "http://127.0.0.1:8545");
    assert_int_equal(ini.chain_id, 31337);
    assert_true(ini.has_contract);
    assert_int_equal(ini.contract[0], 0x5f);
    assert_int_equal(ini.confirmations, 2);
    static const struct {
        const char *text, *err;
    } bad[] = {
        {"[Chain]\nRpcUrl = http://x\n", "chain.ini: [Chain] needs RpcUrl and ChainId"},
        {"[Chain]\nRpcUrl = ftp://x\nChainId = 1\n", "chain.ini:2: RpcUrl: must start with http:// or https://"},
        {"[Chain]\nRpcUrl = http://x\nChainId = 0\n", "chain.ini:3: ChainId: expected a positive integer"},
        {"[Chain]\nRpcUrl = http://x\nChainId = 1\nChainId = 2\n", "chain.ini:4: ChainId: duplicate key"},
        {"[Chain]\nRpcUrl = http://x\nChainId = 1\nContract = 0x1234\n",
         "chain.ini:4: Contract: expected a 0x-prefixed 20-byte address"},
        {"[Node]\nIndex = 1\n", "chain.ini:2: Node: unknown section (expected [Chain])"},
        {"[Chain]\nColour = red\n", "chain.ini:2: Colour: unknown key"},
        {"[Chain]\nRpcUrl = http://x\nChainId = 99999999999999999999999\n",
         "chain.ini:3: ChainId: expected a positive integer"},
        {"[Chain\n", "chain.ini:1: syntax error"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(nr_chain_ini_parse(&ini, "chain.ini", bad[i].text, strlen(bad[i].text), err,
                                            sizeof err),
                         NR_ECONFIG);
        assert_string_equal(err, bad[i].err);
    }
}

#ifdef NR_TEST_WITH_TEE
static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* The real path: each SE's Ethereum key is generated inside its (sim) TEE and sealed in its
 * identity; it registers from that account with its TEE platform id, identity key and an
 * evidence hash; a second identity on the same platform (a clone, or a second SE instance on
 * one CPU) cannot take a second slot (S4). */
static void test_tee_backed_registration(void **state)
{
    (void)state;
    char dir[256], root[300], plat[3][300], idf[4][300];
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/nr-chain-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(dir));
    snprintf(root, sizeof root, "%s/root", dir);
    assert_int_equal(nr_tee_sim_root_create(root), NR_OK);
    struct nr_chain_se_opts se[4];
    uint8_t pubs[4][32], addrs[4][20];
    char err[600];
    for (int i = 0; i < 4; i++) {
        int p = i < 3 ? i : 0; /* the fourth identity lives on platform 0 */
        snprintf(plat[p], sizeof plat[p], "%s/p%d", dir, p);
        if (i < 3)
            assert_int_equal(nr_tee_sim_platform_create(plat[p], root), NR_OK);
        snprintf(idf[i], sizeof idf[i], "%s/identity%d", dir, i);
        struct nr_tee *tee = NULL;
        assert_int_equal(nr_tee_open(&tee, "sim", plat[p], "narrator-se/1"), NR_OK);
        struct nr_identity id;
        assert_int_equal(nr_identity_create(tee, idf[i], &id), NR_OK);
        memcpy(pubs[i], id.pub, 32);
        assert_false(id.has_eth);
        nr_identity_wipe(&id);
        nr_tee_close(tee);
        se[i] = (struct nr_chain_se_opts){.backend = "sim", .platform_dir = plat[p],
                                          .identity_file = idf[i], .code_identity = "narrator-se/1"};
        int created = 0;
        assert_int_equal(nr_chain_se_key(&se[i], addrs[i], &created, err, sizeof err), NR_OK);
        assert_true(created);
        uint8_t again[20];
        assert_int_equal(nr_chain_se_key(&se[i], again, &created, err, sizeof err), NR_OK);
        assert_false(created); /* the sealed key is kept */
        assert_memory_equal(again, addrs[i], 20);
        nr_u256 one_eth;
        assert_int_equal(nr_u256_parse(&one_eth, "1000000000000000000"), NR_OK);
        struct nr_eth_receipt r;
        assert_int_equal(nr_registry_transfer(G.reg, &r, G.key0, addrs[i], &one_eth), NR_OK);
    }
    /* The identity cannot be used on another platform (sealed), so the key stays there. */
    struct nr_chain_se_opts moved = se[1];
    moved.platform_dir = plat[2];
    uint8_t a[20];
    int created = 0;
    assert_int_equal(nr_chain_se_key(&moved, a, &created, err, sizeof err), NR_EUNSEAL);

    uint8_t sys_id[32], meas[32];
    fill(sys_id, "tee-backed", 0);
    nr_tee_measure("sim", "narrator-se/1", meas);
    struct nr_eth_receipt r;
    assert_int_equal(nr_registry_create_system(G.reg, &r, G.key0, sys_id, 3, 1, meas), NR_OK);
    struct nr_registry_member m[4];
    const int order[4] = {0, 3, 1, 2}; /* the clone on platform 0 tries while slots are free */
    for (int k = 0; k < 4; k++) {
        int i = order[k];
        int rc = nr_chain_se_register(&se[i], G.reg, &r, &m[i], sys_id, err, sizeof err);
        if (i == 3) {
            printf("  second identity on platform 0: %s\n", err);
            assert_int_equal(rc, NR_EREVERT);
            assert_non_null(strstr(err, "platform already registered"));
            continue;
        }
        if (rc != NR_OK)
            fprintf(stderr, "%s\n", err);
        assert_int_equal(rc, NR_OK);
    }
    assert_int_equal(nr_registry_finalize(G.reg, &r, G.key0, sys_id), NR_OK);

    struct nr_registry_system sys;
    struct nr_registry_member back[3];
    size_t n = 0;
    assert_int_equal(nr_registry_verify(G.reg, &sys, back, 3, &n, sys_id, meas), NR_OK);
    assert_int_equal(n, 3);
    for (int i = 0; i < 3; i++) {
        struct nr_tee *tee = NULL;
        uint8_t pid[32];
        assert_int_equal(nr_tee_open(&tee, "sim", plat[i], "narrator-se/1"), NR_OK);
        nr_tee_platform_id(tee, pid);
        nr_tee_close(tee);
        assert_memory_equal(back[i].platform_id, pid, 32);
        assert_memory_equal(back[i].identity_key, pubs[i], 32);
        assert_memory_equal(back[i].evidence_hash, m[i].evidence_hash, 32);
        assert_memory_equal(back[i].account, addrs[i], 20);
    }
    assert_int_equal(nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS), 0);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_init_three_members),
        cmocka_unit_test(test_second_create_rejected),
        cmocka_unit_test(test_bad_parameters_rejected),
        cmocka_unit_test(test_second_registration_same_platform_rejected),
        cmocka_unit_test(test_finalize_by_non_creator_rejected),
        cmocka_unit_test(test_mined_revert_has_reason),
        cmocka_unit_test(test_wrong_chain_id),
        cmocka_unit_test(test_nonce_too_low),
        cmocka_unit_test(test_missing_receipt_and_dropped_transaction),
        cmocka_unit_test(test_confirmations),
        cmocka_unit_test(test_reorg_while_confirming),
        cmocka_unit_test(test_views_of_unknown_things),
        cmocka_unit_test(test_unreachable_endpoint),
        cmocka_unit_test(test_chain_ini),
        cmocka_unit_test(test_selectors_match_compiled_abi),
#ifdef NR_TEST_WITH_TEE
        cmocka_unit_test(test_tee_backed_registration),
#endif
    };
    return cmocka_run_group_tests_name("chain_registry", tests, group_setup, group_teardown);
}
