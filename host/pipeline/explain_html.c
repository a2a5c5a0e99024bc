/* host/pipeline/explain_html.c: the HTML page of an explain report
 * (hyporank/html.h): header, X with its interval, the curve of X against
 * the number of hypotheses, the chosen hypotheses, the residual texts and
 * the table of every candidate. */
#include "pipeline/explain_internal.h"
#include "pipeline/html_internal.h"
#include "pipeline/pipeline.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* The curve's SVG and its plotting area. */
#define CV_W 640
#define CV_H 280
#define CV_X0 56
#define CV_X1 600
#define CV_Y0 20
#define CV_Y1 236

typedef struct epage {
    FILE *f;
    const hr_explain_report *r;
    const char *metric;   /* "AUROC" or "Spearman" */
    const char *label[2]; /* what a direction is named by: the classes, or lower / higher */
} epage;

static void fact_data(epage *p, const hr_html_options *o)
{
    FILE *f = p->f;
    const hr_explain_report *r = p->r;
    const hr_dataset *ds = &r->ds;
    char c1[32], c2[32];
    if (ds->two) {
        const char *names[2] = {o && o->a_name ? o->a_name : hr_html_basename(r->opt.a_path),
                                o && o->b_name ? o->b_name : hr_html_basename(r->opt.b_path)};
        const size_t sizes[2] = {ds->n_a, ds->n_b};
        for (int s = 0; s < 2; s++) {
            fprintf(f, "<dt>%c</dt><dd><span class=\"side-%c\">%c</span> <bdi>", s ? 'B' : 'A',
                    s ? 'b' : 'a', s ? 'B' : 'A');
            hr_html_str(f, names[s]);
            fprintf(f, "</bdi>: %s texts%s</dd>\n", hr_html_count(sizes[s], c1),
                    s ? "" : " (the positive class)");
        }
        return;
    }
    fputs("<dt>Data</dt><dd><bdi>", f);
    hr_html_str(f, hr_html_basename(r->opt.data_path));
    fprintf(f, "</bdi>: %s texts", hr_html_count(r->n, c1));
    if (r->opt.continuous) {
        fputs(", the number \"<bdi>", f);
        hr_html_str(f, r->opt.label_field);
        fputs("</bdi>\" to explain</dd>\n", f);
        return;
    }
    fputs(", <span class=\"side-a\">", f);
    fprintf(f, "%s &lsquo;<bdi>", hr_html_count(r->n_pos, c1));
    hr_html_str(f, ds->label[1]);
    fprintf(f, "</bdi>&rsquo;</span> (positive), <span class=\"side-b\">%s &lsquo;<bdi>",
            hr_html_count(r->n - r->n_pos, c2));
    hr_html_str(f, ds->label[0]);
    fputs("</bdi>&rsquo;</span></dd>\n", f);
}

static void header(epage *p, const hr_html_options *o)
{
    FILE *f = p->f;
    const hr_explain_report *r = p->r;
    const hr_explain_run_options *op = &r->opt;
    char c1[32], c2[32];
    fputs("<header>\n<h1>", f);
    hr_html_str(f, o && o->title ? o->title : "What the hypotheses explain");
    fputs("</h1>\n<dl class=\"facts\">\n", f);
    fact_data(p, o);
    fprintf(f, "<dt>Evaluated</dt><dd>%s texts in %zu folds (seed %llu)", hr_html_count(r->m, c1),
            op->folds, (unsigned long long)op->seed);
    if (r->m < r->n)
        fprintf(f, "; %s more held out to find word candidates", hr_html_count(r->n - r->m, c2));
    fputs("</dd>\n<dt>Reference</dt><dd>", f);
    if (op->continuous)
        fprintf(f, "ridge regression on the embeddings (lambda %g)", HR_EXPLAIN_RIDGE_LAMBDA);
    else if (op->score_field) {
        fputs("the classifier's score &ldquo;<bdi>", f);
        hr_html_str(f, op->score_field);
        fputs("</bdi>&rdquo;", f);
    } else
        fputs("a linear probe on the embeddings (cross-validated)", f);
    fprintf(f, "</dd>\n<dt>Candidates</dt><dd>%s (", hr_html_count(r->K, c1));
    hr_html_str(f, r->sources);
    fprintf(f, "), scored by %s similarity; each step chooses among the best %zu</dd>\n",
            hr_score_method_str(op->method), op->candidates);
    fputs("<dt>Model</dt><dd><bdi>", f);
    hr_html_str(f, r->encoder_model);
    fprintf(f, "</bdi>, dimension %zu, embedded on ", r->dim);
    hr_html_str(f, r->encoder_device);
    fprintf(f, "</dd>\n<dt>Settings</dt><dd>at most %zu hypotheses; %zu bootstrap resamples; "
               "%zu round%s of proposing</dd>\n",
            op->top_k, op->bootstrap, op->rounds, op->rounds == 1 ? "" : "s");
    hr_html_header_end(f, o);
}

static void headline(epage *p)
{
    FILE *f = p->f;
    const hr_explain_report *r = p->r;
    const hr_explain_ratio *x = &r->ratio;
    const char *what = r->opt.continuous ? "Spearman correlation" : "AUROC above chance";
    fputs("<section id=\"summary\" class=\"headline\">\n<p>", f);
    if (x->status == HR_EXPLAINED_UNDEFINED)
        fprintf(f, "<strong>Explained: undefined.</strong> The reference is no better than chance "
                   "(%s %.3f), so there is nothing to explain.",
                p->metric, x->ref_auroc);
    else if (x->status == HR_EXPLAINED_UNSTABLE)
        fprintf(f, "<strong>%.0f%% of the reference's %s</strong> with %zu hypotheses, but not "
                   "reliably: the reference is not clearly better than chance, so no interval.",
                100 * x->explained, what, r->res.n_selected);
    else
        fprintf(f, "<strong id=\"explained\">%.0f%% of the reference's %s</strong> [95%% interval "
                   "%.0f%%, %.0f%%] with %zu hypotheses.",
                100 * x->explained, what, 100 * x->ci_low, 100 * x->ci_high, r->res.n_selected);
    fprintf(f, "</p>\n<p>Readable model: held-out %s %.3f [%.3f, %.3f]; reference %.3f [%.3f, "
               "%.3f].</p>\n</section>\n",
            p->metric, x->hyp_auroc, x->hyp_ci_low, x->hyp_ci_high, x->ref_auroc, x->ref_ci_low,
            x->ref_ci_high);
}

/* ---- the curve ---- */

typedef struct curve_scale {
    double lo, hi; /* X's range, as a fraction */
    size_t k;      /* steps */
} curve_scale;

static double cv_x(const curve_scale *s, double step)
{
    return CV_X0 + step / (double)s->k * (CV_X1 - CV_X0);
}

static double cv_y(const curve_scale *s, double v)
{
    if (v < s->lo) v = s->lo;
    if (v > s->hi) v = s->hi;
    return CV_Y1 - (v - s->lo) / (s->hi - s->lo) * (CV_Y1 - CV_Y0);
}

static void curve(epage *p)
{
    FILE *f = p->f;
    const hr_explain_report *r = p->r;
    const size_t k = r->res.n_selected;
    fputs("<section id=\"curve-section\">\n<h2>How much each added hypothesis explains</h2>\n", f);
    if (!r->steps || k == 0 || r->ratio.status == HR_EXPLAINED_UNDEFINED) {
        fputs("<p>No curve: X is undefined when the reference is no better than chance.</p>\n"
              "</section>\n",
              f);
        return;
    }
    curve_scale s = {0.0, 1.0, k};
    for (size_t j = 0; j < k; j++) {
        const hr_explain_ratio *x = &r->steps[j];
        const double v[3] = {x->explained, x->ci_low, x->ci_high};
        for (int i = 0; i < 3; i++) {
            if (isnan(v[i])) continue;
            if (v[i] < s.lo) s.lo = v[i];
            if (v[i] > s.hi) s.hi = v[i];
        }
    }
    s.lo = floor(s.lo * 10) / 10, s.hi = ceil(s.hi * 10) / 10;
    if (s.lo < -1) s.lo = -1;
    if (s.hi > 2) s.hi = 2;
    fprintf(f, "<p class=\"note\">X after each step of the greedy choice: the readable model's "
               "held-out %s above chance as a share of the reference's, with its 95%% bootstrap "
               "interval (shaded). The dashed line is the reference (%s %.3f).</p>\n",
            p->metric, p->metric, r->ratio.ref_auroc);
    fprintf(f, "<svg id=\"curve\" width=\"100%%\" viewBox=\"0 0 %d %d\" role=\"img\" "
               "aria-label=\"X against the number of hypotheses\">",
            CV_W, CV_H);
    for (int t = 0; t <= 4; t++) { /* the y grid */
        const double v = s.lo + (s.hi - s.lo) * t / 4.0, y = cv_y(&s, v);
        fprintf(f, "<line class=\"grid\" x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\"/>", CV_X0, CV_X1,
                y, y);
        fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.0f%%</text>", CV_X0 - 6, y + 4,
                100 * v);
    }
    fprintf(f, "<line class=\"axis\" x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\"/>", CV_X0, CV_X1, CV_Y1,
            CV_Y1);
    for (size_t j = 0; j <= k; j++)
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%zu</text>", cv_x(&s, (double)j),
                CV_Y1 + 16, j);
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">hypotheses</text>", (CV_X0 + CV_X1) / 2,
            CV_H - 4);
    /* the interval band over the steps that have one */
    int band = 1;
    for (size_t j = 0; j < k; j++) band &= r->steps[j].status == HR_EXPLAINED_OK;
    if (band) {
        fputs("<path class=\"curve-band\" d=\"", f);
        for (size_t j = 0; j < k; j++)
            fprintf(f, "%c%.1f %.1f", j ? 'L' : 'M', cv_x(&s, (double)(j + 1)), cv_y(&s, r->steps[j].ci_high));
        for (size_t j = k; j-- > 0;)
            fprintf(f, "L%.1f %.1f", cv_x(&s, (double)(j + 1)), cv_y(&s, r->steps[j].ci_low));
        fputs("Z\"/>", f);
    }
    const double y100 = cv_y(&s, 1.0);
    fprintf(f, "<line class=\"tau\" x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\"/>", CV_X0, CV_X1, y100,
            y100);
    fprintf(f, "<text class=\"lab\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">reference: %s %.3f</text>",
            CV_X1, y100 - 5, p->metric, r->ratio.ref_auroc);
    fprintf(f, "<path class=\"curve-line\" d=\"M%.1f %.1f", cv_x(&s, 0), cv_y(&s, 0));
    for (size_t j = 0; j < k; j++)
        if (!isnan(r->steps[j].explained))
            fprintf(f, "L%.1f %.1f", cv_x(&s, (double)(j + 1)), cv_y(&s, r->steps[j].explained));
    fputs("\"/>", f);
    for (size_t j = 0; j < k; j++) {
        const hr_explain_ratio *x = &r->steps[j];
        if (isnan(x->explained)) continue;
        const hr_pool_entry *e = hr_pool_get(r->pool, r->res.selected[j]);
        fprintf(f, "<circle class=\"curve-point mk-a\" cx=\"%.1f\" cy=\"%.1f\" r=\"5\"><title>%zu: ",
                cv_x(&s, (double)(j + 1)), cv_y(&s, x->explained), j + 1);
        hr_html_text(f, e->text, e->len, HR_HTML_MAX_CELL);
        fprintf(f, " (X %.0f%%, %s %.3f)</title></circle>", 100 * x->explained, p->metric, x->hyp_auroc);
    }
    fputs("</svg>\n</section>\n", f);
}

/* ---- the chosen hypotheses ---- */

static void chosen(epage *p, const hr_explain_result *res, const char *const label[2],
                   const char *heading, int with_x)
{
    FILE *f = p->f;
    const hr_explain_report *r = p->r;
    fprintf(f, "<h3>%s</h3>\n<div class=\"scroll\"><table class=\"static chosen\"><thead><tr>"
               "<th class=\"n\">step</th><th>hypothesis</th><th>typical of</th><th>source</th>"
               "<th class=\"n\">held-out %s</th>%s</tr></thead><tbody>\n",
            heading, p->metric, with_x ? "<th class=\"n\">X [95% CI]</th>" : "");
    for (size_t j = 0; j < res->n_selected; j++) {
        const size_t col = res->selected[j];
        const hr_pool_entry *e = hr_pool_get(r->pool, col);
        const int up = r->opt.continuous ? res->single_auroc[col] > 0 : res->single_auroc[col] > 0.5;
        fprintf(f, "<tr><td class=\"n\">%zu</td><td><bdi>", j + 1);
        hr_html_text(f, e->text, e->len, HR_HTML_MAX_CELL);
        fputs("</bdi></td><td><bdi>", f);
        hr_html_str(f, label[up]);
        fprintf(f, "</bdi></td><td>%s</td><td class=\"n\">%.3f</td>", hr_hyp_source_str(e->source),
                res->step_auroc[j]);
        if (with_x) {
            const hr_explain_ratio *x = r->steps ? &r->steps[j] : NULL;
            if (!x || isnan(x->explained)) fputs("<td class=\"n\">&ndash;</td>", f);
            else if (x->status != HR_EXPLAINED_OK)
                fprintf(f, "<td class=\"n\">%.0f%%</td>", 100 * x->explained);
            else
                fprintf(f, "<td class=\"n\">%.0f%% [%.0f%%, %.0f%%]</td>", 100 * x->explained,
                        100 * x->ci_low, 100 * x->ci_high);
        }
        fputs("</tr>\n", f);
    }
    fputs("</tbody></table></div>\n", f);
}

static void rounds(epage *p)
{
    FILE *f = p->f;
    const hr_explain_report *r = p->r;
    if (r->opt.rounds <= 1) return;
    fputs("<h3>Rounds: words proposed from the word share's residual</h3>\n<div class=\"scroll\">"
          "<table class=\"static\"><thead><tr><th class=\"n\">round</th><th class=\"n\">residual"
          "</th><th class=\"n\">added</th><th class=\"n\">hypotheses</th><th class=\"n\">AUROC</th>"
          "<th class=\"n\">X</th></tr></thead><tbody>\n",
          f);
    for (size_t k = 0; k < r->n_rounds; k++) {
        const hr_round_rec *rec = &r->rec[k];
        fprintf(f, "<tr><td class=\"n\">%zu</td><td class=\"n\">", k + 1);
        if (k) fprintf(f, "%zu", rec->residual);
        else fputs("&ndash;", f);
        fprintf(f, "</td><td class=\"n\">%zu</td><td class=\"n\">%zu</td><td class=\"n\">%.3f</td>"
                   "<td class=\"n\">",
                rec->added, rec->steps, rec->auroc);
        if (isnan(rec->explained)) fputs("&ndash;", f);
        else fprintf(f, "%.0f%%", 100 * rec->explained);
        fprintf(f, "%s</td></tr>\n", rec->stopped ? " (nothing new: stopped)" : "");
    }
    fputs("</tbody></table></div>\n", f);
}

static void residual(epage *p)
{
    FILE *f = p->f;
    const hr_explain_report *r = p->r;
    if (r->opt.continuous) return;
    fprintf(f, "<section id=\"residual\">\n<h2>What the hypotheses miss</h2>\n<p class=\"note\">%zu "
               "texts the reference gets right and the hypotheses get wrong%s</p>\n",
            r->n_resid, r->n_shown ? ", most wrong first:" : ".");
    if (r->n_shown) {
        fputs("<ol class=\"residual\">\n", f);
        for (size_t k = 0; k < r->n_shown; k++) {
            const hr_residual_text *t = &r->resid[k];
            fprintf(f, "<li class=\"example\"><span class=\"side-%c\">[<bdi>", t->y ? 'a' : 'b');
            hr_html_str(f, r->ds.label[t->y]);
            fputs("</bdi>]</span> <bdi>", f);
            hr_html_text(f, t->text, t->len, HR_HTML_MAX_TEXT);
            fputs("</bdi></li>\n", f);
        }
        fputs("</ol>\n", f);
    }
    fputs("</section>\n", f);
}

/* The table of every candidate: index, text, source, typical of, its
 * single AUROC (Spearman), the step that chose it. */
static void table_data(epage *p)
{
    FILE *f = p->f;
    const hr_explain_report *r = p->r;
    const hr_explain_result *res = &r->res;
    const char *single = r->opt.continuous ? "single_spearman" : "single_auroc";
    fprintf(f, "<script type=\"application/json\" id=\"hr-data\">{\"finding_col\":5,\"columns\":["
               "{\"key\":\"index\",\"label\":\"index\",\"type\":\"int\",\"filter\":false,\"title\":"
               "\"its position in the candidate pool\"},"
               "{\"key\":\"text\",\"label\":\"text\",\"type\":\"text\",\"filter\":false,\"title\":"
               "\"the hypothesis\"},"
               "{\"key\":\"source\",\"label\":\"source\",\"type\":\"cat\",\"filter\":true,\"title\":"
               "\"who proposed it\"},"
               "{\"key\":\"direction\",\"label\":\"direction\",\"type\":\"cat\",\"filter\":true,"
               "\"title\":\"the class (or the side of the target) its score is higher for\"},"
               "{\"key\":\"%s\",\"label\":\"%s\",\"type\":\"auroc\",\"filter\":false,\"title\":"
               "\"its own score's %s on all evaluated texts\"},"
               "{\"key\":\"step\",\"label\":\"step\",\"type\":\"int\",\"filter\":false,\"title\":"
               "\"the step that chose it\"}],\"rows\":[\n",
            single, single, p->metric);
    for (size_t i = 0; i < r->K; i++) {
        const hr_pool_entry *e = hr_pool_get(r->pool, i);
        const double v = res->single_auroc[i];
        const int up = r->opt.continuous ? v > 0 : v > 0.5;
        size_t step = 0;
        for (size_t j = 0; j < res->n_selected; j++)
            if (res->selected[j] == i) step = j + 1;
        fprintf(f, "%s[%zu,", i ? ",\n" : "", i);
        hr_html_json_string(f, e->text, e->len, HR_HTML_MAX_CELL);
        fprintf(f, ",\"%s\",", hr_hyp_source_str(e->source));
        hr_html_json_string(f, p->label[up], strlen(p->label[up]), 64);
        fputc(',', f);
        hr_html_json_number(f, v, 0);
        if (step) fprintf(f, ",%zu]", step);
        else fputs(",null]", f);
    }
    fputs("\n]}</script>\n", f);
}

hr_status hr_explain_report_write_html(FILE *f, const hr_explain_report *r,
                                       const hr_html_options *opt)
{
    if (!f || !r) return HR_ERR_INTERNAL;
    epage p = {f, r, r->opt.continuous ? "Spearman" : "AUROC", {"lower", "higher"}};
    if (!r->opt.continuous) p.label[0] = r->ds.label[0], p.label[1] = r->ds.label[1];
    char c[32];
    hr_html_begin(f, opt && opt->title ? opt->title : "What the hypotheses explain");
    header(&p, opt);
    fputs("<main>\n", f);
    headline(&p);
    curve(&p);
    fputs("<section id=\"chosen\">\n<h2>The hypotheses chosen</h2>\n", f);
    chosen(&p, &r->res, p.label, r->opt.continuous ? "Least squares on the hypotheses, step by step"
                                                   : "Logistic regression on the hypotheses, step by step",
           1);
    fprintf(f, "<p class=\"note\">The first choice agreed in %d of %d training parts.</p>\n",
            r->res.first_agree, r->res.folds);
    rounds(&p);
    if (r->have_dec) {
        static const char *const decisions[2] = {"below", "above"};
        chosen(&p, &r->dec, decisions, "The classifier's decisions (score above its median) from "
                                       "the hypotheses", 0);
    }
    fputs("</section>\n", f);
    residual(&p);
    fprintf(f, "<section id=\"all\">\n<h2>Every candidate (%s)</h2>\n<p class=\"note\">Click a "
               "column to sort; choose a source or a direction to filter.</p>\n<div "
               "id=\"candidates-table\"></div>\n<noscript><p>The table needs JavaScript; the JSON "
               "report (--json) has the chosen ones.</p></noscript>\n</section>\n",
            hr_html_count(r->K, c));
    fputs("</main>\n", f);
    hr_html_footer(f, opt, "");
    table_data(&p);
    hr_html_end(f);
    return ferror(f) ? HR_ERR_IO : HR_OK;
}
