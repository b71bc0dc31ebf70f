/* secp256k1 keys (address vectors), and signed legacy EIP-155 / EIP-1559 transactions that must
 * match Foundry cast's output byte for byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "eth/eth.h"
#include "test_eth_vectors.h"

static void test_addresses(void **state)
{
    (void)state;
    cJSON *j = nr_test_load_vectors("cast-vectors.json");
    const cJSON *v;
    int n = 0;
    cJSON_ArrayForEach(v, nr_test_array(j, "addresses"))
    {
        uint8_t sk[32], want[20], got[20];
        nr_test_hex_exact(sk, 32, nr_test_str(v, "private_key"));
        nr_test_hex_exact(want, 20, nr_test_str(v, "address"));
        assert_int_equal(nr_eth_address(got, sk), NR_OK);
        assert_memory_equal(got, want, 20);
        n++;
    }
    assert_true(n >= 3);
    cJSON_Delete(j);
}

static void test_invalid_keys(void **state)
{
    (void)state;
    uint8_t sk[32], addr[20];
    memset(sk, 0, sizeof sk); /* zero is not a scalar */
    assert_int_equal(nr_eth_address(addr, sk), NR_EINVAL);
    memset(sk, 0xff, sizeof sk); /* >= group order */
    assert_int_equal(nr_eth_address(addr, sk), NR_EINVAL);
    uint8_t h[32] = {1}, r[32], s[32];
    int recid;
    assert_int_equal(nr_eth_sign(r, s, &recid, h, sk), NR_EINVAL);
}

struct fake_rng {
    unsigned calls;
    unsigned bad_first; /* number of draws that return an invalid scalar first */
};

static void rng_fill(void *arg, uint8_t *out, size_t len)
{
    struct fake_rng *r = arg;
    r->calls++;
    memset(out, r->calls <= r->bad_first ? 0x00 : (int)(0x10u + r->calls), len);
}

static void test_keygen_injected(void **state)
{
    (void)state;
    struct fake_rng r = {0, 2};
    uint8_t sk[32], want[32], a1[20], a2[20];
    assert_int_equal(nr_eth_keygen(sk, rng_fill, &r), NR_OK);
    assert_int_equal(r.calls, 3); /* two zero draws rejected */
    memset(want, 0x13, sizeof want);
    assert_memory_equal(sk, want, 32);
    assert_int_equal(nr_eth_address(a1, sk), NR_OK);
    /* same randomness, same key */
    struct fake_rng r2 = {0, 2};
    assert_int_equal(nr_eth_keygen(sk, rng_fill, &r2), NR_OK);
    assert_int_equal(nr_eth_address(a2, sk), NR_OK);
    assert_memory_equal(a1, a2, 20);
    /* a source that never yields a valid scalar is an error, and the output is wiped */
    struct fake_rng dead = {0, 1000};
    assert_int_equal(nr_eth_keygen(sk, rng_fill, &dead), NR_EINVAL);
    memset(want, 0, sizeof want);
    assert_memory_equal(sk, want, 32);
}

static void test_sign_recover(void **state)
{
    (void)state;
    uint8_t sk[32], h[32], r[32], s[32], r2[32], s2[32], addr[20], rec[20];
    int recid, recid2;
    memset(sk, 0x46, sizeof sk);
    nr_keccak256(h, (const uint8_t *)"narrator", 8);
    assert_int_equal(nr_eth_address(addr, sk), NR_OK);
    assert_int_equal(nr_eth_sign(r, s, &recid, h, sk), NR_OK);
    assert_true(recid == 0 || recid == 1);
    assert_true(s[0] < 0x80); /* low-s */
    assert_int_equal(nr_eth_sign(r2, s2, &recid2, h, sk), NR_OK); /* RFC 6979: deterministic */
    assert_memory_equal(r, r2, 32);
    assert_memory_equal(s, s2, 32);
    assert_int_equal(recid, recid2);
    assert_int_equal(nr_eth_recover(rec, h, r, s, recid), NR_OK);
    assert_memory_equal(rec, addr, 20);
    /* another hash or the other recid recovers someone else */
    h[0] ^= 1;
    if (nr_eth_recover(rec, h, r, s, recid) == NR_OK)
        assert_memory_not_equal(rec, addr, 20);
    h[0] ^= 1;
    if (nr_eth_recover(rec, h, r, s, recid ^ 1) == NR_OK)
        assert_memory_not_equal(rec, addr, 20);
    assert_int_equal(nr_eth_recover(rec, h, r, s, 7), NR_EMALFORMED);
    memset(r2, 0xff, sizeof r2); /* r >= n */
    assert_int_equal(nr_eth_recover(rec, h, r2, s, recid), NR_EMALFORMED);
}

static void u256_field(nr_u256 *out, const cJSON *v, const char *key)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(v, key);
    assert_non_null(f);
    if (cJSON_IsString(f)) {
        assert_int_equal(nr_u256_parse(out, f->valuestring), NR_OK);
    } else {
        assert_true(cJSON_IsNumber(f) && f->valuedouble >= 0 && f->valuedouble < 9007199254740992.0);
        nr_u256_from_u64(out, (uint64_t)f->valuedouble);
    }
}

static uint64_t u64_field(const cJSON *v, const char *key)
{
    nr_u256 u;
    uint64_t x = 0;
    u256_field(&u, v, key);
    assert_int_equal(nr_u256_to_u64(&x, &u), NR_OK);
    return x;
}

/* Builds the tx of a vector, signs it, compares with "signed", and checks that the signature
 * in the output recovers the sender's address. */
static void check_tx_vector(const cJSON *v, int type)
{
    struct nr_eth_tx tx;
    memset(&tx, 0, sizeof tx);
    tx.type = type;
    tx.chain_id = u64_field(v, "chain_id");
    tx.nonce = u64_field(v, "nonce");
    tx.gas_limit = u64_field(v, "gas_limit");
    if (type == 0) {
        u256_field(&tx.gas_price, v, "gas_price");
    } else {
        u256_field(&tx.max_priority_fee, v, "max_priority_fee_per_gas");
        u256_field(&tx.max_fee, v, "max_fee_per_gas");
    }
    u256_field(&tx.value, v, "value");
    tx.has_to = 1;
    nr_test_hex_exact(tx.to, 20, nr_test_str(v, "to"));
    size_t data_len;
    uint8_t *data = nr_test_hex(nr_test_str(v, "data"), &data_len);
    tx.data = data;
    tx.data_len = data_len;
    uint8_t sk[32], sender[20];
    nr_test_hex_exact(sk, 32, nr_test_str(v, "private_key"));
    assert_int_equal(nr_eth_address(sender, sk), NR_OK);

    size_t want_len;
    uint8_t *want = nr_test_hex(nr_test_str(v, "signed"), &want_len);
    uint8_t *raw = NULL, txh[32], want_h[32];
    size_t raw_len = 0;
    assert_int_equal(nr_eth_tx_sign(&raw, &raw_len, txh, &tx, sk), NR_OK);
    assert_int_equal(raw_len, want_len);
    assert_memory_equal(raw, want, want_len);
    nr_keccak256(want_h, want, want_len);
    assert_memory_equal(txh, want_h, 32);
    const cJSON *hf = cJSON_GetObjectItemCaseSensitive(v, "hash");
    if (cJSON_IsString(hf)) {
        nr_test_hex_exact(want_h, 32, hf->valuestring);
        assert_memory_equal(txh, want_h, 32);
    }

    /* decode the output: well-formed RLP, and (v|yParity, r, s) recover the sender */
    const uint8_t *body = raw;
    size_t body_len = raw_len;
    if (type == 2) {
        assert_int_equal(raw[0], 0x02);
        body++;
        body_len--;
    }
    assert_int_equal(nr_rlp_validate(body, body_len), NR_OK);
    struct nr_rlp_item list, it, f[12];
    size_t used, nf = 0;
    assert_int_equal(nr_rlp_decode(&list, body, body_len, &used), NR_OK);
    assert_true(list.is_list);
    const uint8_t *cur = list.payload;
    size_t left = list.payload_len;
    while (nr_rlp_next(&it, &cur, &left) == NR_OK) {
        assert_true(nf < 12);
        f[nf++] = it;
    }
    assert_int_equal(nf, type == 2 ? 12 : 9);
    nr_u256 ur, us;
    uint64_t vv;
    assert_int_equal(nr_rlp_item_u64(&vv, &f[nf - 3]), NR_OK);
    assert_int_equal(nr_rlp_item_u256(&ur, &f[nf - 2]), NR_OK);
    assert_int_equal(nr_rlp_item_u256(&us, &f[nf - 1]), NR_OK);
    int recid = type == 2 ? (int)vv : (int)(vv - 35u - 2u * tx.chain_id);
    assert_true(recid == 0 || recid == 1);
    uint8_t sh[32], rec[20];
    assert_int_equal(nr_eth_tx_signing_hash(sh, &tx), NR_OK);
    assert_int_equal(nr_eth_recover(rec, sh, ur.b, us.b, recid), NR_OK);
    assert_memory_equal(rec, sender, 20);

    free(raw);
    free(want);
    free(data);
}

static void test_legacy_eip155_vectors(void **state)
{
    (void)state;
    cJSON *j = nr_test_load_vectors("cast-vectors.json");
    const cJSON *v;
    cJSON_ArrayForEach(v, nr_test_array(j, "legacy_eip155")) check_tx_vector(v, 0);
    cJSON_Delete(j);
}

static void test_eip1559_vectors(void **state)
{
    (void)state;
    cJSON *j = nr_test_load_vectors("cast-vectors.json");
    const cJSON *v;
    int n = 0;
    cJSON_ArrayForEach(v, nr_test_array(j, "eip1559"))
    {
        check_tx_vector(v, 2);
        n++;
    }
    assert_true(n >= 2);
    cJSON_Delete(j);
}

/* The signing hash of the EIP-155 specification's worked example. */
static void test_eip155_signing_hash(void **state)
{
    (void)state;
    struct nr_eth_tx tx;
    memset(&tx, 0, sizeof tx);
    tx.type = 0;
    tx.chain_id = 1;
    tx.nonce = 9;
    nr_u256_from_u64(&tx.gas_price, 20000000000ull);
    tx.gas_limit = 21000;
    tx.has_to = 1;
    memset(tx.to, 0x35, 20);
    nr_u256_from_u64(&tx.value, 1000000000000000000ull);
    uint8_t h[32], want[32];
    assert_int_equal(nr_eth_tx_signing_hash(h, &tx), NR_OK);
    nr_test_hex_exact(want, 32, "daf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53");
    assert_memory_equal(h, want, 32);
}

static void test_tx_bad_args(void **state)
{
    (void)state;
    struct nr_eth_tx tx;
    memset(&tx, 0, sizeof tx);
    uint8_t sk[32], *raw = (uint8_t *)&tx, h[32];
    size_t raw_len = 7;
    memset(sk, 0x46, sizeof sk);
    tx.type = 1; /* access-list transactions are not supported */
    assert_int_equal(nr_eth_tx_sign(&raw, &raw_len, h, &tx, sk), NR_EINVAL);
    assert_null(raw);
    assert_int_equal(raw_len, 0);
    tx.type = 2;
    tx.data_len = 3; /* data missing */
    assert_int_equal(nr_eth_tx_signing_hash(h, &tx), NR_EINVAL);
    /* contract creation (no `to`) encodes an empty string in its place */
    tx.data_len = 0;
    tx.has_to = 0;
    assert_int_equal(nr_eth_tx_sign(&raw, &raw_len, NULL, &tx, sk), NR_OK);
    assert_int_equal(nr_rlp_validate(raw + 1, raw_len - 1), NR_OK);
    free(raw);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addresses),           cmocka_unit_test(test_invalid_keys),
        cmocka_unit_test(test_keygen_injected),     cmocka_unit_test(test_sign_recover),
        cmocka_unit_test(test_eip155_signing_hash), cmocka_unit_test(test_legacy_eip155_vectors),
        cmocka_unit_test(test_eip1559_vectors),     cmocka_unit_test(test_tx_bad_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
