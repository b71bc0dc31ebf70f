#include "host/store.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "core/wire.h"
#include "host/log.h"

#define HINT_KEY "hint"
#define HINT_KEY_LEN 4u
#define HINT_PT_BYTES (1u + 4u + 1u + 1u + NR_GENESIS_ID_BYTES)
#define REC_KEY_BYTES (1u + 2u + NR_KEY_BYTES)
#define REC_PT_BYTES (1u + 8u + NR_DIGEST_BYTES + 8u)
#define FORMAT 1u
#define MAP_BYTES_PER_RECORD 256u
#define MAP_BASE_BYTES (16u * 1024u * 1024u)

struct nr_store {
    MDB_env *env;
    MDB_dbi dbi;
    MDB_txn *batch; /* open write transaction, or NULL */
    int lock_fd;    /* flock()ed DataDir/narratord.lock: one instance per data directory */
    size_t batch_count;
    struct nr_tee *tee;
};

static int lmdb_err(const char *what, int rc)
{
    if (rc == MDB_MAP_FULL) {
        NR_LOGE("store: %s: map full", what);
        return NR_EFULL;
    }
    NR_LOGE("store: %s: %s", what, mdb_strerror(rc));
    return NR_EIO;
}

int nr_store_open(struct nr_store **out, const char *dir, struct nr_tee *tee, uint32_t max_records)
{
    struct nr_store *st;
    MDB_txn *txn = NULL;
    int rc;

    *out = NULL;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        NR_LOGE("store: cannot create %s: %s", dir, strerror(errno));
        return NR_EIO;
    }
    st = calloc(1, sizeof *st);
    if (!st)
        return NR_ENOMEM;
    st->tee = tee;
    /* One instance per data directory: a second one (a supervisor restarting a hung SE, or
     * a clone started on the same directory) would otherwise wait for LMDB's writer lock
     * without a word. A clone needs a copy of the directory. */
    char lock_path[4096];
    snprintf(lock_path, sizeof lock_path, "%s/narratord.lock", dir);
    st->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (st->lock_fd < 0 || flock(st->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        int busy = st->lock_fd >= 0 && errno == EWOULDBLOCK;
        NR_LOGE("store: %s %s", lock_path,
                busy ? "is locked: another narratord instance uses this data directory"
                     : strerror(errno));
        if (st->lock_fd >= 0)
            close(st->lock_fd);
        free(st);
        return busy ? NR_EBUSY : NR_EIO;
    }
    rc = mdb_env_create(&st->env);
    if (rc != 0) {
        close(st->lock_fd);
        free(st);
        return lmdb_err("env_create", rc);
    }
    size_t map = MAP_BASE_BYTES + (size_t)max_records * MAP_BYTES_PER_RECORD;
    rc = mdb_env_set_mapsize(st->env, map);
    if (rc == 0)
        rc = mdb_env_open(st->env, dir, MDB_NOSYNC, 0600);
    if (rc == 0)
        rc = mdb_txn_begin(st->env, NULL, 0, &txn);
    if (rc == 0)
        rc = mdb_dbi_open(txn, NULL, 0, &st->dbi);
    if (rc == 0) {
        rc = mdb_txn_commit(txn);
        txn = NULL;
    }
    if (rc != 0) {
        int err = lmdb_err("open", rc);
        if (txn)
            mdb_txn_abort(txn);
        mdb_env_close(st->env);
        close(st->lock_fd);
        free(st);
        return err;
    }
    *out = st;
    return NR_OK;
}

void nr_store_close(struct nr_store *st)
{
    if (!st)
        return;
    if (st->batch)
        mdb_txn_abort(st->batch);
    mdb_env_close(st->env);
    close(st->lock_fd);
    free(st);
}

static void rec_key(uint8_t k[REC_KEY_BYTES], uint16_t owner, const uint8_t key[NR_KEY_BYTES])
{
    k[0] = 'r';
    nr_put_u16(k + 1, owner);
    memcpy(k + 3, key, NR_KEY_BYTES);
}

/* Unseal a stored value (untrusted bytes) into pt of exactly `want` bytes. */
static int open_value(struct nr_store *st, const MDB_val *k, const MDB_val *v, uint8_t *pt,
                      size_t want)
{
    uint8_t buf[64];
    size_t len = 0;
    int rc;

    if (v->mv_size > want + NR_SEAL_OVERHEAD)
        return NR_EMALFORMED;
    rc = nr_tee_unseal(st->tee, v->mv_data, v->mv_size, k->mv_data, k->mv_size, buf, sizeof buf,
                       &len);
    if (rc != NR_OK)
        return rc == NR_EFULL ? NR_EMALFORMED : rc;
    if (len != want || buf[0] != FORMAT) {
        sodium_memzero(buf, sizeof buf);
        return NR_EMALFORMED;
    }
    memcpy(pt, buf, want);
    sodium_memzero(buf, sizeof buf);
    return NR_OK;
}

int nr_store_hint_get(struct nr_store *st, struct nr_store_hint *out)
{
    MDB_txn *txn;
    MDB_val k = {HINT_KEY_LEN, (void *)HINT_KEY}, v;
    uint8_t pt[HINT_PT_BYTES];
    struct nr_cur c;
    uint8_t fmt, active, has_genesis;
    int rc;

    memset(out, 0, sizeof *out);
    rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0)
        return lmdb_err("hint txn", rc);
    rc = mdb_get(txn, st->dbi, &k, &v);
    if (rc == MDB_NOTFOUND) {
        mdb_txn_abort(txn);
        return NR_ENOTFOUND;
    }
    if (rc != 0) {
        mdb_txn_abort(txn);
        return lmdb_err("hint get", rc);
    }
    rc = open_value(st, &k, &v, pt, sizeof pt);
    mdb_txn_abort(txn);
    if (rc != NR_OK)
        return rc;
    nr_cur_init(&c, pt, sizeof pt);
    (void)nr_cur_u8(&c, &fmt);
    (void)nr_cur_u32(&c, &out->epoch);
    (void)nr_cur_u8(&c, &active);
    (void)nr_cur_u8(&c, &has_genesis);
    (void)nr_cur_bytes(&c, out->genesis, NR_GENESIS_ID_BYTES);
    if (c.err || active > 1 || has_genesis > 1)
        return NR_EMALFORMED;
    out->was_active = active;
    out->has_genesis = has_genesis;
    return NR_OK;
}

static int put_sealed(struct nr_store *st, MDB_txn *txn, const uint8_t *k, size_t klen,
                      const uint8_t *pt, size_t len)
{
    uint8_t blob[REC_PT_BYTES + NR_SEAL_OVERHEAD];
    size_t blen = 0;
    MDB_val key = {klen, (void *)k}, val;
    int rc;

    rc = nr_tee_seal(st->tee, pt, len, k, klen, blob, sizeof blob, &blen);
    if (rc != NR_OK)
        return rc;
    val.mv_size = blen;
    val.mv_data = blob;
    rc = mdb_put(txn, st->dbi, &key, &val, 0);
    if (rc != 0)
        return lmdb_err("put", rc);
    return NR_OK;
}

int nr_store_hint_put(struct nr_store *st, const struct nr_store_hint *h)
{
    uint8_t pt[HINT_PT_BYTES], *p = pt;
    MDB_txn *txn;
    int rc;

    rc = nr_store_commit(st, 0);
    if (rc != NR_OK)
        return rc;
    p = nr_put_u8(p, FORMAT);
    p = nr_put_u32(p, h->epoch);
    p = nr_put_u8(p, h->was_active ? 1u : 0u);
    p = nr_put_u8(p, h->has_genesis ? 1u : 0u);
    if (h->has_genesis)
        (void)nr_put_bytes(p, h->genesis, NR_GENESIS_ID_BYTES);
    else
        memset(p, 0, NR_GENESIS_ID_BYTES);
    rc = mdb_txn_begin(st->env, NULL, 0, &txn);
    if (rc != 0)
        return lmdb_err("hint txn", rc);
    rc = put_sealed(st, txn, (const uint8_t *)HINT_KEY, HINT_KEY_LEN, pt, sizeof pt);
    if (rc != NR_OK) {
        mdb_txn_abort(txn);
        return rc;
    }
    rc = mdb_txn_commit(txn);
    if (rc != 0)
        return lmdb_err("hint commit", rc);
    rc = mdb_env_sync(st->env, 1);
    if (rc != 0)
        return lmdb_err("hint sync", rc);
    return NR_OK;
}

int nr_store_put_records(struct nr_store *st, const struct nr_record *recs, size_t count)
{
    uint8_t k[REC_KEY_BYTES], pt[REC_PT_BYTES], *p;
    int rc;

    if (count == 0)
        return NR_OK;
    if (!st->batch) {
        rc = mdb_txn_begin(st->env, NULL, 0, &st->batch);
        if (rc != 0) {
            st->batch = NULL;
            return lmdb_err("batch txn", rc);
        }
        st->batch_count = 0;
    }
    for (size_t i = 0; i < count; i++) {
        rec_key(k, recs[i].owner, recs[i].key);
        p = nr_put_u8(pt, FORMAT);
        p = nr_put_u64(p, recs[i].version);
        p = nr_put_bytes(p, recs[i].digest, NR_DIGEST_BYTES);
        (void)nr_put_u64(p, recs[i].stamp);
        rc = put_sealed(st, st->batch, k, sizeof k, pt, sizeof pt);
        if (rc != NR_OK) {
            /* The transaction may be unusable after an error: drop the whole batch (the store
             * is only a hint; the core does not depend on it in MEMORY mode, and in DISK
             * mode the caller does not report persistence). */
            mdb_txn_abort(st->batch);
            st->batch = NULL;
            st->batch_count = 0;
            return rc;
        }
        st->batch_count++;
    }
    return NR_OK;
}

size_t nr_store_batch_size(const struct nr_store *st)
{
    return st->batch ? st->batch_count : 0;
}

int nr_store_commit(struct nr_store *st, int sync)
{
    int rc;

    if (st->batch) {
        rc = mdb_txn_commit(st->batch);
        st->batch = NULL;
        st->batch_count = 0;
        if (rc != 0)
            return lmdb_err("commit", rc);
    }
    /* Sync even without an open batch: an earlier unsynced commit (e.g. the one that
     * nr_store_hint_put makes first) must be on disk when the caller reports durability. */
    if (sync) {
        rc = mdb_env_sync(st->env, 1);
        if (rc != 0)
            return lmdb_err("sync", rc);
    }
    return NR_OK;
}

static int decode_record(struct nr_store *st, const MDB_val *k, const MDB_val *v,
                         struct nr_record *out)
{
    uint8_t pt[REC_PT_BYTES], fmt;
    struct nr_cur c;
    int rc;

    if (k->mv_size != REC_KEY_BYTES || ((const uint8_t *)k->mv_data)[0] != 'r')
        return NR_EMALFORMED;
    rc = open_value(st, k, v, pt, sizeof pt);
    if (rc != NR_OK)
        return rc;
    memset(out, 0, sizeof *out);
    nr_cur_init(&c, (const uint8_t *)k->mv_data + 1, REC_KEY_BYTES - 1u);
    (void)nr_cur_u16(&c, &out->owner);
    (void)nr_cur_bytes(&c, out->key, NR_KEY_BYTES);
    nr_cur_init(&c, pt, sizeof pt);
    (void)nr_cur_u8(&c, &fmt);
    (void)nr_cur_u64(&c, &out->version);
    (void)nr_cur_bytes(&c, out->digest, NR_DIGEST_BYTES);
    (void)nr_cur_u64(&c, &out->stamp);
    return c.err ? NR_EMALFORMED : NR_OK;
}

int nr_store_get_record(struct nr_store *st, uint16_t owner, const uint8_t key[NR_KEY_BYTES],
                        struct nr_record *out)
{
    uint8_t k[REC_KEY_BYTES];
    MDB_val mk = {sizeof k, k}, v;
    MDB_txn *txn;
    int rc;

    rec_key(k, owner, key);
    rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0)
        return lmdb_err("get txn", rc);
    rc = mdb_get(txn, st->dbi, &mk, &v);
    if (rc == MDB_NOTFOUND)
        rc = NR_ENOTFOUND;
    else if (rc != 0)
        rc = lmdb_err("get", rc);
    else
        rc = decode_record(st, &mk, &v, out);
    mdb_txn_abort(txn);
    return rc;
}

int nr_store_foreach(struct nr_store *st, int (*fn)(void *arg, const struct nr_record *r),
                     void *arg, uint64_t *bad)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v;
    uint8_t first = 'r';
    struct nr_record r;
    int rc;

    if (bad)
        *bad = 0;
    rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0)
        return lmdb_err("iter txn", rc);
    rc = mdb_cursor_open(txn, st->dbi, &cur);
    if (rc != 0) {
        mdb_txn_abort(txn);
        return lmdb_err("cursor", rc);
    }
    k.mv_size = 1;
    k.mv_data = &first;
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (rc == 0) {
        if (k.mv_size < 1 || ((const uint8_t *)k.mv_data)[0] != 'r')
            break;
        if (decode_record(st, &k, &v, &r) != NR_OK) {
            if (bad)
                (*bad)++;
        } else if (fn(arg, &r) != 0) {
            break;
        }
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    sodium_memzero(&r, sizeof r);
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return lmdb_err("iterate", rc);
    return NR_OK;
}

static int count_fn(void *arg, const struct nr_record *r)
{
    (void)r;
    (*(uint64_t *)arg)++;
    return 0;
}

int nr_store_count(struct nr_store *st, uint64_t *out)
{
    uint64_t bad = 0;
    int rc;

    *out = 0;
    rc = nr_store_foreach(st, count_fn, out, &bad);
    *out += bad;
    return rc;
}
