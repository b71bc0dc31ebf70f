#include "test_eth_vectors.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "eth/eth.h"

#ifndef NR_ETH_VECTORS_DIR
#error "NR_ETH_VECTORS_DIR must name the directory of the Ethereum vector files"
#endif

char *nr_test_read_vectors_text(const char *file)
{
    char path[1024];
    int n = snprintf(path, sizeof path, "%s/%s", NR_ETH_VECTORS_DIR, file);
    assert_true(n > 0 && (size_t)n < sizeof path);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("vector file %s is missing: the eth tests need ../shared/vectors", path);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long sz = ftell(f);
    assert_true(sz > 0);
    assert_int_equal(fseek(f, 0, SEEK_SET), 0);
    char *buf = malloc((size_t)sz + 1u);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)sz, f), (size_t)sz);
    buf[sz] = '\0';
    fclose(f);
    return buf;
}

cJSON *nr_test_load_vectors(const char *file)
{
    char *text = nr_test_read_vectors_text(file);
    cJSON *j = cJSON_Parse(text);
    free(text);
    if (j == NULL)
        fail_msg("vector file %s is not valid JSON", file);
    return j;
}

const cJSON *nr_test_array(const cJSON *obj, const char *key)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) < 1)
        fail_msg("vector group %s missing or empty", key);
    return a;
}

const char *nr_test_str(const cJSON *obj, const char *key)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsString(s))
        fail_msg("vector field %s missing or not a string", key);
    return s->valuestring;
}

uint8_t *nr_test_hex(const char *hex, size_t *len)
{
    size_t cap = strlen(hex) / 2u + 1u;
    uint8_t *p = malloc(cap);
    assert_non_null(p);
    assert_int_equal(nr_eth_hex_decode(p, cap, len, hex), NR_OK);
    return p;
}

void nr_test_hex_exact(uint8_t *out, size_t n, const char *hex)
{
    size_t len = 0;
    assert_int_equal(nr_eth_hex_decode(out, n, &len, hex), NR_OK);
    assert_int_equal(len, n);
}
