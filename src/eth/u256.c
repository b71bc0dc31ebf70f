/* 256-bit unsigned integers as big-endian byte arrays, and the hex forms Ethereum's JSON-RPC
 * uses. Every parser here takes untrusted text: errors are return values. */
#include <string.h>

#include "common/hex.h"
#include "eth/eth.h"

void nr_u256_from_u64(nr_u256 *out, uint64_t v)
{
    memset(out->b, 0, sizeof out->b);
    for (size_t i = 0; i < 8u; i++)
        out->b[31u - i] = (uint8_t)(v >> (8u * i));
}

int nr_u256_is_zero(const nr_u256 *v)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < sizeof v->b; i++)
        acc |= v->b[i];
    return acc == 0;
}

int nr_u256_cmp(const nr_u256 *a, const nr_u256 *b)
{
    int c = memcmp(a->b, b->b, sizeof a->b);
    return (c > 0) - (c < 0);
}

int nr_u256_to_u64(uint64_t *out, const nr_u256 *v)
{
    for (size_t i = 0; i < 24u; i++)
        if (v->b[i] != 0)
            return NR_ETOOBIG;
    uint64_t r = 0;
    for (size_t i = 24u; i < 32u; i++)
        r = (r << 8) | v->b[i];
    *out = r;
    return NR_OK;
}

static int has_0x(const char *s)
{
    return s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
}

/* out = out * mul + add; returns NR_ETOOBIG on overflow (out is then garbage). */
static int u256_muladd(nr_u256 *v, unsigned mul, unsigned add)
{
    unsigned carry = add;
    for (size_t i = sizeof v->b; i-- > 0;) {
        unsigned t = (unsigned)v->b[i] * mul + carry;
        v->b[i] = (uint8_t)(t & 0xffu);
        carry = t >> 8;
    }
    return carry ? NR_ETOOBIG : NR_OK;
}

int nr_u256_parse(nr_u256 *out, const char *s)
{
    nr_u256 v;
    memset(&v, 0, sizeof v);
    if (s == NULL || s[0] == '\0')
        return NR_EMALFORMED;
    if (has_0x(s)) {
        s += 2;
        if (*s == '\0')
            return NR_EMALFORMED;
        for (; *s; s++) {
            int n = nr_hex_digit(*s);
            if (n < 0)
                return NR_EMALFORMED;
            if (u256_muladd(&v, 16u, (unsigned)n) != NR_OK)
                return NR_ETOOBIG;
        }
    } else {
        for (; *s; s++) {
            if (*s < '0' || *s > '9')
                return NR_EMALFORMED;
            if (u256_muladd(&v, 10u, (unsigned)(*s - '0')) != NR_OK)
                return NR_ETOOBIG;
        }
    }
    *out = v;
    return NR_OK;
}

static const char hex_digits[] = "0123456789abcdef";

void nr_u256_to_hex(char out[NR_U256_HEX_MAX], const nr_u256 *v)
{
    size_t o = 0;
    out[o++] = '0';
    out[o++] = 'x';
    int started = 0;
    for (size_t i = 0; i < 64u; i++) {
        unsigned n = (unsigned)(v->b[i / 2u] >> ((i % 2u) ? 0 : 4)) & 0xfu;
        if (n == 0 && !started)
            continue;
        started = 1;
        out[o++] = hex_digits[n];
    }
    if (!started)
        out[o++] = '0';
    out[o] = '\0';
}

void nr_u256_to_dec(char out[NR_U256_DEC_MAX], const nr_u256 *v)
{
    nr_u256 t = *v;
    char rev[NR_U256_DEC_MAX];
    size_t n = 0;
    do {
        unsigned rem = 0;
        for (size_t i = 0; i < sizeof t.b; i++) {
            unsigned cur = (rem << 8) | t.b[i];
            t.b[i] = (uint8_t)(cur / 10u);
            rem = cur % 10u;
        }
        rev[n++] = (char)('0' + rem);
    } while (!nr_u256_is_zero(&t) && n < NR_U256_DEC_MAX - 1u);
    for (size_t i = 0; i < n; i++)
        out[i] = rev[n - 1u - i];
    out[n] = '\0';
}

int nr_eth_hex_decode(uint8_t *out, size_t cap, size_t *out_len, const char *s)
{
    if (s == NULL)
        return NR_EMALFORMED;
    if (has_0x(s))
        s += 2;
    size_t n = strlen(s);
    if (n % 2u != 0)
        return NR_EMALFORMED;
    if (n / 2u > cap)
        return NR_ETOOBIG;
    int rc = nr_hex_decode(out, n / 2u, s, n);
    if (rc != NR_OK)
        return rc;
    *out_len = n / 2u;
    return NR_OK;
}

int nr_eth_hex_encode(char *out, size_t cap, const uint8_t *in, size_t len)
{
    if (len > (SIZE_MAX - 3u) / 2u || cap < 2u * len + 3u)
        return NR_ETOOBIG;
    out[0] = '0';
    out[1] = 'x';
    for (size_t i = 0; i < len; i++) {
        out[2u + 2u * i] = hex_digits[in[i] >> 4];
        out[3u + 2u * i] = hex_digits[in[i] & 0xfu];
    }
    out[2u + 2u * len] = '\0';
    return NR_OK;
}

void nr_eth_address_hex(char out[NR_ETH_ADDR_HEX_BYTES], const uint8_t addr[NR_ETH_ADDR_BYTES])
{
    char lower[40];
    uint8_t h[NR_ETH_HASH_BYTES];
    for (size_t i = 0; i < NR_ETH_ADDR_BYTES; i++) {
        lower[2u * i] = hex_digits[addr[i] >> 4];
        lower[2u * i + 1u] = hex_digits[addr[i] & 0xfu];
    }
    /* EIP-55: uppercase a letter when the matching nibble of keccak(lowercase hex) >= 8. */
    nr_keccak256(h, (const uint8_t *)lower, sizeof lower);
    out[0] = '0';
    out[1] = 'x';
    for (size_t i = 0; i < sizeof lower; i++) {
        unsigned nib = (unsigned)(h[i / 2u] >> ((i % 2u) ? 0 : 4)) & 0xfu;
        char c = lower[i];
        if (c >= 'a' && c <= 'f' && nib >= 8u)
            c = (char)(c - 'a' + 'A');
        out[2u + i] = c;
    }
    out[42] = '\0';
}
