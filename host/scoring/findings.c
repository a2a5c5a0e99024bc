/*
 * host/scoring/findings.c: findings, not shadows: the forward selection of
 * hyporank/findings.h.
 *
 * The conditional test is the partial correlation of a candidate's hinge g
 * with the side indicator y given the covariates of the findings accepted
 * so far. It is kept up to date without refitting: per row system (all the
 * rows read, or only the held-out ones, for candidates drawn from the data)
 * an orthonormal basis Q of the covariates (the constant first), the
 * residual y~ = y - Q Q^T y, and for each candidate ss = |g|^2 - sum over q
 * in Q of (q . g)^2, the squared norm of its residual. Then
 *   r = (y~ . g) / sqrt(|y~|^2 ss),   t = r sqrt(df / (1 - r^2)),
 * df = rows - columns of Q - 1. A finding's new columns are orthonormalised
 * first; then one pass over each candidate's hinge takes q . g for each of
 * them and y~ . g, which the next step's tests read (sums in row order, so
 * the figures are those of one pass per column). Columns
 * are orthogonalised by classical Gram-Schmidt, twice (accurate to rounding
 * for the ~140 columns of 20 findings); a column within 1e-9 of the span
 * is dropped. p-values come from the normal approximation of t (df is the
 * number of rows read, hundreds at least when anything is significant).
 * The same quantities give the side's coefficient in the regression of g
 * on y and the covariates, (y~ . g) / |y~|^2, and its standard error: over
 * the candidate's gain, the share difference it holds for beyond the
 * findings (effect_beyond).
 */
#include "hyporank/findings.h"
#include "hyporank/stats.h"
#include "core/random.h"
#include "core/simd.h"
#include "core/threads.h"
#include "core/util.h"
#include "scoring/effects_internal.h"
#include "scoring/score_methods.h"

#include <assert.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Knots of a finding's piecewise-linear covariate: pooled quantiles. */
static const double knot_q[5] = {0.5, 0.8, 0.9, 0.95, 0.98};
#define SIMILARITY_COLUMNS 6 /* s and max(s - knot, 0) for each knot */
#define COLUMNS_PER_FINDING 7 /* those and P(holder | s, side) */

/* A finding's shares come from the two-group mixture when its components
 * are at least this many standard deviations apart. */
#define MIXTURE_MIN_SEPARATION 3.5
#define MIXTURE_MAX_ITER 500

/* Rows of similarities gathered per matrix product, and the most workers
 * that gather at once (each holds GATHER_ROWS rows: 6 MB at d = 384). */
#define GATHER_ROWS 4096
#define GATHER_WORKERS 8

hr_findings_options hr_findings_default_options(void)
{
    hr_findings_options o = {0.05, 20, 500, 20000, 0.3, 0.8, 1, 0};
    return o;
}

/* A two-group model of a finding's similarities: its non-holders N(mu0,
 * sd0), its holders N(mu1, sd1), holders a share pa of A's rows and pb of
 * B's. */
typedef struct two_groups {
    double mu0, sd0, mu1, sd1, pa, pb;
} two_groups;

/* One row system: the rows (of the sample) a group of candidates is tested on. */
typedef struct row_system {
    size_t n;      /* rows */
    size_t *row;   /* (n) positions in the sample */
    double *y;     /* (n) the side indicator's residual y~ */
    double yy;     /* |y~|^2 */
    double *q;     /* (cap, n) the basis, column c at q + c n */
    size_t cols, cap;
} row_system;

typedef struct selection {
    const hr_findings_input *in;
    const hr_findings_options *o;
    hr_effect *e;          /* (k) */
    size_t m;              /* candidates considered */
    size_t *cand;          /* (m) their indices among the k */
    size_t r, r_a;         /* rows read: r_a of A (first), r - r_a of B */
    float *s;              /* (m, r) similarities of the candidates to the rows */
    row_system sys[2];     /* 0: every row read; 1: the held-out ones */
    int *sys_of;           /* (m) */
    double *ss;            /* (m) squared norm of each hinge's residual */
    double *ss0;           /* (m) the same with only the constant removed */
    double *yg;            /* (m) y~ . g over its system's rows, for the current y~ */
    double *qt;            /* (r, 8) scratch of project_candidates */
    int workers;           /* threads of project_candidates */
    two_groups *groups;    /* (m) accepted findings: the two-group model fitted to each */
    double *separation;    /* (m) its components' separation (0: the fit failed) */
    double *col;           /* (r) scratch column */
    float *tmp;            /* (r) scratch for quantiles */
} selection;

static double hinge(const selection *z, size_t j, size_t row)
{
    const double v = z->s[j * z->r + row], tau = z->e[z->cand[j]].tau;
    return v > tau ? v - tau : 0.0;
}

/* Adds column v: (r) (over the rows read) to system which's basis, unless
 * it is in the span already, and takes it out of y~. The candidates'
 * figures follow in project_candidates. */
static void add_column(selection *z, int which, const double *v)
{
    row_system *y = &z->sys[which];
    if (y->n == 0 || y->cols == y->cap) return;
    double *u = y->q + y->cols * y->n;
    double norm0 = 0.0;
    for (size_t i = 0; i < y->n; i++) {
        u[i] = v[y->row[i]];
        norm0 += u[i] * u[i];
    }
    for (int pass = 0; pass < 2; pass++)
        for (size_t c = 0; c < y->cols; c++) {
            const double *qc = y->q + c * y->n;
            double d = 0.0;
            for (size_t i = 0; i < y->n; i++) d += qc[i] * u[i];
            for (size_t i = 0; i < y->n; i++) u[i] -= d * qc[i];
        }
    double norm = 0.0;
    for (size_t i = 0; i < y->n; i++) norm += u[i] * u[i];
    if (!(norm > 1e-18 * norm0) || norm == 0.0) return; /* in the span already */
    norm = sqrt(norm);
    for (size_t i = 0; i < y->n; i++) u[i] /= norm;
    y->cols++;
    double d = 0.0;
    for (size_t i = 0; i < y->n; i++) d += u[i] * y->y[i];
    for (size_t i = 0; i < y->n; i++) y->y[i] -= d * u[i];
}

/* A candidate's figures from one pass over its hinge g (over system y's
 * rows): acc[c] = sum over rows of qt[i * 8 + c] g_i, in row order, each
 * product rounded and then added (no fused multiply-add), so that every
 * version gives the same bits. qt: (n, 8), the new columns and y~ side by
 * side (see project_candidates). */
static void hinge_dots_portable(const float *s, double tau, const size_t *row, size_t n,
                                const double *qt, double acc[8])
{
    for (int c = 0; c < 8; c++) acc[c] = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double v = s[row[i]], g = v > tau ? v - tau : 0.0;
        for (int c = 0; c < 8; c++) acc[c] += qt[i * 8 + c] * g;
    }
}

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
__attribute__((target("avx512f"))) static void hinge_dots_avx512(const float *s, double tau,
                                                                 const size_t *row, size_t n,
                                                                 const double *qt,
                                                                 double acc[8])
{
    __m512d a = _mm512_setzero_pd();
    for (size_t i = 0; i < n; i++) {
        const double v = s[row[i]], g = v > tau ? v - tau : 0.0;
        a = _mm512_add_pd(a, _mm512_mul_pd(_mm512_loadu_pd(qt + i * 8), _mm512_set1_pd(g)));
    }
    _mm512_storeu_pd(acc, a);
}

__attribute__((target("avx2"))) static void hinge_dots_avx2(const float *s, double tau,
                                                            const size_t *row, size_t n,
                                                            const double *qt, double acc[8])
{
    __m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd();
    for (size_t i = 0; i < n; i++) {
        const double v = s[row[i]], g = v > tau ? v - tau : 0.0;
        const __m256d gv = _mm256_set1_pd(g);
        a0 = _mm256_add_pd(a0, _mm256_mul_pd(_mm256_loadu_pd(qt + i * 8), gv));
        a1 = _mm256_add_pd(a1, _mm256_mul_pd(_mm256_loadu_pd(qt + i * 8 + 4), gv));
    }
    _mm256_storeu_pd(acc, a0), _mm256_storeu_pd(acc + 4, a1);
}
#endif

static void hinge_dots(const float *s, double tau, const size_t *row, size_t n, const double *qt,
                       double acc[8])
{
#if defined(__GNUC__) && defined(__x86_64__)
    if (hr_simd_avx512()) hinge_dots_avx512(s, tau, row, n, qt, acc);
    else if (hr_simd_avx2()) hinge_dots_avx2(s, tau, row, n, qt, acc);
    else hinge_dots_portable(s, tau, row, n, qt, acc);
#else
    hinge_dots_portable(s, tau, row, n, qt, acc);
#endif
}

/* One worker's candidates [lo, hi) of project_candidates. */
typedef struct project_part {
    selection *z;
    int which;
    size_t lo, hi, nc;
    const double *qt;
} project_part;

static void *project_part_run(void *arg)
{
    const project_part *p = arg;
    selection *z = p->z;
    const row_system *y = &z->sys[p->which];
    for (size_t j = p->lo; j < p->hi; j++) {
        if (z->sys_of[j] != p->which) continue;
        double acc[8];
        hinge_dots(z->s + j * z->r, z->e[z->cand[j]].tau, y->row, y->n, p->qt, acc);
        for (size_t c = 0; c < p->nc && z->ss[j] >= 0.0; c++) z->ss[j] -= acc[c] * acc[c];
        z->yg[j] = acc[7];
    }
    return NULL;
}

/* After system which's columns [first, cols) were added: each of its
 * candidates' residual norm loses (q . g)^2 for each new column q, in
 * column order (a norm that rounding took below 0 stays there: no test
 * reads it), and its y~ . g and the system's |y~|^2 are taken afresh. One
 * pass over each hinge, candidates split among the workers; every sum runs
 * in row order, so the figures are those of a pass per column, on any
 * number of workers. */
static void project_candidates(selection *z, int which, size_t first)
{
    row_system *y = &z->sys[which];
    const size_t nc = y->cols - first, n = y->n;
    assert(nc <= COLUMNS_PER_FINDING && COLUMNS_PER_FINDING < 8);
    double yy = 0.0;
    for (size_t i = 0; i < n; i++) yy += y->y[i] * y->y[i];
    y->yy = yy;
    /* qt: (n, 8): lanes [0, nc) the new columns, lane 7 y~, the others 0 */
    double *qt = z->qt;
    for (size_t i = 0; i < n; i++) {
        for (size_t c = 0; c < 7; c++) qt[i * 8 + c] = c < nc ? y->q[(first + c) * n + i] : 0.0;
        qt[i * 8 + 7] = y->y[i];
    }
    project_part parts[HR_MAX_WORKERS];
    int workers = z->workers;
    if ((size_t)workers > z->m) workers = (int)z->m;
    for (int t = 0; t < workers; t++)
        parts[t] = (project_part){z, which, z->m * (size_t)t / (size_t)workers,
                                  z->m * (size_t)(t + 1) / (size_t)workers, nc, qt};
    hr_run_workers(project_part_run, parts, sizeof parts[0], workers);
}

/* Pearson correlation of the similarities of candidates i and j over the rows. */
static double correlation(const selection *z, size_t i, size_t j)
{
    const float *a = z->s + i * z->r, *b = z->s + j * z->r;
    double ma = 0, mb = 0;
    for (size_t x = 0; x < z->r; x++) ma += a[x], mb += b[x];
    ma /= (double)z->r, mb /= (double)z->r;
    double sab = 0, saa = 0, sbb = 0;
    for (size_t x = 0; x < z->r; x++) {
        const double da = a[x] - ma, db = b[x] - mb;
        sab += da * db, saa += da * da, sbb += db * db;
    }
    return saa > 0 && sbb > 0 ? sab / sqrt(saa * sbb) : 0.0;
}

static double normal_pdf(double x, double mu, double sd)
{
    const double z = (x - mu) / sd;
    return 0.3989422804014327 / sd * exp(-0.5 * z * z);
}

/* How many of the rows of y are A's. */
static size_t rows_of_a(const selection *z, const row_system *y)
{
    size_t na = 0;
    for (size_t i = 0; i < y->n; i++) na += y->row[i] < z->r_a;
    return na;
}

/* The model of the calibration (hyporank/findings.h). */
static two_groups calibrated_groups(const hr_effect *e)
{
    two_groups g = {e->mu0, e->sigma, e->mu0 + e->delta, e->sigma, e->share_a, e->share_b};
    g.pa = g.pa < 0.001 ? 0.001 : (g.pa > 0.999 ? 0.999 : g.pa);
    g.pb = g.pb < 0.001 ? 0.001 : (g.pb > 0.999 ? 0.999 : g.pb);
    return g;
}

/* The EM's passes over the rows, in blocks of EM_BLOCK rows: each block's
 * sums in row order, the blocks' added in block order, so that the fit is
 * the same on any number of workers. */
#define EM_BLOCK 2048
#define EM_SUMS 7

/* The mixture's parameters as one pass reads them. */
typedef struct em_params {
    double mu0, sd0, mu1, sd1, pa, pb;
} em_params;

/* Pass 1 (E-step and means) over rows [lo, hi) of y: out = w1, w0, m1, m0,
 * ra, rb, ll; pass 2 (variances, with pass 1's new shares and means): out =
 * v1, v0. */
static void em_block(const selection *z, const row_system *y, const float *s, int pass,
                     const em_params *p, size_t lo, size_t hi, double out[EM_SUMS])
{
    /* sums in locals, stored once: neighbouring blocks' sums share cache
     * lines, and other workers write them */
    const em_params q = *p;
    const size_t r_a = z->r_a;
    double acc[EM_SUMS] = {0};
    for (size_t i = lo; i < hi; i++) {
        const size_t row = y->row[i];
        const double v = s[row], prior = row < r_a ? q.pa : q.pb;
        const double l1 = prior * normal_pdf(v, q.mu1, q.sd1);
        const double l0 = (1 - prior) * normal_pdf(v, q.mu0, q.sd0);
        const double tot = l1 + l0;
        if (pass == 2) {
            const double r = tot > 0 ? l1 / tot : 0.0;
            acc[0] += r * (v - q.mu1) * (v - q.mu1), acc[1] += (1 - r) * (v - q.mu0) * (v - q.mu0);
            continue;
        }
        const double r = tot > 0 ? l1 / tot : (v > 0.5 * (q.mu0 + q.mu1));
        acc[6] += log(tot > 1e-300 ? tot : 1e-300);
        if (row < r_a) acc[4] += r;
        else acc[5] += r;
        acc[0] += r, acc[1] += 1 - r, acc[2] += r * v, acc[3] += (1 - r) * v;
    }
    for (int k = 0; k < EM_SUMS; k++) out[k] = acc[k];
}

/* The workers of one fit: worker w takes blocks w, w + active, ...; the
 * calling thread is worker 0 and leads (em_pass). A pass takes a fraction
 * of a millisecond, about what waking a sleeping thread costs on a virtual
 * machine, so the workers wait for the next pass by spinning (yielding
 * after a while): they live only for the fit's few hundred passes. */
typedef struct em_team {
    const selection *z;
    const row_system *y;
    const float *s;
    size_t blocks;
    double (*part)[EM_SUMS]; /* (blocks) each block's sums */
    em_params p;             /* written before gen moves */
    int pass;                /* 1, 2; 0: leave */
    int active;              /* workers running, the caller included */
    atomic_ulong gen;        /* passes started */
    atomic_int finished;     /* workers but the caller done with this pass */
} em_team;

/* A moment of waiting: a pause, then a yield now and then. */
static void em_wait(unsigned *spins)
{
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __builtin_ia32_pause();
#endif
    if (++*spins % 1024 == 0) sched_yield();
}

typedef struct em_member {
    em_team *t;
    int w;
} em_member;

static void em_blocks(em_team *t, int w)
{
    for (size_t b = (size_t)w; b < t->blocks; b += (size_t)t->active) {
        const size_t lo = b * EM_BLOCK, hi = lo + EM_BLOCK < t->y->n ? lo + EM_BLOCK : t->y->n;
        em_block(t->z, t->y, t->s, t->pass, &t->p, lo, hi, t->part[b]);
    }
}

static void *em_member_run(void *arg)
{
    const em_member *m = arg;
    em_team *t = m->t;
    unsigned long seen = 0;
    for (;;) {
        unsigned spins = 0;
        unsigned long g;
        while ((g = atomic_load_explicit(&t->gen, memory_order_acquire)) == seen) em_wait(&spins);
        seen = g;
        if (t->pass == 0) return NULL;
        em_blocks(t, m->w);
        atomic_fetch_add_explicit(&t->finished, 1, memory_order_release);
    }
}

/* Runs a pass (0: tells the workers to leave) with parameters p; sums: the
 * blocks' sums added in block order. */
static void em_pass(em_team *t, int pass, const em_params *p, double sums[EM_SUMS])
{
    t->pass = pass;
    if (p) t->p = *p;
    atomic_store_explicit(&t->finished, 0, memory_order_relaxed);
    atomic_fetch_add_explicit(&t->gen, 1, memory_order_release);
    if (pass == 0) return;
    em_blocks(t, 0);
    unsigned spins = 0;
    while (atomic_load_explicit(&t->finished, memory_order_acquire) < t->active - 1)
        em_wait(&spins);
    for (int k = 0; k < EM_SUMS; k++) sums[k] = 0.0;
    for (size_t b = 0; b < t->blocks; b++)
        for (int k = 0; k < EM_SUMS; k++) sums[k] += t->part[b][k];
}

/* The two-group Gaussian mixture of finding j's similarities on its rows,
 * by EM from the calibrated model (its passes over the rows shared among
 * the workers: em_pass). Returns the components' separation in pooled
 * standard deviations (0 when EM failed; *g then the start). */
static double fit_mixture(const selection *z, size_t j, two_groups *g)
{
    const hr_effect *e = &z->e[z->cand[j]];
    const row_system *y = &z->sys[z->sys_of[j]];
    *g = calibrated_groups(e);
    const size_t na = rows_of_a(z, y), nb = y->n - na;
    if (na < 2 || nb < 2) return 0.0;
    em_team t = {.z = z, .y = y, .s = z->s + j * z->r, .blocks = (y->n + EM_BLOCK - 1) / EM_BLOCK};
    atomic_init(&t.gen, 0);
    atomic_init(&t.finished, 0);
    t.part = malloc(t.blocks * sizeof *t.part);
    if (!t.part) return 0.0; /* as a failed fit: the calibrated start */
    em_member members[HR_MAX_WORKERS];
    pthread_t tid[HR_MAX_WORKERS];
    int want = z->workers < (int)t.blocks ? z->workers : (int)t.blocks;
    t.active = 1;
    for (int w = 1; w < want; w++) { /* the workers that start (at least the caller) */
        members[w] = (em_member){&t, w};
        if (pthread_create(&tid[w], NULL, em_member_run, &members[w]) != 0) break;
        t.active++;
    }
    em_params p = {g->mu0, g->sd0, g->mu1, g->sd1, 0, 0};
    p.pa = e->share_a < 0.01 ? 0.01 : (e->share_a > 0.99 ? 0.99 : e->share_a);
    p.pb = e->share_b < 0.001 ? 0.001 : (e->share_b > 0.99 ? 0.99 : e->share_b);
    double last = -INFINITY, sep = 0.0;
    int ok = 1;
    for (int it = 0; it < MIXTURE_MAX_ITER; it++) {
        double s1[EM_SUMS], s2[EM_SUMS];
        em_pass(&t, 1, &p, s1);
        const double w1 = s1[0], w0 = s1[1], ll = s1[6];
        if (!(w1 > 0 && w0 > 0)) {
            ok = 0;
            break;
        }
        p.pa = s1[4] / (double)na, p.pb = s1[5] / (double)nb;
        p.mu1 = s1[2] / w1, p.mu0 = s1[3] / w0;
        em_pass(&t, 2, &p, s2);
        p.sd1 = sqrt(s2[0] / w1) + 1e-4, p.sd0 = sqrt(s2[1] / w0) + 1e-4;
        if (!(p.mu1 > p.mu0)) {
            ok = 0;
            break;
        }
        if (fabs(ll - last) < 1e-10 * (double)y->n) break;
        last = ll;
    }
    em_pass(&t, 0, NULL, NULL);
    for (int w = 1; w < t.active; w++) pthread_join(tid[w], NULL);
    free(t.part);
    if (ok) {
        *g = (two_groups){p.mu0, p.sd0, p.mu1, p.sd1, p.pa, p.pb};
        sep = (p.mu1 - p.mu0) / sqrt(0.5 * (p.sd0 * p.sd0 + p.sd1 * p.sd1));
    }
    return sep;
}

/* Replaces finding j's shares by its mixture's (fitted when it was
 * accepted) when the components are clearly apart. */
static void refine_by_mixture(selection *z, size_t j)
{
    const two_groups g = z->groups[j];
    if (!(z->separation[j] >= MIXTURE_MIN_SEPARATION) || z->e[z->cand[j]].counted) return;
    const row_system *y = &z->sys[z->sys_of[j]];
    const size_t na = rows_of_a(z, y), nb = y->n - na;
    hr_effect *e = &z->e[z->cand[j]];
    e->share_a = g.pa, e->share_b = g.pb;
    e->effect = g.pa - g.pb;
    e->mixture = 1;
    hr_effect_interval(e, sqrt(g.pa * (1 - g.pa) / (double)na + g.pb * (1 - g.pb) / (double)nb));
}

/* P(holder | similarity v, side) under model g; a_side: 1 for A's rows. */
static double holder_posterior(const two_groups *g, double v, int a_side)
{
    const double prior = a_side ? g->pa : g->pb;
    const double z0 = (v - g->mu0) / g->sd0, z1 = (v - g->mu1) / g->sd1;
    const double logit =
        log(prior / (1.0 - prior)) + log(g->sd0 / g->sd1) + 0.5 * (z0 * z0 - z1 * z1);
    return 1.0 / (1.0 + exp(-logit));
}

/* The covariates of finding j: its similarity, its hinges at the knots,
 * and the probability that a row is one of its holders given its
 * similarity and its side (the two-group mixture; see the header). */
static void add_finding_covariates(selection *z, size_t j)
{
    const float *sj = z->s + j * z->r;
    const size_t first[2] = {z->sys[0].cols, z->sys[1].cols};
    double knots[5];
    memcpy(z->tmp, sj, z->r * sizeof *z->tmp);
    hr_quantiles(z->tmp, z->r, knot_q, 5, knots);
    for (int c = 0; c < SIMILARITY_COLUMNS; c++) {
        for (size_t i = 0; i < z->r; i++) {
            const double v = sj[i];
            z->col[i] = c == 0 ? v : (v > knots[c - 1] ? v - knots[c - 1] : 0.0);
        }
        add_column(z, 0, z->col);
        add_column(z, 1, z->col);
    }
    two_groups *g = &z->groups[j];
    z->separation[j] = fit_mixture(z, j, g);
    for (size_t i = 0; i < z->r; i++) z->col[i] = holder_posterior(g, sj[i], i < z->r_a);
    add_column(z, 0, z->col);
    add_column(z, 1, z->col);
    project_candidates(z, 0, first[0]);
    project_candidates(z, 1, first[1]);
}

static int cmp_size(const void *x, const void *y)
{
    const size_t a = *(const size_t *)x, b = *(const size_t *)y;
    return (a > b) - (a < b);
}

/* Rows of one side to read: all n, or max of them at random (ascending). */
static size_t *sample_rows(size_t n, size_t max, uint64_t *state, size_t *got)
{
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    if (!idx) return NULL;
    for (size_t i = 0; i < n; i++) idx[i] = i;
    if (n > max) {
        hr_random_shuffle(state, idx, n);
        n = max;
        qsort(idx, n, sizeof *idx, cmp_size);
    }
    *got = n;
    return idx;
}

static void free_selection(selection *z)
{
    free(z->cand), free(z->s), free(z->sys_of), free(z->ss), free(z->ss0), free(z->yg);
    free(z->qt), free(z->col), free(z->tmp);
    free(z->groups), free(z->separation);
    for (int w = 0; w < 2; w++) free(z->sys[w].row), free(z->sys[w].y), free(z->sys[w].q);
}

/* Strength order of the significant candidates: smaller p first, then
 * larger |z|, then the earlier candidate. */
typedef struct strength_key {
    double p, abs_z;
    size_t index;
} strength_key;

static int cmp_strength(const void *x, const void *y)
{
    const strength_key *a = x, *b = y;
    if (a->p != b->p) return a->p < b->p ? -1 : 1;
    if (a->abs_z != b->abs_z) return a->abs_z > b->abs_z ? -1 : 1;
    return (a->index > b->index) - (a->index < b->index);
}

/* One worker's gather blocks [lo, hi) of prepare's similarities: rows
 * r0 = block GATHER_ROWS.. of the sample gathered into xg, then their
 * similarities to every candidate into columns r0.. of z->s. */
typedef struct gather_part {
    selection *z;
    const float *hs;           /* (m, dim) the candidates */
    const size_t *rows_a, *rows_b;
    float *xg;                 /* (GATHER_ROWS, dim) */
    size_t lo, hi;
} gather_part;

static void *gather_part_run(void *arg)
{
    const gather_part *p = arg;
    selection *z = p->z;
    const hr_findings_input *in = z->in;
    const size_t dim = (size_t)in->dim;
    for (size_t blk = p->lo; blk < p->hi; blk++) {
        const size_t r0 = blk * GATHER_ROWS;
        const size_t nr = z->r - r0 < GATHER_ROWS ? z->r - r0 : GATHER_ROWS;
        for (size_t i = 0; i < nr; i++) {
            const size_t row = r0 + i;
            const float *x = row < z->r_a ? in->xa + p->rows_a[row] * dim
                                          : in->xb + p->rows_b[row - z->r_a] * dim;
            memcpy(p->xg + i * dim, x, dim * sizeof *p->xg);
        }
        hr_similarities_ld(p->hs, z->m, p->xg, nr, in->dim, z->s + r0, z->r);
    }
    return NULL;
}

/* Builds the sample of rows, the similarities and the two row systems. */
static hr_status prepare(selection *z, char *err, size_t errlen)
{
    const hr_findings_input *in = z->in;
    const size_t dim = (size_t)in->dim;
    uint64_t state = z->o->seed;
    size_t ra, rb;
    size_t *rows_a = sample_rows(in->n_a, z->o->max_rows_per_side, &state, &ra);
    size_t *rows_b = sample_rows(in->n_b, z->o->max_rows_per_side, &state, &rb);
    z->r_a = ra, z->r = ra + rb;
    const size_t cap = 1 + COLUMNS_PER_FINDING * z->o->max_findings;
    /* the similarities' gather blocks, shared among the workers where the
     * products allow it */
    const size_t blocks = (z->r + GATHER_ROWS - 1) / GATHER_ROWS;
    int workers = hr_similarities_workers(z->workers);
    if (workers > GATHER_WORKERS) workers = GATHER_WORKERS;
    if ((size_t)workers > blocks) workers = (int)blocks; /* r >= 2: blocks >= 1 */
    float *hs = malloc(z->m * dim * sizeof *hs);       /* (m, dim) */
    float *xg = malloc((size_t)workers * GATHER_ROWS * dim * sizeof *xg); /* (workers, rows, dim) */
    z->s = malloc(z->m * z->r * sizeof *z->s);
    z->sys_of = malloc(z->m * sizeof *z->sys_of);
    z->ss = malloc(z->m * sizeof *z->ss);
    z->ss0 = malloc(z->m * sizeof *z->ss0);
    z->yg = malloc(z->m * sizeof *z->yg);
    z->qt = malloc(z->r * 8 * sizeof *z->qt);
    z->groups = malloc(z->m * sizeof *z->groups);
    z->separation = malloc(z->m * sizeof *z->separation);
    z->col = malloc(z->r * sizeof *z->col);
    z->tmp = malloc(z->r * sizeof *z->tmp);
    int ok = rows_a && rows_b && hs && xg && z->s && z->sys_of && z->ss && z->ss0 && z->yg &&
             z->qt && z->groups && z->separation && z->col && z->tmp;
    for (int w = 0; ok && w < 2; w++) {
        row_system *y = &z->sys[w];
        y->row = malloc(z->r * sizeof *y->row);
        y->y = malloc(z->r * sizeof *y->y);
        y->q = malloc(cap * z->r * sizeof *y->q);
        y->cap = cap;
        ok = y->row && y->y && y->q;
    }
    if (!ok) {
        free(rows_a), free(rows_b), free(hs), free(xg);
        return hr_fail(HR_ERR_NOMEM, err, errlen,
                       "findings: out of memory for %zu candidates x %zu texts", z->m, z->r);
    }
    for (size_t j = 0; j < z->m; j++) {
        memcpy(hs + j * dim, in->h + z->cand[j] * dim, dim * sizeof *hs);
        z->sys_of[j] = in->from_data && in->from_data[z->cand[j]] ? 1 : 0;
    }
    /* Similarities: rows gathered GATHER_ROWS at a time, one product each. */
    gather_part parts[GATHER_WORKERS];
    for (int t = 0; t < workers; t++)
        parts[t] = (gather_part){z, hs, rows_a, rows_b, xg + (size_t)t * GATHER_ROWS * dim,
                                 blocks * (size_t)t / (size_t)workers,
                                 blocks * (size_t)(t + 1) / (size_t)workers};
    hr_run_workers(gather_part_run, parts, sizeof parts[0], workers);
    /* Row systems: 0 every row read, 1 the held-out ones. */
    for (int w = 0; w < 2; w++) {
        row_system *y = &z->sys[w];
        y->n = 0, y->cols = 0;
        for (size_t row = 0; row < z->r; row++) {
            const uint8_t *held = row < ra ? in->held_out_a : in->held_out_b;
            const size_t orig = row < ra ? rows_a[row] : rows_b[row - ra];
            if (w == 1 && held && !held[orig]) continue;
            y->row[y->n++] = row;
        }
        for (size_t i = 0; i < y->n; i++) y->y[i] = y->row[i] < ra ? 1.0 : 0.0;
    }
    free(rows_a), free(rows_b), free(hs), free(xg);
    for (size_t j = 0; j < z->m; j++) {
        const row_system *y = &z->sys[z->sys_of[j]];
        double g2 = 0.0;
        for (size_t i = 0; i < y->n; i++) {
            const double g = hinge(z, j, y->row[i]);
            g2 += g * g;
        }
        z->ss[j] = g2;
    }
    for (int w = 0; w < 2; w++) {
        for (size_t i = 0; i < z->r; i++) z->col[i] = 1.0;
        add_column(z, w, z->col); /* the constant: centres y~ and every g */
        project_candidates(z, w, 0);
    }
    memcpy(z->ss0, z->ss, z->m * sizeof *z->ss);
    return HR_OK;
}

/* The test of candidate j given the accepted findings: p of the combined
 * test (see the header) and the strength it is ranked by. wa, wb: the
 * shares of A and of B taken by accepted findings of each direction. */
static void test_candidate(const selection *z, size_t j, double wa, double wb, double *p_comb,
                           double *p_cond_out, double *strength, double *beyond, double *beyond_se)
{
    const hr_effect *e = &z->e[z->cand[j]];
    const row_system *y = &z->sys[z->sys_of[j]];
    const int dir_a = e->hinge_a > e->hinge_b;
    /* overlap with the accepted findings: partial correlation */
    double p_cond = 1.0, z_cond = 0.0;
    const double yy = y->yy, yg = z->yg[j];
    *beyond = 0.0, *beyond_se = INFINITY;
    const double df = (double)y->n - (double)y->cols - 1.0;
    if (yy > 0.0 && z->ss[j] > 1e-12 * z->ss0[j] && df >= 1.0) {
        double r = yg / sqrt(yy * z->ss[j]);
        if (r > 1.0) r = 1.0;
        if (r < -1.0) r = -1.0;
        const double t = r * sqrt(df / fmax(1.0 - r * r, 1e-300));
        const double beta = yg / yy, ss_res = fmax(z->ss[j] - yg * beta, 0.0);
        if (e->gain > 0.0) {
            *beyond = beta / e->gain;
            *beyond_se = sqrt(ss_res / df / yy) / e->gain;
        }
        if ((t > 0) == dir_a) {
            z_cond = fabs(t);
            p_cond = hr_normal_two_sided_p(t);
        }
    }
    /* dilution by the other direction's findings */
    const double w = dir_a ? wb : wa;
    const double hi = dir_a ? e->hinge_a : e->hinge_b, lo = dir_a ? e->hinge_b : e->hinge_a;
    const double vhi = dir_a ? e->var_a : e->var_b, vlo = dir_a ? e->var_b : e->var_a;
    const double nhi = (double)(dir_a ? e->n_a : e->n_b), nlo = (double)(dir_a ? e->n_b : e->n_a);
    const double d = (1.0 - w) * hi - lo;
    const double se = sqrt((1.0 - w) * (1.0 - w) * vhi / nhi + vlo / nlo);
    const double z_dil = se > 0.0 ? d / se : (d > 0.0 ? INFINITY : 0.0);
    const double p_dil = 0.5 * erfc(z_dil * 0.7071067811865476);
    *p_cond_out = p_cond;
    *p_comb = fmax(p_cond, fmin(1.0, 2.0 * p_dil));
    *strength = fmin(z_cond, z_dil);
}

hr_status hr_findings_select(const hr_findings_input *in, const hr_findings_options *opt,
                             hr_effect *effects, hr_finding *out, size_t *n_findings,
                             char *err, size_t errlen)
{
    *n_findings = 0;
    if (!in || !effects || !out || (in->k && !in->h) || in->dim <= 0 || !in->xa || !in->xb ||
        in->n_a == 0 || in->n_b == 0)
        return hr_fail(HR_ERR_INTERNAL, err, errlen, "hr_findings_select: bad arguments");
    const hr_findings_options o = opt ? *opt : hr_findings_default_options();
    for (size_t i = 0; i < in->k; i++)
        out[i] = (hr_finding){0, 0, -1, 0, NAN, NAN, NAN};
    selection z;
    memset(&z, 0, sizeof z);
    z.in = in, z.o = &o, z.e = effects;
    z.workers = hr_workers(o.n_threads);
    z.cand = malloc((in->k ? in->k : 1) * sizeof *z.cand);
    if (!z.cand) return hr_fail(HR_ERR_NOMEM, err, errlen, "findings: out of memory");
    strength_key *keys = malloc((in->k ? in->k : 1) * sizeof *keys);
    if (!keys) {
        free(z.cand);
        return hr_fail(HR_ERR_NOMEM, err, errlen, "findings: out of memory");
    }
    for (size_t i = 0; i < in->k; i++)
        if (effects[i].q_value <= o.alpha && effects[i].hinge_a != effects[i].hinge_b)
            keys[z.m++] = (strength_key){effects[i].p_value, fabs(effects[i].z), i};
    qsort(keys, z.m, sizeof *keys, cmp_strength);
    for (size_t j = 0; j < z.m; j++) z.cand[j] = keys[j].index;
    free(keys);
    if (z.m == 0) {
        free(z.cand);
        return HR_OK;
    }
    if (z.m > o.max_candidates) z.m = o.max_candidates;
    hr_status st = prepare(&z, err, errlen);
    if (st != HR_OK) {
        free_selection(&z);
        return st;
    }
    uint8_t *taken = calloc(z.m, 1);
    size_t *found = malloc((o.max_findings ? o.max_findings : 1) * sizeof *found); /* in cand */
    if (!taken || !found) {
        free(taken), free(found);
        free_selection(&z);
        return hr_fail(HR_ERR_NOMEM, err, errlen, "findings: out of memory");
    }
    double wa = 0.0, wb = 0.0;
    size_t nf = 0;
    while (nf < o.max_findings) {
        size_t best = SIZE_MAX;
        double best_strength = -1.0, best_p = 1.0, best_beyond = 0.0, best_beyond_se = 0.0;
        for (size_t j = 0; j < z.m; j++) {
            if (taken[j]) continue;
            double p, pc, strength, bey, bey_se;
            test_candidate(&z, j, wa, wb, &p, &pc, &strength, &bey, &bey_se);
            if (p * (double)in->k <= o.alpha && strength > best_strength) {
                best = j, best_strength = strength, best_p = pc;
                best_beyond = bey, best_beyond_se = bey_se;
            }
        }
        if (best == SIZE_MAX) break;
        taken[best] = 1;
        found[nf] = best;
        hr_finding *f = &out[z.cand[best]];
        f->is_finding = 1, f->order = nf, f->p_conditional = best_p;
        f->effect_beyond = best_beyond, f->effect_beyond_se = best_beyond_se;
        if (effects[z.cand[best]].counted) f->effect_beyond = f->effect_beyond_se = NAN;
        nf++;
        const hr_effect *e = &effects[z.cand[best]];
        if (e->hinge_a > e->hinge_b) wa += fmin(1.0, fmax(0.0, e->ci_high));
        else wb += fmin(1.0, fmax(0.0, -e->ci_low));
        if (wa > 1.0) wa = 1.0;
        if (wb > 1.0) wb = 1.0;
        add_finding_covariates(&z, best);
    }
    /* What explains each other significant candidate. */
    for (size_t j = 0; j < z.m && nf > 0; j++) {
        if (taken[j]) continue;
        const hr_effect *e = &effects[z.cand[j]];
        const int dir_a = e->hinge_a > e->hinge_b;
        long same = -1, other = -1, any = -1;
        double same_c = -2.0, other_eff = -1.0, any_c = -1.0;
        for (size_t f = 0; f < nf; f++) {
            const hr_effect *ef = &effects[z.cand[found[f]]];
            const double c = correlation(&z, j, found[f]);
            if ((ef->hinge_a > ef->hinge_b) == dir_a) {
                if (c > same_c) same_c = c, same = (long)found[f];
            } else if (fabs(ef->effect) > other_eff) {
                other_eff = fabs(ef->effect), other = (long)found[f];
            }
            if (fabs(c) > any_c) any_c = fabs(c), any = (long)found[f];
        }
        hr_finding *x = &out[z.cand[j]];
        if (same >= 0 && same_c >= o.explain_corr) {
            x->explained_by = (long)z.cand[same];
            x->paraphrase = same_c >= o.paraphrase_corr;
        } else if (other >= 0) {
            x->explained_by = (long)z.cand[other];
        } else {
            x->explained_by = (long)z.cand[any];
        }
    }
    for (size_t f = 0; f < nf; f++) refine_by_mixture(&z, found[f]);
    *n_findings = nf;
    free(taken), free(found);
    free_selection(&z);
    return HR_OK;
}
