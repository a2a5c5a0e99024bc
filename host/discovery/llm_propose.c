/*
 * host/discovery/llm_propose.c: the D5-style LLM proposer, the parser of its answers,
 * and near-duplicate merging by embedding similarity (llm_propose.h has the
 * method and its choices).
 *
 * Prompts are built in a growable byte buffer (sbuf). Texts go through one
 * sanitiser that decodes UTF-8 (invalid bytes become '?'), turns control
 * characters into spaces, and cuts at a byte budget on a character boundary.
 * Answers are parsed by cJSON (strict, then the first balanced {...}), else
 * line by line; every item passes one cleaner (clean_item) that decides what
 * is kept.
 */
#include "hyporank/llm_propose.h"
#include "core/util.h"

#include <cblas.h>
#include <cjson/cJSON.h>

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Byte buffer                                                                */

typedef struct sbuf {
    char *p;    /* (cap) bytes, p[len] == '\0' while not oom */
    size_t len;
    size_t cap;
    int oom;    /* an allocation failed: later appends do nothing */
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *q = realloc(b->p, cap);
        if (!q) {
            b->oom = 1;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_str(sbuf *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

static void sb_fmt(sbuf *b, const char *fmt, ...) HR_PRINTF(2, 3);
static void sb_fmt(sbuf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = 1;
        return;
    }
    sb_add(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* ------------------------------------------------------------------------ */
/* UTF-8                                                                      */

/* Decodes one character at s[0..n): returns its length (1..4) and *cp, or 0
 * when the bytes there are not valid UTF-8 (overlong forms, surrogates and
 * code points above U+10FFFF are invalid). */
static size_t utf8_next(const unsigned char *s, size_t n, unsigned *cp)
{
    if (n == 0)
        return 0;
    unsigned c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t len;
    unsigned v, min;
    if ((c & 0xe0) == 0xc0) {
        len = 2, v = c & 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        len = 3, v = c & 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
        len = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t k = 1; k < len; k++) {
        if ((s[k] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (s[k] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return len;
}

/* Control characters and Unicode line / paragraph separators. */
static int is_control(unsigned cp)
{
    return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0) || cp == 0x2028 ||
           cp == 0x2029;
}

static int is_blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/*
 * Appends s[0..n) to b, sanitised: invalid bytes become '?', control
 * characters a space (newlines too unless keep_newlines), and with
 * collapse, runs of spaces become one and the ends are trimmed. At most
 * max_bytes bytes of text are written, cut at a character boundary. Returns
 * 1 when the text was cut, 0 otherwise.
 */
static int sanitize(sbuf *b, const char *s, size_t n, size_t max_bytes, int keep_newlines,
                    int collapse)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, written = 0;
    int pending_space = 0; /* collapse: a space to write before the next character */
    while (i < n) {
        unsigned cp = 0;
        size_t k = utf8_next(u + i, n - i, &cp);
        char tmp[4];
        size_t tl;
        if (k == 0) {
            tmp[0] = '?';
            tl = 1;
            k = 1;
        } else if (cp == '\n' && keep_newlines) {
            tmp[0] = '\n';
            tl = 1;
        } else if (is_control(cp) || cp == ' ') {
            if (collapse) {
                if (written > 0)
                    pending_space = 1;
                i += k;
                continue;
            }
            tmp[0] = ' ';
            tl = 1;
        } else {
            memcpy(tmp, u + i, k);
            tl = k;
        }
        size_t need = tl + (size_t)pending_space;
        if (written + need > max_bytes)
            return 1;
        if (pending_space)
            sb_add(b, " ", 1);
        pending_space = 0;
        sb_add(b, tmp, tl);
        written += need;
        i += k;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Options, samples, prompts                                                  */

hr_llm_propose_options hr_llm_propose_default_options(void)
{
    hr_llm_propose_options o;
    o.rounds = 3;
    o.samples_per_side = 15;
    o.per_side = 10;
    o.max_sample_bytes = 400;
    o.max_goal_bytes = 2000;
    o.max_description_bytes = 2000;
    o.temperature = 0.7;
    o.max_tokens = 1500;
    o.json_mode = 1;
    return o;
}

static const char SYSTEM_PROMPT[] =
    "You are a careful research assistant. You compare two groups of texts and say how "
    "they differ, as short predicates that are true or false of a single text.";

const char *hr_llm_propose_system_prompt(void)
{
    return SYSTEM_PROMPT;
}

static hr_status check_options(const hr_llm_propose_options *o, char *err, size_t errlen)
{
    if (o->rounds < 1 || o->rounds > 1000)
        return hr_fail(HR_ERR_INPUT, err, errlen, "llm proposer: rounds must be 1..1000, not %d",
                       o->rounds);
    if (o->samples_per_side < 1 || o->samples_per_side > 200)
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "llm proposer: samples per side must be 1..200, not %d",
                       o->samples_per_side);
    if (o->per_side < 1 || o->per_side > 100)
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "llm proposer: predicates per side must be 1..100, not %d", o->per_side);
    if (o->max_sample_bytes < 16 || o->max_goal_bytes < 16 || o->max_description_bytes < 16)
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "llm proposer: the byte limits must be at least 16");
    if (!(o->temperature >= 0 && o->temperature <= 2))
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "llm proposer: temperature must be in [0, 2], not %g", o->temperature);
    if (o->max_tokens < 0)
        return hr_fail(HR_ERR_INPUT, err, errlen, "llm proposer: max_tokens must be >= 0");
    if (o->json_mode != 0 && o->json_mode != 1)
        return hr_fail(HR_ERR_INPUT, err, errlen, "llm proposer: json_mode must be 0 or 1");
    return HR_OK;
}

static size_t text_len(const char *const *t, const size_t *lens, size_t i)
{
    return lens ? lens[i] : strlen(t[i]);
}

static hr_status check_input(const hr_llm_propose_input *in, char *err, size_t errlen)
{
    if (!in)
        return hr_fail(HR_ERR_INPUT, err, errlen, "llm proposer: no input");
    if (in->n_a == 0 || in->n_b == 0 || !in->a || !in->b)
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "llm proposer: both sides need texts (A has %zu, B has %zu)", in->n_a,
                       in->n_b);
    for (size_t i = 0; i < in->n_a; i++)
        if (!in->a[i])
            return hr_fail(HR_ERR_INPUT, err, errlen, "llm proposer: text %zu of A is NULL", i);
    for (size_t i = 0; i < in->n_b; i++)
        if (!in->b[i])
            return hr_fail(HR_ERR_INPUT, err, errlen, "llm proposer: text %zu of B is NULL", i);
    return HR_OK;
}

/* A call's options (opt, or the defaults for NULL) into *o, checked, and
 * its input checked. */
static hr_status resolve_call(const hr_llm_propose_input *in, const hr_llm_propose_options *opt,
                              hr_llm_propose_options *o, char *err, size_t errlen)
{
    *o = opt ? *opt : hr_llm_propose_default_options();
    hr_status st = check_options(o, err, errlen);
    return st != HR_OK ? st : check_input(in, err, errlen);
}

typedef struct ranked {
    double key;  /* the sort key: larger first (B's scores are negated) */
    size_t idx;  /* the text's index */
} ranked;

static int cmp_ranked(const void *x, const void *y)
{
    const ranked *a = x, *b = y;
    /* NaN keys last: a decision value that is not a number says nothing */
    int an = isnan(a->key), bn = isnan(b->key);
    if (an != bn)
        return an - bn;
    if (!an && a->key != b->key)
        return a->key > b->key ? -1 : 1;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static int is_empty_text(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_blank((unsigned char)s[i]))
            return 0;
    return 1;
}

/* The non-empty texts of one side, most typical first: *order (m) indices.
 * sign +1 for A (highest score first), -1 for B (lowest first). */
static hr_status side_order(const char *const *t, const size_t *lens, size_t n,
                            const double *scores, double sign, size_t **order, size_t *m,
                            char *err, size_t errlen)
{
    ranked *r = malloc((n ? n : 1) * sizeof *r);
    *order = malloc((n ? n : 1) * sizeof **order);
    if (!r || !*order) {
        free(r);
        free(*order);
        *order = NULL;
        return hr_fail(HR_ERR_NOMEM, err, errlen, "llm proposer: out of memory");
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (is_empty_text(t[i], text_len(t, lens, i)))
            continue;
        r[k].key = scores ? sign * scores[i] : 0.0;
        r[k].idx = i;
        k++;
    }
    qsort(r, k, sizeof *r, cmp_ranked);
    for (size_t i = 0; i < k; i++)
        (*order)[i] = r[i].idx;
    free(r);
    *m = k;
    return HR_OK;
}

typedef struct orders {
    size_t *a, *b; /* (na), (nb) text indices, most typical first */
    size_t na, nb;
} orders;

static void orders_free(orders *o)
{
    free(o->a);
    free(o->b);
}

static hr_status make_orders(const hr_llm_propose_input *in, orders *o, char *err, size_t errlen)
{
    memset(o, 0, sizeof *o);
    hr_status st = side_order(in->a, in->a_lens, in->n_a, in->a_scores, 1.0, &o->a, &o->na, err,
                              errlen);
    if (st == HR_OK)
        st = side_order(in->b, in->b_lens, in->n_b, in->b_scores, -1.0, &o->b, &o->nb, err,
                        errlen);
    if (st == HR_OK && (o->na == 0 || o->nb == 0))
        st = hr_fail(HR_ERR_INPUT, err, errlen, "llm proposer: every text of %s is empty",
                     o->na == 0 ? "A" : "B");
    if (st != HR_OK)
        orders_free(o);
    return st;
}

/* Appends a goal or description paragraph, cut to max bytes with a note. */
static int add_paragraph(sbuf *b, const char *label, const char *s, size_t max)
{
    size_t n = strlen(s);
    if (is_empty_text(s, n))
        return 0;
    while (is_blank((unsigned char)*s)) /* the count in the note is of the original bytes */
        s++;
    sb_str(b, label);
    size_t before = b->len;
    int cut = sanitize(b, s, strlen(s), max, 1, 0);
    /* trim what the sanitiser left at the ends */
    while (b->len > before && is_blank((unsigned char)b->p[b->len - 1]))
        b->p[--b->len] = '\0';
    if (cut)
        sb_fmt(b, " [truncated: the first %zu of %zu bytes are shown]", b->len - before, n);
    sb_str(b, "\n\n");
    return cut;
}

static void add_samples(sbuf *b, const char *const *t, const size_t *lens, const size_t *order,
                        size_t m, int round, int per_round, size_t max_bytes)
{
    size_t take = (size_t)per_round < m ? (size_t)per_round : m;
    /* a side no larger than a round shows all of it, in order, every round */
    size_t start = m <= (size_t)per_round ? 0 : ((size_t)round * (size_t)per_round) % m;
    for (size_t j = 0; j < take; j++) {
        size_t i = order[(start + j) % m];
        sb_str(b, "- ");
        if (sanitize(b, t[i], text_len(t, lens, i), max_bytes, 0, 1))
            sb_str(b, "...");
        sb_str(b, "\n");
    }
}

static void build_prompt(const hr_llm_propose_input *in, const hr_llm_propose_options *o,
                         const orders *ord, int round, sbuf *b, int *goal_cut, int *desc_cut)
{
    int gc = 0, dc = 0;
    if (in->goal)
        gc = add_paragraph(b, "Research goal: ", in->goal, o->max_goal_bytes);
    if (in->description)
        dc = add_paragraph(b, "About the data: ", in->description, o->max_description_bytes);
    sb_str(b, "Below are texts from two groups, A and B: the texts that are most typical of "
              "each group.\n\nGroup A:\n");
    add_samples(b, in->a, in->a_lens, ord->a, ord->na, round, o->samples_per_side,
                o->max_sample_bytes);
    sb_str(b, "\nGroup B:\n");
    add_samples(b, in->b, in->b_lens, ord->b, ord->nb, round, o->samples_per_side,
                o->max_sample_bytes);
    sb_fmt(b,
           "\nPropose up to %d predicates that are more often true of a text in group A than of "
           "a text in group B, and up to %d that are more often true of a text in group B than "
           "of a text in group A.\n",
           o->per_side, o->per_side);
    sb_str(b, "Each predicate is a short phrase (at most 15 words) about one text, that a reader "
              "can check by looking at that text alone, for example \"is about sports\", "
              "\"asks the reader a question\" or \"mentions a specific date\". Do not compare "
              "the groups inside a predicate: \"is more formal than group B\" is wrong, \"is "
              "written in a formal tone\" is right. Prefer predicates that cover many texts of "
              "one group and few of the other.");
    if (in->goal && !is_empty_text(in->goal, strlen(in->goal)))
        sb_str(b, " Prefer predicates that serve the research goal.");
    sb_str(b, "\n\nAnswer with a JSON object and nothing else, in this form:\n"
              "{\"A\": [\"predicate\", ...], \"B\": [\"predicate\", ...]}\n");
    if (goal_cut)
        *goal_cut = gc;
    if (desc_cut)
        *desc_cut = dc;
}

hr_status hr_llm_propose_prompt(const hr_llm_propose_input *in, const hr_llm_propose_options *opt,
                                int round, char **out, int *goal_truncated,
                                int *description_truncated, char *err, size_t errlen)
{
    if (!out)
        return hr_fail(HR_ERR_INPUT, err, errlen, "llm proposer: no output pointer");
    *out = NULL;
    hr_llm_propose_options o;
    hr_status st = resolve_call(in, opt, &o, err, errlen);
    if (st != HR_OK)
        return st;
    if (round < 0)
        return hr_fail(HR_ERR_INPUT, err, errlen, "llm proposer: round %d", round);
    orders ord;
    if ((st = make_orders(in, &ord, err, errlen)) != HR_OK)
        return st;
    sbuf b = {NULL, 0, 0, 0};
    build_prompt(in, &o, &ord, round, &b, goal_truncated, description_truncated);
    orders_free(&ord);
    if (b.oom) {
        free(b.p);
        return hr_fail(HR_ERR_NOMEM, err, errlen, "llm proposer: out of memory");
    }
    *out = b.p;
    return HR_OK;
}

/* ------------------------------------------------------------------------ */
/* Cleaning one item                                                          */

/* Bytes of a list marker ("- ", "* ", "+ ", bullets and dashes then a
 * space or the end, "12. ", "3) ", "(4) ") at the start of s[0..n), or 0. */
static size_t list_marker(const char *s, size_t n)
{
    static const char *const bullets[] = {"-", "*", "+", "\xe2\x80\xa2", /* • */
                                          "\xe2\x80\x93", "\xe2\x80\x94", /* – — */
                                          "\xc2\xb7"};                     /* · */
    for (size_t k = 0; k < sizeof bullets / sizeof *bullets; k++) {
        size_t bl = strlen(bullets[k]);
        if (n >= bl && memcmp(s, bullets[k], bl) == 0 &&
            (n == bl || s[bl] == ' ' || s[bl] == '\t')) /* a marker alone: an empty item */
            return n == bl ? bl : bl + 1;
    }
    size_t i = 0;
    int paren = n > 0 && s[0] == '(';
    i += (size_t)paren;
    size_t d0 = i;
    while (i < n && i - d0 < 3 && s[i] >= '0' && s[i] <= '9')
        i++;
    if (i == d0 || i >= n)
        return 0;
    if (paren ? s[i] != ')' : (s[i] != '.' && s[i] != ')'))
        return 0;
    i++;
    if (i < n && s[i] != ' ' && s[i] != '\t')
        return 0;
    return i;
}

/* Opening and closing quotes, by family. */
static const char *const QUOTE_OPEN[] = {"\"", "'", "`", "\xe2\x80\x9c", "\xe2\x80\x98",
                                         "\xc2\xab"};
static const char *const QUOTE_CLOSE[] = {"\"", "'", "`", "\xe2\x80\x9d", "\xe2\x80\x99",
                                          "\xc2\xbb"};

static int has_bytes(const char *s, size_t n, const char *pat)
{
    size_t pl = strlen(pat);
    for (size_t i = 0; i + pl <= n; i++)
        if (memcmp(s + i, pat, pl) == 0)
            return 1;
    return 0;
}

/* Strips one pair of quotes (or markdown emphasis) around s[*b..*e) when the
 * closing mark does not also occur inside. Returns 1 when it did. */
static int strip_pair(const char *s, size_t *b, size_t *e)
{
    static const char *const emph[] = {"**", "__", "*", "_"};
    for (size_t k = 0; k < sizeof QUOTE_OPEN / sizeof *QUOTE_OPEN; k++) {
        size_t ol = strlen(QUOTE_OPEN[k]), cl = strlen(QUOTE_CLOSE[k]);
        if (*e - *b >= ol + cl && memcmp(s + *b, QUOTE_OPEN[k], ol) == 0 &&
            memcmp(s + *e - cl, QUOTE_CLOSE[k], cl) == 0 &&
            !has_bytes(s + *b + ol, *e - *b - ol - cl, QUOTE_CLOSE[k]) &&
            !has_bytes(s + *b + ol, *e - *b - ol - cl, QUOTE_OPEN[k])) {
            *b += ol;
            *e -= cl;
            return 1;
        }
    }
    for (size_t k = 0; k < sizeof emph / sizeof *emph; k++) {
        size_t l = strlen(emph[k]);
        if (*e - *b > 2 * l && memcmp(s + *b, emph[k], l) == 0 &&
            memcmp(s + *e - l, emph[k], l) == 0 && !has_bytes(s + *b + l, *e - *b - 2 * l, emph[k])) {
            *b += l;
            *e -= l;
            return 1;
        }
    }
    return 0;
}

static void trim(const char *s, size_t *b, size_t *e)
{
    while (*b < *e && is_blank((unsigned char)s[*b]))
        (*b)++;
    while (*e > *b && is_blank((unsigned char)s[*e - 1]))
        (*e)--;
}

/* The cleaned form of an item (malloc'ed), or NULL when it is rejected
 * (*nomem set when that was for want of memory). */
static char *clean_item(const char *s, size_t n, int *nomem)
{
    *nomem = 0;
    if (memchr(s, '\n', n) || memchr(s, '\r', n))
        return NULL; /* several lines: not one predicate */
    size_t b = 0, e = n;
    trim(s, &b, &e);
    size_t m = list_marker(s + b, e - b);
    b += m;
    trim(s, &b, &e);
    if (m > 0) { /* "1. - x" or "- 1. x" */
        b += list_marker(s + b, e - b);
        trim(s, &b, &e);
    }
    for (int pass = 0; pass < 4; pass++) {
        size_t b0 = b, e0 = e;
        while (e > b && strchr(",;:.!", s[e - 1]))
            e--;
        trim(s, &b, &e);
        strip_pair(s, &b, &e);
        trim(s, &b, &e);
        if (b == b0 && e == e0)
            break;
    }
    if (e == b)
        return NULL;
    /* check the characters and collapse runs of spaces and tabs */
    char *out = malloc(e - b + 1);
    if (!out) {
        *nomem = 1;
        return NULL;
    }
    size_t o = 0, chars = 0;
    int space = 0;
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = b; i < e;) {
        unsigned cp;
        size_t k = utf8_next(u + i, e - i, &cp);
        if (k == 0 || (is_control(cp) && cp != '\t')) {
            free(out);
            return NULL;
        }
        if (cp == ' ' || cp == '\t') {
            space = 1;
            i += k;
            continue;
        }
        if (space) {
            out[o++] = ' ';
            chars++;
            space = 0;
        }
        memcpy(out + o, s + i, k);
        o += k;
        chars++;
        i += k;
    }
    out[o] = '\0';
    if (o == 0 || chars > HR_PROPOSAL_MAX_CHARS) {
        free(out);
        return NULL;
    }
    return out;
}

/* ------------------------------------------------------------------------ */
/* Parsing an answer                                                          */

static hr_status list_push(hr_proposal_list *l, size_t *cap, char *text, char side)
{
    if (l->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        hr_proposal *it = realloc(l->items, nc * sizeof *it);
        if (!it)
            return HR_ERR_NOMEM;
        l->items = it;
        *cap = nc;
    }
    l->items[l->n].text = text;
    l->items[l->n].side = side;
    l->n++;
    return HR_OK;
}

/* One item found: cleaned, then kept or counted as rejected. */
static hr_status take_item(hr_proposal_list *l, size_t *cap, const char *s, size_t n, char side)
{
    l->seen++;
    if (side != 'A' && side != 'B') {
        l->rejected++;
        return HR_OK;
    }
    int nomem;
    char *c = clean_item(s, n, &nomem);
    if (nomem)
        return HR_ERR_NOMEM;
    if (!c) {
        l->rejected++;
        return HR_OK;
    }
    if (list_push(l, cap, c, side) != HR_OK) {
        free(c);
        return HR_ERR_NOMEM;
    }
    return HR_OK;
}

/* The side a JSON key names: "A", "a", "group A", "group_b", "GroupB"; else 0. */
static char key_side(const char *k)
{
    char t[16];
    size_t n = 0;
    for (; *k && n < sizeof t - 1; k++) {
        char c = *k;
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
            t[n++] = c;
    }
    if (*k)
        return 0; /* too long to be a side */
    t[n] = '\0';
    const char *p = strncmp(t, "group", 5) == 0 ? t + 5 : t;
    if (strcmp(p, "a") == 0)
        return 'A';
    if (strcmp(p, "b") == 0)
        return 'B';
    return 0;
}

/* Reads a JSON object with sides; returns 1 when it had at least one side
 * key (items then taken), 0 when not, -1 when out of memory. */
static int read_object(const cJSON *obj, hr_proposal_list *l, size_t *cap)
{
    if (!cJSON_IsObject(obj))
        return 0;
    const cJSON *side_val[2] = {NULL, NULL};
    const cJSON *kv;
    cJSON_ArrayForEach(kv, obj)
    {
        char s = kv->string ? key_side(kv->string) : 0;
        if (s && !side_val[s - 'A'])
            side_val[s - 'A'] = kv;
    }
    if (!side_val[0] && !side_val[1])
        return 0;
    for (int k = 0; k < 2; k++) {
        const cJSON *v = side_val[k];
        char side = (char)('A' + k);
        if (!v)
            continue;
        if (cJSON_IsString(v)) {
            if (take_item(l, cap, v->valuestring, strlen(v->valuestring), side) != HR_OK)
                return -1;
            continue;
        }
        if (!cJSON_IsArray(v)) {
            l->seen++;
            l->rejected++;
            continue;
        }
        const cJSON *it;
        cJSON_ArrayForEach(it, v)
        {
            if (!cJSON_IsString(it)) {
                l->seen++;
                l->rejected++;
                continue;
            }
            if (take_item(l, cap, it->valuestring, strlen(it->valuestring), side) != HR_OK)
                return -1;
        }
    }
    return 1;
}

/* Parses s[0..n) as exactly one JSON value (whitespace around it allowed). */
static cJSON *parse_exact(const char *s, size_t n)
{
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(s, n, &end, 0);
    if (!j)
        return NULL;
    while (end && end < s + n && is_blank((unsigned char)*end))
        end++;
    if (!end || end != s + n) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

/* The first balanced {...} in s[0..n), honouring JSON strings: *b, *e. */
static int find_object(const char *s, size_t n, size_t *b, size_t *e)
{
    const char *o = memchr(s, '{', n);
    if (!o)
        return 0;
    size_t start = (size_t)(o - s);
    int depth = 0, in_str = 0, esc = 0;
    for (size_t i = start; i < n; i++) {
        char c = s[i];
        if (in_str) {
            if (esc)
                esc = 0;
            else if (c == '\\')
                esc = 1;
            else if (c == '"')
                in_str = 0;
            continue;
        }
        if (c == '"')
            in_str = 1;
        else if (c == '{')
            depth++;
        else if (c == '}' && --depth == 0) {
            *b = start;
            *e = i + 1;
            return 1;
        }
    }
    return 0;
}

static int is_word_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c >= 0x80;
}

/* The side a heading line names, or 0. s[0..n) is trimmed and not a list
 * item. Forms: "A", "B:", "## Group A", "**Group B:**", "\"A\": [",
 * "More often true of group A than of group B:" (the first group named),
 * "Predicates for B:" (a lone A or B at the end). */
static char heading_side(const char *s, size_t n)
{
    size_t b = 0, e = n;
    const char *strip = "#*_\"'`[]{}:=,> \t";
    while (b < e && strchr(strip, s[b]))
        b++;
    while (e > b && strchr(strip, s[e - 1]))
        e--;
    if (e - b == 1 && (s[b] == 'A' || s[b] == 'B' || s[b] == 'a' || s[b] == 'b'))
        return (char)(s[b] & ~0x20);
    for (size_t i = b; i + 7 <= e; i++) { /* "group a", "group_b", "groupa" */
        if ((i == b || !is_word_char((unsigned char)s[i - 1])) && i + 5 <= e) {
            char w[6];
            for (int k = 0; k < 5; k++)
                w[k] = (char)(s[i + k] | 0x20);
            w[5] = '\0';
            if (strcmp(w, "group") != 0)
                continue;
            size_t j = i + 5;
            if (j < e && (s[j] == ' ' || s[j] == '_' || s[j] == '-'))
                j++;
            if (j < e && (s[j] == 'A' || s[j] == 'B' || s[j] == 'a' || s[j] == 'b') &&
                (j + 1 == e || !is_word_char((unsigned char)s[j + 1])))
                return (char)(s[j] & ~0x20);
        }
    }
    /* a lone upper-case A or B as the last word */
    if (e - b >= 2 && (s[e - 1] == 'A' || s[e - 1] == 'B') &&
        !is_word_char((unsigned char)s[e - 2]))
        return s[e - 1];
    return 0;
}

/* Is this trimmed line a quoted JSON key ("A": ...)? */
static int is_quoted_key(const char *s, size_t n)
{
    if (n < 2 || s[0] != '"')
        return 0;
    for (size_t i = 1; i < n; i++) {
        if (s[i] == '\\') {
            i++;
            continue;
        }
        if (s[i] == '"') {
            size_t j = i + 1;
            while (j < n && (s[j] == ' ' || s[j] == '\t'))
                j++;
            return j < n && s[j] == ':';
        }
    }
    return 0;
}

static int starts_with_quote(const char *s, size_t n)
{
    for (size_t k = 0; k < sizeof QUOTE_OPEN / sizeof *QUOTE_OPEN; k++) {
        size_t l = strlen(QUOTE_OPEN[k]);
        if (n > l && memcmp(s, QUOTE_OPEN[k], l) == 0)
            return 1;
    }
    return 0;
}

static hr_status read_lines(const char *s, size_t n, hr_proposal_list *l, size_t *cap)
{
    char side = 0;
    size_t pos = 0;
    while (pos < n) {
        const char *nl = memchr(s + pos, '\n', n - pos);
        size_t end = nl ? (size_t)(nl - s) : n;
        size_t b = pos, e = end;
        pos = nl ? end + 1 : n;
        trim(s, &b, &e);
        if (b == e || (e - b >= 3 && memcmp(s + b, "```", 3) == 0))
            continue;
        const char *line = s + b;
        size_t len = e - b;
        int item = list_marker(line, len) > 0 ||
                   (starts_with_quote(line, len) && !is_quoted_key(line, len));
        if (item) {
            hr_status st = take_item(l, cap, line, len, side);
            if (st != HR_OK)
                return st;
            continue;
        }
        char h = heading_side(line, len);
        if (h)
            side = h;
        /* other prose is ignored */
    }
    return HR_OK;
}

void hr_proposal_list_free(hr_proposal_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i].text);
    free(l->items);
    memset(l, 0, sizeof *l);
}

hr_status hr_llm_parse_proposals(const char *answer, size_t len, hr_proposal_list *out,
                                 char *err, size_t errlen)
{
    if (!out)
        return hr_fail(HR_ERR_INPUT, err, errlen, "parse proposals: no output");
    memset(out, 0, sizeof *out);
    if (!answer && len > 0)
        return hr_fail(HR_ERR_INPUT, err, errlen, "parse proposals: NULL answer");
    if (!answer)
        return HR_OK;
    size_t cap = 0;
    size_t b = 0, e = len;
    trim(answer, &b, &e);
    int r = 0;
    /* 1. strict */
    cJSON *j = parse_exact(answer + b, e - b);
    if (j) {
        r = read_object(j, out, &cap);
        cJSON_Delete(j);
        if (r > 0)
            out->format = HR_PROPOSALS_JSON;
    }
    /* 2. the first balanced object inside */
    size_t ob, oe;
    if (r == 0 && find_object(answer + b, e - b, &ob, &oe)) {
        j = parse_exact(answer + b + ob, oe - ob);
        if (j) {
            r = read_object(j, out, &cap);
            cJSON_Delete(j);
            if (r > 0)
                out->format = HR_PROPOSALS_EMBEDDED;
        }
    }
    /* 3. lines */
    if (r == 0) {
        if (read_lines(answer + b, e - b, out, &cap) != HR_OK)
            r = -1;
        else if (out->n > 0)
            out->format = HR_PROPOSALS_LINES;
    }
    if (r < 0) {
        hr_proposal_list_free(out);
        return hr_fail(HR_ERR_NOMEM, err, errlen, "parse proposals: out of memory");
    }
    return HR_OK;
}

/* ------------------------------------------------------------------------ */
/* The proposer                                                               */

hr_status hr_llm_propose(hr_llm *llm, const hr_llm_propose_input *in,
                         const hr_llm_propose_options *opt, hr_hypothesis_pool *pool,
                         hr_llm_propose_report *report, char *err, size_t errlen)
{
    hr_llm_propose_report rep;
    memset(&rep, 0, sizeof rep);
    if (report)
        *report = rep;
    if (!llm || !pool)
        return hr_fail(HR_ERR_INPUT, err, errlen, "llm proposer: no client or no pool");
    hr_llm_propose_options o;
    hr_status st = resolve_call(in, opt, &o, err, errlen);
    if (st != HR_OK)
        return st;
    orders ord;
    if ((st = make_orders(in, &ord, err, errlen)) != HR_OK)
        return st;

    const size_t R = (size_t)o.rounds;
    char **prompts = calloc(R, sizeof *prompts);         /* (R) user messages */
    hr_llm_request *rq = calloc(R, sizeof *rq);          /* (R) */
    hr_llm_result *res = calloc(R, sizeof *res);         /* (R) */
    if (!prompts || !rq || !res) {
        st = hr_fail(HR_ERR_NOMEM, err, errlen, "llm proposer: out of memory");
        goto done;
    }
    for (size_t r = 0; r < R; r++) {
        sbuf b = {NULL, 0, 0, 0};
        build_prompt(in, &o, &ord, (int)r, &b, &rep.goal_truncated, &rep.description_truncated);
        if (b.oom) {
            free(b.p);
            st = hr_fail(HR_ERR_NOMEM, err, errlen, "llm proposer: out of memory");
            goto done;
        }
        prompts[r] = b.p;
        rq[r].system = SYSTEM_PROMPT;
        rq[r].user = prompts[r];
        rq[r].temperature = o.temperature;
        rq[r].max_tokens = o.max_tokens;
        rq[r].json_object = o.json_mode;
        rq[r].sample = (int)r;
    }
    rep.rounds = R;
    hr_status run_st = hr_llm_run(llm, rq, R, res, &rep.stats, err, errlen);

    /* Add what came back, even when the batch was stopped. */
    for (size_t r = 0; r < R; r++) {
        if (res[r].status != HR_OK || !res[r].content) {
            rep.rounds_failed++;
            if (!rep.first_error[0])
                snprintf(rep.first_error, sizeof rep.first_error, "round %zu: %s", r + 1,
                         res[r].error ? res[r].error : hr_status_str(res[r].status));
            continue;
        }
        hr_proposal_list pl;
        char perr[128];
        st = hr_llm_parse_proposals(res[r].content, strlen(res[r].content), &pl, perr,
                                    sizeof perr);
        if (st != HR_OK) {
            hr_fail(st, err, errlen, "llm proposer: %s", perr);
            goto done;
        }
        switch (pl.format) {
        case HR_PROPOSALS_JSON: rep.answers_json++; break;
        case HR_PROPOSALS_EMBEDDED: rep.answers_embedded++; break;
        case HR_PROPOSALS_LINES: rep.answers_lines++; break;
        default: rep.answers_unread++; break;
        }
        rep.proposed += pl.seen;
        rep.rejected += pl.rejected;
        for (int side = 0; side < 2; side++) { /* A's items, then B's */
            char want = (char)('A' + side);
            char note[48];
            snprintf(note, sizeof note, "llm round %zu, side %c", r + 1, want);
            for (size_t i = 0; i < pl.n; i++) {
                if (pl.items[i].side != want)
                    continue;
                int added = 0;
                char aerr[256];
                hr_status ast = hr_pool_add(pool, pl.items[i].text, strlen(pl.items[i].text),
                                            HR_SOURCE_LLM, note, &added, aerr, sizeof aerr);
                if (ast == HR_ERR_INPUT) { /* the pool's own checks: count, go on */
                    rep.rejected++;
                    continue;
                }
                if (ast != HR_OK) {
                    hr_proposal_list_free(&pl);
                    st = hr_fail(ast, err, errlen, "llm proposer: %s", aerr);
                    goto done;
                }
                if (added) {
                    rep.added++;
                    if (want == 'A')
                        rep.added_a++;
                    else
                        rep.added_b++;
                } else {
                    rep.duplicates++;
                }
            }
        }
        hr_proposal_list_free(&pl);
    }
    st = run_st; /* err already holds the client's message when it failed */

done:
    if (res)
        hr_llm_results_free(res, R);
    if (prompts)
        for (size_t r = 0; r < R; r++)
            free(prompts[r]);
    free(prompts);
    free(rq);
    free(res);
    orders_free(&ord);
    if (report)
        *report = rep;
    return st;
}

/* ------------------------------------------------------------------------ */
/* Near duplicates                                                            */

/* Rows of i per block of the similarity product: (ROWS, k) floats at a time. */
#define ROWS 256

hr_status hr_near_duplicates(const float *emb, size_t k, int d, double threshold, uint8_t *keep,
                             size_t *n_kept, char *err, size_t errlen)
{
    if (n_kept)
        *n_kept = 0;
    if (!(threshold > 0 && threshold <= 1))
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "near duplicates: the threshold must be in (0, 1], not %g", threshold);
    if (k == 0)
        return HR_OK;
    if (!emb || !keep || d < 1)
        return hr_fail(HR_ERR_INPUT, err, errlen, "near duplicates: no embeddings");
    if (k > (size_t)0x7fffffff)
        return hr_fail(HR_ERR_INPUT, err, errlen, "near duplicates: too many rows (%zu)", k);
    float *u = malloc(k * (size_t)d * sizeof *u);               /* (k, d) unit rows */
    uint8_t *zero = malloc(k);                                  /* (k) 1: a zero row */
    size_t rows = k < ROWS ? k : ROWS;
    float *sim = malloc(rows * k * sizeof *sim);                /* (rows, k) cosines */
    if (!u || !zero || !sim) {
        free(u);
        free(zero);
        free(sim);
        return hr_fail(HR_ERR_NOMEM, err, errlen, "near duplicates: out of memory");
    }
    for (size_t i = 0; i < k; i++) {
        const float *x = emb + i * (size_t)d;
        double s = 0;
        for (int j = 0; j < d; j++)
            s += (double)x[j] * x[j];
        zero[i] = !(s > 0) || !isfinite(s);
        double inv = zero[i] ? 0.0 : 1.0 / sqrt(s);
        for (int j = 0; j < d; j++)
            u[i * (size_t)d + j] = (float)(x[j] * inv);
    }
    const float thr = (float)threshold;
    size_t kept = 0;
    for (size_t i0 = 0; i0 < k; i0 += rows) {
        size_t nb = k - i0 < rows ? k - i0 : rows;
        size_t upto = i0 + nb; /* rows i in the block need columns j < i only */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nb, (int)upto, d, 1.0f,
                    u + i0 * (size_t)d, d, u, d, 0.0f, sim, (int)upto);
        for (size_t bi = 0; bi < nb; bi++) {
            size_t i = i0 + bi;
            int dup = 0;
            if (!zero[i]) {
                const float *row = sim + bi * upto;
                for (size_t j = 0; j < i && !dup; j++)
                    dup = keep[j] && !zero[j] && row[j] >= thr;
            }
            keep[i] = (uint8_t)!dup;
            kept += (size_t)!dup;
        }
    }
    free(u);
    free(zero);
    free(sim);
    if (n_kept)
        *n_kept = kept;
    return HR_OK;
}

hr_status hr_pool_merge_near_duplicates(const hr_hypothesis_pool *pool, const float *emb, int d,
                                        double threshold, hr_hypothesis_pool **out,
                                        uint8_t *keep, size_t *n_kept, char *err, size_t errlen)
{
    if (!pool || !out)
        return hr_fail(HR_ERR_INPUT, err, errlen, "near duplicates: no pool");
    *out = NULL;
    size_t k = hr_pool_size(pool);
    uint8_t *mask = keep ? keep : malloc(k ? k : 1);
    if (!mask)
        return hr_fail(HR_ERR_NOMEM, err, errlen, "near duplicates: out of memory");
    size_t kept = 0;
    hr_status st = hr_near_duplicates(emb, k, d, threshold, mask, &kept, err, errlen);
    hr_hypothesis_pool *np = NULL;
    if (st == HR_OK)
        st = hr_pool_create(&np, err, errlen);
    for (size_t i = 0; st == HR_OK && i < k; i++) {
        if (!mask[i])
            continue;
        const hr_pool_entry *e = hr_pool_get(pool, i);
        st = hr_pool_add(np, e->text, e->len, e->source, e->note, NULL, err, errlen);
    }
    if (mask != keep)
        free(mask);
    if (st != HR_OK) {
        hr_pool_destroy(np);
        return st;
    }
    if (n_kept)
        *n_kept = kept;
    *out = np;
    return HR_OK;
}
