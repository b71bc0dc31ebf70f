/* nr-bench: load generator for Narrator. Drives many application-enclave (AE) clients
 * through libnarrator against one or more local state enclaves (narratord, or the
 * bench/null_server loopback limit), and reports committed updates/s, reads/s, latency
 * quantiles from a log-linear histogram, the error count, and the CPU use of the given
 * daemon processes and of itself.
 *
 * Concurrency = clients x window: every client is one AE record with its own channel and its
 * own thread; a writer keeps up to `window` pipelined updates outstanding (nr_update_submit /
 * nr_update_wait), a reader does one nr_read at a time. Clients are spread over the given SEs
 * (--se SOCKET,PLATFORM_DIR, repeatable: AE i talks to SE i mod #SE, as an AE on that
 * platform).
 *
 * Session mode (--records R): every client is one session (nr_session_open, one channel)
 * with R records; each writer record keeps `window` updates outstanding, each reader record
 * one read; every client has its own thread (nr_session_wait collects completions of all
 * its records; requests and replies travel many to a channel frame).
 *
 * Closed loop (default): each client issues its next request when a reply comes back.
 * Open loop (--rate R): requests are scheduled at a fixed total arrival rate R/s, split evenly
 * over the clients, each client in its own thread with its own schedule; latency is measured
 * from the *intended* send time, so a stalled server shows up in the tail instead of silently
 * lowering the offered load (no coordinated omission; the model of wrk2).
 *
 * Checks while it runs: every committed version must be the one submitted, and a read must
 * never return an older version than the client knows committed (S1). Any failure is an
 * error; a run with errors prints "NOT A RESULT" and exits 1. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hist.h"
#include "narrator/narrator.h"
#include "procstat.h"

#define MAX_SES 16
#define MAX_PIDS 32
#define MAX_WINDOW 4096u
#define MAX_CLIENT_THREADS 1024u
#define SETUP_OUTSTANDING 2048u /* session mode: requests in flight while setting up */
#define N_ERRSLOTS 128 /* error codes are small negatives: count by -code */

struct se_target {
    char socket[256];
    char platform[256];
};

struct opts {
    struct se_target se[MAX_SES];
    int n_se;
    uint8_t system_id[NR_SYSTEM_ID_BYTES];
    const char *code_identity;
    const char *se_code_identity;
    const char *prefix;
    const char *json;
    const char *label;
    unsigned clients;
    unsigned threads;
    unsigned window;
    double duration_s;
    double warmup_s;
    double read_ratio;
    double rate; /* 0 = closed loop */
    unsigned long populate; /* > 0: populate mode, create this many records */
    unsigned records;       /* > 0: session mode, records per client */
    uint32_t timeout_ms;
    pid_t pids[MAX_PIDS];
    char pid_names[MAX_PIDS][32];
    int n_pids;
    int quiet;
};

struct client {
    struct nr_client *c;
    unsigned idx;
    int reader;
    int dead;
    uint64_t committed;  /* last version known committed */
    uint64_t next;       /* next version to submit */
    unsigned outstanding;
    unsigned head;       /* ring of send (or intended) times of outstanding updates */
    uint64_t *sent_ns;
    /* session mode */
    struct nr_session *s;
    struct srec *recs;
};

/* Session mode: one record of a client's session. */
struct srec {
    struct nr_rec *r;
    uint64_t committed, next;
    unsigned outstanding, head;
    uint64_t *sent_ns; /* ring of `window` send times */
};

struct worker {
    pthread_t tid;
    const struct opts *o;
    struct client *cl;
    unsigned n_cl;
    uint64_t t_measure_ns; /* start of the measured window */
    uint64_t t_end_ns;
    struct nr_hist h_upd;
    struct nr_hist h_read;
    uint64_t updates;      /* completed inside the measured window */
    uint64_t reads;
    uint64_t errors;
    uint64_t err_by_code[N_ERRSLOTS];
    uint64_t check_failures; /* wrong committed version / read went backwards */
    int setup_err;
    double rate; /* open loop: this thread's share of the arrival rate */
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_until_ns(uint64_t t)
{
    struct timespec ts = {.tv_sec = (time_t)(t / 1000000000u), .tv_nsec = (long)(t % 1000000000u)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
}

static void count_error(struct worker *w, int rc)
{
    w->errors++;
    unsigned slot = rc < 0 && -rc < N_ERRSLOTS ? (unsigned)-rc : 0u;
    w->err_by_code[slot]++;
}

static void make_digest(uint8_t d[NR_DIGEST_BYTES], unsigned idx, uint64_t version)
{
    memset(d, 0, NR_DIGEST_BYTES);
    for (unsigned i = 0; i < 8; i++) {
        d[i] = (uint8_t)(version >> (8 * i));
        d[8 + i] = (uint8_t)((uint64_t)idx >> (8 * i));
    }
    d[31] = 0xb5;
}

static int client_open(struct worker *w, struct client *cl)
{
    const struct opts *o = w->o;
    const struct se_target *se = &o->se[cl->idx % (unsigned)o->n_se];
    struct nr_client_options copt;
    memset(&copt, 0, sizeof(copt));
    copt.socket_path = se->socket;
    copt.platform_dir = se->platform;
    copt.tee_backend = "sim";
    copt.code_identity = o->code_identity;
    copt.se_code_identity = o->se_code_identity;
    memcpy(copt.system_id, o->system_id, NR_SYSTEM_ID_BYTES);
    copt.timeout_ms = o->timeout_ms;
    copt.window = o->window;
    char name[128];
    snprintf(name, sizeof(name), "%s-%u", o->prefix, cl->idx);
    int rc = nr_open(&cl->c, &copt, name);
    if (rc != NR_OK) {
        fprintf(stderr, "nr-bench: client %u: open %s via %s: %s\n", cl->idx, name, se->socket,
                nr_strerror(rc));
        return rc;
    }
    /* Continue from the network's record (reruns reuse record names), and make sure the
     * record exists so that readers read something. */
    uint8_t digest[NR_DIGEST_BYTES];
    uint64_t v = 0;
    rc = nr_read(cl->c, &v, digest);
    if (rc != NR_OK) {
        fprintf(stderr, "nr-bench: client %u: initial read: %s\n", cl->idx, nr_strerror(rc));
        return rc;
    }
    uint64_t committed = 0;
    make_digest(digest, cl->idx, v + 1);
    rc = nr_update(cl->c, v + 1, digest, &committed);
    if (rc != NR_OK) {
        fprintf(stderr, "nr-bench: client %u: initial update: %s\n", cl->idx, nr_strerror(rc));
        return rc;
    }
    cl->committed = v + 1;
    cl->next = v + 2;
    return NR_OK;
}

/* Submit the client's next update, remembering `t` (send or intended time). */
static int submit_one(struct worker *w, struct client *cl, uint64_t t)
{
    uint8_t digest[NR_DIGEST_BYTES];
    make_digest(digest, cl->idx, cl->next);
    int rc = nr_update_submit(cl->c, cl->next, digest);
    if (rc != NR_OK) {
        count_error(w, rc);
        cl->dead = 1;
        return rc;
    }
    cl->sent_ns[(cl->head + cl->outstanding) % w->o->window] = t;
    cl->outstanding++;
    cl->next++;
    return NR_OK;
}

/* Collect the client's oldest outstanding update. */
static int wait_one(struct worker *w, struct client *cl)
{
    uint64_t committed = 0;
    int rc = nr_update_wait(cl->c, &committed);
    uint64_t t = now_ns();
    uint64_t t0 = cl->sent_ns[cl->head];
    cl->head = (cl->head + 1u) % w->o->window;
    cl->outstanding--;
    if (rc != NR_OK) {
        count_error(w, rc);
        cl->dead = 1;
        return rc;
    }
    uint64_t expect = cl->committed + 1u;
    if (committed != expect) {
        fprintf(stderr, "nr-bench: client %u: committed version %" PRIu64 ", expected %" PRIu64 "\n",
                cl->idx, committed, expect);
        w->check_failures++;
        count_error(w, 0);
        cl->dead = 1;
        return NR_EINVAL;
    }
    cl->committed = committed;
    if (t >= w->t_measure_ns && t <= w->t_end_ns) {
        w->updates++;
        nr_hist_record(&w->h_upd, t > t0 ? t - t0 : 0);
    }
    return NR_OK;
}

static int read_one(struct worker *w, struct client *cl, uint64_t t0)
{
    uint8_t digest[NR_DIGEST_BYTES];
    uint64_t v = 0;
    int rc = nr_read(cl->c, &v, digest);
    uint64_t t = now_ns();
    if (rc != NR_OK) {
        count_error(w, rc);
        cl->dead = 1;
        return rc;
    }
    if (v < cl->committed) {
        fprintf(stderr, "nr-bench: client %u: read version %" PRIu64 " < committed %" PRIu64 "\n",
                cl->idx, v, cl->committed);
        w->check_failures++;
        count_error(w, 0);
        cl->dead = 1;
        return NR_EINVAL;
    }
    if (t >= w->t_measure_ns && t <= w->t_end_ns) {
        w->reads++;
        nr_hist_record(&w->h_read, t > t0 ? t - t0 : 0);
    }
    return NR_OK;
}

static void drain(struct worker *w)
{
    for (unsigned i = 0; i < w->n_cl; i++) {
        struct client *cl = &w->cl[i];
        while (!cl->dead && cl->outstanding > 0) {
            (void)wait_one(w, cl);
        }
    }
}

static void run_closed(struct worker *w)
{
    uint64_t start = now_ns();
    for (unsigned i = 0; i < w->n_cl; i++) {
        struct client *cl = &w->cl[i];
        while (!cl->reader && !cl->dead && cl->outstanding < w->o->window) {
            (void)submit_one(w, cl, start);
        }
    }
    for (;;) {
        unsigned alive = 0;
        for (unsigned i = 0; i < w->n_cl; i++) {
            struct client *cl = &w->cl[i];
            if (cl->dead) {
                continue;
            }
            alive++;
            if (cl->reader) {
                (void)read_one(w, cl, now_ns());
            } else if (wait_one(w, cl) == NR_OK) {
                uint64_t t = now_ns();
                if (t < w->t_end_ns) {
                    (void)submit_one(w, cl, t);
                }
            }
        }
        if (alive == 0 || now_ns() >= w->t_end_ns) {
            break;
        }
    }
    drain(w);
}

/* The writer whose oldest outstanding update was sent first (NULL if none outstanding). */
static struct client *oldest_outstanding(struct worker *w)
{
    struct client *best = NULL;
    for (unsigned i = 0; i < w->n_cl; i++) {
        struct client *cl = &w->cl[i];
        if (!cl->dead && cl->outstanding > 0 &&
            (!best || cl->sent_ns[cl->head] < best->sent_ns[best->head])) {
            best = cl;
        }
    }
    return best;
}

static void run_open(struct worker *w)
{
    double rate_t = w->rate;
    double interval = 1e9 / rate_t;
    uint64_t t0 = now_ns();
    for (uint64_t k = 0;; k++) {
        uint64_t intended = t0 + (uint64_t)((double)k * interval);
        if (intended >= w->t_end_ns) {
            break;
        }
        /* Collect replies while it is not yet time to send. */
        struct client *old;
        while (now_ns() < intended && (old = oldest_outstanding(w)) != NULL) {
            (void)wait_one(w, old);
        }
        if (now_ns() < intended) {
            sleep_until_ns(intended);
        }
        struct client *cl = NULL;
        for (unsigned j = 0; j < w->n_cl; j++) {
            struct client *c = &w->cl[(k + j) % w->n_cl];
            if (!c->dead) {
                cl = c;
                break;
            }
        }
        if (!cl) {
            break;
        }
        if (cl->reader) {
            (void)read_one(w, cl, intended);
        } else {
            if (cl->outstanding >= w->o->window) {
                (void)wait_one(w, cl);
            }
            if (!cl->dead) {
                (void)submit_one(w, cl, intended);
            }
        }
    }
    drain(w);
}

/* ---- session mode ---- */

static unsigned srec_window(const struct worker *w, const struct client *cl)
{
    return cl->reader ? 1u : w->o->window;
}

static int srec_submit(struct worker *w, struct client *cl, unsigned j, uint64_t t)
{
    struct srec *sr = &cl->recs[j];
    int rc;
    if (cl->reader) {
        rc = nr_record_submit_read(sr->r, j);
    } else {
        uint8_t digest[NR_DIGEST_BYTES];
        make_digest(digest, cl->idx * 65536u + j, sr->next);
        rc = nr_record_submit_update(sr->r, sr->next, digest, j);
    }
    if (rc != NR_OK) {
        count_error(w, rc);
        cl->dead = 1;
        return rc;
    }
    sr->sent_ns[(sr->head + sr->outstanding) % srec_window(w, cl)] = t;
    sr->outstanding++;
    if (!cl->reader) {
        sr->next++;
    }
    return NR_OK;
}

/* Collect completions; refill: submit the record's next request for each one. */
static int sess_wait(struct worker *w, struct client *cl, int refill)
{
    struct nr_completion done[256];
    size_t n = 0;
    int rc = nr_session_wait(cl->s, done, 256, &n);
    uint64_t t = now_ns();
    if (rc != NR_OK) {
        count_error(w, rc);
        cl->dead = 1;
        return rc;
    }
    for (size_t k = 0; k < n && !cl->dead; k++) {
        if (done[k].tag >= w->o->records) {
            count_error(w, 0);
            cl->dead = 1;
            break;
        }
        unsigned j = (unsigned)done[k].tag;
        struct srec *sr = &cl->recs[j];
        uint64_t t0 = sr->sent_ns[sr->head];
        sr->head = (sr->head + 1u) % srec_window(w, cl);
        sr->outstanding--;
        if (done[k].status != NR_OK) {
            count_error(w, done[k].status);
            cl->dead = 1;
            break;
        }
        int in_window = t >= w->t_measure_ns && t <= w->t_end_ns;
        if (done[k].op == NR_OP_UPDATE) {
            if (done[k].version != sr->committed + 1u) {
                fprintf(stderr, "nr-bench: client %u record %u: committed %" PRIu64
                                ", expected %" PRIu64 "\n",
                        cl->idx, j, done[k].version, sr->committed + 1u);
                w->check_failures++;
                count_error(w, 0);
                cl->dead = 1;
                break;
            }
            sr->committed = done[k].version;
            if (in_window) {
                w->updates++;
                nr_hist_record(&w->h_upd, t > t0 ? t - t0 : 0);
            }
        } else {
            if (done[k].version < sr->committed) {
                fprintf(stderr, "nr-bench: client %u record %u: read %" PRIu64 " < committed %" PRIu64
                                "\n", cl->idx, j, done[k].version, sr->committed);
                w->check_failures++;
                count_error(w, 0);
                cl->dead = 1;
                break;
            }
            if (in_window) {
                w->reads++;
                nr_hist_record(&w->h_read, t > t0 ? t - t0 : 0);
            }
        }
        if (refill && t < w->t_end_ns) {
            (void)srec_submit(w, cl, j, t);
        }
    }
    return NR_OK;
}

static int session_open(struct worker *w, struct client *cl)
{
    const struct opts *o = w->o;
    const struct se_target *se = &o->se[cl->idx % (unsigned)o->n_se];
    struct nr_client_options copt;
    memset(&copt, 0, sizeof(copt));
    copt.socket_path = se->socket;
    copt.platform_dir = se->platform;
    copt.tee_backend = "sim";
    copt.code_identity = o->code_identity;
    copt.se_code_identity = o->se_code_identity;
    memcpy(copt.system_id, o->system_id, NR_SYSTEM_ID_BYTES);
    copt.timeout_ms = o->timeout_ms;
    uint64_t win = (uint64_t)o->records * o->window;
    copt.window = win > 65536u ? 65536u : (uint32_t)win;
    cl->recs = calloc(o->records, sizeof(*cl->recs));
    uint64_t *rings = calloc((size_t)o->records * o->window, sizeof(uint64_t));
    if (!cl->recs || !rings) {
        free(rings);
        return NR_ENOMEM;
    }
    for (unsigned j = 0; j < o->records; j++) {
        cl->recs[j].sent_ns = rings + (size_t)j * o->window;
    }
    int rc = nr_session_open(&cl->s, &copt);
    if (rc != NR_OK) {
        fprintf(stderr, "nr-bench: client %u: session via %s: %s\n", cl->idx, se->socket,
                nr_strerror(rc));
        return rc;
    }
    /* Pipelined opens (no round trip each), then the network's records (pipelined reads),
     * then one update each so that every record exists. */
    for (unsigned j = 0; j < o->records && rc == NR_OK; j++) {
        char name[128];
        snprintf(name, sizeof(name), "%s-%u-%u", o->prefix, cl->idx, j);
        rc = nr_record_submit_open(&cl->recs[j].r, cl->s, name, j);
        while (rc == NR_EFULL) { /* window full: collect opens */
            struct nr_completion done[256];
            size_t n = 0;
            rc = nr_session_wait(cl->s, done, 256, &n);
            for (size_t k = 0; rc == NR_OK && k < n; k++) {
                rc = done[k].status;
            }
            if (rc == NR_OK) {
                rc = nr_record_submit_open(&cl->recs[j].r, cl->s, name, j);
            }
        }
    }
    while (rc == NR_OK && nr_session_outstanding(cl->s) > 0) {
        struct nr_completion done[256];
        size_t n = 0;
        rc = nr_session_wait(cl->s, done, 256, &n);
        for (size_t k = 0; rc == NR_OK && k < n; k++) {
            rc = done[k].status;
        }
    }
    if (rc != NR_OK) {
        fprintf(stderr, "nr-bench: client %u: open: %s\n", cl->idx, nr_strerror(rc));
        return rc;
    }
    int reader = cl->reader;
    cl->reader = 1;
    uint64_t forever = w->t_end_ns;
    w->t_end_ns = 0; /* nothing measured, no refill */
    /* at most SETUP_OUTSTANDING per session: the SE's table of pending requests is bounded
     * (NR_EBUSY beyond it) */
    for (unsigned j = 0; rc == NR_OK && !cl->dead && (j < o->records ||
                                                     nr_session_outstanding(cl->s) > 0);) {
        if (j < o->records && nr_session_outstanding(cl->s) < SETUP_OUTSTANDING) {
            rc = srec_submit(w, cl, j++, 0);
            continue;
        }
        struct nr_completion done[256];
        size_t n = 0;
        rc = nr_session_wait(cl->s, done, 256, &n);
        for (size_t k = 0; rc == NR_OK && k < n; k++) {
            struct srec *sr = &cl->recs[done[k].tag % o->records];
            sr->outstanding--;
            rc = done[k].status;
            sr->committed = done[k].version;
            sr->next = sr->committed + 1u;
        }
    }
    cl->reader = 0;
    for (unsigned j = 0; rc == NR_OK && !cl->dead && (j < o->records ||
                                                     nr_session_outstanding(cl->s) > 0);) {
        if (j < o->records && nr_session_outstanding(cl->s) < SETUP_OUTSTANDING) {
            cl->recs[j].head = 0;
            rc = srec_submit(w, cl, j++, 0);
            continue;
        }
        rc = sess_wait(w, cl, 0);
    }
    cl->reader = reader;
    w->t_end_ns = forever;
    if (rc == NR_OK && cl->dead) {
        rc = NR_EINVAL;
    }
    if (rc != NR_OK) {
        fprintf(stderr, "nr-bench: client %u: initial read/update: %s\n", cl->idx, nr_strerror(rc));
    }
    return rc;
}

static void run_session(struct worker *w, struct client *cl)
{
    uint64_t start = now_ns();
    /* At most SETUP_OUTSTANDING requests in flight per session (the SE bounds a connection's
     * pending requests, NR_EBUSY beyond): with more records than that, the measured phase
     * drives the first ones and every completion refills its own record. */
    for (unsigned j = 0; j < w->o->records && !cl->dead; j++) {
        for (unsigned k = 0; k < srec_window(w, cl) && !cl->dead &&
                             nr_session_outstanding(cl->s) < SETUP_OUTSTANDING; k++) {
            (void)srec_submit(w, cl, j, start);
        }
    }
    while (!cl->dead && now_ns() < w->t_end_ns) {
        (void)sess_wait(w, cl, 1);
    }
    while (!cl->dead && nr_session_outstanding(cl->s) > 0) {
        (void)sess_wait(w, cl, 0);
    }
}

static void session_close(struct worker *w, struct client *cl)
{
    if (cl->recs) {
        free(cl->recs[0].sent_ns); /* the rings of all records */
        for (unsigned j = 0; j < w->o->records; j++) {
            nr_record_close(cl->recs[j].r);
        }
        free(cl->recs);
        cl->recs = NULL;
    }
    nr_session_close(cl->s);
    cl->s = NULL;
}

struct start_gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned ready;
    int go;
    uint64_t t_measure_ns;
    uint64_t t_end_ns;
};
static struct start_gate gate = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, 0};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    for (unsigned i = 0; i < w->n_cl; i++) {
        int rc = w->o->records ? session_open(w, &w->cl[i]) : client_open(w, &w->cl[i]);
        if (rc != NR_OK) {
            count_error(w, rc);
            w->cl[i].dead = 1;
            w->setup_err = rc;
        }
    }
    pthread_mutex_lock(&gate.mu);
    gate.ready++;
    pthread_cond_broadcast(&gate.cv);
    while (!gate.go) {
        pthread_cond_wait(&gate.cv, &gate.mu);
    }
    w->t_measure_ns = gate.t_measure_ns;
    w->t_end_ns = gate.t_end_ns;
    pthread_mutex_unlock(&gate.mu);
    if (w->o->records) {
        for (unsigned i = 0; i < w->n_cl; i++) {
            if (!w->cl[i].dead) {
                run_session(w, &w->cl[i]);
            }
            session_close(w, &w->cl[i]);
        }
    } else if (w->o->rate > 0) {
        run_open(w);
    } else {
        run_closed(w);
    }
    for (unsigned i = 0; i < w->n_cl; i++) {
        if (w->cl[i].c) {
            nr_close(w->cl[i].c);
            w->cl[i].c = NULL;
        }
    }
    return NULL;
}

static int parse_system_id(struct opts *o, const char *arg);

/* A network directory made by `narrator up` (layout in src/cli/cli.h): every member's socket
 * and platform, the system id, and the daemons' pids for the CPU report. */
static int use_net(struct opts *o, const char *dir, const char *only)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/nodes", dir);
    FILE *f = fopen(path, "r");
    unsigned n = 0;
    if (!f || fscanf(f, "%u", &n) != 1 || n == 0 || n > MAX_SES) {
        if (f) {
            fclose(f);
        }
        fprintf(stderr, "nr-bench: %s: not a network directory (no valid nodes file)\n", dir);
        return -1;
    }
    fclose(f);
    snprintf(path, sizeof(path), "@%s/system_id", dir);
    if (parse_system_id(o, path) != 0) {
        fprintf(stderr, "nr-bench: %s/system_id unreadable\n", dir);
        return -1;
    }
    for (unsigned i = 0; i < n; i++) {
        if (only) {
            /* comma-separated member indexes */
            int hit = 0;
            for (const char *p = only; *p;) {
                char *end;
                unsigned long v = strtoul(p, &end, 10);
                if (end == p) {
                    return -1;
                }
                hit |= v == i;
                p = *end == ',' ? end + 1 : end;
                if (*end && *end != ',') {
                    return -1;
                }
            }
            if (!hit) {
                continue;
            }
        }
        struct se_target *se = &o->se[o->n_se++];
        snprintf(se->socket, sizeof(se->socket), "%s/node%u/se.sock", dir, i);
        snprintf(se->platform, sizeof(se->platform), "%s/node%u/platform", dir, i);
    }
    for (unsigned i = 0; i < n && o->n_pids < MAX_PIDS; i++) {
        snprintf(path, sizeof(path), "%s/node%u/narratord.pid", dir, i);
        f = fopen(path, "r");
        long pid = 0;
        if (f && fscanf(f, "%ld", &pid) == 1 && pid > 0) {
            o->pids[o->n_pids] = (pid_t)pid;
            snprintf(o->pid_names[o->n_pids], sizeof(o->pid_names[0]), "se%u", i);
            o->n_pids++;
        }
        if (f) {
            fclose(f);
        }
    }
    return o->n_se > 0 ? 0 : -1;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: nr-bench (--net DIR [--nodes I,J..] | --se SOCKET,PLATFORM_DIR [--se ...]\n"
            "                 --system-id HEX|@FILE) [options]\n"
            "  --net DIR              a network made by `narrator up`: all members, their pids\n"
            "  --nodes I,J            with --net: drive only these members' AEs\n"
            "  --code-identity ID     AE code identity (default nr-bench/1)\n"
            "  --se-code-identity ID  SE code identity (default: library default)\n"
            "  --clients N            AE clients (records), default 16\n"
            "  --threads T            --populate only: parallel threads (otherwise every\n"
            "                         client has a thread of its own)\n"
            "  --window W             pipelined updates per writer, default 16\n"
            "  --duration S           measured seconds, default 10\n"
            "  --warmup S             unmeasured seconds before, default 1\n"
            "  --read-ratio R         fraction of clients that read instead of write, default 0\n"
            "  --rate OPS             open loop at OPS requests/s in total, one thread per\n"
            "                         client (default: closed loop)\n"
            "  --timeout-ms MS        per request, default 10000\n"
            "  --prefix P             record-name prefix (default bench-<pid>)\n"
            "  --pid PID[:NAME]       report this process's CPU use (repeatable)\n"
            "  --label NAME           run label for the report\n"
            "  --json FILE            write the results as JSON\n"
            "  --populate N           instead: create N records (open, read, update v+1,\n"
            "                         close each; --threads in parallel, --duration caps\n"
            "                         the time) and report records/s and the daemons' RSS\n"
            "  --records R            session mode: every client is one session (one\n"
            "                         channel, own thread) with R records, each keeping\n"
            "                         --window updates (readers: one read) outstanding\n"
            "  --quiet                only the summary line\n");
}

static int parse_hex(uint8_t *out, size_t len, const char *s)
{
    if (strlen(s) != 2 * len) {
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1) {
            return -1;
        }
        out[i] = (uint8_t)v;
    }
    return 0;
}

static int parse_system_id(struct opts *o, const char *arg)
{
    char buf[160];
    if (arg[0] == '@') {
        FILE *f = fopen(arg + 1, "r");
        if (!f) {
            return -1;
        }
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ')) {
            buf[--n] = '\0';
        }
        arg = buf;
    }
    if (strncmp(arg, "0x", 2) == 0) {
        arg += 2;
    }
    return parse_hex(o->system_id, NR_SYSTEM_ID_BYTES, arg);
}

static int parse_args(struct opts *o, int argc, char **argv)
{
    static char prefix[64];
    static const struct option longopts[] = {
        {"se", required_argument, NULL, 's'},
        {"net", required_argument, NULL, 'N'},
        {"nodes", required_argument, NULL, 'n'},
        {"system-id", required_argument, NULL, 'i'},
        {"code-identity", required_argument, NULL, 'a'},
        {"se-code-identity", required_argument, NULL, 'e'},
        {"clients", required_argument, NULL, 'c'},
        {"threads", required_argument, NULL, 't'},
        {"window", required_argument, NULL, 'w'},
        {"duration", required_argument, NULL, 'd'},
        {"warmup", required_argument, NULL, 'u'},
        {"read-ratio", required_argument, NULL, 'r'},
        {"rate", required_argument, NULL, 'R'},
        {"timeout-ms", required_argument, NULL, 'T'},
        {"prefix", required_argument, NULL, 'p'},
        {"pid", required_argument, NULL, 'P'},
        {"label", required_argument, NULL, 'l'},
        {"json", required_argument, NULL, 'j'},
        {"quiet", no_argument, NULL, 'q'},
        {"populate", required_argument, NULL, 'X'},
        {"records", required_argument, NULL, 'K'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof(*o));
    o->code_identity = "nr-bench/1";
    o->clients = 16;
    o->threads = 1;
    o->window = 16;
    o->duration_s = 10;
    o->warmup_s = 1;
    o->timeout_ms = 10000;
    o->label = "narrator";
    snprintf(prefix, sizeof(prefix), "bench-%ld-%ld", (long)getpid(), (long)time(NULL));
    o->prefix = prefix;
    int have_id = 0;
    const char *net = NULL, *only = NULL;
    int ch;
    char *end;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (ch) {
        case 's': {
            const char *comma = strchr(optarg, ',');
            if (o->n_se >= MAX_SES || !comma || (size_t)(comma - optarg) >= sizeof(o->se[0].socket) ||
                strlen(comma + 1) >= sizeof(o->se[0].platform)) {
                fprintf(stderr, "nr-bench: bad --se %s (want SOCKET,PLATFORM_DIR)\n", optarg);
                return -1;
            }
            struct se_target *se = &o->se[o->n_se++];
            memcpy(se->socket, optarg, (size_t)(comma - optarg));
            se->socket[comma - optarg] = '\0';
            snprintf(se->platform, sizeof(se->platform), "%s", comma + 1);
            break;
        }
        case 'N': net = optarg; break;
        case 'n': only = optarg; break;
        case 'i':
            if (parse_system_id(o, optarg) != 0) {
                fprintf(stderr, "nr-bench: bad --system-id (want 64 hex digits or @FILE)\n");
                return -1;
            }
            have_id = 1;
            break;
        case 'a': o->code_identity = optarg; break;
        case 'e': o->se_code_identity = optarg; break;
        case 'c': o->clients = (unsigned)strtoul(optarg, &end, 10); break;
        case 't': o->threads = (unsigned)strtoul(optarg, &end, 10); break;
        case 'w': o->window = (unsigned)strtoul(optarg, &end, 10); break;
        case 'd': o->duration_s = strtod(optarg, &end); break;
        case 'u': o->warmup_s = strtod(optarg, &end); break;
        case 'r': o->read_ratio = strtod(optarg, &end); break;
        case 'R': o->rate = strtod(optarg, &end); break;
        case 'T': o->timeout_ms = (uint32_t)strtoul(optarg, &end, 10); break;
        case 'p': o->prefix = optarg; break;
        case 'P': {
            if (o->n_pids >= MAX_PIDS) {
                return -1;
            }
            long pid = strtol(optarg, &end, 10);
            if (pid <= 0 || (*end != '\0' && *end != ':')) {
                fprintf(stderr, "nr-bench: bad --pid %s\n", optarg);
                return -1;
            }
            o->pids[o->n_pids] = (pid_t)pid;
            snprintf(o->pid_names[o->n_pids], sizeof(o->pid_names[0]), "%s",
                     *end == ':' ? end + 1 : "pid");
            o->n_pids++;
            break;
        }
        case 'l':
            if (strpbrk(optarg, "\"\\") || strlen(optarg) > 64) {
                fprintf(stderr, "nr-bench: bad --label\n");
                return -1;
            }
            o->label = optarg;
            break;
        case 'j': o->json = optarg; break;
        case 'q': o->quiet = 1; break;
        case 'X': o->populate = strtoul(optarg, &end, 10); break;
        case 'K': o->records = (unsigned)strtoul(optarg, &end, 10); break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); return -1;
        }
    }
    if (net) {
        if (o->n_se > 0 || use_net(o, net, only) != 0) {
            fprintf(stderr, "nr-bench: bad --net/--nodes (and --net excludes --se)\n");
            return -1;
        }
        have_id = 1;
    }
    if (o->n_se == 0 || !have_id) {
        usage(stderr);
        return -1;
    }
    if (o->clients == 0 || o->threads == 0 || o->window == 0 || o->window > MAX_WINDOW ||
        o->duration_s <= 0 || o->warmup_s < 0 || o->read_ratio < 0 || o->read_ratio > 1 ||
        o->rate < 0 || o->records > 65536u || (o->records && o->rate > 0)) {
        fprintf(stderr, "nr-bench: bad numeric option\n");
        return -1;
    }
    return 0;
}

struct cpu_sample {
    double self_s;
    double pid_s[MAX_PIDS];
    int pid_ok[MAX_PIDS];
};

static void sample_cpu(const struct opts *o, struct cpu_sample *s)
{
    if (nr_proc_cpu_seconds(0, &s->self_s) != 0) {
        s->self_s = 0;
    }
    for (int i = 0; i < o->n_pids; i++) {
        s->pid_ok[i] = nr_proc_cpu_seconds(o->pids[i], &s->pid_s[i]) == 0;
    }
}

static void print_row(FILE *f, const char *what, uint64_t n, double secs, const struct nr_hist *h)
{
    fprintf(f, "%-8s %10" PRIu64 " %12.1f", what, n, secs > 0 ? (double)n / secs : 0.0);
    if (h->count == 0) {
        fprintf(f, "        -        -        -        -        -\n");
        return;
    }
    const double q[] = {0.5, 0.9, 0.99, 0.999};
    for (size_t i = 0; i < 4; i++) {
        fprintf(f, " %8.1f", (double)nr_hist_quantile(h, q[i]) / 1000.0);
    }
    fprintf(f, " %8.1f\n", (double)h->max / 1000.0);
}

static void json_lat(FILE *f, const char *name, uint64_t n, double secs, const struct nr_hist *h)
{
    fprintf(f,
            "  \"%s\": {\"count\": %" PRIu64 ", \"per_s\": %.1f, \"latency_us\": {\"mean\": %.2f, "
            "\"p50\": %.2f, \"p90\": %.2f, \"p99\": %.2f, \"p999\": %.2f, \"max\": %.2f}},\n",
            name, n, secs > 0 ? (double)n / secs : 0.0, nr_hist_mean(h) / 1000.0,
            (double)nr_hist_quantile(h, 0.5) / 1000.0, (double)nr_hist_quantile(h, 0.9) / 1000.0,
            (double)nr_hist_quantile(h, 0.99) / 1000.0,
            (double)nr_hist_quantile(h, 0.999) / 1000.0, h->count ? (double)h->max / 1000.0 : 0.0);
}

struct populate_worker {
    pthread_t tid;
    struct worker w; /* for client_open and the error counters */
    unsigned long first, step, total;
    uint64_t deadline_ns;
    unsigned long done;
};

static void *populate_main(void *arg)
{
    struct populate_worker *p = arg;
    for (unsigned long i = p->first; i < p->total && now_ns() < p->deadline_ns; i += p->step) {
        struct client cl;
        memset(&cl, 0, sizeof(cl));
        cl.idx = (unsigned)i;
        uint64_t t0 = now_ns();
        int rc = client_open(&p->w, &cl);
        if (cl.c) {
            nr_close(cl.c);
        }
        if (rc != NR_OK) {
            count_error(&p->w, rc);
            if (p->w.errors > 10) {
                break; /* the run is not a result anyway */
            }
            continue;
        }
        nr_hist_record(&p->w.h_upd, now_ns() - t0);
        p->done++;
    }
    return NULL;
}

/* --populate: create many records, measure the daemons' resident memory per record. */
static int run_populate(const struct opts *o)
{
    unsigned threads = o->threads;
    struct populate_worker *ps = calloc(threads, sizeof(*ps));
    if (!ps) {
        return 2;
    }
    unsigned long long rss0[MAX_PIDS] = {0}, rss1[MAX_PIDS] = {0};
    for (int i = 0; i < o->n_pids; i++) {
        (void)nr_proc_rss_bytes(o->pids[i], &rss0[i]);
    }
    uint64_t t0 = now_ns();
    for (unsigned t = 0; t < threads; t++) {
        ps[t].w.o = o;
        nr_hist_init(&ps[t].w.h_upd);
        ps[t].first = t;
        ps[t].step = threads;
        ps[t].total = o->populate;
        ps[t].deadline_ns = t0 + (uint64_t)(o->duration_s * 1e9);
        if (pthread_create(&ps[t].tid, NULL, populate_main, &ps[t]) != 0) {
            return 2;
        }
    }
    unsigned long done = 0;
    uint64_t errors = 0;
    struct nr_hist *h = malloc(sizeof(*h));
    if (!h) {
        return 2;
    }
    nr_hist_init(h);
    for (unsigned t = 0; t < threads; t++) {
        pthread_join(ps[t].tid, NULL);
        done += ps[t].done;
        errors += ps[t].w.errors;
        nr_hist_merge(h, &ps[t].w.h_upd);
    }
    double secs = (double)(now_ns() - t0) / 1e9;
    for (int i = 0; i < o->n_pids; i++) {
        (void)nr_proc_rss_bytes(o->pids[i], &rss1[i]);
    }
    int ok = errors == 0 && done == o->populate;
    printf("nr-bench %s populate: %lu of %lu records in %.2f s (%.0f records/s; open+read+update+close "
           "p50 %.1f us p99 %.1f us), %d SE(s), %u threads\n",
           o->label, done, o->populate, secs, (double)done / secs,
           (double)nr_hist_quantile(h, 0.5) / 1000.0, (double)nr_hist_quantile(h, 0.99) / 1000.0,
           o->n_se, threads);
    printf("errors: %" PRIu64 "\n", errors);
    for (int i = 0; i < o->n_pids; i++) {
        double per = done ? ((double)rss1[i] - (double)rss0[i]) / (double)done : 0.0;
        printf("%s[%ld]: rss %.1f MB -> %.1f MB (%.0f bytes per new record)\n", o->pid_names[i],
               (long)o->pids[i], (double)rss0[i] / 1e6, (double)rss1[i] / 1e6, per);
    }
    if (o->json) {
        FILE *jf = fopen(o->json, "w");
        if (jf) {
            fprintf(jf, "{\n  \"label\": \"%s\",\n  \"mode\": \"populate\",\n  \"records\": %lu,\n"
                        "  \"requested\": %lu,\n  \"seconds\": %.3f,\n  \"errors\": %" PRIu64 ",\n"
                        "  \"rss_bytes_before\": {",
                    o->label, done, o->populate, secs, errors);
            for (int i = 0; i < o->n_pids; i++) {
                fprintf(jf, "%s\"%s[%ld]\": %llu", i ? ", " : "", o->pid_names[i], (long)o->pids[i],
                        rss0[i]);
            }
            fprintf(jf, "},\n  \"rss_bytes_after\": {");
            for (int i = 0; i < o->n_pids; i++) {
                fprintf(jf, "%s\"%s[%ld]\": %llu", i ? ", " : "", o->pid_names[i], (long)o->pids[i],
                        rss1[i]);
            }
            fprintf(jf, "},\n  \"result\": %s\n}\n", ok ? "true" : "false");
            if (fclose(jf) != 0) {
                ok = 0;
            }
        } else {
            ok = 0;
        }
    }
    if (!ok) {
        printf("NOT A RESULT: %s\n", errors ? "the run had errors" : "not every record was created");
    }
    free(h);
    free(ps);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    struct opts o;
    if (parse_args(&o, argc, argv) != 0) {
        return 2;
    }
    if (o.populate > 0) {
        return run_populate(&o);
    }
    /* Readers: the first round(clients * ratio) clients, spread over all SEs. */
    unsigned n_readers = (unsigned)((double)o.clients * o.read_ratio + 0.5);
    unsigned n_writers = o.clients - n_readers;
    /* Every client has a thread of its own. nr_update_submit() only queues: the queued
     * updates travel with the client's next nr_update_wait(), so one thread driving many
     * handles round-robin would hold a handle's new request back until its turn comes
     * again. Session mode: a session per client, in a thread of its own. Open loop: every
     * client runs its own schedule (as wrk2 does per connection), so a blocking wait delays
     * only that client's next request, and that delay is charged to the latency (measured
     * from the intended send time). */
    unsigned wthreads = n_writers;
    if (wthreads + n_readers > MAX_CLIENT_THREADS) {
        fprintf(stderr, "nr-bench: at most %u clients (one thread each; --records R puts R "
                        "records on one client's session)\n", MAX_CLIENT_THREADS);
        return 2;
    }
    unsigned n_workers = wthreads + n_readers;
    struct client *cls = calloc(o.clients, sizeof(*cls));
    struct worker *ws = calloc(n_workers, sizeof(*ws));
    uint64_t *rings = calloc((size_t)o.clients * o.window, sizeof(uint64_t));
    if (!cls || !ws || !rings) {
        fprintf(stderr, "nr-bench: out of memory\n");
        return 2;
    }
    for (unsigned i = 0; i < o.clients; i++) {
        cls[i].idx = i;
        cls[i].reader = i < n_readers;
        cls[i].sent_ns = rings + (size_t)i * o.window;
    }
    struct client *sorted = calloc(o.clients, sizeof(*sorted));
    if (!sorted) {
        fprintf(stderr, "nr-bench: out of memory\n");
        return 2;
    }
    unsigned pos = 0;
    for (unsigned t = 0; t < n_workers; t++) {
        struct worker *w = &ws[t];
        w->o = &o;
        w->cl = &sorted[pos];
        if (t < wthreads) {
            for (unsigned i = n_readers + t; i < o.clients; i += wthreads) {
                sorted[pos++] = cls[i];
                w->n_cl++;
            }
        } else {
            sorted[pos++] = cls[t - wthreads];
            w->n_cl = 1;
        }
        w->rate = o.rate * (double)w->n_cl / (double)o.clients;
        nr_hist_init(&w->h_upd);
        nr_hist_init(&w->h_read);
    }

    uint64_t t_setup = now_ns();
    for (unsigned t = 0; t < n_workers; t++) {
        if (pthread_create(&ws[t].tid, NULL, worker_main, &ws[t]) != 0) {
            fprintf(stderr, "nr-bench: cannot start thread\n");
            return 2;
        }
    }
    /* Wait until every client is open, then start the clock for everyone at once. */
    pthread_mutex_lock(&gate.mu);
    while (gate.ready < n_workers) {
        pthread_cond_wait(&gate.cv, &gate.mu);
    }
    uint64_t t_start = now_ns();
    gate.t_measure_ns = t_start + (uint64_t)(o.warmup_s * 1e9);
    gate.t_end_ns = gate.t_measure_ns + (uint64_t)(o.duration_s * 1e9);
    gate.go = 1;
    pthread_cond_broadcast(&gate.cv);
    pthread_mutex_unlock(&gate.mu);

    struct cpu_sample c0, c1;
    sleep_until_ns(gate.t_measure_ns);
    sample_cpu(&o, &c0);
    sleep_until_ns(gate.t_end_ns);
    sample_cpu(&o, &c1);
    uint64_t rss[MAX_PIDS] = {0};
    int rss_ok[MAX_PIDS] = {0};
    for (int i = 0; i < o.n_pids; i++) {
        unsigned long long r = 0;
        rss_ok[i] = nr_proc_rss_bytes(o.pids[i], &r) == 0;
        rss[i] = r;
    }
    for (unsigned t = 0; t < n_workers; t++) {
        pthread_join(ws[t].tid, NULL);
    }

    struct nr_hist *h_upd = malloc(sizeof(*h_upd));
    struct nr_hist *h_read = malloc(sizeof(*h_read));
    struct nr_hist *h_all = malloc(sizeof(*h_all));
    if (!h_upd || !h_read || !h_all) {
        fprintf(stderr, "nr-bench: out of memory\n");
        return 2;
    }
    nr_hist_init(h_upd);
    nr_hist_init(h_read);
    uint64_t updates = 0, reads = 0, errors = 0, checks = 0;
    uint64_t by_code[N_ERRSLOTS] = {0};
    for (unsigned t = 0; t < n_workers; t++) {
        nr_hist_merge(h_upd, &ws[t].h_upd);
        nr_hist_merge(h_read, &ws[t].h_read);
        updates += ws[t].updates;
        reads += ws[t].reads;
        errors += ws[t].errors;
        checks += ws[t].check_failures;
        for (int k = 0; k < N_ERRSLOTS; k++) {
            by_code[k] += ws[t].err_by_code[k];
        }
    }
    nr_hist_init(h_all);
    nr_hist_merge(h_all, h_upd);
    nr_hist_merge(h_all, h_read);
    double secs = o.duration_s;
    double wall = (double)(gate.t_end_ns - gate.t_measure_ns) / 1e9;
    int ok = errors == 0 && (updates + reads) > 0;
    /* CPU per operation: a measure that survives a shared machine better than throughput. */
    double cpu_self_s = c1.self_s - c0.self_s, cpu_daemons_s = 0;
    int cpu_all = 1;
    for (int i = 0; i < o.n_pids; i++) {
        if (c0.pid_ok[i] && c1.pid_ok[i]) {
            cpu_daemons_s += c1.pid_s[i] - c0.pid_s[i];
        } else {
            cpu_all = 0;
        }
    }
    double ops_total = (double)(updates + reads);
    double cpu_us_daemons = ops_total > 0 ? cpu_daemons_s / ops_total * 1e6 : 0.0;
    double cpu_us_self = ops_total > 0 ? cpu_self_s / ops_total * 1e6 : 0.0;

    FILE *out = stdout;
    if (!o.quiet) {
        fprintf(out, "nr-bench %s: %u SE(s), %u clients (%u readers) x window %u, %u writer threads, %s, "
                     "%.1f s measured after %.1f s warm-up (setup %.2f s)\n",
                o.label, o.n_se, o.clients, n_readers, o.window, wthreads,
                o.rate > 0 ? "open loop" : "closed loop", o.duration_s, o.warmup_s,
                (double)(t_start - t_setup) / 1e9);
        if (o.rate > 0) {
            fprintf(out, "offered rate: %.0f requests/s\n", o.rate);
        }
        fprintf(out, "%-8s %10s %12s %8s %8s %8s %8s %8s   (latency in us)\n", "op", "count", "per s",
                "p50", "p90", "p99", "p99.9", "max");
        print_row(out, "update", updates, secs, h_upd);
        print_row(out, "read", reads, secs, h_read);
        print_row(out, "all", updates + reads, secs, h_all);
        fprintf(out, "errors: %" PRIu64, errors);
        for (int k = 0; k < N_ERRSLOTS; k++) {
            if (by_code[k]) {
                fprintf(out, "  %s=%" PRIu64, k == 0 ? "check" : nr_errname(-k), by_code[k]);
            }
        }
        fprintf(out, "\ncpu (%% of one core): nr-bench %.1f", (c1.self_s - c0.self_s) / wall * 100.0);
        for (int i = 0; i < o.n_pids; i++) {
            if (c0.pid_ok[i] && c1.pid_ok[i]) {
                fprintf(out, "  %s[%ld] %.1f", o.pid_names[i], (long)o.pids[i],
                        (c1.pid_s[i] - c0.pid_s[i]) / wall * 100.0);
            } else {
                fprintf(out, "  %s[%ld] gone", o.pid_names[i], (long)o.pids[i]);
            }
            if (rss_ok[i]) {
                fprintf(out, " (rss %.1f MB)", (double)rss[i] / 1e6);
            }
        }
        fprintf(out, "\n");
        if (o.n_pids > 0 && cpu_all) {
            fprintf(out, "cpu per operation: %.1f us in the daemons + %.1f us in nr-bench\n",
                    cpu_us_daemons, cpu_us_self);
        }
    }
    fprintf(out, "summary %s: updates/s %.1f reads/s %.1f p50 %.1f us p99 %.1f us errors %" PRIu64 "\n",
            o.label, (double)updates / secs, (double)reads / secs,
            (double)nr_hist_quantile(h_all, 0.5) / 1000.0,
            (double)nr_hist_quantile(h_all, 0.99) / 1000.0, errors);
    if (!ok) {
        fprintf(out, "NOT A RESULT: %s\n", errors ? "the run had errors" : "nothing completed");
    }

    if (o.json) {
        FILE *jf = fopen(o.json, "w");
        if (!jf) {
            fprintf(stderr, "nr-bench: cannot write %s\n", o.json);
            ok = 0;
        } else {
            fprintf(jf, "{\n  \"label\": \"%s\",\n  \"ses\": %d,\n  \"clients\": %u,\n  \"readers\": %u,\n"
                        "  \"window\": %u,\n  \"threads\": %u,\n  \"mode\": \"%s\",\n  \"rate\": %.1f,\n"
                        "  \"duration_s\": %.3f,\n  \"warmup_s\": %.3f,\n",
                    o.label, o.n_se, o.clients, n_readers, o.window, wthreads,
                    o.rate > 0 ? "open" : "closed", o.rate, o.duration_s, o.warmup_s);
            json_lat(jf, "updates", updates, secs, h_upd);
            json_lat(jf, "reads", reads, secs, h_read);
            json_lat(jf, "all", updates + reads, secs, h_all);
            fprintf(jf, "  \"errors\": %" PRIu64 ",\n  \"check_failures\": %" PRIu64 ",\n  \"error_codes\": {",
                    errors, checks);
            int first = 1;
            for (int k = 0; k < N_ERRSLOTS; k++) {
                if (by_code[k]) {
                    fprintf(jf, "%s\"%s\": %" PRIu64, first ? "" : ", ", k == 0 ? "check" : nr_errname(-k),
                            by_code[k]);
                    first = 0;
                }
            }
            fprintf(jf, "},\n  \"cpu_percent\": {\"nr-bench\": %.1f",
                    (c1.self_s - c0.self_s) / wall * 100.0);
            for (int i = 0; i < o.n_pids; i++) {
                if (c0.pid_ok[i] && c1.pid_ok[i]) {
                    fprintf(jf, ", \"%s[%ld]\": %.1f", o.pid_names[i], (long)o.pids[i],
                            (c1.pid_s[i] - c0.pid_s[i]) / wall * 100.0);
                }
            }
            fprintf(jf, "},\n  \"cpu_us_per_op\": {\"daemons\": %.2f, \"nr-bench\": %.2f, "
                        "\"all_daemons_sampled\": %s},\n",
                    cpu_us_daemons, cpu_us_self, cpu_all ? "true" : "false");
            fprintf(jf, "  \"rss_bytes\": {");
            first = 1;
            for (int i = 0; i < o.n_pids; i++) {
                if (rss_ok[i]) {
                    fprintf(jf, "%s\"%s[%ld]\": %" PRIu64, first ? "" : ", ", o.pid_names[i],
                            (long)o.pids[i], rss[i]);
                    first = 0;
                }
            }
            fprintf(jf, "},\n  \"result\": %s\n}\n", ok ? "true" : "false");
            if (fclose(jf) != 0) {
                ok = 0;
            }
        }
    }
    free(h_upd);
    free(h_read);
    free(h_all);
    free(sorted);
    free(cls);
    free(ws);
    free(rings);
    return ok ? 0 : 1;
}
