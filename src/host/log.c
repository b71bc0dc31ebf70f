#include "host/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "narrator/errors.h"

static int g_level = NR_LOG_INFO;
static FILE *g_file;

static const char *const g_names[] = {"error", "warn", "info", "debug"};

void nr_log_set_level(int level)
{
    if (level < NR_LOG_ERROR)
        level = NR_LOG_ERROR;
    if (level > NR_LOG_DEBUG)
        level = NR_LOG_DEBUG;
    g_level = level;
}

int nr_log_level(void)
{
    return g_level;
}

int nr_log_open_file(const char *path)
{
    FILE *f;

    nr_log_close();
    if (!path || !*path)
        return NR_OK;
    f = fopen(path, "a");
    if (!f)
        return NR_EIO;
    setvbuf(f, NULL, _IOLBF, 0);
    g_file = f;
    return NR_OK;
}

void nr_log_close(void)
{
    if (g_file) {
        fclose(g_file);
        g_file = NULL;
    }
}

int nr_log_level_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s, g_names[i]) == 0)
            return i;
    return -1;
}

const char *nr_log_level_name(int level)
{
    if (level < 0 || level > 3)
        return "?";
    return g_names[level];
}

uint64_t nr_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void emit(int level, const char *fmt, va_list ap)
{
    static const char *const tags[] = {"ERROR", "WARN ", "INFO ", "DEBUG"};
    char line[1024];
    char ts[40];
    struct timespec now;
    struct tm tm;
    int off;

    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    off = snprintf(line, sizeof line, "%s.%03ldZ %s ", ts, now.tv_nsec / 1000000L,
                   tags[level < 0 ? 0 : (level > 3 ? 3 : level)]);
    if (off < 0)
        return;
    vsnprintf(line + off, sizeof line - (size_t)off, fmt, ap);
    /* One line per event: neutralise embedded newlines (log injection). */
    for (char *p = line; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    fprintf(stderr, "%s\n", line);
    if (g_file)
        fprintf(g_file, "%s\n", line);
}

void nr_log(int level, const char *fmt, ...)
{
    va_list ap;

    if (level > g_level)
        return;
    va_start(ap, fmt);
    emit(level, fmt, ap);
    va_end(ap);
}

void nr_log_limited(struct nr_ratelimit *rl, uint64_t now_ms, int level, const char *fmt, ...)
{
    va_list ap;

    if (level > g_level)
        return;
    if (now_ms - rl->window_start_ms >= NR_RATELIMIT_INTERVAL_MS) {
        if (rl->suppressed)
            nr_log(level, "(%llu similar messages suppressed)", (unsigned long long)rl->suppressed);
        rl->window_start_ms = now_ms;
        rl->in_window = 0;
        rl->suppressed = 0;
    }
    if (rl->in_window >= NR_RATELIMIT_BURST) {
        rl->suppressed++;
        return;
    }
    rl->in_window++;
    va_start(ap, fmt);
    emit(level, fmt, ap);
    va_end(ap);
}
