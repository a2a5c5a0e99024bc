/*
 * bench/bench_probe_gpu.c: time of the L2 logistic-regression probe fitted on
 * the GPU (host/backends/cuda/probe_cuda.h), on n rows of d unit-norm embeddings with a
 * planted direction (the data of bench/bench_probe.c), against the CPU fit
 * (hr_probe_fit) on the same data.
 *
 *     bench_probe_gpu [--n N] [--d D] [--budget-mib M] [--no-cpu]
 *
 * Defaults: n = 1,000,000, d = 384, the default budget (80% of the free
 * device memory). Exits 77 where no GPU is present. Prints one line per
 * figure, each naming the card:
 *   one-shot     hr_probe_fit_cuda: checks, upload, fit, free (wall clock)
 *   upload       hr_probe_cuda_data_create: checks and upload (wall clock)
 *   resident fit hr_probe_cuda_data_fit with X already on the GPU
 *   cpu          hr_probe_fit (OpenBLAS, all cores), unless --no-cpu, with
 *                the largest coefficient difference from the GPU fit
 * A small fit runs first, untimed, so that CUDA and cuBLAS start-up is not
 * counted.
 */
#include "bench_util.h"
#include "backends/cpu/blas_core.h"
#include "backends/cuda/cuda.h"
#include "hyporank/probe.h"
#include "hyporank/stats.h"
#include "backends/cuda/probe_cuda.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>


/* Two independent standard normals (Box-Muller, both outputs). */
static void gauss2(double *a, double *b)
{
    const double r = sqrt(-2.0 * log(bench_uniform())), t = 6.283185307179586 * bench_uniform();
    *a = r * cos(t);
    *b = r * sin(t);
}

static long arg_long(const char *s, long lo, long hi)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < lo || v > hi) {
        fprintf(stderr, "bench_probe_gpu: '%s' is not a number in [%ld, %ld]\n", s, lo, hi);
        exit(2);
    }
    return v;
}

/* Training AUROC (class 1 positive) of the probe's decision values. */
static double train_auroc(const hr_probe *p, const float *x, size_t n, const uint8_t *y)
{
    double *dec = malloc(n * sizeof *dec);
    float *sc = malloc(n * sizeof *sc); /* (n) decision values, positives first */
    char err[256];
    double a = NAN;
    size_t np = 0;
    if (dec && sc && hr_probe_decision(p, x, n, dec, err, sizeof err) == HR_OK) {
        for (size_t i = 0; i < n; i++)
            if (y[i]) sc[np++] = (float)dec[i];
        for (size_t i = 0, k = np; i < n; i++)
            if (!y[i]) sc[k++] = (float)dec[i];
        hr_mw_result mw;
        if (np > 0 && np < n && hr_mw_sorted(sc, np, n - np, &mw, err, sizeof err) == HR_OK)
            a = mw.auroc;
    }
    free(dec);
    free(sc);
    return a;
}

int main(int argc, char **argv)
{
    hr_blas_use_better_kernels(argv); /* never time OpenBLAS's fallback kernels */
    size_t n = 1000000, budget = 0;
    int d = 384, cpu = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--no-cpu") == 0) cpu = 0;
        else if (i + 1 < argc && strcmp(argv[i], "--n") == 0)
            n = (size_t)arg_long(argv[++i], 10, 100000000L);
        else if (i + 1 < argc && strcmp(argv[i], "--d") == 0)
            d = (int)arg_long(argv[++i], 1, 100000);
        else if (i + 1 < argc && strcmp(argv[i], "--budget-mib") == 0)
            budget = (size_t)arg_long(argv[++i], 1, 100000000L) << 20;
        else {
            fprintf(stderr, "usage: bench_probe_gpu [--n N] [--d D] [--budget-mib M] [--no-cpu]\n");
            return 2;
        }
    }
    const char *why = NULL;
    if (hr_cuda_device_count(&why) == 0) {
        fprintf(stderr, "bench_probe_gpu: skipped: %s\n", why ? why : "no CUDA device");
        return 77;
    }
    char card[256] = "?", err[512] = "";
    size_t mem = 0;
    if (hr_cuda_device_info(card, sizeof card, &mem, err, sizeof err) != HR_OK) goto fail;

    float *x = malloc(n * (size_t)d * sizeof *x); /* (n, d) unit rows */
    double *w = malloc((size_t)d * sizeof *w);    /* (d) planted direction */
    uint8_t *y = malloc(n);                       /* (n) labels */
    if (!x || !w || !y) {
        fprintf(stderr, "bench_probe_gpu: out of memory\n");
        return 1;
    }
    for (int k = 0; k < d; k += 2) {
        double a, b;
        gauss2(&a, &b);
        w[k] = a / sqrt((double)d);
        if (k + 1 < d) w[k + 1] = b / sqrt((double)d);
    }
    for (size_t i = 0; i < n; i++) {
        double ss = 0, dot = 0;
        float *r = x + i * (size_t)d;
        for (int k = 0; k < d; k += 2) {
            double a, b;
            gauss2(&a, &b);
            r[k] = (float)a, ss += (double)r[k] * r[k];
            if (k + 1 < d) r[k + 1] = (float)b, ss += (double)r[k + 1] * r[k + 1];
        }
        for (int k = 0; k < d; k++) r[k] = (float)(r[k] / sqrt(ss)), dot += r[k] * w[k];
        /* P(y = 1) = sigmoid(8 sqrt(d) x . w): a signal a probe finds, not a separable one */
        y[i] = bench_uniform() < 1.0 / (1.0 + exp(-8.0 * sqrt((double)d) * dot));
    }

    /* warm-up: CUDA context, cuBLAS handle, kernels loaded */
    hr_probe *p = NULL;
    if (hr_probe_fit_cuda(x, n < 4096 ? n : 4096, d, y, NULL, NULL, &p, err, sizeof err) != HR_OK)
        goto fail;
    hr_probe_destroy(p);
    p = NULL;

    double t0 = now();
    if (budget == 0) {
        if (hr_probe_fit_cuda(x, n, d, y, NULL, NULL, &p, err, sizeof err) != HR_OK) goto fail;
    } else { /* the one-shot entry point has no budget: create + fit + destroy */
        hr_probe_cuda_data *g1 = NULL;
        if (hr_probe_cuda_data_create(x, n, d, y, NULL, budget, &g1, err, sizeof err) != HR_OK)
            goto fail;
        hr_status st1 = hr_probe_cuda_data_fit(g1, NULL, &p, err, sizeof err);
        hr_probe_cuda_data_destroy(g1);
        if (st1 != HR_OK) goto fail;
    }
    const double t_one = now() - t0;
    hr_probe_info info = hr_probe_get_info(p);
    printf("hyporank probe cuda (%s): n=%zu d=%d lambda=1: one-shot fit (checks, upload, fit) "
           "%.3f s, %d Newton iterations, converged %d, training AUROC %.4f\n",
           card, n, d, t_one, info.iterations, info.converged, train_auroc(p, x, n, y));
    fflush(stdout);

    hr_probe_cuda_data *g = NULL;
    t0 = now();
    if (hr_probe_cuda_data_create(x, n, d, y, NULL, budget, &g, err, sizeof err) != HR_OK)
        goto fail;
    const double t_up = now() - t0;
    hr_probe_cuda_layout lay;
    hr_probe_cuda_data_info(g, &lay);
    printf("hyporank probe cuda (%s): n=%zu d=%d: upload and checks %.3f s (X %s, blocks of %zu "
           "rows)\n",
           card, n, d, t_up, lay.resident ? "resident" : "streamed", lay.chunk_rows);
    fflush(stdout);
    hr_probe *q = NULL;
    t0 = now();
    hr_status st = hr_probe_cuda_data_fit(g, NULL, &q, err, sizeof err);
    const double t_fit = now() - t0;
    hr_probe_cuda_data_destroy(g);
    if (st != HR_OK) goto fail;
    info = hr_probe_get_info(q);
    printf("hyporank probe cuda (%s): n=%zu d=%d lambda=1: fit with X %s %.3f s, %d Newton "
           "iterations (%.1f ms each)\n",
           card, n, d, lay.resident ? "resident" : "streamed", t_fit, info.iterations,
           1e3 * t_fit / (info.iterations > 0 ? info.iterations : 1));
    fflush(stdout);
    hr_probe_destroy(q);

    if (cpu) {
        hr_probe *c = NULL;
        t0 = now();
        if (hr_probe_fit(x, n, d, y, NULL, NULL, &c, err, sizeof err) != HR_OK) goto fail;
        const double t_cpu = now() - t0;
        hr_probe_info ic = hr_probe_get_info(c);
        const double *wc = hr_probe_coef(c), *wg = hr_probe_coef(p);
        double scale = fabs(hr_probe_intercept(c));
        double diff = fabs(hr_probe_intercept(p) - hr_probe_intercept(c));
        for (int k = 0; k < d; k++) {
            scale = fmax(scale, fabs(wc[k]));
            diff = fmax(diff, fabs(wg[k] - wc[k]));
        }
        printf("hyporank probe cpu (openblas %s) beside %s: n=%zu d=%d lambda=1: %.3f s, %d "
               "Newton iterations, training AUROC %.4f; GPU one-shot is %.1fx faster; max "
               "|theta_gpu - theta_cpu| / max(1, max |theta_cpu|) = %.3g\n",
               hr_blas_corename(), card, n, d, t_cpu, ic.iterations, train_auroc(c, x, n, y),
               t_cpu / t_one, diff / fmax(1.0, scale));
        hr_probe_destroy(c);
    }
    hr_probe_destroy(p);
    free(x);
    free(w);
    free(y);
    return 0;
fail:
    fprintf(stderr, "bench_probe_gpu: %s\n", err);
    return 1;
}
