/*
 * hyporank/ppi.h: prediction-powered estimates of what share of A and of B
 * a hypothesis holds for, from a judge's labels on a random sample and the
 * embedding screen's opinion of every text (Angelopoulos, Bates, Fannjiang,
 * Jordan, Zrnic, Science 382, 2023; power tuning "PPI++": Angelopoulos,
 * Duchi, Zrnic 2023; cross-fitting: Zrnic, Candes, PNAS 2024).
 *
 * The quantity. For one side (A or B) of N texts, theta = the share of texts
 * the judge would say the hypothesis holds for. The judge labelled a uniform
 * random sample L of n texts (y = 1 holds, 0 not); U is the other m = N - n.
 * Every text has the screen's similarity s(x) = h . x. The classical
 * estimate is the labelled mean; PPI adds what the predictions f(x) say
 * about the texts nobody labelled, corrected by how wrong they are on L:
 *
 *     theta^ = mean_L y - (1/n) sum_{i in L} lambda_i (f_i(x_i) - mu_i),
 *
 * where f_i is a prediction function that never saw y_i and mu_i its mean
 * over U. Whatever f is, the correction term has mean 0 when the labelled
 * texts are a random sample, so theta^ is unbiased; the better f tracks y,
 * the smaller its variance.
 *
 * Predictions (recalibrate = 1, the default). The screen's standardised
 * similarity z = (s - mu0) / sigma (mu0, sigma: the screen's calibration,
 * hyporank/findings.h) is turned into P(holds) by a logistic regression
 * fitted on the judge's labels, A's and B's together, with a Gaussian prior
 * N(0, prior_sd^2) on its intercept and slope (so it exists with separated
 * or one-class labels). Cross-fitting keeps it honest: the labelled texts
 * are split into K folds (the caller's fold numbers), and the texts of fold
 * k are predicted by the model fitted on the other folds, so no text's
 * prediction saw its own label. mu_i is the mean of that fold's model over
 * U (which removes each fold model's own offset). With recalibrate = 0 the
 * prediction is the screen's calibrated probability, the same for every
 * fold:
 *
 *     p(x) = clip((max(s - tau, 0) - E[g | not]) / gain, 0, 1),
 *     E[g | not] = E[max(S - tau, 0)], S ~ N(mu0, sigma).
 *
 * Power tuning (PPI++). One weight lambda for both sides (the judge does
 * not know the side), cross-fitted as well: for the texts of fold k,
 *
 *     lambda_k = clip(sum_sides sum_{L, not k} (y - ybar)(c - cbar)
 *                     / sum_sides (n_side,-k - 1) Var_side(fbar) (1 + n_side / m_side), 0, 1),
 *
 * c = f(x) - mu the centred predictions, fbar the average of the fold
 * models, Var_side(fbar) over all texts of the side. lambda = 0 is the
 * classical estimate, 1 plain PPI; a useless screen gets lambda near 0.
 *
 * Interval of one side: a Wilson-type score interval with the variance
 * ratio r of PPI to the labels alone, i.e. Wilson's interval with n / r
 * effective labels, centred on theta^:
 *
 *     { t : (theta^ - t)^2 <= z^2 t (1 - t) r / n },
 *     r = (v_res / n + lambda^2 Var_U(fbar) / m) / (v_y / n),
 *     v_res = (sum_L (res - resbar)^2 + pseudo v_y) / (n - 2 + pseudo),
 *
 * res = y - lambda c, v_y the labels' sample variance. The pseudo
 * observations (2) pull r towards 1 when few labels disagree with the
 * predictions (with 20 labels a near-perfect screen would otherwise look
 * perfect); r = 1 (Wilson's interval) when lambda is 0, the labels are all
 * equal, n < 3 or m = 0. Like Wilson's, it stays inside [0, 1] and never
 * collapses to a point.
 *
 * V = share_a - share_b, interval by Newcombe's hybrid method from the two
 * sides' intervals (hyporank/verify.h): with r = 1 on both sides it is
 * exactly the classical Newcombe interval. effective_labels: the labels the
 * classical estimate would need for the same variance of V, (n_a + n_b)
 * var_classical / var_ppi, with shares smoothed as (x + 2) / (n + 4).
 *
 * Measured (tests/test_ppi.c, bench/RESULTS.md, 200 seeded runs per
 * scenario): the 95% intervals cover the judge's true shares and V in
 * 93.5-100% of runs in every scenario; at equal labels the interval of V
 * is 1.46-1.59x narrower than the classical one when the screen separates
 * the truth at AUROC 0.99 (shares of 15-60%, 20-40 labels a side; 1.05x
 * when the hypothesis holds for 1-5% of texts, 1.23x when the judge errs
 * on 10%), 1.07-1.18x at AUROC 0.9, and 0.99x with a useless screen. No
 * estimator can do much better from such a screen: with uniform sampling
 * the best possible gain is 1/sqrt(1 - R^2) of the screen's best
 * prediction, about 1.3x at AUROC 0.9.
 *
 *     hr_ppi_options o = hr_ppi_default_options();
 *     hr_ppi_side a = {sim_a, n_a, rows_a, y_a, fold_a, m_a};   // labelled rows of A
 *     hr_ppi_side b = {sim_b, n_b, rows_b, y_b, fold_b, m_b};
 *     hr_ppi_result r;
 *     if (hr_ppi_estimate(&row->effect, &a, &b, &o, &r, err, sizeof err) == HR_OK)
 *         printf("A %.2f [%.2f, %.2f], worth %.0f labels\n", r.share_a, r.share_a_low,
 *                r.share_a_high, r.effective_labels);
 */
#ifndef HYPORANK_PPI_H
#define HYPORANK_PPI_H

#include "hyporank/findings.h" /* hr_effect: the screen's calibration */
#include "hyporank/status.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HR_PPI_MAX_FOLDS 20

typedef struct hr_ppi_options {
    int folds;        /* cross-fitting folds K, 2..HR_PPI_MAX_FOLDS (5); fold numbers
                         given to hr_ppi_estimate are below it */
    int recalibrate;  /* 1: cross-fitted logistic recalibration (1); 0: the screen's
                         calibrated probability */
    double prior_sd;  /* the recalibration's prior, > 0 (2.5) */
    double pseudo;    /* pseudo-observations in the residual variance, >= 0 (2) */
    double z;         /* interval quantile (1.959963984540054: 95%) */
} hr_ppi_options;

hr_ppi_options hr_ppi_default_options(void);

/* One side's texts and labels. */
typedef struct hr_ppi_side {
    const float *s;             /* (n) the screen's similarity of every text, finite */
    size_t n;                   /* texts of the side, >= 1 */
    const size_t *rows;         /* (m) distinct rows < n the judge was asked about */
    const signed char *y;       /* (m) 1 holds, 0 not, -1 no verdict (left out) */
    const unsigned char *fold;  /* (m) fold of each, < options.folds */
    size_t m;
} hr_ppi_side;

typedef struct hr_ppi_result {
    /* prediction-powered, 95% (options.z) */
    double share_a, share_a_low, share_a_high;
    double share_b, share_b_low, share_b_high;
    double v, v_low, v_high;          /* share_a - share_b, Newcombe's hybrid interval */
    /* the labels alone: Wilson per side, Newcombe for V */
    double p_a, p_a_low, p_a_high;
    double p_b, p_b_low, p_b_high;
    double v_classical, classical_low, classical_high;
    size_t n_a, n_b;                  /* labels used (verdicts given) */
    size_t pos_a, pos_b;              /* of which 1 */
    double effective_labels;          /* (n_a + n_b) var_classical / var_ppi */
    double lambda;                    /* mean power-tuning weight over the labels */
    double ratio_a, ratio_b;          /* variance ratio r of each side (1: no gain) */
    double slope;                     /* the recalibration's mean slope on z (NaN when
                                         recalibrate = 0) */
} hr_ppi_result;

/* The screen's calibrated probability that the hypothesis holds for a text
 * of similarity s (above); e from hr_effect_row. */
double hr_ppi_screen_prob(const hr_effect *e, double s);

/* Wilson-type score interval for a share estimated as theta with n labels
 * and variance ratio r (above): r = 1, theta = x / n is Wilson's. n > 0. */
void hr_ppi_wilson(double theta, double n, double r, double z, double *low, double *high);

/* The estimates of one hypothesis (above). screen: its calibration (tau,
 * mu0, sigma, gain); a, b: each side's similarities and labels. Sides with no
 * verdict get NaN shares and intervals [0, 1] (V: [-1, 1]). Memory O(m + K);
 * time O(K (n_a + n_b)). Errors: HR_ERR_INPUT for a bad option, row, label
 * or fold, or a non-finite similarity. */
hr_status hr_ppi_estimate(const hr_effect *screen, const hr_ppi_side *a, const hr_ppi_side *b,
                          const hr_ppi_options *opt, hr_ppi_result *out, char *err,
                          size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
