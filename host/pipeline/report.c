/* host/pipeline/report.c: the report of rank and describe, and its
 * renderers: terminal table, JSON, Markdown (hyporank/report.h). */
#include "pipeline/pipeline.h"
#include "scoring/score_methods.h"
#include "hyporank/findings.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

hr_report *hr_report_new(hr_report_kind kind)
{
    hr_report *r = calloc(1, sizeof *r);
    if (r) r->info.kind = kind;
    return r;
}

const char *hr_keep_string(char ***strings, size_t *n, const char *s, int *failed)
{
    if (!s) return NULL;
    char **grown = realloc(*strings, (*n + 1) * sizeof *grown);
    char *copy = strdup(s);
    if (grown) *strings = grown;
    if (!grown || !copy) {
        free(copy);
        *failed = 1;
        return NULL;
    }
    (*strings)[(*n)++] = copy;
    return copy;
}

void hr_report_destroy(hr_report *r)
{
    if (!r) return;
    free(r->rows);
    free(r->clusters);
    free(r->verifications);
    free(r->paraphrases);
    free(r->paraphrase_lens);
    free(r->texts);
    free(r->lens);
    free(r->hist);
    free(r->plot_texts);
    free(r->plot_lens);
    for (int k = 0; k < 3; k++) hr_corpus_destroy(r->corpora[k]);
    hr_pool_destroy(r->pool);
    for (size_t i = 0; i < r->n_strings; i++) free(r->strings[i]);
    free(r->strings);
    free(r);
}

const hr_report_info *hr_report_get_info(const hr_report *r) { return r ? &r->info : NULL; }
size_t hr_report_rows(const hr_report *r) { return r ? r->n_rows : 0; }

const hr_report_row *hr_report_row_at(const hr_report *r, size_t i)
{
    return r && i < r->n_rows ? &r->rows[i] : NULL;
}

/* ------------------------------------------------------------------------ */
/* The table                                                                  */

/* What a row is, in a few characters: "finding", "para #3" (a paraphrase
 * of rank 3), "from #3" (explained by rank 3), or "". */
static const char *status_text(const hr_report_row *row, char out[32])
{
    if (row->finding) snprintf(out, 32, "finding");
    else if (row->explained_by) snprintf(out, 32, "%s #%zu", row->paraphrase ? "para" : "from",
                                         row->explained_by);
    else out[0] = '\0';
    return out;
}

static void rank_table(FILE *f, const hr_report *r)
{
    const hr_report_info *in = &r->info;
    fprintf(f, "A: %s (%zu)   B: %s (%zu)   %zu hypotheses, dim %zu, scored in %.2f s (%s)\n",
            in->a_path, in->n_a, in->b_path, in->n_b, r->n_rows, in->dim, in->seconds_score,
            hr_device_str(in->scorer_device));
    fprintf(f, "%zu distinct difference%s at q <= %g: %zu more typical of A, %zu of B\n",
            in->findings_a + in->findings_b, in->findings_a + in->findings_b == 1 ? "" : "s",
            in->alpha, in->findings_a, in->findings_b);
    fprintf(f, "%5s  %5s  %5s  %-24s  %6s  %3s  %9s  %-8s %s\n", "rank", "A", "B",
            "effect [95% CI]", "auroc", "dir", "q_value", "status", "hypothesis");
    for (size_t k = 0; k < r->n_rows; k++) {
        const hr_report_row *row = &r->rows[k];
        if (!row->shown) continue;
        const hr_effect *e = &row->effect;
        char text[128], q[16], ef[64], stt[32], sa[16], sb[16];
        if (row->text) hr_text_cell(row->text, row->len, text, 60);
        else snprintf(text, sizeof text, "(row %zu of %s)", row->index, in->h_emb_path);
        fprintf(f, "%5zu  %5s  %5s  %-24s  %6.4f  %3s  %s  %-8s %s%s%s\n", row->rank,
                hr_pipe_share_text(e, e->share_a, sa), hr_pipe_share_text(e, e->share_b, sb),
                hr_pipe_effect_text(e, ef), row->score.auroc,
                row->direction == 'A' ? "A" : "B", hr_p_text(e->q_value, q), status_text(row, stt),
                text, row->duplicate_of >= 0 ? " (repeat)" : "",
                row->significant ? "" : "  (n.s.)");
    }
}

/* describe: the rows shown in direction dir (0: A, 1: B), by rank: calls fn
 * for each. Returns how many. */
static size_t for_shown(const hr_report *r, int dir,
                        void (*fn)(const hr_report *r, const hr_report_row *row, void *user),
                        void *user)
{
    size_t shown = 0;
    for (size_t k = 0; k < r->n_rows; k++) {
        const hr_report_row *row = &r->rows[k];
        if (!row->shown || (dir == 0) != (row->direction == 'A')) continue;
        fn(r, row, user);
        shown++;
    }
    return shown;
}

/* The indent of a describe row's second lines. */
#define DESCRIBE_INDENT "                                                               "

static size_t for_shown_count(const hr_report *r, int dir)
{
    size_t n = 0;
    for (size_t k = 0; k < r->n_rows; k++)
        n += r->rows[k].shown && (dir == 0) == (r->rows[k].direction == 'A');
    return n;
}

/* The judge's lines under a row: the counts, then (PPI) the shares and V
 * from every text, with the labels alone beside them. */
static void table_verification(FILE *f, const hr_verify_result *v)
{
    if (isnan(v->v)) {
        fprintf(f, DESCRIBE_INDENT "judge: %s\n",
                v->budget_stopped && v->n_a_answered + v->n_b_answered == 0
                    ? "not judged (the LLM budget ran out)"
                    : "no usable answers");
        return;
    }
    fprintf(f, DESCRIBE_INDENT "judge: true of %zu/%zu A, %zu/%zu B texts; ", v->n_a_true,
            v->n_a_answered, v->n_b_true, v->n_b_answered);
    if (!v->method) {
        fprintf(f, "V = %+.2f [%+.2f, %+.2f], p = %.2g\n", v->v, v->ci_low, v->ci_high,
                v->p_value);
        return;
    }
    fprintf(f, "labels alone V = %+.2f [%+.2f, %+.2f], p = %.2g\n", v->v_classical,
            v->classical_ci_low, v->classical_ci_high, v->p_value);
    fprintf(f, DESCRIBE_INDENT "judge with every text (PPI): A %.0f%% [%.0f, %.0f], B %.0f%% "
               "[%.0f, %.0f], V = %+.2f [%+.2f, %+.2f]; worth %.0f labels\n",
            100 * v->share_a, 100 * v->share_a_ci_low, 100 * v->share_a_ci_high, 100 * v->share_b,
            100 * v->share_b_ci_low, 100 * v->share_b_ci_high, v->v, v->ci_low, v->ci_high,
            v->effective_labels);
}

static void describe_table_row(const hr_report *r, const hr_report_row *row, void *user)
{
    (void)r;
    FILE *f = user;
    const hr_effect *e = &row->effect;
    char text[160], q[16], ef[64], sa[16], sb[16];
    hr_text_cell(row->text, row->len, text, 70);
    fprintf(f, "%5zu  %5s  %5s  %-24s  %6.3f  %s  %-6s %s%s\n", row->rank,
            hr_pipe_share_text(e, e->share_a, sa), hr_pipe_share_text(e, e->share_b, sb),
            hr_pipe_effect_text(e, ef), row->score.auroc,
            hr_p_text(e->q_value, q), hr_hyp_source_str(row->source), text,
            row->finding ? "" : (row->significant ? "  (significant alone, not a finding)"
                                                  : "  (n.s.)"));
    if (row->n_paraphrases) {
        fprintf(f, DESCRIBE_INDENT "same texts: ");
        for (size_t x = 0; x < row->n_paraphrases && x < 3; x++) {
            hr_text_cell(row->paraphrases[x], row->paraphrase_lens[x], text, 40);
            fprintf(f, "%s%s", x ? "; " : "", text);
        }
        if (row->n_paraphrases > 3) fprintf(f, " (+%zu more)", row->n_paraphrases - 3);
        fprintf(f, "\n");
    }
    if (row->n_explained > row->n_paraphrases)
        fprintf(f, DESCRIBE_INDENT "explains %zu other candidate%s significant alone\n",
                row->n_explained - row->n_paraphrases,
                row->n_explained - row->n_paraphrases == 1 ? "" : "s");
    if (row->verification) table_verification(f, row->verification);
    for (size_t x = 0; x < row->n_examples; x++) {
        hr_text_cell(row->examples[x], row->example_lens[x], text, 70);
        fprintf(f, DESCRIBE_INDENT "e.g. \"%s\"\n", text);
    }
}

static void describe_table(FILE *f, const hr_report *r)
{
    const hr_report_info *in = &r->info;
    fprintf(f, "A: %s (%zu texts)   B: %s (%zu texts)\n", in->a_path, in->n_a, in->b_path, in->n_b);
    fprintf(f, "%zu candidates (%s; %zu near-duplicate%s merged), scored in %.2f s with %s: ",
            in->n_candidates, in->candidate_sources, in->merged, in->merged == 1 ? "" : "s",
            in->seconds_score, in->encoder_model);
    if (in->scored_a == in->scored_all_a && in->scored_b == in->scored_all_b)
        fprintf(f, "on all %zu + %zu texts\n", in->scored_a, in->scored_b);
    else
        fprintf(f, "yours and the bank's on all %zu + %zu texts, those drawn from the data on "
                   "%zu + %zu held-out texts\n",
                in->scored_all_a, in->scored_all_b, in->scored_a, in->scored_b);
    if (in->goal) fprintf(f, "Goal: %s\n", in->goal);
    const size_t nf = in->findings_a + in->findings_b, ns = in->significant_a + in->significant_b;
    fprintf(f, "\n%zu distinct difference%s at q <= %g: %zu more typical of A, %zu of B.\n",
            nf, nf == 1 ? "" : "s", in->alpha, in->findings_a, in->findings_b);
    if (nf > 0 && ns > nf)
        fprintf(f, "%zu other candidate%s significant alone: shadows or paraphrases of %s "
                   "(\"explained_by\" in --json).\n",
                ns - nf, ns - nf == 1 ? "" : "s", nf == 1 ? "it" : "these");
    for (int dir = 0; dir < 2; dir++) {
        const size_t f_dir = dir ? in->findings_b : in->findings_a;
        fprintf(f, "\nMore typical of %s than of %s: %zu finding%s (%zu significant alone)\n",
                dir ? "B" : "A", dir ? "A" : "B", f_dir, f_dir == 1 ? "" : "s",
                dir ? in->significant_b : in->significant_a);
        if (for_shown_count(r, dir) == 0) {
            fprintf(f, "  (none)\n");
            continue;
        }
        fprintf(f, "%5s  %5s  %5s  %-24s  %6s  %9s  %-6s %s\n", "rank", "A", "B",
                "effect [95% CI]", "auroc", "q_value", "source", "hypothesis");
        for_shown(r, dir, describe_table_row, f);
    }
    if (in->clusters) {
        fprintf(f, "\nThe texts most typical of each side (by a probe on the proposal part), "
                   "clustered:\n");
        for (size_t c = 0; c < in->n_clusters; c++) {
            const hr_report_cluster *cl = &in->clusters[c];
            char text[160];
            const char *ex = cl->n_examples ? cl->examples[0] : "";
            hr_text_cell(ex, strlen(ex), text, 80);
            fprintf(f, "  %c cluster %zu (%zu texts), e.g. \"%s\"\n", cl->side, cl->number,
                    cl->size, text);
            for (size_t o = 0; o < cl->n_nearest && o < 3; o++) {
                hr_text_cell(cl->nearest[o], cl->nearest_lens[o], text, 80);
                fprintf(f, "      near: %s\n", text);
            }
        }
    }
    if (in->has_llm) {
        const hr_remote_stats *t = &in->llm_totals;
        fprintf(f, "\nJudge %s at %s: %zu requests (%zu from the cache), %lld prompt + %lld "
                   "completion tokens",
                in->llm_model, in->llm_url, t->items, t->cache_hits, t->prompt_tokens,
                t->completion_tokens);
        if (t->cost_usd > 0) fprintf(f, ", about $%.4f", t->cost_usd);
        fprintf(f, "; %zu verdicts missing (never counted as no)\n", in->verdicts_missing);
        char outcome[1024];
        hr_pipe_llm_outcome_text(in, outcome, sizeof outcome);
        if (outcome[0]) fprintf(f, "LLM %s\n", outcome);
        if (in->verify_rounds)
            fprintf(f, "The judge read %zu texts in %zu round%s (%zu a side per hypothesis and "
                       "round, at most %zu)%s%s.\n",
                    in->texts_judged, in->verify_rounds, in->verify_rounds == 1 ? "" : "s",
                    in->verify_samples, in->verify_max_samples,
                    in->budget_stopped ? "; the budget ended the rounds" : "",
                    in->requests_not_sent ? " (some requests were not sent)" : "");
    }
    if (in->significant_a + in->significant_b == 0)
        fprintf(f, "\nNo significant difference found: no candidate holds for more of one side at q <= %g.\n"
                   "The corpora may not differ, or differ in ways no candidate names (try\n"
                   "--hypotheses FILE with your own ideas, or more texts).\n",
                in->alpha);
}

hr_status hr_report_write_table(FILE *f, const hr_report *r)
{
    if (!f || !r) return HR_ERR_INTERNAL;
    if (r->info.kind == HR_REPORT_RANK) rank_table(f, r);
    else describe_table(f, r);
    return ferror(f) ? HR_ERR_IO : HR_OK;
}

/* ------------------------------------------------------------------------ */
/* JSON                                                                       */

/* cJSON's adders return NULL when out of memory; building goes on (each
 * adder accepts a NULL parent) and the printed document is refused at the
 * end when anything failed (ok). */
static void json_common_scores(cJSON *o, const hr_report_row *row,
                               const hr_report_row *rows)
{
    const hr_effect *e = &row->effect;
    hr_json_number(o, "auroc", row->score.auroc);
    hr_json_number(o, "mean_a", row->score.mean_a);
    hr_json_number(o, "mean_b", row->score.mean_b);
    hr_json_number(o, "p_value", e->p_value);
    hr_json_number(o, "q_value", e->q_value);
    hr_json_number(o, "share_a", e->share_a);
    hr_json_number(o, "share_b", e->share_b);
    hr_json_number(o, "effect", e->effect);
    hr_json_ci(o, "effect_ci", e->ci_low, e->ci_high);
    cJSON_AddBoolToObject(o, "finding", row->finding);
    if (row->explained_by) cJSON_AddNumberToObject(o, "explained_by", (double)row->explained_by);
    else cJSON_AddNullToObject(o, "explained_by");
    cJSON_AddBoolToObject(o, "paraphrase", row->paraphrase);
    cJSON *para = cJSON_AddArrayToObject(o, "paraphrases");
    for (size_t x = 0; para && x < row->n_paraphrases; x++)
        cJSON_AddItemToArray(para, row->paraphrases[x] ? cJSON_CreateString(row->paraphrases[x])
                                                       : cJSON_CreateNull());
    if (row->finding) cJSON_AddNumberToObject(o, "explains", (double)row->n_explained);
    if (row->explained_by && rows[row->explained_by - 1].text)
        cJSON_AddStringToObject(o, "explained_by_text", rows[row->explained_by - 1].text);
    hr_json_number(o, "auroc_p_value", row->score.p_value);
    hr_json_number(o, "auroc_q_value", row->score.q_value);
    cJSON *how = cJSON_AddObjectToObject(o, "effect_detail");
    hr_json_number(how, "z", e->z);
    hr_json_number(how, "threshold", e->tau);
    hr_json_number(how, "gain", e->gain);
    cJSON_AddNumberToObject(how, "n_a", (double)e->n_a);
    cJSON_AddNumberToObject(how, "n_b", (double)e->n_b);
    cJSON_AddStringToObject(how, "shares",
                            e->counted ? "counted" : (e->mixture ? "two-group mixture"
                                                                 : "calibrated hinge"));
    if (e->counted) {
        cJSON_AddNumberToObject(how, "count_a", (double)e->count_a);
        cJSON_AddNumberToObject(how, "count_b", (double)e->count_b);
    }
    if (row->finding) {
        hr_json_number(how, "effect_beyond", row->effect_beyond);
        hr_json_number(how, "effect_beyond_se", row->effect_beyond_se);
    }
}

/* The top-level facts of the effects and findings. */
static void json_findings(cJSON *root, const hr_report_info *in)
{
    cJSON_AddNumberToObject(root, "findings_a", (double)in->findings_a);
    cJSON_AddNumberToObject(root, "findings_b", (double)in->findings_b);
    cJSON *m = cJSON_AddObjectToObject(root, "effects");
    cJSON_AddStringToObject(m, "shares", "calibrated hinge of the similarity above its pooled "
                                         "70th percentile (hyporank/findings.h)");
    cJSON_AddStringToObject(m, "p_value", "two-sided Welch test of the hinge means");
    cJSON_AddStringToObject(m, "counted",
                            "candidates written mentions \"w\": shares are the texts that "
                            "contain the words, the interval Newcombe's hybrid score interval, "
                            "p the two-proportion test (effect_detail.shares = \"counted\")");
    cJSON_AddStringToObject(m, "q_value", "Benjamini-Hochberg over all hypotheses");
    hr_json_number(m, "kappa", HR_EFFECT_KAPPA);
    hr_json_number(m, "calibration_sd", HR_EFFECT_CALIBRATION_SD);
    hr_json_number(m, "calibration_abs_sd", HR_EFFECT_CALIBRATION_ABS_SD);
}

/* A row's object, appended to arr, with its rank and index; NULL when out
 * of memory. */
static cJSON *json_row(cJSON *arr, const hr_report_row *row)
{
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddItemToArray(arr, o)) {
        cJSON_Delete(o);
        return NULL;
    }
    cJSON_AddNumberToObject(o, "rank", (double)row->rank);
    cJSON_AddNumberToObject(o, "index", (double)row->index);
    return o;
}

/* n_a, n_b and the "encoder" object, which it returns. */
static cJSON *json_sizes_encoder(cJSON *root, const hr_report_info *in)
{
    cJSON_AddNumberToObject(root, "n_a", (double)in->n_a);
    cJSON_AddNumberToObject(root, "n_b", (double)in->n_b);
    cJSON *e = cJSON_AddObjectToObject(root, "encoder");
    cJSON_AddStringToObject(e, "model", in->encoder_model);
    cJSON_AddNumberToObject(e, "dim", (double)in->dim);
    cJSON_AddStringToObject(e, "device", in->encoder_device);
    if (in->encoder_model_id) cJSON_AddStringToObject(e, "model_id", in->encoder_model_id);
    return e;
}

/* The "scorer" object, which it returns. */
static cJSON *json_scorer(cJSON *root, const hr_report_info *in)
{
    cJSON *sc = cJSON_AddObjectToObject(root, "scorer");
    cJSON_AddStringToObject(sc, "device", hr_device_str(in->scorer_device));
    cJSON_AddStringToObject(sc, "similarities",
                            in->scorer_device == HR_DEVICE_CUDA
                                ? "FP16 inputs, FP32 accumulation (cuBLAS)"
                                : hr_similarities_products());
    cJSON_AddStringToObject(sc, "method", hr_score_method_str(in->method));
    if (in->method == HR_SCORE_CONTRAST) hr_json_number(sc, "temperature", in->temperature);
    return sc;
}

/* The wall seconds of the run's phases (hr_report_info). */
static cJSON *json_seconds(cJSON *root, const hr_report_info *in)
{
    cJSON *tm = cJSON_AddObjectToObject(root, "seconds");
    hr_json_number(tm, "read", in->seconds_read);
    if (in->kind == HR_REPORT_DESCRIBE) hr_json_number(tm, "propose", in->seconds_propose);
    hr_json_number(tm, "embed", in->seconds_embed);
    hr_json_number(tm, "score", in->seconds_score);
    hr_json_number(tm, "findings", in->seconds_findings);
    if (in->kind == HR_REPORT_DESCRIBE) {
        hr_json_number(tm, "judge", in->seconds_judge);
        hr_json_number(tm, "report", in->seconds_report);
    }
    return tm;
}

static int rank_json(cJSON *root, const hr_report *r)
{
    const hr_report_info *in = &r->info;
    cJSON *e = json_sizes_encoder(root, in);
    cJSON *pre = cJSON_AddArrayToObject(e, "precomputed");
    const char *npy[3] = {in->a_emb_path, in->b_emb_path, in->h_emb_path};
    for (int k = 0; k < 3; k++)
        if (npy[k]) cJSON_AddItemToArray(pre, cJSON_CreateString(npy[k]));
    cJSON *sc = json_scorer(root, in);
    cJSON *tm = json_seconds(root, in);
    cJSON_AddStringToObject(sc, "auroc_p_value", "two-sided Mann-Whitney U, normal "
                                                 "approximation, tie and continuity corrected");
    cJSON_AddStringToObject(sc, "auroc_q_value", "Benjamini-Hochberg over all hypotheses");
    cJSON_AddNumberToObject(root, "alpha", in->alpha);
    json_findings(root, in);
    cJSON *inputs = cJSON_AddObjectToObject(root, "inputs");
    cJSON_AddStringToObject(inputs, "a", in->a_path);
    cJSON_AddStringToObject(inputs, "b", in->b_path);
    cJSON_AddStringToObject(inputs, "hypotheses",
                            in->hypotheses_path ? in->hypotheses_path : in->h_emb_path);
    cJSON_AddNumberToObject(root, "n_hypotheses", (double)r->n_rows);
    cJSON *arr = cJSON_AddArrayToObject(root, "hypotheses");
    if (!e || !pre || !sc || !tm || !inputs || !arr) return -1;
    for (size_t k = 0; k < r->n_rows; k++) {
        const hr_report_row *row = &r->rows[k];
        cJSON *o = json_row(arr, row);
        if (!o) return -1;
        if (row->text) {
            cJSON_AddStringToObject(o, "text", row->text);
            cJSON_AddNumberToObject(o, "line", (double)row->line);
        } else {
            cJSON_AddNullToObject(o, "text");
        }
        cJSON_AddStringToObject(o, "source", hr_hyp_source_str(row->source));
        cJSON_AddStringToObject(o, "direction", row->direction == 'A' ? "A" : "B");
        json_common_scores(o, row, r->rows);
        cJSON_AddBoolToObject(o, "significant", row->significant);
        hr_json_number(o, "z", row->score.z);
        if (row->duplicate_of >= 0)
            cJSON_AddNumberToObject(o, "duplicate_of", (double)row->duplicate_of);
    }
    return 0;
}

static void json_verification(cJSON *o, const hr_verify_result *v)
{
    cJSON *vj = cJSON_AddObjectToObject(o, "verification");
    cJSON_AddNumberToObject(vj, "n_a_true", (double)v->n_a_true);
    cJSON_AddNumberToObject(vj, "n_a_answered", (double)v->n_a_answered);
    cJSON_AddNumberToObject(vj, "n_a_missing", (double)v->n_a_missing);
    cJSON_AddNumberToObject(vj, "n_b_true", (double)v->n_b_true);
    cJSON_AddNumberToObject(vj, "n_b_answered", (double)v->n_b_answered);
    cJSON_AddNumberToObject(vj, "n_b_missing", (double)v->n_b_missing);
    hr_json_number(vj, "v", v->v);
    hr_json_number(vj, "ci_low", v->ci_low);
    hr_json_number(vj, "ci_high", v->ci_high);
    hr_json_number(vj, "p_value", v->p_value);
    hr_json_number(vj, "agreement_auroc", v->agreement_auroc);
    if (!v->method) return;
    cJSON_AddStringToObject(vj, "method", v->method);
    const struct {
        const char *name;
        double value;
    } ppi[] = {{"v_classical", v->v_classical},   {"classical_ci_low", v->classical_ci_low},
               {"classical_ci_high", v->classical_ci_high}, {"share_a", v->share_a},
               {"share_a_ci_low", v->share_a_ci_low}, {"share_a_ci_high", v->share_a_ci_high},
               {"share_b", v->share_b},           {"share_b_ci_low", v->share_b_ci_low},
               {"share_b_ci_high", v->share_b_ci_high}, {"effective_labels", v->effective_labels},
               {"lambda", v->lambda}};
    for (size_t i = 0; i < sizeof ppi / sizeof ppi[0]; i++)
        hr_json_number(vj, ppi[i].name, ppi[i].value);
    cJSON_AddNumberToObject(vj, "rounds", (double)v->rounds);
    cJSON_AddStringToObject(vj, "stopped", v->settled == 1   ? "interval excludes 0"
                                           : v->settled == 2 ? "rank settled"
                                           : v->budget_stopped ? "budget"
                                                               : "most texts");
}

static void json_clusters(cJSON *root, const hr_report_info *in)
{
    cJSON *arr = cJSON_AddArrayToObject(root, "clusters");
    for (size_t c = 0; arr && c < in->n_clusters; c++) {
        const hr_report_cluster *cl = &in->clusters[c];
        cJSON *o = cJSON_CreateObject();
        if (!o) return;
        cJSON_AddItemToArray(arr, o);
        char side[2] = {cl->side, 0};
        cJSON_AddStringToObject(o, "side", side);
        cJSON_AddNumberToObject(o, "size", (double)cl->size);
        cJSON_AddNumberToObject(o, "words_added", (double)cl->words_added);
        cJSON *near = cJSON_AddArrayToObject(o, "nearest");
        for (size_t k = 0; near && k < cl->n_nearest; k++)
            cJSON_AddItemToArray(near, cJSON_CreateString(cl->nearest[k]));
        cJSON *ex = cJSON_AddArrayToObject(o, "examples");
        for (size_t m = 0; ex && m < cl->n_examples; m++)
            cJSON_AddItemToArray(ex, cJSON_CreateString(cl->examples[m]));
    }
}

static int describe_json(cJSON *root, const hr_report *r)
{
    const hr_report_info *in = &r->info;
    cJSON *e = json_sizes_encoder(root, in);
    cJSON *sc = json_scorer(root, in);
    cJSON_AddNumberToObject(sc, "scored_a", (double)in->scored_a);
    cJSON_AddNumberToObject(sc, "scored_b", (double)in->scored_b);
    cJSON_AddNumberToObject(sc, "proposal_a", (double)in->proposal_a);
    cJSON_AddNumberToObject(sc, "proposal_b", (double)in->proposal_b);
    cJSON_AddNumberToObject(sc, "scored_all_a", (double)in->scored_all_a);
    cJSON_AddNumberToObject(sc, "scored_all_b", (double)in->scored_all_b);
    cJSON_AddNumberToObject(sc, "seed", (double)in->seed);
    cJSON *tm = json_seconds(root, in);
    cJSON_AddStringToObject(root, "a", in->a_path);
    cJSON_AddStringToObject(root, "b", in->b_path);
    if (in->goal) cJSON_AddStringToObject(root, "goal", in->goal);
    else cJSON_AddNullToObject(root, "goal");
    cJSON_AddNumberToObject(root, "alpha", in->alpha);
    cJSON_AddNumberToObject(root, "significant_a", (double)in->significant_a);
    cJSON_AddNumberToObject(root, "significant_b", (double)in->significant_b);
    json_findings(root, in);
    if (in->has_llm) {
        const hr_remote_stats *t = &in->llm_totals;
        cJSON *lj = cJSON_AddObjectToObject(root, "llm");
        cJSON_AddStringToObject(lj, "model", in->llm_model);
        cJSON_AddStringToObject(lj, "url", in->llm_url);
        cJSON_AddNumberToObject(lj, "requests", (double)t->items);
        cJSON_AddNumberToObject(lj, "from_cache", (double)t->cache_hits);
        cJSON_AddNumberToObject(lj, "prompt_tokens", (double)t->prompt_tokens);
        cJSON_AddNumberToObject(lj, "completion_tokens", (double)t->completion_tokens);
        hr_json_number(lj, "cost_usd", t->cost_usd);
        cJSON_AddNumberToObject(lj, "verify_samples_per_side", (double)in->verify_samples);
        cJSON_AddNumberToObject(lj, "verdicts_missing", (double)in->verdicts_missing);
        static const char *const STATE[] = {"ok", "partial", "failed"};
        cJSON_AddStringToObject(lj, "status", STATE[in->llm_state]);
        if (in->llm_error) cJSON_AddStringToObject(lj, "error", in->llm_error);
        else cJSON_AddNullToObject(lj, "error");
        cJSON_AddNumberToObject(lj, "proposal_rounds", (double)in->llm_rounds);
        cJSON_AddNumberToObject(lj, "proposal_rounds_failed", (double)in->llm_rounds_failed);
        cJSON_AddNumberToObject(lj, "verdicts_asked", (double)in->verdicts_asked);
        cJSON_AddNumberToObject(lj, "verify_max_samples_per_side", (double)in->verify_max_samples);
        cJSON_AddNumberToObject(lj, "verify_rounds", (double)in->verify_rounds);
        cJSON_AddNumberToObject(lj, "texts_judged", (double)in->texts_judged);
        cJSON_AddBoolToObject(lj, "budget_stopped", in->budget_stopped);
        cJSON_AddNumberToObject(lj, "max_requests", (double)in->max_requests);
        hr_json_number(lj, "budget_usd", in->budget_usd);
        hr_json_number(lj, "spent_usd", in->spent_usd);
        cJSON_AddNumberToObject(lj, "requests_not_sent", (double)in->requests_not_sent);
        cJSON_AddNumberToObject(lj, "context_tokens", (double)in->llm_context);
        cJSON *pj = cJSON_AddObjectToObject(lj, "price");
        if (in->price_source) {
            hr_json_number(pj, "prompt_usd_per_mtok", in->price_prompt);
            hr_json_number(pj, "completion_usd_per_mtok", in->price_completion);
            cJSON_AddStringToObject(pj, "source", strcmp(in->price_source, "given") == 0
                                                      ? "given"
                                                      : "built-in list price");
            if (strcmp(in->price_source, "given") != 0)
                cJSON_AddStringToObject(pj, "entry", in->price_source);
        } else {
            cJSON_AddStringToObject(pj, "source", "unknown");
        }
    }
    if (in->clusters) json_clusters(root, in);
    cJSON *arr = cJSON_AddArrayToObject(root, "hypotheses");
    if (!e || !sc || !tm || !arr) return -1;
    for (size_t k = 0; k < r->n_rows; k++) {
        const hr_report_row *row = &r->rows[k];
        cJSON *o = json_row(arr, row);
        if (!o) return -1;
        cJSON_AddStringToObject(o, "text", row->text);
        cJSON_AddStringToObject(o, "source", hr_hyp_source_str(row->source));
        cJSON_AddStringToObject(o, "direction", row->direction == 'A' ? "A" : "B");
        json_common_scores(o, row, r->rows);
        cJSON_AddBoolToObject(o, "significant", row->significant);
        if (row->note) cJSON_AddStringToObject(o, "note", row->note);
        if (row->verification) json_verification(o, row->verification);
        if (row->n_examples) {
            cJSON *ex = cJSON_AddArrayToObject(o, "examples");
            for (size_t x = 0; x < row->n_examples; x++)
                cJSON_AddItemToArray(ex, cJSON_CreateString(row->examples[x]));
        }
    }
    return 0;
}

char *hr_report_json(const hr_report *r)
{
    if (!r) return NULL;
    cJSON *root = cJSON_CreateObject();
    if (!root) return NULL;
    int bad = r->info.kind == HR_REPORT_RANK ? rank_json(root, r) : describe_json(root, r);
    char *text = bad ? NULL : cJSON_Print(root);
    cJSON_Delete(root);
    return text;
}

/* ------------------------------------------------------------------------ */
/* Markdown                                                                   */

static void md_escape(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '|' || *s == '*' || *s == '_' || *s == '`' || *s == '[' || *s == ']' || *s == '\\')
            fputc('\\', f);
        fputc(*s == '\n' || *s == '\r' ? ' ' : *s, f);
    }
}

typedef struct md_ctx {
    FILE *f;
    int judged; /* some row has a verdict: the judge's column is there */
} md_ctx;

static void md_row(const hr_report *r, const hr_report_row *row, void *user)
{
    const md_ctx *m = user;
    FILE *f = m->f;
    const hr_effect *e = &row->effect;
    char ef[64], sa[16], sb[16];
    fprintf(f, "| %zu | ", row->rank);
    md_escape(f, row->text);
    if (!row->finding) fprintf(f, row->significant ? " (significant alone, not a finding)" : " (n.s.)");
    if (row->n_paraphrases) {
        fprintf(f, " (same texts: ");
        for (size_t x = 0; x < row->n_paraphrases; x++) {
            fprintf(f, "%s", x ? "; " : "");
            md_escape(f, row->paraphrases[x]);
        }
        fprintf(f, ")");
    }
    (void)r;
    fprintf(f, " | %s | %s | %s | %.3f | %.2g | %s | ", hr_pipe_share_text(e, e->share_a, sa),
            hr_pipe_share_text(e, e->share_b, sb), hr_pipe_effect_text(e, ef), row->score.auroc,
            e->q_value, hr_hyp_source_str(row->source));
    const hr_verify_result *v = row->verification;
    if (v && !isnan(v->v) && v->method)
        fprintf(f, "%.0f%% vs %.0f%%, %+.2f [%+.2f, %+.2f] | ", 100 * v->share_a,
                100 * v->share_b, v->v, v->ci_low, v->ci_high);
    else if (v && !isnan(v->v))
        fprintf(f, "%+.2f [%+.2f, %+.2f] | ", v->v, v->ci_low, v->ci_high);
    else if (m->judged)
        fprintf(f, " | ");
    for (size_t x = 0; x < row->n_examples; x++) {
        fprintf(f, "%s\"", x ? "; " : "");
        md_escape(f, row->examples[x]);
        fprintf(f, "\"");
    }
    fprintf(f, " |\n");
}

hr_status hr_report_write_markdown(FILE *f, const hr_report *r)
{
    if (!f || !r) return HR_ERR_INTERNAL;
    if (r->info.kind != HR_REPORT_DESCRIBE) return HR_ERR_UNSUPPORTED;
    const hr_report_info *in = &r->info;
    md_ctx m = {f, r->verifications != NULL};
    fprintf(f, "# How A differs from B\n\n");
    fprintf(f, "- **A**: `%s` (%zu texts)\n- **B**: `%s` (%zu texts)\n", in->a_path, in->n_a,
            in->b_path, in->n_b);
    if (in->goal) {
        fprintf(f, "- **Goal**: ");
        md_escape(f, in->goal);
        fprintf(f, "\n");
    }
    fprintf(f, "- %zu candidate hypotheses (%s) with %s; yours and the bank's scored on "
               "%zu + %zu texts, those drawn from the data on %zu + %zu held-out texts; "
               "significant: q-value at most %g (Benjamini-Hochberg)\n",
            in->n_candidates, in->candidate_sources, in->encoder_model, in->scored_all_a,
            in->scored_all_b, in->scored_a, in->scored_b, in->alpha);
    const size_t nf = in->findings_a + in->findings_b, ns = in->significant_a + in->significant_b;
    fprintf(f, "- **%zu distinct difference%s** (findings): %zu more typical of A, %zu of B",
            nf, nf == 1 ? "" : "s", in->findings_a, in->findings_b);
    if (nf > 0 && ns > nf)
        fprintf(f, "; %zu other candidates significant alone are shadows or paraphrases of them",
                ns - nf);
    fprintf(f, "\n- *A* and *B*: the estimated share of each side's texts the hypothesis holds "
               "for (`mentions \"w\"`: counted, the texts that contain the words); "
               "effect: their difference with a 95%% interval\n");
    char outcome[1024];
    hr_pipe_llm_outcome_text(in, outcome, sizeof outcome);
    if (outcome[0]) {
        fprintf(f, "- **LLM** %s: ", in->llm_model);
        md_escape(f, outcome);
        fprintf(f, "\n");
    }
    if (m.judged)
        fprintf(f, "- *judge*: the share of A's and of B's texts the LLM judge says it holds "
                   "for and V, their difference, with a 95%% interval: from the texts it "
                   "read (%zu a side, more in later rounds) and the screen's opinion of every "
                   "text (prediction-powered inference), valid however good the screen is\n",
                in->verify_samples);
    for (int dir = 0; dir < 2; dir++) {
        fprintf(f, "\n## More typical of %s\n\n", dir ? "B" : "A");
        if (for_shown_count(r, dir) == 0) {
            fprintf(f, "No finding.\n");
            continue;
        }
        if (m.judged)
            fprintf(f, "| rank | hypothesis | A | B | effect [95%% CI] | AUROC | q-value | source "
                       "| judge: A vs B, V [95%% CI] | examples |\n"
                       "|---:|---|---:|---:|---|---:|---:|---|---|---|\n");
        else
            fprintf(f, "| rank | hypothesis | A | B | effect [95%% CI] | AUROC | q-value | source "
                       "| examples |\n|---:|---|---:|---:|---|---:|---:|---|---|\n");
        for_shown(r, dir, md_row, &m);
    }
    if (in->significant_a + in->significant_b == 0)
        fprintf(f, "\nNo significant difference found at q <= %g.\n", in->alpha);
    return ferror(f) ? HR_ERR_IO : HR_OK;
}
