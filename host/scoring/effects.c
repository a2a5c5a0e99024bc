/*
 * host/scoring/effects.c: the share of A and of B a hypothesis holds for,
 * from its similarities (hyporank/findings.h has the method and why).
 *
 * Quantiles are numpy's default (linear interpolation between order
 * statistics: position (n - 1) q), found by selection, not sorting: five
 * selections over shrinking ranges, about 3 n comparisons a hypothesis.
 */
#include "hyporank/findings.h"
#include "hyporank/stats.h"
#include "core/util.h"
#include "scoring/effects_internal.h"
#include "scoring/score_methods.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Selection                                                                 */

static void swap_f(float *a, float *b)
{
    float t = *a;
    *a = *b;
    *b = t;
}

static int cmp_float(const void *x, const void *y)
{
    const float a = *(const float *)x, b = *(const float *)y;
    return (a > b) - (a < b);
}

/* Rearranges v[lo..hi) (no NaN) so that v[k] is the value of rank k among
 * them, everything before it <= v[k] and everything after >= v[k]. Three-way
 * partitions around a median of three; after 2 log2(n) + 8 rounds without
 * finishing (an adversarial order) the rest is sorted, so the worst case is
 * O(n log n). */
static void select_kth(float *v, size_t lo, size_t hi, size_t k)
{
    int budget = 8;
    for (size_t n = hi - lo; n > 1; n >>= 1) budget += 2;
    while (hi - lo > 1) {
        if (budget-- == 0) {
            qsort(v + lo, hi - lo, sizeof *v, cmp_float);
            return;
        }
        const size_t mid = lo + (hi - lo) / 2;
        float a = v[lo], b = v[mid], c = v[hi - 1];
        const float pivot = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
        /* [lo, lt) < pivot, [lt, i) == pivot, [gt, hi) > pivot */
        size_t lt = lo, i = lo, gt = hi;
        while (i < gt) {
            if (v[i] < pivot) swap_f(&v[lt++], &v[i++]);
            else if (v[i] > pivot) swap_f(&v[i], &v[--gt]);
            else i++;
        }
        if (k < lt) hi = lt;
        else if (k >= gt) lo = gt;
        else return;
    }
}

void hr_quantiles(float *v, size_t n, const double *q, size_t nq, double *out)
{
    size_t from = 0; /* v[0..from) holds the ranks below the last one selected */
    for (size_t j = 0; j < nq; j++) {
        const double pos = (double)(n - 1) * q[j];
        size_t k = (size_t)floor(pos);
        if (k > n - 1) k = n - 1;
        if (k >= from) select_kth(v, from, n, k);
        double lo = v[k], hi = lo;
        if (k + 1 < n) { /* the next order statistic: the smallest after v[k] */
            float m = v[k + 1];
            for (size_t i = k + 2; i < n; i++)
                if (v[i] < m) m = v[i];
            hi = m;
        }
        out[j] = lo + (pos - (double)k) * (hi - lo);
        from = k + 1;
    }
}

/* ------------------------------------------------------------------------ */
/* One hypothesis                                                            */

/* E[max(s - tau, 0)] for s ~ N(mu, sigma). */
static double hinge_mean(double mu, double sigma, double tau)
{
    const double z = (mu - tau) / sigma;
    const double pdf = 0.3989422804014327 * exp(-0.5 * z * z);
    const double cdf = 0.5 * erfc(-z * 0.7071067811865476);
    return sigma * pdf + (mu - tau) * cdf;
}

static double clamp(double x, double lo, double hi)
{
    return x < lo ? lo : (x > hi ? hi : x);
}

void hr_effect_interval(hr_effect *e, double se, double rel_sd)
{
    const double half = 1.96 * sqrt(se * se + rel_sd * rel_sd * e->effect * e->effect);
    e->ci_low = clamp(e->effect - half, -1.0, 1.0);
    e->ci_high = clamp(e->effect + half, -1.0, 1.0);
}

/* Mean and sample variance (0 for one value) of max(s - tau, 0) over s: (n). */
static void hinge_moments(const float *s, size_t n, double tau, double *mean, double *var)
{
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) sum += s[i] > tau ? (double)s[i] - tau : 0.0;
    const double m = sum / (double)n;
    double ss = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double d = (s[i] > tau ? (double)s[i] - tau : 0.0) - m;
        ss += d * d;
    }
    *mean = m;
    *var = n > 1 ? ss / (double)(n - 1) : 0.0;
}

hr_status hr_effect_of(const float *sa, size_t n_a, const float *sb, size_t n_b, float *scratch,
                       hr_effect *out, char *err, size_t errlen)
{
    if (n_a == 0 || n_b == 0)
        return hr_fail(HR_ERR_INPUT, err, errlen, "effect: group %s has no texts",
                       n_a == 0 ? "A" : "B");
    const size_t n = n_a + n_b;
    for (size_t i = 0; i < n; i++) {
        const float v = i < n_a ? sa[i] : sb[i - n_a];
        if (isnan(v))
            return hr_fail(HR_ERR_INPUT, err, errlen,
                           "effect: similarity to %s text %zu (counting from 0) is NaN",
                           i < n_a ? "A" : "B", i < n_a ? i : i - n_a);
        scratch[i] = v;
    }
    static const double qs[5] = {0.25, 0.5, 0.7, 0.75, 0.98};
    double q[5];
    hr_quantiles(scratch, n, qs, 5, q);
    hr_effect e;
    memset(&e, 0, sizeof e);
    e.n_a = n_a, e.n_b = n_b;
    e.tau = q[2];
    /* Ties at the threshold (duplicate texts, a clean separation) can leave
     * (almost) nothing above it, and the hinge blind: then the threshold is
     * the largest similarity below it. */
    size_t above = 0;
    float below = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        if (scratch[i] > e.tau) above++;
        else if (scratch[i] < e.tau && scratch[i] > below) below = scratch[i];
    }
    if ((double)above < HR_EFFECT_MIN_ABOVE * (double)n && below > -INFINITY) e.tau = below;
    e.mu0 = q[1];
    e.sigma = (q[3] - q[0]) / 1.349;
    if (!(e.sigma > 1e-6)) e.sigma = 1e-6;
    e.delta = HR_EFFECT_KAPPA * (q[4] - q[1]);
    if (!(e.delta > 1e-6)) e.delta = 1e-6;
    const double g0 = hinge_mean(e.mu0, e.sigma, e.tau);
    e.gain = hinge_mean(e.mu0 + e.delta, e.sigma, e.tau) - g0;
    if (!(e.gain > 1e-12)) e.gain = 1e-12;
    hinge_moments(sa, n_a, e.tau, &e.hinge_a, &e.var_a);
    hinge_moments(sb, n_b, e.tau, &e.hinge_b, &e.var_b);
    const double se_raw = sqrt(e.var_a / (double)n_a + e.var_b / (double)n_b);
    const double diff = e.hinge_a - e.hinge_b;
    if (se_raw > 0.0) {
        e.z = diff / se_raw;
        e.p_value = hr_normal_two_sided_p(e.z);
    } else { /* each side constant: equal, or perfectly apart */
        e.z = diff > 0.0 ? INFINITY : (diff < 0.0 ? -INFINITY : 0.0);
        e.p_value = diff != 0.0 ? 0.0 : 1.0;
    }
    e.q_value = 1.0;
    /* The effect is the better-measured figure (g0 cancels): the side
     * with less of the hypothesis gets the calibrated share, the other that
     * plus the effect, so that share_a - share_b = effect. */
    e.effect = clamp(diff / e.gain, -1.0, 1.0);
    const double lower = e.effect >= 0.0 ? e.hinge_b : e.hinge_a;
    const double base = clamp((lower - g0) / e.gain, 0.0, 1.0 - fabs(e.effect));
    e.share_a = e.effect >= 0.0 ? base + e.effect : base;
    e.share_b = e.effect >= 0.0 ? base : base - e.effect;
    hr_effect_interval(&e, se_raw / e.gain, HR_EFFECT_CALIBRATION_SD);
    *out = e;
    return HR_OK;
}

hr_status hr_effect_row(const float *s, size_t n_a, size_t n_b, float *scratch, hr_effect *out,
                        char *err, size_t errlen)
{
    if (!s || !scratch || !out)
        return hr_fail(HR_ERR_INTERNAL, err, errlen, "hr_effect_row: null argument");
    return hr_effect_of(s, n_a, s + n_a, n_b, scratch, out, err, errlen);
}

/* Budget for one block of similarities. */
#define EFFECT_BLOCK_BYTES ((size_t)64 << 20)

hr_status hr_effect_rows(const float *xa, size_t n_a, const float *xb, size_t n_b, int dim,
                         const float *h, size_t k, hr_effect *out, char *err, size_t errlen)
{
    if (k == 0) return HR_OK;
    if (!xa || !xb || !h || !out || dim <= 0)
        return hr_fail(HR_ERR_INTERNAL, err, errlen, "hr_effect_rows: null argument");
    if (n_a == 0 || n_b == 0)
        return hr_fail(HR_ERR_INPUT, err, errlen, "effect: group %s has no texts",
                       n_a == 0 ? "A" : "B");
    const size_t n = n_a + n_b;
    size_t rows = EFFECT_BLOCK_BYTES / (n * sizeof(float));
    if (rows < 1) rows = 1;
    if (rows > k) rows = k;
    float *sa = malloc(rows * n_a * sizeof *sa); /* (rows, n_a) */
    float *sb = malloc(rows * n_b * sizeof *sb); /* (rows, n_b) */
    float *scratch = malloc(n * sizeof *scratch);
    hr_status st = HR_OK;
    if (!sa || !sb || !scratch) st = hr_fail(HR_ERR_NOMEM, err, errlen, "effect: out of memory");
    for (size_t k0 = 0; st == HR_OK && k0 < k; k0 += rows) {
        const size_t kb = k - k0 < rows ? k - k0 : rows;
        const float *hb = h + k0 * (size_t)dim;
        hr_similarities(hb, kb, xa, n_a, dim, sa);
        hr_similarities(hb, kb, xb, n_b, dim, sb);
        for (size_t r = 0; st == HR_OK && r < kb; r++) {
            char e[256];
            st = hr_effect_of(sa + r * n_a, n_a, sb + r * n_b, n_b, scratch, &out[k0 + r], e,
                              sizeof e);
            if (st != HR_OK)
                hr_fail(st, err, errlen, "hypothesis %zu (counting from 0): %s", k0 + r, e);
        }
    }
    free(sa), free(sb), free(scratch);
    return st;
}

hr_status hr_effect_qvalues(hr_effect *e, size_t k, char *err, size_t errlen)
{
    if (k == 0) return HR_OK;
    double *p = malloc(k * sizeof *p);
    if (!p) return hr_fail(HR_ERR_NOMEM, err, errlen, "effect: out of memory");
    for (size_t i = 0; i < k; i++) p[i] = e[i].p_value;
    hr_status st = hr_bh_qvalues(p, k, p, err, errlen);
    if (st == HR_OK)
        for (size_t i = 0; i < k; i++) e[i].q_value = p[i];
    free(p);
    return st;
}
