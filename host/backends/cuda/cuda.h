/*
 * host/backends/cuda/cuda.h: the CUDA side as the host code sees it
 * (internal). Compiled only in builds with the CUDA toolkit (HR_HAVE_CUDA);
 * code in every build asks hyporank/device.h whether a GPU is usable.
 *
 * The kernels behind these functions live in kernels/, each beside the name
 * of its CPU twin (host/backends/cpu/encoder_cpu.h), and
 * tests/test_backends.c runs both and compares them.
 */
#ifndef HYPORANK_CUDA_H
#define HYPORANK_CUDA_H

#include "hyporank/status.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Number of usable CUDA devices: 0 without a driver or a GPU. When 0 and
 * why is not NULL, *why says why (static text). */
int hr_cuda_device_count(const char **why);

/* Name and memory of device 0, for messages and reports. */
hr_status hr_cuda_device_info(char *name, size_t namelen, size_t *total_mem, char *err,
                              size_t errlen);

/* Host-memory wrappers that copy x to the GPU, run the kernel and copy the
 * result back: x is (rows, cols) row-major; gamma, beta: (cols). The CUDA
 * backend's hr_encoder_ops, for tests. */
hr_status hr_cuda_l2_normalize_rows_host(float *x, int rows, int cols, char *err, size_t errlen);
hr_status hr_cuda_layernorm_rows_host(float *x, int rows, int cols, const float *gamma,
                                      const float *beta, float eps, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
