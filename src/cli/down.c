/* narrator down [--dir DIR]: stop every narratord of a local network (SIGTERM, then SIGKILL
 * after a grace period). Safe to run twice. */
#include <getopt.h>
#include <stdio.h>
#include <unistd.h>

#include "cli/chaininit.h"
#include "cli/cli.h"

#define DOWN_GRACE_MS 5000u

int nr_cmd_down(int argc, char **argv)
{
    const char *dir = NR_CLI_DEFAULT_DIR;
    static const struct option longopts[] = {{"dir", required_argument, NULL, 'd'},
                                             {NULL, 0, NULL, 0}};
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "d:", longopts, NULL)) != -1) {
        switch (ch) {
        case 'd':
            dir = optarg;
            break;
        default:
            return nr_cli_usage("down");
        }
    }
    if (optind != argc) {
        return nr_cli_usage("down");
    }
    unsigned n = 0;
    if (nr_cli_net_nodes(dir, &n) != NR_OK) {
        n = NR_MAX_MEMBERS; /* no count file: try every slot */
    }
    int failed = 0, stopped = 0;
    for (unsigned i = 0; i < n; i++) {
        struct nr_cli_node p;
        pid_t pid = 0;
        if (nr_cli_node_paths(&p, dir, i) || nr_cli_read_pid(p.pidfile, &pid)) {
            continue;
        }
        if (!nr_cli_pid_is_narratord(pid)) {
            unlink(p.pidfile);
            continue;
        }
        int rc = nr_cli_stop_pid(pid, DOWN_GRACE_MS);
        if (rc) {
            fprintf(stderr, "narrator: node %u (pid %d): %s\n", i, (int)pid, nr_strerror(rc));
            failed = 1;
            continue;
        }
        unlink(p.pidfile);
        printf("node %u: stopped (pid %d)\n", i, (int)pid);
        stopped++;
    }
    if (!stopped && !failed) {
        printf("no running state enclaves under %s\n", dir);
    }
    char dev[NR_CLI_PATH_MAX + 16];
    snprintf(dev, sizeof dev, "%s/devnet", dir);
    if (nr_cli_devnet_running(dev)) { /* the network's private chain (narrator up) */
        if (nr_cli_devnet_down(dev, 1) == NR_OK) {
            printf("devnet: stopped the network's chain (%s)\n", dev);
        } else {
            failed = 1;
        }
    }
    return failed ? NR_CLI_EXIT_FAIL : NR_CLI_EXIT_OK;
}
