/* TEE interface (tee.h): one enclave instance of one backend, and the dispatch of every call
 * to that backend (tee_sim.c, tee_gramine.c). An unknown backend name is NR_EINVAL. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "tee/tee_backend.h"

enum backend { B_NONE = 0, B_SIM = 1, B_GRAMINE = 2 };

struct nr_tee {
    enum backend kind;
    struct nr_tee_sim *sim;
    struct nr_tee_gramine *gramine;
};

static enum backend backend_of(const char *name)
{
    if (!name)
        return B_NONE;
    if (strcmp(name, "sim") == 0)
        return B_SIM;
    if (strcmp(name, "gramine") == 0)
        return B_GRAMINE;
    return B_NONE;
}

struct nr_tee_gramine *nr_tee_gramine_of(struct nr_tee *tee)
{
    return tee && tee->kind == B_GRAMINE ? tee->gramine : NULL;
}

int nr_tee_open(struct nr_tee **out, const char *backend, const char *platform_dir,
                const char *code_identity)
{
    if (!out || !platform_dir || !code_identity)
        return NR_EINVAL;
    *out = NULL;
    enum backend kind = backend_of(backend);
    if (kind == B_NONE)
        return NR_EINVAL;
    struct nr_tee *t = calloc(1, sizeof *t);
    if (!t)
        return NR_ENOMEM;
    t->kind = kind;
    int rc = kind == B_SIM ? nr_sim_open(&t->sim, backend, platform_dir, code_identity)
                           : nr_gramine_open(&t->gramine, platform_dir);
    if (rc != NR_OK) {
        free(t);
        return rc;
    }
    *out = t;
    return NR_OK;
}

void nr_tee_close(struct nr_tee *tee)
{
    if (!tee)
        return;
    nr_sim_close(tee->sim);
    nr_gramine_close(tee->gramine);
    free(tee);
}

void nr_tee_measurement(const struct nr_tee *tee, uint8_t out[NR_MEASUREMENT_BYTES])
{
    if (tee->kind == B_SIM)
        nr_sim_measurement(tee->sim, out);
    else
        nr_gramine_measurement(tee->gramine, out);
}

void nr_tee_platform_id(const struct nr_tee *tee, uint8_t out[NR_PLATFORM_ID_BYTES])
{
    if (tee->kind == B_SIM)
        nr_sim_platform_id(tee->sim, out);
    else
        nr_gramine_platform_id(tee->gramine, out);
}

void nr_tee_measure(const char *backend, const char *code_identity,
                    uint8_t out[NR_MEASUREMENT_BYTES])
{
    /* Only the sim backend measures by name; elsewhere an all-zero measurement. */
    nr_sim_measure(backend, code_identity, out);
}

void nr_tee_random(struct nr_tee *tee, uint8_t *out, size_t len)
{
    if (tee && tee->kind == B_SIM) {
        nr_sim_random(tee->sim, out, len);
        return;
    }
    /* Inside Gramine, getrandom() is served by the enclave (RDRAND), not by the host. */
    randombytes_buf(out, len);
}

int nr_tee_seal(struct nr_tee *tee, const uint8_t *pt, size_t len, const uint8_t *ad,
                size_t ad_len, uint8_t *out, size_t cap, size_t *out_len)
{
    if (!tee || !out || !out_len || (!pt && len) || (!ad && ad_len))
        return NR_EINVAL;
    return tee->kind == B_SIM ? nr_sim_seal(tee->sim, pt, len, ad, ad_len, out, cap, out_len)
                              : nr_gramine_seal(tee->gramine, pt, len, ad, ad_len, out, cap,
                                                out_len);
}

int nr_tee_unseal(struct nr_tee *tee, const uint8_t *blob, size_t len, const uint8_t *ad,
                  size_t ad_len, uint8_t *pt, size_t cap, size_t *pt_len)
{
    if (!tee || !pt_len || (!blob && len) || (!ad && ad_len) || (!pt && cap))
        return NR_EINVAL;
    return tee->kind == B_SIM
               ? nr_sim_unseal(tee->sim, blob, len, ad, ad_len, pt, cap, pt_len)
               : nr_gramine_unseal(tee->gramine, blob, len, ad, ad_len, pt, cap, pt_len);
}

int nr_tee_quote(struct nr_tee *tee, const uint8_t report_data[NR_REPORT_DATA_BYTES],
                 uint8_t *evidence, size_t cap, size_t *ev_len)
{
    if (!tee || !report_data || !evidence || !ev_len)
        return NR_EINVAL;
    return tee->kind == B_SIM ? nr_sim_quote(tee->sim, report_data, evidence, cap, ev_len)
                              : nr_gramine_quote(tee->gramine, report_data, evidence, cap,
                                                 ev_len);
}

int nr_tee_verify_evidence(const char *backend, const struct nr_attest_policy *policy,
                           const uint8_t *evidence, size_t ev_len,
                           const uint8_t report_data[NR_REPORT_DATA_BYTES],
                           uint8_t measurement[NR_MEASUREMENT_BYTES],
                           uint8_t platform_id[NR_PLATFORM_ID_BYTES])
{
    switch (backend_of(backend)) {
    case B_SIM:
        return nr_sim_verify_evidence(backend, policy, evidence, ev_len, report_data,
                                      measurement, platform_id);
    case B_GRAMINE:
        if (!policy || !report_data || (!evidence && ev_len))
            return NR_EINVAL;
        return nr_gramine_verify_evidence(policy, evidence, ev_len, report_data, measurement,
                                          platform_id);
    default:
        return NR_EINVAL;
    }
}

int nr_tee_local_report(struct nr_tee *tee, const uint8_t target[NR_MEASUREMENT_BYTES],
                        const uint8_t report_data[NR_REPORT_DATA_BYTES],
                        uint8_t report[NR_LOCAL_REPORT_BYTES])
{
    if (!tee)
        return NR_EINVAL;
    if (tee->kind != B_SIM)
        return NR_ENOTSUP; /* see tee.h: SGX reports cannot be verified under Gramine */
    return nr_sim_local_report(tee->sim, target, report_data, report);
}

int nr_tee_local_verify(struct nr_tee *tee, const uint8_t report[NR_LOCAL_REPORT_BYTES],
                        uint8_t measurement[NR_MEASUREMENT_BYTES],
                        uint8_t report_data[NR_REPORT_DATA_BYTES])
{
    if (!tee)
        return NR_EINVAL;
    if (tee->kind != B_SIM)
        return NR_ENOTSUP;
    return nr_sim_local_verify(tee->sim, report, measurement, report_data);
}
