/*
 * host/backends/cpu/gemm_amx.c: C = A B^T on AMX tiles, each input split
 * into two BF16 parts (gemm_amx.h states the arithmetic and its error).
 *
 * Layout. K is padded with zeros to Kp, a multiple of 32 (one tile row of
 * BF16). The product runs over three sections of Kp each:
 *
 *     section   0      1      2
 *     A part    hi     lo     hi
 *     B part    hi     hi     lo
 *
 * A is packed per call, 128 rows at a time, as rows of 2 Kp BF16, A_hi then
 * A_lo (zero rows pad the last group of 32); section 2 reads A_hi again. B
 * is packed once into panels of 16 of its rows (n padded to a multiple of
 * 32 with zero rows); a panel holds B_hi's Kp / 32 chunks then B_lo's, each
 * chunk one tile of 16 rows x 16 pairs as the tile product reads it (row r:
 * for each of the 16 columns, k = 2r and 2r + 1); sections 0 and 1 read
 * B_hi. Entries whose rows are outside the split's safe range are summed
 * again in plain float (in_safe_range).
 *
 * Kernel: C in blocks of 32 x 32 (four FP32 accumulator tiles), two A tiles
 * and two B tiles a step, 3 Kp / 32 steps; the eight tile registers in all.
 * Tiles of C that overhang m or n, or are written transposed, go through a
 * 16 x 16 scratch.
 */
#define _GNU_SOURCE /* syscall */
#include "backends/cpu/gemm_amx.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MC 128   /* rows of A packed at a time: 128 x 2 Kp BF16 stay in L2 */
#define TILE 16  /* rows of a tile, and FP32 columns of an accumulator */
#define KCHUNK 32 /* BF16 along k in one tile row */

struct hr_amx_b {
    int n, k, kp, panels; /* panels: n padded to 32, over 16 */
    uint16_t *data;       /* (panels, 2 kp / 32, 16, 32) */
    const float *src;     /* B itself, (n, k): the entries outside the safe range */
    float *row_max;       /* (n) max_q |b[j][q]| (NaN where a value is NaN) */
    float least, most;    /* the smallest and largest row_max */
};

/* Whether the split product is within its bound for a row of A whose
 * largest |value| is ma and a row of B's mb: no partial sum can overflow
 * (every |part| <= (1 + 2^-8) |value|), and neither row is so small that
 * the low parts fall below FP32's normal range (AMX flushes those to 0).
 * NaN and infinity are outside. Entries outside are summed in plain float,
 * in order of k, so that overflow and non-finite inputs give what sgemm
 * gives (infinity, NaN) instead of the parts' NaN. */
static inline int in_safe_range(double ma, double mb, int k)
{
    return ma >= 0x1p-100 && mb >= 0x1p-100 && (double)k * ma * mb < 0x1p125;
}

/* The larger (smaller) of m and v; a NaN in either stays (NaN marks a row
 * outside the safe range). */
static inline float max_keep_nan(float m, float v)
{
    return v > m || v != v ? v : m;
}

static inline float min_keep_nan(float m, float v)
{
    return v < m || v != v ? v : m;
}

static float plain_dot(const float *a, const float *b, int k)
{
    float acc = 0.0f;
    for (int q = 0; q < k; q++) acc += a[q] * b[q];
    return acc;
}

#if defined(__GNUC__) && defined(__x86_64__) && defined(__linux__)
#include <cpuid.h>
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILEDATA 18

static int amx_state = -1; /* -1 unknown, 0 no, 1 yes */
static pthread_once_t amx_once = PTHREAD_ONCE_INIT;

static void amx_detect(void)
{
    amx_state = 0;
    const char *want = getenv("HYPORANK_CPU_GEMM");
    if (want && strcmp(want, "fp32") == 0) return;
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return;
    const int amx_bf16 = (d >> 22) & 1, amx_tile = (d >> 24) & 1, avx512f = (b >> 16) & 1;
    if (!amx_bf16 || !amx_tile || !avx512f) return;
    if (!__get_cpuid_count(7, 1, &a, &b, &c, &d) || !((a >> 5) & 1)) return; /* AVX512-BF16 */
    /* The OS saves the tile state (XCR0 bits 17, 18) and lets us use it. */
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & (3u << 17)) != (3u << 17)) return;
    if (syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) != 0) return;
    amx_state = 1;
}

int hr_amx_available(void)
{
    pthread_once(&amx_once, amx_detect);
    return amx_state == 1;
}

/* Round to nearest even BF16, and the float that BF16 is. NaN stays NaN
 * (inputs here are finite). */
static inline uint16_t bf16_of(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

static inline float float_of(uint16_t h)
{
    const uint32_t u = (uint32_t)h << 16;
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

hr_amx_b *hr_amx_pack_b(const float *b, int n, int k)
{
    hr_amx_b *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->n = n, p->k = k;
    p->kp = (k + KCHUNK - 1) / KCHUNK * KCHUNK;
    p->panels = (n + 2 * TILE - 1) / (2 * TILE) * 2;
    const size_t chunks = (size_t)2 * p->kp / KCHUNK; /* hi's, then lo's */
    const size_t entries = (size_t)p->panels * chunks * TILE * KCHUNK;
    p->data = aligned_alloc(64, entries * sizeof *p->data);
    if (!p->data) {
        free(p);
        return NULL;
    }
    memset(p->data, 0, entries * sizeof *p->data);
    p->src = b;
    p->row_max = malloc(((size_t)n + 1) * sizeof *p->row_max);
    if (!p->row_max) {
        hr_amx_b_free(p);
        return NULL;
    }
    p->least = INFINITY, p->most = 0.0f;
    for (int j = 0; j < n; j++) {
        float mx = 0.0f;
        for (int q = 0; q < k; q++) {
            const float v = fabsf(b[(size_t)j * k + q]);
            mx = max_keep_nan(mx, v);
        }
        p->row_max[j] = mx;
        p->least = min_keep_nan(p->least, mx);
        p->most = max_keep_nan(p->most, mx);
    }
    for (int j = 0; j < n; j++) {
        uint16_t *panel = p->data + (size_t)(j / TILE) * chunks * TILE * KCHUNK;
        const int col = j % TILE;
        for (int q = 0; q < k; q++) {
            const float x = b[(size_t)j * k + q];
            const uint16_t hi = bf16_of(x), lo = bf16_of(x - float_of(hi));
            const size_t chunk = (size_t)q / KCHUNK, r = (size_t)(q % KCHUNK) / 2, pair = q % 2;
            const size_t at = r * KCHUNK + (size_t)col * 2 + pair;
            panel[chunk * TILE * KCHUNK + at] = hi;
            panel[(chunk + (size_t)p->kp / KCHUNK) * TILE * KCHUNK + at] = lo;
        }
    }
    return p;
}

void hr_amx_b_free(hr_amx_b *b)
{
    if (!b) return;
    free(b->data);
    free(b->row_max);
    free(b);
}

/* ---- per-thread state: the tile configuration and the packed rows of A ---- */

typedef struct tile_config {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} __attribute__((packed)) tile_config;

/* Eight tiles of 16 rows of 64 bytes. Static data, not a local: GCC does not
 * see that ldtilecfg reads its operand and drops stores to a local one. */
static const tile_config eight_full_tiles = {
    .palette = 1,
    .colsb = {64, 64, 64, 64, 64, 64, 64, 64},
    .rows = {TILE, TILE, TILE, TILE, TILE, TILE, TILE, TILE},
};

typedef struct thread_state {
    int configured;
    uint16_t *a;   /* (MC, 2 kp) of the largest kp so far */
    size_t cap;    /* entries a holds */
    float row_max[MC]; /* max |value| of each packed row of A (NaN where one is) */
} thread_state;

static pthread_key_t state_key;
static pthread_once_t state_once = PTHREAD_ONCE_INIT;

__attribute__((target("amx-tile"))) static void release_state(void *p)
{
    thread_state *s = p;
    if (s->configured) _tile_release();
    free(s->a);
    free(s);
}

static void make_key(void)
{
    (void)pthread_key_create(&state_key, release_state);
}

__attribute__((target("amx-tile"))) static thread_state *thread_state_for(size_t entries)
{
    pthread_once(&state_once, make_key);
    thread_state *s = pthread_getspecific(state_key);
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s || pthread_setspecific(state_key, s) != 0) {
            free(s);
            return NULL;
        }
    }
    if (s->cap < entries) {
        uint16_t *a = aligned_alloc(64, (entries * sizeof *a + 63) / 64 * 64);
        if (!a) return NULL;
        free(s->a);
        s->a = a;
        s->cap = entries;
    }
    if (!s->configured) {
        _tile_loadconfig(&eight_full_tiles);
        s->configured = 1;
    }
    return s;
}

/* Rows [0, rows) of A into out: (rows rounded up to 32, 2 kp) BF16, A_hi
 * then A_lo; zero padding; row_max[i]: max |a[i][q]| (NaN where one is). */
__attribute__((target("avx512f,avx512bw,avx512bf16"))) static void pack_a(const float *a, int rows,
                                                                        int lda, int k, int kp,
                                                                        uint16_t *out,
                                                                        float *row_max)
{
    const int rows32 = (rows + 2 * TILE - 1) / (2 * TILE) * (2 * TILE);
    const size_t stride = (size_t)2 * kp;
    for (int i = 0; i < rows32; i++) {
        uint16_t *o = out + (size_t)i * stride;
        if (i >= rows) {
            memset(o, 0, stride * sizeof *o);
            continue;
        }
        const float *x = a + (size_t)i * lda;
        __m512 mx = _mm512_setzero_ps();
        __mmask16 nan = 0; /* max_ps returns its second operand on NaN: NaNs counted apart */
        int q = 0;
        for (; q + 16 <= k; q += 16) {
            const __m512 v = _mm512_loadu_ps(x + q);
            mx = _mm512_max_ps(_mm512_abs_ps(v), mx);
            nan |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
            const __m256i hi = (__m256i)_mm512_cvtneps_pbh(v);
            const __m512i hi_bits = _mm512_slli_epi32(_mm512_cvtepu16_epi32(hi), 16);
            const __m512 hi_f = _mm512_castsi512_ps(hi_bits);
            const __m256i lo = (__m256i)_mm512_cvtneps_pbh(_mm512_sub_ps(v, hi_f));
            _mm256_storeu_si256((__m256i *)(o + q), hi);
            _mm256_storeu_si256((__m256i *)(o + kp + q), lo);
        }
        float m = nan ? NAN : _mm512_reduce_max_ps(mx);
        for (; q < k; q++) {
            const uint16_t hi = bf16_of(x[q]), lo = bf16_of(x[q] - float_of(hi));
            o[q] = hi, o[kp + q] = lo;
            const float v = fabsf(x[q]);
            m = max_keep_nan(m, v);
        }
        for (; q < kp; q++) o[q] = o[kp + q] = 0;
        row_max[i] = m;
    }
}

/* Rows [m0, m0 + rows) of C: the entries outside in_safe_range again, in
 * plain float (none in the usual case, seen from the rows' extremes). */
static void fix_unsafe_entries(const float *a, int rows, int lda, const float *row_max,
                               const hr_amx_b *b, float *c, int ldc, int m0, int transposed)
{
    float least = INFINITY, most = 0.0f;
    for (int i = 0; i < rows; i++) {
        least = min_keep_nan(least, row_max[i]);
        most = max_keep_nan(most, row_max[i]);
    }
    if (in_safe_range(least, b->least, b->k) && in_safe_range(most, b->most, b->k)) return;
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < b->n; j++) {
            if (in_safe_range(row_max[i], b->row_max[j], b->k)) continue;
            const float v = plain_dot(a + (size_t)i * lda, b->src + (size_t)j * b->k, b->k);
            if (transposed) c[(size_t)j * ldc + m0 + i] = v;
            else c[(size_t)(m0 + i) * ldc + j] = v;
        }
}

/* Column q < qn of the 16 x 16 tile in scratch (its first rn rows) to
 * c[q ldc ...]: a gather of the column and one store where the tile is
 * whole. */
__attribute__((target("avx512f"))) static void store_transposed(const float *scratch, float *c,
                                                                 int ldc, int rn, int qn)
{
    if (rn == TILE) {
        const __m512i rows = _mm512_set_epi32(240, 224, 208, 192, 176, 160, 144, 128, 112, 96,
                                              80, 64, 48, 32, 16, 0);
        for (int q = 0; q < qn; q++)
            _mm512_storeu_ps(c + (size_t)q * ldc,
                             _mm512_i32gather_ps(_mm512_add_epi32(rows, _mm512_set1_epi32(q)),
                                                 scratch, 4));
        return;
    }
    for (int q = 0; q < qn; q++)
        for (int r = 0; r < rn; r++) c[(size_t)q * ldc + r] = scratch[r * TILE + q];
}

/* A tile of C (16 x 16 at row i, column j) out of accumulator T: straight
 * into C where it lies inside (m, n) and C is not transposed, else through
 * scratch; transposed, entry (i + r, j + q) goes to c[(j + q) ldc + i + r]. */
#define STORE_TILE(T, i, j)                                                                   \
    do {                                                                                      \
        if (!transposed && (i) + TILE <= m && (j) + TILE <= n) {                              \
            _tile_stored(T, c + (size_t)(i) * ldc + (j), (long)ldc * 4);                      \
        } else if ((i) < m && (j) < n) {                                                      \
            _tile_stored(T, scratch, TILE * 4);                                               \
            const int rn_ = m - (i) < TILE ? m - (i) : TILE;                                  \
            const int qn_ = n - (j) < TILE ? n - (j) : TILE;                                  \
            if (transposed)                                                                   \
                store_transposed(scratch, c + (size_t)(j) * ldc + (i), ldc, rn_, qn_);        \
            else                                                                              \
                for (int r_ = 0; r_ < rn_; r_++)                                              \
                    for (int q_ = 0; q_ < qn_; q_++)                                          \
                        c[(size_t)((i) + r_) * ldc + (j) + q_] = scratch[r_ * TILE + q_];     \
        }                                                                                     \
    } while (0)

__attribute__((target("amx-tile,amx-bf16,avx512f,avx512bw,avx512bf16"))) static int
gemm(const float *a, int m, int lda, const hr_amx_b *b, float *c, int ldc, int transposed)
{
    const int n = b->n, k = b->k, kp = b->kp;
    const size_t stride = (size_t)2 * kp; /* BF16 a packed row of A */
    thread_state *s = thread_state_for((size_t)MC * stride);
    if (!s) return -1;
    float scratch[TILE * TILE];
    const int steps = 3 * kp / KCHUNK, section = kp / KCHUNK;
    const size_t chunk = (size_t)TILE * KCHUNK, panel = (size_t)2 * section * chunk;
    for (int m0 = 0; m0 < m; m0 += MC) {
        const int rows = m - m0 < MC ? m - m0 : MC;
        pack_a(a + (size_t)m0 * lda, rows, lda, k, kp, s->a, s->row_max);
        for (int j = 0; j < n; j += 2 * TILE) {
            const uint16_t *b0 = b->data + (size_t)(j / TILE) * panel, *b1 = b0 + panel;
            for (int i = 0; i < rows; i += 2 * TILE) {
                const uint16_t *a0 = s->a + (size_t)i * stride, *a1 = a0 + TILE * stride;
                _tile_zero(0);
                _tile_zero(1);
                _tile_zero(2);
                _tile_zero(3);
                for (int t = 0; t < steps; t++) {
                    /* sections hi.hi, lo.hi, hi.lo: A's chunk t, t, t - 2 section;
                     * B's t, t - section, t - section */
                    const size_t ac = (size_t)(t < 2 * section ? t : t - 2 * section) * KCHUNK;
                    const size_t bc = (size_t)(t < 2 * section ? t % section : t - section) * chunk;
                    _tile_loadd(4, a0 + ac, (long)stride * 2);
                    _tile_loadd(5, a1 + ac, (long)stride * 2);
                    _tile_loadd(6, b0 + bc, KCHUNK * 2);
                    _tile_loadd(7, b1 + bc, KCHUNK * 2);
                    _tile_dpbf16ps(0, 4, 6);
                    _tile_dpbf16ps(1, 4, 7);
                    _tile_dpbf16ps(2, 5, 6);
                    _tile_dpbf16ps(3, 5, 7);
                }
                const int ci = m0 + i;
                STORE_TILE(0, ci, j);
                STORE_TILE(1, ci, j + TILE);
                STORE_TILE(2, ci + TILE, j);
                STORE_TILE(3, ci + TILE, j + TILE);
            }
        }
        fix_unsafe_entries(a + (size_t)m0 * lda, rows, lda, s->row_max, b, c, ldc, m0,
                           transposed);
    }
    return 0;
}

int hr_amx_gemm_nt(const float *a, int m, int lda, const hr_amx_b *b, float *c, int ldc)
{
    return gemm(a, m, lda, b, c, ldc, 0);
}

int hr_amx_gemm_nt_transposed(const float *a, int m, int lda, const hr_amx_b *b, float *ct,
                              int ldct)
{
    return gemm(a, m, lda, b, ct, ldct, 1);
}


#else /* no AMX on this platform */

int hr_amx_available(void)
{
    return 0;
}

hr_amx_b *hr_amx_pack_b(const float *b, int n, int k)
{
    (void)b, (void)n, (void)k;
    return NULL;
}

void hr_amx_b_free(hr_amx_b *b)
{
    (void)b;
}

int hr_amx_gemm_nt(const float *a, int m, int lda, const hr_amx_b *b, float *c, int ldc)
{
    (void)a, (void)m, (void)lda, (void)b, (void)c, (void)ldc;
    return -1;
}

int hr_amx_gemm_nt_transposed(const float *a, int m, int lda, const hr_amx_b *b, float *ct,
                              int ldct)
{
    (void)a, (void)m, (void)lda, (void)b, (void)ct, (void)ldct;
    return -1;
}

#endif
