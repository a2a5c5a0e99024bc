/*
 * hyporank/geometry.h: the embedding-geometry proposer. It clusters the texts
 * that a linear probe finds most typical of A (and of B), offers the pool's
 * candidates nearest to each cluster, and adds each cluster's own n-grams to
 * the pool.
 *
 * Why: the probe's most typical texts of a side are often several distinct
 * themes at once (A = "sport" and "weather"); one n-gram contrast of all of A
 * against all of B mixes them, and the rarer theme's words drown. Clustering
 * first gives each theme its own contrast and its own nearest hypotheses.
 *
 *     hr_geometry_options o = hr_geometry_default_options();
 *     hr_geometry_report *r;
 *     // emb_a: (n_a, d) row-major float32; dec_a: (n_a) probe decision values
 *     // (higher = more like A); the same for B. cand_emb: (k, d), the
 *     // embeddings of the pool's first k entries, in pool order.
 *     hr_geometry_propose(emb_a, dec_a, (const char *const *)a->texts, a->lens, a->n,
 *                         emb_b, dec_b, (const char *const *)b->texts, b->lens, b->n,
 *                         d, pool, cand_emb, k, &o, &r, err, sizeof err);
 *     for (size_t i = 0; i < r->n_offers; i++) {
 *         const hr_geometry_offer *f = &r->offers[i];
 *         const hr_geometry_cluster *c = &r->clusters[f->cluster];
 *         printf("%s  (near cluster %zu of %c)\n", hr_pool_get(pool, f->pool_index)->text,
 *                c->index + 1, c->side);
 *     }
 *     // entries from k on are the new n-grams: embed them before scoring
 *     hr_geometry_report_destroy(r);
 *
 * Spherical k-means (hr_kmeans)
 *
 *   The rows are sentence embeddings, compared by cosine. hr_kmeans therefore
 *   works on the unit sphere: each row is taken divided by its L2 norm (no
 *   copy is made: the norms are kept), a row joins the centroid with the
 *   largest dot product (the largest cosine; ties to the lowest cluster
 *   index), and a centroid is the sum of its rows, renormalised to unit
 *   length (the mean direction: the point of the sphere that maximises the
 *   summed cosine of its rows). The objective it lowers is
 *   sum_i (1 - cos(x_i, c_assign(i))). Rows that are already unit length
 *   (embeddings from a normalising model) are used as they are.
 *
 *   Seeding: k-means++ (Arthur & Vassilvitskii, 2007) with the cosine
 *   distance 1 - cos: the first centre is a row drawn uniformly, each next
 *   one a row drawn with probability proportional to the square of its
 *   distance to the nearest centre so far. The draws come from a splitmix64
 *   stream started at seed, so a seed gives the same clustering, bit for
 *   bit, on every machine (the arithmetic is plain C in double, in a fixed
 *   order). When every remaining row is at distance 0 from a centre (fewer
 *   distinct directions than clusters), the next centre is the first row not
 *   yet chosen.
 *
 *   Lloyd iterations: assign every row, stop when no assignment changed (or
 *   after max_iter iterations), else recompute the centroids. A cluster that
 *   is left empty is re-seeded: it takes the row that is farthest (smallest
 *   cosine) from its own centroid, among the clusters of two rows or more
 *   (ties to the lowest row), and the centroids are recomputed. The
 *   assignment and centroids returned always agree: every row is in the
 *   cluster of its nearest returned centroid (the last iteration, when
 *   max_iter runs out, assigns and does not move the centroids). When it
 *   converged, each centroid is also its cluster's mean direction and no
 *   cluster is empty unless the rows have fewer distinct directions than
 *   clusters (info->empty).
 *
 *   c > n: only n clusters are made (info->clusters); rows n..c-1 of
 *   centroids are set to 0.
 *
 * Typical texts: a side's top quantile by decision value, ceil(q n) texts
 * (with a relative tolerance of 1e-9, so that 0.2 x 100 is 20), at least 1:
 * A's highest decision values, B's lowest; ties in decision value by the
 * lower row. Each side's typical texts are clustered into
 * min(clusters, texts) clusters; the clusters of a side are numbered by size,
 * largest first (ties by their lowest row).
 *
 * For each cluster:
 *   offers  the pool's first k entries (those with embeddings), the
 *           `offers` nearest to the centroid by cosine (ties to the lower pool
 *           index). They are not added again; the report names them so the
 *           caller can say "near cluster 2 of A".
 *   n-grams hr_ngram_contrast of the cluster's texts against ALL of the other
 *           side's texts given here (options->ngram), and the ngram.top_k
 *           n-grams with the largest z >= ngram.min_z (those typical of the
 *           cluster) are added with hr_pool_add as `mentions "w"`, source
 *           HR_SOURCE_NGRAM, note
 *             `cluster 2 of A (37 texts): ngram "w" z=+5.10 in 30/37, B:12/2000`
 *           The cluster number in notes counts from 1 (report index + 1); z
 *           is written as the pool's other n-grams write it, positive for A
 *           (so a cluster of B has a negative z). A duplicate of an entry
 *           already there is not added (the first one keeps its note).
 *           Entries added through hr_pool_add carry direction 0 and z 0 in
 *           hr_pool_entry; the side is in the note and in the report.
 *
 * Determinism: the same inputs and seed give the same report and the same
 * pool. Side A is clustered with a seed derived from seed, side B with
 * another.
 *
 * Ownership: inputs are borrowed for the call. The report is the caller's,
 * freed with hr_geometry_report_destroy. The pool gets the new entries at
 * its end (indices k.. when k was its size); it must not be used from
 * another thread during the call.
 *
 * Errors (HR_ERR_INPUT): n (either side) of 0, d <= 0, c of 0, max_iter < 1,
 * a NaN or infinite value, a row (or candidate embedding) of norm 0,
 * quantile outside (0, 1], clusters of 0, k greater than the pool size, a
 * NULL text, a bad n-gram option.
 */
#ifndef HYPORANK_GEOMETRY_H
#define HYPORANK_GEOMETRY_H

#include "hyporank/proposers.h"
#include "hyporank/status.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Spherical k-means                                                         */

typedef struct hr_kmeans_info {
    size_t clusters;  /* clusters made: min(c, n) */
    int iterations;   /* Lloyd iterations run (assignment steps) */
    int converged;    /* 1: the last iteration changed no assignment */
    size_t reseeded;  /* empty clusters re-seeded, over all iterations */
    size_t empty;     /* clusters empty at the end (only when there are fewer
                         distinct directions than clusters) */
    double objective; /* sum_i (1 - cos(x_i, c_assign(i))) at the end */
} hr_kmeans_info;

/* Clusters the rows of X on the unit sphere (see the top of this file).
 * X: (n, d) row-major float32, no row of norm 0. c: clusters wanted (>= 1;
 * c > n gives n). init: NULL for k-means++ seeding, or (c, d) row-major
 * starting centroids (normalised here; only the first min(c, n) are used).
 * assign: (n) out, the cluster of each row, in [0, min(c, n)). centroids:
 * (c, d) row-major out, unit-length rows (rows min(c, n).. set to 0).
 * info may be NULL. */
hr_status hr_kmeans(const float *X, size_t n, int d, size_t c, uint64_t seed, int max_iter,
                    const float *init, int32_t *assign, float *centroids, hr_kmeans_info *info,
                    char *err, size_t errlen);

/* ------------------------------------------------------------------------ */
/* The geometry proposer                                                     */

typedef struct hr_geometry_options {
    double quantile;        /* share of each side's texts taken as typical, (0, 1] (0.2) */
    size_t clusters;        /* clusters per side, >= 1 (4) */
    size_t offers;          /* pool candidates offered per cluster (5); 0: none */
    hr_ngram_options ngram; /* the contrast of a cluster against the other side; its
                               top_k is the n-grams added per cluster (3), min_z the
                               smallest z (1.96), min_count, max_n, alpha0 as usual */
    uint64_t seed;          /* k-means seed (0) */
    int max_iter;           /* k-means iterations at most (100) */
} hr_geometry_options;

hr_geometry_options hr_geometry_default_options(void);

/* One pool candidate offered for one cluster. */
typedef struct hr_geometry_offer {
    size_t pool_index; /* the entry in the pool (< k) */
    size_t cluster;    /* index into hr_geometry_report.clusters */
    double cosine;     /* its cosine to the cluster's centroid */
} hr_geometry_offer;

/* One cluster of one side's typical texts. */
typedef struct hr_geometry_cluster {
    char side;            /* 'A' or 'B' */
    size_t index;         /* its number within the side, from 0 (largest first) */
    size_t size;          /* texts in it */
    const size_t *members; /* (size) rows of the side's inputs, nearest to the
                              centroid first (ties by row) */
    size_t first_offer;   /* its offers: offers[first_offer .. first_offer + n_offers) */
    size_t n_offers;
    size_t ngrams_added;  /* n-grams of this cluster that were new to the pool */
    double mean_cosine;   /* mean cosine of its texts to its centroid */
} hr_geometry_cluster;

typedef struct hr_geometry_report {
    size_t typical_a, typical_b; /* typical texts taken from each side */
    size_t n_clusters;           /* A's clusters, then B's */
    hr_geometry_cluster *clusters; /* (n_clusters) */
    size_t n_offers;
    hr_geometry_offer *offers;   /* (n_offers), by cluster, nearest first */
    size_t added;                /* n-gram entries new to the pool, all clusters */
    size_t *members_;            /* private storage of every cluster's members */
} hr_geometry_report;

/* Runs the proposer (see the top of this file). emb_a: (n_a, d) row-major
 * float32; dec_a: (n_a) decision values; texts_a: (n_a) texts, lens_a: (n_a)
 * byte lengths or NULL for NUL-terminated texts; the same for B. cand_emb:
 * (k, d) row-major float32, the embeddings of pool entries 0..k-1 (may be
 * NULL when k is 0). opt may be NULL for the defaults. On success *out owns
 * the report. On an error *out is NULL, and n-grams added before it stay in
 * the pool. */
hr_status hr_geometry_propose(const float *emb_a, const double *dec_a,
                              const char *const *texts_a, const size_t *lens_a, size_t n_a,
                              const float *emb_b, const double *dec_b,
                              const char *const *texts_b, const size_t *lens_b, size_t n_b,
                              int d, hr_hypothesis_pool *pool, const float *cand_emb, size_t k,
                              const hr_geometry_options *opt, hr_geometry_report **out,
                              char *err, size_t errlen);
void hr_geometry_report_destroy(hr_geometry_report *r); /* accepts NULL */

#ifdef __cplusplus
}
#endif

#endif
