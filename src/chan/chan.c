/* Authenticated channels (see chan.h): handshakes and frame protection, sans-I/O.
 *
 * Every handshake message starts with a 4-byte header:
 *   u8 version (NR_CHAN_VERSION = 1), u8 type (below), u16 reserved (0, little-endian)
 * and has an exact length: trailing or missing bytes are NR_EMALFORMED.
 *
 * Notation: H(x) = BLAKE2b-256(x); D(s) = the ASCII string s followed by one NUL byte;
 * sign_X(m) = Ed25519 signature by X's identity key; every message M is its full bytes.
 *
 * ---- PEER (SE <-> SE), three messages -------------------------------------------------------
 *   h0 = H(D("narrator-chan-v1") || u8 kind (1) || system_id[32])
 *   M1 I->R  type 1 PEER_HELLO   (68 bytes)
 *     hdr[4] || system_id[32] || eph_I[32]            eph_I: fresh X25519 public key
 *     R requires system_id == its own (NR_EHANDSHAKE otherwise). h1 = H(h0 || M1).
 *   M2 R->I  type 2 PEER_REPLY   (134 + ev_len bytes)
 *     hdr[4] || eph_R[32] || id_R[32] || sig_R[64] || u16 ev_len || evidence_R[ev_len]
 *     h2 = H(h1 || M2[0..68))                          (hdr, eph_R, id_R)
 *     sig_R = sign_R(D("narrator-chan-sig-responder") || h2)
 *     evidence_R = quote(report_data = BLAKE2b-512(D("narrator-chan-evidence") || id_R || h2))
 *     h3 = H(h2 || M2[68..))                           (signature and evidence)
 *   M3 I->R  type 3 PEER_FINISH  (102 + ev_len bytes)
 *     hdr[4] || id_I[32] || sig_I[64] || u16 ev_len || evidence_I[ev_len]
 *     h4 = H(h3 || M3[0..36)); sig_I = sign_I(D("narrator-chan-sig-initiator") || h4)
 *     evidence_I = quote(report_data = BLAKE2b-512(D("narrator-chan-evidence") || id_I || h4))
 *     h5 = H(h4 || M3[36..))
 *   Each receiver of M2 / M3 checks, in order: exact layout (NR_EMALFORMED / NR_EVERSION),
 *   lookup(id) gives a member index (NR_ENOTMEMBER), the member is not ourselves
 *   (NR_EHANDSHAKE), the signature (NR_EAUTH), the evidence against the attestation policy
 *   with the report data above (NR_EATTEST / NR_EMEASUREMENT), and that the evidence's
 *   platform id equals the member's platform id from the membership (NR_ENOTMEMBER).
 *   Because the system id is in h0, a peer of another system fails (at M1 explicitly, and in
 *   every signature and report data).
 *   Keys: K = BLAKE2b-512(key = h5, D("narrator-chan-keys") || X25519(eph) || eph_I || eph_R);
 *   K[0..32) protects initiator->responder frames, K[32..64) responder->initiator.
 *   The initiator is ready after sending M3, the responder after accepting M3. Binding the
 *   full transcript (both identities) into the keys rules out unknown-key-share: a party that
 *   swapped an identity would derive other keys, and its first frame fails (NR_EAUTH).
 *
 * ---- LOCAL (AE -> SE on the same platform), two messages -----------------------------------
 *   h0 = H(D("narrator-chan-v1") || u8 kind (2) || system_id[32])
 *   M1 AE->SE type 4 LOCAL_HELLO (228 bytes)
 *     hdr[4] || system_id[32] || eph_A[32] || report_A[160]
 *     report_A = local_report(target = SE measurement (config), report_data =
 *                   BLAKE2b-512(D("narrator-chan-local-ae") || h0 || eph_A))
 *     SE checks: system id (NR_EHANDSHAKE), report made on this platform for this SE and
 *     report data (NR_EATTEST). The AE's measurement is taken from the report.
 *     h1 = H(h0 || M1)
 *   M2 SE->AE type 5 LOCAL_REPLY (196 bytes)
 *     hdr[4] || eph_S[32] || report_S[160]
 *     report_S = local_report(target = the AE's measurement, report_data =
 *                   BLAKE2b-512(D("narrator-chan-local-se") || h1 || eph_S))
 *     AE checks: report made on this platform for it (NR_EATTEST), sender measurement ==
 *     configured SE measurement (NR_EMEASUREMENT), report data (NR_EATTEST).
 *     h2 = H(h1 || M2)
 *   Keys as for PEER with key = h2 and eph_I = eph_A, eph_R = eph_S. The SE is ready after
 *   sending M2, the AE after accepting it.
 *
 * ---- LOCAL under the gramine backend (DCAP quotes both ways), three messages --------------
 *   SGX reports cannot be verified under Gramine (src/tee/tee.h), so with tee_backend
 *   "gramine" both sides prove themselves with a fresh DCAP quote instead, verified by the
 *   same verifier as peer evidence (nr_tee_verify_evidence), and each side requires the
 *   other's platform id (from the PPID of its PCK certificate) to equal its own: an AE only
 *   talks to an SE on its own CPU, and an SE only serves AEs on its own CPU.
 *   h0 as above (kind 2).
 *   M1 AE->SE type 6 LOCAL_QHELLO (68 bytes)
 *     hdr[4] || system_id[32] || eph_A[32]
 *     SE checks: system id (NR_EHANDSHAKE). h1 = H(h0 || M1)
 *   M2 SE->AE type 7 LOCAL_QREPLY (38 + ev_len bytes)
 *     hdr[4] || eph_S[32] || u16 ev_len || quote_S[ev_len]
 *     quote_S = quote(report_data = BLAKE2b-512(D("narrator-chan-local-se-quote") || h1 ||
 *                                                eph_S))
 *     AE checks: exact layout (NR_ETRUNCATED / NR_EMALFORMED), the quote against its policy
 *     (the SE's MRENCLAVE and/or MRSIGNER, the pinned root; NR_EATTEST / NR_ECERT /
 *     NR_EMEASUREMENT / ...) with that report data, and the quote's platform id == its own
 *     (NR_EATTEST). h2 = H(h1 || M2)
 *   M3 AE->SE type 8 LOCAL_QFINISH (6 + ev_len bytes)
 *     hdr[4] || u16 ev_len || quote_A[ev_len]
 *     quote_A = quote(report_data = BLAKE2b-512(D("narrator-chan-local-ae-quote") || h2 ||
 *                                                eph_A))
 *     SE checks: layout, the quote against its AE policy (any MRENCLAVE unless restricted,
 *     the pinned root, the collateral, debug refused unless allowed) with that report data,
 *     and platform id == its own (NR_EATTEST). The AE's measurement is the quote's MRENCLAVE.
 *     h3 = H(h2 || M3)
 *   Keys as for PEER with key = h3, eph_I = eph_A, eph_R = eph_S. The AE is ready after
 *   sending M3, the SE after accepting it. Each quote binds the whole transcript so far
 *   (both ephemerals for quote_A), so a message of an earlier handshake is refused
 *   (NR_EATTEST: report data) by either side.
 *
 * ---- Frames ----------------------------------------------------------------------------------
 *   u64 counter (little-endian) || ChaCha20-Poly1305-IETF ciphertext || tag[16]
 *   nonce = 4 zero bytes || u64 counter (LE); AD = the 8 counter bytes. Counters start at 0 in
 *   each direction. A frame is authenticated first (NR_EAUTH), then its counter must equal
 *   the next expected one (NR_EREPLAY for replays and reordering). A failed frame changes
 *   nothing. */
#include "chan/chan.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define NR_CHAN_VERSION 1u
#define HS_HDR 4u
#define T_PEER_HELLO 1u
#define T_PEER_REPLY 2u
#define T_PEER_FINISH 3u
#define T_LOCAL_HELLO 4u
#define T_LOCAL_REPLY 5u

#define PEER_HELLO_BYTES (HS_HDR + 32u + 32u)
#define PEER_REPLY_FIXED (HS_HDR + 32u + 32u + 64u + 2u) /* + ev_len */
#define PEER_REPLY_SIGNED (HS_HDR + 32u + 32u)
#define PEER_FINISH_FIXED (HS_HDR + 32u + 64u + 2u)
#define PEER_FINISH_SIGNED (HS_HDR + 32u)
#define T_LOCAL_QHELLO 6u
#define T_LOCAL_QREPLY 7u
#define T_LOCAL_QFINISH 8u
#define LOCAL_QHELLO_BYTES (HS_HDR + 32u + 32u)
#define LOCAL_QREPLY_FIXED (HS_HDR + 32u + 2u) /* + ev_len */
#define LOCAL_QFINISH_FIXED (HS_HDR + 2u)      /* + ev_len */
#define LOCAL_HELLO_BYTES (HS_HDR + 32u + 32u + NR_LOCAL_REPORT_BYTES)
#define LOCAL_REPLY_BYTES (HS_HDR + 32u + NR_LOCAL_REPORT_BYTES)
#define NONCE_BYTES crypto_aead_chacha20poly1305_ietf_NPUBBYTES

_Static_assert(PEER_REPLY_FIXED + NR_EVIDENCE_MAX_BYTES <= NR_CHAN_HS_MAX_BYTES, "M2 fits");
_Static_assert(LOCAL_HELLO_BYTES <= NR_CHAN_HS_MAX_BYTES, "local M1 fits");
_Static_assert(LOCAL_QREPLY_FIXED + NR_EVIDENCE_MAX_BYTES <= NR_CHAN_HS_MAX_BYTES, "QREPLY fits");
_Static_assert(crypto_aead_chacha20poly1305_ietf_ABYTES + 8u == NR_CHAN_FRAME_OVERHEAD,
               "frame overhead");

enum st { ST_INIT, ST_WAIT_M1, ST_WAIT_M2, ST_WAIT_M3, ST_READY, ST_FAILED };

struct nr_chan {
    int kind, role;
    int quoted; /* LOCAL under gramine: DCAP quotes both ways */
    enum st state;
    uint8_t system_id[32];
    struct nr_tee *tee;
    uint8_t id_sk[NR_IDENTITY_SK_BYTES];
    uint8_t id_pub[NR_IDENTITY_PUB_BYTES];
    uint16_t self;
    char backend[16];
    struct nr_attest_policy policy;
    nr_chan_lookup_fn lookup;
    void *lookup_arg;
    uint8_t se_measurement[NR_MEASUREMENT_BYTES];
    /* handshake */
    uint8_t eph_sk[32], eph_pub[32], peer_eph[32];
    uint8_t h[32];
    /* result */
    uint16_t peer_member;
    uint8_t peer_measurement[NR_MEASUREMENT_BYTES];
    uint8_t k_send[32], k_recv[32];
    uint64_t send_ctr, recv_ctr;
};

static const char d_chan[] = "narrator-chan-v1";
static const char d_sig_r[] = "narrator-chan-sig-responder";
static const char d_sig_i[] = "narrator-chan-sig-initiator";
static const char d_ev[] = "narrator-chan-evidence";
static const char d_local_ae[] = "narrator-chan-local-ae";
static const char d_local_se[] = "narrator-chan-local-se";
static const char d_keys[] = "narrator-chan-keys";
static const char d_local_se_q[] = "narrator-chan-local-se-quote";
static const char d_local_ae_q[] = "narrator-chan-local-ae-quote";

/* ---- small helpers ---- */

static void put_hdr(uint8_t *p, uint8_t type)
{
    p[0] = (uint8_t)NR_CHAN_VERSION;
    p[1] = type;
    p[2] = 0;
    p[3] = 0;
}

static int check_hdr(const uint8_t *in, size_t len, uint8_t type)
{
    if (len < HS_HDR)
        return NR_ETRUNCATED;
    if (in[0] != NR_CHAN_VERSION)
        return NR_EVERSION;
    if (in[2] != 0 || in[3] != 0)
        return NR_EMALFORMED;
    if (in[1] != type)
        return NR_EHANDSHAKE; /* a valid message, but not the one expected now */
    return NR_OK;
}

static uint16_t get_u16le(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static void put_u16le(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v & 0xffu);
    p[1] = (uint8_t)(v >> 8);
}

static void put_u64le(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_u64le(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* h = H(h || data) */
static void absorb(uint8_t h[32], const uint8_t *data, size_t len)
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, 32);
    crypto_generichash_update(&st, h, 32);
    crypto_generichash_update(&st, data, len);
    crypto_generichash_final(&st, h, 32);
}

static void transcript_init(struct nr_chan *ch)
{
    crypto_generichash_state st;
    uint8_t kind = (uint8_t)ch->kind;
    crypto_generichash_init(&st, NULL, 0, 32);
    crypto_generichash_update(&st, (const uint8_t *)d_chan, sizeof d_chan);
    crypto_generichash_update(&st, &kind, 1);
    crypto_generichash_update(&st, ch->system_id, 32);
    crypto_generichash_final(&st, ch->h, 32);
}

/* out = BLAKE2b-512(D(domain) || a[32] || b[32]) */
static void rd_make(uint8_t out[NR_REPORT_DATA_BYTES], const char *domain, const uint8_t *a,
                    const uint8_t *b)
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, NR_REPORT_DATA_BYTES);
    crypto_generichash_update(&st, (const uint8_t *)domain, strlen(domain) + 1);
    crypto_generichash_update(&st, a, 32);
    crypto_generichash_update(&st, b, 32);
    crypto_generichash_final(&st, out, NR_REPORT_DATA_BYTES);
}

static void sig_msg(uint8_t *out, const char *domain, size_t dlen, const uint8_t h[32])
{
    memcpy(out, domain, dlen);
    memcpy(out + dlen, h, 32);
}

static void new_ephemeral(struct nr_chan *ch)
{
    nr_tee_random(ch->tee, ch->eph_sk, sizeof ch->eph_sk);
    crypto_scalarmult_base(ch->eph_pub, ch->eph_sk);
}

static void wipe_handshake(struct nr_chan *ch)
{
    sodium_memzero(ch->eph_sk, sizeof ch->eph_sk);
}

static int fail(struct nr_chan *ch, int rc)
{
    ch->state = ST_FAILED;
    wipe_handshake(ch);
    sodium_memzero(ch->k_send, sizeof ch->k_send);
    sodium_memzero(ch->k_recv, sizeof ch->k_recv);
    return rc;
}

/* Derive both direction keys from the final transcript hash and the DH. */
static int derive_keys(struct nr_chan *ch)
{
    uint8_t dh[32], k[64];
    const uint8_t *eph_i = ch->role == NR_CHAN_INITIATOR ? ch->eph_pub : ch->peer_eph;
    const uint8_t *eph_r = ch->role == NR_CHAN_INITIATOR ? ch->peer_eph : ch->eph_pub;
    if (crypto_scalarmult(dh, ch->eph_sk, ch->peer_eph) != 0) {
        sodium_memzero(dh, sizeof dh);
        return NR_EHANDSHAKE; /* low-order peer point */
    }
    crypto_generichash_state st;
    crypto_generichash_init(&st, ch->h, 32, sizeof k);
    crypto_generichash_update(&st, (const uint8_t *)d_keys, sizeof d_keys);
    crypto_generichash_update(&st, dh, sizeof dh);
    crypto_generichash_update(&st, eph_i, 32);
    crypto_generichash_update(&st, eph_r, 32);
    crypto_generichash_final(&st, k, sizeof k);
    if (ch->role == NR_CHAN_INITIATOR) {
        memcpy(ch->k_send, k, 32);
        memcpy(ch->k_recv, k + 32, 32);
    } else {
        memcpy(ch->k_recv, k, 32);
        memcpy(ch->k_send, k + 32, 32);
    }
    sodium_memzero(dh, sizeof dh);
    sodium_memzero(k, sizeof k);
    sodium_memzero(&st, sizeof st);
    wipe_handshake(ch);
    ch->send_ctr = 0;
    ch->recv_ctr = 0;
    ch->state = ST_READY;
    return NR_OK;
}

/* ---- lifecycle ---- */

int nr_chan_create(struct nr_chan **out, const struct nr_chan_config *cfg)
{
    if (!out)
        return NR_EINVAL;
    *out = NULL;
    if (!cfg || !cfg->tee)
        return NR_EINVAL;
    if (cfg->kind != NR_CHAN_PEER && cfg->kind != NR_CHAN_LOCAL)
        return NR_EINVAL;
    if (cfg->role != NR_CHAN_INITIATOR && cfg->role != NR_CHAN_RESPONDER)
        return NR_EINVAL;
    if (cfg->kind == NR_CHAN_PEER) {
        if (!cfg->identity_sk || !cfg->identity_pub || !cfg->tee_backend || !cfg->policy ||
            !cfg->lookup)
            return NR_EINVAL;
        if (strlen(cfg->tee_backend) >= sizeof(((struct nr_chan *)0)->backend))
            return NR_EINVAL;
    }
    int quoted = cfg->kind == NR_CHAN_LOCAL && cfg->tee_backend &&
                 strcmp(cfg->tee_backend, "gramine") == 0;
    if (quoted && !cfg->policy)
        return NR_EINVAL;
    if (sodium_init() < 0)
        return NR_EIO;
    struct nr_chan *ch = calloc(1, sizeof *ch);
    if (!ch)
        return NR_ENOMEM;
    ch->kind = cfg->kind;
    ch->role = cfg->role;
    memcpy(ch->system_id, cfg->system_id, sizeof ch->system_id);
    ch->tee = cfg->tee;
    if (cfg->kind == NR_CHAN_PEER) {
        memcpy(ch->id_sk, cfg->identity_sk, sizeof ch->id_sk);
        memcpy(ch->id_pub, cfg->identity_pub, sizeof ch->id_pub);
        ch->self = cfg->self;
        strcpy(ch->backend, cfg->tee_backend);
        ch->policy = *cfg->policy;
        ch->lookup = cfg->lookup;
        ch->lookup_arg = cfg->lookup_arg;
    } else {
        memcpy(ch->se_measurement, cfg->se_measurement, sizeof ch->se_measurement);
        if (quoted) {
            ch->quoted = 1;
            strcpy(ch->backend, cfg->tee_backend);
            ch->policy = *cfg->policy;
        }
    }
    transcript_init(ch);
    ch->state = cfg->role == NR_CHAN_INITIATOR ? ST_INIT : ST_WAIT_M1;
    *out = ch;
    return NR_OK;
}

void nr_chan_destroy(struct nr_chan *ch)
{
    if (!ch)
        return;
    sodium_memzero(ch, sizeof *ch);
    free(ch);
}

int nr_chan_ready(const struct nr_chan *ch)
{
    return ch && ch->state == ST_READY;
}

uint16_t nr_chan_peer_member(const struct nr_chan *ch)
{
    return ch->peer_member;
}

void nr_chan_peer_measurement(const struct nr_chan *ch, uint8_t out[NR_MEASUREMENT_BYTES])
{
    memcpy(out, ch->peer_measurement, NR_MEASUREMENT_BYTES);
}

/* ---- PEER ---- */

/* Build hdr... || id || sig || u16 ev_len || evidence at out (prefix already written: the
 * first `signed_len` bytes). Updates the transcript: h = H(h || prefix), signs it, quotes,
 * then h = H(h || rest). */
static int peer_sign_and_quote(struct nr_chan *ch, uint8_t *out, size_t cap, size_t signed_len,
                               const char *sig_domain, size_t sig_dlen, size_t *out_len)
{
    uint8_t msg[64], rd[NR_REPORT_DATA_BYTES];
    size_t ev_len = 0;
    if (cap < signed_len + 64u + 2u + NR_EVIDENCE_MAX_BYTES)
        return NR_EFULL;
    absorb(ch->h, out, signed_len);
    sig_msg(msg, sig_domain, sig_dlen, ch->h);
    crypto_sign_detached(out + signed_len, NULL, msg, sig_dlen + 32u, ch->id_sk);
    rd_make(rd, d_ev, ch->id_pub, ch->h);
    int rc = nr_tee_quote(ch->tee, rd, out + signed_len + 66u, NR_EVIDENCE_MAX_BYTES, &ev_len);
    if (rc != NR_OK)
        return rc;
    if (ev_len == 0 || ev_len > NR_EVIDENCE_MAX_BYTES)
        return NR_EATTEST;
    put_u16le(out + signed_len + 64u, (uint16_t)ev_len);
    size_t total = signed_len + 66u + ev_len;
    absorb(ch->h, out + signed_len, total - signed_len);
    *out_len = total;
    return NR_OK;
}

/* Verify the peer's id/sig/evidence part of M2 or M3. `in` is the whole message, `id` at
 * id_off, signature right after the signed prefix of `signed_len` bytes. */
static int peer_check(struct nr_chan *ch, const uint8_t *in, size_t len, size_t id_off,
                      size_t signed_len, const char *sig_domain, size_t sig_dlen)
{
    uint8_t msg[64], rd[NR_REPORT_DATA_BYTES], pid_expected[NR_PLATFORM_ID_BYTES];
    uint8_t pid[NR_PLATFORM_ID_BYTES], meas[NR_MEASUREMENT_BYTES];
    uint16_t member = 0;
    /* Layout: prefix || sig[64] || u16 ev_len || evidence, exact length. */
    if (len < signed_len + 66u)
        return NR_ETRUNCATED;
    size_t ev_len = get_u16le(in + signed_len + 64u);
    if (ev_len == 0 || ev_len > NR_EVIDENCE_MAX_BYTES)
        return NR_EMALFORMED;
    if (len != signed_len + 66u + ev_len)
        return len < signed_len + 66u + ev_len ? NR_ETRUNCATED : NR_EMALFORMED;
    const uint8_t *id = in + id_off;
    int rc = ch->lookup(ch->lookup_arg, id, &member, pid_expected);
    if (rc != NR_OK)
        return NR_ENOTMEMBER;
    if (member == ch->self || sodium_memcmp(id, ch->id_pub, NR_IDENTITY_PUB_BYTES) == 0)
        return NR_EHANDSHAKE; /* ourselves (a clone, or a reflected message) */
    absorb(ch->h, in, signed_len);
    sig_msg(msg, sig_domain, sig_dlen, ch->h);
    if (crypto_sign_verify_detached(in + signed_len, msg, sig_dlen + 32u, id) != 0)
        return NR_EAUTH;
    rd_make(rd, d_ev, id, ch->h);
    rc = nr_tee_verify_evidence(ch->backend, &ch->policy, in + signed_len + 66u, ev_len, rd, meas,
                                pid);
    if (rc != NR_OK)
        return rc;
    if (sodium_memcmp(pid, pid_expected, NR_PLATFORM_ID_BYTES) != 0)
        return NR_ENOTMEMBER; /* the key is a member, but not on this platform */
    absorb(ch->h, in + signed_len, len - signed_len);
    ch->peer_member = member;
    memcpy(ch->peer_measurement, meas, sizeof meas);
    return NR_OK;
}

static int peer_start(struct nr_chan *ch, uint8_t *out, size_t cap, size_t *out_len)
{
    if (cap < PEER_HELLO_BYTES)
        return NR_EFULL;
    new_ephemeral(ch);
    put_hdr(out, T_PEER_HELLO);
    memcpy(out + HS_HDR, ch->system_id, 32);
    memcpy(out + HS_HDR + 32, ch->eph_pub, 32);
    absorb(ch->h, out, PEER_HELLO_BYTES);
    *out_len = PEER_HELLO_BYTES;
    ch->state = ST_WAIT_M2;
    return NR_OK;
}

static int peer_on_hello(struct nr_chan *ch, const uint8_t *in, size_t len, uint8_t *out,
                         size_t cap, size_t *out_len)
{
    int rc = check_hdr(in, len, T_PEER_HELLO);
    if (rc != NR_OK)
        return rc;
    if (len != PEER_HELLO_BYTES)
        return len < PEER_HELLO_BYTES ? NR_ETRUNCATED : NR_EMALFORMED;
    if (sodium_memcmp(in + HS_HDR, ch->system_id, 32) != 0)
        return NR_EHANDSHAKE; /* a peer of another system */
    if (cap < PEER_REPLY_FIXED + NR_EVIDENCE_MAX_BYTES)
        return NR_EFULL;
    memcpy(ch->peer_eph, in + HS_HDR + 32, 32);
    absorb(ch->h, in, len);
    new_ephemeral(ch);
    put_hdr(out, T_PEER_REPLY);
    memcpy(out + HS_HDR, ch->eph_pub, 32);
    memcpy(out + HS_HDR + 32, ch->id_pub, 32);
    rc = peer_sign_and_quote(ch, out, cap, PEER_REPLY_SIGNED, d_sig_r, sizeof d_sig_r, out_len);
    if (rc != NR_OK)
        return rc;
    ch->state = ST_WAIT_M3;
    return NR_OK;
}

static int peer_on_reply(struct nr_chan *ch, const uint8_t *in, size_t len, uint8_t *out,
                         size_t cap, size_t *out_len)
{
    int rc = check_hdr(in, len, T_PEER_REPLY);
    if (rc != NR_OK)
        return rc;
    if (cap < PEER_FINISH_FIXED + NR_EVIDENCE_MAX_BYTES)
        return NR_EFULL;
    if (len < PEER_REPLY_SIGNED)
        return NR_ETRUNCATED;
    memcpy(ch->peer_eph, in + HS_HDR, 32);
    rc = peer_check(ch, in, len, HS_HDR + 32u, PEER_REPLY_SIGNED, d_sig_r, sizeof d_sig_r);
    if (rc != NR_OK)
        return rc;
    put_hdr(out, T_PEER_FINISH);
    memcpy(out + HS_HDR, ch->id_pub, 32);
    rc = peer_sign_and_quote(ch, out, cap, PEER_FINISH_SIGNED, d_sig_i, sizeof d_sig_i, out_len);
    if (rc != NR_OK)
        return rc;
    rc = derive_keys(ch);
    if (rc != NR_OK)
        *out_len = 0;
    return rc;
}

static int peer_on_finish(struct nr_chan *ch, const uint8_t *in, size_t len)
{
    int rc = check_hdr(in, len, T_PEER_FINISH);
    if (rc != NR_OK)
        return rc;
    rc = peer_check(ch, in, len, HS_HDR, PEER_FINISH_SIGNED, d_sig_i, sizeof d_sig_i);
    if (rc != NR_OK)
        return rc;
    return derive_keys(ch);
}

/* ---- LOCAL ---- */

static int local_start(struct nr_chan *ch, uint8_t *out, size_t cap, size_t *out_len)
{
    uint8_t rd[NR_REPORT_DATA_BYTES];
    if (cap < LOCAL_HELLO_BYTES)
        return NR_EFULL;
    new_ephemeral(ch);
    put_hdr(out, T_LOCAL_HELLO);
    memcpy(out + HS_HDR, ch->system_id, 32);
    memcpy(out + HS_HDR + 32, ch->eph_pub, 32);
    rd_make(rd, d_local_ae, ch->h, ch->eph_pub);
    int rc = nr_tee_local_report(ch->tee, ch->se_measurement, rd, out + HS_HDR + 64);
    if (rc != NR_OK)
        return rc;
    absorb(ch->h, out, LOCAL_HELLO_BYTES);
    *out_len = LOCAL_HELLO_BYTES;
    ch->state = ST_WAIT_M2;
    return NR_OK;
}

static int local_on_hello(struct nr_chan *ch, const uint8_t *in, size_t len, uint8_t *out,
                          size_t cap, size_t *out_len)
{
    uint8_t rd[NR_REPORT_DATA_BYTES], rd_got[NR_REPORT_DATA_BYTES];
    int rc = check_hdr(in, len, T_LOCAL_HELLO);
    if (rc != NR_OK)
        return rc;
    if (len != LOCAL_HELLO_BYTES)
        return len < LOCAL_HELLO_BYTES ? NR_ETRUNCATED : NR_EMALFORMED;
    if (sodium_memcmp(in + HS_HDR, ch->system_id, 32) != 0)
        return NR_EHANDSHAKE;
    if (cap < LOCAL_REPLY_BYTES)
        return NR_EFULL;
    const uint8_t *eph_a = in + HS_HDR + 32;
    rc = nr_tee_local_verify(ch->tee, in + HS_HDR + 64, ch->peer_measurement, rd_got);
    if (rc != NR_OK)
        return rc;
    rd_make(rd, d_local_ae, ch->h, eph_a);
    if (sodium_memcmp(rd, rd_got, sizeof rd) != 0)
        return NR_EATTEST;
    memcpy(ch->peer_eph, eph_a, 32);
    absorb(ch->h, in, len);
    new_ephemeral(ch);
    put_hdr(out, T_LOCAL_REPLY);
    memcpy(out + HS_HDR, ch->eph_pub, 32);
    rd_make(rd, d_local_se, ch->h, ch->eph_pub);
    rc = nr_tee_local_report(ch->tee, ch->peer_measurement, rd, out + HS_HDR + 32);
    if (rc != NR_OK)
        return rc;
    absorb(ch->h, out, LOCAL_REPLY_BYTES);
    rc = derive_keys(ch);
    if (rc != NR_OK)
        return rc;
    *out_len = LOCAL_REPLY_BYTES;
    return NR_OK;
}

static int local_on_reply(struct nr_chan *ch, const uint8_t *in, size_t len)
{
    uint8_t rd[NR_REPORT_DATA_BYTES], rd_got[NR_REPORT_DATA_BYTES], meas[NR_MEASUREMENT_BYTES];
    int rc = check_hdr(in, len, T_LOCAL_REPLY);
    if (rc != NR_OK)
        return rc;
    if (len != LOCAL_REPLY_BYTES)
        return len < LOCAL_REPLY_BYTES ? NR_ETRUNCATED : NR_EMALFORMED;
    rc = nr_tee_local_verify(ch->tee, in + HS_HDR + 32, meas, rd_got);
    if (rc != NR_OK)
        return rc;
    if (sodium_memcmp(meas, ch->se_measurement, sizeof meas) != 0)
        return NR_EMEASUREMENT;
    rd_make(rd, d_local_se, ch->h, in + HS_HDR);
    if (sodium_memcmp(rd, rd_got, sizeof rd) != 0)
        return NR_EATTEST;
    memcpy(ch->peer_eph, in + HS_HDR, 32);
    memcpy(ch->peer_measurement, meas, sizeof meas);
    absorb(ch->h, in, len);
    return derive_keys(ch);
}

/* ---- LOCAL under gramine: DCAP quotes both ways ---- */

/* Write u16 ev_len || quote(rd) at out (cap bytes free). */
static int lq_quote(struct nr_chan *ch, const uint8_t rd[NR_REPORT_DATA_BYTES], uint8_t *out,
                    size_t cap, size_t *written)
{
    size_t ev_len = 0;
    if (cap < 2u + NR_EVIDENCE_MAX_BYTES)
        return NR_EFULL;
    int rc = nr_tee_quote(ch->tee, rd, out + 2, NR_EVIDENCE_MAX_BYTES, &ev_len);
    if (rc != NR_OK)
        return rc;
    if (ev_len == 0 || ev_len > NR_EVIDENCE_MAX_BYTES)
        return NR_EATTEST;
    put_u16le(out, (uint16_t)ev_len);
    *written = 2u + ev_len;
    return NR_OK;
}

/* Check u16 ev_len || quote at in + off, filling the rest of the message exactly: the quote
 * against our policy and rd, and made on our platform. */
static int lq_check(struct nr_chan *ch, const uint8_t *in, size_t len, size_t off,
                    const uint8_t rd[NR_REPORT_DATA_BYTES], uint8_t meas[NR_MEASUREMENT_BYTES])
{
    uint8_t pid[NR_PLATFORM_ID_BYTES], mine[NR_PLATFORM_ID_BYTES];
    if (len < off + 2u)
        return NR_ETRUNCATED;
    size_t ev_len = get_u16le(in + off);
    if (ev_len == 0 || ev_len > NR_EVIDENCE_MAX_BYTES)
        return NR_EMALFORMED;
    if (len != off + 2u + ev_len)
        return len < off + 2u + ev_len ? NR_ETRUNCATED : NR_EMALFORMED;
    int rc = nr_tee_verify_evidence(ch->backend, &ch->policy, in + off + 2u, ev_len, rd, meas,
                                    pid);
    if (rc != NR_OK)
        return rc;
    nr_tee_platform_id(ch->tee, mine);
    if (sodium_memcmp(pid, mine, sizeof pid) != 0)
        return NR_EATTEST; /* a genuine enclave, but on another CPU */
    return NR_OK;
}

static int lq_start(struct nr_chan *ch, uint8_t *out, size_t cap, size_t *out_len)
{
    if (cap < LOCAL_QHELLO_BYTES)
        return NR_EFULL;
    new_ephemeral(ch);
    put_hdr(out, T_LOCAL_QHELLO);
    memcpy(out + HS_HDR, ch->system_id, 32);
    memcpy(out + HS_HDR + 32, ch->eph_pub, 32);
    absorb(ch->h, out, LOCAL_QHELLO_BYTES);
    *out_len = LOCAL_QHELLO_BYTES;
    ch->state = ST_WAIT_M2;
    return NR_OK;
}

static int lq_on_hello(struct nr_chan *ch, const uint8_t *in, size_t len, uint8_t *out,
                       size_t cap, size_t *out_len)
{
    uint8_t rd[NR_REPORT_DATA_BYTES];
    size_t w = 0;
    int rc = check_hdr(in, len, T_LOCAL_QHELLO);
    if (rc != NR_OK)
        return rc;
    if (len != LOCAL_QHELLO_BYTES)
        return len < LOCAL_QHELLO_BYTES ? NR_ETRUNCATED : NR_EMALFORMED;
    if (sodium_memcmp(in + HS_HDR, ch->system_id, 32) != 0)
        return NR_EHANDSHAKE;
    if (cap < LOCAL_QREPLY_FIXED + NR_EVIDENCE_MAX_BYTES)
        return NR_EFULL;
    memcpy(ch->peer_eph, in + HS_HDR + 32, 32);
    absorb(ch->h, in, len);
    new_ephemeral(ch);
    put_hdr(out, T_LOCAL_QREPLY);
    memcpy(out + HS_HDR, ch->eph_pub, 32);
    rd_make(rd, d_local_se_q, ch->h, ch->eph_pub);
    rc = lq_quote(ch, rd, out + HS_HDR + 32, cap - HS_HDR - 32, &w);
    if (rc != NR_OK)
        return rc;
    *out_len = HS_HDR + 32u + w;
    absorb(ch->h, out, *out_len);
    ch->state = ST_WAIT_M3;
    return NR_OK;
}

static int lq_on_reply(struct nr_chan *ch, const uint8_t *in, size_t len, uint8_t *out,
                       size_t cap, size_t *out_len)
{
    uint8_t rd[NR_REPORT_DATA_BYTES], meas[NR_MEASUREMENT_BYTES];
    size_t w = 0;
    int rc = check_hdr(in, len, T_LOCAL_QREPLY);
    if (rc != NR_OK)
        return rc;
    if (cap < LOCAL_QFINISH_FIXED + NR_EVIDENCE_MAX_BYTES)
        return NR_EFULL;
    if (len < HS_HDR + 32u)
        return NR_ETRUNCATED;
    rd_make(rd, d_local_se_q, ch->h, in + HS_HDR);
    rc = lq_check(ch, in, len, HS_HDR + 32u, rd, meas);
    if (rc != NR_OK)
        return rc;
    memcpy(ch->peer_eph, in + HS_HDR, 32);
    memcpy(ch->peer_measurement, meas, sizeof meas);
    absorb(ch->h, in, len);
    put_hdr(out, T_LOCAL_QFINISH);
    rd_make(rd, d_local_ae_q, ch->h, ch->eph_pub);
    rc = lq_quote(ch, rd, out + HS_HDR, cap - HS_HDR, &w);
    if (rc != NR_OK)
        return rc;
    size_t total = HS_HDR + w;
    absorb(ch->h, out, total);
    rc = derive_keys(ch);
    if (rc != NR_OK)
        return rc;
    *out_len = total;
    return NR_OK;
}

static int lq_on_finish(struct nr_chan *ch, const uint8_t *in, size_t len)
{
    uint8_t rd[NR_REPORT_DATA_BYTES], meas[NR_MEASUREMENT_BYTES];
    int rc = check_hdr(in, len, T_LOCAL_QFINISH);
    if (rc != NR_OK)
        return rc;
    rd_make(rd, d_local_ae_q, ch->h, ch->peer_eph);
    rc = lq_check(ch, in, len, HS_HDR, rd, meas);
    if (rc != NR_OK)
        return rc;
    memcpy(ch->peer_measurement, meas, sizeof meas);
    absorb(ch->h, in, len);
    return derive_keys(ch);
}

/* ---- handshake entry points ---- */

int nr_chan_hs_start(struct nr_chan *ch, uint8_t *out, size_t cap, size_t *out_len)
{
    if (!ch || !out || !out_len)
        return NR_EINVAL;
    *out_len = 0;
    if (ch->role != NR_CHAN_INITIATOR || ch->state != ST_INIT)
        return NR_EINVAL;
    int rc = ch->kind == NR_CHAN_PEER ? peer_start(ch, out, cap, out_len)
             : ch->quoted             ? lq_start(ch, out, cap, out_len)
                                      : local_start(ch, out, cap, out_len);
    return rc == NR_OK ? NR_OK : fail(ch, rc);
}

int nr_chan_hs_recv(struct nr_chan *ch, const uint8_t *in, size_t len, uint8_t *out, size_t cap,
                    size_t *out_len)
{
    if (!ch || !out_len || (!in && len))
        return NR_EINVAL;
    *out_len = 0;
    if (!out)
        cap = 0;
    int rc;
    if (len > NR_CHAN_HS_MAX_BYTES)
        return fail(ch, NR_ETOOBIG);
    switch (ch->state) {
    case ST_WAIT_M1:
        rc = ch->kind == NR_CHAN_PEER ? peer_on_hello(ch, in, len, out, cap, out_len)
             : ch->quoted             ? lq_on_hello(ch, in, len, out, cap, out_len)
                                      : local_on_hello(ch, in, len, out, cap, out_len);
        break;
    case ST_WAIT_M2:
        rc = ch->kind == NR_CHAN_PEER ? peer_on_reply(ch, in, len, out, cap, out_len)
             : ch->quoted             ? lq_on_reply(ch, in, len, out, cap, out_len)
                                      : local_on_reply(ch, in, len);
        break;
    case ST_WAIT_M3:
        rc = ch->quoted ? lq_on_finish(ch, in, len) : peer_on_finish(ch, in, len);
        break;
    default:
        rc = NR_EHANDSHAKE; /* not expecting a handshake message */
        break;
    }
    if (rc != NR_OK) {
        *out_len = 0;
        return fail(ch, rc);
    }
    return NR_OK;
}

/* ---- frames ---- */

int nr_chan_seal(struct nr_chan *ch, const uint8_t *pt, size_t len, uint8_t *out, size_t cap,
                 size_t *out_len)
{
    uint8_t nonce[NONCE_BYTES] = {0};
    if (!ch || !out || !out_len || (!pt && len))
        return NR_EINVAL;
    *out_len = 0;
    if (ch->state != ST_READY)
        return NR_EHANDSHAKE;
    if (len > SIZE_MAX - NR_CHAN_FRAME_OVERHEAD || cap < len + NR_CHAN_FRAME_OVERHEAD)
        return NR_EFULL;
    if (ch->send_ctr == UINT64_MAX)
        return NR_EFULL; /* never reuse a nonce: the connection must be rebuilt */
    put_u64le(out, ch->send_ctr);
    memcpy(nonce + 4, out, 8);
    unsigned long long clen = 0;
    crypto_aead_chacha20poly1305_ietf_encrypt(out + 8, &clen, pt, len, out, 8, NULL, nonce,
                                              ch->k_send);
    ch->send_ctr++;
    *out_len = 8u + (size_t)clen;
    return NR_OK;
}

int nr_chan_open(struct nr_chan *ch, const uint8_t *frame, size_t len, uint8_t *pt, size_t cap,
                 size_t *pt_len)
{
    uint8_t nonce[NONCE_BYTES] = {0};
    if (!ch || !pt_len || (!frame && len) || (!pt && cap))
        return NR_EINVAL;
    *pt_len = 0;
    if (ch->state != ST_READY)
        return NR_EHANDSHAKE;
    if (len < NR_CHAN_FRAME_OVERHEAD)
        return NR_ETRUNCATED;
    size_t plen = len - NR_CHAN_FRAME_OVERHEAD;
    if (cap < plen)
        return NR_EFULL;
    memcpy(nonce + 4, frame, 8);
    unsigned long long mlen = 0;
    if (crypto_aead_chacha20poly1305_ietf_decrypt(pt, &mlen, NULL, frame + 8, len - 8, frame, 8,
                                                  nonce, ch->k_recv) != 0)
        return NR_EAUTH;
    if (get_u64le(frame) != ch->recv_ctr) {
        sodium_memzero(pt, (size_t)mlen);
        return NR_EREPLAY; /* authentic, but replayed or out of order */
    }
    ch->recv_ctr++;
    *pt_len = (size_t)mlen;
    return NR_OK;
}
