/*
 * tests/test_random.h: a seeded random stream for tests (splitmix64), and
 * matrices of exactly representable values, for the scorer tests.
 *
 *     rng_state = 42;
 *     double u = rng_uniform(), g = rng_normal();
 */
#ifndef HYPORANK_TEST_RANDOM_H
#define HYPORANK_TEST_RANDOM_H

#include "core/random.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

static uint64_t rng_state;

static inline uint64_t rng_next(void) { return hr_splitmix64(&rng_state); }

/* Uniform in (0, 1). */
static inline double rng_uniform(void) { return ((double)(rng_next() >> 11) + 0.5) * 0x1.0p-53; }

/* Standard normal (Box-Muller). */
static inline double rng_normal(void)
{
    return sqrt(-2.0 * log(rng_uniform())) * cos(6.283185307179586 * rng_uniform());
}

/* (n, d) row-major of multiples of 1/256 in [-1, 1]; with coarse, only
 * -1/256, 0 and 1/256 (many tied similarities). Products and sums of such
 * values are exact in float, whatever order BLAS adds them in. free() it. */
static inline float *exact_matrix(size_t n, size_t d, int coarse)
{
    float *m = malloc(n * d * sizeof *m);
    for (size_t i = 0; i < n * d; i++) {
        int k = coarse ? (int)(rng_next() % 3) - 1 : (int)(rng_next() % 513) - 256;
        m[i] = (float)k / 256.0f;
    }
    return m;
}

#endif
