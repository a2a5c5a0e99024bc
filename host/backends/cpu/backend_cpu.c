/*
 * host/backends/cpu/backend_cpu.c: the CPU backend, the specification every
 * other backend must agree with (host/backends/backend.h). Its services are
 * the CPU encoder (encoder_cpu.c), the CPU scorer (scorer_cpu.c) and the
 * probe's passes (probe_cpu.c); this file puts them in tables.
 */
#include "backends/backend.h"
#include "backends/cpu/encoder_cpu.h"
#include "backends/cpu/scorer_cpu.h"
#include "core/util.h"

#include <stdlib.h>
#include <string.h>

extern const hr_probe_backend hr_probe_backend_cpu; /* probe_cpu.c */

/* ------------------------------------------------------------------ encoder */

typedef struct cpu_encoder {
    const hr_model *m;       /* borrowed */
    hr_cpu_packed *packed;   /* the weights for AMX, or NULL */
    int n_threads;
} cpu_encoder;

static hr_status enc_create(const hr_model *m, int n_threads, void **out, char *err,
                            size_t errlen)
{
    cpu_encoder *e = malloc(sizeof *e);
    if (!e) return hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory");
    e->m = m;
    e->packed = hr_cpu_pack_weights(m); /* NULL: sgemm, as good an answer */
    e->n_threads = n_threads;
    *out = e;
    return HR_OK;
}

static void enc_destroy(void *state)
{
    cpu_encoder *e = state;
    if (e) hr_cpu_packed_free(e->packed);
    free(e);
}

static hr_status enc_embed(void *state, const hr_gpu_embed_options *opt,
                           const char *const *texts, const size_t *lens, size_t n, float *out,
                           hr_progress_fn progress, void *user, char *err, size_t errlen)
{
    (void)opt; /* the CPU's plan is its own (encoder_cpu.c) */
    const cpu_encoder *e = state;
    return hr_cpu_embed(e->m, e->packed, e->n_threads, texts, lens, n, out, progress, user, err, errlen);
}

static hr_status enc_forward(void *state, const int32_t *ids, const int *offsets, int n_seq,
                             float *out, char *err, size_t errlen)
{
    const cpu_encoder *e = state;
    if (n_seq <= 0) return HR_OK;
    int longest = 0;
    for (int s = 0; s < n_seq; s++)
        if (offsets[s + 1] - offsets[s] > longest) longest = offsets[s + 1] - offsets[s];
    hr_cpu_workspace *ws = hr_cpu_workspace_create(e->m, e->packed, offsets[n_seq], longest);
    if (!ws) return hr_fail(HR_ERR_NOMEM, err, errlen, "cannot allocate the CPU encoder's buffers");
    hr_cpu_forward(e->m, ids, offsets, n_seq, out, ws);
    hr_cpu_workspace_destroy(ws);
    return HR_OK;
}

/* The steps on host data (hr_encoder_ops): the CPU functions themselves. */

static hr_status op_layernorm_rows(float *x, int rows, int cols, const float *gamma,
                                   const float *beta, float eps, char *err, size_t errlen)
{
    (void)err, (void)errlen;
    hr_cpu_layernorm_rows(x, rows, cols, gamma, beta, eps);
    return HR_OK;
}

static hr_status op_l2_normalize_rows(float *x, int rows, int cols, char *err, size_t errlen)
{
    (void)err, (void)errlen;
    hr_cpu_l2_normalize_rows(x, rows, cols);
    return HR_OK;
}

static hr_status op_embed_layernorm(const int32_t *ids, const int *offsets, int n_seq,
                                    const float *word, int vocab, const float *pos, int n_pos,
                                    const float *type0, const float *gamma, const float *beta,
                                    float eps, int h, float *x, char *err, size_t errlen)
{
    for (int s = 0; s < n_seq; s++)
        for (int t = offsets[s]; t < offsets[s + 1]; t++)
            if (ids[t] < 0 || ids[t] >= vocab || t - offsets[s] >= n_pos)
                return hr_fail(HR_ERR_INTERNAL, err, errlen,
                               "embed_layernorm: token %d: id %d or position %d out of range", t,
                               (int)ids[t], t - offsets[s]);
    hr_cpu_embed_layernorm(ids, offsets, n_seq, word, pos, type0, gamma, beta, eps, h, x);
    return HR_OK;
}

static hr_status op_residual_layernorm(float *x, const float *y, const float *b, int rows, int h,
                                       const float *gamma, const float *beta, float eps,
                                       char *err, size_t errlen)
{
    (void)err, (void)errlen;
    hr_cpu_residual_layernorm(x, y, b, rows, h, gamma, beta, eps);
    return HR_OK;
}

static hr_status op_bias_gelu(float *y, const float *b, int rows, int cols, char *err,
                              size_t errlen)
{
    (void)err, (void)errlen;
    hr_cpu_bias_gelu_rows(y, rows, cols, b);
    return HR_OK;
}

static hr_status op_attention(const float *qkv, const float *qkv_b, const int *offsets,
                              int n_seq, int h, int heads, float *ctx, char *err, size_t errlen)
{
    const int tokens = offsets[n_seq];
    int longest = 0;
    for (int s = 0; s < n_seq; s++)
        if (offsets[s + 1] - offsets[s] > longest) longest = offsets[s + 1] - offsets[s];
    float *q = malloc((size_t)tokens * 3 * (size_t)h * sizeof *q); /* (T, 3h) with the bias */
    float *scores = malloc(hr_cpu_attention_scratch(longest, h, heads) * sizeof *scores);
    if (!q || !scores) {
        free(q), free(scores);
        return hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory");
    }
    memcpy(q, qkv, (size_t)tokens * 3 * (size_t)h * sizeof *q);
    hr_cpu_add_bias_rows(q, tokens, 3 * h, qkv_b);
    hr_cpu_attention(q, offsets, n_seq, h, heads, ctx, scores);
    free(q), free(scores);
    return HR_OK;
}

static hr_status op_mean_pool(const float *x, const int *offsets, int n_seq, int h, int normalize,
                              float *out, char *err, size_t errlen)
{
    (void)err, (void)errlen;
    hr_cpu_pool(HR_POOL_MEAN, x, offsets, n_seq, h, out);
    if (normalize) hr_cpu_l2_normalize_rows(out, n_seq, h);
    return HR_OK;
}

static const hr_encoder_ops cpu_encoder_ops = {
    .layernorm_rows = op_layernorm_rows,
    .l2_normalize_rows = op_l2_normalize_rows,
    .embed_layernorm = op_embed_layernorm,
    .residual_layernorm = op_residual_layernorm,
    .bias_gelu = op_bias_gelu,
    .attention = op_attention,
    .mean_pool = op_mean_pool,
};

/* Texts between two cache writes: about 2 s of work for 2 to 16 cores. */
#define CPU_CACHE_BATCH_TEXTS 4096

static const hr_encoder_backend cpu_encoder_table = {
    .create = enc_create,
    .destroy = enc_destroy,
    .embed = enc_embed,
    .forward = enc_forward,
    .cache_batch_texts = CPU_CACHE_BATCH_TEXTS,
    .ops = &cpu_encoder_ops,
};

/* ------------------------------------------------------------------- scorer */

static int sc_supports(hr_score_method method, double t, char *why, size_t whylen)
{
    (void)method, (void)t, (void)why, (void)whylen; /* every method, exactly */
    return 1;
}

static hr_status sc_create(const float *xa, size_t n_a, const float *xb, size_t n_b, int dim,
                           const hr_scorer_backend_options *o, void **out, char *err,
                           size_t errlen)
{
    hr_scorer_cpu *s = NULL;
    hr_status st = hr_scorer_cpu_create(xa, n_a, xb, n_b, dim, o->method, o->temperature,
                                        o->memory_bytes, o->n_threads, &s, err, errlen);
    *out = s;
    return st;
}

static void sc_destroy(void *state)
{
    hr_scorer_cpu_destroy(state);
}

static hr_status sc_score(void *state, const float *h, size_t k, hr_hypothesis_score *out,
                          char *err, size_t errlen)
{
    return hr_scorer_cpu_score(state, h, k, out, err, errlen);
}

static hr_status sc_score_effects(void *state, const float *h, size_t k,
                                  hr_hypothesis_score *out, hr_effect *effects, char *err,
                                  size_t errlen)
{
    return hr_scorer_cpu_score_effects(state, h, k, out, effects, err, errlen);
}

static void sc_layout(const void *state, hr_scorer_layout *out)
{
    const size_t rows = hr_scorer_cpu_block_rows(state);
    *out = (hr_scorer_layout){1, 0, rows, rows};
}

static const hr_scorer_backend cpu_scorer_table = {
    .supports = sc_supports,
    .auto_min_pairs = 0,
    .create = sc_create,
    .destroy = sc_destroy,
    .score = sc_score,
    .score_effects = sc_score_effects,
    .layout = sc_layout,
};

/* ------------------------------------------------------------------ backend */

const hr_backend hr_backend_cpu = {
    .name = "cpu",
    .device = HR_DEVICE_CPU,
    .usable = NULL,
    .device_name = NULL,
    .encoder = &cpu_encoder_table,
    .scorer = &cpu_scorer_table,
    .probe = &hr_probe_backend_cpu,
};
