/*
 * host/backends/cuda/scorer_cuda.h: the CUDA scorer for HR_SCORE_COSINE and
 * CONTRAST (internal; the public API is hyporank/scorer.h, which reaches
 * this through the CUDA backend's table, host/backends/cuda/backend_cuda.c:
 * COSINE and CONTRAST directly, CENTERED through its linear form,
 * host/scoring/score_methods.h). Compiled only in builds with the CUDA
 * toolkit.
 *
 * tests/test_backends.c (label gpu) checks it against the CPU scorer: AUROC
 * within 1e-4 (in practice 1.4e-5 on random data, 0 on data that is exact
 * in FP16), means within 1e-3, for COSINE and for CONTRAST (see
 * hr_scorer_cuda_score_contrast), resident, streamed and chunked.
 *
 *     hr_scorer_cuda *g;
 *     if (hr_scorer_cuda_create(xa, n_a, xb, n_b, dim, 0, &g, err, sizeof err) == HR_OK) {
 *         hr_scorer_cuda_score(g, h, k, out, err, sizeof err);  // all but q_value
 *         hr_scorer_cuda_destroy(g);
 *     }
 *
 * What it computes: for each hypothesis k, from the scores s_k(x) = h_k . x,
 * the same fields as the CPU scorer (host/backends/cpu/scorer_cpu.c, the specification):
 * mean_a, mean_b, u, auroc, z, p_value (q_value is left to the caller, who
 * applies Benjamini-Hochberg across the call as hr_scorer_score does).
 *
 * How (kernels/scorer.cu has the details):
 *
 *   precision  X and H are converted to FP16 on the GPU (round to nearest)
 *              and multiplied by cublasGemmEx with FP32 accumulation
 *              (CUBLAS_COMPUTE_32F, tensor cores). For vectors of norm <= 1
 *              each score is off by at most 2u + u^2 = 9.8e-4 (u = 2^-11,
 *              the FP16 unit roundoff; Cauchy-Schwarz bounds sum |h_i x_i|
 *              by 1) plus the FP32 accumulation (dim 2^-24); for random
 *              directions the error is about 2u / sqrt(dim), 2.5e-5 at 384.
 *              The means inherit that bound (<= 1e-3).
 *   bins       each score is put in one of HR_SCORER_CUDA_BINS = 65536 bins
 *              over [-1, 1] (width 2^-15 = 3.05e-5; scores beyond +-1,
 *              possible only through rounding of norms up to 1.001, are
 *              clamped into the end bins), counted per hypothesis and per
 *              group. The bin of a score is a monotone function of it, so
 *              every A-B pair in different bins is ordered exactly as by
 *              the scores; a pair in the same bin counts one half, as a tie.
 *                2U = sum over bins of 2 cA(bin) cB(below bin) + cA(bin) cB(bin)
 *              exactly, in 64-bit integers, and
 *                tie_term = sum over bins of t^3 - t, t = cA(bin) + cB(bin),
 *              so the p-value's tie correction treats every bin as a tie
 *              group: approximate (it overstates the ties; for continuous
 *              scores the variance changes by a relative ~ w^2 int f^3, about
 *              3e-8 for cosines of spread 0.05, negligible).
 *   error      |AUROC_gpu - AUROC(of the GPU's scores)| <= P_same / 2, where
 *              P_same is the fraction of the n_a n_b A-B pairs that share a
 *              bin without being equal. Against the CPU's exact AUROC add the
 *              fraction of pairs closer than twice the score error above
 *              (their order may differ). For a score density f this is about
 *              w int f^2 / 2: 8e-5 for cosines with standard deviation 0.05
 *              (random 384-d unit vectors), and in practice far less, since
 *              within a bin A above B and B above A are about equally likely.
 *              Scores that take a few distinct values closer than a bin
 *              width (but not equal) are the adversarial case: the bound is
 *              then their pair mass / 2 and can exceed 1e-4.
 *   p-value    z and p come from hr_mw_finish (host/scoring/stats.c) applied to the
 *              GPU's 2U and tie term: the same formula as the CPU. An AUROC
 *              difference d moves z by d n_a n_b / sigma and p by a relative
 *              factor of at most exp((|z| + 1) dz) - 1 (Mills' ratio).
 *
 * Memory (memory_bytes; 0 means 80% of the free device memory): X stays on
 * the GPU in FP16 when N dim 2 bytes fit in half the budget; otherwise it
 * stays on the host and is streamed in chunks of samples through two pinned
 * buffers and two streams (copy of chunk c+1 overlaps the products of chunk
 * c). Of the rest, a quarter holds the FP32 score tile S (block of
 * hypotheses, chunk of samples), half the histograms (hypotheses, 2, 65536)
 * uint32 (512 KiB a hypothesis: hypotheses are taken in groups that fit, and
 * a streamed X is read once per group), and a quarter the stream buffers.
 *
 * Input: every embedding must be finite with L2 norm at most 1.001 (the
 * bins cover cosines of unit vectors); others are HR_ERR_UNSUPPORTED (create
 * checks X on the GPU, score checks H), so that `auto` can fall back to the
 * CPU. n_a, n_b >= 1, n_a + n_b < 2^31.
 *
 * Ownership: the scorer borrows xa and xb. When X is streamed (see
 * hr_scorer_cuda_info) keep them alive and unchanged until destroy; when it
 * is resident they are no longer read after create. One scorer must not be
 * used from two threads at once. Uses the current CUDA device.
 */
#ifndef HYPORANK_SCORER_CUDA_H
#define HYPORANK_SCORER_CUDA_H

#include "hyporank/findings.h"
#include "hyporank/scorer.h"
#include "hyporank/status.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bins over [-1, 1] per hypothesis and group. */
#define HR_SCORER_CUDA_BINS 65536
/* Largest L2 norm accepted for an embedding. */
#define HR_SCORER_CUDA_MAX_NORM 1.001

typedef struct hr_scorer_cuda hr_scorer_cuda;

/* xa: (n_a, dim), xb: (n_b, dim) row-major float32, borrowed (see above).
 * memory_bytes: device memory budget, 0 for 80% of the free memory. */
hr_status hr_scorer_cuda_create(const float *xa, size_t n_a, const float *xb, size_t n_b, int dim,
                                size_t memory_bytes, hr_scorer_cuda **out, char *err,
                                size_t errlen);
void hr_scorer_cuda_destroy(hr_scorer_cuda *s); /* accepts NULL */

/* HR_SCORE_COSINE for k hypotheses, h: (k, dim) row-major float32 on the
 * host; out: (k), every field but q_value (left untouched). */
hr_status hr_scorer_cuda_score(hr_scorer_cuda *s, const float *h, size_t k,
                               hr_hypothesis_score *out, char *err, size_t errlen);

/* hr_scorer_cuda_score, and each hypothesis's effect (hyporank/findings.h)
 * from the same histograms (effect_stats_kernel, host/scoring/effects.c's
 * hr_effect_finish): similarities are taken at their bins' centres, so the
 * quantiles and hinges are within half a bin (1.5e-5) of those of the FP16
 * similarities, whose own error (about 1e-3) dominates. effects: (k). */
hr_status hr_scorer_cuda_score_effects(hr_scorer_cuda *s, const float *h, size_t k,
                                       hr_hypothesis_score *out, hr_effect *effects, char *err,
                                       size_t errlen);

/* HR_SCORE_CONTRAST at temperature t > 0 for k hypotheses (the pool): as
 * hr_scorer_cuda_score, with the contrast scores of host/scoring/score_methods.h
 * (k = 1: the similarity itself). Two passes over the samples: the first
 * folds every sample's similarities, hypotheses in order, into the CPU's
 * running statistics (largest, which one, second largest, sum of
 * exponentials: pool_fold_kernel, in double), and the second computes each
 * score from its similarity and those statistics (in float: the rounding,
 * ~1e-7 relative, is far below the FP16 product error) and bins it. The
 * bins cover the range the statistics prove for the call's scores: on
 * sample x, [smallest - largest similarity, min(largest - second largest +
 * T log(K - 1), largest - smallest)] (kernels/scorer.cu, pool_finish_kernel),
 * over all x about [-0.7, 0.5] for MiniLM at the default T: a finer bin than
 * COSINE's over [-1, 1]. 44 bytes a sample of GPU memory, taken at the first
 * call (HR_ERR_UNSUPPORTED when they cannot be had).
 *
 * Bins' range: the upper end is the smaller of max (largest - second
 * largest) + T log(K - 1), tight for small T, and largest - smallest
 * (Jensen's bound), which caps the range at 2 for large T (without it, at
 * T = 1000 the bins would stretch over [-1, 5000] and the AUROC would be
 * off by up to 1e-2). The CUDA backend offers CONTRAST up to the temperature
 * its table names (host/backends/cuda/backend_cuda.c); tests/test_backends.c
 * checks T = 0.002 to 1000 against the CPU. */
hr_status hr_scorer_cuda_score_contrast(hr_scorer_cuda *s, const float *h, size_t k,
                                        double temperature, hr_hypothesis_score *out, char *err,
                                        size_t errlen);

/* How the budget was spent, for tests and benchmarks. */
typedef struct hr_scorer_cuda_layout {
    int resident;         /* 1: X lives on the GPU; 0: streamed from the host */
    size_t chunk_samples; /* samples per chunk (the S tile's width) */
    size_t block_rows;    /* largest hypothesis block of one GEMM */
    size_t group_rows;    /* hypotheses whose histograms are held at once */
} hr_scorer_cuda_layout;
void hr_scorer_cuda_info(const hr_scorer_cuda *s, hr_scorer_cuda_layout *out);

/* Device time of the last hr_scorer_cuda_score in milliseconds (cudaEvents
 * on its stream, from the upload of H to the last result), -1 if none. */
double hr_scorer_cuda_last_ms(const hr_scorer_cuda *s);

#ifdef __cplusplus
}
#endif

#endif
