/* narrator update --node I --name NAME --version V --digest HEX [--dir DIR]
 * Acts as a small AE ("narrator-cli/1") beside member I: commits (V, digest) for record NAME
 * and prints the committed version. Exit 2 with the error name on refusal (NR_ECONFLICT...). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

int nr_cmd_update(int argc, char **argv)
{
    const char *dir = NR_CLI_DEFAULT_DIR, *name = NULL, *node_s = NULL, *ver_s = NULL,
               *dig_s = NULL;
    static const struct option longopts[] = {
        {"dir", required_argument, NULL, 'd'},     {"node", required_argument, NULL, 'n'},
        {"name", required_argument, NULL, 'N'},    {"version", required_argument, NULL, 'v'},
        {"digest", required_argument, NULL, 'D'},  {NULL, 0, NULL, 0}};
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "d:n:N:v:D:", longopts, NULL)) != -1) {
        switch (ch) {
        case 'd': dir = optarg; break;
        case 'n': node_s = optarg; break;
        case 'N': name = optarg; break;
        case 'v': ver_s = optarg; break;
        case 'D': dig_s = optarg; break;
        default: return nr_cli_usage("update");
        }
    }
    unsigned node = 0;
    uint64_t version = 0;
    uint8_t digest[NR_DIGEST_BYTES];
    if (optind != argc || !name || !node_s || !ver_s || !dig_s ||
        nr_cli_parse_uint(node_s, 0, NR_MAX_MEMBERS - 1, &node) ||
        nr_cli_parse_u64(ver_s, &version) || version == 0 ||
        nr_cli_hex_decode(digest, sizeof digest, dig_s)) {
        return nr_cli_usage("update");
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
    uint64_t committed = 0;
    rc = nr_update(c, version, digest, &committed);
    nr_close(c);
    if (rc) {
        return nr_cli_fail("update", rc);
    }
    printf("committed %s version %llu\n", name, (unsigned long long)committed);
    return NR_CLI_EXIT_OK;
}
