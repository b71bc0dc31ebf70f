/* narratord: the Narrator state-enclave host daemon.
 *
 *   narratord [-t|--check] -c|--config <config.ini>     (or: narratord <config.ini>)
 *     -t  check the configuration file and exit (0 if valid)
 *
 * Exit codes: 0 clean shutdown (SIGTERM/SIGINT), 1 start-up failure (config, files, bind),
 * 2 usage, 3 superseded by a newer incarnation, 4 total failure, 5 halted otherwise. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chan/membership.h"
#include "host/daemon.h"

static int usage(void)
{
    fprintf(stderr, "usage: narratord [-t|--check] -c|--config <config.ini>\n"
                    "  -c FILE   configuration file (WireGuard-like INI, see docs/operations.md)\n"
                    "  -t        check the configuration and exit\n");
    return NR_EXIT_USAGE;
}

int main(int argc, char **argv)
{
    static struct nr_daemon d; /* large: keep it off the stack */
    const char *config = NULL;
    int check = 0, opt, code;
    char err[1024];

    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check", no_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };

    while ((opt = getopt_long(argc, argv, "c:th", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            config = optarg;
            break;
        case 't':
            check = 1;
            break;
        default:
            return usage();
        }
    }
    if (!config && optind < argc)
        config = argv[optind++];
    if (!config || optind != argc)
        return usage();

    if (check) {
        static struct nr_host_config cfg;
        if (nr_host_config_load(&cfg, config, err, sizeof err) != NR_OK) {
            fprintf(stderr, "narratord: %s\n", err);
            return NR_EXIT_STARTUP;
        }
        static struct nr_host_collateral col;
        if (nr_host_collateral_load(&col, &cfg, config, err, sizeof err) != NR_OK) {
            fprintf(stderr, "narratord: %s\n", err);
            return NR_EXIT_STARTUP;
        }
        nr_host_collateral_free(&col);
        /* The member count comes from the membership file: every member this node dials
         * (a higher index) needs a [Peer] section. (Attestation is checked at start.) */
        static struct nr_membership m;
        if (nr_membership_load(&m, cfg.membership_path, err, sizeof err) != NR_OK) {
            fprintf(stderr, "narratord: %s:%d: Membership: %s\n", config, cfg.membership_line,
                    err);
            return NR_EXIT_STARTUP;
        }
        if (cfg.index >= m.n) {
            fprintf(stderr, "narratord: %s: Index %u is not a member (n = %u)\n", config,
                    cfg.index, m.n);
            return NR_EXIT_STARTUP;
        }
        for (unsigned j = cfg.index + 1u; j < m.n; j++) {
            int found = 0;
            for (unsigned i = 0; i < cfg.n_peers; i++)
                found |= cfg.peers[i].index == j;
            if (!found) {
                fprintf(stderr, "narratord: %s: no [Peer] section for member %u (this node dials it)\n",
                        config, j);
                return NR_EXIT_STARTUP;
            }
        }
        printf("%s: ok (node %u of %u, %u peers)\n", config, cfg.index, m.n, cfg.n_peers);
        return NR_EXIT_OK;
    }
    if (nr_daemon_init(&d, config, err, sizeof err) != NR_OK) {
        NR_LOGE("start-up failed: %s", err[0] ? err : "unknown error");
        nr_daemon_free(&d);
        return NR_EXIT_STARTUP;
    }
    code = nr_daemon_run(&d);
    nr_daemon_free(&d);
    if (code == NR_EXIT_OK)
        fprintf(stderr, "narratord: stopped\n");
    return code;
}
