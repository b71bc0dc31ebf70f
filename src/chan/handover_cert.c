/* The handover certificate (handover_cert.h). */
#include "chan/handover_cert.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "eth/eth.h" /* nr_keccak256 */
#include "narrator/errors.h"

static uint8_t *put_be(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
    return p + bytes;
}

static uint64_t get_be(const uint8_t *p, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v = (v << 8) | p[i];
    return v;
}

size_t nr_handover_cert_encode(uint8_t *out, size_t cap, const struct nr_handover *h)
{
    if (h->nsigs > NR_MAX_MEMBERS ||
        cap < NR_HANDOVER_CERT_FIXED + (size_t)h->nsigs * NR_HANDOVER_CERT_SIG_BYTES)
        return 0;
    uint8_t *p = out;
    memcpy(p, NR_HANDOVER_CERT_DOMAIN, sizeof NR_HANDOVER_CERT_DOMAIN - 1u);
    p += sizeof NR_HANDOVER_CERT_DOMAIN - 1u;
    memcpy(p, h->system_id, NR_SYSTEM_ID_BYTES);
    p = put_be(p + NR_SYSTEM_ID_BYTES, h->epoch, 4);
    memcpy(p, h->genesis, NR_GENESIS_ID_BYTES);
    p = put_be(p + NR_GENESIS_ID_BYTES, h->next_epoch, 4);
    memcpy(p, h->root, NR_STATE_ROOT_BYTES);
    p = put_be(p + NR_STATE_ROOT_BYTES, h->count, 8);
    *p++ = (uint8_t)h->nsigs;
    for (uint16_t k = 0; k < h->nsigs; k++) {
        p = put_be(p, h->sigs[k].member, 2);
        p = put_be(p, h->sigs[k].inc, 8);
        memcpy(p, h->sigs[k].sig, NR_SIG_BYTES);
        p += NR_SIG_BYTES;
    }
    return (size_t)(p - out);
}

int nr_handover_cert_decode(struct nr_handover *h, const uint8_t *in, size_t len)
{
    memset(h, 0, sizeof(*h));
    if (len < NR_HANDOVER_CERT_FIXED)
        return NR_ETRUNCATED;
    if (len > NR_HANDOVER_CERT_MAX_BYTES)
        return NR_ETOOBIG;
    const uint8_t *p = in;
    if (memcmp(p, NR_HANDOVER_CERT_DOMAIN, sizeof NR_HANDOVER_CERT_DOMAIN - 1u) != 0)
        return NR_EMALFORMED;
    p += sizeof NR_HANDOVER_CERT_DOMAIN - 1u;
    memcpy(h->system_id, p, NR_SYSTEM_ID_BYTES);
    p += NR_SYSTEM_ID_BYTES;
    h->epoch = (uint32_t)get_be(p, 4);
    p += 4;
    memcpy(h->genesis, p, NR_GENESIS_ID_BYTES);
    p += NR_GENESIS_ID_BYTES;
    h->next_epoch = (uint32_t)get_be(p, 4);
    p += 4;
    memcpy(h->root, p, NR_STATE_ROOT_BYTES);
    p += NR_STATE_ROOT_BYTES;
    h->count = get_be(p, 8);
    p += 8;
    unsigned nsigs = *p++;
    if (nsigs > NR_MAX_MEMBERS)
        return NR_EMALFORMED;
    size_t need = NR_HANDOVER_CERT_FIXED + (size_t)nsigs * NR_HANDOVER_CERT_SIG_BYTES;
    if (len < need)
        return NR_ETRUNCATED;
    if (len != need)
        return NR_EMALFORMED;
    h->nsigs = (uint16_t)nsigs;
    for (unsigned k = 0; k < nsigs; k++) {
        h->sigs[k].member = (uint16_t)get_be(p, 2);
        h->sigs[k].inc = get_be(p + 2, 8);
        memcpy(h->sigs[k].sig, p + 10, NR_SIG_BYTES);
        p += NR_HANDOVER_CERT_SIG_BYTES;
    }
    return NR_OK;
}

void nr_handover_cert_hash(uint8_t out[32], const uint8_t *enc, size_t len)
{
    nr_keccak256(out, enc, len);
}

static int fail(char *err, size_t cap, const char *what)
{
    if (err && cap)
        snprintf(err, cap, "handover certificate refused: %s", what);
    return NR_EHANDOVER;
}

int nr_handover_cert_verify(const struct nr_handover *h,
                            const uint8_t system_id[NR_SYSTEM_ID_BYTES], uint32_t epoch,
                            const uint8_t genesis[NR_GENESIS_ID_BYTES], const uint8_t (*keys)[32],
                            uint16_t n, char *err, size_t errcap)
{
    uint8_t msg[NR_HANDOVER_MSG_BYTES];
    uint8_t seen[NR_MAX_MEMBERS] = {0};
    unsigned good = 0;

    if (n == 0 || n > NR_MAX_MEMBERS || !keys)
        return fail(err, errcap, "no membership to check it against");
    if (memcmp(h->system_id, system_id, NR_SYSTEM_ID_BYTES) != 0)
        return fail(err, errcap, "it is of another system");
    if (h->epoch != epoch || h->next_epoch != epoch + 1u)
        return fail(err, errcap, "it hands over another epoch");
    if (memcmp(h->genesis, genesis, NR_GENESIS_ID_BYTES) != 0)
        return fail(err, errcap, "it names another genesis than the epoch's on chain");
    nr_handover_msg(msg, h->system_id, h->epoch, h->genesis, h->next_epoch, h->root, h->count);
    for (uint16_t k = 0; k < h->nsigs && k < NR_MAX_MEMBERS; k++) {
        uint16_t m = h->sigs[k].member;
        if (m >= n || seen[m])
            continue;
        if (crypto_sign_verify_detached(h->sigs[k].sig, msg, sizeof msg, keys[m]) != 0)
            return fail(err, errcap, "a signature does not verify with its member's identity key");
        seen[m] = 1;
        good++;
    }
    unsigned need = (unsigned)(n - 1u) / 2u + 1u;
    if (good < need) {
        char what[96];
        snprintf(what, sizeof what, "signed by %u distinct members, %u (f+1) needed", good, need);
        return fail(err, errcap, what);
    }
    return NR_OK;
}
