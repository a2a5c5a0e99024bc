/*
 * host/scoring/probe_internal.h: the probe's front end as backends and
 * tests reach it (internal; the public API is hyporank/probe.h).
 *
 *     // a fit on one backend's data, several times (other lambdas, tolerances)
 *     const hr_probe_backend *b = ...;  // hr_backend_for(HR_DEVICE_CUDA, HR_SERVICE_PROBE, ...)
 *     void *data;
 *     b->data_create(X, d, NULL, n, y, NULL, 0, &data, err, sizeof err);
 *     hr_probe_fit_on(b, data, d, n, &o, &p, err, sizeof err);   // options checked first
 *     b->data_destroy(data);
 */
#ifndef HYPORANK_PROBE_INTERNAL_H
#define HYPORANK_PROBE_INTERNAL_H

#include "hyporank/probe.h"
#include "backends/backend.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The options' checks of hr_probe_fit (HR_ERR_INPUT naming the option). */
hr_status hr_probe_check_options(const hr_probe_options *o, char *err, size_t errlen);

/* hr_probe_fit's solver (host/scoring/probe.c; hr_probe_pick_solver's) on data that b's
 * data_create made for a fit of m rows of d features. o must have passed
 * hr_probe_check_options. On success *out owns the fitted probe. */
hr_status hr_probe_fit_on(const hr_probe_backend *b, void *data, int d, size_t m,
                          const hr_probe_options *o, hr_probe **out, char *err, size_t errlen);

/* The solver a fit of m rows on backend b runs when asked for `asked`
 * (HR_PROBE_SOLVER_AUTO: L-BFGS from b's auto_lbfgs_min_rows, else Newton). */
hr_probe_solver hr_probe_pick_solver(const hr_probe_backend *b, size_t m, hr_probe_solver asked);

/* A probe from given coefficients: w: (d) copied, b the intercept, info
 * stored as given. NULL when out of memory or d < 1 or w is NULL. Destroy
 * with hr_probe_destroy. */
hr_probe *hr_probe_from_coef(const double *w, int d, double b, const hr_probe_info *info);

/* rows[0..m) of X (n, d), y and weights (NULL: none) gathered into
 * contiguous copies *xs (m, d), *ys (m), *ws (m, or NULL without weights),
 * which the caller frees: how a backend that needs contiguous rows (the
 * GPU's) gets a cross-validation fold's training rows. */
hr_status hr_probe_gather(const float *X, int d, const size_t *rows, size_t m, const uint8_t *y,
                          const double *weights, float **xs, uint8_t **ys, double **ws,
                          char *err, size_t errlen);

/* A fit function with hr_probe_fit's arguments. */
typedef hr_status (*hr_probe_fit_fn)(const float *X, size_t n, int d, const uint8_t *y,
                                     const double *weights, const hr_probe_options *opt,
                                     hr_probe **out, char *err, size_t errlen);

/* fit_fn on rows[0..m) of X, y and weights gathered by hr_probe_gather (or
 * on the first m rows when rows is NULL), so that tests can check the
 * gathering against cross-validation with the CPU fit. */
hr_status hr_probe_fit_rows_with(const float *X, int d, const size_t *rows, size_t m,
                                 const uint8_t *y, const double *weights,
                                 const hr_probe_options *o, hr_probe_fit_fn fit_fn,
                                 hr_probe **out, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
