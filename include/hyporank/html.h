/*
 * hyporank/html.h: the report as one self-contained HTML page with plots,
 * for `describe`, `rank` (hyporank/report.h) and `explain`
 * (hyporank/explain_run.h); what the command line's --html writes.
 *
 *     hr_html_options ho;
 *     hr_html_options_init(&ho);
 *     ho.title = "Headlines of 2020 against 2019";
 *     FILE *f = fopen("describe.html", "wb");
 *     hr_status st = hr_report_write_html(f, report, &ho);   // or NULL for the defaults
 *     if (fclose(f) != 0 && st == HR_OK) st = HR_ERR_IO;
 *
 * The page needs nothing beside itself: no network, no external script,
 * font, style sheet or image. Its Content-Security-Policy allows no request
 * at all and runs only its own script and style (by their SHA-256 hashes),
 * so even a text that slipped through escaping could neither run nor load
 * anything. Plots are inline SVG written here; a little script sorts,
 * filters and pages the table of all candidates, whose rows travel as a
 * JSON block (the findings, plots and examples are plain HTML and read
 * without the script). It follows the reader's light or dark mode
 * (prefers-color-scheme).
 *
 * What a describe or rank page shows:
 *   - a header: the corpora (names, sizes), the goal, the model, the
 *     devices, the date and the run's settings;
 *   - a forest plot of the findings: each finding's effect (share of A
 *     minus share of B) with its 95% interval, both directions around zero,
 *     the judge's V beside it when an LLM judged it, ordered by effect;
 *     each finding's paraphrases fold under it (when there is no finding,
 *     the rows shown instead, grey where not significant);
 *   - per row with plots (hyporank/report.h, HR_REPORT_DETAIL_ROWS): the
 *     share of A and of B as two bars, the distribution of its similarity
 *     in A and in B (two overlaid histograms, each side's share of texts per
 *     bin, the effect's threshold marked), and the texts of each side
 *     scoring highest, the words of the row's and its paraphrases'
 *     `mentions "w"` candidates highlighted;
 *   - describe: the clusters of typical texts;
 *   - a table of every candidate with the JSON's fields as columns, sortable
 *     and filterable by source, direction and significance.
 * An explain page shows the curve of X (% explained) against the number of
 * hypotheses with its 95% interval and the reference's AUROC, the chosen
 * hypotheses, the residual texts and a table of every candidate.
 *
 * Size: every text from the data is escaped (a text holding `<script>`
 * stays text), invalid UTF-8 is shown as U+FFFD, and examples are cut at
 * HR_HTML_MAX_TEXT bytes and table texts at HR_HTML_MAX_CELL. The page
 * holds no text per corpus row: histograms are binned and examples a few
 * per row, so its size grows with the candidates (about 200 bytes each
 * with hypotheses of 50 characters), not the texts: 10,000 candidates on a
 * million texts make about 2.1 MB (tests/test_report_html.c), which
 * Chromium opens in under a second (tests/browser/).
 *
 * Writing: HR_OK, or HR_ERR_IO when writing to f failed (the caller
 * removes the file), HR_ERR_INTERNAL for NULL arguments.
 */
#ifndef HYPORANK_HTML_H
#define HYPORANK_HTML_H

#include "hyporank/explain_run.h"
#include "hyporank/report.h"
#include "hyporank/status.h"

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bytes of a text shown in full on the page (examples, residual texts),
 * and in the table of candidates; longer ones are cut on a character
 * boundary and end with an ellipsis. */
#define HR_HTML_MAX_TEXT 600
#define HR_HTML_MAX_CELL 300

typedef struct hr_html_options {
    const char *title;   /* the page's title; NULL: "How A differs from B" (describe),
                            "Hypotheses ranked: A against B" (rank), "What the
                            hypotheses explain" (explain) */
    const char *a_name;  /* the names of the corpora; NULL: their files' names */
    const char *b_name;
    const char *date;    /* the date line; NULL: now, as "2026-12-05 14:03 UTC" */
    const char *generator; /* e.g. "hyporank 0.1.0"; NULL: "hyporank" */
} hr_html_options;

/* All NULL: the defaults above. */
void hr_html_options_init(hr_html_options *o);

/* The page of a describe or rank report. opt may be NULL. */
hr_status hr_report_write_html(FILE *f, const hr_report *r, const hr_html_options *opt);

/* The page of an explain report. opt may be NULL. */
hr_status hr_explain_report_write_html(FILE *f, const hr_explain_report *r,
                                       const hr_html_options *opt);

#ifdef __cplusplus
}
#endif

#endif
