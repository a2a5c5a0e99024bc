/*
 * host/pipeline/explain_internal.h: what the explain pipeline's files share
 * (explain_data.c reads the labelled texts, explain_run.c computes,
 * explain_report.c renders); not public.
 */
#ifndef HYPORANK_EXPLAIN_INTERNAL_H
#define HYPORANK_EXPLAIN_INTERNAL_H

#include "hyporank/corpus.h"
#include "hyporank/explain.h"
#include "hyporank/explain_run.h"
#include "hyporank/proposers.h"

#include <stddef.h>
#include <stdint.h>

/* The labelled texts, whichever way they came. Texts are views into the
 * corpora (owned by the dataset). */
typedef struct hr_dataset {
    size_t n;
    const char **texts;   /* (n) borrowed from the corpora */
    size_t *lens;         /* (n) */
    const char **files;   /* (n) the file of each text */
    size_t *lines;        /* (n) its line there */
    uint8_t *y;           /* (n) 1: positive class */
    double *score;        /* (n) the classifier's score, or NULL */
    double *target;       /* (n) continuous: the numeric label, or NULL */
    char label[2][256];   /* the labels of class 0 and class 1 */
    int numeric;          /* both labels are numbers */
    int two;              /* from two corpora (A positive) rather than one file */
    size_t n_a, n_b;      /* two corpora: their sizes */
    hr_corpus *corpora[2]; /* owned: A and B, or the data file */
} hr_dataset;

/* Reads the labelled texts the options name (see hyporank/explain_run.h). */
hr_status hr_dataset_read(const hr_explain_run_options *o, hr_dataset *d, char *err,
                          size_t errlen);
void hr_dataset_free(hr_dataset *d); /* accepts a zeroed dataset */

/* One round's figures: the held-out AUROC and X of its final model. */
typedef struct hr_round_rec {
    size_t added;      /* candidates the round added (round 1: the whole pool) */
    size_t residual;   /* the word share's residual it proposed from (rounds >= 2) */
    size_t candidates; /* the pool after the round */
    size_t steps;      /* hypotheses chosen after the round */
    double auroc, explained, ci_low, ci_high;
    int stopped;       /* it added nothing, so the rounds stopped */
} hr_round_rec;

/* A text the reference gets right and the hypotheses wrong. */
typedef struct hr_residual_text {
    const char *text;
    size_t len;
    int y;             /* its class */
    const char *file;
    size_t line;
    double reference_value, readable_value;
} hr_residual_text;

struct hr_explain_report {
    hr_explain_run_options opt;  /* as given (strings borrowed for the run only) */
    hr_dataset ds;               /* the texts, labels; strings below point into it */
    const char *data_path, *label_field, *score_field, *a_path, *b_path; /* kept copies */
    size_t n, m, n_pos;          /* texts, evaluated, positives */
    size_t K;                    /* candidates after the last round */
    char sources[40];            /* "bank + words + yours" */
    double seconds;              /* from the end of embedding to the end of the fit */
    hr_explain_ratio ratio;      /* X and the AUROCs (Spearman rhos when continuous) */
    double cv_p_value;           /* the probe's (binary, no score field) */
    hr_explain_result res;       /* the readable model */
    hr_explain_result dec;       /* the classifier's decisions from the hypotheses */
    int have_dec;
    double median;               /* of the classifier's scores (score field) */
    hr_round_rec *rec;           /* (n_rounds) */
    size_t n_rounds;
    size_t n_resid;              /* residual texts */
    hr_residual_text *resid;     /* (n_shown) the first of them, most wrong first */
    size_t n_shown;
    double ref_r2, hyp_r2;       /* continuous */
    hr_explain_ratio *steps;     /* (res.n_selected) X after each step, the last = ratio */
    const char *encoder_model, *encoder_device;
    size_t dim;
    hr_hypothesis_pool *pool;
    char **strings;              /* (n_strings) owned copies */
    size_t n_strings;
};

#endif
