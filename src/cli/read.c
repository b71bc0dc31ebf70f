/* narrator read --node I --name NAME [--dir DIR]
 * Acts as a small AE ("narrator-cli/1") beside member I and prints the latest committed
 * "version digest_hex" of record NAME ("0 -" if there is none). */
#include <getopt.h>
#include <stdio.h>

#include "cli/cli.h"

int nr_cmd_read(int argc, char **argv)
{
    const char *dir = NR_CLI_DEFAULT_DIR, *name = NULL, *node_s = NULL;
    static const struct option longopts[] = {{"dir", required_argument, NULL, 'd'},
                                             {"node", required_argument, NULL, 'n'},
                                             {"name", required_argument, NULL, 'N'},
                                             {NULL, 0, NULL, 0}};
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "d:n:N:", longopts, NULL)) != -1) {
        switch (ch) {
        case 'd': dir = optarg; break;
        case 'n': node_s = optarg; break;
        case 'N': name = optarg; break;
        default: return nr_cli_usage("read");
        }
    }
    unsigned node = 0;
    if (optind != argc || !name || !node_s ||
        nr_cli_parse_uint(node_s, 0, NR_MAX_MEMBERS - 1, &node)) {
        return nr_cli_usage("read");
    }
    struct nr_cli_client cc;
    struct nr_client *c = NULL;
    int rc = nr_cli_client_options(&cc, dir, node, NR_CLI_AE_CODE_IDENTITY);
    if (rc) {
        return nr_cli_fail("network configuration", rc);
    }
    rc = nr_open(&c, &cc.opt, name);
    if (rc) {
        return nr_cli_fail("open", rc);
    }
    uint64_t version = 0;
    uint8_t digest[NR_DIGEST_BYTES];
    rc = nr_read(c, &version, digest);
    nr_close(c);
    if (rc) {
        return nr_cli_fail("read", rc);
    }
    if (version == 0) {
        printf("0 -\n");
    } else {
        char hex[2 * NR_DIGEST_BYTES + 1];
        nr_cli_hex_encode(hex, digest, sizeof digest);
        printf("%llu %s\n", (unsigned long long)version, hex);
    }
    return NR_CLI_EXIT_OK;
}
