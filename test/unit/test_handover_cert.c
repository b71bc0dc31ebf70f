/* The handover certificate (src/chan/handover_cert.h): encoding round trip and known layout,
 * the registry's hash, and the check a new epoch's member runs against the membership of the
 * epoch that handed over — f+1 distinct valid signatures, the right system, epoch and
 * genesis — with every refusal. Real Ed25519 keys (libsodium). NR_TEST_CERT_CORPUS=DIR also
 * writes the fuzz corpus (test/fuzz/corpus/handover_cert). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "chan/handover_cert.h"
#include "eth/eth.h"

#define N 5
static uint8_t pk[N][32], sk[N][64];
static const uint8_t SYS[32] = {1, 2, 3};
static const uint8_t GEN[32] = {9, 9, 9};

static void sign_as(struct nr_handover *h, uint16_t member)
{
    uint8_t msg[NR_HANDOVER_MSG_BYTES];
    nr_handover_msg(msg, h->system_id, h->epoch, h->genesis, h->next_epoch, h->root, h->count);
    struct nr_handover_sig *s = &h->sigs[h->nsigs++];
    s->member = member;
    s->inc = 0x100000001ull + member;
    assert_int_equal(crypto_sign_detached(s->sig, NULL, msg, sizeof msg, sk[member]), 0);
}

static void base(struct nr_handover *h)
{
    memset(h, 0, sizeof(*h));
    memcpy(h->system_id, SYS, 32);
    memcpy(h->genesis, GEN, 32);
    h->epoch = 3;
    h->next_epoch = 4;
    memset(h->root, 0xab, sizeof h->root);
    h->count = 1000;
}

static void write_corpus(const char *name, const uint8_t *b, size_t len)
{
    const char *dir = getenv("NR_TEST_CERT_CORPUS");
    if (!dir)
        return;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(b, 1, len, f);
        fclose(f);
    }
}

static int vrf(const struct nr_handover *h, uint16_t n)
{
    char err[160];
    int rc = nr_handover_cert_verify(h, SYS, 3, GEN, (const uint8_t(*)[32])pk, n, err, sizeof err);
    if (rc != NR_OK)
        assert_true(strstr(err, "handover certificate refused") != NULL);
    return rc;
}

static void test_round_trip_and_hash(void **state)
{
    (void)state;
    struct nr_handover h, d;
    uint8_t buf[NR_HANDOVER_CERT_MAX_BYTES], k[32];
    base(&h);
    for (uint16_t m = 0; m < 3; m++)
        sign_as(&h, m);
    size_t len = nr_handover_cert_encode(buf, sizeof buf, &h);
    assert_int_equal(len, NR_HANDOVER_CERT_FIXED + 3u * NR_HANDOVER_CERT_SIG_BYTES);
    assert_memory_equal(buf, "narrator-handover-cert-v1", 25);
    assert_int_equal(buf[25 + 32 + 3], 3); /* be32 epoch */
    assert_int_equal(nr_handover_cert_decode(&d, buf, len), NR_OK);
    assert_memory_equal(&d, &h, sizeof h);
    nr_handover_cert_hash(k, buf, len);
    uint8_t want[32];
    nr_keccak256(want, buf, len);
    assert_memory_equal(k, want, 32);
    write_corpus("three_sigs", buf, len);
    /* malformed: every truncation, a trailing byte, a bad domain, too many signatures */
    for (size_t cut = 0; cut < len; cut++)
        assert_int_not_equal(nr_handover_cert_decode(&d, buf, cut), NR_OK);
    buf[len] = 0;
    assert_int_equal(nr_handover_cert_decode(&d, buf, len + 1u), NR_EMALFORMED);
    buf[0] ^= 1;
    assert_int_equal(nr_handover_cert_decode(&d, buf, len), NR_EMALFORMED);
    buf[0] ^= 1;
    buf[NR_HANDOVER_CERT_FIXED - 1u] = NR_MAX_MEMBERS + 1u;
    assert_int_equal(nr_handover_cert_decode(&d, buf, len), NR_EMALFORMED);
    h.nsigs = NR_MAX_MEMBERS + 1u;
    assert_int_equal(nr_handover_cert_encode(buf, sizeof buf, &h), 0);
}

static void test_verify(void **state)
{
    (void)state;
    struct nr_handover h;
    uint8_t buf[NR_HANDOVER_CERT_MAX_BYTES];
    /* n = 5: f+1 = 3 */
    base(&h);
    sign_as(&h, 0);
    sign_as(&h, 4);
    assert_int_equal(vrf(&h, N), NR_EHANDOVER); /* f signatures */
    write_corpus("two_sigs", buf, nr_handover_cert_encode(buf, sizeof buf, &h));
    sign_as(&h, 4);
    assert_int_equal(vrf(&h, N), NR_EHANDOVER); /* the same member twice counts once */
    h.sigs[h.nsigs - 1].member = 7;
    assert_int_equal(vrf(&h, N), NR_EHANDOVER); /* an index beyond the membership */
    h.nsigs--;
    sign_as(&h, 2);
    assert_int_equal(vrf(&h, N), NR_OK);
    /* n = 3: member 4's signature is of no member and ignored; 0 and 2 are f+1 = 2 */
    assert_int_equal(vrf(&h, 3), NR_OK);
    h.nsigs--;
    assert_int_equal(vrf(&h, 3), NR_EHANDOVER); /* 0 alone */
    sign_as(&h, 2);
    /* every field is covered by the signatures */
    struct nr_handover x = h;
    x.root[7] ^= 1;
    assert_int_equal(vrf(&x, N), NR_EHANDOVER);
    x = h;
    x.count++;
    assert_int_equal(vrf(&x, N), NR_EHANDOVER);
    x = h;
    x.sigs[1].sig[10] ^= 1;
    assert_int_equal(vrf(&x, N), NR_EHANDOVER); /* an invalid signature fails the whole */
    /* the wrong system, epoch, next epoch or genesis */
    x = h;
    x.system_id[0] ^= 1;
    assert_int_equal(vrf(&x, N), NR_EHANDOVER);
    x = h;
    x.next_epoch = 5;
    assert_int_equal(vrf(&x, N), NR_EHANDOVER);
    char err[160];
    uint8_t other[32] = {8};
    assert_int_equal(
        nr_handover_cert_verify(&h, SYS, 2, GEN, (const uint8_t(*)[32])pk, N, err, sizeof err),
        NR_EHANDOVER);
    assert_int_equal(
        nr_handover_cert_verify(&h, SYS, 3, other, (const uint8_t(*)[32])pk, N, err, sizeof err),
        NR_EHANDOVER);
    assert_non_null(strstr(err, "genesis"));
    /* another member's key for a signature */
    uint8_t swapped[N][32];
    memcpy(swapped, pk, sizeof swapped);
    memcpy(swapped[2], pk[3], 32);
    assert_int_equal(
        nr_handover_cert_verify(&h, SYS, 3, GEN, (const uint8_t(*)[32])swapped, N, err, sizeof err),
        NR_EHANDOVER);
    write_corpus("valid", buf, nr_handover_cert_encode(buf, sizeof buf, &h));
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    for (int m = 0; m < N; m++)
        crypto_sign_keypair(pk[m], sk[m]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_and_hash),
        cmocka_unit_test(test_verify),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
