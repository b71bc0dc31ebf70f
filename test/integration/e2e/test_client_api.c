/* libnarrator against a real 3-node network (started by client_api.sh): the public API's
 * error paths, pipelining rules, attestation refusals, and nr_restore's outcomes with real
 * sealed files. Environment: NET (the network directory), NARRATOR_SYSTEM_ID. */
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

#include "narrator/narrator.h"

#define AE "narrator-client-api-test/1"

static char g_net[512];
static char g_tmp[256];
static unsigned g_seq;

static void options(struct nr_client_options *o, unsigned node, unsigned platform, char *sock,
                    char *plat)
{
    size_t bin_len = 0;
    memset(o, 0, sizeof *o);
    snprintf(sock, 600, "%s/node%u/se.sock", g_net, node);
    snprintf(plat, 600, "%s/node%u/platform", g_net, platform);
    o->socket_path = sock;
    o->platform_dir = plat;
    o->code_identity = AE;
    o->timeout_ms = 5000;
    const char *sys = getenv("NARRATOR_SYSTEM_ID");
    assert_non_null(sys);
    assert_int_equal(sodium_hex2bin(o->system_id, sizeof o->system_id, sys, strlen(sys), NULL,
                                    &bin_len, NULL), 0);
}

/* A fresh record name per test (the network outlives the tests). */
static const char *fresh_name(char *buf, size_t cap)
{
    snprintf(buf, cap, "rec-%u-%u", (unsigned)getpid(), g_seq++);
    return buf;
}

static struct nr_client *open_ok(const char *name, unsigned window)
{
    char sock[600], plat[600];
    struct nr_client_options o;
    struct nr_client *c = NULL;
    options(&o, 0, 0, sock, plat);
    o.window = window;
    assert_int_equal(nr_open(&c, &o, name), NR_OK);
    return c;
}

static void dg(uint8_t d[NR_DIGEST_BYTES], uint8_t b)
{
    memset(d, b, NR_DIGEST_BYTES);
}

static void test_open_errors(void **state)
{
    (void)state;
    char sock[600], plat[600], name[64], big[200];
    struct nr_client_options o;
    struct nr_client *c = NULL;
    fresh_name(name, sizeof name);

    options(&o, 0, 0, sock, plat);
    assert_int_equal(nr_open(&c, &o, ""), NR_EINVAL);
    memset(big, 'x', 129);
    big[129] = '\0';
    assert_int_equal(nr_open(&c, &o, big), NR_EINVAL);
    assert_null(c);

    snprintf(sock, sizeof sock, "%s/no-such.sock", g_tmp);
    assert_int_equal(nr_open(&c, &o, name), NR_EUNREACHABLE);

    /* expecting another SE measurement: our report targets that enclave, so the SE cannot
     * verify it and says so */
    options(&o, 0, 0, sock, plat);
    o.se_code_identity = "not-narrator-se/1";
    assert_int_equal(nr_open(&c, &o, name), NR_EATTEST);
    assert_null(c);

    /* an AE on platform 1 talking to the SE of platform 0: the SE cannot verify its local
     * report and says so (it used to read as NR_ECLOSED) */
    options(&o, 0, 1, sock, plat);
    assert_int_equal(nr_open(&c, &o, name), NR_EATTEST);
    assert_null(c);

    /* another system id: the SE refuses the handshake (also used to be NR_ECLOSED) */
    options(&o, 0, 0, sock, plat);
    o.system_id[0] ^= 0x01;
    assert_int_equal(nr_open(&c, &o, name), NR_EHANDSHAKE);
    assert_null(c);
    struct nr_session *sess = NULL;
    assert_int_equal(nr_session_open(&sess, &o), NR_EHANDSHAKE);
    assert_null(sess);
}

static void test_update_read_conflict(void **state)
{
    (void)state;
    char name[64];
    uint8_t d1[NR_DIGEST_BYTES], d2[NR_DIGEST_BYTES], got[NR_DIGEST_BYTES];
    uint64_t v = 99, committed = 0;
    struct nr_client *c = open_ok(fresh_name(name, sizeof name), 0);
    dg(d1, 1);
    dg(d2, 2);
    assert_int_equal(nr_read(c, &v, got), NR_OK);
    assert_int_equal(v, 0);
    assert_int_equal(nr_update(c, 1, d1, &committed), NR_OK);
    assert_int_equal(committed, 1);
    assert_int_equal(nr_update(c, 1, d2, &committed), NR_ECONFLICT);
    assert_int_equal(nr_update(c, 3, d2, &committed), NR_ECONFLICT);
    /* a refusal leaves the handle usable */
    assert_int_equal(nr_update(c, 2, d2, &committed), NR_OK);
    assert_int_equal(nr_read(c, &v, got), NR_OK);
    assert_int_equal(v, 2);
    assert_memory_equal(got, d2, NR_DIGEST_BYTES);
    assert_int_equal(nr_update(c, 0, d2, NULL), NR_EINVAL);
    nr_close(c);

    /* a clone of the AE (second handle, same record): the sequencer serialises them */
    struct nr_client *a = open_ok(name, 0), *b = open_ok(name, 0);
    assert_int_equal(nr_update(a, 3, d1, NULL), NR_OK);
    assert_int_equal(nr_update(b, 3, d2, NULL), NR_ECONFLICT);
    assert_int_equal(nr_read(b, &v, got), NR_OK);
    assert_int_equal(v, 3);
    assert_memory_equal(got, d1, NR_DIGEST_BYTES);
    nr_close(a);
    nr_close(b);
}

static void test_pipeline_rules(void **state)
{
    (void)state;
    char name[64];
    uint8_t d[NR_DIGEST_BYTES], got[NR_DIGEST_BYTES];
    uint64_t v = 0, committed = 0;
    struct nr_client *c = open_ok(fresh_name(name, sizeof name), 4);
    dg(d, 7);
    assert_int_equal(nr_update_wait(c, &committed), NR_ENOTFOUND);
    for (uint64_t i = 1; i <= 4; i++) {
        assert_int_equal(nr_update_submit(c, i, d), NR_OK);
    }
    assert_int_equal(nr_update_submit(c, 5, d), NR_EFULL);
    assert_int_equal(nr_update(c, 5, d, NULL), NR_EBUSY);
    assert_int_equal(nr_read(c, &v, got), NR_EBUSY);
    for (uint64_t i = 1; i <= 4; i++) {
        assert_int_equal(nr_update_wait(c, &committed), NR_OK);
        assert_int_equal(committed, i);
    }
    /* a conflicting write in the middle of a pipeline fails alone */
    assert_int_equal(nr_update_submit(c, 5, d), NR_OK);
    assert_int_equal(nr_update_submit(c, 5, d), NR_OK);
    assert_int_equal(nr_update_submit(c, 6, d), NR_OK);
    assert_int_equal(nr_update_wait(c, &committed), NR_OK);
    assert_int_equal(nr_update_wait(c, &committed), NR_ECONFLICT);
    assert_int_equal(nr_update_wait(c, &committed), NR_OK);
    assert_int_equal(committed, 6);
    assert_int_equal(nr_read(c, &v, got), NR_OK);
    assert_int_equal(v, 6);
    nr_close(c);
}

static int restore(struct nr_client *c, const char *path, char *out, uint64_t *v, int *res)
{
    size_t len = 0;
    int rc = nr_restore(c, path, (uint8_t *)out, 63, &len, v, res);
    if (rc == NR_OK) {
        out[len] = '\0';
    }
    return rc;
}

static void seal_commit(struct nr_client *c, const char *path, const char *s, uint64_t v)
{
    uint8_t d[NR_DIGEST_BYTES];
    assert_int_equal(nr_seal_state(c, path, (const uint8_t *)s, strlen(s), v), NR_OK);
    nr_state_digest(d, (const uint8_t *)s, strlen(s), v);
    assert_int_equal(nr_update(c, v, d, NULL), NR_OK);
}

static void test_restore_outcomes(void **state)
{
    (void)state;
    char name[64], path[400], out[64], cmd[2400];
    uint64_t v = 0;
    int res = -1;
    struct nr_client *c = open_ok(fresh_name(name, sizeof name), 0);
    snprintf(path, sizeof path, "%s/%s", g_tmp, name);

    assert_int_equal(restore(c, path, out, &v, &res), NR_OK);
    assert_int_equal(res, NR_RESTORE_NO_RECORD);
    seal_commit(c, path, "s1", 1);
    seal_commit(c, path, "s2", 2);
    assert_int_equal(restore(c, path, out, &v, &res), NR_OK);
    assert_int_equal(res, NR_RESTORE_FRESH);
    assert_int_equal(v, 2);
    assert_string_equal(out, "s2");

    /* sealed but never committed (crash between seal and update): dropped */
    assert_int_equal(nr_seal_state(c, path, (const uint8_t *)"s3-lost", 7, 3), NR_OK);
    assert_int_equal(restore(c, path, out, &v, &res), NR_OK);
    assert_int_equal(res, NR_RESTORE_DROPPED_UNCOMMITTED);
    assert_int_equal(v, 2);
    assert_string_equal(out, "s2");
    /* and the AE continues from there */
    seal_commit(c, path, "s3", 3);
    assert_int_equal(restore(c, path, out, &v, &res), NR_OK);
    assert_int_equal(res, NR_RESTORE_FRESH);
    assert_string_equal(out, "s3");

    /* the host keeps a copy, the AE moves on, the host puts the copy back */
    snprintf(cmd, sizeof cmd, "cp '%s.0' '%s.0.bak' && cp '%s.1' '%s.1.bak'", path, path, path, path);
    assert_int_equal(system(cmd), 0);
    seal_commit(c, path, "s4", 4);
    seal_commit(c, path, "s5", 5);
    snprintf(cmd, sizeof cmd, "cp '%s.0.bak' '%s.0' && cp '%s.1.bak' '%s.1'", path, path, path, path);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(restore(c, path, out, &v, &res), NR_EROLLBACK);

    /* sealed state with the committed version but other contents */
    assert_int_equal(nr_seal_state(c, path, (const uint8_t *)"evil", 4, 5), NR_OK);
    assert_int_equal(restore(c, path, out, &v, &res), NR_EFORK);

    /* sealed state two versions ahead of the network */
    assert_int_equal(nr_seal_state(c, path, (const uint8_t *)"s6", 2, 6), NR_OK);
    assert_int_equal(nr_seal_state(c, path, (const uint8_t *)"s7", 2, 7), NR_OK);
    assert_int_equal(restore(c, path, out, &v, &res), NR_EAHEAD);

    /* files gone while the network has a record */
    snprintf(cmd, sizeof cmd, "rm -f '%s.0' '%s.1'", path, path);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(restore(c, path, out, &v, &res), NR_EROLLBACK);
    nr_close(c);
}

int main(void)
{
    const char *net = getenv("NET");
    if (!net || sodium_init() < 0) {
        fprintf(stderr, "NET not set\n");
        return 2;
    }
    snprintf(g_net, sizeof g_net, "%s", net);
    snprintf(g_tmp, sizeof g_tmp, "%s/../api", net);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", g_tmp);
    if (system(cmd) != 0) {
        return 2;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_update_read_conflict),
        cmocka_unit_test(test_pipeline_rules),
        cmocka_unit_test(test_restore_outcomes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
