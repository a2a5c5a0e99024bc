/*
 * bench/bench_scoring_methods.c: how often each score method ranks the right
 * description first, on tasks with a known answer.
 *
 *     bench_scoring_methods [--tasks DIR] [--model DIR] [--cache FILE | --no-cache]
 *                           [--threads N] [--sweep] [--cost]
 *
 * The tasks (bench/scoring-tasks/, made by scripts/make-scoring-tasks.py)
 * come in sources, SOURCE.texts.jsonl (the texts) and SOURCE.tasks.jsonl
 * (one task a line: rows of A, rows of B, a pool of candidate descriptions
 * and the index of the gold one, for pair tasks also the gold of B). Every
 * text and candidate is embedded with the local model through the embedding
 * cache; each task's pool is then scored by every method, and the gold's
 * rank is where it falls when the pool is ordered by AUROC, highest first
 * (ties counted against it: rank = 1 + candidates whose AUROC is >= the
 * gold's). For pair tasks B's gold should come last, ranked from the
 * bottom the same way.
 *
 * Prints one line per figure: for each method, top-1 and top-5 accuracy and
 * the mean reciprocal rank per source and task kind, overall, and B's gold
 * last in pair tasks; then, for each method against cosine, the tasks where
 * it ranks the gold better and worse, with a two-sided sign test. --sweep
 * adds CONTRAST at other temperatures; --cost times each method on random
 * unit vectors (K 1000, N 50k, D 384) against cosine.
 */
#include "bench_util.h"
#include "core/random.h"
#include "backends/cpu/blas_core.h"
#include "hyporank/cache.h"
#include "hyporank/corpus.h"
#include "hyporank/encoder.h"
#include "hyporank/model.h"
#include "hyporank/scorer.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_SOURCES 16
#define MAX_METHODS 16
#define TOP_N 5


static void die(const char *what, const char *detail)
{
    fprintf(stderr, "bench_scoring_methods: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    exit(1);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) die("out of memory", NULL);
    return p;
}

/* ------------------------------------------------------------------------ */
/* Tasks                                                                     */

typedef struct task {
    char *name;
    int pair;             /* 1: B is one category (gold_b set) */
    size_t *a, *b;        /* (na), (nb) rows of the source's texts */
    size_t na, nb;
    size_t *cand;         /* (k) index of each candidate in the source's unique candidates */
    size_t k;
    size_t gold, gold_b;
} task;

typedef struct source {
    char name[64];
    hr_corpus *texts;
    float *x;             /* (texts->n, dim) row-major */
    char **cands;         /* (n_cands) unique candidate texts, sorted */
    size_t n_cands;
    float *h;             /* (n_cands, dim) row-major */
    task *tasks;
    size_t n_tasks;
} source;

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

static size_t *json_rows(const cJSON *arr, size_t limit, size_t *n, const char *where)
{
    if (!cJSON_IsArray(arr)) die("not an array of rows", where);
    *n = (size_t)cJSON_GetArraySize(arr);
    size_t *r = xmalloc(*n * sizeof *r), i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, arr)
    {
        if (!cJSON_IsNumber(e) || e->valuedouble < 0 || e->valuedouble >= (double)limit)
            die("row out of range", where);
        r[i++] = (size_t)e->valuedouble;
    }
    return r;
}

static size_t json_index(const cJSON *o, const char *field, size_t k, const char *where)
{
    const cJSON *e = cJSON_GetObjectItem(o, field);
    if (!cJSON_IsNumber(e) || e->valuedouble < 0 || e->valuedouble >= (double)k)
        die("bad gold index", where);
    return (size_t)e->valuedouble;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) die(path, strerror(errno));
    size_t cap = 1 << 16, len = 0;
    char *buf = xmalloc(cap);
    size_t got;
    while ((got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (cap - len < 2) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) die("out of memory", NULL);
            buf = nb;
        }
    }
    if (ferror(f)) die(path, "read error");
    fclose(f);
    buf[len] = '\0';
    return buf;
}

static void load_source(source *s, const char *dir)
{
    char path[4096], err[1024];
    snprintf(path, sizeof path, "%s/%s.texts.jsonl", dir, s->name);
    if (hr_corpus_read(path, NULL, &s->texts, err, sizeof err) != HR_OK) die(err, NULL);
    snprintf(path, sizeof path, "%s/%s.tasks.jsonl", dir, s->name);
    char *text = slurp(path);
    /* First the tasks and every candidate text (with repeats), then the
     * unique candidates, then each task's candidates as indices into them. */
    size_t cap = 64, n_all = 0, all_cap = 1024;
    s->tasks = xmalloc(cap * sizeof *s->tasks);
    char **all = xmalloc(all_cap * sizeof *all);
    char ***task_cands = xmalloc(cap * sizeof *task_cands);
    size_t line = 0;
    for (char *p = text, *nl; *p; p = nl + 1) {
        nl = strchr(p, '\n');
        if (!nl) nl = p + strlen(p) - 1;
        line++;
        if (nl == p) continue;
        char where[4200];
        snprintf(where, sizeof where, "%s:%zu", path, line);
        cJSON *o = cJSON_ParseWithLength(p, (size_t)(nl - p + 1));
        if (!o) die("bad JSON", where);
        if (s->n_tasks == cap) {
            cap *= 2;
            task *nt = realloc(s->tasks, cap * sizeof *nt);
            char ***nc = realloc(task_cands, cap * sizeof *nc);
            if (!nt || !nc) die("out of memory", NULL);
            s->tasks = nt;
            task_cands = nc;
        }
        task *t = &s->tasks[s->n_tasks];
        memset(t, 0, sizeof *t);
        const cJSON *name = cJSON_GetObjectItem(o, "name"), *kind = cJSON_GetObjectItem(o, "kind");
        const cJSON *cands = cJSON_GetObjectItem(o, "candidates");
        if (!cJSON_IsString(name) || !cJSON_IsString(kind) || !cJSON_IsArray(cands))
            die("task without name, kind or candidates", where);
        t->name = strdup(name->valuestring);
        t->pair = strcmp(kind->valuestring, "pair") == 0;
        t->a = json_rows(cJSON_GetObjectItem(o, "a"), s->texts->n, &t->na, where);
        t->b = json_rows(cJSON_GetObjectItem(o, "b"), s->texts->n, &t->nb, where);
        t->k = (size_t)cJSON_GetArraySize(cands);
        if (t->na == 0 || t->nb == 0 || t->k < 2 || !t->name) die("empty task", where);
        t->gold = json_index(o, "gold", t->k, where);
        if (t->pair) t->gold_b = json_index(o, "gold_b", t->k, where);
        task_cands[s->n_tasks] = xmalloc(t->k * sizeof(char *));
        size_t i = 0;
        const cJSON *c;
        cJSON_ArrayForEach(c, cands)
        {
            if (!cJSON_IsString(c) || !*c->valuestring) die("bad candidate", where);
            char *dup = strdup(c->valuestring);
            if (!dup) die("out of memory", NULL);
            task_cands[s->n_tasks][i++] = dup;
            if (n_all == all_cap) {
                char **na = realloc(all, (all_cap *= 2) * sizeof *na);
                if (!na) die("out of memory", NULL);
                all = na;
            }
            all[n_all++] = dup;
        }
        cJSON_Delete(o);
        s->n_tasks++;
    }
    free(text);
    if (s->n_tasks == 0) die("no tasks in", path);
    qsort(all, n_all, sizeof *all, cmp_str);
    s->cands = xmalloc(n_all * sizeof *s->cands);
    for (size_t i = 0; i < n_all; i++)
        if (i == 0 || strcmp(all[i], all[i - 1]) != 0) s->cands[s->n_cands++] = strdup(all[i]);
    for (size_t ti = 0; ti < s->n_tasks; ti++) {
        task *t = &s->tasks[ti];
        t->cand = xmalloc(t->k * sizeof *t->cand);
        for (size_t i = 0; i < t->k; i++) {
            char **hit = bsearch(&task_cands[ti][i], s->cands, s->n_cands, sizeof *s->cands, cmp_str);
            t->cand[i] = (size_t)(hit - s->cands);
        }
        free(task_cands[ti]); /* the strings themselves are in all[] */
    }
    for (size_t i = 0; i < n_all; i++) free(all[i]);
    free(all);
    free(task_cands);
}

static void free_source(source *s)
{
    for (size_t i = 0; i < s->n_tasks; i++) {
        free(s->tasks[i].name);
        free(s->tasks[i].a);
        free(s->tasks[i].b);
        free(s->tasks[i].cand);
    }
    free(s->tasks);
    for (size_t i = 0; i < s->n_cands; i++) free(s->cands[i]);
    free(s->cands);
    free(s->x);
    free(s->h);
    hr_corpus_destroy(s->texts);
}

/* ------------------------------------------------------------------------ */
/* Methods and figures                                                       */

typedef struct method {
    char label[48];
    hr_score_method m;
    double t;
    size_t *rank;   /* (all tasks) rank of the gold, 1 = first */
    size_t *rank_b; /* (all tasks) rank of B's gold from the bottom (pair tasks), else 0 */
} method;

/* Ranks of the gold from the top and of gold_b from the bottom; ties against. */
static void gold_ranks(const hr_hypothesis_score *r, const task *t, size_t *rank, size_t *rank_b)
{
    size_t above = 0, below = 0;
    for (size_t i = 0; i < t->k; i++) {
        if (i != t->gold && r[i].auroc >= r[t->gold].auroc) above++;
        if (t->pair && i != t->gold_b && r[i].auroc <= r[t->gold_b].auroc) below++;
    }
    *rank = 1 + above;
    *rank_b = t->pair ? 1 + below : 0;
}

/* Two-sided sign test: 2 P(X <= min(w, l)) for X ~ Binomial(w + l, 1/2), capped at 1. */
static double sign_test(size_t w, size_t l)
{
    const size_t n = w + l, m = w < l ? w : l;
    if (n == 0) return 1.0;
    double p = 0.0;
    for (size_t i = 0; i <= m; i++)
        p += exp(lgamma((double)n + 1) - lgamma((double)i + 1) - lgamma((double)(n - i) + 1) -
                 (double)n * log(2.0));
    return 2.0 * p < 1.0 ? 2.0 * p : 1.0;
}

typedef struct tally {
    size_t n, top1, top5;
    double rr;
} tally;

static void add(tally *y, size_t rank)
{
    y->n++;
    y->top1 += rank == 1;
    y->top5 += rank <= TOP_N;
    y->rr += 1.0 / (double)rank;
}

static void print_tally(const char *method, const char *group, const tally *y, const char *what)
{
    if (!y->n) return;
    printf("%-18s %-16s %s top-1 %.3f (%zu/%zu)  top-%d %.3f (%zu/%zu)  mrr %.3f\n", method, group,
           what, (double)y->top1 / (double)y->n, y->top1, y->n, TOP_N,
           (double)y->top5 / (double)y->n, y->top5, y->n, y->rr / (double)y->n);
}

/* Times each method on random unit vectors against cosine (best of 3). */
static void cost(method *ms, size_t n_methods, int threads)
{
    const size_t k = 1000, na = 25000, nb = 25000, d = 384;
    uint64_t st = 7;
    float *all = xmalloc((k + na + nb) * d * sizeof *all); /* (k + na + nb, d): H, A, B */
    for (size_t i = 0; i < k + na + nb; i++) {
        double norm = 0.0;
        for (size_t c = 0; c < d; c++) {
            const uint64_t z = hr_splitmix64(&st);
            const double v = ((double)(z >> 11) + 0.5) * 0x1.0p-53 - 0.5;
            all[i * d + c] = (float)v;
            norm += v * v;
        }
        for (size_t c = 0; c < d; c++) all[i * d + c] = (float)(all[i * d + c] / sqrt(norm));
    }
    const float *h = all, *xa = all + k * d, *xb = all + (k + na) * d;
    hr_hypothesis_score *r = xmalloc(k * sizeof *r);
    double base = 0.0;
    for (size_t mi = 0; mi < n_methods; mi++) {
        hr_scorer_options o = hr_scorer_default_options();
        o.method = ms[mi].m;
        o.temperature = ms[mi].t;
        o.device = HR_DEVICE_CPU;
        o.n_threads = threads;
        hr_scorer *s;
        char err[512];
        if (hr_scorer_create(xa, na, xb, nb, (int)d, &o, &s, err, sizeof err)) die(err, NULL);
        double best = 1e30;
        for (int rep = 0; rep < 3; rep++) {
            const double t0 = now();
            if (hr_scorer_score(s, h, k, r, err, sizeof err)) die(err, NULL);
            const double t = now() - t0;
            best = t < best ? t : best;
        }
        hr_scorer_destroy(s);
        if (mi == 0) base = best;
        printf("cost %-18s K %zu x N %zu, D %zu: %.3f s (%.2fx cosine)\n", ms[mi].label, k, na + nb,
               d, best, best / base);
    }
    free(r);
    free(all);
}

int main(int argc, char **argv)
{
    hr_blas_use_better_kernels(argv); /* never time OpenBLAS's fallback kernels */
    const char *dir = "bench/scoring-tasks", *model_dir = getenv("HYPORANK_MODEL");
    const char *cache_path = NULL;
    int threads = 0, sweep = 0, do_cost = 0, no_cache = 0;
    if (!model_dir || !*model_dir) model_dir = "models/all-MiniLM-L6-v2";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--sweep") == 0) { sweep = 1; continue; }
        if (strcmp(a, "--cost") == 0) { do_cost = 1; continue; }
        if (strcmp(a, "--no-cache") == 0) { no_cache = 1; continue; }
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            fprintf(stderr, "bench_scoring_methods: %s needs a value (or is unknown)\n", a);
            return 2;
        }
        if (strcmp(a, "--tasks") == 0) dir = v;
        else if (strcmp(a, "--model") == 0) model_dir = v;
        else if (strcmp(a, "--cache") == 0) cache_path = v;
        else if (strcmp(a, "--threads") == 0) threads = (int)bench_parse_long("bench_scoring_methods", v, 1, 64, a);
        else {
            fprintf(stderr, "bench_scoring_methods: unknown option %s\n", a);
            return 2;
        }
        i++;
    }
    if (threads == 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        threads = c > 0 ? (int)c : 1;
    }

    /* Methods: the three, then (--sweep) CONTRAST at other temperatures. */
    method ms[MAX_METHODS];
    size_t n_methods = 0;
    ms[n_methods++] = (method){"cosine", HR_SCORE_COSINE, 0.0, NULL, NULL};
    ms[n_methods++] = (method){"centered", HR_SCORE_CENTERED, 0.0, NULL, NULL};
    ms[n_methods++] = (method){"", HR_SCORE_CONTRAST, HR_SCORER_DEFAULT_TEMPERATURE, NULL, NULL};
    snprintf(ms[2].label, sizeof ms[2].label, "contrast:T=%g", HR_SCORER_DEFAULT_TEMPERATURE);
    if (sweep) {
        const double ts[] = {0.001, 0.005, 0.01, 0.03, 0.05, 0.1, 0.2, 0.5};
        for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) {
            if (ts[i] == HR_SCORER_DEFAULT_TEMPERATURE) continue;
            ms[n_methods] = (method){"", HR_SCORE_CONTRAST, ts[i], NULL, NULL};
            snprintf(ms[n_methods].label, sizeof ms[n_methods].label, "contrast:T=%g", ts[i]);
            n_methods++;
        }
    }
    if (do_cost) {
        cost(ms, 3, threads);
        return 0;
    }

    /* Sources: every SOURCE.tasks.jsonl in the folder, by name. */
    source src[MAX_SOURCES];
    size_t n_src = 0;
    DIR *dp = opendir(dir);
    if (!dp) die(dir, strerror(errno));
    struct dirent *de;
    const char *suffix = ".tasks.jsonl";
    while ((de = readdir(dp))) {
        const size_t len = strlen(de->d_name), sl = strlen(suffix);
        if (len <= sl || strcmp(de->d_name + len - sl, suffix) != 0) continue;
        if (n_src == MAX_SOURCES || len - sl >= sizeof src[0].name) die("too many or long sources", dir);
        memset(&src[n_src], 0, sizeof src[n_src]);
        memcpy(src[n_src].name, de->d_name, len - sl);
        n_src++;
    }
    closedir(dp);
    if (!n_src) die("no *.tasks.jsonl in", dir);
    for (size_t i = 0; i + 1 < n_src; i++) /* by name: the output's order does not depend on the file system */
        for (size_t j = i + 1; j < n_src; j++)
            if (strcmp(src[j].name, src[i].name) < 0) {
                source t = src[i];
                src[i] = src[j];
                src[j] = t;
            }

    char err[1024];
    hr_model *model;
    hr_encoder *enc;
    hr_cache *cache = NULL;
    if (hr_model_load(model_dir, &model, err, sizeof err) ||
        hr_encoder_create(model, HR_DEVICE_AUTO, threads, &enc, err, sizeof err))
        die(err, NULL);
    if (!no_cache) {
        char buf[4096];
        const char *p = cache_path ? cache_path : hr_cache_default_path(buf, sizeof buf);
        if (!p) die("no cache location: pass --cache FILE or --no-cache", NULL);
        if (hr_cache_open(p, &cache, err, sizeof err)) die(err, NULL);
    }
    const size_t dim = (size_t)hr_encoder_dim(enc);
    printf("# bench_scoring_methods: tasks %s, model %s (%s), %d threads, openblas %s\n", dir,
           hr_model_name(model), hr_device_str(hr_encoder_device(enc)), threads,
           hr_blas_corename());
    size_t n_tasks = 0;
    for (size_t si = 0; si < n_src; si++) {
        source *s = &src[si];
        load_source(s, dir);
        n_tasks += s->n_tasks;
        s->x = xmalloc(s->texts->n * dim * sizeof *s->x);
        s->h = xmalloc(s->n_cands * dim * sizeof *s->h);
        hr_embed_stats es1, es2;
        const double t0 = now();
        if (hr_encoder_embed_cached(enc, cache, (const char *const *)s->texts->texts, s->texts->lens,
                                    s->texts->n, s->x, NULL, NULL, &es1, err, sizeof err) ||
            hr_encoder_embed_cached(enc, cache, (const char *const *)s->cands, NULL, s->n_cands,
                                    s->h, NULL, NULL, &es2, err, sizeof err))
            die(err, NULL);
        printf("# %s: %zu tasks, %zu texts, %zu candidates; embedded in %.1f s (%zu computed, %zu "
               "from the cache)\n",
               s->name, s->n_tasks, s->texts->n, s->n_cands, now() - t0,
               es1.computed + es2.computed, es1.from_cache + es2.from_cache);
    }
    hr_cache_close(cache);

    /* Score every task with every method. */
    for (size_t mi = 0; mi < n_methods; mi++) {
        ms[mi].rank = xmalloc(n_tasks * sizeof *ms[mi].rank);
        ms[mi].rank_b = xmalloc(n_tasks * sizeof *ms[mi].rank_b);
    }
    size_t ti_all = 0;
    const double t_score = now();
    for (size_t si = 0; si < n_src; si++) {
        const source *s = &src[si];
        for (size_t ti = 0; ti < s->n_tasks; ti++, ti_all++) {
            const task *t = &s->tasks[ti];
            float *xa = xmalloc(t->na * dim * sizeof *xa); /* (na, dim) */
            float *xb = xmalloc(t->nb * dim * sizeof *xb); /* (nb, dim) */
            float *h = xmalloc(t->k * dim * sizeof *h);    /* (k, dim), candidates in task order */
            for (size_t i = 0; i < t->na; i++) memcpy(xa + i * dim, s->x + t->a[i] * dim, dim * sizeof *xa);
            for (size_t i = 0; i < t->nb; i++) memcpy(xb + i * dim, s->x + t->b[i] * dim, dim * sizeof *xb);
            for (size_t i = 0; i < t->k; i++) memcpy(h + i * dim, s->h + t->cand[i] * dim, dim * sizeof *h);
            hr_hypothesis_score *r = xmalloc(t->k * sizeof *r);
            for (size_t mi = 0; mi < n_methods; mi++) {
                hr_scorer_options o = hr_scorer_default_options();
                o.method = ms[mi].m;
                o.temperature = ms[mi].t;
                o.device = HR_DEVICE_CPU;
                o.n_threads = threads;
                hr_scorer *sc;
                if (hr_scorer_create(xa, t->na, xb, t->nb, (int)dim, &o, &sc, err, sizeof err) ||
                    hr_scorer_score(sc, h, t->k, r, err, sizeof err))
                    die(t->name, err);
                hr_scorer_destroy(sc);
                gold_ranks(r, t, &ms[mi].rank[ti_all], &ms[mi].rank_b[ti_all]);
            }
            free(r);
            free(xa);
            free(xb);
            free(h);
        }
    }
    printf("# scored %zu tasks x %zu methods in %.1f s\n", n_tasks, n_methods, now() - t_score);

    /* Figures. */
    for (size_t mi = 0; mi < n_methods; mi++) {
        const method *m = &ms[mi];
        tally all = {0}, kind[2] = {{0}}, last = {0};
        size_t base = 0;
        for (size_t si = 0; si < n_src; si++) {
            tally y = {0};
            for (size_t ti = 0; ti < src[si].n_tasks; ti++) {
                const size_t i = base + ti;
                add(&y, m->rank[i]);
                add(&all, m->rank[i]);
                add(&kind[src[si].tasks[ti].pair], m->rank[i]);
                if (src[si].tasks[ti].pair) add(&last, m->rank_b[i]);
            }
            print_tally(m->label, src[si].name, &y, "A's gold");
            base += src[si].n_tasks;
        }
        print_tally(m->label, "rest tasks", &kind[0], "A's gold");
        print_tally(m->label, "pair tasks", &kind[1], "A's gold");
        print_tally(m->label, "all", &all, "A's gold");
        print_tally(m->label, "pair tasks", &last, "B's gold (from the bottom)");
    }
    for (size_t mi = 1; mi < n_methods; mi++) {
        size_t w = 0, l = 0, wb = 0, lb = 0;
        for (size_t i = 0; i < n_tasks; i++) {
            w += ms[mi].rank[i] < ms[0].rank[i];
            l += ms[mi].rank[i] > ms[0].rank[i];
            wb += ms[mi].rank_b[i] < ms[0].rank_b[i];
            lb += ms[mi].rank_b[i] > ms[0].rank_b[i];
        }
        printf("%-18s against cosine: A's gold ranked higher in %zu tasks, lower in %zu (sign test "
               "p = %.2g); B's gold lower in %zu, higher in %zu (p = %.2g)\n",
               ms[mi].label, w, l, sign_test(w, l), wb, lb, sign_test(wb, lb));
    }
    for (size_t mi = 0; mi < n_methods; mi++) {
        free(ms[mi].rank);
        free(ms[mi].rank_b);
    }
    for (size_t si = 0; si < n_src; si++) free_source(&src[si]);
    hr_encoder_destroy(enc);
    hr_model_destroy(model);
    return 0;
}
