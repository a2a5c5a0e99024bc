/* host/pipeline/report_plots.c: the histograms and examples of the rows the
 * HTML page plots (host/pipeline/pipeline.h, hyporank/report.h). */
#include "pipeline/pipeline.h"
#include "scoring/score_methods.h"

#include <float.h>
#include <stdlib.h>
#include <string.h>

#define PLOT_BLOCK HR_REPORT_DETAIL_ROWS /* hypotheses per matrix product: all in one */
#define PLOT_TILE 4096 /* texts per matrix product: S is (40, 4096) floats, 640 KiB */
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

/* Streams the texts of both sides past the rows *p[0..b) (hypotheses hb:
 * (b, dim)): pass 1 finds each row's range, pass 2 fills its bins and best
 * texts. S: (b, PLOT_TILE) scratch. */
static void stream(plot_row *const *p, size_t b, const float *hb, size_t dim,
                   const hr_pipe_side_rows sides[2], int pass, float *S)
{
    for (int side = 0; side < 2; side++) {
        const hr_pipe_side_rows *sr = &sides[side];
        for (size_t t0 = 0; t0 < sr->n; t0 += PLOT_TILE) {
            const size_t nt = sr->n - t0 < PLOT_TILE ? sr->n - t0 : PLOT_TILE;
            hr_similarities(hb, b, sr->x + t0 * dim, nt, (int)dim, S); /* S: (b, nt) */
            for (size_t j = 0; j < b; j++) {
                const float *s = S + j * nt;
                plot_row *q = p[j];
                if (pass == 1) {
                    for (size_t i = 0; i < nt; i++) {
                        if (s[i] < q->lo) q->lo = s[i];
                        if (s[i] > q->hi) q->hi = s[i];
                    }
                    continue;
                }
                const double scale = HR_REPORT_BINS / (q->hi - q->lo);
                for (size_t i = 0; i < nt; i++) {
                    const double at = ((double)s[i] - q->lo) * scale;
                    const size_t bin = at <= 0 ? 0 : (at >= HR_REPORT_BINS ? HR_REPORT_BINS - 1
                                                                           : (size_t)at);
                    q->hist[side][bin]++;
                    if (sr->texts)
                        hr_top_keep(q->best_s[side], q->best_i[side], &q->n_best[side], EXAMPLES,
                                    s[i], t0 + i);
                }
            }
        }
    }
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
                               const uint8_t *held_rows, char *err, size_t errlen)
{
    size_t m = 0; /* rows plotted */
    for (size_t r = 0; r < rep->n_rows && m < HR_REPORT_DETAIL_ROWS; r++) m += rep->rows[r].shown != 0;
    if (m == 0) return HR_OK;
    plot_row *p = calloc(m, sizeof *p);
    float *hb = malloc(PLOT_BLOCK * dim * sizeof *hb);      /* (block, dim) */
    float *S = malloc(PLOT_BLOCK * PLOT_TILE * sizeof *S);  /* (block, tile) */
    rep->hist = calloc(m * 2 * HR_REPORT_BINS, sizeof *rep->hist);
    rep->plot_texts = calloc(m * 2 * EXAMPLES, sizeof *rep->plot_texts);
    rep->plot_lens = calloc(m * 2 * EXAMPLES, sizeof *rep->plot_lens);
    if (!p || !hb || !S || !rep->hist || !rep->plot_texts || !rep->plot_lens) {
        free(p), free(hb), free(S);
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
            stream(block, b, hb, dim, sv, 1, S);
            for (size_t q = 0; q < b; q++)
                if (!(block[q]->hi - block[q]->lo > 1e-6)) block[q]->lo -= 1e-3, block[q]->hi += 1e-3;
            stream(block, b, hb, dim, sv, 2, S);
            for (size_t q = 0; q < b; q++) fill_row(rep, block[q], (size_t)(block[q] - p), sv);
        }
    }
    free(p), free(hb), free(S);
    return HR_OK;
}
