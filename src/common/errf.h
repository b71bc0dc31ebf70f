/* Internal: the one "write an error message, return its code" helper of the modules that report
 * errors as (code, caller's message buffer). */
#ifndef NR_COMMON_ERRF_H
#define NR_COMMON_ERRF_H

#include <stdarg.h>
#include <stddef.h>

/* Formats into err (cap bytes; nothing if err is NULL or cap is 0) and returns rc. */
int nr_errf(char *err, size_t cap, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int nr_verrf(char *err, size_t cap, int rc, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

#endif
