/*
 * hyporank/describe.h: the describe pipeline: from two corpora to a ranked
 * list of the ways they differ, in both directions (what `hyporank
 * describe` runs).
 *
 *     hr_describe_options o;
 *     hr_describe_options_init(&o);
 *     o.a_path = "headlines-2020.jsonl";
 *     o.b_path = "headlines-2019.jsonl";
 *     o.goal = "which news topics grew or shrank";
 *     hr_report *r;
 *     if (hr_describe_run(&o, embedder, &r, err, sizeof err) != HR_OK) ...
 *     hr_report_write_table(stdout, r);
 *     hr_report_destroy(r);
 *
 * Steps, in order:
 *   1. Read A, B (at least 2 texts each) and the caller's hypotheses.
 *   2. Split each side at random (seed) into a proposal part (holdout of
 *      it) and a scoring part, when candidates are to be drawn from the data
 *      (n-grams, the LLM); otherwise every text is scored. Candidates from
 *      the data are found on the proposal part only, so their p-values stay
 *      honest; the bank and the caller's hypotheses do not look at the data.
 *   3. The pool: the caller's hypotheses, the built-in bank, the n-grams of
 *      the proposal part (hyporank/proposers.h).
 *   4. Embed A and B once, into one matrix (below).
 *   5. A probe on the proposal part (stratified k-fold, held out) finds the
 *      texts most typical of each side; they are clustered (their own words
 *      join the pool; hyporank/geometry.h) and shown to the LLM proposer
 *      (hyporank/llm_propose.h), when asked for.
 *   6. Embed the pool (the candidates so far, then only those added since),
 *      merge near-duplicates (cosine >= 0.92) into the first. Score the
 *      candidates that do not depend on the data (yours, the bank) on every
 *      text, those drawn from it (words, clusters, LLM) on the scoring part
 *      only: each candidate's shares of A and B and effect with its test
 *      (hyporank/findings.h; BH over all candidates) and the AUROC of its
 *      similarity (hyporank/scorer.h, secondary). Select the findings
 *      (hyporank/findings.h): the others significant alone are explained by
 *      one (shadows, paraphrases). Rank: findings first, by |effect|.
 *   7. The LLM judge on the verify_top first ranks but those written
 *      `mentions "w"` (counted: their truth needs no judge), in rounds, with
 *      prediction-powered estimates of their shares and V
 *      (hyporank/verify_ppi.h). Before the LLM is sent anything, a note
 *      gives the estimated cost (tokens from the texts' bytes, the price
 *      given or the built-in table's); max_requests and budget_usd cap what
 *      the run sends (the judge takes the rounds that fit).
 *
 * The LLM is optional, and so is its success: when the endpoint fails (it
 * cannot be reached, does not reply in time, answers errors or answers that
 * cannot be used, or refuses the URL, key or model), the run goes on
 * offline and the report says what became of the LLM (hr_report_info's
 * llm_state, llm_error and counts: "failed" when not one answer was usable,
 * "partial" when some were missing). Only the program's own failures (memory,
 * the cache) stop the run.
 *   8. Examples: for each row shown, the texts of its side (all of them)
 *      whose similarity h . x is highest.
 *
 * Memory: A and B are embedded once into one (n_a + n_b, dim) row-major
 * matrix laid out [A scoring | A proposal | B proposal | B scoring], so that
 * A's rows, B's rows, both scoring parts and the probe's input (the
 * proposal part, A's rows first) are each a contiguous block of it, and
 * nothing is copied between
 * steps; the split itself is index arrays into the corpora.
 *
 * Events (progress of embedding, notes such as "probe on 500 + 500
 * proposal texts: held-out AUROC 0.812") go to opt->events.
 */
#ifndef HYPORANK_DESCRIBE_H
#define HYPORANK_DESCRIBE_H

#include "hyporank/corpus.h"
#include "hyporank/embedder.h"
#include "hyporank/events.h"
#include "hyporank/report.h"
#include "hyporank/scorer.h"
#include "hyporank/status.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A research goal is a sentence or two; a page of text is a mistake. */
#define HR_DESCRIBE_MAX_GOAL 4000

typedef struct hr_describe_options {
    /* input */
    const char *a_path, *b_path;  /* the corpora's files (hyporank/corpus.h) ... */
    const hr_corpus *corpus_a;    /* ... or corpora in memory, borrowed: they win over the */
    const hr_corpus *corpus_b;    /*     paths and must outlive the report */
    const char *text_field;       /* JSONL field / CSV column of the texts (NULL: "text") */
    const char *goal;             /* what the caller wants to learn, or NULL; at most
                                     HR_DESCRIBE_MAX_GOAL bytes */
    const char *hypotheses_path;  /* the caller's candidates (.txt or .jsonl), or NULL */
    /* candidates */
    int bank;                     /* the built-in bank (1) */
    int ngrams;                   /* word and word-pair candidates (1) */
    int clusters;                 /* clusters of the typical texts (1; needs ngrams or the
                                     LLM proposer: without them there is no proposal part) */
    size_t ngrams_per_side;       /* word candidates per direction, 1..10000 (25) */
    double holdout;               /* share of each side for proposing, 0.05..0.95 (0.5) */
    uint64_t seed;                /* the split, the probe's folds, k-means, the judge's
                                     sample (1) */
    /* the LLM (optional: llm_url and llm_model together) */
    const char *llm_url;          /* an OpenAI-compatible chat endpoint, or NULL */
    const char *llm_model;
    int llm_rounds;               /* proposal rounds, 0..100 (3; 0: none) */
    int llm_samples;              /* texts of each side shown per round, 1..200 (15) */
    const char *description;      /* what the data is, for the LLM, or NULL */
    size_t verify_top;            /* candidates judged, 0..1000 (10; 0: none) */
    size_t verify_samples;        /* texts judged per side and hypothesis in each round,
                                     1..10000 (20) */
    double llm_timeout_s;         /* one LLM request, (0, 86400] seconds (60) */
    double llm_deadline_s;        /* all the run's LLM work, [0, 604800] seconds; 0: none (0) */
    /* the report */
    size_t top;                   /* rows shown each way, >= 1 (10) */
    size_t examples;              /* example texts per row shown, 0..100 (2) */
    double alpha;                 /* significant: q-value <= alpha, (0, 0.5] (0.05) */
    /* computing */
    hr_scorer_options scorer;     /* method and temperature; its device and n_threads are
                                     overwritten by those below */
    hr_device device;             /* scorer and probe: cpu, cuda or auto (auto) */
    int n_threads;                /* CPU threads of the scorer, the words, the clusters, the
                                     findings and the report's passes; <= 0: one per core (0) */
    hr_events events;             /* progress and notes; {NULL, NULL}: none */
    /* the judge's rounds and the LLM's spending (hyporank/verify_ppi.h) */
    size_t verify_max_samples;    /* most texts judged per side and hypothesis over the
                                     rounds, 0..100000 (0: verify_samples, one round; with
                                     a budget, 10 verify_samples) */
    size_t max_requests;          /* requests the run may send to the LLM, proposer and
                                     judge together (0: no cap); cache hits are free */
    double budget_usd;            /* dollars the run may spend on the LLM (0: no cap);
                                     needs a price (below, or the built-in table) */
    double price_prompt;          /* US dollars per million prompt tokens; with
                                     price_completion; 0 and 0: the built-in table */
    double price_completion;
    size_t llm_context;           /* > 0: the LLM's context length in tokens; the judge's
                                     requests are sized to fit it (0: no guard) */
    int llm_concurrency;          /* requests in flight at once, 1..256 (0: the client's
                                     default, 8) */
} hr_describe_options;

/* Fills in the defaults above; no inputs. */
void hr_describe_options_init(hr_describe_options *o);

/* Runs the pipeline. embedder: the sentence encoder for texts and
 * candidates (hyporank/embedder.h), borrowed. On HR_OK *out owns the report
 * (hr_report_destroy). Errors: HR_ERR_INPUT for bad options or input (the
 * message names the file and line), else as the steps report them. */
hr_status hr_describe_run(const hr_describe_options *opt, hr_embedder *embedder, hr_report **out,
                          char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
