/* Solidity ABI: call encoding (head/tail) for the types the registry contract uses, and
 * bounds-checked accessors for return and revert data, which come from an untrusted node. */
#include <stdlib.h>
#include <string.h>

#include "eth/eth.h"

#define NR_ABI_WORD 32u
#define NR_ABI_ERROR_SELECTOR 0x08c379a0u /* Error(string) */
#define NR_ABI_PANIC_SELECTOR 0x4e487b71u /* Panic(uint256) */

void nr_abi_selector(uint8_t out[4], const char *signature)
{
    uint8_t h[NR_ETH_HASH_BYTES];
    nr_keccak256(h, (const uint8_t *)signature, strlen(signature));
    memcpy(out, h, 4u);
}

static int abi_is_dynamic(int type)
{
    return type == NR_ABI_BYTES || type == NR_ABI_STRING || type == NR_ABI_ADDRESS_ARRAY ||
           type == NR_ABI_BYTES32_ARRAY || type == NR_ABI_UINT256_ARRAY;
}

static size_t round_up_word(size_t n)
{
    return (n + NR_ABI_WORD - 1u) / NR_ABI_WORD * NR_ABI_WORD;
}

/* Size of the tail of one dynamic argument; NR_ETOOBIG as SIZE_MAX. */
static size_t abi_tail_size(const struct nr_abi_arg *a)
{
    switch (a->type) {
    case NR_ABI_BYTES:
    case NR_ABI_STRING:
        if (a->bytes_len > NR_ABI_MAX_BYTES)
            return SIZE_MAX;
        return NR_ABI_WORD + round_up_word(a->bytes_len);
    case NR_ABI_ADDRESS_ARRAY:
    case NR_ABI_BYTES32_ARRAY:
    case NR_ABI_UINT256_ARRAY:
        if (a->n_items > NR_ABI_MAX_BYTES / NR_ABI_WORD)
            return SIZE_MAX;
        return NR_ABI_WORD + a->n_items * NR_ABI_WORD;
    default:
        return 0;
    }
}

static void put_u64_word(uint8_t w[NR_ABI_WORD], uint64_t v)
{
    memset(w, 0, NR_ABI_WORD);
    for (size_t i = 0; i < 8u; i++)
        w[NR_ABI_WORD - 1u - i] = (uint8_t)(v >> (8u * i));
}

static int abi_reserve(struct nr_abi_buf *out, size_t extra)
{
    if (out->err)
        return out->err;
    if (extra > NR_ABI_MAX_BYTES || out->len > NR_ABI_MAX_BYTES - extra) {
        out->err = NR_ETOOBIG;
        return out->err;
    }
    size_t need = out->len + extra;
    if (need <= out->cap)
        return NR_OK;
    uint8_t *p = realloc(out->p, need);
    if (p == NULL) {
        out->err = NR_ENOMEM;
        return out->err;
    }
    out->p = p;
    out->cap = need;
    return NR_OK;
}

/* Writes one static value or array element as a word. */
static int abi_static_word(uint8_t w[NR_ABI_WORD], int type, const struct nr_abi_arg *a)
{
    memset(w, 0, NR_ABI_WORD);
    switch (type) {
    case NR_ABI_UINT256:
        memcpy(w, a->u.b, NR_ABI_WORD);
        return NR_OK;
    case NR_ABI_BOOL:
        w[NR_ABI_WORD - 1u] = nr_u256_is_zero(&a->u) ? 0 : 1;
        return NR_OK;
    case NR_ABI_ADDRESS:
        memcpy(w + NR_ABI_WORD - NR_ETH_ADDR_BYTES, a->b32 + NR_ABI_WORD - NR_ETH_ADDR_BYTES,
               NR_ETH_ADDR_BYTES);
        return NR_OK;
    case NR_ABI_BYTES32:
        memcpy(w, a->b32, NR_ABI_WORD);
        return NR_OK;
    default:
        return NR_EINVAL;
    }
}

int nr_abi_encode_args(struct nr_abi_buf *out, const struct nr_abi_arg *args, size_t nargs)
{
    if (out->err)
        return out->err;
    if (nargs > NR_ABI_MAX_BYTES / NR_ABI_WORD)
        return out->err = NR_ETOOBIG;
    size_t head = nargs * NR_ABI_WORD, total = head;
    for (size_t i = 0; i < nargs; i++) {
        const struct nr_abi_arg *a = &args[i];
        if (a->type < NR_ABI_UINT256 || a->type > NR_ABI_UINT256_ARRAY)
            return out->err = NR_EINVAL;
        if ((a->type == NR_ABI_BYTES || a->type == NR_ABI_STRING) && a->bytes_len &&
            a->bytes == NULL)
            return out->err = NR_EINVAL;
        if (abi_is_dynamic(a->type) && a->type != NR_ABI_BYTES && a->type != NR_ABI_STRING &&
            a->n_items && a->items == NULL)
            return out->err = NR_EINVAL;
        size_t t = abi_tail_size(a);
        if (t == SIZE_MAX || t > NR_ABI_MAX_BYTES - total)
            return out->err = NR_ETOOBIG;
        total += t;
    }
    int rc = abi_reserve(out, total);
    if (rc != NR_OK)
        return rc;
    uint8_t *base = out->p + out->len;
    memset(base, 0, total);
    size_t tail = head;
    for (size_t i = 0; i < nargs; i++) {
        const struct nr_abi_arg *a = &args[i];
        uint8_t *hw = base + i * NR_ABI_WORD;
        if (!abi_is_dynamic(a->type)) {
            rc = abi_static_word(hw, a->type, a);
            if (rc != NR_OK)
                return out->err = rc;
            continue;
        }
        put_u64_word(hw, (uint64_t)tail);
        uint8_t *tw = base + tail;
        if (a->type == NR_ABI_BYTES || a->type == NR_ABI_STRING) {
            put_u64_word(tw, (uint64_t)a->bytes_len);
            if (a->bytes_len)
                memcpy(tw + NR_ABI_WORD, a->bytes, a->bytes_len); /* zero padded */
        } else {
            size_t isz = a->type == NR_ABI_ADDRESS_ARRAY ? NR_ETH_ADDR_BYTES : NR_ABI_WORD;
            put_u64_word(tw, (uint64_t)a->n_items);
            for (size_t k = 0; k < a->n_items; k++)
                memcpy(tw + NR_ABI_WORD * (k + 2u) - isz, a->items + k * isz, isz);
        }
        tail += abi_tail_size(a);
    }
    out->len += total;
    return NR_OK;
}

int nr_abi_encode_call(struct nr_abi_buf *out, const char *signature, const struct nr_abi_arg *args,
                       size_t nargs)
{
    uint8_t sel[4];
    nr_abi_selector(sel, signature);
    int rc = abi_reserve(out, sizeof sel);
    if (rc != NR_OK)
        return rc;
    memcpy(out->p + out->len, sel, sizeof sel);
    out->len += sizeof sel;
    return nr_abi_encode_args(out, args, nargs);
}

/* ---- decoding (untrusted) ---- */

static const uint8_t *word_at(const uint8_t *data, size_t len, size_t index)
{
    if (index >= len / NR_ABI_WORD)
        return NULL;
    return data + index * NR_ABI_WORD;
}

/* A word that must hold a small integer (an offset, a length). */
static int word_to_size(size_t *out, const uint8_t w[NR_ABI_WORD])
{
    for (size_t i = 0; i < NR_ABI_WORD - 8u; i++)
        if (w[i] != 0)
            return NR_ETOOBIG;
    uint64_t v = 0;
    for (size_t i = NR_ABI_WORD - 8u; i < NR_ABI_WORD; i++)
        v = (v << 8) | w[i];
    if (v > NR_ABI_MAX_BYTES)
        return NR_ETOOBIG;
    *out = (size_t)v;
    return NR_OK;
}

int nr_abi_word(const uint8_t *data, size_t len, size_t index, uint8_t out[32])
{
    const uint8_t *w = word_at(data, len, index);
    if (w == NULL)
        return NR_ETRUNCATED;
    memcpy(out, w, NR_ABI_WORD);
    return NR_OK;
}

int nr_abi_u64(const uint8_t *data, size_t len, size_t index, uint64_t *out)
{
    nr_u256 u;
    int rc = nr_abi_word(data, len, index, u.b);
    if (rc != NR_OK)
        return rc;
    return nr_u256_to_u64(out, &u);
}

int nr_abi_address(const uint8_t *data, size_t len, size_t index, uint8_t out[NR_ETH_ADDR_BYTES])
{
    const uint8_t *w = word_at(data, len, index);
    if (w == NULL)
        return NR_ETRUNCATED;
    for (size_t i = 0; i < NR_ABI_WORD - NR_ETH_ADDR_BYTES; i++)
        if (w[i] != 0)
            return NR_EMALFORMED;
    memcpy(out, w + NR_ABI_WORD - NR_ETH_ADDR_BYTES, NR_ETH_ADDR_BYTES);
    return NR_OK;
}

int nr_abi_bool(const uint8_t *data, size_t len, size_t index, int *out)
{
    uint64_t v;
    int rc = nr_abi_u64(data, len, index, &v);
    if (rc == NR_ETOOBIG || (rc == NR_OK && v > 1u))
        return NR_EMALFORMED;
    if (rc == NR_OK)
        *out = (int)v;
    return rc;
}

/* Follows the offset in head word `index` to a length-prefixed tail of len * elem bytes. */
static int abi_tail(const uint8_t *data, size_t len, size_t index, size_t elem,
                    const uint8_t **out, size_t *count)
{
    const uint8_t *w = word_at(data, len, index);
    size_t off, n;
    if (w == NULL)
        return NR_ETRUNCATED;
    int rc = word_to_size(&off, w);
    if (rc != NR_OK)
        return rc == NR_ETOOBIG ? NR_ETRUNCATED : rc;
    if (off > len || len - off < NR_ABI_WORD)
        return NR_ETRUNCATED;
    rc = word_to_size(&n, data + off);
    if (rc != NR_OK)
        return rc;
    if (n > (len - off - NR_ABI_WORD) / elem)
        return NR_ETRUNCATED;
    *out = data + off + NR_ABI_WORD;
    *count = n;
    return NR_OK;
}

int nr_abi_dyn(const uint8_t *data, size_t len, size_t index, const uint8_t **out, size_t *out_len)
{
    return abi_tail(data, len, index, 1u, out, out_len);
}

int nr_abi_array(const uint8_t *data, size_t len, size_t index, const uint8_t **words,
                 size_t *count)
{
    return abi_tail(data, len, index, NR_ABI_WORD, words, count);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

int nr_abi_revert_reason(const uint8_t *data, size_t len, char *out, size_t cap)
{
    if (cap == 0)
        return NR_EINVAL;
    out[0] = '\0';
    if (len == 0)
        return NR_ENOTFOUND; /* plain revert() / require without message */
    if (len < 4u)
        return NR_EMALFORMED;
    uint32_t sel = be32(data);
    const uint8_t *args = data + 4;
    size_t args_len = len - 4u;
    if (sel == NR_ABI_PANIC_SELECTOR) {
        uint64_t code;
        nr_u256 u;
        int rc = nr_abi_word(args, args_len, 0, u.b);
        if (rc != NR_OK)
            return NR_EMALFORMED;
        char msg[32] = "Panic(0x?)";
        if (nr_u256_to_u64(&code, &u) == NR_OK && code <= 0xffu) {
            static const char hx[] = "0123456789abcdef";
            msg[8] = hx[(code >> 4) & 0xfu];
            msg[9] = hx[code & 0xfu];
            msg[10] = ')';
            msg[11] = '\0';
        }
        size_t n = strlen(msg);
        if (n > cap - 1u)
            n = cap - 1u;
        memcpy(out, msg, n);
        out[n] = '\0';
        return NR_OK;
    }
    if (sel != NR_ABI_ERROR_SELECTOR)
        return NR_ENOTFOUND; /* a custom error: the caller may decode it by selector */
    const uint8_t *s;
    size_t n;
    if (nr_abi_dyn(args, args_len, 0, &s, &n) != NR_OK)
        return NR_EMALFORMED;
    if (n > cap - 1u)
        n = cap - 1u;
    /* The reason goes to logs: keep printable ASCII only. */
    for (size_t i = 0; i < n; i++)
        out[i] = (s[i] >= 0x20u && s[i] < 0x7fu) ? (char)s[i] : '?';
    out[n] = '\0';
    return NR_OK;
}
