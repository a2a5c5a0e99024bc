/*
 * hyporank/scorer.h: ranking hypotheses by how well they separate two groups
 * of samples.
 *
 * Given sample embeddings X_A (n_a, D), X_B (n_b, D) and hypothesis
 * embeddings H (K, D), the score of hypothesis k on sample x is h_k . x
 * (HR_SCORE_COSINE: the cosine when both are L2-normalised). For every
 * hypothesis the scorer reports the exact AUROC of its score with A as the
 * positive class, the two-sided Mann-Whitney p-value (normal approximation,
 * tie-corrected; see hyporank/stats.h) and the mean score of each group, and
 * the Benjamini-Hochberg q-values across all K hypotheses of the call.
 *
 * The score matrix S = H X^T (K, N) is never held whole: hypotheses are taken
 * in blocks whose (block, N) score slab fits the memory budget, each block's
 * slab is one matrix product (BLAS sgemm) followed by the statistics of its
 * rows, and worker threads take blocks in turn.
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

#include "hyporank/encoder.h" /* hr_device */
#include "hyporank/status.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* How a hypothesis scores a sample. */
typedef enum hr_score_method {
    HR_SCORE_COSINE = 0 /* raw h . x */
} hr_score_method;

const char *hr_score_method_str(hr_score_method m); /* "cosine" */

typedef struct hr_scorer_options {
    hr_score_method method; /* HR_SCORE_COSINE */
    hr_device device;       /* HR_DEVICE_CPU, or AUTO (the CPU until a GPU scorer exists) */
    size_t memory_bytes;    /* budget for the score slabs of all threads together
                               (default 256 MiB); a block is at least one hypothesis */
    int n_threads;          /* CPU worker threads; <= 0: one per online core */
} hr_scorer_options;

hr_scorer_options hr_scorer_default_options(void);

/* What the scorer says of one hypothesis. */
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
 * n_a, n_b >= 1. opt may be NULL for the defaults. Asking for
 * HR_DEVICE_CUDA is HR_ERR_UNSUPPORTED until the GPU scorer exists. */
hr_status hr_scorer_create(const float *xa, size_t n_a, const float *xb, size_t n_b, int dim,
                           const hr_scorer_options *opt, hr_scorer **out, char *err,
                           size_t errlen);
void hr_scorer_destroy(hr_scorer *s); /* accepts NULL */

/* The device the scorer runs on (never HR_DEVICE_AUTO). */
hr_device hr_scorer_device(const hr_scorer *s);
/* Hypotheses per block for this scorer's budget and thread count. */
size_t hr_scorer_block_rows(const hr_scorer *s);

/* Scores k hypotheses. h: (k, dim) row-major; out: (k). A NaN score (only
 * possible from non-finite embeddings) is HR_ERR_INPUT naming the hypothesis
 * and the sample. */
hr_status hr_scorer_score(hr_scorer *s, const float *h, size_t k, hr_hypothesis_score *out,
                          char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
