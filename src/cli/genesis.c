/* narrator genesis (--system-id HEX | --random) (--root ROOTDIR | --attestation-root HEX)
 *                  [--measurement HEX | --sigstruct FILE]... --out FILE [--backend sim|gramine]
 *                  IDENTITY_FILES...
 * --root is the sim attestation root directory; --attestation-root the 64-hex SHA-256
 * fingerprint of the pinned root certificate (gramine; default the Intel SGX Root CA).
 * --measurement / --sigstruct (repeatable, at most 8) give the allowed SE measurements
 * (gramine: MRENCLAVE, as a hex value or read from narratord's Gramine .sig file); without
 * them the backend's measurement of the SE code identity is used (sim only).
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
    return nr_cli_genesis_ex(backend, system_id, root, NULL, NULL, 0, out, id_files, n);
}

int nr_cli_genesis_ex(const char *backend, const uint8_t system_id[NR_SYSTEM_ID_BYTES],
                      const char *root, const uint8_t *root_pub_in,
                      const uint8_t (*meas_in)[NR_MEASUREMENT_BYTES], unsigned n_meas,
                      const char *out, char **id_files, unsigned n)
{
    static struct nr_membership m; /* large */
    uint8_t root_pub[NR_ATTEST_ROOT_PUB_BYTES], meas[NR_MEASUREMENT_BYTES];
    char err[NR_MEMBERSHIP_ERR_BYTES];
    if (n == 0 || n > NR_MAX_MEMBERS || n % 2 == 0) {
        fprintf(stderr, "narrator: genesis needs an odd number n = 2f+1 of identities (1..%u)\n",
                NR_MAX_MEMBERS);
        return NR_EINVAL;
    }
    int rc = NR_OK;
    if (n_meas > NR_MAX_ALLOWED_MEASUREMENTS || (!root == !root_pub_in)) {
        return NR_EINVAL;
    }
    if (root_pub_in) {
        memcpy(root_pub, root_pub_in, sizeof root_pub);
    } else if ((rc = nr_tee_sim_root_pub(root, root_pub)) != NR_OK) {
        fprintf(stderr, "narrator: %s: cannot read the attestation root\n", root);
        return rc;
    }
    nr_membership_init(&m, system_id, (uint16_t)n, (uint16_t)(n / 2), root_pub);
    if (n_meas == 0) {
        nr_tee_measure(backend, NR_SE_CODE_IDENTITY, meas);
        rc = nr_membership_add_measurement(&m, meas);
    }
    for (unsigned i = 0; i < n_meas && rc == NR_OK; i++) {
        rc = nr_membership_add_measurement(&m, meas_in[i]);
    }
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
    const char *root_hex = NULL;
    int random_id = 0, bad = 0;
    static uint8_t meas[NR_MAX_ALLOWED_MEASUREMENTS][NR_MEASUREMENT_BYTES];
    unsigned n_meas = 0;
    uint8_t signer[32];
    static const struct option longopts[] = {{"system-id", required_argument, NULL, 's'},
                                             {"random", no_argument, NULL, 'r'},
                                             {"root", required_argument, NULL, 'R'},
                                             {"out", required_argument, NULL, 'o'},
                                             {"backend", required_argument, NULL, 'b'},
                                             {"measurement", required_argument, NULL, 'm'},
                                             {"sigstruct", required_argument, NULL, 'S'},
                                             {"attestation-root", required_argument, NULL, 'A'},
                                             {NULL, 0, NULL, 0}};
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "s:rR:o:b:m:S:A:", longopts, NULL)) != -1) {
        switch (ch) {
        case 's': sys_hex = optarg; break;
        case 'r': random_id = 1; break;
        case 'R': root = optarg; break;
        case 'o': out = optarg; break;
        case 'b': backend = optarg; break;
        case 'A': root_hex = optarg; break;
        case 'm':
        case 'S':
            if (n_meas >= NR_MAX_ALLOWED_MEASUREMENTS) {
                fprintf(stderr, "narrator: at most %u measurements\n",
                        NR_MAX_ALLOWED_MEASUREMENTS);
                bad = 1;
            } else if (ch == 'm' && nr_cli_hex_decode(meas[n_meas], NR_MEASUREMENT_BYTES, optarg)) {
                fprintf(stderr, "narrator: --measurement: expected 64 hex digits\n");
                bad = 1;
            } else if (ch == 'S' && nr_cli_sigstruct(optarg, meas[n_meas], signer) != NR_OK) {
                fprintf(stderr, "narrator: --sigstruct %s: not a Gramine .sig (SGX SIGSTRUCT)\n",
                        optarg);
                bad = 1;
            } else {
                n_meas++;
            }
            break;
        default: return nr_cli_usage("genesis");
        }
    }
    uint8_t sys[NR_SYSTEM_ID_BYTES], root_pub[NR_ATTEST_ROOT_PUB_BYTES];
    int gramine = strcmp(backend, "gramine") == 0;
    if (bad || !out || optind >= argc || (!sys_hex == !random_id) ||
        (sys_hex && nr_cli_hex_decode(sys, sizeof sys, sys_hex))) {
        return nr_cli_usage("genesis");
    }
    /* sim: --root ROOTDIR. gramine: --attestation-root HEX (default: the Intel SGX Root CA's
     * fingerprint) and --measurement / --sigstruct (MRENCLAVE) required. */
    if (root && root_hex) {
        fprintf(stderr, "narrator: give --root (sim) or --attestation-root, not both\n");
        return nr_cli_usage("genesis");
    }
    if (!root && !root_hex && !gramine) {
        return nr_cli_usage("genesis");
    }
    if (gramine && n_meas == 0) {
        fprintf(stderr, "narrator: --backend gramine needs --measurement HEX or --sigstruct "
                        "FILE (MRENCLAVE, from gramine-sgx-sigstruct-view)\n");
        return nr_cli_usage("genesis");
    }
    if (!root && nr_cli_hex_decode(root_pub, sizeof root_pub,
                                   root_hex ? root_hex : NR_CLI_INTEL_ROOT_FP)) {
        fprintf(stderr, "narrator: --attestation-root: expected 64 hex digits\n");
        return nr_cli_usage("genesis");
    }
    if (sodium_init() < 0) {
        return NR_CLI_EXIT_FAIL;
    }
    if (random_id) {
        randombytes_buf(sys, sizeof sys);
    }
    int rc = nr_cli_genesis_ex(backend, sys, root, root ? NULL : root_pub,
                               (const uint8_t(*)[NR_MEASUREMENT_BYTES])meas, n_meas, out,
                               argv + optind, (unsigned)(argc - optind));
    if (rc) {
        return nr_cli_fail("genesis", rc);
    }
    char hex[2 * NR_SYSTEM_ID_BYTES + 1];
    nr_cli_hex_encode(hex, sys, sizeof sys);
    printf("system_id %s\nmembers %d\n", hex, argc - optind);
    for (unsigned i = 0; i < n_meas; i++) {
        char mh[2 * NR_MEASUREMENT_BYTES + 1];
        nr_cli_hex_encode(mh, meas[i], NR_MEASUREMENT_BYTES);
        printf("measurement %s\n", mh);
    }
    printf("wrote %s\n", out);
    return NR_CLI_EXIT_OK;
}
