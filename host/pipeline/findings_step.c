/* host/pipeline/findings_step.c: what rank and describe share after the
 * findings are selected: the rank order, the rows shown and the rows'
 * findings fields (host/pipeline/pipeline.h). */
#include "pipeline/pipeline.h"

#include "hyporank/proposers.h"
#include "hyporank/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct order_key {
    int finding;
    double p, abs_effect;
    size_t index;
} order_key;

static int cmp_order(const void *x, const void *y)
{
    const order_key *a = x, *b = y;
    if (a->finding != b->finding) return a->finding ? -1 : 1;
    if (!a->finding && a->p != b->p) return a->p < b->p ? -1 : 1;
    if (a->abs_effect != b->abs_effect) return a->abs_effect > b->abs_effect ? -1 : 1;
    if (a->p != b->p) return a->p < b->p ? -1 : 1;
    return (a->index > b->index) - (a->index < b->index);
}

hr_status hr_pipe_rank_order(const hr_effect *e, const hr_finding *f, size_t k, size_t *order,
                             char *err, size_t errlen)
{
    order_key *key = malloc((k ? k : 1) * sizeof *key);
    if (!key) return hr_pipe_nomem(err, errlen);
    for (size_t i = 0; i < k; i++)
        key[i] = (order_key){f[i].is_finding, e[i].p_value, fabs(e[i].effect), i};
    qsort(key, k, sizeof *key, cmp_order);
    for (size_t r = 0; r < k; r++) order[r] = key[r].index;
    free(key);
    return HR_OK;
}

hr_status hr_pipe_count_mentions(const char *const *ht, const size_t *hl, size_t k,
                                 const char *const *ta, const size_t *la, size_t n_a,
                                 const char *const *tb, const size_t *lb, size_t n_b,
                                 int n_threads, hr_effect *effects, char *err, size_t errlen)
{
    if (k == 0) return HR_OK;
    char **words = calloc(k, sizeof *words); /* the first m: the words of candidate which[j] */
    size_t *which = malloc(k * sizeof *which), *df_a = malloc(k * sizeof *df_a),
           *df_b = malloc(k * sizeof *df_b), m = 0, len;
    hr_status st = words && which && df_a && df_b ? HR_OK : hr_pipe_nomem(err, errlen);
    for (size_t i = 0; st == HR_OK && i < k; i++) {
        const char *w = hr_mention_words(ht[i], hl[i], &len);
        if (!w) continue;
        if ((words[m] = malloc(len + 1))) memcpy(words[m], w, len), words[m][len] = '\0';
        else st = hr_pipe_nomem(err, errlen);
        which[m++] = i;
    }
    if (st == HR_OK && m > 0)
        st = hr_ngram_document_counts(ta, la, n_a, (const char *const *)words, m, n_threads, df_a,
                                      err, errlen);
    if (st == HR_OK && m > 0)
        st = hr_ngram_document_counts(tb, lb, n_b, (const char *const *)words, m, n_threads, df_b,
                                      err, errlen);
    for (size_t j = 0; st == HR_OK && j < m; j++) {
        hr_effect *e = &effects[which[j]];
        if (e->n_a != n_a || e->n_b != n_b)
            st = hr_fail(HR_ERR_INTERNAL, err, errlen,
                         "hypothesis %zu was scored on other texts than those counted", which[j]);
        else
            st = hr_effect_set_counted(e, df_a[j], df_b[j], err, errlen);
    }
    for (size_t j = 0; j < m; j++) free(words[j]);
    free(words), free(which), free(df_a), free(df_b);
    return st;
}

const char *hr_pipe_share_text(const hr_effect *e, double share, char out[16])
{
    const double pct = 100.0 * share;
    const int digits = !e->counted || pct == 0.0 || pct >= 9.95 ? 0 : (pct >= 0.995 ? 1 : 2);
    snprintf(out, 16, "%.*f%%", digits, pct);
    return out;
}

const char *hr_pipe_effect_text(const hr_effect *e, char out[64])
{
    const int d = e->counted ? 3 : 2;
    snprintf(out, 64, "%+.*f [%+.*f, %+.*f]", d, e->effect, d, e->ci_low, d, e->ci_high);
    return out;
}

/* 'A' when the hypothesis holds for more of A. */
static char direction_of(const hr_effect *e)
{
    return e->z > 0.0 ? 'A' : 'B';
}

void hr_pipe_shown(const hr_effect *e, const hr_finding *f, const size_t *order, size_t k,
                   size_t top, int per_direction, uint8_t *shown)
{
    if (!per_direction) {
        for (size_t r = 0; r < k; r++) shown[r] = top == 0 || r < top;
        return;
    }
    int any_finding = 0;
    for (size_t i = 0; i < k; i++) any_finding |= f[i].is_finding;
    size_t count[2] = {0, 0};
    for (size_t r = 0; r < k; r++) {
        const size_t i = order[r];
        const int dir = direction_of(&e[i]) == 'A' ? 0 : 1;
        shown[r] = (!any_finding || f[i].is_finding) && e[i].z != 0.0 && count[dir] < top;
        count[dir] += shown[r];
    }
}

hr_status hr_pipe_report_findings(hr_report *rep, const size_t *order, const hr_effect *e,
                                  const hr_finding *f, double alpha, const uint8_t *shown,
                                  char *err, size_t errlen)
{
    const size_t k = rep->n_rows;
    size_t *rank_of = malloc((k ? k : 1) * sizeof *rank_of); /* (k) rank (from 1) of each candidate */
    rep->paraphrases = malloc((k ? k : 1) * sizeof *rep->paraphrases);
    rep->paraphrase_lens = malloc((k ? k : 1) * sizeof *rep->paraphrase_lens);
    if (!rank_of || !rep->paraphrases || !rep->paraphrase_lens) {
        free(rank_of);
        return hr_pipe_nomem(err, errlen);
    }
    for (size_t r = 0; r < k; r++) rank_of[order[r]] = r + 1;
    hr_report_info *in = &rep->info;
    in->findings_a = in->findings_b = in->significant_a = in->significant_b = 0;
    for (size_t r = 0; r < k; r++) {
        const size_t i = order[r];
        hr_report_row *row = &rep->rows[r];
        row->effect = e[i];
        row->direction = direction_of(&e[i]);
        row->significant = e[i].q_value <= alpha && e[i].z != 0.0;
        row->finding = f[i].is_finding;
        row->explained_by = f[i].explained_by >= 0 ? rank_of[f[i].explained_by] : 0;
        row->paraphrase = f[i].paraphrase;
        row->effect_beyond = f[i].is_finding ? f[i].effect_beyond : NAN;
        row->effect_beyond_se = f[i].is_finding ? f[i].effect_beyond_se : NAN;
        row->shown = shown[r];
        if (row->significant) {
            if (row->direction == 'A') in->significant_a++;
            else in->significant_b++;
        }
        if (row->finding) {
            if (row->direction == 'A') in->findings_a++;
            else in->findings_b++;
        }
    }
    /* Paraphrase lists: each finding's, in rank order, one storage array. */
    size_t t = 0;
    for (size_t r = 0; r < k; r++) {
        hr_report_row *row = &rep->rows[r];
        if (!row->finding) continue;
        row->paraphrases = rep->paraphrases + t;
        row->paraphrase_lens = rep->paraphrase_lens + t;
        for (size_t x = 0; x < k; x++) {
            const hr_report_row *o = &rep->rows[x];
            if (o->explained_by != r + 1) continue;
            row->n_explained++;
            if (!o->paraphrase) continue;
            rep->paraphrases[t] = o->text;
            rep->paraphrase_lens[t] = o->len;
            t++, row->n_paraphrases++;
        }
    }
    free(rank_of);
    return HR_OK;
}

hr_status hr_pipe_auroc_qvalues(hr_hypothesis_score *s, size_t k, char *err, size_t errlen)
{
    if (k == 0) return HR_OK;
    double *p = malloc(k * sizeof *p);
    if (!p) return hr_pipe_nomem(err, errlen);
    for (size_t i = 0; i < k; i++) p[i] = s[i].p_value;
    hr_status st = hr_bh_qvalues(p, k, p, err, errlen);
    if (st == HR_OK)
        for (size_t i = 0; i < k; i++) s[i].q_value = p[i];
    free(p);
    return st;
}
