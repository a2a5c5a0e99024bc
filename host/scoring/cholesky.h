/*
 * host/scoring/cholesky.h: the small dense Cholesky factorisation and solve that the
 * Newton steps of the probe (host/scoring/probe.c, kernels/probe.cu) and the ridge
 * fit of explain (host/discovery/explain.c) share (internal). Sizes are a few hundred,
 * so plain row-oriented loops do.
 */
#ifndef HYPORANK_CHOLESKY_H
#define HYPORANK_CHOLESKY_H

#ifdef __cplusplus
extern "C" {
#endif

/* Cholesky factor of the symmetric matrix whose upper triangle is in H:
 * (p, p) row-major, plus ridge on the diagonal. Writes L: (p, p) row-major,
 * lower triangle (the upper is left as is), with H + ridge I = L L^T.
 * Returns 0, or -1 when a pivot is not positive. Row-oriented, so every
 * inner product runs over two contiguous row prefixes. */
int hr_cholesky(const double *H, int p, double ridge, double *L);

/* Solves L L^T x = rhs in place (x: (p), rhs on entry), L from hr_cholesky. */
void hr_cholesky_solve(const double *L, int p, double *x);

#ifdef __cplusplus
}
#endif

#endif
