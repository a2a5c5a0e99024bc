/* tests/fuzz/fuzz_cache_rows.c: rows of the embedding cache as hr_cache_get
 * reads them back (hyporank/cache.h): a row whose dim and blob are the
 * input's, written straight into the file with SQLite as a damaged or
 * foreign file could hold it, must be refused or read within bounds. */
#include "fuzz_util.h"
#include "hyporank/cache.h"
#include "hyporank/hash.h"

#include <sqlite3.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static hr_cache *c;
    static char path[300];
    static sqlite3 *db;
    char err[512];
    if (!c) {
        const char *tmp = getenv("TMPDIR");
        snprintf(path, sizeof path, "%s/hr-fuzz-cache-%ld.sqlite", tmp && *tmp ? tmp : "/tmp",
                 (long)getpid());
        unlink(path);
        if (hr_cache_open(path, &c, err, sizeof err) != HR_OK) abort();
        if (sqlite3_open(path, &db) != SQLITE_OK) abort();
    }
    if (size < 2) return 0;
    const int dim = 1 + data[0] % 8;      /* what the caller asks for */
    const int stored_dim = (signed char)data[1]; /* what the row claims */
    const char *text = "fuzzed text";
    unsigned char hash[32];
    hr_sha256 h;
    hr_sha256_init(&h);
    hr_sha256_update(&h, text, strlen(text));
    hr_sha256_final(&h, hash);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "INSERT OR REPLACE INTO embedding (model_id, text_hash, dim, embedding) "
                           "VALUES ('m', ?1, ?2, ?3)",
                           -1, &st, NULL) != SQLITE_OK)
        abort();
    sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, stored_dim);
    sqlite3_bind_blob(st, 3, data + 2, (int)(size - 2), SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) abort();
    sqlite3_finalize(st);
    float out[8];
    unsigned char found = 0;
    size_t hits = 0;
    const char *texts[1] = {text};
    if (hr_cache_get(c, "m", dim, texts, NULL, 1, out, &found, &hits, err, sizeof err) == HR_OK &&
        found) {
        for (int i = 0; i < dim; i++) {
            volatile float sink = out[i];
            (void)sink;
        }
    }
    return 0;
}
