/* narrator-chain: drive the NarratorRegistry contract from scripts and tests.
 *
 *   narrator-chain [--config chain.ini] [--rpc URL] [--chain-id N] [--contract ADDR]
 *                  [--confirmations N] [--timeout-ms N] [--key-file FILE] [--legacy]
 *                  COMMAND [options]
 *
 *   deploy   [--bin FILE]                        deploy the registry; prints contract=0x...
 *   create   --system ID --n N --f F --measurement HEX32
 *   register --system ID --platform HEX32 --identity HEX32 [--evidence HEX32]
 *   finalize --system ID
 *   show     --system ID [--verify] [--measurement HEX32]
 *   fund     --to ADDR (--eth N | --wei N)
 *   address                                      prints the address of --key-file
 *   chain-id                                     prints the node's chain id
 * Acting as a state enclave (its TEE and sealed identity; no --key-file):
 *   se-key      --tee-platform DIR --identity-file FILE      give the identity an Ethereum key
 *                                                            generated in the TEE; prints it
 *   register-se --system ID --tee-platform DIR --identity-file FILE
 *               registerMember from the SE's own account: platform id from the TEE, identity
 *               key, evidence hash = keccak256(attestation evidence for this system)
 *   (--tee-backend sim and --code-identity NR_SE_CODE_IDENTITY by default)
 *
 * ID is 0x + 64 hex digits, or any other text, which stands for keccak256(text). The key file
 * holds one secp256k1 private key in hex (0x optional). Every transaction prints one line
 * "<step> tx=0x.. block=N gas_used=N". Exit status: 0 ok, 1 error (message on stderr with the
 * error name, e.g. NR_EREVERT, and the revert reason), 2 usage. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/code_identity.h"
#include "eth/registry.h"
#ifdef NR_CHAIN_WITH_TEE
#include "eth/chain_se.h"
#endif

#ifndef NR_REGISTRY_BIN_DEFAULT
#define NR_REGISTRY_BIN_DEFAULT "contracts/NarratorRegistry.bin"
#endif
#define FILE_MAX (1u << 20)

struct opts {
    const char *config, *rpc, *key_file, *bin, *system, *measurement, *platform, *identity,
        *evidence, *to, *eth, *wei, *tee_platform, *identity_file, *tee_backend, *code_identity;
    uint64_t chain_id;
    int has_chain_id;
    const char *contract;
    unsigned confirmations, timeout_ms;
    long n, f;
    int legacy, verify;
};

static void usage(void)
{
    fprintf(stderr,
            "usage: narrator-chain [--config chain.ini] [--rpc URL] [--chain-id N] [--contract ADDR]\n"
            "                      [--confirmations N] [--timeout-ms N] [--key-file FILE] [--legacy]\n"
            "                      COMMAND [options]\n"
            "commands:\n"
            "  deploy   [--bin FILE]\n"
            "  create   --system ID --n N --f F --measurement HEX32\n"
            "  register --system ID --platform HEX32 --identity HEX32 [--evidence HEX32]\n"
            "  finalize --system ID\n"
            "  show     --system ID [--verify] [--measurement HEX32]\n"
            "  fund     --to ADDR (--eth N | --wei N)\n"
            "  address | chain-id\n"
            "  se-key      --tee-platform DIR --identity-file FILE\n"
            "  register-se --system ID --tee-platform DIR --identity-file FILE\n"
            "              [--tee-backend sim] [--code-identity " NR_SE_CODE_IDENTITY "]\n");
}

/* Reads a whole (small) file; NUL-terminated, malloc'd. */
static int read_file(char **out, size_t *out_len, const char *path)
{
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return NR_EIO;
    char *buf = malloc(FILE_MAX + 1);
    if (buf == NULL) {
        fclose(fp);
        return NR_ENOMEM;
    }
    size_t n = fread(buf, 1, FILE_MAX + 1, fp);
    int bad = ferror(fp);
    fclose(fp);
    if (bad || n > FILE_MAX) {
        free(buf);
        return bad ? NR_EIO : NR_ETOOBIG;
    }
    buf[n] = '\0';
    *out = buf;
    *out_len = n;
    return NR_OK;
}

static int fail(const char *what, int rc, const char *msg)
{
    fprintf(stderr, "narrator-chain: %s: %s (%s)%s%s\n", what, nr_strerror(rc), nr_errname(rc),
            msg && *msg ? ": " : "", msg ? msg : "");
    return 1;
}

static int parse_hex32(uint8_t out[32], const char *s)
{
    size_t n = 0;
    if (s == NULL || strlen(s) != 66 || s[0] != '0' || s[1] != 'x')
        return NR_EMALFORMED;
    int rc = nr_eth_hex_decode(out, 32, &n, s);
    return rc == NR_OK && n == 32 ? NR_OK : NR_EMALFORMED;
}

static int parse_system_id(uint8_t out[32], const char *s)
{
    if (s == NULL || *s == '\0')
        return NR_EINVAL;
    if (parse_hex32(out, s) == NR_OK)
        return NR_OK;
    nr_keccak256(out, (const uint8_t *)s, strlen(s));
    return NR_OK;
}

static int parse_addr(uint8_t out[20], const char *s)
{
    size_t n = 0;
    if (s == NULL || strlen(s) != 42 || s[0] != '0' || s[1] != 'x')
        return NR_EMALFORMED;
    int rc = nr_eth_hex_decode(out, 20, &n, s);
    return rc == NR_OK && n == 20 ? NR_OK : NR_EMALFORMED;
}

static int load_key(uint8_t sk[32], const char *path)
{
    if (path == NULL)
        return NR_EINVAL;
    char *text = NULL;
    size_t len = 0;
    int rc = read_file(&text, &len, path);
    if (rc != NR_OK)
        return rc;
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
        text[--len] = '\0';
    size_t n = 0;
    rc = nr_eth_hex_decode(sk, 32, &n, text);
    if (rc == NR_OK && n != 32)
        rc = NR_EMALFORMED;
    sodium_memzero(text, len);
    free(text);
    return rc;
}

static void print_receipt(const char *step, const struct nr_eth_receipt *r)
{
    char h[67];
    if (nr_eth_hex_encode(h, sizeof h, r->tx_hash, 32) != NR_OK)
        h[0] = '\0';
    printf("%s tx=%s block=%" PRIu64 " gas_used=%" PRIu64 "\n", step, h, r->block_number,
           r->gas_used);
}

static void print_hex32(const char *name, const uint8_t v[32])
{
    char h[67];
    if (nr_eth_hex_encode(h, sizeof h, v, 32) != NR_OK)
        h[0] = '\0';
    printf("%s=%s\n", name, h);
}

static int cmd_show(struct nr_registry *reg, const struct opts *o, const uint8_t system_id[32])
{
    struct nr_registry_system sys;
    struct nr_registry_member members[NR_REGISTRY_MAX_MEMBERS];
    size_t n_members = 0;
    int rc;
    if (o->verify) {
        uint8_t meas[32];
        if (o->measurement && parse_hex32(meas, o->measurement) != NR_OK)
            return fail("--measurement", NR_EINVAL, "expected 0x + 64 hex digits");
        rc = nr_registry_verify(reg, &sys, members, NR_REGISTRY_MAX_MEMBERS, &n_members,
                                system_id, o->measurement ? meas : NULL);
        if (rc != NR_OK)
            return fail("verify", rc, nr_registry_errmsg(reg));
    } else {
        if ((rc = nr_registry_get_system(reg, &sys, system_id, NULL)) != NR_OK)
            return fail("getSystem", rc, nr_registry_errmsg(reg));
        for (uint32_t i = 0; sys.exists && i < sys.registered && i < NR_REGISTRY_MAX_MEMBERS; i++) {
            if ((rc = nr_registry_get_member(reg, &members[i], system_id, i, NULL)) != NR_OK)
                return fail("getMember", rc, nr_registry_errmsg(reg));
            n_members++;
        }
    }
    char addr[NR_ETH_ADDR_HEX_BYTES];
    print_hex32("system", system_id);
    printf("exists=%d\n", sys.exists);
    if (!sys.exists)
        return 0;
    nr_eth_address_hex(addr, sys.creator);
    printf("creator=%s\nn=%u\nf=%u\n", addr, sys.n, sys.f);
    print_hex32("measurement", sys.measurement);
    printf("registered=%u\nfinalized=%d\ncreated_block=%" PRIu64 "\nfinalized_block=%" PRIu64 "\n",
           sys.registered, sys.finalized, sys.created_block, sys.finalized_block);
    print_hex32("members_hash", sys.members_hash);
    for (size_t i = 0; i < n_members; i++) {
        char p[67], id[67], ev[67];
        if (nr_eth_hex_encode(p, sizeof p, members[i].platform_id, 32) ||
            nr_eth_hex_encode(id, sizeof id, members[i].identity_key, 32) ||
            nr_eth_hex_encode(ev, sizeof ev, members[i].evidence_hash, 32))
            return fail("show", NR_EINVAL, "hex");
        nr_eth_address_hex(addr, members[i].account);
        printf("member.%zu platform=%s identity=%s evidence=%s account=%s\n", i, p, id, ev, addr);
    }
    if (o->verify)
        printf("verified=1\n");
    return 0;
}

static int parse_u(const char *s, unsigned long max, unsigned long *out)
{
    if (s == NULL || *s < '0' || *s > '9')
        return NR_EINVAL;
    char *end = NULL;
    unsigned long v = strtoul(s, &end, 10);
    if (*end != '\0' || v > max)
        return NR_EINVAL;
    *out = v;
    return NR_OK;
}

int main(int argc, char **argv)
{
    struct opts o;
    memset(&o, 0, sizeof o);
    o.n = -1;
    o.f = -1;
    const char *cmd = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        unsigned long u = 0;
#define TAKE(name, field)                                                                         \
    if (strcmp(a, name) == 0) {                                                                   \
        if (v == NULL) {                                                                          \
            fprintf(stderr, "narrator-chain: %s needs a value\n", name);                          \
            return 2;                                                                             \
        }                                                                                         \
        o.field = v;                                                                              \
        i++;                                                                                      \
        continue;                                                                                 \
    }
        TAKE("--config", config)
        TAKE("--rpc", rpc)
        TAKE("--key-file", key_file)
        TAKE("--bin", bin)
        TAKE("--system", system)
        TAKE("--measurement", measurement)
        TAKE("--platform", platform)
        TAKE("--identity", identity)
        TAKE("--evidence", evidence)
        TAKE("--to", to)
        TAKE("--eth", eth)
        TAKE("--wei", wei)
        TAKE("--contract", contract)
        TAKE("--tee-platform", tee_platform)
        TAKE("--identity-file", identity_file)
        TAKE("--tee-backend", tee_backend)
        TAKE("--code-identity", code_identity)
#undef TAKE
        if (strcmp(a, "--legacy") == 0) {
            o.legacy = 1;
            continue;
        }
        if (strcmp(a, "--verify") == 0) {
            o.verify = 1;
            continue;
        }
        if (strcmp(a, "--chain-id") == 0 || strcmp(a, "--confirmations") == 0 ||
            strcmp(a, "--timeout-ms") == 0 || strcmp(a, "--n") == 0 || strcmp(a, "--f") == 0) {
            if (parse_u(v, 0xffffffffUL, &u) != NR_OK) {
                fprintf(stderr, "narrator-chain: %s needs a number\n", a);
                return 2;
            }
            i++;
            if (strcmp(a, "--chain-id") == 0) {
                o.chain_id = u;
                o.has_chain_id = 1;
            } else if (strcmp(a, "--confirmations") == 0) {
                o.confirmations = (unsigned)u;
            } else if (strcmp(a, "--timeout-ms") == 0) {
                o.timeout_ms = (unsigned)u;
            } else if (strcmp(a, "--n") == 0) {
                o.n = (long)u;
            } else {
                o.f = (long)u;
            }
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage();
            return 0;
        }
        if (a[0] == '-' || cmd != NULL) {
            fprintf(stderr, "narrator-chain: unexpected argument %s\n", a);
            usage();
            return 2;
        }
        cmd = a;
    }
    if (cmd == NULL) {
        usage();
        return 2;
    }
    if (sodium_init() < 0)
        return fail("sodium_init", NR_EIO, NULL);

    /* Configuration: file first, then command-line overrides. */
    struct nr_chain_ini ini;
    memset(&ini, 0, sizeof ini);
    ini.confirmations = 1;
    if (o.config) {
        char *text = NULL;
        size_t len = 0;
        char err[256];
        int rc = read_file(&text, &len, o.config);
        if (rc != NR_OK)
            return fail(o.config, rc, "cannot read");
        rc = nr_chain_ini_parse(&ini, o.config, text, len, err, sizeof err);
        free(text);
        if (rc != NR_OK)
            return fail("config", rc, err);
    }
    if (o.rpc)
        snprintf(ini.rpc_url, sizeof ini.rpc_url, "%s", o.rpc);
    if (o.has_chain_id)
        ini.chain_id = o.chain_id;
    if (o.contract) {
        if (parse_addr(ini.contract, o.contract) != NR_OK)
            return fail("--contract", NR_EINVAL, "expected 0x + 40 hex digits");
        ini.has_contract = 1;
    }
    if (o.confirmations)
        ini.confirmations = o.confirmations;
    if (o.timeout_ms)
        ini.receipt_timeout_ms = o.timeout_ms;
    if (o.legacy)
        ini.legacy_tx = 1;

    uint8_t sk[32];
    int have_key = 0;
    if (o.key_file) {
        int rc = load_key(sk, o.key_file);
        if (rc != NR_OK)
            return fail(o.key_file, rc, "cannot read a 32-byte hex private key");
        have_key = 1;
    }
    if (strcmp(cmd, "address") == 0) {
        uint8_t addr[20];
        char text[NR_ETH_ADDR_HEX_BYTES];
        if (!have_key)
            return fail("address", NR_EINVAL, "--key-file is required");
        int rc = nr_eth_address(addr, sk);
        sodium_memzero(sk, sizeof sk);
        if (rc != NR_OK)
            return fail("address", rc, "invalid private key");
        nr_eth_address_hex(text, addr);
        printf("%s\n", text);
        return 0;
    }
#ifdef NR_CHAIN_WITH_TEE
    struct nr_chain_se_opts se = {.backend = o.tee_backend, .platform_dir = o.tee_platform,
                                  .identity_file = o.identity_file, .code_identity = o.code_identity};
    if (strcmp(cmd, "se-key") == 0) {
        uint8_t addr[20];
        int created = 0;
        char err[256] = "";
        char text[NR_ETH_ADDR_HEX_BYTES];
        int rc = nr_chain_se_key(&se, addr, &created, err, sizeof err);
        if (rc != NR_OK)
            return fail("se-key", rc, err);
        nr_eth_address_hex(text, addr);
        printf("address=%s\ncreated=%d\n", text, created);
        return 0;
    }
#endif
    if (ini.rpc_url[0] == '\0') {
        sodium_memzero(sk, sizeof sk);
        return fail(cmd, NR_ECONFIG, "no RPC URL (--rpc or --config)");
    }

    struct nr_registry_config cfg;
    nr_chain_ini_to_config(&cfg, &ini);
    if (strcmp(cmd, "deploy") == 0 || strcmp(cmd, "fund") == 0 || strcmp(cmd, "chain-id") == 0)
        cfg.has_contract = 0; /* no code check */
    struct nr_registry *reg = NULL;
    int rc = nr_registry_open(&reg, &cfg);
    int status = 0;
    uint8_t system_id[32];
    struct nr_eth_receipt r;
    memset(&r, 0, sizeof r);
    if (rc != NR_OK) {
        status = fail("connect", rc, nr_registry_errmsg(reg));
        goto out;
    }
    int needs_key = strcmp(cmd, "show") != 0 && strcmp(cmd, "chain-id") != 0 &&
                    strcmp(cmd, "register-se") != 0;
    if (needs_key && !have_key) {
        status = fail(cmd, NR_EINVAL, "--key-file is required");
        goto out;
    }
    int needs_system = strcmp(cmd, "create") == 0 || strcmp(cmd, "register") == 0 ||
                       strcmp(cmd, "finalize") == 0 || strcmp(cmd, "show") == 0 ||
                       strcmp(cmd, "register-se") == 0;
    if (needs_system && parse_system_id(system_id, o.system) != NR_OK) {
        status = fail(cmd, NR_EINVAL, "--system is required");
        goto out;
    }

    if (strcmp(cmd, "chain-id") == 0) {
        printf("%" PRIu64 "\n", nr_registry_chain_id(reg));
    } else if (strcmp(cmd, "deploy") == 0) {
        const char *bin = o.bin ? o.bin : NR_REGISTRY_BIN_DEFAULT;
        char *code = NULL;
        size_t len = 0;
        if ((rc = read_file(&code, &len, bin)) != NR_OK) {
            status = fail(bin, rc, "cannot read the contract bytecode (build the contract first)");
            goto out;
        }
        uint8_t addr[20];
        rc = nr_registry_deploy(reg, &r, addr, sk, (const uint8_t *)code, len);
        free(code);
        if (rc != NR_OK) {
            status = fail("deploy", rc, nr_registry_errmsg(reg));
            goto out;
        }
        char text[NR_ETH_ADDR_HEX_BYTES];
        nr_eth_address_hex(text, addr);
        print_receipt("deploy", &r);
        printf("contract=%s\nchain_id=%" PRIu64 "\n", text, nr_registry_chain_id(reg));
    } else if (strcmp(cmd, "create") == 0) {
        uint8_t meas[32];
        if (o.n < 1 || o.f < 0 || parse_hex32(meas, o.measurement) != NR_OK) {
            status = fail("create", NR_EINVAL, "--n, --f and --measurement (0x + 64 hex) are required");
            goto out;
        }
        if ((rc = nr_registry_create_system(reg, &r, sk, system_id, (uint32_t)o.n, (uint32_t)o.f,
                                            meas)) != NR_OK) {
            status = fail("create", rc, nr_registry_errmsg(reg));
            goto out;
        }
        print_receipt("createSystem", &r);
        print_hex32("system", system_id);
    } else if (strcmp(cmd, "register") == 0) {
        struct nr_registry_member m;
        memset(&m, 0, sizeof m);
        if (parse_hex32(m.platform_id, o.platform) != NR_OK ||
            parse_hex32(m.identity_key, o.identity) != NR_OK ||
            (o.evidence && parse_hex32(m.evidence_hash, o.evidence) != NR_OK)) {
            status = fail("register", NR_EINVAL, "--platform and --identity (0x + 64 hex) are required");
            goto out;
        }
        if ((rc = nr_registry_register_member(reg, &r, sk, system_id, &m)) != NR_OK) {
            status = fail("register", rc, nr_registry_errmsg(reg));
            goto out;
        }
        print_receipt("registerMember", &r);
#ifdef NR_CHAIN_WITH_TEE
    } else if (strcmp(cmd, "register-se") == 0) {
        struct nr_registry_member m;
        char err[NR_RPC_ERRMSG_BYTES + 160] = "";
        if ((rc = nr_chain_se_register(&se, reg, &r, &m, system_id, err, sizeof err)) != NR_OK) {
            status = fail("register-se", rc, err);
            goto out;
        }
        print_receipt("registerMember", &r);
        print_hex32("platform", m.platform_id);
        print_hex32("identity", m.identity_key);
        print_hex32("evidence", m.evidence_hash);
#endif
    } else if (strcmp(cmd, "finalize") == 0) {
        if ((rc = nr_registry_finalize(reg, &r, sk, system_id)) != NR_OK) {
            status = fail("finalize", rc, nr_registry_errmsg(reg));
            goto out;
        }
        print_receipt("finalize", &r);
    } else if (strcmp(cmd, "show") == 0) {
        status = cmd_show(reg, &o, system_id);
    } else if (strcmp(cmd, "fund") == 0) {
        uint8_t to[20];
        nr_u256 value;
        char dec[NR_U256_DEC_MAX + 24];
        if (parse_addr(to, o.to) != NR_OK || (o.eth == NULL) == (o.wei == NULL)) {
            status = fail("fund", NR_EINVAL, "--to ADDR and one of --eth N / --wei N are required");
            goto out;
        }
        if (o.eth && strlen(o.eth) > 40) {
            status = fail("fund", NR_EINVAL, "--eth: too large");
            goto out;
        }
        snprintf(dec, sizeof dec, "%s%s", o.eth ? o.eth : o.wei, o.eth ? "000000000000000000" : "");
        if (dec[0] == '0' && dec[1] == 'x') {
            status = fail("fund", NR_EINVAL, "amount must be decimal");
            goto out;
        }
        if (nr_u256_parse(&value, dec) != NR_OK) {
            status = fail("fund", NR_EINVAL, "bad amount");
            goto out;
        }
        if ((rc = nr_registry_transfer(reg, &r, sk, to, &value)) != NR_OK) {
            status = fail("fund", rc, nr_registry_errmsg(reg));
            goto out;
        }
        print_receipt("fund", &r);
    } else {
        fprintf(stderr, "narrator-chain: unknown command %s\n", cmd);
        usage();
        status = 2;
    }
out:
    sodium_memzero(sk, sizeof sk);
    nr_registry_close(reg);
    return status;
}
