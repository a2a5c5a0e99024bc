/*
 * hyporank/remote_embed.h: sentence embeddings from an OpenAI-compatible
 * endpoint (POST {url}/v1/embeddings), an alternative to the local encoder.
 *
 * Texts go out in batches of opts.embed_batch, with the transport rules of
 * hyporank/llm.h: concurrency, timeouts, retries with backoff on 429 / 5xx /
 * timeouts, Retry-After, a cap on reply size, TLS verification, the API key
 * from $HYPORANK_API_KEY or $OPENAI_API_KEY, and fail-fast on a wrong URL,
 * key or model (HR_ERR_INPUT with one message).
 *
 * Every reply is checked before anything is kept: "data" has one entry per
 * text, each "index" is in range and appears once, every vector has the same
 * width (opts.embed_dim when given) and holds only finite numbers. A reply
 * that fails a check stops the call with HR_ERR_IO and a message naming the
 * batch and what was wrong.
 *
 * Cache: with opts.cache_path set, vectors are kept in the embedding cache
 * (hyporank/cache.h) under the model id "remote:" + model + ":" + width, as
 * received (before normalisation), each batch committed when it arrives; texts
 * already there are not sent again. When opts.embed_dim is 0 the width is
 * learnt from the endpoint by embedding the first text alone (once per
 * client), so a fully cached rerun still sends that one small request; give
 * embed_dim to send none.
 *
 *     hr_remote_options o;
 *     hr_remote_options_init(&o);
 *     o.url = "http://127.0.0.1:8080"; o.model = "bge-small"; o.cache_path = path;
 *     hr_remote_embedder *e;
 *     hr_remote_embed_create(&o, &e, err, sizeof err);
 *     float *emb; int dim;
 *     hr_remote_embed(e, texts, NULL, n, &emb, &dim, NULL, err, sizeof err);
 *     ... emb: (n, dim) row-major; free(emb) ...
 *     hr_remote_embed_destroy(e);
 *
 * An embedder must not be used from two threads at once.
 */
#ifndef HYPORANK_REMOTE_EMBED_H
#define HYPORANK_REMOTE_EMBED_H

#include "hyporank/llm.h" /* hr_remote_options, hr_remote_stats */
#include "hyporank/status.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hr_remote_embedder hr_remote_embedder;

/* Checks the options, reads the API key and opens the cache. Sends nothing. */
hr_status hr_remote_embed_create(const hr_remote_options *opts, hr_remote_embedder **out,
                                 char *err, size_t errlen);
void hr_remote_embed_destroy(hr_remote_embedder *e); /* accepts NULL */

/* The width of the vectors: opts.embed_dim, or what the endpoint sent; 0 while
 * unknown. */
int hr_remote_embed_dim(const hr_remote_embedder *e);

/* The cache's model id, "remote:MODEL:DIM"; NULL while the width is unknown. */
const char *hr_remote_embed_model_id(const hr_remote_embedder *e);

/* The endpoint URL requests go to, without any credentials in it. */
const char *hr_remote_embed_url(const hr_remote_embedder *e);

/* Embeds n texts: texts[i] is UTF-8 of lens[i] bytes (lens may be NULL for
 * NUL-terminated texts; a text may not contain a NUL byte). On HR_OK, *out is
 * malloc'ed (n, *dim) row-major float32, L2-normalised when
 * opts.embed_normalize is set; free() it. On failure *out is NULL, and the
 * batches that did arrive stay in the cache. stats may be NULL. */
hr_status hr_remote_embed(hr_remote_embedder *e, const char *const *texts, const size_t *lens,
                          size_t n, float **out, int *dim, hr_remote_stats *stats,
                          char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
