/* Ethereum JSON-RPC client: see rpc.h. */
#include "eth/rpc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#define REASON_BYTES 256u
#define MAX_LOGS 100000u
#define MAX_DATA_BYTES (4u * 1024u * 1024u)

struct nr_rpc {
    char *url;
    uint64_t expect_chain_id;
    unsigned timeout_ms, connect_timeout_ms, retries, backoff_ms;
    size_t max_response_bytes;
    CURL *curl;
    struct curl_slist *headers;
    uint64_t next_id;
    unsigned long attempts;
    char err[NR_RPC_ERRMSG_BYTES];
    char reason[REASON_BYTES];
};

/* ---------------------------------------------------------------------------------------- */
/* small helpers */

static void set_msg(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_msg(char *buf, size_t cap, const char *fmt, ...)
{
    if (buf == NULL || cap == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
}

static void copy_str(char *buf, size_t cap, const char *s)
{
    if (buf == NULL || cap == 0)
        return;
    size_t n = strlen(s);
    if (n >= cap)
        n = cap - 1;
    memcpy(buf, s, n);
    buf[n] = '\0';
}

/* "0x"-prefixed lower-case hex of in[0..len); out needs 2*len + 3 bytes. */
static void hex_enc(char *out, const uint8_t *in, size_t len)
{
    int rc = nr_eth_hex_encode(out, 2 * len + 3, in, len);
    (void)rc; /* cannot fail: the caller sized out */
}

/* The text of a JSON string that starts with a mandatory "0x", or NULL. */
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

static int contains_ci(const char *hay, const char *needle)
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
        copy_str(reason, cap, "(no reason)");
        return;
    }
    char hex[2 + 2 * 36 + 1];
    size_t show = len > 36 ? 36 : len;
    hex_enc(hex, data, show);
    set_msg(reason, cap, "custom error %s%s", hex, len > show ? "..." : "");
}

int nr_rpc_parse_response(cJSON **result, const char *body, size_t len, uint64_t expect_id,
                          char *err, size_t err_cap, char *reason, size_t reason_cap)
{
    *result = NULL;
    if (reason && reason_cap)
        reason[0] = '\0';
    if (body == NULL || len == 0) {
        set_msg(err, err_cap, "empty response body");
        return NR_EMALFORMED;
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
    if (root == NULL) {
        set_msg(err, err_cap, "response is not JSON");
        return NR_EMALFORMED;
    }
    int rc = NR_EMALFORMED;
    if (end != NULL) {
        for (const char *p = end; p < body + len; p++) {
            if (*p != ' ' && *p != '\n' && *p != '\r' && *p != '\t' && *p != '\0') {
                set_msg(err, err_cap, "trailing bytes after JSON response");
                goto out;
            }
        }
    }
    if (!cJSON_IsObject(root)) {
        set_msg(err, err_cap, "response is not a JSON object");
        goto out;
    }
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(root, "jsonrpc");
    if (!cJSON_IsString(ver) || strcmp(ver->valuestring, "2.0") != 0) {
        set_msg(err, err_cap, "response lacks \"jsonrpc\": \"2.0\"");
        goto out;
    }
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "id");
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(root, "error");
    /* An error reply to an unparsable request may carry id null; accept that only for errors. */
    int id_ok = cJSON_IsNumber(id) && id->valuedouble >= 0 && id->valuedouble < 9007199254740992.0 &&
                (uint64_t)id->valuedouble == expect_id && (double)expect_id == id->valuedouble;
    if (!id_ok && !(error != NULL && cJSON_IsNull(id))) {
        set_msg(err, err_cap, "response id does not match request id %" PRIu64, expect_id);
        goto out;
    }
    if (error != NULL) {
        if (!cJSON_IsObject(error)) {
            set_msg(err, err_cap, "malformed JSON-RPC error member");
            goto out;
        }
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(error, "code");
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(error, "message");
        const cJSON *data = cJSON_GetObjectItemCaseSensitive(error, "data");
        if (!cJSON_IsNumber(code) || !cJSON_IsString(msg)) {
            set_msg(err, err_cap, "malformed JSON-RPC error (code/message)");
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
        int is_revert = c == 3 || contains_ci(msg->valuestring, "revert");
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
            set_msg(err, err_cap, "execution reverted: %s", reason ? reason : text);
            rc = NR_EREVERT;
        } else if (contains_ci(msg->valuestring, "nonce too low") ||
                   contains_ci(msg->valuestring, "replacement transaction underpriced")) {
            set_msg(err, err_cap, "JSON-RPC error %lld: %s", c, text);
            rc = NR_ENONCE;
        } else {
            set_msg(err, err_cap, "JSON-RPC error %lld: %s", c, text);
            rc = NR_ERPC;
        }
        goto out;
    }
    cJSON *res = cJSON_DetachItemFromObjectCaseSensitive(root, "result");
    if (res == NULL) {
        set_msg(err, err_cap, "response has neither result nor error");
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
/* transport */

struct body {
    char *p;
    size_t len, cap, max;
    int too_big;
};

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
    struct body *b = arg;
    size_t n = size * nmemb;
    if (b->len + n > b->max) {
        b->too_big = 1;
        return 0; /* aborts the transfer */
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (p == NULL)
            return 0;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, ptr, n);
    b->len += n;
    b->p[b->len] = '\0';
    return n;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int transient_curl(CURLcode c)
{
    switch (c) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
        return 1;
    default:
        return 0;
    }
}

/* POST body; *resp malloc'd on NR_OK (also for non-200 statuses with a body: *http_status). */
static int http_post(struct nr_rpc *rpc, struct body *resp, long *http_status, const char *req)
{
    unsigned backoff = rpc->backoff_ms;
    int rc = NR_EIO;
    for (unsigned attempt = 0;; attempt++) {
        memset(resp, 0, sizeof *resp);
        resp->max = rpc->max_response_bytes;
        curl_easy_setopt(rpc->curl, CURLOPT_POSTFIELDS, req);
        curl_easy_setopt(rpc->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(req));
        curl_easy_setopt(rpc->curl, CURLOPT_WRITEDATA, resp);
        rpc->attempts++;
        CURLcode c = curl_easy_perform(rpc->curl);
        long status = 0;
        curl_easy_getinfo(rpc->curl, CURLINFO_RESPONSE_CODE, &status);
        if (c == CURLE_OK) {
            if (status == 429 || status == 502 || status == 503 || status == 504) {
                set_msg(rpc->err, sizeof rpc->err, "%s: HTTP status %ld", rpc->url, status);
                rc = NR_ERPC;
            } else {
                *http_status = status;
                return NR_OK;
            }
        } else if (resp->too_big) {
            free(resp->p);
            resp->p = NULL;
            set_msg(rpc->err, sizeof rpc->err, "%s: response larger than %zu bytes", rpc->url,
                    rpc->max_response_bytes);
            return NR_ETOOBIG;
        } else if (transient_curl(c)) {
            rc = c == CURLE_OPERATION_TIMEDOUT ? NR_ETIMEDOUT : NR_EUNREACHABLE;
            set_msg(rpc->err, sizeof rpc->err, "%s: %s (after %u attempt%s)", rpc->url,
                    curl_easy_strerror(c), attempt + 1, attempt ? "s" : "");
        } else {
            free(resp->p);
            resp->p = NULL;
            set_msg(rpc->err, sizeof rpc->err, "%s: %s", rpc->url, curl_easy_strerror(c));
            return NR_EIO;
        }
        free(resp->p);
        resp->p = NULL;
        if (attempt >= rpc->retries)
            return rc;
        sleep_ms(backoff);
        backoff = backoff > 10000 ? 20000 : backoff * 2;
    }
}

int nr_rpc_call(struct nr_rpc *rpc, cJSON **result, const char *method, const char *params_json)
{
    *result = NULL;
    rpc->err[0] = '\0';
    rpc->reason[0] = '\0';
    if (params_json == NULL)
        params_json = "[]";
    uint64_t id = ++rpc->next_id;
    size_t need = strlen(method) + strlen(params_json) + 96;
    char *req = malloc(need);
    if (req == NULL)
        return NR_ENOMEM;
    snprintf(req, need, "{\"jsonrpc\":\"2.0\",\"id\":%" PRIu64 ",\"method\":\"%s\",\"params\":%s}", id,
             method, params_json);
    struct body resp;
    long status = 0;
    int rc = http_post(rpc, &resp, &status, req);
    free(req);
    if (rc != NR_OK)
        return rc;
    char err[NR_RPC_ERRMSG_BYTES - 64];
    rc = nr_rpc_parse_response(result, resp.p, resp.len, id, err, sizeof err, rpc->reason,
                               sizeof rpc->reason);
    if (rc == NR_EMALFORMED && status != 200) {
        set_msg(rpc->err, sizeof rpc->err, "%s: %s: HTTP status %ld", rpc->url, method, status);
        rc = NR_ERPC;
    } else if (rc != NR_OK) {
        set_msg(rpc->err, sizeof rpc->err, "%s: %s", method, err);
    }
    free(resp.p);
    return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* lifecycle */

int nr_rpc_open(struct nr_rpc **out, const struct nr_rpc_config *cfg)
{
    *out = NULL;
    if (cfg == NULL || cfg->url == NULL || cfg->url[0] == '\0')
        return NR_EINVAL;
    if (strncmp(cfg->url, "http://", 7) != 0 && strncmp(cfg->url, "https://", 8) != 0)
        return NR_ECONFIG;
    struct nr_rpc *rpc = calloc(1, sizeof *rpc);
    if (rpc == NULL)
        return NR_ENOMEM;
    rpc->url = strdup(cfg->url);
    rpc->expect_chain_id = cfg->expect_chain_id;
    rpc->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : NR_RPC_DEFAULT_TIMEOUT_MS;
    rpc->connect_timeout_ms =
        cfg->connect_timeout_ms ? cfg->connect_timeout_ms : NR_RPC_DEFAULT_CONNECT_TIMEOUT_MS;
    rpc->retries = cfg->retries == NR_RPC_NO_RETRY ? 0
                   : cfg->retries                 ? cfg->retries
                                                  : NR_RPC_DEFAULT_RETRIES;
    if (rpc->retries > 10)
        rpc->retries = 10;
    rpc->backoff_ms = cfg->backoff_ms ? cfg->backoff_ms : NR_RPC_DEFAULT_BACKOFF_MS;
    rpc->max_response_bytes =
        cfg->max_response_bytes ? cfg->max_response_bytes : NR_RPC_DEFAULT_MAX_RESPONSE_BYTES;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        free(rpc->url);
        free(rpc);
        return NR_EIO;
    }
    rpc->curl = curl_easy_init();
    rpc->headers = curl_slist_append(NULL, "Content-Type: application/json");
    if (rpc->url == NULL || rpc->curl == NULL || rpc->headers == NULL) {
        nr_rpc_close(rpc);
        return NR_ENOMEM;
    }
    CURL *c = rpc->curl;
    curl_easy_setopt(c, CURLOPT_URL, rpc->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, rpc->headers);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)rpc->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)rpc->connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_NOPROXY, "localhost,127.0.0.1,::1");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "narrator-chain/0.1");
    *out = rpc;
    if (rpc->expect_chain_id != 0) {
        uint64_t id = 0;
        int rc = nr_rpc_chain_id(rpc, &id);
        if (rc != NR_OK)
            return rc;
        if (id != rpc->expect_chain_id) {
            set_msg(rpc->err, sizeof rpc->err,
                    "%s: chain id %" PRIu64 " but %" PRIu64 " is configured", rpc->url, id,
                    rpc->expect_chain_id);
            return NR_ECHAINID;
        }
    }
    return NR_OK;
}

void nr_rpc_close(struct nr_rpc *rpc)
{
    if (rpc == NULL)
        return;
    if (rpc->curl)
        curl_easy_cleanup(rpc->curl);
    curl_slist_free_all(rpc->headers);
    curl_global_cleanup();
    free(rpc->url);
    free(rpc);
}

const char *nr_rpc_errmsg(const struct nr_rpc *rpc) { return rpc ? rpc->err : "no client"; }
const char *nr_rpc_revert_reason(const struct nr_rpc *rpc) { return rpc ? rpc->reason : ""; }
unsigned long nr_rpc_attempts(const struct nr_rpc *rpc) { return rpc ? rpc->attempts : 0; }

/* ---------------------------------------------------------------------------------------- */
/* typed calls */

/* Call and parse a result with fn; errors in the result shape are reported with the method. */
static int result_error(struct nr_rpc *rpc, const char *method, int rc)
{
    set_msg(rpc->err, sizeof rpc->err, "%s: malformed result (%s)", method, nr_strerror(rc));
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
    hex_enc(a, addr, 20);
    snprintf(params, sizeof params, "[\"%s\",\"%s\"]", a, block_tag);
    return call_quantity(rpc, out, "eth_getTransactionCount", params);
}

int nr_rpc_balance(struct nr_rpc *rpc, nr_u256 *out, const uint8_t addr[NR_ETH_ADDR_BYTES])
{
    char a[43], params[96];
    hex_enc(a, addr, 20);
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
        set_msg(rpc->err, sizeof rpc->err, "chain has no base fee (pre-London): use legacy transactions");
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
        set_msg(rpc->err, sizeof rpc->err, "fee computation overflows");
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
        hex_enc(a, from, 20);
        n += (size_t)snprintf(s + n, cap - n, "\"from\":\"%s\",", a);
    }
    if (to) {
        hex_enc(a, to, 20);
        n += (size_t)snprintf(s + n, cap - n, "\"to\":\"%s\",", a);
    }
    if (value) {
        char v[NR_U256_HEX_MAX];
        nr_u256_to_hex(v, value);
        n += (size_t)snprintf(s + n, cap - n, "\"value\":\"%s\",", v);
    }
    hex_enc(hex, data, data_len);
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
    hex_enc(params + 2, raw, raw_len);
    strcat(params, "\"]");
    cJSON *res = NULL;
    int rc = nr_rpc_call(rpc, &res, "eth_sendRawTransaction", params);
    free(params);
    if (rc == NR_ERPC && (contains_ci(rpc->err, "already known") ||
                          contains_ci(rpc->err, "known transaction") ||
                          contains_ci(rpc->err, "already imported") ||
                          contains_ci(rpc->err, "alreadyknown"))) {
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
        set_msg(rpc->err, sizeof rpc->err, "eth_sendRawTransaction: node returned a different hash");
        return NR_ECHAIN;
    }
    memcpy(tx_hash, got, 32);
    return NR_OK;
}

static int hash_params(char *params, size_t cap, const uint8_t h[32])
{
    char hex[67];
    hex_enc(hex, h, 32);
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
        set_msg(rpc->err, sizeof rpc->err, "no receipt yet");
        return NR_ENOTFOUND;
    }
    rc = nr_rpc_parse_receipt(out, res);
    cJSON_Delete(res);
    if (rc != NR_OK)
        return result_error(rpc, "eth_getTransactionReceipt", rc);
    if (memcmp(out->tx_hash, tx_hash, 32) != 0) {
        set_msg(rpc->err, sizeof rpc->err, "receipt is for another transaction");
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
    uint64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        int rc = nr_rpc_receipt(rpc, out, tx_hash);
        if (rc != NR_ENOTFOUND)
            return rc;
        uint64_t now = now_ms();
        if (now >= deadline)
            break;
        sleep_ms((unsigned)(deadline - now < poll_ms ? deadline - now : poll_ms));
    }
    /* Timed out: is the transaction still known (pending) or dropped? */
    char params[80], hex[67];
    (void)hash_params(params, sizeof params, tx_hash);
    hex_enc(hex, tx_hash, 32);
    cJSON *res = NULL;
    int rc = nr_rpc_call(rpc, &res, "eth_getTransactionByHash", params);
    if (rc == NR_OK && cJSON_IsNull(res))
        set_msg(rpc->err, sizeof rpc->err,
                "transaction %s dropped: no receipt after %u ms and unknown to the node", hex,
                timeout_ms);
    else if (rc != NR_OK)
        set_msg(rpc->err, sizeof rpc->err,
                "transaction %s: no receipt after %u ms, status unknown (%s)", hex, timeout_ms,
                nr_strerror(rc));
    else
        set_msg(rpc->err, sizeof rpc->err,
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
    uint64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        uint64_t head = 0;
        int rc = nr_rpc_block_number(rpc, &head);
        if (rc != NR_OK)
            return rc;
        if (head >= rc_in->block_number && head - rc_in->block_number + 1 >= confirmations) {
            struct nr_eth_receipt again;
            rc = nr_rpc_receipt(rpc, &again, rc_in->tx_hash);
            if (rc == NR_ENOTFOUND || (rc == NR_OK && memcmp(again.block_hash, rc_in->block_hash, 32))) {
                set_msg(rpc->err, sizeof rpc->err,
                        "transaction left block %" PRIu64 " (chain reorganisation)",
                        rc_in->block_number);
                return NR_ECHAIN;
            }
            return rc;
        }
        uint64_t now = now_ms();
        if (now >= deadline) {
            set_msg(rpc->err, sizeof rpc->err,
                    "block %" PRIu64 " has %" PRIu64 " of %u confirmations after %u ms",
                    rc_in->block_number,
                    head >= rc_in->block_number ? head - rc_in->block_number + 1 : 0,
                    confirmations, timeout_ms);
            return NR_ETIMEDOUT;
        }
        sleep_ms((unsigned)(deadline - now < poll_ms ? deadline - now : poll_ms));
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
    hex_enc(a, address, 20);
    char t0q[70], t1q[70]; /* quote + 66 + quote + NUL */
    if (topic0) {
        char h[67];
        hex_enc(h, topic0, 32);
        snprintf(t0q, sizeof t0q, "\"%s\"", h);
    } else {
        snprintf(t0q, sizeof t0q, "null");
    }
    if (topic1) {
        char h[67];
        hex_enc(h, topic1, 32);
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
