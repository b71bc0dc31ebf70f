/* e2e_loader: an AE workload for the end-to-end tests, on the public API only.
 *
 *   e2e_loader load   --records R --log FILE --stop FILE [--timeout-ms T]
 *       Sequential updates round-robin over records "rec-0".."rec-(R-1)" until FILE --stop
 *       exists. Every acknowledged update is appended to --log as "k version" BEFORE the next
 *       one is sent (so the log is a lower bound on what the network promised). Errors are
 *       counted; the handle is reopened and the record's version re-read from the network.
 *   e2e_loader verify --records R --log FILE
 *       S1 check: every record must read a version >= its last acknowledged version, and a
 *       read of exactly that version must return its digest. Exit 1 on any violation.
 *   e2e_loader once   --record NAME [--timeout-ms T]
 *       One update (current version + 1). Exit 0 when acknowledged, 2 otherwise.
 *   e2e_loader pipe   --record NAME --records COUNT [--window W]
 *       COUNT pipelined updates of one record (nr_update_submit / nr_update_wait), at most W
 *       in flight; acknowledgements must come in version order. Exit 0 if all committed.
 *   e2e_loader read   --record NAME
 *       Print the record's "version".
 *
 * Configuration: NARRATOR_SOCKET, NARRATOR_PLATFORM, NARRATOR_SYSTEM_ID (client.env). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "narrator/narrator.h"

#define MAX_RECORDS 1024
#define AE_IDENTITY "narrator-e2e-loader/1"

static struct nr_client_options g_opt;
static uint32_t g_timeout_ms = 5000;

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
        fprintf(stderr, "e2e_loader: NARRATOR_SOCKET/PLATFORM/SYSTEM_ID not set\n");
        return -1;
    }
    g_opt.socket_path = sock;
    g_opt.platform_dir = plat;
    g_opt.tee_backend = "sim";
    g_opt.code_identity = AE_IDENTITY;
    return 0;
}

static void digest_for(uint8_t d[NR_DIGEST_BYTES], const char *name, uint64_t v)
{
    char state[160];
    int n = snprintf(state, sizeof state, "%s:%llu", name, (unsigned long long)v);
    nr_state_digest(d, (const uint8_t *)state, (size_t)n, v);
}

static int open_rec(struct nr_client **c, const char *name)
{
    g_opt.timeout_ms = g_timeout_ms;
    return nr_open(c, &g_opt, name);
}

static int cmd_load(unsigned records, const char *log_path, const char *stop_path)
{
    struct nr_client *c[MAX_RECORDS] = {0};
    uint64_t ver[MAX_RECORDS] = {0};
    int known[MAX_RECORDS] = {0};
    char name[32];
    uint64_t acked = 0, errors = 0;
    FILE *log = fopen(log_path, "a");
    if (!log) {
        perror(log_path);
        return 2;
    }
    setvbuf(log, NULL, _IOLBF, 0);
    for (;;) {
        for (unsigned k = 0; k < records; k++) {
            if (access(stop_path, F_OK) == 0) {
                goto done;
            }
            snprintf(name, sizeof name, "rec-%u", k);
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
                digest_for(d, name, ver[k] + 1);
                rc = nr_update(c[k], ver[k] + 1, d, &committed);
                if (rc == NR_OK) {
                    ver[k]++;
                    acked++;
                    if (fprintf(log, "%u %llu\n", k, (unsigned long long)ver[k]) < 0 ||
                        fflush(log) != 0) {
                        perror(log_path);
                        goto done;
                    }
                }
            }
            if (rc != NR_OK) {
                errors++;
                if (errors <= 20 || errors % 100 == 0) {
                    fprintf(stderr, "e2e_loader: %s v%llu: %s (errors so far %llu)\n", name,
                            (unsigned long long)ver[k] + 1, nr_errname(rc),
                            (unsigned long long)errors);
                }
                /* outcome unknown: reopen and re-read the committed version */
                nr_close(c[k]);
                c[k] = NULL;
                known[k] = 0;
                usleep(50000);
            }
        }
    }
done:
    for (unsigned k = 0; k < records; k++) {
        nr_close(c[k]);
    }
    fclose(log);
    printf("loader: acked %llu errors %llu\n", (unsigned long long)acked,
           (unsigned long long)errors);
    return 0;
}

static int cmd_verify(unsigned records, const char *log_path)
{
    uint64_t want[MAX_RECORDS] = {0};
    FILE *log = fopen(log_path, "r");
    if (!log) {
        perror(log_path);
        return 2;
    }
    unsigned k;
    unsigned long long v;
    uint64_t lines = 0;
    while (fscanf(log, "%u %llu", &k, &v) == 2) {
        if (k >= records) {
            fprintf(stderr, "verify: bad log line\n");
            fclose(log);
            return 2;
        }
        if (v <= want[k]) {
            fprintf(stderr, "VIOLATION: log acked rec-%u v%llu after v%llu\n", k, v,
                    (unsigned long long)want[k]);
            fclose(log);
            return 1;
        }
        want[k] = v;
        lines++;
    }
    fclose(log);
    int bad = 0;
    uint64_t total_ahead = 0;
    for (k = 0; k < records; k++) {
        char name[32];
        struct nr_client *c = NULL;
        uint64_t got = 0;
        uint8_t d[NR_DIGEST_BYTES], expect[NR_DIGEST_BYTES];
        snprintf(name, sizeof name, "rec-%u", k);
        int rc = open_rec(&c, name);
        if (rc == NR_OK) {
            rc = nr_read(c, &got, d);
        }
        nr_close(c);
        if (rc != NR_OK) {
            fprintf(stderr, "verify: read %s: %s\n", name, nr_errname(rc));
            return 2;
        }
        if (got < want[k]) {
            fprintf(stderr, "VIOLATION S1: %s reads v%llu but v%llu was acknowledged\n", name,
                    (unsigned long long)got, (unsigned long long)want[k]);
            bad = 1;
            continue;
        }
        digest_for(expect, name, got);
        if (got > 0 && sodium_memcmp(d, expect, sizeof d) != 0) {
            fprintf(stderr, "VIOLATION: %s v%llu has a digest nobody wrote\n", name,
                    (unsigned long long)got);
            bad = 1;
        }
        total_ahead += got - want[k];
    }
    printf("verify: %u records, %llu acknowledged updates, %s (%llu unacknowledged but "
           "committed)\n",
           records, (unsigned long long)lines, bad ? "VIOLATIONS" : "all reads >= last ack",
           (unsigned long long)total_ahead);
    return bad ? 1 : 0;
}

static int cmd_once(const char *name)
{
    struct nr_client *c = NULL;
    uint64_t v = 0, committed = 0;
    uint8_t d[NR_DIGEST_BYTES];
    int rc = open_rec(&c, name);
    if (rc == NR_OK) {
        rc = nr_read(c, &v, d);
    }
    if (rc == NR_OK) {
        digest_for(d, name, v + 1);
        rc = nr_update(c, v + 1, d, &committed);
    }
    nr_close(c);
    if (rc != NR_OK) {
        printf("once: %s: no ack: %s\n", name, nr_errname(rc));
        return 2;
    }
    printf("once: %s: committed v%llu\n", name, (unsigned long long)committed);
    return 0;
}

/* Pipelined: keep up to `window` updates of one record in flight, `count` in all; every
 * acknowledgement must name the next version, in order. */
static int cmd_pipe(const char *name, unsigned count, unsigned window)
{
    struct nr_client *c = NULL;
    uint64_t base = 0, next = 0, done = 0;
    uint8_t d[NR_DIGEST_BYTES];
    g_opt.window = window;
    int rc = open_rec(&c, name);
    if (rc == NR_OK) {
        rc = nr_read(c, &base, d);
    }
    next = base;
    while (rc == NR_OK && done < count) {
        while (rc == NR_OK && next - base < count && next - base - done < window) {
            next++;
            digest_for(d, name, next);
            rc = nr_update_submit(c, next, d);
        }
        if (rc != NR_OK) {
            break;
        }
        uint64_t committed = 0;
        rc = nr_update_wait(c, &committed);
        if (rc == NR_OK && committed != base + done + 1) {
            fprintf(stderr, "pipe: acknowledged v%llu, expected v%llu\n",
                    (unsigned long long)committed, (unsigned long long)(base + done + 1));
            rc = NR_EMALFORMED;
        }
        done += rc == NR_OK;
    }
    uint64_t v = 0;
    if (rc == NR_OK) {
        rc = nr_read(c, &v, d);
    }
    nr_close(c);
    if (rc != NR_OK || v != base + count) {
        fprintf(stderr, "pipe: %s: %s after %llu acks (reads v%llu)\n", name, nr_errname(rc),
                (unsigned long long)done, (unsigned long long)v);
        return 2;
    }
    printf("pipe: %s: %u updates acknowledged in order, window %u\n", name, count, window);
    return 0;
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
        fprintf(stderr, "read: %s: %s\n", name, nr_errname(rc));
        return 2;
    }
    printf("%llu\n", (unsigned long long)v);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: e2e_loader load|verify|once|read [options]\n");
        return 2;
    }
    const char *cmd = argv[1], *log_path = NULL, *stop_path = NULL, *record = NULL;
    unsigned records = 0, window = 0;
    static const struct option longopts[] = {{"records", required_argument, NULL, 'r'},
                                             {"log", required_argument, NULL, 'l'},
                                             {"stop", required_argument, NULL, 's'},
                                             {"record", required_argument, NULL, 'R'},
                                             {"timeout-ms", required_argument, NULL, 't'},
                                             {"window", required_argument, NULL, 'w'},
                                             {NULL, 0, NULL, 0}};
    int ch;
    optind = 2;
    while ((ch = getopt_long(argc, argv, "r:l:s:R:t:w:", longopts, NULL)) != -1) {
        switch (ch) {
        case 'r': records = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'l': log_path = optarg; break;
        case 's': stop_path = optarg; break;
        case 'R': record = optarg; break;
        case 't': g_timeout_ms = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'w': window = (unsigned)strtoul(optarg, NULL, 10); break;
        default: return 2;
        }
    }
    if (sodium_init() < 0 || env_options() != 0) {
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    if (strcmp(cmd, "load") == 0 && records > 0 && records <= MAX_RECORDS && log_path && stop_path) {
        return cmd_load(records, log_path, stop_path);
    }
    if (strcmp(cmd, "verify") == 0 && records > 0 && records <= MAX_RECORDS && log_path) {
        return cmd_verify(records, log_path);
    }
    if (strcmp(cmd, "once") == 0 && record) {
        return cmd_once(record);
    }
    if (strcmp(cmd, "pipe") == 0 && record && records > 0) {
        return cmd_pipe(record, records, window ? window : 16);
    }
    if (strcmp(cmd, "read") == 0 && record) {
        return cmd_read(record);
    }
    fprintf(stderr, "e2e_loader: bad arguments\n");
    return 2;
}
