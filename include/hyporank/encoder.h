/*
 * hyporank/encoder.h: sentence embeddings from a loaded model, on the CPU or
 * (when built with CUDA and a GPU is present) on the GPU.
 *
 * The CPU encoder is the specification: BERT in float32 (embeddings +
 * LayerNorm, masked self-attention, exact erf GELU, residual + LayerNorm),
 * then the model's pooling and L2 normalisation. Texts are tokenised, sorted
 * by length and packed into batches by token count, so no work goes to
 * padding; batches run on n_threads worker threads.
 *
 * The GPU encoder (CUDA, one GPU) computes the same with FP16 inputs to the
 * matrix products (FP32 accumulation, FP32 everywhere else): its embeddings
 * agree with the CPU's to cosine >= 0.9995 per text (in practice ~0.99999+).
 * It runs mean-pooling models with head size 32 or 64 and up to 512 tokens
 * (all-MiniLM-L6-v2 among them). The same tokenising and packing feed it
 * large batches, two in flight; the calling thread drives the GPU while the
 * other n_threads - 1 threads tokenise the next texts.
 *
 *     hr_encoder *enc;
 *     hr_encoder_create(model, HR_DEVICE_AUTO, 0, &enc, err, sizeof err);
 *     float *emb = malloc(n * hr_encoder_dim(enc) * sizeof *emb);
 *     hr_encoder_embed(enc, texts, lens, n, emb, NULL, NULL, err, sizeof err);
 *     hr_encoder_destroy(enc);
 *
 * The encoder borrows the model: keep the model alive until the encoder is
 * destroyed. One encoder must not be used from two threads at once.
 */
#ifndef HYPORANK_ENCODER_H
#define HYPORANK_ENCODER_H

#include "hyporank/device.h" /* hr_device, hr_device_parse, hr_device_str */
#include "hyporank/model.h"
#include "hyporank/status.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Called now and then during long work (after each batch) with the number
 * of texts done so far out of total. Must be cheap; runs on the calling
 * thread. Returns 0 to go on; non-zero stops the call before its next batch,
 * and the call returns HR_ERR_CANCELLED (out is then incomplete; what a
 * cached call finished stays in the cache). */
typedef int (*hr_progress_fn)(size_t done, size_t total, void *user);

typedef struct hr_encoder hr_encoder;

/* device: HR_DEVICE_CPU; HR_DEVICE_CUDA (HR_ERR_NO_DEVICE without a usable
 * GPU, HR_ERR_UNSUPPORTED in a build without CUDA or for a model the GPU
 * encoder cannot run, HR_ERR_CUDA / HR_ERR_NOMEM when the GPU fails; the
 * message starts with "--device cuda: " and says why); or HR_DEVICE_AUTO:
 * the GPU when usable, else the CPU, by hyporank/device.h's policy: a GPU
 * that cannot be had gives the CPU encoder, and an auto encoder whose GPU
 * fails during hr_encoder_embed redoes that call on the CPU and stays there
 * (hr_encoder_device tells which ran).
 * n_threads <= 0 means one worker per online core. */
hr_status hr_encoder_create(const hr_model *model, hr_device device, int n_threads,
                            hr_encoder **out, char *err, size_t errlen);
void hr_encoder_destroy(hr_encoder *enc); /* accepts NULL */

int hr_encoder_dim(const hr_encoder *enc);
/* The device the encoder actually runs on (never HR_DEVICE_AUTO); for an
 * auto encoder it may change from cuda to cpu after a GPU failure. */
hr_device hr_encoder_device(const hr_encoder *enc);

/* Embeds n texts. texts[i] is UTF-8 of lens[i] bytes (lens may be NULL for
 * NUL-terminated texts). Writes out: (n, dim) row-major float32. Texts longer
 * than the model's limit are truncated. progress may be NULL. */
hr_status hr_encoder_embed(hr_encoder *enc, const char *const *texts, const size_t *lens,
                           size_t n, float *out, hr_progress_fn progress, void *user,
                           char *err, size_t errlen);

/* What hr_encoder_embed_cached did. */
typedef struct hr_embed_stats {
    size_t from_cache; /* texts whose embedding came from the cache */
    size_t computed;   /* texts the encoder embedded (and stored) */
    size_t repeats;    /* texts equal to an earlier text of the same call, which
                          take its embedding (hyporank/embedder.h; 0 below it) */
} hr_embed_stats;

struct hr_cache;

/* As hr_encoder_embed, through a cache (include/hyporank/cache.h; NULL means
 * no cache): texts already cached for this model are not computed again, and
 * new embeddings are stored batch by batch as they are computed, so a run that
 * is killed keeps what it finished. stats may be NULL. */
hr_status hr_encoder_embed_cached(hr_encoder *enc, struct hr_cache *cache,
                                  const char *const *texts, const size_t *lens, size_t n,
                                  float *out, hr_progress_fn progress, void *user,
                                  hr_embed_stats *stats, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
