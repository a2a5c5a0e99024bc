/*
 * host/discovery/verify_internal.h: the judge's requests, shared by the
 * one-round verifier (verify.c, hr_verify_run) and the verifier in rounds
 * (verify_ppi.c); internal, not public.
 *
 * A judge request is one hypothesis and a few rendered texts; the prompt,
 * the answer format and how answers are read are those of hyporank/verify.h.
 *
 *     char *t[2] = {hr_verify_render(a, la, 1000, SIZE_MAX), hr_verify_render(b, lb, 1000, SIZE_MAX)};
 *     signed char out[2];
 *     hr_verify_item it = {.hypothesis = "mentions a volcano", .texts = (const char *const *)t,
 *                          .n = 2, .out = out};
 *     hr_verify_ask_stats st;
 *     hr_verify_ask(llm, &it, 1, &opts, &st, err, sizeof err);   // out: 1, 0 or -1 each
 */
#ifndef HYPORANK_VERIFY_INTERNAL_H
#define HYPORANK_VERIFY_INTERNAL_H

#include "hyporank/llm.h"
#include "hyporank/verify.h"

#include <stddef.h>
#include <stdint.h>

/* The context guard (hr_verify_fit) counts one token per this many bytes of
 * prompt: BPE tokenizers give about 4 bytes a token on English text and
 * rarely fewer than 3 on other Latin-script text. */
#define HR_VERIFY_GUARD_BYTES_PER_TOKEN 3
/* Answer tokens the guard reserves (and asks for as max_tokens): the JSON
 * entry of one text, {"id": 10, "satisfies": false}, is 12-14 tokens
 * compact and about 20 pretty-printed. */
#define HR_VERIFY_ANSWER_TOKENS_BASE 32
#define HR_VERIFY_ANSWER_TOKENS_PER_TEXT 24
/* Answer tokens expected for cost estimates (compact JSON). */
#define HR_VERIFY_EXPECT_TOKENS_BASE 8
#define HR_VERIFY_EXPECT_TOKENS_PER_TEXT 14

/* One request: its verdicts go to out. */
typedef struct hr_verify_item {
    const char *hypothesis;     /* non-empty */
    const char *const *texts;   /* (n) rendered (hr_verify_render), borrowed */
    size_t n;                   /* 1..100 */
    signed char *out;           /* (n) to fill: 1 true, 0 false, -1 no verdict */
    size_t unusable;            /* out: unusable replies (each asked again while tries last) */
    int not_sent;               /* out: 1 when the client's budget refused it */
} hr_verify_item;

typedef struct hr_verify_ask_stats {
    size_t prompts;             /* requests over all tries, cache hits included */
    size_t reasked;             /* of which asked again after an unusable reply */
    size_t unusable;            /* unusable replies */
    size_t not_sent;            /* requests the budget refused */
    size_t failed;              /* tries that failed at the endpoint (no reply to read) */
    char first_error[256];      /* the first such failure's message, or "" */
    hr_remote_stats llm;        /* the client's counts, summed over the tries */
} hr_verify_ask_stats;

/* A text as the judge sees it (hyporank/verify.h), cut to at most max_chars
 * code points and max_bytes bytes (then " [... truncated]"): malloc'ed, NULL
 * when out of memory. */
char *hr_verify_render(const char *s, size_t len, size_t max_chars, size_t max_bytes);

/* Asks every item, each unusable reply again up to o->max_retries times
 * (with a new sample number, so the cache does not return the bad answer).
 * A request the budget refuses is not asked again. With o->context_tokens
 * set and o->max_tokens 0, each request asks for max_tokens = the answer
 * allowance of its texts. Errors as hr_llm_run's (the items answered so far
 * keep their verdicts). st may be NULL. */
hr_status hr_verify_ask(hr_llm *llm, hr_verify_item *items, size_t n, const hr_verify_options *o,
                        hr_verify_ask_stats *st, char *err, size_t errlen);

/* The requests of one try of items[0..n): reqs (n), the caller's array;
 * each user message is malloc'ed (hr_verify_requests_free). attempt: the
 * try number, sent as hr_llm_request.sample. */
hr_status hr_verify_requests(const hr_verify_item *items, size_t n, const hr_verify_options *o,
                             int attempt, hr_llm_request *reqs, char *err, size_t errlen);
void hr_verify_requests_free(hr_llm_request *reqs, size_t n);

/* The context guard: how many texts a request of hypothesis h may hold
 * (*per, at most o->texts_per_request) and how many bytes each text may
 * keep (*max_bytes), so that the prompt, at
 * HR_VERIFY_GUARD_BYTES_PER_TOKEN bytes a token, plus the answer allowance
 * fits o->context_tokens. longest: bytes of the longest text to be sent
 * (after the max_text_chars cut). Whole texts are kept when some batch
 * size allows it (the largest such); otherwise one text a request, cut to
 * fit. Without a context (0): texts_per_request and no byte limit.
 * HR_ERR_INPUT when not even a short text (64 bytes) fits. */
hr_status hr_verify_fit(const hr_verify_options *o, const char *h, size_t longest, size_t *per,
                        size_t *max_bytes, char *err, size_t errlen);

/* The marker after a text that was cut. */
extern const char hr_verify_truncated_marker[];

/* The request plan of hyporank/verify.h for m_a texts of A (columns
 * 0..m_a-1) and m_b of B (m_a..m_a+m_b-1), requests of about per texts:
 * cols (m_a + m_b) the columns in request order, request q holding
 * cols[off[q] .. off[q + 1]); off: (n_req + 1), n_req = ceil((m_a + m_b) /
 * per); tmp: (m_a + m_b) scratch. Depends only on its arguments. */
void hr_verify_plan(uint64_t seed, size_t m_a, size_t m_b, size_t per, size_t *cols, size_t *off,
                    size_t *n_req, size_t *tmp);

/* Checks options (ranges as in hyporank/verify.h); NULL gives the defaults.
 * *out gets the options used. */
hr_status hr_verify_resolve(const hr_verify_options *opts, hr_verify_options *out, char *err,
                            size_t errlen);

/* Adds s to sum, field by field. */
void hr_verify_add_stats(hr_remote_stats *sum, const hr_remote_stats *s);

/* The AUROC of score (n) at predicting verdict (n) == 1 over the texts
 * with a verdict (0.5 when a class is empty); scratch: (n). */
hr_status hr_verify_agreement(const float *score, const signed char *verdict, size_t n,
                              float *scratch, double *out, char *err, size_t errlen);

#endif
