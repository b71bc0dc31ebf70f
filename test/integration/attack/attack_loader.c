/* attack_loader: AE workload and guarantee checker for the malicious-host tests
 * (docs/attacks.md), on the public API only (narrator/narrator.h).
 *
 *   attack_loader load --records R --log FILE --stop FILE [--tag T] [--prefix P]
 *                      [--timeout-ms MS]
 *       Sequential updates round-robin over records P0..P(R-1) (P default "rec-") until the
 *       file --stop exists. Before each update it appends "T k v digest" (tried) to the log,
 *       after each acknowledgement "A k v digest", before the next update is sent, so the log
 *       is a lower bound on what the network promised. The digest of version v is
 *       nr_state_digest("P<k>:<v>:<tag>"), so two loaders with different tags never propose
 *       the same digest. NR_ECONFLICT (another AE instance got there first) re-reads the
 *       record on the same handle; any other error closes the handle, reopens it and re-reads.
 *       Prints "loader: acked A errors E conflicts C".
 *   attack_loader once --log FILE [--tag T] [--prefix P | --record NAME] [--timeout-ms MS]
 *                      [--go FILE]
 *       One update of record P0 (or NAME; its current version + 1), logged like `load` (T before, A
 *       after the acknowledgement). Prints "once: v<N> committed" (exit 0) or the error name
 *       (exit 1). With --go: after the read, print "once: read v<N>" and wait (up to 60 s)
 *       until FILE exists before sending the update.
 *   attack_loader check --records R [--prefix P] LOG...
 *       The guarantee checker, over the logs of every loader that ran:
 *         S2: no (record, version) acknowledged with two digests (across all logs);
 *         S1: every record reads a version >= its last acknowledged one; if it reads an
 *             acknowledged version, with that version's acknowledged digest;
 *             if it reads a newer (committed but unacknowledged) version, with a digest some
 *             loader tried for that version.
 *       Exit 0: no violation; 1: violations (each printed); 2: could not check.
 *   attack_loader read --record NAME
 *       Print "v<version>" of the record, or the error name (exit 1).
 *   attack_loader ae-update --state PATH --record NAME --count N
 *       An AE that keeps sealed state: restore (nr_restore; fresh start if there is no
 *       record), then N times: seal (state, v+1) to PATH.0/PATH.1 and nr_update(v+1).
 *   attack_loader ae-seal --state PATH --record NAME [--tag T]
 *       Restore, then seal (state "NAME:v+1:T", v+1) WITHOUT committing it: the files of an
 *       AE that crashed between nr_seal_state and nr_update (or a forked instance's state).
 *   attack_loader ae-restore --state PATH --record NAME
 *       nr_restore only. Prints "restore: FRESH|DROPPED_UNCOMMITTED|NO_RECORD v<N>" or
 *       "restore: <NR_E...>". Exit 0 on success, 1 on an error code.
 *
 * Every command takes --identity ID: the AE's code identity (its measurement), default
 * "narrator-attack-loader/1".
 *
 * Configuration: NARRATOR_SOCKET, NARRATOR_PLATFORM, NARRATOR_SYSTEM_ID (client.env). */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "narrator/narrator.h"

#define MAX_RECORDS 1024u
#define AE_IDENTITY "narrator-attack-loader/1"
#define STATE_MAX 256u
#define HEX_LEN (2u * NR_DIGEST_BYTES)

static struct nr_client_options g_opt;
static uint32_t g_timeout_ms = 5000;
static const char *g_prefix = "rec-";
static const char *g_identity = AE_IDENTITY;

static int env_options(void)
{
    const char *sock = getenv("NARRATOR_SOCKET"), *plat = getenv("NARRATOR_PLATFORM"),
               *sys = getenv("NARRATOR_SYSTEM_ID");
    size_t bin_len = 0;
    memset(&g_opt, 0, sizeof g_opt);
    if (!sock || !plat || !sys ||
        sodium_hex2bin(g_opt.system_id, sizeof g_opt.system_id, sys, strlen(sys), NULL, &bin_len,
                       NULL) != 0 ||
        bin_len != sizeof g_opt.system_id) {
        fprintf(stderr, "attack_loader: NARRATOR_SOCKET/PLATFORM/SYSTEM_ID not set\n");
        return -1;
    }
    g_opt.socket_path = sock;
    g_opt.platform_dir = plat;
    g_opt.tee_backend = "sim";
    g_opt.code_identity = g_identity;
    return 0;
}

static int open_rec(struct nr_client **c, const char *name)
{
    g_opt.timeout_ms = g_timeout_ms;
    return nr_open(c, &g_opt, name);
}

static void rec_name(char *out, size_t cap, unsigned k)
{
    snprintf(out, cap, "%s%u", g_prefix, k);
}

static void digest_for(uint8_t d[NR_DIGEST_BYTES], const char *name, uint64_t v, const char *tag)
{
    char state[STATE_MAX];
    int n = snprintf(state, sizeof state, "%s:%llu:%s", name, (unsigned long long)v, tag);
    nr_state_digest(d, (const uint8_t *)state, (size_t)n, v);
}

static int log_line(FILE *log, char kind, unsigned k, uint64_t v, const uint8_t d[NR_DIGEST_BYTES])
{
    char hex[HEX_LEN + 1];
    sodium_bin2hex(hex, sizeof hex, d, NR_DIGEST_BYTES);
    if (fprintf(log, "%c %u %llu %s\n", kind, k, (unsigned long long)v, hex) < 0 ||
        fflush(log) != 0) {
        return -1;
    }
    return 0;
}

static int cmd_load(unsigned records, const char *log_path, const char *stop_path, const char *tag)
{
    static struct nr_client *c[MAX_RECORDS];
    static uint64_t ver[MAX_RECORDS];
    static int known[MAX_RECORDS];
    char name[64];
    uint64_t acked = 0, errors = 0, conflicts = 0;
    FILE *log = fopen(log_path, "a");
    if (!log) {
        perror(log_path);
        return 2;
    }
    for (;;) {
        for (unsigned k = 0; k < records; k++) {
            if (access(stop_path, F_OK) == 0) {
                goto done;
            }
            rec_name(name, sizeof name, k);
            int rc = NR_OK;
            if (!c[k]) {
                rc = open_rec(&c[k], name);
            }
            if (rc == NR_OK && !known[k]) {
                uint8_t d[NR_DIGEST_BYTES];
                rc = nr_read(c[k], &ver[k], d);
                known[k] = rc == NR_OK;
            }
            if (rc == NR_OK) {
                uint8_t d[NR_DIGEST_BYTES];
                uint64_t committed = 0;
                digest_for(d, name, ver[k] + 1, tag);
                if (log_line(log, 'T', k, ver[k] + 1, d) != 0) {
                    perror(log_path);
                    goto done;
                }
                rc = nr_update(c[k], ver[k] + 1, d, &committed);
                if (rc == NR_OK && committed != ver[k] + 1) {
                    fprintf(stderr, "attack_loader: %s: acknowledged v%llu for v%llu\n", name,
                            (unsigned long long)committed, (unsigned long long)ver[k] + 1);
                    rc = NR_EMALFORMED;
                }
                if (rc == NR_OK) {
                    ver[k]++;
                    acked++;
                    if (log_line(log, 'A', k, ver[k], d) != 0) {
                        perror(log_path);
                        goto done;
                    }
                }
            }
            if (rc == NR_ECONFLICT) {
                /* another instance of this AE wrote first: the handle stays usable */
                conflicts++;
                known[k] = 0;
                continue;
            }
            if (rc != NR_OK) {
                errors++;
                if (errors <= 10 || errors % 100 == 0) {
                    fprintf(stderr, "attack_loader[%s]: %s v%llu: %s (errors so far %llu)\n", tag,
                            name, (unsigned long long)ver[k] + 1, nr_errname(rc),
                            (unsigned long long)errors);
                }
                nr_close(c[k]);
                c[k] = NULL;
                known[k] = 0;
                usleep(20000);
            }
        }
    }
done:
    for (unsigned k = 0; k < records; k++) {
        nr_close(c[k]);
        c[k] = NULL;
    }
    fclose(log);
    printf("loader[%s]: acked %llu errors %llu conflicts %llu\n", tag, (unsigned long long)acked,
           (unsigned long long)errors, (unsigned long long)conflicts);
    return 0;
}

static int cmd_once(const char *log_path, const char *tag, const char *go_path,
                    const char *record)
{
    struct nr_client *c = NULL;
    char name[64];
    uint64_t v = 0, committed = 0;
    uint8_t d[NR_DIGEST_BYTES];
    FILE *log = fopen(log_path, "a");
    if (!log) {
        perror(log_path);
        return 2;
    }
    if (record) {
        snprintf(name, sizeof name, "%s", record);
    } else {
        rec_name(name, sizeof name, 0);
    }
    int rc = open_rec(&c, name);
    if (rc == NR_OK) {
        rc = nr_read(c, &v, d);
    }
    if (rc == NR_OK && go_path) {
        printf("once: read v%llu\n", (unsigned long long)v);
        for (int i = 0; i < 6000 && access(go_path, F_OK) != 0; i++) {
            usleep(10000);
        }
    }
    if (rc == NR_OK) {
        digest_for(d, name, v + 1, tag);
        rc = log_line(log, 'T', 0, v + 1, d) == 0 ? nr_update(c, v + 1, d, &committed) : NR_EIO;
    }
    if (rc == NR_OK && log_line(log, 'A', 0, v + 1, d) != 0) {
        rc = NR_EIO;
    }
    nr_close(c);
    fclose(log);
    if (rc != NR_OK) {
        printf("once: %s v%llu: %s\n", name, (unsigned long long)v + 1, nr_errname(rc));
        return 1;
    }
    printf("once: %s v%llu committed\n", name, (unsigned long long)committed);
    return 0;
}

/* ---- checker ---- */

struct entry {
    uint64_t v;
    uint8_t d[NR_DIGEST_BYTES];
    char kind;
};

struct rec_log {
    struct entry *e;
    size_t n, cap;
    uint64_t last_acked;
};

static int rec_add(struct rec_log *r, char kind, uint64_t v, const uint8_t d[NR_DIGEST_BYTES])
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 64;
        struct entry *e = realloc(r->e, cap * sizeof *e);
        if (!e) {
            return -1;
        }
        r->e = e;
        r->cap = cap;
    }
    r->e[r->n].v = v;
    r->e[r->n].kind = kind;
    memcpy(r->e[r->n].d, d, NR_DIGEST_BYTES);
    r->n++;
    return 0;
}

static int entry_cmp(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    if (x->v != y->v) {
        return x->v < y->v ? -1 : 1;
    }
    return memcmp(x->d, y->d, NR_DIGEST_BYTES);
}

static int load_log(struct rec_log *recs, unsigned records, const char *path, uint64_t *acks)
{
    FILE *f = fopen(path, "r");
    char line[256];
    if (!f) {
        perror(path);
        return -1;
    }
    while (fgets(line, sizeof line, f)) {
        char kind, hex[HEX_LEN + 2];
        unsigned k;
        unsigned long long v;
        uint8_t d[NR_DIGEST_BYTES];
        size_t bin_len = 0;
        if (sscanf(line, "%c %u %llu %65s", &kind, &k, &v, hex) != 4 ||
            (kind != 'A' && kind != 'T') || k >= records ||
            sodium_hex2bin(d, sizeof d, hex, strlen(hex), NULL, &bin_len, NULL) != 0 ||
            bin_len != sizeof d) {
            /* a loader killed mid-line leaves a partial last line: only that is tolerated */
            if (!feof(f) && strchr(line, '\n')) {
                fprintf(stderr, "check: %s: bad line: %s", path, line);
                fclose(f);
                return -1;
            }
            continue;
        }
        if (rec_add(&recs[k], kind, v, d) != 0) {
            fclose(f);
            return -1;
        }
        if (kind == 'A') {
            (*acks)++;
            if (v > recs[k].last_acked) {
                recs[k].last_acked = v;
            }
        }
    }
    fclose(f);
    return 0;
}

static int cmd_check(unsigned records, char **logs, int nlogs)
{
    struct rec_log *recs = calloc(records, sizeof *recs);
    uint64_t acks = 0, ahead = 0, s2_bad = 0, s1_bad = 0;
    int rc = 2;
    if (!recs) {
        return 2;
    }
    for (int i = 0; i < nlogs; i++) {
        if (load_log(recs, records, logs[i], &acks) != 0) {
            goto out;
        }
    }
    for (unsigned k = 0; k < records; k++) {
        struct rec_log *r = &recs[k];
        char name[64];
        rec_name(name, sizeof name, k);
        qsort(r->e, r->n, sizeof *r->e, entry_cmp);
        /* S2: one acknowledged digest per version, across every loader */
        for (size_t i = 0; i < r->n; i++) {
            if (r->e[i].kind != 'A') {
                continue;
            }
            for (size_t j = i + 1; j < r->n && r->e[j].v == r->e[i].v; j++) {
                if (r->e[j].kind == 'A' && memcmp(r->e[j].d, r->e[i].d, NR_DIGEST_BYTES) != 0) {
                    fprintf(stderr, "VIOLATION S2: %s v%llu acknowledged with two digests\n", name,
                            (unsigned long long)r->e[i].v);
                    s2_bad++;
                }
            }
        }
        /* S1: read back */
        struct nr_client *c = NULL;
        uint64_t got = 0;
        uint8_t d[NR_DIGEST_BYTES];
        int e = open_rec(&c, name);
        if (e == NR_OK) {
            e = nr_read(c, &got, d);
        }
        nr_close(c);
        if (e != NR_OK) {
            fprintf(stderr, "check: read %s: %s\n", name, nr_errname(e));
            goto out;
        }
        if (got < r->last_acked) {
            fprintf(stderr, "VIOLATION S1: %s reads v%llu but v%llu was acknowledged\n", name,
                    (unsigned long long)got, (unsigned long long)r->last_acked);
            s1_bad++;
            continue;
        }
        if (got == 0) {
            continue;
        }
        int acked_match = 0, acked_other = 0, tried = 0;
        for (size_t i = 0; i < r->n; i++) {
            if (r->e[i].v != got) {
                continue;
            }
            int same = memcmp(r->e[i].d, d, NR_DIGEST_BYTES) == 0;
            if (r->e[i].kind == 'A') {
                acked_match |= same;
                acked_other |= !same;
            }
            tried |= same;
        }
        if (acked_other && !acked_match) {
            fprintf(stderr, "VIOLATION S1: %s v%llu reads a digest other than the acknowledged one\n",
                    name, (unsigned long long)got);
            s1_bad++;
        } else if (!tried) {
            fprintf(stderr, "VIOLATION: %s v%llu reads a digest no loader proposed\n", name,
                    (unsigned long long)got);
            s1_bad++;
        }
        ahead += got - r->last_acked;
    }
    printf("check: %u records, %llu acknowledged updates in %d log(s), %llu S1 and %llu S2 "
           "violations (%llu committed but unacknowledged)\n",
           records, (unsigned long long)acks, nlogs, (unsigned long long)s1_bad,
           (unsigned long long)s2_bad, (unsigned long long)ahead);
    rc = s1_bad || s2_bad ? 1 : 0;
out:
    for (unsigned k = 0; k < records; k++) {
        free(recs[k].e);
    }
    free(recs);
    return rc;
}

static int cmd_read(const char *name)
{
    struct nr_client *c = NULL;
    uint64_t v = 0;
    uint8_t d[NR_DIGEST_BYTES];
    int rc = open_rec(&c, name);
    if (rc == NR_OK) {
        rc = nr_read(c, &v, d);
    }
    nr_close(c);
    if (rc != NR_OK) {
        printf("%s\n", nr_errname(rc));
        return 1;
    }
    printf("v%llu\n", (unsigned long long)v);
    return 0;
}

/* ---- an AE with sealed state ---- */

static const char *restore_name(int result)
{
    switch (result) {
    case NR_RESTORE_FRESH: return "FRESH";
    case NR_RESTORE_DROPPED_UNCOMMITTED: return "DROPPED_UNCOMMITTED";
    case NR_RESTORE_NO_RECORD: return "NO_RECORD";
    default: return "?";
    }
}

/* count updates (seal, then commit) after a restore; seal_only: seal one more, no commit */
static int cmd_ae_update(const char *path, const char *name, unsigned count, int seal_only,
                         const char *tag)
{
    struct nr_client *c = NULL;
    uint8_t state[STATE_MAX], d[NR_DIGEST_BYTES];
    size_t len = 0;
    uint64_t v = 0, committed = 0;
    int result = -1;
    int rc = open_rec(&c, name);
    if (rc == NR_OK) {
        rc = nr_restore(c, path, state, sizeof state, &len, &v, &result);
    }
    for (unsigned i = 0; rc == NR_OK && i < count; i++) {
        int n = snprintf((char *)state, sizeof state, "%s:%llu:%s", name,
                         (unsigned long long)v + 1, tag);
        rc = nr_seal_state(c, path, state, (size_t)n, v + 1);
        if (rc == NR_OK && seal_only) {
            nr_close(c);
            printf("ae-seal: %s: restored %s, sealed v%llu (not committed)\n", name,
                   restore_name(result), (unsigned long long)v + 1);
            return 0;
        }
        if (rc == NR_OK) {
            nr_state_digest(d, state, (size_t)n, v + 1);
            rc = nr_update(c, v + 1, d, &committed);
        }
        v += rc == NR_OK;
    }
    nr_close(c);
    if (rc != NR_OK) {
        printf("ae-update: %s: %s at v%llu\n", name, nr_errname(rc), (unsigned long long)v);
        return 1;
    }
    printf("ae-update: %s: restored %s, now v%llu\n", name, restore_name(result),
           (unsigned long long)v);
    return 0;
}

static int cmd_ae_restore(const char *path, const char *name)
{
    struct nr_client *c = NULL;
    uint8_t state[STATE_MAX];
    size_t len = 0;
    uint64_t v = 0;
    int result = -1;
    int rc = open_rec(&c, name);
    if (rc == NR_OK) {
        rc = nr_restore(c, path, state, sizeof state, &len, &v, &result);
    }
    nr_close(c);
    if (rc != NR_OK) {
        printf("restore: %s\n", nr_errname(rc));
        return 1;
    }
    printf("restore: %s v%llu\n", restore_name(result), (unsigned long long)v);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        goto usage;
    }
    const char *cmd = argv[1], *log_path = NULL, *stop_path = NULL, *record = NULL,
               *tag = "a", *state = NULL;
    unsigned records = 0, count = 0;
    static const struct option longopts[] = {{"records", required_argument, NULL, 'r'},
                                             {"log", required_argument, NULL, 'l'},
                                             {"stop", required_argument, NULL, 's'},
                                             {"record", required_argument, NULL, 'R'},
                                             {"timeout-ms", required_argument, NULL, 't'},
                                             {"tag", required_argument, NULL, 'g'},
                                             {"prefix", required_argument, NULL, 'p'},
                                             {"state", required_argument, NULL, 'S'},
                                             {"count", required_argument, NULL, 'c'},
                                             {"go", required_argument, NULL, 's'},
                                             {"identity", required_argument, NULL, 'I'},
                                             {NULL, 0, NULL, 0}};
    int ch;
    optind = 2;
    while ((ch = getopt_long(argc, argv, "r:l:s:R:t:g:p:S:c:I:", longopts, NULL)) != -1) {
        switch (ch) {
        case 'r': records = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'l': log_path = optarg; break;
        case 's': stop_path = optarg; break;
        case 'R': record = optarg; break;
        case 't': g_timeout_ms = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'g': tag = optarg; break;
        case 'p': g_prefix = optarg; break;
        case 'S': state = optarg; break;
        case 'c': count = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'I': g_identity = optarg; break;
        default: goto usage;
        }
    }
    if (sodium_init() < 0 || env_options() != 0) {
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (strlen(g_prefix) > 32 || strlen(tag) > 32) {
        goto usage;
    }
    if (strcmp(cmd, "load") == 0 && records > 0 && records <= MAX_RECORDS && log_path &&
        stop_path) {
        return cmd_load(records, log_path, stop_path, tag);
    }
    if (strcmp(cmd, "once") == 0 && log_path) {
        return cmd_once(log_path, tag, stop_path, record);
    }
    if (strcmp(cmd, "check") == 0 && records > 0 && records <= MAX_RECORDS && optind < argc) {
        return cmd_check(records, argv + optind, argc - optind);
    }
    if (strcmp(cmd, "read") == 0 && record) {
        return cmd_read(record);
    }
    if (strcmp(cmd, "ae-update") == 0 && state && record && count > 0) {
        return cmd_ae_update(state, record, count, 0, "ae");
    }
    if (strcmp(cmd, "ae-seal") == 0 && state && record) {
        return cmd_ae_update(state, record, 1, 1, tag);
    }
    if (strcmp(cmd, "ae-restore") == 0 && state && record) {
        return cmd_ae_restore(state, record);
    }
usage:
    fprintf(stderr, "usage: attack_loader load|once|check|read|ae-update|ae-seal|ae-restore [options] "
                    "(see the comment at the top of attack_loader.c)\n");
    return 2;
}
