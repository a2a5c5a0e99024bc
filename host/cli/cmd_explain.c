/* host/cli/cmd_explain.c: hyporank explain: how much of a classifier's
 * performance a few readable hypotheses explain. The statistics live in the
 * library (include/hyporank/explain.h); this file reads the labelled texts,
 * builds the candidate pool, embeds, and reports. */
#include "cli.h"
#include "core/random.h"
#include "hyporank/corpus.h"
#include "hyporank/explain.h"
#include "hyporank/probe.h"
#include "hyporank/proposers.h"
#include "hyporank/scorer.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* X is undefined when the reference's AUROC is at most 0.5 + this. */
#define EXPLAIN_EPSILON 0.01

static const char explain_help[] =
    "usage: hyporank explain --data FILE --label-field NAME [--score-field NAME] [options]\n"
    "       hyporank explain --a FILE --b FILE [options]\n"
    "\n"
    "How much of a classifier's performance do a few readable hypotheses explain?\n"
    "\n"
    "Reference (the opaque model): without --score-field, an L2 logistic-regression\n"
    "probe on the sentence embeddings, evaluated by stratified k-fold\n"
    "cross-validation (its held-out AUROC); with --score-field, the classifier's own\n"
    "score of each text (its AUROC against the labels).\n"
    "\n"
    "Readable model: a logistic regression on the scores of at most --top-k\n"
    "hypotheses, chosen greedily (each step adds the candidate that most improves\n"
    "the cross-validated AUROC) from the strongest single candidates of a pool: the\n"
    "built-in bank, the words and word pairs whose frequency differs most between\n"
    "the classes (found on a held-out share of the texts, --holdout, which is then\n"
    "not evaluated) and your own (--hypotheses). A hypothesis's score on a text is\n"
    "the cosine similarity of their embeddings (--score-method contrast or centered\n"
    "measure it against the other candidates instead, so that a feature moves with\n"
    "the rest of the pool; explain's default is cosine). The choosing is redone\n"
    "inside every training part of the same folds as the reference, so every\n"
    "AUROC reported is held-out.\n"
    "\n"
    "Explained: X = (AUROC_readable - 0.5) / (AUROC_reference - 0.5), with a 95%%\n"
    "bootstrap interval (texts resampled, both AUROCs recomputed from the held-out\n"
    "values). Undefined when the reference is no better than chance (AUROC at most\n"
    "0.51); no interval when the reference is not reliably above chance.\n"
    "Residual: texts the reference gets right and the hypotheses get wrong.\n"
    "\n"
    "Input:\n"
    "  --data FILE         labelled texts: .jsonl or .csv (text in field \"text\" or\n"
    "                      --text-field)\n"
    "  --label-field NAME  the label: two distinct values, strings or numbers\n"
    "  --positive VALUE    which label is the positive class (default: the larger\n"
    "                      number, else the later string)\n"
    "  --score-field NAME  a classifier's score per text (a number): it becomes the\n"
    "                      reference, and the report adds how well the hypotheses\n"
    "                      predict the classifier's own decisions (score > median)\n"
    "  --a FILE --b FILE   instead of --data: two corpora, A the positive class\n"
    "  --continuous        the label is a number with many values (a continuous\n"
    "                      target): the reference is a ridge regression on the\n"
    "                      embeddings (lambda 1, plain k-fold held-out predictions),\n"
    "                      the readable model least squares (ridge 1 on\n"
    "                      standardised scores) on hypotheses chosen greedily by\n"
    "                      held-out Spearman correlation, nested as above; both are\n"
    "                      reported as held-out Spearman rho and R^2, and\n"
    "                      X = rho_readable / rho_reference (undefined when\n"
    "                      rho_reference <= 0.01). Word candidates contrast the\n"
    "                      word share's texts above the median target with the\n"
    "                      rest. Not with --score-field, --positive, --a/--b or\n"
    "                      --rounds\n"
    "Candidates:\n"
    "  --hypotheses FILE   your own candidates too, one a line (.txt or .jsonl)\n"
    "  --no-bank           leave out the built-in bank\n"
    "  --no-ngrams         leave out the word candidates (then every text is evaluated)\n"
    "  --ngrams N          word candidates per direction (default 25)\n"
    "  --holdout F         share of the texts the word candidates are found on\n"
    "                      (default 0.3)\n"
    "  --rounds N          rounds of proposing (default 1). Each later round takes the\n"
    "                      residual of the word share (its texts the reference gets\n"
    "                      right and the hypotheses wrong, both models fitted on the\n"
    "                      evaluated texts), adds the words that set each class's\n"
    "                      residual apart from the other class's texts of that share,\n"
    "                      and lets the choosing go on from what was chosen (up to\n"
    "                      --top-k more). The evaluated texts are never proposed\n"
    "                      from, so every AUROC stays held-out. Needs the word share\n"
    "                      (not --no-ngrams); stops when a round adds nothing.\n"
    "Model:\n"
    "  --top-k N           hypotheses chosen at most (default 5)\n"
    "  --candidates M      each step chooses among the M strongest single\n"
    "                      candidates (default 50)\n"
    "  --folds K           cross-validation folds (default 5)\n"
    "  --seed N            folds, split and bootstrap (default 1)\n"
    "  --bootstrap B       resamples for the interval (default 1000)\n"
    "Output:\n"
    "  --examples N        residual texts shown (default 5)\n"
    "  --json OUT          n, positive_label, folds, seed, reference_auroc,\n"
    "                      selected[text, source, direction, auroc, explained],\n"
    "                      explained, explained_ci, rounds[candidates_added, auroc,\n"
    "                      explained], residual_examples, ...; with --continuous:\n"
    "                      target \"continuous\", reference_spearman, reference_r2,\n"
    "                      readable_spearman, readable_r2, selected[text, spearman,\n"
    "                      r2, explained], explained, explained_ci (no residual)\n"
    "\n"
    "%s"
    "%s"
    "\n"
    "Example:\n"
    "  hyporank explain --data reviews.jsonl --label-field label --score-field prob \\\n"
    "      --json explain.json\n";

typedef struct explain_opts {
    const char *a_path, *b_path, *data_path, *label_field, *positive, *score_field;
    const char *hyp_path, *json_path;
    int bank, ngrams, continuous;
    long rounds, ngram_k, top_k, candidates, folds, seed, bootstrap, examples;
    double holdout;
} explain_opts;

/* The labelled texts, whichever way they came. */
typedef struct dataset {
    size_t n;
    const char **texts;   /* (n) borrowed from the corpora */
    size_t *lens;         /* (n) */
    const char **files;   /* (n) the file of each text */
    size_t *lines;        /* (n) its line there */
    uint8_t *y;           /* (n) 1: positive class */
    double *score;        /* (n) --score-field, or NULL */
    double *target;       /* (n) --continuous: the numeric label, or NULL */
    char label[2][256];   /* the labels of class 0 and class 1 */
    int numeric;          /* both labels are numbers */
} dataset;

static void dataset_free(dataset *d)
{
    free(d->texts), free(d->lens), free(d->files), free(d->lines), free(d->y), free(d->score);
    free(d->target);
    memset(d, 0, sizeof *d);
}

static int dataset_alloc(dataset *d, size_t n, int with_score)
{
    d->n = n;
    d->texts = malloc(n * sizeof *d->texts);
    d->lens = malloc(n * sizeof *d->lens);
    d->files = malloc(n * sizeof *d->files);
    d->lines = malloc(n * sizeof *d->lines);
    d->y = malloc(n);
    d->score = with_score ? malloc(n * sizeof *d->score) : NULL;
    return d->texts && d->lens && d->files && d->lines && d->y && (!with_score || d->score) ? 0 : -1;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcasecmp(s + a - b, suffix) == 0;
}

/* A whole string as a finite number. */
static int parse_number(const char *s, double *out)
{
    while (isspace((unsigned char)*s)) s++;
    if (!*s) return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    while (isspace((unsigned char)*end)) end++;
    if (*end || errno == ERANGE || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

/* The canonical text of a numeric label: "1" for 1, 1.0 and "1.0". */
static void number_label(double v, char *out, size_t len)
{
    if (v == floor(v) && fabs(v) < 1e15) snprintf(out, len, "%.0f", v);
    else snprintf(out, len, "%.17g", v);
}

/* A label value as text: numbers canonical, other strings as they are. */
static void canonical_label(const char *s, char *out, size_t len)
{
    double v;
    if (parse_number(s, &v) == 0) number_label(v, out, len);
    else snprintf(out, len, "%s", s);
}

/* Collects the labels: raw[i] is text i's label (canonical), at most two
 * distinct values, else an error naming the third and its line. */
static hr_status assign_labels(dataset *d, char (*raw)[256], const char *path,
                               const char *field, const char *positive, char *err, size_t errlen)
{
    char seen[2][256];
    int nseen = 0;
    for (size_t i = 0; i < d->n; i++) {
        int k = 0;
        while (k < nseen && strcmp(seen[k], raw[i]) != 0) k++;
        if (k < nseen) continue;
        if (nseen == 2) {
            snprintf(err, errlen,
                     "%s:%zu: label field \"%s\" has a third value '%s' (after '%s' and '%s'); "
                     "explain needs binary labels (two distinct values); continuous targets "
                     "are not supported yet",
                     path, d->lines[i], field, raw[i], seen[0], seen[1]);
            return HR_ERR_INPUT;
        }
        snprintf(seen[nseen++], sizeof seen[0], "%s", raw[i]);
    }
    if (nseen < 2) {
        snprintf(err, errlen,
                 "%s: every text has label '%s' (field \"%s\"): a single class; explain needs "
                 "two classes",
                 path, nseen ? seen[0] : "", field);
        return HR_ERR_INPUT;
    }
    double v0, v1;
    d->numeric = parse_number(seen[0], &v0) == 0 && parse_number(seen[1], &v1) == 0;
    int pos; /* index in seen[] of the positive label */
    if (positive) {
        char want[256];
        canonical_label(positive, want, sizeof want);
        if (strcmp(want, seen[0]) == 0) pos = 0;
        else if (strcmp(want, seen[1]) == 0) pos = 1;
        else {
            snprintf(err, errlen, "--positive '%s' is not one of the labels of %s: '%s', '%s'",
                     positive, path, seen[0], seen[1]);
            return HR_ERR_INPUT;
        }
    } else if (d->numeric) {
        pos = v1 > v0 ? 1 : 0;
    } else {
        pos = strcmp(seen[1], seen[0]) > 0 ? 1 : 0;
    }
    snprintf(d->label[1], sizeof d->label[1], "%s", seen[pos]);
    snprintf(d->label[0], sizeof d->label[0], "%s", seen[1 - pos]);
    for (size_t i = 0; i < d->n; i++) d->y[i] = strcmp(raw[i], d->label[1]) == 0;
    return HR_OK;
}

static char *read_file(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n == cap) {
            char *b = realloc(buf, cap * 2);
            if (!b) break;
            buf = b;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            fclose(f);
            *len = n;
            return buf;
        }
    }
    free(buf);
    fclose(f);
    snprintf(err, errlen, "%s: out of memory", path);
    return NULL;
}

/* JSONL: the label (and score) of each text, from the line the corpus reader
 * found it on. raw: (n) canonical labels. */
static hr_status jsonl_fields(dataset *d, const hr_corpus *c, const explain_opts *o,
                              char (*raw)[256], char *err, size_t errlen)
{
    size_t len;
    char *buf = read_file(o->data_path, &len, err, errlen);
    if (!buf) return HR_ERR_IO;
    hr_status st = HR_OK;
    size_t line = 1, ti = 0, at = 0;
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) at = 3; /* a byte-order mark */
    while (ti < c->n && at <= len) {
        size_t end = at;
        while (end < len && buf[end] != '\n') end++;
        if (line == c->lines[ti]) {
            cJSON *root = cJSON_ParseWithLength(buf + at, end - at);
            const cJSON *v = root ? cJSON_GetObjectItemCaseSensitive(root, o->label_field) : NULL;
            if (!v || cJSON_IsNull(v) || (cJSON_IsString(v) && !*v->valuestring)) {
                snprintf(err, errlen, "%s:%zu: no label: field \"%s\" is %s", o->data_path, line,
                         o->label_field, !v ? "missing" : (cJSON_IsNull(v) ? "null" : "empty"));
                st = HR_ERR_INPUT;
            } else if (cJSON_IsString(v)) {
                canonical_label(v->valuestring, raw[ti], sizeof raw[ti]);
            } else if (cJSON_IsNumber(v)) {
                number_label(v->valuedouble, raw[ti], sizeof raw[ti]);
            } else if (cJSON_IsBool(v)) {
                snprintf(raw[ti], sizeof raw[ti], "%s", cJSON_IsTrue(v) ? "true" : "false");
            } else {
                snprintf(err, errlen, "%s:%zu: label field \"%s\" is %s, not a string or number",
                         o->data_path, line, o->label_field,
                         cJSON_IsArray(v) ? "an array" : "an object");
                st = HR_ERR_INPUT;
            }
            if (st == HR_OK && o->score_field) {
                const cJSON *s = cJSON_GetObjectItemCaseSensitive(root, o->score_field);
                double x;
                if (s && cJSON_IsNumber(s) && isfinite(s->valuedouble)) {
                    d->score[ti] = s->valuedouble;
                } else if (s && cJSON_IsString(s) && parse_number(s->valuestring, &x) == 0) {
                    d->score[ti] = x;
                } else {
                    char shown[64] = "missing";
                    if (s && cJSON_IsString(s)) cli_table_text(s->valuestring, strlen(s->valuestring), shown, 40);
                    else if (s) snprintf(shown, sizeof shown, "%s",
                                         cJSON_IsNull(s) ? "null" : (cJSON_IsBool(s) ? "a boolean" : "not a number"));
                    snprintf(err, errlen, "%s:%zu: --score-field \"%s\" is '%s', not a number",
                             o->data_path, line, o->score_field, shown);
                    st = HR_ERR_INPUT;
                }
            }
            cJSON_Delete(root);
            if (st != HR_OK) break;
            ti++;
        }
        at = end + 1;
        line++;
    }
    if (st == HR_OK && ti < c->n) {
        snprintf(err, errlen, "%s: the file changed while it was read", o->data_path);
        st = HR_ERR_IO;
    }
    free(buf);
    return st;
}

/* CSV: the label and score columns, read as texts of the same rows. */
static hr_status csv_fields(dataset *d, const hr_corpus *c, const explain_opts *o,
                            char (*raw)[256], char *err, size_t errlen)
{
    hr_corpus *lab = NULL, *sc = NULL;
    hr_corpus_options lo = {o->label_field, HR_FORMAT_CSV};
    hr_status st = hr_corpus_read(o->data_path, &lo, &lab, err, errlen);
    if (st == HR_OK && o->score_field) {
        hr_corpus_options so = {o->score_field, HR_FORMAT_CSV};
        st = hr_corpus_read(o->data_path, &so, &sc, err, errlen);
    }
    if (st != HR_OK) goto done;
    if (lab->n != c->n || (sc && sc->n != c->n)) {
        snprintf(err, errlen, "%s: the file changed while it was read", o->data_path);
        st = HR_ERR_IO;
        goto done;
    }
    for (size_t i = 0; i < c->n; i++) {
        if (lab->lens[i] == 0) {
            snprintf(err, errlen, "%s:%zu: no label: column \"%s\" is empty", o->data_path,
                     c->lines[i], o->label_field);
            st = HR_ERR_INPUT;
            goto done;
        }
        canonical_label(lab->texts[i], raw[i], sizeof raw[i]);
        if (sc && parse_number(sc->texts[i], &d->score[i]) != 0) {
            char shown[64];
            cli_table_text(sc->texts[i], sc->lens[i], shown, 40);
            snprintf(err, errlen, "%s:%zu: --score-field \"%s\" is '%s', not a number",
                     o->data_path, c->lines[i], o->score_field, shown);
            st = HR_ERR_INPUT;
            goto done;
        }
    }
done:
    hr_corpus_destroy(lab);
    hr_corpus_destroy(sc);
    return st;
}

static int cmp_dbl(const void *a, const void *b);

/* --continuous: the labels as numbers into d->target, an error naming the
 * file and line of one that is not; d->y[i] = 1 above the median (the word
 * candidates' two sides and the split's strata). */
static hr_status assign_targets(dataset *d, char (*raw)[256], const char *path,
                                const char *field, char *err, size_t errlen)
{
    double *sorted = NULL;
    if (!(d->target = malloc(d->n * sizeof *d->target)) ||
        !(sorted = malloc(d->n * sizeof *sorted))) {
        free(sorted);
        snprintf(err, errlen, "out of memory");
        return HR_ERR_NOMEM;
    }
    for (size_t i = 0; i < d->n; i++) {
        if (parse_number(raw[i], &d->target[i]) != 0) {
            char shown[64];
            cli_table_text(raw[i], strlen(raw[i]), shown, 40);
            snprintf(err, errlen, "%s:%zu: label field \"%s\" is '%s', not a number "
                     "(--continuous needs a numeric target)", path, d->lines[i], field, shown);
            free(sorted);
            return HR_ERR_INPUT;
        }
        sorted[i] = d->target[i];
    }
    qsort(sorted, d->n, sizeof *sorted, cmp_dbl);
    if (d->n == 0 || sorted[0] == sorted[d->n - 1]) {
        snprintf(err, errlen, "%s: every text has the same value of \"%s\" (%g): nothing to "
                 "explain", path, field, d->n ? sorted[0] : 0.0);
        free(sorted);
        return HR_ERR_INPUT;
    }
    const double median = d->n % 2 ? sorted[d->n / 2]
                                   : 0.5 * (sorted[d->n / 2 - 1] + sorted[d->n / 2]);
    for (size_t i = 0; i < d->n; i++) d->y[i] = d->target[i] > median;
    snprintf(d->label[1], sizeof d->label[1], "higher");
    snprintf(d->label[0], sizeof d->label[0], "lower");
    d->numeric = 1;
    free(sorted);
    return HR_OK;
}

static hr_status read_labelled(dataset *d, hr_corpus *c, const explain_opts *o, char *err,
                               size_t errlen)
{
    if (dataset_alloc(d, c->n, o->score_field != NULL) != 0) {
        snprintf(err, errlen, "out of memory");
        return HR_ERR_NOMEM;
    }
    for (size_t i = 0; i < c->n; i++) {
        d->texts[i] = c->texts[i];
        d->lens[i] = c->lens[i];
        d->files[i] = o->data_path;
        d->lines[i] = c->lines[i];
    }
    char (*raw)[256] = malloc(c->n * sizeof *raw); /* (n) canonical labels */
    if (!raw) {
        snprintf(err, errlen, "out of memory");
        return HR_ERR_NOMEM;
    }
    hr_status st = ends_with(o->data_path, ".csv") ? csv_fields(d, c, o, raw, err, errlen)
                                                   : jsonl_fields(d, c, o, raw, err, errlen);
    if (st == HR_OK && o->continuous)
        st = assign_targets(d, raw, o->data_path, o->label_field, err, errlen);
    else if (st == HR_OK)
        st = assign_labels(d, raw, o->data_path, o->label_field, o->positive, err, errlen);
    free(raw);
    return st;
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

static void json_ci(cJSON *o, const char *name, double lo, double hi)
{
    if (isnan(lo) || isnan(hi)) {
        cJSON_AddNullToObject(o, name);
        return;
    }
    cJSON *a = cJSON_AddArrayToObject(o, name);
    cJSON_AddItemToArray(a, cJSON_CreateNumber(lo));
    cJSON_AddItemToArray(a, cJSON_CreateNumber(hi));
}

/* The selected hypotheses as JSON: text, source, direction, held-out AUROC. */
static cJSON *json_selected(const hr_explain_result *r, const hr_hypothesis_pool *pool,
                            const dataset *d, double ref_auroc)
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
        cJSON_AddStringToObject(o, "direction", d->label[r->single_auroc[col] > 0.5]);
        cli_json_number(o, "auroc", r->step_auroc[j]);
        if (!isnan(ref_auroc)) {
            if (ref_auroc - 0.5 > EXPLAIN_EPSILON)
                cli_json_number(o, "explained", (r->step_auroc[j] - 0.5) / (ref_auroc - 0.5));
            else
                cJSON_AddNullToObject(o, "explained");
        }
        cli_json_number(o, "single_auroc", r->single_auroc[col]);
        cli_json_number(o, "selection_auroc", r->select_auroc[j]);
    }
    return arr;
}

static void print_selected(const hr_explain_result *r, const hr_hypothesis_pool *pool,
                           const dataset *d, double ref_auroc)
{
    printf("%4s  %7s  %9s  %-12s %-6s %s\n", "step", "auroc", "explained", "typical of", "source",
           "hypothesis");
    for (size_t j = 0; j < r->n_selected; j++) {
        const size_t col = r->selected[j];
        const hr_pool_entry *e = hr_pool_get(pool, col);
        char text[100], lab[20], x[16] = "-";
        cli_table_text(e->text, e->len, text, 70);
        cli_table_text(d->label[r->single_auroc[col] > 0.5],
                       strlen(d->label[r->single_auroc[col] > 0.5]), lab, 12);
        if (!isnan(ref_auroc) && ref_auroc - 0.5 > EXPLAIN_EPSILON)
            snprintf(x, sizeof x, "%.0f%%", 100 * (r->step_auroc[j] - 0.5) / (ref_auroc - 0.5));
        printf("%4zu  %7.3f  %9s  %-12s %-6s %s\n", j + 1, r->step_auroc[j], x, lab,
               hr_hyp_source_str(e->source), text);
    }
}

/* One round's figures: the held-out AUROC and X of its final model. */
typedef struct round_rec {
    size_t added;      /* candidates the round added (round 1: the whole pool) */
    size_t residual;   /* the word share's residual it proposed from (rounds >= 2) */
    size_t candidates; /* the pool after the round */
    size_t steps;      /* hypotheses chosen after the round */
    double auroc, explained, ci_low, ci_high;
    int stopped;       /* it added nothing, so the rounds stopped */
} round_rec;

static hr_status round_record(round_rec *rr, const hr_explain_result *res, const double *ref,
                              const uint8_t *y, size_t m, size_t K, const explain_opts *d,
                              char *err, size_t errlen)
{
    hr_explain_ratio x;
    hr_status st = hr_explain_bootstrap(ref, res->heldout + (res->n_selected - 1) * m, y, m,
                                        (int)d->bootstrap, (uint64_t)d->seed, EXPLAIN_EPSILON, &x,
                                        err, errlen);
    if (st != HR_OK) return st;
    rr->candidates = K;
    rr->steps = res->n_selected;
    rr->auroc = x.hyp_auroc;
    rr->explained = x.explained;
    rr->ci_low = x.ci_low;
    rr->ci_high = x.ci_high;
    return HR_OK;
}

/* --continuous (see the help): the ridge reference, the nested readable
 * model, X = rho_readable / rho_reference, the table and the JSON. X: (m,
 * dim) the evaluated texts' embeddings, H: (K, dim) the candidates'. */
static hr_status run_continuous(const explain_opts *d, const dataset *ds, const size_t *eval,
                                size_t m, const float *X, size_t dim, const float *H, size_t K,
                                const hr_hypothesis_pool *pool, const cli_embedder *emb,
                                const cli_common *opt, const hr_scorer_options *so, double t0,
                                char *err, size_t errlen)
{
    hr_status st = HR_OK;
    const size_t n = ds->n;
    double *t = malloc(m * sizeof *t);         /* (m) targets of the evaluated texts */
    double *ref = malloc(m * sizeof *ref);     /* (m) the reference's held-out predictions */
    float *F = malloc(m * K * sizeof *F);      /* (m, K) row-major hypothesis scores */
    hr_explain_result res;
    memset(&res, 0, sizeof res);
    cJSON *root = NULL;
    char *json_text = NULL;
    if (!t || !ref || !F) {
        st = HR_ERR_NOMEM;
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    for (size_t r = 0; r < m; r++) t[r] = ds->target[eval[r]];
    int varies = 0;
    for (size_t r = 0; r < m; r++) varies |= t[r] != t[0];
    if (!varies) {
        st = HR_ERR_INPUT;
        snprintf(err, errlen, "%s: every evaluated text has the same value of \"%s\": nothing "
                 "to explain", d->data_path, d->label_field);
        goto done;
    }
    if ((st = hr_explain_ridge_cv(X, m, (int)dim, t, HR_EXPLAIN_RIDGE_LAMBDA, (int)d->folds,
                                  (uint64_t)d->seed, ref, err, errlen)) != HR_OK ||
        (st = hr_explain_features(X, m, H, K, (int)dim, so->method, so->temperature, F, err,
                                  errlen)) != HR_OK)
        goto done;
    hr_explain_options eo = hr_explain_default_options();
    eo.folds = (int)d->folds;
    eo.seed = (uint64_t)d->seed;
    eo.top_k = (int)d->top_k;
    eo.max_candidates = (int)d->candidates;
    if ((st = hr_explain_fit_continuous(F, m, K, t, &eo, &res, err, errlen)) != HR_OK) goto done;
    const double *hyp = res.heldout + (res.n_selected - 1) * m; /* (m) the final model's */
    hr_explain_ratio x;
    if ((st = hr_explain_bootstrap_continuous(ref, hyp, t, m, (int)d->bootstrap,
                                              (uint64_t)d->seed, EXPLAIN_EPSILON, &x, err,
                                              errlen)) != HR_OK)
        goto done;
    const double ref_r2 = hr_explain_r2(ref, t, m), hyp_r2 = res.step_r2[res.n_selected - 1];
    const double secs = cli_now() - t0;

    printf("%s: %zu texts, target \"%s\" (continuous)\n", d->data_path, n, d->label_field);
    printf("Evaluated: %zu texts in %ld plain folds (seed %ld)", m, d->folds, d->seed);
    if (m < n) printf("; %zu more held out to find word candidates", n - m);
    printf("\n%zu candidates, scored by %s; %.2f s\n", K, hr_score_method_str(so->method), secs);
    printf("\nReference: ridge regression on the embeddings (lambda %g): held-out Spearman "
           "%.3f [%.3f, %.3f], R^2 %.3f\n", HR_EXPLAIN_RIDGE_LAMBDA, x.ref_auroc, x.ref_ci_low,
           x.ref_ci_high, ref_r2);
    printf("Readable: least squares on the hypotheses chosen step by step (held-out):\n");
    printf("%4s  %8s  %7s  %9s  %-7s %-6s %s\n", "step", "spearman", "r2", "explained", "target",
           "source", "hypothesis");
    for (size_t j = 0; j < res.n_selected; j++) {
        const hr_pool_entry *e = hr_pool_get(pool, res.selected[j]);
        char text[100], xs[16] = "-";
        cli_table_text(e->text, e->len, text, 70);
        if (x.ref_auroc > EXPLAIN_EPSILON)
            snprintf(xs, sizeof xs, "%.0f%%", 100 * res.step_auroc[j] / x.ref_auroc);
        printf("%4zu  %8.3f  %7.3f  %9s  %-7s %-6s %s\n", j + 1, res.step_auroc[j],
               res.step_r2[j], xs, res.single_auroc[res.selected[j]] > 0 ? "higher" : "lower",
               hr_hyp_source_str(e->source), text);
    }
    printf("  (the first choice agreed in %d of %d training parts)\n", res.first_agree, res.folds);
    if (x.status == HR_EXPLAINED_UNDEFINED)
        printf("\nExplained: undefined: the reference does not rank the target (Spearman %.3f), "
               "so there is nothing to explain.\n", x.ref_auroc);
    else if (x.status == HR_EXPLAINED_UNSTABLE)
        printf("\nExplained: %.0f%% of the reference's Spearman correlation, but not reliably: "
               "%d of %ld resamples have a reference at or below %.2f, so no interval.\n",
               100 * x.explained, x.undefined, d->bootstrap, EXPLAIN_EPSILON);
    else
        printf("\nExplained: %.0f%% of the reference's Spearman correlation [95%% CI %.0f%%, "
               "%.0f%%] with %zu hypotheses (readable %.3f vs %.3f; %ld resamples)\n",
               100 * x.explained, 100 * x.ci_low, 100 * x.ci_high, res.n_selected, x.hyp_auroc,
               x.ref_auroc, d->bootstrap);

    if (d->json_path) {
        if (!(root = cJSON_CreateObject())) goto nomem;
        cJSON_AddStringToObject(root, "target", "continuous");
        cJSON_AddStringToObject(root, "label_field", d->label_field);
        cJSON_AddNumberToObject(root, "n", (double)n);
        cJSON_AddNumberToObject(root, "evaluated", (double)m);
        cJSON_AddNumberToObject(root, "proposal", (double)(n - m));
        cJSON_AddNumberToObject(root, "folds", (double)d->folds);
        cJSON_AddNumberToObject(root, "seed", (double)d->seed);
        cJSON_AddNumberToObject(root, "bootstrap", (double)d->bootstrap);
        cJSON_AddNumberToObject(root, "candidates", (double)K);
        cJSON *e = cJSON_AddObjectToObject(root, "encoder");
        cJSON_AddStringToObject(e, "model", cli_embedder_model(emb));
        cJSON_AddNumberToObject(e, "dim", (double)dim);
        cJSON_AddStringToObject(e, "device", cli_embedder_device(emb));
        cJSON *sc = cJSON_AddObjectToObject(root, "scorer");
        cJSON_AddStringToObject(sc, "method", hr_score_method_str(so->method));
        if (so->method == HR_SCORE_CONTRAST) cli_json_number(sc, "temperature", so->temperature);
        cJSON_AddStringToObject(root, "reference", "ridge");
        cli_json_number(root, "reference_lambda", HR_EXPLAIN_RIDGE_LAMBDA);
        cli_json_number(root, "reference_spearman", x.ref_auroc);
        json_ci(root, "reference_spearman_ci", x.ref_ci_low, x.ref_ci_high);
        cli_json_number(root, "reference_r2", ref_r2);
        cli_json_number(root, "readable_spearman", x.hyp_auroc);
        json_ci(root, "readable_spearman_ci", x.hyp_ci_low, x.hyp_ci_high);
        cli_json_number(root, "readable_r2", hyp_r2);
        cJSON *arr = cJSON_AddArrayToObject(root, "selected");
        for (size_t j = 0; arr && j < res.n_selected; j++) {
            const size_t col = res.selected[j];
            const hr_pool_entry *pe = hr_pool_get(pool, col);
            cJSON *o = cJSON_CreateObject();
            cJSON_AddItemToArray(arr, o);
            cJSON_AddNumberToObject(o, "step", (double)(j + 1));
            cJSON_AddNumberToObject(o, "index", (double)col);
            cJSON_AddStringToObject(o, "text", pe->text);
            cJSON_AddStringToObject(o, "source", hr_hyp_source_str(pe->source));
            cJSON_AddStringToObject(o, "direction", res.single_auroc[col] > 0 ? "higher" : "lower");
            cli_json_number(o, "spearman", res.step_auroc[j]);
            cli_json_number(o, "r2", res.step_r2[j]);
            if (x.ref_auroc > EXPLAIN_EPSILON)
                cli_json_number(o, "explained", res.step_auroc[j] / x.ref_auroc);
            else
                cJSON_AddNullToObject(o, "explained");
            cli_json_number(o, "single_spearman", res.single_auroc[col]);
            cli_json_number(o, "selection_spearman", res.select_auroc[j]);
        }
        cli_json_number(root, "explained", x.explained); /* null when undefined */
        json_ci(root, "explained_ci", x.ci_low, x.ci_high);
        cJSON_AddStringToObject(root, "explained_status", hr_explained_status_str(x.status));
        cJSON_AddNumberToObject(root, "undefined_resamples", (double)x.undefined);
        cJSON_AddNumberToObject(root, "first_choice_agreement", (double)res.first_agree);
        if (!(json_text = cJSON_Print(root))) goto nomem;
        if ((st = cli_write_atomic(d->json_path, json_text, err, errlen)) != HR_OK) goto done;
        if (!opt->quiet) fprintf(stderr, "hyporank: wrote %s\n", d->json_path);
    }
    goto done;
nomem:
    st = HR_ERR_NOMEM;
    snprintf(err, errlen, "out of memory");
done:
    free(t), free(ref), free(F), free(json_text);
    cJSON_Delete(root);
    hr_explain_result_free(&res);
    return st;
}

int cmd_explain(int argc, char **argv)
{
    const char *cmd = "explain";
    cli_common opt;
    cli_common_init(&opt);
    explain_opts d = {.bank = 1, .ngrams = 1, .ngram_k = 25, .top_k = 5, .candidates = 50,
                      .folds = 5, .seed = 1, .bootstrap = 1000, .examples = 5, .holdout = 0.3,
                      .rounds = 1};
    hr_scorer_options so = hr_scorer_default_options();
    /* explain scores by cosine unless told otherwise: a readable model's
     * feature should stand on its own, not move with the rest of the pool. */
    so.method = HR_SCORE_COSINE;
    for (int i = 0; i < argc; i++) {
        int r = cli_common_parse(&opt, cmd, argc, argv, &i);
        if (r == 0) r = cli_scorer_parse(&so, cmd, argc, argv, &i);
        if (r < 0) return CLI_EXIT_USAGE;
        if (r > 0) continue;
        const char *o = argv[i], *v;
        const char **dst = NULL;
        long *num = NULL, lo = 0, hi = 0;
        if (strcmp(o, "--help") == 0 || strcmp(o, "-h") == 0) {
            printf(explain_help, cli_scorer_help, cli_common_help);
            return CLI_EXIT_OK;
        } else if (strcmp(o, "--a") == 0) dst = &d.a_path;
        else if (strcmp(o, "--b") == 0) dst = &d.b_path;
        else if (strcmp(o, "--data") == 0) dst = &d.data_path;
        else if (strcmp(o, "--label-field") == 0) dst = &d.label_field;
        else if (strcmp(o, "--positive") == 0) dst = &d.positive;
        else if (strcmp(o, "--score-field") == 0) dst = &d.score_field;
        else if (strcmp(o, "--hypotheses") == 0) dst = &d.hyp_path;
        else if (strcmp(o, "--json") == 0) dst = &d.json_path;
        else if (strcmp(o, "--no-bank") == 0) { d.bank = 0; continue; }
        else if (strcmp(o, "--no-ngrams") == 0) { d.ngrams = 0; continue; }
        else if (strcmp(o, "--continuous") == 0) { d.continuous = 1; continue; }
        else if (strcmp(o, "--ngrams") == 0) num = &d.ngram_k, lo = 1, hi = 10000;
        else if (strcmp(o, "--rounds") == 0) num = &d.rounds, lo = 1, hi = 20;
        else if (strcmp(o, "--top-k") == 0) num = &d.top_k, lo = 1, hi = 50;
        else if (strcmp(o, "--candidates") == 0) num = &d.candidates, lo = 1, hi = 1000;
        else if (strcmp(o, "--folds") == 0) num = &d.folds, lo = 2, hi = 20;
        else if (strcmp(o, "--seed") == 0) num = &d.seed, lo = 0, hi = 2147483647L;
        else if (strcmp(o, "--bootstrap") == 0) num = &d.bootstrap, lo = 100, hi = 100000;
        else if (strcmp(o, "--examples") == 0) num = &d.examples, lo = 0, hi = 1000;
        else if (strcmp(o, "--holdout") == 0) {
            if (!(v = cli_take_value(cmd, argc, argv, &i))) return CLI_EXIT_USAGE;
            char *end;
            double x = strtod(v, &end);
            if (*end || end == v || !(x >= 0.05 && x <= 0.9))
                return cli_usage_error(cmd, "--holdout must be a number from 0.05 to 0.9, not '%s'",
                                       v);
            d.holdout = x;
            continue;
        } else return cli_usage_error(cmd, "unknown option '%s'", o);
        if (!(v = cli_take_value(cmd, argc, argv, &i))) return CLI_EXIT_USAGE;
        if (dst) {
            *dst = v;
        } else {
            int ok;
            *num = cli_parse_long(cmd, o, v, lo, hi, &ok);
            if (!ok) return CLI_EXIT_USAGE;
        }
    }
    if (d.continuous && d.score_field)
        return cli_usage_error(cmd, "--score-field with --continuous is not supported: the "
                                    "reference of a continuous target is the ridge regression "
                                    "on the embeddings");
    if (d.continuous && (d.a_path || d.b_path || d.positive))
        return cli_usage_error(cmd, "--continuous takes --data FILE --label-field NAME (a "
                                    "number per text); --a/--b and --positive are for two "
                                    "classes");
    if (d.continuous && d.rounds > 1)
        return cli_usage_error(cmd, "--rounds with --continuous is not supported");
    const int two = d.a_path || d.b_path;
    if (two && d.data_path)
        return cli_usage_error(cmd, "give either --data FILE --label-field NAME or --a FILE "
                                    "--b FILE, not both");
    if (two && (!d.a_path || !d.b_path))
        return cli_usage_error(cmd, "--a FILE and --b FILE go together");
    if (!two && (!d.data_path || !d.label_field))
        return cli_usage_error(cmd, "--data FILE --label-field NAME (or --a FILE --b FILE) "
                                    "are required");
    if (two && (d.label_field || d.positive || d.score_field))
        return cli_usage_error(cmd, "--label-field, --positive and --score-field go with --data");
    if (d.data_path && !ends_with(d.data_path, ".jsonl") && !ends_with(d.data_path, ".csv"))
        return cli_usage_error(cmd, "--data %s: labelled texts must be .jsonl or .csv",
                               d.data_path);
    if (d.rounds > 1 && !d.ngrams)
        return cli_usage_error(cmd, "--rounds %ld proposes from the word share, which "
                                    "--no-ngrams leaves out", d.rounds);
    if (!d.bank && !d.ngrams && !d.hyp_path)
        return cli_usage_error(cmd, "no candidates: --no-bank and --no-ngrams leave none; "
                                    "give --hypotheses FILE or keep a source");

    char err[1024] = "";
    hr_status st = HR_OK;
    int rc = CLI_EXIT_OK;
    hr_corpus *ca = NULL, *cb = NULL, *cd = NULL, *ch = NULL;
    dataset ds;
    memset(&ds, 0, sizeof ds);
    hr_hypothesis_pool *pool = NULL;
    cli_embedder emb;
    memset(&emb, 0, sizeof emb);
    uint8_t *is_prop = NULL, *ye = NULL, *yd = NULL;
    size_t *scratch = NULL, *eval = NULL, *resid = NULL;
    const char **ptexts = NULL, **ntexts = NULL, **etexts = NULL;
    size_t *plens = NULL, *nlens = NULL, *elens = NULL;
    float *X = NULL, *H = NULL, *F = NULL;
    double *ref = NULL, *sorted = NULL;
    float *Xp = NULL, *Fp = NULL, *Hn = NULL;
    double *refp = NULL, *hypp = NULL;
    size_t *presid = NULL, *prow = NULL, *alen = NULL, *blen = NULL;
    uint8_t *yp = NULL;
    const char **ptx = NULL, **atx = NULL, **btx = NULL;
    size_t *plen = NULL;
    round_rec *rec = NULL;
    size_t n_rounds = 1;
    hr_probe *probe = NULL;
    hr_explain_result res, dec;
    memset(&res, 0, sizeof res);
    memset(&dec, 0, sizeof dec);
    cJSON *root = NULL;
    char *json_text = NULL;

    /* The labelled texts. */
    hr_corpus_options copt = {opt.text_field, HR_FORMAT_AUTO};
    if (two) {
        if ((st = hr_corpus_read(d.a_path, &copt, &ca, err, sizeof err)) != HR_OK ||
            (st = hr_corpus_read(d.b_path, &copt, &cb, err, sizeof err)) != HR_OK)
            goto fail;
        if (dataset_alloc(&ds, ca->n + cb->n, 0) != 0) goto nomem;
        for (size_t i = 0; i < ds.n; i++) {
            const hr_corpus *c = i < ca->n ? ca : cb;
            const size_t r = i < ca->n ? i : i - ca->n;
            ds.texts[i] = c->texts[r];
            ds.lens[i] = c->lens[r];
            ds.files[i] = c == ca ? d.a_path : d.b_path;
            ds.lines[i] = c->lines[r];
            ds.y[i] = c == ca;
        }
        snprintf(ds.label[1], sizeof ds.label[1], "A");
        snprintf(ds.label[0], sizeof ds.label[0], "B");
    } else {
        if ((st = hr_corpus_read(d.data_path, &copt, &cd, err, sizeof err)) != HR_OK) goto fail;
        if ((st = read_labelled(&ds, cd, &d, err, sizeof err)) != HR_OK) goto fail;
    }
    const size_t n = ds.n;
    size_t n_pos = 0;
    for (size_t i = 0; i < n; i++) n_pos += ds.y[i];

    /* The split: word candidates from the proposal share, evaluation on the rest. */
    is_prop = calloc(n, 1);
    scratch = malloc(n * sizeof *scratch);
    eval = malloc(n * sizeof *eval);
    if (!is_prop || !scratch || !eval) goto nomem;
    if (d.ngrams) split_rows(ds.y, n, d.holdout, (uint64_t)d.seed, is_prop, scratch);
    size_t m = 0, m_pos = 0, np = 0, nn = 0;
    for (size_t i = 0; i < n; i++) {
        if (is_prop[i]) {
            if (ds.y[i]) np++;
            else nn++;
        } else {
            eval[m++] = i;
            m_pos += ds.y[i];
        }
    }
    const size_t need = 2 * (size_t)d.folds;
    if (d.continuous && m < 2 * need) {
        st = HR_ERR_INPUT;
        snprintf(err, sizeof err,
                 "too few texts: %zu are left to evaluate%s; %ld folds need at least %zu (and a "
                 "few hundred give a useful answer)",
                 m, d.ngrams ? " after the word-candidate share (--holdout, --no-ngrams)" : "",
                 d.folds, 2 * need);
        goto fail;
    }
    if (!d.continuous && (m_pos < need || m - m_pos < need)) {
        st = HR_ERR_INPUT;
        snprintf(err, sizeof err,
                 "too few texts: %zu '%s' and %zu '%s' are left to evaluate%s; %ld folds need at "
                 "least %zu of each (and a few hundred give a useful answer)",
                 m_pos, ds.label[1], m - m_pos, ds.label[0],
                 d.ngrams ? " after the word-candidate share (--holdout, --no-ngrams)" : "",
                 d.folds, need);
        goto fail;
    }

    /* The candidates. */
    if ((st = hr_pool_create(&pool, err, sizeof err)) != HR_OK) goto fail;
    if (d.hyp_path) {
        if ((st = hr_corpus_read(d.hyp_path, NULL, &ch, err, sizeof err)) != HR_OK) goto fail;
        for (size_t i = 0; i < ch->n; i++) {
            st = hr_pool_add(pool, ch->texts[i], ch->lens[i], HR_SOURCE_USER, NULL, NULL, err,
                             sizeof err);
            if (st != HR_OK) {
                char inner[sizeof err];
                snprintf(inner, sizeof inner, "%s", err);
                snprintf(err, sizeof err, "%.300s:%zu: %.600s", d.hyp_path, ch->lines[i], inner);
                goto fail;
            }
        }
    }
    if (d.bank && (st = hr_pool_add_bank(pool, NULL, err, sizeof err)) != HR_OK) goto fail;
    if (d.ngrams && np > 0 && nn > 0) {
        ptexts = malloc(np * sizeof *ptexts), plens = malloc(np * sizeof *plens);
        ntexts = malloc(nn * sizeof *ntexts), nlens = malloc(nn * sizeof *nlens);
        if (!ptexts || !plens || !ntexts || !nlens) goto nomem;
        size_t a = 0, b = 0;
        for (size_t i = 0; i < n; i++) {
            if (!is_prop[i]) continue;
            if (ds.y[i]) ptexts[a] = ds.texts[i], plens[a++] = ds.lens[i];
            else ntexts[b] = ds.texts[i], nlens[b++] = ds.lens[i];
        }
        hr_ngram_options no = hr_ngram_default_options();
        no.top_k = (size_t)d.ngram_k;
        no.min_count = np + nn < 2000 ? 3 : no.min_count;
        st = hr_pool_add_ngrams(pool, ptexts, plens, np, ntexts, nlens, nn, &no, NULL, err,
                                sizeof err);
        if (st != HR_OK) goto fail;
    }
    size_t K = hr_pool_size(pool);
    if (K == 0) {
        st = HR_ERR_INPUT;
        snprintf(err, sizeof err, "no candidate hypotheses");
        goto fail;
    }

    /* Embeddings of the evaluated texts and of the candidates. */
    etexts = malloc(m * sizeof *etexts);
    elens = malloc(m * sizeof *elens);
    ye = malloc(m);
    ref = malloc(m * sizeof *ref); /* (m) the reference's held-out values */
    if (!etexts || !elens || !ye || !ref) goto nomem;
    for (size_t r = 0; r < m; r++) {
        etexts[r] = ds.texts[eval[r]];
        elens[r] = ds.lens[eval[r]];
        ye[r] = ds.y[eval[r]];
    }
    if ((st = cli_embedder_open(&emb, &opt, err, sizeof err)) ||
        (st = cli_embedder_embed(&emb, etexts, elens, m, "embedding texts", &X, err, sizeof err)) ||
        (st = cli_embedder_embed(&emb, hr_pool_texts(pool), hr_pool_lens(pool), K,
                                 "embedding hypotheses", &H, err, sizeof err)))
        goto fail;
    const size_t dim = emb.dim;
    const double t0 = cli_now();
    if (d.continuous) {
        if ((st = run_continuous(&d, &ds, eval, m, X, dim, H, K, pool, &emb, &opt, &so, t0, err,
                                 sizeof err)) != HR_OK)
            goto fail;
        goto done;
    }

    /* The reference. */
    hr_probe_cv_result cv;
    memset(&cv, 0, sizeof cv);
    if (d.score_field) {
        for (size_t r = 0; r < m; r++) ref[r] = ds.score[eval[r]];
    } else {
        hr_probe_options po = hr_probe_default_options();
        po.device = opt.device; /* auto: the GPU for large fits */
        st = hr_probe_cross_validate(X, m, (int)dim, ye, NULL, &po, (int)d.folds,
                                     (uint64_t)d.seed, ref, &cv, err, sizeof err);
        if (st != HR_OK) goto fail;
    }

    /* The readable model. */
    F = malloc(m * K * sizeof *F); /* (m, K) row-major: score of each candidate on each text */
    if (!F) goto nomem;
    if ((st = hr_explain_features(X, m, H, K, (int)dim, so.method, so.temperature, F, err,
                                  sizeof err)) != HR_OK)
        goto fail;
    hr_explain_options eo = hr_explain_default_options();
    eo.folds = (int)d.folds;
    eo.seed = (uint64_t)d.seed;
    eo.top_k = (int)d.top_k;
    eo.max_candidates = (int)d.candidates;
    if ((st = hr_explain_fit(F, m, K, ye, &eo, &res, err, sizeof err)) != HR_OK) goto fail;
    if (!(rec = calloc((size_t)d.rounds, sizeof *rec))) goto nomem;
    rec[0].added = K;
    if ((st = round_record(&rec[0], &res, ref, ye, m, K, &d, err, sizeof err)) != HR_OK) goto fail;

    /* Later rounds: propose from the residual of the word share (never from
     * the evaluated texts), embed what is new, and choose on from the kept
     * choices (hr_explain_refit redoes this per outer fold). */
    if (d.rounds > 1 && np > 0 && nn > 0) {
        const size_t mp = n - m;
        prow = malloc(mp * sizeof *prow), yp = malloc(mp), presid = malloc(mp * sizeof *presid);
        refp = malloc(mp * sizeof *refp), hypp = malloc(mp * sizeof *hypp);
        ptx = malloc(mp * sizeof *ptx), plen = malloc(mp * sizeof *plen);
        atx = malloc(mp * sizeof *atx), alen = malloc(mp * sizeof *alen);
        btx = malloc(mp * sizeof *btx), blen = malloc(mp * sizeof *blen);
        if (!prow || !yp || !presid || !refp || !hypp || !ptx || !plen || !atx || !alen || !btx ||
            !blen)
            goto nomem;
        for (size_t i = 0, k = 0; i < n; i++) {
            if (!is_prop[i]) continue;
            prow[k] = i, yp[k] = ds.y[i], ptx[k] = ds.texts[i], plen[k++] = ds.lens[i];
        }
        if ((st = cli_embedder_embed(&emb, ptx, plen, mp, "embedding the word share", &Xp, err,
                                     sizeof err)) != HR_OK)
            goto fail;
        if (d.score_field) {
            for (size_t k = 0; k < mp; k++) refp[k] = ds.score[prow[k]];
        } else { /* the reference probe, fitted on all evaluated texts */
            hr_probe_options po = hr_probe_default_options();
            po.device = opt.device;
            if ((st = hr_probe_fit(X, m, (int)dim, ye, NULL, &po, &probe, err, sizeof err)) ||
                (st = hr_probe_decision(probe, Xp, mp, refp, err, sizeof err)))
                goto fail;
        }
        for (long r = 1; r < d.rounds; r++) {
            free(Fp);
            if (!(Fp = malloc(mp * K * sizeof *Fp))) goto nomem; /* (mp, K) row-major */
            size_t n_res = 0;
            if ((st = hr_explain_features(Xp, mp, H, K, (int)dim, so.method, so.temperature, Fp,
                                          err, sizeof err)) ||
                (st = hr_explain_apply(F, m, K, ye, res.selected, res.n_selected, eo.lambda, Fp,
                                       mp, hypp, err, sizeof err)) ||
                (st = hr_explain_residual(refp, hypp, yp, mp, presid, &n_res, err, sizeof err)))
                goto fail;
            for (int c = 1; c >= 0; c--) { /* class c's residual against the other class */
                size_t na = 0, nb = 0;
                for (size_t k = 0; k < n_res; k++)
                    if (yp[presid[k]] == c) atx[na] = ptx[presid[k]], alen[na++] = plen[presid[k]];
                for (size_t k = 0; k < mp; k++)
                    if (yp[k] != c) btx[nb] = ptx[k], blen[nb++] = plen[k];
                if (na == 0 || nb == 0) continue;
                hr_ngram_options no = hr_ngram_default_options();
                no.top_k = (size_t)d.ngram_k;
                no.min_count = 2; /* a residual is a few texts */
                if ((st = hr_pool_add_ngrams(pool, atx, alen, na, btx, blen, nb, &no, NULL, err,
                                             sizeof err)) != HR_OK)
                    goto fail;
            }
            const size_t K2 = hr_pool_size(pool); /* the pool drops duplicates */
            n_rounds = (size_t)r + 1;
            if (K2 == K) { /* nothing new: the same model; stop */
                rec[r] = rec[r - 1];
                rec[r].added = 0, rec[r].residual = n_res, rec[r].stopped = 1;
                break;
            }
            rec[r].residual = n_res;
            rec[r].added = K2 - K;
            if ((st = cli_embedder_embed(&emb, hr_pool_texts(pool) + K, hr_pool_lens(pool) + K,
                                         K2 - K, "embedding new hypotheses", &Hn, err,
                                         sizeof err)) != HR_OK)
                goto fail;
            float *H2 = realloc(H, K2 * dim * sizeof *H2); /* (K2, dim) row-major */
            if (!H2) goto nomem;
            H = H2;
            memcpy(H + K * dim, Hn, (K2 - K) * dim * sizeof *H);
            free(Hn), Hn = NULL;
            free(F);
            if (!(F = malloc(m * K2 * sizeof *F))) goto nomem; /* (m, K2) row-major */
            if ((st = hr_explain_features(X, m, H, K2, (int)dim, so.method, so.temperature, F,
                                          err, sizeof err)) != HR_OK)
                goto fail;
            K = K2;
            hr_explain_result next;
            if ((st = hr_explain_refit(F, m, K, ye, &eo, &res, &next, err, sizeof err)) != HR_OK)
                goto fail;
            hr_explain_result_free(&res);
            res = next;
            if ((st = round_record(&rec[r], &res, ref, ye, m, K, &d, err, sizeof err)) != HR_OK)
                goto fail;
        }
    }
    const double *hyp = res.heldout + (res.n_selected - 1) * m; /* (m) the final model's */
    hr_explain_ratio ratio;
    if ((st = hr_explain_bootstrap(ref, hyp, ye, m, (int)d.bootstrap, (uint64_t)d.seed,
                                   EXPLAIN_EPSILON, &ratio, err, sizeof err)) != HR_OK)
        goto fail;
    size_t n_resid = 0;
    resid = malloc(m * sizeof *resid);
    if (!resid) goto nomem;
    if ((st = hr_explain_residual(ref, hyp, ye, m, resid, &n_resid, err, sizeof err)) != HR_OK)
        goto fail;

    /* With a classifier's score: how well the hypotheses predict its decisions. */
    double median = NAN;
    int have_dec = 0;
    if (d.score_field) {
        sorted = malloc(m * sizeof *sorted);
        yd = malloc(m);
        if (!sorted || !yd) goto nomem;
        memcpy(sorted, ref, m * sizeof *sorted);
        qsort(sorted, m, sizeof *sorted, cmp_dbl);
        median = m % 2 ? sorted[m / 2] : 0.5 * (sorted[m / 2 - 1] + sorted[m / 2]);
        size_t above = 0;
        for (size_t r = 0; r < m; r++) above += yd[r] = ref[r] > median;
        if (above >= need && m - above >= need) {
            if ((st = hr_explain_fit(F, m, K, yd, &eo, &dec, err, sizeof err)) != HR_OK) goto fail;
            have_dec = 1;
        }
    }
    const double secs = cli_now() - t0;

    /* The table. */
    if (two)
        printf("A: %s (%zu texts, positive)   B: %s (%zu texts)\n", d.a_path, ca->n, d.b_path,
               cb->n);
    else
        printf("%s: %zu texts, %zu '%s' (positive%s), %zu '%s'\n", d.data_path, n, n_pos,
               ds.label[1], d.positive ? "" : (ds.numeric ? ": the larger value; --positive to choose"
                                                          : ": the later value; --positive to choose"),
               n - n_pos, ds.label[0]);
    printf("Evaluated: %zu texts in %ld folds (seed %ld)", m, d.folds, d.seed);
    if (m < n) printf("; %zu more held out to find word candidates", n - m);
    char sources[40] = "";
    if (d.bank) strcat(sources, "bank");
    if (d.ngrams) strcat(sources, *sources ? " + words" : "words");
    if (d.hyp_path) strcat(sources, *sources ? " + yours" : "yours");
    printf("\n%zu candidates (%s), scored by %s; %.2f s\n", K, sources,
           hr_score_method_str(so.method), secs);
    if (d.score_field)
        printf("\nReference: the classifier's score \"%s\": AUROC %.3f [%.3f, %.3f]\n",
               d.score_field, ratio.ref_auroc, ratio.ref_ci_low, ratio.ref_ci_high);
    else
        printf("\nReference: linear probe on the embeddings: held-out AUROC %.3f [%.3f, %.3f]\n",
               ratio.ref_auroc, ratio.ref_ci_low, ratio.ref_ci_high);
    printf("Readable: logistic regression on the hypotheses chosen step by step "
           "(held-out AUROC):\n");
    print_selected(&res, pool, &ds, ratio.ref_auroc);
    if (d.rounds > 1) {
        printf("Rounds (words proposed from the word share's residual):\n");
        printf("%5s  %8s  %6s  %10s  %7s  %9s\n", "round", "residual", "added", "hypotheses",
               "auroc", "explained");
        for (size_t r = 0; r < n_rounds; r++) {
            char x[16] = "-", resid_s[16] = "-";
            if (!isnan(rec[r].explained)) snprintf(x, sizeof x, "%.0f%%", 100 * rec[r].explained);
            if (r > 0) snprintf(resid_s, sizeof resid_s, "%zu", rec[r].residual);
            printf("%5zu  %8s  %6zu  %10zu  %7.3f  %9s%s\n", r + 1, resid_s, rec[r].added,
                   rec[r].steps, rec[r].auroc, x, rec[r].stopped ? "  (nothing new: stopped)" : "");
        }
    }
    printf("  (the first choice agreed in %d of %d training parts)\n", res.first_agree, res.folds);
    if (ratio.status == HR_EXPLAINED_UNDEFINED)
        printf("\nExplained: undefined: the reference is no better than chance (AUROC %.3f), so "
               "there is nothing to explain.\n", ratio.ref_auroc);
    else if (ratio.status == HR_EXPLAINED_UNSTABLE)
        printf("\nExplained: %.0f%% of the reference's AUROC above chance, but not reliably: the "
               "reference is not clearly above chance (%d of %ld resamples at or below %.2f), "
               "so no interval.\n",
               100 * ratio.explained, ratio.undefined, d.bootstrap, 0.5 + EXPLAIN_EPSILON);
    else
        printf("\nExplained: %.0f%% of the reference's AUROC above chance [95%% CI %.0f%%, "
               "%.0f%%] with %zu hypotheses (readable AUROC %.3f vs %.3f; %ld resamples)\n",
               100 * ratio.explained, 100 * ratio.ci_low, 100 * ratio.ci_high, res.n_selected,
               ratio.hyp_auroc, ratio.ref_auroc, d.bootstrap);
    if (have_dec) {
        printf("\nThe classifier's decisions (score > median %.4g) from the hypotheses: "
               "held-out AUROC %.3f\n", median, dec.step_auroc[dec.n_selected - 1]);
        print_selected(&dec, pool, &(dataset){.label = {"below", "above"}}, NAN);
    } else if (d.score_field) {
        printf("\nThe classifier's decisions: too many scores tie at the median (%.4g) to split "
               "them in two\n", median);
    }
    const size_t shown = n_resid < (size_t)d.examples ? n_resid : (size_t)d.examples;
    printf("\nResidual: %zu texts the reference gets right and the hypotheses get wrong%s\n",
           n_resid, shown ? ", most wrong first:" : ".");
    for (size_t k = 0; k < shown; k++) {
        const size_t i = eval[resid[k]];
        char text[100], lab[20];
        cli_table_text(ds.texts[i], ds.lens[i], text, 80);
        cli_table_text(ds.label[ds.y[i]], strlen(ds.label[ds.y[i]]), lab, 12);
        printf("  [%s] \"%s\"\n", lab, text);
    }

    /* JSON. */
    if (d.json_path) {
        root = cJSON_CreateObject();
        if (!root) goto nomem;
        cJSON_AddNumberToObject(root, "n", (double)n);
        cJSON_AddNumberToObject(root, "evaluated", (double)m);
        cJSON_AddNumberToObject(root, "proposal", (double)(n - m));
        cJSON_AddStringToObject(root, "positive_label", ds.label[1]);
        cJSON_AddStringToObject(root, "negative_label", ds.label[0]);
        cJSON_AddNumberToObject(root, "n_positive", (double)n_pos);
        cJSON_AddNumberToObject(root, "n_negative", (double)(n - n_pos));
        cJSON_AddNumberToObject(root, "folds", (double)d.folds);
        cJSON_AddNumberToObject(root, "seed", (double)d.seed);
        cJSON_AddNumberToObject(root, "bootstrap", (double)d.bootstrap);
        cJSON_AddNumberToObject(root, "candidates", (double)K);
        cJSON *e = cJSON_AddObjectToObject(root, "encoder");
        cJSON_AddStringToObject(e, "model", cli_embedder_model(&emb));
        cJSON_AddNumberToObject(e, "dim", (double)dim);
        cJSON_AddStringToObject(e, "device", cli_embedder_device(&emb));
        cJSON *sc = cJSON_AddObjectToObject(root, "scorer");
        cJSON_AddStringToObject(sc, "method", hr_score_method_str(so.method));
        if (so.method == HR_SCORE_CONTRAST) cli_json_number(sc, "temperature", so.temperature);
        cJSON_AddStringToObject(root, "reference", d.score_field ? "score" : "probe");
        if (d.score_field) cJSON_AddStringToObject(root, "score_field", d.score_field);
        cli_json_number(root, "reference_auroc", ratio.ref_auroc);
        json_ci(root, "reference_ci", ratio.ref_ci_low, ratio.ref_ci_high);
        if (!d.score_field) cli_json_number(root, "reference_p_value", cv.p_value);
        cli_json_number(root, "readable_auroc", ratio.hyp_auroc);
        json_ci(root, "readable_ci", ratio.hyp_ci_low, ratio.hyp_ci_high);
        cJSON_AddItemToObject(root, "selected", json_selected(&res, pool, &ds, ratio.ref_auroc));
        cli_json_number(root, "explained", ratio.explained); /* null when undefined */
        json_ci(root, "explained_ci", ratio.ci_low, ratio.ci_high);
        cJSON_AddStringToObject(root, "explained_status", hr_explained_status_str(ratio.status));
        cJSON_AddNumberToObject(root, "undefined_resamples", (double)ratio.undefined);
        cJSON_AddNumberToObject(root, "first_choice_agreement", (double)res.first_agree);
        cJSON *rj = cJSON_AddArrayToObject(root, "rounds");
        for (size_t r = 0; r < n_rounds; r++) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddItemToArray(rj, o);
            cJSON_AddNumberToObject(o, "round", (double)(r + 1));
            if (r > 0) cJSON_AddNumberToObject(o, "residual_proposal", (double)rec[r].residual);
            cJSON_AddNumberToObject(o, "candidates_added", (double)rec[r].added);
            cJSON_AddNumberToObject(o, "candidates", (double)rec[r].candidates);
            cJSON_AddNumberToObject(o, "hypotheses", (double)rec[r].steps);
            cli_json_number(o, "auroc", rec[r].auroc);
            cli_json_number(o, "explained", rec[r].explained);
            json_ci(o, "explained_ci", rec[r].ci_low, rec[r].ci_high);
            cJSON_AddBoolToObject(o, "stopped", rec[r].stopped);
        }
        if (have_dec) {
            cJSON *dj = cJSON_AddObjectToObject(root, "decisions");
            cli_json_number(dj, "median", median);
            cli_json_number(dj, "auroc", dec.step_auroc[dec.n_selected - 1]);
            cJSON_AddItemToObject(dj, "selected",
                                  json_selected(&dec, pool, &(dataset){.label = {"below", "above"}},
                                                NAN));
        }
        cJSON_AddNumberToObject(root, "residual_count", (double)n_resid);
        cJSON *rx = cJSON_AddArrayToObject(root, "residual_examples");
        for (size_t k = 0; k < shown; k++) {
            const size_t i = eval[resid[k]];
            cJSON *o = cJSON_CreateObject();
            cJSON_AddItemToArray(rx, o);
            cJSON_AddStringToObject(o, "text", ds.texts[i]);
            cJSON_AddStringToObject(o, "label", ds.label[ds.y[i]]);
            cJSON_AddStringToObject(o, "file", ds.files[i]);
            cJSON_AddNumberToObject(o, "line", (double)ds.lines[i]);
            cli_json_number(o, "reference_value", ref[resid[k]]);
            cli_json_number(o, "readable_value", hyp[resid[k]]);
        }
        if (!(json_text = cJSON_Print(root))) goto nomem;
        if ((st = cli_write_atomic(d.json_path, json_text, err, sizeof err)) != HR_OK) goto fail;
        if (!opt.quiet) fprintf(stderr, "hyporank: wrote %s\n", d.json_path);
    }
    goto done;
nomem:
    st = HR_ERR_NOMEM;
    snprintf(err, sizeof err, "out of memory");
fail:
    rc = cli_error(st, err);
done:
    free(json_text);
    cJSON_Delete(root);
    hr_explain_result_free(&res);
    hr_explain_result_free(&dec);
    free(is_prop), free(ye), free(yd), free(scratch), free(eval), free(resid);
    free(ptexts), free(ntexts), free(etexts), free(plens), free(nlens), free(elens);
    free(X), free(H), free(F), free(ref), free(sorted);
    free(Xp), free(Fp), free(Hn), free(refp), free(hypp), free(presid), free(prow), free(yp);
    free(ptx), free(plen), free(atx), free(alen), free(btx), free(blen), free(rec);
    hr_probe_destroy(probe);
    cli_embedder_close(&emb);
    hr_pool_destroy(pool);
    dataset_free(&ds);
    hr_corpus_destroy(ca), hr_corpus_destroy(cb), hr_corpus_destroy(cd), hr_corpus_destroy(ch);
    return rc;
}
