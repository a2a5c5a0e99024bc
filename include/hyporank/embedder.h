/*
 * hyporank/embedder.h: one sentence encoder for the pipelines, whichever it
 * is: the local model on the CPU or the GPU (hyporank/encoder.h), or a
 * remote OpenAI-compatible /v1/embeddings endpoint
 * (hyporank/remote_embed.h), with the embedding cache (hyporank/cache.h) in
 * one place for both.
 *
 *     hr_embedder_options o;
 *     hr_embedder_options_init(&o);
 *     o.model_dir = "models/all-MiniLM-L6-v2";   // or o.url, o.model for a remote one
 *     hr_embedder *e;
 *     hr_embedder_create(&o, &e, err, sizeof err);
 *     float *emb;                                 // (n, hr_embedder_dim(e)) row-major
 *     hr_embedder_embed(e, texts, NULL, n, "embedding A", NULL, &emb, err, sizeof err);
 *     ...
 *     free(emb);
 *     hr_embedder_destroy(e);
 *
 * Loading is lazy: hr_embedder_create only copies the options, and the model
 * (or the remote client) and the cache are opened by the first call that
 * needs them, or by hr_embedder_load. So a pipeline reads and checks its
 * inputs before any slow work, and one that needs no embedding (rank from
 * .npy files) never loads a model. Problems with the options (a missing
 * model folder, --embed-url without --embed-model, no cache location) are
 * reported by that first call.
 *
 * Repeated texts: a text that occurs more than once in a call is embedded
 * (and cached) once, and its other rows are copies (hashed before the
 * encoder, so a million copies of a line cost about what one does).
 *
 * The cache: texts already in it for this model are not embedded again, and
 * new embeddings are stored as they are computed. The local encoder keys
 * entries by the model's identity (hr_model_id); the remote one by
 * "remote:MODEL:DIM" (hyporank/remote_embed.h).
 *
 * Ownership: the embedder copies the option strings. Matrices returned by
 * hr_embedder_embed are the caller's (free()). Strings returned by the
 * accessors live as long as the embedder. One embedder must not be used
 * from two threads at once.
 */
#ifndef HYPORANK_EMBEDDER_H
#define HYPORANK_EMBEDDER_H

#include "hyporank/encoder.h" /* hr_device, hr_embed_stats */
#include "hyporank/events.h"
#include "hyporank/status.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hr_embedder_options {
    const char *model_dir;  /* the local model folder (used when url is NULL) */
    hr_device device;       /* local: cpu, cuda or auto (HR_DEVICE_AUTO) */
    int n_threads;          /* local: worker threads; <= 0: one per core (0) */
    const char *url;        /* a remote /v1/embeddings endpoint, or NULL for the local model */
    const char *model;      /* the remote model; url and model go together */
    const char *cache_path; /* the cache file; NULL: the default (hr_cache_default_path) */
    int no_cache;           /* 1: no cache at all (0) */
    int no_verify_model;    /* local: 1: skip the check of the weights against their
                               recorded SHA-256 (hyporank/model.h) (0) */
} hr_embedder_options;

/* Fills in the defaults above (no model folder: set model_dir or url). */
void hr_embedder_options_init(hr_embedder_options *o);

typedef struct hr_embedder hr_embedder;

/* Copies the options; opens nothing (see above). HR_ERR_NOMEM only. */
hr_status hr_embedder_create(const hr_embedder_options *opt, hr_embedder **out, char *err,
                             size_t errlen);
void hr_embedder_destroy(hr_embedder *e); /* accepts NULL */

/* Opens the cache and loads the model (or creates the remote client), once;
 * later calls return HR_OK at once. HR_ERR_INPUT for options that do not go
 * together, HR_ERR_IO when there is no cache location, HR_ERR_MODEL /
 * HR_ERR_NO_DEVICE / ... as hr_model_load and hr_encoder_create report. */
hr_status hr_embedder_load(hr_embedder *e, char *err, size_t errlen);

/* The width of the embeddings: the local model's (once loaded), the
 * remote's once known (its first call); 0 until then. */
size_t hr_embedder_dim(const hr_embedder *e);

/* For reports: the model's name ("all-MiniLM-L6-v2", or the remote model),
 * NULL before loading; its cache identity (NULL while unknown); the device
 * that embeds: "cpu", "cuda" or "remote" (NULL before loading). */
const char *hr_embedder_model(const hr_embedder *e);
const char *hr_embedder_model_id(const hr_embedder *e);
const char *hr_embedder_device(const hr_embedder *e);

/* The cache file in use once loaded; NULL without a cache (or before
 * loading). Other caches of the run (the LLM's answers) may share it. */
const char *hr_embedder_cache_path(const hr_embedder *e);

/* Embeds n texts: texts[i] is UTF-8 of lens[i] bytes (lens may be NULL for
 * NUL-terminated texts). Loads first when needed. label names the step in
 * the events (BEGIN, PROGRESS, END; ev may be NULL). ev->cancel, when set,
 * is asked before the call and, for the local encoder, between its batches
 * (hyporank/events.h): a non-zero answer is HR_ERR_CANCELLED. On HR_OK *out is a
 * malloc'ed (n, hr_embedder_dim(e)) row-major matrix (free() it); on failure
 * NULL. */
hr_status hr_embedder_embed(hr_embedder *e, const char *const *texts, const size_t *lens,
                            size_t n, const char *label, const hr_events *ev, float **out,
                            char *err, size_t errlen);

/* As hr_embedder_embed, into the caller's out: (n, dim) row-major, which
 * needs the width known (hr_embedder_dim(e) > 0, else HR_ERR_INTERNAL): a
 * pipeline fills its one matrix side by side with it. */
hr_status hr_embedder_embed_into(hr_embedder *e, const char *const *texts, const size_t *lens,
                                 size_t n, const char *label, const hr_events *ev, float *out,
                                 char *err, size_t errlen);

/* What the last embed call did: distinct texts computed and taken from the
 * cache (remote: sent, and from the cache), and the repeats of earlier texts. */
hr_embed_stats hr_embedder_last_stats(const hr_embedder *e);

#ifdef __cplusplus
}
#endif

#endif
