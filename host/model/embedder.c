/* host/model/embedder.c: the local or remote sentence encoder behind one
 * interface, with the embedding cache (hyporank/embedder.h). */
#include "hyporank/embedder.h"
#include "core/util.h"
#include "hyporank/cache.h"
#include "hyporank/model.h"
#include "hyporank/remote_embed.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct hr_embedder {
    /* the options, copied */
    char *model_dir, *url, *model, *cache_opt;
    hr_device device;
    int n_threads, no_cache, no_verify_model;
    /* opened by hr_embedder_load */
    int loaded;
    char cache_path[4096];              /* "" without a cache */
    hr_model *local;                    /* local: the model ... */
    hr_encoder *enc;                    /* ... and its encoder */
    hr_cache *cache;                    /* local: the cache (remote: inside the client) */
    hr_remote_embedder *remote;
    size_t dim;                         /* 0 until known */
    hr_embed_stats last;                /* of the last call */
    /* the call under way, for the progress trampoline */
    const hr_events *ev;
};

void hr_embedder_options_init(hr_embedder_options *o)
{
    memset(o, 0, sizeof *o);
    o->device = HR_DEVICE_AUTO;
}

static char *dup_or_null(const char *s, int *failed)
{
    if (!s) return NULL;
    char *d = strdup(s);
    if (!d) *failed = 1;
    return d;
}

hr_status hr_embedder_create(const hr_embedder_options *opt, hr_embedder **out, char *err,
                             size_t errlen)
{
    if (!opt || !out) return hr_fail(HR_ERR_INTERNAL, err, errlen, "hr_embedder_create: NULL argument");
    *out = NULL;
    hr_embedder *e = calloc(1, sizeof *e);
    if (!e) return hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory");
    int failed = 0;
    e->model_dir = dup_or_null(opt->model_dir, &failed);
    e->url = dup_or_null(opt->url, &failed);
    e->model = dup_or_null(opt->model, &failed);
    e->cache_opt = dup_or_null(opt->cache_path, &failed);
    e->device = opt->device;
    e->n_threads = opt->n_threads;
    e->no_cache = opt->no_cache;
    e->no_verify_model = opt->no_verify_model;
    if (failed) {
        hr_embedder_destroy(e);
        return hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory");
    }
    *out = e;
    return HR_OK;
}

void hr_embedder_destroy(hr_embedder *e)
{
    if (!e) return;
    hr_remote_embed_destroy(e->remote);
    hr_cache_close(e->cache);
    hr_encoder_destroy(e->enc);
    hr_model_destroy(e->local);
    free(e->model_dir), free(e->url), free(e->model), free(e->cache_opt);
    free(e);
}

static void emit(const hr_events *ev, hr_event_kind kind, const char *text, size_t done,
                 size_t total)
{
    if (!ev || !ev->fn) return;
    hr_event x = {kind, text, done, total};
    ev->fn(&x, ev->user);
}

/* The caller's cancel hook. */
static int on_cancel(void *user)
{
    const hr_embedder *e = user;
    return e->ev && e->ev->cancel && e->ev->cancel(e->ev->user);
}

/* The hr_remote_progress_fn of the call under way. */
static void on_remote_progress(size_t done, size_t total, void *user)
{
    hr_embedder *e = user;
    emit(e->ev, HR_EVENT_PROGRESS, NULL, done, total);
}

/* The local encoder's hr_progress_fn: the event, then the cancel hook. */
static int on_progress(size_t done, size_t total, void *user)
{
    on_remote_progress(done, total, user);
    return on_cancel(user);
}

hr_status hr_embedder_load(hr_embedder *e, char *err, size_t errlen)
{
    if (!e) return hr_fail(HR_ERR_INTERNAL, err, errlen, "hr_embedder_load: NULL embedder");
    if (e->loaded) return HR_OK;
    if (!e->no_cache) {
        const char *path = e->cache_opt;
        if (!path) path = hr_cache_default_path(e->cache_path, sizeof e->cache_path);
        if (!path)
            return hr_fail(HR_ERR_IO, err, errlen,
                           "no cache location: set HOME or HYPORANK_CACHE, or pass --cache FILE "
                           "or --no-cache");
        if (path != e->cache_path) snprintf(e->cache_path, sizeof e->cache_path, "%s", path);
    }
    if (!!e->url != !!e->model)
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "--embed-url and --embed-model go together: give both, or neither for "
                       "the local model");
    hr_status st;
    if (e->url) {
        hr_remote_options ro;
        hr_remote_options_init(&ro);
        ro.url = e->url;
        ro.model = e->model;
        ro.cache_path = e->cache_path[0] ? e->cache_path : NULL;
        ro.progress = on_remote_progress;
        ro.progress_user = e;
        st = hr_remote_embed_create(&ro, &e->remote, err, errlen);
        if (st == HR_OK) e->dim = (size_t)hr_remote_embed_dim(e->remote);
    } else {
        if (!e->model_dir)
            return hr_fail(HR_ERR_MODEL, err, errlen, "no model folder given");
        const hr_model_options mo = {e->no_verify_model};
        st = hr_model_load_with(e->model_dir, &mo, &e->local, err, errlen);
        if (st == HR_OK)
            st = hr_encoder_create(e->local, e->device, e->n_threads, &e->enc, err, errlen);
        if (st == HR_OK && e->cache_path[0]) st = hr_cache_open(e->cache_path, &e->cache, err, errlen);
        if (st == HR_OK) e->dim = (size_t)hr_encoder_dim(e->enc);
    }
    if (st != HR_OK) {
        /* Leave it as created, so that a later call reports the problem again. */
        hr_remote_embed_destroy(e->remote), e->remote = NULL;
        hr_cache_close(e->cache), e->cache = NULL;
        hr_encoder_destroy(e->enc), e->enc = NULL;
        hr_model_destroy(e->local), e->local = NULL;
        e->dim = 0;
        return st;
    }
    e->loaded = 1;
    return HR_OK;
}

size_t hr_embedder_dim(const hr_embedder *e) { return e ? e->dim : 0; }

const char *hr_embedder_model(const hr_embedder *e)
{
    if (!e || !e->loaded) return NULL;
    return e->remote ? e->model : hr_model_name(e->local);
}

const char *hr_embedder_model_id(const hr_embedder *e)
{
    if (!e || !e->loaded) return NULL;
    return e->remote ? hr_remote_embed_model_id(e->remote) : hr_model_id(e->local);
}

const char *hr_embedder_device(const hr_embedder *e)
{
    if (!e || !e->loaded) return NULL;
    return e->remote ? "remote" : hr_device_str(hr_encoder_device(e->enc));
}

const char *hr_embedder_cache_path(const hr_embedder *e)
{
    return e && e->loaded && e->cache_path[0] ? e->cache_path : NULL;
}

hr_embed_stats hr_embedder_last_stats(const hr_embedder *e)
{
    hr_embed_stats none = {0, 0, 0};
    return e ? e->last : none;
}

/* One call on distinct texts: *out is the caller's buffer (into) or
 * allocated here. */
static hr_status embed_distinct(hr_embedder *e, const char *const *texts, const size_t *lens, size_t n,
                       const char *label, const hr_events *ev, float **out, int into, char *err,
                       size_t errlen)
{
    hr_status st = hr_embedder_load(e, err, errlen);
    if (st != HR_OK) return st;
    if (into && e->dim == 0)
        return hr_fail(HR_ERR_INTERNAL, err, errlen,
                       "hr_embedder_embed_into: the width is not known yet");
    e->last.computed = e->last.from_cache = e->last.repeats = 0;
    e->ev = ev;
    if (n > 0 && on_cancel(e)) { /* a remote call is asked only here */
        e->ev = NULL;
        return hr_fail(HR_ERR_CANCELLED, err, errlen, "cancelled before embedding %zu texts", n);
    }
    emit(ev, HR_EVENT_BEGIN, label, 0, n);
    if (e->remote) {
        float *got = NULL;
        int dim = 0;
        hr_remote_stats rs;
        memset(&rs, 0, sizeof rs);
        st = hr_remote_embed(e->remote, texts, lens, n, &got, &dim, &rs, err, errlen);
        if (st == HR_OK) {
            if (into && (size_t)dim != e->dim) {
                st = hr_fail(HR_ERR_IO, err, errlen,
                             "the endpoint's embeddings changed width from %zu to %d", e->dim, dim);
                free(got);
            } else if (into) {
                /* The client returns its own matrix: the transport's copy. */
                memcpy(*out, got, n * e->dim * sizeof *got);
                free(got);
            } else {
                e->dim = (size_t)dim;
                *out = got;
            }
        }
        e->last.computed = rs.sent;
        e->last.from_cache = rs.cache_hits;
    } else {
        float *dst = into ? *out : malloc((n ? n : 1) * e->dim * sizeof *dst); /* (n, dim) */
        if (!dst) {
            st = hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory for %zu x %zu embeddings (%s)",
                         n, e->dim, label ? label : "embedding");
        } else {
            hr_embed_stats es = {0, 0, 0};
            st = hr_encoder_embed_cached(e->enc, e->cache, texts, lens, n, dst, on_progress, e,
                                         &es, err, errlen);
            e->last = es;
            if (!into) {
                if (st == HR_OK) *out = dst;
                else free(dst);
            }
        }
    }
    emit(ev, HR_EVENT_END, label, n, n);
    e->ev = NULL;
    return st;
}

/* ---- repeated texts ---------------------------------------------------------- */

/* FNV-1a over the bytes, then mixed: the table's hash. */
static uint64_t text_hash(const char *s, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
    h ^= h >> 31;
    return h * 0x9E3779B97F4A7C15ULL;
}

/* The distinct texts of a call, numbered in order of first appearance:
 * of (n) the number of each text (so of[i] <= i); first (n, m used) the row
 * of each one's first appearance; *m their count. Open addressing over
 * 2n..4n slots, so a probe sequence stays short. */
static hr_status distinct_texts(const char *const *texts, const size_t *lens, size_t n,
                                size_t *of, size_t *first, size_t *m)
{
    size_t cap = 16;
    while (cap < 2 * n) cap *= 2;
    size_t *slot = malloc(cap * sizeof *slot); /* (cap) 1 + distinct number, 0: empty */
    if (!slot) return HR_ERR_NOMEM;
    memset(slot, 0, cap * sizeof *slot);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const size_t len = lens ? lens[i] : strlen(texts[i]);
        size_t at = (size_t)text_hash(texts[i], len) & (cap - 1);
        for (;; at = (at + 1) & (cap - 1)) {
            if (!slot[at]) {
                slot[at] = k + 1;
                first[k] = i;
                of[i] = k++;
                break;
            }
            const size_t r = first[slot[at] - 1];
            const size_t rlen = lens ? lens[r] : strlen(texts[r]);
            if (rlen == len && memcmp(texts[r], texts[i], len) == 0) {
                of[i] = slot[at] - 1;
                break;
            }
        }
    }
    free(slot);
    *m = k;
    return HR_OK;
}

/* One call: each distinct text is embedded (and cached) once, and rows of
 * repeats are copies of the first. */
static hr_status embed(hr_embedder *e, const char *const *texts, const size_t *lens, size_t n,
                       const char *label, const hr_events *ev, float **out, int into, char *err,
                       size_t errlen)
{
    size_t *of = malloc((n ? n : 1) * sizeof *of), *first = malloc((n ? n : 1) * sizeof *first);
    const char **dt = NULL;
    size_t *dl = NULL, m = 0;
    hr_status st = of && first ? distinct_texts(texts, lens, n, of, first, &m) : HR_ERR_NOMEM;
    if (st == HR_OK && m == n) { /* nothing repeats */
        free(of), free(first);
        return embed_distinct(e, texts, lens, n, label, ev, out, into, err, errlen);
    }
    if (st == HR_OK) {
        dt = malloc((m ? m : 1) * sizeof *dt); /* (m) the distinct texts */
        dl = malloc((m ? m : 1) * sizeof *dl);
        if (!dt || !dl) st = HR_ERR_NOMEM;
    }
    if (st != HR_OK) {
        free(of), free(first), free(dt), free(dl);
        return hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory");
    }
    for (size_t k = 0; k < m; k++) {
        dt[k] = texts[first[k]];
        dl[k] = lens ? lens[first[k]] : strlen(texts[first[k]]);
    }
    /* The distinct rows land in rows 0..m-1; then, from the last row down,
     * row i takes row of[i] <= i, which nothing has overwritten yet. */
    st = embed_distinct(e, dt, dl, m, label, ev, out, into, err, errlen);
    if (st == HR_OK && !into) {
        float *grown = realloc(*out, n * e->dim * sizeof *grown); /* (n, dim) */
        if (!grown) {
            free(*out);
            *out = NULL;
            st = hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory for %zu x %zu embeddings",
                         n, e->dim);
        } else {
            *out = grown;
        }
    }
    if (st == HR_OK) {
        float *x = *out;
        for (size_t i = n; i-- > 0;)
            if (of[i] != i) memcpy(x + i * e->dim, x + of[i] * e->dim, e->dim * sizeof *x);
        e->last.repeats = n - m;
    }
    free(of), free(first), free(dt), free(dl);
    return st;
}

hr_status hr_embedder_embed(hr_embedder *e, const char *const *texts, const size_t *lens,
                            size_t n, const char *label, const hr_events *ev, float **out,
                            char *err, size_t errlen)
{
    if (!e || !out) return hr_fail(HR_ERR_INTERNAL, err, errlen, "hr_embedder_embed: NULL argument");
    *out = NULL;
    return embed(e, texts, lens, n, label, ev, out, 0, err, errlen);
}

hr_status hr_embedder_embed_into(hr_embedder *e, const char *const *texts, const size_t *lens,
                                 size_t n, const char *label, const hr_events *ev, float *out,
                                 char *err, size_t errlen)
{
    if (!e || (!out && n)) return hr_fail(HR_ERR_INTERNAL, err, errlen, "hr_embedder_embed_into: NULL argument");
    return embed(e, texts, lens, n, label, ev, &out, 1, err, errlen);
}
