/*
 * tests/test_scoring_methods.c: the pool-relative score methods (CENTERED,
 * CONTRAST; hyporank/scorer.h) against brute force, at the edges (one or
 * two hypotheses, ties, blocks that divide nothing, bad input), and under
 * the null.
 *
 * Brute force materialises the whole similarity matrix S = H X^T (K, N) in
 * double, applies each method's definition directly to every entry (for
 * CONTRAST: the max-shifted log-sum-exp over j != k, O(K^2 N)), rounds to
 * float as the scorer stores scores, and runs the sorting reference
 * (hr_mw_sorted) on each row, then BH. As in tests/test_scorer.c the
 * embeddings are multiples of 1/256 with at most 64 dimensions, so every
 * similarity is exact in float whatever order sgemm sums in.
 *
 * Why exact equality of AUROC, U, z, p and q is the right check:
 *   CENTERED  the scorer computes s - (C - s) / (K - 1) in double with
 *             C = (sum_j h_j) . x; on this data C is exact (multiples of
 *             2^-16 below 2^16 in magnitude, 53-bit mantissa), and equals
 *             the brute-force sum of the row, so both sides round the same
 *             exact quantities in the same way: identical floats.
 *   CONTRAST  the scorer folds the similarities into running statistics in
 *             one pass and the brute force sums over j != k directly; both
 *             are within a few double ulps (relative 1e-15) of the exact
 *             value, and rounding to float (relative 6e-8) maps both to the
 *             same float unless the exact value lies within 1e-15 of a
 *             rounding boundary: about one chance in 10^7 per score, on the
 *             fixed seeds below none does. Exact ties stay exact: a column
 *             in which every similarity is the same scores exactly 0 on both
 *             sides (checked below), and equal columns give equal scores.
 * The means are sums of the same floats in other orders: N roundings of at
 * most DBL_EPSILON times the largest score (below 256 here).
 */
#include "hyporank/scorer.h"
#include "hyporank/stats.h"
#include "scorer_reference.h"
#include "test_random.h"
#include "test_util.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* The method's score of hypothesis k on the sample whose similarities to
 * the K hypotheses are col[0..K) (exact, in double), by its definition. */
static float reference_score(hr_score_method m, double t, const double *col, size_t K, size_t k)
{
    const double v = col[k];
    if (m == HR_SCORE_COSINE || K == 1) return (float)v;
    if (m == HR_SCORE_CENTERED) {
        double others = 0.0; /* exact here */
        for (size_t j = 0; j < K; j++)
            if (j != k) others += col[j];
        return (float)(v - others / (double)(K - 1));
    }
    double mx = -INFINITY;
    for (size_t j = 0; j < K; j++)
        if (j != k && col[j] > mx) mx = col[j];
    double sum = 0.0;
    for (size_t j = 0; j < K; j++)
        if (j != k) sum += exp((col[j] - mx) / t);
    /* s_k - T log( mean_{j != k} exp(s_j / T) ) */
    return (float)(v - mx - t * (log(sum) - log((double)(K - 1))));
}

/* Brute force: materialises the method's score matrix, then out (k) with
 * q-values. */
static void brute_force(hr_score_method m, double t, const float *xa, size_t na, const float *xb,
                        size_t nb, const float *h, size_t k, size_t d, hr_hypothesis_score *out)
{
    const size_t n = na + nb;
    double *sim = malloc(k * n * sizeof *sim); /* (N, k) row-major: column of sample x at sim + x k */
    float *s = malloc(k * n * sizeof *s);      /* (k, N) row-major: the transformed scores */
    for (size_t x = 0; x < n; x++) {
        const float *v = x < na ? xa + x * d : xb + (x - na) * d;
        for (size_t r = 0; r < k; r++) {
            double acc = 0.0;
            for (size_t c = 0; c < d; c++) acc += (double)h[r * d + c] * (double)v[c];
            sim[x * k + r] = acc;
        }
    }
    for (size_t x = 0; x < n; x++)
        for (size_t r = 0; r < k; r++) s[r * n + x] = reference_score(m, t, sim + x * k, k, r);
    reference_results(s, na, nb, k, out);
    free(sim);
    free(s);
}

typedef struct config {
    size_t na, nb, k, d;
    int threads;
    size_t memory; /* bytes; 1 forces one hypothesis per block */
    int coarse;
} config;

static hr_status score_with(hr_score_method m, double t, int threads, size_t memory,
                            const float *xa, size_t na, const float *xb, size_t nb, size_t d,
                            const float *h, size_t k, hr_hypothesis_score *out, char *err,
                            size_t errlen)
{
    hr_scorer_options o = hr_scorer_default_options();
    o.method = m;
    o.temperature = t;
    o.device = HR_DEVICE_CPU;
    o.n_threads = threads;
    o.memory_bytes = memory;
    hr_scorer *s = NULL;
    hr_status st = hr_scorer_create(xa, na, xb, nb, (int)d, &o, &s, err, errlen);
    if (st == HR_OK) st = hr_scorer_score(s, h, k, out, err, errlen);
    hr_scorer_destroy(s);
    return st;
}

static int same_result(const hr_hypothesis_score *g, const hr_hypothesis_score *w, double mtol)
{
    return g->auroc == w->auroc && g->u == w->u && g->z == w->z && g->p_value == w->p_value &&
           g->q_value == w->q_value && fabs(g->mean_a - w->mean_a) <= mtol &&
           fabs(g->mean_b - w->mean_b) <= mtol;
}

static void check_against_brute_force(hr_score_method m, double t, const config *c)
{
    float *xa = exact_matrix(c->na, c->d, c->coarse), *xb = exact_matrix(c->nb, c->d, c->coarse);
    float *h = exact_matrix(c->k, c->d, c->coarse);
    hr_hypothesis_score *want = malloc(c->k * sizeof *want), *got = malloc(c->k * sizeof *got);
    brute_force(m, t, xa, c->na, xb, c->nb, h, c->k, c->d, want);
    hr_scorer_options o = hr_scorer_default_options();
    o.method = m;
    o.temperature = t;
    o.device = HR_DEVICE_CPU;
    o.n_threads = c->threads;
    o.memory_bytes = c->memory;
    hr_scorer *s = NULL;
    char err[256] = "";
    CHECKF(hr_scorer_create(xa, c->na, xb, c->nb, (int)c->d, &o, &s, err, sizeof err) == HR_OK,
           "%s", err);
    if (s) {
        if (c->memory == 1) CHECK(hr_scorer_block_rows(s) == 1);
        /* Twice: slabs and pool statistics are reused between calls. */
        for (int rep = 0; rep < 2; rep++) {
            CHECKF(hr_scorer_score(s, h, c->k, got, err, sizeof err) == HR_OK, "%s", err);
            int bad = 0;
            const double mtol = (double)(c->na + c->nb) * DBL_EPSILON * 256.0;
            for (size_t r = 0; r < c->k && bad < 5; r++) {
                const hr_hypothesis_score *g = &got[r], *w = &want[r];
                const int ok = same_result(g, w, mtol);
                if (!ok) bad++;
                CHECKF(ok,
                       "%s T=%g %zu+%zu x %zu (d %zu, %d threads, %zu B) hypothesis %zu: auroc "
                       "%.17g/%.17g p %.17g/%.17g q %.17g/%.17g means %.17g/%.17g %.17g/%.17g",
                       hr_score_method_str(m), t, c->na, c->nb, c->k, c->d, c->threads, c->memory,
                       r, g->auroc, w->auroc, g->p_value, w->p_value, g->q_value, w->q_value,
                       g->mean_a, w->mean_a, g->mean_b, w->mean_b);
            }
        }
    }
    hr_scorer_destroy(s);
    free(xa);
    free(xb);
    free(h);
    free(want);
    free(got);
}

static const config configs[] = {
    {37, 29, 13, 7, 1, 1, 0},                 /* a hypothesis per block */
    {123, 77, 41, 19, 2, 3 * 200 * 4 * 2, 0}, /* 3 rows per block, 2 threads: 41 = 13 x 3 + 2 */
    {1000, 1, 5, 64, 3, 0, 0},                /* default budget, more threads than blocks */
    {1, 500, 64, 33, 2, 1, 0},
    {1, 1, 3, 4, 1, 0, 0},                    /* one sample a side */
    {2, 1, 7, 5, 3, 1, 0},                    /* more threads than samples in the pool pass */
    {301, 299, 97, 16, 2, 5 * 600 * 4, 1},    /* coarse: heavy ties */
    {150, 170, 40, 6, 3, 1, 1},               /* coarse in 6 dimensions: tied columns too */
    {1200, 1100, 130, 64, 2, 7 * 2300 * 4, 0},
};

static void test_centered_equals_brute_force_with_blocks_that_divide_nothing(void)
{
    rng_state = 11;
    for (size_t i = 0; i < sizeof configs / sizeof configs[0]; i++)
        check_against_brute_force(HR_SCORE_CENTERED, 0.0, &configs[i]);
}

static void test_contrast_equals_brute_force_at_several_temperatures(void)
{
    /* The default, a sharp one (near the margin over the best competitor:
     * most exponentials negligible, so the skipping path is exercised) and
     * a broad one (near CENTERED), relative to the spread of the
     * similarities: about 1 on the fine data (entries up to 1 in up to 64
     * dimensions), about 2^-14 on the coarse data (entries +-1/256), whose
     * temperatures are scaled down by 2^12 to stay in the same regimes.
     * Why scale: CONTRAST's absolute rounding error is about T log(K) 1e-16
     * (the pool term is T times a difference of two logs near log(K - 1)),
     * so a temperature 10^5 times the spread of the scores would be
     * comparing rounding errors, not scores. */
    const double ts[] = {HR_SCORER_DEFAULT_TEMPERATURE, 1e-3, 10.0};
    rng_state = 12;
    for (size_t ti = 0; ti < sizeof ts / sizeof ts[0]; ti++)
        for (size_t i = 0; i < sizeof configs / sizeof configs[0]; i++)
            check_against_brute_force(HR_SCORE_CONTRAST,
                                      configs[i].coarse ? ts[ti] / 4096.0 : ts[ti], &configs[i]);
}

static void test_a_pool_of_one_scores_like_cosine(void)
{
    /* K = 1: nothing to be measured against; the pool term is 0. */
    rng_state = 14;
    const size_t na = 40, nb = 31, d = 9;
    float *xa = exact_matrix(na, d, 0), *xb = exact_matrix(nb, d, 0), *h = exact_matrix(1, d, 0);
    hr_hypothesis_score cos, got;
    char err[256] = "";
    CHECK(score_with(HR_SCORE_COSINE, 0.0, 2, 0, xa, na, xb, nb, d, h, 1, &cos, err, sizeof err) ==
          HR_OK);
    const hr_score_method ms[] = {HR_SCORE_CENTERED, HR_SCORE_CONTRAST};
    for (size_t mi = 0; mi < 2; mi++) {
        CHECKF(score_with(ms[mi], 0.0, 2, 0, xa, na, xb, nb, d, h, 1, &got, err, sizeof err) ==
                   HR_OK,
               "%s", err);
        CHECKF(same_result(&got, &cos, 0.0), "%s: auroc %.17g, cosine %.17g",
               hr_score_method_str(ms[mi]), got.auroc, cos.auroc);
    }
    free(xa);
    free(xb);
    free(h);
}

static void test_a_pool_of_two_scores_the_difference(void)
{
    /* K = 2: both methods score s_0 - s_1 and s_1 - s_0 (exactly negated
     * floats), so the AUROCs sum to 1 and the p-values are equal. */
    rng_state = 15;
    const size_t na = 64, nb = 80, d = 12;
    float *xa = exact_matrix(na, d, 1), *xb = exact_matrix(nb, d, 1), *h = exact_matrix(2, d, 0);
    hr_hypothesis_score r[2], c[2];
    char err[256] = "";
    CHECK(score_with(HR_SCORE_CENTERED, 0.0, 1, 0, xa, na, xb, nb, d, h, 2, c, err, sizeof err) ==
          HR_OK);
    CHECK(score_with(HR_SCORE_CONTRAST, 0.0, 2, 0, xa, na, xb, nb, d, h, 2, r, err, sizeof err) ==
          HR_OK);
    CHECKF(r[0].auroc + r[1].auroc == 1.0, "%.17g + %.17g", r[0].auroc, r[1].auroc);
    CHECK(r[0].p_value == r[1].p_value);
    CHECK(same_result(&r[0], &c[0], 0.0) && same_result(&r[1], &c[1], 0.0));
    free(xa);
    free(xb);
    free(h);
}

static void test_a_sample_that_ties_every_hypothesis_scores_zero(void)
{
    /* A's samples are the zero vector: every similarity 0, so every
     * pool-relative score of A is exactly 0 (mean_a == 0 to the bit), and B
     * samples that tie every hypothesis as well (orthogonal to all of them)
     * tie with A: an all-tie corpus gives AUROC 1/2 and p = 1. */
    const size_t d = 4, k = 5, n = 6;
    float xa[6 * 4] = {0}, xb[6 * 4] = {0}, h[5 * 4] = {0};
    for (size_t i = 0; i < k; i++) {
        h[i * d + 0] = (float)(i + 1) / 8.0f; /* the hypotheses live in coordinates 0, 1 */
        h[i * d + 1] = (float)(k - i) / 8.0f;
    }
    for (size_t i = 0; i < n; i++) xb[i * d + 2 + i % 2] = 1.0f; /* orthogonal to all of them */
    const hr_score_method ms[] = {HR_SCORE_CENTERED, HR_SCORE_CONTRAST};
    const double ts[] = {HR_SCORER_DEFAULT_TEMPERATURE, 1e-3, 3.0};
    for (size_t mi = 0; mi < 2; mi++)
        for (size_t ti = 0; ti < 3; ti++) {
            hr_hypothesis_score r[5];
            char err[256] = "";
            CHECKF(score_with(ms[mi], ts[ti], 2, 0, xa, n, xb, n, d, h, k, r, err, sizeof err) ==
                       HR_OK,
                   "%s", err);
            for (size_t i = 0; i < k; i++)
                CHECKF(r[i].mean_a == 0.0 && r[i].mean_b == 0.0 && r[i].auroc == 0.5 &&
                           r[i].p_value == 1.0,
                       "%s T=%g hypothesis %zu: means %.17g %.17g auroc %g p %g",
                       hr_score_method_str(ms[mi]), ts[ti], i, r[i].mean_a, r[i].mean_b,
                       r[i].auroc, r[i].p_value);
        }
}

static void test_options_and_names(void)
{
    hr_scorer_options o = hr_scorer_default_options();
    CHECK(o.method == HR_SCORE_CONTRAST);
    CHECK(o.temperature == HR_SCORER_DEFAULT_TEMPERATURE);
    const hr_score_method ms[] = {HR_SCORE_COSINE, HR_SCORE_CENTERED, HR_SCORE_CONTRAST};
    for (size_t i = 0; i < 3; i++) {
        hr_score_method back = (hr_score_method)99;
        CHECK(hr_score_method_parse(hr_score_method_str(ms[i]), &back) == 0 && back == ms[i]);
    }
    hr_score_method m;
    CHECK(hr_score_method_parse("Cosine", &m) == -1);
    CHECK(hr_score_method_parse("", &m) == -1);
    CHECK(hr_score_method_parse(NULL, &m) == -1);
    CHECK(strcmp(hr_score_method_str((hr_score_method)7), "unknown") == 0);

    float x[8] = {1, 0, 0, 0, 0, 1, 0, 0};
    hr_scorer *s = NULL;
    char err[256] = "";
    const double bad[] = {-0.1, NAN, INFINITY, HR_SCORER_MAX_TEMPERATURE * 1.5};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        o.temperature = bad[i];
        CHECK(hr_scorer_create(x, 1, x + 4, 1, 4, &o, &s, err, sizeof err) == HR_ERR_INPUT);
        CHECKF(strstr(err, "temperature") != NULL, "%s", err);
        CHECK(s == NULL);
    }
    o.temperature = 0.0; /* the default */
    CHECK(hr_scorer_create(x, 1, x + 4, 1, 4, &o, &s, err, sizeof err) == HR_OK);
    hr_scorer_destroy(s);
    s = NULL;
    o.temperature = HR_SCORER_MAX_TEMPERATURE;
    CHECK(hr_scorer_create(x, 1, x + 4, 1, 4, &o, &s, err, sizeof err) == HR_OK);
    hr_scorer_destroy(s);
    s = NULL;
    o.method = (hr_score_method)7;
    CHECK(hr_scorer_create(x, 1, x + 4, 1, 4, &o, &s, err, sizeof err) == HR_ERR_UNSUPPORTED);
    CHECK(s == NULL);
}

static void test_non_finite_input_is_named(void)
{
    const size_t d = 4;
    float xa[3 * 4] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0};
    float xb[2 * 4] = {0, 0, 0, 1, 1, 1, 0, 0};
    float h[3 * 4] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1};
    hr_hypothesis_score r[3];
    const hr_score_method ms[] = {HR_SCORE_CENTERED, HR_SCORE_CONTRAST};
    for (size_t mi = 0; mi < 2; mi++) {
        char err[256] = "";
        h[2 * d + 1] = NAN;
        CHECK(score_with(ms[mi], 0.0, 2, 0, xa, 3, xb, 2, d, h, 3, r, err, sizeof err) ==
              HR_ERR_INPUT);
        CHECKF(strstr(err, "hypothesis 2") && strstr(err, "NaN"), "%s", err);
        h[2 * d + 1] = 0.0f;
        xb[1 * d + 3] = -INFINITY;
        CHECK(score_with(ms[mi], 0.0, 2, 0, xa, 3, xb, 2, d, h, 3, r, err, sizeof err) ==
              HR_ERR_INPUT);
        CHECKF(strstr(err, "B sample 1") && strstr(err, "infinite"), "%s", err);
        xb[1 * d + 3] = 0.0f;
        CHECK(score_with(ms[mi], 0.0, 2, 0, xa, 3, xb, 2, d, h, 3, r, err, sizeof err) == HR_OK);
    }
    /* Finite embeddings whose similarity overflows float: CONTRAST cannot
     * place an infinite similarity in the pool and says where it is. */
    float big_a[2 * 4] = {1e30f, 0, 0, 0, 0, 1, 0, 0}, big_h[2 * 4] = {0, 1, 0, 0, 1e30f, 0, 0, 0};
    char err[256] = "";
    CHECK(score_with(HR_SCORE_CONTRAST, 0.0, 1, 0, big_a, 2, xb, 2, d, big_h, 2, r, err,
                     sizeof err) == HR_ERR_INPUT);
    CHECKF(strstr(err, "hypothesis 1") && strstr(err, "A sample 0") && strstr(err, "infinite"),
           "%s", err);
}

/* ------------------------------------------------------------------------ */
/* Under the null, for the default                                           */

static void test_default_is_uniform_under_the_null_for_small_and_redundant_pools(void)
{
    /* tests/test_scorer.c checks the null for every method with 50
     * hypotheses. Here the default method where the pool's dependence is
     * strongest: pools of 2, 3 and 8 hypotheses, half of them near-copies
     * of the others (two candidates that say almost the same thing compete
     * for the same samples). Unit-norm samples from a rank-6 subspace plus
     * noise; one corpus of 300 split at random into halves, 600 times; the
     * p-value of one hypothesis per split (cycling) into a
     * Kolmogorov-Smirnov test at the 1% level (D < 1.628 / sqrt(n)), and
     * BH at 0.05: the chance of any discovery under the complete null is
     * the FDR, at most 5% plus the one-sided binomial allowance at 1%. */
    rng_state = 16;
    const size_t n = 300, d = 32, rank = 6, splits = 600;
    const size_t pools[] = {2, 3, 8};
    float *basis = malloc(rank * d * sizeof *basis);
    for (size_t i = 0; i < rank * d; i++) basis[i] = (float)(rng_normal() / sqrt((double)d));
    float *pool = malloc(n * d * sizeof *pool); /* (n, d) row-major, unit rows */
    for (size_t i = 0; i < n; i++) {
        double norm = 0.0;
        for (size_t c = 0; c < d; c++) pool[i * d + c] = (float)(0.3 * rng_normal() / sqrt((double)d));
        for (size_t q = 0; q < rank; q++) {
            const double z = rng_normal() / (1.0 + (double)q);
            for (size_t c = 0; c < d; c++) pool[i * d + c] += (float)(z * basis[q * d + c]);
        }
        for (size_t c = 0; c < d; c++) norm += (double)pool[i * d + c] * pool[i * d + c];
        for (size_t c = 0; c < d; c++) pool[i * d + c] = (float)(pool[i * d + c] / sqrt(norm));
    }
    float *xa = malloc(n / 2 * d * sizeof *xa), *xb = malloc(n / 2 * d * sizeof *xb);
    size_t *perm = malloc(n * sizeof *perm);
    double *ps = malloc(splits * sizeof *ps);
    for (size_t pi = 0; pi < sizeof pools / sizeof pools[0]; pi++) {
        const size_t k = pools[pi];
        float h[8 * 32]; /* (k, d) row-major: k/2 rounded up drawn, the rest near-copies */
        for (size_t i = 0; i < k; i++)
            for (size_t c = 0; c < d; c++)
                h[i * d + c] = i < (k + 1) / 2 ? pool[(7 * i + 3) * d + c]
                                               : h[(i - (k + 1) / 2) * d + c] +
                                                     (float)(0.05 * rng_normal() / sqrt((double)d));
        double fdp_sum = 0.0;
        hr_hypothesis_score r[8];
        for (size_t sp = 0; sp < splits; sp++) {
            for (size_t i = 0; i < n; i++) perm[i] = i;
            for (size_t i = n - 1; i > 0; i--) {
                size_t j = (size_t)(rng_next() % (i + 1)), t = perm[i];
                perm[i] = perm[j];
                perm[j] = t;
            }
            for (size_t i = 0; i < n / 2; i++) {
                memcpy(xa + i * d, pool + perm[i] * d, d * sizeof *xa);
                memcpy(xb + i * d, pool + perm[n / 2 + i] * d, d * sizeof *xb);
            }
            hr_scorer *s = NULL;
            if (hr_scorer_create(xa, n / 2, xb, n / 2, (int)d, NULL, &s, NULL, 0) != HR_OK ||
                hr_scorer_score(s, h, k, r, NULL, 0) != HR_OK) {
                CHECK(!"scoring failed");
                hr_scorer_destroy(s);
                break;
            }
            hr_scorer_destroy(s);
            ps[sp] = r[sp % k].p_value;
            size_t found = 0;
            for (size_t i = 0; i < k; i++) found += r[i].q_value <= 0.05;
            fdp_sum += found ? 1.0 : 0.0;
        }
        const double ks = ks_uniform(ps, splits), crit = 1.628 / sqrt((double)splits);
        const double fdr = fdp_sum / (double)splits;
        const double bound = 0.05 + 2.326 * sqrt(0.05 * 0.95 / (double)splits);
        CHECKF(ks < crit, "pool of %zu: KS distance %.4f, 1%% critical value %.4f", k, ks, crit);
        CHECKF(fdr <= bound, "pool of %zu: FDR %.4f (bound %.4f)", k, fdr, bound);
        fprintf(stderr, "null, contrast, pool of %zu: KS %.4f (critical %.4f), FDR %.4f (bound %.4f)\n",
                k, ks, crit, fdr, bound);
    }
    free(basis);
    free(pool);
    free(xa);
    free(xb);
    free(perm);
    free(ps);
}

int main(void)
{
    RUN(test_centered_equals_brute_force_with_blocks_that_divide_nothing);
    RUN(test_contrast_equals_brute_force_at_several_temperatures);
    RUN(test_a_pool_of_one_scores_like_cosine);
    RUN(test_a_pool_of_two_scores_the_difference);
    RUN(test_a_sample_that_ties_every_hypothesis_scores_zero);
    RUN(test_options_and_names);
    RUN(test_non_finite_input_is_named);
    RUN(test_default_is_uniform_under_the_null_for_small_and_redundant_pools);
    return test_summary();
}
