/* TEE interface: measurement, remote attestation, sealing, local attestation.
 *
 * Backends: `sim` (a platform directory stands for a CPU) and `gramine` (real SGX through
 * Gramine's /dev/attestation, tee_gramine.c). Callers use only this header; tee.c dispatches.
 * In both, the enclave is the whole narratord process (docs/threat-model.md): under `gramine`
 * Gramine runs it in an SGX enclave; under `sim` nothing protects it.
 *
 * sim backend, what stands for what:
 *   - attestation root directory: an Ed25519 key pair (root.sk, root.pub) standing for the
 *     vendor's attestation service. Verifiers are configured with root.pub only.
 *   - platform directory (one per "CPU"): a 32-byte platform secret (platform.secret), an
 *     Ed25519 platform key (platform.sk/.pub) and the root's certificate over platform.pub
 *     (platform.cert). Two processes given the same platform directory are two enclave
 *     instances on the same CPU.
 *   - every hash below is domain-separated; exact byte layouts are at the top of tee_sim.c.
 *   - measurement: BLAKE2b-256("narrator-sim-measurement\0" || code identity string).
 *   - platform id: BLAKE2b-256("narrator-sim-platform\0" || platform.pub).
 *   - evidence: {platform.pub, platform.cert, measurement, report_data[64]} signed by
 *     platform.sk; verification checks the certificate chain to the configured root, the
 *     signature, the measurement against an allow-list and the report data.
 *   - sealing key: BLAKE2b-256 keyed by platform.secret over ("seal" || measurement); blobs
 *     are XChaCha20-Poly1305 with the measurement and caller AD authenticated.
 *   - local report (AE -> SE on the same platform): MAC under a key derived from
 *     platform.secret and the *target* enclave's measurement (like SGX EREPORT), so only an
 *     enclave with that measurement on that platform can verify it.
 *
 * gramine backend (platform_dir = Gramine's attestation directory, /dev/attestation;
 * code_identity is not used: the hardware measures the enclave):
 *   - measurement: MRENCLAVE (from my_target_info); nr_tee_measure() cannot compute it from a
 *     name and gives all zeros: allow-lists take MRENCLAVE from `gramine-sgx-sigstruct-view`.
 *   - platform id: BLAKE2b-256("narrator-sgx-platform\0" || PPID of the PCK certificate).
 *   - evidence: the DCAP quote (ECDSA, version 3); verification (dcap.h) pins the root
 *     certificate whose SHA-256 DER fingerprint is policy.root_pub (the Intel SGX Root CA,
 *     NR_DCAP_INTEL_ROOT_FP), allows policy.allowed as MRENCLAVE, refuses debug enclaves
 *     unless policy.allow_debug, and uses the host clock as verification time.
 *   - sealing key: BLAKE2b-256 keyed by keys/_sgx_mrenclave (EGETKEY, MRENCLAVE policy).
 *   - local reports: nr_tee_gramine_report() makes a real SGX REPORT for a target enclave;
 *     verifying one needs the EGETKEY report key, which Gramine does not expose to
 *     applications, so nr_tee_local_report()/nr_tee_local_verify() return NR_ENOTSUP under
 *     gramine. The AE <-> SE channel uses DCAP quotes both ways instead, and both sides
 *     require the other's platform id to equal their own (src/chan/chan.c, docs/sgx.md). */
#ifndef NR_TEE_H
#define NR_TEE_H

#include <stddef.h>
#include <stdint.h>

#include "narrator/errors.h"

#define NR_MEASUREMENT_BYTES 32u
#define NR_PLATFORM_ID_BYTES 32u
#define NR_REPORT_DATA_BYTES 64u
#define NR_EVIDENCE_MAX_BYTES 8192u /* a DCAP quote with its PCK chain: ~4.6 kB */
#define NR_LOCAL_REPORT_BYTES (NR_MEASUREMENT_BYTES + NR_MEASUREMENT_BYTES + NR_REPORT_DATA_BYTES + 32u)
#define NR_SEAL_OVERHEAD 64u /* bytes a sealed blob adds to its plaintext (upper bound) */
#define NR_ATTEST_ROOT_PUB_BYTES 32u
#define NR_MAX_ALLOWED_MEASUREMENTS 8u
#define NR_GRAMINE_TARGET_INFO_BYTES 512u /* SGX TARGETINFO */
#define NR_GRAMINE_REPORT_BYTES 432u      /* SGX REPORT: body (384), key id (32), MAC (16) */
/* sim backend sizes (exact layouts at the top of tee_sim.c). */
#define NR_SIM_EVIDENCE_BYTES 264u
#define NR_SIM_SEAL_OVERHEAD 48u

struct nr_tee; /* an enclave instance on one platform */

#define NR_ATTEST_MAX_CRLS 4u

/* gramine: DCAP collateral for quote verification (src/tee/dcap.h). The bytes are the
 * caller's and must outlive every policy pointing at them. */
struct nr_attest_collateral {
    const uint8_t *crl[NR_ATTEST_MAX_CRLS]; /* DER CRLs (Intel's PCK and root CA CRLs) */
    size_t crl_len[NR_ATTEST_MAX_CRLS];
    unsigned n_crls;
    int require_crl;          /* a current CRL for every CA of the PCK chain is required */
    const uint8_t *tcb_info;  /* Intel's TCB info JSON, or NULL: TCB status not evaluated */
    size_t tcb_info_len;
    const uint8_t *tcb_chain; /* PEM: TCB signing certificate, root CA */
    size_t tcb_chain_len;
    unsigned tcb_allowed;     /* bit (1 << enum nr_dcap_tcb) per accepted status; 0 = UpToDate */
};

/* Verification policy: who we trust. */
struct nr_attest_policy {
    uint8_t root_pub[NR_ATTEST_ROOT_PUB_BYTES];
    uint8_t allowed[NR_MAX_ALLOWED_MEASUREMENTS][NR_MEASUREMENT_BYTES];
    unsigned n_allowed;
    int allow_debug; /* gramine: accept SGX debug enclaves (tests and development only) */
    /* gramine only (the sim backend ignores these): */
    const struct nr_attest_collateral *collateral; /* NULL: no CRL or TCB info check */
    int any_measurement; /* every MRENCLAVE allowed (AEs at their SE: an AE's identity is its
                          * measurement, docs/sgx.md); else n_allowed or check_signer */
    int check_signer;    /* MRSIGNER must equal signer */
    uint8_t signer[NR_MEASUREMENT_BYTES];
};

/* sim provisioning (done once per machine / per platform, by `narrator` tooling). */
int nr_tee_sim_root_create(const char *root_dir) __attribute__((warn_unused_result));
int nr_tee_sim_root_pub(const char *root_dir, uint8_t pub[NR_ATTEST_ROOT_PUB_BYTES])
    __attribute__((warn_unused_result));
int nr_tee_sim_platform_create(const char *platform_dir, const char *root_dir)
    __attribute__((warn_unused_result));

/* Start an enclave instance for `code_identity` (e.g. "narrator-se/1") on the platform. */
int nr_tee_open(struct nr_tee **out, const char *backend, const char *platform_dir,
                const char *code_identity) __attribute__((warn_unused_result));
void nr_tee_close(struct nr_tee *tee);

void nr_tee_measurement(const struct nr_tee *tee, uint8_t out[NR_MEASUREMENT_BYTES]);
void nr_tee_platform_id(const struct nr_tee *tee, uint8_t out[NR_PLATFORM_ID_BYTES]);
/* Measurement that `code_identity` would have (to build allow-lists). */
void nr_tee_measure(const char *backend, const char *code_identity,
                    uint8_t out[NR_MEASUREMENT_BYTES]);
/* Randomness from inside the enclave. */
void nr_tee_random(struct nr_tee *tee, uint8_t *out, size_t len);

/* Seal: out gets len + NR_SEAL_OVERHEAD bytes at most; *out_len is set. `ad` (may be NULL)
 * is authenticated, not stored. Unseal fails with NR_EUNSEAL on another platform, another
 * measurement, different ad, or any tampering. */
int nr_tee_seal(struct nr_tee *tee, const uint8_t *pt, size_t len, const uint8_t *ad,
                size_t ad_len, uint8_t *out, size_t cap, size_t *out_len)
    __attribute__((warn_unused_result));
int nr_tee_unseal(struct nr_tee *tee, const uint8_t *blob, size_t len, const uint8_t *ad,
                  size_t ad_len, uint8_t *pt, size_t cap, size_t *pt_len)
    __attribute__((warn_unused_result));

/* Remote attestation evidence binding 64 bytes of report data. */
int nr_tee_quote(struct nr_tee *tee, const uint8_t report_data[NR_REPORT_DATA_BYTES],
                 uint8_t *evidence, size_t cap, size_t *ev_len) __attribute__((warn_unused_result));
/* Verify evidence (untrusted bytes) against the policy and expected report data. Outputs may
 * be NULL. NR_EATTEST (bad chain/signature/format), NR_EMEASUREMENT (not allowed). */
int nr_tee_verify_evidence(const char *backend, const struct nr_attest_policy *policy,
                           const uint8_t *evidence, size_t ev_len,
                           const uint8_t report_data[NR_REPORT_DATA_BYTES],
                           uint8_t measurement[NR_MEASUREMENT_BYTES],
                           uint8_t platform_id[NR_PLATFORM_ID_BYTES])
    __attribute__((warn_unused_result));

/* Local attestation: a report for the enclave with measurement `target` on this platform. */
int nr_tee_local_report(struct nr_tee *tee, const uint8_t target[NR_MEASUREMENT_BYTES],
                        const uint8_t report_data[NR_REPORT_DATA_BYTES],
                        uint8_t report[NR_LOCAL_REPORT_BYTES]) __attribute__((warn_unused_result));
/* Verify a report targeted at this enclave (untrusted bytes); returns the sender's
 * measurement and report data. NR_EATTEST if it was not made on this platform for us. */
int nr_tee_local_verify(struct nr_tee *tee, const uint8_t report[NR_LOCAL_REPORT_BYTES],
                        uint8_t measurement[NR_MEASUREMENT_BYTES],
                        uint8_t report_data[NR_REPORT_DATA_BYTES])
    __attribute__((warn_unused_result));

/* gramine only (NR_EINVAL for another backend): this enclave's SGX TARGETINFO, for another
 * enclave to target a report at it; and an SGX REPORT for the enclave described by
 * target_info, binding report_data. */
int nr_tee_gramine_target_info(const struct nr_tee *tee, uint8_t out[NR_GRAMINE_TARGET_INFO_BYTES])
    __attribute__((warn_unused_result));
int nr_tee_gramine_report(struct nr_tee *tee,
                          const uint8_t target_info[NR_GRAMINE_TARGET_INFO_BYTES],
                          const uint8_t report_data[NR_REPORT_DATA_BYTES],
                          uint8_t report[NR_GRAMINE_REPORT_BYTES]) __attribute__((warn_unused_result));

#endif
