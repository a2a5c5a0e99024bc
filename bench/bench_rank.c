/*
 * bench/bench_rank.c: the rank pipeline (hr_rank_run) on matrices in memory,
 * as a C program calls the library; the Python package's overhead is
 * measured against it (bench/run-python-bench.sh, bench/peer_python_rank.py).
 *
 *     bench_rank --dir DIR [--method cosine] [--threads N] [--repeat 5]
 *
 * Reads DIR/a.npy, DIR/b.npy, DIR/h.npy (float32; bench_scorer --dir writes
 * them), runs hr_rank_run with the three matrices in memory on the CPU, best
 * of --repeat after one warm-up, and prints one line per figure: the run
 * alone, and the run with its JSON document (what a caller reads the rows
 * from), each in wall-clock seconds and in the process's CPU seconds (all
 * threads), which other work on a shared machine disturbs less.
 */
#include "bench_util.h"
#include "backends/cpu/blas_core.h"
#include "hyporank/npy.h"
#include "hyporank/rank.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* CPU seconds of the whole process, every thread. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static float *read_npy(const char *dir, const char *name, size_t *rows, size_t *cols)
{
    char path[4096], err[512];
    float *m = NULL;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (hr_npy_read_f32(path, &m, rows, cols, err, sizeof err) != HR_OK) {
        fprintf(stderr, "bench_rank: %s\n", err);
        exit(1);
    }
    return m;
}

int main(int argc, char **argv)
{
    hr_blas_use_better_kernels(argv); /* never time OpenBLAS's fallback kernels */
    const char *dir = NULL, *method = "cosine";
    int threads = 0, repeat = 5;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--dir") == 0) dir = argv[i + 1];
        else if (strcmp(argv[i], "--method") == 0) method = argv[i + 1];
        else if (strcmp(argv[i], "--threads") == 0)
            threads = (int)bench_parse_long("bench_rank", argv[i + 1], 0, 64, "--threads");
        else if (strcmp(argv[i], "--repeat") == 0)
            repeat = (int)bench_parse_long("bench_rank", argv[i + 1], 1, 100, "--repeat");
        else {
            fprintf(stderr, "bench_rank: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (!dir || argc % 2 == 0) {
        fprintf(stderr, "usage: bench_rank --dir DIR [--method M] [--threads N] [--repeat R]\n");
        return 2;
    }
    size_t na, nb, k, d, d2, d3;
    float *a = read_npy(dir, "a.npy", &na, &d), *b = read_npy(dir, "b.npy", &nb, &d2),
          *h = read_npy(dir, "h.npy", &k, &d3);
    hr_rank_options o;
    hr_rank_options_init(&o);
    o.a_emb = (hr_matrix_ref){a, na, d, "a"};
    o.b_emb = (hr_matrix_ref){b, nb, d2, "b"};
    o.h_emb = (hr_matrix_ref){h, k, d3, "h"};
    o.scorer.device = HR_DEVICE_CPU;
    o.scorer.n_threads = threads;
    if (hr_score_method_parse(method, &o.scorer.method) != 0) {
        fprintf(stderr, "bench_rank: unknown method %s\n", method);
        return 2;
    }
    printf("# bench_rank: K %zu, N %zu (%zu + %zu), D %zu, %s, openblas %s\n", k, na + nb, na, nb, d,
           method, hr_blas_corename());
    char err[1024];
    double best = 1e30, best_json = 1e30, cpu = 1e30, cpu_json = 1e30;
    for (int rep = 0; rep <= repeat; rep++) { /* rep 0: the warm-up */
        hr_report *r = NULL;
        const double c0 = cpu_now(), t0 = now();
        if (hr_rank_run(&o, NULL, &r, err, sizeof err) != HR_OK) {
            fprintf(stderr, "bench_rank: %s\n", err);
            return 1;
        }
        const double t1 = now(), c1 = cpu_now();
        char *json = hr_report_json(r);
        const double t2 = now(), c2 = cpu_now();
        if (!json) return 1;
        free(json);
        hr_report_destroy(r);
        if (rep > 0) {
            best = t1 - t0 < best ? t1 - t0 : best;
            best_json = t2 - t0 < best_json ? t2 - t0 : best_json;
            cpu = c1 - c0 < cpu ? c1 - c0 : cpu;
            cpu_json = c2 - c0 < cpu_json ? c2 - c0 : cpu_json;
        }
    }
    printf("c rank: %.4f s wall, %.4f s cpu\n", best, cpu);
    printf("c rank + json: %.4f s wall, %.4f s cpu\n", best_json, cpu_json);
    free(a), free(b), free(h);
    return 0;
}
