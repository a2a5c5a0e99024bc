/*
 * tests/test_scorer.c: the CPU scorer against brute force, and its
 * statistics under the null.
 *
 * Brute force materialises the whole score matrix in double and runs the
 * sorting reference (hr_mw_sorted) on each row. The test embeddings are
 * multiples of 1/256 in [-1, 1] with at most 64 dimensions, so every product
 * h . x is a multiple of 2^-16 below 64 in magnitude: exact in float (24-bit
 * mantissa) whatever order sgemm sums in. The scorer must then agree exactly,
 * ties and all, however the work is split into blocks and threads.
 */
#include "hyporank/scorer.h"
#include "hyporank/stats.h"
#include "scorer_reference.h"
#include "scoring/score_methods.h"
#include "test_random.h"
#include "test_util.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* Brute force: S = H X^T whole, in double (exact here), then the sorting
 * reference per row and BH. out: (k). */
static void brute_force(const float *xa, size_t na, const float *xb, size_t nb, const float *h,
                        size_t k, size_t d, hr_hypothesis_score *out)
{
    const size_t n = na + nb;
    float *s = malloc(k * n * sizeof *s); /* (k, N) row-major: the whole matrix */
    for (size_t r = 0; r < k; r++)
        for (size_t j = 0; j < n; j++) {
            const float *x = j < na ? xa + j * d : xb + (j - na) * d;
            double acc = 0.0;
            for (size_t c = 0; c < d; c++) acc += (double)h[r * d + c] * (double)x[c];
            s[r * n + j] = (float)acc;
        }
    reference_results(s, na, nb, k, out);
    free(s);
}

typedef struct config {
    size_t na, nb, k, d;
    int threads;
    size_t memory; /* bytes; 1 forces one hypothesis per block */
    int coarse;
} config;

static void check_against_brute_force(const config *c)
{
    float *xa = exact_matrix(c->na, c->d, c->coarse), *xb = exact_matrix(c->nb, c->d, c->coarse);
    float *h = exact_matrix(c->k, c->d, c->coarse);
    hr_hypothesis_score *want = malloc(c->k * sizeof *want), *got = malloc(c->k * sizeof *got);
    brute_force(xa, c->na, xb, c->nb, h, c->k, c->d, want);
    hr_scorer_options o = hr_scorer_default_options();
    o.method = HR_SCORE_COSINE; /* the other methods: tests/test_scoring_methods.c */
    o.device = HR_DEVICE_CPU;
    o.n_threads = c->threads;
    o.memory_bytes = c->memory;
    hr_scorer *s = NULL;
    char err[256] = "";
    CHECKF(hr_scorer_create(xa, c->na, xb, c->nb, (int)c->d, &o, &s, err, sizeof err) == HR_OK, "%s", err);
    if (s) {
        CHECK(hr_scorer_device(s) == HR_DEVICE_CPU);
        if (c->memory == 1) CHECK(hr_scorer_block_rows(s) == 1);
        /* Twice: slabs and workspaces are reused between calls. */
        for (int rep = 0; rep < 2; rep++) {
            CHECKF(hr_scorer_score(s, h, c->k, got, err, sizeof err) == HR_OK, "%s", err);
            int bad = 0;
            for (size_t r = 0; r < c->k && bad < 5; r++) {
                const hr_hypothesis_score *g = &got[r], *w = &want[r];
                /* Means: float scores summed in double in other orders; N
                 * roundings of at most DBL_EPSILON times the magnitude (<= 64). */
                const double mtol = (double)(c->na + c->nb) * DBL_EPSILON * 64.0;
                int ok = g->auroc == w->auroc && g->u == w->u && g->z == w->z &&
                         g->p_value == w->p_value && g->q_value == w->q_value &&
                         fabs(g->mean_a - w->mean_a) <= mtol && fabs(g->mean_b - w->mean_b) <= mtol;
                if (!ok) bad++;
                CHECKF(ok,
                       "%zu+%zu x %zu (d %zu, %d threads, %zu B) hypothesis %zu: auroc %.17g/%.17g "
                       "p %.17g/%.17g q %.17g/%.17g means %.17g/%.17g %.17g/%.17g",
                       c->na, c->nb, c->k, c->d, c->threads, c->memory, r, g->auroc, w->auroc,
                       g->p_value, w->p_value, g->q_value, w->q_value, g->mean_a, w->mean_a,
                       g->mean_b, w->mean_b);
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

static void test_scorer_equals_brute_force_with_tiles_that_divide_nothing(void)
{
    rng_state = 1;
    const config cs[] = {
        {37, 29, 13, 7, 1, 1, 0},           /* a hypothesis per block */
        {123, 77, 41, 19, 2, 3 * 200 * 4 * 2, 0}, /* 3 rows per block, 2 threads */
        {1000, 1, 5, 64, 3, 0, 0},          /* default budget, more threads than blocks */
        {1, 500, 64, 33, 2, 1, 0},
        {1, 1, 3, 4, 1, 0, 0},              /* one sample a side */
        {301, 299, 97, 16, 2, 5 * 600 * 4, 1}, /* coarse: heavy ties */
        {2500, 2400, 130, 64, 2, 7 * 4900 * 4, 0},
    };
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) check_against_brute_force(&cs[i]);
}

static void test_scorer_rejects_what_it_cannot_score(void)
{
    float x[8] = {0}, h[4] = {1, 0, 0, 0};
    hr_scorer *s = NULL;
    char err[256] = "";
    CHECK(hr_scorer_create(x, 0, x, 2, 4, NULL, &s, err, sizeof err) == HR_ERR_INPUT);
    CHECKF(strstr(err, "group A has no samples") != NULL, "%s", err);
    CHECK(s == NULL);
    hr_scorer_options o = hr_scorer_default_options();
    o.device = HR_DEVICE_CUDA;
    o.temperature = 30.0; /* GPU contrast is offered up to T = 1: refused on any machine */
    CHECK(hr_scorer_create(x, 1, x, 1, 4, &o, &s, err, sizeof err) == HR_ERR_UNSUPPORTED);
    /* the reason: the temperature where the build has the CUDA backend, else the build */
    const char *why = NULL;
    const int no_cuda = !hr_device_usable(HR_DEVICE_CUDA, &why) && why &&
                        strstr(why, "without the CUDA toolkit") != NULL;
    CHECKF(strstr(err, no_cuda ? "without the CUDA toolkit" : "temperature") != NULL, "%s", err);
    o.temperature = 0.0;
    if (!hr_device_usable(HR_DEVICE_CUDA, NULL)) { /* without a GPU, cuda says why */
        hr_status st = hr_scorer_create(x, 1, x, 1, 4, &o, &s, err, sizeof err);
        CHECKF(st == HR_ERR_NO_DEVICE || st == HR_ERR_UNSUPPORTED, "%d: %s", (int)st, err);
        CHECK(s == NULL);
    }
    /* A NaN sample makes NaN scores: named by hypothesis and sample (the
     * pool-relative methods name the embedding: tests/test_scoring_methods.c). */
    float xa[8] = {1, 0, 0, 0, 0, 1, 0, 0}, xb[8] = {0, 0, 1, 0, 0, 0, 0, 1};
    xb[4] = NAN;
    o = hr_scorer_default_options();
    o.method = HR_SCORE_COSINE;
    CHECK(hr_scorer_create(xa, 2, xb, 2, 4, &o, &s, err, sizeof err) == HR_OK);
    hr_hypothesis_score r;
    CHECK(hr_scorer_score(s, h, 1, &r, err, sizeof err) == HR_ERR_INPUT);
    CHECKF(strstr(err, "hypothesis 0") && strstr(err, "B sample 1"), "%s", err);
    CHECK(hr_scorer_score(s, h, 0, &r, err, sizeof err) == HR_OK); /* nothing to do */
    hr_scorer_destroy(s);
    hr_scorer_destroy(NULL);
}

/* ------------------------------------------------------------------------ */
/* Under the null                                                            */

/* A corpus of n unit vectors in dimension d: a rank-r subspace (with decaying
 * spread) plus isotropic noise, as sentence embeddings are: strongly
 * correlated directions, not independent coordinates. (n, d) row-major. */
static float *synthetic_corpus(size_t n, size_t d, size_t r, float *basis /* (r, d) */)
{
    for (size_t i = 0; i < r * d; i++) basis[i] = (float)(rng_normal() / sqrt((double)d));
    float *x = malloc(n * d * sizeof *x);
    for (size_t i = 0; i < n; i++) {
        double norm = 0.0;
        for (size_t c = 0; c < d; c++) {
            double v = 0.3 * rng_normal() / sqrt((double)d);
            x[i * d + c] = (float)v;
        }
        for (size_t k = 0; k < r; k++) {
            const double z = rng_normal() / (1.0 + (double)k);
            for (size_t c = 0; c < d; c++) x[i * d + c] += (float)(z * basis[k * d + c]);
        }
        for (size_t c = 0; c < d; c++) norm += (double)x[i * d + c] * x[i * d + c];
        for (size_t c = 0; c < d; c++) x[i * d + c] = (float)(x[i * d + c] / sqrt(norm));
    }
    return x;
}

static void null_p_values_are_uniform_and_bh_controls_false_discoveries(hr_score_method method)
{
    /* One corpus, split at random into halves A and B many times: every
     * hypothesis is null. For each split the p-value of one hypothesis
     * (a different one each time; splits are independent, so these p-values
     * are i.i.d.) goes into a Kolmogorov-Smirnov test of uniformity at the
     * 1% level: D_n < 1.628 / sqrt(n) (the asymptotic critical value; for
     * n = 1000 the exact one is 0.0514, a hair above). And BH at q = 0.05
     * over all K hypotheses of a split: every discovery is false, so the
     * false discovery proportion is 1 when anything is discovered. Its mean
     * over the splits estimates the FDR, which BH keeps at or under 5% for
     * such positively dependent tests; the estimate may exceed 0.05 by
     * chance, so the bound is checked as a one-sided binomial test at the
     * 1% level too: mean <= 0.05 + 2.326 sqrt(0.05 * 0.95 / R).
     *
     * For every score method: a pool-relative score is a function of the
     * sample and the pool alone, so under the null its p-values must be
     * uniform too, and BH must hold up under the dependence between the
     * hypotheses that the pool creates. Same data for every method. */
    rng_state = 20240601;
    const size_t n = 400, d = 64, rank = 8, k = 50, splits = 1000;
    float *basis = malloc(rank * d * sizeof *basis);
    float *pool = synthetic_corpus(n, d, rank, basis);
    /* Hypotheses: in the corpus's subspace, plus noise, normalised; some
     * near-duplicates, as real candidate pools have. (k, d) row-major. */
    float *h = synthetic_corpus(k, d, rank, basis);
    float *xa = malloc(n / 2 * d * sizeof *xa), *xb = malloc(n / 2 * d * sizeof *xb);
    size_t *perm = malloc(n * sizeof *perm);
    double *ps = malloc(splits * sizeof *ps);
    double *all_p = malloc(splits * k * sizeof *all_p);
    hr_hypothesis_score *r = malloc(k * sizeof *r);
    double fdp_sum = 0.0;
    for (size_t sp = 0; sp < splits; sp++) {
        for (size_t i = 0; i < n; i++) perm[i] = i;
        for (size_t i = n - 1; i > 0; i--) { /* Fisher-Yates */
            size_t j = (size_t)(rng_next() % (i + 1)), t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        for (size_t i = 0; i < n / 2; i++) {
            memcpy(xa + i * d, pool + perm[i] * d, d * sizeof *xa);
            memcpy(xb + i * d, pool + perm[n / 2 + i] * d, d * sizeof *xb);
        }
        hr_scorer *s = NULL;
        hr_scorer_options o = hr_scorer_default_options();
        o.method = method;
        o.n_threads = 1 + (int)(sp % 2);
        if (hr_scorer_create(xa, n / 2, xb, n / 2, (int)d, &o, &s, NULL, 0) != HR_OK ||
            hr_scorer_score(s, h, k, r, NULL, 0) != HR_OK) {
            CHECK(!"scoring failed");
            hr_scorer_destroy(s);
            break;
        }
        hr_scorer_destroy(s);
        ps[sp] = r[sp % k].p_value;
        size_t found = 0;
        for (size_t i = 0; i < k; i++) {
            found += r[i].q_value <= 0.05;
            all_p[sp * k + i] = r[i].p_value;
        }
        fdp_sum += found ? 1.0 : 0.0;
    }
    const char *name = hr_score_method_str(method);
    const double ks = ks_uniform(ps, splits), crit = 1.628 / sqrt((double)splits);
    CHECKF(ks < crit, "%s: KS distance %.4f, 1%% critical value %.4f", name, ks, crit);
    const double fdr = fdp_sum / (double)splits;
    const double bound = 0.05 + 2.326 * sqrt(0.05 * 0.95 / (double)splits);
    CHECKF(fdr <= bound, "%s: mean false discovery proportion %.4f over %zu splits (bound %.4f)",
           name, fdr, splits, bound);
    /* Pooled over hypotheses (dependent within a split, so no formal test):
     * the fraction of p-values below 0.05 and 0.01 near their levels. */
    size_t below5 = 0, below1 = 0;
    for (size_t i = 0; i < splits * k; i++) {
        below5 += all_p[i] < 0.05;
        below1 += all_p[i] < 0.01;
    }
    fprintf(stderr, "null, %s: KS %.4f (critical %.4f), FDR %.4f (bound %.4f), P(p<.05) %.4f, "
                    "P(p<.01) %.4f\n",
            name, ks, crit, fdr, bound, (double)below5 / (double)(splits * k),
            (double)below1 / (double)(splits * k));
    free(basis);
    free(pool);
    free(h);
    free(xa);
    free(xb);
    free(perm);
    free(ps);
    free(all_p);
    free(r);
}

static void test_null_p_values_are_uniform_and_bh_controls_false_discoveries(void)
{
    null_p_values_are_uniform_and_bh_controls_false_discoveries(HR_SCORE_COSINE);
    null_p_values_are_uniform_and_bh_controls_false_discoveries(HR_SCORE_CENTERED);
    null_p_values_are_uniform_and_bh_controls_false_discoveries(HR_SCORE_CONTRAST);
}

static void test_bh_keeps_fdr_with_real_differences_and_finds_them(void)
{
    /* A differs from B along one direction u only: x = L z + noise (+ delta u
     * in A), with L orthogonal to u and isotropic noise, so a hypothesis
     * orthogonal to u scores A and B alike (a true null) and one along u
     * does not. 20 of 60 hypotheses lean on u. Over many draws, the mean of
     * false discoveries / discoveries stays at or under 5% (same binomial
     * allowance as above), and most true differences are found.
     *
     * Raw cosine only: under a pool-relative score a hypothesis orthogonal
     * to u is no longer a true null (its score is measured against the
     * hypotheses that lean on u, which do differ between A and B), as
     * hyporank/scorer.h says; tests/test_scoring_methods.c checks what those
     * methods promise in this setting. */
    rng_state = 77;
    const size_t d = 48, rank = 6, k = 60, k_true = 20, na = 150, nb = 170, draws = 300;
    float *u = malloc(d * sizeof *u), *basis = malloc(rank * d * sizeof *basis);
    float *h = malloc(k * d * sizeof *h), *xa = malloc(na * d * sizeof *xa),
          *xb = malloc(nb * d * sizeof *xb);
    hr_hypothesis_score *r = malloc(k * sizeof *r);
    /* u = e_0; the subspace and the null hypotheses live in coordinates >= 1. */
    memset(u, 0, d * sizeof *u);
    u[0] = 1.0f;
    for (size_t i = 0; i < rank * d; i++) basis[i] = i % d == 0 ? 0.0f : (float)rng_normal();
    double fdp_sum = 0.0, power_sum = 0.0;
    for (size_t t = 0; t < draws; t++) {
        for (size_t i = 0; i < k; i++)
            for (size_t c = 0; c < d; c++)
                h[i * d + c] = c == 0 ? (i < k_true ? (float)(2.0 + rng_uniform()) : 0.0f)
                                      : (float)(0.15 * rng_normal());
        for (size_t side = 0; side < 2; side++) {
            float *x = side ? xb : xa;
            const size_t m = side ? nb : na;
            for (size_t i = 0; i < m; i++) {
                for (size_t c = 0; c < d; c++) x[i * d + c] = (float)rng_normal();
                for (size_t q = 0; q < rank; q++) {
                    const double z = rng_normal();
                    for (size_t c = 0; c < d; c++) x[i * d + c] += (float)(z * basis[q * d + c]);
                }
                if (!side) x[i * d] += 1.5f;
            }
        }
        hr_scorer *s = NULL;
        hr_scorer_options o = hr_scorer_default_options();
        o.method = HR_SCORE_COSINE;
        if (hr_scorer_create(xa, na, xb, nb, (int)d, &o, &s, NULL, 0) != HR_OK ||
            hr_scorer_score(s, h, k, r, NULL, 0) != HR_OK) {
            CHECK(!"scoring failed");
            hr_scorer_destroy(s);
            break;
        }
        hr_scorer_destroy(s);
        size_t found = 0, false_found = 0, true_found = 0;
        for (size_t i = 0; i < k; i++)
            if (r[i].q_value <= 0.05) {
                found++;
                if (i < k_true) true_found++;
                else false_found++;
            }
        fdp_sum += found ? (double)false_found / (double)found : 0.0;
        power_sum += (double)true_found / (double)k_true;
    }
    const double fdr = fdp_sum / (double)draws, power = power_sum / (double)draws;
    const double bound = 0.05 + 2.326 * sqrt(0.05 * 0.95 / (double)draws);
    CHECKF(fdr <= bound, "FDR %.4f over %zu draws (bound %.4f)", fdr, draws, bound);
    CHECKF(power >= 0.5, "found only %.2f of the true differences", power);
    fprintf(stderr, "mixture: FDR %.4f (bound %.4f), power %.3f\n", fdr, bound, power);
    free(u);
    free(basis);
    free(h);
    free(xa);
    free(xb);
    free(r);
}

/* hr_similarity_block_start: blocks that start at multiples of
 * HR_SIMILARITY_ROW_ALIGN (the bits of the scores depend on it), end at k,
 * and each hold k / n_blocks rows to within one alignment. */
static void test_block_starts_are_aligned_and_balanced(void)
{
    const size_t a = HR_SIMILARITY_ROW_ALIGN;
    const size_t ks[] = {1, 40, 95, 96, 97, 300, 1000, 4097, 100000};
    for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++)
        for (size_t nb = 1; nb <= 24; nb++) {
            const size_t k = ks[ki];
            const double share = (double)k / (double)nb;
            size_t prev = 0;
            CHECK(hr_similarity_block_start(0, nb, k) == 0);
            CHECK(hr_similarity_block_start(nb, nb, k) == k);
            for (size_t b = 1; b <= nb; b++) {
                const size_t s = hr_similarity_block_start(b, nb, k);
                CHECKF(s >= prev && (s % a == 0 || s == k),
                       "k %zu, %zu blocks: block %zu starts at %zu", k, nb, b, s);
                CHECKF(fabs((double)(s - prev) - share) <= (double)a,
                       "k %zu, %zu blocks: block %zu holds %zu rows, not about %.1f", k, nb,
                       b - 1, s - prev, share);
                prev = s;
            }
        }
}

/* The scores are the same bits whatever the thread count and memory
 * budget, on real-valued vectors (not the exact grids above): the blocks the
 * threads take start at multiples of HR_SIMILARITY_ROW_ALIGN
 * (score_methods.h), so BLAS sums every similarity in the same order. The
 * small budget makes blocks of at most 150 rows a thread (starts 0, 96,
 * 192 on one thread). */
static void test_scores_do_not_depend_on_the_thread_count(void)
{
    rng_state = 4242;
    const size_t na = 3000, nb = 2000, k = 300;
    const int d = 384;
    float *xa = malloc(na * d * sizeof *xa), *xb = malloc(nb * d * sizeof *xb);
    float *h = malloc(k * d * sizeof *h);
    for (size_t i = 0; i < na * d; i++) xa[i] = (float)(rng_normal() * 0.05 + (i % d == 0) * 0.01);
    for (size_t i = 0; i < nb * d; i++) xb[i] = (float)(rng_normal() * 0.05);
    for (size_t i = 0; i < k * d; i++) h[i] = (float)(rng_normal() * 0.05);
    hr_hypothesis_score *one = calloc(k, sizeof *one), *got = calloc(k, sizeof *got);
    for (int run = 0; run < 6; run++) {
        const int threads = 1 + run % 3, small = run >= 3;
        hr_scorer_options o = hr_scorer_default_options();
        o.method = HR_SCORE_COSINE;
        o.device = HR_DEVICE_CPU;
        o.n_threads = threads;
        if (small) o.memory_bytes = (size_t)threads * 150 * (na + nb) * sizeof(float);
        hr_scorer *s = NULL;
        char err[256] = "";
        CHECKF(hr_scorer_create(xa, na, xb, nb, d, &o, &s, err, sizeof err) == HR_OK, "%s", err);
        if (!s) break;
        CHECKF(hr_scorer_score(s, h, k, run == 0 ? one : got, err, sizeof err) == HR_OK, "%s",
               err);
        for (size_t r = 0; run > 0 && r < k; r++)
            CHECKF(memcmp(&one[r], &got[r], sizeof one[r]) == 0,
                   "%d threads%s, hypothesis %zu: mean_a %.17g vs %.17g (1 thread)", threads,
                   small ? ", small budget" : "", r, got[r].mean_a, one[r].mean_a);
        hr_scorer_destroy(s);
    }
    free(xa), free(xb), free(h), free(one), free(got);
}

int main(void)
{
    RUN(test_block_starts_are_aligned_and_balanced);
    RUN(test_scores_do_not_depend_on_the_thread_count);
    RUN(test_scorer_equals_brute_force_with_tiles_that_divide_nothing);
    RUN(test_scorer_rejects_what_it_cannot_score);
    RUN(test_null_p_values_are_uniform_and_bh_controls_false_discoveries);
    RUN(test_bh_keeps_fdr_with_real_differences_and_finds_them);
    return test_summary();
}
