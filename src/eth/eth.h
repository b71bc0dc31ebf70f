/* Ethereum primitives for the chain client: Keccak-256, RLP, ABI, secp256k1 keys and
 * transaction signing. Pure functions over caller buffers (no I/O). The JSON-RPC client that
 * uses them is src/eth/rpc.h. */
#ifndef NR_ETH_H
#define NR_ETH_H

#include <stddef.h>
#include <stdint.h>

#include "narrator/errors.h"

#define NR_ETH_ADDR_BYTES 20u
#define NR_ETH_HASH_BYTES 32u
#define NR_ETH_SK_BYTES 32u

/* ---- Keccak-256 (Ethereum's, padding 0x01; built on nettle's public permutation) ---- */
void nr_keccak256(uint8_t out[NR_ETH_HASH_BYTES], const uint8_t *in, size_t len);

/* ---- 256-bit unsigned integers, big-endian byte arrays ---- */
typedef struct {
    uint8_t b[32]; /* big-endian */
} nr_u256;
void nr_u256_from_u64(nr_u256 *out, uint64_t v);
/* Parse "0x..." hex or decimal; NR_EMALFORMED / NR_ETOOBIG. */
int nr_u256_parse(nr_u256 *out, const char *s) __attribute__((warn_unused_result));

/* ---- RLP ---- */
struct nr_rlp_buf { /* growable output buffer owned by the caller (free with free(buf.p)) */
    uint8_t *p;
    size_t len, cap;
    int err;
};
void nr_rlp_bytes(struct nr_rlp_buf *b, const uint8_t *s, size_t len); /* string item */
void nr_rlp_uint(struct nr_rlp_buf *b, const nr_u256 *v);              /* minimal big-endian */
void nr_rlp_u64(struct nr_rlp_buf *b, uint64_t v);
/* Lists: begin returns a marker; end patches the header. Nesting allowed. */
size_t nr_rlp_list_begin(struct nr_rlp_buf *b);
void nr_rlp_list_end(struct nr_rlp_buf *b, size_t marker);

/* Decoding (untrusted bytes): one item at a time, strict (canonical lengths, no leading
 * zero length bytes, single bytes < 0x80 must not be wrapped, exact total length). */
struct nr_rlp_item {
    int is_list;
    const uint8_t *payload;
    size_t payload_len;
};
int nr_rlp_decode(struct nr_rlp_item *item, const uint8_t *in, size_t len, size_t *consumed)
    __attribute__((warn_unused_result));
/* Validate that `in` is exactly one well-formed item, recursively (max depth 64). */
int nr_rlp_validate(const uint8_t *in, size_t len) __attribute__((warn_unused_result));

/* ---- secp256k1 keys and signatures ---- */
int nr_eth_keygen(uint8_t sk[NR_ETH_SK_BYTES], void (*random)(void *arg, uint8_t *out, size_t len),
                  void *arg) __attribute__((warn_unused_result));
int nr_eth_address(uint8_t addr[NR_ETH_ADDR_BYTES], const uint8_t sk[NR_ETH_SK_BYTES])
    __attribute__((warn_unused_result));
/* Recoverable ECDSA over a 32-byte hash (RFC 6979 deterministic nonce). */
int nr_eth_sign(uint8_t r[32], uint8_t s[32], int *recid, const uint8_t hash[32],
                const uint8_t sk[NR_ETH_SK_BYTES]) __attribute__((warn_unused_result));

/* ---- transactions ---- */
struct nr_eth_tx {
    int type; /* 0 = legacy with EIP-155, 2 = EIP-1559 */
    uint64_t chain_id;
    uint64_t nonce;
    nr_u256 gas_price;       /* legacy */
    nr_u256 max_priority_fee; /* 1559 */
    nr_u256 max_fee;          /* 1559 */
    uint64_t gas_limit;
    int has_to;
    uint8_t to[NR_ETH_ADDR_BYTES];
    nr_u256 value;
    const uint8_t *data;
    size_t data_len;
};
/* Signed raw transaction bytes (as sent with eth_sendRawTransaction); *out is malloc'd. */
int nr_eth_tx_sign(uint8_t **out, size_t *out_len, uint8_t tx_hash[32], const struct nr_eth_tx *tx,
                   const uint8_t sk[NR_ETH_SK_BYTES]) __attribute__((warn_unused_result));

/* ---- ABI (the types the registry contract uses) ---- */
struct nr_abi_buf { /* growable, caller frees p */
    uint8_t *p;
    size_t len, cap;
    int err;
};
void nr_abi_selector(uint8_t out[4], const char *signature); /* e.g. "finalize(bytes32)" */
/* Encoding: a head/tail encoder for one tuple of arguments. */
enum nr_abi_type { NR_ABI_UINT256, NR_ABI_ADDRESS, NR_ABI_BYTES32, NR_ABI_BYTES, NR_ABI_BOOL,
                   NR_ABI_STRING };
struct nr_abi_arg {
    int type;
    nr_u256 u;             /* UINT256, BOOL (0/1) */
    uint8_t b32[32];       /* BYTES32; ADDRESS in the last 20 bytes */
    const uint8_t *bytes;  /* BYTES, STRING */
    size_t bytes_len;
};
int nr_abi_encode_call(struct nr_abi_buf *out, const char *signature, const struct nr_abi_arg *args,
                       size_t nargs) __attribute__((warn_unused_result));
/* Decoding of return data / revert data (untrusted): word-level accessors. */
int nr_abi_word(const uint8_t *data, size_t len, size_t index, uint8_t out[32])
    __attribute__((warn_unused_result));
/* Dynamic `bytes`/`string` whose head word is at word index `index`; returns a pointer into
 * data. */
int nr_abi_dyn(const uint8_t *data, size_t len, size_t index, const uint8_t **out, size_t *out_len)
    __attribute__((warn_unused_result));
/* Revert data of Error(string): extract the reason (NUL-terminated, truncated to cap). */
int nr_abi_revert_reason(const uint8_t *data, size_t len, char *out, size_t cap)
    __attribute__((warn_unused_result));

#endif
