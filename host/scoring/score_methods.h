/*
 * host/scoring/score_methods.h: the score methods of hyporank/scorer.h,
 * each written once, as plain CPU functions (internal). This is the
 * specification: the CPU scorer (host/backends/cpu/scorer_cpu.c) and
 * explain's features (host/discovery/explain.c) compute their scores with
 * these functions, the verifier's similarities (host/discovery/verify.c) are
 * hr_similarity, and tests/test_backends.c checks every other form against
 * them: the GPU scorer (kernels/scorer.cu) and the two rewritings below that
 * it uses, CENTERED's linear form and CONTRAST's shifted form.
 *
 * For a sample x and the K hypotheses of a call, s_j(x) = h_j . x:
 *
 *   COSINE    s_k(x)
 *   CENTERED  s_k(x) - (C(x) - s_k(x)) / (K - 1),   C(x) = sum_j s_j(x)
 *   CONTRAST  s_k(x) - T (log sum_{j != k} exp(s_j(x) / T) - log(K - 1))
 *
 * and s_k(x) for every method when K = 1. Scores are computed in double
 * from float similarities and stored as float.
 *
 * CONTRAST in one pass over the hypotheses (the scorer never holds a
 * sample's K similarities at once): fold them in order 0..K-1 into an
 * hr_contrast_pool, finish it, then score each similarity:
 *
 *     hr_contrast_pool p;
 *     hr_contrast_pool_start(&p);
 *     for (size_t j = 0; j < K; j++) hr_contrast_pool_fold(&p, s[j], j, t);  // s[j] finite
 *     hr_contrast_pool_finish(&p, t, log(K - 1));                           // K >= 2
 *     float score_k = (float)hr_contrast_score(s[k], k, &p, t, log(K - 1));
 *
 * or, with all K similarities of one sample at hand,
 * hr_score_sample(method, t, s, K, out) does all of it.
 */
#ifndef HYPORANK_SCORE_METHODS_H
#define HYPORANK_SCORE_METHODS_H

#include "hyporank/scorer.h"

#include <math.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* h . x over dim floats, summed in double in order: the similarity every
 * method starts from (the verifier's scores; the reference the matrix
 * products of the scorers are checked against). h, x: (dim). */
double hr_similarity(const float *h, const float *x, int dim);

/* The similarities h . x of k hypotheses and n texts, S = H X^T, by one
 * matrix product, the CPU scorer's: on AMX tiles where the CPU has them
 * (backends/cpu/gemm_amx.h: within about 2^-16 of sum |h_q x_q|, each entry
 * summed in one order whatever k and n), else BLAS sgemm (float sums in the
 * order BLAS chooses, so values agree with a double sum to about 1e-6;
 * also where memory for AMX's packed copy runs out). H: (k, dim), X: (n,
 * dim), S: (k, n), row-major. */
void hr_similarities(const float *H, size_t k, const float *X, size_t n, int dim, float *S);
/* How the CPU computes them, in words (for reports). */
const char *hr_similarities_products(void);
/* Threads that may compute similarities at once: with the AMX products (no
 * BLAS) hr_workers(n_threads) (core/threads.h); else 1 (sgemm is BLAS's,
 * which has threads of its own). */
int hr_similarities_workers(int n_threads);

/* The same into the first n columns of S: (k, ld) row-major, ld >= n. */
void hr_similarities_ld(const float *H, size_t k, const float *X, size_t n, int dim, float *S,
                        size_t ld);

/* A BLAS kernel may sum a row of S in an order that depends on the row's
 * place in the call: OpenBLAS's Haswell and Zen sgemm on its place in an
 * aligned group of 12 rows, and on whether that group is a call's last,
 * partial one. A caller that cuts H's k rows into blocks, each starting at
 * a multiple of HR_SIMILARITY_ROW_ALIGN (a multiple of every such group
 * size known) and ending at one or at k, gets the same similarities for
 * every row however the blocks are sized, as long as BLAS itself runs on
 * one thread (its own threads split the call too): the same bits for any
 * thread count of the CPU scorer, which sets that, and from hr_effect_rows
 * when it runs after the scorer has. */
#define HR_SIMILARITY_ROW_ALIGN 96

/* Rows for blocks of about `want` rows of k, at most `cap` (a memory
 * budget): the multiple of HR_SIMILARITY_ROW_ALIGN nearest to want (so that
 * blocks meant to be equal stay within half an alignment of it), or k
 * itself, unless the budget is below one such multiple. want, cap >= 1. */
static inline size_t hr_similarity_block_rows(size_t want, size_t cap, size_t k)
{
    const size_t a = HR_SIMILARITY_ROW_ALIGN;
    if (want >= k && k <= cap) return k;
    if (cap < a) return cap;
    size_t rows = (want + a / 2) / a * a;
    if (rows < a) rows = a;
    if (rows > cap) rows = cap / a * a;
    return rows < k ? rows : k;
}

/* The first row of block b of n_blocks blocks over k rows (k for b >=
 * n_blocks): b k / n_blocks rounded to the nearest multiple of
 * HR_SIMILARITY_ROW_ALIGN, so that the blocks keep the alignment and each
 * holds k / n_blocks rows to within one alignment (some are empty when that
 * share is under half an alignment). n_blocks >= 1. */
static inline size_t hr_similarity_block_start(size_t b, size_t n_blocks, size_t k)
{
    const size_t a = HR_SIMILARITY_ROW_ALIGN;
    if (b >= n_blocks) return k;
    const double at = (double)b * (double)k / (double)n_blocks;
    const size_t start = (size_t)(at / (double)a + 0.5) * a;
    return start < k ? start : k;
}

/* CENTERED from the similarity s = s_k(x) and the pool sum c = C(x), K >= 2. */
static inline double hr_score_centered(double s, double c, size_t k)
{
    return s - (c - s) / (double)(k - 1);
}

/* CONTRAST's statistics of one sample over the pool. Two phases:
 *   folding (after hr_contrast_pool_start and any number of folds)
 *     m1   the largest similarity so far (-inf before the first)
 *     top  the first hypothesis that has it
 *     m2   the largest over the others (-inf while there is none)
 *     acc  sum over j != top of exp((s_j - m2) / T): >= 1 once K >= 2
 *   finished (after hr_contrast_pool_finish)
 *     m1, top  as before
 *     m2   top's pool term: m2 + T (log acc - log(K - 1))
 *     acc  r = sum over j != top of exp((s_j - m1) / T)
 * 32 bytes, the CPU scorer keeps one per sample. */
typedef struct hr_contrast_pool {
    double m1, m2, acc;
    size_t top;
} hr_contrast_pool;

/* A term exp(e) with e below this is under 8.6e-17, less than half an ulp
 * of any sum >= 1 (2^-53 = 1.1e-16): adding it to such a sum changes
 * nothing, so skipping the exponential gives the same bits. */
#define HR_EXP_NEGLIGIBLE (-37.0)

/* The functions below are inline: the CPU scorer calls them once per
 * similarity, O(K N) times. */

static inline void hr_contrast_pool_start(hr_contrast_pool *p)
{
    p->m1 = -INFINITY;
    p->m2 = -INFINITY;
    p->acc = 0.0;
    p->top = 0;
}

/* Folds similarity v (finite) of hypothesis k, hypotheses in increasing
 * order. Terms below exp(HR_EXP_NEGLIGIBLE) are skipped. */
static inline void hr_contrast_pool_fold(hr_contrast_pool *p, double v, size_t k, double t)
{
    if (v > p->m1) { /* a new top: the old one joins the others */
        if (p->m1 > -INFINITY) {
            p->acc = p->acc * exp((p->m2 - p->m1) / t) + 1.0;
            p->m2 = p->m1;
        }
        p->m1 = v;
        p->top = k;
    } else if (v > p->m2) { /* a new largest among the others */
        p->acc = p->acc * exp((p->m2 - v) / t) + 1.0;
        p->m2 = v;
    } else {
        const double e = (v - p->m2) / t;
        if (e > HR_EXP_NEGLIGIBLE) p->acc += exp(e);
    }
}

/* After the last fold of K >= 2 similarities; log_km1 = log(K - 1). */
static inline void hr_contrast_pool_finish(hr_contrast_pool *p, double t, double log_km1)
{
    const double top_off = p->m2 + t * (log(p->acc) - log_km1);
    p->acc = p->acc * exp((p->m2 - p->m1) / t); /* r */
    p->m2 = top_off;
}

/* The CONTRAST score of hypothesis k with similarity v, from the finished
 * statistics (K >= 2). For k != top, the sum over j != k of exp((s_j -
 * m1) / T) is 1 + r - exp((v - m1) / T) >= 1 (top's term is 1): removing
 * k's own term loses nothing that matters. */
static inline double hr_contrast_score(double v, size_t k, const hr_contrast_pool *p, double t,
                                       double log_km1)
{
    if (p->top == k) return v - p->m2;
    double rest = p->acc - exp((v - p->m1) / t); /* sum over j != k, top, of exp((s_j - m1) / T) */
    if (rest < 0.0) rest = 0.0;                  /* rounding; the exact value is >= 0 */
    /* log(1 + rest): log1p keeps the digits of a small rest; from 1/2 up,
     * 1 + rest loses nothing that matters, and when all similarities tie
     * (rest = K - 2) it gives log(K - 1) to the bit, so the score is
     * exactly 0 as it should be. */
    const double l = rest < 0.5 ? log1p(rest) : log(1.0 + rest);
    return v - p->m1 - t * (l - log_km1);
}

/* CONTRAST's shifted form, the one kernels/scorer.cu uses above temperature
 * 1 (in float there): for k != top, with R = r - (K - 1) and e1 = exp((v -
 * m1) / T) - 1, score = v - m1 - T log1p(max((R - e1) / (K - 1), 1 / (K -
 * 1) - 1)): both R and e1 are small when T is large, so nothing cancels;
 * k == top as hr_contrast_score. The same function as hr_contrast_score
 * (tests/test_backends.c checks it). km1 = K - 1. */
static inline double hr_contrast_score_shifted(double v, size_t k, const hr_contrast_pool *p,
                                               double t, double km1)
{
    if (p->top == k) return v - p->m2;
    const double big_r = p->acc - km1; /* R = r - (K - 1) */
    double d = (big_r - expm1((v - p->m1) / t)) / km1;
    if (d < 1.0 / km1 - 1.0) d = 1.0 / km1 - 1.0; /* rounding; the sum over j != k is >= 1 */
    return v - p->m1 - t * log1p(d);
}

/* The scores of one sample under method (t: CONTRAST's temperature) from its
 * similarities s: (K) to the K hypotheses of the pool, into out: (K); C(x)
 * is the sum of s in double. s must be finite. out may be s. */
void hr_score_sample(hr_score_method method, double t, const float *s, size_t k, float *out);

/* CENTERED's linear form: its score is (K h_k - sum_j h_j) / (K - 1) . x, a
 * hypothesis like any other. h: (k, dim) row-major; h_lin: (k, dim) out,
 * row i that vector scaled to unit norm (a backend that bins cosines of unit
 * vectors can score it; the AUROC does not change under a positive scale);
 * h_norm: (k) out, the norm before scaling (1 when it is 0), to scale the
 * means back. k = 1: the hypothesis itself. Sums in double. HR_ERR_NOMEM
 * or HR_OK. */
hr_status hr_score_centered_linear(const float *h, size_t k, int dim, float *h_lin,
                                   double *h_norm, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
