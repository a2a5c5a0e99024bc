/*
 * kernels/scorer.cu: the CUDA scorer for HR_SCORE_COSINE and CONTRAST
 * (host/backends/cuda/scorer_cuda.h states precision, bins, error bound and
 * memory plan; tests/test_backends.c checks it against the CPU scorer, and
 * compute-sanitizer memcheck runs it in scripts/gpu-check.sh).
 *
 * Per call: H is uploaded and rounded to FP16; hypotheses are taken in groups
 * whose histograms fit the budget; for each group, for each chunk of samples
 * (resident: a view of X; streamed: staged through pinned buffers on the copy
 * stream), for each block of hypotheses:
 *
 *   cublasGemmEx         S (block, chunk) = H_block X_chunk^T, FP16 in, FP32
 *                        out and accumulation;
 *   bin_scores_kernel    each score to one of 65536 bins over [-1, 1], per
 *                        hypothesis and group, and the sums for the means;
 *
 * then mw_from_hist_kernel walks each hypothesis's bins in ascending order
 * for 2U and the tie term, and the host finishes with hr_mw_finish (the CPU's
 * own formula for auroc, z and p).
 *
 *   to_half_kernel          twin: none (the CPU multiplies the float inputs;
 *                           the rounding is the documented score error)
 *   row_norm_check_kernel   twin of check_h_norms (below, for H on the host)
 *   bin_scores_kernel       twin of the grouping of equal scores in
 *                           hr_mw_sorted (host/scoring/stats.c), with bins for groups
 *   mw_from_hist_kernel     twin of hr_mw_sorted's walk over the groups in
 *                           ascending order (host/scoring/stats.c)
 *   effect_stats_kernel     twin of hr_effect_hist_stats
 *                           (host/scoring/effects_internal.h): what a COSINE
 *                           hypothesis's effect (hyporank/findings.h) is
 *                           computed from, read off the same histograms
 *   pool_fold_kernel        twin of hr_contrast_pool_fold (host/scoring/score_methods.h)
 *   pool_finish_kernel      twin of hr_contrast_pool_finish
 *   contrast_score          twin of hr_contrast_score, and above T = 1 of
 *                           hr_contrast_score_shifted
 */
#include "backends/cuda/scorer_cuda.h"
#include "backends/cuda/cuda.h"
#include "cuda_check.cuh"
#include "hyporank/stats.h"
#include "scoring/effects_internal.h"

#include <cublas_v2.h>
#include <cuda_fp16.h>

#include <assert.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BINS HR_SCORER_CUDA_BINS
#define BIN_THREADS 1024
#define BIN_SMEM_BYTES (BINS / 2 * sizeof(uint32_t)) /* 128 KiB: two 16-bit counters a word */
#define SEG_MAX 65535                                /* samples per binning block: no 16-bit overflow */
#define REDUCE_THREADS 1024
#define BLOCK_ROWS_MAX 1024                          /* hypotheses per GEMM: X read once for K <= 1024 */
#define NORM_THREADS 256                             /* 8 warps, a row each */
#define CONVERT_THREADS 256
#define HIST_ROW_BYTES ((size_t)2 * BINS * sizeof(uint32_t)) /* 512 KiB a hypothesis */
#define RESIDENT_STAGE_BYTES ((size_t)32 << 20)      /* fp32 staging while uploading a resident X */

static_assert(BINS % REDUCE_THREADS == 0, "bins must fill whole reduction rounds");
static_assert(BINS % 2 == 0 && BINS <= 65536, "bins must fit the packed shared histogram");
static_assert(REDUCE_THREADS == 1024 && BIN_THREADS % 32 == 0, "block shapes");

/* CONTRAST's running statistics per sample, (N) each, A's samples then B's. */
struct pool_state {
    double *m1, *m2, *acc; /* largest, largest but top, sum over j != top of exp((s_j - m2) / T) */
    float *m0;             /* smallest */
    int *top;              /* first hypothesis with m1 */
};

struct hr_scorer_cuda {
    const float *xa; /* (n_a, dim) row-major, borrowed */
    const float *xb; /* (n_b, dim) row-major, borrowed */
    size_t n_a, n_b, n;
    int dim;
    int resident;
    size_t chunk;      /* samples per chunk: S tile width */
    size_t block_rows; /* hypotheses per GEMM */
    size_t group_rows; /* hypotheses whose histograms are held at once */
    size_t stage_rows; /* rows of each staging slot */
    cudaStream_t compute, copy;
    cublasHandle_t blas;
    __half *d_x;          /* resident: (N, dim) row-major FP16, A's samples then B's */
    float *h_pin[2];      /* staging: (stage_rows, dim) row-major fp32, pinned host */
    float *d_stage[2];    /* staging: (stage_rows, dim) row-major fp32, device */
    __half *d_xc[2];      /* streamed: (stage_rows, dim) row-major FP16 chunk */
    cudaEvent_t copied[2];    /* H2D of a slot done: its pinned buffer may be refilled */
    cudaEvent_t converted[2]; /* conversion of a slot done: its d_stage may be overwritten */
    cudaEvent_t t0, t1;
    float *d_s;           /* (block_rows, chunk) row-major FP32 score tile (ld = chunk length) */
    float *d_h32;         /* (h_cap, dim) row-major fp32 hypotheses as given */
    __half *d_h16;        /* (h_cap, dim) row-major FP16 hypotheses */
    size_t h_cap;
    uint32_t *d_hist;     /* (group_rows, 2, BINS) row-major counts: [k][0] A, [k][1] B */
    double *d_sum;        /* (group_rows, 2) sums of scores of A, B */
    unsigned long long *d_u2; /* (group_rows) 2U */
    double *d_tie;        /* (group_rows) sum over bins of t^3 - t */
    double *d_estats;     /* (group_rows, HR_EFFECT_STATS) the effects' statistics */
    int *d_bad;           /* (1) first sample whose norm check failed, INT_MAX if none */
    pool_state pool;      /* CONTRAST: (N) each, allocated on the first CONTRAST call */
    float4 *d_pool4;      /* CONTRAST: (N) packed statistics of the second pass */
    unsigned *d_range;    /* CONTRAST: (2) range of the scores, ordered_bits */
    unsigned long long *u2; /* (group_rows) host copies */
    double *tie;            /* (group_rows) */
    double *sum;            /* (group_rows, 2) */
    int slot;             /* streamed: the staging slot the next sweep starts with */
    double last_ms;
};

/* ------------------------------------------------------------------------ */
/* Kernels                                                                   */

/* out[i] = FP16(in[i]) rounded to nearest; in, out: (n) */
__global__ static void to_half_kernel(const float *__restrict__ in, __half *__restrict__ out,
                                      size_t n)
{
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        out[i] = __float2half_rn(in[i]);
}

/* x: (rows, dim) row-major fp32, rows row0.. of [A; B]. *bad = the smallest
 * row0 + r whose squared norm is not <= max2 (NaN fails too). A warp a row. */
__global__ static void row_norm_check_kernel(const float *__restrict__ x, int rows, int dim,
                                             int row0, float max2, int *bad)
{
    const int warp = (int)((blockIdx.x * (size_t)blockDim.x + threadIdx.x) / 32);
    const int lane = threadIdx.x % 32;
    if (warp >= rows) return; /* the whole warp leaves together */
    const float *v = x + (size_t)warp * dim;
    float ss = 0.f;
    for (int c = lane; c < dim; c += 32) ss += v[c] * v[c];
    for (int o = 16; o > 0; o >>= 1) ss += __shfl_xor_sync(0xffffffffu, ss, o);
    if (lane == 0 && !(ss <= max2)) atomicMin(bad, row0 + warp);
}

/* Where scores go in the bins: bin(v) = floor((v - lo) scale) clamped to
 * [0, BINS - 1]. COSINE: lo = -1, scale = BINS / 2 (bins over [-1, 1]);
 * CONTRAST: the range of the call's contrast scores (pool_finish_kernel). */
struct bin_map {
    float lo, scale;
};

/* A monotone function of v (v <= w gives bin(v) <= bin(w)); NaN goes to 0
 * (impossible after the norm checks). */
__device__ __forceinline__ static int score_bin(float v, bin_map m)
{
    float t = (v - m.lo) * m.scale;
    t = fminf(fmaxf(t, 0.f), (float)(BINS - 1));
    return (int)t;
}

/* CONTRAST's per-sample statistics for the second pass, packed for one
 * 16-byte load: x = m1 (the largest similarity), y = r = sum over j != top of
 * exp((s_j - m1) / T), or R = r - (K - 1) when shifted (below), z = top_off,
 * w = top (the hypothesis with m1, as int bits). Formulas:
 * host/scoring/score_methods.h (hr_contrast_pool, hr_contrast_score). */
struct contrast_ctx {
    const float4 *pool; /* (N) per sample, A's then B's */
    size_t x_base;      /* sample index of the tile's column 0 */
    int k_base;         /* hypothesis index of the tile's row 0 */
    int shifted;        /* pool's y is R = r - (K - 1) (large temperatures) */
    float t, log_km1, km1; /* temperature, log(K - 1), K - 1 */
};

/* Temperatures above this use the shifted form of the score (see below). */
#define CONTRAST_SHIFT_T 1.0

/* Twin of hr_contrast_score (host/scoring/score_methods.h), in float:
 * the score of hypothesis k on sample x from its similarity v. For k != top
 * the score is v - m1 - T log((1 + rest) / (K - 1)), rest = r - e, e =
 * exp((v - m1) / T). Written as the CPU writes it, T (log1p(rest) - log(K -
 * 1)), float rounding of the two logs (~6e-8 log K each) is multiplied by
 * T: harmless up to T ~ 1 (4e-7), 4e-4 at T = 1000. So above
 * CONTRAST_SHIFT_T the ratio is taken as 1 + (R - (e - 1)) / (K - 1), with R
 * = r - (K - 1) computed in double by pool_finish_kernel and e - 1 by
 * expm1f, both small when T is large: log1pf of a small number, no
 * cancellation, error ~T 1e-11 (twin of hr_contrast_score_shifted). Below
 * it the plain form is kept: there 1 + rest can be as small as 1 and R as
 * large as K - 1 in magnitude. */
__device__ __forceinline__ static float contrast_score(float v, int k, size_t x,
                                                       const contrast_ctx &c)
{
    const float4 p = c.pool[x];
    if (__float_as_int(p.w) == k) return v - p.z;
    if (c.shifted) {
        const float d = fmaxf((p.y - expm1f((v - p.x) / c.t)) / c.km1, 1.f / c.km1 - 1.f);
        return v - p.x - c.t * log1pf(d);
    }
    float rest = p.y - __expf((v - p.x) / c.t); /* sum over j != k, top */
    rest = fmaxf(rest, 0.f);                     /* rounding; the exact value is >= 0 */
    const float l = rest < 0.5f ? log1pf(rest) : logf(1.f + rest);
    return v - p.x - c.t * (l - c.log_km1);
}

/* s: (kb, ld) row-major similarity tile; its columns [c_lo, c_hi) belong to
 * group cls (0 = A, 1 = B). Adds the bins of their scores (the similarity
 * itself, or with CONTRAST its contrast score) into hist rows g_off + r,
 * group cls (hist: (group_rows, 2, BINS)) and their sum into
 * sum[(g_off + r) * 2 + cls] (sum: (group_rows, 2)). Block (blockIdx.x, r):
 * samples c_lo + blockIdx.x SEG_MAX + [0, SEG_MAX) of row r, counted first
 * in shared memory, two 16-bit counters a word (at most SEG_MAX per block:
 * no carry). */
template <bool CONTRAST>
__global__ static void __launch_bounds__(BIN_THREADS)
bin_scores_kernel(const float *__restrict__ s, int kb, int ld, int c_lo, int c_hi, int cls,
                  int g_off, uint32_t *__restrict__ hist, double *__restrict__ sum, bin_map map,
                  contrast_ctx cc)
{
    extern __shared__ uint32_t sh[]; /* (BINS / 2): bin 2w in the low half of sh[w] */
    const int r = blockIdx.y;
    const long long x0 = (long long)c_lo + (long long)blockIdx.x * SEG_MAX;
    if (r >= kb || x0 >= c_hi) return; /* uniform over the block */
    const int x1 = (int)min((long long)c_hi, x0 + SEG_MAX);
    for (int w = threadIdx.x; w < BINS / 2; w += blockDim.x) sh[w] = 0u;
    __syncthreads();
    const float *row = s + (size_t)r * ld;
    const int k = cc.k_base + r;
    float acc = 0.f;
    /* Counts sample column c with similarity v. */
    auto count = [&](float v, int c) {
        if (CONTRAST) v = contrast_score(v, k, cc.x_base + (size_t)c, cc);
        const int b = score_bin(v, map);
        atomicAdd(&sh[b >> 1], 1u << ((b & 1) * 16));
        acc += v;
    };
    /* Up to 3 scalars until 16-byte alignment, float4 loads (four bins per
     * load in flight), then the scalar tail. */
    int x = (int)x0;
    const int head = min((int)(((16u - ((uintptr_t)(row + x) & 15u)) & 15u) / 4u), x1 - x);
    if ((int)threadIdx.x < head) count(row[x + threadIdx.x], x + (int)threadIdx.x);
    x += head;
    const int nvec = (x1 - x) / 4;
    const float4 *row4 = (const float4 *)(row + x);
    for (int i = threadIdx.x; i < nvec; i += blockDim.x) {
        const float4 v = row4[i];
        const int c = x + 4 * i;
        count(v.x, c), count(v.y, c + 1), count(v.z, c + 2), count(v.w, c + 3);
    }
    for (int c = x + 4 * nvec + threadIdx.x; c < x1; c += blockDim.x) count(row[c], c);
    __syncthreads();
    uint32_t *hg = hist + ((size_t)(g_off + r) * 2 + cls) * BINS;
    for (int w = threadIdx.x; w < BINS / 2; w += blockDim.x) {
        const uint32_t c = sh[w];
        if (c == 0u) continue;
        if (c & 0xffffu) atomicAdd(&hg[2 * w], c & 0xffffu);
        if (c >> 16) atomicAdd(&hg[2 * w + 1], c >> 16);
    }
    for (int o = 16; o > 0; o >>= 1) acc += __shfl_xor_sync(0xffffffffu, acc, o);
    if (threadIdx.x % 32 == 0) atomicAdd(&sum[(size_t)(g_off + r) * 2 + cls], (double)acc);
}

/* CONTRAST's first pass: the running statistics of each sample over the
 * hypotheses in order (twin of hr_contrast_pool_fold,
 * host/scoring/score_methods.h, which the formulas follow to the letter),
 * plus m0, the smallest similarity, for
 * the bins' range. s: (kb, ld) tile of hypotheses k_base.. (in order) on
 * samples x_base + [0, cn); state arrays (N) (pool_state, at the top). A
 * thread a sample. */

#define POOL_THREADS 256
#define EXP_NEGLIGIBLE (-37.0) /* exp below this adds nothing to a sum >= 1 in double */

__global__ static void pool_init_kernel(pool_state ps, size_t n)
{
    for (size_t x = (size_t)blockIdx.x * blockDim.x + threadIdx.x; x < n;
         x += (size_t)gridDim.x * blockDim.x) {
        ps.m1[x] = -INFINITY, ps.m2[x] = -INFINITY, ps.acc[x] = 0.0;
        ps.m0[x] = INFINITY, ps.top[x] = 0;
    }
}

__global__ static void __launch_bounds__(POOL_THREADS)
pool_fold_kernel(const float *__restrict__ s, int kb, int ld, int cn, int k_base, size_t x_base,
                 double t, pool_state ps)
{
    const int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= cn) return;
    const size_t x = x_base + (size_t)c;
    double m1 = ps.m1[x], m2 = ps.m2[x], acc = ps.acc[x];
    float m0 = ps.m0[x];
    int top = ps.top[x];
    for (int r = 0; r < kb; r++) {
        const float vf = s[(size_t)r * ld + c];
        const double v = vf;
        m0 = fminf(m0, vf);
        if (v > m1) { /* a new top: the old one joins the others */
            if (m1 > -INFINITY) {
                acc = acc * exp((m2 - m1) / t) + 1.0;
                m2 = m1;
            }
            m1 = v;
            top = k_base + r;
        } else if (v > m2) { /* a new largest among the others */
            acc = acc * exp((m2 - v) / t) + 1.0;
            m2 = v;
        } else {
            const double e = (v - m2) / t;
            if (e > EXP_NEGLIGIBLE) acc += exp(e);
        }
    }
    ps.m1[x] = m1, ps.m2[x] = m2, ps.acc[x] = acc, ps.m0[x] = m0, ps.top[x] = top;
}

/* Orders floats as unsigned integers (for atomicMin / atomicMax). */
__device__ __forceinline__ static unsigned ordered_bits(float f)
{
    const unsigned u = __float_as_uint(f);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

/* After the fold (K >= 2): the second pass's packed statistics (twin of
 * hr_contrast_pool_finish: top_off = m2 + T (log acc - log(K - 1)), r = acc
 * exp((m2 - m1) / T), or r - (K - 1) when shifted), and the range of every
 * contrast score of the call into range[0] and range[1], as ordered_bits.
 * On sample x every score lies in [m0 - m1, min(m1 - m2 + T log(K - 1),
 * m1 - m0)]: it is at least s_k - max over j != k of s_j (a mean of
 * exponentials is at most their largest), and at most both s_k - max over
 * j != k of s_j + T log(K - 1) (the mean is at least the largest over K -
 * 1) and s_k - mean over j != k of s_j (Jensen: log mean exp >= mean log),
 * which the first bounds for small T and the second for large T (at T =
 * 1000 the first would stretch the bins over [-1, 5000]). */
__global__ static void __launch_bounds__(POOL_THREADS)
pool_finish_kernel(pool_state ps, size_t n, double t, double log_km1, int shifted, double km1,
                   float4 *pool, unsigned *range)
{
    const size_t x = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    float lo = INFINITY, hi = -INFINITY;
    if (x < n) {
        const double m1 = ps.m1[x], m2 = ps.m2[x], acc = ps.acc[x];
        const double top_off = m2 + t * (log(acc) - log_km1);
        const double r = acc * exp((m2 - m1) / t);
        pool[x] = make_float4((float)m1, (float)(shifted ? r - km1 : r), (float)top_off,
                              __int_as_float(ps.top[x]));
        lo = ps.m0[x] - (float)m1;
        hi = (float)fmin(m1 - m2 + t * log_km1, m1 - (double)ps.m0[x]);
    }
    for (int o = 16; o > 0; o >>= 1) {
        lo = fminf(lo, __shfl_xor_sync(0xffffffffu, lo, o));
        hi = fmaxf(hi, __shfl_xor_sync(0xffffffffu, hi, o));
    }
    if (threadIdx.x % 32 == 0) {
        atomicMin(&range[0], ordered_bits(lo));
        atomicMax(&range[1], ordered_bits(hi));
    }
}

/* Exclusive prefix sum of v over the block (REDUCE_THREADS threads); *total
 * gets the block's sum. Every thread must call it. */
__device__ static unsigned long long block_exclusive_scan(unsigned long long v,
                                                          unsigned long long *total)
{
    __shared__ unsigned long long warp_excl[REDUCE_THREADS / 32];
    __shared__ unsigned long long block_total;
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    unsigned long long inc = v;
    for (int o = 1; o < 32; o <<= 1) {
        const unsigned long long n = __shfl_up_sync(0xffffffffu, inc, o);
        if (lane >= o) inc += n;
    }
    if (lane == 31) warp_excl[warp] = inc;
    __syncthreads();
    if (warp == 0) {
        const unsigned long long w = lane < REDUCE_THREADS / 32 ? warp_excl[lane] : 0ull;
        unsigned long long winc = w;
        for (int o = 1; o < 32; o <<= 1) {
            const unsigned long long n = __shfl_up_sync(0xffffffffu, winc, o);
            if (lane >= o) winc += n;
        }
        if (lane < REDUCE_THREADS / 32) warp_excl[lane] = winc - w;
        if (lane == 31) block_total = winc;
    }
    __syncthreads();
    const unsigned long long out = warp_excl[warp] + inc - v;
    *total = block_total;
    __syncthreads(); /* the next call may overwrite the shared values */
    return out;
}

/* hist: (gk, 2, BINS) counts. For each row r (a block each), walking the bins
 * in ascending order (a bin is a group of tied scores):
 *   u2[r]  = sum over bins of 2 cA cB(below) + cA cB   (2U, exact)
 *   tie[r] = sum over bins with t = cA + cB > 1 of t^3 - t
 * Rounds of REDUCE_THREADS consecutive bins keep the reads coalesced. */
__global__ static void __launch_bounds__(REDUCE_THREADS)
mw_from_hist_kernel(const uint32_t *__restrict__ hist, int gk, unsigned long long *u2_out,
                    double *tie_out)
{
    __shared__ unsigned long long red_u[REDUCE_THREADS / 32];
    __shared__ double red_t[REDUCE_THREADS / 32];
    const int r = blockIdx.x;
    if (r >= gk) return; /* uniform over the block */
    const uint32_t *ha = hist + (size_t)r * 2 * BINS, *hb = ha + BINS;
    unsigned long long carry = 0, u2 = 0;
    double tie = 0.0;
    for (int base = 0; base < BINS; base += REDUCE_THREADS) {
        const int b = base + threadIdx.x;
        const unsigned long long ca = ha[b], cb = hb[b];
        unsigned long long total;
        const unsigned long long below = carry + block_exclusive_scan(cb, &total);
        u2 += 2ull * ca * below + ca * cb;
        const unsigned long long t = ca + cb;
        if (t > 1) {
            const double td = (double)t;
            tie += td * td * td - td;
        }
        carry += total;
    }
    for (int o = 16; o > 0; o >>= 1) {
        u2 += __shfl_xor_sync(0xffffffffu, u2, o);
        tie += __shfl_xor_sync(0xffffffffu, tie, o);
    }
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    if (lane == 0) red_u[warp] = u2, red_t[warp] = tie;
    __syncthreads();
    if (threadIdx.x == 0) {
        unsigned long long su = 0;
        double stt = 0.0;
        for (int w = 0; w < REDUCE_THREADS / 32; w++) su += red_u[w], stt += red_t[w];
        u2_out[r] = su;
        tie_out[r] = stt;
    }
}

/* Block-wide sum of v (every thread gets it); red: (REDUCE_THREADS / 32). */
__device__ static double block_sum_double(double v, double *red)
{
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    if (lane == 0) red[warp] = v;
    __syncthreads();
    double t = 0.0;
    for (int w = 0; w < REDUCE_THREADS / 32; w++) t += red[w];
    __syncthreads();
    return t;
}

/* Block-wide maximum of v (every thread gets it); red as above. */
__device__ static double block_max_double(double v, double *red)
{
    for (int o = 16; o > 0; o >>= 1) v = fmax(v, __shfl_xor_sync(0xffffffffu, v, o));
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    if (lane == 0) red[warp] = v;
    __syncthreads();
    double t = red[0];
    for (int w = 1; w < REDUCE_THREADS / 32; w++) t = fmax(t, red[w]);
    __syncthreads();
    return t;
}

/* hist: (gk, 2, BINS) counts of COSINE similarities, bin b the values
 * [lo + b width, lo + (b + 1) width). For each row r (a block each), into
 * out[r * HR_EFFECT_STATS ..]: the pooled quantiles q25, q50, q70, q75, q98
 * at bin centres (interpolated between order statistics), the hinge's
 * threshold tau (q70, or the highest occupied centre below it when fewer
 * than HR_EFFECT_MIN_ABOVE of the values lie above it) and the sums and
 * sums of squares of max(centre - tau, 0) over A and over B. Twin of
 * hr_effect_hist_stats (the same bins, the same order statistics; the sums
 * in another order). n: samples a row, A's and B's (>= 1). */
__global__ static void __launch_bounds__(REDUCE_THREADS)
effect_stats_kernel(const uint32_t *__restrict__ hist, int gk, unsigned long long n, double lo,
                    double width, double *out)
{
    __shared__ double red[REDUCE_THREADS / 32];
    __shared__ int bin_of[10]; /* the bins of ranks k_j and k_j + 1 of the 5 quantiles */
    const int r = blockIdx.x;
    if (r >= gk) return; /* uniform over the block */
    const uint32_t *ha = hist + (size_t)r * 2 * BINS, *hb = ha + BINS;
    const double qs[5] = {0.25, 0.5, 0.7, 0.75, 0.98};
    unsigned long long rank[10];
    for (int j = 0; j < 5; j++) {
        const unsigned long long k = (unsigned long long)floor((double)(n - 1) * qs[j]);
        rank[2 * j] = k;
        rank[2 * j + 1] = k + 1 < n ? k + 1 : k;
    }
    unsigned long long carry = 0;
    for (int base = 0; base < BINS; base += REDUCE_THREADS) {
        const int b = base + threadIdx.x;
        const unsigned long long c = (unsigned long long)ha[b] + hb[b];
        unsigned long long total;
        const unsigned long long first = carry + block_exclusive_scan(c, &total);
        for (int x = 0; x < 10; x++)
            if (rank[x] >= first && rank[x] < first + c) bin_of[x] = b;
        carry += total;
    }
    __syncthreads();
    double q[5];
    for (int j = 0; j < 5; j++) {
        const double pos = (double)(n - 1) * qs[j], k = floor(pos);
        const double v0 = lo + (bin_of[2 * j] + 0.5) * width;
        const double v1 = lo + (bin_of[2 * j + 1] + 0.5) * width;
        q[j] = v0 + (pos - k) * (v1 - v0);
    }
    double tau = q[2];
    double above = 0.0, below = -INFINITY;
    for (int b = threadIdx.x; b < BINS; b += REDUCE_THREADS) {
        const double c = (double)ha[b] + hb[b], centre = lo + (b + 0.5) * width;
        if (c == 0.0) continue;
        if (centre > tau) above += c;
        else if (centre < tau) below = fmax(below, centre);
    }
    above = block_sum_double(above, red);
    below = block_max_double(below, red);
    if (above < HR_EFFECT_MIN_ABOVE * (double)n && below > -INFINITY) tau = below;
    double sa = 0.0, s2a = 0.0, sb = 0.0, s2b = 0.0;
    for (int b = threadIdx.x; b < BINS; b += REDUCE_THREADS) {
        const double g = lo + (b + 0.5) * width - tau;
        if (!(g > 0.0)) continue;
        sa += ha[b] * g, s2a += ha[b] * g * g;
        sb += hb[b] * g, s2b += hb[b] * g * g;
    }
    sa = block_sum_double(sa, red), s2a = block_sum_double(s2a, red);
    sb = block_sum_double(sb, red), s2b = block_sum_double(s2b, red);
    if (threadIdx.x == 0) {
        double *o = out + (size_t)r * HR_EFFECT_STATS;
        for (int j = 0; j < 5; j++) o[j] = q[j];
        o[5] = tau, o[6] = sa, o[7] = s2a, o[8] = sb, o[9] = s2b;
    }
}

/* ------------------------------------------------------------------------ */
/* Launchers                                                                 */

static cudaError_t launch_to_half(const float *in, __half *out, size_t n, cudaStream_t st)
{
    assert(in && out && n > 0);
    size_t blocks = (n + CONVERT_THREADS - 1) / CONVERT_THREADS;
    if (blocks > 65536) blocks = 65536; /* grid-stride beyond */
    to_half_kernel<<<(unsigned)blocks, CONVERT_THREADS, 0, st>>>(in, out, n);
    return cudaGetLastError();
}

static cudaError_t launch_norm_check(const float *x, int rows, int dim, int row0, int *bad,
                                     cudaStream_t st)
{
    assert(x && bad && rows > 0 && dim > 0 && row0 >= 0);
    const float max2 = (float)(HR_SCORER_CUDA_MAX_NORM * HR_SCORER_CUDA_MAX_NORM);
    const unsigned blocks = (unsigned)(((size_t)rows * 32 + NORM_THREADS - 1) / NORM_THREADS);
    row_norm_check_kernel<<<blocks, NORM_THREADS, 0, st>>>(x, rows, dim, row0, max2, bad);
    return cudaGetLastError();
}

static cudaError_t launch_bin(const float *s, int kb, int ld, int c_lo, int c_hi, int cls,
                              int g_off, uint32_t *hist, double *sum, bin_map map,
                              const contrast_ctx *cc, cudaStream_t st)
{
    assert(s && hist && sum);
    assert(kb >= 1 && kb <= 65535 && 0 <= c_lo && c_lo < c_hi && c_hi <= ld);
    assert((cls == 0 || cls == 1) && g_off >= 0);
    const dim3 grid((unsigned)((c_hi - c_lo + SEG_MAX - 1) / SEG_MAX), (unsigned)kb);
    if (cc)
        bin_scores_kernel<true><<<grid, BIN_THREADS, BIN_SMEM_BYTES, st>>>(
            s, kb, ld, c_lo, c_hi, cls, g_off, hist, sum, map, *cc);
    else
        bin_scores_kernel<false><<<grid, BIN_THREADS, BIN_SMEM_BYTES, st>>>(
            s, kb, ld, c_lo, c_hi, cls, g_off, hist, sum, map, contrast_ctx{});
    return cudaGetLastError();
}

static cudaError_t launch_pool_fold(const float *s, int kb, int ld, int cn, int k_base,
                                    size_t x_base, double t, const pool_state &ps, cudaStream_t st)
{
    assert(s && kb >= 1 && cn >= 1 && cn <= ld);
    pool_fold_kernel<<<(unsigned)((cn + POOL_THREADS - 1) / POOL_THREADS), POOL_THREADS, 0, st>>>(
        s, kb, ld, cn, k_base, x_base, t, ps);
    return cudaGetLastError();
}

static cudaError_t launch_effect_stats(const uint32_t *hist, int gk, size_t n, double lo,
                                       double width, double *out, cudaStream_t st)
{
    assert(hist && out && gk >= 1 && n >= 1 && width > 0.0);
    effect_stats_kernel<<<(unsigned)gk, REDUCE_THREADS, 0, st>>>(hist, gk, n, lo, width, out);
    return cudaGetLastError();
}

static cudaError_t launch_mw(const uint32_t *hist, int gk, unsigned long long *u2, double *tie,
                             cudaStream_t st)
{
    assert(hist && u2 && tie && gk >= 1);
    mw_from_hist_kernel<<<(unsigned)gk, REDUCE_THREADS, 0, st>>>(hist, gk, u2, tie);
    return cudaGetLastError();
}

/* ------------------------------------------------------------------------ */
/* Host side                                                                 */

/* Rows [c0, c0 + cn) of [A; B] into dst: (cn, dim) row-major. */
static void copy_rows(const hr_scorer_cuda *s, size_t c0, size_t cn, float *dst)
{
    const size_t d = (size_t)s->dim;
    if (c0 < s->n_a) {
        const size_t na = cn < s->n_a - c0 ? cn : s->n_a - c0;
        memcpy(dst, s->xa + c0 * d, na * d * sizeof(float));
        dst += na * d, c0 += na, cn -= na;
    }
    if (cn > 0) memcpy(dst, s->xb + (c0 - s->n_a) * d, cn * d * sizeof(float));
}

/* Streams rows [c0, c0 + cn) into slot: host copy into the pinned buffer once
 * its last upload is done, then an async upload on the copy stream once the
 * slot's last conversion is done. */
static hr_status stage_begin(hr_scorer_cuda *s, size_t c0, size_t cn, int slot, char *err,
                             size_t errlen)
{
    hr_status st = HR_OK;
    assert(cn >= 1 && cn <= s->stage_rows && c0 + cn <= s->n);
    HR_CUDA_TRY(cudaEventSynchronize(s->copied[slot]));
    copy_rows(s, c0, cn, s->h_pin[slot]);
    HR_CUDA_TRY(cudaStreamWaitEvent(s->copy, s->converted[slot], 0));
    HR_CUDA_TRY(cudaMemcpyAsync(s->d_stage[slot], s->h_pin[slot], cn * s->dim * sizeof(float),
                                cudaMemcpyHostToDevice, s->copy));
    HR_CUDA_TRY(cudaEventRecord(s->copied[slot], s->copy));
cleanup:
    return st;
}

/* On the compute stream, once slot's upload is done: rows c0.. (cn of them)
 * to FP16 in dst ((cn, dim) row-major), with the norm check when check. */
static hr_status stage_convert(hr_scorer_cuda *s, size_t c0, size_t cn, int slot, __half *dst,
                               int check, char *err, size_t errlen)
{
    hr_status st = HR_OK;
    HR_CUDA_TRY(cudaStreamWaitEvent(s->compute, s->copied[slot], 0));
    HR_CUDA_TRY(launch_to_half(s->d_stage[slot], dst, cn * s->dim, s->compute));
    if (check)
        HR_CUDA_TRY(launch_norm_check(s->d_stage[slot], (int)cn, s->dim, (int)c0, s->d_bad,
                                      s->compute));
    HR_CUDA_TRY(cudaEventRecord(s->converted[slot], s->compute));
cleanup:
    return st;
}

/* One pass over X in staging-sized chunks: uploads a resident X, or checks a
 * streamed one. */
static hr_status upload_and_check(hr_scorer_cuda *s, char *err, size_t errlen)
{
    hr_status st = HR_OK;
    const size_t step = s->stage_rows;
    int slot = 0;
    if ((st = stage_begin(s, 0, step < s->n ? step : s->n, 0, err, errlen)) != HR_OK) return st;
    for (size_t c0 = 0; c0 < s->n; c0 += step, slot ^= 1) {
        const size_t cn = s->n - c0 < step ? s->n - c0 : step;
        __half *dst = s->resident ? s->d_x + c0 * s->dim : s->d_xc[slot];
        if ((st = stage_convert(s, c0, cn, slot, dst, 1, err, errlen)) != HR_OK) return st;
        const size_t n0 = c0 + step;
        if (n0 < s->n &&
            (st = stage_begin(s, n0, s->n - n0 < step ? s->n - n0 : step, slot ^ 1, err,
                              errlen)) != HR_OK)
            return st;
    }
    int bad = INT_MAX;
    HR_CUDA_TRY(cudaMemcpyAsync(&bad, s->d_bad, sizeof bad, cudaMemcpyDeviceToHost, s->compute));
    HR_CUDA_TRY(cudaStreamSynchronize(s->compute));
    if (bad != INT_MAX) {
        const size_t i = (size_t)bad, d = (size_t)s->dim;
        const float *v = i < s->n_a ? s->xa + i * d : s->xb + (i - s->n_a) * d;
        double ss = 0.0;
        for (size_t c = 0; c < d; c++) ss += (double)v[c] * v[c];
        if (!isfinite(ss))
            return hr_fail(HR_ERR_INPUT, err, errlen,
                           "%s sample %zu (counting from 0): embedding is not finite",
                           i < s->n_a ? "A" : "B", i < s->n_a ? i : i - s->n_a);
        return hr_fail(HR_ERR_UNSUPPORTED, err, errlen,
                       "%s sample %zu (counting from 0): embedding norm %g: the GPU scorer bins "
                       "cosines of L2-normalised embeddings (norm at most %g); use the CPU scorer",
                       i < s->n_a ? "A" : "B", i < s->n_a ? i : i - s->n_a, sqrt(ss),
                       HR_SCORER_CUDA_MAX_NORM);
    }
cleanup:
    return st;
}

/* Twin of row_norm_check_kernel for H, on the host: h (k, dim). */
static hr_status check_h_norms(const float *h, size_t k, int dim, char *err, size_t errlen)
{
    for (size_t i = 0; i < k; i++) {
        double ss = 0.0;
        for (int c = 0; c < dim; c++) ss += (double)h[i * dim + c] * h[i * dim + c];
        if (!isfinite(ss))
            return hr_fail(HR_ERR_INPUT, err, errlen,
                           "hypothesis %zu (counting from 0): embedding is not finite", i);
        if (!(ss <= HR_SCORER_CUDA_MAX_NORM * HR_SCORER_CUDA_MAX_NORM))
            return hr_fail(HR_ERR_UNSUPPORTED, err, errlen,
                           "hypothesis %zu (counting from 0): embedding norm %g: the GPU scorer "
                           "bins cosines of L2-normalised embeddings (norm at most %g); use the "
                           "CPU scorer",
                           i, sqrt(ss), HR_SCORER_CUDA_MAX_NORM);
    }
    return HR_OK;
}

extern "C" void hr_scorer_cuda_destroy(hr_scorer_cuda *s)
{
    if (!s) return;
    if (s->compute) cudaStreamSynchronize(s->compute);
    if (s->copy) cudaStreamSynchronize(s->copy);
    if (s->blas) cublasDestroy(s->blas);
    for (int i = 0; i < 2; i++) {
        cudaFreeHost(s->h_pin[i]);
        cudaFree(s->d_stage[i]);
        cudaFree(s->d_xc[i]);
        if (s->copied[i]) cudaEventDestroy(s->copied[i]);
        if (s->converted[i]) cudaEventDestroy(s->converted[i]);
    }
    if (s->t0) cudaEventDestroy(s->t0);
    if (s->t1) cudaEventDestroy(s->t1);
    cudaFree(s->d_x);
    cudaFree(s->d_s);
    cudaFree(s->d_h32);
    cudaFree(s->d_h16);
    cudaFree(s->d_hist);
    cudaFree(s->d_sum);
    cudaFree(s->d_u2);
    cudaFree(s->d_tie);
    cudaFree(s->d_estats);
    cudaFree(s->d_bad);
    cudaFree(s->pool.m1), cudaFree(s->pool.m2), cudaFree(s->pool.acc);
    cudaFree(s->pool.m0), cudaFree(s->pool.top);
    cudaFree(s->d_pool4);
    cudaFree(s->d_range);
    if (s->compute) cudaStreamDestroy(s->compute);
    if (s->copy) cudaStreamDestroy(s->copy);
    free(s->u2);
    free(s->tie);
    free(s->sum);
    free(s);
}

extern "C" hr_status hr_scorer_cuda_create(const float *xa, size_t n_a, const float *xb,
                                           size_t n_b, int dim, size_t memory_bytes,
                                           hr_scorer_cuda **out, char *err, size_t errlen)
{
    hr_status st = HR_OK;
    hr_scorer_cuda *s = NULL;
    const char *why = NULL;
    size_t free_b = 0, total_b = 0, budget, x_bytes, rest, tile_bytes, hist_bytes, stream_bytes;
    const int no_bad = INT_MAX;
    *out = NULL;
    if (!xa || !xb || dim <= 0)
        return hr_fail(HR_ERR_INTERNAL, err, errlen, "hr_scorer_cuda_create: no samples or dim %d",
                       dim);
    if (n_a == 0 || n_b == 0)
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "group %s has no samples (n_a = %zu, n_b = %zu): ranking needs both groups",
                       n_a == 0 ? "A" : "B", n_a, n_b);
    if (n_a + n_b > (size_t)INT32_MAX)
        return hr_fail(HR_ERR_UNSUPPORTED, err, errlen,
                       "GPU scorer: %zu samples, at most 2^31 - 1", n_a + n_b);
    if (hr_cuda_device_count(&why) == 0)
        return hr_fail(HR_ERR_NO_DEVICE, err, errlen, "no usable CUDA device: %s",
                       why ? why : "none found");
    s = (hr_scorer_cuda *)calloc(1, sizeof *s);
    if (!s) return hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory");
    s->xa = xa, s->xb = xb, s->n_a = n_a, s->n_b = n_b, s->n = n_a + n_b, s->dim = dim;
    s->last_ms = -1.0;

    /* The plan (host/backends/cuda/scorer_cuda.h, "Memory"). */
    HR_CUDA_TRY(cudaMemGetInfo(&free_b, &total_b));
    budget = memory_bytes ? memory_bytes : free_b / 10 * 8;
    x_bytes = s->n * (size_t)dim * sizeof(__half);
    s->resident = x_bytes <= budget / 2;
    rest = budget - (s->resident ? x_bytes : 0);
    tile_bytes = rest / 4 < ((size_t)1 << 30) ? rest / 4 : ((size_t)1 << 30);
    hist_bytes = rest / 2;
    stream_bytes = rest / 4;
    s->group_rows = hist_bytes / HIST_ROW_BYTES;
    if (s->group_rows == 0 || tile_bytes < sizeof(float)) {
        st = hr_fail(HR_ERR_INPUT, err, errlen,
                     "GPU scorer: a memory budget of %zu bytes leaves no room for one "
                     "hypothesis's histograms (%zu bytes)",
                     budget, HIST_ROW_BYTES);
        goto cleanup;
    }
    s->chunk = tile_bytes / (sizeof(float) * BLOCK_ROWS_MAX);
    if (s->chunk < 4096) s->chunk = tile_bytes / sizeof(float) < 4096 ? tile_bytes / sizeof(float) : 4096;
    if (s->resident) {
        s->stage_rows = RESIDENT_STAGE_BYTES / ((size_t)dim * sizeof(float));
    } else {
        /* two device slots of fp32 staging + FP16 chunk */
        s->stage_rows = stream_bytes / (2 * (size_t)dim * (sizeof(float) + sizeof(__half)));
        if (s->chunk > s->stage_rows) s->chunk = s->stage_rows;
    }
    if (s->stage_rows < 1) s->stage_rows = 1;
    if (s->stage_rows > s->n) s->stage_rows = s->n;
    if (s->chunk < 1) {
        st = hr_fail(HR_ERR_INPUT, err, errlen,
                     "GPU scorer: a memory budget of %zu bytes leaves no room to stream one "
                     "sample of dimension %d",
                     budget, dim);
        goto cleanup;
    }
    if (s->chunk > s->n) s->chunk = s->n;
    s->block_rows = tile_bytes / (sizeof(float) * s->chunk);
    if (s->block_rows > BLOCK_ROWS_MAX) s->block_rows = BLOCK_ROWS_MAX;
    if (s->block_rows < 1) s->block_rows = 1;

    HR_CUDA_TRY(cudaStreamCreateWithFlags(&s->compute, cudaStreamNonBlocking));
    HR_CUDA_TRY(cudaStreamCreateWithFlags(&s->copy, cudaStreamNonBlocking));
    for (int i = 0; i < 2; i++) {
        HR_CUDA_TRY(cudaEventCreateWithFlags(&s->copied[i], cudaEventDisableTiming));
        HR_CUDA_TRY(cudaEventCreateWithFlags(&s->converted[i], cudaEventDisableTiming));
    }
    HR_CUDA_TRY(cudaEventCreate(&s->t0));
    HR_CUDA_TRY(cudaEventCreate(&s->t1));
    HR_CUBLAS_TRY(cublasCreate(&s->blas));
    HR_CUBLAS_TRY(cublasSetStream(s->blas, s->compute));
    HR_CUDA_TRY(cudaFuncSetAttribute(bin_scores_kernel<false>,
                                     cudaFuncAttributeMaxDynamicSharedMemorySize, (int)BIN_SMEM_BYTES));
    HR_CUDA_TRY(cudaFuncSetAttribute(bin_scores_kernel<true>,
                                     cudaFuncAttributeMaxDynamicSharedMemorySize, (int)BIN_SMEM_BYTES));

    HR_CUDA_TRY(cudaMalloc(&s->d_s, s->block_rows * s->chunk * sizeof(float)));
    HR_CUDA_TRY(cudaMalloc(&s->d_hist, s->group_rows * HIST_ROW_BYTES));
    HR_CUDA_TRY(cudaMalloc(&s->d_sum, s->group_rows * 2 * sizeof(double)));
    HR_CUDA_TRY(cudaMalloc(&s->d_u2, s->group_rows * sizeof(unsigned long long)));
    HR_CUDA_TRY(cudaMalloc(&s->d_tie, s->group_rows * sizeof(double)));
    HR_CUDA_TRY(cudaMalloc(&s->d_estats, s->group_rows * HR_EFFECT_STATS * sizeof(double)));
    HR_CUDA_TRY(cudaMalloc(&s->d_bad, sizeof(int)));
    HR_CUDA_TRY(cudaMemcpy(s->d_bad, &no_bad, sizeof(int), cudaMemcpyHostToDevice));
    s->u2 = (unsigned long long *)malloc(s->group_rows * sizeof *s->u2);
    s->tie = (double *)malloc(s->group_rows * sizeof *s->tie);
    s->sum = (double *)malloc(s->group_rows * 2 * sizeof *s->sum);
    if (!s->u2 || !s->tie || !s->sum) {
        st = hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory");
        goto cleanup;
    }
    for (int i = 0; i < 2; i++) {
        HR_CUDA_TRY(cudaMallocHost(&s->h_pin[i], s->stage_rows * dim * sizeof(float)));
        HR_CUDA_TRY(cudaMalloc(&s->d_stage[i], s->stage_rows * dim * sizeof(float)));
        if (!s->resident) HR_CUDA_TRY(cudaMalloc(&s->d_xc[i], s->stage_rows * dim * sizeof(__half)));
    }
    if (s->resident) HR_CUDA_TRY(cudaMalloc(&s->d_x, x_bytes));

    if ((st = upload_and_check(s, err, errlen)) != HR_OK) goto cleanup;
    if (s->resident) /* staging is only for the upload */
        for (int i = 0; i < 2; i++) {
            HR_CUDA_TRY(cudaFreeHost(s->h_pin[i]));
            HR_CUDA_TRY(cudaFree(s->d_stage[i]));
            s->h_pin[i] = NULL, s->d_stage[i] = NULL;
        }
    *out = s;
    return HR_OK;
cleanup:
    hr_scorer_cuda_destroy(s);
    return st;
}

extern "C" void hr_scorer_cuda_info(const hr_scorer_cuda *s, hr_scorer_cuda_layout *out)
{
    out->resident = s->resident;
    out->chunk_samples = s->chunk;
    out->block_rows = s->block_rows;
    out->group_rows = s->group_rows;
}

extern "C" double hr_scorer_cuda_last_ms(const hr_scorer_cuda *s)
{
    return s ? s->last_ms : -1.0;
}

/* What a sweep over the samples does with each tile of similarities. */
struct sweep_args {
    int fold;            /* 1: CONTRAST's first pass (pool_fold_kernel); 0: the bins */
    size_t g0, gk;       /* hypotheses g0 .. g0 + gk - 1 (for bins, at most group_rows) */
    bin_map map;         /* bins: where scores go */
    const float4 *pool;  /* bins: CONTRAST's packed statistics, NULL for COSINE */
    double t, log_km1, km1; /* CONTRAST: temperature, log(K - 1), K - 1 */
};

/* The tiles of one chunk of samples [c0, c0 + cn) whose FP16 rows are xc
 * ((cn, dim) row-major): per block of hypotheses, the similarity tile, then
 * the fold or the bins. */
static hr_status tile_work(hr_scorer_cuda *s, const __half *xc, size_t c0, size_t cn,
                           const sweep_args &a, char *err, size_t errlen)
{
    hr_status st = HR_OK;
    const float one = 1.f, zero = 0.f;
    assert(cn >= 1 && cn <= s->chunk && a.gk >= 1 && (a.fold || a.gk <= s->group_rows));
    /* Columns [0, a_end) of the tile are A's samples, [a_end, cn) B's. */
    const size_t a_end = c0 >= s->n_a ? 0 : (s->n_a - c0 < cn ? s->n_a - c0 : cn);
    for (size_t b0 = 0; b0 < a.gk; b0 += s->block_rows) {
        const int kb = (int)(a.gk - b0 < s->block_rows ? a.gk - b0 : s->block_rows);
        const int k_base = (int)(a.g0 + b0);
        /* Column-major view: C (cn, kb), ldc = cn, = X_chunk (cn, dim) times
         * H_block^T; that is d_s as (kb, cn) row-major, a hypothesis a row. */
        HR_CUBLAS_TRY(cublasGemmEx(s->blas, CUBLAS_OP_T, CUBLAS_OP_N, (int)cn, kb, s->dim, &one,
                                   xc, CUDA_R_16F, s->dim, s->d_h16 + (size_t)k_base * s->dim,
                                   CUDA_R_16F, s->dim, &zero, s->d_s, CUDA_R_32F, (int)cn,
                                   CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
        if (a.fold) {
            HR_CUDA_TRY(launch_pool_fold(s->d_s, kb, (int)cn, (int)cn, k_base, c0, a.t, s->pool,
                                         s->compute));
            continue;
        }
        const contrast_ctx cc = {a.pool, c0, k_base, a.t > CONTRAST_SHIFT_T, (float)a.t,
                                 (float)a.log_km1, (float)a.km1};
        const contrast_ctx *ccp = a.pool ? &cc : NULL;
        if (a_end > 0)
            HR_CUDA_TRY(launch_bin(s->d_s, kb, (int)cn, 0, (int)a_end, 0, (int)b0, s->d_hist,
                                   s->d_sum, a.map, ccp, s->compute));
        if (a_end < cn)
            HR_CUDA_TRY(launch_bin(s->d_s, kb, (int)cn, (int)a_end, (int)cn, 1, (int)b0,
                                   s->d_hist, s->d_sum, a.map, ccp, s->compute));
    }
cleanup:
    return st;
}

/* One pass over all samples, chunk by chunk (a view of the resident X, or
 * staged from the host through the two slots, the next chunk's copy
 * overlapping this one's tiles), doing a's work on every tile. */
static hr_status sweep(hr_scorer_cuda *s, const sweep_args &a, char *err, size_t errlen)
{
    hr_status st = HR_OK;
    int slot = s->slot;
    if (!s->resident &&
        (st = stage_begin(s, 0, s->chunk < s->n ? s->chunk : s->n, slot, err, errlen)) != HR_OK)
        return st;
    for (size_t c0 = 0; c0 < s->n; c0 += s->chunk, slot ^= 1) {
        const size_t cn = s->n - c0 < s->chunk ? s->n - c0 : s->chunk;
        const __half *xc;
        if (s->resident) {
            xc = s->d_x + c0 * s->dim;
        } else {
            if ((st = stage_convert(s, c0, cn, slot, s->d_xc[slot], 0, err, errlen)) != HR_OK)
                return st;
            xc = s->d_xc[slot];
        }
        if ((st = tile_work(s, xc, c0, cn, a, err, errlen)) != HR_OK) return st;
        /* Queue chunk c's work first, then fill the other slot on the host
         * while the GPU runs it. */
        const size_t n0 = c0 + s->chunk;
        if (!s->resident && n0 < s->n &&
            (st = stage_begin(s, n0, s->n - n0 < s->chunk ? s->n - n0 : s->chunk, slot ^ 1, err,
                              errlen)) != HR_OK)
            return st;
    }
    s->slot = slot;
    return HR_OK;
}

/* Inverse of ordered_bits. */
static float from_ordered_bits(unsigned o)
{
    const unsigned u = (o & 0x80000000u) ? (o & 0x7fffffffu) : ~o;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* CONTRAST's first pass over all k hypotheses (k >= 2): the packed
 * statistics in d_pool4 and the bins' map over the range of the scores. */
static hr_status contrast_pool(hr_scorer_cuda *s, size_t k, double t, bin_map *map, char *err,
                               size_t errlen)
{
    hr_status st = HR_OK;
    unsigned range[2] = {0xffffffffu, 0u};
    const double log_km1 = log((double)(k - 1));
    sweep_args a = {};
    if (!s->d_pool4) { /* first CONTRAST call: 44 bytes a sample */
        cudaError_t e = cudaSuccess;
        if (e == cudaSuccess) e = cudaMalloc(&s->pool.m1, s->n * sizeof(double));
        if (e == cudaSuccess) e = cudaMalloc(&s->pool.m2, s->n * sizeof(double));
        if (e == cudaSuccess) e = cudaMalloc(&s->pool.acc, s->n * sizeof(double));
        if (e == cudaSuccess) e = cudaMalloc(&s->pool.m0, s->n * sizeof(float));
        if (e == cudaSuccess) e = cudaMalloc(&s->pool.top, s->n * sizeof(int));
        if (e == cudaSuccess) e = cudaMalloc(&s->d_range, 2 * sizeof(unsigned));
        if (e == cudaSuccess) e = cudaMalloc(&s->d_pool4, s->n * sizeof(float4));
        if (e != cudaSuccess) {
            cudaGetLastError(); /* clear it: the scorer stays usable for COSINE */
            return hr_fail(HR_ERR_UNSUPPORTED, err, errlen,
                           "GPU scorer: no room on the GPU for the contrast statistics of %zu "
                           "samples (%zu MB): %s",
                           s->n, s->n * 44 >> 20, cudaGetErrorString(e));
        }
    }
    pool_init_kernel<<<1024, POOL_THREADS, 0, s->compute>>>(s->pool, s->n);
    HR_CUDA_TRY(cudaGetLastError());
    a.fold = 1, a.g0 = 0, a.gk = k, a.t = t;
    if ((st = sweep(s, a, err, errlen)) != HR_OK) return st;
    HR_CUDA_TRY(cudaMemcpyAsync(s->d_range, range, sizeof range, cudaMemcpyHostToDevice, s->compute));
    pool_finish_kernel<<<(unsigned)((s->n + POOL_THREADS - 1) / POOL_THREADS), POOL_THREADS, 0,
                         s->compute>>>(s->pool, s->n, t, log_km1, t > CONTRAST_SHIFT_T,
                                       (double)(k - 1), s->d_pool4, s->d_range);
    HR_CUDA_TRY(cudaGetLastError());
    HR_CUDA_TRY(cudaMemcpyAsync(range, s->d_range, sizeof range, cudaMemcpyDeviceToHost, s->compute));
    HR_CUDA_TRY(cudaStreamSynchronize(s->compute));
    {
        /* Every score lies in [lo, hi] (pool_finish_kernel); a little slack
         * for the float rounding of the scores, which the clamp of score_bin
         * would otherwise fold into the end bins. */
        const double lo = from_ordered_bits(range[0]), hi = from_ordered_bits(range[1]);
        const double slack = 1e-5 * (1.0 + hi - lo);
        map->lo = (float)(lo - slack);
        map->scale = (float)(BINS / (hi - lo + 2.0 * slack));
    }
cleanup:
    return st;
}

/* COSINE (t = 0) or CONTRAST (t > 0, k >= 2): every field but q_value;
 * with COSINE and estats (k, HR_EFFECT_STATS) on the host, the effects'
 * statistics of each hypothesis too. */
static hr_status score_impl(hr_scorer_cuda *s, const float *h, size_t k, double t,
                            hr_hypothesis_score *out, double *estats, char *err, size_t errlen)
{
    hr_status st = HR_OK;
    float ms = 0.f;
    const int contrast = t > 0.0;
    sweep_args a = {};
    a.map.lo = -1.f, a.map.scale = (float)(BINS / 2);
    if ((st = check_h_norms(h, k, s->dim, err, errlen)) != HR_OK) return st;
    s->last_ms = -1.0;
    if (s->h_cap < k) {
        cudaFree(s->d_h32);
        cudaFree(s->d_h16);
        s->d_h32 = NULL, s->d_h16 = NULL, s->h_cap = 0;
        HR_CUDA_TRY(cudaMalloc(&s->d_h32, k * s->dim * sizeof(float)));
        HR_CUDA_TRY(cudaMalloc(&s->d_h16, k * s->dim * sizeof(__half)));
        s->h_cap = k;
    }
    HR_CUDA_TRY(cudaEventRecord(s->t0, s->compute));
    HR_CUDA_TRY(cudaMemcpyAsync(s->d_h32, h, k * s->dim * sizeof(float), cudaMemcpyHostToDevice,
                                s->compute));
    HR_CUDA_TRY(launch_to_half(s->d_h32, s->d_h16, k * s->dim, s->compute));
    if (contrast) {
        if ((st = contrast_pool(s, k, t, &a.map, err, errlen)) != HR_OK) goto cleanup;
        a.pool = s->d_pool4, a.t = t, a.log_km1 = log((double)(k - 1)), a.km1 = (double)(k - 1);
    }
    for (size_t g0 = 0; g0 < k; g0 += s->group_rows) {
        const size_t gk = k - g0 < s->group_rows ? k - g0 : s->group_rows;
        HR_CUDA_TRY(cudaMemsetAsync(s->d_hist, 0, gk * HIST_ROW_BYTES, s->compute));
        HR_CUDA_TRY(cudaMemsetAsync(s->d_sum, 0, gk * 2 * sizeof(double), s->compute));
        a.g0 = g0, a.gk = gk;
        if ((st = sweep(s, a, err, errlen)) != HR_OK) goto cleanup;
        HR_CUDA_TRY(launch_mw(s->d_hist, (int)gk, s->d_u2, s->d_tie, s->compute));
        HR_CUDA_TRY(cudaMemcpyAsync(s->u2, s->d_u2, gk * sizeof *s->u2, cudaMemcpyDeviceToHost,
                                    s->compute));
        HR_CUDA_TRY(cudaMemcpyAsync(s->tie, s->d_tie, gk * sizeof *s->tie, cudaMemcpyDeviceToHost,
                                    s->compute));
        HR_CUDA_TRY(cudaMemcpyAsync(s->sum, s->d_sum, gk * 2 * sizeof *s->sum,
                                    cudaMemcpyDeviceToHost, s->compute));
        if (estats && !contrast) {
            HR_CUDA_TRY(launch_effect_stats(s->d_hist, (int)gk, s->n, (double)a.map.lo,
                                            1.0 / (double)a.map.scale, s->d_estats, s->compute));
            HR_CUDA_TRY(cudaMemcpyAsync(estats + g0 * HR_EFFECT_STATS, s->d_estats,
                                        gk * HR_EFFECT_STATS * sizeof(double),
                                        cudaMemcpyDeviceToHost, s->compute));
        }
        HR_CUDA_TRY(cudaStreamSynchronize(s->compute));
        for (size_t i = 0; i < gk; i++) {
            hr_mw_result r;
            hr_mw_finish((uint64_t)s->u2[i], s->n_a, s->n_b, s->tie[i], &r);
            hr_hypothesis_score *o = &out[g0 + i];
            o->auroc = r.auroc;
            o->u = r.u;
            o->z = r.z;
            o->p_value = r.p_value;
            o->mean_a = s->sum[2 * i] / (double)s->n_a;
            o->mean_b = s->sum[2 * i + 1] / (double)s->n_b;
        }
    }
    HR_CUDA_TRY(cudaEventRecord(s->t1, s->compute));
    HR_CUDA_TRY(cudaEventSynchronize(s->t1));
    HR_CUDA_TRY(cudaEventElapsedTime(&ms, s->t0, s->t1));
    s->last_ms = ms;
cleanup:
    return st;
}

extern "C" hr_status hr_scorer_cuda_score(hr_scorer_cuda *s, const float *h, size_t k,
                                          hr_hypothesis_score *out, char *err, size_t errlen)
{
    if (k == 0) return HR_OK;
    if (!s || !h || !out)
        return hr_fail(HR_ERR_INTERNAL, err, errlen, "hr_scorer_cuda_score: null argument");
    return score_impl(s, h, k, 0.0, out, NULL, err, errlen);
}

extern "C" hr_status hr_scorer_cuda_score_effects(hr_scorer_cuda *s, const float *h, size_t k,
                                                  hr_hypothesis_score *out, hr_effect *effects,
                                                  char *err, size_t errlen)
{
    if (k == 0) return HR_OK;
    if (!s || !h || !out || !effects)
        return hr_fail(HR_ERR_INTERNAL, err, errlen, "hr_scorer_cuda_score_effects: null argument");
    double *estats = (double *)malloc(k * HR_EFFECT_STATS * sizeof *estats); /* (k, STATS) */
    if (!estats) return hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory for %zu effects", k);
    hr_status st = score_impl(s, h, k, 0.0, out, estats, err, errlen);
    for (size_t i = 0; st == HR_OK && i < k; i++)
        hr_effect_finish(estats + i * HR_EFFECT_STATS, s->n_a, s->n_b, &effects[i]);
    free(estats);
    return st;
}

extern "C" hr_status hr_scorer_cuda_score_contrast(hr_scorer_cuda *s, const float *h, size_t k,
                                                   double temperature, hr_hypothesis_score *out,
                                                   char *err, size_t errlen)
{
    if (k == 0) return HR_OK;
    if (!s || !h || !out || !(temperature > 0.0))
        return hr_fail(HR_ERR_INTERNAL, err, errlen,
                       "hr_scorer_cuda_score_contrast: null argument or temperature %g",
                       temperature);
    /* A pool of one: the pool term is 0 and the score is the similarity. */
    return score_impl(s, h, k, k >= 2 ? temperature : 0.0, out, NULL, err, errlen);
}
