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

/* Largest |c - exact| / sum |a b| over the entries of C = A B^T, those
 * where skip(i, j) is 1 left out (skip may be NULL). */
static double worst_relative_error(const float *a, const float *b, const float *c, int m, int n,
                                   int k, int (*skip)(int, int))
{
    double worst = 0.0;
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            if (skip && skip(i, j)) continue;
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
    const double e = worst_relative_error(a, b, c, m, n, k, NULL);
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
    float *whole = malloc((size_t)m * ldc * sizeof *whole);
    float *part = malloc((size_t)m * ldc * sizeof *part);
    hr_amx_b *p = hr_amx_pack_b(b, n, k);
    CHECK(p && hr_amx_gemm_nt(a, m, lda, p, whole, ldc) == 0);
    const int cuts[] = {0, 5, 42, 170, 171, 300};
    for (int s = 0; p && s + 1 < (int)(sizeof cuts / sizeof cuts[0]); s++)
        CHECK(hr_amx_gemm_nt(a + (size_t)cuts[s] * lda, cuts[s + 1] - cuts[s], lda, p,
                             part + (size_t)cuts[s] * ldc, ldc) == 0);
    int same = 1;
    for (int i = 0; i < m; i++)
        if (memcmp(whole + (size_t)i * ldc, part + (size_t)i * ldc, n * sizeof(float)) != 0)
            same = 0;
    CHECK(same);
    hr_amx_b_free(p);
    free(a), free(b), free(whole), free(part);
}

/* The transposed product holds the same bits, transposed. */
static void test_transposed_product_is_the_same_bits(void)
{
    rng_state = 13;
    const int m = 77, n = 45, k = 384;
    float *a = random_matrix(m, k), *b = random_matrix(n, k);
    float *c = malloc((size_t)m * n * sizeof *c), *ct = malloc((size_t)n * m * sizeof *ct);
    hr_amx_b *p = hr_amx_pack_b(b, n, k);
    CHECK(p && hr_amx_gemm_nt(a, m, k, p, c, n) == 0 &&
          hr_amx_gemm_nt_transposed(a, m, k, p, ct, m) == 0);
    int same = 1;
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++)
            if (memcmp(&c[(size_t)i * n + j], &ct[(size_t)j * m + i], sizeof(float)) != 0) same = 0;
    CHECK(same);
    hr_amx_b_free(p);
    free(a), free(b), free(c), free(ct);
}

/* The entries of the test below outside the safe range: rows 7 (tiny) and
 * 9 (infinite), column 8 (NaN), and (3, 5), 20 x 3e30 x 2e30 > 2^125; row 3
 * and column 5 with ordinary partners are inside. */
static int outside_safe_range(int i, int j)
{
    return i == 7 || i == 9 || j == 8 || (i == 3 && j == 5);
}

/* Rows whose parts could overflow, fall below FP32's normal range, or hold
 * infinity or NaN are summed in plain float: sgemm's infinity, not the
 * parts' NaN (hi times -lo); the other entries keep the split product. */
static void test_rows_outside_the_safe_range_are_summed_in_plain_float(void)
{
    rng_state = 17;
    const int m = 40, n = 35, k = 20;
    float *a = random_matrix(m, k), *b = random_matrix(n, k);
    for (int q = 0; q < k; q++) {
        a[3 * k + q] = 3e30f; /* a 3e30 row and ... */
        b[5 * k + q] = 2e30f; /* ... a 2e30 row: 6e60 overflows */
        a[7 * k + q] = 1e-37f; /* below the safe range */
    }
    a[9 * k + 4] = INFINITY;
    b[8 * k + 2] = NAN;
    float *c = malloc((size_t)m * n * sizeof *c);
    hr_amx_b *p = hr_amx_pack_b(b, n, k);
    CHECK(p && hr_amx_gemm_nt(a, m, k, p, c, n) == 0);
    int plain = 1;
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            if (!outside_safe_range(i, j)) continue;
            float want = 0.0f;
            for (int q = 0; q < k; q++) want += a[(size_t)i * k + q] * b[(size_t)j * k + q];
            const float got = c[(size_t)i * n + j];
            if (!(got == want || (got != got && want != want))) {
                plain = 0;
                fprintf(stderr, "  (%d, %d): %.9g, plain float %.9g\n", i, j, got, want);
            }
        }
    CHECK(plain);
    CHECK(isinf(c[3 * n + 5]) && c[3 * n + 5] > 0);
    CHECK(isnan(c[0 * n + 8]));
    CHECK(c[7 * n + 0] != 0.0f); /* 1e-37 times O(1): not flushed */
    /* the other entries stay within the split's bound */
    const double worst = worst_relative_error(a, b, c, m, n, k, outside_safe_range);
    CHECKF(worst <= 0x1p-14, "worst %.3g", worst);
    hr_amx_b_free(p);
    free(a), free(b), free(c);
}

int main(void)
{
    if (!hr_amx_available()) return test_skip("no AMX-BF16 here (or HYPORANK_CPU_GEMM=fp32)");
    RUN(test_products_match_the_exact_reference_on_every_tail);
    RUN(test_a_row_does_not_depend_on_the_rows_beside_it);
    RUN(test_transposed_product_is_the_same_bits);
    RUN(test_rows_outside_the_safe_range_are_summed_in_plain_float);
    return test_summary();
}
