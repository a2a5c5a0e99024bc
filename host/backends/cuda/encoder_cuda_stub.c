/* host/backends/cuda/encoder_cuda_stub.c: the CUDA encoder's entry points in a build without
 * the CUDA toolkit (kernels/encoder.cu has the real ones). */
#include "backends/cuda/encoder_cuda.h"
#include "core/util.h"

#ifndef HR_HAVE_CUDA

static hr_status unsupported(char *err, size_t errlen)
{
    return hr_fail(HR_ERR_UNSUPPORTED, err, errlen,
                   "this hyporank was built without the CUDA toolkit");
}

hr_status hr_cuda_encoder_create(const hr_model *m, hr_cuda_encoder **out, char *err,
                                 size_t errlen)
{
    (void)m;
    if (out) *out = NULL;
    return unsupported(err, errlen);
}

void hr_cuda_encoder_destroy(hr_cuda_encoder *enc)
{
    (void)enc;
}

hr_status hr_cuda_encoder_forward(hr_cuda_encoder *enc, const int32_t *ids, const int *offsets,
                                  int n_seq, float *out, char *err, size_t errlen)
{
    (void)enc, (void)ids, (void)offsets, (void)n_seq, (void)out;
    return unsupported(err, errlen);
}

hr_status hr_cuda_encoder_submit(hr_cuda_encoder *enc, int slot, const int32_t *ids,
                                 const int *offsets, int n_seq, char *err, size_t errlen)
{
    (void)enc, (void)slot, (void)ids, (void)offsets, (void)n_seq;
    return unsupported(err, errlen);
}

hr_status hr_cuda_encoder_wait(hr_cuda_encoder *enc, int slot, const float **out, int *n_seq,
                               char *err, size_t errlen)
{
    (void)enc, (void)slot;
    if (out) *out = NULL;
    if (n_seq) *n_seq = 0;
    return unsupported(err, errlen);
}

hr_status hr_cuda_encoder_reserve(hr_cuda_encoder *enc, int tokens, int n_seq, char *err,
                                  size_t errlen)
{
    (void)enc, (void)tokens, (void)n_seq;
    return unsupported(err, errlen);
}

hr_status hr_cuda_embed_layernorm_host(const int32_t *ids, const int *offsets, int n_seq,
                                       const float *word, int vocab, const float *pos, int n_pos,
                                       const float *type0, const float *gamma, const float *beta,
                                       float eps, int h, float *x, char *err, size_t errlen)
{
    (void)ids, (void)offsets, (void)n_seq, (void)word, (void)vocab, (void)pos, (void)n_pos;
    (void)type0, (void)gamma, (void)beta, (void)eps, (void)h, (void)x;
    return unsupported(err, errlen);
}

hr_status hr_cuda_residual_layernorm_host(float *x, const float *y, const float *b, int rows,
                                          int h, const float *gamma, const float *beta, float eps,
                                          char *err, size_t errlen)
{
    (void)x, (void)y, (void)b, (void)rows, (void)h, (void)gamma, (void)beta, (void)eps;
    return unsupported(err, errlen);
}

hr_status hr_cuda_bias_gelu_host(float *y, const float *b, int rows, int cols, char *err,
                                 size_t errlen)
{
    (void)y, (void)b, (void)rows, (void)cols;
    return unsupported(err, errlen);
}

hr_status hr_cuda_attention_host(const float *qkv, const float *qkv_b, const int *offsets,
                                 int n_seq, int h, int heads, float *ctx, char *err,
                                 size_t errlen)
{
    (void)qkv, (void)qkv_b, (void)offsets, (void)n_seq, (void)h, (void)heads, (void)ctx;
    return unsupported(err, errlen);
}

hr_status hr_cuda_mean_pool_host(const float *x, const int *offsets, int n_seq, int h,
                                 int normalize, float *out, char *err, size_t errlen)
{
    (void)x, (void)offsets, (void)n_seq, (void)h, (void)normalize, (void)out;
    return unsupported(err, errlen);
}

#else
typedef int hr_encoder_cuda_stub_unused; /* ISO C forbids an empty translation unit */
#endif
