/*
 * kernels/cuda_check.cuh: checking every CUDA call and kernel launch.
 *
 *     HR_CUDA_TRY(cudaMalloc(&p, bytes));         // returns HR_ERR_CUDA on failure
 *     my_kernel<<<grid, block>>>(...);
 *     HR_CUDA_TRY(cudaGetLastError());            // after every launch
 *     HR_CUBLAS_TRY(cublasGemmEx(...));           // cuBLAS calls (include cublas_v2.h)
 *
 * HR_CUDA_TRY and HR_CUBLAS_TRY expect `err`, `errlen` in scope and a
 * `cleanup:` label; they set `st` and jump there, so resources are released
 * on every path.
 */
#ifndef HYPORANK_CUDA_CHECK_CUH
#define HYPORANK_CUDA_CHECK_CUH

#include "core/util.h"

#include <cuda_runtime.h>

#define HR_CUDA_TRY(call)                                                              \
    do {                                                                               \
        cudaError_t e_ = (call);                                                       \
        if (e_ != cudaSuccess) {                                                       \
            st = hr_fail(HR_ERR_CUDA, err, errlen, "%s:%d: %s: %s", __FILE__, __LINE__, \
                         #call, cudaGetErrorString(e_));                               \
            goto cleanup;                                                              \
        }                                                                              \
    } while (0)

/* The same for a cuBLAS call (its status has no string). */
#define HR_CUBLAS_TRY(call)                                                                \
    do {                                                                                   \
        cublasStatus_t b_ = (call);                                                        \
        if (b_ != CUBLAS_STATUS_SUCCESS) {                                                 \
            st = hr_fail(HR_ERR_CUDA, err, errlen, "%s:%d: %s: cuBLAS status %d",          \
                         __FILE__, __LINE__, #call, (int)b_);                             \
            goto cleanup;                                                                  \
        }                                                                                  \
    } while (0)

#endif
