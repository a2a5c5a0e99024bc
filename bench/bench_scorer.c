/*
 * bench/bench_scorer.c: the CPU scorer on random unit vectors.
 *
 *     bench_scorer [--k 1000] [--na 50000] [--nb 50000] [--dim 384]
 *                  [--threads N] [--memory-mb 256] [--repeat 3] [--dir DIR]
 *
 * Draws A, B and the hypotheses as random unit vectors (fixed seed), times
 * the whole scorer (best of --repeat, after one warm-up) and, to show where
 * the time goes, the matrix products alone and the statistics alone. Prints
 * one line per figure. With --dir, writes a.npy, b.npy, h.npy there for the
 * peer (bench/peer_scorer.py) and the scorer's AUROCs as auroc.npy (K, 1),
 * so that bench/run-scorer-bench.sh can time both on the same data and
 * compare their answers.
 */
#include "bench_util.h"
#include "backends/cpu/blas_core.h"
#include "hyporank/npy.h"
#include "hyporank/scorer.h"
#include "hyporank/stats.h"

#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void openblas_set_num_threads(int num_threads);


/* (n, d) row-major random unit vectors. */
static float *unit_vectors(size_t n, size_t d)
{
    float *m = malloc(n * d * sizeof *m);
    if (!m) {
        fprintf(stderr, "bench_scorer: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++) {
        double norm = 0.0;
        for (size_t c = 0; c < d; c++) {
            double v = bench_normal();
            m[i * d + c] = (float)v;
            norm += v * v;
        }
        for (size_t c = 0; c < d; c++) m[i * d + c] = (float)(m[i * d + c] / sqrt(norm));
    }
    return m;
}

int main(int argc, char **argv)
{
    hr_blas_use_better_kernels(argv); /* never time OpenBLAS's fallback kernels */
    size_t k = 1000, na = 50000, nb = 50000, d = 384;
    int threads = 0, repeat = 3;
    long memory_mb = 256;
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            fprintf(stderr, "bench_scorer: %s needs a value\n", a);
            return 2;
        }
        if (strcmp(a, "--k") == 0) k = (size_t)bench_parse_long("bench_scorer", v, 1, 10000000, a);
        else if (strcmp(a, "--na") == 0) na = (size_t)bench_parse_long("bench_scorer", v, 1, 100000000, a);
        else if (strcmp(a, "--nb") == 0) nb = (size_t)bench_parse_long("bench_scorer", v, 1, 100000000, a);
        else if (strcmp(a, "--dim") == 0) d = (size_t)bench_parse_long("bench_scorer", v, 1, 8192, a);
        else if (strcmp(a, "--threads") == 0) threads = (int)bench_parse_long("bench_scorer", v, 1, 64, a);
        else if (strcmp(a, "--memory-mb") == 0) memory_mb = bench_parse_long("bench_scorer", v, 1, 1L << 20, a);
        else if (strcmp(a, "--repeat") == 0) repeat = (int)bench_parse_long("bench_scorer", v, 1, 100, a);
        else if (strcmp(a, "--dir") == 0) dir = v;
        else {
            fprintf(stderr, "bench_scorer: unknown option %s\n", a);
            return 2;
        }
        i++;
    }
    if (threads == 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        threads = c > 0 ? (int)c : 1;
    }
    const size_t n = na + nb;
    float *xa = unit_vectors(na, d), *xb = unit_vectors(nb, d), *h = unit_vectors(k, d);
    char err[512];
    if (dir) {
        char pa[4096], pb[4096], ph[4096];
        snprintf(pa, sizeof pa, "%s/a.npy", dir);
        snprintf(pb, sizeof pb, "%s/b.npy", dir);
        snprintf(ph, sizeof ph, "%s/h.npy", dir);
        if (hr_npy_write_f32(pa, xa, na, d, err, sizeof err) ||
            hr_npy_write_f32(pb, xb, nb, d, err, sizeof err) ||
            hr_npy_write_f32(ph, h, k, d, err, sizeof err)) {
            fprintf(stderr, "bench_scorer: %s\n", err);
            return 1;
        }
    }
    printf("# bench_scorer: K %zu, N %zu (%zu + %zu), D %zu, %d threads, openblas %s\n", k, n, na,
           nb, d, threads, hr_blas_corename());

    /* The whole scorer. */
    hr_scorer_options o = hr_scorer_default_options();
    o.method = HR_SCORE_COSINE; /* the peer ranks by raw cosine: like for like */
    o.device = HR_DEVICE_CPU;
    o.n_threads = threads;
    o.memory_bytes = (size_t)memory_mb << 20;
    hr_scorer *s;
    hr_hypothesis_score *r = malloc(k * sizeof *r);
    if (hr_scorer_create(xa, na, xb, nb, (int)d, &o, &s, err, sizeof err) ||
        hr_scorer_score(s, h, k < 64 ? k : 64, r, err, sizeof err)) { /* warm-up */
        fprintf(stderr, "bench_scorer: %s\n", err);
        return 1;
    }
    double best = 1e30;
    for (int rep = 0; rep < repeat; rep++) {
        double t0 = now();
        if (hr_scorer_score(s, h, k, r, err, sizeof err)) {
            fprintf(stderr, "bench_scorer: %s\n", err);
            return 1;
        }
        double t = now() - t0;
        best = t < best ? t : best;
    }
    /* The scorer's blocks (host/backends/cpu/scorer_cpu.c): a multiple of the threads. */
    size_t blocks = (k + hr_scorer_block_rows(s) - 1) / hr_scorer_block_rows(s);
    blocks = (blocks + (size_t)threads - 1) / (size_t)threads * (size_t)threads;
    blocks = blocks > k ? k : blocks;
    const size_t rows = (k + blocks - 1) / blocks;
    hr_scorer_destroy(s);
    const double gflop = 2.0 * (double)k * (double)n * (double)d / 1e9;
    printf("hyporank-cpu scorer: %.3f s for K %zu x N %zu (%.1f hypotheses/s; blocks of %zu)\n",
           best, k, n, (double)k / best, rows);

    /* Where the time goes: the products alone, as the scorer runs them
     * (blocks of `rows`, one BLAS thread each, `threads` at a time, here on
     * one BLAS call per block with BLAS threading instead) ... */
    float *slab = malloc(rows * n * sizeof *slab); /* (rows, N) */
    openblas_set_num_threads(threads);
    double tg = now();
    for (size_t k0 = 0; k0 < k; k0 += rows) {
        const size_t kb = k - k0 < rows ? k - k0 : rows;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)kb, (int)na, (int)d, 1.0f,
                    h + k0 * d, (int)d, xa, (int)d, 0.0f, slab, (int)n);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)kb, (int)nb, (int)d, 1.0f,
                    h + k0 * d, (int)d, xb, (int)d, 0.0f, slab + na, (int)n);
    }
    tg = now() - tg;
    printf("sgemm alone (%d BLAS threads): %.3f s, %.0f GFLOP/s (%.1f GFLOP)\n", threads, tg,
           gflop / tg, gflop);
    /* ... and the statistics alone, on one thread, over the last slab. */
    const size_t kb = k % rows ? k % rows : rows;
    hr_mw_workspace *ws;
    hr_mw_result m;
    hr_mw_workspace_create(na, nb, &ws, NULL, 0);
    double ts = now();
    for (size_t i = 0; i < kb; i++) hr_mw_fast(ws, slab + i * n, &m, NULL, 0);
    ts = (now() - ts) / (double)kb;
    printf("exact AUROC + p (hr_mw_fast), one thread: %.3f ms a hypothesis, %.2f ns a score; "
           "x K / %d threads = %.3f s\n",
           ts * 1e3, ts / (double)n * 1e9, threads, ts * (double)k / threads);
    const size_t nref = kb < 5 ? kb : 5;
    double tr = now();
    for (size_t i = 0; i < nref; i++) hr_mw_sorted(slab + i * n, na, nb, &m, NULL, 0);
    tr = (now() - tr) / (double)nref;
    printf("sorting reference (hr_mw_sorted), one thread: %.3f ms a hypothesis (%.1fx hr_mw_fast)\n",
           tr * 1e3, tr / ts);
    hr_mw_workspace_destroy(ws);
    free(slab);

    if (dir) {
        float *au = malloc(k * sizeof *au); /* (k, 1) */
        for (size_t i = 0; i < k; i++) au[i] = (float)r[i].auroc;
        char p[4096];
        snprintf(p, sizeof p, "%s/auroc.npy", dir);
        if (hr_npy_write_f32(p, au, k, 1, err, sizeof err)) {
            fprintf(stderr, "bench_scorer: %s\n", err);
            return 1;
        }
        free(au);
    }
    free(r);
    free(xa);
    free(xb);
    free(h);
    return 0;
}
