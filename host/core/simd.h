/*
 * host/core/simd.h: which version of a hand-vectorised loop runs.
 *
 * A loop written with intrinsics (AVX-512, or AVX2 with FMA) has a portable
 * twin that does the same arithmetic in the same order: the versions of a
 * sum give the same bits, those of a product with fused multiply-adds (the
 * attention) the same result to float rounding. The best version the CPU
 * has runs, unless a test has capped the level (to compare the versions on
 * one machine).
 */
#ifndef HYPORANK_SIMD_H
#define HYPORANK_SIMD_H

typedef enum {
    HR_SIMD_PORTABLE = 0, /* plain C, vectorised by the compiler where it can */
    HR_SIMD_AVX2 = 1,     /* AVX2 and FMA (x86-64-v3: Haswell, Zen and later) */
    HR_SIMD_AVX512 = 2    /* AVX-512 F and VL (Skylake-SP, Zen 4 and later) */
} hr_simd_level;

/* The level the dispatching loops run at: the best the CPU has, no higher
 * than the cap. */
hr_simd_level hr_simd_level_now(void);

/* Shorthands: 1 when the AVX-512 (or the AVX2) versions run. */
int hr_simd_avx512(void);
int hr_simd_avx2(void);

/* Tests: run every dispatching loop at most at `level` (HR_SIMD_AVX512
 * undoes a cap). Not for use while other threads run such loops. */
void hr_simd_cap(hr_simd_level level);

#endif
