/* narratord: start-up, the protocol core's host callbacks, the event loop, shutdown.
 *
 * Start-up order (docs/operations.md):
 *   config -> TEE (platform dir) -> sealed identity (DataDir/identity) -> membership file,
 *   verified for every member against the configured attestation root and our own
 *   measurement; our identity must be member `Index` on this platform -> sealed store
 *   (DataDir/store) -> incarnation: epoch = sealed hint epoch + 1, low bits from the TEE's
 *   randomness; the new epoch is written durably BEFORE the core starts -> core -> listeners
 *   -> nr_se_start.
 *
 * Loop: event_base_loop(EVLOOP_ONCE) runs every ready callback once; then the end-of-iteration
 * hook flushes the core's open batch (nr_se_flush), group-commits the store (DISK mode: one
 * transaction and one fsync, then nr_se_persisted for every token), writes the was_active
 * hint when the core became active, and frees closed connections. A 5 ms timer drives
 * nr_se_tick. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "chan/identity.h"
#include "chan/membership.h"
#include "host/daemon.h"
#ifdef NR_HOST_WITH_CHAIN
#include "host/anchor.h"
#include "host/chain.h"
#endif

/* One stop for every path that ends the loop: a signal (reason 0), a halt of the core, or a
 * fatal store failure. Sets the exit reason, and breaks the loop (a break outside the loop
 * is harmless: nr_daemon_run checks d->stop). */
static void daemon_stop(struct nr_daemon *d, int reason)
{
    if (reason != 0)
        d->halted_reason = reason;
    d->stop = 1;
    event_base_loopbreak(d->base);
}

/* ---- the protocol core's glue: its io callbacks (they must not call back into the core),
 * the transports' upcalls into it, and its creation ---- */

static void io_send_peer(void *ctx, uint16_t to, const uint8_t *msg, size_t len)
{
    struct nr_daemon *d = ctx;
    nr_peer_net_send(d->peer, to, msg, len);
}

static void io_client_reply(void *ctx, uint64_t client, uint64_t req_id, int status,
                            uint64_t version, const uint8_t digest[NR_DIGEST_BYTES])
{
    struct nr_daemon *d = ctx;
    nr_local_server_reply(d->local, client, req_id, status, version, digest);
}

static void io_persist(void *ctx, uint64_t token, const struct nr_record *recs, size_t count)
{
    struct nr_daemon *d = ctx;
    int rc = nr_store_put_records(d->store, recs, count);

    if (rc != NR_OK) {
        d->stats.store_errors++;
        nr_log_limited(&d->rl_store, nr_now_ms(),
                       d->cfg.durability == NR_DURABILITY_DISK ? NR_LOG_ERROR : NR_LOG_WARN,
                       "store: cannot write %zu records: %s", count, nr_strerror(rc));
        if (d->cfg.durability == NR_DURABILITY_DISK) {
            /* DISK durability promised persistence before acknowledging: stop serving. */
            NR_LOGE("FATAL store failure in DISK durability mode: stopping");
            daemon_stop(d, NR_EIO);
        }
        return;
    }
    d->stats.store_records += count;
    if (token != 0) {
        if (d->n_tokens == d->cap_tokens) {
            size_t cap = d->cap_tokens ? d->cap_tokens * 2u : 64u;
            uint64_t *t = realloc(d->tokens, cap * sizeof *t);
            if (!t) {
                NR_LOGE("FATAL out of memory queueing a persist token");
                daemon_stop(d, NR_ENOMEM);
                return;
            }
            d->tokens = t;
            d->cap_tokens = cap;
        }
        d->tokens[d->n_tokens++] = token;
    }
}

static void io_log(void *ctx, int level, const char *msg)
{
    (void)ctx;
    nr_log(level, "core: %s", msg);
}

static void io_halted(void *ctx, int reason)
{
    struct nr_daemon *d = ctx;

    if (reason == NR_ESUPERSEDED)
        NR_LOGE("FATAL superseded by a newer incarnation of SE %u: this instance stops serving",
                d->cfg.index);
    else if (reason == NR_ETOTALFAILURE)
        NR_LOGE("FATAL TOTAL FAILURE: more than f state enclaves lost their memory; "
                "this SE cannot rejoin safely and stops");
    else
        NR_LOGE("FATAL state enclave halted: %s (%s)", nr_strerror(reason), nr_errname(reason));
    daemon_stop(d, reason ? reason : NR_EHALTED);
}

static void io_genesis_proposed(void *ctx, const struct nr_genesis *g)
{
    struct nr_daemon *d = ctx;
#ifdef NR_HOST_WITH_CHAIN
    if (d->anchor)
        nr_anchor_propose(d->anchor, g); /* the worker posts it; the core waits for the chain */
#else
    (void)d;
    (void)g;
#endif
}

static void io_active(void *ctx)
{
    struct nr_daemon *d = ctx;

    d->became_active = 1;
    NR_LOGI("SE %u is ACTIVE (incarnation %016llx): serving", d->cfg.index,
            (unsigned long long)d->incarnation);
}

static int peer_on_msg(void *ctx, uint16_t member, const uint8_t *msg, size_t len)
{
    struct nr_daemon *d = ctx;
    return nr_se_on_peer_msg(d->se, member, msg, len, nr_now_ms());
}

static void peer_on_connected(void *ctx, uint16_t member)
{
    struct nr_daemon *d = ctx;
    if (d->se)
        nr_se_peer_connected(d->se, member, nr_now_ms());
}

static void local_client_update(void *ctx, uint64_t client, uint64_t req_id,
                                const uint8_t key[NR_KEY_BYTES], uint64_t version,
                                const uint8_t digest[NR_DIGEST_BYTES], uint64_t now_ms)
{
    struct nr_daemon *d = ctx;
    nr_se_client_write(d->se, client, req_id, key, version, digest, now_ms);
}

static void local_client_read(void *ctx, uint64_t client, uint64_t req_id,
                              const uint8_t key[NR_KEY_BYTES], uint64_t now_ms)
{
    struct nr_daemon *d = ctx;
    nr_se_client_read(d->se, client, req_id, key, now_ms);
}

static void local_client_gone(void *ctx, uint64_t client)
{
    struct nr_daemon *d = ctx;
    if (d->se)
        nr_se_client_gone(d->se, client);
}

static void local_status(void *ctx, struct nr_local_status *out)
{
    struct nr_daemon *d = ctx;
    const struct nr_se_stats *s = nr_se_stats(d->se);

    out->state = (uint64_t)nr_se_state(d->se);
    out->incarnation = nr_se_incarnation(d->se);
    out->writes_committed = s->writes_committed;
    out->reads_served = s->reads_served;
    out->records = (uint64_t)nr_se_record_count(d->se);
}

static int local_genesis_id(void *ctx, uint8_t out[NR_GENESIS_ID_BYTES])
{
    struct nr_daemon *d = ctx;
    return nr_se_genesis_id(d->se, out);
}

/* The epochs before this one (docs/protocol.md §10.5): the predecessor the core verified (its
 * genesis record on chain, or its certified start state). */
static unsigned local_lineage(void *ctx, uint8_t (*out)[NR_GENESIS_ID_BYTES], unsigned max)
{
    struct nr_daemon *d = ctx;
    return max > 0 && nr_se_predecessor(d->se, out[0]) == NR_OK ? 1u : 0u;
}

/* The core of this incarnation, from the sealed hint (was_active) and the configuration. */
static int core_create(struct nr_daemon *d, const struct nr_store_hint *hint)
{
    memset(&d->se_cfg, 0, sizeof d->se_cfg);
    memcpy(d->se_cfg.system_id, d->system_id, sizeof d->se_cfg.system_id);
    d->se_cfg.n = d->n;
    d->se_cfg.f = d->f;
    d->se_cfg.self = d->cfg.index;
    d->se_cfg.incarnation = d->incarnation;
    nr_tee_random(d->tee, (uint8_t *)&d->se_cfg.nonce, sizeof d->se_cfg.nonce);
    if (d->se_cfg.nonce == 0)
        d->se_cfg.nonce = 1; /* 0 means "derive" (tests only) */
    d->se_cfg.was_active = hint->was_active;
    d->se_cfg.anchored = d->anchored;
    d->se_cfg.epoch = NR_CHAIN_EPOCH_FIRST;
    d->se_cfg.has_genesis_hint = hint->has_genesis;
    memcpy(d->se_cfg.genesis_hint, hint->genesis, NR_GENESIS_ID_BYTES);
    d->se_cfg.max_records = d->cfg.max_records;
    d->se_cfg.max_batch = d->cfg.max_batch;
    d->se_cfg.max_inflight = d->cfg.max_inflight;
    d->se_cfg.durability = d->cfg.durability;
    nr_se_config_defaults(&d->se_cfg);
    struct nr_se_io io = {
        .ctx = d,
        .send_peer = io_send_peer,
        .client_reply = io_client_reply,
        .persist = d->cfg.snapshot ? io_persist : NULL, /* off: MEMORY durability only */
        .log = io_log,
        .halted = io_halted,
        .active = io_active,
        .genesis_proposed = io_genesis_proposed,
    };
    return nr_se_create(&d->se, &d->se_cfg, &io);
}

/* ---- loop ---- */

#define NR_SUMMARY_MS 60000u

/* One INFO line a minute: what an operator checks first. */
static void log_summary(struct nr_daemon *d, uint64_t now)
{
    const struct nr_se_stats *s = nr_se_stats(d->se);
    uint64_t dt = now - d->last_summary_ms;

    NR_LOGI("summary: %s, %zu records, %u/%u peers connected, %u clients, "
            "%.0f writes/s, %.0f reads/s, dropped: %llu malformed %llu stale %llu unauth",
            nr_se_state_name(nr_se_state(d->se)), nr_se_record_count(d->se),
            nr_peer_net_connected(d->peer), d->n > 0 ? d->n - 1u : 0u,
            nr_local_server_clients(d->local),
            dt ? (double)(s->writes_committed - d->last_summary_writes) * 1000.0 / (double)dt : 0.0,
            dt ? (double)(s->reads_served - d->last_summary_reads) * 1000.0 / (double)dt : 0.0,
            (unsigned long long)s->msgs_dropped_malformed,
            (unsigned long long)s->msgs_dropped_stale_inc,
            (unsigned long long)(nr_peer_net_stats(d->peer)->frames_unauth +
                                 nr_local_server_stats(d->local)->frames_unauth));
    d->last_summary_ms = now;
    d->last_summary_writes = s->writes_committed;
    d->last_summary_reads = s->reads_served;
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    struct nr_daemon *d = arg;
    uint64_t now = nr_now_ms();
    (void)fd;
    (void)what;
    if (d->stop)
        return;
    nr_se_tick(d->se, now);
#ifdef NR_HOST_WITH_CHAIN
    if (d->anchor) {
        struct nr_anchor_result r;
        nr_anchor_want(d->anchor, nr_se_wants_anchor(d->se));
        if (nr_anchor_take(d->anchor, &r)) {
            if (r.rc != NR_OK)
                nr_log_limited(&d->rl_anchor, now, NR_LOG_WARN,
                               "anchor: chain evidence not accepted: %s (%s); retrying",
                               r.err[0] ? r.err : nr_strerror(r.rc), nr_errname(r.rc));
            else if (!r.system_finalized)
                nr_log_limited(&d->rl_anchor, now, NR_LOG_WARN,
                               "anchor: the system is not finalised on chain at block %llu",
                               (unsigned long long)r.height);
            else
                nr_se_anchor(d->se, r.present ? &r.genesis : NULL, r.height, now);
        }
    }
#endif
    if (now - d->last_summary_ms >= NR_SUMMARY_MS)
        log_summary(d, now);
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
    struct nr_daemon *d = arg;
    (void)what;
    if (sig == SIGHUP) {
        if (d->cfg.log_file[0] && nr_log_open_file(d->cfg.log_file) != NR_OK)
            NR_LOGE("cannot reopen log file %s", d->cfg.log_file);
        NR_LOGI("SIGHUP: log file reopened");
        return;
    }
    NR_LOGI("%s: shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    daemon_stop(d, 0);
}

static void group_commit(struct nr_daemon *d, uint64_t now)
{
    int disk = d->cfg.durability == NR_DURABILITY_DISK;
    size_t pending = nr_store_batch_size(d->store);
    int rc;

    if (disk) {
        if (pending == 0 && d->n_tokens == 0)
            return;
    } else if (pending == 0 || (now - d->last_commit_ms < NR_WRITE_BEHIND_MS && pending < 65536u)) {
        return;
    }
    rc = nr_store_commit(d->store, disk);
    d->last_commit_ms = now;
    if (rc != NR_OK) {
        d->stats.store_errors++;
        if (disk) {
            NR_LOGE("FATAL store commit failed in DISK durability mode: %s", nr_strerror(rc));
            daemon_stop(d, NR_EIO);
            return;
        }
        nr_log_limited(&d->rl_store, now, NR_LOG_WARN, "store: write-behind commit failed: %s",
                       nr_strerror(rc));
        return;
    }
    d->stats.store_commits++;
}

static void end_of_iteration(struct nr_daemon *d)
{
    uint64_t now = nr_now_ms();

    d->stats.loop_iterations++;
    if (!d->stop) {
        nr_se_flush(d->se, now);
        for (int round = 0; round < 4 && !d->stop; round++) {
            group_commit(d, now);
            if (d->n_tokens == 0 || d->stop)
                break;
            /* Everything given to persist() so far is on disk: report it. nr_se_persisted may
             * queue more tokens (they go in the next commit). */
            size_t n = d->n_tokens;
            uint64_t *t = malloc(n * sizeof *t);
            if (!t)
                break;
            memcpy(t, d->tokens, n * sizeof *t);
            d->n_tokens = 0;
            for (size_t i = 0; i < n && !d->stop; i++)
                nr_se_persisted(d->se, t[i], now);
            free(t);
            nr_se_flush(d->se, now);
        }
    }
    if (!d->stop && nr_se_incarnation(d->se) != d->incarnation) {
        /* The core re-incarnated while JOINING (a newer incarnation of this member exists):
         * keep the epoch hint ahead of it so that the next start draws a higher one. */
        d->incarnation = nr_se_incarnation(d->se);
        struct nr_store_hint h = {.epoch = nr_incarnation_epoch(d->incarnation),
                                  .was_active = d->se_cfg.was_active,
                                  .has_genesis = d->se_cfg.has_genesis_hint};
        memcpy(h.genesis, d->se_cfg.genesis_hint, NR_GENESIS_ID_BYTES);
        NR_LOGW("re-incarnated as %016llx (epoch %u)", (unsigned long long)d->incarnation, h.epoch);
        if (nr_store_hint_put(d->store, &h) != NR_OK) {
            d->stats.store_errors++;
            NR_LOGW("store: cannot record the epoch hint");
        }
    }
    if (d->became_active && !d->stop) {
        struct nr_store_hint h = {.epoch = nr_incarnation_epoch(d->incarnation), .was_active = 1};
        h.has_genesis = nr_se_genesis_id(d->se, h.genesis) == NR_OK;
        int rc = nr_store_hint_put(d->store, &h);
        if (rc != NR_OK) {
            d->stats.store_errors++;
            NR_LOGW("store: cannot record the was_active hint: %s", nr_strerror(rc));
        }
        d->became_active = 0;
    }
    /* Push before reaping (dirty lists may name connections closed in this iteration),
     * then again for what was written while reaping (a push with nothing queued is free). */
    nr_peer_net_push(d->peer);
    nr_local_server_push(d->local);
    nr_peer_net_reap(d->peer);
    nr_local_server_reap(d->local);
    nr_peer_net_push(d->peer);
    nr_local_server_push(d->local);
}

int nr_daemon_run(struct nr_daemon *d)
{
    nr_se_start(d->se, nr_now_ms());
    end_of_iteration(d);
    while (!d->stop) {
        if (event_base_loop(d->base, EVLOOP_ONCE) < 0) {
            NR_LOGE("event loop failed");
            d->halted_reason = NR_EIO;
            break;
        }
        end_of_iteration(d);
    }
    switch (d->halted_reason) {
    case 0:
        return NR_EXIT_OK;
    case NR_ESUPERSEDED:
        return NR_EXIT_SUPERSEDED;
    case NR_ETOTALFAILURE:
        return NR_EXIT_TOTALFAILURE;
    default:
        return NR_EXIT_HALTED;
    }
}

/* ---- start-up ---- */

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        snprintf(err, err_cap, __VA_ARGS__);                                                       \
        goto fail;                                                                                 \
    } while (0)

static int load_membership(struct nr_daemon *d, char *err, size_t err_cap)
{
    struct nr_membership *m = calloc(1, sizeof *m);
    char merr[NR_MEMBERSHIP_ERR_BYTES];
    uint8_t platform_id[NR_PLATFORM_ID_BYTES];
    const struct nr_member *me;
    int rc = NR_ECONFIG;

    if (!m) {
        snprintf(err, err_cap, "out of memory");
        return NR_ENOMEM;
    }
    rc = nr_membership_load(m, d->cfg.membership_path, merr, sizeof merr);
    if (rc != NR_OK)
        FAIL("membership: %s:%d: Membership: %s", d->cfg.source, d->cfg.membership_line,
             merr[0] ? merr : nr_strerror(rc));
    /* Policy: the configured attestation root, and SEs running exactly our code. */
    memset(&d->policy, 0, sizeof d->policy);
    memcpy(d->policy.root_pub, d->cfg.attestation_root, sizeof d->policy.root_pub);
    memcpy(d->policy.allowed[0], d->measurement, NR_MEASUREMENT_BYTES);
    d->policy.n_allowed = 1;
    nr_host_collateral_policies(&d->cfg, &d->collateral, &d->policy, &d->ae_policy);
    rc = nr_membership_verify(m, d->cfg.tee_backend, &d->policy, merr, sizeof merr);
    if (rc != NR_OK)
        FAIL("membership: %s:%d: Membership: %s", d->cfg.source, d->cfg.membership_line,
             merr[0] ? merr : nr_strerror(rc));
    if (m->n < 1 || m->n > NR_MAX_MEMBERS)
        FAIL("membership: bad member count %u", m->n);
    if (d->cfg.index >= m->n)
        FAIL("%s: Index %u is not a member index of this system (n = %u)", d->config_path,
             d->cfg.index, m->n);
    me = nr_membership_member(m, d->cfg.index);
    nr_tee_platform_id(d->tee, platform_id);
    if (!me || sodium_memcmp(me->identity_pub, d->identity_pub, NR_IDENTITY_PUB_BYTES) != 0)
        FAIL("membership: member %u is not this SE's identity (DataDir/identity)", d->cfg.index);
    if (sodium_memcmp(me->platform_id, platform_id, NR_PLATFORM_ID_BYTES) != 0)
        FAIL("membership: member %u belongs to another platform than %s", d->cfg.index,
             d->cfg.platform_dir);
    d->n = m->n;
    d->f = m->f;
    memcpy(d->system_id, m->system_id, sizeof d->system_id);
    for (uint16_t i = 0; i < m->n; i++) {
        const struct nr_member *x = nr_membership_member(m, i);
        if (!x)
            FAIL("membership: member %u missing", i);
        memcpy(d->members[i].identity_pub, x->identity_pub, NR_IDENTITY_PUB_BYTES);
        memcpy(d->members[i].platform_id, x->platform_id, NR_PLATFORM_ID_BYTES);
    }
    if (d->cfg.chain.enabled) {
        /* S4: serve nothing unless the chain shows this finalised membership (host/chain.h). */
#ifdef NR_HOST_WITH_CHAIN
        int skipped = 0;
        rc = nr_host_chain_verify(&d->cfg.chain, m, d->cfg.index, d->identity_pub, platform_id,
                                  d->measurement, &skipped, err, err_cap);
        if (rc != NR_OK)
            goto fail_keep_msg;
#else
        if (d->cfg.chain.required)
            FAIL("%s: [Chain]: this narratord was built without the chain client", d->config_path);
        NR_LOGW("[Chain]: built without the chain client; Required = no: not checked");
#endif
    }
    free(m);
    return NR_OK;
#ifdef NR_HOST_WITH_CHAIN
fail_keep_msg:
    free(m);
    return rc;
#endif
fail:
    free(m);
    return rc != NR_OK ? rc : NR_ECONFIG;
}

/* The peer network: checks the [Peer] sections against the membership (no socket yet). */
static int new_peer_net(struct nr_daemon *d, char *err, size_t err_cap)
{
    struct nr_peer_net_config pc = {
        .cfg = &d->cfg,
        .config_path = d->config_path,
        .tee = d->tee,
        .identity_sk = d->identity_sk,
        .identity_pub = d->identity_pub,
        .system_id = d->system_id,
        .policy = &d->policy,
        .members = d->members,
        .n = d->n,
        .max_records = d->cfg.max_records,
    };
    struct nr_peer_net_ops ops = {
        .ctx = d,
        .on_msg = peer_on_msg,
        .on_connected = peer_on_connected,
    };
    return nr_peer_net_new(&d->peer, &pc, &ops, err, err_cap);
}

/* The local AE server: binds the socket. */
static int start_local(struct nr_daemon *d)
{
    struct nr_local_server_config lc = {
        .socket_path = d->cfg.socket_path,
        .tee = d->tee,
        .tee_backend = d->cfg.tee_backend,
        .system_id = d->system_id,
        .measurement = d->measurement,
        .ae_policy = &d->ae_policy,
        .self = d->cfg.index,
    };
    struct nr_local_server_ops ops = {
        .ctx = d,
        .client_update = local_client_update,
        .client_read = local_client_read,
        .client_gone = local_client_gone,
        .status = local_status,
        .genesis_id = local_genesis_id,
        .lineage = local_lineage,
    };
    int rc = nr_local_server_new(&d->local, &lc, &ops);
    return rc != NR_OK ? rc : nr_local_server_start(d->local, d->base);
}

int nr_daemon_init(struct nr_daemon *d, const char *config_path, char *err, size_t err_cap)
{
    struct nr_identity id;
    struct nr_store_hint hint;
    char path[NR_CFG_PATH_MAX + 32];
    uint32_t rnd;
    int rc;

    memset(d, 0, sizeof *d);
    memset(&id, 0, sizeof id);
    err[0] = '\0';
    d->config_path = config_path;
    d->start_ms = nr_now_ms();
    d->last_summary_ms = d->start_ms;
    rc = nr_host_config_load(&d->cfg, config_path, err, err_cap);
    if (rc != NR_OK)
        return rc;
    nr_log_set_level(d->cfg.log_level);
    if (d->cfg.log_file[0] && nr_log_open_file(d->cfg.log_file) != NR_OK)
        FAIL("%s: LogFile: cannot open %s: %s", config_path, d->cfg.log_file, strerror(errno));
    if (sodium_init() < 0)
        FAIL("libsodium initialisation failed");

    rc = nr_host_collateral_load(&d->collateral, &d->cfg, config_path, err, err_cap);
    if (rc != NR_OK)
        return rc;
    rc = nr_tee_open(&d->tee, d->cfg.tee_backend, d->cfg.platform_dir, NR_SE_CODE_IDENTITY);
    if (rc != NR_OK)
        FAIL("TEE (%s, platform %s): %s", d->cfg.tee_backend, d->cfg.platform_dir, nr_strerror(rc));
    nr_tee_measurement(d->tee, d->measurement);

    if ((size_t)snprintf(path, sizeof path, "%s/identity", d->cfg.data_dir) >= sizeof path)
        FAIL("%s: DataDir: path too long", config_path);
    rc = nr_identity_load(d->tee, path, &id);
    if (rc != NR_OK)
        FAIL("identity %s: %s", path, nr_strerror(rc));
    memcpy(d->identity_sk, id.sk, sizeof d->identity_sk);
    memcpy(d->identity_pub, id.pub, sizeof d->identity_pub);
    nr_identity_wipe(&id);

    rc = load_membership(d, err, err_cap);
    if (rc != NR_OK)
        goto fail_keep_msg;
    rc = new_peer_net(d, err, err_cap);
    if (rc != NR_OK)
        goto fail_keep_msg;

    if ((size_t)snprintf(path, sizeof path, "%s/store", d->cfg.data_dir) >= sizeof path)
        FAIL("%s: DataDir: path too long", config_path);
    rc = nr_store_open(&d->store, path, d->tee, d->cfg.max_records);
    if (rc != NR_OK)
        FAIL("store %s: %s", path, nr_strerror(rc));
    rc = nr_store_hint_get(d->store, &hint);
    if (rc == NR_ENOTFOUND) {
        memset(&hint, 0, sizeof hint);
        NR_LOGI("no sealed hint: first start of this data directory");
    } else if (rc != NR_OK) {
        /* Only a hint: the protocol does not rely on it (docs/protocol.md §5). */
        NR_LOGW("sealed hint unreadable (%s): tampered or foreign store, treated as absent",
                nr_strerror(rc));
        memset(&hint, 0, sizeof hint);
    }
    if (hint.epoch == UINT32_MAX)
        FAIL("sealed hint: epoch space exhausted");
    nr_tee_random(d->tee, (uint8_t *)&rnd, sizeof rnd);
    d->incarnation = nr_incarnation_make(hint.epoch + 1u, rnd);
    hint.epoch += 1u;
    /* The new epoch is durable before anything is sent with the new incarnation. */
    rc = nr_store_hint_put(d->store, &hint);
    if (rc != NR_OK)
        FAIL("store: cannot write the epoch hint: %s", nr_strerror(rc));

    d->anchored = d->cfg.chain.enabled;
#ifndef NR_HOST_WITH_CHAIN
    if (d->anchored)
        FAIL("%s: [Chain]: this narratord was built without the chain client", config_path);
#endif
    rc = core_create(d, &hint);
    if (rc != NR_OK)
        FAIL("protocol core: %s (max_records %u)", nr_strerror(rc), d->cfg.max_records);
#ifdef NR_HOST_WITH_CHAIN
    if (d->anchored) {
        if ((size_t)snprintf(d->identity_path, sizeof d->identity_path, "%s/identity",
                             d->cfg.data_dir) >= sizeof d->identity_path)
            FAIL("%s: DataDir: path too long", config_path);
        struct nr_anchor_config ac = {
            .chain = &d->cfg.chain,
            .tee = d->tee,
            .data_dir = d->cfg.data_dir,
            .identity_file = d->identity_path,
            .system_id = d->system_id,
            .epoch = d->se_cfg.epoch,
            .n = d->n,
        };
        rc = nr_anchor_start(&d->anchor, &ac);
        if (rc != NR_OK)
            FAIL("anchor: cannot start the chain worker: %s", nr_strerror(rc));
        nr_anchor_want(d->anchor, 1);
    }
#endif
    if (!d->anchored)
        NR_LOGW("UNANCHORED (development only): no [Chain] section, so genesis is decided "
                "locally: a host that starts blank instances of every member can run a second "
                "network beside this one (docs/threat-model.md, docs/protocol.md 6.3)");

    d->base = event_base_new();
    if (!d->base)
        FAIL("event_base_new failed");
    rc = nr_peer_net_start(d->peer, d->base);
    if (rc != NR_OK)
        FAIL("%s: Listen: cannot listen on %s: %s", config_path, d->cfg.listen.text,
             strerror(errno));
    rc = start_local(d);
    if (rc != NR_OK)
        FAIL("%s: Socket: cannot serve on %s: %s", config_path, d->cfg.socket_path,
             nr_strerror(rc));
    rc = nr_metrics_start(d);
    if (rc != NR_OK)
        FAIL("%s: Metrics: cannot listen on %s", config_path, d->cfg.metrics.text);

    {
        static const int sigs[3] = {SIGTERM, SIGINT, SIGHUP};
        for (int i = 0; i < 3; i++) {
            d->sig_ev[i] = evsignal_new(d->base, sigs[i], signal_cb, d);
            if (!d->sig_ev[i] || evsignal_add(d->sig_ev[i], NULL) != 0)
                FAIL("cannot install signal handlers");
        }
        signal(SIGPIPE, SIG_IGN);
    }
    d->tick_ev = event_new(d->base, -1, EV_PERSIST, tick_cb, d);
    {
        struct timeval tv = {0, (suseconds_t)NR_TICK_MS * 1000};
        if (!d->tick_ev || event_add(d->tick_ev, &tv) != 0)
            FAIL("cannot start the timer");
    }
    NR_LOGI("narratord SE %u of n=%u f=%u starting: incarnation %016llx (epoch %u), "
            "durability %s, was_active hint %d, %s",
            d->cfg.index, d->n, d->f, (unsigned long long)d->incarnation, hint.epoch,
            d->cfg.durability == NR_DURABILITY_DISK ? "disk" : "memory", hint.was_active,
            d->anchored ? "anchored on chain" : "UNANCHORED (development only)");
    return NR_OK;
fail:
    rc = rc != NR_OK ? rc : NR_EIO;
fail_keep_msg:
    nr_identity_wipe(&id);
    return rc != NR_OK ? rc : NR_EIO;
}

void nr_daemon_free(struct nr_daemon *d)
{
#ifdef NR_HOST_WITH_CHAIN
    nr_anchor_stop(d->anchor); /* before the TEE and the core it reads from go */
    d->anchor = NULL;
#endif
    nr_metrics_stop(d);
    nr_local_server_free(d->local);
    d->local = NULL;
    nr_peer_net_free(d->peer);
    d->peer = NULL;
    if (d->store) {
        int rc = nr_store_commit(d->store, 1);
        if (rc != NR_OK)
            NR_LOGW("store: final commit failed: %s", nr_strerror(rc));
    }
    for (int i = 0; i < 3; i++)
        if (d->sig_ev[i])
            event_free(d->sig_ev[i]);
    if (d->tick_ev)
        event_free(d->tick_ev);
    nr_se_destroy(d->se);
    nr_store_close(d->store);
    nr_tee_close(d->tee);
    nr_host_collateral_free(&d->collateral);
    if (d->base)
        event_base_free(d->base);
    free(d->tokens);
    sodium_memzero(d->identity_sk, sizeof d->identity_sk);
    nr_log_close();
}
