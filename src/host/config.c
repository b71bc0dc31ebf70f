#include "host/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <strings.h>

#include "common/hex.h"
#include "narrator/errors.h"

enum section { SEC_NONE = 0, SEC_NODE, SEC_PEER, SEC_CHAIN, SEC_SGX, SEC_BAD };

enum node_key {
    NK_INDEX,
    NK_LISTEN,
    NK_SOCKET,
    NK_DATADIR,
    NK_PLATFORM,
    NK_TEEBACKEND,
    NK_MEMBERSHIP,
    NK_ATTESTATIONROOT,
    NK_DURABILITY,
    NK_LOGLEVEL,
    NK_LOGFILE,
    NK_METRICS,
    NK_MAXRECORDS,
    NK_MAXBATCH,
    NK_MAXINFLIGHT,
    NK_SNAPSHOT,
    NK_COUNT_
};

static const struct {
    const char *name;
    int required;
} g_node_keys[NK_COUNT_] = {
    [NK_INDEX] = {"Index", 1},
    [NK_LISTEN] = {"Listen", 1},
    [NK_SOCKET] = {"Socket", 1},
    [NK_DATADIR] = {"DataDir", 1},
    [NK_PLATFORM] = {"Platform", 1},
    [NK_TEEBACKEND] = {"TeeBackend", 0},
    [NK_MEMBERSHIP] = {"Membership", 1},
    [NK_ATTESTATIONROOT] = {"AttestationRoot", 1},
    [NK_DURABILITY] = {"Durability", 0},
    [NK_LOGLEVEL] = {"LogLevel", 0},
    [NK_LOGFILE] = {"LogFile", 0},
    [NK_METRICS] = {"Metrics", 0},
    [NK_MAXRECORDS] = {"MaxRecords", 0},
    [NK_MAXBATCH] = {"MaxBatch", 0},
    [NK_MAXINFLIGHT] = {"MaxInflight", 0},
    [NK_SNAPSHOT] = {"Snapshot", 0},
};

enum peer_key { PK_INDEX, PK_ENDPOINT, PK_COUNT_ };
static const char *const g_peer_keys[PK_COUNT_] = {"Index", "Endpoint"};

enum chain_key { CK_RPCURL, CK_CHAINID, CK_CONTRACT, CK_CONFIRMATIONS, CK_REQUIRED,
                 CK_STARTTIMEOUT, CK_AGREE, CK_COUNT_ };
static const struct {
    const char *name;
    int required;
} g_chain_keys[CK_COUNT_] = {
    [CK_RPCURL] = {"RpcUrl", 1},           [CK_CHAINID] = {"ChainId", 1},
    [CK_CONTRACT] = {"Contract", 1},       [CK_CONFIRMATIONS] = {"Confirmations", 0},
    [CK_REQUIRED] = {"Required", 0},       [CK_STARTTIMEOUT] = {"StartTimeout", 0},
    [CK_AGREE] = {"Agree", 0},
};

enum sgx_key { SK_PCKCRL, SK_REQUIRECRL, SK_TCBINFO, SK_TCBSIGNINGCHAIN, SK_MINTCBSTATUS,
               SK_ALLOWDEBUG, SK_AESIGNER, SK_COUNT_ };
static const char *const g_sgx_keys[SK_COUNT_] = {
    [SK_PCKCRL] = "PckCrl",           [SK_REQUIRECRL] = "RequireCrl",
    [SK_TCBINFO] = "TcbInfo",         [SK_TCBSIGNINGCHAIN] = "TcbSigningChain",
    [SK_MINTCBSTATUS] = "MinTcbStatus", [SK_ALLOWDEBUG] = "AllowDebug",
    [SK_AESIGNER] = "AeSigner",
};
/* TCB statuses in order, best first (values of enum nr_dcap_tcb, src/tee/dcap.h). */
static const char *const g_tcb_names[] = {
    "UpToDate", "SWHardeningNeeded", "ConfigurationNeeded", "ConfigurationAndSWHardeningNeeded",
    "OutOfDate", "OutOfDateConfigurationNeeded",
};

struct parser {
    struct nr_host_config *cfg;
    const char *name;
    const char *buf;
    size_t len;
    size_t pos;
    int lineno; /* line last handed to inih */
    enum section section;
    /* [Node] */
    int node_line; /* 0: no [Node] section yet */
    int node_key_line[NK_COUNT_];
    /* [Peer] sections */
    int peer_line[NR_MAX_MEMBERS];
    int peer_key_line[NR_MAX_MEMBERS][PK_COUNT_];
    int too_many_peers;
    /* [Chain] */
    int chain_line;
    int chain_key_line[CK_COUNT_];
    /* [SGX] */
    int sgx_line;
    int sgx_key_line[SK_COUNT_];
    /* first error */
    int failed;
    char *err;
    size_t err_cap;
};

static void fail(struct parser *p, int line, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void fail(struct parser *p, int line, const char *key, const char *fmt, ...)
{
    va_list ap;
    int off;

    if (p->failed)
        return; /* the first error is the one reported */
    p->failed = 1;
    if (!p->err || p->err_cap == 0)
        return;
    off = snprintf(p->err, p->err_cap, "%s:%d: %s: ", p->name, line, key);
    if (off < 0 || (size_t)off >= p->err_cap)
        return;
    va_start(ap, fmt);
    vsnprintf(p->err + off, p->err_cap - (size_t)off, fmt, ap);
    va_end(ap);
}

/* Printable copy of untrusted text for an error message. */
static void sanitize(char *out, size_t cap, const char *in, size_t len)
{
    size_t o = 0;

    for (size_t i = 0; i < len && o + 1 < cap; i++) {
        unsigned char c = (unsigned char)in[i];
        out[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    out[o] = '\0';
}

/* The key of a raw line (text before '=' or ':'), for messages about unparsable lines. */
static void line_key(char *out, size_t cap, const char *line, size_t len)
{
    size_t e = 0;

    while (e < len && line[e] != '=' && line[e] != ':')
        e++;
    while (e > 0 && (line[e - 1] == ' ' || line[e - 1] == '\t'))
        e--;
    if (e == 0) {
        snprintf(out, cap, "(line)");
        return;
    }
    sanitize(out, cap, line, e);
}

/* Section header seen by the reader: "[Name]" (already left-trimmed). */
static void on_section_line(struct parser *p, const char *line, size_t len)
{
    char label[64];
    size_t e = 1;

    while (e < len && line[e] != ']')
        e++;
    if (e >= len) {
        sanitize(label, sizeof label, line, len);
        fail(p, p->lineno, label, "unterminated section header");
        p->section = SEC_BAD;
        return;
    }
    /* trim inside the brackets */
    size_t s = 1;
    while (s < e && (line[s] == ' ' || line[s] == '\t'))
        s++;
    size_t t = e;
    while (t > s && (line[t - 1] == ' ' || line[t - 1] == '\t'))
        t--;
    size_t nlen = t - s;
    if (nlen == 4 && strncasecmp(line + s, "Node", 4) == 0) {
        if (p->node_line) {
            fail(p, p->lineno, "[Node]", "duplicate section (first at line %d)", p->node_line);
            p->section = SEC_BAD;
            return;
        }
        p->node_line = p->lineno;
        p->section = SEC_NODE;
        return;
    }
    if (nlen == 4 && strncasecmp(line + s, "Peer", 4) == 0) {
        if (p->cfg->n_peers >= NR_MAX_MEMBERS - 1u) {
            fail(p, p->lineno, "[Peer]", "too many peers (at most %u)", NR_MAX_MEMBERS - 1u);
            p->section = SEC_BAD;
            return;
        }
        p->peer_line[p->cfg->n_peers] = p->lineno;
        p->cfg->n_peers++;
        p->section = SEC_PEER;
        return;
    }
    if (nlen == 5 && strncasecmp(line + s, "Chain", 5) == 0) {
        if (p->chain_line) {
            fail(p, p->lineno, "[Chain]", "duplicate section (first at line %d)", p->chain_line);
            p->section = SEC_BAD;
            return;
        }
        p->chain_line = p->lineno;
        p->cfg->chain.enabled = 1;
        p->section = SEC_CHAIN;
        return;
    }
    if (nlen == 3 && strncasecmp(line + s, "SGX", 3) == 0) {
        if (p->sgx_line) {
            fail(p, p->lineno, "[SGX]", "duplicate section (first at line %d)", p->sgx_line);
            p->section = SEC_BAD;
            return;
        }
        p->sgx_line = p->lineno;
        p->cfg->sgx.enabled = 1;
        p->section = SEC_SGX;
        return;
    }
    sanitize(label, sizeof label, line, e + 1);
    fail(p, p->lineno, label, "unknown section");
    p->section = SEC_BAD;
}

/* ini_reader over our buffer: one physical line per call, left-trimmed (so that inih never
 * sees a continuation line), with line counting and section tracking. */
static char *reader(char *str, int num, void *stream)
{
    struct parser *p = stream;
    size_t start, end, next, len;

    if (p->pos >= p->len || num < 4)
        return NULL;
    start = p->pos;
    end = start;
    while (end < p->len && p->buf[end] != '\n')
        end++;
    next = end < p->len ? end + 1 : end;
    p->pos = next;
    p->lineno++;
    if (end > start && p->buf[end - 1] == '\r')
        end--;
    while (start < end && (p->buf[start] == ' ' || p->buf[start] == '\t'))
        start++;
    len = end - start;
    if (memchr(p->buf + start, '\0', len)) {
        char key[64];
        line_key(key, sizeof key, p->buf + start, len);
        fail(p, p->lineno, key, "NUL byte in line");
        str[0] = '\0';
        return str;
    }
    if (len + 3 > (size_t)num) {
        char key[64];
        line_key(key, sizeof key, p->buf + start, len);
        fail(p, p->lineno, key, "line too long (at most %d characters)", num - 3);
        str[0] = '\0';
        return str;
    }
    memcpy(str, p->buf + start, len);
    str[len] = '\0';
    if (len > 0 && str[0] == '[')
        on_section_line(p, str, len);
    return str;
}

static int parse_u64(const char *v, uint64_t max, uint64_t *out)
{
    uint64_t x = 0;

    if (!*v)
        return -1;
    for (const char *c = v; *c; c++) {
        if (*c < '0' || *c > '9')
            return -1;
        unsigned d = (unsigned)(*c - '0');
        if (d > max || x > (max - d) / 10u)
            return -1;
        x = x * 10u + d;
    }
    *out = x;
    return 0;
}

int nr_host_addr_parse(struct nr_host_addr *out, const char *s)
{
    char host[64];
    const char *colon, *hs, *he;
    uint64_t port;

    memset(out, 0, sizeof *out);
    if (strlen(s) >= sizeof out->text)
        return NR_EINVAL;
    if (s[0] == '[') {
        hs = s + 1;
        he = strchr(hs, ']');
        if (!he || he[1] != ':')
            return NR_EINVAL;
        colon = he + 1;
    } else {
        hs = s;
        colon = strrchr(s, ':');
        if (!colon)
            return NR_EINVAL;
        he = colon;
    }
    if ((size_t)(he - hs) == 0 || (size_t)(he - hs) >= sizeof host)
        return NR_EINVAL;
    memcpy(host, hs, (size_t)(he - hs));
    host[he - hs] = '\0';
    if (parse_u64(colon + 1, 65535u, &port) != 0 || port == 0)
        return NR_EINVAL;
    if (s[0] == '[') {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&out->sa;
        if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
            return NR_EINVAL;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        out->len = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&out->sa;
        if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
            return NR_EINVAL;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        out->len = sizeof *a;
    }
    memcpy(out->text, s, strlen(s) + 1);
    return NR_OK;
}

static int set_path(struct parser *p, const char *key, char *dst, size_t cap, const char *v)
{
    size_t l = strlen(v);

    if (l == 0) {
        fail(p, p->lineno, key, "empty path");
        return -1;
    }
    if (l >= cap) {
        fail(p, p->lineno, key, "path too long (at most %zu bytes)", cap - 1);
        return -1;
    }
    memcpy(dst, v, l + 1);
    return 0;
}

static void node_key(struct parser *p, const char *key, const char *v)
{
    struct nr_host_config *c = p->cfg;
    int k;
    uint64_t x;

    for (k = 0; k < NK_COUNT_; k++)
        if (strcasecmp(key, g_node_keys[k].name) == 0)
            break;
    if (k == NK_COUNT_) {
        char label[64];
        sanitize(label, sizeof label, key, strlen(key));
        fail(p, p->lineno, label, "unknown key in [Node]");
        return;
    }
    key = g_node_keys[k].name;
    if (p->node_key_line[k]) {
        fail(p, p->lineno, key, "duplicate key (first at line %d)", p->node_key_line[k]);
        return;
    }
    p->node_key_line[k] = p->lineno;
    switch ((enum node_key)k) {
    case NK_INDEX:
        if (parse_u64(v, NR_MAX_MEMBERS - 1u, &x) != 0)
            fail(p, p->lineno, key, "bad member index (0..%u)", NR_MAX_MEMBERS - 1u);
        else
            c->index = (uint16_t)x;
        break;
    case NK_LISTEN:
        if (nr_host_addr_parse(&c->listen, v) != NR_OK)
            fail(p, p->lineno, key, "bad address");
        break;
    case NK_METRICS:
        if (nr_host_addr_parse(&c->metrics, v) != NR_OK)
            fail(p, p->lineno, key, "bad address");
        else
            c->has_metrics = 1;
        break;
    case NK_SOCKET:
        (void)set_path(p, key, c->socket_path, sizeof c->socket_path, v);
        break;
    case NK_DATADIR:
        (void)set_path(p, key, c->data_dir, sizeof c->data_dir, v);
        break;
    case NK_PLATFORM:
        (void)set_path(p, key, c->platform_dir, sizeof c->platform_dir, v);
        break;
    case NK_MEMBERSHIP:
        (void)set_path(p, key, c->membership_path, sizeof c->membership_path, v);
        break;
    case NK_LOGFILE:
        (void)set_path(p, key, c->log_file, sizeof c->log_file, v);
        break;
    case NK_TEEBACKEND:
        if (strcmp(v, "sim") != 0 && strcmp(v, "gramine") != 0)
            fail(p, p->lineno, key, "unknown backend (sim or gramine)");
        else
            memcpy(c->tee_backend, v, strlen(v) + 1);
        break;
    case NK_ATTESTATIONROOT:
        if (nr_hex_decode(c->attestation_root, sizeof c->attestation_root, v, strlen(v)) != NR_OK)
            fail(p, p->lineno, key, "bad public key (64 hex digits)");
        break;
    case NK_DURABILITY:
        if (strcasecmp(v, "memory") == 0)
            c->durability = NR_DURABILITY_MEMORY;
        else if (strcasecmp(v, "disk") == 0)
            c->durability = NR_DURABILITY_DISK;
        else
            fail(p, p->lineno, key, "bad value (memory or disk)");
        break;
    case NK_LOGLEVEL:
        if (strcasecmp(v, "error") == 0)
            c->log_level = NR_LOG_ERROR;
        else if (strcasecmp(v, "warn") == 0)
            c->log_level = NR_LOG_WARN;
        else if (strcasecmp(v, "info") == 0)
            c->log_level = NR_LOG_INFO;
        else if (strcasecmp(v, "debug") == 0)
            c->log_level = NR_LOG_DEBUG;
        else
            fail(p, p->lineno, key, "bad level (error, warn, info or debug)");
        break;
    case NK_MAXRECORDS:
        if (parse_u64(v, NR_CFG_MAX_MAX_RECORDS, &x) != 0 || x == 0)
            fail(p, p->lineno, key, "bad number (1..%u)", NR_CFG_MAX_MAX_RECORDS);
        else
            c->max_records = (uint32_t)x;
        break;
    case NK_MAXBATCH:
        if (parse_u64(v, 8192u, &x) != 0)
            fail(p, p->lineno, key, "bad number (0..8192)");
        else
            c->max_batch = (uint32_t)x;
        break;
    case NK_MAXINFLIGHT:
        if (parse_u64(v, 1024u, &x) != 0)
            fail(p, p->lineno, key, "bad number (0..1024)");
        else
            c->max_inflight = (uint32_t)x;
        break;
    case NK_SNAPSHOT:
        if (strcasecmp(v, "on") == 0 || strcasecmp(v, "yes") == 0 || strcasecmp(v, "true") == 0)
            c->snapshot = 1;
        else if (strcasecmp(v, "off") == 0 || strcasecmp(v, "no") == 0 ||
                 strcasecmp(v, "false") == 0)
            c->snapshot = 0;
        else
            fail(p, p->lineno, key, "bad value (on or off)");
        break;
    case NK_COUNT_:
        break;
    }
}

static void peer_key(struct parser *p, const char *key, const char *v)
{
    unsigned i = p->cfg->n_peers - 1u;
    struct nr_host_peer *peer = &p->cfg->peers[i];
    int k;
    uint64_t x;

    for (k = 0; k < PK_COUNT_; k++)
        if (strcasecmp(key, g_peer_keys[k]) == 0)
            break;
    if (k == PK_COUNT_) {
        char label[64];
        sanitize(label, sizeof label, key, strlen(key));
        fail(p, p->lineno, label, "unknown key in [Peer]");
        return;
    }
    key = g_peer_keys[k];
    if (p->peer_key_line[i][k]) {
        fail(p, p->lineno, key, "duplicate key (first at line %d)", p->peer_key_line[i][k]);
        return;
    }
    p->peer_key_line[i][k] = p->lineno;
    if (k == PK_INDEX) {
        if (parse_u64(v, NR_MAX_MEMBERS - 1u, &x) != 0)
            fail(p, p->lineno, key, "bad member index (0..%u)", NR_MAX_MEMBERS - 1u);
        else
            peer->index = (uint16_t)x;
    } else {
        if (nr_host_addr_parse(&peer->endpoint, v) != NR_OK)
            fail(p, p->lineno, key, "bad address");
    }
}

/* yes/no style booleans: 1, 0, or -1 for anything else. */
static int parse_bool(const char *v)
{
    if (strcasecmp(v, "yes") == 0 || strcasecmp(v, "true") == 0 || strcasecmp(v, "on") == 0 ||
        strcmp(v, "1") == 0)
        return 1;
    if (strcasecmp(v, "no") == 0 || strcasecmp(v, "false") == 0 || strcasecmp(v, "off") == 0 ||
        strcmp(v, "0") == 0)
        return 0;
    return -1;
}

static void chain_key(struct parser *p, const char *key, const char *v)
{
    struct nr_host_chain *c = &p->cfg->chain;
    int k;
    uint64_t x;

    for (k = 0; k < CK_COUNT_; k++)
        if (strcasecmp(key, g_chain_keys[k].name) == 0)
            break;
    if (k == CK_COUNT_) {
        char label[64];
        sanitize(label, sizeof label, key, strlen(key));
        fail(p, p->lineno, label, "unknown key in [Chain]");
        return;
    }
    key = g_chain_keys[k].name;
    /* RpcUrl is given once per endpoint; every other key once. */
    if (p->chain_key_line[k] && k != CK_RPCURL) {
        fail(p, p->lineno, key, "duplicate key (first at line %d)", p->chain_key_line[k]);
        return;
    }
    if (!p->chain_key_line[k])
        p->chain_key_line[k] = p->lineno;
    switch ((enum chain_key)k) {
    case CK_RPCURL: {
        size_t l = strlen(v);
        if (c->n_rpc_urls == NR_CFG_CHAIN_MAX_ENDPOINTS) {
            fail(p, p->lineno, key, "more than %u endpoints", NR_CFG_CHAIN_MAX_ENDPOINTS);
            break;
        }
        if (l == 0 || l >= sizeof c->rpc_url ||
            (strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0)) {
            fail(p, p->lineno, key, "bad URL (http:// or https://, at most %zu bytes)",
                 sizeof c->rpc_url - 1u);
            break;
        }
        for (unsigned i = 0; i < c->n_rpc_urls; i++)
            if (strcmp(c->rpc_urls[i], v) == 0) {
                fail(p, p->lineno, key, "duplicate endpoint");
                return;
            }
        memcpy(c->rpc_urls[c->n_rpc_urls++], v, l + 1);
        if (c->n_rpc_urls == 1)
            memcpy(c->rpc_url, v, l + 1);
        break;
    }
    case CK_AGREE:
        if (parse_u64(v, NR_CFG_CHAIN_MAX_ENDPOINTS, &x) != 0 || x == 0)
            fail(p, p->lineno, key, "bad number (1..%u endpoints that must agree)",
                 NR_CFG_CHAIN_MAX_ENDPOINTS);
        else
            c->agree = (unsigned)x;
        break;
    case CK_CHAINID:
        if (parse_u64(v, UINT64_MAX, &x) != 0 || x == 0)
            fail(p, p->lineno, key, "bad chain id (decimal, not 0)");
        else
            c->chain_id = x;
        break;
    case CK_CONTRACT:
        if (strlen(v) != 42 || v[0] != '0' || (v[1] != 'x' && v[1] != 'X') ||
            nr_hex_decode(c->contract, sizeof c->contract, v + 2, 40) != NR_OK)
            fail(p, p->lineno, key, "bad address (0x + 40 hex digits)");
        break;
    case CK_CONFIRMATIONS:
        if (parse_u64(v, NR_CFG_CHAIN_MAX_CONFIRMATIONS, &x) != 0 || x == 0)
            fail(p, p->lineno, key, "bad number (1..%u)", NR_CFG_CHAIN_MAX_CONFIRMATIONS);
        else
            c->confirmations = (unsigned)x;
        break;
    case CK_REQUIRED: {
        int b = parse_bool(v);
        if (b < 0)
            fail(p, p->lineno, key, "bad value (yes or no)");
        else
            c->required = b;
        break;
    }
    case CK_STARTTIMEOUT: {
        char num[24];
        size_t l = strlen(v);
        uint64_t mult = 1000u;
        if (l > 2 && strcmp(v + l - 2, "ms") == 0) {
            mult = 1u;
            l -= 2;
        } else if (l > 1 && v[l - 1] == 's') {
            l -= 1;
        }
        if (l == 0 || l >= sizeof num) {
            fail(p, p->lineno, key, "bad duration (seconds, or N ms)");
            break;
        }
        memcpy(num, v, l);
        num[l] = '\0';
        if (parse_u64(num, NR_CFG_CHAIN_MAX_START_TIMEOUT_MS, &x) != 0 ||
            x * mult > NR_CFG_CHAIN_MAX_START_TIMEOUT_MS || x == 0)
            fail(p, p->lineno, key, "bad duration (seconds, or N ms; 1 ms .. 1 day)");
        else
            c->start_timeout_ms = (unsigned)(x * mult);
        break;
    }
    case CK_COUNT_:
        break;
    }
}

static void sgx_key(struct parser *p, const char *key, const char *v)
{
    struct nr_host_sgx *c = &p->cfg->sgx;
    int k;

    for (k = 0; k < SK_COUNT_; k++)
        if (strcasecmp(key, g_sgx_keys[k]) == 0)
            break;
    if (k == SK_COUNT_) {
        char label[64];
        sanitize(label, sizeof label, key, strlen(key));
        fail(p, p->lineno, label, "unknown key in [SGX]");
        return;
    }
    key = g_sgx_keys[k];
    /* PckCrl is given once per file; every other key once. */
    if (p->sgx_key_line[k] && k != SK_PCKCRL) {
        fail(p, p->lineno, key, "duplicate key (first at line %d)", p->sgx_key_line[k]);
        return;
    }
    if (!p->sgx_key_line[k])
        p->sgx_key_line[k] = p->lineno;
    switch ((enum sgx_key)k) {
    case SK_PCKCRL:
        if (c->n_crls >= NR_CFG_SGX_MAX_CRLS) {
            fail(p, p->lineno, key, "too many CRLs (at most %u)", NR_CFG_SGX_MAX_CRLS);
            return;
        }
        if (set_path(p, key, c->crl_path[c->n_crls], sizeof c->crl_path[0], v) == 0)
            c->crl_line[c->n_crls++] = p->lineno;
        break;
    case SK_TCBINFO:
        if (set_path(p, key, c->tcb_info_path, sizeof c->tcb_info_path, v) == 0)
            c->tcb_info_line = p->lineno;
        break;
    case SK_TCBSIGNINGCHAIN:
        if (set_path(p, key, c->tcb_chain_path, sizeof c->tcb_chain_path, v) == 0)
            c->tcb_chain_line = p->lineno;
        break;
    case SK_REQUIRECRL:
    case SK_ALLOWDEBUG: {
        int b = parse_bool(v);
        if (b < 0)
            fail(p, p->lineno, key, "bad value (yes or no)");
        else if (k == SK_REQUIRECRL)
            c->require_crl = b;
        else
            c->allow_debug = b;
        break;
    }
    case SK_MINTCBSTATUS: {
        unsigned n = (unsigned)(sizeof g_tcb_names / sizeof g_tcb_names[0]), i;
        for (i = 0; i < n; i++)
            if (strcasecmp(v, g_tcb_names[i]) == 0)
                break;
        if (i == n) {
            fail(p, p->lineno, key,
                 "bad status (UpToDate, SWHardeningNeeded, ConfigurationNeeded, "
                 "ConfigurationAndSWHardeningNeeded, OutOfDate, OutOfDateConfigurationNeeded)");
            break;
        }
        c->tcb_allowed = 0;
        for (unsigned j = 0; j <= i; j++)
            c->tcb_allowed |= 1u << (j + 1u); /* enum nr_dcap_tcb: UpToDate = 1 */
        break;
    }
    case SK_AESIGNER:
        if (nr_hex_decode(c->ae_signer, sizeof c->ae_signer, v, strlen(v)) != NR_OK)
            fail(p, p->lineno, key, "expected 64 hex digits (MRSIGNER)");
        else
            c->check_ae_signer = 1;
        break;
    case SK_COUNT_:
        break;
    }
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
    struct parser *p = user;

    (void)section; /* tracked by the reader (repeated [Peer] sections) */
    if (p->failed)
        return 1;
    switch (p->section) {
    case SEC_NONE: {
        char label[64];
        sanitize(label, sizeof label, name, strlen(name));
        fail(p, p->lineno, label, "key outside a section");
        break;
    }
    case SEC_NODE:
        node_key(p, name, value);
        break;
    case SEC_PEER:
        peer_key(p, name, value);
        break;
    case SEC_CHAIN:
        chain_key(p, name, value);
        break;
    case SEC_SGX:
        sgx_key(p, name, value);
        break;
    case SEC_BAD:
        break;
    }
    return 1;
}

static void validate(struct parser *p)
{
    struct nr_host_config *c = p->cfg;

    if (!p->node_line) {
        fail(p, 1, "[Node]", "missing section");
        return;
    }
    for (int k = 0; k < NK_COUNT_; k++)
        if (g_node_keys[k].required && !p->node_key_line[k]) {
            fail(p, p->node_line, g_node_keys[k].name, "missing required key in [Node]");
            return;
        }
    /* Not given: on in DISK durability (required there), off in MEMORY durability (the
     * snapshot is only a hint there: a restarted SE rejoins from f+1 peers; sealing every
     * committed record for it costs a seal, a getrandom and an LMDB write per record). */
    c->membership_line = p->node_key_line[NK_MEMBERSHIP];
    if (!p->node_key_line[NK_SNAPSHOT])
        c->snapshot = c->durability == NR_DURABILITY_DISK;
    if (!c->snapshot && c->durability == NR_DURABILITY_DISK) {
        fail(p, p->node_key_line[NK_SNAPSHOT], "Snapshot",
             "off is only possible with Durability = memory");
        return;
    }
    if (p->chain_line) {
        for (int k = 0; k < CK_COUNT_; k++)
            if (g_chain_keys[k].required && !p->chain_key_line[k]) {
                fail(p, p->chain_line, g_chain_keys[k].name, "missing required key in [Chain]");
                return;
            }
        if (!p->chain_key_line[CK_AGREE]) {
            c->chain.agree = c->chain.n_rpc_urls;
        } else if (c->chain.agree > c->chain.n_rpc_urls) {
            fail(p, p->chain_key_line[CK_AGREE], "Agree",
                 "%u endpoints must agree but %u RpcUrl %s configured", c->chain.agree,
                 c->chain.n_rpc_urls, c->chain.n_rpc_urls == 1 ? "is" : "are");
            return;
        }
    }
    if (p->sgx_line) {
        if (strcmp(c->tee_backend, "gramine") != 0) {
            fail(p, p->sgx_line, "[SGX]", "only with TeeBackend = gramine (TeeBackend is %s)",
                 c->tee_backend);
            return;
        }
        if (c->sgx.require_crl && c->sgx.n_crls == 0) {
            fail(p, p->sgx_key_line[SK_REQUIRECRL], "RequireCrl", "yes needs PckCrl files");
            return;
        }
        if (c->sgx.tcb_info_path[0] && !c->sgx.tcb_chain_path[0]) {
            fail(p, p->sgx_key_line[SK_TCBINFO], "TcbSigningChain",
                 "missing: TcbInfo needs its signing chain");
            return;
        }
        if (!c->sgx.tcb_info_path[0] && c->sgx.tcb_chain_path[0]) {
            fail(p, p->sgx_key_line[SK_TCBSIGNINGCHAIN], "TcbSigningChain",
                 "given without TcbInfo");
            return;
        }
        if (p->sgx_key_line[SK_MINTCBSTATUS] && !c->sgx.tcb_info_path[0]) {
            fail(p, p->sgx_key_line[SK_MINTCBSTATUS], "MinTcbStatus",
                 "needs TcbInfo (without it the TCB status is not evaluated)");
            return;
        }
    }
    if (!c->sgx.tcb_allowed)
        c->sgx.tcb_allowed = 1u << 1; /* UpToDate only */
    for (unsigned i = 0; i < c->n_peers; i++) {
        for (int k = 0; k < PK_COUNT_; k++)
            if (!p->peer_key_line[i][k]) {
                fail(p, p->peer_line[i], g_peer_keys[k], "missing required key in [Peer]");
                return;
            }
        if (c->peers[i].index == c->index) {
            fail(p, p->peer_key_line[i][PK_INDEX], "Index", "peer has this node's own index %u",
                 c->index);
            return;
        }
        for (unsigned j = 0; j < i; j++)
            if (c->peers[j].index == c->peers[i].index) {
                fail(p, p->peer_key_line[i][PK_INDEX], "Index",
                     "duplicate peer index %u (first at line %d)", c->peers[i].index,
                     p->peer_key_line[j][PK_INDEX]);
                return;
            }
    }
}

int nr_host_config_parse(struct nr_host_config *cfg, const char *name, const char *buf, size_t len,
                         char *err, size_t err_cap)
{
    struct parser *p;
    int rc;

    if (err && err_cap)
        err[0] = '\0';
    p = calloc(1, sizeof *p);
    if (!p)
        return NR_ENOMEM;
    memset(cfg, 0, sizeof *cfg);
    memcpy(cfg->tee_backend, "sim", 4);
    snprintf(cfg->source, sizeof cfg->source, "%s", name ? name : "");
    cfg->durability = NR_DURABILITY_MEMORY;
    cfg->log_level = NR_LOG_INFO;
    cfg->max_records = NR_CFG_DEFAULT_MAX_RECORDS;
    cfg->snapshot = 1;
    cfg->chain.confirmations = 1;
    cfg->chain.required = 1;
    cfg->chain.start_timeout_ms = NR_CFG_CHAIN_DEFAULT_START_TIMEOUT_MS;
    p->cfg = cfg;
    p->name = name;
    p->buf = buf;
    p->len = len;
    p->err = err;
    p->err_cap = err_cap;

    if (len > NR_CFG_FILE_MAX) {
        fail(p, 0, "(file)", "too large (at most %u bytes)", NR_CFG_FILE_MAX);
    } else {
        rc = ini_parse_stream(reader, p, handler, p);
        if (rc != 0 && !p->failed) {
            if (rc > 0) {
                /* inih found a line it cannot parse (no '=', unterminated section...). */
                size_t s = 0;
                int line = 1;
                while (s < len && line < rc) {
                    if (buf[s] == '\n')
                        line++;
                    s++;
                }
                size_t e = s;
                while (e < len && buf[e] != '\n')
                    e++;
                while (s < e && (buf[s] == ' ' || buf[s] == '\t'))
                    s++;
                char key[64];
                line_key(key, sizeof key, buf + s, e - s);
                fail(p, rc, key, "syntax error (expected Key = Value)");
            } else {
                fail(p, 0, "(file)", "cannot parse (out of memory)");
            }
        }
        if (!p->failed)
            validate(p);
    }
    rc = p->failed ? NR_ECONFIG : NR_OK;
    free(p);
    return rc;
}

int nr_host_config_load(struct nr_host_config *cfg, const char *path, char *err, size_t err_cap)
{
    FILE *f;
    char *buf;
    size_t n;
    int rc;

    if (err && err_cap)
        err[0] = '\0';
    f = fopen(path, "rb");
    if (!f) {
        if (err && err_cap)
            snprintf(err, err_cap, "%s:0: (file): cannot open: %s", path, strerror(errno));
        return NR_ECONFIG;
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        if (err && err_cap)
            snprintf(err, err_cap, "%s:0: (file): is a directory, not a configuration file",
                     path);
        fclose(f);
        return NR_ECONFIG;
    }
    buf = malloc(NR_CFG_FILE_MAX + 1u);
    if (!buf) {
        fclose(f);
        return NR_ENOMEM;
    }
    n = fread(buf, 1, NR_CFG_FILE_MAX + 1u, f);
    if (ferror(f)) {
        if (err && err_cap)
            snprintf(err, err_cap, "%s:0: (file): read error: %s", path, strerror(errno));
        rc = NR_ECONFIG;
    } else {
        rc = nr_host_config_parse(cfg, path, buf, n, err, err_cap);
    }
    free(buf);
    fclose(f);
    return rc;
}
