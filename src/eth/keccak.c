/* Keccak-256 as Ethereum uses it: the original Keccak padding (0x01 ... 0x80), not FIPS 202
 * SHA3 (0x06). Built on nettle's public Keccak-f[1600] permutation, rate 136 bytes. */
#include <string.h>

#include <nettle/sha3.h>

#include "eth/eth.h"

#define NR_KECCAK256_RATE 136u

/* Lanes are little-endian 64-bit words: byte i of the rate goes to lane i/8, bits 8*(i%8). */
static void keccak_xor_byte(struct sha3_state *st, size_t i, uint8_t byte)
{
    st->a[i / 8u] ^= (uint64_t)byte << (8u * (i % 8u));
}

void nr_keccak256(uint8_t out[NR_ETH_HASH_BYTES], const uint8_t *in, size_t len)
{
    struct sha3_state st;
    memset(&st, 0, sizeof st);

    while (len >= NR_KECCAK256_RATE) {
        for (size_t i = 0; i < NR_KECCAK256_RATE; i++)
            keccak_xor_byte(&st, i, in[i]);
        nettle_sha3_permute(&st);
        in += NR_KECCAK256_RATE;
        len -= NR_KECCAK256_RATE;
    }
    for (size_t i = 0; i < len; i++)
        keccak_xor_byte(&st, i, in[i]);
    keccak_xor_byte(&st, len, 0x01);
    keccak_xor_byte(&st, NR_KECCAK256_RATE - 1u, 0x80);
    nettle_sha3_permute(&st);

    for (size_t i = 0; i < NR_ETH_HASH_BYTES; i++)
        out[i] = (uint8_t)(st.a[i / 8u] >> (8u * (i % 8u)));
    memset(&st, 0, sizeof st);
}
