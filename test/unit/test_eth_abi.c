/* ABI call encoding against cast's calldata, the bounds-checked decoders on the same data,
 * and revert-reason extraction from well-formed and hostile revert data. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "eth/eth.h"
#include "test_eth_vectors.h"

#define MAX_ARGS 8

/* Splits "name(t1,t2,...)" into type strings (no tuples in our vectors). */
static size_t sig_types(const char *sig, char types[MAX_ARGS][32])
{
    const char *p = strchr(sig, '(');
    assert_non_null(p);
    p++;
    size_t n = 0;
    while (*p && *p != ')') {
        size_t k = 0;
        assert_true(n < MAX_ARGS);
        while (*p != ',' && *p != ')') {
            assert_true(k < 31);
            types[n][k++] = *p++;
        }
        types[n][k] = '\0';
        n++;
        if (*p == ',')
            p++;
    }
    return n;
}

/* Parses "[0xaa..,0xbb..]" into packed 20-byte addresses. */
static size_t parse_addr_list(uint8_t *out, size_t max, const char *s)
{
    size_t n = 0;
    assert_int_equal(*s, '[');
    s++;
    while (*s && *s != ']') {
        char one[43];
        size_t k = 0;
        while (*s != ',' && *s != ']') {
            assert_true(k < 42);
            one[k++] = *s++;
        }
        one[k] = '\0';
        assert_true(n < max);
        nr_test_hex_exact(out + 20 * n, 20, one);
        n++;
        if (*s == ',')
            s++;
    }
    return n;
}

static void test_selector(void **state)
{
    (void)state;
    uint8_t sel[4];
    nr_abi_selector(sel, "transfer(address,uint256)");
    static const uint8_t want[4] = {0xa9, 0x05, 0x9c, 0xbb};
    assert_memory_equal(sel, want, 4);
    nr_abi_selector(sel, "Error(string)");
    static const uint8_t err[4] = {0x08, 0xc3, 0x79, 0xa0};
    assert_memory_equal(sel, err, 4);
}

static void test_calldata_vectors(void **state)
{
    (void)state;
    cJSON *j = nr_test_load_vectors("cast-vectors.json");
    const cJSON *v;
    int cases = 0;
    cJSON_ArrayForEach(v, nr_test_array(j, "abi_calldata"))
    {
        const char *sig = nr_test_str(v, "signature");
        char types[MAX_ARGS][32];
        size_t n = sig_types(sig, types);
        const cJSON *jargs = cJSON_GetObjectItemCaseSensitive(v, "args");
        assert_int_equal((size_t)cJSON_GetArraySize(jargs), n);
        struct nr_abi_arg args[MAX_ARGS];
        uint8_t *owned[MAX_ARGS] = {0};
        memset(args, 0, sizeof args);
        for (size_t i = 0; i < n; i++) {
            const char *a = cJSON_GetArrayItem(jargs, (int)i)->valuestring;
            assert_non_null(a);
            const char *t = types[i];
            if (strcmp(t, "bytes32") == 0) {
                args[i].type = NR_ABI_BYTES32;
                nr_test_hex_exact(args[i].b32, 32, a);
            } else if (strcmp(t, "address") == 0) {
                args[i].type = NR_ABI_ADDRESS;
                nr_test_hex_exact(args[i].b32 + 12, 20, a);
            } else if (strncmp(t, "uint", 4) == 0 && strchr(t, '[') == NULL) {
                args[i].type = NR_ABI_UINT256;
                assert_int_equal(nr_u256_parse(&args[i].u, a), NR_OK);
            } else if (strcmp(t, "bool") == 0) {
                args[i].type = NR_ABI_BOOL;
                nr_u256_from_u64(&args[i].u, strcmp(a, "true") == 0);
            } else if (strcmp(t, "bytes") == 0) {
                args[i].type = NR_ABI_BYTES;
                owned[i] = nr_test_hex(a, &args[i].bytes_len);
                args[i].bytes = owned[i];
            } else if (strcmp(t, "string") == 0) {
                args[i].type = NR_ABI_STRING;
                args[i].bytes = (const uint8_t *)a;
                args[i].bytes_len = strlen(a);
            } else if (strcmp(t, "address[]") == 0) {
                args[i].type = NR_ABI_ADDRESS_ARRAY;
                owned[i] = malloc(20 * 16);
                assert_non_null(owned[i]);
                args[i].n_items = parse_addr_list(owned[i], 16, a);
                args[i].items = owned[i];
            } else {
                fail_msg("vector type %s not supported by the test", t);
            }
        }
        struct nr_abi_buf out = {0};
        assert_int_equal(nr_abi_encode_call(&out, sig, args, n), NR_OK);
        size_t want_len;
        uint8_t *want = nr_test_hex(nr_test_str(v, "calldata"), &want_len);
        if (out.len != want_len || memcmp(out.p, want, want_len) != 0)
            fail_msg("calldata of %s differs", sig);

        /* decode every argument back from the expected bytes */
        const uint8_t *d = want + 4;
        size_t dl = want_len - 4;
        for (size_t i = 0; i < n; i++) {
            uint8_t w[32], addr[20];
            const uint8_t *p;
            size_t plen;
            switch (args[i].type) {
            case NR_ABI_BYTES32:
                assert_int_equal(nr_abi_word(d, dl, i, w), NR_OK);
                assert_memory_equal(w, args[i].b32, 32);
                break;
            case NR_ABI_ADDRESS:
                assert_int_equal(nr_abi_address(d, dl, i, addr), NR_OK);
                assert_memory_equal(addr, args[i].b32 + 12, 20);
                break;
            case NR_ABI_UINT256:
                assert_int_equal(nr_abi_word(d, dl, i, w), NR_OK);
                assert_memory_equal(w, args[i].u.b, 32);
                break;
            case NR_ABI_BYTES:
            case NR_ABI_STRING:
                assert_int_equal(nr_abi_dyn(d, dl, i, &p, &plen), NR_OK);
                assert_int_equal(plen, args[i].bytes_len);
                assert_memory_equal(p, args[i].bytes, plen);
                break;
            case NR_ABI_ADDRESS_ARRAY:
                assert_int_equal(nr_abi_array(d, dl, i, &p, &plen), NR_OK);
                assert_int_equal(plen, args[i].n_items);
                for (size_t k = 0; k < plen; k++) {
                    assert_int_equal(nr_abi_address(p, 32 * plen, k, addr), NR_OK);
                    assert_memory_equal(addr, args[i].items + 20 * k, 20);
                }
                break;
            default:
                break;
            }
        }
        free(want);
        free(out.p);
        for (size_t i = 0; i < n; i++)
            free(owned[i]);
        cases++;
    }
    assert_true(cases >= 4);
    cJSON_Delete(j);
}

static void test_encode_args_types(void **state)
{
    (void)state;
    /* (bool true, bytes32[] {0x11.., 0x22..}, uint256[] {}, bytes "") */
    uint8_t items[64];
    memset(items, 0x11, 32);
    memset(items + 32, 0x22, 32);
    struct nr_abi_arg a[4];
    memset(a, 0, sizeof a);
    a[0].type = NR_ABI_BOOL;
    nr_u256_from_u64(&a[0].u, 7); /* any non-zero is true */
    a[1].type = NR_ABI_BYTES32_ARRAY;
    a[1].items = items;
    a[1].n_items = 2;
    a[2].type = NR_ABI_UINT256_ARRAY;
    a[3].type = NR_ABI_BYTES;
    struct nr_abi_buf out = {0};
    assert_int_equal(nr_abi_encode_args(&out, a, 4), NR_OK);
    /* head 4 words, tail: [2, w, w], [0], [0] */
    assert_int_equal(out.len, 32 * (4 + 3 + 1 + 1));
    int b;
    uint64_t off;
    const uint8_t *p;
    size_t n;
    assert_int_equal(nr_abi_bool(out.p, out.len, 0, &b), NR_OK);
    assert_int_equal(b, 1);
    assert_int_equal(nr_abi_u64(out.p, out.len, 1, &off), NR_OK);
    assert_int_equal(off, 128);
    assert_int_equal(nr_abi_array(out.p, out.len, 1, &p, &n), NR_OK);
    assert_int_equal(n, 2);
    assert_memory_equal(p, items, 64);
    assert_int_equal(nr_abi_array(out.p, out.len, 2, &p, &n), NR_OK);
    assert_int_equal(n, 0);
    assert_int_equal(nr_abi_dyn(out.p, out.len, 3, &p, &n), NR_OK);
    assert_int_equal(n, 0);
    free(out.p);

    /* misuse is an error, latched in the buffer */
    struct nr_abi_buf bad = {0};
    a[0].type = 99;
    assert_int_equal(nr_abi_encode_args(&bad, a, 1), NR_EINVAL);
    assert_int_equal(bad.err, NR_EINVAL);
    free(bad.p);
}

static void test_decode_hostile(void **state)
{
    (void)state;
    uint8_t d[96], w[32], addr[20];
    const uint8_t *p;
    size_t n;
    uint64_t x;
    int b;
    memset(d, 0, sizeof d);
    assert_int_equal(nr_abi_word(d, 95, 2, w), NR_ETRUNCATED);
    assert_int_equal(nr_abi_word(d, 96, 2, w), NR_OK);
    assert_int_equal(nr_abi_word(d, 96, SIZE_MAX, w), NR_ETRUNCATED);
    d[0] = 1; /* upper bytes set */
    assert_int_equal(nr_abi_address(d, 96, 0, addr), NR_EMALFORMED);
    assert_int_equal(nr_abi_u64(d, 96, 0, &x), NR_ETOOBIG);
    assert_int_equal(nr_abi_bool(d, 96, 0, &b), NR_EMALFORMED);
    assert_int_equal(nr_abi_dyn(d, 96, 0, &p, &n), NR_ETRUNCATED); /* huge offset */
    memset(d, 0, sizeof d);
    d[31] = 2;
    assert_int_equal(nr_abi_bool(d, 96, 0, &b), NR_EMALFORMED);
    d[31] = 96; /* offset at the end: no room for a length */
    assert_int_equal(nr_abi_dyn(d, 96, 0, &p, &n), NR_ETRUNCATED);
    d[31] = 32;
    d[63] = 33; /* length 33 but only 32 bytes follow */
    assert_int_equal(nr_abi_dyn(d, 96, 0, &p, &n), NR_ETRUNCATED);
    d[63] = 32;
    assert_int_equal(nr_abi_dyn(d, 96, 0, &p, &n), NR_OK);
    assert_int_equal(n, 32);
    assert_ptr_equal(p, d + 64);
    d[63] = 2; /* 2 words would be 64 bytes */
    assert_int_equal(nr_abi_array(d, 96, 0, &p, &n), NR_ETRUNCATED);
    d[32] = 0x80; /* length with the top bit set */
    assert_int_equal(nr_abi_dyn(d, 96, 0, &p, &n), NR_ETOOBIG);
    d[32] = 0;
    memset(d + 56, 0xff, 8); /* length 2^64-1 */
    assert_int_equal(nr_abi_dyn(d, 96, 0, &p, &n), NR_ETOOBIG);
    memset(d + 32, 0, 32);
    memset(d + 24, 0xff, 8); /* offset 2^64-1 */
    assert_int_equal(nr_abi_dyn(d, 96, 0, &p, &n), NR_ETRUNCATED);
}

static void test_revert_reason(void **state)
{
    (void)state;
    char out[64];
    size_t len;
    /* Error("x") as a node returns it */
    uint8_t *d = nr_test_hex("0x08c379a0"
                             "0000000000000000000000000000000000000000000000000000000000000020"
                             "0000000000000000000000000000000000000000000000000000000000000001"
                             "7800000000000000000000000000000000000000000000000000000000000000",
                             &len);
    assert_int_equal(nr_abi_revert_reason(d, len, out, sizeof out), NR_OK);
    assert_string_equal(out, "x");
    /* every truncation is an error, never a read past the end */
    for (size_t k = 0; k < len - 31; k++) {
        int rc = nr_abi_revert_reason(d, k, out, sizeof out);
        assert_true(k == 0 ? rc == NR_ENOTFOUND : rc == NR_EMALFORMED);
    }
    free(d);

    /* encoder round trip, truncation to cap and sanitising of control bytes */
    const char *msg = "NarratorRegistry: already initialised\n\x01";
    struct nr_abi_arg a;
    memset(&a, 0, sizeof a);
    a.type = NR_ABI_STRING;
    a.bytes = (const uint8_t *)msg;
    a.bytes_len = strlen(msg);
    struct nr_abi_buf b = {0};
    assert_int_equal(nr_abi_encode_call(&b, "Error(string)", &a, 1), NR_OK);
    assert_int_equal(nr_abi_revert_reason(b.p, b.len, out, sizeof out), NR_OK);
    assert_string_equal(out, "NarratorRegistry: already initialised??");
    assert_int_equal(nr_abi_revert_reason(b.p, b.len, out, 9), NR_OK);
    assert_string_equal(out, "Narrator");
    free(b.p);

    /* Panic(0x11) (arithmetic overflow) */
    d = nr_test_hex("0x4e487b71"
                    "0000000000000000000000000000000000000000000000000000000000000011",
                    &len);
    assert_int_equal(nr_abi_revert_reason(d, len, out, sizeof out), NR_OK);
    assert_string_equal(out, "Panic(0x11)");
    assert_int_equal(nr_abi_revert_reason(d, len - 1, out, sizeof out), NR_EMALFORMED);
    /* a custom error selector is not a reason */
    d[0] = 0xde;
    assert_int_equal(nr_abi_revert_reason(d, len, out, sizeof out), NR_ENOTFOUND);
    assert_string_equal(out, "");
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_selector),          cmocka_unit_test(test_calldata_vectors),
        cmocka_unit_test(test_encode_args_types), cmocka_unit_test(test_decode_hostile),
        cmocka_unit_test(test_revert_reason),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
