/* host/core/simd.c: see simd.h. */
#include "core/simd.h"

static hr_simd_level cap = HR_SIMD_AVX512; /* lowered by tests only, before the loops run */

static hr_simd_level cpu_level(void)
{
#if defined(__GNUC__) && defined(__x86_64__)
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl"))
        return HR_SIMD_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return HR_SIMD_AVX2;
#endif
    return HR_SIMD_PORTABLE;
}

hr_simd_level hr_simd_level_now(void)
{
    const hr_simd_level l = cpu_level();
    return l < cap ? l : cap;
}

int hr_simd_avx512(void)
{
    return hr_simd_level_now() >= HR_SIMD_AVX512;
}

int hr_simd_avx2(void)
{
    return hr_simd_level_now() >= HR_SIMD_AVX2;
}

void hr_simd_cap(hr_simd_level level)
{
    cap = level;
}
