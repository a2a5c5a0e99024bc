/* host/pipeline/report_html.c: the HTML page of a describe or rank report
 * (hyporank/html.h): header, forest plot, a card per plotted row, clusters,
 * the table of every candidate. Data reaches the page only through the
 * escapers of html_common.c. */
#include "pipeline/html_internal.h"
#include "pipeline/pipeline.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* The forest plot's SVG: width, height of a row, the margin on each side. */
#define FP_W 380
#define FP_H 26
#define FP_PAD 12
/* The histogram's SVG and its plotting area. */
#define HI_W 380
#define HI_H 164
#define HI_X0 40
#define HI_X1 372
#define HI_Y0 24  /* the legend above it */
#define HI_Y1 132

typedef struct page {
    FILE *f;
    const hr_report *r;
    const hr_report_info *in;
    double m;      /* the forest plot's half range: effects in [-m, m] */
    int judged;    /* some row has a verdict */
} page;

static const char *fmt_effect(double v, char out[16])
{
    if (isnan(v)) snprintf(out, 16, "n/a");
    else snprintf(out, 16, "%+.2f", v);
    return out;
}

/* "+0.28 [+0.14, +0.42]" */
static const char *fmt_interval(double v, double lo, double hi, char out[64])
{
    char a[16], b[16], c[16];
    snprintf(out, 64, "%s [%s, %s]", fmt_effect(v, a), fmt_effect(lo, b), fmt_effect(hi, c));
    return out;
}

static const char *fmt_p(double p, char out[24])
{
    if (isnan(p)) snprintf(out, 24, "n/a");
    else if (p < 1e-300) snprintf(out, 24, "&lt; 1e-300");
    else if (p < 1e-3) snprintf(out, 24, "%.1e", p);
    else snprintf(out, 24, "%.2g", p);
    return out;
}

static double fp_x(const page *p, double v)
{
    if (isnan(v)) v = 0.0;
    if (v < -p->m) v = -p->m;
    if (v > p->m) v = p->m;
    return FP_PAD + (v + p->m) / (2 * p->m) * (FP_W - 2 * FP_PAD);
}

static const char *side_class(const hr_report_row *row)
{
    if (!row->significant) return "ns";
    return row->direction == 'A' ? "a" : "b";
}

/* ---- header ---- */

static void fact_corpus(FILE *f, char side, const char *name, const char *path, size_t n)
{
    char c[32];
    fprintf(f, "<dt>%c</dt><dd><span class=\"side-%c\">%c</span> <bdi>", side, side == 'A' ? 'a' : 'b',
            side);
    hr_html_str(f, name);
    fprintf(f, "</bdi>: %s texts", hr_html_count(n, c));
    if (path && strcmp(name, path) != 0) {
        fputs(" <span class=\"muted\">(<bdi>", f);
        hr_html_str(f, path);
        fputs("</bdi>)</span>", f);
    }
    fputs("</dd>\n", f);
}

static void header(page *p, const hr_html_options *o)
{
    FILE *f = p->f;
    const hr_report_info *in = p->in;
    const int describe = in->kind == HR_REPORT_DESCRIBE;
    char c1[32], c2[32];
    fputs("<header>\n<h1>", f);
    hr_html_str(f, o && o->title ? o->title
                                 : (describe ? "How A differs from B" : "Hypotheses ranked: A against B"));
    fputs("</h1>\n", f);
    if (in->goal) {
        fputs("<p class=\"lede\">Goal: <bdi>", f);
        hr_html_str(f, in->goal);
        fputs("</bdi></p>\n", f);
    }
    fputs("<dl class=\"facts\">\n", f);
    fact_corpus(f, 'A', o && o->a_name ? o->a_name : hr_html_basename(in->a_path), in->a_path, in->n_a);
    fact_corpus(f, 'B', o && o->b_name ? o->b_name : hr_html_basename(in->b_path), in->b_path, in->n_b);
    fputs("<dt>Model</dt><dd><bdi>", f);
    hr_html_str(f, in->encoder_model);
    fprintf(f, "</bdi>, dimension %zu, embedded on ", in->dim);
    hr_html_str(f, in->encoder_device);
    fprintf(f, "; scored on %s (%s similarity)</dd>\n", hr_device_str(in->scorer_device),
            hr_score_method_str(in->method));
    if (describe) {
        fprintf(f, "<dt>Candidates</dt><dd>%s (", hr_html_count(in->n_candidates, c1));
        hr_html_str(f, in->candidate_sources);
        fprintf(f, "; %zu near-duplicate%s merged)</dd>\n", in->merged, in->merged == 1 ? "" : "s");
        if (in->scored_a == in->scored_all_a && in->scored_b == in->scored_all_b)
            fprintf(f, "<dt>Scored on</dt><dd>all %s + %s texts</dd>\n",
                    hr_html_count(in->scored_a, c1), hr_html_count(in->scored_b, c2));
        else {
            fprintf(f, "<dt>Scored on</dt><dd>yours and the bank's on all %s + %s texts; ",
                    hr_html_count(in->scored_all_a, c1), hr_html_count(in->scored_all_b, c2));
            fprintf(f, "those drawn from the data on %s + %s held-out texts (found on the other ",
                    hr_html_count(in->scored_a, c1), hr_html_count(in->scored_b, c2));
            fprintf(f, "%s + %s)</dd>\n", hr_html_count(in->proposal_a, c1),
                    hr_html_count(in->proposal_b, c2));
        }
        fprintf(f, "<dt>Settings</dt><dd>significant: q &le; %g (Benjamini-Hochberg over every "
                   "candidate); seed %llu; at most %zu findings shown per direction</dd>\n",
                in->alpha, (unsigned long long)in->seed, in->top);
    } else {
        fprintf(f, "<dt>Hypotheses</dt><dd>%s from <bdi>", hr_html_count(p->r->n_rows, c1));
        hr_html_str(f, in->hypotheses_path ? in->hypotheses_path : in->h_emb_path);
        fputs("</bdi></dd>\n", f);
        fprintf(f, "<dt>Settings</dt><dd>significant: q &le; %g (Benjamini-Hochberg over every "
                   "hypothesis); ",
                in->alpha);
        if (in->top) fprintf(f, "the first %zu shown", in->top);
        else fputs("all shown", f);
        fputs("</dd>\n", f);
    }
    if (in->has_llm) {
        fputs("<dt>Judge</dt><dd><bdi>", f);
        hr_html_str(f, in->llm_model);
        fputs("</bdi> at <bdi>", f);
        hr_html_str(f, in->llm_url);
        fprintf(f, "</bdi>: %zu texts per side, %zu requests (%zu from the cache), %zu verdicts "
                   "missing</dd>\n",
                in->verify_samples, in->llm_totals.items, in->llm_totals.cache_hits,
                in->verdicts_missing);
        char outcome[1024];
        hr_pipe_llm_outcome_text(in, outcome, sizeof outcome);
        if (outcome[0]) {
            fputs("<dt>LLM</dt><dd class=\"warn\">", f);
            hr_html_str(f, outcome);
            fputs("</dd>\n", f);
        }
    }
    hr_html_header_end(f, o);
}

static void headline(page *p)
{
    FILE *f = p->f;
    const hr_report_info *in = p->in;
    const size_t nf = in->findings_a + in->findings_b, ns = in->significant_a + in->significant_b;
    fprintf(f, "<section id=\"summary\" class=\"headline\">\n<p><strong>%zu distinct "
               "difference%s</strong> at q &le; %g: <span class=\"side-a\">%zu more typical of "
               "A</span>, <span class=\"side-b\">%zu of B</span>.</p>\n",
            nf, nf == 1 ? "" : "s", in->alpha, in->findings_a, in->findings_b);
    if (nf > 0 && ns > nf)
        fprintf(f, "<p>%zu other candidate%s significant alone: shadows or paraphrases of %s "
                   "(each says which finding explains it).</p>\n",
                ns - nf, ns - nf == 1 ? " is" : "s are", nf == 1 ? "it" : "these");
    if (ns == 0)
        fprintf(f, "<p>No candidate holds for more of one side at q &le; %g: the corpora may not "
                   "differ, or differ in ways no candidate names.</p>\n",
                in->alpha);
    fputs("<p class=\"note\">A finding's share of A and of B is the estimated fraction of each "
          "side's texts it holds for; its effect is their difference, with a 95% interval.</p>\n"
          "</section>\n",
          f);
}

/* ---- the forest plot ---- */

/* The forest plot's rows: the findings, or when there is none the rows
 * shown; at most FP_MAX of them. */
#define FP_MAX 100

static int plotted(const hr_report_row *row, int any_finding)
{
    return any_finding ? row->finding : row->shown;
}

static int judged(const hr_report_row *row)
{
    return row->verification && !isnan(row->verification->v);
}

static double widest(const hr_report_row *row, double big)
{
    const double v[3] = {fabs(row->effect.ci_low), fabs(row->effect.ci_high), fabs(row->effect.effect)};
    for (int i = 0; i < 3; i++)
        if (v[i] > big) big = v[i];
    if (judged(row)) {
        if (fabs(row->verification->ci_low) > big) big = fabs(row->verification->ci_low);
        if (fabs(row->verification->ci_high) > big) big = fabs(row->verification->ci_high);
    }
    return big;
}

/* The half range: the smallest round number that holds every interval
 * of the rows order[0..n) and of their paraphrases. */
static void fp_scale(page *p, const size_t *order, size_t n)
{
    double big = 0.0;
    for (size_t i = 0; i < n; i++) big = widest(&p->r->rows[order[i]], big);
    for (size_t k = 0; k < p->r->n_rows; k++) {
        const hr_report_row *row = &p->r->rows[k];
        if (row->paraphrase && row->explained_by && p->r->rows[row->explained_by - 1].finding)
            big = widest(row, big);
    }
    static const double nice[] = {0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0};
    p->m = 1.0;
    for (size_t i = 0; i < sizeof nice / sizeof *nice; i++)
        if (nice[i] >= big * 1.02) {
            p->m = nice[i];
            break;
        }
}

static void fp_grid(const page *p)
{
    for (int t = -2; t <= 2; t++) {
        const double x = fp_x(p, p->m * t / 2.0);
        fprintf(p->f, "<line class=\"%s\" x1=\"%.1f\" x2=\"%.1f\" y1=\"0\" y2=\"%d\"/>",
                t == 0 ? "zero" : "grid", x, x, FP_H);
    }
}

/* One row of the plot: label, marks, numbers. para: a paraphrase under its
 * finding. fold: the row opens a fold (its summary). */
static void fp_row(page *p, const hr_report_row *row, int para, size_t n_para, int fold)
{
    FILE *f = p->f;
    const hr_effect *e = &row->effect;
    const char *cls = side_class(row);
    char iv[64], jv[64];
    fprintf(f, "<%s class=\"fp-row%s\">", fold ? "summary" : "div", para ? " fp-para" : "");
    fprintf(f, "<span class=\"fp-label\">%s<span class=\"rank\">#%zu</span>",
            fold ? "<span class=\"fold\"></span>" : "", row->rank);
    if (row->n_bins) fprintf(f, "<a href=\"#r-%zu\">", row->rank);
    fputs("<bdi>", f);
    if (row->text) hr_html_text(f, row->text, row->len, 160);
    else fprintf(f, "row %zu", row->index);
    fputs("</bdi>", f);
    if (row->n_bins) fputs("</a>", f);
    if (n_para)
        fprintf(f, " <span class=\"muted\">(+%zu paraphrase%s)</span>", n_para, n_para == 1 ? "" : "s");
    if (!row->significant) fputs(" <span class=\"muted\">(n.s.)</span>", f);
    fputs("</span>", f);
    const int j = judged(row);
    fprintf(f, "<svg width=\"100%%\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" "
               "aria-label=\"effect %s\">",
            FP_H, FP_W, FP_H, hr_pipe_effect_text(e, iv));
    fp_grid(p);
    const double y = j ? 9.0 : FP_H / 2.0;
    fprintf(f, "<line class=\"ci-%s\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>",
            cls, fp_x(p, e->ci_low), fp_x(p, e->ci_high), y, y);
    if (para)
        fprintf(f, "<circle class=\"para-mk mk-%s\" cx=\"%.1f\" cy=\"%.1f\" r=\"4\"/>", cls,
                fp_x(p, e->effect), y);
    else
        fprintf(f, "<circle class=\"fp-mark mk-%s\" cx=\"%.1f\" cy=\"%.1f\" r=\"5\"/>", cls,
                fp_x(p, e->effect), y);
    if (j) {
        const hr_verify_result *v = row->verification;
        const double jy = 19.0, jx = fp_x(p, v->v);
        fprintf(f, "<line class=\"ci-j\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>",
                fp_x(p, v->ci_low), fp_x(p, v->ci_high), jy, jy);
        fprintf(f, "<path class=\"fp-judge mk-j\" d=\"M%.1f %.1fl4.5 4.5l-4.5 4.5l-4.5 -4.5z\"/>", jx,
                jy - 4.5);
    }
    fputs("</svg>", f);
    char sa[16], sb[16];
    fprintf(f, "<span class=\"fp-num\">%s<br>%s vs %s", iv, hr_pipe_share_text(e, e->share_a, sa),
            hr_pipe_share_text(e, e->share_b, sb));
    if (j)
        fprintf(f, "<br>judge %s", fmt_interval(row->verification->v, row->verification->ci_low,
                                                      row->verification->ci_high, jv));
    fprintf(f, "</span></%s>\n", fold ? "summary" : "div");
}

static void fp_axis(page *p, int top)
{
    FILE *f = p->f;
    fprintf(f, "<div class=\"fp-axis\"><span class=\"fp-label muted\">%s</span>",
            top ? "finding (rank)" : "&larr; more typical of B &middot; more typical of A &rarr;");
    fprintf(f, "<svg width=\"100%%\" height=\"18\" viewBox=\"0 0 %d 18\" aria-hidden=\"true\">", FP_W);
    for (int t = -2; t <= 2; t++) {
        const double v = p->m * t / 2.0;
        fprintf(f, "<text x=\"%.1f\" y=\"13\" text-anchor=\"middle\">%s%.3g</text>", fp_x(p, v),
                t > 0 ? "+" : (t < 0 ? "&minus;" : ""), fabs(v));
    }
    fprintf(f, "</svg><span class=\"fp-num\">%s</span></div>\n",
            top ? "effect [95% CI]<br>share of A vs B" : "");
}

/* The rows of the plot (at most FP_MAX, by rank) in effect order, largest
 * first: order (FP_MAX). Returns how many. */
static size_t fp_order(const page *p, int any_finding, size_t *order)
{
    size_t n = 0;
    for (size_t k = 0; k < p->r->n_rows && n < FP_MAX; k++)
        if (plotted(&p->r->rows[k], any_finding)) order[n++] = k;
    for (size_t i = 1; i < n; i++) { /* insertion sort: at most FP_MAX rows */
        const size_t x = order[i];
        size_t j = i;
        while (j > 0 && p->r->rows[order[j - 1]].effect.effect < p->r->rows[x].effect.effect) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = x;
    }
    return n;
}

static void forest(page *p)
{
    FILE *f = p->f;
    const hr_report *r = p->r;
    int any_finding = 0;
    for (size_t k = 0; k < r->n_rows; k++) any_finding |= r->rows[k].finding;
    size_t order[FP_MAX];
    const size_t n = fp_order(p, any_finding, order);
    fputs("<section id=\"forest-plot\">\n<h2>How large each difference is</h2>\n", f);
    if (n == 0) {
        fputs("<p>No row to plot.</p>\n</section>\n", f);
        return;
    }
    fp_scale(p, order, n);
    fprintf(f, "<p class=\"note\">%s, ordered by effect: share of A minus share of B with its "
               "95%% interval; right of zero more typical of A, left more typical of B.%s</p>\n",
            any_finding ? "The findings" : "No finding: the rows shown instead",
            any_finding ? " Each finding's paraphrases (candidates that hold for the same texts) "
                          "fold under it."
                        : "");
    fputs("<div class=\"fp-legend\">"
          "<span><svg width=\"14\" height=\"14\" aria-hidden=\"true\"><circle class=\"mk-a\" cx=\"7\" "
          "cy=\"7\" r=\"5\"/></svg> more typical of A</span>"
          "<span><svg width=\"14\" height=\"14\" aria-hidden=\"true\"><circle class=\"mk-b\" cx=\"7\" "
          "cy=\"7\" r=\"5\"/></svg> more typical of B</span>"
          "<span><svg width=\"14\" height=\"14\" aria-hidden=\"true\"><circle class=\"para-mk mk-a\" "
          "cx=\"7\" cy=\"7\" r=\"4\"/></svg> paraphrase</span>",
          f);
    if (p->judged)
        fputs("<span><svg width=\"14\" height=\"14\" aria-hidden=\"true\"><path class=\"mk-j\" "
              "d=\"M7 2l5 5l-5 5l-5 -5z\"/></svg> the LLM judge's V on a sample, with its 95% "
              "interval</span>",
              f);
    fputs("</div>\n<div class=\"forest\" id=\"forest\">\n", f);
    fp_axis(p, 1);
    for (size_t i = 0; i < n; i++) {
        const hr_report_row *row = &r->rows[order[i]];
        const size_t n_para = row->finding ? row->n_paraphrases : 0;
        if (n_para == 0) {
            fp_row(p, row, 0, 0, 0);
            continue;
        }
        fprintf(f, "<details class=\"fp-group\" id=\"fp-%zu\">", row->rank);
        fp_row(p, row, 0, n_para, 1);
        for (size_t k = 0; k < r->n_rows; k++) {
            const hr_report_row *o = &r->rows[k];
            if (o->paraphrase && o->explained_by == row->rank) fp_row(p, o, 1, 0, 0);
        }
        fputs("</details>\n", f);
    }
    fp_axis(p, 0);
    fputs("</div>\n</section>\n", f);
}

/* ---- the cards ---- */

static void share_bars(FILE *f, const hr_effect *e)
{
    char sa[16], sb[16];
    fprintf(f, "<svg class=\"bars\" width=\"300\" height=\"60\" viewBox=\"0 0 300 60\" role=\"img\" "
               "aria-label=\"holds for %s of A and %s of B\">",
            hr_pipe_share_text(e, e->share_a, sa), hr_pipe_share_text(e, e->share_b, sb));
    const double share[2] = {e->share_a, e->share_b};
    for (int s = 0; s < 2; s++) {
        const double y = 6 + 26 * s, w = 220 * (share[s] < 0 ? 0 : (share[s] > 1 ? 1 : share[s]));
        fprintf(f, "<text class=\"lab\" x=\"0\" y=\"%.0f\">%c</text>", y + 13, s ? 'B' : 'A');
        fprintf(f, "<rect class=\"bar-bg\" x=\"18\" y=\"%.0f\" width=\"220\" height=\"18\" rx=\"2\"/>", y);
        fprintf(f, "<rect class=\"bar-%c share-bar\" x=\"18\" y=\"%.0f\" width=\"%.1f\" height=\"18\" "
                   "rx=\"2\"/>",
                s ? 'b' : 'a', y, w);
        fprintf(f, "<text class=\"lab\" x=\"246\" y=\"%.0f\">%s</text>", y + 13, s ? sb : sa);
    }
    fputs("</svg>", f);
}

/* A step outline of the densities d (HR_REPORT_BINS) scaled to top. */
static void hist_path(FILE *f, const char *cls, const double *d, double top)
{
    const double bw = (double)(HI_X1 - HI_X0) / HR_REPORT_BINS, h = HI_Y1 - HI_Y0;
    fprintf(f, "<path class=\"%s\" d=\"M%d %d", cls, HI_X0, HI_Y1);
    for (int k = 0; k < HR_REPORT_BINS; k++)
        fprintf(f, "V%.1fH%.1f", HI_Y1 - h * d[k] / top, HI_X0 + bw * (k + 1));
    fprintf(f, "V%dZ\"/>", HI_Y1);
}

static void histogram(FILE *f, const hr_report_row *row)
{
    double da[HR_REPORT_BINS], db[HR_REPORT_BINS], na = 0, nb = 0, top = 0;
    const size_t bins = row->n_bins < HR_REPORT_BINS ? row->n_bins : HR_REPORT_BINS;
    for (size_t k = 0; k < HR_REPORT_BINS; k++) {
        da[k] = k < bins ? (double)row->hist_a[k] : 0;
        db[k] = k < bins ? (double)row->hist_b[k] : 0;
        na += da[k], nb += db[k];
    }
    for (size_t k = 0; k < HR_REPORT_BINS; k++) {
        da[k] = na > 0 ? da[k] / na : 0;
        db[k] = nb > 0 ? db[k] / nb : 0;
        if (da[k] > top) top = da[k];
        if (db[k] > top) top = db[k];
    }
    if (top <= 0) top = 1;
    char ca[32], cb[32];
    fprintf(f, "<svg class=\"hist\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" "
               "aria-label=\"distribution of the similarity in A and in B\">",
            HI_W, HI_H, HI_W, HI_H);
    fprintf(f, "<line class=\"axis\" x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\"/>", HI_X0, HI_X1, HI_Y1,
            HI_Y1);
    fprintf(f, "<line class=\"axis\" x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\"/>", HI_X0, HI_X0, HI_Y0,
            HI_Y1);
    hist_path(f, "h-b", db, top);
    hist_path(f, "h-a", da, top);
    const double lo = row->bins_lo, hi = row->bins_hi, tau = row->effect.tau;
    if (tau > lo && tau < hi) {
        const double x = HI_X0 + (tau - lo) / (hi - lo) * (HI_X1 - HI_X0);
        fprintf(f, "<line class=\"tau\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\"/>", x, x, HI_Y0 - 4,
                HI_Y1);
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.2f</text>", x, HI_Y1 + 14, tau);
    }
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"start\">%.2f</text>", HI_X0, HI_Y1 + 14, lo);
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%.2f</text>", HI_X1, HI_Y1 + 14, hi);
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%.0f%%</text>", HI_X0 - 4, HI_Y0 + 8,
            100 * top);
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">0</text>", HI_X0 - 4, HI_Y1);
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">similarity to the hypothesis</text>",
            (HI_X0 + HI_X1) / 2, HI_H - 2);
    fprintf(f, "<rect class=\"mk-a\" x=\"%d\" y=\"2\" width=\"10\" height=\"10\"/><text class=\"lab\" "
               "x=\"%d\" y=\"11\">A (%s texts)</text>",
            HI_X0, HI_X0 + 14, hr_html_count((size_t)na, ca));
    fprintf(f, "<rect class=\"mk-b\" x=\"%d\" y=\"2\" width=\"10\" height=\"10\"/><text class=\"lab\" "
               "x=\"%d\" y=\"11\">B (%s texts)</text>",
            (HI_X0 + HI_X1) / 2, (HI_X0 + HI_X1) / 2 + 14, hr_html_count((size_t)nb, cb));
    fputs("</svg>", f);
}

/* The words a card highlights: those of the row and of its paraphrases that
 * read `mentions "w"`. */
#define MAX_PHRASES 12
typedef struct phrases {
    const char *p[MAX_PHRASES];
    size_t len[MAX_PHRASES];
    size_t n;
} phrases;

static void add_phrase(phrases *ph, const char *text, size_t len)
{
    if (ph->n < MAX_PHRASES && text && hr_html_mentions(text, len, &ph->p[ph->n], &ph->len[ph->n]))
        ph->n++;
}

static void example_list(FILE *f, const phrases *ph, char side, size_t n,
                         const char *const *texts, const size_t *lens)
{
    fprintf(f, "<div class=\"ex-%c\"><h4>Texts of <span class=\"side-%c\">%c</span> scoring "
               "highest</h4>",
            side == 'A' ? 'a' : 'b', side == 'A' ? 'a' : 'b', side);
    if (n == 0) {
        fputs("<p class=\"note\">(the texts are not known: embeddings were given)</p></div>", f);
        return;
    }
    fputs("<ol>", f);
    for (size_t x = 0; x < n; x++) {
        fputs("<li class=\"example\"><bdi>", f);
        hr_html_text_marked(f, texts[x], lens[x], HR_HTML_MAX_TEXT, ph->p, ph->len, ph->n);
        fputs("</bdi></li>", f);
    }
    fputs("</ol></div>", f);
}

static void card(page *p, const hr_report_row *row)
{
    FILE *f = p->f;
    const hr_effect *e = &row->effect;
    char iv[64], q[24], jv[64], pv[24];
    fprintf(f, "<article class=\"card dir-%s\" id=\"r-%zu\">\n<h3><span class=\"rank\">#%zu</span><bdi>",
            row->direction == 'A' ? "a" : "b", row->rank, row->rank);
    if (row->text) hr_html_text(f, row->text, row->len, 0);
    else fprintf(f, "row %zu", row->index);
    fputs("</bdi></h3>\n<p class=\"badges\">", f);
    if (row->finding) fputs("<span class=\"badge finding\">finding</span>", f);
    else if (row->significant) fputs("<span class=\"badge\">significant alone, not a finding</span>", f);
    else fputs("<span class=\"badge\">not significant</span>", f);
    fprintf(f, "<span class=\"badge\">more typical of %c</span><span class=\"badge\">source: %s</span>",
            row->direction, hr_hyp_source_str(row->source));
    if (row->explained_by)
        fprintf(f, "<span class=\"badge\">%s <a href=\"#r-%zu\">#%zu</a></span>",
                row->paraphrase ? "paraphrase of" : "explained by", row->explained_by, row->explained_by);
    fputs("</p>\n", f);
    char sa[16], sb[16];
    fprintf(f, "<p class=\"stats\">Holds for <strong class=\"side-a\">%s</strong> of A and "
               "<strong class=\"side-b\">%s</strong> of B: effect %s (95%% interval), q = %s; "
               "AUROC of the similarity %.3f.",
            hr_pipe_share_text(e, e->share_a, sa), hr_pipe_share_text(e, e->share_b, sb),
            hr_pipe_effect_text(e, iv),
            fmt_p(e->q_value, q), row->score.auroc);
    if (row->verification) {
        const hr_verify_result *v = row->verification;
        if (isnan(v->v))
            fputs(" The judge gave no usable answer.", f);
        else
            fprintf(f, " The judge found it true of %zu/%zu texts of A and %zu/%zu of B: V = %s, "
                       "p = %s.",
                    v->n_a_true, v->n_a_answered, v->n_b_true, v->n_b_answered,
                    fmt_interval(v->v, v->ci_low, v->ci_high, jv), fmt_p(v->p_value, pv));
    }
    fputs("</p>\n<div class=\"plots\"><figure>", f);
    share_bars(f, e);
    fputs(e->counted ? "<figcaption>Share of each side's texts that contain the words "
                       "(counted).</figcaption></figure><figure>"
                     : "<figcaption>Estimated share of each side's texts it holds for."
                       "</figcaption></figure><figure>",
          f);
    histogram(f, row);
    fputs(e->counted ? "<figcaption>Each text's similarity to the hypothesis, as the share of "
                       "each side's texts per bin; dashed: the embedding screen's threshold (the "
                       "pooled 70th percentile; this row's shares are counted, not read off the "
                       "similarity).</figcaption></figure></div>\n<div class=\"examples\">"
                     : "<figcaption>Each text's similarity to the hypothesis, as the share of "
                       "each side's texts per bin; dashed: the threshold above which a text "
                       "counts towards the effect (the pooled 70th percentile).</figcaption>"
                       "</figure></div>\n<div class=\"examples\">",
          f);
    phrases ph = {{NULL}, {0}, 0};
    add_phrase(&ph, row->text, row->len);
    for (size_t x = 0; x < row->n_paraphrases; x++)
        add_phrase(&ph, row->paraphrases[x], row->paraphrase_lens[x]);
    example_list(f, &ph, 'A', row->n_examples_a, row->examples_a, row->example_lens_a);
    example_list(f, &ph, 'B', row->n_examples_b, row->examples_b, row->example_lens_b);
    fputs("</div>\n", f);
    if (row->n_paraphrases) {
        fprintf(f, "<details class=\"more\"><summary>%zu paraphrase%s: candidates that hold for the "
                   "same texts</summary><ul>",
                row->n_paraphrases, row->n_paraphrases == 1 ? "" : "s");
        for (size_t x = 0; x < row->n_paraphrases; x++) {
            fputs("<li><bdi>", f);
            hr_html_text(f, row->paraphrases[x], row->paraphrase_lens[x], HR_HTML_MAX_CELL);
            fputs("</bdi></li>", f);
        }
        fputs("</ul></details>\n", f);
    }
    if (row->finding && row->n_explained > row->n_paraphrases)
        fprintf(f, "<p class=\"note\">It explains %zu other candidate%s significant alone (shadows: "
                   "they differ only because of it).</p>\n",
                row->n_explained - row->n_paraphrases,
                row->n_explained - row->n_paraphrases == 1 ? "" : "s");
    fputs("</article>\n", f);
}

static void cards(page *p)
{
    FILE *f = p->f;
    size_t n = 0;
    for (size_t k = 0; k < p->r->n_rows; k++) n += p->r->rows[k].n_bins > 0;
    if (n == 0) return;
    fputs("<section id=\"details\">\n<h2>What each looks like in the texts</h2>\n<div "
          "class=\"cards\">\n",
          f);
    for (size_t k = 0; k < p->r->n_rows; k++)
        if (p->r->rows[k].n_bins) card(p, &p->r->rows[k]);
    fputs("</div>\n</section>\n", f);
}

static void clusters(page *p)
{
    FILE *f = p->f;
    const hr_report_info *in = p->in;
    if (!in->clusters || in->n_clusters == 0) return;
    fputs("<section id=\"clusters\">\n<h2>The texts most typical of each side, clustered</h2>\n"
          "<p class=\"note\">A probe on the proposal part finds the texts most typical of each "
          "side; each cluster lists its nearest candidates and an example.</p>\n<ul>\n",
          f);
    for (size_t c = 0; c < in->n_clusters; c++) {
        const hr_report_cluster *cl = &in->clusters[c];
        char sz[32];
        fprintf(f, "<li><span class=\"side-%c\">%c</span> cluster %zu (%s texts)", cl->side == 'A' ? 'a' : 'b',
                cl->side == 'A' ? 'A' : 'B', cl->number, hr_html_count(cl->size, sz));
        if (cl->n_examples) {
            fputs(", e.g. &ldquo;<bdi>", f);
            hr_html_text(f, cl->examples[0], strlen(cl->examples[0]), HR_HTML_MAX_CELL);
            fputs("</bdi>&rdquo;", f);
        }
        if (cl->n_nearest) {
            fputs("; near: ", f);
            for (size_t k = 0; k < cl->n_nearest && k < 3; k++) {
                fputs(k ? "; <bdi>" : "<bdi>", f);
                hr_html_text(f, cl->nearest[k], cl->nearest_lens[k], HR_HTML_MAX_CELL);
                fputs("</bdi>", f);
            }
        }
        fputs("</li>\n", f);
    }
    fputs("</ul>\n</section>\n", f);
}

/* ---- the table of every candidate: a JSON block the script renders ---- */

typedef struct column {
    const char *key, *type, *title;
    int filter;
} column;

static const column table_columns[] = {
    {"rank", "int", "1 = strongest: the findings first, by |effect|", 0},
    {"index", "int", "its row in the hypothesis file, or its position in the candidate pool", 0},
    {"text", "text", "the hypothesis", 0},
    {"source", "cat", "who proposed it", 1},
    {"direction", "cat", "A: holds for more of A", 1},
    {"share_a", "share", "share of A's texts it holds for (see shares)", 0},
    {"share_b", "share", "share of B's texts it holds for (see shares)", 0},
    {"effect", "effect", "share_a - share_b", 0},
    {"effect_ci", "ci", "95% interval of the effect", 0},
    {"q_value", "p", "Benjamini-Hochberg over every candidate", 0},
    {"p_value", "p", "two-sided test of the effect", 0},
    {"auroc", "auroc", "AUROC of the similarity, A positive (secondary)", 0},
    {"finding", "bool", "a distinct difference", 1},
    {"significant", "bool", "q_value <= alpha", 1},
    {"explained_by", "int", "the rank of the finding that explains it", 0},
    {"paraphrase", "bool", "holds for the same texts as explained_by", 0},
    {"shares", "cat", "counted: the texts that contain the words (mentions \"w\"); "
                      "estimated: the screen's calibrated hinge", 1},
};
#define FINDING_COL 12

static void table_data(page *p)
{
    FILE *f = p->f;
    const size_t nc = sizeof table_columns / sizeof *table_columns;
    fprintf(f, "<script type=\"application/json\" id=\"hr-data\">{\"finding_col\":%d,\"columns\":[",
            FINDING_COL);
    for (size_t c = 0; c < nc; c++) {
        const column *col = &table_columns[c];
        fprintf(f, "%s{\"key\":\"%s\",\"label\":\"%s\",\"type\":\"%s\",\"filter\":%s,\"title\":", c ? "," : "",
                col->key, col->key, col->type, col->filter ? "true" : "false");
        hr_html_json_string(f, col->title, strlen(col->title), 0);
        fputc('}', f);
    }
    fputs("],\"rows\":[\n", f);
    for (size_t k = 0; k < p->r->n_rows; k++) {
        const hr_report_row *row = &p->r->rows[k];
        const hr_effect *e = &row->effect;
        fprintf(f, "%s[%zu,%zu,", k ? ",\n" : "", row->rank, row->index);
        hr_html_json_string(f, row->text, row->len, HR_HTML_MAX_CELL);
        fprintf(f, ",\"%s\",\"%c\",", hr_hyp_source_str(row->source), row->direction == 'A' ? 'A' : 'B');
        const double v[4] = {e->share_a, e->share_b, e->effect, 0};
        for (int i = 0; i < 3; i++) {
            hr_html_json_number(f, v[i], 0);
            fputc(',', f);
        }
        fputc('[', f);
        hr_html_json_number(f, e->ci_low, 0);
        fputc(',', f);
        hr_html_json_number(f, e->ci_high, 0);
        fputs("],", f);
        hr_html_json_number(f, e->q_value, 1);
        fputc(',', f);
        hr_html_json_number(f, e->p_value, 1);
        fputc(',', f);
        hr_html_json_number(f, row->score.auroc, 0);
        fprintf(f, ",%s,%s,", row->finding ? "true" : "false", row->significant ? "true" : "false");
        if (row->explained_by) fprintf(f, "%zu", row->explained_by);
        else fputs("null", f);
        fprintf(f, ",%s,\"%s\"]", row->paraphrase ? "true" : "false",
                e->counted ? "counted" : "estimated");
    }
    fputs("\n]}</script>\n", f);
}

static void table_section(page *p)
{
    char c[32];
    fprintf(p->f, "<section id=\"all\">\n<h2>Every candidate (%s)</h2>\n<p class=\"note\">The "
                  "JSON report's fields as columns. Click a column to sort; choose a source, a "
                  "direction or significance to filter.</p>\n<div id=\"candidates-table\"></div>\n"
                  "<noscript><p>The table needs JavaScript; the JSON report (--json) has every "
                  "row.</p></noscript>\n</section>\n",
            hr_html_count(p->r->n_rows, c));
}

hr_status hr_report_write_html(FILE *f, const hr_report *r, const hr_html_options *opt)
{
    if (!f || !r) return HR_ERR_INTERNAL;
    page p = {f, r, &r->info, 1.0, 0};
    for (size_t k = 0; k < r->n_rows; k++) p.judged |= judged(&r->rows[k]);
    hr_html_begin(f, opt && opt->title ? opt->title
                                       : (r->info.kind == HR_REPORT_DESCRIBE
                                              ? "How A differs from B"
                                              : "Hypotheses ranked: A against B"));
    header(&p, opt);
    fputs("<main>\n", f);
    headline(&p);
    forest(&p);
    cards(&p);
    clusters(&p);
    table_section(&p);
    fputs("</main>\n", f);
    hr_html_footer(f, opt, "Shares and effects are the embedding screen's estimates (a "
                           "calibrated hinge of each text's similarity to the hypothesis), "
                           "but for the words (mentions \"w\"), whose shares are counted; the "
                           "AUROC of the similarity is secondary.");
    table_data(&p);
    hr_html_end(f);
    return ferror(f) ? HR_ERR_IO : HR_OK;
}
