/* host/pipeline/report_plots.c: the histograms and examples of the rows the
 * HTML page plots (host/pipeline/pipeline.h, hyporank/report.h). */
#include "pipeline/pipeline.h"
#include "core/threads.h"
#include "scoring/score_methods.h"

#include <float.h>
#include <stdlib.h>
#include <string.h>

#define PLOT_BLOCK HR_REPORT_DETAIL_ROWS /* hypotheses per matrix product: all in one */
#define EXAMPLES HR_REPORT_DETAIL_EXAMPLES

/* One plotted row while its texts stream past. */
typedef struct plot_row {
    size_t r;                  /* its index in rep->rows */
    const float *h;            /* (dim) its hypothesis */
    double lo, hi;             /* the range of its similarity (pass 1), then the bins' */
    size_t *hist[2];           /* (HR_REPORT_BINS) A's, B's: into rep->hist */
    float best_s[2][EXAMPLES]; /* each side's highest similarities, highest first */
    size_t best_i[2][EXAMPLES];/* their rows */
    size_t n_best[2];
} plot_row;

/* One worker's share of a pass over one side's texts, for the rows being
 * plotted (at most PLOT_BLOCK): pass 1 their ranges, pass 2 their bins and
 * best texts. Merged into the rows in worker order (min, max, sums, and
 * the top lists, whose order does not depend on how rows came). */
typedef struct plot_part {
    plot_row *const *p;
    size_t b;
    int pass, keep_texts;
    double lo[PLOT_BLOCK], hi[PLOT_BLOCK];
    size_t hist[PLOT_BLOCK][HR_REPORT_BINS];
    float best_s[PLOT_BLOCK][EXAMPLES];
    size_t best_i[PLOT_BLOCK][EXAMPLES], n_best[PLOT_BLOCK];
} plot_part;

static void plot_tile(void *state, const float *S, size_t t0, size_t nt)
{
    plot_part *w = state;
    for (size_t j = 0; j < w->b; j++) {
        const float *s = S + j * nt;
        if (w->pass == 1) {
            for (size_t i = 0; i < nt; i++) {
                if (s[i] < w->lo[j]) w->lo[j] = s[i];
                if (s[i] > w->hi[j]) w->hi[j] = s[i];
            }
            continue;
        }
        const plot_row *q = w->p[j];
        const double scale = HR_REPORT_BINS / (q->hi - q->lo);
        for (size_t i = 0; i < nt; i++) {
            const double at = ((double)s[i] - q->lo) * scale;
            const size_t bin = at <= 0 ? 0 : (at >= HR_REPORT_BINS ? HR_REPORT_BINS - 1
                                                                   : (size_t)at);
            w->hist[j][bin]++;
            if (w->keep_texts)
                hr_top_keep(w->best_s[j], w->best_i[j], &w->n_best[j], EXAMPLES, s[i], t0 + i);
        }
    }
}

/* Streams the texts of both sides past the rows *p[0..b) (hypotheses hb:
 * (b, dim)): pass 1 finds each row's range, pass 2 fills its bins and best
 * texts on `workers` (<= HR_MAX_WORKERS) threads. parts: (workers) scratch. */
static hr_status stream(plot_row *const *p, size_t b, const float *hb, size_t dim,
                        const hr_pipe_side_rows sides[2], int pass, int workers, plot_part *parts)
{
    for (int side = 0; side < 2; side++) {
        const hr_pipe_side_rows *sr = &sides[side];
        for (int t = 0; t < workers; t++) {
            plot_part *w = &parts[t];
            w->p = p, w->b = b, w->pass = pass, w->keep_texts = sr->texts != NULL;
            for (size_t j = 0; j < b; j++) w->lo[j] = DBL_MAX, w->hi[j] = -DBL_MAX, w->n_best[j] = 0;
            memset(w->hist, 0, sizeof w->hist);
        }
        if (hr_pipe_similarity_tiles(hb, b, sr->x, sr->n, dim, workers, plot_tile, parts,
                                     sizeof *parts) != HR_OK)
            return HR_ERR_NOMEM;
        for (int t = 0; t < workers; t++) {
            const plot_part *w = &parts[t];
            for (size_t j = 0; j < b; j++) {
                plot_row *q = p[j];
                if (pass == 1) {
                    if (w->lo[j] < q->lo) q->lo = w->lo[j];
                    if (w->hi[j] > q->hi) q->hi = w->hi[j];
                    continue;
                }
                for (size_t bin = 0; bin < HR_REPORT_BINS; bin++) q->hist[side][bin] += w->hist[j][bin];
                for (size_t e = 0; e < w->n_best[j]; e++)
                    hr_top_keep(q->best_s[side], q->best_i[side], &q->n_best[side], EXAMPLES,
                                w->best_s[j][e], w->best_i[j][e]);
            }
        }
    }
    return HR_OK;
}

/* The row's fields from p, the at-th plotted row, whose texts are sv's. */
static void fill_row(hr_report *rep, const plot_row *p, size_t at, const hr_pipe_side_rows *sv)
{
    hr_report_row *row = &rep->rows[p->r];
    row->n_bins = HR_REPORT_BINS;
    row->bins_lo = p->lo;
    row->bins_hi = p->hi;
    row->hist_a = p->hist[0];
    row->hist_b = p->hist[1];
    for (int side = 0; side < 2; side++) {
        const char **tx = rep->plot_texts + (2 * at + side) * EXAMPLES;
        size_t *ln = rep->plot_lens + (2 * at + side) * EXAMPLES;
        for (size_t e = 0; e < p->n_best[side]; e++) {
            tx[e] = sv[side].texts[p->best_i[side][e]];
            ln[e] = sv[side].lens[p->best_i[side][e]];
        }
        if (side == 0) {
            row->n_examples_a = p->n_best[0];
            row->examples_a = tx;
            row->example_lens_a = ln;
        } else {
            row->n_examples_b = p->n_best[1];
            row->examples_b = tx;
            row->example_lens_b = ln;
        }
    }
}

hr_status hr_pipe_report_plots(hr_report *rep, const float *H, size_t dim, const size_t *h_row,
                               const hr_pipe_side_rows sides[2], const hr_pipe_side_rows *held,
                               const uint8_t *held_rows, int n_threads, char *err,
                               size_t errlen)
{
    size_t m = 0; /* rows plotted */
    for (size_t r = 0; r < rep->n_rows && m < HR_REPORT_DETAIL_ROWS; r++) m += rep->rows[r].shown != 0;
    if (m == 0) return HR_OK;
    plot_row *p = calloc(m, sizeof *p);
    float *hb = malloc(PLOT_BLOCK * dim * sizeof *hb);      /* (block, dim) */
    plot_part *parts = malloc(HR_MAX_WORKERS * sizeof *parts);
    const int workers = hr_similarities_workers(n_threads);
    rep->hist = calloc(m * 2 * HR_REPORT_BINS, sizeof *rep->hist);
    rep->plot_texts = calloc(m * 2 * EXAMPLES, sizeof *rep->plot_texts);
    rep->plot_lens = calloc(m * 2 * EXAMPLES, sizeof *rep->plot_lens);
    if (!p || !hb || !parts || !rep->hist || !rep->plot_texts || !rep->plot_lens) {
        free(p), free(hb), free(parts);
        return hr_pipe_nomem(err, errlen);
    }
    for (size_t r = 0, j = 0; j < m; r++) {
        if (!rep->rows[r].shown) continue;
        p[j].r = r;
        p[j].h = H + h_row[r] * dim;
        p[j].hist[0] = rep->hist + (2 * j) * HR_REPORT_BINS;
        p[j].hist[1] = rep->hist + (2 * j + 1) * HR_REPORT_BINS;
        j++;
    }
    /* The rows scored on all texts (view 0), then those on the held-out part
     * (view 1), each in blocks of PLOT_BLOCK. */
    plot_row *block[PLOT_BLOCK];
    for (int view = 0; view < 2; view++) {
        const hr_pipe_side_rows *sv = view ? held : sides;
        if (!sv) continue;
        size_t j = 0;
        while (j < m) {
            size_t b = 0;
            for (; j < m && b < PLOT_BLOCK; j++) {
                const int on_held = held && held_rows && held_rows[p[j].r];
                if (on_held != view) continue;
                block[b] = &p[j];
                memcpy(hb + b * dim, p[j].h, dim * sizeof *hb);
                b++;
            }
            if (b == 0) break;
            for (size_t q = 0; q < b; q++) block[q]->lo = DBL_MAX, block[q]->hi = -DBL_MAX;
            if (stream(block, b, hb, dim, sv, 1, workers, parts) != HR_OK) goto nomem;
            for (size_t q = 0; q < b; q++)
                if (!(block[q]->hi - block[q]->lo > 1e-6)) block[q]->lo -= 1e-3, block[q]->hi += 1e-3;
            if (stream(block, b, hb, dim, sv, 2, workers, parts) != HR_OK) goto nomem;
            for (size_t q = 0; q < b; q++) fill_row(rep, block[q], (size_t)(block[q] - p), sv);
        }
    }
    free(p), free(hb), free(parts);
    return HR_OK;
nomem:
    free(p), free(hb), free(parts);
    return hr_pipe_nomem(err, errlen);
}
