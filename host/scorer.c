/*
 * host/scorer.c: the public scorer (hyporank/scorer.h): checks the options,
 * picks the backend, and applies Benjamini-Hochberg across all hypotheses of
 * a call.
 */
#include "hyporank/scorer.h"
#include "hyporank/stats.h"
#include "scorer_cpu.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/* Default budget for the score slabs: 256 MiB. */
#define HR_SCORER_DEFAULT_MEMORY ((size_t)256 << 20)

struct hr_scorer {
    hr_device device;
    hr_scorer_cpu *cpu;
    double *p; /* (capacity) p-values of the last call, for BH */
    size_t p_cap;
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
    if (o.device == HR_DEVICE_CUDA)
        return hr_fail(HR_ERR_UNSUPPORTED, err, errlen,
                       "--device cuda: the GPU scorer is not implemented yet; "
                       "use --device cpu (or auto, which picks the CPU for now)");
    if (o.memory_bytes == 0) o.memory_bytes = HR_SCORER_DEFAULT_MEMORY;
    hr_scorer *s = calloc(1, sizeof *s);
    if (!s) return hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory");
    s->device = HR_DEVICE_CPU;
    hr_status st = hr_scorer_cpu_create(xa, n_a, xb, n_b, dim, o.method, o.temperature,
                                        o.memory_bytes, o.n_threads, &s->cpu, err, errlen);
    if (st != HR_OK) {
        free(s);
        return st;
    }
    *out = s;
    return HR_OK;
}

void hr_scorer_destroy(hr_scorer *s)
{
    if (!s) return;
    hr_scorer_cpu_destroy(s->cpu);
    free(s->p);
    free(s);
}

hr_device hr_scorer_device(const hr_scorer *s)
{
    return s->device;
}

size_t hr_scorer_block_rows(const hr_scorer *s)
{
    return hr_scorer_cpu_block_rows(s->cpu);
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
    hr_status st = hr_scorer_cpu_score(s->cpu, h, k, out, err, errlen);
    if (st != HR_OK) return st;
    for (size_t i = 0; i < k; i++) s->p[i] = out[i].p_value;
    if ((st = hr_bh_qvalues(s->p, k, s->p, err, errlen)) != HR_OK) return st;
    for (size_t i = 0; i < k; i++) out[i].q_value = s->p[i];
    return HR_OK;
}
