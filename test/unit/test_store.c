#define _XOPEN_SOURCE 700 /* nftw() in the fixture */
/* Unit tests: narratord sealed LMDB store (src/host/store.c) with the real sim TEE and a real
 * LMDB environment. Tampering is staged as the host would do it: by writing the database
 * directly with LMDB between two daemon runs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <lmdb.h>

#include "host/store.h"
#include "narrator/errors.h"
#include "tee_fixture.h"

#define SE_ID "narrator-se/1"

struct ctx {
    struct fix fix;
    char store_dir[700];
    struct nr_tee *tee;
};

static int setup(void **state)
{
    struct ctx *c = calloc(1, sizeof *c);
    if (!c || fix_setup(&c->fix, 2) != 0)
        return -1;
    snprintf(c->store_dir, sizeof c->store_dir, "%s/store", c->fix.dir);
    if (nr_tee_open(&c->tee, "sim", c->fix.plat[0], SE_ID) != NR_OK)
        return -1;
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    struct ctx *c = *state;
    nr_tee_close(c->tee);
    fix_teardown(&c->fix);
    free(c);
    return 0;
}

static void make_rec(struct nr_record *r, unsigned i, uint64_t version)
{
    memset(r, 0, sizeof *r);
    r->key[0] = (uint8_t)i;
    r->key[1] = (uint8_t)(i >> 8);
    r->key[31] = 0xa5;
    r->owner = (uint16_t)(i % 3u);
    r->version = version;
    memset(r->digest, (int)(i + version), sizeof r->digest);
    r->stamp = ((uint64_t)7 << 32) | (i | 1u);
}

static void test_hint_roundtrip(void **state)
{
    struct ctx *c = *state;
    struct nr_store *st;
    struct nr_store_hint h;

    assert_int_equal(nr_store_open(&st, c->store_dir, c->tee, 1000), NR_OK);
    assert_int_equal(nr_store_hint_get(st, &h), NR_ENOTFOUND);
    h.epoch = 41;
    h.was_active = 1;
    assert_int_equal(nr_store_hint_put(st, &h), NR_OK);
    h.epoch = 42;
    h.was_active = 0;
    assert_int_equal(nr_store_hint_put(st, &h), NR_OK);
    nr_store_close(st);

    assert_int_equal(nr_store_open(&st, c->store_dir, c->tee, 1000), NR_OK);
    memset(&h, 0xff, sizeof h);
    assert_int_equal(nr_store_hint_get(st, &h), NR_OK);
    assert_int_equal(h.epoch, 42);
    assert_int_equal(h.was_active, 0);
    nr_store_close(st);
}

static int collect_fn(void *arg, const struct nr_record *r)
{
    uint64_t *sum = arg;
    *sum += r->version;
    return 0;
}

static void test_records_roundtrip(void **state)
{
    struct ctx *c = *state;
    struct nr_store *st;
    struct nr_record r, got;
    uint64_t n = 0, bad = 99, sum = 0;

    assert_int_equal(nr_store_open(&st, c->store_dir, c->tee, 1000), NR_OK);
    for (unsigned i = 0; i < 300; i++) {
        make_rec(&r, i, 1);
        assert_int_equal(nr_store_put_records(st, &r, 1), NR_OK);
    }
    assert_int_equal(nr_store_batch_size(st), 300);
    /* overwrite one record within the same batch, and one in the next batch */
    make_rec(&r, 5, 9);
    assert_int_equal(nr_store_put_records(st, &r, 1), NR_OK);
    assert_int_equal(nr_store_commit(st, 1), NR_OK);
    assert_int_equal(nr_store_batch_size(st), 0);
    make_rec(&r, 6, 10);
    assert_int_equal(nr_store_put_records(st, &r, 1), NR_OK);
    assert_int_equal(nr_store_commit(st, 0), NR_OK);
    /* an uncommitted batch does not survive close */
    make_rec(&r, 7, 77);
    assert_int_equal(nr_store_put_records(st, &r, 1), NR_OK);
    nr_store_close(st);

    assert_int_equal(nr_store_open(&st, c->store_dir, c->tee, 1000), NR_OK);
    for (unsigned i = 0; i < 300; i++) {
        uint64_t want = i == 5 ? 9 : (i == 6 ? 10 : 1);
        make_rec(&r, i, want);
        assert_int_equal(nr_store_get_record(st, r.owner, r.key, &got), NR_OK);
        assert_memory_equal(&got.key, &r.key, sizeof r.key);
        assert_int_equal(got.owner, r.owner);
        assert_int_equal(got.version, want);
        assert_memory_equal(got.digest, r.digest, sizeof r.digest);
        assert_int_equal(got.stamp, r.stamp);
    }
    make_rec(&r, 1000, 1);
    assert_int_equal(nr_store_get_record(st, r.owner, r.key, &got), NR_ENOTFOUND);
    assert_int_equal(nr_store_count(st, &n), NR_OK);
    assert_int_equal(n, 300);
    assert_int_equal(nr_store_foreach(st, collect_fn, &sum, &bad), NR_OK);
    assert_int_equal(bad, 0);
    assert_int_equal(sum, 298 + 9 + 10);
    nr_store_close(st);
}

/* Raw LMDB access, as the host has it. */
static void raw_edit(const char *dir, void (*edit)(MDB_txn *, MDB_dbi, void *), void *arg)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_mapsize(env, 64u << 20), 0);
    assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, NULL, 0, &dbi), 0);
    edit(txn, dbi, arg);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

struct flip {
    uint8_t key[64];
    size_t klen;
    size_t offset;
};

static void flip_edit(MDB_txn *txn, MDB_dbi dbi, void *arg)
{
    struct flip *f = arg;
    MDB_val k = {f->klen, f->key}, v;
    uint8_t buf[256];
    assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
    assert_true(v.mv_size <= sizeof buf && f->offset < v.mv_size);
    memcpy(buf, v.mv_data, v.mv_size);
    buf[f->offset] ^= 0x01;
    v.mv_data = buf;
    assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
}

static void rec_db_key(uint8_t out[35], const struct nr_record *r)
{
    out[0] = 'r';
    out[1] = (uint8_t)(r->owner & 0xff);
    out[2] = (uint8_t)(r->owner >> 8);
    memcpy(out + 3, r->key, 32);
}

static void test_tampered_record_detected(void **state)
{
    struct ctx *c = *state;
    struct nr_store *st;
    struct nr_record r[3], got;
    uint64_t bad = 0, sum = 0;

    assert_int_equal(nr_store_open(&st, c->store_dir, c->tee, 1000), NR_OK);
    for (unsigned i = 0; i < 3; i++)
        make_rec(&r[i], i, 3);
    assert_int_equal(nr_store_put_records(st, r, 3), NR_OK);
    assert_int_equal(nr_store_commit(st, 1), NR_OK);
    nr_store_close(st);

    /* flip one ciphertext bit of record 1 (every offset class: header, nonce, body, tag) */
    size_t offsets[] = {0, 10, 40, 80};
    for (size_t o = 0; o < sizeof offsets / sizeof offsets[0]; o++) {
        struct flip f = {.klen = 35, .offset = offsets[o]};
        rec_db_key(f.key, &r[1]);
        raw_edit(c->store_dir, flip_edit, &f);
        assert_int_equal(nr_store_open(&st, c->store_dir, c->tee, 1000), NR_OK);
        assert_int_equal(nr_store_get_record(st, r[1].owner, r[1].key, &got), NR_EUNSEAL);
        assert_int_equal(nr_store_get_record(st, r[0].owner, r[0].key, &got), NR_OK);
        assert_int_equal(nr_store_foreach(st, collect_fn, &sum, &bad), NR_OK);
        assert_int_equal(bad, 1);
        nr_store_close(st);
        raw_edit(c->store_dir, flip_edit, &f); /* flip back: readable again */
        assert_int_equal(nr_store_open(&st, c->store_dir, c->tee, 1000), NR_OK);
        assert_int_equal(nr_store_get_record(st, r[1].owner, r[1].key, &got), NR_OK);
        nr_store_close(st);
    }
}

struct move {
    uint8_t from[35], to[35];
};

static void move_edit(MDB_txn *txn, MDB_dbi dbi, void *arg)
{
    struct move *m = arg;
    MDB_val kf = {35, m->from}, kt = {35, m->to}, v;
    uint8_t buf[256];
    assert_int_equal(mdb_get(txn, dbi, &kf, &v), 0);
    memcpy(buf, v.mv_data, v.mv_size);
    v.mv_data = buf;
    assert_int_equal(mdb_put(txn, dbi, &kt, &v, 0), 0);
}

static void truncate_edit(MDB_txn *txn, MDB_dbi dbi, void *arg)
{
    MDB_val k = {4, (void *)"hint"}, v;
    uint8_t buf[256];
    (void)arg;
    assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
    memcpy(buf, v.mv_data, v.mv_size);
    v.mv_data = buf;
    v.mv_size -= 1;
    assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
}

static void test_moved_truncated_foreign(void **state)
{
    struct ctx *c = *state;
    struct nr_store *st;
    struct nr_store_hint h = {.epoch = 3, .was_active = 1};
    struct nr_record r[2], got;
    struct nr_tee *other;

    assert_int_equal(nr_store_open(&st, c->store_dir, c->tee, 1000), NR_OK);
    make_rec(&r[0], 1, 5);
    make_rec(&r[1], 2, 1);
    assert_int_equal(nr_store_put_records(st, r, 2), NR_OK);
    assert_int_equal(nr_store_hint_put(st, &h), NR_OK); /* commits the open batch too */
    nr_store_close(st);

    /* A value copied to another key (record 1's newer value over record 2) is refused. */
    struct move m;
    rec_db_key(m.from, &r[0]);
    rec_db_key(m.to, &r[1]);
    raw_edit(c->store_dir, move_edit, &m);
    assert_int_equal(nr_store_open(&st, c->store_dir, c->tee, 1000), NR_OK);
    assert_int_equal(nr_store_get_record(st, r[1].owner, r[1].key, &got), NR_EUNSEAL);
    assert_int_equal(nr_store_get_record(st, r[0].owner, r[0].key, &got), NR_OK);
    nr_store_close(st);

    /* Another platform (another CPU) cannot read it. */
    assert_int_equal(nr_tee_open(&other, "sim", c->fix.plat[1], SE_ID), NR_OK);
    assert_int_equal(nr_store_open(&st, c->store_dir, other, 1000), NR_OK);
    assert_int_equal(nr_store_hint_get(st, &h), NR_EUNSEAL);
    assert_int_equal(nr_store_get_record(st, r[0].owner, r[0].key, &got), NR_EUNSEAL);
    nr_store_close(st);
    nr_tee_close(other);

    /* Another enclave on the same platform cannot either. */
    assert_int_equal(nr_tee_open(&other, "sim", c->fix.plat[0], "some-other-enclave/1"), NR_OK);
    assert_int_equal(nr_store_open(&st, c->store_dir, other, 1000), NR_OK);
    assert_int_equal(nr_store_hint_get(st, &h), NR_EUNSEAL);
    nr_store_close(st);
    nr_tee_close(other);

    /* A truncated hint is refused. */
    raw_edit(c->store_dir, truncate_edit, NULL);
    assert_int_equal(nr_store_open(&st, c->store_dir, c->tee, 1000), NR_OK);
    assert_int_equal(nr_store_hint_get(st, &h), NR_EUNSEAL);
    nr_store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hint_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_records_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tampered_record_detected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_moved_truncated_foreign, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
