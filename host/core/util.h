/*
 * host/core/util.h: small internal helpers shared by the host modules (not public).
 */
#ifndef HYPORANK_UTIL_H
#define HYPORANK_UTIL_H

#include "hyporank/status.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define HR_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define HR_PRINTF(a, b)
#endif

/* Writes a formatted message into err (when err is not NULL) and returns st,
 * so that error paths read: return hr_fail(HR_ERR_INPUT, err, errlen, "...");
 */
hr_status hr_fail(hr_status st, char *err, size_t errlen, const char *fmt, ...) HR_PRINTF(4, 5);

/* Seconds on a monotonic clock. */
double hr_now(void);

#ifdef __cplusplus
}
#endif

#endif
