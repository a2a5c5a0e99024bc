/* host/pipeline/explain_report.c: the explain report: accessors, the
 * terminal table and the JSON (hyporank/explain_run.h). */
#include "pipeline/explain_internal.h"
#include "pipeline/pipeline.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hr_explain_report_destroy(hr_explain_report *r)
{
    if (!r) return;
    hr_dataset_free(&r->ds);
    hr_explain_result_free(&r->res);
    hr_explain_result_free(&r->dec);
    free(r->rec);
    free(r->resid);
    free(r->steps);
    hr_pool_destroy(r->pool);
    for (size_t i = 0; i < r->n_strings; i++) free(r->strings[i]);
    free(r->strings);
    free(r);
}

hr_explain_summary hr_explain_report_summary(const hr_explain_report *r)
{
    hr_explain_summary s;
    memset(&s, 0, sizeof s);
    if (!r) return s;
    s.continuous = r->opt.continuous;
    s.n = r->n;
    s.evaluated = r->m;
    s.candidates = r->K;
    s.reference = r->ratio.ref_auroc;
    s.readable = r->ratio.hyp_auroc;
    s.explained = r->ratio.explained;
    s.ci_low = r->ratio.ci_low;
    s.ci_high = r->ratio.ci_high;
    s.status = r->ratio.status;
    s.n_selected = r->res.n_selected;
    return s;
}

const char *hr_explain_report_selected(const hr_explain_report *r, size_t j)
{
    if (!r || j >= r->res.n_selected) return NULL;
    return hr_pool_get(r->pool, r->res.selected[j])->text;
}

hr_status hr_explain_report_step(const hr_explain_report *r, size_t j, hr_explain_step *out)
{
    if (!r || !out) return HR_ERR_INTERNAL;
    if (j >= r->res.n_selected || !r->steps) return HR_ERR_INPUT;
    const hr_explain_ratio *x = &r->steps[j];
    out->auroc = x->hyp_auroc;
    out->explained = x->explained;
    out->ci_low = x->ci_low;
    out->ci_high = x->ci_high;
    out->status = x->status;
    return HR_OK;
}

/* The labels a direction is named by: the classes', or the decisions'. */
static const char *const decision_labels[2] = {"below", "above"};

static void print_selected(FILE *f, const hr_explain_result *r, const hr_hypothesis_pool *pool,
                           const char *const label[2], double ref_auroc)
{
    fprintf(f, "%4s  %7s  %9s  %-12s %-6s %s\n", "step", "auroc", "explained", "typical of",
            "source", "hypothesis");
    for (size_t j = 0; j < r->n_selected; j++) {
        const size_t col = r->selected[j];
        const hr_pool_entry *e = hr_pool_get(pool, col);
        const char *typical = label[r->single_auroc[col] > 0.5];
        char text[100], lab[20], x[16] = "-";
        hr_text_cell(e->text, e->len, text, 70);
        hr_text_cell(typical, strlen(typical), lab, 12);
        if (!isnan(ref_auroc) && ref_auroc - 0.5 > HR_EXPLAIN_EPSILON)
            snprintf(x, sizeof x, "%.0f%%", 100 * (r->step_auroc[j] - 0.5) / (ref_auroc - 0.5));
        fprintf(f, "%4zu  %7.3f  %9s  %-12s %-6s %s\n", j + 1, r->step_auroc[j], x, lab,
                hr_hyp_source_str(e->source), text);
    }
}

/* The selected hypotheses as JSON: text, source, direction, held-out AUROC. */
static cJSON *json_selected(const hr_explain_result *r, const hr_hypothesis_pool *pool,
                            const char *const label[2], double ref_auroc)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t j = 0; arr && j < r->n_selected; j++) {
        const size_t col = r->selected[j];
        const hr_pool_entry *e = hr_pool_get(pool, col);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToArray(arr, o);
        cJSON_AddNumberToObject(o, "step", (double)(j + 1));
        cJSON_AddNumberToObject(o, "index", (double)col);
        cJSON_AddStringToObject(o, "text", e->text);
        cJSON_AddStringToObject(o, "source", hr_hyp_source_str(e->source));
        cJSON_AddStringToObject(o, "direction", label[r->single_auroc[col] > 0.5]);
        hr_json_number(o, "auroc", r->step_auroc[j]);
        if (!isnan(ref_auroc)) {
            if (ref_auroc - 0.5 > HR_EXPLAIN_EPSILON)
                hr_json_number(o, "explained", (r->step_auroc[j] - 0.5) / (ref_auroc - 0.5));
            else
                cJSON_AddNullToObject(o, "explained");
        }
        hr_json_number(o, "single_auroc", r->single_auroc[col]);
        hr_json_number(o, "selection_auroc", r->select_auroc[j]);
    }
    return arr;
}

static void binary_table(FILE *f, const hr_explain_report *r)
{
    const hr_explain_run_options *o = &r->opt;
    const hr_dataset *ds = &r->ds;
    const hr_explain_ratio *x = &r->ratio;
    const char *const labels[2] = {ds->label[0], ds->label[1]};
    if (ds->two)
        fprintf(f, "A: %s (%zu texts, positive)   B: %s (%zu texts)\n", o->a_path, ds->n_a,
                o->b_path, ds->n_b);
    else
        fprintf(f, "%s: %zu texts, %zu '%s' (positive%s), %zu '%s'\n", o->data_path, r->n,
                r->n_pos, ds->label[1],
                o->positive ? "" : (ds->numeric ? ": the larger value; --positive to choose"
                                                : ": the later value; --positive to choose"),
                r->n - r->n_pos, ds->label[0]);
    fprintf(f, "Evaluated: %zu texts in %zu folds (seed %llu)", r->m, o->folds,
            (unsigned long long)o->seed);
    if (r->m < r->n) fprintf(f, "; %zu more held out to find word candidates", r->n - r->m);
    fprintf(f, "\n%zu candidates (%s), scored by %s; %.2f s\n", r->K, r->sources,
            hr_score_method_str(o->method), r->seconds);
    if (o->score_field)
        fprintf(f, "\nReference: the classifier's score \"%s\": AUROC %.3f [%.3f, %.3f]\n",
                o->score_field, x->ref_auroc, x->ref_ci_low, x->ref_ci_high);
    else
        fprintf(f, "\nReference: linear probe on the embeddings: held-out AUROC %.3f [%.3f, %.3f]\n",
                x->ref_auroc, x->ref_ci_low, x->ref_ci_high);
    fprintf(f, "Readable: logistic regression on the hypotheses chosen step by step "
               "(held-out AUROC):\n");
    print_selected(f, &r->res, r->pool, labels, x->ref_auroc);
    if (o->rounds > 1) {
        fprintf(f, "Rounds (words proposed from the word share's residual):\n");
        fprintf(f, "%5s  %8s  %6s  %10s  %7s  %9s\n", "round", "residual", "added", "hypotheses",
                "auroc", "explained");
        for (size_t k = 0; k < r->n_rounds; k++) {
            const hr_round_rec *rec = &r->rec[k];
            char xs[16] = "-", resid_s[16] = "-";
            if (!isnan(rec->explained)) snprintf(xs, sizeof xs, "%.0f%%", 100 * rec->explained);
            if (k > 0) snprintf(resid_s, sizeof resid_s, "%zu", rec->residual);
            fprintf(f, "%5zu  %8s  %6zu  %10zu  %7.3f  %9s%s\n", k + 1, resid_s, rec->added,
                    rec->steps, rec->auroc, xs, rec->stopped ? "  (nothing new: stopped)" : "");
        }
    }
    fprintf(f, "  (the first choice agreed in %d of %d training parts)\n", r->res.first_agree,
            r->res.folds);
    if (x->status == HR_EXPLAINED_UNDEFINED)
        fprintf(f, "\nExplained: undefined: the reference is no better than chance (AUROC %.3f), "
                   "so there is nothing to explain.\n", x->ref_auroc);
    else if (x->status == HR_EXPLAINED_UNSTABLE)
        fprintf(f, "\nExplained: %.0f%% of the reference's AUROC above chance, but not reliably: "
                   "the reference is not clearly above chance (%d of %zu resamples at or below "
                   "%.2f), so no interval.\n",
                100 * x->explained, x->undefined, o->bootstrap, 0.5 + HR_EXPLAIN_EPSILON);
    else
        fprintf(f, "\nExplained: %.0f%% of the reference's AUROC above chance [95%% CI %.0f%%, "
                   "%.0f%%] with %zu hypotheses (readable AUROC %.3f vs %.3f; %zu resamples)\n",
                100 * x->explained, 100 * x->ci_low, 100 * x->ci_high, r->res.n_selected,
                x->hyp_auroc, x->ref_auroc, o->bootstrap);
    if (r->have_dec) {
        fprintf(f, "\nThe classifier's decisions (score > median %.4g) from the hypotheses: "
                   "held-out AUROC %.3f\n", r->median, r->dec.step_auroc[r->dec.n_selected - 1]);
        print_selected(f, &r->dec, r->pool, decision_labels, NAN);
    } else if (o->score_field) {
        fprintf(f, "\nThe classifier's decisions: too many scores tie at the median (%.4g) to "
                   "split them in two\n", r->median);
    }
    fprintf(f, "\nResidual: %zu texts the reference gets right and the hypotheses get wrong%s\n",
            r->n_resid, r->n_shown ? ", most wrong first:" : ".");
    for (size_t k = 0; k < r->n_shown; k++) {
        const hr_residual_text *t = &r->resid[k];
        const char *label = ds->label[t->y];
        char text[100], lab[20];
        hr_text_cell(t->text, t->len, text, 80);
        hr_text_cell(label, strlen(label), lab, 12);
        fprintf(f, "  [%s] \"%s\"\n", lab, text);
    }
}

static void continuous_table(FILE *f, const hr_explain_report *r)
{
    const hr_explain_run_options *o = &r->opt;
    const hr_explain_ratio *x = &r->ratio;
    const hr_explain_result *res = &r->res;
    fprintf(f, "%s: %zu texts, target \"%s\" (continuous)\n", o->data_path, r->n, o->label_field);
    fprintf(f, "Evaluated: %zu texts in %zu plain folds (seed %llu)", r->m, o->folds,
            (unsigned long long)o->seed);
    if (r->m < r->n) fprintf(f, "; %zu more held out to find word candidates", r->n - r->m);
    fprintf(f, "\n%zu candidates, scored by %s; %.2f s\n", r->K, hr_score_method_str(o->method),
            r->seconds);
    fprintf(f, "\nReference: ridge regression on the embeddings (lambda %g): held-out Spearman "
               "%.3f [%.3f, %.3f], R^2 %.3f\n", HR_EXPLAIN_RIDGE_LAMBDA, x->ref_auroc,
            x->ref_ci_low, x->ref_ci_high, r->ref_r2);
    fprintf(f, "Readable: least squares on the hypotheses chosen step by step (held-out):\n");
    fprintf(f, "%4s  %8s  %7s  %9s  %-7s %-6s %s\n", "step", "spearman", "r2", "explained",
            "target", "source", "hypothesis");
    for (size_t j = 0; j < res->n_selected; j++) {
        const hr_pool_entry *e = hr_pool_get(r->pool, res->selected[j]);
        char text[100], xs[16] = "-";
        hr_text_cell(e->text, e->len, text, 70);
        if (x->ref_auroc > HR_EXPLAIN_EPSILON)
            snprintf(xs, sizeof xs, "%.0f%%", 100 * res->step_auroc[j] / x->ref_auroc);
        fprintf(f, "%4zu  %8.3f  %7.3f  %9s  %-7s %-6s %s\n", j + 1, res->step_auroc[j],
                res->step_r2[j], xs, res->single_auroc[res->selected[j]] > 0 ? "higher" : "lower",
                hr_hyp_source_str(e->source), text);
    }
    fprintf(f, "  (the first choice agreed in %d of %d training parts)\n", res->first_agree,
            res->folds);
    if (x->status == HR_EXPLAINED_UNDEFINED)
        fprintf(f, "\nExplained: undefined: the reference does not rank the target (Spearman "
                   "%.3f), so there is nothing to explain.\n", x->ref_auroc);
    else if (x->status == HR_EXPLAINED_UNSTABLE)
        fprintf(f, "\nExplained: %.0f%% of the reference's Spearman correlation, but not "
                   "reliably: %d of %zu resamples have a reference at or below %.2f, so no "
                   "interval.\n",
                100 * x->explained, x->undefined, o->bootstrap, HR_EXPLAIN_EPSILON);
    else
        fprintf(f, "\nExplained: %.0f%% of the reference's Spearman correlation [95%% CI %.0f%%, "
                   "%.0f%%] with %zu hypotheses (readable %.3f vs %.3f; %zu resamples)\n",
                100 * x->explained, 100 * x->ci_low, 100 * x->ci_high, res->n_selected,
                x->hyp_auroc, x->ref_auroc, o->bootstrap);
}

hr_status hr_explain_report_write_table(FILE *f, const hr_explain_report *r)
{
    if (!f || !r) return HR_ERR_INTERNAL;
    if (r->opt.continuous) continuous_table(f, r);
    else binary_table(f, r);
    return ferror(f) ? HR_ERR_IO : HR_OK;
}

static void json_head(cJSON *root, const hr_explain_report *r)
{
    cJSON_AddNumberToObject(root, "n", (double)r->n);
    cJSON_AddNumberToObject(root, "evaluated", (double)r->m);
    cJSON_AddNumberToObject(root, "proposal", (double)(r->n - r->m));
}

static void json_model(cJSON *root, const hr_explain_report *r)
{
    cJSON_AddNumberToObject(root, "folds", (double)r->opt.folds);
    cJSON_AddNumberToObject(root, "seed", (double)r->opt.seed);
    cJSON_AddNumberToObject(root, "bootstrap", (double)r->opt.bootstrap);
    cJSON_AddNumberToObject(root, "candidates", (double)r->K);
    cJSON *e = cJSON_AddObjectToObject(root, "encoder");
    cJSON_AddStringToObject(e, "model", r->encoder_model);
    cJSON_AddNumberToObject(e, "dim", (double)r->dim);
    cJSON_AddStringToObject(e, "device", r->encoder_device);
    cJSON *sc = cJSON_AddObjectToObject(root, "scorer");
    cJSON_AddStringToObject(sc, "method", hr_score_method_str(r->opt.method));
    if (r->opt.method == HR_SCORE_CONTRAST) hr_json_number(sc, "temperature", r->opt.temperature);
}

static void json_ratio_tail(cJSON *root, const hr_explain_report *r)
{
    hr_json_number(root, "explained", r->ratio.explained); /* null when undefined */
    hr_json_ci(root, "explained_ci", r->ratio.ci_low, r->ratio.ci_high);
    cJSON_AddStringToObject(root, "explained_status", hr_explained_status_str(r->ratio.status));
    cJSON_AddNumberToObject(root, "undefined_resamples", (double)r->ratio.undefined);
    cJSON_AddNumberToObject(root, "first_choice_agreement", (double)r->res.first_agree);
}

static void binary_json(cJSON *root, const hr_explain_report *r)
{
    const hr_explain_run_options *o = &r->opt;
    const hr_dataset *ds = &r->ds;
    const hr_explain_ratio *x = &r->ratio;
    const char *const labels[2] = {ds->label[0], ds->label[1]};
    json_head(root, r);
    cJSON_AddStringToObject(root, "positive_label", ds->label[1]);
    cJSON_AddStringToObject(root, "negative_label", ds->label[0]);
    cJSON_AddNumberToObject(root, "n_positive", (double)r->n_pos);
    cJSON_AddNumberToObject(root, "n_negative", (double)(r->n - r->n_pos));
    json_model(root, r);
    cJSON_AddStringToObject(root, "reference", o->score_field ? "score" : "probe");
    if (o->score_field) cJSON_AddStringToObject(root, "score_field", o->score_field);
    hr_json_number(root, "reference_auroc", x->ref_auroc);
    hr_json_ci(root, "reference_ci", x->ref_ci_low, x->ref_ci_high);
    if (!o->score_field) hr_json_number(root, "reference_p_value", r->cv_p_value);
    hr_json_number(root, "readable_auroc", x->hyp_auroc);
    hr_json_ci(root, "readable_ci", x->hyp_ci_low, x->hyp_ci_high);
    cJSON_AddItemToObject(root, "selected", json_selected(&r->res, r->pool, labels, x->ref_auroc));
    json_ratio_tail(root, r);
    cJSON *rj = cJSON_AddArrayToObject(root, "rounds");
    for (size_t k = 0; k < r->n_rounds; k++) {
        const hr_round_rec *rec = &r->rec[k];
        cJSON *ro = cJSON_CreateObject();
        cJSON_AddItemToArray(rj, ro);
        cJSON_AddNumberToObject(ro, "round", (double)(k + 1));
        if (k > 0) cJSON_AddNumberToObject(ro, "residual_proposal", (double)rec->residual);
        cJSON_AddNumberToObject(ro, "candidates_added", (double)rec->added);
        cJSON_AddNumberToObject(ro, "candidates", (double)rec->candidates);
        cJSON_AddNumberToObject(ro, "hypotheses", (double)rec->steps);
        hr_json_number(ro, "auroc", rec->auroc);
        hr_json_number(ro, "explained", rec->explained);
        hr_json_ci(ro, "explained_ci", rec->ci_low, rec->ci_high);
        cJSON_AddBoolToObject(ro, "stopped", rec->stopped);
    }
    if (r->have_dec) {
        cJSON *dj = cJSON_AddObjectToObject(root, "decisions");
        hr_json_number(dj, "median", r->median);
        hr_json_number(dj, "auroc", r->dec.step_auroc[r->dec.n_selected - 1]);
        cJSON_AddItemToObject(dj, "selected", json_selected(&r->dec, r->pool, decision_labels, NAN));
    }
    cJSON_AddNumberToObject(root, "residual_count", (double)r->n_resid);
    cJSON *rx = cJSON_AddArrayToObject(root, "residual_examples");
    for (size_t k = 0; k < r->n_shown; k++) {
        const hr_residual_text *t = &r->resid[k];
        cJSON *ro = cJSON_CreateObject();
        cJSON_AddItemToArray(rx, ro);
        cJSON_AddStringToObject(ro, "text", t->text);
        cJSON_AddStringToObject(ro, "label", ds->label[t->y]);
        cJSON_AddStringToObject(ro, "file", t->file);
        cJSON_AddNumberToObject(ro, "line", (double)t->line);
        hr_json_number(ro, "reference_value", t->reference_value);
        hr_json_number(ro, "readable_value", t->readable_value);
    }
}

static void continuous_json(cJSON *root, const hr_explain_report *r)
{
    const hr_explain_ratio *x = &r->ratio;
    const hr_explain_result *res = &r->res;
    cJSON_AddStringToObject(root, "target", "continuous");
    cJSON_AddStringToObject(root, "label_field", r->opt.label_field);
    json_head(root, r);
    json_model(root, r);
    cJSON_AddStringToObject(root, "reference", "ridge");
    hr_json_number(root, "reference_lambda", HR_EXPLAIN_RIDGE_LAMBDA);
    hr_json_number(root, "reference_spearman", x->ref_auroc);
    hr_json_ci(root, "reference_spearman_ci", x->ref_ci_low, x->ref_ci_high);
    hr_json_number(root, "reference_r2", r->ref_r2);
    hr_json_number(root, "readable_spearman", x->hyp_auroc);
    hr_json_ci(root, "readable_spearman_ci", x->hyp_ci_low, x->hyp_ci_high);
    hr_json_number(root, "readable_r2", r->hyp_r2);
    cJSON *arr = cJSON_AddArrayToObject(root, "selected");
    for (size_t j = 0; arr && j < res->n_selected; j++) {
        const size_t col = res->selected[j];
        const hr_pool_entry *pe = hr_pool_get(r->pool, col);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToArray(arr, o);
        cJSON_AddNumberToObject(o, "step", (double)(j + 1));
        cJSON_AddNumberToObject(o, "index", (double)col);
        cJSON_AddStringToObject(o, "text", pe->text);
        cJSON_AddStringToObject(o, "source", hr_hyp_source_str(pe->source));
        cJSON_AddStringToObject(o, "direction", res->single_auroc[col] > 0 ? "higher" : "lower");
        hr_json_number(o, "spearman", res->step_auroc[j]);
        hr_json_number(o, "r2", res->step_r2[j]);
        if (x->ref_auroc > HR_EXPLAIN_EPSILON)
            hr_json_number(o, "explained", res->step_auroc[j] / x->ref_auroc);
        else
            cJSON_AddNullToObject(o, "explained");
        hr_json_number(o, "single_spearman", res->single_auroc[col]);
        hr_json_number(o, "selection_spearman", res->select_auroc[j]);
    }
    json_ratio_tail(root, r);
}

char *hr_explain_report_json(const hr_explain_report *r)
{
    if (!r) return NULL;
    cJSON *root = cJSON_CreateObject();
    if (!root) return NULL;
    if (r->opt.continuous) continuous_json(root, r);
    else binary_json(root, r);
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    return text;
}
