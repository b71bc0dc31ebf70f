/* narrator genesis (--system-id HEX | --random) --root ROOTDIR --out FILE [--backend sim]
 *                  IDENTITY_FILES...
 * Writes the genesis membership file of a new system: member i is the i-th identity file.
 * Each identity is attested on its own platform (FILE.platform, written by keygen) with
 * report data binding the system id; the result is verified before it is written. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "chan/identity.h"
#include "chan/membership.h"
#include "cli/cli.h"

static int add_member(struct nr_membership *m, const char *backend, const char *id_file,
                      uint16_t index)
{
    char side[NR_CLI_PATH_MAX + 16], platform[NR_CLI_PATH_MAX];
    struct nr_tee *tee = NULL;
    struct nr_identity id;
    uint8_t ev[NR_EVIDENCE_MAX_BYTES], pid[NR_PLATFORM_ID_BYTES];
    size_t ev_len = 0;
    memset(&id, 0, sizeof id);
    int k = snprintf(side, sizeof side, "%s.platform", id_file);
    if (k < 0 || (size_t)k >= sizeof side) {
        return NR_ETOOBIG;
    }
    int rc = nr_cli_read_text(side, platform, sizeof platform);
    if (rc) {
        fprintf(stderr, "narrator: %s: missing (written by 'narrator keygen')\n", side);
        return rc;
    }
    rc = nr_tee_open(&tee, backend, platform, NR_SE_CODE_IDENTITY);
    if (rc) {
        return rc;
    }
    rc = nr_identity_load(tee, id_file, &id);
    if (rc == NR_OK) {
        rc = nr_identity_evidence(tee, &id, m->system_id, ev, sizeof ev, &ev_len);
    }
    if (rc == NR_OK) {
        nr_tee_platform_id(tee, pid);
        rc = nr_membership_add_member(m, index, id.pub, pid, ev, ev_len,
                                      id.has_eth ? id.eth_addr : NULL);
    }
    nr_identity_wipe(&id);
    nr_tee_close(tee);
    return rc;
}

int nr_cli_genesis(const char *backend, const uint8_t system_id[NR_SYSTEM_ID_BYTES],
                   const char *root, const char *out, char **id_files, unsigned n)
{
    static struct nr_membership m; /* large */
    uint8_t root_pub[NR_ATTEST_ROOT_PUB_BYTES], meas[NR_MEASUREMENT_BYTES];
    char err[NR_MEMBERSHIP_ERR_BYTES];
    if (n == 0 || n > NR_MAX_MEMBERS || n % 2 == 0) {
        fprintf(stderr, "narrator: genesis needs an odd number n = 2f+1 of identities (1..%u)\n",
                NR_MAX_MEMBERS);
        return NR_EINVAL;
    }
    int rc = nr_tee_sim_root_pub(root, root_pub);
    if (rc) {
        fprintf(stderr, "narrator: %s: cannot read the attestation root\n", root);
        return rc;
    }
    nr_membership_init(&m, system_id, (uint16_t)n, (uint16_t)(n / 2), root_pub);
    nr_tee_measure(backend, NR_SE_CODE_IDENTITY, meas);
    rc = nr_membership_add_measurement(&m, meas);
    for (unsigned i = 0; i < n && rc == NR_OK; i++) {
        rc = add_member(&m, backend, id_files[i], (uint16_t)i);
        if (rc) {
            fprintf(stderr, "narrator: %s: %s\n", id_files[i], nr_strerror(rc));
        }
    }
    if (rc == NR_OK) {
        rc = nr_membership_verify(&m, backend, NULL, err, sizeof err);
        if (rc) {
            fprintf(stderr, "narrator: membership does not verify: %s\n", err);
        }
    }
    if (rc == NR_OK) {
        rc = nr_membership_save(&m, out);
    }
    return rc;
}

int nr_cmd_genesis(int argc, char **argv)
{
    const char *sys_hex = NULL, *root = NULL, *out = NULL, *backend = "sim";
    int random_id = 0;
    static const struct option longopts[] = {{"system-id", required_argument, NULL, 's'},
                                             {"random", no_argument, NULL, 'r'},
                                             {"root", required_argument, NULL, 'R'},
                                             {"out", required_argument, NULL, 'o'},
                                             {"backend", required_argument, NULL, 'b'},
                                             {NULL, 0, NULL, 0}};
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "s:rR:o:b:", longopts, NULL)) != -1) {
        switch (ch) {
        case 's': sys_hex = optarg; break;
        case 'r': random_id = 1; break;
        case 'R': root = optarg; break;
        case 'o': out = optarg; break;
        case 'b': backend = optarg; break;
        default: return nr_cli_usage("genesis");
        }
    }
    uint8_t sys[NR_SYSTEM_ID_BYTES];
    if (!root || !out || optind >= argc || (!sys_hex == !random_id) ||
        (sys_hex && nr_cli_hex_decode(sys, sizeof sys, sys_hex))) {
        return nr_cli_usage("genesis");
    }
    if (sodium_init() < 0) {
        return NR_CLI_EXIT_FAIL;
    }
    if (random_id) {
        randombytes_buf(sys, sizeof sys);
    }
    int rc = nr_cli_genesis(backend, sys, root, out, argv + optind, (unsigned)(argc - optind));
    if (rc) {
        return nr_cli_fail("genesis", rc);
    }
    char hex[2 * NR_SYSTEM_ID_BYTES + 1];
    nr_cli_hex_encode(hex, sys, sizeof sys);
    printf("system_id %s\nmembers %d\nwrote %s\n", hex, argc - optind, out);
    return NR_CLI_EXIT_OK;
}
