/* TEE interface, `sim` backend: a platform directory stands for a CPU (see tee.h).
 *
 * Byte layouts of the sim backend (all fixed width):
 *
 *   root dir:      root.sk (64, Ed25519 secret key), root.pub (32)
 *   platform dir:  platform.secret (32), platform.sk (64), platform.pub (32),
 *                  platform.cert (64) = Ed25519 signature by root.sk over
 *                                       "narrator-sim-cert\0" || platform.pub
 *
 *   evidence (NR_SIM_EVIDENCE_BYTES = 264):
 *     off   0  magic "NREV" (4)
 *     off   4  u16 version (1), u16 reserved (0)       -- little-endian
 *     off   8  platform.pub (32)
 *     off  40  platform.cert (64)
 *     off 104  measurement (32)
 *     off 136  report_data (64)
 *     off 200  Ed25519 signature by platform.sk over "narrator-sim-evidence\0" || bytes [0,200)
 *
 *   sealed blob (plaintext length + NR_SIM_SEAL_OVERHEAD = 48):
 *     off 0   magic "NRSL" (4), u16 version (1), u16 reserved (0)
 *     off 8   nonce (24, random)
 *     off 32  XChaCha20-Poly1305 ciphertext || tag (16)
 *     key = BLAKE2b-256(key = platform.secret, "narrator-sim-seal\0" || measurement)
 *     AD  = header (8) || measurement (32) || BLAKE2b-256("narrator-sim-seal-ad\0" || ad)
 *
 *   local report (NR_LOCAL_REPORT_BYTES = 160):
 *     off 0   target measurement (32)
 *     off 32  sender measurement (32)
 *     off 64  report_data (64)
 *     off 128 MAC (32) = BLAKE2b-256(key = report key, "narrator-sim-report\0" || bytes [0,128))
 *     report key = BLAKE2b-256(key = platform.secret, "narrator-sim-report-key\0" || target)
 *
 * tee.c dispatches the interface of tee.h to this backend ("sim") or to tee_gramine.c. */
#include "tee/tee_backend.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "tee/file.h"
#include "tee/seal.h"

#define SIM_MAGIC_EVIDENCE "NREV"
#define SIM_VERSION 1u
#define SIM_SECRET_BYTES 32u
#define SIM_CERT_BYTES crypto_sign_BYTES
#define SIM_EV_PUB_OFF 8u
#define SIM_EV_CERT_OFF (SIM_EV_PUB_OFF + crypto_sign_PUBLICKEYBYTES)
#define SIM_EV_MEAS_OFF (SIM_EV_CERT_OFF + SIM_CERT_BYTES)
#define SIM_EV_RD_OFF (SIM_EV_MEAS_OFF + NR_MEASUREMENT_BYTES)
#define SIM_EV_SIG_OFF (SIM_EV_RD_OFF + NR_REPORT_DATA_BYTES)
#define SIM_REP_TARGET_OFF 0u
#define SIM_REP_SENDER_OFF 32u
#define SIM_REP_RD_OFF 64u
#define SIM_REP_MAC_OFF 128u

_Static_assert(SIM_EV_SIG_OFF + crypto_sign_BYTES == NR_SIM_EVIDENCE_BYTES, "evidence layout");
_Static_assert(NR_SIM_EVIDENCE_BYTES <= NR_EVIDENCE_MAX_BYTES, "evidence fits");
_Static_assert(SIM_REP_MAC_OFF + 32u == NR_LOCAL_REPORT_BYTES, "report layout");

static const char cert_domain[] = "narrator-sim-cert"; /* signed with its NUL */
static const char ev_domain[] = "narrator-sim-evidence";
static const char seal_domain[] = "narrator-sim-seal";
static const char seal_ad_domain[] = "narrator-sim-seal-ad";
static const char rep_domain[] = "narrator-sim-report";
static const char rep_key_domain[] = "narrator-sim-report-key";
static const char meas_domain[] = "narrator-sim-measurement";
static const char plat_domain[] = "narrator-sim-platform";

struct nr_tee_sim {
    uint8_t secret[SIM_SECRET_BYTES];
    uint8_t sk[crypto_sign_SECRETKEYBYTES];
    uint8_t pub[crypto_sign_PUBLICKEYBYTES];
    uint8_t cert[SIM_CERT_BYTES];
    uint8_t measurement[NR_MEASUREMENT_BYTES];
    uint8_t platform_id[NR_PLATFORM_ID_BYTES];
};

static int is_sim(const char *backend)
{
    return backend && strcmp(backend, "sim") == 0;
}

static int ensure_sodium(void)
{
    return sodium_init() < 0 ? NR_EIO : NR_OK;
}

static int ensure_dir(const char *dir)
{
    if (mkdir(dir, 0700) == 0)
        return NR_OK;
    if (errno != EEXIST)
        return NR_EIO;
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return NR_EIO;
    return NR_OK;
}


static void cert_message(uint8_t msg[sizeof cert_domain + crypto_sign_PUBLICKEYBYTES],
                         const uint8_t pub[crypto_sign_PUBLICKEYBYTES])
{
    memcpy(msg, cert_domain, sizeof cert_domain);
    memcpy(msg + sizeof cert_domain, pub, crypto_sign_PUBLICKEYBYTES);
}

static void platform_id_of(uint8_t out[NR_PLATFORM_ID_BYTES],
                           const uint8_t pub[crypto_sign_PUBLICKEYBYTES])
{
    nr_tee_hash_dom(out, NULL, 0, plat_domain, pub, crypto_sign_PUBLICKEYBYTES);
}

/* ---- provisioning ---- */

int nr_tee_sim_root_create(const char *root_dir)
{
    char p_sk[4096], p_pub[4096];
    uint8_t sk[crypto_sign_SECRETKEYBYTES], pub[crypto_sign_PUBLICKEYBYTES];
    int rc;
    if (!root_dir)
        return NR_EINVAL;
    if ((rc = ensure_sodium()) != NR_OK)
        return rc;
    if ((rc = nr_path_join(p_sk, sizeof p_sk, root_dir, "root.sk")) != NR_OK ||
        (rc = nr_path_join(p_pub, sizeof p_pub, root_dir, "root.pub")) != NR_OK)
        return rc;
    if ((rc = ensure_dir(root_dir)) != NR_OK)
        return rc;
    if (nr_file_exists(p_sk) || nr_file_exists(p_pub))
        return NR_EEXIST;
    crypto_sign_keypair(pub, sk);
    rc = nr_file_write_atomic(p_pub, pub, sizeof pub);
    if (rc == NR_OK)
        rc = nr_file_write_atomic(p_sk, sk, sizeof sk);
    sodium_memzero(sk, sizeof sk);
    return rc;
}

int nr_tee_sim_root_pub(const char *root_dir, uint8_t pub[NR_ATTEST_ROOT_PUB_BYTES])
{
    char path[4096];
    int rc;
    if (!root_dir || !pub)
        return NR_EINVAL;
    if ((rc = nr_path_join(path, sizeof path, root_dir, "root.pub")) != NR_OK)
        return rc;
    return nr_file_read_exact(path, pub, NR_ATTEST_ROOT_PUB_BYTES);
}

int nr_tee_sim_platform_create(const char *platform_dir, const char *root_dir)
{
    static const char *const names[] = {"platform.secret", "platform.sk", "platform.pub",
                                        "platform.cert"};
    char paths[4][4096], root_sk_path[4096];
    uint8_t root_sk[crypto_sign_SECRETKEYBYTES];
    uint8_t secret[SIM_SECRET_BYTES], sk[crypto_sign_SECRETKEYBYTES];
    uint8_t pub[crypto_sign_PUBLICKEYBYTES], cert[SIM_CERT_BYTES];
    uint8_t msg[sizeof cert_domain + crypto_sign_PUBLICKEYBYTES];
    int rc;
    if (!platform_dir || !root_dir)
        return NR_EINVAL;
    if ((rc = ensure_sodium()) != NR_OK)
        return rc;
    for (size_t i = 0; i < 4; i++) {
        if ((rc = nr_path_join(paths[i], sizeof paths[i], platform_dir, names[i])) != NR_OK)
            return rc;
    }
    if ((rc = nr_path_join(root_sk_path, sizeof root_sk_path, root_dir, "root.sk")) != NR_OK)
        return rc;
    rc = nr_file_read_exact(root_sk_path, root_sk, sizeof root_sk);
    if (rc != NR_OK)
        goto out;
    if ((rc = ensure_dir(platform_dir)) != NR_OK)
        goto out;
    for (size_t i = 0; i < 4; i++) {
        if (nr_file_exists(paths[i])) {
            rc = NR_EEXIST;
            goto out;
        }
    }
    randombytes_buf(secret, sizeof secret);
    crypto_sign_keypair(pub, sk);
    cert_message(msg, pub);
    crypto_sign_detached(cert, NULL, msg, sizeof msg, root_sk);
    /* The secret last: a platform directory without it does not open. */
    if ((rc = nr_file_write_atomic(paths[2], pub, sizeof pub)) != NR_OK ||
        (rc = nr_file_write_atomic(paths[3], cert, sizeof cert)) != NR_OK ||
        (rc = nr_file_write_atomic(paths[1], sk, sizeof sk)) != NR_OK ||
        (rc = nr_file_write_atomic(paths[0], secret, sizeof secret)) != NR_OK)
        goto out;
out:
    sodium_memzero(root_sk, sizeof root_sk);
    sodium_memzero(secret, sizeof secret);
    sodium_memzero(sk, sizeof sk);
    return rc;
}

/* ---- instances ---- */

void nr_sim_measure(const char *backend, const char *code_identity,
                    uint8_t out[NR_MEASUREMENT_BYTES])
{
    if (!is_sim(backend) || !code_identity || sodium_init() < 0) {
        memset(out, 0, NR_MEASUREMENT_BYTES); /* no such backend: an all-zero measurement */
        return;
    }
    nr_tee_hash_dom(out, NULL, 0, meas_domain, (const uint8_t *)code_identity, strlen(code_identity));
}

int nr_sim_open(struct nr_tee_sim **out, const char *backend, const char *platform_dir,
                const char *code_identity)
{
    char p_secret[4096], p_sk[4096], p_pub[4096], p_cert[4096];
    struct nr_tee_sim *t = NULL;
    int rc;
    if (!out || !platform_dir || !code_identity)
        return NR_EINVAL;
    *out = NULL;
    if (!is_sim(backend))
        return NR_EINVAL; /* "gramine" is the next backend; not built yet */
    if ((rc = ensure_sodium()) != NR_OK)
        return rc;
    if ((rc = nr_path_join(p_secret, sizeof p_secret, platform_dir, "platform.secret")) != NR_OK ||
        (rc = nr_path_join(p_sk, sizeof p_sk, platform_dir, "platform.sk")) != NR_OK ||
        (rc = nr_path_join(p_pub, sizeof p_pub, platform_dir, "platform.pub")) != NR_OK ||
        (rc = nr_path_join(p_cert, sizeof p_cert, platform_dir, "platform.cert")) != NR_OK)
        return rc;
    t = calloc(1, sizeof *t);
    if (!t)
        return NR_ENOMEM;
    if ((rc = nr_file_read_exact(p_secret, t->secret, sizeof t->secret)) != NR_OK ||
        (rc = nr_file_read_exact(p_sk, t->sk, sizeof t->sk)) != NR_OK ||
        (rc = nr_file_read_exact(p_pub, t->pub, sizeof t->pub)) != NR_OK ||
        (rc = nr_file_read_exact(p_cert, t->cert, sizeof t->cert)) != NR_OK)
        goto fail;
    /* libsodium's Ed25519 secret key carries its public key in the upper half. */
    if (sodium_memcmp(t->sk + 32, t->pub, sizeof t->pub) != 0) {
        rc = NR_ECONFIG;
        goto fail;
    }
    nr_sim_measure(backend, code_identity, t->measurement);
    platform_id_of(t->platform_id, t->pub);
    *out = t;
    return NR_OK;
fail:
    sodium_memzero(t, sizeof *t);
    free(t);
    return rc;
}

void nr_sim_close(struct nr_tee_sim *tee)
{
    if (!tee)
        return;
    sodium_memzero(tee, sizeof *tee);
    free(tee);
}

void nr_sim_measurement(const struct nr_tee_sim *tee, uint8_t out[NR_MEASUREMENT_BYTES])
{
    memcpy(out, tee->measurement, NR_MEASUREMENT_BYTES);
}

void nr_sim_platform_id(const struct nr_tee_sim *tee, uint8_t out[NR_PLATFORM_ID_BYTES])
{
    memcpy(out, tee->platform_id, NR_PLATFORM_ID_BYTES);
}

void nr_sim_random(struct nr_tee_sim *tee, uint8_t *out, size_t len)
{
    (void)tee;
    randombytes_buf(out, len);
}

/* ---- sealing (blob format: seal.h) ---- */

static const struct nr_seal_format sim_seal = {
    .magic = {'N', 'R', 'S', 'L'}, .version = SIM_VERSION,
    .key_domain = seal_domain, .ad_domain = seal_ad_domain};

int nr_sim_seal(struct nr_tee_sim *tee, const uint8_t *pt, size_t len, const uint8_t *ad,
                size_t ad_len, uint8_t *out, size_t cap, size_t *out_len)
{
    if (!tee || !out || !out_len || (!pt && len) || (!ad && ad_len))
        return NR_EINVAL;
    return nr_tee_seal_blob(&sim_seal, tee->secret, sizeof tee->secret, tee->measurement, pt,
                            len, ad, ad_len, out, cap, out_len);
}

int nr_sim_unseal(struct nr_tee_sim *tee, const uint8_t *blob, size_t len, const uint8_t *ad,
                  size_t ad_len, uint8_t *pt, size_t cap, size_t *pt_len)
{
    if (!tee || !pt_len || (!blob && len) || (!ad && ad_len) || (!pt && cap))
        return NR_EINVAL;
    return nr_tee_unseal_blob(&sim_seal, tee->secret, sizeof tee->secret, tee->measurement,
                              blob, len, ad, ad_len, pt, cap, pt_len);
}

/* ---- remote attestation ---- */

static void put_u16le(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v & 0xffu);
    p[1] = (uint8_t)(v >> 8);
}

static void ev_signed_message(uint8_t *msg, const uint8_t *ev)
{
    memcpy(msg, ev_domain, sizeof ev_domain);
    memcpy(msg + sizeof ev_domain, ev, SIM_EV_SIG_OFF);
}

int nr_sim_quote(struct nr_tee_sim *tee, const uint8_t report_data[NR_REPORT_DATA_BYTES],
                 uint8_t *evidence, size_t cap, size_t *ev_len)
{
    uint8_t msg[sizeof ev_domain + SIM_EV_SIG_OFF];
    if (!tee || !report_data || !evidence || !ev_len)
        return NR_EINVAL;
    *ev_len = 0;
    if (cap < NR_SIM_EVIDENCE_BYTES)
        return NR_EFULL;
    memcpy(evidence, SIM_MAGIC_EVIDENCE, 4);
    put_u16le(evidence + 4, (uint16_t)SIM_VERSION);
    put_u16le(evidence + 6, 0);
    memcpy(evidence + SIM_EV_PUB_OFF, tee->pub, sizeof tee->pub);
    memcpy(evidence + SIM_EV_CERT_OFF, tee->cert, sizeof tee->cert);
    memcpy(evidence + SIM_EV_MEAS_OFF, tee->measurement, NR_MEASUREMENT_BYTES);
    memcpy(evidence + SIM_EV_RD_OFF, report_data, NR_REPORT_DATA_BYTES);
    ev_signed_message(msg, evidence);
    crypto_sign_detached(evidence + SIM_EV_SIG_OFF, NULL, msg, sizeof msg, tee->sk);
    *ev_len = NR_SIM_EVIDENCE_BYTES;
    return NR_OK;
}

int nr_sim_verify_evidence(const char *backend, const struct nr_attest_policy *policy,
                           const uint8_t *evidence, size_t ev_len,
                           const uint8_t report_data[NR_REPORT_DATA_BYTES],
                           uint8_t measurement[NR_MEASUREMENT_BYTES],
                           uint8_t platform_id[NR_PLATFORM_ID_BYTES])
{
    uint8_t msg[sizeof ev_domain + SIM_EV_SIG_OFF];
    uint8_t cmsg[sizeof cert_domain + crypto_sign_PUBLICKEYBYTES];
    uint8_t hdr[8];
    if (!policy || !report_data || (!evidence && ev_len))
        return NR_EINVAL;
    if (!is_sim(backend))
        return NR_EINVAL;
    if (sodium_init() < 0)
        return NR_EIO;
    if (ev_len != NR_SIM_EVIDENCE_BYTES)
        return NR_EATTEST;
    memcpy(hdr, SIM_MAGIC_EVIDENCE, 4);
    put_u16le(hdr + 4, (uint16_t)SIM_VERSION);
    put_u16le(hdr + 6, 0);
    if (memcmp(evidence, hdr, sizeof hdr) != 0)
        return NR_EATTEST;
    const uint8_t *pub = evidence + SIM_EV_PUB_OFF;
    /* Certificate chain: root -> platform key. */
    cert_message(cmsg, pub);
    if (crypto_sign_verify_detached(evidence + SIM_EV_CERT_OFF, cmsg, sizeof cmsg,
                                    policy->root_pub) != 0)
        return NR_EATTEST;
    /* The platform key signed everything before the signature. */
    ev_signed_message(msg, evidence);
    if (crypto_sign_verify_detached(evidence + SIM_EV_SIG_OFF, msg, sizeof msg, pub) != 0)
        return NR_EATTEST;
    if (sodium_memcmp(evidence + SIM_EV_RD_OFF, report_data, NR_REPORT_DATA_BYTES) != 0)
        return NR_EATTEST;
    const uint8_t *meas = evidence + SIM_EV_MEAS_OFF;
    int allowed = 0;
    unsigned n_allowed = policy->n_allowed < NR_MAX_ALLOWED_MEASUREMENTS
                             ? policy->n_allowed
                             : NR_MAX_ALLOWED_MEASUREMENTS;
    for (unsigned i = 0; i < n_allowed; i++) {
        if (sodium_memcmp(policy->allowed[i], meas, NR_MEASUREMENT_BYTES) == 0)
            allowed = 1;
    }
    if (!allowed)
        return NR_EMEASUREMENT;
    if (measurement)
        memcpy(measurement, meas, NR_MEASUREMENT_BYTES);
    if (platform_id)
        platform_id_of(platform_id, pub);
    return NR_OK;
}

/* ---- local attestation ---- */

static void report_mac(const struct nr_tee_sim *tee, const uint8_t *report, uint8_t mac[32])
{
    uint8_t key[32];
    nr_tee_hash_dom(key, tee->secret, sizeof tee->secret, rep_key_domain, report + SIM_REP_TARGET_OFF,
             NR_MEASUREMENT_BYTES);
    nr_tee_hash_dom(mac, key, sizeof key, rep_domain, report, SIM_REP_MAC_OFF);
    sodium_memzero(key, sizeof key);
}

int nr_sim_local_report(struct nr_tee_sim *tee, const uint8_t target[NR_MEASUREMENT_BYTES],
                        const uint8_t report_data[NR_REPORT_DATA_BYTES],
                        uint8_t report[NR_LOCAL_REPORT_BYTES])
{
    if (!tee || !target || !report_data || !report)
        return NR_EINVAL;
    memcpy(report + SIM_REP_TARGET_OFF, target, NR_MEASUREMENT_BYTES);
    memcpy(report + SIM_REP_SENDER_OFF, tee->measurement, NR_MEASUREMENT_BYTES);
    memcpy(report + SIM_REP_RD_OFF, report_data, NR_REPORT_DATA_BYTES);
    report_mac(tee, report, report + SIM_REP_MAC_OFF);
    return NR_OK;
}

int nr_sim_local_verify(struct nr_tee_sim *tee, const uint8_t report[NR_LOCAL_REPORT_BYTES],
                        uint8_t measurement[NR_MEASUREMENT_BYTES],
                        uint8_t report_data[NR_REPORT_DATA_BYTES])
{
    uint8_t mac[32];
    if (!tee || !report)
        return NR_EINVAL;
    if (sodium_memcmp(report + SIM_REP_TARGET_OFF, tee->measurement, NR_MEASUREMENT_BYTES) != 0)
        return NR_EATTEST; /* made for another enclave */
    /* The key is derived from the target field, which we just required to be ours. */
    report_mac(tee, report, mac);
    int bad = crypto_verify_32(mac, report + SIM_REP_MAC_OFF);
    sodium_memzero(mac, sizeof mac);
    if (bad)
        return NR_EATTEST; /* another platform, or tampered */
    if (measurement)
        memcpy(measurement, report + SIM_REP_SENDER_OFF, NR_MEASUREMENT_BYTES);
    if (report_data)
        memcpy(report_data, report + SIM_REP_RD_OFF, NR_REPORT_DATA_BYTES);
    return NR_OK;
}
