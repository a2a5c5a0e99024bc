/*
 * host/backends/cuda/probe_cuda.c: the CUDA backend's probe table
 * (host/backends/backend.h) over the passes of kernels/probe.cu, and the
 * GPU fit entry points of probe_cuda.h, which run hr_probe_fit's own Newton
 * loop (host/scoring/probe.c) on them.
 */
#include "backends/backend.h"
#include "backends/cuda/probe_cuda.h"
#include "scoring/probe_internal.h"
#include "core/util.h"

#include <stdlib.h>

/* The table's data: the GPU handle and, for a fit on a subset of rows, the
 * gathered copies it reads (a streamed X is read at every pass). */
typedef struct cuda_probe_data {
    hr_probe_cuda_data *g;
    float *xs;   /* (m, d) or NULL */
    uint8_t *ys; /* (m) or NULL */
    double *ws;  /* (m) or NULL */
} cuda_probe_data;

static void data_destroy(void *data)
{
    cuda_probe_data *c = data;
    if (!c) return;
    hr_probe_cuda_data_destroy(c->g);
    free(c->xs), free(c->ys), free(c->ws);
    free(c);
}

static hr_status data_create(const float *X, int d, const size_t *rows, size_t m,
                             const uint8_t *y, const double *sw, size_t memory_bytes, void **out,
                             char *err, size_t errlen)
{
    *out = NULL;
    cuda_probe_data *c = calloc(1, sizeof *c);
    if (!c) return hr_fail(HR_ERR_NOMEM, err, errlen, "probe: out of memory");
    hr_status st = HR_OK;
    if (rows) { /* the GPU reads contiguous rows: a fold's training rows are gathered */
        st = hr_probe_gather(X, d, rows, m, y, sw, &c->xs, &c->ys, &c->ws, err, errlen);
        X = c->xs, y = c->ys, sw = c->ws;
    }
    if (st == HR_OK) st = hr_probe_cuda_data_create(X, m, d, y, sw, memory_bytes, &c->g, err, errlen);
    if (st != HR_OK) {
        data_destroy(c);
        return st;
    }
    *out = c;
    return HR_OK;
}

static hr_status gradient(void *data, const double *theta, double *loss, double *g, double *H,
                          char *err, size_t errlen)
{
    return hr_probe_cuda_gradient(((cuda_probe_data *)data)->g, theta, loss, g, H, err, errlen);
}

static hr_status step(void *data, const double *delta, char *err, size_t errlen)
{
    return hr_probe_cuda_step(((cuda_probe_data *)data)->g, delta, err, errlen);
}

static hr_status line_sum(void *data, double t, int slope, double *out, char *err, size_t errlen)
{
    return hr_probe_cuda_line_sum(((cuda_probe_data *)data)->g, t, slope, out, err, errlen);
}

static void layout(const void *data, hr_probe_layout *out)
{
    hr_probe_cuda_layout l;
    hr_probe_cuda_data_info(((const cuda_probe_data *)data)->g, &l);
    *out = (hr_probe_layout){l.resident, l.chunk_rows};
}

const hr_probe_backend hr_probe_backend_cuda = {
    .auto_min_work = HR_PROBE_GPU_MIN_WORK,
    .auto_lbfgs_min_rows = 0, /* Newton: 39 ms an iteration at 1M rows; L-BFGS unmeasured here */
    .data_create = data_create,
    .data_destroy = data_destroy,
    .gradient = gradient,
    .step = step,
    .line_sum = line_sum,
    .layout = layout,
};

hr_status hr_probe_cuda_data_fit(hr_probe_cuda_data *g, const hr_probe_options *opt,
                                 hr_probe **out, char *err, size_t errlen)
{
    if (!out) return hr_fail(HR_ERR_INPUT, err, errlen, "probe: no output pointer");
    *out = NULL;
    if (!g) return hr_fail(HR_ERR_INPUT, err, errlen, "probe: no GPU data (NULL handle)");
    hr_probe_options o = opt ? *opt : hr_probe_default_options();
    hr_status st = hr_probe_check_options(&o, err, errlen);
    if (st != HR_OK) return st;
    hr_probe_cuda_layout l;
    hr_probe_cuda_data_info(g, &l);
    cuda_probe_data c = {g, NULL, NULL, NULL};
    return hr_probe_fit_on(&hr_probe_backend_cuda, &c, l.d, l.rows, &o, out, err, errlen);
}

hr_status hr_probe_fit_cuda(const float *X, size_t n, int d, const uint8_t *y,
                            const double *weights, const hr_probe_options *opt, hr_probe **out,
                            char *err, size_t errlen)
{
    if (!out) return hr_fail(HR_ERR_INPUT, err, errlen, "probe: no output pointer");
    *out = NULL;
    hr_probe_options o = opt ? *opt : hr_probe_default_options();
    hr_status st = hr_probe_check_options(&o, err, errlen); /* before the data, as hr_probe_fit */
    if (st != HR_OK) return st;
    hr_probe_cuda_data *g = NULL;
    st = hr_probe_cuda_data_create(X, n, d, y, weights, 0, &g, err, errlen);
    if (st != HR_OK) return st;
    st = hr_probe_cuda_data_fit(g, &o, out, err, errlen);
    hr_probe_cuda_data_destroy(g);
    return st;
}
