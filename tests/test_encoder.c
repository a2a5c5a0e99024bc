/*
 * tests/test_encoder.c: the CPU encoder against sentence-transformers.
 *
 * Fixture: tests/fixtures/embedding-texts.jsonl and embedding-expected.npy,
 * made by tests/fixtures/gen-embedding-fixture.py (see its docstring).
 */
#include "backends/cpu/encoder_cpu.h"
#include "hyporank/encoder.h"
#include "hyporank/model.h"
#include "hyporank/npy.h"
#include "test_texts.h"
#include "test_util.h"

#include <cjson/cJSON.h>
#include <math.h>

/* Both sides compute in float32 with different summation orders; measured
 * agreement is ~1e-7 from 1. The bar is cosine >= 0.99999. */
#define MIN_COSINE 0.99999

static hr_model *model;

static double cosine(const float *a, const float *b, int d)
{
    double ab = 0, aa = 0, bb = 0;
    for (int i = 0; i < d; i++) {
        ab += (double)a[i] * b[i];
        aa += (double)a[i] * a[i];
        bb += (double)b[i] * b[i];
    }
    return ab / (sqrt(aa) * sqrt(bb) + 1e-30);
}

static void test_cpu_embeddings_match_sentence_transformers(void)
{
    size_t n = 0, rows = 0, cols = 0;
    char **texts = read_texts(test_fixture("embedding-texts.jsonl"), &n);
    float *expected = NULL;
    char err[512] = "";
    CHECKF(texts && n >= 200, "fixture texts: %zu", n);
    CHECKF(hr_npy_read_f32(test_fixture("embedding-expected.npy"), &expected, &rows, &cols, err,
                           sizeof err) == HR_OK, "%s", err);
    if (!texts || !expected) return;
    CHECK(rows == n && cols == (size_t)hr_model_dim(model));

    hr_encoder *enc = NULL;
    CHECK(hr_encoder_create(model, HR_DEVICE_CPU, 2, &enc, err, sizeof err) == HR_OK);
    float *got = malloc(n * cols * sizeof *got);
    CHECKF(hr_encoder_embed(enc, (const char *const *)texts, NULL, n, got, NULL, NULL, err,
                            sizeof err) == HR_OK, "%s", err);
    double worst = 1.0;
    size_t worst_i = 0, bad = 0;
    for (size_t i = 0; i < n; i++) {
        double c = cosine(got + i * cols, expected + i * cols, (int)cols);
        if (c < worst) worst = c, worst_i = i;
        if (c < MIN_COSINE) bad++;
    }
    fprintf(stderr, "  %zu texts, worst cosine %.9f (text %zu)\n", n, worst, worst_i);
    CHECKF(bad == 0, "%zu texts below cosine %.5f; worst %.9f: \"%.80s\"", bad, MIN_COSINE, worst,
           texts[worst_i]);
    /* The model normalises: every row has unit length. */
    for (size_t i = 0; i < n; i++) {
        double ss = 0;
        for (size_t c = 0; c < cols; c++) ss += (double)got[i * cols + c] * got[i * cols + c];
        CHECKF(fabs(sqrt(ss) - 1.0) < 1e-5, "row %zu has norm %f", i, sqrt(ss));
    }
    hr_encoder_destroy(enc);
    free(got);
    free(expected);
    free_texts(texts, n);
}

static void test_thread_count_does_not_change_embeddings(void)
{
    const char *texts[] = {"one", "two words", "a somewhat longer text with more tokens in it",
                           "", "coronavirus lockdown in melbourne", "x y z"};
    const size_t n = sizeof texts / sizeof texts[0];
    const int d = hr_model_dim(model);
    float *a = malloc(n * d * sizeof *a), *b = malloc(n * d * sizeof *b);
    char err[256];
    hr_encoder *e1, *e2;
    CHECK(hr_encoder_create(model, HR_DEVICE_CPU, 1, &e1, err, sizeof err) == HR_OK);
    CHECK(hr_encoder_create(model, HR_DEVICE_CPU, 3, &e2, err, sizeof err) == HR_OK);
    CHECK(hr_encoder_embed(e1, texts, NULL, n, a, NULL, NULL, err, sizeof err) == HR_OK);
    CHECK(hr_encoder_embed(e2, texts, NULL, n, b, NULL, NULL, err, sizeof err) == HR_OK);
    CHECK(memcmp(a, b, n * d * sizeof *a) == 0);
    hr_encoder_destroy(e1);
    hr_encoder_destroy(e2);
    free(a);
    free(b);
}

static void test_batch_companions_do_not_change_an_embedding(void)
{
    /* A text embedded alone and packed with others must agree: packing must
     * not leak attention across sequences. */
    const char *alone[] = {"the same text in two settings"};
    const char *mixed[] = {"short", "the same text in two settings",
                           "another sentence that is quite a bit longer than the others here"};
    const int d = hr_model_dim(model);
    float *a = malloc(d * sizeof *a), *b = malloc(3 * d * sizeof *b);
    char err[256];
    hr_encoder *enc;
    CHECK(hr_encoder_create(model, HR_DEVICE_CPU, 1, &enc, err, sizeof err) == HR_OK);
    CHECK(hr_encoder_embed(enc, alone, NULL, 1, a, NULL, NULL, err, sizeof err) == HR_OK);
    CHECK(hr_encoder_embed(enc, mixed, NULL, 3, b, NULL, NULL, err, sizeof err) == HR_OK);
    CHECKF(cosine(a, b + d, d) > 0.9999999, "cosine %.9f", cosine(a, b + d, d));
    hr_encoder_destroy(enc);
    free(a);
    free(b);
}

static void test_cuda_device_without_gpu_says_so(void)
{
    if (hr_device_usable(HR_DEVICE_CUDA, NULL)) return; /* tests/test_backends.c covers that case */
    hr_encoder *enc = NULL;
    char err[256] = "";
    hr_status st = hr_encoder_create(model, HR_DEVICE_CUDA, 1, &enc, err, sizeof err);
    CHECK(st == HR_ERR_NO_DEVICE || st == HR_ERR_UNSUPPORTED);
    CHECK(enc == NULL);
    CHECKF(strstr(err, "cuda") != NULL, "message: %s", err);
    /* auto still works */
    CHECK(hr_encoder_create(model, HR_DEVICE_AUTO, 1, &enc, err, sizeof err) == HR_OK);
    CHECK(enc && hr_encoder_device(enc) == HR_DEVICE_CPU);
    hr_encoder_destroy(enc);
}

int main(void)
{
    char err[1024] = "";
    if (hr_model_load(test_model_dir(), &model, err, sizeof err) != HR_OK) {
        fprintf(stderr, "cannot load the model (run scripts/fetch-model.sh): %s\n", err);
        return 1;
    }
    RUN(test_cpu_embeddings_match_sentence_transformers);
    RUN(test_thread_count_does_not_change_embeddings);
    RUN(test_batch_companions_do_not_change_an_embedding);
    RUN(test_cuda_device_without_gpu_says_so);
    hr_model_destroy(model);
    return test_summary();
}
