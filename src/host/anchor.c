/* narratord's anchor worker: see anchor.h. */
#include "host/anchor.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "host/chain_evidence.h"
#include "host/log.h"

struct nr_anchor {
    struct nr_anchor_config cfg;
    pthread_t thread;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* shared, under mu */
    int stop;
    int want;
    int has_proposal;
    struct nr_genesis proposal;
    int has_result;
    struct nr_anchor_result result;
};

static void to_genesis(struct nr_genesis *g, const struct nr_evidence_genesis *ev,
                       const struct nr_anchor_config *cfg)
{
    memset(g, 0, sizeof *g);
    memcpy(g->id, ev->genesis.id, NR_GENESIS_ID_BYTES);
    memcpy(g->system_id, cfg->system_id, NR_SYSTEM_ID_BYTES);
    g->epoch = cfg->epoch;
    g->n = cfg->n;
    nr_genesis_unpack(g, (const uint8_t(*)[NR_GENESIS_WORD_BYTES])ev->genesis.founders, cfg->n);
}

static void post(struct nr_anchor *a, const struct nr_genesis *g)
{
    uint8_t words[NR_GENESIS_WORDS][NR_GENESIS_WORD_BYTES];
    char err[256] = "";
    nr_genesis_pack(words, g);
    int rc = nr_host_chain_post_genesis(NULL, a->cfg.chain, a->cfg.tee, a->cfg.identity_file,
                                        a->cfg.system_id, a->cfg.epoch, g->id,
                                        (const uint8_t *)words, err, sizeof err);
    if (rc == NR_OK)
        NR_LOGI("anchor: genesis %02x%02x%02x%02x... recorded on chain by this SE", g->id[0],
                g->id[1], g->id[2], g->id[3]);
    else if (rc == NR_EEXIST)
        NR_LOGI("anchor: a genesis is already recorded for this system (another member was "
                "first); reading it");
    else
        NR_LOGW("anchor: recording the genesis failed: %s (%s)", err[0] ? err : nr_strerror(rc),
                nr_errname(rc));
}

static void read_once(struct nr_anchor *a, struct nr_anchor_result *r)
{
    struct nr_evidence_genesis ev;
    memset(r, 0, sizeof *r);
    memset(&ev, 0, sizeof ev);
    r->rc = nr_host_chain_read_genesis(&ev, a->cfg.chain, a->cfg.tee, a->cfg.data_dir,
                                       a->cfg.system_id, a->cfg.epoch, r->err, sizeof r->err);
    if (r->rc != NR_OK)
        return;
    r->height = ev.block_number;
    r->system_finalized = ev.system.exists && ev.system.finalized;
    r->present = ev.genesis.recorded;
    if (r->present)
        to_genesis(&r->genesis, &ev, &a->cfg);
}

static void *worker(void *arg)
{
    struct nr_anchor *a = arg;
    pthread_mutex_lock(&a->mu);
    while (!a->stop) {
        if (!a->want && !a->has_proposal) {
            pthread_cond_wait(&a->cv, &a->mu);
            continue;
        }
        struct nr_genesis g;
        int have = a->has_proposal;
        if (have)
            g = a->proposal;
        a->has_proposal = 0;
        pthread_mutex_unlock(&a->mu);

        if (have)
            post(a, &g);
        struct nr_anchor_result r;
        read_once(a, &r);

        pthread_mutex_lock(&a->mu);
        a->result = r;
        a->has_result = 1;
        if (a->stop || a->has_proposal)
            continue;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)(NR_ANCHOR_POLL_MS % 1000u) * 1000000L;
        ts.tv_sec += (time_t)(NR_ANCHOR_POLL_MS / 1000u) + ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        (void)pthread_cond_timedwait(&a->cv, &a->mu, &ts);
    }
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

int nr_anchor_start(struct nr_anchor **out, const struct nr_anchor_config *cfg)
{
    struct nr_anchor *a = calloc(1, sizeof *a);
    *out = NULL;
    if (!a)
        return NR_ENOMEM;
    a->cfg = *cfg;
    if (pthread_mutex_init(&a->mu, NULL) != 0) {
        free(a);
        return NR_EIO;
    }
    if (pthread_cond_init(&a->cv, NULL) != 0) {
        pthread_mutex_destroy(&a->mu);
        free(a);
        return NR_EIO;
    }
    if (pthread_create(&a->thread, NULL, worker, a) != 0) {
        pthread_cond_destroy(&a->cv);
        pthread_mutex_destroy(&a->mu);
        free(a);
        return NR_EIO;
    }
    a->started = 1;
    *out = a;
    return NR_OK;
}

void nr_anchor_stop(struct nr_anchor *a)
{
    if (!a)
        return;
    pthread_mutex_lock(&a->mu);
    a->stop = 1;
    pthread_cond_signal(&a->cv);
    pthread_mutex_unlock(&a->mu);
    if (a->started)
        pthread_join(a->thread, NULL); /* a read in progress ends within its RPC timeouts */
    pthread_cond_destroy(&a->cv);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

void nr_anchor_want(struct nr_anchor *a, int want)
{
    pthread_mutex_lock(&a->mu);
    if (want && !a->want)
        pthread_cond_signal(&a->cv);
    a->want = want;
    pthread_mutex_unlock(&a->mu);
}

void nr_anchor_propose(struct nr_anchor *a, const struct nr_genesis *g)
{
    pthread_mutex_lock(&a->mu);
    a->proposal = *g;
    a->has_proposal = 1;
    pthread_cond_signal(&a->cv);
    pthread_mutex_unlock(&a->mu);
}

int nr_anchor_take(struct nr_anchor *a, struct nr_anchor_result *out)
{
    int got = 0;
    pthread_mutex_lock(&a->mu);
    if (a->has_result) {
        *out = a->result;
        a->has_result = 0;
        got = 1;
    }
    pthread_mutex_unlock(&a->mu);
    return got;
}
