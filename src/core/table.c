/* The record table (open addressing, linear probing, no deletion) and rule STORE
 * (docs/protocol.md §3). */
#include "core/se_internal.h"

uint32_t se_slot_hash(const struct nr_se *se, uint16_t owner, const uint8_t *key)
{
    uint64_t h;
    memcpy(&h, key, sizeof(h));
    h ^= (uint64_t)owner * 0x9E3779B97F4A7C15ull;
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 32;
    return (uint32_t)(((h & 0xffffffffull) * (uint64_t)se->n_slots) >> 32);
}

/* Find the slot of (owner, key); with create, insert an empty record. NONE if absent or the
 * table is full. */
uint32_t se_slot_find(struct nr_se *se, uint16_t owner, const uint8_t *key, int create)
{
    uint32_t i = se_slot_hash(se, owner, key);

    for (uint32_t probes = 0; probes < se->n_slots; probes++) {
        struct slot *s = &se->slots[i];
        if (!s->used) {
            if (!create || se->n_used >= se->cfg.max_records)
                return NONE;
            memset(s, 0, sizeof(*s));
            s->used = 1;
            s->owner = owner;
            memcpy(s->key, key, NR_KEY_BYTES);
            s->q_head = NONE;
            se->n_used++;
            return i;
        }
        if (s->owner == owner && memcmp(s->key, key, NR_KEY_BYTES) == 0)
            return i;
        if (++i == se->n_slots)
            i = 0;
    }
    return NONE;
}

/* Rule STORE (§3). Returns 0 if stored or no-op, 1 if refused (same stamp, two digests). */
int se_store_rule(struct nr_se *se, struct slot *s, uint64_t v, const uint8_t *d, nr_inc_t stamp)
{
    se->network_existed = 1;
    se_learn(se, s->owner, stamp, 0);
    if (s->version == 0 && s->stamp == 0) {
        s->version = v;
        memcpy(s->digest, d, NR_DIGEST_BYTES);
        s->stamp = stamp;
        return 0;
    }
    if (stamp > s->stamp) {
        if (s->version >= v && memcmp(s->digest, d, NR_DIGEST_BYTES) != 0) {
            se->stats.stale_leftovers++;
            if (s->version == v)
                se->stats.fork_attempts++;
            se_log(se, NR_LOG_WARN,
                   "record of member %u: value v%llu of an older incarnation replaced by v%llu "
                   "of a later incarnation (uncommitted leftover, §9.5)",
                   s->owner, (unsigned long long)s->version, (unsigned long long)v);
            if (se->io.leftover) {
                struct nr_record old, by;
                memset(&old, 0, sizeof(old));
                memcpy(old.key, s->key, NR_KEY_BYTES);
                old.owner = s->owner;
                old.version = s->version;
                memcpy(old.digest, s->digest, NR_DIGEST_BYTES);
                old.stamp = s->stamp;
                by = old;
                by.version = v;
                memcpy(by.digest, d, NR_DIGEST_BYTES);
                by.stamp = stamp;
                se->io.leftover(se->io.ctx, &old, &by);
            }
        }
        s->version = v;
        memcpy(s->digest, d, NR_DIGEST_BYTES);
        s->stamp = stamp;
        return 0;
    }
    if (stamp == s->stamp) {
        if (v > s->version) {
            s->version = v;
            memcpy(s->digest, d, NR_DIGEST_BYTES);
            return 0;
        }
        if (v == s->version && memcmp(s->digest, d, NR_DIGEST_BYTES) != 0) {
            se->stats.fork_attempts++;
            se_log(se, NR_LOG_ERROR,
                   "FORK ATTEMPT: member %u incarnation %016llx sent two digests for v%llu",
                   s->owner, (unsigned long long)stamp, (unsigned long long)v);
            return 1;
        }
        return 0;
    }
    return 0; /* older stamp: the stored value supersedes it */
}

int nr_se_get(const struct nr_se *se, uint16_t owner, const uint8_t key[NR_KEY_BYTES],
              struct nr_record *out)
{
    uint32_t si = se_slot_find((struct nr_se *)se, owner, key, 0);
    if (si == NONE)
        return NR_ENOTFOUND;
    const struct slot *s = &se->slots[si];
    memcpy(out->key, s->key, NR_KEY_BYTES);
    out->owner = s->owner;
    out->version = s->version;
    memcpy(out->digest, s->digest, NR_DIGEST_BYTES);
    out->stamp = s->stamp;
    return NR_OK;
}

size_t nr_se_record_count(const struct nr_se *se)
{
    return se->n_used;
}

void nr_se_foreach(const struct nr_se *se, int (*fn)(void *arg, const struct nr_record *r),
                   void *arg)
{
    struct nr_record r;
    for (uint32_t i = 0; i < se->n_slots; i++) {
        const struct slot *s = &se->slots[i];
        if (!s->used || s->version == 0)
            continue;
        memcpy(r.key, s->key, NR_KEY_BYTES);
        r.owner = s->owner;
        r.version = s->version;
        memcpy(r.digest, s->digest, NR_DIGEST_BYTES);
        r.stamp = s->stamp;
        if (fn(arg, &r))
            return;
    }
}
