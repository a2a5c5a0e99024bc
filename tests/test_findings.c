/*
 * tests/test_findings.c: effects and findings (hyporank/findings.h).
 *
 * The effect's arithmetic is checked against an independent NumPy
 * implementation (tests/fixtures/effects-cases.json, written by
 * tests/fixtures/gen-effects-fixture.py); the statistics against known
 * truth on seeded simulations: topics are random directions of a
 * 48-dimensional space, a text is its topic's direction plus noise (cosine
 * about 0.45 to its topic's description, 0 +- 0.14 to the others', as
 * all-MiniLM-L6-v2's similarities go), and one topic is planted in A.
 * tests/test_describe_api.c checks the same on real headlines.
 */
#include "hyporank/findings.h"
#include "core/random.h"
#include "scoring/effects_internal.h"
#include "core/simd.h"
#include "test_util.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_float(const void *x, const void *y)
{
    const float a = *(const float *)x, b = *(const float *)y;
    return (a > b) - (a < b);
}

static void test_quantiles_match_a_sort_with_ties(void)
{
    uint64_t st = 7;
    static const double q[] = {0.0, 0.25, 0.5, 0.5, 0.7, 0.75, 0.98, 1.0};
    const size_t nq = sizeof q / sizeof q[0];
    for (int trial = 0; trial < 200; trial++) {
        const size_t n = 1 + (size_t)hr_random_below(&st, trial < 100 ? 40 : 3000);
        const int levels = trial % 3 == 0 ? 3 : 1000000; /* many ties, or few */
        float *v = malloc(n * sizeof *v), *w = malloc(n * sizeof *w);
        for (size_t i = 0; i < n; i++)
            v[i] = w[i] = (float)hr_random_below(&st, (uint64_t)levels) / 7.0f;
        if (trial == 5) /* sorted input */
            qsort(v, n, sizeof *v, cmp_float), memcpy(w, v, n * sizeof *w);
        double got[8];
        hr_quantiles(v, n, q, nq, got);
        qsort(w, n, sizeof *w, cmp_float);
        for (size_t j = 0; j < nq; j++) {
            const double pos = (double)(n - 1) * q[j];
            const size_t k = (size_t)floor(pos);
            const double want =
                k + 1 < n ? w[k] + (pos - (double)k) * ((double)w[k + 1] - (double)w[k]) : w[k];
            CHECKF(fabs(got[j] - want) <= 1e-12 * (1 + fabs(want)),
                   "n %zu q %.2f: %.17g, sorted %.17g", n, q[j], got[j], want);
        }
        free(v), free(w);
    }
}

/* The effect of each case against the NumPy reference. */
static void test_effects_match_the_numpy_reference(void)
{
    char *text = test_read_file(test_fixture("effects-cases.json"));
    cJSON *root = text ? cJSON_Parse(text) : NULL;
    CHECKF(root != NULL, "tests/fixtures/effects-cases.json is missing or does not parse");
    free(text);
    if (!root) return;
    int cases = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(root, "cases"))
    {
        const cJSON *sa = cJSON_GetObjectItem(c, "a"), *sb = cJSON_GetObjectItem(c, "b");
        const size_t na = (size_t)cJSON_GetArraySize(sa), nb = (size_t)cJSON_GetArraySize(sb);
        float *s = malloc((na + nb) * sizeof *s), *scratch = malloc((na + nb) * sizeof *s);
        for (size_t i = 0; i < na; i++) s[i] = (float)cJSON_GetArrayItem(sa, (int)i)->valuedouble;
        for (size_t i = 0; i < nb; i++)
            s[na + i] = (float)cJSON_GetArrayItem(sb, (int)i)->valuedouble;
        hr_effect e;
        CHECK(hr_effect_row(s, na, nb, scratch, &e, NULL, 0) == HR_OK);
        const cJSON *want = cJSON_GetObjectItem(c, "want");
        static const char *names[] = {"tau", "mu0", "sigma", "delta", "gain", "hinge_a", "hinge_b",
                                      "z", "p_value", "effect", "share_a", "share_b", "ci_low",
                                      "ci_high"};
        const double got[] = {e.tau, e.mu0, e.sigma, e.delta, e.gain, e.hinge_a, e.hinge_b,
                              e.z, e.p_value, e.effect, e.share_a, e.share_b, e.ci_low,
                              e.ci_high};
        for (size_t f = 0; f < sizeof names / sizeof *names; f++) {
            const double w = cJSON_GetObjectItem(want, names[f])->valuedouble;
            /* float similarities summed in double on both sides: agreement to
             * 1e-9 relative (the p-value's tail to 1e-9 of its own size) */
            CHECKF(fabs(got[f] - w) <= 1e-9 * (fabs(w) + 1e-12) + 1e-12,
                   "case %d %s: %.17g, NumPy %.17g", cases, names[f], got[f], w);
        }
        free(s), free(scratch);
        cases++;
    }
    CHECK(cases >= 10);
    cJSON_Delete(root);
}

/* A counted predicate's effect against statsmodels (counted-cases.json:
 * Newcombe's interval, the score test), Newcombe's own examples among
 * them; the screen's threshold stays as it was. */
static void test_counted_effects_match_statsmodels(void)
{
    char *text = test_read_file(test_fixture("counted-cases.json"));
    cJSON *root = text ? cJSON_Parse(text) : NULL;
    CHECKF(root != NULL, "tests/fixtures/counted-cases.json is missing or does not parse");
    free(text);
    if (!root) return;
    int cases = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(root, "cases"))
    {
        const size_t ca = (size_t)cJSON_GetObjectItem(c, "count_a")->valuedouble;
        const size_t cb = (size_t)cJSON_GetObjectItem(c, "count_b")->valuedouble;
        hr_effect e;
        memset(&e, 0, sizeof e);
        e.n_a = (size_t)cJSON_GetObjectItem(c, "n_a")->valuedouble;
        e.n_b = (size_t)cJSON_GetObjectItem(c, "n_b")->valuedouble;
        e.tau = 0.25, e.hinge_a = 0.5, e.mixture = 1, e.q_value = 0.5;
        CHECK(hr_effect_set_counted(&e, ca, cb, NULL, 0) == HR_OK);
        const cJSON *want = cJSON_GetObjectItem(c, "want");
        static const char *names[] = {"ci_low", "ci_high", "z", "p_value"};
        const double got[] = {e.ci_low, e.ci_high, e.z, e.p_value};
        for (size_t f = 0; f < sizeof names / sizeof *names; f++) {
            const double w = cJSON_GetObjectItem(want, names[f])->valuedouble;
            CHECKF(fabs(got[f] - w) <= 1e-9 * fabs(w) + 1e-12, "case %d (%zu/%zu, %zu/%zu) %s: %.17g, "
                   "statsmodels %.17g", cases, ca, e.n_a, cb, e.n_b, names[f], got[f], w);
        }
        CHECK(e.share_a == (double)ca / (double)e.n_a && e.share_b == (double)cb / (double)e.n_b);
        CHECK(e.effect == e.share_a - e.share_b && e.ci_low <= e.effect && e.effect <= e.ci_high);
        CHECK(e.counted == 1 && e.mixture == 0 && e.count_a == ca && e.count_b == cb);
        /* the dilution test's means and variances are the 0/1 truth's; tau
         * (the overlap test's hinge) and q stay */
        const double va = e.n_a > 1 ? (double)ca * (1.0 - e.share_a) / (double)(e.n_a - 1) : 0.0;
        CHECKF(e.hinge_a == e.share_a && e.hinge_b == e.share_b &&
                   fabs(e.var_a - va) <= 1e-12 * (va + 1e-300),
               "case %d: hinge %g %g var %g (want %g)", cases, e.hinge_a, e.hinge_b, e.var_a, va);
        CHECK(e.tau == 0.25 && e.q_value == 0.5);
        cases++;
    }
    CHECK(cases >= 30);
    cJSON_Delete(root);
    /* Newcombe (1998), Table II, method 10, as published: 56/70 - 48/80 */
    hr_effect e;
    memset(&e, 0, sizeof e);
    e.n_a = 70, e.n_b = 80;
    CHECK(hr_effect_set_counted(&e, 56, 48, NULL, 0) == HR_OK);
    CHECKF(fabs(e.ci_low - 0.0524) < 5e-5 && fabs(e.ci_high - 0.3339) < 5e-5, "[%.4f, %.4f]",
           e.ci_low, e.ci_high);
    char err[128];
    CHECK(hr_effect_set_counted(&e, 71, 0, err, sizeof err) == HR_ERR_INPUT);
    CHECK(hr_effect_set_counted(&e, 0, 81, err, sizeof err) == HR_ERR_INPUT);
}

/* Seeded simulation: texts hold a counted predicate with probability pa in
 * A and pb in B. The counted interval covers pa - pb in about 95% of the
 * draws (Newcombe's interval keeps its level with few texts and rare
 * words, where a Wald interval falls short), and under pa = pb the test
 * rejects at 5% about 5% of the time. */
static void test_counted_intervals_cover_the_truth(void)
{
    static const struct {
        size_t na, nb;
        double pa, pb;
    } cases[] = {{50, 60, 0.1, 0.02}, {500, 400, 0.04, 0.017}, {2000, 2000, 0.003, 0.0},
                 {300, 300, 0.5, 0.45}, {20000, 17000, 0.04, 0.017}};
    uint64_t st = 2026;
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        enum { REPS = 4000 };
        size_t covered = 0, rejected = 0;
        for (int rep = 0; rep < REPS; rep++) {
            size_t ca = 0, cb = 0;
            for (size_t i = 0; i < cases[c].na; i++) ca += hr_random_uniform(&st) < cases[c].pa;
            for (size_t i = 0; i < cases[c].nb; i++) cb += hr_random_uniform(&st) < cases[c].pb;
            hr_effect e;
            memset(&e, 0, sizeof e);
            e.n_a = cases[c].na, e.n_b = cases[c].nb;
            CHECK(hr_effect_set_counted(&e, ca, cb, NULL, 0) == HR_OK);
            const double truth = cases[c].pa - cases[c].pb;
            covered += e.ci_low <= truth && truth <= e.ci_high;
            /* the null: B's draw against a second draw of B */
            size_t cb2 = 0;
            for (size_t i = 0; i < cases[c].na; i++) cb2 += hr_random_uniform(&st) < cases[c].pb;
            e.n_a = cases[c].na;
            CHECK(hr_effect_set_counted(&e, cb2, cb, NULL, 0) == HR_OK);
            rejected += e.p_value <= 0.05;
        }
        const double cover = (double)covered / REPS, level = (double)rejected / REPS;
        printf("  %zu vs %zu texts, %.3f vs %.3f: coverage %.3f, null rejections %.3f\n",
               cases[c].na, cases[c].nb, cases[c].pa, cases[c].pb, cover, level);
        CHECKF(cover >= 0.93 && cover <= 0.985, "coverage %.3f", cover);
        CHECKF(level <= 0.065, "null rejections %.3f", level);
    }
}

static double normal(uint64_t *st);

/* The histogram twin (what the CUDA scorer computes effects from) against
 * the exact effect: similarities binned as kernels/scorer.cu bins them
 * (65536 bins over [-1, 1]) give quantiles within a bin width, hinges
 * within one and a half (each value at its bin's centre, and the
 * threshold), and the effect within that over the gain. */
static void test_effects_from_histograms_match_the_exact_ones(void)
{
    enum { BINS = 65536 };
    const double width = 2.0 / BINS;
    uint32_t *ca = malloc(BINS * sizeof *ca), *cb = malloc(BINS * sizeof *cb);
    uint64_t st = 99;
    for (int trial = 0; trial < 20; trial++) {
        const size_t na = 500 + (size_t)hr_random_below(&st, 20000);
        const size_t nb = 500 + (size_t)hr_random_below(&st, 20000);
        const double share = 0.05 * (double)(trial % 5), shift = 0.1 + 0.02 * (double)trial;
        float *s = malloc((na + nb) * sizeof *s), *scratch = malloc((na + nb) * sizeof *s);
        memset(ca, 0, BINS * sizeof *ca), memset(cb, 0, BINS * sizeof *cb);
        for (size_t i = 0; i < na + nb; i++) {
            double v = 0.1 + 0.08 * normal(&st);
            if (i < na && hr_random_uniform(&st) < share) v += shift;
            s[i] = (float)v;
            float t = (s[i] + 1.0f) * (float)(BINS / 2); /* kernels/scorer.cu's score_bin */
            t = fminf(fmaxf(t, 0.f), (float)(BINS - 1));
            (i < na ? ca : cb)[(int)t]++;
        }
        hr_effect exact, binned;
        CHECK(hr_effect_row(s, na, nb, scratch, &exact, NULL, 0) == HR_OK);
        double stats[HR_EFFECT_STATS];
        hr_effect_hist_stats(ca, cb, BINS, -1.0, width, stats);
        hr_effect_finish(stats, na, nb, &binned);
        CHECKF(fabs(binned.tau - exact.tau) <= width && fabs(binned.mu0 - exact.mu0) <= width,
               "trial %d: threshold %.7f exact %.7f", trial, binned.tau, exact.tau);
        CHECKF(fabs(binned.hinge_a - exact.hinge_a) <= 1.5 * width &&
                   fabs(binned.hinge_b - exact.hinge_b) <= 1.5 * width,
               "trial %d: hinges %.7f %.7f exact %.7f %.7f", trial, binned.hinge_a, binned.hinge_b,
               exact.hinge_a, exact.hinge_b);
        const double tol = 3 * width / exact.gain + 0.01 * fabs(exact.effect);
        CHECKF(fabs(binned.effect - exact.effect) <= tol, "trial %d: effect %.6f exact %.6f",
               trial, binned.effect, exact.effect);
        free(s), free(scratch);
    }
    free(ca), free(cb);
}

/* ---- simulated corpora -------------------------------------------------- */

enum { D = 48, TOPICS = 12, BANK = 120, PARA = 3 };

typedef struct world {
    float topic[TOPICS][D]; /* unit directions */
    float *h;               /* (k, D) candidates: TOPICS descriptions, PARA paraphrases
                               of topic 0, BANK random ones */
    size_t k;
} world;

static double normal(uint64_t *st)
{
    const double u = (hr_splitmix64(st) >> 11) * 0x1.0p-53 + 0x1.0p-54;
    const double v = hr_random_uniform(st);
    return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}

/* x = unit(direction + sd noise) with noise of D independent N(0, 1 / D). */
static void noisy(const float *dir, double sd, uint64_t *st, float *x)
{
    double n2 = 0;
    for (int c = 0; c < D; c++) {
        const double v = (dir ? dir[c] : 0.0) + sd * normal(st) / sqrt((double)D);
        x[c] = (float)v;
        n2 += v * v;
    }
    for (int c = 0; c < D; c++) x[c] = (float)(x[c] / sqrt(n2));
}

static void make_world(world *w, uint64_t seed)
{
    uint64_t st = seed;
    for (int t = 0; t < TOPICS; t++) noisy(NULL, 1.0, &st, w->topic[t]);
    w->k = TOPICS + PARA + BANK;
    w->h = malloc(w->k * D * sizeof *w->h);
    for (int t = 0; t < TOPICS; t++) noisy(w->topic[t], 0.2, &st, w->h + t * D);
    for (int p = 0; p < PARA; p++) noisy(w->topic[0], 0.35, &st, w->h + (TOPICS + p) * D);
    for (int b = 0; b < BANK; b++) noisy(NULL, 1.0, &st, w->h + (TOPICS + PARA + b) * D);
}

/* n texts: a share of them about topic 0 (planted), the rest about topics
 * 1..TOPICS-1 (background; with background_all, topics 0..TOPICS-1). */
static float *make_texts(const world *w, size_t n, double share, int background_all,
                         uint64_t *st)
{
    float *x = malloc(n * D * sizeof *x);
    const size_t planted = (size_t)llround(share * (double)n);
    for (size_t i = 0; i < n; i++) {
        const int t = i < planted ? 0
                                  : (background_all ? (int)hr_random_below(st, TOPICS)
                                                    : 1 + (int)hr_random_below(st, TOPICS - 1));
        noisy(w->topic[t], 1.6, st, x + i * D);
    }
    return x;
}

typedef struct outcome {
    size_t findings, true_findings, shadows_reported, significant;
    int paraphrases_grouped;
    double planted_effect, planted_lo, planted_hi;
} outcome;

static outcome run(const world *w, const float *xa, size_t na, const float *xb, size_t nb)
{
    outcome o;
    memset(&o, 0, sizeof o);
    hr_effect *e = malloc(w->k * sizeof *e);
    hr_finding *f = malloc(w->k * sizeof *f);
    CHECK(hr_effect_rows(xa, na, xb, nb, D, w->h, w->k, e, NULL, 0) == HR_OK);
    CHECK(hr_effect_qvalues(e, w->k, NULL, 0) == HR_OK);
    hr_findings_input in = {xa, xb, na, nb, D, NULL, NULL, w->h, w->k, NULL};
    size_t nf = 0;
    CHECK(hr_findings_select(&in, NULL, e, f, &nf, NULL, 0) == HR_OK);
    o.findings = nf;
    long planted_finding = -1;
    for (size_t i = 0; i < w->k; i++) {
        o.significant += e[i].q_value <= 0.05;
        if (!f[i].is_finding) continue;
        /* the first finding is given nothing but the constant: what it holds
         * for beyond that is the difference of its hinge means over the gain */
        if (f[i].order == 0) {
            const double want = (e[i].hinge_a - e[i].hinge_b) / e[i].gain;
            CHECKF(fabs(f[i].effect_beyond - want) <= 1e-9 && f[i].effect_beyond_se > 0,
                   "first finding: beyond %.17g, hinge difference / gain %.17g",
                   f[i].effect_beyond, want);
        }
        /* true: direction A, about topic 0 (its description or a paraphrase) */
        const int about_0 = i == 0 || (i >= TOPICS && i < TOPICS + PARA);
        if (about_0 && e[i].effect > 0) o.true_findings++, planted_finding = (long)i;
        else o.shadows_reported++;
    }
    if (planted_finding >= 0) {
        int grouped = 0;
        for (size_t i = 0; i < TOPICS + PARA; i++)
            if ((i == 0 || i >= TOPICS) && (long)i != planted_finding)
                grouped += f[i].explained_by == planted_finding && f[i].paraphrase;
        o.paraphrases_grouped = grouped == PARA;
    }
    o.planted_effect = e[0].effect, o.planted_lo = e[0].ci_low, o.planted_hi = e[0].ci_high;
    free(e), free(f);
    return o;
}

/* 20% of A about topic 0: found (power), its paraphrases under it, the
 * other topics (rarer in A by a fifth: dilution) explained, not reported. */
static void test_a_planted_topic_is_found_and_its_shadows_explained(void)
{
    const int trials = 40;
    int found = 0, grouped = 0, with_any = 0;
    size_t reported = 0, shadows = 0, significant = 0;
    for (int t = 0; t < trials; t++) {
        world w;
        make_world(&w, 100 + (uint64_t)t);
        uint64_t st = 1000 + (uint64_t)t;
        float *xa = make_texts(&w, 500, 0.2, 0, &st), *xb = make_texts(&w, 500, 0.0, 0, &st);
        outcome o = run(&w, xa, 500, xb, 500);
        found += o.true_findings > 0;
        grouped += o.paraphrases_grouped;
        reported += o.findings, shadows += o.shadows_reported, significant += o.significant;
        with_any += o.findings > 0;
        free(xa), free(xb), free(w.h);
    }
    const double fdp = reported ? (double)shadows / (double)reported : 0.0;
    fprintf(stderr, "  planted 20%%: found in %d/%d, %zu findings of which %zu shadows, "
                    "%zu significant alone in all, paraphrases grouped in %d\n",
            found, trials, reported, shadows, significant, grouped);
    /* The bounds: power >= 0.9, at most 10% of findings shadows,
     * while the candidates significant alone are many more. */
    CHECKF(found >= (int)(0.9 * trials), "power %d/%d", found, trials);
    CHECKF(fdp <= 0.10, "%zu of %zu findings are shadows", shadows, reported);
    CHECK(significant > 3 * reported);
    CHECKF(grouped >= (int)(0.9 * found), "paraphrases grouped in %d of %d", grouped, found);
}

/* A topic of four parts (each its own direction besides the topic's):
 * texts of part p are unit(topic + part_p + noise). Candidates: the topic's
 * description, one for each part, the other topics' and the bank. With 20%
 * of A about the topic and 10,000 texts a side, each part holds for 5% of
 * A and none of B: a difference of its own, but a part of the finding, not
 * a second one. The finding's similarity tells its texts only roughly, so
 * given the similarity alone a text of A is still likelier one of them than
 * a text of B; the selection must take the side into account or report the
 * parts beside the topic. A further 10% of A is about topic 1 (then 16% of
 * A against 9% of B): a second finding, which must still be found. */
enum { PARTS = 4 };

static void test_parts_of_a_finding_are_not_further_findings(void)
{
    const int trials = 6;
    const size_t n = 10000;
    int found = 0, second = 0;
    size_t parts_reported = 0, others = 0;
    for (int t = 0; t < trials; t++) {
        world w;
        make_world(&w, 300 + (uint64_t)t);
        uint64_t st = 3000 + (uint64_t)t;
        float part[PARTS][D], dir[D];
        for (int p = 0; p < PARTS; p++) noisy(NULL, 1.0, &st, part[p]);
        const size_t k = w.k + PARTS;
        float *h = malloc(k * D * sizeof *h);
        memcpy(h, w.h, w.k * D * sizeof *h);
        for (int p = 0; p < PARTS; p++) noisy(part[p], 0.2, &st, h + (w.k + (size_t)p) * D);
        float *xa = make_texts(&w, n, 0.2, 0, &st), *xb = make_texts(&w, n, 0.0, 0, &st);
        const size_t planted = (size_t)llround(0.2 * (double)n);
        for (size_t i = 0; i < planted; i++) { /* the topic's texts: one part each */
            const int p = (int)(i % PARTS);
            for (int c = 0; c < D; c++) dir[c] = (w.topic[0][c] + part[p][c]) / (float)sqrt(2.0);
            noisy(dir, 1.6, &st, xa + i * D);
        }
        for (size_t i = planted; i < planted + n / 10; i++) noisy(w.topic[1], 1.6, &st, xa + i * D);
        hr_effect *e = malloc(k * sizeof *e);
        hr_finding *f = malloc(k * sizeof *f);
        CHECK(hr_effect_rows(xa, n, xb, n, D, h, k, e, NULL, 0) == HR_OK);
        CHECK(hr_effect_qvalues(e, k, NULL, 0) == HR_OK);
        hr_findings_input in = {xa, xb, n, n, D, NULL, NULL, h, k, NULL};
        size_t nf = 0;
        CHECK(hr_findings_select(&in, NULL, e, f, &nf, NULL, 0) == HR_OK);
        const int about_0 = f[0].is_finding || (f[TOPICS].is_finding || f[TOPICS + 1].is_finding ||
                                                f[TOPICS + 2].is_finding);
        found += about_0;
        second += f[1].is_finding && e[1].effect > 0;
        for (size_t i = 0; i < k; i++) {
            if (!f[i].is_finding) continue;
            if (i >= w.k) parts_reported++;
            else if (i > 1 && !(i >= TOPICS && i < TOPICS + PARA)) others++;
        }
        free(e), free(f), free(h), free(xa), free(xb), free(w.h);
    }
    fprintf(stderr, "  topic of %d parts: found in %d/%d, parts reported %zu of %d, others %zu; "
                    "second topic found in %d/%d\n",
            PARTS, found, trials, parts_reported, PARTS * trials, others, second, trials);
    CHECKF(found == trials, "the topic found in %d of %d", found, trials);
    CHECKF(second == trials, "the second topic found in %d of %d", second, trials);
    CHECKF(parts_reported + others <= 1, "%zu parts and %zu others reported besides the topic",
           parts_reported, others);
}

/* A and B from one pool: no finding (at most a few of many trials: each is
 * a test at level 0.05), and p-values uniform. */
static void test_the_null_gives_no_finding(void)
{
    const int trials = 60;
    int any = 0;
    size_t n_p = 0, below[4] = {0, 0, 0, 0}; /* p below 0.01, 0.05, 0.25, 0.5 */
    static const double cut[4] = {0.01, 0.05, 0.25, 0.5};
    for (int t = 0; t < trials; t++) {
        world w;
        make_world(&w, 500 + (uint64_t)t);
        uint64_t st = 7000 + (uint64_t)t;
        float *xa = make_texts(&w, 400, 0.0, 1, &st), *xb = make_texts(&w, 400, 0.0, 1, &st);
        hr_effect *e = malloc(w.k * sizeof *e);
        hr_finding *f = malloc(w.k * sizeof *f);
        CHECK(hr_effect_rows(xa, 400, xb, 400, D, w.h, w.k, e, NULL, 0) == HR_OK);
        CHECK(hr_effect_qvalues(e, w.k, NULL, 0) == HR_OK);
        hr_findings_input in = {xa, xb, 400, 400, D, NULL, NULL, w.h, w.k, NULL};
        size_t nf = 0;
        CHECK(hr_findings_select(&in, NULL, e, f, &nf, NULL, 0) == HR_OK);
        any += nf > 0;
        for (size_t i = 0; i < w.k; i++, n_p++)
            for (int c = 0; c < 4; c++) below[c] += e[i].p_value < cut[c];
        free(e), free(f), free(xa), free(xb), free(w.h);
    }
    fprintf(stderr, "  null: findings in %d of %d trials; p below 0.01/0.05/0.25/0.5: "
                    "%.3f %.3f %.3f %.3f\n",
            any, trials, (double)below[0] / n_p, (double)below[1] / n_p, (double)below[2] / n_p,
            (double)below[3] / n_p);
    /* P(any finding) <= 0.05 per trial; 8 of 60 is beyond the 99.9% point. */
    CHECKF(any <= 8, "findings in %d of %d null trials", any, trials);
    /* The p-values of 8,100 (dependent) tests: each share within 0.02 + 25%
     * of its level. */
    for (int c = 0; c < 4; c++) {
        const double share = (double)below[c] / (double)n_p;
        CHECKF(fabs(share - cut[c]) <= 0.02 + 0.25 * cut[c], "p < %g in %.3f of the tests",
               cut[c], share);
    }
}

/* The same texts on both sides: nothing differs. */
static void test_identical_inputs_differ_in_nothing(void)
{
    world w;
    make_world(&w, 3);
    uint64_t st = 4;
    float *x = make_texts(&w, 300, 0.3, 0, &st);
    hr_effect *e = malloc(w.k * sizeof *e);
    hr_finding *f = malloc(w.k * sizeof *f);
    CHECK(hr_effect_rows(x, 300, x, 300, D, w.h, w.k, e, NULL, 0) == HR_OK);
    CHECK(hr_effect_qvalues(e, w.k, NULL, 0) == HR_OK);
    for (size_t i = 0; i < w.k; i++) {
        CHECK(e[i].effect == 0.0 && e[i].z == 0.0 && e[i].p_value == 1.0);
        CHECK(e[i].share_a == e[i].share_b);
    }
    hr_findings_input in = {x, x, 300, 300, D, NULL, NULL, w.h, w.k, NULL};
    size_t nf = 5;
    CHECK(hr_findings_select(&in, NULL, e, f, &nf, NULL, 0) == HR_OK);
    CHECK(nf == 0);
    for (size_t i = 0; i < w.k; i++) CHECK(!f[i].is_finding && f[i].explained_by == -1);
    free(e), free(f), free(x), free(w.h);
}

/* Bit for bit what the reference (portable loops, one worker) gives. */
static int same_bits(const void *x, const void *y, size_t n)
{
    return memcmp(x, y, n) == 0;
}

/* The selection's figures do not depend on the SIMD level or the number of
 * workers: two planted topics (two findings, so every covariate column and
 * the tests after them), bank candidates on all rows and candidates drawn
 * from the data on the held-out half. */
static void test_findings_are_the_same_bits_at_every_level_and_thread_count(void)
{
    world w;
    make_world(&w, 7);
    uint64_t st = 8;
    const size_t n = 3000;
    float *xa = make_texts(&w, n, 0.2, 0, &st), *xb = make_texts(&w, n, 0.0, 0, &st);
    for (size_t i = n / 5; i < n / 5 + n / 10; i++) noisy(w.topic[1], 1.6, &st, xa + i * D);
    uint8_t *held_a = malloc(n), *held_b = malloc(n), *drawn = malloc(w.k);
    for (size_t i = 0; i < n; i++) held_a[i] = i % 2, held_b[i] = (i / 3) % 2;
    for (size_t i = 0; i < w.k; i++) drawn[i] = i % 3 == 2;
    hr_effect *e0 = malloc(w.k * sizeof *e0), *e = malloc(w.k * sizeof *e);
    hr_finding *ref = malloc(w.k * sizeof *ref), *f = malloc(w.k * sizeof *f);
    hr_effect *eref = malloc(w.k * sizeof *eref);
    CHECK(hr_effect_rows(xa, n, xb, n, D, w.h, w.k, e0, NULL, 0) == HR_OK);
    CHECK(hr_effect_qvalues(e0, w.k, NULL, 0) == HR_OK);
    hr_findings_input in = {xa, xb, n, n, D, held_a, held_b, w.h, w.k, drawn};
    const struct {
        hr_simd_level level;
        int threads;
    } runs[] = {{HR_SIMD_PORTABLE, 1}, {HR_SIMD_AVX2, 1}, {HR_SIMD_AVX512, 1},
                {HR_SIMD_PORTABLE, 3}, {HR_SIMD_AVX512, 2}, {HR_SIMD_AVX512, 0}};
    size_t nf_ref = 0;
    for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
        hr_simd_cap(runs[r].level);
        hr_findings_options o = hr_findings_default_options();
        o.n_threads = runs[r].threads;
        memcpy(e, e0, w.k * sizeof *e);
        size_t nf = 0;
        CHECK(hr_findings_select(&in, &o, e, r ? f : ref, &nf, NULL, 0) == HR_OK);
        if (r == 0) {
            nf_ref = nf;
            memcpy(eref, e, w.k * sizeof *e);
            CHECKF(nf >= 2, "%zu findings: the test wants two topics found", nf);
            continue;
        }
        CHECKF(nf == nf_ref, "level %d, %d workers: %zu findings, %zu with the reference",
               (int)runs[r].level, runs[r].threads, nf, nf_ref);
        size_t differ = 0;
        for (size_t i = 0; i < w.k; i++) {
            const hr_finding *a = &ref[i], *b = &f[i];
            differ += a->is_finding != b->is_finding || a->order != b->order ||
                      a->explained_by != b->explained_by || a->paraphrase != b->paraphrase ||
                      !same_bits(&a->p_conditional, &b->p_conditional, sizeof(double)) ||
                      !same_bits(&a->effect_beyond, &b->effect_beyond, sizeof(double)) ||
                      !same_bits(&a->effect_beyond_se, &b->effect_beyond_se, sizeof(double)) ||
                      !same_bits(&eref[i].share_a, &e[i].share_a, sizeof(double)) ||
                      !same_bits(&eref[i].ci_low, &e[i].ci_low, sizeof(double)) ||
                      eref[i].mixture != e[i].mixture;
        }
        CHECKF(differ == 0, "level %d, %d workers: %zu candidates differ from the reference",
               (int)runs[r].level, runs[r].threads, differ);
    }
    hr_simd_cap(HR_SIMD_AVX512);
    free(e0), free(e), free(eref), free(ref), free(f), free(held_a), free(held_b), free(drawn);
    free(xa), free(xb), free(w.h);
}

/* Similarities that separate the sides perfectly and tie within each (the
 * pooled 70th percentile is the top value itself): effect 1, p 0. */
static void test_a_tied_clean_separation_is_a_full_effect(void)
{
    enum { N = 50 };
    float s[2 * N], scratch[2 * N];
    for (int i = 0; i < 2 * N; i++) s[i] = i < N ? 0.8f : 0.1f;
    hr_effect e;
    CHECK(hr_effect_row(s, N, N, scratch, &e, NULL, 0) == HR_OK);
    CHECKF(e.effect == 1.0 && e.share_a == 1.0 && e.share_b == 0.0 && e.p_value == 0.0,
           "effect %g, shares %g / %g, p %g", e.effect, e.share_a, e.share_b, e.p_value);
    for (int i = 0; i < 2 * N; i++) s[i] = 0.5f;
    CHECK(hr_effect_row(s, N, N, scratch, &e, NULL, 0) == HR_OK);
    CHECK(e.effect == 0.0 && e.p_value == 1.0);
    s[3] = NAN;
    CHECK(hr_effect_row(s, N, N, scratch, &e, NULL, 0) == HR_ERR_INPUT);
}

/* Candidates drawn from the data are tested on the held-out rows only. */
static void test_held_out_rows_are_the_only_ones_data_drawn_candidates_see(void)
{
    world w;
    make_world(&w, 11);
    uint64_t st = 12;
    const size_t n = 400;
    float *xa = make_texts(&w, n, 0.25, 0, &st), *xb = make_texts(&w, n, 0.0, 0, &st);
    uint8_t *held_a = malloc(n), *held_b = malloc(n), *drawn = calloc(w.k, 1);
    for (size_t i = 0; i < n; i++) held_a[i] = held_b[i] = i % 2;
    drawn[0] = 1; /* topic 0's description: tested on the held-out half */
    hr_effect *e = malloc(w.k * sizeof *e);
    hr_finding *f = malloc(w.k * sizeof *f);
    CHECK(hr_effect_rows(xa, n, xb, n, D, w.h, w.k, e, NULL, 0) == HR_OK);
    CHECK(hr_effect_qvalues(e, w.k, NULL, 0) == HR_OK);
    hr_findings_input in = {xa, xb, n, n, D, held_a, held_b, w.h, w.k, drawn};
    size_t nf = 0;
    CHECK(hr_findings_select(&in, NULL, e, f, &nf, NULL, 0) == HR_OK);
    int about_0 = 0;
    for (size_t i = 0; i < w.k; i++)
        about_0 |= f[i].is_finding && (i == 0 || (i >= TOPICS && i < TOPICS + PARA));
    CHECK(nf >= 1 && about_0);
    free(held_a), free(held_b), free(drawn), free(e), free(f), free(xa), free(xb), free(w.h);
}

/* The CPU scorer's way to an effect when the score is the similarity
 * (hr_effect_of_ordered: quantiles read off hr_mw_fast's order) is
 * hr_effect_of's, bit for bit: continuous similarities, ties that move the
 * threshold, few texts (selection) and many (histogram), one-sided
 * outliers; and the vectorised hinge sums equal their portable twin. */
static void test_effects_from_the_aurocs_order_are_bit_identical(void)
{
    static const size_t sizes[][2] = {{1, 1}, {7, 3}, {200, 250}, {3000, 4100}, {40000, 30001}};
    uint64_t st = 77;
    for (size_t c = 0; c < sizeof sizes / sizeof sizes[0]; c++) {
        for (int kind = 0; kind < 4; kind++) {
            const size_t na = sizes[c][0], nb = sizes[c][1], n = na + nb;
            float *s = malloc(n * sizeof *s), *scratch = malloc(n * sizeof *scratch);
            for (size_t i = 0; i < n; i++) {
                const double z = normal(&st);
                if (kind == 0) s[i] = (float)(0.1 + 0.05 * z + (i < na && i % 5 == 0 ? 0.1 : 0));
                else if (kind == 1) s[i] = (float)floor(2 * z) / 8; /* heavy ties */
                else if (kind == 2) s[i] = i % 10 ? 0.25f : 0.5f;   /* q70 tied: moves down */
                else s[i] = (float)(i % 101 == 0 ? 50.0 : 0.01 * z);
            }
            hr_mw_workspace *ws = NULL;
            hr_mw_result r;
            hr_effect want, got, port;
            char err[256];
            CHECK(hr_mw_workspace_create(na, nb, &ws, err, sizeof err) == HR_OK);
            CHECK(hr_effect_of(s, na, s + na, nb, scratch, &want, err, sizeof err) == HR_OK);
            CHECK(hr_mw_fast(ws, s, &r, err, sizeof err) == HR_OK);
            hr_effect_of_ordered(ws, s, na, nb, &got);
            CHECKF(memcmp(&want, &got, sizeof want) == 0,
                   "n %zu, kind %d: effect %.17g tau %.17g vs %.17g tau %.17g", n, kind,
                   got.effect, got.tau, want.effect, want.tau);
            for (int l = HR_SIMD_PORTABLE; l < HR_SIMD_AVX512; l++) { /* every version */
                hr_simd_cap((hr_simd_level)l);
                CHECK(hr_effect_of(s, na, s + na, nb, scratch, &port, err, sizeof err) == HR_OK);
                hr_simd_cap(HR_SIMD_AVX512);
                CHECKF(memcmp(&want, &port, sizeof want) == 0,
                       "n %zu, kind %d: hinge sums of level %d differ", n, kind, l);
            }
            hr_mw_workspace_destroy(ws);
            free(s), free(scratch);
        }
    }
}

int main(void)
{
    RUN(test_quantiles_match_a_sort_with_ties);
    RUN(test_effects_from_the_aurocs_order_are_bit_identical);
    RUN(test_effects_match_the_numpy_reference);
    RUN(test_counted_effects_match_statsmodels);
    RUN(test_counted_intervals_cover_the_truth);
    RUN(test_effects_from_histograms_match_the_exact_ones);
    RUN(test_a_planted_topic_is_found_and_its_shadows_explained);
    RUN(test_parts_of_a_finding_are_not_further_findings);
    RUN(test_the_null_gives_no_finding);
    RUN(test_identical_inputs_differ_in_nothing);
    RUN(test_a_tied_clean_separation_is_a_full_effect);
    RUN(test_held_out_rows_are_the_only_ones_data_drawn_candidates_see);
    RUN(test_findings_are_the_same_bits_at_every_level_and_thread_count);
    return test_summary();
}
