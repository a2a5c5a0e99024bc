/*
 * tests/test_cli_rank.c: the hyporank rank command, run as a program ($HR_CLI,
 * set by ctest): the JSON contract of DESIGN.md, its ordering, and a clear
 * message with exit status 2 for each kind of bad input.
 */
#include "hyporank/findings.h"
#include "hyporank/npy.h"
#include "hyporank/scorer.h"
#include "test_util.h"
#include "core/random.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmpdir[256];
static const char *cli;

static const char *tmp_path(const char *name)
{
    static char bufs[8][512];
    static int next;
    char *p = bufs[next++ % 8];
    snprintf(p, sizeof bufs[0], "%s/%s", tmpdir, name);
    return p;
}

static void spit(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
    fputs(text, f);
    fclose(f);
}

/* Output of the last run. */
static char *out_text, *err_text;

/* Runs hyporank with the arguments (NULL-terminated); returns its exit
 * status, and leaves its stdout and stderr in out_text and err_text. */
static int run_cli(const char *first, ...)
{
    const char *argv[64];
    int argc = 0;
    argv[argc++] = cli;
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a && argc < 62; a = va_arg(ap, const char *)) argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;
    const char *out = tmp_path("stdout.txt"), *err = tmp_path("stderr.txt");
    pid_t pid = fork();
    if (pid == 0) {
        int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fo < 0 || fe < 0) _exit(126);
        dup2(fo, 1);
        dup2(fe, 2);
        execv(cli, (char *const *)argv);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    free(out_text);
    free(err_text);
    out_text = test_read_file(out);
    err_text = test_read_file(err);
    if (!out_text) out_text = calloc(1, 1);
    if (!err_text) err_text = calloc(1, 1);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static uint64_t rng_state = 12345;

static double rng_normal(void)
{
    const uint64_t z = hr_splitmix64(&rng_state);
    /* Irwin-Hall: enough for test data. */
    double s = 0.0;
    for (int i = 0; i < 4; i++) s += (double)((z >> (16 * i)) & 0xFFFF) / 65536.0;
    return (s - 2.0) * 1.7320508;
}

enum { NA = 120, NB = 90, K = 7, D = 12 };
static float xa[NA * D], xb[NB * D], hyp[K * D]; /* row-major */

/* A normal draw rounded to a multiple of 1/256 (within [-4, 4]): products of
 * two are multiples of 2^-16, and sums of 12 of them are exact in float, so
 * the program (which may pick other BLAS kernels) and this test get the very
 * same scores. */
static float exact_normal(double shift)
{
    double v = rng_normal() + shift;
    v = v > 4.0 ? 4.0 : (v < -4.0 ? -4.0 : v);
    return (float)(round(v * 256.0) / 256.0);
}

static void write_inputs(void)
{
    /* A third of A's texts are "about" hypothesis 0: their first coordinate
     * is shifted (hypothesis 0 holds for more of A). */
    for (int i = 0; i < NA * D; i++)
        xa[i] = exact_normal(i % D == 0 && i / D < NA / 3 ? 2.5 : 0.0);
    for (int i = 0; i < NB * D; i++) xb[i] = exact_normal(0.0);
    for (int i = 0; i < K * D; i++) hyp[i] = exact_normal(0.0);
    for (int c = 1; c < D; c++) hyp[c] = 0.0f;            /* hypothesis 0 is the first */
    hyp[0] = 3.0f;                                        /* coordinate: it leans on A */
    memcpy(hyp + 5 * D, hyp + 2 * D, D * sizeof(float)); /* 5 repeats 2 */
    char err[256];
    if (hr_npy_write_f32(tmp_path("a.npy"), xa, NA, D, err, sizeof err) ||
        hr_npy_write_f32(tmp_path("b.npy"), xb, NB, D, err, sizeof err) ||
        hr_npy_write_f32(tmp_path("h.npy"), hyp, K, D, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }
    /* Texts for the hypotheses: blank lines are skipped, line 7 repeats 4. */
    spit(tmp_path("h.txt"), "leans on A\nsecond\n\nthird\nfourth\nfifth\nthird\n\nseventh\n");
}

static void test_help_teaches_with_an_example(void)
{
    CHECK(run_cli("rank", "--help", NULL) == 0);
    CHECK(strstr(out_text, "--a-emb") && strstr(out_text, "auroc") && strstr(out_text, "Example"));
    CHECK(run_cli("--help", NULL) == 0);
    CHECK(strstr(out_text, "rank") != NULL);
}

static void test_npy_inputs_give_the_contract_json_findings_first(void)
{
    const char *json = tmp_path("out.json");
    int rc = run_cli("rank", "--a-emb", tmp_path("a.npy"), "--b-emb", tmp_path("b.npy"), "--h-emb",
                     tmp_path("h.npy"), "--hypotheses", tmp_path("h.txt"), "--json", json, "--top",
                     "3", NULL);
    CHECKF(rc == 0, "exit %d: %s", rc, err_text);
    char *text = test_read_file(json);
    CHECK(text != NULL);
    if (!text) return;
    cJSON *j = cJSON_Parse(text);
    free(text);
    CHECK(j != NULL);
    if (!j) return;
    CHECK(cJSON_GetObjectItem(j, "n_a")->valuedouble == NA);
    CHECK(cJSON_GetObjectItem(j, "n_b")->valuedouble == NB);
    const cJSON *enc = cJSON_GetObjectItem(j, "encoder");
    CHECK(enc && strcmp(cJSON_GetObjectItem(enc, "model")->valuestring, "precomputed") == 0);
    CHECK(enc && cJSON_GetObjectItem(enc, "dim")->valuedouble == D);
    CHECK(enc && cJSON_IsString(cJSON_GetObjectItem(enc, "device")));
    const cJSON *hs = cJSON_GetObjectItem(j, "hypotheses");
    CHECK(cJSON_GetArraySize(hs) == K);

    /* The same numbers as the library gives: the similarity's AUROC (cosine,
     * rank's method) and the effects and findings (hyporank/findings.h). */
    hr_scorer *s;
    hr_hypothesis_score want[K];
    hr_scorer_options so = hr_scorer_default_options();
    so.method = HR_SCORE_COSINE;
    CHECK(hr_scorer_create(xa, NA, xb, NB, D, &so, &s, NULL, 0) == HR_OK);
    CHECK(hr_scorer_score(s, hyp, K, want, NULL, 0) == HR_OK);
    hr_scorer_destroy(s);
    hr_effect eff[K];
    hr_finding fnd[K];
    size_t n_found = 0;
    hr_findings_input fin = {xa, xb, NA, NB, D, NULL, NULL, hyp, K, NULL};
    CHECK(hr_effect_rows(xa, NA, xb, NB, D, hyp, K, eff, NULL, 0) == HR_OK);
    CHECK(hr_effect_qvalues(eff, K, NULL, 0) == HR_OK);
    CHECK(hr_findings_select(&fin, NULL, eff, fnd, &n_found, NULL, 0) == HR_OK);
    CHECK(n_found >= 1);

    const char *fields[] = {"rank", "index", "text", "source", "direction", "auroc",
                            "mean_a", "mean_b", "p_value", "q_value", "share_a", "share_b",
                            "effect", "effect_ci", "finding", "explained_by", "paraphrases",
                            "auroc_p_value", "auroc_q_value"};
    const char *texts[K] = {"leans on A", "second", "third", "fourth", "fifth", "third", "seventh"};
    int seen[K] = {0}, r = 0, prev_finding = 1;
    double prev_p = 0.0;
    const cJSON *h;
    cJSON_ArrayForEach(h, hs)
    {
        r++;
        for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++)
            CHECKF(cJSON_GetObjectItem(h, fields[f]) != NULL, "missing %s", fields[f]);
        const int idx = (int)cJSON_GetObjectItem(h, "index")->valuedouble;
        const double auroc = cJSON_GetObjectItem(h, "auroc")->valuedouble;
        CHECK(cJSON_GetObjectItem(h, "rank")->valuedouble == r);
        CHECK(idx >= 0 && idx < K);
        if (idx < 0 || idx >= K) continue;
        seen[idx]++;
        /* Order: the findings first, then by the effect's p-value. */
        const int finding = cJSON_IsTrue(cJSON_GetObjectItem(h, "finding"));
        CHECK(finding == fnd[idx].is_finding);
        CHECKF(finding <= prev_finding, "rank %d: a finding after a non-finding", r);
        if (!finding && !prev_finding)
            CHECKF(eff[idx].p_value >= prev_p, "rank %d: p %g after %g", r, eff[idx].p_value,
                   prev_p);
        prev_finding = finding;
        prev_p = eff[idx].p_value;
        CHECKF(auroc == want[idx].auroc, "index %d: auroc %.17g, library %.17g", idx, auroc,
               want[idx].auroc);
        CHECK(cJSON_GetObjectItem(h, "auroc_p_value")->valuedouble == want[idx].p_value);
        CHECK(cJSON_GetObjectItem(h, "auroc_q_value")->valuedouble == want[idx].q_value);
        CHECK(cJSON_GetObjectItem(h, "mean_a")->valuedouble == want[idx].mean_a);
        CHECK(cJSON_GetObjectItem(h, "mean_b")->valuedouble == want[idx].mean_b);
        CHECK(cJSON_GetObjectItem(h, "p_value")->valuedouble == eff[idx].p_value);
        CHECK(cJSON_GetObjectItem(h, "q_value")->valuedouble == eff[idx].q_value);
        CHECK(cJSON_GetObjectItem(h, "share_a")->valuedouble == eff[idx].share_a);
        CHECK(cJSON_GetObjectItem(h, "share_b")->valuedouble == eff[idx].share_b);
        CHECK(cJSON_GetObjectItem(h, "effect")->valuedouble == eff[idx].effect);
        const cJSON *ci = cJSON_GetObjectItem(h, "effect_ci");
        CHECK(cJSON_GetArraySize(ci) == 2 &&
              cJSON_GetArrayItem(ci, 0)->valuedouble == eff[idx].ci_low &&
              cJSON_GetArrayItem(ci, 1)->valuedouble == eff[idx].ci_high);
        CHECK(strcmp(cJSON_GetObjectItem(h, "direction")->valuestring,
                     eff[idx].z > 0 ? "A" : "B") == 0);
        CHECK(strcmp(cJSON_GetObjectItem(h, "source")->valuestring, "user") == 0);
        CHECKF(strcmp(cJSON_GetObjectItem(h, "text")->valuestring, texts[idx]) == 0, "index %d: %s",
               idx, cJSON_GetObjectItem(h, "text")->valuestring);
        const cJSON *dup = cJSON_GetObjectItem(h, "duplicate_of");
        if (idx == 5) CHECKF(dup && dup->valuedouble == 2, "index 5 should be duplicate_of 2");
        else CHECKF(dup == NULL, "index %d marked a duplicate", idx);
    }
    for (int i = 0; i < K; i++) CHECK(seen[i] == 1);
    /* Hypothesis 0 leans on A's extra first coordinate: first, direction A. */
    const cJSON *first = cJSON_GetArrayItem(hs, 0);
    CHECK(first && cJSON_GetObjectItem(first, "index")->valuedouble == 0);
    CHECK(first && strcmp(cJSON_GetObjectItem(first, "direction")->valuestring, "A") == 0);
    cJSON_Delete(j);

    /* The table: --top 3 rows; the repeat said on stderr. */
    CHECKF(strstr(out_text, "leans on A") != NULL, "%s", out_text);
    CHECK(strstr(out_text, "(4 more") != NULL);
    CHECKF(strstr(err_text, "h.txt:7 repeats hypothesis 2") != NULL, "%s", err_text);
    /* Written through a temporary file: none left behind. */
    DIR *dir = opendir(tmpdir);
    struct dirent *e;
    int leftovers = 0;
    while (dir && (e = readdir(dir))) leftovers += strstr(e->d_name, ".tmp.") != NULL;
    if (dir) closedir(dir);
    CHECK(leftovers == 0);
}

static void write_bad_files(void)
{
    char err[256];
    float bad[NB * D];
    memcpy(bad, xb, sizeof bad);
    bad[7 * D + 3] = NAN;
    hr_npy_write_f32(tmp_path("b_nan.npy"), bad, NB, D, err, sizeof err);
    memcpy(bad, xb, sizeof bad);
    bad[9 * D] = -INFINITY;
    hr_npy_write_f32(tmp_path("b_inf.npy"), bad, NB, D, err, sizeof err);
    hr_npy_write_f32(tmp_path("b_dim.npy"), xb, NB, D - 1, err, sizeof err);
    hr_npy_write_f32(tmp_path("h_rows.npy"), hyp, K - 1, D, err, sizeof err);
    /* A float64 file and a version-9 file, from the good one's bytes. */
    const char *hdr = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 12), }";
    char buf[128 + 2 * 12 * 8];
    memset(buf, 0, sizeof buf);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    size_t hl = 118; /* 10 + 118 = 128: padded with spaces, ended by a newline */
    buf[8] = (char)(hl & 0xFF);
    buf[9] = (char)(hl >> 8);
    memset(buf + 10, ' ', hl);
    memcpy(buf + 10, hdr, strlen(hdr));
    buf[10 + hl - 1] = '\n';
    FILE *f = fopen(tmp_path("b_f8.npy"), "wb");
    fwrite(buf, 1, sizeof buf, f);
    fclose(f);
    char *good = NULL;
    {
        FILE *g = fopen(tmp_path("b.npy"), "rb");
        fseek(g, 0, SEEK_END);
        long n = ftell(g);
        fseek(g, 0, SEEK_SET);
        good = malloc((size_t)n);
        size_t got = fread(good, 1, (size_t)n, g);
        fclose(g);
        good[6] = 9;
        FILE *v = fopen(tmp_path("b_v9.npy"), "wb");
        fwrite(good, 1, got, v);
        fclose(v);
        free(good);
    }
    spit(tmp_path("empty.txt"), "\n\n  \n");
    spit(tmp_path("h_six.txt"), "one\ntwo\nthree\nfour\nfive\nsix\n");
}

static void expect_input_error(const char *what, const char *must_name, const char *b_npy,
                               const char *h_npy, const char *h_txt)
{
    int rc = h_txt ? run_cli("rank", "--a-emb", tmp_path("a.npy"), "--b-emb", b_npy, "--h-emb", h_npy,
                             "--hypotheses", h_txt, "--json", tmp_path("bad.json"), NULL)
                   : run_cli("rank", "--a-emb", tmp_path("a.npy"), "--b-emb", b_npy, "--h-emb", h_npy,
                             "--json", tmp_path("bad.json"), NULL);
    CHECKF(rc == 2, "%s: exit %d", what, rc);
    CHECKF(strstr(err_text, must_name) != NULL, "%s: message does not name %s: %s", what, must_name,
           err_text);
    fprintf(stderr, "  %s -> %s", what, err_text);
    CHECKF(access(tmp_path("bad.json"), F_OK) != 0, "%s: wrote a JSON", what);
}

/* With thousands of samples a clean separation has a p-value that the
 * normal approximation takes below the smallest double: the table says
 * "<1e-300", not a certainty of 0. */
static void test_underflowing_p_values_are_shown_as_a_bound(void)
{
    enum { N = 3000, DD = 4 };
    static float a[N * DD], b[N * DD];
    const float h[DD] = {1, 0, 0, 0};
    for (int i = 0; i < N; i++) {
        a[i * DD] = 1.0f, a[i * DD + 2] = (float)i / N; /* cosine 1 with h, distinct rows */
        b[i * DD + 1] = 1.0f, b[i * DD + 3] = (float)i / N; /* cosine 0 */
    }
    char err[256];
    CHECK(hr_npy_write_f32(tmp_path("sep_a.npy"), a, N, DD, err, sizeof err) == HR_OK);
    CHECK(hr_npy_write_f32(tmp_path("sep_b.npy"), b, N, DD, err, sizeof err) == HR_OK);
    CHECK(hr_npy_write_f32(tmp_path("sep_h.npy"), h, 1, DD, err, sizeof err) == HR_OK);
    int rc = run_cli("rank", "--a-emb", tmp_path("sep_a.npy"), "--b-emb", tmp_path("sep_b.npy"),
                     "--h-emb", tmp_path("sep_h.npy"), "--device", "cpu", "--quiet", NULL);
    CHECKF(rc == 0, "exit %d: %s", rc, err_text);
    CHECKF(out_text && strstr(out_text, "<1e-300") && !strstr(out_text, "0.00e+00"), "%s",
           out_text ? out_text : "(no output)");
}

static void test_bad_inputs_exit_2_naming_the_file(void)
{
    write_bad_files();
    char h[512]; /* a copy: tmp_path's buffers are reused after eight calls */
    snprintf(h, sizeof h, "%s", tmp_path("h.npy"));
    expect_input_error("dimension mismatch", "b_dim.npy", tmp_path("b_dim.npy"), h, NULL);
    expect_input_error("NaN", "b_nan.npy: row 7, column 3", tmp_path("b_nan.npy"), h, NULL);
    expect_input_error("Inf", "b_inf.npy: row 9, column 0", tmp_path("b_inf.npy"), h, NULL);
    expect_input_error("float64", "b_f8.npy", tmp_path("b_f8.npy"), h, NULL);
    expect_input_error("npy version 9", "b_v9.npy", tmp_path("b_v9.npy"), h, NULL);
    const char *fortran = test_fixture("npy/f4_fortran.npy");
    expect_input_error("Fortran order", "f4_fortran.npy", fortran, h, NULL);
    expect_input_error("empty hypothesis file", "empty.txt", tmp_path("b.npy"), h, tmp_path("empty.txt"));
    expect_input_error("texts and rows disagree", "h_rows.npy", tmp_path("b.npy"),
                       tmp_path("h_rows.npy"), tmp_path("h.txt"));
    expect_input_error("missing file", "nope.npy", tmp_path("nope.npy"), h, NULL);
    /* Usage errors. */
    CHECK(run_cli("rank", "--a-emb", tmp_path("a.npy"), NULL) == 2);
    CHECKF(strstr(err_text, "--b") != NULL, "%s", err_text);
    CHECK(run_cli("rank", "--a", "x.txt", "--a-emb", tmp_path("a.npy"), NULL) == 2);
    CHECK(run_cli("rank", "--top", "-1", NULL) == 2);
    CHECK(run_cli("rank", "--bogus", NULL) == 2);
}

/* How often needle occurs in hay. */
static size_t occurrences(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++) n++;
    return n;
}

static void test_html_page_plots_the_rows_shown(void)
{
    const char *page = tmp_path("rank.html"), *json = tmp_path("rank-html.json");
    int rc = run_cli("rank", "--a-emb", tmp_path("a.npy"), "--b-emb", tmp_path("b.npy"), "--h-emb",
                     tmp_path("h.npy"), "--hypotheses", tmp_path("h.txt"), "--json", json, "--html",
                     page, "--top", "3", "--quiet", NULL);
    CHECKF(rc == 0, "exit %d: %s", rc, err_text);
    char *html = test_read_file(page), *text = test_read_file(json);
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    CHECK(html != NULL && j != NULL);
    if (html && j) {
        CHECK(strncmp(html, "<!DOCTYPE html>", 15) == 0 && strstr(html, "</html>") != NULL);
        CHECK(strstr(html, "Hypotheses ranked: A against B") != NULL);
        size_t findings = 0;
        const cJSON *h;
        cJSON_ArrayForEach(h, cJSON_GetObjectItem(j, "hypotheses"))
            findings += cJSON_IsTrue(cJSON_GetObjectItem(h, "finding"));
        CHECKF(occurrences(html, "class=\"fp-mark ") == findings, "%zu marks, %zu findings",
               occurrences(html, "class=\"fp-mark "), findings);
        CHECK(occurrences(html, "<svg class=\"hist\"") == 3); /* the 3 rows shown */
        CHECK(strstr(html, "the texts are not known") != NULL); /* embeddings only */
        CHECK(strstr(html, "\"leans on A\"") != NULL);           /* the table's data */
    }
    cJSON_Delete(j);
    free(html), free(text);
}

static void test_text_inputs_are_embedded_with_the_model(void)
{
    char cfg[4096];
    snprintf(cfg, sizeof cfg, "%s/config.json", test_model_dir());
    if (access(cfg, R_OK) != 0) {
        fprintf(stderr, "  (no model at %s: text inputs not tested)\n", test_model_dir());
        return;
    }
    spit(tmp_path("a.jsonl"),
         "{\"text\": \"coronavirus cases rise again in the city\"}\n"
         "{\"text\": \"lockdown extended as the pandemic spreads\"}\n"
         "{\"text\": \"hospitals prepare for more virus patients\"}\n"
         "{\"text\": \"vaccine trial begins for covid\"}\n");
    spit(tmp_path("b.jsonl"),
         "{\"text\": \"cricket team wins the final test\"}\n"
         "{\"text\": \"football season opens with a derby\"}\n"
         "{\"text\": \"tennis star retires after a long career\"}\n");
    spit(tmp_path("ideas.txt"), "is about a pandemic\n\nis about sport\n");
    const char *json = tmp_path("text.json");
    int rc = run_cli("rank", "--a", tmp_path("a.jsonl"), "--b", tmp_path("b.jsonl"), "--hypotheses",
                     tmp_path("ideas.txt"), "--json", json, "--cache", tmp_path("cache.sqlite"),
                     "--device", "cpu", "--html", tmp_path("text.html"), "--quiet", NULL);
    CHECKF(rc == 0, "exit %d: %s", rc, err_text);
    char *text = test_read_file(json);
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    free(text);
    CHECK(j != NULL);
    if (!j) return;
    const cJSON *hs = cJSON_GetObjectItem(j, "hypotheses");
    CHECK(cJSON_GetArraySize(hs) == 2); /* the blank line skipped */
    /* Too few texts for a significant effect, so the order is the effects'
     * p-values'; each hypothesis separates the sides perfectly. */
    const cJSON *first = cJSON_GetArrayItem(hs, 0), *second = cJSON_GetArrayItem(hs, 1);
    if (first && strcmp(cJSON_GetObjectItem(first, "text")->valuestring, "is about sport") == 0) {
        const cJSON *t = first;
        first = second, second = t;
    }
    CHECK(first && strcmp(cJSON_GetObjectItem(first, "text")->valuestring, "is about a pandemic") == 0);
    CHECK(first && cJSON_GetObjectItem(first, "auroc")->valuedouble == 1.0);
    CHECK(first && strcmp(cJSON_GetObjectItem(first, "direction")->valuestring, "A") == 0);
    CHECK(second && cJSON_GetObjectItem(second, "auroc")->valuedouble == 0.0);
    CHECK(second && strcmp(cJSON_GetObjectItem(second, "direction")->valuestring, "B") == 0);
    const cJSON *enc = cJSON_GetObjectItem(j, "encoder");
    CHECK(enc && strcmp(cJSON_GetObjectItem(enc, "model")->valuestring, "precomputed") != 0);
    CHECK(enc && cJSON_GetObjectItem(enc, "dim")->valuedouble == 384);
    CHECK(enc && strcmp(cJSON_GetObjectItem(enc, "device")->valuestring, "cpu") == 0);
    cJSON_Delete(j);
    /* The page: a card per row with the best texts of both sides, so every
     * text of these small corpora is there. */
    char *html = test_read_file(tmp_path("text.html"));
    CHECK(html != NULL);
    if (html) {
        CHECK(occurrences(html, "<svg class=\"hist\"") == 2);
        CHECK(strstr(html, "vaccine trial begins for covid") != NULL);
        CHECK(strstr(html, "tennis star retires after a long career") != NULL);
        CHECK(strstr(html, "the texts are not known") == NULL);
        free(html);
    }
    /* A 12-wide .npy against the model's 384: a dimension mismatch. */
    rc = run_cli("rank", "--a-emb", tmp_path("a.npy"), "--b", tmp_path("b.jsonl"), "--hypotheses",
                 tmp_path("ideas.txt"), "--cache", tmp_path("cache.sqlite"), "--device", "cpu",
                 "--quiet", NULL);
    CHECKF(rc == 2 && strstr(err_text, "dimension mismatch") && strstr(err_text, "a.npy"),
           "exit %d: %s", rc, err_text);
}

int main(void)
{
    cli = getenv("HR_CLI");
    if (!cli || access(cli, X_OK) != 0) return test_skip("HR_CLI is not set to the hyporank program");
    snprintf(tmpdir, sizeof tmpdir, "/tmp/hr-test-cli-rank-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    write_inputs();
    RUN(test_help_teaches_with_an_example);
    RUN(test_npy_inputs_give_the_contract_json_findings_first);
    RUN(test_underflowing_p_values_are_shown_as_a_bound);
    RUN(test_bad_inputs_exit_2_naming_the_file);
    RUN(test_html_page_plots_the_rows_shown);
    RUN(test_text_inputs_are_embedded_with_the_model);
    free(out_text);
    free(err_text);
    /* Clean up the scratch folder. */
    DIR *dir = opendir(tmpdir);
    struct dirent *e;
    while (dir && (e = readdir(dir)))
        if (e->d_name[0] != '.') unlink(tmp_path(e->d_name));
    if (dir) closedir(dir);
    rmdir(tmpdir);
    return test_summary();
}
