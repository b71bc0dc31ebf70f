/* Keccak-256 (cast vectors + the empty string), u256 and hex helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "eth/eth.h"
#include "test_eth_vectors.h"

static void test_keccak_empty(void **state)
{
    (void)state;
    uint8_t h[32], want[32];
    nr_test_hex_exact(want, 32, "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
    nr_keccak256(h, (const uint8_t *)"", 0);
    assert_memory_equal(h, want, 32);
    nr_keccak256(h, NULL, 0);
    assert_memory_equal(h, want, 32);
}

static void test_keccak_cast_vectors(void **state)
{
    (void)state;
    cJSON *j = nr_test_load_vectors("cast-vectors.json");
    const cJSON *arr = nr_test_array(j, "keccak256"), *v;
    int n = 0;
    cJSON_ArrayForEach(v, arr)
    {
        const char *in = nr_test_str(v, "input_utf8");
        uint8_t h[32], want[32];
        nr_test_hex_exact(want, 32, nr_test_str(v, "hash"));
        nr_keccak256(h, (const uint8_t *)in, strlen(in));
        assert_memory_equal(h, want, 32);
        n++;
    }
    assert_true(n >= 4);
    cJSON_Delete(j);
}

/* Block-boundary lengths must agree with a one-shot hash of the same bytes computed through
 * a different split: here we check that every length around the 136-byte rate gives distinct
 * digests and that the multi-block cast vector (200 bytes) already matched above. */
static void test_keccak_rate_boundaries(void **state)
{
    (void)state;
    uint8_t buf[300], prev[32], h[32];
    memset(buf, 'a', sizeof buf);
    memset(prev, 0, sizeof prev);
    for (size_t len = 130; len <= 280; len++) {
        nr_keccak256(h, buf, len);
        assert_memory_not_equal(h, prev, 32);
        memcpy(prev, h, 32);
    }
}

static void test_u256_parse(void **state)
{
    (void)state;
    nr_u256 a, b;
    uint64_t x;
    assert_int_equal(nr_u256_parse(&a, "1000000000000000000"), NR_OK);
    assert_int_equal(nr_u256_to_u64(&x, &a), NR_OK);
    assert_true(x == 1000000000000000000ull);
    assert_int_equal(nr_u256_parse(&b, "0xDE0B6B3A7640000"), NR_OK);
    assert_int_equal(nr_u256_cmp(&a, &b), 0);
    assert_int_equal(nr_u256_parse(&a, "0x0"), NR_OK);
    assert_true(nr_u256_is_zero(&a));
    /* 2^256 - 1 fits, 2^256 does not */
    assert_int_equal(
        nr_u256_parse(&a, "115792089237316195423570985008687907853269984665640564039457584007913129639935"),
        NR_OK);
    for (size_t i = 0; i < 32; i++)
        assert_int_equal(a.b[i], 0xff);
    assert_int_equal(nr_u256_to_u64(&x, &a), NR_ETOOBIG);
    assert_int_equal(
        nr_u256_parse(&a, "115792089237316195423570985008687907853269984665640564039457584007913129639936"),
        NR_ETOOBIG);
    assert_int_equal(
        nr_u256_parse(&a, "0x10000000000000000000000000000000000000000000000000000000000000000"),
        NR_ETOOBIG);
    assert_int_equal(
        nr_u256_parse(&a, "0x00000000ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"),
        NR_OK);
    assert_int_equal(nr_u256_parse(&a, ""), NR_EMALFORMED);
    assert_int_equal(nr_u256_parse(&a, "0x"), NR_EMALFORMED);
    assert_int_equal(nr_u256_parse(&a, "12a"), NR_EMALFORMED);
    assert_int_equal(nr_u256_parse(&a, "0xg"), NR_EMALFORMED);
    assert_int_equal(nr_u256_parse(&a, "-1"), NR_EMALFORMED);
    assert_int_equal(nr_u256_parse(&a, NULL), NR_EMALFORMED);
}

static void test_u256_format(void **state)
{
    (void)state;
    nr_u256 a, b;
    char hex[NR_U256_HEX_MAX], dec[NR_U256_DEC_MAX];
    nr_u256_from_u64(&a, 0);
    nr_u256_to_hex(hex, &a);
    nr_u256_to_dec(dec, &a);
    assert_string_equal(hex, "0x0");
    assert_string_equal(dec, "0");
    nr_u256_from_u64(&a, 31337);
    nr_u256_to_hex(hex, &a);
    nr_u256_to_dec(dec, &a);
    assert_string_equal(hex, "0x7a69");
    assert_string_equal(dec, "31337");
    const char *max = "115792089237316195423570985008687907853269984665640564039457584007913129639935";
    assert_int_equal(nr_u256_parse(&a, max), NR_OK);
    nr_u256_to_dec(dec, &a);
    assert_string_equal(dec, max);
    nr_u256_to_hex(hex, &a);
    assert_int_equal(strlen(hex), 66);
    assert_int_equal(nr_u256_parse(&b, hex), NR_OK);
    assert_int_equal(nr_u256_cmp(&a, &b), 0);
    nr_u256_from_u64(&b, 1);
    assert_int_equal(nr_u256_cmp(&b, &a), -1);
    assert_int_equal(nr_u256_cmp(&a, &b), 1);
}

static void test_hex(void **state)
{
    (void)state;
    uint8_t out[4];
    size_t n = 99;
    char s[16];
    assert_int_equal(nr_eth_hex_decode(out, sizeof out, &n, "0x"), NR_OK);
    assert_int_equal(n, 0);
    assert_int_equal(nr_eth_hex_decode(out, sizeof out, &n, "DeadBeef"), NR_OK);
    assert_int_equal(n, 4);
    assert_int_equal(out[0], 0xde);
    assert_int_equal(out[3], 0xef);
    assert_int_equal(nr_eth_hex_decode(out, sizeof out, &n, "0xabc"), NR_EMALFORMED);
    assert_int_equal(nr_eth_hex_decode(out, sizeof out, &n, "0xzz"), NR_EMALFORMED);
    assert_int_equal(nr_eth_hex_decode(out, sizeof out, &n, "0x0102030405"), NR_ETOOBIG);
    assert_int_equal(nr_eth_hex_encode(s, sizeof s, out, 4), NR_OK);
    assert_string_equal(s, "0xdeadbeef");
    assert_int_equal(nr_eth_hex_encode(s, 10, out, 4), NR_ETOOBIG);
}

/* EIP-55 checksums of the cast address vectors (cast prints checksummed addresses). */
static void test_address_checksum(void **state)
{
    (void)state;
    cJSON *j = nr_test_load_vectors("cast-vectors.json");
    const cJSON *v;
    cJSON_ArrayForEach(v, nr_test_array(j, "addresses"))
    {
        const char *want = nr_test_str(v, "address");
        uint8_t a[20];
        char got[NR_ETH_ADDR_HEX_BYTES];
        nr_test_hex_exact(a, 20, want);
        nr_eth_address_hex(got, a);
        assert_string_equal(got, want);
    }
    cJSON_Delete(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keccak_empty),     cmocka_unit_test(test_keccak_cast_vectors),
        cmocka_unit_test(test_keccak_rate_boundaries), cmocka_unit_test(test_u256_parse),
        cmocka_unit_test(test_u256_format),      cmocka_unit_test(test_hex),
        cmocka_unit_test(test_address_checksum),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
