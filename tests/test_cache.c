/*
 * tests/test_cache.c: the SQLite embedding cache, including a writer killed
 * with SIGKILL mid-way and two processes writing at once.
 *
 * Every test works in its own file under one mkdtemp folder, removed at the
 * end. Some checks open the file with SQLite directly (integrity_check, WAL
 * mode, damaged rows); the table name "embedding" comes from host/io/cache.c.
 */
#include "hyporank/cache.h"
#include "test_util.h"

#include <sqlite3.h>

#include <dirent.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char root[4096]; /* the mkdtemp folder */

/* A path inside the temporary folder (rotating static buffers). */
static const char *tmp_path(const char *name)
{
    static char bufs[4][4096];
    static int next;
    char *b = bufs[next++ & 3];
    int n = snprintf(b, sizeof bufs[0], "%s/%s", root, name);
    if (n < 0 || (size_t)n >= sizeof bufs[0]) {
        fprintf(stderr, "path too long: %s/%s\n", root, name);
        exit(1);
    }
    return b;
}

static void rm_rf(const char *path)
{
    struct stat sb;
    if (lstat(path, &sb) != 0)
        return;
    if (S_ISDIR(sb.st_mode)) {
        DIR *d = opendir(path);
        if (d) {
            struct dirent *e;
            while ((e = readdir(d)) != NULL) {
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                    continue;
                char child[4096];
                snprintf(child, sizeof child, "%s/%s", path, e->d_name);
                rm_rf(child);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* A deterministic embedding value for (key, j): distinct per key and column. */
static float value_for(uint32_t key, int j)
{
    uint32_t x = key * 2654435761u ^ (uint32_t)j * 40503u;
    x ^= x >> 13;
    x *= 0x5bd1e995u;
    x ^= x >> 15;
    return (float)(x & 0xffffff) / (float)0x1000000 - 0.5f;
}

/* n texts "prefix i" in one block of storage; texts[i] points into it.
 * Each text gets TEXT_SLOT bytes; a longer one is a bug in the test. */
enum { TEXT_SLOT = 128 };
typedef struct {
    char *store;
    const char **texts;
    size_t n;
} text_set;

static int make_texts(text_set *ts, const char *prefix, size_t first, size_t n)
{
    ts->n = n;
    ts->store = malloc(n * TEXT_SLOT);
    ts->texts = malloc(n * sizeof *ts->texts);
    if (!ts->store || !ts->texts)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char *t = ts->store + TEXT_SLOT * i;
        int len = snprintf(t, TEXT_SLOT, "%s %zu", prefix, first + i);
        if (len < 0 || len >= TEXT_SLOT)
            return 0;
        ts->texts[i] = t;
    }
    return 1;
}

static void free_texts(text_set *ts)
{
    free(ts->store);
    free(ts->texts);
}

/* emb: (n, dim) row-major, row i keyed by first + i. */
static void fill_rows(float *emb, size_t first, size_t n, int dim)
{
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < dim; j++)
            emb[i * (size_t)dim + (size_t)j] = value_for((uint32_t)(first + i), j);
}

static hr_cache *open_ok(const char *path)
{
    hr_cache *c = NULL;
    char err[512] = "";
    hr_status st = hr_cache_open(path, &c, err, sizeof err);
    CHECKF(st == HR_OK && c != NULL, "open %s: %s", path, err);
    return st == HR_OK ? c : NULL;
}

/* ---- behaviour ----------------------------------------------------------- */

static void test_put_then_get_returns_identical_floats(void)
{
    hr_cache *c = open_ok(tmp_path("identical.sqlite"));
    if (!c)
        return;
    enum { DIM = 8 };
    /* Bit patterns a lossy or byte-swapping store would change. */
    float nan_payload;
    uint32_t nan_bits = 0x7fc01234u;
    memcpy(&nan_payload, &nan_bits, 4);
    const float emb[3][DIM] = {
        {0.0f, -0.0f, 1.0f, -1.0f, FLT_MIN, FLT_MIN / 8.0f, FLT_MAX, -FLT_MAX},
        {INFINITY, -INFINITY, nan_payload, 3.14159265f, 1e-30f, -2.5e10f, 0.1f, 1.0f / 3.0f},
        {0.25f, 0.5f, 0.75f, 1.0f, 1.25f, 1.5f, 1.75f, 2.0f},
    };
    const char *texts[3] = {"", "a text with ünïcödé and a\ttab", "third"};
    char err[512] = "";
    hr_status st = hr_cache_put(c, "model-A", DIM, texts, NULL, 3, &emb[0][0], err, sizeof err);
    CHECKF(st == HR_OK, "%s", err);

    float out[3][DIM];
    unsigned char found[3] = {9, 9, 9};
    size_t hits = 99;
    st = hr_cache_get(c, "model-A", DIM, texts, NULL, 3, &out[0][0], found, &hits, err, sizeof err);
    CHECKF(st == HR_OK, "%s", err);
    CHECK(hits == 3);
    CHECK(found[0] == 1 && found[1] == 1 && found[2] == 1);
    CHECK(memcmp(out, emb, sizeof emb) == 0);

    size_t count = 0;
    CHECK(hr_cache_count(c, "model-A", &count, err, sizeof err) == HR_OK);
    CHECK(count == 3);
    hr_cache_close(c);
}

static void test_a_miss_leaves_found_zero_and_out_untouched(void)
{
    hr_cache *c = open_ok(tmp_path("miss.sqlite"));
    if (!c)
        return;
    enum { DIM = 4 };
    const char *stored[1] = {"present"};
    const float row[DIM] = {1, 2, 3, 4};
    char err[512] = "";
    CHECKF(hr_cache_put(c, "m", DIM, stored, NULL, 1, row, err, sizeof err) == HR_OK, "%s", err);

    const char *ask[3] = {"absent one", "present", "absent two"};
    float out[3][DIM];
    memset(out, 0xAB, sizeof out);
    unsigned char sentinel[DIM * 4];
    memset(sentinel, 0xAB, sizeof sentinel);
    unsigned char found[3] = {7, 7, 7};
    size_t hits = 99;
    hr_status st = hr_cache_get(c, "m", DIM, ask, NULL, 3, &out[0][0], found, &hits, err, sizeof err);
    CHECKF(st == HR_OK, "%s", err);
    CHECK(hits == 1);
    CHECK(found[0] == 0 && found[1] == 1 && found[2] == 0);
    CHECK(memcmp(out[0], sentinel, sizeof sentinel) == 0);
    CHECK(memcmp(out[1], row, sizeof row) == 0);
    CHECK(memcmp(out[2], sentinel, sizeof sentinel) == 0);

    /* An empty cache and an empty request are fine too. */
    st = hr_cache_get(c, "m", DIM, NULL, NULL, 0, NULL, NULL, &hits, err, sizeof err);
    CHECK(st == HR_OK && hits == 0);
    hr_cache_close(c);
}

static void test_different_model_ids_do_not_see_each_others_entries(void)
{
    hr_cache *c = open_ok(tmp_path("models.sqlite"));
    if (!c)
        return;
    enum { DIM = 3 };
    const char *texts[1] = {"same text"};
    const float a[DIM] = {1, 1, 1}, b[DIM] = {2, 2, 2};
    char err[512] = "";
    CHECK(hr_cache_put(c, "model-a", DIM, texts, NULL, 1, a, err, sizeof err) == HR_OK);
    float out[DIM] = {0};
    unsigned char found = 9;
    size_t hits = 9;
    CHECK(hr_cache_get(c, "model-b", DIM, texts, NULL, 1, out, &found, &hits, err, sizeof err) == HR_OK);
    CHECK(found == 0 && hits == 0);

    CHECK(hr_cache_put(c, "model-b", DIM, texts, NULL, 1, b, err, sizeof err) == HR_OK);
    CHECK(hr_cache_get(c, "model-a", DIM, texts, NULL, 1, out, &found, &hits, err, sizeof err) == HR_OK);
    CHECK(found == 1 && memcmp(out, a, sizeof a) == 0);
    CHECK(hr_cache_get(c, "model-b", DIM, texts, NULL, 1, out, &found, &hits, err, sizeof err) == HR_OK);
    CHECK(found == 1 && memcmp(out, b, sizeof b) == 0);

    size_t na = 0, nb = 0, nc = 9;
    CHECK(hr_cache_count(c, "model-a", &na, err, sizeof err) == HR_OK && na == 1);
    CHECK(hr_cache_count(c, "model-b", &nb, err, sizeof err) == HR_OK && nb == 1);
    CHECK(hr_cache_count(c, "model-c", &nc, err, sizeof err) == HR_OK && nc == 0);
    hr_cache_close(c);
}

static void test_a_dim_mismatch_is_a_miss(void)
{
    const char *path = tmp_path("dim.sqlite");
    hr_cache *c = open_ok(path);
    if (!c)
        return;
    const char *texts[3] = {"four wide", "damaged blob", "damaged dim"};
    const float rows[3][4] = {{1, 2, 3, 4}, {5, 6, 7, 8}, {9, 10, 11, 12}};
    char err[512] = "";
    CHECK(hr_cache_put(c, "m", 4, texts, NULL, 3, &rows[0][0], err, sizeof err) == HR_OK);

    float out[3][8];
    memset(out, 0, sizeof out);
    unsigned char found[3] = {9, 9, 9};
    size_t hits = 9;
    CHECK(hr_cache_get(c, "m", 8, texts, NULL, 1, &out[0][0], found, &hits, err, sizeof err) == HR_OK);
    CHECK(found[0] == 0 && hits == 0);

    /* Rows whose blob size or dim column disagree (damage, or a bug in some
     * other writer): a miss, not a crash or a short read. */
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_busy_timeout(db, 5000) == SQLITE_OK);
    CHECK(sqlite3_exec(db,
                       "UPDATE embedding SET embedding = x'0102' WHERE dim = 4 AND "
                       "substr(embedding, 1, 4) = x'0000a040';" /* 5.0f */
                       "UPDATE embedding SET dim = 3 WHERE substr(embedding, 1, 4) = x'00001041';", /* 9.0f */
                       NULL, NULL, NULL) == SQLITE_OK);
    CHECK(sqlite3_changes(db) == 1);
    sqlite3_close(db);

    float out4[3][4];
    memset(out4, 0, sizeof out4);
    CHECK(hr_cache_get(c, "m", 4, texts, NULL, 3, &out4[0][0], found, &hits, err, sizeof err) == HR_OK);
    CHECK(found[0] == 1 && found[1] == 0 && found[2] == 0 && hits == 1);
    CHECK(memcmp(out4[0], rows[0], sizeof rows[0]) == 0);
    hr_cache_close(c);
}

static void test_texts_are_keyed_by_their_bytes_including_embedded_nul(void)
{
    hr_cache *c = open_ok(tmp_path("lens.sqlite"));
    if (!c)
        return;
    const char *texts[2] = {"ab\0c", "ab"};
    const size_t lens[2] = {4, 2};
    const float rows[2][2] = {{1, 1}, {2, 2}};
    char err[512] = "";
    CHECK(hr_cache_put(c, "m", 2, texts, lens, 2, &rows[0][0], err, sizeof err) == HR_OK);
    size_t count = 0;
    CHECK(hr_cache_count(c, "m", &count, err, sizeof err) == HR_OK && count == 2);

    /* lens == NULL means strlen: "ab\0c" is then "ab". */
    float out[2][2];
    unsigned char found[2];
    size_t hits;
    CHECK(hr_cache_get(c, "m", 2, texts, NULL, 2, &out[0][0], found, &hits, err, sizeof err) == HR_OK);
    CHECK(hits == 2 && memcmp(out[0], rows[1], sizeof rows[1]) == 0);
    CHECK(hr_cache_get(c, "m", 2, texts, lens, 2, &out[0][0], found, &hits, err, sizeof err) == HR_OK);
    CHECK(hits == 2 && memcmp(out, rows, sizeof rows) == 0);
    hr_cache_close(c);
}

static void test_a_second_put_of_a_text_replaces_the_first(void)
{
    hr_cache *c = open_ok(tmp_path("replace.sqlite"));
    if (!c)
        return;
    const char *texts[1] = {"t"};
    const float first[2] = {1, 2}, second[2] = {3, 4};
    char err[512] = "";
    CHECK(hr_cache_put(c, "m", 2, texts, NULL, 1, first, err, sizeof err) == HR_OK);
    CHECK(hr_cache_put(c, "m", 2, texts, NULL, 1, second, err, sizeof err) == HR_OK);
    float out[2];
    unsigned char found;
    size_t hits, count = 0;
    CHECK(hr_cache_get(c, "m", 2, texts, NULL, 1, out, &found, &hits, err, sizeof err) == HR_OK);
    CHECK(found == 1 && memcmp(out, second, sizeof second) == 0);
    CHECK(hr_cache_count(c, "m", &count, err, sizeof err) == HR_OK && count == 1);
    hr_cache_close(c);
}

static void test_reopening_the_file_keeps_entries(void)
{
    const char *path = tmp_path("reopen.sqlite");
    enum { N = 50, DIM = 16 };
    text_set ts;
    float emb[N * DIM], out[N * DIM];
    unsigned char found[N];
    CHECK(make_texts(&ts, "reopen", 0, N));
    fill_rows(emb, 0, N, DIM);
    char err[512] = "";
    hr_cache *c = open_ok(path);
    if (!c) {
        free_texts(&ts);
        return;
    }
    CHECK(hr_cache_put(c, "m", DIM, ts.texts, NULL, N, emb, err, sizeof err) == HR_OK);
    hr_cache_close(c);

    for (int round = 0; round < 2; round++) {
        c = open_ok(path);
        if (!c)
            break;
        size_t hits = 0;
        memset(out, 0, sizeof out);
        CHECK(hr_cache_get(c, "m", DIM, ts.texts, NULL, N, out, found, &hits, err, sizeof err) == HR_OK);
        CHECKF(hits == N, "round %d: %zu hits", round, hits);
        CHECK(memcmp(out, emb, sizeof emb) == 0);
        hr_cache_close(c);
    }
    free_texts(&ts);
}

static void test_the_file_is_in_wal_mode_with_the_schema_version_set(void)
{
    const char *path = tmp_path("pragmas.sqlite");
    hr_cache *c = open_ok(path);
    if (!c)
        return;
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW);
    const char *mode = (const char *)sqlite3_column_text(st, 0);
    CHECKF(mode && strcmp(mode, "wal") == 0, "journal_mode %s", mode ? mode : "(null)");
    sqlite3_finalize(st);
    CHECK(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW);
    CHECK(sqlite3_column_int(st, 0) == 1);
    sqlite3_finalize(st);
    CHECK(sqlite3_prepare_v2(db, "SELECT sql FROM sqlite_master WHERE name = 'embedding'", -1, &st,
                             NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW);
    const char *sql = (const char *)sqlite3_column_text(st, 0);
    CHECKF(sql && strstr(sql, "UNIQUE (model_id, text_hash)"), "%s", sql ? sql : "(null)");
    sqlite3_finalize(st);
    /* A lookup is an index search, not a scan. */
    CHECK(sqlite3_prepare_v2(db, "EXPLAIN QUERY PLAN SELECT dim, embedding FROM embedding "
                                 "WHERE model_id = ?1 AND text_hash = ?2", -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW);
    const char *plan = (const char *)sqlite3_column_text(st, 3);
    CHECKF(plan && strstr(plan, "SEARCH") && strstr(plan, "INDEX"), "plan: %s", plan ? plan : "(null)");
    sqlite3_finalize(st);
    sqlite3_close(db);
    hr_cache_close(c);
}

/* ---- refusing files ---------------------------------------------------------- */

static void test_a_file_that_is_not_sqlite_is_rejected_naming_it(void)
{
    const char *path = tmp_path("not-a-database.sqlite");
    const char *line = "this is a text file, not an SQLite database\n";
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f)
        return;
    for (int i = 0; i < 200; i++)
        fputs(line, f);
    fclose(f);

    static int not_a_handle;
    hr_cache *c = (hr_cache *)(void *)&not_a_handle; /* open must set it to NULL */
    char err[512] = "";
    hr_status st = hr_cache_open(path, &c, err, sizeof err);
    CHECK(st == HR_ERR_CACHE);
    CHECK(c == NULL);
    CHECKF(strstr(err, path) != NULL, "message: %s", err);
    CHECKF(strstr(err, "not an SQLite database") != NULL, "message: %s", err);

    /* The file is left as it was. */
    struct stat sb;
    CHECK(stat(path, &sb) == 0 && (size_t)sb.st_size == 200 * strlen(line));
}

static void test_a_file_with_a_newer_schema_version_is_refused(void)
{
    const char *path = tmp_path("newer.sqlite");
    hr_cache *c = open_ok(path);
    hr_cache_close(c);
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "PRAGMA user_version = 7", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);

    char err[512] = "";
    c = NULL;
    hr_status st = hr_cache_open(path, &c, err, sizeof err);
    CHECK(st == HR_ERR_CACHE && c == NULL);
    CHECKF(strstr(err, path) && strstr(err, "schema version 7") && strstr(err, "newer"),
           "message: %s", err);
    hr_cache_close(c);
}

static void test_an_sqlite_database_of_another_program_is_refused(void)
{
    const char *path = tmp_path("other-program.sqlite");
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT)", NULL, NULL,
                       NULL) == SQLITE_OK);
    sqlite3_close(db);

    char err[512] = "";
    hr_cache *c = NULL;
    CHECK(hr_cache_open(path, &c, err, sizeof err) == HR_ERR_CACHE && c == NULL);
    CHECKF(strstr(err, path) && strstr(err, "not a hyporank cache"), "message: %s", err);

    /* Nothing was added to it. */
    sqlite3_stmt *st = NULL;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master", -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 1);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void test_opening_creates_missing_parent_folders_with_mode_0700(void)
{
    const char *path = tmp_path("deep/er/cache.sqlite");
    hr_cache *c = open_ok(path);
    hr_cache_close(c);
    mode_t mask = umask(0);
    umask(mask);
    struct stat sb;
    CHECK(stat(tmp_path("deep"), &sb) == 0 && S_ISDIR(sb.st_mode));
    CHECKF((sb.st_mode & 0777) == (0700 & ~mask), "mode %o", (unsigned)(sb.st_mode & 0777));
    CHECK(stat(tmp_path("deep/er"), &sb) == 0 && S_ISDIR(sb.st_mode));
    CHECKF((sb.st_mode & 0777) == (0700 & ~mask), "mode %o", (unsigned)(sb.st_mode & 0777));
    CHECK(stat(path, &sb) == 0 && S_ISREG(sb.st_mode));
}

static void test_a_parent_that_is_a_file_gives_an_io_error(void)
{
    const char *blocker = tmp_path("blocker");
    FILE *f = fopen(blocker, "w");
    CHECK(f != NULL);
    if (f)
        fclose(f);
    char err[512] = "";
    hr_cache *c = NULL;
    const char *path = tmp_path("blocker/sub/cache.sqlite");
    CHECK(hr_cache_open(path, &c, err, sizeof err) == HR_ERR_IO && c == NULL);
    CHECKF(strstr(err, blocker) && strstr(err, "not a folder"), "message: %s", err);
}

static void test_no_path_and_null_handles_are_handled(void)
{
    char err[512] = "";
    hr_cache *c = NULL;
    CHECK(hr_cache_open(NULL, &c, err, sizeof err) == HR_ERR_CACHE && c == NULL);
    CHECKF(strstr(err, "HYPORANK_CACHE") != NULL, "message: %s", err);
    hr_cache_close(NULL);
}

/* ---- the default path -------------------------------------------------------- */

static char *save_env(const char *name)
{
    const char *v = getenv(name);
    return v ? strdup(v) : NULL;
}

static void restore_env(const char *name, char *saved)
{
    if (saved)
        setenv(name, saved, 1);
    else
        unsetenv(name);
    free(saved);
}

static void test_default_path_honours_hyporank_cache_and_xdg_cache_home(void)
{
    char *env = save_env("HYPORANK_CACHE"), *xdg = save_env("XDG_CACHE_HOME"), *home = save_env("HOME");
    char buf[256];

    setenv("HYPORANK_CACHE", "/some/where/c.sqlite", 1);
    setenv("XDG_CACHE_HOME", "/xdg", 1);
    setenv("HOME", "/home/u", 1);
    const char *p = hr_cache_default_path(buf, sizeof buf);
    CHECKF(p == buf && strcmp(p, "/some/where/c.sqlite") == 0, "%s", p ? p : "(null)");

    unsetenv("HYPORANK_CACHE");
    p = hr_cache_default_path(buf, sizeof buf);
    CHECKF(p && strcmp(p, "/xdg/hyporank/cache.sqlite") == 0, "%s", p ? p : "(null)");

    setenv("HYPORANK_CACHE", "", 1); /* empty counts as unset */
    setenv("XDG_CACHE_HOME", "relative/dir", 1); /* the XDG spec: ignore relative */
    p = hr_cache_default_path(buf, sizeof buf);
    CHECKF(p && strcmp(p, "/home/u/.cache/hyporank/cache.sqlite") == 0, "%s", p ? p : "(null)");

    unsetenv("XDG_CACHE_HOME");
    p = hr_cache_default_path(buf, sizeof buf);
    CHECKF(p && strcmp(p, "/home/u/.cache/hyporank/cache.sqlite") == 0, "%s", p ? p : "(null)");

    /* Too small a buffer, or nothing to go on: NULL and an empty buffer. */
    char tiny[8];
    CHECK(hr_cache_default_path(tiny, sizeof tiny) == NULL && tiny[0] == '\0');
    unsetenv("HOME");
    CHECK(hr_cache_default_path(buf, sizeof buf) == NULL && buf[0] == '\0');
    CHECK(hr_cache_default_path(NULL, 0) == NULL);

    restore_env("HYPORANK_CACHE", env);
    restore_env("XDG_CACHE_HOME", xdg);
    restore_env("HOME", home);
}

/* ---- scale --------------------------------------------------------------- */

static void test_100k_entries_put_and_get_in_reasonable_time(void)
{
    enum { N = 100000, DIM = 384 };
    const char *path = tmp_path("big.sqlite");
    text_set ts;
    float *emb = malloc((size_t)N * DIM * sizeof *emb); /* (N, DIM) row-major */
    float *out = malloc((size_t)N * DIM * sizeof *out); /* (N, DIM) row-major */
    unsigned char *found = malloc(N);
    CHECK(make_texts(&ts, "a moderately long sentence standing in for a corpus text, number", 0, N));
    CHECK(emb && out && found);
    if (!emb || !out || !found || !ts.store) {
        free(emb), free(out), free(found), free_texts(&ts);
        return;
    }
    fill_rows(emb, 0, N, DIM);
    char err[512] = "";
    hr_cache *c = open_ok(path);
    if (c) {
        double t0 = now_s();
        /* In batches of 1000, as a run that embeds in batches would. */
        for (size_t i = 0; i < N; i += 1000)
            if (hr_cache_put(c, "big", DIM, ts.texts + i, NULL, 1000, emb + i * DIM, err,
                             sizeof err) != HR_OK) {
                CHECKF(0, "put: %s", err);
                break;
            }
        double t1 = now_s();
        size_t hits = 0;
        CHECKF(hr_cache_get(c, "big", DIM, ts.texts, NULL, N, out, found, &hits, err,
                            sizeof err) == HR_OK, "%s", err);
        double t2 = now_s();
        hr_cache_close(c);
        CHECK(hits == N);
        CHECK(memcmp(out, emb, (size_t)N * DIM * sizeof *emb) == 0);

        /* Again through a fresh handle, as the next run would. */
        c = open_ok(path);
        double t3 = now_s();
        memset(out, 0, (size_t)N * DIM * sizeof *out);
        CHECKF(c && hr_cache_get(c, "big", DIM, ts.texts, NULL, N, out, found, &hits, err,
                                 sizeof err) == HR_OK, "%s", err);
        double t4 = now_s();
        hr_cache_close(c);
        CHECK(hits == N);
        CHECK(memcmp(out, emb, (size_t)N * DIM * sizeof *emb) == 0);

        struct stat sb;
        CHECK(stat(path, &sb) == 0);
        fprintf(stderr,
                "  100k x 384: put %.2f s (%.0f/s, batches of 1000), get %.2f s (%.0f/s), "
                "get after reopen %.2f s (%.0f/s), file %.1f MB (%.0f bytes/entry)\n",
                t1 - t0, N / (t1 - t0), t2 - t1, N / (t2 - t1), t4 - t3, N / (t4 - t3),
                (double)sb.st_size / 1e6, (double)sb.st_size / N);
        /* A loose bound, meant to catch a per-entry transaction or fsync (that
         * would take minutes), not to benchmark: measured times are well
         * under 2 s each, and sanitizer builds on a loaded machine are slower. */
        CHECKF(t1 - t0 < 60.0, "put took %.1f s", t1 - t0);
        CHECKF(t2 - t1 < 60.0, "get took %.1f s", t2 - t1);
    }
    free(emb);
    free(out);
    free(found);
    free_texts(&ts);
}

/* ---- several processes ------------------------------------------------------- */

enum { KILL_BATCH = 256, KILL_DIM = 384 };

/* The child's loop: put batch 0, 1, 2, ... and write one byte to fd after
 * each put that returned HR_OK (committed); 'E' and exit on an error. */
static void writer_child(const char *path, int fd, int max_batches)
{
    text_set ts;
    float *emb = malloc((size_t)KILL_BATCH * KILL_DIM * sizeof *emb);
    hr_cache *c = NULL;
    char err[512];
    if (!emb || hr_cache_open(path, &c, err, sizeof err) != HR_OK) {
        (void)!write(fd, "E", 1);
        _exit(1);
    }
    for (int b = 0; b < max_batches; b++) {
        size_t first = (size_t)b * KILL_BATCH;
        if (!make_texts(&ts, "killed writer text", first, KILL_BATCH))
            _exit(1);
        fill_rows(emb, first, KILL_BATCH, KILL_DIM);
        if (hr_cache_put(c, "kill", KILL_DIM, ts.texts, NULL, KILL_BATCH, emb, err, sizeof err) != HR_OK) {
            (void)!write(fd, "E", 1);
            _exit(1);
        }
        free_texts(&ts);
        if (write(fd, "c", 1) != 1)
            _exit(1);
    }
    hr_cache_close(c);
    _exit(0);
}

/* Checks that batch b is whole in c with the values the child wrote;
 * returns the number of its texts found. */
static size_t batch_hits(hr_cache *c, int b)
{
    text_set ts;
    float *out = malloc((size_t)KILL_BATCH * KILL_DIM * sizeof *out);
    float *want = malloc((size_t)KILL_BATCH * KILL_DIM * sizeof *want);
    unsigned char found[KILL_BATCH];
    size_t first = (size_t)b * KILL_BATCH, hits = 0;
    char err[512] = "";
    if (!out || !want || !make_texts(&ts, "killed writer text", first, KILL_BATCH)) {
        CHECK(0);
        free(out), free(want);
        return 0;
    }
    fill_rows(want, first, KILL_BATCH, KILL_DIM);
    CHECKF(hr_cache_get(c, "kill", KILL_DIM, ts.texts, NULL, KILL_BATCH, out, found, &hits, err,
                        sizeof err) == HR_OK, "%s", err);
    if (hits == KILL_BATCH)
        CHECKF(memcmp(out, want, (size_t)KILL_BATCH * KILL_DIM * sizeof *out) == 0,
               "batch %d differs", b);
    free_texts(&ts);
    free(out);
    free(want);
    return hits;
}

static void test_a_writer_killed_with_sigkill_midway_keeps_every_committed_batch(void)
{
    /* A few rounds, stopping after different numbers of batches, so that the
     * kill lands at different points of a transaction. */
    static const int stop_after[] = {1, 7, 23};
    for (size_t round = 0; round < sizeof stop_after / sizeof stop_after[0]; round++) {
        char name[64];
        snprintf(name, sizeof name, "killed-%zu.sqlite", round);
        const char *path = tmp_path(name);
        int fds[2];
        CHECK(pipe(fds) == 0);
        fflush(NULL);
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid < 0)
            return;
        if (pid == 0) {
            close(fds[0]);
            writer_child(path, fds[1], 1000000);
        }
        close(fds[1]);

        int reported = 0, failed = 0;
        char ch;
        while (reported < stop_after[round] && read(fds[0], &ch, 1) == 1) {
            if (ch == 'c')
                reported++;
            else
                failed = 1;
        }
        CHECK(kill(pid, SIGKILL) == 0);
        int wst = 0;
        CHECK(waitpid(pid, &wst, 0) == pid);
        CHECKF(WIFSIGNALED(wst) && WTERMSIG(wst) == SIGKILL, "child status %d", wst);
        /* Bytes written between our last read and the kill are commits too. */
        while (read(fds[0], &ch, 1) == 1) {
            if (ch == 'c')
                reported++;
            else
                failed = 1;
        }
        close(fds[0]);
        CHECK(!failed);
        CHECK(reported >= stop_after[round]);

        hr_cache *c = open_ok(path);
        if (!c)
            continue;
        sqlite3 *db = NULL;
        sqlite3_stmt *st = NULL;
        CHECK(sqlite3_open(path, &db) == SQLITE_OK);
        CHECK(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK);
        CHECK(sqlite3_step(st) == SQLITE_ROW);
        const char *ok = (const char *)sqlite3_column_text(st, 0);
        CHECKF(ok && strcmp(ok, "ok") == 0, "integrity_check: %s", ok ? ok : "(null)");
        sqlite3_finalize(st);
        sqlite3_close(db);

        /* Every reported batch is whole; at most the one in flight was lost,
         * and it left nothing behind (the count is whole batches). */
        size_t count = 0;
        char err[512] = "";
        CHECKF(hr_cache_count(c, "kill", &count, err, sizeof err) == HR_OK, "%s", err);
        CHECKF(count % KILL_BATCH == 0, "%zu entries: a partial batch", count);
        CHECKF(count / KILL_BATCH >= (size_t)reported && count / KILL_BATCH <= (size_t)reported + 1,
               "%zu batches stored, %d reported", count / KILL_BATCH, reported);
        for (int b = 0; b < reported; b++) {
            size_t h = batch_hits(c, b);
            CHECKF(h == KILL_BATCH, "round %zu batch %d: %zu of %d", round, b, h, KILL_BATCH);
        }
        CHECK(batch_hits(c, (int)(count / KILL_BATCH)) == 0);
        fprintf(stderr, "  round %zu: killed after %d reported batches, %zu stored\n", round,
                reported, count / KILL_BATCH);
        hr_cache_close(c);
    }
}

static void test_two_processes_writing_at_once_both_succeed(void)
{
    enum { PER_CHILD = 40 };
    const char *path = tmp_path("shared.sqlite");
    pid_t pids[2];
    int fds[2][2];
    for (int k = 0; k < 2; k++) {
        CHECK(pipe(fds[k]) == 0);
        fflush(NULL);
        pids[k] = fork();
        CHECK(pids[k] >= 0);
        if (pids[k] == 0) {
            close(fds[k][0]);
            /* Child k writes batches k*PER_CHILD .. (k+1)*PER_CHILD - 1. */
            text_set ts;
            float *emb = malloc((size_t)KILL_BATCH * KILL_DIM * sizeof *emb);
            hr_cache *c = NULL;
            char err[512];
            if (!emb || hr_cache_open(path, &c, err, sizeof err) != HR_OK)
                _exit(2);
            for (int b = k * PER_CHILD; b < (k + 1) * PER_CHILD; b++) {
                size_t first = (size_t)b * KILL_BATCH;
                if (!make_texts(&ts, "killed writer text", first, KILL_BATCH))
                    _exit(3);
                fill_rows(emb, first, KILL_BATCH, KILL_DIM);
                if (hr_cache_put(c, "kill", KILL_DIM, ts.texts, NULL, KILL_BATCH, emb, err,
                                 sizeof err) != HR_OK) {
                    (void)!write(fds[k][1], err, strlen(err));
                    _exit(4);
                }
                free_texts(&ts);
            }
            hr_cache_close(c);
            free(emb);
            _exit(0);
        }
        close(fds[k][1]);
    }

    /* Meanwhile, read from a third connection. */
    hr_cache *c = open_ok(path);
    for (int i = 0; c && i < 20; i++)
        batch_hits(c, i);

    for (int k = 0; k < 2; k++) {
        int wst = 0;
        CHECK(waitpid(pids[k], &wst, 0) == pids[k]);
        char msg[512] = "";
        ssize_t got = read(fds[k][0], msg, sizeof msg - 1);
        msg[got > 0 ? got : 0] = '\0';
        close(fds[k][0]);
        CHECKF(WIFEXITED(wst) && WEXITSTATUS(wst) == 0, "child %d status %d: %s", k, wst, msg);
    }
    if (c) {
        size_t count = 0;
        char err[512] = "";
        CHECK(hr_cache_count(c, "kill", &count, err, sizeof err) == HR_OK);
        CHECKF(count == 2 * PER_CHILD * KILL_BATCH, "%zu entries", count);
        for (int b = 0; b < 2 * PER_CHILD; b += 9)
            CHECK(batch_hits(c, b) == KILL_BATCH);
        hr_cache_close(c);
    }
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(root, sizeof root, "%s/hyporank-cache-test-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(root)) {
        fprintf(stderr, "mkdtemp %s: %s\n", root, strerror(errno));
        return 1;
    }

    RUN(test_put_then_get_returns_identical_floats);
    RUN(test_a_miss_leaves_found_zero_and_out_untouched);
    RUN(test_different_model_ids_do_not_see_each_others_entries);
    RUN(test_a_dim_mismatch_is_a_miss);
    RUN(test_texts_are_keyed_by_their_bytes_including_embedded_nul);
    RUN(test_a_second_put_of_a_text_replaces_the_first);
    RUN(test_reopening_the_file_keeps_entries);
    RUN(test_the_file_is_in_wal_mode_with_the_schema_version_set);
    RUN(test_a_file_that_is_not_sqlite_is_rejected_naming_it);
    RUN(test_a_file_with_a_newer_schema_version_is_refused);
    RUN(test_an_sqlite_database_of_another_program_is_refused);
    RUN(test_opening_creates_missing_parent_folders_with_mode_0700);
    RUN(test_a_parent_that_is_a_file_gives_an_io_error);
    RUN(test_no_path_and_null_handles_are_handled);
    RUN(test_default_path_honours_hyporank_cache_and_xdg_cache_home);
    RUN(test_100k_entries_put_and_get_in_reasonable_time);
    RUN(test_a_writer_killed_with_sigkill_midway_keeps_every_committed_batch);
    RUN(test_two_processes_writing_at_once_both_succeed);

    rm_rf(root);
    return test_summary();
}
