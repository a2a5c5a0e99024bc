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
 * Other fields of each text (a label, a classifier's score) come along when
 * options.fields names them: JSONL fields of the same object, CSV columns of
 * the same row (a column missing from the header is an error, as for the
 * text). They are read as they are and not checked: the caller decides what
 * a missing or wrongly typed value means, and names c->lines[i] in its
 * message.
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
 *
 *     const char *extra[] = {"label"};
 *     hr_corpus_options o = {.fields = extra, .n_fields = 1};
 *     hr_corpus_read("labelled.jsonl", &o, &c, err, sizeof err);
 *     const hr_corpus_field *label = hr_corpus_get_field(c, 0, 0);  // text 0, "label"
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
    const char *text_field;    /* JSONL field / CSV column; NULL means "text" */
    hr_corpus_format format;   /* HR_FORMAT_AUTO by default */
    const char *const *fields; /* (n_fields) other fields to keep per text, or NULL */
    size_t n_fields;
} hr_corpus_options;

/* What a JSONL object holds under a name (a CSV cell is always a string;
 * a TXT line has no fields: all are missing). */
typedef enum hr_field_type {
    HR_FIELD_MISSING = 0, /* no such name in the object */
    HR_FIELD_NULL,
    HR_FIELD_STRING,      /* text, len: the string (a CSV cell, maybe empty) */
    HR_FIELD_NUMBER,      /* number: the value (finite) */
    HR_FIELD_TRUE,
    HR_FIELD_FALSE,
    HR_FIELD_ARRAY,
    HR_FIELD_OBJECT
} hr_field_type;

typedef struct hr_corpus_field {
    hr_field_type type;
    const char *text;   /* HR_FIELD_STRING: NUL-terminated UTF-8, owned by the corpus; else NULL */
    size_t len;         /* bytes of text */
    double number;      /* HR_FIELD_NUMBER: the value; else 0 */
} hr_corpus_field;

typedef struct hr_corpus {
    size_t n;       /* number of texts */
    char **texts;   /* (n) NUL-terminated UTF-8 strings, owned by the corpus */
    size_t *lens;   /* (n) byte length of each text */
    size_t *lines;  /* (n) 1-based line in the file where each text starts */
    char *path;     /* the file it was read from */
    void *arena_;   /* private storage */
    size_t n_fields;         /* options.n_fields */
    hr_corpus_field *fields; /* (n, n_fields) row-major: field j of text i at
                                [i * n_fields + j]; NULL when n_fields is 0 */
} hr_corpus;

/* opt may be NULL for the defaults. On success *out owns the corpus. */
hr_status hr_corpus_read(const char *path, const hr_corpus_options *opt, hr_corpus **out,
                         char *err, size_t errlen);

void hr_corpus_destroy(hr_corpus *c); /* accepts NULL */

/* Field j (in options.fields order) of text i; NULL when out of range. */
const hr_corpus_field *hr_corpus_get_field(const hr_corpus *c, size_t i, size_t j);

/* 1 when s[0..len) is valid UTF-8 (no overlongs, no surrogates, at most
 * U+10FFFF) and holds no NUL byte; otherwise 0, with the offset of the first
 * bad byte in *bad_offset when bad_offset is not NULL. */
int hr_utf8_valid(const char *s, size_t len, size_t *bad_offset);

#ifdef __cplusplus
}
#endif

#endif
