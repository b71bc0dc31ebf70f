/* narrator epochs [--dir DIR] [--chain CHAIN.INI] [--system-id ID]
 * The on-chain history of a system (docs/chain.md "Epochs"): one row per epoch with how it
 * began, n/f, its genesis id, predecessor and state root (short), the block it opened in and
 * its members' platform ids (short). Read-only: eth_call views at the confirmed head, all from
 * one block.
 *
 * The chain, as `up` found it: --chain, else DIR/devnet/chain.ini (the private devnet of
 * `narrator up`), else the [Chain] section of DIR/node0/se.ini (a network made with
 * `up --chain`). The system id: --system-id (64 hex digits, or any text for its keccak256, as
 * in `up`), else DIR/system_id. Exit status 0, 1 usage, 2 failure (chain unreachable, no such
 * system, a bad file). */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/chaininit.h"
#include "cli/cli.h"

#ifdef NR_CLI_WITH_CHAIN
#include "eth/registry.h"
#include "host/config.h"

#define EPOCHS_FILE_MAX (64u * 1024u)
#define SHORT_HEX 8u /* bytes shown of an id: "0x" + 16 hex digits */

struct epochs_chain {
    char source[NR_CLI_PATH_MAX + 32]; /* where the chain configuration came from */
    char url[NR_CHAIN_URL_MAX];
    struct nr_registry_config cfg;
};

/* The chain configuration from a chain.ini file. */
static int chain_from_ini(struct epochs_chain *c, const char *path)
{
    static char text[EPOCHS_FILE_MAX];
    static struct nr_chain_ini ini;
    char err[256];
    int rc = nr_cli_read_text(path, text, sizeof text);
    if (rc) {
        fprintf(stderr, "narrator: epochs: %s: cannot read (%s)\n", path, nr_strerror(rc));
        return rc;
    }
    rc = nr_chain_ini_parse(&ini, path, text, strlen(text), err, sizeof err);
    if (rc) {
        fprintf(stderr, "narrator: epochs: %s\n", err);
        return rc;
    }
    if (!ini.has_contract) {
        fprintf(stderr, "narrator: epochs: %s: no Contract (the registry address)\n", path);
        return NR_ECONFIG;
    }
    snprintf(c->url, sizeof c->url, "%s", ini.rpc_url);
    nr_chain_ini_to_config(&c->cfg, &ini);
    c->cfg.rpc.url = c->url;
    snprintf(c->source, sizeof c->source, "%s", path);
    return NR_OK;
}

/* The chain configuration from the [Chain] section of a narratord config. */
static int chain_from_se_ini(struct epochs_chain *c, const char *path)
{
    static struct nr_host_config cfg; /* large */
    char err[NR_CFG_ERR_MAX];
    int rc = nr_host_config_load(&cfg, path, err, sizeof err);
    if (rc) {
        fprintf(stderr, "narrator: epochs: %s\n", err);
        return rc;
    }
    if (!cfg.chain.enabled) {
        return NR_ENOTFOUND;
    }
    memset(&c->cfg, 0, sizeof c->cfg);
    snprintf(c->url, sizeof c->url, "%s", cfg.chain.rpc_url);
    c->cfg.rpc.url = c->url;
    c->cfg.rpc.expect_chain_id = cfg.chain.chain_id;
    c->cfg.has_contract = 1;
    memcpy(c->cfg.contract, cfg.chain.contract, sizeof c->cfg.contract);
    c->cfg.confirmations = cfg.chain.confirmations;
    snprintf(c->source, sizeof c->source, "%s [Chain]", path);
    return NR_OK;
}

static int find_chain(struct epochs_chain *c, const char *dir, const char *chain_ini)
{
    char path[NR_CLI_PATH_MAX];
    if (chain_ini) {
        return chain_from_ini(c, chain_ini);
    }
    int k = snprintf(path, sizeof path, "%s/devnet/chain.ini", dir);
    if (k > 0 && (size_t)k < sizeof path && access(path, R_OK) == 0) {
        return chain_from_ini(c, path);
    }
    struct nr_cli_node p;
    int rc = nr_cli_node_paths(&p, dir, 0);
    if (rc == NR_OK && access(p.config, R_OK) == 0) {
        rc = chain_from_se_ini(c, p.config);
        if (rc != NR_ENOTFOUND) {
            return rc;
        }
    }
    fprintf(stderr,
            "narrator: epochs: no chain: %s has no devnet/chain.ini and no node0/se.ini with a "
            "[Chain] section; give --chain CHAIN.INI\n",
            dir);
    return NR_ECONFIG;
}

static int find_system(uint8_t out[NR_SYSTEM_ID_BYTES], const char *dir, const char *text)
{
    if (text) {
        return nr_cli_chain_system_id(out, text);
    }
    char path[NR_CLI_PATH_MAX], hex[2 * NR_SYSTEM_ID_BYTES + 8];
    int k = snprintf(path, sizeof path, "%s/system_id", dir);
    int rc =
        k < 0 || (size_t)k >= sizeof path ? NR_ETOOBIG : nr_cli_read_text(path, hex, sizeof hex);
    if (rc == NR_OK && nr_cli_hex_decode(out, NR_SYSTEM_ID_BYTES, hex) != NR_OK) {
        rc = NR_EMALFORMED;
    }
    if (rc) {
        fprintf(stderr, "narrator: epochs: no system id: %s (%s); give --system-id ID\n", path,
                nr_strerror(rc));
    }
    return rc;
}

/* "0x" + the first SHORT_HEX bytes in hex, or "-" for a zero word. */
static const char *short_hex(char out[2 * SHORT_HEX + 3], const uint8_t *b, size_t len)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < len; i++) {
        acc |= b[i];
    }
    if (acc == 0) {
        return "-";
    }
    out[0] = '0';
    out[1] = 'x';
    nr_cli_hex_encode(out + 2, b, len < SHORT_HEX ? len : SHORT_HEX);
    return out;
}

static const char *kind_name(uint8_t kind)
{
    switch (kind) {
    case NR_REGISTRY_KIND_INIT:
        return "init";
    case NR_REGISTRY_KIND_RECONFIGURATION:
        return "reconfiguration";
    case NR_REGISTRY_KIND_RECOVERY:
        return "recovery";
    default:
        return "?";
    }
}

static int epochs_fail(struct nr_registry *reg, const char *what, int rc)
{
    fprintf(stderr, "narrator: epochs: %s: %s (%s)\n", what, nr_registry_errmsg(reg),
            nr_errname(rc));
    return NR_CLI_EXIT_FAIL;
}

/* One row per epoch, read at block tag. */
static int print_history(struct nr_registry *reg, const uint8_t sys[NR_SYSTEM_ID_BYTES],
                         uint32_t current, const char *tag)
{
    char g[2 * SHORT_HEX + 3], p[2 * SHORT_HEX + 3], r[2 * SHORT_HEX + 3], m[2 * SHORT_HEX + 3];
    printf("%-5s %-15s %-5s %-18s %-18s %-18s %-7s %s\n", "epoch", "kind", "n/f", "genesis",
           "predecessor", "state root", "opened", "members (platform ids)");
    for (uint32_t e = 1; e <= current; e++) {
        struct nr_registry_epoch ep;
        int rc = nr_registry_get_epoch(reg, &ep, sys, e, tag);
        if (rc) {
            return epochs_fail(reg, "getEpoch", rc);
        }
        if (!ep.exists) {
            fprintf(stderr, "narrator: epochs: epoch %u of %u is missing on chain\n", e, current);
            return NR_CLI_EXIT_FAIL;
        }
        char nf[24];
        snprintf(nf, sizeof nf, "%u/%u", ep.n, ep.f);
        printf("%-5u %-15s %-5s %-18s %-18s %-18s %-7" PRIu64 " ", e, kind_name(ep.kind), nf,
               short_hex(g, ep.genesis_id, 32), short_hex(p, ep.predecessor, 32),
               short_hex(r, ep.state_root, 32), ep.opened_block);
        for (uint32_t i = 0; i < ep.n; i++) {
            struct nr_registry_member mem;
            rc = nr_registry_get_epoch_member(reg, &mem, sys, e, i, tag);
            if (rc) {
                printf("\n");
                return epochs_fail(reg, "getEpochMember", rc);
            }
            printf("%s%s", i ? " " : "", short_hex(m, mem.platform_id, 32));
        }
        printf("\n");
    }
    return NR_CLI_EXIT_OK;
}

static int run(const char *dir, const char *chain_ini, const char *system_text)
{
    static struct epochs_chain c;
    uint8_t sys[NR_SYSTEM_ID_BYTES];
    char hex[2 * NR_SYSTEM_ID_BYTES + 1], addr[NR_ETH_ADDR_HEX_BYTES], tag[24];
    memset(&c, 0, sizeof c);
    if (find_chain(&c, dir, chain_ini) || find_system(sys, dir, system_text)) {
        return NR_CLI_EXIT_FAIL;
    }
    struct nr_registry *reg = NULL;
    int rc = nr_registry_open(&reg, &c.cfg);
    if (rc) {
        fprintf(stderr, "narrator: epochs: chain %s (from %s): %s (%s)\n", c.url, c.source,
                nr_registry_errmsg(reg), nr_errname(rc));
        nr_registry_close(reg);
        return NR_CLI_EXIT_FAIL;
    }
    int exit_code = NR_CLI_EXIT_FAIL;
    /* one block for every read: the confirmed head */
    uint64_t head = 0;
    unsigned conf = c.cfg.confirmations ? c.cfg.confirmations : 1u;
    rc = nr_rpc_block_number(nr_registry_rpc(reg), &head);
    if (rc) {
        fprintf(stderr, "narrator: epochs: chain %s: eth_blockNumber: %s (%s)\n", c.url,
                nr_rpc_errmsg(nr_registry_rpc(reg)), nr_errname(rc));
        goto out;
    }
    uint64_t block = head + 1 >= conf ? head + 1 - conf : 0;
    snprintf(tag, sizeof tag, "0x%" PRIx64, block);
    nr_cli_hex_encode(hex, sys, sizeof sys);
    nr_eth_address_hex(addr, c.cfg.contract);
    struct nr_registry_system s;
    uint32_t current = 0;
    if ((rc = nr_registry_get_system(reg, &s, sys, tag))) {
        exit_code = epochs_fail(reg, "getSystem", rc);
        goto out;
    }
    if (!s.exists) {
        fprintf(stderr,
                "narrator: epochs: system 0x%s is not on chain %" PRIu64
                " (registry %s, block %" PRIu64 ")\n",
                hex, nr_registry_chain_id(reg), addr, block);
        goto out;
    }
    if ((rc = nr_registry_current_epoch(reg, &current, sys, tag))) {
        exit_code = epochs_fail(reg, "currentEpoch", rc);
        goto out;
    }
    printf("system 0x%s on chain %" PRIu64 " (registry %s) at block %" PRIu64 ": ", hex,
           nr_registry_chain_id(reg), addr, block);
    if (current == 0) {
        printf("not finalised (%u of %u members registered): no epochs yet\n", s.registered, s.n);
        exit_code = NR_CLI_EXIT_OK;
        goto out;
    }
    printf("current epoch %u\n", current);
    exit_code = print_history(reg, sys, current, tag);
out:
    nr_registry_close(reg);
    return exit_code;
}
#endif

int nr_cmd_epochs(int argc, char **argv)
{
    const char *dir = NR_CLI_DEFAULT_DIR, *chain_ini = NULL, *system_id = NULL;
    static const struct option longopts[] = {{"dir", required_argument, NULL, 'd'},
                                             {"chain", required_argument, NULL, 'c'},
                                             {"system-id", required_argument, NULL, 's'},
                                             {NULL, 0, NULL, 0}};
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "d:c:s:", longopts, NULL)) != -1) {
        switch (ch) {
        case 'd':
            dir = optarg;
            break;
        case 'c':
            chain_ini = optarg;
            break;
        case 's':
            system_id = optarg;
            break;
        default:
            return nr_cli_usage("epochs");
        }
    }
    if (optind != argc) {
        return nr_cli_usage("epochs");
    }
#ifdef NR_CLI_WITH_CHAIN
    return run(dir, chain_ini, system_id);
#else
    (void)dir;
    (void)chain_ini;
    (void)system_id;
    fprintf(stderr, "narrator: epochs: this narrator was built without the chain client\n");
    return NR_CLI_EXIT_FAIL;
#endif
}
