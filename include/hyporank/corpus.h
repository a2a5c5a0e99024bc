/*
 * hyporank/corpus.h: reading a corpus of texts from JSONL, TXT or CSV.
 *
 *   .jsonl  one JSON object a line; the text is in field "text" unless
 *           options.text_field says otherwise. Blank lines are skipped.
 *   .txt    one text a line ("\n" or "\r\n"); blank lines are skipped.
 *   .csv    RFC 4180: a header row, fields separated by commas, quoted fields
 *           may hold commas, quotes ("") and line breaks; the text is in
 *           column "text" unless options.text_field says otherwise.
 *
 * The format is taken from the extension unless options.format is set. Every
 * text is checked to be valid UTF-8 without NUL bytes. Any problem is reported
 * as HR_ERR_INPUT with "FILE:LINE: what was wrong" in err (or HR_ERR_IO when
 * the file cannot be opened or read), and an empty corpus is an error.
 *
 *     hr_corpus *c;
 *     if (hr_corpus_read("a.jsonl", NULL, &c, err, sizeof err) != HR_OK) ...
 *     for (size_t i = 0; i < c->n; i++) puts(c->texts[i]);
 *     hr_corpus_destroy(c);
 */
#ifndef HYPORANK_CORPUS_H
#define HYPORANK_CORPUS_H

#include "hyporank/status.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hr_corpus_format {
    HR_FORMAT_AUTO = 0, /* from the file name's extension */
    HR_FORMAT_JSONL,
    HR_FORMAT_TXT,
    HR_FORMAT_CSV
} hr_corpus_format;

typedef struct hr_corpus_options {
    const char *text_field;  /* JSONL field / CSV column; NULL means "text" */
    hr_corpus_format format; /* HR_FORMAT_AUTO by default */
} hr_corpus_options;

typedef struct hr_corpus {
    size_t n;       /* number of texts */
    char **texts;   /* (n) NUL-terminated UTF-8 strings, owned by the corpus */
    size_t *lens;   /* (n) byte length of each text */
    size_t *lines;  /* (n) 1-based line in the file where each text starts */
    char *path;     /* the file it was read from */
    void *arena_;   /* private storage */
} hr_corpus;

/* opt may be NULL for the defaults. On success *out owns the corpus. */
hr_status hr_corpus_read(const char *path, const hr_corpus_options *opt, hr_corpus **out,
                         char *err, size_t errlen);

void hr_corpus_destroy(hr_corpus *c); /* accepts NULL */

/* 1 when s[0..len) is valid UTF-8 (no overlongs, no surrogates, at most
 * U+10FFFF) and holds no NUL byte; otherwise 0, with the offset of the first
 * bad byte in *bad_offset when bad_offset is not NULL. */
int hr_utf8_valid(const char *s, size_t len, size_t *bad_offset);

#ifdef __cplusplus
}
#endif

#endif
