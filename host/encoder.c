/*
 * host/encoder.c: the encoder handle and the choice of device.
 * The CPU forward pass is in encoder_cpu.c.
 */
#include "hyporank/encoder.h"
#include "hyporank/cache.h"
#include "cuda.h"
#include "encoder_cpu.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct hr_encoder {
    const hr_model *model; /* borrowed */
    hr_device device;      /* HR_DEVICE_CPU or HR_DEVICE_CUDA */
    int n_threads;
};

int hr_device_parse(const char *s, hr_device *out)
{
    if (!s) return -1;
    if (strcmp(s, "auto") == 0) *out = HR_DEVICE_AUTO;
    else if (strcmp(s, "cpu") == 0) *out = HR_DEVICE_CPU;
    else if (strcmp(s, "cuda") == 0) *out = HR_DEVICE_CUDA;
    else return -1;
    return 0;
}

const char *hr_device_str(hr_device d)
{
    switch (d) {
    case HR_DEVICE_AUTO: return "auto";
    case HR_DEVICE_CPU: return "cpu";
    case HR_DEVICE_CUDA: return "cuda";
    }
    return "unknown";
}

hr_status hr_encoder_create(const hr_model *model, hr_device device, int n_threads,
                            hr_encoder **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!model) return hr_fail(HR_ERR_INTERNAL, err, errlen, "hr_encoder_create: no model");
    if (device == HR_DEVICE_CUDA) {
        const char *why = NULL;
        if (hr_cuda_device_count(&why) == 0)
            return hr_fail(HR_ERR_NO_DEVICE, err, errlen, "--device cuda: no usable GPU (%s)", why);
        return hr_fail(HR_ERR_UNSUPPORTED, err, errlen,
                       "--device cuda: the GPU encoder is not implemented yet; "
                       "use --device cpu (or auto, which picks the CPU for now)");
    }
    /* auto: the CPU until the GPU encoder exists. */
    hr_encoder *enc = calloc(1, sizeof *enc);
    if (!enc) return hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory");
    enc->model = model;
    enc->device = HR_DEVICE_CPU;
    if (n_threads <= 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        n_threads = cores > 0 ? (int)(cores < 64 ? cores : 64) : 1;
    }
    enc->n_threads = n_threads;
    *out = enc;
    return HR_OK;
}

void hr_encoder_destroy(hr_encoder *enc)
{
    free(enc);
}

int hr_encoder_dim(const hr_encoder *enc)
{
    return hr_model_dim(enc->model);
}

hr_device hr_encoder_device(const hr_encoder *enc)
{
    return enc->device;
}

hr_status hr_encoder_embed(hr_encoder *enc, const char *const *texts, const size_t *lens,
                           size_t n, float *out, hr_progress_fn progress, void *user,
                           char *err, size_t errlen)
{
    return hr_cpu_embed(enc->model, enc->n_threads, texts, lens, n, out, progress, user, err,
                        errlen);
}

/* Texts embedded between two cache writes: what a killed run can lose. */
#define HR_CACHE_BATCH_TEXTS 4096

typedef struct cached_progress {
    hr_progress_fn fn;
    void *user;
    size_t base, total; /* texts done before the current batch; all texts */
} cached_progress;

static void forward_progress(size_t done, size_t total, void *user)
{
    (void)total;
    cached_progress *p = user;
    p->fn(p->base + done, p->total, p->user);
}

hr_status hr_encoder_embed_cached(hr_encoder *enc, hr_cache *cache, const char *const *texts,
                                  const size_t *lens, size_t n, float *out,
                                  hr_progress_fn progress, void *user, hr_embed_stats *stats,
                                  char *err, size_t errlen)
{
    hr_embed_stats local = {0, 0};
    if (!stats) stats = &local;
    stats->from_cache = stats->computed = 0;
    if (!cache) {
        hr_status st = hr_encoder_embed(enc, texts, lens, n, out, progress, user, err, errlen);
        if (st == HR_OK) stats->computed = n;
        return st;
    }
    const int dim = hr_encoder_dim(enc);
    const char *id = hr_model_id(enc->model);
    hr_status st = HR_OK;
    unsigned char *found = malloc(n ? n : 1);                 /* (n) 1 when cached */
    const char **miss_texts = malloc((n ? n : 1) * sizeof *miss_texts); /* (misses) */
    size_t *miss_lens = malloc((n ? n : 1) * sizeof *miss_lens);        /* (misses) */
    size_t *miss_rows = malloc((n ? n : 1) * sizeof *miss_rows);        /* (misses) row in out */
    float *miss_emb = NULL;                                   /* (batch, dim) */
    if (!found || !miss_texts || !miss_lens || !miss_rows) {
        st = hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory");
        goto done;
    }
    size_t hits = 0;
    st = hr_cache_get(cache, id, dim, texts, lens, n, out, found, &hits, err, errlen);
    if (st != HR_OK) goto done;
    stats->from_cache = hits;

    size_t misses = 0;
    for (size_t i = 0; i < n; i++) {
        if (found[i]) continue;
        miss_texts[misses] = texts[i];
        miss_lens[misses] = lens ? lens[i] : strlen(texts[i]);
        miss_rows[misses] = i;
        misses++;
    }
    if (progress) progress(hits, n, user);
    size_t batch = misses < HR_CACHE_BATCH_TEXTS ? misses : HR_CACHE_BATCH_TEXTS;
    miss_emb = malloc((batch ? batch : 1) * (size_t)dim * sizeof *miss_emb);
    if (!miss_emb) {
        st = hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory");
        goto done;
    }
    cached_progress cp = {progress, user, hits, n};
    for (size_t b0 = 0; b0 < misses; b0 += batch) {
        size_t nb = misses - b0 < batch ? misses - b0 : batch;
        st = hr_encoder_embed(enc, miss_texts + b0, miss_lens + b0, nb, miss_emb,
                              progress ? forward_progress : NULL, &cp, err, errlen);
        if (st != HR_OK) goto done;
        st = hr_cache_put(cache, id, dim, miss_texts + b0, miss_lens + b0, nb, miss_emb, err,
                          errlen);
        if (st != HR_OK) goto done;
        for (size_t k = 0; k < nb; k++)
            memcpy(out + miss_rows[b0 + k] * (size_t)dim, miss_emb + k * (size_t)dim,
                   (size_t)dim * sizeof(float));
        stats->computed += nb;
        cp.base += nb;
    }
done:
    free(found);
    free(miss_texts);
    free(miss_lens);
    free(miss_rows);
    free(miss_emb);
    return st;
}
