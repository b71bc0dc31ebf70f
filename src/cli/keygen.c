/* narrator keygen --platform DIR --out FILE [--backend sim]
 * Generates a state enclave's long-term identity inside the TEE of that platform (as the SE
 * enclave "narrator-se/1") and seals it to FILE. Also writes FILE.platform (the platform
 * directory, so that `genesis` can have the identity attested there) and prints the public
 * key. The secret key never leaves the sealed file. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "chan/identity.h"
#include "cli/cli.h"

int nr_cli_keygen(const char *backend, const char *platform, const char *out,
                  uint8_t pub[NR_IDENTITY_PUB_BYTES])
{
    struct nr_tee *tee = NULL;
    struct nr_identity id;
    char abs[NR_CLI_PATH_MAX], side[NR_CLI_PATH_MAX + 16], text[NR_CLI_PATH_MAX + 2];
    memset(&id, 0, sizeof id);
    int rc = nr_cli_realdir(platform, abs, sizeof abs);
    if (rc) {
        return rc;
    }
    int k = snprintf(side, sizeof side, "%s.platform", out);
    if (k < 0 || (size_t)k >= sizeof side) {
        return NR_ETOOBIG;
    }
    rc = nr_tee_open(&tee, backend, abs, NR_SE_CODE_IDENTITY);
    if (rc) {
        return rc;
    }
    rc = nr_identity_create(tee, out, &id);
    if (rc == NR_OK) {
        memcpy(pub, id.pub, NR_IDENTITY_PUB_BYTES);
        snprintf(text, sizeof text, "%s\n", abs);
        rc = nr_cli_write_text(side, text);
    }
    nr_identity_wipe(&id);
    nr_tee_close(tee);
    return rc;
}

int nr_cmd_keygen(int argc, char **argv)
{
    const char *platform = NULL, *out = NULL, *backend = "sim";
    static const struct option longopts[] = {{"platform", required_argument, NULL, 'p'},
                                             {"out", required_argument, NULL, 'o'},
                                             {"backend", required_argument, NULL, 'b'},
                                             {NULL, 0, NULL, 0}};
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "p:o:b:", longopts, NULL)) != -1) {
        switch (ch) {
        case 'p': platform = optarg; break;
        case 'o': out = optarg; break;
        case 'b': backend = optarg; break;
        default: return nr_cli_usage("keygen");
        }
    }
    if (optind != argc || !platform || !out) {
        return nr_cli_usage("keygen");
    }
    uint8_t pub[NR_IDENTITY_PUB_BYTES];
    char hex[2 * NR_IDENTITY_PUB_BYTES + 1];
    int rc = nr_cli_keygen(backend, platform, out, pub);
    if (rc) {
        return nr_cli_fail(out, rc);
    }
    nr_cli_hex_encode(hex, pub, sizeof pub);
    printf("identity %s\n", hex);
    return NR_CLI_EXIT_OK;
}
