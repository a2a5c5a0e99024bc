/*
 * host/pipeline/pipeline.h: what the pipelines (describe.c, rank.c,
 * explain_run.c) and the report renderers share; not public.
 */
#ifndef HYPORANK_PIPELINE_H
#define HYPORANK_PIPELINE_H

#include "core/util.h"
#include "hyporank/corpus.h"
#include "hyporank/embedder.h"
#include "hyporank/events.h"
#include "hyporank/llm.h"
#include "hyporank/proposers.h"
#include "hyporank/report.h"

#include <stddef.h>
#include <stdint.h>

struct cJSON;

/* ---- the report object (report.c) ---- */

struct hr_report {
    hr_report_info info;
    hr_report_row *rows;           /* (n_rows) by rank */
    size_t n_rows;
    hr_report_cluster *clusters;   /* (info.n_clusters) */
    hr_verify_result *verifications; /* the judged rows' verdicts */
    const char **paraphrases;      /* storage for the findings' paraphrase lists: */
    size_t *paraphrase_lens;       /*   (rows) pointers and lengths */
    const char **texts;            /* storage for the rows' examples and the clusters' */
    size_t *lens;                  /*   strings: (n_texts) pointers and lengths */
    size_t n_texts;
    size_t *hist;                  /* storage for the rows' histograms: (plotted rows, 2, bins) */
    const char **plot_texts;       /* storage for the rows' examples of each side: */
    size_t *plot_lens;             /*   (plotted rows, 2, HR_REPORT_DETAIL_EXAMPLES) */
    /* owned: the rows' and clusters' texts point into these */
    hr_corpus *corpora[3];
    hr_hypothesis_pool *pool;
    char **strings;                /* (n_strings) copies: paths, goal, names */
    size_t n_strings;
};

/* A new, empty report of the kind; NULL when out of memory. */
hr_report *hr_report_new(hr_report_kind kind);

/* Appends a copy of s to the list (*strings, *n), which its owner frees;
 * returns the copy, NULL when s is NULL. *failed is set when out of memory. */
const char *hr_keep_string(char ***strings, size_t *n, const char *s, int *failed);
/* A copy of s that lives as long as r. */
#define hr_report_keep(r, s, failed) hr_keep_string(&(r)->strings, &(r)->n_strings, (s), (failed))

/* HR_ERR_NOMEM with "out of memory" in err. */
hr_status hr_pipe_nomem(char *err, size_t errlen);

/* ---- events ---- */

void hr_pipe_event(const hr_events *ev, hr_event_kind kind, const char *fmt, ...) HR_PRINTF(3, 4);

/* Monotonic seconds. */
double hr_pipe_now(void);

/* ---- text for tables and JSON ---- */

/* Text for a table cell: control characters as spaces, cut at about width
 * bytes on a UTF-8 boundary with "..." after. out holds width + 4 bytes. */
void hr_text_cell(const char *s, size_t len, char *out, size_t width);
/* A p- or q-value for a table, 9 characters: "%9.2e", or "  <1e-300" for
 * values below 1e-300 (with a million samples the normal approximation
 * underflows to 0, which would read as a certainty). Returns out. */
const char *hr_p_text(double p, char out[16]);
/* Adds a number to a JSON object so that it reads back as the same double
 * (the shortest of 15, 16 or 17 significant digits that does); null for an
 * infinity or NaN, which JSON cannot hold. */
void hr_json_number(struct cJSON *o, const char *name, double v);
/* Adds [lo, hi], or null when either is NaN. */
void hr_json_ci(struct cJSON *o, const char *name, double lo, double hi);

/* ---- embeddings ---- */

/* Embeds n texts as new rows at the end of *m, which holds *rows rows of
 * width hr_embedder_dim(e) (or is NULL with *rows 0): *m grows by realloc
 * and the embedder writes straight into it (the first call of an embedder
 * that does not know its width yet embeds, then takes that matrix as *m).
 * On success *rows grows by n. */
hr_status hr_pipe_embed_rows(hr_embedder *e, float **m, size_t *rows, const char *const *texts,
                             const size_t *lens, size_t n, const char *label,
                             const hr_events *ev, char *err, size_t errlen);
/* (With n = 0 it only loads the embedder.) */

/* The similarities of b hypotheses hb: (b, dim) to the n rows of x: (n,
 * dim), a tile of at most HR_PIPE_TILE rows at a time, the tiles shared
 * among `workers` threads (a contiguous run each): fn(state, S, t0, nt)
 * for each tile of rows [t0, t0 + nt), S: (b, nt) row-major, with worker
 * w's state at (char *)states + w * state_size. The caller merges the
 * states; a merge that does not depend on how the tiles were shared gives
 * the same result on any number of workers. HR_ERR_NOMEM only. */
#define HR_PIPE_TILE 4096
typedef void (*hr_pipe_tile_fn)(void *state, const float *S, size_t t0, size_t nt);
hr_status hr_pipe_similarity_tiles(const float *hb, size_t b, const float *x, size_t n,
                                   size_t dim, int workers, hr_pipe_tile_fn fn, void *states,
                                   size_t state_size);

/* A running list of the k highest scores seen and their rows: score and
 * row (k), *have of them filled, highest first, equal scores by the
 * smaller row, whatever order they come in. Adds (s, r) if it belongs. */
void hr_top_keep(float *score, size_t *row, size_t *have, size_t k, float s, size_t r);

/* ---- findings (findings_step.c) ---- */

/* A share as the reports print it: a whole percent for the screen's
 * estimates (their calibration is good to a few points), and a counted
 * share (hr_effect.counted) to the texts: one decimal below 10%, two
 * below 1% ("4.0%", "0.04%"). */
const char *hr_pipe_share_text(const hr_effect *e, double share, char out[16]);

/* The effect and its 95% interval: "+0.28 [+0.14, +0.42]"; counted, three
 * decimals ("+0.023 [+0.020, +0.026]"). */
const char *hr_pipe_effect_text(const hr_effect *e, char out[64]);

/* The rank order of k candidates: order (k) the candidate of each rank:
 * findings first by |effect| (largest first), then the others by their
 * effect's p-value, then |effect|, then index. */
hr_status hr_pipe_rank_order(const hr_effect *e, const hr_finding *f, size_t k, size_t *order,
                             char *err, size_t errlen);

/* Candidates written `mentions "w"` (hr_mention_words) hold for a text
 * exactly when it contains w: the effects (k) of those among the k
 * candidates ht (k texts, hl their lengths) become the counts of the texts
 * they were scored on, A's ta: (n_a) and B's tb: (n_b) (la, lb: lengths,
 * or NULL), through hr_effect_set_counted. Before the q-values. */
hr_status hr_pipe_count_mentions(const char *const *ht, const size_t *hl, size_t k,
                                 const char *const *ta, const size_t *la, size_t n_a,
                                 const char *const *tb, const size_t *lb, size_t n_b,
                                 int n_threads, hr_effect *effects, char *err, size_t errlen);

/* Benjamini-Hochberg q-values of the AUROC tests of k candidates scored in
 * several scorer calls, over all of them. */
hr_status hr_pipe_auroc_qvalues(hr_hypothesis_score *s, size_t k, char *err, size_t errlen);

/* Which ranks the table shows (hyporank/report.h): shown (k) by rank.
 * order as above. top: rows shown per direction (describe); per_direction
 * 0: the first top ranks (rank; top 0: all). */
void hr_pipe_shown(const hr_effect *e, const hr_finding *f, const size_t *order, size_t k,
                   size_t top, int per_direction, uint8_t *shown);

/* The findings fields of the report's rows, which are in rank order
 * (order as above): effect, direction, significant, finding, explained_by,
 * paraphrase lists (the report keeps them), shown, and info's counts. */
hr_status hr_pipe_report_findings(hr_report *rep, const size_t *order, const hr_effect *e,
                                  const hr_finding *f, double alpha, const uint8_t *shown,
                                  char *err, size_t errlen);

/* ---- the LLM's outcome (llm_outcome.c) ---- */

/* What a run's LLM work came to, counted along. */
typedef struct hr_pipe_llm_outcome {
    hr_status stop;          /* HR_OK, or the status that stopped a batch (the run went on) */
    size_t rounds;           /* proposal rounds asked for */
    size_t rounds_usable;    /* of which answered and read */
    size_t verdicts;         /* verdicts asked of the judge */
    size_t verdicts_given;
} hr_pipe_llm_outcome;

/* The client settings of a run: endpoint, model, cache file (NULL: none),
 * per-request timeout and deadline (0: none); lines about long waits and
 * retries go to ev as INFO events (ev must outlive the client). */
void hr_pipe_llm_options(hr_remote_options *ro, const char *url, const char *model,
                         const char *cache_path, double timeout_s, double deadline_s,
                         const hr_events *ev);

/* Whether st, returned by an LLM batch, is the endpoint's failure, which the
 * run outlives offline (HR_ERR_INPUT: the URL, key or model refused, or no
 * connection; HR_ERR_IO: errors, no reply, the deadline): then it is
 * recorded in out (the first one stays) and 1 is returned. 0 for HR_OK and
 * for the program's own failures (memory, the cache), which stop the run. */
int hr_pipe_llm_survive(hr_pipe_llm_outcome *out, hr_status st);

/* One line on the LLM's outcome for the table and the Markdown ("failed:
 * not one usable answer (0 of 3 proposal rounds, 0 of 40 verdicts); the last
 * error: ..."); "" when it is HR_LLM_OK. */
void hr_pipe_llm_outcome_text(const hr_report_info *in, char *buf, size_t len);

/* Fills rep's LLM outcome (hr_report_info: llm_state, llm_status,
 * llm_error from the client's last error, the counts). HR_ERR_NOMEM only. */
hr_status hr_pipe_llm_report(hr_report *rep, const hr_pipe_llm_outcome *out, const hr_llm *llm);

/* ---- the page's plots (report_plots.c) ---- */

/* The texts of one side as rows of an embedding matrix. */
typedef struct hr_pipe_side_rows {
    const float *x;            /* (n, dim) row-major */
    size_t n;
    const char *const *texts;  /* (n) the text of each row; NULL: not known */
    const size_t *lens;        /* (n) */
} hr_pipe_side_rows;

/* The histograms and examples of the report's rows (hyporank/report.h:
 * n_bins ... examples_b) for the first HR_REPORT_DETAIL_ROWS rows shown,
 * from the similarities h . x of the row's hypothesis, H + h_row[r] * dim
 * for the row of rank r + 1 (H: (*, dim) row-major, h_row: (n_rows)), on
 * the texts its effect was computed on: sides[0] (A) and sides[1] (B), or
 * held[0], held[1] where held_rows[r] is 1 (held and held_rows may be
 * NULL). Memory: O(block x tile) whatever the number of texts; two passes
 * over them (the range, then the bins and examples), their tiles shared
 * among hr_similarities_workers(n_threads) threads. */
hr_status hr_pipe_report_plots(hr_report *rep, const float *H, size_t dim, const size_t *h_row,
                               const hr_pipe_side_rows sides[2], const hr_pipe_side_rows *held,
                               const uint8_t *held_rows, int n_threads, char *err,
                               size_t errlen);

/* ---- candidates ---- */

/* Adds the hypotheses of path (.txt or .jsonl, field "text") to the pool as
 * the caller's; *corpus keeps the file (the pool copies the texts). An error
 * names the file and line. */
hr_status hr_pipe_add_user_hypotheses(hr_hypothesis_pool *pool, const char *path,
                                      hr_corpus **corpus, char *err, size_t errlen);

#endif
