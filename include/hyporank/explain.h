/*
 * hyporank/explain.h: how much of a classifier's performance a few readable
 * hypotheses explain.
 *
 * The question. An opaque model (a linear probe on the embeddings, or a
 * classifier's own scores) tells two classes apart with some AUROC. A
 * readable model, a logistic regression on the scores of a handful of
 * hypotheses ("is about sport", "mentions \"recipe\""), tells them apart with
 * another. The fraction explained is
 *
 *     X = (AUROC_readable - 0.5) / (AUROC_reference - 0.5)
 *
 * with both AUROCs measured on held-out decision values of the same texts.
 * X near 1: the hypotheses carry what the reference uses; near 0: they do
 * not. X can exceed 1 (the readable model beats the reference).
 *
 * Features. The score of hypothesis k on text x is the scorer's score
 * (hyporank/scorer.h: COSINE h_k . x, CENTERED, or CONTRAST, pool-relative
 * over all K candidates), computed here per text into a feature matrix
 * F (n, K) (hr_explain_features). Memory is O(n K) floats: 200,000 texts
 * against the 1,150 candidates of the bank and the n-grams is about 0.9 GB.
 *
 * Selection (hr_explain_select). Candidates are ranked by the strength
 * |AUROC - 0.5| of their single feature on the rows given (ties by column),
 * and the readable model is grown greedily from the max_candidates strongest:
 * at each step the candidate that gives the highest cross-validated AUROC
 * (stratified folds, hr_probe_cross_validate) of an L2 logistic regression
 * (hyporank/probe.h, lambda on standardised features) on the features chosen
 * so far plus itself is added (ties: the stronger single candidate), until
 * top_k are chosen. There is no early stop: the step AUROCs show where the
 * gains end.
 *
 * Honest evaluation (hr_explain_fit). Choosing hypotheses and reading off
 * the criterion that chose them overstates the readable model (the best of
 * 50 chance AUROCs is well above 0.5). So the whole procedure (ranking,
 * greedy selection, fit) is run inside each training part of an outer
 * stratified k-fold split (hr_probe_folds with the same seed as the
 * reference probe, so both models are scored on the same folds) and applied
 * to the held-out fold: step j's held-out decision value of a text comes
 * from the first j hypotheses that its training part chose. The hypotheses
 * reported are those the same procedure chooses on all rows; the AUROC
 * reported beside the j-th of them is the held-out AUROC of the procedure
 * stopped at j (the outer folds may choose other, usually similar,
 * hypotheses: first_agree counts the folds whose first choice is the
 * reported first).
 *
 * Rounds (hr_explain_refit). A later round keeps what the previous one
 * chose and lets the greedy continue over a pool with new candidates
 * appended. It is redone per outer fold (each fold keeps its own previous
 * choice, never the all-rows one, which saw the held-out fold), so its
 * step AUROCs stay held out. Where the new candidates come from is the
 * caller's business. hyporank explain --rounds proposes them from the
 * residual of its proposal share (the texts held out to find word
 * candidates, never evaluated): the reference and the current readable model
 * (hr_explain_apply), both fitted on all evaluated texts, are applied to that
 * share, its residual is computed there, and the n-gram contrast of each
 * class's residual against the share's texts of the other class gives the
 * new candidates. The evaluated texts thus reach the proposals only through
 * those two fitted models, never through their own words; choosing among the
 * candidates and every AUROC stay inside the nested CV. With the
 * pool-relative score methods the old columns' values move as the pool
 * grows (cosine, explain's default, leaves them as they were).
 *
 * Interval (hr_explain_bootstrap). The texts are resampled with replacement
 * (resamples times, seeded) and both AUROCs recomputed from the same held-out
 * decision values (the models are not refitted: the interval covers the
 * sampling of the evaluation texts, not that of the training). The interval
 * is the 2.5 and 97.5 percentiles (linear interpolation). X is undefined
 * when AUROC_reference <= 0.5 + epsilon (nothing to explain); the interval is
 * unavailable (status HR_EXPLAINED_UNSTABLE) when more than 2.5% of the
 * resamples have such a reference, since the ratio is then unbounded.
 *
 * Residual (hr_explain_residual). Each model's held-out values are turned
 * into decisions by calling its n_pos highest values positive (n_pos: the
 * texts of class 1; ties by row), which needs no threshold on any scale; the
 * residual is the texts the reference gets right and the readable model
 * gets wrong, most wrong first (furthest on the wrong side of its cut).
 *
 *     hr_explain_options o = hr_explain_default_options();
 *     float *F = malloc(n * K * sizeof *F);          // (n, K) row-major
 *     hr_explain_features(X, n, H, K, dim, HR_SCORE_CONTRAST, 0.02, F, err, sizeof err);
 *     hr_explain_result r;
 *     hr_explain_fit(F, n, K, y, &o, &r, err, sizeof err);
 *     // r.selected[j]: a column of F; r.step_auroc[j]: held-out AUROC with j + 1
 *     hr_explain_ratio x;
 *     hr_explain_bootstrap(ref_heldout, r.heldout + (r.n_selected - 1) * n, y, n, 1000, 1,
 *                          0.01, &x, err, sizeof err);
 *     hr_explain_result_free(&r);
 *
 * Continuous targets (hr_explain_fit_continuous). With a numeric target t
 * of many values instead of two classes, the same questions are asked with
 * Spearman's rank correlation in place of the AUROC:
 *
 *     X = rho_readable / rho_reference
 *
 * both rhos measured on held-out predictions of the same texts. The
 * reference is a ridge regression on the embeddings (hr_explain_ridge_cv:
 * intercept unpenalised, columns and t centred on the training rows,
 * (Xc^T Xc + lambda I) w = Xc^T tc solved by Cholesky; lambda
 * HR_EXPLAIN_RIDGE_LAMBDA = 1 on unit-norm sentence embeddings), evaluated
 * by plain seeded k-fold (rows shuffled, dealt to folds in turn;
 * hr_explain_plain_folds). The readable model is least squares with a small
 * ridge (opt->lambda on standardised features) on the chosen hypotheses,
 * grown greedily exactly as above but ranking the singles by |rho| and
 * choosing by the inner plain-k-fold held-out Spearman rho; the whole choice
 * is nested in the outer plain folds of the reference (same seed, so both
 * are scored on the same folds). hr_explain_result then holds Spearman rhos
 * where the binary path holds AUROCs (select_auroc, step_auroc,
 * single_auroc), and step_r2 the held-out R^2 = 1 - SS_res / SS_tot (about
 * t's mean over all n) of each step. hr_explain_bootstrap_continuous
 * resamples the texts as above (ranks recomputed per resample, ties
 * averaged, the copies of a drawn text tied with each other) and fills
 * hr_explain_ratio with rhos in the *_auroc fields; X is undefined when
 * rho_reference <= epsilon.
 *
 * Errors are HR_ERR_INPUT with a message (a single class, too few texts of a
 * class for the folds, NaN values, bad options); the module never prints.
 * Inputs are borrowed for the call only.
 */
#ifndef HYPORANK_EXPLAIN_H
#define HYPORANK_EXPLAIN_H

#include "hyporank/scorer.h" /* hr_score_method */
#include "hyporank/status.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hr_explain_options {
    int folds;          /* outer and inner stratified folds, >= 2 (5) */
    uint64_t seed;      /* the folds (1) */
    int top_k;          /* hypotheses chosen, >= 1 (5) */
    int max_candidates; /* the greedy step draws from this many strongest singles, >= 1 (50) */
    double lambda;      /* L2 penalty of the readable model on standardised features (1) */
} hr_explain_options;

hr_explain_options hr_explain_default_options(void);

/* Exact AUROC of v with class 1 positive, ties one half. w: (n) non-negative
 * weights (a bootstrap's counts) or NULL for all 1. v, y: (n). A class with
 * no weight or a NaN value is HR_ERR_INPUT. */
hr_status hr_explain_auroc(const double *v, const uint8_t *y, const double *w, size_t n,
                           double *out, char *err, size_t errlen);

/* Per-text scores of K hypotheses: F[i * K + k] = score of H row k on X row i
 * under method (temperature T for CONTRAST, 0: the scorer's default).
 * X: (n, dim) row-major; H: (K, dim) row-major; F: (n, K) row-major output.
 * The pool-relative methods use all K rows of H as the pool, as one
 * hr_scorer_score call over them would. */
hr_status hr_explain_features(const float *X, size_t n, const float *H, size_t K, int dim,
                              hr_score_method method, double temperature, float *F, char *err,
                              size_t errlen);

/* Ranks the K columns of F (n, K) by the strength of their single-column
 * AUROC on rows[0..m) (all rows when rows is NULL, m = n). auroc: (K) output,
 * class 1 positive; order: (K) output, columns strongest first. */
hr_status hr_explain_rank(const float *F, size_t n, size_t K, const uint8_t *y,
                          const size_t *rows, size_t m, double *auroc, size_t *order, char *err,
                          size_t errlen);

/* Greedy forward selection on rows[0..m) of F (NULL: all rows), as above.
 * selected: (top_k) output columns, in order; cv_auroc: (top_k) output, the
 * inner cross-validated AUROC after each step (optimistic: it chose them);
 * *n_selected = min(top_k, max_candidates, K). seed: the inner folds. */
hr_status hr_explain_select(const float *F, size_t n, size_t K, const uint8_t *y,
                            const size_t *rows, size_t m, const hr_explain_options *opt,
                            uint64_t seed, size_t *selected, double *cv_auroc,
                            size_t *n_selected, char *err, size_t errlen);

/* What hr_explain_fit found. */
typedef struct hr_explain_result {
    size_t n;            /* texts */
    size_t k;            /* candidates (columns of F) */
    size_t n_selected;   /* steps: min(top_k, max_candidates, K) */
    size_t *selected;    /* (n_selected) columns chosen on all rows, in order */
    double *select_auroc;/* (n_selected) inner CV AUROC on all rows (the criterion) */
    double *step_auroc;  /* (n_selected) held-out AUROC, outer CV, with j + 1 hypotheses */
    double *heldout;     /* (n_selected, n) row-major: held-out decision values per step */
    double *single_auroc;/* (K) single-column AUROC on all rows, class 1 positive */
    int folds;           /* outer folds */
    int first_agree;     /* outer folds whose first choice is selected[0] */
    size_t *fold_selected; /* (folds, n_selected) row-major: each outer fold's choice */
    int continuous;      /* 1: from hr_explain_fit_continuous: the *_auroc arrays hold
                            Spearman rhos */
    double *step_r2;     /* (n_selected) held-out R^2 per step; NULL unless continuous */
} hr_explain_result;

/* The nested procedure above. F: (n, K) row-major; y: (n) 0 / 1. Each class
 * needs at least 2 * folds texts (the inner folds run on training parts).
 * opt may be NULL. On success out owns its arrays (hr_explain_result_free). */
hr_status hr_explain_fit(const float *F, size_t n, size_t K, const uint8_t *y,
                         const hr_explain_options *opt, hr_explain_result *out, char *err,
                         size_t errlen);
void hr_explain_result_free(hr_explain_result *r); /* accepts NULL and zeroed results */

/* Another round (see "Rounds" above): the nested procedure again on F (n, K),
 * whose first prev->k columns are those prev was fitted on (new candidates
 * appended), with every choice of prev kept first: each outer fold starts
 * from its own previous choice (prev->fold_selected), the all-rows selection
 * from prev->selected, and the greedy continues for up to opt->top_k more
 * steps (n_selected = min(prev->n_selected + top_k, K); fewer new ones when
 * max_candidates runs out). opt must have prev's folds and seed. */
hr_status hr_explain_refit(const float *F, size_t n, size_t K, const uint8_t *y,
                           const hr_explain_options *opt, const hr_explain_result *prev,
                           hr_explain_result *out, char *err, size_t errlen);

/* The readable model on new texts: an L2 logistic regression (lambda, on
 * standardised features) on columns cols[0..j) of F (n, K) with labels y
 * (n), fitted on all n rows; out: (m) its decision values on the rows of
 * G (m, K) row-major, standardised with F's means and deviations. */
hr_status hr_explain_apply(const float *F, size_t n, size_t K, const uint8_t *y,
                           const size_t *cols, size_t j, double lambda, const float *G, size_t m,
                           double *out, char *err, size_t errlen);

typedef enum hr_explained_status {
    HR_EXPLAINED_OK = 0,        /* X and its interval */
    HR_EXPLAINED_UNDEFINED = 1, /* AUROC_reference <= 0.5 + epsilon: no X */
    HR_EXPLAINED_UNSTABLE = 2   /* X, but > 2.5% of resamples undefined: no interval */
} hr_explained_status;

/* "ok", "undefined", "unstable". */
const char *hr_explained_status_str(hr_explained_status s);

typedef struct hr_explain_ratio {
    double ref_auroc, hyp_auroc;     /* on all n texts */
    double ref_ci_low, ref_ci_high;  /* bootstrap 95% percentile intervals */
    double hyp_ci_low, hyp_ci_high;
    double explained;                /* X; NaN when undefined */
    double ci_low, ci_high;          /* X's interval; NaN unless status is OK */
    hr_explained_status status;
    int resamples;                   /* resamples drawn */
    int undefined;                   /* resamples whose reference AUROC <= 0.5 + epsilon
                                        (or with a single class) */
} hr_explain_ratio;

/* ref, hyp: (n) held-out decision values of the two models; y: (n) 0 / 1.
 * resamples >= 1; epsilon >= 0 (0.01 is a good guard). */
hr_status hr_explain_bootstrap(const double *ref, const double *hyp, const uint8_t *y, size_t n,
                               int resamples, uint64_t seed, double epsilon,
                               hr_explain_ratio *out, char *err, size_t errlen);

/* The residual (see above). rows: (n) output, the residual rows most wrong
 * first; *count of them. */
hr_status hr_explain_residual(const double *ref, const double *hyp, const uint8_t *y, size_t n,
                              size_t *rows, size_t *count, char *err, size_t errlen);

/* ------------------------------------------------------------------------ */
/* Continuous targets (see "Continuous targets" above)                      */

/* The reference ridge penalty on unit-norm embeddings. */
#define HR_EXPLAIN_RIDGE_LAMBDA 1.0

/* Spearman's rank correlation of a and b (n): the Pearson correlation of
 * their ranks, tied values sharing the average of their ranks. w: (n)
 * non-negative weights (copies, as in a bootstrap) or NULL for all 1. NaN
 * values are HR_ERR_INPUT; *out is NaN when either side is constant. */
hr_status hr_explain_spearman(const double *a, const double *b, const double *w, size_t n,
                              double *out, char *err, size_t errlen);

/* Ridge regression of t on the columns of X (n, d) row-major over
 * rows[0..m) (NULL: all n): beta (d) and intercept *b0 minimise
 * sum (t - b0 - x . beta)^2 + lambda |beta|^2 (intercept unpenalised),
 * by Cholesky of Xc^T Xc + lambda I. lambda > 0. */
hr_status hr_explain_ridge_fit(const float *X, size_t n, int d, const double *t,
                               const size_t *rows, size_t m, double lambda, double *beta,
                               double *b0, char *err, size_t errlen);

/* Plain k-fold assignment: the n rows shuffled by seed (splitmix64,
 * Fisher-Yates) and dealt to folds 0, 1, ..., k - 1, 0, ... fold: (n)
 * output; 2 <= k <= n. */
hr_status hr_explain_plain_folds(size_t n, int k, uint64_t seed, int *fold, char *err,
                                 size_t errlen);

/* The reference: held-out ridge predictions of t from X (n, d) by plain
 * k-fold with seed. heldout: (n) output. */
hr_status hr_explain_ridge_cv(const float *X, size_t n, int d, const double *t, double lambda,
                              int folds, uint64_t seed, double *heldout, char *err,
                              size_t errlen);

/* Held-out R^2 of predictions p of t (n): 1 - sum (t - p)^2 / sum (t - mean t)^2;
 * NaN when t is constant. */
double hr_explain_r2(const double *p, const double *t, size_t n);

/* The nested procedure for a continuous target t (n), finite, not constant;
 * n >= 4 * folds. opt->lambda is the readable model's ridge on standardised
 * features. On success out owns its arrays (hr_explain_result_free). */
hr_status hr_explain_fit_continuous(const float *F, size_t n, size_t K, const double *t,
                                    const hr_explain_options *opt, hr_explain_result *out,
                                    char *err, size_t errlen);

/* X = rho(hyp, t) / rho(ref, t) and its bootstrap interval; fields as
 * hr_explain_bootstrap's with Spearman rhos for AUROCs. */
hr_status hr_explain_bootstrap_continuous(const double *ref, const double *hyp, const double *t,
                                          size_t n, int resamples, uint64_t seed,
                                          double epsilon, hr_explain_ratio *out, char *err,
                                          size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
