/* narrator up [-n 3] [--dir .narrator/net] [--base-port 7100] [--metrics-port P]
 *             [--node I] [--timeout-ms 30000] [--no-wait] [--fresh]
 *             [--no-chain | --chain CHAIN.INI [--chain-key KEYFILE]] [--system-id ID]
 *
 * Initialisation is anchored on a blockchain by default (docs/chain.md "Initialisation"):
 * without --chain, `up` starts a private anvil devnet for this network in DIR/devnet (free
 * loopback port, registry deployed; `narrator down` stops it); with --chain it uses that
 * chain (e.g. one from `narrator devnet up`), the creator key being --chain-key (default:
 * deployer.key beside the chain.ini). The four steps: (1) attested channels: the daemons'
 * own peer handshakes; (2) identities generated in each TEE, and each SE's Ethereum key
 * generated in its TEE and sealed in its identity (funded by the creator); (3) the
 * first-initialisation check: the system id must not exist on chain (createSystem also
 * reverts if it does); (4) createSystem, registerMember from each SE's own key, finalize;
 * then every config gets a [Chain] section and every narratord verifies the finalised record
 * before serving. Without anvil in node_modules `up` fails with a message: --no-chain gives
 * the plain genesis-file network (no on-chain anchor).
 *
 * One command from nothing to a running local network: creates the sim attestation root,
 * one platform directory per node, each node's identity (inside its TEE), the genesis
 * membership file with a random system id, one narratord config per node, starts every
 * narratord in the background (pid and log files under the directory) and waits until all
 * of them are ACTIVE.
 *
 * On a directory whose network still has running members it starts the members that are not
 * running; they rejoin through the others (`up --node I` restarts just member I). A network
 * whose members were all stopped cannot resume (records live in enclave memory: that is a
 * total failure, which the members would detect and report): `up` says so, and
 * `up --fresh` replaces it with a new network. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "cli/chaininit.h"
#include "cli/cli.h"
#include "host/config.h"
#include "tee/tee.h"

#define UP_DEFAULT_TIMEOUT_MS 30000u
#define UP_MAX_RECORDS 200000u
#define UP_SOCK_MAX 108u
#define UP_CHAIN_START_TIMEOUT_S 30u
#define UP_FUND_MILLI_ETH 1000u

struct up_opts {
    unsigned n;
    const char *dir;
    unsigned base_port;
    unsigned metrics_port; /* 0: base_port + 100 */
    int only_node;         /* -1: all */
    unsigned timeout_ms;
    int wait;
    int fresh;
    int no_chain;
    const char *chain_ini; /* NULL: a private devnet in DIR/devnet */
    const char *chain_key;
    const char *system_id; /* NULL: random */
};

static int write_config(const char *netdir, unsigned i, const struct up_opts *o,
                        const char *root_hex, const char *chain_section)
{
    struct nr_cli_node p;
    char buf[4096], membership[NR_CLI_PATH_MAX + 32];
    int rc = nr_cli_node_paths(&p, netdir, i);
    if (rc) {
        return rc;
    }
    snprintf(membership, sizeof membership, "%s/membership.txt", netdir);
    unsigned mport = (o->metrics_port ? o->metrics_port : o->base_port + 100u) + i;
    int len = snprintf(buf, sizeof buf,
                       "# narratord config written by 'narrator up'\n"
                       "[Node]\n"
                       "Index = %u\n"
                       "Listen = 127.0.0.1:%u\n"
                       "Socket = %s\n"
                       "DataDir = %s\n"
                       "Platform = %s\n"
                       "TeeBackend = sim\n"
                       "Membership = %s\n"
                       "AttestationRoot = %s\n"
                       "Durability = memory\n"
                       "LogLevel = info\n"
                       "Metrics = 127.0.0.1:%u\n"
                       "MaxRecords = %u\n",
                       i, o->base_port + i, p.socket, p.data, p.platform, membership, root_hex,
                       mport, UP_MAX_RECORDS);
    for (unsigned j = 0; j < o->n && len > 0 && (size_t)len < sizeof buf; j++) {
        if (j == i) {
            continue;
        }
        len += snprintf(buf + len, sizeof buf - (size_t)len,
                        "\n[Peer]\nIndex = %u\nEndpoint = 127.0.0.1:%u\n", j, o->base_port + j);
    }
    if (len > 0 && (size_t)len < sizeof buf && chain_section[0]) {
        len += snprintf(buf + len, sizeof buf - (size_t)len, "%s", chain_section);
    }
    if (len < 0 || (size_t)len >= sizeof buf) {
        return NR_ETOOBIG;
    }
    return nr_cli_write_text(p.config, buf);
}

static int write_env(const char *netdir, unsigned i, const char *sys_hex)
{
    struct nr_cli_node p;
    char buf[2048];
    int rc = nr_cli_node_paths(&p, netdir, i);
    if (rc) {
        return rc;
    }
    int len = snprintf(buf, sizeof buf,
                       "# an AE beside member %u: '. %s'\n"
                       "export NARRATOR_SOCKET='%s'\n"
                       "export NARRATOR_PLATFORM='%s'\n"
                       "export NARRATOR_SYSTEM_ID=%s\n"
                       "export NARRATOR_TEE=sim\n",
                       i, p.envfile, p.socket, p.platform, sys_hex);
    if (len < 0 || (size_t)len >= sizeof buf) {
        return NR_ETOOBIG;
    }
    return nr_cli_write_text(p.envfile, buf);
}

#ifdef NR_CLI_WITH_CHAIN
/* The chain for a new network: --chain, else a private devnet in netdir/devnet. */
static int open_chain(const char *netdir, const struct up_opts *o, struct nr_cli_chain **out)
{
    char dev[NR_CLI_PATH_MAX + 16], ini[NR_CLI_PATH_MAX + 32], key[NR_CLI_PATH_MAX + 32];
    char why[NR_CLI_PATH_MAX + 64];
    if (o->chain_ini) {
        snprintf(ini, sizeof ini, "%s", o->chain_ini);
        if (o->chain_key) {
            snprintf(key, sizeof key, "%s", o->chain_key);
        } else {
            const char *slash = strrchr(o->chain_ini, '/');
            int dl = slash ? (int)(slash - o->chain_ini) : 1;
            snprintf(key, sizeof key, "%.*s/deployer.key", dl, slash ? o->chain_ini : ".");
        }
    } else {
        if (!nr_cli_anvil_available(why, sizeof why)) {
            fprintf(stderr,
                    "narrator: up initialises the network through a blockchain (a local anvil\n"
                    "  devnet) by default, but %s.\n"
                    "  Use 'narrator up --no-chain' for a network from the genesis file alone\n"
                    "  (no on-chain anchor), or --chain CHAIN.INI for an existing chain.\n",
                    why);
            return NR_ENOTFOUND;
        }
        snprintf(dev, sizeof dev, "%s/devnet", netdir);
        printf("  chain: starting a private anvil devnet in %s\n", dev);
        int rc = nr_cli_devnet_up(dev, 0, 1);
        if (rc) {
            return rc;
        }
        snprintf(ini, sizeof ini, "%s/chain.ini", dev);
        snprintf(key, sizeof key, "%s/deployer.key", dev);
    }
    return nr_cli_chain_open(out, ini, key);
}
#endif

/* 1 if a TCP listener holds `addr`: a bind probe with SO_REUSEADDR, as narratord binds (a
 * port in TIME_WAIT after an earlier network is free for it). */
static int addr_in_use(const struct nr_host_addr *addr)
{
    int fd = socket(addr->sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return 0; /* cannot tell: narratord will report it */
    }
    int one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    int busy = bind(fd, (const struct sockaddr *)&addr->sa, addr->len) != 0 && errno == EADDRINUSE;
    close(fd);
    return busy;
}

static int check_addr(unsigned i, const char *what, const struct nr_host_addr *addr)
{
    if (!addr_in_use(addr)) {
        return NR_OK;
    }
    fprintf(stderr,
            "narrator: node %u: %s address %s is in use (another network or program listens "
            "there)\n",
            i, what, addr->text);
    return NR_EEXIST;
}

/* Every address a new network of o->n nodes would listen on must be free: checked before
 * anything is created or sent to a chain. */
static int check_new_ports(const struct up_opts *o)
{
    int rc = NR_OK;
    unsigned mbase = o->metrics_port ? o->metrics_port : o->base_port + 100u;
    for (unsigned i = 0; i < o->n; i++) {
        struct nr_host_addr a;
        char text[32];
        snprintf(text, sizeof text, "127.0.0.1:%u", o->base_port + i);
        if (nr_host_addr_parse(&a, text) == NR_OK && check_addr(i, "peer", &a) != NR_OK) {
            rc = NR_EEXIST;
        }
        snprintf(text, sizeof text, "127.0.0.1:%u", mbase + i);
        if (nr_host_addr_parse(&a, text) == NR_OK && check_addr(i, "metrics", &a) != NR_OK) {
            rc = NR_EEXIST;
        }
    }
    if (rc) {
        fprintf(stderr, "narrator: nothing was created; choose free ports with --base-port P "
                        "(peers P.., metrics P+100.. or --metrics-port)\n");
    }
    return rc;
}

/* The addresses of an existing network's node i (from its se.ini) must be free to start it. */
static int check_node_ports(const char *netdir, unsigned i)
{
    static struct nr_host_config cfg; /* large; the CLI is single-threaded */
    struct nr_cli_node p;
    char err[NR_CFG_ERR_MAX];
    int rc = nr_cli_node_paths(&p, netdir, i);
    if (rc || nr_host_config_load(&cfg, p.config, err, sizeof err) != NR_OK) {
        return rc; /* narratord reports a bad config itself */
    }
    rc = check_addr(i, "peer", &cfg.listen);
    if (cfg.has_metrics && check_addr(i, "metrics", &cfg.metrics) != NR_OK) {
        rc = NR_EEXIST;
    }
    return rc;
}

/* Create everything for a new network in netdir (absolute). */
static int create_network(const char *netdir, const struct up_opts *o)
{
    char root[NR_CLI_PATH_MAX + 32], path[NR_CLI_PATH_MAX + 32], text[256];
    char sys_hex[2 * NR_SYSTEM_ID_BYTES + 1], root_hex[2 * NR_ATTEST_ROOT_PUB_BYTES + 1];
    uint8_t sys[NR_SYSTEM_ID_BYTES], root_pub[NR_ATTEST_ROOT_PUB_BYTES], pub[32];
    char *ids[NR_MAX_MEMBERS];
    static char id_store[NR_MAX_MEMBERS][NR_CLI_PATH_MAX];
    static char plat_store[NR_MAX_MEMBERS][NR_CLI_PATH_MAX];
    char *plats[NR_MAX_MEMBERS];
    char chain_section[1024] = "";
    struct nr_cli_chain *chain = NULL;
    int rc;

    if (o->system_id) {
#ifdef NR_CLI_WITH_CHAIN
        rc = nr_cli_chain_system_id(sys, o->system_id);
#else
        rc = nr_cli_hex_decode(sys, sizeof sys, o->system_id);
#endif
        if (rc) {
            fprintf(stderr, "narrator: --system-id: 64 hex digits expected\n");
            return rc;
        }
    } else {
        randombytes_buf(sys, sizeof sys);
    }
    if (!o->no_chain) {
#ifdef NR_CLI_WITH_CHAIN
        rc = open_chain(netdir, o, &chain);
        /* step 3 first: nothing is created for a system id that the chain already has */
        rc = rc ? rc : nr_cli_chain_check_new(chain, sys);
        if (rc) {
            nr_cli_chain_close(chain);
            return rc;
        }
#else
        fprintf(stderr, "narrator: this narrator was built without the chain client: use "
                        "--no-chain\n");
        return NR_ENOTFOUND;
#endif
    }
    rc = NR_OK;
    snprintf(root, sizeof root, "%s/root", netdir);
    rc = nr_tee_sim_root_create(root);
    if (rc == NR_OK) {
        rc = nr_tee_sim_root_pub(root, root_pub);
    }
    if (rc) {
        fprintf(stderr, "narrator: attestation root %s: %s\n", root, nr_strerror(rc));
        goto out;
    }
    for (unsigned i = 0; i < o->n; i++) {
        struct nr_cli_node p;
        rc = nr_cli_node_paths(&p, netdir, i);
        if (rc == NR_OK && strlen(p.socket) >= UP_SOCK_MAX) {
            fprintf(stderr, "narrator: socket path too long for a Unix socket: %s\n", p.socket);
            rc = NR_ETOOBIG;
        }
        rc = rc ? rc : nr_cli_mkdirs(p.dir);
        rc = rc ? rc : nr_cli_mkdirs(p.data);
        rc = rc ? rc : nr_tee_sim_platform_create(p.platform, root);
        rc = rc ? rc : nr_cli_keygen("sim", p.platform, p.identity, pub);
#ifdef NR_CLI_WITH_CHAIN
        if (rc == NR_OK && chain) {
            rc = nr_cli_chain_se_key(chain, p.platform, p.identity, UP_FUND_MILLI_ETH);
        }
#endif
        if (rc) {
            fprintf(stderr, "narrator: node %u: %s\n", i, nr_strerror(rc));
            goto out;
        }
        snprintf(id_store[i], sizeof id_store[i], "%s", p.identity);
        snprintf(plat_store[i], sizeof plat_store[i], "%s", p.platform);
        ids[i] = id_store[i];
        plats[i] = plat_store[i];
    }
    snprintf(path, sizeof path, "%s/membership.txt", netdir);
    rc = nr_cli_genesis("sim", sys, root, path, ids, o->n);
    if (rc) {
        goto out;
    }
#ifdef NR_CLI_WITH_CHAIN
    if (chain) {
        rc = nr_cli_chain_record(chain, path, ids, plats, o->n);
        rc = rc ? rc
                : nr_cli_chain_section(chain, chain_section, sizeof chain_section,
                                       UP_CHAIN_START_TIMEOUT_S);
        if (rc) {
            goto out;
        }
        printf("  chain: step 1, attested channels: the daemons' peer handshakes; each "
               "narratord verifies the finalised record before serving\n");
    }
#endif
    nr_cli_hex_encode(sys_hex, sys, sizeof sys);
    nr_cli_hex_encode(root_hex, root_pub, sizeof root_pub);
    for (unsigned i = 0; i < o->n && rc == NR_OK; i++) {
        rc = write_config(netdir, i, o, root_hex, chain_section);
        rc = rc ? rc : write_env(netdir, i, sys_hex);
    }
    if (rc) {
        goto out;
    }
    snprintf(path, sizeof path, "%s/system_id", netdir);
    snprintf(text, sizeof text, "%s\n", sys_hex);
    rc = nr_cli_write_text(path, text);
    if (rc) {
        goto out;
    }
    /* the count file last: its presence marks a complete network directory */
    snprintf(path, sizeof path, "%s/nodes", netdir);
    snprintf(text, sizeof text, "%u\n", o->n);
    rc = nr_cli_write_text(path, text);
out:
#ifdef NR_CLI_WITH_CHAIN
    nr_cli_chain_close(chain);
#endif
    return rc;
}

/* Start narratord for node i in the background (new session, output to its log). */
static int start_node(const char *netdir, unsigned i, pid_t *out)
{
    struct nr_cli_node p;
    char exe[NR_CLI_PATH_MAX], text[32];
    int rc = nr_cli_node_paths(&p, netdir, i);
    if (rc) {
        return rc;
    }
    nr_cli_narratord_path(exe, sizeof exe);
    int logfd = open(p.logfile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (logfd < 0) {
        return NR_EIO;
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(logfd);
        return NR_EIO;
    }
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) {
            dup2(devnull, STDIN_FILENO);
        }
        dup2(logfd, STDOUT_FILENO);
        dup2(logfd, STDERR_FILENO);
        setsid();
        char *args[] = {exe, "--config", p.config, NULL};
        execvp(exe, args);
        fprintf(stderr, "narrator: cannot run %s: %s\n", exe, strerror(errno));
        _exit(127);
    }
    close(logfd);
    snprintf(text, sizeof text, "%d\n", (int)pid);
    rc = nr_cli_write_text(p.pidfile, text);
    *out = pid;
    return rc;
}

static unsigned count_running(const char *netdir, unsigned n)
{
    unsigned running = 0;
    for (unsigned i = 0; i < n; i++) {
        struct nr_cli_node p;
        pid_t pid = 0;
        if (nr_cli_node_paths(&p, netdir, i) == NR_OK && nr_cli_read_pid(p.pidfile, &pid) == NR_OK &&
            nr_cli_pid_is_narratord(pid)) {
            running++;
        }
    }
    return running;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

/* Remove what create_network() made (and the runtime files), nothing else. */
static int remove_network(const char *netdir, unsigned n)
{
    static const char *const top[] = {"nodes", "system_id", "membership.txt", "root", "devnet"};
    char path[NR_CLI_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/devnet", netdir);
    if (nr_cli_devnet_running(path)) {
        (void)nr_cli_devnet_down(path, 1); /* the network's private chain */
    }
    for (size_t k = 0; k < sizeof top / sizeof top[0]; k++) {
        snprintf(path, sizeof path, "%s/%s", netdir, top[k]);
        if (nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0 && errno != ENOENT) {
            return NR_EIO;
        }
    }
    for (unsigned i = 0; i < n; i++) {
        struct nr_cli_node p;
        if (nr_cli_node_paths(&p, netdir, i) != NR_OK) {
            return NR_EINVAL;
        }
        if (nftw(p.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0 && errno != ENOENT) {
            return NR_EIO;
        }
    }
    return NR_OK;
}

static void print_log_tail(const char *logfile)
{
    char cmd[NR_CLI_PATH_MAX + 32];
    snprintf(cmd, sizeof cmd, "tail -n 5 '%s' >&2", logfile);
    if (system(cmd) != 0) {
        fprintf(stderr, "  (no log)\n");
    }
}

int nr_cmd_up(int argc, char **argv)
{
    struct up_opts o = {.n = 3, .dir = NR_CLI_DEFAULT_DIR, .base_port = NR_CLI_DEFAULT_BASE_PORT,
                        .metrics_port = 0, .only_node = -1, .timeout_ms = UP_DEFAULT_TIMEOUT_MS,
                        .wait = 1};
    static const struct option longopts[] = {{"nodes", required_argument, NULL, 'n'},
                                             {"dir", required_argument, NULL, 'd'},
                                             {"base-port", required_argument, NULL, 'p'},
                                             {"metrics-port", required_argument, NULL, 'm'},
                                             {"node", required_argument, NULL, 'N'},
                                             {"timeout-ms", required_argument, NULL, 't'},
                                             {"no-wait", no_argument, NULL, 'W'},
                                             {"fresh", no_argument, NULL, 'F'},
                                             {"no-chain", no_argument, NULL, 'C'},
                                             {"chain", required_argument, NULL, 'c'},
                                             {"chain-key", required_argument, NULL, 'k'},
                                             {"system-id", required_argument, NULL, 's'},
                                             {NULL, 0, NULL, 0}};
    unsigned node = 0;
    int ch;
    /* options that only shape a new network, as given (warned about on an existing one) */
    const char *shaping[8];
    unsigned n_shaping = 0;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "n:d:p:m:N:t:WFCc:k:s:", longopts, NULL)) != -1) {
        int bad = 0;
        switch (ch) {
        case 'n': bad = nr_cli_parse_uint(optarg, 1, NR_MAX_MEMBERS, &o.n) || o.n % 2 == 0; break;
        case 'd': o.dir = optarg; break;
        case 'p': bad = nr_cli_parse_uint(optarg, 1, 65000, &o.base_port); break;
        case 'm': bad = nr_cli_parse_uint(optarg, 1, 65000, &o.metrics_port); break;
        case 'N':
            bad = nr_cli_parse_uint(optarg, 0, NR_MAX_MEMBERS - 1, &node);
            o.only_node = (int)node;
            break;
        case 't': bad = nr_cli_parse_uint(optarg, 100, 3600000, &o.timeout_ms); break;
        case 'W': o.wait = 0; break;
        case 'F': o.fresh = 1; break;
        case 'C': o.no_chain = 1; break;
        case 'c': o.chain_ini = optarg; break;
        case 'k': o.chain_key = optarg; break;
        case 's': o.system_id = optarg; break;
        default: bad = 1; break;
        }
        if (strchr("npmCcks", ch) && n_shaping < sizeof shaping / sizeof shaping[0]) {
            const struct option *lo = longopts;
            while (lo->name && lo->val != ch) {
                lo++;
            }
            shaping[n_shaping++] = lo->name ? lo->name : "?";
        }
        if (bad) {
            return nr_cli_usage("up");
        }
    }
    if (optind != argc || (o.no_chain && (o.chain_ini || o.chain_key))) {
        return nr_cli_usage("up");
    }
    if (sodium_init() < 0) {
        return NR_CLI_EXIT_FAIL;
    }
    char netdir[NR_CLI_PATH_MAX];
    int rc = nr_cli_mkdirs(o.dir);
    rc = rc ? rc : nr_cli_realdir(o.dir, netdir, sizeof netdir);
    if (rc) {
        return nr_cli_fail(o.dir, rc);
    }
    unsigned have = 0;
    if (nr_cli_net_nodes(netdir, &have) == NR_OK) {
        unsigned running = count_running(netdir, have);
        if (running == 0 && !o.fresh) {
            fprintf(stderr,
                    "narrator: the network in %s was stopped entirely. State enclaves keep the\n"
                    "  records in enclave memory, so a network that lost all its members cannot\n"
                    "  resume: its members would report TOTAL FAILURE (by design: stop, never\n"
                    "  lie). Start a new network with 'narrator up --fresh' (or remove %s).\n",
                    netdir, netdir);
            return NR_CLI_EXIT_FAIL;
        }
        if (running == 0) {
            printf("removing the stopped network in %s\n", netdir);
            rc = remove_network(netdir, have);
            if (rc) {
                return nr_cli_fail("remove network", rc);
            }
            have = 0;
        }
    }
    if (have > 0) {
        if (o.fresh) {
            fprintf(stderr, "narrator: --fresh: %s still has running members ('narrator down')\n",
                    netdir);
            return NR_CLI_EXIT_FAIL;
        }
        if (n_shaping > 0) {
            fprintf(stderr, "narrator: warning: the network in %s exists and has running members:"
                            " ignoring", netdir);
            for (unsigned k = 0; k < n_shaping; k++) {
                fprintf(stderr, " --%s", shaping[k]);
            }
            fprintf(stderr, " (they apply only when a network is created: 'narrator down', "
                            "then 'narrator up --fresh ...')\n");
        }
        o.n = have; /* running network: start the members that are not running (rejoin) */
    } else {
        if (o.only_node >= 0) {
            fprintf(stderr, "narrator: no network under %s\n", netdir);
            return NR_CLI_EXIT_FAIL;
        }
        if (check_new_ports(&o) != NR_OK) {
            return NR_CLI_EXIT_FAIL;
        }
        printf("creating a %u-node network in %s\n", o.n, netdir);
        rc = create_network(netdir, &o);
        if (rc) {
            char dev[NR_CLI_PATH_MAX + 16];
            snprintf(dev, sizeof dev, "%s/devnet", netdir);
            if (nr_cli_devnet_running(dev)) {
                (void)nr_cli_devnet_down(dev, 1); /* no network: no private chain either */
            }
            return nr_cli_fail("create network", rc);
        }
    }
    if (o.only_node >= (int)o.n) {
        return nr_cli_usage("up");
    }
    pid_t pids[NR_MAX_MEMBERS] = {0};
    for (unsigned i = 0; i < o.n; i++) {
        struct nr_cli_node p;
        pid_t old = 0;
        if (o.only_node >= 0 && (unsigned)o.only_node != i) {
            continue;
        }
        rc = nr_cli_node_paths(&p, netdir, i);
        if (rc == NR_OK && nr_cli_read_pid(p.pidfile, &old) == NR_OK &&
            nr_cli_pid_is_narratord(old)) {
            printf("node %u: already running (pid %d)\n", i, (int)old);
            continue;
        }
        if (rc == NR_OK && check_node_ports(netdir, i) != NR_OK) {
            fprintf(stderr, "narrator: node %u not started: free its addresses first\n", i);
            return NR_CLI_EXIT_FAIL;
        }
        rc = rc ? rc : start_node(netdir, i, &pids[i]);
        if (rc) {
            return nr_cli_fail("start narratord", rc);
        }
    }
    if (!o.wait) {
        return NR_CLI_EXIT_OK;
    }
    /* Wait until every started node (or every node) is ACTIVE. */
    uint64_t deadline = nr_cli_now_ms() + o.timeout_ms;
    struct nr_cli_node_status st[NR_MAX_MEMBERS];
    for (;;) {
        int all = 1;
        for (unsigned i = 0; i < o.n; i++) {
            if (o.only_node >= 0 && (unsigned)o.only_node != i) {
                continue;
            }
            /* Only a live daemon started for this network counts: the process first, then
             * its answer (which names this network's system id, else it is FOREIGN). */
            if (pids[i] > 0 && waitpid(pids[i], NULL, WNOHANG) == pids[i]) {
                struct nr_cli_node p;
                fprintf(stderr, "narrator: node %u exited during start; its log says:\n", i);
                if (nr_cli_node_paths(&p, netdir, i) == NR_OK) {
                    print_log_tail(p.logfile);
                }
                return NR_CLI_EXIT_FAIL;
            }
            (void)nr_cli_node_status(netdir, i, &st[i]);
            if (st[i].foreign) {
                fprintf(stderr, "narrator: node %u: %s\n", i, st[i].detail);
                return NR_CLI_EXIT_FAIL;
            }
            all = all && st[i].running && strcmp(st[i].state, "ACTIVE") == 0;
        }
        if (all) {
            break;
        }
        if (nr_cli_now_ms() >= deadline) {
            fprintf(stderr, "narrator: not every node became ACTIVE within %u ms\n", o.timeout_ms);
            for (unsigned i = 0; i < o.n; i++) {
                if (o.only_node < 0 || (unsigned)o.only_node == i) {
                    fprintf(stderr, "  node %u: %s %s\n", i, st[i].state, st[i].detail);
                }
            }
            return NR_CLI_EXIT_FAIL;
        }
        nr_cli_sleep_ms(100);
    }
    char sys_hex[2 * NR_SYSTEM_ID_BYTES + 8], path[NR_CLI_PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/system_id", netdir);
    if (nr_cli_read_text(path, sys_hex, sizeof sys_hex) != NR_OK) {
        sys_hex[0] = '\0';
    }
    if (o.only_node >= 0) {
        printf("node %d ACTIVE (rejoined)\n", o.only_node);
        return NR_CLI_EXIT_OK;
    }
    printf("network up: %u state enclaves ACTIVE, f = %u\n  dir        %s\n  system id  %s\n",
           o.n, o.n / 2, netdir, sys_hex);
    for (unsigned i = 0; i < o.n; i++) {
        struct nr_cli_node p;
        pid_t pid = 0;
        if (nr_cli_node_paths(&p, netdir, i) == NR_OK && nr_cli_read_pid(p.pidfile, &pid) == NR_OK) {
            printf("  node %u     pid %-7d socket %s\n", i, (int)pid, p.socket);
        }
    }
    printf("an AE beside node 0: '. %s/node0/client.env'\n", netdir);
    return NR_CLI_EXIT_OK;
}
