/* narrator-chain subcommands that act as a state enclave: they open the SE's TEE on its
 * platform and use its sealed identity (src/chan/identity.h). Built when nr_chan exists. */
#ifndef NR_ETH_CHAIN_SE_H
#define NR_ETH_CHAIN_SE_H

#include <stdint.h>

#include "eth/registry.h"

struct nr_chain_se_opts {
    const char *backend;       /* TEE backend, "sim" */
    const char *platform_dir;  /* the SE's platform */
    const char *identity_file; /* its sealed identity (narrator keygen) */
    const char *code_identity; /* NULL: NR_SE_CODE_IDENTITY */
};

/* se-key: give the identity an Ethereum key generated inside the TEE (nr_eth_keygen fed by
 * nr_tee_random) and re-seal it; an identity that has one keeps it. Writes its address. */
int nr_chain_se_key(const struct nr_chain_se_opts *o, uint8_t addr[NR_ETH_ADDR_BYTES],
                    int *created, char *err, size_t err_cap) __attribute__((warn_unused_result));

/* register-se: registerMember from the SE's own account with platformId = the TEE platform id,
 * identityKey = the identity public key, evidenceHash = keccak256 of fresh attestation evidence
 * binding the identity to system_id (nr_identity_evidence). */
int nr_chain_se_register(const struct nr_chain_se_opts *o, struct nr_registry *reg,
                         struct nr_eth_receipt *rc, struct nr_registry_member *m,
                         const uint8_t system_id[32], char *err, size_t err_cap)
    __attribute__((warn_unused_result));

#endif
