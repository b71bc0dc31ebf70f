/* Integration: the genesis record on a real anvil (contracts/NarratorRegistry.sol recordGenesis,
 * src/eth/registry.c), the storage layout the verifier relies on (eth_getStorageAt against the
 * views), and the host's chain-evidence fetcher + verifier (src/host/chain_evidence.c,
 * src/eth/evidence.c) with two endpoints on one chain (agree) and on two chains (refused).
 * Members are TEE-backed (sim): their Ethereum keys are generated in the TEE and sealed in their
 * identities, and they post the genesis from those accounts. Gas lines: "GAS ...". */
#define _XOPEN_SOURCE 700 /* nftw */
#include <ftw.h>
#include <inttypes.h>
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

#include "anvil_fixture.h"
#include "chan/identity.h"
#include "eth/chain_se.h"
#include "eth/evidence.h"
#include "eth/registry.h"
#include "host/chain_evidence.h"
#include "tee/file.h"
#include "tee/tee.h"

#define N_MEMBERS 5

static struct {
    struct nr_anvil a, b; /* two independent chains */
    uint8_t key0[32];
    uint8_t contract[20];
    char dir[256];
    char plat[N_MEMBERS][300], idf[N_MEMBERS][300];
    struct nr_chain_se_opts se[N_MEMBERS];
    uint8_t addr[N_MEMBERS][20];
    uint8_t outsider_sk[32], outsider[20];
} G;

static void random_cb(void *arg, uint8_t *out, size_t len)
{
    (void)arg;
    randombytes_buf(out, len);
}

static void fill(uint8_t out[32], const char *label)
{
    nr_keccak256(out, (const uint8_t *)label, strlen(label));
}

static struct nr_registry *open_reg(const char *url, int with_contract)
{
    struct nr_registry_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.rpc.url = url;
    cfg.rpc.expect_chain_id = NR_ANVIL_CHAIN_ID;
    cfg.has_contract = with_contract;
    memcpy(cfg.contract, G.contract, 20);
    cfg.poll_ms = 50;
    struct nr_registry *reg = NULL;
    int rc = nr_registry_open(&reg, &cfg);
    if (rc != NR_OK)
        fprintf(stderr, "open %s: %s\n", url, nr_registry_errmsg(reg));
    assert_int_equal(rc, NR_OK);
    return reg;
}

static int deploy(const char *url, uint8_t addr[20])
{
    struct nr_registry *reg = NULL;
    struct nr_registry_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.rpc.url = url;
    cfg.rpc.expect_chain_id = NR_ANVIL_CHAIN_ID;
    cfg.poll_ms = 50;
    if (nr_registry_open(&reg, &cfg) != NR_OK)
        return -1;
    size_t code_len = 0;
    char *code = nr_test_read_file(NR_REGISTRY_BIN, &code_len);
    struct nr_eth_receipt r;
    int rc = code ? nr_registry_deploy(reg, &r, addr, G.key0, (const uint8_t *)code, code_len)
                  : NR_ENOTFOUND;
    free(code);
    if (rc != NR_OK)
        fprintf(stderr, "deploy: %s\n", nr_registry_errmsg(reg));
    nr_registry_close(reg);
    return rc == NR_OK ? 0 : -1;
}

static int group_setup(void **state)
{
    (void)state;
    if (sodium_init() < 0 || nr_anvil_start(&G.a, NULL) != 0 || nr_anvil_start(&G.b, NULL) != 0)
        return -1;
    size_t n = 0;
    if (nr_eth_hex_decode(G.key0, 32, &n, NR_ANVIL_KEY0) != NR_OK)
        return -1;
    uint8_t other[20];
    if (deploy(G.a.url, G.contract) != 0 || deploy(G.b.url, other) != 0)
        return -1;
    if (memcmp(other, G.contract, 20) != 0) /* same deployer, same nonce: same address */
        return -1;
    /* TEE-backed members: identity + Ethereum key sealed on their own platform, funded. */
    const char *tmp = getenv("TMPDIR");
    snprintf(G.dir, sizeof G.dir, "%s/nr-genesis-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(G.dir) == NULL)
        return -1;
    char root[300], err[600];
    snprintf(root, sizeof root, "%s/root", G.dir);
    if (nr_tee_sim_root_create(root) != NR_OK)
        return -1;
    struct nr_registry *reg = open_reg(G.a.url, 1);
    nr_u256 one;
    if (nr_u256_parse(&one, "1000000000000000000") != NR_OK)
        return -1;
    for (int i = 0; i < N_MEMBERS; i++) {
        snprintf(G.plat[i], sizeof G.plat[i], "%s/p%d", G.dir, i);
        snprintf(G.idf[i], sizeof G.idf[i], "%s/identity%d", G.dir, i);
        struct nr_tee *tee = NULL;
        if (nr_tee_sim_platform_create(G.plat[i], root) != NR_OK ||
            nr_tee_open(&tee, "sim", G.plat[i], "narrator-se/1") != NR_OK ||
            nr_identity_create(tee, G.idf[i], NULL) != NR_OK)
            return -1;
        nr_tee_close(tee);
        G.se[i] = (struct nr_chain_se_opts){.backend = "sim",
                                            .platform_dir = G.plat[i],
                                            .identity_file = G.idf[i],
                                            .code_identity = "narrator-se/1"};
        int created = 0;
        struct nr_eth_receipt r;
        if (nr_chain_se_key(&G.se[i], G.addr[i], &created, err, sizeof err) != NR_OK ||
            nr_registry_transfer(reg, &r, G.key0, G.addr[i], &one) != NR_OK)
            return -1;
    }
    if (nr_eth_keygen(G.outsider_sk, random_cb, NULL) != NR_OK ||
        nr_eth_address(G.outsider, G.outsider_sk) != NR_OK)
        return -1;
    struct nr_eth_receipt r;
    if (nr_registry_transfer(reg, &r, G.key0, G.outsider, &one) != NR_OK)
        return -1;
    nr_registry_close(reg);
    return 0;
}

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int group_teardown(void **state)
{
    (void)state;
    nr_anvil_stop(&G.a);
    nr_anvil_stop(&G.b);
    if (G.dir[0])
        nftw(G.dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

/* create + register members [0, n) with their TEE keys (+ finalize if asked). */
static void make_system(struct nr_registry *reg, const uint8_t sys[32], uint32_t n, int finalize)
{
    uint8_t meas[32];
    fill(meas, "genesis-test-measurement");
    struct nr_eth_receipt r;
    assert_int_equal(nr_registry_create_system(reg, &r, G.key0, sys, n, (n - 1) / 2, meas), NR_OK);
    char err[600];
    for (uint32_t i = 0; i < n; i++) {
        struct nr_registry_member m;
        int rc = nr_chain_se_register(&G.se[i], reg, &r, &m, sys, err, sizeof err);
        if (rc != NR_OK)
            fprintf(stderr, "register %u: %s\n", i, err);
        assert_int_equal(rc, NR_OK);
    }
    if (finalize)
        assert_int_equal(nr_registry_finalize(reg, &r, G.key0, sys), NR_OK);
}

static void founders_of(uint8_t out[NR_GENESIS_FOUNDERS_BYTES], uint32_t n, uint64_t salt)
{
    struct nr_founder f[NR_GENESIS_MAX_FOUNDERS];
    for (uint32_t j = 0; j < n; j++)
        f[j] = (struct nr_founder){.inc = salt + j, .nonce = (salt << 20) ^ j};
    assert_int_equal(nr_genesis_founders_pack(out, f, n), NR_OK);
}

static struct nr_host_chain host_cfg(const char *const *urls, unsigned m, unsigned k)
{
    struct nr_host_chain c;
    memset(&c, 0, sizeof c);
    c.enabled = 1;
    for (unsigned i = 0; i < m; i++)
        snprintf(c.rpc_urls[i], sizeof c.rpc_urls[i], "%s", urls[i]);
    snprintf(c.rpc_url, sizeof c.rpc_url, "%s", urls[0]);
    c.n_rpc_urls = m;
    c.agree = k;
    c.chain_id = NR_ANVIL_CHAIN_ID;
    memcpy(c.contract, G.contract, 20);
    c.confirmations = 1;
    c.required = 1;
    c.start_timeout_ms = 10000;
    return c;
}

static void expect_revert(int rc, struct nr_registry *reg, const char *reason)
{
    if (rc != NR_EREVERT || strcmp(nr_registry_revert_reason(reg), reason) != 0)
        fprintf(stderr, "want revert '%s', got %s: %s\n", reason, nr_errname(rc),
                nr_registry_errmsg(reg));
    assert_int_equal(rc, NR_EREVERT);
    assert_string_equal(nr_registry_revert_reason(reg), reason);
}

static void test_record_genesis(void **state)
{
    (void)state;
    struct nr_registry *reg = open_reg(G.a.url, 1);
    uint8_t sys[32], founders[NR_GENESIS_FOUNDERS_BYTES], gid[32], bad[32];
    fill(sys, "genesis-system-n3");
    founders_of(founders, 3, 100);
    nr_genesis_packed_id(gid, sys, 1, 3, founders, NULL, NULL);
    struct nr_eth_receipt r;
    struct nr_tee *tee = NULL;
    struct nr_identity id;
    make_system(reg, sys, 3, 0);
    assert_int_equal(nr_tee_open(&tee, "sim", G.plat[1], "narrator-se/1"), NR_OK);
    assert_int_equal(nr_identity_load(tee, G.idf[1], &id), NR_OK);
    nr_tee_close(tee);

    /* before finalize */
    expect_revert(nr_registry_record_genesis(reg, &r, id.eth_sk, sys, 1, gid, founders), reg,
                  "system is not finalized");
    assert_int_equal(nr_registry_finalize(reg, &r, G.key0, sys), NR_OK);
    /* a non-member, the creator (not a member either), a bad id, epoch 2, zero id */
    expect_revert(nr_registry_record_genesis(reg, &r, G.outsider_sk, sys, 1, gid, founders), reg,
                  "only a member can record the genesis");
    expect_revert(nr_registry_record_genesis(reg, &r, G.key0, sys, 1, gid, founders), reg,
                  "only a member can record the genesis");
    memcpy(bad, gid, 32);
    bad[31] ^= 1;
    expect_revert(nr_registry_record_genesis(reg, &r, id.eth_sk, sys, 1, bad, founders), reg,
                  "genesis id does not match its founders");
    uint8_t gid2[32];
    nr_genesis_packed_id(gid2, sys, 2, 3, founders, NULL, NULL);
    expect_revert(nr_registry_record_genesis(reg, &r, id.eth_sk, sys, 2, gid2, founders), reg,
                  "epoch is not open");
    memset(bad, 0, 32);
    expect_revert(nr_registry_record_genesis(reg, &r, id.eth_sk, sys, 1, bad, founders), reg,
                  "genesis id must not be zero");
    uint8_t nosys[32];
    fill(nosys, "genesis-no-such-system");
    expect_revert(nr_registry_record_genesis(reg, &r, id.eth_sk, nosys, 1, gid, founders), reg,
                  "no such system");

    /* member 1 records it */
    struct nr_registry_genesis g;
    assert_int_equal(nr_registry_get_genesis(reg, &g, sys, 1, NULL), NR_OK);
    assert_false(g.recorded);
    int rc = nr_registry_record_genesis(reg, &r, id.eth_sk, sys, 1, gid, founders);
    if (rc != NR_OK)
        fprintf(stderr, "%s\n", nr_registry_errmsg(reg));
    assert_int_equal(rc, NR_OK);
    printf("GAS recordGenesis(n=3)=%" PRIu64 "\n", r.gas_used);
    uint64_t block = r.block_number;
    assert_int_equal(nr_registry_get_genesis(reg, &g, sys, 1, NULL), NR_OK);
    assert_true(g.recorded);
    assert_memory_equal(g.id, gid, 32);
    assert_memory_equal(g.poster, G.addr[1], 20);
    assert_memory_equal(g.founders, founders, sizeof founders);
    assert_int_equal(g.block_number, block);
    /* twice: the same member, or another, gets NR_EEXIST */
    assert_int_equal(nr_registry_record_genesis(reg, &r, id.eth_sk, sys, 1, gid, founders),
                     NR_EEXIST);
    nr_identity_wipe(&id);
    char err[600];
    struct nr_host_chain hc = host_cfg((const char *const[]){G.a.url}, 1, 1);
    assert_int_equal(nr_host_chain_post_genesis(&r, &hc, NULL, G.idf[2], sys, 1, gid, founders, err,
                                                sizeof err) == NR_OK,
                     0);
    assert_int_equal(nr_tee_open(&tee, "sim", G.plat[2], "narrator-se/1"), NR_OK);
    rc = nr_host_chain_post_genesis(&r, &hc, tee, G.idf[2], sys, 1, gid, founders, err, sizeof err);
    nr_tee_close(tee);
    if (rc != NR_EEXIST)
        fprintf(stderr, "%s\n", err);
    assert_int_equal(rc, NR_EEXIST);
    assert_non_null(strstr(err, "genesis already recorded"));
    nr_registry_close(reg);
}

static void test_record_genesis_n5_by_host(void **state)
{
    (void)state;
    struct nr_registry *reg = open_reg(G.a.url, 1);
    uint8_t sys[32], founders[NR_GENESIS_FOUNDERS_BYTES], gid[32];
    fill(sys, "genesis-system-n5");
    make_system(reg, sys, 5, 1);
    founders_of(founders, 5, 7);
    nr_genesis_packed_id(gid, sys, 1, 5, founders, NULL, NULL);
    struct nr_host_chain hc = host_cfg((const char *const[]){G.a.url}, 1, 1);
    struct nr_tee *tee = NULL;
    assert_int_equal(nr_tee_open(&tee, "sim", G.plat[4], "narrator-se/1"), NR_OK);
    struct nr_eth_receipt r;
    char err[600];
    int rc =
        nr_host_chain_post_genesis(&r, &hc, tee, G.idf[4], sys, 1, gid, founders, err, sizeof err);
    nr_tee_close(tee);
    if (rc != NR_OK)
        fprintf(stderr, "%s\n", err);
    assert_int_equal(rc, NR_OK);
    printf("GAS recordGenesis(n=5)=%" PRIu64 "\n", r.gas_used);
    struct nr_registry_genesis g;
    assert_int_equal(nr_registry_get_genesis(reg, &g, sys, 1, NULL), NR_OK);
    assert_memory_equal(g.poster, G.addr[4], 20);
    nr_registry_close(reg);
}

static void storage_at(struct nr_registry *reg, uint8_t out[32], const uint8_t slot[32],
                       const char *tag)
{
    char s[67], params[200];
    assert_int_equal(nr_eth_hex_encode(s, sizeof s, slot, 32), NR_OK);
    char addr[NR_ETH_ADDR_HEX_BYTES];
    nr_eth_address_hex(addr, G.contract);
    snprintf(params, sizeof params, "[\"%s\",\"%s\",\"%s\"]", addr, s, tag);
    cJSON *res = NULL;
    assert_int_equal(nr_rpc_call(nr_registry_rpc(reg), &res, "eth_getStorageAt", params), NR_OK);
    assert_int_equal(nr_rpc_parse_fixed(out, 32, res), NR_OK);
    cJSON_Delete(res);
}

/* The slots of registry_state.h hold what the views return (solc's actual layout). */
static void test_storage_layout(void **state)
{
    (void)state;
    struct nr_registry *reg = open_reg(G.a.url, 1);
    uint8_t sys[32];
    fill(sys, "genesis-system-n3");
    struct nr_registry_system view, fromslots;
    assert_int_equal(nr_registry_get_system(reg, &view, sys, "latest"), NR_OK);
    uint8_t words[NR_REGISTRY_SYSTEM_FIELDS * 32], len[32], slot[32];
    for (uint32_t i = 0; i < NR_REGISTRY_SYSTEM_FIELDS; i++) {
        nr_registry_slot_system(slot, sys, i);
        storage_at(reg, words + 32 * i, slot, "latest");
    }
    nr_registry_slot_members_length(slot, sys);
    storage_at(reg, len, slot, "latest");
    assert_int_equal(nr_registry_system_from_words(&fromslots, words, len), NR_OK);
    assert_true(fromslots.exists && fromslots.finalized);
    assert_memory_equal(&fromslots, &view, sizeof view);
    struct nr_registry_genesis gv, gs;
    assert_int_equal(nr_registry_get_genesis(reg, &gv, sys, 1, "latest"), NR_OK);
    uint8_t gw[NR_REGISTRY_GENESIS_FIELDS * 32];
    for (uint32_t i = 0; i < NR_REGISTRY_GENESIS_FIELDS; i++) {
        nr_registry_slot_genesis(slot, sys, 1, i);
        storage_at(reg, gw + 32 * i, slot, "latest");
    }
    assert_int_equal(nr_registry_genesis_from_words(&gs, gw), NR_OK);
    assert_true(gs.recorded);
    assert_memory_equal(&gs, &gv, sizeof gv);
    nr_registry_close(reg);
}

static void test_fetch_two_endpoints_one_chain(void **state)
{
    (void)state;
    uint8_t sys[32], founders[NR_GENESIS_FOUNDERS_BYTES], gid[32];
    fill(sys, "genesis-system-n3");
    founders_of(founders, 3, 100);
    nr_genesis_packed_id(gid, sys, 1, 3, founders, NULL, NULL);
    char alias[64];
    snprintf(alias, sizeof alias, "http://localhost:%u", G.a.port);
    struct nr_host_chain hc = host_cfg((const char *const[]){G.a.url, alias}, 2, 2);
    struct nr_evidence_genesis g;
    char err[1200];
    int rc = nr_host_chain_fetch_genesis(&g, &hc, 0, sys, 1, err, sizeof err);
    if (rc != NR_OK)
        fprintf(stderr, "%s\n", err);
    assert_int_equal(rc, NR_OK);
    assert_true(g.system.exists && g.system.finalized);
    assert_int_equal(g.system.n, 3);
    assert_true(g.genesis.recorded);
    assert_memory_equal(g.genesis.id, gid, 32);
    assert_memory_equal(g.genesis.poster, G.addr[1], 20);
    assert_memory_equal(g.genesis.founders, founders, sizeof founders);
    /* the system record from proofs equals the view at the same block */
    struct nr_registry *reg = open_reg(G.a.url, 1);
    struct nr_registry_system view;
    char tag[24];
    snprintf(tag, sizeof tag, "0x%" PRIx64, g.block_number);
    assert_int_equal(nr_registry_get_system(reg, &view, sys, tag), NR_OK);
    assert_memory_equal(&view, &g.system, sizeof view);
    /* no genesis for epoch 2: proven absent */
    assert_int_equal(nr_host_chain_fetch_genesis(&g, &hc, 0, sys, 2, err, sizeof err), NR_OK);
    assert_false(g.genesis.recorded);
    /* an unknown system */
    uint8_t none[32];
    fill(none, "genesis-never-created");
    assert_int_equal(nr_host_chain_fetch_genesis(&g, &hc, 0, none, 1, err, sizeof err), NR_OK);
    assert_false(g.system.exists);
    /* confirmations: the read is Confirmations - 1 below the head */
    uint64_t head = 0;
    assert_int_equal(nr_rpc_block_number(nr_registry_rpc(reg), &head), NR_OK);
    hc.confirmations = 3;
    assert_int_equal(nr_host_chain_fetch_genesis(&g, &hc, 0, sys, 1, err, sizeof err), NR_OK);
    assert_int_equal(g.block_number, head - 2);
    /* min_height above what the chain has confirmed */
    rc = nr_host_chain_fetch_genesis(&g, &hc, head + 5, sys, 1, err, sizeof err);
    assert_int_equal(rc, NR_ESTALE);
    /* one endpoint down: k = 2 refuses, k = 1 reads */
    char down[64];
    snprintf(down, sizeof down, "http://127.0.0.1:%u", nr_test_free_port());
    hc = host_cfg((const char *const[]){down, G.a.url}, 2, 2);
    rc = nr_host_chain_fetch_genesis(&g, &hc, 0, sys, 1, err, sizeof err);
    assert_int_equal(rc, NR_EUNREACHABLE);
    assert_non_null(strstr(err, down));
    hc.agree = 1;
    rc = nr_host_chain_fetch_genesis(&g, &hc, 0, sys, 1, err, sizeof err);
    if (rc != NR_OK)
        fprintf(stderr, "%s\n", err);
    assert_int_equal(rc, NR_OK);
    assert_true(g.genesis.recorded);
    nr_registry_close(reg);
}

static void test_fetch_two_chains_refused(void **state)
{
    (void)state;
    uint8_t sys[32];
    fill(sys, "genesis-system-n3");
    /* Chain B so far holds exactly A's first block (same deployer, same transaction, same
     * second): give it a block of its own, so that the common height differs. */
    struct nr_registry *b = open_reg(G.b.url, 1);
    struct nr_eth_receipt r;
    nr_u256 wei;
    nr_u256_from_u64(&wei, 12345);
    assert_int_equal(nr_registry_transfer(b, &r, G.key0, G.outsider, &wei), NR_OK);
    nr_registry_close(b);
    struct nr_host_chain hc = host_cfg((const char *const[]){G.a.url, G.b.url}, 2, 2);
    struct nr_evidence_genesis g;
    char err[1200] = "";
    int rc = nr_host_chain_fetch_genesis(&g, &hc, 0, sys, 1, err, sizeof err);
    assert_int_equal(rc, NR_EDISAGREE);
    assert_non_null(strstr(err, G.a.url));
    assert_non_null(strstr(err, G.b.url));
    hc.agree = 1; /* two different blocks, each "agreed" by one: still refused */
    rc = nr_host_chain_fetch_genesis(&g, &hc, 0, sys, 1, err, sizeof err);
    assert_int_equal(rc, NR_EDISAGREE);
    assert_non_null(strstr(err, "disagree"));
}

static void test_sealed_height(void **state)
{
    (void)state;
    uint8_t sys[32];
    fill(sys, "genesis-system-n3");
    char data[300], path[400], err[1200];
    snprintf(data, sizeof data, "%s/data0", G.dir);
    assert_int_equal(mkdir(data, 0700), 0);
    snprintf(path, sizeof path, "%s/%s", data, NR_HOST_CHAIN_HEIGHT_FILE);
    struct nr_tee *tee = NULL;
    assert_int_equal(nr_tee_open(&tee, "sim", G.plat[0], "narrator-se/1"), NR_OK);
    struct nr_host_chain hc = host_cfg((const char *const[]){G.a.url}, 1, 1);
    uint64_t h = 1;
    assert_int_equal(nr_host_chain_height_load(&h, tee, data, &hc, err, sizeof err), NR_OK);
    assert_int_equal(h, 0); /* no file yet */
    struct nr_evidence_genesis g;
    int rc = nr_host_chain_read_genesis(&g, &hc, tee, data, sys, 1, err, sizeof err);
    if (rc != NR_OK)
        fprintf(stderr, "%s\n", err);
    assert_int_equal(rc, NR_OK);
    assert_true(g.genesis.recorded);
    assert_int_equal(nr_host_chain_height_load(&h, tee, data, &hc, err, sizeof err), NR_OK);
    assert_int_equal(h, g.block_number);
    /* a sealed height above the chain's: the next read is refused */
    assert_int_equal(nr_host_chain_height_store(tee, data, &hc, h + 1000, err, sizeof err), NR_OK);
    assert_int_equal(nr_host_chain_read_genesis(&g, &hc, tee, data, sys, 1, err, sizeof err),
                     NR_ESTALE);
    /* another platform cannot open it; a short or tampered file is an error */
    struct nr_tee *other = NULL;
    assert_int_equal(nr_tee_open(&other, "sim", G.plat[1], "narrator-se/1"), NR_OK);
    assert_int_equal(nr_host_chain_height_load(&h, other, data, &hc, err, sizeof err), NR_EUNSEAL);
    nr_tee_close(other);
    uint8_t blob[256];
    size_t len = 0;
    assert_int_equal(nr_file_read(path, blob, sizeof blob, &len), NR_OK);
    blob[len / 2] ^= 1;
    assert_int_equal(nr_file_write_atomic(path, blob, len), NR_OK);
    assert_int_equal(nr_host_chain_height_load(&h, tee, data, &hc, err, sizeof err), NR_EUNSEAL);
    assert_int_equal(nr_file_write_atomic(path, blob, 3), NR_OK);
    assert_int_not_equal(nr_host_chain_height_load(&h, tee, data, &hc, err, sizeof err), NR_OK);
    /* another registry: the sealed height does not carry over */
    assert_int_equal(nr_host_chain_height_store(tee, data, &hc, 5, err, sizeof err), NR_OK);
    hc.contract[0] ^= 1;
    assert_int_equal(nr_host_chain_height_load(&h, tee, data, &hc, err, sizeof err), NR_EUNSEAL);
    nr_tee_close(tee);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_genesis),
        cmocka_unit_test(test_record_genesis_n5_by_host),
        cmocka_unit_test(test_storage_layout),
        cmocka_unit_test(test_fetch_two_endpoints_one_chain),
        cmocka_unit_test(test_fetch_two_chains_refused),
        cmocka_unit_test(test_sealed_height),
    };
    return cmocka_run_group_tests_name("chain_genesis", tests, group_setup, group_teardown);
}
