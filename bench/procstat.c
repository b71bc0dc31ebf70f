/* /proc readers for the CPU and memory columns of the benchmark report. */
#include "procstat.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int read_small(pid_t pid, const char *what, char *buf, size_t cap)
{
    char path[64];
    if (pid == 0) {
        snprintf(path, sizeof(path), "/proc/self/%s", what);
    } else {
        snprintf(path, sizeof(path), "/proc/%ld/%s", (long)pid, what);
    }
    FILE *f = fopen(path, "r");
    if (!f) {
        return -1;
    }
    size_t n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = '\0';
    return n > 0 ? 0 : -1;
}

int nr_proc_cpu_seconds(pid_t pid, double *cpu_s)
{
    char buf[1024];
    if (read_small(pid, "stat", buf, sizeof(buf)) != 0) {
        return -1;
    }
    /* Field 2 (comm) is in parentheses and may hold spaces: parse after the last ')'. */
    const char *p = strrchr(buf, ')');
    if (!p) {
        return -1;
    }
    p++;
    /* After comm: state(3) ppid pgrp session tty_nr tpgid flags minflt cminflt majflt
     * cmajflt utime(14) stime(15). */
    unsigned long long utime = 0, stime = 0;
    char state;
    if (sscanf(p, " %c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &state, &utime,
               &stime) != 3) {
        return -1;
    }
    long tck = sysconf(_SC_CLK_TCK);
    if (tck <= 0) {
        tck = 100;
    }
    *cpu_s = (double)(utime + stime) / (double)tck;
    return 0;
}

int nr_proc_rss_bytes(pid_t pid, unsigned long long *rss)
{
    char buf[256];
    if (read_small(pid, "statm", buf, sizeof(buf)) != 0) {
        return -1;
    }
    unsigned long long size = 0, res = 0;
    if (sscanf(buf, "%llu %llu", &size, &res) != 2) {
        return -1;
    }
    long page = sysconf(_SC_PAGESIZE);
    *rss = res * (unsigned long long)(page > 0 ? page : 4096);
    return 0;
}
