/*
 * tests/test_cli_describe.c: `hyporank describe` as a user runs it ($HR_CLI):
 * the offline demo finds the pandemic in the bundled 2020 headlines, identical
 * corpora give "no significant difference", and bad input exits 2. With an
 * LLM: verdicts and a cached rerun; an endpoint that answers 400, never
 * replies, sends 50 MB or non-UTF-8 answers, or outlasts --llm-deadline
 * makes describe say so and exit 3 in bounded time, with the offline report
 * written; missing verdicts are a warning.
 */
#define _XOPEN_SOURCE 700 /* mkdtemp */

#include "fake_server.h"
#include "cli_run.h"
#include "test_util.h"

#include <cjson/cJSON.h>
#include <signal.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *cli;
static char dir[256];

/* Runs the program with args (NULL-terminated); stdout and stderr are kept in
 * *out and *err (may be NULL). Returns the exit status. */
static int run(char **out, char **err, const char *const *args)
{
    return cli_run(cli, dir, out, err, args);
}

static char example[2][512], cache[300];

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void test_demo_puts_the_pandemic_among_the_top_differences_of_2020(void)
{
    char json[300];
    snprintf(json, sizeof json, "%s/demo.json", dir);
    const char *args[] = {"describe", "--a", example[0], "--b", example[1], "--json", json,
                          "--cache", cache, "--quiet", NULL};
    char *out, *err;
    const double t0 = now_s();
    int rc = run(&out, &err, args);
    const double wall = now_s() - t0;
    CHECKF(rc == 0, "exit %d: %s", rc, err);
    char *text = read_all(json);
    cJSON *root = cJSON_Parse(text);
    CHECKF(root != NULL, "the JSON does not parse");
    cJSON *hyps = cJSON_GetObjectItem(root, "hypotheses");
    CHECK(cJSON_GetObjectItem(root, "n_a") && cJSON_GetObjectItem(root, "n_a")->valuedouble == 1000);
    CHECK(cJSON_GetObjectItem(root, "encoder") != NULL);
    /* Where the time went: every phase, none counted twice (embedding is
     * done inside propose and score too, and counted under embed only). */
    const char *phases[] = {"read", "propose", "embed", "score", "findings", "judge", "report"};
    cJSON *secs = cJSON_GetObjectItem(root, "seconds");
    double sum = 0.0;
    for (size_t p = 0; p < sizeof phases / sizeof phases[0]; p++) {
        cJSON *v = cJSON_GetObjectItem(secs, phases[p]);
        CHECKF(cJSON_IsNumber(v) && v->valuedouble >= 0.0, "seconds.%s missing or negative",
               phases[p]);
        sum += cJSON_IsNumber(v) ? v->valuedouble : 0.0;
    }
    CHECKF(sum > 0.0 && sum <= wall, "the phases sum to %.3f s, the process took %.3f s", sum, wall);
    int pandemic_rank = 0, seen_a = 0, last_finding = 1;
    cJSON *h;
    cJSON_ArrayForEach(h, hyps) {
        const char *fields[] = {"rank", "index", "text", "source", "direction", "auroc",
                                "mean_a", "mean_b", "p_value", "q_value", "share_a", "share_b",
                                "effect", "effect_ci", "explained_by", "paraphrases", "finding"};
        for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++)
            CHECKF(cJSON_GetObjectItem(h, fields[f]) != NULL, "missing field %s", fields[f]);
        const int finding = cJSON_IsTrue(cJSON_GetObjectItem(h, "finding"));
        CHECK(finding <= last_finding); /* the findings first */
        last_finding = finding;
        const int dir_a = strcmp(cJSON_GetObjectItem(h, "direction")->valuestring, "A") == 0;
        if (!dir_a || seen_a >= 5) continue;
        seen_a++;
        const char *t = cJSON_GetObjectItem(h, "text")->valuestring;
        if (!pandemic_rank && (strstr(t, "covid") || strstr(t, "COVID") || strstr(t, "coronavirus") ||
                               strstr(t, "pandemic")))
            pandemic_rank = seen_a;
    }
    CHECKF(pandemic_rank >= 1, "no pandemic hypothesis among the top 5 of A:\n%s", out);
    CHECKF(strstr(out, "distinct difference") != NULL, "no headline count of findings:\n%s", out);
    /* The clusters of typical texts: both sides, each with its nearest candidates. */
    int sides[2] = {0, 0};
    cJSON *cl;
    cJSON_ArrayForEach(cl, cJSON_GetObjectItem(root, "clusters")) {
        const char *side = cJSON_GetObjectItem(cl, "side")->valuestring;
        sides[side[0] == 'B']++;
        CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(cl, "nearest")) > 0);
        CHECK(cJSON_GetObjectItem(cl, "size")->valuedouble >= 1);
    }
    CHECKF(sides[0] > 0 && sides[1] > 0, "clusters: %d of A, %d of B", sides[0], sides[1]);
    cJSON_Delete(root);
    free(text), free(out), free(err);
}

static void test_identical_corpora_show_no_significant_difference(void)
{
    char json[300];
    snprintf(json, sizeof json, "%s/same.json", dir);
    const char *args[] = {"describe", "--a", example[0], "--b", example[0], "--json", json,
                          "--cache", cache, "--quiet", "--examples", "0", NULL};
    char *out, *err;
    int rc = run(&out, &err, args);
    CHECKF(rc == 0, "exit %d: %s", rc, err);
    CHECKF(strstr(out, "No significant difference") != NULL, "output:\n%s", out);
    char *text = read_all(json);
    cJSON *root = cJSON_Parse(text);
    CHECK(root && cJSON_GetObjectItem(root, "significant_a")->valuedouble == 0 &&
          cJSON_GetObjectItem(root, "significant_b")->valuedouble == 0);
    cJSON_Delete(root);
    free(text), free(out), free(err);
}

static void expect_exit_2(const char *what, const char *const *args, const char *needle)
{
    char *err;
    int rc = run(NULL, &err, args);
    CHECKF(rc == 2, "%s: exit %d: %s", what, rc, err);
    CHECKF(strstr(err, needle) != NULL, "%s: message lacks '%s': %s", what, needle, err);
    free(err);
}

static void test_bad_input_exits_2_with_a_clear_word(void)
{
    char one[300];
    snprintf(one, sizeof one, "%s/one.txt", dir);
    FILE *f = fopen(one, "w");
    fputs("a single text\n", f);
    fclose(f);
    const char *single[] = {"describe", "--a", one, "--b", example[1], "--no-cache", NULL};
    expect_exit_2("one text", single, "at least 2 texts");

    char *goal = malloc(10001);
    memset(goal, 'g', 10000);
    goal[10000] = '\0';
    const char *long_goal[] = {"describe", "--a", example[0], "--b", example[1], "--goal", goal,
                               "--no-cache", NULL};
    expect_exit_2("long goal", long_goal, "--goal is 10000 characters");
    free(goal);

    const char *missing[] = {"describe", "--a", "/nonexistent/a.jsonl", "--b", example[1], NULL};
    expect_exit_2("missing file", missing, "/nonexistent/a.jsonl");
    const char *no_b[] = {"describe", "--a", example[0], NULL};
    expect_exit_2("no --b", no_b, "--b");
    const char *nothing[] = {"describe", "--a", example[0], "--b", example[1], "--no-bank",
                             "--no-ngrams", NULL};
    expect_exit_2("no candidates", nothing, "no candidates");
}

static void test_llm_judge_reports_v_and_a_rerun_comes_from_the_cache(void)
{
    long port;
    pid_t server = 0;
    const char *server_args[] = {"--api-key", "test-key", "--time-limit", "300", NULL};
    CHECKF(fake_server_start(server_args, 1, &server, &port) == 0, "the fake server did not start");
    if (server <= 0) return;
    char url[64], json[300];
    snprintf(url, sizeof url, "http://127.0.0.1:%ld", port);
    snprintf(json, sizeof json, "%s/judged.json", dir);
    const char *args[] = {"describe", "--a", example[0], "--b", example[1], "--json", json,
                          "--cache", cache, "--llm-url", url, "--llm-model", "judge-1",
                          "--verify-top", "3", "--verify-samples", "10", "--examples", "0", NULL};
    char *out, *err;
    int rc = run(&out, &err, args);
    CHECKF(rc == 0, "exit %d: %s", rc, err);
    CHECKF(strstr(out, "judge: true of") != NULL, "no verdicts in the table:\n%s", out);
    /* 3 proposal rounds (the default) and 3 hypotheses x 2 requests of 10 texts */
    /* the LLM's candidates are scored like the others: significant, as a
     * finding or explained by one (its paraphrase, with this fake LLM) */
    char *jtext = read_all(json);
    cJSON *jroot = jtext ? cJSON_Parse(jtext) : NULL;
    int llm_rows = 0;
    cJSON *lh;
    cJSON_ArrayForEach(lh, cJSON_GetObjectItem(jroot, "hypotheses"))
        llm_rows += strcmp(cJSON_GetObjectItem(lh, "source")->valuestring, "llm") == 0 &&
                    cJSON_IsTrue(cJSON_GetObjectItem(lh, "significant")) &&
                    (cJSON_IsTrue(cJSON_GetObjectItem(lh, "finding")) ||
                     cJSON_IsNumber(cJSON_GetObjectItem(lh, "explained_by")));
    CHECKF(llm_rows > 0, "no significant LLM candidate:\n%s", out);
    cJSON_Delete(jroot);
    free(jtext);
    CHECKF(strstr(out, "9 requests (0 from the cache)") != NULL, "output:\n%s", out);
    char *text = read_all(json);
    cJSON *root = cJSON_Parse(text);
    int judged = 0;
    cJSON *h;
    cJSON_ArrayForEach(h, cJSON_GetObjectItem(root, "hypotheses")) {
        cJSON *v = cJSON_GetObjectItem(h, "verification");
        if (!v) continue;
        judged++;
        CHECK(cJSON_GetObjectItem(v, "v") && cJSON_GetObjectItem(v, "ci_low") &&
              cJSON_GetObjectItem(v, "ci_high") && cJSON_GetObjectItem(v, "p_value"));
        CHECK(cJSON_GetObjectItem(v, "n_a_answered")->valuedouble +
                  cJSON_GetObjectItem(v, "n_a_missing")->valuedouble == 10);
    }
    CHECKF(judged == 3, "%d hypotheses judged", judged);
    cJSON_Delete(root);
    free(text), free(out), free(err);

    /* Again: every answer from the cache. */
    rc = run(&out, &err, args);
    CHECKF(rc == 0 && strstr(out, "9 requests (9 from the cache)") != NULL, "rerun:\n%s%s", out, err);
    free(out), free(err);

    /* An unknown model: one clear message, exit 2. */
    const char *bad[] = {"describe", "--a", example[0], "--b", example[1], "--cache", cache,
                         "--llm-url", url, "--llm-model", "no-such-model", "--quiet", NULL};
    rc = run(&out, &err, bad);
    CHECKF(rc == 2 && strstr(err, "no-such-model") != NULL, "exit %d: %s", rc, err);
    free(out), free(err);
    fake_server_stop(server);
}

static char small[2][300]; /* 200 texts of each example: quick LLM runs */

/* describe against a fake server that applies `fault` to every request:
 * the exit status, stderr in *err, the JSON's "llm" object's status in
 * *status (a static string), and the seconds it took. */
static int describe_with_fault(const char *fault, const char *const *extra, char **err,
                               char *status, size_t status_len, double *secs)
{
    pid_t server = 0;
    long port = 0;
    const char *server_args[] = {"--time-limit", "120", "--fault", fault, NULL};
    CHECKF(fake_server_start(server_args, 1, &server, &port) == 0, "the fake server did not start");
    char url[64], json[300], html[300], c[300];
    snprintf(url, sizeof url, "http://127.0.0.1:%ld", port);
    snprintf(json, sizeof json, "%s/fault.json", dir);
    snprintf(html, sizeof html, "%s/fault.html", dir);
    snprintf(c, sizeof c, "%s/fault-cache.sqlite", dir);
    remove(json);
    remove(html);
    remove(c);
    const char *args[40] = {"describe", "--a", small[0], "--b", small[1], "--json", json,
                            "--html", html, "--cache", c, "--llm-url", url, "--llm-model",
                            "judge-1", "--verify-top", "2", "--verify-samples", "5",
                            "--examples", "0"};
    int n = 21;
    for (int k = 0; extra && extra[k] && n < 38; k++) args[n++] = extra[k];
    args[n] = NULL;
    char *out = NULL;
    double t0 = now_s();
    int rc = run(&out, err, args);
    *secs = now_s() - t0;
    fake_server_stop(server);
    char *text = read_all(json);
    cJSON *root = cJSON_Parse(text);
    cJSON *st = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "llm"), "status");
    snprintf(status, status_len, "%s", cJSON_IsString(st) ? st->valuestring : "(no JSON)");
    CHECKF(root && cJSON_GetArraySize(cJSON_GetObjectItem(root, "hypotheses")) > 0,
           "%s: no offline report in the JSON", fault);
    /* The header names the LLM as a source only when it proposed. */
    CHECKF(strcmp(status, "failed") != 0 || (strstr(out, "+ LLM (failed);") && !strstr(out, "+ LLM;")),
           "%s: the header:\n%.300s", fault, out);
    /* The page says what became of the LLM as plainly as the JSON. */
    char *page = read_all(html);
    const char *said = strcmp(status, "failed") == 0    ? "failed: not one usable answer"
                       : strcmp(status, "partial") == 0 ? "partial: some answers are missing"
                                                        : NULL;
    CHECKF(page && (!said || strstr(page, said)), "%s: the page does not say \"%s\"", fault,
           said ? said : "");
    free(page);
    cJSON_Delete(root);
    free(text), free(out);
    return rc;
}

static void test_an_llm_that_never_gives_a_usable_answer_exits_3_and_keeps_the_report(void)
{
    static const struct {
        const char *fault, *needle;
        const char *extra[4];
    } cases[] = {
        {"status:400", "answered 400", {NULL}},
        {"hang", "no reply from", {"--llm-timeout", "1", NULL}},
        {"big:50000000", "larger than", {NULL}},
        {"nonutf8", "not valid UTF-8", {NULL}},
        {"slow:5", "deadline of 2 s", {"--llm-deadline", "2", NULL}},
    };
    /* The offline run's own time (slow under the sanitizers): the LLM's
     * failure may add a bounded wait on top of it, not minutes. */
    char json[300], c[300];
    snprintf(json, sizeof json, "%s/offline.json", dir);
    snprintf(c, sizeof c, "%s/offline-cache.sqlite", dir);
    const char *offline[] = {"describe", "--a", small[0], "--b", small[1], "--json", json,
                             "--cache", c, "--examples", "0", NULL};
    double t0 = now_s();
    CHECK(run(NULL, NULL, offline) == 0);
    const double base = now_s() - t0;
    fprintf(stderr, "  offline: %.1f s\n", base);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *err = NULL, status[64];
        double secs;
        int rc = describe_with_fault(cases[i].fault, cases[i].extra, &err, status, sizeof status,
                                     &secs);
        fprintf(stderr, "  --fault %s: exit %d in %.1f s\n", cases[i].fault, rc, secs);
        CHECKF(rc == 3, "%s: exit %d: %s", cases[i].fault, rc, err);
        CHECKF(strstr(err, "gave no usable answer") && strstr(err, cases[i].needle),
               "%s: stderr: %s", cases[i].fault, err);
        CHECKF(strcmp(status, "failed") == 0, "%s: llm.status %s", cases[i].fault, status);
        CHECKF(secs < 2 * base + 20, "%s: took %.1f s (offline %.1f s)", cases[i].fault, secs,
               base);
        free(err);
    }
}

static void test_missing_verdicts_are_a_warning_recorded_in_the_json(void)
{
    char *err = NULL, status[64];
    double secs;
    int rc = describe_with_fault("vpartial", NULL, &err, status, sizeof status, &secs);
    CHECKF(rc == 0, "exit %d: %s", rc, err);
    CHECKF(strstr(err, "warning: the LLM judge-1 gave 3 of 3 proposal rounds and"), "%s", err);
    CHECKF(strcmp(status, "partial") == 0, "llm.status %s", status);
    free(err);
}

int main(void)
{
    cli = getenv("HR_CLI");
    const char *src = getenv("HR_SOURCE_DIR");
    if (!cli || !src) return test_skip("HR_CLI or HR_SOURCE_DIR is not set (run through ctest)");
    snprintf(example[0], sizeof example[0], "%s/examples/headlines-2020.jsonl", src);
    snprintf(example[1], sizeof example[1], "%s/examples/headlines-2019.jsonl", src);
    snprintf(dir, sizeof dir, "%s/hyporank-describe-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir)) return 1;
    snprintf(cache, sizeof cache, "%s/cache.sqlite", dir);
    for (int k = 0; k < 2; k++) {
        snprintf(small[k], sizeof small[k], "%s/small-%d.jsonl", dir, k);
        char cmd[2048];
        snprintf(cmd, sizeof cmd, "head -n 200 '%.600s' > '%.600s'", example[k], small[k]);
        if (system(cmd) != 0) return 1;
    }
    RUN(test_demo_puts_the_pandemic_among_the_top_differences_of_2020);
    RUN(test_identical_corpora_show_no_significant_difference);
    RUN(test_bad_input_exits_2_with_a_clear_word);
    setenv("HYPORANK_API_KEY", "test-key", 1);
    RUN(test_llm_judge_reports_v_and_a_rerun_comes_from_the_cache);
    RUN(test_an_llm_that_never_gives_a_usable_answer_exits_3_and_keeps_the_report);
    RUN(test_missing_verdicts_are_a_warning_recorded_in_the_json);
    int rc = test_summary();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (rc == 0 && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return rc;
}
