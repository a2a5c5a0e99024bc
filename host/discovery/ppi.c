/*
 * host/discovery/ppi.c: prediction-powered estimates of a hypothesis's
 * shares (hyporank/ppi.h has the method and the formulas).
 *
 * One estimate, in order:
 *   1. the labels with a verdict of each side, sorted by row (so that one
 *      pass over the side's texts can tell labelled from not);
 *   2. the fold models: K logistic fits (2 parameters, Newton) on the other
 *      folds' labels of both sides, or the screen's probability for all;
 *   3. one pass over each side's texts: every fold model's mean over the
 *      unlabelled texts, and the mean and variance of their average, over
 *      the unlabelled texts and over all;
 *   4. the labelled texts' centred predictions, the cross-fitted weights,
 *      the estimates and their intervals.
 * Sums are in double; the pass is O(K n) and holds nothing of size n.
 */
#include "hyporank/ppi.h"
#include "core/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NEWTON_MAX_ITER 100
#define NEWTON_TOL 1e-10

hr_ppi_options hr_ppi_default_options(void)
{
    hr_ppi_options o;
    o.folds = 5;
    o.recalibrate = 1;
    o.prior_sd = 2.5;
    o.pseudo = 2.0;
    o.z = 1.959963984540054;
    return o;
}

static double clamp(double x, double lo, double hi)
{
    return x < lo ? lo : (x > hi ? hi : x);
}

/* E[max(S - tau, 0)] for S ~ N(mu, sigma): what the hinge averages over
 * texts the hypothesis does not hold for (the screen's model). */
static double null_hinge(double mu, double sigma, double tau)
{
    const double z = (mu - tau) / sigma;
    return sigma * 0.3989422804014327 * exp(-0.5 * z * z) +
           (mu - tau) * 0.5 * erfc(-z * 0.7071067811865476);
}

double hr_ppi_screen_prob(const hr_effect *e, double s)
{
    const double g = s > e->tau ? s - e->tau : 0.0;
    const double sigma = e->sigma > 0 ? e->sigma : 1e-6;
    const double gain = e->gain > 1e-12 ? e->gain : 1e-12;
    return clamp((g - null_hinge(e->mu0, sigma, e->tau)) / gain, 0.0, 1.0);
}

void hr_ppi_wilson(double theta, double n, double r, double z, double *low, double *high)
{
    const double t = clamp(theta, 0.0, 1.0);
    const double c = z * z * r / n;
    /* (t - x)^2 <= c x (1 - x): x^2 (1 + c) - x (2t + c) + t^2 <= 0; its
     * discriminant c (4 t (1 - t) + c) is >= 0 for t in [0, 1]. */
    const double a = 1 + c, b = 2 * t + c;
    const double root = sqrt(c * (4 * t * (1 - t) + c));
    *low = clamp((b - root) / (2 * a), 0.0, 1.0);
    *high = clamp((b + root) / (2 * a), 0.0, 1.0);
    if (*low > t) *low = t;   /* rounding at t = 0 or 1 */
    if (*high < t) *high = t;
}

/* Newcombe's hybrid interval of ta - tb from the two sides' intervals. */
static void combine(double ta, double la, double ua, double tb, double lb, double ub, double *low,
                    double *high)
{
    const double v = ta - tb;
    *low = clamp(v - sqrt((ta - la) * (ta - la) + (ub - tb) * (ub - tb)), -1.0, 1.0);
    *high = clamp(v + sqrt((ua - ta) * (ua - ta) + (tb - lb) * (tb - lb)), -1.0, 1.0);
}

static double sigmoid(double eta)
{
    if (eta >= 0) return 1.0 / (1.0 + exp(-eta));
    const double e = exp(eta);
    return e / (1.0 + e);
}

/* The MAP logistic regression of y on (1, z), prior N(0, sd^2) on both
 * coefficients: Newton from 0 until no step exceeds NEWTON_TOL. The log
 * posterior is strictly concave, so the steps converge whatever the labels
 * (all one class, or separated). z, y: (n); beta: (2). */
static void logistic_fit(const double *z, const double *y, size_t n, double sd, double *beta)
{
    const double prec = 1.0 / (sd * sd);
    double b0 = 0, b1 = 0;
    for (int it = 0; it < NEWTON_MAX_ITER; it++) {
        double g0 = -prec * b0, g1 = -prec * b1, h00 = prec, h01 = 0, h11 = prec;
        for (size_t i = 0; i < n; i++) {
            const double p = sigmoid(b0 + b1 * z[i]), w = p * (1 - p), r = y[i] - p;
            g0 += r;
            g1 += r * z[i];
            h00 += w;
            h01 += w * z[i];
            h11 += w * z[i] * z[i];
        }
        const double det = h00 * h11 - h01 * h01;
        const double s0 = (h11 * g0 - h01 * g1) / det, s1 = (h00 * g1 - h01 * g0) / det;
        b0 += s0;
        b1 += s1;
        if (fabs(s0) < NEWTON_TOL && fabs(s1) < NEWTON_TOL) break;
    }
    beta[0] = b0;
    beta[1] = b1;
}

/* One side's labels (those with a verdict), sorted by row, and what the
 * estimate computes for them. */
typedef struct side_work {
    const hr_ppi_side *in;
    size_t n_lab;              /* labels with a verdict */
    size_t *row;               /* (n_lab) ascending */
    double *y, *z, *c, *lam;   /* (n_lab) label, standardised similarity, centred
                                  prediction, power-tuning weight */
    unsigned char *fold;       /* (n_lab) */
    size_t m_u;                /* unlabelled texts: n - n_lab */
    double mu[HR_PPI_MAX_FOLDS]; /* each fold model's mean over the unlabelled texts */
    double var_all;            /* variance of the fold models' average over all texts */
    double var_u;              /* ... over the unlabelled texts */
} side_work;

typedef struct model {
    int recal;
    double mu0, sigma;         /* standardisation of s */
    const hr_effect *screen;
    int k;                     /* folds */
    double beta[HR_PPI_MAX_FOLDS][2];
    unsigned char used[HR_PPI_MAX_FOLDS]; /* the fold has a label: its model counts in the average */
    int n_used;
} model;

static double predict(const model *md, int k, double s)
{
    if (!md->recal) return hr_ppi_screen_prob(md->screen, s);
    return sigmoid(md->beta[k][0] + md->beta[k][1] * (s - md->mu0) / md->sigma);
}

/* The average of the fold models that have labels. */
static double predict_avg(const model *md, double s, double *each)
{
    double sum = 0;
    for (int k = 0; k < md->k; k++) {
        each[k] = md->used[k] ? predict(md, k, s) : 0.0;
        sum += each[k];
    }
    return md->n_used ? sum / md->n_used : 0.5;
}

static int cmp_size(const void *a, const void *b)
{
    const size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

static void side_free(side_work *w)
{
    free(w->row), free(w->y), free(w->z), free(w->c), free(w->lam), free(w->fold);
}

/* Checks one side and gathers its labels, sorted by row. */
static hr_status side_gather(const hr_ppi_side *in, const char *name, int folds, side_work *w,
                             char *err, size_t errlen)
{
    memset(w, 0, sizeof *w);
    w->in = in;
    if (!in || in->n < 1 || !in->s || (in->m > 0 && (!in->rows || !in->y || !in->fold)))
        return hr_fail(HR_ERR_INPUT, err, errlen, "ppi: side %s has no texts or no labels array",
                       name);
    if (in->m > in->n)
        return hr_fail(HR_ERR_INPUT, err, errlen, "ppi: side %s has %zu labels for %zu texts",
                       name, in->m, in->n);
    size_t cnt = 0;
    for (size_t i = 0; i < in->m; i++) {
        if (in->rows[i] >= in->n || in->y[i] < -1 || in->y[i] > 1 || in->fold[i] >= folds)
            return hr_fail(HR_ERR_INPUT, err, errlen,
                           "ppi: side %s label %zu: row %zu, verdict %d, fold %d out of range",
                           name, i, in->rows[i], in->y[i], in->fold[i]);
        cnt += in->y[i] >= 0;
    }
    size_t *pairs = malloc((cnt ? cnt : 1) * 2 * sizeof *pairs); /* (row, label index) */
    w->row = malloc((cnt ? cnt : 1) * sizeof *w->row);
    w->y = malloc((cnt ? cnt : 1) * sizeof *w->y);
    w->z = malloc((cnt ? cnt : 1) * sizeof *w->z);
    w->c = malloc((cnt ? cnt : 1) * sizeof *w->c);
    w->lam = malloc((cnt ? cnt : 1) * sizeof *w->lam);
    w->fold = malloc(cnt ? cnt : 1);
    if (!pairs || !w->row || !w->y || !w->z || !w->c || !w->lam || !w->fold) {
        free(pairs);
        return hr_fail(HR_ERR_NOMEM, err, errlen, "ppi: out of memory");
    }
    size_t t = 0;
    for (size_t i = 0; i < in->m; i++)
        if (in->y[i] >= 0) pairs[2 * t] = in->rows[i], pairs[2 * t + 1] = i, t++;
    qsort(pairs, cnt, 2 * sizeof *pairs, cmp_size);
    hr_status st = HR_OK;
    for (size_t i = 0; i < cnt && st == HR_OK; i++) {
        const size_t src = pairs[2 * i + 1];
        w->row[i] = pairs[2 * i];
        w->y[i] = in->y[src];
        w->fold[i] = in->fold[src];
        if (i > 0 && w->row[i] == w->row[i - 1])
            st = hr_fail(HR_ERR_INPUT, err, errlen, "ppi: side %s labels row %zu twice", name,
                         w->row[i]);
        else if (!isfinite(in->s[w->row[i]]))
            st = hr_fail(HR_ERR_INPUT, err, errlen, "ppi: side %s row %zu: similarity %g", name,
                         w->row[i], (double)in->s[w->row[i]]);
    }
    free(pairs);
    w->n_lab = cnt;
    w->m_u = in->n - cnt;
    return st;
}

/* The fold models from both sides' labels. */
static hr_status fit_models(model *md, side_work *w, const hr_ppi_options *o, char *err,
                            size_t errlen)
{
    memset(md->used, 0, sizeof md->used);
    md->n_used = 0;
    for (int s = 0; s < 2; s++)
        for (size_t i = 0; i < w[s].n_lab; i++) {
            w[s].z[i] = ((double)w[s].in->s[w[s].row[i]] - md->mu0) / md->sigma;
            md->used[w[s].fold[i]] = 1;
        }
    for (int k = 0; k < md->k; k++) md->n_used += md->used[k];
    if (!md->recal) return HR_OK;
    const size_t total = w[0].n_lab + w[1].n_lab;
    double *z = malloc((total ? total : 1) * sizeof *z), *y = malloc((total ? total : 1) * sizeof *y);
    if (!z || !y) {
        free(z), free(y);
        return hr_fail(HR_ERR_NOMEM, err, errlen, "ppi: out of memory");
    }
    for (int k = 0; k < md->k; k++) {
        if (!md->used[k]) continue;
        size_t t = 0;
        for (int s = 0; s < 2; s++)
            for (size_t i = 0; i < w[s].n_lab; i++)
                if (w[s].fold[i] != k) z[t] = w[s].z[i], y[t] = w[s].y[i], t++;
        logistic_fit(z, y, t, o->prior_sd, md->beta[k]);
    }
    free(z), free(y);
    return HR_OK;
}

/* Step 3 for one side: the fold models' means over the unlabelled texts
 * and the variances of their average (Welford), one pass. */
static hr_status side_pass(const model *md, side_work *w, const char *name, char *err,
                           size_t errlen)
{
    const hr_ppi_side *in = w->in;
    double each[HR_PPI_MAX_FOLDS], sum[HR_PPI_MAX_FOLDS];
    memset(sum, 0, sizeof sum);
    double mean_all = 0, m2_all = 0, mean_u = 0, m2_u = 0;
    size_t next = 0, cnt_u = 0;
    for (size_t r = 0; r < in->n; r++) {
        const double s = in->s[r];
        if (!isfinite(s))
            return hr_fail(HR_ERR_INPUT, err, errlen, "ppi: side %s row %zu: similarity %g",
                           name, r, s);
        const double f = predict_avg(md, s, each);
        const double d = f - mean_all;
        mean_all += d / (double)(r + 1);
        m2_all += d * (f - mean_all);
        if (next < w->n_lab && w->row[next] == r) {
            next++;
            continue;
        }
        cnt_u++;
        for (int k = 0; k < md->k; k++) sum[k] += each[k];
        const double du = f - mean_u;
        mean_u += du / (double)cnt_u;
        m2_u += du * (f - mean_u);
    }
    for (int k = 0; k < md->k; k++) w->mu[k] = cnt_u ? sum[k] / (double)cnt_u : 0.0;
    w->var_all = in->n > 1 ? m2_all / (double)(in->n - 1) : 0.0;
    w->var_u = cnt_u > 1 ? m2_u / (double)(cnt_u - 1) : 0.0;
    for (size_t i = 0; i < w->n_lab; i++)
        w->c[i] = predict(md, w->fold[i], in->s[w->row[i]]) - w->mu[w->fold[i]];
    return HR_OK;
}

/* Step 4: the cross-fitted weights, one per fold, for both sides. A side
 * with every text labelled takes no weight (its labels are the answer). */
static void weights(const model *md, side_work *w)
{
    for (int k = 0; k < md->k; k++) {
        double num = 0, den = 0;
        for (int s = 0; s < 2; s++) {
            const side_work *v = &w[s];
            if (v->m_u == 0) continue;
            double ys = 0, cs = 0;
            size_t nt = 0;
            for (size_t i = 0; i < v->n_lab; i++)
                if (v->fold[i] != k) ys += v->y[i], cs += v->c[i], nt++;
            if (nt < 2) continue;
            const double yb = ys / (double)nt, cb = cs / (double)nt;
            for (size_t i = 0; i < v->n_lab; i++)
                if (v->fold[i] != k) num += (v->y[i] - yb) * (v->c[i] - cb);
            den += (double)(nt - 1) * v->var_all * (1.0 + (double)v->n_lab / (double)v->m_u);
        }
        const double lam = den > 1e-300 ? clamp(num / den, 0.0, 1.0) : 0.0;
        for (int s = 0; s < 2; s++)
            for (size_t i = 0; i < w[s].n_lab; i++)
                if (w[s].fold[i] == k) w[s].lam[i] = w[s].m_u ? lam : 0.0;
    }
}

/* One side's estimate, interval and variance ratio. */
static void side_estimate(const side_work *w, const hr_ppi_options *o, double *theta, double *lo,
                          double *hi, double *ratio, size_t *pos)
{
    const size_t n = w->n_lab;
    *pos = 0;
    if (n == 0) {
        *theta = NAN, *lo = 0, *hi = 1, *ratio = 1;
        return;
    }
    double ys = 0, corr = 0, lam = 0;
    for (size_t i = 0; i < n; i++) {
        ys += w->y[i];
        corr += w->lam[i] * w->c[i];
        lam += w->lam[i];
    }
    *pos = (size_t)ys;
    const double yb = ys / (double)n;
    lam /= (double)n;
    *theta = clamp(yb - corr / (double)n, 0.0, 1.0);
    double r = 1.0;
    const double vy = n > 1 ? (ys - (double)n * yb * yb) / (double)(n - 1) : 0.0;
    if (lam > 0 && vy > 0 && n >= 3 && w->m_u >= 1) {
        const double rb = (ys - corr) / (double)n;
        double ss = 0;
        for (size_t i = 0; i < n; i++) {
            const double d = w->y[i] - w->lam[i] * w->c[i] - rb;
            ss += d * d;
        }
        const double vres = (ss + o->pseudo * vy) / ((double)n - 2.0 + o->pseudo);
        r = (vres / (double)n + lam * lam * w->var_u / (double)w->m_u) / (vy / (double)n);
    }
    *ratio = r;
    hr_ppi_wilson(*theta, (double)n, r, o->z, lo, hi);
}

static hr_status check_options(const hr_ppi_options *o, char *err, size_t errlen)
{
    if (o->folds < 2 || o->folds > HR_PPI_MAX_FOLDS || !(o->prior_sd > 0) || !(o->pseudo >= 0) ||
        !(o->z > 0) || !isfinite(o->prior_sd) || !isfinite(o->pseudo) || !isfinite(o->z))
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "ppi: options out of range (folds 2..%d, prior_sd > 0, pseudo >= 0, z > 0)",
                       HR_PPI_MAX_FOLDS);
    return HR_OK;
}

hr_status hr_ppi_estimate(const hr_effect *screen, const hr_ppi_side *a, const hr_ppi_side *b,
                          const hr_ppi_options *opt, hr_ppi_result *out, char *err,
                          size_t errlen)
{
    if (!screen || !out) return hr_fail(HR_ERR_INTERNAL, err, errlen, "ppi: NULL argument");
    hr_ppi_options o = opt ? *opt : hr_ppi_default_options();
    hr_status st = check_options(&o, err, errlen);
    if (st != HR_OK) return st;
    side_work w[2];
    memset(w, 0, sizeof w);
    model md;
    memset(&md, 0, sizeof md);
    md.recal = o.recalibrate;
    md.screen = screen;
    md.k = o.folds;
    md.mu0 = isfinite(screen->mu0) ? screen->mu0 : 0.0;
    md.sigma = screen->sigma > 0 && isfinite(screen->sigma) ? screen->sigma : 1.0;
    if ((st = side_gather(a, "A", o.folds, &w[0], err, errlen)) != HR_OK ||
        (st = side_gather(b, "B", o.folds, &w[1], err, errlen)) != HR_OK ||
        (st = fit_models(&md, w, &o, err, errlen)) != HR_OK ||
        (st = side_pass(&md, &w[0], "A", err, errlen)) != HR_OK ||
        (st = side_pass(&md, &w[1], "B", err, errlen)) != HR_OK)
        goto done;
    weights(&md, w);

    hr_ppi_result r;
    memset(&r, 0, sizeof r);
    side_estimate(&w[0], &o, &r.share_a, &r.share_a_low, &r.share_a_high, &r.ratio_a, &r.pos_a);
    side_estimate(&w[1], &o, &r.share_b, &r.share_b_low, &r.share_b_high, &r.ratio_b, &r.pos_b);
    r.n_a = w[0].n_lab;
    r.n_b = w[1].n_lab;
    const size_t n[2] = {r.n_a, r.n_b}, pos[2] = {r.pos_a, r.pos_b};
    double *pc[2][3] = {{&r.p_a, &r.p_a_low, &r.p_a_high}, {&r.p_b, &r.p_b_low, &r.p_b_high}};
    double var_cl = 0, var_ppi = 0, lam = 0;
    for (int s = 0; s < 2; s++) {
        if (n[s] == 0) {
            *pc[s][0] = NAN, *pc[s][1] = 0, *pc[s][2] = 1;
            continue;
        }
        *pc[s][0] = (double)pos[s] / (double)n[s];
        hr_ppi_wilson(*pc[s][0], (double)n[s], 1.0, o.z, pc[s][1], pc[s][2]);
        const double pt = ((double)pos[s] + 2) / ((double)n[s] + 4);
        var_cl += pt * (1 - pt) / (double)n[s];
        var_ppi += (s ? r.ratio_b : r.ratio_a) * pt * (1 - pt) / (double)n[s];
        for (size_t i = 0; i < n[s]; i++) lam += w[s].lam[i];
    }
    r.lambda = r.n_a + r.n_b ? lam / (double)(r.n_a + r.n_b) : 0.0;
    r.effective_labels = var_ppi > 0 ? (double)(r.n_a + r.n_b) * var_cl / var_ppi : 0.0;
    if (r.n_a && r.n_b) {
        r.v = r.share_a - r.share_b;
        combine(r.share_a, r.share_a_low, r.share_a_high, r.share_b, r.share_b_low,
                r.share_b_high, &r.v_low, &r.v_high);
        r.v_classical = r.p_a - r.p_b;
        combine(r.p_a, r.p_a_low, r.p_a_high, r.p_b, r.p_b_low, r.p_b_high, &r.classical_low,
                &r.classical_high);
    } else {
        r.v = r.v_classical = NAN;
        r.v_low = r.classical_low = -1;
        r.v_high = r.classical_high = 1;
    }
    r.slope = NAN;
    if (md.recal && md.n_used) {
        double sl = 0;
        for (int k = 0; k < md.k; k++) sl += md.used[k] ? md.beta[k][1] : 0.0;
        r.slope = sl / md.n_used;
    }
    *out = r;
done:
    side_free(&w[0]), side_free(&w[1]);
    return st;
}
