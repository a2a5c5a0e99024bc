/*
 * host/backends/cpu/encoder_cpu.c: BERT sentence encoder in float32 on the CPU.
 *
 * Texts are tokenised, ordered by length and packed end to end into batches
 * of at most HR_CPU_BATCH_TOKENS tokens, so that the linear layers run as a
 * few large matrix products (OpenBLAS sgemm) and no work goes to padding.
 * Attention runs per sequence and head. Worker threads take whole batches;
 * each calls a single-threaded BLAS, so the cores never wait on each other.
 */
#include "backends/cpu/encoder_cpu.h"
#include "backends/cpu/gemm_amx.h"
#include "core/fastmath.h"
#include "core/simd.h"
#include "core/util.h"

#include <cblas.h>
#include <math.h>
#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#endif
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Tokens per packed batch. Large enough that sgemm runs near its peak,
 * small enough that the (tokens, intermediate) activations stay in L2/L3:
 * on 256-token texts 1024 ran 5% faster than 2048 and 4% faster than 512
 * (AVX-512 Xeon, 2 MiB L2 a core); on headlines the three were alike. */
#define HR_CPU_BATCH_TOKENS 1024
/* Texts tokenised and scheduled together; also the progress granularity. */
#define HR_CPU_CHUNK_TEXTS 8192

/* OpenBLAS entry point (cblas.h from OpenBLAS declares it; repeated here so
 * that a reference cblas.h also compiles). */
void openblas_set_num_threads(int num_threads);

struct hr_cpu_packed {
    int n_layers;
    hr_amx_b **w; /* (n_layers, 4): qkv_w, ao_w, in_w, out_w */
};

hr_cpu_packed *hr_cpu_pack_weights(const hr_model *m)
{
    if (!hr_amx_available()) return NULL;
    hr_cpu_packed *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->n_layers = m->n_layers;
    p->w = calloc((size_t)m->n_layers * 4, sizeof *p->w);
    if (!p->w) {
        free(p);
        return NULL;
    }
    const int h = m->hidden, inter = m->intermediate;
    for (int l = 0; l < m->n_layers; l++) {
        const hr_layer_weights *w = &m->layers[l];
        hr_amx_b **o = p->w + (size_t)l * 4;
        o[0] = hr_amx_pack_b(w->qkv_w, 3 * h, h);
        o[1] = hr_amx_pack_b(w->ao_w, h, h);
        o[2] = hr_amx_pack_b(w->in_w, inter, h);
        o[3] = hr_amx_pack_b(w->out_w, h, inter);
        if (!o[0] || !o[1] || !o[2] || !o[3]) {
            hr_cpu_packed_free(p);
            return NULL;
        }
    }
    return p;
}

void hr_cpu_packed_free(hr_cpu_packed *p)
{
    if (!p) return;
    for (int i = 0; i < p->n_layers * 4; i++) hr_amx_b_free(p->w[i]);
    free(p->w);
    free(p);
}

struct hr_cpu_workspace {
    const hr_cpu_packed *packed; /* the weights for AMX, or NULL: sgemm */
    int max_tokens, max_len;
    float *x;      /* (max_tokens, H) hidden states */
    float *qkv;    /* (max_tokens, 3H) query | key | value */
    float *ctx;    /* (max_tokens, H) attention context, then scratch */
    float *inter;  /* (max_tokens, I) feed-forward activations */
    float *scores; /* hr_cpu_attention_scratch(max_len, ...) floats */
};

hr_cpu_workspace *hr_cpu_workspace_create(const hr_model *m, const hr_cpu_packed *packed,
                                          int max_tokens, int max_len)
{
    hr_cpu_workspace *ws = calloc(1, sizeof *ws);
    if (!ws) return NULL;
    ws->packed = packed;
    size_t t = (size_t)max_tokens, h = (size_t)m->hidden;
    ws->max_tokens = max_tokens;
    ws->max_len = max_len;
    ws->x = malloc(t * h * sizeof(float));
    ws->qkv = malloc(t * 3 * h * sizeof(float));
    ws->ctx = malloc(t * h * sizeof(float));
    ws->inter = malloc(t * (size_t)m->intermediate * sizeof(float));
    ws->scores = malloc(hr_cpu_attention_scratch(max_len, m->hidden, m->n_heads) * sizeof(float));
    if (!ws->x || !ws->qkv || !ws->ctx || !ws->inter || !ws->scores) {
        hr_cpu_workspace_destroy(ws);
        return NULL;
    }
    return ws;
}

void hr_cpu_workspace_destroy(hr_cpu_workspace *ws)
{
    if (!ws) return;
    free(ws->x);
    free(ws->qkv);
    free(ws->ctx);
    free(ws->inter);
    free(ws->scores);
    free(ws);
}

/* Sum of v[0..n) in 16 interleaved partial sums (a fixed order, so results
 * are reproducible, and one the compiler turns into vector adds). */
static inline float sum16(const float *v, int n)
{
    float acc[16] = {0};
    int c = 0;
    for (; c + 16 <= n; c += 16)
        for (int j = 0; j < 16; j++) acc[j] += v[c + j];
    float s = 0.f;
    for (int j = 0; j < 16; j++) s += acc[j];
    for (; c < n; c++) s += v[c];
    return s;
}

/* Sum of (v[i] - mean)^2 over v[0..n), in the same way as sum16. */
static inline float sumsq16(const float *v, int n, float mean)
{
    float acc[16] = {0};
    int c = 0;
    for (; c + 16 <= n; c += 16)
        for (int j = 0; j < 16; j++) {
            float d = v[c + j] - mean;
            acc[j] += d * d;
        }
    float s = 0.f;
    for (int j = 0; j < 16; j++) s += acc[j];
    for (; c < n; c++) s += (v[c] - mean) * (v[c] - mean);
    return s;
}

/* LayerNorm of one row in place: two-pass mean and biased variance, as
 * torch.nn.LayerNorm. */
static inline void layernorm_row(float *v, int cols, const float *gamma, const float *beta,
                                 float eps)
{
    const float mean = sum16(v, cols) / (float)cols;
    const float inv = 1.f / sqrtf(sumsq16(v, cols, mean) / (float)cols + eps);
    for (int c = 0; c < cols; c++) v[c] = (v[c] - mean) * inv * gamma[c] + beta[c];
}

HR_VECTOR_CLONES
void hr_cpu_layernorm_rows(float *x, int rows, int cols, const float *gamma, const float *beta,
                           float eps)
{
    for (int r = 0; r < rows; r++) layernorm_row(x + (size_t)r * cols, cols, gamma, beta, eps);
}

HR_VECTOR_CLONES
void hr_cpu_residual_layernorm(float *x, const float *y, const float *b, int rows, int cols,
                               const float *gamma, const float *beta, float eps)
{
    for (int r = 0; r < rows; r++) {
        float *v = x + (size_t)r * cols;
        const float *u = y + (size_t)r * cols;
        for (int c = 0; c < cols; c++) v[c] += u[c] + b[c];
        layernorm_row(v, cols, gamma, beta, eps);
    }
}

/* Largest of v[0..n), n >= 1, with 16 interleaved maxima (vectorisable). */
static inline float max16(const float *v, int n)
{
    float acc[16];
    for (int j = 0; j < 16; j++) acc[j] = v[0];
    int c = 0;
    for (; c + 16 <= n; c += 16)
        for (int j = 0; j < 16; j++) acc[j] = v[c + j] > acc[j] ? v[c + j] : acc[j];
    float m = acc[0];
    for (int j = 1; j < 16; j++) m = acc[j] > m ? acc[j] : m;
    for (; c < n; c++) m = v[c] > m ? v[c] : m;
    return m;
}

HR_VECTOR_CLONES
void hr_cpu_l2_normalize_rows(float *x, int rows, int cols)
{
    for (int r = 0; r < rows; r++) {
        float *v = x + (size_t)r * cols;
        const float ss = sumsq16(v, cols, 0.f);
        /* As torch.nn.functional.normalize: divide by max(norm, 1e-12). */
        float norm = sqrtf(ss);
        float inv = 1.f / (norm > 1e-12f ? norm : 1e-12f);
        for (int c = 0; c < cols; c++) v[c] *= inv;
    }
}

/* y = x W^T (the bias is added by the pass that reads y next): on AMX
 * tiles when W was packed for them (wp; gemm_amx.h), else sgemm.
 * x: (rows, in), w: (out, in), y: (rows, out), all row-major. */
static void matmul_wt(const float *x, int rows, int in, const float *w, const hr_amx_b *wp,
                      int out, float *y)
{
    if (wp && hr_amx_gemm_nt(x, rows, in, wp, y, out) == 0) return;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, out, in, 1.f, x, in, w, in, 0.f,
                y, out);
}

HR_VECTOR_CLONES
void hr_cpu_add_bias_rows(float *y, int rows, int cols, const float *b)
{
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) y[(size_t)r * cols + c] += b[c];
}

HR_VECTOR_CLONES
void hr_cpu_bias_gelu_rows(float *y, int rows, int cols, const float *b)
{
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            float *v = y + (size_t)r * cols + c;
            *v = hr_gelu(*v + b[c]);
        }
}

/* x += y, element-wise over n values. */
HR_VECTOR_CLONES
static void add_inplace(float *x, const float *y, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] += y[i];
}

/* Fused attention: query rows ATT_ROWS at a time, keys ATT_KEYS at a time,
 * with register-sized accumulators and no matrix-product calls; each row's
 * scores live only in a (ATT_ROWS, len) strip.
 *
 * For one head of one sequence (q, k, v: rows of stride ld; out: rows of
 * stride ldo), kt: (dh, lenp) scratch for K^T scaled by 1 / sqrt(dh) (lenp:
 * len rounded up to ATT_KEYS, the padding 0), p: (ATT_ROWS, lenp) scratch
 * for the strip. Per strip of r <= ATT_ROWS rows:
 *   scores  p[i][j] = q_i . kt[:, j], tiles of ATT_KEYS keys, the r rows'
 *           sums in registers, one pass over kt per strip;
 *   softmax p[i] = exp(p[i] - max p[i]) over the len real keys
 *           (host/core/fastmath.h), and its sum;
 *   values  out_i = (sum_j p[i][j] v_j) / sum, tiles of ATT_DIMS columns of
 *           v, the r rows' sums in registers, one pass over v per strip.
 * With AVX-512 or AVX2 (core/simd.h) the tiles are intrinsics
 * (scores_avx512, values_avx512, scores_avx2, values_avx2); elsewhere their
 * portable twins, whose loops over a tile are fixed-length and innermost so
 * that GCC vectorises them. */
#define ATT_ROWS 4
#define ATT_KEYS 16
#define ATT_DIMS 16

size_t hr_cpu_attention_scratch(int max_len, int h, int heads)
{
    const size_t lenp = ((size_t)max_len + ATT_KEYS - 1) / ATT_KEYS * ATT_KEYS;
    return lenp * (size_t)(h / heads + ATT_ROWS);
}

/* p[i][j0 .. j0 + ATT_KEYS) for the strip's rows i < ATT_ROWS (all ATT_ROWS
 * computed; rows past the strip read row 0 and are ignored). */
HR_VECTOR_CLONES
static void score_tile(const float *const q[ATT_ROWS], const float *kt, int lenp, int dh, int j0,
                       float *p)
{
    float acc[ATT_ROWS][ATT_KEYS] = {{0}};
    for (int c = 0; c < dh; c++) {
        const float *kc = kt + (size_t)c * lenp + j0;
        for (int i = 0; i < ATT_ROWS; i++) {
            const float qc = q[i][c];
            for (int j = 0; j < ATT_KEYS; j++) acc[i][j] += qc * kc[j];
        }
    }
    for (int i = 0; i < ATT_ROWS; i++) memcpy(p + (size_t)i * lenp + j0, acc[i], sizeof acc[i]);
}

/* out_i[c0 .. c0 + ATT_DIMS) = sum_{j < len} p[i][j] v_j[c0 ..] for i < ATT_ROWS
 * (p's rows of stride lenp). */
HR_VECTOR_CLONES
static void value_tile(const float *p, int lenp, int len, const float *v, int ld, int c0,
                       float acc[ATT_ROWS][ATT_DIMS])
{
    memset(acc, 0, sizeof(float) * ATT_ROWS * ATT_DIMS);
    for (int j = 0; j < len; j++) {
        const float *vj = v + (size_t)j * ld + c0;
        for (int i = 0; i < ATT_ROWS; i++) {
            const float pij = p[(size_t)i * lenp + j];
            for (int c = 0; c < ATT_DIMS; c++) acc[i][c] += pij * vj[c];
        }
    }
}

/* value_tile for nc <= ATT_DIMS columns: a partial tile (a head size that
 * is not a multiple of ATT_DIMS) must not read past its columns. */
static void value_tile_n(const float *p, int lenp, int len, const float *v, int ld, int c0, int nc,
                         float acc[ATT_ROWS][ATT_DIMS])
{
    if (nc == ATT_DIMS) {
        value_tile(p, lenp, len, v, ld, c0, acc);
        return;
    }
    memset(acc, 0, sizeof(float) * ATT_ROWS * ATT_DIMS);
    for (int j = 0; j < len; j++)
        for (int i = 0; i < ATT_ROWS; i++)
            for (int c = 0; c < nc; c++)
                acc[i][c] += p[(size_t)i * lenp + j] * v[(size_t)j * ld + c0 + c];
}

/* exp(x - max x) over x: (n) in place, and its sum, in one pass after the
 * max: 16 interleaved partial sums, as sum16. */
HR_VECTOR_CLONES
static float softmax_numerators(float *x, int n)
{
    const float mx = max16(x, n);
    float acc[16] = {0};
    int c = 0;
    for (; c + 16 <= n; c += 16)
        for (int j = 0; j < 16; j++) {
            const float e = hr_expf(x[c + j] - mx);
            x[c + j] = e;
            acc[j] += e;
        }
    float s = 0.f;
    for (int j = 0; j < 16; j++) s += acc[j];
    for (; c < n; c++) s += x[c] = hr_expf(x[c] - mx);
    return s;
}

#if defined(__GNUC__) && defined(__x86_64__)
/* The strip's scores and values with AVX-512: the same tiles as the
 * portable score_tile and value_tile_n (whose sums they match to float
 * rounding: fused multiply-adds here); scores 32 keys at a time where there
 * are that many, values 32 columns (masked when fewer). */
__attribute__((target("avx512f"))) static void scores_avx512(const float *const q[ATT_ROWS],
                                                           const float *kt, int lenp, int dh,
                                                           float *p)
{
    int j0 = 0;
    for (; j0 + 32 <= lenp; j0 += 32) {
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        __m512 b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        for (int c = 0; c < dh; c++) {
            const __m512 k0 = _mm512_loadu_ps(kt + (size_t)c * lenp + j0);
            const __m512 k1 = _mm512_loadu_ps(kt + (size_t)c * lenp + j0 + 16);
            const __m512 q0 = _mm512_set1_ps(q[0][c]), q1 = _mm512_set1_ps(q[1][c]);
            const __m512 q2 = _mm512_set1_ps(q[2][c]), q3 = _mm512_set1_ps(q[3][c]);
            a0 = _mm512_fmadd_ps(q0, k0, a0), b0 = _mm512_fmadd_ps(q0, k1, b0);
            a1 = _mm512_fmadd_ps(q1, k0, a1), b1 = _mm512_fmadd_ps(q1, k1, b1);
            a2 = _mm512_fmadd_ps(q2, k0, a2), b2 = _mm512_fmadd_ps(q2, k1, b2);
            a3 = _mm512_fmadd_ps(q3, k0, a3), b3 = _mm512_fmadd_ps(q3, k1, b3);
        }
        _mm512_storeu_ps(p + j0, a0), _mm512_storeu_ps(p + j0 + 16, b0);
        _mm512_storeu_ps(p + (size_t)lenp + j0, a1), _mm512_storeu_ps(p + (size_t)lenp + j0 + 16, b1);
        _mm512_storeu_ps(p + 2 * (size_t)lenp + j0, a2);
        _mm512_storeu_ps(p + 2 * (size_t)lenp + j0 + 16, b2);
        _mm512_storeu_ps(p + 3 * (size_t)lenp + j0, a3);
        _mm512_storeu_ps(p + 3 * (size_t)lenp + j0 + 16, b3);
    }
    for (; j0 < lenp; j0 += 16) { /* lenp is a multiple of 16 */
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int c = 0; c < dh; c++) {
            const __m512 k0 = _mm512_loadu_ps(kt + (size_t)c * lenp + j0);
            a0 = _mm512_fmadd_ps(_mm512_set1_ps(q[0][c]), k0, a0);
            a1 = _mm512_fmadd_ps(_mm512_set1_ps(q[1][c]), k0, a1);
            a2 = _mm512_fmadd_ps(_mm512_set1_ps(q[2][c]), k0, a2);
            a3 = _mm512_fmadd_ps(_mm512_set1_ps(q[3][c]), k0, a3);
        }
        _mm512_storeu_ps(p + j0, a0), _mm512_storeu_ps(p + (size_t)lenp + j0, a1);
        _mm512_storeu_ps(p + 2 * (size_t)lenp + j0, a2), _mm512_storeu_ps(p + 3 * (size_t)lenp + j0, a3);
    }
}

/* acc[i][0 .. 32) = sum_{j < len} p[i][j] v_j[c0 .. c0 + nc), nc <= 32 (masked):
 * two 16-column tiles at once, so that eight independent sums cover the
 * multiply-add's latency (four alone leave half of the two ports idle). */
__attribute__((target("avx512f"))) static void values_avx512(const float *p, int lenp, int len,
                                                           const float *v, int ld, int c0, int nc,
                                                           float acc[ATT_ROWS][2 * ATT_DIMS])
{
    const __mmask16 m0 = nc >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nc) - 1);
    const __mmask16 m1 = nc >= 32 ? (__mmask16)0xFFFF
                         : nc > 16 ? (__mmask16)((1u << (nc - 16)) - 1)
                                   : (__mmask16)0;
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    __m512 b0 = a0, b1 = a0, b2 = a0, b3 = a0;
    const float *p0 = p, *p1 = p0 + lenp, *p2 = p1 + lenp, *p3 = p2 + lenp;
    for (int j = 0; j < len; j++) {
        const float *vj = v + (size_t)j * ld + c0;
        const __m512 v0 = _mm512_maskz_loadu_ps(m0, vj), v1 = _mm512_maskz_loadu_ps(m1, vj + 16);
        const __m512 w0 = _mm512_set1_ps(p0[j]), w1 = _mm512_set1_ps(p1[j]);
        const __m512 w2 = _mm512_set1_ps(p2[j]), w3 = _mm512_set1_ps(p3[j]);
        a0 = _mm512_fmadd_ps(w0, v0, a0), b0 = _mm512_fmadd_ps(w0, v1, b0);
        a1 = _mm512_fmadd_ps(w1, v0, a1), b1 = _mm512_fmadd_ps(w1, v1, b1);
        a2 = _mm512_fmadd_ps(w2, v0, a2), b2 = _mm512_fmadd_ps(w2, v1, b2);
        a3 = _mm512_fmadd_ps(w3, v0, a3), b3 = _mm512_fmadd_ps(w3, v1, b3);
    }
    _mm512_storeu_ps(acc[0], a0), _mm512_storeu_ps(acc[0] + 16, b0);
    _mm512_storeu_ps(acc[1], a1), _mm512_storeu_ps(acc[1] + 16, b1);
    _mm512_storeu_ps(acc[2], a2), _mm512_storeu_ps(acc[2] + 16, b2);
    _mm512_storeu_ps(acc[3], a3), _mm512_storeu_ps(acc[3] + 16, b3);
}

/* scores_avx512 with AVX2 and FMA: tiles of 16 keys, two 8-float vectors a
 * row, eight accumulators. */
__attribute__((target("avx2,fma"))) static void scores_avx2(const float *const q[ATT_ROWS],
                                                           const float *kt, int lenp, int dh,
                                                           float *p)
{
    for (int j0 = 0; j0 < lenp; j0 += 16) { /* lenp is a multiple of 16 */
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        __m256 b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        for (int c = 0; c < dh; c++) {
            const __m256 k0 = _mm256_loadu_ps(kt + (size_t)c * lenp + j0);
            const __m256 k1 = _mm256_loadu_ps(kt + (size_t)c * lenp + j0 + 8);
            const __m256 q0 = _mm256_broadcast_ss(q[0] + c), q1 = _mm256_broadcast_ss(q[1] + c);
            const __m256 q2 = _mm256_broadcast_ss(q[2] + c), q3 = _mm256_broadcast_ss(q[3] + c);
            a0 = _mm256_fmadd_ps(q0, k0, a0), b0 = _mm256_fmadd_ps(q0, k1, b0);
            a1 = _mm256_fmadd_ps(q1, k0, a1), b1 = _mm256_fmadd_ps(q1, k1, b1);
            a2 = _mm256_fmadd_ps(q2, k0, a2), b2 = _mm256_fmadd_ps(q2, k1, b2);
            a3 = _mm256_fmadd_ps(q3, k0, a3), b3 = _mm256_fmadd_ps(q3, k1, b3);
        }
        float *r0 = p + j0, *r1 = r0 + lenp, *r2 = r1 + lenp, *r3 = r2 + lenp;
        _mm256_storeu_ps(r0, a0), _mm256_storeu_ps(r0 + 8, b0);
        _mm256_storeu_ps(r1, a1), _mm256_storeu_ps(r1 + 8, b1);
        _mm256_storeu_ps(r2, a2), _mm256_storeu_ps(r2 + 8, b2);
        _mm256_storeu_ps(r3, a3), _mm256_storeu_ps(r3 + 8, b3);
    }
}

/* values_avx512 with AVX2 and FMA: 16 columns as two 8-float vectors, the
 * loads masked when nc < 16. */
__attribute__((target("avx2,fma"))) static void values_avx2(const float *p, int lenp, int len,
                                                           const float *v, int ld, int c0, int nc,
                                                           float acc[ATT_ROWS][ATT_DIMS])
{
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    /* lane i of m0 (m1) is -1 when column i (8 + i) is one of the nc */
    const __m256i m0 = _mm256_cmpgt_epi32(_mm256_set1_epi32(nc), lane);
    const __m256i m1 = _mm256_cmpgt_epi32(_mm256_set1_epi32(nc - 8), lane);
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    __m256 b0 = a0, b1 = a0, b2 = a0, b3 = a0;
    const float *p0 = p, *p1 = p0 + lenp, *p2 = p1 + lenp, *p3 = p2 + lenp;
    for (int j = 0; j < len; j++) {
        const float *vj = v + (size_t)j * ld + c0;
        const __m256 v0 = nc >= 16 ? _mm256_loadu_ps(vj) : _mm256_maskload_ps(vj, m0);
        const __m256 v1 = nc >= 16 ? _mm256_loadu_ps(vj + 8) : _mm256_maskload_ps(vj + 8, m1);
        const __m256 w0 = _mm256_broadcast_ss(p0 + j), w1 = _mm256_broadcast_ss(p1 + j);
        const __m256 w2 = _mm256_broadcast_ss(p2 + j), w3 = _mm256_broadcast_ss(p3 + j);
        a0 = _mm256_fmadd_ps(w0, v0, a0), b0 = _mm256_fmadd_ps(w0, v1, b0);
        a1 = _mm256_fmadd_ps(w1, v0, a1), b1 = _mm256_fmadd_ps(w1, v1, b1);
        a2 = _mm256_fmadd_ps(w2, v0, a2), b2 = _mm256_fmadd_ps(w2, v1, b2);
        a3 = _mm256_fmadd_ps(w3, v0, a3), b3 = _mm256_fmadd_ps(w3, v1, b3);
    }
    _mm256_storeu_ps(acc[0], a0), _mm256_storeu_ps(acc[0] + 8, b0);
    _mm256_storeu_ps(acc[1], a1), _mm256_storeu_ps(acc[1] + 8, b1);
    _mm256_storeu_ps(acc[2], a2), _mm256_storeu_ps(acc[2] + 8, b2);
    _mm256_storeu_ps(acc[3], a3), _mm256_storeu_ps(acc[3] + 8, b3);
}
#endif

static void attend_head(const float *q, const float *k, const float *v, int ld, int len, int dh,
                        float *out, int ldo, float *kt, float *p)
{
    const hr_simd_level vec = hr_simd_level_now();
    const float scale = 1.f / sqrtf((float)dh);
    const int lenp = (len + ATT_KEYS - 1) / ATT_KEYS * ATT_KEYS; /* kt's row, padded */
    for (int c = 0; c < dh; c++) {
        float *row = kt + (size_t)c * lenp;
        for (int j = 0; j < len; j++) row[j] = k[(size_t)j * ld + c] * scale;
        for (int j = len; j < lenp; j++) row[j] = 0.f;
    }
    for (int i0 = 0; i0 < len; i0 += ATT_ROWS) {
        const int r = len - i0 < ATT_ROWS ? len - i0 : ATT_ROWS;
        const float *qi[ATT_ROWS];
        for (int i = 0; i < ATT_ROWS; i++) qi[i] = q + (size_t)(i0 + (i < r ? i : 0)) * ld;
#if defined(__GNUC__) && defined(__x86_64__)
        if (vec == HR_SIMD_AVX512) scores_avx512(qi, kt, lenp, dh, p);
        else if (vec == HR_SIMD_AVX2) scores_avx2(qi, kt, lenp, dh, p);
        else
#endif
            for (int j0 = 0; j0 < lenp; j0 += ATT_KEYS) score_tile(qi, kt, lenp, dh, j0, p);
        float inv[ATT_ROWS];
        for (int i = 0; i < ATT_ROWS; i++) {
            float *pi = p + (size_t)i * lenp;
            if (i >= r) { /* a row past the strip: weights 0, so the value tiles stay finite */
                memset(pi, 0, (size_t)len * sizeof *pi);
                inv[i] = 0.f;
                continue;
            }
            inv[i] = 1.f / softmax_numerators(pi, len);
        }
        /* columns a tile at a time: 32 with AVX-512 (values_avx512), else 16;
         * acc's rows hold `tile` floats */
        const int tile = vec == HR_SIMD_AVX512 ? 2 * ATT_DIMS : ATT_DIMS;
        for (int c0 = 0; c0 < dh; c0 += tile) {
            float acc[ATT_ROWS * 2 * ATT_DIMS]; /* (ATT_ROWS, tile) */
            const int nc = dh - c0 < tile ? dh - c0 : tile;
#if defined(__GNUC__) && defined(__x86_64__)
            if (vec == HR_SIMD_AVX512)
                values_avx512(p, lenp, len, v, ld, c0, nc, (float(*)[2 * ATT_DIMS])acc);
            else if (vec == HR_SIMD_AVX2)
                values_avx2(p, lenp, len, v, ld, c0, nc, (float(*)[ATT_DIMS])acc);
            else
#endif
                value_tile_n(p, lenp, len, v, ld, c0, nc, (float(*)[ATT_DIMS])acc);
            for (int i = 0; i < r; i++)
                for (int c = 0; c < nc; c++)
                    out[(size_t)(i0 + i) * ldo + c0 + c] = acc[i * tile + c] * inv[i];
        }
    }
}

void hr_cpu_attention(const float *qkv, const int *offsets, int n_seq, int h, int heads,
                      float *ctx, float *scratch)
{
    const int dh = h / heads, ld = 3 * h;
    for (int s = 0; s < n_seq; s++) {
        const int start = offsets[s], len = offsets[s + 1] - offsets[s];
        const int lenp = (len + ATT_KEYS - 1) / ATT_KEYS * ATT_KEYS;
        float *kt = scratch, *p = scratch + (size_t)dh * lenp;
        for (int head = 0; head < heads; head++) {
            const float *q = qkv + (size_t)start * ld + head * dh;
            attend_head(q, q + h, q + 2 * h, ld, len, dh, ctx + (size_t)start * h + head * dh, h,
                        kt, p);
        }
    }
}

void hr_cpu_pool(hr_pooling pooling, const float *x, const int *offsets, int n_seq, int h,
                 float *out)
{
    for (int s = 0; s < n_seq; s++) {
        const int start = offsets[s], len = offsets[s + 1] - offsets[s];
        float *o = out + (size_t)s * h;
        const float *first = x + (size_t)start * h;
        switch (pooling) {
        case HR_POOL_CLS:
            memcpy(o, first, (size_t)h * sizeof(float));
            break;
        case HR_POOL_MAX:
            memcpy(o, first, (size_t)h * sizeof(float));
            for (int t = 1; t < len; t++)
                for (int c = 0; c < h; c++) {
                    float v = first[(size_t)t * h + c];
                    o[c] = v > o[c] ? v : o[c];
                }
            break;
        case HR_POOL_MEAN:
        case HR_POOL_MEAN_SQRT_LEN: {
            memset(o, 0, (size_t)h * sizeof(float));
            for (int t = 0; t < len; t++) add_inplace(o, first + (size_t)t * h, (size_t)h);
            float div = pooling == HR_POOL_MEAN ? (float)len : sqrtf((float)len);
            for (int c = 0; c < h; c++) o[c] /= div;
            break;
        }
        }
    }
}

void hr_cpu_embed_layernorm(const int32_t *ids, const int *offsets, int n_seq, const float *word,
                            const float *pos, const float *type0, const float *gamma,
                            const float *beta, float eps, int h, float *x)
{
    for (int s = 0; s < n_seq; s++) {
        for (int t = offsets[s]; t < offsets[s + 1]; t++) {
            const int p = t - offsets[s];
            float *xt = x + (size_t)t * h;
            const float *we = word + (size_t)ids[t] * h;
            const float *pe = pos + (size_t)p * h;
            for (int c = 0; c < h; c++) xt[c] = we[c] + pe[c] + type0[c];
        }
    }
    hr_cpu_layernorm_rows(x, offsets[n_seq], h, gamma, beta, eps);
}

void hr_cpu_forward(const hr_model *m, const int32_t *ids, const int *offsets, int n_seq,
                    float *out, hr_cpu_workspace *ws)
{
    const int h = m->hidden, inter = m->intermediate;
    const int tokens = offsets[n_seq];
    float *x = ws->x;

    /* Embeddings: word + position + token type 0, then LayerNorm. */
    hr_cpu_embed_layernorm(ids, offsets, n_seq, m->word_emb, m->pos_emb, m->type_emb, m->emb_ln_g,
                           m->emb_ln_b, m->ln_eps, h, x);

    for (int l = 0; l < m->n_layers; l++) {
        const hr_layer_weights *w = &m->layers[l];
        hr_amx_b *const none[4] = {NULL, NULL, NULL, NULL};
        hr_amx_b *const *wp = ws->packed ? ws->packed->w + (size_t)l * 4 : none;
        matmul_wt(x, tokens, h, w->qkv_w, wp[0], 3 * h, ws->qkv);
        hr_cpu_add_bias_rows(ws->qkv, tokens, 3 * h, w->qkv_b);
        hr_cpu_attention(ws->qkv, offsets, n_seq, h, m->n_heads, ws->ctx, ws->scores);
        /* attention output projection + bias, residual, LayerNorm; qkv is free now */
        float *proj = ws->qkv;
        matmul_wt(ws->ctx, tokens, h, w->ao_w, wp[1], h, proj);
        hr_cpu_residual_layernorm(x, proj, w->ao_b, tokens, h, w->ln1_g, w->ln1_b, m->ln_eps);
        /* feed-forward: dense + bias + GELU, dense + bias, residual, LayerNorm */
        matmul_wt(x, tokens, h, w->in_w, wp[2], inter, ws->inter);
        hr_cpu_bias_gelu_rows(ws->inter, tokens, inter, w->in_b);
        matmul_wt(ws->inter, tokens, inter, w->out_w, wp[3], h, proj);
        hr_cpu_residual_layernorm(x, proj, w->out_b, tokens, h, w->ln2_g, w->ln2_b, m->ln_eps);
    }

    hr_cpu_pool(m->pooling, x, offsets, n_seq, h, out);
    if (m->normalize) hr_cpu_l2_normalize_rows(out, n_seq, h);
}

/* ---- scheduling: tokenise, sort by length, pack (shared with the GPU driver,
 * host/backends/cuda/encoder_gpu.c), and the CPU driver that runs batches on worker threads ---- */

int hr_embed_chunk_init(hr_embed_chunk *c, const hr_model *m, const char *const *texts,
                        const size_t *lens, size_t cap)
{
    memset(c, 0, sizeof *c);
    c->m = m;
    c->texts = texts;
    c->lens = lens;
    c->cap = cap ? cap : 1;
    c->max_len = m->max_seq_length;
    c->ids = malloc(c->cap * (size_t)c->max_len * sizeof *c->ids);
    c->n_ids = malloc(c->cap * sizeof *c->n_ids);
    c->order = malloc(c->cap * sizeof *c->order);
    c->batch_start = malloc((c->cap + 1) * sizeof *c->batch_start);
    atomic_init(&c->next_text, 0);
    if (!c->ids || !c->n_ids || !c->order || !c->batch_start) {
        hr_embed_chunk_free(c);
        return -1;
    }
    return 0;
}

void hr_embed_chunk_free(hr_embed_chunk *c)
{
    free(c->ids);
    free(c->n_ids);
    free(c->order);
    free(c->batch_start);
    c->ids = NULL, c->n_ids = NULL, c->order = NULL, c->batch_start = NULL;
}

void hr_embed_chunk_start(hr_embed_chunk *c, size_t first, size_t count)
{
    c->first = first;
    c->count = count <= c->cap ? count : c->cap;
    c->n_batches = 0;
    atomic_store(&c->next_text, 0);
}

#define TOKENIZE_GRAIN 256

void hr_embed_chunk_tokenize(hr_embed_chunk *c)
{
    const hr_tokenizer *tok = c->m->tokenizer;
    for (;;) {
        size_t i0 = atomic_fetch_add(&c->next_text, TOKENIZE_GRAIN);
        if (i0 >= c->count) return;
        size_t i1 = i0 + TOKENIZE_GRAIN < c->count ? i0 + TOKENIZE_GRAIN : c->count;
        for (size_t i = i0; i < i1; i++) {
            const char *t = c->texts[c->first + i];
            size_t len = c->lens ? c->lens[c->first + i] : strlen(t);
            c->n_ids[i] = (int)hr_tokenizer_encode(tok, t, len, c->ids + i * (size_t)c->max_len,
                                                   (size_t)c->max_len);
        }
    }
}

void *hr_embed_chunk_tokenize_worker(void *chunk)
{
    hr_embed_chunk_tokenize(chunk);
    return NULL;
}

/* Orders rows by token count (counting sort: lengths are <= max_len) and cuts
 * the order into batches of at most `budget` tokens. */
int hr_embed_chunk_plan(hr_embed_chunk *c, int budget)
{
    size_t *count = calloc((size_t)c->max_len + 2, sizeof *count);
    if (!count) return -1;
    for (size_t i = 0; i < c->count; i++) count[c->n_ids[i] + 1]++;
    for (int l = 1; l <= c->max_len + 1; l++) count[l] += count[l - 1];
    for (size_t i = 0; i < c->count; i++) c->order[count[c->n_ids[i]]++] = i;
    free(count);

    size_t nb = 0, tokens = 0;
    c->batch_start[0] = 0;
    for (size_t k = 0; k < c->count; k++) {
        int n = c->n_ids[c->order[k]];
        if (tokens > 0 && tokens + (size_t)n > (size_t)budget) {
            c->batch_start[++nb] = k;
            tokens = 0;
        }
        tokens += (size_t)n;
    }
    c->batch_start[++nb] = c->count;
    c->n_batches = nb;
    return 0;
}

int hr_embed_chunk_pack(const hr_embed_chunk *c, size_t b, int32_t *ids, int *offsets)
{
    int n_seq = 0;
    offsets[0] = 0;
    for (size_t k = c->batch_start[b]; k < c->batch_start[b + 1]; k++) {
        size_t row = c->order[k];
        int n = c->n_ids[row];
        memcpy(ids + offsets[n_seq], c->ids + row * (size_t)c->max_len, (size_t)n * sizeof *ids);
        offsets[n_seq + 1] = offsets[n_seq] + n;
        n_seq++;
    }
    return n_seq;
}

void hr_threads_start(hr_threads *t, void *(*fn)(void *), void *arg, int n)
{
    t->n = 0;
    if (n > HR_MAX_THREADS) n = HR_MAX_THREADS;
    for (int i = 0; i < n; i++) {
        if (pthread_create(&t->th[t->n], NULL, fn, arg) != 0) break;
        t->n++;
    }
}

void hr_threads_join(hr_threads *t)
{
    for (int i = 0; i < t->n; i++) pthread_join(t->th[i], NULL);
    t->n = 0;
}

/* Runs fn on n_threads threads (the caller being one of them). */
static void run_parallel(void *(*fn)(void *), void *arg, int n_threads)
{
    hr_threads t;
    hr_threads_start(&t, fn, arg, n_threads - 1);
    fn(arg);
    hr_threads_join(&t);
}

/* The CPU driver: every worker thread takes whole batches of the chunk. */
typedef struct cpu_job {
    const hr_embed_chunk *c;
    const hr_cpu_packed *packed;
    atomic_size_t next_batch;  /* next batch to take */
    float *out;                /* (n, H) output of the whole call */
    size_t total;              /* n, texts of the whole call */
    atomic_size_t done;        /* texts of the call embedded so far */
    pthread_t caller;          /* the thread that reports progress */
    hr_progress_fn progress;
    void *user;
    atomic_int alloc_failed;
    atomic_int stop;           /* progress asked to stop: take no more batches */
} cpu_job;

static void encode_some(cpu_job *job)
{
    const hr_embed_chunk *c = job->c;
    const hr_model *m = c->m;
    const int h = m->hidden;
    int budget = HR_CPU_BATCH_TOKENS > c->max_len ? HR_CPU_BATCH_TOKENS : c->max_len;
    hr_cpu_workspace *ws = hr_cpu_workspace_create(m, job->packed, budget, c->max_len);
    int32_t *packed = malloc((size_t)budget * sizeof *packed);         /* (budget) */
    int *offsets = malloc(((size_t)budget + 1) * sizeof *offsets);     /* (n_seq + 1) */
    float *pooled = malloc((size_t)budget * (size_t)h * sizeof *pooled); /* (n_seq, H) */
    if (!ws || !packed || !offsets || !pooled) {
        atomic_store(&job->alloc_failed, 1);
        goto done;
    }
    while (!atomic_load(&job->stop)) {
        size_t b = atomic_fetch_add(&job->next_batch, 1);
        if (b >= c->n_batches) break;
        const int n_seq = hr_embed_chunk_pack(c, b, packed, offsets);
        hr_cpu_forward(m, packed, offsets, n_seq, pooled, ws);
        for (int s = 0; s < n_seq; s++)
            memcpy(job->out + hr_embed_chunk_row(c, b, s) * (size_t)h, pooled + (size_t)s * h,
                   (size_t)h * sizeof(float));
        size_t done = atomic_fetch_add(&job->done, (size_t)n_seq) + (size_t)n_seq;
        if (job->progress && pthread_equal(pthread_self(), job->caller) &&
            job->progress(done, job->total, job->user))
            atomic_store(&job->stop, 1);
    }
done:
    hr_cpu_workspace_destroy(ws);
    free(packed);
    free(offsets);
    free(pooled);
}

static void *encode_worker(void *arg)
{
    encode_some(arg);
    return NULL;
}

hr_status hr_cpu_embed(const hr_model *m, const hr_cpu_packed *packed, int n_threads,
                       const char *const *texts, const size_t *lens, size_t n, float *out,
                       hr_progress_fn progress, void *user, char *err, size_t errlen)
{
    if (n == 0) return HR_OK;
    if (!m || !texts || !out) return hr_fail(HR_ERR_INTERNAL, err, errlen, "hr_cpu_embed: NULL argument");
    const int max_len = m->max_seq_length;
    const int budget = HR_CPU_BATCH_TOKENS > max_len ? HR_CPU_BATCH_TOKENS : max_len;
    const size_t chunk = n < HR_CPU_CHUNK_TEXTS ? n : HR_CPU_CHUNK_TEXTS;

    hr_embed_chunk c;
    if (hr_embed_chunk_init(&c, m, texts, lens, chunk))
        return hr_fail(HR_ERR_NOMEM, err, errlen, "cannot allocate the CPU encoder's buffers");
    cpu_job job;
    memset(&job, 0, sizeof job);
    job.c = &c;
    job.packed = packed;
    job.out = out;
    job.total = n;
    job.caller = pthread_self();
    job.progress = progress;
    job.user = user;
    atomic_init(&job.next_batch, 0);
    atomic_init(&job.done, 0);
    atomic_init(&job.alloc_failed, 0);
    atomic_init(&job.stop, 0);
    hr_status st = HR_OK;
    /* Our workers each call BLAS; BLAS itself stays on one thread. */
    openblas_set_num_threads(1);

    for (size_t first = 0; first < n; first += chunk) {
        hr_embed_chunk_start(&c, first, n - first < chunk ? n - first : chunk);
        atomic_store(&job.next_batch, 0);
        run_parallel(hr_embed_chunk_tokenize_worker, &c, n_threads);
        if (hr_embed_chunk_plan(&c, budget) == 0) run_parallel(encode_worker, &job, n_threads);
        else atomic_store(&job.alloc_failed, 1);
        if (atomic_load(&job.alloc_failed)) {
            st = hr_fail(HR_ERR_NOMEM, err, errlen, "cannot allocate the CPU encoder's work buffers");
            break;
        }
        if (!atomic_load(&job.stop) && progress && progress(atomic_load(&job.done), n, user))
            atomic_store(&job.stop, 1);
        if (atomic_load(&job.stop)) {
            st = hr_fail(HR_ERR_CANCELLED, err, errlen, "cancelled after %zu of %zu texts",
                         atomic_load(&job.done), n);
            break;
        }
    }
    hr_embed_chunk_free(&c);
    return st;
}
