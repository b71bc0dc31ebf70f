/* The state enclave's code identity: what its TEE instance is opened for and what every
 * measurement of an SE is derived from. Defined once for the daemon, the CLI and libnarrator. */
#ifndef NR_COMMON_CODE_IDENTITY_H
#define NR_COMMON_CODE_IDENTITY_H

#define NR_SE_CODE_IDENTITY "narrator-se/1"

#endif
