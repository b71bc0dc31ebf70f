/* narratord's anchor: the chain reads and the genesis transaction of an anchored SE, run on a
 * worker thread so that the event loop never waits for a JSON-RPC endpoint.
 *
 * The worker loops while it is wanted (the core waits on the anchor: nr_se_wants_anchor) or a
 * genesis proposal is waiting to be posted:
 *   - a proposal (the core's genesis_proposed callback) is posted first: recordGenesis from
 *     this SE's own account (nr_host_chain_post_genesis); "already recorded" is normal (another
 *     member was first) and only logged;
 *   - then the genesis of (system id, epoch) is read and verified (nr_host_chain_read_genesis:
 *     k of m endpoints agree on the block at the confirmed height, storage proofs, the sealed
 *     highest height never goes back) and handed to the loop;
 *   - then it sleeps NR_ANCHOR_POLL_MS (or until woken).
 * The loop takes results with nr_anchor_take() (from its tick) and feeds them to the core
 * (nr_se_anchor). The only state shared with the loop is this struct, behind its mutex. */
#ifndef NR_HOST_ANCHOR_H
#define NR_HOST_ANCHOR_H

#include <stdint.h>

#include "core/core.h"
#include "host/config.h"

#define NR_ANCHOR_POLL_MS 500u

struct nr_tee;
struct nr_anchor;

struct nr_anchor_config {
    const struct nr_host_chain *chain; /* [Chain] */
    struct nr_tee *tee;
    const char *data_dir;      /* chain.height lives here */
    const char *identity_file; /* DataDir/identity: the SE's sealed Ethereum key */
    const uint8_t *system_id;  /* 32 bytes */
    uint32_t epoch;
    uint16_t n;
};

/* What the loop gets: a verified read (rc NR_OK: present says whether a genesis is recorded)
 * or the error of the last attempt. */
struct nr_anchor_result {
    int rc;
    int present;
    struct nr_genesis genesis;
    uint64_t height;
    int system_finalized; /* the system record at that height */
    char err[256];
};

int nr_anchor_start(struct nr_anchor **out, const struct nr_anchor_config *cfg)
    __attribute__((warn_unused_result));
void nr_anchor_stop(struct nr_anchor *a); /* joins the worker; NULL is fine */
/* Whether the worker should keep reading the chain (the core waits on the anchor). */
void nr_anchor_want(struct nr_anchor *a, int want);
/* Queue a proposal for posting (a newer one replaces an unposted older one). */
void nr_anchor_propose(struct nr_anchor *a, const struct nr_genesis *g);
/* 1 and *out filled if a new result is waiting, else 0. */
int nr_anchor_take(struct nr_anchor *a, struct nr_anchor_result *out);

#endif
