/*
 * tests/test_stats.c: exact AUROC / Mann-Whitney, p-values and BH q-values.
 *
 * The fast bucket method must equal the sort reference exactly (U, AUROC, z,
 * p-value, tie term) on every kind of input; both must agree with
 * scikit-learn and scipy on the cases of tests/fixtures/stats-cases.json
 * (tests/fixtures/gen-stats-fixture.py writes it).
 */
#include "hyporank/stats.h"
#include "test_util.h"
#include "core/random.h"
#include "core/simd.h"

#include <cjson/cJSON.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rng_next(void) { return hr_splitmix64(&rng_state); }

static double rng_uniform(void) { return hr_random_uniform(&rng_state); }

static double rng_normal(void)
{
    double u = rng_uniform(), v = rng_uniform();
    return sqrt(-2.0 * log(u + 1e-300)) * cos(6.283185307179586 * v);
}

/* A float from 32 random bits: every magnitude, subnormals and both zeros;
 * NaN and the infinities are drawn again. */
static float rng_any_float(void)
{
    for (;;) {
        uint32_t u = (uint32_t)rng_next();
        float f;
        memcpy(&f, &u, sizeof f);
        if (isfinite(f)) return f;
    }
}

/* Means are summed in a different order by the two methods; each of the N
 * double additions of float values rounds by at most DBL_EPSILON times the
 * running sum of magnitudes, so the means agree within N * DBL_EPSILON times
 * the mean magnitude. */
static int means_agree(double x, double y, const float *s, size_t n)
{
    double mag = 0.0;
    for (size_t i = 0; i < n; i++) mag += fabs((double)s[i]);
    mag /= (double)n;
    if (isnan(x) || isnan(y)) return isnan(x) && isnan(y); /* inf - inf in the sums */
    if (isinf(x) || isinf(y)) return x == y;
    return fabs(x - y) <= (double)n * DBL_EPSILON * mag + DBL_MIN;
}

/* Runs both methods on scores (n_a + n_b) and checks they agree exactly. */
static void check_methods_agree(const float *s, size_t n_a, size_t n_b, const char *what)
{
    char err[256];
    hr_mw_result ref, fast;
    hr_mw_workspace *ws = NULL;
    CHECKF(hr_mw_sorted(s, n_a, n_b, &ref, err, sizeof err) == HR_OK, "%s: %s", what, err);
    CHECKF(hr_mw_workspace_create(n_a, n_b, &ws, err, sizeof err) == HR_OK, "%s: %s", what, err);
    if (!ws) return;
    /* Twice on one workspace: nothing may leak from one row to the next. */
    for (int rep = 0; rep < 2; rep++) {
        CHECKF(hr_mw_fast(ws, s, &fast, err, sizeof err) == HR_OK, "%s: %s", what, err);
        CHECKF(fast.u == ref.u, "%s: U %.1f vs reference %.1f", what, fast.u, ref.u);
        CHECKF(fast.auroc == ref.auroc, "%s: auroc %.17g vs %.17g", what, fast.auroc, ref.auroc);
        CHECKF(fast.tie_term == ref.tie_term, "%s: tie term %.17g vs %.17g", what, fast.tie_term,
               ref.tie_term);
        CHECKF(fast.z == ref.z, "%s: z %.17g vs %.17g", what, fast.z, ref.z);
        CHECKF(fast.p_value == ref.p_value, "%s: p %.17g vs %.17g", what, fast.p_value,
               ref.p_value);
        CHECKF(means_agree(fast.mean_a, ref.mean_a, s, n_a), "%s: mean_a %.17g vs %.17g", what,
               fast.mean_a, ref.mean_a);
        CHECKF(means_agree(fast.mean_b, ref.mean_b, s + n_a, n_b), "%s: mean_b %.17g vs %.17g",
               what, fast.mean_b, ref.mean_b);
    }
    CHECKF(ref.auroc >= 0.0 && ref.auroc <= 1.0, "%s: auroc %g", what, ref.auroc);
    CHECKF(ref.p_value >= 0.0 && ref.p_value <= 1.0, "%s: p %g", what, ref.p_value);
    hr_mw_workspace_destroy(ws);
}

/* Brute force over all pairs: the definition of U, for small inputs. */
static double brute_u(const float *s, size_t n_a, size_t n_b)
{
    double u = 0.0;
    for (size_t i = 0; i < n_a; i++)
        for (size_t j = 0; j < n_b; j++) {
            float a = s[i], b = s[n_a + j];
            u += a > b ? 1.0 : (a == b ? 0.5 : 0.0);
        }
    return u;
}

static const size_t sizes[][2] = {{1, 1},   {1, 7},    {7, 1},      {2, 3},      {3, 2},
                                  {17, 33}, {100, 100}, {1000, 999}, {4097, 1023}, {12345, 6789}};
#define N_SIZES (sizeof sizes / sizeof sizes[0])

/* ------------------------------------------------------------------------ */
/* Fast == reference                                                         */

static void test_fast_equals_reference_on_random_continuous_scores(void)
{
    for (int seed = 0; seed < 3; seed++)
        for (size_t c = 0; c < N_SIZES; c++) {
            size_t na = sizes[c][0], nb = sizes[c][1];
            float *s = malloc((na + nb) * sizeof *s);
            double shift = 0.3 * seed;
            for (size_t i = 0; i < na + nb; i++)
                s[i] = (float)(0.05 * rng_normal() + (i < na ? shift * 0.05 : 0.0));
            char what[64];
            snprintf(what, sizeof what, "continuous %zu vs %zu", na, nb);
            check_methods_agree(s, na, nb, what);
            free(s);
        }
}

static void test_fast_equals_reference_and_brute_force_on_many_ties(void)
{
    const int levels[] = {1, 2, 3, 5, 100};
    for (size_t l = 0; l < sizeof levels / sizeof levels[0]; l++)
        for (size_t c = 0; c < N_SIZES; c++) {
            size_t na = sizes[c][0], nb = sizes[c][1];
            float *s = malloc((na + nb) * sizeof *s);
            for (size_t i = 0; i < na + nb; i++)
                s[i] = (float)(rng_next() % (uint64_t)levels[l]) * 0.25f - 0.5f;
            char what[64];
            snprintf(what, sizeof what, "%d levels, %zu vs %zu", levels[l], na, nb);
            check_methods_agree(s, na, nb, what);
            if (na * nb <= 100000) {
                hr_mw_result r;
                hr_mw_sorted(s, na, nb, &r, NULL, 0);
                CHECKF(r.u == brute_u(s, na, nb), "%s: U %.1f, brute force %.1f", what, r.u,
                       brute_u(s, na, nb));
            }
            free(s);
        }
}

static void test_all_identical_scores_give_auroc_one_half_and_p_one(void)
{
    for (size_t c = 0; c < N_SIZES; c++) {
        size_t na = sizes[c][0], nb = sizes[c][1];
        float *s = malloc((na + nb) * sizeof *s);
        for (size_t i = 0; i < na + nb; i++) s[i] = 0.7f;
        check_methods_agree(s, na, nb, "all identical");
        hr_mw_result r;
        hr_mw_workspace *ws;
        hr_mw_workspace_create(na, nb, &ws, NULL, 0);
        CHECK(hr_mw_fast(ws, s, &r, NULL, 0) == HR_OK);
        CHECKF(r.auroc == 0.5 && r.p_value == 1.0 && r.z == 0.0, "%zu vs %zu: auroc %g p %g", na,
               nb, r.auroc, r.p_value);
        hr_mw_workspace_destroy(ws);
        free(s);
    }
}

static void test_one_sample_per_side(void)
{
    const float cases[][2] = {{1.0f, 0.0f}, {0.0f, 1.0f}, {0.5f, 0.5f}, {-0.0f, 0.0f}};
    const double want[] = {1.0, 0.0, 0.5, 0.5};
    for (int c = 0; c < 4; c++) {
        check_methods_agree(cases[c], 1, 1, "one per side");
        hr_mw_result r;
        hr_mw_sorted(cases[c], 1, 1, &r, NULL, 0);
        CHECKF(r.auroc == want[c], "case %d: auroc %g", c, r.auroc);
        /* |U - 1/2| <= 1/2: the continuity correction leaves no evidence. */
        CHECKF(r.p_value == 1.0, "case %d: p %g", c, r.p_value);
    }
}

static void test_fast_equals_reference_on_every_magnitude(void)
{
    /* Random bit patterns: +-3e38 next to subnormals, both zeros. */
    for (size_t c = 0; c < N_SIZES; c++) {
        size_t na = sizes[c][0], nb = sizes[c][1];
        float *s = malloc((na + nb) * sizeof *s);
        for (size_t i = 0; i < na + nb; i++) s[i] = rng_any_float();
        check_methods_agree(s, na, nb, "every magnitude");
        /* And the extremes of float, which overflow (hi - lo) in float. */
        for (size_t i = 0; i < na + nb; i++)
            s[i] = (rng_next() & 1) ? FLT_MAX : (rng_next() & 1 ? -FLT_MAX : FLT_TRUE_MIN);
        check_methods_agree(s, na, nb, "+-FLT_MAX and FLT_TRUE_MIN");
        free(s);
    }
}

static void test_negative_zero_ties_positive_zero(void)
{
    /* A all -0, B all +0: every pair is a tie, as scikit-learn counts it. */
    float s[12];
    for (int i = 0; i < 12; i++) s[i] = i < 5 ? -0.0f : 0.0f;
    check_methods_agree(s, 5, 7, "-0 vs +0");
    hr_mw_result r;
    hr_mw_sorted(s, 5, 7, &r, NULL, 0);
    CHECKF(r.auroc == 0.5 && r.p_value == 1.0, "auroc %g p %g", r.auroc, r.p_value);
    /* Mixed with other values: zeros of both signs in both groups. */
    float *m = malloc(3000 * sizeof *m);
    for (int i = 0; i < 3000; i++) {
        uint64_t k = rng_next() % 4;
        m[i] = k == 0 ? -0.0f : k == 1 ? 0.0f : (float)rng_normal();
    }
    check_methods_agree(m, 1700, 1300, "zeros of both signs among others");
    free(m);
}

static void test_infinite_scores_are_ordered_values(void)
{
    float *s = malloc(2000 * sizeof *s);
    for (int i = 0; i < 2000; i++) {
        uint64_t k = rng_next() % 10;
        s[i] = k == 0 ? INFINITY : k == 1 ? -INFINITY : (float)rng_normal();
    }
    check_methods_agree(s, 1000, 1000, "with infinities");
    for (int i = 0; i < 2000; i++) s[i] = (rng_next() & 1) ? INFINITY : -INFINITY;
    check_methods_agree(s, 999, 1001, "only infinities");
    free(s);
}

static void test_skewed_scores_fall_back_to_sorting_big_buckets(void)
{
    /* One far outlier puts the dense cluster into one bucket. */
    const size_t na = 3000, nb = 2500;
    float *s = malloc((na + nb) * sizeof *s);
    for (size_t i = 0; i < na + nb; i++) s[i] = (float)(1e-3 * rng_normal() + (i < na ? 1e-4 : 0));
    s[17] = 1e30f;
    check_methods_agree(s, na, nb, "outlier and a dense cluster");
    for (size_t i = 0; i < na + nb; i++) s[i] = (float)(rng_next() % 50);
    s[na + 3] = -1e30f;
    check_methods_agree(s, na, nb, "outlier and a tied cluster");
    /* Geometric spread: a bucket per decade at most. */
    for (size_t i = 0; i < na + nb; i++) s[i] = (float)pow(10.0, -30.0 * rng_uniform());
    check_methods_agree(s, na, nb, "geometric spread");
    free(s);
}

static void test_sizes_that_divide_no_block(void)
{
    const size_t odd[][2] = {{31, 1}, {1, 31}, {63, 65}, {127, 129}, {1021, 3}, {65537, 1}};
    for (size_t c = 0; c < sizeof odd / sizeof odd[0]; c++) {
        size_t na = odd[c][0], nb = odd[c][1];
        float *s = malloc((na + nb) * sizeof *s);
        for (size_t i = 0; i < na + nb; i++) s[i] = (float)rng_normal();
        check_methods_agree(s, na, nb, "odd sizes");
        free(s);
    }
}

static void test_large_random_vector_matches_reference(void)
{
    /* The benchmark's shape: 50k vs 50k cosine-like scores. */
    const size_t na = 50000, nb = 50000;
    float *s = malloc((na + nb) * sizeof *s);
    for (size_t i = 0; i < na + nb; i++) s[i] = (float)(0.05 * rng_normal() + (i < na ? 0.001 : 0));
    check_methods_agree(s, na, nb, "50k vs 50k");
    /* Rounded to 1e-4: thousands of tie groups. */
    for (size_t i = 0; i < na + nb; i++) s[i] = roundf(s[i] * 1e4f) * 1e-4f;
    check_methods_agree(s, na, nb, "50k vs 50k rounded");
    free(s);
}

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */

static void test_empty_group_is_an_input_error(void)
{
    float s[3] = {1, 2, 3};
    char err[256] = "";
    hr_mw_result r;
    hr_mw_workspace *ws = (hr_mw_workspace *)&r; /* must be set to NULL */
    CHECK(hr_mw_sorted(s, 0, 3, &r, err, sizeof err) == HR_ERR_INPUT);
    CHECKF(strstr(err, "group A has no samples") != NULL, "%s", err);
    CHECK(hr_mw_sorted(s, 3, 0, &r, err, sizeof err) == HR_ERR_INPUT);
    CHECKF(strstr(err, "group B has no samples") != NULL, "%s", err);
    CHECK(hr_mw_workspace_create(0, 3, &ws, err, sizeof err) == HR_ERR_INPUT);
    CHECK(ws == NULL);
}

static void test_nan_score_is_rejected_naming_the_sample(void)
{
    float s[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    s[7] = NAN;
    char err[256] = "";
    hr_mw_result r;
    CHECK(hr_mw_sorted(s, 4, 6, &r, err, sizeof err) == HR_ERR_INPUT);
    CHECKF(strstr(err, "B sample 3") != NULL, "%s", err);
    hr_mw_workspace *ws;
    hr_mw_workspace_create(4, 6, &ws, NULL, 0);
    err[0] = '\0';
    CHECK(hr_mw_fast(ws, s, &r, err, sizeof err) == HR_ERR_INPUT);
    CHECKF(strstr(err, "B sample 3") != NULL, "%s", err);
    s[7] = 7;
    s[1] = -NAN;
    CHECK(hr_mw_fast(ws, s, &r, err, sizeof err) == HR_ERR_INPUT);
    CHECKF(strstr(err, "A sample 1") != NULL, "%s", err);
    hr_mw_workspace_destroy(ws);
}

/* ------------------------------------------------------------------------ */
/* p-values in the far tail                                                  */

static void test_two_sided_p_is_accurate_far_into_the_tail(void)
{
    /* Values of erfc(z / sqrt 2) to 20 digits (mpmath, 40 digits). Relative
     * tolerance: z / sqrt 2 is rounded to double (relative 1.1e-16), and
     * erfc's relative sensitivity to its argument x is about 2 x^2 = z^2, so
     * at z = 37.5 the result can be off by 1.1e-16 * 1406 = 1.6e-13 before
     * erfc adds its own few ulps. 5e-13 covers both. */
    const struct { double z, p; } c[] = {
        {0.5, 0.61707507745197379272},   {8.0, 1.2441921148543568247e-15},
        {20.0, 5.5072482372124673902e-89}, {37.0, 1.1451142445049153645e-299},
        {37.5, 9.2107060191639096877e-308}, {-37.0, 1.1451142445049153645e-299},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        double p = hr_normal_two_sided_p(c[i].z);
        CHECKF(fabs(p - c[i].p) <= 5e-13 * c[i].p, "z %g: p %.17g, want %.17g", c[i].z, p, c[i].p);
    }
    /* Below DBL_MIN (subnormal, precision lost): 0. */
    CHECK(hr_normal_two_sided_p(38.0) == 0.0);
    CHECK(hr_normal_two_sided_p(1e6) == 0.0);
    CHECK(hr_normal_two_sided_p(0.0) == 1.0);
}

/* ------------------------------------------------------------------------ */
/* Against scikit-learn and scipy                                            */

static cJSON *load_fixture(void)
{
    const char *path = test_fixture("stats-cases.json");
    char *buf = test_read_file(path);
    if (!buf) fprintf(stderr, "cannot open %s\n", path);
    cJSON *j = buf ? cJSON_Parse(buf) : NULL;
    free(buf);
    return j;
}

static float *float_array(const cJSON *arr, size_t *n)
{
    *n = (size_t)cJSON_GetArraySize(arr);
    float *v = malloc((*n ? *n : 1) * sizeof *v);
    size_t i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, arr) v[i++] = (float)e->valuedouble; /* exact: written from float32 */
    return v;
}

static void test_auroc_and_p_agree_with_sklearn_and_scipy(void)
{
    cJSON *j = load_fixture();
    CHECK(j != NULL);
    if (!j) return;
    const cJSON *cases = cJSON_GetObjectItem(j, "mann_whitney"), *c;
    int n_cases = 0;
    cJSON_ArrayForEach(c, cases)
    {
        const char *name = cJSON_GetObjectItem(c, "name")->valuestring;
        size_t na, nb;
        float *a = float_array(cJSON_GetObjectItem(c, "a"), &na);
        float *b = float_array(cJSON_GetObjectItem(c, "b"), &nb);
        float *s = malloc((na + nb) * sizeof *s); /* (na + nb): A, then B */
        memcpy(s, a, na * sizeof *s);
        memcpy(s + na, b, nb * sizeof *s);
        check_methods_agree(s, na, nb, name);
        hr_mw_result r;
        CHECK(hr_mw_sorted(s, na, nb, &r, NULL, 0) == HR_OK);
        double want_auroc = cJSON_GetObjectItem(c, "auroc")->valuedouble;
        double want_u = cJSON_GetObjectItem(c, "u")->valuedouble;
        double want_p = cJSON_GetObjectItem(c, "p")->valuedouble;
        double want_ma = cJSON_GetObjectItem(c, "mean_a")->valuedouble;
        double want_mb = cJSON_GetObjectItem(c, "mean_b")->valuedouble;
        /* U is an exact count on both sides. */
        CHECKF(r.u == want_u, "%s: U %.1f, scipy %.1f", name, r.u, want_u);
        /* scikit-learn integrates the ROC curve in floating point: a few
         * ulps of error on a value in [0, 1]. */
        CHECKF(fabs(r.auroc - want_auroc) <= 1e-14, "%s: auroc %.17g, sklearn %.17g", name,
               r.auroc, want_auroc);
        /* scipy evaluates the same expression; it rounds z / sqrt 2 as we do
         * but computes erfc with cephes, not glibc: each within a few ulps,
         * magnified by z^2 (up to ~1400 here) in relative terms: 1e-12. */
        CHECKF(want_p == 0.0 ? r.p_value == 0.0 : fabs(r.p_value - want_p) <= 1e-12 * want_p,
               "%s: p %.17g, scipy %.17g", name, r.p_value, want_p);
        CHECKF(means_agree(r.mean_a, want_ma, a, na) && means_agree(r.mean_b, want_mb, b, nb),
               "%s: means %.17g %.17g, numpy %.17g %.17g", name, r.mean_a, r.mean_b, want_ma,
               want_mb);
        free(a);
        free(b);
        free(s);
        n_cases++;
    }
    CHECKF(n_cases >= 10, "only %d cases in the fixture", n_cases);
    cJSON_Delete(j);
}

/* ------------------------------------------------------------------------ */
/* Benjamini-Hochberg                                                        */

static void test_bh_on_a_hand_checked_example(void)
{
    /* Sorted: 0.005 (rank 1), 0.01 (2), 0.03 (3), 0.04 (4); p k / rank:
     * 0.02, 0.02, 0.04, 0.04; running minimum from the top: the same. */
    double p[4] = {0.01, 0.04, 0.03, 0.005}, q[4];
    CHECK(hr_bh_qvalues(p, 4, q, NULL, 0) == HR_OK);
    const double want[4] = {0.02, 0.04, 0.04, 0.02};
    for (int i = 0; i < 4; i++) CHECKF(fabs(q[i] - want[i]) < 1e-15, "q[%d] = %.17g", i, q[i]);
    /* 0.5 * 3 / 1 = 1.5 and 0.9 * 3 / 2 = 1.35 are capped by the 1.0 above. */
    double p2[3] = {0.5, 0.9, 1.0}, q2[3];
    CHECK(hr_bh_qvalues(p2, 3, q2, NULL, 0) == HR_OK);
    CHECK(q2[0] == 1.0 && q2[1] == 1.0 && q2[2] == 1.0);
    /* Monotone where p k / rank is not: 0.01 (1) -> 0.03, 0.012 (2) -> 0.018. */
    double p3[3] = {0.012, 0.01, 0.9};
    CHECK(hr_bh_qvalues(p3, 3, p3, NULL, 0) == HR_OK); /* in place */
    CHECKF(fabs(p3[0] - 0.018) < 1e-15 && fabs(p3[1] - 0.018) < 1e-15 && p3[2] == 0.9,
           "%g %g %g", p3[0], p3[1], p3[2]);
}

static void test_bh_agrees_with_the_numpy_reference(void)
{
    cJSON *j = load_fixture();
    if (!j) return;
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(j, "bh"))
    {
        const cJSON *pj = cJSON_GetObjectItem(c, "p"), *qj = cJSON_GetObjectItem(c, "q");
        size_t k = (size_t)cJSON_GetArraySize(pj);
        double *p = malloc(k * sizeof *p), *q = malloc(k * sizeof *q);
        for (size_t i = 0; i < k; i++) p[i] = cJSON_GetArrayItem(pj, (int)i)->valuedouble;
        CHECK(hr_bh_qvalues(p, k, q, NULL, 0) == HR_OK);
        /* The same products and quotients in the same order: equal to a
         * rounding or two. */
        for (size_t i = 0; i < k; i++) {
            double want = cJSON_GetArrayItem(qj, (int)i)->valuedouble;
            CHECKF(fabs(q[i] - want) <= 4 * DBL_EPSILON * want, "%s: q[%zu] %.17g, numpy %.17g",
                   cJSON_GetObjectItem(c, "name")->valuestring, i, q[i], want);
        }
        free(p);
        free(q);
    }
    cJSON_Delete(j);
}

static void test_bh_q_values_are_monotone_and_capped(void)
{
    const size_t k = 5000;
    double *p = malloc(k * sizeof *p), *q = malloc(k * sizeof *q);
    for (size_t i = 0; i < k; i++) p[i] = i % 7 == 0 ? 1e-6 * rng_uniform() : rng_uniform();
    p[3] = p[4]; /* a tie */
    CHECK(hr_bh_qvalues(p, k, q, NULL, 0) == HR_OK);
    int ok = 1;
    for (size_t i = 0; i < k; i++) {
        ok &= q[i] >= p[i] && q[i] <= 1.0;
        for (size_t t = 0; t < 8; t++) { /* a few random pairs */
            size_t jj = (size_t)(rng_next() % k);
            if (p[i] <= p[jj]) ok &= q[i] <= q[jj];
        }
    }
    CHECK(ok);
    CHECK(q[3] == q[4]);
    char err[128] = "";
    p[10] = 1.5;
    CHECK(hr_bh_qvalues(p, k, q, err, sizeof err) == HR_ERR_INPUT);
    CHECKF(strstr(err, "p-value 10") != NULL, "%s", err);
    p[10] = NAN;
    CHECK(hr_bh_qvalues(p, k, q, err, sizeof err) == HR_ERR_INPUT);
    CHECK(hr_bh_qvalues(p, 0, q, err, sizeof err) == HR_OK);
    free(p);
    free(q);
}

static int cmp_float_asc(const void *x, const void *y)
{
    const float a = *(const float *)x, b = *(const float *)y;
    return (a > b) - (a < b);
}

/* After hr_mw_fast the workspace holds the scores in order: every order
 * statistic is the sorted copy's (ties, both zeros, infinities, a far
 * outlier that squeezes the rest into few bins, small and large N). */
static void test_order_statistics_follow_a_sort(void)
{
    static const size_t sizes[][2] = {{1, 1}, {3, 5}, {257, 300}, {20000, 13001}};
    for (size_t c = 0; c < sizeof sizes / sizeof sizes[0]; c++) {
        for (int kind = 0; kind < 3; kind++) {
            const size_t n_a = sizes[c][0], n_b = sizes[c][1], n = n_a + n_b;
            float *s = malloc(n * sizeof *s), *sorted = malloc(n * sizeof *sorted);
            for (size_t i = 0; i < n; i++) {
                if (kind == 0) s[i] = (float)rng_normal();
                else if (kind == 1) s[i] = (float)(rng_next() % 7) - 3.0f; /* ties */
                else s[i] = i % 97 == 0 ? 1e30f : (float)(rng_normal() * 1e-3);
            }
            if (n > 6) s[1] = -0.0f, s[2] = 0.0f, s[3] = INFINITY, s[4] = -INFINITY;
            memcpy(sorted, s, n * sizeof *s);
            qsort(sorted, n, sizeof *sorted, cmp_float_asc);
            hr_mw_workspace *ws = NULL;
            hr_mw_result r;
            char err[256];
            CHECK(hr_mw_workspace_create(n_a, n_b, &ws, err, sizeof err) == HR_OK);
            CHECK(hr_mw_fast(ws, s, &r, err, sizeof err) == HR_OK);
            size_t bad = 0;
            for (size_t i = 0; i < n; i++) {
                const float got = hr_mw_order_statistic(ws, i);
                bad += !(got == sorted[i]) || (got == 0.0f && signbit(got));
            }
            CHECKF(bad == 0, "n %zu, kind %d: %zu order statistics differ from the sort", n, kind,
                   bad);
            hr_mw_workspace_destroy(ws);
            free(s), free(sorted);
        }
    }
}

/* Every version of the vector loops (AVX-512, AVX2, portable) gives the same bits. */
static void test_portable_and_vector_loops_agree(void)
{
    const size_t n_a = 5003, n_b = 4001, n = n_a + n_b;
    float *s = malloc(n * sizeof *s);
    for (size_t i = 0; i < n; i++) s[i] = (float)(rng_normal() * (i % 5 == 0 ? 100.0 : 0.01));
    s[17] = INFINITY, s[5000] = -INFINITY, s[9000] = -0.0f;
    hr_mw_workspace *ws = NULL;
    hr_mw_result v, p;
    char err[256];
    CHECK(hr_mw_workspace_create(n_a, n_b, &ws, err, sizeof err) == HR_OK);
    CHECK(hr_mw_fast(ws, s, &v, err, sizeof err) == HR_OK);
    for (int l = HR_SIMD_PORTABLE; l < HR_SIMD_AVX512; l++) { /* every lower version */
        hr_simd_cap((hr_simd_level)l);
        CHECK(hr_mw_fast(ws, s, &p, err, sizeof err) == HR_OK);
        hr_simd_cap(HR_SIMD_AVX512);
        CHECKF(memcmp(&v, &p, sizeof v) == 0, "level %d differs", l);
    }
    fprintf(stderr, "    vector loops of level %d (0 portable, 1 AVX2, 2 AVX-512) on this CPU\n",
            (int)hr_simd_level_now());
    hr_mw_workspace_destroy(ws);
    free(s);
}

int main(void)
{
    RUN(test_fast_equals_reference_on_random_continuous_scores);
    RUN(test_fast_equals_reference_and_brute_force_on_many_ties);
    RUN(test_all_identical_scores_give_auroc_one_half_and_p_one);
    RUN(test_one_sample_per_side);
    RUN(test_fast_equals_reference_on_every_magnitude);
    RUN(test_negative_zero_ties_positive_zero);
    RUN(test_infinite_scores_are_ordered_values);
    RUN(test_skewed_scores_fall_back_to_sorting_big_buckets);
    RUN(test_sizes_that_divide_no_block);
    RUN(test_large_random_vector_matches_reference);
    RUN(test_empty_group_is_an_input_error);
    RUN(test_nan_score_is_rejected_naming_the_sample);
    RUN(test_two_sided_p_is_accurate_far_into_the_tail);
    RUN(test_auroc_and_p_agree_with_sklearn_and_scipy);
    RUN(test_bh_on_a_hand_checked_example);
    RUN(test_bh_agrees_with_the_numpy_reference);
    RUN(test_bh_q_values_are_monotone_and_capped);
    RUN(test_order_statistics_follow_a_sort);
    RUN(test_portable_and_vector_loops_agree);
    return test_summary();
}
