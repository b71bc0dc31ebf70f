/* Internal: the backends behind tee.h. tee.c holds `struct nr_tee` (which backend, and its
 * instance) and dispatches every call of tee.h to one of these. Callers outside src/tee/ use
 * tee.h only. Every function has the contract of its tee.h counterpart. */
#ifndef NR_TEE_BACKEND_H
#define NR_TEE_BACKEND_H

#include "tee/tee.h"

#define NR_GRAMINE_SEAL_KEY_BYTES 16u /* /dev/attestation/keys/<name> */

/* ---- sim (tee_sim.c) ---- */
struct nr_tee_sim;
int nr_sim_open(struct nr_tee_sim **out, const char *backend, const char *platform_dir,
                const char *code_identity);
void nr_sim_close(struct nr_tee_sim *tee);
void nr_sim_measurement(const struct nr_tee_sim *tee, uint8_t out[NR_MEASUREMENT_BYTES]);
void nr_sim_platform_id(const struct nr_tee_sim *tee, uint8_t out[NR_PLATFORM_ID_BYTES]);
void nr_sim_measure(const char *backend, const char *code_identity,
                    uint8_t out[NR_MEASUREMENT_BYTES]);
void nr_sim_random(struct nr_tee_sim *tee, uint8_t *out, size_t len);
int nr_sim_seal(struct nr_tee_sim *tee, const uint8_t *pt, size_t len, const uint8_t *ad,
                size_t ad_len, uint8_t *out, size_t cap, size_t *out_len);
int nr_sim_unseal(struct nr_tee_sim *tee, const uint8_t *blob, size_t len, const uint8_t *ad,
                  size_t ad_len, uint8_t *pt, size_t cap, size_t *pt_len);
int nr_sim_quote(struct nr_tee_sim *tee, const uint8_t report_data[NR_REPORT_DATA_BYTES],
                 uint8_t *evidence, size_t cap, size_t *ev_len);
int nr_sim_verify_evidence(const char *backend, const struct nr_attest_policy *policy,
                           const uint8_t *evidence, size_t ev_len,
                           const uint8_t report_data[NR_REPORT_DATA_BYTES],
                           uint8_t measurement[NR_MEASUREMENT_BYTES],
                           uint8_t platform_id[NR_PLATFORM_ID_BYTES]);
int nr_sim_local_report(struct nr_tee_sim *tee, const uint8_t target[NR_MEASUREMENT_BYTES],
                        const uint8_t report_data[NR_REPORT_DATA_BYTES],
                        uint8_t report[NR_LOCAL_REPORT_BYTES]);
int nr_sim_local_verify(struct nr_tee_sim *tee, const uint8_t report[NR_LOCAL_REPORT_BYTES],
                        uint8_t measurement[NR_MEASUREMENT_BYTES],
                        uint8_t report_data[NR_REPORT_DATA_BYTES]);

/* ---- gramine (tee_gramine.c): `dir` stands for /dev/attestation ---- */
struct nr_tee_gramine;
/* The gramine instance of tee, or NULL if tee is another backend's (tee.c). */
struct nr_tee_gramine *nr_tee_gramine_of(struct nr_tee *tee);
int nr_gramine_open(struct nr_tee_gramine **out, const char *dir);
void nr_gramine_close(struct nr_tee_gramine *tee);
void nr_gramine_measurement(const struct nr_tee_gramine *tee, uint8_t out[NR_MEASUREMENT_BYTES]);
void nr_gramine_platform_id(const struct nr_tee_gramine *tee, uint8_t out[NR_PLATFORM_ID_BYTES]);
int nr_gramine_seal(struct nr_tee_gramine *tee, const uint8_t *pt, size_t len, const uint8_t *ad,
                    size_t ad_len, uint8_t *out, size_t cap, size_t *out_len);
int nr_gramine_unseal(struct nr_tee_gramine *tee, const uint8_t *blob, size_t len,
                      const uint8_t *ad, size_t ad_len, uint8_t *pt, size_t cap, size_t *pt_len);
int nr_gramine_quote(struct nr_tee_gramine *tee, const uint8_t report_data[NR_REPORT_DATA_BYTES],
                     uint8_t *evidence, size_t cap, size_t *ev_len);
int nr_gramine_verify_evidence(const struct nr_attest_policy *policy, const uint8_t *evidence,
                               size_t ev_len, const uint8_t report_data[NR_REPORT_DATA_BYTES],
                               uint8_t measurement[NR_MEASUREMENT_BYTES],
                               uint8_t platform_id[NR_PLATFORM_ID_BYTES]);

#endif
