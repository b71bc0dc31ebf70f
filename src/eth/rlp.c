/* RLP (Ethereum's recursive length prefix), encoder into a growable caller-owned buffer and a
 * strict decoder for untrusted bytes: canonical lengths only, as the consensus clients do. */
#include <stdlib.h>
#include <string.h>

#include "eth/eth.h"

/* ---- encoding ---- */

static int rlp_reserve(struct nr_rlp_buf *b, size_t extra)
{
    if (b->err)
        return b->err;
    if (extra > NR_RLP_MAX_BYTES || b->len > NR_RLP_MAX_BYTES - extra) {
        b->err = NR_ETOOBIG;
        return b->err;
    }
    size_t need = b->len + extra;
    if (need <= b->cap)
        return NR_OK;
    size_t cap = b->cap ? b->cap : 64u;
    while (cap < need)
        cap *= 2u;
    uint8_t *p = realloc(b->p, cap);
    if (p == NULL) {
        b->err = NR_ENOMEM;
        return b->err;
    }
    b->p = p;
    b->cap = cap;
    return NR_OK;
}

static size_t be_len(size_t v)
{
    size_t n = 0;
    while (v) {
        n++;
        v >>= 8;
    }
    return n;
}

static size_t header_len(size_t payload_len)
{
    return payload_len < 56u ? 1u : 1u + be_len(payload_len);
}

/* Writes the header for a payload of len bytes at dst; offset 0x80 (string) or 0xc0 (list). */
static void write_header(uint8_t *dst, size_t len, uint8_t offset)
{
    if (len < 56u) {
        dst[0] = (uint8_t)(offset + len);
        return;
    }
    size_t n = be_len(len);
    dst[0] = (uint8_t)(offset + 55u + n);
    for (size_t i = 0; i < n; i++)
        dst[n - i] = (uint8_t)(len >> (8u * i));
}

void nr_rlp_bytes(struct nr_rlp_buf *b, const uint8_t *s, size_t len)
{
    if (len == 1u && s[0] < 0x80u) {
        if (rlp_reserve(b, 1u) != NR_OK)
            return;
        b->p[b->len++] = s[0];
        return;
    }
    size_t h = header_len(len);
    if (len > NR_RLP_MAX_BYTES || rlp_reserve(b, h + len) != NR_OK) {
        if (!b->err)
            b->err = NR_ETOOBIG;
        return;
    }
    write_header(b->p + b->len, len, 0x80u);
    if (len)
        memcpy(b->p + b->len + h, s, len);
    b->len += h + len;
}

void nr_rlp_raw(struct nr_rlp_buf *b, const uint8_t *s, size_t len)
{
    if (len == 0 || rlp_reserve(b, len) != NR_OK)
        return;
    memcpy(b->p + b->len, s, len);
    b->len += len;
}

void nr_rlp_uint(struct nr_rlp_buf *b, const nr_u256 *v)
{
    size_t i = 0;
    while (i < sizeof v->b && v->b[i] == 0)
        i++;
    nr_rlp_bytes(b, v->b + i, sizeof v->b - i);
}

void nr_rlp_u64(struct nr_rlp_buf *b, uint64_t v)
{
    nr_u256 u;
    nr_u256_from_u64(&u, v);
    nr_rlp_uint(b, &u);
}

size_t nr_rlp_list_begin(struct nr_rlp_buf *b)
{
    return b->len;
}

void nr_rlp_list_end(struct nr_rlp_buf *b, size_t marker)
{
    if (b->err)
        return;
    if (marker > b->len) {
        b->err = NR_EINVAL;
        return;
    }
    size_t payload = b->len - marker;
    size_t h = header_len(payload);
    if (rlp_reserve(b, h) != NR_OK)
        return;
    memmove(b->p + marker + h, b->p + marker, payload);
    write_header(b->p + marker, payload, 0xc0u);
    b->len += h;
}

/* ---- decoding ---- */

int nr_rlp_decode(struct nr_rlp_item *item, const uint8_t *in, size_t len, size_t *consumed)
{
    if (len == 0)
        return NR_ETRUNCATED;
    uint8_t t = in[0];
    size_t hdr, plen;
    int is_list;

    if (t < 0x80u) {
        item->is_list = 0;
        item->payload = in;
        item->payload_len = 1u;
        *consumed = 1u;
        return NR_OK;
    }
    is_list = t >= 0xc0u;
    uint8_t base = is_list ? 0xc0u : 0x80u;
    unsigned short_max = (unsigned)base + 55u; /* 0xb7 / 0xf7 */
    if (t <= short_max) {
        hdr = 1u;
        plen = (size_t)(t - base);
    } else {
        size_t nlen = (size_t)(t - short_max); /* 1..8 */
        if (nlen > sizeof(size_t))
            return NR_ETOOBIG;
        if (len < 1u + nlen)
            return NR_ETRUNCATED;
        if (in[1] == 0)
            return NR_EMALFORMED; /* leading zero in the length */
        plen = 0;
        for (size_t i = 0; i < nlen; i++)
            plen = (plen << 8) | in[1u + i];
        if (plen < 56u)
            return NR_EMALFORMED; /* should have used the short form */
        hdr = 1u + nlen;
    }
    if (plen > len - hdr)
        return NR_ETRUNCATED;
    if (!is_list && hdr == 1u && plen == 1u && in[1] < 0x80u)
        return NR_EMALFORMED; /* a single byte below 0x80 is its own encoding */
    item->is_list = is_list;
    item->payload = in + hdr;
    item->payload_len = plen;
    *consumed = hdr + plen;
    return NR_OK;
}

static int rlp_validate_depth(const uint8_t *in, size_t len, unsigned depth)
{
    struct nr_rlp_item it;
    size_t used;
    int rc = nr_rlp_decode(&it, in, len, &used);
    if (rc != NR_OK)
        return rc;
    if (used != len)
        return NR_EMALFORMED; /* trailing bytes */
    if (!it.is_list)
        return NR_OK;
    if (depth >= NR_RLP_MAX_DEPTH)
        return NR_ETOOBIG;
    const uint8_t *p = it.payload;
    size_t left = it.payload_len;
    while (left) {
        struct nr_rlp_item sub;
        rc = nr_rlp_decode(&sub, p, left, &used);
        if (rc != NR_OK)
            return rc;
        rc = rlp_validate_depth(p, used, depth + 1u);
        if (rc != NR_OK)
            return rc;
        p += used;
        left -= used;
    }
    return NR_OK;
}

int nr_rlp_validate(const uint8_t *in, size_t len)
{
    return rlp_validate_depth(in, len, 0);
}

int nr_rlp_next(struct nr_rlp_item *item, const uint8_t **cur, size_t *left)
{
    size_t used;
    if (*left == 0)
        return NR_ENOTFOUND;
    int rc = nr_rlp_decode(item, *cur, *left, &used);
    if (rc != NR_OK)
        return rc;
    *cur += used;
    *left -= used;
    return NR_OK;
}

int nr_rlp_item_u256(nr_u256 *out, const struct nr_rlp_item *item)
{
    if (item->is_list)
        return NR_EMALFORMED;
    if (item->payload_len > sizeof out->b)
        return NR_ETOOBIG;
    if (item->payload_len > 0 && item->payload[0] == 0)
        return NR_EMALFORMED; /* integers are minimal: no leading zero */
    memset(out->b, 0, sizeof out->b);
    if (item->payload_len)
        memcpy(out->b + sizeof out->b - item->payload_len, item->payload, item->payload_len);
    return NR_OK;
}

int nr_rlp_item_u64(uint64_t *out, const struct nr_rlp_item *item)
{
    nr_u256 v;
    int rc = nr_rlp_item_u256(&v, item);
    if (rc != NR_OK)
        return rc;
    return nr_u256_to_u64(out, &v);
}
