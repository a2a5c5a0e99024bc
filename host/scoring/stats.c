/*
 * host/scoring/stats.c: exact AUROC / Mann-Whitney U, its p-value, and
 * Benjamini-Hochberg q-values (stats.h).
 *
 * Exact counting. 2U = 2 #{a > b} + #{a == b} is an integer and is counted
 * as one (uint64). The tie term sum_t (t^3 - t) is summed in double over the
 * groups of equal scores in ascending order of score, by both methods, so the
 * two give bit-identical results (exactly the integer while it is below 2^53,
 * that is for any N up to 2e5; beyond, correct to double rounding).
 *
 * The fast method (hr_mw_fast), for a score vector of N = n_a + n_b entries:
 *
 *   1. One vectorised pass: smallest and largest finite score, the sums for
 *      the means, NaN check.
 *   2. Each score x gets a linear bin, floor((x - lo) 2^24 / (hi - lo))
 *      clamped to [0, 2^24) (-inf to the first, +inf to the last), and an
 *      order-preserving 32-bit key (the float's bits, negatives flipped, -0
 *      made +0: equal keys are exactly equal scores). The bin is computed in
 *      correctly rounded double arithmetic, which is monotone: x <= y gives
 *      bin(x) <= bin(y). Items bin << 33 | key << 1 | group (0 = A, 1 = B)
 *      are put in bin order by an LSD radix sort, 3 passes of 8 bits (digit
 *      counts taken while the items are made; 8-bit digits keep the 256
 *      write streams of a pass in L1, measured faster than 2 x 11 bits).
 *   3. One walk in bin order sums 2 (position + 1) over the A items: twice
 *      A's rank sum. Items sharing a bin (scores closer than
 *      (hi - lo) / 2^24, and ties; a few per thousand on continuous scores)
 *      form a run, which is sorted by key; by monotonicity the run then
 *      holds exactly its ranks, in order. Its groups of equal keys give
 *      their A's the midrank and add t^3 - t to the tie term. Then
 *      2U = 2 R_A - n_a (n_a + 1).
 *
 * Why this shape: all but the rare runs is branch-free, so little is
 * mispredicted (a bucket-then-resolve design, tried first, lost 3/4 of its
 * time to mispredicted branches), and a linear bin spreads the radix digits
 * evenly where the float's own bits pile scores that share a binade into a
 * few digits (a radix sort on the float key, tried second, was serialised by
 * its counter updates). Also measured and dropped: 2 passes of 11 bits
 * (10% slower), and one pass on the top digit followed by sorting each
 * L1-sized bucket (15% slower: 256 small sorts cost more than they save).
 * About 10 ns a score at N = 1e5 on the development machine (2 cores of a
 * Xeon under KVM), against 140 for the sorting reference. O(N) for
 * continuous scores and for ties (a run of equal scores is already in
 * order); a far outlier that squeezes the rest into a few bins makes long
 * runs, sorted in O(t log t): never worse than the reference.
 *
 * Memory: 16 bytes a score (two item buffers) plus 16 KiB of digit counts.
 */
#include "hyporank/stats.h"
#include "core/simd.h"
#include "core/util.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define HR_SQRT1_2 0.70710678118654752440


/* ------------------------------------------------------------------------ */
/* Shared: p-values                                                          */

double hr_normal_two_sided_p(double z)
{
    /* erfc(x) keeps full relative accuracy down to the smallest subnormal
     * (x up to about 27), unlike 2 * (1 - Phi(|z|)), which is 0 from |z| > 8.
     * Subnormal results have lost precision: report those as 0. */
    double p = erfc(fabs(z) * HR_SQRT1_2);
    if (p < DBL_MIN) return 0.0;
    return p > 1.0 ? 1.0 : p;
}

void hr_mw_finish(uint64_t u2, size_t n_a, size_t n_b, double tie_term, hr_mw_result *out)
{
    const double nn = (double)n_a * (double)n_b;
    const double n = (double)n_a + (double)n_b;
    out->u = (double)u2 / 2.0;
    out->auroc = (double)u2 / (2.0 * nn);
    out->tie_term = tie_term;
    /* 2 (U - n_a n_b / 2), an integer. */
    const uint64_t pairs = (uint64_t)n_a * (uint64_t)n_b;
    const double d2 = u2 >= pairs ? (double)(u2 - pairs) : -(double)(pairs - u2);
    /* |U - mu| - 1/2 (continuity correction), not below 0. */
    double num = (fabs(d2) - 1.0) / 2.0;
    if (num < 0.0) num = 0.0;
    /* The same expression, in the same order, as scipy's _get_mwu_z. */
    const double var = nn / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0)));
    if (!(var > 0.0)) {
        /* Every score tied (var is 0 up to rounding): no evidence either way. */
        out->z = 0.0;
        out->p_value = 1.0;
        return;
    }
    const double z = num / sqrt(var);
    out->z = d2 < 0 ? -z : z;
    out->p_value = hr_normal_two_sided_p(z);
}

static hr_status check_sizes(size_t n_a, size_t n_b, char *err, size_t errlen)
{
    if (n_a == 0 || n_b == 0)
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "group %s has no samples (n_a = %zu, n_b = %zu): AUROC needs both groups",
                       n_a == 0 ? "A" : "B", n_a, n_b);
    if (n_a + n_b >= (size_t)UINT32_MAX)
        return hr_fail(HR_ERR_UNSUPPORTED, err, errlen,
                       "%zu + %zu samples: at most 2^32 - 2 in one comparison", n_a, n_b);
    return HR_OK;
}

static hr_status nan_error(size_t i, size_t n_a, char *err, size_t errlen)
{
    return hr_fail(HR_ERR_INPUT, err, errlen, "score of %s sample %zu (counting from 0) is NaN",
                   i < n_a ? "A" : "B", i < n_a ? i : i - n_a);
}

/* ------------------------------------------------------------------------ */
/* Reference: sort everything                                                */

typedef struct labelled {
    float v;
    int is_b;
} labelled;

static int cmp_labelled(const void *x, const void *y)
{
    const float a = ((const labelled *)x)->v, b = ((const labelled *)y)->v;
    return (a > b) - (a < b);
}

hr_status hr_mw_sorted(const float *scores, size_t n_a, size_t n_b, hr_mw_result *out,
                       char *err, size_t errlen)
{
    hr_status st = check_sizes(n_a, n_b, err, errlen);
    if (st != HR_OK) return st;
    const size_t n = n_a + n_b;
    labelled *v = malloc(n * sizeof *v); /* (N) scores with their group */
    if (!v) return hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory for %zu scores", n);
    double sum_a = 0.0, sum_b = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(scores[i])) {
            free(v);
            return nan_error(i, n_a, err, errlen);
        }
        v[i].v = scores[i];
        v[i].is_b = i >= n_a;
        if (i < n_a) sum_a += scores[i];
        else sum_b += scores[i];
    }
    qsort(v, n, sizeof *v, cmp_labelled);
    /* Walk the groups of equal scores in ascending order. */
    uint64_t gt2 = 0, eq = 0, below_b = 0;
    double tie = 0.0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        uint64_t ta = 0, tb = 0;
        while (j < n && v[j].v == v[i].v) {
            if (v[j].is_b) tb++;
            else ta++;
            j++;
        }
        gt2 += 2 * ta * below_b;
        eq += ta * tb;
        const double t = (double)(ta + tb);
        if (ta + tb > 1) tie += t * t * t - t;
        below_b += tb;
        i = j;
    }
    free(v);
    hr_mw_finish(gt2 + eq, n_a, n_b, tie, out);
    out->mean_a = sum_a / (double)n_a;
    out->mean_b = sum_b / (double)n_b;
    return HR_OK;
}

/* ------------------------------------------------------------------------ */
/* Fast: radix sort on a monotone linear bin, then the exact key             */

#define HR_RADIX_BITS 8
#define HR_RADIX_BINS (1u << HR_RADIX_BITS)
#define HR_RADIX_PASSES 3
#define HR_BIN_BITS (HR_RADIX_BITS * HR_RADIX_PASSES) /* 24: 16M linear bins */
#define HR_BIN_SHIFT 33                               /* item = bin << 33 | key << 1 | g */

struct hr_mw_workspace {
    size_t n_a, n_b;
    uint64_t *item;  /* (N) bin << 33 | key << 1 | group (0 = A, 1 = B) */
    uint64_t *tmp;   /* (N) the other buffer of each radix pass */
    const uint64_t *sorted; /* item or tmp: the last hr_mw_fast's items in order */
    uint32_t hist[HR_RADIX_PASSES][HR_RADIX_BINS]; /* digit counts, then offsets */
};

hr_status hr_mw_workspace_create(size_t n_a, size_t n_b, hr_mw_workspace **out, char *err,
                                 size_t errlen)
{
    *out = NULL;
    hr_status st = check_sizes(n_a, n_b, err, errlen);
    if (st != HR_OK) return st;
    const size_t n = n_a + n_b;
    hr_mw_workspace *ws = calloc(1, sizeof *ws);
    if (!ws) return hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory");
    ws->n_a = n_a;
    ws->n_b = n_b;
    ws->item = malloc(n * sizeof *ws->item);
    ws->tmp = malloc(n * sizeof *ws->tmp);
    if (!ws->item || !ws->tmp) {
        hr_mw_workspace_destroy(ws);
        return hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory for a workspace of %zu scores", n);
    }
    *out = ws;
    return HR_OK;
}

void hr_mw_workspace_destroy(hr_mw_workspace *ws)
{
    if (!ws) return;
    free(ws->item);
    free(ws->tmp);
    free(ws);
}

/* The float's bits turned into an unsigned key with the same order: negative
 * numbers have every bit flipped, others only the sign bit. -0 is made +0
 * first (x + 0.0f is +0 for both zeros), so the two zeros tie. */
static inline uint32_t order_key(float x)
{
    const float v = x + 0.0f;
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    return u ^ ((0u - (u >> 31)) | 0x80000000u);
}

/* Smallest and largest finite value of x[0..n), its sum, and its number of
 * NaNs. Eight partial sums (lane l takes i = l mod 8, in order; the means
 * need no more than double rounding), the same in both versions below, so
 * that they give the same bits. */
typedef struct scan_lanes {
    float mn[8], mx[8];
    double acc[8];
    uint32_t nan[8];
} scan_lanes;

static void scan_lanes_portable(const float *x, size_t n8, scan_lanes *s)
{
    for (size_t i = 0; i < n8; i += 8)
        for (int l = 0; l < 8; l++) {
            const float v = x[i + l], a = fabsf(v);
            s->nan[l] += !(a == a);
            const int finite = a <= FLT_MAX;
            s->mn[l] = finite && v < s->mn[l] ? v : s->mn[l];
            s->mx[l] = finite && v > s->mx[l] ? v : s->mx[l];
            s->acc[l] += (double)v;
        }
}

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
/* The same with AVX-512 (and VL for the 8-float compares): a vector lane
 * per lane above. */
__attribute__((target("avx512f,avx512vl"))) static void scan_lanes_avx512(const float *x,
                                                                          size_t n8,
                                                                          scan_lanes *s)
{
    __m256 mn = _mm256_loadu_ps(s->mn), mx = _mm256_loadu_ps(s->mx);
    __m512d acc = _mm512_loadu_pd(s->acc);
    __m256i nan = _mm256_loadu_si256((const __m256i *)s->nan);
    const __m256 big = _mm256_set1_ps(FLT_MAX);
    const __m256i one = _mm256_set1_epi32(1);
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (size_t i = 0; i < n8; i += 8) {
        const __m256 v = _mm256_loadu_ps(x + i), a = _mm256_andnot_ps(sign, v);
        nan = _mm256_mask_add_epi32(nan, _mm256_cmp_ps_mask(a, a, _CMP_UNORD_Q), nan, one);
        const __mmask8 finite = _mm256_cmp_ps_mask(a, big, _CMP_LE_OQ);
        mn = _mm256_mask_mov_ps(mn, finite & _mm256_cmp_ps_mask(v, mn, _CMP_LT_OQ), v);
        mx = _mm256_mask_mov_ps(mx, finite & _mm256_cmp_ps_mask(v, mx, _CMP_GT_OQ), v);
        acc = _mm512_add_pd(acc, _mm512_cvtps_pd(v));
    }
    _mm256_storeu_ps(s->mn, mn), _mm256_storeu_ps(s->mx, mx), _mm512_storeu_pd(s->acc, acc);
    _mm256_storeu_si256((__m256i *)s->nan, nan);
}

/* The same with AVX2: the sums of lanes 0-3 and 4-7 in two vectors. */
__attribute__((target("avx2"))) static void scan_lanes_avx2(const float *x, size_t n8,
                                                            scan_lanes *s)
{
    __m256 mn = _mm256_loadu_ps(s->mn), mx = _mm256_loadu_ps(s->mx);
    __m256d acc0 = _mm256_loadu_pd(s->acc), acc1 = _mm256_loadu_pd(s->acc + 4);
    __m256i nan = _mm256_loadu_si256((const __m256i *)s->nan);
    const __m256 big = _mm256_set1_ps(FLT_MAX);
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (size_t i = 0; i < n8; i += 8) {
        const __m256 v = _mm256_loadu_ps(x + i), a = _mm256_andnot_ps(sign, v);
        /* compares give 0 or -1 per lane */
        nan = _mm256_sub_epi32(nan, _mm256_castps_si256(_mm256_cmp_ps(a, a, _CMP_UNORD_Q)));
        const __m256 finite = _mm256_cmp_ps(a, big, _CMP_LE_OQ);
        mn = _mm256_blendv_ps(mn, v, _mm256_and_ps(finite, _mm256_cmp_ps(v, mn, _CMP_LT_OQ)));
        mx = _mm256_blendv_ps(mx, v, _mm256_and_ps(finite, _mm256_cmp_ps(v, mx, _CMP_GT_OQ)));
        acc0 = _mm256_add_pd(acc0, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
        acc1 = _mm256_add_pd(acc1, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
    }
    _mm256_storeu_ps(s->mn, mn), _mm256_storeu_ps(s->mx, mx);
    _mm256_storeu_pd(s->acc, acc0), _mm256_storeu_pd(s->acc + 4, acc1);
    _mm256_storeu_si256((__m256i *)s->nan, nan);
}
#endif

static size_t scan(const float *x, size_t n, float *lo, float *hi, double *sum)
{
    scan_lanes s;
    for (int l = 0; l < 8; l++) s.mn[l] = FLT_MAX, s.mx[l] = -FLT_MAX, s.acc[l] = 0.0, s.nan[l] = 0;
    const size_t n8 = n - n % 8;
#if defined(__GNUC__) && defined(__x86_64__)
    if (hr_simd_avx512()) scan_lanes_avx512(x, n8, &s);
    else if (hr_simd_avx2()) scan_lanes_avx2(x, n8, &s);
    else scan_lanes_portable(x, n8, &s);
#else
    scan_lanes_portable(x, n8, &s);
#endif
    float mn = FLT_MAX, mx = -FLT_MAX;
    size_t nan = 0;
    for (int l = 0; l < 8; l++) {
        nan += s.nan[l];
        mn = s.mn[l] < mn ? s.mn[l] : mn;
        mx = s.mx[l] > mx ? s.mx[l] : mx;
    }
    const double *acc = s.acc;
    for (size_t i = n8; i < n; i++) {
        const float v = x[i], a = fabsf(v);
        nan += !(a == a);
        const int finite = a <= FLT_MAX;
        mn = finite && v < mn ? v : mn;
        mx = finite && v > mx ? v : mx;
        s.acc[0] += (double)v;
    }
    *lo = mn;
    *hi = mx;
    *sum = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    return nan;
}

/* Linear bin of x in [0, 2^24): monotone (see the top of the file). */
static inline uint64_t bin_of(float x, double lo, double scale)
{
    const double last = (double)((1u << HR_BIN_BITS) - 1);
    double t = ((double)x - lo) * scale;
    t = t > 0.0 ? t : 0.0;    /* the minimum, and -inf */
    t = t < last ? t : last;  /* the maximum, and +inf */
    return (uint64_t)t;
}

static void make_items(hr_mw_workspace *ws, const float *x, size_t n, uint64_t g, double lo,
                       double scale, uint64_t *item)
{
    for (size_t i = 0; i < n; i++) {
        const uint64_t b = bin_of(x[i], lo, scale);
        item[i] = b << HR_BIN_SHIFT | (uint64_t)order_key(x[i]) << 1 | g;
        for (int p = 0; p < HR_RADIX_PASSES; p++)
            ws->hist[p][(b >> (p * HR_RADIX_BITS)) & (HR_RADIX_BINS - 1)]++;
    }
}

float hr_mw_order_statistic(const hr_mw_workspace *ws, size_t r)
{
    const uint32_t key = (uint32_t)(ws->sorted[r] >> 1); /* order_key, undone */
    const uint32_t u = key & 0x80000000u ? key ^ 0x80000000u : ~key;
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

static int cmp_item_key(const void *x, const void *y)
{
    const uint64_t a = *(const uint64_t *)x >> 1, b = *(const uint64_t *)y >> 1;
    return (a > b) - (a < b);
}

/* Sorts a run of items that share a bin by key (the group bit is left out,
 * so a run of equal scores costs one look at each). Runs hold two or three
 * items on continuous scores: insertion sort; a long run (a far outlier
 * squeezing the rest into few bins): qsort. */
static void sort_run(uint64_t *v, size_t n)
{
    if (n > 32) {
        qsort(v, n, sizeof *v, cmp_item_key);
        return;
    }
    for (size_t i = 1; i < n; i++) {
        const uint64_t x = v[i];
        size_t j = i;
        while (j > 0 && (v[j - 1] >> 1) > (x >> 1)) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
}

hr_status hr_mw_fast(hr_mw_workspace *ws, const float *scores, hr_mw_result *out, char *err,
                     size_t errlen)
{
    const size_t n_a = ws->n_a, n_b = ws->n_b, n = n_a + n_b;
    const float *sa = scores, *sb = scores + n_a;

    /* 1. Range, sums, NaN. */
    float lo_a, hi_a, lo_b, hi_b;
    double sum_a, sum_b;
    if (scan(sa, n_a, &lo_a, &hi_a, &sum_a) + scan(sb, n_b, &lo_b, &hi_b, &sum_b)) {
        for (size_t i = 0; i < n; i++)
            if (isnan(scores[i])) return nan_error(i, n_a, err, errlen);
    }
    float lo = lo_a < lo_b ? lo_a : lo_b, hi = hi_a > hi_b ? hi_a : hi_b;
    if (lo > hi) lo = hi = 0.0f; /* no finite score: only the infinities matter */
    const double range = (double)hi - (double)lo;
    /* scale > 0 always, so the mapping stays monotone. */
    const double scale = range > 0.0 ? (double)(1u << HR_BIN_BITS) / range : 1.0;

    /* 2. Items and digit counts; LSD radix sort on the bin, 8 bits a pass
     * (stable, branch-free; a pass whose digit is one value is skipped). */
    memset(ws->hist, 0, sizeof ws->hist);
    uint64_t *src = ws->item, *dst = ws->tmp;
    make_items(ws, sa, n_a, 0, lo, scale, src);
    make_items(ws, sb, n_b, 1, lo, scale, src + n_a);
    for (int p = 0; p < HR_RADIX_PASSES; p++) {
        uint32_t *h = ws->hist[p];
        const unsigned shift = HR_BIN_SHIFT + (unsigned)p * HR_RADIX_BITS;
        uint32_t total = 0;
        int single = 0;
        for (uint32_t d = 0; d < HR_RADIX_BINS; d++) {
            const uint32_t c = h[d];
            single |= c == (uint32_t)n;
            h[d] = total;
            total += c;
        }
        if (single) continue;
        for (size_t i = 0; i < n; i++) {
            const uint64_t it = src[i];
            dst[h[(it >> shift) & (HR_RADIX_BINS - 1)]++] = it;
        }
        uint64_t *t = src;
        src = dst;
        dst = t;
    }

    /* 3. One walk: twice A's rank sum (ranks from 1). A lone item in its bin
     * is in its exact place. Items sharing a bin (scores closer than
     * (hi - lo) / 2^BIN_BITS, and ties) form a run, which is sorted by key
     * (by monotonicity the run then holds exactly those ranks, in order) and
     * walked by groups of equal keys: a group [s, s + t) gives its A's the
     * midrank s + (t + 1) / 2 and adds t^3 - t to the tie term. Runs come in
     * ascending order, so the tie term is summed as the reference sums it. */
    uint64_t r2 = 0;
    double tie = 0.0;
    for (size_t i = 0; i < n;) {
        if (i + 1 == n || (src[i] >> HR_BIN_SHIFT) != (src[i + 1] >> HR_BIN_SHIFT)) {
            r2 += ((src[i] & 1) ^ 1) * (2 * (uint64_t)i + 2);
            i++;
            continue;
        }
        size_t e = i + 2;
        while (e < n && (src[e] >> HR_BIN_SHIFT) == (src[i] >> HR_BIN_SHIFT)) e++;
        sort_run(src + i, e - i);
        for (size_t s = i; s < e;) {
            size_t g = s + 1;
            while (g < e && (src[g] >> 1) == (src[s] >> 1)) g++;
            uint64_t ta = 0;
            for (size_t k = s; k < g; k++) ta += (src[k] & 1) ^ 1;
            const uint64_t t = g - s;
            r2 += ta * (2 * (uint64_t)s + t + 1);
            if (t > 1) {
                const double td = (double)t;
                tie += td * td * td - td;
            }
            s = g;
        }
        i = e;
    }
    ws->sorted = src; /* every run is now sorted: the items are in order */
    /* 2U = 2 R_A - n_a (n_a + 1). */
    const uint64_t u2 = r2 - (uint64_t)n_a * ((uint64_t)n_a + 1);
    hr_mw_finish(u2, n_a, n_b, tie, out);
    out->mean_a = sum_a / (double)n_a;
    out->mean_b = sum_b / (double)n_b;
    return HR_OK;
}

/* ------------------------------------------------------------------------ */
/* Benjamini-Hochberg                                                        */

typedef struct ranked_p {
    double p;
    size_t i;
} ranked_p;

static int cmp_ranked(const void *x, const void *y)
{
    const ranked_p *a = x, *b = y;
    if (a->p != b->p) return a->p < b->p ? -1 : 1;
    return (a->i > b->i) - (a->i < b->i);
}

hr_status hr_bh_qvalues(const double *p, size_t k, double *q, char *err, size_t errlen)
{
    if (k == 0) return HR_OK;
    ranked_p *r = malloc(k * sizeof *r); /* (k) p-values with their position, ascending */
    if (!r) return hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory for %zu p-values", k);
    for (size_t i = 0; i < k; i++) {
        if (!(p[i] >= 0.0 && p[i] <= 1.0)) {
            free(r);
            return hr_fail(HR_ERR_INPUT, err, errlen, "p-value %zu is %g, not in [0, 1]", i, p[i]);
        }
        r[i].p = p[i];
        r[i].i = i;
    }
    qsort(r, k, sizeof *r, cmp_ranked);
    /* From the largest p down: q = running minimum of p k / rank, capped at 1.
     * Written through r[].p first, since q may alias p. */
    double run = 1.0;
    for (size_t j = k; j-- > 0;) {
        /* At the top rank p k / k is p, but rounding could put it an ulp
         * below p; elsewhere k / rank >= 1 + 1/k keeps it above. */
        const double v = j + 1 == k ? r[j].p : r[j].p * (double)k / (double)(j + 1);
        if (v < run) run = v;
        r[j].p = run;
    }
    for (size_t j = 0; j < k; j++) q[r[j].i] = r[j].p;
    free(r);
    return HR_OK;
}
