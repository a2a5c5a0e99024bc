/*
 * host/backends/cpu/scorer_cpu.h: the CPU scorer, the specification every
 * other scorer backend must agree with (internal; the public API is
 * hyporank/scorer.h, which reaches it through the CPU backend's table,
 * host/backends/cpu/backend_cpu.c).
 */
#ifndef HYPORANK_SCORER_CPU_H
#define HYPORANK_SCORER_CPU_H

#include "hyporank/findings.h"
#include "hyporank/scorer.h"
#include "hyporank/stats.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hr_scorer_cpu hr_scorer_cpu;

/* xa: (n_a, dim), xb: (n_b, dim) row-major, borrowed. memory_bytes is the
 * budget for the (block, N) score slabs of all threads together.
 * temperature: CONTRAST's T, checked by the caller (hr_scorer_create). */
hr_status hr_scorer_cpu_create(const float *xa, size_t n_a, const float *xb, size_t n_b, int dim,
                               hr_score_method method, double temperature, size_t memory_bytes,
                               int n_threads, hr_scorer_cpu **out, char *err, size_t errlen);
void hr_scorer_cpu_destroy(hr_scorer_cpu *s); /* accepts NULL */

/* Hypotheses per block (at least 1). */
size_t hr_scorer_cpu_block_rows(const hr_scorer_cpu *s);

/* Fills everything but q_value for k hypotheses, h: (k, dim) row-major. */
hr_status hr_scorer_cpu_score(hr_scorer_cpu *s, const float *h, size_t k,
                              hr_hypothesis_score *out, char *err, size_t errlen);
/* The same, and the effect of each hypothesis's plain similarity into
 * effects: (k) (hyporank/findings.h; q_value left at 1), from the same
 * slabs before the method's transform. */
hr_status hr_scorer_cpu_score_effects(hr_scorer_cpu *s, const float *h, size_t k,
                                      hr_hypothesis_score *out, hr_effect *effects, char *err,
                                      size_t errlen);

/* Scores: the formulas of host/scoring/score_methods.h, which this scorer
 * computes in two passes (scorer_cpu.c). */

#ifdef __cplusplus
}
#endif

#endif
