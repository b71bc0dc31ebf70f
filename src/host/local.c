/* Local AE transport: a Unix socket (mode 0600), u32-LE length-prefixed frames, the
 * NR_CHAN_LOCAL handshake (the AE proves its measurement with a local report; under gramine
 * both sides send DCAP quotes, src/chan/chan.c), then channel
 * frames each carrying one or more client messages (wire.h nr_client_msg, a batch of at most
 * NR_CLIENT_BATCH_MAX bytes). Every message of a frame is handled in order; a frame with a
 * malformed message drops the connection (messages before it were handled).
 *
 * C_OPEN binds a record handle picked by the AE (1..NR_CLIENT_MAX_RECORDS, not yet bound) to
 * key = BLAKE2b-256(AE measurement || name), so an AE can only ever touch records of its own
 * measurement. C_UPDATE / C_READ name a handle and
 * go to the core with the connection's client handle; the core's reply is routed back by
 * that handle (a reply for a connection that has gone is dropped and counted). Replies
 * produced in one loop iteration for one connection are coalesced into one channel frame
 * (sealed at the end-of-iteration push). C_STATUS is answered at once:
 *   C_REPLY status = NR_OK, version = enum nr_se_state,
 *   digest = u64 incarnation || u64 writes_committed || u64 reads_served || u64 records
 *   (all little-endian), and the genesis id of the network once the SE has one. */
#include "host/local.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <sodium.h>

#include "common/local_refusal.h"
#include "host/frame.h"
#include "host/log.h"

#define NR_LOCAL_FRAME_MAX                                                                         \
    (NR_CHAN_HS_MAX_BYTES > NR_CLIENT_BATCH_MAX + NR_CHAN_FRAME_OVERHEAD                           \
         ? NR_CHAN_HS_MAX_BYTES                                                                    \
         : NR_CLIENT_BATCH_MAX + NR_CHAN_FRAME_OVERHEAD)
#define NR_LOCAL_OUTBUF_LIMIT (16u * 1024u * 1024u) /* stop reading a client beyond this */
#define NR_CLIENT_BUCKETS 4096u

/* A local AE connection on the Unix socket. */
struct nr_lconn {
    struct nr_local_server *ls;
    struct bufferevent *bev;
    struct nr_chan *ch;
    uint64_t id; /* client handle given to the core */
    int ready;
    int closing;
    int dirty; /* in ls->dirty */
    /* Records opened on this connection: handle h is bound if h <= cap_keys and
     * bound[h - 1]; its key is keys[h - 1] (handles are picked by the AE, wire.h). */
    uint8_t (*keys)[NR_KEY_BYTES];
    uint8_t *bound;
    uint32_t n_keys, cap_keys;
    /* Replies of this loop iteration, coalesced: sealed as one channel frame at the push. */
    uint8_t *obuf;
    size_t olen, ocap; /* ocap grows by doubling up to NR_CLIENT_BATCH_MAX */
    uint8_t measurement[NR_MEASUREMENT_BYTES];
    struct nr_lconn *next;  /* ls->conns or ls->graveyard */
    struct nr_lconn *hnext; /* client table bucket */
};

struct nr_local_server {
    struct nr_local_server_config cfg;
    struct nr_local_server_ops ops;
    struct event_base *base;
    struct evconnlistener *listener;
    int socket_bound;
    dev_t socket_dev; /* identity of the socket file we bound (F3: never */
    ino_t socket_ino; /* unlink a newer instance's socket at the same path) */
    struct nr_lconn *conns, *graveyard;
    unsigned pending; /* connections still in their handshake */
    struct nr_lconn *clients[NR_CLIENT_BUCKETS];
    uint64_t next_client_id;
    /* Connections written to during this iteration (pushed at its end, see peer.c). */
    struct nr_lconn **dirty;
    size_t n_dirty, cap_dirty;
    struct nr_local_stats stats;
    struct nr_ratelimit rl_local;
};

static unsigned bucket(uint64_t id)
{
    return (unsigned)(id % NR_CLIENT_BUCKETS);
}

static struct nr_lconn *client_find(struct nr_local_server *ls, uint64_t id)
{
    for (struct nr_lconn *c = ls->clients[bucket(id)]; c; c = c->hnext)
        if (c->id == id)
            return c;
    return NULL;
}

static void client_unlink(struct nr_local_server *ls, struct nr_lconn *c)
{
    for (struct nr_lconn **pp = &ls->clients[bucket(c->id)]; *pp; pp = &(*pp)->hnext)
        if (*pp == c) {
            *pp = c->hnext;
            return;
        }
}

static void lconn_close(struct nr_lconn *c, const char *why)
{
    struct nr_local_server *ls = c->ls;

    if (c->closing)
        return;
    c->closing = 1;
    if (!c->ready)
        ls->pending--;
    if (c->bev)
        bufferevent_disable(c->bev, EV_READ | EV_WRITE);
    for (struct nr_lconn **pp = &ls->conns; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    client_unlink(ls, c);
    c->next = ls->graveyard;
    ls->graveyard = c;
    ls->stats.disconnects++;
    NR_LOGD("client %llu disconnected: %s", (unsigned long long)c->id, why);
}

void nr_local_server_reap(struct nr_local_server *ls)
{
    while (ls->graveyard) {
        struct nr_lconn *c = ls->graveyard;
        ls->graveyard = c->next;
        /* Told here, outside any core callback (a close can happen inside one). */
        ls->ops.client_gone(ls->ops.ctx, c->id);
        if (c->bev)
            bufferevent_free(c->bev);
        nr_chan_destroy(c->ch);
        free(c->keys);
        free(c->bound);
        free(c->obuf);
        free(c);
    }
}

static void mark_dirty(struct nr_local_server *ls, struct nr_lconn *c)
{
    if (c->dirty)
        return;
    if (ls->n_dirty == ls->cap_dirty) {
        size_t cap = ls->cap_dirty ? 2u * ls->cap_dirty : 64u;
        struct nr_lconn **a = realloc(ls->dirty, cap * sizeof *a);
        if (!a) {
            bufferevent_enable(c->bev, EV_WRITE); /* let libevent send it */
            return;
        }
        ls->dirty = a;
        ls->cap_dirty = cap;
    }
    c->dirty = 1;
    ls->dirty[ls->n_dirty++] = c;
}

/* Seal the coalesced replies as one frame into the output buffer. */
static int flush_replies(struct nr_lconn *c)
{
    int rc;

    if (c->olen == 0 || c->closing)
        return NR_OK;
    rc = nr_frame_write_sealed(bufferevent_get_output(c->bev), c->ch, c->obuf, c->olen);
    c->olen = 0;
    if (rc != NR_OK) {
        NR_LOGE("client %llu: cannot send replies: %s", (unsigned long long)c->id, nr_strerror(rc));
        lconn_close(c, "send failed");
    }
    return rc;
}

/* with_genesis: replies to C_OPEN and C_STATUS name the genesis of the SE's network once it
 * has one (wire.h), so that libnarrator binds sealed state to it. */
static void send_reply_g(struct nr_lconn *c, uint64_t req_id, uint32_t record, int status,
                         uint64_t version, const uint8_t digest[NR_DIGEST_BYTES], int with_genesis)
{
    struct nr_local_server *ls = c->ls;
    struct nr_client_msg m;
    size_t len;

    if (NR_CLIENT_BATCH_MAX - c->olen < NR_CLIENT_MAX_BYTES && flush_replies(c) != NR_OK)
        return;
    if (c->ocap - c->olen < NR_CLIENT_MAX_BYTES) {
        /* Grow with the connection's pipelining (a window-1 AE keeps 256 bytes). */
        size_t cap = c->ocap ? 2u * c->ocap : 256u;
        uint8_t *b;
        while (cap - c->olen < NR_CLIENT_MAX_BYTES)
            cap *= 2u;
        if (cap > NR_CLIENT_BATCH_MAX)
            cap = NR_CLIENT_BATCH_MAX;
        b = realloc(c->obuf, cap);
        if (!b) {
            lconn_close(c, "out of memory");
            return;
        }
        c->obuf = b;
        c->ocap = cap;
    }
    memset(&m, 0, sizeof m);
    m.type = NR_C_REPLY;
    m.req_id = req_id;
    m.record = record;
    m.status = status;
    m.version = version;
    if (digest)
        memcpy(m.digest, digest, NR_DIGEST_BYTES);
    if (with_genesis && ls->ops.genesis_id(ls->ops.ctx, m.genesis) == NR_OK) {
        m.has_genesis = 1;
        if (ls->ops.lineage)
            m.npred = (uint8_t)ls->ops.lineage(ls->ops.ctx, m.pred, NR_CLIENT_MAX_LINEAGE);
    }
    len = nr_client_msg_encode(c->obuf + c->olen, c->ocap - c->olen, &m);
    if (len == 0) {
        NR_LOGE("client %llu: cannot encode reply", (unsigned long long)c->id);
        return;
    }
    c->olen += len;
    ls->stats.client_replies++;
    mark_dirty(ls, c);
    if (!c->dirty) /* not on the push list (out of memory): seal now, libevent writes it */
        (void)flush_replies(c);
}

static void send_reply(struct nr_lconn *c, uint64_t req_id, uint32_t record, int status,
                       uint64_t version, const uint8_t digest[NR_DIGEST_BYTES])
{
    send_reply_g(c, req_id, record, status, version, digest, 0);
}

void nr_local_server_push(struct nr_local_server *ls)
{
    for (size_t i = 0; i < ls->n_dirty; i++) {
        struct nr_lconn *c = ls->dirty[i];
        c->dirty = 0;
        if (c->closing || flush_replies(c) != NR_OK)
            continue;
        nr_bev_push_ready(c->bev);
        /* A client whose reading was paused (backpressure) and whose replies the kernel has
         * now taken is read again (write_cb does this when libevent did the writing). */
        if (!(bufferevent_get_enabled(c->bev) & EV_READ) &&
            evbuffer_get_length(bufferevent_get_output(c->bev)) < NR_LOCAL_OUTBUF_LIMIT / 2u) {
            bufferevent_enable(c->bev, EV_READ);
            /* Frames may already wait in the input buffer: run read_cb from the loop (not
             * here: this is after the iteration's flush and push). */
            if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
                bufferevent_trigger(c->bev, EV_READ, BEV_TRIG_DEFER_CALLBACKS);
        }
    }
    ls->n_dirty = 0;
}

void nr_local_server_reply(struct nr_local_server *ls, uint64_t client, uint64_t req_id, int status,
                           uint64_t version, const uint8_t digest[NR_DIGEST_BYTES])
{
    struct nr_lconn *c = client_find(ls, client);

    if (!c || c->closing || !c->ready) {
        ls->stats.client_replies_dropped++;
        return;
    }
    send_reply(c, req_id, 0, status, version, digest);
}

static void status_reply(struct nr_lconn *c, uint64_t req_id)
{
    struct nr_local_server *ls = c->ls;
    struct nr_local_status st;
    uint8_t dg[NR_DIGEST_BYTES], *p = dg;

    memset(&st, 0, sizeof st);
    ls->ops.status(ls->ops.ctx, &st);
    p = nr_put_u64(p, st.incarnation);
    p = nr_put_u64(p, st.writes_committed);
    p = nr_put_u64(p, st.reads_served);
    (void)nr_put_u64(p, st.records);
    send_reply_g(c, req_id, 0, NR_OK, st.state, dg, 1);
}

/* The key of record handle h of this connection, NULL if there is none. */
static const uint8_t *record_key(const struct nr_lconn *c, uint32_t h)
{
    return h >= 1 && h <= c->cap_keys && c->bound[h - 1] ? c->keys[h - 1] : NULL;
}

/* Room for handle h (1..NR_CLIENT_MAX_RECORDS): grow the tables by doubling. */
static int keys_reserve(struct nr_lconn *c, uint32_t h)
{
    uint32_t cap = c->cap_keys ? c->cap_keys : 4u;
    uint8_t(*k)[NR_KEY_BYTES];
    uint8_t *b;

    if (h <= c->cap_keys)
        return NR_OK;
    while (cap < h)
        cap *= 2u;
    k = realloc(c->keys, (size_t)cap * sizeof *k);
    if (!k)
        return NR_ENOMEM;
    c->keys = k;
    b = realloc(c->bound, cap);
    if (!b)
        return NR_ENOMEM;
    memset(b + c->cap_keys, 0, cap - c->cap_keys);
    c->bound = b;
    c->cap_keys = cap;
    return NR_OK;
}

static void handle_open(struct nr_lconn *c, const struct nr_client_msg *m)
{
    crypto_generichash_state st;
    uint32_t h = m->record;

    if (m->name_len == 0 || m->name_len > NR_MAX_NAME || h == 0 || h > NR_CLIENT_MAX_RECORDS ||
        record_key(c, h)) {
        send_reply(c, m->req_id, 0, NR_EINVAL, 0, NULL);
        return;
    }
    if (keys_reserve(c, h) != NR_OK) {
        send_reply(c, m->req_id, 0, NR_ENOMEM, 0, NULL);
        return;
    }
    crypto_generichash_init(&st, NULL, 0, NR_KEY_BYTES);
    crypto_generichash_update(&st, c->measurement, NR_MEASUREMENT_BYTES);
    crypto_generichash_update(&st, m->name, m->name_len);
    crypto_generichash_final(&st, c->keys[h - 1], NR_KEY_BYTES);
    c->bound[h - 1] = 1;
    c->n_keys++;
    send_reply_g(c, m->req_id, h, NR_OK, 0, NULL, 1);
}

static void handle_msg(struct nr_lconn *c, const struct nr_client_msg *m, uint64_t now)
{
    struct nr_local_server *ls = c->ls;
    const uint8_t *key;

    switch (m->type) {
    case NR_C_OPEN:
        ls->stats.client_opens++;
        handle_open(c, m);
        break;
    case NR_C_UPDATE:
        ls->stats.client_writes++;
        key = record_key(c, m->record);
        if (!key) {
            send_reply(c, m->req_id, 0, NR_EINVAL, 0, NULL);
            break;
        }
        ls->ops.client_update(ls->ops.ctx, c->id, m->req_id, key, m->version, m->digest, now);
        break;
    case NR_C_READ:
        ls->stats.client_reads++;
        key = record_key(c, m->record);
        if (!key) {
            send_reply(c, m->req_id, 0, NR_EINVAL, 0, NULL);
            break;
        }
        ls->ops.client_read(ls->ops.ctx, c->id, m->req_id, key, now);
        break;
    case NR_C_STATUS:
        ls->stats.client_status++;
        status_reply(c, m->req_id);
        break;
    default:
        ls->stats.malformed++;
        nr_log_limited(&ls->rl_local, now, NR_LOG_WARN,
                       "client %llu: unexpected message type %u: connection dropped",
                       (unsigned long long)c->id, m->type);
        lconn_close(c, "unexpected message type");
        break;
    }
}

static void handle_frame(struct nr_lconn *c, const uint8_t *frame, size_t len)
{
    struct nr_local_server *ls = c->ls;
    uint8_t pt[NR_CLIENT_BATCH_MAX];
    size_t pt_len = 0;
    struct nr_cur cur;
    struct nr_client_msg m;
    uint64_t now = nr_now_ms();
    int rc;

    rc = nr_chan_open(c->ch, frame, len, pt, sizeof pt, &pt_len);
    if (rc != NR_OK) {
        ls->stats.frames_unauth++;
        nr_log_limited(&ls->rl_local, now, NR_LOG_WARN,
                       "client %llu: frame rejected (%s): connection dropped",
                       (unsigned long long)c->id, nr_errname(rc));
        lconn_close(c, "bad frame");
        return;
    }
    nr_cur_init(&cur, pt, pt_len);
    if (pt_len == 0)
        cur.err = NR_ETRUNCATED; /* an empty frame carries no message: malformed */
    do {
        rc = nr_client_msg_next(&m, &cur);
        if (rc != NR_OK) {
            ls->stats.malformed++;
            nr_log_limited(&ls->rl_local, now, NR_LOG_WARN,
                           "client %llu: malformed message (%s): connection dropped",
                           (unsigned long long)c->id, nr_errname(rc));
            lconn_close(c, "malformed message");
            return;
        }
        handle_msg(c, &m, now);
    } while (cur.left > 0 && !c->closing);
}

static void handle_hs(struct nr_lconn *c, const uint8_t *msg, size_t len)
{
    struct nr_local_server *ls = c->ls;
    uint8_t out[NR_CHAN_HS_MAX_BYTES];
    size_t out_len = 0;
    int rc;

    rc = nr_chan_hs_recv(c->ch, msg, len, out, sizeof out, &out_len);
    if (rc == NR_OK && out_len > 0)
        rc = nr_frame_write(bufferevent_get_output(c->bev), out, out_len);
    if (rc != NR_OK) {
        ls->stats.handshake_failures++;
        nr_log_limited(&ls->rl_local, nr_now_ms(), NR_LOG_WARN,
                       "local handshake failed (client %llu): %s", (unsigned long long)c->id,
                       nr_strerror(rc));
        /* Tell the AE why (best effort, nothing else is queued on a refused handshake). */
        uint8_t refusal[NR_FRAME_HDR_BYTES + NR_LOCAL_REFUSAL_BYTES];
        evutil_socket_t fd = bufferevent_getfd(c->bev);
        nr_put_u32(refusal, NR_LOCAL_REFUSAL_BYTES);
        nr_local_refusal_encode(refusal + NR_FRAME_HDR_BYTES, rc);
        if (fd >= 0 && evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
            (void)send(fd, refusal, sizeof refusal, MSG_NOSIGNAL | MSG_DONTWAIT);
        lconn_close(c, "handshake failed");
        return;
    }
    if (nr_chan_ready(c->ch)) {
        char hex[2 * 8 + 1];
        c->ready = 1;
        ls->pending--;
        nr_chan_peer_measurement(c->ch, c->measurement);
        bufferevent_set_timeouts(c->bev, NULL, NULL);
        mark_dirty(ls, c); /* pushes the last handshake message; then writes go by push */
        sodium_bin2hex(hex, sizeof hex, c->measurement, 8);
        NR_LOGD("client %llu: local channel ready, AE measurement %s...", (unsigned long long)c->id,
                hex);
    }
}

static void read_cb(struct bufferevent *bev, void *arg)
{
    struct nr_lconn *c = arg;
    struct nr_local_server *ls = c->ls;
    struct evbuffer *in = bufferevent_get_input(bev);

    while (!c->closing) {
        uint8_t *frame;
        size_t len;
        int rc = nr_frame_peek(in, NR_LOCAL_FRAME_MAX, &frame, &len);
        if (rc == 0)
            break;
        if (rc < 0) {
            ls->stats.frames_oversize++;
            nr_log_limited(&ls->rl_local, nr_now_ms(), NR_LOG_WARN,
                           "client %llu: frame too large: connection dropped",
                           (unsigned long long)c->id);
            lconn_close(c, "oversize frame");
            break;
        }
        if (c->ready)
            handle_frame(c, frame, len);
        else
            handle_hs(c, frame, len);
        if (!c->closing)
            nr_frame_consume(in, len);
        /* Backpressure: a client that does not read its replies stops being read. */
        if (!c->closing &&
            evbuffer_get_length(bufferevent_get_output(bev)) > NR_LOCAL_OUTBUF_LIMIT) {
            bufferevent_disable(bev, EV_READ);
            break;
        }
    }
}

static void write_cb(struct bufferevent *bev, void *arg)
{
    struct nr_lconn *c = arg;
    if (!c->closing && !(bufferevent_get_enabled(bev) & EV_READ)) {
        bufferevent_enable(bev, EV_READ);
        read_cb(bev, c); /* frames may be waiting */
    }
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct nr_lconn *c = arg;
    (void)bev;
    if (what & BEV_EVENT_TIMEOUT)
        lconn_close(c, "handshake timeout");
    else if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
        lconn_close(c, (what & BEV_EVENT_EOF) ? "closed" : "error");
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
                      void *arg)
{
    struct nr_local_server *ls = arg;
    struct nr_chan_config cc;
    struct nr_lconn *c;
    struct timeval tv = {NR_HANDSHAKE_TIMEOUT_MS / 1000u, 0};
    (void)l;
    (void)sa;
    (void)salen;

    if (ls->pending >= NR_MAX_PENDING_HANDSHAKES) {
        ls->stats.refused_pending++;
        nr_log_limited(&ls->rl_local, nr_now_ms(), NR_LOG_WARN,
                       "local socket: %u handshakes pending, connection refused", ls->pending);
        evutil_closesocket(fd);
        return;
    }
    c = calloc(1, sizeof *c);
    if (!c) {
        evutil_closesocket(fd);
        return;
    }
    memset(&cc, 0, sizeof cc);
    cc.kind = NR_CHAN_LOCAL;
    cc.role = NR_CHAN_RESPONDER;
    memcpy(cc.system_id, ls->cfg.system_id, sizeof cc.system_id);
    cc.tee = ls->cfg.tee;
    cc.self = ls->cfg.self;
    cc.tee_backend = ls->cfg.tee_backend;
    cc.policy = ls->cfg.ae_policy;
    memcpy(cc.se_measurement, ls->cfg.measurement, sizeof cc.se_measurement);
    if (nr_chan_create(&c->ch, &cc) != NR_OK) {
        free(c);
        evutil_closesocket(fd);
        return;
    }
    c->bev = bufferevent_socket_new(ls->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!c->bev) {
        nr_chan_destroy(c->ch);
        free(c);
        evutil_closesocket(fd);
        return;
    }
    c->ls = ls;
    ls->pending++;
    c->id = ++ls->next_client_id;
    c->next = ls->conns;
    ls->conns = c;
    c->hnext = ls->clients[bucket(c->id)];
    ls->clients[bucket(c->id)] = c;
    ls->stats.connects++;
    bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
    bufferevent_setwatermark(c->bev, EV_WRITE, NR_LOCAL_OUTBUF_LIMIT / 2u, 0);
    /* Read everything a pipelining client has sent in one wakeup (libevent's default is
     * 16 KiB per read). */
    (void)bufferevent_set_max_single_read(c->bev, 256u * 1024u);
    bufferevent_set_timeouts(c->bev, &tv, NULL);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

int nr_local_server_new(struct nr_local_server **out, const struct nr_local_server_config *cfg,
                        const struct nr_local_server_ops *ops)
{
    struct nr_local_server *ls = calloc(1, sizeof *ls);

    *out = NULL;
    if (!ls)
        return NR_ENOMEM;
    ls->cfg = *cfg;
    ls->ops = *ops;
    *out = ls;
    return NR_OK;
}

int nr_local_server_start(struct nr_local_server *ls, struct event_base *base)
{
    struct sockaddr_un sun;
    struct stat sb;
    evutil_socket_t fd;
    mode_t old;
    size_t plen = strlen(ls->cfg.socket_path);

    ls->base = base;

    if (plen >= sizeof sun.sun_path)
        return NR_ECONFIG;
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    memcpy(sun.sun_path, ls->cfg.socket_path, plen + 1);
    /* A stale socket from an earlier run is replaced; any other file is left alone. */
    if (lstat(ls->cfg.socket_path, &sb) == 0) {
        if (!S_ISSOCK(sb.st_mode)) {
            NR_LOGE("socket path %s exists and is not a socket", ls->cfg.socket_path);
            return NR_EEXIST;
        }
        (void)unlink(ls->cfg.socket_path);
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return NR_EIO;
    old = umask(0177);
    if (bind(fd, (struct sockaddr *)&sun, sizeof sun) != 0) {
        umask(old);
        NR_LOGE("cannot bind %s: %s", ls->cfg.socket_path, strerror(errno));
        close(fd);
        return NR_EIO;
    }
    umask(old);
    ls->socket_bound = 1;
    if (stat(ls->cfg.socket_path, &sb) == 0) {
        ls->socket_dev = sb.st_dev;
        ls->socket_ino = sb.st_ino;
    }
    if (chmod(ls->cfg.socket_path, 0600) != 0 || evutil_make_socket_nonblocking(fd) != 0) {
        close(fd);
        return NR_EIO;
    }
    ls->listener = evconnlistener_new(ls->base, accept_cb, ls, LEV_OPT_CLOSE_ON_FREE, 128, fd);
    if (!ls->listener) {
        close(fd);
        return NR_EIO;
    }
    NR_LOGI("serving local AEs on %s", ls->cfg.socket_path);
    return NR_OK;
}

void nr_local_server_free(struct nr_local_server *ls)
{
    if (!ls)
        return;
    if (ls->listener) {
        evconnlistener_free(ls->listener);
        ls->listener = NULL;
    }
    if (ls->socket_bound) {
        /* Only remove the socket we bound: a newer instance (e.g. the one that superseded
         * us) may have replaced it at the same path. */
        struct stat sb;
        if (lstat(ls->cfg.socket_path, &sb) == 0 && sb.st_dev == ls->socket_dev &&
            sb.st_ino == ls->socket_ino)
            (void)unlink(ls->cfg.socket_path);
        ls->socket_bound = 0;
    }
    /* Best effort: hand queued replies (e.g. NR_ESUPERSEDED after a halt) to the kernel. */
    for (struct nr_lconn *c = ls->conns, *next; c; c = next) {
        next = c->next; /* a failed flush closes c (moves it to the graveyard) */
        if (flush_replies(c) != NR_OK)
            continue;
        /* (the bufferevent's output start is frozen: copy out instead of evbuffer_write) */
        struct evbuffer *out = bufferevent_get_output(c->bev);
        evutil_socket_t fd = bufferevent_getfd(c->bev);
        size_t len = evbuffer_get_length(out), off = 0;
        const uint8_t *p = len ? evbuffer_pullup(out, -1) : NULL;
        while (fd >= 0 && p && off < len) {
            ssize_t k = send(fd, p + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (k <= 0)
                break;
            off += (size_t)k;
        }
    }
    while (ls->conns)
        lconn_close(ls->conns, "shutdown");
    nr_local_server_reap(ls);
    free(ls->dirty);
    free(ls);
}

unsigned nr_local_server_clients(const struct nr_local_server *ls)
{
    unsigned k = 0;
    for (const struct nr_lconn *c = ls->conns; c; c = c->next)
        k++;
    return k;
}

const struct nr_local_stats *nr_local_server_stats(const struct nr_local_server *ls)
{
    return &ls->stats;
}
