/* host/pipeline/describe.c: the describe pipeline (hyporank/describe.h). */
#include "hyporank/describe.h"
#include "core/random.h"
#include "core/threads.h"
#include "hyporank/findings.h"
#include "hyporank/geometry.h"
#include "hyporank/llm.h"
#include "hyporank/llm_propose.h"
#include "hyporank/probe.h"
#include "hyporank/proposers.h"
#include "hyporank/verify.h"
#include "hyporank/verify_ppi.h"
#include "discovery/verify_internal.h"
#include "pipeline/pipeline.h"
#include "scoring/score_methods.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Candidates that embed this close to an earlier one are merged into it:
 * wording variants ("is about the weather" / "is about weather", 0.98) go,
 * opposites ("is in English" / "is not in English", 0.90) stay. */
#define NEAR_DUPLICATE_COSINE 0.92

void hr_describe_options_init(hr_describe_options *o)
{
    memset(o, 0, sizeof *o);
    o->bank = o->ngrams = o->clusters = 1;
    o->ngrams_per_side = 25;
    o->holdout = 0.5;
    o->seed = 1;
    o->llm_rounds = 3;
    o->llm_samples = 15;
    o->verify_top = 10;
    o->verify_samples = 20;
    o->llm_timeout_s = 60;
    o->top = 10;
    o->examples = 2;
    o->alpha = 0.05;
    o->scorer = hr_scorer_default_options();
    o->scorer.method = HR_SCORE_COSINE; /* the AUROC of the similarity itself */
    o->device = HR_DEVICE_AUTO;
}

/* One side's texts as the pipeline sees them: a block of rows of the
 * embedding matrix X, in block order, which is the split's order. */
typedef struct side_view {
    const hr_corpus *c;
    size_t n;            /* texts (rows of the block) */
    size_t *row;         /* (n) the corpus row of each block row */
    size_t *at;          /* (n) the block row of each corpus row (row's inverse) */
    const char **texts;  /* (n) c->texts[row[r]]: views, not copies */
    size_t *lens;        /* (n) */
    size_t prop0, n_prop;   /* the proposal part: block rows [prop0, prop0 + n_prop) */
    size_t score0, n_score; /* the scoring part */
} side_view;

typedef struct describe_run {
    const hr_describe_options *o;
    const hr_events *ev;
    hr_embedder *emb;
    hr_report *rep;           /* built along; owns what rows point into */
    hr_corpus *own[3];        /* A, B, the caller's hypotheses, when read here */
    hr_hypothesis_pool *pool;
    side_view a, b;
    int ngrams, llm_propose, clusters; /* the proposers that run */
    /* X: (n_a + n_b, dim) row-major, laid out [A scoring | A proposal |
     * B proposal | B scoring] (A's block in a.row order, then B's): the
     * scorer's A and B inputs and the probe's proposal part (A's rows
     * first) are each one contiguous block, so no step copies rows. */
    float *X;
    size_t x_rows, dim;
    float *H;                 /* (h_rows, dim) the candidates' embeddings, in pool order;
                                 after merging, the kept ones first */
    size_t h_rows;
    double *dec;              /* (a.n_prop + b.n_prop) the probe's held-out decision
                                 values of the proposal part, A's rows first */
    hr_geometry_report *geo;
    hr_llm *llm;
    hr_pipe_llm_outcome llm_out; /* what the LLM work came to (it may fail; the run goes on) */
    size_t k, merged;         /* candidates kept, merged away */
    size_t *pidx;             /* (k) pool index of each kept candidate */
    hr_hypothesis_score *scores; /* (k) the similarity's AUROC (secondary) */
    hr_effect *effects;       /* (k) shares and effects (hyporank/findings.h) */
    hr_finding *findings;     /* (k) */
    size_t *order;            /* (k) kept candidates by rank: findings first */
    uint8_t *shown;           /* (k) by rank: the table shows it */
    hr_report_info *time;     /* rep's info: its seconds_* are added up along the run */
    size_t n_verify;
    size_t *judged;           /* (n_verify) the candidates judged: the first verify_top in
                                 rank order whose truth is not counted (a mentions "w"
                                 needs no judge) */
    hr_verify_result *vres;   /* (n_verify) one per judged candidate, in that order */
    hr_verify_ppi_stats vstats;
    size_t not_sent;          /* judge requests the budget refused */
    float *sim_tmp;           /* (max(n_a, n_b)) one side's similarities in block order */
    double price_prompt, price_completion; /* per million tokens, as used */
    const char *price_source; /* "given", a built-in entry's name, or NULL */
    size_t *ex_rows;          /* (k_shown * examples) corpus rows of each shown row's examples */
    size_t *ex_count;         /* (k) examples found per kept candidate (0 when not shown) */
    size_t *ex_first;         /* (k) where its examples start in ex_rows */
} describe_run;


static hr_status check_options(const hr_describe_options *o, char *err, size_t errlen)
{
    if (!o->corpus_a && !o->a_path) return hr_fail(HR_ERR_INPUT, err, errlen, "corpus A is required");
    if (!o->corpus_b && !o->b_path) return hr_fail(HR_ERR_INPUT, err, errlen, "corpus B is required");
    if (!o->bank && !o->ngrams && !o->hypotheses_path)
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "no candidates: without the bank and the n-grams, give hypotheses");
    if (!!o->llm_url != !!o->llm_model)
        return hr_fail(HR_ERR_INPUT, err, errlen, "the LLM's url and model go together");
    if (o->goal && strlen(o->goal) > HR_DESCRIBE_MAX_GOAL)
        return hr_fail(HR_ERR_INPUT, err, errlen, "the goal is %zu characters (at most %d)",
                       strlen(o->goal), HR_DESCRIBE_MAX_GOAL);
    if (o->ngrams_per_side < 1 || o->ngrams_per_side > 10000 || !(o->holdout >= 0.05) ||
        !(o->holdout <= 0.95) || o->llm_rounds < 0 || o->llm_rounds > 100 ||
        o->llm_samples < 1 || o->llm_samples > 200 || o->verify_top > 1000 ||
        o->verify_samples < 1 || o->verify_samples > 10000 || o->top < 1 ||
        o->examples > 100 || !(o->alpha > 0.0) || !(o->alpha <= 0.5) ||
        !(o->llm_timeout_s > 0 && o->llm_timeout_s <= 86400) ||
        !(o->llm_deadline_s >= 0 && o->llm_deadline_s <= 604800) ||
        o->verify_max_samples > 100000 || !(o->budget_usd >= 0) || !isfinite(o->budget_usd) ||
        !(o->price_prompt >= 0) || !(o->price_completion >= 0) || !isfinite(o->price_prompt) ||
        !isfinite(o->price_completion) || o->llm_context > 10000000 || o->llm_concurrency < 0 ||
        o->llm_concurrency > 256)
        return hr_fail(HR_ERR_INPUT, err, errlen, "describe: an option is out of its range "
                                                  "(hyporank/describe.h)");
    if (o->budget_usd > 0 && o->llm_model && o->price_prompt == 0 && o->price_completion == 0 &&
        !hr_llm_builtin_price(o->llm_model, NULL, NULL))
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "a budget in dollars needs the price of model '%s', which the built-in "
                       "table does not know: give it (--llm-price PROMPT,COMPLETION, dollars per "
                       "million tokens)", o->llm_model);
    return HR_OK;
}

/* hr_pipe_embed_rows, its time under the run's embedding. */
static hr_status embed_rows(describe_run *d, float **x, size_t *rows, const char *const *texts,
                           const size_t *lens, size_t n, const char *what, char *err,
                           size_t errlen)
{
    const double t0 = hr_pipe_now();
    const hr_status st = hr_pipe_embed_rows(d->emb, x, rows, texts, lens, n, what, d->ev, err,
                                            errlen);
    d->time->seconds_embed += hr_pipe_now() - t0;
    return st;
}

/* A phase of the run in wall time, less the embedding done inside it. */
typedef struct phase {
    double t0, embed0;
} phase;

static phase phase_start(const describe_run *d)
{
    return (phase){hr_pipe_now(), d->time->seconds_embed};
}

static void phase_end(const describe_run *d, phase p, double *seconds)
{
    *seconds += hr_pipe_now() - p.t0 - (d->time->seconds_embed - p.embed0);
}

/* Reads A, B and the caller's hypotheses; starts the pool. */
static hr_status read_inputs(describe_run *d, char *err, size_t errlen)
{
    const hr_describe_options *o = d->o;
    hr_corpus_options copt = {.text_field = o->text_field, .format = HR_FORMAT_AUTO};
    hr_status st;
    d->a.c = o->corpus_a;
    d->b.c = o->corpus_b;
    if (!d->a.c) {
        if ((st = hr_corpus_read(o->a_path, &copt, &d->own[0], err, errlen)) != HR_OK) return st;
        d->a.c = d->own[0];
    }
    if (!d->b.c) {
        if ((st = hr_corpus_read(o->b_path, &copt, &d->own[1], err, errlen)) != HR_OK) return st;
        d->b.c = d->own[1];
    }
    const hr_corpus *small = d->a.c->n < 2 ? d->a.c : (d->b.c->n < 2 ? d->b.c : NULL);
    if (small)
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "%s: only %zu text; describing a difference needs at least 2 texts on "
                       "each side (and a few hundred to find subtle ones)",
                       small->path ? small->path : (small == d->a.c ? "A" : "B"), small->n);
    if ((st = hr_pool_create(&d->pool, err, errlen)) != HR_OK) return st;
    if (o->hypotheses_path &&
        (st = hr_pipe_add_user_hypotheses(d->pool, o->hypotheses_path, &d->own[2], err, errlen)))
        return st;
    if (o->bank && (st = hr_pool_add_bank(d->pool, NULL, err, errlen)) != HR_OK) return st;
    return HR_OK;
}

/* Side s's block order: the proposal part (n_prop rows drawn at random)
 * and the scoring part (the rest), the scoring part first when
 * scoring_first (A) and last otherwise (B). */
static hr_status make_view(side_view *s, size_t n_prop, int scoring_first, const size_t *perm)
{
    const size_t n = s->c->n;
    s->n = n;
    s->row = malloc(n * sizeof *s->row);
    s->at = malloc(n * sizeof *s->at);
    s->texts = malloc(n * sizeof *s->texts);
    s->lens = malloc(n * sizeof *s->lens);
    if (!s->row || !s->at || !s->texts || !s->lens) return HR_ERR_NOMEM;
    s->n_prop = n_prop;
    s->n_score = n - n_prop;
    s->prop0 = scoring_first ? s->n_score : 0;
    s->score0 = scoring_first ? 0 : n_prop;
    /* perm: the rows, proposal part first */
    for (size_t i = 0; i < n_prop; i++) s->row[s->prop0 + i] = perm[i];
    for (size_t i = 0; i < s->n_score; i++) s->row[s->score0 + i] = perm[n_prop + i];
    for (size_t r = 0; r < n; r++) {
        s->at[s->row[r]] = r;
        s->texts[r] = s->c->texts[s->row[r]];
        s->lens[r] = s->c->lens[s->row[r]];
    }
    return HR_OK;
}

/* Splits rows [0, n) at random into a proposal part of round(n * share)
 * rows (at least 1) and a scoring part (at least 2; the rest).
 * perm: (n) the rows, proposal part first. Returns the proposal size. */
static size_t split_rows(size_t n, double share, uint64_t *state, size_t *perm)
{
    for (size_t i = 0; i < n; i++) perm[i] = i;
    hr_random_shuffle(state, perm, n);
    size_t k = (size_t)llround((double)n * share);
    if (k < 1) k = 1;
    if (k > n - 2) k = n - 2;
    return k;
}

/* The split: candidates from the data (words, the LLM) are found on the
 * proposal part and every candidate is scored on the rest, so that the
 * choice of candidates does not see the texts that test them. */
static hr_status split(describe_run *d, char *err, size_t errlen)
{
    const hr_describe_options *o = d->o;
    d->ngrams = o->ngrams;
    d->llm_propose = o->llm_url && o->llm_rounds > 0;
    d->clusters = o->clusters;
    if (!d->ngrams && !d->llm_propose) d->clusters = 0; /* no proposal part without them */
    if ((d->ngrams || d->llm_propose) && (d->a.c->n < 3 || d->b.c->n < 3)) {
        hr_pipe_event(d->ev, HR_EVENT_NOTE,
                      "note: too few texts to hold some out; candidates from the data (words, "
                      "LLM) left out");
        d->ngrams = d->llm_propose = d->clusters = 0;
    }
    const size_t na = d->a.c->n, nb = d->b.c->n;
    size_t *perm_a = malloc(na * sizeof *perm_a), *perm_b = malloc(nb * sizeof *perm_b);
    hr_status st = HR_OK;
    if (!perm_a || !perm_b) {
        st = hr_pipe_nomem(err, errlen);
    } else {
        size_t prop_na = 0, prop_nb = 0;
        if (d->ngrams || d->llm_propose) {
            uint64_t state = d->o->seed;
            prop_na = split_rows(na, o->holdout, &state, perm_a);
            prop_nb = split_rows(nb, o->holdout, &state, perm_b);
        } else {
            for (size_t i = 0; i < na; i++) perm_a[i] = i;
            for (size_t i = 0; i < nb; i++) perm_b[i] = i;
        }
        if (make_view(&d->a, prop_na, 1, perm_a) != HR_OK ||
            make_view(&d->b, prop_nb, 0, perm_b) != HR_OK)
            st = hr_pipe_nomem(err, errlen);
    }
    free(perm_a), free(perm_b);
    if (st == HR_OK && d->ngrams) {
        hr_ngram_options no = hr_ngram_default_options();
        no.top_k = o->ngrams_per_side;
        no.min_count = d->a.n_prop + d->b.n_prop < 2000 ? 3 : no.min_count;
        no.n_threads = o->n_threads;
        st = hr_pool_add_ngrams(d->pool, d->a.texts + d->a.prop0, d->a.lens + d->a.prop0,
                                d->a.n_prop, d->b.texts + d->b.prop0, d->b.lens + d->b.prop0,
                                d->b.n_prop, &no, NULL, err, errlen);
    }
    return st;
}

/* The LLM client of the run (proposer and judge), its answers cached with
 * the embeddings. */
static hr_status open_llm(describe_run *d, char *err, size_t errlen)
{
    hr_remote_options ro;
    hr_pipe_llm_options(&ro, d->o->llm_url, d->o->llm_model, hr_embedder_cache_path(d->emb),
                        d->o->llm_timeout_s, d->o->llm_deadline_s, d->ev);
    if (d->o->llm_concurrency > 0) ro.concurrency = d->o->llm_concurrency;
    ro.usd_per_mtok_prompt = d->price_prompt;
    ro.usd_per_mtok_completion = d->price_completion;
    hr_status st = hr_llm_create(&ro, &d->llm, err, errlen);
    if (st == HR_OK) hr_llm_set_budget(d->llm, d->o->max_requests, d->o->budget_usd);
    return st;
}

/* The prices the run uses: the caller's, else the built-in table's. */
static void pick_prices(describe_run *d)
{
    const hr_describe_options *o = d->o;
    if (o->price_prompt > 0 || o->price_completion > 0) {
        d->price_prompt = o->price_prompt;
        d->price_completion = o->price_completion;
        d->price_source = "given";
    } else {
        d->price_source = hr_llm_builtin_price(o->llm_model, &d->price_prompt,
                                               &d->price_completion);
    }
}

/* Texts each hypothesis gets judged per side at most. */
static size_t judge_max_samples(const hr_describe_options *o)
{
    if (o->verify_max_samples > 0)
        return o->verify_max_samples > o->verify_samples ? o->verify_max_samples
                                                         : o->verify_samples;
    return o->max_requests || o->budget_usd > 0 ? 10 * o->verify_samples : o->verify_samples;
}

/* The estimated cost of the LLM's part, as a note, before anything is
 * sent: prompt tokens at 4 bytes a token (typical English), the proposer's
 * answers at 400 tokens, the judge's at HR_VERIFY_EXPECT_TOKENS_*; the
 * judge's first round for verify_top hypotheses, and its most with rounds. */
static void cost_note(describe_run *d)
{
    const hr_describe_options *o = d->o;
    const side_view *sv[2] = {&d->a, &d->b};
    double avg[2];
    for (int s = 0; s < 2; s++) {
        double sum = 0;
        for (size_t r = 0; r < sv[s]->n; r++) {
            const size_t len = sv[s]->lens[r];
            sum += (double)(len < 4000 ? len : 4000); /* the judge's cut: 1000 code points */
        }
        avg[s] = sv[s]->n ? sum / (double)sv[s]->n : 0;
    }
    const double text = (avg[0] + avg[1]) / 2;
    hr_verify_options vo;
    hr_verify_options_init(&vo);
    vo.context_tokens = o->llm_context;
    size_t per = vo.texts_per_request, max_bytes;
    if (hr_verify_fit(&vo, "a hypothesis of about forty bytes, typical", (size_t)text, &per,
                      &max_bytes, NULL, 0) != HR_OK)
        per = 1;
    const double rounds = d->llm_propose ? (double)o->llm_rounds : 0;
    const double prop_prompt = rounds * (1500 + 2.0 * o->llm_samples * (text < 400 ? text : 400)) / 4;
    const double prop_answer = rounds * 400;
    const double k = (double)o->verify_top;
    const size_t m1 = o->verify_samples, mx = judge_max_samples(o);
    const double req1 = k * ceil(2.0 * (double)m1 / (double)per);
    const double reqx = k * ceil(2.0 * (double)mx / (double)per);
    const double req_prompt = (900 + (double)per * (text + 40)) / 4;
    const double req_answer = HR_VERIFY_EXPECT_TOKENS_BASE + HR_VERIFY_EXPECT_TOKENS_PER_TEXT * (double)per;
    const double prompt1 = prop_prompt + req1 * req_prompt, answer1 = prop_answer + req1 * req_answer;
    const double usd1 = (prompt1 * d->price_prompt + answer1 * d->price_completion) / 1e6;
    const double usdx = ((prop_prompt + reqx * req_prompt) * d->price_prompt +
                         (prop_answer + reqx * req_answer) * d->price_completion) / 1e6;
    char price[200], more[160] = "", caps[120] = "";
    if (!d->price_source)
        snprintf(price, sizeof price, "no price known for '%s' (a local model costs nothing; "
                 "--llm-price PROMPT,COMPLETION to estimate)", o->llm_model);
    else if (strcmp(d->price_source, "given") == 0)
        snprintf(price, sizeof price, "about $%.4f at your price ($%g / $%g per million tokens)",
                 usd1, d->price_prompt, d->price_completion);
    else
        snprintf(price, sizeof price, "about $%.4f at the built-in list price of %s ($%g / $%g "
                 "per million tokens; --llm-price to give yours)", usd1, d->price_source,
                 d->price_prompt, d->price_completion);
    if (mx > m1)
        snprintf(more, sizeof more, "; with the judge's further rounds up to %.0f requests",
                 rounds + reqx);
    if (mx > m1 && d->price_source)
        snprintf(more + strlen(more), sizeof more - strlen(more), ", $%.4f", usdx);
    if (o->max_requests)
        snprintf(caps, sizeof caps, "; capped at %zu requests", o->max_requests);
    if (o->budget_usd > 0)
        snprintf(caps + strlen(caps), sizeof caps - strlen(caps), "%s$%g",
                 o->max_requests ? " and " : "; capped at ", o->budget_usd);
    hr_pipe_event(d->ev, HR_EVENT_NOTE,
                  "LLM cost estimate, before anything is sent: about %.0f requests (%.0f "
                  "proposing, %.0f judging %zu texts a side), %.0f prompt + %.0f completion "
                  "tokens, %s%s%s",
                  rounds + req1, rounds, req1, m1, prompt1, answer1, price, more, caps);
}

/* The proposers that look at the proposal part through a probe: the texts
 * it finds most typical of each side (held-out decision values, stratified
 * k-fold, so that no text is judged by a probe that saw it) are clustered
 * (their nearest candidates and their own words) and shown to the LLM.
 * With too few texts to fold, the decision values are all 0. */
static hr_status propose_from_probe(describe_run *d, char *err, size_t errlen)
{
    const hr_describe_options *o = d->o;
    const size_t pa = d->a.n_prop, pb = d->b.n_prop, np = pa + pb, dim = d->dim;
    const float *xp = d->X + d->a.prop0 * dim; /* (np, dim): A's proposal rows, then B's */
    uint8_t *y = malloc(np ? np : 1);          /* (np) 1 for A */
    d->dec = malloc((np ? np : 1) * sizeof *d->dec);
    if (!y || !d->dec) {
        free(y);
        return hr_pipe_nomem(err, errlen);
    }
    for (size_t i = 0; i < np; i++) y[i] = i < pa;
    const size_t smaller = pa < pb ? pa : pb;
    const int folds = smaller >= 5 ? 5 : (int)smaller;
    hr_status st = HR_OK;
    if (folds >= 2) {
        hr_probe_options po = hr_probe_default_options();
        po.device = o->device; /* auto: the GPU for large fits */
        hr_probe_cv_result cv;
        st = hr_probe_cross_validate(xp, np, (int)dim, y, NULL, &po, folds, o->seed, d->dec, &cv,
                                     err, errlen);
        if (st == HR_OK)
            hr_pipe_event(d->ev, HR_EVENT_INFO,
                          "probe on %zu + %zu proposal texts: held-out AUROC %.3f", pa, pb,
                          cv.auroc);
    } else {
        for (size_t i = 0; i < np; i++) d->dec[i] = 0.0;
    }
    free(y);
    if (st != HR_OK) return st;

    const char *const *ta = d->a.texts + d->a.prop0, *const *tb = d->b.texts + d->b.prop0;
    const size_t *la = d->a.lens + d->a.prop0, *lb = d->b.lens + d->b.prop0;
    if (d->clusters) {
        /* The candidates so far, embedded once: H's first rows. */
        const size_t k0 = hr_pool_size(d->pool);
        if ((st = embed_rows(d, &d->H, &d->h_rows, hr_pool_texts(d->pool),
                             hr_pool_lens(d->pool), k0, "embedding hypotheses", err, errlen)) !=
            HR_OK)
            return st;
        hr_geometry_options go = hr_geometry_default_options();
        go.seed = o->seed;
        go.ngram.n_threads = o->n_threads;
        st = hr_geometry_propose(xp, d->dec, ta, la, pa, xp + pa * dim, d->dec + pa, tb, lb, pb,
                                 (int)dim, d->pool, d->H, k0, &go, &d->geo, err, errlen);
        if (st != HR_OK) return st;
    }
    if (d->llm_propose) {
        if ((st = open_llm(d, err, errlen)) != HR_OK) return st;
        hr_llm_propose_input in = {o->goal, o->description, (const char **)ta, la, pa, d->dec,
                                   (const char **)tb, lb, pb, d->dec + pa};
        hr_llm_propose_options lo = hr_llm_propose_default_options();
        lo.rounds = o->llm_rounds;
        lo.samples_per_side = o->llm_samples;
        hr_llm_propose_report rep;
        memset(&rep, 0, sizeof rep);
        size_t before = hr_pool_size(d->pool);
        st = hr_llm_propose(d->llm, &in, &lo, d->pool, &rep, err, errlen);
        d->llm_out.rounds = (size_t)o->llm_rounds;
        d->llm_out.rounds_usable = rep.answers_json + rep.answers_embedded + rep.answers_lines;
        if (hr_pipe_llm_survive(&d->llm_out, st)) st = HR_OK; /* on without it */
        else if (st == HR_OK)
            hr_pipe_event(d->ev, HR_EVENT_INFO, "the LLM proposed %zu new candidates in %d rounds",
                          hr_pool_size(d->pool) - before, o->llm_rounds);
    }
    return st;
}

static int from_data(hr_hyp_source s)
{
    return s == HR_SOURCE_NGRAM || s == HR_SOURCE_LLM;
}

/* Scores candidates h: (k, dim) into d->scores and d->effects from index
 * first on: the similarity's AUROC (the scorer) and the effect, on A's rows
 * xa: (n_a, dim) and B's xb: (n_b, dim). */
static hr_status score_group(describe_run *d, const float *xa, size_t n_a, const float *xb,
                             size_t n_b, const float *h, size_t k, size_t first, char *err,
                             size_t errlen)
{
    if (k == 0) return HR_OK;
    hr_scorer_options so = d->o->scorer;
    so.device = d->o->device;
    so.n_threads = d->o->n_threads;
    hr_scorer *scorer = NULL;
    hr_status st = hr_scorer_create(xa, n_a, xb, n_b, (int)d->dim, &so, &scorer, err, errlen);
    if (st == HR_OK)
        st = hr_scorer_score_effects(scorer, h, k, d->scores + first, d->effects + first, err,
                                     errlen);
    if (scorer) d->rep->info.scorer_device = hr_scorer_device(scorer);
    hr_scorer_destroy(scorer);
    return st;
}

/* Counts the kept candidates [first, k) written `mentions "w"` on the
 * texts they were scored on (hr_pipe_count_mentions): every text
 * (held_out 0) or the held-out part (1). */
static hr_status count_mentions(describe_run *d, size_t first, size_t k, int held_out, char *err,
                                size_t errlen)
{
    if (k <= first) return HR_OK;
    const char **ht = malloc((k - first) * sizeof *ht);
    size_t *hl = malloc((k - first) * sizeof *hl);
    if (!ht || !hl) {
        free(ht), free(hl);
        return hr_pipe_nomem(err, errlen);
    }
    for (size_t i = first; i < k; i++) {
        const hr_pool_entry *e = hr_pool_get(d->pool, d->pidx[i]);
        ht[i - first] = e->text, hl[i - first] = e->len;
    }
    const side_view *a = &d->a, *b = &d->b;
    const size_t a0 = held_out ? a->score0 : 0, b0 = held_out ? b->score0 : 0;
    hr_status st = hr_pipe_count_mentions(
        ht, hl, k - first, (const char *const *)a->texts + a0, a->lens + a0,
        held_out ? a->n_score : a->n, (const char *const *)b->texts + b0, b->lens + b0,
        held_out ? b->n_score : b->n, d->o->n_threads, d->effects + first, err, errlen);
    free(ht), free(hl);
    return st;
}

/* Embeds the candidates not embedded yet (H grows: those the proposers
 * added), merges near-duplicates into the first (compacting H in place:
 * the kept rows first, in pool order), scores the kept ones on the scoring
 * part and ranks them by strength. */
static hr_status score(describe_run *d, char *err, size_t errlen)
{
    const hr_describe_options *o = d->o;
    const size_t total = hr_pool_size(d->pool), dim = d->dim;
    if (total == 0) return hr_fail(HR_ERR_INPUT, err, errlen, "no candidate hypotheses to score");
    hr_status st = embed_rows(d, &d->H, &d->h_rows, hr_pool_texts(d->pool) + d->h_rows,
                              hr_pool_lens(d->pool) + d->h_rows, total - d->h_rows,
                              "embedding hypotheses", err, errlen);
    if (st != HR_OK) return st;
    double t0 = hr_pipe_now();
    uint8_t *keep = malloc(total); /* (total) 1: kept, 0: a near-duplicate */
    d->pidx = malloc(total * sizeof *d->pidx);
    if (!keep || !d->pidx) {
        free(keep);
        return hr_pipe_nomem(err, errlen);
    }
    size_t n_kept = 0;
    st = hr_near_duplicates(d->H, total, (int)dim, NEAR_DUPLICATE_COSINE, keep, &n_kept, err,
                            errlen);
    if (st == HR_OK) {
        for (size_t i = 0, w = 0; i < total; i++) {
            if (!keep[i]) continue;
            d->pidx[w] = i;
            if (w != i) memmove(d->H + w * dim, d->H + i * dim, dim * sizeof *d->H);
            w++;
        }
    }
    free(keep);
    if (st != HR_OK) return st;
    d->merged = total - n_kept;
    const size_t k = d->k = n_kept;

    /* The candidates that do not depend on the data (the caller's, the
     * bank) come first in the pool and are scored on every text (full
     * power); those drawn from the data (n-grams, clusters, LLM) follow and
     * are scored on the held-out part only. */
    size_t k_all = 0;
    while (k_all < k && !from_data(hr_pool_get(d->pool, d->pidx[k_all])->source)) k_all++;
    for (size_t i = k_all; i < k; i++)
        if (!from_data(hr_pool_get(d->pool, d->pidx[i])->source))
            return hr_fail(HR_ERR_INTERNAL, err, errlen,
                           "describe: the pool lists a candidate of the data before one of yours "
                           "or the bank's");
    d->scores = malloc(k * sizeof *d->scores);
    d->effects = malloc(k * sizeof *d->effects);
    d->findings = malloc(k * sizeof *d->findings);
    d->order = malloc(k * sizeof *d->order);
    d->shown = malloc(k);
    uint8_t *drawn = malloc(k);                         /* (k) 1: drawn from the data */
    uint8_t *held = malloc(d->a.n + d->b.n);            /* (n_a + n_b) 1: a held-out row */
    if (!d->scores || !d->effects || !d->findings || !d->order || !d->shown || !drawn || !held) {
        free(drawn), free(held);
        return hr_pipe_nomem(err, errlen);
    }
    for (size_t i = 0; i < k; i++) drawn[i] = i >= k_all;
    for (size_t r = 0; r < d->a.n; r++) held[r] = r >= d->a.score0 && r < d->a.score0 + d->a.n_score;
    for (size_t r = 0; r < d->b.n; r++)
        held[d->a.n + r] = r >= d->b.score0 && r < d->b.score0 + d->b.n_score;
    const float *xa_all = d->X, *xb_all = d->X + d->a.n * dim; /* (a.n, dim), (b.n, dim) */
    const float *xa = d->X + d->a.score0 * dim;                /* (a.n_score, dim) */
    const float *xb = d->X + (d->a.n + d->b.score0) * dim;     /* (b.n_score, dim) */
    const float *h_drawn = d->H + k_all * dim;
    st = score_group(d, xa_all, d->a.n, xb_all, d->b.n, d->H, k_all, 0, err, errlen);
    if (st == HR_OK)
        st = score_group(d, xa, d->a.n_score, xb, d->b.n_score, h_drawn, k - k_all, k_all, err,
                         errlen);
    if (st == HR_OK) st = count_mentions(d, 0, k_all, 0, err, errlen);
    if (st == HR_OK) st = count_mentions(d, k_all, k, 1, err, errlen);
    d->time->seconds_score = hr_pipe_now() - t0;
    t0 = hr_pipe_now();
    if (st == HR_OK) st = hr_pipe_auroc_qvalues(d->scores, k, err, errlen);
    if (st == HR_OK) st = hr_effect_qvalues(d->effects, k, err, errlen);
    if (st == HR_OK) {
        hr_findings_input fin = {xa_all, xb_all, d->a.n, d->b.n, (int)dim, held, held + d->a.n,
                                 d->H, k, drawn};
        hr_findings_options fo = hr_findings_default_options();
        fo.alpha = o->alpha;
        fo.seed = o->seed;
        fo.n_threads = o->n_threads;
        size_t n_found;
        st = hr_findings_select(&fin, &fo, d->effects, d->findings, &n_found, err, errlen);
    }
    free(drawn), free(held);
    if (st == HR_OK) st = hr_pipe_rank_order(d->effects, d->findings, k, d->order, err, errlen);
    if (st == HR_OK) hr_pipe_shown(d->effects, d->findings, d->order, k, o->top, 1, d->shown);
    d->time->seconds_findings = hr_pipe_now() - t0;
    return st;
}

/* The judge's similarities: h . x of the candidate at rank j over every
 * text of each side, in corpus row order (from the rows of X where they
 * are). */
static hr_status judge_sims(void *user, size_t j, float *s_a, float *s_b, char *err,
                            size_t errlen)
{
    (void)err, (void)errlen;
    const describe_run *d = user;
    const float *h = d->H + d->judged[j] * d->dim;
    const side_view *sv[2] = {&d->a, &d->b};
    float *out[2] = {s_a, s_b};
    for (int s = 0; s < 2; s++) {
        const float *block = d->X + (s ? d->a.n : 0) * d->dim; /* (n, dim) in block order */
        hr_similarities(h, 1, block, sv[s]->n, (int)d->dim, d->sim_tmp);
        for (size_t row = 0; row < sv[s]->n; row++) out[s][row] = d->sim_tmp[sv[s]->at[row]];
    }
    return HR_OK;
}

/* The judge: the strongest differences, in rounds, with prediction-powered
 * estimates from every text's similarity. */
static hr_status judge(describe_run *d, char *err, size_t errlen)
{
    const hr_describe_options *o = d->o;
    hr_status st;
    if (!d->llm && (st = open_llm(d, err, errlen)) != HR_OK) return st;
    if (!(d->judged = malloc((o->verify_top ? o->verify_top : 1) * sizeof *d->judged)))
        return hr_pipe_nomem(err, errlen);
    size_t n = 0;
    for (size_t r = 0; r < d->k && n < o->verify_top; r++)
        if (!d->effects[d->order[r]].counted) d->judged[n++] = d->order[r];
    d->n_verify = n;
    if (n == 0) return HR_OK;
    const size_t ma = o->verify_samples < d->a.c->n ? o->verify_samples : d->a.c->n;
    const size_t mb = o->verify_samples < d->b.c->n ? o->verify_samples : d->b.c->n;
    d->llm_out.verdicts = n * (ma + mb); /* the first round's; the rounds' once run */
    if (d->llm_out.stop != HR_OK) return HR_OK; /* the endpoint already failed: ask nothing more */
    const char **vtexts = malloc(n * sizeof *vtexts);
    hr_effect *screens = malloc(n * sizeof *screens);
    signed char *dir = malloc(n);
    size_t *unusable = calloc(n, sizeof *unusable);
    d->vres = calloc(n, sizeof *d->vres);
    d->sim_tmp = malloc((d->a.n > d->b.n ? d->a.n : d->b.n) * sizeof *d->sim_tmp);
    if (!vtexts || !screens || !dir || !unusable || !d->vres || !d->sim_tmp) {
        free(vtexts), free(screens), free(dir), free(unusable);
        return hr_pipe_nomem(err, errlen);
    }
    for (size_t r = 0; r < n; r++) {
        const size_t i = d->judged[r];
        vtexts[r] = hr_pool_get(d->pool, d->pidx[i])->text;
        screens[r] = d->effects[i];
        dir[r] = d->effects[i].z > 0.0 ? 1 : -1;
    }
    hr_verify_options vo;
    hr_verify_options_init(&vo);
    vo.seed = o->seed;
    vo.context_tokens = o->llm_context;
    hr_verify_llm_judge_data jd = {.llm = d->llm,
                                   .hypotheses = vtexts,
                                   .texts_a = (const char *const *)d->a.c->texts,
                                   .lens_a = d->a.c->lens,
                                   .texts_b = (const char *const *)d->b.c->texts,
                                   .lens_b = d->b.c->lens,
                                   .verify = &vo,
                                   .unusable_by = unusable};
    hr_verify_ppi_options po = hr_verify_ppi_default_options();
    po.batch = o->verify_samples;
    po.max_per_side = judge_max_samples(o);
    po.seed = o->seed;
    hr_verify_ppi_input in = {n,          d->a.c->n, d->b.c->n,           screens, dir,
                              judge_sims, d,         hr_verify_llm_judge, &jd};
    if (po.max_per_side > po.batch)
        hr_pipe_event(d->ev, HR_EVENT_INFO,
                      "judging %zu hypotheses with %s in rounds of %zu + %zu texts, up to %zu a side",
                      n, o->llm_model, o->verify_samples, o->verify_samples, po.max_per_side);
    else
        hr_pipe_event(d->ev, HR_EVENT_INFO, "judging %zu hypotheses on %zu + %zu texts with %s", n,
                      o->verify_samples, o->verify_samples, o->llm_model);
    st = hr_verify_ppi_run(&in, &po, d->vres, &d->vstats, err, errlen);
    for (size_t r = 0; st == HR_OK && r < n; r++) d->vres[r].unusable = unusable[r];
    d->not_sent = jd.not_sent;
    if (st == HR_OK && jd.failed)
        hr_pipe_event(d->ev, HR_EVENT_NOTE,
                      "note: %zu judge request%s failed (their texts have no verdict); the first "
                      "said: %s%s",
                      jd.failed, jd.failed == 1 ? "" : "s", jd.first_error,
                      strstr(jd.first_error, "context") && !o->llm_context
                          ? " (give the model's context length: --llm-context N)"
                          : "");
    if (st == HR_OK && d->vstats.budget_stopped)
        hr_pipe_event(d->ev, HR_EVENT_NOTE,
                      "note: the LLM budget ended the judge's rounds after %zu round%s; hypotheses "
                      "not settled keep the intervals of the texts judged so far",
                      d->vstats.rounds, d->vstats.rounds == 1 ? "" : "s");
    free(vtexts), free(screens), free(dir), free(unusable);
    if (st == HR_OK) {
        d->llm_out.verdicts = d->vstats.texts;
        d->llm_out.verdicts_given = d->vstats.texts - d->vstats.missing;
    }
    if (hr_pipe_llm_survive(&d->llm_out, st)) {
        free(d->vres); /* no verdicts to show */
        d->vres = NULL;
        st = HR_OK;
    }
    return st;
}

/* One worker's share of the examples' pass over a side: the best texts of
 * each candidate of the block among the tiles it saw. */
typedef struct example_part {
    size_t b, n_ex;
    const size_t *row; /* (side's n) the corpus row of each block row */
    float *score;      /* (b, n_ex) */
    size_t *best;      /* (b, n_ex) corpus rows */
    size_t *have;      /* (b) */
} example_part;

static void example_tile(void *state, const float *S, size_t t0, size_t nt)
{
    example_part *w = state;
    for (size_t j = 0; j < w->b; j++)
        for (size_t x = 0; x < nt; x++)
            hr_top_keep(w->score + j * w->n_ex, w->best + j * w->n_ex, &w->have[j], w->n_ex,
                        S[j * nt + x], w->row[t0 + x]);
}

/* Examples: for the rows shown (the first top of each direction), the texts
 * of their side, all of them, whose similarity to the candidate is highest
 * (equal ones by corpus row). The candidates of a direction are taken
 * EXAMPLE_BLOCK at a time, their side's texts a tile at a time on the cores
 * (hr_pipe_similarity_tiles): the side is read once a block, not once a
 * row, and the lists are the same on any number of cores. */
#define EXAMPLE_BLOCK 64
static hr_status pick_examples(describe_run *d, char *err, size_t errlen)
{
    const hr_describe_options *o = d->o;
    const size_t k = d->k, n_ex = o->examples, dim = d->dim;
    const int workers = hr_similarities_workers(o->n_threads); /* <= HR_MAX_WORKERS */
    d->ex_count = calloc(k, sizeof *d->ex_count);
    d->ex_first = calloc(k, sizeof *d->ex_first);
    const size_t rows_shown = k < 2 * o->top ? k : 2 * o->top; /* at most top each way */
    d->ex_rows = malloc((rows_shown * n_ex + 1) * sizeof *d->ex_rows);
    size_t *cand = malloc(EXAMPLE_BLOCK * sizeof *cand);             /* (block) */
    float *hb = malloc(EXAMPLE_BLOCK * dim * sizeof *hb);           /* (block, dim) */
    example_part *parts = malloc(HR_MAX_WORKERS * sizeof *parts);
    const size_t per = EXAMPLE_BLOCK * n_ex + 1;                    /* a worker's lists */
    float *score = malloc((size_t)workers * per * sizeof *score);   /* (workers, block, n_ex) */
    size_t *best = malloc((size_t)workers * per * sizeof *best);    /* (workers, block, n_ex) */
    size_t *have = malloc((size_t)workers * EXAMPLE_BLOCK * sizeof *have); /* (workers, block) */
    float *merged = malloc(per * sizeof *merged);                    /* (n_ex) */
    hr_status st = HR_OK;
    if (!d->ex_count || !d->ex_first || !d->ex_rows || !cand || !hb || !parts || !score || !best ||
        !have || !merged) {
        st = hr_pipe_nomem(err, errlen);
        goto done;
    }
    size_t used = 0;
    for (int dir = 0; dir < 2 && n_ex > 0; dir++) {
        const side_view *s = dir ? &d->b : &d->a;
        const float *block = d->X + (dir ? d->a.n : 0) * dim; /* (s->n, dim) */
        for (size_t r = 0; r < k;) {
            size_t b = 0;
            for (; r < k && b < EXAMPLE_BLOCK; r++) {
                const size_t i = d->order[r];
                if (!d->shown[r] || (d->effects[i].z > 0.0 ? 0 : 1) != dir) continue;
                cand[b] = i;
                memcpy(hb + b * dim, d->H + i * dim, dim * sizeof *hb);
                b++;
            }
            if (b == 0) break;
            for (int t = 0; t < workers; t++) {
                parts[t] = (example_part){b, n_ex, s->row, score + (size_t)t * per,
                                          best + (size_t)t * per, have + (size_t)t * EXAMPLE_BLOCK};
                memset(parts[t].have, 0, b * sizeof *have);
            }
            if ((st = hr_pipe_similarity_tiles(hb, b, block, s->n, dim, workers, example_tile,
                                               parts, sizeof *parts)) != HR_OK) {
                st = hr_pipe_nomem(err, errlen);
                goto done;
            }
            for (size_t j = 0; j < b; j++) { /* the workers' lists into one */
                const size_t i = cand[j];
                d->ex_first[i] = used;
                for (int t = 0; t < workers; t++)
                    for (size_t e = 0; e < parts[t].have[j]; e++)
                        hr_top_keep(merged, d->ex_rows + used, &d->ex_count[i], n_ex,
                                    parts[t].score[j * n_ex + e], parts[t].best[j * n_ex + e]);
                used += d->ex_count[i];
            }
        }
    }
done:
    free(cand), free(hb), free(parts), free(score), free(best), free(have), free(merged);
    return st;
}

static const char *sources_text(const describe_run *d, char *out, size_t len)
{
    const char *names[5] = {d->o->hypotheses_path ? "yours" : NULL, d->o->bank ? "bank" : NULL,
                            d->ngrams ? "words" : NULL, d->clusters ? "clusters" : NULL,
                            d->llm_propose ? (d->llm_out.rounds_usable ? "LLM" : "LLM (failed)")
                                           : NULL};
    out[0] = '\0';
    for (int n = 0; n < 5; n++)
        if (names[n])
            snprintf(out + strlen(out), len - strlen(out), "%s%s", out[0] ? " + " : "", names[n]);
    return out;
}

/* Moves what the rows point into to the report and fills it in. */
static hr_status build_report(describe_run *d, char *err, size_t errlen)
{
    const hr_describe_options *o = d->o;
    hr_report *rep = d->rep;
    hr_report_info *in = &rep->info;
    int failed = 0;
    char sources[64];
    in->n_a = d->a.c->n;
    in->n_b = d->b.c->n;
    in->a_path = hr_report_keep(rep, o->corpus_a ? d->a.c->path : o->a_path, &failed);
    in->b_path = hr_report_keep(rep, o->corpus_b ? d->b.c->path : o->b_path, &failed);
    in->encoder_model = hr_report_keep(rep, hr_embedder_model(d->emb), &failed);
    in->encoder_model_id = hr_report_keep(rep, hr_embedder_model_id(d->emb), &failed);
    in->dim = d->dim;
    in->encoder_device = hr_report_keep(rep, hr_embedder_device(d->emb), &failed);
    in->method = o->scorer.method;
    in->temperature = o->scorer.temperature > 0 ? o->scorer.temperature
                                                : HR_SCORER_DEFAULT_TEMPERATURE;
    in->top = o->top;
    in->goal = hr_report_keep(rep, o->goal, &failed);
    in->n_candidates = d->k;
    in->merged = d->merged;
    in->candidate_sources = hr_report_keep(rep, sources_text(d, sources, sizeof sources), &failed);
    in->scored_a = d->a.n_score;
    in->scored_b = d->b.n_score;
    in->proposal_a = d->a.n_prop;
    in->proposal_b = d->b.n_prop;
    in->seed = o->seed;
    in->alpha = o->alpha;
    in->scored_all_a = d->a.n;
    in->scored_all_b = d->b.n;
    in->examples = o->examples;
    if (d->llm) {
        in->has_llm = 1;
        in->llm_model = hr_report_keep(rep, o->llm_model, &failed);
        in->llm_url = hr_report_keep(rep, hr_llm_url(d->llm), &failed);
        in->llm_totals = hr_llm_totals(d->llm);
        in->verify_samples = o->verify_samples;
        in->verdicts_missing = d->llm_out.verdicts - d->llm_out.verdicts_given;
        if (hr_pipe_llm_report(rep, &d->llm_out, d->llm) != HR_OK) failed = 1;
        in->verify_max_samples = judge_max_samples(o);
        in->verify_rounds = d->vstats.rounds;
        in->budget_stopped = d->vstats.budget_stopped;
        in->max_requests = o->max_requests;
        in->budget_usd = o->budget_usd;
        in->spent_usd = hr_llm_spent_usd(d->llm);
        in->price_prompt = d->price_prompt;
        in->price_completion = d->price_completion;
        in->price_source = d->price_source;
        in->requests_not_sent = d->not_sent;
        in->llm_context = o->llm_context;
        in->texts_judged = d->vstats.texts;
    }
    if (failed) return hr_pipe_nomem(err, errlen);

    /* The texts of examples and clusters: pointer and length arrays. */
    const hr_geometry_report *g = d->geo;
    size_t n_texts = 0;
    for (size_t i = 0; i < d->k; i++) n_texts += d->ex_count[i];
    for (size_t c = 0; g && c < g->n_clusters; c++)
        n_texts += g->clusters[c].n_offers + (g->clusters[c].size < 3 ? g->clusters[c].size : 3);
    rep->texts = malloc((n_texts + 1) * sizeof *rep->texts);
    rep->lens = malloc((n_texts + 1) * sizeof *rep->lens);
    rep->rows = calloc(d->k ? d->k : 1, sizeof *rep->rows);
    if (g) rep->clusters = calloc(g->n_clusters ? g->n_clusters : 1, sizeof *rep->clusters);
    if (!rep->texts || !rep->lens || !rep->rows || (g && !rep->clusters)) return hr_pipe_nomem(err, errlen);
    size_t t = 0;
    for (size_t c = 0; g && c < g->n_clusters; c++) {
        const hr_geometry_cluster *gc = &g->clusters[c];
        hr_report_cluster *rc = &rep->clusters[c];
        const side_view *s = gc->side == 'A' ? &d->a : &d->b;
        rc->side = gc->side;
        rc->number = gc->index + 1;
        rc->size = gc->size;
        rc->words_added = gc->ngrams_added;
        rc->nearest = rep->texts + t;
        rc->nearest_lens = rep->lens + t;
        rc->n_nearest = gc->n_offers;
        for (size_t k = 0; k < gc->n_offers; k++, t++) {
            const hr_pool_entry *e = hr_pool_get(d->pool, g->offers[gc->first_offer + k].pool_index);
            rep->texts[t] = e->text;
            rep->lens[t] = e->len;
        }
        rc->examples = rep->texts + t;
        rc->n_examples = gc->size < 3 ? gc->size : 3;
        for (size_t m = 0; m < rc->n_examples; m++, t++) {
            /* members: rows of the side's proposal part */
            rep->texts[t] = s->texts[s->prop0 + gc->members[m]];
            rep->lens[t] = s->lens[s->prop0 + gc->members[m]];
        }
    }
    if (g) {
        in->clusters = rep->clusters;
        in->n_clusters = g->n_clusters;
    }
    size_t *verify_of = NULL; /* (k) rank of each judged candidate among the judged, or SIZE_MAX */
    if (d->vres) {
        if (!(verify_of = malloc(d->k * sizeof *verify_of))) return hr_pipe_nomem(err, errlen);
        for (size_t i = 0; i < d->k; i++) verify_of[i] = SIZE_MAX;
        for (size_t r = 0; r < d->n_verify; r++) verify_of[d->judged[r]] = r;
        rep->verifications = d->vres;
        d->vres = NULL;
    }
    for (size_t r = 0; r < d->k; r++) {
        const size_t i = d->order[r];
        const hr_pool_entry *e = hr_pool_get(d->pool, d->pidx[i]);
        hr_report_row *row = &rep->rows[r];
        row->rank = r + 1;
        row->index = d->pidx[i];
        row->text = e->text;
        row->len = e->len;
        row->source = e->source;
        row->note = e->note;
        row->score = d->scores[i];
        row->direction = d->effects[i].z > 0.0 ? 'A' : 'B';
        row->duplicate_of = -1;
        if (verify_of && verify_of[i] != SIZE_MAX) row->verification = &rep->verifications[verify_of[i]];
        const side_view *s = row->direction == 'A' ? &d->a : &d->b;
        row->n_examples = d->ex_count[i];
        row->examples = rep->texts + t;
        row->example_lens = rep->lens + t;
        for (size_t x = 0; x < d->ex_count[i]; x++, t++) {
            const size_t c = d->ex_rows[d->ex_first[i] + x];
            rep->texts[t] = s->c->texts[c];
            rep->lens[t] = s->c->lens[c];
        }
    }
    free(verify_of);
    rep->n_rows = d->k;
    hr_status st = hr_pipe_report_findings(rep, d->order, d->effects, d->findings, o->alpha,
                                           d->shown, err, errlen);
    if (st != HR_OK) return st;
    /* The texts rows point into stay with the report. */
    for (int c = 0; c < 3; c++) rep->corpora[c] = d->own[c], d->own[c] = NULL;
    rep->pool = d->pool;
    d->pool = NULL;
    return HR_OK;
}

/* The page's plots of the rows shown: on all texts, or for candidates drawn
 * from the data on the held-out part, as their effects. */
static hr_status report_plots(describe_run *d, char *err, size_t errlen)
{
    const size_t dim = d->dim;
    const side_view *a = &d->a, *b = &d->b;
    const hr_pipe_side_rows all[2] = {{d->X, a->n, a->texts, a->lens},
                                      {d->X + a->n * dim, b->n, b->texts, b->lens}};
    const hr_pipe_side_rows held[2] = {
        {d->X + a->score0 * dim, a->n_score, a->texts + a->score0, a->lens + a->score0},
        {d->X + (a->n + b->score0) * dim, b->n_score, b->texts + b->score0, b->lens + b->score0}};
    size_t *h_row = malloc((d->k + 1) * sizeof *h_row); /* (k) by rank: its row of H */
    uint8_t *on_held = malloc(d->k + 1);                /* (k) by rank */
    hr_status st = HR_OK;
    if (!h_row || !on_held) st = hr_pipe_nomem(err, errlen);
    for (size_t r = 0; st == HR_OK && r < d->k; r++) {
        h_row[r] = d->order[r];
        on_held[r] = from_data(d->rep->rows[r].source);
    }
    if (st == HR_OK)
        st = hr_pipe_report_plots(d->rep, d->H, dim, h_row, all, held, on_held, d->o->n_threads,
                                  err, errlen);
    free(h_row), free(on_held);
    return st;
}

static void side_free(side_view *s)
{
    free(s->row), free(s->at), free(s->texts), free(s->lens);
}

hr_status hr_describe_run(const hr_describe_options *o, hr_embedder *emb, hr_report **out,
                          char *err, size_t errlen)
{
    if (err && errlen) err[0] = '\0';
    if (!o || !emb || !out) return hr_fail(HR_ERR_INTERNAL, err, errlen, "hr_describe_run: NULL argument");
    *out = NULL;
    hr_status st = check_options(o, err, errlen);
    if (st != HR_OK) return st;
    describe_run d;
    memset(&d, 0, sizeof d);
    d.o = o;
    d.ev = &o->events;
    d.emb = emb;
    if (!(d.rep = hr_report_new(HR_REPORT_DESCRIBE))) return hr_pipe_nomem(err, errlen);
    d.time = &d.rep->info;

    /* Inputs, all read before any slow work; then the split and the n-grams. */
    phase p = phase_start(&d);
    st = read_inputs(&d, err, errlen);
    phase_end(&d, p, &d.time->seconds_read);
    if (st != HR_OK) goto done;
    p = phase_start(&d);
    st = split(&d, err, errlen);
    phase_end(&d, p, &d.time->seconds_propose);
    if (st != HR_OK) goto done;
    if (o->llm_url) {
        pick_prices(&d);
        cost_note(&d);
    }

    /* A and B, embedded once, each in its block's order (X's layout). */
    if ((st = embed_rows(&d, &d.X, &d.x_rows, d.a.texts, d.a.lens, d.a.n, "embedding A", err,
                         errlen)) ||
        (st = embed_rows(&d, &d.X, &d.x_rows, d.b.texts, d.b.lens, d.b.n, "embedding B", err,
                         errlen)))
        goto done;
    d.dim = hr_embedder_dim(emb);

    p = phase_start(&d);
    if (d.a.n_prop + d.b.n_prop > 0 && (d.clusters || d.llm_propose))
        st = propose_from_probe(&d, err, errlen);
    phase_end(&d, p, &d.time->seconds_propose);
    if (st != HR_OK || (st = score(&d, err, errlen)) != HR_OK) goto done;
    p = phase_start(&d);
    if (o->llm_url && o->verify_top > 0) st = judge(&d, err, errlen);
    phase_end(&d, p, &d.time->seconds_judge);
    if (st != HR_OK) goto done;
    p = phase_start(&d);
    if ((st = pick_examples(&d, err, errlen)) == HR_OK &&
        (st = build_report(&d, err, errlen)) == HR_OK)
        st = report_plots(&d, err, errlen);
    phase_end(&d, p, &d.time->seconds_report);
    if (st != HR_OK) goto done;
    *out = d.rep;
    d.rep = NULL;
done:
    hr_report_destroy(d.rep);
    for (int c = 0; c < 3; c++) hr_corpus_destroy(d.own[c]);
    hr_pool_destroy(d.pool);
    side_free(&d.a), side_free(&d.b);
    free(d.X), free(d.H), free(d.dec);
    hr_geometry_report_destroy(d.geo);
    hr_llm_destroy(d.llm);
    free(d.pidx), free(d.scores), free(d.effects), free(d.findings), free(d.order), free(d.shown);
    free(d.vres), free(d.judged), free(d.sim_tmp);
    free(d.ex_rows), free(d.ex_count), free(d.ex_first);
    return st;
}
