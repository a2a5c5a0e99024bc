/*
 * host/scoring/probe.c: L2-regularised logistic regression by Newton's method, and
 * stratified k-fold cross-validation (hyporank/probe.h has the model, the
 * objective and the stopping rule).
 *
 * Layout. theta = (w_0 .. w_{d-1}, b): p = d + 1 unknowns. Rows are read as
 * x~ = (x, 1), so the intercept is the last coefficient and is treated like
 * the others except that it gets no penalty.
 *
 * The Newton loop is here, once; the passes over the rows are a backend's
 * (hr_probe_backend, host/backends/backend.h: the CPU's in
 * host/backends/cpu/probe_cpu.c, the GPU's in kernels/probe.cu). One
 * iteration:
 *   pass 1 at theta (backend): z_i = x~_i . theta, p_i = sigmoid(z_i), the
 *            loss sum s_i softplus(-(2 y_i - 1) z_i), g = X~^T (s (p - y)),
 *            H = X~^T diag(s p (1 - p)) X~ (upper triangle); here the
 *            penalty: L = loss + lambda/2 |w|^2, g += lambda (w, 0),
 *            H += lambda diag(1, .., 1, 0);
 *   solve   H delta = -g by Cholesky (H = L L^T, host/scoring/cholesky.c: p
 *            is at most a few hundred, so p^3 / 3 flops are cheap; a tiny
 *            ridge is added if rounding leaves H not quite positive definite);
 *   pass 2 (backend): dz = X~ delta, so L(theta + t delta) is O(n) to
 *            evaluate for any t: the line search halves t from 1 until the
 *            Armijo condition L(t) <= L(0) + 1e-4 t g.delta holds.
 * A full step smaller than tol (relative) is taken without a line search and
 * ends the fit: by then L changes by less than rounding, so comparing L
 * values would say nothing, while the step is the error estimate itself.
 */
#include "hyporank/probe.h"
#include "scoring/probe_internal.h"
#include "scoring/cholesky.h"
#include "hyporank/stats.h"
#include "core/random.h"
#include "core/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct hr_probe {
    int d;
    double *w; /* (d + 1): w, then b */
    double b;
    hr_probe_info info;
};

hr_probe_options hr_probe_default_options(void)
{
    hr_probe_options o;
    o.lambda = 1.0;
    o.tol = 1e-8;
    o.max_iter = 100;
    o.device = HR_DEVICE_CPU;
    return o;
}

/* ------------------------------------------------------------------------ */
/* The fit                                                                    */

/* L(theta + t delta) from the backend's margins and their change. */
static hr_status line_objective(const hr_probe_backend *b, void *data, int d,
                                const double *theta, const double *delta, double t,
                                double lambda, double *out, char *err, size_t errlen)
{
    double loss = 0;
    hr_status st = b->line_sum(data, t, 0, &loss, err, errlen);
    if (st != HR_OK)
        return st;
    double pen = 0;
    for (int k = 0; k < d; k++) {
        double wk = theta[k] + t * delta[k];
        pen += wk * wk;
    }
    *out = loss + 0.5 * lambda * pen;
    return HR_OK;
}

/* d/dt L(theta + t delta), from the backend's margins and their change. */
static hr_status line_slope(const hr_probe_backend *b, void *data, int d, const double *theta,
                            const double *delta, double t, double lambda, double *out,
                            char *err, size_t errlen)
{
    double s1 = 0;
    hr_status st = b->line_sum(data, t, 1, &s1, err, errlen);
    if (st != HR_OK)
        return st;
    double pen = 0;
    for (int k = 0; k < d; k++)
        pen += (theta[k] + t * delta[k]) * delta[k];
    *out = s1 + lambda * pen;
    return HR_OK;
}

/* Fits theta: (p) out on the backend's data; info filled. Options checked. */
static hr_status newton(const hr_probe_backend *b, void *data, int d, size_t m,
                        const hr_probe_options *o, double *theta, hr_probe_info *info, char *err,
                        size_t errlen)
{
    const int p = d + 1;
    double *H = malloc((size_t)p * p * sizeof *H);      /* (p, p) upper triangle */
    double *L = malloc((size_t)p * p * sizeof *L);      /* (p, p) lower triangle */
    double *g = malloc((size_t)p * sizeof *g);          /* (p) gradient */
    double *delta = malloc((size_t)p * sizeof *delta);  /* (p) Newton step */
    hr_status st = HR_OK;
    if (!H || !L || !g || !delta) {
        st = hr_fail(HR_ERR_NOMEM, err, errlen, "probe: out of memory (%zu rows, %d features)",
                     m, d);
        goto done;
    }
    memset(theta, 0, (size_t)p * sizeof *theta);
    memset(info, 0, sizeof *info);
    const double lambda = o->lambda;

    for (int it = 0; it < o->max_iter; it++) {
        /* pass 1: margins, objective, gradient, Hessian at theta */
        double f0 = 0;
        if ((st = b->gradient(data, theta, &f0, g, H, err, errlen)) != HR_OK)
            goto done;
        double wn = 0, gmax = 0, tmax = 0;
        for (int k = 0; k < d; k++) {
            wn += theta[k] * theta[k];
            g[k] += lambda * theta[k];
            H[(size_t)k * p + k] += lambda;
        }
        f0 += 0.5 * lambda * wn;
        for (int k = 0; k < p; k++) {
            if (fabs(g[k]) > gmax)
                gmax = fabs(g[k]);
            if (fabs(theta[k]) > tmax)
                tmax = fabs(theta[k]);
        }
        info->iterations = it + 1;
        info->grad_inf = gmax;
        info->objective = f0;
        if (!isfinite(f0) || !isfinite(gmax)) {
            st = hr_fail(HR_ERR_INPUT, err, errlen,
                         "probe: the objective is not finite (features too large?)");
            goto done;
        }
        if (gmax == 0) { /* exactly at the minimiser */
            info->converged = 1;
            info->last_step = 0;
            break;
        }

        /* Newton step: H delta = -g. The ridge, added only when rounding
         * leaves H indefinite, starts far below any pivot that matters. */
        double hmax = 0;
        for (int k = 0; k < p; k++)
            if (H[(size_t)k * p + k] > hmax)
                hmax = H[(size_t)k * p + k];
        double ridge = 0;
        while (hr_cholesky(H, p, ridge, L) != 0) {
            ridge = ridge == 0 ? 1e-13 * (hmax > 0 ? hmax : 1.0) : ridge * 100;
            if (!(ridge < 1e6 * (hmax > 0 ? hmax : 1.0))) {
                st = hr_fail(HR_ERR_INTERNAL, err, errlen,
                             "probe: the Hessian cannot be factored (iteration %d)", it + 1);
                goto done;
            }
        }
        for (int k = 0; k < p; k++)
            delta[k] = -g[k];
        hr_cholesky_solve(L, p, delta);
        double smax = 0, slope = 0;
        for (int k = 0; k < p; k++) {
            if (fabs(delta[k]) > smax)
                smax = fabs(delta[k]);
            slope += g[k] * delta[k];
        }

        /* pass 2: dz = X~ delta */
        if ((st = b->step(data, delta, err, errlen)) != HR_OK)
            goto done;

        if (smax <= o->tol * (tmax > 1 ? tmax : 1)) {
            /* converged: take the full step, which squares the error */
            if ((st = line_objective(b, data, d, theta, delta, 1.0, lambda, &info->objective, err,
                                     errlen)) != HR_OK)
                goto done;
            for (int k = 0; k < p; k++)
                theta[k] += delta[k];
            info->converged = 1;
            info->last_step = smax;
            break;
        }

        /* Line search. Far from the minimiser, Armijo on values: halve t
         * from 1 until L(t) <= L(0) + 1e-4 t g.delta. Near it, the decrease
         * Newton predicts (-slope / 2, -slope = g^T H^-1 g) is so small that
         * L values, sums of m terms each rounded at 1e-16 relative, cannot
         * resolve it, and Armijo would accept or refuse on rounding noise
         * (even a vanishing t). There, the derivative along the line,
         * phi'(t) = sum_i s_i (p_i(t) - y_i) dz_i + lambda (w + t dw).dw,
         * computed without subtracting large values, decides instead: t is
         * taken when phi'(t) <= -slope / 2, which on a line where L is close
         * to quadratic (as it is there) means L(t) < L(0). The switch at
         * -slope <= 1e-6 (1 + |L|) leaves Armijo's required decrease,
         * 1e-4 * slope, at least 100 times the rounding of L (1e-12 |L| with
         * a wide margin for long sums). */
        double t = 1.0;
        int accepted = 0;
        double ft = f0, v = 0;
        const int near = -slope <= 1e-6 * (1.0 + fabs(f0));
        for (int ls = 0; ls < 60 && !accepted; ls++, t *= 0.5) {
            if (near) {
                if ((st = line_slope(b, data, d, theta, delta, t, lambda, &v, err, errlen)) !=
                    HR_OK)
                    goto done;
                if (v <= -0.5 * slope) {
                    if ((st = line_objective(b, data, d, theta, delta, t, lambda, &ft, err,
                                             errlen)) != HR_OK)
                        goto done;
                    accepted = 1;
                    break;
                }
            } else {
                if ((st = line_objective(b, data, d, theta, delta, t, lambda, &ft, err,
                                         errlen)) != HR_OK)
                    goto done;
                if (ft <= f0 + 1e-4 * t * slope) {
                    accepted = 1;
                    break;
                }
            }
        }
        if (!accepted) /* no decrease along a descent direction: rounding has the last word */
            break;
        for (int k = 0; k < p; k++)
            theta[k] += t * delta[k];
        info->objective = ft;
        info->last_step = t * smax;
    }

done:
    free(H);
    free(L);
    free(g);
    free(delta);
    return st;
}

hr_status hr_probe_fit_on(const hr_probe_backend *b, void *data, int d, size_t m,
                          const hr_probe_options *o, hr_probe **out, char *err, size_t errlen)
{
    *out = NULL;
    double *theta = malloc(((size_t)d + 1) * sizeof *theta); /* (d + 1): w, then b */
    if (!theta)
        return hr_fail(HR_ERR_NOMEM, err, errlen, "probe: out of memory");
    hr_probe_info info;
    hr_status st = newton(b, data, d, m, o, theta, &info, err, errlen);
    if (st == HR_OK && !(*out = hr_probe_from_coef(theta, d, theta[d], &info)))
        st = hr_fail(HR_ERR_NOMEM, err, errlen, "probe: out of memory");
    free(theta);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Checks                                                                     */

hr_status hr_probe_check_options(const hr_probe_options *o, char *err, size_t errlen)
{
    if (!(o->lambda > 0) || !isfinite(o->lambda))
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "probe: lambda must be a positive number (it is 1 / C), not %g", o->lambda);
    if (!(o->tol > 0) || !isfinite(o->tol))
        return hr_fail(HR_ERR_INPUT, err, errlen, "probe: tol must be positive, not %g", o->tol);
    if (o->max_iter < 1)
        return hr_fail(HR_ERR_INPUT, err, errlen, "probe: max_iter must be at least 1, not %d",
                       o->max_iter);
    return HR_OK;
}

/* Checks X, y and weights for all n rows. */
static hr_status check_data(const float *X, size_t n, int d, const uint8_t *y,
                            const double *weights, char *err, size_t errlen)
{
    if (!X || !y)
        return hr_fail(HR_ERR_INPUT, err, errlen, "probe: no data (X or y is NULL)");
    if (n == 0)
        return hr_fail(HR_ERR_INPUT, err, errlen, "probe: no rows");
    if (d < 1)
        return hr_fail(HR_ERR_INPUT, err, errlen, "probe: %d features (need at least 1)", d);
    if (n > (size_t)0x7fffffff)
        return hr_fail(HR_ERR_INPUT, err, errlen, "probe: %zu rows (at most 2^31 - 1)", n);
    double wsum[2] = {0, 0};
    for (size_t i = 0; i < n; i++) {
        if (y[i] > 1)
            return hr_fail(HR_ERR_INPUT, err, errlen, "probe: row %zu: label %u (must be 0 or 1)",
                           i, (unsigned)y[i]);
        double s = weights ? weights[i] : 1.0;
        if (!(s >= 0) || !isfinite(s))
            return hr_fail(HR_ERR_INPUT, err, errlen,
                           "probe: row %zu: weight %g (must be finite and >= 0)", i, s);
        wsum[y[i]] += s;
        const float *x = X + i * (size_t)d;
        for (int k = 0; k < d; k++)
            if (!isfinite(x[k]))
                return hr_fail(HR_ERR_INPUT, err, errlen,
                               "probe: row %zu, feature %d is not a finite number", i, k);
    }
    if (!(wsum[0] > 0) || !(wsum[1] > 0))
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "probe: both classes need rows with positive weight (class 0: %g, "
                       "class 1: %g)", wsum[0], wsum[1]);
    return HR_OK;
}

/* ------------------------------------------------------------------------ */
/* Public API                                                                 */

hr_status hr_probe_gather(const float *X, int d, const size_t *rows, size_t m, const uint8_t *y,
                          const double *weights, float **xs, uint8_t **ys, double **ws,
                          char *err, size_t errlen)
{
    *xs = malloc((m ? m : 1) * (size_t)d * sizeof **xs); /* (m, d) the rows, in order */
    *ys = malloc(m ? m : 1);                             /* (m) */
    *ws = weights ? malloc((m ? m : 1) * sizeof **ws) : NULL; /* (m) */
    if (!*xs || !*ys || (weights && !*ws)) {
        free(*xs), free(*ys), free(*ws);
        *xs = NULL, *ys = NULL, *ws = NULL;
        return hr_fail(HR_ERR_NOMEM, err, errlen, "probe: out of memory for %zu rows", m);
    }
    for (size_t i = 0; i < m; i++) {
        memcpy(*xs + i * (size_t)d, X + rows[i] * (size_t)d, (size_t)d * sizeof **xs);
        (*ys)[i] = y[rows[i]];
        if (*ws) (*ws)[i] = weights[rows[i]];
    }
    return HR_OK;
}

hr_status hr_probe_fit_rows_with(const float *X, int d, const size_t *rows, size_t m,
                                 const uint8_t *y, const double *weights,
                                 const hr_probe_options *o, hr_probe_fit_fn fit_fn,
                                 hr_probe **out, char *err, size_t errlen)
{
    if (!rows) return fit_fn(X, m, d, y, weights, o, out, err, errlen);
    float *xs;
    uint8_t *ys;
    double *ws;
    hr_status st = hr_probe_gather(X, d, rows, m, y, weights, &xs, &ys, &ws, err, errlen);
    if (st == HR_OK) st = fit_fn(xs, m, d, ys, ws, o, out, err, errlen);
    free(xs), free(ys), free(ws);
    return st;
}

/* A fit on backend b of rows[0..m) (rows NULL: the first m), data checked. */
static hr_status fit_with(const hr_probe_backend *b, const float *X, int d, const size_t *rows,
                          size_t m, const uint8_t *y, const double *sw,
                          const hr_probe_options *o, hr_probe **out, char *err, size_t errlen)
{
    void *data = NULL;
    hr_status st = b->data_create(X, d, rows, m, y, sw, 0, &data, err, errlen);
    if (st == HR_OK) st = hr_probe_fit_on(b, data, d, m, o, out, err, errlen);
    b->data_destroy(data);
    return st;
}

/* A fit on the device o asks for (hyporank/probe.h, "Devices"; the auto
 * policy of hyporank/device.h). */
static hr_status fit_on_device(const float *X, int d, const size_t *rows, size_t m,
                               const uint8_t *y, const double *sw, const hr_probe_options *o,
                               hr_probe **out, char *err, size_t errlen)
{
    const hr_backend *acc = NULL, *cpu = NULL;
    hr_status st = HR_OK;
    if (o->device == HR_DEVICE_AUTO) {
        acc = hr_backend_accelerator(HR_SERVICE_PROBE, NULL);
        if (acc && (double)m * (double)d < acc->probe->auto_min_work) acc = NULL;
    } else if (o->device != HR_DEVICE_CPU) {
        if ((st = hr_backend_for(o->device, HR_SERVICE_PROBE, &acc, err, errlen)) != HR_OK)
            return st;
    }
    if (acc) {
        st = fit_with(acc->probe, X, d, rows, m, y, sw, o, out, err, errlen);
        if (st == HR_OK || !hr_device_falls_back(o->device, st)) return st;
    }
    if ((st = hr_backend_for(HR_DEVICE_CPU, HR_SERVICE_PROBE, &cpu, err, errlen)) != HR_OK)
        return st;
    return fit_with(cpu->probe, X, d, rows, m, y, sw, o, out, err, errlen);
}

hr_status hr_probe_fit(const float *X, size_t n, int d, const uint8_t *y, const double *weights,
                       const hr_probe_options *opt, hr_probe **out, char *err, size_t errlen)
{
    if (!out)
        return hr_fail(HR_ERR_INPUT, err, errlen, "probe: no output pointer");
    *out = NULL;
    hr_probe_options o = opt ? *opt : hr_probe_default_options();
    hr_status st = hr_probe_check_options(&o, err, errlen);
    if (st == HR_OK)
        st = check_data(X, n, d, y, weights, err, errlen);
    if (st != HR_OK)
        return st;
    return fit_on_device(X, d, NULL, n, y, weights, &o, out, err, errlen);
}

hr_probe *hr_probe_from_coef(const double *w, int d, double b, const hr_probe_info *info)
{
    if (!w || d < 1) return NULL;
    hr_probe *p = calloc(1, sizeof *p);
    double *theta = malloc(((size_t)d + 1) * sizeof *theta);
    if (!p || !theta) {
        free(p);
        free(theta);
        return NULL;
    }
    memcpy(theta, w, (size_t)d * sizeof *theta);
    theta[d] = b; /* (d + 1): w, then b */
    p->d = d;
    p->w = theta;
    p->b = b;
    if (info) p->info = *info;
    return p;
}

void hr_probe_destroy(hr_probe *p)
{
    if (!p)
        return;
    free(p->w);
    free(p);
}

int hr_probe_dim(const hr_probe *p)
{
    return p ? p->d : 0;
}

const double *hr_probe_coef(const hr_probe *p)
{
    return p ? p->w : NULL;
}

double hr_probe_intercept(const hr_probe *p)
{
    return p ? p->b : 0.0;
}

hr_probe_info hr_probe_get_info(const hr_probe *p)
{
    hr_probe_info z = {0, 0, 0, 0, 0};
    return p ? p->info : z;
}

/* Decision values of the rows listed (rows NULL: 0..m-1) into out: (m). */
static void decide(const hr_probe *p, const float *X, const size_t *rows, size_t m, double *out)
{
    const int d = p->d;
    for (size_t i = 0; i < m; i++) {
        const float *x = X + (rows ? rows[i] : i) * (size_t)d;
        double s = 0;
        for (int k = 0; k < d; k++)
            s += p->w[k] * (double)x[k];
        out[i] = s + p->b;
    }
}

hr_status hr_probe_decision(const hr_probe *p, const float *X, size_t n, double *out, char *err,
                            size_t errlen)
{
    if (!p || (n > 0 && (!X || !out)))
        return hr_fail(HR_ERR_INPUT, err, errlen, "probe: decision: NULL argument");
    decide(p, X, NULL, n, out);
    return HR_OK;
}

/* xoshiro256** seeded by splitmix64: a small, well-tested generator whose
 * output is the same everywhere. */
typedef struct rng {
    uint64_t s[4];
} rng;

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(rng *r)
{
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

/* Uniform in [0, bound), bound >= 1, without modulo bias (rejection). */
static uint64_t rng_below(rng *r, uint64_t bound)
{
    uint64_t lim = (0 - bound) % bound; /* 2^64 mod bound */
    for (;;) {
        uint64_t v = rng_next(r);
        if (v >= lim)
            return v % bound;
    }
}

hr_status hr_probe_folds(const uint8_t *y, size_t n, int k, uint64_t seed, int *fold, char *err,
                         size_t errlen)
{
    if (!y || !fold || n == 0)
        return hr_fail(HR_ERR_INPUT, err, errlen, "probe: folds: no data");
    size_t cnt[2] = {0, 0};
    for (size_t i = 0; i < n; i++) {
        if (y[i] > 1)
            return hr_fail(HR_ERR_INPUT, err, errlen, "probe: row %zu: label %u (must be 0 or 1)",
                           i, (unsigned)y[i]);
        cnt[y[i]]++;
    }
    size_t smaller = cnt[0] < cnt[1] ? cnt[0] : cnt[1];
    if (k < 2 || (size_t)k > smaller)
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "probe: %d folds for classes of %zu and %zu rows (need 2 <= k <= the "
                       "smaller class)", k, cnt[1], cnt[0]);
    size_t *idx = malloc(n * sizeof *idx); /* (n) class 1 rows, then class 0 rows */
    if (!idx)
        return hr_fail(HR_ERR_NOMEM, err, errlen, "probe: out of memory");
    rng r;
    uint64_t sm = seed;
    for (int j = 0; j < 4; j++)
        r.s[j] = hr_splitmix64(&sm);
    size_t pos = 0;
    for (int c = 1; c >= 0; c--) {
        size_t start = pos;
        for (size_t i = 0; i < n; i++)
            if (y[i] == c)
                idx[pos++] = i;
        size_t mc = pos - start;
        for (size_t i = mc; i > 1; i--) { /* Fisher-Yates */
            size_t j = (size_t)rng_below(&r, i);
            size_t t = idx[start + i - 1];
            idx[start + i - 1] = idx[start + j];
            idx[start + j] = t;
        }
    }
    for (size_t i = 0; i < n; i++)
        fold[idx[i]] = (int)(i % (size_t)k);
    free(idx);
    return HR_OK;
}

hr_status hr_probe_cross_validate(const float *X, size_t n, int d, const uint8_t *y,
                                  const double *weights, const hr_probe_options *opt, int k,
                                  uint64_t seed, double *heldout, hr_probe_cv_result *result,
                                  char *err, size_t errlen)
{
    hr_probe_options o = opt ? *opt : hr_probe_default_options();
    hr_status st = hr_probe_check_options(&o, err, errlen);
    if (st == HR_OK)
        st = check_data(X, n, d, y, weights, err, errlen);
    if (st != HR_OK)
        return st;
    if (!heldout)
        return hr_fail(HR_ERR_INPUT, err, errlen, "probe: cross-validation: no output array");
    int *fold = malloc(n * sizeof *fold);      /* (n) fold of each row */
    size_t *train = malloc(n * sizeof *train); /* (<= n) rows of the training folds */
    size_t *test = malloc(n * sizeof *test);   /* (<= n) rows of the held-out fold */
    double *dv = malloc(n * sizeof *dv);       /* (<= n) held-out values, test order */
    float *sc = malloc(n * sizeof *sc);        /* (n) class 1 values, then class 0 */
    if (!fold || !train || !test || !dv || !sc) {
        st = hr_fail(HR_ERR_NOMEM, err, errlen, "probe: out of memory");
        goto done;
    }
    st = hr_probe_folds(y, n, k, seed, fold, err, errlen);
    if (st != HR_OK)
        goto done;
    hr_probe_cv_result res;
    memset(&res, 0, sizeof res);
    res.folds = k;
    res.all_converged = 1;
    for (int f = 0; f < k; f++) {
        size_t ntr = 0, nte = 0;
        for (size_t i = 0; i < n; i++) {
            if (fold[i] == f)
                test[nte++] = i;
            else
                train[ntr++] = i;
        }
        double wsum[2] = {0, 0};
        for (size_t i = 0; i < ntr; i++)
            wsum[y[train[i]]] += weights ? weights[train[i]] : 1.0;
        if (!(wsum[0] > 0) || !(wsum[1] > 0)) {
            st = hr_fail(HR_ERR_INPUT, err, errlen,
                         "probe: fold %d: a class has no weight in the training folds", f);
            goto done;
        }
        hr_probe *pr = NULL;
        st = fit_on_device(X, d, train, ntr, y, weights, &o, &pr, err, errlen);
        if (st != HR_OK)
            goto done;
        decide(pr, X, test, nte, dv);
        for (size_t i = 0; i < nte; i++)
            heldout[test[i]] = dv[i];
        if (f == 0 || pr->info.iterations < res.min_iterations)
            res.min_iterations = pr->info.iterations;
        if (pr->info.iterations > res.max_iterations)
            res.max_iterations = pr->info.iterations;
        if (!pr->info.converged)
            res.all_converged = 0;
        hr_probe_destroy(pr);
    }
    size_t na = 0, nb = 0;
    for (size_t i = 0; i < n; i++)
        na += y[i];
    for (size_t i = 0; i < n; i++) {
        if (y[i])
            sc[nb++] = (float)heldout[i];
    }
    for (size_t i = 0; i < n; i++) {
        if (!y[i])
            sc[nb++] = (float)heldout[i];
    }
    hr_mw_result mw;
    st = hr_mw_sorted(sc, na, n - na, &mw, err, errlen);
    if (st != HR_OK)
        goto done;
    res.auroc = mw.auroc;
    res.p_value = mw.p_value;
    if (result)
        *result = res;

done:
    free(fold);
    free(train);
    free(test);
    free(dv);
    free(sc);
    return st;
}
