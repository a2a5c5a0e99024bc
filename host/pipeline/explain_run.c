/* host/pipeline/explain_run.c: the explain pipeline (hyporank/explain_run.h). */
#include "core/random.h"
#include "hyporank/explain_run.h"
#include "hyporank/probe.h"
#include "hyporank/proposers.h"
#include "pipeline/explain_internal.h"
#include "pipeline/pipeline.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hr_explain_run_options_init(hr_explain_run_options *o)
{
    memset(o, 0, sizeof *o);
    o->bank = o->ngrams = 1;
    o->ngrams_per_side = 25;
    o->holdout = 0.3;
    o->rounds = 1;
    o->top_k = 5;
    o->candidates = 50;
    o->folds = 5;
    o->seed = 1;
    o->bootstrap = 1000;
    o->examples = 5;
    o->method = HR_SCORE_COSINE;
    o->temperature = HR_SCORER_DEFAULT_TEMPERATURE;
    o->device = HR_DEVICE_AUTO;
}


static hr_status check_options(const hr_explain_run_options *o, char *err, size_t errlen)
{
    const int two = o->a_path || o->b_path;
    if (two && (!o->a_path || !o->b_path || o->data_path || o->corpus || o->label_field ||
                o->positive || o->score_field || o->continuous))
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "explain: two corpora (A and B) take no data file, label, score or "
                       "continuous target");
    if (!two && ((!o->data_path && !o->corpus) || !o->label_field))
        return hr_fail(HR_ERR_INPUT, err, errlen, "explain: a data file and its label field are required");
    if (o->corpus && o->corpus->n_fields < (o->score_field ? 2u : 1u))
        return hr_fail(HR_ERR_INTERNAL, err, errlen,
                       "explain: the corpus in memory has %zu fields: the label%s needed",
                       o->corpus->n_fields, o->score_field ? " and the score are" : " is");
    if (o->continuous && (o->score_field || o->positive || o->rounds > 1))
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "explain: a continuous target takes no score field, positive label or "
                       "later rounds");
    if (o->rounds > 1 && !o->ngrams)
        return hr_fail(HR_ERR_INPUT, err, errlen, "explain: later rounds propose from the word share");
    if (!o->bank && !o->ngrams && !o->hypotheses_path)
        return hr_fail(HR_ERR_INPUT, err, errlen, "no candidates: without the bank and the n-grams, "
                                                  "give hypotheses");
    if (o->ngrams_per_side < 1 || o->ngrams_per_side > 10000 || o->rounds < 1 || o->rounds > 20 ||
        o->top_k < 1 || o->top_k > 50 || o->candidates < 1 || o->candidates > 1000 ||
        o->folds < 2 || o->folds > 20 || o->bootstrap < 100 || o->bootstrap > 100000 ||
        o->examples > 1000 || !(o->holdout >= 0.05) || !(o->holdout <= 0.9))
        return hr_fail(HR_ERR_INPUT, err, errlen, "explain: an option is out of its range "
                                                  "(hyporank/explain_run.h)");
    return HR_OK;
}

/* Stratified split: is_prop[i] = 1 for round(share * n_c) random texts of
 * each class c. */
static void split_rows(const uint8_t *y, size_t n, double share, uint64_t seed, uint8_t *is_prop,
                       size_t *scratch)
{
    uint64_t state = seed;
    memset(is_prop, 0, n);
    for (int c = 1; c >= 0; c--) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (y[i] == c) scratch[m++] = i;
        hr_random_shuffle(&state, scratch, m);
        size_t k = (size_t)llround((double)m * share);
        for (size_t i = 0; i < k; i++) is_prop[scratch[i]] = 1;
    }
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The state of one run. The texts' embeddings are one matrix X: the
 * evaluated texts' rows [0, m), then (later rounds) the word share's rows
 * [m, n), each embedded once; the candidates' H grows as rounds add some. */
typedef struct explain_run {
    const hr_explain_run_options *o;
    const hr_events *ev;
    hr_embedder *emb;
    hr_explain_report *rep;
    hr_dataset *ds;
    uint8_t *is_prop;        /* (n) 1: in the word share */
    size_t *eval;            /* (m) the evaluated texts, ascending */
    size_t m, np, nn;        /* evaluated; word share's positives, negatives */
    uint8_t *ye;             /* (m) the evaluated texts' classes */
    float *X;                /* (x_rows, dim) row-major, see above */
    size_t x_rows, dim;
    float *H;                /* (K, dim) row-major */
    size_t h_rows;
    float *F;                /* (m, K) row-major: each candidate's score on each evaluated text */
    double *ref;             /* (m) the reference's held-out values */
    hr_explain_options eo;
    double t0;
} explain_run;

/* The candidates: the caller's, the bank, the words of the word share. */
static hr_status make_pool(explain_run *r, char *err, size_t errlen)
{
    const hr_explain_run_options *o = r->o;
    hr_explain_report *rep = r->rep;
    hr_corpus *mine = NULL;
    hr_status st = hr_pool_create(&rep->pool, err, errlen);
    if (st == HR_OK && o->hypotheses_path)
        st = hr_pipe_add_user_hypotheses(rep->pool, o->hypotheses_path, &mine, err, errlen);
    hr_corpus_destroy(mine); /* the pool has copied the texts */
    if (st == HR_OK && o->bank) st = hr_pool_add_bank(rep->pool, NULL, err, errlen);
    if (st != HR_OK || !o->ngrams || r->np == 0 || r->nn == 0) return st;
    const hr_dataset *ds = r->ds;
    const char **pt = malloc(r->np * sizeof *pt), **nt = malloc(r->nn * sizeof *nt);
    size_t *pl = malloc(r->np * sizeof *pl), *nl = malloc(r->nn * sizeof *nl);
    if (!pt || !nt || !pl || !nl) {
        st = hr_pipe_nomem(err, errlen);
    } else {
        size_t a = 0, b = 0;
        for (size_t i = 0; i < ds->n; i++) {
            if (!r->is_prop[i]) continue;
            if (ds->y[i]) pt[a] = ds->texts[i], pl[a++] = ds->lens[i];
            else nt[b] = ds->texts[i], nl[b++] = ds->lens[i];
        }
        hr_ngram_options no = hr_ngram_default_options();
        no.top_k = o->ngrams_per_side;
        no.min_count = r->np + r->nn < 2000 ? 3 : no.min_count;
        st = hr_pool_add_ngrams(rep->pool, pt, pl, r->np, nt, nl, r->nn, &no, NULL, err, errlen);
    }
    free(pt), free(nt), free(pl), free(nl);
    return st;
}

/* The split and the checks that enough texts are left to fold. */
static hr_status split(explain_run *r, char *err, size_t errlen)
{
    const hr_explain_run_options *o = r->o;
    const hr_dataset *ds = r->ds;
    const size_t n = ds->n;
    r->is_prop = calloc(n, 1);
    size_t *scratch = malloc(n * sizeof *scratch);
    r->eval = malloc(n * sizeof *r->eval);
    if (!r->is_prop || !scratch || !r->eval) {
        free(scratch);
        return hr_pipe_nomem(err, errlen);
    }
    if (o->ngrams) split_rows(ds->y, n, o->holdout, o->seed, r->is_prop, scratch);
    free(scratch);
    size_t m_pos = 0;
    for (size_t i = 0; i < n; i++) {
        if (r->is_prop[i]) {
            if (ds->y[i]) r->np++;
            else r->nn++;
        } else {
            r->eval[r->m++] = i;
            m_pos += ds->y[i];
        }
    }
    const size_t m = r->m, need = 2 * o->folds;
    const char *why = o->ngrams ? " after the word-candidate share (--holdout, --no-ngrams)" : "";
    if (o->continuous && m < 2 * need)
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "too few texts: %zu are left to evaluate%s; %zu folds need at least %zu "
                       "(and a few hundred give a useful answer)",
                       m, why, o->folds, 2 * need);
    if (!o->continuous && (m_pos < need || m - m_pos < need))
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "too few texts: %zu '%s' and %zu '%s' are left to evaluate%s; %zu folds "
                       "need at least %zu of each (and a few hundred give a useful answer)",
                       m_pos, ds->label[1], m - m_pos, ds->label[0], why, o->folds, need);
    return HR_OK;
}

static hr_status round_record(hr_round_rec *rr, const hr_explain_result *res, const double *ref,
                              const uint8_t *y, size_t m, size_t K, const hr_explain_run_options *o,
                              char *err, size_t errlen)
{
    hr_explain_ratio x;
    hr_status st = hr_explain_bootstrap(ref, res->heldout + (res->n_selected - 1) * m, y, m,
                                        (int)o->bootstrap, o->seed, HR_EXPLAIN_EPSILON, &x, err,
                                        errlen);
    if (st != HR_OK) return st;
    rr->candidates = K;
    rr->steps = res->n_selected;
    rr->auroc = x.hyp_auroc;
    rr->explained = x.explained;
    rr->ci_low = x.ci_low;
    rr->ci_high = x.ci_high;
    return HR_OK;
}

/* Later rounds: propose from the residual of the word share (never from the
 * evaluated texts), embed what is new, and choose on from the kept choices
 * (hr_explain_refit redoes this per outer fold). */
static hr_status later_rounds(explain_run *r, char *err, size_t errlen)
{
    const hr_explain_run_options *o = r->o;
    hr_explain_report *rep = r->rep;
    const hr_dataset *ds = r->ds;
    const size_t n = ds->n, m = r->m, mp = n - m, dim = r->dim;
    hr_status st = HR_OK;
    hr_probe *probe = NULL;
    float *Fp = NULL;
    size_t *prow = malloc(mp * sizeof *prow), *presid = malloc(mp * sizeof *presid);
    uint8_t *yp = malloc(mp);
    double *refp = malloc(mp * sizeof *refp), *hypp = malloc(mp * sizeof *hypp);
    const char **ptx = malloc(mp * sizeof *ptx), **atx = malloc(mp * sizeof *atx);
    const char **btx = malloc(mp * sizeof *btx);
    size_t *plen = malloc(mp * sizeof *plen), *alen = malloc(mp * sizeof *alen);
    size_t *blen = malloc(mp * sizeof *blen);
    if (!prow || !yp || !presid || !refp || !hypp || !ptx || !plen || !atx || !alen || !btx ||
        !blen) {
        st = hr_pipe_nomem(err, errlen);
        goto done;
    }
    for (size_t i = 0, k = 0; i < n; i++) {
        if (!r->is_prop[i]) continue;
        prow[k] = i, yp[k] = ds->y[i], ptx[k] = ds->texts[i], plen[k++] = ds->lens[i];
    }
    /* The word share: X's rows [m, n). */
    if ((st = hr_pipe_embed_rows(r->emb, &r->X, &r->x_rows, ptx, plen, mp,
                                 "embedding the word share", r->ev, err, errlen)) != HR_OK)
        goto done;
    const float *Xp = r->X + m * dim; /* (mp, dim) */
    if (o->score_field) {
        for (size_t k = 0; k < mp; k++) refp[k] = ds->score[prow[k]];
    } else { /* the reference probe, fitted on all evaluated texts */
        hr_probe_options po = hr_probe_default_options();
        po.device = o->device;
        if ((st = hr_probe_fit(r->X, m, (int)dim, r->ye, NULL, &po, &probe, err, errlen)) ||
            (st = hr_probe_decision(probe, Xp, mp, refp, err, errlen)))
            goto done;
    }
    size_t K = rep->K;
    for (size_t round = 1; round < o->rounds; round++) {
        free(Fp);
        if (!(Fp = malloc(mp * K * sizeof *Fp))) { /* (mp, K) row-major */
            st = hr_pipe_nomem(err, errlen);
            goto done;
        }
        size_t n_res = 0;
        if ((st = hr_explain_features(Xp, mp, r->H, K, (int)dim, o->method, o->temperature, Fp,
                                      err, errlen)) ||
            (st = hr_explain_apply(r->F, m, K, r->ye, rep->res.selected, rep->res.n_selected,
                                   r->eo.lambda, Fp, mp, hypp, err, errlen)) ||
            (st = hr_explain_residual(refp, hypp, yp, mp, presid, &n_res, err, errlen)))
            goto done;
        for (int c = 1; c >= 0; c--) { /* class c's residual against the other class */
            size_t na = 0, nb = 0;
            for (size_t k = 0; k < n_res; k++)
                if (yp[presid[k]] == c) atx[na] = ptx[presid[k]], alen[na++] = plen[presid[k]];
            for (size_t k = 0; k < mp; k++)
                if (yp[k] != c) btx[nb] = ptx[k], blen[nb++] = plen[k];
            if (na == 0 || nb == 0) continue;
            hr_ngram_options no = hr_ngram_default_options();
            no.top_k = o->ngrams_per_side;
            no.min_count = 2; /* a residual is a few texts */
            if ((st = hr_pool_add_ngrams(rep->pool, atx, alen, na, btx, blen, nb, &no, NULL, err,
                                         errlen)) != HR_OK)
                goto done;
        }
        const size_t K2 = hr_pool_size(rep->pool); /* the pool drops duplicates */
        hr_round_rec *rec = rep->rec;
        rep->n_rounds = round + 1;
        if (K2 == K) { /* nothing new: the same model; stop */
            rec[round] = rec[round - 1];
            rec[round].added = 0, rec[round].residual = n_res, rec[round].stopped = 1;
            break;
        }
        rec[round].residual = n_res;
        rec[round].added = K2 - K;
        if ((st = hr_pipe_embed_rows(r->emb, &r->H, &r->h_rows, hr_pool_texts(rep->pool) + K,
                                     hr_pool_lens(rep->pool) + K, K2 - K,
                                     "embedding new hypotheses", r->ev, err, errlen)) != HR_OK)
            goto done;
        free(r->F);
        if (!(r->F = malloc(m * K2 * sizeof *r->F))) { /* (m, K2) row-major */
            st = hr_pipe_nomem(err, errlen);
            goto done;
        }
        if ((st = hr_explain_features(r->X, m, r->H, K2, (int)dim, o->method, o->temperature,
                                      r->F, err, errlen)) != HR_OK)
            goto done;
        K = rep->K = K2;
        hr_explain_result next;
        if ((st = hr_explain_refit(r->F, m, K, r->ye, &r->eo, &rep->res, &next, err, errlen)))
            goto done;
        hr_explain_result_free(&rep->res);
        rep->res = next;
        if ((st = round_record(&rec[round], &rep->res, r->ref, r->ye, m, K, o, err, errlen)))
            goto done;
    }
done:
    hr_probe_destroy(probe);
    free(Fp), free(prow), free(yp), free(presid), free(refp), free(hypp);
    free(ptx), free(plen), free(atx), free(alen), free(btx), free(blen);
    return st;
}

/* Two classes: the reference, the readable model, its rounds, X, the
 * residual and (with a classifier's score) its decisions. */
static hr_status run_binary(explain_run *r, char *err, size_t errlen)
{
    const hr_explain_run_options *o = r->o;
    hr_explain_report *rep = r->rep;
    const hr_dataset *ds = r->ds;
    const size_t m = r->m, dim = r->dim;
    hr_status st;

    /* The reference. */
    hr_probe_cv_result cv;
    memset(&cv, 0, sizeof cv);
    if (o->score_field) {
        for (size_t k = 0; k < m; k++) r->ref[k] = ds->score[r->eval[k]];
    } else {
        hr_probe_options po = hr_probe_default_options();
        po.device = o->device; /* auto: the GPU for large fits */
        if ((st = hr_probe_cross_validate(r->X, m, (int)dim, r->ye, NULL, &po, (int)o->folds,
                                          o->seed, r->ref, &cv, err, errlen)) != HR_OK)
            return st;
    }
    rep->cv_p_value = cv.p_value;

    /* The readable model. */
    if ((st = hr_explain_fit(r->F, m, rep->K, r->ye, &r->eo, &rep->res, err, errlen)) != HR_OK)
        return st;
    if (!(rep->rec = calloc(o->rounds, sizeof *rep->rec))) return hr_pipe_nomem(err, errlen);
    rep->n_rounds = 1;
    rep->rec[0].added = rep->K;
    if ((st = round_record(&rep->rec[0], &rep->res, r->ref, r->ye, m, rep->K, o, err, errlen)))
        return st;
    if (o->rounds > 1 && r->np > 0 && r->nn > 0 && (st = later_rounds(r, err, errlen)) != HR_OK)
        return st;

    const double *hyp = rep->res.heldout + (rep->res.n_selected - 1) * m; /* the final model's */
    if ((st = hr_explain_bootstrap(r->ref, hyp, r->ye, m, (int)o->bootstrap, o->seed,
                                   HR_EXPLAIN_EPSILON, &rep->ratio, err, errlen)) != HR_OK)
        return st;
    size_t *resid = malloc(m * sizeof *resid);
    if (!resid) return hr_pipe_nomem(err, errlen);
    if ((st = hr_explain_residual(r->ref, hyp, r->ye, m, resid, &rep->n_resid, err, errlen))) {
        free(resid);
        return st;
    }
    rep->n_shown = rep->n_resid < o->examples ? rep->n_resid : o->examples;
    rep->resid = calloc(rep->n_shown + 1, sizeof *rep->resid);
    for (size_t k = 0; rep->resid && k < rep->n_shown; k++) {
        const size_t i = r->eval[resid[k]];
        rep->resid[k] = (hr_residual_text){ds->texts[i], ds->lens[i], ds->y[i], ds->files[i],
                                           ds->lines[i], r->ref[resid[k]], hyp[resid[k]]};
    }
    free(resid);
    if (!rep->resid) return hr_pipe_nomem(err, errlen);

    /* With a classifier's score: how well the hypotheses predict its decisions. */
    rep->median = NAN;
    if (!o->score_field) return HR_OK;
    double *sorted = malloc(m * sizeof *sorted);
    uint8_t *yd = malloc(m);
    if (!sorted || !yd) {
        free(sorted), free(yd);
        return hr_pipe_nomem(err, errlen);
    }
    memcpy(sorted, r->ref, m * sizeof *sorted);
    qsort(sorted, m, sizeof *sorted, cmp_dbl);
    rep->median = m % 2 ? sorted[m / 2] : 0.5 * (sorted[m / 2 - 1] + sorted[m / 2]);
    size_t above = 0;
    for (size_t k = 0; k < m; k++) above += yd[k] = r->ref[k] > rep->median;
    const size_t need = 2 * o->folds;
    st = HR_OK;
    if (above >= need && m - above >= need &&
        (st = hr_explain_fit(r->F, m, rep->K, yd, &r->eo, &rep->dec, err, errlen)) == HR_OK)
        rep->have_dec = 1;
    free(sorted), free(yd);
    return st;
}

/* A continuous target: the ridge reference, the nested readable model,
 * X = rho_readable / rho_reference. */
static hr_status run_continuous(explain_run *r, char *err, size_t errlen)
{
    const hr_explain_run_options *o = r->o;
    hr_explain_report *rep = r->rep;
    const size_t m = r->m;
    double *t = malloc(m * sizeof *t); /* (m) targets of the evaluated texts */
    if (!t) return hr_pipe_nomem(err, errlen);
    for (size_t k = 0; k < m; k++) t[k] = r->ds->target[r->eval[k]];
    int varies = 0;
    for (size_t k = 0; k < m; k++) varies |= t[k] != t[0];
    hr_status st;
    if (!varies) {
        st = hr_fail(HR_ERR_INPUT, err, errlen,
                     "%s: every evaluated text has the same value of \"%s\": nothing to explain",
                     o->data_path, o->label_field);
    } else if ((st = hr_explain_ridge_cv(r->X, m, (int)r->dim, t, HR_EXPLAIN_RIDGE_LAMBDA,
                                         (int)o->folds, o->seed, r->ref, err, errlen)) == HR_OK &&
               (st = hr_explain_fit_continuous(r->F, m, rep->K, t, &r->eo, &rep->res, err,
                                               errlen)) == HR_OK) {
        const double *hyp = rep->res.heldout + (rep->res.n_selected - 1) * m;
        st = hr_explain_bootstrap_continuous(r->ref, hyp, t, m, (int)o->bootstrap, o->seed,
                                             HR_EXPLAIN_EPSILON, &rep->ratio, err, errlen);
        rep->ref_r2 = hr_explain_r2(r->ref, t, m);
        rep->hyp_r2 = rep->res.step_r2[rep->res.n_selected - 1];
    }
    free(t);
    return st;
}

/* X after each step of the readable model, with its interval (the page's
 * curve); the last step's is rep->ratio. */
static hr_status step_ratios(explain_run *r, char *err, size_t errlen)
{
    hr_explain_report *rep = r->rep;
    const hr_explain_run_options *o = r->o;
    const size_t m = r->m, k = rep->res.n_selected;
    double *t = NULL; /* (m) continuous: the evaluated texts' targets */
    if (!(rep->steps = calloc(k + 1, sizeof *rep->steps))) return hr_pipe_nomem(err, errlen);
    if (o->continuous) {
        if (!(t = malloc(m * sizeof *t))) return hr_pipe_nomem(err, errlen);
        for (size_t i = 0; i < m; i++) t[i] = r->ds->target[r->eval[i]];
    }
    hr_status st = HR_OK;
    for (size_t j = 0; j + 1 < k && st == HR_OK; j++) {
        const double *hyp = rep->res.heldout + j * m;
        st = o->continuous
                 ? hr_explain_bootstrap_continuous(r->ref, hyp, t, m, (int)o->bootstrap, o->seed,
                                                   HR_EXPLAIN_EPSILON, &rep->steps[j], err, errlen)
                 : hr_explain_bootstrap(r->ref, hyp, r->ye, m, (int)o->bootstrap, o->seed,
                                        HR_EXPLAIN_EPSILON, &rep->steps[j], err, errlen);
    }
    if (k > 0) rep->steps[k - 1] = rep->ratio;
    free(t);
    return st;
}

/* Keeps what the report shows beyond the run: option strings copied. */
static hr_status keep_options(hr_explain_report *rep, const hr_explain_run_options *o, char *err,
                              size_t errlen)
{
    int failed = 0;
    rep->opt = *o;
    const char **s[] = {&rep->opt.data_path, &rep->opt.label_field, &rep->opt.positive,
                        &rep->opt.score_field, &rep->opt.a_path, &rep->opt.b_path,
                        &rep->opt.hypotheses_path};
    for (size_t k = 0; k < sizeof s / sizeof *s; k++)
        *s[k] = hr_keep_string(&rep->strings, &rep->n_strings, *s[k], &failed);
    rep->opt.text_field = NULL;
    memset(&rep->opt.events, 0, sizeof rep->opt.events);
    return failed ? hr_pipe_nomem(err, errlen) : HR_OK;
}

hr_status hr_explain_run(const hr_explain_run_options *o, hr_embedder *emb,
                         hr_explain_report **out, char *err, size_t errlen)
{
    if (err && errlen) err[0] = '\0';
    if (!o || !emb || !out) return hr_fail(HR_ERR_INTERNAL, err, errlen, "hr_explain_run: NULL argument");
    *out = NULL;
    hr_status st = check_options(o, err, errlen);
    if (st != HR_OK) return st;
    hr_explain_run_options named; /* texts from memory: the corpus's name is the data's */
    if (o->corpus) {
        named = *o;
        named.data_path = o->corpus->path ? o->corpus->path : "texts";
        o = &named;
    }
    explain_run r;
    memset(&r, 0, sizeof r);
    r.o = o;
    r.ev = &o->events;
    r.emb = emb;
    if (!(r.rep = calloc(1, sizeof *r.rep))) return hr_pipe_nomem(err, errlen);
    hr_explain_report *rep = r.rep;
    r.ds = &rep->ds;
    if ((st = keep_options(rep, o, err, errlen)) || (st = hr_dataset_read(o, r.ds, err, errlen)) ||
        (st = split(&r, err, errlen)) || (st = make_pool(&r, err, errlen)))
        goto done;
    rep->n = r.ds->n;
    rep->m = r.m;
    for (size_t i = 0; i < r.ds->n; i++) rep->n_pos += r.ds->y[i];
    if ((rep->K = hr_pool_size(rep->pool)) == 0) {
        st = hr_fail(HR_ERR_INPUT, err, errlen, "no candidate hypotheses");
        goto done;
    }
    if (o->bank) strcat(rep->sources, "bank");
    if (o->ngrams) strcat(rep->sources, *rep->sources ? " + words" : "words");
    if (o->hypotheses_path) strcat(rep->sources, *rep->sources ? " + yours" : "yours");

    /* Embeddings of the evaluated texts and of the candidates. */
    const char **etexts = malloc(r.m * sizeof *etexts);
    size_t *elens = malloc(r.m * sizeof *elens);
    r.ye = malloc(r.m);
    r.ref = malloc(r.m * sizeof *r.ref);
    if (!etexts || !elens || !r.ye || !r.ref) {
        free(etexts), free(elens);
        st = hr_pipe_nomem(err, errlen);
        goto done;
    }
    for (size_t k = 0; k < r.m; k++) {
        etexts[k] = r.ds->texts[r.eval[k]];
        elens[k] = r.ds->lens[r.eval[k]];
        r.ye[k] = r.ds->y[r.eval[k]];
    }
    st = hr_pipe_embed_rows(emb, &r.X, &r.x_rows, etexts, elens, r.m, "embedding texts", r.ev, err,
                            errlen);
    free(etexts), free(elens);
    if (st != HR_OK ||
        (st = hr_pipe_embed_rows(emb, &r.H, &r.h_rows, hr_pool_texts(rep->pool),
                                 hr_pool_lens(rep->pool), rep->K, "embedding hypotheses", r.ev,
                                 err, errlen)) != HR_OK)
        goto done;
    r.dim = rep->dim = hr_embedder_dim(emb);
    int failed = 0;
    rep->encoder_model = hr_keep_string(&rep->strings, &rep->n_strings, hr_embedder_model(emb), &failed);
    rep->encoder_device = hr_keep_string(&rep->strings, &rep->n_strings, hr_embedder_device(emb), &failed);
    if (failed) {
        st = hr_pipe_nomem(err, errlen);
        goto done;
    }
    r.t0 = hr_pipe_now();
    if (!(r.F = malloc(r.m * rep->K * sizeof *r.F))) { /* (m, K) row-major */
        st = hr_pipe_nomem(err, errlen);
        goto done;
    }
    if ((st = hr_explain_features(r.X, r.m, r.H, rep->K, (int)r.dim, o->method, o->temperature,
                                  r.F, err, errlen)) != HR_OK)
        goto done;
    r.eo = hr_explain_default_options();
    r.eo.folds = (int)o->folds;
    r.eo.seed = o->seed;
    r.eo.top_k = (int)o->top_k;
    r.eo.max_candidates = (int)o->candidates;
    st = o->continuous ? run_continuous(&r, err, errlen) : run_binary(&r, err, errlen);
    if (st == HR_OK) st = step_ratios(&r, err, errlen);
    rep->seconds = hr_pipe_now() - r.t0;
    if (st == HR_OK) {
        *out = rep;
        r.rep = NULL;
    }
done:
    hr_explain_report_destroy(r.rep);
    free(r.is_prop), free(r.eval), free(r.ye), free(r.X), free(r.H), free(r.F), free(r.ref);
    return st;
}
