/*
 * tests/test_cli_options.c: the option tables of the hyporank program
 * ($HR_CLI): every option a command takes is in its --help, options a
 * command does not use (--llm-url for rank, embed, explain) are refused
 * with exit 2, and bad values say which option and what was wrong. Nothing
 * here loads the model.
 */
#define _XOPEN_SOURCE 700 /* mkdtemp */

#include "cli_run.h"
#include "test_util.h"

#include <unistd.h>

static const char *cli;
static char dir[256];

/* The options of each command's table (host/cli/cmd_*.c) and the shared ones. */
static const char *const common[] = {"--model", "--device", "--threads", "--cache", "--no-cache",
                                     "--embed-url", "--embed-model", "--quiet", "--text-field",
                                     NULL};
static const char *const scorer[] = {"--score-method", "--score-temperature", NULL};
static const char *const describe[] = {
    "--a", "--b", "--goal", "--hypotheses", "--no-bank", "--no-ngrams", "--no-clusters",
    "--ngrams", "--holdout", "--seed", "--llm-url", "--llm-model", "--llm-rounds",
    "--llm-samples", "--description", "--verify-top", "--verify-samples", "--top", "--examples",
    "--alpha", "--json", "--markdown", "--html", NULL};
static const char *const rank[] = {"--a", "--b", "--hypotheses", "--a-emb", "--b-emb", "--h-emb",
                                   "--hypothesis-field", "--json", "--html", "--top", "--memory-mb",
                                   NULL};
static const char *const explain[] = {
    "--data", "--label-field", "--positive", "--score-field", "--a", "--b", "--continuous",
    "--hypotheses", "--no-bank", "--no-ngrams", "--ngrams", "--holdout", "--rounds", "--top-k",
    "--candidates", "--folds", "--seed", "--bootstrap", "--examples", "--json", "--html", NULL};
static const char *const embed[] = {"--in", "--out", NULL};

static void check_help_lists(const char *cmd, const char *const *opts, const char *help)
{
    for (size_t i = 0; opts[i]; i++) {
        char needle[64];
        snprintf(needle, sizeof needle, "%s ", opts[i]); /* the option, not a longer one */
        int found = strstr(help, needle) != NULL;
        snprintf(needle, sizeof needle, "%s\n", opts[i]);
        found |= strstr(help, needle) != NULL;
        CHECKF(found, "%s --help does not describe %s", cmd, opts[i]);
    }
}

static void test_every_option_of_a_command_is_in_its_help(void)
{
    struct {
        const char *cmd;
        const char *const *own;
        int scored;
    } cmds[] = {{"describe", describe, 1}, {"rank", rank, 1}, {"explain", explain, 1},
                {"embed", embed, 0}};
    for (size_t k = 0; k < sizeof cmds / sizeof *cmds; k++) {
        const char *args[] = {cmds[k].cmd, "--help", NULL};
        char *out;
        int rc = cli_run(cli, dir, &out, NULL, args);
        CHECKF(rc == 0, "%s --help: exit %d", cmds[k].cmd, rc);
        check_help_lists(cmds[k].cmd, cmds[k].own, out);
        check_help_lists(cmds[k].cmd, common, out);
        if (cmds[k].scored) check_help_lists(cmds[k].cmd, scorer, out);
        free(out);
    }
}

static void expect_usage(const char *what, const char *const *args, const char *needle)
{
    char *err;
    int rc = cli_run(cli, dir, NULL, &err, args);
    CHECKF(rc == 2, "%s: exit %d, not 2", what, rc);
    CHECKF(strstr(err, needle) != NULL, "%s: message lacks '%s': %s", what, needle, err);
    free(err);
}

static void test_commands_without_an_llm_refuse_llm_options(void)
{
    const char *rank_args[] = {"rank", "--a", "a.txt", "--b", "b.txt", "--hypotheses", "h.txt",
                               "--llm-url", "http://127.0.0.1:9", NULL};
    expect_usage("rank --llm-url", rank_args, "unknown option '--llm-url'");
    const char *embed_args[] = {"embed", "--in", "a.txt", "--out", "a.npy", "--llm-model", "m",
                                NULL};
    expect_usage("embed --llm-model", embed_args, "unknown option '--llm-model'");
    const char *explain_args[] = {"explain", "--a", "a.txt", "--b", "b.txt", "--llm-url",
                                  "http://127.0.0.1:9", NULL};
    expect_usage("explain --llm-url", explain_args, "only describe calls an LLM");
}

static void test_bad_values_name_the_option_and_the_range(void)
{
    const char *top[] = {"describe", "--a", "a.txt", "--b", "b.txt", "--top", "many", NULL};
    expect_usage("--top many", top, "--top must be a whole number from 1 to 100000, not 'many'");
    const char *holdout[] = {"describe", "--holdout", "0.99", NULL};
    expect_usage("--holdout 0.99", holdout, "--holdout must be a number from 0.05 to 0.95");
    const char *temp[] = {"rank", "--score-temperature", "0", NULL};
    expect_usage("--score-temperature 0", temp, "above 0 and at most 1000");
    const char *device[] = {"embed", "--device", "gpu", NULL};
    expect_usage("--device gpu", device, "--device must be cpu, cuda or auto, not 'gpu'");
    const char *method[] = {"explain", "--score-method", "dot", NULL};
    expect_usage("--score-method dot", method, "contrast, cosine or centered");
    const char *empty[] = {"rank", "--hypothesis-field", "", NULL};
    expect_usage("empty field", empty, "--hypothesis-field must not be empty");
    const char *novalue[] = {"rank", "--json", NULL};
    expect_usage("--json at the end", novalue, "--json needs a value");
    const char *seed[] = {"explain", "--seed", "-1", NULL};
    expect_usage("--seed -1", seed, "--seed must be a whole number from 0 to 2147483647");
}

int main(void)
{
    cli = getenv("HR_CLI");
    if (!cli) return test_skip("HR_CLI is not set (run through ctest)");
    snprintf(dir, sizeof dir, "%s/hr-cli-options-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir)) return 1;
    RUN(test_every_option_of_a_command_is_in_its_help);
    RUN(test_commands_without_an_llm_refuse_llm_options);
    RUN(test_bad_values_name_the_option_and_the_range);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return test_summary();
}
