/*
 * hyporank/findings.h: what share of A and of B a hypothesis holds for, and
 * which hypotheses are distinct findings rather than shadows or paraphrases
 * of stronger ones.
 *
 * A reader takes "is about the coronavirus: 28% of A vs 1% of B" to mean
 * that the hypothesis holds for 28% of A's texts. The embedding screen sees
 * only the similarity s(x) = h . x of each text to the hypothesis, a weak
 * per-text classifier (on labelled topic data the gold description reaches
 * AUROC 0.6 to 0.98 between its topic's texts and the rest), so this header
 * estimates shares, not per-text verdicts.
 *
 * Effects (hr_effect_rows). For one hypothesis, over the pooled texts it is
 * scored on:
 *   - the pooled quantiles of s: q25, q50, q70, q75, q98;
 *   - the hinge g(x) = max(s(x) - tau, 0) at tau = q70: the part of a text's
 *     similarity above the pool's upper third. Its group means are the
 *     test statistic: they move when the upper tail moves, and they ignore
 *     shifts in the bulk of texts of which the hypothesis does not hold
 *     (the main source of shadows: when a quarter of A is about COVID, every
 *     other topic's similarity distribution moves without that topic being
 *     any rarer in A);
 *   - a calibration of the encoder: texts of which the hypothesis does not
 *     hold have s ~ N(mu0, sigma), texts of which it holds are shifted by
 *     delta, with mu0 = q50, sigma = (q75 - q25) / 1.349 and delta = kappa
 *     (q98 - q50). kappa = HR_EFFECT_KAPPA was measured once for
 *     all-MiniLM-L6-v2 on planted topics of three labelled sources (WordNet
 *     glosses, fortunes, ABC headlines; 0.51 to 0.59 when fitted on any two
 *     and tested on the third: bench/discovery/);
 *   - effect = (mean hinge of A - mean hinge of B) / gain, gain = E[g |
 *     holds] - E[g | does not hold] under that model (a Rogan-Gladen
 *     correction for the hinge's imperfect separation); the side with less
 *     of the hypothesis has share (its mean hinge - E[g | does not hold]) /
 *     gain, the other that plus |effect|, so share_a - share_b = effect
 *     (shares within [0, 1]);
 *   - z: Welch's statistic of the two hinge means, p two-sided (normal),
 *     q: Benjamini-Hochberg over all candidates (hr_effect_qvalues);
 *   - a 95% interval effect +- 1.96 sqrt(se^2 + (HR_EFFECT_CALIBRATION_SD
 *     effect)^2 + HR_EFFECT_CALIBRATION_ABS_SD^2): the sampling error and
 *     the calibration's error, which does not shrink with more texts: delta
 *     is off by about 25% for a single hypothesis, and small effects are
 *     off by about 0.02 besides (on planted topics of 5% of A the
 *     calibrated effect ran 0.017 high on average, the errors' root mean
 *     square beyond sampling 0.028 at 2,000 and 10,000 texts a side, where
 *     a relative term alone covered the truth in 86% of the tasks at
 *     10,000; bench/RESULTS.md).
 * Under the null (A and B from one population) the hinge means have equal
 * expectations whatever the calibration, so p and q are valid tests of
 * "the hypothesis holds equally often"; the calibration only scales the
 * effect.
 *
 * Counted candidates (hr_effect_set_counted). A candidate written
 * `mentions "w"` (the words' candidates, and the caller's or an LLM's in
 * that form: describe, and rank when it has the texts) holds for a text
 * exactly when the text contains the words, so its shares are not
 * estimated but counted (hr_ngram_document_counts, on the texts it is
 * tested on), with their own interval and test. On the 2020 against 2019
 * headlines the screen's estimate for `mentions "nsw"` was 15% of A
 * against 3% of B where 4.0% and 1.7% of the texts name it: the similarity
 * to a word measures the texts' closeness to its topic, not the word. The
 * selection's test of overlap still reads the hinge of the similarity (its
 * covariates are similarities); its test of dilution reads the counts.
 *
 * Findings (hr_findings_select). A candidate significant alone (q <=
 * alpha) is a finding only if it holds beyond the findings already
 * accepted, tested in order of strength (forward selection):
 *   - overlap: the partial correlation of its hinge with the side (A = 1)
 *     given the accepted findings must be significant: "is about a virus"
 *     adds nothing once "is about the coronavirus" is accepted. Each
 *     finding enters as a piecewise-linear function of its similarity
 *     (knots at its pooled quantiles 0.5, 0.8, 0.9, 0.95, 0.98) and as the
 *     probability that a text is one of its holders given its similarity
 *     and its side: a two-group Gaussian mixture of the similarities with
 *     shares of its own in A and in B, fitted by EM from the calibration.
 *     The similarity tells holders only roughly, and given the similarity
 *     alone a text of A is likelier a holder than one of B (A has more of
 *     them), so without the side the finding's difference leaks into every
 *     candidate that holds for some of its texts, and with thousands of
 *     texts its parts ("is about dogs" under "is about animals") pass as
 *     findings of their own (bench/RESULTS.md);
 *   - dilution: when findings of the other side took a share w of that
 *     side (their upper 95% bound, summed), a candidate of direction A must
 *     beat B's hinge mean after that share is set aside: mean_a (1 - w) >
 *     mean_b. Extra COVID texts in A make every other topic rarer in A by
 *     a factor (1 - w); that alone is not a difference;
 *   - the larger of the two p-values, times the number of candidates
 *     (Bonferroni), must be at most alpha.
 * The accepted candidate with the smallest such p is taken next; the
 * selection stops when none passes. Every other significant candidate is
 * explained_by the finding of its direction its similarities correlate with
 * most (correlation >= 0.3; a paraphrase when >= 0.8, "holds for the same
 * texts"), else by the largest finding of the other direction (a dilution
 * shadow). For findings whose similarities are clearly bimodal (a two-group
 * Gaussian mixture whose components lie >= 3.5 standard deviations apart,
 * as a topic that a quarter of A is about), the mixture's weights replace
 * the calibrated shares: there the calibration underestimates delta.
 *
 * Measured (bench/discovery/, bench/RESULTS.md): on planted topics (20% of
 * A, candidates the built-in bank, words of the data and the topic labels)
 * at 500 texts a side power 0.89, false discovery proportion 0.02,
 * precision@5 1.00, mean |effect - true share difference| 0.043, interval
 * coverage 1.00; at 2,000 power 1.00, FDP 0.02, 1.04 findings a task; at
 * 10,000 power 1.00 but FDP 0.22 (findings that lean to the planted topic
 * without describing it).
 *
 *     hr_effect *e = malloc(k * sizeof *e);
 *     hr_effect_rows(xa, n_a, xb, n_b, dim, h, k, NULL, e, err, sizeof err);
 *     hr_effect_qvalues(e, k, err, sizeof err);
 *     hr_finding *f = malloc(k * sizeof *f);
 *     size_t n_found;
 *     hr_findings_select(&in, NULL, e, f, &n_found, err, sizeof err);
 *     for (size_t i = 0; i < k; i++)
 *         if (f[i].is_finding)
 *             printf("%s: %.0f%% of A vs %.0f%% of B\n", text[i], 100 * e[i].share_a,
 *                    100 * e[i].share_b);
 */
#ifndef HYPORANK_FINDINGS_H
#define HYPORANK_FINDINGS_H

#include "hyporank/status.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The encoder calibration (see above): delta = kappa (q98 - q50). */
#define HR_EFFECT_KAPPA 0.55
/* Relative standard error of the calibrated effect from the calibration
 * alone (delta's spread between hypotheses). */
#define HR_EFFECT_CALIBRATION_SD 0.25
/* The calibration's absolute standard error, in shares (added in quadrature
 * to the above): sqrt(0.028^2 - (0.25 x 0.07)^2), the planted 5% topics'
 * error beyond sampling less its relative part, rounded to 0.02. */
#define HR_EFFECT_CALIBRATION_ABS_SD 0.02

/* What the screen says of one hypothesis. */
typedef struct hr_effect {
    double share_a, share_b; /* estimated fraction of A, of B it holds for, in [0, 1] */
    double effect;           /* share_a - share_b, in [-1, 1] */
    double ci_low, ci_high;  /* 95% interval of effect, within [-1, 1] */
    double z;                /* Welch z of the hinge means, > 0: more of A */
    double p_value;          /* two-sided */
    double q_value;          /* BH over the candidates of the run (hr_effect_qvalues) */
    /* how it was computed */
    double tau;              /* hinge threshold: pooled q70 of the similarity */
    double mu0, sigma, delta;/* the calibration: non-holders N(mu0, sigma), holders + delta */
    double gain;             /* E[g | holds] - E[g | not] */
    double hinge_a, hinge_b; /* mean hinge of A, of B */
    double var_a, var_b;     /* their sample variances */
    size_t n_a, n_b;         /* texts it was scored on */
    int mixture;             /* 1: shares from the two-group mixture (findings only) */
    int counted;             /* 1: a literal predicate counted on the texts
                                (hr_effect_set_counted); share_*, effect, its
                                interval, z and p are the counts' */
    size_t count_a, count_b; /* counted: texts of A, of B it holds for */
} hr_effect;

/* The effect of one hypothesis from its similarities s: (n_a + n_b), A's
 * first. scratch: (n_a + n_b) floats. n_a, n_b >= 1; NaN similarities are
 * HR_ERR_INPUT. q_value is left at 1. */
hr_status hr_effect_row(const float *s, size_t n_a, size_t n_b, float *scratch, hr_effect *out,
                        char *err, size_t errlen);

/* Effects of k hypotheses h: (k, dim) on xa: (n_a, dim) and xb: (n_b, dim),
 * row-major, similarities by hr_similarities in blocks of hypotheses
 * (memory O((n_a + n_b) block)). out: (k). q_value is left at 1. */
hr_status hr_effect_rows(const float *xa, size_t n_a, const float *xb, size_t n_b, int dim,
                         const float *h, size_t k, hr_effect *out, char *err, size_t errlen);

/* A hypothesis whose truth on a text is known exactly (`mentions "w"`,
 * counted by hr_ngram_document_counts): it holds for count_a of the e->n_a
 * texts of A and count_b of the e->n_b texts of B, the texts e was scored
 * on. Replaces the screen's estimates with the counts: share_a = count_a /
 * n_a, share_b likewise, effect their difference, its 95% interval
 * Newcombe's hybrid score interval (Wilson intervals of each share
 * combined; Newcombe 1998, method 10, which keeps its coverage near 95%
 * with few texts or shares near 0 or 1), z the two-proportion test with
 * the pooled share, scaled by sqrt((N - 1) / N) (Campbell 2007's "N - 1"
 * chi-squared, N = n_a + n_b), p two-sided; hinge_a, hinge_b, var_a and
 * var_b become the mean and variance of the 0/1 truth on each side (the
 * findings' test of dilution reads them). tau and gain stay the screen's:
 * the findings' test of overlap reads the similarity's hinge. Sets counted
 * = 1, mixture = 0; count_a <= n_a and count_b <= n_b, else HR_ERR_INPUT. */
hr_status hr_effect_set_counted(hr_effect *e, size_t count_a, size_t count_b, char *err,
                                size_t errlen);

/* Benjamini-Hochberg q-values of e[0..k) from their p-values. */
hr_status hr_effect_qvalues(hr_effect *e, size_t k, char *err, size_t errlen);

/* The texts and candidates of a selection. Rows of A and of B are all the
 * texts; a candidate drawn from the data (n-grams, clusters, LLM) was
 * found on some of them and is tested only on the others, marked in
 * held_out_a / held_out_b (NULL: all rows). */
typedef struct hr_findings_input {
    const float *xa, *xb;          /* (n_a, dim), (n_b, dim) row-major */
    size_t n_a, n_b;
    int dim;
    const uint8_t *held_out_a;     /* (n_a) 1: a row data-drawn candidates are tested on */
    const uint8_t *held_out_b;     /* (n_b) */
    const float *h;                /* (k, dim) the candidates */
    size_t k;
    const uint8_t *from_data;      /* (k) 1: drawn from the data; NULL: none is */
} hr_findings_input;

typedef struct hr_findings_options {
    double alpha;              /* significance; 0.05 */
    size_t max_findings;       /* 20 */
    size_t max_candidates;     /* significant candidates considered, strongest first (500);
                                  those beyond are neither findings nor explained */
    size_t max_rows_per_side;  /* rows of each side the selection reads (a seeded
                                  sample beyond it); 20,000 */
    double explain_corr;       /* same-direction explanation: correlation >= 0.3 */
    double paraphrase_corr;    /* paraphrase: correlation >= 0.8 */
    uint64_t seed;             /* the row sample; 1 */
    int n_threads;             /* workers; 0: one per core (0). The results do not
                                  depend on it */
} hr_findings_options;

hr_findings_options hr_findings_default_options(void);

/* What the selection says of one candidate. */
typedef struct hr_finding {
    int is_finding;        /* 1: a distinct difference */
    size_t order;          /* findings: 0 for the first accepted, ... */
    long explained_by;     /* a significant non-finding: the candidate index of the
                              finding that explains it; else -1 */
    int paraphrase;        /* 1: holds for the same texts as explained_by */
    double p_conditional;  /* findings: the p-value of the test that accepted it */
    double effect_beyond;  /* findings: the share difference left given the findings
                              accepted before it (the side's partial regression
                              coefficient on its hinge, over the gain); NaN
                              for a counted one (its effect is in counts, this
                              would be in the screen's units) */
    double effect_beyond_se; /* its standard error (sampling only); NaN likewise */
} hr_finding;

/* The forward selection (see above) over the candidates with q <= alpha.
 * effects: (k) from hr_effect_rows + hr_effect_qvalues on the rows each
 * candidate is tested on; the shares, effect and interval of findings whose
 * similarities are clearly bimodal are replaced by the mixture's (mixture
 * = 1), unless counted. out: (k). *n_findings: findings accepted. */
hr_status hr_findings_select(const hr_findings_input *in, const hr_findings_options *opt,
                             hr_effect *effects, hr_finding *out, size_t *n_findings,
                             char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
