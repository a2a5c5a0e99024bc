/*
 * host/model/encoder.c: the encoder handle, the choice of device and the dispatch
 * to the CPU encoder (host/backends/cpu/encoder_cpu.c) or the GPU driver
 * (host/backends/cuda/encoder_gpu.c, on the CUDA encoder of kernels/encoder.cu).
 *
 * HR_DEVICE_AUTO never fails where HR_DEVICE_CPU would work: whatever keeps
 * the GPU encoder from being had (no GPU or a CPU-only build, a model it
 * cannot run, a CUDA error or too little GPU memory while uploading the
 * weights) gives the CPU encoder, silently, and hr_encoder_gpu_note
 * (host/backends/cuda/encoder_cuda.h) says why. Likewise an embed on an auto encoder whose
 * GPU fails (a CUDA error, GPU memory) is done again on the CPU, and the
 * encoder stays on the CPU from then on (hr_encoder_device says so). With
 * HR_DEVICE_CUDA the same failures are errors whose messages start with
 * "--device cuda: ".
 */
#include "hyporank/encoder.h"
#include "hyporank/cache.h"
#include "backends/cuda/cuda.h"
#include "backends/cpu/encoder_cpu.h"
#include "backends/cuda/encoder_cuda.h"
#include "core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct hr_encoder {
    const hr_model *model; /* borrowed */
    hr_device device;      /* HR_DEVICE_CPU or HR_DEVICE_CUDA: what runs */
    hr_device requested;   /* what hr_encoder_create was asked for */
    int n_threads;
    hr_cuda_encoder *cuda; /* the GPU encoder when device is HR_DEVICE_CUDA */
    hr_gpu_embed_options gpu_opt; /* zero: the driver's defaults */
    char note[512];        /* auto on the CPU: why */
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

/* Creates the GPU encoder for enc->model; on failure why says why. */
static hr_status open_gpu(hr_encoder *enc, char *why, size_t whylen)
{
    const char *reason = NULL;
    if (hr_cuda_device_count(&reason) == 0)
        return hr_fail(HR_ERR_NO_DEVICE, why, whylen, "no usable GPU (%s)",
                       reason ? reason : "no CUDA device found");
    hr_status st = hr_cuda_encoder_create(enc->model, &enc->cuda, why, whylen);
    if (st != HR_OK) return st;
    enc->device = HR_DEVICE_CUDA;
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
    enc->device = HR_DEVICE_CPU;
    enc->requested = device;
    if (n_threads <= 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        n_threads = cores > 0 ? (int)(cores < 64 ? cores : 64) : 1;
    }
    enc->n_threads = n_threads;
    if (device != HR_DEVICE_CPU) {
        char why[sizeof enc->note] = "";
        hr_status st = open_gpu(enc, why, sizeof why);
        if (st != HR_OK && device == HR_DEVICE_CUDA) {
            free(enc);
            return hr_fail(st, err, errlen, "--device cuda: %s", why);
        }
        if (st != HR_OK) snprintf(enc->note, sizeof enc->note, "%s", why); /* auto: the CPU */
    }
    *out = enc;
    return HR_OK;
}

void hr_encoder_destroy(hr_encoder *enc)
{
    if (!enc) return;
    hr_cuda_encoder_destroy(enc->cuda);
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
    if (enc->cuda) {
        char why[sizeof enc->note - 64] = ""; /* room for the note's preamble */
        hr_status st = hr_gpu_embed(enc->cuda, enc->model, enc->n_threads, &enc->gpu_opt, texts,
                                    lens, n, out, progress, user, why, sizeof why);
        if (st == HR_OK) return HR_OK;
        if (enc->requested != HR_DEVICE_AUTO) return hr_fail(st, err, errlen, "%s", why);
        /* auto: the CPU can still do it, and does from now on */
        snprintf(enc->note, sizeof enc->note, "the GPU encoder failed, the CPU took over: %s", why);
        hr_cuda_encoder_destroy(enc->cuda);
        enc->cuda = NULL;
        enc->device = HR_DEVICE_CPU;
    }
    return hr_cpu_embed(enc->model, enc->n_threads, texts, lens, n, out, progress, user, err,
                        errlen);
}

/* Texts embedded between two cache writes: what a killed run can lose. The
 * GPU embeds ~30 times faster and needs bigger calls to keep busy (its
 * driver overlaps tokenising a chunk with computing the one before). */
#define HR_CACHE_BATCH_TEXTS 4096
#define HR_CACHE_BATCH_TEXTS_GPU 32768

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
    const size_t per_put =
        enc->device == HR_DEVICE_CUDA ? HR_CACHE_BATCH_TEXTS_GPU : HR_CACHE_BATCH_TEXTS;
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
