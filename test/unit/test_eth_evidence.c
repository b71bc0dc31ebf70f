/* Unit tests of the chain-evidence verifier (src/eth/mpt.c, evidence.c, registry_state.c) on
 * real anvil answers captured once in test/vectors/evidence_genesis.json (regenerate with
 * scripts/gen-evidence-vectors.js), and on tampered copies of them: every tampering is an error
 * value, never a crash and never a wrong value. */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "eth/evidence.h"
#include "eth/rpc.h"
#include "test_eth_vectors.h"

static cJSON *V; /* the vector file */

struct loaded {
    uint8_t *header, *other_header;
    size_t header_len, other_len;
    struct nr_rpc_proof proof, absent, absent_acct;
    uint8_t system_id[32], registry[20], gid[32], measurement[32], absent_addr[20];
    uint64_t height;
};
static struct loaded L;

static uint8_t *header_of(const char *key, size_t *len)
{
    uint8_t *rlp = NULL, hash[32];
    uint64_t number = 0;
    char err[256];
    int rc = nr_rpc_parse_block_header(&rlp, len, hash, &number,
                                       cJSON_GetObjectItemCaseSensitive(V, key), err, sizeof err);
    if (rc != NR_OK)
        fprintf(stderr, "%s: %s\n", key, err);
    assert_int_equal(rc, NR_OK);
    return rlp;
}

static void proof_of(struct nr_rpc_proof *p, const char *key)
{
    assert_int_equal(nr_rpc_parse_proof(p, cJSON_GetObjectItemCaseSensitive(V, key), 64), NR_OK);
}

static int setup(void **state)
{
    (void)state;
    char *text = nr_test_read_vectors_text("evidence_genesis.json");
    V = cJSON_Parse(text);
    free(text);
    if (V == NULL)
        return -1;
    memset(&L, 0, sizeof L);
    L.header = header_of("block", &L.header_len);
    L.other_header = header_of("other_block", &L.other_len);
    proof_of(&L.proof, "proof");
    proof_of(&L.absent, "absent_proof");
    proof_of(&L.absent_acct, "absent_account_proof");
    nr_test_hex_exact(L.system_id, 32, nr_test_str(V, "system_id"));
    nr_test_hex_exact(L.registry, 20, nr_test_str(V, "registry"));
    nr_test_hex_exact(L.gid, 32, nr_test_str(V, "genesis_id"));
    nr_test_hex_exact(L.measurement, 32, nr_test_str(V, "measurement"));
    nr_test_hex_exact(L.absent_addr, 20, nr_test_str(V, "absent_account"));
    L.height = (uint64_t)cJSON_GetObjectItemCaseSensitive(V, "height")->valuedouble;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(L.header);
    free(L.other_header);
    nr_rpc_proof_free(&L.proof);
    nr_rpc_proof_free(&L.absent);
    nr_rpc_proof_free(&L.absent_acct);
    cJSON_Delete(V);
    return 0;
}

/* Evidence from the vector: m copies of the header, the proof's storage proofs. */
static void build(struct nr_evidence *ev, const struct nr_rpc_proof *p, size_t m)
{
    memset(ev, 0, sizeof *ev);
    ev->height = L.height;
    for (size_t i = 0; i < m; i++)
        ev->headers[i] = (struct nr_eth_bytes){L.header, L.header_len};
    ev->n_headers = m;
    ev->account_proof = p->account_nodes;
    ev->n_account_nodes = p->n_account_nodes;
    for (size_t j = 0; j < p->n_storage; j++) {
        memcpy(ev->storage[j].slot, p->storage[j].key, 32);
        ev->storage[j].nodes = p->storage[j].nodes;
        ev->storage[j].n_nodes = p->storage[j].n_nodes;
    }
    ev->n_storage = p->n_storage;
}

static struct nr_evidence_policy policy(unsigned k, uint64_t min_height)
{
    struct nr_evidence_policy pol;
    memset(&pol, 0, sizeof pol);
    memcpy(pol.registry, L.registry, 20);
    pol.agree = k;
    pol.min_height = min_height;
    return pol;
}

static void test_slots_and_id_match_the_contract(void **state)
{
    (void)state;
    uint8_t slots[NR_EVIDENCE_GENESIS_SLOTS][32];
    nr_evidence_genesis_slots(slots, L.system_id, 1);
    const cJSON *js = nr_test_array(V, "slots");
    assert_int_equal(cJSON_GetArraySize(js), NR_EVIDENCE_GENESIS_SLOTS);
    for (int i = 0; i < (int)NR_EVIDENCE_GENESIS_SLOTS; i++) {
        uint8_t want[32];
        nr_test_hex_exact(want, 32, cJSON_GetArrayItem(js, i)->valuestring);
        assert_memory_equal(slots[i], want, 32);
    }
    uint8_t founders[NR_GENESIS_FOUNDERS_BYTES], id[32];
    nr_test_hex_exact(founders, sizeof founders, nr_test_str(V, "founders_words"));
    nr_genesis_packed_id(id, L.system_id, 1, 3, founders, NULL, NULL);
    assert_memory_equal(id, L.gid, 32);
    /* packing */
    struct nr_founder f[3], back[3];
    const cJSON *jf = nr_test_array(V, "founders");
    for (int j = 0; j < 3; j++) {
        const cJSON *o = cJSON_GetArrayItem(jf, j);
        f[j].inc = strtoull(nr_test_str(o, "incarnation"), NULL, 10);
        f[j].nonce = strtoull(nr_test_str(o, "nonce"), NULL, 10);
    }
    uint8_t packed[NR_GENESIS_FOUNDERS_BYTES];
    assert_int_equal(nr_genesis_founders_pack(packed, f, 3), NR_OK);
    assert_memory_equal(packed, founders, sizeof packed);
    assert_int_equal(nr_genesis_founders_unpack(back, 3, packed), NR_OK);
    assert_memory_equal(back, f, sizeof f);
    packed[NR_GENESIS_FOUNDERS_BYTES - 1] = 1; /* a byte past founder n-1 */
    assert_int_equal(nr_genesis_founders_unpack(back, 3, packed), NR_EMALFORMED);
    struct nr_founder many[NR_GENESIS_MAX_FOUNDERS + 1];
    memset(many, 0, sizeof many);
    assert_int_equal(nr_genesis_founders_pack(packed, many, NR_GENESIS_MAX_FOUNDERS + 1), NR_EINVAL);
    assert_int_equal(nr_genesis_founders_pack(packed, many, NR_GENESIS_MAX_FOUNDERS), NR_OK);
}

static void test_genesis_recorded(void **state)
{
    (void)state;
    struct nr_evidence ev;
    build(&ev, &L.proof, 2);
    struct nr_evidence_policy pol = policy(2, L.height);
    struct nr_evidence_genesis g;
    char err[256];
    int rc = nr_evidence_genesis(&g, &ev, &pol, L.system_id, 1, err, sizeof err);
    if (rc != NR_OK)
        fprintf(stderr, "%s\n", err);
    assert_int_equal(rc, NR_OK);
    assert_int_equal(g.block_number, L.height);
    uint8_t hash[32];
    nr_test_hex_exact(hash, 32, nr_test_str(cJSON_GetObjectItemCaseSensitive(V, "block"), "hash"));
    assert_memory_equal(g.block_hash, hash, 32);
    assert_true(g.system.exists);
    assert_true(g.system.finalized);
    assert_int_equal(g.system.n, 3);
    assert_int_equal(g.system.f, 1);
    assert_int_equal(g.system.registered, 3);
    assert_memory_equal(g.system.measurement, L.measurement, 32);
    assert_true(g.genesis.recorded);
    assert_memory_equal(g.genesis.id, L.gid, 32);
    uint8_t poster[20];
    nr_test_hex_exact(poster, 20, nr_test_str(V, "poster"));
    assert_memory_equal(g.genesis.poster, poster, 20);
    assert_int_equal(g.genesis.block_number,
                     (uint64_t)cJSON_GetObjectItemCaseSensitive(V, "genesis_block")->valuedouble);
    /* the verified values are the node's claimed values */
    struct nr_evidence_result r;
    assert_int_equal(nr_evidence_verify(&r, &ev, &pol, err, sizeof err), NR_OK);
    for (size_t j = 0; j < L.proof.n_storage; j++)
        assert_memory_equal(r.value[j], L.proof.storage[j].value.b, 32);
    assert_memory_equal(r.storage_root, L.proof.storage_hash, 32);
    assert_int_equal(r.agreeing, 2);
    assert_int_equal(r.dissent, 0);
}

static void test_genesis_absent_is_an_exclusion_proof(void **state)
{
    (void)state;
    struct nr_evidence ev;
    build(&ev, &L.absent, 1);
    struct nr_evidence_policy pol = policy(1, 0);
    struct nr_evidence_genesis g;
    char err[256];
    int rc = nr_evidence_genesis(&g, &ev, &pol, L.system_id, 2, err, sizeof err);
    if (rc != NR_OK)
        fprintf(stderr, "%s\n", err);
    assert_int_equal(rc, NR_OK);
    assert_true(g.system.exists);
    assert_false(g.genesis.recorded);
    /* each genesis slot is proven absent, not merely reported zero */
    uint8_t root[32], v[32];
    memcpy(root, L.absent.storage_hash, 32);
    for (size_t j = NR_REGISTRY_SYSTEM_FIELDS + 1; j < L.absent.n_storage; j++) {
        int found = 1;
        assert_int_equal(nr_mpt_storage(v, &found, root, L.absent.storage[j].key,
                                        L.absent.storage[j].nodes, L.absent.storage[j].n_nodes),
                         NR_OK);
        assert_false(found);
    }
    /* epoch 1's proof offered for epoch 2 is for other slots */
    build(&ev, &L.proof, 1);
    assert_int_equal(nr_evidence_genesis(&g, &ev, &pol, L.system_id, 2, err, sizeof err), NR_EPROOF);
}

static void test_absent_account(void **state)
{
    (void)state;
    uint8_t h[32], root[32];
    uint64_t number;
    assert_int_equal(nr_evidence_header(h, &number, root, L.header, L.header_len), NR_OK);
    struct nr_mpt_account acc;
    int found = 1;
    assert_int_equal(nr_mpt_account(&acc, &found, root, L.absent_addr, L.absent_acct.account_nodes,
                                    L.absent_acct.n_account_nodes),
                     NR_OK);
    assert_false(found);
    /* the registry's account proof does not prove another address */
    assert_int_not_equal(nr_mpt_account(&acc, &found, root, L.absent_addr, L.proof.account_nodes,
                                        L.proof.n_account_nodes) == NR_OK && found, 1);
    /* a registry address that has no account: refused */
    struct nr_evidence ev;
    build(&ev, &L.absent_acct, 1);
    struct nr_evidence_policy pol = policy(1, 0);
    memcpy(pol.registry, L.absent_addr, 20);
    struct nr_evidence_result r;
    char err[256];
    assert_int_equal(nr_evidence_verify(&r, &ev, &pol, err, sizeof err), NR_EPROOF);
    assert_non_null(strstr(err, "does not exist"));
    /* the empty trie */
    assert_int_equal(nr_mpt_account(&acc, &found, nr_mpt_empty_root, L.absent_addr, NULL, 0), NR_OK);
    assert_false(found);
    assert_int_equal(nr_mpt_account(&acc, &found, root, L.absent_addr, NULL, 0), NR_EPROOF);
    /* the empty trie given as its root node rlp("") (anvil, for an empty storage) */
    const struct nr_eth_bytes empty = {(const uint8_t *)"\x80", 1};
    uint8_t v[32];
    found = 1;
    assert_int_equal(nr_mpt_storage(v, &found, nr_mpt_empty_root, L.system_id, &empty, 1), NR_OK);
    assert_false(found);
    const struct nr_eth_bytes two[2] = {empty, empty};
    assert_int_equal(nr_mpt_storage(v, &found, nr_mpt_empty_root, L.system_id, two, 2), NR_EPROOF);
}

/* Copies of a node list whose node i has byte b flipped (or is cut to len). */
static int verify_with_node(const struct nr_evidence *base, int account, size_t slot, size_t i,
                            const uint8_t *node, size_t len)
{
    struct nr_eth_bytes nodes[NR_MPT_MAX_NODES + 1];
    const struct nr_eth_bytes *src = account ? base->account_proof : base->storage[slot].nodes;
    size_t n = account ? base->n_account_nodes : base->storage[slot].n_nodes;
    memcpy(nodes, src, n * sizeof nodes[0]);
    nodes[i] = (struct nr_eth_bytes){node, len};
    struct nr_evidence ev = *base;
    if (account)
        ev.account_proof = nodes;
    else
        ev.storage[slot].nodes = nodes;
    struct nr_evidence_policy pol = policy(1, 0);
    struct nr_evidence_result r;
    char err[256];
    return nr_evidence_verify(&r, &ev, &pol, err, sizeof err);
}

static void tamper_list(const struct nr_evidence *ev, int account, size_t slot)
{
    const struct nr_eth_bytes *src = account ? ev->account_proof : ev->storage[slot].nodes;
    size_t n = account ? ev->n_account_nodes : ev->storage[slot].n_nodes;
    uint8_t buf[NR_MPT_MAX_NODE_BYTES];
    for (size_t i = 0; i < n; i++) {
        for (size_t b = 0; b < src[i].len; b++) {
            memcpy(buf, src[i].p, src[i].len);
            buf[b] ^= (uint8_t)(1u << (b % 8));
            assert_int_equal(verify_with_node(ev, account, slot, i, buf, src[i].len), NR_EPROOF);
        }
        memcpy(buf, src[i].p, src[i].len);
        assert_int_equal(verify_with_node(ev, account, slot, i, buf, src[i].len - 1), NR_EPROOF);
        assert_int_equal(verify_with_node(ev, account, slot, i, buf, 1), NR_EPROOF);
    }
}

static void test_flipped_and_truncated_nodes(void **state)
{
    (void)state;
    struct nr_evidence ev;
    build(&ev, &L.proof, 1);
    tamper_list(&ev, 1, 0);
    for (size_t j = 0; j < ev.n_storage; j++)
        tamper_list(&ev, 0, j);
    struct nr_evidence bad;
    build(&bad, &L.absent, 1);
    for (size_t j = 0; j < bad.n_storage; j++)
        tamper_list(&bad, 0, j);
}

static void test_missing_and_extra_nodes(void **state)
{
    (void)state;
    struct nr_evidence ev;
    struct nr_evidence_policy pol = policy(1, 0);
    struct nr_evidence_result r;
    char err[256];
    build(&ev, &L.proof, 1);
    ev.n_account_nodes--; /* last node dropped */
    assert_int_equal(nr_evidence_verify(&r, &ev, &pol, err, sizeof err), NR_EPROOF);
    build(&ev, &L.proof, 1);
    ev.storage[3].n_nodes--;
    assert_int_equal(nr_evidence_verify(&r, &ev, &pol, err, sizeof err), NR_EPROOF);
    /* a node appended after the leaf */
    struct nr_eth_bytes more[NR_MPT_MAX_NODES];
    size_t n = L.proof.storage[3].n_nodes;
    memcpy(more, L.proof.storage[3].nodes, n * sizeof more[0]);
    more[n] = more[0];
    build(&ev, &L.proof, 1);
    ev.storage[3].nodes = more;
    ev.storage[3].n_nodes = n + 1;
    assert_int_equal(nr_evidence_verify(&r, &ev, &pol, err, sizeof err), NR_EPROOF);
    /* no nodes at all against a non-empty root */
    build(&ev, &L.proof, 1);
    ev.storage[0].n_nodes = 0;
    assert_int_equal(nr_evidence_verify(&r, &ev, &pol, err, sizeof err), NR_EPROOF);
}

static void test_wrong_root(void **state)
{
    (void)state;
    uint8_t root[32], v[32];
    int found = 0;
    memcpy(root, L.proof.storage_hash, 32);
    root[7] ^= 0x40;
    assert_int_equal(nr_mpt_storage(v, &found, root, L.proof.storage[0].key,
                                    L.proof.storage[0].nodes, L.proof.storage[0].n_nodes),
                     NR_EPROOF);
    /* the storage proof against the state root, the account proof against the storage root */
    uint8_t h[32], state_root[32];
    uint64_t number;
    assert_int_equal(nr_evidence_header(h, &number, state_root, L.header, L.header_len), NR_OK);
    assert_int_equal(nr_mpt_storage(v, &found, state_root, L.proof.storage[0].key,
                                    L.proof.storage[0].nodes, L.proof.storage[0].n_nodes),
                     NR_EPROOF);
    struct nr_mpt_account acc;
    assert_int_equal(nr_mpt_account(&acc, &found, L.proof.storage_hash, L.registry,
                                    L.proof.account_nodes, L.proof.n_account_nodes),
                     NR_EPROOF);
    /* another registry address */
    struct nr_evidence ev;
    build(&ev, &L.proof, 1);
    struct nr_evidence_policy pol = policy(1, 0);
    pol.registry[0] ^= 1;
    struct nr_evidence_result r;
    char err[256];
    assert_int_equal(nr_evidence_verify(&r, &ev, &pol, err, sizeof err), NR_EPROOF);
}

static void test_swapped_slots(void **state)
{
    (void)state;
    struct nr_evidence ev;
    struct nr_evidence_policy pol = policy(1, 0);
    struct nr_evidence_result r;
    struct nr_evidence_genesis g;
    char err[256];
    /* slot keys swapped, nodes in place: each proof now claims another key */
    for (size_t a = 0; a + 1 < L.proof.n_storage; a++) {
        build(&ev, &L.proof, 1);
        size_t b = a + 1;
        memcpy(ev.storage[a].slot, L.proof.storage[b].key, 32);
        memcpy(ev.storage[b].slot, L.proof.storage[a].key, 32);
        int rc = nr_evidence_verify(&r, &ev, &pol, err, sizeof err);
        if (rc == NR_OK) /* a genuine exclusion proof for the other key: then it is absent */
            assert_true(memcmp(r.value[a], L.proof.storage[b].value.b, 32) == 0 &&
                        memcmp(r.value[b], L.proof.storage[a].value.b, 32) == 0);
        else
            assert_int_equal(rc, NR_EPROOF);
    }
    /* whole proofs swapped: each verifies, but the genesis needs them in its order */
    build(&ev, &L.proof, 1);
    struct nr_evidence_storage t = ev.storage[5];
    ev.storage[5] = ev.storage[6];
    ev.storage[6] = t;
    assert_int_equal(nr_evidence_verify(&r, &ev, &pol, err, sizeof err), NR_OK);
    assert_int_equal(nr_evidence_genesis(&g, &ev, &pol, L.system_id, 1, err, sizeof err), NR_EPROOF);
    /* one proof missing */
    build(&ev, &L.proof, 1);
    ev.n_storage--;
    assert_int_equal(nr_evidence_genesis(&g, &ev, &pol, L.system_id, 1, err, sizeof err), NR_EPROOF);
}

static void test_headers(void **state)
{
    (void)state;
    struct nr_evidence ev;
    struct nr_evidence_result r;
    char err[256];
    /* the header of another block at the claimed height */
    build(&ev, &L.proof, 1);
    ev.headers[0] = (struct nr_eth_bytes){L.other_header, L.other_len};
    struct nr_evidence_policy pol = policy(1, 0);
    assert_int_equal(nr_evidence_verify(&r, &ev, &pol, err, sizeof err), NR_EDISAGREE);
    /* ... claimed at its own height: its state root does not hold this proof */
    ev.height = L.height - 1;
    assert_int_equal(nr_evidence_verify(&r, &ev, &pol, err, sizeof err), NR_EPROOF);
    /* k - 1 agreeing headers */
    build(&ev, &L.proof, 3);
    ev.headers[2] = (struct nr_eth_bytes){L.other_header, L.other_len};
    pol = policy(3, 0);
    assert_int_equal(nr_evidence_verify(&r, &ev, &pol, err, sizeof err), NR_EDISAGREE);
    pol = policy(2, 0);
    assert_int_equal(nr_evidence_verify(&r, &ev, &pol, err, sizeof err), NR_OK);
    assert_int_equal(r.agreeing, 2);
    assert_int_equal(r.dissent, 1u << 2);
    /* a flipped header byte among two that must agree */
    uint8_t h[NR_EVIDENCE_MAX_HEADER_BYTES];
    memcpy(h, L.header, L.header_len);
    build(&ev, &L.proof, 2);
    pol = policy(2, 0);
    for (size_t b = 0; b < L.header_len; b += 7) {
        h[b] ^= 0x10;
        ev.headers[1] = (struct nr_eth_bytes){h, L.header_len};
        assert_int_equal(nr_evidence_verify(&r, &ev, &pol, err, sizeof err), NR_EDISAGREE);
        h[b] ^= 0x10;
    }
    /* a flipped state root with k = 1: the proof no longer verifies */
    uint8_t hash[32], root[32];
    uint64_t number;
    assert_int_equal(nr_evidence_header(hash, &number, root, L.header, L.header_len), NR_OK);
    uint8_t *p = memmem(h, L.header_len, root, 32);
    assert_non_null(p);
    p[0] ^= 1;
    build(&ev, &L.proof, 1);
    ev.headers[0] = (struct nr_eth_bytes){h, L.header_len};
    pol = policy(1, 0);
    assert_int_equal(nr_evidence_verify(&r, &ev, &pol, err, sizeof err), NR_EPROOF);
    /* truncated header, garbage, empty */
    ev.headers[0] = (struct nr_eth_bytes){L.header, L.header_len - 1};
    assert_int_equal(nr_evidence_verify(&r, &ev, &pol, err, sizeof err), NR_EDISAGREE);
    ev.headers[0] = (struct nr_eth_bytes){(const uint8_t *)"\xc0", 1};
    assert_int_equal(nr_evidence_verify(&r, &ev, &pol, err, sizeof err), NR_EDISAGREE);
    ev.headers[0] = (struct nr_eth_bytes){NULL, 0};
    assert_int_equal(nr_evidence_verify(&r, &ev, &pol, err, sizeof err), NR_EDISAGREE);
    /* bad policies are refused, not trusted */
    build(&ev, &L.proof, 2);
    pol = policy(0, 0);
    assert_int_equal(nr_evidence_verify(&r, &ev, &pol, err, sizeof err), NR_EINVAL);
    pol = policy(3, 0);
    assert_int_equal(nr_evidence_verify(&r, &ev, &pol, err, sizeof err), NR_EINVAL);
    /* two different blocks, each reaching k */
    build(&ev, &L.proof, 2);
    ev.headers[1] = (struct nr_eth_bytes){L.other_header, L.other_len};
    ev.height = L.height; /* other_header has another number: not a competitor */
    pol = policy(1, 0);
    assert_int_equal(nr_evidence_verify(&r, &ev, &pol, err, sizeof err), NR_OK);
    assert_int_equal(r.dissent, 2u);
}

static void test_height_below_min(void **state)
{
    (void)state;
    struct nr_evidence ev;
    struct nr_evidence_result r;
    char err[256];
    build(&ev, &L.proof, 1);
    struct nr_evidence_policy pol = policy(1, L.height + 1);
    assert_int_equal(nr_evidence_verify(&r, &ev, &pol, err, sizeof err), NR_ESTALE);
    assert_non_null(strstr(err, "below"));
    pol = policy(1, L.height);
    assert_int_equal(nr_evidence_verify(&r, &ev, &pol, err, sizeof err), NR_OK);
}

static void test_reencoded_header_must_hash(void **state)
{
    (void)state;
    cJSON *blk = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(V, "block"), 1);
    uint8_t *rlp = NULL, hash[32];
    size_t len = 0;
    uint64_t number = 0;
    char err[256];
    cJSON_ReplaceItemInObjectCaseSensitive(blk, "gasUsed", cJSON_CreateString("0x1"));
    assert_int_equal(nr_rpc_parse_block_header(&rlp, &len, hash, &number, blk, err, sizeof err),
                     NR_ECHAIN);
    assert_non_null(strstr(err, "does not hash"));
    cJSON_DeleteItemFromObjectCaseSensitive(blk, "stateRoot");
    assert_int_equal(nr_rpc_parse_block_header(&rlp, &len, hash, &number, blk, err, sizeof err),
                     NR_EMALFORMED);
    cJSON_Delete(blk);
    blk = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(V, "block"), 1);
    cJSON_DeleteItemFromObjectCaseSensitive(blk, "withdrawalsRoot"); /* a gap in the forks */
    assert_int_equal(nr_rpc_parse_block_header(&rlp, &len, hash, &number, blk, err, sizeof err),
                     NR_EMALFORMED);
    cJSON_Delete(blk);
    assert_null(rlp);
}

/* The protocol core's form of a genesis record (struct nr_genesis: nr_genesis_pack,
 * nr_genesis_compute_id, nr_genesis_unpack) on the record the contract accepted on anvil: the
 * same words and the same id as recordGenesis; and unpack(pack(g)) is g for every n. */
static void test_genesis_record_is_the_contracts(void **state)
{
    (void)state;
    struct nr_genesis g;
    memset(&g, 0, sizeof g);
    memcpy(g.system_id, L.system_id, 32);
    g.epoch = 1;
    g.n = 3;
    const cJSON *jf = nr_test_array(V, "founders");
    for (int j = 0; j < 3; j++) {
        const cJSON *o = cJSON_GetArrayItem(jf, j);
        g.founders[j].inc = strtoull(nr_test_str(o, "incarnation"), NULL, 10);
        g.founders[j].nonce = strtoull(nr_test_str(o, "nonce"), NULL, 10);
    }
    uint8_t want[NR_GENESIS_FOUNDERS_BYTES], words[NR_GENESIS_WORDS][NR_GENESIS_WORD_BYTES];
    nr_test_hex_exact(want, sizeof want, nr_test_str(V, "founders_words"));
    nr_genesis_pack(words, &g);
    assert_memory_equal(words, want, sizeof want);
    uint8_t id[NR_GENESIS_ID_BYTES];
    nr_genesis_compute_id(id, &g);
    assert_memory_equal(id, L.gid, 32);

    uint64_t x = 0x9e3779b97f4a7c15u;
    for (uint16_t n = 1; n <= NR_GENESIS_MAX_FOUNDERS; n++) {
        struct nr_genesis a, b;
        memset(&a, 0, sizeof a);
        a.n = n;
        for (uint16_t j = 0; j < n; j++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            a.founders[j].inc = x;
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            a.founders[j].nonce = x;
        }
        nr_genesis_pack(words, &a);
        memset(&b, 0xa5, sizeof b);
        nr_genesis_unpack(&b, (const uint8_t(*)[NR_GENESIS_WORD_BYTES])words, n);
        assert_int_equal(b.n, n);
        assert_memory_equal(b.founders, a.founders, sizeof a.founders);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slots_and_id_match_the_contract),
        cmocka_unit_test(test_genesis_recorded),
        cmocka_unit_test(test_genesis_absent_is_an_exclusion_proof),
        cmocka_unit_test(test_absent_account),
        cmocka_unit_test(test_flipped_and_truncated_nodes),
        cmocka_unit_test(test_missing_and_extra_nodes),
        cmocka_unit_test(test_wrong_root),
        cmocka_unit_test(test_swapped_slots),
        cmocka_unit_test(test_headers),
        cmocka_unit_test(test_height_below_min),
        cmocka_unit_test(test_reencoded_header_must_hash),
        cmocka_unit_test(test_genesis_record_is_the_contracts),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
