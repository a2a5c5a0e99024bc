/*
 * hyporank/llm.h: a client for OpenAI-compatible chat completions
 * (POST {url}/v1/chat/completions), for the LLM proposer and verifier.
 *
 * A batch of requests runs over libcurl's multi interface, `concurrency` at a
 * time, each attempt under a timeout. 429, 408, 5xx replies, timeouts and
 * dropped connections are retried with exponential backoff and full jitter
 * (a Retry-After or retry-after-ms header is honoured, up to a cap, and a 429
 * holds back every request, not only the one that got it). Replies larger
 * than a cap are cut off and refused. TLS certificates are always verified.
 *
 * Fail fast, no retry storm: the first request of a client goes out alone;
 * the rest follow only once the endpoint has answered it. A 401, 403 or 404,
 * a redirect, a TLS failure, or a connection refused / unresolvable host
 * before the endpoint ever answered, stops the whole batch at once with one
 * message ("cannot reach http://127.0.0.1:9: connection refused", "the
 * endpoint ... rejected the API key (401 Unauthorized)", "model 'x' not found
 * at ... (404)") and status HR_ERR_INPUT (the CLI's exit status 2). While a
 * request waits to be retried no new request starts, and three requests in a
 * row that run out of retries (or get replies that are not JSON chat
 * completions) stop the batch (HR_ERR_IO), so a failing endpoint sees at
 * most about (3 + concurrency) * (max_retries + 1) requests.
 * Any other failure (a 400, a reply that is not JSON or not shaped like a
 * chat completion, retries run out) fails that request only: the batch goes
 * on and hr_llm_run returns HR_OK with the error in that request's result.
 *
 * Timeouts tell "no connection" (nothing answered the connect within
 * connect_timeout_s: "cannot reach ...", like a refused connection) from "no
 * reply" (connected, but no answer within timeout_s). An endpoint that has
 * never answered and lets a request go without reply twice stops the batch
 * ("no reply from ...", HR_ERR_IO) instead of waiting out every retry.
 * deadline_s bounds the client's whole work, and wait_notice_s makes a long
 * wait visible through the log callback.
 *
 * The API key comes from the environment: $HYPORANK_API_KEY, else
 * $OPENAI_API_KEY (none: no Authorization header). It is sent as
 * "Authorization: Bearer KEY" and nowhere else: never in a message, a cache
 * key, the cache file or a log line (server messages that quote it are
 * redacted).
 *
 * Cache: with opts.cache_path set, every answer is stored in the table
 * llm_answer of that SQLite file (the same file as the embedding cache,
 * hyporank/cache.h), keyed by the SHA-256 of the model name, the messages and
 * the parameters (not the URL, not the key). Each answer is committed the
 * moment it arrives, so a run killed even by SIGKILL keeps every answer it
 * received, and the next run sends only the rest. Identical requests in one
 * batch are sent once.
 *
 *     hr_remote_options o;
 *     hr_remote_options_init(&o);
 *     o.url = "http://127.0.0.1:8080";          // or https://api.openai.com(/v1)
 *     o.model = "gpt-4o-mini";
 *     o.cache_path = hr_cache_default_path(buf, sizeof buf);
 *     hr_llm *llm;
 *     if (hr_llm_create(&o, &llm, err, sizeof err) != HR_OK) ...
 *     hr_llm_request rq[2] = {
 *         {.system = "You are a careful judge.", .user = "...", .temperature = 0,
 *          .max_tokens = 8},
 *         {.user = "...", .temperature = 0, .json_object = 1},
 *     };
 *     hr_llm_result res[2];
 *     hr_remote_stats st;
 *     hr_status s = hr_llm_run(llm, rq, 2, res, &st, err, sizeof err);
 *     // s != HR_OK: the endpoint is unusable (err says why); otherwise look at
 *     // res[i].status: res[i].content on HR_OK, res[i].error otherwise.
 *     hr_llm_results_free(res, 2);
 *     hr_llm_destroy(llm);
 *
 * A client must not be used from two threads at once.
 */
#ifndef HYPORANK_LLM_H
#define HYPORANK_LLM_H

#include "hyporank/status.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Called with the number of items (requests, or texts) finished out of total.
 * Must be cheap; runs on the calling thread. */
typedef void (*hr_remote_progress_fn)(size_t done, size_t total, void *user);
/* Called with one line about a retry or a wait ("429 Too Many Requests from
 * ...; waiting 2.0 s"), for a verbose CLI. Never contains the API key. */
typedef void (*hr_remote_log_fn)(const char *line, void *user);

/* Settings of an OpenAI-compatible endpoint, shared by the chat client here
 * and the embeddings client (hyporank/remote_embed.h). Start from
 * hr_remote_options_init(); the strings are borrowed during create only. */
typedef struct hr_remote_options {
    const char *url;            /* base URL, http:// or https://, with or without a
                                   trailing /v1 ("http://127.0.0.1:8080",
                                   "https://api.openai.com/v1") */
    const char *model;          /* the model name the endpoint knows */
    const char *cache_path;     /* SQLite cache file; NULL or "": no cache */
    const char *ca_file;        /* PEM certificates to trust instead of the system's
                                   (an endpoint with a private CA); NULL: the
                                   system's. Certificates are verified either way */
    int concurrency;            /* requests in flight at once, 1..256 (8) */
    double timeout_s;           /* one attempt, connect to last byte (120) */
    double connect_timeout_s;   /* establishing the connection, within timeout_s (10) */
    double deadline_s;          /* all the client's requests together, from its first:
                                   once it has passed, no request starts and those in
                                   flight are dropped (HR_ERR_IO); 0: none (0) */
    double wait_notice_s;       /* a log line when the oldest request in flight has
                                   waited this long, and again each time as long
                                   ("waiting for ...: 30 s"); 0: none (10) */
    int max_retries;            /* retries after the first attempt, 0..100 (5) */
    double backoff_base_s;      /* retry k (1, 2, ...) waits a uniform random time in
                                   [0, min(backoff_max_s, base * 2^(k-1))] (0.5) */
    double backoff_max_s;       /* (30) */
    double retry_after_max_s;   /* a longer Retry-After is cut to this (60) */
    size_t max_response_bytes;  /* a longer reply is cut off and refused; 0: 4 MiB for
                                   chat, embed_batch * 64 KiB for embeddings (0) */
    double usd_per_mtok_prompt; /* prices for the cost estimate, US dollars per
                                   million tokens; 0: unknown (0) */
    double usd_per_mtok_completion;
    int embed_batch;            /* embeddings only: texts per request, 1..2048 (256) */
    int embed_dim;              /* embeddings only: the expected width; 0: learn it
                                   from the endpoint (one small request per client) */
    int embed_normalize;        /* embeddings only: L2-normalise the rows returned
                                   (the cache keeps them as received) (1) */
    hr_remote_progress_fn progress; /* NULL: none */
    void *progress_user;
    hr_remote_log_fn log;       /* NULL: none */
    void *log_user;
} hr_remote_options;

/* Fills in the defaults above; url and model stay NULL. */
void hr_remote_options_init(hr_remote_options *o);

/* What a run did. Counts are for one call (hr_llm_run, hr_remote_embed). */
typedef struct hr_remote_stats {
    size_t items;             /* requests (chat) or texts (embeddings) asked for */
    size_t cache_hits;        /* items answered from the cache */
    size_t sent;              /* items that went to the endpoint */
    size_t failed;            /* items that ended with an error */
    size_t http_requests;     /* HTTP requests made, retries included */
    size_t retries;           /* of which retries */
    long long prompt_tokens;  /* from the replies' "usage", cache hits excluded */
    long long completion_tokens;
    double cost_usd;          /* estimate from the prices; 0 when they are unknown */
    double seconds;           /* wall time of the call */
} hr_remote_stats;

/* The environment variable the API key came from ("HYPORANK_API_KEY",
 * "OPENAI_API_KEY"), or NULL when neither is set. Never the key itself. */
const char *hr_remote_api_key_source(void);

/* ---- chat completions --------------------------------------------------------- */

typedef struct hr_llm hr_llm;

typedef struct hr_llm_request {
    const char *system;  /* system message, UTF-8; NULL: none */
    const char *user;    /* user message, UTF-8; required */
    double temperature;  /* 0..2; negative: not sent (the endpoint's default) */
    int max_tokens;      /* > 0: sent as max_tokens; 0: not sent */
    int json_object;     /* 1: ask for response_format {"type":"json_object"}, and
                            accept only a reply whose content is a JSON object */
    int sample;          /* not sent; requests that differ only here are separate
                            cache entries (for several samples of one prompt) */
    int expect_tokens;   /* not sent; the answer tokens expected, for cost estimates
                            (0: max_tokens when set, else 256) */
} hr_llm_request;

typedef struct hr_llm_result {
    hr_status status;          /* HR_OK, or why this request failed */
    char *content;             /* HR_OK: the reply's message content (malloc'ed) */
    char *error;               /* otherwise: one line (malloc'ed); else NULL */
    int from_cache;            /* 1: answered from the cache, nothing sent */
    int truncated;             /* 1: finish_reason was "length" (hit max_tokens) */
    int attempts;              /* HTTP requests made for it (0 from the cache) */
    long long prompt_tokens;   /* this request's usage (also for cache hits) */
    long long completion_tokens;
    int not_sent;              /* 1: refused by the client's budget (hr_llm_set_budget):
                                  status HR_ERR_IO, nothing sent */
} hr_llm_result;

/* Checks the options, reads the API key from the environment and opens the
 * cache (creating its file and table when missing). Sends nothing. */
hr_status hr_llm_create(const hr_remote_options *opts, hr_llm **out, char *err, size_t errlen);
void hr_llm_destroy(hr_llm *llm); /* accepts NULL */

/* The endpoint URL requests go to, without any credentials in it. */
const char *hr_llm_url(const hr_llm *llm);

/* Runs n requests and fills results[0..n) (the caller's array; free the strings
 * with hr_llm_results_free). Returns HR_OK when the batch ran, whatever became
 * of single requests; HR_ERR_INPUT when a request is invalid (no user message,
 * temperature above 2: nothing is sent) or the endpoint is unusable (wrong URL,
 * key or model: err has the one message; unanswered requests carry it too);
 * HR_ERR_IO when it keeps failing; HR_ERR_CACHE when the cache cannot be
 * read or written. Answers received before a stop are kept (and cached).
 * stats may be NULL. */
hr_status hr_llm_run(hr_llm *llm, const hr_llm_request *reqs, size_t n, hr_llm_result *results,
                     hr_remote_stats *stats, char *err, size_t errlen);

/* Frees the strings in results[0..n) (not the array) and clears them. */
void hr_llm_results_free(hr_llm_result *results, size_t n);

/* The last error of this client: a request's that failed for good, or the
 * message of a run that stopped (never the key); NULL while there is none.
 * Lives until the next run or hr_llm_destroy. */
const char *hr_llm_last_error(const hr_llm *llm);

/* Sums over every run of this client. */
hr_remote_stats hr_llm_totals(const hr_llm *llm);

/* ---- spending caps ------------------------------------------------------------ */

/* Caps what this client sends from now on, over all its runs: at most
 * max_requests requests to the endpoint (0: no cap) and at most max_usd
 * dollars (0: no cap; needs prices in the options). Answers from the cache
 * are free. hr_llm_run admits the requests it would send in order, each
 * while the requests sent and the dollars spent (the replies' usage at the
 * options' prices; an estimate where a reply has no usage) plus the
 * estimates of those admitted before it stay within the caps; the others
 * get not_sent = 1 and are not sent. */
void hr_llm_set_budget(hr_llm *llm, size_t max_requests, double max_usd);

/* What is left of the caps: requests (SIZE_MAX when uncapped) and dollars
 * (INFINITY when uncapped). Either pointer may be NULL. */
void hr_llm_budget_left(const hr_llm *llm, size_t *requests, double *usd);

/* Dollars spent by this client: the replies' usage at the options' prices,
 * estimated where a reply had no usage block. */
double hr_llm_spent_usd(const hr_llm *llm);

/* A request's cost before it is sent, in tokens and dollars (0 without
 * prices): prompt tokens from the bytes of its messages at the bytes per
 * token the endpoint's replies have shown so far (a tenth fewer, so the
 * estimate leans high; 3 bytes a token before any reply), answer tokens
 * expect_tokens, else max_tokens, else 256. */
double hr_llm_estimate(const hr_llm *llm, const hr_llm_request *rq, long long *prompt_tokens,
                       long long *completion_tokens);

/* cached (n) gets 1 for each request the cache answers (nothing sent). */
hr_status hr_llm_cached(hr_llm *llm, const hr_llm_request *reqs, size_t n, unsigned char *cached,
                        char *err, size_t errlen);

/* The built-in price table: US dollars per million prompt and completion
 * tokens of a model known by name (the longest entry that starts the name:
 * "gpt-4o-mini-2024-07-18" is "gpt-4o-mini"). Returns the entry's name, or
 * NULL when the model is not in the table (a local model, say). The prices
 * are public list prices when the table was written (see host/net/prices.c),
 * not quotes: give your own where they matter. */
const char *hr_llm_builtin_price(const char *model, double *usd_per_mtok_prompt,
                                 double *usd_per_mtok_completion);

#ifdef __cplusplus
}
#endif

#endif
