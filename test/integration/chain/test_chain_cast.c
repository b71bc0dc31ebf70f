/* Integration: our ABI calldata and signed transactions equal those of foundry's `cast` for
 * randomised inputs (cast from node_modules, run offline: every field is given).
 *
 * The seed is printed; NR_TEST_SEED=<n> replays a run. NR_TEST_ROUNDS overrides the number of
 * rounds (default 8; each round runs cast 6 times). */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <sodium.h>

#include "anvil_fixture.h"
#include "eth/registry.h"

static uint64_t rng_state;

static uint64_t rnd(void) /* splitmix64 */
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void rnd_bytes(uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (uint8_t)rnd();
}

static void rnd_cb(void *arg, uint8_t *out, size_t n)
{
    (void)arg;
    rnd_bytes(out, n);
}

/* A random u256 of 0..bits bits (biased towards edge cases: 0, small, full width). */
static void rnd_u256(nr_u256 *v, unsigned max_bits)
{
    memset(v->b, 0, 32);
    unsigned pick = (unsigned)(rnd() % 4);
    if (pick == 0)
        return;
    if (pick == 1) {
        v->b[31] = (uint8_t)rnd();
        return;
    }
    unsigned bits = pick == 2 ? max_bits : 1 + (unsigned)(rnd() % max_bits);
    rnd_bytes(v->b + 32 - (bits + 7) / 8, (bits + 7) / 8);
    if (bits % 8)
        v->b[32 - (bits + 7) / 8] &= (uint8_t)((1u << (bits % 8)) - 1);
}

static void hex(char *out, size_t cap, const uint8_t *p, size_t n)
{
    assert_int_equal(nr_eth_hex_encode(out, cap, p, n), NR_OK);
}

static void cast(char *out, size_t cap, const char *const *argv)
{
    int st = nr_test_run(argv, out, cap, 30000);
    if (st != 0) {
        fprintf(stderr, "cast failed (%d):", st);
        for (size_t i = 0; argv[i]; i++)
            fprintf(stderr, " %s", argv[i]);
        fprintf(stderr, "\n");
    }
    assert_int_equal(st, 0);
}

static void expect_calldata(const char *sig, const struct nr_abi_arg *args, size_t n,
                            const char *const *cast_args)
{
    struct nr_abi_buf buf = {0};
    assert_int_equal(nr_abi_encode_call(&buf, sig, args, n), NR_OK);
    char ours[4096], theirs[4096];
    hex(ours, sizeof ours, buf.p, buf.len);
    free(buf.p);
    const char *argv[16] = {NR_CAST_PATH, "calldata", sig};
    size_t k = 3;
    for (size_t i = 0; cast_args[i] && k < 15; i++)
        argv[k++] = cast_args[i];
    argv[k] = NULL;
    cast(theirs, sizeof theirs, argv);
    if (strcmp(ours, theirs) != 0)
        fail_msg("%s:\n ours   %s\n theirs %s", sig, ours, theirs);
}

static void test_calldata_equals_cast(void **state)
{
    unsigned rounds = *(unsigned *)*state;
    for (unsigned round = 0; round < rounds; round++) {
        uint8_t id[32], meas[32], p[32], k[32], e[32];
        rnd_bytes(id, 32);
        rnd_bytes(meas, 32);
        rnd_bytes(p, 32);
        rnd_bytes(k, 32);
        rnd_bytes(e, 32);
        if (round == 0)
            memset(e, 0, 32); /* a zero word too */
        nr_u256 n, f, idx;
        rnd_u256(&n, 256);
        rnd_u256(&f, 64);
        rnd_u256(&idx, 256);
        char sid[67], smeas[67], sp[67], sk_[67], se[67], sn[NR_U256_DEC_MAX], sf[NR_U256_DEC_MAX],
            sidx[NR_U256_DEC_MAX];
        hex(sid, sizeof sid, id, 32);
        hex(smeas, sizeof smeas, meas, 32);
        hex(sp, sizeof sp, p, 32);
        hex(sk_, sizeof sk_, k, 32);
        hex(se, sizeof se, e, 32);
        nr_u256_to_dec(sn, &n);
        nr_u256_to_dec(sf, &f);
        nr_u256_to_dec(sidx, &idx);

        struct nr_abi_arg a[4];
        memset(a, 0, sizeof a);
        a[0].type = NR_ABI_BYTES32;
        memcpy(a[0].b32, id, 32);
        a[1].type = NR_ABI_UINT256;
        a[1].u = n;
        a[2].type = NR_ABI_UINT256;
        a[2].u = f;
        a[3].type = NR_ABI_BYTES32;
        memcpy(a[3].b32, meas, 32);
        expect_calldata(NR_REGISTRY_SIG_CREATE, a, 4, (const char *const[]){sid, sn, sf, smeas, NULL});

        memset(a, 0, sizeof a);
        for (int i = 0; i < 4; i++)
            a[i].type = NR_ABI_BYTES32;
        memcpy(a[0].b32, id, 32);
        memcpy(a[1].b32, p, 32);
        memcpy(a[2].b32, k, 32);
        memcpy(a[3].b32, e, 32);
        expect_calldata(NR_REGISTRY_SIG_REGISTER, a, 4, (const char *const[]){sid, sp, sk_, se, NULL});

        memset(a, 0, sizeof a);
        a[0].type = NR_ABI_BYTES32;
        memcpy(a[0].b32, id, 32);
        a[1].type = NR_ABI_UINT256;
        a[1].u = idx;
        expect_calldata(NR_REGISTRY_SIG_GET_MEMBER, a, 2, (const char *const[]){sid, sidx, NULL});
        expect_calldata(NR_REGISTRY_SIG_FINALIZE, a, 1, (const char *const[]){sid, NULL});
    }
}

static void test_signed_transactions_equal_cast(void **state)
{
    unsigned rounds = *(unsigned *)*state;
    for (unsigned round = 0; round < rounds; round++) {
        for (int type = 0; type <= 2; type += 2) {
            uint8_t sk[32];
            assert_int_equal(nr_eth_keygen(sk, rnd_cb, NULL), NR_OK);
            struct nr_eth_tx tx;
            memset(&tx, 0, sizeof tx);
            tx.type = type;
            tx.chain_id = 1 + rnd() % (round % 2 ? 0xffffffffu : 100000u);
            tx.nonce = round == 0 ? 0 : rnd() % (1ull << (rnd() % 48));
            tx.gas_limit = 21000 + rnd() % 30000000u;
            rnd_u256(&tx.value, 128);
            int create = round % 4 == 3;
            tx.has_to = !create;
            rnd_bytes(tx.to, 20);
            size_t data_len = 1 + (size_t)(rnd() % 200);
            uint8_t data[200];
            rnd_bytes(data, data_len);
            tx.data = data;
            tx.data_len = data_len;
            nr_u256 price;
            rnd_u256(&price, 96);
            if (type == 0) {
                tx.gas_price = price;
            } else {
                tx.max_fee = price;
                rnd_u256(&tx.max_priority_fee, 64);
                if (nr_u256_cmp(&tx.max_priority_fee, &tx.max_fee) > 0)
                    tx.max_priority_fee = tx.max_fee;
            }
            uint8_t *raw = NULL, h[32];
            size_t raw_len = 0;
            assert_int_equal(nr_eth_tx_sign(&raw, &raw_len, h, &tx, sk), NR_OK);
            char *ours = malloc(2 * raw_len + 3);
            hex(ours, 2 * raw_len + 3, raw, raw_len);
            free(raw);

            char ssk[67], sto[43], sdata[403], schain[24], snonce[24], sgas[24],
                sprice[NR_U256_DEC_MAX], sprio[NR_U256_DEC_MAX], svalue[NR_U256_DEC_MAX];
            hex(ssk, sizeof ssk, sk, 32);
            hex(sto, sizeof sto, tx.to, 20);
            hex(sdata, sizeof sdata, data, data_len);
            snprintf(schain, sizeof schain, "%" PRIu64, tx.chain_id);
            snprintf(snonce, sizeof snonce, "%" PRIu64, tx.nonce);
            snprintf(sgas, sizeof sgas, "%" PRIu64, tx.gas_limit);
            nr_u256_to_dec(sprice, &price);
            nr_u256_to_dec(sprio, &tx.max_priority_fee);
            nr_u256_to_dec(svalue, &tx.value);
            const char *argv[32] = {NR_CAST_PATH, "mktx", "--private-key", ssk, "--chain", schain,
                                    "--nonce", snonce, "--gas-limit", sgas, "--gas-price", sprice,
                                    "--value", svalue};
            size_t k = 14;
            if (type == 0) {
                argv[k++] = "--legacy";
            } else {
                argv[k++] = "--priority-gas-price";
                argv[k++] = sprio;
            }
            if (create) {
                argv[k++] = "--create";
            } else {
                argv[k++] = sto;
            }
            argv[k++] = sdata;
            argv[k] = NULL;
            char theirs[2048];
            cast(theirs, sizeof theirs, argv);
            if (strcmp(ours, theirs) != 0)
                fail_msg("type %d tx (round %u):\n ours   %s\n theirs %s", type, round, ours, theirs);
            free(ours);
            sodium_memzero(sk, sizeof sk);
        }
    }
}

int main(void)
{
    uint64_t seed = (uint64_t)time(NULL);
    const char *s = getenv("NR_TEST_SEED");
    if (s)
        seed = strtoull(s, NULL, 10);
    unsigned rounds = 8;
    const char *r = getenv("NR_TEST_ROUNDS");
    if (r)
        rounds = (unsigned)strtoul(r, NULL, 10);
    printf("seed %" PRIu64 " (NR_TEST_SEED=%" PRIu64 " replays), %u rounds\n", seed, seed, rounds);
    rng_state = seed;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(test_calldata_equals_cast, &rounds),
        cmocka_unit_test_prestate(test_signed_transactions_equal_cast, &rounds),
    };
    return cmocka_run_group_tests_name("chain_cast", tests, NULL, NULL);
}
