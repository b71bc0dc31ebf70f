/* DCAP collateral for narratord (collateral.h). */
#include "host/collateral.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tee/dcap.h"
#include "tee/file.h"

static int load_one(const char *name, int line, const char *key, const char *path,
                    int (*check)(const uint8_t *, size_t, char *, size_t), uint8_t **out,
                    size_t *out_len, char *err, size_t err_cap)
{
    char why[256];
    size_t n = 0;
    uint8_t *buf = malloc(NR_COLLATERAL_FILE_MAX);
    if (!buf) {
        snprintf(err, err_cap, "%s:%d: %s: out of memory", name, line, key);
        return NR_ENOMEM;
    }
    int rc = nr_file_read(path, buf, NR_COLLATERAL_FILE_MAX, &n);
    if (rc != NR_OK) {
        snprintf(err, err_cap, "%s:%d: %s: %s: %s", name, line, key, path,
                 rc == NR_ENOTFOUND ? "cannot open"
                 : rc == NR_ETOOBIG ? "larger than 1 MiB"
                                    : "read error");
        free(buf);
        return NR_ECONFIG;
    }
    why[0] = '\0';
    rc = check(buf, n, why, sizeof why);
    if (rc != NR_OK) {
        snprintf(err, err_cap, "%s:%d: %s: %s: %s", name, line, key, path,
                 why[0] ? why : nr_strerror(rc));
        free(buf);
        return rc == NR_ENOMEM ? rc : NR_ECONFIG;
    }
    *out = buf;
    *out_len = n;
    return NR_OK;
}

int nr_host_collateral_load(struct nr_host_collateral *out, const struct nr_host_config *cfg,
                            const char *name, char *err, size_t err_cap)
{
    const struct nr_host_sgx *s = &cfg->sgx;
    int rc = NR_OK;
    memset(out, 0, sizeof *out);
    if (err && err_cap)
        err[0] = '\0';
    if (!s->enabled)
        return NR_OK;
    _Static_assert(NR_CFG_SGX_MAX_CRLS <= NR_ATTEST_MAX_CRLS, "CRL count");
    for (unsigned i = 0; i < s->n_crls && i < NR_CFG_SGX_MAX_CRLS; i++) {
        rc = load_one(name, s->crl_line[i], "PckCrl", s->crl_path[i], nr_dcap_check_crl,
                      &out->crl[i], &out->crl_len[i], err, err_cap);
        if (rc != NR_OK)
            goto fail;
        out->att.crl[i] = out->crl[i];
        out->att.crl_len[i] = out->crl_len[i];
        out->att.n_crls = i + 1u;
    }
    if (s->tcb_info_path[0]) {
        rc = load_one(name, s->tcb_info_line, "TcbInfo", s->tcb_info_path,
                      nr_dcap_check_tcb_info, &out->tcb_info, &out->tcb_info_len, err, err_cap);
        if (rc == NR_OK)
            rc = load_one(name, s->tcb_chain_line, "TcbSigningChain", s->tcb_chain_path,
                          nr_dcap_check_pem_chain, &out->tcb_chain, &out->tcb_chain_len, err,
                          err_cap);
        if (rc != NR_OK)
            goto fail;
        out->att.tcb_info = out->tcb_info;
        out->att.tcb_info_len = out->tcb_info_len;
        out->att.tcb_chain = out->tcb_chain;
        out->att.tcb_chain_len = out->tcb_chain_len;
    }
    out->att.require_crl = s->require_crl;
    out->att.tcb_allowed = s->tcb_allowed;
    out->loaded = 1;
    return NR_OK;
fail:
    nr_host_collateral_free(out);
    return rc;
}

void nr_host_collateral_free(struct nr_host_collateral *c)
{
    if (!c)
        return;
    for (unsigned i = 0; i < NR_CFG_SGX_MAX_CRLS; i++)
        free(c->crl[i]);
    free(c->tcb_info);
    free(c->tcb_chain);
    memset(c, 0, sizeof *c);
}

void nr_host_collateral_policies(const struct nr_host_config *cfg,
                                 const struct nr_host_collateral *c,
                                 struct nr_attest_policy *peer, struct nr_attest_policy *ae)
{
    if (c && c->loaded) {
        peer->collateral = &c->att;
        peer->allow_debug = cfg->sgx.allow_debug;
    }
    *ae = *peer;
    memset(ae->allowed, 0, sizeof ae->allowed);
    ae->n_allowed = 0;
    ae->any_measurement = !cfg->sgx.check_ae_signer;
    ae->check_signer = cfg->sgx.check_ae_signer;
    memcpy(ae->signer, cfg->sgx.ae_signer, sizeof ae->signer);
}
