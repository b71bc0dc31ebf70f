/* CPU time of a process from /proc/<pid>/stat (utime + stime, in seconds), for reporting
 * the CPU use of the daemons under test and of the load generator itself. */
#ifndef NR_BENCH_PROCSTAT_H
#define NR_BENCH_PROCSTAT_H

#include <sys/types.h>

/* Total user+system CPU seconds consumed so far by `pid` (0 = this process), including
 * all its threads. Returns 0 on success, -1 if the process is gone or the file unparsable. */
int nr_proc_cpu_seconds(pid_t pid, double *cpu_s);
/* Resident set size in bytes from /proc/<pid>/statm (0 = self). */
int nr_proc_rss_bytes(pid_t pid, unsigned long long *rss);

#endif
