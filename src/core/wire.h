/* Narrator wire formats: every message between SEs and between an AE and its local SE.
 *
 * All integers are little-endian, fixed width. Every message starts with a common header;
 * lengths are checked before any field is read and capped by the constants below. These
 * bytes travel inside authenticated channels (src/chan/), but the decoder still treats them
 * as untrusted: a malformed message yields NR_EMALFORMED / NR_ETRUNCATED / NR_ETOOBIG /
 * NR_EVERSION, never a crash.
 *
 * ---------------------------------------------------------------------------------------
 * SE <-> SE header (NR_PEER_HDR_BYTES(n) = 68 + 8n bytes)
 *   u8  version        NR_WIRE_VERSION
 *   u8  type           enum nr_peer_type
 *   u16 sender         sender's member index
 *   u32 body_len       bytes after the header (<= NR_MAX_BODY)
 *   u64 sender_inc     sender's incarnation
 *   u64 sender_nonce   random per SE instance: two instances that drew the same
 *                      incarnation are told apart (and both refused) by it
 *   u64 dest_inc       the receiver's incarnation this is meant for (0 = any: JOIN_REQ)
 *   u8  genesis[32]    genesis id of the network the sender serves (ACTIVE) or joins
 *                      (JOINING with a target); zero: none yet (docs/protocol.md §2, §6)
 *   u32 epoch          the network epoch the sender serves or joins (§10): messages of
 *                      another epoch are dropped before anything is learnt from them
 *   u64 view[n]        sender's view: incarnation it accepts for each member (0 = none);
 *                      n is the system's member count, known to both sides
 *
 * Bodies:
 *   PREPARE     u64 batch, u32 count, count * entry{key[32], u64 version, digest[32]}
 *               (owner of every entry = sender; stamp = sender_inc)
 *   ACK         u64 batch, u8 status (0 ok, 1 conflict: refused as a fork attempt,
 *               2 record table full, 3 stale: your incarnation is superseded (batch 0))
 *   FETCH       u64 req, u32 count, count * key[32]        (owner = sender)
 *   FETCH_REPLY u64 req, u32 count, count * rec{key[32], u64 version, digest[32], u64 stamp}
 *   JOIN_REQ    u8 flags (bit0: was_active hint)
 *   JOIN_REPLY  u8 status (enum nr_join_status), u8 flags (bit0: has-state),
 *               u64 snapshot (replier's id of this snapshot), u32 chunk, u32 chunks,
 *               u32 count,
 *               count * rec{u16 owner, key[32], u64 version, digest[32], u64 stamp}
 *               (flags bit1: holds the start state of its epoch, epoch >= 2; also in JOIN_REQ)
 *   FREEZE      u32 next_epoch                      (handover round, docs/protocol.md §10)
 *   FREEZE_REPLY u32 next_epoch, then a JOIN_REPLY body (status ACCEPT: a frozen snapshot;
 *               JOINING: no state to give)
 *   SIGN_REQ    u32 next_epoch, root[32], u64 count
 *   SIGN_REPLY  u32 next_epoch, root[32], u64 count, sig[64]
 *
 * AE <-> SE (local channel), client wire version NR_CLIENT_WIRE_VERSION (2).
 * One channel frame carries ONE OR MORE client messages back to back (a batch of at most
 * NR_CLIENT_BATCH_MAX plaintext bytes); the receiver decodes messages until the frame is
 * consumed; an empty frame, a message that overruns the frame or any malformed message
 * rejects the whole frame (the connection is dropped).
 * Header NR_CLIENT_HDR_BYTES = 20:
 *   u8 version (NR_CLIENT_WIRE_VERSION), u8 type, u16 reserved(0), u32 body_len,
 *   u64 req_id, u32 record
 * `record` is a record handle of this connection (1..NR_CLIENT_MAX_RECORDS). The AE picks it
 * in C_OPEN (any handle not yet bound on this connection; the SE refuses a bound or out-of-
 * range one with NR_EINVAL and binds nothing), so that it can queue C_UPDATE / C_READ naming
 * the handle right behind the C_OPEN without waiting for its reply (the SE handles a
 * connection's messages in order; requests naming an unbound handle get NR_EINVAL).
 * C_STATUS carries 0. Every request gets exactly one C_REPLY with its req_id (req_ids are
 * unique per connection; replies may come in any order across records; a C_REPLY's record
 * is the handle for C_OPEN, 0 otherwise).
 * Bodies:
 *   C_OPEN    u16 name_len, name[name_len] (1..NR_MAX_NAME bytes, any bytes)
 *   C_UPDATE   u64 version, digest[32]
 *   C_READ    (empty)
 *   C_STATUS  (empty)  -- SE state and stats, for `narrator status`
 *   C_REPLY   i32 status, u64 version, digest[32] [, genesis[32] [, u8 npred,
 *             npred * genesis[32]]]
 *             (the genesis id of the network the SE serves follows in replies to C_OPEN
 *             and C_STATUS once the SE has one: body 76 bytes instead of 44; an SE of an
 *             epoch >= 2 appends the genesis ids of the epochs before it, newest first, as
 *             verified on chain (1 <= npred <= NR_CLIENT_MAX_LINEAGE): sealed state of one
 *             of them is state of this network's past, docs/protocol.md §10.5)
 * --------------------------------------------------------------------------------------- */
#ifndef NR_WIRE_H
#define NR_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

#define NR_WIRE_VERSION 3u
#define NR_MAX_BODY (4u * 1024u * 1024u) /* cap on any body */
#define NR_PEER_HDR_FIXED 68u
#define NR_PEER_HDR_BYTES(n) (NR_PEER_HDR_FIXED + 8u * (size_t)(n))
#define NR_PREPARE_ENTRY_BYTES (NR_KEY_BYTES + 8u + NR_DIGEST_BYTES)      /* 72 */
#define NR_FETCH_REC_BYTES (NR_KEY_BYTES + 8u + NR_DIGEST_BYTES + 8u)     /* 80 */
#define NR_JOIN_REC_BYTES (2u + NR_KEY_BYTES + 8u + NR_DIGEST_BYTES + 8u) /* 82 */
#define NR_BATCH_HDR_BYTES 12u /* PREPARE/FETCH/FETCH_REPLY: u64 batch or req, u32 count */
#define NR_ACK_BODY_BYTES 9u   /* u64 batch, u8 status */
#define NR_JOIN_REQ_BODY_BYTES 1u
#define NR_JOIN_REPLY_FIXED 22u /* status, flags, snapshot, chunk, chunks, count */
#define NR_MAX_PREPARE_ENTRIES 8192u
#define NR_MAX_FETCH_KEYS 8192u
#define NR_MAX_JOIN_RECS 16384u   /* per chunk */
#define NR_CLIENT_WIRE_VERSION 2u /* client messages (the peer messages use NR_WIRE_VERSION) */
#define NR_CLIENT_HDR_BYTES 20u
#define NR_CLIENT_BATCH_MAX (64u * 1024u) /* plaintext bytes of client messages per record */
#define NR_CLIENT_MAX_RECORDS 65536u      /* record handles per connection */
#define NR_MAX_NAME 128u
#define NR_CLIENT_MAX_LINEAGE 8u /* predecessor genesis ids in a C_REPLY */

enum nr_peer_type {
    NR_MSG_PREPARE = 1,
    NR_MSG_ACK = 2,
    NR_MSG_FETCH = 3,
    NR_MSG_FETCH_REPLY = 4,
    NR_MSG_JOIN_REQ = 5,
    NR_MSG_JOIN_REPLY = 6,
    NR_MSG_FREEZE = 7,
    NR_MSG_FREEZE_REPLY = 8,
    NR_MSG_SIGN_REQ = 9,
    NR_MSG_SIGN_REPLY = 10,
};
#define NR_FREEZE_BODY_BYTES 4u
#define NR_SIGN_REQ_BODY_BYTES (4u + NR_STATE_ROOT_BYTES + 8u)
#define NR_SIGN_REPLY_BODY_BYTES (NR_SIGN_REQ_BODY_BYTES + NR_SIG_BYTES)

enum nr_join_status {
    NR_JOIN_ACCEPT = 0,  /* admitted; records follow (chunked) */
    NR_JOIN_JOINING = 1, /* replier is itself JOINING (has no state to give) */
    NR_JOIN_STALE = 2,   /* replier already admitted an equal or newer incarnation of you */
    NR_JOIN_FROZEN = 3,  /* replier handed its epoch over (§10): it admits nobody */
};

enum nr_client_type {
    NR_C_OPEN = 1,
    NR_C_UPDATE = 2,
    NR_C_READ = 3,
    NR_C_STATUS = 4,
    NR_C_REPLY = 5,
};

/* Decoded SE<->SE header. */
struct nr_peer_hdr {
    uint8_t type;
    uint16_t sender;
    uint32_t body_len;
    nr_inc_t sender_inc;
    uint64_t sender_nonce;
    nr_inc_t dest_inc;
    uint8_t genesis[NR_GENESIS_ID_BYTES];
    uint32_t epoch;
    nr_inc_t view[NR_MAX_MEMBERS];
};

/* Bounds-checked cursor over untrusted bytes. */
struct nr_cur {
    const uint8_t *p;
    size_t left;
    int err; /* sticky: first error */
};

static inline void nr_cur_init(struct nr_cur *c, const uint8_t *p, size_t len)
{
    c->p = p;
    c->left = len;
    c->err = 0;
}
int nr_cur_u8(struct nr_cur *c, uint8_t *v);
int nr_cur_u16(struct nr_cur *c, uint16_t *v);
int nr_cur_u32(struct nr_cur *c, uint32_t *v);
int nr_cur_u64(struct nr_cur *c, uint64_t *v);
int nr_cur_bytes(struct nr_cur *c, uint8_t *out, size_t len);
/* Borrow `len` bytes without copying. */
int nr_cur_ptr(struct nr_cur *c, const uint8_t **out, size_t len);

/* Little-endian writers into a caller buffer (caller sized it with the _BYTES macros). */
uint8_t *nr_put_u8(uint8_t *p, uint8_t v);
uint8_t *nr_put_u16(uint8_t *p, uint16_t v);
uint8_t *nr_put_u32(uint8_t *p, uint32_t v);
uint8_t *nr_put_u64(uint8_t *p, uint64_t v);
uint8_t *nr_put_bytes(uint8_t *p, const uint8_t *src, size_t len);

/* Peer header: encode into buf (NR_PEER_HDR_BYTES(n) bytes); decode checks version, n,
 * sender < n, body_len == len - header and <= NR_MAX_BODY. On success the cursor `body`
 * covers exactly the body. */
uint8_t *nr_peer_hdr_put(uint8_t *buf, uint16_t n, const struct nr_peer_hdr *h);
int nr_peer_hdr_decode(struct nr_peer_hdr *h, struct nr_cur *body, const uint8_t *msg, size_t len,
                       uint16_t n) __attribute__((warn_unused_result));

/* PREPARE / FETCH / FETCH_REPLY bodies: u64 batch (or req), u32 count, then exactly count
 * items of item_bytes each (count <= max). The cursor is left at the first item. Returns 0,
 * the cursor's error, or NR_EMALFORMED. */
int nr_wire_batch_head(struct nr_cur *b, uint64_t *seq, uint32_t *count, uint32_t max,
                       size_t item_bytes) __attribute__((warn_unused_result));

/* Client messages. */
struct nr_client_msg {
    uint8_t type;
    uint64_t req_id;
    uint32_t record; /* record handle (0: none) */
    /* C_OPEN */
    uint16_t name_len;
    uint8_t name[NR_MAX_NAME];
    /* C_UPDATE / C_REPLY */
    int32_t status;
    uint64_t version;
    uint8_t digest[NR_DIGEST_BYTES];
    /* C_REPLY to C_OPEN / C_STATUS */
    uint8_t has_genesis;
    uint8_t genesis[NR_GENESIS_ID_BYTES];
    uint8_t npred; /* with has_genesis: predecessors, newest first */
    uint8_t pred[NR_CLIENT_MAX_LINEAGE][NR_GENESIS_ID_BYTES];
};
#define NR_CLIENT_MAX_BYTES                                                                  \
    (NR_CLIENT_HDR_BYTES + 2u + NR_MAX_NAME + 4u + 8u + NR_DIGEST_BYTES + NR_GENESIS_ID_BYTES + \
     1u + NR_CLIENT_MAX_LINEAGE * NR_GENESIS_ID_BYTES)
/* Encode into buf (>= NR_CLIENT_MAX_BYTES); returns bytes written, 0 on bad arguments. */
size_t nr_client_msg_encode(uint8_t *buf, size_t cap, const struct nr_client_msg *m);
#define NR_CLIENT_UPDATE_BYTES (NR_CLIENT_HDR_BYTES + 8u + NR_DIGEST_BYTES)     /* 60 */
#define NR_CLIENT_REPLY_BYTES (NR_CLIENT_HDR_BYTES + 4u + 8u + NR_DIGEST_BYTES) /* 64 */
/* Decode exactly one message filling all of buf. */
int nr_client_msg_decode(struct nr_client_msg *m, const uint8_t *buf, size_t len)
    __attribute__((warn_unused_result));
/* Decode the next message of a batch from the cursor and advance it past the message (its
 * header's body_len bounds it; the cursor may hold more messages after it). */
int nr_client_msg_next(struct nr_client_msg *m, struct nr_cur *c)
    __attribute__((warn_unused_result));

#endif
