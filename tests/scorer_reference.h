/*
 * tests/scorer_reference.h: what the scorer must report, computed the plain
 * way from a materialised score matrix, for the scorer tests to compare with.
 */
#ifndef HYPORANK_SCORER_REFERENCE_H
#define HYPORANK_SCORER_REFERENCE_H

#include "hyporank/scorer.h"
#include "hyporank/stats.h"

#include <stdlib.h>

/* s: (k, na + nb) row-major scores, A's columns first. out: (k). Each row gets
 * the sorting reference's Mann-Whitney results, then Benjamini-Hochberg
 * q-values across the k rows. */
static inline void reference_results(const float *s, size_t na, size_t nb, size_t k,
                                     hr_hypothesis_score *out)
{
    const size_t n = na + nb;
    double *p = calloc(k ? k : 1, sizeof *p); /* (k) p-values, then q-values in place */
    for (size_t r = 0; r < k; r++) {
        hr_mw_result m;
        hr_mw_sorted(s + r * n, na, nb, &m, NULL, 0);
        out[r] = (hr_hypothesis_score){m.auroc, m.mean_a, m.mean_b, m.u, m.z, m.p_value, 0.0};
        p[r] = m.p_value;
    }
    hr_bh_qvalues(p, k, p, NULL, 0);
    for (size_t r = 0; r < k; r++) out[r].q_value = p[r];
    free(p);
}

#endif
