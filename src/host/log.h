/* narratord logging: levelled, one line per event, timestamped, to stderr and optionally to
 * a file. Rate-limited variant for events an attacker can trigger at will (malformed or
 * unauthenticated messages), so that a flood cannot fill the disk. Host-side only: the core
 * logs through struct nr_se_io.log, which the daemon routes here. */
#ifndef NR_HOST_LOG_H
#define NR_HOST_LOG_H

#include <stdint.h>

#include "core/core.h" /* enum nr_log_level */

/* Global logger (one daemon per process). level: enum nr_log_level. */
void nr_log_set_level(int level);
int nr_log_level(void);
/* Also append every line to `path` (NULL: stderr only). Returns 0 or NR_EIO. */
int nr_log_open_file(const char *path) __attribute__((warn_unused_result));
void nr_log_close(void);
/* Parse "error" / "warn" / "info" / "debug"; returns the level or -1. */
int nr_log_level_parse(const char *s);
const char *nr_log_level_name(int level);

void nr_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define NR_LOGE(...) nr_log(NR_LOG_ERROR, __VA_ARGS__)
#define NR_LOGW(...) nr_log(NR_LOG_WARN, __VA_ARGS__)
#define NR_LOGI(...) nr_log(NR_LOG_INFO, __VA_ARGS__)
#define NR_LOGD(...) nr_log(NR_LOG_DEBUG, __VA_ARGS__)

/* At most `burst` lines per `interval_ms`; the first line after a quiet period reports how
 * many were suppressed. */
struct nr_ratelimit {
    uint64_t window_start_ms;
    uint32_t in_window;
    uint64_t suppressed;
};
#define NR_RATELIMIT_INTERVAL_MS 1000u
#define NR_RATELIMIT_BURST 5u
void nr_log_limited(struct nr_ratelimit *rl, uint64_t now_ms, int level, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Monotonic milliseconds (for event times and rate limits). */
uint64_t nr_now_ms(void);

#endif
