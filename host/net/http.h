/*
 * host/net/http.h: the transport shared by the chat client (llm.c) and the remote
 * embedder (remote_embed.c); internal, not public.
 *
 * hr_http runs a batch of JSON POSTs to one endpoint over libcurl's multi
 * interface, with the retry, backoff, fail-fast and size rules described in
 * hyporank/llm.h. The caller supplies three callbacks, all called on the
 * calling thread from inside hr_http_run:
 *
 *     build(user, i, &body, &len)   makes request i's body (malloc'ed; the
 *                                   transport frees it once i is finished);
 *                                   called when i is first started
 *     reply(user, i, &reply, &bad, ...)  request i got a 2xx reply; when
 *                                   the reply was unusable (not JSON, wrong
 *                                   shape) the callback records that itself,
 *                                   sets bad = 1, writes the reason to err and
 *                                   returns HR_OK: such replies count towards
 *                                   giving up, as requests out of retries do
 *     fail(user, i, st, msg, ...)   request i failed for good (msg: one line)
 *
 * Each of them returns HR_OK to go on, or an error status (with err filled)
 * that stops the run: hr_http_run then returns that status. When the run stops
 * early (a callback's error, or fail-fast), requests not finished get no
 * callback; the caller marks them itself.
 *
 * Also here: opening the cache file with plain SQLite for the tables the
 * remote clients keep beside the embedding cache, and small helpers.
 */
#ifndef HYPORANK_HTTP_H
#define HYPORANK_HTTP_H

#include "hyporank/llm.h"
#include "hyporank/status.h"

#include <sqlite3.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hr_http hr_http;

typedef struct hr_http_reply {
    const char *body; /* the reply's bytes, NUL-terminated after len */
    size_t len;
    const char *request; /* the body that was sent (request_len bytes) */
    size_t request_len;
    long code;        /* HTTP status, 200..299 */
    int attempts;     /* attempts made for this request, this one included */
} hr_http_reply;

typedef hr_status (*hr_http_build_fn)(void *user, size_t i, char **body, size_t *len,
                                      char *err, size_t errlen);
typedef hr_status (*hr_http_reply_fn)(void *user, size_t i, const hr_http_reply *reply,
                                      int *bad, char *err, size_t errlen);
typedef hr_status (*hr_http_fail_fn)(void *user, size_t i, hr_status st, const char *msg,
                                     int attempts, char *err, size_t errlen);

/* Counts of one hr_http_run. */
typedef struct hr_http_counts {
    size_t requests; /* HTTP requests started, retries included */
    size_t retries;
} hr_http_counts;

/* Checks the transport options (url, concurrency, timeouts, retries) and makes
 * a client for {url}/v1/{path} (path: "chat/completions", "embeddings").
 * default_max_response: the reply cap when o->max_response_bytes is 0. */
hr_status hr_http_create(const hr_remote_options *o, const char *path,
                         size_t default_max_response, hr_http **out, char *err, size_t errlen);
void hr_http_destroy(hr_http *h); /* accepts NULL; wipes the key from memory */

/* The endpoint's URL without credentials or query, for messages. */
const char *hr_http_url(const hr_http *h);

/* Runs requests 0..n-1. counts may be NULL. */
hr_status hr_http_run(hr_http *h, size_t n, hr_http_build_fn build, hr_http_reply_fn reply,
                      hr_http_fail_fn fail, void *user, hr_http_counts *counts,
                      char *err, size_t errlen);

/* Replaces every occurrence of the API key in s (NUL-terminated, in place) by
 * "[redacted]" when it fits, else by '*'s. */
void hr_http_redact(const hr_http *h, char *s);

/* Calls the options' log callback (when set) with a formatted line. */
void hr_http_log(const hr_http *h, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Copies at most max bytes of s into a new string, control characters turned
 * into spaces, "..." appended when cut; for quoting server text in messages.
 * Returns NULL when out of memory. */
char *hr_http_quote(const char *s, size_t len, size_t max);

/* Opens path as a hyporank cache file (hr_cache_open sets it up, or refuses a
 * file that is not one) and returns a plain SQLite connection to it, in WAL
 * mode with a busy timeout, after running create_sql (CREATE TABLE IF NOT
 * EXISTS ...) in a write transaction. */
hr_status hr_http_db_open(const char *path, const char *create_sql, sqlite3 **out,
                          char *err, size_t errlen);

/* Wall-clock seconds from a monotonic clock. */
double hr_http_now(void);

#ifdef __cplusplus
}
#endif

#endif
