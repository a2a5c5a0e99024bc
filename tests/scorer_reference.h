/*
 * tests/scorer_reference.h: what the scorer must report, computed the plain
 * way from a materialised score matrix, for the scorer tests to compare with;
 * and the distance from uniform that their tests under the null use.
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

static inline int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Kolmogorov-Smirnov distance of the sample p: (n), sorted in place, from
 * Uniform(0, 1): how far null p-values are from uniform. */
static inline double ks_uniform(double *p, size_t n)
{
    qsort(p, n, sizeof *p, cmp_double);
    double dmax = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double hi = (double)(i + 1) / (double)n - p[i], lo = p[i] - (double)i / (double)n;
        dmax = hi > dmax ? hi : dmax;
        dmax = lo > dmax ? lo : dmax;
    }
    return dmax;
}

#endif
