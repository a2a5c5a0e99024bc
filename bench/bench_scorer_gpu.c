/*
 * bench/bench_scorer_gpu.c: the CUDA COSINE scorer (host/backends/cuda/scorer_cuda.h).
 *
 *     bench_scorer_gpu [--k 1000] [--n 1000000] [--dim 384] [--repeat 3]
 *                      [--stream-k 4096] [--stream-n 10000000] [--stream-mb 4096]
 *
 * Figure 1: K hypotheses against N samples (half A, half B) with X already
 * on the GPU (FP16, uploaded by create, not timed): device time of
 * hr_scorer_cuda_score from cudaEvents (H upload included), best of
 * --repeat after one warm-up, and the wall time of the call.
 * Figure 1 again for CONTRAST (T = 0.02), the default method.
 * Figure 2: --stream-k against --stream-n samples streamed from the host
 * (memory budget --stream-mb, below X's FP16 size, so create keeps X on the
 * host); one call, device and wall time. --stream-n 0 skips it (it needs
 * stream-n x dim x 4 bytes of host memory: 15 GiB at the defaults).
 * Figure 0, the floor of this design: the FP16 GEMM alone (K x N x D, FP32
 * out, as the scorer calls it) with the same cuBLAS, best of --repeat.
 * Prints one line per figure. Exits 77 without a GPU.
 *
 * Data: rows drawn from a pool of 65,536 random unit vectors (cheap to make
 * at 10M rows; the scores' distribution, not their values, sets the cost).
 */
#include "bench_util.h"
#include "backends/cuda/cuda.h"
#include "backends/cuda/scorer_cuda.h"

#ifdef HR_HAVE_CUDA
#include <cublas_v2.h>
#include <cuda_runtime.h>
#endif

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


static void unit_rows(float *x, size_t n, int d)
{
    for (size_t i = 0; i < n; i++) {
        double ss = 0.0;
        for (int c = 0; c < d; c++) {
            x[i * d + c] = (float)bench_normal();
            ss += (double)x[i * d + c] * x[i * d + c];
        }
        for (int c = 0; c < d; c++) x[i * d + c] = (float)(x[i * d + c] / sqrt(ss));
    }
}

#define POOL 65536

/* x: (n, d) rows from the pool: (POOL, d). */
static float *pooled_rows(const float *pool, size_t n, int d)
{
    float *x = malloc(n * (size_t)d * sizeof *x);
    if (!x) return NULL;
    uint64_t r = 7;
    for (size_t i = 0; i < n; i++) {
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        memcpy(x + i * d, pool + (size_t)(r >> 48) % POOL * d, (size_t)d * sizeof *x);
    }
    return x;
}

/* temp: 0 for COSINE, else CONTRAST at that temperature. */
static int run(const char *label, const float *pool, const float *h, size_t k, size_t n, int d,
               size_t budget, int repeat, double temp)
{
    const size_t n_a = n / 2, n_b = n - n_a;
    float *x = pooled_rows(pool, n, d);
    if (!x) {
        fprintf(stderr, "bench_scorer_gpu: out of host memory for %zu x %d\n", n, d);
        return 1;
    }
    hr_hypothesis_score *out = malloc(k * sizeof *out);
    hr_scorer_cuda *g = NULL;
    char err[512] = "";
    double t = now();
    if (hr_scorer_cuda_create(x, n_a, x + n_a * (size_t)d, n_b, d, budget, &g, err, sizeof err) !=
        HR_OK) {
        fprintf(stderr, "bench_scorer_gpu: %s\n", err);
        free(x), free(out);
        return 1;
    }
    const double t_create = now() - t;
    hr_scorer_cuda_layout lay;
    hr_scorer_cuda_info(g, &lay);
    double best_ms = INFINITY, best_wall = INFINITY;
    int rc = 0;
    for (int r = 0; r <= repeat && rc == 0; r++) { /* r = 0: warm-up */
        t = now();
        if ((temp > 0.0 ? hr_scorer_cuda_score_contrast(g, h, k, temp, out, err, sizeof err)
                     : hr_scorer_cuda_score(g, h, k, out, err, sizeof err)) != HR_OK) {
            fprintf(stderr, "bench_scorer_gpu: %s\n", err);
            rc = 1;
            break;
        }
        const double wall = now() - t, ms = hr_scorer_cuda_last_ms(g);
        if (r > 0 || repeat == 0) {
            if (ms < best_ms) best_ms = ms;
            if (wall < best_wall) best_wall = wall;
        }
    }
    if (rc == 0)
        printf("%s: K=%zu N=%zu D=%d resident=%d chunk=%zu group=%zu: device %.3f ms, wall %.3f "
               "ms (create %.3f s, not timed), %.3g scores/s\n",
               label, k, n, d, lay.resident, lay.chunk_samples, lay.group_rows, best_ms,
               1e3 * best_wall, t_create, (double)k * (double)n / (best_ms * 1e-3));
    hr_scorer_cuda_destroy(g);
    free(x), free(out);
    return rc;
}

#ifdef HR_HAVE_CUDA
/* Figure 0: C (n, k) FP32 = X (n, d) H (k, d)^T from FP16 inputs (random
 * values of magnitude 2^-6 to 2^-1, not zeros), cudaEvents, best of repeat. */
static int gemm_floor(size_t k, size_t n, int d, int repeat)
{
    uint16_t *x = NULL, *h = NULL; /* FP16 bits */
    float *c = NULL;
    cublasHandle_t blas = NULL;
    cudaEvent_t e0 = NULL, e1 = NULL;
    const float one = 1.f, zero = 0.f;
    float best = INFINITY, ms = 0.f;
    int rc = 1;
    uint16_t *hx = malloc(n * (size_t)d * sizeof *hx);
    if (!hx) return 1;
    uint64_t seed = 99;
    for (size_t i = 0; i < n * (size_t)d; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        const unsigned sign = (unsigned)(seed >> 63), e = 9 + (unsigned)(seed >> 40) % 6,
                       m = (unsigned)(seed >> 20) & 0x3FFu;
        hx[i] = (uint16_t)(sign << 15 | e << 10 | m);
    }
    if (cudaMalloc((void **)&x, n * (size_t)d * sizeof *x) || cudaMalloc((void **)&h, k * (size_t)d * sizeof *h) ||
        cudaMalloc((void **)&c, n * k * sizeof *c) || cublasCreate(&blas) ||
        cudaEventCreate(&e0) || cudaEventCreate(&e1) ||
        cudaMemcpy(x, hx, n * (size_t)d * sizeof *x, cudaMemcpyHostToDevice) ||
        cudaMemcpy(h, hx, k * (size_t)d * sizeof *h, cudaMemcpyHostToDevice))
        goto done;
    for (int r = 0; r <= repeat; r++) {
        cudaEventRecord(e0, 0);
        if (cublasGemmEx(blas, CUBLAS_OP_T, CUBLAS_OP_N, (int)n, (int)k, d, &one, x, CUDA_R_16F, d,
                         h, CUDA_R_16F, d, &zero, c, CUDA_R_32F, (int)n, CUBLAS_COMPUTE_32F,
                         CUBLAS_GEMM_DEFAULT) != CUBLAS_STATUS_SUCCESS)
            goto done;
        cudaEventRecord(e1, 0);
        if (cudaEventSynchronize(e1) || cudaEventElapsedTime(&ms, e0, e1)) goto done;
        if (r > 0 && ms < best) best = ms;
    }
    printf("gemm alone: K=%zu N=%zu D=%d FP16 in, FP32 out: %.3f ms (%.0f TFLOP/s, %.2f TB/s "
           "of output)\n",
           k, n, d, best, 2.0 * k * n * d / (best * 1e-3) / 1e12,
           4.0 * k * n / (best * 1e-3) / 1e12);
    rc = 0;
done:
    if (rc) fprintf(stderr, "bench_scorer_gpu: the GEMM floor figure failed\n");
    if (blas) cublasDestroy(blas);
    if (e0) cudaEventDestroy(e0);
    if (e1) cudaEventDestroy(e1);
    cudaFree(x), cudaFree(h), cudaFree(c);
    free(hx);
    return rc;
}
#else
static int gemm_floor(size_t k, size_t n, int d, int repeat)
{
    (void)k, (void)n, (void)d, (void)repeat;
    return 1;
}
#endif

int main(int argc, char **argv)
{
    long k = 1000, n = 1000000, d = 384, repeat = 3, sk = 4096, sn = 10000000, smb = 4096;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i], *v = argv[i + 1];
        if (!strcmp(a, "--k")) k = bench_parse_long("bench_scorer_gpu", v, 1, 1000000, a);
        else if (!strcmp(a, "--n")) n = bench_parse_long("bench_scorer_gpu", v, 2, 2000000000L, a);
        else if (!strcmp(a, "--dim")) d = bench_parse_long("bench_scorer_gpu", v, 1, 4096, a);
        else if (!strcmp(a, "--repeat")) repeat = bench_parse_long("bench_scorer_gpu", v, 0, 100, a);
        else if (!strcmp(a, "--stream-k")) sk = bench_parse_long("bench_scorer_gpu", v, 1, 1000000, a);
        else if (!strcmp(a, "--stream-n")) sn = bench_parse_long("bench_scorer_gpu", v, 0, 2000000000L, a);
        else if (!strcmp(a, "--stream-mb")) smb = bench_parse_long("bench_scorer_gpu", v, 1, 1L << 22, a);
        else {
            fprintf(stderr, "bench_scorer_gpu: unknown option %s\n", a);
            return 2;
        }
    }
    const char *why = NULL;
    if (hr_cuda_device_count(&why) == 0) {
        fprintf(stderr, "bench_scorer_gpu: skipped: %s\n", why ? why : "no CUDA device");
        return 77;
    }
    char name[256] = "";
    size_t mem = 0;
    char err[512] = "";
    if (hr_cuda_device_info(name, sizeof name, &mem, err, sizeof err) != HR_OK)
        snprintf(name, sizeof name, "unknown GPU");
    fprintf(stderr, "bench_scorer_gpu: %s, %.1f GiB\n", name, (double)mem / (1u << 30));
    const long kmax = k > sk ? k : sk;
    float *pool = malloc((size_t)POOL * d * sizeof *pool), *h = malloc((size_t)kmax * d * sizeof *h);
    if (!pool || !h) return 1;
    unit_rows(pool, POOL, (int)d);
    unit_rows(h, (size_t)kmax, (int)d);
    int rc = gemm_floor((size_t)k, (size_t)n, (int)d, (int)repeat > 0 ? (int)repeat : 1);
    if (rc == 0)
        rc = run("resident cosine", pool, h, (size_t)k, (size_t)n, (int)d, 0, (int)repeat, 0.0);
    if (rc == 0)
        rc = run("resident contrast", pool, h, (size_t)k, (size_t)n, (int)d, 0, (int)repeat, 0.02);
    if (rc == 0 && sn > 0)
        rc = run("streamed cosine", pool, h, (size_t)sk, (size_t)sn, (int)d, (size_t)smb << 20, 0,
                 0.0);
    free(pool), free(h);
    return rc;
}
