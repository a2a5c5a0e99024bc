/*
 * tests/test_hash.c: SHA-256 against the FIPS 180-4 / NIST example vectors,
 * padding boundaries, and streaming in odd chunks against one-shot.
 */
#include "hyporank/hash.h"
#include "test_util.h"

#include <time.h>

/* Internal hook in host/core/hash.c (not public API): 1 forces the portable C
 * block function, 0 goes back to choosing by CPUID (SHA extensions where the
 * CPU has them). The vectors run through both. */
void hr_sha256_force_portable_(int on);
static const char *impl_name = "auto";

static void check_hex(const void *data, size_t len, const char *want)
{
    char hex[65];
    hr_sha256_hex(data, len, hex);
    CHECKF(strcmp(hex, want) == 0, "len %zu: got %s, want %s", len, hex, want);
}

static void test_empty_string_matches_nist(void)
{
    check_hex("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_abc_matches_nist(void)
{
    check_hex("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_448_bit_message_matches_nist(void)
{
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    CHECK(strlen(m) * 8 == 448);
    check_hex(m, strlen(m), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_896_bit_message_matches_nist(void)
{
    const char *m = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
                    "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    CHECK(strlen(m) * 8 == 896);
    check_hex(m, strlen(m), "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

static void test_one_million_a_matches_nist(void)
{
    const char *want = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
    size_t n = 1000000;
    char *buf = malloc(n);
    CHECK(buf != NULL);
    if (!buf)
        return;
    memset(buf, 'a', n);
    check_hex(buf, n, want);
    free(buf);

    /* The same message fed one byte at a time, as NIST's test describes. */
    hr_sha256 h;
    unsigned char d[32];
    char hex[65];
    hr_sha256_init(&h);
    for (size_t i = 0; i < n; i++)
        hr_sha256_update(&h, "a", 1);
    hr_sha256_final(&h, d);
    hr_hex_encode(d, hex);
    CHECKF(strcmp(hex, want) == 0, "bytewise: got %s", hex);
}

/* Lengths around the padding boundaries (55 fits the length in the same
 * block, 56 does not); expected values from coreutils sha256sum. */
static void test_lengths_around_padding_boundaries_match_sha256sum(void)
{
    static const struct {
        size_t n;
        const char *hex;
    } cases[] = {
        {55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
        {56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
        {63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"},
        {64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
        {119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb"},
        {120, "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c"},
    };
    char buf[128];
    memset(buf, 'a', sizeof buf);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_hex(buf, cases[i].n, cases[i].hex);
}

static void test_streaming_in_odd_chunks_equals_one_shot(void)
{
    /* 10007 bytes (prime, so no chunk size divides it) of a byte pattern;
     * digest from Python's hashlib. */
    enum { N = 10007 };
    static unsigned char msg[N];
    for (size_t i = 0; i < N; i++)
        msg[i] = (unsigned char)((i * 7 + 3) & 255);
    const char *want = "a9183d620a0eed0f01e505e2632d536cf1759163c6938203abc38afe286c37a2";
    check_hex(msg, N, want);

    static const size_t chunks[] = {1, 2, 3, 7, 13, 31, 55, 56, 63, 64, 65, 127, 129, 1000, 4099};
    for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
        hr_sha256 h;
        unsigned char d[32];
        char hex[65];
        hr_sha256_init(&h);
        for (size_t off = 0; off < N;) {
            size_t take = chunks[c];
            if (take > N - off)
                take = N - off;
            hr_sha256_update(&h, msg + off, take);
            off += take;
        }
        hr_sha256_final(&h, d);
        hr_hex_encode(d, hex);
        CHECKF(strcmp(hex, want) == 0, "chunk %zu: got %s", chunks[c], hex);
    }

    /* Irregular chunk sizes, including zero-length updates. */
    hr_sha256 h;
    unsigned char d[32];
    char hex[65];
    hr_sha256_init(&h);
    size_t off = 0, step = 0;
    while (off < N) {
        size_t take = (step * step * 17 + 5) % 211; /* 0..210 */
        if (take > N - off)
            take = N - off;
        hr_sha256_update(&h, msg + off, take);
        off += take;
        step++;
    }
    hr_sha256_final(&h, d);
    hr_hex_encode(d, hex);
    CHECKF(strcmp(hex, want) == 0, "irregular chunks: got %s", hex);
}

static void test_hex_encode_writes_lower_case_and_nul(void)
{
    unsigned char d[32];
    char hex[66];
    for (int i = 0; i < 32; i++)
        d[i] = (unsigned char)(i * 8 + 0x0f);
    memset(hex, 'x', sizeof hex);
    hr_hex_encode(d, hex);
    CHECK(hex[64] == '\0');
    CHECK(hex[65] == 'x');
    CHECK(strncmp(hex, "0f171f272f373f47", 16) == 0);
    CHECK(strncmp(hex + 48, "cfd7dfe7eff7ff07", 16) == 0);
}

/* Not a pass/fail check: prints the throughput on a 90 MB buffer (the size of
 * the MiniLM weights hashed at model load). */
static void test_hashing_90_mb_reports_throughput(void)
{
    size_t n = 90u << 20;
    unsigned char *buf = malloc(n);
    CHECK(buf != NULL);
    if (!buf)
        return;
    for (size_t i = 0; i < n; i++)
        buf[i] = (unsigned char)(i * 2654435761u >> 24);
    struct timespec t0, t1;
    char hex[65];
    clock_gettime(CLOCK_MONOTONIC, &t0);
    hr_sha256_hex(buf, n, hex);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    fprintf(stderr, "  sha256 (%s): 90 MiB in %.3f s, %.0f MB/s\n", impl_name, s,
            (double)n / 1e6 / s);
    CHECK(strlen(hex) == 64);
    free(buf);
}

static void run_all(void)
{
    RUN(test_empty_string_matches_nist);
    RUN(test_abc_matches_nist);
    RUN(test_448_bit_message_matches_nist);
    RUN(test_896_bit_message_matches_nist);
    RUN(test_one_million_a_matches_nist);
    RUN(test_lengths_around_padding_boundaries_match_sha256sum);
    RUN(test_streaming_in_odd_chunks_equals_one_shot);
    RUN(test_hex_encode_writes_lower_case_and_nul);
    RUN(test_hashing_90_mb_reports_throughput);
}

int main(void)
{
    fprintf(stderr, "block function chosen by CPUID:\n");
    run_all();
    fprintf(stderr, "portable C block function:\n");
    hr_sha256_force_portable_(1);
    impl_name = "portable";
    run_all();
    hr_sha256_force_portable_(0);
    return test_summary();
}
