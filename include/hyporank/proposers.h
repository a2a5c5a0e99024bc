/*
 * hyporank/proposers.h: the pool of candidate hypotheses, and the offline
 * proposers that fill it.
 *
 * A hypothesis is a predicate about a single text ("is about sport", "asks a
 * question", "mentions \"coronavirus\""). `describe` gathers candidates from
 * several sources into one pool, then the scorer ranks them all:
 *
 *   bank   a built-in list of several hundred generic hypotheses
 *          (host/discovery/data/hypothesis-bank.txt, compiled into the library);
 *   ngram  the words and word pairs that most separate A from B, by the
 *          weighted log-odds ratio with an informative Dirichlet prior of
 *          Monroe, Colaresi & Quinn (2008), "Fightin' Words" (below);
 *   user   hypotheses the caller supplies (a file, the command line);
 *   llm    hypotheses an LLM proposes (a later module).
 *
 * The pool drops duplicates: two texts are the same hypothesis when they are
 * equal after trimming, collapsing runs of whitespace into one space and
 * lower-casing (Unicode simple lower case). The first one added is kept, with
 * its source and note.
 *
 *     hr_hypothesis_pool *pool;
 *     hr_pool_create(&pool, err, sizeof err);
 *     hr_pool_add_bank(pool, NULL, err, sizeof err);
 *     hr_ngram_options o = hr_ngram_default_options();
 *     hr_pool_add_ngrams(pool, (const char *const *)a->texts, a->lens, a->n,
 *                        (const char *const *)b->texts, b->lens, b->n, &o, NULL,
 *                        err, sizeof err);
 *     for (size_t i = 0; i < hr_pool_size(pool); i++) {
 *         const hr_pool_entry *e = hr_pool_get(pool, i);
 *         printf("%s\t%s\n", hr_hyp_source_str(e->source), e->text);
 *     }
 *     // all texts at once, for the encoder: (size) pointers and lengths
 *     hr_encoder_embed(enc, hr_pool_texts(pool), hr_pool_lens(pool), hr_pool_size(pool), ...);
 *     hr_pool_destroy(pool);
 *
 * N-gram contrast (hr_ngram_contrast, hr_pool_add_ngrams)
 *
 *   Tokens: the text is lower-cased (Unicode simple lower case) and cut into
 *   maximal runs of word characters: ASCII letters and digits, and every
 *   non-ASCII code point that Unicode does not class as punctuation,
 *   whitespace or a control/format character (so accented, Cyrillic, Greek
 *   ... letters, combining marks, and also symbols and emoji, are kept). A
 *   CJK ideograph is a token of its own. A token longer than 64 bytes is
 *   dropped and breaks adjacency. Bytes that are not valid UTF-8 separate
 *   tokens.
 *   N-grams: unigrams that are not stop words (a fixed English list of about
 *   140 function words and contraction pieces; "us" is not one of them, as in
 *   headlines it is the country), and bigrams of adjacent tokens unless both
 *   are stop words ("state of" is kept, "of the" is not). A bigram is written
 *   as its two tokens joined by one space.
 *
 *   Counts are document frequencies: y_w^A is the number of texts of A that
 *   contain w (once however often it is repeated), n^A the number of texts
 *   of A. A hypothesis "mentions w" is true or false of a whole text, and the
 *   scorer measures how well it separates texts, so the proportion of texts
 *   that mention w is the quantity to contrast; token counts would also let
 *   one long text that repeats a word dominate, and break the independence
 *   that the variance below assumes. With these counts the model is one
 *   binomial per n-gram (a text mentions it or not).
 *
 *   Prior: informative, from the pooled counts of A and B, with strength
 *   alpha0 pseudo-texts: a_w = alpha0 (y_w^A + y_w^B) / (n^A + n^B), a
 *   Beta(a_w, alpha0 - a_w) prior on each group's proportion, centred on the
 *   pooled proportion. The default, alpha0 = n^A + n^B (a prior as strong as
 *   the data), makes a_w the pooled count itself. Then copying both corpora
 *   k times leaves delta unchanged and multiplies every z by sqrt(k): the
 *   ranking depends on the proportions and not on the corpus size, which a
 *   fixed alpha0 does not give (with a fixed prior, an n-gram absent from
 *   one side has var ~ 1 / a_w, and its rank against frequent n-grams
 *   drifts as the corpora grow). The strong prior also favours n-grams that
 *   are frequent as well as lopsided, the ones whose "mentions w" separates
 *   the most texts, which is what the scorer's AUROC rewards: with 30,000
 *   texts on each side, an n-gram in 30 texts of A and none of B gets
 *   z = 3.1, one in 5,000 of A and 4,500 of B z = 3.5. A smaller alpha0
 *   (say 1000 for 60,000 texts) lets rarer, more exclusive n-grams rise.
 *
 *   Statistic (Monroe et al.'s estimate with an informative prior, in their
 *   notation, and their approximate variance):
 *     delta_w = log((y^A + a_w) / (n^A + alpha0 - y^A - a_w))
 *             - log((y^B + a_w) / (n^B + alpha0 - y^B - a_w))
 *     var_w   = 1 / (y^A + a_w) + 1 / (y^B + a_w)
 *     z_w     = delta_w / sqrt(var_w)      (positive: more typical of A)
 *   An n-gram in every text of both groups has delta = z = 0.
 *
 *   Only n-grams found in at least min_count texts (A and B together) are
 *   scored. hr_pool_add_ngrams takes the top_k with the largest z >= min_z
 *   (direction A) and the top_k with the smallest z <= -min_z (direction B),
 *   ties in z broken by the n-gram's bytes (ascending), and adds each as
 *   `mentions "w"` with source "ngram", its direction and z. Counting is one
 *   pass with hash tables (word interning, then one table keyed by word ids
 *   for unigrams and bigrams), so it is linear in the corpus size.
 *
 * Ownership: the pool owns every string in it. Pointers to texts and notes
 * stay valid until the pool is destroyed; the arrays returned by hr_pool_get,
 * hr_pool_texts and hr_pool_lens stay valid until the next add. A pool must
 * not be used from two threads at once.
 */
#ifndef HYPORANK_PROPOSERS_H
#define HYPORANK_PROPOSERS_H

#include "hyporank/status.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Where a candidate hypothesis came from. */
typedef enum hr_hyp_source {
    HR_SOURCE_USER = 0, /* supplied by the caller */
    HR_SOURCE_BANK,     /* the built-in bank */
    HR_SOURCE_NGRAM,    /* the n-gram contrast proposer */
    HR_SOURCE_LLM       /* an LLM proposer */
} hr_hyp_source;

/* "user", "bank", "ngram", "llm" (the `source` field of the JSON output). */
const char *hr_hyp_source_str(hr_hyp_source s);

/* One candidate. */
typedef struct hr_pool_entry {
    const char *text;     /* NUL-terminated UTF-8, trimmed of surrounding whitespace */
    size_t len;           /* bytes of text */
    hr_hyp_source source; /* who proposed it */
    const char *note;     /* NULL, or a short NUL-terminated remark: for an n-gram,
                             `ngram "w" z=+12.34 A:310/32192 B:12/27248` */
    char direction;       /* 'A' or 'B' for an n-gram (the side it is typical of); 0 otherwise */
    double z;             /* an n-gram's z-score (positive: typical of A); 0 otherwise */
} hr_pool_entry;

typedef struct hr_hypothesis_pool hr_hypothesis_pool;

hr_status hr_pool_create(hr_hypothesis_pool **out, char *err, size_t errlen);
void hr_pool_destroy(hr_hypothesis_pool *pool); /* accepts NULL */

/* Number of distinct hypotheses in the pool. */
size_t hr_pool_size(const hr_hypothesis_pool *pool);
/* Entry i (in the order added), or NULL when i >= size. */
const hr_pool_entry *hr_pool_get(const hr_hypothesis_pool *pool, size_t i);
/* The texts of all entries: (size) pointers, and (size) byte lengths. */
const char *const *hr_pool_texts(const hr_hypothesis_pool *pool);
const size_t *hr_pool_lens(const hr_hypothesis_pool *pool);

/* Adds one hypothesis: text[0..len) is trimmed; it must be valid UTF-8 with
 * no NUL and not empty once trimmed (else HR_ERR_INPUT). note may be NULL.
 * *added (when not NULL) is 1 when it was new, 0 when a duplicate of an
 * entry already there (the pool is then unchanged). */
hr_status hr_pool_add(hr_hypothesis_pool *pool, const char *text, size_t len,
                      hr_hyp_source source, const char *note, int *added, char *err,
                      size_t errlen);

/* Adds `mentions "gram"` (source ngram) with the given note, direction and
 * z (as hr_pool_entry's). gram: its words as hr_ngram_stat.gram spells
 * them. *added as above. */
hr_status hr_pool_add_mention(hr_hypothesis_pool *pool, const char *gram, const char *note,
                              char direction, double z, int *added, char *err, size_t errlen);

/* Adds every line of buf[0..len) ("\n" or "\r\n" line ends) as a hypothesis
 * of the given source, skipping blank lines and lines whose first non-blank
 * character is '#'. name (may be NULL) labels errors: "NAME:LINE: ...".
 * *added (when not NULL) counts the new entries. On an error the lines
 * before the bad one stay added. */
hr_status hr_pool_add_lines(hr_hypothesis_pool *pool, const char *buf, size_t len,
                            hr_hyp_source source, const char *name, size_t *added, char *err,
                            size_t errlen);

/* Adds the built-in bank (source "bank"). *added as above. */
hr_status hr_pool_add_bank(hr_hypothesis_pool *pool, size_t *added, char *err, size_t errlen);

/* The built-in bank as compiled in: lines of text, '#' lines are section
 * comments. *len receives its length in bytes. */
const char *hr_bank_text(size_t *len);

/* ------------------------------------------------------------------------ */
/* N-gram contrast                                                           */

typedef struct hr_ngram_options {
    int max_n;        /* 1: unigrams only; 2: unigrams and bigrams (default 2) */
    double alpha0;    /* prior strength in pseudo-texts, >= 0; 0 (the default)
                         means n_a + n_b */
    size_t min_count; /* fewest texts (A and B together) an n-gram must be in (default 5) */
    size_t top_k;     /* n-grams per direction that hr_pool_add_ngrams adds (default 25) */
    double min_z;     /* the smallest |z| that hr_pool_add_ngrams adds (default 1.96) */
    int n_threads;    /* counting threads; 0: one per core (default 0). The counts and
                         the table do not depend on it */
} hr_ngram_options;

hr_ngram_options hr_ngram_default_options(void);

/* One scored n-gram. */
typedef struct hr_ngram_stat {
    const char *gram; /* NUL-terminated, its tokens joined by one space */
    int n;            /* 1 (unigram) or 2 (bigram) */
    size_t df_a;      /* texts of A that contain it */
    size_t df_b;      /* texts of B that contain it */
    double delta;     /* log-odds ratio, A over B */
    double var;       /* its approximate variance */
    double z;         /* delta / sqrt(var); positive: typical of A */
} hr_ngram_stat;

typedef struct hr_ngram_table {
    size_t n;             /* scored n-grams (those in >= min_count texts) */
    hr_ngram_stat *stats; /* (n), by z descending, ties by gram ascending (bytes) */
    size_t n_a, n_b;      /* texts in A and B */
    size_t vocabulary;    /* distinct n-grams seen before the min_count cut */
    double alpha0;        /* the prior strength used (n_a + n_b when asked for 0) */
    void *arena_;         /* private storage of the gram strings */
} hr_ngram_table;

/* Counts and scores the n-grams of A against B (see the top of this file).
 * a: (n_a) texts, a_lens: (n_a) byte lengths or NULL for NUL-terminated
 * texts; b, b_lens likewise. opt may be NULL for the defaults. An empty
 * corpus (n_a or n_b of 0), a NULL text, n_a + n_b >= 2^32 - 1 or a bad
 * option is HR_ERR_INPUT. On success *out owns the table. */
hr_status hr_ngram_contrast(const char *const *a, const size_t *a_lens, size_t n_a,
                            const char *const *b, const size_t *b_lens, size_t n_b,
                            const hr_ngram_options *opt, hr_ngram_table **out, char *err,
                            size_t errlen);
void hr_ngram_table_destroy(hr_ngram_table *t); /* accepts NULL */

/* The most words of a gram that hr_ngram_document_counts looks for. */
#define HR_GRAM_WORDS_MAX 8

/* How many of the texts contain each gram: df[i] = the number of texts
 * (counted once however often they repeat it) in which the words of
 * grams[i] occur, one after the other with nothing between but what
 * separates words (1 to HR_GRAM_WORDS_MAX words, cut as above, so "COVID
 * 19" is the bigram "covid 19" and "New South Wales" three words; a token
 * dropped for its length breaks a row). For a gram of hr_ngram_contrast's
 * table it is that table's df_a on A's texts and df_b on B's. texts: (n),
 * lens: (n) byte lengths or NULL for NUL-terminated texts; grams: (k)
 * NUL-terminated; df: (k). A gram of no word or of too many, or a NULL
 * text, is HR_ERR_INPUT. n_threads: counting workers, 0: one per core (the
 * counts do not depend on it). */
hr_status hr_ngram_document_counts(const char *const *texts, const size_t *lens, size_t n,
                                   const char *const *grams, size_t k, int n_threads,
                                   size_t *df, char *err, size_t errlen);

/* 1 when s[0..len) is a gram hr_ngram_document_counts counts (1 to
 * HR_GRAM_WORDS_MAX words); 0 otherwise (and when out of memory). */
int hr_ngram_is_gram(const char *s, size_t len);

/* The words w of a hypothesis written exactly `mentions "w"` (as the
 * n-gram proposer writes them; w a gram, above): a pointer into text, and
 * *words_len its bytes; NULL for any other hypothesis. Such a hypothesis
 * holds for a text exactly when the text contains w. */
const char *hr_mention_words(const char *text, size_t len, size_t *words_len);

/* Runs hr_ngram_contrast and adds the top n-grams of each direction to the
 * pool as `mentions "w"` (A's first, strongest first, then B's). *added
 * (when not NULL) counts the new entries. */
hr_status hr_pool_add_ngrams(hr_hypothesis_pool *pool, const char *const *a,
                             const size_t *a_lens, size_t n_a, const char *const *b,
                             const size_t *b_lens, size_t n_b, const hr_ngram_options *opt,
                             size_t *added, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
