/* Integration: the JSON-RPC client against a hostile endpoint.
 *
 * A small HTTP server on a loopback port (a thread of this test) answers each request with the
 * next entry of a script: malformed JSON, wrong ids, error objects, revert data, HTTP errors,
 * oversized bodies, silence, dropped connections, bad receipts and logs. The real client code
 * (libcurl + cJSON) talks to it over real sockets. Every case must end in a clear error value
 * (or a bounded retry that succeeds), never a crash or a hang. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "anvil_fixture.h"
#include "eth/rpc.h"

enum { SEND = 0, SILENT, CLOSE };
struct step {
    int kind;
    int status;       /* HTTP status for SEND */
    const char *body; /* "%ID%" is replaced by the request id */
};

#define MAX_STEPS 8
static struct {
    int listen_fd;
    int stop_pipe[2];
    unsigned port;
    pthread_t thread;
    pthread_mutex_t mu;
    struct step steps[MAX_STEPS];
    size_t n_steps, next;
    unsigned long served;
    char *big; /* a large body, built once */
} S;

static void script(size_t n, ...)
{
    va_list ap;
    va_start(ap, n);
    pthread_mutex_lock(&S.mu);
    for (size_t i = 0; i < n && i < MAX_STEPS; i++)
        S.steps[i] = va_arg(ap, struct step);
    S.n_steps = n;
    S.next = 0;
    S.served = 0;
    pthread_mutex_unlock(&S.mu);
    va_end(ap);
}

static struct step take_step(void)
{
    pthread_mutex_lock(&S.mu);
    struct step s = S.steps[S.next < S.n_steps ? S.next : S.n_steps - 1];
    if (S.next < S.n_steps)
        S.next++;
    S.served++;
    pthread_mutex_unlock(&S.mu);
    return s;
}

static int stopping(void)
{
    struct pollfd p = {.fd = S.stop_pipe[0], .events = POLLIN};
    return poll(&p, 1, 0) > 0;
}

/* Reads one HTTP request; returns the JSON-RPC id found in its body (or 0). */
static long read_request(int fd)
{
    char buf[65536];
    size_t len = 0;
    long content_length = -1;
    char *body = NULL;
    while (len < sizeof buf - 1) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 5000) <= 0)
            return -1;
        ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
        if (n <= 0)
            return -1;
        len += (size_t)n;
        buf[len] = '\0';
        if (body == NULL && (body = strstr(buf, "\r\n\r\n")) != NULL) {
            body += 4;
            const char *cl = strstr(buf, "Content-Length:");
            if (cl == NULL)
                cl = strstr(buf, "content-length:");
            content_length = cl ? strtol(cl + 15, NULL, 10) : 0;
        }
        if (body && (long)(buf + len - body) >= content_length)
            break;
    }
    const char *id = body ? strstr(body, "\"id\":") : NULL;
    return id ? strtol(id + 5, NULL, 10) : 0;
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

static void serve(int fd)
{
    long id = read_request(fd);
    if (id < 0)
        return;
    struct step st = take_step();
    if (st.kind == CLOSE)
        return;
    if (st.kind == SILENT) { /* hold the connection until the client gives up */
        for (;;) {
            struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = S.stop_pipe[0], .events = POLLIN}};
            if (poll(p, 2, 10000) <= 0 || p[1].revents)
                return;
            char tmp[256];
            if (read(fd, tmp, sizeof tmp) <= 0)
                return;
        }
    }
    /* Substitute %ID%. */
    const char *b = st.body ? st.body : "";
    size_t cap = strlen(b) + 64;
    char *body = malloc(cap);
    size_t o = 0;
    for (const char *p = b; *p;) {
        if (strncmp(p, "%ID%", 4) == 0) {
            o += (size_t)snprintf(body + o, cap - o, "%ld", id);
            p += 4;
        } else {
            body[o++] = *p++;
        }
    }
    body[o] = '\0';
    char head[256];
    int hl = snprintf(head, sizeof head,
                      "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                      "Connection: close\r\n\r\n",
                      st.status, o);
    write_all(fd, head, (size_t)hl);
    write_all(fd, body, o);
    free(body);
}

static void *server_main(void *arg)
{
    (void)arg;
    for (;;) {
        struct pollfd p[2] = {{.fd = S.listen_fd, .events = POLLIN}, {.fd = S.stop_pipe[0], .events = POLLIN}};
        int r = poll(p, 2, -1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 || p[1].revents)
            return NULL;
        int fd = accept(S.listen_fd, NULL, NULL);
        if (fd < 0)
            continue;
        serve(fd);
        close(fd);
        if (stopping())
            return NULL;
    }
}

static int setup(void **state)
{
    (void)state;
    memset(&S, 0, sizeof S);
    pthread_mutex_init(&S.mu, NULL);
    if (pipe(S.stop_pipe) != 0)
        return -1;
    S.listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    if (bind(S.listen_fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(S.listen_fd, 16) != 0 ||
        getsockname(S.listen_fd, (struct sockaddr *)&sa, &len) != 0)
        return -1;
    S.port = ntohs(sa.sin_port);
    size_t big = 64 * 1024;
    S.big = malloc(big + 1);
    memset(S.big, ' ', big);
    memcpy(S.big, "{\"jsonrpc\":\"2.0\",\"id\":%ID%,\"result\":\"0x1\"}", 41);
    S.big[big] = '\0';
    return pthread_create(&S.thread, NULL, server_main, NULL) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    if (write(S.stop_pipe[1], "x", 1) != 1)
        return -1;
    pthread_join(S.thread, NULL);
    close(S.listen_fd);
    close(S.stop_pipe[0]);
    close(S.stop_pipe[1]);
    free(S.big);
    return 0;
}

static struct nr_rpc *client(unsigned retries, unsigned timeout_ms)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/", S.port);
    struct nr_rpc_config cfg = {.url = url, .retries = retries, .backoff_ms = 20,
                                .timeout_ms = timeout_ms, .max_response_bytes = 16 * 1024};
    struct nr_rpc *rpc = NULL;
    assert_int_equal(nr_rpc_open(&rpc, &cfg), NR_OK);
    return rpc;
}

#define OK200(b) ((struct step){SEND, 200, (b)})

/* One call of eth_chainId against a one-step script; returns the code, prints the text. */
static int chain_id_with(struct step st, char *msg, size_t cap)
{
    script(1, st);
    struct nr_rpc *rpc = client(NR_RPC_NO_RETRY, 2000);
    uint64_t id = 0;
    int rc = nr_rpc_chain_id(rpc, &id);
    printf("  %-14s %s\n", nr_errname(rc), nr_rpc_errmsg(rpc));
    if (msg)
        snprintf(msg, cap, "%s", nr_rpc_errmsg(rpc));
    nr_rpc_close(rpc);
    return rc;
}

static void test_malformed_envelopes(void **state)
{
    (void)state;
    char msg[NR_RPC_ERRMSG_BYTES];
    static const struct {
        const char *body;
        int rc;
        const char *text;
    } cases[] = {
        {"hello", NR_EMALFORMED, "not JSON"},
        {"", NR_EMALFORMED, "empty"},
        {"[{\"jsonrpc\":\"2.0\",\"id\":%ID%,\"result\":\"0x1\"}]", NR_EMALFORMED, "not a JSON object"},
        {"{\"jsonrpc\":\"2.0\",\"id\":999999,\"result\":\"0x1\"}", NR_EMALFORMED, "id does not match"},
        {"{\"jsonrpc\":\"2.0\",\"id\":\"%ID%\",\"result\":\"0x1\"}", NR_EMALFORMED, "id does not match"},
        {"{\"jsonrpc\":\"1.0\",\"id\":%ID%,\"result\":\"0x1\"}", NR_EMALFORMED, "2.0"},
        {"{\"jsonrpc\":\"2.0\",\"id\":%ID%}", NR_EMALFORMED, "neither result nor error"},
        {"{\"jsonrpc\":\"2.0\",\"id\":%ID%,\"result\":\"0x1\"} trailing", NR_EMALFORMED, "trailing"},
        {"{\"jsonrpc\":\"2.0\",\"id\":%ID%,\"result\":17}", NR_EMALFORMED, "malformed result"},
        {"{\"jsonrpc\":\"2.0\",\"id\":%ID%,\"result\":\"17\"}", NR_EMALFORMED, "malformed result"},
        {"{\"jsonrpc\":\"2.0\",\"id\":%ID%,\"result\":\"0x\"}", NR_EMALFORMED, "malformed result"},
        {"{\"jsonrpc\":\"2.0\",\"id\":%ID%,\"result\":\"0xzz\"}", NR_EMALFORMED, "malformed result"},
        {"{\"jsonrpc\":\"2.0\",\"id\":%ID%,\"result\":\"0x10000000000000000\"}", NR_ETOOBIG, "malformed result"},
        {"{\"jsonrpc\":\"2.0\",\"id\":%ID%,\"result\":null}", NR_EMALFORMED, "malformed result"},
        {"{\"jsonrpc\":\"2.0\",\"id\":%ID%,\"error\":\"boom\"}", NR_EMALFORMED, "error member"},
        {"{\"jsonrpc\":\"2.0\",\"id\":%ID%,\"error\":{\"code\":\"x\",\"message\":\"m\"}}", NR_EMALFORMED, "code/message"},
        {"{\"jsonrpc\":\"2.0\",\"id\":%ID%,\"error\":{\"code\":-32000,\"message\":\"boom\"}}", NR_ERPC, "-32000: boom"},
        {"{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"parse error\"}}", NR_ERPC, "parse error"},
        {"{\"jsonrpc\":\"2.0\",\"id\":%ID%,\"error\":{\"code\":-32000,\"message\":\"nonce too low: next 5\"}}", NR_ENONCE, "nonce too low"},
        {"{\"jsonrpc\":\"2.0\",\"id\":%ID%,\"error\":{\"code\":-32000,\"message\":\"bad\\u0007\\nchars\"}}", NR_ERPC, "bad??chars"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(chain_id_with(OK200(cases[i].body), msg, sizeof msg), cases[i].rc);
        if (strstr(msg, cases[i].text) == NULL)
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, msg, cases[i].text);
    }
    /* Deep nesting: refused by the parser's nesting limit, no stack overflow. */
    size_t depth = 10000;
    char *deep = malloc(depth + 1);
    memset(deep, '[', depth);
    deep[depth] = '\0';
    assert_int_equal(chain_id_with(OK200(deep), msg, sizeof msg), NR_EMALFORMED);
    free(deep);
}

static void test_revert_errors(void **state)
{
    (void)state;
    /* Error(string) "nope" */
    const char *rev =
        "{\"jsonrpc\":\"2.0\",\"id\":%ID%,\"error\":{\"code\":3,\"message\":\"execution reverted\","
        "\"data\":\"0x08c379a0000000000000000000000000000000000000000000000000000000000000002"
        "000000000000000000000000000000000000000000000000000000000000000046e6f706500000000"
        "000000000000000000000000000000000000000000000000000000\"}}";
    const char *custom = "{\"jsonrpc\":\"2.0\",\"id\":%ID%,\"error\":{\"code\":3,\"message\":"
                         "\"execution reverted\",\"data\":\"0xdeadbeef01\"}}";
    const char *msg_only = "{\"jsonrpc\":\"2.0\",\"id\":%ID%,\"error\":{\"code\":-32000,\"message\":"
                           "\"execution reverted: only text\"}}";
    const char *bad_data = "{\"jsonrpc\":\"2.0\",\"id\":%ID%,\"error\":{\"code\":3,\"message\":"
                           "\"execution reverted\",\"data\":\"0x08c379a0ffff\"}}";
    const char *nested = "{\"jsonrpc\":\"2.0\",\"id\":%ID%,\"error\":{\"code\":-32015,\"message\":"
                         "\"VM Exception: revert\",\"data\":{\"data\":\"0x\"}}}";
    const struct {
        const char *body, *reason;
    } cases[] = {{rev, "nope"},
                 {custom, "custom error 0xdeadbeef01"},
                 {msg_only, "only text"},
                 {bad_data, "custom error 0x08c379a0ffff"},
                 {nested, "(no reason)"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        script(1, OK200(cases[i].body));
        struct nr_rpc *rpc = client(NR_RPC_NO_RETRY, 2000);
        uint8_t to[20] = {1}, data[4] = {1, 2, 3, 4}, *out = NULL;
        size_t out_len = 0;
        int rc = nr_rpc_eth_call(rpc, &out, &out_len, NULL, to, data, sizeof data, NULL);
        printf("  %-14s %s\n", nr_errname(rc), nr_rpc_errmsg(rpc));
        assert_int_equal(rc, NR_EREVERT);
        assert_null(out);
        assert_string_equal(nr_rpc_revert_reason(rpc), cases[i].reason);
        nr_rpc_close(rpc);
    }
}

static void test_http_failures_and_bounded_retries(void **state)
{
    (void)state;
    char msg[NR_RPC_ERRMSG_BYTES];
    /* An HTML error page. */
    assert_int_equal(chain_id_with((struct step){SEND, 500, "<html>oops</html>"}, msg, sizeof msg), NR_ERPC);
    assert_non_null(strstr(msg, "HTTP status 500"));
    /* A JSON-RPC error sent with status 400 is still read as the error it is. */
    assert_int_equal(chain_id_with((struct step){SEND, 400, "{\"jsonrpc\":\"2.0\",\"id\":%ID%,\"error\":"
                                                            "{\"code\":-32600,\"message\":\"invalid\"}}"},
                                   msg, sizeof msg),
                     NR_ERPC);
    assert_non_null(strstr(msg, "invalid"));

    /* 503 twice, then an answer: retried with backoff, succeeds on the third attempt. */
    script(3, (struct step){SEND, 503, "busy"}, (struct step){SEND, 429, "slow down"},
           OK200("{\"jsonrpc\":\"2.0\",\"id\":%ID%,\"result\":\"0x7a69\"}"));
    struct nr_rpc *rpc = client(3, 2000);
    uint64_t id = 0;
    assert_int_equal(nr_rpc_chain_id(rpc, &id), NR_OK);
    assert_int_equal(id, 31337);
    assert_int_equal(nr_rpc_attempts(rpc), 3);
    nr_rpc_close(rpc);

    /* Always 503: gives up after 1 + retries attempts. */
    script(1, (struct step){SEND, 503, "busy"});
    rpc = client(2, 2000);
    assert_int_equal(nr_rpc_chain_id(rpc, &id), NR_ERPC);
    printf("  %s\n", nr_rpc_errmsg(rpc));
    assert_int_equal(nr_rpc_attempts(rpc), 3);
    nr_rpc_close(rpc);

    /* Connection closed without an answer. */
    script(1, (struct step){CLOSE, 0, NULL});
    rpc = client(1, 2000);
    assert_int_equal(nr_rpc_chain_id(rpc, &id), NR_EUNREACHABLE);
    printf("  %s\n", nr_rpc_errmsg(rpc));
    assert_int_equal(nr_rpc_attempts(rpc), 2);
    nr_rpc_close(rpc);

    /* A body over the size limit. */
    assert_int_equal(chain_id_with(OK200(S.big), msg, sizeof msg), NR_ETOOBIG);
}

/* A server that accepts and never answers: every attempt times out, the call ends. */
static void test_silent_server_times_out(void **state)
{
    (void)state;
    script(1, (struct step){SILENT, 0, NULL});
    struct nr_rpc *rpc = client(1, 300);
    uint64_t t0 = nr_test_now_ms(), id = 0;
    assert_int_equal(nr_rpc_chain_id(rpc, &id), NR_ETIMEDOUT);
    uint64_t elapsed = nr_test_now_ms() - t0;
    printf("  %s (%" PRIu64 " ms)\n", nr_rpc_errmsg(rpc), elapsed);
    assert_int_equal(nr_rpc_attempts(rpc), 2);
    assert_true(elapsed >= 600);
    assert_true(elapsed < 30000); /* bounded: never a hang */
    nr_rpc_close(rpc);
}

static void test_wrong_chain_id_on_open(void **state)
{
    (void)state;
    script(1, OK200("{\"jsonrpc\":\"2.0\",\"id\":%ID%,\"result\":\"0x5\"}"));
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", S.port);
    struct nr_rpc_config cfg = {.url = url, .expect_chain_id = 1};
    struct nr_rpc *rpc = NULL;
    assert_int_equal(nr_rpc_open(&rpc, &cfg), NR_ECHAINID);
    printf("  %s\n", nr_rpc_errmsg(rpc));
    assert_non_null(strstr(nr_rpc_errmsg(rpc), "chain id 5 but 1"));
    nr_rpc_close(rpc);
    /* Bad URLs are configuration errors, not requests. */
    cfg.url = "ftp://127.0.0.1/";
    assert_int_equal(nr_rpc_open(&rpc, &cfg), NR_ECONFIG);
    assert_null(rpc);
}

#define H32 "0x1111111111111111111111111111111111111111111111111111111111111111"
#define B32 "0x2222222222222222222222222222222222222222222222222222222222222222"

static void test_receipts(void **state)
{
    (void)state;
    uint8_t hash[32];
    memset(hash, 0x11, 32);
    struct nr_eth_receipt r;
    const struct {
        const char *result;
        int rc;
    } cases[] = {
        {"null", NR_ENOTFOUND},
        {"{\"transactionHash\":\"" H32 "\",\"blockHash\":\"" B32 "\",\"blockNumber\":\"0x5\","
         "\"status\":\"0x1\",\"gasUsed\":\"0x5208\",\"contractAddress\":null,\"logs\":[]}", NR_OK},
        {"{\"transactionHash\":\"" H32 "\",\"blockHash\":\"" B32 "\",\"blockNumber\":\"0x5\","
         "\"status\":\"0x2\",\"gasUsed\":\"0x5208\"}", NR_EMALFORMED},
        {"{\"transactionHash\":\"" B32 "\",\"blockHash\":\"" B32 "\",\"blockNumber\":\"0x5\","
         "\"status\":\"0x1\",\"gasUsed\":\"0x5208\"}", NR_ECHAIN},
        {"{\"transactionHash\":\"" H32 "\",\"blockHash\":\"0x22\",\"blockNumber\":\"0x5\","
         "\"status\":\"0x1\",\"gasUsed\":\"0x5208\"}", NR_EMALFORMED},
        {"{\"transactionHash\":\"" H32 "\",\"blockHash\":\"" B32 "\",\"blockNumber\":\"0x5\","
         "\"status\":\"0x1\",\"gasUsed\":\"0x5208\",\"contractAddress\":\"0x12\"}", NR_EMALFORMED},
        {"{\"transactionHash\":\"" H32 "\",\"blockHash\":\"" B32 "\",\"blockNumber\":\"0x5\","
         "\"status\":\"0x1\",\"gasUsed\":\"0x5208\",\"logs\":{}}", NR_EMALFORMED},
        {"{\"transactionHash\":\"" H32 "\"}", NR_EMALFORMED},
        {"[]", NR_EMALFORMED},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char body[1024];
        snprintf(body, sizeof body, "{\"jsonrpc\":\"2.0\",\"id\":%%ID%%,\"result\":%s}", cases[i].result);
        script(1, OK200(body));
        struct nr_rpc *rpc = client(NR_RPC_NO_RETRY, 2000);
        int rc = nr_rpc_receipt(rpc, &r, hash);
        printf("  %-14s %s\n", nr_errname(rc), nr_rpc_errmsg(rpc));
        assert_int_equal(rc, cases[i].rc);
        if (rc == NR_OK) {
            assert_int_equal(r.block_number, 5);
            assert_int_equal(r.gas_used, 21000);
            assert_int_equal(r.status, 1);
        }
        nr_rpc_close(rpc);
    }

    /* A node that never has the receipt and does not know the transaction: "dropped", in time. */
    script(1, OK200("{\"jsonrpc\":\"2.0\",\"id\":%ID%,\"result\":null}"));
    struct nr_rpc *rpc = client(NR_RPC_NO_RETRY, 2000);
    uint64_t t0 = nr_test_now_ms();
    assert_int_equal(nr_rpc_wait_receipt(rpc, &r, hash, 300, 30), NR_ETIMEDOUT);
    printf("  %s\n", nr_rpc_errmsg(rpc));
    assert_non_null(strstr(nr_rpc_errmsg(rpc), "dropped"));
    assert_true(nr_test_now_ms() - t0 < 30000);
    nr_rpc_close(rpc);
}

static void test_send_raw_hash_mismatch(void **state)
{
    (void)state;
    script(1, OK200("{\"jsonrpc\":\"2.0\",\"id\":%ID%,\"result\":\"" H32 "\"}"));
    struct nr_rpc *rpc = client(NR_RPC_NO_RETRY, 2000);
    uint8_t raw[3] = {0xc0, 0x01, 0x02}, hash[32];
    assert_int_equal(nr_rpc_send_raw(rpc, hash, raw, sizeof raw), NR_ECHAIN);
    printf("  %s\n", nr_rpc_errmsg(rpc));
    nr_rpc_close(rpc);
}

static void test_logs(void **state)
{
    (void)state;
    uint8_t addr[20] = {0};
#define LOG(topics, data)                                                                         \
    "{\"address\":\"0x0000000000000000000000000000000000000000\",\"topics\":" topics              \
    ",\"data\":\"" data "\",\"blockNumber\":\"0x1\",\"logIndex\":\"0x0\",\"transactionHash\":\"" H32 \
    "\",\"removed\":false}"
    const struct {
        const char *result;
        int rc;
        size_t n;
    } cases[] = {
        {"[]", NR_OK, 0},
        {"[" LOG("[\"" H32 "\"]", "0x0102") "," LOG("[]", "0x") "]", NR_OK, 2},
        {"[" LOG("[\"" H32 "\",\"" H32 "\",\"" H32 "\",\"" H32 "\",\"" H32 "\"]", "0x") "]", NR_EMALFORMED, 0},
        {"[" LOG("[\"0x11\"]", "0x") "]", NR_EMALFORMED, 0},
        {"[" LOG("[]", "0x123") "]", NR_EMALFORMED, 0},
        {"[" LOG("{}", "0x") "]", NR_EMALFORMED, 0},
        {"[1,2]", NR_EMALFORMED, 0},
        {"{}", NR_EMALFORMED, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char body[2048];
        snprintf(body, sizeof body, "{\"jsonrpc\":\"2.0\",\"id\":%%ID%%,\"result\":%s}", cases[i].result);
        script(1, OK200(body));
        struct nr_rpc *rpc = client(NR_RPC_NO_RETRY, 2000);
        struct nr_eth_log *logs = NULL;
        size_t n = 0;
        int rc = nr_rpc_get_logs(rpc, &logs, &n, addr, NULL, NULL, 0, UINT64_MAX);
        printf("  %-14s %s\n", nr_errname(rc), nr_rpc_errmsg(rpc));
        assert_int_equal(rc, cases[i].rc);
        assert_int_equal(n, cases[i].n);
        if (n == 2) {
            assert_int_equal(logs[0].n_topics, 1);
            assert_int_equal(logs[0].data_len, 2);
            assert_int_equal(logs[1].data_len, 0);
        }
        nr_rpc_logs_free(logs, n);
        nr_rpc_close(rpc);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_malformed_envelopes),
        cmocka_unit_test(test_revert_errors),
        cmocka_unit_test(test_http_failures_and_bounded_retries),
        cmocka_unit_test(test_silent_server_times_out),
        cmocka_unit_test(test_wrong_chain_id_on_open),
        cmocka_unit_test(test_receipts),
        cmocka_unit_test(test_send_raw_hash_mismatch),
        cmocka_unit_test(test_logs),
    };
    return cmocka_run_group_tests_name("chain_rpc_hostile", tests, setup, teardown);
}
