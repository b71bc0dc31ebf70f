/* Length-prefixed frames over bufferevents and the end-of-iteration push (frame.h). */
#include "host/frame.h"

#include <event2/event.h>
#include <event2/util.h>

#include "core/wire.h"

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
    size_t need = NR_FRAME_HDR_BYTES + len + NR_CHAN_FRAME_OVERHEAD, sealed_len = 0;
    int rc;

    if (evbuffer_reserve_space(out, (ev_ssize_t)need, &iov, 1) < 1 || iov.iov_len < need)
        return NR_ENOMEM;
    uint8_t *p = iov.iov_base;
    rc = nr_chan_seal(ch, pt, len, p + NR_FRAME_HDR_BYTES, need - NR_FRAME_HDR_BYTES, &sealed_len);
    if (rc != NR_OK) {
        iov.iov_len = 0;
        evbuffer_commit_space(out, &iov, 1);
        return rc;
    }
    nr_put_u32(p, (uint32_t)sealed_len);
    iov.iov_len = NR_FRAME_HDR_BYTES + sealed_len;
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
