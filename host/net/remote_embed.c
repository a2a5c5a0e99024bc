/*
 * host/net/remote_embed.c: embeddings from an OpenAI-compatible endpoint (see
 * hyporank/remote_embed.h), on the transport in host/net/http.c.
 *
 * A call runs in up to two phases. When the width is not known yet, the
 * first text goes out alone (this also probes the endpoint: a wrong URL, key
 * or model costs one small request) and fixes the width and so the cache's
 * model id. Then the cache is asked for every text, and the misses go out in
 * batches of embed_batch, `concurrency` at a time; each batch's vectors are
 * checked and written to the cache (one transaction) as soon as they arrive.
 */
#include "hyporank/remote_embed.h"
#include "hyporank/cache.h"
#include "net/http.h"
#include "core/util.h"

#include <cjson/cJSON.h>

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BATCH 2048
#define MAX_DIM 65536
#define BYTES_PER_TEXT ((size_t)64 << 10) /* reply bytes a text may take: 3072 floats
                                              at about 20 characters each */
#define QUOTE_REPLY 120

struct hr_remote_embedder {
    hr_http *http;
    hr_cache *cache; /* NULL: no cache */
    char *model;
    char *model_id;  /* "remote:MODEL:DIM" once dim is known */
    int dim;         /* 0 until known */
    int dim_given;   /* dim came from the options */
    int batch;
    int normalize;
    double usd_prompt;
    hr_remote_progress_fn progress;
    void *progress_user;
};

static hr_status set_dim(hr_remote_embedder *e, int dim, char *err, size_t errlen)
{
    size_t len = strlen(e->model) + 32;
    char *id = malloc(len);
    if (!id)
        return hr_fail(HR_ERR_NOMEM, err, errlen, "remote embeddings: out of memory");
    snprintf(id, len, "remote:%s:%d", e->model, dim);
    free(e->model_id);
    e->model_id = id;
    e->dim = dim;
    return HR_OK;
}

hr_status hr_remote_embed_create(const hr_remote_options *opts, hr_remote_embedder **out,
                                 char *err, size_t errlen)
{
    if (!out)
        return hr_fail(HR_ERR_INTERNAL, err, errlen, "remote embeddings: no place for the handle");
    *out = NULL;
    if (!opts)
        return hr_fail(HR_ERR_INTERNAL, err, errlen, "remote embeddings: no options given");
    if (opts->embed_batch < 1 || opts->embed_batch > MAX_BATCH)
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "remote embeddings: batch size %d is out of range (1..%d)",
                       opts->embed_batch, MAX_BATCH);
    if (opts->embed_dim < 0 || opts->embed_dim > MAX_DIM)
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "remote embeddings: width %d is out of range (0 to learn it, up to %d)",
                       opts->embed_dim, MAX_DIM);
    hr_remote_embedder *e = calloc(1, sizeof *e);
    if (!e)
        return hr_fail(HR_ERR_NOMEM, err, errlen, "remote embeddings: out of memory");
    hr_status s = hr_http_create(opts, "embeddings", (size_t)opts->embed_batch * BYTES_PER_TEXT,
                                 &e->http, err, errlen);
    if (s != HR_OK)
        goto fail;
    e->model = strdup(opts->model);
    if (!e->model) {
        s = hr_fail(HR_ERR_NOMEM, err, errlen, "remote embeddings: out of memory");
        goto fail;
    }
    e->batch = opts->embed_batch;
    e->normalize = opts->embed_normalize;
    e->usd_prompt = opts->usd_per_mtok_prompt;
    e->progress = opts->progress;
    e->progress_user = opts->progress_user;
    if (opts->embed_dim > 0) {
        e->dim_given = 1;
        if ((s = set_dim(e, opts->embed_dim, err, errlen)) != HR_OK)
            goto fail;
    }
    if (opts->cache_path && opts->cache_path[0] &&
        (s = hr_cache_open(opts->cache_path, &e->cache, err, errlen)) != HR_OK)
        goto fail;
    *out = e;
    return HR_OK;

fail:
    hr_remote_embed_destroy(e);
    return s;
}

void hr_remote_embed_destroy(hr_remote_embedder *e)
{
    if (!e)
        return;
    hr_http_destroy(e->http);
    hr_cache_close(e->cache);
    free(e->model);
    free(e->model_id);
    free(e);
}

int hr_remote_embed_dim(const hr_remote_embedder *e) { return e ? e->dim : 0; }
const char *hr_remote_embed_model_id(const hr_remote_embedder *e) { return e ? e->model_id : NULL; }
const char *hr_remote_embed_url(const hr_remote_embedder *e) { return e ? hr_http_url(e->http) : NULL; }

/* ---- one phase ------------------------------------------------------------------------- */

typedef struct ctx {
    hr_remote_embedder *e;
    const char *const *texts;
    const size_t *lens;
    const size_t *todo; /* text indices to fetch, in batches of `batch` */
    size_t ntodo, batch;
    float *out;         /* (n, dim) row-major, once dim is known; NULL in the probe */
    float *probe;       /* the probe's vector (malloc'ed), when out is NULL */
    size_t n, done;
    hr_remote_stats *st;
} ctx;

static size_t text_len(const ctx *c, size_t i)
{
    return c->lens ? c->lens[i] : strlen(c->texts[i]);
}

static hr_status build_cb(void *user, size_t b, char **body, size_t *len, char *err,
                          size_t errlen)
{
    ctx *c = user;
    size_t lo = b * c->batch, hi = lo + c->batch < c->ntodo ? lo + c->batch : c->ntodo;
    cJSON *j = cJSON_CreateObject();
    cJSON *input = NULL;
    *body = NULL;
    if (j && cJSON_AddStringToObject(j, "model", c->e->model) &&
        (input = cJSON_AddArrayToObject(j, "input"))) {
        size_t k;
        for (k = lo; k < hi; k++) {
            size_t i = c->todo[k], tl = text_len(c, i);
            char *t = malloc(tl + 1);
            if (!t)
                break;
            memcpy(t, c->texts[i], tl);
            t[tl] = '\0';
            cJSON *str = cJSON_CreateString(t);
            free(t);
            if (!str)
                break;
            cJSON_AddItemToArray(input, str);
        }
        if (k == hi)
            *body = cJSON_PrintUnformatted(j);
    }
    cJSON_Delete(j);
    if (!*body)
        return hr_fail(HR_ERR_NOMEM, err, errlen, "remote embeddings: out of memory");
    *len = strlen(*body);
    return HR_OK;
}

/* Checks a reply for texts todo[lo..hi) and writes its vectors: into c->out
 * rows, or (the probe) into c->probe, fixing the width. Any problem stops the
 * call: the vectors of a malformed reply cannot be trusted. */
static hr_status reply_cb(void *user, size_t b, const hr_http_reply *rep, int *bad, char *err,
                          size_t errlen)
{
    (void)bad;
    ctx *c = user;
    hr_remote_embedder *e = c->e;
    size_t lo = b * c->batch, hi = lo + c->batch < c->ntodo ? lo + c->batch : c->ntodo;
    size_t count = hi - lo;
    const char *url = hr_http_url(e->http);
    char where[160];
    snprintf(where, sizeof where, "embeddings batch %zu (texts %zu..%zu) from %s", b + 1,
             c->todo[lo] + 1, c->todo[hi - 1] + 1, url);
    hr_status s = HR_OK;
    unsigned char *seen = NULL;
    float *rows = NULL; /* (count, dim) in reply order, by index */

    cJSON *j = cJSON_ParseWithLength(rep->body, rep->len);
    if (!j) {
        char *q = hr_http_quote(rep->body, rep->len, QUOTE_REPLY);
        s = hr_fail(HR_ERR_IO, err, errlen, "%s: the reply is not JSON: %s", where, q ? q : "");
        free(q);
        goto done;
    }
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(j, "data");
    if (!cJSON_IsArray(data)) {
        char *q = hr_http_quote(rep->body, rep->len, QUOTE_REPLY);
        s = hr_fail(HR_ERR_IO, err, errlen,
                    "%s: the reply has no \"data\" list (not an embeddings reply): %s", where,
                    q ? q : "");
        free(q);
        goto done;
    }
    int got = cJSON_GetArraySize(data);
    if (got < 0 || (size_t)got != count) {
        s = hr_fail(HR_ERR_IO, err, errlen, "%s: the reply has %d vectors for %zu texts", where,
                    got, count);
        goto done;
    }
    seen = calloc(count, 1);
    if (!seen) {
        s = hr_fail(HR_ERR_NOMEM, err, errlen, "remote embeddings: out of memory");
        goto done;
    }
    int dim = e->dim;
    size_t pos = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, data)
    {
        const cJSON *ix = cJSON_GetObjectItemCaseSensitive(item, "index");
        const cJSON *vec = cJSON_GetObjectItemCaseSensitive(item, "embedding");
        size_t k = pos;
        if (ix) {
            double v = cJSON_IsNumber(ix) ? ix->valuedouble : -1;
            if (!(v >= 0 && v < (double)count && v == floor(v))) {
                s = hr_fail(HR_ERR_IO, err, errlen,
                            "%s: data[%zu].index is not a whole number in 0..%zu", where, pos,
                            count - 1);
                goto done;
            }
            k = (size_t)v;
        }
        if (seen[k]) {
            s = hr_fail(HR_ERR_IO, err, errlen, "%s: index %zu appears twice in data", where, k);
            goto done;
        }
        seen[k] = 1;
        if (cJSON_IsString(vec)) {
            s = hr_fail(HR_ERR_IO, err, errlen,
                        "%s: data[%zu].embedding is a string (base64 replies are not "
                        "supported)", where, pos);
            goto done;
        }
        if (!cJSON_IsArray(vec)) {
            s = hr_fail(HR_ERR_IO, err, errlen, "%s: data[%zu] has no \"embedding\" list",
                        where, pos);
            goto done;
        }
        int w = cJSON_GetArraySize(vec);
        if (dim == 0) {
            if (w < 1 || w > MAX_DIM) {
                s = hr_fail(HR_ERR_IO, err, errlen, "%s: data[%zu] has %d numbers (1..%d expected)",
                            where, pos, w, MAX_DIM);
                goto done;
            }
            dim = w;
        } else if (w != dim) {
            s = hr_fail(HR_ERR_IO, err, errlen, "%s: data[%zu] has %d numbers, expected %d (%s)",
                        where, pos, w, dim,
                        e->dim_given ? "the width given" :
                        e->dim ? "the width the endpoint sent before" : "as data[0]");
            goto done;
        }
        if (!rows && !(rows = malloc(count * (size_t)dim * sizeof *rows))) {
            s = hr_fail(HR_ERR_NOMEM, err, errlen, "remote embeddings: out of memory");
            goto done;
        }
        float *row = rows + k * (size_t)dim; /* (dim) */
        size_t d = 0;
        const cJSON *num;
        cJSON_ArrayForEach(num, vec)
        {
            double v = cJSON_IsNumber(num) ? num->valuedouble : NAN;
            if (!isfinite(v) || fabs(v) > FLT_MAX) {
                s = hr_fail(HR_ERR_IO, err, errlen,
                            "%s: data[%zu].embedding[%zu] is not a finite number", where, pos, d);
                goto done;
            }
            row[d++] = (float)v;
        }
        pos++;
    }

    /* All checks passed: keep the vectors. */
    if (c->out) {
        for (size_t k = 0; k < count; k++)
            memcpy(c->out + c->todo[lo + k] * (size_t)dim, rows + k * (size_t)dim,
                   (size_t)dim * sizeof *rows);
    } else {
        c->probe = rows;
        rows = NULL;
        if ((s = set_dim(e, dim, err, errlen)) != HR_OK)
            goto done;
    }
    if (e->cache) {
        const char **t = malloc(count * sizeof *t);
        size_t *l = malloc(count * sizeof *l);
        if (!t || !l) {
            free(t);
            free(l);
            s = hr_fail(HR_ERR_NOMEM, err, errlen, "remote embeddings: out of memory");
            goto done;
        }
        for (size_t k = 0; k < count; k++) {
            t[k] = c->texts[c->todo[lo + k]];
            l[k] = text_len(c, c->todo[lo + k]);
        }
        const float *src = c->out ? NULL : c->probe;
        float *packed = NULL;
        if (!src) { /* the batch's rows, contiguous, in todo order */
            packed = malloc(count * (size_t)dim * sizeof *packed);
            if (packed)
                for (size_t k = 0; k < count; k++)
                    memcpy(packed + k * (size_t)dim, c->out + c->todo[lo + k] * (size_t)dim,
                           (size_t)dim * sizeof *packed);
            src = packed;
        }
        if (!src)
            s = hr_fail(HR_ERR_NOMEM, err, errlen, "remote embeddings: out of memory");
        else
            s = hr_cache_put(e->cache, e->model_id, dim, t, l, count, src, err, errlen);
        free(packed);
        free(t);
        free(l);
        if (s != HR_OK)
            goto done;
    }
    const cJSON *usage = cJSON_GetObjectItemCaseSensitive(j, "usage");
    const cJSON *pt = cJSON_GetObjectItemCaseSensitive(usage, "prompt_tokens");
    if (cJSON_IsNumber(pt) && pt->valuedouble >= 0 && pt->valuedouble < 9e15)
        c->st->prompt_tokens += (long long)pt->valuedouble;
    c->st->sent += count;
    c->done += count;
    if (e->progress)
        e->progress(c->done, c->n, e->progress_user);

done:
    if (s != HR_OK && err && errlen)
        hr_http_redact(e->http, err);
    cJSON_Delete(j);
    free(seen);
    free(rows);
    return s;
}

static hr_status fail_cb(void *user, size_t b, hr_status st, const char *msg, int attempts,
                         char *err, size_t errlen)
{
    (void)attempts;
    ctx *c = user;
    size_t lo = b * c->batch, hi = lo + c->batch < c->ntodo ? lo + c->batch : c->ntodo;
    return hr_fail(st, err, errlen, "embeddings batch %zu (texts %zu..%zu) from %s: %s", b + 1,
                   c->todo[lo] + 1, c->todo[hi - 1] + 1, hr_http_url(c->e->http), msg);
}

static hr_status run_phase(ctx *c, hr_http_counts *total, char *err, size_t errlen)
{
    size_t nb = (c->ntodo + c->batch - 1) / c->batch;
    hr_http_counts counts;
    hr_status s = hr_http_run(c->e->http, nb, build_cb, reply_cb, fail_cb, c, &counts, err,
                              errlen);
    total->requests += counts.requests;
    total->retries += counts.retries;
    return s;
}

hr_status hr_remote_embed(hr_remote_embedder *e, const char *const *texts, const size_t *lens,
                          size_t n, float **out, int *dim, hr_remote_stats *stats, char *err,
                          size_t errlen)
{
    hr_remote_stats st;
    memset(&st, 0, sizeof st);
    if (stats)
        *stats = st;
    if (out)
        *out = NULL;
    if (!e || !out || !dim || (n > 0 && !texts))
        return hr_fail(HR_ERR_INTERNAL, err, errlen, "remote embeddings: bad arguments");
    *dim = e->dim;
    for (size_t i = 0; i < n; i++) {
        if (!texts[i])
            return hr_fail(HR_ERR_INTERNAL, err, errlen, "remote embeddings: text %zu is NULL", i);
        if (lens && memchr(texts[i], '\0', lens[i]))
            return hr_fail(HR_ERR_INPUT, err, errlen,
                           "remote embeddings: text %zu contains a NUL byte", i + 1);
    }
    st.items = n;
    if (n == 0)
        return HR_OK;
    double t0 = hr_http_now();
    hr_status s = HR_OK;
    hr_http_counts counts = {0, 0};
    size_t *todo = malloc(n * sizeof *todo);
    unsigned char *found = calloc(n, 1);
    float *emb = NULL;
    ctx c;
    memset(&c, 0, sizeof c);
    c.e = e;
    c.texts = texts;
    c.lens = lens;
    c.n = n;
    c.st = &st;
    if (!todo || !found) {
        s = hr_fail(HR_ERR_NOMEM, err, errlen, "remote embeddings: out of memory");
        goto done;
    }

    /* Phase 1: the width is unknown, so the first text goes alone. */
    int probed = 0;
    if (e->dim == 0) {
        todo[0] = 0;
        c.todo = todo;
        c.ntodo = 1;
        c.batch = 1;
        if ((s = run_phase(&c, &counts, err, errlen)) != HR_OK)
            goto done;
        if (!c.probe || e->dim == 0) {
            s = hr_fail(HR_ERR_INTERNAL, err, errlen, "remote embeddings: the probe gave no width");
            goto done;
        }
        probed = 1;
    }

    const size_t d = (size_t)e->dim;
    if (n > SIZE_MAX / sizeof *emb / d ||
        !(emb = malloc(n * d * sizeof *emb))) {
        s = hr_fail(HR_ERR_NOMEM, err, errlen,
                    "remote embeddings: out of memory for %zu vectors of %zu floats", n, d);
        goto done;
    }
    size_t hits = 0;
    if (e->cache &&
        (s = hr_cache_get(e->cache, e->model_id, e->dim, texts, lens, n, emb, found, &hits, err,
                          errlen)) != HR_OK)
        goto done;
    if (probed) {
        memcpy(emb, c.probe, d * sizeof *emb);
        if (found[0])
            hits--; /* counted as sent by the probe */
        found[0] = 1;
    }
    st.cache_hits = hits;
    c.done = hits + (size_t)probed;
    if (e->progress && c.done)
        e->progress(c.done, n, e->progress_user);

    /* Phase 2: the misses, in batches. */
    size_t ntodo = 0;
    for (size_t i = 0; i < n; i++)
        if (!found[i])
            todo[ntodo++] = i;
    if (ntodo > 0) {
        c.todo = todo;
        c.ntodo = ntodo;
        c.batch = (size_t)e->batch;
        c.out = emb;
        if ((s = run_phase(&c, &counts, err, errlen)) != HR_OK)
            goto done;
    }

    if (e->normalize)
        for (size_t i = 0; i < n; i++) {
            float *row = emb + i * d; /* (dim) */
            double ss = 0;
            for (size_t k = 0; k < d; k++)
                ss += (double)row[k] * row[k];
            if (ss > 0) {
                float inv = (float)(1.0 / sqrt(ss));
                for (size_t k = 0; k < d; k++)
                    row[k] *= inv;
            }
        }
    *out = emb;
    *dim = e->dim;
    emb = NULL;

done:
    if (s != HR_OK)
        st.failed = n - st.cache_hits - st.sent;
    st.http_requests = counts.requests;
    st.retries = counts.retries;
    st.cost_usd = (double)st.prompt_tokens * e->usd_prompt / 1e6;
    st.seconds = hr_http_now() - t0;
    if (stats)
        *stats = st;
    free(c.probe);
    free(emb);
    free(todo);
    free(found);
    return s;
}
