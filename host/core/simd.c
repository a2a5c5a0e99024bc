/* host/core/simd.c: see simd.h. */
#include "core/simd.h"

static int portable; /* set by tests only, before the loops run */

int hr_simd_avx512(void)
{
#if defined(__GNUC__) && defined(__x86_64__)
    return !portable && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl");
#else
    return 0;
#endif
}

void hr_simd_set_portable(int on)
{
    portable = on != 0;
}
