/*
 * host/net/http.c: the OpenAI-compatible transport (see host/net/http.h and the rules
 * in hyporank/llm.h).
 *
 * One hr_http holds a libcurl multi handle and `concurrency` easy handles
 * ("slots"), each configured once (URL, headers, TLS, timeouts, callbacks)
 * and reused, so connections stay alive between requests. hr_http_run keeps a
 * job per request:
 *
 *     fresh --start--> running --2xx--------------------> done (reply callback)
 *                         |  \--401/403/404/405/3xx, TLS--> the run stops (fail fast)
 *                         |  \--400 and other 4xx, too big-> done (fail callback)
 *                         \--429/408/5xx, timeout, reset--> waiting (backoff) --> running
 *                                                          or, out of retries, done (fail)
 *
 * Fail fast: until the endpoint has answered one request with anything but
 * 401/403/404/405/3xx ("verified"; a 2xx counts as soon as its status line
 * arrives), only one request is in flight, so a wrong key, model or URL costs
 * one request, not `concurrency`. A connection refused
 * or a host that does not resolve stops the run when nothing has ever been
 * received from the endpoint; later (a server restarting) it is retried.
 *
 * No retry storm: while any request waits to be retried, no new request
 * starts (those in flight go on); a 429 holds back every start, retries
 * included, until its wait is over; and GIVE_UP_AFTER requests in a row that
 * run out of retries or get unusable replies stop the run (HR_ERR_IO). So an
 * endpoint that fails everything sees at most about (GIVE_UP_AFTER +
 * concurrency) * (max_retries + 1) requests.
 *
 * The API key lives in one header string (h->auth), which is wiped on
 * destroy. Messages never quote it: server text is passed through
 * hr_http_redact, and curl's own messages name only host and port.
 */
#include "net/http.h"
#include "hyporank/cache.h"
#include "core/util.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONCURRENCY 256
#define MAX_RETRIES 100
#define GIVE_UP_AFTER 3          /* requests in a row that fail for good stop the run */
#define DB_BUSY_TIMEOUT_MS 30000 /* as host/io/cache.c: a writer may hold the lock a while */
#define QUOTE_MAX 200            /* bytes of server text quoted in a message */
#define MAX_POLL_MS 250          /* the loop wakes at least this often */
#define NO_REPLY_TRIES 2         /* attempts without a reply before a silent endpoint
                                    that never answered stops the run */

/* ---- options and the key ---------------------------------------------------- */

void hr_remote_options_init(hr_remote_options *o)
{
    if (!o)
        return;
    memset(o, 0, sizeof *o);
    o->concurrency = 8;
    o->timeout_s = 120;
    o->connect_timeout_s = 10;
    o->deadline_s = 0;
    o->wait_notice_s = 10;
    o->max_retries = 5;
    o->backoff_base_s = 0.5;
    o->backoff_max_s = 30;
    o->retry_after_max_s = 60;
    o->max_response_bytes = 0;
    o->embed_batch = 256;
    o->embed_dim = 0;
    o->embed_normalize = 1;
}

/* The key and the variable it came from; NULL when neither is set (or set to
 * nothing but blanks). */
static const char *env_key(const char **source)
{
    static const char *const names[] = {"HYPORANK_API_KEY", "OPENAI_API_KEY"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *k = getenv(names[i]);
        if (!k)
            continue;
        while (*k == ' ' || *k == '\t' || *k == '\r' || *k == '\n')
            k++;
        if (*k) {
            if (source)
                *source = names[i];
            return k;
        }
    }
    return NULL;
}

const char *hr_remote_api_key_source(void)
{
    const char *source = NULL;
    return env_key(&source) ? source : NULL;
}

/* ---- curl's global state ---------------------------------------------------- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init_once(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- the client ------------------------------------------------------------- */

typedef struct slot {
    struct hr_http *h;
    CURL *easy;
    int busy;
    size_t job;                    /* the request it runs, when busy */
    char *buf;                     /* the reply so far, NUL-terminated */
    size_t len, cap;
    int too_big, nomem;
    long code;                     /* from the last status line; 0: none yet */
    char reason[64];               /* its reason phrase ("Too Many Requests") */
    double retry_after;            /* seconds from Retry-After; < 0: none */
    double retry_after_ms;         /* seconds from retry-after-ms; < 0: none */
    char location[256];            /* Location header, for redirects */
    double started;                /* when the attempt started (hr_http_now) */
    double limit;                  /* its time limit, seconds: the timeout, or less
                                      when the deadline is nearer */
    int notices;                   /* wait notices given for it */
    char errbuf[CURL_ERROR_SIZE];
} slot;

struct hr_http {
    char *url;        /* the request URL (may hold user:password) */
    char *display;    /* scheme://host[:port]/path, for messages */
    char *origin;     /* scheme://host[:port], for "cannot reach" */
    char *model;      /* for messages */
    char *auth;       /* "Authorization: Bearer KEY", or NULL */
    const char *key;  /* points into auth */
    size_t key_len;
    const char *key_source;
    struct curl_slist *headers;
    CURLM *multi;
    slot *slots;
    int nslots;
    hr_remote_options o; /* scalar settings; its strings are not kept */
    size_t max_response;
    double deadline_at; /* hr_http_now() when the work must end; 0: none (set by
                           the first run when o.deadline_s > 0) */
    int verified;     /* the endpoint has answered with a usable status */
    int responded;    /* the endpoint has sent any status line at all */
    uint64_t rng;
};

const char *hr_http_url(const hr_http *h) { return h ? h->display : NULL; }

double hr_http_now(void)
{
    return hr_now();
}

/* xorshift64*: a uniform double in [0, 1), for jitter. */
static double rand01(hr_http *h)
{
    uint64_t x = h->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    h->rng = x;
    return (double)((x * 0x2545F4914F6CDD1DULL) >> 11) * (1.0 / 9007199254740992.0);
}

static void wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;
    while (n--)
        *v++ = 0;
}

void hr_http_redact(const hr_http *h, char *s)
{
    if (!h || !s || !h->key || h->key_len == 0)
        return;
    static const char mark[] = "[redacted]";
    const size_t mark_len = sizeof mark - 1;
    char *p = s;
    while ((p = strstr(p, h->key)) != NULL) {
        if (h->key_len >= mark_len) {
            memcpy(p, mark, mark_len);
            memmove(p + mark_len, p + h->key_len, strlen(p + h->key_len) + 1);
            p += mark_len;
        } else {
            memset(p, '*', h->key_len);
            p += h->key_len;
        }
    }
}

void hr_http_log(const hr_http *h, const char *fmt, ...)
{
    if (!h || !h->o.log)
        return;
    char line[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    hr_http_redact(h, line);
    h->o.log(line, h->o.log_user);
}

char *hr_http_quote(const char *s, size_t len, size_t max)
{
    int cut = len > max;
    size_t n = cut ? max : len;
    if (cut) /* do not end inside a UTF-8 sequence */
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    char *q = malloc(n + 4);
    if (!q)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        q[i] = (c < 0x20 || c == 0x7F) ? ' ' : (char)c;
    }
    if (cut)
        memcpy(q + n, "...", 3), n += 3;
    q[n] = '\0';
    return q;
}

/* The message in an error reply ({"error": {"message": ...}}, {"error": "..."},
 * {"message": ...}, {"detail": ...}), else the start of a text reply; quoted
 * and redacted. NULL when there is nothing useful (or no memory). */
static char *server_message(const hr_http *h, const char *body, size_t len)
{
    if (!body || len == 0)
        return NULL;
    char *msg = NULL;
    cJSON *j = cJSON_ParseWithLength(body, len);
    if (j) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
        const cJSON *m = NULL;
        if (cJSON_IsObject(e))
            m = cJSON_GetObjectItemCaseSensitive(e, "message");
        else if (cJSON_IsString(e))
            m = e;
        if (!cJSON_IsString(m))
            m = cJSON_GetObjectItemCaseSensitive(j, "message");
        if (!cJSON_IsString(m))
            m = cJSON_GetObjectItemCaseSensitive(j, "detail");
        if (cJSON_IsString(m) && m->valuestring[0])
            msg = hr_http_quote(m->valuestring, strlen(m->valuestring), QUOTE_MAX);
        cJSON_Delete(j);
    } else if (body[0] != '<') { /* not an HTML page */
        msg = hr_http_quote(body, len, QUOTE_MAX);
    }
    if (msg)
        hr_http_redact(h, msg);
    return msg;
}

/* ---- curl callbacks ---------------------------------------------------------- */

static size_t on_write(char *p, size_t size, size_t nmemb, void *user)
{
    slot *s = user;
    size_t n = size * nmemb;
    if (n > s->h->max_response || s->len > s->h->max_response - n) {
        s->too_big = 1;
        return 0; /* curl ends the transfer with CURLE_WRITE_ERROR */
    }
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 16384;
        while (cap < s->len + n + 1)
            cap *= 2;
        char *b = realloc(s->buf, cap);
        if (!b) {
            s->nomem = 1;
            return 0;
        }
        s->buf = b;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, p, n);
    s->len += n;
    s->buf[s->len] = '\0';
    return n;
}

/* Seconds to wait from a Retry-After value: delay-seconds (a fraction is
 * accepted) or an HTTP-date. < 0 when it is neither. */
static double parse_retry_after(const char *v)
{
    if (isdigit((unsigned char)v[0])) {
        char *end;
        errno = 0;
        double d = strtod(v, &end);
        while (*end == ' ' || *end == '\t')
            end++;
        if (errno || *end || !isfinite(d) || d < 0)
            return -1;
        return d;
    }
    time_t t = curl_getdate(v, NULL);
    if (t == (time_t)-1)
        return -1;
    double d = difftime(t, time(NULL));
    return d > 0 ? d : 0;
}

static size_t on_header(char *p, size_t size, size_t nitems, void *user)
{
    slot *s = user;
    size_t n = size * nitems;
    char line[512];
    size_t k = n < sizeof line - 1 ? n : sizeof line - 1;
    memcpy(line, p, k);
    line[k] = '\0';
    while (k > 0 && (line[k - 1] == '\r' || line[k - 1] == '\n' || line[k - 1] == ' '))
        line[--k] = '\0';

    if (strncmp(line, "HTTP/", 5) == 0) {
        /* A new response (a 100 Continue comes before the real one): forget
         * what the previous one said. */
        s->retry_after = -1;
        s->retry_after_ms = -1;
        s->location[0] = '\0';
        s->reason[0] = '\0';
        const char *sp = strchr(line, ' ');
        long code = 0;
        if (sp) {
            char *end;
            code = strtol(sp + 1, &end, 10);
            if (code < 100 || code > 999)
                code = 0;
            while (*end == ' ')
                end++;
            snprintf(s->reason, sizeof s->reason, "%s", end);
        }
        s->code = code;
        if (code >= 200)
            s->h->responded = 1;
        /* A 2xx opens the way for the other requests at once. Other statuses
         * do when the attempt is over (on_done), after a 429 has set its hold. */
        if (code >= 200 && code < 300)
            s->h->verified = 1;
        return n;
    }
    const char *colon = strchr(line, ':');
    if (!colon)
        return n;
    size_t name_len = (size_t)(colon - line);
    const char *v = colon + 1;
    while (*v == ' ' || *v == '\t')
        v++;
    if (name_len == 11 && strncasecmp(line, "retry-after", 11) == 0) {
        s->retry_after = parse_retry_after(v);
    } else if (name_len == 14 && strncasecmp(line, "retry-after-ms", 14) == 0) {
        char *end;
        errno = 0;
        double ms = strtod(v, &end);
        s->retry_after_ms = (!errno && end != v && isfinite(ms) && ms >= 0) ? ms / 1000 : -1;
    } else if (name_len == 8 && strncasecmp(line, "location", 8) == 0) {
        snprintf(s->location, sizeof s->location, "%s", v);
    }
    return n;
}

/* ---- create / destroy -------------------------------------------------------- */

static hr_status check_options(const hr_remote_options *o, char *err, size_t errlen)
{
    if (!o)
        return hr_fail(HR_ERR_INTERNAL, err, errlen, "remote endpoint: no options given");
    if (!o->url || !o->url[0])
        return hr_fail(HR_ERR_INPUT, err, errlen, "remote endpoint: no URL given");
    if (!o->model || !o->model[0])
        return hr_fail(HR_ERR_INPUT, err, errlen, "remote endpoint: no model name given");
    if (o->concurrency < 1 || o->concurrency > MAX_CONCURRENCY)
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "remote endpoint: concurrency %d is out of range (1..%d)", o->concurrency,
                       MAX_CONCURRENCY);
    if (!(o->timeout_s > 0 && o->timeout_s <= 86400))
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "remote endpoint: timeout %g s is out of range (above 0, at most a day)",
                       o->timeout_s);
    if (!(o->connect_timeout_s > 0 && o->connect_timeout_s <= 86400))
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "remote endpoint: connect timeout %g s is out of range", o->connect_timeout_s);
    if (!(o->deadline_s >= 0 && o->deadline_s <= 7 * 86400) ||
        !(o->wait_notice_s >= 0 && o->wait_notice_s <= 86400))
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "remote endpoint: the deadline and the wait notice must be between 0 and "
                       "a week");
    if (o->max_retries < 0 || o->max_retries > MAX_RETRIES)
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "remote endpoint: max retries %d is out of range (0..%d)", o->max_retries,
                       MAX_RETRIES);
    if (!(o->backoff_base_s >= 0 && o->backoff_base_s <= 3600) ||
        !(o->backoff_max_s >= 0 && o->backoff_max_s <= 86400) ||
        !(o->retry_after_max_s >= 0 && o->retry_after_max_s <= 86400))
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "remote endpoint: backoff and Retry-After limits must be between 0 and a day");
    if (!(o->usd_per_mtok_prompt >= 0 && isfinite(o->usd_per_mtok_prompt)) ||
        !(o->usd_per_mtok_completion >= 0 && isfinite(o->usd_per_mtok_completion)))
        return hr_fail(HR_ERR_INPUT, err, errlen, "remote endpoint: prices must be 0 or more");
    return HR_OK;
}

/* Fills h->url, h->display and h->origin from the base URL: the path gets a
 * /v1 unless it has one, then /path. A base that already names the endpoint
 * (".../v1/chat/completions") is accepted too. */
static hr_status build_url(hr_http *h, const char *base, const char *path, char *err,
                           size_t errlen)
{
    hr_status s = HR_OK;
    char *scheme = NULL, *host = NULL, *port = NULL, *upath = NULL, *full = NULL;
    char *newpath = NULL;
    CURLU *u = curl_url();
    if (!u)
        return hr_fail(HR_ERR_NOMEM, err, errlen, "remote endpoint: out of memory");
    CURLUcode rc = curl_url_set(u, CURLUPART_URL, base, 0);
    if (rc != CURLUE_OK) {
        /* Do not quote the URL: it may hold a password. */
        s = hr_fail(HR_ERR_INPUT, err, errlen,
                    "remote endpoint: the URL is not valid (%s); give it as "
                    "http://host:port or https://host",
                    curl_url_strerror(rc));
        goto done;
    }
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
        s = hr_fail(HR_ERR_INPUT, err, errlen,
                    "remote endpoint: the URL must start with http:// or https:// (got %s://)",
                    scheme ? scheme : "?");
        goto done;
    }
    if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host[0]) {
        s = hr_fail(HR_ERR_INPUT, err, errlen, "remote endpoint: the URL has no host");
        goto done;
    }
    rc = curl_url_get(u, CURLUPART_PORT, &port, 0);
    if (rc != CURLUE_OK && rc != CURLUE_NO_PORT) {
        s = hr_fail(HR_ERR_INPUT, err, errlen, "remote endpoint: the URL's port is not valid");
        goto done;
    }
    if (curl_url_get(u, CURLUPART_PATH, &upath, 0) != CURLUE_OK) {
        s = hr_fail(HR_ERR_INPUT, err, errlen, "remote endpoint: the URL's path is not valid");
        goto done;
    }

    /* path: strip trailing slashes and a named endpoint, then make it end in /v1. */
    size_t plen = strlen(upath);
    newpath = malloc(plen + strlen(path) + 8);
    if (!newpath) {
        s = hr_fail(HR_ERR_NOMEM, err, errlen, "remote endpoint: out of memory");
        goto done;
    }
    memcpy(newpath, upath, plen + 1);
    static const char *const named[] = {"/chat/completions", "/embeddings"};
    for (int round = 0; round < 2; round++) {
        while (plen > 0 && newpath[plen - 1] == '/')
            newpath[--plen] = '\0';
        for (size_t i = 0; round == 0 && i < sizeof named / sizeof named[0]; i++) {
            size_t nl = strlen(named[i]);
            if (plen >= nl && strcmp(newpath + plen - nl, named[i]) == 0) {
                plen -= nl;
                newpath[plen] = '\0';
            }
        }
    }
    if (!(plen >= 3 && strcmp(newpath + plen - 3, "/v1") == 0)) {
        memcpy(newpath + plen, "/v1", 4);
        plen += 3;
    }
    newpath[plen++] = '/';
    memcpy(newpath + plen, path, strlen(path) + 1);

    if (curl_url_set(u, CURLUPART_PATH, newpath, 0) != CURLUE_OK ||
        curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_URL, &full, 0) != CURLUE_OK) {
        s = hr_fail(HR_ERR_INPUT, err, errlen, "remote endpoint: cannot build the endpoint URL");
        goto done;
    }
    h->url = strdup(full);
    size_t olen = strlen(scheme) + strlen(host) + (port ? strlen(port) + 1 : 0) + 4;
    h->origin = malloc(olen);
    h->display = malloc(olen + strlen(newpath));
    if (!h->url || !h->origin || !h->display) {
        s = hr_fail(HR_ERR_NOMEM, err, errlen, "remote endpoint: out of memory");
        goto done;
    }
    snprintf(h->origin, olen, "%s://%s%s%s", scheme, host, port ? ":" : "", port ? port : "");
    snprintf(h->display, olen + strlen(newpath), "%s%s", h->origin, newpath);

done:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(upath);
    curl_free(full);
    free(newpath);
    curl_url_cleanup(u);
    return s;
}

static hr_status setup_slot(hr_http *h, slot *s, const char *ca_file, char *err, size_t errlen)
{
    s->h = h;
    s->easy = curl_easy_init();
    if (!s->easy)
        return hr_fail(HR_ERR_NOMEM, err, errlen, "remote endpoint %s: curl_easy_init failed",
                       h->display);
    CURL *e = s->easy;
    CURLcode rc = CURLE_OK;
#define SET(opt, val)                                                                          \
    do {                                                                                       \
        if (rc == CURLE_OK)                                                                    \
            rc = curl_easy_setopt(e, opt, val);                                                \
    } while (0)
    SET(CURLOPT_URL, h->url);
    SET(CURLOPT_HTTPHEADER, h->headers);
    SET(CURLOPT_POST, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85.0 */
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
#else
    SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    SET(CURLOPT_FOLLOWLOCATION, 0L); /* a redirect is reported, never followed */
    SET(CURLOPT_SSL_VERIFYPEER, 1L); /* always: never turned off */
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    SET(CURLOPT_TIMEOUT_MS, (long)ceil(h->o.timeout_s * 1000));
    SET(CURLOPT_CONNECTTIMEOUT_MS, (long)ceil((h->o.connect_timeout_s < h->o.timeout_s
                                                   ? h->o.connect_timeout_s
                                                   : h->o.timeout_s) * 1000));
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
    SET(CURLOPT_ACCEPT_ENCODING, ""); /* whatever curl can decode; the cap is on decoded bytes */
    SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)h->max_response);
    SET(CURLOPT_WRITEFUNCTION, on_write);
    SET(CURLOPT_WRITEDATA, s);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, s);
    SET(CURLOPT_ERRORBUFFER, s->errbuf);
    SET(CURLOPT_PRIVATE, s);
    SET(CURLOPT_USERAGENT, "hyporank/0.1");
    if (ca_file)
        SET(CURLOPT_CAINFO, ca_file); /* curl keeps its own copy */
#undef SET
    if (rc != CURLE_OK)
        return hr_fail(HR_ERR_INTERNAL, err, errlen, "remote endpoint %s: setting up curl: %s",
                       h->display, curl_easy_strerror(rc));
    return HR_OK;
}

hr_status hr_http_create(const hr_remote_options *o, const char *path,
                         size_t default_max_response, hr_http **out, char *err, size_t errlen)
{
    if (!out || !path)
        return hr_fail(HR_ERR_INTERNAL, err, errlen, "remote endpoint: bad arguments");
    *out = NULL;
    hr_status s = check_options(o, err, errlen);
    if (s != HR_OK)
        return s;
    if (o->ca_file) {
        FILE *f = fopen(o->ca_file, "rb");
        if (!f)
            return hr_fail(HR_ERR_INPUT, err, errlen,
                           "remote endpoint: cannot read the CA file %s: %s", o->ca_file,
                           strerror(errno));
        fclose(f);
    }
    pthread_once(&curl_once, curl_init_once);
    if (curl_init_rc != CURLE_OK)
        return hr_fail(HR_ERR_INTERNAL, err, errlen, "remote endpoint: curl_global_init: %s",
                       curl_easy_strerror(curl_init_rc));

    hr_http *h = calloc(1, sizeof *h);
    if (!h)
        return hr_fail(HR_ERR_NOMEM, err, errlen, "remote endpoint: out of memory");
    h->o = *o;
    h->o.url = h->o.model = h->o.cache_path = h->o.ca_file = NULL;
    h->max_response = o->max_response_bytes ? o->max_response_bytes : default_max_response;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    h->rng = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 40) ^
             (uint64_t)(uintptr_t)h;
    if (h->rng == 0)
        h->rng = 0x9E3779B97F4A7C15ULL;

    if ((s = build_url(h, o->url, path, err, errlen)) != HR_OK)
        goto fail;
    h->model = strdup(o->model);
    if (!h->model) {
        s = hr_fail(HR_ERR_NOMEM, err, errlen, "remote endpoint: out of memory");
        goto fail;
    }

    const char *key = env_key(&h->key_source);
    if (key) {
        size_t klen = strlen(key);
        while (klen > 0 && (key[klen - 1] == ' ' || key[klen - 1] == '\t' ||
                            key[klen - 1] == '\r' || key[klen - 1] == '\n'))
            klen--;
        for (size_t i = 0; i < klen; i++)
            if ((unsigned char)key[i] < 0x20 || key[i] == 0x7F) {
                s = hr_fail(HR_ERR_INPUT, err, errlen,
                            "the API key in %s contains a line break or control character",
                            h->key_source);
                goto fail;
            }
        static const char prefix[] = "Authorization: Bearer ";
        h->auth = malloc(sizeof prefix + klen);
        if (!h->auth) {
            s = hr_fail(HR_ERR_NOMEM, err, errlen, "remote endpoint: out of memory");
            goto fail;
        }
        memcpy(h->auth, prefix, sizeof prefix - 1);
        memcpy(h->auth + sizeof prefix - 1, key, klen);
        h->auth[sizeof prefix - 1 + klen] = '\0';
        h->key = h->auth + sizeof prefix - 1;
        h->key_len = klen;
    }

    /* "Expect:" stops curl from waiting for a 100 Continue before large bodies. */
    static const char *const fixed[] = {"Content-Type: application/json",
                                        "Accept: application/json", "Expect:"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        struct curl_slist *l = curl_slist_append(h->headers, fixed[i]);
        if (!l) {
            s = hr_fail(HR_ERR_NOMEM, err, errlen, "remote endpoint: out of memory");
            goto fail;
        }
        h->headers = l;
    }
    if (h->auth) {
        struct curl_slist *l = curl_slist_append(h->headers, h->auth);
        if (!l) {
            s = hr_fail(HR_ERR_NOMEM, err, errlen, "remote endpoint: out of memory");
            goto fail;
        }
        h->headers = l;
    }

    h->multi = curl_multi_init();
    if (!h->multi) {
        s = hr_fail(HR_ERR_NOMEM, err, errlen, "remote endpoint: curl_multi_init failed");
        goto fail;
    }
    CURLMcode mc = curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, (long)o->concurrency);
    if (mc != CURLM_OK) {
        s = hr_fail(HR_ERR_INTERNAL, err, errlen, "remote endpoint: curl_multi_setopt: %s",
                    curl_multi_strerror(mc));
        goto fail;
    }
    h->nslots = o->concurrency;
    h->slots = calloc((size_t)h->nslots, sizeof *h->slots);
    if (!h->slots) {
        s = hr_fail(HR_ERR_NOMEM, err, errlen, "remote endpoint: out of memory");
        goto fail;
    }
    for (int i = 0; i < h->nslots; i++)
        if ((s = setup_slot(h, &h->slots[i], o->ca_file, err, errlen)) != HR_OK)
            goto fail;
    *out = h;
    return HR_OK;

fail:
    hr_http_destroy(h);
    return s;
}

void hr_http_destroy(hr_http *h)
{
    if (!h)
        return;
    for (int i = 0; h->slots && i < h->nslots; i++) {
        slot *s = &h->slots[i];
        if (s->easy) {
            if (s->busy && h->multi)
                curl_multi_remove_handle(h->multi, s->easy);
            curl_easy_cleanup(s->easy);
        }
        free(s->buf);
    }
    free(h->slots);
    if (h->multi)
        curl_multi_cleanup(h->multi);
    /* curl_slist_append copied the header: wipe that copy too. */
    for (struct curl_slist *l = h->headers; l; l = l->next)
        if (h->auth && strcmp(l->data, h->auth) == 0)
            wipe(l->data, strlen(l->data));
    curl_slist_free_all(h->headers);
    if (h->auth) {
        wipe(h->auth, strlen(h->auth));
        free(h->auth);
    }
    free(h->url);
    free(h->display);
    free(h->origin);
    free(h->model);
    free(h);
}

/* ---- the run ------------------------------------------------------------------- */

enum { JOB_FRESH = 0, JOB_WAITING, JOB_RUNNING, JOB_DONE };

typedef struct job {
    char *body;
    size_t len;
    double not_before; /* JOB_WAITING: start no earlier (hr_http_now) */
    int attempts;
    unsigned char state;
    unsigned char conn_only; /* every failure so far was at the connection level */
    unsigned char no_reply;  /* every failure so far: connected, then no reply in time */
} job;

typedef struct run {
    hr_http *h;
    job *jobs;
    size_t n;
    size_t next_fresh;     /* jobs below this have been started at least once */
    size_t *waiting;       /* indices of JOB_WAITING jobs */
    size_t nwaiting;
    size_t running, done;
    double hold_until;     /* no start before this (a 429's wait) */
    int in_a_row;          /* requests in a row that failed for good */
    hr_http_build_fn build;
    hr_http_reply_fn reply;
    hr_http_fail_fn fail;
    void *user;
    hr_http_counts counts;
    hr_status fatal;       /* HR_OK while the run goes on */
    char *err;
    size_t errlen;
} run;

typedef enum { OUT_OK, OUT_RETRY, OUT_FAIL, OUT_FATAL } outcome;

/* The HTTP status of the finished attempt; 0 when none was received. */
static long response_code(const slot *s)
{
    long code = 0;
    if (curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK)
        code = 0;
    return code;
}

static int is_connect_error(CURLcode rc)
{
    return rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
           rc == CURLE_COULDNT_RESOLVE_PROXY;
}

static int is_tls_error(CURLcode rc)
{
    switch (rc) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_USE_SSL_FAILED:
        return 1;
    default:
        return 0;
    }
}

/* Errors worth another try: the connection broke or timed out. */
static int is_transient_error(CURLcode rc)
{
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
    case CURLE_QUIC_CONNECT_ERROR:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_AGAIN:
        return 1;
    default:
        return 0;
    }
}

/* Whether the attempt got a connection (TCP, and TLS where asked for). */
static int connected(const slot *s)
{
    curl_off_t t = 0;
    return curl_easy_getinfo(s->easy, CURLINFO_CONNECT_TIME_T, &t) == CURLE_OK && t > 0;
}

/* A line about a curl failure: "connection refused", "connected, but no
 * reply within 60 s", or curl's own words. */
static void describe_curl_error(const hr_http *h, const slot *s, CURLcode rc, char *buf,
                                size_t len)
{
    long os_errno = 0;
    if (curl_easy_getinfo(s->easy, CURLINFO_OS_ERRNO, &os_errno) != CURLE_OK)
        os_errno = 0;
    if (rc == CURLE_COULDNT_CONNECT && os_errno == ECONNREFUSED)
        snprintf(buf, len, "connection refused");
    else if (rc == CURLE_COULDNT_CONNECT && os_errno)
        snprintf(buf, len, "cannot connect: %s", strerror((int)os_errno));
    else if (rc == CURLE_COULDNT_RESOLVE_HOST)
        snprintf(buf, len, "cannot resolve the host name");
    else if (rc == CURLE_OPERATION_TIMEDOUT && !connected(s))
        snprintf(buf, len, "no connection within %g s (connect timeout)",
                 h->o.connect_timeout_s < h->o.timeout_s ? h->o.connect_timeout_s
                                                         : h->o.timeout_s);
    else if (rc == CURLE_OPERATION_TIMEDOUT && response_code(s) == 0 && s->len == 0)
        snprintf(buf, len, "connected, but no reply within %.3g s (timeout)", s->limit);
    else if (rc == CURLE_OPERATION_TIMEDOUT)
        snprintf(buf, len, "the reply did not finish within %.3g s (timeout)", s->limit);
    else if (rc == CURLE_PARTIAL_FILE)
        snprintf(buf, len, "the reply was cut short (connection closed before the whole body)");
    else if (rc == CURLE_GOT_NOTHING)
        snprintf(buf, len, "the server closed the connection without replying");
    else if (rc == CURLE_RECV_ERROR && os_errno == ECONNRESET)
        snprintf(buf, len, "connection reset by the server");
    else if (s->errbuf[0])
        snprintf(buf, len, "%s", s->errbuf);
    else
        snprintf(buf, len, "%s", curl_easy_strerror(rc));
}

/* Decides what a finished attempt means. msg receives one line; *st the status
 * for OUT_FAIL / OUT_FATAL; *delay the wait for OUT_RETRY. */
static outcome classify(run *r, slot *s, CURLcode rc, job *j, char *msg, size_t msglen,
                        hr_status *st, double *delay)
{
    hr_http *h = r->h;
    long code = response_code(s);
    *st = HR_OK;
    *delay = 0;

    if (s->nomem || rc == CURLE_OUT_OF_MEMORY) {
        *st = HR_ERR_NOMEM;
        snprintf(msg, msglen, "out of memory reading a reply from %s", h->display);
        return OUT_FATAL;
    }
    if ((rc == CURLE_WRITE_ERROR && s->too_big) || rc == CURLE_FILESIZE_EXCEEDED) {
        *st = HR_ERR_IO;
        snprintf(msg, msglen, "the reply is larger than the %zu-byte cap (max_response_bytes)",
                 h->max_response);
        j->conn_only = 0;
        return OUT_FAIL;
    }
    if (rc != CURLE_OK) {
        char what[CURL_ERROR_SIZE + 64];
        describe_curl_error(h, s, rc, what, sizeof what);
        hr_http_redact(h, what);
        if (rc == CURLE_PEER_FAILED_VERIFICATION || (is_tls_error(rc) && !h->responded)) {
            *st = HR_ERR_INPUT;
            snprintf(msg, msglen, "cannot reach %s: TLS failed: %s (certificates are always "
                     "verified)", h->origin, what);
            return OUT_FATAL;
        }
        const int connect_timeout = rc == CURLE_OPERATION_TIMEDOUT && !connected(s);
        if ((is_connect_error(rc) || connect_timeout) && !h->responded) {
            *st = HR_ERR_INPUT;
            snprintf(msg, msglen, "cannot reach %s: %s", h->origin, what);
            return OUT_FATAL;
        }
        if (rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_URL_MALFORMAT) {
            *st = HR_ERR_INPUT;
            snprintf(msg, msglen, "cannot use %s: %s", h->display, what);
            return OUT_FATAL;
        }
        if (is_transient_error(rc) || is_connect_error(rc) || is_tls_error(rc)) {
            snprintf(msg, msglen, "%s", what);
            if (code > 0 || connected(s))
                j->conn_only = 0;
            if (!(rc == CURLE_OPERATION_TIMEDOUT && connected(s) && code == 0 && s->len == 0))
                j->no_reply = 0;
            return OUT_RETRY;
        }
        *st = HR_ERR_IO;
        snprintf(msg, msglen, "%s: %s", h->display, what);
        j->conn_only = 0;
        return OUT_FAIL;
    }

    j->conn_only = 0;
    if (code >= 200 && code < 300)
        return OUT_OK;

    char *smsg = server_message(h, s->buf, s->len);
    char said[QUOTE_MAX + 32] = "";
    if (smsg)
        snprintf(said, sizeof said, ": %s", smsg);
    const char *reason = s->reason[0] ? s->reason : "";
    outcome out;
    if (code == 401) {
        /* The server's words are not quoted: some echo part of the key. */
        *st = HR_ERR_INPUT;
        if (h->key)
            snprintf(msg, msglen, "the endpoint %s rejected the API key from %s (401 %s)",
                     h->display, h->key_source, reason);
        else
            snprintf(msg, msglen, "the endpoint %s wants an API key (401 %s): set "
                     "HYPORANK_API_KEY or OPENAI_API_KEY", h->display, reason);
        out = OUT_FATAL;
    } else if (code == 403) {
        *st = HR_ERR_INPUT;
        snprintf(msg, msglen, "the endpoint %s refused access (403 %s)%s", h->display, reason,
                 said);
        out = OUT_FATAL;
    } else if (code == 404 || code == 405) {
        *st = HR_ERR_INPUT;
        snprintf(msg, msglen, "model '%s' not found at %s (%ld %s), or the URL is wrong%s",
                 h->model, h->display, code, reason, said);
        out = OUT_FATAL;
    } else if (code >= 300 && code < 400) {
        *st = HR_ERR_INPUT;
        char *loc = hr_http_quote(s->location, strlen(s->location), QUOTE_MAX);
        if (loc)
            hr_http_redact(h, loc);
        snprintf(msg, msglen, "the endpoint %s redirects (%ld) to %s; give that URL instead",
                 h->display, code, loc && loc[0] ? loc : "another address");
        free(loc);
        out = OUT_FATAL;
    } else if (code == 408 || code == 429 || (code >= 500 && code != 501 && code != 505)) {
        snprintf(msg, msglen, "%ld %s%s", code, reason, said);
        double ra = s->retry_after_ms >= 0 ? s->retry_after_ms : s->retry_after;
        *delay = ra >= 0 ? (ra < h->o.retry_after_max_s ? ra : h->o.retry_after_max_s) : -1;
        out = OUT_RETRY;
    } else {
        *st = HR_ERR_IO;
        snprintf(msg, msglen, "%s answered %ld %s%s", h->display, code, reason, said);
        out = OUT_FAIL;
    }
    free(smsg);
    return out;
}

static void stop(run *r, hr_status st, const char *msg)
{
    if (r->fatal != HR_OK)
        return;
    r->fatal = st;
    hr_fail(st, r->err, r->errlen, "%s", msg);
    hr_http_redact(r->h, r->err && r->errlen ? r->err : NULL);
}

static void finish_job(run *r, size_t i)
{
    job *j = &r->jobs[i];
    j->state = JOB_DONE;
    free(j->body);
    j->body = NULL;
    r->done++;
}

/* A request that failed for good: the fail callback. out_of_retries: it
 * failed for the endpoint's sake (5xx, timeouts), which counts towards giving
 * up; a 400 or an oversized reply is that request's own problem. */
static void fail_job(run *r, size_t i, hr_status st, const char *msg, int out_of_retries)
{
    job *j = &r->jobs[i];
    int attempts = j->attempts;
    finish_job(r, i);
    char cb_err[2048] = "";
    hr_status cs = r->fail(r->user, i, st, msg, attempts, cb_err, sizeof cb_err);
    if (cs != HR_OK) {
        stop(r, cs, cb_err);
        return;
    }
    if (out_of_retries && ++r->in_a_row >= GIVE_UP_AFTER) {
        char line[2048];
        snprintf(line, sizeof line, "%s failed %d requests in a row, stopped (the last: %s)",
                 r->h->display, r->in_a_row, msg);
        stop(r, HR_ERR_IO, line);
    }
}

static void on_done(run *r, slot *s, CURLcode rc)
{
    hr_http *h = r->h;
    size_t i = s->job;
    job *j = &r->jobs[i];
    CURLMcode mc = curl_multi_remove_handle(h->multi, s->easy);
    s->busy = 0;
    r->running--;
    if (mc != CURLM_OK) {
        char line[256];
        snprintf(line, sizeof line, "curl_multi_remove_handle: %s", curl_multi_strerror(mc));
        stop(r, HR_ERR_INTERNAL, line);
        return;
    }

    char msg[1024];
    hr_status st;
    double delay;
    outcome out = classify(r, s, rc, j, msg, sizeof msg, &st, &delay);
    hr_http_redact(h, msg);
    long code = response_code(s);
    /* Any answer but a fail-fast one shows the URL, key and model are right. */
    if (code >= 200 && out != OUT_FATAL)
        h->verified = 1;

    if (out == OUT_OK) {
        hr_http_reply rep = {s->buf ? s->buf : "", s->len, j->body, j->len, code, j->attempts};
        int bad = 0;
        char cb_err[1024] = "";
        hr_status cs = r->reply(r->user, i, &rep, &bad, cb_err, sizeof cb_err);
        finish_job(r, i);
        if (cs != HR_OK) {
            stop(r, cs, cb_err);
        } else if (bad) {
            if (++r->in_a_row >= GIVE_UP_AFTER) {
                char line[1536];
                hr_http_redact(h, cb_err);
                snprintf(line, sizeof line,
                         "%s sent %d unusable replies in a row, stopped (the last: %s)",
                         h->display, r->in_a_row, cb_err);
                stop(r, HR_ERR_IO, line);
            }
        } else {
            r->in_a_row = 0;
        }
        return;
    }
    if (out == OUT_FATAL) {
        stop(r, st, msg);
        return;
    }
    if (out == OUT_FAIL) {
        fail_job(r, i, st, msg, 0);
        return;
    }

    /* OUT_RETRY */
    if (j->no_reply && !h->responded && j->attempts >= NO_REPLY_TRIES) {
        /* It takes connections and answers nothing: waiting out every retry
         * would hold the caller for (retries + 1) timeouts. */
        char line[1536];
        snprintf(line, sizeof line,
                 "no reply from %s: it accepts connections but answered nothing (%d attempts, "
                 "the last: %s)",
                 h->origin, j->attempts, msg);
        stop(r, HR_ERR_IO, line);
        return;
    }
    if (j->attempts > h->o.max_retries) {
        char line[1536];
        if (j->conn_only && !h->responded) {
            snprintf(line, sizeof line, "cannot reach %s: %s (%d attempts)", h->origin, msg,
                     j->attempts);
            stop(r, HR_ERR_INPUT, line);
            return;
        }
        snprintf(line, sizeof line, "gave up after %d attempt%s, the last: %s", j->attempts,
                 j->attempts == 1 ? "" : "s", msg);
        fail_job(r, i, HR_ERR_IO, line, 1);
        return;
    }
    if (delay < 0) {
        /* Full jitter: uniform in [0, min(max, base * 2^(k-1))]. */
        double ceiling = h->o.backoff_base_s * ldexp(1.0, j->attempts - 1);
        if (ceiling > h->o.backoff_max_s)
            ceiling = h->o.backoff_max_s;
        delay = ceiling * rand01(h);
    }
    double now = hr_http_now();
    j->state = JOB_WAITING;
    j->not_before = now + delay;
    r->waiting[r->nwaiting++] = i;
    if (code == 429 && j->not_before > r->hold_until)
        r->hold_until = j->not_before;
    hr_http_log(h, "%s: %s; retrying in %.2f s (attempt %d of %d)", h->display, msg, delay,
                j->attempts + 1, h->o.max_retries + 1);
}

static hr_status start_job(run *r, size_t i)
{
    hr_http *h = r->h;
    job *j = &r->jobs[i];
    slot *s = NULL;
    for (int k = 0; k < h->nslots; k++)
        if (!h->slots[k].busy) {
            s = &h->slots[k];
            break;
        }
    if (!s)
        return hr_fail(HR_ERR_INTERNAL, r->err, r->errlen, "remote endpoint: no free slot");
    if (!j->body) {
        char cb_err[512] = "";
        hr_status cs = r->build(r->user, i, &j->body, &j->len, cb_err, sizeof cb_err);
        if (cs != HR_OK)
            return hr_fail(cs, r->err, r->errlen, "%s", cb_err);
    }
    s->len = 0;
    if (s->buf)
        s->buf[0] = '\0';
    s->too_big = s->nomem = 0;
    s->code = 0;
    s->reason[0] = s->location[0] = s->errbuf[0] = '\0';
    s->retry_after = s->retry_after_ms = -1;
    double limit = h->o.timeout_s;
    if (h->deadline_at > 0 && h->deadline_at - hr_http_now() < limit)
        limit = h->deadline_at - hr_http_now();
    if (limit < 0.001)
        limit = 0.001;
    CURLcode rc = curl_easy_setopt(s->easy, CURLOPT_TIMEOUT_MS, (long)ceil(limit * 1000));
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)j->len);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, j->body);
    if (rc != CURLE_OK)
        return hr_fail(HR_ERR_INTERNAL, r->err, r->errlen, "remote endpoint: curl: %s",
                       curl_easy_strerror(rc));
    CURLMcode mc = curl_multi_add_handle(h->multi, s->easy);
    if (mc != CURLM_OK)
        return hr_fail(HR_ERR_INTERNAL, r->err, r->errlen,
                       "remote endpoint: curl_multi_add_handle: %s", curl_multi_strerror(mc));
    s->busy = 1;
    s->job = i;
    s->started = hr_http_now();
    s->limit = limit;
    s->notices = 0;
    if (j->attempts == 0)
        j->conn_only = j->no_reply = 1;
    j->attempts++;
    j->state = JOB_RUNNING;
    r->running++;
    r->counts.requests++;
    if (j->attempts > 1)
        r->counts.retries++;
    return HR_OK;
}

/* The wait notice (hr_remote_options.wait_notice_s): one line when the
 * oldest request in flight has waited another wait_notice_s. */
static void notice_waits(run *r, double now)
{
    hr_http *h = r->h;
    if (h->o.wait_notice_s <= 0 || !h->o.log)
        return;
    slot *oldest = NULL;
    for (int k = 0; k < h->nslots; k++)
        if (h->slots[k].busy && (!oldest || h->slots[k].started < oldest->started))
            oldest = &h->slots[k];
    if (!oldest || now - oldest->started < h->o.wait_notice_s * (oldest->notices + 1))
        return;
    oldest->notices = (int)((now - oldest->started) / h->o.wait_notice_s);
    hr_http_log(h, "waiting for %s: %.0f s (%zu request%s in flight, %zu of %zu done; the "
                "timeout is %g s)",
                h->display, now - oldest->started, r->running, r->running == 1 ? "" : "s",
                r->done, r->n, h->o.timeout_s);
}

/* The next job that may start at `now`: a waiting one whose time has come
 * (earliest first), else the next fresh one. Returns n when none. */
static size_t pick(run *r, double now)
{
    size_t best = r->n, best_w = 0;
    for (size_t w = 0; w < r->nwaiting; w++) {
        size_t i = r->waiting[w];
        if (r->jobs[i].not_before <= now &&
            (best == r->n || r->jobs[i].not_before < r->jobs[best].not_before)) {
            best = i;
            best_w = w;
        }
    }
    if (best != r->n) {
        r->waiting[best_w] = r->waiting[--r->nwaiting];
        return best;
    }
    /* While a request waits to be retried, nothing new starts: new requests
     * would only meet the same trouble. */
    if (r->nwaiting == 0 && r->next_fresh < r->n)
        return r->next_fresh++;
    return r->n;
}

hr_status hr_http_run(hr_http *h, size_t n, hr_http_build_fn build, hr_http_reply_fn reply,
                      hr_http_fail_fn fail, void *user, hr_http_counts *counts, char *err,
                      size_t errlen)
{
    if (counts)
        memset(counts, 0, sizeof *counts);
    if (!h || !build || !reply || !fail)
        return hr_fail(HR_ERR_INTERNAL, err, errlen, "remote endpoint: bad arguments");
    if (n == 0)
        return HR_OK;
    run r;
    memset(&r, 0, sizeof r);
    r.h = h;
    r.n = n;
    r.build = build;
    r.reply = reply;
    r.fail = fail;
    r.user = user;
    r.err = err;
    r.errlen = errlen;
    r.jobs = calloc(n, sizeof *r.jobs);
    r.waiting = malloc(n * sizeof *r.waiting);
    if (!r.jobs || !r.waiting) {
        free(r.jobs);
        free(r.waiting);
        return hr_fail(HR_ERR_NOMEM, err, errlen, "remote endpoint: out of memory");
    }

    if (h->o.deadline_s > 0 && h->deadline_at == 0)
        h->deadline_at = hr_http_now() + h->o.deadline_s;
    while (r.done < n && r.fatal == HR_OK) {
        /* Start what may start: one request until the endpoint is verified. */
        double now = hr_http_now();
        if (h->deadline_at > 0 && now >= h->deadline_at) {
            char line[512];
            snprintf(line, sizeof line,
                     "%s: the deadline of %g s for this endpoint's work passed (%zu of %zu "
                     "requests done)",
                     h->display, h->o.deadline_s, r.done, n);
            stop(&r, HR_ERR_IO, line);
            break;
        }
        notice_waits(&r, now);
        size_t limit = h->verified ? (size_t)h->nslots : 1;
        while (r.running < limit && now >= r.hold_until) {
            size_t i = pick(&r, now);
            if (i == n)
                break;
            hr_status s = start_job(&r, i);
            if (s != HR_OK) {
                r.fatal = s;
                break;
            }
        }
        if (r.fatal != HR_OK)
            break;

        int still = 0;
        CURLMcode mc = curl_multi_perform(h->multi, &still);
        if (mc != CURLM_OK) {
            char line[256];
            snprintf(line, sizeof line, "curl_multi_perform: %s", curl_multi_strerror(mc));
            stop(&r, HR_ERR_INTERNAL, line);
            break;
        }
        CURLMsg *m;
        int left;
        while (r.fatal == HR_OK && (m = curl_multi_info_read(h->multi, &left)) != NULL) {
            if (m->msg != CURLMSG_DONE)
                continue;
            slot *s = NULL;
            if (curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&s) != CURLE_OK ||
                !s || !s->busy)
                continue;
            on_done(&r, s, m->data.result);
        }
        if (r.done >= n || r.fatal != HR_OK)
            break;

        /* Wait for sockets, or until the next start is due. */
        now = hr_http_now();
        limit = h->verified ? (size_t)h->nslots : 1;
        double next = INFINITY;
        if (r.running < limit) {
            if (r.next_fresh < n && r.nwaiting == 0)
                next = now;
            for (size_t w = 0; w < r.nwaiting; w++)
                if (r.jobs[r.waiting[w]].not_before < next)
                    next = r.jobs[r.waiting[w]].not_before;
            if (next < r.hold_until)
                next = r.hold_until;
        }
        int timeout_ms = MAX_POLL_MS;
        if (next <= now)
            timeout_ms = 0;
        else if (next - now < MAX_POLL_MS / 1000.0)
            timeout_ms = (int)ceil((next - now) * 1000);
        mc = curl_multi_poll(h->multi, NULL, 0, timeout_ms, NULL);
        if (mc != CURLM_OK) {
            char line[256];
            snprintf(line, sizeof line, "curl_multi_poll: %s", curl_multi_strerror(mc));
            stop(&r, HR_ERR_INTERNAL, line);
            break;
        }
    }

    /* Stopped early: drop what is in flight. */
    for (int k = 0; k < h->nslots; k++)
        if (h->slots[k].busy) {
            curl_multi_remove_handle(h->multi, h->slots[k].easy);
            h->slots[k].busy = 0;
        }
    for (size_t i = 0; i < n; i++)
        free(r.jobs[i].body);
    free(r.jobs);
    free(r.waiting);
    if (counts)
        *counts = r.counts;
    return r.fatal;
}

/* ---- the cache file ---------------------------------------------------------- */

static hr_status db_exec(sqlite3 *db, const char *path, const char *sql, char *err,
                         size_t errlen)
{
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return hr_fail(HR_ERR_CACHE, err, errlen, "cache %s: %s: %s", path, sql,
                       sqlite3_errmsg(db));
    return HR_OK;
}

hr_status hr_http_db_open(const char *path, const char *create_sql, sqlite3 **out, char *err,
                          size_t errlen)
{
    if (!out || !path || !path[0] || !create_sql)
        return hr_fail(HR_ERR_INTERNAL, err, errlen, "cache: no file given");
    *out = NULL;
    /* hr_cache_open makes the file a hyporank cache (or refuses one that is
     * not), so the tables below never land in some other program's database,
     * and the embedding table exists before ours. */
    hr_cache *c = NULL;
    hr_status s = hr_cache_open(path, &c, err, errlen);
    if (s != HR_OK)
        return s;
    hr_cache_close(c);

    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        s = hr_fail(HR_ERR_CACHE, err, errlen, "cache %s: cannot open: %s", path,
                    db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return s;
    }
    if (sqlite3_busy_timeout(db, DB_BUSY_TIMEOUT_MS) != SQLITE_OK) {
        s = hr_fail(HR_ERR_CACHE, err, errlen, "cache %s: busy_timeout: %s", path,
                    sqlite3_errmsg(db));
        goto fail;
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        s = hr_fail(HR_ERR_CACHE, err, errlen, "cache %s: setting WAL mode: %s", path,
                    sqlite3_errmsg(db));
        sqlite3_finalize(st);
        goto fail;
    }
    const unsigned char *mode = sqlite3_column_text(st, 0);
    if (!mode || strcasecmp((const char *)mode, "wal") != 0) {
        s = hr_fail(HR_ERR_CACHE, err, errlen,
                    "cache %s: cannot use WAL mode (journal mode %s); is it on a network "
                    "file system?", path, mode ? (const char *)mode : "unknown");
        sqlite3_finalize(st);
        goto fail;
    }
    sqlite3_finalize(st);
    if ((s = db_exec(db, path, "PRAGMA synchronous = NORMAL", err, errlen)) != HR_OK ||
        (s = db_exec(db, path, "BEGIN IMMEDIATE", err, errlen)) != HR_OK)
        goto fail;
    if ((s = db_exec(db, path, create_sql, err, errlen)) != HR_OK ||
        (s = db_exec(db, path, "COMMIT", err, errlen)) != HR_OK) {
        if (!sqlite3_get_autocommit(db))
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        goto fail;
    }
    *out = db;
    return HR_OK;

fail:
    sqlite3_close(db);
    return s;
}
