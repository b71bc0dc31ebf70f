/* Ethereum JSON-RPC client, typed calls: see rpc.h. The transport is rpc_http.c, the reply
 * parsers rpc_json.c. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eth/rpc_internal.h"

#define MAX_DATA_BYTES NR_RPC_MAX_DATA_BYTES

/* ---------------------------------------------------------------------------------------- */
/* typed calls */

/* Call and parse a result with fn; errors in the result shape are reported with the method. */
static int result_error(struct nr_rpc *rpc, const char *method, int rc)
{
    nr_rpc_msg(rpc->err, sizeof rpc->err, "%s: malformed result (%s)", method, nr_strerror(rc));
    return rc;
}

static int call_quantity(struct nr_rpc *rpc, uint64_t *out, const char *method, const char *params)
{
    cJSON *res = NULL;
    int rc = nr_rpc_call(rpc, &res, method, params);
    if (rc != NR_OK)
        return rc;
    rc = nr_rpc_parse_quantity(out, res);
    cJSON_Delete(res);
    return rc == NR_OK ? NR_OK : result_error(rpc, method, rc);
}

static int call_quantity256(struct nr_rpc *rpc, nr_u256 *out, const char *method, const char *params)
{
    cJSON *res = NULL;
    int rc = nr_rpc_call(rpc, &res, method, params);
    if (rc != NR_OK)
        return rc;
    rc = nr_rpc_parse_quantity256(out, res);
    cJSON_Delete(res);
    return rc == NR_OK ? NR_OK : result_error(rpc, method, rc);
}

int nr_rpc_chain_id(struct nr_rpc *rpc, uint64_t *out)
{
    return call_quantity(rpc, out, "eth_chainId", "[]");
}

int nr_rpc_block_number(struct nr_rpc *rpc, uint64_t *out)
{
    return call_quantity(rpc, out, "eth_blockNumber", "[]");
}

static int valid_tag(const char *t)
{
    if (strcmp(t, "latest") == 0 || strcmp(t, "pending") == 0 || strcmp(t, "earliest") == 0 ||
        strcmp(t, "safe") == 0 || strcmp(t, "finalized") == 0)
        return 1;
    if (t[0] != '0' || t[1] != 'x' || t[2] == '\0' || strlen(t) > 18)
        return 0;
    for (const char *p = t + 2; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F')))
            return 0;
    return 1;
}

int nr_rpc_nonce(struct nr_rpc *rpc, uint64_t *out, const uint8_t addr[NR_ETH_ADDR_BYTES],
                 const char *block_tag)
{
    if (block_tag == NULL)
        block_tag = "pending";
    if (!valid_tag(block_tag))
        return NR_EINVAL;
    char a[43], params[96];
    nr_rpc_hex(a, addr, 20);
    snprintf(params, sizeof params, "[\"%s\",\"%s\"]", a, block_tag);
    return call_quantity(rpc, out, "eth_getTransactionCount", params);
}

int nr_rpc_balance(struct nr_rpc *rpc, nr_u256 *out, const uint8_t addr[NR_ETH_ADDR_BYTES])
{
    char a[43], params[96];
    nr_rpc_hex(a, addr, 20);
    snprintf(params, sizeof params, "[\"%s\",\"latest\"]", a);
    return call_quantity256(rpc, out, "eth_getBalance", params);
}

int nr_rpc_gas_price(struct nr_rpc *rpc, nr_u256 *out)
{
    return call_quantity256(rpc, out, "eth_gasPrice", "[]");
}

static void u256_add(nr_u256 *r, const nr_u256 *a, const nr_u256 *b, int *overflow)
{
    unsigned carry = 0;
    for (int i = 31; i >= 0; i--) {
        unsigned s = (unsigned)a->b[i] + b->b[i] + carry;
        r->b[i] = (uint8_t)s;
        carry = s >> 8;
    }
    *overflow |= (int)carry;
}

int nr_rpc_fees(struct nr_rpc *rpc, nr_u256 *max_fee, nr_u256 *max_priority_fee)
{
    cJSON *blk = NULL;
    int rc = nr_rpc_call(rpc, &blk, "eth_getBlockByNumber", "[\"latest\",false]");
    if (rc != NR_OK)
        return rc;
    nr_u256 base;
    const cJSON *bf = cJSON_IsObject(blk) ? cJSON_GetObjectItemCaseSensitive(blk, "baseFeePerGas") : NULL;
    if (!cJSON_IsObject(blk)) {
        rc = result_error(rpc, "eth_getBlockByNumber", NR_EMALFORMED);
    } else if (bf == NULL || cJSON_IsNull(bf)) {
        nr_rpc_msg(rpc->err, sizeof rpc->err, "chain has no base fee (pre-London): use legacy transactions");
        rc = NR_ENOTFOUND;
    } else if ((rc = nr_rpc_parse_quantity256(&base, bf)) != NR_OK) {
        rc = result_error(rpc, "eth_getBlockByNumber", rc);
    }
    cJSON_Delete(blk);
    if (rc != NR_OK)
        return rc;
    if ((rc = call_quantity256(rpc, max_priority_fee, "eth_maxPriorityFeePerGas", "[]")) != NR_OK)
        return rc;
    int ovf = 0;
    nr_u256 twice;
    u256_add(&twice, &base, &base, &ovf);
    u256_add(max_fee, &twice, max_priority_fee, &ovf);
    if (ovf) {
        nr_rpc_msg(rpc->err, sizeof rpc->err, "fee computation overflows");
        return NR_ETOOBIG;
    }
    return NR_OK;
}

/* Builds {"from":..,"to":..,"data":..,"value":..} into a malloc'd string. */
static char *call_object(const uint8_t *from, const uint8_t *to, const uint8_t *data,
                         size_t data_len, const nr_u256 *value)
{
    size_t cap = 2 * data_len + 256;
    char *s = malloc(cap);
    char *hex = malloc(2 * data_len + 3);
    if (s == NULL || hex == NULL) {
        free(s);
        free(hex);
        return NULL;
    }
    size_t n = 0;
    n += (size_t)snprintf(s + n, cap - n, "{");
    char a[43];
    if (from) {
        nr_rpc_hex(a, from, 20);
        n += (size_t)snprintf(s + n, cap - n, "\"from\":\"%s\",", a);
    }
    if (to) {
        nr_rpc_hex(a, to, 20);
        n += (size_t)snprintf(s + n, cap - n, "\"to\":\"%s\",", a);
    }
    if (value) {
        char v[NR_U256_HEX_MAX];
        nr_u256_to_hex(v, value);
        n += (size_t)snprintf(s + n, cap - n, "\"value\":\"%s\",", v);
    }
    nr_rpc_hex(hex, data, data_len);
    snprintf(s + n, cap - n, "\"data\":\"%s\"}", hex);
    free(hex);
    return s;
}

int nr_rpc_estimate_gas(struct nr_rpc *rpc, uint64_t *gas, const uint8_t *from, const uint8_t *to,
                        const uint8_t *data, size_t data_len, const nr_u256 *value)
{
    char *obj = call_object(from, to, data, data_len, value);
    if (obj == NULL)
        return NR_ENOMEM;
    size_t cap = strlen(obj) + 8;
    char *params = malloc(cap);
    if (params == NULL) {
        free(obj);
        return NR_ENOMEM;
    }
    snprintf(params, cap, "[%s]", obj);
    free(obj);
    int rc = call_quantity(rpc, gas, "eth_estimateGas", params);
    free(params);
    return rc;
}

int nr_rpc_eth_call(struct nr_rpc *rpc, uint8_t **out, size_t *out_len, const uint8_t *from,
                    const uint8_t to[NR_ETH_ADDR_BYTES], const uint8_t *data, size_t data_len,
                    const char *block_tag)
{
    *out = NULL;
    *out_len = 0;
    if (block_tag == NULL)
        block_tag = "latest";
    if (!valid_tag(block_tag))
        return NR_EINVAL;
    char *obj = call_object(from, to, data, data_len, NULL);
    if (obj == NULL)
        return NR_ENOMEM;
    size_t cap = strlen(obj) + strlen(block_tag) + 8;
    char *params = malloc(cap);
    if (params == NULL) {
        free(obj);
        return NR_ENOMEM;
    }
    snprintf(params, cap, "[%s,\"%s\"]", obj, block_tag);
    free(obj);
    cJSON *res = NULL;
    int rc = nr_rpc_call(rpc, &res, "eth_call", params);
    free(params);
    if (rc != NR_OK)
        return rc;
    rc = nr_rpc_parse_data(out, out_len, res, MAX_DATA_BYTES);
    cJSON_Delete(res);
    return rc == NR_OK ? NR_OK : result_error(rpc, "eth_call", rc);
}

int nr_rpc_send_raw(struct nr_rpc *rpc, uint8_t tx_hash[NR_ETH_HASH_BYTES], const uint8_t *raw,
                    size_t raw_len)
{
    uint8_t expect[32];
    nr_keccak256(expect, raw, raw_len);
    size_t cap = 2 * raw_len + 16;
    char *params = malloc(cap);
    if (params == NULL)
        return NR_ENOMEM;
    params[0] = '[';
    params[1] = '"';
    nr_rpc_hex(params + 2, raw, raw_len);
    strcat(params, "\"]");
    cJSON *res = NULL;
    int rc = nr_rpc_call(rpc, &res, "eth_sendRawTransaction", params);
    free(params);
    if (rc == NR_ERPC && (nr_rpc_contains_ci(rpc->err, "already known") ||
                          nr_rpc_contains_ci(rpc->err, "known transaction") ||
                          nr_rpc_contains_ci(rpc->err, "already imported") ||
                          nr_rpc_contains_ci(rpc->err, "alreadyknown"))) {
        memcpy(tx_hash, expect, 32); /* a resend of a transaction the node has */
        return NR_OK;
    }
    if (rc != NR_OK)
        return rc;
    uint8_t got[32];
    rc = nr_rpc_parse_fixed(got, 32, res);
    cJSON_Delete(res);
    if (rc != NR_OK)
        return result_error(rpc, "eth_sendRawTransaction", rc);
    if (memcmp(got, expect, 32) != 0) {
        nr_rpc_msg(rpc->err, sizeof rpc->err, "eth_sendRawTransaction: node returned a different hash");
        return NR_ECHAIN;
    }
    memcpy(tx_hash, got, 32);
    return NR_OK;
}

static int hash_params(char *params, size_t cap, const uint8_t h[32])
{
    char hex[67];
    nr_rpc_hex(hex, h, 32);
    snprintf(params, cap, "[\"%s\"]", hex);
    return NR_OK;
}

int nr_rpc_receipt(struct nr_rpc *rpc, struct nr_eth_receipt *out,
                   const uint8_t tx_hash[NR_ETH_HASH_BYTES])
{
    char params[80];
    (void)hash_params(params, sizeof params, tx_hash);
    cJSON *res = NULL;
    int rc = nr_rpc_call(rpc, &res, "eth_getTransactionReceipt", params);
    if (rc != NR_OK)
        return rc;
    if (cJSON_IsNull(res)) {
        cJSON_Delete(res);
        nr_rpc_msg(rpc->err, sizeof rpc->err, "no receipt yet");
        return NR_ENOTFOUND;
    }
    rc = nr_rpc_parse_receipt(out, res);
    cJSON_Delete(res);
    if (rc != NR_OK)
        return result_error(rpc, "eth_getTransactionReceipt", rc);
    if (memcmp(out->tx_hash, tx_hash, 32) != 0) {
        nr_rpc_msg(rpc->err, sizeof rpc->err, "receipt is for another transaction");
        return NR_ECHAIN;
    }
    return NR_OK;
}

int nr_rpc_wait_receipt(struct nr_rpc *rpc, struct nr_eth_receipt *out,
                        const uint8_t tx_hash[NR_ETH_HASH_BYTES], unsigned timeout_ms,
                        unsigned poll_ms)
{
    if (poll_ms == 0)
        poll_ms = 100;
    uint64_t deadline = nr_rpc_now_ms() + timeout_ms;
    for (;;) {
        int rc = nr_rpc_receipt(rpc, out, tx_hash);
        if (rc != NR_ENOTFOUND)
            return rc;
        uint64_t now = nr_rpc_now_ms();
        if (now >= deadline)
            break;
        nr_rpc_sleep_ms((unsigned)(deadline - now < poll_ms ? deadline - now : poll_ms));
    }
    /* Timed out: is the transaction still known (pending) or dropped? */
    char params[80], hex[67];
    (void)hash_params(params, sizeof params, tx_hash);
    nr_rpc_hex(hex, tx_hash, 32);
    cJSON *res = NULL;
    int rc = nr_rpc_call(rpc, &res, "eth_getTransactionByHash", params);
    if (rc == NR_OK && cJSON_IsNull(res))
        nr_rpc_msg(rpc->err, sizeof rpc->err,
                "transaction %s dropped: no receipt after %u ms and unknown to the node", hex,
                timeout_ms);
    else if (rc != NR_OK)
        nr_rpc_msg(rpc->err, sizeof rpc->err,
                "transaction %s: no receipt after %u ms, status unknown (%s)", hex, timeout_ms,
                nr_strerror(rc));
    else
        nr_rpc_msg(rpc->err, sizeof rpc->err,
                "transaction %s still pending: no receipt after %u ms", hex, timeout_ms);
    cJSON_Delete(res);
    return NR_ETIMEDOUT;
}

int nr_rpc_wait_confirmations(struct nr_rpc *rpc, const struct nr_eth_receipt *rc_in,
                              unsigned confirmations, unsigned timeout_ms, unsigned poll_ms)
{
    if (confirmations <= 1)
        return NR_OK;
    if (poll_ms == 0)
        poll_ms = 500;
    uint64_t deadline = nr_rpc_now_ms() + timeout_ms;
    for (;;) {
        uint64_t head = 0;
        int rc = nr_rpc_block_number(rpc, &head);
        if (rc != NR_OK)
            return rc;
        if (head >= rc_in->block_number && head - rc_in->block_number + 1 >= confirmations) {
            struct nr_eth_receipt again;
            rc = nr_rpc_receipt(rpc, &again, rc_in->tx_hash);
            if (rc == NR_ENOTFOUND || (rc == NR_OK && memcmp(again.block_hash, rc_in->block_hash, 32))) {
                nr_rpc_msg(rpc->err, sizeof rpc->err,
                        "transaction left block %" PRIu64 " (chain reorganisation)",
                        rc_in->block_number);
                return NR_ECHAIN;
            }
            return rc;
        }
        uint64_t now = nr_rpc_now_ms();
        if (now >= deadline) {
            nr_rpc_msg(rpc->err, sizeof rpc->err,
                    "block %" PRIu64 " has %" PRIu64 " of %u confirmations after %u ms",
                    rc_in->block_number,
                    head >= rc_in->block_number ? head - rc_in->block_number + 1 : 0,
                    confirmations, timeout_ms);
            return NR_ETIMEDOUT;
        }
        nr_rpc_sleep_ms((unsigned)(deadline - now < poll_ms ? deadline - now : poll_ms));
    }
}

int nr_rpc_get_logs(struct nr_rpc *rpc, struct nr_eth_log **logs, size_t *n_logs,
                    const uint8_t address[NR_ETH_ADDR_BYTES], const uint8_t *topic0,
                    const uint8_t *topic1, uint64_t from_block, uint64_t to_block)
{
    *logs = NULL;
    *n_logs = 0;
    char a[43], to[24] = "\"latest\"";
    char params[400];
    nr_rpc_hex(a, address, 20);
    char t0q[70], t1q[70]; /* quote + 66 + quote + NUL */
    if (topic0) {
        char h[67];
        nr_rpc_hex(h, topic0, 32);
        snprintf(t0q, sizeof t0q, "\"%s\"", h);
    } else {
        snprintf(t0q, sizeof t0q, "null");
    }
    if (topic1) {
        char h[67];
        nr_rpc_hex(h, topic1, 32);
        snprintf(t1q, sizeof t1q, "\"%s\"", h);
    } else {
        snprintf(t1q, sizeof t1q, "null");
    }
    if (to_block != UINT64_MAX)
        snprintf(to, sizeof to, "\"0x%" PRIx64 "\"", to_block);
    snprintf(params, sizeof params,
             "[{\"address\":\"%s\",\"topics\":[%s,%s],\"fromBlock\":\"0x%" PRIx64
             "\",\"toBlock\":%s}]",
             a, t0q, t1q, from_block, to);
    cJSON *res = NULL;
    int rc = nr_rpc_call(rpc, &res, "eth_getLogs", params);
    if (rc != NR_OK)
        return rc;
    rc = nr_rpc_parse_logs(logs, n_logs, res);
    cJSON_Delete(res);
    return rc == NR_OK ? NR_OK : result_error(rpc, "eth_getLogs", rc);
}


/* ---------------------------------------------------------------------------------------- */
/* chain evidence */

int nr_rpc_block_header(struct nr_rpc *rpc, uint8_t **rlp, size_t *rlp_len, uint8_t hash[32],
                        uint64_t number)
{
    *rlp = NULL;
    *rlp_len = 0;
    char params[48];
    snprintf(params, sizeof params, "[\"0x%" PRIx64 "\",false]", number);
    cJSON *res = NULL;
    int rc = nr_rpc_call(rpc, &res, "eth_getBlockByNumber", params);
    if (rc != NR_OK)
        return rc;
    char why[200];
    uint64_t got = 0;
    rc = nr_rpc_parse_block_header(rlp, rlp_len, hash, &got, res, why, sizeof why);
    cJSON_Delete(res);
    if (rc == NR_OK && got != number) {
        free(*rlp);
        *rlp = NULL;
        *rlp_len = 0;
        nr_rpc_msg(why, sizeof why, "asked for block %" PRIu64 ", got block %" PRIu64, number, got);
        rc = NR_ECHAIN;
    }
    if (rc != NR_OK)
        nr_rpc_msg(rpc->err, sizeof rpc->err, "%s: eth_getBlockByNumber: %s", rpc->url, why);
    return rc;
}

int nr_rpc_get_proof(struct nr_rpc *rpc, struct nr_rpc_proof *out,
                     const uint8_t address[NR_ETH_ADDR_BYTES], const uint8_t (*slots)[32],
                     size_t n_slots, uint64_t number)
{
    memset(out, 0, sizeof *out);
    size_t cap = 96 + n_slots * 70;
    char *params = malloc(cap);
    if (params == NULL)
        return NR_ENOMEM;
    char a[43];
    nr_rpc_hex(a, address, 20);
    size_t n = (size_t)snprintf(params, cap, "[\"%s\",[", a);
    for (size_t i = 0; i < n_slots; i++) {
        char h[67];
        nr_rpc_hex(h, slots[i], 32);
        n += (size_t)snprintf(params + n, cap - n, "%s\"%s\"", i ? "," : "", h);
    }
    snprintf(params + n, cap - n, "],\"0x%" PRIx64 "\"]", number);
    cJSON *res = NULL;
    int rc = nr_rpc_call(rpc, &res, "eth_getProof", params);
    free(params);
    if (rc != NR_OK)
        return rc;
    rc = nr_rpc_parse_proof(out, res, n_slots);
    cJSON_Delete(res);
    if (rc != NR_OK)
        return result_error(rpc, "eth_getProof", rc);
    if (memcmp(out->address, address, 20) != 0 || out->n_storage != n_slots) {
        nr_rpc_msg(rpc->err, sizeof rpc->err, "%s: eth_getProof: proof for another account or "
                   "other slots", rpc->url);
        return NR_EMALFORMED;
    }
    for (size_t i = 0; i < n_slots; i++)
        if (memcmp(out->storage[i].key, slots[i], 32) != 0) {
            nr_rpc_msg(rpc->err, sizeof rpc->err,
                       "%s: eth_getProof: storage proof %zu is for another slot", rpc->url, i);
            return NR_EMALFORMED;
        }
    return NR_OK;
}
