/*
 * tests/test_kernels_gpu.c: each CUDA kernel against its CPU twin.
 * Skips (exit 77) where no GPU is present.
 */
#include "backends/cuda/cuda.h"
#include "backends/cpu/encoder_cpu.h"
#include "test_util.h"

#include <math.h>

/* Float32 row reductions in different orders (warp tree vs sequential) differ
 * by a few ulp per element; 1e-5 absolute on O(1) values leaves a wide margin
 * yet catches any real mistake (a wrong eps, a missing gamma, a wrong row). */
#define TOL 1e-5f

static unsigned rng_state = 12345u;
static float frand(void) /* uniform in [-1, 1) */
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return (float)(rng_state >> 8) / 8388608.f - 1.f;
}

static float max_abs_diff(const float *a, const float *b, size_t n)
{
    float m = 0.f;
    for (size_t i = 0; i < n; i++) m = fmaxf(m, fabsf(a[i] - b[i]));
    return m;
}

/* Shapes: a single element, sizes below, at and above the block width, the
 * model's 384, and an all-zero row (norm 0 must not produce NaN). */
static const int shapes[][2] = {{1, 1}, {3, 7}, {5, 128}, {17, 129}, {64, 384}, {2, 1536}, {1000, 384}};

static void test_l2_normalize_kernel_matches_cpu(void)
{
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int rows = shapes[s][0], cols = shapes[s][1];
        size_t n = (size_t)rows * cols;
        float *cpu = malloc(n * sizeof *cpu), *gpu = malloc(n * sizeof *gpu);
        for (size_t i = 0; i < n; i++) cpu[i] = gpu[i] = 3.f * frand();
        if (rows > 1) memset(cpu, 0, cols * sizeof *cpu), memset(gpu, 0, cols * sizeof *gpu);
        char err[512] = "";
        hr_cpu_l2_normalize_rows(cpu, rows, cols);
        CHECKF(hr_cuda_l2_normalize_rows_host(gpu, rows, cols, err, sizeof err) == HR_OK, "%s", err);
        float d = max_abs_diff(cpu, gpu, n);
        CHECKF(d <= TOL, "shape (%d, %d): max difference %g", rows, cols, d);
        free(cpu);
        free(gpu);
    }
}

static void test_layernorm_kernel_matches_cpu(void)
{
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int rows = shapes[s][0], cols = shapes[s][1];
        size_t n = (size_t)rows * cols;
        float *cpu = malloc(n * sizeof *cpu), *gpu = malloc(n * sizeof *gpu);
        float *g = malloc(cols * sizeof *g), *b = malloc(cols * sizeof *b);
        for (size_t i = 0; i < n; i++) cpu[i] = gpu[i] = 4.f * frand() + 0.5f;
        for (int c = 0; c < cols; c++) g[c] = 1.f + 0.2f * frand(), b[c] = 0.1f * frand();
        char err[512] = "";
        hr_cpu_layernorm_rows(cpu, rows, cols, g, b, 1e-12f);
        CHECKF(hr_cuda_layernorm_rows_host(gpu, rows, cols, g, b, 1e-12f, err, sizeof err) == HR_OK,
               "%s", err);
        float d = max_abs_diff(cpu, gpu, n);
        /* (1, 1): variance 0, the output is beta exactly on both sides. */
        CHECKF(d <= TOL, "shape (%d, %d): max difference %g", rows, cols, d);
        free(cpu), free(gpu), free(g), free(b);
    }
}

int main(void)
{
    const char *why = NULL;
    if (hr_cuda_device_count(&why) == 0) return test_skip(why ? why : "no CUDA device");
    RUN(test_l2_normalize_kernel_matches_cpu);
    RUN(test_layernorm_kernel_matches_cpu);
    return test_summary();
}
