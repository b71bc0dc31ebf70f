/* Wire codec: bounds-checked cursor, little-endian writers, headers and client messages.
 * Layouts are documented in wire.h. Everything here treats its input as untrusted. */
#include "core/wire.h"

#include <string.h>

static int cur_need(struct nr_cur *c, size_t n)
{
    if (c->err)
        return c->err;
    if (c->left < n) {
        c->err = NR_ETRUNCATED;
        return c->err;
    }
    return 0;
}

int nr_cur_u8(struct nr_cur *c, uint8_t *v)
{
    if (cur_need(c, 1))
        return c->err;
    *v = c->p[0];
    c->p += 1;
    c->left -= 1;
    return 0;
}

int nr_cur_u16(struct nr_cur *c, uint16_t *v)
{
    if (cur_need(c, 2))
        return c->err;
    *v = (uint16_t)(c->p[0] | (c->p[1] << 8));
    c->p += 2;
    c->left -= 2;
    return 0;
}

int nr_cur_u32(struct nr_cur *c, uint32_t *v)
{
    if (cur_need(c, 4))
        return c->err;
    *v = (uint32_t)c->p[0] | ((uint32_t)c->p[1] << 8) | ((uint32_t)c->p[2] << 16) |
         ((uint32_t)c->p[3] << 24);
    c->p += 4;
    c->left -= 4;
    return 0;
}

int nr_cur_u64(struct nr_cur *c, uint64_t *v)
{
    if (cur_need(c, 8))
        return c->err;
    /* (one expression: compilers turn it into a single load on little-endian machines) */
    *v = (uint64_t)c->p[0] | ((uint64_t)c->p[1] << 8) | ((uint64_t)c->p[2] << 16) |
         ((uint64_t)c->p[3] << 24) | ((uint64_t)c->p[4] << 32) | ((uint64_t)c->p[5] << 40) |
         ((uint64_t)c->p[6] << 48) | ((uint64_t)c->p[7] << 56);
    c->p += 8;
    c->left -= 8;
    return 0;
}

int nr_cur_bytes(struct nr_cur *c, uint8_t *out, size_t len)
{
    if (cur_need(c, len))
        return c->err;
    memcpy(out, c->p, len);
    c->p += len;
    c->left -= len;
    return 0;
}

int nr_cur_ptr(struct nr_cur *c, const uint8_t **out, size_t len)
{
    if (cur_need(c, len))
        return c->err;
    *out = c->p;
    c->p += len;
    c->left -= len;
    return 0;
}

uint8_t *nr_put_u8(uint8_t *p, uint8_t v)
{
    p[0] = v;
    return p + 1;
}

uint8_t *nr_put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    return p + 2;
}

uint8_t *nr_put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
    return p + 4;
}

uint8_t *nr_put_u64(uint8_t *p, uint64_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
    p[4] = (uint8_t)(v >> 32);
    p[5] = (uint8_t)(v >> 40);
    p[6] = (uint8_t)(v >> 48);
    p[7] = (uint8_t)(v >> 56);
    return p + 8;
}

uint8_t *nr_put_bytes(uint8_t *p, const uint8_t *src, size_t len)
{
    memcpy(p, src, len);
    return p + len;
}

uint8_t *nr_peer_hdr_put(uint8_t *buf, uint16_t n, const struct nr_peer_hdr *h)
{
    uint8_t *p = buf;
    p = nr_put_u8(p, NR_WIRE_VERSION);
    p = nr_put_u8(p, h->type);
    p = nr_put_u16(p, h->sender);
    p = nr_put_u32(p, h->body_len);
    p = nr_put_u64(p, h->sender_inc);
    p = nr_put_u64(p, h->sender_nonce);
    p = nr_put_u64(p, h->dest_inc);
    p = nr_put_bytes(p, h->genesis, NR_GENESIS_ID_BYTES);
    p = nr_put_u32(p, h->epoch);
    for (uint16_t i = 0; i < n; i++)
        p = nr_put_u64(p, h->view[i]);
    return p;
}

int nr_peer_hdr_decode(struct nr_peer_hdr *h, struct nr_cur *body, const uint8_t *msg, size_t len,
                       uint16_t n)
{
    struct nr_cur c;
    uint8_t version = 0;

    if (n == 0 || n > NR_MAX_MEMBERS)
        return NR_EINVAL;
    memset(h, 0, sizeof(*h));
    nr_cur_init(&c, msg, len);
    nr_cur_u8(&c, &version);
    nr_cur_u8(&c, &h->type);
    nr_cur_u16(&c, &h->sender);
    nr_cur_u32(&c, &h->body_len);
    nr_cur_u64(&c, &h->sender_inc);
    nr_cur_u64(&c, &h->sender_nonce);
    nr_cur_u64(&c, &h->dest_inc);
    nr_cur_bytes(&c, h->genesis, NR_GENESIS_ID_BYTES);
    nr_cur_u32(&c, &h->epoch);
    for (uint16_t i = 0; i < n; i++)
        nr_cur_u64(&c, &h->view[i]);
    if (c.err)
        return c.err;
    if (version != NR_WIRE_VERSION)
        return NR_EVERSION;
    if (h->type < NR_MSG_PREPARE || h->type > NR_MSG_SIGN_REPLY)
        return NR_EMALFORMED;
    if (h->sender >= n || h->sender_inc == 0)
        return NR_EMALFORMED;
    if (h->body_len > NR_MAX_BODY)
        return NR_ETOOBIG;
    if (h->body_len != c.left)
        return NR_EMALFORMED;
    nr_cur_init(body, c.p, c.left);
    return 0;
}

int nr_wire_batch_head(struct nr_cur *b, uint64_t *seq, uint32_t *count, uint32_t max,
                       size_t item_bytes)
{
    nr_cur_u64(b, seq);
    nr_cur_u32(b, count);
    if (b->err)
        return b->err;
    if (*count > max || (uint64_t)*count * item_bytes != b->left)
        return NR_EMALFORMED;
    return 0;
}

size_t nr_client_msg_encode(uint8_t *buf, size_t cap, const struct nr_client_msg *m)
{
    size_t body;

    switch (m->type) {
    case NR_C_OPEN:
        if (m->name_len == 0 || m->name_len > NR_MAX_NAME)
            return 0;
        body = 2u + m->name_len;
        break;
    case NR_C_UPDATE:
        body = 8u + NR_DIGEST_BYTES;
        break;
    case NR_C_READ:
    case NR_C_STATUS:
        body = 0;
        break;
    case NR_C_REPLY:
        if (m->npred > NR_CLIENT_MAX_LINEAGE || (m->npred && !m->has_genesis))
            return 0;
        body = 4u + 8u + NR_DIGEST_BYTES + (m->has_genesis ? NR_GENESIS_ID_BYTES : 0u) +
               (m->npred ? 1u + (size_t)m->npred * NR_GENESIS_ID_BYTES : 0u);
        break;
    default:
        return 0;
    }
    if (cap < NR_CLIENT_HDR_BYTES + body)
        return 0;
    uint8_t *p = buf;
    p = nr_put_u8(p, NR_CLIENT_WIRE_VERSION);
    p = nr_put_u8(p, m->type);
    p = nr_put_u16(p, 0);
    p = nr_put_u32(p, (uint32_t)body);
    p = nr_put_u64(p, m->req_id);
    p = nr_put_u32(p, m->record);
    switch (m->type) {
    case NR_C_OPEN:
        p = nr_put_u16(p, m->name_len);
        p = nr_put_bytes(p, m->name, m->name_len);
        break;
    case NR_C_UPDATE:
        p = nr_put_u64(p, m->version);
        p = nr_put_bytes(p, m->digest, NR_DIGEST_BYTES);
        break;
    case NR_C_REPLY:
        p = nr_put_u32(p, (uint32_t)m->status);
        p = nr_put_u64(p, m->version);
        p = nr_put_bytes(p, m->digest, NR_DIGEST_BYTES);
        if (m->has_genesis)
            p = nr_put_bytes(p, m->genesis, NR_GENESIS_ID_BYTES);
        if (m->npred) {
            p = nr_put_u8(p, m->npred);
            for (uint8_t k = 0; k < m->npred; k++)
                p = nr_put_bytes(p, m->pred[k], NR_GENESIS_ID_BYTES);
        }
        break;
    default:
        break;
    }
    return (size_t)(p - buf);
}

int nr_client_msg_next(struct nr_client_msg *m, struct nr_cur *c)
{
    uint8_t version = 0;
    uint16_t reserved = 0;
    uint32_t body_len = 0, status = 0;
    struct nr_cur b;

    memset(m, 0, sizeof(*m));
    if (c->err)
        return c->err;
    nr_cur_u8(c, &version);
    nr_cur_u8(c, &m->type);
    nr_cur_u16(c, &reserved);
    nr_cur_u32(c, &body_len);
    nr_cur_u64(c, &m->req_id);
    nr_cur_u32(c, &m->record);
    if (c->err)
        return c->err;
    if (version != NR_CLIENT_WIRE_VERSION)
        return NR_EVERSION;
    if (reserved != 0)
        return NR_EMALFORMED;
    if (body_len > c->left)
        return NR_ETRUNCATED;
    nr_cur_init(&b, c->p, body_len);
    c->p += body_len;
    c->left -= body_len;
    switch (m->type) {
    case NR_C_OPEN:
        nr_cur_u16(&b, &m->name_len);
        if (b.err)
            return b.err;
        if (m->name_len == 0)
            return NR_EMALFORMED;
        if (m->name_len > NR_MAX_NAME)
            return NR_ETOOBIG;
        nr_cur_bytes(&b, m->name, m->name_len);
        break;
    case NR_C_UPDATE:
        nr_cur_u64(&b, &m->version);
        nr_cur_bytes(&b, m->digest, NR_DIGEST_BYTES);
        break;
    case NR_C_READ:
    case NR_C_STATUS:
        break;
    case NR_C_REPLY:
        nr_cur_u32(&b, &status);
        nr_cur_u64(&b, &m->version);
        nr_cur_bytes(&b, m->digest, NR_DIGEST_BYTES);
        m->status = (int32_t)status;
        if (b.left >= NR_GENESIS_ID_BYTES) {
            m->has_genesis = 1;
            nr_cur_bytes(&b, m->genesis, NR_GENESIS_ID_BYTES);
        }
        if (m->has_genesis && b.left > 0) {
            nr_cur_u8(&b, &m->npred);
            if (m->npred == 0 || m->npred > NR_CLIENT_MAX_LINEAGE ||
                b.left != (size_t)m->npred * NR_GENESIS_ID_BYTES)
                return NR_EMALFORMED;
            for (uint8_t k = 0; k < m->npred; k++)
                nr_cur_bytes(&b, m->pred[k], NR_GENESIS_ID_BYTES);
        }
        break;
    default:
        return NR_EMALFORMED;
    }
    if (b.err)
        return b.err;
    if (b.left != 0)
        return NR_EMALFORMED;
    return 0;
}

int nr_client_msg_decode(struct nr_client_msg *m, const uint8_t *buf, size_t len)
{
    struct nr_cur c;
    int rc;

    nr_cur_init(&c, buf, len);
    rc = nr_client_msg_next(m, &c);
    if (rc)
        return rc;
    if (c.left != 0)
        return NR_EMALFORMED;
    return 0;
}
