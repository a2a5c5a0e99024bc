/*
 * hyporank/cache.h: a persistent cache of embeddings in SQLite (WAL mode).
 *
 * An entry is keyed by the model's identity (hr_model_id) and the SHA-256 of
 * the text, and holds the embedding as float32. Each hr_cache_put is one
 * transaction: a run killed at any point (even by SIGKILL) leaves every
 * completed put in the cache and nothing half-written.
 *
 *     hr_cache *c;
 *     hr_cache_open(hr_cache_default_path(buf, sizeof buf), &c, err, sizeof err);
 *     size_t hits;
 *     hr_cache_get(c, id, 384, texts, lens, n, emb, found, &hits, err, sizeof err);
 *     ... embed the texts whose found[i] == 0 ...
 *     hr_cache_put(c, id, 384, texts, lens, n, emb, err, sizeof err);
 *     hr_cache_close(c);
 *
 * One handle must not be used from two threads at once; several processes may
 * share one cache file.
 */
#ifndef HYPORANK_CACHE_H
#define HYPORANK_CACHE_H

#include "hyporank/status.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hr_cache hr_cache;

/* The cache file used when none is named: $HYPORANK_CACHE, else
 * $XDG_CACHE_HOME/hyporank/cache.sqlite, else ~/.cache/hyporank/cache.sqlite.
 * Writes into buf and returns it (NULL when nothing fits or HOME is unset). */
const char *hr_cache_default_path(char *buf, size_t buflen);

/* Opens (creating it and its parent folder when needed) the cache at path. */
hr_status hr_cache_open(const char *path, hr_cache **out, char *err, size_t errlen);
void hr_cache_close(hr_cache *c); /* accepts NULL */

/* Looks up n texts (lens may be NULL for NUL-terminated texts). For each hit,
 * writes the embedding to out[i*dim .. (i+1)*dim) and sets found[i] = 1;
 * misses get found[i] = 0 and leave out untouched. *hits counts the hits. */
hr_status hr_cache_get(hr_cache *c, const char *model_id, int dim,
                       const char *const *texts, const size_t *lens, size_t n,
                       float *out, unsigned char *found, size_t *hits,
                       char *err, size_t errlen);

/* Stores n embeddings, emb: (n, dim) row-major, in one transaction. */
hr_status hr_cache_put(hr_cache *c, const char *model_id, int dim,
                       const char *const *texts, const size_t *lens, size_t n,
                       const float *emb, char *err, size_t errlen);

/* Number of entries stored for model_id (for tests and reports). */
hr_status hr_cache_count(hr_cache *c, const char *model_id, size_t *count,
                         char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
