/* DCAP collateral for narratord under the gramine backend (config [SGX], config.h): the
 * files are read and checked at start-up, then every peer's and AE's quote is verified with
 * them (src/tee/tee.h, struct nr_attest_collateral). Files are untrusted input; an error is
 * ONE line "se0.ini:12: PckCrl: /path: reason". */
#ifndef NR_HOST_COLLATERAL_H
#define NR_HOST_COLLATERAL_H

#include <stddef.h>
#include <stdint.h>

#include "host/config.h"
#include "tee/tee.h"

#define NR_COLLATERAL_FILE_MAX (1024u * 1024u) /* a collateral file larger than this is refused */

struct nr_host_collateral {
    uint8_t *crl[NR_CFG_SGX_MAX_CRLS];
    size_t crl_len[NR_CFG_SGX_MAX_CRLS];
    uint8_t *tcb_info, *tcb_chain;
    size_t tcb_info_len, tcb_chain_len;
    struct nr_attest_collateral att; /* points into the buffers above */
    int loaded;                      /* an [SGX] section was loaded */
};

/* Load and check the files of cfg->sgx (nothing to do without [SGX]). NR_ECONFIG with the
 * message in err; `name` is the configuration file's name. */
int nr_host_collateral_load(struct nr_host_collateral *out, const struct nr_host_config *cfg,
                            const char *name, char *err, size_t err_cap)
    __attribute__((warn_unused_result));
void nr_host_collateral_free(struct nr_host_collateral *c);

/* Complete the policies from [SGX]: `peer` (already holding the root and the SE measurement)
 * gets the collateral and the debug setting; `ae` becomes the policy for AEs' quotes on the
 * local channel: the same root, collateral and debug setting, any MRENCLAVE (an AE's
 * identity is its measurement), and AeSigner as MRSIGNER when set. */
void nr_host_collateral_policies(const struct nr_host_config *cfg,
                                 const struct nr_host_collateral *c,
                                 struct nr_attest_policy *peer, struct nr_attest_policy *ae);

#endif
