/* narrator devnet up|down|status [--dir .narrator/devnet] [--port 8545]
 *
 * A local Ethereum devnet (anvil from the repository's node_modules, npm `@foundry-rs/anvil`)
 * with the NarratorRegistry contract deployed: a thin wrapper around scripts/devnet.sh, which
 * writes DIR/chain.ini (RpcUrl, ChainId, Contract, Confirmations), DIR/deployer.key (anvil's
 * publicly known first development key: devnet only), DIR/anvil.pid and DIR/anvil.log.
 * The repository is the source tree this program was built from (NARRATOR_ROOT overrides);
 * narrator-chain and the contract come from its build directory (NARRATOR_BUILD_DIR
 * overrides). `--port 0` picks a free loopback port. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <glob.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/chaininit.h"

#ifndef NR_CLI_SOURCE_DIR
#define NR_CLI_SOURCE_DIR "."
#endif
#ifndef NR_CLI_BUILD_DIR
#define NR_CLI_BUILD_DIR "build"
#endif

const char *nr_cli_repo_root(void)
{
    const char *e = getenv("NARRATOR_ROOT");
    return e && *e ? e : NR_CLI_SOURCE_DIR;
}

const char *nr_cli_build_dir(void)
{
    const char *e = getenv("NARRATOR_BUILD_DIR");
    return e && *e ? e : NR_CLI_BUILD_DIR;
}

int nr_cli_anvil_available(char *why, size_t why_cap)
{
    char pat[NR_CLI_PATH_MAX];
    glob_t g;
    int found = 0;
    snprintf(pat, sizeof pat, "%s/node_modules/@foundry-rs/anvil-*/bin/anvil", nr_cli_repo_root());
    if (glob(pat, 0, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc && !found; i++) {
            found = access(g.gl_pathv[i], X_OK) == 0;
        }
        globfree(&g);
    }
    if (!found) {
        snprintf(pat, sizeof pat, "%s/node_modules/.bin/anvil", nr_cli_repo_root());
        found = access(pat, X_OK) == 0;
    }
    if (!found) {
        snprintf(why, why_cap,
                 "anvil not found under %s/node_modules (run scripts/deps.sh, i.e. npm ci)",
                 nr_cli_repo_root());
        return 0;
    }
    /* The devnet deploys the registry contract: built only if node_modules existed when the
     * build was configured. */
    const char *bin = getenv("NARRATOR_REGISTRY_BIN"); /* as scripts/devnet.sh */
    if (bin && *bin) {
        snprintf(pat, sizeof pat, "%s", bin);
    } else {
        snprintf(pat, sizeof pat, "%s/contracts/NarratorRegistry.bin", nr_cli_build_dir());
    }
    if (access(pat, R_OK) != 0) {
        snprintf(why, why_cap,
                 "the registry contract was not built (%s missing: the build was configured "
                 "before scripts/deps.sh installed node_modules; run ./scripts/build.sh again)",
                 pat);
        return 0;
    }
    return found;
}

/* A currently free TCP port on 127.0.0.1 (the kernel's choice). */
static int free_port(unsigned *port)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        return NR_EIO;
    }
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int rc = NR_EIO;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0) {
        *port = ntohs(a.sin_port);
        rc = NR_OK;
    }
    close(fd);
    return rc;
}

/* Run scripts/devnet.sh CMD for dir; returns its exit status (or -1). */
static int run_script(const char *cmd, const char *dir, unsigned port, int quiet)
{
    char script[NR_CLI_PATH_MAX], tool[NR_CLI_PATH_MAX], out[NR_CLI_PATH_MAX], ptext[16];
    snprintf(script, sizeof script, "%s/scripts/devnet.sh", nr_cli_repo_root());
    snprintf(tool, sizeof tool, "%s/src/eth/narrator-chain", nr_cli_build_dir());
    snprintf(out, sizeof out, "%s/devnet.out", dir);
    snprintf(ptext, sizeof ptext, "%u", port);
    if (access(script, R_OK) != 0) {
        fprintf(stderr, "narrator: devnet: %s not found (set NARRATOR_ROOT to the repository)\n",
                script);
        return -1;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        return -1;
    }
    if (pid == 0) {
        setenv("NARRATOR_DEVNET_DIR", dir, 1);
        setenv("BUILD_DIR", nr_cli_build_dir(), 1);
        setenv("NARRATOR_CHAIN", tool, 1);
        if (port) {
            setenv("NARRATOR_DEVNET_PORT", ptext, 1);
        }
        if (quiet) {
            int fd = open(out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
            if (fd >= 0) {
                dup2(fd, STDOUT_FILENO);
                dup2(fd, STDERR_FILENO);
            }
        }
        char *args[] = {"bash", script, (char *)cmd, NULL};
        execvp("bash", args);
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            return -1;
        }
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int nr_cli_devnet_running(const char *dir)
{
    char path[NR_CLI_PATH_MAX], text[32];
    unsigned v = 0;
    snprintf(path, sizeof path, "%s/anvil.pid", dir);
    if (nr_cli_read_text(path, text, sizeof text) != NR_OK ||
        nr_cli_parse_uint(text, 2, 0x7fffffffu, &v) != NR_OK) {
        return 0;
    }
    return kill((pid_t)v, 0) == 0;
}

int nr_cli_devnet_up(const char *dir, unsigned port, int quiet)
{
    char why[NR_CLI_PATH_MAX + 64];
    if (!nr_cli_anvil_available(why, sizeof why)) {
        fprintf(stderr, "narrator: devnet: %s\n", why);
        return NR_ENOTFOUND;
    }
    if (nr_cli_mkdirs(dir) != NR_OK) {
        fprintf(stderr, "narrator: devnet: cannot create %s\n", dir);
        return NR_EIO;
    }
    if (port == 0 && !nr_cli_devnet_running(dir) && free_port(&port) != NR_OK) {
        return NR_EIO;
    }
    int st = run_script("up", dir, port, quiet);
    if (st != 0) {
        fprintf(stderr, "narrator: devnet: starting anvil in %s failed%s%s\n", dir,
                quiet ? "; see " : "", quiet ? "devnet.out there" : "");
        return NR_EIO;
    }
    return NR_OK;
}

int nr_cli_devnet_down(const char *dir, int quiet)
{
    return run_script("down", dir, 0, quiet) == 0 ? NR_OK : NR_EIO;
}

int nr_cmd_devnet(int argc, char **argv)
{
    const char *dir = NR_CLI_DEVNET_DIR;
    unsigned port = 8545;
    static const struct option longopts[] = {{"dir", required_argument, NULL, 'd'},
                                             {"port", required_argument, NULL, 'p'},
                                             {NULL, 0, NULL, 0}};
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "d:p:", longopts, NULL)) != -1) {
        switch (ch) {
        case 'd':
            dir = optarg;
            break;
        case 'p':
            if (nr_cli_parse_uint(optarg, 0, 65535, &port)) {
                return nr_cli_usage("devnet");
            }
            break;
        default:
            return nr_cli_usage("devnet");
        }
    }
    if (optind + 1 != argc) {
        return nr_cli_usage("devnet");
    }
    const char *cmd = argv[optind];
    char abs[NR_CLI_PATH_MAX];
    if (nr_cli_mkdirs(dir) != NR_OK || nr_cli_realdir(dir, abs, sizeof abs) != NR_OK) {
        return nr_cli_fail(dir, NR_EIO);
    }
    if (strcmp(cmd, "up") == 0) {
        int rc = nr_cli_devnet_up(abs, port, 0);
        if (rc) {
            return NR_CLI_EXIT_FAIL;
        }
        printf("devnet up: chain config %s/chain.ini, creator key %s/deployer.key\n", abs, abs);
        return NR_CLI_EXIT_OK;
    }
    if (strcmp(cmd, "down") == 0) {
        return nr_cli_devnet_down(abs, 0) == NR_OK ? NR_CLI_EXIT_OK : NR_CLI_EXIT_FAIL;
    }
    if (strcmp(cmd, "status") == 0) {
        int st = run_script("status", abs, 0, 0);
        return st == 0 ? (nr_cli_devnet_running(abs) ? NR_CLI_EXIT_OK : NR_CLI_EXIT_FAIL)
                       : NR_CLI_EXIT_FAIL;
    }
    return nr_cli_usage("devnet");
}
