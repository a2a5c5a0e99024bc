/*
 * bench/bench_html.c: the HTML page of a large rank: N texts a side and K
 * hypotheses of dimension D (embeddings, seeded: a fifth of A leans towards
 * one topic, a fifth of B towards another, a few hypotheses name them, the
 * rest are random), through hr_rank_run from .npy files to
 * hr_report_write_html. Prints one line per figure: the run's seconds, the
 * plots' share of them, the page's bytes and render seconds, the JSON's
 * bytes beside it. bench/run-html-bench.sh loads the page in Chromium.
 *
 *     bench_html OUT_DIR [N_PER_SIDE K D]      (500000 10000 384)
 *
 * Leaves OUT_DIR/{a,b,h}.npy, h.txt, rank.html, rank.json.
 */
#include "bench_util.h"
#include "hyporank/html.h"
#include "hyporank/npy.h"
#include "hyporank/rank.h"
#include "hyporank/report.h"

#include <string.h>

/* A standard normal draw (Box-Muller). */
static double gauss(uint64_t *s)
{
    const double u = hr_random_uniform(s) + 1e-300, v = hr_random_uniform(s);
    return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}

static void normalise(float *x, size_t d)
{
    double n = 0;
    for (size_t j = 0; j < d; j++) n += (double)x[j] * x[j];
    n = sqrt(n);
    for (size_t j = 0; j < d; j++) x[j] = (float)(x[j] / n);
}

/* n rows (n, d): noise, and for a fifth of them w times topic t added. */
static float *rows(size_t n, size_t d, const float *t, double w, uint64_t *s)
{
    float *x = malloc(n * d * sizeof *x);
    if (!x) return NULL;
    for (size_t i = 0; i < n; i++) {
        float *r = x + i * d;
        for (size_t j = 0; j < d; j++) r[j] = (float)gauss(s);
        normalise(r, d);
        if (i % 5 == 0 && t)
            for (size_t j = 0; j < d; j++) r[j] += (float)(w * t[j]);
        normalise(r, d);
    }
    return x;
}

int main(int argc, char **argv)
{
    if (argc != 2 && argc != 5) {
        fprintf(stderr, "usage: %s OUT_DIR [N_PER_SIDE K D]\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1];
    const size_t n = argc == 5 ? (size_t)bench_parse_long(argv[0], argv[2], 10, 5000000, "N") : 500000;
    const size_t k = argc == 5 ? (size_t)bench_parse_long(argv[0], argv[3], 10, 1000000, "K") : 10000;
    const size_t d = argc == 5 ? (size_t)bench_parse_long(argv[0], argv[4], 4, 4096, "D") : 384;
    uint64_t s = 2026;
    float topic[2][4096];
    for (int t = 0; t < 2; t++) {
        for (size_t j = 0; j < d; j++) topic[t][j] = (float)gauss(&s);
        normalise(topic[t], d);
    }
    char path[4][1024], err[1024] = "";
    const char *names[4] = {"a.npy", "b.npy", "h.npy", "h.txt"};
    for (int i = 0; i < 4; i++) snprintf(path[i], sizeof path[i], "%s/%s", dir, names[i]);
    double t0 = now();
    float *xa = rows(n, d, topic[0], 0.8, &s), *xb = rows(n, d, topic[1], 0.8, &s);
    float *h = rows(k, d, NULL, 0, &s);
    FILE *ht = fopen(path[3], "w");
    if (!xa || !xb || !h || !ht) {
        fprintf(stderr, "bench_html: out of memory or cannot write %s\n", path[3]);
        return 1;
    }
    /* hypotheses 0..5 lean on A's topic, 6..11 on B's: two findings and paraphrases */
    for (size_t i = 0; i < 12 && i < k; i++) {
        const float *t = topic[i >= 6];
        for (size_t j = 0; j < d; j++) h[i * d + j] = (float)(t[j] + 0.3 * h[i * d + j]);
        normalise(h + i * d, d);
    }
    for (size_t i = 0; i < k; i++)
        fprintf(ht, i < 12 ? "is about the %s topic, in words %zu\n" : "random hypothesis %s%zu\n",
                i < 12 ? (i < 6 ? "first" : "second") : "", i);
    fclose(ht);
    if (hr_npy_write_f32(path[0], xa, n, d, err, sizeof err) ||
        hr_npy_write_f32(path[1], xb, n, d, err, sizeof err) ||
        hr_npy_write_f32(path[2], h, k, d, err, sizeof err)) {
        fprintf(stderr, "bench_html: %s\n", err);
        return 1;
    }
    free(xa), free(xb), free(h);
    printf("data: %zu + %zu texts, %zu hypotheses, dim %zu, made in %.1f s\n", n, n, k, d, now() - t0);

    hr_rank_options o;
    hr_rank_options_init(&o);
    o.a_emb_path = path[0], o.b_emb_path = path[1], o.h_emb_path = path[2];
    o.hypotheses_path = path[3];
    hr_report *r = NULL;
    t0 = now();
    hr_status st = hr_rank_run(&o, NULL, &r, err, sizeof err);
    const double run = now() - t0;
    if (st != HR_OK) {
        fprintf(stderr, "bench_html: %s\n", err);
        return 1;
    }
    const hr_report_info *in = hr_report_get_info(r);
    printf("rank: %.1f s (read %.1f, score %.1f); %zu findings\n", run, in->seconds_read,
           in->seconds_score, in->findings_a + in->findings_b);
    printf("after scoring (the plots, the report): %.2f s (%.1f%% of the run)\n", run - in->seconds_read - in->seconds_score,
           100 * (run - in->seconds_read - in->seconds_score) / run);

    char html[1100], json[1100];
    snprintf(html, sizeof html, "%s/rank.html", dir);
    snprintf(json, sizeof json, "%s/rank.json", dir);
    t0 = now();
    FILE *f = fopen(html, "wb");
    st = f ? hr_report_write_html(f, r, NULL) : HR_ERR_IO;
    if (f && fclose(f) != 0) st = HR_ERR_IO;
    const double render = now() - t0;
    t0 = now();
    char *js = hr_report_json(r);
    const double render_json = now() - t0;
    FILE *fj = fopen(json, "wb");
    if (st != HR_OK || !js || !fj) {
        fprintf(stderr, "bench_html: cannot write the reports\n");
        return 1;
    }
    fputs(js, fj);
    fclose(fj);
    f = fopen(html, "rb");
    fseek(f, 0, SEEK_END);
    const long html_bytes = ftell(f);
    fclose(f);
    printf("html: %ld bytes in %.3f s; json: %zu bytes in %.3f s\n", html_bytes, render,
           strlen(js), render_json);
    free(js);
    hr_report_destroy(r);
    return 0;
}
