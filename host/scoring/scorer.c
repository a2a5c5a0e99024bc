/*
 * host/scoring/scorer.c: the public scorer (hyporank/scorer.h): checks the options,
 * picks the backend, and applies Benjamini-Hochberg across all hypotheses of
 * a call.
 *
 * Backends: the CPU scorer (host/backends/cpu/scorer_cpu.c) computes every method exactly;
 * the CUDA scorer (host/backends/cuda/scorer_cuda.h) computes them from FP16 products with
 * a binned AUROC whose error is bounded by the mass of A-B pairs closer than
 * a bin (about 3e-5): COSINE and CONTRAST directly, CENTERED through its
 * linear form: the centred score of h_k is (h_k K - sum_j h_j) / (K - 1) . x,
 * a hypothesis like any other, scaled to unit norm for the bins (the AUROC
 * does not change under a positive scale; the means are scaled back).
 *   --device cuda  the GPU (CONTRAST up to HR_SCORER_GPU_MAX_CONTRAST_T).
 *   --device auto  the GPU when one is usable, the method is verified there
 *                  (CONTRAST up to HR_SCORER_GPU_MAX_CONTRAST_T) and n_a n_b >=
 *                  HR_SCORER_GPU_MIN_PAIRS (one A-B pair then weighs at most
 *                  1e-6 of the AUROC, so the binning error stays far under
 *                  1e-4 even for tiny groups), else the CPU. Embeddings the
 *                  GPU scorer refuses (norm above 1.001), or a GPU short of
 *                  memory, send auto to the CPU, at create or at a score.
 */
#include "hyporank/scorer.h"
#include "hyporank/stats.h"
#include "backends/cuda/cuda.h"
#include "backends/cpu/scorer_cpu.h"
#include "backends/cuda/scorer_cuda.h"
#include "core/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* auto uses the GPU only from this many A-B pairs on (see above). */
#define HR_SCORER_GPU_MIN_PAIRS 1e6
/* CONTRAST on the GPU is verified (tests/test_scorer_gpu.c on an H100) up
 * to this temperature; above it auto scores on the CPU and cuda refuses.
 * The default is 0.02. (At T = 30 and 1000 the H100 run of 2026-11-26
 * found AUROCs off by up to 1e-2: the bins' range used a bound that grows
 * as T log K; kernels/scorer.cu now bounds it by 2 as well, not yet run.) */
#define HR_SCORER_GPU_MAX_CONTRAST_T 1.0

/* Default budget for the score slabs: 256 MiB. */
#define HR_SCORER_DEFAULT_MEMORY ((size_t)256 << 20)

struct hr_scorer {
    hr_device device;     /* where the next call runs: CPU or CUDA */
    int fallback;         /* 1: auto, so the CPU may take over from the GPU */
    hr_scorer_options opt;
    const float *xa, *xb; /* borrowed */
    size_t n_a, n_b;
    int dim;
    hr_scorer_cpu *cpu;   /* created when first needed */
    hr_scorer_cuda *gpu;
    double *p; /* (capacity) p-values of the last call, for BH */
    size_t p_cap;
    float *h_lin;   /* (h_cap, dim) CENTERED's hypotheses in linear form, unit norm */
    double *h_norm; /* (h_cap) their norms before scaling (1 when zero) */
    size_t h_cap;
};

const char *hr_score_method_str(hr_score_method m)
{
    switch (m) {
    case HR_SCORE_COSINE: return "cosine";
    case HR_SCORE_CENTERED: return "centered";
    case HR_SCORE_CONTRAST: return "contrast";
    }
    return "unknown";
}

int hr_score_method_parse(const char *s, hr_score_method *out)
{
    static const hr_score_method all[] = {HR_SCORE_COSINE, HR_SCORE_CENTERED, HR_SCORE_CONTRAST};
    if (!s) return -1;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (strcmp(s, hr_score_method_str(all[i])) == 0) {
            *out = all[i];
            return 0;
        }
    return -1;
}

hr_scorer_options hr_scorer_default_options(void)
{
    hr_scorer_options o = {HR_SCORE_CONTRAST, HR_DEVICE_AUTO, HR_SCORER_DEFAULT_MEMORY, 0,
                           HR_SCORER_DEFAULT_TEMPERATURE};
    return o;
}

hr_status hr_scorer_create(const float *xa, size_t n_a, const float *xb, size_t n_b, int dim,
                           const hr_scorer_options *opt, hr_scorer **out, char *err,
                           size_t errlen)
{
    *out = NULL;
    hr_scorer_options o = opt ? *opt : hr_scorer_default_options();
    if (!xa || !xb || dim <= 0)
        return hr_fail(HR_ERR_INTERNAL, err, errlen, "hr_scorer_create: no samples or dim %d", dim);
    if (n_a == 0 || n_b == 0)
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "group %s has no samples (n_a = %zu, n_b = %zu): ranking needs both groups",
                       n_a == 0 ? "A" : "B", n_a, n_b);
    if (o.method != HR_SCORE_COSINE && o.method != HR_SCORE_CENTERED &&
        o.method != HR_SCORE_CONTRAST)
        return hr_fail(HR_ERR_UNSUPPORTED, err, errlen,
                       "unknown score method %d (cosine, centered or contrast)", (int)o.method);
    if (o.temperature == 0.0) o.temperature = HR_SCORER_DEFAULT_TEMPERATURE;
    if (!(o.temperature > 0.0 && o.temperature <= HR_SCORER_MAX_TEMPERATURE))
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "score temperature %g is out of range: it must be above 0 and at most %g",
                       o.temperature, HR_SCORER_MAX_TEMPERATURE);
    const int gpu_method = o.method != HR_SCORE_CONTRAST ||
                           o.temperature <= HR_SCORER_GPU_MAX_CONTRAST_T;
    if (o.device == HR_DEVICE_CUDA && !gpu_method)
        return hr_fail(HR_ERR_UNSUPPORTED, err, errlen,
                       "--device cuda: the GPU scorer's contrast is verified up to temperature "
                       "%g, not %g: use --device cpu or auto (which scores it on the CPU)",
                       HR_SCORER_GPU_MAX_CONTRAST_T, o.temperature);
    if (o.memory_bytes == 0) o.memory_bytes = HR_SCORER_DEFAULT_MEMORY;
    hr_scorer *s = calloc(1, sizeof *s);
    if (!s) return hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory");
    s->opt = o;
    s->xa = xa, s->xb = xb, s->n_a = n_a, s->n_b = n_b, s->dim = dim;
    s->device = HR_DEVICE_CPU;
    s->fallback = o.device == HR_DEVICE_AUTO;
    int want_gpu = o.device == HR_DEVICE_CUDA ||
                   (o.device == HR_DEVICE_AUTO && gpu_method &&
                    (double)n_a * (double)n_b >= HR_SCORER_GPU_MIN_PAIRS &&
                    hr_cuda_device_count(NULL) > 0);
    hr_status st = HR_OK;
    if (want_gpu) {
        /* The GPU scorer takes its own budget (most of the free device memory). */
        st = hr_scorer_cuda_create(xa, n_a, xb, n_b, dim, 0, &s->gpu, err, errlen);
        if (st == HR_OK) s->device = HR_DEVICE_CUDA;
        else if (!s->fallback || (st != HR_ERR_UNSUPPORTED && st != HR_ERR_NO_DEVICE &&
                                  st != HR_ERR_CUDA && st != HR_ERR_NOMEM)) {
            free(s);
            return st;
        }
        st = HR_OK;
    }
    if (s->device == HR_DEVICE_CPU)
        st = hr_scorer_cpu_create(xa, n_a, xb, n_b, dim, o.method, o.temperature, o.memory_bytes,
                                  o.n_threads, &s->cpu, err, errlen);
    if (st != HR_OK) {
        hr_scorer_destroy(s);
        return st;
    }
    *out = s;
    return HR_OK;
}

void hr_scorer_destroy(hr_scorer *s)
{
    if (!s) return;
    hr_scorer_cpu_destroy(s->cpu);
    hr_scorer_cuda_destroy(s->gpu);
    free(s->p);
    free(s->h_lin);
    free(s->h_norm);
    free(s);
}

hr_device hr_scorer_device(const hr_scorer *s)
{
    return s->device;
}

size_t hr_scorer_block_rows(const hr_scorer *s)
{
    if (s->cpu) return hr_scorer_cpu_block_rows(s->cpu);
    hr_scorer_cuda_layout l;
    hr_scorer_cuda_info(s->gpu, &l);
    return l.block_rows;
}

/* CENTERED in linear form (see the top of this file): s->h_lin row k =
 * (h_k K - sum_j h_j) / (K - 1) scaled to unit norm, s->h_norm[k] its norm
 * before scaling; for K = 1 the hypothesis itself. Sums in double. */
static hr_status centered_linear_form(hr_scorer *s, const float *h, size_t k, char *err,
                                      size_t errlen)
{
    const size_t d = (size_t)s->dim;
    if (s->h_cap < k) {
        float *hl = realloc(s->h_lin, k * d * sizeof *hl);
        if (hl) s->h_lin = hl;
        double *hn = realloc(s->h_norm, k * sizeof *hn);
        if (hn) s->h_norm = hn;
        if (!hl || !hn) return hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory");
        s->h_cap = k;
    }
    double *sum = calloc(d, sizeof *sum), *row = malloc(d * sizeof *row);
    if (!sum || !row) {
        free(sum), free(row);
        return hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory");
    }
    for (size_t i = 0; i < k; i++)
        for (size_t c = 0; c < d; c++) sum[c] += h[i * d + c];
    for (size_t i = 0; i < k; i++) {
        double ss = 0.0;
        for (size_t c = 0; c < d; c++) {
            row[c] = k == 1 ? h[c] : ((double)h[i * d + c] * (double)k - sum[c]) / (double)(k - 1);
            ss += row[c] * row[c];
        }
        const double norm = sqrt(ss) > 0.0 ? sqrt(ss) : 1.0;
        for (size_t c = 0; c < d; c++) s->h_lin[i * d + c] = (float)(row[c] / norm);
        s->h_norm[i] = norm;
    }
    free(sum), free(row);
    return HR_OK;
}

/* The GPU's part of hr_scorer_score: every field but q_value. */
static hr_status score_gpu(hr_scorer *s, const float *h, size_t k, hr_hypothesis_score *out,
                           char *err, size_t errlen)
{
    if (s->opt.method == HR_SCORE_COSINE) return hr_scorer_cuda_score(s->gpu, h, k, out, err, errlen);
    if (s->opt.method == HR_SCORE_CONTRAST)
        return hr_scorer_cuda_score_contrast(s->gpu, h, k, s->opt.temperature, out, err, errlen);
    /* A non-finite hypothesis must be named as the CPU names it, not lost in the sums. */
    for (size_t i = 0; i < k * (size_t)s->dim; i++)
        if (!isfinite(h[i]))
            return hr_fail(HR_ERR_INPUT, err, errlen,
                           "hypothesis %zu (counting from 0): embedding is not finite",
                           i / (size_t)s->dim);
    hr_status st = centered_linear_form(s, h, k, err, errlen);
    if (st == HR_OK) st = hr_scorer_cuda_score(s->gpu, s->h_lin, k, out, err, errlen);
    if (st != HR_OK) return st;
    for (size_t i = 0; i < k; i++) {
        out[i].mean_a *= s->h_norm[i];
        out[i].mean_b *= s->h_norm[i];
    }
    return HR_OK;
}

hr_status hr_scorer_score(hr_scorer *s, const float *h, size_t k, hr_hypothesis_score *out,
                          char *err, size_t errlen)
{
    if (k == 0) return HR_OK;
    if (!h || !out) return hr_fail(HR_ERR_INTERNAL, err, errlen, "hr_scorer_score: null argument");
    if (s->p_cap < k) {
        double *p = realloc(s->p, k * sizeof *p);
        if (!p) return hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory for %zu p-values", k);
        s->p = p;
        s->p_cap = k;
    }
    hr_status st = HR_OK;
    if (s->device == HR_DEVICE_CUDA) {
        st = score_gpu(s, h, k, out, err, errlen);
        /* auto: hypotheses the GPU refuses (norm above 1.001), or no room
         * for CONTRAST's statistics: the CPU, for this call and the next. */
        if (st == HR_ERR_UNSUPPORTED && s->fallback) {
            st = hr_scorer_cpu_create(s->xa, s->n_a, s->xb, s->n_b, s->dim, s->opt.method,
                                      s->opt.temperature, s->opt.memory_bytes, s->opt.n_threads,
                                      &s->cpu, err, errlen);
            if (st != HR_OK) return st;
            hr_scorer_cuda_destroy(s->gpu);
            s->gpu = NULL;
            s->device = HR_DEVICE_CPU;
        }
    }
    if (s->device == HR_DEVICE_CPU) st = hr_scorer_cpu_score(s->cpu, h, k, out, err, errlen);
    if (st != HR_OK) return st;
    for (size_t i = 0; i < k; i++) s->p[i] = out[i].p_value;
    if ((st = hr_bh_qvalues(s->p, k, s->p, err, errlen)) != HR_OK) return st;
    for (size_t i = 0; i < k; i++) out[i].q_value = s->p[i];
    return HR_OK;
}
