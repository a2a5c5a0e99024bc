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
 *   step      dz = X~ delta
 *   line_sum  O(m) sums from z and dz: L(theta + t delta) for any t
 *             without reading X again
 */
#include "backends/backend.h"
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

static hr_status gradient(void *data, const double *theta, double *loss, double *g, double *H,
                          char *err, size_t errlen)
{
    (void)err, (void)errlen;
    cpu_data *f = data;
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
    .data_create = data_create,
    .data_destroy = data_destroy,
    .gradient = gradient,
    .step = step,
    .line_sum = line_sum,
    .layout = layout,
};
