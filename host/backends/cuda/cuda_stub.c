/* host/backends/cuda/cuda_stub.c: the CUDA entry points in a build without the CUDA
 * toolkit. Each one reports that CUDA is not available. */
#include "backends/cuda/cuda.h"
#include "core/util.h"

#ifndef HR_HAVE_CUDA

int hr_cuda_device_count(const char **why)
{
    if (why) *why = "this hyporank was built without the CUDA toolkit";
    return 0;
}

static hr_status unsupported(char *err, size_t errlen)
{
    return hr_fail(HR_ERR_UNSUPPORTED, err, errlen,
                   "this hyporank was built without the CUDA toolkit");
}

hr_status hr_cuda_device_info(char *name, size_t namelen, size_t *total_mem, char *err,
                              size_t errlen)
{
    (void)name, (void)namelen, (void)total_mem;
    return unsupported(err, errlen);
}

hr_status hr_cuda_l2_normalize_rows_host(float *x, int rows, int cols, char *err, size_t errlen)
{
    (void)x, (void)rows, (void)cols;
    return unsupported(err, errlen);
}

hr_status hr_cuda_layernorm_rows_host(float *x, int rows, int cols, const float *gamma,
                                      const float *beta, float eps, char *err, size_t errlen)
{
    (void)x, (void)rows, (void)cols, (void)gamma, (void)beta, (void)eps;
    return unsupported(err, errlen);
}

#else
typedef int hr_cuda_stub_unused; /* ISO C forbids an empty translation unit */
#endif
