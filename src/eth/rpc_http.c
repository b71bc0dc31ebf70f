/* The JSON-RPC client's transport: libcurl POSTs with a connect and a total timeout, bounded
 * retries with exponential backoff on transport failures, a cap on the reply size. See rpc.h.
 * TLS: https endpoints are verified (peer certificate and host name): nothing here or anywhere
 * else in the tree sets CURLOPT_SSL_VERIFYPEER or CURLOPT_SSL_VERIFYHOST, so libcurl's
 * defaults (both on) apply; the CTest chain_tls_verification_on keeps it so. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "eth/rpc_internal.h"

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

void nr_rpc_sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

uint64_t nr_rpc_now_ms(void)
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
                nr_rpc_msg(rpc->err, sizeof rpc->err, "%s: HTTP status %ld", rpc->url, status);
                rc = NR_ERPC;
            } else {
                *http_status = status;
                return NR_OK;
            }
        } else if (resp->too_big) {
            free(resp->p);
            resp->p = NULL;
            nr_rpc_msg(rpc->err, sizeof rpc->err, "%s: response larger than %zu bytes", rpc->url,
                    rpc->max_response_bytes);
            return NR_ETOOBIG;
        } else if (transient_curl(c)) {
            rc = c == CURLE_OPERATION_TIMEDOUT ? NR_ETIMEDOUT : NR_EUNREACHABLE;
            nr_rpc_msg(rpc->err, sizeof rpc->err, "%s: %s (after %u attempt%s)", rpc->url,
                    curl_easy_strerror(c), attempt + 1, attempt ? "s" : "");
        } else {
            free(resp->p);
            resp->p = NULL;
            nr_rpc_msg(rpc->err, sizeof rpc->err, "%s: %s", rpc->url, curl_easy_strerror(c));
            return NR_EIO;
        }
        free(resp->p);
        resp->p = NULL;
        if (attempt >= rpc->retries)
            return rc;
        nr_rpc_sleep_ms(backoff);
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
        nr_rpc_msg(rpc->err, sizeof rpc->err, "%s: %s: HTTP status %ld", rpc->url, method, status);
        rc = NR_ERPC;
    } else if (rc != NR_OK) {
        nr_rpc_msg(rpc->err, sizeof rpc->err, "%s: %s", method, err);
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
            nr_rpc_msg(rpc->err, sizeof rpc->err,
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
