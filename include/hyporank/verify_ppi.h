/*
 * hyporank/verify_ppi.h: the judge in rounds, with prediction-powered
 * estimates. For k hypotheses an LLM judge labels texts of A and of B a
 * batch at a time; after each round every hypothesis gets share_a,
 * share_b and V = share_a - share_b with 95% intervals from its labels
 * and the embedding screen's opinion of every text (hyporank/ppi.h), and
 * the rounds go on only where they are needed.
 *
 * Order of texts. Each side has one seeded random order of its rows (a
 * shuffle from opts.seed, A and B from separate streams). Batch b of a
 * hypothesis is the texts at positions [b M, (b + 1) M) of each side's
 * order (M = opts.batch, fewer at the end of a side), so every
 * hypothesis's judged texts are a uniform random sample of each side
 * (what the estimates need), the same texts for every hypothesis (the
 * judge reads the same texts for each) and nested from round to round (a
 * later round adds texts, and a rerun finds the earlier answers in the
 * cache). The text at position i has cross-fitting fold i mod K.
 *
 * Rounds. Round 1 asks the judge for batch 0 of every hypothesis, in the
 * order given (the caller's priority: rank). After each round, a
 * hypothesis is settled when
 *   1. its interval of V excludes 0 with room: 0 lies at least room
 *      half-widths (opts.room, 1) outside it, i.e. the estimate is about
 *      twice its margin of error away from 0; or
 *   2. its rank among the judged is settled: ordering the hypotheses by V
 *      in their expected direction (input.direction), its interval
 *      overlaps neither its neighbour above nor the one below (it needs a
 *      neighbour);
 * or it has had max_per_side texts of each side (or all of them). The
 * next round asks for the next batch of every hypothesis not settled,
 * those with the widest interval of V first: the labels go where ranks
 * are uncertain. The rounds end when every hypothesis is settled or the
 * judge could not do a whole round (its budget is spent).
 *
 * Stopping early is a look at the data, and intervals computed as if the
 * sample size had been fixed can cover less than 95% after it. The room
 * of rule 1 keeps that small: a hypothesis stops early only when its
 * estimate is far from 0, where the next batches would not have moved
 * its interval across the truth. tests/test_ppi.c measures the coverage
 * of the whole procedure (rounds included) over 200 seeded runs.
 *
 * The judge is a callback (hr_verify_ppi_judge_fn): hr_verify_llm_judge
 * asks an OpenAI-compatible endpoint with the prompts of hyporank/verify.h;
 * a test gives a simulated judge. Similarities come from a callback too,
 * one hypothesis at a time: memory is O(n_a + n_b + k max_per_side).
 *
 *     hr_verify_llm_judge_data jd = {.llm = llm, .hypotheses = texts,
 *         .texts_a = (const char *const *)a->texts, .lens_a = a->lens,
 *         .texts_b = (const char *const *)b->texts, .lens_b = b->lens, .verify = &vo};
 *     hr_verify_ppi_input in = {k, a->n, b->n, screens, direction, my_sims, &my_data,
 *                               hr_verify_llm_judge, &jd};
 *     hr_verify_ppi_options po = hr_verify_ppi_default_options();
 *     po.max_per_side = 80;                    // up to four rounds of 20
 *     hr_verify_result *res = calloc(k, sizeof *res);
 *     hr_verify_ppi_stats st;
 *     if (hr_verify_ppi_run(&in, &po, res, &st, err, sizeof err) == HR_OK)
 *         printf("V = %.2f [%.2f, %.2f] (labels alone: %.2f)\n", res[0].v, res[0].ci_low,
 *                res[0].ci_high, res[0].v_classical);
 *
 * Results (hyporank/verify.h's hr_verify_result): method "ppi++"; v,
 * ci_low, ci_high the PPI estimate; share_a, share_b with intervals;
 * v_classical with Newcombe's interval; counts, Fisher's p-value and the
 * agreement AUROC (of the similarity) from the labels; effective_labels,
 * lambda, rounds, settled, budget_stopped. A hypothesis the budget left
 * without a single verdict has NaN estimates.
 */
#ifndef HYPORANK_VERIFY_PPI_H
#define HYPORANK_VERIFY_PPI_H

#include "hyporank/findings.h"
#include "hyporank/llm.h"
#include "hyporank/ppi.h"
#include "hyporank/status.h"
#include "hyporank/verify.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hr_verify_ppi_options {
    size_t batch;          /* M: texts of each side judged per hypothesis and round,
                              1..100000 (20) */
    size_t max_per_side;   /* most texts of each side a hypothesis gets over its
                              rounds; at most batch: one round (0: batch) */
    uint64_t seed;         /* the order texts are judged in (1) */
    double room;           /* rule 1, >= 0 (1) */
    hr_ppi_options ppi;    /* the estimates (hyporank/ppi.h) */
} hr_verify_ppi_options;

hr_verify_ppi_options hr_verify_ppi_default_options(void);

/* One hypothesis's batch to judge. */
typedef struct hr_verify_ppi_ask {
    size_t hypothesis;                 /* < k */
    size_t batch;                      /* its number: 0, 1, ... */
    const size_t *rows_a; size_t m_a;  /* rows of A to judge (m_a may be 0) */
    const size_t *rows_b; size_t m_b;
    signed char *y_a, *y_b;            /* (m_a), (m_b) to fill: 1 true, 0 false, -1 none */
} hr_verify_ppi_ask;

/* Judges asks[0..n) in that order of priority, or a prefix of them when the
 * budget allows no more: *done = how many were judged (the rest stay -1).
 * Another status stops the run. */
typedef hr_status (*hr_verify_ppi_judge_fn)(void *user, hr_verify_ppi_ask *asks, size_t n,
                                            size_t *done, char *err, size_t errlen);

/* The screen's similarity of hypothesis j to every text: s_a (n_a), s_b
 * (n_b), in row order, finite. */
typedef hr_status (*hr_verify_ppi_sim_fn)(void *user, size_t j, float *s_a, float *s_b,
                                          char *err, size_t errlen);

typedef struct hr_verify_ppi_input {
    size_t k;                          /* hypotheses, >= 1 */
    size_t n_a, n_b;                   /* texts of each side, >= 1 */
    const hr_effect *screens;          /* (k) each hypothesis's screen calibration */
    const signed char *direction;      /* (k) 1: expected to hold more for A, -1: B;
                                          NULL: all 1 */
    hr_verify_ppi_sim_fn sim;
    void *sim_user;
    hr_verify_ppi_judge_fn judge;
    void *judge_user;
} hr_verify_ppi_input;

typedef struct hr_verify_ppi_stats {
    size_t rounds;          /* rounds run */
    size_t asks;            /* hypothesis batches judged */
    size_t texts;           /* texts asked about, all hypotheses (with or without verdict) */
    size_t missing;         /* of which without a verdict (never counted as no) */
    int budget_stopped;     /* 1: a round was cut short by the budget */
} hr_verify_ppi_stats;

/* Runs the rounds (above). results: (k), the caller's array. stats may be
 * NULL. Errors: HR_ERR_INPUT for bad input or options; the callbacks'
 * errors stop the run as they are (results zeroed). */
hr_status hr_verify_ppi_run(const hr_verify_ppi_input *in, const hr_verify_ppi_options *opt,
                            hr_verify_result *results, hr_verify_ppi_stats *stats, char *err,
                            size_t errlen);

/* ---- the LLM judge ---------------------------------------------------------- */

/* The user data of hr_verify_llm_judge. Inputs borrowed; the counts are
 * summed over its calls. */
typedef struct hr_verify_llm_judge_data {
    hr_llm *llm;
    const char *const *hypotheses;     /* (k) */
    const char *const *texts_a;        /* (n_a) */
    const size_t *lens_a;              /* (n_a) or NULL: strlen */
    const char *const *texts_b;
    const size_t *lens_b;
    const hr_verify_options *verify;   /* texts_per_request, max_retries, seed (the
                                          request plan), max_text_chars, temperature,
                                          max_tokens, context_tokens; NULL: defaults */
    /* out */
    size_t prompts;                    /* requests over all tries, cache hits included */
    size_t reasked;                    /* asked again after an unusable reply */
    size_t unusable;                   /* unusable replies */
    size_t not_sent;                   /* requests the client's budget refused */
    size_t *unusable_by;               /* (k) or NULL: unusable replies per hypothesis */
    hr_remote_stats llm_stats;         /* the client's counts, summed */
    size_t failed;                     /* tries that failed at the endpoint */
    char first_error[256];             /* the first such failure's message, or "" */
} hr_verify_llm_judge_data;

/* An hr_verify_ppi_judge_fn (user: hr_verify_llm_judge_data *). The texts
 * of a batch are planned into requests as hyporank/verify.h says (A and B
 * mixed, about texts_per_request a request, the plan depending only on the
 * seed and the batch number, so every hypothesis's batch b is asked with
 * the same texts in the same requests), within the context guard. Before
 * sending it takes the longest prefix of asks whose requests not in the
 * cache fit what is left of the client's budget (hr_llm_budget_left, at
 * hr_llm_estimate); answers from the cache are free. */
hr_status hr_verify_llm_judge(void *user, hr_verify_ppi_ask *asks, size_t n, size_t *done,
                              char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
