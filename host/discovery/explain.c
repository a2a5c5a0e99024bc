/*
 * host/discovery/explain.c: how much of a reference model's AUROC a few hypotheses
 * explain: per-text features, greedy selection inside nested
 * cross-validation, a bootstrap interval for the fraction explained, and the
 * residual. See include/hyporank/explain.h for the method.
 */
#include "hyporank/explain.h"
#include "scoring/cholesky.h"
#include "scoring/score_methods.h"

#include "hyporank/probe.h"
#include "core/random.h"
#include "core/util.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

hr_explain_options hr_explain_default_options(void)
{
    hr_explain_options o = {5, 1, 5, 50, 1.0};
    return o;
}

const char *hr_explained_status_str(hr_explained_status s)
{
    switch (s) {
    case HR_EXPLAINED_OK: return "ok";
    case HR_EXPLAINED_UNDEFINED: return "undefined";
    case HR_EXPLAINED_UNSTABLE: return "unstable";
    }
    return "unknown";
}

/* ------------------------------------------------------------------------ */
/* AUROC of doubles                                                          */

typedef struct vi {
    double v;
    size_t i; /* row */
} vi;

static int cmp_vi(const void *a, const void *b)
{
    const vi *x = a, *y = b;
    if (x->v < y->v) return -1;
    if (x->v > y->v) return 1;
    return (x->i > y->i) - (x->i < y->i);
}

/* AUROC from values sorted ascending (s: (n)), class 1 positive, ties one
 * half, each row weighted by w[row] (NULL: 1). Returns NaN when a class has
 * no weight. */
static double auroc_sorted(const vi *s, size_t n, const uint8_t *y, const double *w)
{
    double neg_below = 0, u = 0, wp = 0, wn = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        double gp = 0, gn = 0; /* weight of each class in this group of ties */
        while (j < n && s[j].v == s[i].v) {
            const double wt = w ? w[s[j].i] : 1.0;
            if (y[s[j].i]) gp += wt;
            else gn += wt;
            j++;
        }
        u += gp * (neg_below + 0.5 * gn);
        neg_below += gn;
        wp += gp;
        wn += gn;
        i = j;
    }
    if (!(wp > 0) || !(wn > 0)) return NAN;
    return u / (wp * wn);
}

hr_status hr_explain_auroc(const double *v, const uint8_t *y, const double *w, size_t n,
                           double *out, char *err, size_t errlen)
{
    if (!v || !y || !out || n == 0) return hr_fail(HR_ERR_INPUT, err, errlen, "explain: no values");
    vi *s = malloc(n * sizeof *s); /* (n) values with their rows, sorted */
    if (!s) return hr_fail(HR_ERR_NOMEM, err, errlen, "explain: out of memory");
    for (size_t i = 0; i < n; i++) {
        if (isnan(v[i])) {
            free(s);
            return hr_fail(HR_ERR_INPUT, err, errlen, "explain: value %zu is NaN", i);
        }
        if (w && !(w[i] >= 0 && isfinite(w[i]))) {
            free(s);
            return hr_fail(HR_ERR_INPUT, err, errlen, "explain: weight %zu is not a finite "
                           "number >= 0", i);
        }
        s[i] = (vi){v[i], i};
    }
    qsort(s, n, sizeof *s, cmp_vi);
    *out = auroc_sorted(s, n, y, w);
    free(s);
    if (isnan(*out))
        return hr_fail(HR_ERR_INPUT, err, errlen, "explain: AUROC needs both classes");
    return HR_OK;
}

/* ------------------------------------------------------------------------ */
/* Features                                                                  */

hr_status hr_explain_features(const float *X, size_t n, const float *H, size_t K, int dim,
                              hr_score_method method, double temperature, float *F, char *err,
                              size_t errlen)
{
    if (!X || !H || !F || n == 0 || K == 0 || dim <= 0)
        return hr_fail(HR_ERR_INPUT, err, errlen, "explain: features: empty input");
    if (n > INT_MAX || K > INT_MAX)
        return hr_fail(HR_ERR_INPUT, err, errlen, "explain: features: %zu x %zu is too large", n,
                       K);
    if (method != HR_SCORE_COSINE && method != HR_SCORE_CENTERED && method != HR_SCORE_CONTRAST)
        return hr_fail(HR_ERR_INPUT, err, errlen, "explain: features: unknown score method");
    const double T = temperature > 0 ? temperature : HR_SCORER_DEFAULT_TEMPERATURE;
    if (!(T <= HR_SCORER_MAX_TEMPERATURE))
        return hr_fail(HR_ERR_INPUT, err, errlen, "explain: features: temperature %g out of range",
                       temperature);
    /* F = X H^T: (n, K) row-major, the raw similarities s_k(x_i). */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)K, dim, 1.0f, X, dim, H,
                dim, 0.0f, F, (int)K);
    for (size_t i = 0; i < n; i++) {
        float *s = F + i * K; /* (K) similarities of text i */
        for (size_t k = 0; k < K; k++)
            if (!isfinite(s[k]))
                return hr_fail(HR_ERR_INPUT, err, errlen,
                               "explain: features: text %zu or hypothesis %zu has a non-finite "
                               "embedding", i, k);
        hr_score_sample(method, T, s, K, s); /* host/scoring/score_methods.h */
    }
    return HR_OK;
}

/* ------------------------------------------------------------------------ */
/* Ranking and greedy selection                                              */

static size_t row_at(const size_t *rows, size_t r)
{
    return rows ? rows[r] : r;
}

typedef struct ranked {
    double strength;
    size_t col;
} ranked;

static int cmp_ranked(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->strength != y->strength) return x->strength > y->strength ? -1 : 1;
    return (x->col > y->col) - (x->col < y->col);
}

hr_status hr_explain_rank(const float *F, size_t n, size_t K, const uint8_t *y,
                          const size_t *rows, size_t m, double *auroc, size_t *order, char *err,
                          size_t errlen)
{
    if (!rows) m = n;
    if (!F || !y || !auroc || !order || m == 0 || K == 0)
        return hr_fail(HR_ERR_INPUT, err, errlen, "explain: rank: empty input");
    vi *s = malloc(m * sizeof *s);      /* (m) one column's values on the rows, sorted */
    ranked *r = malloc(K * sizeof *r);  /* (K) */
    if (!s || !r) {
        free(s), free(r);
        return hr_fail(HR_ERR_NOMEM, err, errlen, "explain: out of memory");
    }
    for (size_t k = 0; k < K; k++) {
        for (size_t i = 0; i < m; i++) {
            const size_t row = row_at(rows, i);
            const double v = F[row * K + k];
            if (isnan(v)) {
                free(s), free(r);
                return hr_fail(HR_ERR_INPUT, err, errlen, "explain: feature (%zu, %zu) is NaN",
                               row, k);
            }
            s[i] = (vi){v, row};
        }
        qsort(s, m, sizeof *s, cmp_vi);
        auroc[k] = auroc_sorted(s, m, y, NULL);
        if (isnan(auroc[k])) {
            free(s), free(r);
            return hr_fail(HR_ERR_INPUT, err, errlen, "explain: rank: the rows hold one class");
        }
        r[k] = (ranked){fabs(auroc[k] - 0.5), k};
    }
    qsort(r, K, sizeof *r, cmp_ranked);
    for (size_t k = 0; k < K; k++) order[k] = r[k].col;
    free(s), free(r);
    return HR_OK;
}

/* Mean and standard deviation of columns cols[0..j) of F over rows[0..m). */
static void column_stats(const float *F, size_t K, const size_t *cols, size_t j,
                         const size_t *rows, size_t m, double *mean, double *sd)
{
    for (size_t c = 0; c < j; c++) {
        double s = 0, ss = 0;
        for (size_t i = 0; i < m; i++) s += F[row_at(rows, i) * K + cols[c]];
        const double mu = s / (double)m;
        for (size_t i = 0; i < m; i++) {
            const double d = F[row_at(rows, i) * K + cols[c]] - mu;
            ss += d * d;
        }
        const double v = m > 1 ? ss / (double)(m - 1) : 0;
        mean[c] = mu;
        sd[c] = v > 0 ? sqrt(v) : 1.0; /* a constant column becomes all 0 */
    }
}

/* Z: (m, j) row-major, Z[i][c] = (F[rows[i]][cols[c]] - mean[c]) / sd[c]. */
static void standardised(const float *F, size_t K, const size_t *cols, size_t j,
                         const size_t *rows, size_t m, const double *mean, const double *sd,
                         float *Z)
{
    for (size_t i = 0; i < m; i++) {
        const float *f = F + row_at(rows, i) * K;
        for (size_t c = 0; c < j; c++) Z[i * j + c] = (float)((f[cols[c]] - mean[c]) / sd[c]);
    }
}

static hr_status check_options(const hr_explain_options *o, char *err, size_t errlen)
{
    if (o->folds < 2) return hr_fail(HR_ERR_INPUT, err, errlen, "explain: folds must be >= 2");
    if (o->top_k < 1) return hr_fail(HR_ERR_INPUT, err, errlen, "explain: top_k must be >= 1");
    if (o->max_candidates < 1)
        return hr_fail(HR_ERR_INPUT, err, errlen, "explain: max_candidates must be >= 1");
    if (!(o->lambda > 0) || !isfinite(o->lambda))
        return hr_fail(HR_ERR_INPUT, err, errlen, "explain: lambda must be > 0");
    return HR_OK;
}

static size_t steps_of(const hr_explain_options *o, size_t K)
{
    size_t s = (size_t)o->top_k;
    if ((size_t)o->max_candidates < s) s = (size_t)o->max_candidates;
    return K < s ? K : s;
}

/* Greedy forward selection with a forced prefix: selected[0..n_prefix) =
 * prefix (kept in that order, whatever their strength), then the greedy
 * continues among the M strongest single columns not in the prefix until
 * steps columns are chosen (fewer when the candidates run out: *n_selected).
 * cv_auroc: (steps) the inner CV AUROC after each step, prefix steps too. */
static hr_status select_core(const float *F, size_t n, size_t K, const uint8_t *y,
                             const size_t *rows, size_t m, const hr_explain_options *o,
                             uint64_t seed, const size_t *prefix, size_t n_prefix, size_t steps,
                             size_t *selected, double *cv_auroc, size_t *n_selected, char *err,
                             size_t errlen)
{
    hr_status st = HR_OK;
    const size_t M = (size_t)o->max_candidates < K ? (size_t)o->max_candidates : K;
    double *single = malloc(K * sizeof *single);        /* (K) single AUROCs */
    size_t *order = malloc(K * sizeof *order);          /* (K) columns, strongest first */
    double *mu = malloc(steps * sizeof *mu);            /* (steps) stats of the trial columns */
    double *sd = malloc(steps * sizeof *sd);            /* (steps) */
    size_t *cols = malloc(steps * sizeof *cols);        /* (steps) trial columns */
    uint8_t *chosen = calloc(K, 1);                     /* (K) 1 once taken */
    uint8_t *ys = malloc(m);                            /* (m) labels of the rows */
    float *Z = malloc(m * steps * sizeof *Z);           /* (m, j) trial design, j <= steps */
    double *held = malloc(m * sizeof *held);            /* (m) inner held-out values */
    if (!single || !order || !mu || !sd || !cols || !chosen || !ys || !Z || !held) {
        st = hr_fail(HR_ERR_NOMEM, err, errlen, "explain: out of memory");
        goto done;
    }
    if ((st = hr_explain_rank(F, n, K, y, rows, m, single, order, err, errlen)) != HR_OK) goto done;
    for (size_t i = 0; i < m; i++) ys[i] = y[row_at(rows, i)];
    hr_probe_options po = hr_probe_default_options();
    po.lambda = o->lambda;
    size_t j = 0;
    for (; j < steps; j++) {
        size_t best = SIZE_MAX;
        double best_auroc = -1;
        for (size_t c = 0; c < (j < n_prefix ? 1 : M); c++) {
            const size_t col = j < n_prefix ? prefix[j] : order[c];
            if (j >= n_prefix && chosen[col]) continue;
            for (size_t t = 0; t < j; t++) cols[t] = selected[t];
            cols[j] = col;
            column_stats(F, K, cols, j + 1, rows, m, mu, sd);
            standardised(F, K, cols, j + 1, rows, m, mu, sd, Z);
            hr_probe_cv_result cv;
            st = hr_probe_cross_validate(Z, m, (int)(j + 1), ys, NULL, &po, o->folds, seed, held,
                                         &cv, err, errlen);
            if (st != HR_OK) goto done;
            if (cv.auroc > best_auroc) { /* strict: ties go to the stronger single */
                best_auroc = cv.auroc;
                best = col;
            }
        }
        if (best == SIZE_MAX) break; /* no candidate left */
        chosen[best] = 1;
        selected[j] = best;
        cv_auroc[j] = best_auroc;
    }
    *n_selected = j;
done:
    free(single), free(order), free(mu), free(sd), free(cols), free(chosen), free(ys), free(Z);
    free(held);
    return st;
}

hr_status hr_explain_select(const float *F, size_t n, size_t K, const uint8_t *y,
                            const size_t *rows, size_t m, const hr_explain_options *opt,
                            uint64_t seed, size_t *selected, double *cv_auroc,
                            size_t *n_selected, char *err, size_t errlen)
{
    const hr_explain_options o = opt ? *opt : hr_explain_default_options();
    hr_status st = check_options(&o, err, errlen);
    if (st != HR_OK) return st;
    if (!rows) m = n;
    if (!F || !y || !selected || !cv_auroc || !n_selected || m == 0 || K == 0)
        return hr_fail(HR_ERR_INPUT, err, errlen, "explain: select: empty input");
    return select_core(F, n, K, y, rows, m, &o, seed, NULL, 0, steps_of(&o, K), selected,
                       cv_auroc, n_selected, err, errlen);
}

/* ------------------------------------------------------------------------ */
/* Nested cross-validation                                                   */

void hr_explain_result_free(hr_explain_result *r)
{
    if (!r) return;
    free(r->selected), free(r->select_auroc), free(r->step_auroc), free(r->heldout);
    free(r->single_auroc), free(r->fold_selected), free(r->step_r2);
    memset(r, 0, sizeof *r);
}

/* The nested procedure; prev (or NULL): the previous round, whose choices
 * (per outer fold and on all rows) are kept first. */
static hr_status fit_core(const float *F, size_t n, size_t K, const uint8_t *y,
                          const hr_explain_options *opt, const hr_explain_result *prev,
                          hr_explain_result *out, char *err, size_t errlen)
{
    if (out) memset(out, 0, sizeof *out);
    const hr_explain_options o = opt ? *opt : hr_explain_default_options();
    hr_status st = check_options(&o, err, errlen);
    if (st != HR_OK) return st;
    if (!F || !y || !out || n == 0 || K == 0)
        return hr_fail(HR_ERR_INPUT, err, errlen, "explain: empty input");
    const size_t n_prefix = prev ? prev->n_selected : 0;
    if (prev && (prev->n != n || prev->k > K || prev->folds != o.folds || !prev->fold_selected))
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "explain: refit: the previous result has other texts, more columns or "
                       "other folds");
    size_t count[2] = {0, 0};
    for (size_t i = 0; i < n; i++) {
        if (y[i] > 1) return hr_fail(HR_ERR_INPUT, err, errlen, "explain: label %zu is not 0 or 1", i);
        count[y[i]]++;
    }
    const size_t need = 2 * (size_t)o.folds;
    if (count[0] < need || count[1] < need)
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "explain: %zu texts of class 1 and %zu of class 0; %d folds need at least "
                       "%zu of each", count[1], count[0], o.folds, need);
    for (size_t i = 0; i < n * K; i++)
        if (!isfinite(F[i]))
            return hr_fail(HR_ERR_INPUT, err, errlen, "explain: feature (%zu, %zu) is not finite",
                           i / K, i % K);

    size_t steps = n_prefix + steps_of(&o, K);
    if (steps > K) steps = K;
    out->n = n;
    out->k = K;
    out->n_selected = steps;
    out->folds = o.folds;
    out->selected = malloc(steps * sizeof *out->selected);
    out->select_auroc = malloc(steps * sizeof *out->select_auroc);
    out->step_auroc = malloc(steps * sizeof *out->step_auroc);
    out->heldout = malloc(steps * n * sizeof *out->heldout); /* (steps, n) */
    out->single_auroc = malloc(K * sizeof *out->single_auroc);
    out->fold_selected = malloc((size_t)o.folds * steps * sizeof *out->fold_selected);
    int *fold = malloc(n * sizeof *fold);               /* (n) outer fold of each row */
    size_t *train = malloc(n * sizeof *train);          /* (<= n) training rows */
    size_t *test = malloc(n * sizeof *test);            /* (<= n) held-out rows */
    size_t *sel = malloc(steps * sizeof *sel);          /* (steps) one fold's choice */
    double *crit = malloc(steps * sizeof *crit);        /* (steps) */
    double *mean = malloc(steps * sizeof *mean);        /* (steps) on the training rows */
    double *sd = malloc(steps * sizeof *sd);            /* (steps) */
    size_t *order = malloc(K * sizeof *order);          /* (K) */
    float *Z = malloc(n * steps * sizeof *Z);           /* (rows, j) design, j <= steps */
    double *dv = malloc(n * sizeof *dv);                /* (<= n) decision values, test order */
    uint8_t *ytr = malloc(n);                           /* (<= n) training labels */
    size_t *first = malloc((size_t)o.folds * sizeof *first); /* (folds) each fold's first pick */
    hr_probe *pr = NULL;
    if (!out->selected || !out->select_auroc || !out->step_auroc || !out->heldout ||
        !out->single_auroc || !out->fold_selected || !fold || !train || !test || !sel || !crit || !mean || !sd ||
        !order || !Z || !dv || !ytr || !first) {
        st = hr_fail(HR_ERR_NOMEM, err, errlen, "explain: out of memory");
        goto done;
    }
    if ((st = hr_probe_folds(y, n, o.folds, o.seed, fold, err, errlen)) != HR_OK) goto done;
    hr_probe_options po = hr_probe_default_options();
    po.lambda = o.lambda;
    for (int f = 0; f < o.folds; f++) {
        size_t ntr = 0, nte = 0, ns = 0;
        for (size_t i = 0; i < n; i++) {
            if (fold[i] == f) test[nte++] = i;
            else train[ntr++] = i;
        }
        st = select_core(F, n, K, y, train, ntr, &o, o.seed + (uint64_t)f + 1,
                         prev ? prev->fold_selected + (size_t)f * n_prefix : NULL, n_prefix,
                         steps, sel, crit, &ns, err, errlen);
        if (st != HR_OK) goto done;
        if (ns < steps) { /* the folds see the same columns, so this does not happen */
            st = hr_fail(HR_ERR_INTERNAL, err, errlen, "explain: fold %d chose too few", f);
            goto done;
        }
        memcpy(out->fold_selected + (size_t)f * steps, sel, steps * sizeof *sel);
        for (size_t i = 0; i < ntr; i++) ytr[i] = y[train[i]];
        for (size_t j = 1; j <= ns; j++) {
            column_stats(F, K, sel, j, train, ntr, mean, sd);
            standardised(F, K, sel, j, train, ntr, mean, sd, Z);
            if ((st = hr_probe_fit(Z, ntr, (int)j, ytr, NULL, &po, &pr, err, errlen)) != HR_OK)
                goto done;
            standardised(F, K, sel, j, test, nte, mean, sd, Z);
            st = hr_probe_decision(pr, Z, nte, dv, err, errlen);
            hr_probe_destroy(pr);
            pr = NULL;
            if (st != HR_OK) goto done;
            for (size_t i = 0; i < nte; i++) out->heldout[(j - 1) * n + test[i]] = dv[i];
        }
        first[f] = sel[0];
    }

    size_t ns = 0;
    st = select_core(F, n, K, y, NULL, n, &o, o.seed, prev ? prev->selected : NULL, n_prefix,
                     steps, out->selected, out->select_auroc, &ns, err, errlen);
    if (st != HR_OK) goto done;
    if ((st = hr_explain_rank(F, n, K, y, NULL, n, out->single_auroc, order, err, errlen)) != HR_OK)
        goto done;
    for (int f = 0; f < o.folds; f++) out->first_agree += first[f] == out->selected[0];
    for (size_t j = 0; j < steps; j++) {
        st = hr_explain_auroc(out->heldout + j * n, y, NULL, n, &out->step_auroc[j], err, errlen);
        if (st != HR_OK) goto done;
    }
done:
    hr_probe_destroy(pr);
    free(fold), free(train), free(test), free(sel), free(crit), free(mean), free(sd);
    free(order), free(Z), free(dv), free(ytr), free(first);
    if (st != HR_OK) hr_explain_result_free(out);
    return st;
}

hr_status hr_explain_fit(const float *F, size_t n, size_t K, const uint8_t *y,
                         const hr_explain_options *opt, hr_explain_result *out, char *err,
                         size_t errlen)
{
    return fit_core(F, n, K, y, opt, NULL, out, err, errlen);
}

hr_status hr_explain_refit(const float *F, size_t n, size_t K, const uint8_t *y,
                           const hr_explain_options *opt, const hr_explain_result *prev,
                           hr_explain_result *out, char *err, size_t errlen)
{
    if (!prev) {
        if (out) memset(out, 0, sizeof *out);
        return hr_fail(HR_ERR_INPUT, err, errlen, "explain: refit: no previous result");
    }
    return fit_core(F, n, K, y, opt, prev, out, err, errlen);
}

hr_status hr_explain_apply(const float *F, size_t n, size_t K, const uint8_t *y,
                           const size_t *cols, size_t j, double lambda, const float *G, size_t m,
                           double *out, char *err, size_t errlen)
{
    if (!F || !y || !cols || !G || !out || n == 0 || m == 0 || j == 0 || K == 0)
        return hr_fail(HR_ERR_INPUT, err, errlen, "explain: apply: empty input");
    if (!(lambda > 0) || !isfinite(lambda))
        return hr_fail(HR_ERR_INPUT, err, errlen, "explain: lambda must be > 0");
    for (size_t c = 0; c < j; c++)
        if (cols[c] >= K)
            return hr_fail(HR_ERR_INPUT, err, errlen, "explain: apply: column %zu of %zu",
                           cols[c], K);
    hr_status st = HR_OK;
    hr_probe *pr = NULL;
    double *mean = malloc(j * sizeof *mean);           /* (j) on F's rows */
    double *sd = malloc(j * sizeof *sd);               /* (j) */
    float *Z = malloc((n > m ? n : m) * j * sizeof *Z); /* (rows, j) standardised design */
    if (!mean || !sd || !Z) {
        st = hr_fail(HR_ERR_NOMEM, err, errlen, "explain: out of memory");
        goto done;
    }
    column_stats(F, K, cols, j, NULL, n, mean, sd);
    standardised(F, K, cols, j, NULL, n, mean, sd, Z);
    hr_probe_options po = hr_probe_default_options();
    po.lambda = lambda;
    if ((st = hr_probe_fit(Z, n, (int)j, y, NULL, &po, &pr, err, errlen)) != HR_OK) goto done;
    standardised(G, K, cols, j, NULL, m, mean, sd, Z);
    st = hr_probe_decision(pr, Z, m, out, err, errlen);
done:
    hr_probe_destroy(pr);
    free(mean), free(sd), free(Z);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Bootstrap                                                                 */

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Percentile p of sorted[0..m), linear interpolation between order
 * statistics; an infinite neighbour makes the result that infinity. */
static double percentile(const double *sorted, size_t m, double p)
{
    if (m == 0) return NAN;
    const double pos = p * (double)(m - 1);
    const size_t lo = (size_t)floor(pos), hi = lo + 1 < m ? lo + 1 : lo;
    if (!isfinite(sorted[lo])) return sorted[lo];
    if (!isfinite(sorted[hi])) return sorted[hi];
    return sorted[lo] + (pos - (double)lo) * (sorted[hi] - sorted[lo]);
}

/* Both bootstraps (AUROC, chance 0.5; Spearman, chance 0) measure the
 * readable model against the reference by X = (hyp - chance) / (ref -
 * chance). One resample's X: +-inf, counted undefined, when the reference
 * is within epsilon of chance (the ratio is unbounded). */
static double resample_ratio(double ar, double ah, double chance, double epsilon,
                             hr_explain_ratio *out)
{
    if (ar - chance <= epsilon) {
        out->undefined++;
        return ah - chance > 0 ? INFINITY : -INFINITY;
    }
    return (ah - chance) / (ar - chance);
}

/* The end of both bootstraps: the intervals of the reference and readable
 * figures over the `both` resamples that define them (rb, hb), X on the
 * whole sample and its interval over all B resamples (xb). Sorts rb, hb, xb. */
static void finish_ratio(hr_explain_ratio *out, double chance, double epsilon, double *rb,
                         double *hb, size_t both, double *xb, size_t B)
{
    qsort(rb, both, sizeof *rb, cmp_double);
    qsort(hb, both, sizeof *hb, cmp_double);
    qsort(xb, B, sizeof *xb, cmp_double);
    out->ref_ci_low = percentile(rb, both, 0.025);
    out->ref_ci_high = percentile(rb, both, 0.975);
    out->hyp_ci_low = percentile(hb, both, 0.025);
    out->hyp_ci_high = percentile(hb, both, 0.975);
    out->ci_low = out->ci_high = NAN;
    if (out->ref_auroc - chance <= epsilon) {
        out->status = HR_EXPLAINED_UNDEFINED;
        out->explained = NAN;
        return;
    }
    out->explained = (out->hyp_auroc - chance) / (out->ref_auroc - chance);
    const double lo = percentile(xb, B, 0.025), hi = percentile(xb, B, 0.975);
    if (isfinite(lo) && isfinite(hi)) {
        out->status = HR_EXPLAINED_OK;
        out->ci_low = lo;
        out->ci_high = hi;
    } else {
        out->status = HR_EXPLAINED_UNSTABLE;
    }
}

hr_status hr_explain_bootstrap(const double *ref, const double *hyp, const uint8_t *y, size_t n,
                               int resamples, uint64_t seed, double epsilon,
                               hr_explain_ratio *out, char *err, size_t errlen)
{
    if (!ref || !hyp || !y || !out || n == 0)
        return hr_fail(HR_ERR_INPUT, err, errlen, "explain: bootstrap: empty input");
    if (resamples < 1 || !(epsilon >= 0))
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "explain: bootstrap: resamples must be >= 1 and epsilon >= 0");
    hr_status st = HR_OK;
    vi *sr = malloc(n * sizeof *sr);                /* (n) ref values sorted */
    vi *sh = malloc(n * sizeof *sh);                /* (n) hyp values sorted */
    double *w = malloc(n * sizeof *w);              /* (n) counts of one resample */
    const size_t B = (size_t)resamples;
    double *rb = malloc(B * sizeof *rb);            /* (<= B) ref AUROC per resample */
    double *hb = malloc(B * sizeof *hb);            /* (<= B) hyp AUROC per resample */
    double *xb = malloc(B * sizeof *xb);            /* (B) X per resample, +-inf if undefined */
    if (!sr || !sh || !w || !rb || !hb || !xb) {
        st = hr_fail(HR_ERR_NOMEM, err, errlen, "explain: out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        if (isnan(ref[i]) || isnan(hyp[i])) {
            st = hr_fail(HR_ERR_INPUT, err, errlen, "explain: bootstrap: value %zu is NaN", i);
            goto done;
        }
        if (y[i] > 1) {
            st = hr_fail(HR_ERR_INPUT, err, errlen, "explain: bootstrap: label %zu is not 0 or 1", i);
            goto done;
        }
        sr[i] = (vi){ref[i], i};
        sh[i] = (vi){hyp[i], i};
    }
    qsort(sr, n, sizeof *sr, cmp_vi);
    qsort(sh, n, sizeof *sh, cmp_vi);
    memset(out, 0, sizeof *out);
    out->ref_auroc = auroc_sorted(sr, n, y, NULL);
    out->hyp_auroc = auroc_sorted(sh, n, y, NULL);
    if (isnan(out->ref_auroc)) {
        st = hr_fail(HR_ERR_INPUT, err, errlen, "explain: bootstrap: the texts hold one class");
        goto done;
    }
    out->resamples = resamples;
    uint64_t state = seed;
    size_t both = 0; /* resamples with both classes: rb, hb */
    for (size_t b = 0; b < B; b++) {
        for (size_t i = 0; i < n; i++) w[i] = 0;
        for (size_t i = 0; i < n; i++) w[hr_random_below(&state, n)] += 1;
        const double ar = auroc_sorted(sr, n, y, w), ah = auroc_sorted(sh, n, y, w);
        if (isnan(ar)) { /* one class only: no AUROC, no ratio */
            out->undefined++;
            xb[b] = -INFINITY;
            continue;
        }
        rb[both] = ar;
        hb[both] = ah;
        both++;
        xb[b] = resample_ratio(ar, ah, 0.5, epsilon, out);
    }
    finish_ratio(out, 0.5, epsilon, rb, hb, both, xb, B);
done:
    free(sr), free(sh), free(w), free(rb), free(hb), free(xb);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Residual                                                                  */

typedef struct bad_row {
    size_t badness; /* places on the wrong side of the readable model's cut */
    size_t row;
} bad_row;

static int cmp_bad(const void *a, const void *b)
{
    const bad_row *x = a, *y = b;
    if (x->badness != y->badness) return x->badness > y->badness ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row);
}

hr_status hr_explain_residual(const double *ref, const double *hyp, const uint8_t *y, size_t n,
                              size_t *rows, size_t *count, char *err, size_t errlen)
{
    if (!ref || !hyp || !y || !rows || !count || n == 0)
        return hr_fail(HR_ERR_INPUT, err, errlen, "explain: residual: empty input");
    hr_status st = HR_OK;
    vi *s = malloc(n * sizeof *s);              /* (n) sorted values of one model */
    size_t *pos_ref = malloc(n * sizeof *pos_ref); /* (n) place of each row, ascending */
    size_t *pos_hyp = malloc(n * sizeof *pos_hyp); /* (n) */
    bad_row *bad = malloc(n * sizeof *bad);     /* (<= n) */
    if (!s || !pos_ref || !pos_hyp || !bad) {
        st = hr_fail(HR_ERR_NOMEM, err, errlen, "explain: out of memory");
        goto done;
    }
    size_t n_pos = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(ref[i]) || isnan(hyp[i]) || y[i] > 1) {
            st = hr_fail(HR_ERR_INPUT, err, errlen, "explain: residual: row %zu is NaN or has a "
                         "label other than 0 or 1", i);
            goto done;
        }
        n_pos += y[i];
    }
    for (int model = 0; model < 2; model++) {
        const double *v = model ? hyp : ref;
        size_t *pos = model ? pos_hyp : pos_ref;
        for (size_t i = 0; i < n; i++) s[i] = (vi){v[i], i};
        qsort(s, n, sizeof *s, cmp_vi);
        for (size_t p = 0; p < n; p++) pos[s[p].i] = p;
    }
    const size_t cut = n - n_pos; /* places >= cut are called positive */
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        const int ref_right = (pos_ref[i] >= cut) == (y[i] == 1);
        const int hyp_right = (pos_hyp[i] >= cut) == (y[i] == 1);
        if (!ref_right || hyp_right) continue;
        bad[m++] = (bad_row){y[i] ? cut - pos_hyp[i] : pos_hyp[i] - cut + 1, i};
    }
    qsort(bad, m, sizeof *bad, cmp_bad);
    for (size_t i = 0; i < m; i++) rows[i] = bad[i].row;
    *count = m;
done:
    free(s), free(pos_ref), free(pos_hyp), free(bad);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Continuous targets                                                        */

/* rank: (n) output by row: the average 1-based rank of each row's value,
 * from s (n) sorted ascending; each row counts w[row] copies (NULL: 1), so a
 * group of ties of total weight G after B below shares B + (G + 1) / 2. */
static void ranks_sorted(const vi *s, size_t n, const double *w, double *rank)
{
    double below = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        double g = 0;
        while (j < n && s[j].v == s[i].v) {
            g += w ? w[s[j].i] : 1.0;
            j++;
        }
        const double r = below + 0.5 * (g + 1);
        for (size_t k = i; k < j; k++) rank[s[k].i] = r;
        below += g;
        i = j;
    }
}

/* Weighted Pearson correlation of a and b (n); NaN when either is constant
 * over the weighted rows or no row has weight. */
static double pearson_w(const double *a, const double *b, const double *w, size_t n)
{
    double sw = 0, sa = 0, sb = 0;
    for (size_t i = 0; i < n; i++) {
        const double wt = w ? w[i] : 1.0;
        sw += wt, sa += wt * a[i], sb += wt * b[i];
    }
    if (!(sw > 0)) return NAN;
    const double ma = sa / sw, mb = sb / sw;
    double saa = 0, sbb = 0, sab = 0;
    for (size_t i = 0; i < n; i++) {
        const double wt = w ? w[i] : 1.0;
        if (wt == 0) continue;
        const double da = a[i] - ma, db = b[i] - mb;
        saa += wt * da * da, sbb += wt * db * db, sab += wt * da * db;
    }
    if (!(saa > 0) || !(sbb > 0)) return NAN;
    double r = sab / sqrt(saa * sbb);
    return r > 1 ? 1 : (r < -1 ? -1 : r);
}

/* Sorts (v[i], i) ascending into s (n); HR_ERR_INPUT on a NaN. */
static hr_status sort_values(const double *v, size_t n, vi *s, char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        if (isnan(v[i])) return hr_fail(HR_ERR_INPUT, err, errlen, "explain: value %zu is NaN", i);
        s[i] = (vi){v[i], i};
    }
    qsort(s, n, sizeof *s, cmp_vi);
    return HR_OK;
}

hr_status hr_explain_spearman(const double *a, const double *b, const double *w, size_t n,
                              double *out, char *err, size_t errlen)
{
    if (!a || !b || !out || n == 0)
        return hr_fail(HR_ERR_INPUT, err, errlen, "explain: spearman: empty input");
    for (size_t i = 0; w && i < n; i++)
        if (!(w[i] >= 0 && isfinite(w[i])))
            return hr_fail(HR_ERR_INPUT, err, errlen, "explain: weight %zu is not a finite "
                           "number >= 0", i);
    hr_status st = HR_OK;
    vi *s = malloc(n * sizeof *s);          /* (n) one side sorted */
    double *ra = malloc(n * sizeof *ra);    /* (n) ranks of a, by row */
    double *rb = malloc(n * sizeof *rb);    /* (n) ranks of b, by row */
    if (!s || !ra || !rb) {
        st = hr_fail(HR_ERR_NOMEM, err, errlen, "explain: out of memory");
        goto done;
    }
    if ((st = sort_values(a, n, s, err, errlen)) != HR_OK) goto done;
    ranks_sorted(s, n, w, ra);
    if ((st = sort_values(b, n, s, err, errlen)) != HR_OK) goto done;
    ranks_sorted(s, n, w, rb);
    *out = pearson_w(ra, rb, w, n);
done:
    free(s), free(ra), free(rb);
    return st;
}

double hr_explain_r2(const double *p, const double *t, size_t n)
{
    if (!p || !t || n == 0) return NAN;
    double mean = 0;
    for (size_t i = 0; i < n; i++) mean += t[i];
    mean /= (double)n;
    double res = 0, tot = 0;
    for (size_t i = 0; i < n; i++) {
        res += (t[i] - p[i]) * (t[i] - p[i]);
        tot += (t[i] - mean) * (t[i] - mean);
    }
    return tot > 0 ? 1 - res / tot : NAN;
}

/* Rows of the centred design accumulated per block, so a large X is never
 * copied whole into doubles. */
#define RIDGE_BLOCK 256

hr_status hr_explain_ridge_fit(const float *X, size_t n, int d, const double *t,
                               const size_t *rows, size_t m, double lambda, double *beta,
                               double *b0, char *err, size_t errlen)
{
    if (!rows) m = n;
    if (!X || !t || !beta || !b0 || m == 0 || d <= 0)
        return hr_fail(HR_ERR_INPUT, err, errlen, "explain: ridge: empty input");
    if (!(lambda > 0) || !isfinite(lambda))
        return hr_fail(HR_ERR_INPUT, err, errlen, "explain: ridge: lambda must be > 0");
    const size_t D = (size_t)d;
    hr_status st = HR_OK;
    double *mean = calloc(D, sizeof *mean);             /* (d) column means over the rows */
    double *A = calloc(D * D, sizeof *A);               /* (d, d) Xc^T Xc, upper triangle */
    double *L = malloc(D * D * sizeof *L);              /* (d, d) its Cholesky factor */
    double *C = malloc(RIDGE_BLOCK * D * sizeof *C);    /* (block, d) centred rows */
    double *tc = malloc(RIDGE_BLOCK * sizeof *tc);      /* (block) centred targets */
    if (!mean || !A || !L || !C || !tc) {
        st = hr_fail(HR_ERR_NOMEM, err, errlen, "explain: out of memory");
        goto done;
    }
    double tm = 0;
    for (size_t i = 0; i < m; i++) {
        const size_t r = row_at(rows, i);
        if (!isfinite(t[r])) {
            st = hr_fail(HR_ERR_INPUT, err, errlen, "explain: ridge: target %zu is not finite", r);
            goto done;
        }
        tm += t[r];
        const float *x = X + r * D;
        for (size_t c = 0; c < D; c++) mean[c] += x[c];
    }
    tm /= (double)m;
    for (size_t c = 0; c < D; c++) mean[c] /= (double)m;
    for (size_t c = 0; c < D; c++) beta[c] = 0;
    for (size_t i0 = 0; i0 < m; i0 += RIDGE_BLOCK) {
        const size_t nb = m - i0 < RIDGE_BLOCK ? m - i0 : RIDGE_BLOCK;
        for (size_t i = 0; i < nb; i++) {
            const size_t r = row_at(rows, i0 + i);
            const float *x = X + r * D;
            for (size_t c = 0; c < D; c++) C[i * D + c] = x[c] - mean[c];
            tc[i] = t[r] - tm;
        }
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, d, (int)nb, 1.0, C, d, 1.0, A, d);
        cblas_dgemv(CblasRowMajor, CblasTrans, (int)nb, d, 1.0, C, d, tc, 1, 1.0, beta, 1);
    }
    if (hr_cholesky(A, d, lambda, L) != 0) { /* lambda > 0 makes it positive definite */
        st = hr_fail(HR_ERR_INPUT, err, errlen, "explain: ridge: the system is not positive "
                     "definite (non-finite features?)");
        goto done;
    }
    hr_cholesky_solve(L, d, beta);
    double b = tm;
    for (size_t c = 0; c < D; c++) b -= mean[c] * beta[c];
    *b0 = b;
done:
    free(mean), free(A), free(L), free(C), free(tc);
    return st;
}

/* out: (m) b0 + x . beta for X's rows[0..m) (NULL: the first m). */
static void ridge_predict(const float *X, int d, const size_t *rows, size_t m, const double *beta,
                          double b0, double *out)
{
    for (size_t i = 0; i < m; i++) {
        const float *x = X + row_at(rows, i) * (size_t)d;
        double s = b0;
        for (int c = 0; c < d; c++) s += x[c] * beta[c];
        out[i] = s;
    }
}

hr_status hr_explain_plain_folds(size_t n, int k, uint64_t seed, int *fold, char *err,
                                 size_t errlen)
{
    if (!fold || k < 2 || (size_t)k > n)
        return hr_fail(HR_ERR_INPUT, err, errlen, "explain: %d folds of %zu rows", k, n);
    size_t *perm = malloc(n * sizeof *perm); /* (n) */
    if (!perm) return hr_fail(HR_ERR_NOMEM, err, errlen, "explain: out of memory");
    for (size_t i = 0; i < n; i++) perm[i] = i;
    uint64_t state = seed;
    for (size_t i = n; i > 1; i--) {
        const size_t j = (size_t)hr_random_below(&state, i), tmp = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = tmp;
    }
    for (size_t i = 0; i < n; i++) fold[perm[i]] = (int)(i % (size_t)k);
    free(perm);
    return HR_OK;
}

hr_status hr_explain_ridge_cv(const float *X, size_t n, int d, const double *t, double lambda,
                              int folds, uint64_t seed, double *heldout, char *err,
                              size_t errlen)
{
    if (!X || !t || !heldout || n == 0 || d <= 0)
        return hr_fail(HR_ERR_INPUT, err, errlen, "explain: ridge: empty input");
    hr_status st = HR_OK;
    int *fold = malloc(n * sizeof *fold);             /* (n) */
    size_t *train = malloc(n * sizeof *train);        /* (<= n) */
    size_t *test = malloc(n * sizeof *test);          /* (<= n) */
    double *beta = malloc((size_t)d * sizeof *beta);  /* (d) */
    double *p = malloc(n * sizeof *p);                /* (<= n) test order */
    if (!fold || !train || !test || !beta || !p) {
        st = hr_fail(HR_ERR_NOMEM, err, errlen, "explain: out of memory");
        goto done;
    }
    if ((st = hr_explain_plain_folds(n, folds, seed, fold, err, errlen)) != HR_OK) goto done;
    for (int f = 0; f < folds; f++) {
        size_t ntr = 0, nte = 0;
        for (size_t i = 0; i < n; i++) {
            if (fold[i] == f) test[nte++] = i;
            else train[ntr++] = i;
        }
        double b0;
        if ((st = hr_explain_ridge_fit(X, n, d, t, train, ntr, lambda, beta, &b0, err,
                                       errlen)) != HR_OK)
            goto done;
        ridge_predict(X, d, test, nte, beta, b0, p);
        for (size_t i = 0; i < nte; i++) heldout[test[i]] = p[i];
    }
done:
    free(fold), free(train), free(test), free(beta), free(p);
    return st;
}

/* Single-column Spearman rhos of F's columns against t over rows[0..m)
 * (NULL: all): rho (K), order (K) by |rho| descending (NaN: 0), ties by
 * column. */
static hr_status rank_continuous(const float *F, size_t n, size_t K, const double *t,
                                 const size_t *rows, size_t m, double *rho, size_t *order,
                                 char *err, size_t errlen)
{
    (void)n;
    hr_status st = HR_OK;
    vi *s = malloc(m * sizeof *s);          /* (m) sorted, .i: position in rows */
    double *rt = malloc(m * sizeof *rt);    /* (m) ranks of t */
    double *rf = malloc(m * sizeof *rf);    /* (m) ranks of one column */
    ranked *r = malloc(K * sizeof *r);      /* (K) */
    if (!s || !rt || !rf || !r) {
        st = hr_fail(HR_ERR_NOMEM, err, errlen, "explain: out of memory");
        goto done;
    }
    for (size_t i = 0; i < m; i++) s[i] = (vi){t[row_at(rows, i)], i};
    qsort(s, m, sizeof *s, cmp_vi);
    ranks_sorted(s, m, NULL, rt);
    for (size_t k = 0; k < K; k++) {
        for (size_t i = 0; i < m; i++) s[i] = (vi){F[row_at(rows, i) * K + k], i};
        qsort(s, m, sizeof *s, cmp_vi);
        ranks_sorted(s, m, NULL, rf);
        rho[k] = pearson_w(rf, rt, NULL, m);
        r[k] = (ranked){isnan(rho[k]) ? 0 : fabs(rho[k]), k};
    }
    qsort(r, K, sizeof *r, cmp_ranked);
    for (size_t k = 0; k < K; k++) order[k] = r[k].col;
done:
    free(s), free(rt), free(rf), free(r);
    return st;
}

/* Greedy forward selection for a continuous target on rows[0..m) of F
 * (NULL: all), as select_core, by the inner plain-k-fold held-out Spearman
 * rho (seed) of the ridge on the standardised columns. */
static hr_status select_continuous(const float *F, size_t n, size_t K, const double *t,
                                   const size_t *rows, size_t m, const hr_explain_options *o,
                                   uint64_t seed, size_t steps, size_t *selected,
                                   double *cv_rho, size_t *n_selected, char *err,
                                   size_t errlen)
{
    hr_status st = HR_OK;
    const size_t M = (size_t)o->max_candidates < K ? (size_t)o->max_candidates : K;
    double *single = malloc(K * sizeof *single);    /* (K) single rhos */
    size_t *order = malloc(K * sizeof *order);      /* (K) strongest first */
    double *mu = malloc(steps * sizeof *mu);        /* (steps) */
    double *sd = malloc(steps * sizeof *sd);        /* (steps) */
    size_t *cols = malloc(steps * sizeof *cols);    /* (steps) trial columns */
    double *beta = malloc(steps * sizeof *beta);    /* (steps) */
    uint8_t *chosen = calloc(K, 1);                 /* (K) */
    double *ts = malloc(m * sizeof *ts);            /* (m) targets of the rows */
    float *Z = malloc(m * steps * sizeof *Z);       /* (m, j) trial design */
    double *held = malloc(m * sizeof *held);        /* (m) inner held-out predictions */
    double *p = malloc(m * sizeof *p);              /* (<= m) one fold's */
    int *fold = malloc(m * sizeof *fold);           /* (m) inner folds */
    size_t *train = malloc(m * sizeof *train);      /* (<= m) positions */
    size_t *test = malloc(m * sizeof *test);        /* (<= m) */
    if (!single || !order || !mu || !sd || !cols || !beta || !chosen || !ts || !Z || !held ||
        !p || !fold || !train || !test) {
        st = hr_fail(HR_ERR_NOMEM, err, errlen, "explain: out of memory");
        goto done;
    }
    if ((st = rank_continuous(F, n, K, t, rows, m, single, order, err, errlen)) != HR_OK)
        goto done;
    for (size_t i = 0; i < m; i++) ts[i] = t[row_at(rows, i)];
    if ((st = hr_explain_plain_folds(m, o->folds, seed, fold, err, errlen)) != HR_OK) goto done;
    size_t j = 0;
    for (; j < steps; j++) {
        size_t best = SIZE_MAX;
        double best_rho = -INFINITY;
        for (size_t c = 0; c < M; c++) {
            const size_t col = order[c];
            if (chosen[col]) continue;
            for (size_t q = 0; q < j; q++) cols[q] = selected[q];
            cols[j] = col;
            column_stats(F, K, cols, j + 1, rows, m, mu, sd);
            standardised(F, K, cols, j + 1, rows, m, mu, sd, Z);
            for (int f = 0; f < o->folds; f++) {
                size_t ntr = 0, nte = 0;
                for (size_t i = 0; i < m; i++) {
                    if (fold[i] == f) test[nte++] = i;
                    else train[ntr++] = i;
                }
                double b0;
                if ((st = hr_explain_ridge_fit(Z, m, (int)(j + 1), ts, train, ntr, o->lambda,
                                               beta, &b0, err, errlen)) != HR_OK)
                    goto done;
                ridge_predict(Z, (int)(j + 1), test, nte, beta, b0, p);
                for (size_t i = 0; i < nte; i++) held[test[i]] = p[i];
            }
            double rho;
            if ((st = hr_explain_spearman(held, ts, NULL, m, &rho, err, errlen)) != HR_OK)
                goto done;
            if (isnan(rho)) rho = 0; /* constant predictions: no ranking */
            if (rho > best_rho) { /* strict: ties go to the stronger single */
                best_rho = rho;
                best = col;
            }
        }
        if (best == SIZE_MAX) break;
        chosen[best] = 1;
        selected[j] = best;
        cv_rho[j] = best_rho;
    }
    *n_selected = j;
done:
    free(single), free(order), free(mu), free(sd), free(cols), free(beta), free(chosen);
    free(ts), free(Z), free(held), free(p), free(fold), free(train), free(test);
    return st;
}

hr_status hr_explain_fit_continuous(const float *F, size_t n, size_t K, const double *t,
                                    const hr_explain_options *opt, hr_explain_result *out,
                                    char *err, size_t errlen)
{
    if (out) memset(out, 0, sizeof *out);
    const hr_explain_options o = opt ? *opt : hr_explain_default_options();
    hr_status st = check_options(&o, err, errlen);
    if (st != HR_OK) return st;
    if (!F || !t || !out || n == 0 || K == 0)
        return hr_fail(HR_ERR_INPUT, err, errlen, "explain: empty input");
    if (n < 4 * (size_t)o.folds)
        return hr_fail(HR_ERR_INPUT, err, errlen, "explain: %zu texts; %d folds need at least "
                       "%zu", n, o.folds, 4 * (size_t)o.folds);
    int varies = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(t[i]))
            return hr_fail(HR_ERR_INPUT, err, errlen, "explain: target %zu is not finite", i);
        varies |= t[i] != t[0];
    }
    if (!varies) return hr_fail(HR_ERR_INPUT, err, errlen, "explain: the target is constant");
    for (size_t i = 0; i < n * K; i++)
        if (!isfinite(F[i]))
            return hr_fail(HR_ERR_INPUT, err, errlen, "explain: feature (%zu, %zu) is not finite",
                           i / K, i % K);
    const size_t steps = steps_of(&o, K);
    out->n = n;
    out->k = K;
    out->n_selected = steps;
    out->folds = o.folds;
    out->continuous = 1;
    out->selected = malloc(steps * sizeof *out->selected);
    out->select_auroc = malloc(steps * sizeof *out->select_auroc);
    out->step_auroc = malloc(steps * sizeof *out->step_auroc);
    out->step_r2 = malloc(steps * sizeof *out->step_r2);
    out->heldout = malloc(steps * n * sizeof *out->heldout); /* (steps, n) */
    out->single_auroc = malloc(K * sizeof *out->single_auroc);
    out->fold_selected = malloc((size_t)o.folds * steps * sizeof *out->fold_selected);
    int *fold = malloc(n * sizeof *fold);           /* (n) outer fold of each row */
    size_t *train = malloc(n * sizeof *train);      /* (<= n) */
    size_t *test = malloc(n * sizeof *test);        /* (<= n) */
    size_t *sel = malloc(steps * sizeof *sel);      /* (steps) one fold's choice */
    double *crit = malloc(steps * sizeof *crit);    /* (steps) */
    double *mean = malloc(steps * sizeof *mean);    /* (steps) */
    double *sd = malloc(steps * sizeof *sd);        /* (steps) */
    double *beta = malloc(steps * sizeof *beta);    /* (steps) */
    size_t *order = malloc(K * sizeof *order);      /* (K) */
    float *Z = malloc(n * steps * sizeof *Z);       /* (rows, j) design */
    double *p = malloc(n * sizeof *p);              /* (<= n) test order */
    double *ttr = malloc(n * sizeof *ttr);          /* (<= n) training targets */
    if (!out->selected || !out->select_auroc || !out->step_auroc || !out->step_r2 ||
        !out->heldout || !out->single_auroc || !out->fold_selected || !fold || !train || !test ||
        !sel || !crit || !mean || !sd || !beta || !order || !Z || !p || !ttr) {
        st = hr_fail(HR_ERR_NOMEM, err, errlen, "explain: out of memory");
        goto done;
    }
    if ((st = hr_explain_plain_folds(n, o.folds, o.seed, fold, err, errlen)) != HR_OK) goto done;
    for (int f = 0; f < o.folds; f++) {
        size_t ntr = 0, nte = 0, ns = 0;
        for (size_t i = 0; i < n; i++) {
            if (fold[i] == f) test[nte++] = i;
            else train[ntr++] = i;
        }
        st = select_continuous(F, n, K, t, train, ntr, &o, o.seed + (uint64_t)f + 1, steps, sel,
                               crit, &ns, err, errlen);
        if (st != HR_OK) goto done;
        if (ns < steps) {
            st = hr_fail(HR_ERR_INTERNAL, err, errlen, "explain: fold %d chose too few", f);
            goto done;
        }
        memcpy(out->fold_selected + (size_t)f * steps, sel, steps * sizeof *sel);
        for (size_t i = 0; i < ntr; i++) ttr[i] = t[train[i]];
        for (size_t j = 1; j <= steps; j++) {
            column_stats(F, K, sel, j, train, ntr, mean, sd);
            standardised(F, K, sel, j, train, ntr, mean, sd, Z);
            double b0;
            if ((st = hr_explain_ridge_fit(Z, ntr, (int)j, ttr, NULL, ntr, o.lambda, beta, &b0,
                                           err, errlen)) != HR_OK)
                goto done;
            standardised(F, K, sel, j, test, nte, mean, sd, Z);
            ridge_predict(Z, (int)j, NULL, nte, beta, b0, p);
            for (size_t i = 0; i < nte; i++) out->heldout[(j - 1) * n + test[i]] = p[i];
        }
    }
    size_t ns = 0;
    st = select_continuous(F, n, K, t, NULL, n, &o, o.seed, steps, out->selected,
                           out->select_auroc, &ns, err, errlen);
    if (st != HR_OK) goto done;
    if ((st = rank_continuous(F, n, K, t, NULL, n, out->single_auroc, order, err, errlen)) !=
        HR_OK)
        goto done;
    for (int f = 0; f < o.folds; f++)
        out->first_agree += out->fold_selected[(size_t)f * steps] == out->selected[0];
    for (size_t j = 0; j < steps; j++) {
        st = hr_explain_spearman(out->heldout + j * n, t, NULL, n, &out->step_auroc[j], err,
                                 errlen);
        if (st != HR_OK) goto done;
        out->step_r2[j] = hr_explain_r2(out->heldout + j * n, t, n);
    }
done:
    free(fold), free(train), free(test), free(sel), free(crit), free(mean), free(sd), free(beta);
    free(order), free(Z), free(p), free(ttr);
    if (st != HR_OK) hr_explain_result_free(out);
    return st;
}

hr_status hr_explain_bootstrap_continuous(const double *ref, const double *hyp, const double *t,
                                          size_t n, int resamples, uint64_t seed,
                                          double epsilon, hr_explain_ratio *out, char *err,
                                          size_t errlen)
{
    if (!ref || !hyp || !t || !out || n == 0)
        return hr_fail(HR_ERR_INPUT, err, errlen, "explain: bootstrap: empty input");
    if (resamples < 1 || !(epsilon >= 0))
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "explain: bootstrap: resamples must be >= 1 and epsilon >= 0");
    hr_status st = HR_OK;
    const size_t B = (size_t)resamples;
    vi *sr = malloc(n * sizeof *sr);        /* (n) ref sorted */
    vi *sh = malloc(n * sizeof *sh);        /* (n) hyp sorted */
    vi *stt = malloc(n * sizeof *stt);      /* (n) t sorted */
    double *rr = malloc(n * sizeof *rr);    /* (n) ranks by row of one resample */
    double *rh = malloc(n * sizeof *rh);    /* (n) */
    double *rt = malloc(n * sizeof *rt);    /* (n) */
    double *w = malloc(n * sizeof *w);      /* (n) counts of one resample */
    double *rb = malloc(B * sizeof *rb);    /* (<= B) ref rho per resample */
    double *hb = malloc(B * sizeof *hb);    /* (<= B) hyp rho per resample */
    double *xb = malloc(B * sizeof *xb);    /* (B) X per resample, +-inf if undefined */
    if (!sr || !sh || !stt || !rr || !rh || !rt || !w || !rb || !hb || !xb) {
        st = hr_fail(HR_ERR_NOMEM, err, errlen, "explain: out of memory");
        goto done;
    }
    if ((st = sort_values(ref, n, sr, err, errlen)) != HR_OK ||
        (st = sort_values(hyp, n, sh, err, errlen)) != HR_OK ||
        (st = sort_values(t, n, stt, err, errlen)) != HR_OK)
        goto done;
    memset(out, 0, sizeof *out);
    ranks_sorted(sr, n, NULL, rr);
    ranks_sorted(sh, n, NULL, rh);
    ranks_sorted(stt, n, NULL, rt);
    if (stt[0].v == stt[n - 1].v) {
        st = hr_fail(HR_ERR_INPUT, err, errlen, "explain: bootstrap: the target is constant");
        goto done;
    }
    out->ref_auroc = pearson_w(rr, rt, NULL, n);
    out->hyp_auroc = pearson_w(rh, rt, NULL, n);
    if (isnan(out->ref_auroc)) out->ref_auroc = 0; /* constant predictions: no ranking */
    if (isnan(out->hyp_auroc)) out->hyp_auroc = 0;
    out->resamples = resamples;
    uint64_t state = seed;
    size_t both = 0; /* resamples where t varies: rb, hb */
    for (size_t b = 0; b < B; b++) {
        for (size_t i = 0; i < n; i++) w[i] = 0;
        for (size_t i = 0; i < n; i++) w[hr_random_below(&state, n)] += 1;
        ranks_sorted(sr, n, w, rr);
        ranks_sorted(sh, n, w, rh);
        ranks_sorted(stt, n, w, rt);
        double ar = pearson_w(rr, rt, w, n), ah = pearson_w(rh, rt, w, n);
        if (isnan(pearson_w(rt, rt, w, n))) { /* t constant in the resample: no rho */
            out->undefined++;
            xb[b] = -INFINITY;
            continue;
        }
        if (isnan(ar)) ar = 0;
        if (isnan(ah)) ah = 0;
        rb[both] = ar;
        hb[both] = ah;
        both++;
        xb[b] = resample_ratio(ar, ah, 0.0, epsilon, out);
    }
    finish_ratio(out, 0.0, epsilon, rb, hb, both, xb, B);
done:
    free(sr), free(sh), free(stt), free(rr), free(rh), free(rt), free(w), free(rb), free(hb);
    free(xb);
    return st;
}
