/*
 * tests/test_explain.c: the statistics of hyporank/explain.h on synthetic
 * data: the weighted AUROC, the per-text features against the scorer, greedy
 * selection preferring a complementary feature to a redundant one, nested
 * cross-validation staying honest on noise, a later round keeping each
 * fold's choices first, the readable model applied to new texts, the
 * bootstrap interval and its guards, and the residual; for continuous
 * targets, Spearman's rho with average ranks, ridge regression against a
 * hand-solved 2-D system, plain folds, and the nested procedure and its
 * bootstrap on planted signal and on noise.
 */
#include "test_util.h"
#include "core/random.h"

#include "hyporank/explain.h"
#include "hyporank/scorer.h"

#include <math.h>
#include <stdint.h>

static uint64_t state;

static double uniform(void)
{
    return hr_random_uniform(&state);
}

static double gaussian(void)
{
    double u = uniform(), v = uniform();
    return sqrt(-2 * log(u > 0 ? u : 1e-300)) * cos(6.283185307179586 * v);
}

static void test_auroc_counts_ties_one_half_and_weights_as_copies(void)
{
    char err[256];
    const double v[] = {0.1, 0.4, 0.4, 0.8, 0.3, 0.4};
    const uint8_t y[] = {0, 1, 0, 1, 0, 1};
    double a;
    /* positives 0.4, 0.8, 0.4; negatives 0.1, 0.4, 0.3: pairs won
     * 0.4: 1 + 0.5 + 1, 0.8: 3, 0.4: 2.5 -> 8 / 9 */
    CHECK(hr_explain_auroc(v, y, NULL, 6, &a, err, sizeof err) == HR_OK);
    CHECKF(fabs(a - 8.0 / 9.0) < 1e-15, "auroc %g", a);
    /* Weight 2 on row 0 and 0 on row 5 is the vector with row 0 twice and no row 5. */
    const double w[] = {2, 1, 1, 1, 1, 0};
    const double v2[] = {0.1, 0.1, 0.4, 0.4, 0.8, 0.3};
    const uint8_t y2[] = {0, 0, 1, 0, 1, 0};
    double b, c;
    CHECK(hr_explain_auroc(v, y, w, 6, &b, err, sizeof err) == HR_OK);
    CHECK(hr_explain_auroc(v2, y2, NULL, 6, &c, err, sizeof err) == HR_OK);
    CHECKF(fabs(b - c) < 1e-15, "%g vs %g", b, c);
    const uint8_t one[] = {1, 1, 1, 1, 1, 1};
    CHECK(hr_explain_auroc(v, one, NULL, 6, &a, err, sizeof err) == HR_ERR_INPUT);
}

static void test_features_agree_with_the_scorer_for_every_method(void)
{
    enum { NA = 30, NB = 25, K = 7, D = 16 };
    static float X[(NA + NB) * D], H[K * D], F[(NA + NB) * K];
    state = 5;
    for (int i = 0; i < (NA + NB) * D; i++) X[i] = (float)gaussian() * 0.3f;
    for (int i = 0; i < K * D; i++) H[i] = (float)gaussian() * 0.3f;
    char err[256];
    const hr_score_method methods[] = {HR_SCORE_COSINE, HR_SCORE_CENTERED, HR_SCORE_CONTRAST};
    for (int mi = 0; mi < 3; mi++) {
        hr_scorer_options o = hr_scorer_default_options();
        o.method = methods[mi];
        o.n_threads = 1;
        hr_scorer *s = NULL;
        hr_hypothesis_score r[K];
        CHECK(hr_scorer_create(X, NA, X + NA * D, NB, D, &o, &s, err, sizeof err) == HR_OK);
        CHECK(hr_scorer_score(s, H, K, r, err, sizeof err) == HR_OK);
        hr_scorer_destroy(s);
        CHECK(hr_explain_features(X, NA + NB, H, K, D, methods[mi], 0, F, err, sizeof err) ==
              HR_OK);
        for (int k = 0; k < K; k++) {
            double ma = 0, mb = 0;
            for (int i = 0; i < NA; i++) ma += F[i * K + k];
            for (int i = NA; i < NA + NB; i++) mb += F[i * K + k];
            ma /= NA, mb /= NB;
            /* float features against the scorer's: a few float roundings of
             * values of order 1 (CONTRAST's pool term at T = 0.02 adds a
             * log-sum-exp, still far below 1e-5). */
            CHECKF(fabs(ma - r[k].mean_a) < 1e-5 && fabs(mb - r[k].mean_b) < 1e-5,
                   "%s k=%d: %g %g vs %g %g", hr_score_method_str(methods[mi]), k, ma, mb,
                   r[k].mean_a, r[k].mean_b);
        }
    }
}

/* y depends on two signals, z1 strongly and z2 less; column A = z1 + noise,
 * C = A + tiny noise (redundant), B = z2 + noise; the rest is noise.
 * F: (n, K). */
enum { COL_A = 3, COL_B = 5, COL_C = 7 };
static void make_two_signals(size_t n, size_t K, float *F, uint8_t *y)
{
    for (size_t i = 0; i < n; i++) {
        double z1 = gaussian(), z2 = gaussian();
        y[i] = 1.6 * z1 + 1.2 * z2 + 0.5 * gaussian() > 0;
        for (size_t k = 0; k < K; k++) F[i * K + k] = (float)gaussian();
        F[i * K + COL_A] = (float)(z1 + 0.3 * gaussian());
        F[i * K + COL_C] = (float)(F[i * K + COL_A] + 0.05 * gaussian());
        F[i * K + COL_B] = (float)(z2 + 0.3 * gaussian());
    }
}

static void test_greedy_adds_the_complementary_feature_not_the_redundant_one(void)
{
    enum { N = 400, K = 30 };
    static float F[N * K];
    static uint8_t y[N];
    state = 11;
    make_two_signals(N, K, F, y);
    char err[256];
    hr_explain_options o = hr_explain_default_options();
    o.top_k = 3;
    size_t sel[3], ns = 0;
    double cv[3];
    CHECK(hr_explain_select(F, N, K, y, NULL, N, &o, 1, sel, cv, &ns, err, sizeof err) == HR_OK);
    CHECK(ns == 3);
    /* Ranked alone, C and A lead (z1 is the stronger signal) ... */
    double auroc[K];
    size_t order[K];
    CHECK(hr_explain_rank(F, N, K, y, NULL, N, auroc, order, err, sizeof err) == HR_OK);
    CHECKF((order[0] == COL_A || order[0] == COL_C) && (order[1] == COL_A || order[1] == COL_C),
           "order %zu %zu %zu", order[0], order[1], order[2]);
    /* ... but the second step takes B, which adds what A lacks. */
    CHECKF(sel[0] == COL_A || sel[0] == COL_C, "first %zu", sel[0]);
    CHECKF(sel[1] == COL_B, "second %zu", sel[1]);
    CHECKF(cv[1] > cv[0] + 0.02, "cv %g then %g", cv[0], cv[1]);
}

static void test_nested_cross_validation_is_honest_on_noise_and_finds_signal(void)
{
    enum { N = 300, K = 60 };
    static float F[N * K];
    static uint8_t y[N];
    char err[256];
    hr_explain_options o = hr_explain_default_options();
    o.top_k = 3;
    hr_explain_result r;

    /* Pure noise: choosing the best of 60 looks good on the rows that chose
     * it, but not held out. */
    state = 21;
    for (size_t i = 0; i < N * K; i++) F[i] = (float)gaussian();
    for (size_t i = 0; i < N; i++) y[i] = i % 2;
    CHECK(hr_explain_fit(F, N, K, y, &o, &r, err, sizeof err) == HR_OK);
    CHECK(r.n_selected == 3 && r.folds == 5);
    /* Held-out AUROC of a model with no signal: about 0.5 with standard
     * error sqrt(1/12 (1/150 + 1/150)) = 0.033; 0.12 is 3.6 of them. */
    for (size_t j = 0; j < r.n_selected; j++)
        CHECKF(fabs(r.step_auroc[j] - 0.5) < 0.12, "step %zu: %g", j, r.step_auroc[j]);
    CHECKF(r.select_auroc[0] > r.step_auroc[0], "the criterion %g is no higher than held out %g",
           r.select_auroc[0], r.step_auroc[0]);
    hr_explain_result_free(&r);

    /* Two signals: both found, and the held-out AUROC grows with the second. */
    state = 31;
    make_two_signals(N, K, F, y);
    CHECK(hr_explain_fit(F, N, K, y, &o, &r, err, sizeof err) == HR_OK);
    CHECK(r.selected[0] == COL_A || r.selected[0] == COL_C);
    CHECK(r.selected[1] == COL_B);
    CHECKF(r.step_auroc[1] > r.step_auroc[0] + 0.02 && r.step_auroc[1] > 0.9, "%g %g",
           r.step_auroc[0], r.step_auroc[1]);
    CHECKF(r.first_agree >= 3, "first choice agreed in %d folds", r.first_agree);
    /* Every held-out value is set (a finite number). */
    for (size_t i = 0; i < r.n_selected * (size_t)N; i++) CHECK(isfinite(r.heldout[i]));
    hr_explain_result_free(&r);

    /* Too few texts of a class for the folds. */
    for (size_t i = 0; i < N; i++) y[i] = i < 9;
    CHECK(hr_explain_fit(F, N, K, y, &o, &r, err, sizeof err) == HR_ERR_INPUT);
    CHECKF(strstr(err, "at least 10") != NULL, "%s", err);
    hr_explain_result_free(&r);
}

static void test_a_later_round_keeps_each_folds_choice_first_and_continues_greedily(void)
{
    enum { N = 300, K = 40 };
    static float F[N * K];
    static uint8_t y[N];
    char err[256];
    state = 51;
    make_two_signals(N, K, F, y);
    /* Round 1 sees only the first 20 columns, without B (column 25 holds B's
     * values; column 5 becomes noise). */
    for (size_t i = 0; i < N; i++) {
        F[i * K + 25] = F[i * K + COL_B];
        F[i * K + COL_B] = (float)gaussian();
    }
    float *F1 = malloc(N * 20 * sizeof *F1); /* (N, 20) the first round's columns */
    for (size_t i = 0; i < N; i++) memcpy(F1 + i * 20, F + i * K, 20 * sizeof *F1);
    hr_explain_options o = hr_explain_default_options();
    o.top_k = 1;
    hr_explain_result r1, r2;
    CHECK(hr_explain_fit(F1, N, 20, y, &o, &r1, err, sizeof err) == HR_OK);
    CHECK(r1.n_selected == 1 && (r1.selected[0] == COL_A || r1.selected[0] == COL_C));
    CHECK(hr_explain_refit(F, N, K, y, &o, &r1, &r2, err, sizeof err) == HR_OK);
    CHECK(r2.n_selected == 2 && r2.selected[0] == r1.selected[0]);
    CHECKF(r2.selected[1] == 25, "second %zu", r2.selected[1]);
    for (int f = 0; f < o.folds; f++)
        CHECKF(r2.fold_selected[f * 2] == r1.fold_selected[f], "fold %d", f);
    /* The kept step is the same model on the same folds: the same values. */
    for (size_t i = 0; i < N; i++) CHECK(r2.heldout[i] == r1.heldout[i]);
    CHECKF(r2.step_auroc[1] > r1.step_auroc[0] + 0.02, "%g then %g", r1.step_auroc[0],
           r2.step_auroc[1]);
    hr_explain_result_free(&r2);

    /* A weak previous choice is kept first all the same. */
    size_t weak = 10;
    for (int f = 0; f < o.folds; f++) r1.fold_selected[f] = weak;
    r1.selected[0] = weak;
    CHECK(hr_explain_refit(F, N, K, y, &o, &r1, &r2, err, sizeof err) == HR_OK);
    CHECK(r2.selected[0] == weak && r2.fold_selected[0] == weak);
    CHECK(r2.selected[1] == COL_A || r2.selected[1] == COL_C || r2.selected[1] == 25);
    hr_explain_result_free(&r2);

    /* Other folds than the previous round's: refused. */
    o.folds = 4;
    CHECK(hr_explain_refit(F, N, K, y, &o, &r1, &r2, err, sizeof err) == HR_ERR_INPUT);
    hr_explain_result_free(&r1);
    free(F1);
}

static void test_the_readable_model_applies_to_new_texts(void)
{
    enum { N = 300, K = 20 };
    static float F[N * K], G[N * K];
    static uint8_t y[N], yg[N];
    static double v[N];
    char err[256];
    state = 61;
    make_two_signals(N, K, F, y);
    make_two_signals(N, K, G, yg);
    const size_t cols[] = {COL_A, COL_B};
    double a;
    CHECK(hr_explain_apply(F, N, K, y, cols, 2, 1.0, G, N, v, err, sizeof err) == HR_OK);
    CHECK(hr_explain_auroc(v, yg, NULL, N, &a, err, sizeof err) == HR_OK);
    /* The two true signals on fresh texts: well above the single A (about 0.85). */
    CHECKF(a > 0.9, "AUROC on new texts %g", a);
    const size_t bad[] = {K};
    CHECK(hr_explain_apply(F, N, K, y, bad, 1, 1.0, G, N, v, err, sizeof err) == HR_ERR_INPUT);
}

static void test_bootstrap_interval_and_its_guards(void)
{
    enum { N = 400 };
    static double ref[N], hyp[N], noise[N];
    static uint8_t y[N];
    char err[256];
    state = 41;
    for (int i = 0; i < N; i++) {
        y[i] = i % 2;
        ref[i] = 1.5 * y[i] + gaussian();
        hyp[i] = 0.8 * y[i] + gaussian();
        noise[i] = gaussian();
    }
    hr_explain_ratio x, x2;
    /* The same model twice explains all of itself, in every resample. */
    CHECK(hr_explain_bootstrap(ref, ref, y, N, 500, 1, 0.01, &x, err, sizeof err) == HR_OK);
    CHECK(x.status == HR_EXPLAINED_OK && x.explained == 1.0 && x.ci_low == 1.0 && x.ci_high == 1.0);

    CHECK(hr_explain_bootstrap(ref, hyp, y, N, 1000, 7, 0.01, &x, err, sizeof err) == HR_OK);
    CHECK(x.status == HR_EXPLAINED_OK && x.resamples == 1000 && x.undefined == 0);
    CHECKF(fabs(x.explained - (x.hyp_auroc - 0.5) / (x.ref_auroc - 0.5)) < 1e-15, "X");
    CHECKF(x.ci_low < x.explained && x.explained < x.ci_high, "[%g, %g] around %g", x.ci_low,
           x.ci_high, x.explained);
    CHECKF(x.ci_low > 0.3 && x.ci_high < 1.0, "[%g, %g]", x.ci_low, x.ci_high);
    CHECK(x.ref_ci_low < x.ref_auroc && x.ref_auroc < x.ref_ci_high);
    /* Seeded: the same seed gives the same interval, bit for bit. */
    CHECK(hr_explain_bootstrap(ref, hyp, y, N, 1000, 7, 0.01, &x2, err, sizeof err) == HR_OK);
    CHECK(x2.ci_low == x.ci_low && x2.ci_high == x.ci_high);

    /* A reference at or below chance: X undefined, not a division. */
    double worse[N];
    for (int i = 0; i < N; i++) worse[i] = -ref[i];
    CHECK(hr_explain_bootstrap(worse, hyp, y, N, 200, 1, 0.01, &x, err, sizeof err) == HR_OK);
    CHECK(x.status == HR_EXPLAINED_UNDEFINED && isnan(x.explained) && isnan(x.ci_low));

    /* A reference barely above chance: often undefined in the resamples, so
     * no interval (or, if one is given, it is wide). */
    double weak[N];
    for (int i = 0; i < N; i++) weak[i] = 0.1 * y[i] + noise[i];
    CHECK(hr_explain_bootstrap(weak, hyp, y, N, 1000, 3, 0.01, &x, err, sizeof err) == HR_OK);
    if (x.ref_auroc - 0.5 > 0.01)
        CHECKF(x.status == HR_EXPLAINED_UNSTABLE && x.undefined > 25 && isnan(x.ci_low),
               "status %s, ref %g, undefined %d", hr_explained_status_str(x.status), x.ref_auroc,
               x.undefined);
    else
        CHECK(x.status == HR_EXPLAINED_UNDEFINED);
}

static void test_residual_lists_what_only_the_reference_gets_right(void)
{
    /* 3 positives (rows 0-2), 3 negatives (rows 3-5). The cut calls the top 3
     * of each model positive. ref is right on all; hyp swaps rows 2 and 3,
     * and row 5 is its lowest. */
    const uint8_t y[] = {1, 1, 1, 0, 0, 0};
    const double ref[] = {0.9, 0.8, 0.7, 0.3, 0.2, 0.1};
    const double hyp[] = {0.9, 0.8, 0.1, 0.7, 0.3, 0.05};
    size_t rows[6], count = 99;
    char err[256];
    CHECK(hr_explain_residual(ref, hyp, y, 6, rows, &count, err, sizeof err) == HR_OK);
    CHECK(count == 2);
    /* hyp's order ascending: 5 (0.05), 2 (0.1), 4, 3, 1, 0; cut at place 3.
     * Row 2 (positive) is at place 1: 2 places below the cut; row 3
     * (negative) at place 3: 1 place above it. Most wrong first. */
    CHECKF(count == 2 && rows[0] == 2 && rows[1] == 3, "%zu %zu", rows[0], rows[1]);
}

static void test_spearman_averages_tied_ranks_and_weights_as_copies(void)
{
    char err[256];
    /* ranks a: 1, 2.5, 2.5, 4; ranks b: 1, 3, 2, 4; centred: (-1.5, 0, 0, 1.5)
     * and (-1.5, 0.5, -0.5, 1.5): 4.5 / sqrt(4.5 * 5). */
    const double a[] = {1, 2, 2, 3}, b[] = {10, 30, 20, 40};
    double r;
    CHECK(hr_explain_spearman(a, b, NULL, 4, &r, err, sizeof err) == HR_OK);
    CHECKF(fabs(r - 4.5 / sqrt(22.5)) < 1e-14, "rho %.17g", r);
    /* Weight 2 on row 0 and 0 on row 3 is the vector with row 0 twice and no row 3. */
    const double w[] = {2, 1, 1, 0};
    const double a2[] = {1, 1, 2, 2}, b2[] = {10, 10, 30, 20};
    double r1, r2;
    CHECK(hr_explain_spearman(a, b, w, 4, &r1, err, sizeof err) == HR_OK);
    CHECK(hr_explain_spearman(a2, b2, NULL, 4, &r2, err, sizeof err) == HR_OK);
    CHECKF(fabs(r1 - r2) < 1e-14, "%.17g vs %.17g", r1, r2);
    const double c[] = {5, 5, 5, 5};
    CHECK(hr_explain_spearman(a, c, NULL, 4, &r, err, sizeof err) == HR_OK && isnan(r));
    const double bad[] = {1, NAN, 2, 3};
    CHECK(hr_explain_spearman(bad, b, NULL, 4, &r, err, sizeof err) == HR_ERR_INPUT);
}

static void test_ridge_solves_a_hand_computed_two_dimensional_system(void)
{
    char err[256];
    /* X rows (0,0) (1,0) (1,1) (2,3), t 0 1 3 4: means (1, 1) and 2; centred
     * Xc^T Xc = [[2, 3], [3, 6]], Xc^T tc = (4, 7); with lambda 1,
     * [[3, 3], [3, 7]] beta = (4, 7): beta = (7/12, 9/12), b0 = 2 - 16/12. */
    const float X[] = {0, 0, 1, 0, 1, 1, 2, 3};
    const double t[] = {0, 1, 3, 4};
    double beta[2], b0;
    CHECK(hr_explain_ridge_fit(X, 4, 2, t, NULL, 4, 1.0, beta, &b0, err, sizeof err) == HR_OK);
    CHECKF(fabs(beta[0] - 7.0 / 12) < 1e-12 && fabs(beta[1] - 9.0 / 12) < 1e-12,
           "beta %.17g %.17g", beta[0], beta[1]);
    CHECKF(fabs(b0 - 2.0 / 3) < 1e-12, "b0 %.17g", b0);
    /* The rows given are the only ones used: a wild fifth row changes nothing. */
    const float X5[] = {0, 0, 1, 0, 1, 1, 2, 3, 100, -100};
    const double t5[] = {0, 1, 3, 4, 1e6};
    const size_t rows[] = {3, 0, 2, 1};
    double beta5[2], b05;
    CHECK(hr_explain_ridge_fit(X5, 5, 2, t5, rows, 4, 1.0, beta5, &b05, err, sizeof err) == HR_OK);
    CHECK(fabs(beta5[0] - beta[0]) < 1e-12 && fabs(beta5[1] - beta[1]) < 1e-12 &&
          fabs(b05 - b0) < 1e-12);
    CHECK(hr_explain_ridge_fit(X, 4, 2, t, NULL, 4, 0.0, beta, &b0, err, sizeof err) ==
          HR_ERR_INPUT);
    const double pred[] = {0, 1, 3, 5};
    CHECKF(fabs(hr_explain_r2(pred, t, 4) - (1 - 1.0 / 10)) < 1e-14, "R^2");
}

static void test_plain_folds_deal_every_row_once_in_near_equal_folds(void)
{
    char err[256];
    int fold[103], count[5] = {0};
    CHECK(hr_explain_plain_folds(103, 5, 9, fold, err, sizeof err) == HR_OK);
    for (int i = 0; i < 103; i++) {
        CHECK(fold[i] >= 0 && fold[i] < 5);
        if (fold[i] >= 0 && fold[i] < 5) count[fold[i]]++;
    }
    for (int f = 0; f < 5; f++) CHECKF(count[f] == 20 || count[f] == 21, "fold %d: %d", f, count[f]);
    CHECK(hr_explain_plain_folds(3, 5, 9, fold, err, sizeof err) == HR_ERR_INPUT);
}

static void test_continuous_fit_finds_planted_signal_and_stays_honest_on_noise(void)
{
    enum { N = 200, K = 8 };
    static float F[N * K];
    static double t[N], noise[N], ref[N];
    char err[256];
    state = 31;
    for (int i = 0; i < N * K; i++) F[i] = (float)gaussian();
    for (int i = 0; i < N; i++) {
        t[i] = F[i * K + 5] + 0.5 * F[i * K + 2] + 0.3 * gaussian();
        noise[i] = gaussian();
        ref[i] = t[i] + 0.2 * gaussian(); /* a good reference */
    }
    hr_explain_options o = hr_explain_default_options();
    o.top_k = 3;
    hr_explain_result r;
    CHECK(hr_explain_fit_continuous(F, N, K, t, &o, &r, err, sizeof err) == HR_OK);
    if (r.n_selected == 3) {
        CHECK(r.continuous == 1 && r.step_r2 != NULL);
        CHECKF(r.selected[0] == 5 && r.selected[1] == 2, "chose %zu, %zu", r.selected[0],
               r.selected[1]);
        CHECKF(r.step_auroc[1] > 0.85, "held-out rho %g", r.step_auroc[1]);
        CHECKF(r.step_r2[1] > 0.7, "held-out R^2 %g", r.step_r2[1]);
        CHECKF(r.first_agree == 5, "first agree %d", r.first_agree);
        hr_explain_ratio x;
        CHECK(hr_explain_bootstrap_continuous(ref, r.heldout + N, t, N, 500, 3, 0.01, &x, err,
                                              sizeof err) == HR_OK);
        CHECKF(x.status == HR_EXPLAINED_OK && x.explained > 0.85 && x.ci_low <= x.explained &&
                   x.explained <= x.ci_high && x.ci_high < 1.2,
               "X %g [%g, %g]", x.explained, x.ci_low, x.ci_high);
    }
    hr_explain_result_free(&r);

    /* Noise: nothing generalises; the reference is no better than chance. */
    CHECK(hr_explain_fit_continuous(F, N, K, noise, &o, &r, err, sizeof err) == HR_OK);
    if (r.n_selected == 3) {
        CHECKF(fabs(r.step_auroc[2]) < 0.2, "held-out rho on noise %g", r.step_auroc[2]);
        CHECKF(r.step_r2[2] < 0.05, "held-out R^2 on noise %g", r.step_r2[2]);
        hr_explain_ratio x;
        static double refn[N];
        CHECK(hr_explain_ridge_cv(F, N, K, noise, 1.0, 5, 1, refn, err, sizeof err) == HR_OK);
        CHECK(hr_explain_bootstrap_continuous(refn, r.heldout + 2 * N, noise, N, 500, 3, 0.01, &x,
                                              err, sizeof err) == HR_OK);
        CHECKF(fabs(x.ref_auroc) < 0.2, "reference rho %g", x.ref_auroc);
        CHECKF(x.status != HR_EXPLAINED_OK || x.ci_low <= 0, "X %g [%g, %g]", x.explained,
               x.ci_low, x.ci_high);
    }
    hr_explain_result_free(&r);
    double c[N];
    for (int i = 0; i < N; i++) c[i] = 2;
    CHECK(hr_explain_fit_continuous(F, N, K, c, &o, &r, err, sizeof err) == HR_ERR_INPUT);
    CHECK(hr_explain_fit_continuous(F, 10, K, t, &o, &r, err, sizeof err) == HR_ERR_INPUT);
}

static void test_ridge_cv_predicts_held_out_rows_of_a_linear_target(void)
{
    enum { N = 120, D = 6 };
    static float X[N * D];
    static double t[N], p[N];
    char err[256];
    state = 8;
    for (int i = 0; i < N * D; i++) X[i] = (float)gaussian();
    for (int i = 0; i < N; i++) t[i] = 3 + 2 * X[i * D] - X[i * D + 3] + 0.1 * gaussian();
    CHECK(hr_explain_ridge_cv(X, N, D, t, 1.0, 5, 1, p, err, sizeof err) == HR_OK);
    double r;
    CHECK(hr_explain_spearman(p, t, NULL, N, &r, err, sizeof err) == HR_OK);
    CHECKF(r > 0.95, "rho %g", r);
    CHECKF(hr_explain_r2(p, t, N) > 0.9, "R^2 %g", hr_explain_r2(p, t, N));
}

int main(void)
{
    RUN(test_auroc_counts_ties_one_half_and_weights_as_copies);
    RUN(test_features_agree_with_the_scorer_for_every_method);
    RUN(test_greedy_adds_the_complementary_feature_not_the_redundant_one);
    RUN(test_nested_cross_validation_is_honest_on_noise_and_finds_signal);
    RUN(test_a_later_round_keeps_each_folds_choice_first_and_continues_greedily);
    RUN(test_the_readable_model_applies_to_new_texts);
    RUN(test_bootstrap_interval_and_its_guards);
    RUN(test_residual_lists_what_only_the_reference_gets_right);
    RUN(test_spearman_averages_tied_ranks_and_weights_as_copies);
    RUN(test_ridge_solves_a_hand_computed_two_dimensional_system);
    RUN(test_plain_folds_deal_every_row_once_in_near_equal_folds);
    RUN(test_ridge_cv_predicts_held_out_rows_of_a_linear_target);
    RUN(test_continuous_fit_finds_planted_signal_and_stays_honest_on_noise);
    return test_summary();
}
