/* TEE interface, `gramine` backend: real SGX through Gramine's /dev/attestation pseudo-files
 * (see tee.h). narratord runs whole inside Gramine, so this code, the channels and the core are
 * in the enclave; the directory it reads is Gramine's, served by the enclave's library OS.
 *
 * No SGX machine was available to this project: the backend is tested against a directory that
 * stands for /dev/attestation (test/unit/test_tee_gramine.c), with the real DCAP quote of
 * ../shared/vectors/sgx/ as the "quote" file. docs/sgx.md says how to run it on SGX.
 *
 * Files used, under `dir` (Gramine's /dev/attestation):
 *   attestation_type       read: must be "dcap"
 *   my_target_info         read: 512 bytes, SGX TARGETINFO; MRENCLAVE at offset 0
 *   keys/_sgx_mrenclave    read: 16 bytes, EGETKEY seal key bound to MRENCLAVE and this CPU
 *   user_report_data       write: 64 bytes, then
 *   quote                  read: the DCAP quote over a report with that report data
 *   target_info, report    write 512 bytes, then read 432: an SGX REPORT for that target
 *
 * Measurement: MRENCLAVE. Platform id: BLAKE2b-256("narrator-sgx-platform\0" || PPID), the PPID
 * taken from the PCK certificate in a quote (the quote is verified against the policy by the
 * peers; at open, our own quote is parsed only, to learn our platform id).
 *
 * Sealed blob (plaintext length + NR_SIM_SEAL_OVERHEAD = 48), like the sim backend's:
 *   off 0   magic "NRSG" (4), u16 version (1), u16 reserved (0)
 *   off 8   nonce (24, random)
 *   off 32  XChaCha20-Poly1305 ciphertext || tag (16)
 *   key = BLAKE2b-256(key = keys/_sgx_mrenclave, "narrator-sgx-seal\0" || MRENCLAVE)
 *   AD  = header (8) || MRENCLAVE (32) || BLAKE2b-256("narrator-sgx-seal-ad\0" || ad)
 *
 * Evidence: the DCAP quote itself (at most NR_EVIDENCE_MAX_BYTES), verified by dcap.c with
 * the policy's root_pub as the pinned root certificate fingerprint, the policy's allowed
 * measurements as MRENCLAVE allow-list (or any MRENCLAVE with any_measurement), its signer as
 * MRSIGNER (with check_signer), its collateral (CRLs, TCB info and the accepted TCB
 * statuses; none when NULL), and the host's clock as verification time (the OS controls that
 * clock; docs/threat-model.md). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "tee/dcap.h"
#include "tee/file.h"
#include "tee/seal.h"
#include "tee/tee_backend.h"

#define GR_VERSION 1u
#define GR_PATH_MAX 512u

_Static_assert(NR_DCAP_QUOTE_MAX_BYTES <= NR_EVIDENCE_MAX_BYTES, "a quote fits the evidence");

static const char seal_domain[] = "narrator-sgx-seal";
static const char seal_ad_domain[] = "narrator-sgx-seal-ad";
static const char plat_domain[] = "narrator-sgx-platform";

struct nr_tee_gramine {
    char dir[GR_PATH_MAX];
    uint8_t seal_root[NR_GRAMINE_SEAL_KEY_BYTES];
    uint8_t target_info[NR_GRAMINE_TARGET_INFO_BYTES];
    uint8_t measurement[NR_MEASUREMENT_BYTES];
    uint8_t platform_id[NR_PLATFORM_ID_BYTES];
};


/* Pseudo-files are written with one write() of the whole value, as Gramine expects. */
static int pf_write(const struct nr_tee_gramine *g, const char *name, const uint8_t *data,
                    size_t len)
{
    char path[GR_PATH_MAX + 32];
    int rc = nr_path_join(path, sizeof path, g->dir, name);
    if (rc != NR_OK)
        return rc;
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return NR_EIO;
    ssize_t n;
    do {
        n = write(fd, data, len);
    } while (n < 0 && errno == EINTR);
    int crc = close(fd);
    return n == (ssize_t)len && crc == 0 ? NR_OK : NR_EIO;
}

static int pf_read(const struct nr_tee_gramine *g, const char *name, uint8_t *out, size_t cap,
                   size_t *out_len)
{
    char path[GR_PATH_MAX + 32];
    int rc = nr_path_join(path, sizeof path, g->dir, name);
    if (rc != NR_OK)
        return rc;
    return nr_file_read(path, out, cap, out_len);
}

static void platform_id_of_ppid(uint8_t out[NR_PLATFORM_ID_BYTES],
                                const uint8_t ppid[NR_DCAP_PPID_BYTES])
{
    nr_tee_hash_dom(out, NULL, 0, plat_domain, ppid, NR_DCAP_PPID_BYTES);
}

int nr_gramine_open(struct nr_tee_gramine **out, const char *dir)
{
    uint8_t type[16], rd[NR_REPORT_DATA_BYTES] = {0};
    uint8_t *quote = NULL;
    size_t n = 0, qlen = 0;
    struct nr_dcap_info info;
    int rc;
    *out = NULL;
    if (!dir || strlen(dir) >= GR_PATH_MAX)
        return NR_EINVAL;
    if (sodium_init() < 0)
        return NR_EIO;
    struct nr_tee_gramine *g = calloc(1, sizeof *g);
    if (!g)
        return NR_ENOMEM;
    memcpy(g->dir, dir, strlen(dir) + 1);
    /* Gramine with sgx.remote_attestation = "dcap". */
    if ((rc = pf_read(g, "attestation_type", type, sizeof type, &n)) != NR_OK)
        goto fail;
    while (n && (type[n - 1] == '\n' || type[n - 1] == 0))
        n--;
    if (n != 4 || memcmp(type, "dcap", 4) != 0) {
        rc = NR_ECONFIG;
        goto fail;
    }
    if ((rc = pf_read(g, "my_target_info", g->target_info, sizeof g->target_info, &n)) != NR_OK)
        goto fail;
    if (n != NR_GRAMINE_TARGET_INFO_BYTES) {
        rc = NR_EMALFORMED;
        goto fail;
    }
    memcpy(g->measurement, g->target_info, NR_MEASUREMENT_BYTES); /* TARGETINFO.MRENCLAVE */
    if ((rc = pf_read(g, "keys/_sgx_mrenclave", g->seal_root, sizeof g->seal_root, &n)) !=
        NR_OK)
        goto fail;
    if (n != NR_GRAMINE_SEAL_KEY_BYTES) {
        rc = NR_EMALFORMED;
        goto fail;
    }
    /* Our platform id, from our own quote's PCK certificate. */
    if (!(quote = malloc(NR_DCAP_QUOTE_MAX_BYTES))) {
        rc = NR_ENOMEM;
        goto fail;
    }
    if ((rc = nr_gramine_quote(g, rd, quote, NR_DCAP_QUOTE_MAX_BYTES, &qlen)) != NR_OK)
        goto fail;
    if ((rc = nr_dcap_pck_info(&info, quote, qlen)) != NR_OK)
        goto fail;
    if (sodium_memcmp(info.mrenclave, g->measurement, NR_MEASUREMENT_BYTES) != 0) {
        rc = NR_EATTEST; /* the quote is not about this enclave */
        goto fail;
    }
    platform_id_of_ppid(g->platform_id, info.ppid);
    free(quote);
    *out = g;
    return NR_OK;
fail:
    free(quote);
    sodium_memzero(g, sizeof *g);
    free(g);
    return rc;
}

void nr_gramine_close(struct nr_tee_gramine *g)
{
    if (!g)
        return;
    sodium_memzero(g, sizeof *g);
    free(g);
}

void nr_gramine_measurement(const struct nr_tee_gramine *g, uint8_t out[NR_MEASUREMENT_BYTES])
{
    memcpy(out, g->measurement, NR_MEASUREMENT_BYTES);
}

void nr_gramine_platform_id(const struct nr_tee_gramine *g, uint8_t out[NR_PLATFORM_ID_BYTES])
{
    memcpy(out, g->platform_id, NR_PLATFORM_ID_BYTES);
}

/* ---- sealing (blob format: seal.h; the root is the MRENCLAVE sealing key) ---- */

static const struct nr_seal_format gramine_seal = {
    .magic = {'N', 'R', 'S', 'G'}, .version = GR_VERSION,
    .key_domain = seal_domain, .ad_domain = seal_ad_domain};

int nr_gramine_seal(struct nr_tee_gramine *g, const uint8_t *pt, size_t len, const uint8_t *ad,
                    size_t ad_len, uint8_t *out, size_t cap, size_t *out_len)
{
    return nr_tee_seal_blob(&gramine_seal, g->seal_root, sizeof g->seal_root, g->measurement,
                            pt, len, ad, ad_len, out, cap, out_len);
}

int nr_gramine_unseal(struct nr_tee_gramine *g, const uint8_t *blob, size_t len,
                      const uint8_t *ad, size_t ad_len, uint8_t *pt, size_t cap, size_t *pt_len)
{
    return nr_tee_unseal_blob(&gramine_seal, g->seal_root, sizeof g->seal_root, g->measurement,
                              blob, len, ad, ad_len, pt, cap, pt_len);
}

/* ---- attestation ---- */

int nr_gramine_quote(struct nr_tee_gramine *g, const uint8_t report_data[NR_REPORT_DATA_BYTES],
                     uint8_t *evidence, size_t cap, size_t *ev_len)
{
    size_t n = 0;
    *ev_len = 0;
    int rc = pf_write(g, "user_report_data", report_data, NR_REPORT_DATA_BYTES);
    if (rc != NR_OK)
        return rc;
    rc = pf_read(g, "quote", evidence, cap, &n);
    if (rc == NR_ETOOBIG)
        return NR_EFULL;
    if (rc != NR_OK)
        return rc;
    if (n < NR_DCAP_QUOTE_MIN_BYTES)
        return NR_EATTEST; /* no quote: is sgx.remote_attestation = "dcap" set? */
    *ev_len = n;
    return NR_OK;
}

int nr_gramine_verify_evidence(const struct nr_attest_policy *policy, const uint8_t *evidence,
                               size_t ev_len, const uint8_t report_data[NR_REPORT_DATA_BYTES],
                               uint8_t measurement[NR_MEASUREMENT_BYTES],
                               uint8_t platform_id[NR_PLATFORM_ID_BYTES])
{
    struct nr_dcap_policy p;
    struct nr_dcap_info info;
    memset(&p, 0, sizeof p);
    _Static_assert(sizeof p.root_fp == NR_ATTEST_ROOT_PUB_BYTES, "root fingerprint size");
    memcpy(p.root_fp, policy->root_pub, sizeof p.root_fp);
    p.time = (int64_t)time(NULL);
    unsigned k = policy->n_allowed < NR_DCAP_MAX_MRENCLAVE ? policy->n_allowed
                                                            : NR_DCAP_MAX_MRENCLAVE;
    for (unsigned i = 0; i < k; i++)
        memcpy(p.mrenclave[i], policy->allowed[i], NR_MEASUREMENT_BYTES);
    p.n_mrenclave = k;
    p.any_mrenclave = k == 0 && policy->any_measurement;
    p.check_mrsigner = policy->check_signer;
    memcpy(p.mrsigner, policy->signer, sizeof p.mrsigner);
    if (k == 0 && !p.any_mrenclave && !p.check_mrsigner)
        return NR_EMEASUREMENT; /* nothing is allowed */
    p.allow_debug = policy->allow_debug;
    const struct nr_attest_collateral *c = policy->collateral;
    if (c) {
        _Static_assert(NR_ATTEST_MAX_CRLS <= NR_DCAP_MAX_CRLS, "CRL count");
        unsigned nc = c->n_crls < NR_ATTEST_MAX_CRLS ? c->n_crls : NR_ATTEST_MAX_CRLS;
        for (unsigned i = 0; i < nc; i++) {
            p.crls[i].data = c->crl[i];
            p.crls[i].len = c->crl_len[i];
        }
        p.n_crls = nc;
        p.require_crl = c->require_crl;
        if (c->tcb_info && c->tcb_info_len) {
            p.tcb_info.data = c->tcb_info;
            p.tcb_info.len = c->tcb_info_len;
            p.tcb_sign_chain.data = c->tcb_chain;
            p.tcb_sign_chain.len = c->tcb_chain_len;
            p.tcb_allowed = c->tcb_allowed;
        }
    }
    p.report_data = report_data;
    int rc = nr_dcap_verify(&info, &p, evidence, ev_len, NULL, 0);
    if (rc != NR_OK) {
        /* Layout errors of evidence are attestation failures to the channel. */
        if (rc == NR_ETRUNCATED || rc == NR_EMALFORMED || rc == NR_ETOOBIG || rc == NR_EVERSION)
            return NR_EATTEST;
        return rc;
    }
    if (measurement)
        memcpy(measurement, info.mrenclave, NR_MEASUREMENT_BYTES);
    if (platform_id)
        platform_id_of_ppid(platform_id, info.ppid);
    return NR_OK;
}

/* ---- local reports (EREPORT through target_info / report) ---- */

int nr_tee_gramine_report(struct nr_tee *tee,
                          const uint8_t target_info[NR_GRAMINE_TARGET_INFO_BYTES],
                          const uint8_t report_data[NR_REPORT_DATA_BYTES],
                          uint8_t report[NR_GRAMINE_REPORT_BYTES])
{
    struct nr_tee_gramine *g = nr_tee_gramine_of(tee);
    size_t n = 0;
    if (!g || !target_info || !report_data || !report)
        return NR_EINVAL;
    int rc = pf_write(g, "target_info", target_info, NR_GRAMINE_TARGET_INFO_BYTES);
    if (rc == NR_OK)
        rc = pf_write(g, "user_report_data", report_data, NR_REPORT_DATA_BYTES);
    if (rc == NR_OK)
        rc = pf_read(g, "report", report, NR_GRAMINE_REPORT_BYTES, &n);
    if (rc == NR_ETOOBIG)
        return NR_EMALFORMED;
    if (rc != NR_OK)
        return rc;
    return n == NR_GRAMINE_REPORT_BYTES ? NR_OK : NR_EMALFORMED;
}

int nr_tee_gramine_target_info(const struct nr_tee *tee,
                               uint8_t out[NR_GRAMINE_TARGET_INFO_BYTES])
{
    const struct nr_tee_gramine *g = nr_tee_gramine_of((struct nr_tee *)(uintptr_t)tee);
    if (!g || !out)
        return NR_EINVAL;
    memcpy(out, g->target_info, NR_GRAMINE_TARGET_INFO_BYTES);
    return NR_OK;
}
