/* Ethereum keys on secp256k1 (libsecp256k1 with its recovery module). Randomness is injected
 * by the caller; signatures use the library's default RFC 6979 nonce, so they are
 * deterministic and low-s (as Ethereum requires since Homestead). */
#include <string.h>

#include <secp256k1.h>
#include <secp256k1_recovery.h>
#include <sodium.h>

#include "eth/eth.h"

#define NR_ETH_KEYGEN_TRIES 64

static secp256k1_context *ctx_new(void)
{
    return secp256k1_context_create(SECP256K1_CONTEXT_SIGN | SECP256K1_CONTEXT_VERIFY);
}

int nr_eth_keygen(uint8_t sk[NR_ETH_SK_BYTES], void (*random_fn)(void *arg, uint8_t *out, size_t len),
                  void *arg)
{
    secp256k1_context *ctx = ctx_new();
    if (ctx == NULL)
        return NR_ENOMEM;
    int rc = NR_EINVAL; /* a random source that never yields a valid scalar is broken */
    for (int i = 0; i < NR_ETH_KEYGEN_TRIES; i++) {
        random_fn(arg, sk, NR_ETH_SK_BYTES);
        if (secp256k1_ec_seckey_verify(ctx, sk)) {
            rc = NR_OK;
            break;
        }
    }
    if (rc != NR_OK)
        sodium_memzero(sk, NR_ETH_SK_BYTES);
    secp256k1_context_destroy(ctx);
    return rc;
}

static void address_of_pubkey(uint8_t addr[NR_ETH_ADDR_BYTES], const secp256k1_context *ctx,
                              const secp256k1_pubkey *pk)
{
    uint8_t ser[65], h[NR_ETH_HASH_BYTES];
    size_t ser_len = sizeof ser;
    (void)secp256k1_ec_pubkey_serialize(ctx, ser, &ser_len, pk, SECP256K1_EC_UNCOMPRESSED);
    nr_keccak256(h, ser + 1, 64u); /* drop the 0x04 prefix */
    memcpy(addr, h + NR_ETH_HASH_BYTES - NR_ETH_ADDR_BYTES, NR_ETH_ADDR_BYTES);
}

int nr_eth_address(uint8_t addr[NR_ETH_ADDR_BYTES], const uint8_t sk[NR_ETH_SK_BYTES])
{
    secp256k1_context *ctx = ctx_new();
    if (ctx == NULL)
        return NR_ENOMEM;
    secp256k1_pubkey pk;
    int rc = NR_EINVAL;
    if (secp256k1_ec_pubkey_create(ctx, &pk, sk)) {
        address_of_pubkey(addr, ctx, &pk);
        rc = NR_OK;
    }
    secp256k1_context_destroy(ctx);
    return rc;
}

int nr_eth_sign(uint8_t r[32], uint8_t s[32], int *recid, const uint8_t hash[32],
                const uint8_t sk[NR_ETH_SK_BYTES])
{
    secp256k1_context *ctx = ctx_new();
    if (ctx == NULL)
        return NR_ENOMEM;
    secp256k1_ecdsa_recoverable_signature sig;
    uint8_t compact[64];
    int rc = NR_EINVAL;
    if (secp256k1_ecdsa_sign_recoverable(ctx, &sig, hash, sk, NULL, NULL)) {
        (void)secp256k1_ecdsa_recoverable_signature_serialize_compact(ctx, compact, recid, &sig);
        memcpy(r, compact, 32u);
        memcpy(s, compact + 32, 32u);
        rc = NR_OK;
    }
    sodium_memzero(&sig, sizeof sig);
    secp256k1_context_destroy(ctx);
    return rc;
}

int nr_eth_recover(uint8_t addr[NR_ETH_ADDR_BYTES], const uint8_t hash[32], const uint8_t r[32],
                   const uint8_t s[32], int recid)
{
    if (recid < 0 || recid > 3)
        return NR_EMALFORMED;
    secp256k1_context *ctx = ctx_new();
    if (ctx == NULL)
        return NR_ENOMEM;
    secp256k1_ecdsa_recoverable_signature sig;
    secp256k1_pubkey pk;
    uint8_t compact[64];
    int rc = NR_EAUTH;
    memcpy(compact, r, 32u);
    memcpy(compact + 32, s, 32u);
    if (!secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, &sig, compact, recid))
        rc = NR_EMALFORMED;
    else if (secp256k1_ecdsa_recover(ctx, &pk, &sig, hash)) {
        address_of_pubkey(addr, ctx, &pk);
        rc = NR_OK;
    }
    secp256k1_context_destroy(ctx);
    return rc;
}
