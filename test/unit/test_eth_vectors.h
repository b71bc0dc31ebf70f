/* Shared helpers of the eth unit tests: the public Ethereum vectors in
 * ../shared/vectors/ethereum (NR_ETH_VECTORS_DIR) are read at test time with cJSON. A missing
 * or unreadable vector file fails the test. */
#ifndef NR_TEST_ETH_VECTORS_H
#define NR_TEST_ETH_VECTORS_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

/* Whole file as a NUL-terminated string (malloc'd); fails the test if unreadable. */
char *nr_test_read_vectors_text(const char *file);
/* Parsed JSON of a vector file; fails the test if absent or invalid. Free with cJSON_Delete. */
cJSON *nr_test_load_vectors(const char *file);
/* Member `key` of obj, which must exist and be an array with at least one element. */
const cJSON *nr_test_array(const cJSON *obj, const char *key);
/* Member `key`, which must be a string. */
const char *nr_test_str(const cJSON *obj, const char *key);
/* Hex ("0x" optional) to a malloc'd buffer (never NULL, even for zero bytes). */
uint8_t *nr_test_hex(const char *hex, size_t *len);
/* Hex of exactly n bytes into out. */
void nr_test_hex_exact(uint8_t *out, size_t n, const char *hex);

#endif
