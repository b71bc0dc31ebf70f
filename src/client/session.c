/* libnarrator transport: the AE's attested local channel to its SE over a Unix socket.
 *
 * Framing on the socket: every handshake message and every channel frame is preceded by
 * its length as a u32 little-endian. A session queues client messages (wire.h) and sends
 * everything queued as ONE channel frame in ONE send (length prefix included); it reads
 * whatever the socket holds (many frames per recv) and decodes every reply of each frame.
 * Each request carries a fresh req_id and gets exactly one C_REPLY, found by req_id in the
 * session's slot table (req_id & mask). Every wait is bounded by the timeout; a timeout or
 * any transport or protocol error breaks the session (later calls fail with NR_ECLOSED):
 * the outcome of requests in flight is unknown, so the AE must reopen and re-read (or
 * nr_restore). The single-record API (nr_open ..., client.c) is a session with one
 * record. */
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
#include "common/code_identity.h"
#include "common/local_refusal.h"
#include "core/wire.h"
#include "tee/dcap.h"
#include "tee/tee.h"

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

#define NR_FRAME_MAX (NR_CLIENT_BATCH_MAX + NR_CHAN_FRAME_OVERHEAD)
#define NR_SBUF_BYTES (4u + NR_FRAME_MAX)

static int send_frame(int fd, const uint8_t *msg, size_t len, uint64_t deadline_ms)
{
    uint8_t buf[4 + NR_CHAN_HS_MAX_BYTES];
    if (len > NR_CHAN_HS_MAX_BYTES) {
        return NR_ETOOBIG;
    }
    nr_put_u32(buf, (uint32_t)len);
    memcpy(buf + 4, msg, len);
    return write_all(fd, buf, 4 + len, deadline_ms);
}

/* Next frame from the socket (untrusted length, capped): *frame points into s->ibuf and is
 * valid until the next call. block = 0: only a frame already buffered (0 = none). Returns
 * 1 with a frame, 0 without (block = 0), or a negative error. */
static int next_frame(struct nr_session *s, const uint8_t **frame, size_t *len, int block,
                      uint64_t deadline_ms)
{
    for (;;) {
        size_t have = s->ilen - s->ioff;
        if (have >= 4) {
            struct nr_cur cur;
            uint32_t n = 0;
            nr_cur_init(&cur, s->ibuf + s->ioff, 4);
            (void)nr_cur_u32(&cur, &n);
            if (n == 0) {
                return NR_EMALFORMED;
            }
            if (n > NR_FRAME_MAX) {
                return NR_ETOOBIG;
            }
            if (have >= 4u + n) {
                *frame = s->ibuf + s->ioff + 4;
                *len = n;
                s->ioff += 4u + n;
                return 1;
            }
        }
        if (s->ioff > 0) { /* compact: the partial frame to the front */
            memmove(s->ibuf, s->ibuf + s->ioff, have);
            s->ilen = have;
            s->ioff = 0;
        }
        ssize_t r = recv(s->fd, s->ibuf + s->ilen, NR_CLIENT_IBUF_BYTES - s->ilen, 0);
        if (r > 0) {
            s->ilen += (size_t)r;
            continue;
        }
        if (r == 0) {
            return NR_ECLOSED;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            return NR_ECLOSED;
        }
        if (!block) {
            return 0;
        }
        int rc = wait_fd(s->fd, POLLIN, deadline_ms);
        if (rc) {
            return rc;
        }
    }
}

static uint64_t deadline_of(const struct nr_session *s)
{
    return now_ms() + s->timeout_ms;
}

int nr_session_fail(struct nr_session *s, int rc)
{
    /* Transport failures break the session; protocol answers (conflict...) do not. */
    s->broken = 1;
    return rc;
}

/* Seal everything queued as one frame and send it with its length in one send. */
static int flush(struct nr_session *s, uint64_t deadline_ms)
{
    size_t rec_len = 0;
    if (s->olen == 0) {
        return NR_OK;
    }
    int rc = nr_chan_seal(s->chan, s->obuf, s->olen, s->sbuf + 4, NR_FRAME_MAX, &rec_len);
    sodium_memzero(s->obuf, s->olen);
    s->olen = 0;
    if (rc == NR_OK) {
        nr_put_u32(s->sbuf, (uint32_t)rec_len);
        rc = write_all(s->fd, s->sbuf, 4 + rec_len, deadline_ms);
    }
    return rc;
}

/* Queue one request (a fresh req_id and slot). */
static int submit(struct nr_session *s, struct nr_client_msg *m, struct nr_rec *r, uint8_t op,
                  int sync, uint64_t tag, struct nr_slot **out)
{
    if (s->broken) {
        return NR_ECLOSED;
    }
    if (s->outstanding >= s->window) {
        return NR_EFULL;
    }
    struct nr_slot *slot = &s->slots[s->next_req & s->mask];
    if (slot->req_id != 0) {
        return NR_EFULL; /* an old request still holds this slot */
    }
    if (NR_CLIENT_BATCH_MAX - s->olen < NR_CLIENT_MAX_BYTES) {
        int rc = flush(s, deadline_of(s));
        if (rc) {
            return nr_session_fail(s, rc);
        }
    }
    m->req_id = s->next_req;
    size_t len = nr_client_msg_encode(s->obuf + s->olen, NR_CLIENT_BATCH_MAX - s->olen, m);
    if (len == 0) {
        return NR_EINVAL;
    }
    s->olen += len;
    s->next_req++;
    memset(slot, 0, sizeof *slot);
    slot->req_id = m->req_id;
    slot->record = r;
    slot->tag = tag;
    slot->op = op;
    slot->sync = (uint8_t)sync;
    slot->version = m->version;
    s->outstanding++;
    if (r) {
        r->outstanding++;
    }
    if (out) {
        *out = slot;
    }
    return NR_OK;
}

/* Open one channel frame and complete every reply in it. */
static int on_frame(struct nr_session *s, const uint8_t *frame, size_t len)
{
    size_t pt_len = 0;
    int rc = nr_chan_open(s->chan, frame, len, s->pt, NR_CLIENT_BATCH_MAX, &pt_len);
    if (rc) {
        return rc;
    }
    if (pt_len == 0) {
        return NR_EMALFORMED;
    }
    struct nr_cur cur;
    nr_cur_init(&cur, s->pt, pt_len);
    while (cur.left > 0) {
        struct nr_client_msg m;
        rc = nr_client_msg_next(&m, &cur);
        if (rc) {
            break;
        }
        struct nr_slot *slot = &s->slots[m.req_id & s->mask];
        if (m.type != NR_C_REPLY || m.req_id == 0 || slot->req_id != m.req_id || slot->done) {
            rc = NR_EMALFORMED; /* a reply to nothing we asked */
            break;
        }
        if (slot->op == NR_OP_UPDATE && m.status == NR_OK && m.version != slot->version) {
            rc = NR_EMALFORMED; /* an acknowledgement must name our version */
            break;
        }
        if (slot->op == NR_OP_OPEN && m.status == NR_OK &&
            (!slot->record || m.record != slot->record->handle)) {
            rc = NR_EMALFORMED; /* an open's reply must name our handle */
            break;
        }
        if (m.has_genesis) {
            /* one SE instance serves one network for its whole life */
            if (s->has_genesis && memcmp(s->genesis, m.genesis, NR_GENESIS_ID_BYTES) != 0) {
                rc = NR_EMALFORMED;
                break;
            }
            s->has_genesis = 1;
            memcpy(s->genesis, m.genesis, NR_GENESIS_ID_BYTES);
            s->npred = m.npred;
            memcpy(s->pred, m.pred, sizeof s->pred);
        }
        slot->done = 1;
        slot->status = m.status;
        slot->version = m.version;
        slot->handle = m.record;
        memcpy(slot->digest, m.digest, NR_DIGEST_BYTES);
        if (!slot->sync) {
            s->doneq[(s->dq_head + s->dq_count) & s->mask] = m.req_id;
            s->dq_count++;
        }
    }
    sodium_memzero(s->pt, pt_len);
    return rc;
}

/* Read and handle frames: at least one when block, then whatever is already there. */
static int pump(struct nr_session *s, int block, uint64_t deadline_ms)
{
    for (;;) {
        const uint8_t *f = NULL;
        size_t n = 0;
        int rc = next_frame(s, &f, &n, block, deadline_ms);
        if (rc <= 0) {
            return rc;
        }
        rc = on_frame(s, f, n);
        if (rc) {
            return rc;
        }
        block = 0;
    }
}

static void slot_release(struct nr_session *s, struct nr_slot *slot)
{
    struct nr_rec *r = slot->record;
    if (r && --r->outstanding == 0 && r->closing) {
        free(r);
    }
    memset(slot, 0, sizeof *slot);
    s->outstanding--;
}

/* Send everything queued, then read replies until `slot` is done (one timeout for both). */
static int flush_and_wait(struct nr_session *s, const struct nr_slot *slot)
{
    uint64_t deadline = deadline_of(s);
    int rc = flush(s, deadline);
    while (rc == NR_OK && !slot->done) {
        rc = pump(s, 1, deadline);
    }
    return rc;
}

/* Queue, send and wait for one synchronous request; *out gets the reply. */
int nr_session_roundtrip(struct nr_session *s, struct nr_client_msg *m, struct nr_rec *r,
                         uint8_t op, struct nr_slot *out)
{
    struct nr_slot *slot = NULL;
    int rc = submit(s, m, r, op, 1, 0, &slot);
    if (rc) {
        return rc;
    }
    rc = flush_and_wait(s, slot);
    if (rc) {
        return nr_session_fail(s, rc);
    }
    *out = *slot;
    slot->record = NULL; /* r's count is dropped by the caller's use, below */
    if (r) {
        r->outstanding--;
    }
    slot_release(s, slot);
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

static int handshake(struct nr_session *s, uint64_t deadline_ms)
{
    uint8_t out[NR_CHAN_HS_MAX_BYTES];
    size_t out_len = 0;
    int rc = nr_chan_hs_start(s->chan, out, sizeof out, &out_len);
    if (rc) {
        return rc;
    }
    if (out_len > 0) {
        rc = send_frame(s->fd, out, out_len, deadline_ms);
        if (rc) {
            return rc;
        }
    }
    for (int rounds = 0; !nr_chan_ready(s->chan); rounds++) {
        const uint8_t *in = NULL;
        size_t in_len = 0;
        if (rounds > 8) {
            return NR_EHANDSHAKE;
        }
        rc = next_frame(s, &in, &in_len, 1, deadline_ms);
        if (rc < 0) {
            /* closed in the handshake: the SE refused us (an SE that says why, below, is
             * more precise) */
            return rc == NR_ETOOBIG || rc == NR_ECLOSED ? NR_EHANDSHAKE : rc;
        }
        if (in_len > NR_CHAN_HS_MAX_BYTES) {
            return NR_EHANDSHAKE;
        }
        rc = nr_local_refusal_decode(in, in_len);
        if (rc) {
            return rc;
        }
        out_len = 0;
        rc = nr_chan_hs_recv(s->chan, in, in_len, out, sizeof out, &out_len);
        if (rc) {
            return rc;
        }
        if (out_len > 0) {
            rc = send_frame(s->fd, out, out_len, deadline_ms);
            if (rc) {
                return rc;
            }
        }
    }
    return NR_OK;
}

/* The AE's policy for its SE's quote under gramine. NR_EINVAL without an SE measurement or
 * signer: the AE must say which SE it trusts. */
static int se_policy(const struct nr_client_options *opt, struct nr_attest_policy *pol)
{
    memset(pol, 0, sizeof *pol);
    if (!opt->se_measurement && !opt->se_signer) {
        return NR_EINVAL;
    }
    if (opt->attestation_root) {
        memcpy(pol->root_pub, opt->attestation_root, sizeof pol->root_pub);
    } else if (nr_dcap_hex32(pol->root_pub, NR_DCAP_INTEL_ROOT_FP) != NR_OK) {
        return NR_EINVAL;
    }
    if (opt->se_measurement) {
        memcpy(pol->allowed[0], opt->se_measurement, NR_MEASUREMENT_BYTES);
        pol->n_allowed = 1;
    }
    if (opt->se_signer) {
        pol->check_signer = 1;
        memcpy(pol->signer, opt->se_signer, sizeof pol->signer);
    }
    pol->allow_debug = opt->allow_debug_se != 0;
    return NR_OK;
}

int nr_session_open(struct nr_session **out, const struct nr_client_options *opt)
{
    if (!out || !opt || !opt->socket_path || !opt->code_identity) {
        return NR_EINVAL;
    }
    *out = NULL;
    if (sodium_init() < 0) {
        return NR_EIO;
    }
    const char *backend = opt->tee_backend ? opt->tee_backend : "sim";
    const char *se_ident = opt->se_code_identity ? opt->se_code_identity : NR_SE_CODE_IDENTITY;
    int rc = NR_OK;
    struct nr_session *s = calloc(1, sizeof *s);
    if (!s) {
        return NR_ENOMEM;
    }
    s->fd = -1;
    s->timeout_ms = opt->timeout_ms ? opt->timeout_ms : NR_CLIENT_DEFAULT_TIMEOUT_MS;
    s->window = opt->window ? opt->window : NR_CLIENT_DEFAULT_WINDOW;
    if (s->window > NR_CLIENT_MAX_WINDOW) {
        s->window = NR_CLIENT_MAX_WINDOW;
    }
    uint64_t slots = 8;
    while (slots < 2u * (uint64_t)s->window) {
        slots *= 2u;
    }
    s->mask = slots - 1u;
    s->next_req = 1;
    s->next_handle = 1;
    memcpy(s->system_id, opt->system_id, NR_SYSTEM_ID_BYTES);
    s->slots = calloc(slots, sizeof *s->slots);
    s->doneq = calloc(slots, sizeof *s->doneq);
    s->obuf = malloc(NR_CLIENT_BATCH_MAX);
    s->sbuf = malloc(NR_SBUF_BYTES);
    s->ibuf = malloc(NR_CLIENT_IBUF_BYTES);
    s->pt = malloc(NR_CLIENT_BATCH_MAX);
    if (!s->slots || !s->doneq || !s->obuf || !s->sbuf || !s->ibuf || !s->pt) {
        rc = NR_ENOMEM;
        goto out;
    }
    uint64_t deadline = deadline_of(s);

    rc = nr_tee_open(&s->tee, backend, opt->platform_dir, opt->code_identity);
    if (rc) {
        goto out;
    }
    struct nr_chan_config cc;
    memset(&cc, 0, sizeof cc);
    cc.kind = NR_CHAN_LOCAL;
    cc.role = NR_CHAN_INITIATOR;
    memcpy(cc.system_id, opt->system_id, sizeof cc.system_id);
    cc.tee = s->tee;
    cc.tee_backend = backend;
    nr_tee_measure(backend, se_ident, cc.se_measurement);
    struct nr_attest_policy pol;
    if (strcmp(backend, "gramine") == 0) {
        /* DCAP quotes both ways (src/chan/chan.c): the SE's must carry its MRENCLAVE or
         * MRSIGNER and chain to the pinned root. */
        rc = se_policy(opt, &pol);
        if (rc) {
            goto out;
        }
        if (opt->se_measurement) {
            memcpy(cc.se_measurement, opt->se_measurement, sizeof cc.se_measurement);
        }
        cc.policy = &pol;
    }
    rc = nr_chan_create(&s->chan, &cc);
    if (rc) {
        goto out;
    }
    rc = connect_unix(opt->socket_path, deadline, &s->fd);
    if (rc) {
        goto out;
    }
    rc = handshake(s, deadline);
    if (rc) {
        goto out;
    }
    *out = s;
    return NR_OK;
out:
    nr_session_close(s);
    return rc;
}

void nr_session_close(struct nr_session *s)
{
    if (!s) {
        return;
    }
    if (s->fd >= 0) {
        close(s->fd);
    }
    if (s->chan) {
        nr_chan_destroy(s->chan);
    }
    if (s->tee) {
        nr_tee_close(s->tee);
    }
    /* Records whose close waited for outstanding requests go with the session; records the
     * caller still holds must not be used after this (documented). */
    if (s->slots) {
        for (uint64_t i = 0; i <= s->mask; i++) {
            struct nr_rec *r = s->slots[i].record;
            if (s->slots[i].req_id != 0 && r && r->closing && --r->outstanding == 0) {
                free(r);
            }
        }
    }
    free(s->slots);
    free(s->doneq);
    if (s->obuf) {
        sodium_memzero(s->obuf, NR_CLIENT_BATCH_MAX);
    }
    free(s->obuf);
    free(s->sbuf);
    free(s->ibuf);
    free(s->pt);
    sodium_memzero(s, sizeof *s);
    free(s);
}

/* Queue C_OPEN for a fresh handle; *out is the new record (requests may follow at once). */
static int open_submit(struct nr_session *s, const char *record_name, int sync, uint64_t tag,
                       struct nr_rec **out, struct nr_slot **slot)
{
    size_t name_len = strlen(record_name);
    if (name_len == 0 || name_len > NR_MAX_NAME) {
        return NR_EINVAL;
    }
    if (s->broken) {
        return NR_ECLOSED;
    }
    if (s->next_handle > NR_CLIENT_MAX_RECORDS) {
        return NR_EFULL; /* handles are not reused within a session */
    }
    struct nr_rec *r = calloc(1, sizeof *r);
    if (!r) {
        return NR_ENOMEM;
    }
    r->s = s;
    r->handle = s->next_handle;
    struct nr_client_msg m;
    memset(&m, 0, sizeof m);
    m.type = NR_C_OPEN;
    m.record = r->handle;
    m.name_len = (uint16_t)name_len;
    memcpy(m.name, record_name, name_len);
    int rc = submit(s, &m, r, NR_OP_OPEN, sync, tag, slot);
    if (rc) {
        free(r);
        return rc;
    }
    s->next_handle++;
    *out = r;
    return NR_OK;
}

int nr_record_open(struct nr_rec **out, struct nr_session *s, const char *record_name)
{
    if (!out || !s || !record_name) {
        return NR_EINVAL;
    }
    *out = NULL;
    struct nr_rec *r = NULL;
    struct nr_slot *slot = NULL;
    int rc = open_submit(s, record_name, 1, 0, &r, &slot);
    if (rc) {
        return rc;
    }
    rc = flush_and_wait(s, slot);
    if (rc) {
        return nr_session_fail(s, rc); /* r stays in the broken session's slot: freed with it */
    }
    int status = slot->status;
    if (status == NR_OK && slot->handle != r->handle) {
        status = nr_session_fail(s, NR_EMALFORMED);
    }
    slot->record = NULL;
    r->outstanding--;
    slot_release(s, slot);
    if (status != NR_OK) {
        free(r);
        return status;
    }
    *out = r;
    return NR_OK;
}

int nr_record_submit_open(struct nr_rec **out, struct nr_session *s, const char *record_name,
                          uint64_t tag)
{
    if (!out || !s || !record_name) {
        return NR_EINVAL;
    }
    *out = NULL;
    return open_submit(s, record_name, 0, tag, out, NULL);
}

void nr_record_close(struct nr_rec *r)
{
    if (!r) {
        return;
    }
    if (r->outstanding == 0) {
        free(r);
        return;
    }
    r->closing = 1; /* freed by its last completion (reported with record = NULL) */
}

int nr_record_submit_update(struct nr_rec *r, uint64_t version,
                            const uint8_t digest[NR_DIGEST_BYTES], uint64_t tag)
{
    if (!r || !digest || version == 0 || r->closing) {
        return NR_EINVAL;
    }
    struct nr_client_msg m;
    memset(&m, 0, sizeof m);
    m.type = NR_C_UPDATE;
    m.record = r->handle;
    m.version = version;
    memcpy(m.digest, digest, NR_DIGEST_BYTES);
    return submit(r->s, &m, r, NR_OP_UPDATE, 0, tag, NULL);
}

int nr_record_submit_read(struct nr_rec *r, uint64_t tag)
{
    if (!r || r->closing) {
        return NR_EINVAL;
    }
    struct nr_client_msg m;
    memset(&m, 0, sizeof m);
    m.type = NR_C_READ;
    m.record = r->handle;
    return submit(r->s, &m, r, NR_OP_READ, 0, tag, NULL);
}

int nr_session_flush(struct nr_session *s)
{
    if (!s) {
        return NR_EINVAL;
    }
    if (s->broken) {
        return NR_ECLOSED;
    }
    int rc = flush(s, deadline_of(s));
    return rc ? nr_session_fail(s, rc) : NR_OK;
}

uint32_t nr_session_outstanding(const struct nr_session *s)
{
    return s ? s->outstanding : 0;
}

/* A read's answer as nr_read gives it: no record is version 0, NR_OK. */
static void read_result(struct nr_completion *c)
{
    if (c->status == NR_ENORECORD || (c->status == NR_OK && c->version == 0)) {
        c->status = NR_OK;
        c->version = 0;
        memset(c->digest, 0, NR_DIGEST_BYTES);
    } else if (c->status != NR_OK) {
        c->version = 0;
        memset(c->digest, 0, NR_DIGEST_BYTES);
    }
}

int nr_session_wait(struct nr_session *s, struct nr_completion *out, size_t cap, size_t *n)
{
    if (!s || !out || cap == 0 || !n) {
        return NR_EINVAL;
    }
    *n = 0;
    if (s->broken) {
        return NR_ECLOSED;
    }
    if (s->dq_count == 0 && s->outstanding == 0) {
        return NR_ENOTFOUND;
    }
    uint64_t deadline = deadline_of(s);
    int rc = flush(s, deadline);
    if (rc == NR_OK) {
        rc = pump(s, s->dq_count == 0, deadline);
    }
    while (rc == NR_OK && s->dq_count == 0) {
        rc = pump(s, 1, deadline);
    }
    if (rc) {
        return nr_session_fail(s, rc);
    }
    size_t k = 0;
    while (k < cap && s->dq_count > 0) {
        struct nr_slot *slot = &s->slots[s->doneq[s->dq_head & s->mask] & s->mask];
        s->dq_head++;
        s->dq_count--;
        struct nr_completion *c = &out[k++];
        c->record = slot->record && !slot->record->closing ? slot->record : NULL;
        c->tag = slot->tag;
        c->op = slot->op;
        c->status = slot->status;
        c->version = slot->status == NR_OK || slot->op == NR_OP_READ ? slot->version : 0;
        memcpy(c->digest, slot->digest, NR_DIGEST_BYTES);
        if (c->op == NR_OP_READ) {
            read_result(c);
        }
        slot_release(s, slot);
    }
    *n = k;
    return NR_OK;
}
