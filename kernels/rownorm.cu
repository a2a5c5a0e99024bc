/*
 * kernels/rownorm.cu: row-wise normalisations of a (rows, cols) row-major
 * float32 matrix. One block per row; the block reduces with warp shuffles.
 *
 *   l2_normalize_rows_kernel  twin of hr_cpu_l2_normalize_rows (host/backends/cpu/encoder_cpu.c)
 *   layernorm_rows_kernel     twin of hr_cpu_layernorm_rows    (host/backends/cpu/encoder_cpu.c)
 */
#include "backends/cuda/cuda.h"
#include "block_sum.cuh"
#include "cuda_check.cuh"

#include <assert.h>

#define ROW_THREADS 128

/* x: (rows, cols) row-major, normalised in place to unit L2 norm per row
 * (divided by max(norm, 1e-12), as torch.nn.functional.normalize). */
__global__ static void l2_normalize_rows_kernel(float *x, int rows, int cols)
{
    const int r = blockIdx.x;
    if (r >= rows) return;
    float *v = x + (size_t)r * cols;
    float ss = 0.f;
    for (int c = threadIdx.x; c < cols; c += blockDim.x) ss += v[c] * v[c];
    const float norm = sqrtf(block_sum<ROW_THREADS>(ss));
    const float inv = 1.f / fmaxf(norm, 1e-12f);
    for (int c = threadIdx.x; c < cols; c += blockDim.x) v[c] *= inv;
}

/* x: (rows, cols) row-major; gamma, beta: (cols). Two-pass mean and variance
 * (the variance is biased, as torch.nn.LayerNorm). */
__global__ static void layernorm_rows_kernel(float *x, int rows, int cols, const float *gamma,
                                             const float *beta, float eps)
{
    const int r = blockIdx.x;
    if (r >= rows) return;
    float *v = x + (size_t)r * cols;
    float s = 0.f;
    for (int c = threadIdx.x; c < cols; c += blockDim.x) s += v[c];
    const float mean = block_sum<ROW_THREADS>(s) / (float)cols;
    float ss = 0.f;
    for (int c = threadIdx.x; c < cols; c += blockDim.x) {
        const float d = v[c] - mean;
        ss += d * d;
    }
    const float inv = rsqrtf(block_sum<ROW_THREADS>(ss) / (float)cols + eps);
    for (int c = threadIdx.x; c < cols; c += blockDim.x)
        v[c] = (v[c] - mean) * inv * gamma[c] + beta[c];
}

extern "C" hr_status hr_cuda_l2_normalize_rows_host(float *x, int rows, int cols, char *err,
                                                    size_t errlen)
{
    assert(x && rows >= 0 && cols > 0);
    hr_status st = HR_OK;
    float *d_x = NULL; /* (rows, cols) */
    const size_t bytes = (size_t)rows * cols * sizeof(float);
    if (rows == 0) return HR_OK;
    HR_CUDA_TRY(cudaMalloc(&d_x, bytes));
    HR_CUDA_TRY(cudaMemcpy(d_x, x, bytes, cudaMemcpyHostToDevice));
    l2_normalize_rows_kernel<<<rows, ROW_THREADS>>>(d_x, rows, cols);
    HR_CUDA_TRY(cudaGetLastError());
    HR_CUDA_TRY(cudaMemcpy(x, d_x, bytes, cudaMemcpyDeviceToHost));
cleanup:
    cudaFree(d_x);
    return st;
}

extern "C" hr_status hr_cuda_layernorm_rows_host(float *x, int rows, int cols, const float *gamma,
                                                 const float *beta, float eps, char *err,
                                                 size_t errlen)
{
    assert(x && gamma && beta && rows >= 0 && cols > 0);
    hr_status st = HR_OK;
    float *d_x = NULL, *d_g = NULL, *d_b = NULL; /* (rows, cols), (cols), (cols) */
    const size_t bytes = (size_t)rows * cols * sizeof(float);
    if (rows == 0) return HR_OK;
    HR_CUDA_TRY(cudaMalloc(&d_x, bytes));
    HR_CUDA_TRY(cudaMalloc(&d_g, cols * sizeof(float)));
    HR_CUDA_TRY(cudaMalloc(&d_b, cols * sizeof(float)));
    HR_CUDA_TRY(cudaMemcpy(d_x, x, bytes, cudaMemcpyHostToDevice));
    HR_CUDA_TRY(cudaMemcpy(d_g, gamma, cols * sizeof(float), cudaMemcpyHostToDevice));
    HR_CUDA_TRY(cudaMemcpy(d_b, beta, cols * sizeof(float), cudaMemcpyHostToDevice));
    layernorm_rows_kernel<<<rows, ROW_THREADS>>>(d_x, rows, cols, d_g, d_b, eps);
    HR_CUDA_TRY(cudaGetLastError());
    HR_CUDA_TRY(cudaMemcpy(x, d_x, bytes, cudaMemcpyDeviceToHost));
cleanup:
    cudaFree(d_x);
    cudaFree(d_g);
    cudaFree(d_b);
    return st;
}
