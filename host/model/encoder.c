/*
 * host/model/encoder.c: the encoder handle: the choice of backend
 * (host/backends/backend.h) by hyporank/device.h's policy, the dispatch
 * through its table, and the cache (hr_encoder_embed_cached).
 *
 * HR_DEVICE_AUTO never fails where HR_DEVICE_CPU would work: an
 * accelerator whose encoder cannot be had (no device, a model it cannot
 * run, a device error or too little memory while uploading the weights)
 * gives the CPU encoder, silently, and hr_encoder_gpu_note
 * (host/model/encoder_internal.h) says why. Likewise an embed on an auto
 * encoder whose accelerator fails (a device error, memory) is done again on
 * the CPU, and the encoder stays on the CPU from then on (hr_encoder_device
 * says so). With an explicit device the same failures are errors whose
 * messages start with "--device <device>: ".
 */
#include "hyporank/encoder.h"
#include "hyporank/cache.h"
#include "backends/backend.h"
#include "model/encoder_internal.h"
#include "core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct hr_encoder {
    const hr_model *model;     /* borrowed */
    hr_device requested;       /* what hr_encoder_create was asked for */
    int n_threads;
    const hr_backend *backend; /* what runs */
    void *state;               /* the backend's encoder */
    hr_gpu_embed_options gpu_opt; /* zero: the backend's defaults */
    char note[512];            /* auto on the CPU: why */
};

/* Opens b's encoder on enc; on failure why says why. */
static hr_status open_backend(hr_encoder *enc, const hr_backend *b, char *why, size_t whylen)
{
    const char *reason = NULL;
    if (!hr_backend_usable(b, &reason))
        return hr_fail(HR_ERR_NO_DEVICE, why, whylen, "no usable GPU (%s)",
                       reason ? reason : "no device found");
    void *state = NULL;
    hr_status st = b->encoder->create(enc->model, enc->n_threads, &state, why, whylen);
    if (st != HR_OK) return st;
    enc->backend = b;
    enc->state = state;
    return HR_OK;
}

hr_status hr_encoder_create(const hr_model *model, hr_device device, int n_threads,
                            hr_encoder **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!model) return hr_fail(HR_ERR_INTERNAL, err, errlen, "hr_encoder_create: no model");
    if (device != HR_DEVICE_AUTO && device != HR_DEVICE_CPU && device != HR_DEVICE_CUDA)
        return hr_fail(HR_ERR_INTERNAL, err, errlen, "hr_encoder_create: bad device %d", (int)device);
    hr_encoder *enc = calloc(1, sizeof *enc);
    if (!enc) return hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory");
    enc->model = model;
    enc->requested = device;
    if (n_threads <= 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        n_threads = cores > 0 ? (int)(cores < 64 ? cores : 64) : 1;
    }
    enc->n_threads = n_threads;
    hr_status st = HR_OK;
    char why[sizeof enc->note] = "";
    if (device != HR_DEVICE_CPU) {
        const hr_backend *b = NULL;
        if (device == HR_DEVICE_AUTO) {
            const char *reason = NULL;
            b = hr_backend_accelerator(HR_SERVICE_ENCODER, &reason);
            if (!b) st = hr_fail(HR_ERR_NO_DEVICE, why, sizeof why, "no usable GPU (%s)", reason);
        } else {
            st = hr_backend_for(device, HR_SERVICE_ENCODER, &b, why, sizeof why);
        }
        if (st == HR_OK) st = open_backend(enc, b, why, sizeof why);
        if (st != HR_OK && !hr_device_falls_back(device, st)) {
            free(enc);
            return hr_fail(st, err, errlen, "--device %s: %s", hr_device_str(device), why);
        }
        if (st != HR_OK) snprintf(enc->note, sizeof enc->note, "%s", why); /* auto: the CPU */
    }
    if (!enc->backend) {
        const hr_backend *cpu = NULL;
        st = hr_backend_for(HR_DEVICE_CPU, HR_SERVICE_ENCODER, &cpu, err, errlen);
        if (st == HR_OK) st = open_backend(enc, cpu, err, errlen);
        if (st != HR_OK) {
            free(enc);
            return st;
        }
    }
    *out = enc;
    return HR_OK;
}

void hr_encoder_destroy(hr_encoder *enc)
{
    if (!enc) return;
    if (enc->backend) enc->backend->encoder->destroy(enc->state);
    free(enc);
}

int hr_encoder_dim(const hr_encoder *enc)
{
    return hr_model_dim(enc->model);
}

hr_device hr_encoder_device(const hr_encoder *enc)
{
    return enc->backend->device;
}

void hr_encoder_set_gpu_options(hr_encoder *enc, const hr_gpu_embed_options *opt)
{
    if (opt) enc->gpu_opt = *opt;
    else memset(&enc->gpu_opt, 0, sizeof enc->gpu_opt);
}

const char *hr_encoder_gpu_note(const hr_encoder *enc)
{
    return enc->requested == HR_DEVICE_AUTO && enc->note[0] ? enc->note : NULL;
}

hr_status hr_encoder_embed(hr_encoder *enc, const char *const *texts, const size_t *lens,
                           size_t n, float *out, hr_progress_fn progress, void *user,
                           char *err, size_t errlen)
{
    const hr_encoder_backend *e = enc->backend->encoder;
    if (enc->backend->device == HR_DEVICE_CPU)
        return e->embed(enc->state, &enc->gpu_opt, texts, lens, n, out, progress, user, err,
                        errlen);
    char why[sizeof enc->note - 64] = ""; /* room for the note's preamble */
    hr_status st = e->embed(enc->state, &enc->gpu_opt, texts, lens, n, out, progress, user, why,
                            sizeof why);
    if (st == HR_OK) return HR_OK;
    if (!hr_device_falls_back(enc->requested, st)) return hr_fail(st, err, errlen, "%s", why);
    /* auto: the CPU can still do it, and does from now on */
    const hr_backend *cpu = NULL;
    void *cpu_state = NULL;
    hr_status st2 = hr_backend_for(HR_DEVICE_CPU, HR_SERVICE_ENCODER, &cpu, err, errlen);
    if (st2 == HR_OK)
        st2 = cpu->encoder->create(enc->model, enc->n_threads, &cpu_state, err, errlen);
    if (st2 != HR_OK) return st2;
    snprintf(enc->note, sizeof enc->note, "the GPU encoder failed, the CPU took over: %s", why);
    e->destroy(enc->state);
    enc->backend = cpu;
    enc->state = cpu_state;
    return cpu->encoder->embed(cpu_state, &enc->gpu_opt, texts, lens, n, out, progress, user, err,
                               errlen);
}

typedef struct cached_progress {
    hr_progress_fn fn;
    void *user;
    size_t base, total; /* texts done before the current batch; all texts */
} cached_progress;

static int forward_progress(size_t done, size_t total, void *user)
{
    (void)total;
    cached_progress *p = user;
    return p->fn(p->base + done, p->total, p->user);
}

hr_status hr_encoder_embed_cached(hr_encoder *enc, hr_cache *cache, const char *const *texts,
                                  const size_t *lens, size_t n, float *out,
                                  hr_progress_fn progress, void *user, hr_embed_stats *stats,
                                  char *err, size_t errlen)
{
    hr_embed_stats local = {0, 0, 0};
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
    if (progress && progress(hits, n, user)) {
        st = hr_fail(HR_ERR_CANCELLED, err, errlen, "cancelled after %zu of %zu texts", hits, n);
        goto done;
    }
    /* Texts between two cache writes: what a killed run can lose (the
     * backend's figure: faster backends need bigger calls to keep busy). */
    const size_t per_put = enc->backend->encoder->cache_batch_texts;
    size_t batch = misses < per_put ? misses : per_put;
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
