/*
 * hyporank/report.h: what `rank` and `describe` found, and its renderers:
 * the terminal table, JSON and Markdown. The hyporank program prints these;
 * any other caller (a binding, a server) gets the same text from the same
 * functions.
 *
 *     hr_report *r;
 *     hr_describe_run(&opt, embedder, &r, err, sizeof err);   // or hr_rank_run
 *     const hr_report_info *info = hr_report_get_info(r);
 *     for (size_t i = 0; i < hr_report_rows(r); i++) {
 *         const hr_report_row *row = hr_report_row_at(r, i);
 *         printf("%zu %c %.3f %s\n", row->rank, row->direction, row->score.auroc, row->text);
 *     }
 *     hr_report_write_table(stdout, r);
 *     char *json = hr_report_json(r);      // free() it
 *     hr_report_destroy(r);
 *
 * What a row says (hyporank/findings.h): the share of A and of B the
 * hypothesis holds for and their difference, the effect, with a 95%
 * interval and a test (p_value, q_value: Benjamini-Hochberg over every row);
 * whether it is a finding (a distinct difference) or, significant alone,
 * explained by a finding (a shadow or a paraphrase of it); and, secondary,
 * the AUROC of its similarity score with its Mann-Whitney test (score).
 *
 * Rows are ordered by rank, in `rank` and `describe` alike: the findings
 * first, largest |effect| first, then every other row by its effect's
 * p-value (smallest first). The JSON has every row; the table and the
 * Markdown show the rows marked shown (describe: the findings of each
 * direction, at most info->top each, or, when there is no finding, the
 * first top rows of each direction; rank: the first top rows, all when top
 * is 0).
 *
 * Compatibility: the library allocates the info and the rows and hands out
 * pointers; fields are only ever added at the end of hr_report_info and
 * hr_report_row, never renamed or removed. Callers read rows through
 * hr_report_row_at and never allocate, copy by value or index arrays of
 * these structs, so code built against this header keeps working when
 * fields are added.
 *
 * The self-contained HTML page with plots is hyporank/html.h's
 * hr_report_write_html.
 *
 * Ownership: the report owns everything it points to (its texts live in
 * corpora and pools it keeps) except corpora the caller lent the pipeline
 * (hr_describe_options.corpus_a, ...), which must outlive the report.
 */
#ifndef HYPORANK_REPORT_H
#define HYPORANK_REPORT_H

#include "hyporank/findings.h"  /* hr_effect */
#include "hyporank/llm.h"       /* hr_remote_stats */
#include "hyporank/proposers.h" /* hr_hyp_source */
#include "hyporank/scorer.h"    /* hr_hypothesis_score, hr_score_method, hr_device */
#include "hyporank/status.h"
#include "hyporank/verify.h"    /* hr_verify_result */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What became of a run's LLM work (describe). */
typedef enum hr_llm_state {
    HR_LLM_OK = 0,      /* every proposal round and verdict asked for came back usable */
    HR_LLM_PARTIAL,     /* some did not: the report is built on those that did */
    HR_LLM_FAILED       /* not one answer was usable: the report is the offline one */
} hr_llm_state;

typedef enum hr_report_kind {
    HR_REPORT_RANK = 0,    /* hr_rank_run: the caller's hypotheses */
    HR_REPORT_DESCRIBE = 1 /* hr_describe_run: a generated candidate pool, both directions */
} hr_report_kind;

/* One cluster of the texts a probe finds most typical of one side
 * (describe; hyporank/geometry.h). */
typedef struct hr_report_cluster {
    char side;                   /* 'A' or 'B' */
    size_t number;               /* its number within the side, from 1 (largest first) */
    size_t size;                 /* texts in it */
    size_t words_added;          /* its n-grams that were new to the pool */
    size_t n_nearest;
    const char *const *nearest;  /* (n_nearest) the candidates nearest to it, nearest first */
    const size_t *nearest_lens;  /* (n_nearest) their byte lengths */
    size_t n_examples;           /* at most 3 */
    const char *const *examples; /* (n_examples) its texts, nearest to its centre first */
} hr_report_cluster;

/* The facts of the whole run. Strings are NULL when they do not apply. */
typedef struct hr_report_info {
    hr_report_kind kind;
    size_t n_a, n_b;            /* texts (or embedding rows) of A and of B */
    const char *a_path;         /* where A came from (rank: the .npy when given) */
    const char *b_path;
    /* the encoder (rank from .npy files alone: model "precomputed", device "none") */
    const char *encoder_model;
    const char *encoder_model_id; /* the cache identity; NULL when unknown */
    size_t dim;
    const char *encoder_device;   /* "cpu", "cuda", "remote" */
    /* the scorer */
    hr_device scorer_device;    /* the device that scored (never auto) */
    hr_score_method method;
    double temperature;         /* CONTRAST's T */
    /* wall seconds of the run's phases (describe: embedding wherever it
     * happens counts under embed, not under the phase that asked for it) */
    double seconds_read;        /* reading the inputs */
    double seconds_embed;       /* embedding texts and candidates */
    double seconds_score;       /* the scorer: similarities, AUROC, shares, effects (describe:
                                   and the merging of near-duplicate candidates) */
    double seconds_findings;    /* q-values and the findings' selection */
    double seconds_propose;     /* describe: the split, words, probe, clusters, LLM proposals */
    double seconds_judge;       /* describe: the LLM judge */
    double seconds_report;      /* describe: examples, report and plots */
    size_t top;                 /* rows the table and the Markdown show (see above) */

    /* rank */
    const char *hypotheses_path; /* the hypotheses' text file; NULL with .npy only */
    const char *a_emb_path;      /* .npy inputs, NULL when given as texts */
    const char *b_emb_path;
    const char *h_emb_path;

    /* describe */
    const char *goal;
    size_t n_candidates;         /* candidates scored (after merging near-duplicates) */
    size_t merged;               /* near-duplicates merged into an earlier candidate */
    const char *candidate_sources; /* "yours + bank + words + clusters + LLM" */
    size_t scored_a, scored_b;   /* texts every candidate was scored on */
    size_t proposal_a, proposal_b; /* texts held out to find candidates on */
    uint64_t seed;
    double alpha;                /* significant: q-value <= alpha */
    size_t significant_a, significant_b; /* significant candidates of each direction */
    size_t examples;             /* example texts asked for per shown row */
    size_t n_clusters;
    const hr_report_cluster *clusters; /* (n_clusters) A's, then B's; NULL when the
                                          clustering did not run */
    int has_llm;                 /* an LLM proposed or judged: the fields below hold */
    const char *llm_model;
    const char *llm_url;         /* without credentials */
    hr_remote_stats llm_totals;  /* requests, cache hits, tokens, cost of the whole run */
    size_t verify_samples;       /* texts judged per side */
    size_t verdicts_missing;     /* verdicts the judge did not give (never counted as no) */

    /* findings (rank and describe) */
    size_t findings_a, findings_b; /* distinct differences of each direction */
    size_t scored_all_a, scored_all_b; /* describe: texts the candidates that do not
                                          depend on the data (bank, yours) were scored on */
    /* what became of the LLM work (has_llm) */
    hr_llm_state llm_state;
    hr_status llm_status;        /* not HR_LLM_OK: HR_ERR_INPUT when the endpoint refused
                                    the run's URL, key or model or could not be reached,
                                    else HR_ERR_IO */
    const char *llm_error;       /* the last error (never the key), or NULL */
    size_t llm_rounds;           /* proposal rounds asked for */
    size_t llm_rounds_failed;    /* of which without a usable answer */
    size_t verdicts_asked;       /* verdicts asked of the judge (verdicts_missing of them
                                    not given) */

    /* describe with an LLM: the judge's rounds and what the LLM cost */
    size_t verify_max_samples;   /* most texts judged per side and hypothesis */
    size_t verify_rounds;        /* rounds the judge ran */
    size_t texts_judged;         /* texts asked about, all hypotheses */
    int budget_stopped;          /* 1: the budget ended the rounds */
    size_t max_requests;         /* the caps (0: none) */
    double budget_usd;
    double spent_usd;            /* usage at the prices; estimates where a reply had none */
    double price_prompt, price_completion; /* dollars per million tokens used for costs */
    const char *price_source;    /* "given", the built-in entry's name, or NULL (no price) */
    size_t requests_not_sent;    /* judge requests the caps refused */
    size_t llm_context;          /* the context guard's length (0: none) */
} hr_report_info;

/* One hypothesis. */
typedef struct hr_report_row {
    size_t rank;                /* 1 = strongest (see the order above) */
    size_t index;               /* rank: its row in the hypothesis file (from 0, blank
                                   lines not counted) or in H.npy; describe: its
                                   position in the candidate pool */
    const char *text;           /* NULL when the hypotheses came as embeddings only */
    size_t len;                 /* bytes of text */
    size_t line;                /* rank: its line in the hypothesis file; 0 without text */
    hr_hyp_source source;
    const char *note;           /* NULL, or the proposer's remark (hyporank/proposers.h) */
    char direction;             /* 'A' when it holds for more of A (effect.z > 0), else 'B' */
    hr_hypothesis_score score;  /* the similarity score's AUROC, means and Mann-Whitney
                                   p- and q-value (hyporank/scorer.h; secondary) */
    int significant;            /* its effect's q_value <= alpha */
    long duplicate_of;          /* rank: index of an equal earlier hypothesis, or -1 */
    const hr_verify_result *verification; /* the judge's verdict; NULL when not judged */
    size_t n_examples;          /* describe: rows shown get up to info->examples */
    const char *const *examples;   /* (n_examples) texts of its side scoring highest, best first */
    const size_t *example_lens;    /* (n_examples) their byte lengths */

    /* what share of each side it holds for, and what it is */
    hr_effect effect;           /* share_a, share_b, effect, ci_low, ci_high, p_value,
                                   q_value (hyporank/findings.h) */
    int finding;                /* 1: a distinct difference */
    size_t explained_by;        /* significant alone but not a finding: the rank of the
                                   finding that explains it; else 0 */
    int paraphrase;             /* 1: holds for the same texts as explained_by */
    double effect_beyond, effect_beyond_se; /* a finding: its share difference given the
                                   findings before it, and that one's standard error
                                   (hyporank/findings.h); else NaN */
    size_t n_explained;         /* a finding: rows it explains, paraphrases included */
    size_t n_paraphrases;       /* a finding: its paraphrases, strongest first */
    const char *const *paraphrases; /* (n_paraphrases) their texts */
    const size_t *paraphrase_lens;  /* (n_paraphrases) */
    int shown;                  /* the table and the Markdown show it (see above) */

    /* The page's plots and examples (hyporank/html.h), for the first
     * HR_REPORT_DETAIL_ROWS rows shown, by rank; zero and NULL for the others.
     * They are taken on the texts its effect was computed on (describe:
     * candidates drawn from the data, on the held-out part). */
    size_t n_bins;              /* HR_REPORT_BINS, or 0: no histograms */
    double bins_lo, bins_hi;    /* the similarity h . x over A and B together: its range,
                                   cut in n_bins equal bins (bins_lo < bins_hi) */
    const size_t *hist_a;       /* (n_bins) texts of A whose similarity falls in each bin */
    const size_t *hist_b;       /* (n_bins) texts of B */
    size_t n_examples_a;        /* up to HR_REPORT_DETAIL_EXAMPLES texts of A scoring */
    const char *const *examples_a; /* (n_examples_a) highest, best first; 0 when */
    const size_t *example_lens_a;  /* (n_examples_a) the texts are not known (.npy) */
    size_t n_examples_b;           /* the same for B */
    const char *const *examples_b;
    const size_t *example_lens_b;
} hr_report_row;

/* The plots of the page: rows that get them, bins, examples per side. */
#define HR_REPORT_DETAIL_ROWS 40
#define HR_REPORT_BINS 40
#define HR_REPORT_DETAIL_EXAMPLES 3

typedef struct hr_report hr_report;

void hr_report_destroy(hr_report *r); /* accepts NULL */

const hr_report_info *hr_report_get_info(const hr_report *r);
size_t hr_report_rows(const hr_report *r);
/* Row i (0 <= i < hr_report_rows), or NULL. */
const hr_report_row *hr_report_row_at(const hr_report *r, size_t i);

/* The terminal table, as `hyporank rank` and `hyporank describe` print it.
 * HR_ERR_IO when writing to f failed. */
hr_status hr_report_write_table(FILE *f, const hr_report *r);

/* The JSON document (the command line's --json; field names are a public
 * contract, see the README): malloc'ed, no trailing newline; NULL when out
 * of memory. */
char *hr_report_json(const hr_report *r);

/* The Markdown report (describe's --markdown): HR_ERR_UNSUPPORTED for a
 * rank report, HR_ERR_IO when writing to f failed. */
hr_status hr_report_write_markdown(FILE *f, const hr_report *r);

#ifdef __cplusplus
}
#endif

#endif
