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
 *
 * L-BFGS (lbfgs() below) uses only the backend's gradient pass without the
 * Hessian (H NULL): one read of X for each point it evaluates.
 */
#include "hyporank/probe.h"
#include "scoring/probe_internal.h"
#include "scoring/cholesky.h"
#include "hyporank/stats.h"
#include "core/random.h"
#include "core/util.h"

#include <cblas.h>
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
    o.solver = HR_PROBE_SOLVER_AUTO;
    o.gtol = 1e-8;
    o.lbfgs_max_iter = 1000;
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
    info->solver = HR_PROBE_SOLVER_NEWTON;
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

/* ------------------------------------------------------------------------ */
/* L-BFGS                                                                     */

/* Pairs of steps and gradient changes L-BFGS keeps (scipy's default). */
#define LBFGS_PAIRS 10

/* L and its gradient at theta (p), the penalty included. */
static hr_status loss_grad(const hr_probe_backend *b, void *data, int d, const double *theta,
                           double lambda, double *f, double *g, char *err, size_t errlen)
{
    hr_status st = b->gradient(data, theta, f, g, NULL, err, errlen);
    if (st != HR_OK) return st;
    double wn = 0;
    for (int k = 0; k < d; k++) {
        wn += theta[k] * theta[k];
        g[k] += lambda * theta[k];
    }
    *f += 0.5 * lambda * wn;
    if (!isfinite(*f))
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "probe: the objective is not finite (features too large?)");
    return HR_OK;
}

static double dot(const double *a, const double *b, int p)
{
    double s = 0;
    for (int k = 0; k < p; k++) s += a[k] * b[k];
    return s;
}

static double max_abs(const double *a, int p)
{
    double m = 0;
    for (int k = 0; k < p; k++)
        if (fabs(a[k]) > m) m = fabs(a[k]);
    return m;
}

/* Rows of the fit the preconditioner is estimated from, at most. */
#define PRECOND_ROWS 16384

/* The factor Lc: (p, p) lower triangle of L-BFGS's preconditioner: the
 * Hessian of L at theta = 0, X~^T diag(s / 4) X~ + lambda diag(1..1, 0),
 * estimated from at most PRECOND_ROWS rows of the fit spread evenly over it
 * (the sample's sum scaled by the ratio of the fit's weight to the
 * sample's). O(PRECOND_ROWS p^2) in one dsyrk, a few hundredths of a second
 * on two cores at p = 385 (under one gradient pass over a million rows);
 * done on the host whatever the backend, from the float rows. */
static hr_status lbfgs_preconditioner(const float *X, int d, const size_t *rows, size_t m,
                                      const double *sw, double lambda, double *Lc, char *err,
                                      size_t errlen)
{
    const int p = d + 1;
    const size_t ns = m < PRECOND_ROWS ? m : PRECOND_ROWS;
    double *blk = malloc(ns * (size_t)p * sizeof *blk); /* (ns, p) scaled sampled rows */
    double *H = malloc((size_t)p * p * sizeof *H);      /* (p, p) upper triangle */
    hr_status st = HR_OK;
    if (!blk || !H) {
        st = hr_fail(HR_ERR_NOMEM, err, errlen, "probe: out of memory (%d features)", d);
        goto done;
    }
    double wfit = 0, wsample = 0;
    for (size_t i = 0; i < m; i++) wfit += sw ? sw[rows ? rows[i] : i] : 1.0;
    for (size_t j = 0; j < ns; j++) {
        const size_t r = rows ? rows[j * m / ns] : j * m / ns;
        const double s = sw ? sw[r] : 1.0, c = sqrt(0.25 * s);
        const float *x = X + r * (size_t)d;
        double *o = blk + j * (size_t)p;
        for (int k = 0; k < d; k++) o[k] = c * (double)x[k];
        o[d] = c;
        wsample += s;
    }
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, p, (int)ns,
                wsample > 0 ? wfit / wsample : 1.0, blk, p, 0.0, H, p);
    double hmax = 0;
    for (int k = 0; k < p; k++) {
        if (k < d) H[(size_t)k * p + k] += lambda;
        if (H[(size_t)k * p + k] > hmax) hmax = H[(size_t)k * p + k];
    }
    /* sampled rows of weight 0 can leave the intercept's pivot at 0 (w's
     * pivots have lambda at least): a small ridge keeps the factor usable */
    double ridge = 0;
    while (hr_cholesky(H, p, ridge, Lc) != 0) {
        ridge = ridge == 0 ? 1e-10 * (hmax > 0 ? hmax : 1.0) : ridge * 100;
        if (!(ridge < hmax)) {
            st = hr_fail(HR_ERR_INTERNAL, err, errlen, "probe: the preconditioner cannot be factored");
            goto done;
        }
    }
done:
    free(blk);
    free(H);
    return st;
}

/* Fits theta: (p) out by L-BFGS (Nocedal and Wright, Numerical Optimization,
 * algorithms 7.4 and 7.5) from theta = 0; info filled. Options checked.
 * Lc: NULL, or the factor of a preconditioner M (lbfgs_preconditioner):
 * the recursion's initial inverse Hessian is then gamma M^-1, with gamma =
 * s.y / y.M^-1 y of the newest pair (1 before there is one), where it is
 * otherwise gamma I with gamma = s.y / y.y (and a first step of unit
 * length). Embeddings' features spread over two or three orders of
 * magnitude, which the preconditioner takes away.
 *
 * The sum of weights W, the scale of the stopping rule, is L(0) / log 2:
 * at theta = 0 every row of positive weight contributes s_i softplus(0) =
 * s_i log 2. A pair (s, y) enters the memory only when s.y > 0 (always so
 * for this strictly convex L, up to rounding). The line search starts from
 * the full step (without a preconditioner, the first iteration's is scaled
 * to unit length) and halves it until Armijo's condition holds; a direction
 * that rounding has made uphill starts the memory over from -g, without the
 * preconditioner. Where L values
 * cannot resolve the decrease (as in newton() above), the slope along the
 * line at the trial point decides instead. */
static hr_status lbfgs(const hr_probe_backend *b, void *data, int d, const hr_probe_options *o,
                       const double *Lc, double *theta, hr_probe_info *info, char *err,
                       size_t errlen)
{
    const int p = d + 1, M = LBFGS_PAIRS;
    const double lambda = o->lambda;
    /* S, Y: (M, p) the kept pairs, slot (first + i) % M the i-th oldest */
    double *S = malloc((size_t)M * p * sizeof *S), *Y = malloc((size_t)M * p * sizeof *Y);
    double *g = malloc((size_t)p * sizeof *g);       /* (p) gradient at theta */
    double *gn = malloc((size_t)p * sizeof *gn);     /* (p) gradient at the trial point */
    double *dir = malloc((size_t)p * sizeof *dir);   /* (p) search direction */
    double *trial = malloc((size_t)p * sizeof *trial); /* (p) trial point */
    double *v = malloc((size_t)p * sizeof *v);       /* (p) M^-1 y */
    double rho[LBFGS_PAIRS], alpha[LBFGS_PAIRS];
    hr_status st = HR_OK;
    if (!S || !Y || !g || !gn || !dir || !trial || !v) {
        st = hr_fail(HR_ERR_NOMEM, err, errlen, "probe: out of memory (%d features)", d);
        goto done;
    }
    memset(theta, 0, (size_t)p * sizeof *theta);
    memset(info, 0, sizeof *info);
    info->solver = HR_PROBE_SOLVER_LBFGS;
    double f = 0;
    if ((st = loss_grad(b, data, d, theta, lambda, &f, g, err, errlen)) != HR_OK) goto done;
    info->evaluations = 1;
    const double wsum = f / log(2.0);
    const double gstop = o->gtol * (wsum > 0 ? wsum : 1.0);
    int first = 0, kept = 0;
    info->objective = f;
    info->grad_inf = max_abs(g, p);

    for (int it = 0; it < o->lbfgs_max_iter; it++) {
        if (info->grad_inf <= gstop) {
            info->converged = 1;
            break;
        }
        /* two-loop recursion: dir = -H g, H the L-BFGS inverse Hessian */
        for (int k = 0; k < p; k++) dir[k] = -g[k];
        for (int i = kept - 1; i >= 0; i--) {
            const int j = (first + i) % M;
            alpha[j] = rho[j] * dot(S + (size_t)j * p, dir, p);
            for (int k = 0; k < p; k++) dir[k] -= alpha[j] * Y[(size_t)j * p + k];
        }
        double t = 1.0, gamma = 1.0;
        if (kept > 0) { /* the newest pair scales H0 */
            const double *yj = Y + (size_t)((first + kept - 1) % M) * p;
            memcpy(v, yj, (size_t)p * sizeof *v);
            if (Lc) hr_cholesky_solve(Lc, p, v);
            gamma = 1.0 / (rho[(first + kept - 1) % M] * dot(yj, v, p));
        } else if (!Lc) {
            t = 1.0 / sqrt(dot(g, g, p)); /* a first step of unit length */
        }
        if (Lc) hr_cholesky_solve(Lc, p, dir);
        for (int k = 0; k < p; k++) dir[k] *= gamma;
        for (int i = 0; i < kept; i++) {
            const int j = (first + i) % M;
            const double beta = rho[j] * dot(Y + (size_t)j * p, dir, p);
            for (int k = 0; k < p; k++) dir[k] += (alpha[j] - beta) * S[(size_t)j * p + k];
        }
        double slope = dot(g, dir, p);
        if (!(slope < 0)) { /* not a descent direction (rounding): start over from -g */
            kept = 0;
            for (int k = 0; k < p; k++) dir[k] = -g[k];
            slope = -dot(g, g, p);
            t = 1.0 / sqrt(-slope);
            Lc = NULL;
        }

        int accepted = 0;
        double ft = f;
        const int near = -slope <= 1e-6 * (1.0 + fabs(f));
        for (int ls = 0; ls < 60 && !accepted; ls++, t *= 0.5) {
            for (int k = 0; k < p; k++) trial[k] = theta[k] + t * dir[k];
            if ((st = loss_grad(b, data, d, trial, lambda, &ft, gn, err, errlen)) != HR_OK)
                goto done;
            info->evaluations++;
            accepted = near ? dot(gn, dir, p) <= -0.5 * slope : ft <= f + 1e-4 * t * slope;
            if (accepted) break;
        }
        if (!accepted) break; /* no decrease along a descent direction: rounding has the last word */
        info->iterations = it + 1;

        /* the new pair s = trial - theta = t dir, y = gn - g, kept when
         * s.y > 0 (in the free slot, or in the oldest's when full) */
        double sy = 0;
        for (int k = 0; k < p; k++) sy += t * dir[k] * (gn[k] - g[k]);
        if (sy > 0) {
            const int j = kept < M ? (first + kept) % M : first;
            for (int k = 0; k < p; k++) {
                S[(size_t)j * p + k] = t * dir[k];
                Y[(size_t)j * p + k] = gn[k] - g[k];
            }
            rho[j] = 1.0 / sy;
            if (kept < M) kept++;
            else first = (first + 1) % M;
        }
        info->last_step = t * max_abs(dir, p);
        memcpy(theta, trial, (size_t)p * sizeof *theta);
        memcpy(g, gn, (size_t)p * sizeof *g);
        f = ft;
        info->objective = f;
        info->grad_inf = max_abs(g, p);
    }
    if (info->grad_inf <= gstop) info->converged = 1;

done:
    free(S);
    free(Y);
    free(g);
    free(gn);
    free(dir);
    free(trial);
    free(v);
    return st;
}

hr_probe_solver hr_probe_pick_solver(const hr_probe_backend *b, size_t m, hr_probe_solver asked)
{
    if (asked != HR_PROBE_SOLVER_AUTO) return asked;
    return b->auto_lbfgs_min_rows > 0 && m >= b->auto_lbfgs_min_rows ? HR_PROBE_SOLVER_LBFGS
                                                                      : HR_PROBE_SOLVER_NEWTON;
}

/* The fit of hr_probe_fit_on, with L-BFGS's preconditioner factor Lc (NULL:
 * none). */
static hr_status fit_data(const hr_probe_backend *b, void *data, int d, size_t m,
                          const hr_probe_options *o, const double *Lc, hr_probe **out, char *err,
                          size_t errlen)
{
    *out = NULL;
    double *theta = malloc(((size_t)d + 1) * sizeof *theta); /* (d + 1): w, then b */
    if (!theta)
        return hr_fail(HR_ERR_NOMEM, err, errlen, "probe: out of memory");
    hr_probe_info info;
    hr_status st = hr_probe_pick_solver(b, m, o->solver) == HR_PROBE_SOLVER_LBFGS
                       ? lbfgs(b, data, d, o, Lc, theta, &info, err, errlen)
                       : newton(b, data, d, m, o, theta, &info, err, errlen);
    if (st == HR_OK && !(*out = hr_probe_from_coef(theta, d, theta[d], &info)))
        st = hr_fail(HR_ERR_NOMEM, err, errlen, "probe: out of memory");
    free(theta);
    return st;
}

hr_status hr_probe_fit_on(const hr_probe_backend *b, void *data, int d, size_t m,
                          const hr_probe_options *o, hr_probe **out, char *err, size_t errlen)
{
    return fit_data(b, data, d, m, o, NULL, out, err, errlen);
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
    if (o->solver != HR_PROBE_SOLVER_AUTO && o->solver != HR_PROBE_SOLVER_NEWTON &&
        o->solver != HR_PROBE_SOLVER_LBFGS)
        return hr_fail(HR_ERR_INPUT, err, errlen, "probe: unknown solver %d", (int)o->solver);
    if (!(o->gtol > 0) || !isfinite(o->gtol))
        return hr_fail(HR_ERR_INPUT, err, errlen, "probe: gtol must be positive, not %g", o->gtol);
    if (o->lbfgs_max_iter < 1)
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "probe: lbfgs_max_iter must be at least 1, not %d", o->lbfgs_max_iter);
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
    double *Lc = NULL; /* (d + 1, d + 1) L-BFGS's preconditioner, lower triangle */
    hr_status st = HR_OK;
    if (hr_probe_pick_solver(b, m, o->solver) == HR_PROBE_SOLVER_LBFGS) {
        if (!(Lc = malloc(((size_t)d + 1) * ((size_t)d + 1) * sizeof *Lc)))
            return hr_fail(HR_ERR_NOMEM, err, errlen, "probe: out of memory (%d features)", d);
        st = lbfgs_preconditioner(X, d, rows, m, sw, o->lambda, Lc, err, errlen);
    }
    if (st == HR_OK) st = b->data_create(X, d, rows, m, y, sw, 0, &data, err, errlen);
    if (st == HR_OK) st = fit_data(b, data, d, m, o, Lc, out, err, errlen);
    b->data_destroy(data);
    free(Lc);
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
    hr_probe_info z;
    memset(&z, 0, sizeof z);
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
