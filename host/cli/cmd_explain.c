/* host/cli/cmd_explain.c: hyporank explain: how much of a classifier's
 * performance a few readable hypotheses explain (hyporank/explain_run.h). */
#include "cli.h"
#include "hyporank/explain_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcasecmp(s + a - b, suffix) == 0;
}

int cmd_explain(int argc, char **argv)
{
    const char *cmd = "explain";
    cli_common c;
    cli_common_init(&c);
    hr_explain_run_options o;
    hr_explain_run_options_init(&o);
    hr_scorer_options so = hr_scorer_default_options();
    so.method = o.method; /* cosine unless told otherwise: a readable feature stands alone */
    const char *json_path = NULL, *html_path = NULL;
    const cli_option table[] = {
        {"--data", CLI_STRING, &o.data_path, 0, 0},
        {"--label-field", CLI_STRING, &o.label_field, 0, 0},
        {"--positive", CLI_STRING, &o.positive, 0, 0},
        {"--score-field", CLI_STRING, &o.score_field, 0, 0},
        {"--a", CLI_STRING, &o.a_path, 0, 0},
        {"--b", CLI_STRING, &o.b_path, 0, 0},
        {"--continuous", CLI_SET, &o.continuous, 0, 0},
        {"--hypotheses", CLI_STRING, &o.hypotheses_path, 0, 0},
        {"--no-bank", CLI_CLEAR, &o.bank, 0, 0},
        {"--no-ngrams", CLI_CLEAR, &o.ngrams, 0, 0},
        {"--ngrams", CLI_SIZE, &o.ngrams_per_side, 1, 10000},
        {"--holdout", CLI_REAL, &o.holdout, 0.05, 0.9},
        {"--rounds", CLI_SIZE, &o.rounds, 1, 20},
        {"--top-k", CLI_SIZE, &o.top_k, 1, 50},
        {"--candidates", CLI_SIZE, &o.candidates, 1, 1000},
        {"--folds", CLI_SIZE, &o.folds, 2, 20},
        {"--seed", CLI_U64, &o.seed, 0, 2147483647.0},
        {"--bootstrap", CLI_SIZE, &o.bootstrap, 100, 100000},
        {"--examples", CLI_SIZE, &o.examples, 0, 1000},
        {"--json", CLI_STRING, &json_path, 0, 0},
        {"--html", CLI_STRING, &html_path, 0, 0},
        {NULL, CLI_STRING, NULL, 0, 0},
    };
    switch (cli_parse(cmd, argc, argv, table, &c, &so)) {
    case CLI_HELP: printf(cli_explain_help, cli_scorer_help, cli_common_help); return CLI_EXIT_OK;
    case CLI_BAD: return CLI_EXIT_USAGE;
    }
    if (o.continuous && o.score_field)
        return cli_usage_error(cmd, "--score-field with --continuous is not supported: the "
                                    "reference of a continuous target is the ridge regression "
                                    "on the embeddings");
    if (o.continuous && (o.a_path || o.b_path || o.positive))
        return cli_usage_error(cmd, "--continuous takes --data FILE --label-field NAME (a "
                                    "number per text); --a/--b and --positive are for two "
                                    "classes");
    if (o.continuous && o.rounds > 1)
        return cli_usage_error(cmd, "--rounds with --continuous is not supported");
    const int two = o.a_path || o.b_path;
    if (two && o.data_path)
        return cli_usage_error(cmd, "give either --data FILE --label-field NAME or --a FILE "
                                    "--b FILE, not both");
    if (two && (!o.a_path || !o.b_path))
        return cli_usage_error(cmd, "--a FILE and --b FILE go together");
    if (!two && (!o.data_path || !o.label_field))
        return cli_usage_error(cmd, "--data FILE --label-field NAME (or --a FILE --b FILE) "
                                    "are required");
    if (two && (o.label_field || o.positive || o.score_field))
        return cli_usage_error(cmd, "--label-field, --positive and --score-field go with --data");
    if (o.data_path && !ends_with(o.data_path, ".jsonl") && !ends_with(o.data_path, ".csv"))
        return cli_usage_error(cmd, "--data %s: labelled texts must be .jsonl or .csv",
                               o.data_path);
    if (o.rounds > 1 && !o.ngrams)
        return cli_usage_error(cmd, "--rounds %zu proposes from the word share, which "
                                    "--no-ngrams leaves out", o.rounds);
    if (!o.bank && !o.ngrams && !o.hypotheses_path)
        return cli_usage_error(cmd, "no candidates: --no-bank and --no-ngrams leave none; "
                                    "give --hypotheses FILE or keep a source");
    const hr_path_use paths[] = {
        {"--data", o.data_path, HR_PATH_INPUT},   {"--a", o.a_path, HR_PATH_INPUT},
        {"--b", o.b_path, HR_PATH_INPUT},         {"--hypotheses", o.hypotheses_path, HR_PATH_INPUT},
        {"--json", json_path, HR_PATH_OUTPUT},    {"--html", html_path, HR_PATH_OUTPUT},
    };
    int rc = cli_check_paths(cmd, &c, 1, paths, sizeof paths / sizeof paths[0]);
    if (rc != CLI_EXIT_OK) return rc;
    o.method = so.method;
    o.temperature = so.temperature;
    o.text_field = c.text_field;
    o.device = c.embed.device;
    o.events = cli_events(&c);

    char err[1024] = "";
    hr_embedder *emb = NULL;
    hr_explain_report *rep = NULL;
    hr_status st;
    if ((st = hr_embedder_create(&c.embed, &emb, err, sizeof err)) != HR_OK ||
        (st = hr_explain_run(&o, emb, &rep, err, sizeof err)) != HR_OK)
        goto done;
    hr_explain_report_write_table(stdout, rep);
    if (json_path) {
        if ((st = cli_write_json(json_path, hr_explain_report_json(rep), err, sizeof err)) != HR_OK) goto done;
        if (!c.quiet) fprintf(stderr, "hyporank: wrote %s\n", json_path);
    }
    if (html_path && (st = cli_write_html(html_path, rep, 1, c.quiet, err, sizeof err)) != HR_OK)
        goto done;
done:
    hr_explain_report_destroy(rep);
    hr_embedder_destroy(emb);
    return st == HR_OK ? CLI_EXIT_OK : cli_error(st, err);
}
