/* host/pipeline/rank.c: the rank pipeline (hyporank/rank.h). */
#include "hyporank/rank.h"
#include "hyporank/corpus.h"
#include "hyporank/findings.h"
#include "hyporank/npy.h"
#include "pipeline/pipeline.h"
#include "core/threads.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hr_rank_options_init(hr_rank_options *o)
{
    memset(o, 0, sizeof *o);
    o->top = 20;
    o->alpha = 0.05;
    o->plots = 1;
    o->scorer = hr_scorer_default_options();
    o->scorer.method = HR_SCORE_COSINE; /* the AUROC of the similarity itself */
}

int hr_rank_needs_embedder(const hr_rank_options *o)
{
    return o->a_path || o->corpus_a || o->b_path || o->corpus_b ||
           (!o->h_emb_path && !o->h_emb.data);
}

/* One side of the comparison (A, B or the hypotheses). */
typedef struct side {
    const char *name;      /* "A", "B", "hypotheses" */
    const char *text_path; /* the texts' file (or the caller's corpus's name) */
    const char *npy_path;  /* the embeddings' .npy (or the caller's matrix's name) */
    const hr_corpus *corpus;     /* texts: own_corpus or the caller's */
    const hr_matrix_ref *mem;    /* the caller's embeddings, or NULL */
    const float *emb;      /* (n, dim) row-major: own_emb or the caller's, scored as it is */
    size_t n;
    size_t dim;
    hr_corpus *own_corpus; /* read from text_path */
    float *own_emb;        /* embedded once */
    hr_npy_view npy;       /* read from npy_path: mapped where it can be */
} side;

/* A side from the options: what comes from memory wins over the paths. */
static side side_from(const char *name, const char *text_path, const hr_corpus *texts,
                      const char *npy_path, const hr_matrix_ref *m, const char *m_name)
{
    side s = {name, text_path, npy_path, texts, NULL, NULL, 0, 0, NULL, NULL, {0}};
    if (texts) s.text_path = texts->path ? texts->path : name;
    if (m->data) {
        s.mem = m;
        s.npy_path = m->name ? m->name : m_name;
    }
    return s;
}

static const char *side_path(const side *s) { return s->npy_path ? s->npy_path : s->text_path; }

/* Every value finite: NaN or Inf names the file, row and column. */
/* 1 when no value of v: (n) is NaN or infinite: the exponent bits all ones.
 * Integer tests without an early exit, so that the loop vectorises. */
static int all_finite(const float *v, size_t n)
{
    uint32_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &v[i], sizeof u);
        bad |= (u & 0x7f800000u) == 0x7f800000u;
    }
    return !bad;
}

static hr_status check_finite(const side *s, char *err, size_t errlen)
{
    if (all_finite(s->emb, s->n * s->dim)) return HR_OK;
    for (size_t r = 0; r < s->n; r++)
        for (size_t c = 0; c < s->dim; c++) {
            const float v = s->emb[r * s->dim + c];
            if (!isfinite(v))
                return hr_fail(HR_ERR_INPUT, err, errlen,
                               "%s: row %zu, column %zu (counting from 0) is %s: embeddings must "
                               "be finite numbers",
                               s->npy_path, r, c, isnan(v) ? "NaN" : (v > 0 ? "+Inf" : "-Inf"));
        }
    return HR_OK;
}

static hr_status load_npy(side *s, char *err, size_t errlen)
{
    if (s->mem) {
        s->emb = s->mem->data, s->n = s->mem->rows, s->dim = s->mem->dim;
    } else {
        hr_status st = hr_npy_open_f32(s->npy_path, &s->npy, err, errlen);
        if (st != HR_OK) return st;
        s->emb = s->npy.data, s->n = s->npy.rows, s->dim = s->npy.cols;
    }
    if (s->n == 0)
        return hr_fail(HR_ERR_INPUT, err, errlen, "%s: no rows: the %s need at least one embedding",
                       s->npy_path, s->name);
    if (s->dim == 0) return hr_fail(HR_ERR_INPUT, err, errlen, "%s: rows of width 0", s->npy_path);
    return check_finite(s, err, errlen);
}

/* One side's .npy read and checked, on a worker thread. */
typedef struct load_job {
    side *s;
    hr_status st;
    char err[1024];
} load_job;

static void *load_main(void *arg)
{
    load_job *j = arg;
    j->st = load_npy(j->s, j->err, sizeof j->err);
    return NULL;
}

/* Duplicates: dup[i] = index of the first hypothesis equal to i, or -1.
 * Equal means the same text when there are texts, else the same embedding. */
static _Thread_local const side *dup_ctx; /* one per thread: runs may be concurrent */

static int cmp_hyp(const void *x, const void *y)
{
    const size_t i = *(const size_t *)x, j = *(const size_t *)y;
    int c;
    if (dup_ctx->corpus) {
        const size_t li = dup_ctx->corpus->lens[i], lj = dup_ctx->corpus->lens[j];
        c = memcmp(dup_ctx->corpus->texts[i], dup_ctx->corpus->texts[j], li < lj ? li : lj);
        if (c == 0) c = (li > lj) - (li < lj);
    } else {
        c = memcmp(dup_ctx->emb + i * dup_ctx->dim, dup_ctx->emb + j * dup_ctx->dim,
                   dup_ctx->dim * sizeof(float));
    }
    return c ? c : (i > j) - (i < j);
}

static long *find_duplicates(const side *h, size_t *n_dup)
{
    long *dup = malloc(h->n * sizeof *dup);
    size_t *order = malloc(h->n * sizeof *order);
    if (!dup || !order) {
        free(dup);
        free(order);
        return NULL;
    }
    for (size_t i = 0; i < h->n; i++) {
        order[i] = i;
        dup[i] = -1;
    }
    dup_ctx = h;
    qsort(order, h->n, sizeof *order, cmp_hyp); /* equal ones together, by index */
    *n_dup = 0;
    for (size_t k = 1; k < h->n; k++) {
        size_t prev = order[k - 1], cur = order[k];
        size_t first = dup[prev] >= 0 ? (size_t)dup[prev] : prev;
        int same;
        if (h->corpus)
            same = h->corpus->lens[prev] == h->corpus->lens[cur] &&
                   memcmp(h->corpus->texts[prev], h->corpus->texts[cur], h->corpus->lens[cur]) == 0;
        else
            same = memcmp(h->emb + prev * h->dim, h->emb + cur * h->dim, h->dim * sizeof(float)) == 0;
        if (same) {
            dup[cur] = (long)first;
            (*n_dup)++;
        }
    }
    free(order);
    return dup;
}

static hr_status check_options(const hr_rank_options *o, char *err, size_t errlen)
{
    const int text[2] = {o->a_path || o->corpus_a, o->b_path || o->corpus_b},
              npy[2] = {o->a_emb_path || o->a_emb.data, o->b_emb_path || o->b_emb.data};
    for (int k = 0; k < 2; k++) {
        if (text[k] == npy[k])
            return hr_fail(HR_ERR_INPUT, err, errlen,
                           "%s: give its texts or its embeddings (.npy), exactly one",
                           k ? "B" : "A");
    }
    if (!o->hypotheses_path && !o->corpus_h && !o->h_emb_path && !o->h_emb.data)
        return hr_fail(HR_ERR_INPUT, err, errlen, "the hypotheses: give their texts or embeddings");
    if (o->hypothesis_field && !*o->hypothesis_field)
        return hr_fail(HR_ERR_INPUT, err, errlen, "the hypotheses' field must not be empty");
    return HR_OK;
}

/* Texts first, then the .npy files: a bad file is reported before any slow work. */
static hr_status read_sides(side *sides[3], const hr_rank_options *o, char *err, size_t errlen)
{
    hr_corpus_options copt = {.text_field = o->text_field, .format = HR_FORMAT_AUTO};
    hr_corpus_options hopt = {.text_field = o->hypothesis_field, .format = HR_FORMAT_AUTO};
    hr_status st;
    for (int k = 0; k < 3; k++) {
        side *s = sides[k];
        if (s->corpus && s->corpus->n == 0)
            return hr_fail(HR_ERR_INPUT, err, errlen, "%s: no %s", s->text_path,
                           k == 2 ? "hypotheses" : "texts");
        if (!s->text_path || s->corpus) continue;
        st = hr_corpus_read(s->text_path, k == 2 ? &hopt : &copt, &s->own_corpus, err, errlen);
        s->corpus = s->own_corpus;
        if (st == HR_ERR_INPUT && k == 2 && err && strstr(err, ": no texts"))
            return hr_fail(st, err, errlen, "%s: no hypotheses (the file is empty or all blank lines)",
                           s->text_path);
        if (st != HR_OK) return st;
    }
    /* The .npy files are read at once, one thread each; the first side's
     * error in order A, B, hypotheses is the one said. */
    load_job jobs[3];
    int nj = 0;
    for (int k = 0; k < 3; k++)
        if (sides[k]->npy_path) jobs[nj++] = (load_job){sides[k], HR_OK, ""};
    hr_run_workers(load_main, jobs, sizeof jobs[0], nj);
    for (int j = 0; j < nj; j++)
        if (jobs[j].st != HR_OK) return hr_fail(jobs[j].st, err, errlen, "%s", jobs[j].err);
    side *h = sides[2];
    if (h->npy_path && h->corpus && h->corpus->n != h->n)
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "%s has %zu hypotheses but %s has %zu rows: they must match, one row per "
                       "hypothesis in file order",
                       h->text_path, h->corpus->n, h->npy_path, h->n);
    return HR_OK;
}

/* Embeds what came as text; then checks that every side has one width. */
static hr_status embed_sides(side *sides[3], hr_embedder *e, const hr_events *ev, int need_model,
                             char *err, size_t errlen)
{
    hr_status st;
    for (int k = 0; need_model && k < 3; k++) {
        side *s = sides[k];
        if (s->npy_path) continue;
        char label[64];
        snprintf(label, sizeof label, "embedding %s", s->name);
        s->n = s->corpus->n;
        st = hr_embedder_embed(e, (const char *const *)s->corpus->texts, s->corpus->lens,
                               s->corpus->n, label, ev, &s->own_emb, err, errlen);
        s->emb = s->own_emb;
        s->dim = hr_embedder_dim(e);
        if (st != HR_OK) return st;
    }
    const side *a = sides[0];
    for (int k = 1; k < 3; k++) {
        const side *s = sides[k];
        if (s->dim == a->dim) continue;
        st = hr_fail(HR_ERR_INPUT, err, errlen,
                     "dimension mismatch: %s has %zu columns but %s has %zu: A, B and the "
                     "hypotheses must be embedded by the same model",
                     side_path(s), s->dim, side_path(a), a->dim);
        if (need_model && (!s->npy_path || !a->npy_path) && err && errlen)
            snprintf(err + strlen(err), errlen - strlen(err), " (the model %s gives %zu)",
                     hr_embedder_model(e), hr_embedder_dim(e));
        return st;
    }
    return HR_OK;
}

hr_status hr_rank_run(const hr_rank_options *o, hr_embedder *e, hr_report **out, char *err,
                      size_t errlen)
{
    if (err && errlen) err[0] = '\0';
    if (!o || !out) return hr_fail(HR_ERR_INTERNAL, err, errlen, "hr_rank_run: NULL argument");
    *out = NULL;
    hr_status st = check_options(o, err, errlen);
    if (st != HR_OK) return st;
    const int need_model = hr_rank_needs_embedder(o);
    if (need_model && !e)
        return hr_fail(HR_ERR_INTERNAL, err, errlen, "hr_rank_run: texts to embed and no embedder");
    const hr_events *ev = &o->events;
    side a = side_from("A", o->a_path, o->corpus_a, o->a_emb_path, &o->a_emb, "A's embeddings");
    side b = side_from("B", o->b_path, o->corpus_b, o->b_emb_path, &o->b_emb, "B's embeddings");
    side h = side_from("hypotheses", o->hypotheses_path, o->corpus_h, o->h_emb_path, &o->h_emb,
                       "the hypotheses' embeddings");
    side *sides[3] = {&a, &b, &h};
    hr_report *rep = hr_report_new(HR_REPORT_RANK);
    hr_scorer *scorer = NULL;
    hr_hypothesis_score *scores = NULL;
    hr_effect *effects = NULL;
    hr_finding *findings = NULL;
    size_t *order = NULL;
    uint8_t *shown = NULL;
    long *dup = NULL;
    if (!rep) return hr_pipe_nomem(err, errlen);

    const double t_start = hr_pipe_now();
    if ((st = read_sides(sides, o, err, errlen)) != HR_OK) goto done;
    const double t_read = hr_pipe_now() - t_start;
    if ((st = embed_sides(sides, e, ev, need_model, err, errlen)) != HR_OK) goto done;
    const double t_embed = hr_pipe_now() - t_start - t_read;

    /* Repeated hypotheses: kept and ranked, but said. */
    size_t n_dup = 0;
    if (!(dup = find_duplicates(&h, &n_dup))) {
        st = hr_pipe_nomem(err, errlen);
        goto done;
    }
    for (size_t i = 0; n_dup && i < h.n; i++) {
        if (dup[i] < 0) continue;
        if (h.corpus)
            hr_pipe_event(ev, HR_EVENT_NOTE,
                          "note: %s:%zu repeats hypothesis %ld (line %zu); both are kept and "
                          "ranked (\"duplicate_of\": %ld)",
                          h.text_path, h.corpus->lines[i], dup[i], h.corpus->lines[dup[i]],
                          dup[i]);
        else
            hr_pipe_event(ev, HR_EVENT_NOTE,
                          "note: %s: row %zu repeats row %ld; both are kept and ranked "
                          "(\"duplicate_of\": %ld)",
                          h.npy_path, i, dup[i], dup[i]);
    }

    /* Score: the matrices as they were read or embedded. */
    const double t0 = hr_pipe_now();
    if ((st = hr_scorer_create(a.emb, a.n, b.emb, b.n, (int)a.dim, &o->scorer, &scorer, err,
                               errlen)) != HR_OK)
        goto done;
    scores = malloc(h.n * sizeof *scores);
    effects = malloc(h.n * sizeof *effects);
    findings = malloc(h.n * sizeof *findings);
    order = malloc(h.n * sizeof *order);
    shown = malloc(h.n);
    rep->rows = calloc(h.n, sizeof *rep->rows);
    if (!scores || !effects || !findings || !order || !shown || !rep->rows) {
        st = hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory for %zu hypotheses", h.n);
        goto done;
    }
    if ((st = hr_scorer_score_effects(scorer, h.emb, h.n, scores, effects, err, errlen)) != HR_OK)
        goto done;
    /* hypotheses written `mentions "w"`, where the texts are at hand: counted */
    if (h.corpus && a.corpus && b.corpus &&
        (st = hr_pipe_count_mentions((const char *const *)h.corpus->texts, h.corpus->lens, h.n,
                                     (const char *const *)a.corpus->texts, a.corpus->lens, a.n,
                                     (const char *const *)b.corpus->texts, b.corpus->lens, b.n,
                                     o->scorer.n_threads, effects, err, errlen)) != HR_OK)
        goto done;
    const double t_score = hr_pipe_now() - t0;
    /* What share of each side each hypothesis holds for, and which are
     * distinct findings (hyporank/findings.h). */
    hr_findings_input fin = {a.emb, b.emb, a.n, b.n, (int)a.dim, NULL, NULL, h.emb, h.n, NULL};
    hr_findings_options fo = hr_findings_default_options();
    fo.alpha = o->alpha;
    fo.n_threads = o->scorer.n_threads;
    size_t n_found;
    if ((st = hr_effect_qvalues(effects, h.n, err, errlen)) ||
        (st = hr_findings_select(&fin, &fo, effects, findings, &n_found, err, errlen)) ||
        (st = hr_pipe_rank_order(effects, findings, h.n, order, err, errlen)))
        goto done;
    hr_pipe_shown(effects, findings, order, h.n, o->top, 0, shown);
    const double t_findings = hr_pipe_now() - t0 - t_score;

    /* The report. */
    hr_report_info *in = &rep->info;
    int failed = 0;
    in->n_a = a.n;
    in->n_b = b.n;
    in->a_path = hr_report_keep(rep, side_path(&a), &failed);
    in->b_path = hr_report_keep(rep, side_path(&b), &failed);
    in->hypotheses_path = hr_report_keep(rep, h.text_path, &failed);
    in->a_emb_path = hr_report_keep(rep, a.npy_path, &failed);
    in->b_emb_path = hr_report_keep(rep, b.npy_path, &failed);
    in->h_emb_path = hr_report_keep(rep, h.npy_path, &failed);
    in->encoder_model = hr_report_keep(rep, need_model ? hr_embedder_model(e) : "precomputed", &failed);
    in->encoder_model_id = need_model ? hr_report_keep(rep, hr_embedder_model_id(e), &failed) : NULL;
    in->encoder_device = hr_report_keep(rep, need_model ? hr_embedder_device(e) : "none", &failed);
    in->dim = a.dim;
    in->scorer_device = hr_scorer_device(scorer);
    in->method = o->scorer.method;
    in->temperature = o->scorer.temperature > 0 ? o->scorer.temperature
                                                : HR_SCORER_DEFAULT_TEMPERATURE;
    in->seconds_read = t_read;
    in->seconds_embed = t_embed;
    in->seconds_score = t_score;
    in->seconds_findings = t_findings;
    in->top = o->top;
    if (failed) {
        st = hr_pipe_nomem(err, errlen);
        goto done;
    }
    for (size_t r = 0; r < h.n; r++) {
        const size_t i = order[r];
        hr_report_row *row = &rep->rows[r];
        row->rank = r + 1;
        row->index = i;
        if (h.corpus) {
            row->text = h.corpus->texts[i];
            row->len = h.corpus->lens[i];
            row->line = h.corpus->lines[i];
        }
        row->source = HR_SOURCE_USER;
        row->score = scores[i];
        row->duplicate_of = dup[i];
    }
    rep->n_rows = h.n;
    in->alpha = o->alpha;
    if ((st = hr_pipe_report_findings(rep, order, effects, findings, o->alpha, shown, err,
                                      errlen)) != HR_OK)
        goto done;
    /* The page's plots of the rows shown, with the texts when known. */
    const hr_pipe_side_rows plot_sides[2] = {
        {a.emb, a.n, a.corpus ? (const char *const *)a.corpus->texts : NULL,
         a.corpus ? a.corpus->lens : NULL},
        {b.emb, b.n, b.corpus ? (const char *const *)b.corpus->texts : NULL,
         b.corpus ? b.corpus->lens : NULL}};
    if (o->plots && (st = hr_pipe_report_plots(rep, h.emb, a.dim, order, plot_sides, NULL, NULL,
                                               o->scorer.n_threads, err, errlen)) != HR_OK)
        goto done;
    /* The texts the rows and their examples point into (or the caller's). */
    for (int k = 0; k < 3; k++) rep->corpora[k] = sides[k]->own_corpus, sides[k]->own_corpus = NULL;
    *out = rep;
    rep = NULL;
done:
    hr_report_destroy(rep);
    free(dup);
    free(order);
    free(shown);
    free(scores), free(effects), free(findings);
    hr_scorer_destroy(scorer);
    for (int k = 0; k < 3; k++) {
        free(sides[k]->own_emb);
        hr_npy_close(&sides[k]->npy);
        hr_corpus_destroy(sides[k]->own_corpus);
    }
    return st;
}
