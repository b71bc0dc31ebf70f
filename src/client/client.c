/* libnarrator transport: the AE's attested local channel to its SE over a Unix socket.
 *
 * Framing on the socket: every handshake message and every channel record is preceded by
 * its length as a u32 little-endian. Each request carries a fresh req_id; each gets exactly
 * one C_REPLY. Every wait is bounded by the handle's timeout; a timeout or any transport or
 * protocol error breaks the handle (later calls fail with NR_ECLOSED): the outcome of the
 * request in flight is unknown, so the AE must reopen and re-read (or nr_restore). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "chan/chan.h"
#include "client/client_internal.h"
#include "core/wire.h"
#include "tee/tee.h"

#define NR_SE_DEFAULT_CODE_IDENTITY "narrator-se/1"

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Wait until fd is ready for `events` or the deadline passes. */
static int wait_fd(int fd, short events, uint64_t deadline_ms)
{
    for (;;) {
        uint64_t now = now_ms();
        if (now >= deadline_ms) {
            return NR_ETIMEDOUT;
        }
        uint64_t left = deadline_ms - now;
        struct pollfd p = {.fd = fd, .events = events, .revents = 0};
        int r = poll(&p, 1, left > 60000u ? 60000 : (int)left);
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            return NR_EIO;
        }
        if (r > 0) {
            return NR_OK; /* readable, writable, or error/hangup: the I/O call tells */
        }
    }
}

static int write_all(int fd, const uint8_t *p, size_t len, uint64_t deadline_ms)
{
    while (len > 0) {
        ssize_t w = send(fd, p, len, MSG_NOSIGNAL);
        if (w > 0) {
            p += (size_t)w;
            len -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int rc = wait_fd(fd, POLLOUT, deadline_ms);
            if (rc) {
                return rc;
            }
            continue;
        }
        return NR_ECLOSED;
    }
    return NR_OK;
}

static int read_all(int fd, uint8_t *p, size_t len, uint64_t deadline_ms)
{
    while (len > 0) {
        ssize_t r = recv(fd, p, len, 0);
        if (r > 0) {
            p += (size_t)r;
            len -= (size_t)r;
            continue;
        }
        if (r == 0) {
            return NR_ECLOSED;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int rc = wait_fd(fd, POLLIN, deadline_ms);
            if (rc) {
                return rc;
            }
            continue;
        }
        return NR_ECLOSED;
    }
    return NR_OK;
}

static int send_frame(int fd, const uint8_t *msg, size_t len, uint64_t deadline_ms)
{
    uint8_t hdr[4];
    if (len > UINT32_MAX) {
        return NR_ETOOBIG;
    }
    nr_put_u32(hdr, (uint32_t)len);
    int rc = write_all(fd, hdr, sizeof hdr, deadline_ms);
    if (rc == NR_OK) {
        rc = write_all(fd, msg, len, deadline_ms);
    }
    return rc;
}

/* Receive one frame (untrusted length, capped by cap). */
static int recv_frame(int fd, uint8_t *buf, size_t cap, size_t *len, uint64_t deadline_ms)
{
    uint8_t hdr[4];
    int rc = read_all(fd, hdr, sizeof hdr, deadline_ms);
    if (rc) {
        return rc;
    }
    struct nr_cur cur;
    uint32_t n = 0;
    nr_cur_init(&cur, hdr, sizeof hdr);
    rc = nr_cur_u32(&cur, &n);
    if (rc) {
        return rc;
    }
    if (n == 0) {
        return NR_EMALFORMED;
    }
    if (n > cap) {
        return NR_ETOOBIG;
    }
    rc = read_all(fd, buf, n, deadline_ms);
    if (rc == NR_OK) {
        *len = n;
    }
    return rc;
}

static uint64_t deadline_of(const struct nr_client *c)
{
    return now_ms() + c->timeout_ms;
}

/* Encrypt and send one client message. */
static int send_msg(struct nr_client *c, const struct nr_client_msg *m, uint64_t deadline_ms)
{
    uint8_t pt[NR_CLIENT_MAX_BYTES];
    uint8_t rec[NR_CLIENT_MAX_BYTES + NR_CHAN_RECORD_OVERHEAD];
    size_t pt_len = nr_client_msg_encode(pt, sizeof pt, m);
    size_t rec_len = 0;
    if (pt_len == 0) {
        return NR_EINVAL;
    }
    int rc = nr_chan_seal(c->chan, pt, pt_len, rec, sizeof rec, &rec_len);
    if (rc == NR_OK) {
        rc = send_frame(c->fd, rec, rec_len, deadline_ms);
    }
    sodium_memzero(pt, sizeof pt);
    return rc;
}

/* Receive, authenticate and decode one C_REPLY. */
static int recv_reply(struct nr_client *c, struct nr_client_msg *m, uint64_t deadline_ms)
{
    uint8_t rec[NR_CLIENT_MAX_BYTES + NR_CHAN_RECORD_OVERHEAD];
    uint8_t pt[NR_CLIENT_MAX_BYTES];
    size_t rec_len = 0, pt_len = 0;
    int rc = recv_frame(c->fd, rec, sizeof rec, &rec_len, deadline_ms);
    if (rc) {
        return rc;
    }
    rc = nr_chan_open(c->chan, rec, rec_len, pt, sizeof pt, &pt_len);
    if (rc) {
        return rc;
    }
    rc = nr_client_msg_decode(m, pt, pt_len);
    sodium_memzero(pt, sizeof pt);
    if (rc) {
        return rc;
    }
    if (m->type != NR_C_REPLY) {
        return NR_EMALFORMED;
    }
    return NR_OK;
}

static int fail(struct nr_client *c, int rc)
{
    /* Transport failures break the handle; protocol answers (conflict...) do not. */
    c->broken = 1;
    return rc;
}

/* One synchronous request/reply. */
static int roundtrip(struct nr_client *c, struct nr_client_msg *m)
{
    if (c->broken) {
        return NR_ECLOSED;
    }
    if (c->count > 0) {
        return NR_EBUSY; /* pipelined writes outstanding: collect them first */
    }
    uint64_t deadline = deadline_of(c);
    m->req_id = c->next_req++;
    uint64_t want = m->req_id;
    int rc = send_msg(c, m, deadline);
    if (rc) {
        return fail(c, rc);
    }
    rc = recv_reply(c, m, deadline);
    if (rc) {
        return fail(c, rc);
    }
    if (m->req_id != want) {
        return fail(c, NR_EMALFORMED);
    }
    return NR_OK;
}

static int connect_unix(const char *path, uint64_t deadline_ms, int *out_fd)
{
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sa.sun_path) {
        return NR_EINVAL;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        return NR_EIO;
    }
    if (connect(fd, (const struct sockaddr *)&sa, sizeof sa) != 0) {
        if (errno != EINPROGRESS && errno != EAGAIN) {
            close(fd);
            return errno == ENOENT || errno == ECONNREFUSED ? NR_EUNREACHABLE : NR_EIO;
        }
        int rc = wait_fd(fd, POLLOUT, deadline_ms);
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        if (rc == NR_OK && (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr)) {
            rc = NR_EUNREACHABLE;
        }
        if (rc) {
            close(fd);
            return rc;
        }
    }
    *out_fd = fd;
    return NR_OK;
}

static int handshake(struct nr_client *c, uint64_t deadline_ms)
{
    uint8_t in[NR_CHAN_HS_MAX_BYTES], out[NR_CHAN_HS_MAX_BYTES];
    size_t in_len = 0, out_len = 0;
    int rc = nr_chan_hs_start(c->chan, out, sizeof out, &out_len);
    if (rc) {
        return rc;
    }
    if (out_len > 0) {
        rc = send_frame(c->fd, out, out_len, deadline_ms);
        if (rc) {
            return rc;
        }
    }
    for (int rounds = 0; !nr_chan_ready(c->chan); rounds++) {
        if (rounds > 8) {
            return NR_EHANDSHAKE;
        }
        rc = recv_frame(c->fd, in, sizeof in, &in_len, deadline_ms);
        if (rc) {
            return rc == NR_ETOOBIG ? NR_EHANDSHAKE : rc;
        }
        out_len = 0;
        rc = nr_chan_hs_recv(c->chan, in, in_len, out, sizeof out, &out_len);
        if (rc) {
            return rc;
        }
        if (out_len > 0) {
            rc = send_frame(c->fd, out, out_len, deadline_ms);
            if (rc) {
                return rc;
            }
        }
    }
    return NR_OK;
}

int nr_open(struct nr_client **out, const struct nr_client_options *opt, const char *record_name)
{
    if (!out || !opt || !record_name || !opt->socket_path || !opt->code_identity) {
        return NR_EINVAL;
    }
    *out = NULL;
    size_t name_len = strlen(record_name);
    if (name_len == 0 || name_len > NR_MAX_NAME) {
        return NR_EINVAL;
    }
    if (sodium_init() < 0) {
        return NR_EIO;
    }
    const char *backend = opt->tee_backend ? opt->tee_backend : "sim";
    const char *se_ident = opt->se_code_identity ? opt->se_code_identity
                                                 : NR_SE_DEFAULT_CODE_IDENTITY;
    int rc = NR_OK;
    struct nr_client *c = calloc(1, sizeof *c);
    if (!c) {
        return NR_ENOMEM;
    }
    c->fd = -1;
    c->timeout_ms = opt->timeout_ms ? opt->timeout_ms : NR_CLIENT_DEFAULT_TIMEOUT_MS;
    c->window = opt->window ? opt->window : NR_CLIENT_DEFAULT_WINDOW;
    if (c->window > NR_CLIENT_MAX_WINDOW) {
        c->window = NR_CLIENT_MAX_WINDOW;
    }
    c->next_req = 1;
    memcpy(c->system_id, opt->system_id, NR_SYSTEM_ID_LEN);
    memcpy(c->name, record_name, name_len + 1);
    c->ring = calloc(c->window, sizeof *c->ring);
    if (!c->ring) {
        rc = NR_ENOMEM;
        goto out;
    }
    uint64_t deadline = deadline_of(c);

    rc = nr_tee_open(&c->tee, backend, opt->platform_dir, opt->code_identity);
    if (rc) {
        goto out;
    }
    struct nr_chan_config cc;
    memset(&cc, 0, sizeof cc);
    cc.kind = NR_CHAN_LOCAL;
    cc.role = NR_CHAN_INITIATOR;
    memcpy(cc.system_id, opt->system_id, sizeof cc.system_id);
    cc.tee = c->tee;
    cc.tee_backend = backend;
    nr_tee_measure(backend, se_ident, cc.se_measurement);
    rc = nr_chan_create(&c->chan, &cc);
    if (rc) {
        goto out;
    }
    rc = connect_unix(opt->socket_path, deadline, &c->fd);
    if (rc) {
        goto out;
    }
    rc = handshake(c, deadline);
    if (rc) {
        goto out;
    }
    struct nr_client_msg m;
    memset(&m, 0, sizeof m);
    m.type = NR_C_OPEN;
    m.name_len = (uint16_t)name_len;
    memcpy(m.name, record_name, name_len);
    rc = roundtrip(c, &m);
    if (rc == NR_OK) {
        rc = m.status;
    }
    if (rc) {
        goto out;
    }
    *out = c;
    return NR_OK;
out:
    nr_close(c);
    return rc;
}

void nr_close(struct nr_client *c)
{
    if (!c) {
        return;
    }
    if (c->fd >= 0) {
        close(c->fd);
    }
    if (c->chan) {
        nr_chan_destroy(c->chan);
    }
    if (c->tee) {
        nr_tee_close(c->tee);
    }
    free(c->ring);
    sodium_memzero(c, sizeof *c);
    free(c);
}

int nr_update(struct nr_client *c, uint64_t version, const uint8_t digest[NR_DIGEST_LEN],
              uint64_t *committed)
{
    if (!c || !digest || version == 0) {
        return NR_EINVAL;
    }
    struct nr_client_msg m;
    memset(&m, 0, sizeof m);
    m.type = NR_C_WRITE;
    m.version = version;
    memcpy(m.digest, digest, NR_DIGEST_LEN);
    int rc = roundtrip(c, &m);
    if (rc) {
        return rc;
    }
    if (m.status == NR_OK && m.version != version) {
        return fail(c, NR_EMALFORMED); /* an acknowledgement must name our version */
    }
    if (committed) {
        *committed = m.status == NR_OK ? m.version : 0;
    }
    return m.status;
}

int nr_read(struct nr_client *c, uint64_t *version, uint8_t digest[NR_DIGEST_LEN])
{
    if (!c || !version || !digest) {
        return NR_EINVAL;
    }
    struct nr_client_msg m;
    memset(&m, 0, sizeof m);
    m.type = NR_C_READ;
    int rc = roundtrip(c, &m);
    if (rc) {
        return rc;
    }
    if (m.status == NR_ENORECORD || (m.status == NR_OK && m.version == 0)) {
        *version = 0;
        memset(digest, 0, NR_DIGEST_LEN);
        return NR_OK;
    }
    if (m.status != NR_OK) {
        return m.status;
    }
    *version = m.version;
    memcpy(digest, m.digest, NR_DIGEST_LEN);
    return NR_OK;
}

int nr_update_submit(struct nr_client *c, uint64_t version, const uint8_t digest[NR_DIGEST_LEN])
{
    if (!c || !digest || version == 0) {
        return NR_EINVAL;
    }
    if (c->broken) {
        return NR_ECLOSED;
    }
    if (c->count >= c->window) {
        return NR_EFULL;
    }
    struct nr_client_msg m;
    memset(&m, 0, sizeof m);
    m.type = NR_C_WRITE;
    m.req_id = c->next_req++;
    m.version = version;
    memcpy(m.digest, digest, NR_DIGEST_LEN);
    int rc = send_msg(c, &m, deadline_of(c));
    if (rc) {
        return fail(c, rc);
    }
    struct nr_pending *p = &c->ring[(c->head + c->count) % c->window];
    memset(p, 0, sizeof *p);
    p->req_id = m.req_id;
    p->version = version;
    c->count++;
    return NR_OK;
}

int nr_update_wait(struct nr_client *c, uint64_t *committed)
{
    if (!c) {
        return NR_EINVAL;
    }
    if (c->count == 0) {
        return NR_ENOTFOUND;
    }
    if (c->broken) {
        return NR_ECLOSED;
    }
    uint64_t deadline = deadline_of(c);
    struct nr_pending *head = &c->ring[c->head];
    while (!head->done) {
        struct nr_client_msg m;
        int rc = recv_reply(c, &m, deadline);
        if (rc) {
            return fail(c, rc);
        }
        int matched = 0;
        for (uint32_t i = 0; i < c->count; i++) {
            struct nr_pending *p = &c->ring[(c->head + i) % c->window];
            if (p->req_id == m.req_id && !p->done) {
                if (m.status == NR_OK && m.version != p->version) {
                    return fail(c, NR_EMALFORMED);
                }
                p->done = 1;
                p->status = m.status;
                matched = 1;
                break;
            }
        }
        if (!matched) {
            return fail(c, NR_EMALFORMED);
        }
    }
    int status = head->status;
    if (committed) {
        *committed = status == NR_OK ? head->version : 0;
    }
    c->head = (c->head + 1) % c->window;
    c->count--;
    return status;
}

/* Restart check: the network record first, then the sealed files (seal.c). */
int nr_restore(struct nr_client *c, const char *path, uint8_t *state, size_t cap, size_t *len,
               uint64_t *version, int *result)
{
    if (!c || !path || (!state && cap > 0) || !len || !version || !result) {
        return NR_EINVAL;
    }
    uint64_t vn = 0;
    uint8_t dn[NR_DIGEST_LEN];
    int rc = nr_read(c, &vn, dn);
    if (rc == NR_OK) {
        rc = nr_restore_local(c, path, vn, dn, state, cap, len, version, result);
    }
    sodium_memzero(dn, sizeof dn);
    return rc;
}
