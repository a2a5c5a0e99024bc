/*
 * host/pipeline/html_internal.h: what the HTML pages of report_html.c
 * (describe, rank) and explain_html.c share (html_common.c); not public.
 *
 * Everything that comes from the data (texts, hypotheses, paths, labels,
 * the goal) reaches the page through hr_html_text (element content and
 * attribute values) or hr_html_json_string (the JSON block); literal markup
 * and numbers are written directly.
 */
#ifndef HYPORANK_HTML_INTERNAL_H
#define HYPORANK_HTML_INTERNAL_H

#include "hyporank/html.h"

#include <stddef.h>
#include <stdio.h>

/* s[0..len) as HTML text, safe in element content and in quoted attribute
 * values: & < > " ' escaped, invalid UTF-8 as U+FFFD, control characters
 * but tab and newline as spaces. max > 0: at most about max bytes, cut on a
 * character boundary, with an ellipsis after. */
void hr_html_text(FILE *f, const char *s, size_t len, size_t max);
/* The same for a NUL-terminated string (NULL writes nothing). */
void hr_html_str(FILE *f, const char *s);
/* As hr_html_text, with the words of phrases[0..n) (bytes, e.g. "covid 19",
 * lengths plens) in <mark>: matched without regard to ASCII case, on word
 * boundaries, a space in a phrase matching any run of non-word characters;
 * where several match, the longest. */
void hr_html_text_marked(FILE *f, const char *s, size_t len, size_t max,
                         const char *const *phrases, const size_t *plens, size_t n);
/* s[0..len) as a JSON string literal safe inside <script>: < > & and
 * U+2028, U+2029 as \u escapes, invalid UTF-8 as \ufffd; cut as above.
 * NULL writes null. */
void hr_html_json_string(FILE *f, const char *s, size_t len, size_t max);
/* A number for the JSON block: 4 significant digits (p-values 3), null for
 * NaN and infinities. */
void hr_html_json_number(FILE *f, double v, int p_value);

/* The phrase of a `mentions "w"` hypothesis: *phrase, *plen point into
 * text; 0 when text is not of that form. */
int hr_html_mentions(const char *text, size_t len, const char **phrase, size_t *plen);

/* The file name of a path (after the last '/'); "" for NULL. */
const char *hr_html_basename(const char *path);

/* From <!DOCTYPE html> to <body>: the Content-Security-Policy with the
 * hashes of the script and the style, the style, and the title (escaped). */
void hr_html_begin(FILE *f, const char *title);
/* The script of the table (page-script.js), then </body></html>. */
void hr_html_end(FILE *f);

/* The header's last fact, the date, and the end of the header. */
void hr_html_header_end(FILE *f, const hr_html_options *opt);
/* The footer: who made the page and when, that it loads nothing, then note
 * (literal HTML, may be ""). */
void hr_html_footer(FILE *f, const hr_html_options *opt, const char *note);

/* The date line: opt's, else now as "2026-12-05 14:03 UTC". out: 64 bytes. */
const char *hr_html_date(const hr_html_options *opt, char out[64]);

/* "1,234,567". out: 32 bytes. */
const char *hr_html_count(size_t n, char out[32]);

#endif
