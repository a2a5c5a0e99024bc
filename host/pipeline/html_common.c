/* host/pipeline/html_common.c: escaping, the page's head and tail, and the
 * small formats the HTML pages share (host/pipeline/html_internal.h). */
#include "pipeline/html_internal.h"
#include "hyporank/hash.h"

#include <math.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

/* The page's style and script (host/pipeline/html/), compiled in. */
extern const char hr_data_page_style[];
extern const unsigned long hr_data_page_style_len;
extern const char hr_data_page_script[];
extern const unsigned long hr_data_page_script_len;

#define REPLACEMENT 0xFFFDu

/* The code point at s[0..len) (len >= 1) and its length in *used; an
 * ill-formed sequence (overlong, surrogate, beyond U+10FFFF, cut short)
 * is U+FFFD of one byte, so that the next byte starts afresh. */
static uint32_t utf8_next(const unsigned char *s, size_t len, size_t *used)
{
    const unsigned char c = s[0];
    *used = 1;
    if (c < 0x80) return c;
    size_t n;
    uint32_t cp;
    unsigned char lo = 0x80, hi = 0xBF; /* the second byte's range */
    if (c >= 0xC2 && c <= 0xDF) n = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3, cp = c & 0x0F;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4, cp = c & 0x07;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else {
        return REPLACEMENT;
    }
    if (len < n) return REPLACEMENT;
    for (size_t k = 1; k < n; k++) {
        const unsigned char b = s[k];
        if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) return REPLACEMENT;
        cp = (cp << 6) | (b & 0x3F);
    }
    *used = n;
    return cp;
}

/* The bytes of s[0..len) shown when cut at about max (0: all): the last
 * character boundary at or before max. *cut: something was left out. */
static size_t shown_len(const char *s, size_t len, size_t max, int *cut)
{
    *cut = 0;
    if (max == 0 || len <= max) return len;
    size_t end = max; /* back to a lead byte, at most 3 (stray continuation bytes are
                         characters of their own, U+FFFD) */
    for (int k = 0; k < 3 && end > 0 && ((unsigned char)s[end] & 0xC0) == 0x80; k++) end--;
    *cut = 1;
    return end;
}

static void put_utf8(FILE *f, uint32_t cp)
{
    char b[4];
    if (cp < 0x80) fputc((int)cp, f);
    else if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6)), b[1] = (char)(0x80 | (cp & 0x3F));
        fwrite(b, 1, 2, f);
    } else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | (cp >> 12)), b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        fwrite(b, 1, 3, f);
    } else {
        b[0] = (char)(0xF0 | (cp >> 18)), b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), b[3] = (char)(0x80 | (cp & 0x3F));
        fwrite(b, 1, 4, f);
    }
}

/* s[0..len) escaped as HTML text, uncut. */
static void escape_range(FILE *f, const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        size_t used;
        const uint32_t cp = utf8_next(u + i, len - i, &used);
        switch (cp) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        case '\t':
        case '\n': fputc((int)cp, f); break;
        default:
            if (cp < 0x20 || (cp >= 0x7F && cp < 0xA0)) fputc(' ', f);
            else if (cp == REPLACEMENT && used == 1 && u[i] >= 0x80) put_utf8(f, REPLACEMENT);
            else fwrite(u + i, 1, used, f);
        }
        i += used;
    }
}

void hr_html_text(FILE *f, const char *s, size_t len, size_t max)
{
    if (!s) return;
    int cut;
    escape_range(f, s, shown_len(s, len, max, &cut));
    if (cut) fputs("\xE2\x80\xA6", f); /* ... */
}

void hr_html_str(FILE *f, const char *s)
{
    if (s) hr_html_text(f, s, strlen(s), 0);
}

/* A byte of a word: ASCII letters and digits, and every byte of a
 * non-ASCII character (so that a match never starts inside one). */
static int word_byte(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
}

static unsigned char lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* The length of the match of phrase at s[i..n), or 0. */
static size_t match_at(const unsigned char *s, size_t i, size_t n, const unsigned char *p,
                       size_t plen)
{
    if (i > 0 && word_byte(s[i - 1])) return 0;
    size_t j = i, k = 0;
    while (k < plen) {
        if (p[k] == ' ') {
            const size_t j0 = j;
            while (j < n && !word_byte(s[j])) j++;
            if (j == j0) return 0;
            while (k < plen && p[k] == ' ') k++;
            continue;
        }
        if (j >= n || lower(s[j]) != lower(p[k])) return 0;
        j++, k++;
    }
    if (j < n && word_byte(s[j])) return 0;
    return j - i;
}

void hr_html_text_marked(FILE *f, const char *s, size_t len, size_t max,
                         const char *const *phrases, const size_t *plens, size_t n_phrases)
{
    if (!s) return;
    int cut;
    const size_t n = shown_len(s, len, max, &cut);
    const unsigned char *u = (const unsigned char *)s;
    size_t done = 0;
    for (size_t i = 0; i < n;) {
        size_t m = 0; /* the longest phrase that matches at i */
        for (size_t k = 0; k < n_phrases && word_byte(u[i]); k++) {
            const char *ph = phrases[k];
            size_t pl = plens[k];
            while (pl > 0 && ph[0] == ' ') ph++, pl--;
            while (pl > 0 && ph[pl - 1] == ' ') pl--;
            const size_t mk = pl ? match_at(u, i, n, (const unsigned char *)ph, pl) : 0;
            if (mk > m) m = mk;
        }
        if (m == 0) {
            i++;
            continue;
        }
        escape_range(f, s + done, i - done);
        fputs("<mark>", f);
        escape_range(f, s + i, m);
        fputs("</mark>", f);
        i += m;
        done = i;
    }
    escape_range(f, s + done, n - done);
    if (cut) fputs("\xE2\x80\xA6", f);
}

void hr_html_json_string(FILE *f, const char *s, size_t len, size_t max)
{
    if (!s) {
        fputs("null", f);
        return;
    }
    int cut;
    const size_t n = shown_len(s, len, max, &cut);
    const unsigned char *u = (const unsigned char *)s;
    fputc('"', f);
    for (size_t i = 0; i < n;) {
        size_t used;
        const uint32_t cp = utf8_next(u + i, n - i, &used);
        if (cp == '"') fputs("\\\"", f);
        else if (cp == '\\') fputs("\\\\", f);
        else if (cp < 0x20 || cp == '<' || cp == '>' || cp == '&' || cp == 0x2028 || cp == 0x2029 ||
                 (cp == REPLACEMENT && used == 1 && u[i] >= 0x80))
            fprintf(f, "\\u%04x", (unsigned)cp);
        else fwrite(u + i, 1, used, f);
        i += used;
    }
    if (cut) fputs("\xE2\x80\xA6", f);
    fputc('"', f);
}

void hr_html_json_number(FILE *f, double v, int p_value)
{
    if (!isfinite(v)) fputs("null", f);
    else if (v == 0.0) fputc('0', f);
    else fprintf(f, p_value ? "%.3g" : "%.4g", v);
}

int hr_html_mentions(const char *text, size_t len, const char **phrase, size_t *plen)
{
    static const char head[] = "mentions \"";
    const size_t h = sizeof head - 1;
    if (!text || len < h + 2 || memcmp(text, head, h) != 0 || text[len - 1] != '"') return 0;
    *phrase = text + h;
    *plen = len - h - 1;
    return memchr(*phrase, '"', *plen) == NULL;
}

const char *hr_html_basename(const char *path)
{
    if (!path) return "";
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* The CSP source of data: 'sha256-<base64 of its digest>'. out: 64 bytes. */
static const char *csp_hash(const char *data, size_t len, char out[64])
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    hr_sha256 h;
    unsigned char d[33];
    hr_sha256_init(&h);
    hr_sha256_update(&h, data, len);
    hr_sha256_final(&h, d);
    d[32] = 0;
    size_t o = 0;
    o += (size_t)snprintf(out, 64, "'sha256-");
    for (size_t i = 0; i < 33; i += 3) { /* 32 bytes: 10 groups of 3, then 2 and '=' */
        const uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8 | (i + 2 < 33 ? d[i + 2] : 0);
        out[o++] = b64[(v >> 18) & 63];
        out[o++] = b64[(v >> 12) & 63];
        out[o++] = i + 1 < 32 ? b64[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < 32 ? b64[v & 63] : '=';
    }
    out[o++] = '\'';
    out[o] = '\0';
    return out;
}

void hr_html_begin(FILE *f, const char *title)
{
    char style_hash[64], script_hash[64];
    csp_hash(hr_data_page_style, hr_data_page_style_len, style_hash);
    csp_hash(hr_data_page_script, hr_data_page_script_len, script_hash);
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n", f);
    fprintf(f, "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
               "script-src %s; style-src %s; base-uri 'none'; "
               "form-action 'none'\">\n",
            script_hash, style_hash);
    fputs("<meta name=\"color-scheme\" content=\"light dark\">\n<meta name=\"generator\" "
          "content=\"hyporank\">\n<title>", f);
    hr_html_str(f, title);
    fputs("</title>\n<style>", f);
    fwrite(hr_data_page_style, 1, hr_data_page_style_len, f);
    fputs("</style>\n</head>\n<body>\n", f);
}

void hr_html_end(FILE *f)
{
    fputs("<script>", f);
    fwrite(hr_data_page_script, 1, hr_data_page_script_len, f);
    fputs("</script>\n</body>\n</html>\n", f);
}

const char *hr_html_date(const hr_html_options *opt, char out[64])
{
    if (opt && opt->date) {
        snprintf(out, 64, "%s", opt->date);
        return out;
    }
    const time_t now = time(NULL);
    struct tm tm;
    if (!gmtime_r(&now, &tm) || strftime(out, 64, "%Y-%m-%d %H:%M UTC", &tm) == 0)
        snprintf(out, 64, "unknown");
    return out;
}

const char *hr_html_count(size_t n, char out[32])
{
    char digits[32];
    const int len = snprintf(digits, sizeof digits, "%zu", n);
    size_t o = 0;
    for (int i = 0; i < len; i++) {
        if (i > 0 && (len - i) % 3 == 0) out[o++] = ',';
        out[o++] = digits[i];
    }
    out[o] = '\0';
    return out;
}

void hr_html_header_end(FILE *f, const hr_html_options *opt)
{
    char date[64];
    fputs("<dt>Date</dt><dd>", f);
    hr_html_str(f, hr_html_date(opt, date));
    fputs("</dd>\n</dl>\n</header>\n", f);
}

void hr_html_footer(FILE *f, const hr_html_options *opt, const char *note)
{
    char date[64];
    fputs("<footer>Made by ", f);
    hr_html_str(f, opt && opt->generator ? opt->generator : "hyporank");
    fputs(" on ", f);
    hr_html_str(f, hr_html_date(opt, date));
    fprintf(f, ". This page is self-contained: it loads nothing.%s%s</footer>\n", *note ? " " : "",
            note);
}

void hr_html_options_init(hr_html_options *o)
{
    if (o) memset(o, 0, sizeof *o);
}
