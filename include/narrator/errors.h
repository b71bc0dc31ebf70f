/* Narrator error codes: one table, one place.
 *
 * Every fallible function returns int: 0 (NR_OK) on success, a negative NR_E* code on
 * failure. nr_strerror() turns a code into a stable one-line message. Add codes at the end
 * of a group; never renumber (the numbers cross process boundaries in client replies). */
#ifndef NARRATOR_ERRORS_H
#define NARRATOR_ERRORS_H

#ifdef __cplusplus
extern "C" {
#endif

#define NR_ERRORS(X)                                                                              \
    /* generic */                                                                                 \
    X(NR_EINVAL, 1, "invalid argument")                                                           \
    X(NR_ENOMEM, 2, "out of memory")                                                              \
    X(NR_EFULL, 3, "capacity exhausted")                                                          \
    X(NR_EIO, 4, "I/O error")                                                                     \
    X(NR_ETIMEDOUT, 5, "timed out")                                                               \
    X(NR_ENOTFOUND, 6, "not found")                                                               \
    X(NR_EBUSY, 7, "busy: an operation is already in progress")                                   \
    X(NR_ECLOSED, 8, "connection closed")                                                         \
    X(NR_EUNAVAIL, 9, "service unavailable: no quorum reachable")                                 \
    X(NR_ECONFIG, 10, "bad configuration")                                                        \
    X(NR_EEXIST, 11, "already exists")                                                            \
    X(NR_EPERM, 12, "not permitted")                                                              \
    X(NR_ENOTSUP, 13, "not supported by this TEE backend")                                        \
    /* decoding of untrusted bytes */                                                             \
    X(NR_EMALFORMED, 20, "malformed message")                                                     \
    X(NR_ETRUNCATED, 21, "truncated input")                                                       \
    X(NR_ETOOBIG, 22, "length exceeds limit")                                                     \
    X(NR_EVERSION, 23, "unsupported protocol version")                                            \
    /* crypto, TEE, channels */                                                                   \
    X(NR_EAUTH, 30, "authentication failed")                                                      \
    X(NR_EREPLAY, 31, "replayed or reordered message")                                            \
    X(NR_EATTEST, 32, "attestation evidence rejected")                                            \
    X(NR_EMEASUREMENT, 33, "enclave measurement not allowed")                                     \
    X(NR_EUNSEAL, 34, "sealed data cannot be opened (wrong platform, enclave, or tampered)")      \
    X(NR_ENOTMEMBER, 35, "peer is not a member of this system")                                   \
    X(NR_EHANDSHAKE, 36, "channel handshake failed")                                              \
    X(NR_ECERT, 37, "certificate chain rejected (not to the pinned root, expired, or bad)")       \
    X(NR_EREVOKED, 38, "certificate revoked, or revocation list missing or stale")                \
    X(NR_ETCB, 39, "platform TCB status not allowed by the policy")                               \
    /* protocol outcomes visible to the AE (S6: each detection has its own code) */              \
    X(NR_ECONFLICT, 40, "conflicting write: version is not last+1")                               \
    X(NR_EROLLBACK, 41, "ROLLBACK DETECTED: sealed state is older than the network record")      \
    X(NR_EFORK, 42, "FORK DETECTED: two different digests for one version")                       \
    X(NR_EREPLAYDET, 43, "REPLAY DETECTED")                                                       \
    X(NR_ESUPERSEDED, 44, "this state enclave instance was superseded by a newer incarnation")    \
    X(NR_ENOTREADY, 45, "state enclave has not joined the network yet")                           \
    X(NR_ETOTALFAILURE, 46, "TOTAL FAILURE: more than f state enclaves lost their memory")        \
    X(NR_EAHEAD, 47, "sealed state is more than one version ahead of the network record")        \
    X(NR_ENORECORD, 48, "no record")                                                              \
    X(NR_EHALTED, 49, "state enclave halted")                                                     \
    X(NR_EGENESIS, 50, "GENESIS MISMATCH: the state enclave serves another network than this state") \
    X(NR_EEPOCH, 51, "epoch change: this state enclave handed its state over to the next epoch; retry at the new epoch") \
    X(NR_EHANDOVER, 52, "handover state refused: it does not match its certified root, epoch or predecessor") \
    /* chain */                                                                                   \
    X(NR_ERPC, 60, "JSON-RPC error")                                                              \
    X(NR_EREVERT, 61, "transaction reverted")                                                     \
    X(NR_ECHAINID, 62, "unexpected chain id")                                                     \
    X(NR_ENONCE, 63, "nonce too low")                                                             \
    X(NR_ECHAIN, 64, "on-chain record missing or different")                                     \
    X(NR_EUNREACHABLE, 65, "endpoint unreachable")                                               \
    X(NR_EPROOF, 66, "chain evidence rejected: a Merkle-Patricia proof or block header does not verify") \
    X(NR_EDISAGREE, 67, "chain endpoints disagree on the block at the confirmed height")         \
    X(NR_ESTALE, 68, "chain height is below the highest height already verified")

enum nr_err {
    NR_OK = 0,
#define NR_ERR_ENUM_(name, num, msg) name = -(num),
    NR_ERRORS(NR_ERR_ENUM_)
#undef NR_ERR_ENUM_
};

/* A stable, human-readable message for any value returned by a Narrator function. */
const char *nr_strerror(int err);
/* The symbolic name ("NR_EROLLBACK") of a code, or "NR_OK", or "NR_E?" if unknown. */
const char *nr_errname(int err);

#ifdef __cplusplus
}
#endif
#endif
