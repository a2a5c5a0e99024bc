/*
 * host/scoring/scorer.c: the public scorer (hyporank/scorer.h): checks the
 * options, picks the backend (host/backends/backend.h) by hyporank/device.h's
 * policy, dispatches through its table, and applies Benjamini-Hochberg
 * across all hypotheses of a call.
 *
 * Backends: the CPU scorer (host/backends/cpu/scorer_cpu.c) computes every
 * method exactly; an accelerator says which methods (at which
 * temperatures) it computes within its documented tolerance (its table's
 * supports) and from how many A-B pairs auto should use it (auto_min_pairs).
 *   --device cuda  that backend; a method it does not support is refused.
 *   --device auto  the accelerator when one is usable, supports the method
 *                  and the groups have at least auto_min_pairs A-B pairs,
 *                  else the CPU; an accelerator that fails with a status the
 *                  policy lets fall back (at create or at a score) hands the
 *                  scorer to the CPU for that call and the next.
 */
#include "hyporank/scorer.h"
#include "hyporank/findings.h"
#include "hyporank/stats.h"
#include "backends/backend.h"
#include "core/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Default budget for the score slabs: 256 MiB. */
#define HR_SCORER_DEFAULT_MEMORY ((size_t)256 << 20)

struct hr_scorer {
    hr_device requested;       /* what hr_scorer_create was asked for */
    hr_scorer_options opt;
    const float *xa, *xb;      /* borrowed */
    size_t n_a, n_b;
    int dim;
    const hr_backend *backend; /* what runs */
    void *state;               /* the backend's scorer */
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

/* The backend's options from the public ones (checked). */
static hr_scorer_backend_options backend_options(const hr_scorer *s)
{
    hr_scorer_backend_options o = {s->opt.method, s->opt.temperature, s->opt.memory_bytes, 0,
                                   s->opt.n_threads};
    return o;
}

/* Opens b's scorer on s. */
static hr_status open_backend(hr_scorer *s, const hr_backend *b, char *err, size_t errlen)
{
    const hr_scorer_backend_options o = backend_options(s);
    void *state = NULL;
    hr_status st = b->scorer->create(s->xa, s->n_a, s->xb, s->n_b, s->dim, &o, &state, err, errlen);
    if (st != HR_OK) return st;
    s->backend = b;
    s->state = state;
    return HR_OK;
}

/* Hands s to the CPU backend (auto's fallback). */
static hr_status open_cpu(hr_scorer *s, char *err, size_t errlen)
{
    const hr_backend *cpu = NULL;
    hr_status st = hr_backend_for(HR_DEVICE_CPU, HR_SERVICE_SCORER, &cpu, err, errlen);
    return st == HR_OK ? open_backend(s, cpu, err, errlen) : st;
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
    if (o.device != HR_DEVICE_AUTO && o.device != HR_DEVICE_CPU && o.device != HR_DEVICE_CUDA)
        return hr_fail(HR_ERR_INTERNAL, err, errlen, "hr_scorer_create: bad device %d",
                       (int)o.device);
    if (o.memory_bytes == 0) o.memory_bytes = HR_SCORER_DEFAULT_MEMORY;
    /* The accelerator to try: the one asked for, or auto's when it is worth it. */
    const hr_backend *acc = NULL;
    hr_status st = HR_OK;
    char why[256] = "";
    if (o.device == HR_DEVICE_AUTO) {
        acc = hr_backend_accelerator(HR_SERVICE_SCORER, NULL);
        if (acc && (!acc->scorer->supports(o.method, o.temperature, why, sizeof why) ||
                    (double)n_a * (double)n_b < acc->scorer->auto_min_pairs))
            acc = NULL;
    } else if (o.device != HR_DEVICE_CPU) {
        if ((st = hr_backend_for(o.device, HR_SERVICE_SCORER, &acc, err, errlen)) != HR_OK)
            return st;
        if (!acc->scorer->supports(o.method, o.temperature, why, sizeof why))
            return hr_fail(HR_ERR_UNSUPPORTED, err, errlen,
                           "--device %s: %s: use --device cpu or auto (which scores it on the "
                           "CPU)",
                           hr_device_str(o.device), why);
    }
    hr_scorer *s = calloc(1, sizeof *s);
    if (!s) return hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory");
    s->requested = o.device;
    s->opt = o;
    s->xa = xa, s->xb = xb, s->n_a = n_a, s->n_b = n_b, s->dim = dim;
    if (acc) {
        st = open_backend(s, acc, err, errlen);
        if (st != HR_OK && !hr_device_falls_back(o.device, st)) {
            free(s);
            return st;
        }
    }
    if (!s->backend && (st = open_cpu(s, err, errlen)) != HR_OK) {
        hr_scorer_destroy(s);
        return st;
    }
    *out = s;
    return HR_OK;
}

void hr_scorer_destroy(hr_scorer *s)
{
    if (!s) return;
    if (s->backend) s->backend->scorer->destroy(s->state);
    free(s->p);
    free(s);
}

hr_device hr_scorer_device(const hr_scorer *s)
{
    return s->backend->device;
}

size_t hr_scorer_block_rows(const hr_scorer *s)
{
    hr_scorer_layout l;
    s->backend->scorer->layout(s->state, &l);
    return l.block_rows;
}

/* One score call on the backend: with the effects in the same pass when
 * the backend offers it, else after it on the CPU. */
static hr_status backend_score(hr_scorer *s, const float *h, size_t k, hr_hypothesis_score *out,
                               hr_effect *effects, char *err, size_t errlen)
{
    const hr_scorer_backend *b = s->backend->scorer;
    if (!effects) return b->score(s->state, h, k, out, err, errlen);
    if (b->score_effects) return b->score_effects(s->state, h, k, out, effects, err, errlen);
    hr_status st = b->score(s->state, h, k, out, err, errlen);
    if (st == HR_OK)
        st = hr_effect_rows(s->xa, s->n_a, s->xb, s->n_b, s->dim, h, k, effects, err, errlen);
    return st;
}

/* Scores on the backend (and the effects when effects is not NULL), moving
 * to the CPU when auto allows it and the accelerator fails; then the
 * q-values. */
static hr_status score_call(hr_scorer *s, const float *h, size_t k, hr_hypothesis_score *out,
                            hr_effect *effects, char *err, size_t errlen)
{
    if (k == 0) return HR_OK;
    if (!h || !out) return hr_fail(HR_ERR_INTERNAL, err, errlen, "hr_scorer_score: null argument");
    if (s->p_cap < k) {
        double *p = realloc(s->p, k * sizeof *p);
        if (!p) return hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory for %zu p-values", k);
        s->p = p;
        s->p_cap = k;
    }
    hr_status st = backend_score(s, h, k, out, effects, err, errlen);
    if (st != HR_OK && s->backend->device != HR_DEVICE_CPU &&
        hr_device_falls_back(s->requested, st)) {
        /* auto: the CPU, for this call and the next */
        const hr_backend *was = s->backend;
        void *was_state = s->state;
        if ((st = open_cpu(s, err, errlen)) != HR_OK) return st;
        was->scorer->destroy(was_state);
        st = backend_score(s, h, k, out, effects, err, errlen);
    }
    if (st != HR_OK) return st;
    for (size_t i = 0; i < k; i++) s->p[i] = out[i].p_value;
    if ((st = hr_bh_qvalues(s->p, k, s->p, err, errlen)) != HR_OK) return st;
    for (size_t i = 0; i < k; i++) out[i].q_value = s->p[i];
    return HR_OK;
}

hr_status hr_scorer_score(hr_scorer *s, const float *h, size_t k, hr_hypothesis_score *out,
                          char *err, size_t errlen)
{
    return score_call(s, h, k, out, NULL, err, errlen);
}

hr_status hr_scorer_score_effects(hr_scorer *s, const float *h, size_t k,
                                  hr_hypothesis_score *out, hr_effect *effects, char *err,
                                  size_t errlen)
{
    if (k && !effects)
        return hr_fail(HR_ERR_INTERNAL, err, errlen, "hr_scorer_score_effects: null argument");
    return score_call(s, h, k, out, effects, err, errlen);
}
