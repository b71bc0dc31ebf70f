/* Unit tests: sealed state files (<path>.0/.1) and the restore check on a real sim TEE.
 * The network record is given directly (nr_restore_local), so no daemon is needed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "client/client_internal.h"
#include "tee/tee.h"

struct fx {
    char dir[256];
    char path[300];
    struct nr_client c;
    struct nr_client other_platform;
    struct nr_session s; /* stands for the session: only its genesis id is used */
};

static uint8_t g_net_genesis[NR_GENESIS_ID_BYTES]; /* genesis of the network restored against */
static uint8_t g_pred[NR_CLIENT_MAX_LINEAGE][NR_GENESIS_ID_BYTES]; /* its earlier epochs */
static unsigned g_npred;

/* This test compiles seal.c alone: the SE's genesis id comes from the fixture's session
 * (client.c asks the SE for it with C_STATUS; tested end to end in test/integration). */
int nr_client_genesis(struct nr_client *c, uint8_t out[NR_GENESIS_ID_BYTES])
{
    if (!c->s->has_genesis)
        return NR_ENOTREADY;
    memcpy(out, c->s->genesis, NR_GENESIS_ID_BYTES);
    return NR_OK;
}

static int rm_rf(const char *dir)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd);
}

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof *fx);
    char root[300], plat[300], plat2[300];
    assert_non_null(fx);
    assert_true(sodium_init() >= 0);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/nr-seal-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(root, sizeof root, "%s/root", fx->dir);
    snprintf(plat, sizeof plat, "%s/plat", fx->dir);
    snprintf(plat2, sizeof plat2, "%s/plat2", fx->dir);
    assert_int_equal(nr_tee_sim_root_create(root), NR_OK);
    assert_int_equal(nr_tee_sim_platform_create(plat, root), NR_OK);
    assert_int_equal(nr_tee_sim_platform_create(plat2, root), NR_OK);
    assert_int_equal(nr_tee_open(&fx->c.tee, "sim", plat, "pin-example/1"), NR_OK);
    assert_int_equal(nr_tee_open(&fx->other_platform.tee, "sim", plat2, "pin-example/1"), NR_OK);
    memset(fx->c.system_id, 0xA5, sizeof fx->c.system_id);
    memset(fx->other_platform.system_id, 0xA5, sizeof fx->other_platform.system_id);
    fx->s.has_genesis = 1;
    memset(fx->s.genesis, 0x6E, sizeof fx->s.genesis);
    memcpy(g_net_genesis, fx->s.genesis, sizeof g_net_genesis);
    g_npred = 0;
    fx->c.s = &fx->s;
    fx->other_platform.s = &fx->s;
    snprintf(fx->path, sizeof fx->path, "%s/state", fx->dir);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    nr_tee_close(fx->c.tee);
    if (fx->other_platform.tee && fx->other_platform.tee != fx->c.tee) {
        nr_tee_close(fx->other_platform.tee);
    }
    (void)rm_rf(fx->dir);
    free(fx);
    return 0;
}

static void digest_of(uint8_t d[NR_DIGEST_BYTES], const char *s, uint64_t v)
{
    nr_state_digest(d, (const uint8_t *)s, strlen(s), v);
}

static int restore(struct nr_client *c, const char *path, uint64_t vn, const char *net_state,
                   char *out, uint64_t *v, int *res)
{
    uint8_t dn[NR_DIGEST_BYTES];
    size_t len = 0;
    memset(dn, 0, sizeof dn);
    if (vn) {
        digest_of(dn, net_state, vn);
    }
    int rc = nr_restore_local(c, path, vn, dn, g_net_genesis,
                              (const uint8_t(*)[NR_GENESIS_ID_BYTES])g_pred, g_npred,
                              (uint8_t *)out, 63, &len, v, res);
    if (rc == NR_OK) {
        out[len] = '\0';
    }
    return rc;
}

static void seal(struct nr_client *c, const char *path, const char *s, uint64_t v)
{
    assert_int_equal(nr_seal_state(c, path, (const uint8_t *)s, strlen(s), v), NR_OK);
}

static void test_digest_domain(void **state)
{
    (void)state;
    uint8_t a[NR_DIGEST_BYTES], b[NR_DIGEST_BYTES], c[NR_DIGEST_BYTES];
    digest_of(a, "abc", 1);
    digest_of(b, "abc", 2);
    digest_of(c, "abd", 1);
    assert_memory_not_equal(a, b, NR_DIGEST_BYTES);
    assert_memory_not_equal(a, c, NR_DIGEST_BYTES);
    /* BLAKE2b-256("narrator-state" || u64le(1) || "abc") computed independently */
    uint8_t msg[14 + 8 + 3], want[NR_DIGEST_BYTES];
    memcpy(msg, "narrator-state", 14);
    memset(msg + 14, 0, 8);
    msg[14] = 1;
    memcpy(msg + 22, "abc", 3);
    crypto_generichash(want, sizeof want, msg, sizeof msg, NULL, 0);
    assert_memory_equal(a, want, NR_DIGEST_BYTES);
}

static void test_fresh_and_dropped(void **state)
{
    struct fx *fx = *state;
    char out[64];
    uint64_t v = 0;
    int res = -1;
    /* nothing sealed, nothing on the network */
    assert_int_equal(restore(&fx->c, fx->path, 0, NULL, out, &v, &res), NR_OK);
    assert_int_equal(res, NR_RESTORE_NO_RECORD);
    assert_int_equal(v, 0);
    seal(&fx->c, fx->path, "one", 1);
    seal(&fx->c, fx->path, "two", 2);
    seal(&fx->c, fx->path, "three", 3);
    assert_int_equal(restore(&fx->c, fx->path, 3, "three", out, &v, &res), NR_OK);
    assert_int_equal(res, NR_RESTORE_FRESH);
    assert_int_equal(v, 3);
    assert_string_equal(out, "three");
    /* v3 sealed but only v2 committed */
    assert_int_equal(restore(&fx->c, fx->path, 2, "two", out, &v, &res), NR_OK);
    assert_int_equal(res, NR_RESTORE_DROPPED_UNCOMMITTED);
    assert_int_equal(v, 2);
    assert_string_equal(out, "two");
    /* no temporary files left behind */
    char tmp[400];
    snprintf(tmp, sizeof tmp, "%s.1.tmp", fx->path);
    assert_int_not_equal(access(tmp, F_OK), 0);
}

static void test_rollback_fork_ahead(void **state)
{
    struct fx *fx = *state;
    char out[64];
    uint64_t v = 0;
    int res = -1;
    seal(&fx->c, fx->path, "one", 1);
    seal(&fx->c, fx->path, "two", 2);
    assert_int_equal(restore(&fx->c, fx->path, 4, "four", out, &v, &res), NR_EROLLBACK);
    assert_int_equal(restore(&fx->c, fx->path, 2, "TWO", out, &v, &res), NR_EFORK);
    assert_int_equal(restore(&fx->c, fx->path, 0, NULL, out, &v, &res), NR_EAHEAD);
}

static size_t slurp(const char *file, uint8_t *buf, size_t cap)
{
    FILE *f = fopen(file, "rb");
    assert_non_null(f);
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

static void spill(const char *file, const uint8_t *buf, size_t len)
{
    FILE *f = fopen(file, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, len, f), len);
    fclose(f);
}

/* The PIN attack on files: keep a copy, advance, put the copy back. */
static void test_copy_restore_is_rollback(void **state)
{
    struct fx *fx = *state;
    char out[64], a[400], b[400];
    uint8_t ca[512], cb[512];
    uint64_t v = 0;
    int res = -1;
    snprintf(a, sizeof a, "%s.0", fx->path);
    snprintf(b, sizeof b, "%s.1", fx->path);
    seal(&fx->c, fx->path, "attempts=0", 1);
    seal(&fx->c, fx->path, "attempts=1", 2);
    seal(&fx->c, fx->path, "attempts=2", 3);
    size_t la = slurp(a, ca, sizeof ca), lb = slurp(b, cb, sizeof cb);
    seal(&fx->c, fx->path, "attempts=3 locked", 4);
    assert_int_equal(restore(&fx->c, fx->path, 4, "attempts=3 locked", out, &v, &res), NR_OK);
    assert_string_equal(out, "attempts=3 locked");
    spill(a, ca, la);
    spill(b, cb, lb);
    assert_int_equal(restore(&fx->c, fx->path, 4, "attempts=3 locked", out, &v, &res),
                     NR_EROLLBACK);
}

static void test_swapped_and_foreign_files(void **state)
{
    struct fx *fx = *state;
    char out[64], a[400], b[400], t[400];
    uint64_t v = 0;
    int res = -1;
    seal(&fx->c, fx->path, "one", 1);
    seal(&fx->c, fx->path, "two", 2);
    /* swap .0 and .1: both fail their name binding -> no valid sealed state */
    snprintf(a, sizeof a, "%s.0", fx->path);
    snprintf(b, sizeof b, "%s.1", fx->path);
    snprintf(t, sizeof t, "%s.x", fx->path);
    assert_int_equal(rename(a, t), 0);
    assert_int_equal(rename(b, a), 0);
    assert_int_equal(rename(t, b), 0);
    assert_int_equal(restore(&fx->c, fx->path, 2, "two", out, &v, &res), NR_EROLLBACK);
    /* another platform cannot open them either */
    assert_int_equal(rename(a, t), 0);
    assert_int_equal(rename(b, a), 0);
    assert_int_equal(rename(t, b), 0);
    assert_int_equal(restore(&fx->c, fx->path, 2, "two", out, &v, &res), NR_OK);
    assert_int_equal(restore(&fx->other_platform, fx->path, 2, "two", out, &v, &res), NR_EROLLBACK);
    /* another system id cannot either */
    fx->other_platform.system_id[0] ^= 1;
    nr_tee_close(fx->other_platform.tee);
    fx->other_platform.tee = fx->c.tee;
    assert_int_equal(restore(&fx->other_platform, fx->path, 2, "two", out, &v, &res), NR_EROLLBACK);
    fx->other_platform.tee = NULL;
    /* a truncated or garbage file counts as absent */
    FILE *f = fopen(b, "wb");
    assert_non_null(f);
    fputs("NRSTATE2garbage", f);
    fclose(f);
    assert_int_equal(restore(&fx->c, fx->path, 2, "two", out, &v, &res), NR_OK);
    assert_int_equal(v, 2);
    assert_int_equal(restore(&fx->c, fx->path, 1, "one", out, &v, &res), NR_EROLLBACK);
}

/* State committed in one network, restored against an SE of another network (a blank-clone
 * network the host started beside the real one): GENESIS MISMATCH, whatever the other
 * network's record says -- in particular never "no record, start from scratch". */
static void test_other_network_refused(void **state)
{
    struct fx *fx = *state;
    char out[64];
    uint64_t v = 0;
    int res = -1;
    seal(&fx->c, fx->path, "one", 1);
    seal(&fx->c, fx->path, "two", 2);
    assert_int_equal(restore(&fx->c, fx->path, 2, "two", out, &v, &res), NR_OK);
    g_net_genesis[0] ^= 1; /* the SE serves another network */
    assert_int_equal(restore(&fx->c, fx->path, 0, "", out, &v, &res), NR_EGENESIS);
    assert_int_equal(restore(&fx->c, fx->path, 1, "one", out, &v, &res), NR_EGENESIS);
    assert_int_equal(restore(&fx->c, fx->path, 2, "two", out, &v, &res), NR_EGENESIS);
    g_net_genesis[0] ^= 1;
    assert_int_equal(restore(&fx->c, fx->path, 2, "two", out, &v, &res), NR_OK);
}

/* docs/protocol.md §10.5: state sealed in an earlier epoch of the SE's network (a predecessor
 * the SE names) is restored by the usual version rules; an epoch that is not in the lineage,
 * or a lineage naming another network, is still GENESIS MISMATCH. */
static void test_earlier_epoch_accepted(void **state)
{
    struct fx *fx = *state;
    char out[64];
    uint64_t v = 0;
    int res = -1;
    uint8_t epoch1[NR_GENESIS_ID_BYTES];
    seal(&fx->c, fx->path, "one", 1);
    seal(&fx->c, fx->path, "two", 2); /* both sealed in epoch 1 */
    memcpy(epoch1, g_net_genesis, sizeof epoch1);
    /* the network moved on to epoch 2; the SE names epoch 1 as its predecessor */
    memset(fx->s.genesis, 0x77, sizeof fx->s.genesis);
    memcpy(g_net_genesis, fx->s.genesis, sizeof g_net_genesis);
    assert_int_equal(restore(&fx->c, fx->path, 2, "two", out, &v, &res), NR_EGENESIS);
    memset(g_pred[0], 0x11, NR_GENESIS_ID_BYTES); /* an unrelated epoch first */
    memcpy(g_pred[1], epoch1, NR_GENESIS_ID_BYTES);
    g_npred = 1;
    assert_int_equal(restore(&fx->c, fx->path, 2, "two", out, &v, &res), NR_EGENESIS);
    g_npred = 2;
    assert_int_equal(restore(&fx->c, fx->path, 2, "two", out, &v, &res), NR_OK);
    assert_int_equal(res, NR_RESTORE_FRESH);
    assert_string_equal(out, "two");
    /* the rules are the usual ones: older than the record is a rollback */
    assert_int_equal(restore(&fx->c, fx->path, 3, "three", out, &v, &res), NR_EROLLBACK);
    /* the next seal is under epoch 2; both files restore, either genesis accepted */
    seal(&fx->c, fx->path, "three", 3);
    assert_int_equal(restore(&fx->c, fx->path, 3, "three", out, &v, &res), NR_OK);
    assert_string_equal(out, "three");
    /* without the lineage, the file of epoch 1 beside it is another network's */
    g_npred = 0;
    assert_int_equal(restore(&fx->c, fx->path, 3, "three", out, &v, &res), NR_EGENESIS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_other_network_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_earlier_epoch_accepted, setup, teardown),
        cmocka_unit_test(test_digest_domain),
        cmocka_unit_test_setup_teardown(test_fresh_and_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rollback_fork_ahead, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_restore_is_rollback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_swapped_and_foreign_files, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
