/*
 * host/scoring/effects_internal.h: the parts of host/scoring/effects.c that
 * the findings selection and the tests share (internal).
 */
#ifndef HYPORANK_EFFECTS_INTERNAL_H
#define HYPORANK_EFFECTS_INTERNAL_H

#include "hyporank/findings.h"

#include <stddef.h>

/* The hinge's threshold moves down to the next distinct similarity when
 * fewer than this share of the texts lie strictly above it (ties). */
#define HR_EFFECT_MIN_ABOVE 0.05

/* Quantiles q[0..nq) (each in [0, 1], in increasing order) of v: (n), n >= 1,
 * no NaN, as numpy.quantile's default (linear interpolation at position
 * (n - 1) q); v is reordered. out: (nq). */
void hr_quantiles(float *v, size_t n, const double *q, size_t nq, double *out);

/* The effect of one hypothesis from its similarities to A's texts sa: (n_a)
 * and B's sb: (n_b); scratch: (n_a + n_b). */
hr_status hr_effect_of(const float *sa, size_t n_a, const float *sb, size_t n_b, float *scratch,
                       hr_effect *out, char *err, size_t errlen);

/* e->ci_low, e->ci_high: e->effect +- 1.96 sqrt(se^2 + (rel_sd effect)^2),
 * within [-1, 1]. */
void hr_effect_interval(hr_effect *e, double se, double rel_sd);

#endif
