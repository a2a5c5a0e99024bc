/*
 * host/encoder_cpu.h: the CPU forward pass (internal). The specification that
 * the CUDA encoder must agree with.
 */
#ifndef HYPORANK_ENCODER_CPU_H
#define HYPORANK_ENCODER_CPU_H

#include "hyporank/encoder.h"
#include "model_internal.h"

#include <stdint.h>

/* Work buffers for one batch of at most max_tokens packed tokens, no sequence
 * longer than max_len. One per worker thread. */
typedef struct hr_cpu_workspace hr_cpu_workspace;

hr_cpu_workspace *hr_cpu_workspace_create(const hr_model *m, int max_tokens, int max_len);
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

/* Embeds texts with n_threads workers (see hr_encoder_embed). */
hr_status hr_cpu_embed(const hr_model *m, int n_threads, const char *const *texts,
                       const size_t *lens, size_t n, float *out, hr_progress_fn progress,
                       void *user, char *err, size_t errlen);

/* Twins of the CUDA kernels, row-wise over (rows, cols) row-major x. */
void hr_cpu_layernorm_rows(float *x, int rows, int cols, const float *gamma, const float *beta,
                           float eps);
void hr_cpu_l2_normalize_rows(float *x, int rows, int cols);

#endif
