/*
 * tests/backend_reference.c: a test-only scorer backend, "reference", that
 * shows what adding a backend takes: this file and its one registration
 * line at the bottom, no other source file edited. It serves HR_DEVICE_CPU
 * (registered after the built-in CPU backend, so it runs the CPU scorer in
 * the programs it is linked into: tests/test_backends.c only), wraps the
 * CPU backend's scorer, and counts the calls it gets, which
 * tests/test_backends.c checks after scoring through the public API.
 */
#include "backends/backend.h"
#include "backend_reference.h"

#include <stdlib.h>

backend_reference_calls backend_reference_counts;

/* The wrapped scorer: the built-in CPU backend's table. */
static const hr_scorer_backend *cpu_table(void)
{
    return hr_backend_named("cpu")->scorer;
}

static int ref_supports(hr_score_method method, double t, char *why, size_t whylen)
{
    return cpu_table()->supports(method, t, why, whylen);
}

static hr_status ref_create(const float *xa, size_t n_a, const float *xb, size_t n_b, int dim,
                            const hr_scorer_backend_options *o, void **out, char *err,
                            size_t errlen)
{
    backend_reference_counts.create++;
    return cpu_table()->create(xa, n_a, xb, n_b, dim, o, out, err, errlen);
}

static void ref_destroy(void *state)
{
    if (state) backend_reference_counts.destroy++;
    cpu_table()->destroy(state);
}

static hr_status ref_score(void *state, const float *h, size_t k, hr_hypothesis_score *out,
                           char *err, size_t errlen)
{
    backend_reference_counts.score++;
    return cpu_table()->score(state, h, k, out, err, errlen);
}

static void ref_layout(const void *state, hr_scorer_layout *out)
{
    cpu_table()->layout(state, out);
}

static const hr_scorer_backend reference_scorer = {
    .supports = ref_supports,
    .auto_min_pairs = 0,
    .create = ref_create,
    .destroy = ref_destroy,
    .score = ref_score,
    .layout = ref_layout,
};

static const hr_backend hr_backend_reference = {
    .name = "reference",
    .device = HR_DEVICE_CPU,
    .scorer = &reference_scorer,
};

HR_BACKEND_REGISTER(hr_backend_reference)
