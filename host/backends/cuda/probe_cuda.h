/*
 * host/backends/cuda/probe_cuda.h: the logistic-regression probe's passes on
 * a CUDA GPU (internal; hr_probe_fit and hr_probe_cross_validate reach them
 * through the CUDA backend's table, host/backends/cuda/probe_cuda.c, for
 * options.device CUDA, or AUTO on large fits: hyporank/probe.h). Compiled
 * only in builds with the CUDA toolkit.
 *
 * tests/test_backends.c (label gpu) checks the fits against the CPU's:
 * coefficients within 2 tol max(1, max |theta|) of the CPU fit's, the same
 * iteration counts within one, the CPU's errors for bad input; n = 1M,
 * d = 384 fits in about 0.5 s on an H100 (bench/RESULTS.md).
 *
 *     hr_probe *p;
 *     // X: (n, d) row-major float32, y: (n) 0 / 1, weights NULL: all 1
 *     if (hr_probe_fit_cuda(X, n, d, y, NULL, NULL, &p, err, sizeof err) == HR_OK) {
 *         hr_probe_decision(p, X, n, f, err, sizeof err);    // the CPU's own functions
 *         hr_probe_destroy(p);
 *     }
 *
 *     // X uploaded once, several fits (other lambdas, tolerances):
 *     hr_probe_cuda_data *g;
 *     hr_probe_cuda_data_create(X, n, d, y, NULL, 0, &g, err, sizeof err);
 *     hr_probe_cuda_data_fit(g, &o, &p, err, sizeof err);
 *     hr_probe_cuda_data_destroy(g);
 *
 * What it computes: the same model, objective, solver and stopping rule as
 * hr_probe_fit, because it is hr_probe_fit's own Newton loop
 * (host/scoring/probe.c) with these passes in place of the CPU's
 * (host/backends/cpu/probe_cpu.c is the specification). The result is an
 * ordinary hr_probe (hr_probe_destroy, hr_probe_decision, ... apply).
 *
 * Where: the O(n d^2) and O(n d) work runs on the GPU, the O(d^3) Cholesky
 * and every decision on the host. Per Newton iteration, for each chunk of
 * rows: the FP32 rows are widened on the GPU to a double block (rows, d + 1)
 * with the column of ones, and on that block, in double,
 *   cublasDgemv   z = X~ theta                      (margins)
 *   cublasDgemv   g += X~^T (s (p - y))             (gradient)
 *   cublasDsyrk   H += X~^T diag(s p (1 - p)) X~    (Hessian, rows scaled
 *                                                    by sqrt(s p (1 - p)))
 * then one pass for the step's change of every margin (dz = X~ delta,
 * cublasDgemv), and the line search's sums over rows by a reduction kernel
 * (a few per iteration, O(n) each; X is not read again).
 *
 * Precision: double throughout, as on the CPU. X is float32 and widened
 * exactly; every product and sum is in double (FP64 cuBLAS, FP64 kernels);
 * sigmoid / softplus use CUDA's double exp and log1p (<= 2 ulp). So the GPU
 * evaluates the same L, g and H as the CPU up to the order of summation
 * (relative differences of order n u, u = 1.1e-16, at worst), and Newton
 * converges quadratically to the same minimiser: the coefficients agree with
 * hr_probe_fit's to far better than the stopping tolerance (both end within
 * tol * max(1, max |theta|) of the minimiser; tests/test_backends.c checks
 * 2 tol relative). The iteration count is normally the same as the CPU's; a
 * step that lands within rounding of the tol threshold may end one side
 * one iteration later. TF32 is never used (cuBLAS default math mode).
 *
 * Memory (memory_bytes; 0 means 80% of the free device memory): always
 * resident, per row: z and dz (2 doubles), the label, the weight (a double,
 * only when weights are given): 17 or 25 bytes a row, plus (d + 1)^2
 * doubles for H. The double block takes at most 256 MiB and at most a
 * quarter of what remains. X stays on the GPU as float32 (n d 4 bytes) when
 * it fits beside them; otherwise it is streamed from the host in chunks of
 * rows through one device staging buffer, twice per Newton iteration (no
 * copy / compute overlap: a streamed fit is bound by PCIe). The budget
 * must hold the per-row arrays and at least one row of each buffer, else
 * HR_ERR_UNSUPPORTED (the CPU probe has no such limit).
 *
 * Input checks: the same as hr_probe_fit's, with the same status codes and
 * the same messages, reporting the same (first) bad row: labels and weights
 * are checked on the host, the features' finiteness on the GPU while X is
 * uploaded (rows before a bad label or weight are checked on the host, so
 * those errors need no device). One difference: where no device is usable,
 * HR_ERR_NO_DEVICE comes before the errors that need one (a non-finite
 * feature, a class with no weight).
 *
 * Errors: HR_ERR_INPUT as hr_probe_fit; HR_ERR_NO_DEVICE without a usable
 * device; HR_ERR_CUDA when a CUDA or cuBLAS call fails (a failed device
 * allocation included; the message names the call); HR_ERR_UNSUPPORTED for
 * a budget too small; HR_ERR_INTERNAL as hr_probe_fit (Hessian cannot be
 * factored). On any error *out is NULL. After HR_ERR_CUDA a data handle may
 * be unusable: destroy it.
 *
 * Ownership and threads: the data handle copies y and the weights to the
 * GPU; X is borrowed: when it is streamed (hr_probe_cuda_data_info) keep it
 * alive and unchanged until destroy; when it is resident it is not read
 * after create. A handle must not be used from two threads at once. The
 * fitted probe is independent of the handle. Uses the current CUDA device.
 *
 * Determinism: the same inputs give the same bits on the same GPU model with
 * the same cuBLAS (every reduction has a fixed order: no atomics in sums).
 */
#ifndef HYPORANK_PROBE_CUDA_H
#define HYPORANK_PROBE_CUDA_H

#include "hyporank/probe.h"
#include "hyporank/status.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* hr_probe_fit on the GPU: the same arguments, checks and result (above).
 * Uploads X (or streams it) within the default budget, fits, frees. */
hr_status hr_probe_fit_cuda(const float *X, size_t n, int d, const uint8_t *y,
                            const double *weights, const hr_probe_options *opt, hr_probe **out,
                            char *err, size_t errlen);

/* Training data on the GPU, for several fits. */
typedef struct hr_probe_cuda_data hr_probe_cuda_data;

/* Checks X: (n, d) row-major float32, y: (n) 0 / 1 and weights: (n) or NULL
 * as hr_probe_fit does, and uploads them. memory_bytes: device budget, 0 for
 * 80% of the free memory. */
hr_status hr_probe_cuda_data_create(const float *X, size_t n, int d, const uint8_t *y,
                                    const double *weights, size_t memory_bytes,
                                    hr_probe_cuda_data **out, char *err, size_t errlen);
void hr_probe_cuda_data_destroy(hr_probe_cuda_data *g); /* accepts NULL */

/* Fits on the handle's data. opt may be NULL for the defaults (checked as
 * hr_probe_fit checks them). On success *out owns the fitted probe. */
hr_status hr_probe_cuda_data_fit(hr_probe_cuda_data *g, const hr_probe_options *opt,
                                 hr_probe **out, char *err, size_t errlen);

/* How the budget was spent, for tests and benchmarks. */
typedef struct hr_probe_cuda_layout {
    int resident;      /* 1: X lives on the GPU; 0: streamed from the host */
    size_t chunk_rows; /* rows per double block (and per streamed chunk) */
    size_t rows;       /* n, the rows of the handle */
    int d;             /* features */
} hr_probe_cuda_layout;
void hr_probe_cuda_data_info(const hr_probe_cuda_data *g, hr_probe_cuda_layout *out);

/* The passes (the hr_probe_backend functions of host/backends/backend.h on
 * the handle's rows): gradient (loss, g (p), H (p, p) row-major upper
 * triangle, on the host), step (dz = X~ delta, queued), line_sum. */
hr_status hr_probe_cuda_gradient(hr_probe_cuda_data *g, const double *theta, double *loss,
                                 double *gr, double *H, char *err, size_t errlen);
hr_status hr_probe_cuda_step(hr_probe_cuda_data *g, const double *delta, char *err,
                             size_t errlen);
hr_status hr_probe_cuda_line_sum(hr_probe_cuda_data *g, double t, int slope, double *out,
                                 char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
