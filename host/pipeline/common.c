/* host/pipeline/common.c: helpers the pipelines share (pipeline.h). */
#include "pipeline/pipeline.h"
#include "core/threads.h"
#include "scoring/score_methods.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

hr_status hr_pipe_nomem(char *err, size_t errlen)
{
    return hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory");
}

void hr_pipe_event(const hr_events *ev, hr_event_kind kind, const char *fmt, ...)
{
    if (!ev || !ev->fn) return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    hr_event x = {kind, line, 0, 0};
    ev->fn(&x, ev->user);
}

double hr_pipe_now(void)
{
    return hr_now();
}

void hr_text_cell(const char *s, size_t len, char *out, size_t width)
{
    size_t n = len < width ? len : width;
    if (len > width)
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--; /* not inside a character */
    for (size_t i = 0; i < n; i++) out[i] = (unsigned char)s[i] < 0x20 ? ' ' : s[i];
    if (len > n) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
}

const char *hr_p_text(double p, char out[16])
{
    if (p < 1e-300) snprintf(out, 16, "%9s", "<1e-300");
    else snprintf(out, 16, "%9.2e", p);
    return out;
}

/* v as the shortest of 15, 16 or 17 significant digits that reads back as
 * v; buf: 40 bytes. */
static const char *exact_number(double v, char *buf)
{
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(buf, 40, "%.*g", digits, v);
        if (strtod(buf, NULL) == v) break;
    }
    return buf;
}

void hr_json_number(cJSON *o, const char *name, double v)
{
    char buf[40];
    if (!isfinite(v)) cJSON_AddNullToObject(o, name);
    else cJSON_AddRawToObject(o, name, exact_number(v, buf));
}

void hr_json_ci(cJSON *o, const char *name, double lo, double hi)
{
    if (!isfinite(lo) || !isfinite(hi)) {
        cJSON_AddNullToObject(o, name);
        return;
    }
    char buf[40];
    cJSON *a = cJSON_AddArrayToObject(o, name);
    cJSON_AddItemToArray(a, cJSON_CreateRaw(exact_number(lo, buf)));
    cJSON_AddItemToArray(a, cJSON_CreateRaw(exact_number(hi, buf)));
}

hr_status hr_pipe_embed_rows(hr_embedder *e, float **m, size_t *rows, const char *const *texts,
                             const size_t *lens, size_t n, const char *label,
                             const hr_events *ev, char *err, size_t errlen)
{
    hr_status st = hr_embedder_load(e, err, errlen);
    if (st != HR_OK || n == 0) return st;
    size_t dim = hr_embedder_dim(e);
    if (dim == 0) { /* a remote embedder learns its width on its first call */
        if (*m || *rows)
            return hr_fail(HR_ERR_INTERNAL, err, errlen, "embedding rows of an unknown width");
        if ((st = hr_embedder_embed(e, texts, lens, n, label, ev, m, err, errlen)) == HR_OK)
            *rows = n;
        return st;
    }
    const size_t total = *rows + n;
    if (total > SIZE_MAX / dim / sizeof(float))
        return hr_fail(HR_ERR_NOMEM, err, errlen, "too many embeddings (%zu x %zu)", total, dim);
    float *grown = realloc(*m, (total ? total : 1) * dim * sizeof *grown); /* (total, dim) */
    if (!grown)
        return hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory for %zu x %zu embeddings (%s)",
                       total, dim, label ? label : "embedding");
    *m = grown;
    if ((st = hr_embedder_embed_into(e, texts, lens, n, label, ev, grown + *rows * dim, err,
                                     errlen)) == HR_OK)
        *rows = total;
    return st;
}

typedef struct tile_worker {
    const float *hb, *x;
    size_t b, dim, lo, hi; /* rows [lo, hi) of x */
    hr_pipe_tile_fn fn;
    void *state;
    float *S; /* (b, HR_PIPE_TILE) */
} tile_worker;

static void *tile_worker_run(void *arg)
{
    const tile_worker *w = arg;
    for (size_t t0 = w->lo; t0 < w->hi; t0 += HR_PIPE_TILE) {
        const size_t nt = w->hi - t0 < HR_PIPE_TILE ? w->hi - t0 : HR_PIPE_TILE;
        hr_similarities(w->hb, w->b, w->x + t0 * w->dim, nt, (int)w->dim, w->S);
        w->fn(w->state, w->S, t0, nt);
    }
    return NULL;
}

hr_status hr_pipe_similarity_tiles(const float *hb, size_t b, const float *x, size_t n,
                                   size_t dim, int workers, hr_pipe_tile_fn fn, void *states,
                                   size_t state_size)
{
    const size_t tiles = (n + HR_PIPE_TILE - 1) / HR_PIPE_TILE;
    if (workers > HR_MAX_WORKERS) workers = HR_MAX_WORKERS;
    if ((size_t)workers > tiles) workers = (int)tiles;
    if (workers < 1 || b == 0) return HR_OK;
    tile_worker w[HR_MAX_WORKERS];
    float *S = malloc((size_t)workers * b * HR_PIPE_TILE * sizeof *S); /* (workers, b, tile) */
    if (!S) return HR_ERR_NOMEM;
    for (int t = 0; t < workers; t++) {
        const size_t lo = tiles * (size_t)t / (size_t)workers * HR_PIPE_TILE;
        const size_t hi = tiles * (size_t)(t + 1) / (size_t)workers * HR_PIPE_TILE;
        w[t] = (tile_worker){hb, x, b, dim, lo, hi < n ? hi : n, fn,
                             (char *)states + (size_t)t * state_size,
                             S + (size_t)t * b * HR_PIPE_TILE};
    }
    hr_run_workers(tile_worker_run, w, sizeof w[0], workers);
    free(S);
    return HR_OK;
}

void hr_top_keep(float *score, size_t *row, size_t *have, size_t k, float s, size_t r)
{
    size_t n = *have;
    if (k == 0) return;
    if (n == k) {
        if (s < score[n - 1] || (s == score[n - 1] && r > row[n - 1])) return;
        n--; /* the last gives way */
    }
    size_t p = n;
    while (p > 0 && (score[p - 1] < s || (score[p - 1] == s && row[p - 1] > r))) {
        score[p] = score[p - 1];
        row[p] = row[p - 1];
        p--;
    }
    score[p] = s;
    row[p] = r;
    *have = n + 1;
}

hr_status hr_pipe_add_user_hypotheses(hr_hypothesis_pool *pool, const char *path,
                                      hr_corpus **corpus, char *err, size_t errlen)
{
    hr_status st = hr_corpus_read(path, NULL, corpus, err, errlen);
    for (size_t i = 0; st == HR_OK && i < (*corpus)->n; i++) {
        st = hr_pool_add(pool, (*corpus)->texts[i], (*corpus)->lens[i], HR_SOURCE_USER, NULL,
                         NULL, err, errlen);
        if (st != HR_OK && err && errlen) {
            char inner[512];
            snprintf(inner, sizeof inner, "%s", err);
            snprintf(err, errlen, "%.400s:%zu: %s", path, (*corpus)->lines[i], inner);
        }
    }
    return st;
}
