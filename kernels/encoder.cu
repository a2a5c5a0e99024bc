/*
 * kernels/encoder.cu: the BERT forward pass on the GPU for one packed batch
 * (host/backends/cuda/encoder_cuda.h has the API and the precision plan). Each kernel sits
 * beside the CPU function it must agree with (host/backends/cpu/encoder_cpu.h,
 * each callable on its own; tests/test_backends.c compares them):
 *
 *   embed_layernorm_kernel     twin of hr_cpu_embed_layernorm
 *   residual_layernorm_kernel  twin of hr_cpu_residual_layernorm
 *   bias_gelu_kernel           twin of hr_cpu_bias_gelu_rows (hr_gelu in
 *                              host/core/fastmath.h)
 *   attention_kernel           twin of hr_cpu_add_bias_rows on the QKV block
 *                              followed by hr_cpu_attention (FP32)
 *   flash_attention_kernel     the same on tensor cores (FP16 in, FP32
 *                              accumulation), with HYPORANK_GPU_ATTENTION=flash
 *   mean_pool_kernel           twin of hr_cpu_pool (HR_POOL_MEAN) +
 *                              hr_cpu_l2_normalize_rows
 *   cublasGemmEx               twin of matmul_wt (host/backends/cpu/encoder_cpu.c): FP16 in,
 *                              FP32 accumulation and output
 *
 * Layout of one forward pass (T tokens, H hidden, I intermediate):
 *   x   (T, H) FP32   residual stream                x16 (T, H) FP16 copy for GEMMs
 *   qkv (T, 3H) FP32  x W_qkv^T, bias added by the attention kernel;
 *                     later the (T, H) output of the two projections
 *   ctx16 (T, H) FP16 attention context, input of the output projection
 *   inter (T, I) FP32 x W_in^T                       inter16 (T, I) FP16 GELU output
 */
#include "backends/cuda/cuda.h"
#include "block_sum.cuh"
#include "cuda_check.cuh"
#include "backends/cuda/encoder_cuda.h"
#include "model/model_internal.h"

#include <cublas_v2.h>
#include <cuda_fp16.h>
#include <mma.h>

#include <assert.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ROW_THREADS 128   /* LayerNorm, pooling: one block a row / sequence */
#define EW_THREADS 256    /* element-wise kernels */
#define ATT_WARPS 4       /* attention: warps per block */
#define ATT_QPW 8         /* attention: queries each warp carries through one pass */
#define ATT_KT 32         /* attention: keys per shared-memory tile (one per lane) */

/* ------------------------------------------------------------------ reductions */

__device__ static float warp_sum(float v)
{
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ static float warp_max(float v)
{
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

/* The LayerNorm of row v: (h), whose elements c = threadIdx.x + k blockDim.x
 * this thread has just written, with s the thread's partial sum of them.
 * Two-pass mean and biased variance, as hr_cpu_layernorm_rows (host/backends/cpu/encoder_cpu.c).
 * Writes v in place and, when v16 is not NULL, an FP16 copy (h). Each thread
 * reads back only what it wrote, so no barrier is needed before the sums. */
__device__ static void layernorm_finish(float *v, __half *v16, int h, float s, const float *gamma,
                                        const float *beta, float eps)
{
    const float mean = block_sum<ROW_THREADS>(s) / (float)h;
    float ss = 0.f;
    for (int c = threadIdx.x; c < h; c += blockDim.x) {
        const float d = v[c] - mean;
        ss += d * d;
    }
    const float inv = 1.f / sqrtf(block_sum<ROW_THREADS>(ss) / (float)h + eps);
    for (int c = threadIdx.x; c < h; c += blockDim.x) {
        const float y = (v[c] - mean) * inv * gamma[c] + beta[c];
        v[c] = y;
        if (v16) v16[c] = __float2half_rn(y);
    }
}

/* ------------------------------------------------------------------ kernels */

/* Twin of hr_cpu_embed_layernorm (the embedding sum followed by
 * hr_cpu_layernorm_rows). One block (ROW_THREADS) per token t < tokens.
 *   ids: (tokens), offsets: (n_seq + 1), word: (vocab, h), pos: (n_pos, h),
 *   type0, gamma, beta: (h), x: (tokens, h) FP32 out, x16: (tokens, h) FP16
 *   out or NULL.
 * The position of t is t - offsets[s] for the sequence s that holds t (binary
 * search). An id or position out of range (the host checks, so never) leaves
 * the row untouched rather than reading out of bounds. */
__global__ static void embed_layernorm_kernel(const int32_t *ids, const int *offsets, int n_seq,
                                              int tokens, const float *word, int vocab,
                                              const float *pos, int n_pos, const float *type0,
                                              const float *gamma, const float *beta, float eps,
                                              int h, float *x, __half *x16)
{
    const int t = blockIdx.x;
    if (t >= tokens) return; /* block-uniform: no thread reaches a barrier alone */
    int lo = 0, hi = n_seq - 1; /* the last s with offsets[s] <= t */
    while (lo < hi) {
        const int mid = lo + (hi - lo + 1) / 2;
        if (offsets[mid] <= t) lo = mid;
        else hi = mid - 1;
    }
    const int p = t - offsets[lo], id = ids[t];
    if (id < 0 || id >= vocab || p < 0 || p >= n_pos) return;
    float *v = x + (size_t)t * h;
    const float *we = word + (size_t)id * h, *pe = pos + (size_t)p * h;
    float s = 0.f;
    for (int c = threadIdx.x; c < h; c += blockDim.x) {
        const float a = we[c] + pe[c] + type0[c]; /* the CPU's order of the two adds */
        v[c] = a;
        s += a;
    }
    layernorm_finish(v, x16 ? x16 + (size_t)t * h : NULL, h, s, gamma, beta, eps);
}

/* Twin of hr_cpu_residual_layernorm: x = LayerNorm(x + (y + b))
 * row by row. One block (ROW_THREADS) per row r < rows.
 *   x: (rows, h) FP32 in/out, y: (rows, h) FP32, b, gamma, beta: (h),
 *   x16: (rows, h) FP16 out or NULL. */
__global__ static void residual_layernorm_kernel(float *x, const float *y, const float *b,
                                                 int rows, int h, const float *gamma,
                                                 const float *beta, float eps, __half *x16)
{
    const int r = blockIdx.x;
    if (r >= rows) return;
    float *v = x + (size_t)r * h;
    const float *u = y + (size_t)r * h;
    float s = 0.f;
    for (int c = threadIdx.x; c < h; c += blockDim.x) {
        const float a = v[c] + (u[c] + b[c]);
        v[c] = a;
        s += a;
    }
    layernorm_finish(v, x16 ? x16 + (size_t)r * h : NULL, h, s, gamma, beta, eps);
}

/* Twin of hr_cpu_bias_gelu_rows: out = GELU(y + b), the exact
 * GELU 0.5 v (1 + erf(v / sqrt 2)) with erff in FP32 (hr_gelu is the CPU's
 * float-precision version of the same function). Grid-stride over all
 * elements. y: (rows, cols) FP32, b: (cols), out: (rows, cols) FP16 (the
 * next GEMM's input) or FP32 (tests); out may alias y when OutT is float. */
template <typename OutT>
__global__ static void bias_gelu_kernel(const float *y, const float *b, int rows, int cols,
                                        OutT *out)
{
    const size_t n = (size_t)rows * cols;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        const float v = y[i] + b[i % (size_t)cols];
        const float g = 0.5f * v * (1.f + erff(v * 0.70710678118654752f));
        out[i] = (OutT)g;
    }
}

/*
 * Twin of hr_cpu_attention with the QKV bias (hr_cpu_add_bias_rows)
 * folded in: for each sequence s and head, ctx = softmax(Q K^T / sqrt(DH)) V
 * over the sequence's own tokens (packed, no padding, no mask).
 *   qkv:   (T, 3h) FP32 GEMM output without bias: Q | K | V, head j in
 *          columns [j DH, (j+1) DH) of each third
 *   qkv_b: (3h) FP32
 *   ctx:   (T, h), head j in columns [j DH, (j+1) DH)
 * One block per (sequence, head): blockIdx.x = s * heads + head; ATT_WARPS
 * warps. Queries go through in passes of ATT_WARPS * ATT_QPW; each warp
 * carries ATT_QPW queries (scaled by 1/sqrt(DH), in shared memory) over all
 * keys in tiles of ATT_KT = 32, lane j scoring key j of the tile, with the
 * online softmax (running max m, running sum l, rescaled accumulator), all
 * in FP32 with expf: mathematically the CPU's max-subtracted softmax, only
 * the rounding order differs. Each lane accumulates DH / 32 output columns.
 * Any length >= 1 works; the host limits it to 512.
 */
template <int DH, typename OutT>
__global__ static void __launch_bounds__(ATT_WARPS * 32)
    attention_kernel(const float *qkv, const float *qkv_b, const int *offsets, int n_seq, int h,
                     int heads, float scale, OutT *ctx)
{
    static_assert(DH % 32 == 0, "head size must be a multiple of the warp width");
    constexpr int DPL = DH / 32; /* output columns per lane */
    __shared__ float ks[ATT_KT][DH + 1];        /* K tile; +1: lane j reads row j, no conflicts */
    __shared__ float vs[ATT_KT][DH];            /* V tile; a warp reads one row (broadcast) */
    __shared__ float qs[ATT_WARPS][ATT_QPW][DH]; /* this pass's scaled, biased queries */

    const int s = blockIdx.x / heads, head = blockIdx.x % heads;
    if (s >= n_seq) return; /* block-uniform */
    const int start = offsets[s], len = offsets[s + 1] - start;
    if (len <= 0) return;
    const int ld = 3 * h, warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const float *qb = qkv_b + head * DH, *kb = qb + h, *vb = qb + 2 * h;
    const float *base = qkv + (size_t)start * ld + head * DH; /* Q of token 0, this head */

    for (int q0 = 0; q0 < len; q0 += ATT_WARPS * ATT_QPW) {
        const int qw = q0 + warp * ATT_QPW; /* this warp's first query */
#pragma unroll
        for (int i = 0; i < ATT_QPW; i++)
            for (int d = lane; d < DH; d += 32)
                qs[warp][i][d] = qw + i < len ? (base[(size_t)(qw + i) * ld + d] + qb[d]) * scale : 0.f;
        __syncwarp();

        float m[ATT_QPW], l[ATT_QPW], acc[ATT_QPW][DPL];
#pragma unroll
        for (int i = 0; i < ATT_QPW; i++) {
            m[i] = -INFINITY;
            l[i] = 0.f;
#pragma unroll
            for (int r = 0; r < DPL; r++) acc[i][r] = 0.f;
        }

        for (int k0 = 0; k0 < len; k0 += ATT_KT) {
            __syncthreads(); /* every warp is done with the previous tile */
            for (int e = threadIdx.x; e < ATT_KT * DH; e += blockDim.x) {
                const int j = e / DH, d = e % DH;
                float kv = 0.f, vv = 0.f;
                if (k0 + j < len) {
                    const float *row = base + (size_t)(k0 + j) * ld;
                    kv = row[h + d] + kb[d];
                    vv = row[2 * h + d] + vb[d];
                }
                ks[j][d] = kv;
                vs[j][d] = vv;
            }
            __syncthreads();
            const bool key_ok = k0 + lane < len; /* lane 0 always is: k0 < len */
#pragma unroll
            for (int i = 0; i < ATT_QPW; i++) {
                if (qw + i >= len) continue; /* warp-uniform */
                float sc = 0.f;
#pragma unroll
                for (int d = 0; d < DH; d++) sc += qs[warp][i][d] * ks[lane][d];
                sc = key_ok ? sc : -INFINITY;
                const float mnew = fmaxf(m[i], warp_max(sc)); /* finite: lane 0 is a key */
                const float p = key_ok ? expf(sc - mnew) : 0.f;
                const float corr = expf(m[i] - mnew); /* 0 on the first tile (m = -inf) */
                l[i] = l[i] * corr + warp_sum(p);
#pragma unroll
                for (int r = 0; r < DPL; r++) acc[i][r] *= corr;
                for (int j = 0; j < ATT_KT; j++) {
                    const float pj = __shfl_sync(0xffffffffu, p, j);
#pragma unroll
                    for (int r = 0; r < DPL; r++) acc[i][r] += pj * vs[j][lane + 32 * r];
                }
                m[i] = mnew;
            }
        }

#pragma unroll
        for (int i = 0; i < ATT_QPW; i++) {
            if (qw + i >= len) continue;
            const float inv = 1.f / l[i]; /* l >= 1: the max key contributes exp(0) */
            OutT *o = ctx + (size_t)(start + qw + i) * h + head * DH;
#pragma unroll
            for (int r = 0; r < DPL; r++) o[lane + 32 * r] = (OutT)(acc[i][r] * inv);
        }
        __syncwarp(); /* qs of this warp is rewritten by the next pass */
    }
}

/*
 * The same attention on tensor cores (FlashAttention's scheme with WMMA):
 * Q, K and V rounded to FP16 (the bias added and Q scaled first, in FP32),
 * S = Q K^T and O += P V on tensor cores with FP32 accumulation, the online
 * softmax in FP32 with P rounded to FP16 for its product; no score matrix
 * leaves shared memory. Its only differences from attention_kernel are those
 * roundings (inputs and P to FP16: relative 2^-11 each), which
 * tests/test_backends.c bounds against the exact reference.
 *
 * Grid: blockIdx.x = s * heads + head, blockIdx.y = a tile of FA_QT
 * queries; FA_WARPS warps, each 16 query rows held as WMMA fragments for the
 * whole pass. Keys go by in tiles of FA_KT: the block stages them (K, V with
 * bias, FP16), each warp scores its rows against them, updates the running
 * max and sum of each row (lane pair 2r, 2r + 1 holds row r, half the
 * tile's columns each), rescales its output rows in shared memory and adds
 * P V. Blocks whose tile starts past the sequence end return at once.
 */
#define FA_WARPS 4
#define FA_QT (FA_WARPS * 16) /* queries a block */
#define FA_KT 32              /* keys a tile */

template <int DH, typename OutT>
__global__ static void __launch_bounds__(FA_WARPS * 32)
    flash_attention_kernel(const float *qkv, const float *qkv_b, const int *offsets, int n_seq,
                           int h, int heads, float scale, OutT *ctx)
{
    static_assert(DH % 16 == 0 && DH <= 64, "head size: a multiple of 16, at most 64");
    using namespace nvcuda;
    /* Row strides: FP16 a multiple of 8, FP32 of 4, and every 16-row or
     * 16-column step a multiple of 32 bytes, as WMMA's loads want. */
    constexpr int KD = DH + 8;    /* K, V (and Q staging): FP16 */
    constexpr int SD = FA_KT + 4; /* a warp's scores: FP32 */
    constexpr int PD = FA_KT + 8; /* a warp's probabilities: FP16 */
    constexpr int OD = DH + 4;    /* a warp's output rows: FP32 */
    constexpr int CPL = FA_KT / 2; /* tile columns a lane */
    __shared__ __align__(32) __half ks[FA_KT][KD];
    __shared__ __align__(32) __half vs[FA_KT][KD];
    __shared__ __align__(32) float ss[FA_WARPS][16][SD];
    __shared__ __align__(32) __half ps[FA_WARPS][16][PD];
    __shared__ __align__(32) float os[FA_WARPS][16][OD];

    const int s = blockIdx.x / heads, head = blockIdx.x % heads;
    if (s >= n_seq) return; /* block-uniform */
    const int start = offsets[s], len = offsets[s + 1] - start;
    const int q0 = blockIdx.y * FA_QT;
    if (q0 >= len) return; /* block-uniform */
    const int ld = 3 * h, warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int row = lane >> 1, side = lane & 1; /* this lane's row and half of a tile */
    const float *qb = qkv_b + head * DH, *kb = qb + h, *vb = qb + 2 * h;
    const float *base = qkv + (size_t)start * ld + head * DH; /* Q of token 0, this head */
    const int qw = q0 + warp * 16; /* this warp's first query */

    /* Q: scaled, biased, FP16, staged in this warp's output rows, then held
     * in fragments; the output rows then start at 0. */
    __half *qst = reinterpret_cast<__half *>(&os[warp][0][0]); /* (16, KD) fits in (16, OD) FP32 */
    for (int e = lane; e < 16 * DH; e += 32) {
        const int r = e / DH, d = e % DH;
        const float v = qw + r < len ? (base[(size_t)(qw + r) * ld + d] + qb[d]) * scale : 0.f;
        qst[r * KD + d] = __float2half_rn(v);
    }
    __syncwarp();
    wmma::fragment<wmma::matrix_a, 16, 16, 16, __half, wmma::row_major> qa[DH / 16];
#pragma unroll
    for (int kk = 0; kk < DH / 16; kk++) wmma::load_matrix_sync(qa[kk], qst + kk * 16, KD);
    __syncwarp();
    for (int e = lane; e < 16 * OD; e += 32) (&os[warp][0][0])[e] = 0.f;
    float m_run = -INFINITY, l_run = 0.f; /* row `row`'s running max and sum */

    for (int k0 = 0; k0 < len; k0 += FA_KT) {
        __syncthreads(); /* every warp is done with the previous tile */
        for (int e = threadIdx.x; e < FA_KT * DH; e += blockDim.x) {
            const int j = e / DH, d = e % DH;
            float kv = 0.f, vv = 0.f; /* keys past the end: 0, masked below */
            if (k0 + j < len) {
                const float *r = base + (size_t)(k0 + j) * ld;
                kv = r[h + d] + kb[d];
                vv = r[2 * h + d] + vb[d];
            }
            ks[j][d] = __float2half_rn(kv);
            vs[j][d] = __float2half_rn(vv);
        }
        __syncthreads();

        /* S (16, FA_KT) = Q K^T: K^T read as a column-major (DH, FA_KT) matrix */
#pragma unroll
        for (int n = 0; n < FA_KT / 16; n++) {
            wmma::fragment<wmma::accumulator, 16, 16, 16, float> sacc;
            wmma::fill_fragment(sacc, 0.f);
#pragma unroll
            for (int kk = 0; kk < DH / 16; kk++) {
                wmma::fragment<wmma::matrix_b, 16, 16, 16, __half, wmma::col_major> kf;
                wmma::load_matrix_sync(kf, &ks[n * 16][kk * 16], KD);
                wmma::mma_sync(sacc, qa[kk], kf, sacc);
            }
            wmma::store_matrix_sync(&ss[warp][0][n * 16], sacc, SD, wmma::mem_row_major);
        }
        __syncwarp();

        /* online softmax of row `row` over this tile */
        float sv[CPL], tmax = -INFINITY;
#pragma unroll
        for (int c = 0; c < CPL; c++) {
            const int j = side * CPL + c;
            sv[c] = k0 + j < len ? ss[warp][row][j] : -INFINITY;
            tmax = fmaxf(tmax, sv[c]);
        }
        tmax = fmaxf(tmax, __shfl_xor_sync(0xffffffffu, tmax, 1));
        const float mnew = fmaxf(m_run, tmax); /* finite: key k0 is in the tile */
        const float corr = expf(m_run - mnew); /* 0 on the first tile (m = -inf) */
        float psum = 0.f;
#pragma unroll
        for (int c = 0; c < CPL; c++) {
            const float p = expf(sv[c] - mnew); /* 0 for a masked key */
            psum += p;
            ps[warp][row][side * CPL + c] = __float2half_rn(p);
        }
        psum += __shfl_xor_sync(0xffffffffu, psum, 1);
        l_run = l_run * corr + psum;
        m_run = mnew;
        for (int c = side * (DH / 2); c < (side + 1) * (DH / 2); c++) os[warp][row][c] *= corr;
        __syncwarp();

        /* O (16, DH) += P (16, FA_KT) V (FA_KT, DH), through this warp's rows */
#pragma unroll
        for (int n = 0; n < DH / 16; n++) {
            wmma::fragment<wmma::accumulator, 16, 16, 16, float> oacc;
            wmma::load_matrix_sync(oacc, &os[warp][0][n * 16], OD, wmma::mem_row_major);
#pragma unroll
            for (int kk = 0; kk < FA_KT / 16; kk++) {
                wmma::fragment<wmma::matrix_a, 16, 16, 16, __half, wmma::row_major> pf;
                wmma::fragment<wmma::matrix_b, 16, 16, 16, __half, wmma::row_major> vf;
                wmma::load_matrix_sync(pf, &ps[warp][0][kk * 16], PD);
                wmma::load_matrix_sync(vf, &vs[kk * 16][n * 16], KD);
                wmma::mma_sync(oacc, pf, vf, oacc);
            }
            wmma::store_matrix_sync(&os[warp][0][n * 16], oacc, OD, wmma::mem_row_major);
        }
        __syncwarp();
    }

    if (qw + row < len) {
        const float inv = 1.f / l_run; /* l >= 1: the max key contributes exp(0) */
        OutT *o = ctx + (size_t)(start + qw + row) * h + head * DH;
        for (int c = side * (DH / 2); c < (side + 1) * (DH / 2); c++)
            o[c] = (OutT)(os[warp][row][c] * inv);
    }
}

/* Twin of hr_cpu_pool (HR_POOL_MEAN) followed, when normalize is
 * 1, by hr_cpu_l2_normalize_rows. One block (ROW_THREADS) per sequence;
 * thread c sums column c over the sequence's tokens in order, as the CPU.
 *   x: (T, h) FP32, offsets: (n_seq + 1), out: (n_seq, h) FP32. */
__global__ static void mean_pool_kernel(const float *x, const int *offsets, int n_seq, int h,
                                        int normalize, float *out)
{
    const int s = blockIdx.x;
    if (s >= n_seq) return;
    const int start = offsets[s], len = offsets[s + 1] - start;
    float *o = out + (size_t)s * h;
    float ss = 0.f;
    for (int c = threadIdx.x; c < h; c += blockDim.x) {
        float sum = 0.f;
        for (int t = 0; t < len; t++) sum += x[(size_t)(start + t) * h + c];
        const float v = len > 0 ? sum / (float)len : 0.f;
        o[c] = v;
        ss += v * v;
    }
    if (!normalize) return; /* block-uniform */
    const float inv = 1.f / fmaxf(sqrtf(block_sum<ROW_THREADS>(ss)), 1e-12f); /* as torch F.normalize */
    for (int c = threadIdx.x; c < h; c += blockDim.x) o[c] *= inv;
}

/* ------------------------------------------------------------------ launchers
 * Each asserts its preconditions, launches on `stream` and returns the launch
 * status (cudaGetLastError). Pointers are device pointers. */

static cudaError_t launch_embed_layernorm(cudaStream_t stream, const int32_t *ids,
                                          const int *offsets, int n_seq, int tokens,
                                          const float *word, int vocab, const float *pos,
                                          int n_pos, const float *type0, const float *gamma,
                                          const float *beta, float eps, int h, float *x,
                                          __half *x16)
{
    assert(ids && offsets && word && pos && type0 && gamma && beta && x);
    assert(n_seq > 0 && tokens >= n_seq && vocab > 0 && n_pos > 0 && h > 0);
    embed_layernorm_kernel<<<tokens, ROW_THREADS, 0, stream>>>(
        ids, offsets, n_seq, tokens, word, vocab, pos, n_pos, type0, gamma, beta, eps, h, x, x16);
    return cudaGetLastError();
}

static cudaError_t launch_residual_layernorm(cudaStream_t stream, float *x, const float *y,
                                             const float *b, int rows, int h, const float *gamma,
                                             const float *beta, float eps, __half *x16)
{
    assert(x && y && b && gamma && beta && rows > 0 && h > 0);
    residual_layernorm_kernel<<<rows, ROW_THREADS, 0, stream>>>(x, y, b, rows, h, gamma, beta,
                                                                eps, x16);
    return cudaGetLastError();
}

template <typename OutT>
static cudaError_t launch_bias_gelu(cudaStream_t stream, const float *y, const float *b, int rows,
                                    int cols, OutT *out)
{
    assert(y && b && out && rows > 0 && cols > 0);
    const size_t n = (size_t)rows * cols;
    size_t blocks = (n + EW_THREADS - 1) / EW_THREADS;
    if (blocks > 65535u * 16u) blocks = 65535u * 16u; /* grid-stride covers the rest */
    bias_gelu_kernel<OutT><<<(unsigned)blocks, EW_THREADS, 0, stream>>>(y, b, rows, cols, out);
    return cudaGetLastError();
}

template <typename OutT>
static cudaError_t launch_attention(cudaStream_t stream, const float *qkv, const float *qkv_b,
                                    const int *offsets, int n_seq, int h, int heads, OutT *ctx)
{
    assert(qkv && qkv_b && offsets && ctx && n_seq > 0 && heads > 0 && h % heads == 0);
    assert((long long)n_seq * heads <= INT_MAX);
    const int dh = h / heads;
    const float scale = 1.f / sqrtf((float)dh);
    const unsigned blocks = (unsigned)(n_seq * heads);
    if (dh == 32)
        attention_kernel<32, OutT><<<blocks, ATT_WARPS * 32, 0, stream>>>(qkv, qkv_b, offsets,
                                                                          n_seq, h, heads, scale, ctx);
    else if (dh == 64)
        attention_kernel<64, OutT><<<blocks, ATT_WARPS * 32, 0, stream>>>(qkv, qkv_b, offsets,
                                                                          n_seq, h, heads, scale, ctx);
    else
        return cudaErrorInvalidValue; /* create and the host wrapper check dh first */
    return cudaGetLastError();
}

/* The longest sequence of a packed batch: offsets (n_seq + 1). */
static int longest_sequence(const int *offsets, int n_seq)
{
    int longest = 0;
    for (int q = 0; q < n_seq; q++)
        if (offsets[q + 1] - offsets[q] > longest) longest = offsets[q + 1] - offsets[q];
    return longest;
}

/* The tensor-core attention (flash_attention_kernel); max_len: the longest
 * sequence of the batch, at most the model's. */
template <typename OutT>
static cudaError_t launch_flash_attention(cudaStream_t stream, const float *qkv,
                                          const float *qkv_b, const int *offsets, int n_seq,
                                          int max_len, int h, int heads, OutT *ctx)
{
    assert(qkv && qkv_b && offsets && ctx && n_seq > 0 && heads > 0 && h % heads == 0);
    assert((long long)n_seq * heads <= INT_MAX && max_len > 0);
    const int dh = h / heads;
    const float scale = 1.f / sqrtf((float)dh);
    const dim3 grid((unsigned)(n_seq * heads), (unsigned)((max_len + FA_QT - 1) / FA_QT));
    if (dh == 32)
        flash_attention_kernel<32, OutT><<<grid, FA_WARPS * 32, 0, stream>>>(
            qkv, qkv_b, offsets, n_seq, h, heads, scale, ctx);
    else if (dh == 64)
        flash_attention_kernel<64, OutT><<<grid, FA_WARPS * 32, 0, stream>>>(
            qkv, qkv_b, offsets, n_seq, h, heads, scale, ctx);
    else
        return cudaErrorInvalidValue; /* create and the host wrapper check dh first */
    return cudaGetLastError();
}

static cudaError_t launch_mean_pool(cudaStream_t stream, const float *x, const int *offsets,
                                    int n_seq, int h, int normalize, float *out)
{
    assert(x && offsets && out && n_seq > 0 && h > 0);
    mean_pool_kernel<<<n_seq, ROW_THREADS, 0, stream>>>(x, offsets, n_seq, h, normalize, out);
    return cudaGetLastError();
}

/* y (rows, out) FP32 = x (rows, in) FP16 W^T, W: (out, in) FP16, all
 * row-major: in cuBLAS's column-major terms y^T (out, rows) = W x^T with W
 * read transposed. FP32 accumulation (CUBLAS_COMPUTE_32F). */
static cublasStatus_t gemm_wt(cublasHandle_t blas, const __half *x, int rows, int in,
                              const __half *w, int out, float *y)
{
    assert(x && w && y && rows > 0 && in > 0 && out > 0);
    const float one = 1.f, zero = 0.f;
    return cublasGemmEx(blas, CUBLAS_OP_T, CUBLAS_OP_N, out, rows, in, &one, w, CUDA_R_16F, in, x,
                        CUDA_R_16F, in, &zero, y, CUDA_R_32F, out, CUBLAS_COMPUTE_32F,
                        CUBLAS_GEMM_DEFAULT);
}

/* ------------------------------------------------------------------ the encoder */

typedef struct layer_dev {
    __half *qkv_w; /* (3H, H) FP16 */
    __half *ao_w;  /* (H, H) FP16 */
    __half *in_w;  /* (I, H) FP16 */
    __half *out_w; /* (H, I) FP16 */
    float *qkv_b;  /* (3H) */
    float *ao_b, *ln1_g, *ln1_b; /* (H) */
    float *in_b;   /* (I) */
    float *out_b, *ln2_g, *ln2_b; /* (H) */
} layer_dev;

/* One batch in flight: its stream, cuBLAS handle, device work buffers and
 * pinned host staging. Batches on different slots overlap: the copies of one
 * with the compute of the other, and compute with compute. */
typedef struct slot_t {
    cudaStream_t stream;
    cublasHandle_t blas;   /* bound to stream; one per slot (a handle's workspace
                              must not serve two streams at once) */
    cudaEvent_t done;      /* recorded after the copy-out; blocking sync, so a
                              waiting host thread sleeps instead of spinning */
    int busy;              /* submitted and not yet waited for */
    int n_seq;             /* sequences of the batch in flight */
    /* device work buffers, for cap_tokens tokens and cap_seq sequences */
    int cap_tokens, cap_seq;
    int32_t *d_ids;        /* (cap_tokens) */
    int *d_offsets;        /* (cap_seq + 1) */
    float *d_x;            /* (cap_tokens, H) FP32 residual stream */
    __half *d_x16;         /* (cap_tokens, H) FP16 copy of d_x */
    float *d_qkv;          /* (cap_tokens, 3H) FP32; also the (T, H) projections */
    __half *d_ctx16;       /* (cap_tokens, H) FP16 attention context */
    float *d_inter;        /* (cap_tokens, I) FP32 */
    __half *d_inter16;     /* (cap_tokens, I) FP16 GELU output */
    float *d_out;          /* (cap_seq, H) FP32 pooled */
    /* pinned host staging (cudaMallocHost), for hcap_tokens and hcap_seq */
    int hcap_tokens, hcap_seq;
    int32_t *h_ids;        /* (hcap_tokens) */
    int *h_offsets;        /* (hcap_seq + 1) */
    float *h_out;          /* (hcap_seq, H) the batch's embeddings */
} slot_t;

struct hr_cuda_encoder {
    int h, inter, heads, n_layers, vocab, n_pos, max_len, normalize;
    int flash;             /* 1: flash_attention_kernel (HYPORANK_GPU_ATTENTION=flash) */
    float eps;
    void *weights;         /* one device allocation backing every pointer below */
    float *word;           /* (vocab, H) FP32 */
    float *pos;            /* (n_pos, H) FP32 */
    float *type0;          /* (H) token type 0 */
    float *emb_g, *emb_b;  /* (H) */
    layer_dev *layers;     /* (n_layers) host array of device pointers */
    slot_t slots[HR_CUDA_SLOTS];
};

static void free_work(slot_t *s)
{
    cudaFree(s->d_ids);
    cudaFree(s->d_offsets);
    cudaFree(s->d_x);
    cudaFree(s->d_x16);
    cudaFree(s->d_qkv);
    cudaFree(s->d_ctx16);
    cudaFree(s->d_inter);
    cudaFree(s->d_inter16);
    cudaFree(s->d_out);
    s->d_ids = NULL, s->d_offsets = NULL, s->d_x = NULL, s->d_x16 = NULL, s->d_qkv = NULL;
    s->d_ctx16 = NULL, s->d_inter = NULL, s->d_inter16 = NULL, s->d_out = NULL;
    s->cap_tokens = s->cap_seq = 0;
}

static void free_staging(slot_t *s)
{
    cudaFreeHost(s->h_ids);
    cudaFreeHost(s->h_offsets);
    cudaFreeHost(s->h_out);
    s->h_ids = NULL, s->h_offsets = NULL, s->h_out = NULL;
    s->hcap_tokens = s->hcap_seq = 0;
}

extern "C" void hr_cuda_encoder_destroy(hr_cuda_encoder *enc)
{
    if (!enc) return;
    for (int i = 0; i < HR_CUDA_SLOTS; i++) {
        slot_t *s = &enc->slots[i];
        /* A batch still in flight reads and writes the buffers freed below. */
        if (s->stream) cudaStreamSynchronize(s->stream);
        free_work(s);
        free_staging(s);
        if (s->done) cudaEventDestroy(s->done);
        if (s->blas) cublasDestroy(s->blas);
        if (s->stream) cudaStreamDestroy(s->stream);
    }
    cudaFree(enc->weights);
    free(enc->layers);
    free(enc);
}

/* Bytes of n elements of size es, rounded up to 256 (cuBLAS likes aligned
 * operands; every carved pointer stays 256-byte aligned). */
static size_t carve_bytes(size_t n, size_t es)
{
    return (n * es + 255) & ~(size_t)255;
}

/* Largest |w| over n floats; NaN counts as infinite. */
static float max_abs(const float *w, size_t n)
{
    float m = 0.f;
    for (size_t i = 0; i < n; i++) {
        const float a = fabsf(w[i]);
        if (!(a <= m)) m = isnan(a) ? INFINITY : a;
    }
    return m;
}

extern "C" hr_status hr_cuda_encoder_create(const hr_model *m, hr_cuda_encoder **out, char *err,
                                            size_t errlen)
{
    hr_status st = HR_OK;
    hr_cuda_encoder *e = NULL;
    __half *stage = NULL; /* (largest linear weight) host FP16 staging */
    const char *why = NULL;
    size_t total = 0, largest = 0;
    char *p = NULL;
    int h = 0, inter = 0, dh = 0;
    if (!out) return hr_fail(HR_ERR_INTERNAL, err, errlen, "hr_cuda_encoder_create: out is NULL");
    *out = NULL;
    if (!m) return hr_fail(HR_ERR_INTERNAL, err, errlen, "hr_cuda_encoder_create: no model");
    h = m->hidden, inter = m->intermediate;
    if (m->n_heads <= 0 || h % m->n_heads != 0)
        return hr_fail(HR_ERR_UNSUPPORTED, err, errlen,
                       "GPU encoder: hidden size %d is not a multiple of %d heads", h, m->n_heads);
    dh = h / m->n_heads;
    if (dh != 32 && dh != 64)
        return hr_fail(HR_ERR_UNSUPPORTED, err, errlen,
                       "GPU encoder: head size %d is not supported (32 or 64 only); use --device cpu",
                       dh);
    if (m->pooling != HR_POOL_MEAN)
        return hr_fail(HR_ERR_UNSUPPORTED, err, errlen,
                       "GPU encoder: only mean pooling is supported; use --device cpu");
    if (strcmp(m->dtype, "F32") != 0 && strcmp(m->dtype, "F16") != 0 &&
        strcmp(m->dtype, "BF16") != 0)
        return hr_fail(HR_ERR_UNSUPPORTED, err, errlen,
                       "GPU encoder: weight dtype %s is not supported", m->dtype);
    if (inter <= 0 || m->n_layers <= 0 || m->vocab_size <= 0 || m->max_position <= 0 ||
        m->type_vocab <= 0)
        return hr_fail(HR_ERR_UNSUPPORTED, err, errlen, "GPU encoder: malformed model dimensions");
    if (m->max_seq_length > m->max_position || m->max_seq_length > HR_CUDA_MAX_LEN)
        return hr_fail(HR_ERR_UNSUPPORTED, err, errlen,
                       "GPU encoder: max_seq_length %d exceeds the %d positions it supports; "
                       "use --device cpu",
                       m->max_seq_length,
                       m->max_position < HR_CUDA_MAX_LEN ? m->max_position : HR_CUDA_MAX_LEN);
    /* BF16 (and F32) weights may lie beyond FP16's range (65504): refuse
     * rather than saturate. */
    for (int l = 0; l < m->n_layers; l++) {
        const hr_layer_weights *w = &m->layers[l];
        const float a = fmaxf(fmaxf(max_abs(w->qkv_w, (size_t)3 * h * h), max_abs(w->ao_w, (size_t)h * h)),
                              fmaxf(max_abs(w->in_w, (size_t)inter * h), max_abs(w->out_w, (size_t)h * inter)));
        if (!(a <= 65504.f))
            return hr_fail(HR_ERR_UNSUPPORTED, err, errlen,
                           "GPU encoder: layer %d has a weight of magnitude %g, beyond FP16's range",
                           l, (double)a);
    }
    if (hr_cuda_device_count(&why) == 0)
        return hr_fail(HR_ERR_NO_DEVICE, err, errlen, "no usable GPU (%s)", why ? why : "unknown");

    e = (hr_cuda_encoder *)calloc(1, sizeof *e);
    if (!e) return hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory");
    e->h = h, e->inter = inter, e->heads = m->n_heads, e->n_layers = m->n_layers;
    e->vocab = m->vocab_size, e->n_pos = m->max_position, e->normalize = m->normalize;
    e->eps = m->ln_eps;
    e->max_len = m->max_position < HR_CUDA_MAX_LEN ? m->max_position : HR_CUDA_MAX_LEN;
    /* The tensor-core attention runs only when asked for until it has been
     * measured on a GPU against the FP32 kernel (bench/RESULTS.md). */
    {
        const char *att = getenv("HYPORANK_GPU_ATTENTION");
        e->flash = att && strcmp(att, "flash") == 0;
    }
    e->layers = (layer_dev *)calloc((size_t)m->n_layers, sizeof *e->layers);
    if (!e->layers) {
        st = hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory");
        goto cleanup;
    }
    for (int i = 0; i < HR_CUDA_SLOTS; i++) {
        slot_t *s = &e->slots[i];
        HR_CUDA_TRY(cudaStreamCreateWithFlags(&s->stream, cudaStreamNonBlocking));
        HR_CUBLAS_TRY(cublasCreate(&s->blas));
        HR_CUBLAS_TRY(cublasSetStream(s->blas, s->stream));
        HR_CUDA_TRY(cudaEventCreateWithFlags(&s->done, cudaEventDisableTiming | cudaEventBlockingSync));
    }

    /* one allocation for every weight */
    total = carve_bytes((size_t)e->vocab * h, 4) + carve_bytes((size_t)e->n_pos * h, 4) +
            3 * carve_bytes((size_t)h, 4);
    {
        const size_t per_layer = carve_bytes((size_t)3 * h * h, 2) + carve_bytes((size_t)h * h, 2) +
                                 2 * carve_bytes((size_t)inter * h, 2) + carve_bytes((size_t)3 * h, 4) +
                                 carve_bytes((size_t)inter, 4) + 7 * carve_bytes((size_t)h, 4);
        total += per_layer * (size_t)m->n_layers;
    }
    largest = (size_t)inter * h > (size_t)3 * h * h ? (size_t)inter * h : (size_t)3 * h * h;
    stage = (__half *)malloc(largest * sizeof *stage);
    if (!stage) {
        st = hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory");
        goto cleanup;
    }
    HR_CUDA_TRY(cudaMalloc(&e->weights, total));
    p = (char *)e->weights;

#define CARVE_F32(dst, src, n)                                                                 \
    do {                                                                                       \
        (dst) = (float *)p;                                                                    \
        p += carve_bytes((size_t)(n), 4);                                                      \
        HR_CUDA_TRY(cudaMemcpy((dst), (src), (size_t)(n) * sizeof(float), cudaMemcpyHostToDevice)); \
    } while (0)
#define CARVE_F16(dst, src, n)                                                                 \
    do {                                                                                       \
        (dst) = (__half *)p;                                                                   \
        p += carve_bytes((size_t)(n), 2);                                                      \
        for (size_t i_ = 0; i_ < (size_t)(n); i_++) stage[i_] = __float2half_rn((src)[i_]);     \
        HR_CUDA_TRY(cudaMemcpy((dst), stage, (size_t)(n) * sizeof(__half), cudaMemcpyHostToDevice)); \
    } while (0)

    CARVE_F32(e->word, m->word_emb, (size_t)e->vocab * h);
    CARVE_F32(e->pos, m->pos_emb, (size_t)e->n_pos * h);
    CARVE_F32(e->type0, m->type_emb, h);
    CARVE_F32(e->emb_g, m->emb_ln_g, h);
    CARVE_F32(e->emb_b, m->emb_ln_b, h);
    for (int l = 0; l < m->n_layers; l++) {
        const hr_layer_weights *w = &m->layers[l];
        layer_dev *d = &e->layers[l];
        CARVE_F16(d->qkv_w, w->qkv_w, (size_t)3 * h * h);
        CARVE_F16(d->ao_w, w->ao_w, (size_t)h * h);
        CARVE_F16(d->in_w, w->in_w, (size_t)inter * h);
        CARVE_F16(d->out_w, w->out_w, (size_t)h * inter);
        CARVE_F32(d->qkv_b, w->qkv_b, 3 * h);
        CARVE_F32(d->ao_b, w->ao_b, h);
        CARVE_F32(d->ln1_g, w->ln1_g, h);
        CARVE_F32(d->ln1_b, w->ln1_b, h);
        CARVE_F32(d->in_b, w->in_b, inter);
        CARVE_F32(d->out_b, w->out_b, h);
        CARVE_F32(d->ln2_g, w->ln2_g, h);
        CARVE_F32(d->ln2_b, w->ln2_b, h);
    }
#undef CARVE_F32
#undef CARVE_F16
    assert((size_t)(p - (char *)e->weights) == total);
    /* cudaMemcpy from pageable memory may return before the DMA has landed,
     * and the slots' non-blocking streams do not order after the legacy
     * stream: make sure every weight is in place before any batch runs. */
    HR_CUDA_TRY(cudaDeviceSynchronize());
    *out = e;
    e = NULL;
cleanup:
    free(stage);
    hr_cuda_encoder_destroy(e);
    return st;
}

/* Grows slot s's device work buffers to hold `tokens` tokens and `n_seq`
 * sequences (never shrinks). The slot must be idle. */
static hr_status ensure_work(hr_cuda_encoder *e, slot_t *s, int tokens, int n_seq, char *err,
                             size_t errlen)
{
    hr_status st = HR_OK;
    const size_t t = (size_t)(tokens > s->cap_tokens ? tokens : s->cap_tokens);
    const size_t q = (size_t)(n_seq > s->cap_seq ? n_seq : s->cap_seq);
    const size_t h = (size_t)e->h, in = (size_t)e->inter;
    if (tokens <= s->cap_tokens && n_seq <= s->cap_seq) return HR_OK;
    free_work(s);
    HR_CUDA_TRY(cudaMalloc(&s->d_ids, t * sizeof(int32_t)));
    HR_CUDA_TRY(cudaMalloc(&s->d_offsets, (q + 1) * sizeof(int)));
    HR_CUDA_TRY(cudaMalloc(&s->d_x, t * h * sizeof(float)));
    HR_CUDA_TRY(cudaMalloc(&s->d_x16, t * h * sizeof(__half)));
    HR_CUDA_TRY(cudaMalloc(&s->d_qkv, t * 3 * h * sizeof(float)));
    HR_CUDA_TRY(cudaMalloc(&s->d_ctx16, t * h * sizeof(__half)));
    HR_CUDA_TRY(cudaMalloc(&s->d_inter, t * in * sizeof(float)));
    HR_CUDA_TRY(cudaMalloc(&s->d_inter16, t * in * sizeof(__half)));
    HR_CUDA_TRY(cudaMalloc(&s->d_out, q * h * sizeof(float)));
    s->cap_tokens = (int)t;
    s->cap_seq = (int)q;
cleanup:
    if (st != HR_OK) free_work(s);
    return st;
}

/* Grows slot s's pinned host staging likewise. The slot must be idle. */
static hr_status ensure_staging(hr_cuda_encoder *e, slot_t *s, int tokens, int n_seq, char *err,
                                size_t errlen)
{
    hr_status st = HR_OK;
    const size_t t = (size_t)(tokens > s->hcap_tokens ? tokens : s->hcap_tokens);
    const size_t q = (size_t)(n_seq > s->hcap_seq ? n_seq : s->hcap_seq);
    if (tokens <= s->hcap_tokens && n_seq <= s->hcap_seq) return HR_OK;
    free_staging(s);
    HR_CUDA_TRY(cudaMallocHost(&s->h_ids, t * sizeof(int32_t)));
    HR_CUDA_TRY(cudaMallocHost(&s->h_offsets, (q + 1) * sizeof(int)));
    HR_CUDA_TRY(cudaMallocHost(&s->h_out, q * (size_t)e->h * sizeof(float)));
    s->hcap_tokens = (int)t;
    s->hcap_seq = (int)q;
cleanup:
    if (st != HR_OK) free_staging(s);
    return st;
}

extern "C" hr_status hr_cuda_encoder_reserve(hr_cuda_encoder *e, int tokens, int n_seq, char *err,
                                             size_t errlen)
{
    hr_status st = HR_OK;
    if (!e || tokens < 0 || n_seq < 0)
        return hr_fail(HR_ERR_INTERNAL, err, errlen, "hr_cuda_encoder_reserve: bad arguments");
    for (int i = 0; i < HR_CUDA_SLOTS; i++) {
        slot_t *s = &e->slots[i];
        if (s->busy)
            return hr_fail(HR_ERR_INTERNAL, err, errlen,
                           "hr_cuda_encoder_reserve: slot %d has a batch in flight", i);
        if ((st = ensure_work(e, s, tokens, n_seq, err, errlen)) != HR_OK) return st;
        if ((st = ensure_staging(e, s, tokens, n_seq, err, errlen)) != HR_OK) return st;
    }
    return st;
}

/* The caller's contract for one packed batch (host/backends/cuda/encoder_cuda.h). */
static hr_status check_batch(const hr_cuda_encoder *e, const int32_t *ids, const int *offsets,
                             int n_seq, char *err, size_t errlen)
{
    if (offsets[0] != 0)
        return hr_fail(HR_ERR_INTERNAL, err, errlen, "GPU encoder batch: offsets[0] != 0");
    for (int s = 0; s < n_seq; s++) {
        const int len = offsets[s + 1] - offsets[s];
        if (len < 1 || len > e->max_len)
            return hr_fail(HR_ERR_INTERNAL, err, errlen,
                           "GPU encoder batch: sequence %d has %d tokens (1..%d allowed)", s, len,
                           e->max_len);
    }
    const int tokens = offsets[n_seq];
    for (int t = 0; t < tokens; t++)
        if (ids[t] < 0 || ids[t] >= e->vocab)
            return hr_fail(HR_ERR_INTERNAL, err, errlen,
                           "GPU encoder batch: token %d has id %d (vocabulary %d)", t, (int)ids[t],
                           e->vocab);
    return HR_OK;
}

extern "C" hr_status hr_cuda_encoder_submit(hr_cuda_encoder *e, int slot, const int32_t *ids,
                                            const int *offsets, int n_seq, char *err,
                                            size_t errlen)
{
    hr_status st = HR_OK;
    slot_t *s = NULL;
    int tokens = 0, h = 0, inter = 0, enqueued = 0, longest = 0;
    if (!e || slot < 0 || slot >= HR_CUDA_SLOTS || n_seq < 0 || (n_seq > 0 && (!ids || !offsets)))
        return hr_fail(HR_ERR_INTERNAL, err, errlen, "hr_cuda_encoder_submit: bad arguments");
    s = &e->slots[slot];
    if (s->busy)
        return hr_fail(HR_ERR_INTERNAL, err, errlen,
                       "hr_cuda_encoder_submit: slot %d still has a batch in flight", slot);
    if (n_seq == 0) { /* nothing to run; wait answers at once */
        s->busy = 1;
        s->n_seq = 0;
        return HR_OK;
    }
    if ((st = check_batch(e, ids, offsets, n_seq, err, errlen)) != HR_OK) return st;
    tokens = offsets[n_seq];
    h = e->h, inter = e->inter;
    if ((st = ensure_work(e, s, tokens, n_seq, err, errlen)) != HR_OK) return st;
    if ((st = ensure_staging(e, s, tokens, n_seq, err, errlen)) != HR_OK) return st;
    /* The slot is idle (its last copy-out was waited for), so its staging is
     * free; copies from pinned memory run asynchronously to the host. */
    memcpy(s->h_ids, ids, (size_t)tokens * sizeof *ids);
    memcpy(s->h_offsets, offsets, ((size_t)n_seq + 1) * sizeof *offsets);
    longest = longest_sequence(offsets, n_seq);
    enqueued = 1;
    HR_CUDA_TRY(cudaMemcpyAsync(s->d_ids, s->h_ids, (size_t)tokens * sizeof *ids,
                                cudaMemcpyHostToDevice, s->stream));
    HR_CUDA_TRY(cudaMemcpyAsync(s->d_offsets, s->h_offsets, ((size_t)n_seq + 1) * sizeof *offsets,
                                cudaMemcpyHostToDevice, s->stream));
    HR_CUDA_TRY(launch_embed_layernorm(s->stream, s->d_ids, s->d_offsets, n_seq, tokens, e->word,
                                       e->vocab, e->pos, e->n_pos, e->type0, e->emb_g, e->emb_b,
                                       e->eps, h, s->d_x, s->d_x16));
    for (int l = 0; l < e->n_layers; l++) {
        const layer_dev *w = &e->layers[l];
        float *proj = s->d_qkv; /* (T, H): qkv is free once attention has read it */
        HR_CUBLAS_TRY(gemm_wt(s->blas, s->d_x16, tokens, h, w->qkv_w, 3 * h, s->d_qkv));
        if (e->flash)
            HR_CUDA_TRY(launch_flash_attention<__half>(s->stream, s->d_qkv, w->qkv_b, s->d_offsets,
                                                       n_seq, longest, h, e->heads, s->d_ctx16));
        else
            HR_CUDA_TRY(launch_attention<__half>(s->stream, s->d_qkv, w->qkv_b, s->d_offsets,
                                                 n_seq, h, e->heads, s->d_ctx16));
        HR_CUBLAS_TRY(gemm_wt(s->blas, s->d_ctx16, tokens, h, w->ao_w, h, proj));
        HR_CUDA_TRY(launch_residual_layernorm(s->stream, s->d_x, proj, w->ao_b, tokens, h, w->ln1_g,
                                              w->ln1_b, e->eps, s->d_x16));
        HR_CUBLAS_TRY(gemm_wt(s->blas, s->d_x16, tokens, h, w->in_w, inter, s->d_inter));
        HR_CUDA_TRY(launch_bias_gelu<__half>(s->stream, s->d_inter, w->in_b, tokens, inter,
                                             s->d_inter16));
        HR_CUBLAS_TRY(gemm_wt(s->blas, s->d_inter16, tokens, inter, w->out_w, h, proj));
        HR_CUDA_TRY(launch_residual_layernorm(s->stream, s->d_x, proj, w->out_b, tokens, h, w->ln2_g,
                                              w->ln2_b, e->eps, s->d_x16));
    }
    HR_CUDA_TRY(launch_mean_pool(s->stream, s->d_x, s->d_offsets, n_seq, h, e->normalize, s->d_out));
    HR_CUDA_TRY(cudaMemcpyAsync(s->h_out, s->d_out, (size_t)n_seq * h * sizeof(float),
                                cudaMemcpyDeviceToHost, s->stream));
    HR_CUDA_TRY(cudaEventRecord(s->done, s->stream));
    s->busy = 1;
    s->n_seq = n_seq;
cleanup:
    /* Leave no half-submitted batch behind that still reads the staging. */
    if (st != HR_OK && enqueued) cudaStreamSynchronize(s->stream);
    return st;
}

extern "C" hr_status hr_cuda_encoder_wait(hr_cuda_encoder *e, int slot, const float **out,
                                          int *n_seq, char *err, size_t errlen)
{
    hr_status st = HR_OK;
    slot_t *s = NULL;
    if (!e || slot < 0 || slot >= HR_CUDA_SLOTS || !out)
        return hr_fail(HR_ERR_INTERNAL, err, errlen, "hr_cuda_encoder_wait: bad arguments");
    s = &e->slots[slot];
    *out = NULL;
    if (n_seq) *n_seq = 0;
    if (!s->busy)
        return hr_fail(HR_ERR_INTERNAL, err, errlen,
                       "hr_cuda_encoder_wait: nothing was submitted on slot %d", slot);
    s->busy = 0; /* whatever happens below, the slot is free again */
    if (s->n_seq > 0) HR_CUDA_TRY(cudaEventSynchronize(s->done));
    *out = s->h_out;
    if (n_seq) *n_seq = s->n_seq;
cleanup:
    return st;
}

extern "C" hr_status hr_cuda_encoder_forward(hr_cuda_encoder *e, const int32_t *ids,
                                             const int *offsets, int n_seq, float *out, char *err,
                                             size_t errlen)
{
    hr_status st = HR_OK;
    const float *res = NULL;
    if (!e || !ids || !offsets || !out || n_seq < 0)
        return hr_fail(HR_ERR_INTERNAL, err, errlen, "hr_cuda_encoder_forward: bad arguments");
    if (n_seq == 0) return HR_OK;
    if ((st = hr_cuda_encoder_submit(e, 0, ids, offsets, n_seq, err, errlen)) != HR_OK) return st;
    if ((st = hr_cuda_encoder_wait(e, 0, &res, NULL, err, errlen)) != HR_OK) return st;
    memcpy(out, res, (size_t)n_seq * e->h * sizeof *out);
    return st;
}

/* ------------------------------------------------------------------ host wrappers (tests) */

/* cudaMalloc + copy of n bytes of host data. */
static cudaError_t upload(void **d, const void *src, size_t n)
{
    cudaError_t e = cudaMalloc(d, n);
    if (e != cudaSuccess) return e;
    return cudaMemcpy(*d, src, n, cudaMemcpyHostToDevice);
}

extern "C" hr_status hr_cuda_embed_layernorm_host(const int32_t *ids, const int *offsets,
                                                  int n_seq, const float *word, int vocab,
                                                  const float *pos, int n_pos, const float *type0,
                                                  const float *gamma, const float *beta, float eps,
                                                  int h, float *x, char *err, size_t errlen)
{
    assert(ids && offsets && word && pos && type0 && gamma && beta && x && n_seq > 0 && h > 0);
    hr_status st = HR_OK;
    const int tokens = offsets[n_seq];
    void *d_ids = NULL, *d_off = NULL, *d_word = NULL, *d_pos = NULL; /* (T), (n_seq+1), (vocab, h), (n_pos, h) */
    void *d_type = NULL, *d_g = NULL, *d_b = NULL, *d_x = NULL;        /* (h) x3, (T, h) */
    HR_CUDA_TRY(upload(&d_ids, ids, (size_t)tokens * sizeof *ids));
    HR_CUDA_TRY(upload(&d_off, offsets, ((size_t)n_seq + 1) * sizeof *offsets));
    HR_CUDA_TRY(upload(&d_word, word, (size_t)vocab * h * sizeof(float)));
    HR_CUDA_TRY(upload(&d_pos, pos, (size_t)n_pos * h * sizeof(float)));
    HR_CUDA_TRY(upload(&d_type, type0, (size_t)h * sizeof(float)));
    HR_CUDA_TRY(upload(&d_g, gamma, (size_t)h * sizeof(float)));
    HR_CUDA_TRY(upload(&d_b, beta, (size_t)h * sizeof(float)));
    HR_CUDA_TRY(cudaMalloc(&d_x, (size_t)tokens * h * sizeof(float)));
    HR_CUDA_TRY(launch_embed_layernorm(0, (const int32_t *)d_ids, (const int *)d_off, n_seq, tokens,
                                       (const float *)d_word, vocab, (const float *)d_pos, n_pos,
                                       (const float *)d_type, (const float *)d_g,
                                       (const float *)d_b, eps, h, (float *)d_x, NULL));
    HR_CUDA_TRY(cudaMemcpy(x, d_x, (size_t)tokens * h * sizeof(float), cudaMemcpyDeviceToHost));
cleanup:
    cudaFree(d_ids), cudaFree(d_off), cudaFree(d_word), cudaFree(d_pos);
    cudaFree(d_type), cudaFree(d_g), cudaFree(d_b), cudaFree(d_x);
    return st;
}

extern "C" hr_status hr_cuda_residual_layernorm_host(float *x, const float *y, const float *b,
                                                     int rows, int h, const float *gamma,
                                                     const float *beta, float eps, char *err,
                                                     size_t errlen)
{
    assert(x && y && b && gamma && beta && rows > 0 && h > 0);
    hr_status st = HR_OK;
    const size_t bytes = (size_t)rows * h * sizeof(float);
    void *d_x = NULL, *d_y = NULL;                 /* (rows, h) */
    void *d_bias = NULL, *d_g = NULL, *d_b = NULL; /* (h) */
    HR_CUDA_TRY(upload(&d_x, x, bytes));
    HR_CUDA_TRY(upload(&d_y, y, bytes));
    HR_CUDA_TRY(upload(&d_bias, b, (size_t)h * sizeof(float)));
    HR_CUDA_TRY(upload(&d_g, gamma, (size_t)h * sizeof(float)));
    HR_CUDA_TRY(upload(&d_b, beta, (size_t)h * sizeof(float)));
    HR_CUDA_TRY(launch_residual_layernorm(0, (float *)d_x, (const float *)d_y,
                                          (const float *)d_bias, rows, h, (const float *)d_g,
                                          (const float *)d_b, eps, NULL));
    HR_CUDA_TRY(cudaMemcpy(x, d_x, bytes, cudaMemcpyDeviceToHost));
cleanup:
    cudaFree(d_x), cudaFree(d_y), cudaFree(d_bias), cudaFree(d_g), cudaFree(d_b);
    return st;
}

extern "C" hr_status hr_cuda_bias_gelu_host(float *y, const float *b, int rows, int cols,
                                            char *err, size_t errlen)
{
    assert(y && b && rows > 0 && cols > 0);
    hr_status st = HR_OK;
    const size_t bytes = (size_t)rows * cols * sizeof(float);
    void *d_y = NULL, *d_b = NULL; /* (rows, cols), (cols) */
    HR_CUDA_TRY(upload(&d_y, y, bytes));
    HR_CUDA_TRY(upload(&d_b, b, (size_t)cols * sizeof(float)));
    HR_CUDA_TRY(launch_bias_gelu<float>(0, (const float *)d_y, (const float *)d_b, rows, cols,
                                        (float *)d_y));
    HR_CUDA_TRY(cudaMemcpy(y, d_y, bytes, cudaMemcpyDeviceToHost));
cleanup:
    cudaFree(d_y), cudaFree(d_b);
    return st;
}

/* hr_cuda_attention_host (flash 0) and hr_cuda_flash_attention_host (1). */
static hr_status attention_host(int flash, const float *qkv, const float *qkv_b,
                                const int *offsets, int n_seq, int h, int heads, float *ctx,
                                char *err, size_t errlen)
{
    assert(qkv && qkv_b && offsets && ctx && n_seq > 0 && heads > 0);
    hr_status st = HR_OK;
    const int tokens = offsets[n_seq];
    void *d_qkv = NULL, *d_b = NULL, *d_off = NULL, *d_ctx = NULL; /* (T, 3h), (3h), (n_seq+1), (T, h) */
    if (h % heads != 0 || (h / heads != 32 && h / heads != 64))
        return hr_fail(HR_ERR_UNSUPPORTED, err, errlen, "attention: head size must be 32 or 64");
    HR_CUDA_TRY(upload(&d_qkv, qkv, (size_t)tokens * 3 * h * sizeof(float)));
    HR_CUDA_TRY(upload(&d_b, qkv_b, (size_t)3 * h * sizeof(float)));
    HR_CUDA_TRY(upload(&d_off, offsets, ((size_t)n_seq + 1) * sizeof *offsets));
    HR_CUDA_TRY(cudaMalloc(&d_ctx, (size_t)tokens * h * sizeof(float)));
    if (flash)
        HR_CUDA_TRY(launch_flash_attention<float>(0, (const float *)d_qkv, (const float *)d_b,
                                                  (const int *)d_off, n_seq,
                                                  longest_sequence(offsets, n_seq), h, heads,
                                                  (float *)d_ctx));
    else
        HR_CUDA_TRY(launch_attention<float>(0, (const float *)d_qkv, (const float *)d_b,
                                            (const int *)d_off, n_seq, h, heads, (float *)d_ctx));
    HR_CUDA_TRY(cudaMemcpy(ctx, d_ctx, (size_t)tokens * h * sizeof(float), cudaMemcpyDeviceToHost));
cleanup:
    cudaFree(d_qkv), cudaFree(d_b), cudaFree(d_off), cudaFree(d_ctx);
    return st;
}

extern "C" hr_status hr_cuda_attention_host(const float *qkv, const float *qkv_b,
                                            const int *offsets, int n_seq, int h, int heads,
                                            float *ctx, char *err, size_t errlen)
{
    return attention_host(0, qkv, qkv_b, offsets, n_seq, h, heads, ctx, err, errlen);
}

extern "C" hr_status hr_cuda_flash_attention_host(const float *qkv, const float *qkv_b,
                                                  const int *offsets, int n_seq, int h, int heads,
                                                  float *ctx, char *err, size_t errlen)
{
    return attention_host(1, qkv, qkv_b, offsets, n_seq, h, heads, ctx, err, errlen);
}

extern "C" hr_status hr_cuda_mean_pool_host(const float *x, const int *offsets, int n_seq, int h,
                                            int normalize, float *out, char *err, size_t errlen)
{
    assert(x && offsets && out && n_seq > 0 && h > 0);
    hr_status st = HR_OK;
    const int tokens = offsets[n_seq];
    void *d_x = NULL, *d_off = NULL, *d_out = NULL; /* (T, h), (n_seq+1), (n_seq, h) */
    HR_CUDA_TRY(upload(&d_x, x, (size_t)tokens * h * sizeof(float)));
    HR_CUDA_TRY(upload(&d_off, offsets, ((size_t)n_seq + 1) * sizeof *offsets));
    HR_CUDA_TRY(cudaMalloc(&d_out, (size_t)n_seq * h * sizeof(float)));
    HR_CUDA_TRY(launch_mean_pool(0, (const float *)d_x, (const int *)d_off, n_seq, h, normalize,
                                 (float *)d_out));
    HR_CUDA_TRY(cudaMemcpy(out, d_out, (size_t)n_seq * h * sizeof(float), cudaMemcpyDeviceToHost));
cleanup:
    cudaFree(d_x), cudaFree(d_off), cudaFree(d_out);
    return st;
}
