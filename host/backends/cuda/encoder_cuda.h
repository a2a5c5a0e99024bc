/*
 * host/backends/cuda/encoder_cuda.h: the CUDA forward pass of a BERT sentence
 * encoder (internal; the public API is hyporank/encoder.h, whose
 * hr_encoder_create reaches this through the CUDA backend's table,
 * host/backends/cuda/backend_cuda.c, for --device cuda, and for auto when it
 * can be had), and the GPU driver that feeds it whole embed calls
 * (host/backends/cuda/encoder_gpu.c). Compiled only in builds with the CUDA
 * toolkit.
 *
 * tests/test_backends.c (label gpu) checks every kernel against its CPU
 * twin, and the forward pass, the two-slot submit/wait API, the GPU driver
 * and the wiring into hr_encoder_create against the CPU encoder: cosine >=
 * 0.9995 per text (in practice 0.99999+), on the fixtures, generated texts
 * in several chunk and batch layouts, and the edge cases.
 *
 *     hr_cuda_encoder *g;
 *     if (hr_cuda_encoder_create(model, &g, err, sizeof err) == HR_OK) {
 *         hr_cuda_encoder_forward(g, ids, offsets, n_seq, out, err, sizeof err);
 *         hr_cuda_encoder_destroy(g);
 *     }
 *
 * or, to keep the GPU busy, two batches in flight on the two slots:
 *
 *     hr_cuda_encoder_submit(g, 0, ids0, off0, n0, err, errlen);
 *     hr_cuda_encoder_submit(g, 1, ids1, off1, n1, err, errlen);
 *     hr_cuda_encoder_wait(g, 0, &emb0, NULL, err, errlen);  // (n0, hidden), pinned
 *     ... use emb0, then submit the next batch on slot 0, wait on slot 1, ...
 *
 * What it computes: what hr_cpu_forward (host/backends/cpu/encoder_cpu.c, the
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

#include "hyporank/encoder.h"
#include "hyporank/model.h"
#include "hyporank/status.h"
#include "model/encoder_internal.h" /* hr_gpu_embed_options */

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hr_cuda_encoder hr_cuda_encoder;

/* Longest sequence the GPU encoder accepts (BERT's position table). */
#define HR_CUDA_MAX_LEN 512
/* Batches that can be in flight at once (hr_cuda_encoder_submit's slots). */
#define HR_CUDA_SLOTS 2

/* Uploads the model's weights to GPU 0. HR_ERR_UNSUPPORTED (with the reason)
 * for a model this encoder cannot run: head size other than 32 or 64,
 * pooling other than mean, max_seq_length beyond HR_CUDA_MAX_LEN or the
 * position table, a weight beyond the FP16 range; HR_ERR_NO_DEVICE without a
 * GPU; HR_ERR_CUDA when a CUDA or cuBLAS call fails. */
hr_status hr_cuda_encoder_create(const hr_model *m, hr_cuda_encoder **out, char *err,
                                 size_t errlen);
/* Waits for batches still in flight, then frees everything. Accepts NULL. */
void hr_cuda_encoder_destroy(hr_cuda_encoder *enc);

/*
 * One packed batch, synchronously, as hr_cpu_forward (runs on slot 0, which
 * must be idle):
 *   ids:     (offsets[n_seq]) token ids, host memory; sequence s is
 *            ids[offsets[s] .. offsets[s+1]); every id in [0, vocab_size)
 *   offsets: (n_seq + 1) host memory, offsets[0] == 0, ascending, every
 *            length in [1, min(HR_CUDA_MAX_LEN, max_position)]
 *   out:     (n_seq, hidden) row-major float32, host memory
 * Bad ids or offsets give HR_ERR_INTERNAL (the caller's bug). The work
 * buffers grow to the largest batch seen and are kept.
 */
hr_status hr_cuda_encoder_forward(hr_cuda_encoder *enc, const int32_t *ids, const int *offsets,
                                  int n_seq, float *out, char *err, size_t errlen);

/*
 * The same, asynchronously, on slot 0 .. HR_CUDA_SLOTS - 1. Each slot has its
 * own stream, cuBLAS handle, device work buffers and pinned host staging, so
 * the batches of different slots overlap on the GPU (the upload of one and
 * the copy-out of another with compute).
 *
 * submit checks the batch (as forward), copies ids and offsets into the
 * slot's pinned staging (the caller's arrays are free again when it returns)
 * and queues the upload, the forward pass and the copy-out; it does not wait
 * for the GPU. The slot must be idle: never submitted, or waited for since.
 * n_seq == 0 is allowed (nothing runs; wait answers at once).
 *
 * wait blocks (sleeping, not spinning) until the slot's batch is done and
 * sets *out to its (n_seq, hidden) embeddings in the slot's pinned staging,
 * valid until the next submit on that slot (or reserve, or destroy); n_seq
 * (may be NULL) receives the batch's sequence count. The slot is idle again
 * afterwards, even when wait fails (a CUDA error: the batch is lost).
 */
hr_status hr_cuda_encoder_submit(hr_cuda_encoder *enc, int slot, const int32_t *ids,
                                 const int *offsets, int n_seq, char *err, size_t errlen);
hr_status hr_cuda_encoder_wait(hr_cuda_encoder *enc, int slot, const float **out, int *n_seq,
                               char *err, size_t errlen);

/* Grows every slot's device work buffers and pinned staging to hold batches
 * of `tokens` tokens and `n_seq` sequences now, rather than on the first
 * batch that needs them (submit still grows them when a batch is larger).
 * Every slot must be idle. */
hr_status hr_cuda_encoder_reserve(hr_cuda_encoder *enc, int tokens, int n_seq, char *err,
                                  size_t errlen);

/* ---- the GPU driver (host/backends/cuda/encoder_gpu.c) ----
 *
 * hr_gpu_embed embeds a whole call as hr_cpu_embed does, with the same
 * scheduling code (host/backends/cpu/encoder_cpu.h: chunks of texts tokenised on worker
 * threads, ordered by length, packed into batches by token count), but:
 * batches of up to batch_tokens tokens go to the GPU on alternating slots,
 * two in flight; the calling thread drives the GPU (packs, submits, waits,
 * scatters each result to its rows of out, calls progress) while the other
 * n_threads - 1 threads tokenise the next chunk. */
/* opt (host/model/encoder_internal.h): chunk_texts 0 means
 * HR_GPU_CHUNK_TEXTS, batch_tokens 0 HR_GPU_BATCH_TOKENS. */
#define HR_GPU_CHUNK_TEXTS 16384
#define HR_GPU_BATCH_TOKENS 32768

/* m must be the model g was created from. opt may be NULL (the defaults). */
hr_status hr_gpu_embed(hr_cuda_encoder *g, const hr_model *m, int n_threads,
                       const hr_gpu_embed_options *opt, const char *const *texts,
                       const size_t *lens, size_t n, float *out, hr_progress_fn progress,
                       void *user, char *err, size_t errlen);

/* ---- each kernel on host data (the CUDA backend's hr_encoder_ops, for
 * tests/test_backends.c) ----
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
/* The same on tensor cores (flash_attention_kernel in kernels/encoder.cu:
 * Q, K, V and the softmax weights rounded to FP16, FP32 accumulation), the
 * kernel the encoder runs with HYPORANK_GPU_ATTENTION=flash. */
hr_status hr_cuda_flash_attention_host(const float *qkv, const float *qkv_b, const int *offsets,
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
