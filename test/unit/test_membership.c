#define _XOPEN_SOURCE 700 /* nftw() in the fixture */
/* Unit tests for SE identities and the genesis membership file: sealing of identities,
 * the strict parser (every malformed line names its line), verification (n = 2f+1,
 * indices, distinct keys, one slot per platform, evidence binding), writer round trip and
 * the channel lookup function. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <sodium.h>

#include "chan/identity.h"
#include "chan/membership.h"
#include "tee/file.h"
#include "tee_fixture.h"

#define SE_ID "narrator-se/1"
#define NSE 3
#define TEXT_CAP (64 * 1024)
#define LINE_CAP (2 * NR_EVIDENCE_MAX_BYTES + 512) /* one member line, evidence in hex */

struct st {
    struct fix f;
    struct nr_tee *tee[5]; /* 0..2 members, 3 outsider platform, 4 = second SE on platform 1 */
    struct nr_identity id[5];
    uint8_t ev[5][NR_EVIDENCE_MAX_BYTES];
    size_t ev_len[5];
    uint8_t pid[5][32];
    uint8_t sys[32];
    struct nr_membership mem;
    char text[TEXT_CAP];
    size_t text_len;
    char lines[16][LINE_CAP]; /* the good text, line by line (1-based) */
    int nlines;
};

static void hex(char *out, const uint8_t *b, size_t n)
{
    sodium_bin2hex(out, 2 * n + 1, b, n);
}

static int setup(void **state)
{
    struct st *s = calloc(1, sizeof *s);
    char path[800];
    if (!s || fix_setup(&s->f, 4) != 0)
        return -1;
    randombytes_buf(s->sys, sizeof s->sys);
    for (int i = 0; i < 5; i++) {
        const char *plat = s->f.plat[i == 4 ? 1 : i];
        if (nr_tee_open(&s->tee[i], "sim", plat, SE_ID) != NR_OK)
            return -1;
        snprintf(path, sizeof path, "%s/identity%d", s->f.dir, i);
        if (nr_identity_create(s->tee[i], path, &s->id[i]) != NR_OK)
            return -1;
        if (nr_identity_evidence(s->tee[i], &s->id[i], s->sys, s->ev[i], sizeof s->ev[i],
                                 &s->ev_len[i]) != NR_OK)
            return -1;
        nr_tee_platform_id(s->tee[i], s->pid[i]);
    }
    uint8_t meas[32];
    nr_tee_measure("sim", SE_ID, meas);
    nr_membership_init(&s->mem, s->sys, NSE, 1, s->f.root_pub);
    if (nr_membership_add_measurement(&s->mem, meas) != NR_OK)
        return -1;
    for (int i = 0; i < NSE; i++) {
        if (nr_membership_add_member(&s->mem, (uint16_t)i, s->id[i].pub, s->pid[i], s->ev[i],
                                     s->ev_len[i], NULL) != NR_OK)
            return -1;
    }
    if (nr_membership_write(&s->mem, s->text, sizeof s->text, &s->text_len) != NR_OK)
        return -1;
    /* Split for line edits. */
    const char *p = s->text;
    while (*p && s->nlines < 15) {
        const char *nl = strchr(p, '\n');
        size_t l = nl ? (size_t)(nl - p) : strlen(p);
        s->nlines++;
        memcpy(s->lines[s->nlines], p, l);
        s->lines[s->nlines][l] = '\0';
        p += l + (nl ? 1 : 0);
    }
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    struct st *s = *state;
    for (int i = 0; i < 5; i++) {
        nr_tee_close(s->tee[i]);
        nr_identity_wipe(&s->id[i]);
    }
    fix_teardown(&s->f);
    free(s);
    return 0;
}

/* The good text with line `k` (1-based) replaced by `repl` (NULL: deleted). */
static size_t edited(const struct st *s, char *out, size_t cap, int k, const char *repl)
{
    size_t len = 0;
    for (int i = 1; i <= s->nlines; i++) {
        const char *l = i == k ? repl : s->lines[i];
        if (!l)
            continue;
        int n = snprintf(out + len, cap - len, "%s\n", l);
        assert_true(n > 0 && (size_t)n < cap - len);
        len += (size_t)n;
    }
    return len;
}

static void test_identity(void **state)
{
    struct st *s = *state;
    struct nr_identity id, id2;
    char path[800];
    snprintf(path, sizeof path, "%s/identity0", s->f.dir);
    assert_int_equal(nr_identity_load(s->tee[0], path, &id), NR_OK);
    assert_memory_equal(id.pub, s->id[0].pub, 32);
    assert_memory_equal(id.sk, s->id[0].sk, 64);
    assert_false(id.has_eth);
    /* Another platform, another enclave on the same platform. */
    assert_int_equal(nr_identity_load(s->tee[1], path, &id2), NR_EUNSEAL);
    struct nr_tee *ae = NULL;
    assert_int_equal(nr_tee_open(&ae, "sim", s->f.plat[0], "example-ae/1"), NR_OK);
    assert_int_equal(nr_identity_load(ae, path, &id2), NR_EUNSEAL);
    nr_tee_close(ae);
    /* No overwrite; missing file. */
    assert_int_equal(nr_identity_create(s->tee[0], path, NULL), NR_EEXIST);
    snprintf(path, sizeof path, "%s/nope", s->f.dir);
    assert_int_equal(nr_identity_load(s->tee[0], path, &id2), NR_ENOTFOUND);
    /* Tampered file. */
    uint8_t blob[512];
    size_t blen = 0;
    snprintf(path, sizeof path, "%s/identity0", s->f.dir);
    assert_int_equal(nr_file_read(path, blob, sizeof blob, &blen), NR_OK);
    char tpath[800];
    snprintf(tpath, sizeof tpath, "%s/identity-t", s->f.dir);
    for (size_t i = 0; i < blen; i += 5) {
        blob[i] ^= 1;
        assert_int_equal(nr_file_write_atomic(tpath, blob, blen), NR_OK);
        assert_int_equal(nr_identity_load(s->tee[0], tpath, &id2), NR_EUNSEAL);
        blob[i] ^= 1;
    }
    assert_int_equal(nr_file_write_atomic(tpath, blob, blen - 1), NR_OK);
    assert_int_equal(nr_identity_load(s->tee[0], tpath, &id2), NR_EUNSEAL);
    /* Well-sealed but wrong contents. */
    uint8_t junk[124] = {0}, sealed[256];
    size_t sl = 0;
    assert_int_equal(nr_tee_seal(s->tee[0], junk, sizeof junk,
                                 (const uint8_t *)"narrator-identity-v1", 21, sealed, sizeof sealed,
                                 &sl),
                     NR_OK);
    assert_int_equal(nr_file_write_atomic(tpath, sealed, sl), NR_OK);
    assert_int_equal(nr_identity_load(s->tee[0], tpath, &id2), NR_EMALFORMED);
    /* Eth slot: filled, sealed, reloaded; the evidence binds it. */
    snprintf(path, sizeof path, "%s/identity-eth", s->f.dir);
    assert_int_equal(nr_identity_create(s->tee[0], path, &id2), NR_OK);
    uint8_t esk[32], eaddr[20];
    randombytes_buf(esk, sizeof esk);
    randombytes_buf(eaddr, sizeof eaddr);
    assert_int_equal(nr_identity_set_eth(s->tee[0], path, &id2, esk, eaddr), NR_OK);
    struct nr_identity id3;
    assert_int_equal(nr_identity_load(s->tee[0], path, &id3), NR_OK);
    assert_true(id3.has_eth);
    assert_memory_equal(id3.eth_sk, esk, 32);
    assert_memory_equal(id3.eth_addr, eaddr, 20);
    uint8_t ev[NR_EVIDENCE_MAX_BYTES], rd[64];
    size_t el = 0;
    struct nr_attest_policy pol;
    fix_policy(&s->f, &pol, SE_ID);
    assert_int_equal(nr_identity_evidence(s->tee[0], &id3, s->sys, ev, sizeof ev, &el), NR_OK);
    nr_identity_report_data(rd, s->sys, id3.pub, eaddr);
    assert_int_equal(nr_tee_verify_evidence("sim", &pol, ev, el, rd, NULL, NULL), NR_OK);
    nr_identity_report_data(rd, s->sys, id3.pub, NULL);
    assert_int_equal(nr_tee_verify_evidence("sim", &pol, ev, el, rd, NULL, NULL), NR_EATTEST);
    nr_identity_wipe(&id);
    nr_identity_wipe(&id2);
    nr_identity_wipe(&id3);
}

static void test_good_roundtrip(void **state)
{
    struct st *s = *state;
    struct nr_membership m;
    char err[256], out[TEXT_CAP];
    size_t olen = 0;
    assert_int_equal(s->nlines, 9);
    assert_int_equal(nr_membership_parse(&m, "m.txt", s->text, s->text_len, err, sizeof err),
                     NR_OK);
    assert_int_equal(nr_membership_verify(&m, "sim", NULL, err, sizeof err), NR_OK);
    assert_int_equal(m.n, 3);
    assert_int_equal(m.f, 1);
    assert_int_equal(m.n_members, 3);
    assert_int_equal(m.members[2].line, 9);
    assert_int_equal(nr_membership_write(&m, out, sizeof out, &olen), NR_OK);
    assert_int_equal(olen, s->text_len);
    assert_memory_equal(out, s->text, olen);
    assert_int_equal(nr_membership_write(&m, out, 100, &olen), NR_EFULL);
    /* Comments, blank lines, tabs, upper-case hex and a missing final newline are fine. */
    char t2[TEXT_CAP];
    size_t l2 = 0;
    l2 += (size_t)snprintf(t2, sizeof t2, "# genesis\n\n");
    for (int i = 1; i <= s->nlines; i++) {
        size_t start = l2;
        l2 += (size_t)snprintf(t2 + l2, sizeof t2 - l2, i == 4 ? "  f\t1\n" : "%s\n", s->lines[i]);
        for (size_t j = start + 10; i == 2 && j < l2; j++) { /* system_id value in upper case */
            if (t2[j] >= 'a' && t2[j] <= 'f')
                t2[j] = (char)(t2[j] - 'a' + 'A');
        }
    }
    l2--; /* no final newline */
    struct nr_membership m2;
    assert_int_equal(nr_membership_parse(&m2, "m2.txt", t2, l2, err, sizeof err), NR_OK);
    assert_int_equal(nr_membership_verify(&m2, "sim", NULL, err, sizeof err), NR_OK);
    /* File save / load. */
    char path[800];
    snprintf(path, sizeof path, "%s/membership.txt", s->f.dir);
    assert_int_equal(nr_membership_save(&s->mem, path), NR_OK);
    assert_int_equal(nr_membership_load(&m2, path, err, sizeof err), NR_OK);
    assert_int_equal(nr_membership_verify(&m2, "sim", NULL, err, sizeof err), NR_OK);
    snprintf(path, sizeof path, "%s/none.txt", s->f.dir);
    assert_int_equal(nr_membership_load(&m2, path, err, sizeof err), NR_ENOTFOUND);
    assert_non_null(strstr(err, "none.txt"));
    /* External policy: same root is fine, another root is refused. */
    struct nr_attest_policy pol;
    nr_membership_policy(&m, &pol);
    assert_int_equal(nr_membership_verify(&m, "sim", &pol, err, sizeof err), NR_OK);
    pol.root_pub[0] ^= 1;
    assert_int_equal(nr_membership_verify(&m, "sim", &pol, err, sizeof err), NR_ECONFIG);
    assert_non_null(strstr(err, "m.txt:6: attestation_root differs"));
    /* sim evidence is no DCAP quote */
    assert_int_equal(nr_membership_verify(&m, "gramine", NULL, err, sizeof err), NR_EATTEST);
}

struct pcase {
    int line;         /* line to replace (0: none) */
    const char *repl; /* replacement, "%P" -> a valid pub hex prefix is not needed */
    int rc;
    const char *msg;
};

static void test_parse_errors(void **state)
{
    struct st *s = *state;
    char text[TEXT_CAP], err[256], l7[LINE_CAP], tmp[NR_MEMBERSHIP_MAX_LINE + 64];
    struct nr_membership m;
    /* Member 0's line split into fields, for precise edits. */
    char pub[65], pid[65], evh[2 * NR_EVIDENCE_MAX_BYTES + 1];
    hex(pub, s->id[0].pub, 32);
    hex(pid, s->pid[0], 32);
    hex(evh, s->ev[0], s->ev_len[0]);
    char evbad[sizeof evh];
    strcpy(evbad, evh);
    evbad[100] = 'g';
    char evodd[sizeof evh];
    strcpy(evodd, evh);
    evodd[strlen(evodd) - 1] = '\0';
    char l7_bad_ev[LINE_CAP], l7_odd_ev[LINE_CAP], l7_idx[LINE_CAP], l7_args[LINE_CAP], l7_eth[LINE_CAP], l7_pub[LINE_CAP],
        l7_pid[LINE_CAP];
    snprintf(l7_bad_ev, sizeof l7_bad_ev, "member 0 %s %s %s", pub, pid, evbad);
    snprintf(l7_odd_ev, sizeof l7_odd_ev, "member 0 %s %s %s", pub, pid, evodd);
    snprintf(l7_idx, sizeof l7_idx, "member 16 %s %s %s", pub, pid, evh);
    snprintf(l7_args, sizeof l7_args, "member 0 %s %s", pub, pid);
    snprintf(l7_eth, sizeof l7_eth, "member 0 %s %s %s 0011223344556677889900112233445566778899a",
             pub, pid, evh);
    snprintf(l7_pub, sizeof l7_pub, "member 0 %.63s %s %s", pub, pid, evh);
    snprintf(l7_pid, sizeof l7_pid, "member 0 %s %.62sZz %s", pub, pid, evh);
    strcpy(l7, s->lines[7]);
    char sys_short[LINE_CAP], sys_bad[LINE_CAP], cr[LINE_CAP + 100];
    snprintf(sys_short, sizeof sys_short, "%.73s", s->lines[2]);
    snprintf(sys_bad, sizeof sys_bad, "%s", s->lines[2]);
    sys_bad[20] = 'x';
    snprintf(cr, sizeof cr, "%s\r", s->lines[5]);
    struct pcase cases[] = {
        {1, "narrator-membership 2", NR_EVERSION,
         "m.txt:1: unsupported membership format version '2'"},
        {1, "hello 1", NR_EMALFORMED, "m.txt:1: expected header 'narrator-membership 1'"},
        {1, "narrator-membership", NR_EMALFORMED, "m.txt:1: expected header"},
        {2, sys_short, NR_EMALFORMED, "m.txt:2: system_id: expected 64 hex digits, got 63"},
        {2, sys_bad, NR_EMALFORMED, "m.txt:2: bad hex in system_id"},
        {2, "system_id", NR_EMALFORMED, "m.txt:2: system_id: expected 1 value, got 0"},
        {3, "n 03", NR_EMALFORMED, "m.txt:3: bad number in n"},
        {3, "n -3", NR_EMALFORMED, "m.txt:3: bad number in n"},
        {3, "n 17", NR_EMALFORMED, "m.txt:3: n 17 out of range (max 16)"},
        {3, "n 99999999999", NR_EMALFORMED, "m.txt:3: bad number in n"},
        {3, "n 3 4", NR_EMALFORMED, "m.txt:3: n: expected 1 value, got 2"},
        {4, "n 3", NR_EMALFORMED, "m.txt:4: duplicate n (first on line 3)"},
        {4, "f x", NR_EMALFORMED, "m.txt:4: bad number in f"},
        {4, "f 8", NR_EMALFORMED, "m.txt:4: f 8 out of range (max 7)"},
        {5, "measurement 00 11", NR_EMALFORMED, "m.txt:5: measurement: expected 1 value, got 2"},
        {5, cr, NR_EMALFORMED, "m.txt:5: carriage return"},
        {6, "attestation_root 1234", NR_EMALFORMED,
         "m.txt:6: attestation_root: expected 64 hex digits, got 4"},
        {6, "foo 1", NR_EMALFORMED, "m.txt:6: unknown field 'foo'"},
        {6, "\x01", NR_EMALFORMED, "m.txt:6: non-printable character"},
        {7, l7_bad_ev, NR_EMALFORMED, "m.txt:7: bad hex in evidence"},
        {7, l7_odd_ev, NR_EMALFORMED, "m.txt:7: evidence: expected an even number of hex digits"},
        {7, l7_idx, NR_EMALFORMED, "m.txt:7: member index 16 out of range (max 15)"},
        {7, l7_args, NR_EMALFORMED, "m.txt:7: member: expected 4 to 5 values, got 3"},
        {7, l7_eth, NR_EMALFORMED, "m.txt:7: eth_address: expected 40 hex digits, got 41"},
        {7, l7_pub, NR_EMALFORMED, "m.txt:7: identity_pub: expected 64 hex digits, got 63"},
        {7, l7_pid, NR_EMALFORMED, "m.txt:7: bad hex in platform_id"},
        {7, "member 0 a b c d e f g h", NR_EMALFORMED, "m.txt:7: too many fields (10)"},
        {6, NULL, NR_EMALFORMED, "m.txt: missing attestation_root"},
        {2, NULL, NR_EMALFORMED, "m.txt: missing system_id"},
        {5, NULL, NR_EMALFORMED, "m.txt: missing measurement"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len = edited(s, text, sizeof text, cases[i].line, cases[i].repl);
        err[0] = '\0';
        int rc = nr_membership_parse(&m, "m.txt", text, len, err, sizeof err);
        if (rc != cases[i].rc || !strstr(err, cases[i].msg))
            fprintf(stderr, "case %zu: got %s '%s', want '%s'\n", i, nr_errname(rc), err,
                    cases[i].msg);
        assert_int_equal(rc, cases[i].rc);
        assert_non_null(strstr(err, cases[i].msg));
    }
    /* Whole-file problems. */
    assert_int_equal(nr_membership_parse(&m, "m.txt", "", 0, err, sizeof err), NR_EMALFORMED);
    assert_non_null(strstr(err, "m.txt: missing header"));
    size_t len = edited(s, text, sizeof text, 0, NULL);
    text[30] = '\0';
    assert_int_equal(nr_membership_parse(&m, "m.txt", text, len, err, sizeof err), NR_EMALFORMED);
    assert_non_null(strstr(err, "m.txt:2: NUL byte"));
    memset(tmp, 'a', sizeof tmp);
    memcpy(tmp, "# ", 2);
    tmp[sizeof tmp - 1] = '\0';
    len = edited(s, text, sizeof text, 5, tmp);
    assert_int_equal(nr_membership_parse(&m, "m.txt", text, len, err, sizeof err), NR_EMALFORMED);
    assert_non_null(strstr(err, "m.txt:5: line too long"));
    char *big = calloc(1, NR_MEMBERSHIP_MAX_BYTES + 2);
    assert_non_null(big);
    memset(big, '\n', NR_MEMBERSHIP_MAX_BYTES + 1);
    assert_int_equal(
        nr_membership_parse(&m, "m.txt", big, NR_MEMBERSHIP_MAX_BYTES + 1, err, sizeof err),
        NR_ETOOBIG);
    free(big);
    /* Too many measurements / members, duplicate measurement. */
    len = 0;
    len += (size_t)snprintf(text + len, sizeof text - len, "%s\n", s->lines[1]);
    len += (size_t)snprintf(text + len, sizeof text - len, "%s\n", s->lines[5]);
    len += (size_t)snprintf(text + len, sizeof text - len, "%s\n", s->lines[5]);
    assert_int_equal(nr_membership_parse(&m, "m.txt", text, len, err, sizeof err), NR_EMALFORMED);
    assert_non_null(strstr(err, "m.txt:3: duplicate measurement"));
    len = (size_t)snprintf(text, sizeof text, "%s\n", s->lines[1]);
    for (int i = 0; i < 9; i++)
        len += (size_t)snprintf(text + len, sizeof text - len, "measurement %064x\n", i);
    assert_int_equal(nr_membership_parse(&m, "m.txt", text, len, err, sizeof err), NR_EMALFORMED);
    assert_non_null(strstr(err, "m.txt:10: too many measurements (max 8)"));
    len = (size_t)snprintf(text, sizeof text, "%s\n", s->lines[1]);
    for (int i = 0; i < 17; i++)
        len += (size_t)snprintf(text + len, sizeof text - len, "%s\n", l7);
    assert_int_equal(nr_membership_parse(&m, "m.txt", text, len, err, sizeof err), NR_EMALFORMED);
    assert_non_null(strstr(err, "m.txt:18: too many members (max 16)"));
}

static void member_line(char *out, size_t cap, unsigned idx, const uint8_t *pub, const uint8_t *pid,
                        const uint8_t *ev, size_t ev_len, const char *eth)
{
    char ph[65], dh[65], eh[2 * NR_EVIDENCE_MAX_BYTES + 1];
    hex(ph, pub, 32);
    hex(dh, pid, 32);
    hex(eh, ev, ev_len);
    snprintf(out, cap, "member %u %s %s %s%s%s", idx, ph, dh, eh, eth ? " " : "", eth ? eth : "");
}

static void expect_verify(struct st *s, int line, const char *repl, int rc, const char *msg)
{
    char text[TEXT_CAP], err[256];
    struct nr_membership m;
    size_t len = edited(s, text, sizeof text, line, repl);
    assert_int_equal(nr_membership_parse(&m, "m.txt", text, len, err, sizeof err), NR_OK);
    int got = nr_membership_verify(&m, "sim", NULL, err, sizeof err);
    if (got != rc || !strstr(err, msg))
        fprintf(stderr, "verify: got %s '%s', want '%s'\n", nr_errname(got), err, msg);
    assert_int_equal(got, rc);
    assert_non_null(strstr(err, msg));
}

static void test_verify_errors(void **state)
{
    struct st *s = *state;
    char l[LINE_CAP];
    expect_verify(s, 3, "n 5", NR_ECONFIG, "m.txt:3: n must be 2f+1");
    expect_verify(s, 9, NULL, NR_ECONFIG, "m.txt:3: n is 3 but 2 members are listed");
    member_line(l, sizeof l, 1, s->id[2].pub, s->pid[2], s->ev[2], s->ev_len[2], NULL);
    expect_verify(s, 9, l, NR_ECONFIG, "m.txt:9: duplicate member index 1 (first on line 8)");
    member_line(l, sizeof l, 5, s->id[2].pub, s->pid[2], s->ev[2], s->ev_len[2], NULL);
    expect_verify(s, 9, l, NR_ECONFIG, "m.txt:9: member index 5 out of range (n 3)");
    member_line(l, sizeof l, 2, s->id[1].pub, s->pid[2], s->ev[2], s->ev_len[2], NULL);
    expect_verify(s, 9, l, NR_ECONFIG, "m.txt:9: member 2: identity key already used by member 1");
    /* S4: a second SE identity on platform 1 (its evidence is perfectly valid). */
    member_line(l, sizeof l, 2, s->id[4].pub, s->pid[4], s->ev[4], s->ev_len[4], NULL);
    expect_verify(s, 9, l, NR_ECONFIG,
                  "m.txt:9: member 2: platform already holds member 1 (line 8); one slot per "
                  "platform");
    /* Evidence of another member, another system, another platform id. */
    member_line(l, sizeof l, 2, s->id[2].pub, s->pid[2], s->ev[1], s->ev_len[1], NULL);
    expect_verify(s, 9, l, NR_EATTEST, "m.txt:9: member 2: evidence rejected");
    uint8_t other_sys[32], ev[NR_EVIDENCE_MAX_BYTES];
    size_t el = 0;
    memcpy(other_sys, s->sys, 32);
    other_sys[9] ^= 1;
    assert_int_equal(nr_identity_evidence(s->tee[2], &s->id[2], other_sys, ev, sizeof ev, &el),
                     NR_OK);
    member_line(l, sizeof l, 2, s->id[2].pub, s->pid[2], ev, el, NULL);
    expect_verify(s, 9, l, NR_EATTEST, "m.txt:9: member 2: evidence rejected");
    member_line(l, sizeof l, 2, s->id[2].pub, s->pid[3], s->ev[2], s->ev_len[2], NULL);
    expect_verify(s, 9, l, NR_ECONFIG,
                  "m.txt:9: member 2: evidence comes from another platform than platform_id");
    /* An eth address the evidence does not bind. */
    member_line(l, sizeof l, 2, s->id[2].pub, s->pid[2], s->ev[2], s->ev_len[2],
                "00112233445566778899aabbccddeeff00112233");
    expect_verify(s, 9, l, NR_EATTEST, "m.txt:9: member 2: evidence rejected");
    /* Garbage evidence. */
    uint8_t junk[40] = {1, 2, 3};
    member_line(l, sizeof l, 2, s->id[2].pub, s->pid[2], junk, sizeof junk, NULL);
    expect_verify(s, 9, l, NR_EATTEST, "m.txt:9: member 2: evidence rejected");
    /* Measurement not in the allow-list; another root. */
    char mline[100], ms[65];
    uint8_t am[32];
    nr_tee_measure("sim", "example-ae/1", am);
    hex(ms, am, 32);
    snprintf(mline, sizeof mline, "measurement %s", ms);
    expect_verify(s, 5, mline, NR_EMEASUREMENT, "m.txt:7: member 0: evidence rejected");
    uint8_t root[32];
    memcpy(root, s->f.root_pub, 32);
    root[0] ^= 1;
    hex(ms, root, 32);
    snprintf(mline, sizeof mline, "attestation_root %s", ms);
    expect_verify(s, 6, mline, NR_EATTEST, "m.txt:7: member 0: evidence rejected");
}

static void test_eth_member_and_lookup(void **state)
{
    struct st *s = *state;
    char text[TEXT_CAP], err[256], l[LINE_CAP];
    struct nr_membership m;
    /* Member 2 with an eth key whose address its evidence binds. */
    struct nr_identity id = s->id[2];
    uint8_t esk[32], eaddr[20], ev[NR_EVIDENCE_MAX_BYTES];
    size_t el = 0;
    char path[800], eh[41];
    randombytes_buf(esk, sizeof esk);
    randombytes_buf(eaddr, sizeof eaddr);
    snprintf(path, sizeof path, "%s/identity2", s->f.dir);
    assert_int_equal(nr_identity_set_eth(s->tee[2], path, &id, esk, eaddr), NR_OK);
    assert_int_equal(nr_identity_evidence(s->tee[2], &id, s->sys, ev, sizeof ev, &el), NR_OK);
    hex(eh, eaddr, 20);
    member_line(l, sizeof l, 2, id.pub, s->pid[2], ev, el, eh);
    size_t len = edited(s, text, sizeof text, 9, l);
    assert_int_equal(nr_membership_parse(&m, "m.txt", text, len, err, sizeof err), NR_OK);
    assert_int_equal(nr_membership_verify(&m, "sim", NULL, err, sizeof err), NR_OK);
    const struct nr_member *mb = nr_membership_member(&m, 2);
    assert_non_null(mb);
    assert_true(mb->has_eth);
    assert_memory_equal(mb->eth_addr, eaddr, 20);
    assert_null(nr_membership_member(&m, 3));
    /* Written back, it is the same text. */
    char out[TEXT_CAP];
    size_t olen = 0;
    assert_int_equal(nr_membership_write(&m, out, sizeof out, &olen), NR_OK);
    assert_int_equal(olen, len);
    assert_memory_equal(out, text, len);
    /* Lookup. */
    uint16_t idx = 99;
    uint8_t pid[32];
    assert_int_equal(nr_membership_lookup(&m, s->id[1].pub, &idx, pid), NR_OK);
    assert_int_equal(idx, 1);
    assert_memory_equal(pid, s->pid[1], 32);
    assert_int_equal(nr_membership_lookup(&m, s->id[3].pub, &idx, pid), NR_ENOTMEMBER);
    assert_int_equal(nr_membership_lookup(&m, s->id[4].pub, &idx, pid), NR_ENOTMEMBER);
    nr_identity_wipe(&id);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identity),
        cmocka_unit_test(test_good_roundtrip),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_verify_errors),
        cmocka_unit_test(test_eth_member_and_lookup),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
