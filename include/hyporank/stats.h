/*
 * hyporank/stats.h: how well one score separates group A from group B.
 *
 * For a score vector whose first n_a entries belong to A and whose next n_b
 * entries belong to B:
 *
 *   U        the Mann-Whitney statistic of A: the pairs (a, b) with a > b,
 *            plus one half for each pair with a == b (-0 and +0 are equal);
 *   auroc    U / (n_a n_b): the AUROC of the score with A as the positive
 *            class, ties counting one half (as scikit-learn's roc_auc_score);
 *   z        (U - n_a n_b / 2) moved half a unit towards 0 (continuity
 *            correction), over the tie-corrected standard deviation
 *              sigma^2 = n_a n_b / 12 * ((N + 1) - sum_t (t^3 - t) / (N (N - 1)))
 *            where t runs over the sizes of the groups of tied scores and
 *            N = n_a + n_b; positive when A scores higher;
 *   p_value  two-sided, from the normal approximation: erfc(|z| / sqrt 2).
 *            This is scipy.stats.mannwhitneyu(a, b, method="asymptotic"),
 *            continuity correction and all. It is accurate far into the tail
 *            (1e-300 is 1e-300); it is 0 only when below DBL_MIN.
 *
 * U is counted exactly in integers. Two methods compute the same result:
 * hr_mw_sorted (sort everything: the readable reference) and hr_mw_fast
 * (O(N) for scores of any continuous-looking distribution, through a
 * workspace sized once for n_a and n_b; see host/scoring/stats.c for the method).
 *
 *     hr_mw_workspace *ws;
 *     hr_mw_workspace_create(n_a, n_b, &ws, err, sizeof err);
 *     hr_mw_result r;
 *     for (k = 0; k < K; k++) {
 *         hr_mw_fast(ws, scores + k * (n_a + n_b), &r, err, sizeof err);
 *         p[k] = r.p_value;
 *     }
 *     hr_mw_workspace_destroy(ws);
 *     hr_bh_qvalues(p, K, q, err, sizeof err);
 *
 * Errors: n_a or n_b of 0 and NaN scores are HR_ERR_INPUT (the message says
 * which entry). Infinite scores are ordinary (very large or small) values.
 * A workspace must not be used from two threads at once.
 */
#ifndef HYPORANK_STATS_H
#define HYPORANK_STATS_H

#include "hyporank/status.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hr_mw_result {
    double auroc;    /* U / (n_a n_b), in [0, 1] */
    double u;        /* U of group A (a multiple of 1/2) */
    double z;        /* continuity-corrected, tie-corrected; 0 when all tie */
    double p_value;  /* two-sided, in [0, 1] */
    double mean_a;   /* mean score of A */
    double mean_b;   /* mean score of B */
    double tie_term; /* sum over groups of tied scores of t^3 - t */
} hr_mw_result;

/* Reference: sorts a copy of the scores. scores: (n_a + n_b), A first. */
hr_status hr_mw_sorted(const float *scores, size_t n_a, size_t n_b, hr_mw_result *out,
                       char *err, size_t errlen);

typedef struct hr_mw_workspace hr_mw_workspace;

/* A workspace for score vectors of n_a + n_b entries (about 16 bytes per
 * entry). n_a + n_b must be below 2^32. */
hr_status hr_mw_workspace_create(size_t n_a, size_t n_b, hr_mw_workspace **out, char *err,
                                 size_t errlen);
void hr_mw_workspace_destroy(hr_mw_workspace *ws); /* accepts NULL */

/* The same result as hr_mw_sorted (bit for bit in U, auroc, z and p_value),
 * in O(N) time for all but pathological inputs (never worse than sorting).
 * scores: (n_a + n_b) with the workspace's n_a, n_b; A first. */
hr_status hr_mw_fast(hr_mw_workspace *ws, const float *scores, hr_mw_result *out, char *err,
                     size_t errlen);

/* After a successful hr_mw_fast on ws: its r-th smallest score (r from 0 to
 * n_a + n_b - 1; -0 is returned as +0), in O(1). The scores are held in
 * order until the next hr_mw_fast on ws. The effects (hyporank/findings.h)
 * read their quantiles here when the AUROC's scores are the similarity. */
float hr_mw_order_statistic(const hr_mw_workspace *ws, size_t r);

/* Fills out from the exact counts: u2 = 2U, tie_term as above. Both methods
 * end here; exposed for tests. */
void hr_mw_finish(uint64_t u2, size_t n_a, size_t n_b, double tie_term, hr_mw_result *out);

/* Two-sided p-value of a standard normal z: erfc(|z| / sqrt 2), 0 when below
 * DBL_MIN. */
double hr_normal_two_sided_p(double z);

/* Benjamini-Hochberg q-values: q_i = min over j with p_j >= p_i of
 * min(1, p_j k / rank_j), so q is monotone in p and at most 1.
 * p, q: (k); q may alias p. A p outside [0, 1] or NaN is HR_ERR_INPUT. */
hr_status hr_bh_qvalues(const double *p, size_t k, double *q, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
