/*
 * bench/bench_util.h: what every benchmark program needs: a monotonic clock,
 * a checked integer option, and the two seeded random streams the
 * benchmarks draw their data from (so the CPU and GPU versions of a
 * benchmark time the same data).
 */
#ifndef HYPORANK_BENCH_UTIL_H
#define HYPORANK_BENCH_UTIL_H
#include "core/random.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Seconds on a monotonic clock. */
static inline double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* s as a long in [lo, hi]; otherwise says so, naming the program and the
 * option, and exits with status 2. */
static inline long bench_parse_long(const char *prog, const char *s, long lo, long hi,
                                    const char *what)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < lo || v > hi) {
        fprintf(stderr, "%s: %s must be in [%ld, %ld], not '%s'\n", prog, what, lo, hi, s);
        exit(2);
    }
    return v;
}

/* Uniform in (0, 1) from an xorshift64 stream (the probe benchmarks). */
static uint64_t bench_uniform_state = 0x9E3779B97F4A7C15ull;
static inline double bench_uniform(void)
{
    uint64_t r = bench_uniform_state;
    r ^= r << 13, r ^= r >> 7, r ^= r << 17;
    bench_uniform_state = r;
    return ((double)(r >> 11) + 0.5) / 9007199254740992.0;
}

/* A standard normal from one splitmix64 draw (53 bits for the radius, 11
 * for the angle; the scorer benchmarks). */
static uint64_t bench_normal_state = 42;
static inline double bench_normal(void)
{
    const uint64_t z = hr_splitmix64(&bench_normal_state);
    const double u = ((double)(z >> 11) + 0.5) * 0x1.0p-53, v = (double)(z & 0x7FF) / 2048.0;
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

#endif
