/* Integration: epochs on a real anvil (contracts/NarratorRegistry.sol openEpoch, setGovernance,
 * recordGenesis for later epochs; src/eth/registry.c), the storage layout of the epoch records
 * (eth_getStorageAt against the views) and the enclave-side verifier of an epoch read
 * (src/eth/evidence.c nr_evidence_epoch) on real eth_getProof answers, and on tampered ones.
 *
 * One system lives through four epochs: 1 (finalised, members 0 1 2), 2 (member 2 replaced by
 * 3), 3 (grown to 0 1 3 4 5, a recovery), 4 (shrunk to 3 4 5); each genesis is recorded by a
 * member of that epoch, with the id computed by nr_genesis_packed_id, which the contract
 * recomputes. Every refusal is checked by its revert reason. A second system has 2-of-3
 * governance. Gas lines: "GAS ...".
 *
 * With --cli NARRATOR it runs only test_cli_epochs: `narrator epochs` against a system of two
 * epochs, and its errors (CTest test_cli_epochs, registered from src/cli).
 *
 * NR_TEST_EPOCH_CORPUS=DIR writes the proven words of every epoch read into DIR, in the input
 * format of test/fuzz/fuzz_epoch_words.c (its seed corpus was made this way). */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <sodium.h>

#include "anvil_fixture.h"
#include "eth/evidence.h"
#include "eth/registry.h"

#define N_ACCOUNTS 8 /* member accounts 0..5, operators 6..7 (and the outsider) */

static struct {
    struct nr_anvil anvil;
    struct nr_registry *reg;
    uint8_t key0[32]; /* deployer, creator of every system */
    uint8_t sk[N_ACCOUNTS][32];
    uint8_t addr[N_ACCOUNTS][20];
    uint8_t outsider_sk[32], outsider[20];
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

static int fund(uint8_t sk[32], uint8_t addr[20])
{
    nr_u256 ten_eth;
    struct nr_eth_receipt r;
    if (nr_eth_keygen(sk, random_cb, NULL) != NR_OK || nr_eth_address(addr, sk) != NR_OK ||
        nr_u256_parse(&ten_eth, "10000000000000000000") != NR_OK)
        return -1;
    if (nr_registry_transfer(G.reg, &r, G.key0, addr, &ten_eth) != NR_OK) {
        fprintf(stderr, "fund: %s\n", nr_registry_errmsg(G.reg));
        return -1;
    }
    return 0;
}

static int group_setup(void **state)
{
    (void)state;
    if (sodium_init() < 0 || nr_anvil_start(&G.anvil, NULL) != 0)
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
    for (unsigned i = 0; i < N_ACCOUNTS; i++)
        if (fund(G.sk[i], G.addr[i]) != 0)
            return -1;
    return fund(G.outsider_sk, G.outsider);
}

static int group_teardown(void **state)
{
    (void)state;
    nr_registry_close(G.reg);
    nr_anvil_stop(&G.anvil);
    sodium_memzero(&G, sizeof G);
    return 0;
}

/* Member i: its platform, identity key and evidence hash are labels; its account is G.addr[i]. */
static struct nr_registry_member member(unsigned i)
{
    struct nr_registry_member m;
    fill(m.platform_id, "epochs-platform", i);
    fill(m.identity_key, "epochs-identity", i);
    fill(m.evidence_hash, "epochs-evidence", i);
    memcpy(m.account, G.addr[i], 20);
    return m;
}

static void expect_revert(int rc, const char *reason)
{
    if (rc != NR_EREVERT || strcmp(nr_registry_revert_reason(G.reg), reason) != 0)
        fprintf(stderr, "want revert '%s', got %s: %s\n", reason, nr_errname(rc),
                nr_registry_errmsg(G.reg));
    assert_int_equal(rc, NR_EREVERT);
    assert_string_equal(nr_registry_revert_reason(G.reg), reason);
}

static void expect_ok(int rc, const char *what)
{
    if (rc != NR_OK)
        fprintf(stderr, "%s: %s: %s\n", what, nr_errname(rc), nr_registry_errmsg(G.reg));
    assert_int_equal(rc, NR_OK);
}

/* The first 8 bytes in hex, as `narrator epochs` shows an id. */
static void short_of(char out[17], const uint8_t b[32])
{
    static const char d[] = "0123456789abcdef";
    for (int i = 0; i < 8; i++) {
        out[2 * i] = d[b[i] >> 4];
        out[2 * i + 1] = d[b[i] & 15];
    }
    out[16] = '\0';
}

static const uint8_t *measurement(void)
{
    static uint8_t m[32];
    fill(m, "epochs-measurement", 0);
    return m;
}

/* createSystem by the creator, registerMember of members idx[0..n) from their own accounts. */
static void make_system(const uint8_t sys[32], const unsigned *idx, uint32_t n)
{
    struct nr_eth_receipt r;
    expect_ok(nr_registry_create_system(G.reg, &r, G.key0, sys, n, (n - 1) / 2, measurement()),
              "createSystem");
    for (uint32_t i = 0; i < n; i++) {
        struct nr_registry_member m = member(idx[i]);
        expect_ok(nr_registry_register_member(G.reg, &r, G.sk[idx[i]], sys, &m), "register");
    }
}

static void founders_of(uint8_t out[NR_GENESIS_FOUNDERS_BYTES], uint32_t n, uint64_t salt)
{
    struct nr_founder f[NR_GENESIS_MAX_FOUNDERS];
    for (uint32_t j = 0; j < n; j++)
        f[j] = (struct nr_founder){.inc = salt + j, .nonce = (salt << 20) ^ (j + 1)};
    assert_int_equal(nr_genesis_founders_pack(out, f, n), NR_OK);
}

/* The genesis of (sys, epoch) with n founders, posted from sk; the id as the C side computes it
 * (with the epoch's predecessor and state root from epoch 2 on). */
static void record_genesis(const uint8_t sys[32], uint32_t epoch, uint32_t n, const uint8_t *pred,
                           const uint8_t *root, const uint8_t sk[32], uint8_t gid[32],
                           struct nr_eth_receipt *r)
{
    uint8_t founders[NR_GENESIS_FOUNDERS_BYTES];
    founders_of(founders, n, 100u * epoch);
    nr_genesis_packed_id(gid, sys, epoch, n, founders, pred, root);
    expect_ok(nr_registry_record_genesis(G.reg, r, sk, sys, epoch, gid, founders), "genesis");
}

/* A proposal for epoch `epoch` of sys with the members idx[0..n). */
struct proposal {
    struct nr_registry_epoch_proposal p;
    struct nr_registry_member m[NR_REGISTRY_MAX_EPOCH_MEMBERS];
};

static void proposal_of(struct proposal *x, const uint8_t sys[32], uint32_t epoch,
                        const unsigned *idx, uint32_t n, uint8_t kind, const uint8_t pred[32])
{
    memset(x, 0, sizeof *x);
    for (uint32_t i = 0; i < n; i++)
        x->m[i] = member(idx[i]);
    memcpy(x->p.system_id, sys, 32);
    x->p.epoch = epoch;
    x->p.n = n;
    x->p.f = (n - 1) / 2;
    x->p.kind = kind;
    x->p.members = x->m;
    x->p.n_members = n;
    memcpy(x->p.predecessor, pred, 32);
    fill(x->p.state_root, "epochs-state-root", epoch);
    if (kind == NR_REGISTRY_KIND_RECONFIGURATION)
        fill(x->p.handover_hash, "epochs-handover", epoch);
}

static int open_epoch(const uint8_t sk[32], const struct proposal *x, int *opened,
                      struct nr_eth_receipt *r)
{
    return nr_registry_open_epoch(G.reg, r, sk, &x->p, opened);
}

/* The view of an epoch matches its proposal (and its members read back one by one). */
static void check_epoch_view(const struct proposal *x, const uint8_t *gid)
{
    const struct nr_registry_epoch_proposal *p = &x->p;
    struct nr_registry_epoch e;
    expect_ok(nr_registry_get_epoch(G.reg, &e, p->system_id, p->epoch, NULL), "getEpoch");
    assert_true(e.exists);
    assert_int_equal(e.epoch, p->epoch);
    assert_int_equal(e.n, p->n);
    assert_int_equal(e.f, p->f);
    assert_int_equal(e.kind, p->kind);
    assert_memory_equal(e.predecessor, p->predecessor, 32);
    assert_memory_equal(e.state_root, p->state_root, 32);
    assert_memory_equal(e.handover_hash, p->handover_hash, 32);
    assert_true(e.opened_block > 0);
    uint8_t h[32];
    nr_registry_epoch_members_hash(h, p->system_id, p->epoch, p->n, p->f, measurement(), x->m,
                                   p->n);
    assert_memory_equal(e.members_hash, h, 32);
    assert_int_equal(e.has_genesis, gid != NULL);
    if (gid)
        assert_memory_equal(e.genesis_id, gid, 32);
    for (uint32_t i = 0; i < p->n; i++) {
        struct nr_registry_member m;
        expect_ok(nr_registry_get_epoch_member(G.reg, &m, p->system_id, p->epoch, i, NULL),
                  "getEpochMember");
        assert_memory_equal(&m, &x->m[i], sizeof m);
    }
    struct nr_registry_member none;
    expect_revert(nr_registry_get_epoch_member(G.reg, &none, p->system_id, p->epoch, p->n, NULL),
                  "no such member");
}

static uint32_t current(const uint8_t sys[32])
{
    uint32_t e = 99;
    expect_ok(nr_registry_current_epoch(G.reg, &e, sys, NULL), "currentEpoch");
    return e;
}

/* ---- evidence: real eth_getProof answers through the enclave-side verifier ---- */

struct fetched {
    uint64_t height;
    uint8_t *header;
    size_t header_len;
    struct nr_rpc_proof proof;
    struct nr_evidence ev;
};

static void fetch(struct fetched *x, const uint8_t sys[32], uint32_t epoch, uint32_t n)
{
    memset(x, 0, sizeof *x);
    struct nr_rpc *rpc = nr_registry_rpc(G.reg);
    assert_int_equal(nr_rpc_block_number(rpc, &x->height), NR_OK);
    uint8_t hash[32];
    assert_int_equal(nr_rpc_block_header(rpc, &x->header, &x->header_len, hash, x->height), NR_OK);
    uint8_t slots[NR_EVIDENCE_EPOCH_MAX_SLOTS][32];
    size_t n_slots = nr_evidence_epoch_slots(slots, sys, epoch, n);
    assert_true(n_slots > 0);
    int rc = nr_rpc_get_proof(rpc, &x->proof, G.contract, (const uint8_t(*)[32])slots, n_slots,
                              x->height);
    if (rc != NR_OK)
        fprintf(stderr, "eth_getProof: %s\n", nr_rpc_errmsg(rpc));
    assert_int_equal(rc, NR_OK);
    struct nr_evidence *ev = &x->ev;
    ev->height = x->height;
    ev->headers[0] = (struct nr_eth_bytes){x->header, x->header_len};
    ev->n_headers = 1;
    ev->account_proof = x->proof.account_nodes;
    ev->n_account_nodes = x->proof.n_account_nodes;
    for (size_t j = 0; j < x->proof.n_storage; j++) {
        memcpy(ev->storage[j].slot, x->proof.storage[j].key, 32);
        ev->storage[j].nodes = x->proof.storage[j].nodes;
        ev->storage[j].n_nodes = x->proof.storage[j].n_nodes;
    }
    ev->n_storage = x->proof.n_storage;
}

static void fetched_free(struct fetched *x)
{
    free(x->header);
    nr_rpc_proof_free(&x->proof);
}

static struct nr_evidence_policy policy(void)
{
    struct nr_evidence_policy pol;
    memset(&pol, 0, sizeof pol);
    memcpy(pol.registry, G.contract, 20);
    pol.agree = 1;
    return pol;
}

/* NR_TEST_EPOCH_CORPUS: epoch (1 byte), n (1 byte), system id, then the proven words. */
static void dump_corpus(const struct fetched *x, const uint8_t sys[32], uint32_t epoch, uint32_t n,
                        const char *name)
{
    const char *dir = getenv("NR_TEST_EPOCH_CORPUS");
    if (dir == NULL || *dir == '\0')
        return;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    uint8_t head[2] = {(uint8_t)epoch, (uint8_t)n};
    fwrite(head, 1, 2, f);
    fwrite(sys, 1, 32, f);
    for (size_t j = 0; j < x->proof.n_storage; j++)
        fwrite(x->proof.storage[j].value.b, 1, 32, f);
    assert_int_equal(fclose(f), 0);
}

/* The proven epoch equals the views; absent epochs and wrong claims are refused or absent. */
static void check_epoch_evidence(const uint8_t sys[32], uint32_t epoch)
{
    struct nr_registry_epoch view;
    expect_ok(nr_registry_get_epoch(G.reg, &view, sys, epoch, "latest"), "getEpoch");
    uint32_t n = view.exists ? view.n : 0;
    struct fetched x;
    fetch(&x, sys, epoch, n);
    struct nr_evidence_policy pol = policy();
    static struct nr_evidence_epoch got;
    char err[256];
    int rc = nr_evidence_epoch(&got, &x.ev, &pol, sys, epoch, n, err, sizeof err);
    if (rc != NR_OK)
        fprintf(stderr, "epoch %u: %s\n", epoch, err);
    assert_int_equal(rc, NR_OK);
    assert_int_equal(got.block_number, x.height);
    assert_int_equal(got.current_epoch, current(sys));
    /* the proven record is the view (the view has no stored-members count of its own) */
    view.registered = got.epoch.registered;
    assert_memory_equal(&got.epoch, &view, sizeof view);
    for (uint32_t i = 0; i < n; i++) {
        struct nr_registry_member m;
        expect_ok(nr_registry_get_epoch_member(G.reg, &m, sys, epoch, i, "latest"), "member");
        assert_memory_equal(&got.members[i], &m, sizeof m);
    }
    char name[64];
    snprintf(name, sizeof name, "epoch%u_n%u", epoch, n);
    dump_corpus(&x, sys, epoch, n, name);
    fetched_free(&x);
}

static void test_epoch_sequence(void **state)
{
    (void)state;
    uint8_t sys[32], other[32], g1[32], g2[32], g3[32], g4[32], bad[32];
    fill(sys, "epochs-system", 0);
    fill(other, "epochs-no-such-system", 0);
    struct nr_eth_receipt r;
    struct proposal x;
    int opened = -1;
    const unsigned e1[] = {0, 1, 2}, e2[] = {0, 1, 3}, e3[] = {0, 1, 3, 4, 5}, e4[] = {3, 4, 5};
    make_system(sys, e1, 3);

    /* before finalize: no epoch at all */
    assert_int_equal(current(sys), 0);
    struct nr_registry_epoch e;
    expect_ok(nr_registry_get_epoch(G.reg, &e, sys, 1, NULL), "getEpoch");
    assert_false(e.exists);
    memset(bad, 0x11, sizeof bad);
    proposal_of(&x, sys, 2, e2, 3, NR_REGISTRY_KIND_RECONFIGURATION, bad);
    expect_revert(open_epoch(G.key0, &x, NULL, &r), "system is not finalized");
    expect_ok(nr_registry_finalize(G.reg, &r, G.key0, sys), "finalize");

    /* epoch 1 is the finalised system */
    assert_int_equal(current(sys), 1);
    struct nr_registry_system s;
    expect_ok(nr_registry_get_system(G.reg, &s, sys, NULL), "getSystem");
    expect_ok(nr_registry_get_epoch(G.reg, &e, sys, 1, NULL), "getEpoch");
    assert_true(e.exists);
    assert_int_equal(e.kind, NR_REGISTRY_KIND_INIT);
    assert_int_equal(e.n, 3);
    assert_int_equal(e.f, 1);
    assert_memory_equal(e.members_hash, s.members_hash, 32);
    assert_int_equal(e.opened_block, s.finalized_block);
    assert_true(sodium_is_zero(e.predecessor, 32) && sodium_is_zero(e.state_root, 32));
    assert_false(e.has_genesis);
    for (unsigned i = 0; i < 3; i++) {
        struct nr_registry_member m, want = member(e1[i]);
        expect_ok(nr_registry_get_epoch_member(G.reg, &m, sys, 1, i, NULL), "getEpochMember");
        assert_memory_equal(&m, &want, sizeof m);
    }
    expect_revert(open_epoch(G.key0, &x, NULL, &r), "the current epoch has no genesis");
    record_genesis(sys, 1, 3, NULL, NULL, G.sk[0], g1, &r);

    /* epoch 2 replaces member 2 by member 3; every refusal first */
    proposal_of(&x, sys, 2, e2, 3, NR_REGISTRY_KIND_RECONFIGURATION, g1);
    expect_revert(open_epoch(G.outsider_sk, &x, NULL, &r), "only governance can open an epoch");
    expect_revert(open_epoch(G.sk[0], &x, NULL, &r), "only governance can open an epoch");
    struct proposal y = x;
    y.p.members = y.m;
    memcpy(y.p.system_id, other, 32);
    expect_revert(open_epoch(G.key0, &y, NULL, &r), "no such system");
    y = x;
    y.p.members = y.m;
    y.p.epoch = 3;
    expect_revert(open_epoch(G.key0, &y, NULL, &r), "epoch must be the current epoch + 1");
    y.p.epoch = 1;
    expect_revert(open_epoch(G.key0, &y, NULL, &r), "epoch must be the current epoch + 1");
    y.p.epoch = 2;
    y.p.predecessor[5] ^= 1;
    expect_revert(open_epoch(G.key0, &y, NULL, &r),
                  "predecessor is not the current epoch's genesis");
    memcpy(y.p.predecessor, x.p.predecessor, 32);
    y.p.f = 2;
    expect_revert(open_epoch(G.key0, &y, NULL, &r), "n must equal 2f+1");
    y.p.f = 1;
    y.p.n = 4;
    expect_revert(open_epoch(G.key0, &y, NULL, &r), "n must equal 2f+1");
    y.p.n = 17;
    y.p.f = 8;
    expect_revert(open_epoch(G.key0, &y, NULL, &r), "n out of range");
    y.p.n = 0;
    y.p.f = 0;
    expect_revert(open_epoch(G.key0, &y, NULL, &r), "n out of range");
    y.p.n = 3;
    y.p.f = 1;
    y.p.n_members = 2;
    expect_revert(open_epoch(G.key0, &y, NULL, &r), "membership arrays must have n entries");
    y.p.n_members = 3;
    memcpy(y.m[2].platform_id, y.m[0].platform_id, 32); /* member 3 on member 0's platform */
    expect_revert(open_epoch(G.key0, &y, NULL, &r), "platform repeated in the membership");
    y.m[2] = x.m[2];
    memcpy(y.m[1].identity_key, y.m[2].identity_key, 32);
    expect_revert(open_epoch(G.key0, &y, NULL, &r), "identity key repeated in the membership");
    y.m[1] = x.m[1];
    memset(y.m[1].platform_id, 0, 32);
    expect_revert(open_epoch(G.key0, &y, NULL, &r), "platform id must not be zero");
    y.m[1] = x.m[1];
    memset(y.m[1].identity_key, 0, 32);
    expect_revert(open_epoch(G.key0, &y, NULL, &r), "identity key must not be zero");
    y.m[1] = x.m[1];
    memset(y.m[1].account, 0, 20);
    expect_revert(open_epoch(G.key0, &y, NULL, &r), "member account must not be zero");
    y.m[1] = x.m[1];
    y.p.kind = NR_REGISTRY_KIND_INIT;
    expect_revert(open_epoch(G.key0, &y, NULL, &r),
                  "kind must be 2 (reconfiguration) or 3 (recovery)");
    y.p.kind = 4;
    expect_revert(open_epoch(G.key0, &y, NULL, &r),
                  "kind must be 2 (reconfiguration) or 3 (recovery)");
    y.p.kind = NR_REGISTRY_KIND_RECONFIGURATION;
    memset(y.p.state_root, 0, 32);
    expect_revert(open_epoch(G.key0, &y, NULL, &r), "state root must not be zero");
    memcpy(y.p.state_root, x.p.state_root, 32);
    memset(y.p.handover_hash, 0, 32);
    expect_revert(open_epoch(G.key0, &y, NULL, &r), "a reconfiguration needs a handover hash");

    expect_ok(open_epoch(G.key0, &x, &opened, &r), "openEpoch 2");
    assert_int_equal(opened, 1);
    printf("GAS openEpoch(n=3)=%" PRIu64 "\n", r.gas_used);
    assert_int_equal(current(sys), 2);
    check_epoch_view(&x, NULL);
    expect_revert(open_epoch(G.key0, &x, NULL, &r), "epoch must be the current epoch + 1");
    struct proposal x3;
    proposal_of(&x3, sys, 3, e3, 5, NR_REGISTRY_KIND_RECOVERY, bad);
    expect_revert(open_epoch(G.key0, &x3, NULL, &r), "the current epoch has no genesis");

    /* the genesis of epoch 2: by a member of epoch 2, with predecessor and state root bound */
    uint8_t founders[NR_GENESIS_FOUNDERS_BYTES], id[32];
    founders_of(founders, 3, 200);
    nr_genesis_packed_id(id, sys, 2, 3, founders, g1, x.p.state_root);
    expect_revert(nr_registry_record_genesis(G.reg, &r, G.sk[2], sys, 2, id, founders),
                  "only a member can record the genesis"); /* member of epoch 1 only */
    expect_revert(nr_registry_record_genesis(G.reg, &r, G.key0, sys, 2, id, founders),
                  "only a member can record the genesis");
    expect_revert(nr_registry_record_genesis(G.reg, &r, G.sk[3], sys, 3, id, founders),
                  "epoch is not open");
    nr_genesis_packed_id(bad, sys, 2, 3, founders, NULL, NULL); /* no predecessor, no root */
    expect_revert(nr_registry_record_genesis(G.reg, &r, G.sk[3], sys, 2, bad, founders),
                  "genesis id does not match its founders");
    nr_genesis_packed_id(bad, sys, 2, 3, founders, g1, g1); /* another state root */
    expect_revert(nr_registry_record_genesis(G.reg, &r, G.sk[3], sys, 2, bad, founders),
                  "genesis id does not match its founders");
    nr_genesis_packed_id(bad, sys, 2, 5, founders, g1, x.p.state_root); /* another n */
    expect_revert(nr_registry_record_genesis(G.reg, &r, G.sk[3], sys, 2, bad, founders),
                  "genesis id does not match its founders");
    record_genesis(sys, 2, 3, g1, x.p.state_root, G.sk[3], g2, &r);
    assert_memory_equal(g2, id, 32);
    printf("GAS recordGenesis(epoch=2,n=3)=%" PRIu64 "\n", r.gas_used);
    check_epoch_view(&x, g2);
    assert_int_equal(nr_registry_record_genesis(G.reg, &r, G.sk[0], sys, 2, id, founders),
                     NR_EEXIST);

    /* epoch 3: a recovery that grows the network to 5 (no handover certificate) */
    proposal_of(&x3, sys, 3, e3, 5, NR_REGISTRY_KIND_RECOVERY, g1);
    expect_revert(open_epoch(G.key0, &x3, NULL, &r),
                  "predecessor is not the current epoch's genesis");
    proposal_of(&x3, sys, 3, e3, 5, NR_REGISTRY_KIND_RECOVERY, g2);
    expect_ok(open_epoch(G.key0, &x3, &opened, &r), "openEpoch 3");
    assert_int_equal(opened, 1);
    printf("GAS openEpoch(n=5)=%" PRIu64 "\n", r.gas_used);
    record_genesis(sys, 3, 5, g2, x3.p.state_root, G.sk[5], g3, &r);
    printf("GAS recordGenesis(epoch=3,n=5)=%" PRIu64 "\n", r.gas_used);
    check_epoch_view(&x3, g3);

    /* epoch 4: shrink to 3; members 0 and 1 (of epoch 3, not 4) cannot record its genesis */
    struct proposal x4;
    proposal_of(&x4, sys, 4, e4, 3, NR_REGISTRY_KIND_RECONFIGURATION, g3);
    expect_ok(open_epoch(G.key0, &x4, &opened, &r), "openEpoch 4");
    printf("GAS openEpoch(n=3, shrink)=%" PRIu64 "\n", r.gas_used);
    founders_of(founders, 3, 400);
    nr_genesis_packed_id(id, sys, 4, 3, founders, g3, x4.p.state_root);
    expect_revert(nr_registry_record_genesis(G.reg, &r, G.sk[0], sys, 4, id, founders),
                  "only a member can record the genesis");
    record_genesis(sys, 4, 3, g3, x4.p.state_root, G.sk[4], g4, &r);
    check_epoch_view(&x4, g4);
    assert_int_equal(current(sys), 4);

    /* the history is a chain: each epoch names the genesis of the one before */
    uint8_t prev[32];
    memcpy(prev, g1, 32);
    for (uint32_t ep = 2; ep <= 4; ep++) {
        expect_ok(nr_registry_get_epoch(G.reg, &e, sys, ep, NULL), "getEpoch");
        assert_memory_equal(e.predecessor, prev, 32);
        memcpy(prev, e.genesis_id, 32);
    }
    expect_ok(nr_registry_get_epoch(G.reg, &e, sys, 5, NULL), "getEpoch");
    assert_false(e.exists);
    struct nr_registry_member none;
    expect_revert(nr_registry_get_epoch_member(G.reg, &none, sys, 5, 0, NULL), "no such epoch");
}

static void storage_at(uint8_t out[32], const uint8_t slot[32])
{
    char s[67], params[200], addr[NR_ETH_ADDR_HEX_BYTES];
    assert_int_equal(nr_eth_hex_encode(s, sizeof s, slot, 32), NR_OK);
    nr_eth_address_hex(addr, G.contract);
    snprintf(params, sizeof params, "[\"%s\",\"%s\",\"latest\"]", addr, s);
    cJSON *res = NULL;
    assert_int_equal(nr_rpc_call(nr_registry_rpc(G.reg), &res, "eth_getStorageAt", params), NR_OK);
    assert_int_equal(nr_rpc_parse_fixed(out, 32, res), NR_OK);
    cJSON_Delete(res);
}

/* The slots of registry_state.h hold what the views return (solc's actual layout). */
static void test_epoch_storage_layout(void **state)
{
    (void)state;
    uint8_t sys[32], slot[32], w[32], words[NR_REGISTRY_EPOCH_FIELDS * 32], len[32];
    fill(sys, "epochs-system", 0);
    nr_registry_slot_last_epoch(slot, sys);
    storage_at(w, slot);
    struct nr_registry_system s;
    expect_ok(nr_registry_get_system(G.reg, &s, sys, "latest"), "getSystem");
    uint32_t cur = 0;
    assert_int_equal(nr_registry_current_epoch_from_words(&cur, &s, w), NR_OK);
    assert_int_equal(cur, 4);
    for (uint32_t ep = 1; ep <= 4; ep++) {
        struct nr_registry_epoch view, fromslots;
        expect_ok(nr_registry_get_epoch(G.reg, &view, sys, ep, "latest"), "getEpoch");
        if (ep > 1) {
            for (uint32_t i = 0; i < NR_REGISTRY_EPOCH_FIELDS; i++) {
                nr_registry_slot_epoch(slot, sys, ep, i);
                storage_at(words + 32 * i, slot);
            }
            nr_registry_slot_epoch_members_length(slot, sys, ep);
            storage_at(len, slot);
            assert_int_equal(nr_registry_epoch_from_words(&fromslots, ep, words, len), NR_OK);
            assert_int_equal(fromslots.registered, view.n);
            fromslots.registered = view.registered;
            fromslots.has_genesis = view.has_genesis; /* the genesis is another record */
            memcpy(fromslots.genesis_id, view.genesis_id, 32);
            assert_memory_equal(&fromslots, &view, sizeof view);
        }
        for (uint32_t m = 0; m < view.n; m++) {
            uint8_t mw[NR_REGISTRY_MEMBER_FIELDS * 32];
            for (uint32_t i = 0; i < NR_REGISTRY_MEMBER_FIELDS; i++) {
                nr_registry_slot_epoch_member(slot, sys, ep, m, i);
                storage_at(mw + 32 * i, slot);
            }
            struct nr_registry_member a, b;
            assert_int_equal(nr_registry_member_from_words(&a, mw), NR_OK);
            expect_ok(nr_registry_get_epoch_member(G.reg, &b, sys, ep, m, "latest"), "member");
            assert_memory_equal(&a, &b, sizeof a);
        }
    }
}

static void test_epoch_evidence(void **state)
{
    (void)state;
    uint8_t sys[32], none[32];
    fill(sys, "epochs-system", 0);
    fill(none, "epochs-no-such-system", 0);
    for (uint32_t ep = 1; ep <= 5; ep++) /* 5: not open, proven absent */
        check_epoch_evidence(sys, ep);
    check_epoch_evidence(none, 1);

    /* wrong claims and tampered proofs of epoch 3 (n = 5) */
    struct fetched x;
    fetch(&x, sys, 3, 5);
    struct nr_evidence_policy pol = policy();
    static struct nr_evidence_epoch got;
    char err[256];
    assert_int_equal(nr_evidence_epoch(&got, &x.ev, &pol, sys, 3, 5, err, sizeof err), NR_OK);
    assert_true(got.epoch.exists && got.epoch.has_genesis);
    assert_int_equal(got.epoch.kind, NR_REGISTRY_KIND_RECOVERY);
    /* the slots of epoch 3 are not those of epoch 2, nor of another n */
    assert_int_equal(nr_evidence_epoch(&got, &x.ev, &pol, sys, 2, 5, err, sizeof err), NR_EPROOF);
    assert_int_equal(nr_evidence_epoch(&got, &x.ev, &pol, sys, 3, 3, err, sizeof err), NR_EPROOF);
    /* every byte of the last node of a member's proof, flipped in turn */
    size_t j = NR_EVIDENCE_EPOCH_HEAD_SLOTS + NR_EVIDENCE_EPOCH_RECORD_SLOTS + 4; /* member 1 */
    struct nr_eth_bytes *node = &x.proof.storage[j].nodes[x.proof.storage[j].n_nodes - 1];
    uint8_t *p = (uint8_t *)node->p;
    for (size_t b = 0; b < node->len; b++) {
        p[b] ^= 0x01;
        int rc = nr_evidence_epoch(&got, &x.ev, &pol, sys, 3, 5, err, sizeof err);
        if (rc != NR_EPROOF)
            fprintf(stderr, "byte %zu of node: %s (%s)\n", b, nr_errname(rc), err);
        assert_int_equal(rc, NR_EPROOF);
        p[b] ^= 0x01;
    }
    /* a node dropped, two proofs swapped */
    x.ev.storage[j].n_nodes--;
    assert_int_equal(nr_evidence_epoch(&got, &x.ev, &pol, sys, 3, 5, err, sizeof err), NR_EPROOF);
    x.ev.storage[j].n_nodes++;
    struct nr_evidence_storage t = x.ev.storage[j];
    x.ev.storage[j] = x.ev.storage[j + 1];
    x.ev.storage[j + 1] = t;
    assert_int_equal(nr_evidence_epoch(&got, &x.ev, &pol, sys, 3, 5, err, sizeof err), NR_EPROOF);
    x.ev.storage[j + 1] = x.ev.storage[j];
    x.ev.storage[j] = t;
    assert_int_equal(nr_evidence_epoch(&got, &x.ev, &pol, sys, 3, 5, err, sizeof err), NR_OK);

    /* the proven words, changed after the proof: the decoder's own checks */
    const uint8_t(*v)[32] = (const uint8_t(*)[32])NULL;
    static uint8_t words[NR_EVIDENCE_EPOCH_MAX_SLOTS][32];
    size_t n_words = x.proof.n_storage;
    for (size_t k = 0; k < n_words; k++)
        memcpy(words[k], x.proof.storage[k].value.b, 32);
    v = (const uint8_t(*)[32])words;
    assert_int_equal(nr_evidence_epoch_decode(&got, sys, 3, 5, v, n_words, err, sizeof err), NR_OK);
    words[j][7] ^= 1; /* member 1's identity key: the members hash no longer matches */
    assert_int_equal(nr_evidence_epoch_decode(&got, sys, 3, 5, v, n_words, err, sizeof err),
                     NR_ECHAIN);
    assert_non_null(strstr(err, "members hash"));
    words[j][7] ^= 1;
    words[NR_EVIDENCE_EPOCH_HEAD_SLOTS + NR_REGISTRY_EPOCH_STATE_ROOT][0] ^= 1; /* the root */
    assert_int_equal(nr_evidence_epoch_decode(&got, sys, 3, 5, v, n_words, err, sizeof err),
                     NR_ECHAIN);
    assert_non_null(strstr(err, "genesis id"));
    fetched_free(&x);
}

/* 2-of-3 governance, set before finalize: one approval does not open an epoch, two do; the
 * creator alone no longer can. */
static void test_governance_m_of_n(void **state)
{
    (void)state;
    uint8_t sys[32], g1[32];
    fill(sys, "epochs-governed", 0);
    const unsigned e1[] = {0, 1, 2}, e2[] = {1, 2, 3};
    make_system(sys, e1, 3);
    struct nr_eth_receipt r;
    uint8_t ops[NR_REGISTRY_MAX_OPERATORS + 1][20];
    memcpy(ops[0], G.addr[6], 20);
    memcpy(ops[1], G.addr[7], 20);
    memcpy(ops[2], G.outsider, 20);
    for (unsigned i = 3; i <= NR_REGISTRY_MAX_OPERATORS; i++)
        fill(ops[i], "epochs-operator", i); /* the first 20 bytes as an address */
    const uint8_t(*o)[20] = (const uint8_t(*)[20])ops;
    expect_revert(nr_registry_set_governance(G.reg, &r, G.sk[0], sys, o, 3, 2),
                  "only the creator can set the governance");
    expect_revert(nr_registry_set_governance(G.reg, &r, G.key0, sys, o, 3, 0),
                  "threshold out of range");
    expect_revert(nr_registry_set_governance(G.reg, &r, G.key0, sys, o, 3, 4),
                  "threshold out of range");
    expect_revert(nr_registry_set_governance(G.reg, &r, G.key0, sys, o, 0, 1),
                  "operators out of range");
    expect_revert(
        nr_registry_set_governance(G.reg, &r, G.key0, sys, o, NR_REGISTRY_MAX_OPERATORS + 1, 1),
        "operators out of range");
    uint8_t dup[3][20];
    memcpy(dup[0], ops[0], 20);
    memcpy(dup[1], ops[1], 20);
    memcpy(dup[2], ops[0], 20);
    expect_revert(
        nr_registry_set_governance(G.reg, &r, G.key0, sys, (const uint8_t(*)[20])dup, 3, 2),
        "operator repeated");
    memset(dup[2], 0, 20);
    expect_revert(
        nr_registry_set_governance(G.reg, &r, G.key0, sys, (const uint8_t(*)[20])dup, 3, 2),
        "operator must not be zero");
    uint8_t nosys[32];
    fill(nosys, "epochs-no-such-system", 0);
    expect_revert(nr_registry_set_governance(G.reg, &r, G.key0, nosys, o, 3, 2), "no such system");
    expect_ok(nr_registry_set_governance(G.reg, &r, G.key0, sys, o, 3, 2), "setGovernance");
    printf("GAS setGovernance(2 of 3)=%" PRIu64 "\n", r.gas_used);
    expect_revert(nr_registry_set_governance(G.reg, &r, G.key0, sys, o, 3, 2),
                  "governance already set");
    uint32_t threshold = 0;
    uint8_t back[NR_REGISTRY_MAX_OPERATORS][20];
    size_t n_back = 0;
    expect_ok(nr_registry_get_governance(G.reg, &threshold, back, NR_REGISTRY_MAX_OPERATORS,
                                         &n_back, sys, NULL),
              "getGovernance");
    assert_int_equal(threshold, 2);
    assert_int_equal(n_back, 3);
    assert_memory_equal(back, ops, 3 * 20);

    expect_ok(nr_registry_finalize(G.reg, &r, G.key0, sys), "finalize");
    record_genesis(sys, 1, 3, NULL, NULL, G.sk[2], g1, &r);
    struct proposal x, y;
    proposal_of(&x, sys, 2, e2, 3, NR_REGISTRY_KIND_RECONFIGURATION, g1);
    int opened = -1;
    expect_revert(open_epoch(G.key0, &x, NULL, &r), "only governance can open an epoch");
    expect_revert(open_epoch(G.sk[1], &x, NULL, &r), "only governance can open an epoch");
    uint8_t ph[32], ph2[32];
    assert_int_equal(nr_registry_epoch_proposal_hash(ph, &x.p), NR_OK);

    /* one approval: not open */
    expect_ok(open_epoch(G.sk[6], &x, &opened, &r), "approval 1");
    assert_int_equal(opened, 0);
    printf("GAS openEpoch approval (1 of 2, n=3)=%" PRIu64 "\n", r.gas_used);
    uint32_t count = 0;
    expect_ok(nr_registry_get_approvals(G.reg, &count, ph, NULL), "getApprovals");
    assert_int_equal(count, 1);
    assert_int_equal(current(sys), 1);
    struct nr_registry_epoch e;
    expect_ok(nr_registry_get_epoch(G.reg, &e, sys, 2, NULL), "getEpoch");
    assert_false(e.exists);
    expect_revert(open_epoch(G.sk[6], &x, NULL, &r), "operator already approved this proposal");
    /* the second operator approves another proposal: that one has one approval, x still one */
    y = x;
    y.p.members = y.m;
    fill(y.p.state_root, "epochs-other-root", 2);
    assert_int_equal(nr_registry_epoch_proposal_hash(ph2, &y.p), NR_OK);
    assert_memory_not_equal(ph, ph2, 32);
    expect_ok(open_epoch(G.sk[7], &y, &opened, &r), "approval of another proposal");
    assert_int_equal(opened, 0);
    expect_ok(nr_registry_get_approvals(G.reg, &count, ph2, NULL), "getApprovals");
    assert_int_equal(count, 1);
    expect_ok(nr_registry_get_approvals(G.reg, &count, ph, NULL), "getApprovals");
    assert_int_equal(count, 1);
    /* an invalid proposal is refused at its first approval */
    y = x;
    y.p.members = y.m;
    memcpy(y.m[1].platform_id, y.m[0].platform_id, 32);
    expect_revert(open_epoch(G.outsider_sk, &y, NULL, &r), "platform repeated in the membership");
    /* the second approval of x opens it */
    expect_ok(open_epoch(G.outsider_sk, &x, &opened, &r), "approval 2");
    assert_int_equal(opened, 1);
    printf("GAS openEpoch approval (2 of 2, opens, n=3)=%" PRIu64 "\n", r.gas_used);
    assert_int_equal(current(sys), 2);
    check_epoch_view(&x, NULL);
    expect_ok(nr_registry_get_approvals(G.reg, &count, ph, NULL), "getApprovals");
    assert_int_equal(count, 2);
    /* late approvals of x or of the other proposal cannot open epoch 2 again */
    expect_revert(open_epoch(G.sk[7], &x, NULL, &r), "epoch must be the current epoch + 1");
}

/* Governance set after finalize, 1 of 1: the one operator's call opens the epoch. */
static void test_governance_after_finalize(void **state)
{
    (void)state;
    uint8_t sys[32], g1[32];
    fill(sys, "epochs-governed-late", 0);
    const unsigned e1[] = {0}, e2[] = {4};
    make_system(sys, e1, 1);
    struct nr_eth_receipt r;
    expect_ok(nr_registry_finalize(G.reg, &r, G.key0, sys), "finalize");
    record_genesis(sys, 1, 1, NULL, NULL, G.sk[0], g1, &r);
    expect_ok(
        nr_registry_set_governance(G.reg, &r, G.key0, sys, (const uint8_t(*)[20])G.addr[7], 1, 1),
        "setGovernance");
    printf("GAS setGovernance(1 of 1)=%" PRIu64 "\n", r.gas_used);
    struct proposal x;
    proposal_of(&x, sys, 2, e2, 1, NR_REGISTRY_KIND_RECOVERY, g1);
    expect_revert(open_epoch(G.key0, &x, NULL, &r), "only governance can open an epoch");
    int opened = -1;
    expect_ok(open_epoch(G.sk[7], &x, &opened, &r), "openEpoch");
    assert_int_equal(opened, 1);
    printf("GAS openEpoch(n=1, 1 of 1 operators)=%" PRIu64 "\n", r.gas_used);
    uint8_t g2[32];
    record_genesis(sys, 2, 1, g1, x.p.state_root, G.sk[4], g2, &r);
    check_epoch_view(&x, g2);
}

/* ---- `narrator epochs` (test_cli_epochs: this executable with --cli NARRATOR) ---- */

static const char *g_narrator;

/* Run `narrator epochs ARGS` through the shell (stderr into the output too). */
static int run_epochs(char *out, size_t cap, const char *args)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' epochs %s 2>&1", g_narrator, args);
    const char *const argv[] = {"/bin/sh", "-c", cmd, NULL};
    int st = nr_test_run(argv, out, cap, 60000);
    printf("$ narrator epochs %s -> %d\n%s\n", args, st, out);
    return st;
}

static void write_chain_ini(const char *path, const char *url)
{
    char addr[NR_ETH_ADDR_HEX_BYTES];
    nr_eth_address_hex(addr, G.contract);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "[Chain]\nRpcUrl = %s\nChainId = %u\nContract = %s\nConfirmations = 1\n", url,
            NR_ANVIL_CHAIN_ID, addr);
    assert_int_equal(fclose(f), 0);
}

static void test_cli_epochs(void **state)
{
    (void)state;
    if (g_narrator == NULL)
        skip();
    uint8_t sys[32], pending[32], g1[32], g2[32];
    fill(sys, "epochs-cli", 0);
    fill(pending, "epochs-cli-pending", 0);
    const unsigned e1[] = {0, 1, 2}, e2[] = {1, 2, 3};
    struct nr_eth_receipt r;
    make_system(sys, e1, 3);
    expect_ok(nr_registry_finalize(G.reg, &r, G.key0, sys), "finalize");
    record_genesis(sys, 1, 3, NULL, NULL, G.sk[1], g1, &r);
    struct proposal x;
    proposal_of(&x, sys, 2, e2, 3, NR_REGISTRY_KIND_RECONFIGURATION, g1);
    expect_ok(open_epoch(G.key0, &x, NULL, &r), "openEpoch");
    record_genesis(sys, 2, 3, g1, x.p.state_root, G.sk[3], g2, &r);
    make_system(pending, e1, 3); /* created, not finalised */

    char dir[] = "/tmp/nr-cli-epochs-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char ini[256], down_ini[256], args[700];
    snprintf(ini, sizeof ini, "%s/chain.ini", dir);
    snprintf(down_ini, sizeof down_ini, "%s/down.ini", dir);
    write_chain_ini(ini, G.anvil.url);
    char down[64];
    snprintf(down, sizeof down, "http://127.0.0.1:%u", nr_test_free_port());
    write_chain_ini(down_ini, down);
    static char out[16384];

    snprintf(args, sizeof args, "--chain %s --system-id epochs-cli/0", ini);
    assert_int_equal(run_epochs(out, sizeof out, args), 0);
    char want[128], h[17];
    assert_non_null(strstr(out, "current epoch 2"));
    assert_non_null(strstr(out, "\n1     init            3/1"));
    assert_non_null(strstr(out, "\n2     reconfiguration 3/1"));
    short_of(h, g2);
    snprintf(want, sizeof want, "0x%s", h); /* the genesis of epoch 2, short */
    assert_non_null(strstr(out, want));
    short_of(h, x.m[2].platform_id);        /* member 3's platform, in epoch 2 only */
    snprintf(want, sizeof want, "0x%s", h); /* the last column of the last row */
    size_t ol = strlen(out), wl = strlen(want);
    assert_true(ol >= wl && strcmp(out + ol - wl, want) == 0);

    /* the system as 64 hex digits; by the directory's system_id file and devnet/chain.ini */
    char hex[67], path[300];
    assert_int_equal(nr_eth_hex_encode(hex, sizeof hex, sys, 32), NR_OK);
    snprintf(path, sizeof path, "%s/devnet", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof path, "%s/devnet/chain.ini", dir);
    write_chain_ini(path, G.anvil.url);
    snprintf(path, sizeof path, "%s/system_id", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "%s\n", hex + 2);
    assert_int_equal(fclose(f), 0);
    snprintf(args, sizeof args, "--dir %s", dir);
    assert_int_equal(run_epochs(out, sizeof out, args), 0);
    assert_non_null(strstr(out, "current epoch 2"));

    /* refusals: no such system, an unreachable chain, no chain at all, not finalised */
    snprintf(args, sizeof args, "--chain %s --system-id never-created", ini);
    assert_int_equal(run_epochs(out, sizeof out, args), 2);
    assert_non_null(strstr(out, "is not on chain 31337"));
    snprintf(args, sizeof args, "--chain %s --system-id epochs-cli/0", down_ini);
    assert_int_equal(run_epochs(out, sizeof out, args), 2);
    assert_non_null(strstr(out, down));
    assert_non_null(strstr(out, "NR_EUNREACHABLE"));
    snprintf(args, sizeof args, "--dir %s/nowhere --system-id epochs-cli/0", dir);
    assert_int_equal(run_epochs(out, sizeof out, args), 2);
    assert_non_null(strstr(out, "no chain"));
    snprintf(args, sizeof args, "--chain %s --system-id epochs-cli-pending/0", ini);
    assert_int_equal(run_epochs(out, sizeof out, args), 0);
    assert_non_null(strstr(out, "not finalised (3 of 3 members registered)"));
    snprintf(args, sizeof args, "--chain %s extra", ini);
    assert_int_equal(run_epochs(out, sizeof out, args), 1);

    snprintf(path, sizeof path, "rm -rf '%s'", dir);
    const char *const rm[] = {"/bin/sh", "-c", path, NULL};
    assert_int_equal(nr_test_run(rm, out, sizeof out, 10000), 0);
}

/* With --cli NARRATOR: only the `narrator epochs` test; without: every test but that one. */
int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--cli") == 0) {
        g_narrator = argv[2];
        const struct CMUnitTest cli[] = {cmocka_unit_test(test_cli_epochs)};
        return cmocka_run_group_tests_name("cli_epochs", cli, group_setup, group_teardown);
    }
    if (argc != 1) {
        fprintf(stderr, "usage: %s [--cli NARRATOR]\n", argv[0]);
        return 2;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_epoch_sequence),
        cmocka_unit_test(test_epoch_storage_layout),
        cmocka_unit_test(test_epoch_evidence),
        cmocka_unit_test(test_governance_m_of_n),
        cmocka_unit_test(test_governance_after_finalize),
    };
    return cmocka_run_group_tests_name("chain_epochs", tests, group_setup, group_teardown);
}
