/*
 * hyporank/probe.h: a linear probe on embeddings. L2-regularised logistic
 * regression, fitted on the CPU or the GPU (Devices, below), with a
 * stratified k-fold cross-validation helper that gives every sample a
 * held-out decision value.
 *
 * The probe answers "how well can A be told from B from the embeddings
 * alone?" (its held-out AUROC), and its held-out decision values say which
 * texts are most typical of each side (the LLM proposer, hyporank/
 * llm_propose.h, shows those to the LLM).
 *
 * Model and objective. For rows x_i (d floats), labels y_i in {0, 1} and
 * sample weights s_i >= 0 (all 1 when none are given), the decision value is
 * f(x) = w . x + b, the probability of label 1 is sigmoid(f(x)), and the fit
 * minimises
 *
 *     L(w, b) = sum_i s_i log(1 + exp(-(2 y_i - 1) f(x_i))) + (lambda / 2) ||w||^2
 *
 * The intercept b is not penalised. scikit-learn's LogisticRegression(C=C)
 * (penalty "l2", any of its solvers but liblinear, which penalises the
 * intercept) minimises C * sum_i s_i logloss_i + 0.5 ||w||^2, which is C times
 * L with lambda = 1 / C: the same minimiser. So lambda = 1 / C exactly, and the
 * default lambda = 1 is scikit-learn's default C = 1. lambda is not divided by
 * n: as in scikit-learn, more data means relatively weaker regularisation.
 *
 * Solver: Newton's method on the d + 1 unknowns (w, b), with the Hessian
 * X~^T diag(s_i p_i (1 - p_i)) X~ + lambda diag(1..1, 0) (X~ = X with a column of
 * ones; p_i = sigmoid(f(x_i))) factored by a Cholesky decomposition, and a
 * backtracking (Armijo) line search on L, so every step lowers L. L is
 * strictly convex when lambda > 0 and both classes have weight, so its
 * minimiser is unique, and Newton converges to it quadratically once close.
 * Arithmetic is in double throughout (X is converted block by block as it is
 * read; the products use cblas dgemv / dsyrk).
 *
 * Convergence: the fit stops when a full Newton step delta has
 *     max_j |delta_j| <= tol * max(1, max_j |theta_j|)     (theta = (w, b))
 * and that step is taken. Near the minimiser the error after a full step is
 * of the order of the square of the step before it, so the coefficients
 * returned are far closer to the exact minimiser than tol (with the default
 * tol = 1e-8, the error is of the order of 1e-16 relative plus rounding
 * amplified by the Hessian's condition number; tests/test_probe.c finds the
 * coefficients within 2e-12 relative of scikit-learn's on every fixture
 * case, which is scikit-learn's own distance from the minimiser). A fit
 * that has not converged after max_iter iterations (default 100; Newton
 * needs 5 to 25) still returns HR_OK, with converged = 0 in its info.
 *
 * Time: n = 100,000 rows of d = 384 (MiniLM embeddings) fit in about 1.8 s,
 * 6 iterations, on 2 cores of the development machine with OpenBLAS's
 * SkylakeX kernels (9.4 s with the Prescott fallback that blas_core.h
 * describes; the CLI re-executes with the better kernels).
 *
 * Solvers (hr_probe_options.solver). Newton, above, finds the minimiser to
 * rounding, at O(n d^2) an iteration (3.2 s at n = 1M, d = 384 on 2 cores).
 * L-BFGS (limited-memory BFGS, 10 pairs, backtracking Armijo line search
 * from the full step) needs only L and its gradient: one read of X an
 * iteration, O(n d), split over the CPU's cores. Its initial inverse
 * Hessian is the inverse of L's Hessian at theta = 0 estimated from 16,384
 * rows spread over the fit (scaled by the newest pair), which takes away
 * the spread of embeddings' features over orders of magnitude: about 10
 * iterations where plain L-BFGS needs 100 to 200. It stops when
 *     max_j |dL/dtheta_j| <= gtol * sum_i s_i
 * i.e. when the gradient of the mean loss is below gtol (scikit-learn's
 * lbfgs stops at 1e-4 on the same quantity). With the default gtol = 1e-8
 * its coefficients are within 5e-7 relative of Newton's on the fixture
 * problems and its held-out AUROC equals Newton's to six decimals at n = 1M
 * (bench/RESULTS.md); where coefficients must be exact to rounding, ask for
 * HR_PROBE_SOLVER_NEWTON. HR_PROBE_SOLVER_AUTO (the default) uses L-BFGS for
 * fits of at least HR_PROBE_LBFGS_MIN_ROWS rows on the CPU (8x Newton's
 * speed at n = 1M, 4.7x at 30,000) and Newton otherwise, and on the GPU,
 * whose Newton iteration takes 39 ms at n = 1M.
 *
 * Cost: each Newton iteration reads X twice (the gradient and Hessian, then the
 * step's change of every margin): O(n d^2) for the Hessian, O(d^3) for the
 * Cholesky. Memory: O(n + d^2) beyond X (no copy of X is made).
 *
 * Determinism: the same inputs give the same bits on the same machine with
 * the same BLAS build and thread count (OpenBLAS splits dsyrk / dgemv by
 * output, with a fixed order of summation within each output).
 *
 *     hr_probe_options o = hr_probe_default_options();   // lambda = 1 (C = 1)
 *     hr_probe *p;
 *     // X: (n, d) row-major float32, y: (n) 0 / 1, weights NULL: all 1
 *     if (hr_probe_fit(X, n, d, y, NULL, &o, &p, err, sizeof err) != HR_OK) ...
 *     double *f = malloc(n * sizeof *f);                  // (n) decision values
 *     hr_probe_decision(p, X, n, f, err, sizeof err);
 *     hr_probe_destroy(p);
 *
 *     // held-out decision values of 5-fold stratified cross-validation
 *     hr_probe_cv_result cv;
 *     hr_probe_cross_validate(X, n, d, y, NULL, &o, 5, 42, f, &cv, err, sizeof err);
 *     printf("held-out AUROC %.3f\n", cv.auroc);
 *
 * Errors (HR_ERR_INPUT, the message names the row or the option): n of 0,
 * d < 1, a NaN or infinite feature, a label other than 0 or 1, a negative,
 * NaN or infinite weight, a class with no weight, lambda <= 0 or not finite,
 * tol <= 0, max_iter < 1, gtol <= 0, lbfgs_max_iter < 1, an unknown solver.
 * Ownership: a probe owns its coefficients; inputs
 * are borrowed for the call only. A probe may be read from several threads.
 */
#ifndef HYPORANK_PROBE_H
#define HYPORANK_PROBE_H

#include "hyporank/device.h"
#include "hyporank/status.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hr_probe_solver {
    HR_PROBE_SOLVER_AUTO = 0, /* L-BFGS from HR_PROBE_LBFGS_MIN_ROWS rows on the CPU, else Newton */
    HR_PROBE_SOLVER_NEWTON = 1,
    HR_PROBE_SOLVER_LBFGS = 2,
} hr_probe_solver;

/* HR_PROBE_SOLVER_AUTO's switch to L-BFGS on the CPU, in rows of the fit.
 * L-BFGS's iteration costs O(n d), Newton's O(n d^2): L-BFGS was 3x faster
 * at 10,000 rows and 4.7x at 30,000, with the same held-out AUROC to six
 * decimals (bench/run-probe-bench.sh, bench/RESULTS.md); below, both take
 * hundredths of a second and Newton's exact minimiser is kept. */
#define HR_PROBE_LBFGS_MIN_ROWS 10000

typedef struct hr_probe_options {
    double lambda; /* L2 penalty on w (not b), > 0; lambda = 1 / C of scikit-learn (1) */
    double tol;    /* Newton: stop when its step is this small, relative (1e-8) */
    int max_iter;  /* Newton iterations at most (100) */
    hr_device device; /* where fits run (HR_DEVICE_CPU), see below */
    hr_probe_solver solver; /* HR_PROBE_SOLVER_AUTO, see "Solvers" */
    double gtol;   /* L-BFGS: stop when the mean loss's gradient is this small (1e-8) */
    int lbfgs_max_iter; /* L-BFGS iterations at most (1000) */
} hr_probe_options;

/* Devices (hyporank/device.h). HR_DEVICE_CPU: the fit above on the CPU.
 * HR_DEVICE_CUDA: the same Newton loop with its O(n d^2) passes on the GPU
 * in FP64 (host/backends/cuda/probe_cuda.h; its coefficients agree with the
 * CPU's to about 1e-15 relative, 41x faster at n = 1M, d = 384 on an H100);
 * no GPU is HR_ERR_NO_DEVICE (HR_ERR_UNSUPPORTED in a build without CUDA).
 * HR_DEVICE_AUTO: the GPU for fits of at least HR_PROBE_GPU_MIN_WORK = n d
 * when one is usable, else, and whenever the GPU fails in a way the device
 * policy lets fall back, the CPU. Cross-validation fits each fold's
 * training rows on the chosen device. */
#define HR_PROBE_GPU_MIN_WORK 1e7

hr_probe_options hr_probe_default_options(void);

/* How a fit went. */
typedef struct hr_probe_info {
    int iterations;     /* iterations done (Newton's or L-BFGS's) */
    int converged;      /* 1: the solver's stopping criterion was met */
    double objective;   /* L at the returned (w, b) */
    double grad_inf;    /* max_j |dL/dtheta_j|: Newton, at the start of its last
                           iteration; L-BFGS, at the returned (w, b) */
    double last_step;   /* max_j |delta_j| of the last step taken */
    hr_probe_solver solver;  /* the solver that ran (never AUTO) */
    int evaluations;    /* passes over X for L and its gradient (L-BFGS; Newton: 0) */
} hr_probe_info;

typedef struct hr_probe hr_probe;

/* Fits the probe. X: (n, d) row-major float32; y: (n) labels, 0 or 1 (1 is
 * the positive class: with A as 1, positive decision values lean to A);
 * weights: (n) sample weights >= 0, or NULL for all 1. opt may be NULL for the
 * defaults. On success *out owns the fitted probe. */
hr_status hr_probe_fit(const float *X, size_t n, int d, const uint8_t *y, const double *weights,
                       const hr_probe_options *opt, hr_probe **out, char *err, size_t errlen);
void hr_probe_destroy(hr_probe *p); /* accepts NULL */

int hr_probe_dim(const hr_probe *p);
/* The coefficients w: (d) doubles, owned by the probe. */
const double *hr_probe_coef(const hr_probe *p);
double hr_probe_intercept(const hr_probe *p);
hr_probe_info hr_probe_get_info(const hr_probe *p);

/* Decision values f(x_i) = w . x_i + b (summed in double). X: (n, d)
 * row-major float32 with the probe's d; out: (n). A NaN feature gives a NaN
 * value (no error). */
hr_status hr_probe_decision(const hr_probe *p, const float *X, size_t n, double *out,
                            char *err, size_t errlen);

/* Stratified k-fold assignment. Each class's rows are shuffled by a
 * generator seeded with seed (splitmix64 then xoshiro256**, Fisher-Yates),
 * then dealt to folds 0, 1, ..., k - 1, 0, 1, ... in that order, class 1
 * first and class 0 continuing where class 1 stopped; so every fold gets
 * floor or ceil of n_c / k rows of each class c, and the fold sizes differ
 * by at most one. fold: (n) output, values in [0, k). k must be 2..n_c for
 * the smaller class count n_c (else HR_ERR_INPUT). */
hr_status hr_probe_folds(const uint8_t *y, size_t n, int k, uint64_t seed, int *fold, char *err,
                         size_t errlen);

/* What cross-validation found. */
typedef struct hr_probe_cv_result {
    int folds;           /* k */
    double auroc;        /* held-out AUROC of the decision values, class 1 positive
                            (hyporank/stats.h: exact, ties one half; unweighted;
                            the values are rounded to float for it) */
    double p_value;      /* its Mann-Whitney two-sided p-value (hyporank/stats.h) */
    int min_iterations;  /* fewest and most iterations over the folds */
    int max_iterations;
    int all_converged;   /* 1 when every fold's fit converged */
} hr_probe_cv_result;

/* k-fold stratified cross-validation (folds from hr_probe_folds with seed):
 * for each fold, fits on the other folds' rows (X is not copied) and writes
 * the decision values of the fold's own rows into heldout: (n), so every
 * sample gets a value from a probe that did not see it. result may be NULL.
 * Inputs as hr_probe_fit. */
hr_status hr_probe_cross_validate(const float *X, size_t n, int d, const uint8_t *y,
                                  const double *weights, const hr_probe_options *opt, int k,
                                  uint64_t seed, double *heldout, hr_probe_cv_result *result,
                                  char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
