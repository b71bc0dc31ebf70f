/* The genesis membership file: who the n = 2f+1 state enclaves of a system are.
 *
 * Text, one field per line, tokens separated by spaces or tabs; blank lines and lines
 * starting with '#' are ignored; no carriage returns, no NUL bytes, lines <= 4096 bytes:
 *
 *   narrator-membership 1                       (first field line; format version 1)
 *   system_id <64 hex>
 *   n <decimal>
 *   f <decimal>
 *   measurement <64 hex>                        (allowed SE measurement; 1..8 lines)
 *   attestation_root <64 hex>                   (sim: the root's Ed25519 public key)
 *   member <index> <identity_pub 64 hex> <platform_id 64 hex> <evidence hex> [eth_address 40 hex]
 *
 * The parser treats the text as untrusted: every error names the file and the line
 * ("membership.txt:7: bad hex in evidence"). Parsing checks syntax only;
 * nr_membership_verify() checks the meaning: n == 2f+1, indices 0..n-1 each exactly once,
 * distinct identity keys, distinct platform ids (S4: one slot per platform), and that every
 * member's evidence verifies against the attestation policy and binds its identity key,
 * its eth address slot and the system id (nr_identity_report_data) on the member's platform. */
#ifndef NR_MEMBERSHIP_H
#define NR_MEMBERSHIP_H

#include <stddef.h>
#include <stdint.h>

#include "chan/chan.h"
#include "chan/identity.h"
#include "core/core.h"
#include "narrator/errors.h"
#include "tee/tee.h"

#define NR_MEMBERSHIP_VERSION 1u
#define NR_MEMBERSHIP_MAX_BYTES (512u * 1024u) /* 16 members with DCAP quotes */
#define NR_MEMBERSHIP_MAX_LINE 17408u       /* a member line with a DCAP quote in hex */
#define NR_MEMBERSHIP_ERR_BYTES 256u /* a good size for error buffers */

struct nr_member {
    uint16_t index;
    uint8_t identity_pub[NR_IDENTITY_PUB_BYTES];
    uint8_t platform_id[NR_PLATFORM_ID_BYTES];
    uint8_t evidence[NR_EVIDENCE_MAX_BYTES];
    size_t ev_len;
    int has_eth;
    uint8_t eth_addr[NR_IDENTITY_ETH_ADDR_BYTES];
    unsigned line; /* where it was parsed (0 if built in memory) */
};

struct nr_membership {
    uint8_t system_id[NR_SYSTEM_ID_BYTES];
    uint16_t n, f;
    uint8_t measurements[NR_MAX_ALLOWED_MEASUREMENTS][NR_MEASUREMENT_BYTES];
    unsigned n_measurements;
    uint8_t attestation_root[NR_ATTEST_ROOT_PUB_BYTES];
    struct nr_member members[NR_MAX_MEMBERS];
    unsigned n_members;
    /* lines of the singular fields (0 = absent) */
    unsigned line_system_id, line_n, line_f, line_root;
    char name[128]; /* source name used in error messages */
};

/* Start an empty membership built in memory (for `narrator genesis`). */
void nr_membership_init(struct nr_membership *m, const uint8_t system_id[NR_SYSTEM_ID_BYTES],
                        uint16_t n, uint16_t f,
                        const uint8_t attestation_root[NR_ATTEST_ROOT_PUB_BYTES]);
int nr_membership_add_measurement(struct nr_membership *m,
                                  const uint8_t measurement[NR_MEASUREMENT_BYTES])
    __attribute__((warn_unused_result));
/* eth_addr may be NULL. NR_EFULL if there are already NR_MAX_MEMBERS members. */
int nr_membership_add_member(struct nr_membership *m, uint16_t index,
                             const uint8_t identity_pub[NR_IDENTITY_PUB_BYTES],
                             const uint8_t platform_id[NR_PLATFORM_ID_BYTES],
                             const uint8_t *evidence, size_t ev_len, const uint8_t *eth_addr)
    __attribute__((warn_unused_result));

/* Parse `len` bytes of text. `name` names the source in errors (e.g. the file name). On error
 * returns NR_EMALFORMED / NR_ETOOBIG / NR_EVERSION and writes "name:line: what" to err. */
int nr_membership_parse(struct nr_membership *m, const char *name, const char *text, size_t len,
                        char *err, size_t errcap) __attribute__((warn_unused_result));
/* Read and parse a file (NR_ENOTFOUND, NR_EIO, or the parse errors). */
int nr_membership_load(struct nr_membership *m, const char *path, char *err, size_t errcap)
    __attribute__((warn_unused_result));

/* Check the meaning (see above). `policy` may be NULL: then the file's own attestation root
 * and measurements are the policy; otherwise the given policy is used and the file's root
 * must equal the policy's. Returns NR_OK, NR_ECONFIG, NR_EATTEST, NR_EMEASUREMENT or
 * NR_EINVAL (unknown backend), with a message naming the line in err. */
int nr_membership_verify(const struct nr_membership *m, const char *backend,
                         const struct nr_attest_policy *policy, char *err, size_t errcap)
    __attribute__((warn_unused_result));

/* The attestation policy the file describes. */
void nr_membership_policy(const struct nr_membership *m, struct nr_attest_policy *policy);

/* Serialise (the format above; members in stored order). NR_EFULL if cap is too small. */
int nr_membership_write(const struct nr_membership *m, char *out, size_t cap, size_t *out_len)
    __attribute__((warn_unused_result));
/* Serialise to a file atomically (mode 0600). */
int nr_membership_save(const struct nr_membership *m, const char *path)
    __attribute__((warn_unused_result));

/* Member with this index, or NULL. */
const struct nr_member *nr_membership_member(const struct nr_membership *m, uint16_t index);

/* nr_chan_lookup_fn over a (verified) membership: arg is a const struct nr_membership *. */
int nr_membership_lookup(void *arg, const uint8_t identity_pub[NR_IDENTITY_PUB_BYTES],
                         uint16_t *member, uint8_t platform_id[NR_PLATFORM_ID_BYTES]);

#endif
