/*
 * host/backends/cpu/scorer_cpu.c: the CPU scorer (scorer_cpu.h): S = H X^T one block of
 * hypotheses at a time (on AMX tiles where the CPU has them, gemm_amx.h, else
 * OpenBLAS sgemm; hr_similarities_ld computes the same bits), then the exact
 * statistics of each row (hr_mw_fast, host/scoring/stats.c).
 *
 * Work is split over worker threads by hypothesis block: each worker owns a
 * score slab (block, N) and a statistics workspace, takes the next block,
 * computes its slab as two products (the A columns, then the B columns) on a
 * single-threaded BLAS, and reduces each row to its statistics. One worker's
 * matrix product overlaps another's statistics, and no core waits on
 * another. Measured against the alternative, one BLAS-threaded product per
 * block followed by the statistics split over the threads, on the
 * development machine (2 cores; K = 1000, N = 100k, D = 384, blocks of 250):
 * 0.85 s here against 0.91 to 1.02 s. The blocks are a multiple of the
 * thread count in number and nearly equal in size, so the threads finish
 * together.
 *
 * Effects (hyporank/findings.h), when asked for, come from the same rows: for
 * COSINE (the score is the similarity) their quantiles are read off the
 * order hr_mw_fast has sorted the row into (hr_effect_of_ordered, one more
 * pass for the hinge); for the pool-relative methods hr_effect_of reads the
 * similarity before the transform. Both give the same bits.
 *
 * Memory: the slabs of all workers together stay within the budget; besides
 * them each worker holds O(N) for the statistics. Nothing is O(K N).
 *
 * Pool-relative methods (hyporank/scorer.h; the formulas, once, in
 * host/scoring/score_methods.h) need per-sample statistics over all K
 * hypotheses before any score is final, so they run a first pass over the
 * samples, split into one contiguous range per thread:
 *
 *   CENTERED  C(x) = g . x in double, g = sum_j h_j (double, (dim)):
 *             O(N dim), no matrix product; then hr_score_centered.
 *   CONTRAST  the block products again, each thread on its own samples,
 *             hypotheses in order 0..K-1, each similarity folded into the
 *             sample's hr_contrast_pool (hr_contrast_pool_fold). Each sample
 *             folds the hypotheses in order 0..K-1 whatever the split, so
 *             with exact similarities the statistics do not depend on the
 *             threads (sgemm may round the same product differently in
 *             differently shaped blocks, for COSINE too, so inexact ones may
 *             differ in the last bit). Then hr_contrast_pool_finish per
 *             sample, and the second pass scores with hr_contrast_score.
 *
 * Those statistics take 32 bytes per sample (CENTERED 8), allocated on the
 * first call. CONTRAST costs one more matrix product per block and about
 * two exponentials and a log1p per score.
 */
#include "backends/cpu/scorer_cpu.h"
#include "backends/cpu/gemm_amx.h"
#include "scoring/effects_internal.h"
#include "scoring/score_methods.h"
#include "core/memory.h"
#include "core/threads.h"
#include "core/util.h"

#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* OpenBLAS entry point (as in host/backends/cpu/encoder_cpu.c). */
void openblas_set_num_threads(int num_threads);

#define HR_SCORER_MAX_THREADS HR_MAX_WORKERS

typedef struct worker {
    float *slab;         /* (slab_rows, N) row-major: scores of one block */
    size_t slab_rows;    /* rows slab has room for */
    hr_mw_workspace *ws; /* statistics workspace for N = n_a + n_b */
    float *scratch;      /* (N) the effects' workspace, when asked for */
    hr_status st;        /* first failure of this worker */
    size_t fail_block;   /* the block it failed on */
    size_t fail_sample;  /* pool pass: the sample, with fail_block the hypothesis */
    char err[512];
} worker;

struct hr_scorer_cpu {
    const float *xa; /* (n_a, dim) row-major, borrowed */
    const float *xb; /* (n_b, dim) row-major, borrowed */
    size_t n_a, n_b;
    int dim;
    hr_score_method method;
    double t;          /* CONTRAST's temperature */
    size_t block_rows; /* hypotheses per block from the budget */
    int n_threads;
    int amx;            /* the products on AMX tiles (gemm_amx.h), else sgemm */
    int samples_finite; /* 1 once xa and xb were checked finite */
    /* Pool statistics of the current call, (N) each, A's samples then B's,
     * allocated on the first call of a pool-relative method. */
    double *c;              /* CENTERED: C(x) */
    hr_contrast_pool *pool; /* CONTRAST */
    double *g; /* CENTERED: (dim) sum of the hypotheses, in double */
    worker w[HR_SCORER_MAX_THREADS];
};

hr_status hr_scorer_cpu_create(const float *xa, size_t n_a, const float *xb, size_t n_b, int dim,
                               hr_score_method method, double temperature, size_t memory_bytes,
                               int n_threads, hr_scorer_cpu **out, char *err, size_t errlen)
{
    *out = NULL;
    if (dim <= 0) return hr_fail(HR_ERR_INTERNAL, err, errlen, "scorer: dimension %d", dim);
    n_threads = hr_workers(n_threads); /* HR_SCORER_MAX_THREADS is HR_MAX_WORKERS */
    hr_scorer_cpu *s = calloc(1, sizeof *s);
    if (!s) return hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory");
    s->xa = xa;
    s->xb = xb;
    s->n_a = n_a;
    s->n_b = n_b;
    s->dim = dim;
    s->method = method;
    s->t = temperature;
    s->n_threads = n_threads;
    s->amx = hr_amx_available();
    const size_t row_bytes = (n_a + n_b) * sizeof(float);
    size_t rows = memory_bytes / ((size_t)n_threads * row_bytes);
    s->block_rows = rows < 1 ? 1 : rows;
    for (int t = 0; t < n_threads; t++) {
        hr_status st = hr_mw_workspace_create(n_a, n_b, &s->w[t].ws, err, errlen);
        if (st != HR_OK) {
            hr_scorer_cpu_destroy(s);
            return st;
        }
    }
    *out = s;
    return HR_OK;
}

void hr_scorer_cpu_destroy(hr_scorer_cpu *s)
{
    if (!s) return;
    for (int t = 0; t < HR_SCORER_MAX_THREADS; t++) {
        free(s->w[t].slab);
        free(s->w[t].scratch);
        hr_mw_workspace_destroy(s->w[t].ws);
    }
    free(s->c);
    free(s->pool);
    free(s->g);
    free(s);
}

size_t hr_scorer_cpu_block_rows(const hr_scorer_cpu *s)
{
    return s->block_rows;
}

typedef struct job {
    hr_scorer_cpu *s;
    const float *h;           /* (k, dim) row-major */
    size_t k;
    size_t rows;              /* aligned: the largest block; else rows per block */
    size_t n_blocks;
    int aligned;              /* blocks from hr_similarity_block_start */
    hr_hypothesis_score *out; /* (k) */
    hr_effect *effects;       /* (k) or NULL */
    double log_km1;           /* CONTRAST: log(K - 1), K >= 2 */
    atomic_size_t next;       /* next block to take */
    atomic_int stop;          /* set by the first failure */
} job;

typedef struct worker_arg {
    job *j;
    worker *w;
    size_t lo, hi; /* pool pass: this worker's samples [lo, hi) of A then B */
} worker_arg;

/* The pool-relative transform of row k of a slab, in place; row: (N), A's
 * samples then B's (host/scoring/score_methods.h). */
static void transform_row(const hr_scorer_cpu *s, const job *j, size_t k, float *row, size_t n)
{
    if (s->method == HR_SCORE_COSINE || j->k == 1) return; /* the raw product is the score */
    if (s->method == HR_SCORE_CENTERED) {
        for (size_t x = 0; x < n; x++) row[x] = (float)hr_score_centered(row[x], s->c[x], j->k);
        return;
    }
    const double t = s->t, lk = j->log_km1;
    for (size_t x = 0; x < n; x++) row[x] = (float)hr_contrast_score(row[x], k, &s->pool[x], t, lk);
}

/* The first hypothesis of block b of the call (j->k for b >= n_blocks). */
static size_t block_start(const job *j, size_t b)
{
    if (b >= j->n_blocks) return j->k;
    if (j->aligned) return hr_similarity_block_start(b, j->n_blocks, j->k);
    return b * j->rows < j->k ? b * j->rows : j->k;
}

/* out[r * ld + c] = hb[r] . x[c] for r < kb, c < nx: one block of
 * hypotheses against nx samples, as hr_similarities_ld computes them: on
 * AMX with hb packed (hp), else sgemm. -1: out of memory (AMX's per-thread
 * buffer). */
static int block_product(const hr_scorer_cpu *s, const float *hb, const hr_amx_b *hp, size_t kb,
                         const float *x, size_t nx, float *out, size_t ld)
{
    if (nx == 0) return 0;
    if (hp) return hr_amx_gemm_nt_transposed(x, (int)nx, s->dim, hp, out, (int)ld);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)kb, (int)nx, s->dim, 1.0f, hb,
                s->dim, x, s->dim, 0.0f, out, (int)ld);
    return 0;
}

/* The block's hypotheses packed for AMX, or NULL when the scorer uses sgemm;
 * *fail set when AMX is on and memory ran out. */
static hr_amx_b *pack_block(const hr_scorer_cpu *s, const float *hb, size_t kb, int *fail)
{
    *fail = 0;
    if (!s->amx) return NULL;
    hr_amx_b *p = hr_amx_pack_b(hb, (int)kb, s->dim);
    *fail = p == NULL;
    return p;
}

static void *worker_main(void *arg)
{
    job *j = ((worker_arg *)arg)->j;
    worker *w = ((worker_arg *)arg)->w;
    hr_scorer_cpu *s = j->s;
    const size_t n_a = s->n_a, n_b = s->n_b, n = n_a + n_b;
    const int d = s->dim;
    for (;;) {
        if (atomic_load(&j->stop)) break;
        const size_t b = atomic_fetch_add(&j->next, 1);
        if (b >= j->n_blocks) break;
        const size_t k0 = block_start(j, b), kb = block_start(j, b + 1) - k0;
        if (kb == 0) continue;
        const float *hb = j->h + k0 * (size_t)d; /* (kb, dim) */
        /* slab[:, 0:n_a] = hb xa^T; slab[:, n_a:N] = hb xb^T; leading dimension N. */
        int fail;
        hr_amx_b *hp = pack_block(s, hb, kb, &fail);
        if (!fail)
            fail = block_product(s, hb, hp, kb, s->xa, n_a, w->slab, n) ||
                   block_product(s, hb, hp, kb, s->xb, n_b, w->slab + n_a, n);
        hr_amx_b_free(hp);
        if (fail) {
            if (w->st == HR_OK || b < w->fail_block) {
                w->st = HR_ERR_NOMEM;
                w->fail_block = b;
                snprintf(w->err, sizeof w->err, "out of memory for the matrix products");
            }
            atomic_store(&j->stop, 1);
            break;
        }
        for (size_t r = 0; r < kb; r++) {
            float *row = w->slab + r * n; /* (N): A's scores, then B's */
            char e[256];
            hr_status st = HR_OK;
            hr_mw_result m;
            if (s->method == HR_SCORE_COSINE || j->k == 1) {
                /* the score is the similarity: the effect reads its quantiles
                 * off the AUROC's sorted scores (a NaN: hr_effect_of's message) */
                st = hr_mw_fast(w->ws, row, &m, e, sizeof e);
                if (j->effects && st != HR_OK) /* a NaN: e says it as the effects did */
                    (void)hr_effect_of(row, n_a, row + n_a, n_b, w->scratch,
                                       &j->effects[k0 + r], e, sizeof e);
                else if (j->effects)
                    hr_effect_of_ordered(w->ws, row, n_a, n_b, &j->effects[k0 + r]);
            } else {
                if (j->effects) /* of the plain similarity, before the transform */
                    st = hr_effect_of(row, n_a, row + n_a, n_b, w->scratch, &j->effects[k0 + r],
                                      e, sizeof e);
                if (st == HR_OK) {
                    transform_row(s, j, k0 + r, row, n);
                    st = hr_mw_fast(w->ws, row, &m, e, sizeof e);
                }
            }
            if (st != HR_OK) {
                if (w->st == HR_OK || b < w->fail_block) {
                    w->st = st;
                    w->fail_block = b;
                    snprintf(w->err, sizeof w->err, "hypothesis %zu (counting from 0): %s", k0 + r, e);
                }
                atomic_store(&j->stop, 1);
                break;
            }
            hr_hypothesis_score *o = &j->out[k0 + r];
            o->auroc = m.auroc;
            o->mean_a = m.mean_a;
            o->mean_b = m.mean_b;
            o->u = m.u;
            o->z = m.z;
            o->p_value = m.p_value;
            o->q_value = 1.0;
        }
    }
    return NULL;
}

/* Pool pass of one worker over its samples [lo, hi): CENTERED's C(x), or
 * CONTRAST's running statistics from the block products, hypotheses in
 * order, then top_off and r. A non-finite similarity (finite embeddings
 * whose product overflows) stops the worker, noted by hypothesis and sample. */
static void *pool_main(void *arg)
{
    worker_arg *wa = arg;
    job *j = wa->j;
    worker *w = wa->w;
    hr_scorer_cpu *s = j->s;
    const size_t n_a = s->n_a, lo = wa->lo, hi = wa->hi;
    const int d = s->dim;
    if (s->method == HR_SCORE_CENTERED) {
        for (size_t x = lo; x < hi; x++) {
            const float *v = x < n_a ? s->xa + x * (size_t)d : s->xb + (x - n_a) * (size_t)d;
            /* Four partial sums, so that the loop does not wait on one
             * chain of additions (double keeps C exact where the products
             * are, whatever the order). */
            double c[4] = {0.0, 0.0, 0.0, 0.0};
            int q = 0;
            for (; q + 4 <= d; q += 4)
                for (int u = 0; u < 4; u++) c[u] += s->g[q + u] * (double)v[q + u];
            for (; q < d; q++) c[0] += s->g[q] * (double)v[q];
            s->c[x] = (c[0] + c[1]) + (c[2] + c[3]);
        }
        return NULL;
    }
    /* CONTRAST. Columns of the slab: samples lo..hi-1, A's part then B's. */
    const size_t a0 = lo < n_a ? lo : n_a, a1 = hi < n_a ? hi : n_a;
    const size_t b0 = lo > n_a ? lo : n_a, b1 = hi > n_a ? hi : n_a;
    const size_t na_t = a1 - a0, nt = hi - lo;
    const double t = s->t;
    for (size_t x = lo; x < hi; x++) hr_contrast_pool_start(&s->pool[x]);
    for (size_t b = 0; b < j->n_blocks && w->st == HR_OK; b++) {
        const size_t k0 = block_start(j, b), kb = block_start(j, b + 1) - k0;
        if (kb == 0) continue;
        const float *hb = j->h + k0 * (size_t)d; /* (kb, dim) */
        /* slab[:, 0:na_t] = hb xa[a0:a1]^T; slab[:, na_t:nt] = hb xb[b0-n_a:b1-n_a]^T;
         * leading dimension nt. */
        int fail;
        hr_amx_b *hp = pack_block(s, hb, kb, &fail);
        if (!fail)
            fail = block_product(s, hb, hp, kb, s->xa + a0 * (size_t)d, na_t, w->slab, nt) ||
                   block_product(s, hb, hp, kb, s->xb + (b0 - n_a) * (size_t)d, b1 - b0,
                                 w->slab + na_t, nt);
        hr_amx_b_free(hp);
        if (fail) {
            w->st = HR_ERR_NOMEM;
            w->fail_block = k0;
            w->fail_sample = lo;
            snprintf(w->err, sizeof w->err, "out of memory for the matrix products");
            break;
        }
        for (size_t r = 0; r < kb && w->st == HR_OK; r++) {
            const float *row = w->slab + r * nt; /* (nt): s_{k0+r}(x) for x = lo..hi-1 */
            for (size_t c = 0; c < nt; c++) {
                const size_t x = lo + c;
                const double v = row[c];
                if (!isfinite(v)) {
                    w->st = HR_ERR_INPUT;
                    w->fail_block = k0 + r;
                    w->fail_sample = x;
                    snprintf(w->err, sizeof w->err,
                             "hypothesis %zu (counting from 0): similarity to %s sample %zu "
                             "(counting from 0) is %s: the contrast score needs finite "
                             "similarities",
                             k0 + r, x < n_a ? "A" : "B", x < n_a ? x : x - n_a,
                             isnan(v) ? "NaN" : "infinite");
                    break;
                }
                hr_contrast_pool_fold(&s->pool[x], v, k0 + r, t);
            }
        }
    }
    if (w->st != HR_OK || j->k < 2) return NULL;
    for (size_t x = lo; x < hi; x++) hr_contrast_pool_finish(&s->pool[x], t, j->log_km1);
    return NULL;
}

/* Pool-relative methods: every embedding finite, or the hypothesis or
 * sample that is not (one bad value would spoil every score of the call). */
static hr_status check_finite(hr_scorer_cpu *s, const float *h, size_t k, char *err, size_t errlen)
{
    const size_t d = (size_t)s->dim;
    for (size_t i = 0; i < k * d; i++)
        if (!isfinite(h[i]))
            return hr_fail(HR_ERR_INPUT, err, errlen,
                           "hypothesis %zu (counting from 0): embedding value %zu is %s: the %s "
                           "score measures every hypothesis against the whole pool and needs "
                           "finite embeddings",
                           i / d, i % d, isnan(h[i]) ? "NaN" : "infinite",
                           hr_score_method_str(s->method));
    if (s->samples_finite) return HR_OK;
    for (int side = 0; side < 2; side++) {
        const float *x = side ? s->xb : s->xa;
        const size_t m = (side ? s->n_b : s->n_a) * d;
        for (size_t i = 0; i < m; i++)
            if (!isfinite(x[i]))
                return hr_fail(HR_ERR_INPUT, err, errlen,
                               "%s sample %zu (counting from 0): embedding value %zu is %s: the "
                               "%s score needs finite embeddings",
                               side ? "B" : "A", i / d, i % d, isnan(x[i]) ? "NaN" : "infinite",
                               hr_score_method_str(s->method));
    }
    s->samples_finite = 1;
    return HR_OK;
}

/* The pool statistics of this call (pool-relative methods, K >= 2). */
static hr_status pool_pass(hr_scorer_cpu *s, job *j, char *err, size_t errlen)
{
    const size_t n = s->n_a + s->n_b, d = (size_t)s->dim;
    if (s->method == HR_SCORE_CENTERED) {
        if (!s->c) s->c = malloc(n * sizeof *s->c);
        if (!s->g) s->g = malloc(d * sizeof *s->g);
        if (!s->c || !s->g)
            return hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory for %zu samples", n);
        for (size_t q = 0; q < d; q++) s->g[q] = 0.0;
        for (size_t i = 0; i < j->k; i++)
            for (size_t q = 0; q < d; q++) s->g[q] += (double)j->h[i * d + q];
    } else {
        if (!s->pool) s->pool = malloc(n * sizeof *s->pool);
        if (!s->pool) return hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory for %zu samples", n);
    }
    /* One contiguous range of samples per worker. */
    int n_workers = s->n_threads;
    if ((size_t)n_workers > n) n_workers = (int)n;
    worker_arg args[HR_SCORER_MAX_THREADS];
    for (int t = 0; t < n_workers; t++) {
        s->w[t].st = HR_OK;
        s->w[t].err[0] = '\0';
        args[t] = (worker_arg){j, &s->w[t], n * (size_t)t / (size_t)n_workers,
                               n * (size_t)(t + 1) / (size_t)n_workers};
    }
    hr_run_workers(pool_main, args, sizeof args[0], n_workers);
    int bad = -1;
    for (int t = 0; t < n_workers; t++) {
        const worker *w = &s->w[t];
        if (w->st != HR_OK &&
            (bad < 0 || w->fail_block < s->w[bad].fail_block ||
             (w->fail_block == s->w[bad].fail_block && w->fail_sample < s->w[bad].fail_sample)))
            bad = t;
    }
    if (bad >= 0) return hr_fail(s->w[bad].st, err, errlen, "%s", s->w[bad].err);
    return HR_OK;
}

hr_status hr_scorer_cpu_score(hr_scorer_cpu *s, const float *h, size_t k,
                              hr_hypothesis_score *out, char *err, size_t errlen)
{
    return hr_scorer_cpu_score_effects(s, h, k, out, NULL, err, errlen);
}

hr_status hr_scorer_cpu_score_effects(hr_scorer_cpu *s, const float *h, size_t k,
                                      hr_hypothesis_score *out, hr_effect *effects, char *err,
                                      size_t errlen)
{
    if (k == 0) return HR_OK;
    const size_t n = s->n_a + s->n_b;
    if (n > (size_t)INT32_MAX || s->n_a > (size_t)INT32_MAX)
        return hr_fail(HR_ERR_UNSUPPORTED, err, errlen, "scorer: %zu samples, at most 2^31 - 1", n);
    const int pooled = s->method != HR_SCORE_COSINE && k >= 2;
    if (pooled) {
        hr_status st = check_finite(s, h, k, err, errlen);
        if (st != HR_OK) return st;
    }
    /* Blocks: within the budget, a multiple of the thread count of them, of
     * nearly equal size, so that the threads finish together (3 blocks on 2
     * threads would leave one thread idle for a third of the run); where the
     * budget allows a block of HR_SIMILARITY_ROW_ALIGN rows, their
     * boundaries are multiples of it, so that the scores do not depend on
     * the thread count (score_methods.h), and sizes within one alignment of
     * each other (a block size rounded to the alignment instead, 288 rows
     * for 1,000 hypotheses on 2 threads, left one thread 576 rows and the
     * other 424). */
    const size_t t = (size_t)s->n_threads;
    const size_t cap = s->block_rows < (size_t)INT32_MAX ? s->block_rows : (size_t)INT32_MAX;
    job j = {.s = s, .h = h, .k = k, .out = out, .effects = effects,
             .log_km1 = k >= 2 ? log((double)(k - 1)) : 0.0};
    size_t blocks = (k + cap - 1) / cap;
    blocks = (blocks + t - 1) / t * t;
    if (blocks > k) blocks = k;
    j.aligned = cap >= HR_SIMILARITY_ROW_ALIGN;
    for (;;) {
        j.n_blocks = blocks;
        if (!j.aligned) {
            j.rows = (k + blocks - 1) / blocks;
            break;
        }
        j.rows = 0;
        for (size_t b = 0; b < blocks; b++) {
            const size_t kb = block_start(&j, b + 1) - block_start(&j, b);
            if (kb > j.rows) j.rows = kb;
        }
        if (j.rows <= cap || blocks >= k) break;
        blocks += t; /* ends once blocks of at most one alignment each remain */
    }
    const size_t rows = j.rows;
    atomic_init(&j.next, 0);
    atomic_init(&j.stop, 0);
    int n_workers = s->n_threads;
    if ((size_t)n_workers > j.n_blocks) n_workers = (int)j.n_blocks;
    /* Slabs: the block pass uses n_workers of them, the pool pass (CONTRAST)
     * one per thread, each for rows x (at most N) scores. */
    int n_slabs = n_workers;
    if (pooled && s->method == HR_SCORE_CONTRAST)
        n_slabs = (size_t)s->n_threads < n ? s->n_threads : (int)n;
    for (int t = 0; t < n_slabs; t++) {
        worker *w = &s->w[t];
        w->st = HR_OK;
        w->err[0] = '\0';
        if (w->slab_rows < rows) {
            free(w->slab);
            w->slab = hr_alloc_large(rows * n * sizeof *w->slab);
            w->slab_rows = w->slab ? rows : 0;
            if (!w->slab)
                return hr_fail(HR_ERR_NOMEM, err, errlen,
                               "out of memory for a (%zu, %zu) score slab", rows, n);
        }
        if (effects && !w->scratch && !(w->scratch = malloc(n * sizeof *w->scratch)))
            return hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory for %zu scores", n);
    }
    /* Our workers each call BLAS; BLAS itself stays on one thread. */
    openblas_set_num_threads(1);
    if (pooled) {
        hr_status st = pool_pass(s, &j, err, errlen);
        if (st != HR_OK) return st;
    }
    worker_arg args[HR_SCORER_MAX_THREADS];
    for (int t = 0; t < n_workers; t++) {
        s->w[t].st = HR_OK;
        s->w[t].err[0] = '\0';
        args[t] = (worker_arg){&j, &s->w[t], 0, 0};
    }
    hr_run_workers(worker_main, args, sizeof args[0], n_workers);
    /* The failure on the earliest block, so the message does not depend on
     * the timing of the threads. */
    int bad = -1;
    for (int t = 0; t < n_workers; t++)
        if (s->w[t].st != HR_OK && (bad < 0 || s->w[t].fail_block < s->w[bad].fail_block)) bad = t;
    if (bad >= 0) return hr_fail(s->w[bad].st, err, errlen, "%s", s->w[bad].err);
    return HR_OK;
}
