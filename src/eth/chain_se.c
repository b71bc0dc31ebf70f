/* narrator-chain subcommands acting as a state enclave: see chain_se.h. */
#include "eth/chain_se.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "chan/identity.h"
#include "common/code_identity.h"
#include "tee/tee.h"

static void tee_random_cb(void *arg, uint8_t *out, size_t len)
{
    nr_tee_random(arg, out, len);
}

static int open_identity(const struct nr_chain_se_opts *o, struct nr_tee **tee,
                         struct nr_identity *id, char *err, size_t err_cap)
{
    if (o->platform_dir == NULL || o->identity_file == NULL) {
        snprintf(err, err_cap, "--tee-platform and --identity-file are required");
        return NR_EINVAL;
    }
    int rc = nr_tee_open(tee, o->backend ? o->backend : "sim", o->platform_dir,
                         o->code_identity ? o->code_identity : NR_SE_CODE_IDENTITY);
    if (rc != NR_OK) {
        snprintf(err, err_cap, "TEE on platform %s", o->platform_dir);
        return rc;
    }
    rc = nr_identity_load(*tee, o->identity_file, id);
    if (rc != NR_OK)
        snprintf(err, err_cap, "identity %s", o->identity_file);
    return rc;
}

int nr_chain_se_key(const struct nr_chain_se_opts *o, uint8_t addr[NR_ETH_ADDR_BYTES],
                    int *created, char *err, size_t err_cap)
{
    struct nr_tee *tee = NULL;
    struct nr_identity id;
    uint8_t sk[NR_ETH_SK_BYTES];
    memset(&id, 0, sizeof id);
    *created = 0;
    int rc = open_identity(o, &tee, &id, err, err_cap);
    if (rc != NR_OK)
        goto out;
    if (id.has_eth) {
        memcpy(addr, id.eth_addr, NR_ETH_ADDR_BYTES);
        goto out;
    }
    if ((rc = nr_eth_keygen(sk, tee_random_cb, tee)) != NR_OK ||
        (rc = nr_eth_address(addr, sk)) != NR_OK) {
        snprintf(err, err_cap, "Ethereum key generation");
        goto out;
    }
    rc = nr_identity_set_eth(tee, o->identity_file, &id, sk, addr);
    if (rc != NR_OK) {
        snprintf(err, err_cap, "sealing the Ethereum key into %s", o->identity_file);
        goto out;
    }
    *created = 1;
out:
    sodium_memzero(sk, sizeof sk);
    nr_identity_wipe(&id);
    nr_tee_close(tee);
    return rc;
}

int nr_chain_se_register(const struct nr_chain_se_opts *o, struct nr_registry *reg,
                         struct nr_eth_receipt *r, struct nr_registry_member *m,
                         const uint8_t system_id[32], char *err, size_t err_cap)
{
    struct nr_tee *tee = NULL;
    struct nr_identity id;
    uint8_t evidence[NR_EVIDENCE_MAX_BYTES];
    size_t ev_len = 0;
    memset(&id, 0, sizeof id);
    memset(m, 0, sizeof *m);
    int rc = open_identity(o, &tee, &id, err, err_cap);
    if (rc != NR_OK)
        goto out;
    if (!id.has_eth) {
        snprintf(err, err_cap, "identity %s has no Ethereum key: run se-key first", o->identity_file);
        rc = NR_ENOTFOUND;
        goto out;
    }
    rc = nr_identity_evidence(tee, &id, system_id, evidence, sizeof evidence, &ev_len);
    if (rc != NR_OK) {
        snprintf(err, err_cap, "attestation evidence");
        goto out;
    }
    nr_tee_platform_id(tee, m->platform_id);
    memcpy(m->identity_key, id.pub, sizeof m->identity_key);
    nr_keccak256(m->evidence_hash, evidence, ev_len);
    memcpy(m->account, id.eth_addr, sizeof m->account);
    rc = nr_registry_register_member(reg, r, id.eth_sk, system_id, m);
    if (rc != NR_OK)
        snprintf(err, err_cap, "%s", nr_registry_errmsg(reg));
out:
    nr_identity_wipe(&id);
    nr_tee_close(tee);
    return rc;
}
