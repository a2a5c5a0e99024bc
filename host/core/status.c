#include "hyporank/status.h"
#include "core/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

const char *hr_status_str(hr_status st)
{
    switch (st) {
    case HR_OK: return "ok";
    case HR_ERR_INPUT: return "invalid input";
    case HR_ERR_IO: return "input/output error";
    case HR_ERR_NOMEM: return "out of memory";
    case HR_ERR_MODEL: return "model error";
    case HR_ERR_UNSUPPORTED: return "unsupported";
    case HR_ERR_NO_DEVICE: return "no CUDA device";
    case HR_ERR_CUDA: return "CUDA error";
    case HR_ERR_CACHE: return "cache error";
    case HR_ERR_INTERNAL: return "internal error";
    case HR_ERR_CANCELLED: return "cancelled";
    }
    return "unknown status";
}

hr_status hr_fail(hr_status st, char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return st;
}

double hr_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
