/* `narrator`: table-driven dispatcher. One row per subcommand; add a row to extend. */
#include <stdio.h>
#include <string.h>

#include "cli/chaininit.h"
#include "cli/cli.h"

static int cmd_help(int argc, char **argv);

static const struct nr_cli_cmd g_cmds[] = {
    {"keygen", "--platform DIR --out FILE [--backend sim]",
     "create a state enclave identity inside the TEE of a platform", nr_cmd_keygen},
    {"genesis",
     "(--system-id HEX | --random) (--root ROOTDIR | --attestation-root HEX) "
     "[--measurement HEX | --sigstruct FILE]... [--backend sim|gramine] --out FILE "
     "IDENTITY_FILES...",
     "write the genesis membership file of a new system", nr_cmd_genesis},
    {"up",
     "[-n 3] [--dir .narrator/net] [--base-port 7100] [--metrics-port P] [--node I] [--timeout-ms "
     "MS] [--no-wait] [--fresh] [--no-chain | --chain CHAIN.INI [--chain-key FILE]] [--system-id "
     "ID]",
     "create and start a local network of n state enclaves", nr_cmd_up},
    {"devnet", "up|down|status [--dir .narrator/devnet] [--port 8545 (0: any free)]",
     "a local anvil devnet with the registry contract (chain.ini, deployer.key)", nr_cmd_devnet},
    {"down", "[--dir .narrator/net]", "stop the local network", nr_cmd_down},
    {"status", "[--dir .narrator/net]", "show each state enclave's state and counters",
     nr_cmd_status},
    {"update", "--node I --name NAME --version V --digest HEX [--dir DIR]",
     "commit (V, digest) for a record, as an AE beside member I", nr_cmd_update},
    {"read", "--node I --name NAME [--dir DIR]", "read a record's latest committed version",
     nr_cmd_read},
    {"epochs", "[--dir .narrator/net] [--chain CHAIN.INI] [--system-id ID]",
     "show the system's epochs on chain (kind, n/f, genesis, predecessor, state root, members)",
     nr_cmd_epochs},
    {"help", "[COMMAND]", "show this help", cmd_help},
};
#define N_CMDS (sizeof g_cmds / sizeof g_cmds[0])

static const struct nr_cli_cmd *find(const char *name)
{
    for (size_t i = 0; i < N_CMDS; i++) {
        if (strcmp(g_cmds[i].name, name) == 0) {
            return &g_cmds[i];
        }
    }
    return NULL;
}

static void help(FILE *f)
{
    fprintf(f, "usage: narrator <command> [options]\n\n"
               "Narrator: rollback and fork protection for enclave state.\n\ncommands:\n");
    for (size_t i = 0; i < N_CMDS; i++) {
        fprintf(f, "  %-8s %s\n", g_cmds[i].name, g_cmds[i].help);
    }
    fprintf(f, "\n'narrator help COMMAND' shows a command's options.\n");
}

int nr_cli_usage(const char *name)
{
    const struct nr_cli_cmd *c = find(name);
    if (c) {
        fprintf(stderr, "usage: narrator %s %s\n  %s\n", c->name, c->usage, c->help);
    } else {
        help(stderr);
    }
    return NR_CLI_EXIT_USAGE;
}

int nr_cli_fail(const char *what, int err)
{
    fprintf(stderr, "narrator: %s: %s (%s)\n", what, nr_strerror(err), nr_errname(err));
    return NR_CLI_EXIT_FAIL;
}

static int cmd_help(int argc, char **argv)
{
    if (argc >= 2) {
        const struct nr_cli_cmd *c = find(argv[1]);
        if (!c) {
            fprintf(stderr, "narrator: unknown command '%s'\n", argv[1]);
            help(stderr);
            return NR_CLI_EXIT_USAGE;
        }
        printf("usage: narrator %s %s\n  %s\n", c->name, c->usage, c->help);
        return NR_CLI_EXIT_OK;
    }
    help(stdout);
    return NR_CLI_EXIT_OK;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        help(stderr);
        return NR_CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        help(stdout);
        return NR_CLI_EXIT_OK;
    }
    const struct nr_cli_cmd *c = find(argv[1]);
    if (!c) {
        fprintf(stderr, "narrator: unknown command '%s'\n", argv[1]);
        help(stderr);
        return NR_CLI_EXIT_USAGE;
    }
    if (argc == 3 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
        char *hargv[] = {"help", argv[1], NULL}; /* `narrator CMD --help` = `narrator help CMD` */
        return cmd_help(2, hargv);
    }
    return c->run(argc - 1, argv + 1);
}
