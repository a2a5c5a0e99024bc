/*
 * tests/test_geometry.c: spherical k-means and the embedding-geometry
 * proposer (hyporank/geometry.h), on synthetic unit vectors and texts.
 */
#include "hyporank/geometry.h"
#include "test_util.h"

#include <math.h>
#include <stdint.h>

/* A small seeded generator for the synthetic data (not the library's). */
static uint64_t rng_next(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    uint64_t x = *s;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return x;
}
static double rng_unit(uint64_t *s) { return (double)(rng_next(s) >> 11) * 0x1.0p-53; }
/* Standard normal (Box-Muller). */
static double rng_normal(uint64_t *s)
{
    double u = rng_unit(s), v = rng_unit(s);
    if (u < 1e-300) u = 1e-300;
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

static void unit(float *x, int d)
{
    double s = 0.0;
    for (int j = 0; j < d; j++) s += (double)x[j] * x[j];
    for (int j = 0; j < d; j++) x[j] = (float)(x[j] / sqrt(s));
}

/* Row i: e_{axis} plus N(0, noise^2) on every coordinate, then normalised. */
static void planted_row(float *x, int d, int axis, double noise, uint64_t *s)
{
    for (int j = 0; j < d; j++) x[j] = (float)(noise * rng_normal(s));
    x[axis] += 1.0f;
    unit(x, d);
}

/* ------------------------------------------------------------------------ */
/* k-means                                                                    */

enum { D = 16 };

/* 3 planted clusters of 40, 25 and 10 rows along axes 0, 5, 11, shuffled
 * by the row pattern (i * 7) % n. truth: (n) out. */
static float *planted3(size_t *n_out, int *truth)
{
    const size_t n = 75;
    float *X = malloc(n * D * sizeof *X); /* (n, D) row-major */
    uint64_t s = 12345;
    for (size_t i = 0; i < n; i++) {
        size_t p = (i * 7) % n; /* a permutation of 0..74 (gcd(7, 75) = 1) */
        int t = p < 40 ? 0 : p < 65 ? 1 : 2;
        truth[i] = t;
        planted_row(X + i * D, D, t == 0 ? 0 : t == 1 ? 5 : 11, 0.08, &s);
    }
    *n_out = n;
    return X;
}

static void test_kmeans_recovers_three_well_separated_planted_clusters(void)
{
    int truth[75];
    size_t n;
    float *X = planted3(&n, truth);
    int32_t assign[75];
    float cen[3 * D];
    hr_kmeans_info info;
    char err[256] = "";
    for (uint64_t seed = 0; seed < 5; seed++) {
        CHECKF(hr_kmeans(X, n, D, 3, seed, 100, NULL, assign, cen, &info, err, sizeof err) == HR_OK,
               "%s", err);
        CHECK(info.clusters == 3 && info.converged && info.empty == 0);
        /* Every planted cluster maps to exactly one found cluster, and the
         * map is one to one (perfect agreement up to relabelling). */
        int map[3] = {-1, -1, -1}, used[3] = {0, 0, 0}, ok = 1;
        for (size_t i = 0; i < n; i++) {
            if (map[truth[i]] < 0) {
                map[truth[i]] = assign[i];
                if (assign[i] < 0 || assign[i] > 2 || used[assign[i]]++) ok = 0;
            } else if (map[truth[i]] != assign[i]) {
                ok = 0;
            }
        }
        CHECKF(ok, "seed %llu: the planted clusters are not recovered", (unsigned long long)seed);
        /* Centroids are unit length and near their planted axis. */
        for (int t = 0; t < 3 && ok; t++) {
            const float *c = cen + (size_t)map[t] * D;
            double nn = 0.0;
            for (int j = 0; j < D; j++) nn += (double)c[j] * c[j];
            CHECKF(fabs(nn - 1.0) < 1e-6, "centroid norm^2 %g", nn);
            int axis = t == 0 ? 0 : t == 1 ? 5 : 11;
            CHECKF(c[axis] > 0.95f, "centroid of planted %d: %g along its axis", t, c[axis]);
        }
    }
    free(X);
}

static void test_kmeans_is_deterministic_for_a_seed(void)
{
    const size_t n = 200;
    float *X = malloc(n * D * sizeof *X); /* (n, D): unstructured, so seeds matter */
    uint64_t s = 99;
    for (size_t i = 0; i < n; i++) {
        for (int j = 0; j < D; j++) X[i * D + j] = (float)rng_normal(&s);
        unit(X + i * D, D);
    }
    int32_t a1[200], a2[200];
    float c1[5 * D], c2[5 * D];
    hr_kmeans_info i1, i2;
    CHECK(hr_kmeans(X, n, D, 5, 7, 100, NULL, a1, c1, &i1, NULL, 0) == HR_OK);
    CHECK(hr_kmeans(X, n, D, 5, 7, 100, NULL, a2, c2, &i2, NULL, 0) == HR_OK);
    CHECK(memcmp(a1, a2, sizeof a1) == 0);
    CHECK(memcmp(c1, c2, sizeof c1) == 0);
    CHECK(i1.iterations == i2.iterations && i1.objective == i2.objective);
    /* Another seed is allowed to differ, but must be just as valid: every
     * row is in the cluster of its nearest centroid. */
    CHECK(hr_kmeans(X, n, D, 5, 8, 100, NULL, a2, c2, &i2, NULL, 0) == HR_OK);
    int nearest = 1;
    for (size_t i = 0; i < n; i++) {
        double best = -2;
        int32_t bj = -1;
        for (int j = 0; j < 5; j++) {
            double dt = 0;
            for (int t = 0; t < D; t++) dt += (double)X[i * D + t] * c2[j * D + t];
            if (dt > best) best = dt, bj = j;
        }
        if (bj != a2[i]) nearest = 0;
    }
    CHECK(i2.converged);
    CHECK(nearest);
    free(X);
}

static void test_kmeans_with_more_clusters_than_rows_makes_one_per_row(void)
{
    float X[3 * D] = {0};
    X[0 * D + 0] = 1.0f;
    X[1 * D + 3] = 2.0f; /* not unit length: taken as its direction */
    X[2 * D + 7] = -1.0f;
    int32_t assign[3];
    float cen[5 * D];
    for (size_t i = 0; i < 5 * D; i++) cen[i] = 42.0f;
    hr_kmeans_info info;
    char err[256] = "";
    CHECKF(hr_kmeans(X, 3, D, 5, 1, 50, NULL, assign, cen, &info, err, sizeof err) == HR_OK, "%s",
           err);
    CHECK(info.clusters == 3);
    CHECK(info.empty == 0);
    CHECK(fabs(info.objective) < 1e-9);
    CHECK(assign[0] != assign[1] && assign[1] != assign[2] && assign[0] != assign[2]);
    for (int i = 0; i < 3; i++) CHECK(assign[i] >= 0 && assign[i] < 3);
    CHECK(cen[(size_t)assign[1] * D + 3] == 1.0f);
    int zero = 1;
    for (size_t i = 3 * D; i < 5 * D; i++) zero &= cen[i] == 0.0f;
    CHECKF(zero, "centroid rows 3 and 4 are set to 0");
}

static void test_kmeans_reseeds_an_empty_cluster_from_the_farthest_row(void)
{
    /* Two tight groups along axes 0 and 1, and one row a little off group 0
     * (the farthest from its centroid). Centroid 2 starts at -e0, nearer to
     * no row, so it is empty after the first assignment and must take the
     * outlier. */
    const size_t n = 9;
    float X[9 * D] = {0};
    for (size_t i = 0; i < 4; i++) X[i * D + 0] = 1.0f, X[i * D + 2] = 0.01f * (float)i;
    for (size_t i = 4; i < 8; i++) X[i * D + 1] = 1.0f, X[i * D + 2] = 0.01f * (float)i;
    X[8 * D + 0] = 1.0f, X[8 * D + 4] = 0.6f; /* the outlier, row 8 */
    float init[3 * D] = {0};
    init[0 * D + 0] = 1.0f;
    init[1 * D + 1] = 1.0f;
    init[2 * D + 0] = -1.0f;
    int32_t assign[9];
    float cen[3 * D];
    hr_kmeans_info info;
    char err[256] = "";
    CHECKF(hr_kmeans(X, n, D, 3, 0, 100, init, assign, cen, &info, err, sizeof err) == HR_OK, "%s",
           err);
    CHECKF(info.reseeded >= 1, "reseeded %zu", info.reseeded);
    CHECK(info.empty == 0);
    CHECK(info.converged);
    CHECKF(assign[8] == 2, "the outlier took the empty cluster: %d", (int)assign[8]);
    for (size_t i = 0; i < 4; i++) CHECK(assign[i] == 0);
    for (size_t i = 4; i < 8; i++) CHECK(assign[i] == 1);

    /* Duplicate starting centroids: the second loses every tie, is empty,
     * and is re-seeded too. */
    float dup[3 * D] = {0};
    dup[0 * D + 0] = 1.0f;
    dup[1 * D + 0] = 1.0f;
    dup[2 * D + 1] = 1.0f;
    CHECK(hr_kmeans(X, n, D, 3, 0, 100, dup, assign, cen, &info, NULL, 0) == HR_OK);
    CHECK(info.reseeded >= 1 && info.empty == 0 && info.converged);
}

static void test_kmeans_rejects_bad_input(void)
{
    float X[2 * D] = {0};
    X[0] = 1.0f;
    X[D + 1] = 1.0f;
    int32_t assign[2];
    float cen[2 * D];
    char err[256] = "";
    CHECK(hr_kmeans(X, 0, D, 2, 0, 10, NULL, assign, cen, NULL, err, sizeof err) == HR_ERR_INPUT);
    CHECK(hr_kmeans(X, 2, 0, 2, 0, 10, NULL, assign, cen, NULL, err, sizeof err) == HR_ERR_INPUT);
    CHECK(hr_kmeans(X, 2, -3, 2, 0, 10, NULL, assign, cen, NULL, err, sizeof err) == HR_ERR_INPUT);
    CHECK(hr_kmeans(X, 2, D, 0, 0, 10, NULL, assign, cen, NULL, err, sizeof err) == HR_ERR_INPUT);
    CHECK(hr_kmeans(X, 2, D, 2, 0, 0, NULL, assign, cen, NULL, err, sizeof err) == HR_ERR_INPUT);
    X[D + 1] = 0.0f; /* row 1 now has norm 0 */
    CHECK(hr_kmeans(X, 2, D, 2, 0, 10, NULL, assign, cen, NULL, err, sizeof err) == HR_ERR_INPUT);
    CHECKF(strstr(err, "row 1") != NULL, "%s", err);
    X[D + 1] = NAN;
    CHECK(hr_kmeans(X, 2, D, 2, 0, 10, NULL, assign, cen, NULL, err, sizeof err) == HR_ERR_INPUT);
}

/* ------------------------------------------------------------------------ */
/* The geometry proposer                                                      */

static const char *const SPORT[] = {"football", "goalkeeper", "striker", "stadium",
                                    "referee",  "penalty",    "league",  "midfield"};
static const char *const FOOD[] = {"recipe", "oven",    "garlic", "simmer",
                                   "pastry", "saucepan", "butter", "flour"};
static const char *const FILLER[] = {"meeting", "report", "office",  "schedule",
                                     "budget",  "email",  "project", "deadline"};
static const char *const BSIDE[] = {"election", "senate", "ballot",   "governor",
                                    "campaign", "voters", "minister", "parliament"};

/* A text of 6 words drawn from list (8 words). buf: at least 128 bytes. */
static void make_text(char *buf, size_t cap, const char *const *list, uint64_t *s)
{
    size_t pos = 0;
    buf[0] = 0;
    for (int w = 0; w < 6; w++) {
        const char *word = list[rng_next(s) % 8];
        int k = snprintf(buf + pos, cap - pos, "%s%s", w ? " " : "", word);
        pos += (size_t)k;
    }
}

static int in_list(const char *gram, const char *const *list)
{
    for (int i = 0; i < 8; i++) {
        size_t l = strlen(list[i]);
        if (strncmp(gram, list[i], l) == 0 && (gram[l] == '"' || gram[l] == ' ')) return 1;
    }
    return 0;
}

typedef struct corpus2 {
    size_t n_a, n_b;
    char **ta, **tb;  /* (n_a), (n_b) texts */
    float *ea, *eb;   /* (n_a, D), (n_b, D) row-major */
    double *da, *db;  /* (n_a), (n_b) decision values */
} corpus2;

/* A: 40 sport texts (axis 0) and 40 food texts (axis 1), decision values
 * 2..3, and 20 office texts (axis 2) with decision values near -1, interleaved.
 * B: 100 politics texts (axes 3 and 4), decision values -3..-2. */
static corpus2 make_corpus(void)
{
    corpus2 c = {.n_a = 100, .n_b = 100};
    c.ta = malloc(c.n_a * sizeof *c.ta);
    c.tb = malloc(c.n_b * sizeof *c.tb);
    c.ea = malloc(c.n_a * D * sizeof *c.ea);
    c.eb = malloc(c.n_b * D * sizeof *c.eb);
    c.da = malloc(c.n_a * sizeof *c.da);
    c.db = malloc(c.n_b * sizeof *c.db);
    uint64_t s = 2024;
    char buf[256];
    for (size_t i = 0; i < c.n_a; i++) {
        int topic = i % 5 == 4 ? 2 : (int)(i % 2); /* 0 sport, 1 food, 2 office */
        make_text(buf, sizeof buf, topic == 0 ? SPORT : topic == 1 ? FOOD : FILLER, &s);
        c.ta[i] = strdup(buf);
        planted_row(c.ea + i * D, D, topic, 0.1, &s);
        c.da[i] = topic == 2 ? -1.0 + 0.1 * rng_unit(&s) : 2.0 + rng_unit(&s);
    }
    for (size_t i = 0; i < c.n_b; i++) {
        make_text(buf, sizeof buf, BSIDE, &s);
        c.tb[i] = strdup(buf);
        planted_row(c.eb + i * D, D, 3 + (int)(i % 2), 0.1, &s);
        c.db[i] = -3.0 + rng_unit(&s);
    }
    return c;
}

static void free_corpus(corpus2 *c)
{
    for (size_t i = 0; i < c->n_a; i++) free(c->ta[i]);
    for (size_t i = 0; i < c->n_b; i++) free(c->tb[i]);
    free(c->ta);
    free(c->tb);
    free(c->ea);
    free(c->eb);
    free(c->da);
    free(c->db);
}

/* A pool of 6 candidates whose embeddings point along axes 0..5. */
static const char *const CANDS[] = {"is about sport", "is about cooking", "is about office work",
                                    "is about elections", "is about government", "is about space"};

static hr_hypothesis_pool *make_pool(float *cand /* (6, D) out */)
{
    hr_hypothesis_pool *pool;
    if (hr_pool_create(&pool, NULL, 0) != HR_OK) return NULL;
    memset(cand, 0, 6 * D * sizeof *cand);
    for (int q = 0; q < 6; q++) {
        hr_pool_add(pool, CANDS[q], strlen(CANDS[q]), HR_SOURCE_USER, NULL, NULL, NULL, 0);
        cand[q * D + q] = 1.0f;
        cand[q * D + 15] = 0.2f; /* a shared component: every cosine is positive */
    }
    return pool;
}

static void test_geometry_propose_finds_both_topics_of_a_and_offers_their_nearest_entries(void)
{
    corpus2 c = make_corpus();
    float cand[6 * D];
    hr_hypothesis_pool *pool = make_pool(cand);
    CHECK(pool != NULL);
    hr_geometry_options o = hr_geometry_default_options();
    o.quantile = 0.8; /* A's 80 sport and food texts; 0.8 x 100 must give 80, not 81 */
    o.clusters = 2;
    o.offers = 2;
    o.seed = 3;
    hr_geometry_report *r = NULL;
    char err[256] = "";
    hr_status st = hr_geometry_propose(c.ea, c.da, (const char *const *)c.ta, NULL, c.n_a, c.eb,
                                       c.db, (const char *const *)c.tb, NULL, c.n_b, D, pool, cand,
                                       6, &o, &r, err, sizeof err);
    CHECKF(st == HR_OK, "%s", err);
    if (st != HR_OK) goto out;
    CHECK(r->typical_a == 80 && r->typical_b == 80);
    CHECK(r->n_clusters == 4);
    int sport_cluster = -1, food_cluster = -1;
    for (size_t j = 0; j < r->n_clusters; j++) {
        const hr_geometry_cluster *cl = &r->clusters[j];
        CHECK(cl->side == (j < 2 ? 'A' : 'B'));
        CHECK(cl->index == j % 2);
        CHECK(cl->n_offers == 2);
        if (cl->side != 'A') continue;
        /* Each of A's clusters is one topic, whole: 40 texts. */
        CHECKF(cl->size == 40, "cluster %zu of A has %zu texts", j, cl->size);
        int topic = (int)(cl->members[0] % 2);
        int pure = 1;
        for (size_t t = 0; t < cl->size; t++)
            pure &= cl->members[t] % 5 != 4 && (int)(cl->members[t] % 2) == topic;
        CHECKF(pure, "cluster %zu of A mixes topics", j);
        if (topic == 0) sport_cluster = (int)j;
        else food_cluster = (int)j;
        /* Its nearest entry is its topic's hypothesis. */
        const hr_geometry_offer *f = &r->offers[cl->first_offer];
        CHECKF(f->pool_index == (size_t)topic, "cluster %zu: nearest entry %zu", j, f->pool_index);
        CHECK(f->cluster == j);
        CHECK(f[0].cosine >= f[1].cosine);
        CHECK(cl->ngrams_added >= 1 && cl->ngrams_added <= 3);
    }
    CHECK(sport_cluster >= 0 && food_cluster >= 0);
    /* B's clusters are near the politics entries (3 or 4). */
    for (size_t j = 2; j < r->n_clusters; j++) {
        size_t p = r->offers[r->clusters[j].first_offer].pool_index;
        CHECKF(p == 3 || p == 4, "cluster %zu of B: nearest entry %zu", j, p);
    }
    /* New n-grams of both of A's topics, and of B, with cluster notes. */
    CHECK(hr_pool_size(pool) == 6 + r->added);
    int sport = 0, food = 0, bside = 0, other = 0, notes = 1;
    for (size_t i = 6; i < hr_pool_size(pool); i++) {
        const hr_pool_entry *e = hr_pool_get(pool, i);
        CHECK(e->source == HR_SOURCE_NGRAM);
        const char *g = strchr(e->text, '"');
        CHECK(g != NULL && strncmp(e->text, "mentions \"", 10) == 0);
        if (!g) continue;
        g++;
        if (in_list(g, SPORT)) sport++;
        else if (in_list(g, FOOD)) food++;
        else if (in_list(g, BSIDE)) bside++;
        else other++;
        notes &= e->note && strncmp(e->note, "cluster ", 8) == 0;
        if (e->note && in_list(g, BSIDE)) CHECKF(strstr(e->note, " of B (") && strstr(e->note, "z=-"), "%s", e->note);
        if (e->note && in_list(g, SPORT))
            CHECKF(strstr(e->note, " of A (40 texts)") && strstr(e->note, "z=+"), "%s", e->note);
    }
    CHECKF(sport >= 1 && food >= 1, "sport %d, food %d", sport, food);
    CHECK(bside >= 1);
    CHECKF(other == 0, "%d n-grams of neither topic", other);
    CHECK(notes);

    /* The same call on a fresh pool gives the same report and entries. */
    {
        float cand2[6 * D];
        hr_hypothesis_pool *pool2 = make_pool(cand2);
        hr_geometry_report *r2 = NULL;
        CHECK(hr_geometry_propose(c.ea, c.da, (const char *const *)c.ta, NULL, c.n_a, c.eb, c.db,
                                  (const char *const *)c.tb, NULL, c.n_b, D, pool2, cand2, 6, &o,
                                  &r2, NULL, 0) == HR_OK);
        if (r2) {
            CHECK(r2->n_clusters == r->n_clusters && r2->n_offers == r->n_offers &&
                  r2->added == r->added);
            CHECK(memcmp(r2->offers, r->offers, r->n_offers * sizeof *r->offers) == 0);
            CHECK(memcmp(r2->members_, r->members_, (r->typical_a + r->typical_b) * sizeof(size_t)) == 0);
            CHECK(hr_pool_size(pool2) == hr_pool_size(pool));
            for (size_t i = 0; i < hr_pool_size(pool) && i < hr_pool_size(pool2); i++)
                CHECK(strcmp(hr_pool_get(pool, i)->text, hr_pool_get(pool2, i)->text) == 0 &&
                      strcmp(hr_pool_get(pool, i)->note ? hr_pool_get(pool, i)->note : "",
                             hr_pool_get(pool2, i)->note ? hr_pool_get(pool2, i)->note : "") == 0);
        }
        hr_geometry_report_destroy(r2);
        hr_pool_destroy(pool2);
    }

    /* Run again on the same pool: every n-gram is a duplicate now. */
    size_t before = hr_pool_size(pool);
    hr_geometry_report *r3 = NULL;
    CHECK(hr_geometry_propose(c.ea, c.da, (const char *const *)c.ta, NULL, c.n_a, c.eb, c.db,
                              (const char *const *)c.tb, NULL, c.n_b, D, pool, cand, 6, &o, &r3,
                              NULL, 0) == HR_OK);
    CHECK(r3 && r3->added == 0 && hr_pool_size(pool) == before);
    hr_geometry_report_destroy(r3);
out:
    hr_geometry_report_destroy(r);
    hr_pool_destroy(pool);
    free_corpus(&c);
}

static void test_geometry_propose_rejects_bad_input(void)
{
    corpus2 c = make_corpus();
    float cand[6 * D];
    hr_hypothesis_pool *pool = make_pool(cand);
    hr_geometry_options o = hr_geometry_default_options();
    hr_geometry_report *r = (hr_geometry_report *)&o; /* must be set to NULL */
    char err[256] = "";
    const char *const *ta = (const char *const *)c.ta, *const *tb = (const char *const *)c.tb;
#define PROPOSE(na, nb, d, k, opt)                                                             \
    hr_geometry_propose(c.ea, c.da, ta, NULL, na, c.eb, c.db, tb, NULL, nb, d, pool, cand, k, opt, \
                        &r, err, sizeof err)
    CHECK(PROPOSE(0, c.n_b, D, 6, &o) == HR_ERR_INPUT);
    CHECK(r == NULL);
    CHECK(PROPOSE(c.n_a, 0, D, 6, &o) == HR_ERR_INPUT);
    CHECK(PROPOSE(c.n_a, c.n_b, 0, 6, &o) == HR_ERR_INPUT);
    CHECK(PROPOSE(c.n_a, c.n_b, -1, 6, &o) == HR_ERR_INPUT);
    CHECK(PROPOSE(c.n_a, c.n_b, D, 7, &o) == HR_ERR_INPUT); /* more embeddings than entries */
    double bad_q[] = {0.0, -0.1, 1.0000001, 2.0, NAN};
    for (size_t i = 0; i < sizeof bad_q / sizeof bad_q[0]; i++) {
        hr_geometry_options b = o;
        b.quantile = bad_q[i];
        CHECKF(PROPOSE(c.n_a, c.n_b, D, 6, &b) == HR_ERR_INPUT, "quantile %g", bad_q[i]);
        CHECKF(strstr(err, "quantile") != NULL, "%s", err);
    }
    hr_geometry_options b = o;
    b.clusters = 0;
    CHECK(PROPOSE(c.n_a, c.n_b, D, 6, &b) == HR_ERR_INPUT);
    c.ea[7 * D + 1] = NAN; /* text 7 of A, typical when every text is */
    b = o;
    b.quantile = 1.0;
    CHECK(PROPOSE(c.n_a, c.n_b, D, 6, &b) == HR_ERR_INPUT);
    CHECKF(strstr(err, "side A embedding 7") != NULL, "%s", err);
    c.ea[7 * D + 1] = 0.5f;
    c.da[3] = NAN;
    CHECK(PROPOSE(c.n_a, c.n_b, D, 6, &o) == HR_ERR_INPUT);
    c.da[3] = 1.0;
    cand[2 * D + 2] = 0.0f, cand[2 * D + 15] = 0.0f; /* candidate 2 has norm 0 */
    CHECK(PROPOSE(c.n_a, c.n_b, D, 6, &o) == HR_ERR_INPUT);
    CHECK(hr_pool_size(pool) == 6);
    /* quantile 1 is allowed: every text. */
    cand[2 * D + 2] = 1.0f;
    b = o;
    b.quantile = 1.0;
    CHECKF(PROPOSE(c.n_a, c.n_b, D, 6, &b) == HR_OK, "%s", err);
    CHECK(r && r->typical_a == c.n_a);
    hr_geometry_report_destroy(r);
#undef PROPOSE
    hr_pool_destroy(pool);
    free_corpus(&c);
}

int main(void)
{
    RUN(test_kmeans_recovers_three_well_separated_planted_clusters);
    RUN(test_kmeans_is_deterministic_for_a_seed);
    RUN(test_kmeans_with_more_clusters_than_rows_makes_one_per_row);
    RUN(test_kmeans_reseeds_an_empty_cluster_from_the_farthest_row);
    RUN(test_kmeans_rejects_bad_input);
    RUN(test_geometry_propose_finds_both_topics_of_a_and_offers_their_nearest_entries);
    RUN(test_geometry_propose_rejects_bad_input);
    return test_summary();
}
