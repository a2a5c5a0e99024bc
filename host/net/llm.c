/*
 * host/net/llm.c: the chat-completions client (see hyporank/llm.h), on the
 * transport in host/net/http.c.
 *
 * The answer cache is a table of its own in the embedding cache's file
 * (host/io/cache.c's schema is left alone):
 *
 *     CREATE TABLE llm_answer (
 *         request_hash      BLOB PRIMARY KEY, -- SHA-256 of request_key() below, 32 bytes
 *         model             TEXT NOT NULL,    -- the endpoint's model name
 *         request           TEXT NOT NULL,    -- the JSON body sent (no key: that is a header)
 *         answer            TEXT NOT NULL,    -- choices[0].message.content
 *         finish_reason     TEXT,
 *         prompt_tokens     INTEGER NOT NULL,
 *         completion_tokens INTEGER NOT NULL,
 *         created           INTEGER NOT NULL) -- Unix time
 *
 * Each answer is one INSERT in autocommit mode, i.e. its own transaction,
 * committed before the next reply is read: a process killed at any point
 * keeps every answer it has stored and nothing half-written (WAL mode,
 * synchronous=NORMAL, as host/io/cache.c). Only usable answers are stored.
 */
#include "hyporank/llm.h"
#include "hyporank/corpus.h" /* hr_utf8_valid */
#include "hyporank/hash.h"
#include "net/http.h"
#include "core/util.h"

#include <cjson/cJSON.h>
#include <sqlite3.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHAT_MAX_RESPONSE ((size_t)4 << 20) /* 4 MiB: far above any chat answer */
#define QUOTE_REPLY 120                      /* bytes of a bad reply quoted in its error */

static const char create_sql[] =
    "CREATE TABLE IF NOT EXISTS llm_answer ("
    " request_hash BLOB PRIMARY KEY,"
    " model TEXT NOT NULL,"
    " request TEXT NOT NULL,"
    " answer TEXT NOT NULL,"
    " finish_reason TEXT,"
    " prompt_tokens INTEGER NOT NULL,"
    " completion_tokens INTEGER NOT NULL,"
    " created INTEGER NOT NULL)";

struct hr_llm {
    hr_http *http;
    char *model;
    char *cache_path;   /* for messages; NULL: no cache */
    sqlite3 *db;
    sqlite3_stmt *get;  /* request_hash -> answer, finish_reason, prompt, completion tokens */
    sqlite3_stmt *put;
    double usd_prompt, usd_completion; /* per million tokens */
    hr_remote_progress_fn progress;
    void *progress_user;
    hr_remote_stats totals;
    char last_error[512];  /* the last request's or run's error, "" when none yet */
    /* spending caps (hr_llm_set_budget) */
    size_t max_requests;   /* 0: no cap */
    double max_usd;        /* 0: no cap */
    size_t admitted;       /* requests admitted since the caps were set */
    double spent_usd;      /* usage at the prices; estimates where a reply had none */
    double prompt_bytes_seen, prompt_tokens_seen; /* replies with usage: for the
                                                     bytes-per-token estimate */
};

/* ---- create / destroy ------------------------------------------------------------- */

static hr_status fail_db(const hr_llm *llm, char *err, size_t errlen, const char *what)
{
    return hr_fail(HR_ERR_CACHE, err, errlen, "cache %s: %s: %s", llm->cache_path, what,
                   sqlite3_errmsg(llm->db));
}

hr_status hr_llm_create(const hr_remote_options *opts, hr_llm **out, char *err, size_t errlen)
{
    if (!out)
        return hr_fail(HR_ERR_INTERNAL, err, errlen, "llm: no place for the handle");
    *out = NULL;
    hr_llm *llm = calloc(1, sizeof *llm);
    if (!llm)
        return hr_fail(HR_ERR_NOMEM, err, errlen, "llm: out of memory");
    hr_status s = hr_http_create(opts, "chat/completions", CHAT_MAX_RESPONSE, &llm->http, err,
                                 errlen);
    if (s != HR_OK)
        goto fail;
    llm->model = strdup(opts->model);
    if (!llm->model) {
        s = hr_fail(HR_ERR_NOMEM, err, errlen, "llm: out of memory");
        goto fail;
    }
    llm->usd_prompt = opts->usd_per_mtok_prompt;
    llm->usd_completion = opts->usd_per_mtok_completion;
    llm->progress = opts->progress;
    llm->progress_user = opts->progress_user;

    if (opts->cache_path && opts->cache_path[0]) {
        llm->cache_path = strdup(opts->cache_path);
        if (!llm->cache_path) {
            s = hr_fail(HR_ERR_NOMEM, err, errlen, "llm: out of memory");
            goto fail;
        }
        if ((s = hr_http_db_open(opts->cache_path, create_sql, &llm->db, err, errlen)) != HR_OK)
            goto fail;
        if (sqlite3_prepare_v3(llm->db,
                               "SELECT answer, finish_reason, prompt_tokens, completion_tokens "
                               "FROM llm_answer WHERE request_hash = ?1",
                               -1, SQLITE_PREPARE_PERSISTENT, &llm->get, NULL) != SQLITE_OK ||
            sqlite3_prepare_v3(llm->db,
                               "INSERT OR REPLACE INTO llm_answer (request_hash, model, request, "
                               "answer, finish_reason, prompt_tokens, completion_tokens, created) "
                               "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                               -1, SQLITE_PREPARE_PERSISTENT, &llm->put, NULL) != SQLITE_OK) {
            s = fail_db(llm, err, errlen, "preparing a statement");
            goto fail;
        }
    }
    *out = llm;
    return HR_OK;

fail:
    hr_llm_destroy(llm);
    return s;
}

void hr_llm_destroy(hr_llm *llm)
{
    if (!llm)
        return;
    sqlite3_finalize(llm->get);
    sqlite3_finalize(llm->put);
    sqlite3_close(llm->db);
    hr_http_destroy(llm->http);
    free(llm->model);
    free(llm->cache_path);
    free(llm);
}

const char *hr_llm_url(const hr_llm *llm) { return llm ? hr_http_url(llm->http) : NULL; }

const char *hr_llm_last_error(const hr_llm *llm)
{
    return llm && llm->last_error[0] ? llm->last_error : NULL;
}

hr_remote_stats hr_llm_totals(const hr_llm *llm)
{
    hr_remote_stats z;
    memset(&z, 0, sizeof z);
    return llm ? llm->totals : z;
}

void hr_llm_results_free(hr_llm_result *results, size_t n)
{
    if (!results)
        return;
    for (size_t i = 0; i < n; i++) {
        free(results[i].content);
        free(results[i].error);
        results[i].content = results[i].error = NULL;
    }
}

/* ---- spending ------------------------------------------------------------------------ */

/* Bytes a prompt token is taken to cover before any reply showed usage,
 * and at most: English text runs about 4 bytes a token in BPE tokenizers. */
#define ESTIMATE_BYTES_PER_TOKEN 3.0
/* The message framing of the chat format, in tokens per request. */
#define ESTIMATE_FRAMING_TOKENS 12

static double bytes_per_token(const hr_llm *llm)
{
    if (llm->prompt_tokens_seen < 1)
        return ESTIMATE_BYTES_PER_TOKEN;
    const double r = 0.9 * llm->prompt_bytes_seen / llm->prompt_tokens_seen;
    return r < 1 ? 1 : (r > 6 ? 6 : r);
}

static size_t prompt_bytes(const hr_llm_request *rq)
{
    return (rq->system ? strlen(rq->system) : 0) + (rq->user ? strlen(rq->user) : 0);
}

double hr_llm_estimate(const hr_llm *llm, const hr_llm_request *rq, long long *prompt_tokens,
                       long long *completion_tokens)
{
    const long long pt = (long long)ceil((double)prompt_bytes(rq) / bytes_per_token(llm)) +
                         ESTIMATE_FRAMING_TOKENS;
    const long long ct = rq->expect_tokens > 0 ? rq->expect_tokens
                         : rq->max_tokens > 0  ? rq->max_tokens
                                               : 256;
    if (prompt_tokens)
        *prompt_tokens = pt;
    if (completion_tokens)
        *completion_tokens = ct;
    return ((double)pt * llm->usd_prompt + (double)ct * llm->usd_completion) / 1e6;
}

void hr_llm_set_budget(hr_llm *llm, size_t max_requests, double max_usd)
{
    if (!llm)
        return;
    llm->max_requests = max_requests;
    llm->max_usd = max_usd > 0 && isfinite(max_usd) ? max_usd : 0;
    llm->admitted = 0;
    llm->spent_usd = 0;
}

void hr_llm_budget_left(const hr_llm *llm, size_t *requests, double *usd)
{
    if (requests)
        *requests = !llm || !llm->max_requests ? SIZE_MAX
                    : llm->admitted >= llm->max_requests ? 0
                                                          : llm->max_requests - llm->admitted;
    if (usd)
        *usd = !llm || llm->max_usd <= 0 ? INFINITY
               : llm->spent_usd >= llm->max_usd ? 0
                                                : llm->max_usd - llm->spent_usd;
}

double hr_llm_spent_usd(const hr_llm *llm) { return llm ? llm->spent_usd : 0; }

/* ---- requests ------------------------------------------------------------------------ */

static void feed_u64(hr_sha256 *h, uint64_t v)
{
    unsigned char b[8];
    for (int k = 0; k < 8; k++)
        b[k] = (unsigned char)(v >> (8 * k));
    hr_sha256_update(h, b, 8);
}

/* A string as its length then its bytes, so that no two different field lists
 * hash the same; NULL as a length no string has. */
static void feed_str(hr_sha256 *h, const char *s)
{
    if (!s) {
        feed_u64(h, UINT64_MAX);
        return;
    }
    size_t n = strlen(s);
    feed_u64(h, (uint64_t)n);
    hr_sha256_update(h, s, n);
}

/* The cache key: what decides the answer (model, messages, parameters) and
 * nothing else: not the URL, not the API key. */
static void request_key(const char *model, const hr_llm_request *rq, unsigned char key[32])
{
    hr_sha256 h;
    hr_sha256_init(&h);
    feed_str(&h, "hyporank llm_answer v1");
    feed_str(&h, model);
    feed_str(&h, rq->system);
    feed_str(&h, rq->user);
    char num[64];
    if (rq->temperature >= 0)
        snprintf(num, sizeof num, "%.17g", rq->temperature);
    else
        snprintf(num, sizeof num, "default");
    feed_str(&h, num);
    feed_u64(&h, (uint64_t)(rq->max_tokens > 0 ? rq->max_tokens : 0));
    feed_u64(&h, (uint64_t)(rq->json_object ? 1 : 0));
    feed_u64(&h, (uint64_t)(int64_t)rq->sample);
    hr_sha256_final(&h, key);
}

static hr_status check_request(const hr_llm_request *rq, size_t i, char *err, size_t errlen)
{
    if (!rq->user)
        return hr_fail(HR_ERR_INPUT, err, errlen, "llm request %zu: no user message", i);
    if (isnan(rq->temperature) || rq->temperature > 2)
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "llm request %zu: temperature %g is out of range (0..2, or negative "
                       "for the endpoint's default)", i, rq->temperature);
    if (rq->max_tokens < 0)
        return hr_fail(HR_ERR_INPUT, err, errlen, "llm request %zu: max_tokens %d is negative",
                       i, rq->max_tokens);
    return HR_OK;
}

/* The JSON body: model, messages, and the parameters that are set. */
static char *request_body(const char *model, const hr_llm_request *rq)
{
    cJSON *j = cJSON_CreateObject();
    cJSON *msgs = NULL;
    char *out = NULL;
    if (!j || !cJSON_AddStringToObject(j, "model", model) ||
        !(msgs = cJSON_AddArrayToObject(j, "messages")))
        goto done;
    const char *roles[2] = {"system", "user"};
    const char *texts[2] = {rq->system, rq->user};
    for (int k = 0; k < 2; k++) {
        if (!texts[k])
            continue;
        cJSON *m = cJSON_CreateObject();
        if (!m)
            goto done;
        cJSON_AddItemToArray(msgs, m);
        if (!cJSON_AddStringToObject(m, "role", roles[k]) ||
            !cJSON_AddStringToObject(m, "content", texts[k]))
            goto done;
    }
    if (rq->temperature >= 0 && !cJSON_AddNumberToObject(j, "temperature", rq->temperature))
        goto done;
    if (rq->max_tokens > 0 && !cJSON_AddNumberToObject(j, "max_tokens", rq->max_tokens))
        goto done;
    if (rq->json_object) {
        cJSON *rf = cJSON_AddObjectToObject(j, "response_format");
        if (!rf || !cJSON_AddStringToObject(rf, "type", "json_object"))
            goto done;
    }
    out = cJSON_PrintUnformatted(j);
done:
    cJSON_Delete(j);
    return out;
}

/* ---- one batch ------------------------------------------------------------------------- */

/* A group of identical requests (same key): sent once, as members[0]. */
typedef struct member {
    unsigned char key[32];
    size_t idx;
} member;

static int cmp_member(const void *a, const void *b)
{
    const member *x = a, *y = b;
    int c = memcmp(x->key, y->key, 32);
    if (c)
        return c;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

typedef struct group {
    size_t first; /* into ctx.members */
    size_t count;
    size_t idx;   /* the request sent: members[first].idx, the group's lowest index */
} group;

static int cmp_group(const void *a, const void *b)
{
    size_t x = ((const group *)a)->idx, y = ((const group *)b)->idx;
    return x < y ? -1 : x > y;
}

typedef struct ctx {
    hr_llm *llm;
    const hr_llm_request *reqs;
    hr_llm_result *results;
    unsigned char *filled;  /* (n) 1 once results[i] is final */
    member *members;        /* the misses, grouped by key */
    group *groups;          /* one per request sent */
    size_t n, done_items;
    hr_remote_stats *st;
} ctx;

static void progress(ctx *c, size_t more)
{
    c->done_items += more;
    if (c->llm->progress)
        c->llm->progress(c->done_items, c->n, c->llm->progress_user);
}

static hr_status build_cb(void *user, size_t g, char **body, size_t *len, char *err,
                          size_t errlen)
{
    ctx *c = user;
    size_t i = c->groups[g].idx;
    *body = request_body(c->llm->model, &c->reqs[i]);
    if (!*body)
        return hr_fail(HR_ERR_NOMEM, err, errlen, "llm: out of memory building request %zu", i);
    *len = strlen(*body);
    return HR_OK;
}

/* Copies the answer (or error) of a group's first member to the others. */
static hr_status fill_group(ctx *c, size_t g, hr_status st, const char *content,
                            const char *error, int truncated, int attempts, long long pt,
                            long long ct, char *err, size_t errlen)
{
    const group *gr = &c->groups[g];
    for (size_t k = 0; k < gr->count; k++) {
        size_t i = c->members[gr->first + k].idx;
        hr_llm_result *r = &c->results[i];
        free(r->content);
        free(r->error);
        r->content = r->error = NULL;
        r->status = st;
        r->truncated = truncated;
        r->attempts = k == 0 ? attempts : 0;
        r->prompt_tokens = pt;
        r->completion_tokens = ct;
        if (content && !(r->content = strdup(content)))
            return hr_fail(HR_ERR_NOMEM, err, errlen, "llm: out of memory");
        if (error && !(r->error = strdup(error)))
            return hr_fail(HR_ERR_NOMEM, err, errlen, "llm: out of memory");
        c->filled[i] = 1;
        c->st->sent++;
        if (st != HR_OK)
            c->st->failed++;
        if (st != HR_OK && error && k == 0)
            snprintf(c->llm->last_error, sizeof c->llm->last_error, "%s", error);
    }
    progress(c, gr->count);
    return HR_OK;
}

/* A token count from usage: a whole number >= 0, else 0. */
static long long usage_count(const cJSON *usage, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(usage, name);
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) || v->valuedouble > 9e15)
        return 0;
    return (long long)v->valuedouble;
}

static hr_status reply_cb(void *user, size_t g, const hr_http_reply *rep, int *bad, char *err,
                          size_t errlen)
{
    ctx *c = user;
    hr_llm *llm = c->llm;
    const member *m0 = &c->members[c->groups[g].first];
    const hr_llm_request *rq = &c->reqs[m0->idx];
    const char *url = hr_http_url(llm->http);
    char why[512] = "";
    int endpoint_fault = 1; /* the reply itself is broken, not just this answer */
    char *quoted = NULL;
    hr_status s = HR_OK;

    size_t bad_at = 0;
    const int utf8 = hr_utf8_valid(rep->body, rep->len, &bad_at);
    cJSON *j = utf8 ? cJSON_ParseWithLength(rep->body, rep->len) : NULL;
    const cJSON *content = NULL, *finish = NULL, *usage = NULL;
    if (!utf8) {
        snprintf(why, sizeof why, "the reply from %s is not valid UTF-8 (byte %zu of %zu)", url,
                 bad_at, rep->len);
    } else if (!j) {
        quoted = hr_http_quote(rep->body, rep->len, QUOTE_REPLY);
        snprintf(why, sizeof why, "the reply from %s is not JSON: %s", url,
                 quoted ? quoted : "");
    } else {
        const cJSON *choices = cJSON_GetObjectItemCaseSensitive(j, "choices");
        const cJSON *c0 = cJSON_IsArray(choices) ? cJSON_GetArrayItem(choices, 0) : NULL;
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(c0, "message");
        content = cJSON_GetObjectItemCaseSensitive(msg, "content");
        finish = cJSON_GetObjectItemCaseSensitive(c0, "finish_reason");
        usage = cJSON_GetObjectItemCaseSensitive(j, "usage");
        if (!cJSON_IsObject(c0)) {
            quoted = hr_http_quote(rep->body, rep->len, QUOTE_REPLY);
            snprintf(why, sizeof why,
                     "the reply from %s is not a chat completion (no choices[0]): %s", url,
                     quoted ? quoted : "");
        } else if (!cJSON_IsString(content)) {
            const cJSON *refusal = cJSON_GetObjectItemCaseSensitive(msg, "refusal");
            if (cJSON_IsString(refusal)) {
                quoted = hr_http_quote(refusal->valuestring, strlen(refusal->valuestring),
                                       QUOTE_REPLY);
                snprintf(why, sizeof why, "the model refused: %s", quoted ? quoted : "");
                endpoint_fault = 0;
            } else {
                snprintf(why, sizeof why,
                         "the reply from %s has no text in choices[0].message.content", url);
            }
        } else if (rq->json_object) {
            cJSON *obj = cJSON_Parse(content->valuestring);
            if (!cJSON_IsObject(obj)) {
                quoted = hr_http_quote(content->valuestring, strlen(content->valuestring),
                                       QUOTE_REPLY);
                snprintf(why, sizeof why, "asked for a JSON object, the answer is not one: %s",
                         quoted ? quoted : "");
                endpoint_fault = 0; /* the model's doing: other answers may be fine */
            }
            cJSON_Delete(obj);
        }
    }
    free(quoted);

    long long pt = usage_count(usage, "prompt_tokens");
    long long ct = usage_count(usage, "completion_tokens");
    c->st->prompt_tokens += pt; /* tokens were spent whether or not the answer is usable */
    c->st->completion_tokens += ct;
    if (cJSON_IsObject(usage) && pt > 0) {
        llm->spent_usd += ((double)pt * llm->usd_prompt + (double)ct * llm->usd_completion) / 1e6;
        llm->prompt_bytes_seen += (double)prompt_bytes(rq);
        llm->prompt_tokens_seen += (double)pt;
    } else {
        llm->spent_usd += hr_llm_estimate(llm, rq, NULL, NULL); /* no usage: the estimate */
    }

    if (why[0]) {
        hr_http_redact(llm->http, why);
        *bad = endpoint_fault;
        snprintf(err, errlen, "%s", why);
        s = fill_group(c, g, HR_ERR_IO, NULL, why, 0, rep->attempts, pt, ct, err, errlen);
        cJSON_Delete(j);
        return s;
    }

    const char *fin = cJSON_IsString(finish) ? finish->valuestring : NULL;
    int truncated = fin && strcmp(fin, "length") == 0;
    if (llm->db) {
        /* Stored before anything else happens: the answer is safe from here on. */
        sqlite3_stmt *p = llm->put;
        if (sqlite3_bind_blob(p, 1, m0->key, 32, SQLITE_STATIC) != SQLITE_OK ||
            sqlite3_bind_text(p, 2, llm->model, -1, SQLITE_STATIC) != SQLITE_OK ||
            sqlite3_bind_text(p, 3, rep->request, (int)rep->request_len, SQLITE_STATIC) !=
                SQLITE_OK ||
            sqlite3_bind_text(p, 4, content->valuestring, -1, SQLITE_STATIC) != SQLITE_OK ||
            (fin ? sqlite3_bind_text(p, 5, fin, -1, SQLITE_STATIC)
                 : sqlite3_bind_null(p, 5)) != SQLITE_OK ||
            sqlite3_bind_int64(p, 6, pt) != SQLITE_OK ||
            sqlite3_bind_int64(p, 7, ct) != SQLITE_OK ||
            sqlite3_bind_int64(p, 8, (sqlite3_int64)time(NULL)) != SQLITE_OK) {
            s = fail_db(llm, err, errlen, "binding an answer");
        } else if (sqlite3_step(p) != SQLITE_DONE) {
            s = fail_db(llm, err, errlen, "storing an answer");
        }
        sqlite3_reset(p);
        sqlite3_clear_bindings(p);
    }
    if (s == HR_OK)
        s = fill_group(c, g, HR_OK, content->valuestring, NULL, truncated, rep->attempts, pt,
                       ct, err, errlen);
    cJSON_Delete(j);
    return s;
}

static hr_status fail_cb(void *user, size_t g, hr_status st, const char *msg, int attempts,
                         char *err, size_t errlen)
{
    ctx *c = user;
    return fill_group(c, g, st, NULL, msg, 0, attempts, 0, 0, err, errlen);
}

/* Fills results from the cache; sets filled[i] and counts hits. */
static hr_status lookup(hr_llm *llm, const unsigned char *keys, size_t n, hr_llm_result *results,
                        unsigned char *filled, size_t *hits, char *err, size_t errlen)
{
    *hits = 0;
    if (!llm->db)
        return HR_OK;
    /* One read transaction: one snapshot, no lock taken per request. */
    if (sqlite3_exec(llm->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return fail_db(llm, err, errlen, "BEGIN");
    hr_status s = HR_OK;
    for (size_t i = 0; i < n && s == HR_OK; i++) {
        sqlite3_stmt *g = llm->get;
        if (sqlite3_bind_blob(g, 1, keys + 32 * i, 32, SQLITE_STATIC) != SQLITE_OK) {
            s = fail_db(llm, err, errlen, "binding a key");
            break;
        }
        int rc = sqlite3_step(g);
        if (rc == SQLITE_ROW) {
            const unsigned char *a = sqlite3_column_text(g, 0);
            const unsigned char *f = sqlite3_column_text(g, 1);
            if (a) {
                hr_llm_result *r = &results[i];
                r->content = strdup((const char *)a);
                if (!r->content) {
                    s = hr_fail(HR_ERR_NOMEM, err, errlen, "llm: out of memory");
                } else {
                    r->status = HR_OK;
                    r->from_cache = 1;
                    r->truncated = f && strcmp((const char *)f, "length") == 0;
                    r->prompt_tokens = sqlite3_column_int64(g, 2);
                    r->completion_tokens = sqlite3_column_int64(g, 3);
                    filled[i] = 1;
                    (*hits)++;
                }
            }
        } else if (rc != SQLITE_DONE) {
            s = fail_db(llm, err, errlen, "reading an answer");
        }
        sqlite3_reset(g);
    }
    sqlite3_clear_bindings(llm->get);
    if (s == HR_OK && sqlite3_exec(llm->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        s = fail_db(llm, err, errlen, "COMMIT");
    if (s != HR_OK && !sqlite3_get_autocommit(llm->db))
        sqlite3_exec(llm->db, "ROLLBACK", NULL, NULL, NULL);
    return s;
}

hr_status hr_llm_cached(hr_llm *llm, const hr_llm_request *reqs, size_t n, unsigned char *cached,
                        char *err, size_t errlen)
{
    if (!llm || (n > 0 && (!reqs || !cached)))
        return hr_fail(HR_ERR_INTERNAL, err, errlen, "llm: bad arguments to hr_llm_cached");
    memset(cached, 0, n);
    if (!llm->db || n == 0)
        return HR_OK;
    unsigned char *keys = malloc(n * 32);
    hr_llm_result *tmp = calloc(n, sizeof *tmp);
    hr_status s = HR_OK;
    size_t hits = 0;
    if (!keys || !tmp) {
        s = hr_fail(HR_ERR_NOMEM, err, errlen, "llm: out of memory");
    } else {
        for (size_t i = 0; i < n; i++)
            request_key(llm->model, &reqs[i], keys + 32 * i);
        s = lookup(llm, keys, n, tmp, cached, &hits, err, errlen);
        hr_llm_results_free(tmp, n);
    }
    free(keys);
    free(tmp);
    return s;
}

hr_status hr_llm_run(hr_llm *llm, const hr_llm_request *reqs, size_t n, hr_llm_result *results,
                     hr_remote_stats *stats, char *err, size_t errlen)
{
    hr_remote_stats st;
    memset(&st, 0, sizeof st);
    if (stats)
        *stats = st;
    if (!llm || (n > 0 && (!reqs || !results)))
        return hr_fail(HR_ERR_INTERNAL, err, errlen, "llm: bad arguments to hr_llm_run");
    double t0 = hr_http_now();
    memset(results, 0, n * sizeof *results);
    for (size_t i = 0; i < n; i++) {
        hr_status s = check_request(&reqs[i], i, err, errlen);
        if (s != HR_OK)
            return s;
    }
    st.items = n;
    if (n == 0)
        return HR_OK;

    hr_status s = HR_OK;
    unsigned char *keys = malloc(n * 32);
    unsigned char *filled = calloc(n, 1);
    member *members = malloc(n * sizeof *members);
    group *groups = malloc(n * sizeof *groups);
    if (!keys || !filled || !members || !groups) {
        s = hr_fail(HR_ERR_NOMEM, err, errlen, "llm: out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        request_key(llm->model, &reqs[i], keys + 32 * i);

    size_t hits = 0;
    if ((s = lookup(llm, keys, n, results, filled, &hits, err, errlen)) != HR_OK)
        goto done;
    st.cache_hits = hits;

    /* The misses, grouped by key; groups sent in the order of their first request. */
    size_t nm = 0, ng = 0;
    for (size_t i = 0; i < n; i++)
        if (!filled[i]) {
            memcpy(members[nm].key, keys + 32 * i, 32);
            members[nm++].idx = i;
        }
    qsort(members, nm, sizeof *members, cmp_member);
    for (size_t k = 0; k < nm; k++) {
        if (k > 0 && memcmp(members[k].key, members[k - 1].key, 32) == 0) {
            groups[ng - 1].count++;
        } else {
            groups[ng].first = k;
            groups[ng].idx = members[k].idx;
            groups[ng++].count = 1;
        }
    }
    qsort(groups, ng, sizeof *groups, cmp_group);

    ctx c = {llm, reqs, results, filled, members, groups, n, 0, &st};
    progress(&c, hits);
    /* The caps: groups are admitted in order while they fit; from the
     * first that does not, none is sent. */
    if (llm->max_requests || llm->max_usd > 0) {
        double reserved = 0;
        size_t admit = 0;
        for (; admit < ng; admit++) {
            const double est = hr_llm_estimate(llm, &reqs[groups[admit].idx], NULL, NULL);
            if ((llm->max_requests && llm->admitted + 1 > llm->max_requests) ||
                (llm->max_usd > 0 && llm->spent_usd + reserved + est > llm->max_usd))
                break;
            reserved += est;
            llm->admitted++;
        }
        for (size_t g = admit; g < ng && s == HR_OK; g++) {
            char why[160];
            snprintf(why, sizeof why, "not sent: the run's budget (%zu requests, $%.4f) is spent",
                     llm->max_requests, llm->max_usd);
            s = fill_group(&c, g, HR_ERR_IO, NULL, why, 0, 0, 0, 0, err, errlen);
            for (size_t k = 0; k < groups[g].count; k++)
                results[members[groups[g].first + k].idx].not_sent = 1;
            st.sent -= groups[g].count;
            st.failed -= groups[g].count;
        }
        if (s != HR_OK)
            goto done;
        ng = admit;
    }
    hr_http_counts counts;
    s = hr_http_run(llm->http, ng, build_cb, reply_cb, fail_cb, &c, &counts, err, errlen);
    st.http_requests = counts.requests;
    st.retries = counts.retries;

done:
    if (s != HR_OK) {
        /* Stopped: the requests without an answer carry the reason. */
        snprintf(llm->last_error, sizeof llm->last_error, "%s",
                 err && errlen && err[0] ? err : hr_status_str(s));
        for (size_t i = 0; i < n; i++)
            if (!filled || !filled[i]) {
                results[i].status = s;
                free(results[i].error);
                results[i].error = strdup(err && errlen && err[0] ? err : hr_status_str(s));
                st.failed++;
            }
    }
    st.cost_usd = ((double)st.prompt_tokens * llm->usd_prompt +
                   (double)st.completion_tokens * llm->usd_completion) / 1e6;
    st.seconds = hr_http_now() - t0;
    llm->totals.items += st.items;
    llm->totals.cache_hits += st.cache_hits;
    llm->totals.sent += st.sent;
    llm->totals.failed += st.failed;
    llm->totals.http_requests += st.http_requests;
    llm->totals.retries += st.retries;
    llm->totals.prompt_tokens += st.prompt_tokens;
    llm->totals.completion_tokens += st.completion_tokens;
    llm->totals.cost_usd += st.cost_usd;
    llm->totals.seconds += st.seconds;
    if (stats)
        *stats = st;
    free(keys);
    free(filled);
    free(members);
    free(groups);
    return s;
}
