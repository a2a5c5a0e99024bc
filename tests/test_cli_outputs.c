/*
 * tests/test_cli_outputs.c: no command destroys what the user has. Every
 * output option of every command, given the path of an input, of the cache
 * or of another output, is a usage error (exit 2) that names both options,
 * before any work, and the file is left as it was; an empty output path is
 * a usage error too.
 */
#define _XOPEN_SOURCE 700 /* mkdtemp */

#include "cli_run.h"
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *cli;
static char dir[256];
static char texts[300], npy[300], cache[300], labelled[300];

static void write_text_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECKF(f && fputs(text, f) >= 0, "cannot write %s", path);
    if (f) fclose(f);
}

/* Runs args (NULL-terminated, the clashing path given to out_opt and
 * in_opt); expects exit 2, a message naming both options, and the file's
 * bytes unchanged. */
static void expect_clash(const char *const *args, const char *out_opt, const char *in_opt,
                         const char *file)
{
    char *before = read_all(file), *err = NULL;
    int rc = cli_run(cli, dir, NULL, &err, args);
    char *after = read_all(file);
    CHECKF(rc == 2, "%s %s = %s %s: exit %d: %s", args[0], out_opt, in_opt, file, rc, err);
    CHECKF(strstr(err, out_opt) && strstr(err, in_opt) && strstr(err, "same file"),
           "%s %s = %s: message: %s", args[0], out_opt, in_opt, err);
    CHECKF(strcmp(before, after) == 0, "%s %s = %s: the file changed", args[0], out_opt, in_opt);
    free(before), free(after), free(err);
}

static void test_embed_out_clashing_with_in_or_cache_is_refused(void)
{
    const char *in[] = {"embed", "--in", texts, "--out", texts, "--device", "cpu", NULL};
    expect_clash(in, "--out", "--in", texts);
    const char *c[] = {"embed", "--in", texts, "--out", cache, "--cache", cache, NULL};
    expect_clash(c, "--out", "--cache", cache);
    /* The default cache ($HYPORANK_CACHE) and its write-ahead log count too. */
    setenv("HYPORANK_CACHE", cache, 1);
    const char *dflt[] = {"embed", "--in", texts, "--out", cache, NULL};
    expect_clash(dflt, "--out", "--cache", cache);
    char wal[320];
    snprintf(wal, sizeof wal, "%s-wal", cache);
    write_text_file(wal, "wal");
    const char *w[] = {"embed", "--in", texts, "--out", wal, NULL};
    expect_clash(w, "--out", "--cache", wal);
    unsetenv("HYPORANK_CACHE");
}

static void test_rank_json_clashing_with_any_input_is_refused(void)
{
    const char *names[] = {"--a", "--b", "--hypotheses"};
    for (int k = 0; k < 3; k++) {
        const char *a = k == 0 ? texts : "x.txt", *b = k == 1 ? texts : "x.txt";
        const char *h = k == 2 ? texts : "x.txt";
        const char *args[] = {"rank", "--a", a, "--b", b, "--hypotheses", h, "--json", texts, NULL};
        expect_clash(args, "--json", names[k], texts);
    }
    const char *emb[] = {"--a-emb", "--b-emb", "--h-emb"};
    for (int k = 0; k < 3; k++) {
        const char *args[] = {"rank", "--a-emb", k == 0 ? npy : "a.npy", "--b-emb",
                              k == 1 ? npy : "b.npy", "--h-emb", k == 2 ? npy : "h.npy",
                              "--json", npy, NULL};
        expect_clash(args, "--json", emb[k], npy);
    }
    const char *c[] = {"rank", "--a", texts, "--b", texts, "--hypotheses", texts, "--cache", cache,
                       "--json", cache, NULL};
    expect_clash(c, "--json", "--cache", cache);
}

static void test_describe_outputs_clashing_with_inputs_cache_or_each_other_are_refused(void)
{
    const char *outs[] = {"--json", "--markdown"};
    const char *ins[] = {"--a", "--b", "--hypotheses", "--cache"};
    for (int o = 0; o < 2; o++) {
        for (int k = 0; k < 4; k++) {
            const char *file = k == 3 ? cache : texts;
            const char *args[] = {"describe", "--a", k == 0 ? texts : "x.txt", "--b",
                                  k == 1 ? texts : "x.txt", "--hypotheses",
                                  k == 2 ? texts : "x.txt", "--cache", cache, outs[o], file, NULL};
            expect_clash(args, outs[o], ins[k], file);
        }
    }
    const char *both[] = {"describe", "--a", texts, "--b", texts, "--json", npy, "--markdown", npy,
                          NULL};
    char *before = read_all(npy), *err;
    int rc = cli_run(cli, dir, NULL, &err, both);
    CHECKF(rc == 2 && strstr(err, "--json") && strstr(err, "--markdown") &&
               strstr(err, "one would overwrite the other"),
           "exit %d: %s", rc, err);
    char *after = read_all(npy);
    CHECK(strcmp(before, after) == 0);
    free(before), free(after), free(err);
}

static void test_explain_json_clashing_with_any_input_is_refused(void)
{
    const char *data[] = {"explain", "--data", labelled, "--label-field", "label", "--json",
                          labelled, NULL};
    expect_clash(data, "--json", "--data", labelled);
    const char *a[] = {"explain", "--a", texts, "--b", "x.txt", "--json", texts, NULL};
    expect_clash(a, "--json", "--a", texts);
    const char *b[] = {"explain", "--a", "x.txt", "--b", texts, "--json", texts, NULL};
    expect_clash(b, "--json", "--b", texts);
    const char *h[] = {"explain", "--a", "x.txt", "--b", "y.txt", "--hypotheses", texts, "--json",
                       texts, NULL};
    expect_clash(h, "--json", "--hypotheses", texts);
    const char *c[] = {"explain", "--a", "x.txt", "--b", "y.txt", "--cache", cache, "--json", cache,
                       NULL};
    expect_clash(c, "--json", "--cache", cache);
}

static void test_empty_output_paths_are_usage_errors(void)
{
    const char *cases[][12] = {
        {"embed", "--in", texts, "--out", "", NULL},
        {"rank", "--a", texts, "--b", texts, "--hypotheses", texts, "--json", "", NULL},
        {"describe", "--a", texts, "--b", texts, "--json", "", NULL},
        {"describe", "--a", texts, "--b", texts, "--markdown", "", NULL},
        {"explain", "--a", texts, "--b", texts, "--json", "", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *err;
        int rc = cli_run(cli, dir, NULL, &err, cases[i]);
        CHECKF(rc == 2 && strstr(err, "the path is empty"), "%s: exit %d: %s", cases[i][0], rc,
               err);
        free(err);
    }
}

int main(void)
{
    cli = getenv("HR_CLI");
    if (!cli) return test_skip("HR_CLI is not set (run through ctest)");
    snprintf(dir, sizeof dir, "%s/hyporank-outputs-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir)) return 1;
    snprintf(texts, sizeof texts, "%s/texts.txt", dir);
    snprintf(npy, sizeof npy, "%s/a.npy", dir);
    snprintf(cache, sizeof cache, "%s/cache.sqlite", dir);
    snprintf(labelled, sizeof labelled, "%s/labelled.jsonl", dir);
    write_text_file(labelled, "{\"text\": \"a\", \"label\": 1}\n{\"text\": \"b\", \"label\": 0}\n");
    write_text_file(texts, "the first text\nthe second text\nthe third text\n");
    write_text_file(npy, "not really a .npy, but an input all the same");
    write_text_file(cache, "stands for the cache");
    RUN(test_embed_out_clashing_with_in_or_cache_is_refused);
    RUN(test_rank_json_clashing_with_any_input_is_refused);
    RUN(test_describe_outputs_clashing_with_inputs_cache_or_each_other_are_refused);
    RUN(test_explain_json_clashing_with_any_input_is_refused);
    RUN(test_empty_output_paths_are_usage_errors);
    int rc = test_summary();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (rc == 0 && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return rc;
}
