/*
 * bench/bench_encoder.c: throughput of the hyporank encoder on a corpus.
 *
 *     bench_encoder --in FILE [--device cpu|cuda|auto] [--threads N] [--model DIR]
 *                   [--repeat R] [--out EMB.npy] [--label NAME]
 *                   [--batch-tokens N] [--chunk-texts N]
 *
 * Prints one line: the encoder (hyporank-cpu with the OpenBLAS kernel set,
 * or hyporank-cuda with the GPU's name), texts/s and tokens/s (real tokens,
 * [CLS] and [SEP] included, after truncation), best of R timed passes after
 * one warm-up on the first 256 texts. With --out, writes the embeddings for
 * an accuracy comparison with the peer (bench/run-encoder-bench.sh and
 * bench/run-encoder-bench-gpu.sh do both). --batch-tokens and --chunk-texts
 * set the GPU driver's batch budget and chunk size (host/backends/cuda/encoder_gpu.c; 0:
 * its defaults) and are shown in the line when given.
 */
#include "bench_util.h"
#include "backends/cpu/blas_core.h"
#include "backends/cpu/gemm_amx.h"
#include "model/encoder_internal.h"
#include "hyporank/corpus.h"
#include "hyporank/encoder.h"
#include "hyporank/model.h"
#include "hyporank/npy.h"
#include "hyporank/tokenizer.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>


int main(int argc, char **argv)
{
    hr_blas_use_better_kernels(argv); /* never time OpenBLAS's fallback kernels */
    const char *in = NULL, *out = NULL, *label = NULL;
    const char *model_dir = getenv("HYPORANK_MODEL");
    hr_device device = HR_DEVICE_CPU;
    int threads = 0, repeat = 1;
    hr_gpu_embed_options gpu_opt = {0, 0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            fprintf(stderr, "bench_encoder: %s needs a value\n", a);
            return 2;
        }
        if (strcmp(a, "--in") == 0) in = v;
        else if (strcmp(a, "--out") == 0) out = v;
        else if (strcmp(a, "--label") == 0) label = v;
        else if (strcmp(a, "--model") == 0) model_dir = v;
        else if (strcmp(a, "--threads") == 0) threads = (int)bench_parse_long("bench_encoder", v, 1, 64, "--threads");
        else if (strcmp(a, "--repeat") == 0) repeat = (int)bench_parse_long("bench_encoder", v, 1, 100, "--repeat");
        else if (strcmp(a, "--batch-tokens") == 0)
            gpu_opt.batch_tokens = (int)bench_parse_long("bench_encoder", v, 0, 1 << 20, "--batch-tokens");
        else if (strcmp(a, "--chunk-texts") == 0)
            gpu_opt.chunk_texts = (size_t)bench_parse_long("bench_encoder", v, 0, 1 << 24, "--chunk-texts");
        else if (strcmp(a, "--device") == 0) {
            if (hr_device_parse(v, &device)) {
                fprintf(stderr, "bench_encoder: bad --device '%s'\n", v);
                return 2;
            }
        } else {
            fprintf(stderr, "bench_encoder: unknown option %s\n", a);
            return 2;
        }
        i++;
    }
    if (!in || !model_dir) {
        fprintf(stderr, "usage: bench_encoder --in FILE --model DIR [--device cpu|cuda|auto] "
                        "[--threads N] [--repeat R] [--out EMB.npy] [--label NAME] "
                        "[--batch-tokens N] [--chunk-texts N]\n");
        return 2;
    }
    char err[1024];
    hr_corpus *c;
    hr_model *m;
    hr_encoder *enc;
    if (hr_corpus_read(in, NULL, &c, err, sizeof err) || hr_model_load(model_dir, &m, err, sizeof err) ||
        hr_encoder_create(m, device, threads, &enc, err, sizeof err)) {
        fprintf(stderr, "bench_encoder: %s\n", err);
        return 1;
    }
    hr_encoder_set_gpu_options(enc, &gpu_opt);
    const int d = hr_encoder_dim(enc);
    const int max_tokens = hr_model_max_tokens(m);
    int32_t *ids = malloc((size_t)max_tokens * sizeof *ids);
    size_t tokens = 0;
    for (size_t i = 0; i < c->n; i++)
        tokens += hr_tokenizer_encode(hr_model_tokenizer(m), c->texts[i], c->lens[i], ids,
                                      (size_t)max_tokens);
    free(ids);

    float *emb = malloc(c->n * (size_t)d * sizeof *emb);
    const char *const *texts = (const char *const *)c->texts;
    size_t warm = c->n < 256 ? c->n : 256;
    if (hr_encoder_embed(enc, texts, c->lens, warm, emb, NULL, NULL, err, sizeof err)) {
        fprintf(stderr, "bench_encoder: %s\n", err);
        return 1;
    }
    double best = 1e30;
    for (int r = 0; r < repeat; r++) {
        double t0 = now();
        if (hr_encoder_embed(enc, texts, c->lens, c->n, emb, NULL, NULL, err, sizeof err)) {
            fprintf(stderr, "bench_encoder: %s\n", err);
            return 1;
        }
        double t = now() - t0;
        best = t < best ? t : best;
    }
    /* What ran: the CPU's BLAS kernels, or the GPU's name (and the driver's
     * settings when they are not the defaults). */
    char what[256];
    if (hr_encoder_device(enc) == HR_DEVICE_CUDA) {
        char gpu[128] = "unknown GPU";
        if (hr_device_name(HR_DEVICE_CUDA, gpu, sizeof gpu, NULL, err, sizeof err) != HR_OK)
            snprintf(gpu, sizeof gpu, "unknown GPU");
        int n = snprintf(what, sizeof what, "%s", gpu);
        if (gpu_opt.batch_tokens > 0 && n > 0 && (size_t)n < sizeof what)
            n += snprintf(what + n, sizeof what - (size_t)n, ", batches of %d tokens",
                          gpu_opt.batch_tokens);
        if (gpu_opt.chunk_texts > 0 && n > 0 && (size_t)n < sizeof what)
            snprintf(what + n, sizeof what - (size_t)n, ", chunks of %zu texts", gpu_opt.chunk_texts);
    } else {
        snprintf(what, sizeof what, "%s%s, %d threads",
                 hr_amx_available() ? "AMX BF16x3 products, otherwise openblas " : "openblas ",
                 hr_blas_corename(), threads > 0 ? threads : (int)sysconf(_SC_NPROCESSORS_ONLN));
    }
    printf("hyporank-%s(%s) %s: %zu texts, %zu tokens, %.3f s, %.1f texts/s, %.0f tokens/s\n",
           hr_device_str(hr_encoder_device(enc)), what, label ? label : in, c->n, tokens, best,
           (double)c->n / best, (double)tokens / best);
    if (out && hr_npy_write_f32(out, emb, c->n, (size_t)d, err, sizeof err)) {
        fprintf(stderr, "bench_encoder: %s\n", err);
        return 1;
    }
    free(emb);
    hr_encoder_destroy(enc);
    hr_model_destroy(m);
    hr_corpus_destroy(c);
    return 0;
}
