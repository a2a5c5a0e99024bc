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
#include "core/simd.h"
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

/* Quantile j from the order statistics lo = v_(k) and hi = v_(k+1). */
static double interpolate(double pos, size_t k, double lo, double hi)
{
    return lo + (pos - (double)k) * (hi - lo);
}

/* Below this many values, selection; above it, a histogram first. */
#define QUANTILE_HISTOGRAM_MIN 512
#define QUANTILE_BINS 2048

/* The quantiles by selection over shrinking ranges (small n). */
static void quantiles_by_selection(float *v, size_t n, const double *q, size_t nq, double *out)
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
        out[j] = interpolate(pos, k, lo, hi);
        from = k + 1;
    }
}

/* The quantiles through a histogram: one pass counts the values in
 * QUANTILE_BINS equal bins between the minimum and the maximum (the bin of
 * x, floor((x - min) scale), is monotone in x, so the bins hold the order
 * statistics in order), a second gathers the values of the few bins that
 * hold the wanted ranks, and those are selected exactly. About two passes
 * over v, which it does not reorder. */
static int quantiles_by_histogram(const float *v, size_t n, float mn, float mx, const double *q,
                                  size_t nq, double *out)
{
    if (mn == mx) {
        for (size_t j = 0; j < nq; j++) out[j] = mn;
        return 1;
    }
    const double scale = (double)QUANTILE_BINS / ((double)mx - (double)mn);
    size_t count[QUANTILE_BINS + 1];
    memset(count, 0, sizeof count);
    for (size_t i = 0; i < n; i++) {
        size_t b = (size_t)(((double)v[i] - (double)mn) * scale);
        count[b < QUANTILE_BINS ? b : QUANTILE_BINS - 1]++;
    }
    /* start[b]: rank of the first value of bin b */
    size_t start[QUANTILE_BINS + 1];
    start[0] = 0;
    for (size_t b = 0; b < QUANTILE_BINS; b++) start[b + 1] = start[b] + count[b];
    /* the bins of the ranks k and k + 1 of every quantile */
    enum { MAX_Q = 16 };
    if (nq > MAX_Q) return 0;
    size_t want_bin[2 * MAX_Q], want_rank[2 * MAX_Q];
    size_t nw = 0;
    for (size_t j = 0; j < nq; j++) {
        const double pos = (double)(n - 1) * q[j];
        size_t k = (size_t)floor(pos);
        if (k > n - 1) k = n - 1;
        for (size_t r = k; r <= k + 1 && r < n; r++) {
            size_t lo = 0, hi = QUANTILE_BINS; /* the bin b with start[b] <= r < start[b + 1] */
            while (hi - lo > 1) {
                const size_t mid = (lo + hi) / 2;
                if (start[mid] <= r) lo = mid;
                else hi = mid;
            }
            want_bin[nw] = lo, want_rank[nw] = r, nw++;
        }
    }
    /* gather the wanted bins' values (each bin once), then select in them */
    size_t total = 0, bins[2 * MAX_Q], nb = 0;
    for (size_t w = 0; w < nw; w++) {
        size_t x = 0;
        while (x < nb && bins[x] != want_bin[w]) x++;
        if (x == nb) bins[nb++] = want_bin[w], total += count[want_bin[w]];
    }
    float *buf = malloc(total * sizeof *buf);
    if (!buf) return 0;
    size_t off[2 * MAX_Q], fill[2 * MAX_Q];
    signed char slot[QUANTILE_BINS]; /* bin -> its place among the wanted, or -1 */
    memset(slot, -1, sizeof slot);
    for (size_t x = 0, o = 0; x < nb; x++) {
        off[x] = fill[x] = o, o += count[bins[x]];
        slot[bins[x]] = (signed char)x;
    }
    for (size_t i = 0; i < n; i++) {
        size_t b = (size_t)(((double)v[i] - (double)mn) * scale);
        b = b < QUANTILE_BINS ? b : QUANTILE_BINS - 1;
        if (slot[b] >= 0) buf[fill[slot[b]]++] = v[i];
    }
    double value[2 * MAX_Q];
    for (size_t w = 0; w < nw; w++) {
        size_t x = 0;
        while (bins[x] != want_bin[w]) x++;
        const size_t within = want_rank[w] - start[want_bin[w]];
        select_kth(buf, off[x], off[x] + count[bins[x]], off[x] + within);
        value[w] = buf[off[x] + within];
    }
    free(buf);
    for (size_t j = 0, w = 0; j < nq; j++) {
        const double pos = (double)(n - 1) * q[j];
        size_t k = (size_t)floor(pos);
        if (k > n - 1) k = n - 1;
        const double lo = value[w++];
        const double hi = k + 1 < n ? value[w++] : lo;
        out[j] = interpolate(pos, k, lo, hi);
    }
    return 1;
}

/* The smallest and largest of v: (n), n >= 1, no NaN. */
static void min_max(const float *v, size_t n, float *mn, float *mx)
{
    float lo = v[0], hi = v[0];
    for (size_t i = 1; i < n; i++) {
        lo = v[i] < lo ? v[i] : lo;
        hi = v[i] > hi ? v[i] : hi;
    }
    *mn = lo, *mx = hi;
}

void hr_quantiles(float *v, size_t n, const double *q, size_t nq, double *out)
{
    float mn, mx;
    if (n >= QUANTILE_HISTOGRAM_MIN) {
        min_max(v, n, &mn, &mx);
        if (quantiles_by_histogram(v, n, mn, mx, q, nq, out)) return;
    }
    quantiles_by_selection(v, n, q, nq, out);
}

/* ------------------------------------------------------------------------ */
/* One hypothesis                                                            */

/* The pooled quantiles an effect reads: q25, q50, q70, q75, q98. */
static const double EFFECT_QUANTILES[5] = {0.25, 0.5, 0.7, 0.75, 0.98};

static void effect_from_quantiles(const float *sa, size_t n_a, const float *sb, size_t n_b,
                                  const double *q, hr_effect *out);

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

void hr_effect_interval(hr_effect *e, double se)
{
    const double rel = HR_EFFECT_CALIBRATION_SD * e->effect, abs_sd = HR_EFFECT_CALIBRATION_ABS_SD;
    const double half = 1.96 * sqrt(se * se + rel * rel + abs_sd * abs_sd);
    e->ci_low = clamp(e->effect - half, -1.0, 1.0);
    e->ci_high = clamp(e->effect + half, -1.0, 1.0);
}

/* Over v: (n), the sum and the sum of squares of the hinge max(v - tau, 0),
 * how many values lie above tau, and the largest value below tau (-inf when
 * none). Eight running sums, lane l taking the values i = l mod 8 in order
 * (a square, then its addition: no fused multiply-add), added up as
 * ((0 + 4) + (1 + 5)) + ((2 + 6) + (3 + 7)), then the tail: the order both
 * versions below keep, so that they give the same bits, and so do any two
 * ways to the same tau. */
typedef struct hinge_lanes {
    double a[8], b[8], lo[8]; /* sums, sums of squares, largest below (as double) */
    size_t c[8];              /* counts above */
} hinge_lanes;

static void hinge_lanes_portable(const float *v, size_t n8, double tau, hinge_lanes *h)
{
    for (size_t i = 0; i < n8; i += 8)
        for (int l = 0; l < 8; l++) {
            const double x = (double)v[i + l], diff = x - tau;
            const double g = x > tau ? diff : 0.0;
            h->a[l] += g, h->b[l] += g * g, h->c[l] += x > tau;
            h->lo[l] = x < tau && x > h->lo[l] ? x : h->lo[l];
        }
}

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
/* The same with AVX-512: one lane of a vector per lane above. */
__attribute__((target("avx512f"))) static void hinge_lanes_avx512(const float *v, size_t n8,
                                                                  double tau, hinge_lanes *h)
{
    const __m512d t = _mm512_set1_pd(tau);
    __m512d a = _mm512_loadu_pd(h->a), b = _mm512_loadu_pd(h->b), lo = _mm512_loadu_pd(h->lo);
    __m512i c = _mm512_loadu_si512(h->c);
    const __m512i one = _mm512_set1_epi64(1);
    for (size_t i = 0; i < n8; i += 8) {
        const __m512d x = _mm512_cvtps_pd(_mm256_loadu_ps(v + i));
        const __mmask8 up = _mm512_cmp_pd_mask(x, t, _CMP_GT_OQ);
        const __mmask8 down = _mm512_cmp_pd_mask(x, t, _CMP_LT_OQ) &
                              _mm512_cmp_pd_mask(x, lo, _CMP_GT_OQ);
        const __m512d g = _mm512_maskz_mov_pd(up, _mm512_sub_pd(x, t));
        a = _mm512_add_pd(a, g);
        b = _mm512_add_pd(b, _mm512_mul_pd(g, g));
        c = _mm512_mask_add_epi64(c, up, c, one);
        lo = _mm512_mask_mov_pd(lo, down, x);
    }
    _mm512_storeu_pd(h->a, a), _mm512_storeu_pd(h->b, b), _mm512_storeu_pd(h->lo, lo);
    _mm512_storeu_si512(h->c, c);
}

/* The same with AVX2: lanes 0-3 in the first vector of each pair, 4-7 in
 * the second. */
__attribute__((target("avx2"))) static void hinge_lanes_avx2(const float *v, size_t n8,
                                                             double tau, hinge_lanes *h)
{
    const __m256d t = _mm256_set1_pd(tau);
    __m256d a[2], b[2], lo[2];
    __m256i c[2];
    for (int k = 0; k < 2; k++) {
        a[k] = _mm256_loadu_pd(h->a + 4 * k), b[k] = _mm256_loadu_pd(h->b + 4 * k);
        lo[k] = _mm256_loadu_pd(h->lo + 4 * k);
        c[k] = _mm256_loadu_si256((const __m256i *)(h->c + 4 * k));
    }
    for (size_t i = 0; i < n8; i += 8)
        for (int k = 0; k < 2; k++) {
            const __m256d x = _mm256_cvtps_pd(_mm_loadu_ps(v + i + 4 * k));
            const __m256d up = _mm256_cmp_pd(x, t, _CMP_GT_OQ);
            const __m256d down = _mm256_and_pd(_mm256_cmp_pd(x, t, _CMP_LT_OQ),
                                               _mm256_cmp_pd(x, lo[k], _CMP_GT_OQ));
            const __m256d g = _mm256_and_pd(up, _mm256_sub_pd(x, t));
            a[k] = _mm256_add_pd(a[k], g);
            b[k] = _mm256_add_pd(b[k], _mm256_mul_pd(g, g));
            c[k] = _mm256_sub_epi64(c[k], _mm256_castpd_si256(up)); /* up is 0 or -1 */
            lo[k] = _mm256_blendv_pd(lo[k], x, down);
        }
    for (int k = 0; k < 2; k++) {
        _mm256_storeu_pd(h->a + 4 * k, a[k]), _mm256_storeu_pd(h->b + 4 * k, b[k]);
        _mm256_storeu_pd(h->lo + 4 * k, lo[k]);
        _mm256_storeu_si256((__m256i *)(h->c + 4 * k), c[k]);
    }
}
#endif

static void hinge_sums(const float *v, size_t n, double tau, double *sum, double *sum2,
                       size_t *above, float *below)
{
    hinge_lanes h;
    for (int l = 0; l < 8; l++) h.a[l] = h.b[l] = 0.0, h.c[l] = 0, h.lo[l] = -INFINITY;
    const size_t n8 = n - n % 8;
#if defined(__GNUC__) && defined(__x86_64__)
    if (hr_simd_avx512()) hinge_lanes_avx512(v, n8, tau, &h);
    else if (hr_simd_avx2()) hinge_lanes_avx2(v, n8, tau, &h);
    else hinge_lanes_portable(v, n8, tau, &h);
#else
    hinge_lanes_portable(v, n8, tau, &h);
#endif
    double ta = 0, tb = 0, tl = -INFINITY;
    size_t tc = 0;
    for (size_t i = n8; i < n; i++) {
        const double x = (double)v[i], diff = x - tau;
        const double g = x > tau ? diff : 0.0;
        ta += g, tb += g * g, tc += x > tau;
        tl = x < tau && x > tl ? x : tl;
    }
    const double *a = h.a, *b = h.b;
    *sum = ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7])) + ta;
    *sum2 = ((b[0] + b[4]) + (b[1] + b[5])) + ((b[2] + b[6]) + (b[3] + b[7])) + tb;
    *above = h.c[0] + h.c[1] + h.c[2] + h.c[3] + h.c[4] + h.c[5] + h.c[6] + h.c[7] + tc;
    for (int l = 0; l < 8; l++) tl = h.lo[l] > tl ? h.lo[l] : tl;
    *below = (float)tl; /* a float's value, held exactly in double */
}

/* Mean and sample variance (0 for one value) from a sum and a sum of
 * squares over n values: the sum of squares about the mean is sum2 - sum
 * mean, in double, whose cancellation costs at most the digits of mean^2 /
 * var (hinges are mostly 0, so var is of the order of mean^2 and above). */
static void moments(double sum, double sum2, size_t n, double *mean, double *var)
{
    const double m = sum / (double)n, ss = sum2 - sum * m;
    *mean = m;
    *var = n > 1 && ss > 0.0 ? ss / (double)(n - 1) : 0.0;
}

/* The first NaN of v: (n), or n. */
static size_t first_nan(const float *v, size_t n)
{
    int any = 0;
    for (size_t i = 0; i < n; i++) any |= v[i] != v[i]; /* no early exit: it vectorises */
    if (!any) return n;
    size_t i = 0;
    while (v[i] == v[i]) i++;
    return i;
}

hr_status hr_effect_of(const float *sa, size_t n_a, const float *sb, size_t n_b, float *scratch,
                       hr_effect *out, char *err, size_t errlen)
{
    if (n_a == 0 || n_b == 0)
        return hr_fail(HR_ERR_INPUT, err, errlen, "effect: group %s has no texts",
                       n_a == 0 ? "A" : "B");
    const size_t n = n_a + n_b;
    const size_t bad_a = first_nan(sa, n_a), bad_b = bad_a < n_a ? n_b : first_nan(sb, n_b);
    if (bad_a < n_a || bad_b < n_b)
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "effect: similarity to %s text %zu (counting from 0) is NaN",
                       bad_a < n_a ? "A" : "B", bad_a < n_a ? bad_a : bad_b);
    const double *qs = EFFECT_QUANTILES;
    double q[5];
    /* The histogram reads the similarities where they are when A's and
     * B's are one array; selection (few texts) reorders a copy. */
    float mn, mx;
    if (n >= QUANTILE_HISTOGRAM_MIN && sb == sa + n_a) {
        min_max(sa, n, &mn, &mx);
        if (!quantiles_by_histogram(sa, n, mn, mx, qs, 5, q))
            return hr_fail(HR_ERR_NOMEM, err, errlen, "effect: out of memory");
    } else {
        memcpy(scratch, sa, n_a * sizeof *scratch);
        memcpy(scratch + n_a, sb, n_b * sizeof *scratch);
        hr_quantiles(scratch, n, qs, 5, q);
    }
    effect_from_quantiles(sa, n_a, sb, n_b, q, out);
    return HR_OK;
}

/* The effect from the pooled quantiles q (q25, q50, q70, q75, q98) and the
 * similarities: the hinge at q70 over each side, its threshold lowered to
 * the largest similarity below it when ties leave too few above. */
static void effect_from_quantiles(const float *sa, size_t n_a, const float *sb, size_t n_b,
                                  const double *q, hr_effect *out)
{
    const size_t n = n_a + n_b;
    double tau = q[2];
    size_t above_a, above_b;
    float below_a, below_b;
    double sum[2], sum2[2];
    hinge_sums(sa, n_a, tau, &sum[0], &sum2[0], &above_a, &below_a);
    hinge_sums(sb, n_b, tau, &sum[1], &sum2[1], &above_b, &below_b);
    const float below = below_a > below_b ? below_a : below_b;
    /* Ties at the threshold (duplicate texts, a clean separation) can leave
     * (almost) nothing above it, and the hinge blind: then the threshold is
     * the largest similarity below it. */
    if ((double)(above_a + above_b) < HR_EFFECT_MIN_ABOVE * (double)n && below > -INFINITY) {
        tau = below;
        hinge_sums(sa, n_a, tau, &sum[0], &sum2[0], &above_a, &below_a);
        hinge_sums(sb, n_b, tau, &sum[1], &sum2[1], &above_b, &below_b);
    }
    const double stats[HR_EFFECT_STATS] = {q[0], q[1], q[2], q[3], q[4], tau,
                                           sum[0], sum2[0], sum[1], sum2[1]};
    hr_effect_finish(stats, n_a, n_b, out);
}

void hr_effect_of_ordered(const hr_mw_workspace *ws, const float *s, size_t n_a, size_t n_b,
                          hr_effect *out)
{
    const size_t n = n_a + n_b;
    double q[5];
    for (size_t j = 0; j < 5; j++) {
        const double pos = (double)(n - 1) * EFFECT_QUANTILES[j];
        size_t k = (size_t)floor(pos);
        if (k > n - 1) k = n - 1;
        const double lo = hr_mw_order_statistic(ws, k);
        const double hi = k + 1 < n ? hr_mw_order_statistic(ws, k + 1) : lo;
        q[j] = interpolate(pos, k, lo, hi);
    }
    effect_from_quantiles(s, n_a, s + n_a, n_b, q, out);
}

void hr_effect_finish(const double *stats, size_t n_a, size_t n_b, hr_effect *out)
{
    const double *q = stats; /* q25, q50, q70, q75, q98 */
    hr_effect e;
    memset(&e, 0, sizeof e);
    e.n_a = n_a, e.n_b = n_b;
    e.tau = stats[5];
    moments(stats[6], stats[7], n_a, &e.hinge_a, &e.var_a);
    moments(stats[8], stats[9], n_b, &e.hinge_b, &e.var_b);
    e.mu0 = q[1];
    e.sigma = (q[3] - q[0]) / 1.349;
    if (!(e.sigma > 1e-6)) e.sigma = 1e-6;
    e.delta = HR_EFFECT_KAPPA * (q[4] - q[1]);
    if (!(e.delta > 1e-6)) e.delta = 1e-6;
    const double g0 = hinge_mean(e.mu0, e.sigma, e.tau);
    e.gain = hinge_mean(e.mu0 + e.delta, e.sigma, e.tau) - g0;
    if (!(e.gain > 1e-12)) e.gain = 1e-12;
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
    hr_effect_interval(&e, se_raw / e.gain);
    *out = e;
}


hr_status hr_effect_row(const float *s, size_t n_a, size_t n_b, float *scratch, hr_effect *out,
                        char *err, size_t errlen)
{
    if (!s || !scratch || !out)
        return hr_fail(HR_ERR_INTERNAL, err, errlen, "hr_effect_row: null argument");
    return hr_effect_of(s, n_a, s + n_a, n_b, scratch, out, err, errlen);
}

/* Wilson's score interval of x / n at z: [*lo, *hi]. n >= 1. */
static void wilson(double x, double n, double z, double *lo, double *hi)
{
    const double p = x / n, z2 = z * z;
    const double centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    const double half = z * sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n)) / (1.0 + z2 / n);
    *lo = fmax(centre - half, 0.0);
    *hi = fmin(centre + half, 1.0);
}

hr_status hr_effect_set_counted(hr_effect *e, size_t count_a, size_t count_b, char *err,
                                size_t errlen)
{
    if (!e || e->n_a == 0 || e->n_b == 0 || count_a > e->n_a || count_b > e->n_b)
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "counted effect: %zu of %zu texts of A and %zu of %zu of B", count_a,
                       e ? e->n_a : 0, count_b, e ? e->n_b : 0);
    const double na = (double)e->n_a, nb = (double)e->n_b, n = na + nb;
    const double pa = (double)count_a / na, pb = (double)count_b / nb;
    const double z95 = 1.959963984540054;
    double la, ua, lb, ub;
    wilson((double)count_a, na, z95, &la, &ua);
    wilson((double)count_b, nb, z95, &lb, &ub);
    e->share_a = pa, e->share_b = pb;
    e->effect = pa - pb;
    e->ci_low = clamp(e->effect - sqrt((pa - la) * (pa - la) + (ub - pb) * (ub - pb)), -1.0, 1.0);
    e->ci_high = clamp(e->effect + sqrt((ua - pa) * (ua - pa) + (pb - lb) * (pb - lb)), -1.0, 1.0);
    const double pooled = ((double)count_a + (double)count_b) / n;
    const double se = sqrt(pooled * (1.0 - pooled) * (1.0 / na + 1.0 / nb));
    if (se > 0.0) {
        e->z = e->effect / se * sqrt((n - 1.0) / n);
        e->p_value = hr_normal_two_sided_p(e->z);
    } else { /* in none or in all of the texts of both sides: no difference */
        e->z = 0.0;
        e->p_value = 1.0;
    }
    /* the indicator's mean and variance (a 0/1 column: sum = sum of squares) */
    moments((double)count_a, (double)count_a, e->n_a, &e->hinge_a, &e->var_a);
    moments((double)count_b, (double)count_b, e->n_b, &e->hinge_b, &e->var_b);
    e->counted = 1, e->mixture = 0;
    e->count_a = count_a, e->count_b = count_b;
    return HR_OK;
}

void hr_effect_hist_stats(const uint32_t *ca, const uint32_t *cb, size_t bins, double lo,
                          double width, double *stats)
{
    static const double qs[5] = {0.25, 0.5, 0.7, 0.75, 0.98};
    uint64_t n = 0;
    for (size_t b = 0; b < bins; b++) n += (uint64_t)ca[b] + cb[b];
    /* the quantiles: order statistics at bin centres, interpolated */
    for (int j = 0; j < 5; j++) {
        const double pos = (double)(n - 1) * qs[j];
        const uint64_t k = (uint64_t)floor(pos);
        double at[2] = {0, 0};
        for (int x = 0; x < 2; x++) {
            const uint64_t r = k + (uint64_t)x < n ? k + (uint64_t)x : k;
            uint64_t cum = 0;
            size_t b = 0;
            while (cum + ca[b] + cb[b] <= r) cum += (uint64_t)ca[b] + cb[b], b++;
            at[x] = lo + ((double)b + 0.5) * width;
        }
        stats[j] = at[0] + (pos - (double)k) * (at[1] - at[0]);
    }
    /* the threshold and the hinge's sums; ties as hr_effect_of takes them */
    double tau = stats[2];
    uint64_t above = 0;
    double below = -INFINITY;
    for (size_t b = 0; b < bins; b++) {
        const double c = lo + ((double)b + 0.5) * width;
        if (ca[b] + cb[b] == 0) continue;
        if (c > tau) above += (uint64_t)ca[b] + cb[b];
        else if (c < tau && c > below) below = c;
    }
    if ((double)above < HR_EFFECT_MIN_ABOVE * (double)n && below > -INFINITY) tau = below;
    double sum[2] = {0, 0}, sum2[2] = {0, 0};
    for (size_t b = 0; b < bins; b++) {
        const double c = lo + ((double)b + 0.5) * width;
        if (!(c > tau)) continue;
        const double g = c - tau;
        sum[0] += (double)ca[b] * g, sum2[0] += (double)ca[b] * g * g;
        sum[1] += (double)cb[b] * g, sum2[1] += (double)cb[b] * g * g;
    }
    stats[5] = tau;
    stats[6] = sum[0], stats[7] = sum2[0], stats[8] = sum[1], stats[9] = sum2[1];
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
    size_t cap = EFFECT_BLOCK_BYTES / (n * sizeof(float));
    if (cap < 1) cap = 1;
    const size_t rows = hr_similarity_block_rows(k, cap, k); /* the scorer's similarities */
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
