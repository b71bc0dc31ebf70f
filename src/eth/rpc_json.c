/* Pure parsers of JSON-RPC replies (no I/O): see rpc.h, "pure parsing". Fuzzed by
 * test/fuzz/fuzz_jsonrpc.c. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>

#include "eth/rpc_internal.h"

#define REASON_BYTES NR_RPC_REASON_BYTES
#define MAX_LOGS NR_RPC_MAX_LOGS
#define MAX_DATA_BYTES NR_RPC_MAX_DATA_BYTES

void nr_rpc_msg(char *buf, size_t cap, const char *fmt, ...)
{
    if (buf == NULL || cap == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
}

void nr_rpc_copy_str(char *buf, size_t cap, const char *s)
{
    if (buf == NULL || cap == 0)
        return;
    size_t n = strlen(s);
    if (n >= cap)
        n = cap - 1;
    memcpy(buf, s, n);
    buf[n] = '\0';
}

void nr_rpc_hex(char *out, const uint8_t *in, size_t len)
{
    int rc = nr_eth_hex_encode(out, 2 * len + 3, in, len);
    (void)rc; /* cannot fail: the caller sized out */
}

int nr_rpc_contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] && (hay[i] | 0x20) == (needle[i] | 0x20))
            i++;
        if (i == n)
            return 1;
    }
    return 0;
}

static const char *hex_text(const cJSON *v)
{
    if (!cJSON_IsString(v) || v->valuestring == NULL)
        return NULL;
    const char *s = v->valuestring;
    if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
        return NULL;
    return s;
}

int nr_rpc_parse_quantity256(nr_u256 *out, const cJSON *v)
{
    const char *s = hex_text(v);
    if (s == NULL || s[2] == '\0')
        return NR_EMALFORMED;
    return nr_u256_parse(out, s);
}

int nr_rpc_parse_quantity(uint64_t *out, const cJSON *v)
{
    nr_u256 u;
    int rc = nr_rpc_parse_quantity256(&u, v);
    if (rc != NR_OK)
        return rc;
    return nr_u256_to_u64(out, &u);
}

int nr_rpc_parse_fixed(uint8_t *out, size_t n, const cJSON *v)
{
    const char *s = hex_text(v);
    if (s == NULL)
        return NR_EMALFORMED;
    if (strlen(s + 2) != 2 * n)
        return NR_EMALFORMED;
    size_t len = 0;
    return nr_eth_hex_decode(out, n, &len, s);
}

int nr_rpc_parse_data(uint8_t **out, size_t *out_len, const cJSON *v, size_t max_len)
{
    const char *s = hex_text(v);
    if (s == NULL)
        return NR_EMALFORMED;
    size_t digits = strlen(s + 2);
    if (digits % 2)
        return NR_EMALFORMED;
    if (digits / 2 > max_len)
        return NR_ETOOBIG;
    uint8_t *p = malloc(digits / 2 + 1);
    if (p == NULL)
        return NR_ENOMEM;
    size_t len = 0;
    int rc = nr_eth_hex_decode(p, digits / 2, &len, s);
    if (rc != NR_OK) {
        free(p);
        return rc;
    }
    *out = p;
    *out_len = len;
    return NR_OK;
}

/* Copy printable ASCII only: node texts go into logs and terminals. */
static void copy_printable(char *buf, size_t cap, const char *s)
{
    if (buf == NULL || cap == 0)
        return;
    size_t j = 0;
    for (size_t i = 0; s[i] && j + 1 < cap; i++)
        buf[j++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    buf[j] = '\0';
}

/* Revert data -> reason text. Error(string) gives the string; anything else a hex excerpt. */
static void revert_reason_from_data(char *reason, size_t cap, const uint8_t *data, size_t len)
{
    char tmp[REASON_BYTES];
    if (len >= 4 && nr_abi_revert_reason(data, len, tmp, sizeof tmp) == NR_OK) {
        copy_printable(reason, cap, tmp);
        return;
    }
    if (len == 0) {
        nr_rpc_copy_str(reason, cap, "(no reason)");
        return;
    }
    char hex[2 + 2 * 36 + 1];
    size_t show = len > 36 ? 36 : len;
    nr_rpc_hex(hex, data, show);
    nr_rpc_msg(reason, cap, "custom error %s%s", hex, len > show ? "..." : "");
}

int nr_rpc_parse_response(cJSON **result, const char *body, size_t len, uint64_t expect_id,
                          char *err, size_t err_cap, char *reason, size_t reason_cap)
{
    *result = NULL;
    if (reason && reason_cap)
        reason[0] = '\0';
    if (body == NULL || len == 0) {
        nr_rpc_msg(err, err_cap, "empty response body");
        return NR_EMALFORMED;
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
    if (root == NULL) {
        nr_rpc_msg(err, err_cap, "response is not JSON");
        return NR_EMALFORMED;
    }
    int rc = NR_EMALFORMED;
    if (end != NULL) {
        for (const char *p = end; p < body + len; p++) {
            if (*p != ' ' && *p != '\n' && *p != '\r' && *p != '\t' && *p != '\0') {
                nr_rpc_msg(err, err_cap, "trailing bytes after JSON response");
                goto out;
            }
        }
    }
    if (!cJSON_IsObject(root)) {
        nr_rpc_msg(err, err_cap, "response is not a JSON object");
        goto out;
    }
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(root, "jsonrpc");
    if (!cJSON_IsString(ver) || strcmp(ver->valuestring, "2.0") != 0) {
        nr_rpc_msg(err, err_cap, "response lacks \"jsonrpc\": \"2.0\"");
        goto out;
    }
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "id");
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(root, "error");
    /* An error reply to an unparsable request may carry id null; accept that only for errors. */
    int id_ok = cJSON_IsNumber(id) && id->valuedouble >= 0 && id->valuedouble < 9007199254740992.0 &&
                (uint64_t)id->valuedouble == expect_id && (double)expect_id == id->valuedouble;
    if (!id_ok && !(error != NULL && cJSON_IsNull(id))) {
        nr_rpc_msg(err, err_cap, "response id does not match request id %" PRIu64, expect_id);
        goto out;
    }
    if (error != NULL) {
        if (!cJSON_IsObject(error)) {
            nr_rpc_msg(err, err_cap, "malformed JSON-RPC error member");
            goto out;
        }
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(error, "code");
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(error, "message");
        const cJSON *data = cJSON_GetObjectItemCaseSensitive(error, "data");
        if (!cJSON_IsNumber(code) || !cJSON_IsString(msg)) {
            nr_rpc_msg(err, err_cap, "malformed JSON-RPC error (code/message)");
            goto out;
        }
        char text[256];
        copy_printable(text, sizeof text, msg->valuestring);
        long long c = (code->valuedouble > -1e15 && code->valuedouble < 1e15)
                          ? (long long)code->valuedouble : 0;
        /* Revert data may be a hex string, or an object {"data": "0x..."} on some nodes. */
        const cJSON *rdata = data;
        if (cJSON_IsObject(rdata))
            rdata = cJSON_GetObjectItemCaseSensitive(rdata, "data");
        int is_revert = c == 3 || nr_rpc_contains_ci(msg->valuestring, "revert");
        if (is_revert) {
            uint8_t *bytes = NULL;
            size_t blen = 0;
            if (rdata != NULL && nr_rpc_parse_data(&bytes, &blen, rdata, 64 * 1024) == NR_OK) {
                revert_reason_from_data(reason, reason_cap, bytes, blen);
                free(bytes);
            } else {
                const char *m = msg->valuestring;
                const char *colon = strstr(m, "reverted: ");
                copy_printable(reason, reason_cap, colon ? colon + 10 : "(no reason)");
            }
            nr_rpc_msg(err, err_cap, "execution reverted: %s", reason ? reason : text);
            rc = NR_EREVERT;
        } else if (nr_rpc_contains_ci(msg->valuestring, "nonce too low") ||
                   nr_rpc_contains_ci(msg->valuestring, "replacement transaction underpriced")) {
            nr_rpc_msg(err, err_cap, "JSON-RPC error %lld: %s", c, text);
            rc = NR_ENONCE;
        } else {
            nr_rpc_msg(err, err_cap, "JSON-RPC error %lld: %s", c, text);
            rc = NR_ERPC;
        }
        goto out;
    }
    cJSON *res = cJSON_DetachItemFromObjectCaseSensitive(root, "result");
    if (res == NULL) {
        nr_rpc_msg(err, err_cap, "response has neither result nor error");
        goto out;
    }
    *result = res;
    rc = NR_OK;
out:
    cJSON_Delete(root);
    return rc;
}

int nr_rpc_parse_receipt(struct nr_eth_receipt *out, const cJSON *v)
{
    memset(out, 0, sizeof *out);
    if (!cJSON_IsObject(v))
        return NR_EMALFORMED;
    uint64_t status = 0;
    int rc;
    if ((rc = nr_rpc_parse_fixed(out->tx_hash, 32, cJSON_GetObjectItemCaseSensitive(v, "transactionHash"))) ||
        (rc = nr_rpc_parse_fixed(out->block_hash, 32, cJSON_GetObjectItemCaseSensitive(v, "blockHash"))) ||
        (rc = nr_rpc_parse_quantity(&out->block_number, cJSON_GetObjectItemCaseSensitive(v, "blockNumber"))) ||
        (rc = nr_rpc_parse_quantity(&status, cJSON_GetObjectItemCaseSensitive(v, "status"))) ||
        (rc = nr_rpc_parse_quantity(&out->gas_used, cJSON_GetObjectItemCaseSensitive(v, "gasUsed"))))
        return rc;
    if (status > 1)
        return NR_EMALFORMED;
    out->status = (int)status;
    const cJSON *egp = cJSON_GetObjectItemCaseSensitive(v, "effectiveGasPrice");
    if (egp != NULL && (rc = nr_rpc_parse_quantity256(&out->effective_gas_price, egp)) != NR_OK)
        return rc;
    const cJSON *ca = cJSON_GetObjectItemCaseSensitive(v, "contractAddress");
    if (ca != NULL && !cJSON_IsNull(ca)) {
        if ((rc = nr_rpc_parse_fixed(out->contract_address, 20, ca)) != NR_OK)
            return rc;
        out->has_contract_address = 1;
    }
    const cJSON *logs = cJSON_GetObjectItemCaseSensitive(v, "logs");
    if (logs != NULL) {
        if (!cJSON_IsArray(logs))
            return NR_EMALFORMED;
        out->n_logs = (size_t)cJSON_GetArraySize(logs);
    }
    return NR_OK;
}

void nr_rpc_logs_free(struct nr_eth_log *logs, size_t n_logs)
{
    if (logs == NULL)
        return;
    for (size_t i = 0; i < n_logs; i++)
        free(logs[i].data);
    free(logs);
}

static int parse_log(struct nr_eth_log *l, const cJSON *v)
{
    if (!cJSON_IsObject(v))
        return NR_EMALFORMED;
    int rc;
    if ((rc = nr_rpc_parse_fixed(l->address, 20, cJSON_GetObjectItemCaseSensitive(v, "address"))) ||
        (rc = nr_rpc_parse_quantity(&l->block_number, cJSON_GetObjectItemCaseSensitive(v, "blockNumber"))) ||
        (rc = nr_rpc_parse_quantity(&l->log_index, cJSON_GetObjectItemCaseSensitive(v, "logIndex"))) ||
        (rc = nr_rpc_parse_fixed(l->tx_hash, 32, cJSON_GetObjectItemCaseSensitive(v, "transactionHash"))))
        return rc;
    const cJSON *topics = cJSON_GetObjectItemCaseSensitive(v, "topics");
    if (!cJSON_IsArray(topics))
        return NR_EMALFORMED;
    int nt = cJSON_GetArraySize(topics);
    if (nt < 0 || (unsigned)nt > NR_RPC_MAX_TOPICS)
        return NR_EMALFORMED;
    for (int i = 0; i < nt; i++)
        if ((rc = nr_rpc_parse_fixed(l->topics[i], 32, cJSON_GetArrayItem(topics, i))) != NR_OK)
            return rc;
    l->n_topics = (size_t)nt;
    const cJSON *removed = cJSON_GetObjectItemCaseSensitive(v, "removed");
    if (removed != NULL) {
        if (!cJSON_IsBool(removed))
            return NR_EMALFORMED;
        l->removed = cJSON_IsTrue(removed);
    }
    return nr_rpc_parse_data(&l->data, &l->data_len, cJSON_GetObjectItemCaseSensitive(v, "data"),
                             MAX_DATA_BYTES);
}

int nr_rpc_parse_logs(struct nr_eth_log **logs, size_t *n_logs, const cJSON *v)
{
    *logs = NULL;
    *n_logs = 0;
    if (!cJSON_IsArray(v))
        return NR_EMALFORMED;
    int n = cJSON_GetArraySize(v);
    if (n < 0 || (unsigned)n > MAX_LOGS)
        return NR_ETOOBIG;
    if (n == 0)
        return NR_OK;
    struct nr_eth_log *out = calloc((size_t)n, sizeof *out);
    if (out == NULL)
        return NR_ENOMEM;
    size_t i = 0;
    for (const cJSON *it = v->child; it != NULL; it = it->next, i++) {
        int rc = parse_log(&out[i], it);
        if (rc != NR_OK) {
            nr_rpc_logs_free(out, i + 1);
            return rc;
        }
    }
    *logs = out;
    *n_logs = (size_t)n;
    return NR_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* block headers and proofs (chain evidence) */

enum hdr_kind { H_FIXED, H_DATA, H_QTY };
struct hdr_field {
    const char *name;
    enum hdr_kind kind;
    size_t len; /* H_FIXED: bytes; H_DATA: cap */
};
static const struct hdr_field hdr_fields[] = {
    {"parentHash", H_FIXED, 32},       {"sha3Uncles", H_FIXED, 32},
    {"miner", H_FIXED, 20},            {"stateRoot", H_FIXED, 32},
    {"transactionsRoot", H_FIXED, 32}, {"receiptsRoot", H_FIXED, 32},
    {"logsBloom", H_FIXED, 256},       {"difficulty", H_QTY, 0},
    {"number", H_QTY, 0},              {"gasLimit", H_QTY, 0},
    {"gasUsed", H_QTY, 0},             {"timestamp", H_QTY, 0},
    {"extraData", H_DATA, 1024},       {"mixHash", H_FIXED, 32},
    {"nonce", H_FIXED, 8},
    /* optional, in fork order */
    {"baseFeePerGas", H_QTY, 0},       {"withdrawalsRoot", H_FIXED, 32},
    {"blobGasUsed", H_QTY, 0},         {"excessBlobGas", H_QTY, 0},
    {"parentBeaconBlockRoot", H_FIXED, 32}, {"requestsHash", H_FIXED, 32},
};
#define HDR_REQUIRED 15u
#define HDR_FIELDS (sizeof hdr_fields / sizeof hdr_fields[0])

int nr_rpc_parse_block_header(uint8_t **rlp, size_t *rlp_len, uint8_t hash[32], uint64_t *number,
                              const cJSON *block, char *err, size_t err_cap)
{
    *rlp = NULL;
    *rlp_len = 0;
    if (!cJSON_IsObject(block)) {
        nr_rpc_msg(err, err_cap, "block is not an object (unknown block?)");
        return NR_EMALFORMED;
    }
    int rc;
    if ((rc = nr_rpc_parse_fixed(hash, 32, cJSON_GetObjectItemCaseSensitive(block, "hash"))) ||
        (rc = nr_rpc_parse_quantity(number, cJSON_GetObjectItemCaseSensitive(block, "number")))) {
        nr_rpc_msg(err, err_cap, "block lacks a valid hash or number");
        return NR_EMALFORMED;
    }
    struct nr_rlp_buf b = {0};
    size_t m = nr_rlp_list_begin(&b);
    int absent_seen = 0;
    for (size_t i = 0; i < HDR_FIELDS; i++) {
        const struct hdr_field *f = &hdr_fields[i];
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(block, f->name);
        if (v == NULL || cJSON_IsNull(v)) {
            if (i < HDR_REQUIRED) {
                nr_rpc_msg(err, err_cap, "block lacks \"%s\"", f->name);
                rc = NR_EMALFORMED;
                goto out;
            }
            absent_seen = 1;
            continue;
        }
        if (absent_seen) {
            nr_rpc_msg(err, err_cap, "block has \"%s\" without the fields of earlier forks",
                       f->name);
            rc = NR_EMALFORMED;
            goto out;
        }
        if (f->kind == H_QTY) {
            nr_u256 u;
            if ((rc = nr_rpc_parse_quantity256(&u, v)) == NR_OK)
                nr_rlp_uint(&b, &u);
        } else if (f->kind == H_FIXED) {
            uint8_t fixed[256];
            if ((rc = nr_rpc_parse_fixed(fixed, f->len, v)) == NR_OK)
                nr_rlp_bytes(&b, fixed, f->len);
        } else {
            uint8_t *d = NULL;
            size_t dl = 0;
            if ((rc = nr_rpc_parse_data(&d, &dl, v, f->len)) == NR_OK)
                nr_rlp_bytes(&b, d, dl);
            free(d);
        }
        if (rc != NR_OK) {
            nr_rpc_msg(err, err_cap, "block field \"%s\" is malformed", f->name);
            goto out;
        }
    }
    nr_rlp_list_end(&b, m);
    if (b.err != NR_OK) {
        rc = b.err;
        nr_rpc_msg(err, err_cap, "header encoding failed");
        goto out;
    }
    uint8_t h[32];
    nr_keccak256(h, b.p, b.len);
    if (memcmp(h, hash, 32) != 0) {
        nr_rpc_msg(err, err_cap,
                   "block %" PRIu64 ": the header re-encoded from its fields does not hash to "
                   "its \"hash\" (unknown header field, or a node that lies)",
                   *number);
        rc = NR_ECHAIN;
        goto out;
    }
    *rlp = b.p;
    *rlp_len = b.len;
    return NR_OK;
out:
    free(b.p);
    return rc;
}

static int parse_nodes(struct nr_eth_bytes **out, size_t *n_out, const cJSON *arr)
{
    *out = NULL;
    *n_out = 0;
    if (!cJSON_IsArray(arr))
        return NR_EMALFORMED;
    int n = cJSON_GetArraySize(arr);
    if (n < 0 || (unsigned)n > NR_MPT_MAX_NODES)
        return NR_ETOOBIG;
    if (n == 0)
        return NR_OK;
    struct nr_eth_bytes *nodes = calloc((size_t)n, sizeof *nodes);
    if (nodes == NULL)
        return NR_ENOMEM;
    *out = nodes;
    size_t i = 0;
    for (const cJSON *it = arr->child; it != NULL && i < (size_t)n; it = it->next, i++) {
        uint8_t *p = NULL;
        size_t len = 0;
        int rc = nr_rpc_parse_data(&p, &len, it, NR_MPT_MAX_NODE_BYTES);
        if (rc != NR_OK)
            return rc;
        nodes[i].p = p;
        nodes[i].len = len;
        *n_out = i + 1;
    }
    return NR_OK;
}

static void free_nodes(struct nr_eth_bytes *nodes, size_t n)
{
    if (nodes == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        free((void *)(uintptr_t)nodes[i].p);
    free(nodes);
}

void nr_rpc_proof_free(struct nr_rpc_proof *p)
{
    if (p == NULL)
        return;
    free_nodes(p->account_nodes, p->n_account_nodes);
    if (p->storage != NULL)
        for (size_t i = 0; i < p->n_storage; i++)
            free_nodes(p->storage[i].nodes, p->storage[i].n_nodes);
    free(p->storage);
    memset(p, 0, sizeof *p);
}

int nr_rpc_parse_proof(struct nr_rpc_proof *out, const cJSON *v, size_t max_storage)
{
    memset(out, 0, sizeof *out);
    if (!cJSON_IsObject(v))
        return NR_EMALFORMED;
    int rc;
    if ((rc = nr_rpc_parse_fixed(out->address, 20, cJSON_GetObjectItemCaseSensitive(v, "address"))) ||
        (rc = nr_rpc_parse_fixed(out->storage_hash, 32,
                                 cJSON_GetObjectItemCaseSensitive(v, "storageHash"))) ||
        (rc = parse_nodes(&out->account_nodes, &out->n_account_nodes,
                          cJSON_GetObjectItemCaseSensitive(v, "accountProof"))))
        return rc;
    const cJSON *sp = cJSON_GetObjectItemCaseSensitive(v, "storageProof");
    if (!cJSON_IsArray(sp))
        return NR_EMALFORMED;
    int n = cJSON_GetArraySize(sp);
    if (n < 0 || (size_t)n > max_storage)
        return NR_ETOOBIG;
    if (n == 0)
        return NR_OK;
    out->storage = calloc((size_t)n, sizeof *out->storage);
    if (out->storage == NULL)
        return NR_ENOMEM;
    size_t i = 0;
    for (const cJSON *it = sp->child; it != NULL && i < (size_t)n; it = it->next, i++) {
        struct nr_rpc_storage_proof *s = &out->storage[i];
        out->n_storage = i + 1;
        if (!cJSON_IsObject(it))
            return NR_EMALFORMED;
        nr_u256 key;
        if ((rc = nr_rpc_parse_quantity256(&key, cJSON_GetObjectItemCaseSensitive(it, "key"))) ||
            (rc = nr_rpc_parse_quantity256(&s->value,
                                           cJSON_GetObjectItemCaseSensitive(it, "value"))) ||
            (rc = parse_nodes(&s->nodes, &s->n_nodes,
                              cJSON_GetObjectItemCaseSensitive(it, "proof"))))
            return rc;
        memcpy(s->key, key.b, 32);
    }
    return NR_OK;
}
