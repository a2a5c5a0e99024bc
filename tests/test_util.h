/*
 * tests/test_util.h: the small harness every test executable uses.
 *
 *     static void test_empty_string_gives_cls_sep(void) { ... CHECK(n == 2); }
 *     int main(void) { RUN(test_empty_string_gives_cls_sep); return test_summary(); }
 *
 * CHECK records a failure (with file, line and an optional message) and goes
 * on; test_summary prints the counts and returns the exit status: 0 when all
 * passed, 1 otherwise. test_skip() returns 77, which ctest reports as skipped.
 */
#ifndef HYPORANK_TEST_UTIL_H
#define HYPORANK_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_failures_;
static int test_checks_;
static int test_cases_;

#define CHECK(cond) CHECKF(cond, "%s", "")
#define CHECKF(cond, ...)                                                      \
    do {                                                                       \
        test_checks_++;                                                        \
        if (!(cond)) {                                                         \
            test_failures_++;                                                  \
            fprintf(stderr, "%s:%d: check failed: %s ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                      \
            fputc('\n', stderr);                                               \
        }                                                                      \
    } while (0)

#define RUN(fn)                                                                \
    do {                                                                       \
        int before_ = test_failures_;                                          \
        test_cases_++;                                                         \
        fn();                                                                  \
        fprintf(stderr, "%s %s\n", test_failures_ == before_ ? "ok  " : "FAIL", #fn); \
    } while (0)

static inline int test_summary(void)
{
    fprintf(stderr, "%d cases, %d checks, %d failed\n", test_cases_, test_checks_, test_failures_);
    return test_failures_ == 0 ? 0 : 1;
}

static inline int test_skip(const char *why)
{
    fprintf(stderr, "skipped: %s\n", why);
    return 77;
}

/* A path under the fixtures folder ($HR_FIXTURES, set by ctest, else
 * tests/fixtures relative to the working directory). Static buffer. */
static inline const char *test_fixture(const char *name)
{
    static char buf[4096];
    const char *dir = getenv("HR_FIXTURES");
    snprintf(buf, sizeof buf, "%s/%s", dir ? dir : "tests/fixtures", name);
    return buf;
}

/* The model folder ($HYPORANK_MODEL, set by ctest). */
static inline const char *test_model_dir(void)
{
    const char *dir = getenv("HYPORANK_MODEL");
    return dir ? dir : "models/all-MiniLM-L6-v2";
}

/* The whole file as a NUL-terminated string (free it), or NULL when it
 * cannot be opened or read. */
static inline char *test_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    long n = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (n >= 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) != NULL) {
        if (fread(buf, 1, (size_t)n, f) == (size_t)n) {
            buf[n] = '\0';
        } else {
            free(buf);
            buf = NULL;
        }
    }
    fclose(f);
    return buf;
}

#endif
