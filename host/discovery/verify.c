/*
 * host/discovery/verify.c: the LLM verifier (see hyporank/verify.h for what it does
 * and the formulas).
 *
 * A run, in order:
 *   1. sample: Knuth's selection sampling (Algorithm S, TAOCP 3.4.2) over
 *      each corpus, from its own stream of a seeded splitmix64 generator:
 *      O(n) draws, rows come out ascending;
 *   2. plan: the columns (A's sampled texts 0..m_a-1, then B's) are put in
 *      one order that mixes A and B in proportion, cut into requests and
 *      shuffled within each request (hr_verify_plan);
 *   3. scores: the caller's callback fills the (k, m_a + m_b) score matrix;
 *   4. tries: every (hypothesis, request) pair is one hr_llm request; the
 *      pairs whose reply is unusable are asked again with sample = try
 *      number, up to max_retries times;
 *   5. statistics from the verdicts.
 */
#include "hyporank/verify.h"
#include "discovery/verify_internal.h"
#include "hyporank/stats.h"
#include "core/random.h"
#include "scoring/score_methods.h"
#include "core/util.h"

#include <cjson/cJSON.h>

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SAMPLES ((size_t)100000)
#define MAX_PER_REQUEST ((size_t)100)
#define MAX_RETRIES 20
#define MIN_TEXT_CHARS ((size_t)16)
#define MAX_TEXT_CHARS ((size_t)1000000)
/* Relative tolerance for "as likely as the table seen" in Fisher's test, as
 * R's fisher.test (relErr = 1 + 10^-7). */
#define FISHER_REL_TOL 1e-7

const char hr_verify_truncated_marker[] = " [... truncated]";

static const char system_prompt[] =
    "You are a careful annotator. You are given a hypothesis, a statement that may or may "
    "not be true of a text, and a numbered list of texts. Decide for each text, on its own, "
    "whether the hypothesis is true of it: answer true only when the text clearly satisfies "
    "the hypothesis, and false otherwise. Reply with only a JSON object, and nothing else.";

void hr_verify_options_init(hr_verify_options *o)
{
    if (!o)
        return;
    memset(o, 0, sizeof *o);
    o->samples_per_side = 20;
    o->texts_per_request = 10;
    o->max_retries = 2;
    o->seed = 1;
    o->max_text_chars = 1000;
    o->temperature = 0;
    o->max_tokens = 0;
    o->context_tokens = 0;
}

void hr_verify_stats_free(hr_verify_stats *s)
{
    if (!s)
        return;
    free(s->rows_a);
    free(s->rows_b);
    free(s->verdicts);
    memset(s, 0, sizeof *s);
}

static hr_status check_options(const hr_verify_options *o, char *err, size_t errlen)
{
    if (o->samples_per_side < 1 || o->samples_per_side > MAX_SAMPLES)
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "verify: samples per side %zu is out of range (1..%zu)",
                       o->samples_per_side, MAX_SAMPLES);
    if (o->texts_per_request < 1 || o->texts_per_request > MAX_PER_REQUEST)
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "verify: texts per request %zu is out of range (1..%zu)",
                       o->texts_per_request, MAX_PER_REQUEST);
    if (o->max_retries < 0 || o->max_retries > MAX_RETRIES)
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "verify: max retries %d is out of range (0..%d)", o->max_retries,
                       MAX_RETRIES);
    if (o->max_text_chars < MIN_TEXT_CHARS || o->max_text_chars > MAX_TEXT_CHARS)
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "verify: max text chars %zu is out of range (%zu..%zu)",
                       o->max_text_chars, MIN_TEXT_CHARS, MAX_TEXT_CHARS);
    if (isnan(o->temperature) || o->temperature > 2)
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "verify: temperature %g is out of range (0..2, or negative for the "
                       "endpoint's default)", o->temperature);
    if (o->max_tokens < 0)
        return hr_fail(HR_ERR_INPUT, err, errlen, "verify: max tokens %d is negative",
                       o->max_tokens);
    if (o->context_tokens > 10000000)
        return hr_fail(HR_ERR_INPUT, err, errlen, "verify: context of %zu tokens is out of range",
                       o->context_tokens);
    return HR_OK;
}

hr_status hr_verify_resolve(const hr_verify_options *opts, hr_verify_options *o, char *err,
                            size_t errlen)
{
    hr_verify_options_init(o);
    if (opts)
        *o = *opts;
    return check_options(o, err, errlen);
}

/* ---- random numbers ----------------------------------------------------------------- */

/* A stream of its own for each purpose, from the seed. */
static uint64_t rng_stream(uint64_t seed, uint64_t stream)
{
    uint64_t r = seed ^ (stream * 0xd1b54a32d192ed03ULL);
    hr_splitmix64(&r);
    return r;
}

/* Selection sampling: m of 0..n-1, each subset equally likely; rows: (m),
 * ascending. Row i is taken with probability (m - taken) / (n - i). */
static void select_rows(uint64_t *r, size_t n, size_t m, size_t *rows)
{
    size_t taken = 0;
    for (size_t i = 0; i < n && taken < m; i++)
        if (hr_random_below(r, n - i) < m - taken)
            rows[taken++] = i;
}

enum { STREAM_A = 1, STREAM_B = 2, STREAM_PLAN = 3 };

hr_status hr_verify_sample_rows(size_t n_a, size_t n_b, const hr_verify_options *opts,
                                size_t **rows_a, size_t *m_a, size_t **rows_b, size_t *m_b,
                                char *err, size_t errlen)
{
    if (!rows_a || !m_a || !rows_b || !m_b)
        return hr_fail(HR_ERR_INTERNAL, err, errlen, "verify: no place for the sample");
    *rows_a = *rows_b = NULL;
    *m_a = *m_b = 0;
    hr_verify_options o;
    hr_status s = hr_verify_resolve(opts, &o, err, errlen);
    if (s != HR_OK)
        return s;
    if (n_a < 1 || n_b < 1)
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "verify: both corpora need texts (A has %zu, B has %zu)", n_a, n_b);
    size_t ma = n_a < o.samples_per_side ? n_a : o.samples_per_side;
    size_t mb = n_b < o.samples_per_side ? n_b : o.samples_per_side;
    size_t *ra = malloc(ma * sizeof *ra);
    size_t *rb = malloc(mb * sizeof *rb);
    if (!ra || !rb) {
        free(ra);
        free(rb);
        return hr_fail(HR_ERR_NOMEM, err, errlen, "verify: out of memory");
    }
    uint64_t r = rng_stream(o.seed, STREAM_A);
    select_rows(&r, n_a, ma, ra);
    r = rng_stream(o.seed, STREAM_B);
    select_rows(&r, n_b, mb, rb);
    *rows_a = ra;
    *rows_b = rb;
    *m_a = ma;
    *m_b = mb;
    return HR_OK;
}

/* ---- the plan: which texts go to which request ------------------------------------- */

/* Columns 0..m_a-1 are A's sampled texts, m_a..m_a+m_b-1 B's. cols: (T)
 * gets every column once; request q holds cols[off[q] .. off[q+1]), off:
 * (n_req + 1). Each side is shuffled; A's i-th text sits at (i + 1/2) / m_a
 * of the way through, B's j-th at (j + 1/2) / m_b, and the two are merged
 * by that position (ties broken at random), so any stretch of the order
 * holds A and B in proportion; the stretches are cut into requests whose
 * sizes differ by at most one, and each request is shuffled. */
void hr_verify_plan(uint64_t seed, size_t m_a, size_t m_b, size_t per, size_t *cols, size_t *off,
                    size_t *n_req_out, size_t *tmp)
{
    uint64_t r = rng_stream(seed, STREAM_PLAN);
    size_t *a = tmp, *b = tmp + m_a; /* tmp: (T) scratch */
    for (size_t i = 0; i < m_a; i++)
        a[i] = i;
    for (size_t j = 0; j < m_b; j++)
        b[j] = m_a + j;
    hr_random_shuffle(&r, a, m_a);
    hr_random_shuffle(&r, b, m_b);
    size_t i = 0, j = 0, t = 0;
    while (i < m_a || j < m_b) {
        int take_a;
        if (i == m_a)
            take_a = 0;
        else if (j == m_b)
            take_a = 1;
        else {
            /* (2i + 1) / m_a against (2j + 1) / m_b, in integers (m <= 1e5). */
            uint64_t pa = (uint64_t)(2 * i + 1) * m_b, pb = (uint64_t)(2 * j + 1) * m_a;
            take_a = pa < pb || (pa == pb && (hr_splitmix64(&r) >> 63));
        }
        cols[t++] = take_a ? a[i++] : b[j++];
    }
    size_t total = m_a + m_b;
    size_t n_req = (total + per - 1) / per;
    size_t base = total / n_req, extra = total % n_req;
    off[0] = 0;
    for (size_t q = 0; q < n_req; q++) {
        off[q + 1] = off[q] + base + (q < extra ? 1 : 0);
        hr_random_shuffle(&r, cols + off[q], off[q + 1] - off[q]);
    }
    *n_req_out = n_req;
}

/* ---- prompts ------------------------------------------------------------------------ */

typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

static int buf_add(buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return -1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

static int buf_str(buf *b, const char *s) { return buf_add(b, s, strlen(s)); }

static int buf_size(buf *b, size_t v)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%zu", v);
    return buf_add(b, tmp, (size_t)n);
}

/* 1 when s[0..n) starts with the ASCII word w, in any case. */
static int starts_with_ci(const char *s, size_t n, const char *w)
{
    size_t k = strlen(w);
    if (n < k)
        return 0;
    for (size_t i = 0; i < k; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != w[i])
            return 0;
    }
    return 1;
}

/* The text as the judge sees it: at most max_chars code points and at
 * most max_bytes bytes before the marker (cut at a code point boundary,
 * then the marker), "<text" and "</text" opened up to "< text", "< /text",
 * NUL bytes as spaces. */
static int render_text(buf *b, const char *s, size_t len, size_t max_chars, size_t max_bytes)
{
    size_t chars = 0, end = len;
    for (size_t i = 0; i < len; i++) {
        const unsigned char c = (unsigned char)s[i];
        if ((c & 0xC0) != 0x80) { /* a code point starts here */
            const size_t width = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
            if (chars == max_chars || i + width > max_bytes) {
                end = i;
                break;
            }
            chars++;
        }
    }
    size_t run = 0; /* bytes s[run..i) to copy as they are */
    for (size_t i = 0; i < end; i++) {
        if (s[i] == '\0' || (s[i] == '<' && (starts_with_ci(s + i + 1, end - i - 1, "text") ||
                                            starts_with_ci(s + i + 1, end - i - 1, "/text")))) {
            if (buf_add(b, s + run, i - run) || buf_str(b, s[i] ? "< " : " "))
                return -1;
            run = i + 1;
        }
    }
    if (buf_add(b, s + run, end - run))
        return -1;
    return end < len ? buf_str(b, hr_verify_truncated_marker) : 0;
}

char *hr_verify_render(const char *s, size_t len, size_t max_chars, size_t max_bytes)
{
    buf b = {0};
    if (render_text(&b, s, len, max_chars, max_bytes) || (!b.p && buf_add(&b, "", 0))) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

/* The hypothesis on one line: line breaks and tabs become spaces. */
static int render_hypothesis(buf *b, const char *h)
{
    for (const char *p = h; *p; p++) {
        char c = (*p == '\n' || *p == '\r' || *p == '\t') ? ' ' : *p;
        if (buf_add(b, &c, 1))
            return -1;
    }
    return 0;
}

/* The user message for hypothesis h and the n rendered texts. */
static char *user_prompt(const char *h, const char *const *texts, size_t n)
{
    buf b = {0};
    int bad = buf_str(&b, "Hypothesis: ") || render_hypothesis(&b, h) ||
              buf_str(&b, "\n\nTexts:\n");
    for (size_t s = 0; s < n && !bad; s++)
        bad = buf_str(&b, "\n<text id=\"") || buf_size(&b, s + 1) || buf_str(&b, "\">\n") ||
              buf_str(&b, texts[s]) || buf_str(&b, "\n</text>\n");
    if (!bad)
        bad = buf_str(&b, "\nFor each of the ") || buf_size(&b, n) ||
              buf_str(&b, n == 1 ? " text" : " texts") ||
              buf_str(&b, " above, is the hypothesis true of it? Answer with only a JSON "
                          "object of this form, with one entry for every text id from 1 to ") ||
              buf_size(&b, n) ||
              buf_str(&b, ":\n{\"answers\": [{\"id\": 1, \"satisfies\": true}, "
                          "{\"id\": 2, \"satisfies\": false}]}\n");
    if (bad) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

/* ---- reading answers ---------------------------------------------------------------- */

/* s without surrounding ASCII spaces: [*b, *e). */
static void trim(const char *s, const char **b, const char **e)
{
    const char *p = s, *q = s + strlen(s);
    while (p < q && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    while (q > p && (q[-1] == ' ' || q[-1] == '\t' || q[-1] == '\n' || q[-1] == '\r'))
        q--;
    *b = p;
    *e = q;
}

static int word_is(const char *b, const char *e, const char *w)
{
    return (size_t)(e - b) == strlen(w) && starts_with_ci(b, (size_t)(e - b), w);
}

/* An id in 1..n, else 0. */
static size_t parse_id(const cJSON *v, size_t n)
{
    double d;
    if (cJSON_IsNumber(v)) {
        d = v->valuedouble;
    } else if (cJSON_IsString(v) && v->valuestring) {
        const char *b, *e;
        trim(v->valuestring, &b, &e);
        if (b == e || (size_t)(e - b) > 20)
            return 0;
        char tmp[24];
        memcpy(tmp, b, (size_t)(e - b));
        tmp[e - b] = '\0';
        for (const char *p = tmp; *p; p++)
            if (*p < '0' || *p > '9')
                return 0;
        errno = 0;
        char *end;
        unsigned long long u = strtoull(tmp, &end, 10);
        if (errno || *end)
            return 0;
        d = (double)u;
    } else {
        return 0;
    }
    if (!(d >= 1) || d > (double)n || d != floor(d))
        return 0;
    return (size_t)d;
}

/* 1 true, 0 false, -1 not a verdict. */
static int parse_verdict(const cJSON *v)
{
    if (cJSON_IsTrue(v))
        return 1;
    if (cJSON_IsFalse(v))
        return 0;
    if (cJSON_IsNumber(v))
        return v->valuedouble == 1 ? 1 : v->valuedouble == 0 ? 0 : -1;
    if (cJSON_IsString(v) && v->valuestring) {
        const char *b, *e;
        trim(v->valuestring, &b, &e);
        if (word_is(b, e, "yes") || word_is(b, e, "true") || word_is(b, e, "1"))
            return 1;
        if (word_is(b, e, "no") || word_is(b, e, "false") || word_is(b, e, "0"))
            return 0;
    }
    return -1;
}

/* Reads a reply for a request of n texts. verdict: (n) gets 1, 0 or -1
 * (missing) for ids 1..n; state: (n) scratch. Returns 1 when the reply is
 * usable (an "answers" array with at least one verdict), else 0. */
static int parse_answers(const char *content, size_t n, signed char *verdict,
                         unsigned char *state)
{
    for (size_t s = 0; s < n; s++) {
        verdict[s] = -1;
        state[s] = 0; /* 0 not seen, 1 one verdict, 2 conflicting verdicts */
    }
    cJSON *j = content ? cJSON_Parse(content) : NULL;
    const cJSON *answers = cJSON_IsObject(j) ? cJSON_GetObjectItemCaseSensitive(j, "answers")
                                             : NULL;
    int usable = 0;
    const cJSON *e;
    if (cJSON_IsArray(answers)) {
        cJSON_ArrayForEach(e, answers) {
            if (!cJSON_IsObject(e))
                continue;
            size_t id = parse_id(cJSON_GetObjectItemCaseSensitive(e, "id"), n);
            int v = parse_verdict(cJSON_GetObjectItemCaseSensitive(e, "satisfies"));
            if (id == 0 || v < 0)
                continue;
            size_t s = id - 1;
            if (state[s] == 0) {
                state[s] = 1;
                verdict[s] = (signed char)v;
            } else if (state[s] == 1 && verdict[s] != v) {
                state[s] = 2;
                verdict[s] = -1;
            }
        }
        for (size_t s = 0; s < n; s++)
            usable |= verdict[s] >= 0;
    }
    cJSON_Delete(j);
    return usable;
}

/* ---- statistics --------------------------------------------------------------------- */

double hr_verify_fisher_p(size_t a, size_t n_a, size_t b, size_t n_b)
{
    if (a > n_a || b > n_b)
        return NAN;
    size_t t = a + b;
    size_t lo = t > n_b ? t - n_b : 0, hi = t < n_a ? t : n_a;
    if (lo == hi)
        return 1.0;
    /* log P(x) up to a constant, by the ratio
     *   P(x + 1) / P(x) = (n_a - x)(t - x) / ((x + 1)(n_b - t + x + 1)),
     * from lp(lo) = 0. Two passes (the same arithmetic each time): the
     * largest lp and lp(a), then the sums scaled by the largest. */
    double lp = 0, lp_max = 0, lp_obs = 0;
    for (size_t x = lo;; x++) {
        if (lp > lp_max)
            lp_max = lp;
        if (x == a)
            lp_obs = lp;
        if (x == hi)
            break;
        lp += log((double)(n_a - x) * (double)(t - x)) -
              log((double)(x + 1) * (double)(n_b - t + x + 1));
    }
    double cut = lp_obs + log1p(FISHER_REL_TOL);
    double all = 0, sel = 0;
    lp = 0;
    for (size_t x = lo;; x++) {
        double w = exp(lp - lp_max);
        all += w;
        if (lp <= cut)
            sel += w;
        if (x == hi)
            break;
        lp += log((double)(n_a - x) * (double)(t - x)) -
              log((double)(x + 1) * (double)(n_b - t + x + 1));
    }
    double p = sel / all;
    return p > 1 ? 1.0 : p;
}

/* Wilson's score interval for x of n (n >= 1). */
static void wilson(size_t x, size_t n, double z, double *l, double *u)
{
    double dn = (double)n, dx = (double)x, z2 = z * z;
    double center = (dx + z2 / 2) / (dn + z2);
    double half = z * sqrt(dx * (dn - dx) / dn + z2 / 4) / (dn + z2);
    *l = fmax(0.0, center - half);
    *u = fmin(1.0, center + half);
}

void hr_verify_newcombe(size_t a, size_t n_a, size_t b, size_t n_b, double z, double *low,
                        double *high)
{
    if (n_a < 1 || n_b < 1 || a > n_a || b > n_b) {
        *low = -1;
        *high = 1;
        return;
    }
    double pa = (double)a / (double)n_a, pb = (double)b / (double)n_b, v = pa - pb;
    double la, ua, lb, ub;
    wilson(a, n_a, z, &la, &ua);
    wilson(b, n_b, z, &lb, &ub);
    *low = fmax(-1.0, v - sqrt((pa - la) * (pa - la) + (ub - pb) * (ub - pb)));
    *high = fmin(1.0, v + sqrt((ua - pa) * (ua - pa) + (pb - lb) * (pb - lb)));
}

hr_status hr_verify_counts(size_t a, size_t n_a, size_t b, size_t n_b, hr_verify_result *out,
                           char *err, size_t errlen)
{
    if (!out)
        return hr_fail(HR_ERR_INTERNAL, err, errlen, "verify: no place for the result");
    memset(out, 0, sizeof *out);
    out->agreement_auroc = NAN;
    if (a > n_a || b > n_b)
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "verify: more texts true than answered (%zu of %zu, %zu of %zu)", a, n_a,
                       b, n_b);
    out->n_a_true = a;
    out->n_a_answered = n_a;
    out->n_b_true = b;
    out->n_b_answered = n_b;
    out->p_a = n_a ? (double)a / (double)n_a : NAN;
    out->p_b = n_b ? (double)b / (double)n_b : NAN;
    out->v = n_a && n_b ? out->p_a - out->p_b : NAN;
    hr_verify_newcombe(a, n_a, b, n_b, HR_VERIFY_Z95, &out->ci_low, &out->ci_high);
    out->p_value = hr_verify_fisher_p(a, n_a, b, n_b);
    return HR_OK;
}

hr_status hr_verify_agreement(const float *score, const signed char *verdict, size_t total,
                              float *pos, double *out, char *err, size_t errlen)
{
    size_t np = 0, nn = 0;
    for (size_t c = 0; c < total; c++) {
        np += verdict[c] == 1;
        nn += verdict[c] == 0;
    }
    if (np == 0 || nn == 0) {
        *out = 0.5;
        return HR_OK;
    }
    size_t ip = 0, in = np; /* the true ones first, then the false ones */
    for (size_t c = 0; c < total; c++) {
        if (verdict[c] == 1)
            pos[ip++] = score[c];
        else if (verdict[c] == 0)
            pos[in++] = score[c];
    }
    hr_mw_result r;
    hr_status s = hr_mw_sorted(pos, np, nn, &r, err, errlen);
    if (s == HR_OK)
        *out = r.auroc;
    return s;
}

/* ---- scores ------------------------------------------------------------------------- */

hr_status hr_verify_dot_scores(void *user, const size_t *rows_a, size_t m_a,
                               const size_t *rows_b, size_t m_b, size_t k, float *scores,
                               char *err, size_t errlen)
{
    const hr_verify_dot_data *d = user;
    if (!d || !d->xa || !d->xb || !d->h || d->dim < 1)
        return hr_fail(HR_ERR_INTERNAL, err, errlen, "verify: incomplete embeddings for scores");
    size_t dim = (size_t)d->dim, total = m_a + m_b;
    for (size_t j = 0; j < k; j++) {
        const float *h = d->h + j * dim;
        for (size_t c = 0; c < total; c++) {
            const float *x = c < m_a ? d->xa + rows_a[c] * dim : d->xb + rows_b[c - m_a] * dim;
            const double acc = hr_similarity(h, x, d->dim);
            float f = (float)acc;
            if (!isfinite(f))
                return hr_fail(HR_ERR_INPUT, err, errlen,
                               "verify: hypothesis %zu scores %g on %s row %zu (an embedding "
                               "is not finite)", j, acc, c < m_a ? "A" : "B",
                               c < m_a ? rows_a[c] : rows_b[c - m_a]);
            scores[j * total + c] = f;
        }
    }
    return HR_OK;
}

/* ---- asking ----------------------------------------------------------------------- */

hr_status hr_verify_fit(const hr_verify_options *o, const char *h, size_t longest, size_t *per,
                        size_t *max_bytes, char *err, size_t errlen)
{
    *per = o->texts_per_request;
    *max_bytes = SIZE_MAX;
    if (o->context_tokens == 0)
        return HR_OK;
    /* The prompt's fixed bytes: the system message, the user message's
     * frame (about 330 bytes with the numbers) and the hypothesis; each
     * text adds its tags (about 32 bytes) and at most the marker. */
    const size_t fixed = sizeof system_prompt + 400 + strlen(h);
    const size_t per_text = 32 + sizeof hr_verify_truncated_marker;
    const size_t B = HR_VERIFY_GUARD_BYTES_PER_TOKEN;
    size_t best = 0, room1 = 0;
    for (size_t n = 1; n <= o->texts_per_request; n++) {
        const size_t answer = HR_VERIFY_ANSWER_TOKENS_BASE + HR_VERIFY_ANSWER_TOKENS_PER_TEXT * n;
        if (answer + 8 >= o->context_tokens)
            break;
        const size_t bytes = B * (o->context_tokens - answer - 8);
        if (bytes <= fixed + n * per_text)
            break;
        const size_t room = (bytes - fixed) / n - per_text; /* bytes each text may keep */
        if (n == 1)
            room1 = room;
        if (room >= longest)
            best = n;
    }
    if (best > 0) {
        *per = best;
        return HR_OK;
    }
    if (room1 < 64)
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "verify: a context of %zu tokens is too small for the judge's prompt "
                       "(it needs about %zu tokens for one short text)",
                       o->context_tokens,
                       (fixed + per_text + 64) / B + HR_VERIFY_ANSWER_TOKENS_BASE +
                           HR_VERIFY_ANSWER_TOKENS_PER_TEXT + 9);
    *per = 1;
    *max_bytes = room1;
    return HR_OK;
}

hr_status hr_verify_requests(const hr_verify_item *items, size_t n, const hr_verify_options *o,
                             int attempt, hr_llm_request *reqs, char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        const hr_verify_item *it = &items[i];
        char *u = user_prompt(it->hypothesis, it->texts, it->n);
        if (!u) {
            hr_verify_requests_free(reqs, i);
            return hr_fail(HR_ERR_NOMEM, err, errlen, "verify: out of memory");
        }
        int max_tokens = o->max_tokens;
        if (o->context_tokens > 0 && max_tokens == 0)
            max_tokens =
                (int)(HR_VERIFY_ANSWER_TOKENS_BASE + HR_VERIFY_ANSWER_TOKENS_PER_TEXT * it->n);
        reqs[i] = (hr_llm_request){
            .system = system_prompt,
            .user = u,
            .temperature = o->temperature,
            .max_tokens = max_tokens,
            .json_object = 1,
            .sample = attempt,
            .expect_tokens =
                (int)(HR_VERIFY_EXPECT_TOKENS_BASE + HR_VERIFY_EXPECT_TOKENS_PER_TEXT * it->n)};
    }
    return HR_OK;
}

void hr_verify_requests_free(hr_llm_request *reqs, size_t n)
{
    for (size_t i = 0; reqs && i < n; i++) {
        free((char *)reqs[i].user);
        reqs[i].user = NULL;
    }
}

hr_status hr_verify_ask(hr_llm *llm, hr_verify_item *items, size_t n, const hr_verify_options *o,
                        hr_verify_ask_stats *stats, char *err, size_t errlen)
{
    hr_verify_ask_stats st;
    memset(&st, 0, sizeof st);
    hr_status s = HR_OK;
    size_t *pending = malloc((n ? n : 1) * sizeof *pending); /* (n) items not answered yet */
    hr_llm_request *reqs = calloc(n ? n : 1, sizeof *reqs);  /* (n) one try's requests */
    hr_llm_result *res = calloc(n ? n : 1, sizeof *res);     /* (n) their results */
    size_t most = 1;
    for (size_t i = 0; i < n; i++)
        if (items[i].n > most)
            most = items[i].n;
    signed char *one = malloc(most);                          /* one reply's verdicts */
    unsigned char *state = malloc(most);                      /* scratch for parse_answers */
    if (!pending || !reqs || !res || !one || !state) {
        s = hr_fail(HR_ERR_NOMEM, err, errlen, "verify: out of memory");
        goto done;
    }
    size_t n_pending = n;
    for (size_t i = 0; i < n; i++) {
        pending[i] = i;
        items[i].unusable = 0;
        items[i].not_sent = 0;
        memset(items[i].out, -1, items[i].n);
    }
    hr_verify_item *batch = malloc((n ? n : 1) * sizeof *batch); /* one try's items */
    if (!batch) {
        s = hr_fail(HR_ERR_NOMEM, err, errlen, "verify: out of memory");
        goto done;
    }
    for (int attempt = 0; attempt <= o->max_retries && n_pending > 0; attempt++) {
        for (size_t i = 0; i < n_pending; i++)
            batch[i] = items[pending[i]];
        if ((s = hr_verify_requests(batch, n_pending, o, attempt, reqs, err, errlen)) != HR_OK) {
            free(batch);
            goto done;
        }
        hr_remote_stats rs;
        s = hr_llm_run(llm, reqs, n_pending, res, &rs, err, errlen);
        hr_verify_add_stats(&st.llm, &rs);
        st.prompts += n_pending;
        if (attempt > 0)
            st.reasked += n_pending;
        size_t still = 0;
        for (size_t i = 0; i < n_pending; i++) {
            hr_verify_item *it = &items[pending[i]];
            if (s == HR_OK && res[i].not_sent) {
                it->not_sent = 1;
                st.not_sent++;
            } else if (s == HR_OK) {
                if (res[i].status == HR_OK && parse_answers(res[i].content, it->n, one, state)) {
                    memcpy(it->out, one, it->n);
                } else {
                    if (res[i].status != HR_OK && st.failed++ == 0)
                        snprintf(st.first_error, sizeof st.first_error, "%s",
                                 res[i].error ? res[i].error : hr_status_str(res[i].status));
                    it->unusable++;
                    st.unusable++;
                    pending[still++] = pending[i];
                }
            }
        }
        hr_verify_requests_free(reqs, n_pending);
        hr_llm_results_free(res, n_pending);
        if (s != HR_OK)
            break;
        n_pending = still;
    }
    free(batch);
done:
    if (stats)
        *stats = st;
    free(pending);
    free(reqs);
    free(res);
    free(one);
    free(state);
    return s;
}

/* ---- the run ------------------------------------------------------------------------ */

void hr_verify_add_stats(hr_remote_stats *sum, const hr_remote_stats *s)
{
    sum->items += s->items;
    sum->cache_hits += s->cache_hits;
    sum->sent += s->sent;
    sum->failed += s->failed;
    sum->http_requests += s->http_requests;
    sum->retries += s->retries;
    sum->prompt_tokens += s->prompt_tokens;
    sum->completion_tokens += s->completion_tokens;
    sum->cost_usd += s->cost_usd;
    sum->seconds += s->seconds;
}

hr_status hr_verify_run(hr_llm *llm, const char *const *hypotheses, size_t k,
                        const char *const *texts_a, const size_t *lens_a, size_t n_a,
                        const char *const *texts_b, const size_t *lens_b, size_t n_b,
                        hr_verify_score_fn score_fn, void *score_user,
                        const hr_verify_options *opts, hr_verify_result *results,
                        hr_verify_stats *stats, char *err, size_t errlen)
{
    hr_verify_stats st;
    memset(&st, 0, sizeof st);
    if (stats)
        memset(stats, 0, sizeof *stats);
    if (!llm || !results || (k > 0 && !hypotheses) || (n_a > 0 && !texts_a) ||
        (n_b > 0 && !texts_b))
        return hr_fail(HR_ERR_INTERNAL, err, errlen, "verify: bad arguments to hr_verify_run");
    memset(results, 0, k * sizeof *results);
    hr_verify_options o;
    hr_status s = hr_verify_resolve(opts, &o, err, errlen);
    if (s != HR_OK)
        return s;
    if (k < 1)
        return hr_fail(HR_ERR_INPUT, err, errlen, "verify: no hypotheses to verify");
    for (size_t j = 0; j < k; j++)
        if (!hypotheses[j] || !hypotheses[j][0])
            return hr_fail(HR_ERR_INPUT, err, errlen, "verify: hypothesis %zu is empty", j);

    char **rendered = NULL;        /* (T) the sampled texts as the judge sees them */
    size_t *cols = NULL;           /* (T) columns in request order */
    size_t *off = NULL;            /* (n_req + 1) where each request starts in cols */
    size_t *tmp = NULL;            /* (T) scratch for the plan */
    float *scores = NULL;          /* (k, T) row-major: the ranker's scores, or NULL */
    float *pos = NULL;             /* (T) scratch for the agreement AUROC */
    const char **ordered = NULL;   /* (T) the rendered texts in request order */
    hr_verify_item *items = NULL;  /* (k n_req) item j n_req + q: hypothesis j, request q */
    signed char *out = NULL;       /* (k, T) the items' verdicts, request order */
    size_t n_req = 0, total = 0, pairs = 0, per = 0, max_bytes = SIZE_MAX;

    s = hr_verify_sample_rows(n_a, n_b, &o, &st.rows_a, &st.m_a, &st.rows_b, &st.m_b, err,
                              errlen);
    if (s != HR_OK)
        goto fail;
    total = st.m_a + st.m_b;
    /* The context guard, for the longest hypothesis and the longest text
     * as the max_text_chars cut leaves it (4 bytes a code point at most). */
    for (size_t j = 0; j < k && s == HR_OK; j++) {
        size_t pj, bj;
        s = hr_verify_fit(&o, hypotheses[j], 4 * o.max_text_chars + sizeof hr_verify_truncated_marker, &pj,
                          &bj, err, errlen);
        if (j == 0 || pj < per)
            per = pj;
        if (bj < max_bytes)
            max_bytes = bj;
    }
    if (s != HR_OK)
        goto fail;
    n_req = (total + per - 1) / per;
    if (k > SIZE_MAX / 8 / total) {
        s = hr_fail(HR_ERR_NOMEM, err, errlen, "verify: %zu hypotheses are too many", k);
        goto fail;
    }
    pairs = k * n_req;
    rendered = calloc(total, sizeof *rendered);
    cols = malloc(total * sizeof *cols);
    off = malloc((n_req + 1) * sizeof *off);
    tmp = malloc(total * sizeof *tmp);
    pos = malloc(total * sizeof *pos);
    ordered = malloc(total * sizeof *ordered);
    items = calloc(pairs, sizeof *items);
    out = malloc(k * total);
    st.verdicts = malloc(k * total);
    if (!rendered || !cols || !off || !tmp || !pos || !ordered || !items || !out ||
        !st.verdicts) {
        s = hr_fail(HR_ERR_NOMEM, err, errlen, "verify: out of memory");
        goto fail;
    }
    memset(st.verdicts, -1, k * total);
    st.n_requests = n_req;
    hr_verify_plan(o.seed, st.m_a, st.m_b, per, cols, off, &n_req, tmp);

    for (size_t c = 0; c < total; c++) {
        int is_a = c < st.m_a;
        size_t row = is_a ? st.rows_a[c] : st.rows_b[c - st.m_a];
        const char *t = is_a ? texts_a[row] : texts_b[row];
        if (!t) {
            s = hr_fail(HR_ERR_INPUT, err, errlen, "verify: text %zu of %s is missing", row,
                        is_a ? "A" : "B");
            goto fail;
        }
        const size_t *lens = is_a ? lens_a : lens_b;
        if (!(rendered[c] = hr_verify_render(t, lens ? lens[row] : strlen(t), o.max_text_chars,
                                             max_bytes))) {
            s = hr_fail(HR_ERR_NOMEM, err, errlen, "verify: out of memory");
            goto fail;
        }
    }
    for (size_t t = 0; t < total; t++)
        ordered[t] = rendered[cols[t]];

    if (score_fn) {
        if (!(scores = malloc(k * total * sizeof *scores))) {
            s = hr_fail(HR_ERR_NOMEM, err, errlen, "verify: out of memory");
            goto fail;
        }
        s = score_fn(score_user, st.rows_a, st.m_a, st.rows_b, st.m_b, k, scores, err, errlen);
        if (s != HR_OK)
            goto fail;
        for (size_t i = 0; i < k * total; i++)
            if (isnan(scores[i])) {
                s = hr_fail(HR_ERR_INPUT, err, errlen,
                            "verify: the score of hypothesis %zu on sampled text %zu is NaN",
                            i / total, i % total);
                goto fail;
            }
    }

    /* Item j n_req + q: hypothesis j on request q's texts. */
    for (size_t j = 0; j < k; j++)
        for (size_t q = 0; q < n_req; q++)
            items[j * n_req + q] = (hr_verify_item){.hypothesis = hypotheses[j],
                                                    .texts = ordered + off[q],
                                                    .n = off[q + 1] - off[q],
                                                    .out = out + j * total + off[q]};
    hr_verify_ask_stats as;
    s = hr_verify_ask(llm, items, pairs, &o, &as, err, errlen);
    hr_verify_add_stats(&st.llm, &as.llm);
    st.prompts = as.prompts;
    st.reasked = as.reasked;
    st.unusable = as.unusable;
    if (s != HR_OK)
        goto fail;
    for (size_t j = 0; j < k; j++)
        for (size_t t = 0; t < total; t++)
            st.verdicts[j * total + cols[t]] = out[j * total + t];
    for (size_t p = 0; p < pairs; p++)
        results[p / n_req].unusable += items[p].unusable;

    for (size_t j = 0; j < k; j++) {
        const signed char *v = st.verdicts + j * total;
        size_t at = 0, aa = 0, bt = 0, ba = 0;
        for (size_t c = 0; c < total; c++) {
            if (v[c] < 0)
                continue;
            if (c < st.m_a) {
                at += v[c] == 1;
                aa++;
            } else {
                bt += v[c] == 1;
                ba++;
            }
        }
        size_t unusable = results[j].unusable;
        hr_verify_counts(at, aa, bt, ba, &results[j], NULL, 0);
        results[j].unusable = unusable;
        results[j].n_a_missing = st.m_a - aa;
        results[j].n_b_missing = st.m_b - ba;
        st.missing += (st.m_a - aa) + (st.m_b - ba);
        if (scores) {
            s = hr_verify_agreement(scores + j * total, v, total, pos, &results[j].agreement_auroc, err,
                          errlen);
            if (s != HR_OK)
                goto fail;
        }
    }
    s = HR_OK;
    goto done;

fail:
    memset(results, 0, k * sizeof *results);
    hr_verify_stats_free(&st);
done:
    if (s == HR_OK && stats)
        *stats = st;
    else if (s == HR_OK)
        hr_verify_stats_free(&st);
    if (rendered)
        for (size_t c = 0; c < total; c++)
            free(rendered[c]);
    free(rendered);
    free(cols);
    free(off);
    free(tmp);
    free(scores);
    free(pos);
    free(ordered);
    free(items);
    free(out);
    return s;
}
