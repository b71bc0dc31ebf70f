/* Ethereum JSON-RPC client over HTTP (libcurl + cJSON).
 *
 * Everything a node says is untrusted: responses are parsed by the pure functions at the end of
 * this header (shared with the fuzzer), every field is checked, and any JSON-RPC error, revert
 * reason or malformed reply becomes an error value with a human-readable text in the client's
 * error buffer (nr_rpc_errmsg). Nothing here can hang: every HTTP request has a connect and a
 * total timeout, transport failures are retried a bounded number of times with exponential
 * backoff, and every polling loop has a deadline.
 *
 * Error codes:
 *   NR_EUNREACHABLE  connection refused / DNS / reset, after all retries
 *   NR_ETIMEDOUT     request timed out after all retries; receipt or confirmations not seen in time
 *   NR_ERPC          the node answered with a JSON-RPC error, or an HTTP error status
 *   NR_EREVERT       execution reverted; the reason (Error(string)) is in the error buffer and in
 *                    nr_rpc_revert_reason()
 *   NR_ENONCE        the node said "nonce too low" (or "replacement transaction underpriced")
 *   NR_ECHAINID      the node's chain id differs from the configured one
 *   NR_EMALFORMED    the reply is not a well-formed JSON-RPC response or a field has a bad shape
 *   NR_ETOOBIG       the reply exceeds the configured size limit
 *   NR_ENOTFOUND     receipt / transaction not (yet) known */
#ifndef NR_ETH_RPC_H
#define NR_ETH_RPC_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "eth/eth.h"
#include "eth/mpt.h"
#include "narrator/errors.h"

#define NR_RPC_ERRMSG_BYTES 512u
#define NR_RPC_DEFAULT_TIMEOUT_MS 10000u
#define NR_RPC_DEFAULT_CONNECT_TIMEOUT_MS 3000u
#define NR_RPC_DEFAULT_RETRIES 3u
#define NR_RPC_DEFAULT_BACKOFF_MS 200u
#define NR_RPC_DEFAULT_MAX_RESPONSE_BYTES (8u * 1024u * 1024u)
#define NR_RPC_MAX_TOPICS 4u

struct nr_rpc_config {
    const char *url;                 /* http(s)://host:port/path */
    uint64_t expect_chain_id;        /* 0: accept any (nr_rpc_open does not check) */
    unsigned timeout_ms;             /* whole request; 0 = default */
    unsigned connect_timeout_ms;     /* 0 = default */
    unsigned retries;                /* extra attempts after a transport failure; 0 = default,
                                        use NR_RPC_NO_RETRY for none */
    unsigned backoff_ms;             /* first backoff, doubled each retry; 0 = default */
    size_t max_response_bytes;       /* 0 = default */
};
#define NR_RPC_NO_RETRY (~0u)

struct nr_rpc;

/* Open a client. If cfg->expect_chain_id != 0 the chain id is checked on open
 * (NR_ECHAINID on mismatch; NR_EUNREACHABLE if the node cannot be reached). The client is
 * always returned in *out when memory allows, so the caller can read the error text; close it
 * in every case. */
int nr_rpc_open(struct nr_rpc **out, const struct nr_rpc_config *cfg)
    __attribute__((warn_unused_result));
void nr_rpc_close(struct nr_rpc *rpc);
const char *nr_rpc_errmsg(const struct nr_rpc *rpc);
const char *nr_rpc_revert_reason(const struct nr_rpc *rpc); /* "" if none */
/* Counters, for tests and metrics. */
unsigned long nr_rpc_attempts(const struct nr_rpc *rpc); /* HTTP requests tried */

/* Raw call: params_json is a JSON array text ("[]" if NULL). On success *result is the
 * detached "result" value (caller cJSON_Delete()s it; may be a JSON null). */
int nr_rpc_call(struct nr_rpc *rpc, cJSON **result, const char *method, const char *params_json)
    __attribute__((warn_unused_result));

/* ---- typed calls ---- */
int nr_rpc_chain_id(struct nr_rpc *rpc, uint64_t *out) __attribute__((warn_unused_result));
int nr_rpc_block_number(struct nr_rpc *rpc, uint64_t *out) __attribute__((warn_unused_result));
/* block_tag: "latest", "pending", or "0x..." */
int nr_rpc_nonce(struct nr_rpc *rpc, uint64_t *out, const uint8_t addr[NR_ETH_ADDR_BYTES],
                 const char *block_tag) __attribute__((warn_unused_result));
int nr_rpc_balance(struct nr_rpc *rpc, nr_u256 *out, const uint8_t addr[NR_ETH_ADDR_BYTES])
    __attribute__((warn_unused_result));
int nr_rpc_gas_price(struct nr_rpc *rpc, nr_u256 *out) __attribute__((warn_unused_result));
/* EIP-1559 fees: priority = eth_maxPriorityFeePerGas, max = 2 * latest base fee + priority.
 * NR_ENOTFOUND if the chain has no base fee (pre-London: use legacy gas price). */
int nr_rpc_fees(struct nr_rpc *rpc, nr_u256 *max_fee, nr_u256 *max_priority_fee)
    __attribute__((warn_unused_result));

/* eth_estimateGas / eth_call. from may be NULL. to may be NULL (contract creation, estimate
 * only). A revert is NR_EREVERT with the reason. */
int nr_rpc_estimate_gas(struct nr_rpc *rpc, uint64_t *gas, const uint8_t *from, const uint8_t *to,
                        const uint8_t *data, size_t data_len, const nr_u256 *value)
    __attribute__((warn_unused_result));
/* *out is malloc'd (free()); block_tag NULL = "latest". */
int nr_rpc_eth_call(struct nr_rpc *rpc, uint8_t **out, size_t *out_len, const uint8_t *from,
                    const uint8_t to[NR_ETH_ADDR_BYTES], const uint8_t *data, size_t data_len,
                    const char *block_tag) __attribute__((warn_unused_result));

/* eth_sendRawTransaction. The node's hash must equal keccak256(raw) (else NR_ECHAIN). A node
 * answering "already known" for a resent transaction counts as success. */
int nr_rpc_send_raw(struct nr_rpc *rpc, uint8_t tx_hash[NR_ETH_HASH_BYTES], const uint8_t *raw,
                    size_t raw_len) __attribute__((warn_unused_result));

struct nr_eth_receipt {
    uint8_t tx_hash[NR_ETH_HASH_BYTES];
    uint8_t block_hash[NR_ETH_HASH_BYTES];
    uint64_t block_number;
    int status; /* 1 success, 0 reverted */
    uint64_t gas_used;
    nr_u256 effective_gas_price;
    int has_contract_address;
    uint8_t contract_address[NR_ETH_ADDR_BYTES];
    size_t n_logs;
};
/* NR_ENOTFOUND while the transaction is not mined. */
int nr_rpc_receipt(struct nr_rpc *rpc, struct nr_eth_receipt *out,
                   const uint8_t tx_hash[NR_ETH_HASH_BYTES]) __attribute__((warn_unused_result));
/* Poll for the receipt every poll_ms until timeout_ms. On timeout, checks whether the node still
 * knows the transaction: the error text says "dropped" (unknown) or "still pending".
 * Returns NR_ETIMEDOUT then. */
int nr_rpc_wait_receipt(struct nr_rpc *rpc, struct nr_eth_receipt *out,
                        const uint8_t tx_hash[NR_ETH_HASH_BYTES], unsigned timeout_ms,
                        unsigned poll_ms) __attribute__((warn_unused_result));
/* Wait until block_number has `confirmations` confirmations (head - block_number + 1 >=
 * confirmations), and the receipt is still in the canonical chain at the same block (a reorg
 * that drops it yields NR_ECHAIN). confirmations 0 or 1 return at once. */
int nr_rpc_wait_confirmations(struct nr_rpc *rpc, const struct nr_eth_receipt *rc,
                              unsigned confirmations, unsigned timeout_ms, unsigned poll_ms)
    __attribute__((warn_unused_result));

struct nr_eth_log {
    uint8_t address[NR_ETH_ADDR_BYTES];
    uint8_t topics[NR_RPC_MAX_TOPICS][32];
    size_t n_topics;
    uint8_t *data; /* malloc'd */
    size_t data_len;
    uint64_t block_number;
    uint64_t log_index;
    uint8_t tx_hash[NR_ETH_HASH_BYTES];
    int removed;
};
/* eth_getLogs for one address, optional topic0 / topic1 filters (NULL = any), block range
 * [from_block, to_block] (to_block UINT64_MAX = "latest"). */
int nr_rpc_get_logs(struct nr_rpc *rpc, struct nr_eth_log **logs, size_t *n_logs,
                    const uint8_t address[NR_ETH_ADDR_BYTES], const uint8_t *topic0,
                    const uint8_t *topic1, uint64_t from_block, uint64_t to_block)
    __attribute__((warn_unused_result));
void nr_rpc_logs_free(struct nr_eth_log *logs, size_t n_logs);

/* ---- chain evidence (the host side of src/eth/evidence.h) ---- */

/* eth_getBlockByNumber(number, false), re-encoded as the header RLP that the block hash is
 * computed over (see nr_rpc_parse_block_header). *rlp is malloc'd. */
int nr_rpc_block_header(struct nr_rpc *rpc, uint8_t **rlp, size_t *rlp_len, uint8_t hash[32],
                        uint64_t number) __attribute__((warn_unused_result));

struct nr_rpc_storage_proof {
    uint8_t key[32];   /* the slot, as the node echoes it (left-padded to 32 bytes) */
    nr_u256 value;     /* the node's claim; the verifier recomputes it from the nodes */
    struct nr_eth_bytes *nodes; /* each p malloc'd */
    size_t n_nodes;
};
struct nr_rpc_proof {
    uint8_t address[NR_ETH_ADDR_BYTES];
    uint8_t storage_hash[32];
    struct nr_eth_bytes *account_nodes;
    size_t n_account_nodes;
    struct nr_rpc_storage_proof *storage;
    size_t n_storage;
};
void nr_rpc_proof_free(struct nr_rpc_proof *p);
/* eth_getProof(address, [slots], number). The storage proofs come back in the order of slots
 * (NR_EMALFORMED if the node reorders or drops one). Free with nr_rpc_proof_free (also after
 * an error). */
int nr_rpc_get_proof(struct nr_rpc *rpc, struct nr_rpc_proof *out,
                     const uint8_t address[NR_ETH_ADDR_BYTES], const uint8_t (*slots)[32],
                     size_t n_slots, uint64_t number) __attribute__((warn_unused_result));

/* ---- pure parsing of untrusted node replies (no I/O; fuzzed by test/fuzz/fuzz_jsonrpc.c) ----
 * err/cap receive a message on failure (may be NULL/0). */

/* Parse one JSON-RPC 2.0 response envelope with the expected id. On success *result is the
 * detached result. A JSON-RPC error object is NR_ERPC, or NR_EREVERT when it carries revert
 * data / "execution reverted" (reason copied to reason/reason_cap), or NR_ENONCE for "nonce too
 * low". */
int nr_rpc_parse_response(cJSON **result, const char *body, size_t len, uint64_t expect_id,
                          char *err, size_t err_cap, char *reason, size_t reason_cap)
    __attribute__((warn_unused_result));
/* "0x..." quantities (leading zeros tolerated; at most 64 bits / 256 bits). */
int nr_rpc_parse_quantity(uint64_t *out, const cJSON *v) __attribute__((warn_unused_result));
int nr_rpc_parse_quantity256(nr_u256 *out, const cJSON *v) __attribute__((warn_unused_result));
/* "0x..." data of exactly n bytes. */
int nr_rpc_parse_fixed(uint8_t *out, size_t n, const cJSON *v) __attribute__((warn_unused_result));
/* "0x..." data of any (even) length up to max_len; *out malloc'd (non-NULL even when empty). */
int nr_rpc_parse_data(uint8_t **out, size_t *out_len, const cJSON *v, size_t max_len)
    __attribute__((warn_unused_result));
int nr_rpc_parse_receipt(struct nr_eth_receipt *out, const cJSON *v)
    __attribute__((warn_unused_result));
int nr_rpc_parse_logs(struct nr_eth_log **logs, size_t *n_logs, const cJSON *v)
    __attribute__((warn_unused_result));
/* A block object (eth_getBlockByNumber, without transactions) -> its header RLP: parentHash,
 * sha3Uncles, miner, stateRoot, transactionsRoot, receiptsRoot, logsBloom, difficulty, number,
 * gasLimit, gasUsed, timestamp, extraData, mixHash, nonce, then, when present and in this
 * order only, baseFeePerGas (London), withdrawalsRoot (Shanghai), blobGasUsed, excessBlobGas,
 * parentBeaconBlockRoot (Cancun), requestsHash (Prague). *rlp is malloc'd; hash and number are
 * the object's "hash" and "number". NR_EMALFORMED for a missing or bad field (err says
 * which); NR_ECHAIN when keccak256 of the re-encoding is not the block's "hash" (a field this
 * code does not know, or a node that lies). */
int nr_rpc_parse_block_header(uint8_t **rlp, size_t *rlp_len, uint8_t hash[32], uint64_t *number,
                              const cJSON *block, char *err, size_t err_cap)
    __attribute__((warn_unused_result));
/* An eth_getProof result. Bounds: NR_MPT_MAX_NODES nodes per proof, NR_MPT_MAX_NODE_BYTES per
 * node, at most max_storage storage proofs. Free with nr_rpc_proof_free (also after an error). */
int nr_rpc_parse_proof(struct nr_rpc_proof *out, const cJSON *v, size_t max_storage)
    __attribute__((warn_unused_result));

#endif
