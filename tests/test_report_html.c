/*
 * tests/test_report_html.c: the HTML page (hyporank/html.h) without a
 * browser: text from the data is escaped and its invalid UTF-8 repaired,
 * long texts are cut on a character boundary, the JSON block cannot close
 * its script, `mentions "w"` words are highlighted on word boundaries, the
 * Content-Security-Policy's hashes are those of the page's own script and
 * style, the judge's V stands beside the screen's effect, 10,000 candidates on a million texts give a page under 5 MB, and
 * a report of hostile texts keeps every one of them as text.
 *
 * With $HR_HTML_OUT set (ctest sets build/html-report) it leaves large.html
 * and hostile-synthetic.html there for the browser tests (tests/browser/).
 */
#include "hyporank/corpus.h"
#include "hyporank/hash.h"
#include "hyporank/html.h"
#include "pipeline/html_internal.h"
#include "pipeline/pipeline.h"
#include "scoring/score_methods.h"
#include "test_util.h"

#include <math.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

/* What fn writes, as a NUL-terminated string (free it); *len its bytes. */
typedef struct capture {
    char *text;
    size_t len;
    FILE *f;
} capture;

static FILE *cap_open(capture *c)
{
    c->text = NULL;
    c->len = 0;
    c->f = open_memstream(&c->text, &c->len);
    return c->f;
}

static char *cap_close(capture *c)
{
    fclose(c->f);
    return c->text;
}

static char *escaped(const char *s, size_t len, size_t max)
{
    capture c;
    hr_html_text(cap_open(&c), s, len, max);
    return cap_close(&c);
}

static void test_text_from_the_data_is_escaped_and_repaired(void)
{
    static const char s[] = "<script>alert('x')</script> & \"q\"";
    char *t = escaped(s, sizeof s - 1, 0);
    CHECKF(strcmp(t, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;") == 0,
           "%s", t);
    free(t);
    /* invalid UTF-8: a lone continuation byte, an overlong '/', a surrogate, a
     * sequence cut short; each ill-formed byte becomes U+FFFD */
    static const char bad[] = "a\x80" "b\xC0\xAF" "c\xED\xA0\x80" "d\xE2\x82";
    t = escaped(bad, sizeof bad - 1, 0);
    CHECKF(hr_utf8_valid(t, strlen(t), NULL), "not valid UTF-8: %s", t);
    CHECKF(strncmp(t, "a\xEF\xBF\xBD" "b\xEF\xBF\xBD\xEF\xBF\xBD" "c", 11) == 0, "%s", t);
    CHECK(strchr(t, 'd') != NULL);
    free(t);
    /* valid text passes as it is, control characters become spaces */
    static const char ok[] = "caf\xC3\xA9 \xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D \xF0\x9F\x99\x82\x01\x7F\n";
    t = escaped(ok, sizeof ok - 1, 0);
    CHECKF(strcmp(t, "caf\xC3\xA9 \xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D \xF0\x9F\x99\x82  \n") == 0, "%s", t);
    free(t);
}

static void test_long_texts_are_cut_on_a_character_boundary(void)
{
    char s[64];
    memset(s, 'x', sizeof s);
    memcpy(s + 8, "\xE2\x82\xAC", 3); /* a euro sign across byte 10 */
    char *t = escaped(s, sizeof s, 10);
    CHECKF(strcmp(t, "xxxxxxxx\xE2\x80\xA6") == 0, "%s", t); /* 8 bytes, then "..." */
    free(t);
    t = escaped(s, 11, 20);
    CHECKF(strlen(t) == 11 && strstr(t, "\xE2\x80\xA6") == NULL, "%s", t); /* shorter: uncut */
    free(t);
}

static void test_json_in_the_page_cannot_close_its_script(void)
{
    static const char s[] = "</script><script>x()</script> <!-- \"\\ \xE2\x80\xA8 \x01 \xFF";
    capture c;
    hr_html_json_string(cap_open(&c), s, sizeof s - 1, 0);
    char *t = cap_close(&c);
    CHECKF(strchr(t, '<') == NULL && strchr(t, '>') == NULL, "%s", t);
    CHECKF(strstr(t, "\\u003c/script\\u003e") != NULL, "%s", t);
    CHECKF(strstr(t, "\\\"\\\\ \\u2028 \\u0001 \\ufffd\"") != NULL, "%s", t);
    free(t);
    hr_html_json_string(cap_open(&c), NULL, 0, 0);
    t = cap_close(&c);
    CHECK(strcmp(t, "null") == 0);
    free(t);
}

static char *marked(const char *s, const char *phrase)
{
    const char *const p[1] = {phrase};
    const size_t l[1] = {strlen(phrase)};
    capture c;
    hr_html_text_marked(cap_open(&c), s, strlen(s), 0, p, l, 1);
    return cap_close(&c);
}

static void test_mentions_words_are_highlighted_on_word_boundaries(void)
{
    char *t = marked("COVID-19 cases rise; covid19 and covidiot are other words; <covid 19>",
                     "covid 19");
    CHECKF(strcmp(t, "<mark>COVID-19</mark> cases rise; covid19 and covidiot are other words; "
                     "&lt;<mark>covid 19</mark>&gt;") == 0,
           "%s", t);
    free(t);
    t = marked("a <b>bold</b> claim", "<b>"); /* a phrase of no word: nothing marked */
    CHECKF(strcmp(t, "a &lt;b&gt;bold&lt;/b&gt; claim") == 0, "%s", t);
    free(t);
    const char *phrase;
    size_t plen;
    CHECK(hr_html_mentions("mentions \"covid 19\"", 19, &phrase, &plen) && plen == 8 &&
          memcmp(phrase, "covid 19", 8) == 0);
    CHECK(!hr_html_mentions("is about covid", 14, &phrase, &plen));
    CHECK(!hr_html_mentions("mentions \"a\" or \"b\"", 19, &phrase, &plen));
}

static size_t occurrences(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++) n++;
    return n;
}

/* ---- synthetic reports ---- */

/* A describe report of k >= 240 candidates on n_a + n_b texts: 40 findings (20 of
 * each side) shown and plotted, each with 5 paraphrases and 3 examples a
 * side of example_len bytes, texts[t % n_texts] as hypotheses (NULL: "is
 * about topic number ..."). */
static hr_report *synthetic(size_t k, size_t n_a, size_t n_b, const char *const *texts,
                            size_t n_texts, size_t example_len)
{
    hr_report *r = hr_report_new(HR_REPORT_DESCRIBE);
    int failed = 0;
    hr_report_info *in = &r->info;
    const char *t0 = texts ? texts[0] : "goal";
    in->n_a = n_a, in->n_b = n_b;
    in->a_path = hr_report_keep(r, texts ? t0 : "data/a-corpus.jsonl", &failed);
    in->b_path = hr_report_keep(r, "data/b-corpus.jsonl", &failed);
    in->encoder_model = hr_report_keep(r, "all-MiniLM-L6-v2", &failed);
    in->encoder_device = hr_report_keep(r, "cpu", &failed);
    in->dim = 384;
    in->scorer_device = HR_DEVICE_CPU;
    in->method = HR_SCORE_COSINE;
    in->goal = hr_report_keep(r, texts ? t0 : "how A differs from B", &failed);
    in->candidate_sources = hr_report_keep(r, "bank + words", &failed);
    in->n_candidates = k;
    in->scored_a = in->scored_all_a = n_a;
    in->scored_b = in->scored_all_b = n_b;
    in->alpha = 0.05;
    in->top = 20;
    in->seed = 1;
    const size_t nf = 40, per = 5, bins = HR_REPORT_BINS, ex = HR_REPORT_DETAIL_EXAMPLES;
    r->rows = calloc(k, sizeof *r->rows);
    r->paraphrases = calloc(k, sizeof *r->paraphrases);
    r->paraphrase_lens = calloc(k, sizeof *r->paraphrase_lens);
    r->hist = calloc(nf * 2 * bins, sizeof *r->hist);
    r->plot_texts = calloc(nf * 2 * ex, sizeof *r->plot_texts);
    r->plot_lens = calloc(nf * 2 * ex, sizeof *r->plot_lens);
    char *example = malloc(example_len + 1);
    if (!r->rows || !r->paraphrases || !r->paraphrase_lens || !r->hist || !r->plot_texts ||
        !r->plot_lens || !example || failed) {
        free(example);
        hr_report_destroy(r);
        return NULL;
    }
    for (size_t i = 0; i < example_len; i++) example[i] = "pasta sauce tomato "[i % 19];
    example[example_len] = '\0';
    const char *ex_text = hr_report_keep(r, example, &failed);
    free(example);
    r->n_rows = k;
    size_t para = 0;
    for (size_t i = 0; i < k; i++) {
        hr_report_row *row = &r->rows[i];
        char buf[96];
        const char *text = buf;
        if (texts) text = texts[i % n_texts];
        else snprintf(buf, sizeof buf, "is about topic number %zu and what people say of it", i);
        row->rank = i + 1;
        row->index = i;
        row->text = hr_report_keep(r, text, &failed);
        row->len = strlen(text);
        row->source = (hr_hyp_source)(i % 3);
        row->duplicate_of = -1;
        const int side_a = i < nf ? i % 2 == 0 : i % 3 != 0;
        const double eff = (side_a ? 1 : -1) * (0.4 - 0.3 * (double)i / (double)k);
        row->direction = side_a ? 'A' : 'B';
        row->effect = (hr_effect){.share_a = side_a ? eff + 0.05 : 0.05,
                                  .share_b = side_a ? 0.05 : 0.05 - eff,
                                  .effect = eff, .ci_low = eff - 0.08, .ci_high = eff + 0.08,
                                  .z = eff * 20, .p_value = 1e-12 * (double)(i + 1),
                                  .q_value = 1e-10 * (double)(i + 1), .tau = 0.3};
        row->score.auroc = side_a ? 0.7 : 0.3;
        row->significant = i < nf + nf * per;
        row->finding = i < nf;
        row->shown = i < nf;
        if (i >= nf && i < nf + nf * per) {
            row->explained_by = (i - nf) / per + 1;
            row->paraphrase = 1;
        }
    }
    for (size_t f = 0; f < nf; f++) {
        hr_report_row *row = &r->rows[f];
        row->paraphrases = r->paraphrases + para;
        row->paraphrase_lens = r->paraphrase_lens + para;
        for (size_t x = 0; x < per; x++, para++) {
            const hr_report_row *o = &r->rows[nf + f * per + x];
            r->paraphrases[para] = o->text;
            r->paraphrase_lens[para] = o->len;
        }
        row->n_paraphrases = row->n_explained = per;
        row->n_bins = bins;
        row->bins_lo = -0.1, row->bins_hi = 0.7;
        size_t *ha = r->hist + 2 * f * bins, *hb = ha + bins;
        size_t left_a = n_a, left_b = n_b;
        for (size_t b = 0; b < bins; b++) { /* two bumps: a side's texts split over the bins */
            const double wa = exp(-0.5 * pow(((double)b - 18) / 5, 2)) / (5 * 2.5066);
            const double wb = exp(-0.5 * pow(((double)b - 14) / 5, 2)) / (5 * 2.5066);
            ha[b] = b + 1 < bins ? (size_t)(wa * (double)n_a) : left_a;
            hb[b] = b + 1 < bins ? (size_t)(wb * (double)n_b) : left_b;
            left_a -= ha[b] < left_a ? ha[b] : left_a;
            left_b -= hb[b] < left_b ? hb[b] : left_b;
        }
        row->hist_a = ha, row->hist_b = hb;
        const char **tx = r->plot_texts + 2 * f * ex;
        size_t *ln = r->plot_lens + 2 * f * ex;
        for (size_t e = 0; e < 2 * ex; e++) {
            tx[e] = texts ? texts[(f + e) % n_texts] : ex_text;
            ln[e] = strlen(tx[e]);
        }
        row->examples_a = tx, row->example_lens_a = ln, row->n_examples_a = ex;
        row->examples_b = tx + ex, row->example_lens_b = ln + ex, row->n_examples_b = ex;
    }
    in->findings_a = in->findings_b = nf / 2;
    in->significant_a = in->significant_b = (nf + nf * per) / 2;
    if (failed) {
        hr_report_destroy(r);
        return NULL;
    }
    return r;
}

/* The page of r, and with $HR_HTML_OUT set, a copy in that folder as name. */
static char *page_of(const hr_report *r, const char *name, size_t *len)
{
    capture c;
    hr_html_options o;
    hr_html_options_init(&o);
    o.date = "2026-01-01 00:00 UTC";
    CHECK(hr_report_write_html(cap_open(&c), r, &o) == HR_OK);
    char *page = cap_close(&c);
    *len = c.len;
    const char *dir = getenv("HR_HTML_OUT");
    if (dir && page) {
        mkdir(dir, 0777);
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, name);
        FILE *f = fopen(path, "wb");
        CHECKF(f != NULL, "cannot write %s", path);
        if (f) {
            fwrite(page, 1, *len, f);
            fclose(f);
        }
    }
    return page;
}

/* The text between the first open (after its '>') and close at or after from. */
static char *between(const char *page, const char *open, const char *close, size_t *len)
{
    const char *a = strstr(page, open);
    if (!a || !(a = strchr(a, '>'))) return NULL;
    a++;
    const char *b = strstr(a, close);
    if (!b) return NULL;
    *len = (size_t)(b - a);
    return (char *)a;
}

static int csp_has(const char *page, const char *data, size_t len)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned char d[33] = {0};
    hr_sha256 h;
    hr_sha256_init(&h);
    hr_sha256_update(&h, data, len);
    hr_sha256_final(&h, d);
    char want[64] = "'sha256-";
    size_t o = strlen(want);
    for (size_t i = 0; i < 32; i += 3) {
        const uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8 | (uint32_t)d[i + 2];
        want[o++] = b64[v >> 18 & 63];
        want[o++] = b64[v >> 12 & 63];
        want[o++] = i + 1 < 32 ? b64[v >> 6 & 63] : '=';
        want[o++] = i + 2 < 32 ? b64[v & 63] : '=';
    }
    want[o++] = '\'';
    want[o] = '\0';
    const char *csp = strstr(page, "Content-Security-Policy");
    const char *end = csp ? strchr(csp, '>') : NULL;
    const char *at = csp ? strstr(csp, want) : NULL;
    return at && at < end;
}

static void test_page_allows_only_its_own_script_and_style(void)
{
    hr_report *r = synthetic(300, 1000, 1000, NULL, 0, 200);
    CHECK(r != NULL);
    if (!r) return;
    size_t len;
    char *page = page_of(r, "small.html", &len);
    CHECK(strstr(page, "default-src 'none'") != NULL);
    size_t n;
    const char *style = between(page, "<style", "</style>", &n);
    CHECKF(style && csp_has(page, style, n), "the style's hash is not in the policy");
    /* the last <script> is the code; the one before it the JSON block */
    const char *code = strstr(page, "<script>");
    CHECK(code != NULL);
    if (code) {
        const char *body = code + strlen("<script>"), *end = strstr(body, "</script>");
        CHECKF(end && csp_has(page, body, (size_t)(end - body)), "the script's hash is not in the policy");
    }
    CHECKF(!strstr(page, "http:") && !strstr(page, "https:") && !strstr(page, "url(") &&
               !strstr(page, " src="),
           "the page names something to load");
    CHECK(strstr(page, "id=\"hr-data\"") != NULL && strstr(page, "id=\"forest\"") != NULL);
    free(page);
    hr_report_destroy(r);
}

static void test_the_judges_v_stands_beside_the_screens_effect(void)
{
    hr_report *r = synthetic(300, 1000, 1000, NULL, 0, 200);
    CHECK(r != NULL);
    if (!r) return;
    r->verifications = calloc(3, sizeof *r->verifications);
    CHECK(r->verifications != NULL);
    if (!r->verifications) {
        hr_report_destroy(r);
        return;
    }
    for (size_t i = 0; i < 3; i++) { /* the first three findings judged, one without answers */
        hr_verify_result *v = &r->verifications[i];
        *v = (hr_verify_result){.n_a_true = 12, .n_a_answered = 20, .n_b_true = 2,
                                .n_b_answered = 20, .v = i == 2 ? NAN : 0.5, .ci_low = 0.22,
                                .ci_high = 0.71, .p_value = 0.001};
        r->rows[i].verification = v;
    }
    size_t len;
    char *page = page_of(r, "judged.html", &len);
    CHECKF(occurrences(page, "class=\"fp-judge mk-j\"") == 2, "%zu judge marks",
           occurrences(page, "class=\"fp-judge mk-j\""));
    CHECK(strstr(page, "judge +0.50 [+0.22, +0.71]") != NULL);
    CHECK(strstr(page, "true of 12/20 texts of A and 2/20 of B") != NULL);
    CHECK(strstr(page, "The judge gave no usable answer.") != NULL);
    CHECK(strstr(page, "the LLM judge's V") != NULL); /* the legend says what the mark is */
    free(page);
    hr_report_destroy(r);
}

static void test_ten_thousand_candidates_on_a_million_texts_stay_under_5_mb(void)
{
    hr_report *r = synthetic(10000, 500000, 500000, NULL, 0, 4000);
    CHECK(r != NULL);
    if (!r) return;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    size_t len;
    char *page = page_of(r, "large.html", &len);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    fprintf(stderr, "  10,000 candidates, 1,000,000 texts: %zu bytes in %.3f s\n", len,
            (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
    CHECKF(len < 5000000, "%zu bytes", len);
    CHECKF(hr_utf8_valid(page, len, NULL), "the page is not valid UTF-8");
    /* every candidate travels in the JSON block, each example is cut */
    CHECK(strstr(page, "is about topic number 9999 and") != NULL);
    CHECK(strstr(page, "pasta sauce tomato pasta") != NULL);
    size_t runs = 0;
    for (const char *p = page; (p = strstr(p, "tomato pasta sauce tomato")) != NULL; p++) runs++;
    CHECKF(runs < 40 * 6 * (HR_HTML_MAX_TEXT / 19 + 1), "examples are not cut: %zu", runs);
    /* the histograms count a million texts */
    CHECK(strstr(page, "A (500,000 texts)") != NULL && strstr(page, "B (500,000 texts)") != NULL);
    free(page);
    hr_report_destroy(r);
}

/* Texts a page must keep as text; some bytes are invalid UTF-8. */
static const char *const hostile[] = {
    "<script>window.__pwned=1</script> pasta with tomato sauce",
    "<img src=x onerror=\"window.__pwned=2\"> bread at home",
    "\"><svg onload=window.__pwned=3> cheese",
    "</bdi></li></ol></div></article><h1 class=\"injected\">broken</h1> soup",
    "</script><script>window.__pwned=4</script> in the JSON block",
    "mentions \"<b>\"",
    "\xD9\x88\xD8\xB5\xD9\x81\xD8\xA9 \xD8\xA7\xD9\x84\xD9\x85\xD8\xB9\xD9\x83\xD8\xB1\xD9\x88\xD9\x86\xD8\xA9 "
    "(RTL) \xE2\x80\xAE reversed \xE2\x80\xAC",
    "invalid \xFF\xFE bytes \xC3\x28 and \xED\xA0\x80 here",
    "&lt;script&gt; stays &amp;lt; as typed",
    "line\xE2\x80\xA8separator and <!-- a comment --> and <style>body{display:none}</style>",
};

static void test_hostile_report_page_keeps_every_text_as_text(void)
{
    const size_t n = sizeof hostile / sizeof *hostile;
    hr_report *r = synthetic(300, 60, 60, hostile, n, 0); /* k >= 40 findings x 6 */
    CHECK(r != NULL);
    if (!r) return;
    size_t len;
    char *page = page_of(r, "hostile-synthetic.html", &len);
    CHECKF(hr_utf8_valid(page, len, NULL), "the page is not valid UTF-8");
    size_t scripts = 0, styles = 0;
    for (const char *p = page; (p = strstr(p, "<script")) != NULL; p++) scripts++;
    for (const char *p = page; (p = strstr(p, "<style")) != NULL; p++) styles++;
    CHECKF(scripts == 2 && styles == 1, "%zu <script, %zu <style", scripts, styles);
    CHECK(strstr(page, "<img") == NULL && strstr(page, "<svg onload") == NULL);
    CHECK(strstr(page, "<h1 class=\"injected\"") == NULL && strstr(page, "<!-- a comment") == NULL);
    CHECK(strstr(page, "&lt;script&gt;window.__pwned=1&lt;/script&gt;") != NULL);
    CHECK(strstr(page, "&amp;lt;script&amp;gt; stays &amp;amp;lt;") != NULL);
    CHECK(strstr(page, "\\u003c/script\\u003e\\u003cscript\\u003ewindow.__pwned=4") != NULL);
    CHECK(strstr(page, "invalid \xEF\xBF\xBD\xEF\xBF\xBD bytes") != NULL);
    free(page);
    hr_report_destroy(r);
}

/* Reference order of the running top list: higher score first, equal
 * scores by the smaller row. */
typedef struct scored_row {
    float s;
    size_t r;
} scored_row;

static int cmp_scored_row(const void *x, const void *y)
{
    const scored_row *a = x, *b = y;
    if (a->s != b->s) return a->s > b->s ? -1 : 1;
    return (a->r > b->r) - (a->r < b->r);
}

/* hr_top_keep keeps the same list as a sort, whatever order the rows come
 * in (the examples scan texts in the split's order, not the corpus's), ties
 * included. */
static void test_the_running_top_list_is_the_sorted_one_in_any_order(void)
{
    enum { N = 500 };
    scored_row all[N], sorted[N];
    uint64_t st = 12345;
    for (int trial = 0; trial < 20; trial++) {
        for (size_t i = 0; i < N; i++) {
            st = st * 6364136223846793005ull + 1442695040888963407ull;
            all[i].s = (float)((st >> 33) % 17) / 16.0f; /* many ties */
            all[i].r = i;
        }
        for (size_t i = N - 1; i > 0; i--) { /* come in a shuffled order */
            st = st * 6364136223846793005ull + 1442695040888963407ull;
            const size_t j = (size_t)((st >> 33) % (i + 1));
            const scored_row t = all[i];
            all[i] = all[j], all[j] = t;
        }
        memcpy(sorted, all, sizeof all);
        qsort(sorted, N, sizeof *sorted, cmp_scored_row);
        const size_t ks[] = {0, 1, 2, 7, N, N + 3};
        for (size_t q = 0; q < sizeof ks / sizeof ks[0]; q++) {
            const size_t k = ks[q];
            float score[N + 3];
            size_t row[N + 3], have = 0;
            for (size_t i = 0; i < N; i++) hr_top_keep(score, row, &have, k, all[i].s, all[i].r);
            CHECKF(have == (k < N ? k : N), "k %zu: %zu kept", k, have);
            size_t wrong = 0;
            for (size_t i = 0; i < have; i++)
                wrong += score[i] != sorted[i].s || row[i] != sorted[i].r;
            CHECKF(wrong == 0, "k %zu: %zu places differ from the sorted list", k, wrong);
        }
    }
}

/* What a pass of hr_pipe_similarity_tiles saw: each row's count of tiles
 * and the sum over texts of its similarity times (text row + 1). */
typedef struct tile_seen {
    size_t b, n, calls, rows;
    double weighted[8];
} tile_seen;

static void see_tile(void *state, const float *S, size_t t0, size_t nt)
{
    tile_seen *w = state;
    w->calls++, w->rows += nt;
    for (size_t j = 0; j < w->b; j++)
        for (size_t x = 0; x < nt; x++) w->weighted[j] += (double)S[j * nt + x] * (double)(t0 + x + 1);
}

/* Every text is seen once, in a tile of the right rows with the right
 * similarities, however many workers share the tiles. */
static void test_similarity_tiles_cover_every_text_once_on_any_number_of_workers(void)
{
    enum { B = 5, DIM = 16 };
    const size_t n = 3 * HR_PIPE_TILE + 123;
    float *x = malloc(n * DIM * sizeof *x), hb[B * DIM], *ref = malloc(B * n * sizeof *ref);
    uint64_t st = 99;
    for (size_t i = 0; i < n * DIM; i++) {
        st = st * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = (float)((st >> 40) % 1000) / 1000.0f - 0.5f;
    }
    for (size_t i = 0; i < B * DIM; i++) hb[i] = (float)(i % 7) / 7.0f - 0.4f;
    hr_similarities(hb, B, x, n, DIM, ref);
    double want[B] = {0}, size[B] = {0}; /* size: the sum of |terms|, for float rounding */
    for (size_t j = 0; j < B; j++)
        for (size_t i = 0; i < n; i++) {
            want[j] += (double)ref[j * n + i] * (double)(i + 1);
            size[j] += fabs((double)ref[j * n + i]) * (double)(i + 1);
        }
    const int counts[] = {1, 2, 3, 4, 9};
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
        tile_seen seen[9];
        memset(seen, 0, sizeof seen);
        for (int t = 0; t < 9; t++) seen[t].b = B, seen[t].n = n;
        CHECK(hr_pipe_similarity_tiles(hb, B, x, n, DIM, counts[c], see_tile, seen, sizeof *seen) ==
              HR_OK);
        size_t rows = 0, calls = 0;
        double got[B] = {0};
        for (int t = 0; t < 9; t++) {
            rows += seen[t].rows, calls += seen[t].calls;
            for (size_t j = 0; j < B; j++) got[j] += seen[t].weighted[j];
        }
        CHECKF(rows == n && calls == 4, "%d workers: %zu rows in %zu tiles", counts[c], rows, calls);
        for (size_t j = 0; j < B; j++)
            CHECKF(fabs(got[j] - want[j]) <= 1e-6 * size[j],
                   "%d workers, row %zu: %.17g against %.17g", counts[c], j, got[j], want[j]);
    }
    free(x), free(ref);
}

/* Shares print as whole percents for the screen's estimates and to the
 * texts for counted ones; effects with two or three decimals likewise. */
static void test_counted_shares_print_to_the_texts(void)
{
    hr_effect e;
    memset(&e, 0, sizeof e);
    char s[16], ef[64];
    static const struct {
        double share;
        const char *screen, *counted;
    } cases[] = {{0.0, "0%", "0%"},        {0.0004, "0%", "0.04%"}, {0.0398, "4%", "4.0%"},
                 {0.0999, "10%", "10%"},    {0.00996, "1%", "1.0%"},  {0.2725, "27%", "27%"},
                 {1.0, "100%", "100%"}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        e.counted = 0;
        CHECKF(strcmp(hr_pipe_share_text(&e, cases[i].share, s), cases[i].screen) == 0,
               "%g: %s", cases[i].share, s);
        e.counted = 1;
        CHECKF(strcmp(hr_pipe_share_text(&e, cases[i].share, s), cases[i].counted) == 0,
               "%g counted: %s", cases[i].share, s);
    }
    e.effect = 0.0229, e.ci_low = 0.0197, e.ci_high = 0.0264;
    e.counted = 1;
    CHECKF(strcmp(hr_pipe_effect_text(&e, ef), "+0.023 [+0.020, +0.026]") == 0, "%s", ef);
    e.counted = 0;
    CHECKF(strcmp(hr_pipe_effect_text(&e, ef), "+0.02 [+0.02, +0.03]") == 0, "%s", ef);
}

int main(void)
{
    RUN(test_text_from_the_data_is_escaped_and_repaired);
    RUN(test_long_texts_are_cut_on_a_character_boundary);
    RUN(test_json_in_the_page_cannot_close_its_script);
    RUN(test_mentions_words_are_highlighted_on_word_boundaries);
    RUN(test_page_allows_only_its_own_script_and_style);
    RUN(test_the_judges_v_stands_beside_the_screens_effect);
    RUN(test_ten_thousand_candidates_on_a_million_texts_stay_under_5_mb);
    RUN(test_hostile_report_page_keeps_every_text_as_text);
    RUN(test_the_running_top_list_is_the_sorted_one_in_any_order);
    RUN(test_similarity_tiles_cover_every_text_once_on_any_number_of_workers);
    RUN(test_counted_shares_print_to_the_texts);
    return test_summary();
}
