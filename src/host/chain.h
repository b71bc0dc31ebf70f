/* narratord's chain check (guarantee S4, docs/chain.md "Initialisation", step 4).
 *
 * With a [Chain] section in the configuration, before the daemon creates the protocol core
 * or opens any socket, it reads the finalised membership of its system id from the
 * NarratorRegistry contract (nr_registry_verify, at the head minus Confirmations - 1) and
 * compares it with the membership file, which is only a cache of that record:
 *   - the system exists and is finalised, with our measurement;
 *   - n and f are the file's;
 *   - member i on chain (registration order) is member i of the file: same identity key,
 *     same platform id, evidence hash = keccak256(the file's evidence for i), and the same
 *     Ethereum account when the file names one;
 *   - this SE (its identity key and platform) is one of them, at its configured Index.
 * Any difference is final: the check fails at once (NR_ECHAIN, NR_EMEASUREMENT, NR_ENOTMEMBER)
 * with one line saying what differs. An unreachable chain (transport errors, timeouts, HTTP
 * or JSON-RPC errors) is retried with exponential backoff, 0.5 s doubling up to 10 s, each
 * failure logged, until StartTimeout; then NR_EUNREACHABLE (or the last error). With
 * Required = no, only that last case is tolerated: a warning, and the daemon serves from the
 * membership file. */
#ifndef NR_HOST_CHAIN_H
#define NR_HOST_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#include "chan/membership.h"
#include "host/config.h"

#define NR_HOST_CHAIN_BACKOFF_MIN_MS 500u
#define NR_HOST_CHAIN_BACKOFF_MAX_MS 10000u

/* Returns NR_OK when the chain confirms the membership (or, with Required = no, when the
 * chain stayed unreachable: *skipped = 1). Otherwise an NR_E* code and one line in err. */
int nr_host_chain_verify(const struct nr_host_chain *cfg, const struct nr_membership *m,
                         uint16_t self, const uint8_t identity_pub[NR_IDENTITY_PUB_BYTES],
                         const uint8_t platform_id[NR_PLATFORM_ID_BYTES],
                         const uint8_t measurement[NR_MEASUREMENT_BYTES], int *skipped, char *err,
                         size_t err_cap) __attribute__((warn_unused_result));

/* The comparison alone (no I/O), for tests: chain record sys/members vs the file. */
struct nr_registry_system;
struct nr_registry_member;
int nr_host_chain_compare(const struct nr_registry_system *sys,
                          const struct nr_registry_member *members, size_t n_members,
                          const struct nr_membership *m, uint16_t self,
                          const uint8_t identity_pub[NR_IDENTITY_PUB_BYTES],
                          const uint8_t platform_id[NR_PLATFORM_ID_BYTES], char *err,
                          size_t err_cap) __attribute__((warn_unused_result));

#endif
