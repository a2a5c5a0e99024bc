/*
 * hyporank/verify.h: the LLM verifier. For the best few hypotheses after
 * ranking, an LLM judge reads a sample of texts from each corpus and says,
 * text by text, whether the hypothesis is true of it. What comes out is the
 * quantity D5 calls the validity of a hypothesis,
 *
 *     V = P(judge says true | text from A) - P(judge says true | text from B),
 *
 * with a 95% interval and a p-value, and how well the ranker's score agreed
 * with the judge.
 *
 * Sampling. M texts of A and M of B (opts.samples_per_side, default 20;
 * all of a side when it has fewer), drawn without replacement, uniformly,
 * from a seeded generator (opts.seed), A and B from separate streams (two
 * identical corpora do not get identical samples). The same samples serve
 * every hypothesis of the call: the judge reads the same texts for each,
 * V-values are comparable, and a later call with more hypotheses finds the
 * earlier answers in the cache. The sample depends only on (n_a, n_b, M,
 * seed); hr_verify_sample_rows gives it without running anything.
 *
 * Requests. The 2M sampled texts are cut into requests of about
 * opts.texts_per_request texts (default 10; the sizes differ by at most
 * one). A and B are mixed in every request: each side's sample is shuffled,
 * the two are interleaved in proportion, cut into consecutive requests, and
 * each request's texts are shuffled again; nothing in a prompt says which
 * corpus a text came from. The same requests (same texts, same order) are
 * used for every hypothesis. Each request is one chat completion:
 *
 *   system  the judge is a careful annotator who decides, for each numbered
 *           text, whether the hypothesis is true of it, and answers with only
 *           a JSON object;
 *   user    "Hypothesis: H", then the texts as
 *             <text id="1">
 *             ...
 *             </text>
 *           (ids 1..n in the order of the request), then the question and
 *           the answer format {"answers": [{"id": 1, "satisfies": true},
 *           ...]}. A text longer than opts.max_text_chars code points
 *           (default 1000) is cut at a code point boundary and ends with
 *           " [... truncated]"; a "<text" or "</text" inside a text is
 *           written "< text", "< /text" so that it cannot close its
 *           element; a NUL byte becomes a space; line breaks and tabs in the
 *           hypothesis become spaces (it stays on one line).
 *   options temperature opts.temperature (0), response_format json_object,
 *           max_tokens opts.max_tokens (0: not sent).
 *
 * Reading the answers (robust, and never guessing):
 *   - the reply must be a JSON object with an array "answers"; each entry an
 *     object with "id" and "satisfies";
 *   - "id": a whole number, or a string holding one ("3", " 3 "), in 1..n
 *     for the n texts of that request; any other id is ignored;
 *   - "satisfies": true / false, 1 / 0, or a string "yes", "no", "true",
 *     "false", "1", "0" (any case, surrounding spaces ignored); anything
 *     else (null, "maybe") leaves that text without an answer;
 *   - an id given twice with different verdicts has no answer; twice with
 *     the same verdict counts once;
 *   - a text whose id does not appear has no answer ("missing").
 * A reply that is unusable (the request failed, the content is not a JSON
 * object, there is no "answers" array, or not one entry of it gives a
 * verdict) is asked again, up to opts.max_retries times (default 2), each
 * time with a new hr_llm_request.sample (1, 2, ...) so that the answer
 * cache, which keeps the bad answer under sample 0, does not return it
 * again. After the last try its texts are missing. A missing answer is
 * never counted as "no": it is left out of both the numerator and the
 * denominator, and counted in n_a_missing / n_b_missing.
 *
 * Statistics of one hypothesis, over the answered texts only:
 *
 *   p_A = a / n_A  (a texts of A judged true out of n_A answered),
 *   p_B = b / n_B,  V = p_A - p_B.
 *
 *   Interval: Newcombe's hybrid score interval (Newcombe 1998, Statistics in
 *   Medicine 17:873, method 10), z = 1.959963984540054 (95%). With the
 *   Wilson score interval of each proportion,
 *       l, u = (x + z^2/2 -+ z sqrt(x (n - x) / n + z^2 / 4)) / (n + z^2),
 *   (l_A, u_A) for a of n_A and (l_B, u_B) for b of n_B,
 *       low  = V - sqrt((p_A - l_A)^2 + (u_B - p_B)^2),
 *       high = V + sqrt((u_A - p_A)^2 + (p_B - l_B)^2).
 *   It stays inside [-1, 1], is never empty, and keeps close to its nominal
 *   coverage for the small counts here (20 a side), where the Wald interval
 *   (V -+ z SE) is too narrow and collapses to a point at 0/n or n/n.
 *
 *   p-value: two-sided Fisher's exact test of the 2x2 table [[a, n_A - a],
 *   [b, n_B - b]]: with the margins fixed, a follows the hypergeometric law
 *   P(x) = C(n_A, x) C(n_B, t - x) / C(n_A + n_B, t), t = a + b, and the
 *   p-value is the sum of P(x) over every x with P(x) <= P(a) (1 + 1e-7)
 *   (the relative tolerance of R's fisher.test, so that tables exactly as
 *   likely as the one seen count despite rounding). Exact at any count, so
 *   it never needs the large-sample assumption that a z-test would; with 20
 *   texts a side that assumption fails whenever a hypothesis is rarely or
 *   almost always true. It matches scipy.stats.fisher_exact.
 *
 *   Undefined cases: with no answered text on a side, p of that side and V
 *   are NaN, the interval is [-1, 1] and the p-value 1 (there is no
 *   evidence). A caller writing JSON must turn NaN into null.
 *
 *   Agreement: the AUROC of the ranker's score of the hypothesis on the
 *   answered texts (A's and B's together) at predicting the judge's verdict
 *   (the texts judged true are the positive class; ties count one half, as
 *   in hyporank/stats.h). 0.5 when every answered text got the same verdict
 *   (or none was answered); NaN when no scores were given. Above 0.5: the
 *   texts the ranker scored higher are those the judge said the hypothesis
 *   holds for.
 *
 * Scores. The ranker's score of a hypothesis on a text depends on the
 * ranker's method (hyporank/scorer.h: raw h.x, or pool-relative), so the
 * caller supplies it: hr_verify_run calls score_fn once, with the sampled
 * rows, and the callback fills a (k, m_a + m_b) matrix. hr_verify_dot_scores
 * is a ready callback for the raw similarity h.x from embeddings.
 *
 *     hr_verify_options vo;
 *     hr_verify_options_init(&vo);
 *     hr_verify_dot_data dot = {.xa = xa, .xb = xb, .h = h_top, .dim = 384};
 *     hr_verify_result *res = calloc(k, sizeof *res);
 *     hr_verify_stats vs;
 *     hr_status s = hr_verify_run(llm, top_texts, k,
 *                                 (const char *const *)a->texts, a->lens, a->n,
 *                                 (const char *const *)b->texts, b->lens, b->n,
 *                                 hr_verify_dot_scores, &dot, &vo, res, &vs,
 *                                 err, sizeof err);
 *     if (s == HR_OK)
 *         printf("V = %.2f [%.2f, %.2f], p = %.2g, judge cost $%.4f\n", res[0].v,
 *                res[0].ci_low, res[0].ci_high, res[0].p_value, vs.llm.cost_usd);
 *     hr_verify_stats_free(&vs);
 *     free(res);
 *
 * Errors: invalid arguments or options are HR_ERR_INPUT (nothing is sent);
 * an unusable endpoint, or one that keeps failing, stops the run with
 * hr_llm_run's status and message (every answer received so far is in the
 * answer cache, so a rerun sends only the rest); a score callback's failure
 * is returned as it is. On failure the results are zeroed and the stats
 * hold no memory. The client (hr_llm) must not be used from another thread
 * during the call.
 */
#ifndef HYPORANK_VERIFY_H
#define HYPORANK_VERIFY_H

#include "hyporank/llm.h"
#include "hyporank/status.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* z for a two-sided 95% interval. */
#define HR_VERIFY_Z95 1.959963984540054

typedef struct hr_verify_options {
    size_t samples_per_side;  /* M: texts sampled from each corpus, 1..100000 (20) */
    size_t texts_per_request; /* texts per judge request, 1..100 (10) */
    int max_retries;          /* times an unusable reply is asked again, 0..20 (2) */
    uint64_t seed;            /* sampling and shuffling (1) */
    size_t max_text_chars;    /* longer texts are cut to this many code points,
                                 16..1000000 (1000) */
    double temperature;       /* 0..2; negative: not sent, the endpoint's default (0) */
    int max_tokens;           /* > 0: sent as max_tokens; 0: not sent (0) */
    size_t context_tokens;    /* > 0: the endpoint's context length; requests are sized
                                 to fit it (fewer texts a request, texts cut) and ask
                                 for max_tokens = the answer's allowance; 0: no
                                 guard (0) */
} hr_verify_options;

/* Fills in the defaults above. */
void hr_verify_options_init(hr_verify_options *o);

/* The ranker's scores of the k hypotheses on the sampled texts.
 * rows_a: (m_a) rows of A that were sampled; rows_b: (m_b) rows of B.
 * scores: (k, m_a + m_b) row-major, to fill: row j is hypothesis j; column c
 * is the text rows_a[c] of A for c < m_a, else rows_b[c - m_a] of B.
 * Return HR_OK, or an error (with a message in err) that stops the run. */
typedef hr_status (*hr_verify_score_fn)(void *user, const size_t *rows_a, size_t m_a,
                                        const size_t *rows_b, size_t m_b, size_t k,
                                        float *scores, char *err, size_t errlen);

/* The user data of hr_verify_dot_scores: embeddings, borrowed. */
typedef struct hr_verify_dot_data {
    const float *xa; /* (n_a, dim) row-major: A's embeddings */
    const float *xb; /* (n_b, dim) row-major: B's embeddings */
    const float *h;  /* (k, dim) row-major: the hypotheses' embeddings, in the order
                        of the hypotheses given to hr_verify_run */
    int dim;
} hr_verify_dot_data;

/* An hr_verify_score_fn (user: hr_verify_dot_data *) for the raw similarity
 * h_j . x, summed in double. A non-finite score is HR_ERR_INPUT. */
hr_status hr_verify_dot_scores(void *user, const size_t *rows_a, size_t m_a,
                               const size_t *rows_b, size_t m_b, size_t k, float *scores,
                               char *err, size_t errlen);

/* What the judge said of one hypothesis (see the overview for the formulas). */
typedef struct hr_verify_result {
    size_t n_a_true;        /* texts of A judged true */
    size_t n_a_answered;    /* texts of A with a verdict */
    size_t n_a_missing;     /* texts of A without one (never counted as "no") */
    size_t n_b_true, n_b_answered, n_b_missing;
    double p_a;             /* n_a_true / n_a_answered; NaN when none answered */
    double p_b;
    double v;               /* p_a - p_b, in [-1, 1]; NaN when a side has no answer */
    double ci_low, ci_high; /* Newcombe's hybrid score 95% interval of v */
    double p_value;         /* two-sided Fisher's exact test */
    double agreement_auroc; /* AUROC of the ranker's score at predicting the verdict;
                               0.5 when one verdict class is empty; NaN without scores */
    size_t unusable;        /* replies for this hypothesis that could not be used
                               (then asked again, while tries were left) */

    /* Prediction-powered (hyporank/verify_ppi.h): method "ppi++", and then v,
     * ci_low, ci_high above are the PPI estimate and interval of V while
     * p_a, p_b, p_value and the counts stay those of the labels alone.
     * hr_verify_run leaves method NULL and these 0. */
    const char *method;     /* "ppi++" (static string), or NULL: v and ci are Newcombe's */
    double v_classical;     /* p_a - p_b: the labels alone */
    double classical_ci_low, classical_ci_high; /* Newcombe's hybrid score interval */
    double share_a, share_a_ci_low, share_a_ci_high; /* PPI share of A the judge says
                                                        yes to, 95% interval */
    double share_b, share_b_ci_low, share_b_ci_high;
    double effective_labels; /* labels the classical estimate would need for the same
                                precision of V (n_a_answered + n_b_answered: no gain) */
    double lambda;          /* the power-tuning weight (0: labels only, 1: full PPI) */
    size_t rounds;          /* labelling rounds it took part in */
    int settled;            /* why its rounds ended: 1 the interval of V excludes 0 with
                               room, 2 its rank among the judged is settled, 0 neither
                               (its most texts, all texts, or the budget) */
    int budget_stopped;     /* 1: the budget ended its rounds before it was settled */
} hr_verify_result;

/* What a run did, and what it saw. rows_a, rows_b and verdicts are
 * malloc'ed by hr_verify_run; hr_verify_stats_free frees them. */
typedef struct hr_verify_stats {
    size_t m_a, m_b;          /* texts sampled from A and from B */
    size_t *rows_a;           /* (m_a) ascending: the rows of A sampled */
    size_t *rows_b;           /* (m_b) ascending */
    signed char *verdicts;    /* (k, m_a + m_b) row-major, columns as the score matrix's:
                                 1 true, 0 false, -1 missing */
    size_t n_requests;        /* requests per hypothesis (each of about
                                 texts_per_request texts) */
    size_t prompts;           /* judge requests over all tries (k n_requests + re-asks),
                                 cache hits included */
    size_t reasked;           /* of which asked again after an unusable reply */
    size_t unusable;          /* unusable replies, all hypotheses */
    size_t missing;           /* verdicts missing, all hypotheses and texts */
    hr_remote_stats llm;      /* the client's counts, summed over the tries: cache hits,
                                 HTTP requests, tokens, cost */
} hr_verify_stats;

/* Frees the arrays in s and clears it; accepts NULL and a cleared struct. */
void hr_verify_stats_free(hr_verify_stats *s);

/* The sample hr_verify_run would draw: rows_a (min(M, n_a)) and rows_b
 * (min(M, n_b)), ascending, malloc'ed (free them). opts may be NULL for the
 * defaults. n_a, n_b >= 1. */
hr_status hr_verify_sample_rows(size_t n_a, size_t n_b, const hr_verify_options *opts,
                                size_t **rows_a, size_t *m_a, size_t **rows_b, size_t *m_b,
                                char *err, size_t errlen);

/* Verifies k hypotheses. hypotheses: (k) UTF-8 strings, non-empty.
 * texts_a: (n_a) UTF-8 texts, lens_a: (n_a) their byte lengths, or NULL for
 * strlen; the same for B. n_a, n_b, k >= 1. score_fn may be NULL (then
 * agreement_auroc is NaN). opts may be NULL for the defaults. results: (k),
 * the caller's array. stats may be NULL; otherwise the caller frees it with
 * hr_verify_stats_free (on failure it is left cleared). */
hr_status hr_verify_run(hr_llm *llm, const char *const *hypotheses, size_t k,
                        const char *const *texts_a, const size_t *lens_a, size_t n_a,
                        const char *const *texts_b, const size_t *lens_b, size_t n_b,
                        hr_verify_score_fn score_fn, void *score_user,
                        const hr_verify_options *opts, hr_verify_result *results,
                        hr_verify_stats *stats, char *err, size_t errlen);

/* The statistics from counts alone: fills n_*_true, n_*_answered, p_a, p_b,
 * v, ci_low, ci_high and p_value of out (the rest is zeroed, agreement_auroc
 * NaN). a <= n_a, b <= n_b (else HR_ERR_INPUT). */
hr_status hr_verify_counts(size_t a, size_t n_a, size_t b, size_t n_b, hr_verify_result *out,
                           char *err, size_t errlen);

/* Fisher's exact test, two-sided, of [[a, n_a - a], [b, n_b - b]] (a <= n_a,
 * b <= n_b; 1 when a margin is empty). */
double hr_verify_fisher_p(size_t a, size_t n_a, size_t b, size_t n_b);

/* Newcombe's hybrid score interval for a/n_a - b/n_b with the given z
 * (n_a, n_b >= 1; otherwise [-1, 1]). */
void hr_verify_newcombe(size_t a, size_t n_a, size_t b, size_t n_b, double z, double *low,
                        double *high);

#ifdef __cplusplus
}
#endif

#endif
