/* The handover encoding (handover.h). */
#include "common/handover.h"

#include <string.h>

static uint8_t *put_be(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
    return p + bytes;
}

void nr_state_root_init(struct nr_state_root *r, uint64_t count)
{
    uint8_t c[8];
    sha3_256_init(&r->h);
    sha3_256_update(&r->h, sizeof NR_STATE_DOMAIN - 1u, (const uint8_t *)NR_STATE_DOMAIN);
    put_be(c, count, 8);
    sha3_256_update(&r->h, sizeof c, c);
}

void nr_state_root_add(struct nr_state_root *r, uint16_t owner, const uint8_t key[32],
                       uint64_t version, const uint8_t digest[NR_DIGEST_BYTES])
{
    uint8_t leaf[NR_STATE_LEAF_BYTES], *p = leaf;
    p = put_be(p, owner, 2);
    memcpy(p, key, 32);
    p += 32;
    p = put_be(p, version, 8);
    memcpy(p, digest, NR_DIGEST_BYTES);
    sha3_256_update(&r->h, sizeof leaf, leaf);
}

void nr_state_root_final(struct nr_state_root *r, uint8_t out[NR_STATE_ROOT_BYTES])
{
    sha3_256_digest(&r->h, NR_STATE_ROOT_BYTES, out);
}

void nr_handover_msg(uint8_t out[NR_HANDOVER_MSG_BYTES],
                     const uint8_t system_id[NR_SYSTEM_ID_BYTES], uint32_t epoch,
                     const uint8_t genesis[NR_GENESIS_ID_BYTES], uint32_t next_epoch,
                     const uint8_t root[NR_STATE_ROOT_BYTES], uint64_t count)
{
    uint8_t *p = out;
    memcpy(p, NR_HANDOVER_DOMAIN, sizeof NR_HANDOVER_DOMAIN - 1u);
    p += sizeof NR_HANDOVER_DOMAIN - 1u;
    memcpy(p, system_id, NR_SYSTEM_ID_BYTES);
    p += NR_SYSTEM_ID_BYTES;
    p = put_be(p, epoch, 4);
    memcpy(p, genesis, NR_GENESIS_ID_BYTES);
    p += NR_GENESIS_ID_BYTES;
    p = put_be(p, next_epoch, 4);
    memcpy(p, root, NR_STATE_ROOT_BYTES);
    p += NR_STATE_ROOT_BYTES;
    put_be(p, count, 8);
}
