/* host/cli/cmd_embed.c: hyporank embed --in FILE --out OUT.npy */
#include "cli.h"
#include "hyporank/cache.h"
#include "hyporank/corpus.h"
#include "hyporank/model.h"
#include "hyporank/npy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char embed_help[] =
    "usage: hyporank embed --in FILE --out OUT.npy [options]\n"
    "\n"
    "Embeds every text of FILE with the sentence encoder and writes a NumPy\n"
    ".npy file (version 1.0, little-endian float32, shape (texts, dim)), one\n"
    "row per text in file order. Embeddings already in the cache are not\n"
    "computed again.\n"
    "\n"
    "Input:\n"
    "  --in FILE           .jsonl (field \"text\"), .txt (one text a line) or\n"
    "                      .csv (column \"text\"); texts longer than the model's\n"
    "                      limit are truncated\n"
    "  --out OUT.npy       where to write the embeddings (written whole or not at all)\n"
    "\n"
    "%s"
    "\n"
    "Example:\n"
    "  hyporank embed --in headlines.jsonl --out headlines.npy --device cpu\n";

int cmd_embed(int argc, char **argv)
{
    const char *cmd = "embed";
    cli_common opt;
    cli_common_init(&opt);
    const char *in = NULL, *out = NULL;
    for (int i = 0; i < argc; i++) {
        int r = cli_common_parse(&opt, cmd, argc, argv, &i);
        if (r < 0) return CLI_EXIT_USAGE;
        if (r > 0) continue;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf(embed_help, cli_common_help);
            return CLI_EXIT_OK;
        } else if (strcmp(argv[i], "--in") == 0) {
            if (!(in = cli_take_value(cmd, argc, argv, &i))) return CLI_EXIT_USAGE;
        } else if (strcmp(argv[i], "--out") == 0) {
            if (!(out = cli_take_value(cmd, argc, argv, &i))) return CLI_EXIT_USAGE;
        } else {
            return cli_usage_error(cmd, "unknown option '%s'", argv[i]);
        }
    }
    if (!in) return cli_usage_error(cmd, "--in FILE is required");
    if (!out) return cli_usage_error(cmd, "--out OUT.npy is required");

    char err[1024] = "";
    hr_corpus *corpus = NULL;
    hr_model *model = NULL;
    hr_encoder *enc = NULL;
    hr_cache *cache = NULL;
    float *emb = NULL;
    hr_status st;
    int rc = CLI_EXIT_OK;

    hr_corpus_options copt = {opt.text_field, HR_FORMAT_AUTO};
    if ((st = hr_corpus_read(in, &copt, &corpus, err, sizeof err)) != HR_OK) goto fail;
    if ((st = hr_model_load(opt.model_dir, &model, err, sizeof err)) != HR_OK) goto fail;
    if ((st = hr_encoder_create(model, opt.device, opt.threads, &enc, err, sizeof err)) != HR_OK)
        goto fail;
    if ((st = cli_open_cache(&opt, &cache, err, sizeof err)) != HR_OK) goto fail;
    const int dim = hr_encoder_dim(enc);
    emb = malloc(corpus->n * (size_t)dim * sizeof *emb); /* (n, dim) */
    if (!emb) {
        st = HR_ERR_NOMEM;
        snprintf(err, sizeof err, "out of memory for %zu x %d embeddings", corpus->n, dim);
        goto fail;
    }
    cli_progress bar;
    cli_progress_init(&bar, "embedding", opt.quiet);
    hr_embed_stats stats;
    st = hr_encoder_embed_cached(enc, cache, (const char *const *)corpus->texts, corpus->lens,
                                 corpus->n, emb, cli_progress_update, &bar, &stats, err,
                                 sizeof err);
    cli_progress_finish(&bar);
    if (st != HR_OK) goto fail;
    double secs = cli_now() - bar.start;
    if ((st = hr_npy_write_f32(out, emb, corpus->n, (size_t)dim, err, sizeof err)) != HR_OK)
        goto fail;
    if (!opt.quiet)
        fprintf(stderr,
                "hyporank: wrote %s: %zu x %d (%s, %s; %zu computed, %zu from cache; %.2f s)\n",
                out, corpus->n, dim, hr_model_name(model), hr_device_str(hr_encoder_device(enc)),
                stats.computed, stats.from_cache, secs);
    goto done;
fail:
    rc = cli_error(st, err);
done:
    free(emb);
    hr_cache_close(cache);
    hr_encoder_destroy(enc);
    hr_model_destroy(model);
    hr_corpus_destroy(corpus);
    return rc;
}
