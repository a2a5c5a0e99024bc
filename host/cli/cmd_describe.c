/* host/cli/cmd_describe.c: hyporank describe: from two corpora to a ranked
 * list of the ways they differ, in both directions (hyporank/describe.h). */
#include "cli.h"
#include "hyporank/describe.h"
#include "hyporank/report.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static hr_status write_markdown(FILE *f, const void *report)
{
    return hr_report_write_markdown(f, report);
}

/* Says on stderr what became of the LLM when it did not all go well, and
 * gives the exit status: 0 (all well, or a partial failure: a warning), 2
 * (the endpoint refused the URL, key or model, or could not be reached) or
 * CLI_EXIT_LLM (no usable answer). */
static int llm_outcome(const hr_report_info *in)
{
    if (!in->has_llm || in->llm_state == HR_LLM_OK) return CLI_EXIT_OK;
    const size_t rounds_ok = in->llm_rounds - in->llm_rounds_failed;
    const size_t verdicts_ok = in->verdicts_asked - in->verdicts_missing;
    const char *last = in->llm_error ? in->llm_error : "its answers could not be used";
    if (in->llm_state == HR_LLM_PARTIAL) {
        fprintf(stderr,
                "hyporank: warning: the LLM %s gave %zu of %zu proposal rounds and %zu of %zu "
                "verdicts; the last error: %s\n",
                in->llm_model, rounds_ok, in->llm_rounds, verdicts_ok, in->verdicts_asked, last);
        return CLI_EXIT_OK;
    }
    fprintf(stderr,
            "hyporank: the LLM %s at %s gave no usable answer (%zu proposal rounds, %zu "
            "verdicts asked): %s\nhyporank: the report above is the offline one (no LLM "
            "proposals, no verdicts)\n",
            in->llm_model, in->llm_url, in->llm_rounds, in->verdicts_asked, last);
    return in->llm_status == HR_ERR_INPUT ? CLI_EXIT_USAGE : CLI_EXIT_LLM;
}

/* Where the run's time went, on stderr; total: the command's wall clock. */
static void print_seconds(const hr_report_info *in, double total)
{
    const double rest = total - in->seconds_read - in->seconds_propose - in->seconds_embed -
                        in->seconds_score - in->seconds_findings - in->seconds_judge;
    fprintf(stderr, "hyporank: %.2f s: read %.2f s, propose %.2f s, embed %.2f s (%s), score "
                    "%.2f s (%s), findings %.2f s, ", total, in->seconds_read,
            in->seconds_propose, in->seconds_embed, in->encoder_device, in->seconds_score,
            hr_device_str(in->scorer_device), in->seconds_findings);
    if (in->has_llm) fprintf(stderr, "judge %.2f s, ", in->seconds_judge);
    fprintf(stderr, "report and set-up %.2f s\n", rest);
}

int cmd_describe(int argc, char **argv)
{
    const char *cmd = "describe";
    cli_common c;
    cli_common_init(&c);
    hr_describe_options o;
    hr_describe_options_init(&o);
    const char *json_path = NULL, *md_path = NULL, *html_path = NULL, *price = NULL;
    const cli_option table[] = {
        {"--a", CLI_STRING, &o.a_path, 0, 0},
        {"--b", CLI_STRING, &o.b_path, 0, 0},
        {"--goal", CLI_STRING, &o.goal, 0, 0},
        {"--hypotheses", CLI_STRING, &o.hypotheses_path, 0, 0},
        {"--no-bank", CLI_CLEAR, &o.bank, 0, 0},
        {"--no-ngrams", CLI_CLEAR, &o.ngrams, 0, 0},
        {"--no-clusters", CLI_CLEAR, &o.clusters, 0, 0},
        {"--ngrams", CLI_SIZE, &o.ngrams_per_side, 1, 10000},
        {"--holdout", CLI_REAL, &o.holdout, 0.05, 0.95},
        {"--seed", CLI_U64, &o.seed, 0, 2147483647.0},
        {"--llm-url", CLI_NONEMPTY, &o.llm_url, 0, 0},
        {"--llm-model", CLI_NONEMPTY, &o.llm_model, 0, 0},
        {"--llm-rounds", CLI_INT, &o.llm_rounds, 0, 100},
        {"--llm-samples", CLI_INT, &o.llm_samples, 1, 200},
        {"--description", CLI_STRING, &o.description, 0, 0},
        {"--verify-top", CLI_SIZE, &o.verify_top, 0, 1000},
        {"--verify-samples", CLI_SIZE, &o.verify_samples, 1, 10000},
        {"--llm-timeout", CLI_POSITIVE, &o.llm_timeout_s, 0, 86400},
        {"--llm-deadline", CLI_REAL, &o.llm_deadline_s, 0, 604800},
        {"--verify-max-samples", CLI_SIZE, &o.verify_max_samples, 1, 100000},
        {"--max-requests", CLI_SIZE, &o.max_requests, 1, 1e9},
        {"--budget-usd", CLI_POSITIVE, &o.budget_usd, 0, 1e6},
        {"--llm-price", CLI_NONEMPTY, &price, 0, 0},
        {"--llm-context", CLI_SIZE, &o.llm_context, 256, 10000000},
        {"--llm-concurrency", CLI_INT, &o.llm_concurrency, 1, 256},
        {"--top", CLI_SIZE, &o.top, 1, 100000},
        {"--examples", CLI_SIZE, &o.examples, 0, 100},
        {"--alpha", CLI_REAL, &o.alpha, 1e-12, 0.5},
        {"--json", CLI_STRING, &json_path, 0, 0},
        {"--markdown", CLI_STRING, &md_path, 0, 0},
        {"--html", CLI_STRING, &html_path, 0, 0},
        {NULL, CLI_STRING, NULL, 0, 0},
    };
    switch (cli_parse(cmd, argc, argv, table, &c, &o.scorer)) {
    case CLI_HELP: printf(cli_describe_help, cli_fields_help, cli_scorer_help, cli_common_help); return CLI_EXIT_OK;
    case CLI_BAD: return CLI_EXIT_USAGE;
    }
    if (!o.a_path || !o.b_path) return cli_usage_error(cmd, "--a FILE and --b FILE are required");
    if (!o.bank && !o.ngrams && !o.hypotheses_path)
        return cli_usage_error(cmd, "no candidates: --no-bank and --no-ngrams leave none; "
                                    "give --hypotheses FILE or keep a source");
    if (!!o.llm_url != !!o.llm_model)
        return cli_usage_error(cmd, "--llm-url and --llm-model go together");
    if (price) {
        char *end, *end2;
        errno = 0;
        o.price_prompt = strtod(price, &end);
        o.price_completion = *end == ',' ? strtod(end + 1, &end2) : -1;
        if (errno || end == price || *end != ',' || end2 == end + 1 || *end2 ||
            !(o.price_prompt >= 0 && o.price_prompt <= 1e5) ||
            !(o.price_completion >= 0 && o.price_completion <= 1e5) ||
            o.price_prompt + o.price_completion == 0)
            return cli_usage_error(cmd, "--llm-price must be PROMPT,COMPLETION in dollars per "
                                        "million tokens (e.g. 0.15,0.60), not '%s'", price);
    }
    if (o.goal && strlen(o.goal) > HR_DESCRIBE_MAX_GOAL)
        return cli_usage_error(cmd,
                               "--goal is %zu characters; say it in a sentence or two (at most "
                               "%d characters): what you want to learn about A against B",
                               strlen(o.goal), HR_DESCRIBE_MAX_GOAL);
    const hr_path_use paths[] = {
        {"--a", o.a_path, HR_PATH_INPUT},         {"--b", o.b_path, HR_PATH_INPUT},
        {"--hypotheses", o.hypotheses_path, HR_PATH_INPUT},
        {"--json", json_path, HR_PATH_OUTPUT},    {"--markdown", md_path, HR_PATH_OUTPUT},
        {"--html", html_path, HR_PATH_OUTPUT},
    };
    int rc = cli_check_paths(cmd, &c, 1, paths, sizeof paths / sizeof paths[0]);
    if (rc != CLI_EXIT_OK) return rc;
    o.text_field = c.text_field;
    o.device = c.embed.device;
    o.n_threads = c.embed.n_threads;
    o.events = cli_events(&c);

    char err[1024] = "";
    hr_embedder *emb = NULL;
    hr_report *rep = NULL;
    hr_status st;
    const double t_start = cli_now();
    if ((st = hr_embedder_create(&c.embed, &emb, err, sizeof err)) != HR_OK ||
        (st = hr_describe_run(&o, emb, &rep, err, sizeof err)) != HR_OK)
        goto done;
    hr_report_write_table(stdout, rep);
    if (json_path) {
        if ((st = cli_write_json(json_path, hr_report_json(rep), err, sizeof err)) != HR_OK) goto done;
        if (!c.quiet) fprintf(stderr, "hyporank: wrote %s\n", json_path);
    }
    if (md_path) {
        if ((st = hr_output_write(md_path, write_markdown, rep, err, sizeof err)) != HR_OK) goto done;
        if (!c.quiet) fprintf(stderr, "hyporank: wrote %s\n", md_path);
    }
    if (html_path && (st = cli_write_html(html_path, rep, 0, c.quiet, err, sizeof err)) != HR_OK)
        goto done;
    if (!c.quiet) print_seconds(hr_report_get_info(rep), cli_now() - t_start);
    rc = llm_outcome(hr_report_get_info(rep));
done:
    hr_report_destroy(rep);
    hr_embedder_destroy(emb);
    return st == HR_OK ? rc : cli_error(st, err);
}
