/* host/pipeline/explain_data.c: the labelled texts of explain: two corpora,
 * or one file with a label (and a score) per text, read by the corpus
 * reader with those fields (explain_internal.h). */
#include "pipeline/explain_internal.h"
#include "pipeline/pipeline.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void hr_dataset_free(hr_dataset *d)
{
    free(d->texts), free(d->lens), free(d->files), free(d->lines), free(d->y), free(d->score);
    free(d->target);
    hr_corpus_destroy(d->corpora[0]), hr_corpus_destroy(d->corpora[1]);
    memset(d, 0, sizeof *d);
}

static int dataset_alloc(hr_dataset *d, size_t n, int with_score)
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

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Collects the labels: raw[i] is text i's label (canonical), at most two
 * distinct values, else an error naming the third and its line. */
static hr_status assign_labels(hr_dataset *d, char (*raw)[256], const char *path,
                               const char *field, const char *positive, char *err, size_t errlen)
{
    char seen[2][256];
    int nseen = 0;
    for (size_t i = 0; i < d->n; i++) {
        int k = 0;
        while (k < nseen && strcmp(seen[k], raw[i]) != 0) k++;
        if (k < nseen) continue;
        if (nseen == 2)
            return hr_fail(HR_ERR_INPUT, err, errlen,
                           "%s:%zu: label field \"%s\" has a third value '%s' (after '%s' and "
                           "'%s'); explain needs binary labels (two distinct values); continuous "
                           "targets are not supported yet",
                           path, d->lines[i], field, raw[i], seen[0], seen[1]);
        snprintf(seen[nseen++], sizeof seen[0], "%s", raw[i]);
    }
    if (nseen < 2)
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "%s: every text has label '%s' (field \"%s\"): a single class; explain "
                       "needs two classes",
                       path, nseen ? seen[0] : "", field);
    double v0, v1;
    d->numeric = parse_number(seen[0], &v0) == 0 && parse_number(seen[1], &v1) == 0;
    int pos; /* index in seen[] of the positive label */
    if (positive) {
        char want[256];
        canonical_label(positive, want, sizeof want);
        if (strcmp(want, seen[0]) == 0) pos = 0;
        else if (strcmp(want, seen[1]) == 0) pos = 1;
        else
            return hr_fail(HR_ERR_INPUT, err, errlen,
                           "--positive '%s' is not one of the labels of %s: '%s', '%s'", positive,
                           path, seen[0], seen[1]);
    } else if (d->numeric) {
        pos = v1 > v0 ? 1 : 0;
    } else {
        pos = strcmp(seen[1], seen[0]) > 0 ? 1 : 0;
    }
    snprintf(d->label[1], sizeof d->label[1], "%.255s", seen[pos]);
    snprintf(d->label[0], sizeof d->label[0], "%.255s", seen[1 - pos]);
    for (size_t i = 0; i < d->n; i++) d->y[i] = strcmp(raw[i], d->label[1]) == 0;
    return HR_OK;
}

/* The label of text i (field 0 of the corpus) as canonical text into out;
 * an error for a missing, empty or structured one. csv: the file is CSV
 * (its cells are strings; an empty one is no label). */
static hr_status read_label(const hr_corpus_field *f, int csv, const char *path, size_t line,
                            const char *field, char *out, size_t len, char *err, size_t errlen)
{
    switch (f->type) {
    case HR_FIELD_STRING:
        if (f->len > 0) {
            canonical_label(f->text, out, len);
            return HR_OK;
        }
        if (csv)
            return hr_fail(HR_ERR_INPUT, err, errlen, "%s:%zu: no label: column \"%s\" is empty",
                           path, line, field);
        return hr_fail(HR_ERR_INPUT, err, errlen, "%s:%zu: no label: field \"%s\" is empty", path,
                       line, field);
    case HR_FIELD_MISSING:
    case HR_FIELD_NULL:
        return hr_fail(HR_ERR_INPUT, err, errlen, "%s:%zu: no label: field \"%s\" is %s", path,
                       line, field, f->type == HR_FIELD_MISSING ? "missing" : "null");
    case HR_FIELD_NUMBER: number_label(f->number, out, len); return HR_OK;
    case HR_FIELD_TRUE:
    case HR_FIELD_FALSE:
        snprintf(out, len, "%s", f->type == HR_FIELD_TRUE ? "true" : "false");
        return HR_OK;
    default:
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "%s:%zu: label field \"%s\" is %s, not a string or number", path, line,
                       field, f->type == HR_FIELD_ARRAY ? "an array" : "an object");
    }
}

/* The classifier's score of text i (field 1): a number, or a string that
 * holds one. */
static hr_status read_score(const hr_corpus_field *f, const char *path, size_t line,
                            const char *field, double *out, char *err, size_t errlen)
{
    if (f->type == HR_FIELD_NUMBER && isfinite(f->number)) {
        *out = f->number;
        return HR_OK;
    }
    if (f->type == HR_FIELD_STRING && parse_number(f->text, out) == 0) return HR_OK;
    char shown[64] = "missing";
    if (f->type == HR_FIELD_STRING) hr_text_cell(f->text, f->len, shown, 40);
    else if (f->type != HR_FIELD_MISSING)
        snprintf(shown, sizeof shown, "%s",
                 f->type == HR_FIELD_NULL ? "null"
                 : (f->type == HR_FIELD_TRUE || f->type == HR_FIELD_FALSE) ? "a boolean"
                                                                           : "not a number");
    return hr_fail(HR_ERR_INPUT, err, errlen, "%s:%zu: --score-field \"%s\" is '%s', not a number",
                   path, line, field, shown);
}

/* Continuous: the labels as numbers into d->target, an error naming the
 * file and line of one that is not; d->y[i] = 1 above the median (the word
 * candidates' two sides and the split's strata). */
static hr_status assign_targets(hr_dataset *d, char (*raw)[256], const char *path,
                                const char *field, char *err, size_t errlen)
{
    double *sorted = NULL;
    if (!(d->target = malloc(d->n * sizeof *d->target)) ||
        !(sorted = malloc(d->n * sizeof *sorted))) {
        free(sorted);
        return hr_pipe_nomem(err, errlen);
    }
    for (size_t i = 0; i < d->n; i++) {
        if (parse_number(raw[i], &d->target[i]) != 0) {
            char shown[64];
            hr_text_cell(raw[i], strlen(raw[i]), shown, 40);
            free(sorted);
            return hr_fail(HR_ERR_INPUT, err, errlen,
                           "%s:%zu: label field \"%s\" is '%s', not a number (--continuous needs "
                           "a numeric target)", path, d->lines[i], field, shown);
        }
        sorted[i] = d->target[i];
    }
    qsort(sorted, d->n, sizeof *sorted, cmp_dbl);
    if (d->n == 0 || sorted[0] == sorted[d->n - 1]) {
        hr_status st = hr_fail(HR_ERR_INPUT, err, errlen,
                               "%s: every text has the same value of \"%s\" (%g): nothing to "
                               "explain", path, field, d->n ? sorted[0] : 0.0);
        free(sorted);
        return st;
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

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcasecmp(s + a - b, suffix) == 0;
}

/* One file with a label (and a score) field per text. */
static hr_status read_labelled(const hr_explain_run_options *o, hr_dataset *d, char *err,
                               size_t errlen)
{
    const char *fields[2] = {o->label_field, o->score_field};
    hr_corpus_options copt = {.text_field = o->text_field, .format = HR_FORMAT_AUTO,
                              .fields = fields, .n_fields = o->score_field ? 2 : 1};
    hr_status st = HR_OK;
    if (!o->corpus && (st = hr_corpus_read(o->data_path, &copt, &d->corpora[0], err, errlen)))
        return st;
    const hr_corpus *c = o->corpus ? o->corpus : d->corpora[0]; /* the caller's, borrowed */
    if (c->n == 0) return hr_fail(HR_ERR_INPUT, err, errlen, "%s: no texts", o->data_path);
    if (dataset_alloc(d, c->n, o->score_field != NULL) != 0)
        return hr_pipe_nomem(err, errlen);
    for (size_t i = 0; i < c->n; i++) {
        d->texts[i] = c->texts[i];
        d->lens[i] = c->lens[i];
        d->files[i] = c->path;
        d->lines[i] = c->lines[i];
    }
    char (*raw)[256] = malloc(c->n * sizeof *raw); /* (n) canonical labels */
    if (!raw) return hr_pipe_nomem(err, errlen);
    const int csv = ends_with(o->data_path, ".csv");
    for (size_t i = 0; st == HR_OK && i < c->n; i++) {
        st = read_label(hr_corpus_get_field(c, i, 0), csv, o->data_path, c->lines[i],
                        o->label_field, raw[i], sizeof raw[i], err, errlen);
        if (st == HR_OK && o->score_field)
            st = read_score(hr_corpus_get_field(c, i, 1), o->data_path, c->lines[i],
                            o->score_field, &d->score[i], err, errlen);
    }
    if (st == HR_OK && o->continuous)
        st = assign_targets(d, raw, o->data_path, o->label_field, err, errlen);
    else if (st == HR_OK)
        st = assign_labels(d, raw, o->data_path, o->label_field, o->positive, err, errlen);
    free(raw);
    return st;
}

hr_status hr_dataset_read(const hr_explain_run_options *o, hr_dataset *d, char *err,
                          size_t errlen)
{
    memset(d, 0, sizeof *d);
    if (!o->a_path && !o->b_path) return read_labelled(o, d, err, errlen);
    hr_corpus_options copt = {.text_field = o->text_field, .format = HR_FORMAT_AUTO};
    hr_status st;
    if ((st = hr_corpus_read(o->a_path, &copt, &d->corpora[0], err, errlen)) != HR_OK ||
        (st = hr_corpus_read(o->b_path, &copt, &d->corpora[1], err, errlen)) != HR_OK)
        return st;
    const hr_corpus *ca = d->corpora[0], *cb = d->corpora[1];
    if (dataset_alloc(d, ca->n + cb->n, 0) != 0)
        return hr_pipe_nomem(err, errlen);
    for (size_t i = 0; i < d->n; i++) {
        const hr_corpus *c = i < ca->n ? ca : cb;
        const size_t r = i < ca->n ? i : i - ca->n;
        d->texts[i] = c->texts[r];
        d->lens[i] = c->lens[r];
        d->files[i] = c->path;
        d->lines[i] = c->lines[r];
        d->y[i] = c == ca;
    }
    snprintf(d->label[1], sizeof d->label[1], "A");
    snprintf(d->label[0], sizeof d->label[0], "B");
    d->two = 1;
    d->n_a = ca->n;
    d->n_b = cb->n;
    return HR_OK;
}
