/*
 * hyporank/llm_propose.h: hypotheses proposed by an LLM that is shown the
 * texts most typical of each side (in the spirit of D5, Zhong et al. 2023,
 * "Goal Driven Discovery of Distributional Differences via Language
 * Descriptions"), and near-duplicate merging of a candidate pool by
 * embedding similarity.
 *
 * Method (hr_llm_propose)
 *
 *   Representative samples. The caller fits a probe that tells A from B
 *   (hyporank/probe.h, A as the positive class) and passes every text's
 *   held-out decision value. A's texts are ordered by decision value,
 *   highest first (the most confidently A), B's by lowest first (the most
 *   confidently B); ties keep input order; empty texts are left out. With no
 *   decision values (NULL) the input order is used. Round r (0-based) shows
 *   the next stratum: the texts at positions r S .. r S + S - 1 of each
 *   order, so no text is shown twice until a side runs out; positions wrap
 *   around modulo the side's size. A side of S texts or fewer shows all of
 *   them, in order, in every round (the rounds' requests still differ by
 *   their `sample` field, so each is its own request and cache entry, and
 *   at temperature > 0 its own answer). No randomness: the same inputs give
 *   the same prompts.
 *
 *   Prompt. A system message, then one user message: the research goal
 *   ("Research goal: ..."; omitted when NULL or empty), the dataset
 *   description ("About the data: ..."; likewise), the samples as
 *   "Group A:" and "Group B:" followed by one "- text" line each (newlines
 *   and other control characters in a text become spaces; bytes that are not
 *   UTF-8 become '?'; a text longer than max_sample_bytes is cut at a
 *   character boundary and ends in "..."), then the request: up to
 *   per_side predicates more often true of a text of A than of a text of B,
 *   and as many the other way, each a short phrase about a single text
 *   ("is about ...", "asks the reader a question"), answered strictly as the
 *   JSON object {"A": [...], "B": [...]}. hr_llm_propose_prompt returns the
 *   exact message of a round.
 *
 *   Long goal or description: cut (at a character boundary) to
 *   max_goal_bytes / max_description_bytes (2,000 each by default), followed
 *   by the note "[truncated: the first M of N bytes are shown]" in the
 *   prompt; the report says it happened. Not an error: a long goal is
 *   legitimate input, and its start says what matters.
 *
 *   Requests. All R rounds go to hr_llm_run as one batch (concurrency,
 *   retries, cache and fail-fast are the client's: hyporank/llm.h), with
 *   response_format json_object when json_mode is 1 (the default). Then the
 *   client itself refuses an answer that is not a JSON object (that round
 *   fails and adds nothing); json_mode 0 is for endpoints that do not
 *   support response_format, whose answers hr_llm_parse_proposals reads
 *   whatever their form.
 *
 *   Parsing (hr_llm_parse_proposals), first that works:
 *     1. strict: the whole answer (whitespace trimmed) is a JSON object with
 *        keys for A and B (matched ignoring case and anything but letters
 *        and digits, and a leading "group": "A", "group_a", "Group B"),
 *        each an array of strings (a lone string counts as one item);
 *     2. embedded: the first balanced {...} in the answer (code fences,
 *        prose around it), read as in 1;
 *     3. lines: a line that is not a list item and names a side ("A:",
 *        "Group B", "## More often true of group A:", "\"A\": [") starts that
 *        side; list items under it ("- x", "* x", "1. x", "2) x", a quoted
 *        "x",) are its predicates. Items before any side are dropped
 *        (counted as rejected); other lines are ignored.
 *   Every item is then cleaned: list markers and numbering at its start,
 *   trailing , ; : . ! and whitespace, and a pair of quotes around it (when
 *   the quote does not also occur inside) are stripped, runs of whitespace
 *   become one space. It is rejected when it is then empty, longer than
 *   HR_PROPOSAL_MAX_CHARS (200) characters, or was several lines, holds a
 *   control character or is not valid UTF-8.
 *
 *   Pool. Each kept item is added with hr_pool_add, source HR_SOURCE_LLM and
 *   the note "llm round R, side A" (R counted from 1), round by round, A's
 *   items before B's. The pool drops exact duplicates (after its
 *   normalisation); the report counts them. (The pool's `direction` field
 *   stays 0: hr_pool_add cannot set it. The side is in the note, and the
 *   scorer measures the direction anyway.)
 *
 *   Errors. A round whose request fails (a 400, retries run out, an answer
 *   that is not JSON in json_mode) is counted in the report and adds nothing;
 *   the others go on, and the call returns HR_OK. When hr_llm_run stops the
 *   batch (HR_ERR_INPUT: wrong URL, key or model; HR_ERR_IO; HR_ERR_CACHE),
 *   the answers that did come are still added, and that status is returned
 *   with the client's message. Bad options or inputs: HR_ERR_INPUT, nothing
 *   sent.
 *
 *     hr_llm_propose_input in = {
 *         .goal = "find out what changed in the headlines in 2020", // or NULL
 *         .a = a_texts, .a_lens = NULL, .n_a = n_a, .a_scores = heldout,       // (n_a)
 *         .b = b_texts, .b_lens = NULL, .n_b = n_b, .b_scores = heldout + n_a, // (n_b)
 *     };
 *     hr_llm_propose_options o = hr_llm_propose_default_options(); // 3 rounds of 15 a side
 *     hr_llm_propose_report rep;
 *     st = hr_llm_propose(llm, &in, &o, pool, &rep, err, sizeof err);
 *     printf("%zu new hypotheses, %lld + %lld tokens\n", rep.added,
 *            rep.stats.prompt_tokens, rep.stats.completion_tokens);
 *
 * Near-duplicate merging (hr_near_duplicates, hr_pool_merge_near_duplicates)
 *
 *   Given one embedding per candidate, in pool order, the candidates are
 *   walked in order and each is kept unless its cosine similarity with an
 *   already kept candidate is >= threshold: so of any pair of near
 *   duplicates the earlier one stays (the bank's and the user's entries come
 *   first in `describe`'s pool, so they win over later LLM paraphrases), and
 *   a chain a ~ b ~ c with a !~ c keeps a and c. Cosines are computed in
 *   float32 from rows normalised in double (error about 1e-6); a zero row
 *   is never a duplicate. Cost O(k^2 d) through cblas sgemm, memory
 *   O(k d + 256 k).
 *
 *   The default threshold, HR_NEAR_DUPLICATE_THRESHOLD = 0.92, is for
 *   L2-normalised all-MiniLM-L6-v2 embeddings of short predicates, where
 *   opposites score high: "is written in English" / "is not written in
 *   English" 0.896, "is negative in sentiment" / "is positive in sentiment"
 *   0.882, "is written in a formal tone" / "... an informal tone" 0.852.
 *   Merging those would lose a hypothesis, so the threshold sits above them;
 *   it still merges the variants of one wording: "is about the weather" /
 *   "is about weather" 0.983, "is about crime" / "is about a crime" 0.963,
 *   "is about sports" / "is about sport" 0.958, "is about the coronavirus" /
 *   "... the coronavirus pandemic" 0.930. Looser paraphrases ("mentions a
 *   date" / "mentions a specific date" 0.838, "is about football" / "is
 *   about soccer" 0.860) stay apart: a duplicate costs a little scoring and
 *   judging, a lost opposite costs a finding. (Measured with this project's
 *   encoder; tests/test_llm_propose.c checks these pairs when the model is
 *   there.) Other encoders need their own threshold.
 *
 * Ownership: inputs are borrowed for the call. Strings in an
 * hr_proposal_list are owned by it (hr_proposal_list_free). A pool made by
 * hr_pool_merge_near_duplicates is the caller's (hr_pool_destroy).
 */
#ifndef HYPORANK_LLM_PROPOSE_H
#define HYPORANK_LLM_PROPOSE_H

#include "hyporank/llm.h"
#include "hyporank/proposers.h"
#include "hyporank/status.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Longest predicate kept, in characters (code points). */
#define HR_PROPOSAL_MAX_CHARS 200
/* Default cosine similarity at or above which two candidates are merged. */
#define HR_NEAR_DUPLICATE_THRESHOLD 0.92

typedef struct hr_llm_propose_input {
    const char *goal;        /* the research goal, UTF-8, NUL-terminated; NULL: none */
    const char *description; /* what the data is, likewise; NULL: none */
    const char *const *a;    /* (n_a) texts of A, UTF-8 */
    const size_t *a_lens;    /* (n_a) byte lengths, or NULL for NUL-terminated texts */
    size_t n_a;
    const double *a_scores;  /* (n_a) probe decision values (higher: more like A),
                                or NULL: input order */
    const char *const *b;    /* (n_b) texts of B, likewise */
    const size_t *b_lens;
    size_t n_b;
    const double *b_scores;  /* (n_b) decision values of the same probe (lower: more
                                like B), or NULL */
} hr_llm_propose_input;

typedef struct hr_llm_propose_options {
    int rounds;               /* R, requests made, 1..1000 (3) */
    int samples_per_side;     /* S, texts of each side shown per round, 1..200 (15) */
    int per_side;             /* predicates asked for per side per round, 1..100 (10) */
    size_t max_sample_bytes;  /* a longer text is cut, 16.. (400) */
    size_t max_goal_bytes;    /* a longer goal is cut, 16.. (2000) */
    size_t max_description_bytes; /* likewise (2000) */
    double temperature;       /* 0..2 (0.7: rounds see different texts, and some
                                 variety helps) */
    int max_tokens;           /* answer length cap, 0: none (1500) */
    int json_mode;            /* 1: ask for response_format json_object (1) */
} hr_llm_propose_options;

hr_llm_propose_options hr_llm_propose_default_options(void);

/* How the answers were read. */
typedef enum hr_proposal_format {
    HR_PROPOSALS_NONE = 0,  /* nothing could be read */
    HR_PROPOSALS_JSON,      /* the whole answer was the JSON object */
    HR_PROPOSALS_EMBEDDED,  /* a JSON object inside other text */
    HR_PROPOSALS_LINES      /* list items under side headings */
} hr_proposal_format;

typedef struct hr_llm_propose_report {
    size_t rounds;           /* requests in the batch (R) */
    size_t rounds_failed;    /* requests that ended in an error */
    size_t answers_json;     /* answers read as strict JSON, */
    size_t answers_embedded; /* as a JSON object inside text, */
    size_t answers_lines;    /* as lines, */
    size_t answers_unread;   /* or not at all */
    size_t proposed;         /* predicates read (before cleaning) */
    size_t rejected;         /* dropped by the cleaning rules */
    size_t duplicates;       /* kept, but already in the pool */
    size_t added;            /* new pool entries */
    size_t added_a, added_b; /* of which proposed for A, for B */
    int goal_truncated;      /* 1: the goal was cut in the prompt */
    int description_truncated;
    hr_remote_stats stats;   /* the client's figures for the batch: tokens, cost,
                                cache hits, HTTP requests */
    char first_error[256];   /* the first failed request's error, or "" */
} hr_llm_propose_report;

/* Runs R rounds (above) and adds what the LLM proposes to pool. report may
 * be NULL. */
hr_status hr_llm_propose(hr_llm *llm, const hr_llm_propose_input *in,
                         const hr_llm_propose_options *opt, hr_hypothesis_pool *pool,
                         hr_llm_propose_report *report, char *err, size_t errlen);

/* The user message of round r (0-based), exactly as hr_llm_propose sends it.
 * *out is malloc'ed (free it); *goal_truncated / *description_truncated (each
 * may be NULL) say whether they were cut. */
hr_status hr_llm_propose_prompt(const hr_llm_propose_input *in, const hr_llm_propose_options *opt,
                                int round, char **out, int *goal_truncated,
                                int *description_truncated, char *err, size_t errlen);

/* The system message every round sends. */
const char *hr_llm_propose_system_prompt(void);

/* ---- parsing ------------------------------------------------------------------------------ */

typedef struct hr_proposal {
    char *text; /* cleaned, NUL-terminated UTF-8 (malloc'ed) */
    char side;  /* 'A' or 'B' */
} hr_proposal;

typedef struct hr_proposal_list {
    size_t n;                  /* items kept */
    hr_proposal *items;        /* (n), in answer order: A's then B's for JSON */
    size_t seen;               /* items found before cleaning */
    size_t rejected;           /* of which dropped by cleaning (or without a side) */
    hr_proposal_format format; /* how the answer was read */
} hr_proposal_list;

/* Reads an answer (above). Nothing readable is not an error: HR_OK with
 * format HR_PROPOSALS_NONE and n = 0. Only HR_ERR_NOMEM (and HR_ERR_INPUT for
 * a NULL answer with len > 0) fail. On failure *out is empty. */
hr_status hr_llm_parse_proposals(const char *answer, size_t len, hr_proposal_list *out,
                                 char *err, size_t errlen);
void hr_proposal_list_free(hr_proposal_list *l); /* frees the items; the struct is cleared */

/* ---- near duplicates ---------------------------------------------------------------------- */

/* emb: (k, d) row-major float32, one row per candidate in order (need not be
 * normalised). keep: (k) output, 1 for kept, 0 for merged into an earlier
 * one. *n_kept (may be NULL) counts the ones. threshold in (0, 1] (a NaN or
 * other value is HR_ERR_INPUT); k of 0 is fine. */
hr_status hr_near_duplicates(const float *emb, size_t k, int d, double threshold, uint8_t *keep,
                             size_t *n_kept, char *err, size_t errlen);

/* The same over a pool (emb has hr_pool_size(pool) rows, in pool order), and
 * a new pool *out (the caller's) holding the kept entries in order, with
 * their text, source and note (the new pool's direction and z fields are 0:
 * hr_pool_add cannot set them). keep: (size) output, or NULL. */
hr_status hr_pool_merge_near_duplicates(const hr_hypothesis_pool *pool, const float *emb, int d,
                                        double threshold, hr_hypothesis_pool **out,
                                        uint8_t *keep, size_t *n_kept, char *err,
                                        size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
