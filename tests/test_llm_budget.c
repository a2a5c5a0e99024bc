/*
 * tests/test_llm_budget.c: the chat client's spending caps and cost
 * estimates (hyporank/llm.h: hr_llm_set_budget, hr_llm_estimate,
 * hr_llm_cached, hr_llm_builtin_price), against tests/fake_openai_server.py
 * on 127.0.0.1, whose usage counts words: requests are admitted in order
 * while they fit, the rest are refused without being sent, answers from the
 * cache are free, and a reply without usage is charged its estimate.
 * Skips (77) when python3 is missing.
 */
#define _XOPEN_SOURCE 700 /* mkdtemp */

#include "hyporank/llm.h"
#include "fake_server.h"
#include "test_util.h"

#include <math.h>
#include <stdint.h>
#include <unistd.h>

static char dir[256], url[64], url_no_usage[64];

static hr_llm *client(const char *u, const char *model, const char *cache, double price)
{
    hr_remote_options o;
    hr_remote_options_init(&o);
    o.url = u;
    o.model = model;
    o.cache_path = cache;
    o.concurrency = 2;
    o.usd_per_mtok_prompt = o.usd_per_mtok_completion = price;
    hr_llm *llm = NULL;
    char err[256];
    CHECKF(hr_llm_create(&o, &llm, err, sizeof err) == HR_OK, "%s", err);
    return llm;
}

static long chat_requests(const char *u)
{
    cJSON *j = fake_server_get_json(u, "/stats");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "chat_requests");
    const long n = cJSON_IsNumber(v) ? (long)v->valuedouble : -1;
    cJSON_Delete(j);
    return n;
}

/* n requests "question i of tag: ..." */
static void requests(hr_llm_request *rq, char (*text)[96], size_t n, const char *tag)
{
    for (size_t i = 0; i < n; i++) {
        snprintf(text[i], 96, "question %zu of %s: is the sky blue over the harbour today?", i, tag);
        rq[i] = (hr_llm_request){.user = text[i], .temperature = 0, .expect_tokens = 8};
    }
}

static void test_caps_admit_requests_in_order_and_cache_hits_are_free(void)
{
    char cache[300];
    snprintf(cache, sizeof cache, "%s/count.sqlite", dir);
    hr_llm *llm = client(url, "judge-1", cache, 0);
    if (!llm) return;
    hr_llm_request rq[5];
    char text[5][96];
    requests(rq, text, 5, "count");
    hr_llm_result res[5];
    hr_remote_stats st;
    char err[256];
    size_t left;
    double usd;
    hr_llm_budget_left(llm, &left, &usd);
    CHECK(left == SIZE_MAX && isinf(usd));
    hr_llm_set_budget(llm, 3, 0);
    const long before = chat_requests(url);
    CHECKF(hr_llm_run(llm, rq, 5, res, &st, err, sizeof err) == HR_OK, "%s", err);
    CHECK(chat_requests(url) - before == 3 && st.sent == 3 && st.failed == 0);
    for (int i = 0; i < 5; i++)
        CHECKF(res[i].not_sent == (i >= 3) && (res[i].status == HR_OK) == (i < 3) &&
                   (i < 3 || strstr(res[i].error, "budget")),
               "request %d: status %d, not sent %d", i, res[i].status, res[i].not_sent);
    hr_llm_results_free(res, 5);
    hr_llm_budget_left(llm, &left, NULL);
    CHECK(left == 0);
    unsigned char hit[5];
    CHECK(hr_llm_cached(llm, rq, 5, hit, err, sizeof err) == HR_OK);
    CHECK(hit[0] && hit[1] && hit[2] && !hit[3] && !hit[4]);
    /* Spent: nothing more may go out, but the cache still answers. */
    CHECK(hr_llm_run(llm, rq, 5, res, &st, err, sizeof err) == HR_OK);
    CHECK(st.cache_hits == 3 && res[2].from_cache && res[3].not_sent && res[4].not_sent);
    CHECK(chat_requests(url) - before == 3);
    hr_llm_results_free(res, 5);
    hr_llm_set_budget(llm, 2, 0); /* a new cap: the last two go */
    CHECK(hr_llm_run(llm, rq, 5, res, &st, err, sizeof err) == HR_OK);
    CHECK(st.cache_hits == 3 && st.sent == 2 && !res[3].not_sent && !res[4].not_sent);
    CHECK(chat_requests(url) - before == 5);
    hr_llm_results_free(res, 5);
    hr_llm_destroy(llm);
}

static void test_a_dollar_cap_holds_on_usage_and_on_estimates(void)
{
    /* At $1 per million tokens; the fake server counts words as tokens. */
    for (int k = 0; k < 2; k++) {
        hr_llm *llm = client(k ? url_no_usage : url, "judge-1", NULL, 1.0);
        if (!llm) return;
        hr_llm_request rq[6];
        char text[6][96];
        requests(rq, text, 6, k ? "dollars-no-usage" : "dollars");
        long long pt, ct;
        const double est = hr_llm_estimate(llm, &rq[0], &pt, &ct);
        /* before any reply: 3 bytes a token, plus the chat framing; 8 answer tokens */
        CHECKF(pt == (long long)ceil((double)strlen(text[0]) / 3.0) + 12 && ct == 8 &&
                   fabs(est - (double)(pt + ct) / 1e6) < 1e-15,
               "%lld + %lld tokens, $%g", pt, ct, est);
        const double cap = 2.5 * est; /* two requests fit, the third does not */
        hr_llm_set_budget(llm, 0, cap);
        hr_llm_result res[6];
        hr_remote_stats st;
        char err[256];
        const long before = chat_requests(k ? url_no_usage : url);
        CHECKF(hr_llm_run(llm, rq, 6, res, &st, err, sizeof err) == HR_OK, "%s", err);
        CHECKF(chat_requests(k ? url_no_usage : url) - before == 2 && st.sent == 2,
               "%ld sent", chat_requests(k ? url_no_usage : url) - before);
        const double spent = hr_llm_spent_usd(llm);
        CHECKF(spent > 0 && spent <= cap, "spent $%g of $%g", spent, cap);
        if (k) /* no usage block: the estimates are what was spent */
            CHECKF(fabs(spent - 2 * est) < 1e-15 && st.prompt_tokens == 0, "spent $%g", spent);
        else  /* the replies' usage: fewer tokens than the estimate (words, not bytes / 3) */
            CHECKF(spent < 2 * est && st.prompt_tokens > 0, "spent $%g", spent);
        hr_llm_results_free(res, 6);
        /* After replies with usage, the estimate follows their bytes per token. */
        if (!k) {
            long long pt2;
            hr_llm_estimate(llm, &rq[3], &pt2, NULL);
            CHECKF(pt2 < pt, "%lld tokens after usage, %lld before", pt2, pt);
        }
        hr_llm_destroy(llm);
    }
}

static void test_the_price_table_knows_common_models_by_prefix(void)
{
    double in, out;
    CHECK(strcmp(hr_llm_builtin_price("gpt-4o-mini-2024-07-18", &in, &out), "gpt-4o-mini") == 0 &&
          in == 0.15 && out == 0.60);
    CHECK(strcmp(hr_llm_builtin_price("gpt-4o", &in, &out), "gpt-4o") == 0 && in == 2.50);
    CHECK(strcmp(hr_llm_builtin_price("gpt-4.1-mini", &in, &out), "gpt-4.1-mini") == 0);
    CHECK(hr_llm_builtin_price("llama3.1:8b", &in, &out) == NULL);
    CHECK(hr_llm_builtin_price(NULL, NULL, NULL) == NULL);
}

int main(void)
{
    snprintf(dir, sizeof dir, "%s/hr-test-budget-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir)) return 1;
    pid_t s1 = 0, s2 = 0;
    long p1 = 0, p2 = 0;
    const char *a1[] = {"--models", "judge-1", "--time-limit", "120", NULL};
    const char *a2[] = {"--models", "judge-1", "--local-no-usage", "--time-limit", "120", NULL};
    const int rc = fake_server_start(a1, 1, &s1, &p1);
    if (rc == -1) return test_skip("python3 cannot be run");
    CHECKF(rc == 0 && fake_server_start(a2, 1, &s2, &p2) == 0, "the fake server did not start");
    unsetenv("HYPORANK_API_KEY");
    unsetenv("OPENAI_API_KEY");
    snprintf(url, sizeof url, "http://127.0.0.1:%ld", p1);
    snprintf(url_no_usage, sizeof url_no_usage, "http://127.0.0.1:%ld", p2);
    if (s1 > 0 && s2 > 0) {
        RUN(test_caps_admit_requests_in_order_and_cache_hits_are_free);
        RUN(test_a_dollar_cap_holds_on_usage_and_on_estimates);
    }
    RUN(test_the_price_table_knows_common_models_by_prefix);
    fake_server_stop(s1);
    fake_server_stop(s2);
    const int status = test_summary();
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (status == 0 && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return status;
}
