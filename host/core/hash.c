/*
 * host/core/hash.c: SHA-256 as specified in FIPS 180-4, section 6.2.
 *
 * Two block functions compute the same thing:
 *  - compress_portable, plain C: big-endian loads and stores are written out
 *    byte by byte (the compiler turns them into bswap), the 64 rounds are
 *    unrolled eight at a time with the working variables rotated by renaming,
 *    and the message schedule is a 16-word ring kept in registers.
 *  - compress_shani, for x86-64 CPUs with the SHA extensions (Intel since Ice
 *    Lake / Goldmont, AMD since Zen), several times faster. It is chosen at
 *    run time by CPUID, once per process.
 * The tests run the NIST vectors through both (hr_sha256_force_portable_).
 */
#include "hyporank/hash.h"

#include <stdatomic.h>
#include <string.h>

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define HR_SHA256_X86 1
#include <cpuid.h>
#include <immintrin.h>
#endif

/* FIPS 180-4, 4.2.2: the first 32 bits of the fractional parts of the cube
 * roots of the first 64 primes. */
static const uint32_t K[64] = {
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u, 0xab1c5ed5u,
    0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu, 0x9bdc06a7u, 0xc19bf174u,
    0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu, 0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau,
    0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u, 0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u,
    0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu, 0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u,
    0xa2bfe8a1u, 0xa81a664bu, 0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u,
    0x19a4c116u, 0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
    0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u, 0x90befffau, 0xa4506cebu, 0xbef9a3f7u, 0xc67178f2u,
};

static inline uint32_t rotr(uint32_t x, unsigned n) { return (x >> n) | (x << (32 - n)); }

static inline uint32_t load_be32(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static inline void store_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* FIPS 180-4, 4.1.2 (functions) and 6.2.2 (the round). */
#define CH(x, y, z) (((x) & ((y) ^ (z))) ^ (z))
#define MAJ(x, y, z) (((x) & (y)) | ((z) & ((x) | (y))))
#define BSIG0(x) (rotr((x), 2) ^ rotr((x), 13) ^ rotr((x), 22))
#define BSIG1(x) (rotr((x), 6) ^ rotr((x), 11) ^ rotr((x), 25))
#define SSIG0(x) (rotr((x), 7) ^ rotr((x), 18) ^ ((x) >> 3))
#define SSIG1(x) (rotr((x), 17) ^ rotr((x), 19) ^ ((x) >> 10))

/* W[t] for t >= 16, computed in place in the 16-word ring w. */
#define SCHED(t) \
    (w[(t) & 15] += SSIG1(w[((t) - 2) & 15]) + w[((t) - 7) & 15] + SSIG0(w[((t) - 15) & 15]))

#define ROUND(a, b, c, d, e, f, g, h, t, wt)                     \
    do {                                                         \
        uint32_t t1_ = (h) + BSIG1(e) + CH(e, f, g) + K[t] + (wt); \
        uint32_t t2_ = BSIG0(a) + MAJ(a, b, c);                  \
        (d) += t1_;                                              \
        (h) = t1_ + t2_;                                         \
    } while (0)

/* Eight rounds starting at t; the variables rotate by one each round. */
#define ROUNDS8(t, W)                                  \
    do {                                               \
        ROUND(a, b, c, d, e, f, g, h, (t) + 0, W((t) + 0)); \
        ROUND(h, a, b, c, d, e, f, g, (t) + 1, W((t) + 1)); \
        ROUND(g, h, a, b, c, d, e, f, (t) + 2, W((t) + 2)); \
        ROUND(f, g, h, a, b, c, d, e, (t) + 3, W((t) + 3)); \
        ROUND(e, f, g, h, a, b, c, d, (t) + 4, W((t) + 4)); \
        ROUND(d, e, f, g, h, a, b, c, (t) + 5, W((t) + 5)); \
        ROUND(c, d, e, f, g, h, a, b, (t) + 6, W((t) + 6)); \
        ROUND(b, c, d, e, f, g, h, a, (t) + 7, W((t) + 7)); \
    } while (0)

#define WLOAD(t) (w[(t)])

/* Processes nblocks consecutive 64-byte blocks of p into state. */
static void compress_portable(uint32_t state[8], const unsigned char *p, size_t nblocks)
{
    uint32_t w[16];
    while (nblocks--) {
        for (int i = 0; i < 16; i++)
            w[i] = load_be32(p + 4 * i);
        uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
        uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
        ROUNDS8(0, WLOAD);
        ROUNDS8(8, WLOAD);
        ROUNDS8(16, SCHED);
        ROUNDS8(24, SCHED);
        ROUNDS8(32, SCHED);
        ROUNDS8(40, SCHED);
        ROUNDS8(48, SCHED);
        ROUNDS8(56, SCHED);
        state[0] += a; state[1] += b; state[2] += c; state[3] += d;
        state[4] += e; state[5] += f; state[6] += g; state[7] += h;
        p += 64;
    }
}

#ifdef HR_SHA256_X86
/*
 * The SHA extensions keep the eight working variables in two registers,
 * ABEF and CDGH (A in the highest lane). sha256rnds2 does two rounds with the
 * two W+K words in the low lanes of its third operand; sha256msg1/msg2 do the
 * two halves of the message schedule (FIPS 180-4, 6.2.2 step 1) four words at
 * a time. Group g below is rounds 4g .. 4g+3; its words W[4g .. 4g+3] sit in
 * m[g % 4], which the schedule refills for group g + 4.
 */
#define SHANI_ATTR __attribute__((target("sha,sse4.1,ssse3")))

/* Rounds 4g .. 4g+3 on words wg. */
#define SHANI_4ROUNDS(g, wg)                                                    \
    do {                                                                        \
        __m128i wk_ = _mm_add_epi32((wg), _mm_loadu_si128((const __m128i *)&K[4 * (g)])); \
        cdgh = _mm_sha256rnds2_epu32(cdgh, abef, wk_);                         \
        wk_ = _mm_shuffle_epi32(wk_, 0x0E);                                     \
        abef = _mm_sha256rnds2_epu32(abef, cdgh, wk_);                         \
    } while (0)

/* Finishes the words of the group after g: next += W[t-7] terms, then
 * sigma1 terms (msg2). cur holds group g, prev group g - 1. */
#define SHANI_MSG2(next, cur, prev)                                             \
    do {                                                                        \
        (next) = _mm_add_epi32((next), _mm_alignr_epi8((cur), (prev), 4));      \
        (next) = _mm_sha256msg2_epu32((next), (cur));                           \
    } while (0)

SHANI_ATTR
static void compress_shani(uint32_t state[8], const unsigned char *p, size_t nblocks)
{
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
    /* (a,b,c,d), (e,f,g,h) in lanes 0..3 -> abef = (f,e,b,a), cdgh = (h,g,d,c). */
    __m128i t = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&state[0]), 0xB1);
    __m128i cdgh = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&state[4]), 0x1B);
    __m128i abef = _mm_alignr_epi8(t, cdgh, 8);
    cdgh = _mm_blend_epi16(cdgh, t, 0xF0);

    while (nblocks--) {
        const __m128i abef0 = abef, cdgh0 = cdgh;
        __m128i m0 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 0)), bswap);
        __m128i m1 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16)), bswap);
        __m128i m2 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 32)), bswap);
        __m128i m3 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 48)), bswap);

        /* msg1 on group g-1 once group g is known (g = 1 .. 12); msg2 for
         * group g+1 once group g is known (g = 3 .. 14). */
        SHANI_4ROUNDS(0, m0);
        SHANI_4ROUNDS(1, m1); m0 = _mm_sha256msg1_epu32(m0, m1);
        SHANI_4ROUNDS(2, m2); m1 = _mm_sha256msg1_epu32(m1, m2);
        SHANI_4ROUNDS(3, m3); SHANI_MSG2(m0, m3, m2); m2 = _mm_sha256msg1_epu32(m2, m3);
        SHANI_4ROUNDS(4, m0); SHANI_MSG2(m1, m0, m3); m3 = _mm_sha256msg1_epu32(m3, m0);
        SHANI_4ROUNDS(5, m1); SHANI_MSG2(m2, m1, m0); m0 = _mm_sha256msg1_epu32(m0, m1);
        SHANI_4ROUNDS(6, m2); SHANI_MSG2(m3, m2, m1); m1 = _mm_sha256msg1_epu32(m1, m2);
        SHANI_4ROUNDS(7, m3); SHANI_MSG2(m0, m3, m2); m2 = _mm_sha256msg1_epu32(m2, m3);
        SHANI_4ROUNDS(8, m0); SHANI_MSG2(m1, m0, m3); m3 = _mm_sha256msg1_epu32(m3, m0);
        SHANI_4ROUNDS(9, m1); SHANI_MSG2(m2, m1, m0); m0 = _mm_sha256msg1_epu32(m0, m1);
        SHANI_4ROUNDS(10, m2); SHANI_MSG2(m3, m2, m1); m1 = _mm_sha256msg1_epu32(m1, m2);
        SHANI_4ROUNDS(11, m3); SHANI_MSG2(m0, m3, m2); m2 = _mm_sha256msg1_epu32(m2, m3);
        SHANI_4ROUNDS(12, m0); SHANI_MSG2(m1, m0, m3); m3 = _mm_sha256msg1_epu32(m3, m0);
        SHANI_4ROUNDS(13, m1); SHANI_MSG2(m2, m1, m0);
        SHANI_4ROUNDS(14, m2); SHANI_MSG2(m3, m2, m1);
        SHANI_4ROUNDS(15, m3);

        abef = _mm_add_epi32(abef, abef0);
        cdgh = _mm_add_epi32(cdgh, cdgh0);
        p += 64;
    }

    /* Back to (a,b,c,d), (e,f,g,h). */
    t = _mm_shuffle_epi32(abef, 0x1B);   /* (a,b,e,f) */
    cdgh = _mm_shuffle_epi32(cdgh, 0xB1); /* (g,h,c,d) */
    _mm_storeu_si128((__m128i *)&state[0], _mm_blend_epi16(t, cdgh, 0xF0));
    _mm_storeu_si128((__m128i *)&state[4], _mm_alignr_epi8(cdgh, t, 8));
}

static int cpu_has_shani(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return 0;
    int sse = (c & bit_SSSE3) && (c & bit_SSE4_1);
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
        return 0;
    return sse && (b & bit_SHA);
}
#endif

/* 0: not yet probed, 1: portable, 2: SHA extensions. Probing twice from two
 * threads is harmless: both store the same value. */
static atomic_int impl_choice;

void hr_sha256_force_portable_(int on); /* test hook, declared in the test */
void hr_sha256_force_portable_(int on)
{
    atomic_store_explicit(&impl_choice, on ? 1 : 0, memory_order_relaxed);
}

static void compress(uint32_t state[8], const unsigned char *p, size_t nblocks)
{
    int choice = atomic_load_explicit(&impl_choice, memory_order_relaxed);
    if (choice == 0) {
        choice = 1;
#ifdef HR_SHA256_X86
        if (cpu_has_shani())
            choice = 2;
#endif
        atomic_store_explicit(&impl_choice, choice, memory_order_relaxed);
    }
#ifdef HR_SHA256_X86
    if (choice == 2) {
        compress_shani(state, p, nblocks);
        return;
    }
#endif
    compress_portable(state, p, nblocks);
}

void hr_sha256_init(hr_sha256 *h)
{
    /* FIPS 180-4, 5.3.3: fractional parts of the square roots of the first
     * eight primes. */
    static const uint32_t H0[8] = {
        0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
        0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u,
    };
    memcpy(h->state, H0, sizeof H0);
    h->bytes = 0;
    h->fill = 0;
}

void hr_sha256_update(hr_sha256 *h, const void *data, size_t len)
{
    const unsigned char *p = data;
    if (len == 0)
        return;
    h->bytes += len;
    if (h->fill > 0) {
        size_t take = 64 - h->fill;
        if (take > len)
            take = len;
        memcpy(h->block + h->fill, p, take);
        h->fill += take;
        p += take;
        len -= take;
        if (h->fill < 64)
            return;
        compress(h->state, h->block, 1);
        h->fill = 0;
    }
    size_t whole = len / 64;
    if (whole > 0) {
        compress(h->state, p, whole);
        p += whole * 64;
        len -= whole * 64;
    }
    if (len > 0) {
        memcpy(h->block, p, len);
        h->fill = len;
    }
}

void hr_sha256_final(hr_sha256 *h, unsigned char digest[32])
{
    /* FIPS 180-4, 5.1.1: append 0x80, zeros to 56 mod 64, then the message
     * length in bits as a 64-bit big-endian integer. */
    uint64_t bits = h->bytes * 8u;
    h->block[h->fill++] = 0x80;
    if (h->fill > 56) {
        memset(h->block + h->fill, 0, 64 - h->fill);
        compress(h->state, h->block, 1);
        h->fill = 0;
    }
    memset(h->block + h->fill, 0, 56 - h->fill);
    store_be32(h->block + 56, (uint32_t)(bits >> 32));
    store_be32(h->block + 60, (uint32_t)bits);
    compress(h->state, h->block, 1);
    for (int i = 0; i < 8; i++)
        store_be32(digest + 4 * i, h->state[i]);
    /* Leave no message-dependent state behind in the caller's struct. */
    memset(h, 0, sizeof *h);
}

void hr_hex_encode(const unsigned char digest[32], char hex[65])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = digits[digest[i] >> 4];
        hex[2 * i + 1] = digits[digest[i] & 15];
    }
    hex[64] = '\0';
}

void hr_sha256_hex(const void *data, size_t len, char hex[65])
{
    hr_sha256 h;
    unsigned char digest[32];
    hr_sha256_init(&h);
    hr_sha256_update(&h, data, len);
    hr_sha256_final(&h, digest);
    hr_hex_encode(digest, hex);
}
