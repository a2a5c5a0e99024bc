/*
 * host/core/random.h: the library's one seeded random stream (internal).
 *
 * splitmix64 (Steele, Lea, Flood 2014): a 64-bit state advanced by a
 * constant and mixed; every seed, including 0, gives a full-period stream,
 * and the same seed gives the same bits on every machine. Anything that must
 * be reproducible from a --seed (splits, folds, bootstraps, k-means++) draws
 * from it, directly or by seeding a larger generator with it.
 *
 *     uint64_t state = seed;
 *     size_t j = hr_random_below(&state, n);   // uniform in [0, n)
 *     double u = hr_random_uniform(&state);    // uniform in [0, 1)
 */
#ifndef HYPORANK_RANDOM_H
#define HYPORANK_RANDOM_H

#include <stddef.h>
#include <stdint.h>

static inline uint64_t hr_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1): the top 53 bits. */
static inline double hr_random_uniform(uint64_t *state)
{
    return (double)(hr_splitmix64(state) >> 11) * 0x1.0p-53;
}

/* Uniform in [0, bound), bound >= 1, without modulo bias: draws at or above
 * the largest multiple of bound are drawn again (probability < bound / 2^64). */
static inline uint64_t hr_random_below(uint64_t *state, uint64_t bound)
{
    const uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
    uint64_t r;
    do r = hr_splitmix64(state);
    while (r >= limit);
    return r % bound;
}

/* Shuffles idx (n) in place (Fisher-Yates, from the end). */
static inline void hr_random_shuffle(uint64_t *state, size_t *idx, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)hr_random_below(state, (uint64_t)i);
        size_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}

#endif
