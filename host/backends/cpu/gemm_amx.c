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
 * A is packed per call, 128 rows at a time, as rows of 3 Kp BF16 (zero rows
 * pad the last group of 32). B is packed once into panels of 16 of its rows
 * (n padded to a multiple of 32 with zero rows); a panel holds B_hi's Kp / 32
 * chunks then B_lo's, each chunk one tile of 16 rows x 16 pairs as the tile
 * product reads it (row r: for each of the 16 columns, k = 2r and 2r + 1).
 *
 * Kernel: C in blocks of 32 x 32 (four FP32 accumulator tiles), two A tiles
 * and two B tiles a step, 3 Kp / 32 steps; the eight tile registers in all.
 * Blocks of C that overhang m or n go through a 16 x 16 scratch.
 */
#define _GNU_SOURCE /* syscall */
#include "backends/cpu/gemm_amx.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MC 128   /* rows of A packed at a time: 128 x 3 Kp BF16 stay in L2 */
#define TILE 16  /* rows of a tile, and FP32 columns of an accumulator */
#define KCHUNK 32 /* BF16 along k in one tile row */

struct hr_amx_b {
    int n, k, kp, panels; /* panels: n padded to 32, over 16 */
    uint16_t *data;       /* (panels, 2 kp / 32, 16, 32) */
};

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
    uint16_t *a;   /* (MC, cap_kp3) */
    size_t cap;    /* entries a holds */
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

/* Rows [0, rows) of A into out: (rows rounded up to 32, 3 kp) BF16, sections
 * hi, lo, hi; zero padding. */
__attribute__((target("avx512f,avx512bw,avx512bf16"))) static void pack_a(const float *a, int rows,
                                                                        int lda, int k, int kp,
                                                                        uint16_t *out)
{
    const int rows32 = (rows + 2 * TILE - 1) / (2 * TILE) * (2 * TILE);
    const size_t stride = (size_t)3 * kp;
    for (int i = 0; i < rows32; i++) {
        uint16_t *o = out + (size_t)i * stride;
        if (i >= rows) {
            memset(o, 0, stride * sizeof *o);
            continue;
        }
        const float *x = a + (size_t)i * lda;
        int q = 0;
        for (; q + 16 <= k; q += 16) {
            const __m512 v = _mm512_loadu_ps(x + q);
            const __m256i hi = (__m256i)_mm512_cvtneps_pbh(v);
            const __m512 hi_f = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(hi), 16));
            const __m256i lo = (__m256i)_mm512_cvtneps_pbh(_mm512_sub_ps(v, hi_f));
            _mm256_storeu_si256((__m256i *)(o + q), hi);
            _mm256_storeu_si256((__m256i *)(o + kp + q), lo);
            _mm256_storeu_si256((__m256i *)(o + 2 * kp + q), hi);
        }
        for (; q < k; q++) {
            const uint16_t hi = bf16_of(x[q]), lo = bf16_of(x[q] - float_of(hi));
            o[q] = hi, o[kp + q] = lo, o[2 * kp + q] = hi;
        }
        for (; q < kp; q++) o[q] = o[kp + q] = o[2 * kp + q] = 0;
    }
}

/* A tile of C (16 x 16 at row i, column j) out of accumulator T: straight
 * into C where it lies inside (m, n), else through scratch. */
#define STORE_TILE(T, i, j)                                                                   \
    do {                                                                                      \
        if ((i) + TILE <= m && (j) + TILE <= n) {                                             \
            _tile_stored(T, c + (size_t)(i) * ldc + (j), (long)ldc * 4);                      \
        } else if ((i) < m && (j) < n) {                                                      \
            _tile_stored(T, scratch, TILE * 4);                                               \
            for (int r_ = 0; r_ < TILE && (i) + r_ < m; r_++)                                 \
                for (int q_ = 0; q_ < TILE && (j) + q_ < n; q_++)                             \
                    c[(size_t)((i) + r_) * ldc + (j) + q_] = scratch[r_ * TILE + q_];         \
        }                                                                                     \
    } while (0)

__attribute__((target("amx-tile,amx-bf16,avx512f,avx512bw,avx512bf16"))) int
hr_amx_gemm_nt(const float *a, int m, int lda, const hr_amx_b *b, float *c, int ldc)
{
    const int n = b->n, k = b->k, kp = b->kp;
    const size_t stride = (size_t)3 * kp; /* BF16 a packed row of A */
    thread_state *s = thread_state_for((size_t)MC * stride);
    if (!s) return -1;
    float scratch[TILE * TILE];
    const int steps = 3 * kp / KCHUNK, section = kp / KCHUNK;
    const size_t chunk = (size_t)TILE * KCHUNK, panel = (size_t)2 * section * chunk;
    for (int m0 = 0; m0 < m; m0 += MC) {
        const int rows = m - m0 < MC ? m - m0 : MC;
        pack_a(a + (size_t)m0 * lda, rows, lda, k, kp, s->a);
        for (int j = 0; j < n; j += 2 * TILE) {
            const uint16_t *b0 = b->data + (size_t)(j / TILE) * panel, *b1 = b0 + panel;
            for (int i = 0; i < rows; i += 2 * TILE) {
                const uint16_t *a0 = s->a + (size_t)i * stride, *a1 = a0 + TILE * stride;
                _tile_zero(0);
                _tile_zero(1);
                _tile_zero(2);
                _tile_zero(3);
                for (int t = 0; t < steps; t++) {
                    /* sections hi.hi, lo.hi, hi.lo: B's chunk t, t - section, t - section */
                    const size_t bc = (size_t)(t < 2 * section ? t % section : t - section) * chunk;
                    _tile_loadd(4, a0 + (size_t)t * KCHUNK, (long)stride * 2);
                    _tile_loadd(5, a1 + (size_t)t * KCHUNK, (long)stride * 2);
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
    }
    return 0;
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

#endif
