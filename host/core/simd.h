/*
 * host/core/simd.h: which version of a hand-vectorised loop runs.
 *
 * A loop written with AVX-512 intrinsics has a portable twin that does the
 * same arithmetic lane by lane in the same order, so both give the same
 * bits; the intrinsics run when the CPU has the instructions, unless a test
 * has asked for the portable twins (to compare the two on one machine).
 */
#ifndef HYPORANK_SIMD_H
#define HYPORANK_SIMD_H

/* 1 when the AVX-512 (F and VL) versions run: an x86-64 CPU that has them,
 * and hr_simd_set_portable(0). */
int hr_simd_avx512(void);

/* Tests: 1 makes every dispatching loop run its portable twin, 0 undoes
 * it. Not for use while other threads run such loops. */
void hr_simd_set_portable(int on);

#endif
