#include "narrator/errors.h"

const char *nr_strerror(int err)
{
    switch (err) {
    case NR_OK:
        return "success";
#define NR_ERR_MSG_(name, num, msg)                                                               \
    case name:                                                                                    \
        return msg;
        NR_ERRORS(NR_ERR_MSG_)
#undef NR_ERR_MSG_
    default:
        return "unknown error";
    }
}

const char *nr_errname(int err)
{
    switch (err) {
    case NR_OK:
        return "NR_OK";
#define NR_ERR_NAME_(name, num, msg)                                                              \
    case name:                                                                                    \
        return #name;
        NR_ERRORS(NR_ERR_NAME_)
#undef NR_ERR_NAME_
    default:
        return "NR_E?";
    }
}

#include <stdio.h>

#include "common/errf.h"

int nr_verrf(char *err, size_t cap, int rc, const char *fmt, va_list ap)
{
    if (err != NULL && cap > 0)
        vsnprintf(err, cap, fmt, ap);
    return rc;
}

int nr_errf(char *err, size_t cap, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rc = nr_verrf(err, cap, rc, fmt, ap);
    va_end(ap);
    return rc;
}
