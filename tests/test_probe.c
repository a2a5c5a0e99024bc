/*
 * tests/test_probe.c: the linear probe (hyporank/probe.h) against
 * scikit-learn on tests/fixtures/probe-cases.json (written by
 * tests/fixtures/gen-probe-fixture.py), and its properties: sample weights,
 * a planted direction recovered, held-out AUROC near 0.5 on shuffled labels,
 * stratified seeded folds, held-out values from probes that did not see the
 * row, determinism, bad input refused.
 *
 * With HR_PROBE_BENCH=1 in the environment it also times a fit on n = 100,000
 * rows of d = 384 (MiniLM's width) and prints the time.
 */
#include "hyporank/probe.h"
#include "scoring/probe_internal.h"
#include "hyporank/stats.h"
#include "test_util.h"
#include "core/random.h"

#include <cjson/cJSON.h>

#include <math.h>
#include <stdint.h>
#include <time.h>

/* ---- helpers ------------------------------------------------------------------------------ */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A small deterministic generator (splitmix64) for synthetic problems. */
static uint64_t rng_state;

static uint64_t rnd(void) { return hr_splitmix64(&rng_state); }

static double uniform(void) /* (0, 1) */
{
    return ((double)(rnd() >> 11) + 0.5) / 9007199254740992.0;
}

static double gauss(void) /* Box-Muller */
{
    return sqrt(-2.0 * log(uniform())) * cos(6.283185307179586 * uniform());
}

/* X: (n, d) standard normal; w_true: (d) unit vector; y ~ Bernoulli(sigmoid(scale w.x)). */
static void planted(size_t n, int d, double scale, uint64_t seed, float *X, double *w_true,
                    uint8_t *y)
{
    rng_state = seed;
    double norm = 0;
    for (int k = 0; k < d; k++) {
        w_true[k] = gauss();
        norm += w_true[k] * w_true[k];
    }
    for (int k = 0; k < d; k++)
        w_true[k] /= sqrt(norm);
    for (size_t i = 0; i < n; i++) {
        double m = 0;
        for (int k = 0; k < d; k++) {
            X[i * d + k] = (float)gauss();
            m += w_true[k] * X[i * d + k];
        }
        y[i] = uniform() < 1.0 / (1.0 + exp(-scale * m)) ? 1 : 0;
    }
}

static cJSON *load_fixture(void)
{
    const char *path = test_fixture("probe-cases.json");
    char *buf = test_read_file(path);
    if (!buf) fprintf(stderr, "cannot open %s\n", path);
    cJSON *j = buf ? cJSON_Parse(buf) : NULL;
    free(buf);
    return j;
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* One fixture problem, decoded. */
typedef struct problem {
    size_t n;
    int d;
    float *X;     /* (n, d) row-major */
    uint8_t *y;   /* (n) */
    double *w;    /* (n) weights, or NULL */
} problem;

static problem load_problem(const cJSON *ds)
{
    problem p = {0, 0, NULL, NULL, NULL};
    p.n = (size_t)num(ds, "n");
    p.d = (int)num(ds, "d");
    const cJSON *X = cJSON_GetObjectItemCaseSensitive(ds, "X");
    const cJSON *y = cJSON_GetObjectItemCaseSensitive(ds, "y");
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(ds, "weights");
    p.X = malloc(p.n * (size_t)p.d * sizeof *p.X);
    p.y = malloc(p.n);
    size_t i = 0;
    const cJSON *e;
    /* strtod then (float): the fixture writes each value as the shortest
     * decimal that reads back as the same float32 */
    cJSON_ArrayForEach(e, X) p.X[i++] = (float)e->valuedouble;
    CHECK(i == p.n * (size_t)p.d);
    i = 0;
    cJSON_ArrayForEach(e, y) p.y[i++] = (uint8_t)e->valueint;
    CHECK(i == p.n);
    if (cJSON_IsArray(w)) {
        p.w = malloc(p.n * sizeof *p.w);
        i = 0;
        cJSON_ArrayForEach(e, w) p.w[i++] = e->valuedouble;
        CHECK(i == p.n);
    }
    return p;
}

static void free_problem(problem *p)
{
    free(p->X);
    free(p->y);
    free(p->w);
}

/* ---- against scikit-learn ----------------------------------------------------------------- */

/*
 * Tolerance. Both answers approximate the same unique minimiser theta* (the
 * objectives are the same up to the factor C, see probe.h). sklearn's answer
 * is within newton_step_inf of theta* to first order: the generator measured
 * max |H^-1 g| at it, in float64, and it is at most 5.4e-12 over the cases.
 * Ours stops after a full Newton step no larger than tol = 1e-10 relative
 * here, which leaves an error of the order of that step squared (Newton's
 * quadratic convergence), far below rounding. Rounding: theta* is fixed by
 * g = 0 to about eps * cond(H) relative, eps = 1.1e-16 and cond(H) at most
 * about 1e5 on these problems (the correlated case), so 1e-11. Hence
 *     |theta - theta_sklearn| <= 2 * newton_step_inf + 1e-9 * max(1, |theta|max)
 * with a margin of 100 on the rounding term. The decision values are sums of
 * d + 1 terms x_k theta_k, |x_k| <= 6: their tolerance is the coefficient
 * tolerance times (1 + sum_k |x_k|), plus rounding.
 */
static void test_fits_match_scikit_learn_on_every_fixture_case(void)
{
    cJSON *j = load_fixture();
    CHECK(j != NULL);
    if (!j)
        return;
    const cJSON *datasets = cJSON_GetObjectItemCaseSensitive(j, "datasets");
    const cJSON *cases = cJSON_GetObjectItemCaseSensitive(j, "cases");
    int n_cases = 0;
    double worst_rel = 0, worst_dec = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cases)
    {
        const char *name = cJSON_GetObjectItemCaseSensitive(c, "name")->valuestring;
        problem p = load_problem(cJSON_GetArrayItem(datasets, (int)num(c, "data")));
        double C = num(c, "C");
        hr_probe_options o = hr_probe_default_options();
        o.lambda = 1.0 / C;
        o.tol = 1e-10;
        char err[256] = "";
        hr_probe *pr = NULL;
        hr_status s = hr_probe_fit(p.X, p.n, p.d, p.y, p.w, &o, &pr, err, sizeof err);
        CHECKF(s == HR_OK, "%s: %s", name, err);
        if (s != HR_OK) {
            free_problem(&p);
            continue;
        }
        hr_probe_info info = hr_probe_get_info(pr);
        CHECKF(info.converged, "%s: %d iterations", name, info.iterations);
        const double *w = hr_probe_coef(pr);
        const cJSON *coef = cJSON_GetObjectItemCaseSensitive(c, "coef");
        double scale = fabs(num(c, "intercept"));
        for (int k = 0; k < p.d; k++)
            scale = fmax(scale, fabs(cJSON_GetArrayItem(coef, k)->valuedouble));
        scale = fmax(1.0, scale);
        double tol = 2 * num(c, "newton_step_inf") + 1e-9 * scale;
        double maxdiff = fabs(hr_probe_intercept(pr) - num(c, "intercept"));
        for (int k = 0; k < p.d; k++)
            maxdiff = fmax(maxdiff, fabs(w[k] - cJSON_GetArrayItem(coef, k)->valuedouble));
        CHECKF(maxdiff <= tol, "%s: coefficients differ by %.3g (tolerance %.3g)", name, maxdiff,
               tol);
        worst_rel = fmax(worst_rel, maxdiff / scale);

        double *dv = malloc(p.n * sizeof *dv);
        CHECK(hr_probe_decision(pr, p.X, p.n, dv, err, sizeof err) == HR_OK);
        const cJSON *dec = cJSON_GetObjectItemCaseSensitive(c, "decision");
        double dmax = 0;
        int bad = 0;
        for (size_t i = 0; i < p.n; i++) {
            double l1 = 1;
            for (int k = 0; k < p.d; k++)
                l1 += fabs(p.X[i * p.d + k]);
            double want = cJSON_GetArrayItem(dec, (int)i)->valuedouble;
            double diff = fabs(dv[i] - want);
            dmax = fmax(dmax, diff);
            if (diff > tol * l1 + 1e-12 * (1 + fabs(want)))
                bad++;
        }
        CHECKF(bad == 0, "%s: %d decision values off (largest difference %.3g)", name, bad, dmax);
        worst_dec = fmax(worst_dec, dmax);
        fprintf(stderr, "    %-42s %2d iterations, coef diff %.1e (relative %.1e), decision %.1e\n",
                name, info.iterations, maxdiff, maxdiff / scale, dmax);
        free(dv);
        hr_probe_destroy(pr);
        free_problem(&p);
        n_cases++;
    }
    CHECKF(n_cases >= 8, "only %d cases", n_cases);
    fprintf(stderr, "    worst: coefficients %.1e relative, decision values %.1e absolute\n",
            worst_rel, worst_dec);
    cJSON_Delete(j);
}

/* ---- weights ------------------------------------------------------------------------------ */

/* Weight 2 on a row is the row twice; weight 0 is the row left out. */
static void test_weights_count_rows(void)
{
    const size_t n = 120;
    const int d = 5;
    float X[120 * 5];
    double wt[5];
    uint8_t y[120];
    planted(n, d, 2.0, 7, X, wt, y);
    /* weighted: row i has weight i % 3 (0, 1 or 2) */
    double w[120];
    for (size_t i = 0; i < n; i++)
        w[i] = (double)(i % 3);
    /* expanded: rows with weight 2 twice, weight 0 dropped */
    float Xe[240 * 5];
    uint8_t ye[240];
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t r = 0; r < i % 3; r++) {
            memcpy(Xe + m * d, X + i * d, d * sizeof *X);
            ye[m++] = y[i];
        }
    hr_probe *a = NULL, *b = NULL;
    char err[256] = "";
    CHECKF(hr_probe_fit(X, n, d, y, w, NULL, &a, err, sizeof err) == HR_OK, "%s", err);
    CHECKF(hr_probe_fit(Xe, m, d, ye, NULL, NULL, &b, err, sizeof err) == HR_OK, "%s", err);
    if (!a || !b)
        goto out;
    /* The same objective summed in another order: both fits reach the same
     * minimiser to rounding (1e-16 times a condition number of order 10). */
    double diff = fabs(hr_probe_intercept(a) - hr_probe_intercept(b));
    for (int k = 0; k < d; k++)
        diff = fmax(diff, fabs(hr_probe_coef(a)[k] - hr_probe_coef(b)[k]));
    CHECKF(diff < 1e-12, "weighted and expanded fits differ by %.3g", diff);
out:
    hr_probe_destroy(a);
    hr_probe_destroy(b);
}

/* ---- planted signal, shuffled labels ------------------------------------------------------ */

static double cosine(const double *a, const double *b, int d)
{
    double ab = 0, aa = 0, bb = 0;
    for (int k = 0; k < d; k++) {
        ab += a[k] * b[k];
        aa += a[k] * a[k];
        bb += b[k] * b[k];
    }
    return ab / sqrt(aa * bb);
}

static void test_a_planted_direction_is_recovered(void)
{
    const size_t n = 2000;
    const int d = 32;
    float *X = malloc(n * d * sizeof *X);
    double wt[32];
    uint8_t *y = malloc(n);
    planted(n, d, 3.0, 11, X, wt, y);
    hr_probe *pr = NULL;
    char err[256] = "";
    CHECKF(hr_probe_fit(X, n, d, y, NULL, NULL, &pr, err, sizeof err) == HR_OK, "%s", err);
    if (pr) {
        /* With n / d = 62 rows per coefficient the estimate's angular error is
         * about sqrt(d / n) / (signal) ~ 0.1 rad: cosine ~ 0.99. */
        double cs = cosine(hr_probe_coef(pr), wt, d);
        CHECKF(cs > 0.95, "cosine with the planted direction %.4f", cs);
        fprintf(stderr, "    cosine with the planted direction: %.4f\n", cs);
    }
    hr_probe_destroy(pr);

    /* and cross-validation sees the signal: the Bayes AUROC here is about 0.9 */
    double *dv = malloc(n * sizeof *dv);
    hr_probe_cv_result cv;
    CHECKF(hr_probe_cross_validate(X, n, d, y, NULL, NULL, 5, 1, dv, &cv, err, sizeof err) ==
               HR_OK,
           "%s", err);
    CHECKF(cv.auroc > 0.85, "held-out AUROC %.4f on a planted direction", cv.auroc);
    CHECK(cv.p_value < 1e-50);
    CHECK(cv.all_converged);
    CHECK(cv.folds == 5);
    fprintf(stderr, "    planted: held-out AUROC %.4f, %d-%d iterations a fold\n", cv.auroc,
            cv.min_iterations, cv.max_iterations);
    free(dv);
    free(X);
    free(y);
}

static void test_shuffled_labels_give_a_heldout_auroc_near_one_half(void)
{
    const size_t n = 1000;
    const int d = 16;
    float *X = malloc(n * d * sizeof *X);
    double wt[16];
    uint8_t *y = malloc(n);
    planted(n, d, 3.0, 12, X, wt, y);
    rng_state = 99; /* Fisher-Yates on the labels: the signal is gone */
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)(rnd() % (i + 1));
        uint8_t t = y[i];
        y[i] = y[j];
        y[j] = t;
    }
    double *dv = malloc(n * sizeof *dv);
    hr_probe_cv_result cv;
    char err[256] = "";
    CHECKF(hr_probe_cross_validate(X, n, d, y, NULL, NULL, 5, 3, dv, &cv, err, sizeof err) ==
               HR_OK,
           "%s", err);
    /* Under no signal the AUROC's standard deviation is
     * sqrt((n + 1) / (12 n_a n_b)) ~ 0.018 for 500 + 500: 0.07 is 4 of them
     * (cross-validated AUROC also leans a little below 0.5 under the null). */
    CHECKF(fabs(cv.auroc - 0.5) < 0.07, "held-out AUROC %.4f on shuffled labels", cv.auroc);
    fprintf(stderr, "    shuffled labels: held-out AUROC %.4f (p = %.3f)\n", cv.auroc, cv.p_value);
    free(dv);
    free(X);
    free(y);
}

/* ---- folds and held-out values ------------------------------------------------------------ */

static void test_folds_are_stratified_balanced_and_seeded(void)
{
    const size_t n = 103;
    uint8_t y[103];
    for (size_t i = 0; i < n; i++)
        y[i] = i % 4 == 0; /* 26 of class 1, 77 of class 0 */
    int f1[103], f2[103], f3[103];
    char err[256] = "";
    CHECK(hr_probe_folds(y, n, 5, 42, f1, err, sizeof err) == HR_OK);
    CHECK(hr_probe_folds(y, n, 5, 42, f2, err, sizeof err) == HR_OK);
    CHECK(hr_probe_folds(y, n, 5, 43, f3, err, sizeof err) == HR_OK);
    CHECK(memcmp(f1, f2, sizeof f1) == 0);
    CHECK(memcmp(f1, f3, sizeof f1) != 0);
    size_t cnt[5][2];
    memset(cnt, 0, sizeof cnt);
    for (size_t i = 0; i < n; i++) {
        CHECK(f1[i] >= 0 && f1[i] < 5);
        cnt[f1[i]][y[i]]++;
    }
    for (int f = 0; f < 5; f++) {
        CHECKF(cnt[f][1] == 5 || cnt[f][1] == 6, "fold %d: %zu of class 1", f, cnt[f][1]);
        CHECKF(cnt[f][0] == 15 || cnt[f][0] == 16, "fold %d: %zu of class 0", f, cnt[f][0]);
        size_t tot = cnt[f][0] + cnt[f][1];
        CHECKF(tot == 20 || tot == 21, "fold %d: %zu rows", f, tot);
    }
    /* the fold of a row does not follow its position: not 0, 1, 2, ... */
    int in_order = 1;
    for (size_t i = 0; i < n; i++)
        if (f1[i] != (int)(i % 5))
            in_order = 0;
    CHECK(!in_order);
    CHECK(hr_probe_folds(y, n, 27, 1, f1, err, sizeof err) == HR_ERR_INPUT); /* 26 of class 1 */
    CHECK(hr_probe_folds(y, n, 1, 1, f1, err, sizeof err) == HR_ERR_INPUT);
    CHECK(hr_probe_folds(y, n, 26, 1, f1, err, sizeof err) == HR_OK);
}

static void test_heldout_values_come_from_probes_that_did_not_see_the_row(void)
{
    const size_t n = 300;
    const int d = 8, k = 4;
    float X[300 * 8];
    double wt[8];
    uint8_t y[300];
    planted(n, d, 1.5, 21, X, wt, y);
    double dv[300];
    char err[256] = "";
    hr_probe_cv_result cv;
    CHECKF(hr_probe_cross_validate(X, n, d, y, NULL, NULL, k, 5, dv, &cv, err, sizeof err) ==
               HR_OK,
           "%s", err);
    int fold[300];
    CHECK(hr_probe_folds(y, n, k, 5, fold, err, sizeof err) == HR_OK);
    for (int f = 0; f < k; f++) {
        /* refit on a copy of the other folds' rows, in the same order */
        float Xt[300 * 8];
        uint8_t yt[300];
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (fold[i] != f) {
                memcpy(Xt + m * d, X + i * d, d * sizeof *X);
                yt[m++] = y[i];
            }
        hr_probe *pr = NULL;
        CHECK(hr_probe_fit(Xt, m, d, yt, NULL, NULL, &pr, err, sizeof err) == HR_OK);
        if (!pr)
            continue;
        double worst = 0;
        for (size_t i = 0; i < n; i++) {
            if (fold[i] != f)
                continue;
            double v;
            hr_probe_decision(pr, X + i * d, 1, &v, err, sizeof err);
            worst = fmax(worst, fabs(v - dv[i]));
        }
        /* the same rows in the same order: the same arithmetic */
        CHECKF(worst == 0, "fold %d: held-out values differ by %.3g", f, worst);
        hr_probe_destroy(pr);
    }
    /* the AUROC is that of the held-out values */
    float sc[300];
    size_t na = 0, m = 0;
    for (size_t i = 0; i < n; i++)
        if (y[i]) {
            sc[m++] = (float)dv[i];
            na++;
        }
    for (size_t i = 0; i < n; i++)
        if (!y[i])
            sc[m++] = (float)dv[i];
    hr_mw_result mw;
    CHECK(hr_mw_sorted(sc, na, n - na, &mw, err, sizeof err) == HR_OK);
    CHECK(mw.auroc == cv.auroc);
}

static void test_fits_and_cross_validation_are_deterministic(void)
{
    const size_t n = 500;
    const int d = 24;
    float *X = malloc(n * d * sizeof *X);
    double wt[24];
    uint8_t *y = malloc(n);
    planted(n, d, 1.0, 31, X, wt, y);
    char err[256] = "";
    hr_probe *a = NULL, *b = NULL;
    CHECK(hr_probe_fit(X, n, d, y, NULL, NULL, &a, err, sizeof err) == HR_OK);
    CHECK(hr_probe_fit(X, n, d, y, NULL, NULL, &b, err, sizeof err) == HR_OK);
    if (a && b) {
        CHECK(memcmp(hr_probe_coef(a), hr_probe_coef(b), d * sizeof(double)) == 0);
        CHECK(hr_probe_intercept(a) == hr_probe_intercept(b));
    }
    hr_probe_destroy(a);
    hr_probe_destroy(b);
    double *d1 = malloc(n * sizeof *d1), *d2 = malloc(n * sizeof *d2);
    CHECK(hr_probe_cross_validate(X, n, d, y, NULL, NULL, 5, 8, d1, NULL, err, sizeof err) ==
          HR_OK);
    CHECK(hr_probe_cross_validate(X, n, d, y, NULL, NULL, 5, 8, d2, NULL, err, sizeof err) ==
          HR_OK);
    CHECK(memcmp(d1, d2, n * sizeof *d1) == 0);
    free(d1);
    free(d2);
    free(X);
    free(y);
}

/* The largest difference (relative to max(1, |value|)) between the held-out
 * values cv of k-fold cross-validation with seed and those of fits on each
 * fold's training rows gathered into contiguous copies
 * (hr_probe_fit_rows_with, the GPU's way). */
static double gathered_fold_gap(const float *X, size_t n, int d, const uint8_t *y,
                                const double *w, const hr_probe_options *o, int k, uint64_t seed,
                                const double *cv)
{
    int *fold = malloc(n * sizeof *fold);
    size_t *train = malloc(n * sizeof *train);
    char err[256] = "";
    double worst = 0.0;
    CHECKF(hr_probe_folds(y, n, k, seed, fold, err, sizeof err) == HR_OK, "%s", err);
    for (int f = 0; f < k; f++) {
        size_t ntr = 0;
        for (size_t i = 0; i < n; i++)
            if (fold[i] != f) train[ntr++] = i;
        hr_probe *p = NULL;
        CHECKF(hr_probe_fit_rows_with(X, d, train, ntr, y, w, o, hr_probe_fit, &p, err,
                                      sizeof err) == HR_OK,
               "fold %d: %s", f, err);
        for (size_t i = 0; p && i < n; i++) {
            if (fold[i] != f) continue;
            double v;
            CHECK(hr_probe_decision(p, X + i * d, 1, &v, err, sizeof err) == HR_OK);
            worst = fmax(worst, fabs(v - cv[i]) / fmax(1.0, fabs(cv[i])));
        }
        hr_probe_destroy(p);
    }
    free(fold), free(train);
    return worst;
}

/* The GPU fit is given each fold's training rows gathered into contiguous
 * copies (hr_probe_fit_rows_with, host/scoring/probe.c). With the CPU fit behind the
 * same gathering, every held-out value must be what cross-validation gives
 * (same rows, same order, same arithmetic). And the device option: without
 * a GPU, auto is the CPU to the bit and cuda says why. */
static void test_gathered_fold_fits_match_cross_validation(void)
{
    const size_t n = 600;
    const int d = 16, k = 5;
    float *X = malloc(n * d * sizeof *X);
    double wt[16], *w = malloc(n * sizeof *w), *cv = malloc(n * sizeof *cv);
    uint8_t *y = malloc(n);
    planted(n, d, 1.5, 77, X, wt, y);
    for (size_t i = 0; i < n; i++) w[i] = 0.5 + (double)(i % 7) / 4.0;
    char err[256] = "";
    hr_probe_options o = hr_probe_default_options();
    CHECKF(hr_probe_cross_validate(X, n, d, y, w, &o, k, 8, cv, NULL, err, sizeof err) == HR_OK,
           "%s", err);
    const double worst = gathered_fold_gap(X, n, d, y, w, &o, k, 8, cv);
    CHECKF(worst <= 1e-12, "gathered fits differ from cross-validation by %.3g", worst);
    if (!hr_device_usable(HR_DEVICE_CUDA, NULL)) {
        hr_probe *a = NULL, *b = NULL;
        o.device = HR_DEVICE_AUTO;
        CHECK(hr_probe_fit(X, n, d, y, w, &o, &a, err, sizeof err) == HR_OK);
        o.device = HR_DEVICE_CPU;
        CHECK(hr_probe_fit(X, n, d, y, w, &o, &b, err, sizeof err) == HR_OK);
        if (a && b) CHECK(memcmp(hr_probe_coef(a), hr_probe_coef(b), d * sizeof(double)) == 0);
        hr_probe_destroy(a), hr_probe_destroy(b);
        o.device = HR_DEVICE_CUDA;
        hr_status st = hr_probe_fit(X, n, d, y, w, &o, &a, err, sizeof err);
        CHECKF(st == HR_ERR_NO_DEVICE || st == HR_ERR_UNSUPPORTED, "%d: %s", (int)st, err);
        st = hr_probe_cross_validate(X, n, d, y, w, &o, k, 8, cv, NULL, err, sizeof err);
        CHECKF(st == HR_ERR_NO_DEVICE || st == HR_ERR_UNSUPPORTED, "%d: %s", (int)st, err);
    }
    free(X), free(w), free(cv), free(y);
}

/* A very weak penalty on separable data: the weights grow large, and the line
 * search keeps every step a descent, so Newton still converges. */
static void test_separable_data_with_a_tiny_penalty_converges(void)
{
    const size_t n = 200;
    const int d = 4;
    float X[200 * 4];
    double wt[4];
    uint8_t y[200];
    planted(n, d, 1.0, 41, X, wt, y);
    for (size_t i = 0; i < n; i++) {
        double m = 0;
        for (int k = 0; k < d; k++)
            m += wt[k] * X[i * d + k];
        y[i] = m > 0;
    }
    hr_probe_options o = hr_probe_default_options();
    o.lambda = 1e-4; /* C = 10,000 */
    hr_probe *pr = NULL;
    char err[256] = "";
    CHECKF(hr_probe_fit(X, n, d, y, NULL, &o, &pr, err, sizeof err) == HR_OK, "%s", err);
    if (!pr)
        return;
    hr_probe_info info = hr_probe_get_info(pr);
    CHECKF(info.converged, "%d iterations, last step %.3g", info.iterations, info.last_step);
    CHECK(cosine(hr_probe_coef(pr), wt, d) > 0.99);
    double dv[200];
    hr_probe_decision(pr, X, n, dv, err, sizeof err);
    int wrong = 0;
    for (size_t i = 0; i < n; i++)
        wrong += (dv[i] > 0) != (y[i] == 1);
    CHECKF(wrong == 0, "%d training rows misclassified on separable data", wrong);
    fprintf(stderr, "    separable, lambda 1e-4: %d iterations, |w| ~ %.1f\n", info.iterations,
            fabs(hr_probe_coef(pr)[0]));
    hr_probe_destroy(pr);
}

/* ---- L-BFGS ------------------------------------------------------------------------------- */

/* Rows like a sentence encoder's (bench/bench_probe.c's "embedding" shape):
 * a shared component plus noise whose spread falls with the feature's
 * index, unit length; labels from a planted direction. Ill-conditioned as
 * real embeddings are, which plain L-BFGS needs hundreds of steps for. */
static void embedding_like(size_t n, int d, uint64_t seed, float *X, uint8_t *y)
{
    rng_state = seed;
    double *mu = malloc(d * sizeof *mu), *w = malloc(d * sizeof *w);
    for (int k = 0; k < d; k++) mu[k] = 0.35 * gauss(), w[k] = gauss();
    for (size_t i = 0; i < n; i++) {
        double ss = 0, dot = 0;
        for (int k = 0; k < d; k++) {
            double v = mu[k] + gauss() / sqrt(k + 1.0);
            X[i * d + k] = (float)v, ss += v * v;
        }
        for (int k = 0; k < d; k++) X[i * d + k] = (float)(X[i * d + k] / sqrt(ss));
        for (int k = 0; k < d; k++) dot += X[i * d + k] * w[k];
        y[i] = uniform() < 1.0 / (1.0 + exp(-8.0 * dot)) ? 1 : 0;
    }
    free(mu), free(w);
}

/* The largest difference of two fits' coefficients (intercept included),
 * relative to max(1, the largest coefficient of b). */
static double coef_diff(const hr_probe *a, const hr_probe *b)
{
    const int d = hr_probe_dim(b);
    double diff = fabs(hr_probe_intercept(a) - hr_probe_intercept(b));
    double scale = fmax(1.0, fabs(hr_probe_intercept(b)));
    for (int k = 0; k < d; k++) {
        diff = fmax(diff, fabs(hr_probe_coef(a)[k] - hr_probe_coef(b)[k]));
        scale = fmax(scale, fabs(hr_probe_coef(b)[k]));
    }
    return diff / scale;
}

/* L-BFGS stops when the mean loss's gradient is below gtol = 1e-8; the
 * minimiser is then within about gtol / (smallest eigenvalue of the mean
 * loss's Hessian, >= lambda / n) of it: here 1e-8 / 1e-4 = 1e-4 at worst,
 * and far less along the well-determined directions. On the fixture cases
 * (where Newton matches scikit-learn to 1e-12), L-BFGS must converge, land
 * within 1e-4 relative of Newton's coefficients, and give the same
 * objective to 1e-9 relative; decision values, which are what the probe's
 * AUROC reads, within 1e-4 (absolute, plus relative). */
static void test_lbfgs_reaches_newtons_minimiser_on_every_fixture_case(void)
{
    cJSON *j = load_fixture();
    CHECK(j != NULL);
    if (!j) return;
    const cJSON *datasets = cJSON_GetObjectItemCaseSensitive(j, "datasets");
    const cJSON *c;
    int n_cases = 0;
    double worst = 0, worst_obj = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(j, "cases"))
    {
        const char *name = cJSON_GetObjectItemCaseSensitive(c, "name")->valuestring;
        problem p = load_problem(cJSON_GetArrayItem(datasets, (int)num(c, "data")));
        hr_probe_options o = hr_probe_default_options();
        o.lambda = 1.0 / num(c, "C");
        hr_probe *nw = NULL, *lb = NULL;
        char err[256] = "";
        o.solver = HR_PROBE_SOLVER_NEWTON;
        CHECKF(hr_probe_fit(p.X, p.n, p.d, p.y, p.w, &o, &nw, err, sizeof err) == HR_OK, "%s: %s",
               name, err);
        o.solver = HR_PROBE_SOLVER_LBFGS;
        CHECKF(hr_probe_fit(p.X, p.n, p.d, p.y, p.w, &o, &lb, err, sizeof err) == HR_OK, "%s: %s",
               name, err);
        if (nw && lb) {
            const hr_probe_info in = hr_probe_get_info(nw), il = hr_probe_get_info(lb);
            CHECK(in.solver == HR_PROBE_SOLVER_NEWTON && il.solver == HR_PROBE_SOLVER_LBFGS);
            CHECKF(il.converged, "%s: L-BFGS did not converge in %d iterations", name,
                   il.iterations);
            CHECK(il.evaluations >= il.iterations + 1);
            const double diff = coef_diff(lb, nw);
            const double dobj = (il.objective - in.objective) / fabs(in.objective);
            CHECKF(diff <= 1e-4, "%s: coefficients differ by %.3g relative", name, diff);
            CHECKF(dobj >= -1e-12 && dobj <= 1e-9, "%s: objective %.17g against Newton's %.17g",
                   name, il.objective, in.objective);
            double *a = malloc(p.n * sizeof *a), *b = malloc(p.n * sizeof *b), dmax = 0;
            CHECK(hr_probe_decision(nw, p.X, p.n, a, err, sizeof err) == HR_OK);
            CHECK(hr_probe_decision(lb, p.X, p.n, b, err, sizeof err) == HR_OK);
            for (size_t i = 0; i < p.n; i++)
                dmax = fmax(dmax, fabs(a[i] - b[i]) / (1 + fabs(a[i])));
            CHECKF(dmax <= 1e-4, "%s: decision values differ by %.3g", name, dmax);
            fprintf(stderr, "    %-42s L-BFGS %3d iterations (%3d evaluations), coef %.1e, "
                            "objective %.1e, decision %.1e\n",
                    name, il.iterations, il.evaluations, diff, dobj, dmax);
            worst = fmax(worst, diff), worst_obj = fmax(worst_obj, dobj);
            free(a), free(b);
            n_cases++;
        }
        hr_probe_destroy(nw), hr_probe_destroy(lb);
        free_problem(&p);
    }
    CHECKF(n_cases >= 8, "only %d cases", n_cases);
    fprintf(stderr, "    worst: coefficients %.1e relative, objective %.1e relative\n", worst,
            worst_obj);
    cJSON_Delete(j);
}

/* On embedding-shaped rows: the preconditioned L-BFGS of hr_probe_fit
 * reaches Newton's held-out AUROC to 1e-5 in a few dozen passes over X,
 * where L-BFGS without the preconditioner (hr_probe_fit_on, the backend's
 * passes alone) needs several times as many for the same tolerance. Also:
 * weights count rows, the fit is the same to the bit run twice, and its
 * cross-validation folds (index lists) give what the gathered rows give. */
static void test_lbfgs_on_embedding_shaped_rows(void)
{
    const size_t n = 12000, nt = 4000;
    const int d = 64;
    float *X = malloc((n + nt) * d * sizeof *X);
    uint8_t *y = malloc(n + nt);
    embedding_like(n + nt, d, 21, X, y);
    const float *Xt = X + n * d; /* held-out rows */
    const uint8_t *yt = y + n;
    char err[256] = "";
    hr_probe_options o = hr_probe_default_options();
    hr_probe *nw = NULL, *lb = NULL, *again = NULL, *plain = NULL;
    o.solver = HR_PROBE_SOLVER_NEWTON;
    CHECKF(hr_probe_fit(X, n, d, y, NULL, &o, &nw, err, sizeof err) == HR_OK, "%s", err);
    o.solver = HR_PROBE_SOLVER_LBFGS;
    CHECKF(hr_probe_fit(X, n, d, y, NULL, &o, &lb, err, sizeof err) == HR_OK, "%s", err);
    CHECKF(hr_probe_fit(X, n, d, y, NULL, &o, &again, err, sizeof err) == HR_OK, "%s", err);
    const hr_backend *cpu = NULL;
    void *data = NULL;
    CHECK(hr_backend_for(HR_DEVICE_CPU, HR_SERVICE_PROBE, &cpu, err, sizeof err) == HR_OK);
    CHECK(cpu->probe->data_create(X, d, NULL, n, y, NULL, 0, &data, err, sizeof err) == HR_OK);
    CHECKF(hr_probe_fit_on(cpu->probe, data, d, n, &o, &plain, err, sizeof err) == HR_OK, "%s",
           err);
    cpu->probe->data_destroy(data);
    if (!nw || !lb || !again || !plain) goto out;
    const hr_probe_info il = hr_probe_get_info(lb), ip = hr_probe_get_info(plain);
    CHECK(il.converged && ip.converged);
    CHECK(memcmp(hr_probe_coef(lb), hr_probe_coef(again), d * sizeof(double)) == 0);
    CHECK(hr_probe_intercept(lb) == hr_probe_intercept(again));
    /* held-out AUROC of each fit */
    double auc[3];
    const hr_probe *fits[3] = {nw, lb, plain};
    double *dv = malloc(nt * sizeof *dv);
    float *sc = malloc(nt * sizeof *sc);
    for (int f = 0; f < 3; f++) {
        CHECK(hr_probe_decision(fits[f], Xt, nt, dv, err, sizeof err) == HR_OK);
        size_t np = 0;
        for (size_t i = 0; i < nt; i++) if (yt[i]) sc[np++] = (float)dv[i];
        for (size_t i = 0, k = np; i < nt; i++) if (!yt[i]) sc[k++] = (float)dv[i];
        hr_mw_result mw;
        CHECK(hr_mw_sorted(sc, np, nt - np, &mw, err, sizeof err) == HR_OK);
        auc[f] = mw.auroc;
    }
    fprintf(stderr, "    held-out AUROC: Newton %.6f, L-BFGS %.6f (%d evaluations), plain "
                    "L-BFGS %.6f (%d evaluations)\n",
            auc[0], auc[1], il.evaluations, auc[2], ip.evaluations);
    CHECKF(fabs(auc[1] - auc[0]) <= 1e-5, "L-BFGS's held-out AUROC %.6f, Newton's %.6f", auc[1],
           auc[0]);
    CHECKF(fabs(auc[2] - auc[0]) <= 1e-5, "plain L-BFGS's held-out AUROC %.6f, Newton's %.6f",
           auc[2], auc[0]);
    CHECKF(auc[0] > 0.75, "held-out AUROC %.4f: the planted signal is missing", auc[0]);
    CHECKF(il.evaluations <= 40, "preconditioned L-BFGS took %d evaluations", il.evaluations);
    CHECKF(ip.evaluations >= 3 * il.evaluations,
           "the preconditioner saved little: %d evaluations against %d without", il.evaluations,
           ip.evaluations);
    free(dv), free(sc);

    /* weight 2 is the row twice, weight 0 the row left out */
    {
        const size_t m = 3000;
        double *w = malloc(m * sizeof *w);
        float *Xe = malloc(2 * m * d * sizeof *Xe);
        uint8_t *ye = malloc(2 * m);
        size_t me = 0;
        for (size_t i = 0; i < m; i++) {
            w[i] = (double)(i % 3);
            for (size_t r = 0; r < i % 3; r++) {
                memcpy(Xe + me * d, X + i * d, d * sizeof *X);
                ye[me++] = y[i];
            }
        }
        hr_probe *a = NULL, *b = NULL;
        CHECKF(hr_probe_fit(X, m, d, y, w, &o, &a, err, sizeof err) == HR_OK, "%s", err);
        CHECKF(hr_probe_fit(Xe, me, d, ye, NULL, &o, &b, err, sizeof err) == HR_OK, "%s", err);
        if (a && b) {
            const double diff = coef_diff(a, b);
            CHECKF(diff <= 1e-4, "weighted and expanded L-BFGS fits differ by %.3g", diff);
        }
        hr_probe_destroy(a), hr_probe_destroy(b);
        free(w), free(Xe), free(ye);
    }

    /* folds: index lists against gathered rows, to the bit's neighbourhood */
    {
        double *cv = malloc(n * sizeof *cv);
        CHECKF(hr_probe_cross_validate(X, n, d, y, NULL, &o, 3, 5, cv, NULL, err, sizeof err) ==
                   HR_OK, "%s", err);
        /* the gathered rows are the fold's rows in the same order, and the
         * preconditioner samples the same rows: the same arithmetic */
        const double worst = gathered_fold_gap(X, n, d, y, NULL, &o, 3, 5, cv);
        CHECKF(worst <= 1e-12, "gathered L-BFGS fits differ from cross-validation by %.3g", worst);
        free(cv);
    }
out:
    hr_probe_destroy(nw), hr_probe_destroy(lb), hr_probe_destroy(again), hr_probe_destroy(plain);
    free(X), free(y);
}

/* The default solver: Newton below HR_PROBE_LBFGS_MIN_ROWS rows on the CPU,
 * L-BFGS from there; an explicit choice is kept whatever the size. */
static void test_auto_picks_lbfgs_for_large_fits(void)
{
    const int d = 4;
    const size_t n = HR_PROBE_LBFGS_MIN_ROWS;
    float *X = malloc(n * d * sizeof *X);
    double wt[4];
    uint8_t *y = malloc(n);
    planted(n, d, 2.0, 5, X, wt, y);
    char err[256] = "";
    hr_probe_options o = hr_probe_default_options();
    CHECK(o.solver == HR_PROBE_SOLVER_AUTO);
    hr_probe *a = NULL, *b = NULL, *c = NULL;
    CHECKF(hr_probe_fit(X, n, d, y, NULL, &o, &a, err, sizeof err) == HR_OK, "%s", err);
    CHECKF(hr_probe_fit(X, n - 1, d, y, NULL, &o, &b, err, sizeof err) == HR_OK, "%s", err);
    o.solver = HR_PROBE_SOLVER_NEWTON;
    CHECKF(hr_probe_fit(X, n, d, y, NULL, &o, &c, err, sizeof err) == HR_OK, "%s", err);
    if (a && b && c) {
        CHECK(hr_probe_get_info(a).solver == HR_PROBE_SOLVER_LBFGS);
        CHECK(hr_probe_get_info(b).solver == HR_PROBE_SOLVER_NEWTON);
        CHECK(hr_probe_get_info(c).solver == HR_PROBE_SOLVER_NEWTON);
        CHECK(hr_probe_get_info(c).evaluations == 0);
        CHECKF(coef_diff(a, c) <= 1e-4, "auto (L-BFGS) and Newton differ by %.3g",
               coef_diff(a, c));
    }
    hr_probe_destroy(a), hr_probe_destroy(b), hr_probe_destroy(c);
    free(X), free(y);
}

/* ---- bad input ---------------------------------------------------------------------------- */

static void test_bad_input_is_refused_with_a_message(void)
{
    float X[6] = {0, 1, 2, 3, 4, 5}; /* (3, 2) */
    uint8_t y[3] = {0, 1, 0};
    double w[3] = {1, 1, 1};
    hr_probe *pr = NULL;
    char err[256];
    hr_probe_options o = hr_probe_default_options();

    X[3] = NAN;
    err[0] = '\0';
    CHECK(hr_probe_fit(X, 3, 2, y, NULL, NULL, &pr, err, sizeof err) == HR_ERR_INPUT);
    CHECKF(strstr(err, "row 1") != NULL, "%s", err);
    X[3] = INFINITY;
    CHECK(hr_probe_fit(X, 3, 2, y, NULL, NULL, &pr, err, sizeof err) == HR_ERR_INPUT);
    X[3] = 3;
    CHECK(pr == NULL);

    y[2] = 2;
    CHECK(hr_probe_fit(X, 3, 2, y, NULL, NULL, &pr, err, sizeof err) == HR_ERR_INPUT);
    CHECKF(strstr(err, "label") != NULL, "%s", err);
    y[2] = 0;

    uint8_t one[3] = {1, 1, 1};
    CHECK(hr_probe_fit(X, 3, 2, one, NULL, NULL, &pr, err, sizeof err) == HR_ERR_INPUT);
    CHECKF(strstr(err, "both classes") != NULL, "%s", err);
    w[1] = 0; /* the only row of class 1 has no weight */
    CHECK(hr_probe_fit(X, 3, 2, y, w, NULL, &pr, err, sizeof err) == HR_ERR_INPUT);
    w[1] = -1;
    CHECK(hr_probe_fit(X, 3, 2, y, w, NULL, &pr, err, sizeof err) == HR_ERR_INPUT);
    w[1] = NAN;
    CHECK(hr_probe_fit(X, 3, 2, y, w, NULL, &pr, err, sizeof err) == HR_ERR_INPUT);
    w[1] = 1;

    o.lambda = 0;
    CHECK(hr_probe_fit(X, 3, 2, y, NULL, &o, &pr, err, sizeof err) == HR_ERR_INPUT);
    CHECKF(strstr(err, "lambda") != NULL, "%s", err);
    o.lambda = NAN;
    CHECK(hr_probe_fit(X, 3, 2, y, NULL, &o, &pr, err, sizeof err) == HR_ERR_INPUT);
    o = hr_probe_default_options();
    o.tol = 0;
    CHECK(hr_probe_fit(X, 3, 2, y, NULL, &o, &pr, err, sizeof err) == HR_ERR_INPUT);
    o = hr_probe_default_options();
    o.max_iter = 0;
    CHECK(hr_probe_fit(X, 3, 2, y, NULL, &o, &pr, err, sizeof err) == HR_ERR_INPUT);
    o = hr_probe_default_options();
    o.gtol = 0;
    CHECK(hr_probe_fit(X, 3, 2, y, NULL, &o, &pr, err, sizeof err) == HR_ERR_INPUT);
    CHECKF(strstr(err, "gtol") != NULL, "%s", err);
    o.gtol = NAN;
    CHECK(hr_probe_fit(X, 3, 2, y, NULL, &o, &pr, err, sizeof err) == HR_ERR_INPUT);
    o = hr_probe_default_options();
    o.lbfgs_max_iter = 0;
    CHECK(hr_probe_fit(X, 3, 2, y, NULL, &o, &pr, err, sizeof err) == HR_ERR_INPUT);
    CHECKF(strstr(err, "lbfgs_max_iter") != NULL, "%s", err);
    o = hr_probe_default_options();
    o.solver = (hr_probe_solver)7;
    CHECK(hr_probe_fit(X, 3, 2, y, NULL, &o, &pr, err, sizeof err) == HR_ERR_INPUT);
    CHECKF(strstr(err, "solver") != NULL, "%s", err);

    CHECK(hr_probe_fit(X, 0, 2, y, NULL, NULL, &pr, err, sizeof err) == HR_ERR_INPUT);
    CHECK(hr_probe_fit(X, 3, 0, y, NULL, NULL, &pr, err, sizeof err) == HR_ERR_INPUT);
    CHECK(hr_probe_fit(NULL, 3, 2, y, NULL, NULL, &pr, err, sizeof err) == HR_ERR_INPUT);
    CHECK(pr == NULL);

    double dv[3];
    /* 2 folds need 2 rows of each class; class 1 has 1 */
    CHECK(hr_probe_cross_validate(X, 3, 2, y, NULL, NULL, 2, 1, dv, NULL, err, sizeof err) ==
          HR_ERR_INPUT);
    CHECKF(strstr(err, "folds") != NULL, "%s", err);

    /* a good fit for the accessors, and destroy(NULL) */
    CHECK(hr_probe_fit(X, 3, 2, y, NULL, NULL, &pr, err, sizeof err) == HR_OK);
    CHECK(hr_probe_dim(pr) == 2);
    hr_probe_destroy(pr);
    hr_probe_destroy(NULL);
}

/* ---- timing (HR_PROBE_BENCH=1) ------------------------------------------------------------ */

static void bench_a_fit_on_100k_rows_of_384(void)
{
    const size_t n = 100000;
    const int d = 384;
    float *X = malloc(n * d * sizeof *X);
    double *wt = malloc(d * sizeof *wt);
    uint8_t *y = malloc(n);
    planted(n, d, 2.0, 51, X, wt, y);
    /* unit rows, as the encoder writes them */
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (int k = 0; k < d; k++)
            s += (double)X[i * d + k] * X[i * d + k];
        for (int k = 0; k < d; k++)
            X[i * d + k] = (float)(X[i * d + k] / sqrt(s));
    }
    hr_probe *pr = NULL;
    char err[256] = "";
    double t0 = now_s();
    CHECKF(hr_probe_fit(X, n, d, y, NULL, NULL, &pr, err, sizeof err) == HR_OK, "%s", err);
    double t = now_s() - t0;
    if (pr) {
        hr_probe_info info = hr_probe_get_info(pr);
        fprintf(stderr, "    fit n=%zu d=%d: %.2f s, %d iterations (%.2f s each), converged %d, "
                        "cosine with the planted direction %.4f\n",
                n, d, t, info.iterations, t / info.iterations, info.converged,
                cosine(hr_probe_coef(pr), wt, d));
        CHECK(info.converged);
    }
    hr_probe_destroy(pr);
    free(X);
    free(wt);
    free(y);
}

int main(void)
{
    RUN(test_fits_match_scikit_learn_on_every_fixture_case);
    RUN(test_weights_count_rows);
    RUN(test_a_planted_direction_is_recovered);
    RUN(test_shuffled_labels_give_a_heldout_auroc_near_one_half);
    RUN(test_folds_are_stratified_balanced_and_seeded);
    RUN(test_heldout_values_come_from_probes_that_did_not_see_the_row);
    RUN(test_fits_and_cross_validation_are_deterministic);
    RUN(test_gathered_fold_fits_match_cross_validation);
    RUN(test_separable_data_with_a_tiny_penalty_converges);
    RUN(test_lbfgs_reaches_newtons_minimiser_on_every_fixture_case);
    RUN(test_lbfgs_on_embedding_shaped_rows);
    RUN(test_auto_picks_lbfgs_for_large_fits);
    RUN(test_bad_input_is_refused_with_a_message);
    const char *b = getenv("HR_PROBE_BENCH");
    if (b && strcmp(b, "1") == 0)
        RUN(bench_a_fit_on_100k_rows_of_384);
    return test_summary();
}
