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
    cli_embedder emb_ctx;
    memset(&emb_ctx, 0, sizeof emb_ctx);
    float *emb = NULL;
    hr_status st;
    int rc = CLI_EXIT_OK;

    hr_corpus_options copt = {opt.text_field, HR_FORMAT_AUTO};
    if ((st = hr_corpus_read(in, &copt, &corpus, err, sizeof err)) != HR_OK) goto fail;
    if ((st = cli_embedder_open(&emb_ctx, &opt, err, sizeof err)) != HR_OK) goto fail;
    const double t0 = cli_now();
    if ((st = cli_embedder_embed_corpus(&emb_ctx, corpus, "embedding", &emb, err, sizeof err)) !=
        HR_OK)
        goto fail;
    const double secs = cli_now() - t0;
    const size_t dim = emb_ctx.dim;
    if ((st = hr_npy_write_f32(out, emb, corpus->n, dim, err, sizeof err)) != HR_OK) goto fail;
    if (!opt.quiet)
        fprintf(stderr,
                "hyporank: wrote %s: %zu x %zu (%s, %s; %zu computed, %zu from cache; %.2f s)\n",
                out, corpus->n, dim, cli_embedder_model(&emb_ctx), cli_embedder_device(&emb_ctx),
                emb_ctx.last_computed, emb_ctx.last_cached, secs);
    goto done;
fail:
    rc = cli_error(st, err);
done:
    free(emb);
    cli_embedder_close(&emb_ctx);
    hr_corpus_destroy(corpus);
    return rc;
}
