/*
 * host/model/encoder_internal.h: the encoder handle's knobs for tests and
 * benchmarks (internal; the public API is hyporank/encoder.h). In every
 * build, whatever backends it has.
 */
#ifndef HYPORANK_ENCODER_INTERNAL_H
#define HYPORANK_ENCODER_INTERNAL_H

#include "hyporank/encoder.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* How an accelerator backend cuts an embed call: chunks of texts tokenised
 * together, batches of tokens per forward pass. Zero fields mean the
 * backend's defaults (the CUDA driver's: host/backends/cuda/encoder_cuda.h).
 * The CPU backend has its own fixed plan and ignores them. */
typedef struct hr_gpu_embed_options {
    size_t chunk_texts; /* texts per chunk */
    int batch_tokens;   /* tokens per batch, raised to max_seq_length when below it */
} hr_gpu_embed_options;

/* The options hr_encoder_embed passes to its backend (opt NULL: the
 * defaults again). */
void hr_encoder_set_gpu_options(hr_encoder *enc, const hr_gpu_embed_options *opt);
/* Why an HR_DEVICE_AUTO encoder runs on the CPU (at create, or since an
 * accelerator failure during an embed made it fall back); NULL when it runs
 * on the accelerator or was not created with auto. */
const char *hr_encoder_gpu_note(const hr_encoder *enc);

#ifdef __cplusplus
}
#endif

#endif
