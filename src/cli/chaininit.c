/* The chain steps of `narrator up` (see chaininit.h and docs/chain.md "Initialisation"):
 * first-initialisation check, Ethereum keys generated in each SE's TEE, createSystem,
 * registerMember from each SE's own sealed key, finalize. Every transaction prints one line. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "chan/identity.h"
#include "chan/membership.h"
#include "cli/chaininit.h"
#include "eth/chain_se.h"
#include "eth/registry.h"

#define CHAIN_FILE_MAX (64u * 1024u)

struct nr_cli_chain {
    struct nr_chain_ini ini;
    struct nr_registry *reg;
    uint8_t sk[NR_ETH_SK_BYTES]; /* the creator's key */
    uint8_t creator[NR_ETH_ADDR_BYTES];
    uint8_t system_id[NR_SYSTEM_ID_BYTES];
};

static int load_text(const char *path, char *buf, size_t cap, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        return NR_ENOTFOUND;
    }
    size_t n = fread(buf, 1, cap - 1, f);
    int bad = ferror(f) || fgetc(f) != EOF;
    fclose(f);
    if (bad) {
        return NR_ETOOBIG;
    }
    buf[n] = '\0';
    *len = n;
    return NR_OK;
}

static void print_tx(const char *step, const struct nr_eth_receipt *r)
{
    char h[67];
    if (nr_eth_hex_encode(h, sizeof h, r->tx_hash, 32) != NR_OK) {
        h[0] = '\0';
    }
    printf("  chain: %s tx=%s block=%" PRIu64 " gas_used=%" PRIu64 "\n", step, h, r->block_number,
           r->gas_used);
}

static int chain_fail(struct nr_cli_chain *c, const char *what, int rc)
{
    const char *msg = c && c->reg ? nr_registry_errmsg(c->reg) : "";
    fprintf(stderr, "narrator: chain: %s: %s (%s)%s%s\n", what, nr_strerror(rc), nr_errname(rc),
            msg && *msg ? ": " : "", msg ? msg : "");
    return rc;
}

int nr_cli_chain_system_id(uint8_t out[NR_SYSTEM_ID_BYTES], const char *text)
{
    if (!text || !*text) {
        return NR_EINVAL;
    }
    const char *h = text;
    if (strlen(h) == 66 && h[0] == '0' && (h[1] == 'x' || h[1] == 'X')) {
        h += 2;
    }
    if (strlen(h) == 2 * NR_SYSTEM_ID_BYTES && nr_cli_hex_decode(out, NR_SYSTEM_ID_BYTES, h) == NR_OK) {
        return NR_OK;
    }
    nr_keccak256(out, (const uint8_t *)text, strlen(text));
    return NR_OK;
}

int nr_cli_chain_open(struct nr_cli_chain **out, const char *chain_ini, const char *key_file)
{
    static char text[CHAIN_FILE_MAX];
    char err[256];
    size_t len = 0;
    *out = NULL;
    struct nr_cli_chain *c = calloc(1, sizeof *c);
    if (!c) {
        return NR_ENOMEM;
    }
    int rc = load_text(chain_ini, text, sizeof text, &len);
    if (rc) {
        fprintf(stderr, "narrator: chain: %s: cannot read\n", chain_ini);
        goto fail;
    }
    rc = nr_chain_ini_parse(&c->ini, chain_ini, text, len, err, sizeof err);
    if (rc) {
        fprintf(stderr, "narrator: chain: %s\n", err);
        goto fail;
    }
    if (!c->ini.has_contract || c->ini.chain_id == 0) {
        fprintf(stderr, "narrator: chain: %s: needs ChainId and Contract (a deployed registry)\n",
                chain_ini);
        rc = NR_ECONFIG;
        goto fail;
    }
    rc = load_text(key_file, text, sizeof text, &len);
    if (rc == NR_OK) {
        while (len > 0 &&
               (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' ')) {
            text[--len] = '\0';
        }
        size_t n = 0;
        rc = nr_eth_hex_decode(c->sk, sizeof c->sk, &n, text);
        if (rc == NR_OK && n != sizeof c->sk) {
            rc = NR_EMALFORMED;
        }
        rc = rc ? rc : nr_eth_address(c->creator, c->sk);
    }
    sodium_memzero(text, sizeof text);
    if (rc) {
        fprintf(stderr, "narrator: chain: %s: cannot read the creator's private key (hex)\n",
                key_file);
        goto fail;
    }
    struct nr_registry_config cfg;
    nr_chain_ini_to_config(&cfg, &c->ini);
    rc = nr_registry_open(&c->reg, &cfg);
    if (rc) {
        chain_fail(c, c->ini.rpc_url, rc);
        goto fail;
    }
    *out = c;
    return NR_OK;
fail:
    nr_cli_chain_close(c);
    return rc;
}

void nr_cli_chain_close(struct nr_cli_chain *c)
{
    if (!c) {
        return;
    }
    nr_registry_close(c->reg);
    sodium_memzero(c->sk, sizeof c->sk);
    free(c);
}

int nr_cli_chain_check_new(struct nr_cli_chain *c, const uint8_t system_id[NR_SYSTEM_ID_BYTES])
{
    struct nr_registry_system sys;
    char hex[2 * NR_SYSTEM_ID_BYTES + 1], addr[NR_ETH_ADDR_HEX_BYTES];
    int rc = nr_registry_get_system(c->reg, &sys, system_id, "latest");
    if (rc) {
        return chain_fail(c, "getSystem", rc);
    }
    nr_cli_hex_encode(hex, system_id, NR_SYSTEM_ID_BYTES);
    if (sys.exists) {
        nr_eth_address_hex(addr, sys.creator);
        fprintf(stderr,
                "narrator: first-initialisation check: system 0x%s is already initialised on "
                "chain (created in block %" PRIu64 " by %s, n=%u, %s): refusing to initialise it "
                "again (S4)\n",
                hex, sys.created_block, addr, sys.n, sys.finalized ? "finalised" : "not finalised");
        return NR_EEXIST;
    }
    printf("  chain: step 3, first-initialisation check: system 0x%s is new on chain %" PRIu64 "\n",
           hex, nr_registry_chain_id(c->reg));
    return NR_OK;
}

int nr_cli_chain_se_key(struct nr_cli_chain *c, const char *platform, const char *identity,
                        unsigned eth_milli)
{
    struct nr_chain_se_opts se = {.backend = "sim",
                                  .platform_dir = platform,
                                  .identity_file = identity,
                                  .code_identity = NR_SE_CODE_IDENTITY};
    uint8_t addr[NR_ETH_ADDR_BYTES];
    char err[256] = "", text[NR_ETH_ADDR_HEX_BYTES], dec[48];
    int created = 0;
    int rc = nr_chain_se_key(&se, addr, &created, err, sizeof err);
    if (rc) {
        fprintf(stderr, "narrator: chain: se-key %s: %s (%s)\n", identity, nr_strerror(rc), err);
        return rc;
    }
    nr_eth_address_hex(text, addr);
    printf("  chain: step 2, SE account %s (key generated in the TEE, sealed in %s)\n", text,
           identity);
    if (eth_milli == 0) {
        return NR_OK;
    }
    nr_u256 value;
    struct nr_eth_receipt r;
    snprintf(dec, sizeof dec, "%u000000000000000", eth_milli);
    rc = nr_u256_parse(&value, dec);
    rc = rc ? rc : nr_registry_transfer(c->reg, &r, c->sk, addr, &value);
    if (rc) {
        return chain_fail(c, "funding the SE account", rc);
    }
    print_tx("fund", &r);
    return NR_OK;
}

/* registerMember from member i's own TEE-held Ethereum key. */
static int register_member(struct nr_cli_chain *c, const struct nr_member *x, const char *platform,
                           const char *identity)
{
    struct nr_tee *tee = NULL;
    struct nr_identity id;
    struct nr_registry_member m;
    struct nr_eth_receipt r;
    char step[64];
    memset(&id, 0, sizeof id);
    memset(&m, 0, sizeof m);
    int rc = nr_tee_open(&tee, "sim", platform, NR_SE_CODE_IDENTITY);
    rc = rc ? rc : nr_identity_load(tee, identity, &id);
    if (rc) {
        fprintf(stderr, "narrator: chain: identity %s on %s: %s\n", identity, platform,
                nr_strerror(rc));
        goto out;
    }
    if (!id.has_eth) {
        fprintf(stderr, "narrator: chain: identity %s has no Ethereum key\n", identity);
        rc = NR_ENOTFOUND;
        goto out;
    }
    nr_tee_platform_id(tee, m.platform_id);
    if (sodium_memcmp(m.platform_id, x->platform_id, sizeof m.platform_id) != 0 ||
        sodium_memcmp(id.pub, x->identity_pub, sizeof id.pub) != 0) {
        fprintf(stderr, "narrator: chain: member %u of the membership file is not %s\n", x->index,
                identity);
        rc = NR_ECONFIG;
        goto out;
    }
    memcpy(m.identity_key, id.pub, sizeof m.identity_key);
    nr_keccak256(m.evidence_hash, x->evidence, x->ev_len);
    rc = nr_registry_register_member(c->reg, &r, id.eth_sk, c->system_id, &m);
    if (rc) {
        chain_fail(c, "registerMember", rc);
        goto out;
    }
    snprintf(step, sizeof step, "registerMember(member %u, from its own key)", x->index);
    print_tx(step, &r);
out:
    nr_identity_wipe(&id);
    nr_tee_close(tee);
    return rc;
}

int nr_cli_chain_record(struct nr_cli_chain *c, const char *membership_path, char **identities,
                        char **platforms, unsigned n)
{
    static struct nr_membership mb; /* large */
    char err[NR_MEMBERSHIP_ERR_BYTES];
    struct nr_eth_receipt r;
    int rc = nr_membership_load(&mb, membership_path, err, sizeof err);
    if (rc) {
        fprintf(stderr, "narrator: chain: %s\n", err);
        return rc;
    }
    if (mb.n != n || mb.n_measurements < 1) {
        fprintf(stderr, "narrator: chain: %s: unexpected member count\n", membership_path);
        return NR_ECONFIG;
    }
    memcpy(c->system_id, mb.system_id, sizeof c->system_id);
    rc = nr_registry_create_system(c->reg, &r, c->sk, mb.system_id, mb.n, mb.f, mb.measurements[0]);
    if (rc) {
        /* A concurrent initialisation of the same id is caught here: the contract accepts
         * exactly one createSystem per system id. */
        return chain_fail(c, "createSystem (first-initialisation check on chain)", rc);
    }
    print_tx("step 4, createSystem", &r);
    for (uint16_t i = 0; i < mb.n; i++) {
        const struct nr_member *x = nr_membership_member(&mb, i);
        if (!x) {
            return NR_ECONFIG;
        }
        rc = register_member(c, x, platforms[i], identities[i]);
        if (rc) {
            return rc;
        }
    }
    rc = nr_registry_finalize(c->reg, &r, c->sk, mb.system_id);
    if (rc) {
        return chain_fail(c, "finalize", rc);
    }
    print_tx("finalize", &r);
    struct nr_registry_system sys;
    static struct nr_registry_member members[NR_REGISTRY_MAX_MEMBERS];
    size_t got = 0;
    rc = nr_registry_verify(c->reg, &sys, members, NR_REGISTRY_MAX_MEMBERS, &got, mb.system_id,
                            mb.measurements[0]);
    if (rc) {
        return chain_fail(c, "verify after finalize", rc);
    }
    printf("  chain: system finalised in block %" PRIu64 " with %zu members\n", sys.finalized_block,
           got);
    return NR_OK;
}

int nr_cli_chain_section(struct nr_cli_chain *c, char *out, size_t cap, unsigned start_timeout_s)
{
    char addr[NR_ETH_ADDR_HEX_BYTES];
    nr_eth_address_hex(addr, c->ini.contract);
    int k = snprintf(out, cap,
                     "\n[Chain]\n"
                     "RpcUrl = %s\n"
                     "ChainId = %" PRIu64 "\n"
                     "Contract = %s\n"
                     "Confirmations = %u\n"
                     "Required = yes\n"
                     "StartTimeout = %u\n",
                     c->ini.rpc_url, c->ini.chain_id, addr,
                     c->ini.confirmations ? c->ini.confirmations : 1u, start_timeout_s);
    return k < 0 || (size_t)k >= cap ? NR_ETOOBIG : NR_OK;
}
