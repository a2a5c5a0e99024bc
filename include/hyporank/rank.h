/*
 * hyporank/rank.h: the rank pipeline: the caller's hypotheses ranked by how
 * well they separate corpus A from corpus B (what `hyporank rank` runs).
 *
 *     hr_rank_options o;
 *     hr_rank_options_init(&o);
 *     o.a_path = "2020.jsonl"; o.b_path = "2019.jsonl"; o.hypotheses_path = "ideas.txt";
 *     hr_report *r;
 *     if (hr_rank_run(&o, embedder, &r, err, sizeof err) != HR_OK) ...
 *     char *json = hr_report_json(r);
 *
 * Each side (A, B, the hypotheses) comes as texts, embedded by the embedder
 * (through its cache), or as embeddings already computed: a .npy file of
 * float32 (n, dim) (hyporank/npy.h), finite; with H.npy the hypotheses'
 * text file is optional and only names the rows. Every input is read and
 * checked before anything is embedded; the embedder is not even loaded when
 * all three sides are .npy files. A, B and the hypotheses must have one
 * width. Repeated hypotheses (same text, or same embedding without texts)
 * are kept and ranked, marked duplicate_of, with a NOTE event each.
 *
 * Each embedding matrix is read or embedded once and handed to the scorer
 * and the effects (hyporank/findings.h) as it is: A (n_a, dim), B (n_b,
 * dim), H (k, dim), row-major. Every hypothesis gets its shares of A and B,
 * effect, interval and test, and the findings among them are selected as
 * describe selects them (hyporank/report.h says what a row holds). The
 * effect's calibration was measured for all-MiniLM-L6-v2; with embeddings
 * of another model the tests stay valid and the shares are approximate.
 *
 * Any side may come from memory instead of a file (a binding's arrays): its
 * texts as a corpus (hyporank/corpus.h), its embeddings as an hr_matrix_ref
 * that the scorer reads where it lies, never copied. Both are borrowed: the
 * matrices for the call, the corpora for the report's life (its rows and
 * examples point into them). What comes from memory wins over the path of
 * the same side.
 */
#ifndef HYPORANK_RANK_H
#define HYPORANK_RANK_H

#include "hyporank/corpus.h"
#include "hyporank/embedder.h"
#include "hyporank/events.h"
#include "hyporank/report.h"
#include "hyporank/scorer.h"
#include "hyporank/status.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A float32 matrix the caller holds: (rows, dim) row-major, borrowed. name is
 * what messages and the report call it (NULL: "A's embeddings", ...). */
typedef struct hr_matrix_ref {
    const float *data; /* NULL: none */
    size_t rows, dim;
    const char *name;
} hr_matrix_ref;

typedef struct hr_rank_options {
    const char *a_path;           /* A's texts (hyporank/corpus.h) ... */
    const char *a_emb_path;       /* ... or its embeddings (.npy); exactly one of the two */
    const char *b_path, *b_emb_path;  /* B, likewise */
    const char *hypotheses_path;  /* the hypotheses' texts (.txt or .jsonl) ... */
    const char *h_emb_path;       /* ... and/or their embeddings; at least one */
    const char *text_field;       /* JSONL field / CSV column of A's and B's texts ("text") */
    const char *hypothesis_field; /* the hypotheses' JSONL field ("text") */
    size_t top;                   /* rows of the table, 0: all (20) */
    double alpha;                 /* significance: q-value at most alpha (0.05) */
    hr_scorer_options scorer;     /* method, temperature, device, threads, memory */
    hr_events events;             /* progress and notes; {NULL, NULL}: none */
    int plots;                    /* 1: the HTML page's histograms and examples of the
                                     rows shown (two passes over the texts' embeddings
                                     after scoring, about a tenth of a run on 100k
                                     texts); 0: rows without them (1) */
    /* from memory (see above): texts, then embeddings, of A, B, the hypotheses */
    const hr_corpus *corpus_a, *corpus_b, *corpus_h;
    hr_matrix_ref a_emb, b_emb, h_emb;
} hr_rank_options;

/* Fills in the defaults above (the scorer's are hr_scorer_default_options
 * but the method, COSINE: the AUROC column is that of the similarity). */
void hr_rank_options_init(hr_rank_options *o);

/* 1 when some side comes as texts, so the run needs an embedder. */
int hr_rank_needs_embedder(const hr_rank_options *o);

/* Runs the pipeline. embedder: borrowed; may be NULL when
 * hr_rank_needs_embedder is 0. On HR_OK *out owns the report. */
hr_status hr_rank_run(const hr_rank_options *opt, hr_embedder *embedder, hr_report **out,
                      char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
