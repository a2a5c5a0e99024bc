/* host/backends/cuda/scorer_cuda_stub.c: the CUDA scorer's entry points in a build without
 * the CUDA toolkit (kernels/scorer.cu has the real ones). */
#include "backends/cuda/scorer_cuda.h"
#include "core/util.h"

#ifndef HR_HAVE_CUDA

hr_status hr_scorer_cuda_create(const float *xa, size_t n_a, const float *xb, size_t n_b, int dim,
                                size_t memory_bytes, hr_scorer_cuda **out, char *err,
                                size_t errlen)
{
    (void)xa, (void)n_a, (void)xb, (void)n_b, (void)dim, (void)memory_bytes;
    if (out) *out = NULL;
    return hr_fail(HR_ERR_UNSUPPORTED, err, errlen,
                   "this hyporank was built without the CUDA toolkit");
}

void hr_scorer_cuda_destroy(hr_scorer_cuda *s)
{
    (void)s;
}

hr_status hr_scorer_cuda_score(hr_scorer_cuda *s, const float *h, size_t k,
                               hr_hypothesis_score *out, char *err, size_t errlen)
{
    (void)s, (void)h, (void)k, (void)out;
    return hr_fail(HR_ERR_UNSUPPORTED, err, errlen,
                   "this hyporank was built without the CUDA toolkit");
}

hr_status hr_scorer_cuda_score_contrast(hr_scorer_cuda *s, const float *h, size_t k,
                                        double temperature, hr_hypothesis_score *out, char *err,
                                        size_t errlen)
{
    (void)s, (void)h, (void)k, (void)temperature, (void)out;
    return hr_fail(HR_ERR_UNSUPPORTED, err, errlen,
                   "this hyporank was built without the CUDA toolkit");
}

void hr_scorer_cuda_info(const hr_scorer_cuda *s, hr_scorer_cuda_layout *out)
{
    (void)s;
    if (out) *out = (hr_scorer_cuda_layout){0, 0, 0, 0};
}

double hr_scorer_cuda_last_ms(const hr_scorer_cuda *s)
{
    (void)s;
    return -1.0;
}

#else
typedef int hr_scorer_cuda_stub_unused; /* ISO C forbids an empty translation unit */
#endif
