/*
 * host/core/fastmath.h: exp and GELU in float32, branch-free so that the compiler
 * vectorises loops over them (libm's expf and erff are scalar calls, and were
 * a third of the CPU encoder's time). Accuracy is checked against libm in
 * double by tests/test_fastmath.c.
 */
#ifndef HYPORANK_FASTMATH_H
#define HYPORANK_FASTMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* Loops marked HR_VECTOR_CLONES are compiled for several instruction sets
 * (x86-64, x86-64-v3 = AVX2 with FMA, AVX-512) and the best one the CPU has
 * is picked at load time (GCC function multi-versioning); elsewhere the mark
 * is empty. */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define HR_VECTOR_CLONES __attribute__((target_clones("default", "arch=x86-64-v3", "avx512f")))
#else
#define HR_VECTOR_CLONES
#endif

/* e^x for x in [-87, 88] (inputs outside are clamped: the result saturates to
 * ~1e-38 or ~1.6e38). x = n ln2 + r with |r| <= ln2 / 2; e^r by its Taylor
 * series to degree 7 (truncation error < 6e-9 relative); 2^n by building the
 * float's exponent bits. Measured max relative error: see test_fastmath. */
static inline float hr_expf(float x)
{
    x = x > 88.f ? 88.f : x;
    x = x < -87.f ? -87.f : x;
    const float log2e = 1.44269504088896341f;
    /* ln 2 split in two parts so that n * ln2_hi is exact in float */
    const float ln2_hi = 0.693145751953125f, ln2_lo = 1.42860682030941723212e-6f;
    /* round x log2(e) to the nearest integer: adding and taking away 1.5 * 2^23
     * leaves no fraction bits (|x log2 e| < 2^22, round-to-nearest mode) */
    const float magic = 12582912.f;
    float fn = (x * log2e + magic) - magic;
    float r = (x - fn * ln2_hi) - fn * ln2_lo;
    /* sum_{i <= 7} r^i / i! as 1 + (r + r^2 q), the terms of q in pairs
     * (Estrin's order: a dependency chain of 5 multiply-adds instead of
     * Horner's 7), and the 1 added last so that it rounds once */
    const float r2 = r * r, r4 = r2 * r2;
    const float p23 = 0.5f + r * (1.f / 6.f), p45 = 1.f / 24.f + r * (1.f / 120.f);
    const float p67 = 1.f / 720.f + r * (1.f / 5040.f);
    const float q = (p23 + r2 * p45) + r4 * p67;
    const float p = 1.f + (r + r2 * q);
    int32_t bits = ((int32_t)fn + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

/* GELU(x) = 0.5 x (1 + erf(x / sqrt 2)), the exact (erf) form BERT uses, not
 * the tanh approximation. Written as 0.5 x erfc(-x / sqrt 2) and computed
 * through erfc(z), z = |x| / sqrt 2, with the Chebyshev fit of Numerical
 * Recipes (erfcc; fractional error below 1.2e-7 for every z >= 0):
 *     x >= 0: 0.5 x (2 - erfc(z))        x < 0: 0.5 x erfc(z)
 * so the relative error of the result stays near float precision on both
 * sides, including the far negative tail where 1 + erf(x) cancels. */
static inline float hr_gelu(float x)
{
    const float z = fabsf(x) * 0.70710678118654752f;
    const float t = 1.f / (1.f + 0.5f * z);
    /* the fit's polynomial of degree 9 in t, in Estrin's order (0 < t <= 1) */
    const float t2 = t * t, t4 = t2 * t2, t8 = t4 * t4;
    const float c01 = -1.26551223f + t * 1.00002368f, c23 = 0.37409196f + t * 0.09678418f;
    const float c45 = -0.18628806f + t * 0.27886807f, c67 = -1.13520398f + t * 1.48851587f;
    const float c89 = -0.82215223f + t * 0.17087277f;
    const float p = ((c01 + t2 * c23) + t4 * (c45 + t2 * c67)) + t8 * c89;
    const float erfc_z = t * hr_expf(-z * z + p);
    return 0.5f * x * (x >= 0.f ? 2.f - erfc_z : erfc_z);
}

#endif
