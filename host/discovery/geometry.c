/*
 * host/discovery/geometry.c: spherical k-means and the embedding-geometry proposer
 * (hyporank/geometry.h has the method and its choices).
 *
 * k-means keeps its centroids in double, (c, d) row-major, unit length, and
 * the rows' inverse L2 norms (n) instead of a normalised copy of X, so the
 * cosine of row i and centroid j is dot(x_i, c_j) * inv_norm_i. Every loop
 * runs in a fixed order in plain C, so a seed gives the same bits anywhere.
 * The cost is O(n c d) a Lloyd iteration and for the seeding; the proposer
 * clusters only the typical texts (a fifth of a side by default) into a few
 * clusters, which is far cheaper than the n-gram contrasts that follow.
 */
#include "hyporank/geometry.h"
#include "core/random.h"
#include "core/threads.h"
#include "core/util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Small helpers                                                              */


/* dot(x, c): x (d) float32, c (d) double. */
static double dot_fd(const float *x, const double *c, int d)
{
    double s = 0.0;
    for (int j = 0; j < d; j++) s += (double)x[j] * c[j];
    return s;
}

/* Inverse L2 norms of the (n, d) rows of X into inv (n); HR_ERR_INPUT for a
 * NaN or infinite value or a row of norm 0. what names the rows in errors. */
static hr_status inverse_norms(const float *X, size_t n, int d, double *inv, const char *what,
                               char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        const float *x = X + i * (size_t)d;
        double s = 0.0;
        for (int j = 0; j < d; j++) {
            if (!isfinite(x[j]))
                return hr_fail(HR_ERR_INPUT, err, errlen, "%s row %zu: value %d is not finite",
                               what, i, j);
            s += (double)x[j] * x[j];
        }
        if (!(s > 0.0))
            return hr_fail(HR_ERR_INPUT, err, errlen,
                           "%s row %zu has norm 0 (no direction to compare by cosine)", what, i);
        inv[i] = 1.0 / sqrt(s);
    }
    return HR_OK;
}

/* Scales c (d) to unit length; returns 0 (c unchanged) when its norm is 0. */
static int normalise(double *c, int d)
{
    double s = 0.0;
    for (int j = 0; j < d; j++) s += c[j] * c[j];
    if (!(s > 0.0)) return 0;
    double r = 1.0 / sqrt(s);
    for (int j = 0; j < d; j++) c[j] *= r;
    return 1;
}

/* ------------------------------------------------------------------------ */
/* Spherical k-means                                                          */

typedef struct km {
    const float *X;     /* (n, d) row-major, borrowed */
    const double *inv;  /* (n) inverse row norms */
    size_t n, c;        /* rows; clusters made (min(c, n)) */
    int d;
    int32_t *assign;    /* (n) */
    double *cen;        /* (c, d) row-major, unit rows */
    double *sums;       /* (d) scratch */
    size_t *counts;     /* (c) rows per cluster */
    double *sim;        /* (n) scratch: cosines */
} km;

/* k-means++ seeding with the distance 1 - cos (see the header). */
static void km_seed(km *k, uint64_t seed, uint8_t *chosen /* (n) */)
{
    uint64_t s = seed;
    int d = k->d;
    double *mind = k->sim; /* (n) distance to the nearest centre so far */
    size_t pick = (size_t)(hr_random_uniform(&s) * (double)k->n);
    if (pick >= k->n) pick = k->n - 1;
    for (size_t j = 0;; j++) {
        const float *x = k->X + pick * (size_t)d;
        double *c = k->cen + j * (size_t)d;
        for (int t = 0; t < d; t++) c[t] = (double)x[t] * k->inv[pick];
        chosen[pick] = 1;
        for (size_t i = 0; i < k->n; i++) {
            double dist = chosen[i] ? 0.0 : 1.0 - dot_fd(k->X + i * (size_t)d, c, d) * k->inv[i];
            if (dist < 0.0) dist = 0.0;
            if (j == 0 || dist < mind[i]) mind[i] = dist;
        }
        if (j + 1 == k->c) break;
        double total = 0.0;
        for (size_t i = 0; i < k->n; i++) total += mind[i] * mind[i];
        pick = k->n;
        if (total > 0.0) {
            double r = hr_random_uniform(&s) * total, cum = 0.0;
            size_t last = k->n;
            for (size_t i = 0; i < k->n; i++) {
                if (mind[i] <= 0.0) continue;
                last = i;
                cum += mind[i] * mind[i];
                if (cum > r) {
                    pick = i;
                    break;
                }
            }
            if (pick == k->n) pick = last; /* rounding left r at the very end */
        }
        if (pick == k->n) /* every row sits on a centre: the first not chosen */
            for (size_t i = 0; i < k->n && pick == k->n; i++)
                if (!chosen[i]) pick = i;
    }
}

/* Assigns every row to its nearest centroid (ties to the lowest index);
 * returns how many assignments changed. sim[i] receives row i's cosine. */
static size_t km_assign(km *k)
{
    size_t changes = 0;
    for (size_t i = 0; i < k->n; i++) {
        const float *x = k->X + i * (size_t)k->d;
        int32_t best = 0;
        double bs = -INFINITY;
        for (size_t j = 0; j < k->c; j++) {
            double s = dot_fd(x, k->cen + j * (size_t)k->d, k->d) * k->inv[i];
            if (s > bs) {
                bs = s;
                best = (int32_t)j;
            }
        }
        if (k->assign[i] != best) changes++;
        k->assign[i] = best;
        k->sim[i] = bs;
    }
    return changes;
}

/* Recomputes the centroids of the current assignment (an empty cluster, or
 * one whose rows cancel out, keeps its centroid) and the counts. */
static void km_centroids(km *k)
{
    int d = k->d;
    memset(k->counts, 0, k->c * sizeof *k->counts);
    for (size_t i = 0; i < k->n; i++) k->counts[k->assign[i]]++;
    /* One cluster at a time, so the scratch is one row: O(n c d) in all, the
     * same order as an assignment step. */
    for (size_t j = 0; j < k->c; j++) {
        if (k->counts[j] == 0) continue;
        memset(k->sums, 0, (size_t)d * sizeof *k->sums);
        for (size_t i = 0; i < k->n; i++) {
            if ((size_t)k->assign[i] != j) continue;
            const float *x = k->X + i * (size_t)d;
            for (int t = 0; t < d; t++) k->sums[t] += (double)x[t] * k->inv[i];
        }
        if (normalise(k->sums, d)) memcpy(k->cen + j * (size_t)d, k->sums, (size_t)d * sizeof(double));
    }
}

/* The update step: centroids, then each empty cluster takes the row
 * farthest from its own centroid among clusters of two rows or more.
 * Returns the clusters re-seeded. */
static size_t km_update(km *k)
{
    km_centroids(k);
    size_t empty = 0;
    for (size_t j = 0; j < k->c; j++) empty += k->counts[j] == 0;
    if (empty == 0) return 0;
    int d = k->d;
    for (size_t i = 0; i < k->n; i++)
        k->sim[i] = dot_fd(k->X + i * (size_t)d, k->cen + (size_t)k->assign[i] * d, d) * k->inv[i];
    size_t moved = 0;
    for (size_t j = 0; j < k->c; j++) {
        if (k->counts[j] != 0) continue;
        size_t far = k->n;
        for (size_t i = 0; i < k->n; i++) {
            if (k->counts[k->assign[i]] < 2) continue;
            if (far == k->n || k->sim[i] < k->sim[far]) far = i;
        }
        if (far == k->n) break; /* every cluster has one row: nothing to give */
        k->counts[k->assign[far]]--;
        k->assign[far] = (int32_t)j;
        k->counts[j] = 1;
        k->sim[far] = INFINITY; /* never moved twice */
        moved++;
    }
    if (moved) km_centroids(k);
    return moved;
}

hr_status hr_kmeans(const float *X, size_t n, int d, size_t c, uint64_t seed, int max_iter,
                    const float *init, int32_t *assign, float *centroids, hr_kmeans_info *info,
                    char *err, size_t errlen)
{
    if (info) memset(info, 0, sizeof *info);
    if (n == 0) return hr_fail(HR_ERR_INPUT, err, errlen, "k-means: no rows (n = 0)");
    if (d <= 0) return hr_fail(HR_ERR_INPUT, err, errlen, "k-means: dimension %d, must be >= 1", d);
    if (c == 0) return hr_fail(HR_ERR_INPUT, err, errlen, "k-means: 0 clusters asked for");
    if (max_iter < 1)
        return hr_fail(HR_ERR_INPUT, err, errlen, "k-means: max_iter %d, must be >= 1", max_iter);
    if (!X || !assign || !centroids)
        return hr_fail(HR_ERR_INTERNAL, err, errlen, "hr_kmeans: X, assign or centroids is NULL");
    if (n > (size_t)INT32_MAX)
        return hr_fail(HR_ERR_INPUT, err, errlen, "k-means: %zu rows, at most %d", n, INT32_MAX);

    size_t ce = c < n ? c : n;
    km k = {.X = X, .n = n, .c = ce, .d = d, .assign = assign};
    double *inv = malloc(n * sizeof *inv);
    k.cen = calloc(ce * (size_t)d, sizeof *k.cen);
    k.sums = malloc((size_t)d * sizeof *k.sums);
    k.counts = calloc(ce, sizeof *k.counts);
    k.sim = malloc(n * sizeof *k.sim);
    uint8_t *chosen = calloc(n, 1);
    hr_status st = HR_OK;
    if (!inv || !k.cen || !k.sums || !k.counts || !k.sim || !chosen) {
        st = hr_fail(HR_ERR_NOMEM, err, errlen, "k-means: out of memory (%zu rows of %d)", n, d);
        goto done;
    }
    k.inv = inv;
    st = inverse_norms(X, n, d, inv, "k-means", err, errlen);
    if (st != HR_OK) goto done;

    if (init) {
        for (size_t j = 0; j < ce; j++) {
            double *cj = k.cen + j * (size_t)d;
            for (int t = 0; t < d; t++) {
                float v = init[j * (size_t)d + t];
                if (!isfinite(v)) {
                    st = hr_fail(HR_ERR_INPUT, err, errlen,
                                 "k-means: initial centroid %zu, value %d is not finite", j, t);
                    goto done;
                }
                cj[t] = v;
            }
            if (!normalise(cj, d)) {
                st = hr_fail(HR_ERR_INPUT, err, errlen, "k-means: initial centroid %zu has norm 0", j);
                goto done;
            }
        }
    } else {
        km_seed(&k, seed, chosen);
    }

    for (size_t i = 0; i < n; i++) assign[i] = -1;
    int it = 0, converged = 0;
    size_t reseeded = 0;
    while (it < max_iter) {
        it++;
        if (km_assign(&k) == 0) {
            converged = 1;
            break;
        }
        /* The last iteration keeps the centroids that the assignment is
         * nearest to, so the two returned always agree. */
        if (it < max_iter) reseeded += km_update(&k);
    }

    /* Final counts and objective, from the returned assignment. */
    double objective = 0.0;
    memset(k.counts, 0, ce * sizeof *k.counts);
    for (size_t i = 0; i < n; i++) {
        k.counts[assign[i]]++;
        objective += 1.0 - k.sim[i];
    }
    size_t empty = 0;
    for (size_t j = 0; j < ce; j++) empty += k.counts[j] == 0;
    for (size_t j = 0; j < c; j++)
        for (int t = 0; t < d; t++)
            centroids[j * (size_t)d + t] = j < ce ? (float)k.cen[j * (size_t)d + t] : 0.0f;
    if (info) {
        info->clusters = ce;
        info->iterations = it;
        info->converged = converged;
        info->reseeded = reseeded;
        info->empty = empty;
        info->objective = objective;
    }

done:
    free(inv);
    free(k.cen);
    free(k.sums);
    free(k.counts);
    free(k.sim);
    free(chosen);
    return st;
}

/* ------------------------------------------------------------------------ */
/* The geometry proposer                                                      */

hr_geometry_options hr_geometry_default_options(void)
{
    hr_geometry_options o;
    o.quantile = 0.2;
    o.clusters = 4;
    o.offers = 5;
    o.ngram = hr_ngram_default_options();
    o.ngram.top_k = 3;
    o.seed = 0;
    o.max_iter = 100;
    return o;
}

void hr_geometry_report_destroy(hr_geometry_report *r)
{
    if (!r) return;
    free(r->clusters);
    free(r->offers);
    free(r->members_);
    free(r);
}

/* A sort key: a value, then a row (both ascending). */
typedef struct keyed {
    double key;
    size_t row;
} keyed;

static int keyed_cmp(const void *pa, const void *pb)
{
    const keyed *a = pa, *b = pb;
    if (a->key < b->key) return -1;
    if (a->key > b->key) return 1;
    return (a->row > b->row) - (a->row < b->row);
}

/* One side's inputs. */
typedef struct side_in {
    char name;                 /* 'A' or 'B' */
    const float *emb;          /* (n, d) row-major */
    const double *dec;         /* (n) */
    const char *const *texts;  /* (n) */
    const size_t *lens;        /* (n) or NULL */
    size_t n;
} side_in;

/* Everything one call shares. */
typedef struct geo {
    const hr_geometry_options *o;
    int d;
    hr_hypothesis_pool *pool;
    const float *cand;     /* (k, d) row-major */
    const double *cand_inv; /* (k) inverse norms */
    size_t k;
    hr_geometry_report *r;
} geo;

/* How many typical texts a side of n gives: ceil(q n), relative tolerance
 * 1e-9, within [1, n]. */
static size_t typical_count(double q, size_t n)
{
    double x = q * (double)n;
    double m = ceil(x - 1e-9 * x);
    if (m < 1.0) m = 1.0;
    if (m > (double)n) m = (double)n;
    return (size_t)m;
}

/* One cluster's n-gram contrast against the other side's texts: its
 * inputs, then its table or the error that stopped it. Each is independent
 * of the others, so they run side by side (contrast_run); only adding
 * their words to the pool is done in cluster order. */
typedef struct cluster_contrast {
    const hr_ngram_options *no;
    const side_in *s, *other;
    const hr_geometry_cluster *cl;
    hr_ngram_table *t;
    hr_status st;
    char err[256];
} cluster_contrast;

static void *contrast_run(void *arg)
{
    cluster_contrast *c = arg;
    const side_in *s = c->s;
    const size_t n = c->cl->size;
    const char **texts = malloc((n ? n : 1) * sizeof *texts); /* (n) the cluster's texts */
    size_t *lens = s->lens ? malloc((n ? n : 1) * sizeof *lens) : NULL; /* (n) or NULL */
    if (!texts || (s->lens && !lens)) {
        c->st = hr_fail(HR_ERR_NOMEM, c->err, sizeof c->err, "geometry: out of memory");
    } else {
        for (size_t i = 0; i < n; i++) {
            texts[i] = s->texts[c->cl->members[i]];
            if (lens) lens[i] = s->lens[c->cl->members[i]];
        }
        c->st = hr_ngram_contrast(texts, lens, n, c->other->texts, c->other->lens, c->other->n,
                                  c->no, &c->t, c->err, sizeof c->err);
    }
    free(texts);
    free(lens);
    return NULL;
}

/* Adds cluster cl's top n-grams (table t, against side other) to the pool. */
static hr_status add_cluster_ngrams(geo *g, const side_in *s, const side_in *other,
                                    hr_geometry_cluster *cl, const hr_ngram_table *t, char *err,
                                    size_t errlen)
{
    const hr_ngram_options *no = &g->o->ngram;
    hr_status st = HR_OK;
    for (size_t i = 0; st == HR_OK && i < t->n && i < no->top_k; i++) {
        const hr_ngram_stat *ns = &t->stats[i];
        if (!(ns->z >= no->min_z && ns->z > 0)) break;
        const size_t cap = strlen(ns->gram) + 192;
        char *note = malloc(cap);
        if (!note) {
            st = hr_fail(HR_ERR_NOMEM, err, errlen, "geometry: out of memory");
            break;
        }
        /* z as the pool writes it: positive for A. */
        double z = s->name == 'A' ? ns->z : -ns->z;
        snprintf(note, cap, "cluster %zu of %c (%zu texts): ngram \"%s\" z=%+.2f in %zu/%zu, %c:%zu/%zu",
                 cl->index + 1, s->name, cl->size, ns->gram, z, ns->df_a, t->n_a, other->name,
                 ns->df_b, t->n_b);
        int added = 0;
        st = hr_pool_add_mention(g->pool, ns->gram, note, 0, 0.0, &added, err, errlen);
        free(note);
        cl->ngrams_added += (size_t)added;
        g->r->added += (size_t)added;
    }
    return st;
}

/* The clusters' n-grams: the clusters' contrasts side by side on the cores
 * (the n-gram options' n_threads of them at once, each counting on one),
 * then their words added to the pool in cluster order (A's clusters, then
 * B's, each largest first), so the pool is the same on any number of
 * cores. */
static hr_status clusters_ngrams(geo *g, const side_in *a, const side_in *b, char *err,
                                 size_t errlen)
{
    const size_t nc = g->r->n_clusters;
    if (g->o->ngram.top_k == 0 || nc == 0) return HR_OK;
    cluster_contrast *c = calloc(nc, sizeof *c);
    if (!c) return hr_fail(HR_ERR_NOMEM, err, errlen, "geometry: out of memory");
    hr_ngram_options no = g->o->ngram;
    no.n_threads = 1; /* the contrasts themselves take the cores */
    for (size_t i = 0; i < nc; i++) {
        const hr_geometry_cluster *cl = &g->r->clusters[i];
        c[i] = (cluster_contrast){.no = &no, .s = cl->side == 'A' ? a : b,
                                  .other = cl->side == 'A' ? b : a, .cl = cl};
    }
    const size_t workers = (size_t)hr_workers(g->o->ngram.n_threads);
    for (size_t i0 = 0; i0 < nc; i0 += workers) /* a round of one cluster a core */
        hr_run_workers(contrast_run, c + i0, sizeof *c, (int)(nc - i0 < workers ? nc - i0 : workers));
    hr_status st = HR_OK;
    for (size_t i = 0; i < nc; i++) {
        if (st == HR_OK && c[i].st != HR_OK) st = hr_fail(c[i].st, err, errlen, "%s", c[i].err);
        if (st == HR_OK)
            st = add_cluster_ngrams(g, c[i].s, c[i].other, &g->r->clusters[i], c[i].t, err, errlen);
        hr_ngram_table_destroy(c[i].t);
    }
    free(c);
    return st;
}

/* Offers the pool candidates nearest to centroid cen (d). */
static void cluster_offers(geo *g, const float *cen, size_t cluster_id, hr_geometry_cluster *cl)
{
    hr_geometry_report *r = g->r;
    size_t want = g->o->offers < g->k ? g->o->offers : g->k;
    cl->first_offer = r->n_offers;
    cl->n_offers = 0;
    if (want == 0) return;
    hr_geometry_offer *top = r->offers + r->n_offers; /* (want) kept sorted, nearest first */
    size_t have = 0;
    for (size_t q = 0; q < g->k; q++) {
        const float *e = g->cand + q * (size_t)g->d;
        double s = 0.0;
        for (int t = 0; t < g->d; t++) s += (double)cen[t] * e[t];
        s *= g->cand_inv[q];
        /* Insertion into the kept list; an equal cosine stays behind the
         * lower pool index already there. */
        if (have == want && !(s > top[have - 1].cosine)) continue;
        size_t pos = have < want ? have : want - 1;
        while (pos > 0 && s > top[pos - 1].cosine) {
            top[pos] = top[pos - 1];
            pos--;
        }
        top[pos] = (hr_geometry_offer){.pool_index = q, .cluster = cluster_id, .cosine = s};
        if (have < want) have++;
    }
    cl->n_offers = have;
    r->n_offers += have;
}

/* Clusters one side's typical texts and offers each cluster the
 * candidates nearest to it (its n-grams follow in clusters_ngrams).
 * members: storage for this side's (m) member rows. */
static hr_status run_side(geo *g, const side_in *s, uint64_t seed, size_t *members, char *err,
                          size_t errlen)
{
    const hr_geometry_options *o = g->o;
    int d = g->d;
    size_t m = typical_count(o->quantile, s->n);
    size_t ce = o->clusters < m ? o->clusters : m;
    keyed *order = malloc(s->n * sizeof *order);          /* (n) rows by typicality */
    float *sub = malloc(m * (size_t)d * sizeof *sub);     /* (m, d) the typical rows */
    int32_t *assign = malloc(m * sizeof *assign);         /* (m) */
    float *cen = malloc(ce * (size_t)d * sizeof *cen);    /* (ce, d) */
    keyed *byclu = malloc(ce * sizeof *byclu);            /* (ce) clusters by size */
    keyed *mem = malloc(m * sizeof *mem);                 /* (m) scratch for one cluster */
    size_t *size = calloc(ce, sizeof *size);              /* (ce) */
    size_t *low = malloc(ce * sizeof *low);               /* (ce) lowest row */
    hr_status st = HR_OK;
    if (!order || !sub || !assign || !cen || !byclu || !mem || !size || !low) {
        st = hr_fail(HR_ERR_NOMEM, err, errlen, "geometry: out of memory");
        goto done;
    }
    /* A: highest decision values first; B: lowest first; ties by row. */
    for (size_t i = 0; i < s->n; i++)
        order[i] = (keyed){.key = s->name == 'A' ? -s->dec[i] : s->dec[i], .row = i};
    qsort(order, s->n, sizeof *order, keyed_cmp);
    for (size_t t = 0; t < m; t++) {
        /* Checked here, so that an error names the side's own row. */
        double inv1;
        st = inverse_norms(s->emb + order[t].row * (size_t)d, 1, d, &inv1, "", NULL, 0);
        if (st != HR_OK) {
            st = hr_fail(st, err, errlen, "geometry: side %c embedding %zu is not finite or has norm 0",
                         s->name, order[t].row);
            goto done;
        }
        memcpy(sub + t * (size_t)d, s->emb + order[t].row * (size_t)d, (size_t)d * sizeof *sub);
    }
    if (s->name == 'A') g->r->typical_a = m;
    else g->r->typical_b = m;

    char detail[256];
    hr_kmeans_info info;
    st = hr_kmeans(sub, m, d, ce, seed, o->max_iter, NULL, assign, cen, &info, detail, sizeof detail);
    if (st != HR_OK) {
        st = hr_fail(st, err, errlen, "geometry, side %c: %s", s->name, detail);
        goto done;
    }
    for (size_t j = 0; j < ce; j++) low[j] = SIZE_MAX;
    for (size_t t = 0; t < m; t++) {
        size_t j = (size_t)assign[t];
        size[j]++;
        if (order[t].row < low[j]) low[j] = order[t].row;
    }
    /* Largest first, ties by the lowest row: key -size. */
    for (size_t j = 0; j < ce; j++) byclu[j] = (keyed){.key = -(double)size[j], .row = j};
    qsort(byclu, ce, sizeof *byclu, keyed_cmp);
    for (size_t a = 1; a < ce; a++) /* equal sizes: by lowest row (insertion, stable) */
        for (size_t b = a; b > 0 && byclu[b].key == byclu[b - 1].key &&
                           low[byclu[b].row] < low[byclu[b - 1].row];
             b--) {
            keyed tmp = byclu[b];
            byclu[b] = byclu[b - 1];
            byclu[b - 1] = tmp;
        }

    size_t used = 0;
    for (size_t rank = 0; rank < ce; rank++) {
        size_t j = byclu[rank].row;
        if (size[j] == 0) continue; /* only with fewer distinct directions than clusters */
        const float *cj = cen + j * (size_t)d;
        /* Members, nearest to the centroid first: key -cosine, then row. */
        size_t cnt = 0;
        double total = 0.0;
        for (size_t t = 0; t < m; t++) {
            if ((size_t)assign[t] != j) continue;
            const float *x = sub + t * (size_t)d;
            double dot = 0.0, nn = 0.0;
            for (int u = 0; u < d; u++) {
                dot += (double)x[u] * cj[u];
                nn += (double)x[u] * x[u];
            }
            double cs = dot / sqrt(nn); /* nn > 0: hr_kmeans checked */
            total += cs;
            mem[cnt++] = (keyed){.key = -cs, .row = order[t].row};
        }
        qsort(mem, cnt, sizeof *mem, keyed_cmp);
        for (size_t t = 0; t < cnt; t++) members[used + t] = mem[t].row;

        size_t id = g->r->n_clusters++;
        hr_geometry_cluster *cl = &g->r->clusters[id];
        *cl = (hr_geometry_cluster){.side = s->name, .index = rank, .size = cnt,
                                    .members = members + used, .mean_cosine = total / (double)cnt};
        used += cnt;
        cluster_offers(g, cj, id, cl);
    }

done:
    free(order);
    free(sub);
    free(assign);
    free(cen);
    free(byclu);
    free(mem);
    free(size);
    free(low);
    return st;
}

/* Checks one side's inputs. */
static hr_status check_side(const side_in *s, char *err, size_t errlen)
{
    if (s->n == 0) return hr_fail(HR_ERR_INPUT, err, errlen, "geometry: side %c has no texts", s->name);
    if (!s->emb || !s->dec || !s->texts)
        return hr_fail(HR_ERR_INTERNAL, err, errlen,
                       "hr_geometry_propose: side %c embeddings, decisions or texts NULL", s->name);
    for (size_t i = 0; i < s->n; i++) {
        if (!isfinite(s->dec[i]))
            return hr_fail(HR_ERR_INPUT, err, errlen,
                           "geometry: side %c text %zu: decision value is not finite", s->name, i);
        if (!s->texts[i])
            return hr_fail(HR_ERR_INPUT, err, errlen, "geometry: side %c text %zu is NULL", s->name, i);
    }
    return HR_OK;
}

hr_status hr_geometry_propose(const float *emb_a, const double *dec_a,
                              const char *const *texts_a, const size_t *lens_a, size_t n_a,
                              const float *emb_b, const double *dec_b,
                              const char *const *texts_b, const size_t *lens_b, size_t n_b,
                              int d, hr_hypothesis_pool *pool, const float *cand_emb, size_t k,
                              const hr_geometry_options *opt, hr_geometry_report **out,
                              char *err, size_t errlen)
{
    if (out) *out = NULL;
    if (!out || !pool)
        return hr_fail(HR_ERR_INTERNAL, err, errlen, "hr_geometry_propose: out or pool is NULL");
    hr_geometry_options o = opt ? *opt : hr_geometry_default_options();
    if (d <= 0) return hr_fail(HR_ERR_INPUT, err, errlen, "geometry: dimension %d, must be >= 1", d);
    if (!(o.quantile > 0.0 && o.quantile <= 1.0))
        return hr_fail(HR_ERR_INPUT, err, errlen, "geometry: quantile %g, must be in (0, 1]",
                       o.quantile);
    if (o.clusters == 0) return hr_fail(HR_ERR_INPUT, err, errlen, "geometry: 0 clusters per side");
    if (o.max_iter < 1)
        return hr_fail(HR_ERR_INPUT, err, errlen, "geometry: max_iter %d, must be >= 1", o.max_iter);
    if (k > hr_pool_size(pool))
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "geometry: %zu candidate embeddings for a pool of %zu entries", k,
                       hr_pool_size(pool));
    if (k > 0 && !cand_emb)
        return hr_fail(HR_ERR_INTERNAL, err, errlen, "hr_geometry_propose: cand_emb is NULL");
    side_in A = {'A', emb_a, dec_a, texts_a, lens_a, n_a};
    side_in B = {'B', emb_b, dec_b, texts_b, lens_b, n_b};
    hr_status st = check_side(&A, err, errlen);
    if (st == HR_OK) st = check_side(&B, err, errlen);
    if (st != HR_OK) return st;

    size_t ma = typical_count(o.quantile, n_a), mb = typical_count(o.quantile, n_b);
    size_t ca = o.clusters < ma ? o.clusters : ma, cb = o.clusters < mb ? o.clusters : mb;
    size_t per = o.offers < k ? o.offers : k;
    size_t max_offers = (ca + cb) * per; /* offers in all, at most */
    hr_geometry_report *r = calloc(1, sizeof *r);
    double *cand_inv = k ? malloc(k * sizeof *cand_inv) : NULL; /* (k) */
    if (r) {
        r->clusters = calloc(ca + cb, sizeof *r->clusters);
        r->offers = max_offers > 0 ? calloc(max_offers, sizeof *r->offers) : NULL;
        r->members_ = malloc((ma + mb) * sizeof *r->members_);
    }
    if (!r || !r->clusters || (max_offers > 0 && !r->offers) || !r->members_ || (k && !cand_inv)) {
        hr_geometry_report_destroy(r);
        free(cand_inv);
        return hr_fail(HR_ERR_NOMEM, err, errlen, "geometry: out of memory");
    }
    st = inverse_norms(cand_emb, k, d, cand_inv, "geometry: candidate embedding", err, errlen);
    if (st == HR_OK) {
        geo g = {.o = &o, .d = d, .pool = pool, .cand = cand_emb, .cand_inv = cand_inv, .k = k, .r = r};
        st = run_side(&g, &A, o.seed, r->members_, err, errlen);
        if (st == HR_OK)
            st = run_side(&g, &B, o.seed + 0x9e3779b97f4a7c15ull, r->members_ + ma, err, errlen);
        if (st == HR_OK) st = clusters_ngrams(&g, &A, &B, err, errlen);
    }
    free(cand_inv);
    if (st != HR_OK) {
        hr_geometry_report_destroy(r);
        return st;
    }
    *out = r;
    return HR_OK;
}
