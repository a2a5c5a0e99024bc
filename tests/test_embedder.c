/*
 * tests/test_embedder.c: the embedder embeds each distinct text of a call
 * once: a million copies of one line take about the time of one, every row
 * is the same embedding, and the cache holds each text once
 * (hyporank/embedder.h).
 */
#define _XOPEN_SOURCE 700 /* mkdtemp */

#include "hyporank/cache.h"
#include "hyporank/embedder.h"
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char dir[256];

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static hr_embedder *open_embedder(const char *cache)
{
    hr_embedder_options o;
    hr_embedder_options_init(&o);
    o.model_dir = test_model_dir();
    o.device = HR_DEVICE_CPU;
    o.cache_path = cache;
    o.no_cache = cache == NULL;
    hr_embedder *e = NULL;
    char err[1024] = "";
    CHECKF(hr_embedder_create(&o, &e, err, sizeof err) == HR_OK &&
               hr_embedder_load(e, err, sizeof err) == HR_OK,
           "%s", err);
    return e;
}

static void test_a_million_copies_of_a_line_take_about_the_time_of_one(void)
{
    hr_embedder *e = open_embedder(NULL);
    if (!e) return;
    enum { N = 1000000 };
    const char *line = "the very same headline, a million times over";
    const char **texts = malloc(N * sizeof *texts);
    char *copy = strdup(line); /* another pointer with the same bytes */
    for (size_t i = 0; i < N; i++) texts[i] = i % 2 ? copy : line;
    char err[1024] = "";
    float *one = NULL, *all = NULL; /* (1, dim), (N, dim) */
    double t0 = now_s();
    CHECKF(hr_embedder_embed(e, texts, NULL, 1, "one", NULL, &one, err, sizeof err) == HR_OK, "%s",
           err);
    double t1 = now_s();
    CHECKF(hr_embedder_embed(e, texts, NULL, N, "a million", NULL, &all, err, sizeof err) == HR_OK,
           "%s", err);
    double t2 = now_s();
    fprintf(stderr, "  one text %.3f s, a million copies %.3f s\n", t1 - t0, t2 - t1);
    /* Embedding a million texts one by one takes many minutes; hashing them
     * and copying 1.5 GB of rows takes a second or two (more under the
     * sanitizers), which is the allowance here. */
    CHECKF(t2 - t1 < (t1 - t0) + 10.0, "a million copies took %.1f s", t2 - t1);
    hr_embed_stats es = hr_embedder_last_stats(e);
    CHECKF(es.computed == 1 && es.repeats == N - 1, "computed %zu, repeats %zu", es.computed,
           es.repeats);
    const size_t dim = hr_embedder_dim(e);
    size_t differ = 0;
    for (size_t i = 0; one && all && i < N; i += 9973)
        differ += memcmp(all + i * dim, one, dim * sizeof *one) != 0;
    CHECKF(one && all && memcmp(all + (size_t)(N - 1) * dim, one, dim * sizeof *one) == 0 &&
               differ == 0,
           "%zu sampled rows differ from the single embedding", differ);
    free(one), free(all), free(texts), free(copy);
    hr_embedder_destroy(e);
}

static void test_repeats_keep_their_rows_and_are_cached_once(void)
{
    char cache[300];
    snprintf(cache, sizeof cache, "%s/cache.sqlite", dir);
    hr_embedder *e = open_embedder(cache);
    if (!e) return;
    const char *texts[] = {"apples", "pears", "apples", "plums", "pears", "apples"};
    const char *distinct[] = {"apples", "pears", "plums"};
    char err[1024] = "";
    float *x = NULL, *d = NULL;
    hr_embedder *plain = open_embedder(NULL);
    CHECKF(plain && hr_embedder_embed(plain, distinct, NULL, 3, NULL, NULL, &d, err, sizeof err) ==
                        HR_OK,
           "%s", err);
    CHECKF(hr_embedder_embed(e, texts, NULL, 6, NULL, NULL, &x, err, sizeof err) == HR_OK, "%s",
           err);
    const size_t dim = hr_embedder_dim(e);
    const int want[6] = {0, 1, 0, 2, 1, 0};
    for (int i = 0; x && d && i < 6; i++)
        CHECKF(memcmp(x + (size_t)i * dim, d + (size_t)want[i] * dim, dim * sizeof *x) == 0,
               "row %d is not the embedding of %s", i, texts[i]);
    hr_embed_stats es = hr_embedder_last_stats(e);
    CHECKF(es.computed == 3 && es.repeats == 3, "computed %zu, repeats %zu", es.computed,
           es.repeats);
    hr_cache *c = NULL;
    size_t count = 0;
    CHECK(hr_cache_open(cache, &c, err, sizeof err) == HR_OK &&
          hr_cache_count(c, hr_embedder_model_id(e), &count, err, sizeof err) == HR_OK);
    CHECKF(count == 3, "%zu cache entries", count);
    hr_cache_close(c);
    /* Into the caller's matrix, the same rows. */
    float *into = malloc(6 * dim * sizeof *into);
    CHECKF(hr_embedder_embed_into(e, texts, NULL, 6, NULL, NULL, into, err, sizeof err) == HR_OK,
           "%s", err);
    CHECK(x && memcmp(into, x, 6 * dim * sizeof *x) == 0);
    es = hr_embedder_last_stats(e);
    CHECKF(es.from_cache == 3 && es.computed == 0, "from cache %zu", es.from_cache);
    free(into), free(x), free(d);
    hr_embedder_destroy(plain);
    hr_embedder_destroy(e);
}

int main(void)
{
    snprintf(dir, sizeof dir, "%s/hyporank-embedder-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir)) return 1;
    RUN(test_repeats_keep_their_rows_and_are_cached_once);
    RUN(test_a_million_copies_of_a_line_take_about_the_time_of_one);
    int rc = test_summary();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (rc == 0 && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return rc;
}
