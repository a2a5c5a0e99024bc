/* host/cli/cmd_rank.c: hyporank rank: hypotheses ranked by how well they
 * separate corpus A from corpus B (hyporank/rank.h). */
#include "cli.h"
#include "hyporank/rank.h"
#include "hyporank/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cmd_rank(int argc, char **argv)
{
    const char *cmd = "rank";
    cli_common c;
    cli_common_init(&c);
    hr_rank_options o;
    hr_rank_options_init(&o);
    const char *json_path = NULL, *html_path = NULL;
    size_t memory_mb = 256;
    const cli_option table[] = {
        {"--a", CLI_STRING, &o.a_path, 0, 0},
        {"--b", CLI_STRING, &o.b_path, 0, 0},
        {"--hypotheses", CLI_STRING, &o.hypotheses_path, 0, 0},
        {"--a-emb", CLI_STRING, &o.a_emb_path, 0, 0},
        {"--b-emb", CLI_STRING, &o.b_emb_path, 0, 0},
        {"--h-emb", CLI_STRING, &o.h_emb_path, 0, 0},
        {"--hypothesis-field", CLI_NONEMPTY, &o.hypothesis_field, 0, 0},
        {"--json", CLI_STRING, &json_path, 0, 0},
        {"--html", CLI_STRING, &html_path, 0, 0},
        {"--top", CLI_SIZE, &o.top, 0, 1000000000.0},
        {"--alpha", CLI_REAL, &o.alpha, 1e-12, 0.5},
        {"--memory-mb", CLI_SIZE, &memory_mb, 1, 1048576.0},
        {NULL, CLI_STRING, NULL, 0, 0},
    };
    switch (cli_parse(cmd, argc, argv, table, &c, &o.scorer)) {
    case CLI_HELP: printf(cli_rank_help, cli_fields_help, cli_scorer_help, cli_common_help); return CLI_EXIT_OK;
    case CLI_BAD: return CLI_EXIT_USAGE;
    }
    const char *text[3] = {o.a_path, o.b_path, o.hypotheses_path};
    const char *npy[3] = {o.a_emb_path, o.b_emb_path, o.h_emb_path};
    const char *text_opt[3] = {"--a FILE", "--b FILE", "--hypotheses FILE"};
    const char *npy_opt[3] = {"--a-emb A.npy", "--b-emb B.npy", "--h-emb H.npy"};
    for (int k = 0; k < 3; k++) {
        if (k < 2 && text[k] && npy[k])
            return cli_usage_error(cmd, "give %s or %s, not both", text_opt[k], npy_opt[k]);
        if (!text[k] && !npy[k])
            return cli_usage_error(cmd, "%s (or %s) is required", text_opt[k], npy_opt[k]);
    }
    const hr_path_use paths[] = {
        {"--a", o.a_path, HR_PATH_INPUT},           {"--b", o.b_path, HR_PATH_INPUT},
        {"--hypotheses", o.hypotheses_path, HR_PATH_INPUT},
        {"--a-emb", o.a_emb_path, HR_PATH_INPUT},   {"--b-emb", o.b_emb_path, HR_PATH_INPUT},
        {"--h-emb", o.h_emb_path, HR_PATH_INPUT},   {"--json", json_path, HR_PATH_OUTPUT},
        {"--html", html_path, HR_PATH_OUTPUT},
    };
    int rc = cli_check_paths(cmd, &c, hr_rank_needs_embedder(&o), paths,
                             sizeof paths / sizeof paths[0]);
    if (rc != CLI_EXIT_OK) return rc;
    o.text_field = c.text_field;
    o.scorer.device = c.embed.device;
    o.scorer.n_threads = c.embed.n_threads;
    o.scorer.memory_bytes = memory_mb << 20;
    o.events = cli_events(&c);
    o.plots = html_path != NULL; /* only the page shows them */

    char err[1024] = "";
    hr_embedder *emb = NULL;
    hr_report *rep = NULL;
    hr_status st;
    const double t_start = cli_now();
    if ((st = hr_embedder_create(&c.embed, &emb, err, sizeof err)) != HR_OK ||
        (st = hr_rank_run(&o, emb, &rep, err, sizeof err)) != HR_OK)
        goto done;
    const hr_report_info *in = hr_report_get_info(rep);
    const size_t n = hr_report_rows(rep);
    if (json_path && (st = cli_write_json(json_path, hr_report_json(rep), err, sizeof err)) != HR_OK)
        goto done;
    hr_report_write_table(stdout, rep);
    if (o.top != 0 && o.top < n)
        printf("(%zu more; --top 0 shows all%s)\n", n - o.top, json_path ? ", --json has all" : "");
    if (json_path && !c.quiet) fprintf(stderr, "hyporank: wrote %s\n", json_path);
    if (html_path && (st = cli_write_html(html_path, rep, 0, c.quiet, err, sizeof err)) != HR_OK)
        goto done;
    if (!c.quiet)
        fprintf(stderr, "hyporank: %.2f s: read %.2f s, embed %.2f s (%s), score %.2f s (%s), "
                        "findings %.2f s, report %.2f s\n",
                cli_now() - t_start, in->seconds_read, in->seconds_embed,
                hr_rank_needs_embedder(&o) ? in->encoder_device : "precomputed", in->seconds_score,
                hr_device_str(in->scorer_device), in->seconds_findings,
                cli_now() - t_start - in->seconds_read - in->seconds_embed - in->seconds_score -
                    in->seconds_findings);
done:
    hr_report_destroy(rep);
    hr_embedder_destroy(emb);
    return st == HR_OK ? CLI_EXIT_OK : cli_error(st, err);
}
