/* Peer transport: one TCP connection per pair of SEs, u32-LE length-prefixed frames, the
 * NR_CHAN_PEER handshake, then channel records each carrying one core message.
 *
 * Direction: the member with the lower index dials, the higher one accepts. An accepted
 * connection whose authenticated member has a higher index than ours is refused (it should
 * have been accepted by that member); so two correct instances keep exactly one connection
 * per pair, with no race between two simultaneous dials. Dialled connections are retried
 * with exponential backoff; every new connection is a new channel (new keys and counters).
 *
 * Several instances of one member (a restarted peer whose old connection has not been
 * noticed dead yet, or clones started by the host) may be connected at once: the transport
 * does not choose between them (it cannot tell incarnations apart; the core can). Up to
 * NR_PEER_MAX_CONNS connections per member are kept, messages from each go to the core under
 * the member index, and every message to the member is sent on each of them. The core drops
 * what is not meant for its incarnation (dest_inc) and a superseded instance learns so from
 * the views it receives, and halts. Replacing the older connection instead would make two
 * instances steal the member's slot from each other forever. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <sodium.h>

#include "host/daemon.h"

/* ---- framing ---- */

int nr_frame_peek(struct evbuffer *in, size_t cap, uint8_t **frame, size_t *len)
{
    uint8_t hdr[NR_FRAME_HDR_BYTES];
    size_t have = evbuffer_get_length(in);
    uint32_t flen;

    if (have < NR_FRAME_HDR_BYTES)
        return 0;
    if (evbuffer_copyout(in, hdr, sizeof hdr) != (ev_ssize_t)sizeof hdr)
        return 0;
    flen =
        (uint32_t)hdr[0] | (uint32_t)hdr[1] << 8 | (uint32_t)hdr[2] << 16 | (uint32_t)hdr[3] << 24;
    if (flen > cap)
        return NR_ETOOBIG;
    if (have < NR_FRAME_HDR_BYTES + (size_t)flen)
        return 0;
    uint8_t *p = evbuffer_pullup(in, (ev_ssize_t)(NR_FRAME_HDR_BYTES + flen));
    if (!p)
        return NR_ENOMEM;
    *frame = p + NR_FRAME_HDR_BYTES;
    *len = flen;
    return 1;
}

void nr_frame_consume(struct evbuffer *in, size_t len)
{
    evbuffer_drain(in, NR_FRAME_HDR_BYTES + len);
}

int nr_frame_write(struct evbuffer *out, const uint8_t *data, size_t len)
{
    uint8_t hdr[NR_FRAME_HDR_BYTES];

    if (len > UINT32_MAX)
        return NR_ETOOBIG;
    nr_put_u32(hdr, (uint32_t)len);
    if (evbuffer_add(out, hdr, sizeof hdr) != 0 || evbuffer_add(out, data, len) != 0)
        return NR_ENOMEM;
    return NR_OK;
}

int nr_frame_write_sealed(struct evbuffer *out, struct nr_chan *ch, const uint8_t *pt, size_t len)
{
    struct evbuffer_iovec iov;
    size_t need = NR_FRAME_HDR_BYTES + len + NR_CHAN_RECORD_OVERHEAD, rec_len = 0;
    int rc;

    if (evbuffer_reserve_space(out, (ev_ssize_t)need, &iov, 1) < 1 || iov.iov_len < need)
        return NR_ENOMEM;
    uint8_t *p = iov.iov_base;
    rc = nr_chan_seal(ch, pt, len, p + NR_FRAME_HDR_BYTES, need - NR_FRAME_HDR_BYTES, &rec_len);
    if (rc != NR_OK) {
        iov.iov_len = 0;
        evbuffer_commit_space(out, &iov, 1);
        return rc;
    }
    nr_put_u32(p, (uint32_t)rec_len);
    iov.iov_len = NR_FRAME_HDR_BYTES + rec_len;
    if (evbuffer_commit_space(out, &iov, 1) != 0)
        return NR_ENOMEM;
    return NR_OK;
}

void nr_bev_push(struct bufferevent *bev)
{
    struct evbuffer *out = bufferevent_get_output(bev);
    evutil_socket_t fd = bufferevent_getfd(bev);

    if (fd < 0 || evbuffer_get_length(out) == 0)
        return;
    /* A socket bufferevent keeps the front of its output frozen except inside its own write
     * callback; thaw it for this write. Errors are left for the bufferevent to report. */
    evbuffer_unfreeze(out, 1);
    (void)evbuffer_write(out, fd);
    evbuffer_freeze(out, 1);
}

/* After the handshake, writes go through the dirty list and nr_bev_push(); libevent's write
 * event is enabled only while data is left that the kernel did not take. This saves two
 * epoll_ctl calls per message and connection. */
void nr_bev_push_ready(struct bufferevent *bev)
{
    nr_bev_push(bev);
    if (evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
        if (bufferevent_get_enabled(bev) & EV_WRITE)
            bufferevent_disable(bev, EV_WRITE);
    } else if (!(bufferevent_get_enabled(bev) & EV_WRITE)) {
        bufferevent_enable(bev, EV_WRITE);
    }
}

static void mark_dirty(struct nr_daemon *d, struct nr_pconn *c)
{
    if (c->dirty)
        return;
    if (d->n_dirty_p == d->cap_dirty_p) {
        size_t cap = d->cap_dirty_p ? 2u * d->cap_dirty_p : 16u;
        struct nr_pconn **a = realloc(d->dirty_p, cap * sizeof *a);
        if (!a) {
            bufferevent_enable(c->bev, EV_WRITE); /* let libevent send it */
            return;
        }
        d->dirty_p = a;
        d->cap_dirty_p = cap;
    }
    c->dirty = 1;
    d->dirty_p[d->n_dirty_p++] = c;
}

/* ---- connections ---- */

static void schedule_dial(struct nr_daemon *d, struct nr_peer *p);

static void pconn_close(struct nr_pconn *c, const char *why)
{
    struct nr_daemon *d = c->d;
    struct nr_pconn **pp;

    if (c->closing)
        return;
    c->closing = 1;
    if (!c->ready && c->expected < 0)
        d->pending_p--;
    if (c->bev)
        bufferevent_disable(c->bev, EV_READ | EV_WRITE);
    for (pp = &d->pconns; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    c->next = d->graveyard_p;
    d->graveyard_p = c;

    if (c->ready && c->member >= 0) {
        struct nr_peer *p = &d->peers[c->member];
        for (unsigned i = 0; i < p->n_conns; i++) {
            if (p->conns[i] != c)
                continue;
            memmove(&p->conns[i], &p->conns[i + 1], (p->n_conns - i - 1u) * sizeof p->conns[0]);
            p->n_conns--;
            p->disconnects++;
            d->stats.peer_disconnects++;
            NR_LOGW("peer %d (%s) disconnected: %s", c->member, c->addr, why);
            break;
        }
    } else {
        NR_LOGD("peer connection %s closed before the handshake completed: %s", c->addr, why);
    }
    if (c->expected >= 0) {
        struct nr_peer *p = &d->peers[c->expected];
        if (p->dialing == c)
            p->dialing = NULL;
        if (p->n_conns == 0 && !p->dialing && !d->stop)
            schedule_dial(d, p);
    }
}

void nr_peer_push(struct nr_daemon *d)
{
    for (size_t i = 0; i < d->n_dirty_p; i++) {
        struct nr_pconn *c = d->dirty_p[i];
        c->dirty = 0;
        if (!c->closing)
            nr_bev_push_ready(c->bev);
    }
    d->n_dirty_p = 0;
}

void nr_peer_reap(struct nr_daemon *d)
{
    while (d->graveyard_p) {
        struct nr_pconn *c = d->graveyard_p;
        d->graveyard_p = c->next;
        if (c->bev)
            bufferevent_free(c->bev);
        nr_chan_destroy(c->ch);
        free(c);
    }
}

/* No Nagle delay; keepalive so that a peer that vanished without a FIN (power loss, cut
 * link) is noticed in about 11 s instead of never. */
static void set_nodelay(struct bufferevent *bev)
{
    int one = 1, idle = 5, intvl = 2, cnt = 3;
    evutil_socket_t fd = bufferevent_getfd(bev);
    if (fd < 0)
        return;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    (void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
    (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
}

static int lookup_member(void *arg, const uint8_t identity_pub[NR_IDENTITY_PUB_BYTES],
                         uint16_t *member, uint8_t platform_id[NR_PLATFORM_ID_BYTES])
{
    struct nr_daemon *d = arg;

    for (uint16_t i = 0; i < d->n; i++)
        if (sodium_memcmp(d->members[i].identity_pub, identity_pub, NR_IDENTITY_PUB_BYTES) == 0) {
            *member = i;
            memcpy(platform_id, d->members[i].platform_id, NR_PLATFORM_ID_BYTES);
            return NR_OK;
        }
    return NR_ENOTMEMBER;
}

static struct nr_pconn *pconn_new(struct nr_daemon *d, struct bufferevent *bev, int role,
                                  int expected, const char *addr)
{
    struct nr_chan_config cc;
    struct nr_pconn *c = calloc(1, sizeof *c);

    if (!c)
        return NULL;
    memset(&cc, 0, sizeof cc);
    cc.kind = NR_CHAN_PEER;
    cc.role = role;
    memcpy(cc.system_id, d->system_id, sizeof cc.system_id);
    cc.tee = d->tee;
    cc.identity_sk = d->identity_sk;
    cc.identity_pub = d->identity_pub;
    cc.self = d->cfg.index;
    cc.tee_backend = d->cfg.tee_backend;
    cc.policy = &d->policy;
    cc.lookup = lookup_member;
    cc.lookup_arg = d;
    if (nr_chan_create(&c->ch, &cc) != NR_OK) {
        free(c);
        return NULL;
    }
    c->d = d;
    c->bev = bev;
    c->member = -1;
    c->expected = expected;
    snprintf(c->addr, sizeof c->addr, "%s", addr);
    c->next = d->pconns;
    d->pconns = c;
    return c;
}

static void on_ready(struct nr_pconn *c)
{
    struct nr_daemon *d = c->d;
    uint16_t m = nr_chan_peer_member(c->ch);
    struct nr_peer *p;

    if (m >= d->n || m == d->cfg.index) {
        d->stats.peer_handshake_failures++;
        pconn_close(c, "handshake gave an impossible member");
        return;
    }
    if (c->expected >= 0 && m != (uint16_t)c->expected) {
        d->stats.peer_handshake_failures++;
        nr_log_limited(&d->rl_peer, nr_now_ms(), NR_LOG_WARN,
                       "peer at %s authenticated as member %u, expected %d: dropped", c->addr, m,
                       c->expected);
        pconn_close(c, "unexpected member");
        return;
    }
    if (c->expected < 0 && m > d->cfg.index) {
        d->stats.peer_wrong_direction++;
        nr_log_limited(&d->rl_peer, nr_now_ms(), NR_LOG_WARN,
                       "member %u connected to us, but the lower index dials: dropped", m);
        pconn_close(c, "wrong direction");
        return;
    }
    p = &d->peers[m];
    if (p->n_conns == NR_PEER_MAX_CONNS)
        pconn_close(p->conns[0], "too many connections for this member: oldest closed");
    if (p->dialing == c)
        p->dialing = NULL;
    c->member = m;
    c->ready = 1;
    if (c->expected < 0)
        d->pending_p--;
    p->conns[p->n_conns++] = c;
    if (p->n_conns > 1)
        NR_LOGW("member %u now has %u connections (a restarted or cloned instance?)", m,
                p->n_conns);
    p->backoff_ms = NR_RECONNECT_MIN_MS;
    p->connects++;
    d->stats.peer_connects++;
    bufferevent_set_timeouts(c->bev, NULL, NULL);
    mark_dirty(d, c); /* from now on output is pushed at the end of each iteration */
    NR_LOGI("peer %u (%s) connected, channel authenticated", m, c->addr);
    if (d->se)
        nr_se_peer_connected(d->se, m, nr_now_ms());
}

static void handle_record(struct nr_pconn *c, const uint8_t *rec, size_t len)
{
    struct nr_daemon *d = c->d;
    size_t pt_len = 0;
    int rc;

    rc = nr_chan_open(c->ch, rec, len, d->rx, NR_PEER_MSG_MAX, &pt_len);
    if (rc != NR_OK) {
        d->stats.peer_records_unauth++;
        nr_log_limited(&d->rl_peer, nr_now_ms(), NR_LOG_WARN,
                       "peer %d: record rejected (%s): connection dropped", c->member,
                       nr_errname(rc));
        pconn_close(c, nr_strerror(rc));
        return;
    }
    struct nr_peer *p = &d->peers[c->member];
    p->msgs_in++;
    p->bytes_in += len;
    d->stats.peer_msgs_in++;
    d->stats.peer_bytes_in += len;
    rc = nr_se_on_peer_msg(d->se, (uint16_t)c->member, d->rx, pt_len, nr_now_ms());
    if (rc != NR_OK) {
        /* Malformed bytes inside an authenticated channel mean a broken or hostile peer:
         * warn. Stale incarnations and out-of-place messages are normal around restarts. */
        int bad =
            rc == NR_EMALFORMED || rc == NR_ETRUNCATED || rc == NR_ETOOBIG || rc == NR_EVERSION;
        d->stats.peer_core_rejects++;
        nr_log_limited(&d->rl_core, nr_now_ms(), bad ? NR_LOG_WARN : NR_LOG_DEBUG,
                       "peer %d: message dropped by the core: %s", c->member, nr_errname(rc));
    }
}

static void handle_hs(struct nr_pconn *c, const uint8_t *msg, size_t len)
{
    struct nr_daemon *d = c->d;
    uint8_t out[NR_CHAN_HS_MAX_BYTES];
    size_t out_len = 0;
    int rc;

    rc = nr_chan_hs_recv(c->ch, msg, len, out, sizeof out, &out_len);
    if (rc == NR_OK && out_len > 0)
        rc = nr_frame_write(bufferevent_get_output(c->bev), out, out_len);
    sodium_memzero(out, sizeof out);
    if (rc != NR_OK) {
        d->stats.peer_handshake_failures++;
        nr_log_limited(&d->rl_peer, nr_now_ms(), NR_LOG_WARN, "peer handshake with %s failed: %s",
                       c->addr, nr_strerror(rc));
        pconn_close(c, "handshake failed");
        return;
    }
    if (nr_chan_ready(c->ch))
        on_ready(c);
}

static void read_cb(struct bufferevent *bev, void *arg)
{
    struct nr_pconn *c = arg;
    struct nr_daemon *d = c->d;
    struct evbuffer *in = bufferevent_get_input(bev);

    while (!c->closing) {
        uint8_t *frame;
        size_t len;
        size_t cap = c->ready ? NR_PEER_FRAME_MAX : NR_CHAN_HS_MAX_BYTES;
        int rc = nr_frame_peek(in, cap, &frame, &len);
        if (rc == 0)
            break;
        if (rc < 0) {
            d->stats.peer_frames_oversize++;
            nr_log_limited(&d->rl_peer, nr_now_ms(), NR_LOG_WARN,
                           "peer connection %s: frame too large: dropped", c->addr);
            pconn_close(c, "oversize frame");
            break;
        }
        if (c->ready)
            handle_record(c, frame, len);
        else
            handle_hs(c, frame, len);
        if (!c->closing)
            nr_frame_consume(in, len);
    }
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct nr_pconn *c = arg;
    struct nr_daemon *d = c->d;

    if (what & BEV_EVENT_CONNECTED) {
        uint8_t out[NR_CHAN_HS_MAX_BYTES];
        size_t out_len = 0;
        int rc;

        set_nodelay(bev);
        rc = nr_chan_hs_start(c->ch, out, sizeof out, &out_len);
        if (rc == NR_OK)
            rc = nr_frame_write(bufferevent_get_output(bev), out, out_len);
        if (rc != NR_OK) {
            d->stats.peer_handshake_failures++;
            NR_LOGE("peer %d: cannot start handshake: %s", c->expected, nr_strerror(rc));
            pconn_close(c, "handshake start failed");
        }
        return;
    }
    if (what & BEV_EVENT_TIMEOUT) {
        pconn_close(c, c->ready ? "timeout" : "handshake timeout");
        return;
    }
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        char why[96];
        if (what & BEV_EVENT_ERROR)
            snprintf(why, sizeof why, "%s", evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
        else
            snprintf(why, sizeof why, "closed by peer");
        pconn_close(c, why);
    }
}

static void set_hs_timeouts(struct bufferevent *bev)
{
    struct timeval tv = {NR_HANDSHAKE_TIMEOUT_MS / 1000u, 0};
    bufferevent_set_timeouts(bev, &tv, &tv);
}

static void dial(struct nr_daemon *d, struct nr_peer *p)
{
    struct bufferevent *bev;
    struct nr_pconn *c;

    if (p->n_conns > 0 || p->dialing || d->stop)
        return;
    bev = bufferevent_socket_new(d->base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        schedule_dial(d, p);
        return;
    }
    c = pconn_new(d, bev, NR_CHAN_INITIATOR, p->index, p->endpoint.text);
    if (!c) {
        bufferevent_free(bev);
        schedule_dial(d, p);
        return;
    }
    p->dialing = c;
    bufferevent_setcb(bev, read_cb, NULL, event_cb, c);
    set_hs_timeouts(bev);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    if (bufferevent_socket_connect(bev, (struct sockaddr *)&p->endpoint.sa, (int)p->endpoint.len) !=
        0)
        pconn_close(c, "connect failed"); /* reschedules */
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
    struct nr_peer *p = arg;
    (void)fd;
    (void)what;
    dial(p->d, p);
}

static void schedule_dial(struct nr_daemon *d, struct nr_peer *p)
{
    struct timeval tv;

    if (!p->dial || !p->retry || d->stop)
        return;
    if (evtimer_pending(p->retry, NULL))
        return;
    tv.tv_sec = p->backoff_ms / 1000u;
    tv.tv_usec = (suseconds_t)((p->backoff_ms % 1000u) * 1000u);
    evtimer_add(p->retry, &tv);
    p->backoff_ms =
        p->backoff_ms * 2u > NR_RECONNECT_MAX_MS ? NR_RECONNECT_MAX_MS : p->backoff_ms * 2u;
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
                      void *arg)
{
    struct nr_daemon *d = arg;
    struct bufferevent *bev;
    struct nr_pconn *c;
    char addr[64] = "?";
    (void)l;

    if (d->pending_p >= NR_MAX_PENDING_HANDSHAKES) {
        d->stats.peer_refused_pending++;
        nr_log_limited(&d->rl_peer, nr_now_ms(), NR_LOG_WARN,
                       "peer listener: %u handshakes pending, connection refused", d->pending_p);
        evutil_closesocket(fd);
        return;
    }
    if (sa->sa_family == AF_INET && (size_t)salen >= sizeof(struct sockaddr_in)) {
        struct sockaddr_in *a = (struct sockaddr_in *)sa;
        char ip[INET_ADDRSTRLEN];
        evutil_inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
        snprintf(addr, sizeof addr, "%s:%u", ip, ntohs(a->sin_port));
    } else if (sa->sa_family == AF_INET6 && (size_t)salen >= sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)sa;
        char ip[INET6_ADDRSTRLEN];
        evutil_inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
        snprintf(addr, sizeof addr, "[%s]:%u", ip, ntohs(a->sin6_port));
    }
    bev = bufferevent_socket_new(d->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        evutil_closesocket(fd);
        return;
    }
    c = pconn_new(d, bev, NR_CHAN_RESPONDER, -1, addr);
    if (!c) {
        bufferevent_free(bev);
        return;
    }
    d->pending_p++;
    set_nodelay(bev);
    bufferevent_setcb(bev, read_cb, NULL, event_cb, c);
    set_hs_timeouts(bev);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    NR_LOGD("peer connection accepted from %s", addr);
}

static void listener_error_cb(struct evconnlistener *l, void *arg)
{
    struct nr_daemon *d = arg;
    (void)l;
    nr_log_limited(&d->rl_peer, nr_now_ms(), NR_LOG_ERROR, "peer listener: accept failed: %s",
                   evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

int nr_peer_start(struct nr_daemon *d)
{
    d->peer_listener = evconnlistener_new_bind(
        d->base, accept_cb, d, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
        64, (struct sockaddr *)&d->cfg.listen.sa, (int)d->cfg.listen.len);
    if (!d->peer_listener) {
        NR_LOGE("cannot listen on %s: %s", d->cfg.listen.text, strerror(errno));
        return NR_EIO;
    }
    evconnlistener_set_error_cb(d->peer_listener, listener_error_cb);
    NR_LOGI("listening for peers on %s", d->cfg.listen.text);
    for (uint16_t i = 0; i < d->n; i++) {
        struct nr_peer *p = &d->peers[i];
        if (!p->configured)
            continue;
        p->backoff_ms = NR_RECONNECT_MIN_MS;
        if (p->dial) {
            p->retry = evtimer_new(d->base, retry_cb, p);
            if (!p->retry)
                return NR_ENOMEM;
            dial(d, p);
        }
    }
    return NR_OK;
}

void nr_peer_stop(struct nr_daemon *d)
{
    if (d->peer_listener) {
        evconnlistener_free(d->peer_listener);
        d->peer_listener = NULL;
    }
    for (uint16_t i = 0; i < NR_MAX_MEMBERS; i++) {
        if (d->peers[i].retry) {
            event_free(d->peers[i].retry);
            d->peers[i].retry = NULL;
        }
    }
    while (d->pconns)
        pconn_close(d->pconns, "shutdown");
    nr_peer_reap(d);
}

void nr_peer_send(struct nr_daemon *d, uint16_t to, const uint8_t *msg, size_t len)
{
    struct nr_peer *p;
    int sent = 0;

    if (to >= d->n || to == d->cfg.index)
        return;
    p = &d->peers[to];
    /* Iterate over a copy: a failed send closes (and unlinks) that connection. */
    struct nr_pconn *conns[NR_PEER_MAX_CONNS];
    unsigned n = p->n_conns;
    memcpy(conns, p->conns, n * sizeof conns[0]);
    for (unsigned i = 0; i < n; i++) {
        struct nr_pconn *c = conns[i];
        struct evbuffer *out;
        int rc;

        if (c->closing)
            continue;
        out = bufferevent_get_output(c->bev);
        if (evbuffer_get_length(out) > d->peer_outbuf_limit) {
            d->stats.peer_sends_dropped_backpressure++;
            continue;
        }
        rc = nr_frame_write_sealed(out, c->ch, msg, len);
        if (rc != NR_OK) {
            NR_LOGE("peer %u: cannot send: %s", to, nr_strerror(rc));
            pconn_close(c, "send failed");
            continue;
        }
        sent = 1;
        mark_dirty(d, c);
    }
    if (!sent) {
        d->stats.peer_sends_dropped_noconn++;
        return;
    }
    p->msgs_out++;
    p->bytes_out += len;
    d->stats.peer_msgs_out++;
    d->stats.peer_bytes_out += len;
}

unsigned nr_peer_connected_count(const struct nr_daemon *d)
{
    unsigned k = 0;
    for (uint16_t i = 0; i < d->n; i++)
        if (d->peers[i].n_conns > 0)
            k++;
    return k;
}
