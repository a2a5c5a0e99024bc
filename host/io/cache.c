/*
 * host/io/cache.c: the embedding cache in SQLite (see hyporank/cache.h).
 *
 * File layout (schema version 1, PRAGMA user_version = 1):
 *
 *     CREATE TABLE embedding (
 *         model_id  TEXT    NOT NULL,  -- hr_model_id(), or the remote model's name
 *         text_hash BLOB    NOT NULL,  -- SHA-256 of the text's bytes, 32 bytes
 *         dim       INTEGER NOT NULL,  -- floats in the embedding
 *         embedding BLOB    NOT NULL,  -- (dim) float32, little-endian
 *         UNIQUE (model_id, text_hash));
 *
 * PRAGMA application_id marks the file as a hyporank cache, so that a path
 * pointing at some other program's SQLite database is refused rather than
 * written into. A file whose user_version is newer than SCHEMA_VERSION is
 * refused too; an older one is migrated forward in migrate().
 *
 * Why a rowid table with a unique index, not PRIMARY KEY (model_id,
 * text_hash) WITHOUT ROWID: the key is a hash, so every insert lands on a
 * random page of the key's b-tree. In a WITHOUT ROWID table that b-tree holds
 * the whole 1.5 KB row, so a put of 1000 texts into a large cache rewrites
 * about 1000 full pages (16 MB of WAL for 1.5 MB of data). With a rowid table
 * the rows are appended in rowid order and only the small (model_id, hash)
 * index takes random inserts. Measured on 100k x 384 floats, puts in batches
 * of 1000: 10 s WITHOUT ROWID against 1.8 s here; lookups 2x faster; the
 * file is no larger. (SQLite's own advice is that WITHOUT ROWID suits rows
 * under about 1/20 of a page.)
 *
 * Page size 16 KiB: rows up to about 4000 floats stay on one page, and it
 * measured faster than 4 KiB for puts. It only applies to new files.
 *
 * Durability: WAL mode with synchronous=NORMAL. Every put is one transaction
 * (BEGIN IMMEDIATE ... COMMIT), so a process killed at any point leaves each
 * committed put whole and no trace of the one in flight; synchronous=NORMAL
 * may lose the last commits on power loss (not on a process crash), which is
 * acceptable for a cache. busy_timeout lets several processes share a file.
 */
#include "hyporank/cache.h"
#include "hyporank/hash.h"
#include "core/util.h"

#include <sqlite3.h>

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/types.h>

#define SCHEMA_VERSION 1
#define APPLICATION_ID 0x48795261 /* "HyRa" */
#define PAGE_SIZE 16384
#define BUSY_TIMEOUT_MS 30000 /* a writer may hold the lock for one large put */

struct hr_cache {
    sqlite3 *db;
    char *path;             /* as given to hr_cache_open, for messages */
    sqlite3_stmt *get;      /* (model_id, text_hash) -> dim, embedding */
    sqlite3_stmt *put;      /* INSERT OR REPLACE (model_id, text_hash, dim, embedding) */
    sqlite3_stmt *count;    /* (model_id) -> count(*) */
    unsigned char *scratch; /* (dim) float32 little-endian, for big-endian hosts */
    size_t scratch_len;
};

/* ---- small helpers --------------------------------------------------------- */

static hr_status fail_sqlite(hr_cache *c, char *err, size_t errlen, const char *what)
{
    return hr_fail(HR_ERR_CACHE, err, errlen, "cache %s: %s: %s", c->path, what,
                   sqlite3_errmsg(c->db));
}

/* Runs one statement that returns no rows we need. */
static hr_status exec(hr_cache *c, const char *sql, char *err, size_t errlen)
{
    if (sqlite3_exec(c->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return fail_sqlite(c, err, errlen, sql);
    return HR_OK;
}

/* Ends a failed transaction. Its own error is not reported: the first error
 * is the one the caller needs, and SQLite rolls back by itself on errors that
 * already ended the transaction. */
static void rollback(hr_cache *c)
{
    if (!sqlite3_get_autocommit(c->db))
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Runs a pragma that returns one integer. */
static hr_status pragma_int(hr_cache *c, const char *sql, long long *out, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK)
        return fail_sqlite(c, err, errlen, sql);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        hr_status s = fail_sqlite(c, err, errlen, sql);
        sqlite3_finalize(st);
        return s;
    }
    *out = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return HR_OK;
}

/* Creates every missing folder above path (mkdir -p of its dirname), mode
 * 0700. Folders that exist are left as they are. */
static hr_status make_parent_dirs(const char *path, char *err, size_t errlen)
{
    const char *slash = strrchr(path, '/');
    if (!slash || slash == path)
        return HR_OK; /* in the working folder, or directly under / */
    size_t n = (size_t)(slash - path);
    char *dir = malloc(n + 1);
    if (!dir)
        return hr_fail(HR_ERR_NOMEM, err, errlen, "cache %s: out of memory", path);
    memcpy(dir, path, n);
    dir[n] = '\0';

    hr_status s = HR_OK;
    /* Walk the components left to right: "a/b/c" tries "a", "a/b", "a/b/c". */
    for (size_t i = 1; i <= n && s == HR_OK; i++) {
        if (i < n && dir[i] != '/')
            continue;
        if (i < n && dir[i - 1] == '/')
            continue; /* "a//b": the empty component */
        char saved = dir[i];
        dir[i] = '\0';
        struct stat sb;
        if (stat(dir, &sb) != 0) {
            if (mkdir(dir, 0700) != 0 && errno != EEXIST)
                s = hr_fail(HR_ERR_IO, err, errlen, "cache %s: cannot create folder %s: %s",
                            path, dir, strerror(errno));
            else if (stat(dir, &sb) != 0) /* EEXIST: created meanwhile, or a dangling link */
                s = hr_fail(HR_ERR_IO, err, errlen, "cache %s: cannot create folder %s: %s",
                            path, dir, strerror(errno));
        }
        if (s == HR_OK && !S_ISDIR(sb.st_mode))
            s = hr_fail(HR_ERR_IO, err, errlen, "cache %s: %s exists and is not a folder",
                        path, dir);
        dir[i] = saved;
    }
    free(dir);
    return s;
}

/* Checks that model_id, dim and the texts are usable. */
static hr_status check_args(const hr_cache *c, const char *model_id, int dim,
                            const char *const *texts, size_t n, const void *buf,
                            char *err, size_t errlen)
{
    if (!c)
        return hr_fail(HR_ERR_INTERNAL, err, errlen, "cache: no cache handle");
    if (!model_id)
        return hr_fail(HR_ERR_INTERNAL, err, errlen, "cache %s: no model id", c->path);
    /* dim * 4 bytes must fit SQLite's int blob length. */
    if (dim <= 0 || dim > INT_MAX / 4)
        return hr_fail(HR_ERR_INTERNAL, err, errlen, "cache %s: embedding width %d out of range",
                       c->path, dim);
    if (n > 0 && (!texts || !buf))
        return hr_fail(HR_ERR_INTERNAL, err, errlen, "cache %s: no texts or embeddings given",
                       c->path);
    for (size_t i = 0; i < n; i++)
        if (!texts[i])
            return hr_fail(HR_ERR_INTERNAL, err, errlen, "cache %s: text %zu is NULL", c->path, i);
    return HR_OK;
}

static void text_hash(const char *text, const size_t *lens, size_t i, unsigned char digest[32])
{
    hr_sha256 h;
    hr_sha256_init(&h);
    hr_sha256_update(&h, text, lens ? lens[i] : strlen(text));
    hr_sha256_final(&h, digest);
}

#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) && \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HOST_LITTLE_ENDIAN 1
#else
#define HOST_LITTLE_ENDIAN 0
#endif

/* (dim) float32 little-endian bytes -> (dim) floats. */
static void decode_floats(const unsigned char *src, int dim, float *dst)
{
    if (HOST_LITTLE_ENDIAN) {
        memcpy(dst, src, (size_t)dim * 4);
        return;
    }
    for (int j = 0; j < dim; j++) {
        const unsigned char *p = src + 4 * (size_t)j;
        uint32_t u = (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
                     ((uint32_t)p[3] << 24);
        memcpy(&dst[j], &u, 4);
    }
}

/* (dim) floats -> (dim) float32 little-endian bytes. */
static void encode_floats(const float *src, int dim, unsigned char *dst)
{
    for (int j = 0; j < dim; j++) {
        uint32_t u;
        memcpy(&u, &src[j], 4);
        unsigned char *p = dst + 4 * (size_t)j;
        p[0] = (unsigned char)u;
        p[1] = (unsigned char)(u >> 8);
        p[2] = (unsigned char)(u >> 16);
        p[3] = (unsigned char)(u >> 24);
    }
}

/* ---- opening and the schema ------------------------------------------------ */

/* Brings a file at schema version `from` (1 .. SCHEMA_VERSION - 1) up to
 * SCHEMA_VERSION. Runs inside the caller's write transaction. Version 1 is
 * the first, so there is nothing to do yet; a later version adds a case. */
static hr_status migrate(hr_cache *c, long long from, char *err, size_t errlen)
{
    (void)c;
    (void)err;
    (void)errlen;
    switch (from) {
    default:
        break;
    }
    return HR_OK;
}

/* Creates the schema in a new file, migrates an old one, refuses files that
 * belong to something else or to a newer hyporank. */
static hr_status setup_schema(hr_cache *c, char *err, size_t errlen)
{
    long long app = 0, version = 0, tables = 0;
    hr_status s;

    /* The first statements read the file header: a file that is not SQLite
     * fails here. */
    if ((s = pragma_int(c, "PRAGMA application_id", &app, err, errlen)) != HR_OK)
        return s;
    if ((s = pragma_int(c, "PRAGMA user_version", &version, err, errlen)) != HR_OK)
        return s;
    if (app == APPLICATION_ID && version == SCHEMA_VERSION)
        return HR_OK; /* the common case: nothing to write */

    /* Set up or migrate under the write lock, reading everything again: a
     * second process may be doing the same right now. */
    if ((s = exec(c, "BEGIN IMMEDIATE", err, errlen)) != HR_OK)
        return s;
    if ((s = pragma_int(c, "PRAGMA application_id", &app, err, errlen)) != HR_OK ||
        (s = pragma_int(c, "PRAGMA user_version", &version, err, errlen)) != HR_OK ||
        (s = pragma_int(c, "SELECT count(*) FROM sqlite_master", &tables, err, errlen)) != HR_OK)
        goto fail;

    if (app != APPLICATION_ID && (app != 0 || tables != 0 || version != 0)) {
        s = hr_fail(HR_ERR_CACHE, err, errlen,
                    "cache %s is an SQLite database of some other program, not a hyporank "
                    "cache; set HYPORANK_CACHE to another file",
                    c->path);
        goto fail;
    }
    if (version > SCHEMA_VERSION) {
        s = hr_fail(HR_ERR_CACHE, err, errlen,
                    "cache %s has schema version %lld, newer than this hyporank reads (%d); "
                    "upgrade hyporank or set HYPORANK_CACHE to another file",
                    c->path, version, SCHEMA_VERSION);
        goto fail;
    }
    if (app == 0) {
        /* A new, empty file. */
        static const char *const create =
            "CREATE TABLE embedding ("
            " model_id TEXT NOT NULL,"
            " text_hash BLOB NOT NULL,"
            " dim INTEGER NOT NULL,"
            " embedding BLOB NOT NULL,"
            " UNIQUE (model_id, text_hash))";
        if ((s = exec(c, create, err, errlen)) != HR_OK)
            goto fail;
        char sql[96];
        snprintf(sql, sizeof sql, "PRAGMA application_id = %d", APPLICATION_ID);
        if ((s = exec(c, sql, err, errlen)) != HR_OK)
            goto fail;
    } else if (version < SCHEMA_VERSION && (s = migrate(c, version, err, errlen)) != HR_OK) {
        goto fail;
    }
    if (version != SCHEMA_VERSION) {
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d", SCHEMA_VERSION);
        if ((s = exec(c, sql, err, errlen)) != HR_OK)
            goto fail;
    }
    if ((s = exec(c, "COMMIT", err, errlen)) != HR_OK)
        goto fail;
    return HR_OK;

fail:
    rollback(c);
    return s;
}

static hr_status prepare(hr_cache *c, const char *sql, sqlite3_stmt **st, char *err, size_t errlen)
{
    if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK)
        return fail_sqlite(c, err, errlen, "preparing a statement");
    return HR_OK;
}

hr_status hr_cache_open(const char *path, hr_cache **out, char *err, size_t errlen)
{
    if (!out)
        return hr_fail(HR_ERR_INTERNAL, err, errlen, "cache: no place for the handle");
    *out = NULL;
    if (!path || !path[0])
        return hr_fail(HR_ERR_CACHE, err, errlen,
                       "cache: no cache file (set HYPORANK_CACHE, XDG_CACHE_HOME or HOME)");

    hr_status s = make_parent_dirs(path, err, errlen);
    if (s != HR_OK)
        return s;
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        return hr_fail(HR_ERR_CACHE, err, errlen, "cache %s is a folder; the cache is a file",
                       path);

    hr_cache *c = calloc(1, sizeof *c);
    size_t plen = strlen(path);
    if (c)
        c->path = malloc(plen + 1);
    if (!c || !c->path) {
        free(c);
        return hr_fail(HR_ERR_NOMEM, err, errlen, "cache %s: out of memory", path);
    }
    memcpy(c->path, path, plen + 1);

    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &c->db, flags, NULL) != SQLITE_OK) {
        if (!c->db)
            s = hr_fail(HR_ERR_NOMEM, err, errlen, "cache %s: out of memory", path);
        else
            s = fail_sqlite(c, err, errlen, "cannot open");
        goto fail;
    }
    if (sqlite3_busy_timeout(c->db, BUSY_TIMEOUT_MS) != SQLITE_OK) {
        s = fail_sqlite(c, err, errlen, "setting busy_timeout");
        goto fail;
    }
    sqlite3_extended_result_codes(c->db, 1);

    /* Read the header first, so that a file that is not SQLite is named as
     * such. page_size only takes effect on a new, empty file, and must come
     * before journal_mode=WAL, which writes the header. */
    long long probe;
    s = pragma_int(c, "PRAGMA schema_version", &probe, err, errlen);
    if (s != HR_OK) {
        int code = sqlite3_errcode(c->db) & 0xff;
        if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT)
            s = hr_fail(HR_ERR_CACHE, err, errlen,
                        "cache %s is not an SQLite database, or is damaged (%s); move it away "
                        "or set HYPORANK_CACHE to another file",
                        path, sqlite3_errmsg(c->db));
        goto fail;
    }
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA page_size = %d", PAGE_SIZE);
    if ((s = exec(c, sql, err, errlen)) != HR_OK)
        goto fail;

    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(c->db, "PRAGMA journal_mode = WAL", -1, &st, NULL) != SQLITE_OK) {
        s = fail_sqlite(c, err, errlen, "setting WAL mode");
        goto fail;
    }
    /* Switching a new file to WAL needs it to itself for a moment, and SQLite
     * answers SQLITE_BUSY at once, without its busy handler, when another
     * process is opening the same new file: wait and try again, as long as
     * busy_timeout would have waited. */
    int rc = sqlite3_step(st);
    for (int waited_ms = 0; (rc & 0xff) == SQLITE_BUSY && waited_ms < BUSY_TIMEOUT_MS;
         waited_ms += 10) {
        sqlite3_reset(st);
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
        rc = sqlite3_step(st);
    }
    if (rc != SQLITE_ROW) {
        s = fail_sqlite(c, err, errlen, "setting WAL mode");
        sqlite3_finalize(st);
        goto fail;
    }
    const char *mode = (const char *)sqlite3_column_text(st, 0);
    /* ":memory:" databases report "memory" and cannot use WAL; they are
     * accepted for tests. Anything else means WAL is not available on this
     * file system (a network file system, say). */
    if (!mode || (strcmp(mode, "wal") != 0 && strcmp(mode, "memory") != 0)) {
        s = hr_fail(HR_ERR_CACHE, err, errlen,
                    "cache %s: cannot use WAL mode (journal mode is %s); is it on a network "
                    "file system?",
                    path, mode ? mode : "unknown");
        sqlite3_finalize(st);
        goto fail;
    }
    sqlite3_finalize(st);

    if ((s = exec(c, "PRAGMA synchronous = NORMAL", err, errlen)) != HR_OK)
        goto fail;
    if ((s = setup_schema(c, err, errlen)) != HR_OK)
        goto fail;

    if ((s = prepare(c, "SELECT dim, embedding FROM embedding WHERE model_id = ?1 AND text_hash = ?2",
                     &c->get, err, errlen)) != HR_OK ||
        (s = prepare(c, "INSERT OR REPLACE INTO embedding (model_id, text_hash, dim, embedding) "
                        "VALUES (?1, ?2, ?3, ?4)",
                     &c->put, err, errlen)) != HR_OK ||
        (s = prepare(c, "SELECT count(*) FROM embedding WHERE model_id = ?1", &c->count, err,
                     errlen)) != HR_OK)
        goto fail;

    *out = c;
    return HR_OK;

fail:
    hr_cache_close(c);
    return s;
}

void hr_cache_close(hr_cache *c)
{
    if (!c)
        return;
    sqlite3_finalize(c->get); /* each accepts NULL */
    sqlite3_finalize(c->put);
    sqlite3_finalize(c->count);
    /* With every statement finalized this cannot fail with SQLITE_BUSY; the
     * last connection to close checkpoints the WAL into the main file. */
    sqlite3_close(c->db);
    free(c->scratch);
    free(c->path);
    free(c);
}

/* ---- get, put, count ------------------------------------------------------- */

hr_status hr_cache_get(hr_cache *c, const char *model_id, int dim,
                       const char *const *texts, const size_t *lens, size_t n,
                       float *out, unsigned char *found, size_t *hits,
                       char *err, size_t errlen)
{
    if (hits)
        *hits = 0;
    hr_status s = check_args(c, model_id, dim, texts, n, out, err, errlen);
    if (s != HR_OK)
        return s;
    if (n > 0 && !found)
        return hr_fail(HR_ERR_INTERNAL, err, errlen, "cache %s: no found[] array", c->path);
    if (n == 0)
        return HR_OK;
    memset(found, 0, n);

    /* One read transaction for the whole lookup: one snapshot, and no lock
     * taken and dropped per text. */
    if ((s = exec(c, "BEGIN", err, errlen)) != HR_OK)
        return s;
    if (sqlite3_bind_text(c->get, 1, model_id, -1, SQLITE_STATIC) != SQLITE_OK) {
        s = fail_sqlite(c, err, errlen, "binding the model id");
        goto done;
    }
    const size_t want_bytes = (size_t)dim * 4;
    size_t nhit = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char key[32];
        text_hash(texts[i], lens, i, key);
        if (sqlite3_bind_blob(c->get, 2, key, 32, SQLITE_STATIC) != SQLITE_OK) {
            s = fail_sqlite(c, err, errlen, "binding a text hash");
            goto done;
        }
        int rc = sqlite3_step(c->get);
        if (rc == SQLITE_ROW) {
            /* A row written for another width (or damaged) is a miss. */
            long long stored_dim = sqlite3_column_int64(c->get, 0);
            const void *blob = sqlite3_column_blob(c->get, 1);
            size_t bytes = (size_t)sqlite3_column_bytes(c->get, 1);
            if (stored_dim == dim && bytes == want_bytes && blob) {
                decode_floats(blob, dim, out + i * (size_t)dim);
                found[i] = 1;
                nhit++;
            } else if (!blob && sqlite3_errcode(c->db) == SQLITE_NOMEM) {
                s = hr_fail(HR_ERR_NOMEM, err, errlen, "cache %s: out of memory", c->path);
                goto done;
            }
        } else if (rc != SQLITE_DONE) {
            s = fail_sqlite(c, err, errlen, "reading an entry");
            goto done;
        }
        sqlite3_reset(c->get);
    }
    if (hits)
        *hits = nhit;

done:
    sqlite3_reset(c->get);
    sqlite3_clear_bindings(c->get); /* drop the pointer to the caller's model_id */
    if (s == HR_OK) {
        s = exec(c, "COMMIT", err, errlen);
        if (s != HR_OK && hits)
            *hits = 0;
    }
    if (s != HR_OK)
        rollback(c);
    return s;
}

hr_status hr_cache_put(hr_cache *c, const char *model_id, int dim,
                       const char *const *texts, const size_t *lens, size_t n,
                       const float *emb, char *err, size_t errlen)
{
    hr_status s = check_args(c, model_id, dim, texts, n, emb, err, errlen);
    if (s != HR_OK)
        return s;
    if (n == 0)
        return HR_OK;
    const size_t bytes = (size_t)dim * 4;
    if (!HOST_LITTLE_ENDIAN && c->scratch_len < bytes) {
        unsigned char *p = realloc(c->scratch, bytes);
        if (!p)
            return hr_fail(HR_ERR_NOMEM, err, errlen, "cache %s: out of memory", c->path);
        c->scratch = p;
        c->scratch_len = bytes;
    }

    /* BEGIN IMMEDIATE takes the write lock now (waiting up to busy_timeout),
     * rather than failing half-way when a reader upgrades. */
    if ((s = exec(c, "BEGIN IMMEDIATE", err, errlen)) != HR_OK)
        return s;
    if (sqlite3_bind_text(c->put, 1, model_id, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_int(c->put, 3, dim) != SQLITE_OK) {
        s = fail_sqlite(c, err, errlen, "binding the model id");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char key[32];
        text_hash(texts[i], lens, i, key);
        const float *row = emb + i * (size_t)dim; /* (dim) */
        const void *blob = row;
        if (!HOST_LITTLE_ENDIAN) {
            encode_floats(row, dim, c->scratch);
            blob = c->scratch;
        }
        if (sqlite3_bind_blob(c->put, 2, key, 32, SQLITE_STATIC) != SQLITE_OK ||
            sqlite3_bind_blob(c->put, 4, blob, (int)bytes, SQLITE_STATIC) != SQLITE_OK) {
            s = fail_sqlite(c, err, errlen, "binding an entry");
            goto done;
        }
        if (sqlite3_step(c->put) != SQLITE_DONE) {
            s = fail_sqlite(c, err, errlen, "writing an entry");
            goto done;
        }
        sqlite3_reset(c->put);
    }

done:
    sqlite3_reset(c->put);
    sqlite3_clear_bindings(c->put);
    if (s == HR_OK)
        s = exec(c, "COMMIT", err, errlen);
    if (s != HR_OK)
        rollback(c);
    return s;
}

hr_status hr_cache_count(hr_cache *c, const char *model_id, size_t *count,
                         char *err, size_t errlen)
{
    if (!c || !model_id || !count)
        return hr_fail(HR_ERR_INTERNAL, err, errlen, "cache: hr_cache_count needs a handle, "
                                                     "a model id and a place for the count");
    *count = 0;
    hr_status s = HR_OK;
    if (sqlite3_bind_text(c->count, 1, model_id, -1, SQLITE_STATIC) != SQLITE_OK) {
        s = fail_sqlite(c, err, errlen, "binding the model id");
    } else if (sqlite3_step(c->count) != SQLITE_ROW) {
        s = fail_sqlite(c, err, errlen, "counting entries");
    } else {
        long long v = sqlite3_column_int64(c->count, 0);
        *count = v > 0 ? (size_t)v : 0;
    }
    sqlite3_reset(c->count);
    sqlite3_clear_bindings(c->count);
    return s;
}

/* ---- the default path ------------------------------------------------------ */

const char *hr_cache_default_path(char *buf, size_t buflen)
{
    if (!buf || buflen == 0)
        return NULL;
    buf[0] = '\0';
    int n;
    const char *env = getenv("HYPORANK_CACHE");
    const char *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    if (env && env[0]) {
        n = snprintf(buf, buflen, "%s", env);
    } else if (xdg && xdg[0] == '/') {
        /* The XDG base-directory spec says relative values are to be ignored. */
        n = snprintf(buf, buflen, "%s/hyporank/cache.sqlite", xdg);
    } else if (home && home[0]) {
        n = snprintf(buf, buflen, "%s/.cache/hyporank/cache.sqlite", home);
    } else {
        return NULL;
    }
    if (n < 0 || (size_t)n >= buflen) {
        buf[0] = '\0';
        return NULL;
    }
    return buf;
}
