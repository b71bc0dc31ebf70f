/* The host side of the chain evidence: see chain_evidence.h. */
#include "host/chain_evidence.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "chan/identity.h"
#include "common/errf.h"
#include "eth/registry.h"
#include "host/log.h"
#include "tee/file.h"
#include "tee/tee.h"

#define EV_RPC_TIMEOUT_MS 5000u
#define EV_RPC_CONNECT_TIMEOUT_MS 2000u
#define HEIGHT_BYTES 8u


static void rpc_config(struct nr_rpc_config *rc, const struct nr_host_chain *cfg, const char *url)
{
    memset(rc, 0, sizeof *rc);
    rc->url = url;
    rc->expect_chain_id = cfg->chain_id;
    rc->timeout_ms = EV_RPC_TIMEOUT_MS;
    rc->connect_timeout_ms = EV_RPC_CONNECT_TIMEOUT_MS;
}

struct fetch {
    struct nr_rpc *rpc[NR_CFG_CHAIN_MAX_ENDPOINTS];
    int up[NR_CFG_CHAIN_MAX_ENDPOINTS];
    char why[NR_CFG_CHAIN_MAX_ENDPOINTS][160];
    uint8_t *header[NR_CFG_CHAIN_MAX_ENDPOINTS];
    size_t header_len[NR_CFG_CHAIN_MAX_ENDPOINTS];
    uint8_t hash[NR_CFG_CHAIN_MAX_ENDPOINTS][32];
    struct nr_rpc_proof proof;
};

static void fetch_free(struct fetch *f, unsigned m)
{
    for (unsigned i = 0; i < m; i++) {
        nr_rpc_close(f->rpc[i]);
        free(f->header[i]);
    }
    nr_rpc_proof_free(&f->proof);
}

/* "endpoint 0 (url): block 0x1234abcd..., endpoint 1 (url): unreachable (...)" */
static void describe_headers(char *out, size_t cap, const struct fetch *f,
                             const struct nr_host_chain *cfg)
{
    size_t n = 0;
    out[0] = '\0';
    for (unsigned i = 0; i < cfg->n_rpc_urls && n + 1 < cap; i++) {
        char h[17];
        if (f->header[i] != NULL) {
            sodium_bin2hex(h, sizeof h, f->hash[i], 8);
            n += (size_t)snprintf(out + n, cap - n, "%sendpoint %u (%s): block 0x%s...",
                                  i ? "; " : "", i, cfg->rpc_urls[i], h);
        } else {
            n += (size_t)snprintf(out + n, cap - n, "%sendpoint %u (%s): %s", i ? "; " : "", i,
                                  cfg->rpc_urls[i], f->why[i]);
        }
    }
}

int nr_host_chain_fetch_genesis(struct nr_evidence_genesis *out, const struct nr_host_chain *cfg,
                                uint64_t min_height, const uint8_t system_id[32], uint32_t epoch,
                                char *err, size_t err_cap)
{
    memset(out, 0, sizeof *out);
    unsigned m = cfg->n_rpc_urls;
    unsigned k = cfg->agree ? cfg->agree : m;
    if (m == 0 || m > NR_CFG_CHAIN_MAX_ENDPOINTS || k > m)
        return nr_errf(err, err_cap, NR_ECONFIG, "chain: %u endpoints configured, %u must agree", m,
                    k);
    struct fetch *f = calloc(1, sizeof *f);
    if (f == NULL)
        return NR_ENOMEM;
    static const char *const unreached = "not asked";
    for (unsigned i = 0; i < m; i++)
        snprintf(f->why[i], sizeof f->why[i], "%s", unreached);
    char text[1024];
    int rc = NR_OK;

    /* 1. heads */
    uint64_t low = UINT64_MAX;
    unsigned up = 0;
    int last_rc = NR_EUNREACHABLE;
    for (unsigned i = 0; i < m; i++) {
        struct nr_rpc_config rcfg;
        rpc_config(&rcfg, cfg, cfg->rpc_urls[i]);
        uint64_t head = 0;
        int r = nr_rpc_open(&f->rpc[i], &rcfg);
        if (r == NR_OK)
            r = nr_rpc_block_number(f->rpc[i], &head);
        if (r != NR_OK) {
            snprintf(f->why[i], sizeof f->why[i], "%s (%s)",
                     f->rpc[i] ? nr_rpc_errmsg(f->rpc[i]) : nr_strerror(r), nr_errname(r));
            NR_LOGW("chain: endpoint %u (%s): %s", i, cfg->rpc_urls[i], f->why[i]);
            last_rc = r;
            continue;
        }
        f->up[i] = 1;
        up++;
        if (head < low)
            low = head;
    }
    if (up < k) {
        describe_headers(text, sizeof text, f, cfg);
        rc = nr_errf(err, err_cap, last_rc, "chain: %u of %u endpoints answer, %u must agree: %s", up,
                  m, k, text);
        goto out;
    }
    unsigned conf = cfg->confirmations ? cfg->confirmations : 1u;
    if (low + 1u < conf) {
        rc = nr_errf(err, err_cap, NR_ECHAIN, "chain: head %" PRIu64 " has fewer than %u blocks", low,
                  conf);
        goto out;
    }
    uint64_t height = low + 1u - conf;

    /* 2. headers */
    for (unsigned i = 0; i < m; i++) {
        if (!f->up[i])
            continue;
        int r = nr_rpc_block_header(f->rpc[i], &f->header[i], &f->header_len[i], f->hash[i],
                                    height);
        if (r != NR_OK) {
            snprintf(f->why[i], sizeof f->why[i], "%s (%s)", nr_rpc_errmsg(f->rpc[i]),
                     nr_errname(r));
            NR_LOGW("chain: endpoint %u (%s): %s", i, cfg->rpc_urls[i], f->why[i]);
            f->up[i] = 0;
        }
    }

    /* 3. proofs from the first endpoint that answers */
    uint8_t slots[NR_EVIDENCE_GENESIS_SLOTS][32];
    nr_evidence_genesis_slots(slots, system_id, epoch);
    int proof_from = -1;
    for (unsigned i = 0; i < m && proof_from < 0; i++) {
        if (!f->up[i] || f->header[i] == NULL)
            continue;
        int r = nr_rpc_get_proof(f->rpc[i], &f->proof, cfg->contract,
                                 (const uint8_t(*)[32])slots, NR_EVIDENCE_GENESIS_SLOTS, height);
        if (r == NR_OK) {
            proof_from = (int)i;
        } else {
            NR_LOGW("chain: endpoint %u (%s): eth_getProof: %s", i, cfg->rpc_urls[i],
                    nr_rpc_errmsg(f->rpc[i]));
            nr_rpc_proof_free(&f->proof);
            last_rc = r;
        }
    }
    if (proof_from < 0) {
        rc = nr_errf(err, err_cap, last_rc,
                  "chain: no endpoint served eth_getProof for the registry at block %" PRIu64,
                  height);
        goto out;
    }

    /* 4. the verdict */
    struct nr_evidence ev;
    memset(&ev, 0, sizeof ev);
    ev.height = height;
    ev.n_headers = m;
    for (unsigned i = 0; i < m; i++)
        ev.headers[i] = (struct nr_eth_bytes){f->header[i], f->header_len[i]};
    ev.account_proof = f->proof.account_nodes;
    ev.n_account_nodes = f->proof.n_account_nodes;
    ev.n_storage = f->proof.n_storage;
    for (size_t j = 0; j < f->proof.n_storage; j++) {
        memcpy(ev.storage[j].slot, f->proof.storage[j].key, 32);
        ev.storage[j].nodes = f->proof.storage[j].nodes;
        ev.storage[j].n_nodes = f->proof.storage[j].n_nodes;
    }
    struct nr_evidence_policy pol;
    memset(&pol, 0, sizeof pol);
    memcpy(pol.registry, cfg->contract, sizeof pol.registry);
    pol.agree = k;
    pol.min_height = min_height;
    char why[256];
    rc = nr_evidence_genesis(out, &ev, &pol, system_id, epoch, why, sizeof why);
    if (rc == NR_EDISAGREE) {
        describe_headers(text, sizeof text, f, cfg);
        rc = nr_errf(err, err_cap, rc, "chain: endpoints disagree at block %" PRIu64 " (%u must "
                  "agree): %s", height, k, text);
    } else if (rc == NR_EPROOF) {
        rc = nr_errf(err, err_cap, rc, "chain: endpoint %d (%s) served a bad proof: %s", proof_from,
                  cfg->rpc_urls[proof_from], why);
    } else if (rc != NR_OK) {
        rc = nr_errf(err, err_cap, rc, "chain: %s", why);
    } else {
        for (unsigned i = 0; i < m; i++)
            if (f->header[i] == NULL || memcmp(f->hash[i], out->block_hash, 32) != 0) {
                describe_headers(text, sizeof text, f, cfg);
                NR_LOGW("chain: endpoint %u (%s) is not on the agreed block %" PRIu64 ": %s", i,
                        cfg->rpc_urls[i], height, text);
            }
    }
out:
    fetch_free(f, m);
    free(f);
    return rc;
}

static void height_ad(uint8_t *ad, size_t *len, const struct nr_host_chain *cfg)
{
    size_t n = sizeof NR_HOST_CHAIN_HEIGHT_AD - 1;
    memcpy(ad, NR_HOST_CHAIN_HEIGHT_AD, n);
    for (int i = 7; i >= 0; i--)
        ad[n++] = (uint8_t)(cfg->chain_id >> (8 * i));
    memcpy(ad + n, cfg->contract, 20);
    *len = n + 20;
}

int nr_host_chain_height_load(uint64_t *height, struct nr_tee *tee, const char *data_dir,
                              const struct nr_host_chain *cfg, char *err, size_t err_cap)
{
    *height = 0;
    char path[4096];
    if (nr_path_join(path, sizeof path, data_dir, NR_HOST_CHAIN_HEIGHT_FILE) != NR_OK)
        return nr_errf(err, err_cap, NR_ETOOBIG, "chain: data directory path too long");
    uint8_t blob[HEIGHT_BYTES + NR_SEAL_OVERHEAD + 1];
    size_t len = 0;
    int rc = nr_file_read(path, blob, sizeof blob, &len);
    if (rc == NR_ENOTFOUND)
        return NR_OK;
    if (rc != NR_OK)
        return nr_errf(err, err_cap, rc == NR_ETOOBIG ? NR_EMALFORMED : rc,
                    "chain: %s: cannot read the sealed highest height (%s)", path,
                    nr_strerror(rc));
    uint8_t ad[64], pt[HEIGHT_BYTES + 1];
    size_t ad_len = 0, pt_len = 0;
    height_ad(ad, &ad_len, cfg);
    rc = nr_tee_unseal(tee, blob, len, ad, ad_len, pt, sizeof pt, &pt_len);
    if (rc != NR_OK)
        return nr_errf(err, err_cap, NR_EUNSEAL, "chain: %s does not unseal (%s)", path,
                    nr_strerror(rc));
    if (pt_len != HEIGHT_BYTES)
        return nr_errf(err, err_cap, NR_EMALFORMED, "chain: %s holds %zu bytes, not %u", path,
                    pt_len, HEIGHT_BYTES);
    uint64_t h = 0;
    for (unsigned i = 0; i < HEIGHT_BYTES; i++)
        h = (h << 8) | pt[i];
    *height = h;
    return NR_OK;
}

int nr_host_chain_height_store(struct nr_tee *tee, const char *data_dir,
                               const struct nr_host_chain *cfg, uint64_t height, char *err,
                               size_t err_cap)
{
    char path[4096];
    if (nr_path_join(path, sizeof path, data_dir, NR_HOST_CHAIN_HEIGHT_FILE) != NR_OK)
        return nr_errf(err, err_cap, NR_ETOOBIG, "chain: data directory path too long");
    uint8_t pt[HEIGHT_BYTES], ad[64], blob[HEIGHT_BYTES + NR_SEAL_OVERHEAD];
    size_t ad_len = 0, blob_len = 0;
    for (unsigned i = 0; i < HEIGHT_BYTES; i++)
        pt[i] = (uint8_t)(height >> (8 * (HEIGHT_BYTES - 1 - i)));
    height_ad(ad, &ad_len, cfg);
    int rc = nr_tee_seal(tee, pt, sizeof pt, ad, ad_len, blob, sizeof blob, &blob_len);
    if (rc == NR_OK)
        rc = nr_file_write_atomic(path, blob, blob_len);
    if (rc != NR_OK)
        return nr_errf(err, err_cap, rc, "chain: cannot seal the highest height into %s (%s)", path,
                    nr_strerror(rc));
    return NR_OK;
}

int nr_host_chain_read_genesis(struct nr_evidence_genesis *out, const struct nr_host_chain *cfg,
                               struct nr_tee *tee, const char *data_dir,
                               const uint8_t system_id[32], uint32_t epoch, char *err,
                               size_t err_cap)
{
    memset(out, 0, sizeof *out);
    uint64_t sealed = 0;
    int rc = nr_host_chain_height_load(&sealed, tee, data_dir, cfg, err, err_cap);
    if (rc != NR_OK)
        return rc;
    rc = nr_host_chain_fetch_genesis(out, cfg, sealed, system_id, epoch, err, err_cap);
    if (rc != NR_OK)
        return rc;
    if (out->block_number > sealed)
        rc = nr_host_chain_height_store(tee, data_dir, cfg, out->block_number, err, err_cap);
    return rc;
}

int nr_host_chain_post_genesis(struct nr_eth_receipt *rc_out, const struct nr_host_chain *cfg,
                               struct nr_tee *tee, const char *identity_file,
                               const uint8_t system_id[32], uint32_t epoch,
                               const uint8_t genesis_id[32],
                               const uint8_t founders[NR_GENESIS_FOUNDERS_BYTES], char *err,
                               size_t err_cap)
{
    struct nr_identity id;
    memset(&id, 0, sizeof id);
    struct nr_eth_receipt r;
    memset(&r, 0, sizeof r);
    int rc = nr_identity_load(tee, identity_file, &id);
    if (rc != NR_OK) {
        nr_errf(err, err_cap, rc, "chain: identity %s: %s", identity_file, nr_strerror(rc));
        goto out;
    }
    if (!id.has_eth) {
        rc = nr_errf(err, err_cap, NR_ENOTFOUND, "chain: identity %s has no Ethereum key",
                  identity_file);
        goto out;
    }
    rc = NR_EUNREACHABLE;
    for (unsigned i = 0; i < cfg->n_rpc_urls; i++) {
        struct nr_registry_config rcfg;
        memset(&rcfg, 0, sizeof rcfg);
        rpc_config(&rcfg.rpc, cfg, cfg->rpc_urls[i]);
        rcfg.has_contract = 1;
        memcpy(rcfg.contract, cfg->contract, sizeof rcfg.contract);
        rcfg.confirmations = cfg->confirmations ? cfg->confirmations : 1u;
        struct nr_registry *reg = NULL;
        rc = nr_registry_open(&reg, &rcfg);
        if (rc == NR_OK)
            rc = nr_registry_record_genesis(reg, &r, id.eth_sk, system_id, epoch, genesis_id,
                                            founders);
        if (rc != NR_OK)
            nr_errf(err, err_cap, rc, "chain: recordGenesis via endpoint %u (%s): %s", i,
                 cfg->rpc_urls[i], reg ? nr_registry_errmsg(reg) : nr_strerror(rc));
        nr_registry_close(reg);
        /* Only a transport failure moves on to the next endpoint. */
        if (rc != NR_EUNREACHABLE && rc != NR_ETIMEDOUT)
            break;
    }
out:
    if (rc_out)
        *rc_out = r;
    nr_identity_wipe(&id);
    return rc;
}
