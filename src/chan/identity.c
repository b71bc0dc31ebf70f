#include "chan/identity.h"

#include <string.h>

#include <sodium.h>

#include "tee/file.h"

#define ID_MAGIC "NRID"
#define ID_VERSION 1u
#define ID_FLAG_ETH 0x01u
#define ID_HDR 8u
#define ID_OFF_SK ID_HDR
#define ID_OFF_ETH_SK (ID_OFF_SK + NR_IDENTITY_SK_BYTES)
#define ID_OFF_ETH_ADDR (ID_OFF_ETH_SK + NR_IDENTITY_ETH_SK_BYTES)
_Static_assert(ID_OFF_ETH_ADDR + NR_IDENTITY_ETH_ADDR_BYTES == NR_IDENTITY_PLAIN_BYTES,
               "identity layout");

static const char seal_ad[] = "narrator-identity-v1"; /* with its NUL */
static const char rd_domain[] = "narrator-identity";

void nr_identity_wipe(struct nr_identity *id)
{
    if (id)
        sodium_memzero(id, sizeof *id);
}

int nr_identity_save(struct nr_tee *tee, const char *path, const struct nr_identity *id)
{
    uint8_t plain[NR_IDENTITY_PLAIN_BYTES], blob[NR_IDENTITY_PLAIN_BYTES + NR_SEAL_OVERHEAD];
    size_t blen = 0;
    if (!tee || !path || !id)
        return NR_EINVAL;
    memcpy(plain, ID_MAGIC, 4);
    plain[4] = (uint8_t)ID_VERSION;
    plain[5] = id->has_eth ? (uint8_t)ID_FLAG_ETH : 0u;
    plain[6] = 0;
    plain[7] = 0;
    memcpy(plain + ID_OFF_SK, id->sk, NR_IDENTITY_SK_BYTES);
    memcpy(plain + ID_OFF_ETH_SK, id->eth_sk, NR_IDENTITY_ETH_SK_BYTES);
    memcpy(plain + ID_OFF_ETH_ADDR, id->eth_addr, NR_IDENTITY_ETH_ADDR_BYTES);
    int rc = nr_tee_seal(tee, plain, sizeof plain, (const uint8_t *)seal_ad, sizeof seal_ad, blob,
                         sizeof blob, &blen);
    sodium_memzero(plain, sizeof plain);
    if (rc != NR_OK)
        return rc;
    return nr_file_write_atomic(path, blob, blen);
}

int nr_identity_create(struct nr_tee *tee, const char *path, struct nr_identity *out)
{
    struct nr_identity id;
    uint8_t seed[crypto_sign_SEEDBYTES];
    if (!tee || !path)
        return NR_EINVAL;
    if (sodium_init() < 0)
        return NR_EIO;
    if (nr_file_exists(path))
        return NR_EEXIST;
    memset(&id, 0, sizeof id);
    nr_tee_random(tee, seed, sizeof seed); /* generated inside the enclave */
    crypto_sign_seed_keypair(id.pub, id.sk, seed);
    sodium_memzero(seed, sizeof seed);
    int rc = nr_identity_save(tee, path, &id);
    if (rc == NR_OK && out)
        *out = id;
    nr_identity_wipe(&id);
    return rc;
}

int nr_identity_load(struct nr_tee *tee, const char *path, struct nr_identity *id)
{
    uint8_t blob[NR_IDENTITY_PLAIN_BYTES + NR_SEAL_OVERHEAD + 1];
    uint8_t plain[NR_IDENTITY_PLAIN_BYTES];
    uint8_t pub[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
    size_t blen = 0, plen = 0;
    if (!tee || !path || !id)
        return NR_EINVAL;
    if (sodium_init() < 0)
        return NR_EIO;
    memset(id, 0, sizeof *id);
    int rc = nr_file_read(path, blob, sizeof blob, &blen);
    if (rc == NR_ETOOBIG)
        return NR_EUNSEAL;
    if (rc != NR_OK)
        return rc;
    rc = nr_tee_unseal(tee, blob, blen, (const uint8_t *)seal_ad, sizeof seal_ad, plain,
                       sizeof plain, &plen);
    if (rc == NR_EFULL)
        rc = NR_EMALFORMED;
    if (rc != NR_OK)
        goto out;
    rc = NR_EMALFORMED;
    if (plen != NR_IDENTITY_PLAIN_BYTES || memcmp(plain, ID_MAGIC, 4) != 0)
        goto out;
    if (plain[4] != ID_VERSION) {
        rc = NR_EVERSION;
        goto out;
    }
    if ((plain[5] & ~ID_FLAG_ETH) != 0 || plain[6] != 0 || plain[7] != 0)
        goto out;
    /* The secret key must be consistent with its seed. */
    crypto_sign_seed_keypair(pub, sk, plain + ID_OFF_SK);
    if (sodium_memcmp(sk, plain + ID_OFF_SK, sizeof sk) != 0)
        goto out;
    memcpy(id->sk, sk, sizeof sk);
    memcpy(id->pub, pub, sizeof pub);
    id->has_eth = (plain[5] & ID_FLAG_ETH) != 0;
    memcpy(id->eth_sk, plain + ID_OFF_ETH_SK, NR_IDENTITY_ETH_SK_BYTES);
    memcpy(id->eth_addr, plain + ID_OFF_ETH_ADDR, NR_IDENTITY_ETH_ADDR_BYTES);
    rc = NR_OK;
out:
    sodium_memzero(plain, sizeof plain);
    sodium_memzero(sk, sizeof sk);
    if (rc != NR_OK)
        nr_identity_wipe(id);
    return rc;
}

int nr_identity_set_eth(struct nr_tee *tee, const char *path, struct nr_identity *id,
                        const uint8_t eth_sk[NR_IDENTITY_ETH_SK_BYTES],
                        const uint8_t eth_addr[NR_IDENTITY_ETH_ADDR_BYTES])
{
    if (!tee || !path || !id || !eth_sk || !eth_addr)
        return NR_EINVAL;
    struct nr_identity next = *id;
    memcpy(next.eth_sk, eth_sk, NR_IDENTITY_ETH_SK_BYTES);
    memcpy(next.eth_addr, eth_addr, NR_IDENTITY_ETH_ADDR_BYTES);
    next.has_eth = 1;
    int rc = nr_identity_save(tee, path, &next);
    if (rc == NR_OK)
        *id = next;
    nr_identity_wipe(&next);
    return rc;
}

void nr_identity_report_data(uint8_t out[NR_REPORT_DATA_BYTES], const uint8_t system_id[32],
                             const uint8_t identity_pub[NR_IDENTITY_PUB_BYTES],
                             const uint8_t *eth_addr)
{
    static const uint8_t zero_addr[NR_IDENTITY_ETH_ADDR_BYTES];
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, NR_REPORT_DATA_BYTES);
    crypto_generichash_update(&st, (const uint8_t *)rd_domain, sizeof rd_domain);
    crypto_generichash_update(&st, system_id, 32);
    crypto_generichash_update(&st, identity_pub, NR_IDENTITY_PUB_BYTES);
    crypto_generichash_update(&st, eth_addr ? eth_addr : zero_addr, NR_IDENTITY_ETH_ADDR_BYTES);
    crypto_generichash_final(&st, out, NR_REPORT_DATA_BYTES);
}

int nr_identity_evidence(struct nr_tee *tee, const struct nr_identity *id,
                         const uint8_t system_id[32], uint8_t *evidence, size_t cap, size_t *ev_len)
{
    uint8_t rd[NR_REPORT_DATA_BYTES];
    if (!tee || !id || !system_id || !evidence || !ev_len)
        return NR_EINVAL;
    nr_identity_report_data(rd, system_id, id->pub, id->has_eth ? id->eth_addr : NULL);
    return nr_tee_quote(tee, rd, evidence, cap, ev_len);
}
