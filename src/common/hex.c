/* Hex decoding (hex.h). */
#include "common/hex.h"

#include "narrator/errors.h"

int nr_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int nr_hex_decode(uint8_t *out, size_t len, const char *s, size_t s_len)
{
    if (s_len != 2u * len)
        return NR_EMALFORMED;
    for (size_t i = 0; i < len; i++) {
        int hi = nr_hex_digit(s[2u * i]), lo = nr_hex_digit(s[2u * i + 1u]);
        if (hi < 0 || lo < 0)
            return NR_EMALFORMED;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return NR_OK;
}
