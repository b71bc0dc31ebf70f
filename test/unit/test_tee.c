#define _XOPEN_SOURCE 700 /* nftw() in the fixture */
/* Unit tests for the TEE interface, sim backend: provisioning, sealing, remote attestation
 * evidence and local reports. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <sodium.h>
#include <sys/stat.h>

#include "tee/file.h"
#include "tee_fixture.h"

#define SE_ID "narrator-se/1"
#define AE_ID "example-ae/1"

struct st {
    struct fix f;
    struct nr_tee *se0, *se0b, *se1, *ae0, *ae1;
};

static int setup(void **state)
{
    struct st *s = calloc(1, sizeof *s);
    if (!s || fix_setup(&s->f, 2) != 0)
        return -1;
    if (nr_tee_open(&s->se0, "sim", s->f.plat[0], SE_ID) != NR_OK ||
        nr_tee_open(&s->se0b, "sim", s->f.plat[0], SE_ID) != NR_OK ||
        nr_tee_open(&s->se1, "sim", s->f.plat[1], SE_ID) != NR_OK ||
        nr_tee_open(&s->ae0, "sim", s->f.plat[0], AE_ID) != NR_OK ||
        nr_tee_open(&s->ae1, "sim", s->f.plat[1], AE_ID) != NR_OK)
        return -1;
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    struct st *s = *state;
    nr_tee_close(s->se0);
    nr_tee_close(s->se0b);
    nr_tee_close(s->se1);
    nr_tee_close(s->ae0);
    nr_tee_close(s->ae1);
    fix_teardown(&s->f);
    free(s);
    return 0;
}

static void test_provisioning(void **state)
{
    struct st *s = *state;
    struct nr_tee *t = NULL;
    struct stat sb;
    char path[700];
    /* Files are private. */
    snprintf(path, sizeof path, "%s/platform.secret", s->f.plat[0]);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(sb.st_size, 32);
    snprintf(path, sizeof path, "%s/root.sk", s->f.root);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    /* No overwrite of existing material. */
    assert_int_equal(nr_tee_sim_root_create(s->f.root), NR_EEXIST);
    assert_int_equal(nr_tee_sim_platform_create(s->f.plat[0], s->f.root), NR_EEXIST);
    /* Unknown backends and missing platforms. */
    assert_int_equal(nr_tee_open(&t, "nope", s->f.plat[0], SE_ID), NR_EINVAL);
    /* a sim platform directory is no attestation directory */
    assert_int_equal(nr_tee_open(&t, "gramine", s->f.plat[0], SE_ID), NR_ENOTFOUND);
    snprintf(path, sizeof path, "%s/missing", s->f.dir);
    assert_int_equal(nr_tee_open(&t, "sim", path, SE_ID), NR_ENOTFOUND);
    assert_null(t);
    /* Same platform, same code: same identity. Different platform: different id. */
    uint8_t a[32], b[32], m[32];
    nr_tee_platform_id(s->se0, a);
    nr_tee_platform_id(s->se0b, b);
    assert_memory_equal(a, b, 32);
    nr_tee_platform_id(s->se1, b);
    assert_memory_not_equal(a, b, 32);
    nr_tee_measurement(s->se0, a);
    nr_tee_measure("sim", SE_ID, m);
    assert_memory_equal(a, m, 32);
    nr_tee_measurement(s->ae0, b);
    assert_memory_not_equal(a, b, 32);
}

static void test_corrupt_platform(void **state)
{
    struct st *s = *state;
    struct nr_tee *t = NULL;
    char dir[700], path[800];
    snprintf(dir, sizeof dir, "%s/pc", s->f.dir);
    assert_int_equal(nr_tee_sim_platform_create(dir, s->f.root), NR_OK);
    snprintf(path, sizeof path, "%s/platform.pub", dir);
    uint8_t junk[31] = {0};
    assert_int_equal(nr_file_write_atomic(path, junk, sizeof junk), NR_OK);
    assert_int_equal(nr_tee_open(&t, "sim", dir, SE_ID), NR_EMALFORMED);
    uint8_t other[32] = {1};
    assert_int_equal(nr_file_write_atomic(path, other, sizeof other), NR_OK);
    assert_int_equal(nr_tee_open(&t, "sim", dir, SE_ID), NR_ECONFIG);
    assert_null(t);
}

static void test_seal_roundtrip(void **state)
{
    struct st *s = *state;
    const uint8_t msg[] = "state of the application enclave";
    const uint8_t ad[] = "record-7";
    uint8_t blob[256], pt[256];
    size_t blen = 0, plen = 0;
    assert_int_equal(nr_tee_seal(s->se0, msg, sizeof msg, ad, sizeof ad, blob, sizeof blob, &blen),
                     NR_OK);
    assert_true(blen <= sizeof msg + NR_SEAL_OVERHEAD);
    assert_int_equal(blen, sizeof msg + NR_SIM_SEAL_OVERHEAD);
    assert_int_equal(nr_tee_unseal(s->se0, blob, blen, ad, sizeof ad, pt, sizeof pt, &plen), NR_OK);
    assert_int_equal(plen, sizeof msg);
    assert_memory_equal(pt, msg, sizeof msg);
    /* Another instance of the same enclave on the same CPU can unseal (clone). */
    assert_int_equal(nr_tee_unseal(s->se0b, blob, blen, ad, sizeof ad, pt, sizeof pt, &plen),
                     NR_OK);
    /* Empty plaintext and NULL ad. */
    assert_int_equal(nr_tee_seal(s->se0, NULL, 0, NULL, 0, blob, sizeof blob, &blen), NR_OK);
    assert_int_equal(nr_tee_unseal(s->se0, blob, blen, NULL, 0, pt, sizeof pt, &plen), NR_OK);
    assert_int_equal(plen, 0);
    /* Capacity. */
    assert_int_equal(nr_tee_seal(s->se0, msg, sizeof msg, NULL, 0, blob, sizeof msg + 47, &blen),
                     NR_EFULL);
}

static void test_seal_failures(void **state)
{
    struct st *s = *state;
    const uint8_t msg[] = "pin attempts: 2";
    const uint8_t ad[] = "ad";
    uint8_t blob[128], pt[128];
    size_t blen = 0, plen = 0;
    assert_int_equal(nr_tee_seal(s->se0, msg, sizeof msg, ad, sizeof ad, blob, sizeof blob, &blen),
                     NR_OK);
    /* Wrong platform, wrong measurement, wrong AD, missing AD. */
    assert_int_equal(nr_tee_unseal(s->se1, blob, blen, ad, sizeof ad, pt, sizeof pt, &plen),
                     NR_EUNSEAL);
    assert_int_equal(nr_tee_unseal(s->ae0, blob, blen, ad, sizeof ad, pt, sizeof pt, &plen),
                     NR_EUNSEAL);
    assert_int_equal(
        nr_tee_unseal(s->se0, blob, blen, (const uint8_t *)"ae", 2, pt, sizeof pt, &plen),
        NR_EUNSEAL);
    assert_int_equal(nr_tee_unseal(s->se0, blob, blen, NULL, 0, pt, sizeof pt, &plen), NR_EUNSEAL);
    /* Tamper with every byte and every bit position of it (one at a time). */
    for (size_t i = 0; i < blen; i++) {
        for (int bit = 0; bit < 8; bit += 3) {
            blob[i] ^= (uint8_t)(1u << bit);
            assert_int_equal(nr_tee_unseal(s->se0, blob, blen, ad, sizeof ad, pt, sizeof pt, &plen),
                             NR_EUNSEAL);
            blob[i] ^= (uint8_t)(1u << bit);
        }
    }
    /* Truncation and extension. */
    for (size_t l = 0; l < blen; l++)
        assert_int_equal(nr_tee_unseal(s->se0, blob, l, ad, sizeof ad, pt, sizeof pt, &plen),
                         NR_EUNSEAL);
    blob[blen] = 0;
    assert_int_equal(nr_tee_unseal(s->se0, blob, blen + 1, ad, sizeof ad, pt, sizeof pt, &plen),
                     NR_EUNSEAL);
    /* Intact blob still opens. */
    assert_int_equal(nr_tee_unseal(s->se0, blob, blen, ad, sizeof ad, pt, sizeof pt, &plen), NR_OK);
}

static void test_evidence(void **state)
{
    struct st *s = *state;
    struct nr_attest_policy pol;
    uint8_t rd[64], ev[NR_EVIDENCE_MAX_BYTES], meas[32], pid[32], exp[32];
    size_t elen = 0;
    fix_policy(&s->f, &pol, SE_ID);
    randombytes_buf(rd, sizeof rd);
    assert_int_equal(nr_tee_quote(s->se1, rd, ev, sizeof ev, &elen), NR_OK);
    assert_int_equal(elen, NR_SIM_EVIDENCE_BYTES);
    assert_int_equal(nr_tee_verify_evidence("sim", &pol, ev, elen, rd, meas, pid), NR_OK);
    nr_tee_measurement(s->se1, exp);
    assert_memory_equal(meas, exp, 32);
    nr_tee_platform_id(s->se1, exp);
    assert_memory_equal(pid, exp, 32);
    assert_int_equal(nr_tee_verify_evidence("sim", &pol, ev, elen, rd, NULL, NULL), NR_OK);
    /* Unknown backend. */
    assert_int_equal(nr_tee_verify_evidence("sgx", &pol, ev, elen, rd, NULL, NULL), NR_EINVAL);
    /* Wrong report data. */
    uint8_t rd2[64];
    memcpy(rd2, rd, 64);
    rd2[63] ^= 1;
    assert_int_equal(nr_tee_verify_evidence("sim", &pol, ev, elen, rd2, NULL, NULL), NR_EATTEST);
    /* Measurement not allowed. */
    struct nr_attest_policy pol_ae;
    fix_policy(&s->f, &pol_ae, AE_ID);
    assert_int_equal(nr_tee_verify_evidence("sim", &pol_ae, ev, elen, rd, NULL, NULL),
                     NR_EMEASUREMENT);
    struct nr_attest_policy pol_none = pol;
    pol_none.n_allowed = 0;
    assert_int_equal(nr_tee_verify_evidence("sim", &pol_none, ev, elen, rd, NULL, NULL),
                     NR_EMEASUREMENT);
    /* Wrong root: a platform certified by another root. */
    struct fix other;
    assert_int_equal(fix_setup(&other, 1), 0);
    struct nr_tee *foreign = NULL;
    assert_int_equal(nr_tee_open(&foreign, "sim", other.plat[0], SE_ID), NR_OK);
    uint8_t fev[NR_EVIDENCE_MAX_BYTES];
    size_t flen = 0;
    assert_int_equal(nr_tee_quote(foreign, rd, fev, sizeof fev, &flen), NR_OK);
    assert_int_equal(nr_tee_verify_evidence("sim", &pol, fev, flen, rd, NULL, NULL), NR_EATTEST);
    struct nr_attest_policy pol_other = pol;
    memcpy(pol_other.root_pub, other.root_pub, 32);
    assert_int_equal(nr_tee_verify_evidence("sim", &pol_other, fev, flen, rd, NULL, NULL), NR_OK);
    assert_int_equal(nr_tee_verify_evidence("sim", &pol_other, ev, elen, rd, NULL, NULL),
                     NR_EATTEST);
    /* Splice: our cert with the foreign platform's key -> chain broken. */
    memcpy(fev + 40, ev + 40, 64);
    assert_int_equal(nr_tee_verify_evidence("sim", &pol_other, fev, flen, rd, NULL, NULL),
                     NR_EATTEST);
    nr_tee_close(foreign);
    fix_teardown(&other);
    /* Every byte tampered. */
    for (size_t i = 0; i < elen; i++) {
        ev[i] ^= 0x20;
        int rc = nr_tee_verify_evidence("sim", &pol, ev, elen, rd, NULL, NULL);
        assert_true(rc == NR_EATTEST || rc == NR_EMEASUREMENT);
        assert_int_not_equal(rc, NR_OK);
        ev[i] ^= 0x20;
    }
    /* Truncated, extended, garbage, empty. */
    for (size_t l = 0; l < elen; l += 7)
        assert_int_equal(nr_tee_verify_evidence("sim", &pol, ev, l, rd, NULL, NULL), NR_EATTEST);
    ev[elen] = 0;
    assert_int_equal(nr_tee_verify_evidence("sim", &pol, ev, elen + 1, rd, NULL, NULL), NR_EATTEST);
    uint8_t garbage[NR_SIM_EVIDENCE_BYTES];
    randombytes_buf(garbage, sizeof garbage);
    assert_int_equal(nr_tee_verify_evidence("sim", &pol, garbage, sizeof garbage, rd, NULL, NULL),
                     NR_EATTEST);
    assert_int_equal(nr_tee_verify_evidence("sim", &pol, NULL, 0, rd, NULL, NULL), NR_EATTEST);
    /* Capacity. */
    assert_int_equal(nr_tee_quote(s->se1, rd, ev, NR_SIM_EVIDENCE_BYTES - 1, &elen), NR_EFULL);
}

static void test_local_report(void **state)
{
    struct st *s = *state;
    uint8_t se_m[32], ae_m[32], rd[64], rep[NR_LOCAL_REPORT_BYTES], m[32], rdo[64];
    nr_tee_measurement(s->se0, se_m);
    nr_tee_measurement(s->ae0, ae_m);
    randombytes_buf(rd, sizeof rd);
    /* AE on platform 0 -> SE on platform 0. */
    assert_int_equal(nr_tee_local_report(s->ae0, se_m, rd, rep), NR_OK);
    assert_int_equal(nr_tee_local_verify(s->se0, rep, m, rdo), NR_OK);
    assert_memory_equal(m, ae_m, 32);
    assert_memory_equal(rdo, rd, 64);
    assert_int_equal(nr_tee_local_verify(s->se0b, rep, NULL, NULL), NR_OK);
    /* Wrong target: the AE itself cannot verify a report meant for the SE. */
    assert_int_equal(nr_tee_local_verify(s->ae0, rep, m, rdo), NR_EATTEST);
    /* Wrong platform: the SE on platform 1 has the right measurement but another CPU. */
    assert_int_equal(nr_tee_local_verify(s->se1, rep, m, rdo), NR_EATTEST);
    /* A report from another platform's AE. */
    assert_int_equal(nr_tee_local_report(s->ae1, se_m, rd, rep), NR_OK);
    assert_int_equal(nr_tee_local_verify(s->se0, rep, m, rdo), NR_EATTEST);
    assert_int_equal(nr_tee_local_verify(s->se1, rep, m, rdo), NR_OK);
    /* Tamper every byte. */
    for (size_t i = 0; i < sizeof rep; i++) {
        rep[i] ^= 0x01;
        assert_int_equal(nr_tee_local_verify(s->se1, rep, m, rdo), NR_EATTEST);
        rep[i] ^= 0x01;
    }
}

/* Known answers and layout: computed independently (Python hashlib.blake2b) from the
 * definitions in tee.h / tee_sim.c. */
static void test_known_answers(void **state)
{
    struct st *s = *state;
    uint8_t m[32], exp[32], pub[32], pid[32], rd[64], ev[NR_EVIDENCE_MAX_BYTES];
    size_t elen = 0;
    char path[700];
    nr_tee_measure("sim", "narrator-se/1", m);
    assert_int_equal(
        sodium_hex2bin(exp, sizeof exp,
                       "8d18e3090a0ad477ef3856ab446e544e4fbafa64f70792820681a8b8fd04d314", 64, NULL,
                       NULL, NULL),
        0);
    assert_memory_equal(m, exp, 32);
    nr_tee_measure("sim", "", m);
    assert_int_equal(
        sodium_hex2bin(exp, sizeof exp,
                       "0ab7c01efeaf491387d8df145df914e4d79274a1fc81847006dcb1f94dcc654c", 64, NULL,
                       NULL, NULL),
        0);
    assert_memory_equal(m, exp, 32);
    /* Unknown backends measure to zero. */
    nr_tee_measure("gramine", "narrator-se/1", m);
    memset(exp, 0, sizeof exp);
    assert_memory_equal(m, exp, 32);
    /* platform id = BLAKE2b-256("narrator-sim-platform\0" || platform.pub) */
    snprintf(path, sizeof path, "%s/platform.pub", s->f.plat[0]);
    assert_int_equal(nr_file_read_exact(path, pub, sizeof pub), NR_OK);
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, 32);
    crypto_generichash_update(&h, (const uint8_t *)"narrator-sim-platform", 22);
    crypto_generichash_update(&h, pub, 32);
    crypto_generichash_final(&h, exp, 32);
    nr_tee_platform_id(s->se0, pid);
    assert_memory_equal(pid, exp, 32);
    /* Evidence layout. */
    randombytes_buf(rd, sizeof rd);
    assert_int_equal(nr_tee_quote(s->se0, rd, ev, sizeof ev, &elen), NR_OK);
    assert_memory_equal(ev, "NREV\x01\x00\x00\x00", 8);
    assert_memory_equal(ev + 8, pub, 32);
    nr_tee_measurement(s->se0, m);
    assert_memory_equal(ev + 104, m, 32);
    assert_memory_equal(ev + 136, rd, 64);
    uint8_t msg[22 + 200];
    memcpy(msg, "narrator-sim-evidence", 22);
    memcpy(msg + 22, ev, 200);
    assert_int_equal(crypto_sign_verify_detached(ev + 200, msg, sizeof msg, pub), 0);
    /* Sealed blob header. */
    uint8_t blob[64];
    size_t blen = 0;
    assert_int_equal(
        nr_tee_seal(s->se0, (const uint8_t *)"x", 1, NULL, 0, blob, sizeof blob, &blen), NR_OK);
    assert_memory_equal(blob, "NRSL\x01\x00\x00\x00", 8);
    assert_int_equal(blen, 1 + 48);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_provisioning),   cmocka_unit_test(test_corrupt_platform),
        cmocka_unit_test(test_seal_roundtrip), cmocka_unit_test(test_seal_failures),
        cmocka_unit_test(test_evidence),       cmocka_unit_test(test_local_report),
        cmocka_unit_test(test_known_answers),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
