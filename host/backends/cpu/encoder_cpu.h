/*
 * host/backends/cpu/encoder_cpu.h: the CPU forward pass (internal). The specification that
 * the CUDA encoder must agree with.
 */
#ifndef HYPORANK_ENCODER_CPU_H
#define HYPORANK_ENCODER_CPU_H

#include "hyporank/encoder.h"
#include "model/model_internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

/* The model's four weight matrices a layer, packed once for the AMX product
 * (gemm_amx.h), or NULL where that product does not run (no AMX, or
 * HYPORANK_CPU_GEMM=fp32) or memory ran out: the forward pass then calls
 * sgemm. As much memory as the FP32 matrices. */
typedef struct hr_cpu_packed hr_cpu_packed;
hr_cpu_packed *hr_cpu_pack_weights(const hr_model *m);
void hr_cpu_packed_free(hr_cpu_packed *p);

/* Work buffers for one batch of at most max_tokens packed tokens, no sequence
 * longer than max_len. One per worker thread. packed: the model's weights
 * from hr_cpu_pack_weights (NULL: sgemm), borrowed. */
typedef struct hr_cpu_workspace hr_cpu_workspace;

hr_cpu_workspace *hr_cpu_workspace_create(const hr_model *m, const hr_cpu_packed *packed,
                                          int max_tokens, int max_len);
void hr_cpu_workspace_destroy(hr_cpu_workspace *ws);

/*
 * The BERT forward pass, pooling and (when the model says so) L2
 * normalisation for n_seq sequences packed end to end, no padding.
 *   ids:     (offsets[n_seq]) token ids; sequence s is ids[offsets[s] .. offsets[s+1])
 *   offsets: (n_seq + 1) ascending, offsets[0] == 0, every length in [1, max_len]
 *   out:     (n_seq, hidden) row-major sentence embeddings
 */
void hr_cpu_forward(const hr_model *m, const int32_t *ids, const int *offsets, int n_seq,
                    float *out, hr_cpu_workspace *ws);

/* Embeds texts with n_threads workers (see hr_encoder_embed); packed as for
 * hr_cpu_workspace_create. */
hr_status hr_cpu_embed(const hr_model *m, const hr_cpu_packed *packed, int n_threads,
                       const char *const *texts, const size_t *lens, size_t n, float *out,
                       hr_progress_fn progress, void *user, char *err, size_t errlen);

/* ---- scheduling, shared by the CPU driver (hr_cpu_embed) and the GPU driver
 * (hr_gpu_embed, host/backends/cuda/encoder_gpu.c) ----
 *
 * A chunk holds up to `cap` consecutive texts of one embed call: tokenised
 * (by any number of threads at once), ordered by token count and cut into
 * batches of at most `budget` packed tokens. A driver goes chunk by chunk:
 *
 *     hr_embed_chunk c;
 *     hr_embed_chunk_init(&c, m, texts, lens, cap);         // -1: out of memory
 *     hr_embed_chunk_start(&c, first, count);
 *     hr_embed_chunk_tokenize(&c);    // on 1..n threads (hr_embed_chunk_tokenize_worker)
 *     hr_embed_chunk_plan(&c, budget);                       // -1: out of memory
 *     for (size_t b = 0; b < c.n_batches; b++) {
 *         int n_seq = hr_embed_chunk_pack(&c, b, ids, offsets);
 *         ... sequence s of batch b is text hr_embed_chunk_row(&c, b, s) of the call
 *     }
 *     hr_embed_chunk_free(&c);
 */
typedef struct hr_embed_chunk {
    const hr_model *m;
    const char *const *texts;  /* the call's texts (borrowed) */
    const size_t *lens;        /* the call's lengths, or NULL for NUL-terminated texts */
    size_t first, count, cap;  /* texts [first, first + count) of the call; count <= cap */
    int max_len;               /* tokens per text at most (m->max_seq_length) */
    int32_t *ids;              /* (cap, max_len): row i holds the ids of text first + i */
    int *n_ids;                /* (cap) tokens of each row, in [2, max_len] */
    size_t *order;             /* (cap) rows sorted by token count */
    size_t *batch_start;       /* (n_batches + 1) positions in order[] */
    size_t n_batches;
    atomic_size_t next_text;   /* tokenising: the next row to take */
} hr_embed_chunk;

int hr_embed_chunk_init(hr_embed_chunk *c, const hr_model *m, const char *const *texts,
                        const size_t *lens, size_t cap);
void hr_embed_chunk_free(hr_embed_chunk *c); /* the buffers; c itself is the caller's */
/* Makes the chunk the texts [first, first + count) of the call, count <= cap,
 * none tokenised yet. */
void hr_embed_chunk_start(hr_embed_chunk *c, size_t first, size_t count);
/* Tokenises rows until none is left; any number of threads may call it at
 * once, and it returns at once when all rows are taken. */
void hr_embed_chunk_tokenize(hr_embed_chunk *c);
void *hr_embed_chunk_tokenize_worker(void *chunk); /* the same, for pthread_create */
/* Orders the (tokenised) rows by length and cuts them into batches of at most
 * budget tokens (budget >= max_len). 0, or -1 when out of memory. */
int hr_embed_chunk_plan(hr_embed_chunk *c, int budget);
/* Packs batch b end to end: ids (at most budget), offsets (n_seq + 1).
 * Returns n_seq. */
int hr_embed_chunk_pack(const hr_embed_chunk *c, size_t b, int32_t *ids, int *offsets);
/* The row of the call's out that sequence s of batch b belongs to. */
static inline size_t hr_embed_chunk_row(const hr_embed_chunk *c, size_t b, int s)
{
    return c->first + c->order[c->batch_start[b] + (size_t)s];
}

/* Helper threads: start runs fn(arg) on up to n (<= HR_MAX_THREADS) new
 * threads (fewer when pthread_create fails; t->n says how many); join waits
 * for them all. */
#define HR_MAX_THREADS 64
typedef struct hr_threads {
    pthread_t th[HR_MAX_THREADS];
    int n;
} hr_threads;
void hr_threads_start(hr_threads *t, void *(*fn)(void *), void *arg, int n);
void hr_threads_join(hr_threads *t);

/* ---- the steps of hr_cpu_forward, each the twin of a CUDA kernel
 * (kernels/encoder.cu, kernels/rownorm.cu names which) and callable on its
 * own, so that tests/test_backends.c compares every backend's steps with
 * these. All matrices row-major float32; T = offsets[n_seq] tokens. ---- */

/* LayerNorm of each row of x: (rows, cols) in place: two-pass mean and
 * biased variance, as torch.nn.LayerNorm; gamma, beta: (cols). */
void hr_cpu_layernorm_rows(float *x, int rows, int cols, const float *gamma, const float *beta,
                           float eps);
/* Each row of x: (rows, cols) divided by max(its L2 norm, 1e-12), as
 * torch.nn.functional.normalize. */
void hr_cpu_l2_normalize_rows(float *x, int rows, int cols);
/* x (T, h) = LayerNorm(word[ids[t]] + pos[t - offsets[s]] + type0) per
 * token t of sequence s. word: (vocab, h), pos: (n_pos, h), type0, gamma,
 * beta: (h); ids and positions must be in range. */
void hr_cpu_embed_layernorm(const int32_t *ids, const int *offsets, int n_seq, const float *word,
                            const float *pos, const float *type0, const float *gamma,
                            const float *beta, float eps, int h, float *x);
/* x = LayerNorm(x + y + b) row by row: the residual connection, the bias of
 * the layer that produced y, and the LayerNorm, in one pass over memory.
 * x, y: (rows, cols); b, gamma, beta: (cols). */
void hr_cpu_residual_layernorm(float *x, const float *y, const float *b, int rows, int cols,
                               const float *gamma, const float *beta, float eps);
/* y += b on every row. y: (rows, cols), b: (cols). */
void hr_cpu_add_bias_rows(float *y, int rows, int cols, const float *b);
/* y = GELU(y + b) on every row, the exact (erf) GELU of BERT's "gelu", to
 * float precision (host/core/fastmath.h). y: (rows, cols), b: (cols). */
void hr_cpu_bias_gelu_rows(float *y, int rows, int cols, const float *b);
/* Multi-head self-attention over packed sequences; every token of a sequence
 * attends to every token of the same sequence (no padding, so no mask).
 *   qkv: (T, 3h) Q | K | V with their bias added, head j in columns
 *        [j dh, (j+1) dh) of each third, dh = h / heads
 *   ctx: (T, h) output; scratch: hr_cpu_attention_scratch(longest sequence,
 *        h, heads) floats.
 * Fused and blocked (no score matrix beyond a strip of 4 query rows, no
 * matrix-product calls); see encoder_cpu.c. */
void hr_cpu_attention(const float *qkv, const int *offsets, int n_seq, int h, int heads,
                      float *ctx, float *scratch);
/* Floats of scratch hr_cpu_attention needs for sequences of up to max_len tokens. */
size_t hr_cpu_attention_scratch(int max_len, int h, int heads);
/* Pools each sequence's token states x: (T, h) into out: (n_seq, h). */
void hr_cpu_pool(hr_pooling pooling, const float *x, const int *offsets, int n_seq, int h,
                 float *out);

#endif
