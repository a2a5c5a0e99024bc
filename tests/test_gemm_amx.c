/*
 * tests/test_gemm_amx.c: the AMX product (host/backends/cpu/gemm_amx.h)
 * against a double-precision reference, on shapes with every kind of tail
 * (m, n, k not multiples of the tiles). Skipped (77) where the CPU or the
 * kernel has no AMX.
 *
 * The bound: each input is split into two BF16 parts that leave at most
 * 2^-18 of it, and the part left out of the product (lo times lo) is below
 * 2^-18 of it, so an entry is within about 3 x 2^-18 sum_k |a_k b_k| of the
 * exact value, plus FP32 accumulation. The check allows 2^-14 of sum_k |a_k
 * b_k|: a product of single BF16 parts (2^-9) or a misplaced tile is far
 * outside it.
 */
#include "backends/cpu/gemm_amx.h"
#include "test_random.h"
#include "test_util.h"

#include <math.h>

/* Values of mixed size: normal, times 2^e for e in [-6, 6]. */
static float *random_matrix(int rows, int cols)
{
    float *m = malloc((size_t)rows * cols * sizeof *m);
    for (size_t i = 0; i < (size_t)rows * cols; i++)
        m[i] = (float)(rng_normal() * ldexp(1.0, (int)(rng_next() % 13) - 6));
    return m;
}

/* Largest |c - exact| / sum |a b| over the entries of C = A B^T. */
static double worst_relative_error(const float *a, const float *b, const float *c, int m, int n,
                                   int k)
{
    double worst = 0.0;
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double exact = 0.0, mag = 0.0;
            for (int q = 0; q < k; q++) {
                const double p = (double)a[(size_t)i * k + q] * b[(size_t)j * k + q];
                exact += p;
                mag += fabs(p);
            }
            const double e = mag > 0 ? fabs(c[(size_t)i * n + j] - exact) / mag
                                     : fabs(c[(size_t)i * n + j]);
            if (e > worst) worst = e;
        }
    return worst;
}

static void check_shape(int m, int n, int k)
{
    float *a = random_matrix(m, k), *b = random_matrix(n, k);
    float *c = malloc(((size_t)m * n + 1) * sizeof *c);
    for (size_t i = 0; i < (size_t)m * n; i++) c[i] = NAN; /* every entry must be written */
    hr_amx_b *p = hr_amx_pack_b(b, n, k);
    CHECK(p != NULL);
    if (p) CHECK(hr_amx_gemm_nt(a, m, k, p, c, n) == 0);
    const double e = worst_relative_error(a, b, c, m, n, k);
    CHECKF(e <= 0x1p-14, "(%d, %d, %d): worst error %.3g of sum |a b| (bound 2^-14 = %.3g)", m,
           n, k, e, 0x1p-14);
    fprintf(stderr, "  (%d, %d, %d): worst error %.3g of sum |a b|\n", m, n, k, e);
    hr_amx_b_free(p);
    free(a), free(b), free(c);
}

static void test_products_match_the_exact_reference_on_every_tail(void)
{
    rng_state = 7;
    const int shapes[][3] = {{1, 1, 1},    {5, 17, 20},   {33, 50, 384},  {67, 64, 31},
                             {128, 32, 32}, {129, 33, 65}, {300, 384, 1536}, {1024, 1152, 384}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        check_shape(shapes[s][0], shapes[s][1], shapes[s][2]);
}

/* Rows computed alone, with other strides, are the same bits as in the
 * whole product: no entry depends on how a caller cuts its rows. */
static void test_a_row_does_not_depend_on_the_rows_beside_it(void)
{
    rng_state = 11;
    const int m = 300, n = 70, k = 384, lda = 400, ldc = 80;
    float *a = random_matrix(m, lda), *b = random_matrix(n, k);
    float *whole = malloc((size_t)m * ldc * sizeof *whole), *part = malloc((size_t)m * ldc * sizeof *part);
    hr_amx_b *p = hr_amx_pack_b(b, n, k);
    CHECK(p && hr_amx_gemm_nt(a, m, lda, p, whole, ldc) == 0);
    const int cuts[] = {0, 5, 42, 170, 171, 300};
    for (int s = 0; p && s + 1 < (int)(sizeof cuts / sizeof cuts[0]); s++)
        CHECK(hr_amx_gemm_nt(a + (size_t)cuts[s] * lda, cuts[s + 1] - cuts[s], lda, p,
                             part + (size_t)cuts[s] * ldc, ldc) == 0);
    int same = 1;
    for (int i = 0; i < m; i++)
        if (memcmp(whole + (size_t)i * ldc, part + (size_t)i * ldc, n * sizeof(float)) != 0) same = 0;
    CHECK(same);
    hr_amx_b_free(p);
    free(a), free(b), free(whole), free(part);
}

int main(void)
{
    if (!hr_amx_available()) return test_skip("no AMX-BF16 here (or HYPORANK_CPU_GEMM=fp32)");
    RUN(test_products_match_the_exact_reference_on_every_tail);
    RUN(test_a_row_does_not_depend_on_the_rows_beside_it);
    return test_summary();
}
