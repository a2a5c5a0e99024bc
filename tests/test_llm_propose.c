/*
 * tests/test_llm_propose.c: the LLM proposer (hyporank/llm_propose.h): the
 * samples each round shows, the prompt, the parser of answers (strict JSON,
 * JSON inside prose, bulleted and numbered lists, garbage), the cleaning of
 * items, rounds sent as one batch through the fake server
 * tests/fake_openai_server.py (started here on 127.0.0.1; it answers a
 * proposer prompt with "is about W" for each sample's first long word, or
 * whatever a [[reply:...]] marker in the goal says), the cache (a rerun sends
 * nothing), a 10,000-character goal, and near-duplicate merging (on
 * synthetic vectors, and on real MiniLM embeddings when the model is there).
 * Skips (77) only when python3 is missing. Network: 127.0.0.1 only.
 */
#define _XOPEN_SOURCE 700 /* mkdtemp */

#include "hyporank/encoder.h"
#include "hyporank/llm.h"
#include "hyporank/llm_propose.h"
#include "hyporank/model.h"
#include "hyporank/proposers.h"
#include "fake_server.h"
#include "test_util.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include <math.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t server_pid;
static char base_url[64];
static char dir[256];

/* ---- the fake server ---------------------------------------------------------------------- */

/* The fake server's count of chat requests so far. */
static long chat_requests(void)
{
    cJSON *j = fake_server_get_json(base_url, "/stats");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "chat_requests");
    long n = cJSON_IsNumber(v) ? (long)v->valuedouble : -1;
    cJSON_Delete(j);
    return n;
}

static hr_llm *make_llm(const char *url, const char *cache)
{
    hr_remote_options o;
    hr_remote_options_init(&o);
    o.url = url;
    o.model = "judge-1";
    o.cache_path = cache;
    o.concurrency = 4;
    o.timeout_s = 5;
    o.connect_timeout_s = 1;
    o.max_retries = 1;
    o.backoff_base_s = 0.01;
    o.backoff_max_s = 0.05;
    char err[512] = "";
    hr_llm *llm = NULL;
    CHECKF(hr_llm_create(&o, &llm, err, sizeof err) == HR_OK, "%s", err);
    return llm;
}

/* ---- corpora ------------------------------------------------------------------------------ */

/* 40 texts a side: A's are about "sportNN", B's about "politicsNN"; the
 * decision values make text i of A the (40 - i)-th most A-like (so the most
 * A-like is the last one), and text i of B the i-th most B-like. */
enum { NT = 40 };
static char a_buf[NT][64], b_buf[NT][64];
static const char *a_txt[NT], *b_txt[NT];
static double a_sc[NT], b_sc[NT];

static void make_corpora(void)
{
    for (int i = 0; i < NT; i++) {
        snprintf(a_buf[i], sizeof a_buf[i], "sport%02d news of the day %d", i, i);
        snprintf(b_buf[i], sizeof b_buf[i], "politics%02d report number %d", i, i);
        a_txt[i] = a_buf[i];
        b_txt[i] = b_buf[i];
        a_sc[i] = 0.1 * i;   /* higher: more like A */
        b_sc[i] = -0.1 * (NT - i) + 0.05; /* lower: more like B; text 0 lowest */
    }
}

static hr_llm_propose_input corpora(const char *goal)
{
    hr_llm_propose_input in;
    memset(&in, 0, sizeof in);
    in.goal = goal;
    in.a = a_txt;
    in.n_a = NT;
    in.a_scores = a_sc;
    in.b = b_txt;
    in.n_b = NT;
    in.b_scores = b_sc;
    return in;
}

/* The "- " sample lines under "Group X:" in a prompt, joined by '|'. */
static void samples_of(const char *prompt, const char *heading, char *out, size_t cap)
{
    out[0] = '\0';
    const char *p = strstr(prompt, heading);
    if (!p)
        return;
    p += strlen(heading) - 1; /* the newline that ends the heading */
    size_t o = 0;
    while (p && p[1] == '-' && p[2] == ' ') {
        const char *s = p + 3, *e = strchr(s, '\n');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (o + n + 2 < cap) {
            if (o)
                out[o++] = '|';
            memcpy(out + o, s, n);
            o += n;
            out[o] = '\0';
        }
        p = e;
    }
}

/* ---- samples and prompts ------------------------------------------------------------------ */

static void test_each_round_shows_the_next_most_typical_texts(void)
{
    make_corpora();
    hr_llm_propose_input in = corpora("find what differs");
    hr_llm_propose_options o = hr_llm_propose_default_options();
    o.samples_per_side = 3;
    char err[256] = "", got[1024], want[1024];
    char *p = NULL;
    for (int r = 0; r < 3; r++) {
        CHECKF(hr_llm_propose_prompt(&in, &o, r, &p, NULL, NULL, err, sizeof err) == HR_OK, "%s",
               err);
        if (!p)
            return;
        /* A: highest decision values first: texts 39, 38, 37, then 36, 35, 34 ... */
        samples_of(p, "\nGroup A:\n", got, sizeof got);
        snprintf(want, sizeof want, "%s|%s|%s", a_txt[39 - 3 * r], a_txt[38 - 3 * r],
                 a_txt[37 - 3 * r]);
        CHECKF(strcmp(got, want) == 0, "round %d, A: %s (want %s)", r, got, want);
        /* B: lowest first: texts 0, 1, 2, then 3, 4, 5 ... */
        samples_of(p, "\nGroup B:\n", got, sizeof got);
        snprintf(want, sizeof want, "%s|%s|%s", b_txt[3 * r], b_txt[3 * r + 1], b_txt[3 * r + 2]);
        CHECKF(strcmp(got, want) == 0, "round %d, B: %s (want %s)", r, got, want);
        CHECK(strstr(p, "Research goal: find what differs\n") == p);
        CHECK(strstr(p, "{\"A\": [") != NULL);
        CHECK(strstr(p, "up to 10 predicates") != NULL);
        free(p);
        p = NULL;
    }
    /* No scores: input order. A side smaller than S wraps around: every round
     * shows all of it. */
    in.a_scores = NULL;
    in.n_b = 2;
    CHECK(hr_llm_propose_prompt(&in, &o, 1, &p, NULL, NULL, err, sizeof err) == HR_OK);
    if (p) {
        samples_of(p, "\nGroup A:\n", got, sizeof got);
        snprintf(want, sizeof want, "%s|%s|%s", a_txt[3], a_txt[4], a_txt[5]);
        CHECKF(strcmp(got, want) == 0, "no scores: %s", got);
        samples_of(p, "\nGroup B:\n", got, sizeof got);
        snprintf(want, sizeof want, "%s|%s", b_txt[0], b_txt[1]);
        CHECKF(strcmp(got, want) == 0, "small side: %s", got);
        free(p);
        p = NULL;
    }
    /* the last stratum wraps to the start: round 13 of 3 a side over 40 texts
     * starts at position 39 */
    in = corpora(NULL);
    CHECK(hr_llm_propose_prompt(&in, &o, 13, &p, NULL, NULL, err, sizeof err) == HR_OK);
    if (p) {
        samples_of(p, "\nGroup A:\n", got, sizeof got);
        snprintf(want, sizeof want, "%s|%s|%s", a_txt[0], a_txt[39], a_txt[38]);
        CHECKF(strcmp(got, want) == 0, "wrapped: %s", got);
        CHECK(strstr(p, "Research goal") == NULL); /* no goal, no line */
        CHECK(strstr(p, "About the data") == NULL);
        free(p);
    }
}

static void test_texts_are_flattened_cut_and_empty_ones_skipped(void)
{
    const char *a[] = {"  \n\t ", "line one\nline two\r\n\tline three", "bad \xff byte",
                       "a very long text that goes on and on and on and on and on and on"};
    const char *b[] = {"b text"};
    double as[] = {9, 3, 2, 1};
    hr_llm_propose_input in;
    memset(&in, 0, sizeof in);
    in.a = a;
    in.n_a = 4;
    in.a_scores = as;
    in.b = b;
    in.n_b = 1;
    in.description = "headlines\nfrom two years";
    hr_llm_propose_options o = hr_llm_propose_default_options();
    o.max_sample_bytes = 20;
    char *p = NULL, err[256] = "", got[1024];
    CHECKF(hr_llm_propose_prompt(&in, &o, 0, &p, NULL, NULL, err, sizeof err) == HR_OK, "%s", err);
    if (!p)
        return;
    samples_of(p, "\nGroup A:\n", got, sizeof got);
    /* the blank text (the most A-like) is skipped; whitespace runs become one
     * space; an invalid byte becomes '?'; a long text is cut at 20 bytes */
    CHECKF(strcmp(got, "line one line two li...|bad ? byte|a very long text tha...") == 0,
           "got %s", got);
    CHECK(strstr(p, "About the data: headlines\nfrom two years\n\n") != NULL);
    free(p);
}

static void test_a_goal_of_10000_characters_is_truncated_with_a_note(void)
{
    make_corpora();
    char *goal = malloc(10001);
    for (int i = 0; i < 10000; i++)
        goal[i] = (char)('a' + i % 26);
    goal[10000] = '\0';
    hr_llm_propose_input in = corpora(goal);
    char *p = NULL, err[256] = "";
    int gcut = -1, dcut = -1;
    CHECKF(hr_llm_propose_prompt(&in, NULL, 0, &p, &gcut, &dcut, err, sizeof err) == HR_OK, "%s",
           err);
    CHECK(gcut == 1 && dcut == 0);
    if (p) {
        CHECK(strstr(p, "[truncated: the first 2000 of 10000 bytes are shown]") != NULL);
        CHECKF(strlen(p) < 2000 + 15 * 2 * 400 + 2000, "prompt of %zu bytes", strlen(p));
        free(p);
    }
    /* a multi-byte character is never split: 3-byte characters, cut at 2000 */
    for (int i = 0; i + 3 <= 9999; i += 3)
        memcpy(goal + i, "\xe2\x82\xac", 3); /* U+20AC */
    goal[9999] = '\0';
    CHECK(hr_llm_propose_prompt(&in, NULL, 0, &p, &gcut, NULL, err, sizeof err) == HR_OK);
    if (p) {
        CHECK(strstr(p, "[truncated: the first 1998 of 9999 bytes are shown]") != NULL);
        free(p);
    }
    free(goal);
}

static void test_bad_options_and_inputs_are_refused(void)
{
    make_corpora();
    hr_llm_propose_input in = corpora(NULL);
    hr_llm_propose_options o = hr_llm_propose_default_options();
    char *p = NULL, err[256] = "";
    o.rounds = 0;
    CHECK(hr_llm_propose_prompt(&in, &o, 0, &p, NULL, NULL, err, sizeof err) == HR_ERR_INPUT);
    CHECKF(strstr(err, "rounds") != NULL, "%s", err);
    o = hr_llm_propose_default_options();
    o.temperature = 3;
    CHECK(hr_llm_propose_prompt(&in, &o, 0, &p, NULL, NULL, err, sizeof err) == HR_ERR_INPUT);
    o = hr_llm_propose_default_options();
    o.samples_per_side = 0;
    CHECK(hr_llm_propose_prompt(&in, &o, 0, &p, NULL, NULL, err, sizeof err) == HR_ERR_INPUT);
    in.n_b = 0;
    CHECK(hr_llm_propose_prompt(&in, NULL, 0, &p, NULL, NULL, err, sizeof err) == HR_ERR_INPUT);
    CHECKF(strstr(err, "both sides") != NULL, "%s", err);
    const char *blank[] = {" ", "\n"};
    in = corpora(NULL);
    in.b = blank;
    in.n_b = 2;
    CHECK(hr_llm_propose_prompt(&in, NULL, 0, &p, NULL, NULL, err, sizeof err) == HR_ERR_INPUT);
    CHECKF(strstr(err, "empty") != NULL, "%s", err);
    CHECK(p == NULL);
}

/* ---- parsing ------------------------------------------------------------------------------ */

/* Parses s; returns the items as "A:x|B:y|..." in out. */
static hr_proposal_format parse(const char *s, char *out, size_t cap, size_t *rejected)
{
    hr_proposal_list l;
    char err[128] = "";
    out[0] = '\0';
    hr_status st = hr_llm_parse_proposals(s, strlen(s), &l, err, sizeof err);
    CHECKF(st == HR_OK, "%s", err);
    size_t o = 0;
    for (size_t i = 0; i < l.n; i++) {
        int n = snprintf(out + o, cap - o, "%s%c:%s", i ? "|" : "", l.items[i].side,
                         l.items[i].text);
        if (n > 0 && (size_t)n < cap - o)
            o += (size_t)n;
    }
    if (rejected)
        *rejected = l.rejected;
    CHECK(l.seen == l.n + l.rejected);
    hr_proposal_format f = l.format;
    hr_proposal_list_free(&l);
    return f;
}

static void test_a_strict_json_answer_is_read(void)
{
    char got[2048];
    size_t rej = 99;
    hr_proposal_format f =
        parse("  {\"A\": [\"is about sports\", \"mentions a team\"], \"B\": [\"is about "
              "politics\"]}\n",
              got, sizeof got, &rej);
    CHECK(f == HR_PROPOSALS_JSON);
    CHECKF(strcmp(got, "A:is about sports|A:mentions a team|B:is about politics") == 0, "%s",
           got);
    CHECK(rej == 0);
    /* keys in other spellings; a lone string; B before A in the answer */
    f = parse("{\"group_b\": \"is sad\", \"Group A\": [\"is happy\"], \"notes\": \"x\"}", got,
              sizeof got, NULL);
    CHECK(f == HR_PROPOSALS_JSON);
    CHECKF(strcmp(got, "A:is happy|B:is sad") == 0, "%s", got);
    /* only one side */
    f = parse("{\"b\": [\"is short\"]}", got, sizeof got, NULL);
    CHECK(f == HR_PROPOSALS_JSON);
    CHECKF(strcmp(got, "B:is short") == 0, "%s", got);
}

static void test_json_inside_prose_or_a_code_fence_is_extracted(void)
{
    char got[2048];
    hr_proposal_format f = parse("Sure! Here is my answer:\n```json\n{\"A\": [\"uses the word "
                                 "\\\"}\\\"\", \"is {braced}\"],\n \"B\": [\"is calm\"]}\n```\n"
                                 "Hope this helps {really}.",
                                 got, sizeof got, NULL);
    CHECK(f == HR_PROPOSALS_EMBEDDED);
    CHECKF(strcmp(got, "A:uses the word \"}\"|A:is {braced}|B:is calm") == 0, "%s", got);
}

static void test_bulleted_and_numbered_lists_are_read_under_their_headings(void)
{
    char got[2048];
    size_t rej = 0;
    hr_proposal_format f = parse("Here are my predicates.\n"
                                 "- stray item before any side\n"
                                 "**Group A:**\n"
                                 "- is about sports\n"
                                 "* \"mentions a team\",\n"
                                 "1. reports a score.\n"
                                 "2) **names a player**\n"
                                 "\n"
                                 "## More often true of group B than of group A\n"
                                 "(1) is about politics;\n"
                                 "\xe2\x80\xa2 mentions an election\n"
                                 "Some closing words.\n",
                                 got, sizeof got, &rej);
    CHECK(f == HR_PROPOSALS_LINES);
    CHECKF(strcmp(got, "A:is about sports|A:mentions a team|A:reports a score|A:names a "
                       "player|B:is about politics|B:mentions an election") == 0,
           "%s", got);
    CHECK(rej == 1); /* the stray item had no side */
    /* broken JSON falls back to its lines */
    f = parse("{\"A\": [\n  \"is long\",\n  \"is old\"\n],\n\"B\": [\n  \"is new\",\n", got,
              sizeof got, NULL);
    CHECK(f == HR_PROPOSALS_LINES);
    CHECKF(strcmp(got, "A:is long|A:is old|B:is new") == 0, "%s", got);
    /* plain headings "A:" / "B" */
    f = parse("A:\n- x one\nB\n- y two\n", got, sizeof got, NULL);
    CHECKF(strcmp(got, "A:x one|B:y two") == 0, "%s", got);
}

static void test_items_are_cleaned_and_bad_ones_rejected(void)
{
    char got[4096], json[4096];
    size_t rej = 0;
    char long200[201], long201[202];
    memset(long200, 'x', 200);
    long200[200] = '\0';
    memset(long201, 'y', 201);
    long201[201] = '\0';
    snprintf(json, sizeof json,
             "{\"A\": [\"  1. \\\"is about   sports\\\".  \", \"mentions \\\"covid\\\"\", "
             "\"\\u201cis quoted\\u201d\", \"\", \"   \", \"- \", \"two\\nlines\", 42, null, "
             "\"%s\", \"%s\", \"has a \\u0007 bell\", \"'it''s' odd'\", \"caf\\u00e9 "
             "\\u00e9\\u00e9\"], \"B\": [\"\\\"a\\\" and \\\"b\\\"\", \"ends with a question?\", "
             "\"etc...\"]}",
             long200, long201);
    hr_proposal_format f = parse(json, got, sizeof got, &rej);
    CHECK(f == HR_PROPOSALS_JSON);
    char want[4096];
    snprintf(want, sizeof want,
             "A:is about sports|A:mentions \"covid\"|A:is quoted|A:%s|A:'it''s' odd'|A:caf\xc3\xa9 "
             "\xc3\xa9\xc3\xa9|B:\"a\" and \"b\"|B:ends with a question?|B:etc",
             long200);
    CHECKF(strcmp(got, want) == 0, "\n got  %s\n want %s", got, want);
    /* rejected: "", "   ", "- ", two lines, 42, null, 201 chars, the bell */
    CHECKF(rej == 8, "%zu rejected", rej);
    /* 200 characters of 2 bytes each are kept: the limit counts characters */
    char wide[1024] = "{\"A\": [\"";
    size_t o = strlen(wide);
    for (int i = 0; i < 200; i++) {
        memcpy(wide + o, "\xc3\xa9", 2);
        o += 2;
    }
    memcpy(wide + o, "\"]}", 4);
    parse(wide, got, sizeof got, &rej);
    CHECK(rej == 0 && strlen(got) == 2 + 400);
    /* invalid UTF-8 in a list item */
    parse("A:\n- bad \xc3\x28 byte\n- good one\n", got, sizeof got, &rej);
    CHECKF(strcmp(got, "A:good one") == 0 && rej == 1, "%s", got);
}

static void test_garbage_answers_give_nothing_and_do_not_crash(void)
{
    const char *bad[] = {"", "   ", "I cannot help with that.", "{", "}", "{\"A\": 5}",
                         "[\"is a list\"]", "null", "{\"hypotheses\": [\"x\"]}", "\"A\"",
                         "{{{{{{{{", "\"\"\"\"", "- item\n- item\n", "```\n```"};
    char got[1024];
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        size_t rej = 0;
        hr_proposal_format f = parse(bad[i], got, sizeof got, &rej);
        CHECKF(got[0] == '\0', "answer %zu gave %s", i, got);
        CHECKF(f == HR_PROPOSALS_NONE || f == HR_PROPOSALS_JSON, "answer %zu: format %d", i, f);
    }
    /* NULL with length 0 is an empty answer */
    hr_proposal_list l;
    CHECK(hr_llm_parse_proposals(NULL, 0, &l, NULL, 0) == HR_OK && l.n == 0);
    CHECK(hr_llm_parse_proposals(NULL, 3, &l, NULL, 0) == HR_ERR_INPUT);
    hr_proposal_list_free(&l);
    hr_proposal_list_free(NULL);
    /* random bytes drawn from the characters the parser cares about (the
     * sanitizer build checks the memory accesses) */
    const char alphabet[] = "{}[]\":,\\-*1.)( \nABab\xe2\x80\x9c\xc3";
    unsigned long long x = 12345;
    char buf[257];
    for (int t = 0; t < 3000; t++) {
        size_t n = (size_t)(t % 256) + 1;
        for (size_t i = 0; i < n; i++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            buf[i] = alphabet[(x >> 33) % (sizeof alphabet - 1)];
        }
        buf[n] = '\0';
        hr_status st = hr_llm_parse_proposals(buf, n, &l, NULL, 0);
        CHECK(st == HR_OK);
        for (size_t i = 0; i < l.n; i++)
            CHECK(l.items[i].text[0] && strlen(l.items[i].text) <= 4 * HR_PROPOSAL_MAX_CHARS);
        hr_proposal_list_free(&l);
    }
}

/* ---- through the fake server -------------------------------------------------------------- */

static int pool_has(const hr_hypothesis_pool *pool, const char *text, const char *note)
{
    for (size_t i = 0; i < hr_pool_size(pool); i++) {
        const hr_pool_entry *e = hr_pool_get(pool, i);
        if (strcmp(e->text, text) == 0)
            return e->source == HR_SOURCE_LLM && (!note || (e->note && strcmp(e->note, note) == 0));
    }
    return 0;
}

static void test_r_rounds_send_r_requests_and_a_cached_rerun_sends_none(void)
{
    make_corpora();
    char cache[512];
    snprintf(cache, sizeof cache, "%s/propose.sqlite", dir);
    hr_llm_propose_input in = corpora("what changed");
    hr_llm_propose_options o = hr_llm_propose_default_options();
    o.rounds = 4;
    o.samples_per_side = 5;
    hr_llm *llm = make_llm(base_url, cache);
    hr_hypothesis_pool *pool = NULL;
    char err[512] = "";
    CHECK(hr_pool_create(&pool, err, sizeof err) == HR_OK);
    /* one entry already there: the LLM's copy is a duplicate */
    CHECK(hr_pool_add(pool, "is about sport39", 16, HR_SOURCE_BANK, NULL, NULL, err, sizeof err) ==
          HR_OK);
    long before = chat_requests();
    hr_llm_propose_report rep;
    CHECKF(hr_llm_propose(llm, &in, &o, pool, &rep, err, sizeof err) == HR_OK, "%s", err);
    CHECKF(chat_requests() - before == 4, "%ld requests", chat_requests() - before);
    CHECK(rep.rounds == 4 && rep.rounds_failed == 0 && rep.answers_json == 4);
    /* 4 rounds x 5 texts a side, each text its own "is about W" */
    CHECKF(rep.proposed == 40 && rep.rejected == 0, "%zu proposed, %zu rejected", rep.proposed,
           rep.rejected);
    CHECKF(rep.added == 39 && rep.duplicates == 1, "%zu added, %zu duplicates", rep.added,
           rep.duplicates);
    CHECK(rep.added_a == 19 && rep.added_b == 20);
    CHECK(hr_pool_size(pool) == 40);
    CHECK(pool_has(pool, "is about sport38", "llm round 1, side A"));
    CHECK(pool_has(pool, "is about sport20", "llm round 4, side A"));
    CHECK(pool_has(pool, "is about politics00", "llm round 1, side B"));
    CHECK(pool_has(pool, "is about politics19", "llm round 4, side B"));
    CHECK(!pool_has(pool, "is about sport19", NULL)); /* never shown */
    CHECK(rep.stats.sent == 4 && rep.stats.cache_hits == 0);
    CHECK(rep.stats.prompt_tokens > 0 && rep.stats.completion_tokens > 0);
    fprintf(stderr, "    4 rounds: %lld prompt + %lld completion tokens (fake server's count)\n",
            rep.stats.prompt_tokens, rep.stats.completion_tokens);
    hr_pool_destroy(pool);
    hr_llm_destroy(llm);

    /* again, with a fresh client and pool: all from the cache */
    llm = make_llm(base_url, cache);
    CHECK(hr_pool_create(&pool, err, sizeof err) == HR_OK);
    before = chat_requests();
    CHECKF(hr_llm_propose(llm, &in, &o, pool, &rep, err, sizeof err) == HR_OK, "%s", err);
    CHECKF(chat_requests() == before, "%ld requests on a cached rerun", chat_requests() - before);
    CHECK(rep.stats.cache_hits == 4 && rep.stats.sent == 0 && rep.stats.prompt_tokens == 0);
    CHECK(rep.added == 40 && hr_pool_size(pool) == 40);
    hr_pool_destroy(pool);
    hr_llm_destroy(llm);
}

static void test_fallback_answers_through_the_server(void)
{
    make_corpora();
    hr_llm *llm = make_llm(base_url, NULL);
    hr_hypothesis_pool *pool = NULL;
    char err[512] = "";
    CHECK(hr_pool_create(&pool, err, sizeof err) == HR_OK);
    hr_llm_propose_options o = hr_llm_propose_default_options();
    o.rounds = 2;
    o.json_mode = 0;
    hr_llm_propose_input in =
        corpora("compare them [[reply:Group A:\n- is upbeat\n- is short.\nGroup B:\n1. is "
                "gloomy\n]]");
    hr_llm_propose_report rep;
    CHECKF(hr_llm_propose(llm, &in, &o, pool, &rep, err, sizeof err) == HR_OK, "%s", err);
    CHECK(rep.answers_lines == 2 && rep.added == 3 && rep.duplicates == 3);
    CHECK(pool_has(pool, "is upbeat", "llm round 1, side A"));
    CHECK(pool_has(pool, "is gloomy", "llm round 1, side B"));

    /* in JSON mode the client refuses an answer that is not a JSON object:
     * each round fails, nothing is added, and the call still succeeds (the
     * model's doing, not the endpoint's: the batch is not stopped) */
    o.json_mode = 1;
    o.rounds = 5;
    size_t size = hr_pool_size(pool);
    CHECKF(hr_llm_propose(llm, &in, &o, pool, &rep, err, sizeof err) == HR_OK, "%s", err);
    CHECK(rep.rounds_failed == 5 && rep.added == 0 && hr_pool_size(pool) == size);
    o.rounds = 2;
    CHECKF(strstr(rep.first_error, "round 1") != NULL, "%s", rep.first_error);

    /* embedded JSON, json_mode 0 */
    o.json_mode = 0;
    in = corpora("x [[reply:Sure: {\"A\": [\"is cheerful\"], \"B\": []} ok]]");
    CHECKF(hr_llm_propose(llm, &in, &o, pool, &rep, err, sizeof err) == HR_OK, "%s", err);
    CHECK(rep.answers_embedded == 2 && rep.added == 1);
    hr_pool_destroy(pool);
    hr_llm_destroy(llm);
}

static void test_a_garbage_answer_adds_nothing(void)
{
    make_corpora();
    hr_llm *llm = make_llm(base_url, NULL);
    hr_hypothesis_pool *pool = NULL;
    char err[512] = "";
    CHECK(hr_pool_create(&pool, err, sizeof err) == HR_OK);
    hr_llm_propose_options o = hr_llm_propose_default_options();
    o.rounds = 3;
    o.json_mode = 0;
    hr_llm_propose_input in = corpora("[[reply:I am not sure what you mean.]]");
    hr_llm_propose_report rep;
    CHECKF(hr_llm_propose(llm, &in, &o, pool, &rep, err, sizeof err) == HR_OK, "%s", err);
    CHECK(rep.answers_unread == 3 && rep.added == 0 && hr_pool_size(pool) == 0);
    /* a JSON object of the wrong shape, in JSON mode */
    o.json_mode = 1;
    in = corpora("[[reply:{\"A\": {\"x\": 1}, \"B\": [1, 2, null]}]]");
    CHECKF(hr_llm_propose(llm, &in, &o, pool, &rep, err, sizeof err) == HR_OK, "%s", err);
    CHECK(rep.answers_json == 3 && rep.added == 0 && rep.rejected == 3 * 4);
    hr_pool_destroy(pool);
    hr_llm_destroy(llm);
}

static void test_a_10000_character_goal_goes_through(void)
{
    make_corpora();
    char *goal = malloc(10001);
    for (int i = 0; i < 10000; i++)
        goal[i] = i % 7 == 6 ? ' ' : 'g';
    goal[10000] = '\0';
    hr_llm *llm = make_llm(base_url, NULL);
    hr_hypothesis_pool *pool = NULL;
    char err[512] = "";
    CHECK(hr_pool_create(&pool, err, sizeof err) == HR_OK);
    hr_llm_propose_options o = hr_llm_propose_default_options();
    o.rounds = 1;
    hr_llm_propose_input in = corpora(goal);
    hr_llm_propose_report rep;
    CHECKF(hr_llm_propose(llm, &in, &o, pool, &rep, err, sizeof err) == HR_OK, "%s", err);
    CHECK(rep.goal_truncated == 1 && rep.description_truncated == 0);
    /* 15 texts a side are shown; the fake server answers with at most 10 a side */
    CHECKF(rep.rounds_failed == 0 && rep.added == 20, "%zu failed (%s), %zu added",
           rep.rounds_failed, rep.first_error, rep.added);
    hr_pool_destroy(pool);
    hr_llm_destroy(llm);
    free(goal);
}

static void test_an_unreachable_endpoint_returns_the_clients_status(void)
{
    make_corpora();
    hr_llm *llm = make_llm("http://127.0.0.1:9", NULL);
    hr_hypothesis_pool *pool = NULL;
    char err[512] = "";
    CHECK(hr_pool_create(&pool, err, sizeof err) == HR_OK);
    hr_llm_propose_input in = corpora(NULL);
    hr_llm_propose_report rep;
    hr_status st = hr_llm_propose(llm, &in, NULL, pool, &rep, err, sizeof err);
    CHECKF(st == HR_ERR_INPUT, "status %d: %s", st, err);
    CHECKF(strstr(err, "127.0.0.1:9") != NULL, "%s", err);
    CHECK(rep.rounds_failed == 3 && hr_pool_size(pool) == 0);
    CHECK(hr_llm_propose(NULL, &in, NULL, pool, NULL, err, sizeof err) == HR_ERR_INPUT);
    hr_pool_destroy(pool);
    hr_llm_destroy(llm);
}

/* ---- near duplicates ---------------------------------------------------------------------- */

static void test_near_duplicates_keep_the_first_of_each_pair(void)
{
    /* unit vectors in the plane at angles t: cos(t_i - t_j) is their cosine */
    const double deg = 3.14159265358979 / 180;
    double angles[] = {0, 10, 30, 40, 200, 203};
    enum { K = 8, D = 3 };
    float e[K * D];
    memset(e, 0, sizeof e);
    for (int i = 0; i < 6; i++) {
        e[i * D] = (float)(2.0 * cos(angles[i] * deg)); /* not normalised: length 2 */
        e[i * D + 1] = (float)(2.0 * sin(angles[i] * deg));
    }
    /* row 6: all zero (never a duplicate); row 7: a copy of row 2 */
    memcpy(e + 7 * D, e + 2 * D, D * sizeof *e);
    uint8_t keep[K];
    size_t kept = 0;
    char err[128] = "";
    /* threshold cos 15 deg = 0.966: 0~10 (cos 10 = 0.985) merges 1 into 0;
     * 30~40 merges 3 into 2; 200~203 merges 5 into 4; 7 equals 2 */
    CHECK(hr_near_duplicates(e, K, D, cos(15 * deg), keep, &kept, err, sizeof err) == HR_OK);
    uint8_t want1[K] = {1, 0, 1, 0, 1, 0, 1, 0};
    CHECK(memcmp(keep, want1, K) == 0 && kept == 4);
    /* a chain: threshold cos 25 deg = 0.906: 0~10, 10~30, 30~40 (and 0 !~ 30):
     * 1 merges into 0; 2 is compared with the kept 0 only (30 deg): kept */
    CHECK(hr_near_duplicates(e, K, D, cos(25 * deg), keep, &kept, err, sizeof err) == HR_OK);
    uint8_t want2[K] = {1, 0, 1, 0, 1, 0, 1, 0};
    CHECK(memcmp(keep, want2, K) == 0);
    /* threshold 1: only exact copies merge */
    CHECK(hr_near_duplicates(e, K, D, 1.0, keep, &kept, err, sizeof err) == HR_OK);
    CHECKF(kept == 7 && keep[7] == 0, "%zu kept", kept);
    CHECK(hr_near_duplicates(e, K, D, 0, keep, &kept, err, sizeof err) == HR_ERR_INPUT);
    CHECK(hr_near_duplicates(e, K, D, NAN, keep, &kept, err, sizeof err) == HR_ERR_INPUT);
    CHECK(hr_near_duplicates(e, K, D, 1.5, keep, &kept, err, sizeof err) == HR_ERR_INPUT);
    CHECK(hr_near_duplicates(NULL, 0, D, 0.9, NULL, &kept, err, sizeof err) == HR_OK && kept == 0);

    /* more rows than one block of the product (256), with duplicates across blocks */
    enum { BIG = 700, BD = 16 };
    float *big = malloc(BIG * BD * sizeof *big);
    uint8_t *bk = malloc(BIG);
    unsigned long long x = 7;
    for (int i = 0; i < BIG; i++)
        for (int j = 0; j < BD; j++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            big[i * BD + j] = (float)((double)(x >> 11) / 9007199254740992.0 - 0.5);
        }
    for (int i = 500; i < BIG; i++) /* rows 500.. repeat rows 0..199 */
        memcpy(big + i * BD, big + (i - 500) * BD, BD * sizeof *big);
    CHECK(hr_near_duplicates(big, BIG, BD, 0.9999, bk, &kept, err, sizeof err) == HR_OK);
    int ok = 1;
    for (int i = 0; i < BIG; i++)
        ok &= bk[i] == (i < 500);
    CHECKF(ok && kept == 500, "%zu kept", kept);
    free(big);
    free(bk);
}

static void test_a_pool_is_merged_into_a_new_pool(void)
{
    hr_hypothesis_pool *pool = NULL, *merged = NULL;
    char err[256] = "";
    CHECK(hr_pool_create(&pool, err, sizeof err) == HR_OK);
    hr_pool_add(pool, "is about sport", 14, HR_SOURCE_BANK, NULL, NULL, err, sizeof err);
    hr_pool_add(pool, "is about politics", 17, HR_SOURCE_LLM, "llm round 1, side B", NULL, err,
                sizeof err);
    hr_pool_add(pool, "is about sports", 15, HR_SOURCE_LLM, "llm round 1, side A", NULL, err,
                sizeof err);
    float e[3 * 2] = {1, 0, 0, 1, 0.99f, 0.05f};
    uint8_t keep[3];
    size_t kept = 0;
    CHECK(hr_pool_merge_near_duplicates(pool, e, 2, HR_NEAR_DUPLICATE_THRESHOLD, &merged, keep,
                                        &kept, err, sizeof err) == HR_OK);
    CHECK(kept == 2 && keep[0] == 1 && keep[1] == 1 && keep[2] == 0);
    CHECK(merged && hr_pool_size(merged) == 2);
    if (merged) {
        const hr_pool_entry *a = hr_pool_get(merged, 0), *b = hr_pool_get(merged, 1);
        CHECK(strcmp(a->text, "is about sport") == 0 && a->source == HR_SOURCE_BANK);
        CHECK(strcmp(b->text, "is about politics") == 0 && b->source == HR_SOURCE_LLM &&
              b->note && strcmp(b->note, "llm round 1, side B") == 0);
    }
    hr_pool_destroy(merged);
    merged = NULL;
    CHECK(hr_pool_merge_near_duplicates(pool, e, 2, 2.0, &merged, NULL, NULL, err, sizeof err) ==
          HR_ERR_INPUT);
    CHECK(merged == NULL);
    hr_pool_destroy(pool);
}

/* The default threshold on the real encoder: variants of one wording merge,
 * opposites do not (the pairs and their cosines are in llm_propose.h). */
static void test_the_default_threshold_on_minilm_embeddings(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/config.json", test_model_dir());
    struct stat sb;
    if (stat(path, &sb) != 0) {
        fprintf(stderr, "    (no model at %s: case not run)\n", test_model_dir());
        return;
    }
    static const char *const pairs[][2] = {
        /* merge */
        {"is about the weather", "is about weather"},
        {"is about crime", "is about a crime"},
        {"is about sports", "is about sport"},
        {"is about the coronavirus", "is about the coronavirus pandemic"},
        /* keep apart */
        {"is written in English", "is not written in English"},
        {"is negative in sentiment", "is positive in sentiment"},
        {"is written in a formal tone", "is written in an informal tone"},
        {"is about football", "is about soccer"},
        {"is about sports", "is about politics"},
    };
    const int n_merge = 4, n = (int)(sizeof pairs / sizeof *pairs);
    hr_model *model = NULL;
    hr_encoder *enc = NULL;
    char err[512] = "";
    CHECKF(hr_model_load(test_model_dir(), &model, err, sizeof err) == HR_OK, "%s", err);
    if (model)
        CHECKF(hr_encoder_create(model, HR_DEVICE_CPU, 1, &enc, err, sizeof err) == HR_OK, "%s",
               err);
    if (enc) {
        int d = hr_encoder_dim(enc);
        for (int i = 0; i < n; i++) {
            float e[2 * 384];
            CHECK(d == 384);
            CHECK(hr_encoder_embed(enc, pairs[i], NULL, 2, e, NULL, NULL, err, sizeof err) ==
                  HR_OK);
            uint8_t keep[2];
            size_t kept = 0;
            CHECK(hr_near_duplicates(e, 2, d, HR_NEAR_DUPLICATE_THRESHOLD, keep, &kept, err,
                                     sizeof err) == HR_OK);
            double c = 0;
            for (int k = 0; k < d; k++)
                c += (double)e[k] * e[d + k];
            CHECKF(kept == (i < n_merge ? 1u : 2u), "\"%s\" / \"%s\": cosine %.3f", pairs[i][0],
                   pairs[i][1], c);
        }
    }
    hr_encoder_destroy(enc);
    hr_model_destroy(model);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    RUN(test_each_round_shows_the_next_most_typical_texts);
    RUN(test_texts_are_flattened_cut_and_empty_ones_skipped);
    RUN(test_a_goal_of_10000_characters_is_truncated_with_a_note);
    RUN(test_bad_options_and_inputs_are_refused);
    RUN(test_a_strict_json_answer_is_read);
    RUN(test_json_inside_prose_or_a_code_fence_is_extracted);
    RUN(test_bulleted_and_numbered_lists_are_read_under_their_headings);
    RUN(test_items_are_cleaned_and_bad_ones_rejected);
    RUN(test_garbage_answers_give_nothing_and_do_not_crash);
    RUN(test_near_duplicates_keep_the_first_of_each_pair);
    RUN(test_a_pool_is_merged_into_a_new_pool);
    RUN(test_the_default_threshold_on_minilm_embeddings);

    snprintf(dir, sizeof dir, "/tmp/hr-test-llm-propose-XXXXXX");
    if (!mkdtemp(dir))
        return test_skip("cannot make a temporary folder");
    int started = fake_server_start_judge(&server_pid, base_url, sizeof base_url);
    if (started == -1) {
        rmdir(dir);
        fprintf(stderr, "python3 cannot be run: the cases with the fake server are skipped\n");
        return test_failures_ ? test_summary() : test_skip("python3 is missing");
    }
    if (started != 0) {
        rmdir(dir);
        fprintf(stderr, "the fake server did not start\n");
        return 1;
    }
    unsetenv("HYPORANK_API_KEY");
    unsetenv("OPENAI_API_KEY");
    curl_global_init(CURL_GLOBAL_DEFAULT);
    RUN(test_r_rounds_send_r_requests_and_a_cached_rerun_sends_none);
    RUN(test_fallback_answers_through_the_server);
    RUN(test_a_garbage_answer_adds_nothing);
    RUN(test_a_10000_character_goal_goes_through);
    RUN(test_an_unreachable_endpoint_returns_the_clients_status);
    fake_server_stop(server_pid);
    curl_global_cleanup();
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return test_summary();
}
