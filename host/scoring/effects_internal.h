/*
 * host/scoring/effects_internal.h: the parts of host/scoring/effects.c that
 * the findings selection and the tests share (internal).
 */
#ifndef HYPORANK_EFFECTS_INTERNAL_H
#define HYPORANK_EFFECTS_INTERNAL_H

#include "hyporank/findings.h"
#include "hyporank/stats.h"

#include <stddef.h>
#include <stdint.h>

/* The hinge's threshold moves down to the next distinct similarity when
 * fewer than this share of the texts lie strictly above it (ties). */
#define HR_EFFECT_MIN_ABOVE 0.05

#ifdef __cplusplus
extern "C" {
#endif

/* Quantiles q[0..nq) (each in [0, 1], in increasing order) of v: (n), n >= 1,
 * no NaN, as numpy.quantile's default (linear interpolation at position
 * (n - 1) q); v is reordered. out: (nq). */
void hr_quantiles(float *v, size_t n, const double *q, size_t nq, double *out);

/* The effect of one hypothesis from its similarities to A's texts sa: (n_a)
 * and B's sb: (n_b); scratch: (n_a + n_b). */
hr_status hr_effect_of(const float *sa, size_t n_a, const float *sb, size_t n_b, float *scratch,
                       hr_effect *out, char *err, size_t errlen);

/* The same effect as hr_effect_of (bit for bit) from the similarities s:
 * (n_a + n_b), A's first, right after hr_mw_fast sorted those same values
 * in ws: the quantiles are read off the order (no pass of their own), the
 * hinge takes one pass. What the CPU scorer does when the AUROC's scores
 * are the similarity (cosine). */
void hr_effect_of_ordered(const hr_mw_workspace *ws, const float *s, size_t n_a, size_t n_b,
                          hr_effect *out);

/* What an effect is computed from, HR_EFFECT_STATS doubles: the pooled
 * quantiles q25, q50, q70, q75, q98 of the similarity, the hinge's
 * threshold tau (q70, or lower when tied), and the sum and the sum of
 * squares of the hinge max(s - tau, 0) over A and over B. */
#define HR_EFFECT_STATS 10

/* The effect from those statistics and the group sizes (n_a, n_b >= 1);
 * q_value 1. hr_effect_of ends here, and so do backends that gather the
 * statistics themselves. */
void hr_effect_finish(const double *stats, size_t n_a, size_t n_b, hr_effect *out);

/* The statistics from histograms of the similarity (the CUDA scorer's):
 * ca, cb: (bins) counts of A's and of B's similarities in bins of width
 * width from lo up (bin b holds [lo + b width, lo + (b + 1) width)); each
 * similarity is taken at its bin's centre, so quantiles are within half a
 * bin of the exact ones and hinges within half a bin per text. At least one
 * count. The twin of kernels/scorer.cu's effect_stats_kernel. */
void hr_effect_hist_stats(const uint32_t *ca, const uint32_t *cb, size_t bins, double lo,
                          double width, double *stats);

/* e->ci_low, e->ci_high: e->effect +- 1.96 sqrt(se^2 + (HR_EFFECT_CALIBRATION_SD
 * effect)^2 + HR_EFFECT_CALIBRATION_ABS_SD^2), within [-1, 1]; se: the
 * effect's sampling error. */
void hr_effect_interval(hr_effect *e, double se);

#ifdef __cplusplus
}
#endif

#endif
