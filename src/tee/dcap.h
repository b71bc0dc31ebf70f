/* Intel SGX DCAP quote verification: ECDSA quote version 3 with a P-256 attestation key and a
 * PCK certificate chain in its certification data (Intel, "SGX ECDSA Quote Library Reference
 * (DCAP API)", appendix A.4). Verification runs over untrusted bytes and never trusts a root
 * that the quote carries: the chain must end in a certificate whose SHA-256 DER fingerprint is
 * the pinned one (NR_DCAP_INTEL_ROOT_FP for production).
 *
 * Quote layout (all integers little-endian):
 *   off   0  header (48): u16 version (3), u16 attestation key type (2 = ECDSA-256 P-256),
 *            u32 TEE type (0 = SGX), u16 QE SVN, u16 PCE SVN, QE vendor id (16), user data (20)
 *   off  48  ISV enclave report body (384), see NR_DCAP_BODY_* offsets below
 *   off 432  u32 signature data length; exactly the rest of the quote
 *   off 436  signature data:
 *            ISV report signature (64, r || s, big-endian) over bytes [0, 432)
 *            attestation public key (64, x || y)
 *            QE report body (384)
 *            QE report signature (64) by the PCK key over the QE report body
 *            u16 QE authentication data length || QE authentication data
 *            u16 certification data type (5 = PCK chain, PEM) || u32 size || data
 *
 * Checks of nr_dcap_verify, in order (first failure wins):
 *   layout, version, key type, TEE type, QE vendor           NR_ETRUNCATED / NR_EMALFORMED /
 *                                                            NR_EVERSION
 *   PCK chain: PEM certificates (1 + at most 3), the last one's DER fingerprint equals the
 *     pinned one, X.509 path from the leaf to it at the given time   NR_ECERT
 *   CRLs (when given or required): one current CRL for every CA in the path, leaf and
 *     intermediate not revoked, at the given time                    NR_EREVOKED
 *   QE report signature by the PCK leaf key                          NR_EATTEST
 *   QE report data = SHA-256(attestation key || QE auth data) || 32 zero bytes  NR_EATTEST
 *   QE identity: Intel's QE MRSIGNER and ISV product id 1            NR_EATTEST
 *   ISV report signature by the attestation key                      NR_EATTEST
 *   TCB status from TCB info collateral (when given), see below      NR_ETCB / NR_ECERT
 *   enclave policy: not a debug enclave (unless allowed), MRENCLAVE in the allow-list,
 *     MRSIGNER, ISV product id, ISV SVN >= minimum, report data      NR_EMEASUREMENT /
 *                                                                    NR_EATTEST (report data)
 *
 * TCB info collateral (optional): Intel's JSON `{"tcbInfo":{...},"signature":"<hex r||s>"}`
 * (version 2 or 3, id "SGX"), its signing chain in PEM (TCB Signing certificate, then the root
 * CA; the root must have the pinned fingerprint). The signature covers the exact bytes of the
 * tcbInfo value. The FMSPC and PCE id must equal the PCK certificate's, the collateral must be
 * current at the given time, and the status is that of the first TCB level whose 16 SGX
 * component SVNs and PCE SVN are all <= the PCK certificate's. */
#ifndef NR_TEE_DCAP_H
#define NR_TEE_DCAP_H

#include <stddef.h>
#include <stdint.h>

#include "narrator/errors.h"

#define NR_DCAP_QUOTE_MIN_BYTES 1020u   /* header, body, signature data with empty tails */
#define NR_DCAP_QUOTE_MAX_BYTES 8192u   /* larger quotes are refused */
#define NR_DCAP_HEADER_BYTES 48u
#define NR_DCAP_BODY_BYTES 384u
#define NR_DCAP_MAX_CERTS 4u            /* leaf + up to 3 CAs */
#define NR_DCAP_MAX_CRLS 4u
#define NR_DCAP_MAX_MRENCLAVE 8u
#define NR_DCAP_TCB_INFO_MAX_BYTES 65536u
#define NR_DCAP_PPID_BYTES 16u
#define NR_DCAP_FMSPC_BYTES 6u
#define NR_DCAP_CPUSVN_BYTES 16u

/* Offsets in a report body (ISV or QE). */
#define NR_DCAP_BODY_CPUSVN 0u
#define NR_DCAP_BODY_ATTRIBUTES 48u /* u64 flags, u64 xfrm */
#define NR_DCAP_BODY_MRENCLAVE 64u
#define NR_DCAP_BODY_MRSIGNER 128u
#define NR_DCAP_BODY_ISV_PROD_ID 256u
#define NR_DCAP_BODY_ISV_SVN 258u
#define NR_DCAP_BODY_REPORT_DATA 320u
#define NR_DCAP_ATTR_DEBUG 0x2u

/* SHA-256 fingerprint of the Intel SGX Root CA certificate (DER). */
#define NR_DCAP_INTEL_ROOT_FP                                                                      \
    "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3"

/* TCB statuses (bit positions for nr_dcap_policy.tcb_allowed). */
enum nr_dcap_tcb {
    NR_DCAP_TCB_UNKNOWN = 0, /* no collateral given: not evaluated */
    NR_DCAP_TCB_UP_TO_DATE = 1,
    NR_DCAP_TCB_SW_HARDENING_NEEDED = 2,
    NR_DCAP_TCB_CONFIGURATION_NEEDED = 3,
    NR_DCAP_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED = 4,
    NR_DCAP_TCB_OUT_OF_DATE = 5,
    NR_DCAP_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED = 6,
    NR_DCAP_TCB_REVOKED = 7,
};
#define NR_DCAP_TCB_BIT(s) (1u << (unsigned)(s))

struct nr_dcap_blob {
    const uint8_t *data;
    size_t len;
};

struct nr_dcap_policy {
    uint8_t root_fp[32]; /* pinned root: SHA-256 of its DER */
    int64_t time;        /* verification time, seconds since the epoch (UTC) */
    /* Revocation: DER CRLs. With require_crl, a path without a current CRL for every CA is
     * NR_EREVOKED; without it, CRLs are checked only when some are given. */
    struct nr_dcap_blob crls[NR_DCAP_MAX_CRLS];
    unsigned n_crls;
    int require_crl;
    /* TCB info collateral (optional; data NULL = not evaluated). */
    struct nr_dcap_blob tcb_info;       /* JSON */
    struct nr_dcap_blob tcb_sign_chain; /* PEM: TCB signing certificate, root */
    unsigned tcb_allowed;               /* NR_DCAP_TCB_BIT() set; 0 = UP_TO_DATE only */
    /* Enclave policy. */
    uint8_t mrenclave[NR_DCAP_MAX_MRENCLAVE][32];
    unsigned n_mrenclave; /* 0 = any MRENCLAVE (then check_mrsigner or any_mrenclave) */
    int any_mrenclave;    /* with n_mrenclave 0 and no MRSIGNER: every enclave is allowed */
    int check_mrsigner;
    uint8_t mrsigner[32];
    int check_isv_prod_id;
    uint16_t isv_prod_id;
    uint16_t min_isv_svn;
    int allow_debug;
    const uint8_t *report_data; /* 64 bytes, or NULL: not checked */
};

struct nr_dcap_info {
    uint16_t qe_svn, pce_svn;
    uint8_t mrenclave[32], mrsigner[32];
    uint16_t isv_prod_id, isv_svn;
    uint64_t attributes_flags;
    uint8_t report_data[64];
    /* From the PCK certificate's SGX extension. */
    uint8_t ppid[NR_DCAP_PPID_BYTES];
    uint8_t fmspc[NR_DCAP_FMSPC_BYTES];
    uint8_t pce_id[2];
    uint8_t cpusvn[NR_DCAP_CPUSVN_BYTES]; /* TCB components from the certificate */
    uint16_t cert_pce_svn;
    int tcb_status; /* enum nr_dcap_tcb */
};

/* Parsed view of a quote (pointers into the caller's bytes). */
struct nr_dcap_quote {
    const uint8_t *header, *body;       /* 48, 384 */
    const uint8_t *isv_sig, *att_key;   /* 64, 64 */
    const uint8_t *qe_body, *qe_sig;    /* 384, 64 */
    const uint8_t *qe_auth;
    size_t qe_auth_len;
    uint16_t cert_type;
    const uint8_t *cert_data;
    size_t cert_len;
};

/* Layout only: no cryptography. */
int nr_dcap_parse(struct nr_dcap_quote *q, const uint8_t *quote, size_t len)
    __attribute__((warn_unused_result));

/* Full verification against the policy. `info` (may be NULL) is filled as far as parsing got;
 * it is only meaningful on NR_OK. `err` (may be NULL) gets one line naming the failed check. */
int nr_dcap_verify(struct nr_dcap_info *info, const struct nr_dcap_policy *policy,
                   const uint8_t *quote, size_t len, char *err, size_t err_cap)
    __attribute__((warn_unused_result));

/* The quote's enclave fields and its PCK certificate's SGX extension (PPID, FMSPC, TCB), from
 * layout and certificate parsing only: NO signature or chain is checked. For an enclave to
 * learn its own platform's PPID from its own quote; never for a peer's quote. */
int nr_dcap_pck_info(struct nr_dcap_info *info, const uint8_t *quote, size_t len)
    __attribute__((warn_unused_result));

/* Collateral files, checked when loaded (the verifier checks them again, with signatures,
 * against each quote): one DER CRL; Intel's TCB info JSON (layout, id "SGX", version 2 or
 * 3, hex signature); a PEM chain of 1..NR_DCAP_MAX_CERTS certificates. NR_EMALFORMED with
 * a one-line reason in err. */
int nr_dcap_check_crl(const uint8_t *der, size_t len, char *err, size_t err_cap)
    __attribute__((warn_unused_result));
int nr_dcap_check_tcb_info(const uint8_t *json, size_t len, char *err, size_t err_cap)
    __attribute__((warn_unused_result));
int nr_dcap_check_pem_chain(const uint8_t *pem, size_t len, char *err, size_t err_cap)
    __attribute__((warn_unused_result));

/* Parse 64 hex digits (a fingerprint) into out. NR_EINVAL if not exactly that. */
int nr_dcap_hex32(uint8_t out[32], const char *hex) __attribute__((warn_unused_result));

#endif
