/* Process helpers for `up` / `down`: pid files, stopping, finding narratord. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"

uint64_t nr_cli_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void nr_cli_sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000u, .tv_nsec = (long)(ms % 1000u) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

int nr_cli_read_pid(const char *pidfile, pid_t *pid)
{
    char text[32];
    unsigned v = 0;
    int rc = nr_cli_read_text(pidfile, text, sizeof text);
    if (rc) {
        return rc;
    }
    if (nr_cli_parse_uint(text, 2, (unsigned)INT_MAX, &v)) {
        return NR_EINVAL;
    }
    *pid = (pid_t)v;
    return NR_OK;
}

int nr_cli_pid_is_narratord(pid_t pid)
{
    char path[64], cmd[256];
    if (pid <= 1 || kill(pid, 0) != 0) {
        return 0;
    }
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) {
        return 0;
    }
    size_t n = fread(cmd, 1, sizeof cmd - 1, f);
    fclose(f);
    cmd[n] = '\0'; /* argv[0] up to the first NUL */
    /* a zombie has an empty cmdline: it is gone for our purposes */
    return n > 0 && strstr(cmd, "narratord") != NULL;
}

static int gone(pid_t pid)
{
    /* reap if it is our child (up waits for nothing, but tests may call this) */
    (void)waitpid(pid, NULL, WNOHANG);
    return !nr_cli_pid_is_narratord(pid);
}

int nr_cli_stop_pid(pid_t pid, unsigned grace_ms)
{
    if (gone(pid)) {
        return NR_OK;
    }
    if (kill(pid, SIGTERM) != 0 && errno != ESRCH) {
        return NR_EPERM;
    }
    uint64_t deadline = nr_cli_now_ms() + grace_ms;
    while (nr_cli_now_ms() < deadline) {
        if (gone(pid)) {
            return NR_OK;
        }
        nr_cli_sleep_ms(20);
    }
    if (kill(pid, SIGKILL) != 0 && errno != ESRCH) {
        return NR_EPERM;
    }
    deadline = nr_cli_now_ms() + 2000u;
    while (nr_cli_now_ms() < deadline) {
        if (gone(pid)) {
            return NR_OK;
        }
        nr_cli_sleep_ms(20);
    }
    return NR_ETIMEDOUT;
}

static int executable(const char *p)
{
    return access(p, X_OK) == 0;
}

void nr_cli_narratord_path(char *out, size_t cap)
{
    const char *env = getenv("NARRATORD");
    if (env && *env) {
        snprintf(out, cap, "%s", env);
        return;
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash) {
            *slash = '\0';
            static const char *const rel[] = {"narratord", "../host/narratord",
                                              "../src/host/narratord"};
            for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
                int k = snprintf(out, cap, "%s/%s", self, rel[i]);
                if (k > 0 && (size_t)k < cap && executable(out)) {
                    return;
                }
            }
        }
    }
    snprintf(out, cap, "narratord"); /* from PATH */
}
