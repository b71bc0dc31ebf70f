/* Hex decoding: the one implementation in src/ (the chain client's nr_eth_hex_decode and
 * nr_u256_parse are built on it). */
#ifndef NR_COMMON_HEX_H
#define NR_COMMON_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Decode exactly `len` bytes from exactly 2*len hex digits (either case) at s[0..s_len).
 * Returns NR_OK, or NR_EMALFORMED for a wrong length or a digit that is not hex. */
int nr_hex_decode(uint8_t *out, size_t len, const char *s, size_t s_len)
    __attribute__((warn_unused_result));
/* The value 0..15 of one hex digit (either case), -1 if c is not one. */
int nr_hex_digit(char c);

#endif
