/* Test fixture shared by the TEE, channel and membership unit tests: a temporary directory
 * under $TMPDIR with a simulated attestation root and platforms. Header-only (static). */
#ifndef NR_TEST_TEE_FIXTURE_H
#define NR_TEST_TEE_FIXTURE_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tee/tee.h"

#define FIX_MAX_PLATFORMS 6

struct fix {
    char dir[512];
    char root[600];
    char plat[FIX_MAX_PLATFORMS][600];
    uint8_t root_pub[NR_ATTEST_ROOT_PUB_BYTES];
};

static int fix_rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static inline void fix_rmtree(const char *dir)
{
    (void)nftw(dir, fix_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* Creates the temp dir, a root under root/, and `nplat` platforms under p<i>/. 0 on success. */
static inline int fix_setup(struct fix *f, int nplat)
{
    const char *tmp = getenv("TMPDIR");
    memset(f, 0, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "%s/nr-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->root, sizeof f->root, "%s/root", f->dir);
    if (nr_tee_sim_root_create(f->root) != NR_OK)
        return -1;
    if (nr_tee_sim_root_pub(f->root, f->root_pub) != NR_OK)
        return -1;
    for (int i = 0; i < nplat && i < FIX_MAX_PLATFORMS; i++) {
        snprintf(f->plat[i], sizeof f->plat[i], "%s/p%d", f->dir, i);
        if (nr_tee_sim_platform_create(f->plat[i], f->root) != NR_OK)
            return -1;
    }
    return 0;
}

static inline void fix_teardown(struct fix *f)
{
    if (f->dir[0])
        fix_rmtree(f->dir);
}

static inline void fix_policy(const struct fix *f, struct nr_attest_policy *pol,
                              const char *code_identity)
{
    memset(pol, 0, sizeof *pol);
    memcpy(pol->root_pub, f->root_pub, sizeof pol->root_pub);
    nr_tee_measure("sim", code_identity, pol->allowed[0]);
    pol->n_allowed = 1;
}

#endif
