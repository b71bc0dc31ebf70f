/* Authenticated channels, sans-I/O: handshake and frame protection only. The host moves the
 * bytes (framing: u32 little-endian length prefix per handshake message and per frame).
 *
 * SE <-> SE (NR_CHAN_PEER): mutual attestation binding each side's Ed25519 identity key,
 *   ephemeral X25519 key agreement, transcript signed by the identity key, fresh attestation
 *   evidence whose report data binds the identity key and the transcript. The peer's identity
 *   key must belong to the configured membership (lookup callback), its evidence must verify
 *   against the attestation policy and its platform id must match the membership entry.
 * AE -> local SE (NR_CHAN_LOCAL): the AE proves its measurement with a local report targeted
 *   at the SE's measurement; the SE proves itself with a local report targeted at the AE.
 *   Under the gramine backend (tee_backend "gramine"), where SGX reports cannot be verified,
 *   both sides send a fresh DCAP quote instead, verified against `policy`, and each requires
 *   the other to be on its own platform (chan.c has the messages).
 *
 * Frames: XChaCha20-Poly1305 (or ChaCha20-Poly1305-IETF) with a per-direction key from the
 * handshake and an explicit u64 counter; a frame is accepted only if its counter is exactly
 * the next expected one, so replays and reordering are rejected (NR_EREPLAY), tampering too
 * (NR_EAUTH). Frame layout: u64 counter || ciphertext || 16-byte tag. */
#ifndef NR_CHAN_H
#define NR_CHAN_H

#include <stddef.h>
#include <stdint.h>

#include "narrator/errors.h"
#include "tee/tee.h"

#define NR_IDENTITY_PUB_BYTES 32u /* Ed25519 public key */
#define NR_IDENTITY_SK_BYTES 64u  /* Ed25519 secret key (libsodium layout) */
#define NR_CHAN_FRAME_OVERHEAD (8u + 16u)
#define NR_CHAN_HS_MAX_BYTES 8448u /* any handshake message fits (a DCAP quote as evidence) */

enum nr_chan_kind { NR_CHAN_PEER = 1, NR_CHAN_LOCAL = 2 };
enum nr_chan_role { NR_CHAN_INITIATOR = 1, NR_CHAN_RESPONDER = 2 };

/* Resolve a peer identity key to a member index; return NR_OK or NR_ENOTMEMBER. The
 * member's expected platform id is written to platform_id (S4: one slot per platform). */
typedef int (*nr_chan_lookup_fn)(void *arg, const uint8_t identity_pub[NR_IDENTITY_PUB_BYTES],
                                 uint16_t *member, uint8_t platform_id[NR_PLATFORM_ID_BYTES]);

struct nr_chan_config {
    int kind; /* enum nr_chan_kind */
    int role; /* enum nr_chan_role */
    uint8_t system_id[32];
    struct nr_tee *tee; /* our enclave */
    /* PEER only */
    const uint8_t *identity_sk; /* NR_IDENTITY_SK_BYTES, ours */
    const uint8_t *identity_pub;
    uint16_t self;
    const char *tee_backend;
    const struct nr_attest_policy *policy;
    nr_chan_lookup_fn lookup;
    void *lookup_arg;
    /* LOCAL only: the SE's measurement (the AE targets its report at it). */
    uint8_t se_measurement[NR_MEASUREMENT_BYTES];
    /* LOCAL with tee_backend "gramine" (required then; tee_backend NULL or "sim": the report
     * handshake, policy unused): the AE verifies the SE's quote against `policy` (the SE's
     * MRENCLAVE in allowed, or its MRSIGNER; the pinned root), the SE verifies the AE's
     * (normally any_measurement, with the SE's root, collateral and debug setting). */
};

struct nr_chan; /* opaque, one per connection */

int nr_chan_create(struct nr_chan **out, const struct nr_chan_config *cfg)
    __attribute__((warn_unused_result));
void nr_chan_destroy(struct nr_chan *ch); /* wipes keys */

/* Handshake. The initiator calls nr_chan_hs_start() for its first message. Then each side
 * feeds every received handshake message to nr_chan_hs_recv(), which may produce a message to
 * send (*out_len > 0). Returns NR_OK while in progress or done (check nr_chan_ready()), or
 * an error (NR_EHANDSHAKE, NR_EATTEST, NR_EMEASUREMENT, NR_ENOTMEMBER, NR_EAUTH,
 * NR_EMALFORMED): then drop the connection. */
int nr_chan_hs_start(struct nr_chan *ch, uint8_t *out, size_t cap, size_t *out_len)
    __attribute__((warn_unused_result));
int nr_chan_hs_recv(struct nr_chan *ch, const uint8_t *in, size_t len, uint8_t *out, size_t cap,
                    size_t *out_len) __attribute__((warn_unused_result));
int nr_chan_ready(const struct nr_chan *ch);

/* After the handshake: who is on the other side. */
uint16_t nr_chan_peer_member(const struct nr_chan *ch);   /* PEER */
void nr_chan_peer_measurement(const struct nr_chan *ch,  /* LOCAL: the AE's measurement */
                              uint8_t out[NR_MEASUREMENT_BYTES]);

/* Protect / verify one frame. out needs len + NR_CHAN_FRAME_OVERHEAD bytes. */
int nr_chan_seal(struct nr_chan *ch, const uint8_t *pt, size_t len, uint8_t *out, size_t cap,
                 size_t *out_len) __attribute__((warn_unused_result));
int nr_chan_open(struct nr_chan *ch, const uint8_t *frame, size_t len, uint8_t *pt, size_t cap,
                 size_t *pt_len) __attribute__((warn_unused_result));

#endif
