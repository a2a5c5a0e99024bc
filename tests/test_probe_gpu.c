/*
 * tests/test_probe_gpu.c: the CUDA probe fit (host/backends/cuda/probe_cuda.h) against the
 * CPU fit (hr_probe_fit, host/scoring/probe.c: the specification). Skips (exit 77)
 * where no GPU is present, after the one case that needs none
 * (hr_probe_from_coef, the constructor the GPU fit returns its probe with).
 *
 * Tolerances. Both fits compute the same L, gradient and Hessian in double
 * (the GPU widens the float32 rows exactly and uses FP64 cuBLAS and FP64
 * kernels); they differ only in the order of summation, so only by rounding.
 *   coefficients  max_j |theta_gpu_j - theta_cpu_j| <= 2 tol max(1, max_j
 *           |theta_cpu_j|), theta = (w, b), tol the fit's stopping tolerance
 *           (1e-8 by default). Each fit ends by taking a full Newton step no
 *           larger than tol max(1, max |theta|), and after it the error is of
 *           the order of the step squared (quadratic convergence), far below
 *           the step: so each fit is within tol (relative) of the minimiser
 *           and the two within 2 tol of each other. Rounding moves the
 *           minimiser by about (n u max|term|) / lambda_min(H) ~ 1e-12 here
 *           (u = 1.1e-16, n <= 5e4, lambda_min >= about lambda = 1):
 *           negligible against 2e-8. A larger difference means the GPU
 *           computed a different function, which is what this test is for.
 *   decision values  |f_gpu(x) - f_cpu(x)| <= |dw|_1 max|x_k| + |db|:
 *           checked against the bound from the coefficient tolerance.
 *   objective  |L_gpu - L_cpu| <= 1e-9 |L_cpu|: L is a sum of n positive
 *           terms, each summed in another order (worst case n u = 5.5e-12
 *           relative for n = 5e4) from margins whose own rounding is
 *           d u sum_k |theta_k x_k| (about 1e-12 relative per term); the
 *           coefficient difference moves L only to second order (L is flat
 *           at its minimiser). 1e-9 leaves a margin of over 100.
 *   iterations  equal, or one apart: a full step that lands within rounding
 *           of the tol threshold may be taken one iteration later on one
 *           side. Both fits must converge.
 *   AUROC of the decision values (rounded to float, as hr_probe_cross_validate
 *           does): a positive-negative pair can change order only if its
 *           CPU values are closer than 2 max|f_gpu - f_cpu| plus two float
 *           roundings (2^-22 max|f|); each such pair moves U by at most 1, so
 *           |dAUROC| <= (such pairs) / (n_1 n_0), counted on the data.
 *   errors  bad input gives the same status and the same message as the CPU.
 */
#include "backends/cuda/cuda.h"
#include "hyporank/probe.h"
#include "hyporank/stats.h"
#include "backends/cuda/probe_cuda.h"
#include "test_random.h"
#include "test_util.h"

#include <math.h>
#include <stdint.h>


/* A data set: X (n, d) row-major unit rows; y (n) with
 * P(y = 1) = sigmoid(signal sqrt(d) x . dir + bias) for a random unit dir;
 * w (n) weights when weighted (uniform in [0, 3), about 5% exactly 0), else
 * NULL. Counts of each class in n1, n0. */
typedef struct dataset {
    float *X;
    uint8_t *y;
    double *w;
    size_t n, n1;
    int d;
} dataset;

static dataset make_data(size_t n, int d, double signal, double bias, int weighted)
{
    dataset s = {malloc(n * (size_t)d * sizeof(float)), malloc(n), NULL, n, 0, d};
    double *dir = malloc((size_t)d * sizeof *dir), ss = 0;
    for (int k = 0; k < d; k++) dir[k] = rng_normal(), ss += dir[k] * dir[k];
    for (int k = 0; k < d; k++) dir[k] /= sqrt(ss);
    for (size_t i = 0; i < n; i++) {
        float *r = s.X + i * (size_t)d;
        double rs = 0, dot = 0;
        for (int k = 0; k < d; k++) r[k] = (float)rng_normal(), rs += (double)r[k] * r[k];
        for (int k = 0; k < d; k++) r[k] = (float)(r[k] / sqrt(rs)), dot += r[k] * dir[k];
        s.y[i] = rng_uniform() < 1.0 / (1.0 + exp(-(signal * sqrt((double)d) * dot + bias)));
        s.n1 += s.y[i];
    }
    if (weighted) {
        s.w = malloc(n * sizeof *s.w);
        for (size_t i = 0; i < n; i++) s.w[i] = rng_uniform() < 0.05 ? 0.0 : 3.0 * rng_uniform();
    }
    free(dir);
    return s;
}

static void free_data(dataset *s)
{
    free(s->X), free(s->y), free(s->w);
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* AUROC (class 1 positive) of the values f (n), rounded to float. */
static double auroc_of(const double *f, const uint8_t *y, size_t n, size_t n1)
{
    float *sc = malloc(n * sizeof *sc);
    size_t a = 0, b = n1;
    for (size_t i = 0; i < n; i++) sc[y[i] ? a++ : b++] = (float)f[i];
    hr_mw_result mw;
    char err[256];
    hr_status st = hr_mw_sorted(sc, n1, n - n1, &mw, err, sizeof err);
    free(sc);
    return st == HR_OK ? mw.auroc : NAN;
}

/* Fraction of (class 1, class 0) pairs whose values f are within win. */
static double near_pairs(const double *f, const uint8_t *y, size_t n, size_t n1, double win)
{
    double *neg = malloc((n - n1) * sizeof *neg);
    size_t m = 0, near = 0;
    for (size_t i = 0; i < n; i++)
        if (!y[i]) neg[m++] = f[i];
    qsort(neg, m, sizeof *neg, cmp_double);
    for (size_t i = 0; i < n; i++) {
        if (!y[i]) continue;
        size_t lo = 0, hi = m; /* first neg >= f - win */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (neg[mid] < f[i] - win) lo = mid + 1; else hi = mid;
        }
        size_t a = lo;
        lo = a, hi = m; /* first neg > f + win */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (neg[mid] <= f[i] + win) lo = mid + 1; else hi = mid;
        }
        near += lo - a;
    }
    free(neg);
    return (double)near / ((double)n1 * (double)(n - n1));
}

/* Fits s on the CPU and on the GPU (budget: memory_bytes of the data
 * handle; want_resident 1, 0, or -1 for either) and compares them. */
static void compare(const char *what, const dataset *s, const hr_probe_options *o, size_t budget,
                    int want_resident)
{
    char err[512] = "";
    hr_probe *pc = NULL, *pg = NULL;
    hr_probe_cuda_data *g = NULL;
    double *fc = malloc(s->n * sizeof *fc), *fg = malloc(s->n * sizeof *fg);
    const hr_probe_options oo = o ? *o : hr_probe_default_options();
    const int d = s->d;
    CHECKF(hr_probe_fit(s->X, s->n, d, s->y, s->w, o, &pc, err, sizeof err) == HR_OK, "%s: cpu: %s",
           what, err);
    CHECKF(hr_probe_cuda_data_create(s->X, s->n, d, s->y, s->w, budget, &g, err, sizeof err) ==
               HR_OK,
           "%s: gpu data: %s", what, err);
    if (g) {
        hr_probe_cuda_layout lay;
        hr_probe_cuda_data_info(g, &lay);
        fprintf(stderr, "  %s: n = %zu (%zu of class 1), d = %d, %s; resident %d, chunk %zu rows\n",
                what, s->n, s->n1, d, s->w ? "weighted" : "unweighted", lay.resident,
                lay.chunk_rows);
        if (want_resident >= 0)
            CHECKF(lay.resident == want_resident, "%s: resident %d", what, lay.resident);
        CHECKF(hr_probe_cuda_data_fit(g, o, &pg, err, sizeof err) == HR_OK, "%s: gpu fit: %s",
               what, err);
    }
    if (!pc || !pg) goto done;
    CHECK(hr_probe_dim(pg) == d);
    const double *wc = hr_probe_coef(pc), *wg = hr_probe_coef(pg);
    const double bc = hr_probe_intercept(pc), bg = hr_probe_intercept(pg);
    double scale = fabs(bc), dmax = fabs(bg - bc), dw1 = fabs(bg - bc);
    for (int k = 0; k < d; k++) {
        scale = fmax(scale, fabs(wc[k]));
        dmax = fmax(dmax, fabs(wg[k] - wc[k]));
        dw1 += fabs(wg[k] - wc[k]);
    }
    const double coef_tol = 2.0 * oo.tol * fmax(1.0, scale);
    hr_probe_info ic = hr_probe_get_info(pc), ig = hr_probe_get_info(pg);
    fprintf(stderr,
            "  %s: max |theta_gpu - theta_cpu| = %.3g (tolerance %.3g, max |theta| %.3g); "
            "b %.12g vs %.12g; iterations %d vs %d; objective %.15g vs %.15g\n",
            what, dmax, coef_tol, scale, bg, bc, ig.iterations, ic.iterations, ig.objective,
            ic.objective);
    CHECKF(dmax <= coef_tol, "%s: coefficients differ by %.3g (tolerance %.3g)", what, dmax,
           coef_tol);
    CHECKF(fabs(bg - bc) <= coef_tol, "%s: intercept gpu %.15g cpu %.15g", what, bg, bc);
    CHECKF(ic.converged && ig.converged, "%s: converged cpu %d gpu %d", what, ic.converged,
           ig.converged);
    CHECKF(abs(ig.iterations - ic.iterations) <= 1, "%s: iterations gpu %d cpu %d", what,
           ig.iterations, ic.iterations);
    CHECKF(fabs(ig.objective - ic.objective) <= 1e-9 * fabs(ic.objective),
           "%s: objective gpu %.17g cpu %.17g", what, ig.objective, ic.objective);

    CHECK(hr_probe_decision(pc, s->X, s->n, fc, err, sizeof err) == HR_OK);
    CHECK(hr_probe_decision(pg, s->X, s->n, fg, err, sizeof err) == HR_OK);
    double fdiff = 0, fmaxabs = 0, xmax = 0;
    for (size_t i = 0; i < s->n * (size_t)d; i++) xmax = fmax(xmax, fabs((double)s->X[i]));
    for (size_t i = 0; i < s->n; i++) {
        fdiff = fmax(fdiff, fabs(fg[i] - fc[i]));
        fmaxabs = fmax(fmaxabs, fabs(fc[i]));
    }
    /* the bound the coefficients allow, plus the rounding of two sums of d + 1 terms */
    const double fbound = coef_tol * ((double)d * xmax + 1.0) + 4.0 * (d + 1) * 0x1.0p-53 *
                          (fmaxabs + scale * (double)d * xmax);
    CHECKF(fdiff <= fbound, "%s: decision values differ by %.3g (bound %.3g)", what, fdiff, fbound);
    if (s->n1 > 0 && s->n1 < s->n) {
        const double ac = auroc_of(fc, s->y, s->n, s->n1), ag = auroc_of(fg, s->y, s->n, s->n1);
        const double win = 2.0 * fdiff + 0x1.0p-22 * fmaxabs;
        const double atol = near_pairs(fc, s->y, s->n, s->n1, win) + 1e-12;
        fprintf(stderr, "  %s: training AUROC gpu %.9f cpu %.9f (tolerance %.3g)\n", what, ag, ac,
                atol);
        CHECKF(fabs(ag - ac) <= atol, "%s: AUROC gpu %.12f cpu %.12f (tolerance %.3g)", what, ag,
               ac, atol);
    }
done:
    hr_probe_destroy(pc);
    hr_probe_destroy(pg);
    hr_probe_cuda_data_destroy(g);
    free(fc);
    free(fg);
}

/* Runs without a GPU: a probe built from coefficients reads back through
 * host/scoring/probe.c's accessors and decision function. */
static void test_probe_from_coef_reads_back(void)
{
    const double w[3] = {0.5, -2.0, 3.25};
    const hr_probe_info info = {7, 1, 12.5, 1e-9, 2e-10};
    hr_probe *p = hr_probe_from_coef(w, 3, -0.75, &info);
    CHECK(p != NULL);
    if (!p) return;
    CHECK(hr_probe_dim(p) == 3);
    CHECK(hr_probe_coef(p)[0] == 0.5 && hr_probe_coef(p)[1] == -2.0 && hr_probe_coef(p)[2] == 3.25);
    CHECK(hr_probe_intercept(p) == -0.75);
    hr_probe_info got = hr_probe_get_info(p);
    CHECK(got.iterations == 7 && got.converged == 1 && got.objective == 12.5 &&
          got.grad_inf == 1e-9 && got.last_step == 2e-10);
    const float x[6] = {1, 0, 0, 0, 1, 2};
    double f[2];
    char err[256];
    CHECK(hr_probe_decision(p, x, 2, f, err, sizeof err) == HR_OK);
    CHECKF(f[0] == -0.25 && f[1] == 3.75, "%g %g", f[0], f[1]);
    hr_probe_destroy(p);
    CHECK(hr_probe_from_coef(NULL, 3, 0, NULL) == NULL);
    CHECK(hr_probe_from_coef(w, 0, 0, NULL) == NULL);
}

static void test_d384_unweighted_agrees_with_cpu(void)
{
    dataset s = make_data(20011, 384, 3.0, 0.0, 0);
    compare("d 384, default budget", &s, NULL, 0, 1);
    free_data(&s);
}

static void test_d384_weighted_unbalanced_agrees_with_cpu(void)
{
    dataset s = make_data(20011, 384, 3.0, -3.0, 1);
    compare("d 384, weighted, unbalanced", &s, NULL, 0, 1);
    free_data(&s);
}

static void test_small_d_agrees_with_cpu(void)
{
    dataset s = make_data(50021, 7, 2.0, -4.0, 0);
    compare("d 7, unbalanced", &s, NULL, 0, 1);
    free_data(&s);
    dataset t = make_data(50021, 7, 2.0, 1.0, 1);
    compare("d 7, weighted", &t, NULL, 0, 1);
    free_data(&t);
}

static void test_several_chunks_and_streaming_agree_with_cpu(void)
{
    dataset s = make_data(20011, 384, 3.0, -1.0, 1);
    /* 48 MiB: X (30.7 MB) resident, blocks of 3,926 rows: 6 chunks, the last
     * of 381 rows (see host/backends/cuda/probe_cuda.h, "Memory") */
    compare("d 384, resident in chunks", &s, NULL, (size_t)48 << 20, 1);
    /* 8 MiB: X streamed from the host in chunks of about 500 rows */
    compare("d 384, streamed", &s, NULL, (size_t)8 << 20, 0);
    free_data(&s);
}

static void test_other_options_agree_with_cpu(void)
{
    dataset s = make_data(5003, 384, 3.0, 0.5, 0);
    hr_probe_options o = hr_probe_default_options();
    o.lambda = 0.05; /* weak penalty, more features than separate the classes well */
    o.tol = 1e-10;
    compare("d 384, lambda 0.05, tol 1e-10", &s, &o, 0, 1);
    o.lambda = 100;
    o.tol = 1e-8;
    compare("d 384, lambda 100", &s, &o, 0, 1);
    free_data(&s);
}

static void test_tiny_sizes_agree_with_cpu(void)
{
    dataset s = make_data(3, 384, 3.0, 0.0, 0); /* fewer rows than features */
    s.y[0] = 1, s.y[1] = 0, s.n1 = (size_t)s.y[0] + s.y[1] + s.y[2];
    compare("n 3, d 384", &s, NULL, 0, 1);
    free_data(&s);
    dataset t = make_data(2, 1, 1.0, 0.0, 0);
    t.y[0] = 1, t.y[1] = 0, t.n1 = 1;
    compare("n 2, d 1", &t, NULL, 0, 1);
    free_data(&t);
}

/* The device option (hyporank/probe.h): hr_probe_fit and cross-validation
 * with HR_DEVICE_CUDA, and AUTO on a fit above HR_PROBE_GPU_MIN_WORK, give
 * what the CPU gives, to the coefficient tolerance above carried through a
 * decision value: |df| <= 2 tol max(1, max |theta|) (1 + sum |x|). */
static void test_device_option_agrees_with_cpu(void)
{
    dataset s = make_data(30011, 384, 0.8, 0.1, 1);
    const size_t n = s.n;
    const int d = s.d, k = 5;
    double *cpu = malloc(n * sizeof *cpu), *gpu = malloc(n * sizeof *gpu);
    char err[512] = "";
    hr_probe_options o = hr_probe_default_options();
    hr_probe *ref = NULL;
    CHECKF(hr_probe_fit(s.X, n, d, s.y, s.w, &o, &ref, err, sizeof err) == HR_OK, "%s", err);
    double big = 1.0;
    for (int c = 0; ref && c < d; c++) big = fmax(big, fabs(hr_probe_coef(ref)[c]));
    if (ref) big = fmax(big, fabs(hr_probe_intercept(ref)));
    hr_probe_destroy(ref);
    CHECKF(hr_probe_cross_validate(s.X, n, d, s.y, s.w, &o, k, 3, cpu, NULL, err, sizeof err) ==
               HR_OK, "%s", err);
    const hr_device devices[2] = {HR_DEVICE_CUDA, HR_DEVICE_AUTO};
    for (int v = 0; v < 2; v++) {
        o.device = devices[v];
        CHECKF(hr_probe_cross_validate(s.X, n, d, s.y, s.w, &o, k, 3, gpu, NULL, err,
                                       sizeof err) == HR_OK,
               "%s: %s", hr_device_str(o.device), err);
        double worst = 0.0;
        for (size_t i = 0; i < n; i++) {
            double l1 = 1.0;
            for (int c = 0; c < d; c++) l1 += fabs(s.X[i * d + c]);
            const double tol = 2 * o.tol * big * l1;
            worst = fmax(worst, fabs(gpu[i] - cpu[i]) / tol);
            CHECKF(fabs(gpu[i] - cpu[i]) <= tol, "%s: row %zu: %.12g vs %.12g",
                   hr_device_str(o.device), i, gpu[i], cpu[i]);
        }
        fprintf(stderr, "  cross-validation on %s: largest |difference| / tolerance %.3g\n",
                hr_device_str(o.device), worst);
    }
    free(cpu), free(gpu);
    free_data(&s);
}

static void test_one_handle_fits_twice(void)
{
    dataset s = make_data(4099, 64, 3.0, 0.0, 0);
    char err[512] = "";
    hr_probe_cuda_data *g = NULL;
    hr_probe *a = NULL, *b = NULL, *c = NULL;
    hr_probe_options o = hr_probe_default_options();
    CHECKF(hr_probe_cuda_data_create(s.X, s.n, s.d, s.y, NULL, 0, &g, err, sizeof err) == HR_OK,
           "%s", err);
    if (!g) goto done;
    o.lambda = 10;
    CHECKF(hr_probe_cuda_data_fit(g, NULL, &a, err, sizeof err) == HR_OK, "%s", err);
    CHECKF(hr_probe_cuda_data_fit(g, &o, &b, err, sizeof err) == HR_OK, "%s", err);
    CHECKF(hr_probe_cuda_data_fit(g, NULL, &c, err, sizeof err) == HR_OK, "%s", err);
    if (!a || !b || !c) goto done;
    /* the same fit again gives the same bits (fixed-order reductions) */
    CHECK(memcmp(hr_probe_coef(a), hr_probe_coef(c), (size_t)s.d * sizeof(double)) == 0);
    CHECK(hr_probe_intercept(a) == hr_probe_intercept(c));
    /* a stronger penalty gives smaller coefficients */
    double na = 0, nb = 0;
    for (int k = 0; k < s.d; k++)
        na += hr_probe_coef(a)[k] * hr_probe_coef(a)[k], nb += hr_probe_coef(b)[k] * hr_probe_coef(b)[k];
    CHECKF(nb < na, "|w|^2 lambda 10: %g, lambda 1: %g", nb, na);
    /* the one-shot entry point (same default budget, so the same plan) */
    hr_probe *one = NULL;
    CHECKF(hr_probe_fit_cuda(s.X, s.n, s.d, s.y, NULL, NULL, &one, err, sizeof err) == HR_OK, "%s",
           err);
    if (one) {
        CHECK(memcmp(hr_probe_coef(a), hr_probe_coef(one), (size_t)s.d * sizeof(double)) == 0);
        CHECK(hr_probe_intercept(a) == hr_probe_intercept(one));
        CHECK(hr_probe_get_info(one).iterations == hr_probe_get_info(a).iterations);
    }
    hr_probe_destroy(one);
    o.max_iter = 0;
    hr_probe *bad = NULL;
    CHECK(hr_probe_cuda_data_fit(g, &o, &bad, err, sizeof err) == HR_ERR_INPUT && bad == NULL);
done:
    hr_probe_destroy(a);
    hr_probe_destroy(b);
    hr_probe_destroy(c);
    hr_probe_cuda_data_destroy(g);
    free_data(&s);
}

/* Both fits on the given input: same status, same message, no probe. */
static void same_error(const char *what, const float *X, size_t n, int d, const uint8_t *y,
                       const double *w, const hr_probe_options *o, int null_out)
{
    char ec[512] = "", eg[512] = "";
    hr_probe *pc = NULL, *pg = NULL;
    hr_status sc = hr_probe_fit(X, n, d, y, w, o, null_out ? NULL : &pc, ec, sizeof ec);
    hr_status sg = hr_probe_fit_cuda(X, n, d, y, w, o, null_out ? NULL : &pg, eg, sizeof eg);
    CHECKF(sc != HR_OK, "%s: the CPU accepted it", what);
    CHECKF(sg == sc, "%s: status gpu %d (%s) cpu %d (%s)", what, (int)sg, eg, (int)sc, ec);
    CHECKF(strcmp(eg, ec) == 0, "%s: message gpu '%s' cpu '%s'", what, eg, ec);
    CHECK(pc == NULL && pg == NULL);
    hr_probe_destroy(pc);
    hr_probe_destroy(pg);
}

static void test_bad_input_gives_the_cpus_errors(void)
{
    enum { N = 10, D = 4 };
    float X[N * D];
    uint8_t y[N];
    double w[N];
    for (int i = 0; i < N * D; i++) X[i] = (float)(rng_normal() * 0.5);
    for (int i = 0; i < N; i++) y[i] = (uint8_t)(i % 2), w[i] = 1.0 + i;
    hr_probe_options o = hr_probe_default_options();

    same_error("X NULL", NULL, N, D, y, NULL, NULL, 0);
    same_error("y NULL", X, N, D, NULL, NULL, NULL, 0);
    same_error("no rows", X, 0, D, y, NULL, NULL, 0);
    same_error("no features", X, N, 0, y, NULL, NULL, 0);
    same_error("no output pointer", X, N, D, y, NULL, NULL, 1);
    y[3] = 2;
    same_error("label 2", X, N, D, y, NULL, NULL, 0);
    X[2 * D + 1] = INFINITY; /* an earlier row's bad feature comes first */
    same_error("inf feature before a bad label", X, N, D, y, NULL, NULL, 0);
    X[2 * D + 1] = 0.25f, y[3] = 1;
    X[5 * D + 2] = NAN;
    same_error("NaN feature", X, N, D, y, NULL, NULL, 0);
    same_error("NaN feature, weighted", X, N, D, y, w, NULL, 0);
    w[5] = NAN; /* same row: the weight is reported first */
    same_error("NaN weight and NaN feature in one row", X, N, D, y, w, NULL, 0);
    w[5] = 6.0, X[5 * D + 2] = 0.5f;
    w[1] = -1.0;
    same_error("negative weight", X, N, D, y, w, NULL, 0);
    w[1] = INFINITY;
    same_error("infinite weight", X, N, D, y, w, NULL, 0);
    w[1] = 2.0;
    for (int i = 1; i < N; i += 2) w[i] = 0.0; /* class 1 has no weight */
    same_error("class 1 without weight", X, N, D, y, w, NULL, 0);
    X[8 * D + 3] = -INFINITY; /* ... but a bad feature is reported first */
    same_error("class 1 without weight and an inf feature", X, N, D, y, w, NULL, 0);
    X[8 * D + 3] = 0.0f;
    for (int i = 0; i < N; i++) w[i] = 1.0;
    uint8_t zeros[N] = {0};
    same_error("one class only", X, N, D, zeros, NULL, NULL, 0);
    o.lambda = 0;
    same_error("lambda 0", X, N, D, y, NULL, &o, 0);
    same_error("lambda 0 and one class", X, N, D, zeros, NULL, &o, 0); /* options first */
    o.lambda = INFINITY;
    same_error("lambda inf", X, N, D, y, NULL, &o, 0);
    o.lambda = 1, o.tol = 0;
    same_error("tol 0", X, N, D, y, NULL, &o, 0);
    o.tol = NAN;
    same_error("tol NaN", X, N, D, y, NULL, &o, 0);
    o.tol = 1e-8, o.max_iter = 0;
    same_error("max_iter 0", X, N, D, y, NULL, &o, 0);
}

int main(void)
{
    rng_state = 20240611; /* the data these tests were written with */
    RUN(test_probe_from_coef_reads_back);
    if (test_failures_) return test_summary();
    const char *why = NULL;
    if (hr_cuda_device_count(&why) == 0) return test_skip(why ? why : "no CUDA device");
    RUN(test_d384_unweighted_agrees_with_cpu);
    RUN(test_d384_weighted_unbalanced_agrees_with_cpu);
    RUN(test_small_d_agrees_with_cpu);
    RUN(test_several_chunks_and_streaming_agree_with_cpu);
    RUN(test_other_options_agree_with_cpu);
    RUN(test_tiny_sizes_agree_with_cpu);
    RUN(test_one_handle_fits_twice);
    RUN(test_device_option_agrees_with_cpu);
    RUN(test_bad_input_gives_the_cpus_errors);
    return test_summary();
}
