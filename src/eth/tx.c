/* Signed Ethereum transactions: legacy with EIP-155 replay protection, and EIP-1559 (type 2,
 * empty access list). Encoding and signing hashes follow the EIPs exactly; the output is what
 * eth_sendRawTransaction takes. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "eth/eth.h"

#define NR_ETH_TX_TYPE_1559 0x02u

static void rlp_to(struct nr_rlp_buf *b, const struct nr_eth_tx *tx)
{
    if (tx->has_to)
        nr_rlp_bytes(b, tx->to, NR_ETH_ADDR_BYTES);
    else
        nr_rlp_bytes(b, NULL, 0); /* contract creation */
}

/* Trims leading zeros: r and s are RLP integers. */
static void rlp_word(struct nr_rlp_buf *b, const uint8_t w[32])
{
    nr_u256 u;
    memcpy(u.b, w, 32u);
    nr_rlp_uint(b, &u);
}

/* Fields common to both types, in their order within each list. */
static void rlp_legacy_fields(struct nr_rlp_buf *b, const struct nr_eth_tx *tx)
{
    nr_rlp_u64(b, tx->nonce);
    nr_rlp_uint(b, &tx->gas_price);
    nr_rlp_u64(b, tx->gas_limit);
    rlp_to(b, tx);
    nr_rlp_uint(b, &tx->value);
    nr_rlp_bytes(b, tx->data, tx->data_len);
}

static void rlp_1559_fields(struct nr_rlp_buf *b, const struct nr_eth_tx *tx)
{
    nr_rlp_u64(b, tx->chain_id);
    nr_rlp_u64(b, tx->nonce);
    nr_rlp_uint(b, &tx->max_priority_fee);
    nr_rlp_uint(b, &tx->max_fee);
    nr_rlp_u64(b, tx->gas_limit);
    rlp_to(b, tx);
    nr_rlp_uint(b, &tx->value);
    nr_rlp_bytes(b, tx->data, tx->data_len);
    size_t al = nr_rlp_list_begin(b); /* access list: empty */
    nr_rlp_list_end(b, al);
}

/* The payload that is hashed and signed (for type 2, prefixed with the type byte). */
static void tx_signing_payload(struct nr_rlp_buf *b, const struct nr_eth_tx *tx)
{
    if (tx->type == 2) {
        static const uint8_t type = NR_ETH_TX_TYPE_1559;
        nr_rlp_raw(b, &type, 1u);
        size_t l = nr_rlp_list_begin(b);
        rlp_1559_fields(b, tx);
        nr_rlp_list_end(b, l);
    } else {
        size_t l = nr_rlp_list_begin(b);
        rlp_legacy_fields(b, tx);
        nr_rlp_u64(b, tx->chain_id); /* EIP-155: chainId, 0, 0 */
        nr_rlp_u64(b, 0);
        nr_rlp_u64(b, 0);
        nr_rlp_list_end(b, l);
    }
}

int nr_eth_tx_signing_hash(uint8_t hash[32], const struct nr_eth_tx *tx)
{
    if (tx->type != 0 && tx->type != 2)
        return NR_EINVAL;
    if (tx->data_len && tx->data == NULL)
        return NR_EINVAL;
    struct nr_rlp_buf b = {0};
    tx_signing_payload(&b, tx);
    int rc = b.err;
    if (rc == NR_OK)
        nr_keccak256(hash, b.p, b.len);
    free(b.p);
    return rc;
}

int nr_eth_tx_sign(uint8_t **out, size_t *out_len, uint8_t tx_hash[32], const struct nr_eth_tx *tx,
                   const uint8_t sk[NR_ETH_SK_BYTES])
{
    uint8_t h[32], r[32], s[32];
    int recid = 0;
    struct nr_rlp_buf b = {0};
    *out = NULL;
    *out_len = 0;

    int rc = nr_eth_tx_signing_hash(h, tx);
    if (rc != NR_OK)
        goto done;
    rc = nr_eth_sign(r, s, &recid, h, sk);
    if (rc != NR_OK)
        goto done;

    if (tx->type == 2) {
        /* 0x02 || rlp([chainId, nonce, maxPrio, maxFee, gas, to, value, data, [], yParity, r, s]) */
        static const uint8_t type = NR_ETH_TX_TYPE_1559;
        nr_rlp_raw(&b, &type, 1u);
        size_t l = nr_rlp_list_begin(&b);
        rlp_1559_fields(&b, tx);
        nr_rlp_u64(&b, (uint64_t)recid);
        rlp_word(&b, r);
        rlp_word(&b, s);
        nr_rlp_list_end(&b, l);
    } else {
        /* EIP-155: v = recid + 35 + 2 * chainId */
        if (tx->chain_id > (UINT64_MAX - 36u) / 2u) {
            rc = NR_EINVAL;
            goto done;
        }
        uint64_t v = (uint64_t)recid + 35u + 2u * tx->chain_id;
        size_t l = nr_rlp_list_begin(&b);
        rlp_legacy_fields(&b, tx);
        nr_rlp_u64(&b, v);
        rlp_word(&b, r);
        rlp_word(&b, s);
        nr_rlp_list_end(&b, l);
    }
    rc = b.err;
    if (rc != NR_OK)
        goto done;
    if (tx_hash != NULL)
        nr_keccak256(tx_hash, b.p, b.len);
    *out = b.p;
    *out_len = b.len;
    b.p = NULL;
done:
    free(b.p);
    sodium_memzero(h, sizeof h);
    return rc;
}
