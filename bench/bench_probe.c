/*
 * bench/bench_probe.c: time of an L2 logistic-regression probe fit
 * (hr_probe_fit) on n rows of d unit-norm embeddings with a planted direction.
 *
 *     bench_probe [--n N] [--d D] [--out-dir DIR]
 *
 * With --out-dir, writes the data as DIR/X.npy (n, d) and DIR/y.npy (n, 1)
 * first, for the peer (bench/peer_probe.py; bench/run-probe-bench.sh runs
 * both). Prints one line: the fit time, Newton iterations, training AUROC.
 */
#include "bench_util.h"
#include "backends/cpu/blas_core.h"
#include "hyporank/npy.h"
#include "hyporank/probe.h"
#include "hyporank/stats.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>


static double gauss(void)
{
    return sqrt(-2.0 * log(bench_uniform())) * cos(6.283185307179586 * bench_uniform());
}

static long arg_long(const char *s, long lo, long hi)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < lo || v > hi) {
        fprintf(stderr, "bench_probe: '%s' is not a number in [%ld, %ld]\n", s, lo, hi);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    hr_blas_use_better_kernels(argv); /* never time OpenBLAS's fallback kernels */
    size_t n = 1000000;
    int d = 384;
    const char *dir = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--n") == 0) n = (size_t)arg_long(argv[i + 1], 10, 100000000L);
        else if (strcmp(argv[i], "--d") == 0) d = (int)arg_long(argv[i + 1], 1, 100000);
        else if (strcmp(argv[i], "--out-dir") == 0) dir = argv[i + 1];
        else {
            fprintf(stderr, "usage: bench_probe [--n N] [--d D] [--out-dir DIR]\n");
            return 2;
        }
    }
    float *x = malloc(n * (size_t)d * sizeof *x);  /* (n, d) unit rows */
    double *w = malloc((size_t)d * sizeof *w);     /* (d) planted direction */
    uint8_t *y = malloc(n);                        /* (n) labels */
    float *yf = malloc(n * sizeof *yf);            /* (n, 1) labels for the peer */
    if (!x || !w || !y || !yf) {
        fprintf(stderr, "bench_probe: out of memory\n");
        return 1;
    }
    for (int k = 0; k < d; k++) w[k] = gauss() / sqrt((double)d);
    for (size_t i = 0; i < n; i++) {
        double ss = 0, dot = 0;
        float *r = x + i * (size_t)d;
        for (int k = 0; k < d; k++) r[k] = (float)gauss(), ss += (double)r[k] * r[k];
        for (int k = 0; k < d; k++) r[k] = (float)(r[k] / sqrt(ss)), dot += r[k] * w[k];
        /* P(y = 1) = sigmoid(8 sqrt(d) x . w): a signal a probe finds, not a separable one */
        y[i] = bench_uniform() < 1.0 / (1.0 + exp(-8.0 * sqrt((double)d) * dot));
        yf[i] = y[i];
    }
    char err[512], path[4096];
    if (dir) {
        snprintf(path, sizeof path, "%s/X.npy", dir);
        if (hr_npy_write_f32(path, x, n, (size_t)d, err, sizeof err) != HR_OK) goto fail;
        snprintf(path, sizeof path, "%s/y.npy", dir);
        if (hr_npy_write_f32(path, yf, n, 1, err, sizeof err) != HR_OK) goto fail;
    }
    hr_probe *p = NULL;
    double t0 = now();
    if (hr_probe_fit(x, n, d, y, NULL, NULL, &p, err, sizeof err) != HR_OK) goto fail;
    const double secs = now() - t0;
    hr_probe_info info = hr_probe_get_info(p);
    double *dec = malloc(n * sizeof *dec);
    float *sc = malloc(n * sizeof *sc); /* (n) decision values, positives first */
    size_t np = 0;
    if (!dec || !sc || hr_probe_decision(p, x, n, dec, err, sizeof err) != HR_OK) goto fail;
    for (size_t i = 0; i < n; i++)
        if (y[i]) sc[np++] = (float)dec[i];
    for (size_t i = 0, k = np; i < n; i++)
        if (!y[i]) sc[k++] = (float)dec[i];
    hr_mw_result mw;
    if (hr_mw_sorted(sc, np, n - np, &mw, err, sizeof err) != HR_OK) goto fail;
    printf("hyporank probe (openblas %s): n=%zu d=%d lambda=1: %.2f s, %d Newton iterations, "
           "training AUROC %.4f\n",
           hr_blas_corename(), n, d, secs, info.iterations, mw.auroc);
    hr_probe_destroy(p);
    return 0;
fail:
    fprintf(stderr, "bench_probe: %s\n", err);
    return 1;
}
