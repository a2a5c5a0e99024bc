/* host/cli/cmd_describe.c: hyporank describe: from two corpora to a ranked
 * list of the ways they differ, in both directions. */
#include "cli.h"
#include "core/random.h"
#include "hyporank/cache.h"
#include "hyporank/corpus.h"
#include "hyporank/geometry.h"
#include "hyporank/llm.h"
#include "hyporank/llm_propose.h"
#include "hyporank/probe.h"
#include "hyporank/model.h"
#include "hyporank/proposers.h"
#include "hyporank/scorer.h"
#include "hyporank/verify.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A research goal is a sentence or two; a page of text is a mistake. */
#define MAX_GOAL_CHARS 4000

static const char describe_help[] =
    "usage: hyporank describe --a FILE --b FILE [--goal TEXT] [--json OUT] [options]\n"
    "\n"
    "Says, in short sentences, how the texts of corpus A differ from those of\n"
    "corpus B, in both directions: what is more typical of A, and what is more\n"
    "typical of B.\n"
    "\n"
    "How: candidate hypotheses (\"is about sport\", \"mentions \\\"coronavirus\\\"\")\n"
    "come from a built-in bank of generic descriptions and from the words and\n"
    "word pairs whose frequency differs most between A and B (log-odds with an\n"
    "informative Dirichlet prior). Each candidate is scored on every text by the\n"
    "similarity of their sentence embeddings, and ranked by how well that score\n"
    "separates A from B (AUROC; 0.5 = no difference), with a Mann-Whitney\n"
    "p-value and a Benjamini-Hochberg q-value. The texts a probe finds most\n"
    "typical of each side are also clustered, and each cluster adds its own\n"
    "words. Candidates drawn from the data are found on one part of the texts\n"
    "(--holdout) and scored on the rest, so that their p-values stay honest.\n"
    "Runs offline; an LLM endpoint adds proposals and a judge (below).\n"
    "\n"
    "Input:\n"
    "  --a FILE            corpus A: .jsonl (field \"text\"), .txt (one text a line)\n"
    "                      or .csv (column \"text\"); at least 2 texts\n"
    "  --b FILE            corpus B, likewise\n"
    "  --goal TEXT         what you want to learn (kept in the reports)\n"
    "  --hypotheses FILE   your own candidates too, one a line (.txt or .jsonl)\n"
    "Candidates:\n"
    "  --no-bank           leave out the built-in bank\n"
    "  --no-ngrams         leave out the word and word-pair candidates\n"
    "  --no-clusters       leave out the clusters: by default the texts a probe finds\n"
    "                      most typical of each side are clustered, and each\n"
    "                      cluster adds its own distinctive words and is shown with\n"
    "                      the candidates nearest to it\n"
    "  --ngrams N          word candidates per direction (default 25)\n"
    "  --holdout F         share of each corpus that the candidates drawn from the\n"
    "                      data (words, clusters, LLM) are found on (default 0.5);\n"
    "                      every candidate is scored on the rest (on all texts\n"
    "                      when no such candidates are asked for)\n"
    "  --seed N            the random split (default 1)\n"
    "LLM (optional; any OpenAI-compatible /v1/chat/completions endpoint, key from\n"
    "$HYPORANK_API_KEY or $OPENAI_API_KEY; every answer is cached):\n"
    "  --llm-url URL       the endpoint, e.g. https://api.openai.com/v1\n"
    "  --llm-model NAME    the model that proposes and judges\n"
    "  --llm-rounds R      proposal rounds (default 3; 0: none): each shows the LLM\n"
    "                      the texts a probe finds most typical of A and of B and\n"
    "                      asks what sets them apart (D5's proposer)\n"
    "  --llm-samples S     texts of each side shown per round (default 15)\n"
    "  --description TEXT  what the data is, for the LLM\n"
    "  --verify-top K      judge the K strongest differences (default 10; 0: none)\n"
    "  --verify-samples M  texts judged per corpus (default 20): the report gives\n"
    "                      V = P(true | A) - P(true | B) with a 95%% interval and a\n"
    "                      Fisher p-value, and how well the ranking agrees\n"
    "Output:\n"
    "  --top N             differences shown each way (default 10)\n"
    "  --examples N        example texts shown per difference (default 2)\n"
    "  --alpha Q           significance: q-value at most Q (default 0.05)\n"
    "  --json OUT          every candidate, strongest first: n_a, n_b, encoder,\n"
    "                      hypotheses[rank, index, text, source, direction, auroc,\n"
    "                      mean_a, mean_b, p_value, q_value, significant, ...]\n"
    "  --markdown OUT      a report to read or share\n"
    "\n"
    "%s"
    "%s"
    "\n"
    "Example:\n"
    "  hyporank describe --a headlines-2020.jsonl --b headlines-2019.jsonl \\\n"
    "      --goal \"which news topics grew or shrank\" --json diff.json --markdown diff.md\n";

typedef struct describe_opts {
    const char *a_path, *b_path, *goal, *hyp_path, *json_path, *md_path;
    int bank, ngrams, geometry;
    long ngram_k, top, examples, seed, verify_top, verify_samples, llm_rounds, llm_samples;
    const char *description;
    double holdout, alpha;
} describe_opts;

/* Splits rows [0, n) at random into a proposal part of round(n * share)
 * rows (at least 1) and a scoring part (at least 2; the rest).
 * order: (n) the rows, proposal part first. Returns the proposal size. */
static size_t split_rows(size_t n, double share, uint64_t *state, size_t *order)
{
    for (size_t i = 0; i < n; i++) order[i] = i;
    hr_random_shuffle(state, order, n);
    size_t k = (size_t)llround((double)n * share);
    if (k < 1) k = 1;
    if (k > n - 2) k = n - 2;
    return k;
}

/* The texts of rows order[0..k) of c, as pointer and length arrays. */
static int gather(const hr_corpus *c, const size_t *order, size_t k, const char ***texts,
                  size_t **lens)
{
    *texts = malloc((k ? k : 1) * sizeof **texts);
    *lens = malloc((k ? k : 1) * sizeof **lens);
    if (!*texts || !*lens) return -1;
    for (size_t i = 0; i < k; i++) {
        (*texts)[i] = c->texts[order[i]];
        (*lens)[i] = c->lens[order[i]];
    }
    return 0;
}

typedef struct ranked {
    size_t index; /* in the pool */
    double strength;
} ranked;

static int cmp_strength(const void *x, const void *y)
{
    const ranked *a = x, *b = y;
    if (a->strength != b->strength) return a->strength > b->strength ? -1 : 1;
    return (a->index > b->index) - (a->index < b->index);
}

/* The example texts of hypothesis h (dim) on its own side: the rows of
 * emb (n, dim) with the highest scores. best: (k) row indices, best first. */
static size_t top_examples(const float *h, const float *emb, size_t n, size_t dim, size_t k,
                           size_t *best, float *best_score)
{
    size_t have = 0;
    if (k == 0) return 0;
    for (size_t r = 0; r < n; r++) {
        const float *x = emb + r * dim;
        float s = 0.f;
        for (size_t c = 0; c < dim; c++) s += h[c] * x[c];
        if (have < k) have++;
        else if (s <= best_score[have - 1]) continue;
        size_t p = have - 1; /* insertion into the sorted list */
        while (p > 0 && best_score[p - 1] < s) {
            best_score[p] = best_score[p - 1];
            best[p] = best[p - 1];
            p--;
        }
        best_score[p] = s;
        best[p] = r;
    }
    return have;
}

static void md_escape(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '|' || *s == '*' || *s == '_' || *s == '`' || *s == '[' || *s == ']' || *s == '\\')
            fputc('\\', f);
        fputc(*s == '\n' || *s == '\r' ? ' ' : *s, f);
    }
}

/* Candidates that embed this close to an earlier one are merged into it:
 * wording variants ("is about the weather" / "is about weather", 0.98) go,
 * opposites ("is in English" / "is not in English", 0.90) stay. */
#define NEAR_DUPLICATE_COSINE 0.92

/* The proposal part as one matrix: xp (prop_na + prop_nb, dim), A's rows
 * first, and a probe's held-out decision values dec (same rows; higher: more
 * like A) by stratified k-fold, so that no text is judged by a probe that saw
 * it. With too few texts to fold, dec is all 0 (input order). */
static hr_status fit_proposal_probe(const describe_opts *d, const cli_common *opt,
                                    const float *emb_a, const float *emb_b, size_t dim,
                                    const size_t *order_a, size_t prop_na, const size_t *order_b,
                                    size_t prop_nb, float *xp, double *dec, char *err,
                                    size_t errlen)
{
    const size_t n = prop_na + prop_nb;
    uint8_t *y = malloc(n ? n : 1); /* (n) 1 for A */
    if (!y) {
        snprintf(err, errlen, "out of memory");
        return HR_ERR_NOMEM;
    }
    for (size_t i = 0; i < prop_na; i++) {
        memcpy(xp + i * dim, emb_a + order_a[i] * dim, dim * sizeof *xp);
        y[i] = 1;
    }
    for (size_t i = 0; i < prop_nb; i++) {
        memcpy(xp + (prop_na + i) * dim, emb_b + order_b[i] * dim, dim * sizeof *xp);
        y[prop_na + i] = 0;
    }
    const size_t smaller = prop_na < prop_nb ? prop_na : prop_nb;
    const int folds = smaller >= 5 ? 5 : (int)smaller;
    hr_status st = HR_OK;
    if (folds >= 2) {
        hr_probe_options po = hr_probe_default_options();
        po.device = opt->device; /* auto: the GPU for large fits */
        hr_probe_cv_result cv;
        st = hr_probe_cross_validate(xp, n, (int)dim, y, NULL, &po, folds, (uint64_t)d->seed, dec,
                                     &cv, err, errlen);
        if (st == HR_OK && !opt->quiet)
            fprintf(stderr, "hyporank: probe on %zu + %zu proposal texts: held-out AUROC %.3f\n",
                    prop_na, prop_nb, cv.auroc);
    } else {
        for (size_t i = 0; i < n; i++) dec[i] = 0.0;
    }
    free(y);
    return st;
}

/* Asks the LLM for hypotheses about the texts the probe finds most typical of
 * each side (D5's proposer); adds them to the pool. Creates *llm. */
static hr_status propose_with_llm(const describe_opts *d, const cli_common *opt,
                                  const char *cache_path, const double *dec, size_t prop_na,
                                  size_t prop_nb, const char **prop_a, const size_t *prop_a_len,
                                  const char **prop_b, const size_t *prop_b_len,
                                  hr_hypothesis_pool *pool, hr_llm **llm, char *err,
                                  size_t errlen)
{
    hr_remote_options ro;
    hr_remote_options_init(&ro);
    ro.url = opt->llm_url;
    ro.model = opt->llm_model;
    ro.cache_path = cache_path && cache_path[0] ? cache_path : NULL;
    hr_status st = hr_llm_create(&ro, llm, err, errlen);
    if (st != HR_OK) return st;
    hr_llm_propose_input in = {d->goal, d->description, prop_a, prop_a_len, prop_na, dec,
                               prop_b, prop_b_len, prop_nb, dec + prop_na};
    hr_llm_propose_options lo = hr_llm_propose_default_options();
    lo.rounds = (int)d->llm_rounds;
    lo.samples_per_side = (int)d->llm_samples;
    hr_llm_propose_report rep;
    memset(&rep, 0, sizeof rep);
    size_t before = hr_pool_size(pool);
    st = hr_llm_propose(*llm, &in, &lo, pool, &rep, err, errlen);
    if (st == HR_OK && !opt->quiet)
        fprintf(stderr, "hyporank: the LLM proposed %zu new candidates in %ld rounds\n",
                hr_pool_size(pool) - before, d->llm_rounds);
    return st;
}

/* The clusters of typical texts: their size, the candidates nearest to them
 * and an example. */
static void print_clusters(const hr_geometry_report *g, const hr_hypothesis_pool *pool,
                           const char **prop_a, const char **prop_b, size_t na, size_t nb)
{
    (void)na, (void)nb;
    printf("\nThe texts most typical of each side (by a probe on the proposal part), clustered:\n");
    for (size_t c = 0; c < g->n_clusters; c++) {
        const hr_geometry_cluster *cl = &g->clusters[c];
        char text[160];
        const char *ex = (cl->side == 'A' ? prop_a : prop_b)[cl->members[0]];
        cli_table_text(ex, strlen(ex), text, 80);
        printf("  %c cluster %zu (%zu texts), e.g. \"%s\"\n", cl->side, cl->index + 1, cl->size,
               text);
        for (size_t o = 0; o < cl->n_offers && o < 3; o++) {
            const hr_pool_entry *e = hr_pool_get(pool, g->offers[cl->first_offer + o].pool_index);
            cli_table_text(e->text, e->len, text, 80);
            printf("      near: %s\n", text);
        }
    }
}

static void add_clusters_json(cJSON *root, const hr_geometry_report *g,
                              const hr_hypothesis_pool *pool, const char **prop_a,
                              const char **prop_b)
{
    cJSON *arr = cJSON_AddArrayToObject(root, "clusters");
    for (size_t c = 0; arr && c < g->n_clusters; c++) {
        const hr_geometry_cluster *cl = &g->clusters[c];
        cJSON *o = cJSON_CreateObject();
        if (!o) return;
        cJSON_AddItemToArray(arr, o);
        char side[2] = {cl->side, 0};
        cJSON_AddStringToObject(o, "side", side);
        cJSON_AddNumberToObject(o, "size", (double)cl->size);
        cJSON_AddNumberToObject(o, "words_added", (double)cl->ngrams_added);
        cJSON *near = cJSON_AddArrayToObject(o, "nearest");
        for (size_t k = 0; near && k < cl->n_offers; k++)
            cJSON_AddItemToArray(near, cJSON_CreateString(
                hr_pool_get(pool, g->offers[cl->first_offer + k].pool_index)->text));
        cJSON *ex = cJSON_AddArrayToObject(o, "examples");
        for (size_t m = 0; ex && m < cl->size && m < 3; m++)
            cJSON_AddItemToArray(ex, cJSON_CreateString(
                (cl->side == 'A' ? prop_a : prop_b)[cl->members[m]]));
    }
}

int cmd_describe(int argc, char **argv)
{
    const char *cmd = "describe";
    cli_common opt;
    cli_common_init(&opt);
    describe_opts d = {.bank = 1, .ngrams = 1, .geometry = 1, .ngram_k = 25, .top = 10, .examples = 2,
                       .seed = 1, .verify_top = 10, .verify_samples = 20, .llm_rounds = 3,
                       .llm_samples = 15, .holdout = 0.5,
                       .alpha = 0.05};
    hr_scorer_options so = hr_scorer_default_options();
    for (int i = 0; i < argc; i++) {
        int r = cli_common_parse(&opt, cmd, argc, argv, &i);
        if (r == 0) r = cli_scorer_parse(&so, cmd, argc, argv, &i);
        if (r < 0) return CLI_EXIT_USAGE;
        if (r > 0) continue;
        const char *o = argv[i], *v;
        const char **dst = NULL;
        long *num = NULL, lo = 0, hi = 0;
        double *real = NULL, rlo = 0, rhi = 0;
        if (strcmp(o, "--help") == 0 || strcmp(o, "-h") == 0) {
            printf(describe_help, cli_scorer_help, cli_common_help);
            return CLI_EXIT_OK;
        } else if (strcmp(o, "--a") == 0) dst = &d.a_path;
        else if (strcmp(o, "--b") == 0) dst = &d.b_path;
        else if (strcmp(o, "--goal") == 0) dst = &d.goal;
        else if (strcmp(o, "--hypotheses") == 0) dst = &d.hyp_path;
        else if (strcmp(o, "--json") == 0) dst = &d.json_path;
        else if (strcmp(o, "--markdown") == 0) dst = &d.md_path;
        else if (strcmp(o, "--no-bank") == 0) { d.bank = 0; continue; }
        else if (strcmp(o, "--no-ngrams") == 0) { d.ngrams = 0; continue; }
        else if (strcmp(o, "--no-clusters") == 0) { d.geometry = 0; continue; }
        else if (strcmp(o, "--ngrams") == 0) num = &d.ngram_k, lo = 1, hi = 10000;
        else if (strcmp(o, "--top") == 0) num = &d.top, lo = 1, hi = 100000;
        else if (strcmp(o, "--examples") == 0) num = &d.examples, lo = 0, hi = 100;
        else if (strcmp(o, "--seed") == 0) num = &d.seed, lo = 0, hi = 2147483647L;
        else if (strcmp(o, "--description") == 0) dst = &d.description;
        else if (strcmp(o, "--llm-rounds") == 0) num = &d.llm_rounds, lo = 0, hi = 100;
        else if (strcmp(o, "--llm-samples") == 0) num = &d.llm_samples, lo = 1, hi = 200;
        else if (strcmp(o, "--verify-top") == 0) num = &d.verify_top, lo = 0, hi = 1000;
        else if (strcmp(o, "--verify-samples") == 0) num = &d.verify_samples, lo = 1, hi = 10000;
        else if (strcmp(o, "--holdout") == 0) real = &d.holdout, rlo = 0.05, rhi = 0.95;
        else if (strcmp(o, "--alpha") == 0) real = &d.alpha, rlo = 1e-12, rhi = 0.5;
        else return cli_usage_error(cmd, "unknown option '%s'", o);
        if (!(v = cli_take_value(cmd, argc, argv, &i))) return CLI_EXIT_USAGE;
        if (dst) {
            *dst = v;
        } else if (num) {
            int ok;
            *num = cli_parse_long(cmd, o, v, lo, hi, &ok);
            if (!ok) return CLI_EXIT_USAGE;
        } else {
            char *end;
            double x = strtod(v, &end);
            if (*end || end == v || !(x >= rlo && x <= rhi))
                return cli_usage_error(cmd, "%s must be a number from %g to %g, not '%s'", o, rlo,
                                       rhi, v);
            *real = x;
        }
    }
    if (!d.a_path || !d.b_path) return cli_usage_error(cmd, "--a FILE and --b FILE are required");
    if (!d.bank && !d.ngrams && !d.hyp_path)
        return cli_usage_error(cmd, "no candidates: --no-bank and --no-ngrams leave none; "
                                    "give --hypotheses FILE or keep a source");
    if (!!opt.llm_url != !!opt.llm_model)
        return cli_usage_error(cmd, "--llm-url and --llm-model go together");
    if (d.goal && strlen(d.goal) > MAX_GOAL_CHARS)
        return cli_usage_error(cmd,
                               "--goal is %zu characters; say it in a sentence or two (at most "
                               "%d characters): what you want to learn about A against B",
                               strlen(d.goal), MAX_GOAL_CHARS);

    char err[1024] = "";
    hr_status st = HR_OK;
    int rc = CLI_EXIT_OK;
    hr_corpus *ca = NULL, *cb = NULL, *ch = NULL;
    hr_hypothesis_pool *pool = NULL;
    cli_embedder emb_ctx;
    memset(&emb_ctx, 0, sizeof emb_ctx);
    hr_scorer *scorer = NULL;
    size_t *order_a = NULL, *order_b = NULL;
    const char **prop_a = NULL, **prop_b = NULL;
    size_t *prop_a_len = NULL, *prop_b_len = NULL;
    float *emb_a = NULL, *emb_b = NULL, *emb_h = NULL, *score_a = NULL, *score_b = NULL;
    hr_hypothesis_score *scores = NULL;
    ranked *rank = NULL;
    cJSON *root = NULL;
    char *json_text = NULL;
    FILE *md = NULL;
    char *md_tmp = NULL;
    hr_llm *llm = NULL;
    float *xp = NULL;              /* proposal part embeddings, A's rows first */
    double *dec = NULL;            /* probe decision values of those rows */
    hr_geometry_report *geo = NULL;
    size_t *pidx = NULL;    /* (k) pool index of each candidate scored */
    uint8_t *keep = NULL;   /* (pool size) 1: kept, 0: a near-duplicate */
    size_t n_verify = 0;
    size_t *verify_of = NULL;           /* (k) row in vres of each candidate, or SIZE_MAX */
    hr_verify_result *vres = NULL;      /* (n_verify) */
    hr_verify_stats vstats;
    memset(&vstats, 0, sizeof vstats);

    /* Inputs, all read before any slow work. */
    hr_corpus_options copt = {opt.text_field, HR_FORMAT_AUTO};
    if ((st = hr_corpus_read(d.a_path, &copt, &ca, err, sizeof err)) != HR_OK) goto fail;
    if ((st = hr_corpus_read(d.b_path, &copt, &cb, err, sizeof err)) != HR_OK) goto fail;
    const hr_corpus *small = ca->n < 2 ? ca : (cb->n < 2 ? cb : NULL);
    if (small) {
        st = HR_ERR_INPUT;
        snprintf(err, sizeof err,
                 "%s: only %zu text; describing a difference needs at least 2 texts on each side "
                 "(and a few hundred to find subtle ones)",
                 small->path, small->n);
        goto fail;
    }
    if ((st = hr_pool_create(&pool, err, sizeof err)) != HR_OK) goto fail;
    if (d.hyp_path) {
        if ((st = hr_corpus_read(d.hyp_path, NULL, &ch, err, sizeof err)) != HR_OK) goto fail;
        for (size_t i = 0; i < ch->n; i++) {
            st = hr_pool_add(pool, ch->texts[i], ch->lens[i], HR_SOURCE_USER, NULL, NULL, err,
                             sizeof err);
            if (st != HR_OK) {
                char inner[512];
                snprintf(inner, sizeof inner, "%.500s", err);
                snprintf(err, sizeof err, "%.400s:%zu: %s", d.hyp_path, ch->lines[i], inner);
                goto fail;
            }
        }
    }
    if (d.bank && (st = hr_pool_add_bank(pool, NULL, err, sizeof err)) != HR_OK) goto fail;

    /* The split: candidates from the data (words, the LLM) are found on the
     * proposal part and every candidate is scored on the rest, so that the
     * choice of candidates does not see the texts that test them. */
    order_a = malloc(ca->n * sizeof *order_a);
    order_b = malloc(cb->n * sizeof *order_b);
    if (!order_a || !order_b) goto nomem;
    size_t prop_na = 0, prop_nb = 0;
    int llm_propose = opt.llm_url && d.llm_rounds > 0;
    if (!d.ngrams && !llm_propose) d.geometry = 0; /* no proposal part without them */
    if ((d.ngrams || llm_propose) && (ca->n < 3 || cb->n < 3)) {
        fprintf(stderr, "hyporank: note: too few texts to hold some out; candidates from the "
                        "data (words, LLM) left out\n");
        d.ngrams = llm_propose = d.geometry = 0;
    }
    if (d.ngrams || llm_propose) {
        uint64_t state = (uint64_t)d.seed;
        prop_na = split_rows(ca->n, d.holdout, &state, order_a);
        prop_nb = split_rows(cb->n, d.holdout, &state, order_b);
        if (gather(ca, order_a, prop_na, &prop_a, &prop_a_len) ||
            gather(cb, order_b, prop_nb, &prop_b, &prop_b_len))
            goto nomem;
    } else {
        for (size_t i = 0; i < ca->n; i++) order_a[i] = i;
        for (size_t i = 0; i < cb->n; i++) order_b[i] = i;
    }
    if (d.ngrams) {
        hr_ngram_options no = hr_ngram_default_options();
        no.top_k = (size_t)d.ngram_k;
        no.min_count = prop_na + prop_nb < 2000 ? 3 : no.min_count;
        st = hr_pool_add_ngrams(pool, prop_a, prop_a_len, prop_na, prop_b, prop_b_len, prop_nb,
                                &no, NULL, err, sizeof err);
        if (st != HR_OK) goto fail;
    }

    /* Embeddings of all texts (examples come from all of them). */
    if ((st = cli_embedder_open(&emb_ctx, &opt, err, sizeof err)) ||
        (st = cli_embedder_embed_corpus(&emb_ctx, ca, "embedding A", &emb_a, err, sizeof err)) ||
        (st = cli_embedder_embed_corpus(&emb_ctx, cb, "embedding B", &emb_b, err, sizeof err)))
        goto fail;
    const size_t dim = emb_ctx.dim;

    /* Proposers that look at the proposal part through a probe: the texts it
     * finds most typical of each side are clustered (embedding geometry:
     * their nearest candidates and their own words) and shown to the LLM. */
    if (prop_na + prop_nb > 0 && (d.geometry || llm_propose)) {
        const size_t np = prop_na + prop_nb;
        xp = malloc(np * dim * sizeof *xp);  /* (np, dim) A's rows first */
        dec = malloc(np * sizeof *dec);      /* (np) */
        if (!xp || !dec) goto nomem;
        if ((st = fit_proposal_probe(&d, &opt, emb_a, emb_b, dim, order_a, prop_na, order_b,
                                     prop_nb, xp, dec, err, sizeof err)) != HR_OK)
            goto fail;
        if (d.geometry) {
            float *cand = NULL; /* (pool size, dim) the candidates so far */
            const size_t k0 = hr_pool_size(pool);
            if ((st = cli_embedder_embed(&emb_ctx, hr_pool_texts(pool), hr_pool_lens(pool), k0,
                                         "embedding hypotheses", &cand, err, sizeof err)))
                goto fail;
            hr_geometry_options go = hr_geometry_default_options();
            go.seed = (uint64_t)d.seed;
            st = hr_geometry_propose(xp, dec, prop_a, prop_a_len, prop_na, xp + prop_na * dim,
                                     dec + prop_na, prop_b, prop_b_len, prop_nb, (int)dim, pool,
                                     cand, k0, &go, &geo, err, sizeof err);
            free(cand);
            if (st != HR_OK) goto fail;
        }
        if (llm_propose &&
            (st = propose_with_llm(&d, &opt, emb_ctx.cache_path, dec, prop_na, prop_nb, prop_a,
                                   prop_a_len, prop_b, prop_b_len, pool, &llm, err,
                                   sizeof err)) != HR_OK)
            goto fail;
    }
    if (hr_pool_size(pool) == 0) {
        st = HR_ERR_INPUT;
        snprintf(err, sizeof err, "no candidate hypotheses to score");
        goto fail;
    }
    if ((st = cli_embedder_embed(&emb_ctx, hr_pool_texts(pool), hr_pool_lens(pool),
                                 hr_pool_size(pool), "embedding hypotheses", &emb_h, err,
                                 sizeof err)))
        goto fail;

    /* Candidates that say the same in other words (embeddings this close)
     * count once: the first kept. pidx: (k) pool index of each kept one. */
    size_t k = hr_pool_size(pool);
    pidx = malloc(k * sizeof *pidx);
    keep = malloc(k);
    if (!pidx || !keep) goto nomem;
    size_t n_kept = 0;
    if ((st = hr_near_duplicates(emb_h, k, (int)dim, NEAR_DUPLICATE_COSINE, keep, &n_kept, err,
                                 sizeof err)) != HR_OK)
        goto fail;
    for (size_t i = 0, w = 0; i < k; i++) {
        if (!keep[i]) continue;
        pidx[w] = i;
        if (w != i) memmove(emb_h + w * dim, emb_h + i * dim, dim * sizeof *emb_h);
        w++;
    }
    const size_t merged = k - n_kept;
    k = n_kept;

    /* The scoring part of each side: (n, dim) row-major copies. */
    const size_t na = ca->n - prop_na, nb = cb->n - prop_nb;
    score_a = malloc(na * dim * sizeof *score_a);
    score_b = malloc(nb * dim * sizeof *score_b);
    scores = malloc(k * sizeof *scores);
    rank = malloc(k * sizeof *rank);
    if (!score_a || !score_b || !scores || !rank) goto nomem;
    for (size_t i = 0; i < na; i++)
        memcpy(score_a + i * dim, emb_a + order_a[prop_na + i] * dim, dim * sizeof(float));
    for (size_t i = 0; i < nb; i++)
        memcpy(score_b + i * dim, emb_b + order_b[prop_nb + i] * dim, dim * sizeof(float));

    so.device = opt.device;
    so.n_threads = opt.threads;
    const double t0 = cli_now();
    if ((st = hr_scorer_create(score_a, na, score_b, nb, (int)dim, &so, &scorer, err, sizeof err)) ||
        (st = hr_scorer_score(scorer, emb_h, k, scores, err, sizeof err)))
        goto fail;
    const double secs = cli_now() - t0;
    size_t n_sig[2] = {0, 0}; /* significant, direction A and B */
    for (size_t i = 0; i < k; i++) {
        rank[i] = (ranked){i, fabs(scores[i].auroc - 0.5)};
        if (scores[i].q_value <= d.alpha && scores[i].auroc != 0.5) n_sig[scores[i].auroc > 0.5 ? 0 : 1]++;
    }
    qsort(rank, k, sizeof *rank, cmp_strength);

    /* The judge: the strongest differences, on texts sampled from each side. */
    if (opt.llm_url && d.verify_top > 0) {
        hr_remote_options ro;
        hr_remote_options_init(&ro);
        ro.url = opt.llm_url;
        ro.model = opt.llm_model;
        ro.cache_path = emb_ctx.cache_path[0] ? emb_ctx.cache_path : NULL;
        if (!llm && (st = hr_llm_create(&ro, &llm, err, sizeof err)) != HR_OK) goto fail;
        n_verify = (size_t)d.verify_top < k ? (size_t)d.verify_top : k;
        const char **vtexts = malloc(n_verify * sizeof *vtexts);
        float *vh = malloc(n_verify * dim * sizeof *vh); /* (n_verify, dim) */
        verify_of = malloc(k * sizeof *verify_of);
        vres = calloc(n_verify, sizeof *vres);
        if (!vtexts || !vh || !verify_of || !vres) {
            free(vtexts), free(vh);
            goto nomem;
        }
        for (size_t i = 0; i < k; i++) verify_of[i] = SIZE_MAX;
        for (size_t r = 0; r < n_verify; r++) {
            const size_t i = rank[r].index;
            vtexts[r] = hr_pool_get(pool, pidx[i])->text;
            memcpy(vh + r * dim, emb_h + i * dim, dim * sizeof *vh);
            verify_of[i] = r;
        }
        /* Agreement is measured with the raw similarity h . x on the judged texts. */
        hr_verify_dot_data dd = {emb_a, emb_b, vh, (int)dim};
        hr_verify_options vo;
        hr_verify_options_init(&vo);
        vo.samples_per_side = (size_t)d.verify_samples;
        vo.seed = (uint64_t)d.seed;
        if (!opt.quiet)
            fprintf(stderr, "hyporank: judging %zu hypotheses on %ld + %ld texts with %s\n",
                    n_verify, d.verify_samples, d.verify_samples, opt.llm_model);
        st = hr_verify_run(llm, vtexts, n_verify, (const char *const *)ca->texts, ca->lens, ca->n,
                           (const char *const *)cb->texts, cb->lens, cb->n, hr_verify_dot_scores,
                           &dd, &vo, vres, &vstats, err, sizeof err);
        free(vtexts), free(vh);
        if (st != HR_OK) goto fail;
    }

    /* Examples: for the differences shown, the texts of their side that score highest. */
    const size_t n_ex = (size_t)d.examples;
    size_t *ex_rows = malloc((k * (n_ex ? n_ex : 1)) * sizeof *ex_rows); /* (k, n_ex) */
    size_t *ex_count = calloc(k, sizeof *ex_count);                         /* (k) */
    float *ex_score = malloc((n_ex ? n_ex : 1) * sizeof *ex_score);
    if (!ex_rows || !ex_count || !ex_score) {
        free(ex_rows), free(ex_count), free(ex_score);
        goto nomem;
    }
    size_t shown[2] = {0, 0};
    for (size_t r = 0; r < k; r++) {
        const size_t i = rank[r].index;
        const int dir = scores[i].auroc > 0.5 ? 0 : 1;
        if (scores[i].auroc == 0.5 || shown[dir] >= (size_t)d.top) continue;
        shown[dir]++;
        ex_count[i] = top_examples(emb_h + i * dim, dir ? emb_b : emb_a, dir ? cb->n : ca->n, dim,
                                   n_ex, ex_rows + i * n_ex, ex_score);
    }
    free(ex_score);

    /* The table. */
    printf("A: %s (%zu texts)   B: %s (%zu texts)\n", d.a_path, ca->n, d.b_path, cb->n);
    char sources[64] = "";
    const char *names[5] = {d.hyp_path ? "yours" : NULL, d.bank ? "bank" : NULL,
                            d.ngrams ? "words" : NULL, d.geometry ? "clusters" : NULL,
                            llm_propose ? "LLM" : NULL};
    for (int n = 0; n < 5; n++)
        if (names[n])
            snprintf(sources + strlen(sources), sizeof sources - strlen(sources), "%s%s",
                     sources[0] ? " + " : "", names[n]);
    printf("%zu candidates (%s; %zu near-duplicates merged), scored on %zu + %zu held-out texts "
           "in %.2f s; %s\n",
           k, sources, merged, na, nb, secs, cli_embedder_model(&emb_ctx));
    if (d.goal) printf("Goal: %s\n", d.goal);
    for (int dir = 0; dir < 2; dir++) {
        printf("\nMore typical of %s than of %s (%zu significant at q <= %g):\n", dir ? "B" : "A",
               dir ? "A" : "B", n_sig[dir], d.alpha);
        printf("%5s  %6s  %9s  %-6s %s\n", "rank", "auroc", "q_value", "source", "hypothesis");
        size_t printed = 0;
        for (size_t r = 0; r < k && printed < (size_t)d.top; r++) {
            const size_t i = rank[r].index;
            const hr_hypothesis_score *s = &scores[i];
            if ((dir == 0) != (s->auroc > 0.5) || s->auroc == 0.5) continue;
            const hr_pool_entry *e = hr_pool_get(pool, pidx[i]);
            char text[160];
            cli_table_text(e->text, e->len, text, 90);
            char q[16];
            printf("%5zu  %6.3f  %s  %-6s %s%s\n", r + 1, s->auroc, cli_p_text(s->q_value, q),
                   hr_hyp_source_str(e->source), text, s->q_value <= d.alpha ? "" : "  (n.s.)");
            if (verify_of && verify_of[i] != SIZE_MAX) {
                const hr_verify_result *v = &vres[verify_of[i]];
                if (isnan(v->v))
                    printf("%5s  %6s  %9s  %-6s   judge: no usable answers\n", "", "", "", "");
                else
                    printf("%5s  %6s  %9s  %-6s   judge: true of %zu/%zu A, %zu/%zu B texts; "
                           "V = %+.2f [%+.2f, %+.2f], p = %.2g\n",
                           "", "", "", "", v->n_a_true, v->n_a_answered, v->n_b_true,
                           v->n_b_answered, v->v, v->ci_low, v->ci_high, v->p_value);
            }
            const hr_corpus *c = dir ? cb : ca;
            for (size_t x = 0; x < ex_count[i]; x++) {
                size_t row = ex_rows[i * n_ex + x];
                cli_table_text(c->texts[row], c->lens[row], text, 90);
                printf("%5s  %6s  %9s  %-6s   e.g. \"%s\"\n", "", "", "", "", text);
            }
            printed++;
        }
        if (printed == 0) printf("  (none)\n");
    }
    if (geo) print_clusters(geo, pool, prop_a, prop_b, prop_na, prop_nb);
    if (llm) {
        hr_remote_stats t = hr_llm_totals(llm);
        printf("\nJudge %s at %s: %zu requests (%zu from the cache), %lld prompt + %lld "
               "completion tokens",
               opt.llm_model, hr_llm_url(llm), t.items, t.cache_hits, t.prompt_tokens,
               t.completion_tokens);
        if (t.cost_usd > 0) printf(", about $%.4f", t.cost_usd);
        printf("; %zu verdicts missing (never counted as no)\n", vstats.missing);
    }
    if (n_sig[0] + n_sig[1] == 0)
        printf("\nNo significant difference found: no candidate separates A from B at q <= %g.\n"
               "The corpora may not differ, or differ in ways no candidate names (try\n"
               "--hypotheses FILE with your own ideas, or more texts).\n",
               d.alpha);

    /* JSON. */
    if (d.json_path) {
        root = cJSON_CreateObject();
        if (!root) goto nomem_ex;
        cJSON_AddNumberToObject(root, "n_a", (double)ca->n);
        cJSON_AddNumberToObject(root, "n_b", (double)cb->n);
        cJSON *e = cJSON_AddObjectToObject(root, "encoder");
        cJSON_AddStringToObject(e, "model", cli_embedder_model(&emb_ctx));
        cJSON_AddNumberToObject(e, "dim", (double)dim);
        cJSON_AddStringToObject(e, "device", cli_embedder_device(&emb_ctx));
        if (cli_embedder_model_id(&emb_ctx))
            cJSON_AddStringToObject(e, "model_id", cli_embedder_model_id(&emb_ctx));
        cJSON *sc = cJSON_AddObjectToObject(root, "scorer");
        cJSON_AddStringToObject(sc, "device", hr_device_str(hr_scorer_device(scorer)));
        cJSON_AddStringToObject(sc, "method", hr_score_method_str(so.method));
        if (so.method == HR_SCORE_CONTRAST) cli_json_number(sc, "temperature", so.temperature);
        cJSON_AddNumberToObject(sc, "scored_a", (double)na);
        cJSON_AddNumberToObject(sc, "scored_b", (double)nb);
        cJSON_AddNumberToObject(sc, "proposal_a", (double)prop_na);
        cJSON_AddNumberToObject(sc, "proposal_b", (double)prop_nb);
        cJSON_AddNumberToObject(sc, "seed", (double)d.seed);
        cJSON_AddStringToObject(root, "a", d.a_path);
        cJSON_AddStringToObject(root, "b", d.b_path);
        if (d.goal) cJSON_AddStringToObject(root, "goal", d.goal);
        else cJSON_AddNullToObject(root, "goal");
        cJSON_AddNumberToObject(root, "alpha", d.alpha);
        cJSON_AddNumberToObject(root, "significant_a", (double)n_sig[0]);
        cJSON_AddNumberToObject(root, "significant_b", (double)n_sig[1]);
        if (llm) {
            hr_remote_stats t = hr_llm_totals(llm);
            cJSON *lj = cJSON_AddObjectToObject(root, "llm");
            cJSON_AddStringToObject(lj, "model", opt.llm_model);
            cJSON_AddStringToObject(lj, "url", hr_llm_url(llm));
            cJSON_AddNumberToObject(lj, "requests", (double)t.items);
            cJSON_AddNumberToObject(lj, "from_cache", (double)t.cache_hits);
            cJSON_AddNumberToObject(lj, "prompt_tokens", (double)t.prompt_tokens);
            cJSON_AddNumberToObject(lj, "completion_tokens", (double)t.completion_tokens);
            cli_json_number(lj, "cost_usd", t.cost_usd);
            cJSON_AddNumberToObject(lj, "verify_samples_per_side", (double)d.verify_samples);
            cJSON_AddNumberToObject(lj, "verdicts_missing", (double)vstats.missing);
        }
        if (geo) add_clusters_json(root, geo, pool, prop_a, prop_b);
        cJSON *arr = cJSON_AddArrayToObject(root, "hypotheses");
        if (!e || !sc || !arr) goto nomem_ex;
        for (size_t r = 0; r < k; r++) {
            const size_t i = rank[r].index;
            const hr_hypothesis_score *s = &scores[i];
            const hr_pool_entry *pe = hr_pool_get(pool, pidx[i]);
            cJSON *o = cJSON_CreateObject();
            if (!o) goto nomem_ex;
            cJSON_AddItemToArray(arr, o);
            cJSON_AddNumberToObject(o, "rank", (double)(r + 1));
            cJSON_AddNumberToObject(o, "index", (double)pidx[i]);
            cJSON_AddStringToObject(o, "text", pe->text);
            cJSON_AddStringToObject(o, "source", hr_hyp_source_str(pe->source));
            cJSON_AddStringToObject(o, "direction", s->auroc > 0.5 ? "A" : "B");
            cli_json_number(o, "auroc", s->auroc);
            cli_json_number(o, "mean_a", s->mean_a);
            cli_json_number(o, "mean_b", s->mean_b);
            cli_json_number(o, "p_value", s->p_value);
            cli_json_number(o, "q_value", s->q_value);
            cJSON_AddBoolToObject(o, "significant", s->q_value <= d.alpha && s->auroc != 0.5);
            if (pe->note) cJSON_AddStringToObject(o, "note", pe->note);
            if (verify_of && verify_of[i] != SIZE_MAX) {
                const hr_verify_result *v = &vres[verify_of[i]];
                cJSON *vj = cJSON_AddObjectToObject(o, "verification");
                cJSON_AddNumberToObject(vj, "n_a_true", (double)v->n_a_true);
                cJSON_AddNumberToObject(vj, "n_a_answered", (double)v->n_a_answered);
                cJSON_AddNumberToObject(vj, "n_a_missing", (double)v->n_a_missing);
                cJSON_AddNumberToObject(vj, "n_b_true", (double)v->n_b_true);
                cJSON_AddNumberToObject(vj, "n_b_answered", (double)v->n_b_answered);
                cJSON_AddNumberToObject(vj, "n_b_missing", (double)v->n_b_missing);
                cli_json_number(vj, "v", v->v);
                cli_json_number(vj, "ci_low", v->ci_low);
                cli_json_number(vj, "ci_high", v->ci_high);
                cli_json_number(vj, "p_value", v->p_value);
                cli_json_number(vj, "agreement_auroc", v->agreement_auroc);
            }
            if (ex_count[i]) {
                cJSON *ex = cJSON_AddArrayToObject(o, "examples");
                const hr_corpus *c = s->auroc > 0.5 ? ca : cb;
                for (size_t x = 0; x < ex_count[i]; x++)
                    cJSON_AddItemToArray(ex, cJSON_CreateString(c->texts[ex_rows[i * n_ex + x]]));
            }
        }
        if (!(json_text = cJSON_Print(root))) goto nomem_ex;
        if ((st = cli_write_atomic(d.json_path, json_text, err, sizeof err)) != HR_OK) {
            free(ex_rows), free(ex_count);
            goto fail;
        }
        if (!opt.quiet) fprintf(stderr, "hyporank: wrote %s\n", d.json_path);
    }

    /* Markdown. */
    if (d.md_path) {
        size_t tl = strlen(d.md_path) + 32;
        md_tmp = malloc(tl);
        if (!md_tmp) goto nomem_ex;
        snprintf(md_tmp, tl, "%s.tmp.%ld", d.md_path, (long)getpid());
        if (!(md = fopen(md_tmp, "w"))) {
            st = HR_ERR_IO;
            snprintf(err, sizeof err, "cannot create %s: %s", md_tmp, strerror(errno));
            free(ex_rows), free(ex_count);
            goto fail;
        }
        fprintf(md, "# How A differs from B\n\n");
        fprintf(md, "- **A**: `%s` (%zu texts)\n- **B**: `%s` (%zu texts)\n", d.a_path, ca->n,
                d.b_path, cb->n);
        if (d.goal) {
            fprintf(md, "- **Goal**: ");
            md_escape(md, d.goal);
            fprintf(md, "\n");
        }
        fprintf(md, "- %zu candidate hypotheses, scored on %zu + %zu held-out texts with %s "
                    "(%s); significant: q-value at most %g (Benjamini-Hochberg)\n",
                k, na, nb, cli_embedder_model(&emb_ctx), hr_score_method_str(so.method), d.alpha);
        for (int dir = 0; dir < 2; dir++) {
            fprintf(md, "\n## More typical of %s\n\n", dir ? "B" : "A");
            if (verify_of)
                fprintf(md, "| rank | hypothesis | AUROC | q-value | source | judge V [95%% CI] | "
                            "examples |\n|---:|---|---:|---:|---|---|---|\n");
            else
                fprintf(md, "| rank | hypothesis | AUROC | q-value | source | examples |\n"
                            "|---:|---|---:|---:|---|---|\n");
            size_t printed = 0;
            for (size_t r = 0; r < k && printed < (size_t)d.top; r++) {
                const size_t i = rank[r].index;
                const hr_hypothesis_score *s = &scores[i];
                if ((dir == 0) != (s->auroc > 0.5) || s->auroc == 0.5) continue;
                const hr_pool_entry *pe = hr_pool_get(pool, pidx[i]);
                fprintf(md, "| %zu | ", r + 1);
                md_escape(md, pe->text);
                fprintf(md, "%s | %.3f | %.2g | %s | ", s->q_value <= d.alpha ? "" : " (n.s.)",
                        s->auroc, s->q_value, hr_hyp_source_str(pe->source));
                if (verify_of && verify_of[i] != SIZE_MAX && !isnan(vres[verify_of[i]].v))
                    fprintf(md, "%+.2f [%+.2f, %+.2f] | ", vres[verify_of[i]].v,
                            vres[verify_of[i]].ci_low, vres[verify_of[i]].ci_high);
                else if (verify_of)
                    fprintf(md, " | ");
                const hr_corpus *c = dir ? cb : ca;
                for (size_t x = 0; x < ex_count[i]; x++) {
                    fprintf(md, "%s\"", x ? "; " : "");
                    md_escape(md, c->texts[ex_rows[i * n_ex + x]]);
                    fprintf(md, "\"");
                }
                fprintf(md, " |\n");
                printed++;
            }
        }
        if (n_sig[0] + n_sig[1] == 0)
            fprintf(md, "\nNo significant difference found at q <= %g.\n", d.alpha);
        int ok = fflush(md) == 0 && fsync(fileno(md)) == 0;
        ok = fclose(md) == 0 && ok;
        md = NULL;
        if (!ok || rename(md_tmp, d.md_path) != 0) {
            st = HR_ERR_IO;
            snprintf(err, sizeof err, "cannot write %s: %s", d.md_path, strerror(errno));
            unlink(md_tmp);
            free(ex_rows), free(ex_count);
            goto fail;
        }
        if (!opt.quiet) fprintf(stderr, "hyporank: wrote %s\n", d.md_path);
    }
    free(ex_rows), free(ex_count);
    goto done;
nomem_ex:
    free(ex_rows), free(ex_count);
nomem:
    st = HR_ERR_NOMEM;
    snprintf(err, sizeof err, "out of memory");
fail:
    rc = cli_error(st, err);
done:
    if (md) {
        fclose(md);
        unlink(md_tmp);
    }
    free(md_tmp);
    free(json_text);
    free(verify_of);
    free(vres);
    free(pidx);
    free(keep);
    free(xp);
    free(dec);
    hr_geometry_report_destroy(geo);
    hr_verify_stats_free(&vstats);
    hr_llm_destroy(llm);
    cJSON_Delete(root);
    free(rank);
    free(scores);
    free(score_a), free(score_b), free(emb_a), free(emb_b), free(emb_h);
    free(prop_a), free(prop_b), free(prop_a_len), free(prop_b_len);
    free(order_a), free(order_b);
    hr_scorer_destroy(scorer);
    cli_embedder_close(&emb_ctx);
    hr_pool_destroy(pool);
    hr_corpus_destroy(ca), hr_corpus_destroy(cb), hr_corpus_destroy(ch);
    return rc;
}
