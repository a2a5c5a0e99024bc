/*
 * host/backends/cuda/backend_cuda.c: the CUDA backend (host/backends/backend.h),
 * compiled only in builds with the CUDA toolkit (HR_HAVE_CUDA). Its tables
 * put the CUDA side in front of the front ends:
 *
 *   encoder  the CUDA encoder (kernels/encoder.cu, encoder_cuda.h) and its
 *            driver (encoder_gpu.c); the steps on host data for the tests
 *   scorer   the CUDA scorer (kernels/scorer.cu, scorer_cuda.h): COSINE and
 *            CONTRAST directly, CENTERED through its linear form
 *            (host/scoring/score_methods.h)
 *   probe    the passes of kernels/probe.cu (probe_cuda.c)
 */
#include "backends/backend.h"
#include "backends/cuda/cuda.h"
#include "backends/cuda/encoder_cuda.h"
#include "backends/cuda/scorer_cuda.h"
#include "hyporank/findings.h"
#include "scoring/score_methods.h"
#include "core/util.h"

#include <math.h>
#include <stdlib.h>

extern const hr_probe_backend hr_probe_backend_cuda; /* probe_cuda.c */

static int cuda_usable(const char **why)
{
    return hr_cuda_device_count(why) > 0;
}

/* ------------------------------------------------------------------ encoder */

typedef struct cuda_encoder {
    hr_cuda_encoder *g;
    const hr_model *m; /* borrowed */
    int n_threads;
} cuda_encoder;

static void enc_destroy(void *state)
{
    cuda_encoder *e = state;
    if (!e) return;
    hr_cuda_encoder_destroy(e->g);
    free(e);
}

static hr_status enc_create(const hr_model *m, int n_threads, void **out, char *err,
                            size_t errlen)
{
    cuda_encoder *e = calloc(1, sizeof *e);
    if (!e) return hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory");
    e->m = m;
    e->n_threads = n_threads;
    hr_status st = hr_cuda_encoder_create(m, &e->g, err, errlen);
    if (st != HR_OK) {
        enc_destroy(e);
        return st;
    }
    *out = e;
    return HR_OK;
}

static hr_status enc_embed(void *state, const hr_gpu_embed_options *opt,
                           const char *const *texts, const size_t *lens, size_t n, float *out,
                           hr_progress_fn progress, void *user, char *err, size_t errlen)
{
    const cuda_encoder *e = state;
    return hr_gpu_embed(e->g, e->m, e->n_threads, opt, texts, lens, n, out, progress, user, err,
                        errlen);
}

static hr_status enc_forward(void *state, const int32_t *ids, const int *offsets, int n_seq,
                             float *out, char *err, size_t errlen)
{
    const cuda_encoder *e = state;
    return hr_cuda_encoder_forward(e->g, ids, offsets, n_seq, out, err, errlen);
}

static const hr_encoder_ops cuda_encoder_ops = {
    .layernorm_rows = hr_cuda_layernorm_rows_host,
    .l2_normalize_rows = hr_cuda_l2_normalize_rows_host,
    .embed_layernorm = hr_cuda_embed_layernorm_host,
    .residual_layernorm = hr_cuda_residual_layernorm_host,
    .bias_gelu = hr_cuda_bias_gelu_host,
    .attention = hr_cuda_attention_host,
    .mean_pool = hr_cuda_mean_pool_host,
};

/* Texts between two cache writes: the GPU embeds ~30 times faster than the
 * CPU and its driver overlaps tokenising a chunk with computing the one
 * before, so its calls must be bigger to keep it busy. */
#define CUDA_CACHE_BATCH_TEXTS 32768

static const hr_encoder_backend cuda_encoder_table = {
    .create = enc_create,
    .destroy = enc_destroy,
    .embed = enc_embed,
    .forward = enc_forward,
    .cache_batch_texts = CUDA_CACHE_BATCH_TEXTS,
    .ops = &cuda_encoder_ops,
};

/* ------------------------------------------------------------------- scorer */

/* auto uses the GPU only from this many A-B pairs on: one pair then weighs
 * at most 1e-6 of the AUROC, so the binning error (scorer_cuda.h) stays far
 * under 1e-4 even for tiny groups. */
#define CUDA_MIN_PAIRS 1e6
/* The GPU's CONTRAST is offered up to this temperature (the default is
 * 0.02), where its bins and its float rounding (T times ~6e-8 log K) keep
 * the AUROC within 1e-4 of the CPU's; above it auto scores on the CPU and
 * cuda refuses. tests/test_backends.c also checks T = 30 and 1000 on the
 * GPU (the shifted form and the capped range of kernels/scorer.cu): the
 * limit may rise to HR_SCORER_MAX_TEMPERATURE where that check passes. */
#define CUDA_MAX_CONTRAST_T 1.0

typedef struct cuda_scorer {
    hr_scorer_cuda *g;
    hr_score_method method;
    double t;
    int dim;
    const float *xa, *xb; /* borrowed: (n_a, dim), (n_b, dim) row-major */
    size_t n_a, n_b;
    float *h_lin;   /* (h_cap, dim) CENTERED's hypotheses in linear form, unit norm */
    double *h_norm; /* (h_cap) their norms before scaling (1 when zero) */
    size_t h_cap;
} cuda_scorer;

static int sc_supports(hr_score_method method, double t, char *why, size_t whylen)
{
    if (method == HR_SCORE_CONTRAST && t > CUDA_MAX_CONTRAST_T) {
        hr_fail(HR_ERR_UNSUPPORTED, why, whylen,
                "the GPU scorer's contrast is verified up to temperature %g, not %g",
                CUDA_MAX_CONTRAST_T, t);
        return 0;
    }
    return 1;
}

static void sc_destroy(void *state)
{
    cuda_scorer *s = state;
    if (!s) return;
    hr_scorer_cuda_destroy(s->g);
    free(s->h_lin);
    free(s->h_norm);
    free(s);
}

static hr_status sc_create(const float *xa, size_t n_a, const float *xb, size_t n_b, int dim,
                           const hr_scorer_backend_options *o, void **out, char *err,
                           size_t errlen)
{
    cuda_scorer *s = calloc(1, sizeof *s);
    if (!s) return hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory");
    s->method = o->method;
    s->t = o->temperature;
    s->dim = dim;
    s->xa = xa, s->xb = xb, s->n_a = n_a, s->n_b = n_b;
    hr_status st =
        hr_scorer_cuda_create(xa, n_a, xb, n_b, dim, o->device_memory_bytes, &s->g, err, errlen);
    if (st != HR_OK) {
        sc_destroy(s);
        return st;
    }
    *out = s;
    return HR_OK;
}

/* CENTERED through its linear form: a COSINE call on (K h_k - sum_j h_j) /
 * (K - 1) scaled to unit norm, means scaled back. */
static hr_status score_centered(cuda_scorer *s, const float *h, size_t k,
                                hr_hypothesis_score *out, char *err, size_t errlen)
{
    const size_t d = (size_t)s->dim;
    /* A non-finite hypothesis must be named as the CPU names it, not lost in the sums. */
    for (size_t i = 0; i < k * d; i++)
        if (!isfinite(h[i]))
            return hr_fail(HR_ERR_INPUT, err, errlen,
                           "hypothesis %zu (counting from 0): embedding is not finite", i / d);
    if (s->h_cap < k) {
        float *hl = realloc(s->h_lin, k * d * sizeof *hl);
        if (hl) s->h_lin = hl;
        double *hn = realloc(s->h_norm, k * sizeof *hn);
        if (hn) s->h_norm = hn;
        if (!hl || !hn) return hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory");
        s->h_cap = k;
    }
    hr_status st = hr_score_centered_linear(h, k, s->dim, s->h_lin, s->h_norm, err, errlen);
    if (st == HR_OK) st = hr_scorer_cuda_score(s->g, s->h_lin, k, out, err, errlen);
    if (st != HR_OK) return st;
    for (size_t i = 0; i < k; i++) {
        out[i].mean_a *= s->h_norm[i];
        out[i].mean_b *= s->h_norm[i];
    }
    return HR_OK;
}

static hr_status sc_score(void *state, const float *h, size_t k, hr_hypothesis_score *out,
                          char *err, size_t errlen)
{
    cuda_scorer *s = state;
    if (s->method == HR_SCORE_COSINE) return hr_scorer_cuda_score(s->g, h, k, out, err, errlen);
    if (s->method == HR_SCORE_CONTRAST)
        return hr_scorer_cuda_score_contrast(s->g, h, k, s->t, out, err, errlen);
    return score_centered(s, h, k, out, err, errlen);
}

/* COSINE: the effects from the GPU's own histograms; the other methods bin
 * their scores, not the similarity, so their effects are computed on the
 * CPU (hr_effect_rows). */
static hr_status sc_score_effects(void *state, const float *h, size_t k,
                                  hr_hypothesis_score *out, hr_effect *effects, char *err,
                                  size_t errlen)
{
    cuda_scorer *s = state;
    if (s->method == HR_SCORE_COSINE)
        return hr_scorer_cuda_score_effects(s->g, h, k, out, effects, err, errlen);
    hr_status st = sc_score(state, h, k, out, err, errlen);
    if (st == HR_OK)
        st = hr_effect_rows(s->xa, s->n_a, s->xb, s->n_b, s->dim, h, k, effects, err, errlen);
    return st;
}

static void sc_layout(const void *state, hr_scorer_layout *out)
{
    const cuda_scorer *s = state;
    hr_scorer_cuda_layout l;
    hr_scorer_cuda_info(s->g, &l);
    *out = (hr_scorer_layout){l.resident, l.chunk_samples, l.block_rows, l.group_rows};
}

static const hr_scorer_backend cuda_scorer_table = {
    .supports = sc_supports,
    .auto_min_pairs = CUDA_MIN_PAIRS,
    .create = sc_create,
    .destroy = sc_destroy,
    .score = sc_score,
    .score_effects = sc_score_effects,
    .layout = sc_layout,
};

/* ------------------------------------------------------------------ backend */

const hr_backend hr_backend_cuda = {
    .name = "cuda",
    .device = HR_DEVICE_CUDA,
    .usable = cuda_usable,
    .device_name = hr_cuda_device_info,
    .encoder = &cuda_encoder_table,
    .scorer = &cuda_scorer_table,
    .probe = &hr_probe_backend_cuda,
};
