/* host/cli/cmd_rank.c: hyporank rank: hypotheses ranked by how well they
 * separate corpus A from corpus B (AUROC, p-value, BH q-value). */
#include "cli.h"
#include "hyporank/cache.h"
#include "hyporank/corpus.h"
#include "hyporank/model.h"
#include "hyporank/npy.h"
#include "hyporank/scorer.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char rank_help[] =
    "usage: hyporank rank --a FILE --b FILE --hypotheses FILE [--json OUT] [options]\n"
    "       hyporank rank --a-emb A.npy --b-emb B.npy --h-emb H.npy [--hypotheses FILE]\n"
    "\n"
    "Ranks hypotheses (short sentences such as \"is about sports\") by how well\n"
    "they separate the texts of corpus A from those of corpus B. Every text and\n"
    "every hypothesis is embedded with the sentence encoder (through the cache);\n"
    "the score of a hypothesis on a text comes from the similarity of their\n"
    "embeddings (see --score-method). For\n"
    "each hypothesis hyporank reports:\n"
    "\n"
    "  auroc    the chance that a random A text scores above a random B text (ties\n"
    "           count one half): 0.5 = no difference, above 0.5 = more typical of\n"
    "           A (direction A), below = more typical of B (direction B)\n"
    "  mean_a, mean_b   the mean score over A and over B\n"
    "  p_value  two-sided Mann-Whitney test (normal approximation, tie-corrected)\n"
    "  q_value  Benjamini-Hochberg over all hypotheses of the run: keep those with\n"
    "           q <= 0.05 and at most 5%% of them are expected to be flukes\n"
    "\n"
    "Hypotheses are listed by auroc, highest first: the top describes A, the\n"
    "bottom describes B. The table shows the first --top; --json has them all.\n"
    "\n"
    "Input (each side as texts, or as embeddings already computed):\n"
    "  --a FILE            corpus A: .jsonl (field \"text\"), .txt (one text a line)\n"
    "                      or .csv (column \"text\")\n"
    "  --b FILE            corpus B, likewise\n"
    "  --hypotheses FILE   one hypothesis a line (.txt) or .jsonl (field \"text\",\n"
    "                      or --hypothesis-field); blank lines are skipped, repeated\n"
    "                      hypotheses are kept and marked \"duplicate_of\"\n"
    "  --a-emb A.npy       embeddings of A instead of --a (float32, shape (n, dim),\n"
    "                      as written by hyporank embed)\n"
    "  --b-emb B.npy       embeddings of B instead of --b\n"
    "  --h-emb H.npy       embeddings of the hypotheses; --hypotheses then only\n"
    "                      gives their texts (one per row of H.npy, same order)\n"
    "  --hypothesis-field NAME   JSONL field of the hypotheses (default text)\n"
    "Output:\n"
    "  --json OUT          write every hypothesis to OUT (written whole or not at\n"
    "                      all): n_a, n_b, encoder, hypotheses[rank, index, text,\n"
    "                      source, direction, auroc, mean_a, mean_b, p_value,\n"
    "                      q_value]; index is the hypothesis's row in its file,\n"
    "                      from 0, blank lines not counted\n"
    "  --top N             rows of the table on standard output (default 20; 0: all)\n"
    "Scoring:\n"
    "  --memory-mb N       memory for the score matrix tiles (default 256)\n"
    "\n"
    "%s"
    "%s"
    "\n"
    "Examples:\n"
    "  hyporank rank --a 2020.jsonl --b 2019.jsonl --hypotheses ideas.txt --json out.json\n"
    "  hyporank embed --in 2020.jsonl --out a.npy; hyporank embed --in 2019.jsonl --out b.npy\n"
    "  hyporank embed --in ideas.txt --out h.npy\n"
    "  hyporank rank --a-emb a.npy --b-emb b.npy --h-emb h.npy --hypotheses ideas.txt\n";

/* One side of the comparison (A, B or the hypotheses). */
typedef struct side {
    const char *name;     /* "A", "B", "hypotheses" */
    const char *text_path;
    const char *npy_path;
    hr_corpus *corpus;    /* texts, when read from text_path */
    float *emb;           /* (n, dim) row-major */
    size_t n;
    size_t dim;
} side;

/* Every value finite: NaN or Inf names the file, row and column. */
static hr_status check_finite(const side *s, const char *path, char *err, size_t errlen)
{
    for (size_t r = 0; r < s->n; r++)
        for (size_t c = 0; c < s->dim; c++) {
            const float v = s->emb[r * s->dim + c];
            if (!isfinite(v)) {
                snprintf(err, errlen,
                         "%s: row %zu, column %zu (counting from 0) is %s: embeddings must be "
                         "finite numbers",
                         path, r, c, isnan(v) ? "NaN" : (v > 0 ? "+Inf" : "-Inf"));
                return HR_ERR_INPUT;
            }
        }
    return HR_OK;
}

static hr_status load_npy(side *s, char *err, size_t errlen)
{
    hr_status st = hr_npy_read_f32(s->npy_path, &s->emb, &s->n, &s->dim, err, errlen);
    if (st != HR_OK) return st;
    if (s->n == 0) {
        snprintf(err, errlen, "%s: no rows: the %s need at least one embedding", s->npy_path,
                 s->name);
        return HR_ERR_INPUT;
    }
    if (s->dim == 0) {
        snprintf(err, errlen, "%s: rows of width 0", s->npy_path);
        return HR_ERR_INPUT;
    }
    return check_finite(s, s->npy_path, err, errlen);
}

/* Duplicates: dup[i] = index of the first hypothesis equal to i, or -1.
 * Equal means the same text when there are texts, else the same embedding. */
static const side *dup_ctx;

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

typedef struct ranked {
    size_t index;
    const hr_hypothesis_score *s;
} ranked;

static int cmp_ranked(const void *x, const void *y)
{
    const ranked *a = x, *b = y;
    if (a->s->auroc != b->s->auroc) return a->s->auroc > b->s->auroc ? -1 : 1;
    return (a->index > b->index) - (a->index < b->index);
}

static hr_status embed_side(side *s, cli_embedder *e, char *err, size_t errlen)
{
    char label[64];
    snprintf(label, sizeof label, "embedding %s", s->name);
    s->n = s->corpus->n;
    hr_status st = cli_embedder_embed_corpus(e, s->corpus, label, &s->emb, err, errlen);
    s->dim = e->dim;
    return st;
}

int cmd_rank(int argc, char **argv)
{
    const char *cmd = "rank";
    cli_common opt;
    cli_common_init(&opt);
    side a = {.name = "A"}, b = {.name = "B"}, h = {.name = "hypotheses"};
    const char *json_path = NULL, *hyp_field = "text";
    long top = 20, memory_mb = 256;
    hr_scorer_options so = hr_scorer_default_options();
    for (int i = 0; i < argc; i++) {
        int r = cli_common_parse(&opt, cmd, argc, argv, &i);
        if (r == 0) r = cli_scorer_parse(&so, cmd, argc, argv, &i);
        if (r < 0) return CLI_EXIT_USAGE;
        if (r > 0) continue;
        const char *o = argv[i];
        const char **dst = NULL;
        if (strcmp(o, "--help") == 0 || strcmp(o, "-h") == 0) {
            printf(rank_help, cli_scorer_help, cli_common_help);
            return CLI_EXIT_OK;
        } else if (strcmp(o, "--a") == 0) dst = &a.text_path;
        else if (strcmp(o, "--b") == 0) dst = &b.text_path;
        else if (strcmp(o, "--hypotheses") == 0) dst = &h.text_path;
        else if (strcmp(o, "--a-emb") == 0) dst = &a.npy_path;
        else if (strcmp(o, "--b-emb") == 0) dst = &b.npy_path;
        else if (strcmp(o, "--h-emb") == 0) dst = &h.npy_path;
        else if (strcmp(o, "--json") == 0) dst = &json_path;
        else if (strcmp(o, "--hypothesis-field") == 0) dst = &hyp_field;
        else if (strcmp(o, "--top") == 0 || strcmp(o, "--memory-mb") == 0) {
            const char *v = cli_take_value(cmd, argc, argv, &i);
            int ok;
            if (!v) return CLI_EXIT_USAGE;
            if (strcmp(o, "--top") == 0) top = cli_parse_long(cmd, o, v, 0, 1000000000L, &ok);
            else memory_mb = cli_parse_long(cmd, o, v, 1, 1L << 20, &ok);
            if (!ok) return CLI_EXIT_USAGE;
            continue;
        } else {
            return cli_usage_error(cmd, "unknown option '%s'", o);
        }
        if (!(*dst = cli_take_value(cmd, argc, argv, &i))) return CLI_EXIT_USAGE;
    }
    side *sides[3] = {&a, &b, &h};
    const char *text_opt[3] = {"--a FILE", "--b FILE", "--hypotheses FILE"};
    const char *npy_opt[3] = {"--a-emb A.npy", "--b-emb B.npy", "--h-emb H.npy"};
    for (int k = 0; k < 2; k++) {
        if (sides[k]->text_path && sides[k]->npy_path)
            return cli_usage_error(cmd, "give %s or %s, not both", text_opt[k], npy_opt[k]);
        if (!sides[k]->text_path && !sides[k]->npy_path)
            return cli_usage_error(cmd, "%s (or %s) is required", text_opt[k], npy_opt[k]);
    }
    if (!h.text_path && !h.npy_path)
        return cli_usage_error(cmd, "%s (or %s) is required", text_opt[2], npy_opt[2]);
    if (!*hyp_field) return cli_usage_error(cmd, "--hypothesis-field must not be empty");

    char err[1024] = "";
    hr_status st = HR_OK;
    int rc = CLI_EXIT_OK;
    cli_embedder emb_ctx;
    memset(&emb_ctx, 0, sizeof emb_ctx);
    hr_scorer *scorer = NULL;
    hr_hypothesis_score *scores = NULL;
    ranked *order = NULL;
    long *dup = NULL;
    cJSON *root = NULL;
    char *json_text = NULL;

    /* Texts first: a bad file is reported before any slow work. */
    const double t_start = cli_now();
    double t_read = 0.0, t_embed = 0.0; /* seconds spent reading inputs, embedding */
    hr_corpus_options copt = {opt.text_field, HR_FORMAT_AUTO};
    hr_corpus_options hopt = {hyp_field, HR_FORMAT_AUTO};
    for (int k = 0; k < 3; k++) {
        side *s = sides[k];
        if (!s->text_path) continue;
        st = hr_corpus_read(s->text_path, k == 2 ? &hopt : &copt, &s->corpus, err, sizeof err);
        if (st == HR_ERR_INPUT && k == 2 && strstr(err, ": no texts")) {
            snprintf(err, sizeof err, "%s: no hypotheses (the file is empty or all blank lines)",
                     s->text_path);
            goto fail;
        }
        if (st != HR_OK) goto fail;
    }
    for (int k = 0; k < 3; k++)
        if (sides[k]->npy_path && (st = load_npy(sides[k], err, sizeof err)) != HR_OK) goto fail;
    if (h.npy_path && h.corpus && h.corpus->n != h.n) {
        st = HR_ERR_INPUT;
        snprintf(err, sizeof err,
                 "%s has %zu hypotheses but %s has %zu rows: they must match, one row per "
                 "hypothesis in file order",
                 h.text_path, h.corpus->n, h.npy_path, h.n);
        goto fail;
    }

    t_read = cli_now() - t_start;

    /* Embed what came as text. */
    const int need_model = (a.text_path != NULL) + (b.text_path != NULL) + (h.npy_path == NULL);
    if (need_model) {
        if ((st = cli_embedder_open(&emb_ctx, &opt, err, sizeof err)) != HR_OK) goto fail;
        for (int k = 0; k < 3; k++) {
            side *s = sides[k];
            if (s->npy_path) continue;
            if ((st = embed_side(s, &emb_ctx, err, sizeof err)) != HR_OK) goto fail;
        }
    }
    t_embed = cli_now() - t_start - t_read;
    /* One width for all: embeddings from one model. */
    for (int k = 1; k < 3; k++) {
        const side *s = sides[k];
        if (s->dim != a.dim) {
            st = HR_ERR_INPUT;
            snprintf(err, sizeof err,
                     "dimension mismatch: %s has %zu columns but %s has %zu: A, B and the "
                     "hypotheses must be embedded by the same model",
                     s->npy_path ? s->npy_path : s->text_path, s->dim,
                     a.npy_path ? a.npy_path : a.text_path, a.dim);
            if (need_model && (!s->npy_path || !a.npy_path))
                snprintf(err + strlen(err), sizeof err - strlen(err), " (the model %s gives %zu)",
                         cli_embedder_model(&emb_ctx), emb_ctx.dim);
            goto fail;
        }
    }

    /* Repeated hypotheses: kept and ranked, but said. */
    size_t n_dup = 0;
    if (!(dup = find_duplicates(&h, &n_dup))) {
        st = HR_ERR_NOMEM;
        snprintf(err, sizeof err, "out of memory");
        goto fail;
    }
    if (n_dup) {
        const char *hp = h.text_path ? h.text_path : h.npy_path;
        for (size_t i = 0; i < h.n; i++) {
            if (dup[i] < 0) continue;
            if (h.corpus)
                fprintf(stderr,
                        "hyporank: note: %s:%zu repeats hypothesis %ld (line %zu); both are kept "
                        "and ranked (\"duplicate_of\": %ld)\n",
                        hp, h.corpus->lines[i], dup[i], h.corpus->lines[dup[i]], dup[i]);
            else
                fprintf(stderr,
                        "hyporank: note: %s: row %zu repeats row %ld; both are kept and ranked "
                        "(\"duplicate_of\": %ld)\n",
                        hp, i, dup[i], dup[i]);
        }
    }

    /* Score. */
    so.device = opt.device;
    so.n_threads = opt.threads;
    so.memory_bytes = (size_t)memory_mb << 20;
    double t0 = cli_now();
    if ((st = hr_scorer_create(a.emb, a.n, b.emb, b.n, (int)a.dim, &so, &scorer, err, sizeof err)) !=
        HR_OK)
        goto fail;
    scores = malloc(h.n * sizeof *scores);
    order = malloc(h.n * sizeof *order);
    if (!scores || !order) {
        st = HR_ERR_NOMEM;
        snprintf(err, sizeof err, "out of memory for %zu hypotheses", h.n);
        goto fail;
    }
    if ((st = hr_scorer_score(scorer, h.emb, h.n, scores, err, sizeof err)) != HR_OK) goto fail;
    const double secs = cli_now() - t0;
    for (size_t i = 0; i < h.n; i++) order[i] = (ranked){i, &scores[i]};
    qsort(order, h.n, sizeof *order, cmp_ranked);

    /* JSON. */
    if (json_path) {
        root = cJSON_CreateObject();
        cJSON_AddNumberToObject(root, "n_a", (double)a.n);
        cJSON_AddNumberToObject(root, "n_b", (double)b.n);
        cJSON *e = cJSON_AddObjectToObject(root, "encoder");
        const int all_npy = !need_model;
        cJSON_AddStringToObject(e, "model", all_npy ? "precomputed" : cli_embedder_model(&emb_ctx));
        cJSON_AddNumberToObject(e, "dim", (double)a.dim);
        cJSON_AddStringToObject(e, "device", all_npy ? "none" : cli_embedder_device(&emb_ctx));
        if (!all_npy && cli_embedder_model_id(&emb_ctx))
            cJSON_AddStringToObject(e, "model_id", cli_embedder_model_id(&emb_ctx));
        cJSON *pre = cJSON_AddArrayToObject(e, "precomputed");
        for (int k = 0; k < 3; k++)
            if (sides[k]->npy_path) cJSON_AddItemToArray(pre, cJSON_CreateString(sides[k]->npy_path));
        cJSON *sc = cJSON_AddObjectToObject(root, "scorer");
        cJSON_AddStringToObject(sc, "device", hr_device_str(hr_scorer_device(scorer)));
        cJSON_AddStringToObject(sc, "method", hr_score_method_str(so.method));
        if (so.method == HR_SCORE_CONTRAST) cli_json_number(sc, "temperature", so.temperature);
        cJSON *tm = cJSON_AddObjectToObject(root, "seconds");
        cli_json_number(tm, "read", t_read);
        cli_json_number(tm, "embed", t_embed);
        cli_json_number(tm, "score", secs);
        cJSON_AddStringToObject(sc, "p_value", "two-sided Mann-Whitney U, normal approximation, "
                                               "tie and continuity corrected");
        cJSON_AddStringToObject(sc, "q_value", "Benjamini-Hochberg over all hypotheses");
        cJSON *in = cJSON_AddObjectToObject(root, "inputs");
        cJSON_AddStringToObject(in, "a", a.npy_path ? a.npy_path : a.text_path);
        cJSON_AddStringToObject(in, "b", b.npy_path ? b.npy_path : b.text_path);
        cJSON_AddStringToObject(in, "hypotheses", h.text_path ? h.text_path : h.npy_path);
        cJSON_AddNumberToObject(root, "n_hypotheses", (double)h.n);
        cJSON *arr = cJSON_AddArrayToObject(root, "hypotheses");
        if (!root || !e || !pre || !sc || !in || !arr) goto nomem_json;
        for (size_t r = 0; r < h.n; r++) {
            const size_t i = order[r].index;
            const hr_hypothesis_score *s = &scores[i];
            cJSON *o = cJSON_CreateObject();
            if (!o) goto nomem_json;
            cJSON_AddItemToArray(arr, o);
            cJSON_AddNumberToObject(o, "rank", (double)(r + 1));
            cJSON_AddNumberToObject(o, "index", (double)i);
            if (h.corpus) {
                cJSON_AddStringToObject(o, "text", h.corpus->texts[i]);
                cJSON_AddNumberToObject(o, "line", (double)h.corpus->lines[i]);
            } else {
                cJSON_AddNullToObject(o, "text");
            }
            cJSON_AddStringToObject(o, "source", "user");
            cJSON_AddStringToObject(o, "direction", s->auroc > 0.5 ? "A" : "B");
            cli_json_number(o, "auroc", s->auroc);
            cli_json_number(o, "mean_a", s->mean_a);
            cli_json_number(o, "mean_b", s->mean_b);
            cli_json_number(o, "p_value", s->p_value);
            cli_json_number(o, "q_value", s->q_value);
            cli_json_number(o, "z", s->z);
            if (dup[i] >= 0) cJSON_AddNumberToObject(o, "duplicate_of", (double)dup[i]);
        }
        if (!(json_text = cJSON_Print(root))) goto nomem_json;
        if ((st = cli_write_atomic(json_path, json_text, err, sizeof err)) != HR_OK) goto fail;
    }

    /* The table. */
    printf("A: %s (%zu)   B: %s (%zu)   %zu hypotheses, dim %zu, scored in %.2f s (%s)\n",
           a.npy_path ? a.npy_path : a.text_path, a.n, b.npy_path ? b.npy_path : b.text_path, b.n,
           h.n, a.dim, secs, hr_device_str(hr_scorer_device(scorer)));
    printf("%5s  %6s  %3s  %7s  %7s  %9s  %9s  %s\n", "rank", "auroc", "dir", "mean_a", "mean_b",
           "p_value", "q_value", "hypothesis");
    const size_t show = top == 0 || (size_t)top > h.n ? h.n : (size_t)top;
    for (size_t r = 0; r < show; r++) {
        const size_t i = order[r].index;
        const hr_hypothesis_score *s = &scores[i];
        char text[128];
        if (h.corpus) cli_table_text(h.corpus->texts[i], h.corpus->lens[i], text, 72);
        else snprintf(text, sizeof text, "(row %zu of %s)", i, h.npy_path);
        char p[16], q[16];
        printf("%5zu  %6.4f  %3s  %7.4f  %7.4f  %s  %s  %s%s\n", r + 1, s->auroc,
               s->auroc > 0.5 ? "A" : "B", s->mean_a, s->mean_b, cli_p_text(s->p_value, p),
               cli_p_text(s->q_value, q), text, dup[i] >= 0 ? " (repeat)" : "");
    }
    if (show < h.n) printf("(%zu more; --top 0 shows all%s)\n", h.n - show, json_path ? ", --json has all" : "");
    if (json_path && !opt.quiet) fprintf(stderr, "hyporank: wrote %s\n", json_path);
    if (!opt.quiet)
        fprintf(stderr, "hyporank: %.2f s: read %.2f s, embed %.2f s (%s), score %.2f s (%s), "
                        "report %.2f s\n",
                cli_now() - t_start, t_read, t_embed,
                need_model ? cli_embedder_device(&emb_ctx) : "precomputed", secs,
                hr_device_str(hr_scorer_device(scorer)), cli_now() - t_start - t_read - t_embed - secs);
    goto done;
nomem_json:
    st = HR_ERR_NOMEM;
    snprintf(err, sizeof err, "out of memory building the JSON");
fail:
    rc = cli_error(st, err);
done:
    free(json_text);
    cJSON_Delete(root);
    free(dup);
    free(order);
    free(scores);
    hr_scorer_destroy(scorer);
    cli_embedder_close(&emb_ctx);
    for (int k = 0; k < 3; k++) {
        free(sides[k]->emb);
        hr_corpus_destroy(sides[k]->corpus);
    }
    return rc;
}
