/* Framing over bufferevents, shared by the peer network (peer.c) and the local AE server
 * (local.c): every handshake message and every channel frame on a socket is preceded by its
 * length as a u32 little-endian; output is pushed to the kernel at the end of each loop
 * iteration (nr_bev_push_ready). */
#ifndef NR_HOST_FRAME_H
#define NR_HOST_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "chan/chan.h"

#define NR_FRAME_HDR_BYTES 4u
#define NR_HANDSHAKE_TIMEOUT_MS 5000u
#define NR_MAX_PENDING_HANDSHAKES 64u /* per listener: unauthenticated connections */

/* Extract one u32-LE length-prefixed frame from `in` into a pulled-up pointer. Returns 1 and
 * sets *frame and *len (valid until nr_frame_consume), 0 if incomplete, NR_ETOOBIG if the
 * announced length exceeds cap. */
int nr_frame_peek(struct evbuffer *in, size_t cap, uint8_t **frame, size_t *len);
void nr_frame_consume(struct evbuffer *in, size_t len);
int nr_frame_write(struct evbuffer *out, const uint8_t *data, size_t len);
/* Seal `len` bytes with the channel directly into `out` as one frame. */
int nr_frame_write_sealed(struct evbuffer *out, struct nr_chan *ch, const uint8_t *pt, size_t len);

/* Push a bufferevent's pending output to its socket now (non-blocking, best effort). */
void nr_bev_push(struct bufferevent *bev);
/* The same for a connection past its handshake: also keeps libevent's write event enabled
 * only while output is left over. */
void nr_bev_push_ready(struct bufferevent *bev);

#endif
