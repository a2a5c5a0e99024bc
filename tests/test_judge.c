/*
 * tests/test_judge.c: the judge end to end, against tests/fake_openai_server.py
 * on 127.0.0.1: known truth through describe, spending caps, local
 * servers, and a run killed midway.
 *
 * Planted corpora: every text is about a volcano (and says "volcano"),
 * about lava and eruptions without the word, about a market (and says
 * "market"), or about something else, in known shares of A and of B. The
 * fake server's known-truth judge says `talks of "volcano"` holds exactly
 * when the text contains the quoted word, wrong on a fixed 5% of texts (a
 * hash of its seed, the hypothesis and the text, which this test
 * recomputes), so
 * the share of each side's texts the judge says yes to is known exactly.
 *   - Coverage: 20 seeded runs of hr_describe_run (rounds of 20 texts a
 *     side, up to 60), two hypotheses each: the 95% intervals of share_a,
 *     share_b and V cover the judge's true values in at least 90% of the 40
 *     (the binomial spread of 40 intervals at 95% is +- 3.4%; the
 *     statistical thresholds of 200 runs are in tests/test_ppi.c, where
 *     they run in seconds), and PPI's intervals are narrower than the
 *     classical ones at the same labels.
 *   - Budget: the cost estimate is printed before anything is sent;
 *     --max-requests and --budget-usd cap what is sent (answers from the
 *     cache are free).
 *   - Local servers: no API key, no usage block (the budget still binds,
 *     on estimates), llama.cpp's and Ollama's error bodies, a small
 *     context (--llm-context makes every request fit), --llm-concurrency.
 *   - Interruption: a run killed (SIGKILL) after some answers arrived is
 *     run again: no answered request is sent twice.
 * Skips (77) when python3 is missing. Network: 127.0.0.1 only.
 */
#define _XOPEN_SOURCE 700 /* mkdtemp */

#include "hyporank/describe.h"
#include "hyporank/embedder.h"
#include "hyporank/hash.h"
#include "hyporank/report.h"
#include "hyporank/stats.h"
#include "core/random.h"
#include "cli_run.h"
#include "fake_server.h"
#include "test_util.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

static char dir[256], cache[300], path_a[300], path_b[300], path_h[300], path_long_a[300],
    path_long_b[300];
static const char *cli;

#define N_SIDE 400
#define JUDGE_ERROR "0.05"

/* Not written `mentions "w"`: describe counts those and sends them to no
 * judge. The fake judge reads the quoted word either way; judge_says reads
 * its first letter, h[10]. */
static const char *hyps[2] = {"talks of \"volcano\"", "talks of \"market\""};
static const char *keywords[2] = {"volcano", "market"};

/* ---- planted corpora --------------------------------------------------------------------- */

static const char *places[] = {"Auckland", "Naples", "Hilo", "Reykjavik", "Quito", "Sendai",
                               "Catania", "Bogor", "Pucon", "Arequipa", "Kagoshima", "Goma"};
static const char *days[] = {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
                             "Saturday", "Sunday"};

/* Text i of a category: 0 volcano (says so), 1 lava without the word, 2
 * market, 3 anything else. */
static void planted_text(int cat, size_t i, uint64_t *st, char *out, size_t len, int longer)
{
    const char *p = places[hr_random_below(st, 12)], *d = days[hr_random_below(st, 7)];
    const unsigned n = (unsigned)hr_random_below(st, 90) + 2;
    static const char *volcano[] = {
        "the volcano near %s erupted again on %s, sending ash %u kilometres high",
        "scientists warn the volcano above %s could erupt within weeks (%s briefing, level %u)",
        "ash from the volcano closed the airport at %s on %s for %u hours",
        "tourists climbed the volcano outside %s on %s despite %u warnings"};
    static const char *lava[] = {
        "lava flows reached the edge of %s on %s, destroying %u homes",
        "a new eruption shook %s on %s and magma rose %u metres",
        "residents of %s fled glowing lava on %s; %u families are in shelters",
        "seismologists recorded %u tremors under the crater near %s on %s"};
    static const char *market[] = {
        "the stock market in %s fell on %s as %u companies reported losses",
        "farmers at the %s market on %s sold %u tonnes of fruit",
        "the housing market around %s cooled on %s with %u fewer sales",
        "traders at the fish market of %s on %s counted %u crates"};
    static const char *other[] = {
        "the football team from %s won on %s by %u points",
        "heavy rain is expected across %s on %s, up to %u millimetres",
        "the council of %s approved a new library on %s costing %u million",
        "a concert in %s on %s drew %u thousand people",
        "the school in %s opened a science wing on %s for %u pupils",
        "a new bridge over the river at %s opened on %s after %u months"};
    const char *const *set = cat == 0 ? volcano : cat == 1 ? lava : cat == 2 ? market : other;
    const size_t k = hr_random_below(st, cat == 3 ? 6 : 4);
    int w = set == lava && k == 3 ? snprintf(out, len, set[k], n, p, d)
                                  : snprintf(out, len, set[k], p, d, n);
    w += snprintf(out + w, len - (size_t)w, " (%zu)", i);
    if (longer) /* a long report: the same news told at length */
        for (int r = 0; r < 6 && (size_t)w < len - 80; r++)
            w += snprintf(out + w, len - (size_t)w, "; officials in %s repeated the details of "
                                                    "the report on %s", p, d);
}

/* Writes n texts, shares (volcano, lava, market) of them exact. */
static void write_side(const char *path, size_t n, double sv, double sl, double sm, uint64_t seed,
                       int longer)
{
    FILE *f = fopen(path, "w");
    size_t *cat = malloc(n * sizeof *cat);
    const size_t nv = (size_t)llround(sv * n), nl = (size_t)llround(sl * n),
                 nm = (size_t)llround(sm * n);
    for (size_t i = 0; i < n; i++) cat[i] = i < nv ? 0 : i < nv + nl ? 1 : i < nv + nl + nm ? 2 : 3;
    uint64_t st = seed;
    hr_random_shuffle(&st, cat, n);
    char t[1200];
    for (size_t i = 0; i < n; i++) {
        planted_text((int)cat[i], i, &st, t, sizeof t, longer);
        fprintf(f, "%s\n", t);
    }
    fclose(f);
    free(cat);
}

/* The texts of a file, one a line. */
static char **read_lines(const char *path, size_t *n)
{
    char *all = test_read_file(path);
    size_t cap = 16;
    char **out = malloc(cap * sizeof *out);
    *n = 0;
    for (char *p = all, *e; p && *p; p = e + 1) {
        e = strchr(p, '\n');
        if (!e) e = p + strlen(p);
        if (*n == cap) out = realloc(out, (cap *= 2) * sizeof *out);
        out[(*n)++] = strndup(p, (size_t)(e - p));
        if (!*e) break;
    }
    free(all);
    return out;
}

static void free_lines(char **t, size_t n)
{
    for (size_t i = 0; i < n; i++) free(t[i]);
    free(t);
}

static int contains_ci(const char *s, const char *w)
{
    const size_t k = strlen(w);
    for (; *s; s++) {
        size_t i = 0;
        while (i < k && s[i] && (s[i] | 0x20) == (w[i] | 0x20)) i++;
        if (i == k) return 1;
    }
    return 0;
}

/* The known-truth judge's answer (tests/fake_openai_server.py). */
static int judge_says(const char *seed, const char *h, const char *text, double p)
{
    hr_sha256 sh;
    hr_sha256_init(&sh);
    hr_sha256_update(&sh, "flip\n", 5);
    hr_sha256_update(&sh, seed, strlen(seed));
    hr_sha256_update(&sh, "\n", 1);
    hr_sha256_update(&sh, h, strlen(h));
    hr_sha256_update(&sh, "\n", 1);
    hr_sha256_update(&sh, text, strlen(text));
    unsigned char d[32];
    hr_sha256_final(&sh, d);
    uint64_t u = 0;
    for (int i = 0; i < 8; i++) u = (u << 8) | d[i];
    const int wrong = (double)u / 18446744073709551616.0 < p;
    return contains_ci(text, h[10] == 'v' ? "volcano" : "market") ^ wrong;
}

/* ---- helpers ------------------------------------------------------------------------------- */

static pid_t start_server(const char *const *args, char *url, size_t len)
{
    pid_t pid = 0;
    long port = 0;
    const int rc = fake_server_start(args, 1, &pid, &port);
    CHECKF(rc == 0, "the fake server did not start (%d)", rc);
    snprintf(url, len, "http://127.0.0.1:%ld", port);
    return rc == 0 ? pid : 0;
}

static long stat_of(const char *url, const char *name)
{
    cJSON *j = fake_server_get_json(url, "/stats");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
    const long n = cJSON_IsNumber(v) ? (long)v->valuedouble : -1;
    cJSON_Delete(j);
    return n;
}

static long answered(const char *url)
{
    cJSON *j = fake_server_get_json(url, "/stats");
    long n = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(j, "answered")) n += (long)e->valuedouble;
    cJSON_Delete(j);
    return n;
}

static cJSON *read_json(const char *path)
{
    char *t = test_read_file(path);
    cJSON *j = t ? cJSON_Parse(t) : NULL;
    free(t);
    return j;
}

static double jnum(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* The `verification` object of the row at rank (from 1), or NULL. */
static const cJSON *verification_at(const cJSON *root, int rank)
{
    return cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(root, "hypotheses"), rank - 1),
                               "verification");
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

/* ---- known truth through describe --------------------------------------------------------- */

#define E2E_RUNS 20
/* 40 intervals; at a true coverage of 95% the chance of 5 or more misses is 5%. */
#define E2E_MIN_COVER 36

/* The local encoder on the CPU, with the test's embedding cache; NULL (a
 * failed check) when it cannot load. */
static hr_embedder *make_embedder(void)
{
    hr_embedder_options eo;
    hr_embedder_options_init(&eo);
    eo.model_dir = test_model_dir();
    eo.device = HR_DEVICE_CPU;
    eo.cache_path = cache;
    hr_embedder *emb = NULL;
    char err[1024] = "";
    CHECKF(hr_embedder_create(&eo, &emb, err, sizeof err) == HR_OK, "%s", err);
    return emb;
}

/* A hypothesis written `mentions "w"` is counted (hyporank/findings.h), so
 * the judge's places go to the next ranks: with verify_top 1 the judged
 * row is `talks of "market"`, and `mentions "volcano"` has no verdict. */
static void test_counted_mentions_go_to_no_judge(void)
{
    char hp[320], url[64], err[1024] = "";
    snprintf(hp, sizeof hp, "%s/counted.txt", dir);
    FILE *f = fopen(hp, "w");
    CHECK(f != NULL);
    if (!f) return;
    fprintf(f, "mentions \"volcano\"\n%s\n", hyps[1]);
    fclose(f);
    const char *args[] = {"--models", "truth-counted", NULL};
    pid_t srv = start_server(args, url, sizeof url);
    if (!srv) return;
    hr_embedder *emb = make_embedder();
    hr_describe_options o;
    hr_describe_options_init(&o);
    o.a_path = path_a, o.b_path = path_b, o.hypotheses_path = hp;
    o.bank = o.ngrams = o.clusters = 0;
    o.llm_url = url, o.llm_model = "truth-counted", o.llm_rounds = 0;
    o.verify_top = 1, o.verify_samples = 20, o.verify_max_samples = 20;
    o.examples = 0, o.device = HR_DEVICE_CPU;
    hr_report *r = NULL;
    hr_status st = emb ? hr_describe_run(&o, emb, &r, err, sizeof err) : HR_ERR_INTERNAL;
    CHECKF(st == HR_OK, "%s", err);
    int seen = 0;
    for (size_t i = 0; r && i < hr_report_rows(r); i++) {
        const hr_report_row *row = hr_report_row_at(r, i);
        const int counted = strcmp(row->text, "mentions \"volcano\"") == 0;
        seen += counted;
        if (counted) /* first (A: 40% say volcano, B: 15%): the judge's place passes it by */
            CHECKF(row->rank == 1 && row->finding, "rank %zu", row->rank);
        CHECKF(row->effect.counted == counted && (row->verification == NULL) == counted,
               "%s: counted %d, judged %d", row->text, row->effect.counted,
               row->verification != NULL);
    }
    CHECK(seen == 1);
    hr_report_destroy(r);
    hr_embedder_destroy(emb);
    fake_server_stop(srv);
}

static void test_ppi_intervals_cover_the_judges_truth_end_to_end(void)
{
    hr_embedder *emb = make_embedder();
    char err[1024] = "";
    if (!emb) return;
    size_t na, nb;
    char **ta = read_lines(path_a, &na), **tb = read_lines(path_b, &nb);

    /* The screen's AUROC against the keyword: similarity of each text to the hypothesis. */
    double auroc[2];
    for (int h = 0; h < 2; h++) {
        float *eh = NULL, *ex = NULL;
        const char *ht = hyps[h];
        CHECK(hr_embedder_embed(emb, &ht, NULL, 1, "hypothesis", NULL, &eh, err, sizeof err) == HR_OK);
        char **all = malloc((na + nb) * sizeof *all);
        memcpy(all, ta, na * sizeof *all), memcpy(all + na, tb, nb * sizeof *all);
        CHECK(hr_embedder_embed(emb, (const char *const *)all, NULL, na + nb, "texts", NULL, &ex,
                                err, sizeof err) == HR_OK);
        const size_t dim = (size_t)hr_embedder_dim(emb);
        float *sorted = malloc((na + nb) * sizeof *sorted);
        size_t np = 0;
        for (size_t i = 0; i < na + nb; i++) np += contains_ci(all[i], keywords[h]) != 0;
        for (size_t i = 0, p = 0, q = np; i < na + nb; i++) {
            double s = 0;
            for (size_t c = 0; c < dim; c++) s += (double)eh[c] * ex[i * dim + c];
            if (contains_ci(all[i], keywords[h])) sorted[p++] = (float)s;
            else sorted[q++] = (float)s;
        }
        hr_mw_result mw;
        auroc[h] = hr_mw_sorted(sorted, np, na + nb - np, &mw, NULL, 0) == HR_OK ? mw.auroc : 0;
        free(sorted), free(all), free(eh), free(ex);
    }

    size_t cover[2][3] = {{0}}, runs = 0;
    double width[2] = {0}, width_cl[2] = {0}, labels[2] = {0}, worth[2] = {0};
    for (int run = 0; run < E2E_RUNS; run++) {
        char model[32], seed[16], url[64];
        snprintf(model, sizeof model, "truth-%d", run); /* its own answers in the cache */
        snprintf(seed, sizeof seed, "%d", run);
        const char *args[] = {"--models", model, "--truth-error", JUDGE_ERROR, "--truth-seed",
                              seed, "--time-limit", "600", NULL};
        pid_t srv = start_server(args, url, sizeof url);
        if (!srv) break;
        hr_describe_options o;
        hr_describe_options_init(&o);
        o.a_path = path_a, o.b_path = path_b, o.hypotheses_path = path_h;
        o.bank = o.ngrams = o.clusters = 0;
        o.llm_url = url, o.llm_model = model, o.llm_rounds = 0;
        o.verify_top = 2, o.verify_samples = 20, o.verify_max_samples = 60;
        o.seed = 100 + (uint64_t)run, o.examples = 0, o.device = HR_DEVICE_CPU;
        hr_report *r = NULL;
        hr_status st = hr_describe_run(&o, emb, &r, err, sizeof err);
        CHECKF(st == HR_OK, "run %d: %s", run, err);
        for (size_t i = 0; r && i < hr_report_rows(r); i++) {
            const hr_report_row *row = hr_report_row_at(r, i);
            const hr_verify_result *v = row->verification;
            const int h = strcmp(row->text, hyps[0]) == 0 ? 0 : 1;
            CHECKF(v && v->method && strcmp(v->method, "ppi++") == 0, "run %d row %zu unjudged",
                   run, i);
            if (!v) continue;
            size_t ya = 0, yb = 0;
            for (size_t t = 0; t < na; t++) ya += (size_t)judge_says(seed, hyps[h], ta[t], 0.05);
            for (size_t t = 0; t < nb; t++) yb += (size_t)judge_says(seed, hyps[h], tb[t], 0.05);
            const double sa = (double)ya / (double)na, sb = (double)yb / (double)nb;
            cover[h][0] += v->share_a_ci_low <= sa && sa <= v->share_a_ci_high;
            cover[h][1] += v->share_b_ci_low <= sb && sb <= v->share_b_ci_high;
            cover[h][2] += v->ci_low <= sa - sb && sa - sb <= v->ci_high;
            width[h] += v->ci_high - v->ci_low;
            width_cl[h] += v->classical_ci_high - v->classical_ci_low;
            labels[h] += (double)(v->n_a_answered + v->n_b_answered);
            worth[h] += v->effective_labels;
        }
        runs += r != NULL;
        hr_report_destroy(r);
        fake_server_stop(srv);
    }
    fprintf(stderr, "end to end, %zu runs of describe (judge wrong on %s of texts):\n", runs,
            JUDGE_ERROR);
    for (int h = 0; h < 2; h++)
        fprintf(stderr, "  %-20s screen AUROC %.3f  coverage A %zu/%zu B %zu/%zu V %zu/%zu  "
                        "width %.3f vs %.3f: %.2fx  labels %.1f, worth %.1f\n",
                hyps[h], auroc[h], cover[h][0], runs, cover[h][1], runs, cover[h][2], runs,
                width[h] / (double)runs, width_cl[h] / (double)runs, width_cl[h] / width[h],
                labels[h] / (double)runs, worth[h] / (double)runs);
    for (int q = 0; q < 3; q++)
        CHECKF(cover[0][q] + cover[1][q] >= E2E_MIN_COVER, "coverage of %s: %zu of %zu",
               q == 0 ? "share_a" : q == 1 ? "share_b" : "V", cover[0][q] + cover[1][q], 2 * runs);
    CHECKF(runs == E2E_RUNS && width_cl[0] > width[0] && width_cl[1] > width[1],
           "PPI is not narrower: %.3f vs %.3f, %.3f vs %.3f", width[0], width_cl[0], width[1],
           width_cl[1]);
    free_lines(ta, na), free_lines(tb, nb);
    hr_embedder_destroy(emb);
}

/* ---- the program: budget, local servers, interruption ----------------------------------- */

static int run_cli(char **out, char **err, const char *const *args)
{
    return cli_run(cli, dir, out, err, args);
}

static void test_the_cost_estimate_comes_first_and_a_killed_run_resends_nothing(void)
{
    char url1[64], url2[64], json[300];
    snprintf(json, sizeof json, "%s/killed.json", dir);
    /* Server 1 answers 3 requests, then hangs: the run is killed there. */
    const char *a1[] = {"--models", "kill-1", "--local-stall-after", "3", "--time-limit", "120", NULL};
    pid_t s1 = start_server(a1, url1, sizeof url1);
    if (!s1) return;
    const char *args_tpl[] = {"describe", "--a", path_a, "--b", path_b, "--hypotheses", path_h,
                              "--no-bank", "--no-ngrams", "--llm-url", url1, "--llm-model",
                              "kill-1", "--llm-rounds", "0", "--verify-top", "2",
                              "--verify-samples", "20", "--examples", "0", "--cache", cache,
                              "--json", json, "--device", "cpu", NULL};
    pid_t pid = cli_start(cli, dir, args_tpl);
    double waited = 0;
    while (answered(url1) < 3 && waited < 120) sleep_s(0.1), waited += 0.1;
    sleep_s(0.5); /* the third answer is stored the moment it arrives */
    char errp[600];
    snprintf(errp, sizeof errp, "%s/stderr.txt", dir);
    char *early = test_read_file(errp);
    CHECKF(early && strstr(early, "LLM cost estimate, before anything is sent: about 8 requests"),
           "no estimate before the answers:\n%s", early ? early : "");
    free(early);
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status) && answered(url1) == 3);
    cJSON *st1 = fake_server_get_json(url1, "/stats");
    fake_server_stop(s1);

    /* Again, on a server that answers everything: only the rest is sent. */
    const char *a2[] = {"--models", "kill-1", "--time-limit", "120", NULL};
    pid_t s2 = start_server(a2, url2, sizeof url2);
    if (!s2) {
        cJSON_Delete(st1);
        return;
    }
    args_tpl[10] = url2;
    char *out, *err;
    const int rc = run_cli(&out, &err, args_tpl);
    CHECKF(rc == 0, "rerun: exit %d: %s", rc, err);
    cJSON *st2 = fake_server_get_json(url2, "/stats");
    const cJSON *e;
    size_t twice = 0, first = 0;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(st1, "answered")) {
        first++;
        twice += cJSON_GetObjectItem(cJSON_GetObjectItem(st2, "by_prompt"), e->string) != NULL;
    }
    CHECKF(first == 3 && twice == 0, "%zu of the %zu answered requests were sent again", twice,
           first);
    CHECKF(jnum(st2, "chat_requests") == 5, "the rerun sent %g requests (8 in all, 3 answered)",
           jnum(st2, "chat_requests"));
    cJSON_Delete(st1), cJSON_Delete(st2);
    free(out), free(err);
    fake_server_stop(s2);
}

static void test_max_requests_and_a_dollar_budget_cap_what_is_sent(void)
{
    char url[64], json[300];
    snprintf(json, sizeof json, "%s/budget.json", dir);
    const char *sa[] = {"--models", "cap-1,cap-2,cap-3", "--time-limit", "300", NULL};
    pid_t srv = start_server(sa, url, sizeof url);
    if (!srv) return;
    /* 2 hypotheses in rounds of 20 + 20 texts (4 requests each), at most 5 requests:
     * the first hypothesis's round fits, the second's does not. */
    const char *args[] = {"describe", "--a", path_a, "--b", path_b, "--hypotheses", path_h,
                          "--no-bank", "--no-ngrams", "--llm-url", url, "--llm-model", "cap-1",
                          "--llm-rounds", "0", "--verify-top", "2", "--verify-samples", "20",
                          "--max-requests", "5", "--examples", "0", "--cache", cache, "--json",
                          json, "--device", "cpu", NULL};
    char *out, *err;
    int rc = run_cli(&out, &err, args);
    CHECKF(rc == 0, "exit %d: %s", rc, err);
    CHECKF(stat_of(url, "chat_requests") == 4, "%ld requests sent", stat_of(url, "chat_requests"));
    CHECKF(strstr(err, "capped at 5 requests") && strstr(err, "the LLM budget ended"), "%s", err);
    cJSON *j = read_json(json);
    const cJSON *llm = cJSON_GetObjectItem(j, "llm");
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(llm, "budget_stopped")) &&
          jnum(llm, "max_requests") == 5);
    const cJSON *v0 = verification_at(j, 1), *v1 = verification_at(j, 2); /* by rank */
    CHECK(v0 && v1 && jnum(v0, "n_a_answered") == 20);
    CHECK(v1 && cJSON_IsNull(cJSON_GetObjectItem(v1, "v")) &&
          strcmp(cJSON_GetObjectItem(v1, "stopped")->valuestring, "budget") == 0);
    cJSON_Delete(j), free(out), free(err);

    /* Again with the same cap: the 4 answers in the cache are free, so the
     * second hypothesis's round now fits. */
    rc = run_cli(&out, &err, args);
    CHECKF(rc == 0 && stat_of(url, "chat_requests") == 8, "exit %d, %ld requests in all", rc,
           stat_of(url, "chat_requests"));
    free(out), free(err);

    /* Dollars: at $1 per million tokens a request of 10 texts is estimated
     * at about $0.0006 before any reply (3 bytes a token): $0.004 admits
     * the first hypothesis's 4 requests, not the second's. The spend, from
     * the replies' usage, never exceeds the budget. */
    const char *usd[] = {"describe", "--a", path_a, "--b", path_b, "--hypotheses", path_h,
                         "--no-bank", "--no-ngrams", "--llm-url", url, "--llm-model", "cap-2",
                         "--llm-rounds", "0", "--verify-top", "2", "--verify-samples", "20",
                         "--verify-max-samples", "100", "--budget-usd", "0.004", "--llm-price",
                         "1,1", "--examples", "0", "--cache", cache, "--json", json, "--device",
                         "cpu", NULL};
    const long before = stat_of(url, "chat_requests");
    rc = run_cli(&out, &err, usd);
    CHECKF(rc == 0, "exit %d: %s", rc, err);
    j = read_json(json);
    llm = cJSON_GetObjectItem(j, "llm");
    const double spent = jnum(llm, "spent_usd");
    const long sent = stat_of(url, "chat_requests") - before;
    CHECKF(spent > 0 && spent <= 0.004 && sent == 4, "spent $%g on %ld requests", spent, sent);
    CHECKF(strstr(err, "at your price ($1 / $1 per million tokens)"), "%s", err);
    CHECK(strcmp(cJSON_GetObjectItem(cJSON_GetObjectItem(llm, "price"), "source")->valuestring,
                 "given") == 0);
    cJSON_Delete(j), free(out), free(err);

    /* A dollar budget for a model without a known price is refused. */
    const char *noprice[] = {"describe", "--a", path_a, "--b", path_b, "--llm-url", url,
                             "--llm-model", "cap-3", "--budget-usd", "1", "--cache", cache, NULL};
    rc = run_cli(NULL, &err, noprice);
    CHECKF(rc == 2 && strstr(err, "--llm-price"), "exit %d: %s", rc, err);
    free(err);
    fake_server_stop(srv);
}

/* llama-server: no key, no usage block, its own error bodies, a small
 * context; Ollama: its error body for an unknown model. */
static void test_a_local_server_is_a_first_class_judge(void)
{
    char url[64], json[300];
    snprintf(json, sizeof json, "%s/local.json", dir);
    unsetenv("HYPORANK_API_KEY");
    unsetenv("OPENAI_API_KEY");
    const char *sa[] = {"--models", "llama-1,llama-2", "--local-no-usage", "--local-errors",
                        "llamacpp", "--local-context", "700", "--time-limit", "300", NULL};
    pid_t srv = start_server(sa, url, sizeof url);
    if (!srv) return;
    /* Long texts: ten of them do not fit 700 tokens. Without the guard every
     * request is refused, with the server's message and the hint; not one
     * answer is usable, so the run says so with exit status 3 and still
     * writes the offline report. */
    const char *args[] = {"describe", "--a", path_long_a, "--b", path_long_b, "--hypotheses",
                          path_h, "--no-bank", "--no-ngrams", "--llm-url", url, "--llm-model",
                          "llama-1", "--llm-rounds", "0", "--verify-top", "1",
                          "--verify-samples", "10", "--examples", "0", "--cache", cache,
                          "--json", json, "--device", "cpu", "--llm-concurrency", "2", NULL};
    char *out, *err;
    int rc = run_cli(&out, &err, args);
    CHECKF(rc == 3 && strstr(err, "exceeds the available context size") &&
               strstr(err, "--llm-context"),
           "without the guard: exit %d: %s", rc, err);
    cJSON *j = read_json(json);
    CHECK(jnum(cJSON_GetObjectItem(j, "llm"), "verdicts_missing") == 20);
    const cJSON *status = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "llm"), "status");
    CHECK(cJSON_IsString(status) && strcmp(status->valuestring, "failed") == 0);
    cJSON_Delete(j);
    free(out), free(err);

    /* With --llm-context 700 every request fits; with no usage block the
     * budget binds on estimates. */
    const char *fit[] = {"describe", "--a", path_long_a, "--b", path_long_b, "--hypotheses",
                         path_h, "--no-bank", "--no-ngrams", "--llm-url", url, "--llm-model",
                         "llama-2", "--llm-rounds", "0", "--verify-top", "1",
                         "--verify-samples", "10", "--examples", "0", "--cache", cache,
                         "--json", json, "--device", "cpu", "--llm-concurrency", "2",
                         "--llm-context", "700", "--budget-usd", "1", "--llm-price", "1,1",
                         "--verify-max-samples", "10", NULL};
    const long before = stat_of(url, "chat_requests");
    rc = run_cli(&out, &err, fit);
    CHECKF(rc == 0, "exit %d: %s", rc, err);
    j = read_json(json);
    const cJSON *llm = cJSON_GetObjectItem(j, "llm"), *v = verification_at(j, 1);
    CHECKF(v && jnum(v, "n_a_answered") == 10 && jnum(v, "n_b_answered") == 10 &&
               jnum(llm, "verdicts_missing") == 0,
           "with the guard: %s", out);
    CHECK(jnum(llm, "prompt_tokens") == 0 && jnum(llm, "spent_usd") > 0 &&
          jnum(llm, "context_tokens") == 700);
    CHECKF(stat_of(url, "chat_requests") - before > 2, "%ld requests: texts were not split",
           stat_of(url, "chat_requests") - before);
    cJSON_Delete(j), free(out), free(err);
    fake_server_stop(srv);

    const char *so[] = {"--models", "llama3", "--local-errors", "ollama", "--time-limit", "60", NULL};
    srv = start_server(so, url, sizeof url);
    if (!srv) return;
    const char *bad[] = {"describe", "--a", path_a, "--b", path_b, "--hypotheses", path_h,
                         "--no-bank", "--no-ngrams", "--llm-url", url, "--llm-model", "mistral",
                         "--llm-rounds", "0", "--cache", cache, "--device", "cpu", NULL};
    rc = run_cli(NULL, &err, bad);
    CHECKF(rc == 2 && strstr(err, "mistral"), "exit %d: %s", rc, err);
    free(err);
    fake_server_stop(srv);
}

int main(void)
{
    cli = getenv("HR_CLI");
    if (!cli || !getenv("HR_SOURCE_DIR")) return test_skip("HR_CLI or HR_SOURCE_DIR is not set (run through ctest)");
    snprintf(dir, sizeof dir, "%s/hyporank-judge-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir)) return 1;
    {
        pid_t p;
        long port = 0;
        const char *args[] = {"--time-limit", "5", NULL};
        if (fake_server_start(args, 1, &p, &port) == -1) return test_skip("python3 is missing");
        fake_server_stop(p);
    }
    snprintf(cache, sizeof cache, "%s/cache.sqlite", dir);
    snprintf(path_a, sizeof path_a, "%s/a.txt", dir);
    snprintf(path_b, sizeof path_b, "%s/b.txt", dir);
    snprintf(path_long_a, sizeof path_long_a, "%s/long-a.txt", dir);
    snprintf(path_long_b, sizeof path_long_b, "%s/long-b.txt", dir);
    snprintf(path_h, sizeof path_h, "%s/hypotheses.txt", dir);
    /* A: volcano 40%, lava without the word 5%, market 20%; B: 15%, 5%, 35%. */
    write_side(path_a, N_SIDE, 0.40, 0.05, 0.20, 11, 0);
    write_side(path_b, N_SIDE, 0.15, 0.05, 0.35, 12, 0);
    write_side(path_long_a, 60, 0.40, 0.05, 0.20, 13, 1);
    write_side(path_long_b, 60, 0.15, 0.05, 0.35, 14, 1);
    FILE *f = fopen(path_h, "w");
    fprintf(f, "%s\n%s\n", hyps[0], hyps[1]);
    fclose(f);
    RUN(test_counted_mentions_go_to_no_judge);
    RUN(test_ppi_intervals_cover_the_judges_truth_end_to_end);
    RUN(test_the_cost_estimate_comes_first_and_a_killed_run_resends_nothing);
    RUN(test_max_requests_and_a_dollar_budget_cap_what_is_sent);
    RUN(test_a_local_server_is_a_first_class_judge);
    const int rc = test_summary();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (rc == 0 && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return rc;
}
