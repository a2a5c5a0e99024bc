/*
 * tests/test_encoder_gpu.c: the CUDA encoder (host/backends/cuda/encoder_cuda.h) against the
 * CPU encoder (host/backends/cpu/encoder_cpu.c, the specification): each kernel against
 * its CPU twin on random data, then the whole forward pass of the real model
 * on a packed batch of varied texts, the two-slot submit/wait API, and whole
 * embed calls through hr_encoder_embed (the GPU driver, host/backends/cuda/encoder_gpu.c)
 * with --device cuda against --device cpu: the committed fixture texts,
 * thousands of generated texts of mixed length (several chunks and batches,
 * tokenising overlapped with the GPU), texts past the model's limit, one
 * text, an empty text; and that auto picks the GPU. Skips (exit 77) where no
 * GPU is present.
 *
 * The CPU twins of the steps that host/backends/cpu/encoder_cpu.c keeps inside
 * hr_cpu_forward (static there) are written out below, step for step as
 * encoder_cpu.c does them, reusing its exported hr_cpu_layernorm_rows,
 * hr_cpu_l2_normalize_rows and host/core/fastmath.h's hr_gelu.
 */
#include "backends/cpu/encoder_cpu.h"
#include "backends/cuda/encoder_cuda.h"
#include "core/fastmath.h"
#include "backends/cuda/cuda.h"
#include "hyporank/model.h"
#include "hyporank/tokenizer.h"
#include "test_texts.h"
#include "test_util.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>

static unsigned rng_state = 4242u;
static float frand(void) /* uniform in [-1, 1) */
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return (float)(rng_state >> 8) / 8388608.f - 1.f;
}

static void fill(float *v, size_t n, float scale, float shift)
{
    for (size_t i = 0; i < n; i++) v[i] = scale * frand() + shift;
}

static float max_abs_diff(const float *a, const float *b, size_t n)
{
    float m = 0.f;
    for (size_t i = 0; i < n; i++) {
        const float d = fabsf(a[i] - b[i]);
        if (!(d <= m)) m = isnan(d) ? INFINITY : d; /* a NaN counts as infinitely far */
    }
    return m;
}

/* Sequence lengths for the packed-batch kernels: a single token, sizes either
 * side of the attention tile (32) and of a query pass (32), and the longest
 * (512), so every edge of the tiling is crossed. */
static const int lens_all[] = {1, 2, 31, 32, 33, 64, 100, 7, 512, 3};
#define N_LENS ((int)(sizeof lens_all / sizeof lens_all[0]))

static int *make_offsets(const int *lens, int n_seq)
{
    int *off = malloc(((size_t)n_seq + 1) * sizeof *off);
    off[0] = 0;
    for (int s = 0; s < n_seq; s++) off[s + 1] = off[s] + lens[s];
    return off;
}

/* ---- CPU twins ---- */

/* The embedding loop of hr_cpu_forward, then hr_cpu_layernorm_rows.
 * x: (T, h) out. */
static void embed_ref(const int32_t *ids, const int *offsets, int n_seq, const float *word,
                      const float *pos, const float *type0, const float *g, const float *b,
                      float eps, int h, float *x)
{
    for (int s = 0; s < n_seq; s++)
        for (int t = offsets[s]; t < offsets[s + 1]; t++) {
            const float *we = word + (size_t)ids[t] * h, *pe = pos + (size_t)(t - offsets[s]) * h;
            for (int c = 0; c < h; c++) x[(size_t)t * h + c] = we[c] + pe[c] + type0[c];
        }
    hr_cpu_layernorm_rows(x, offsets[n_seq], h, g, b, eps);
}

/* residual_layernorm of host/backends/cpu/encoder_cpu.c. x, y: (rows, h). */
static void residual_layernorm_ref(float *x, const float *y, const float *bias, int rows, int h,
                                   const float *g, const float *b, float eps)
{
    for (size_t i = 0; i < (size_t)rows * h; i++) x[i] += y[i] + bias[i % (size_t)h];
    hr_cpu_layernorm_rows(x, rows, h, g, b, eps);
}

/* bias_gelu_rows of host/backends/cpu/encoder_cpu.c. y: (rows, cols). */
static void bias_gelu_ref(float *y, const float *b, int rows, int cols)
{
    for (size_t i = 0; i < (size_t)rows * cols; i++) y[i] = hr_gelu(y[i] + b[i % (size_t)cols]);
}

/* add_bias_rows on qkv, then attention of host/backends/cpu/encoder_cpu.c, written with
 * loops (in double, so that the reference's own rounding is negligible next
 * to the float32 GPU kernel's). qkv: (T, 3h), ctx: (T, h). */
static void attention_ref(const float *qkv, const float *qkv_b, const int *offsets, int n_seq,
                          int h, int heads, float *ctx)
{
    const int dh = h / heads, ld = 3 * h;
    const double scale = 1.0 / sqrt((double)dh);
    double *p = malloc(512 * sizeof *p);
    for (int s = 0; s < n_seq; s++) {
        const int start = offsets[s], len = offsets[s + 1] - start;
        for (int hd = 0; hd < heads; hd++)
            for (int i = 0; i < len; i++) {
                const float *q = qkv + (size_t)(start + i) * ld + hd * dh;
                double mx = -INFINITY, sum = 0.0;
                for (int j = 0; j < len; j++) {
                    const float *k = qkv + (size_t)(start + j) * ld + h + hd * dh;
                    double d = 0.0;
                    for (int c = 0; c < dh; c++)
                        d += ((double)q[c] + qkv_b[hd * dh + c]) * ((double)k[c] + qkv_b[h + hd * dh + c]);
                    p[j] = d * scale;
                    mx = p[j] > mx ? p[j] : mx;
                }
                for (int j = 0; j < len; j++) sum += p[j] = exp(p[j] - mx);
                for (int c = 0; c < dh; c++) {
                    double o = 0.0;
                    for (int j = 0; j < len; j++)
                        o += p[j] * ((double)qkv[(size_t)(start + j) * ld + 2 * h + hd * dh + c] +
                                     qkv_b[2 * h + hd * dh + c]);
                    ctx[(size_t)(start + i) * h + hd * dh + c] = (float)(o / sum);
                }
            }
    }
    free(p);
}

/* pool (HR_POOL_MEAN) of host/backends/cpu/encoder_cpu.c, then hr_cpu_l2_normalize_rows.
 * x: (T, h), out: (n_seq, h). */
static void mean_pool_ref(const float *x, const int *offsets, int n_seq, int h, int normalize,
                          float *out)
{
    for (int s = 0; s < n_seq; s++) {
        const int len = offsets[s + 1] - offsets[s];
        float *o = out + (size_t)s * h;
        memset(o, 0, (size_t)h * sizeof *o);
        for (int t = offsets[s]; t < offsets[s + 1]; t++)
            for (int c = 0; c < h; c++) o[c] += x[(size_t)t * h + c];
        for (int c = 0; c < h; c++) o[c] /= (float)len;
    }
    if (normalize) hr_cpu_l2_normalize_rows(out, n_seq, h);
}

/* ---- each kernel against its twin ---- */

static void test_embed_layernorm_kernel_matches_cpu(void)
{
    const int h = 384, vocab = 97, n_pos = 512;
    int *off = make_offsets(lens_all, N_LENS);
    const int T = off[N_LENS];
    int32_t *ids = malloc((size_t)T * sizeof *ids);
    float *word = malloc((size_t)vocab * h * sizeof *word), *pos = malloc((size_t)n_pos * h * sizeof *pos);
    float *type0 = malloc(h * sizeof *type0), *g = malloc(h * sizeof *g), *b = malloc(h * sizeof *b);
    float *cpu = malloc((size_t)T * h * sizeof *cpu), *gpu = malloc((size_t)T * h * sizeof *gpu);
    for (int t = 0; t < T; t++) ids[t] = (int32_t)((rng_state = rng_state * 1664525u + 1013904223u) >> 8) % vocab;
    fill(word, (size_t)vocab * h, 1.f, 0.f), fill(pos, (size_t)n_pos * h, 0.5f, 0.f);
    fill(type0, h, 0.1f, 0.f), fill(g, h, 0.2f, 1.f), fill(b, h, 0.1f, 0.f);
    char err[512] = "";
    embed_ref(ids, off, N_LENS, word, pos, type0, g, b, 1e-12f, h, cpu);
    CHECKF(hr_cuda_embed_layernorm_host(ids, off, N_LENS, word, vocab, pos, n_pos, type0, g, b,
                                        1e-12f, h, gpu, err, sizeof err) == HR_OK, "%s", err);
    /* LayerNorm outputs are O(1) (|gamma| <= 1.2); the two sides sum in
     * different orders (warp tree vs 16 interleaved partials), a few ulp per
     * element: 1e-5 absolute, as tests/test_kernels_gpu.c, still catches a
     * wrong position, id or row. */
    float d = max_abs_diff(cpu, gpu, (size_t)T * h);
    CHECKF(d <= 1e-5f, "max difference %g", d);
    free(off), free(ids), free(word), free(pos), free(type0), free(g), free(b), free(cpu), free(gpu);
}

static void test_residual_layernorm_kernel_matches_cpu(void)
{
    const int rows = 777, h = 384;
    const size_t n = (size_t)rows * h;
    float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y), *gpu = malloc(n * sizeof *gpu);
    float *bias = malloc(h * sizeof *bias), *g = malloc(h * sizeof *g), *b = malloc(h * sizeof *b);
    fill(x, n, 3.f, 0.2f), fill(y, n, 2.f, 0.f), fill(bias, h, 0.3f, 0.f);
    fill(g, h, 0.2f, 1.f), fill(b, h, 0.1f, 0.f);
    memcpy(gpu, x, n * sizeof *x);
    char err[512] = "";
    residual_layernorm_ref(x, y, bias, rows, h, g, b, 1e-12f);
    CHECKF(hr_cuda_residual_layernorm_host(gpu, y, bias, rows, h, g, b, 1e-12f, err, sizeof err) == HR_OK,
           "%s", err);
    /* Same additions in the same order; only the LayerNorm sums differ in
     * order: 1e-5 absolute on O(1) outputs, as above. */
    float d = max_abs_diff(x, gpu, n);
    CHECKF(d <= 1e-5f, "max difference %g", d);
    free(x), free(y), free(gpu), free(bias), free(g), free(b);
}

static void test_bias_gelu_kernel_matches_cpu(void)
{
    const int rows = 300, cols = 1536;
    const size_t n = (size_t)rows * cols;
    float *cpu = malloc(n * sizeof *cpu), *gpu = malloc(n * sizeof *gpu), *b = malloc(cols * sizeof *b);
    fill(cpu, n, 6.f, 0.f), fill(b, cols, 1.f, 0.f); /* inputs in about [-7, 7]: both tails */
    memcpy(gpu, cpu, n * sizeof *cpu);
    char err[512] = "";
    bias_gelu_ref(cpu, b, rows, cols);
    CHECKF(hr_cuda_bias_gelu_host(gpu, b, rows, cols, err, sizeof err) == HR_OK, "%s", err);
    /* CUDA's erff is within 2 ulp; hr_gelu is within a few ulp of the exact
     * GELU (tests/test_fastmath.c); the product 0.5 v (1 + erf) adds two
     * roundings. So a few float ulp relative: 1e-6 (1 + |ref|) allows ~8 ulp
     * for large outputs plus 1e-6 absolute for the far negative tail, where
     * 1 + erff(v / sqrt 2) cancels (the output there is below 2e-6 anyway). */
    float worst = 0.f;
    for (size_t i = 0; i < n; i++) {
        const float excess = fabsf(cpu[i] - gpu[i]) - 1e-6f * (1.f + fabsf(cpu[i]));
        if (!(excess <= worst)) worst = isnan(excess) ? INFINITY : excess;
    }
    CHECKF(worst <= 0.f, "difference exceeds the bound by %g", worst);
    free(cpu), free(gpu), free(b);
}

static void attention_case(int h, int heads)
{
    int *off = make_offsets(lens_all, N_LENS);
    const int T = off[N_LENS];
    float *qkv = malloc((size_t)T * 3 * h * sizeof *qkv), *qkv_b = malloc((size_t)3 * h * sizeof *qkv_b);
    float *cpu = malloc((size_t)T * h * sizeof *cpu), *gpu = malloc((size_t)T * h * sizeof *gpu);
    /* Components of q, k, v (bias included) in [-2, 2]: scaled scores of
     * order 1 with a spread of about 1, so the softmax is far from uniform. */
    fill(qkv, (size_t)T * 3 * h, 1.5f, 0.f), fill(qkv_b, (size_t)3 * h, 0.5f, 0.f);
    char err[512] = "";
    attention_ref(qkv, qkv_b, off, N_LENS, h, heads, cpu);
    CHECKF(hr_cuda_attention_host(qkv, qkv_b, off, N_LENS, h, heads, gpu, err, sizeof err) == HR_OK,
           "%s", err);
    /* Outputs are convex combinations of V values (|v| <= 2); the reference
     * is in double. The float32 kernel's worst case: each score's dot product
     * (dh = 32 terms of size <= 4: <= 32 u 128 / sqrt(32) = 1.4e-5 with
     * u = 6e-8) moves the softmax weights by that relative amount, <= 6e-5 on
     * the output, and the weighted sum over up to 512 keys adds <= 512 u 2 =
     * 6e-5: about 1e-4 in all, and dh = 64 is no worse after the 1/sqrt(dh)
     * scale. Typical errors are ~1e-6; a wrong key, bias, scale or a lost
     * tile is off by ~1e-1. */
    float d = max_abs_diff(cpu, gpu, (size_t)T * h);
    CHECKF(d <= 1e-4f, "h %d heads %d: max difference %g", h, heads, d);
    free(off), free(qkv), free(qkv_b), free(cpu), free(gpu);
}

static void test_attention_kernel_matches_cpu(void)
{
    attention_case(384, 12); /* MiniLM: head size 32 */
    attention_case(128, 2);  /* head size 64 */
}

static void test_mean_pool_kernel_matches_cpu(void)
{
    const int h = 384;
    int *off = make_offsets(lens_all, N_LENS);
    const int T = off[N_LENS];
    float *x = malloc((size_t)T * h * sizeof *x);
    float *cpu = malloc((size_t)N_LENS * h * sizeof *cpu), *gpu = malloc((size_t)N_LENS * h * sizeof *gpu);
    fill(x, (size_t)T * h, 2.f, 0.1f);
    for (int normalize = 0; normalize <= 1; normalize++) {
        char err[512] = "";
        mean_pool_ref(x, off, N_LENS, h, normalize, cpu);
        CHECKF(hr_cuda_mean_pool_host(x, off, N_LENS, h, normalize, gpu, err, sizeof err) == HR_OK,
               "%s", err);
        /* The column sums run in the same order on both sides; only the L2
         * norm's sum differs in order (a few ulp). Means of values in
         * [-1.9, 2.1] are below ~2.1: 2e-6 absolute is ~8 ulp there. */
        float d = max_abs_diff(cpu, gpu, (size_t)N_LENS * h);
        CHECKF(d <= 2e-6f, "normalize %d: max difference %g", normalize, d);
    }
    free(off), free(x), free(cpu), free(gpu);
}

/* ---- the whole forward pass on the real model ---- */

static hr_model *model;

static const char *const short_texts[] = {
    "Stocks fall",
    "Local team wins championship after dramatic overtime",
    "Is it going to rain tomorrow?",
    "Scientists discover new species of frog in the Amazon rainforest",
    "How do I reset my password?",
    "The pandemic changed how we work",
    "BREAKING: earthquake hits coastal city",
    "I absolutely loved this movie, the acting was superb!",
    "Worst purchase ever. Do not buy.",
    "Central bank raises interest rates by 0.25%",
    "Café owners in Zürich protest new rules",
    "東京で新しい博物館が開館",
    "Why is the sky blue?",
    "Recipe: easy vegan chocolate cake",
    "ok",
    "12345 67890",
    "Can you recommend a good book about the history of mathematics?",
    "Government announces plan to cut emissions by half by 2030",
    "The quick brown fox jumps over the lazy dog.",
    "New smartphone features a foldable screen and a week-long battery",
};

static const char *const sentences[] = {
    "The committee met on Tuesday to discuss the proposed changes to the city's zoning laws. ",
    "Several residents voiced concerns about traffic, noise and the loss of green space. ",
    "Supporters argued that the new housing would lower rents and bring young families back downtown. ",
    "After three hours of debate, the vote was postponed until the next session in March. ",
    "Meanwhile, researchers at the university published a study on urban heat islands. ",
    "They found that neighbourhoods with more trees were up to four degrees cooler in summer. ",
};

/* A paragraph of n sentences, cycling through sentences[] from `first`. */
static char *paragraph(int n, int first)
{
    size_t cap = 1, k = sizeof sentences / sizeof sentences[0];
    for (int i = 0; i < n; i++) cap += strlen(sentences[(size_t)(first + i) % k]);
    char *p = malloc(cap);
    p[0] = '\0';
    for (int i = 0; i < n; i++) strcat(p, sentences[(size_t)(first + i) % k]);
    return p;
}

static double cosine(const float *a, const float *b, int n)
{
    double ab = 0, aa = 0, bb = 0;
    for (int i = 0; i < n; i++) ab += (double)a[i] * b[i], aa += (double)a[i] * a[i], bb += (double)b[i] * b[i];
    return ab / (sqrt(aa * bb) + 1e-30);
}

/* Packs texts (plus a one-token sequence, [CLS] alone, at index 0) as
 * hr_cpu_embed does: ids (T), offsets (n_seq + 1). Returns n_seq. */
static int pack_texts(const char *const *texts, int n_texts, int max_len, int32_t **ids_out,
                      int **off_out)
{
    const hr_tokenizer *tok = hr_model_tokenizer(model);
    const int n_seq = n_texts + 1;
    int32_t *ids = malloc(((size_t)n_seq * max_len) * sizeof *ids);
    int *off = malloc(((size_t)n_seq + 1) * sizeof *off);
    int32_t tmp[4];
    hr_tokenizer_encode(tok, "a", 1, tmp, 4);
    off[0] = 0;
    ids[0] = tmp[0]; /* [CLS] */
    off[1] = 1;
    for (int i = 0; i < n_texts; i++) {
        size_t n = hr_tokenizer_encode(tok, texts[i], strlen(texts[i]), ids + off[i + 1], (size_t)max_len);
        off[i + 2] = off[i + 1] + (int)n;
    }
    *ids_out = ids;
    *off_out = off;
    return n_seq;
}

static void test_forward_matches_cpu_on_real_texts(void)
{
    const int h = hr_model_dim(model), max_len = hr_model_max_tokens(model);
    enum { N_SHORT = sizeof short_texts / sizeof short_texts[0], N_LONG = 14 };
    const char *texts[N_SHORT + N_LONG];
    char *longs[N_LONG];
    for (int i = 0; i < N_SHORT; i++) texts[i] = short_texts[i];
    /* 1 to 30 sentences: ~20 to well past max_len tokens (truncated to it) */
    static const int n_sent[N_LONG] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 15, 20, 30};
    for (int i = 0; i < N_LONG; i++) texts[N_SHORT + i] = longs[i] = paragraph(n_sent[i], i);

    int32_t *ids;
    int *off;
    const int n_seq = pack_texts(texts, N_SHORT + N_LONG, max_len, &ids, &off);
    const int T = off[n_seq];
    int longest = 0;
    for (int s = 0; s < n_seq; s++) longest = off[s + 1] - off[s] > longest ? off[s + 1] - off[s] : longest;
    CHECKF(longest == max_len, "the batch should reach max_len %d, longest %d", max_len, longest);
    CHECK(off[1] - off[0] == 1);

    float *cpu = malloc((size_t)n_seq * h * sizeof *cpu), *gpu = malloc((size_t)n_seq * h * sizeof *gpu);
    hr_cpu_workspace *ws = hr_cpu_workspace_create(model, T, max_len);
    CHECK(ws != NULL);
    hr_cpu_forward(model, ids, off, n_seq, cpu, ws);

    char err[512] = "";
    hr_cuda_encoder *enc = NULL;
    hr_status st = hr_cuda_encoder_create(model, &enc, err, sizeof err);
    CHECKF(st == HR_OK, "%s", err);
    if (st == HR_OK) {
        CHECKF(hr_cuda_encoder_forward(enc, ids, off, n_seq, gpu, err, sizeof err) == HR_OK, "%s", err);
        /* Issue 4's bar. FP16 GEMM inputs (relative rounding 2^-11 ~ 4.9e-4
         * per weight and activation, averaging out over 384..1536 terms) with
         * FP32 accumulation and an FP32 residual stream keep sentence
         * embeddings at cosine ~0.9999+ against float32; 0.9995 is the bar
         * the issue sets, not a number tuned to pass. */
        double worst = 1.0;
        int worst_s = -1;
        for (int s = 0; s < n_seq; s++) {
            const double c = cosine(cpu + (size_t)s * h, gpu + (size_t)s * h, h);
            if (!(c >= worst)) worst = c, worst_s = s;
            CHECKF(c >= 0.9995, "sequence %d (%d tokens): cosine %.6f", s, off[s + 1] - off[s], c);
        }
        fprintf(stderr, "  %d sequences, %d tokens: worst cosine %.6f (sequence %d)\n", n_seq, T,
                worst, worst_s);

        /* A smaller second batch on the same encoder (no regrowth; other GEMM
         * shapes): the last 5 sequences, offsets rebased. */
        const int first = n_seq - 5;
        int off2[6];
        for (int s = 0; s <= 5; s++) off2[s] = off[first + s] - off[first];
        CHECKF(hr_cuda_encoder_forward(enc, ids + off[first], off2, 5, gpu, err, sizeof err) == HR_OK,
               "%s", err);
        for (int s = 0; s < 5; s++) {
            const double c = cosine(cpu + (size_t)(first + s) * h, gpu + (size_t)s * h, h);
            CHECKF(c >= 0.9995, "second batch, sequence %d: cosine %.6f", s, c);
        }

        /* Bad input is the caller's bug: a clear error, no launch. */
        int bad_off[3] = {0, 0, 2}; /* an empty sequence */
        CHECK(hr_cuda_encoder_forward(enc, ids, bad_off, 2, gpu, err, sizeof err) == HR_ERR_INTERNAL);
        int32_t bad_ids[2] = {101, 1 << 30};
        int off_one[2] = {0, 2};
        CHECK(hr_cuda_encoder_forward(enc, bad_ids, off_one, 1, gpu, err, sizeof err) == HR_ERR_INTERNAL);
        CHECK(hr_cuda_encoder_forward(enc, ids, off, 0, gpu, err, sizeof err) == HR_OK);
    }
    hr_cuda_encoder_destroy(enc);
    hr_cuda_encoder_destroy(NULL);
    hr_cpu_workspace_destroy(ws);
    for (int i = 0; i < N_LONG; i++) free(longs[i]);
    free(ids), free(off), free(cpu), free(gpu);
}


/* ---- the two-slot API ---- */

static void test_submit_wait_slots_match_forward(void)
{
    const int h = hr_model_dim(model), max_len = hr_model_max_tokens(model);
    enum { N = sizeof short_texts / sizeof short_texts[0] };
    int32_t *ids;
    int *off;
    const int n_seq = pack_texts(short_texts, N, max_len, &ids, &off);
    /* two batches: the first 8 sequences and the rest, offsets rebased */
    const int n0 = 8, n1 = n_seq - n0;
    int *off1 = malloc(((size_t)n1 + 1) * sizeof *off1);
    for (int s = 0; s <= n1; s++) off1[s] = off[n0 + s] - off[n0];
    float *ref = malloc((size_t)n_seq * h * sizeof *ref);
    char err[512] = "";
    hr_cuda_encoder *enc = NULL;
    hr_status st = hr_cuda_encoder_create(model, &enc, err, sizeof err);
    CHECKF(st == HR_OK, "%s", err);
    if (st == HR_OK) {
        CHECKF(hr_cuda_encoder_forward(enc, ids, off, n_seq, ref, err, sizeof err) == HR_OK, "%s", err);
        for (int round = 0; round < 3; round++) { /* the slots are reused */
            const float *r0 = NULL, *r1 = NULL;
            int got0 = -1, got1 = -1;
            CHECKF(hr_cuda_encoder_submit(enc, 0, ids, off, n0, err, sizeof err) == HR_OK, "%s", err);
            CHECKF(hr_cuda_encoder_submit(enc, 1, ids + off[n0], off1, n1, err, sizeof err) == HR_OK,
                   "%s", err);
            /* a busy slot refuses a second batch */
            CHECK(hr_cuda_encoder_submit(enc, 0, ids, off, n0, err, sizeof err) == HR_ERR_INTERNAL);
            CHECKF(hr_cuda_encoder_wait(enc, 1, &r1, &got1, err, sizeof err) == HR_OK, "%s", err);
            CHECKF(hr_cuda_encoder_wait(enc, 0, &r0, &got0, err, sizeof err) == HR_OK, "%s", err);
            CHECK(got0 == n0 && got1 == n1 && r0 && r1);
            if (!r0 || !r1 || got0 != n0 || got1 != n1) break;
            double worst = 1.0;
            for (int s = 0; s < n_seq; s++) {
                const float *g = s < n0 ? r0 + (size_t)s * h : r1 + (size_t)(s - n0) * h;
                const double c = cosine(ref + (size_t)s * h, g, h);
                worst = c < worst ? c : worst;
            }
            /* the same batches as forward's, split in two: only the GEMM
             * shapes differ, so agreement is to float rounding */
            CHECKF(worst >= 0.99999, "round %d: worst cosine against forward %.7f", round, worst);
        }
        /* waiting on an idle slot is the caller's bug; an empty batch is fine */
        const float *r = NULL;
        int got = -1;
        CHECK(hr_cuda_encoder_wait(enc, 0, &r, NULL, err, sizeof err) == HR_ERR_INTERNAL);
        CHECK(hr_cuda_encoder_submit(enc, 1, NULL, NULL, 0, err, sizeof err) == HR_OK);
        CHECK(hr_cuda_encoder_wait(enc, 1, &r, &got, err, sizeof err) == HR_OK && got == 0);
        CHECK(hr_cuda_encoder_submit(enc, 2, ids, off, 1, err, sizeof err) == HR_ERR_INTERNAL);
        /* destroy with a batch in flight waits for it */
        CHECK(hr_cuda_encoder_submit(enc, 0, ids, off, n_seq, err, sizeof err) == HR_OK);
    }
    hr_cuda_encoder_destroy(enc);
    free(ids), free(off), free(off1), free(ref);
}

/* ---- whole embed calls: hr_encoder_embed on cuda against cpu ---- */

/* Progress as the GPU driver reports it: on the calling thread, never
 * backwards, never past the total. */
typedef struct progress_log {
    pthread_t caller;
    size_t last, total, calls;
    int off_thread, backwards;
} progress_log;

static void log_progress(size_t done, size_t total, void *user)
{
    progress_log *p = user;
    if (!pthread_equal(pthread_self(), p->caller)) p->off_thread++;
    if (done < p->last || done > total) p->backwards++;
    p->last = done;
    p->total = total;
    p->calls++;
}

/* Embeds texts with an encoder on `device` (opt: the GPU driver's options, or
 * NULL) into out (n, dim). Returns the status; checks progress. */
static hr_status embed_on(hr_device device, const hr_gpu_embed_options *opt,
                          const char *const *texts, const size_t *lens, size_t n, float *out)
{
    char err[512] = "";
    hr_encoder *enc = NULL;
    hr_status st = hr_encoder_create(model, device, 0, &enc, err, sizeof err);
    CHECKF(st == HR_OK, "create %s: %s", hr_device_str(device), err);
    if (st != HR_OK) return st;
    CHECKF(hr_encoder_device(enc) == device, "asked for %s, got %s", hr_device_str(device),
           hr_device_str(hr_encoder_device(enc)));
    if (opt) hr_encoder_set_gpu_options(enc, opt);
    progress_log p;
    memset(&p, 0, sizeof p);
    p.caller = pthread_self();
    st = hr_encoder_embed(enc, texts, lens, n, out, log_progress, &p, err, sizeof err);
    CHECKF(st == HR_OK, "embed %s: %s", hr_device_str(device), err);
    CHECKF(hr_encoder_device(enc) == device, "%s encoder now on %s", hr_device_str(device),
           hr_device_str(hr_encoder_device(enc)));
    if (n > 0 && st == HR_OK) {
        CHECKF(p.off_thread == 0, "%d progress calls off the calling thread", p.off_thread);
        CHECKF(p.backwards == 0, "%d progress calls went backwards or past the total", p.backwards);
        CHECKF(p.calls > 0 && p.last == n && p.total == n, "progress ended at %zu of %zu (%zu calls)",
               p.last, p.total, p.calls);
    }
    hr_encoder_destroy(enc);
    return st;
}

/* Per-text cosine of two (n, dim) sets; checks every one >= min_cos and that
 * every row has unit length (so a row left unwritten is caught). */
static void compare_rows(const char *what, const char *const *texts, const float *cpu,
                         const float *gpu, size_t n, double min_cos)
{
    const int h = hr_model_dim(model);
    double worst = 1.0, sum = 0.0;
    size_t worst_i = 0, bad = 0, bad_norm = 0;
    for (size_t i = 0; i < n; i++) {
        const double c = cosine(cpu + i * h, gpu + i * h, h);
        sum += c;
        if (!(c >= worst)) worst = c, worst_i = i;
        if (!(c >= min_cos)) bad++;
        double ss = 0;
        for (int k = 0; k < h; k++) ss += (double)gpu[i * h + k] * gpu[i * h + k];
        if (model->normalize && !(fabs(sqrt(ss) - 1.0) < 1e-3)) bad_norm++;
    }
    fprintf(stderr, "  %s: %zu texts, worst cosine %.6f (text %zu), mean %.7f\n", what, n, worst,
            worst_i, n ? sum / (double)n : 1.0);
    CHECKF(bad == 0, "%s: %zu of %zu texts below cosine %.4f; worst %.6f: \"%.60s\"", what, bad, n,
           min_cos, worst, n ? texts[worst_i] : "");
    CHECKF(bad_norm == 0, "%s: %zu rows are not unit length", what, bad_norm);
}

/* Issue 4's bar for GPU against CPU embeddings (see the forward test). */
#define MIN_COSINE_GPU 0.9995

static void test_embed_fixture_texts_cuda_matches_cpu(void)
{
    size_t n = 0;
    char **texts = read_texts(test_fixture("embedding-texts.jsonl"), &n);
    CHECKF(texts && n >= 200, "fixture texts: %zu", n);
    if (!texts) return;
    const size_t h = (size_t)hr_model_dim(model);
    float *cpu = malloc(n * h * sizeof *cpu), *gpu = malloc(n * h * sizeof *gpu);
    if (embed_on(HR_DEVICE_CPU, NULL, (const char *const *)texts, NULL, n, cpu) == HR_OK &&
        embed_on(HR_DEVICE_CUDA, NULL, (const char *const *)texts, NULL, n, gpu) == HR_OK)
        compare_rows("fixture", (const char *const *)texts, cpu, gpu, n, MIN_COSINE_GPU);
    free(cpu), free(gpu);
    free_texts(texts, n);
}

/* n texts of words from the fixture: mostly 1 to 40 words, every 53rd 150 to
 * 400 words (past the model's limit: truncated), every 401st empty. */
static char **generated_texts(size_t n, size_t *lens)
{
    size_t n_src = 0;
    char **src = read_texts(test_fixture("embedding-texts.jsonl"), &n_src);
    /* the fixture's words, split at spaces */
    size_t n_words = 0, cap = 0;
    char **words = NULL;
    for (size_t i = 0; src && i < n_src; i++) {
        char *save = NULL;
        for (char *w = strtok_r(src[i], " ", &save); w; w = strtok_r(NULL, " ", &save)) {
            if (n_words == cap) {
                cap = cap ? 2 * cap : 1024;
                words = realloc(words, cap * sizeof *words);
            }
            words[n_words++] = w;
        }
    }
    char **texts = malloc(n * sizeof *texts);
    unsigned r = 12345u;
#define NEXT_RAND() (r = r * 1664525u + 1013904223u, r >> 8)
    for (size_t i = 0; i < n; i++) {
        size_t nw = 1 + NEXT_RAND() % 40;
        if (i % 53 == 5) nw = 150 + NEXT_RAND() % 250;
        if (i % 401 == 7 || n_words == 0) nw = 0;
        size_t len = 0, tcap = 64;
        char *t = malloc(tcap);
        t[0] = '\0';
        for (size_t w = 0; w < nw; w++) {
            const char *word = words[NEXT_RAND() % n_words];
            const size_t wl = strlen(word);
            if (len + wl + 2 > tcap) {
                tcap = 2 * (len + wl + 2);
                t = realloc(t, tcap);
            }
            if (w) t[len++] = ' ';
            memcpy(t + len, word, wl + 1);
            len += wl;
        }
        texts[i] = t;
        lens[i] = len;
    }
#undef NEXT_RAND
    free(words);
    free_texts(src, n_src);
    return texts;
}

/* Texts for the generated test: HR_TEST_GPU_TEXTS (default 2000; fewer
 * keeps a run under compute-sanitizer short, more makes more chunks). */
static size_t generated_count(void)
{
    const char *v = getenv("HR_TEST_GPU_TEXTS");
    long n = v ? strtol(v, NULL, 10) : 0;
    return n >= 20 && n <= 10000000 ? (size_t)n : 2000;
}

static void test_embed_generated_texts_cuda_matches_cpu(void)
{
    const size_t N = generated_count();
    const size_t h = (size_t)hr_model_dim(model);
    size_t *lens = malloc(N * sizeof *lens);
    char **texts = generated_texts(N, lens);
    const char *const *t = (const char *const *)texts;
    float *cpu = malloc(N * h * sizeof *cpu), *gpu = malloc(N * h * sizeof *gpu);
    const int max_len = hr_model_max_tokens(model);
    size_t truncated = 0, empty = 0;
    int32_t *ids = malloc((size_t)max_len * 2 * sizeof *ids);
    for (size_t i = 0; i < N; i++) {
        empty += lens[i] == 0;
        truncated += hr_tokenizer_encode(hr_model_tokenizer(model), texts[i], lens[i], ids,
                                         (size_t)max_len * 2) > (size_t)max_len;
    }
    free(ids);
    CHECKF(truncated >= N / 100 && empty >= N / 450, "%zu texts past the limit, %zu empty", truncated,
           empty);
    fprintf(stderr, "  %zu generated texts, %zu past the limit, %zu empty\n", N, truncated, empty);
    if (embed_on(HR_DEVICE_CPU, NULL, t, lens, N, cpu) == HR_OK) {
        /* the defaults: one chunk (2000 texts), a few batches of 32768 tokens,
         * both slots */
        memset(gpu, 0, N * h * sizeof *gpu);
        if (embed_on(HR_DEVICE_CUDA, NULL, t, lens, N, gpu) == HR_OK)
            compare_rows("generated, default chunks", t, cpu, gpu, N, MIN_COSINE_GPU);
        /* small chunks and batches: 4 chunks (of 2000 texts), the next
         * tokenised while the GPU works on this one, ~30 batches through
         * both slots */
        const hr_gpu_embed_options small = {500, 2048};
        memset(gpu, 0, N * h * sizeof *gpu);
        if (embed_on(HR_DEVICE_CUDA, &small, t, lens, N, gpu) == HR_OK)
            compare_rows("generated, 500-text chunks, 2048-token batches", t, cpu, gpu, N,
                         MIN_COSINE_GPU);
        /* batches of one text at the limit (budget below max_len is raised to it) */
        const hr_gpu_embed_options tiny = {97, 1};
        memset(gpu, 0, N * h * sizeof *gpu);
        const size_t n_tiny = N < 200 ? N : 200;
        if (embed_on(HR_DEVICE_CUDA, &tiny, t, lens, n_tiny, gpu) == HR_OK)
            compare_rows("generated, 97-text chunks, max_len-token batches", t, cpu, gpu, n_tiny,
                         MIN_COSINE_GPU);
    }
    free(cpu), free(gpu), free(lens);
    free_texts(texts, N);
}

static void test_embed_edge_cases_cuda_matches_cpu(void)
{
    const size_t h = (size_t)hr_model_dim(model);
    char *longest = paragraph(40, 0); /* far past max_len */
    const char *cases[][3] = {
        {"Central bank raises interest rates by 0.25%", NULL, NULL}, /* n = 1 */
        {"", NULL, NULL},                                            /* one empty text */
        {longest, NULL, NULL},                                       /* one truncated text */
        {"", "x", longest},                                          /* all three together */
    };
    const size_t counts[] = {1, 1, 1, 3};
    float cpu[3 * 384], gpu[3 * 384];
    CHECK(h <= 384);
    for (size_t c = 0; c < sizeof counts / sizeof counts[0] && h <= 384; c++) {
        if (embed_on(HR_DEVICE_CPU, NULL, cases[c], NULL, counts[c], cpu) != HR_OK) continue;
        if (embed_on(HR_DEVICE_CUDA, NULL, cases[c], NULL, counts[c], gpu) != HR_OK) continue;
        char what[64];
        snprintf(what, sizeof what, "edge case %zu", c);
        compare_rows(what, cases[c], cpu, gpu, counts[c], MIN_COSINE_GPU);
    }
    /* n = 0 writes nothing and succeeds */
    CHECK(embed_on(HR_DEVICE_CUDA, NULL, cases[0], NULL, 0, gpu) == HR_OK);
    free(longest);
}

static void test_auto_picks_cuda(void)
{
    char err[512] = "";
    hr_encoder *enc = NULL;
    CHECKF(hr_encoder_create(model, HR_DEVICE_AUTO, 0, &enc, err, sizeof err) == HR_OK, "%s", err);
    if (!enc) return;
    const char *note = hr_encoder_gpu_note(enc);
    CHECKF(hr_encoder_device(enc) == HR_DEVICE_CUDA, "auto picked %s: %s",
           hr_device_str(hr_encoder_device(enc)), note ? note : "(no note)");
    CHECK(note == NULL);
    const char *texts[] = {"auto should run this on the GPU", "and this"};
    float out[2 * 384];
    if (hr_model_dim(model) <= 384) {
        CHECKF(hr_encoder_embed(enc, texts, NULL, 2, out, NULL, NULL, err, sizeof err) == HR_OK, "%s",
               err);
        note = hr_encoder_gpu_note(enc);
        CHECKF(hr_encoder_device(enc) == HR_DEVICE_CUDA, "auto fell back to the CPU: %s",
               note ? note : "(no note)");
    }
    hr_encoder_destroy(enc);
}

int main(void)
{
    const char *why = NULL;
    if (hr_cuda_device_count(&why) == 0) return test_skip(why ? why : "no CUDA device");
    RUN(test_embed_layernorm_kernel_matches_cpu);
    RUN(test_residual_layernorm_kernel_matches_cpu);
    RUN(test_bias_gelu_kernel_matches_cpu);
    RUN(test_attention_kernel_matches_cpu);
    RUN(test_mean_pool_kernel_matches_cpu);

    char err[512] = "";
    if (hr_model_load(test_model_dir(), &model, err, sizeof err) != HR_OK) {
        fprintf(stderr, "cannot load the model (run scripts/fetch-model.sh): %s\n", err);
        return 1;
    }
    RUN(test_forward_matches_cpu_on_real_texts);
    RUN(test_submit_wait_slots_match_forward);
    RUN(test_embed_fixture_texts_cuda_matches_cpu);
    RUN(test_embed_generated_texts_cuda_matches_cpu);
    RUN(test_embed_edge_cases_cuda_matches_cpu);
    RUN(test_auto_picks_cuda);
    hr_model_destroy(model);
    return test_summary();
}
