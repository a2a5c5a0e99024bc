/*
 * host/encoder_cuda.h: the CUDA forward pass of a BERT sentence encoder
 * (internal; the public API is hyporank/encoder.h, which will pick this
 * backend for --device cuda / auto). Declared in every build: without the
 * CUDA toolkit host/encoder_cuda_stub.c answers HR_ERR_UNSUPPORTED.
 *
 * STATUS: written and compiled (sm_90) on a machine without a GPU; it has
 * never run. It is not wired into hr_encoder_create yet: run
 * tests/test_encoder_gpu.c (ctest -L gpu) under compute-sanitizer on a GPU
 * first, then wire it (the closing note of issue 4 has the lines).
 *
 *     hr_cuda_encoder *g;
 *     if (hr_cuda_encoder_create(model, &g, err, sizeof err) == HR_OK) {
 *         hr_cuda_encoder_forward(g, ids, offsets, n_seq, out, err, sizeof err);
 *         hr_cuda_encoder_destroy(g);
 *     }
 *
 * What it computes: what hr_cpu_forward (host/encoder_cpu.c, the
 * specification) computes, for one packed batch: embeddings + LayerNorm,
 * n_layers of (fused QKV, self-attention, output projection + residual +
 * LayerNorm, dense + exact erf GELU, dense + residual + LayerNorm), mean
 * pooling and (when the model says so) L2 normalisation.
 *
 * Precision (kernels/encoder.cu has the details):
 *   GEMM inputs   FP16: the weights of the four linear layers (converted once
 *                 at create, round to nearest) and the activations that feed
 *                 them (the LayerNorm output, the attention context, the
 *                 GELU output), multiplied by cublasGemmEx with FP32
 *                 accumulation (CUBLAS_COMPUTE_32F).
 *   everything else FP32: GEMM outputs, biases, the residual stream (hidden
 *                 states), LayerNorm statistics, attention scores and
 *                 softmax, GELU (erff), pooling. So the only FP16 roundings
 *                 are the ones the tensor cores need at GEMM inputs; the
 *                 residual stream, which carries the signal through all
 *                 layers, never loses precision to FP16.
 *
 * The encoder borrows nothing from the model after create (the weights are
 * copied to the GPU). One encoder must not be used from two threads at once.
 */
#ifndef HYPORANK_ENCODER_CUDA_H
#define HYPORANK_ENCODER_CUDA_H

#include "hyporank/model.h"
#include "hyporank/status.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hr_cuda_encoder hr_cuda_encoder;

/* Uploads the model's weights to GPU 0. HR_ERR_UNSUPPORTED (with the reason)
 * for a model this encoder cannot run: head size other than 32 or 64,
 * pooling other than mean, a weight beyond the FP16 range; HR_ERR_NO_DEVICE
 * without a GPU; HR_ERR_CUDA when a CUDA or cuBLAS call fails. */
hr_status hr_cuda_encoder_create(const hr_model *m, hr_cuda_encoder **out, char *err,
                                 size_t errlen);
void hr_cuda_encoder_destroy(hr_cuda_encoder *enc); /* accepts NULL */

/*
 * One packed batch, as hr_cpu_forward:
 *   ids:     (offsets[n_seq]) token ids, host memory; sequence s is
 *            ids[offsets[s] .. offsets[s+1]); every id in [0, vocab_size)
 *   offsets: (n_seq + 1) host memory, offsets[0] == 0, ascending, every
 *            length in [1, min(512, max_position)]
 *   out:     (n_seq, hidden) row-major float32, host memory
 * Bad ids or offsets give HR_ERR_INTERNAL (the caller's bug). The work
 * buffers grow to the largest batch seen and are kept.
 */
hr_status hr_cuda_encoder_forward(hr_cuda_encoder *enc, const int32_t *ids, const int *offsets,
                                  int n_seq, float *out, char *err, size_t errlen);

/* ---- each kernel on host data, for tests/test_encoder_gpu.c ----
 * Each copies its inputs to the GPU, runs the one kernel and copies the
 * result back. All matrices row-major float32; T = offsets[n_seq]. */

/* x (T, H) = LayerNorm(word[ids[t]] + pos[t - offsets[s]] + type0) per token.
 * word: (vocab, H), pos: (n_pos, H), type0, gamma, beta: (H). */
hr_status hr_cuda_embed_layernorm_host(const int32_t *ids, const int *offsets, int n_seq,
                                       const float *word, int vocab, const float *pos, int n_pos,
                                       const float *type0, const float *gamma, const float *beta,
                                       float eps, int h, float *x, char *err, size_t errlen);

/* x (rows, h) = LayerNorm(x + y + b) per row; y: (rows, h), b, gamma, beta: (h). */
hr_status hr_cuda_residual_layernorm_host(float *x, const float *y, const float *b, int rows,
                                          int h, const float *gamma, const float *beta, float eps,
                                          char *err, size_t errlen);

/* y (rows, cols) = GELU(y + b), exact erf GELU; b: (cols). */
hr_status hr_cuda_bias_gelu_host(float *y, const float *b, int rows, int cols, char *err,
                                 size_t errlen);

/* ctx (T, H) = per (sequence, head) softmax(Q K^T / sqrt(dh)) V, where
 * qkv: (T, 3H) holds Q | K | V before their bias, qkv_b: (3H). dh = h / heads
 * must be 32 or 64. */
hr_status hr_cuda_attention_host(const float *qkv, const float *qkv_b, const int *offsets,
                                 int n_seq, int h, int heads, float *ctx, char *err,
                                 size_t errlen);

/* out (n_seq, h) = mean over each sequence's rows of x (T, h), then L2
 * normalised when normalize is 1. */
hr_status hr_cuda_mean_pool_host(const float *x, const int *offsets, int n_seq, int h,
                                 int normalize, float *out, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
