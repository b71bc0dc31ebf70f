/* nr-null-server: the loopback limit of the AE -> SE path.
 *
 * Speaks exactly what narratord speaks to an application enclave on its Unix socket — the
 * attested local channel (src/chan, NR_CHAN_LOCAL responder, u32 little-endian length-prefixed
 * frames) and the client messages of src/core/wire.h (C_OPEN / C_UPDATE / C_READ / C_STATUS,
 * answered with C_REPLY) — but acknowledges every write at once, without replicating it to
 * any peer and without persisting it. Sequencing is kept (a write must be last+1, else
 * NR_ECONFLICT) so that nr-bench's checks hold. What nr-bench measures against this server
 * is the cost of the client library, the channel crypto and the socket round trip: the upper
 * bound for Narrator on the same machine.
 *
 * Single-threaded epoll loop; every connection's input is processed in bulk and its replies
 * are flushed with one send. Malformed or unauthenticated input closes that connection.
 *
 * usage: nr-null-server --socket PATH --platform-dir DIR --system-id HEX|@FILE
 *                       [--code-identity narrator-se/1] [--init-platform ROOT_DIR]
 * --init-platform creates the sim attestation root ROOT_DIR and the platform directory if they
 * do not exist yet (the AE then uses the same platform directory).
 * Stops cleanly on SIGINT / SIGTERM (unlinks the socket). */
#define _GNU_SOURCE /* accept4 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <sodium.h>

#include "chan/chan.h"
#include "core/wire.h"
#include "narrator/errors.h"
#include "tee/tee.h"

#define FRAME_MAX (NR_CLIENT_BATCH_MAX + NR_CHAN_FRAME_OVERHEAD) /* any frame fits */
#define IN_CAP (256u * 1024u)
#define MAX_EVENTS 64
#define TABLE_BITS 16u

struct rec {
    struct rec *next;
    uint8_t key[NR_KEY_BYTES];
    uint64_t version;
    uint8_t digest[NR_DIGEST_BYTES];
};

struct conn {
    int fd;
    struct nr_chan *chan;
    struct rec **handles; /* record handle -> record, grown on demand (index < n_handles) */
    uint32_t n_handles;
    uint8_t batch[NR_CLIENT_BATCH_MAX]; /* replies coalesced into one channel frame */
    size_t batch_len;
    uint8_t in[IN_CAP];
    size_t in_len;
    uint8_t *out;
    size_t out_len, out_cap, out_off;
    int want_out;
};

struct server {
    int lfd, ep;
    struct nr_tee *tee;
    uint8_t system_id[NR_SYSTEM_ID_BYTES];
    uint8_t measurement[NR_MEASUREMENT_BYTES];
    struct rec *table[1u << TABLE_BITS];
    uint64_t conns, writes, reads, closed_bad;
};

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

/* Record key as the SE computes it: BLAKE2b-256(AE measurement || record name). */
static struct rec *lookup(struct server *s, const uint8_t meas[NR_MEASUREMENT_BYTES],
                          const uint8_t *name, size_t name_len)
{
    uint8_t key[NR_KEY_BYTES];
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, sizeof key);
    crypto_generichash_update(&st, meas, NR_MEASUREMENT_BYTES);
    crypto_generichash_update(&st, name, name_len);
    crypto_generichash_final(&st, key, sizeof key);
    size_t b = ((size_t)key[0] | (size_t)key[1] << 8) & ((1u << TABLE_BITS) - 1u);
    for (struct rec *r = s->table[b]; r; r = r->next) {
        if (memcmp(r->key, key, sizeof key) == 0) {
            return r;
        }
    }
    struct rec *r = calloc(1, sizeof(*r));
    if (!r) {
        return NULL;
    }
    memcpy(r->key, key, sizeof key);
    r->next = s->table[b];
    s->table[b] = r;
    return r;
}

static int out_reserve(struct conn *c, size_t more)
{
    if (c->out_len + more <= c->out_cap) {
        return 0;
    }
    size_t cap = c->out_cap ? c->out_cap : 4096u;
    while (cap < c->out_len + more) {
        cap *= 2u;
    }
    if (cap > 64u * 1024u * 1024u) {
        return -1; /* a client that never reads: drop it */
    }
    uint8_t *p = realloc(c->out, cap);
    if (!p) {
        return -1;
    }
    c->out = p;
    c->out_cap = cap;
    return 0;
}

static int queue_frame(struct conn *c, const uint8_t *msg, size_t len)
{
    if (out_reserve(c, 4u + len) != 0) {
        return -1;
    }
    nr_put_u32(c->out + c->out_len, (uint32_t)len);
    memcpy(c->out + c->out_len + 4u, msg, len);
    c->out_len += 4u + len;
    return 0;
}

/* Seal the coalesced replies as one channel frame and queue it. */
static int flush_batch(struct conn *c)
{
    if (c->batch_len == 0) {
        return 0;
    }
    static uint8_t rec[NR_CLIENT_BATCH_MAX + NR_CHAN_FRAME_OVERHEAD];
    size_t rec_len = 0;
    if (nr_chan_seal(c->chan, c->batch, c->batch_len, rec, sizeof rec, &rec_len) != NR_OK) {
        return -1;
    }
    c->batch_len = 0;
    return queue_frame(c, rec, rec_len);
}

static int queue_reply(struct conn *c, uint64_t req_id, int status, const struct rec *r,
                       uint32_t record)
{
    struct nr_client_msg m;
    memset(&m, 0, sizeof m);
    m.type = NR_C_REPLY;
    m.req_id = req_id;
    m.status = status;
    m.record = record;
    if (r) {
        m.version = r->version;
        memcpy(m.digest, r->digest, NR_DIGEST_BYTES);
    }
    uint8_t pt[NR_CLIENT_MAX_BYTES];
    size_t pt_len = nr_client_msg_encode(pt, sizeof pt, &m);
    if (pt_len == 0) {
        return -1;
    }
    if (c->batch_len + pt_len > sizeof c->batch && flush_batch(c) != 0) {
        return -1;
    }
    memcpy(c->batch + c->batch_len, pt, pt_len);
    c->batch_len += pt_len;
    return 0;
}

/* The record bound to handle h on this connection, or NULL. */
static struct rec *handle_get(const struct conn *c, uint32_t h)
{
    return h < c->n_handles ? c->handles[h] : NULL;
}

static int handle_bind(struct conn *c, uint32_t h, struct rec *r)
{
    if (h >= c->n_handles) {
        uint32_t n = c->n_handles ? c->n_handles : 64u;
        while (n <= h) {
            n *= 2u;
        }
        struct rec **p = realloc(c->handles, (size_t)n * sizeof(*p));
        if (!p) {
            return -1;
        }
        memset(p + c->n_handles, 0, (size_t)(n - c->n_handles) * sizeof(*p));
        c->handles = p;
        c->n_handles = n;
    }
    c->handles[h] = r;
    return 0;
}

static int on_msg(struct server *s, struct conn *c, const struct nr_client_msg *mp);

/* One complete frame from the client. Returns 0, or -1 to close the connection. */
static int on_frame(struct server *s, struct conn *c, const uint8_t *f, size_t len)
{
    if (!nr_chan_ready(c->chan)) {
        uint8_t out[NR_CHAN_HS_MAX_BYTES];
        size_t out_len = 0;
        if (nr_chan_hs_recv(c->chan, f, len, out, sizeof out, &out_len) != NR_OK) {
            return -1;
        }
        return out_len > 0 ? queue_frame(c, out, out_len) : 0;
    }
    uint8_t pt[FRAME_MAX];
    size_t pt_len = 0;
    if (nr_chan_open(c->chan, f, len, pt, sizeof pt, &pt_len) != NR_OK) {
        return -1;
    }
    /* a channel frame carries one or more client messages (wire.h); a connection may bind
     * many record handles (sessions) */
    struct nr_cur cur;
    nr_cur_init(&cur, pt, pt_len);
    if (pt_len == 0) {
        return -1;
    }
    while (cur.left > 0) {
        struct nr_client_msg m;
        if (nr_client_msg_next(&m, &cur) != NR_OK || on_msg(s, c, &m) != 0) {
            return -1;
        }
    }
    return 0;
}

/* One client message. Returns 0, or -1 to close the connection. */
static int on_msg(struct server *s, struct conn *c, const struct nr_client_msg *mp)
{
    struct nr_client_msg m = *mp;
    switch (m.type) {
    case NR_C_OPEN: {
        /* the AE picks the handle: 1..NR_CLIENT_MAX_RECORDS, not yet bound */
        if (m.record == 0 || m.record > NR_CLIENT_MAX_RECORDS || handle_get(c, m.record)) {
            return queue_reply(c, m.req_id, NR_EINVAL, NULL, m.record);
        }
        uint8_t meas[NR_MEASUREMENT_BYTES];
        nr_chan_peer_measurement(c->chan, meas);
        struct rec *r = lookup(s, meas, m.name, m.name_len);
        if (!r || handle_bind(c, m.record, r) != 0) {
            return queue_reply(c, m.req_id, NR_ENOMEM, NULL, m.record);
        }
        return queue_reply(c, m.req_id, NR_OK, NULL, m.record);
    }
    case NR_C_UPDATE: {
        struct rec *r = handle_get(c, m.record);
        if (!r) {
            return queue_reply(c, m.req_id, NR_EINVAL, NULL, 0);
        }
        if (m.version != r->version + 1u) {
            return queue_reply(c, m.req_id, NR_ECONFLICT, r, 0);
        }
        r->version = m.version;
        memcpy(r->digest, m.digest, NR_DIGEST_BYTES);
        s->writes++;
        return queue_reply(c, m.req_id, NR_OK, r, 0);
    }
    case NR_C_READ: {
        struct rec *r = handle_get(c, m.record);
        if (!r) {
            return queue_reply(c, m.req_id, NR_EINVAL, NULL, 0);
        }
        s->reads++;
        return queue_reply(c, m.req_id, NR_OK, r, 0);
    }
    case NR_C_STATUS:
        return queue_reply(c, m.req_id, NR_OK, NULL, 0);
    default:
        return -1;
    }
}

static void conn_close(struct server *s, struct conn *c)
{
    epoll_ctl(s->ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    nr_chan_destroy(c->chan);
    free(c->out);
    free(c->handles);
    free(c);
}

static int conn_flush(struct server *s, struct conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (w > 0) {
            c->out_off += (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        }
        return -1;
    }
    if (c->out_off == c->out_len) {
        c->out_off = c->out_len = 0;
    }
    int want = c->out_len > 0;
    if (want != c->want_out) {
        struct epoll_event ev = {.events = EPOLLIN | (want ? (uint32_t)EPOLLOUT : 0u),
                                 .data.ptr = c};
        if (epoll_ctl(s->ep, EPOLL_CTL_MOD, c->fd, &ev) != 0) {
            return -1;
        }
        c->want_out = want;
    }
    return 0;
}

/* Read what is there, handle every complete frame, flush. -1: close. */
static int conn_input(struct server *s, struct conn *c)
{
    for (;;) {
        ssize_t r = recv(c->fd, c->in + c->in_len, IN_CAP - c->in_len, 0);
        if (r == 0) {
            return -1;
        }
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                break;
            }
            return -1;
        }
        c->in_len += (size_t)r;
        size_t off = 0;
        while (c->in_len - off >= 4u) {
            struct nr_cur cur;
            uint32_t n = 0;
            nr_cur_init(&cur, c->in + off, 4u);
            if (nr_cur_u32(&cur, &n) != NR_OK || n == 0 || n > FRAME_MAX) {
                s->closed_bad++;
                return -1;
            }
            if (c->in_len - off - 4u < n) {
                break;
            }
            if (on_frame(s, c, c->in + off + 4u, n) != 0) {
                s->closed_bad++;
                return -1;
            }
            off += 4u + n;
        }
        memmove(c->in, c->in + off, c->in_len - off);
        c->in_len -= off;
    }
    if (flush_batch(c) != 0) {
        return -1;
    }
    return conn_flush(s, c);
}

static int conn_accept(struct server *s)
{
    for (;;) {
        int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -1;
        }
        struct conn *c = calloc(1, sizeof(*c));
        struct nr_chan_config cc;
        memset(&cc, 0, sizeof cc);
        cc.kind = NR_CHAN_LOCAL;
        cc.role = NR_CHAN_RESPONDER;
        memcpy(cc.system_id, s->system_id, sizeof cc.system_id);
        cc.tee = s->tee;
        cc.tee_backend = "sim";
        memcpy(cc.se_measurement, s->measurement, sizeof cc.se_measurement);
        if (!c || nr_chan_create(&c->chan, &cc) != NR_OK) {
            free(c);
            close(fd);
            continue;
        }
        c->fd = fd;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
            nr_chan_destroy(c->chan);
            free(c);
            close(fd);
            continue;
        }
        s->conns++;
    }
}

static int parse_system_id(uint8_t out[NR_SYSTEM_ID_BYTES], const char *arg)
{
    char buf[160];
    if (arg[0] == '@') {
        FILE *f = fopen(arg + 1, "r");
        if (!f) {
            return -1;
        }
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ')) {
            buf[--n] = '\0';
        }
        arg = buf;
    }
    if (strncmp(arg, "0x", 2) == 0) {
        arg += 2;
    }
    size_t bin_len = 0;
    if (sodium_hex2bin(out, NR_SYSTEM_ID_BYTES, arg, strlen(arg), NULL, &bin_len, NULL) != 0 ||
        bin_len != NR_SYSTEM_ID_BYTES) {
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"socket", required_argument, NULL, 's'},
        {"platform-dir", required_argument, NULL, 'p'},
        {"system-id", required_argument, NULL, 'i'},
        {"code-identity", required_argument, NULL, 'c'},
        {"init-platform", required_argument, NULL, 'r'},
        {NULL, 0, NULL, 0},
    };
    const char *sock = NULL, *platform = NULL, *ident = "narrator-se/1", *root = NULL;
    static struct server s;
    int have_id = 0, ch;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 's': sock = optarg; break;
        case 'p': platform = optarg; break;
        case 'c': ident = optarg; break;
        case 'r': root = optarg; break;
        case 'i':
            if (parse_system_id(s.system_id, optarg) != 0) {
                fprintf(stderr, "nr-null-server: bad --system-id\n");
                return 2;
            }
            have_id = 1;
            break;
        default:
            fprintf(stderr, "usage: nr-null-server --socket PATH --platform-dir DIR "
                            "--system-id HEX|@FILE [--code-identity ID]\n");
            return 2;
        }
    }
    if (!sock || !platform || !have_id) {
        fprintf(stderr, "usage: nr-null-server --socket PATH --platform-dir DIR "
                        "--system-id HEX|@FILE [--code-identity ID]\n");
        return 2;
    }
    if (sodium_init() < 0) {
        return 1;
    }
    int rc;
    if (root) {
        rc = nr_tee_sim_root_create(root);
        if (rc == NR_OK || rc == NR_EEXIST) {
            rc = nr_tee_sim_platform_create(platform, root);
        }
        if (rc != NR_OK && rc != NR_EEXIST) {
            fprintf(stderr, "nr-null-server: provisioning %s: %s\n", platform, nr_strerror(rc));
            return 1;
        }
    }
    rc = nr_tee_open(&s.tee, "sim", platform, ident);
    if (rc != NR_OK) {
        fprintf(stderr, "nr-null-server: TEE on %s: %s\n", platform, nr_strerror(rc));
        return 1;
    }
    nr_tee_measurement(s.tee, s.measurement);

    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if (strlen(sock) >= sizeof sa.sun_path) {
        fprintf(stderr, "nr-null-server: socket path too long\n");
        return 1;
    }
    memcpy(sa.sun_path, sock, strlen(sock) + 1);
    unlink(sock);
    s.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s.lfd < 0 || bind(s.lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(s.lfd, 512) != 0) {
        fprintf(stderr, "nr-null-server: listen on %s: %s\n", sock, strerror(errno));
        return 1;
    }
    s.ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
    if (s.ep < 0 || epoll_ctl(s.ep, EPOLL_CTL_ADD, s.lfd, &lev) != 0) {
        fprintf(stderr, "nr-null-server: epoll: %s\n", strerror(errno));
        return 1;
    }
    struct sigaction sig;
    memset(&sig, 0, sizeof sig);
    sig.sa_handler = on_signal;
    sigaction(SIGINT, &sig, NULL);
    sigaction(SIGTERM, &sig, NULL);
    signal(SIGPIPE, SIG_IGN);
    fprintf(stderr, "nr-null-server: listening on %s\n", sock);

    struct epoll_event evs[MAX_EVENTS];
    while (!stop_flag) {
        int n = epoll_wait(s.ep, evs, MAX_EVENTS, 500);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (!c) {
                if (conn_accept(&s) != 0) {
                    fprintf(stderr, "nr-null-server: accept: %s\n", strerror(errno));
                }
                continue;
            }
            int bad = 0;
            if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                bad = conn_input(&s, c) != 0;
            } else if (evs[i].events & EPOLLOUT) {
                bad = conn_flush(&s, c) != 0;
            }
            if (bad) {
                conn_close(&s, c);
            }
        }
    }
    fprintf(stderr, "nr-null-server: stopping: %llu connections, %llu writes, %llu reads, "
                    "%llu closed on bad input\n",
            (unsigned long long)s.conns, (unsigned long long)s.writes,
            (unsigned long long)s.reads, (unsigned long long)s.closed_bad);
    close(s.lfd);
    unlink(sock);
    nr_tee_close(s.tee);
    return 0;
}
