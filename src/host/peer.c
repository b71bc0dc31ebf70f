/* Peer transport: one TCP connection per pair of SEs, u32-LE length-prefixed frames, the
 * NR_CHAN_PEER handshake, then channel frames each carrying one core message.
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
#include "host/peer.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <sodium.h>

#include "host/frame.h"
#include "host/log.h"

#define NR_PEER_OUTBUF_BASE (64u * 1024u * 1024u) /* + one full join snapshot, see below */
#define NR_PEER_MAX_CONNS 4u                      /* per member; a newer one closes the oldest */
#define NR_RECONNECT_MIN_MS 25u
#define NR_RECONNECT_MAX_MS 500u /* a restarted peer is found within 0.5 s */

/* A TCP connection to or from a peer SE. */
struct nr_pconn {
    struct nr_peer_net *pn;
    struct bufferevent *bev;
    struct nr_chan *ch;
    int member;   /* authenticated member index, -1 until the handshake completes */
    int expected; /* dialled connections: the member we dialled; -1 for accepted ones */
    int ready;
    int closing;
    int dirty; /* in pn->dirty: output to push at the end of this iteration */
    char addr[64];
    struct nr_pconn *next; /* pn->conns or pn->graveyard */
};

struct nr_peer {
    struct nr_peer_net *pn;
    int configured;
    uint16_t index;
    struct nr_host_addr endpoint;
    int dial; /* we connect to it (our index is lower) */
    /* Authenticated connections of this member, oldest first. Usually one; more while
     * several instances of the member (a restart not yet noticed, or clones) are connected:
     * messages from all of them go to the core, which filters by incarnation, and sends go
     * to all of them, so that every instance hears the current views (a superseded clone
     * learns it and halts). */
    struct nr_pconn *conns[NR_PEER_MAX_CONNS];
    unsigned n_conns;
    struct nr_pconn *dialing;
    struct event *retry;
    uint32_t backoff_ms;
    uint64_t connects, disconnects, msgs_in, msgs_out, bytes_in, bytes_out;
};

struct nr_peer_net {
    struct nr_peer_net_config cfg;
    struct nr_peer_net_ops ops;
    struct event_base *base;
    uint16_t n, self;
    struct nr_member_info members[NR_MAX_MEMBERS];
    struct nr_peer peers[NR_MAX_MEMBERS];
    struct evconnlistener *listener;
    struct nr_pconn *conns, *graveyard;
    unsigned pending; /* accepted connections still in their handshake */
    int stopping;     /* shutting down: no more dialling */
    uint8_t *rx;      /* scratch: one opened frame (plaintext) */
    /* Sends to a peer whose output buffer holds more than this are dropped (the core
     * resends). NR_PEER_OUTBUF_BASE plus one whole join snapshot (all records, sent in one
     * go as one atomic snapshot: dropping part of it would make a large join impossible). */
    size_t outbuf_limit;
    /* Connections written to during this iteration: their output is pushed to the kernel at
     * the end of the iteration (one write per connection per iteration), instead of waiting
     * for the next poll round. */
    struct nr_pconn **dirty;
    size_t n_dirty, cap_dirty;
    struct nr_peer_stats stats;
    struct nr_ratelimit rl_peer, rl_core;
};

static void mark_dirty(struct nr_peer_net *pn, struct nr_pconn *c)
{
    if (c->dirty)
        return;
    if (pn->n_dirty == pn->cap_dirty) {
        size_t cap = pn->cap_dirty ? 2u * pn->cap_dirty : 16u;
        struct nr_pconn **a = realloc(pn->dirty, cap * sizeof *a);
        if (!a) {
            bufferevent_enable(c->bev, EV_WRITE); /* let libevent send it */
            return;
        }
        pn->dirty = a;
        pn->cap_dirty = cap;
    }
    c->dirty = 1;
    pn->dirty[pn->n_dirty++] = c;
}

/* ---- connections ---- */

static void schedule_dial(struct nr_peer_net *pn, struct nr_peer *p);

static void pconn_close(struct nr_pconn *c, const char *why)
{
    struct nr_peer_net *pn = c->pn;
    struct nr_pconn **pp;

    if (c->closing)
        return;
    c->closing = 1;
    if (!c->ready && c->expected < 0)
        pn->pending--;
    if (c->bev)
        bufferevent_disable(c->bev, EV_READ | EV_WRITE);
    for (pp = &pn->conns; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    c->next = pn->graveyard;
    pn->graveyard = c;

    if (c->ready && c->member >= 0) {
        struct nr_peer *p = &pn->peers[c->member];
        for (unsigned i = 0; i < p->n_conns; i++) {
            if (p->conns[i] != c)
                continue;
            memmove(&p->conns[i], &p->conns[i + 1], (p->n_conns - i - 1u) * sizeof p->conns[0]);
            p->n_conns--;
            p->disconnects++;
            pn->stats.disconnects++;
            NR_LOGW("peer %d (%s) disconnected: %s", c->member, c->addr, why);
            break;
        }
    } else {
        NR_LOGD("peer connection %s closed before the handshake completed: %s", c->addr, why);
    }
    if (c->expected >= 0) {
        struct nr_peer *p = &pn->peers[c->expected];
        if (p->dialing == c)
            p->dialing = NULL;
        if (p->n_conns == 0 && !p->dialing && !pn->stopping)
            schedule_dial(pn, p);
    }
}

void nr_peer_net_push(struct nr_peer_net *pn)
{
    for (size_t i = 0; i < pn->n_dirty; i++) {
        struct nr_pconn *c = pn->dirty[i];
        c->dirty = 0;
        if (!c->closing)
            nr_bev_push_ready(c->bev);
    }
    pn->n_dirty = 0;
}

void nr_peer_net_reap(struct nr_peer_net *pn)
{
    while (pn->graveyard) {
        struct nr_pconn *c = pn->graveyard;
        pn->graveyard = c->next;
        if (c->bev)
            bufferevent_free(c->bev);
        nr_chan_destroy(c->ch);
        free(c);
    }
}

/* No Nagle delay; keepalive so that a peer that vanished without a FIN (power loss, cut
 * link) is noticed in about 11 s instead of never. */
static void set_nodelay_keepalive(struct bufferevent *bev)
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
    struct nr_peer_net *pn = arg;

    for (uint16_t i = 0; i < pn->n; i++)
        if (sodium_memcmp(pn->members[i].identity_pub, identity_pub, NR_IDENTITY_PUB_BYTES) == 0) {
            *member = i;
            memcpy(platform_id, pn->members[i].platform_id, NR_PLATFORM_ID_BYTES);
            return NR_OK;
        }
    return NR_ENOTMEMBER;
}

static struct nr_pconn *pconn_new(struct nr_peer_net *pn, struct bufferevent *bev, int role,
                                  int expected, const char *addr)
{
    struct nr_chan_config cc;
    struct nr_pconn *c = calloc(1, sizeof *c);

    if (!c)
        return NULL;
    memset(&cc, 0, sizeof cc);
    cc.kind = NR_CHAN_PEER;
    cc.role = role;
    memcpy(cc.system_id, pn->cfg.system_id, sizeof cc.system_id);
    cc.tee = pn->cfg.tee;
    cc.identity_sk = pn->cfg.identity_sk;
    cc.identity_pub = pn->cfg.identity_pub;
    cc.self = pn->self;
    cc.tee_backend = pn->cfg.cfg->tee_backend;
    cc.policy = pn->cfg.policy;
    cc.lookup = lookup_member;
    cc.lookup_arg = pn;
    if (nr_chan_create(&c->ch, &cc) != NR_OK) {
        free(c);
        return NULL;
    }
    c->pn = pn;
    c->bev = bev;
    c->member = -1;
    c->expected = expected;
    snprintf(c->addr, sizeof c->addr, "%s", addr);
    c->next = pn->conns;
    pn->conns = c;
    return c;
}

static void on_ready(struct nr_pconn *c)
{
    struct nr_peer_net *pn = c->pn;
    uint16_t m = nr_chan_peer_member(c->ch);
    struct nr_peer *p;

    if (m >= pn->n || m == pn->self) {
        pn->stats.handshake_failures++;
        pconn_close(c, "handshake gave an impossible member");
        return;
    }
    if (c->expected >= 0 && m != (uint16_t)c->expected) {
        pn->stats.handshake_failures++;
        nr_log_limited(&pn->rl_peer, nr_now_ms(), NR_LOG_WARN,
                       "peer at %s authenticated as member %u, expected %d: dropped", c->addr, m,
                       c->expected);
        pconn_close(c, "unexpected member");
        return;
    }
    if (c->expected < 0 && m > pn->self) {
        pn->stats.wrong_direction++;
        nr_log_limited(&pn->rl_peer, nr_now_ms(), NR_LOG_WARN,
                       "member %u connected to us, but the lower index dials: dropped", m);
        pconn_close(c, "wrong direction");
        return;
    }
    p = &pn->peers[m];
    if (p->n_conns == NR_PEER_MAX_CONNS)
        pconn_close(p->conns[0], "too many connections for this member: oldest closed");
    if (p->dialing == c)
        p->dialing = NULL;
    c->member = m;
    c->ready = 1;
    if (c->expected < 0)
        pn->pending--;
    p->conns[p->n_conns++] = c;
    if (p->n_conns > 1)
        NR_LOGW("member %u now has %u connections (a restarted or cloned instance?)", m,
                p->n_conns);
    p->backoff_ms = NR_RECONNECT_MIN_MS;
    p->connects++;
    pn->stats.connects++;
    bufferevent_set_timeouts(c->bev, NULL, NULL);
    mark_dirty(pn, c); /* from now on output is pushed at the end of each iteration */
    NR_LOGI("peer %u (%s) connected, channel authenticated", m, c->addr);
    pn->ops.on_connected(pn->ops.ctx, m);
}

static void handle_frame(struct nr_pconn *c, const uint8_t *frame, size_t len)
{
    struct nr_peer_net *pn = c->pn;
    size_t pt_len = 0;
    int rc;

    rc = nr_chan_open(c->ch, frame, len, pn->rx, NR_PEER_MSG_MAX, &pt_len);
    if (rc != NR_OK) {
        pn->stats.frames_unauth++;
        nr_log_limited(&pn->rl_peer, nr_now_ms(), NR_LOG_WARN,
                       "peer %d: frame rejected (%s): connection dropped", c->member,
                       nr_errname(rc));
        pconn_close(c, nr_strerror(rc));
        return;
    }
    struct nr_peer *p = &pn->peers[c->member];
    p->msgs_in++;
    p->bytes_in += len;
    pn->stats.msgs_in++;
    pn->stats.bytes_in += len;
    rc = pn->ops.on_msg(pn->ops.ctx, (uint16_t)c->member, pn->rx, pt_len);
    if (rc != NR_OK) {
        /* Malformed bytes inside an authenticated channel mean a broken or hostile peer:
         * warn. Stale incarnations and out-of-place messages are normal around restarts. */
        int bad =
            rc == NR_EMALFORMED || rc == NR_ETRUNCATED || rc == NR_ETOOBIG || rc == NR_EVERSION;
        pn->stats.core_rejects++;
        nr_log_limited(&pn->rl_core, nr_now_ms(), bad ? NR_LOG_WARN : NR_LOG_DEBUG,
                       "peer %d: message dropped by the core: %s", c->member, nr_errname(rc));
    }
}

static void handle_hs(struct nr_pconn *c, const uint8_t *msg, size_t len)
{
    struct nr_peer_net *pn = c->pn;
    uint8_t out[NR_CHAN_HS_MAX_BYTES];
    size_t out_len = 0;
    int rc;

    rc = nr_chan_hs_recv(c->ch, msg, len, out, sizeof out, &out_len);
    if (rc == NR_OK && out_len > 0)
        rc = nr_frame_write(bufferevent_get_output(c->bev), out, out_len);
    sodium_memzero(out, sizeof out);
    if (rc != NR_OK) {
        pn->stats.handshake_failures++;
        nr_log_limited(&pn->rl_peer, nr_now_ms(), NR_LOG_WARN, "peer handshake with %s failed: %s",
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
    struct nr_peer_net *pn = c->pn;
    struct evbuffer *in = bufferevent_get_input(bev);

    while (!c->closing) {
        uint8_t *frame;
        size_t len;
        size_t cap = c->ready ? NR_PEER_FRAME_MAX : NR_CHAN_HS_MAX_BYTES;
        int rc = nr_frame_peek(in, cap, &frame, &len);
        if (rc == 0)
            break;
        if (rc < 0) {
            pn->stats.frames_oversize++;
            nr_log_limited(&pn->rl_peer, nr_now_ms(), NR_LOG_WARN,
                           "peer connection %s: frame too large: dropped", c->addr);
            pconn_close(c, "oversize frame");
            break;
        }
        if (c->ready)
            handle_frame(c, frame, len);
        else
            handle_hs(c, frame, len);
        if (!c->closing)
            nr_frame_consume(in, len);
    }
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct nr_pconn *c = arg;
    struct nr_peer_net *pn = c->pn;

    if (what & BEV_EVENT_CONNECTED) {
        uint8_t out[NR_CHAN_HS_MAX_BYTES];
        size_t out_len = 0;
        int rc;

        set_nodelay_keepalive(bev);
        rc = nr_chan_hs_start(c->ch, out, sizeof out, &out_len);
        if (rc == NR_OK)
            rc = nr_frame_write(bufferevent_get_output(bev), out, out_len);
        if (rc != NR_OK) {
            pn->stats.handshake_failures++;
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

static void dial(struct nr_peer_net *pn, struct nr_peer *p)
{
    struct bufferevent *bev;
    struct nr_pconn *c;

    if (p->n_conns > 0 || p->dialing || pn->stopping)
        return;
    bev = bufferevent_socket_new(pn->base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        schedule_dial(pn, p);
        return;
    }
    c = pconn_new(pn, bev, NR_CHAN_INITIATOR, p->index, p->endpoint.text);
    if (!c) {
        bufferevent_free(bev);
        schedule_dial(pn, p);
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
    dial(p->pn, p);
}

static void schedule_dial(struct nr_peer_net *pn, struct nr_peer *p)
{
    struct timeval tv;

    if (!p->dial || !p->retry || pn->stopping)
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
    struct nr_peer_net *pn = arg;
    struct bufferevent *bev;
    struct nr_pconn *c;
    char addr[64] = "?";
    (void)l;

    if (pn->pending >= NR_MAX_PENDING_HANDSHAKES) {
        pn->stats.refused_pending++;
        nr_log_limited(&pn->rl_peer, nr_now_ms(), NR_LOG_WARN,
                       "peer listener: %u handshakes pending, connection refused", pn->pending);
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
    bev = bufferevent_socket_new(pn->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        evutil_closesocket(fd);
        return;
    }
    c = pconn_new(pn, bev, NR_CHAN_RESPONDER, -1, addr);
    if (!c) {
        bufferevent_free(bev);
        return;
    }
    pn->pending++;
    set_nodelay_keepalive(bev);
    bufferevent_setcb(bev, read_cb, NULL, event_cb, c);
    set_hs_timeouts(bev);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    NR_LOGD("peer connection accepted from %s", addr);
}

static void listener_error_cb(struct evconnlistener *l, void *arg)
{
    struct nr_peer_net *pn = arg;
    (void)l;
    nr_log_limited(&pn->rl_peer, nr_now_ms(), NR_LOG_ERROR, "peer listener: accept failed: %s",
                   evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

int nr_peer_net_new(struct nr_peer_net **out, const struct nr_peer_net_config *cfg,
                    const struct nr_peer_net_ops *ops, char *err, size_t err_cap)
{
    const struct nr_host_config *hc = cfg->cfg;
    struct nr_peer_net *pn;
    int rc = NR_ECONFIG;

    *out = NULL;
    pn = calloc(1, sizeof *pn);
    if (!pn) {
        snprintf(err, err_cap, "out of memory");
        return NR_ENOMEM;
    }
    pn->cfg = *cfg;
    pn->ops = *ops;
    pn->n = cfg->n;
    pn->self = hc->index;
    memcpy(pn->members, cfg->members, (size_t)cfg->n * sizeof pn->members[0]);
    for (unsigned i = 0; i < hc->n_peers; i++) {
        const struct nr_host_peer *hp = &hc->peers[i];
        if (hp->index >= pn->n) {
            snprintf(err, err_cap, "%s: [Peer] Index %u is not a member (n = %u)",
                     cfg->config_path, hp->index, pn->n);
            goto fail;
        }
        struct nr_peer *p = &pn->peers[hp->index];
        p->configured = 1;
        p->endpoint = hp->endpoint;
    }
    for (uint16_t j = 0; j < pn->n; j++) {
        struct nr_peer *p = &pn->peers[j];
        p->pn = pn;
        p->index = j;
        if (j == pn->self)
            continue;
        p->dial = j > pn->self;
        if (p->dial && !p->configured) {
            snprintf(err, err_cap, "%s: no [Peer] section for member %u (this node dials it)",
                     cfg->config_path, j);
            goto fail;
        }
        p->configured = 1; /* lower members dial us: no endpoint needed */
    }
    pn->outbuf_limit =
        NR_PEER_OUTBUF_BASE +
        (size_t)cfg->max_records * (NR_JOIN_REC_BYTES + NR_CHAN_FRAME_OVERHEAD / 16u + 1u);
    pn->rx = malloc(NR_PEER_MSG_MAX);
    if (!pn->rx) {
        snprintf(err, err_cap, "out of memory");
        rc = NR_ENOMEM;
        goto fail;
    }
    *out = pn;
    return NR_OK;
fail:
    nr_peer_net_free(pn);
    return rc;
}

int nr_peer_net_start(struct nr_peer_net *pn, struct event_base *base)
{
    pn->base = base;
    pn->listener = evconnlistener_new_bind(
        pn->base, accept_cb, pn, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
        64, (struct sockaddr *)&pn->cfg.cfg->listen.sa, (int)pn->cfg.cfg->listen.len);
    if (!pn->listener) {
        NR_LOGE("cannot listen on %s: %s", pn->cfg.cfg->listen.text, strerror(errno));
        return NR_EIO;
    }
    evconnlistener_set_error_cb(pn->listener, listener_error_cb);
    NR_LOGI("listening for peers on %s", pn->cfg.cfg->listen.text);
    for (uint16_t i = 0; i < pn->n; i++) {
        struct nr_peer *p = &pn->peers[i];
        if (!p->configured)
            continue;
        p->backoff_ms = NR_RECONNECT_MIN_MS;
        if (p->dial) {
            p->retry = evtimer_new(pn->base, retry_cb, p);
            if (!p->retry)
                return NR_ENOMEM;
            dial(pn, p);
        }
    }
    return NR_OK;
}

void nr_peer_net_free(struct nr_peer_net *pn)
{
    if (!pn)
        return;
    pn->stopping = 1;
    if (pn->listener) {
        evconnlistener_free(pn->listener);
        pn->listener = NULL;
    }
    for (uint16_t i = 0; i < NR_MAX_MEMBERS; i++) {
        if (pn->peers[i].retry) {
            event_free(pn->peers[i].retry);
            pn->peers[i].retry = NULL;
        }
    }
    while (pn->conns)
        pconn_close(pn->conns, "shutdown");
    nr_peer_net_reap(pn);
    free(pn->rx);
    free(pn->dirty);
    free(pn);
}

void nr_peer_net_send(struct nr_peer_net *pn, uint16_t to, const uint8_t *msg, size_t len)
{
    struct nr_peer *p;
    int sent = 0;

    if (to >= pn->n || to == pn->self)
        return;
    p = &pn->peers[to];
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
        if (evbuffer_get_length(out) > pn->outbuf_limit) {
            pn->stats.sends_dropped_backpressure++;
            continue;
        }
        rc = nr_frame_write_sealed(out, c->ch, msg, len);
        if (rc != NR_OK) {
            NR_LOGE("peer %u: cannot send: %s", to, nr_strerror(rc));
            pconn_close(c, "send failed");
            continue;
        }
        sent = 1;
        mark_dirty(pn, c);
    }
    if (!sent) {
        pn->stats.sends_dropped_noconn++;
        return;
    }
    p->msgs_out++;
    p->bytes_out += len;
    pn->stats.msgs_out++;
    pn->stats.bytes_out += len;
}

unsigned nr_peer_net_connected(const struct nr_peer_net *pn)
{
    unsigned k = 0;
    for (uint16_t i = 0; i < pn->n; i++)
        if (pn->peers[i].n_conns > 0)
            k++;
    return k;
}

const struct nr_peer_stats *nr_peer_net_stats(const struct nr_peer_net *pn)
{
    return &pn->stats;
}

int nr_peer_net_info(const struct nr_peer_net *pn, uint16_t member, struct nr_peer_info *out)
{
    const struct nr_peer *p;

    if (member >= pn->n || !pn->peers[member].configured)
        return 0;
    p = &pn->peers[member];
    out->endpoint = p->endpoint.text;
    out->n_conns = p->n_conns;
    out->connects = p->connects;
    out->msgs_in = p->msgs_in;
    out->msgs_out = p->msgs_out;
    return 1;
}
