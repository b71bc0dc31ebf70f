/* narratord's chain check: see chain.h. */
#include "host/chain.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "eth/registry.h"
#include "host/log.h"

#define CHAIN_RPC_TIMEOUT_MS 5000u
#define CHAIN_RPC_CONNECT_TIMEOUT_MS 2000u

static void hex_short(char out[17], const uint8_t *v)
{
    sodium_bin2hex(out, 17, v, 8);
}

int nr_host_chain_compare(const struct nr_registry_system *sys,
                          const struct nr_registry_member *members, size_t n_members,
                          const struct nr_membership *m, uint16_t self,
                          const uint8_t identity_pub[NR_IDENTITY_PUB_BYTES],
                          const uint8_t platform_id[NR_PLATFORM_ID_BYTES], char *err,
                          size_t err_cap)
{
    char a[17], b[17];
    int found = -1;

    /* First: is this SE in the on-chain membership at all? */
    for (size_t i = 0; i < n_members; i++)
        if (sodium_memcmp(members[i].identity_key, identity_pub, NR_IDENTITY_PUB_BYTES) == 0 &&
            sodium_memcmp(members[i].platform_id, platform_id, NR_PLATFORM_ID_BYTES) == 0) {
            found = (int)i;
            break;
        }
    if (found < 0) {
        hex_short(a, identity_pub);
        hex_short(b, platform_id);
        snprintf(err, err_cap,
                 "this SE (identity %s..., platform %s...) is not in the finalised on-chain "
                 "membership (%zu members)",
                 a, b, n_members);
        return NR_ENOTMEMBER;
    }
    if ((unsigned)found != self) {
        snprintf(err, err_cap, "this SE is member %d on chain but Index = %u in the configuration",
                 found, self);
        return NR_ECHAIN;
    }
    if (sys->n != m->n || sys->f != m->f || n_members != m->n) {
        snprintf(err, err_cap,
                 "the membership file differs from the chain: n=%u f=%u in the file, n=%u f=%u "
                 "(%zu members) on chain",
                 m->n, m->f, sys->n, sys->f, n_members);
        return NR_ECHAIN;
    }
    int meas_ok = 0;
    for (unsigned k = 0; k < m->n_measurements; k++)
        if (sodium_memcmp(m->measurements[k], sys->measurement, NR_MEASUREMENT_BYTES) == 0)
            meas_ok = 1;
    if (!meas_ok) {
        hex_short(a, sys->measurement);
        snprintf(err, err_cap,
                 "the membership file differs from the chain: measurement %s... on chain is not "
                 "in the file",
                 a);
        return NR_ECHAIN;
    }
    for (uint16_t i = 0; i < m->n; i++) {
        const struct nr_member *x = nr_membership_member(m, i);
        const struct nr_registry_member *c = &members[i];
        uint8_t h[32];
        const char *what = NULL;
        if (!x) {
            snprintf(err, err_cap, "the membership file has no member %u", i);
            return NR_ECHAIN;
        }
        nr_keccak256(h, x->evidence, x->ev_len);
        if (sodium_memcmp(x->identity_pub, c->identity_key, NR_IDENTITY_PUB_BYTES) != 0)
            what = "identity key";
        else if (sodium_memcmp(x->platform_id, c->platform_id, NR_PLATFORM_ID_BYTES) != 0)
            what = "platform id";
        else if (sodium_memcmp(h, c->evidence_hash, sizeof h) != 0)
            what = "evidence hash";
        else if (x->has_eth && sodium_memcmp(x->eth_addr, c->account, NR_ETH_ADDR_BYTES) != 0)
            what = "Ethereum account";
        if (what) {
            snprintf(err, err_cap,
                     "the membership file differs from the chain: member %u (%s line %u) has "
                     "another %s than on chain",
                     i, m->name, x->line, what);
            return NR_ECHAIN;
        }
    }
    return NR_OK;
}

static int transient(int rc)
{
    return rc == NR_EUNREACHABLE || rc == NR_ETIMEDOUT || rc == NR_ERPC || rc == NR_EMALFORMED ||
           rc == NR_ETOOBIG || rc == NR_EIO;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* One attempt: connect, read the finalised record, compare. */
static int attempt(const struct nr_host_chain *cfg, const struct nr_membership *m, uint16_t self,
                   const uint8_t identity_pub[NR_IDENTITY_PUB_BYTES],
                   const uint8_t platform_id[NR_PLATFORM_ID_BYTES],
                   const uint8_t measurement[NR_MEASUREMENT_BYTES],
                   struct nr_registry_member *members, char *err, size_t err_cap)
{
    struct nr_registry_config rc_cfg;
    struct nr_registry *reg = NULL;
    struct nr_registry_system sys;
    size_t n_members = 0;
    int rc;

    memset(&rc_cfg, 0, sizeof rc_cfg);
    memset(&sys, 0, sizeof sys);
    rc_cfg.rpc.url = cfg->rpc_url;
    rc_cfg.rpc.expect_chain_id = cfg->chain_id;
    rc_cfg.rpc.timeout_ms = CHAIN_RPC_TIMEOUT_MS;
    rc_cfg.rpc.connect_timeout_ms = CHAIN_RPC_CONNECT_TIMEOUT_MS;
    rc_cfg.rpc.retries = NR_RPC_NO_RETRY; /* the caller's loop retries, with its own backoff */
    rc_cfg.has_contract = 1;
    memcpy(rc_cfg.contract, cfg->contract, sizeof rc_cfg.contract);
    rc_cfg.confirmations = cfg->confirmations ? cfg->confirmations : 1u;

    rc = nr_registry_open(&reg, &rc_cfg);
    if (rc == NR_OK)
        rc = nr_registry_verify(reg, &sys, members, NR_REGISTRY_MAX_MEMBERS, &n_members,
                                m->system_id, measurement);
    if (rc != NR_OK) {
        const char *msg = reg ? nr_registry_errmsg(reg) : "";
        snprintf(err, err_cap, "%s%s%s (%s)", nr_strerror(rc), msg && *msg ? ": " : "",
                 msg ? msg : "", nr_errname(rc));
        nr_registry_close(reg);
        return rc;
    }
    nr_registry_close(reg);
    return nr_host_chain_compare(&sys, members, n_members, m, self, identity_pub, platform_id, err,
                                 err_cap);
}

int nr_host_chain_verify(const struct nr_host_chain *cfg, const struct nr_membership *m,
                         uint16_t self, const uint8_t identity_pub[NR_IDENTITY_PUB_BYTES],
                         const uint8_t platform_id[NR_PLATFORM_ID_BYTES],
                         const uint8_t measurement[NR_MEASUREMENT_BYTES], int *skipped, char *err,
                         size_t err_cap)
{
    static struct nr_registry_member members[NR_REGISTRY_MAX_MEMBERS]; /* large; one thread */
    char sys_hex[2 * NR_SYSTEM_ID_BYTES + 1], why[NR_RPC_ERRMSG_BYTES + 128];
    char contract[NR_ETH_ADDR_HEX_BYTES];
    uint64_t start = nr_now_ms();
    uint64_t deadline = start + cfg->start_timeout_ms;
    unsigned backoff = NR_HOST_CHAIN_BACKOFF_MIN_MS;
    unsigned attempts = 0;
    int rc;

    *skipped = 0;
    sodium_bin2hex(sys_hex, sizeof sys_hex, m->system_id, NR_SYSTEM_ID_BYTES);
    nr_eth_address_hex(contract, cfg->contract);
    NR_LOGI("chain: checking the membership of system %.16s... on %s (chain id %llu, registry "
            "%s, %u confirmation(s))",
            sys_hex, cfg->rpc_url, (unsigned long long)cfg->chain_id, contract, cfg->confirmations);
    for (;;) {
        why[0] = '\0';
        attempts++;
        rc =
            attempt(cfg, m, self, identity_pub, platform_id, measurement, members, why, sizeof why);
        if (rc == NR_OK) {
            NR_LOGI("chain: system %.16s... is finalised on chain with this membership "
                    "(n=%u f=%u); this SE is member %u",
                    sys_hex, m->n, m->f, self);
            return NR_OK;
        }
        if (!transient(rc)) {
            snprintf(err, err_cap, "chain: refusing to serve: system %.16s... on %s: %s", sys_hex,
                     cfg->rpc_url, why);
            return rc;
        }
        uint64_t now = nr_now_ms();
        if (now >= deadline) {
            if (!cfg->required) {
                NR_LOGW("chain: %s unreachable for %llu ms (%u attempts): %s; Required = no: "
                        "serving from the membership file WITHOUT the on-chain check",
                        cfg->rpc_url, (unsigned long long)(now - start), attempts, why);
                *skipped = 1;
                return NR_OK;
            }
            snprintf(err, err_cap,
                     "chain: %s unreachable, giving up after StartTimeout (%u ms, %u attempts): %s",
                     cfg->rpc_url, cfg->start_timeout_ms, attempts, why);
            return rc;
        }
        unsigned wait = backoff;
        if ((uint64_t)wait > deadline - now)
            wait = (unsigned)(deadline - now);
        NR_LOGE("chain: %s: %s; retrying in %u ms (StartTimeout in %llu ms)", cfg->rpc_url, why,
                wait, (unsigned long long)(deadline - now));
        sleep_ms(wait);
        backoff = backoff * 2u > NR_HOST_CHAIN_BACKOFF_MAX_MS ? NR_HOST_CHAIN_BACKOFF_MAX_MS
                                                              : backoff * 2u;
    }
}
