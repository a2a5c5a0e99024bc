/*
 * host/backends/cpu/probe_cpu.c: the probe's passes over the rows on the CPU
 * (the hr_probe_backend of host/backends/backend.h; the Newton loop that
 * calls them is host/scoring/probe.c's). The specification the GPU's passes
 * (kernels/probe.cu) must agree with.
 *
 * X is float32 and is never copied whole: each pass converts BLOCK_BYTES
 * worth of rows at a time into a (rows, p) double block x~ = (x, 1), on
 * which cblas dgemv (margins, gradient) and dsyrk (Hessian) run. A fit on a
 * subset of rows (cross-validation) reads them through the index list.
 *
 *   gradient  z = X~ theta, loss = sum s softplus(-(2y - 1) z),
 *             g = X~^T (s (mu - y)),
 *             H = X~^T diag(s mu (1 - mu)) X~ (the rows of the block are
 *             scaled by sqrt(s mu (1 - mu)), then H += block^T block by
 *             dsyrk; only the upper triangle is kept)
 *             Without H (L-BFGS): loss and g in one read of X, straight
 *             from the float rows (no double block), the rows split into
 *             one contiguous range per thread; each thread sums its range
 *             in row order and the ranges' sums are added in range order.
 *   step      dz = X~ delta
 *   line_sum  O(m) sums from z and dz: L(theta + t delta) for any t
 *             without reading X again
 */
#include "backends/backend.h"
#include "core/fastmath.h"
#include "core/threads.h"
#include "core/util.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Bytes of the double block converted from X per step of a pass: large
 * enough for dsyrk to run at full speed, small enough to stay in L2/L3. */
#define BLOCK_BYTES (4u << 20)

/* log(1 + exp(v)) without overflow or loss for large |v|. */
static double softplus(double v)
{
    return v > 0 ? v + log1p(exp(-v)) : log1p(exp(v));
}

static double sigmoid(double z)
{
    if (z >= 0)
        return 1.0 / (1.0 + exp(-z));
    double e = exp(z);
    return e / (1.0 + e);
}

typedef struct cpu_data {
    const float *X;     /* (n, d) row-major, all rows, borrowed */
    int d;              /* features; p = d + 1 unknowns */
    const size_t *rows; /* (m) rows to fit on, ascending; NULL: rows 0..m-1 */
    size_t m;           /* rows in the fit */
    const uint8_t *y;   /* (n) labels 0 / 1, indexed by row */
    const double *sw;   /* (n) weights by row, or NULL: all 1 */
    size_t bs;          /* rows per block */
    double *blk;        /* (bs, p) row-major */
    double *vb;         /* (bs) per-row values */
    double *z;          /* (m) margins at theta */
    double *dz;         /* (m) X~ delta */
} cpu_data;

static size_t row_of(const cpu_data *f, size_t i)
{
    return f->rows ? f->rows[i] : i;
}

static void data_destroy(void *data)
{
    cpu_data *f = data;
    if (!f)
        return;
    free(f->blk);
    free(f->vb);
    free(f->z);
    free(f->dz);
    free(f);
}

static hr_status data_create(const float *X, int d, const size_t *rows, size_t m,
                             const uint8_t *y, const double *sw, size_t memory_bytes, void **out,
                             char *err, size_t errlen)
{
    (void)memory_bytes; /* the block is BLOCK_BYTES; z and dz are O(m) */
    *out = NULL;
    const size_t p = (size_t)d + 1;
    cpu_data *f = calloc(1, sizeof *f);
    if (!f)
        return hr_fail(HR_ERR_NOMEM, err, errlen, "probe: out of memory (%zu rows, %d features)",
                       m, d);
    *f = (cpu_data){X, d, rows, m, y, sw, 0, NULL, NULL, NULL, NULL};
    size_t bs = BLOCK_BYTES / (p * sizeof(double));
    if (bs < 16)
        bs = 16;
    if (bs > m)
        bs = m;
    f->bs = bs;
    f->blk = malloc(bs * p * sizeof *f->blk);
    f->vb = malloc(bs * sizeof *f->vb);
    f->z = malloc(m * sizeof *f->z);
    f->dz = malloc(m * sizeof *f->dz);
    if (!f->blk || !f->vb || !f->z || !f->dz) {
        data_destroy(f);
        return hr_fail(HR_ERR_NOMEM, err, errlen, "probe: out of memory (%zu rows, %d features)",
                       m, d);
    }
    *out = f;
    return HR_OK;
}

/* Rows i0 .. i0+nb-1 of the fit as x~ = (x, 1) in double: blk (nb, p) row-major. */
static void load_block(const cpu_data *f, size_t i0, size_t nb, double *blk)
{
    const int d = f->d, p = d + 1;
    for (size_t j = 0; j < nb; j++) {
        const float *x = f->X + row_of(f, i0 + j) * (size_t)d;
        double *o = blk + j * (size_t)p;
        for (int k = 0; k < d; k++)
            o[k] = (double)x[k];
        o[d] = 1.0;
    }
}

/* Fewest rows per thread of the fused pass: below this, starting threads
 * costs more than the rows. */
#define FUSED_MIN_ROWS 8192

/* x . w + w[d] for a float row x (d) and double w (d + 1), in double with
 * eight running sums (so that the compiler vectorises the loop without
 * reassociating it). */
HR_VECTOR_CLONES
static double row_margin(const float *x, const double *w, int d)
{
    double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0}, tail = 0;
    int k = 0;
    for (; k + 8 <= d; k += 8)
        for (int j = 0; j < 8; j++) acc[j] += (double)x[k + j] * w[k + j];
    for (; k < d; k++) tail += (double)x[k] * w[k];
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) +
           tail + w[d];
}

/* g[0..d) += r0 x0 + r1 x1 + r2 x2 + r3 x3 (float rows, double g). */
HR_VECTOR_CLONES
static void add_rows4(double *g, const float *x0, const float *x1, const float *x2,
                      const float *x3, double r0, double r1, double r2, double r3, int d)
{
    for (int k = 0; k < d; k++)
        g[k] += (r0 * x0[k] + r1 * x1[k]) + (r2 * x2[k] + r3 * x3[k]);
}

typedef struct fused_part {
    const cpu_data *f;
    const double *theta; /* (p) */
    size_t lo, hi;       /* rows [lo, hi) of the fit */
    double loss;
    double *g;           /* (p) this range's gradient */
} fused_part;

static void *fused_range(void *arg)
{
    fused_part *a = arg;
    const cpu_data *f = a->f;
    const int d = f->d;
    double loss = 0, rsum = 0; /* rsum: the intercept's gradient */
    memset(a->g, 0, (size_t)d * sizeof *a->g);
    const float *x[4];
    double r[4];
    int q = 0;
    for (size_t i = a->lo; i < a->hi; i++) {
        const size_t row = row_of(f, i);
        const float *xi = f->X + row * (size_t)d;
        const double s = f->sw ? f->sw[row] : 1.0;
        const double z = row_margin(xi, a->theta, d);
        /* e = exp(-|z|): softplus and sigmoid from one exp, no overflow */
        const double e = exp(-fabs(z));
        const double v = f->y[row] ? -z : z; /* loss = softplus(v) */
        if (s != 0) loss += s * ((v > 0 ? v : 0) + log1p(e));
        const double mu = z >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
        x[q] = xi;
        r[q] = s * (mu - (double)f->y[row]);
        rsum += r[q];
        if (++q == 4) {
            add_rows4(a->g, x[0], x[1], x[2], x[3], r[0], r[1], r[2], r[3], d);
            q = 0;
        }
    }
    for (int j = 0; j < q; j++) add_rows4(a->g, x[j], x[j], x[j], x[j], r[j], 0, 0, 0, d);
    a->g[d] = rsum;
    a->loss = loss;
    return NULL;
}

/* The loss and gradient without the Hessian, over the fit's rows. */
static hr_status loss_gradient(cpu_data *f, const double *theta, double *loss, double *g, char *err,
                               size_t errlen)
{
    const int p = f->d + 1;
    int nt = hr_cpu_count();
    if ((size_t)nt > f->m / FUSED_MIN_ROWS) nt = (int)(f->m / FUSED_MIN_ROWS);
    if (nt < 1) nt = 1;
    fused_part parts[HR_MAX_WORKERS];
    double *gs = malloc((size_t)nt * p * sizeof *gs); /* (nt, p) the ranges' gradients */
    if (!gs) return hr_fail(HR_ERR_NOMEM, err, errlen, "probe: out of memory");
    for (int t = 0; t < nt; t++)
        parts[t] = (fused_part){f, theta, f->m * t / nt, f->m * (t + 1) / nt, 0, gs + (size_t)t * p};
    hr_run_workers(fused_range, parts, sizeof parts[0], nt);
    *loss = 0;
    memset(g, 0, (size_t)p * sizeof *g);
    for (int t = 0; t < nt; t++) {
        *loss += parts[t].loss;
        for (int k = 0; k < p; k++) g[k] += parts[t].g[k];
    }
    free(gs);
    return HR_OK;
}

static hr_status gradient(void *data, const double *theta, double *loss, double *g, double *H,
                          char *err, size_t errlen)
{
    cpu_data *f = data;
    if (!H) return loss_gradient(f, theta, loss, g, err, errlen);
    const int p = f->d + 1;
    const size_t m = f->m, bs = f->bs;
    double *blk = f->blk, *vb = f->vb, *z = f->z;
    memset(g, 0, (size_t)p * sizeof *g);
    memset(H, 0, (size_t)p * p * sizeof *H);
    double f0 = 0;
    for (size_t i0 = 0; i0 < m; i0 += bs) {
        size_t nb = m - i0 < bs ? m - i0 : bs;
        load_block(f, i0, nb, blk);
        cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)nb, p, 1.0, blk, p, theta, 1, 0.0, z + i0,
                    1);
        for (size_t j = 0; j < nb; j++) {
            size_t r = row_of(f, i0 + j);
            double s = f->sw ? f->sw[r] : 1.0;
            double zi = z[i0 + j];
            double mu = sigmoid(zi);
            if (s != 0)
                f0 += s * softplus(f->y[r] ? -zi : zi);
            vb[j] = s * (mu - (double)f->y[r]); /* residual, for the gradient */
        }
        cblas_dgemv(CblasRowMajor, CblasTrans, (int)nb, p, 1.0, blk, p, vb, 1, 1.0, g, 1);
        for (size_t j = 0; j < nb; j++) {
            size_t r = row_of(f, i0 + j);
            double s = f->sw ? f->sw[r] : 1.0;
            double mu = sigmoid(z[i0 + j]);
            double sc = sqrt(s * mu * (1.0 - mu));
            cblas_dscal(p, sc, blk + j * (size_t)p, 1);
        }
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, p, (int)nb, 1.0, blk, p, 1.0, H, p);
    }
    *loss = f0;
    return HR_OK;
}

static hr_status step(void *data, const double *delta, char *err, size_t errlen)
{
    (void)err, (void)errlen;
    cpu_data *f = data;
    const int p = f->d + 1;
    const size_t m = f->m, bs = f->bs;
    for (size_t i0 = 0; i0 < m; i0 += bs) {
        size_t nb = m - i0 < bs ? m - i0 : bs;
        load_block(f, i0, nb, f->blk);
        cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)nb, p, 1.0, f->blk, p, delta, 1, 0.0,
                    f->dz + i0, 1);
    }
    return HR_OK;
}

static hr_status line_sum(void *data, double t, int slope, double *out, char *err, size_t errlen)
{
    (void)err, (void)errlen;
    const cpu_data *f = data;
    const double *z = f->z, *dz = f->dz;
    double acc = 0;
    for (size_t i = 0; i < f->m; i++) {
        size_t r = row_of(f, i);
        double s = f->sw ? f->sw[r] : 1.0;
        if (s == 0)
            continue;
        if (slope) {
            acc += s * (sigmoid(z[i] + t * dz[i]) - (double)f->y[r]) * dz[i];
        } else {
            double zi = z[i] + t * dz[i];
            acc += s * softplus(f->y[r] ? -zi : zi);
        }
    }
    *out = acc;
    return HR_OK;
}

static void layout(const void *data, hr_probe_layout *out)
{
    const cpu_data *f = data;
    out->resident = 1;
    out->chunk_rows = f ? f->bs : 0;
}

const hr_probe_backend hr_probe_backend_cpu = {
    .auto_min_work = 0,
    .auto_lbfgs_min_rows = HR_PROBE_LBFGS_MIN_ROWS,
    .data_create = data_create,
    .data_destroy = data_destroy,
    .gradient = gradient,
    .step = step,
    .line_sum = line_sum,
    .layout = layout,
};
