/*
 * tests/test_llm.c: the OpenAI-compatible clients (hyporank/llm.h, chat
 * completions; hyporank/remote_embed.h, embeddings) against the fake server
 * tests/fake_openai_server.py, which this test starts on 127.0.0.1 (found
 * through $HR_SOURCE_DIR, which ctest sets). Every fault the server can inject
 * is met: retries (and their count, seen from the server's /stats), Retry-After
 * in seconds, milliseconds and as a date, timeouts, cut and reset connections,
 * bad bodies, oversized replies; fail-fast on 401 / 404 / connection refused;
 * concurrency; the cache (a rerun sends nothing; a run killed with SIGKILL
 * loses no committed answer); the API key never in the cache or in messages.
 * Skips (77) only when python3 is missing. Network: 127.0.0.1 only.
 */
#define _XOPEN_SOURCE 700 /* mkdtemp */

#include "hyporank/cache.h"
#include "hyporank/hash.h"
#include "hyporank/llm.h"
#include "hyporank/remote_embed.h"
#include "fake_server.h"
#include "test_util.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <sqlite3.h>

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KEY "sk-test-SECRET-7f3a9c2e51d84b06"
#define WRONG_KEY "sk-wrong-SECRET-0d1e2f3a4b5c6d7e"

static pid_t server_pid;
static char base_url[64];
static char tls_url[64]; /* the same server over HTTPS, self-signed */
static char dir[256];

/* ---- helpers ------------------------------------------------------------------------------ */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static const char *path_in(const char *name)
{
    static char buf[8][512];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

/* Starts the fake server; returns 0, -1 when python3 cannot be run, -2 when
 * the server did not start. */
static int start_server(void)
{
    const char *args[] = {"--api-key",    KEY,   "--models",  "judge-1,embed-1",
                          "--embed-dim",  "8",   "--time-limit", "600",
                          "--tls-dir",    dir,   NULL};
    long port[2];
    int rc = fake_server_start(args, 2, &server_pid, port);
    if (rc != 0) return rc;
    snprintf(base_url, sizeof base_url, "http://127.0.0.1:%ld", port[0]);
    snprintf(tls_url, sizeof tls_url, "https://127.0.0.1:%ld", port[1]);
    return 0;
}

static void stop_server(void)
{
    fake_server_stop(server_pid);
}

/* GET /stats from the fake server; caller cJSON_Deletes. */
static cJSON *server_stats(void)
{
    return fake_server_get_json(base_url, "/stats");
}

static long stat_total(const char *name)
{
    cJSON *j = server_stats();
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
    long n = cJSON_IsNumber(v) ? (long)v->valuedouble : -1;
    cJSON_Delete(j);
    return n;
}

/* How many requests carried this user message (chat) or text (embeddings). */
static long stat_count(const cJSON *stats, const char *table, const char *key)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(stats, table);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(t, key);
    return cJSON_IsNumber(v) ? (long)v->valuedouble : 0;
}

static long prompt_count(const char *prompt)
{
    cJSON *j = server_stats();
    long n = stat_count(j, "by_prompt", prompt);
    cJSON_Delete(j);
    return n;
}

/* Options for the fake server: short timeouts and backoffs, so faults cost
 * little time. */
static hr_remote_options opts(void)
{
    hr_remote_options o;
    hr_remote_options_init(&o);
    o.url = base_url;
    o.model = "judge-1";
    o.concurrency = 4;
    o.timeout_s = 2;
    o.connect_timeout_s = 1;
    o.max_retries = 3;
    o.backoff_base_s = 0.02;
    o.backoff_max_s = 0.1;
    o.retry_after_max_s = 5;
    return o;
}

static hr_llm *make_llm(const hr_remote_options *o)
{
    char err[512] = "";
    hr_llm *llm = NULL;
    hr_status s = hr_llm_create(o, &llm, err, sizeof err);
    CHECKF(s == HR_OK, "%s", err);
    return llm;
}

/* Runs n user prompts; results must be freed by the caller. */
static hr_status run_prompts(hr_llm *llm, const char *const *prompts, size_t n,
                             hr_llm_result *res, hr_remote_stats *st, char *err, size_t errlen)
{
    hr_llm_request *rq = calloc(n, sizeof *rq);
    for (size_t i = 0; i < n; i++) {
        rq[i].user = prompts[i];
        rq[i].temperature = 0;
    }
    hr_status s = hr_llm_run(llm, rq, n, res, st, err, errlen);
    free(rq);
    return s;
}

/* One prompt through a new client with options o; returns the status of the
 * run; *res gets the result. */
static hr_status one(const hr_remote_options *o, const char *prompt, hr_llm_result *res,
                     char *err, size_t errlen)
{
    hr_llm *llm = make_llm(o);
    if (!llm)
        return HR_ERR_INTERNAL;
    hr_status s = run_prompts(llm, &prompt, 1, res, NULL, err, errlen);
    hr_llm_destroy(llm);
    return s;
}

static int contains(const char *s, const char *part) { return s && strstr(s, part) != NULL; }

/* ---- chat: answers, usage, JSON mode ----------------------------------------------------- */

static void test_answers_come_back_in_request_order(void)
{
    hr_remote_options o = opts();
    hr_llm *llm = make_llm(&o);
    enum { N = 12 };
    char prompts[N][64];
    const char *p[N];
    for (int i = 0; i < N; i++) {
        snprintf(prompts[i], sizeof prompts[i], "order prompt %d", i);
        p[i] = prompts[i];
    }
    hr_llm_result res[N];
    hr_remote_stats st;
    char err[512] = "";
    long before = stat_total("chat_requests");
    hr_status s = run_prompts(llm, p, N, res, &st, err, sizeof err);
    CHECKF(s == HR_OK, "%s", err);
    for (int i = 0; i < N; i++) {
        char want[80];
        snprintf(want, sizeof want, "echo: %s", p[i]);
        CHECKF(res[i].status == HR_OK && res[i].content && strcmp(res[i].content, want) == 0,
               "result %d: %s", i, res[i].content ? res[i].content : res[i].error);
        CHECK(res[i].attempts == 1 && !res[i].from_cache);
    }
    CHECK(st.items == N && st.sent == N && st.cache_hits == 0 && st.failed == 0);
    CHECK(st.http_requests == N && st.retries == 0);
    CHECK(stat_total("chat_requests") - before == N);
    hr_llm_results_free(res, N);
    hr_llm_destroy(llm);
}

static void test_usage_is_summed_and_priced(void)
{
    hr_remote_options o = opts();
    o.usd_per_mtok_prompt = 2.5;
    o.usd_per_mtok_completion = 10;
    hr_llm *llm = make_llm(&o);
    hr_llm_request rq[3] = {
        {.system = "be brief", .user = "usage one two three", .temperature = 0},
        {.user = "usage four five", .temperature = 0},
        {.user = "usage six seven eight nine ten", .temperature = 0, .max_tokens = 2},
    };
    hr_llm_result res[3];
    hr_remote_stats st;
    char err[512] = "";
    CHECKF(hr_llm_run(llm, rq, 3, res, &st, err, sizeof err) == HR_OK, "%s", err);
    long long pt = 0, ct = 0;
    for (int i = 0; i < 3; i++) {
        pt += res[i].prompt_tokens;
        ct += res[i].completion_tokens;
    }
    /* The fake counts words: prompt 2+4, 3, 6; the answers "echo: ..." have one
     * word more than the prompt, the last cut to max_tokens = 2. */
    CHECKF(pt == 15 && st.prompt_tokens == 15, "prompt tokens %lld / %lld", pt, st.prompt_tokens);
    CHECKF(ct == 5 + 4 + 2 && st.completion_tokens == 11, "completion tokens %lld", ct);
    CHECK(fabs(st.cost_usd - (15 * 2.5 + 11 * 10) / 1e6) < 1e-12);
    CHECK(res[2].truncated == 1 && strcmp(res[2].content, "echo: usage") == 0);
    CHECK(res[0].truncated == 0);
    hr_remote_stats tot = hr_llm_totals(llm);
    CHECK(tot.prompt_tokens == 15 && tot.items == 3);
    hr_llm_results_free(res, 3);
    hr_llm_destroy(llm);
}

static void test_json_object_mode_returns_the_object_asked_for(void)
{
    hr_remote_options o = opts();
    hr_llm *llm = make_llm(&o);
    hr_llm_request rq[3] = {
        {.user = "json [[reply:{\"hypotheses\": [\"a\", \"b\"]}]]", .json_object = 1},
        {.user = "json plain", .json_object = 1},
        {.user = "json [[reply:sorry, no JSON today]]", .json_object = 1},
    };
    hr_llm_result res[3];
    char err[512] = "";
    CHECKF(hr_llm_run(llm, rq, 3, res, NULL, err, sizeof err) == HR_OK, "%s", err);
    cJSON *j = res[0].content ? cJSON_Parse(res[0].content) : NULL;
    CHECKF(cJSON_GetArraySize(cJSON_GetObjectItem(j, "hypotheses")) == 2, "%s", res[0].content);
    cJSON_Delete(j);
    /* The fake answers {"echo": ...} only when response_format was sent. */
    j = res[1].content ? cJSON_Parse(res[1].content) : NULL;
    CHECKF(cJSON_IsString(cJSON_GetObjectItem(j, "echo")), "%s", res[1].content);
    cJSON_Delete(j);
    CHECK(res[2].status != HR_OK && !res[2].content);
    CHECKF(contains(res[2].error, "asked for a JSON object"), "%s", res[2].error);
    hr_llm_results_free(res, 3);
    hr_llm_destroy(llm);
}

static void test_fake_judge_answers_by_its_rule(void)
{
    hr_remote_options o = opts();
    hr_llm *llm = make_llm(&o);
    hr_llm_request rq[2] = {
        {.user = "Hypothesis: mentions a pandemic\nText: Pandemic rules relaxed"},
        {.user = "Hypothesis: mentions a pandemic\nText: Cricket final tonight", .json_object = 1},
    };
    hr_llm_result res[2];
    char err[512] = "";
    CHECKF(hr_llm_run(llm, rq, 2, res, NULL, err, sizeof err) == HR_OK, "%s", err);
    CHECKF(res[0].content && strcmp(res[0].content, "yes") == 0, "%s", res[0].content);
    CHECKF(res[1].content && strcmp(res[1].content, "{\"answer\": \"no\"}") == 0, "%s",
           res[1].content);
    hr_llm_results_free(res, 2);
    hr_llm_destroy(llm);
}

/* ---- retries ------------------------------------------------------------------------------ */

static void test_server_errors_are_retried_until_success(void)
{
    hr_remote_options o = opts();
    hr_llm_result res;
    char err[512] = "";
    const char *p = "retry [[500*2]]";
    CHECKF(one(&o, p, &res, err, sizeof err) == HR_OK, "%s", err);
    CHECKF(res.status == HR_OK && res.attempts == 3, "status %d attempts %d %s", res.status,
           res.attempts, res.error);
    CHECK(prompt_count(p) == 3);
    hr_llm_results_free(&res, 1);

    p = "retry [[503*1]]";
    CHECKF(one(&o, p, &res, err, sizeof err) == HR_OK, "%s", err);
    CHECK(res.status == HR_OK && res.attempts == 2);
    hr_llm_results_free(&res, 1);
}

static void test_retries_run_out_and_fail_only_that_request(void)
{
    hr_remote_options o = opts();
    o.max_retries = 2;
    hr_llm *llm = make_llm(&o);
    const char *p[4] = {"runout ok 1", "runout [[500]]", "runout ok 2", "runout ok 3"};
    hr_llm_result res[4];
    hr_remote_stats st;
    char err[512] = "";
    CHECKF(run_prompts(llm, p, 4, res, &st, err, sizeof err) == HR_OK, "%s", err);
    CHECK(res[0].status == HR_OK && res[2].status == HR_OK && res[3].status == HR_OK);
    CHECK(res[1].status == HR_ERR_IO && !res[1].content);
    CHECKF(contains(res[1].error, "gave up after 3 attempts") && contains(res[1].error, "500"),
           "%s", res[1].error);
    CHECK(prompt_count(p[1]) == 3);
    CHECK(st.failed == 1 && st.retries == 2 && st.http_requests == 6);
    hr_llm_results_free(res, 4);
    hr_llm_destroy(llm);
}

static void test_failing_endpoint_stops_the_batch_without_a_storm(void)
{
    hr_remote_options o = opts();
    o.max_retries = 1;
    o.concurrency = 2;
    hr_llm *llm = make_llm(&o);
    enum { N = 20 };
    char prompts[N][64];
    const char *p[N];
    for (int i = 0; i < N; i++) {
        snprintf(prompts[i], sizeof prompts[i], "storm %d [[500]]", i);
        p[i] = prompts[i];
    }
    hr_llm_result res[N];
    hr_remote_stats st;
    char err[512] = "";
    long before = stat_total("chat_requests");
    hr_status s = run_prompts(llm, p, N, res, &st, err, sizeof err);
    long sent = stat_total("chat_requests") - before;
    CHECKF(s == HR_ERR_IO, "status %d", s);
    CHECKF(contains(err, "requests in a row"), "%s", err);
    /* Three requests of two attempts each, plus at most one other in flight. */
    CHECKF(sent <= 8 && (size_t)sent == st.http_requests, "%ld requests sent", sent);
    for (int i = 0; i < N; i++)
        CHECK(res[i].status != HR_OK && res[i].error);
    hr_llm_results_free(res, N);
    hr_llm_destroy(llm);
}

/* One prompt answered first by a 429 whose Retry-After the prompt names
 * (fake_openai_server.py): the call must succeed on its second attempt.
 * Returns how long it took. o: the client's options. */
static double seconds_for_one_retry(const hr_remote_options *o, const char *prompt)
{
    hr_llm_result res;
    char err[512] = "";
    double t0 = now_s();
    CHECKF(one(o, prompt, &res, err, sizeof err) == HR_OK, "%s: %s", prompt, err);
    double dt = now_s() - t0;
    CHECKF(res.status == HR_OK && res.attempts == 2, "%s: %d attempts", prompt, res.attempts);
    hr_llm_results_free(&res, 1);
    return dt;
}

static void test_retry_after_in_seconds_is_honoured(void)
{
    hr_remote_options o = opts();
    double dt = seconds_for_one_retry(&o, "ra seconds [[429*1:1]]");
    /* The backoff alone would wait at most 0.02 s. */
    CHECKF(dt >= 0.95 && dt < 3, "took %.3f s", dt);
    fprintf(stderr, "  Retry-After: 1 -> %.3f s\n", dt);
}

static void test_retry_after_as_a_date_is_honoured(void)
{
    hr_remote_options o = opts();
    double dt = seconds_for_one_retry(&o, "ra date [[429date*1:2]]");
    /* An HTTP date has whole seconds: 2 s ahead is at least 1 s ahead. */
    CHECKF(dt >= 0.9 && dt < 4, "took %.3f s", dt);
    fprintf(stderr, "  Retry-After: <date 2 s ahead> -> %.3f s\n", dt);
}

static void test_retry_after_ms_is_honoured(void)
{
    hr_remote_options o = opts();
    double dt = seconds_for_one_retry(&o, "ra ms [[429ms*1:400]]");
    CHECKF(dt >= 0.38 && dt < 2, "took %.3f s", dt);
}

static void test_a_long_retry_after_is_capped(void)
{
    hr_remote_options o = opts();
    o.retry_after_max_s = 0.3;
    double dt = seconds_for_one_retry(&o, "ra capped [[429*1:30]]");
    CHECKF(dt >= 0.28 && dt < 2, "took %.3f s", dt);
}

typedef struct first_done {
    double t0, first; /* time of the first finished request */
} first_done;

static void note_first(size_t done, size_t total, void *user)
{
    (void)total;
    first_done *f = user;
    if (done > 0 && f->first == 0)
        f->first = now_s() - f->t0;
}

static void test_a_429_holds_back_the_other_requests(void)
{
    hr_remote_options o = opts();
    first_done f = {now_s(), 0};
    o.progress = note_first;
    o.progress_user = &f;
    hr_llm *llm = make_llm(&o);
    const char *p[3] = {"hold [[429*1:1]]", "hold b", "hold c"};
    hr_llm_result res[3];
    char err[512] = "";
    f.t0 = now_s();
    CHECKF(run_prompts(llm, p, 3, res, NULL, err, sizeof err) == HR_OK, "%s", err);
    /* The first request gets the 429 and makes everyone wait 1 s: nothing can
     * finish before. */
    CHECKF(f.first >= 0.95, "first answer after %.3f s", f.first);
    CHECK(res[0].status == HR_OK && res[1].status == HR_OK && res[2].status == HR_OK);
    hr_llm_results_free(res, 3);
    hr_llm_destroy(llm);
}

static void test_a_slow_reply_times_out_and_is_retried(void)
{
    hr_remote_options o = opts();
    o.timeout_s = 0.5;
    hr_llm_result res;
    char err[512] = "";
    double t0 = now_s();
    CHECKF(one(&o, "slow once [[slow*1:3]]", &res, err, sizeof err) == HR_OK, "%s", err);
    double dt = now_s() - t0;
    CHECKF(res.status == HR_OK && res.attempts == 2, "%d attempts: %s", res.attempts, res.error);
    CHECKF(dt >= 0.45 && dt < 2.5, "took %.3f s", dt);
    hr_llm_results_free(&res, 1);

    /* A reply that never comes in time: the request fails, saying why. Another
     * request first, so that the endpoint counts as reachable. */
    o.max_retries = 1;
    o.timeout_s = 0.3;
    hr_llm *llm = make_llm(&o);
    const char *p[2] = {"slow ok", "slow always [[slow:2]]"};
    hr_llm_result r2[2];
    CHECK(run_prompts(llm, &p[0], 1, r2, NULL, err, sizeof err) == HR_OK);
    hr_llm_results_free(r2, 1);
    t0 = now_s();
    CHECKF(run_prompts(llm, &p[1], 1, r2, NULL, err, sizeof err) == HR_OK, "%s", err);
    dt = now_s() - t0;
    CHECK(r2[0].status == HR_ERR_IO);
    CHECKF(contains(r2[0].error, "timeout") && contains(r2[0].error, "2 attempts"), "%s",
           r2[0].error);
    CHECKF(dt < 1.5, "took %.3f s", dt);
    hr_llm_results_free(r2, 1);
    hr_llm_destroy(llm);
}

/* It was reached: the message says "no reply", not "cannot reach", and two
 * silent attempts stop the batch whatever the retries allow. */
static void test_a_slow_endpoint_that_never_answers_says_no_reply(void)
{
    hr_remote_options o = opts();
    o.max_retries = 5;
    o.timeout_s = 0.3;
    hr_llm_result res;
    char err[512] = "";
    double t0 = now_s();
    hr_status s = one(&o, "never [[slow:2]]", &res, err, sizeof err);
    double dt = now_s() - t0;
    CHECKF(s == HR_ERR_IO, "status %d", s);
    CHECKF(contains(err, "no reply from") && contains(err, "connected, but no reply within 0.3 s") &&
               contains(err, "2 attempts") && !contains(err, "cannot reach"),
           "%s", err);
    CHECKF(dt < 1.5, "took %.2f s (6 attempts would take 1.8 s and more)", dt);
    hr_llm_results_free(&res, 1);
}

static void test_a_deadline_bounds_the_clients_whole_work(void)
{
    hr_remote_options o = opts();
    o.timeout_s = 10;
    o.deadline_s = 0.8;
    hr_llm *llm = make_llm(&o);
    if (!llm) return;
    const char *p[2] = {"deadline one [[slow:3]]", "deadline two [[slow:3]]"};
    hr_llm_result res[2];
    char err[512] = "";
    double t0 = now_s();
    hr_status s = run_prompts(llm, p, 2, res, NULL, err, sizeof err);
    double dt = now_s() - t0;
    CHECKF(s == HR_ERR_IO && contains(err, "deadline of 0.8 s"), "status %d: %s", s, err);
    CHECKF(dt < 1.6, "took %.2f s", dt);
    CHECK(res[0].status != HR_OK && res[1].status != HR_OK);
    CHECKF(contains(hr_llm_last_error(llm), "deadline"), "%s",
           hr_llm_last_error(llm) ? hr_llm_last_error(llm) : "(none)");
    hr_llm_results_free(res, 2);
    /* The deadline is the client's: a later batch stops at once. */
    const char *q = "deadline three";
    t0 = now_s();
    CHECK(run_prompts(llm, &q, 1, res, NULL, err, sizeof err) == HR_ERR_IO);
    CHECK(now_s() - t0 < 0.3);
    hr_llm_results_free(res, 1);
    hr_llm_destroy(llm);
}

typedef struct wait_lines {
    int waiting;
    char last[256];
} wait_lines;

static void on_wait_line(const char *line, void *user)
{
    wait_lines *w = user;
    if (strstr(line, "waiting for ")) {
        w->waiting++;
        snprintf(w->last, sizeof w->last, "%s", line);
    }
}

static void test_a_long_wait_is_told_while_it_lasts(void)
{
    wait_lines w = {0, ""};
    hr_remote_options o = opts();
    o.timeout_s = 5;
    o.wait_notice_s = 0.3;
    o.log = on_wait_line;
    o.log_user = &w;
    hr_llm_result res;
    char err[512] = "";
    CHECKF(one(&o, "patience [[slow:1.1]]", &res, err, sizeof err) == HR_OK, "%s", err);
    CHECK(res.status == HR_OK);
    CHECKF(w.waiting >= 2 && w.waiting <= 4, "%d waiting lines, the last: %s", w.waiting, w.last);
    CHECKF(contains(w.last, base_url) && contains(w.last, " s "), "%s", w.last);
    hr_llm_results_free(&res, 1);
}

static void test_a_reply_that_is_not_utf8_is_refused(void)
{
    hr_remote_options o = opts();
    hr_llm *llm = make_llm(&o);
    if (!llm) return;
    const char *p = "bytes [[nonutf8]]";
    hr_llm_result res;
    char err[512] = "";
    CHECK(run_prompts(llm, &p, 1, &res, NULL, err, sizeof err) == HR_OK);
    CHECKF(res.status == HR_ERR_IO && contains(res.error, "not valid UTF-8"), "%s",
           res.error ? res.error : "(answered)");
    CHECKF(contains(hr_llm_last_error(llm), "not valid UTF-8"), "last error: %s",
           hr_llm_last_error(llm) ? hr_llm_last_error(llm) : "(none)");
    hr_llm_results_free(&res, 1);
    hr_llm_destroy(llm);
}

static void test_cut_and_reset_connections_are_retried(void)
{
    hr_remote_options o = opts();
    hr_llm_result res;
    char err[512] = "";
    CHECKF(one(&o, "cut [[truncate*1]]", &res, err, sizeof err) == HR_OK, "%s", err);
    CHECKF(res.status == HR_OK && res.attempts == 2, "%s", res.error);
    hr_llm_results_free(&res, 1);
    CHECKF(one(&o, "reset [[reset*2]]", &res, err, sizeof err) == HR_OK, "%s", err);
    CHECKF(res.status == HR_OK && res.attempts == 3, "%s", res.error);
    hr_llm_results_free(&res, 1);

    o.max_retries = 1;
    hr_llm *llm = make_llm(&o);
    const char *p[2] = {"cut warm", "cut always [[truncate]]"};
    hr_llm_result r2[2];
    CHECKF(run_prompts(llm, p, 2, r2, NULL, err, sizeof err) == HR_OK, "%s", err);
    CHECK(r2[0].status == HR_OK && r2[1].status == HR_ERR_IO);
    CHECKF(contains(r2[1].error, "cut short"), "%s", r2[1].error);
    hr_llm_results_free(r2, 2);
    hr_llm_destroy(llm);
}

/* ---- bad replies ------------------------------------------------------------------------ */

static void test_bad_replies_fail_only_their_request_and_are_not_cached(void)
{
    hr_remote_options o = opts();
    o.cache_path = path_in("bad.sqlite");
    hr_llm *llm = make_llm(&o);
    const char *p[6] = {"bad ok 1", "bad [[nonjson]]", "bad ok 2", "bad [[schema]]",
                        "bad [[status:400]]", "bad ok 3"};
    hr_llm_result res[6];
    hr_remote_stats st;
    char err[512] = "";
    CHECKF(run_prompts(llm, p, 6, res, &st, err, sizeof err) == HR_OK, "%s", err);
    CHECK(res[0].status == HR_OK && res[2].status == HR_OK && res[5].status == HR_OK);
    CHECKF(res[1].status == HR_ERR_IO && contains(res[1].error, "not JSON"), "%s", res[1].error);
    CHECKF(res[3].status == HR_ERR_IO && contains(res[3].error, "not a chat completion"), "%s",
           res[3].error);
    CHECKF(res[4].status == HR_ERR_IO && contains(res[4].error, "400") &&
               contains(res[4].error, "injected status 400"), "%s", res[4].error);
    CHECK(st.failed == 3 && st.retries == 0);
    CHECK(prompt_count(p[1]) == 1 && prompt_count(p[3]) == 1 && prompt_count(p[4]) == 1);
    hr_llm_results_free(res, 6);
    hr_llm_destroy(llm);

    /* A rerun: the good answers come from the cache, the bad ones are asked again. */
    llm = make_llm(&o);
    CHECKF(run_prompts(llm, p, 6, res, &st, err, sizeof err) == HR_OK, "%s", err);
    CHECK(st.cache_hits == 3 && st.sent == 3);
    CHECK(res[0].from_cache && res[2].from_cache && res[5].from_cache && !res[1].from_cache);
    CHECK(prompt_count(p[1]) == 2 && prompt_count(p[0]) == 1);
    hr_llm_results_free(res, 6);
    hr_llm_destroy(llm);
}

static void test_a_reply_larger_than_the_cap_is_refused(void)
{
    hr_remote_options o = opts();
    o.max_response_bytes = 64 << 10;
    hr_llm *llm = make_llm(&o);
    const char *p[3] = {"cap ok", "cap [[big:300000]]", "cap [[bigchunked:300000]]"};
    hr_llm_result res[3];
    char err[512] = "";
    CHECKF(run_prompts(llm, p, 3, res, NULL, err, sizeof err) == HR_OK, "%s", err);
    CHECK(res[0].status == HR_OK);
    for (int i = 1; i < 3; i++) {
        CHECKF(res[i].status == HR_ERR_IO && contains(res[i].error, "larger than the 65536-byte"),
               "%d: %s", i, res[i].error);
        CHECK(prompt_count(p[i]) == 1); /* not retried */
    }
    hr_llm_results_free(res, 3);
    hr_llm_destroy(llm);
}

/* ---- concurrency and the cache ------------------------------------------------------------- */

static void test_slow_requests_overlap(void)
{
    hr_remote_options o = opts();
    o.concurrency = 8;
    hr_llm *llm = make_llm(&o);
    hr_llm_result res[8];
    char err[512] = "";
    /* The first request of a client goes alone (fail fast); after it, up to 8. */
    const char *warm = "overlap warm";
    CHECK(run_prompts(llm, &warm, 1, res, NULL, err, sizeof err) == HR_OK);
    hr_llm_results_free(res, 1);
    char prompts[8][64];
    const char *p[8];
    for (int i = 0; i < 8; i++) {
        snprintf(prompts[i], sizeof prompts[i], "overlap %d [[slow:0.4]]", i);
        p[i] = prompts[i];
    }
    double t0 = now_s();
    CHECKF(run_prompts(llm, p, 8, res, NULL, err, sizeof err) == HR_OK, "%s", err);
    double dt = now_s() - t0;
    for (int i = 0; i < 8; i++)
        CHECK(res[i].status == HR_OK);
    /* One after another they would take 3.2 s. */
    CHECKF(dt >= 0.38 && dt < 1.2, "8 requests of 0.4 s took %.3f s", dt);
    fprintf(stderr, "  8 requests of 0.4 s, concurrency 8: %.3f s (one after another: 3.2 s)\n",
            dt);
    hr_llm_results_free(res, 8);
    hr_llm_destroy(llm);
}

static void test_a_cached_rerun_sends_nothing(void)
{
    hr_remote_options o = opts();
    o.cache_path = path_in("rerun.sqlite");
    enum { N = 6 };
    char prompts[N][64];
    const char *p[N];
    for (int i = 0; i < N; i++) {
        snprintf(prompts[i], sizeof prompts[i], "rerun %d", i);
        p[i] = prompts[i];
    }
    hr_llm_result res[N], again[N];
    hr_remote_stats st;
    char err[512] = "";
    hr_llm *llm = make_llm(&o);
    CHECKF(run_prompts(llm, p, N, res, &st, err, sizeof err) == HR_OK, "%s", err);
    CHECK(st.sent == N && st.cache_hits == 0);
    hr_llm_destroy(llm);

    long before = stat_total("http_requests");
    llm = make_llm(&o);
    CHECKF(run_prompts(llm, p, N, again, &st, err, sizeof err) == HR_OK, "%s", err);
    CHECK(stat_total("http_requests") == before);
    CHECK(st.cache_hits == N && st.sent == 0 && st.http_requests == 0);
    CHECK(st.prompt_tokens == 0); /* nothing spent */
    for (int i = 0; i < N; i++) {
        CHECK(again[i].status == HR_OK && again[i].from_cache && again[i].attempts == 0);
        CHECK(again[i].content && res[i].content && strcmp(again[i].content, res[i].content) == 0);
        CHECK(again[i].prompt_tokens == res[i].prompt_tokens);
    }
    hr_llm_results_free(res, N);
    hr_llm_results_free(again, N);
    hr_llm_destroy(llm);

    /* Another model, temperature or sample is another entry. */
    hr_llm_request rq = {.user = "rerun 0", .temperature = 0.7};
    llm = make_llm(&o);
    CHECK(hr_llm_run(llm, &rq, 1, res, &st, err, sizeof err) == HR_OK);
    CHECK(st.cache_hits == 0 && st.sent == 1);
    hr_llm_results_free(res, 1);
    rq.temperature = 0;
    rq.sample = 1;
    CHECK(hr_llm_run(llm, &rq, 1, res, &st, err, sizeof err) == HR_OK);
    CHECK(st.cache_hits == 0 && st.sent == 1);
    hr_llm_results_free(res, 1);
    hr_llm_destroy(llm);
}

static void test_identical_requests_in_a_batch_are_sent_once(void)
{
    hr_remote_options o = opts();
    hr_llm *llm = make_llm(&o);
    hr_llm_request rq[4] = {
        {.user = "dup x"}, {.user = "dup y"}, {.user = "dup x"}, {.user = "dup x", .sample = 1}};
    hr_llm_result res[4];
    hr_remote_stats st;
    char err[512] = "";
    CHECKF(hr_llm_run(llm, rq, 4, res, &st, err, sizeof err) == HR_OK, "%s", err);
    for (int i = 0; i < 4; i++)
        CHECK(res[i].status == HR_OK && res[i].content);
    CHECK(strcmp(res[0].content, "echo: dup x") == 0 && strcmp(res[2].content, "echo: dup x") == 0);
    CHECK(prompt_count("dup x") == 2); /* sample 0 once, sample 1 once */
    CHECK(st.http_requests == 3 && st.sent == 4);
    hr_llm_results_free(res, 4);
    hr_llm_destroy(llm);
}

static long cached_answers(const char *path)
{
    sqlite3 *db = NULL;
    long n = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_busy_timeout(db, 5000);
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(db, "SELECT count(*) FROM llm_answer", -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
            n = (long)sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return n;
}

static void test_a_run_killed_mid_batch_resends_only_what_was_not_committed(void)
{
    enum { N = 24 };
    static char prompts[N][64];
    static const char *p[N];
    for (int i = 0; i < N; i++) {
        snprintf(prompts[i], sizeof prompts[i], "kill %d [[slow:0.1]]", i);
        p[i] = prompts[i];
    }
    hr_remote_options o = opts();
    o.concurrency = 2;
    o.cache_path = path_in("kill.sqlite");

    pid_t child = fork();
    if (child == 0) {
        /* The client, in a process of its own, killed half-way by the parent. */
        hr_llm *llm = NULL;
        char err[512];
        if (hr_llm_create(&o, &llm, err, sizeof err) != HR_OK)
            _exit(3);
        hr_llm_result res[N];
        run_prompts(llm, p, N, res, NULL, err, sizeof err);
        _exit(0);
    }
    CHECK(child > 0);
    double t0 = now_s();
    while (now_s() - t0 < 20 && cached_answers(o.cache_path) < 5)
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    kill(child, SIGKILL);
    int status;
    waitpid(child, &status, 0);
    CHECKF(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "the client ended by itself");
    long committed = cached_answers(o.cache_path);
    CHECKF(committed >= 5 && committed < N, "%ld answers committed", committed);

    cJSON *before = server_stats();
    hr_llm *llm = make_llm(&o);
    hr_llm_result res[N];
    hr_remote_stats st;
    char err[512] = "";
    CHECKF(run_prompts(llm, p, N, res, &st, err, sizeof err) == HR_OK, "%s", err);
    cJSON *after = server_stats();
    long resent = (long)cJSON_GetObjectItem(after, "chat_requests")->valuedouble -
                  (long)cJSON_GetObjectItem(before, "chat_requests")->valuedouble;
    CHECKF(resent == N - committed, "rerun sent %ld, %ld were not committed", resent,
           N - committed);
    CHECK((long)st.cache_hits == committed && (long)st.sent == N - committed);
    for (int i = 0; i < N; i++) {
        long b = stat_count(before, "by_prompt", p[i]), a = stat_count(after, "by_prompt", p[i]);
        CHECK(res[i].status == HR_OK);
        if (res[i].from_cache)
            CHECKF(a == b && a == 1, "prompt %d: cached, yet sent again", i);
        else
            CHECKF(a == b + 1, "prompt %d: sent %ld times before, %ld after", i, b, a);
    }
    fprintf(stderr, "  killed after %ld of %d answers; the rerun sent %ld\n", committed, N,
            resent);
    cJSON_Delete(before);
    cJSON_Delete(after);
    hr_llm_results_free(res, N);
    hr_llm_destroy(llm);
}

/* ---- fail fast ---------------------------------------------------------------------------- */

static void test_a_wrong_key_fails_fast_with_one_message(void)
{
    setenv("HYPORANK_API_KEY", WRONG_KEY, 1);
    hr_remote_options o = opts();
    o.concurrency = 8;
    hr_llm *llm = make_llm(&o);
    enum { N = 20 };
    char prompts[N][64];
    const char *p[N];
    for (int i = 0; i < N; i++) {
        snprintf(prompts[i], sizeof prompts[i], "wrong key %d", i);
        p[i] = prompts[i];
    }
    hr_llm_result res[N];
    hr_remote_stats st;
    char err[512] = "";
    long before = stat_total("http_requests");
    hr_status s = run_prompts(llm, p, N, res, &st, err, sizeof err);
    long sent = stat_total("http_requests") - before;
    CHECKF(s == HR_ERR_INPUT, "status %d", s);
    CHECKF(contains(err, "rejected the API key from HYPORANK_API_KEY (401"), "%s", err);
    CHECK(!contains(err, WRONG_KEY) && !contains(err, "SECRET"));
    CHECKF(sent == 1 && st.http_requests == 1, "%ld requests sent", sent);
    for (int i = 0; i < N; i++) {
        CHECK(res[i].status == HR_ERR_INPUT && res[i].error && !contains(res[i].error, "SECRET"));
        CHECK(!res[i].content);
    }
    hr_llm_results_free(res, N);
    hr_llm_destroy(llm);

    /* No key at all. */
    unsetenv("HYPORANK_API_KEY");
    llm = make_llm(&o);
    s = run_prompts(llm, p, 2, res, &st, err, sizeof err);
    CHECK(s == HR_ERR_INPUT && contains(err, "wants an API key"));
    hr_llm_results_free(res, 2);
    hr_llm_destroy(llm);

    /* OPENAI_API_KEY is used when HYPORANK_API_KEY is not set. */
    setenv("OPENAI_API_KEY", KEY, 1);
    CHECK(hr_remote_api_key_source() && strcmp(hr_remote_api_key_source(), "OPENAI_API_KEY") == 0);
    llm = make_llm(&o);
    CHECKF(run_prompts(llm, p, 1, res, &st, err, sizeof err) == HR_OK, "%s", err);
    CHECK(res[0].status == HR_OK);
    hr_llm_results_free(res, 1);
    hr_llm_destroy(llm);
    unsetenv("OPENAI_API_KEY");
    setenv("HYPORANK_API_KEY", KEY, 1);
}

static void test_an_unknown_model_fails_fast(void)
{
    hr_remote_options o = opts();
    o.model = "nope-model";
    o.concurrency = 8;
    hr_llm *llm = make_llm(&o);
    const char *p[10] = {"m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9"};
    hr_llm_result res[10];
    hr_remote_stats st;
    char err[512] = "";
    long before = stat_total("http_requests");
    hr_status s = run_prompts(llm, p, 10, res, &st, err, sizeof err);
    CHECKF(s == HR_ERR_INPUT, "status %d", s);
    char want[160];
    snprintf(want, sizeof want, "model 'nope-model' not found at %s/v1/chat/completions (404",
             base_url);
    CHECKF(contains(err, want), "%s", err);
    CHECK(contains(err, "does not exist"));
    CHECK(stat_total("http_requests") - before == 1);
    hr_llm_results_free(res, 10);
    hr_llm_destroy(llm);
}

static void test_a_forbidden_endpoint_fails_fast(void)
{
    hr_remote_options o = opts();
    hr_llm *llm = make_llm(&o);
    const char *p[3] = {"forbidden [[status:403]]", "forbidden b", "forbidden c"};
    hr_llm_result res[3];
    char err[512] = "";
    long before = stat_total("http_requests");
    hr_status s = run_prompts(llm, p, 3, res, NULL, err, sizeof err);
    CHECKF(s == HR_ERR_INPUT && contains(err, "refused access (403 Forbidden): injected status 403"),
           "%s", err);
    CHECK(stat_total("http_requests") - before == 1);
    hr_llm_results_free(res, 3);
    hr_llm_destroy(llm);

    /* A redirect is reported, not followed. */
    llm = make_llm(&o);
    const char *moved = "moved [[status:301]]";
    s = run_prompts(llm, &moved, 1, res, NULL, err, sizeof err);
    CHECKF(s == HR_ERR_INPUT && contains(err, "redirects (301)"), "%s", err);
    hr_llm_results_free(res, 1);
    hr_llm_destroy(llm);
}

/* A port on 127.0.0.1 where nothing listens. */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static void test_connection_refused_fails_fast(void)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", free_port());
    hr_remote_options o = opts();
    o.url = url;
    o.concurrency = 8;
    hr_llm *llm = make_llm(&o);
    const char *p[10] = {"r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9"};
    hr_llm_result res[10];
    hr_remote_stats st;
    char err[512] = "";
    double t0 = now_s();
    hr_status s = run_prompts(llm, p, 10, res, &st, err, sizeof err);
    double dt = now_s() - t0;
    char want[128];
    snprintf(want, sizeof want, "cannot reach %s: connection refused", url);
    CHECKF(s == HR_ERR_INPUT && strcmp(err, want) == 0, "%s", err);
    CHECK(st.http_requests == 1 && st.retries == 0);
    CHECKF(dt < 0.5, "took %.3f s", dt);
    CHECK(res[9].status == HR_ERR_INPUT && strcmp(res[9].error, want) == 0);
    hr_llm_results_free(res, 10);
    hr_llm_destroy(llm);
}

static void test_tls_certificates_are_always_verified(void)
{
    /* The fake's certificate is self-signed: refused, at once, with one message. */
    hr_remote_options o = opts();
    o.url = tls_url;
    o.concurrency = 8;
    hr_llm *llm = make_llm(&o);
    const char *p[4] = {"tls 1", "tls 2", "tls 3", "tls 4"};
    hr_llm_result res[4];
    hr_remote_stats st;
    char err[512] = "";
    hr_status s = run_prompts(llm, p, 4, res, &st, err, sizeof err);
    char want[128];
    snprintf(want, sizeof want, "cannot reach %s: TLS failed", tls_url);
    CHECKF(s == HR_ERR_INPUT && contains(err, want), "%s", err);
    CHECK(st.http_requests == 1);
    CHECK(prompt_count("tls 1") == 0); /* nothing was sent over the untrusted connection */
    hr_llm_results_free(res, 4);
    hr_llm_destroy(llm);

    /* Trusted when its certificate is given as the CA file. */
    o.ca_file = path_in("fake-cert.pem");
    llm = make_llm(&o);
    s = run_prompts(llm, p, 4, res, &st, err, sizeof err);
    CHECKF(s == HR_OK, "%s", err);
    CHECKF(res[3].status == HR_OK && res[3].content && strcmp(res[3].content, "echo: tls 4") == 0,
           "%s", res[3].error);
    hr_llm_results_free(res, 4);
    hr_llm_destroy(llm);

    char err2[512];
    o.ca_file = path_in("no-such-ca.pem");
    CHECK(hr_llm_create(&o, &llm, err2, sizeof err2) == HR_ERR_INPUT);
    CHECKF(contains(err2, "cannot read the CA file"), "%s", err2);
}

static void test_urls_with_or_without_v1_reach_the_same_endpoint(void)
{
    char want[128];
    snprintf(want, sizeof want, "%s/v1/chat/completions", base_url);
    const char *suffix[] = {"", "/", "/v1", "/v1/", "/v1/chat/completions"};
    for (size_t k = 0; k < sizeof suffix / sizeof suffix[0]; k++) {
        char url[128];
        snprintf(url, sizeof url, "%s%s", base_url, suffix[k]);
        hr_remote_options o = opts();
        o.url = url;
        hr_llm *llm = make_llm(&o);
        CHECKF(llm && strcmp(hr_llm_url(llm), want) == 0, "%s -> %s", url,
               llm ? hr_llm_url(llm) : "");
        hr_llm_destroy(llm);
    }
    /* Credentials in the URL never show. */
    hr_remote_options o = opts();
    o.url = "https://user:pa55word@example.invalid/v1";
    hr_llm *llm = make_llm(&o);
    CHECKF(llm && strcmp(hr_llm_url(llm), "https://example.invalid/v1/chat/completions") == 0,
           "%s", llm ? hr_llm_url(llm) : "");
    hr_llm_destroy(llm);
}

static void test_bad_options_are_refused(void)
{
    char err[512];
    hr_llm *llm = NULL;
    hr_remote_options o = opts();
    o.url = "ftp://127.0.0.1/";
    CHECK(hr_llm_create(&o, &llm, err, sizeof err) == HR_ERR_INPUT && !llm);
    CHECKF(contains(err, "http:// or https://"), "%s", err);
    o = opts();
    o.url = "127.0.0.1:8080";
    CHECK(hr_llm_create(&o, &llm, err, sizeof err) == HR_ERR_INPUT);
    o = opts();
    o.model = NULL;
    CHECK(hr_llm_create(&o, &llm, err, sizeof err) == HR_ERR_INPUT);
    o = opts();
    o.concurrency = 0;
    CHECK(hr_llm_create(&o, &llm, err, sizeof err) == HR_ERR_INPUT);
    o = opts();
    o.timeout_s = 0;
    CHECK(hr_llm_create(&o, &llm, err, sizeof err) == HR_ERR_INPUT);
    o = opts();
    llm = make_llm(&o);
    hr_llm_request rq = {.user = NULL};
    hr_llm_result res;
    CHECK(hr_llm_run(llm, &rq, 1, &res, NULL, err, sizeof err) == HR_ERR_INPUT);
    rq.user = "x";
    rq.temperature = 3;
    CHECK(hr_llm_run(llm, &rq, 1, &res, NULL, err, sizeof err) == HR_ERR_INPUT);
    hr_llm_destroy(llm);
    hr_llm_destroy(NULL);
    hr_remote_embed_destroy(NULL);
}

/* ---- the key stays out of files and messages ------------------------------------------------ */

typedef struct log_count {
    int lines, leaks;
} log_count;

static void log_line(const char *line, void *user)
{
    log_count *c = user;
    c->lines++;
    if (strstr(line, "SECRET"))
        c->leaks++;
}

static int file_has(const char *path, const char *needle)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    size_t got = fread(b, 1, (size_t)n, f);
    fclose(f);
    size_t nl = strlen(needle);
    int hit = 0;
    for (size_t k = 0; !hit && k + nl <= got; k++)
        hit = memcmp(b + k, needle, nl) == 0;
    free(b);
    return hit;
}

static void test_the_api_key_never_reaches_the_cache_or_the_log(void)
{
    log_count logged = {0, 0};
    hr_remote_options o = opts();
    o.cache_path = path_in("key.sqlite");
    o.log = log_line;
    o.log_user = &logged;
    hr_llm *llm = make_llm(&o);
    const char *p[4] = {"key a", "key b [[429*1:0.1]]", "key c [[nonjson]]", "key d [[500*1]]"};
    hr_llm_result res[4];
    char err[512] = "";
    CHECKF(run_prompts(llm, p, 4, res, NULL, err, sizeof err) == HR_OK, "%s", err);
    hr_llm_results_free(res, 4);

    hr_remote_options e = opts();
    e.model = "embed-1";
    e.cache_path = o.cache_path;
    hr_remote_embedder *em = NULL;
    CHECK(hr_remote_embed_create(&e, &em, err, sizeof err) == HR_OK);
    const char *texts[3] = {"key one", "key two", "key three"};
    float *v = NULL;
    int dim = 0;
    CHECKF(hr_remote_embed(em, texts, NULL, 3, &v, &dim, NULL, err, sizeof err) == HR_OK, "%s",
           err);
    free(v);

    /* Looked at while the clients are open (the WAL holds the recent pages),
     * then after they close. */
    const char *files[3] = {o.cache_path, path_in("key.sqlite-wal"), path_in("key.sqlite-shm")};
    for (int round = 0; round < 2; round++) {
        for (int k = 0; k < 3; k++) {
            CHECKF(!file_has(files[k], KEY), "the key is in %s", files[k]);
            CHECKF(!file_has(files[k], "SECRET"), "part of the key is in %s", files[k]);
        }
        hr_llm_destroy(llm);
        hr_remote_embed_destroy(em);
        llm = NULL;
        em = NULL;
    }
    CHECK(file_has(o.cache_path, "echo: key a")); /* the answers are there */
    CHECK(logged.lines == 2 && logged.leaks == 0); /* the 429 and the 500 were logged */
}

/* ---- remote embeddings ---------------------------------------------------------------------- */

/* The fake server's vector for a text (see fake_openai_server.py). */
static void expected_vector(const char *text, int dim, float *v)
{
    hr_sha256 h;
    unsigned char d[32];
    hr_sha256_init(&h);
    hr_sha256_update(&h, text, strlen(text));
    hr_sha256_final(&h, d);
    for (int j = 0; j < dim; j++)
        v[j] = (float)((d[j % 32] - 127.5) / 127.5 + j / 32);
}

static hr_remote_options embed_opts(void)
{
    hr_remote_options o = opts();
    o.model = "embed-1";
    o.embed_batch = 4;
    o.embed_normalize = 0;
    return o;
}

static void test_remote_embeddings_round_trip_in_batches(void)
{
    hr_remote_options o = embed_opts();
    char err[512] = "";
    hr_remote_embedder *e = NULL;
    CHECKF(hr_remote_embed_create(&o, &e, err, sizeof err) == HR_OK, "%s", err);
    enum { N = 10 };
    char texts_buf[N][32];
    const char *texts[N];
    for (int i = 0; i < N; i++) {
        snprintf(texts_buf[i], sizeof texts_buf[i], "round trip text %d", i);
        texts[i] = texts_buf[i];
    }
    CHECK(hr_remote_embed_dim(e) == 0 && hr_remote_embed_model_id(e) == NULL);
    float *v = NULL;
    int dim = 0;
    hr_remote_stats st;
    long before = stat_total("embedding_requests");
    CHECKF(hr_remote_embed(e, texts, NULL, N, &v, &dim, &st, err, sizeof err) == HR_OK, "%s", err);
    CHECK(dim == 8 && hr_remote_embed_dim(e) == 8);
    CHECK(strcmp(hr_remote_embed_model_id(e), "remote:embed-1:8") == 0);
    /* The first text alone (to learn the width), then 9 texts in batches of 4. */
    CHECKF(stat_total("embedding_requests") - before == 4, "%ld requests",
           stat_total("embedding_requests") - before);
    CHECK(st.http_requests == 4 && st.sent == N && st.cache_hits == 0);
    CHECK(st.prompt_tokens == 4 * N);
    float want[8];
    double worst = 0;
    for (int i = 0; i < N && v; i++) {
        expected_vector(texts[i], 8, want);
        for (int j = 0; j < 8; j++)
            worst = fmax(worst, fabs(v[i * 8 + j] - want[j]));
    }
    /* JSON carries the doubles exactly; both sides round them to float once. */
    CHECKF(worst == 0, "largest difference %g", worst);
    free(v);

    /* The width is known now: the next call goes straight to batches. */
    before = stat_total("embedding_requests");
    CHECK(hr_remote_embed(e, texts, NULL, 3, &v, &dim, &st, err, sizeof err) == HR_OK);
    CHECK(stat_total("embedding_requests") - before == 1);
    free(v);
    hr_remote_embed_destroy(e);

    /* Rows normalised on request. */
    o.embed_normalize = 1;
    CHECK(hr_remote_embed_create(&o, &e, err, sizeof err) == HR_OK);
    CHECK(hr_remote_embed(e, texts, NULL, N, &v, &dim, &st, err, sizeof err) == HR_OK);
    for (int i = 0; i < N && v; i++) {
        double ss = 0;
        for (int j = 0; j < dim; j++)
            ss += (double)v[i * dim + j] * v[i * dim + j];
        CHECKF(fabs(ss - 1) < 1e-5, "row %d: squared norm %g", i, ss);
    }
    free(v);
    hr_remote_embed_destroy(e);
}

static void test_remote_embeddings_are_cached(void)
{
    hr_remote_options o = embed_opts();
    o.cache_path = path_in("embed.sqlite");
    char err[512] = "";
    enum { N = 9 };
    char texts_buf[N][32];
    const char *texts[N];
    size_t lens[N];
    for (int i = 0; i < N; i++) {
        snprintf(texts_buf[i], sizeof texts_buf[i], "cached text %d", i);
        texts[i] = texts_buf[i];
        lens[i] = strlen(texts[i]);
    }
    hr_remote_embedder *e = NULL;
    float *v1 = NULL, *v2 = NULL, *v3 = NULL;
    int dim = 0;
    hr_remote_stats st;
    CHECK(hr_remote_embed_create(&o, &e, err, sizeof err) == HR_OK);
    CHECKF(hr_remote_embed(e, texts, lens, N, &v1, &dim, &st, err, sizeof err) == HR_OK, "%s", err);
    hr_remote_embed_destroy(e);

    /* The width unknown: one small request to learn it, the rest from the cache. */
    long before = stat_total("embedding_requests");
    CHECK(hr_remote_embed_create(&o, &e, err, sizeof err) == HR_OK);
    CHECK(hr_remote_embed(e, texts, lens, N, &v2, &dim, &st, err, sizeof err) == HR_OK);
    CHECK(stat_total("embedding_requests") - before == 1);
    CHECK(st.cache_hits == N - 1 && st.sent == 1);
    hr_remote_embed_destroy(e);

    /* The width given: nothing sent at all. */
    o.embed_dim = 8;
    before = stat_total("embedding_requests");
    CHECK(hr_remote_embed_create(&o, &e, err, sizeof err) == HR_OK);
    CHECK(hr_remote_embed(e, texts, lens, N, &v3, &dim, &st, err, sizeof err) == HR_OK);
    CHECK(stat_total("embedding_requests") - before == 0);
    CHECK(st.cache_hits == N && st.sent == 0 && st.http_requests == 0);
    hr_remote_embed_destroy(e);
    CHECK(v1 && v2 && v3 && memcmp(v1, v2, sizeof(float) * 8 * N) == 0 &&
          memcmp(v1, v3, sizeof(float) * 8 * N) == 0);
    free(v1);
    free(v2);
    free(v3);

    hr_cache *c = NULL;
    size_t count = 0;
    CHECK(hr_cache_open(o.cache_path, &c, err, sizeof err) == HR_OK);
    CHECK(hr_cache_count(c, "remote:embed-1:8", &count, err, sizeof err) == HR_OK && count == N);
    hr_cache_close(c);
}

static void test_malformed_embedding_replies_are_rejected(void)
{
    static const struct {
        const char *marker, *says;
    } cases[] = {
        {"embcount", "has 1 vectors for 2 texts"},
        {"embindex", "appears twice"},
        {"embrange", "not a whole number in 0..1"},
        {"embdim", "has 7 numbers, expected 8"},
        {"embinf", "not a finite number"},
        {"embnan", "not JSON"},
        {"embstring", "base64"},
        {"embnodata", "no \"data\" list"},
        {"nonjson", "not JSON"},
    };
    hr_remote_options o = embed_opts();
    o.embed_dim = 8;
    o.cache_path = path_in("malformed.sqlite");
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char bad[64];
        snprintf(bad, sizeof bad, "malformed [[%s]]", cases[k].marker);
        const char *texts[2] = {"malformed fine", bad};
        hr_remote_embedder *e = NULL;
        char err[512] = "";
        CHECK(hr_remote_embed_create(&o, &e, err, sizeof err) == HR_OK);
        float *v = (float *)&err; /* must come back NULL */
        int dim = 0;
        hr_status s = hr_remote_embed(e, texts, NULL, 2, &v, &dim, NULL, err, sizeof err);
        CHECKF(s == HR_ERR_IO && v == NULL, "%s: status %d", cases[k].marker, s);
        CHECKF(contains(err, cases[k].says) && contains(err, "embeddings batch 1 (texts 1..2)"),
               "%s: %s", cases[k].marker, err);
        hr_remote_embed_destroy(e);
    }
    /* Nothing from a bad reply was kept. */
    hr_cache *c = NULL;
    size_t count = 1;
    char err[512];
    CHECK(hr_cache_open(o.cache_path, &c, err, sizeof err) == HR_OK);
    CHECK(hr_cache_count(c, "remote:embed-1:8", &count, err, sizeof err) == HR_OK && count == 0);
    hr_cache_close(c);

    /* A width that does not match the one given. */
    o.embed_dim = 16;
    hr_remote_embedder *e = NULL;
    CHECK(hr_remote_embed_create(&o, &e, err, sizeof err) == HR_OK);
    const char *t = "width text";
    float *v = NULL;
    int dim = 0;
    CHECK(hr_remote_embed(e, &t, NULL, 1, &v, &dim, NULL, err, sizeof err) == HR_ERR_IO);
    CHECKF(contains(err, "has 8 numbers, expected 16 (the width given)"), "%s", err);
    hr_remote_embed_destroy(e);
}

static void test_remote_embeddings_fail_fast_and_retry_like_chat(void)
{
    hr_remote_options o = embed_opts();
    o.model = "nope-embed";
    hr_remote_embedder *e = NULL;
    char err[512] = "";
    CHECK(hr_remote_embed_create(&o, &e, err, sizeof err) == HR_OK);
    const char *texts[6] = {"ff 1", "ff 2", "ff 3", "ff 4", "ff 5", "ff 6"};
    float *v = NULL;
    int dim = 0;
    long before = stat_total("http_requests");
    hr_status s = hr_remote_embed(e, texts, NULL, 6, &v, &dim, NULL, err, sizeof err);
    CHECKF(s == HR_ERR_INPUT && contains(err, "model 'nope-embed' not found"), "%s", err);
    CHECK(stat_total("http_requests") - before == 1 && v == NULL);
    hr_remote_embed_destroy(e);

    o = embed_opts();
    o.embed_batch = 1; /* each text a request of its own, with its own faults */
    CHECK(hr_remote_embed_create(&o, &e, err, sizeof err) == HR_OK);
    const char *flaky[3] = {"flaky a", "flaky b [[500*2]]", "flaky c [[429*1:0.2]]"};
    hr_remote_stats st;
    CHECKF(hr_remote_embed(e, flaky, NULL, 3, &v, &dim, &st, err, sizeof err) == HR_OK, "%s", err);
    CHECK(st.retries == 3);
    free(v);
    hr_remote_embed_destroy(e);

    /* A NUL byte inside a text is refused before anything is sent. */
    CHECK(hr_remote_embed_create(&o, &e, err, sizeof err) == HR_OK);
    const char *nul = "a\0b";
    size_t len = 3;
    CHECK(hr_remote_embed(e, &nul, &len, 1, &v, &dim, NULL, err, sizeof err) == HR_ERR_INPUT);
    hr_remote_embed_destroy(e);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    snprintf(dir, sizeof dir, "/tmp/hr-test-llm-XXXXXX");
    if (!mkdtemp(dir))
        return test_skip("cannot make a temporary folder");
    int started = start_server();
    if (started != 0)
        rmdir(dir);
    if (started == -1)
        return test_skip("python3 (for tests/fake_openai_server.py) cannot be run");
    if (started != 0) {
        fprintf(stderr, "the fake server (%s/tests/fake_openai_server.py) did not start\n",
                getenv("HR_SOURCE_DIR") ? getenv("HR_SOURCE_DIR") : ".");
        return 1;
    }
    setenv("HYPORANK_API_KEY", KEY, 1);
    unsetenv("OPENAI_API_KEY");
    curl_global_init(CURL_GLOBAL_DEFAULT);

    double t0 = now_s();
    RUN(test_answers_come_back_in_request_order);
    RUN(test_usage_is_summed_and_priced);
    RUN(test_json_object_mode_returns_the_object_asked_for);
    RUN(test_fake_judge_answers_by_its_rule);
    RUN(test_server_errors_are_retried_until_success);
    RUN(test_retries_run_out_and_fail_only_that_request);
    RUN(test_failing_endpoint_stops_the_batch_without_a_storm);
    RUN(test_retry_after_in_seconds_is_honoured);
    RUN(test_retry_after_as_a_date_is_honoured);
    RUN(test_retry_after_ms_is_honoured);
    RUN(test_a_long_retry_after_is_capped);
    RUN(test_a_429_holds_back_the_other_requests);
    RUN(test_a_slow_reply_times_out_and_is_retried);
    RUN(test_a_slow_endpoint_that_never_answers_says_no_reply);
    RUN(test_a_deadline_bounds_the_clients_whole_work);
    RUN(test_a_long_wait_is_told_while_it_lasts);
    RUN(test_a_reply_that_is_not_utf8_is_refused);
    RUN(test_cut_and_reset_connections_are_retried);
    RUN(test_bad_replies_fail_only_their_request_and_are_not_cached);
    RUN(test_a_reply_larger_than_the_cap_is_refused);
    RUN(test_slow_requests_overlap);
    RUN(test_a_cached_rerun_sends_nothing);
    RUN(test_identical_requests_in_a_batch_are_sent_once);
    RUN(test_a_run_killed_mid_batch_resends_only_what_was_not_committed);
    RUN(test_a_wrong_key_fails_fast_with_one_message);
    RUN(test_an_unknown_model_fails_fast);
    RUN(test_a_forbidden_endpoint_fails_fast);
    RUN(test_connection_refused_fails_fast);
    RUN(test_tls_certificates_are_always_verified);
    RUN(test_urls_with_or_without_v1_reach_the_same_endpoint);
    RUN(test_bad_options_are_refused);
    RUN(test_the_api_key_never_reaches_the_cache_or_the_log);
    RUN(test_remote_embeddings_round_trip_in_batches);
    RUN(test_remote_embeddings_are_cached);
    RUN(test_malformed_embedding_replies_are_rejected);
    RUN(test_remote_embeddings_fail_fast_and_retry_like_chat);
    fprintf(stderr, "  all cases: %.1f s\n", now_s() - t0);

    stop_server();
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return test_summary();
}
