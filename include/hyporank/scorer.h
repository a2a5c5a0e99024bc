/*
 * hyporank/scorer.h: ranking hypotheses by how well they separate two groups
 * of samples.
 *
 * Given sample embeddings X_A (n_a, D), X_B (n_b, D) and hypothesis
 * embeddings H (K, D), the similarity of hypothesis k to sample x is
 * s_k(x) = h_k . x (the cosine when both are L2-normalised), and the score
 * of hypothesis k on sample x is s_k(x) itself or, for the pool-relative
 * methods below, s_k(x) measured against the similarities of x to the other
 * hypotheses of the call. For every hypothesis the scorer reports the exact
 * AUROC of its score with A as the positive class, the two-sided
 * Mann-Whitney p-value (normal approximation, tie-corrected; see
 * hyporank/stats.h) and the mean score of each group, and the
 * Benjamini-Hochberg q-values across all K hypotheses of the call.
 *
 * Score methods (hr_score_method):
 *
 *   HR_SCORE_COSINE    s_k(x): how close x is to h_k (VisDiff's method).
 *   HR_SCORE_CENTERED  s_k(x) - mean over j != k of s_j(x).
 *   HR_SCORE_CONTRAST  s_k(x) - T log( mean over j != k of exp(s_j(x) / T) ),
 *                      temperature T (default 0.02). The default.
 *
 * Why measure against the pool. The raw similarity of a text to a
 * hypothesis mixes two things: how much the text is about h_k, and how close
 * the text sits to hypotheses in general. Sentence embeddings are
 * anisotropic (all vectors share a few strong directions), and some texts
 * (short ones, ones phrased like descriptions) are close to every
 * hypothesis; when A and B differ in that respect, every hypothesis that
 * loads on the shared directions gains AUROC, and generic candidates ("is
 * about a person", "describes something that happened") or neighbours of
 * the right answer crowd out the right answer. The question a description
 * must answer is comparative: is x about h_k rather than about the other
 * candidates? CENTERED takes out the part of s_k(x) common to the pool (it
 * is (h_k - mean of the other h_j) . x: the hypothesis with the pool's mean
 * direction removed). CONTRAST is zero-shot classification over the pool: a
 * softmax over the K hypotheses at temperature T gives p(k | x), and
 *   CONTRAST = T logit p(k | x) + T log(K - 1),
 * so a sample's score is the log-odds that it is about h_k rather than any
 * other candidate; the AUROC asks whether A's texts are more confidently
 * about h_k than B's. As T -> 0 it is the margin s_k(x) - max over j != k of
 * s_j(x) (is h_k the best description of x, and by how much), as T -> inf it
 * is CENTERED. On 189 tasks with a known answer (bench/scoring-tasks/,
 * bench/bench_scoring_methods.c: WordNet glosses, fortune cookies and ABC
 * headlines by category, the gold description among 25 to 34 candidates)
 * CONTRAST puts the gold first in 80% of the tasks against COSINE's 71%
 * (top-5: 97% against 95%; better in 38 tasks, worse in 6), CENTERED in
 * 76% (see bench/RESULTS.md); T = 0.02 was chosen on a separate
 * development set, where CENTERED did no better than COSINE.
 *
 * A pool of one hypothesis (K = 1) has nothing to be measured against: the
 * pool term is taken as 0 and every method scores s_0(x). With K = 2 both
 * pool-relative methods score s_0 - s_1 and s_1 - s_0: their AUROCs sum to 1.
 *
 * What the p-values mean. A pool-relative score is still a fixed function of
 * the sample (given the pool, which does not depend on which samples are A or
 * B), so each p-value tests "the score of h_k has the same distribution in A
 * and in B" as validly as for COSINE: when A and B are drawn from the same
 * corpus the p-values are uniform and BH keeps the false discovery rate
 * (tests/test_scorer.c checks this for every method,
 * tests/test_scoring_methods.c for small and redundant pools). But the null
 * is relative to the pool: when one hypothesis truly separates A from B, the
 * pool-relative scores of the others move with it (their texts prefer the
 * winner instead), so an unrelated hypothesis can be significant, mostly in
 * the direction opposite to the winner, and with many samples most of the
 * pool is: on 3,000 + 3,000 ABC headlines (2020 against 2019) and the 1,145
 * hypotheses of the built-in bank, q <= 0.05 holds for 17 hypotheses in
 * direction A and 1,112 in direction B under CONTRAST, against 305 and 505
 * under COSINE (387 and 439 under CENTERED, whose pool mean moves little with
 * one winner). A small q then says "h_k's standing among these candidates
 * differs between A and B", not "h_k alone separates A from B"; use
 * HR_SCORE_COSINE when each hypothesis must be tested on its own. The scores
 * of one call are dependent (they sum to zero under CENTERED); BH is not
 * guaranteed for every form of dependence, the null test above is the check.
 * Scores depend on the pool: scoring the hypotheses in several calls gives
 * other results than one call with all of them.
 *
 * The score matrix S = H X^T (K, N) is never held whole: hypotheses are taken
 * in blocks whose (block, N) score slab fits the memory budget, each block's
 * slab is one matrix product (BLAS sgemm, or on CPUs with AMX a product of
 * split BF16 parts within about 2^-16 of sum |h_q x_q|; README, Backends)
 * followed by the statistics of its rows, and worker threads take blocks in
 * turn. The pool-relative methods
 * need per-sample statistics over all K hypotheses first, O(N) memory:
 * CENTERED the sum of the hypotheses dotted with each sample (one extra
 * pass over X, O(N D), negligible); CONTRAST each sample's largest
 * similarity, which hypothesis has it, the second largest and a running sum
 * of exponentials, from a first pass of matrix products over the hypothesis
 * blocks (samples split over the threads, each folding the hypotheses in
 * order). CONTRAST's rounding error is about T log(K) 1e-16 in absolute
 * terms (under 1e-12 up to the largest temperature; 1e-17 at the default),
 * below the float resolution of any score above 1e-5 in magnitude. It costs
 * two matrix products per block and two exponentials and a log per score:
 * about 2.5 times COSINE's time (bench_scoring_methods --cost).
 *
 *     hr_scorer_options o = hr_scorer_default_options();
 *     hr_scorer *s;
 *     hr_scorer_create(xa, n_a, xb, n_b, 384, &o, &s, err, sizeof err);
 *     hr_hypothesis_score *r = malloc(k * sizeof *r);
 *     hr_scorer_score(s, h, k, r, err, sizeof err);
 *     printf("AUROC of hypothesis 0: %.3f (q = %.2g)\n", r[0].auroc, r[0].q_value);
 *     hr_scorer_destroy(s);
 *
 * The scorer borrows xa and xb: keep them alive and unchanged until it is
 * destroyed. One scorer must not be used from two threads at once.
 */
#ifndef HYPORANK_SCORER_H
#define HYPORANK_SCORER_H

#include "hyporank/device.h"
#include "hyporank/status.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hr_effect hr_effect; /* hyporank/findings.h */

/* How a hypothesis scores a sample (see the overview above). */
typedef enum hr_score_method {
    HR_SCORE_COSINE = 0,   /* raw h . x */
    HR_SCORE_CENTERED = 1, /* h . x minus the mean over the other hypotheses */
    HR_SCORE_CONTRAST = 2  /* h . x minus the soft maximum (temperature T) over the others */
} hr_score_method;

/* "cosine", "centered", "contrast" ("unknown" for anything else). */
const char *hr_score_method_str(hr_score_method m);
/* Parses one of those names; returns 0 on success, -1 otherwise. */
int hr_score_method_parse(const char *s, hr_score_method *out);

/* CONTRAST's default temperature, in units of cosine similarity. */
#define HR_SCORER_DEFAULT_TEMPERATURE 0.02
/* Largest temperature accepted: beyond it CONTRAST is CENTERED to within
 * float resolution, and T times rounding errors would start to show. */
#define HR_SCORER_MAX_TEMPERATURE 1000.0

typedef struct hr_scorer_options {
    hr_score_method method; /* HR_SCORE_CONTRAST */
    hr_device device;       /* HR_DEVICE_AUTO (default), CPU or CUDA; see hr_scorer_create */
    size_t memory_bytes;    /* budget for the score slabs of all threads together
                               (default 256 MiB); a block is at least one hypothesis */
    int n_threads;          /* CPU worker threads; <= 0: one per online core */
    double temperature;     /* CONTRAST's T, in (0, HR_SCORER_MAX_TEMPERATURE];
                               0 means HR_SCORER_DEFAULT_TEMPERATURE; ignored by the
                               other methods */
} hr_scorer_options;

hr_scorer_options hr_scorer_default_options(void);

/* What the scorer says of one hypothesis. All of it is about the method's
 * score (for CONTRAST, mean_a is the mean contrast over A, not a cosine). */
typedef struct hr_hypothesis_score {
    double auroc;   /* U / (n_a n_b), ties one half; > 0.5: typical of A */
    double mean_a;  /* mean score over A */
    double mean_b;  /* mean score over B */
    double u;       /* Mann-Whitney U of A */
    double z;       /* tie- and continuity-corrected z, positive when A higher */
    double p_value; /* two-sided */
    double q_value; /* Benjamini-Hochberg across the K hypotheses of the call */
} hr_hypothesis_score;

typedef struct hr_scorer hr_scorer;

/* xa: (n_a, dim) row-major; xb: (n_b, dim) row-major; both borrowed.
 * n_a, n_b >= 1. opt may be NULL for the defaults. An unknown method is
 * HR_ERR_UNSUPPORTED; a temperature out of range is HR_ERR_INPUT.
 *
 * Devices (hyporank/device.h). The CPU computes every method exactly. The
 * GPU (CUDA builds, a GPU present) computes every method from FP16 products
 * with FP32 accumulation and a binned AUROC within 1e-4 of the exact one
 * whenever n_a n_b >= 1e6 (host/backends/cuda/scorer_cuda.h derives the
 * bound; tests/test_backends.c checks it).
 *   HR_DEVICE_CUDA  the GPU; no GPU is HR_ERR_NO_DEVICE (HR_ERR_UNSUPPORTED
 *                   in a build without CUDA), embeddings of norm above 1.001
 *                   HR_ERR_UNSUPPORTED (the bins cover the cosines of unit
 *                   vectors), and so is CONTRAST above temperature 1 (the
 *                   largest the GPU scorer offers).
 *   HR_DEVICE_AUTO  the GPU when n_a n_b >= 1e6, the GPU takes the
 *                   embeddings and offers the method (CONTRAST up to T = 1);
 *                   else, and whenever the GPU fails in a way the device
 *                   policy lets fall back (at create or at a score), the
 *                   CPU. memory_bytes and n_threads are the CPU's; the GPU
 *                   takes most of its free memory.
 * hr_scorer_device says which was chosen. */
hr_status hr_scorer_create(const float *xa, size_t n_a, const float *xb, size_t n_b, int dim,
                           const hr_scorer_options *opt, hr_scorer **out, char *err,
                           size_t errlen);
void hr_scorer_destroy(hr_scorer *s); /* accepts NULL */

/* The device the scorer runs on (never HR_DEVICE_AUTO). */
hr_device hr_scorer_device(const hr_scorer *s);
/* Hypotheses per block for this scorer's budget and thread count. */
size_t hr_scorer_block_rows(const hr_scorer *s);

/* Scores k hypotheses, which form the pool of the pool-relative methods.
 * h: (k, dim) row-major; out: (k). A NaN score (only possible from
 * non-finite embeddings) is HR_ERR_INPUT naming the hypothesis and the
 * sample; the pool-relative methods check the embeddings first and name the
 * hypothesis or sample whose embedding is not finite. */
hr_status hr_scorer_score(hr_scorer *s, const float *h, size_t k, hr_hypothesis_score *out,
                          char *err, size_t errlen);

/* hr_scorer_score, and the effect (hyporank/findings.h) of each hypothesis's
 * plain similarity h . x, whatever the method, into effects: (k); their
 * q_value is left at 1 (hr_effect_qvalues). The CPU computes both from the
 * same similarities, in one pass; on another device the effects are
 * computed on the CPU afterwards (hr_effect_rows). */
hr_status hr_scorer_score_effects(hr_scorer *s, const float *h, size_t k,
                                  hr_hypothesis_score *out, hr_effect *effects, char *err,
                                  size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
