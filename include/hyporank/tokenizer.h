/*
 * hyporank/tokenizer.h: BERT WordPiece tokenizer, id for id the same as the
 * Hugging Face tokenizer of a BERT model (BertNormalizer + BertPreTokenizer +
 * WordPiece + [CLS] ... [SEP] post-processing).
 *
 * Normalisation: control characters dropped, whitespace made a space, CJK
 * ideographs split into words of their own, accents stripped (NFD, then marks
 * of category Mn removed) and text lower-cased when the options say so.
 * Pre-tokenisation splits on whitespace and on every punctuation character.
 * WordPiece is greedy longest-match-first with the "##" continuation prefix;
 * a word with no segmentation, or longer than 100 characters, becomes [UNK].
 *
 *     hr_tokenizer *tok;
 *     if (hr_tokenizer_load("model/vocab.txt", NULL, &tok, err, sizeof err)) ...
 *     int32_t ids[256];
 *     size_t n = hr_tokenizer_encode(tok, "Hello, world!", 13, ids, 256);
 *     // ids = [CLS] hello , world ! [SEP]  (n = 6)
 *     hr_tokenizer_destroy(tok);
 *
 * A loaded tokenizer is immutable: hr_tokenizer_encode may be called from many
 * threads at once.
 */
#ifndef HYPORANK_TOKENIZER_H
#define HYPORANK_TOKENIZER_H

#include "hyporank/status.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hr_tokenizer hr_tokenizer;

typedef struct hr_tokenizer_options {
    int do_lower_case;          /* 1: lower-case (default 1) */
    int strip_accents;          /* 1 strip, 0 keep, -1 follow do_lower_case (default -1) */
    int tokenize_chinese_chars; /* 1: split CJK ideographs into words (default 1) */
} hr_tokenizer_options;

/* The defaults above, as Hugging Face's BertTokenizer has them. */
hr_tokenizer_options hr_tokenizer_default_options(void);

/* Reads vocab.txt (one token a line, the line number is the id). opt may be
 * NULL for the defaults. The vocabulary must hold [UNK], [CLS] and [SEP].
 * On success *out owns the tokenizer; free it with hr_tokenizer_destroy. */
hr_status hr_tokenizer_load(const char *vocab_path, const hr_tokenizer_options *opt,
                            hr_tokenizer **out, char *err, size_t errlen);

/* Tokenises text (len bytes of valid UTF-8, no NUL needed) and writes at most
 * max_ids ids to ids: [CLS], the word pieces, [SEP]. When the pieces do not
 * fit, they are truncated so that [SEP] still closes the sequence (as
 * sentence-transformers truncates to max_seq_length). max_ids must be >= 2.
 * Returns the number of ids written. */
size_t hr_tokenizer_encode(const hr_tokenizer *tok, const char *text, size_t len,
                           int32_t *ids, size_t max_ids);

/* Number of entries in the vocabulary. */
size_t hr_tokenizer_vocab_size(const hr_tokenizer *tok);

/* The token string of an id (NULL when out of range). Owned by tok. */
const char *hr_tokenizer_token(const hr_tokenizer *tok, int32_t id);

void hr_tokenizer_destroy(hr_tokenizer *tok); /* accepts NULL */

#ifdef __cplusplus
}
#endif

#endif
