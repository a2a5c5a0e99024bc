/*
 * kernels/probe.cu: the probe's passes over the rows on the GPU
 * (host/backends/cuda/probe_cuda.h states the method, precision, memory plan
 * and errors). The Newton loop that calls them is host/scoring/probe.c's,
 * the same loop the CPU's passes (host/backends/cpu/probe_cpu.c, the
 * specification) serve.
 *
 * Passes (p = d + 1 unknowns, theta = (w, b)):
 *   gradient at theta, for each chunk of rows (resident: a view of X;
 *          streamed: copied from the host into the staging buffer first):
 *            widen_kernel          block (nb, p) double = (x, 1) of each row
 *            cublasDgemv (T)       z = block theta
 *            residual_kernel       r = s (mu - y), c = sqrt(s mu (1 - mu))
 *            cublasDgemv (N)       g += block^T r
 *            scale_rows_kernel     block rows *= c
 *            cublasDsyrk           H += block^T block (upper triangle)
 *          then line_sum_kernel for the loss from z; g, H and the partial
 *          sums come back to the host;
 *   step   for each chunk: widen_kernel, cublasDgemv (T): dz = block delta;
 *   line sums: line_sum_kernel at each t tried (the loss or its slope along
 *          the line from z and dz).
 *
 * cuBLAS is column-major: a row-major (nb, p) block is column-major (p, nb)
 * with leading dimension p; H is column-major (p, p), upper triangle, which
 * is the lower triangle of the row-major array: the gradient pass transposes
 * it into the row-major upper triangle the Newton loop factors.
 *
 *   nonfinite_rows_kernel  twin of the feature loop of check_data (host/scoring/probe.c)
 *   widen_kernel           twin of load_block (host/backends/cpu/probe_cpu.c)
 *   residual_kernel        twin of the two per-row loops of gradient()
 *                          (vb[j] = s (mu - y), sc = sqrt(s mu (1 - mu)))
 *   scale_rows_kernel      twin of the cblas_dscal of each row in gradient()
 *   line_sum_kernel        twin of line_sum()'s loops over the rows, and of
 *                          gradient()'s loss sum (dz NULL)
 */
#include "backends/cuda/probe_cuda.h"
#include "backends/cuda/cuda.h"
#include "cuda_check.cuh"

#include <cublas_v2.h>

#include <assert.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 256                            /* every kernel's block */
#define RED_BLOCKS_MAX 1024                    /* blocks of a row reduction */
#define ELEM_BLOCKS_MAX 8192                   /* element-wise kernels: grid-stride beyond */
#define BLOCK_BYTES_MAX ((size_t)256 << 20)    /* the double block, at most */

static_assert(THREADS % 32 == 0 && THREADS <= 1024, "whole warps");

struct hr_probe_cuda_data {
    const float *X;   /* (n, d) row-major float32 on the host, borrowed */
    size_t n;         /* rows */
    int d, p;         /* features; p = d + 1 unknowns */
    int resident;     /* 1: d_x holds all of X */
    size_t chunk;     /* rows per double block (and per streamed chunk) */
    int red_blocks;   /* blocks of every row reduction: fixed, so the order is */
    cudaStream_t stream;
    cublasHandle_t blas;
    float *d_x;       /* resident: (n, d) row-major; streamed: (chunk, d) staging */
    double *d_blk;    /* (chunk, p) row-major = column-major (p, chunk), ld p */
    double *d_r;      /* (chunk) residuals s (mu - y) of the block's rows */
    double *d_c;      /* (chunk) row scales sqrt(s mu (1 - mu)) */
    uint8_t *d_y;     /* (n) labels 0 / 1 */
    double *d_s;      /* (n) sample weights, or NULL: all 1 */
    double *d_z;      /* (n) margins at theta */
    double *d_dz;     /* (n) X~ delta */
    double *d_H;      /* (p, p) column-major; the upper triangle is accumulated */
    double *d_g;      /* (p) gradient of the loss part */
    double *d_theta;  /* (p) */
    double *d_delta;  /* (p) */
    double *d_part;   /* (red_blocks) partial sums, one per block */
    int *d_bad;       /* (1) first row with a non-finite feature, INT_MAX if none */
    double *h_part;   /* (red_blocks) host copy of d_part */
    double *h_H;      /* (p, p) host copy of d_H, column-major */
};

/* ------------------------------------------------------------------------ */
/* Numerics (device twins of probe_cpu.c's softplus and sigmoid)             */

/* log(1 + exp(v)) without overflow or loss for large |v|. */
__device__ __forceinline__ static double softplus_d(double v)
{
    return v > 0 ? v + log1p(exp(-v)) : log1p(exp(v));
}

__device__ __forceinline__ static double sigmoid_d(double z)
{
    if (z >= 0) return 1.0 / (1.0 + exp(-z));
    const double e = exp(z);
    return e / (1.0 + e);
}

/* Sum of v over the block (THREADS threads, all must call); the result is
 * valid in thread 0. Fixed order: the same inputs give the same bits. */
__device__ static double block_sum_d(double v)
{
    __shared__ double warp_sums[THREADS / 32];
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    if (lane == 0) warp_sums[warp] = v;
    __syncthreads();
    double total = 0.0;
    if (threadIdx.x == 0)
        for (int w = 0; w < THREADS / 32; w++) total += warp_sums[w];
    return total;
}

/* ------------------------------------------------------------------------ */
/* Kernels                                                                   */

/* x: (rows, d) row-major, rows row0.. of X. *bad = the smallest row0 + j of
 * a row with a NaN or infinite feature (|v| <= FLT_MAX fails for both).
 * Twin of the feature loop of check_data (host/scoring/probe.c). */
__global__ static void nonfinite_rows_kernel(const float *__restrict__ x, size_t rows, int d,
                                             int row0, int *bad)
{
    const size_t total = rows * (size_t)d;
    for (size_t e = (size_t)blockIdx.x * blockDim.x + threadIdx.x; e < total;
         e += (size_t)gridDim.x * blockDim.x)
        if (!(fabsf(x[e]) <= FLT_MAX)) atomicMin(bad, row0 + (int)(e / (size_t)d));
}

/* x: (rows, d) row-major float32 -> blk: (rows, p) row-major double,
 * blk[j][k] = x[j][k] (exact), blk[j][d] = 1. Twin of load_block
 * (host/backends/cpu/probe_cpu.c). */
__global__ static void widen_kernel(const float *__restrict__ x, size_t rows, int d,
                                    double *__restrict__ blk)
{
    const size_t p = (size_t)d + 1, total = rows * p;
    for (size_t e = (size_t)blockIdx.x * blockDim.x + threadIdx.x; e < total;
         e += (size_t)gridDim.x * blockDim.x) {
        const size_t j = e / p, k = e % p;
        blk[e] = k < (size_t)d ? (double)x[j * (size_t)d + k] : 1.0;
    }
}

/* z, y, s: (rows) margins, labels and weights (s NULL: all 1) of the block's
 * rows; r, c: (rows) out. Twin of the per-row loops of gradient()
 * (host/backends/cpu/probe_cpu.c): vb[j] = s (mu - y) and sc = sqrt(s mu (1 - mu)). */
__global__ static void residual_kernel(const double *__restrict__ z, const uint8_t *__restrict__ y,
                                       const double *__restrict__ s, size_t rows,
                                       double *__restrict__ r, double *__restrict__ c)
{
    for (size_t j = (size_t)blockIdx.x * blockDim.x + threadIdx.x; j < rows;
         j += (size_t)gridDim.x * blockDim.x) {
        const double sw = s ? s[j] : 1.0;
        const double mu = sigmoid_d(z[j]);
        r[j] = sw * (mu - (double)y[j]);
        c[j] = sqrt(sw * mu * (1.0 - mu));
    }
}

/* blk: (rows, p) row-major; row j *= c[j]. Twin of the cblas_dscal of each
 * block row in gradient() (host/backends/cpu/probe_cpu.c). */
__global__ static void scale_rows_kernel(double *__restrict__ blk, size_t rows, int p,
                                         const double *__restrict__ c)
{
    const size_t total = rows * (size_t)p;
    for (size_t e = (size_t)blockIdx.x * blockDim.x + threadIdx.x; e < total;
         e += (size_t)gridDim.x * blockDim.x)
        blk[e] *= c[e / (size_t)p];
}

/* Over the n rows, with zi = z[i] + t dz[i] (dz NULL: zi = z[i]) and the
 * rows of weight 0 skipped, part[blockIdx.x] = this block's share of
 *   slope 0:  sum_i s_i softplus(y_i ? -zi : zi)          (the loss)
 *   slope 1:  sum_i s_i (sigmoid(zi) - y_i) dz[i]          (its derivative in t)
 * Every block writes its entry (0 when it has no rows). z, dz, y, s: (n).
 * Twin of the row loops of line_sum (host/backends/cpu/probe_cpu.c), and of
 * gradient()'s loss sum (dz NULL). */
__global__ static void __launch_bounds__(THREADS)
line_sum_kernel(const double *__restrict__ z, const double *__restrict__ dz, double t,
                const uint8_t *__restrict__ y, const double *__restrict__ s, size_t n, int slope,
                double *__restrict__ part)
{
    double acc = 0.0;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        const double sw = s ? s[i] : 1.0;
        if (sw == 0) continue;
        const double zi = dz ? z[i] + t * dz[i] : z[i];
        if (slope)
            acc += sw * (sigmoid_d(zi) - (double)y[i]) * dz[i];
        else
            acc += sw * softplus_d(y[i] ? -zi : zi);
    }
    const double total = block_sum_d(acc);
    if (threadIdx.x == 0) part[blockIdx.x] = total;
}

/* ------------------------------------------------------------------------ */
/* Launchers                                                                 */

static unsigned elem_blocks(size_t total)
{
    size_t b = (total + THREADS - 1) / THREADS;
    if (b > ELEM_BLOCKS_MAX) b = ELEM_BLOCKS_MAX; /* grid-stride beyond */
    return (unsigned)(b > 0 ? b : 1);
}

static cudaError_t launch_nonfinite(const float *x, size_t rows, int d, int row0, int *bad,
                                    cudaStream_t st)
{
    assert(x && bad && rows > 0 && d > 0 && row0 >= 0);
    assert(row0 + rows - 1 <= (size_t)INT_MAX);
    nonfinite_rows_kernel<<<elem_blocks(rows * (size_t)d), THREADS, 0, st>>>(x, rows, d, row0,
                                                                             bad);
    return cudaGetLastError();
}

static cudaError_t launch_widen(const float *x, size_t rows, int d, double *blk, cudaStream_t st)
{
    assert(x && blk && rows > 0 && d > 0);
    widen_kernel<<<elem_blocks(rows * ((size_t)d + 1)), THREADS, 0, st>>>(x, rows, d, blk);
    return cudaGetLastError();
}

static cudaError_t launch_residual(const double *z, const uint8_t *y, const double *s, size_t rows,
                                   double *r, double *c, cudaStream_t st)
{
    assert(z && y && r && c && rows > 0);
    residual_kernel<<<elem_blocks(rows), THREADS, 0, st>>>(z, y, s, rows, r, c);
    return cudaGetLastError();
}

static cudaError_t launch_scale_rows(double *blk, size_t rows, int p, const double *c,
                                     cudaStream_t st)
{
    assert(blk && c && rows > 0 && p > 1);
    scale_rows_kernel<<<elem_blocks(rows * (size_t)p), THREADS, 0, st>>>(blk, rows, p, c);
    return cudaGetLastError();
}

static cudaError_t launch_line_sum(const double *z, const double *dz, double t, const uint8_t *y,
                                   const double *s, size_t n, int slope, double *part,
                                   int blocks, cudaStream_t st)
{
    assert(z && y && part && n > 0 && blocks >= 1 && blocks <= RED_BLOCKS_MAX);
    assert(!slope || dz);
    line_sum_kernel<<<(unsigned)blocks, THREADS, 0, st>>>(z, dz, t, y, s, n, slope, part);
    return cudaGetLastError();
}

/* ------------------------------------------------------------------------ */
/* Checks: the same conditions, order and messages as check_data in          */
/* host/scoring/probe.c, with the features checked on the GPU                */

/* The message for the first non-finite feature of row i (which has one). */
static hr_status feature_error(const float *X, size_t i, int d, char *err, size_t errlen)
{
    const float *x = X + i * (size_t)d;
    int k = 0;
    while (k < d - 1 && isfinite(x[k])) k++;
    return hr_fail(HR_ERR_INPUT, err, errlen, "probe: row %zu, feature %d is not a finite number",
                   i, k);
}

/* First part of check_data, on the host: the arguments, then each row's
 * label and weight; at the first bad row, the features of the rows before it
 * (on the host: the CPU would have reported one of those first). With every
 * label and weight good, returns HR_OK with the class weights in wsum: the
 * features are checked on the GPU, then the class weights (second_checks). */
static hr_status first_checks(const float *X, size_t n, int d, const uint8_t *y,
                              const double *weights, double wsum[2], char *err, size_t errlen)
{
    if (!X || !y)
        return hr_fail(HR_ERR_INPUT, err, errlen, "probe: no data (X or y is NULL)");
    if (n == 0)
        return hr_fail(HR_ERR_INPUT, err, errlen, "probe: no rows");
    if (d < 1)
        return hr_fail(HR_ERR_INPUT, err, errlen, "probe: %d features (need at least 1)", d);
    if (n > (size_t)0x7fffffff)
        return hr_fail(HR_ERR_INPUT, err, errlen, "probe: %zu rows (at most 2^31 - 1)", n);
    wsum[0] = wsum[1] = 0;
    for (size_t i = 0; i < n; i++) {
        const double s = weights ? weights[i] : 1.0;
        if (y[i] <= 1 && s >= 0 && isfinite(s)) {
            wsum[y[i]] += s;
            continue;
        }
        for (size_t r = 0; r < i; r++) { /* a bad feature in an earlier row comes first */
            const float *x = X + r * (size_t)d;
            for (int k = 0; k < d; k++)
                if (!isfinite(x[k])) return feature_error(X, r, d, err, errlen);
        }
        if (y[i] > 1)
            return hr_fail(HR_ERR_INPUT, err, errlen, "probe: row %zu: label %u (must be 0 or 1)",
                           i, (unsigned)y[i]);
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "probe: row %zu: weight %g (must be finite and >= 0)", i, s);
    }
    return HR_OK;
}

/* The rest of check_data, once the GPU has found bad_row (INT_MAX: none). */
static hr_status second_checks(const float *X, int d, int bad_row, const double wsum[2],
                               char *err, size_t errlen)
{
    if (bad_row != INT_MAX) return feature_error(X, (size_t)bad_row, d, err, errlen);
    if (!(wsum[0] > 0) || !(wsum[1] > 0))
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "probe: both classes need rows with positive weight (class 0: %g, "
                       "class 1: %g)", wsum[0], wsum[1]);
    return HR_OK;
}

/* ------------------------------------------------------------------------ */
/* Passes over the rows                                                      */

/* Rows i0 .. i0 + nb - 1 of X on the device: *xc points at them, (nb, d)
 * row-major (resident: inside d_x; streamed: copied into the staging
 * buffer, in stream order after everything that read it before). */
static hr_status rows_on_device(hr_probe_cuda_data *g, size_t i0, size_t nb, const float **xc,
                                char *err, size_t errlen)
{
    hr_status st = HR_OK;
    assert(nb >= 1 && nb <= g->chunk && i0 + nb <= g->n);
    if (g->resident) {
        *xc = g->d_x + i0 * (size_t)g->d;
        return HR_OK;
    }
    HR_CUDA_TRY(cudaMemcpyAsync(g->d_x, g->X + i0 * (size_t)g->d, nb * (size_t)g->d * sizeof(float),
                                cudaMemcpyHostToDevice, g->stream));
    *xc = g->d_x;
cleanup:
    return st;
}

/* Pass 1 at theta (host, (p)): d_z = X~ theta, d_g = X~^T (s (mu - y)),
 * and with_hessian: d_H = upper triangle of X~^T diag(s mu (1 - mu)) X~
 * (column-major). Queued on the stream; nothing is waited for. */
static hr_status pass_gradient(hr_probe_cuda_data *g, const double *theta, int with_hessian,
                               char *err, size_t errlen)
{
    hr_status st = HR_OK;
    const int d = g->d, p = g->p;
    const double one = 1.0, zero = 0.0;
    const float *xc = NULL;
    HR_CUDA_TRY(cudaMemcpyAsync(g->d_theta, theta, (size_t)p * sizeof(double),
                                cudaMemcpyHostToDevice, g->stream));
    HR_CUDA_TRY(cudaMemsetAsync(g->d_g, 0, (size_t)p * sizeof(double), g->stream));
    if (with_hessian)
        HR_CUDA_TRY(cudaMemsetAsync(g->d_H, 0, (size_t)p * p * sizeof(double), g->stream));
    for (size_t i0 = 0; i0 < g->n; i0 += g->chunk) {
        const size_t nb = g->n - i0 < g->chunk ? g->n - i0 : g->chunk;
        if ((st = rows_on_device(g, i0, nb, &xc, err, errlen)) != HR_OK) return st;
        HR_CUDA_TRY(launch_widen(xc, nb, d, g->d_blk, g->stream));
        /* z (nb) = blk (nb, p) theta: the column-major (p, nb) block, transposed */
        HR_CUBLAS_TRY(cublasDgemv(g->blas, CUBLAS_OP_T, p, (int)nb, &one, g->d_blk, p,
                                  g->d_theta, 1, &zero, g->d_z + i0, 1));
        HR_CUDA_TRY(launch_residual(g->d_z + i0, g->d_y + i0, g->d_s ? g->d_s + i0 : NULL, nb,
                                    g->d_r, g->d_c, g->stream));
        /* g (p) += blk^T r: the column-major (p, nb) block times r (nb) */
        HR_CUBLAS_TRY(cublasDgemv(g->blas, CUBLAS_OP_N, p, (int)nb, &one, g->d_blk, p, g->d_r, 1,
                                  &one, g->d_g, 1));
        if (!with_hessian) continue;
        HR_CUDA_TRY(launch_scale_rows(g->d_blk, nb, p, g->d_c, g->stream));
        /* H (p, p) += A A^T, A = the scaled block as column-major (p, nb) */
        HR_CUBLAS_TRY(cublasDsyrk(g->blas, CUBLAS_FILL_MODE_UPPER, CUBLAS_OP_N, p, (int)nb, &one,
                                  g->d_blk, p, &one, g->d_H, p));
    }
cleanup:
    return st;
}

/* Pass 2: d_dz = X~ delta (host, (p)). Queued on the stream. */
static hr_status pass_step(hr_probe_cuda_data *g, const double *delta, char *err, size_t errlen)
{
    hr_status st = HR_OK;
    const int d = g->d, p = g->p;
    const double one = 1.0, zero = 0.0;
    const float *xc = NULL;
    HR_CUDA_TRY(cudaMemcpyAsync(g->d_delta, delta, (size_t)p * sizeof(double),
                                cudaMemcpyHostToDevice, g->stream));
    for (size_t i0 = 0; i0 < g->n; i0 += g->chunk) {
        const size_t nb = g->n - i0 < g->chunk ? g->n - i0 : g->chunk;
        if ((st = rows_on_device(g, i0, nb, &xc, err, errlen)) != HR_OK) return st;
        HR_CUDA_TRY(launch_widen(xc, nb, d, g->d_blk, g->stream));
        HR_CUBLAS_TRY(cublasDgemv(g->blas, CUBLAS_OP_T, p, (int)nb, &one, g->d_blk, p,
                                  g->d_delta, 1, &zero, g->d_dz + i0, 1));
    }
cleanup:
    return st;
}

/* Queues line_sum_kernel and the copy of its partial sums into h_part. */
static hr_status queue_row_sum(hr_probe_cuda_data *g, const double *dz, double t, int slope,
                               char *err, size_t errlen)
{
    hr_status st = HR_OK;
    HR_CUDA_TRY(launch_line_sum(g->d_z, dz, t, g->d_y, g->d_s, g->n, slope, g->d_part,
                                g->red_blocks, g->stream));
    HR_CUDA_TRY(cudaMemcpyAsync(g->h_part, g->d_part, (size_t)g->red_blocks * sizeof(double),
                                cudaMemcpyDeviceToHost, g->stream));
cleanup:
    return st;
}

/* The partial sums in h_part added in block order (call after a sync). */
static double sum_parts(const hr_probe_cuda_data *g)
{
    double s = 0;
    for (int b = 0; b < g->red_blocks; b++) s += g->h_part[b];
    return s;
}

/* The loss (slope 0) or its slope (1) along the line, summed: what
 * host/backends/cpu/probe_cpu.c's line_sum computes. */
extern "C" hr_status hr_probe_cuda_line_sum(hr_probe_cuda_data *g, double t, int slope,
                                            double *out, char *err, size_t errlen)
{
    hr_status st = HR_OK;
    if ((st = queue_row_sum(g, g->d_dz, t, slope, err, errlen)) != HR_OK) return st;
    HR_CUDA_TRY(cudaStreamSynchronize(g->stream));
    *out = sum_parts(g);
cleanup:
    return st;
}

/* Pass 1 at theta: the loss, g (p) and H (p, p) row-major upper triangle
 * (H NULL: the loss and g only), on the host. */
extern "C" hr_status hr_probe_cuda_gradient(hr_probe_cuda_data *g, const double *theta,
                                            double *loss, double *gr, double *H, char *err,
                                            size_t errlen)
{
    hr_status st = HR_OK;
    const int p = g->p;
    if ((st = pass_gradient(g, theta, H != NULL, err, errlen)) != HR_OK) return st;
    if ((st = queue_row_sum(g, NULL, 0.0, 0, err, errlen)) != HR_OK) return st;
    HR_CUDA_TRY(cudaMemcpyAsync(gr, g->d_g, (size_t)p * sizeof *gr, cudaMemcpyDeviceToHost,
                                g->stream));
    if (H)
        HR_CUDA_TRY(cudaMemcpyAsync(g->h_H, g->d_H, (size_t)p * p * sizeof *H,
                                    cudaMemcpyDeviceToHost, g->stream));
    HR_CUDA_TRY(cudaStreamSynchronize(g->stream));
    *loss = sum_parts(g);
    /* column-major upper (row j <= column i at j + i p) -> row-major upper */
    for (int j = 0; H && j < p; j++)
        for (int i = j; i < p; i++) H[(size_t)j * p + i] = g->h_H[(size_t)j + (size_t)i * p];
cleanup:
    return st;
}

/* Pass 2: dz = X~ delta, queued (the next line sum waits for it). */
extern "C" hr_status hr_probe_cuda_step(hr_probe_cuda_data *g, const double *delta, char *err,
                                        size_t errlen)
{
    return pass_step(g, delta, err, errlen);
}

/* ------------------------------------------------------------------------ */
/* Public entry points                                                       */

extern "C" void hr_probe_cuda_data_destroy(hr_probe_cuda_data *g)
{
    if (!g) return;
    if (g->stream) cudaStreamSynchronize(g->stream);
    if (g->blas) cublasDestroy(g->blas);
    cudaFree(g->d_x);
    cudaFree(g->d_blk);
    cudaFree(g->d_r);
    cudaFree(g->d_c);
    cudaFree(g->d_y);
    cudaFree(g->d_s);
    cudaFree(g->d_z);
    cudaFree(g->d_dz);
    cudaFree(g->d_H);
    cudaFree(g->d_g);
    cudaFree(g->d_theta);
    cudaFree(g->d_delta);
    cudaFree(g->d_part);
    cudaFree(g->d_bad);
    if (g->stream) cudaStreamDestroy(g->stream);
    free(g->h_part);
    free(g->h_H);
    free(g);
}

extern "C" hr_status hr_probe_cuda_data_create(const float *X, size_t n, int d, const uint8_t *y,
                                               const double *weights, size_t memory_bytes,
                                               hr_probe_cuda_data **out, char *err,
                                               size_t errlen)
{
    hr_status st = HR_OK;
    hr_probe_cuda_data *g = NULL;
    const char *why = NULL;
    double wsum[2] = {0, 0};
    size_t free_b = 0, total_b = 0, budget = 0, fixed = 0, rest = 0, row_blk = 0, blk_bytes = 0;
    size_t x_bytes = 0, p = 0;
    const int no_bad = INT_MAX;
    int bad = INT_MAX;
    if (!out) return hr_fail(HR_ERR_INPUT, err, errlen, "probe: no output pointer");
    *out = NULL;
    if ((st = first_checks(X, n, d, y, weights, wsum, err, errlen)) != HR_OK) return st;
    if (hr_cuda_device_count(&why) == 0)
        return hr_fail(HR_ERR_NO_DEVICE, err, errlen, "no usable CUDA device: %s",
                       why ? why : "none found");
    p = (size_t)d + 1;

    g = (hr_probe_cuda_data *)calloc(1, sizeof *g);
    if (!g) return hr_fail(HR_ERR_NOMEM, err, errlen, "probe: out of memory");
    g->X = X, g->n = n, g->d = d, g->p = (int)p;
    {
        size_t rb = (n + THREADS - 1) / THREADS;
        g->red_blocks = (int)(rb < RED_BLOCKS_MAX ? rb : RED_BLOCKS_MAX);
    }

    /* The plan (host/backends/cuda/probe_cuda.h, "Memory"). */
    HR_CUDA_TRY(cudaMemGetInfo(&free_b, &total_b));
    budget = memory_bytes ? memory_bytes : free_b / 10 * 8;
    if ((double)p * (double)p * sizeof(double) > (double)budget / 2) {
        st = hr_fail(HR_ERR_UNSUPPORTED, err, errlen,
                     "probe: %d features: the (d + 1)^2 Hessian does not fit a GPU memory "
                     "budget of %zu bytes", d, budget);
        goto cleanup;
    }
    fixed = n * (2 * sizeof(double) + sizeof(uint8_t) + (weights ? sizeof(double) : 0)) +
            p * p * sizeof(double) + 4 * p * sizeof(double) + RED_BLOCKS_MAX * sizeof(double) +
            sizeof(int);
    row_blk = p * sizeof(double) + 2 * sizeof(double); /* a block row, its r and c */
    if (fixed >= budget || (budget - fixed) / 4 < row_blk) {
        st = hr_fail(HR_ERR_UNSUPPORTED, err, errlen,
                     "probe: a GPU memory budget of %zu bytes cannot hold the per-row arrays "
                     "(%zu bytes) and one row of each buffer", budget, fixed);
        goto cleanup;
    }
    rest = budget - fixed;
    blk_bytes = rest / 4 < BLOCK_BYTES_MAX ? rest / 4 : BLOCK_BYTES_MAX;
    g->chunk = blk_bytes / row_blk;
    if (g->chunk < 1) g->chunk = 1;
    if (g->chunk > n) g->chunk = n;
    x_bytes = n * (size_t)d * sizeof(float);
    g->resident = x_bytes <= rest - g->chunk * row_blk;

    HR_CUDA_TRY(cudaStreamCreateWithFlags(&g->stream, cudaStreamNonBlocking));
    HR_CUBLAS_TRY(cublasCreate(&g->blas));
    HR_CUBLAS_TRY(cublasSetStream(g->blas, g->stream));
    /* FP64 as prescribed: no emulation (CUBLAS_FP64_EMULATED_FIXEDPOINT_MATH
     * is opt-in; this states the default) */
    HR_CUBLAS_TRY(cublasSetMathMode(g->blas, CUBLAS_DEFAULT_MATH));

    HR_CUDA_TRY(cudaMalloc(&g->d_x, g->resident ? x_bytes : g->chunk * (size_t)d * sizeof(float)));
    HR_CUDA_TRY(cudaMalloc(&g->d_blk, g->chunk * p * sizeof(double)));
    HR_CUDA_TRY(cudaMalloc(&g->d_r, g->chunk * sizeof(double)));
    HR_CUDA_TRY(cudaMalloc(&g->d_c, g->chunk * sizeof(double)));
    HR_CUDA_TRY(cudaMalloc(&g->d_y, n * sizeof(uint8_t)));
    if (weights) HR_CUDA_TRY(cudaMalloc(&g->d_s, n * sizeof(double)));
    HR_CUDA_TRY(cudaMalloc(&g->d_z, n * sizeof(double)));
    HR_CUDA_TRY(cudaMalloc(&g->d_dz, n * sizeof(double)));
    HR_CUDA_TRY(cudaMalloc(&g->d_H, p * p * sizeof(double)));
    HR_CUDA_TRY(cudaMalloc(&g->d_g, p * sizeof(double)));
    HR_CUDA_TRY(cudaMalloc(&g->d_theta, p * sizeof(double)));
    HR_CUDA_TRY(cudaMalloc(&g->d_delta, p * sizeof(double)));
    HR_CUDA_TRY(cudaMalloc(&g->d_part, RED_BLOCKS_MAX * sizeof(double)));
    HR_CUDA_TRY(cudaMalloc(&g->d_bad, sizeof(int)));
    g->h_part = (double *)calloc(RED_BLOCKS_MAX, sizeof(double));
    g->h_H = (double *)calloc(p * p, sizeof(double));
    if (!g->h_part || !g->h_H) {
        st = hr_fail(HR_ERR_NOMEM, err, errlen, "probe: out of memory");
        goto cleanup;
    }
    /* nothing is ever read uninitialised, even after a failed pass */
    HR_CUDA_TRY(cudaMemsetAsync(g->d_z, 0, n * sizeof(double), g->stream));
    HR_CUDA_TRY(cudaMemsetAsync(g->d_dz, 0, n * sizeof(double), g->stream));
    HR_CUDA_TRY(cudaMemsetAsync(g->d_part, 0, RED_BLOCKS_MAX * sizeof(double), g->stream));
    HR_CUDA_TRY(cudaMemcpyAsync(g->d_bad, &no_bad, sizeof(int), cudaMemcpyHostToDevice,
                                g->stream));
    HR_CUDA_TRY(cudaMemcpyAsync(g->d_y, y, n * sizeof(uint8_t), cudaMemcpyHostToDevice,
                                g->stream));
    if (weights)
        HR_CUDA_TRY(cudaMemcpyAsync(g->d_s, weights, n * sizeof(double), cudaMemcpyHostToDevice,
                                    g->stream));

    /* X: uploaded (resident) or passed through the staging buffer once
     * (streamed), and checked for non-finite features either way */
    for (size_t i0 = 0; i0 < n; i0 += g->chunk) {
        const size_t nb = n - i0 < g->chunk ? n - i0 : g->chunk;
        float *dst = g->resident ? g->d_x + i0 * (size_t)d : g->d_x;
        HR_CUDA_TRY(cudaMemcpyAsync(dst, X + i0 * (size_t)d, nb * (size_t)d * sizeof(float),
                                    cudaMemcpyHostToDevice, g->stream));
        HR_CUDA_TRY(launch_nonfinite(dst, nb, d, (int)i0, g->d_bad, g->stream));
    }
    HR_CUDA_TRY(cudaMemcpyAsync(&bad, g->d_bad, sizeof(int), cudaMemcpyDeviceToHost, g->stream));
    HR_CUDA_TRY(cudaStreamSynchronize(g->stream));
    if ((st = second_checks(X, d, bad, wsum, err, errlen)) != HR_OK) goto cleanup;
    *out = g;
    return HR_OK;
cleanup:
    hr_probe_cuda_data_destroy(g);
    return st;
}

extern "C" void hr_probe_cuda_data_info(const hr_probe_cuda_data *g, hr_probe_cuda_layout *out)
{
    if (!out) return;
    out->resident = g ? g->resident : 0;
    out->chunk_rows = g ? g->chunk : 0;
    out->rows = g ? g->n : 0;
    out->d = g ? g->d : 0;
}
