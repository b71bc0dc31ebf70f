/* Fuzz target: the AE's sealed state files (src/client/seal.c, nr_state_file_open), which the
 * host controls completely. Input byte 0 picks a mode:
 *   even: the rest is the raw file; it must never be accepted (the sealing key is fresh for
 *         this process, so nothing the fuzzer writes can be a valid sealed file);
 *   odd:  the rest is [u64 version][u16 flip][state]: seal (state, version), open it back
 *         (must round-trip exactly), then flip one bit at `flip` (must be rejected), and open
 *         it under the other file name (must be rejected: the name is bound). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "client/client_internal.h"
#include "fuzz_replay.h"
#include "tee/tee.h"

static struct nr_tee *g_tee;
static uint8_t g_sys[NR_SYSTEM_ID_BYTES];

static int init(void)
{
    char dir[] = "/tmp/nr-fuzz-state-XXXXXX", root[64], plat[64];
    if (sodium_init() < 0 || !mkdtemp(dir)) {
        return -1;
    }
    snprintf(root, sizeof root, "%s/root", dir);
    snprintf(plat, sizeof plat, "%s/plat", dir);
    if (nr_tee_sim_root_create(root) || nr_tee_sim_platform_create(plat, root) ||
        nr_tee_open(&g_tee, "sim", plat, "fuzz-ae/1")) {
        return -1;
    }
    memset(g_sys, 0x5a, sizeof g_sys);
    return 0;
}

static const char *const g_names[2] = {"/x/state.0", "/x/state.1"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_tee && init() != 0) {
        abort();
    }
    if (size < 1) {
        return 0;
    }
    uint8_t mode = data[0];
    data++;
    size--;
    struct nr_sealed_cand cand;
    struct nr_loaded ld;
    if ((mode & 1) == 0) {
        unsigned idx = (mode >> 1) & 1u;
        if (nr_state_file_open(g_tee, g_sys, g_names[idx], idx, data, size, &cand, &ld) != NR_OK) {
            return 0; /* out of memory */
        }
        if (cand.present) {
            abort(); /* forged sealed file accepted */
        }
        nr_loaded_free(&ld);
        return 0;
    }
    if (size < 10) {
        return 0;
    }
    uint64_t version = 0;
    for (unsigned i = 0; i < 8; i++) {
        version |= (uint64_t)data[i] << (8 * i);
    }
    if (version == 0) {
        version = 1;
    }
    size_t flip = (size_t)data[8] | (size_t)data[9] << 8;
    const uint8_t *state = data + 10;
    size_t len = size - 10;
    unsigned idx = (unsigned)(version & 1u);
    uint8_t *file = NULL;
    size_t flen = 0;
    uint8_t genesis[NR_GENESIS_ID_BYTES];
    memset(genesis, data[8], sizeof genesis);
    if (nr_state_file_build(g_tee, g_sys, genesis, g_names[idx], state, len, version, &file,
                            &flen) != NR_OK) {
        abort();
    }
    /* round trip */
    if (nr_state_file_open(g_tee, g_sys, g_names[idx], idx, file, flen, &cand, &ld) != NR_OK ||
        !cand.present || cand.version != version || ld.pt_len != len + 40u ||
        memcmp(cand.genesis, genesis, sizeof genesis) != 0 ||
        (len > 0 && memcmp(ld.pt + 40, state, len) != 0)) {
        abort();
    }
    uint8_t d[NR_DIGEST_BYTES];
    nr_state_digest(d, state, len, version);
    if (memcmp(d, cand.digest, sizeof d) != 0) {
        abort();
    }
    nr_loaded_free(&ld);
    /* the other name (swapped files) is refused */
    if (nr_state_file_open(g_tee, g_sys, g_names[idx ^ 1u], idx ^ 1u, file, flen, &cand, &ld) !=
            NR_OK ||
        cand.present) {
        abort();
    }
    nr_loaded_free(&ld);
    /* any single bit flip is refused */
    size_t at = flip % flen;
    file[at] ^= (uint8_t)(1u << (data[8] & 7u));
    if (nr_state_file_open(g_tee, g_sys, g_names[idx], idx, file, flen, &cand, &ld) != NR_OK ||
        cand.present) {
        abort();
    }
    nr_loaded_free(&ld);
    free(file);
    return 0;
}
