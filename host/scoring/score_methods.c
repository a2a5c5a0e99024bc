/*
 * host/scoring/score_methods.c: the score methods, once (score_methods.h has
 * the formulas and who uses them).
 */
#include "scoring/score_methods.h"
#include "backends/cpu/gemm_amx.h"
#include "core/threads.h"
#include "core/util.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>

double hr_similarity(const float *h, const float *x, int dim)
{
    double acc = 0;
    for (int i = 0; i < dim; i++) acc += (double)h[i] * (double)x[i];
    return acc;
}

const char *hr_similarities_products(void)
{
    return hr_amx_available()
               ? "float32 inputs split into two BF16 parts, products on AMX tiles with FP32 "
                 "accumulation: within about 2^-16 of the sum of |h x|"
               : "float32 sgemm";
}

int hr_similarities_workers(int n_threads)
{
    return hr_amx_available() ? hr_workers(n_threads) : 1;
}

void hr_similarities(const float *H, size_t k, const float *X, size_t n, int dim, float *S)
{
    hr_similarities_ld(H, k, X, n, dim, S, n);
}

void hr_similarities_ld(const float *H, size_t k, const float *X, size_t n, int dim, float *S,
                        size_t ld)
{
    if (k == 0 || n == 0) return;
    if (hr_amx_available() && k <= INT_MAX && n <= INT_MAX) { /* as the CPU scorer does */
        hr_amx_b *hp = hr_amx_pack_b(H, (int)k, dim);
        const int done = hp && hr_amx_gemm_nt_transposed(X, (int)n, dim, hp, S, (int)ld) == 0;
        hr_amx_b_free(hp);
        if (done) return;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)k, (int)n, dim, 1.0f, H, dim, X,
                dim, 0.0f, S, (int)ld);
}

void hr_score_sample(hr_score_method method, double t, const float *s, size_t k, float *out)
{
    if (method == HR_SCORE_COSINE || k == 1) { /* the pool term is 0 for K = 1 */
        for (size_t j = 0; j < k; j++) out[j] = s[j];
        return;
    }
    if (method == HR_SCORE_CENTERED) {
        double c = 0;
        for (size_t j = 0; j < k; j++) c += s[j];
        for (size_t j = 0; j < k; j++) out[j] = (float)hr_score_centered(s[j], c, k);
        return;
    }
    const double log_km1 = log((double)(k - 1));
    hr_contrast_pool p;
    hr_contrast_pool_start(&p);
    for (size_t j = 0; j < k; j++) hr_contrast_pool_fold(&p, s[j], j, t);
    hr_contrast_pool_finish(&p, t, log_km1);
    for (size_t j = 0; j < k; j++) out[j] = (float)hr_contrast_score(s[j], j, &p, t, log_km1);
}

hr_status hr_score_centered_linear(const float *h, size_t k, int dim, float *h_lin,
                                   double *h_norm, char *err, size_t errlen)
{
    const size_t d = (size_t)dim;
    double *sum = calloc(d, sizeof *sum), *row = malloc(d * sizeof *row); /* (dim) each */
    if (!sum || !row) {
        free(sum), free(row);
        return hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory");
    }
    for (size_t i = 0; i < k; i++)
        for (size_t c = 0; c < d; c++) sum[c] += h[i * d + c];
    for (size_t i = 0; i < k; i++) {
        double ss = 0.0;
        for (size_t c = 0; c < d; c++) {
            row[c] = k == 1 ? h[c] : ((double)h[i * d + c] * (double)k - sum[c]) / (double)(k - 1);
            ss += row[c] * row[c];
        }
        const double norm = sqrt(ss) > 0.0 ? sqrt(ss) : 1.0;
        for (size_t c = 0; c < d; c++) h_lin[i * d + c] = (float)(row[c] / norm);
        h_norm[i] = norm;
    }
    free(sum), free(row);
    return HR_OK;
}
