/*
 * host/discovery/verify_ppi.c: the judge in rounds with prediction-powered
 * estimates (hyporank/verify_ppi.h has the design), and the LLM judge that
 * answers its rounds.
 *
 * State per hypothesis j: the number of its batches judged, and the
 * verdicts of the texts at positions 0.. of each side's order (y_a, y_b:
 * (k, cap_a) and (k, cap_b) row-major). After a round the hypotheses that
 * got new verdicts are estimated again (their similarities fetched once
 * each); the settling rules then look at every hypothesis's interval of V.
 */
#include "hyporank/verify_ppi.h"
#include "core/random.h"
#include "core/util.h"
#include "discovery/verify_internal.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BATCH ((size_t)100000)

enum { STREAM_ORDER_A = 11, STREAM_ORDER_B = 12 };

hr_verify_ppi_options hr_verify_ppi_default_options(void)
{
    hr_verify_ppi_options o;
    o.batch = 20;
    o.max_per_side = 0;
    o.seed = 1;
    o.room = 1.0;
    o.ppi = hr_ppi_default_options();
    return o;
}

static uint64_t stream(uint64_t seed, uint64_t id)
{
    uint64_t r = seed ^ (id * 0xd1b54a32d192ed03ULL);
    hr_splitmix64(&r);
    return r;
}

/* A seeded order of 0..n-1: malloc'ed (n). */
static size_t *order_of(size_t n, uint64_t seed, uint64_t id)
{
    size_t *p = malloc((n ? n : 1) * sizeof *p);
    if (!p) return NULL;
    for (size_t i = 0; i < n; i++) p[i] = i;
    uint64_t r = stream(seed, id);
    hr_random_shuffle(&r, p, n);
    return p;
}

typedef struct run_state {
    const hr_verify_ppi_input *in;
    const hr_verify_ppi_options *o;
    size_t cap_a, cap_b;      /* positions of each side a hypothesis may reach */
    size_t *order_a, *order_b;/* (n_a), (n_b) */
    size_t *batches;          /* (k) batches judged */
    signed char *y_a, *y_b;   /* (k, cap_a), (k, cap_b) verdicts by position */
    unsigned char *fold_a, *fold_b; /* (cap_a), (cap_b) position mod K */
    float *s_a, *s_b;         /* (n_a), (n_b) one hypothesis's similarities */
    float *score;             /* (cap_a + cap_b) scratch for the agreement */
    signed char *verdict;     /* (cap_a + cap_b) */
    float *scratch;           /* (cap_a + cap_b) */
} run_state;

/* Positions of a side judged after b batches. */
static size_t judged(const run_state *r, size_t b, size_t cap)
{
    const size_t p = b * r->o->batch;
    return p < cap ? p : cap;
}

/* Estimates hypothesis j from its verdicts so far into res. */
static hr_status estimate(run_state *r, size_t j, hr_verify_result *res, char *err, size_t errlen)
{
    const hr_verify_ppi_input *in = r->in;
    const size_t ma = judged(r, r->batches[j], r->cap_a), mb = judged(r, r->batches[j], r->cap_b);
    hr_status st = in->sim(in->sim_user, j, r->s_a, r->s_b, err, errlen);
    if (st != HR_OK) return st;
    const signed char *ya = r->y_a + j * r->cap_a, *yb = r->y_b + j * r->cap_b;
    hr_ppi_side a = {r->s_a, in->n_a, r->order_a, ya, r->fold_a, ma};
    hr_ppi_side b = {r->s_b, in->n_b, r->order_b, yb, r->fold_b, mb};
    hr_ppi_result p;
    if ((st = hr_ppi_estimate(&in->screens[j], &a, &b, &r->o->ppi, &p, err, errlen)) != HR_OK)
        return st;
    /* the labels alone: counts, Fisher's test, agreement of the similarity */
    hr_verify_counts(p.pos_a, p.n_a, p.pos_b, p.n_b, res, NULL, 0);
    res->n_a_missing = ma - p.n_a;
    res->n_b_missing = mb - p.n_b;
    for (size_t i = 0; i < ma; i++) r->score[i] = r->s_a[r->order_a[i]], r->verdict[i] = ya[i];
    for (size_t i = 0; i < mb; i++)
        r->score[ma + i] = r->s_b[r->order_b[i]], r->verdict[ma + i] = yb[i];
    if ((st = hr_verify_agreement(r->score, r->verdict, ma + mb, r->scratch, &res->agreement_auroc,
                                  err, errlen)) != HR_OK)
        return st;
    res->method = "ppi++";
    res->v = p.v;
    res->ci_low = p.v_low;
    res->ci_high = p.v_high;
    res->v_classical = p.v_classical;
    res->classical_ci_low = p.classical_low;
    res->classical_ci_high = p.classical_high;
    res->share_a = p.share_a;
    res->share_a_ci_low = p.share_a_low;
    res->share_a_ci_high = p.share_a_high;
    res->share_b = p.share_b;
    res->share_b_ci_low = p.share_b_low;
    res->share_b_ci_high = p.share_b_high;
    res->effective_labels = p.effective_labels;
    res->lambda = p.lambda;
    res->rounds = r->batches[j];
    return HR_OK;
}

/* Rule 1: 0 lies at least room half-widths outside [lo, hi]. */
static int excludes_zero(double lo, double hi, double room)
{
    const double half = (hi - lo) / 2;
    return (lo > 0 && lo >= room * half) || (hi < 0 && -hi >= room * half);
}

typedef struct ranked {
    size_t j;
    double v, lo, hi; /* in the hypothesis's expected direction */
} ranked;

static int cmp_ranked(const void *x, const void *y)
{
    const ranked *a = x, *b = y;
    if (a->v != b->v) return a->v > b->v ? -1 : 1;
    return a->j < b->j ? -1 : a->j > b->j;
}

typedef struct wide {
    size_t j;
    double width;
} wide;

static int cmp_wide(const void *x, const void *y)
{
    const wide *a = x, *b = y;
    if (a->width != b->width) return a->width > b->width ? -1 : 1;
    return a->j < b->j ? -1 : a->j > b->j;
}

/* The settling rules for every hypothesis (results[j].settled); open (k)
 * gets 1 for those that take another batch. Returns how many. */
static size_t settle(const run_state *r, hr_verify_result *res, ranked *rk, unsigned char *open)
{
    const hr_verify_ppi_input *in = r->in;
    size_t nr = 0;
    for (size_t j = 0; j < in->k; j++) {
        res[j].settled = 0;
        if (isnan(res[j].v)) continue;
        const int d = in->direction && in->direction[j] < 0 ? -1 : 1;
        rk[nr].j = j;
        rk[nr].v = d * res[j].v;
        rk[nr].lo = d > 0 ? res[j].ci_low : -res[j].ci_high;
        rk[nr].hi = d > 0 ? res[j].ci_high : -res[j].ci_low;
        if (excludes_zero(res[j].ci_low, res[j].ci_high, r->o->room)) res[j].settled = 1;
        nr++;
    }
    qsort(rk, nr, sizeof *rk, cmp_ranked);
    for (size_t p = 0; p < nr && nr > 1; p++) {
        const int above = p == 0 || rk[p].hi < rk[p - 1].lo;
        const int below = p + 1 == nr || rk[p].lo > rk[p + 1].hi;
        if (above && below && !res[rk[p].j].settled) res[rk[p].j].settled = 2;
    }
    size_t n_open = 0;
    for (size_t j = 0; j < in->k; j++) {
        const int full = judged(r, r->batches[j], r->cap_a) >= r->cap_a &&
                         judged(r, r->batches[j], r->cap_b) >= r->cap_b;
        open[j] = !res[j].settled && !full;
        n_open += open[j];
    }
    return n_open;
}

static hr_status check(const hr_verify_ppi_input *in, const hr_verify_ppi_options *o, char *err,
                       size_t errlen)
{
    if (!in || in->k < 1 || in->n_a < 1 || in->n_b < 1 || !in->screens || !in->sim || !in->judge)
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "verify: the rounds need hypotheses, texts on both sides, their "
                       "calibrations, similarities and a judge");
    if (o->ppi.folds < 2 || o->ppi.folds > HR_PPI_MAX_FOLDS)
        return hr_fail(HR_ERR_INPUT, err, errlen, "verify: %d folds (2..%d)", o->ppi.folds,
                       HR_PPI_MAX_FOLDS);
    if (o->batch < 1 || o->batch > MAX_BATCH || !(o->room >= 0) || !isfinite(o->room))
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "verify: batch %zu (1..%zu) or room %g (>= 0) out of range", o->batch,
                       MAX_BATCH, o->room);
    return HR_OK;
}

hr_status hr_verify_ppi_run(const hr_verify_ppi_input *in, const hr_verify_ppi_options *opt,
                            hr_verify_result *results, hr_verify_ppi_stats *stats, char *err,
                            size_t errlen)
{
    hr_verify_ppi_options o = opt ? *opt : hr_verify_ppi_default_options();
    hr_verify_ppi_stats st;
    memset(&st, 0, sizeof st);
    if (stats) *stats = st;
    if (!results) return hr_fail(HR_ERR_INTERNAL, err, errlen, "verify: no place for results");
    hr_status s = check(in, &o, err, errlen);
    if (s != HR_OK) return s;
    memset(results, 0, in->k * sizeof *results);
    const size_t k = in->k, cap = o.max_per_side > o.batch ? o.max_per_side : o.batch;
    run_state r;
    memset(&r, 0, sizeof r);
    r.in = in;
    r.o = &o;
    r.cap_a = cap < in->n_a ? cap : in->n_a;
    r.cap_b = cap < in->n_b ? cap : in->n_b;
    const size_t K = (size_t)o.ppi.folds;
    hr_verify_ppi_ask *asks = NULL;  /* (k) one round's asks */
    ranked *rk = NULL;               /* (k) */
    wide *wd = NULL;                 /* (k) */
    unsigned char *open = NULL;      /* (k) takes another batch */
    unsigned char *fresh = NULL;     /* (k) has new verdicts to estimate */
    r.order_a = order_of(in->n_a, o.seed, STREAM_ORDER_A);
    r.order_b = order_of(in->n_b, o.seed, STREAM_ORDER_B);
    r.batches = calloc(k, sizeof *r.batches);
    r.y_a = malloc(k * r.cap_a);
    r.y_b = malloc(k * r.cap_b);
    r.fold_a = malloc(r.cap_a);
    r.fold_b = malloc(r.cap_b);
    r.s_a = malloc(in->n_a * sizeof *r.s_a);
    r.s_b = malloc(in->n_b * sizeof *r.s_b);
    r.score = malloc((r.cap_a + r.cap_b) * sizeof *r.score);
    r.verdict = malloc(r.cap_a + r.cap_b);
    r.scratch = malloc((r.cap_a + r.cap_b) * sizeof *r.scratch);
    asks = calloc(k, sizeof *asks);
    rk = malloc(k * sizeof *rk);
    wd = malloc(k * sizeof *wd);
    open = malloc(k);
    fresh = calloc(k, 1);
    if (!r.order_a || !r.order_b || !r.batches || !r.y_a || !r.y_b || !r.fold_a || !r.fold_b ||
        !r.s_a || !r.s_b || !r.score || !r.verdict || !r.scratch || !asks || !rk || !wd ||
        !open || !fresh) {
        s = hr_fail(HR_ERR_NOMEM, err, errlen, "verify: out of memory");
        goto done;
    }
    memset(r.y_a, -1, k * r.cap_a);
    memset(r.y_b, -1, k * r.cap_b);
    for (size_t i = 0; i < r.cap_a; i++) r.fold_a[i] = (unsigned char)(i % K);
    for (size_t i = 0; i < r.cap_b; i++) r.fold_b[i] = (unsigned char)(i % K);

    /* Round 1: every hypothesis, in the order given. */
    size_t n_asks = k;
    for (size_t j = 0; j < k; j++) wd[j].j = j;
    for (;;) {
        for (size_t q = 0; q < n_asks; q++) {
            const size_t j = wd[q].j, b = r.batches[j];
            const size_t a0 = judged(&r, b, r.cap_a), a1 = judged(&r, b + 1, r.cap_a);
            const size_t b0 = judged(&r, b, r.cap_b), b1 = judged(&r, b + 1, r.cap_b);
            asks[q] = (hr_verify_ppi_ask){j, b, r.order_a + a0, a1 - a0, r.order_b + b0, b1 - b0,
                                          r.y_a + j * r.cap_a + a0, r.y_b + j * r.cap_b + b0};
        }
        size_t done_asks = 0;
        s = in->judge(in->judge_user, asks, n_asks, &done_asks, err, errlen);
        if (s != HR_OK) goto done;
        if (done_asks > n_asks) done_asks = n_asks;
        st.rounds++;
        for (size_t q = 0; q < done_asks; q++) {
            const hr_verify_ppi_ask *a = &asks[q];
            r.batches[a->hypothesis]++;
            fresh[a->hypothesis] = 1;
            st.asks++;
            st.texts += a->m_a + a->m_b;
            for (size_t i = 0; i < a->m_a; i++) st.missing += a->y_a[i] < 0;
            for (size_t i = 0; i < a->m_b; i++) st.missing += a->y_b[i] < 0;
        }
        for (size_t q = done_asks; q < n_asks; q++) { /* not asked: nothing to keep */
            memset(asks[q].y_a, -1, asks[q].m_a);
            memset(asks[q].y_b, -1, asks[q].m_b);
        }
        for (size_t j = 0; j < k; j++) {
            if (!fresh[j] && st.rounds > 1) continue;
            if ((s = estimate(&r, j, &results[j], err, errlen)) != HR_OK) goto done;
            fresh[j] = 0;
        }
        const size_t n_open = settle(&r, results, rk, open);
        if (done_asks < n_asks) {
            st.budget_stopped = 1;
            for (size_t j = 0; j < k; j++) results[j].budget_stopped = open[j];
            break;
        }
        if (n_open == 0) break;
        /* The next round: the open hypotheses, widest interval of V first. */
        n_asks = 0;
        for (size_t j = 0; j < k; j++)
            if (open[j])
                wd[n_asks].j = j, wd[n_asks].width = results[j].ci_high - results[j].ci_low,
                n_asks++;
        qsort(wd, n_asks, sizeof *wd, cmp_wide);
    }
    s = HR_OK;
done:
    if (s != HR_OK) memset(results, 0, k * sizeof *results);
    else if (stats) *stats = st;
    free(r.order_a), free(r.order_b), free(r.batches), free(r.y_a), free(r.y_b);
    free(r.fold_a), free(r.fold_b), free(r.s_a), free(r.s_b), free(r.score), free(r.verdict);
    free(r.scratch);
    free(asks), free(rk), free(wd), free(open), free(fresh);
    return s;
}

/* ---- the LLM judge ------------------------------------------------------------ */

/* One ask's texts, rendered, in request order, and its requests. */
typedef struct ask_plan {
    char **rendered;          /* (m) column c: A's c-th row for c < m_a, then B's */
    size_t *cols;             /* (m) columns in request order */
    const char **ordered;     /* (m) rendered[cols[t]] */
    signed char *out;         /* (m) verdicts in request order */
    size_t first_item, n_items;
} ask_plan;

static void plan_free(ask_plan *p, size_t m)
{
    if (p->rendered)
        for (size_t c = 0; c < m; c++) free(p->rendered[c]);
    free(p->rendered), free(p->cols), free(p->ordered), free(p->out);
}

static const char *text_of(const hr_verify_llm_judge_data *d, int side_b, size_t row, size_t *len)
{
    const char *t = side_b ? d->texts_b[row] : d->texts_a[row];
    const size_t *lens = side_b ? d->lens_b : d->lens_a;
    *len = t ? (lens ? lens[row] : strlen(t)) : 0;
    return t;
}

/* Renders ask a's texts, sizes them to the context and plans its requests;
 * items (growing array *items of *n_items, capacity *cap) get them. */
static hr_status plan_ask(const hr_verify_llm_judge_data *d, const hr_verify_options *vo,
                          const hr_verify_ppi_ask *a, ask_plan *p, hr_verify_item **items,
                          size_t *n_items, size_t *cap, char *err, size_t errlen)
{
    const size_t m = a->m_a + a->m_b;
    memset(p, 0, sizeof *p);
    p->rendered = calloc(m ? m : 1, sizeof *p->rendered);
    p->cols = malloc((m ? m : 1) * sizeof *p->cols);
    p->ordered = malloc((m ? m : 1) * sizeof *p->ordered);
    p->out = malloc(m ? m : 1);
    size_t *tmp = malloc((m ? m : 1) * sizeof *tmp);
    size_t *off = malloc((m + 2) * sizeof *off);
    hr_status s = HR_OK;
    if (!p->rendered || !p->cols || !p->ordered || !p->out || !tmp || !off) {
        s = hr_fail(HR_ERR_NOMEM, err, errlen, "verify: out of memory");
        goto done;
    }
    const char *h = d->hypotheses[a->hypothesis];
    size_t longest = 0;
    for (size_t c = 0; c < m; c++) {
        size_t len;
        const int side_b = c >= a->m_a;
        const size_t row = side_b ? a->rows_b[c - a->m_a] : a->rows_a[c];
        const char *t = text_of(d, side_b, row, &len);
        if (!t) {
            s = hr_fail(HR_ERR_INPUT, err, errlen, "verify: text %zu of %s is missing", row,
                        side_b ? "B" : "A");
            goto done;
        }
        if (!(p->rendered[c] = hr_verify_render(t, len, vo->max_text_chars, SIZE_MAX))) {
            s = hr_fail(HR_ERR_NOMEM, err, errlen, "verify: out of memory");
            goto done;
        }
        const size_t lc = strlen(p->rendered[c]);
        if (lc > longest) longest = lc;
    }
    size_t per, max_bytes;
    if ((s = hr_verify_fit(vo, h, longest, &per, &max_bytes, err, errlen)) != HR_OK) goto done;
    if (max_bytes != SIZE_MAX) /* cut to fit the context */
        for (size_t c = 0; c < m; c++) {
            size_t len;
            const int side_b = c >= a->m_a;
            const char *t = text_of(d, side_b, side_b ? a->rows_b[c - a->m_a] : a->rows_a[c], &len);
            free(p->rendered[c]);
            if (!(p->rendered[c] = hr_verify_render(t, len, vo->max_text_chars, max_bytes))) {
                s = hr_fail(HR_ERR_NOMEM, err, errlen, "verify: out of memory");
                goto done;
            }
        }
    size_t n_req = 0;
    /* The plan depends on the seed and the batch only: batch b of every
     * hypothesis holds the same texts in the same requests. */
    uint64_t seed = vo->seed ^ ((uint64_t)(a->batch + 1) * 0x9E3779B97F4A7C15ULL);
    if (m > 0) hr_verify_plan(hr_splitmix64(&seed), a->m_a, a->m_b, per, p->cols, off, &n_req, tmp);
    for (size_t t = 0; t < m; t++) p->ordered[t] = p->rendered[p->cols[t]];
    if (*n_items + n_req > *cap) {
        size_t nc = (*cap ? *cap * 2 : 64);
        while (nc < *n_items + n_req) nc *= 2;
        hr_verify_item *g = realloc(*items, nc * sizeof *g);
        if (!g) {
            s = hr_fail(HR_ERR_NOMEM, err, errlen, "verify: out of memory");
            goto done;
        }
        *items = g;
        *cap = nc;
    }
    p->first_item = *n_items;
    p->n_items = n_req;
    for (size_t q = 0; q < n_req; q++)
        (*items)[(*n_items)++] = (hr_verify_item){.hypothesis = h,
                                                  .texts = p->ordered + off[q],
                                                  .n = off[q + 1] - off[q],
                                                  .out = p->out + off[q]};
done:
    free(tmp), free(off);
    return s;
}

/* The longest prefix of the asks whose requests not in the cache fit the
 * client's budget. */
static hr_status budget_prefix(hr_verify_llm_judge_data *d, const hr_verify_options *vo,
                               const ask_plan *plans, const hr_verify_item *items, size_t n_items,
                               size_t n_asks, size_t *prefix, char *err, size_t errlen)
{
    size_t req_left;
    double usd_left;
    hr_llm_budget_left(d->llm, &req_left, &usd_left);
    *prefix = n_asks;
    if (req_left == SIZE_MAX && isinf(usd_left)) return HR_OK;
    hr_llm_request *reqs = calloc(n_items ? n_items : 1, sizeof *reqs);
    unsigned char *hit = malloc(n_items ? n_items : 1);
    hr_status s = reqs && hit ? HR_OK : hr_fail(HR_ERR_NOMEM, err, errlen, "verify: out of memory");
    if (s == HR_OK) s = hr_verify_requests(items, n_items, vo, 0, reqs, err, errlen);
    if (s == HR_OK) {
        s = hr_llm_cached(d->llm, reqs, n_items, hit, err, errlen);
        size_t used = 0;
        double usd = 0;
        for (size_t q = 0; s == HR_OK && q < n_asks; q++) {
            size_t need = 0;
            double cost = 0;
            for (size_t i = plans[q].first_item; i < plans[q].first_item + plans[q].n_items; i++)
                if (!hit[i]) need++, cost += hr_llm_estimate(d->llm, &reqs[i], NULL, NULL);
            if (used + need > req_left || usd + cost > usd_left) {
                *prefix = q;
                break;
            }
            used += need;
            usd += cost;
        }
        hr_verify_requests_free(reqs, n_items);
    }
    free(reqs), free(hit);
    return s;
}

hr_status hr_verify_llm_judge(void *user, hr_verify_ppi_ask *asks, size_t n, size_t *done,
                              char *err, size_t errlen)
{
    hr_verify_llm_judge_data *d = user;
    *done = 0;
    if (!d || !d->llm || !d->hypotheses || !d->texts_a || !d->texts_b)
        return hr_fail(HR_ERR_INTERNAL, err, errlen, "verify: incomplete LLM judge");
    hr_verify_options vo;
    hr_status s = hr_verify_resolve(d->verify, &vo, err, errlen);
    if (s != HR_OK) return s;
    ask_plan *plans = calloc(n ? n : 1, sizeof *plans);
    hr_verify_item *items = NULL;
    size_t n_items = 0, cap = 0, prefix = 0;
    if (!plans) return hr_fail(HR_ERR_NOMEM, err, errlen, "verify: out of memory");
    for (size_t q = 0; q < n && s == HR_OK; q++)
        s = plan_ask(d, &vo, &asks[q], &plans[q], &items, &n_items, &cap, err, errlen);
    if (s == HR_OK) s = budget_prefix(d, &vo, plans, items, n_items, n, &prefix, err, errlen);
    if (s == HR_OK && prefix > 0) {
        const size_t n_ask_items = plans[prefix - 1].first_item + plans[prefix - 1].n_items;
        hr_verify_ask_stats as;
        s = hr_verify_ask(d->llm, items, n_ask_items, &vo, &as, err, errlen);
        d->prompts += as.prompts;
        d->reasked += as.reasked;
        d->unusable += as.unusable;
        d->not_sent += as.not_sent;
        if (as.failed && d->failed == 0)
            snprintf(d->first_error, sizeof d->first_error, "%s", as.first_error);
        d->failed += as.failed;
        hr_verify_add_stats(&d->llm_stats, &as.llm);
        /* An ask the client refused (its estimate was short) ends the round there. */
        for (size_t q = 0; s == HR_OK && q < prefix; q++)
            for (size_t i = plans[q].first_item; i < plans[q].first_item + plans[q].n_items; i++)
                if (items[i].not_sent && q < prefix) prefix = q;
        for (size_t q = 0; s == HR_OK && q < prefix; q++) {
            const hr_verify_ppi_ask *a = &asks[q];
            for (size_t t = 0; t < a->m_a + a->m_b; t++) {
                const size_t c = plans[q].cols[t];
                if (c < a->m_a) a->y_a[c] = plans[q].out[t];
                else a->y_b[c - a->m_a] = plans[q].out[t];
            }
            for (size_t i = plans[q].first_item; i < plans[q].first_item + plans[q].n_items; i++)
                if (d->unusable_by) d->unusable_by[a->hypothesis] += items[i].unusable;
        }
    }
    for (size_t q = 0; q < n; q++) plan_free(&plans[q], asks[q].m_a + asks[q].m_b);
    free(plans), free(items);
    if (s == HR_OK) *done = prefix;
    return s;
}
