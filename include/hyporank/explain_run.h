/*
 * hyporank/explain_run.h: the explain pipeline: how much of a classifier's
 * performance a few readable hypotheses explain (what `hyporank explain`
 * runs; the statistics are hyporank/explain.h's).
 *
 *     hr_explain_run_options o;
 *     hr_explain_run_options_init(&o);
 *     o.data_path = "reviews.jsonl"; o.label_field = "label"; o.score_field = "prob";
 *     hr_explain_report *r;
 *     if (hr_explain_run(&o, embedder, &r, err, sizeof err) != HR_OK) ...
 *     hr_explain_summary s = hr_explain_report_summary(r);
 *     printf("%.0f%% explained\n", 100 * s.explained);
 *     hr_explain_report_write_table(stdout, r);
 *     hr_explain_report_destroy(r);
 *
 * The HTML page with the curve of X: hyporank/html.h.
 *
 * Input: labelled texts (data_path, .jsonl or .csv, with label_field: two
 * distinct values, strings or numbers; the positive class is `positive`,
 * else the larger number or the later string; optionally score_field, a
 * classifier's score per text), or two corpora (a_path, the positive class,
 * and b_path), or with `continuous` a numeric label_field. A label or score
 * that is missing or of the wrong kind is HR_ERR_INPUT naming the file, the
 * line and the value. The labelled texts may also come from memory (a
 * binding's lists): corpus, whose field 0 is each text's label and field 1
 * (with score_field) its score, as hr_corpus_read would give them for
 * fields {label_field, score_field}; label_field and score_field then only
 * name them in messages, and the corpus's path names the data.
 *
 * Steps: the word share (holdout of each class, drawn at random, seed)
 * proposes n-gram candidates and is not evaluated; the pool is the caller's
 * hypotheses, the bank and those words. The evaluated texts and the pool are
 * embedded once; the reference is a linear probe on the embeddings
 * (cross-validated, held out), or the classifier's score, or (continuous)
 * ridge regression; the readable model is chosen greedily on the hypotheses'
 * scores (method, cosine by default), nested in the same folds, and X =
 * (AUROC_readable - 0.5) / (AUROC_reference - 0.5) with a bootstrap
 * interval. Later rounds (rounds > 1) embed the word share once, propose
 * words from its residual, embed only the new candidates (the candidates'
 * matrix grows in place) and choose on.
 */
#ifndef HYPORANK_EXPLAIN_RUN_H
#define HYPORANK_EXPLAIN_RUN_H

#include "hyporank/corpus.h"
#include "hyporank/embedder.h"
#include "hyporank/events.h"
#include "hyporank/explain.h"
#include "hyporank/scorer.h"
#include "hyporank/status.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* X is undefined when the reference's AUROC is at most 0.5 + this (the
 * reference's Spearman at most this, for a continuous target). */
#define HR_EXPLAIN_EPSILON 0.01

typedef struct hr_explain_run_options {
    /* input: data_path + label_field, or a_path + b_path */
    const char *data_path;       /* labelled texts, .jsonl or .csv */
    const char *label_field;     /* the label's JSONL field / CSV column */
    const char *positive;        /* the positive label, or NULL (see above) */
    const char *score_field;     /* a classifier's score per text, or NULL: the probe */
    const char *a_path, *b_path; /* or two corpora, A the positive class */
    const char *text_field;      /* the texts' field / column (NULL: "text") */
    int continuous;              /* label_field is a number to explain (0) */
    const hr_corpus *corpus;     /* or the labelled texts from memory (see above), borrowed
                                    for the report's life; wins over data_path */
    /* candidates */
    const char *hypotheses_path; /* the caller's candidates, or NULL */
    int bank;                    /* the built-in bank (1) */
    int ngrams;                  /* word candidates from the word share (1) */
    size_t ngrams_per_side;      /* 1..10000 (25) */
    double holdout;              /* the word share of each class, 0.05..0.9 (0.3) */
    size_t rounds;               /* rounds of proposing, 1..20 (1); > 1 needs ngrams */
    /* the models */
    size_t top_k;                /* hypotheses chosen at most, 1..50 (5) */
    size_t candidates;           /* each step chooses among this many singles, 1..1000 (50) */
    size_t folds;                /* cross-validation folds, 2..20 (5) */
    uint64_t seed;               /* folds, split, bootstrap (1) */
    size_t bootstrap;            /* resamples for the intervals, 100..100000 (1000) */
    size_t examples;             /* residual texts kept for the report, 0..1000 (5) */
    hr_score_method method;      /* the hypotheses' scores (HR_SCORE_COSINE: a readable
                                    feature stands on its own, not with the pool) */
    double temperature;          /* CONTRAST's T (HR_SCORER_DEFAULT_TEMPERATURE) */
    hr_device device;            /* the probe: cpu, cuda or auto (auto) */
    hr_events events;            /* progress; {NULL, NULL}: none */
} hr_explain_run_options;

/* Fills in the defaults above; no inputs. */
void hr_explain_run_options_init(hr_explain_run_options *o);

typedef struct hr_explain_report hr_explain_report;

/* Runs the pipeline. embedder: borrowed. On HR_OK *out owns the report. */
hr_status hr_explain_run(const hr_explain_run_options *opt, hr_embedder *embedder,
                         hr_explain_report **out, char *err, size_t errlen);
void hr_explain_report_destroy(hr_explain_report *r); /* accepts NULL */

/* The headline figures. For a continuous target the AUROCs are held-out
 * Spearman correlations. */
typedef struct hr_explain_summary {
    int continuous;
    size_t n;                    /* labelled texts */
    size_t evaluated;            /* of which evaluated (the rest found word candidates) */
    size_t candidates;           /* the pool, after the last round */
    double reference;            /* the reference's held-out AUROC */
    double readable;             /* the readable model's */
    double explained;            /* X; NaN when undefined */
    double ci_low, ci_high;      /* X's 95% interval; NaN unless status is HR_EXPLAINED_OK */
    hr_explained_status status;
    size_t n_selected;           /* hypotheses chosen */
} hr_explain_summary;

hr_explain_summary hr_explain_report_summary(const hr_explain_report *r);
/* The text of the j-th hypothesis chosen (j < n_selected), or NULL. */
const char *hr_explain_report_selected(const hr_explain_report *r, size_t j);

/* X after the first j + 1 hypotheses chosen (j < n_selected): the readable
 * model's held-out AUROC (Spearman rho when continuous), X and its 95%
 * bootstrap interval (NaN unless status is HR_EXPLAINED_OK), as the HTML
 * page's curve plots them; the last step's are the summary's.
 * HR_ERR_INPUT when j is out of range. */
typedef struct hr_explain_step {
    double auroc;
    double explained;
    double ci_low, ci_high;
    hr_explained_status status;
} hr_explain_step;
hr_status hr_explain_report_step(const hr_explain_report *r, size_t j, hr_explain_step *out);

/* The terminal table as `hyporank explain` prints it; HR_ERR_IO when
 * writing failed. */
hr_status hr_explain_report_write_table(FILE *f, const hr_explain_report *r);
/* The JSON document (explain's --json): malloc'ed, no trailing newline;
 * NULL when out of memory. */
char *hr_explain_report_json(const hr_explain_report *r);

#ifdef __cplusplus
}
#endif

#endif
