#define _XOPEN_SOURCE 700 /* nftw() */
/* Integration tests of narratord: three real daemon processes on loopback with the sim TEE,
 * driven through the public client API (libnarrator) and through raw hostile sockets.
 *
 * The network is provisioned the way `narrator keygen` / `genesis` do it: an attestation
 * root, one platform per node, an identity sealed inside each node's TEE, a membership file
 * whose evidence binds every identity to its platform. Each daemon's exit code is checked:
 * 0 after SIGTERM, 1 for a bad config, 3 for an instance superseded by a clone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "chan/identity.h"
#include "chan/membership.h"
#include "narrator/narrator.h"
#include "tee/tee.h"

#define SE_ID "narrator-se/1"
#define AE_ID "test-ae/1"
#define N 3
#define DIRLEN 128
#define PATHLEN 256

struct node {
    char dir[DIRLEN], ini[PATHLEN], sock[PATHLEN], data[PATHLEN], plat[PATHLEN], log[PATHLEN];
    int port, mport;
    pid_t pid;
};

struct net {
    char dir[64], root[PATHLEN], membership[PATHLEN];
    char root_hex[65];
    uint8_t system_id[32];
    struct node nodes[N];
    struct node clone; /* a second instance of node 0 */
};

static struct net g;
static const char *g_durability = "memory";

/* ---- helpers ---- */

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000u, (long)(ms % 1000u) * 1000000L};
    nanosleep(&ts, NULL);
}

static int free_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        return -1;
    close(fd);
    return ntohs(a.sin_port);
}

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int file_contains(const char *path, const char *needle)
{
    static char buf[1 << 20];
    FILE *f = fopen(path, "r");
    size_t n;
    if (!f)
        return 0;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strstr(buf, needle) != NULL;
}

static void write_config(const struct node *nd, int index, const char *extra_listen_note)
{
    char buf[4096];
    int len = snprintf(buf, sizeof buf,
                       "# test config %s\n[Node]\nIndex = %d\nListen = 127.0.0.1:%d\n"
                       "Socket = %s\nDataDir = %s\nPlatform = %s\nMembership = %s\n"
                       "AttestationRoot = %s\nDurability = %s\nLogLevel = debug\n"
                       "Metrics = 127.0.0.1:%d\nMaxRecords = 10000\n",
                       extra_listen_note, index, nd->port, nd->sock, nd->data, nd->plat,
                       g.membership, g.root_hex, g_durability, nd->mport);
    for (int j = 0; j < N; j++) {
        if (j == index)
            continue;
        len += snprintf(buf + len, sizeof buf - (size_t)len,
                        "[Peer]\nIndex = %d\nEndpoint = 127.0.0.1:%d\n", j, g.nodes[j].port);
    }
    write_file(nd->ini, buf);
}

static pid_t spawn(const char *ini, const char *log)
{
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
        }
        execl(NARRATORD_PATH, "narratord", "-c", ini, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* Wait for a child's exit; returns its exit code, or -1 on timeout / signal. */
static int wait_exit(pid_t pid, unsigned timeout_ms)
{
    uint64_t end = now_ms() + timeout_ms;
    int st;
    do {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        sleep_ms(10);
    } while (now_ms() < end);
    return -1;
}

/* Minimal HTTP/1.0 client; returns the status code and the body in out. */
static int http(int port, const char *method, const char *path, char *out, size_t cap)
{
    struct sockaddr_in a;
    char req[256];
    size_t got = 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0), code = -1;

    out[0] = '\0';
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    int n = snprintf(req, sizeof req, "%s %s HTTP/1.0\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
                     method, path);
    if (write(fd, req, (size_t)n) != n) {
        close(fd);
        return -1;
    }
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 3000) <= 0)
            break;
        ssize_t k = read(fd, out + got, cap - 1 - got);
        if (k <= 0)
            break;
        got += (size_t)k;
        if (got >= cap - 1)
            break;
    }
    out[got] = '\0';
    close(fd);
    if (sscanf(out, "HTTP/1.%*d %d", &code) != 1)
        return -1;
    return code;
}

static int wait_state(int mport, const char *state, unsigned timeout_ms)
{
    static char body[65536];
    char want[64];
    uint64_t end = now_ms() + timeout_ms;
    snprintf(want, sizeof want, "\"state\":\"%s\"", state);
    do {
        if (http(mport, "GET", "/status", body, sizeof body) == 200 && strstr(body, want))
            return 0;
        sleep_ms(50);
    } while (now_ms() < end);
    return -1;
}

/* The value of a metric line "name value" (no labels), or -1. */
static long long metric(int mport, const char *name)
{
    static char body[1 << 17];
    char pat[128];
    if (http(mport, "GET", "/metrics", body, sizeof body) != 200)
        return -1;
    snprintf(pat, sizeof pat, "\n%s ", name);
    char *p = strstr(body, pat);
    return p ? atoll(p + strlen(pat)) : -1;
}

static int open_client(const struct node *nd, const char *name, struct nr_client **out)
{
    struct nr_client_options o;
    memset(&o, 0, sizeof o);
    o.socket_path = nd->sock;
    o.platform_dir = nd->plat;
    o.tee_backend = "sim";
    o.code_identity = AE_ID;
    memcpy(o.system_id, g.system_id, sizeof o.system_id);
    o.timeout_ms = 5000;
    return nr_open(out, &o, name);
}

/* Connect to a stream socket; 0 or -1. */
static int connect_tcp(int port)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static int connect_unix(const char *path)
{
    struct sockaddr_un a;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    size_t len = strlen(path);
    if (len >= sizeof a.sun_path) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    memcpy(a.sun_path, path, len + 1);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* 1 if the daemon closes the connection within timeout_ms (reading and discarding data). */
static int closed_by_daemon(int fd, unsigned timeout_ms)
{
    uint64_t end = now_ms() + timeout_ms;
    char buf[4096];
    while (now_ms() < end) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 100) > 0) {
            ssize_t k = read(fd, buf, sizeof buf);
            if (k <= 0)
                return 1;
        }
    }
    return 0;
}

/* ---- fixture ---- */

static void node_paths(struct node *nd, int i, const char *tag)
{
    char dir[DIRLEN];
    snprintf(dir, sizeof dir, "%s/%s%d", g.dir, tag, i);
    memcpy(nd->dir, dir, sizeof dir);
    snprintf(nd->ini, sizeof nd->ini, "%s/se.ini", dir);
    snprintf(nd->sock, sizeof nd->sock, "%s/se.sock", dir);
    snprintf(nd->log, sizeof nd->log, "%s/narratord.log", dir);
    snprintf(nd->data, sizeof nd->data, "%s/data", dir);
    snprintf(nd->plat, sizeof nd->plat, "%s/platform", dir);
}

static int setup(void **state)
{
    uint8_t root_pub[32], meas[32];
    struct nr_membership *m = calloc(1, sizeof *m);
    (void)state;

    signal(SIGPIPE, SIG_IGN);
    if (!m || sodium_init() < 0)
        return -1;
    snprintf(g.dir, sizeof g.dir, "/tmp/nr-host-it-XXXXXX");
    if (!mkdtemp(g.dir))
        return -1;
    snprintf(g.root, sizeof g.root, "%s/root", g.dir);
    snprintf(g.membership, sizeof g.membership, "%s/membership.txt", g.dir);
    if (nr_tee_sim_root_create(g.root) != NR_OK || nr_tee_sim_root_pub(g.root, root_pub) != NR_OK)
        return -1;
    sodium_bin2hex(g.root_hex, sizeof g.root_hex, root_pub, sizeof root_pub);
    randombytes_buf(g.system_id, sizeof g.system_id);
    nr_membership_init(m, g.system_id, N, 1, root_pub);
    nr_tee_measure("sim", SE_ID, meas);
    if (nr_membership_add_measurement(m, meas) != NR_OK)
        return -1;
    for (int i = 0; i < N; i++) {
        struct node *nd = &g.nodes[i];
        struct nr_tee *tee;
        struct nr_identity id;
        uint8_t ev[NR_EVIDENCE_MAX_BYTES], pid[NR_PLATFORM_ID_BYTES];
        size_t ev_len = 0;
        char idpath[PATHLEN + 16];

        node_paths(nd, i, "node");
        if (mkdir(nd->dir, 0700) != 0 || mkdir(nd->data, 0700) != 0)
            return -1;
        if (nr_tee_sim_platform_create(nd->plat, g.root) != NR_OK ||
            nr_tee_open(&tee, "sim", nd->plat, SE_ID) != NR_OK)
            return -1;
        snprintf(idpath, sizeof idpath, "%s/identity", nd->data);
        if (nr_identity_create(tee, idpath, &id) != NR_OK ||
            nr_identity_evidence(tee, &id, g.system_id, ev, sizeof ev, &ev_len) != NR_OK)
            return -1;
        nr_tee_platform_id(tee, pid);
        if (nr_membership_add_member(m, (uint16_t)i, id.pub, pid, ev, ev_len, NULL) != NR_OK)
            return -1;
        nr_identity_wipe(&id);
        nr_tee_close(tee);
        nd->port = free_port();
        nd->mport = free_port();
        if (nd->port <= 0 || nd->mport <= 0 || nd->port == nd->mport)
            return -1;
    }
    if (nr_membership_save(m, g.membership) != NR_OK)
        return -1;
    free(m);
    for (int i = 0; i < N; i++)
        write_config(&g.nodes[i], i, "");
    for (int i = 0; i < N; i++)
        g.nodes[i].pid = spawn(g.nodes[i].ini, g.nodes[i].log);
    for (int i = 0; i < N; i++)
        if (wait_state(g.nodes[i].mport, "active", 20000) != 0) {
            fprintf(stderr, "node %d did not become active; see %s\n", i, g.nodes[i].log);
            return -1;
        }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    struct node *all[N + 1] = {&g.nodes[0], &g.nodes[1], &g.nodes[2], &g.clone};
    for (int i = 0; i < N + 1; i++)
        if (all[i]->pid > 0) {
            kill(all[i]->pid, SIGKILL);
            waitpid(all[i]->pid, NULL, 0);
            all[i]->pid = 0;
        }
    if (getenv("NR_TEST_KEEP"))
        fprintf(stderr, "files kept in %s\n", g.dir);
    else
        nftw(g.dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

/* ---- tests (run in order on one network) ---- */

static void test_updates_and_reads(void **state)
{
    (void)state;
    struct nr_client *c;
    uint8_t d1[32], d2[32], got[32];
    uint64_t v = 0;

    memset(d1, 0x11, sizeof d1);
    memset(d2, 0x22, sizeof d2);
    assert_int_equal(open_client(&g.nodes[0], "acct", &c), NR_OK);
    assert_int_equal(nr_read(c, &v, got), NR_OK);
    assert_int_equal(v, 0);
    assert_int_equal(nr_update(c, 1, d1, &v), NR_OK);
    assert_int_equal(v, 1);
    assert_int_equal(nr_update(c, 2, d2, &v), NR_OK);
    assert_int_equal(nr_read(c, &v, got), NR_OK);
    assert_int_equal(v, 2);
    assert_memory_equal(got, d2, 32);
    /* S2: a second digest for version 2 and a gap are refused. */
    assert_int_equal(nr_update(c, 2, d1, &v), NR_ECONFLICT);
    assert_int_equal(nr_update(c, 4, d1, &v), NR_ECONFLICT);
    assert_int_equal(nr_read(c, &v, got), NR_OK);
    assert_int_equal(v, 2);
    assert_memory_equal(got, d2, 32);
    nr_close(c);

    /* Another record name of the same AE is a separate record. */
    assert_int_equal(open_client(&g.nodes[1], "other", &c), NR_OK);
    assert_int_equal(nr_read(c, &v, got), NR_OK);
    assert_int_equal(v, 0);
    assert_int_equal(nr_update(c, 1, d1, &v), NR_OK);
    nr_close(c);
}

static void test_metrics_and_status(void **state)
{
    (void)state;
    static char body[1 << 17];
    int mp = g.nodes[0].mport;

    assert_int_equal(metric(mp, "narrator_se_state"), 2);
    assert_int_equal(metric(mp, "narrator_se_members"), N);
    assert_int_equal(metric(mp, "narrator_writes_committed_total"), 2);
    assert_int_equal(metric(mp, "narrator_conflicts_refused_total"), 2);
    assert_int_equal(metric(mp, "narrator_peers_connected"), N - 1);
    assert_true(metric(mp, "narrator_peer_msgs_out_total") > 0);
    assert_int_equal(http(mp, "GET", "/status", body, sizeof body), 200);
    assert_non_null(strstr(body, "\"state\":\"active\""));
    assert_non_null(strstr(body, "\"index\":0"));
    assert_int_equal(http(mp, "GET", "/nope", body, sizeof body), 404);
    int code = http(mp, "POST", "/metrics", body, sizeof body); /* read-only endpoint */
    assert_true(code == 405 || code == 501);
}

static void test_hostile_peer_connections(void **state)
{
    (void)state;
    const struct node *nd = &g.nodes[2];
    long long oversize0 = metric(nd->mport, "narrator_peer_frames_oversize_total");
    long long hsfail0 = metric(nd->mport, "narrator_peer_handshake_failures_total");
    int fd;

    /* A frame announcing 4 GiB: dropped at once. */
    fd = connect_tcp(nd->port);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "\xff\xff\xff\xff", 4), 4);
    assert_true(closed_by_daemon(fd, 3000));
    close(fd);
    /* A well-framed handshake message full of garbage: handshake failure. */
    fd = connect_tcp(nd->port);
    assert_true(fd >= 0);
    {
        uint8_t frame[4 + 68];
        frame[0] = 68;
        frame[1] = frame[2] = frame[3] = 0;
        randombytes_buf(frame + 4, 68);
        assert_int_equal(write(fd, frame, sizeof frame), (ssize_t)sizeof frame);
    }
    assert_true(closed_by_daemon(fd, 3000));
    close(fd);
    /* Silence: the handshake times out (5 s). */
    fd = connect_tcp(nd->port);
    assert_true(fd >= 0);
    assert_true(closed_by_daemon(fd, 8000));
    close(fd);

    /* A flood of silent connections: beyond 64 pending handshakes new ones are refused at
     * once; once they go away, connections are accepted again (the count is right). */
    {
        int fds[64];
        for (int i = 0; i < 64; i++) {
            fds[i] = connect_tcp(nd->port);
            assert_true(fds[i] >= 0);
        }
        sleep_ms(200);
        fd = connect_tcp(nd->port);
        assert_true(fd >= 0);
        assert_true(closed_by_daemon(fd, 2000));
        close(fd);
        for (int i = 0; i < 64; i++)
            close(fds[i]);
        sleep_ms(200);
        fd = connect_tcp(nd->port);
        assert_true(fd >= 0);
        assert_false(closed_by_daemon(fd, 500));
        close(fd);
        assert_true(metric(nd->mport, "narrator_peer_refused_pending_total") >= 1);
    }

    assert_true(metric(nd->mport, "narrator_peer_frames_oversize_total") >= oversize0 + 1);
    assert_true(metric(nd->mport, "narrator_peer_handshake_failures_total") >= hsfail0 + 1);
    /* The real peers were not disturbed: the network still commits. */
    assert_int_equal(metric(nd->mport, "narrator_peers_connected"), N - 1);
    struct nr_client *c;
    uint8_t d3[32];
    uint64_t v = 0;
    memset(d3, 0x33, sizeof d3);
    assert_int_equal(open_client(&g.nodes[0], "acct", &c), NR_OK);
    assert_int_equal(nr_update(c, 3, d3, &v), NR_OK);
    nr_close(c);
}

static void test_hostile_local_connections(void **state)
{
    (void)state;
    const struct node *nd = &g.nodes[0];
    long long oversize0 = metric(nd->mport, "narrator_local_frames_oversize_total");
    long long hsfail0 = metric(nd->mport, "narrator_local_handshake_failures_total");
    struct stat sb;
    int fd;

    assert_int_equal(stat(nd->sock, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);

    fd = connect_unix(nd->sock);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "\x00\x00\x10\x00", 4), 4); /* 1 MiB frame */
    assert_true(closed_by_daemon(fd, 3000));
    close(fd);

    fd = connect_unix(nd->sock);
    assert_true(fd >= 0);
    {
        uint8_t frame[4 + 228];
        frame[0] = 228;
        frame[1] = frame[2] = frame[3] = 0;
        randombytes_buf(frame + 4, 228);
        assert_int_equal(write(fd, frame, sizeof frame), (ssize_t)sizeof frame);
    }
    assert_true(closed_by_daemon(fd, 3000));
    close(fd);
    assert_true(metric(nd->mport, "narrator_local_frames_oversize_total") >= oversize0 + 1);
    assert_true(metric(nd->mport, "narrator_local_handshake_failures_total") >= hsfail0 + 1);

    /* An AE on another platform cannot open a channel to this SE. */
    struct nr_client *c;
    struct node other = g.nodes[0];
    memcpy(other.plat, g.nodes[1].plat, sizeof other.plat);
    assert_int_not_equal(open_client(&other, "acct", &c), NR_OK);
}

static void test_clone_supersedes_old_instance(void **state)
{
    (void)state;
    struct node *cl = &g.clone;
    struct nr_client *c;
    uint8_t d4[32], got[32];
    uint64_t v = 0;
    int rc;

    /* The host starts a second instance of member 0 on the same platform, from a copy of its
     * data directory (one instance per data directory: the copy is what a clone needs). */
    node_paths(cl, 0, "clone");
    memcpy(cl->plat, g.nodes[0].plat, sizeof cl->plat);
    cl->port = free_port();
    cl->mport = free_port();
    assert_int_equal(mkdir(cl->dir, 0700), 0);
    {
        char cmd[3 * sizeof cl->data];
        snprintf(cmd, sizeof cmd, "cp -a '%s' '%s'", g.nodes[0].data, cl->data);
        assert_int_equal(system(cmd), 0);
    }
    write_config(cl, 0, "(clone of node 0)");
    cl->pid = spawn(cl->ini, cl->log);
    assert_int_equal(wait_state(cl->mport, "active", 20000), 0);

    /* The old instance is told it is superseded on its next write, and exits with 3. */
    memset(d4, 0x44, sizeof d4);
    assert_int_equal(open_client(&g.nodes[0], "acct", &c), NR_OK);
    rc = nr_update(c, 4, d4, &v);
    assert_true(rc == NR_ESUPERSEDED || rc == NR_ECLOSED);
    nr_close(c);
    assert_int_equal(wait_exit(g.nodes[0].pid, 10000), 3);
    g.nodes[0].pid = 0;
    assert_true(file_contains(g.nodes[0].log, "FATAL superseded by a newer incarnation"));

    /* The clone continues from the committed state (S1): v3, then v4 commits. */
    assert_int_equal(open_client(cl, "acct", &c), NR_OK);
    assert_int_equal(nr_read(c, &v, got), NR_OK);
    assert_int_equal(v, 3);
    assert_int_equal(nr_update(c, 4, d4, &v), NR_OK);
    nr_close(c);
}

static void test_sigterm_clean_exit(void **state)
{
    (void)state;
    struct node *live[N] = {&g.clone, &g.nodes[1], &g.nodes[2]};
    for (int i = 0; i < N; i++) {
        struct stat sb;
        assert_int_equal(kill(live[i]->pid, SIGTERM), 0);
        assert_int_equal(wait_exit(live[i]->pid, 10000), 0);
        live[i]->pid = 0;
        assert_int_not_equal(stat(live[i]->sock, &sb), 0); /* socket file removed */
    }
}

static void test_bad_config_exit(void **state)
{
    (void)state;
    char ini[PATHLEN], log[PATHLEN], want[PATHLEN + 64];
    snprintf(ini, sizeof ini, "%s/bad.ini", g.dir);
    snprintf(log, sizeof log, "%s/bad.log", g.dir);
    write_file(ini, "[Node]\nIndex = 0\nListen = 127.0.0.1\n");
    pid_t pid = spawn(ini, log);
    assert_int_equal(wait_exit(pid, 10000), 1);
    snprintf(want, sizeof want, "%s:3: Listen: bad address", ini);
    assert_true(file_contains(log, want));

    /* A valid config whose identity is not the membership's member 1: refused at start. */
    struct node wrong = g.nodes[0];
    snprintf(wrong.ini, sizeof wrong.ini, "%s/wrong.ini", g.dir);
    snprintf(wrong.sock, sizeof wrong.sock, "%s/wrong.sock", g.dir);
    wrong.port = free_port();
    wrong.mport = free_port();
    write_config(&wrong, 1, "(node 0's data claiming index 1)");
    pid = spawn(wrong.ini, log);
    assert_int_equal(wait_exit(pid, 10000), 1);
    assert_true(file_contains(log, "member 1 is not this SE's identity"));
}

/* ---- DISK durability: group commit + fsync before acknowledging ---- */

static int setup_disk(void **state)
{
    g_durability = "disk";
    memset(&g, 0, sizeof g);
    return setup(state);
}

static void test_disk_commit_and_rejoin(void **state)
{
    (void)state;
    struct nr_client *c;
    uint8_t d[32], got[32];
    uint64_t v = 0;

    assert_int_equal(open_client(&g.nodes[0], "disk", &c), NR_OK);
    for (uint64_t k = 1; k <= 5; k++) {
        memset(d, (int)k, sizeof d);
        assert_int_equal(nr_update(c, k, d, &v), NR_OK);
        assert_int_equal(v, k);
    }
    nr_close(c);
    /* Every replica persisted with group commits, no store error. */
    for (int i = 0; i < N; i++) {
        assert_true(metric(g.nodes[i].mport, "narrator_store_commits_total") >= 1);
        assert_true(metric(g.nodes[i].mport, "narrator_store_records_total") >= 5);
        assert_int_equal(metric(g.nodes[i].mport, "narrator_store_errors_total"), 0);
    }
    /* SIGKILL a replica and restart it: it rejoins (new epoch) and the record is intact. */
    assert_int_equal(kill(g.nodes[2].pid, SIGKILL), 0);
    waitpid(g.nodes[2].pid, NULL, 0);
    g.nodes[2].pid = spawn(g.nodes[2].ini, g.nodes[2].log);
    assert_int_equal(wait_state(g.nodes[2].mport, "active", 20000), 0);
    assert_int_equal(metric(g.nodes[2].mport, "narrator_se_incarnation_epoch"), 2);
    assert_int_equal(open_client(&g.nodes[0], "disk", &c), NR_OK);
    assert_int_equal(nr_read(c, &v, got), NR_OK);
    assert_int_equal(v, 5);
    memset(d, 6, sizeof d);
    assert_int_equal(nr_update(c, 6, d, &v), NR_OK);
    nr_close(c);
    for (int i = 0; i < N; i++) {
        assert_int_equal(kill(g.nodes[i].pid, SIGTERM), 0);
        assert_int_equal(wait_exit(g.nodes[i].pid, 10000), 0);
        g.nodes[i].pid = 0;
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_updates_and_reads),
        cmocka_unit_test(test_metrics_and_status),
        cmocka_unit_test(test_hostile_peer_connections),
        cmocka_unit_test(test_hostile_local_connections),
        cmocka_unit_test(test_clone_supersedes_old_instance),
        cmocka_unit_test(test_sigterm_clean_exit),
        cmocka_unit_test(test_bad_config_exit),
    };
    const struct CMUnitTest disk_tests[] = {
        cmocka_unit_test(test_disk_commit_and_rejoin),
    };
    int failed = cmocka_run_group_tests_name("memory durability", tests, setup, teardown);
    failed += cmocka_run_group_tests_name("disk durability", disk_tests, setup_disk, teardown);
    return failed;
}
