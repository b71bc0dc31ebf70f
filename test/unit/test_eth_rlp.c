/* RLP against the ethereum/tests RLPTests vectors: every valid case is encoded from its JSON
 * input and compared byte for byte, then validated and decoded back to the same structure;
 * every invalid case must be rejected by nr_rlp_validate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "eth/eth.h"
#include "test_eth_vectors.h"

/* Decimal big integer ("#123...") to minimal big-endian bytes; returns the length. */
static size_t dec_to_be(uint8_t out[64], const char *dec)
{
    uint8_t v[64];
    memset(v, 0, sizeof v);
    for (const char *p = dec; *p; p++) {
        assert_true(*p >= '0' && *p <= '9');
        unsigned carry = (unsigned)(*p - '0');
        for (size_t i = sizeof v; i-- > 0;) {
            unsigned t = v[i] * 10u + carry;
            v[i] = (uint8_t)(t & 0xffu);
            carry = t >> 8;
        }
        assert_int_equal(carry, 0);
    }
    size_t i = 0;
    while (i < sizeof v && v[i] == 0)
        i++;
    memcpy(out, v + i, sizeof v - i);
    return sizeof v - i;
}

/* cJSON keeps strings NUL-terminated, so "\u0000" would read as "". The string inputs at the
 * top level of a case are therefore decoded from the raw file text. */
static size_t raw_case_string(uint8_t *out, size_t cap, const char *text, const char *name)
{
    char key[128];
    snprintf(key, sizeof key, "\"%s\"", name);
    const char *p = strstr(text, key);
    assert_non_null(p);
    p = strstr(p + strlen(key), "\"in\"");
    assert_non_null(p);
    p += 4;
    while (*p == ' ' || *p == ':' || *p == '\n' || *p == '\t')
        p++;
    assert_int_equal(*p, '"');
    p++;
    size_t n = 0;
    while (*p != '"') {
        assert_true(n + 4 < cap);
        if (*p != '\\') {
            out[n++] = (uint8_t)*p++;
            continue;
        }
        p++;
        switch (*p) {
        case 'u': {
            char hex[5] = {p[1], p[2], p[3], p[4], 0};
            unsigned long cp = strtoul(hex, NULL, 16);
            assert_true(cp < 0x800); /* enough for these vectors */
            if (cp < 0x80) {
                out[n++] = (uint8_t)cp;
            } else {
                out[n++] = (uint8_t)(0xc0u | (cp >> 6));
                out[n++] = (uint8_t)(0x80u | (cp & 0x3fu));
            }
            p += 5;
            continue;
        }
        case 'n': out[n++] = '\n'; break;
        case 't': out[n++] = '\t'; break;
        case 'r': out[n++] = '\r'; break;
        case 'b': out[n++] = '\b'; break;
        case 'f': out[n++] = '\f'; break;
        default: out[n++] = (uint8_t)*p; break; /* \" \\ \/ */
        }
        p++;
    }
    return n;
}

static void encode_json(struct nr_rlp_buf *b, const cJSON *in)
{
    if (cJSON_IsArray(in)) {
        size_t m = nr_rlp_list_begin(b);
        const cJSON *e;
        cJSON_ArrayForEach(e, in) encode_json(b, e);
        nr_rlp_list_end(b, m);
    } else if (cJSON_IsNumber(in)) {
        assert_true(in->valuedouble >= 0 && in->valuedouble < 9007199254740992.0);
        nr_rlp_u64(b, (uint64_t)in->valuedouble);
    } else if (cJSON_IsString(in) && in->valuestring[0] == '#') {
        uint8_t be[64];
        size_t n = dec_to_be(be, in->valuestring + 1);
        nr_u256 u;
        int rc = nr_u256_parse(&u, in->valuestring + 1);
        if (n <= 32) {
            assert_int_equal(rc, NR_OK);
            nr_rlp_uint(b, &u);
        } else {
            assert_int_equal(rc, NR_ETOOBIG); /* wider than u256: encode its bytes */
            nr_rlp_bytes(b, be, n);
        }
    } else {
        assert_true(cJSON_IsString(in));
        nr_rlp_bytes(b, (const uint8_t *)in->valuestring, strlen(in->valuestring));
    }
}

/* Decoded item must have the structure and contents of the JSON input. */
static void check_decoded(const uint8_t *enc, size_t len, const cJSON *in, const uint8_t *raw_str,
                          size_t raw_len)
{
    struct nr_rlp_item it;
    size_t used;
    assert_int_equal(nr_rlp_decode(&it, enc, len, &used), NR_OK);
    assert_int_equal(used, len);
    if (cJSON_IsArray(in)) {
        assert_true(it.is_list);
        const uint8_t *cur = it.payload;
        size_t left = it.payload_len;
        const cJSON *e;
        cJSON_ArrayForEach(e, in)
        {
            struct nr_rlp_item sub;
            const uint8_t *start = cur;
            assert_int_equal(nr_rlp_next(&sub, &cur, &left), NR_OK);
            check_decoded(start, (size_t)(cur - start), e, NULL, 0);
        }
        assert_int_equal(nr_rlp_next(&it, &cur, &left), NR_ENOTFOUND);
        return;
    }
    assert_false(it.is_list);
    if (cJSON_IsNumber(in)) {
        uint64_t v = 0;
        assert_int_equal(nr_rlp_item_u64(&v, &it), NR_OK);
        assert_true(v == (uint64_t)in->valuedouble);
    } else if (in->valuestring[0] == '#') {
        uint8_t be[64];
        size_t n = dec_to_be(be, in->valuestring + 1);
        assert_int_equal(it.payload_len, n);
        assert_memory_equal(it.payload, be, n);
        nr_u256 u;
        assert_int_equal(nr_rlp_item_u256(&u, &it), n <= 32 ? NR_OK : NR_ETOOBIG);
    } else {
        const uint8_t *s = raw_str ? raw_str : (const uint8_t *)in->valuestring;
        size_t n = raw_str ? raw_len : strlen(in->valuestring);
        assert_int_equal(it.payload_len, n);
        if (n)
            assert_memory_equal(it.payload, s, n);
    }
}

static void test_rlp_valid_vectors(void **state)
{
    (void)state;
    char *text = nr_test_read_vectors_text("rlptest.json");
    cJSON *j = cJSON_Parse(text);
    assert_non_null(j);
    const cJSON *c;
    int cases = 0;
    cJSON_ArrayForEach(c, j)
    {
        const cJSON *in = cJSON_GetObjectItemCaseSensitive(c, "in");
        assert_non_null(in);
        size_t want_len;
        uint8_t *want = nr_test_hex(nr_test_str(c, "out"), &want_len);
        struct nr_rlp_buf b = {0};
        uint8_t raw[1024];
        size_t raw_len = 0;
        int top_str = cJSON_IsString(in) && in->valuestring[0] != '#';
        if (top_str) {
            raw_len = raw_case_string(raw, sizeof raw, text, c->string);
            nr_rlp_bytes(&b, raw, raw_len);
        } else {
            encode_json(&b, in);
        }
        assert_int_equal(b.err, NR_OK);
        if (b.len != want_len || memcmp(b.p, want, want_len) != 0)
            fail_msg("rlp case %s: encoding differs", c->string);
        assert_int_equal(nr_rlp_validate(want, want_len), NR_OK);
        check_decoded(want, want_len, in, top_str ? raw : NULL, raw_len);
        /* every strict prefix and every one-byte extension is rejected */
        for (size_t k = 0; k < want_len; k++)
            assert_int_not_equal(nr_rlp_validate(want, k), NR_OK);
        uint8_t *ext = malloc(want_len + 1);
        assert_non_null(ext);
        memcpy(ext, want, want_len);
        ext[want_len] = 0x00;
        assert_int_not_equal(nr_rlp_validate(ext, want_len + 1), NR_OK);
        free(ext);
        free(b.p);
        free(want);
        cases++;
    }
    assert_true(cases >= 20);
    cJSON_Delete(j);
    free(text);
}

static void test_rlp_invalid_vectors(void **state)
{
    (void)state;
    cJSON *j = nr_test_load_vectors("invalidRLPTest.json");
    const cJSON *c;
    int cases = 0;
    cJSON_ArrayForEach(c, j)
    {
        size_t len;
        uint8_t *bad = nr_test_hex(nr_test_str(c, "out"), &len);
        int rc = nr_rlp_validate(bad, len);
        if (rc == NR_OK)
            fail_msg("invalid rlp case %s was accepted", c->string);
        assert_true(rc == NR_EMALFORMED || rc == NR_ETRUNCATED || rc == NR_ETOOBIG);
        free(bad);
        cases++;
    }
    assert_true(cases >= 17);
    cJSON_Delete(j);
}

static void test_rlp_depth_limit(void **state)
{
    (void)state;
    /* 64 nested lists are fine, 65 are not (depth counts list levels below the top) */
    struct nr_rlp_buf b = {0};
    size_t m = nr_rlp_list_begin(&b);
    nr_rlp_list_end(&b, m); /* [] */
    for (size_t d = 1; d <= 70; d++) {
        int rc = nr_rlp_validate(b.p, b.len);
        if (d <= NR_RLP_MAX_DEPTH)
            assert_int_equal(rc, NR_OK);
        else
            assert_int_equal(rc, NR_ETOOBIG);
        nr_rlp_list_end(&b, 0); /* wrap everything in one more list */
        assert_int_equal(b.err, NR_OK);
    }
    free(b.p);
}

static void test_rlp_long_items(void **state)
{
    (void)state;
    /* a 1024-byte string and a list holding it: long-form headers with two length bytes */
    uint8_t s[1024];
    memset(s, 0xab, sizeof s);
    struct nr_rlp_buf b = {0};
    size_t m = nr_rlp_list_begin(&b);
    nr_rlp_bytes(&b, s, sizeof s);
    nr_rlp_list_end(&b, m);
    assert_int_equal(b.err, NR_OK);
    assert_int_equal(b.len, 3 + 3 + 1024);
    assert_int_equal(b.p[0], 0xf9);
    assert_int_equal(b.p[1], 0x04);
    assert_int_equal(b.p[2], 0x03);
    assert_int_equal(b.p[3], 0xb9);
    assert_int_equal(nr_rlp_validate(b.p, b.len), NR_OK);
    free(b.p);

    /* non-canonical integers are rejected by the integer accessors */
    static const uint8_t lead0[] = {0x82, 0x00, 0x01};
    struct nr_rlp_item it;
    size_t used;
    uint64_t v;
    assert_int_equal(nr_rlp_decode(&it, lead0, sizeof lead0, &used), NR_OK);
    assert_int_equal(nr_rlp_item_u64(&v, &it), NR_EMALFORMED);
    static const uint8_t nine[] = {0x89, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    assert_int_equal(nr_rlp_decode(&it, nine, sizeof nine, &used), NR_OK);
    assert_int_equal(nr_rlp_item_u64(&v, &it), NR_ETOOBIG);
    static const uint8_t lst[] = {0xc0};
    assert_int_equal(nr_rlp_decode(&it, lst, sizeof lst, &used), NR_OK);
    assert_int_equal(nr_rlp_item_u64(&v, &it), NR_EMALFORMED);
    assert_int_equal(nr_rlp_decode(&it, lst, 0, &used), NR_ETRUNCATED);
}

static void test_rlp_encoder_misc(void **state)
{
    (void)state;
    /* raw bytes are spliced verbatim, e.g. an already encoded item inside a list */
    static const uint8_t dog[] = {0x83, 'd', 'o', 'g'};
    struct nr_rlp_buf b = {0};
    size_t m = nr_rlp_list_begin(&b);
    nr_rlp_raw(&b, dog, sizeof dog);
    nr_rlp_u64(&b, 0);
    nr_rlp_u64(&b, 0x400);
    nr_rlp_list_end(&b, m);
    static const uint8_t want[] = {0xc8, 0x83, 'd', 'o', 'g', 0x80, 0x82, 0x04, 0x00};
    assert_int_equal(b.err, NR_OK);
    assert_int_equal(b.len, sizeof want);
    assert_memory_equal(b.p, want, sizeof want);
    /* a bad marker is latched as an error and later calls do nothing */
    nr_rlp_list_end(&b, b.len + 1);
    assert_int_equal(b.err, NR_EINVAL);
    size_t len = b.len;
    nr_rlp_u64(&b, 5);
    assert_int_equal(b.len, len);
    free(b.p);
    /* an item larger than the encoder cap is refused without reading it */
    struct nr_rlp_buf big = {0};
    static const uint8_t one = 1;
    nr_rlp_bytes(&big, &one, NR_RLP_MAX_BYTES + 1);
    assert_int_equal(big.err, NR_ETOOBIG);
    assert_int_equal(big.len, 0);
    free(big.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rlp_valid_vectors),
        cmocka_unit_test(test_rlp_invalid_vectors),
        cmocka_unit_test(test_rlp_depth_limit),
        cmocka_unit_test(test_rlp_long_items),
        cmocka_unit_test(test_rlp_encoder_misc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
