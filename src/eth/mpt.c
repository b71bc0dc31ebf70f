/* Merkle-Patricia proof verification: see mpt.h. */
#include "eth/mpt.h"

#include <string.h>

const uint8_t nr_mpt_empty_root[32] = {
    0x56, 0xe8, 0x1f, 0x17, 0x1b, 0xcc, 0x55, 0xa6, 0xff, 0x83, 0x45, 0xe6, 0x92, 0xc0, 0xf8, 0x6e,
    0x5b, 0x48, 0xe0, 0x1b, 0x99, 0x6c, 0xad, 0xc0, 0x01, 0x62, 0x2f, 0xb5, 0xe3, 0x63, 0xb4, 0x21};

#define KEY_NIBBLES (2u * NR_MPT_KEY_BYTES)
#define BRANCH_ITEMS 17u
#define MAX_STEPS (2u * KEY_NIBBLES + 2u) /* branch + extension per nibble, at most */

static unsigned nibble(const uint8_t *bytes, size_t i)
{
    return (i % 2u) ? (bytes[i / 2u] & 0x0fu) : (bytes[i / 2u] >> 4);
}

/* A child reference inside a node: a 32-byte hash string, an embedded node (a list whose whole
 * encoding is shorter than 32 bytes), or empty. */
enum ref_kind { REF_EMPTY, REF_HASH, REF_INLINE };
struct ref {
    enum ref_kind kind;
    const uint8_t *p; /* hash (32 bytes) or the embedded node's encoding */
    size_t len;
};

static int classify(struct ref *r, const struct nr_rlp_item *it, const uint8_t *enc, size_t enc_len)
{
    if (it->is_list) {
        if (enc_len >= 32)
            return NR_EPROOF; /* a node this large is referenced by its hash */
        r->kind = REF_INLINE;
        r->p = enc;
        r->len = enc_len;
        return NR_OK;
    }
    if (it->payload_len == 0) {
        r->kind = REF_EMPTY;
        return NR_OK;
    }
    if (it->payload_len != 32)
        return NR_EPROOF;
    r->kind = REF_HASH;
    r->p = it->payload;
    r->len = 32;
    return NR_OK;
}

/* Next list element of a node, with the bytes of its encoding. */
static int next_item(struct nr_rlp_item *it, const uint8_t **enc, size_t *enc_len,
                     const uint8_t **cur, size_t *left)
{
    const uint8_t *start = *cur;
    int rc = nr_rlp_next(it, cur, left);
    if (rc != NR_OK)
        return NR_EPROOF;
    *enc = start;
    *enc_len = (size_t)(*cur - start);
    return NR_OK;
}

int nr_mpt_verify(const uint8_t **value, size_t *value_len, int *found, const uint8_t root[32],
                  const uint8_t key[NR_MPT_KEY_BYTES], const struct nr_eth_bytes *proof,
                  size_t n_nodes)
{
    *value = NULL;
    *value_len = 0;
    *found = 0;
    if (n_nodes > NR_MPT_MAX_NODES)
        return NR_EPROOF;
    if (n_nodes == 0) /* only the empty trie needs no node */
        return memcmp(root, nr_mpt_empty_root, 32) == 0 ? NR_OK : NR_EPROOF;

    struct ref ref = {REF_HASH, root, 32};
    size_t used = 0; /* proof nodes consumed */
    size_t pos = 0;  /* key nibbles consumed */
    for (unsigned step = 0; step < MAX_STEPS; step++) {
        const uint8_t *node;
        size_t node_len;
        if (ref.kind == REF_HASH) {
            if (used >= n_nodes)
                return NR_EPROOF; /* the proof stops before the walk does */
            node = proof[used].p;
            node_len = proof[used].len;
            used++;
            if (node == NULL || node_len == 0 || node_len > NR_MPT_MAX_NODE_BYTES)
                return NR_EPROOF;
            uint8_t h[32];
            nr_keccak256(h, node, node_len);
            if (memcmp(h, ref.p, 32) != 0)
                return NR_EPROOF;
        } else if (ref.kind == REF_INLINE) {
            node = ref.p;
            node_len = ref.len;
        } else {
            /* An empty reference: the key is not in the trie. */
            return used == n_nodes ? NR_OK : NR_EPROOF;
        }

        /* The empty trie's root node rlp("") (what anvil sends for an empty storage). */
        if (used == 1 && node_len == 1 && node[0] == 0x80)
            return used == n_nodes ? NR_OK : NR_EPROOF;
        struct nr_rlp_item list;
        size_t consumed = 0;
        if (nr_rlp_decode(&list, node, node_len, &consumed) != NR_OK || consumed != node_len ||
            !list.is_list)
            return NR_EPROOF;
        struct nr_rlp_item items[BRANCH_ITEMS];
        const uint8_t *enc[BRANCH_ITEMS];
        size_t enc_len[BRANCH_ITEMS];
        size_t n_items = 0;
        const uint8_t *cur = list.payload;
        size_t left = list.payload_len;
        while (left > 0) {
            if (n_items == BRANCH_ITEMS)
                return NR_EPROOF;
            if (next_item(&items[n_items], &enc[n_items], &enc_len[n_items], &cur, &left) != NR_OK)
                return NR_EPROOF;
            n_items++;
        }

        if (n_items == BRANCH_ITEMS) {
            /* Branch: values at a branch would need a key shorter than 64 nibbles. */
            if (items[16].is_list || items[16].payload_len != 0)
                return NR_EPROOF;
            if (pos >= KEY_NIBBLES)
                return NR_EPROOF;
            unsigned nb = nibble(key, pos);
            pos++;
            if (classify(&ref, &items[nb], enc[nb], enc_len[nb]) != NR_OK)
                return NR_EPROOF;
            continue;
        }
        if (n_items != 2 || items[0].is_list || items[0].payload_len == 0)
            return NR_EPROOF;

        /* Leaf or extension: hex-prefix path. */
        const uint8_t *hp = items[0].payload;
        size_t hp_len = items[0].payload_len;
        unsigned flag = hp[0] >> 4;
        if (flag > 3)
            return NR_EPROOF;
        int odd = (int)(flag & 1u), leaf = (int)(flag >> 1);
        if (!odd && (hp[0] & 0x0fu) != 0)
            return NR_EPROOF;
        size_t path_len = 2u * (hp_len - 1u) + (size_t)odd;
        size_t first = odd ? 1u : 2u; /* nibble index of the path's start inside hp */
        if (pos + path_len > KEY_NIBBLES)
            return NR_EPROOF;
        int match = 1;
        for (size_t i = 0; i < path_len; i++)
            if (nibble(hp, first + i) != nibble(key, pos + i)) {
                match = 0;
                break;
            }
        if (leaf) {
            if (pos + path_len != KEY_NIBBLES || items[1].is_list)
                return NR_EPROOF;
            if (used != n_nodes)
                return NR_EPROOF;
            if (!match)
                return NR_OK; /* another key's leaf: ours is absent */
            if (items[1].payload_len == 0)
                return NR_EPROOF; /* the trie stores no empty values */
            *value = items[1].payload;
            *value_len = items[1].payload_len;
            *found = 1;
            return NR_OK;
        }
        /* Extension: a non-empty path that leaves room for a branch below it. */
        if (path_len == 0 || pos + path_len >= KEY_NIBBLES)
            return NR_EPROOF;
        if (!match)
            return used == n_nodes ? NR_OK : NR_EPROOF;
        pos += path_len;
        if (classify(&ref, &items[1], enc[1], enc_len[1]) != NR_OK || ref.kind == REF_EMPTY)
            return NR_EPROOF;
    }
    return NR_EPROOF;
}

int nr_mpt_account(struct nr_mpt_account *out, int *found, const uint8_t state_root[32],
                   const uint8_t address[NR_ETH_ADDR_BYTES], const struct nr_eth_bytes *proof,
                   size_t n_nodes)
{
    memset(out, 0, sizeof *out);
    uint8_t key[32];
    nr_keccak256(key, address, NR_ETH_ADDR_BYTES);
    const uint8_t *v = NULL;
    size_t vlen = 0;
    int rc = nr_mpt_verify(&v, &vlen, found, state_root, key, proof, n_nodes);
    if (rc != NR_OK || !*found)
        return rc;
    struct nr_rlp_item acc, it;
    size_t consumed = 0;
    if (nr_rlp_decode(&acc, v, vlen, &consumed) != NR_OK || consumed != vlen || !acc.is_list)
        goto bad;
    const uint8_t *cur = acc.payload;
    size_t left = acc.payload_len;
    if (nr_rlp_next(&it, &cur, &left) != NR_OK || it.is_list ||
        nr_rlp_item_u64(&out->nonce, &it) != NR_OK)
        goto bad;
    if (nr_rlp_next(&it, &cur, &left) != NR_OK || it.is_list ||
        nr_rlp_item_u256(&out->balance, &it) != NR_OK)
        goto bad;
    if (nr_rlp_next(&it, &cur, &left) != NR_OK || it.is_list || it.payload_len != 32)
        goto bad;
    memcpy(out->storage_root, it.payload, 32);
    if (nr_rlp_next(&it, &cur, &left) != NR_OK || it.is_list || it.payload_len != 32)
        goto bad;
    memcpy(out->code_hash, it.payload, 32);
    if (left != 0)
        goto bad;
    return NR_OK;
bad:
    memset(out, 0, sizeof *out);
    *found = 0;
    return NR_EPROOF;
}

int nr_mpt_storage(uint8_t value[32], int *found, const uint8_t storage_root[32],
                   const uint8_t slot[32], const struct nr_eth_bytes *proof, size_t n_nodes)
{
    memset(value, 0, 32);
    uint8_t key[32];
    nr_keccak256(key, slot, 32);
    const uint8_t *v = NULL;
    size_t vlen = 0;
    int rc = nr_mpt_verify(&v, &vlen, found, storage_root, key, proof, n_nodes);
    if (rc != NR_OK || !*found)
        return rc;
    /* The leaf holds rlp(the word without leading zeros), a canonical integer. Geth deletes
     * slots set to zero; anvil keeps them as leaves holding rlp(0) = 0x80, which reads as 0. */
    struct nr_rlp_item it;
    size_t consumed = 0;
    nr_u256 u;
    if (nr_rlp_decode(&it, v, vlen, &consumed) != NR_OK || consumed != vlen || it.is_list ||
        nr_rlp_item_u256(&u, &it) != NR_OK) {
        *found = 0;
        return NR_EPROOF;
    }
    memcpy(value, u.b, 32);
    return NR_OK;
}
