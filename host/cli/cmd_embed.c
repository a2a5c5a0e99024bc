/* host/cli/cmd_embed.c: hyporank embed --in FILE --out OUT.npy */
#include "cli.h"
#include "hyporank/corpus.h"
#include "hyporank/embedder.h"
#include "hyporank/npy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cmd_embed(int argc, char **argv)
{
    const char *cmd = "embed";
    cli_common c;
    cli_common_init(&c);
    const char *in = NULL, *out = NULL;
    const cli_option table[] = {
        {"--in", CLI_STRING, &in, 0, 0},
        {"--out", CLI_STRING, &out, 0, 0},
        {NULL, CLI_STRING, NULL, 0, 0},
    };
    switch (cli_parse(cmd, argc, argv, table, &c, NULL)) {
    case CLI_HELP: printf(cli_embed_help, cli_common_help); return CLI_EXIT_OK;
    case CLI_BAD: return CLI_EXIT_USAGE;
    }
    if (!in) return cli_usage_error(cmd, "--in FILE is required");
    if (!out) return cli_usage_error(cmd, "--out OUT.npy is required");
    const hr_path_use paths[] = {{"--in", in, HR_PATH_INPUT}, {"--out", out, HR_PATH_OUTPUT}};
    int rc = cli_check_paths(cmd, &c, 1, paths, sizeof paths / sizeof paths[0]);
    if (rc != CLI_EXIT_OK) return rc;

    char err[1024] = "";
    hr_corpus *corpus = NULL;
    hr_embedder *emb = NULL;
    float *x = NULL; /* (n, dim) row-major */
    hr_status st;
    const hr_events ev = cli_events(&c);
    hr_corpus_options copt = {.text_field = c.text_field, .format = HR_FORMAT_AUTO};
    if ((st = hr_corpus_read(in, &copt, &corpus, err, sizeof err)) != HR_OK ||
        (st = hr_embedder_create(&c.embed, &emb, err, sizeof err)) != HR_OK ||
        (st = hr_embedder_load(emb, err, sizeof err)) != HR_OK)
        goto done;
    const double t0 = cli_now();
    if ((st = hr_embedder_embed(emb, (const char *const *)corpus->texts, corpus->lens, corpus->n,
                                "embedding", &ev, &x, err, sizeof err)) != HR_OK)
        goto done;
    const double secs = cli_now() - t0;
    const size_t dim = hr_embedder_dim(emb);
    if ((st = hr_npy_write_f32(out, x, corpus->n, dim, err, sizeof err)) != HR_OK) goto done;
    const hr_embed_stats es = hr_embedder_last_stats(emb);
    char repeats[64] = ""; /* ", 3 repeats" when some text came more than once */
    if (es.repeats)
        snprintf(repeats, sizeof repeats, ", %zu repeat%s", es.repeats, es.repeats == 1 ? "" : "s");
    if (!c.quiet)
        fprintf(stderr,
                "hyporank: wrote %s: %zu x %zu (%s, %s; %zu computed, %zu from cache%s; %.2f s)\n",
                out, corpus->n, dim, hr_embedder_model(emb), hr_embedder_device(emb), es.computed,
                es.from_cache, repeats, secs);
done:
    free(x);
    hr_embedder_destroy(emb);
    hr_corpus_destroy(corpus);
    return st == HR_OK ? CLI_EXIT_OK : cli_error(st, err);
}
