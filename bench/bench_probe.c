/*
 * bench/bench_probe.c: time of an L2 logistic-regression probe fit
 * (hr_probe_fit) by each solver on n training rows of d unit-norm
 * embeddings with a planted direction, and the AUROC of its decision values
 * on held-out rows drawn the same way.
 *
 *     bench_probe [--n N] [--d D] [--test T] [--shape iso|embedding]
 *                 [--solvers newton,lbfgs] [--gtol G] [--out-dir DIR]
 *
 * Shapes: iso, rows uniform on the sphere; embedding, rows like a sentence
 * encoder's: a shared component (mean cosine between rows about 0.2) plus
 * noise whose spread falls with the feature's index (variance k^-1), so
 * the problem is ill-conditioned as real embeddings make it. Labels: P(y = 1)
 * = sigmoid(3 (x . w - m) / s) for a random w, m and s the planted score's
 * mean and spread over the first rows (a signal a probe finds, not a
 * separable one).
 *
 * With --out-dir, writes DIR/X.npy (n, d), DIR/y.npy (n, 1) and the held-out
 * DIR/Xt.npy, DIR/yt.npy first, for the peer (bench/peer_probe.py;
 * bench/run-probe-bench.sh runs both). Prints a line a solver.
 */
#include "bench_util.h"
#include "backends/cpu/blas_core.h"
#include "hyporank/npy.h"
#include "hyporank/probe.h"
#include "hyporank/stats.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double gauss(void)
{
    return sqrt(-2.0 * log(bench_uniform())) * cos(6.283185307179586 * bench_uniform());
}

/* Rows x (n, d) and labels y (n) of the shape, for planted w (d), centre
 * mean and spread sd of x . w. */
static void draw(float *x, uint8_t *y, size_t n, int d, int embedding, const double *w,
                 const double *mu, double mean, double sd)
{
    for (size_t i = 0; i < n; i++) {
        double ss = 0, dot = 0;
        float *r = x + i * (size_t)d;
        for (int k = 0; k < d; k++) {
            double v = embedding ? mu[k] + gauss() / sqrt(k + 1.0) : gauss();
            r[k] = (float)v, ss += v * v;
        }
        for (int k = 0; k < d; k++) r[k] = (float)(r[k] / sqrt(ss)), dot += r[k] * w[k];
        y[i] = bench_uniform() < 1.0 / (1.0 + exp(-3.0 * (dot - mean) / sd));
    }
}

/* AUROC of the probe's decision values on rows x (n) with labels y. */
static int auroc(const hr_probe *p, const float *x, const uint8_t *y, size_t n, double *out,
                 char *err, size_t errlen)
{
    double *dec = malloc(n * sizeof *dec);
    float *sc = malloc(n * sizeof *sc); /* (n) decision values, positives first */
    size_t np = 0;
    int ok = dec && sc && hr_probe_decision(p, x, n, dec, err, errlen) == HR_OK;
    if (ok) {
        for (size_t i = 0; i < n; i++)
            if (y[i]) sc[np++] = (float)dec[i];
        for (size_t i = 0, k = np; i < n; i++)
            if (!y[i]) sc[k++] = (float)dec[i];
        hr_mw_result mw;
        ok = hr_mw_sorted(sc, np, n - np, &mw, err, errlen) == HR_OK;
        *out = mw.auroc;
    }
    free(dec), free(sc);
    return ok;
}

static int write_f32(const char *dir, const char *name, const float *v, size_t rows, size_t cols,
                     char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return hr_npy_write_f32(path, v, rows, cols, err, errlen) == HR_OK;
}

int main(int argc, char **argv)
{
    hr_blas_use_better_kernels(argv); /* never time OpenBLAS's fallback kernels */
    const char *prog = "bench_probe";
    size_t n = 1000000, nt = 0;
    int d = 384, embedding = 0;
    const char *dir = NULL, *solvers = "newton,lbfgs";
    double gtol = hr_probe_default_options().gtol;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--n") == 0) n = (size_t)bench_parse_long(prog, argv[i + 1], 10, 100000000L, "--n");
        else if (strcmp(argv[i], "--d") == 0) d = (int)bench_parse_long(prog, argv[i + 1], 1, 100000, "--d");
        else if (strcmp(argv[i], "--test") == 0) nt = (size_t)bench_parse_long(prog, argv[i + 1], 10, 100000000L, "--test");
        else if (strcmp(argv[i], "--shape") == 0 && (strcmp(argv[i + 1], "iso") == 0 || strcmp(argv[i + 1], "embedding") == 0))
            embedding = strcmp(argv[i + 1], "embedding") == 0;
        else if (strcmp(argv[i], "--solvers") == 0) solvers = argv[i + 1];
        else if (strcmp(argv[i], "--gtol") == 0 && (gtol = atof(argv[i + 1])) > 0) continue;
        else if (strcmp(argv[i], "--out-dir") == 0) dir = argv[i + 1];
        else {
            fprintf(stderr, "usage: bench_probe [--n N] [--d D] [--test T] [--shape iso|embedding] "
                            "[--solvers newton,lbfgs] [--gtol G] [--out-dir DIR]\n");
            return 2;
        }
    }
    if (nt == 0) nt = n / 5 > 10 ? n / 5 : 10;
    float *x = malloc(n * (size_t)d * sizeof *x);   /* (n, d) training rows */
    float *xt = malloc(nt * (size_t)d * sizeof *xt); /* (nt, d) held-out rows */
    double *w = malloc((size_t)d * sizeof *w);      /* (d) planted direction */
    double *mu = malloc((size_t)d * sizeof *mu);    /* (d) shared component */
    uint8_t *y = malloc(n), *yt = malloc(nt);
    if (!x || !xt || !w || !mu || !y || !yt) {
        fprintf(stderr, "%s: out of memory\n", prog);
        return 1;
    }
    for (int k = 0; k < d; k++) w[k] = gauss() / sqrt((double)d);
    for (int k = 0; k < d; k++) mu[k] = 0.35 * gauss(); /* |mu|^2 ~ 0.12 d of the noise's ~ln d */
    /* the planted score's centre and spread, from a first draw */
    const size_t nc = n < 20000 ? n : 20000;
    draw(x, y, nc, d, embedding, w, mu, 0.0, 1.0);
    double s1 = 0, s2 = 0;
    for (size_t i = 0; i < nc; i++) {
        double dot = 0;
        for (int k = 0; k < d; k++) dot += x[i * (size_t)d + k] * w[k];
        s1 += dot, s2 += dot * dot;
    }
    const double mean = s1 / nc, sd = sqrt(s2 / nc - mean * mean);
    draw(x, y, n, d, embedding, w, mu, mean, sd);
    draw(xt, yt, nt, d, embedding, w, mu, mean, sd);
    char err[512];
    if (dir) {
        float *yf = malloc((n > nt ? n : nt) * sizeof *yf);
        if (!yf) return 1;
        for (size_t i = 0; i < n; i++) yf[i] = y[i];
        if (!write_f32(dir, "X.npy", x, n, (size_t)d, err, sizeof err) ||
            !write_f32(dir, "y.npy", yf, n, 1, err, sizeof err))
            goto fail;
        for (size_t i = 0; i < nt; i++) yf[i] = yt[i];
        if (!write_f32(dir, "Xt.npy", xt, nt, (size_t)d, err, sizeof err) ||
            !write_f32(dir, "yt.npy", yf, nt, 1, err, sizeof err))
            goto fail;
        free(yf);
    }
    static const struct { const char *name; hr_probe_solver solver; } all[] = {
        {"newton", HR_PROBE_SOLVER_NEWTON}, {"lbfgs", HR_PROBE_SOLVER_LBFGS}};
    for (int s = 0; s < 2; s++) {
        if (!strstr(solvers, all[s].name)) continue;
        hr_probe_options o = hr_probe_default_options();
        o.solver = all[s].solver;
        o.gtol = gtol;
        hr_probe *p = NULL;
        const double t0 = now();
        if (hr_probe_fit(x, n, d, y, NULL, &o, &p, err, sizeof err) != HR_OK) goto fail;
        const double secs = now() - t0;
        const hr_probe_info info = hr_probe_get_info(p);
        double train_auc, test_auc;
        if (!auroc(p, x, y, n, &train_auc, err, sizeof err) ||
            !auroc(p, xt, yt, nt, &test_auc, err, sizeof err))
            goto fail;
        printf("hyporank %s (openblas %s, gtol %g): n=%zu d=%d %s lambda=1: %.2f s, %d iterations, "
               "%d evaluations, converged %d, objective %.10g, training AUROC %.6f, held-out "
               "AUROC %.6f (%zu rows)\n",
               all[s].name, hr_blas_corename(), gtol, n, d, embedding ? "embedding" : "iso", secs,
               info.iterations, info.evaluations, info.converged, info.objective, train_auc,
               test_auc, nt);
        fflush(stdout);
        hr_probe_destroy(p);
    }
    return 0;
fail:
    fprintf(stderr, "%s: %s\n", prog, err);
    return 1;
}
