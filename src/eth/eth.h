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
int nr_u256_is_zero(const nr_u256 *v);
int nr_u256_cmp(const nr_u256 *a, const nr_u256 *b); /* -1, 0, 1 */
/* NR_ETOOBIG if v does not fit in 64 bits. */
int nr_u256_to_u64(uint64_t *out, const nr_u256 *v) __attribute__((warn_unused_result));
/* JSON-RPC quantity: "0x" + minimal lowercase hex ("0x0" for zero), NUL-terminated. */
#define NR_U256_HEX_MAX 67u
void nr_u256_to_hex(char out[NR_U256_HEX_MAX], const nr_u256 *v);
/* Decimal, NUL-terminated. */
#define NR_U256_DEC_MAX 79u
void nr_u256_to_dec(char out[NR_U256_DEC_MAX], const nr_u256 *v);

/* ---- hex data (JSON-RPC "DATA") ---- */
/* Decode hex with or without "0x" (even number of digits, any case) into out[0..cap);
 * NR_EMALFORMED on a bad digit or odd length, NR_ETOOBIG if more than cap bytes. */
int nr_eth_hex_decode(uint8_t *out, size_t cap, size_t *out_len, const char *s)
    __attribute__((warn_unused_result));
/* "0x" + lowercase hex + NUL; cap must be >= 2*len + 3 (NR_ETOOBIG otherwise). */
int nr_eth_hex_encode(char *out, size_t cap, const uint8_t *in, size_t len)
    __attribute__((warn_unused_result));
/* EIP-55 mixed-case checksummed address "0x...", NUL-terminated. */
#define NR_ETH_ADDR_HEX_BYTES 43u
void nr_eth_address_hex(char out[NR_ETH_ADDR_HEX_BYTES], const uint8_t addr[NR_ETH_ADDR_BYTES]);

/* ---- RLP ---- */
struct nr_rlp_buf { /* growable output buffer owned by the caller (free with free(buf.p)) */
    uint8_t *p;
    size_t len, cap;
    int err;
};
void nr_rlp_bytes(struct nr_rlp_buf *b, const uint8_t *s, size_t len); /* string item */
void nr_rlp_uint(struct nr_rlp_buf *b, const nr_u256 *v);              /* minimal big-endian */
void nr_rlp_u64(struct nr_rlp_buf *b, uint64_t v);
/* Appends bytes verbatim (an already encoded item, or a typed-transaction prefix byte). */
void nr_rlp_raw(struct nr_rlp_buf *b, const uint8_t *s, size_t len);
/* Lists: begin returns a marker; end patches the header. Nesting allowed. */
size_t nr_rlp_list_begin(struct nr_rlp_buf *b);
void nr_rlp_list_end(struct nr_rlp_buf *b, size_t marker);

/* Decoding (untrusted bytes): one item at a time, strict (canonical lengths, no leading
 * zero length bytes, single bytes < 0x80 must not be wrapped, exact total length).
 * Decodes the item at the start of in[0..len); *consumed = its full encoded size (header +
 * payload, <= len; bytes after it are the caller's business). NR_ETRUNCATED if the header
 * claims more than len, NR_EMALFORMED if non-canonical. */
struct nr_rlp_item {
    int is_list;
    const uint8_t *payload;
    size_t payload_len;
};
int nr_rlp_decode(struct nr_rlp_item *item, const uint8_t *in, size_t len, size_t *consumed)
    __attribute__((warn_unused_result));
/* Validate that `in` is exactly one well-formed item, recursively (max depth 64). */
int nr_rlp_validate(const uint8_t *in, size_t len) __attribute__((warn_unused_result));
#define NR_RLP_MAX_DEPTH 64u
#define NR_RLP_MAX_BYTES ((size_t)1 << 28) /* encoder cap; larger items set err NR_ETOOBIG */
/* Walk a list payload: decodes the item at *cur and advances; NR_ENOTFOUND at the end.
 *   const uint8_t *cur = list.payload; size_t left = list.payload_len;
 *   while ((rc = nr_rlp_next(&it, &cur, &left)) == NR_OK) { ... } */
int nr_rlp_next(struct nr_rlp_item *item, const uint8_t **cur, size_t *left)
    __attribute__((warn_unused_result));
/* A string item as a minimal big-endian integer (no leading zero byte); NR_ETOOBIG if wider
 * than the target. */
int nr_rlp_item_u256(nr_u256 *out, const struct nr_rlp_item *item)
    __attribute__((warn_unused_result));
int nr_rlp_item_u64(uint64_t *out, const struct nr_rlp_item *item)
    __attribute__((warn_unused_result));

/* ---- secp256k1 keys and signatures ---- */
int nr_eth_keygen(uint8_t sk[NR_ETH_SK_BYTES], void (*random_fn)(void *arg, uint8_t *out, size_t len),
                  void *arg) __attribute__((warn_unused_result));
int nr_eth_address(uint8_t addr[NR_ETH_ADDR_BYTES], const uint8_t sk[NR_ETH_SK_BYTES])
    __attribute__((warn_unused_result));
/* Recoverable ECDSA over a 32-byte hash (RFC 6979 deterministic nonce). */
int nr_eth_sign(uint8_t r[32], uint8_t s[32], int *recid, const uint8_t hash[32],
                const uint8_t sk[NR_ETH_SK_BYTES]) __attribute__((warn_unused_result));
/* Address of the signer of hash; NR_EMALFORMED for a bad r/s/recid, NR_EAUTH if no key
 * recovers. */
int nr_eth_recover(uint8_t addr[NR_ETH_ADDR_BYTES], const uint8_t hash[32], const uint8_t r[32],
                   const uint8_t s[32], int recid) __attribute__((warn_unused_result));

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
/* The hash that is signed: keccak(rlp([nonce, gasPrice, gas, to, value, data, chainId, 0, 0]))
 * for legacy, keccak(0x02 || rlp([chainId, nonce, maxPrio, maxFee, gas, to, value, data, []])
 * for EIP-1559. has_to = 0 means contract creation. */
int nr_eth_tx_signing_hash(uint8_t hash[32], const struct nr_eth_tx *tx)
    __attribute__((warn_unused_result));
/* Signed raw transaction bytes (as sent with eth_sendRawTransaction); *out is malloc'd;
 * tx_hash (may be NULL) receives keccak(raw), the hash the chain reports for it. */
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
                   NR_ABI_STRING,
                   /* dynamic arrays: items holds n_items packed elements (20 bytes each for
                    * address[], 32 bytes each for bytes32[] and uint256[] (big-endian)) */
                   NR_ABI_ADDRESS_ARRAY, NR_ABI_BYTES32_ARRAY, NR_ABI_UINT256_ARRAY };
/* Any uintN (uint8, uint64, ...) encodes as NR_ABI_UINT256: the signature alone names it. */
struct nr_abi_arg {
    int type;
    nr_u256 u;             /* UINT256, BOOL (0/1) */
    uint8_t b32[32];       /* BYTES32; ADDRESS in the last 20 bytes */
    const uint8_t *bytes;  /* BYTES, STRING */
    size_t bytes_len;
    const uint8_t *items;  /* *_ARRAY */
    size_t n_items;
};
#define NR_ABI_MAX_BYTES ((size_t)1 << 24) /* cap on encoded size and on decoded lengths */
/* selector(signature) || encode_args(args). Errors are also latched in out->err. */
int nr_abi_encode_call(struct nr_abi_buf *out, const char *signature, const struct nr_abi_arg *args,
                       size_t nargs) __attribute__((warn_unused_result));
/* The head/tail encoding of one argument tuple, without a selector (constructor arguments,
 * abi.encode). */
int nr_abi_encode_args(struct nr_abi_buf *out, const struct nr_abi_arg *args, size_t nargs)
    __attribute__((warn_unused_result));
/* Decoding of return data / revert data (untrusted): word-level accessors. `index` counts
 * 32-byte words from data; NR_ETRUNCATED if out of bounds. */
int nr_abi_word(const uint8_t *data, size_t len, size_t index, uint8_t out[32])
    __attribute__((warn_unused_result));
/* A uint word that must fit in 64 bits (NR_ETOOBIG otherwise). */
int nr_abi_u64(const uint8_t *data, size_t len, size_t index, uint64_t *out)
    __attribute__((warn_unused_result));
/* An address word (the upper 12 bytes must be zero: NR_EMALFORMED otherwise). */
int nr_abi_address(const uint8_t *data, size_t len, size_t index, uint8_t out[NR_ETH_ADDR_BYTES])
    __attribute__((warn_unused_result));
/* A bool word (0 or 1 only). */
int nr_abi_bool(const uint8_t *data, size_t len, size_t index, int *out)
    __attribute__((warn_unused_result));
/* Dynamic `bytes`/`string` whose head word is at word index `index`; returns a pointer into
 * data. */
int nr_abi_dyn(const uint8_t *data, size_t len, size_t index, const uint8_t **out, size_t *out_len)
    __attribute__((warn_unused_result));
/* Dynamic array T[] (T one word) whose head word is at `index`: *words points at *count
 * consecutive 32-byte words inside data. */
int nr_abi_array(const uint8_t *data, size_t len, size_t index, const uint8_t **words,
                 size_t *count) __attribute__((warn_unused_result));
/* Revert data of Error(string): extract the reason (NUL-terminated, truncated to cap,
 * bytes outside printable ASCII shown as '?'). Panic(uint256) gives "Panic(0x11)".
 * NR_ENOTFOUND for empty revert data or a custom error selector, NR_EMALFORMED if bad. */
int nr_abi_revert_reason(const uint8_t *data, size_t len, char *out, size_t cap)
    __attribute__((warn_unused_result));

#endif
