/* host/backends/cuda/probe_cuda_stub.c: the CUDA probe's entry points in a build without
 * the CUDA toolkit (kernels/probe.cu has the real ones; hr_probe_from_coef,
 * in host/scoring/probe.c, exists in every build). */
#include "backends/cuda/probe_cuda.h"
#include "core/util.h"

#ifndef HR_HAVE_CUDA

static hr_status unsupported(char *err, size_t errlen)
{
    return hr_fail(HR_ERR_UNSUPPORTED, err, errlen,
                   "this hyporank was built without the CUDA toolkit");
}

hr_status hr_probe_fit_cuda(const float *X, size_t n, int d, const uint8_t *y,
                            const double *weights, const hr_probe_options *opt, hr_probe **out,
                            char *err, size_t errlen)
{
    (void)X, (void)n, (void)d, (void)y, (void)weights, (void)opt;
    if (out) *out = NULL;
    return unsupported(err, errlen);
}

hr_status hr_probe_cuda_data_create(const float *X, size_t n, int d, const uint8_t *y,
                                    const double *weights, size_t memory_bytes,
                                    hr_probe_cuda_data **out, char *err, size_t errlen)
{
    (void)X, (void)n, (void)d, (void)y, (void)weights, (void)memory_bytes;
    if (out) *out = NULL;
    return unsupported(err, errlen);
}

void hr_probe_cuda_data_destroy(hr_probe_cuda_data *g)
{
    (void)g;
}

hr_status hr_probe_cuda_data_fit(hr_probe_cuda_data *g, const hr_probe_options *opt,
                                 hr_probe **out, char *err, size_t errlen)
{
    (void)g, (void)opt;
    if (out) *out = NULL;
    return unsupported(err, errlen);
}

void hr_probe_cuda_data_info(const hr_probe_cuda_data *g, hr_probe_cuda_layout *out)
{
    (void)g;
    if (out) *out = (hr_probe_cuda_layout){0, 0};
}

#else
typedef int hr_probe_cuda_stub_unused; /* ISO C forbids an empty translation unit */
#endif
