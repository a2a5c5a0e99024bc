/*
 * host/io/corpus.c: reading a corpus of texts from JSONL, TXT or CSV (corpus.h).
 *
 * The file is read in big chunks into one growing buffer (reader below). The
 * format's parser takes whole lines (TXT, JSONL) or whole records (CSV, whose
 * quoted fields may span lines) out of that buffer, checks them, and copies
 * each text into an arena of a few big blocks, so a corpus of millions of
 * texts costs a handful of allocations, not one per text.
 *
 * Every problem with the input is HR_ERR_INPUT with "PATH:LINE: what was
 * wrong"; lines and columns are 1-based, columns count bytes.
 */
#include "hyporank/corpus.h"
#include "core/util.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* UTF-8                                                                      */

/* 1 when the 8 bytes of v are all ASCII and none is NUL. */
static int all_ascii_nonzero(uint64_t v)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    if (v & highs) return 0;
    return ((v - ones) & ~v & highs) == 0; /* classic "has a zero byte" test */
}

/* Well-formed sequences follow Unicode 15, table 3-7:
 *   00..7F (00 refused here: NUL)
 *   C2..DF 80..BF
 *   E0 A0..BF 80..BF | E1..EC 80..BF 80..BF | ED 80..9F 80..BF (no surrogates)
 *   EE..EF 80..BF 80..BF
 *   F0 90..BF 80..BF 80..BF | F1..F3 80..BF x3 | F4 80..8F 80..BF 80..BF
 * *bad_offset is where the first ill-formed sequence starts (its lead byte, or
 * the stray byte itself). */
int hr_utf8_valid(const char *s, size_t len, size_t *bad_offset)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        if (i + 8 <= len) {
            uint64_t v;
            memcpy(&v, p + i, 8);
            if (all_ascii_nonzero(v)) {
                i += 8;
                continue;
            }
        }
        unsigned c = p[i];
        if (c >= 0x01 && c <= 0x7F) {
            i++;
            continue;
        }
        size_t need;          /* continuation bytes after the lead byte */
        unsigned lo = 0x80, hi = 0xBF; /* allowed range of the first one */
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            if (c == 0xE0) lo = 0xA0;
            if (c == 0xED) hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            if (c == 0xF0) lo = 0x90;
            if (c == 0xF4) hi = 0x8F;
        } else {
            goto bad; /* NUL, stray continuation, C0/C1 overlong, F5..FF */
        }
        if (len - i <= need) goto bad; /* truncated at the end */
        if (p[i + 1] < lo || p[i + 1] > hi) goto bad;
        for (size_t k = 2; k <= need; k++)
            if (p[i + k] < 0x80 || p[i + k] > 0xBF) goto bad;
        i += need + 1;
        continue;
    bad:
        if (bad_offset) *bad_offset = i;
        return 0;
    }
    return 1;
}

/* ------------------------------------------------------------------------ */
/* Arena and the growing corpus                                               */

typedef struct arena_block {
    struct arena_block *next; /* the block allocated before this one */
    size_t cap, used;         /* data[0..used) holds texts, each NUL-terminated */
    char data[];
} arena_block;

typedef struct arena {
    arena_block *head;  /* the newest block; texts are appended to it */
    size_t next_cap;    /* size of the next block; doubles up to ARENA_MAX */
} arena;

#define ARENA_FIRST ((size_t)64 << 10)
#define ARENA_MAX ((size_t)16 << 20)

static void arena_free(arena *a)
{
    if (!a) return;
    arena_block *b = a->head;
    while (b) {
        arena_block *next = b->next;
        free(b);
        b = next;
    }
    free(a);
}

/* Room for n bytes at the end of the newest block (a new block when it lacks
 * the room); nothing is committed until arena_commit. NULL when out of memory. */
static char *arena_reserve(arena *a, size_t n)
{
    arena_block *b = a->head;
    if (b && b->cap - b->used >= n) return b->data + b->used;
    size_t cap = a->next_cap;
    if (cap < n) cap = n;
    if (cap > SIZE_MAX - sizeof(arena_block)) return NULL;
    arena_block *nb = malloc(sizeof(arena_block) + cap);
    if (!nb) return NULL;
    nb->next = b;
    nb->cap = cap;
    nb->used = 0;
    a->head = nb;
    if (a->next_cap < ARENA_MAX) a->next_cap *= 2;
    return nb->data;
}

static void arena_commit(arena *a, size_t n) { a->head->used += n; }

typedef struct builder {
    hr_corpus *c;
    size_t cap;    /* capacity of c->texts, c->lens, c->lines (and c->fields, in texts) */
    arena *ar;
    const char *path;
    const char *field; /* JSONL field / CSV column holding the text */
    const char *const *extra; /* (c->n_fields) the other fields kept per text */
    hr_corpus_field *pending; /* (c->n_fields) the next text's other fields */
    size_t *extra_col;        /* (c->n_fields) CSV: the column of each */
    char *err;
    size_t errlen;
} builder;

static hr_status push_text(builder *b, char *text, size_t len, size_t line)
{
    hr_corpus *c = b->c;
    if (c->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 1024;
        if (cap > SIZE_MAX / sizeof(size_t) || cap > SIZE_MAX / sizeof(char *))
            return hr_fail(HR_ERR_NOMEM, b->err, b->errlen, "%s: too many texts", b->path);
        /* Each array is at least b->cap long whichever realloc fails. */
        char **t = realloc(c->texts, cap * sizeof *t);
        if (!t) goto nomem;
        c->texts = t;
        size_t *l = realloc(c->lens, cap * sizeof *l);
        if (!l) goto nomem;
        c->lens = l;
        size_t *ln = realloc(c->lines, cap * sizeof *ln);
        if (!ln) goto nomem;
        c->lines = ln;
        if (c->n_fields) {
            if (cap > SIZE_MAX / sizeof(hr_corpus_field) / c->n_fields) goto nomem;
            hr_corpus_field *f = realloc(c->fields, cap * c->n_fields * sizeof *f);
            if (!f) goto nomem;
            c->fields = f;
        }
        b->cap = cap;
    }
    c->texts[c->n] = text;
    c->lens[c->n] = len;
    c->lines[c->n] = line;
    if (c->n_fields)
        memcpy(c->fields + c->n * c->n_fields, b->pending, c->n_fields * sizeof *b->pending);
    c->n++;
    return HR_OK;
nomem:
    return hr_fail(HR_ERR_NOMEM, b->err, b->errlen, "%s: out of memory after %zu texts", b->path,
                   c->n);
}

/* Copies s[0..len) into the arena, NUL-terminated; NULL when out of memory. */
static char *arena_copy(arena *a, const char *s, size_t len)
{
    char *dst = len < SIZE_MAX ? arena_reserve(a, len + 1) : NULL;
    if (!dst) return NULL;
    memcpy(dst, s, len);
    dst[len] = '\0';
    arena_commit(a, len + 1);
    return dst;
}

/* Copies s[0..len) into the arena, NUL-terminated, and appends it. */
static hr_status add_text(builder *b, const char *s, size_t len, size_t line)
{
    if (len == SIZE_MAX)
        return hr_fail(HR_ERR_NOMEM, b->err, b->errlen, "%s: text too long", b->path);
    char *dst = arena_copy(b->ar, s, len);
    if (!dst)
        return hr_fail(HR_ERR_NOMEM, b->err, b->errlen, "%s:%zu: out of memory", b->path, line);
    return push_text(b, dst, len, line);
}

/* ------------------------------------------------------------------------ */
/* Chunked file reader                                                        */

typedef struct reader {
    int fd;
    const char *path;
    char *buf;        /* (cap) bytes; [pos, end) read but not yet consumed */
    size_t cap, pos, end;
    int eof;          /* read() has returned 0 */
} reader;

#define READ_CHUNK ((size_t)1 << 20)

/* Moves the unconsumed bytes to the front, doubles the buffer when they fill
 * it, and reads until the buffer is full or the file ends. */
static hr_status rd_fill(reader *r, char *err, size_t errlen)
{
    if (r->pos > 0) {
        memmove(r->buf, r->buf + r->pos, r->end - r->pos);
        r->end -= r->pos;
        r->pos = 0;
    }
    if (r->end == r->cap) {
        if (r->cap > SIZE_MAX / 2)
            return hr_fail(HR_ERR_NOMEM, err, errlen, "%s: a line is too long", r->path);
        char *nb = realloc(r->buf, r->cap * 2);
        if (!nb)
            return hr_fail(HR_ERR_NOMEM, err, errlen,
                           "%s: out of memory holding a line of over %zu bytes", r->path, r->cap);
        r->buf = nb;
        r->cap *= 2;
    }
    while (r->end < r->cap && !r->eof) {
        ssize_t got = read(r->fd, r->buf + r->end, r->cap - r->end);
        if (got < 0) {
            if (errno == EINTR) continue;
            return hr_fail(HR_ERR_IO, err, errlen, "cannot read %s: %s", r->path, strerror(errno));
        }
        if (got == 0) r->eof = 1;
        r->end += (size_t)got;
    }
    return HR_OK;
}

/* The next line, without its '\n' (a trailing '\r' is left to the caller).
 * *line points into the buffer and stays valid until the next call. Returns
 * 1 for a line, 0 at the end of the file, -1 on error (*st set). */
static int rd_line(reader *r, const char **line, size_t *len, hr_status *st, char *err,
                   size_t errlen)
{
    size_t from = r->pos; /* bytes before `from` are known to hold no '\n' */
    for (;;) {
        char *nl = memchr(r->buf + from, '\n', r->end - from);
        if (nl) {
            *line = r->buf + r->pos;
            *len = (size_t)(nl - (r->buf + r->pos));
            r->pos = (size_t)(nl - r->buf) + 1;
            return 1;
        }
        if (r->eof) {
            if (r->pos == r->end) return 0;
            *line = r->buf + r->pos;
            *len = r->end - r->pos;
            r->pos = r->end;
            return 1;
        }
        size_t scanned = r->end - r->pos;
        if ((*st = rd_fill(r, err, errlen)) != HR_OK) return -1;
        from = r->pos + scanned;
    }
}

/* ------------------------------------------------------------------------ */
/* Shared checks                                                              */

/* 1 when s[0..len) holds only spaces, tabs and carriage returns. */
static int is_blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r') return 0;
    return 1;
}

/* Checks s[0..len) (a whole line, or the part of one starting at byte column
 * col0 + 1) for UTF-8 and NUL bytes; the message names line and column. */
static hr_status check_utf8(const builder *b, const char *s, size_t len, size_t line, size_t col0)
{
    size_t bad = 0;
    if (hr_utf8_valid(s, len, &bad)) return HR_OK;
    unsigned char c = (unsigned char)s[bad];
    if (c == 0)
        return hr_fail(HR_ERR_INPUT, b->err, b->errlen, "%s:%zu: NUL byte at column %zu", b->path,
                       line, col0 + bad + 1);
    return hr_fail(HR_ERR_INPUT, b->err, b->errlen,
                   "%s:%zu: invalid UTF-8 at byte column %zu (byte 0x%02X)", b->path, line,
                   col0 + bad + 1, c);
}

/* ------------------------------------------------------------------------ */
/* TXT                                                                        */

static hr_status read_txt(builder *b, reader *r, size_t col0_first)
{
    hr_status st = HR_OK;
    const char *s;
    size_t len, line = 0;
    int got;
    while ((got = rd_line(r, &s, &len, &st, b->err, b->errlen)) == 1) {
        line++;
        if (len > 0 && s[len - 1] == '\r') len--;
        if (is_blank(s, len)) continue;
        if ((st = check_utf8(b, s, len, line, line == 1 ? col0_first : 0)) != HR_OK) return st;
        if ((st = add_text(b, s, len, line)) != HR_OK) return st;
    }
    return got < 0 ? st : HR_OK;
}

/* ------------------------------------------------------------------------ */
/* JSONL                                                                      */

static int hex4(const char *s)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        int d;
        if (c >= '0' && c <= '9') d = c - '0';
        else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
        else return -1;
        v = v * 16 + d;
    }
    return v;
}

/* cJSON turns a \u0000 escape into a NUL that silently cuts the string short,
 * and refuses a lone surrogate escape with no more than "not JSON". This scan
 * finds both first, with their column. In valid JSON a backslash occurs only
 * inside strings and always starts an escape, so walking from one escape to
 * the next needs no tracking of quotes; invalid JSON is left to cJSON. */
static hr_status check_json_escapes(const builder *b, const char *s, size_t len, size_t line,
                                    size_t col0)
{
    const char *p = memchr(s, '\\', len);
    while (p) {
        size_t i = (size_t)(p - s);
        if (i + 1 >= len) break;
        if (s[i + 1] != 'u' || i + 6 > len) {
            i += 2;
        } else {
            int cp = hex4(s + i + 2);
            if (cp == 0)
                return hr_fail(HR_ERR_INPUT, b->err, b->errlen,
                               "%s:%zu: column %zu: escape \\u0000 is a NUL character, which "
                               "texts may not hold", b->path, line, col0 + i + 1);
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                int lo = (i + 12 <= len && s[i + 6] == '\\' && s[i + 7] == 'u') ? hex4(s + i + 8)
                                                                                 : -1;
                if (lo < 0xDC00 || lo > 0xDFFF)
                    return hr_fail(HR_ERR_INPUT, b->err, b->errlen,
                                   "%s:%zu: column %zu: escape \\u%.4s is a high surrogate not "
                                   "followed by a low one (invalid UTF-16)", b->path, line,
                                   col0 + i + 1, s + i + 2);
                i += 12;
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                return hr_fail(HR_ERR_INPUT, b->err, b->errlen,
                               "%s:%zu: column %zu: escape \\u%.4s is a low surrogate without a "
                               "high one before it (invalid UTF-16)", b->path, line,
                               col0 + i + 1, s + i + 2);
            } else {
                i += 6;
            }
        }
        p = i < len ? memchr(s + i, '\\', len - i) : NULL;
    }
    return HR_OK;
}

static const char *json_type_name(const cJSON *v)
{
    if (cJSON_IsObject(v)) return "an object";
    if (cJSON_IsArray(v)) return "an array";
    if (cJSON_IsString(v)) return "a string";
    if (cJSON_IsNumber(v)) return "a number";
    if (cJSON_IsBool(v)) return cJSON_IsTrue(v) ? "true" : "false";
    if (cJSON_IsNull(v)) return "null";
    return "an unknown value";
}

/* "a", "b", "c" into out (cap >= 16 bytes), ending with ", ..." when more is
 * set or when the names do not all fit. */
static void list_names(char *out, size_t cap, const char *const *names, size_t n, int more)
{
    size_t used = 0, room = cap - 6; /* 6: room kept for ", ..." and the NUL */
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        size_t need = strlen(names[i]) + 2 + (i ? 2 : 0);
        if (need >= room - used) {
            more = 1;
            break;
        }
        snprintf(out + used, cap - used, "%s\"%s\"", i ? ", " : "", names[i]);
        used += need;
    }
    if (more) snprintf(out + used, cap - used, "%s...", used ? ", " : "");
}

static hr_status jsonl_missing_field(const builder *b, const cJSON *root, size_t line)
{
    const char *names[16];
    size_t n = 0, total = 0;
    for (const cJSON *it = root->child; it; it = it->next, total++)
        if (n < 16) names[n++] = it->string ? it->string : "";
    char list[512];
    if (total == 0) snprintf(list, sizeof list, "it has none");
    else {
        char names_s[480];
        list_names(names_s, sizeof names_s, names, n, total > n);
        snprintf(list, sizeof list, "it has %s", names_s);
    }
    return hr_fail(HR_ERR_INPUT, b->err, b->errlen, "%s:%zu: no field \"%s\" in the object (%s)",
                   b->path, line, b->field, list);
}

/* The other fields of one object into b->pending (strings into the arena). */
static hr_status jsonl_fields(builder *b, const cJSON *root, size_t line)
{
    for (size_t j = 0; j < b->c->n_fields; j++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, b->extra[j]);
        hr_corpus_field f = {HR_FIELD_MISSING, NULL, 0, 0.0};
        if (!v) f.type = HR_FIELD_MISSING;
        else if (cJSON_IsNull(v)) f.type = HR_FIELD_NULL;
        else if (cJSON_IsTrue(v)) f.type = HR_FIELD_TRUE;
        else if (cJSON_IsFalse(v)) f.type = HR_FIELD_FALSE;
        else if (cJSON_IsArray(v)) f.type = HR_FIELD_ARRAY;
        else if (cJSON_IsObject(v)) f.type = HR_FIELD_OBJECT;
        else if (cJSON_IsNumber(v)) f.type = HR_FIELD_NUMBER, f.number = v->valuedouble;
        else if (cJSON_IsString(v) && v->valuestring) {
            f.type = HR_FIELD_STRING;
            f.len = strlen(v->valuestring);
            if (!(f.text = arena_copy(b->ar, v->valuestring, f.len)))
                return hr_fail(HR_ERR_NOMEM, b->err, b->errlen, "%s:%zu: out of memory",
                               b->path, line);
        }
        b->pending[j] = f;
    }
    return HR_OK;
}

static hr_status jsonl_line(builder *b, const char *s, size_t len, size_t line, size_t col0)
{
    hr_status st;
    if (len > 0 && s[len - 1] == '\r') len--;
    if (is_blank(s, len)) return HR_OK;
    if ((st = check_utf8(b, s, len, line, col0)) != HR_OK) return st;
    if ((st = check_json_escapes(b, s, len, line, col0)) != HR_OK) return st;

    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(s, len, &end, 0);
    if (!root) {
        size_t at = (end && end >= s && end <= s + len) ? (size_t)(end - s) : 0;
        return hr_fail(HR_ERR_INPUT, b->err, b->errlen,
                       "%s:%zu: not valid JSON (error near column %zu)", b->path, line,
                       col0 + at + 1);
    }
    /* cJSON stops after the first value; anything but whitespace after it is
     * a second value or garbage. */
    size_t at = (size_t)(end - s);
    while (at < len && (s[at] == ' ' || s[at] == '\t' || s[at] == '\r')) at++;
    if (at < len) {
        cJSON_Delete(root);
        return hr_fail(HR_ERR_INPUT, b->err, b->errlen,
                       "%s:%zu: unexpected text after the JSON value at column %zu (one object "
                       "a line)", b->path, line, col0 + at + 1);
    }
    if (!cJSON_IsObject(root)) {
        st = hr_fail(HR_ERR_INPUT, b->err, b->errlen,
                     "%s:%zu: expected a JSON object, found %s", b->path, line,
                     json_type_name(root));
        cJSON_Delete(root);
        return st;
    }
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, b->field);
    if (!v) {
        st = jsonl_missing_field(b, root, line);
    } else if (!cJSON_IsString(v) || !v->valuestring) {
        st = hr_fail(HR_ERR_INPUT, b->err, b->errlen,
                     "%s:%zu: field \"%s\" is %s, not a string", b->path, line, b->field,
                     json_type_name(v));
    } else {
        /* The line was checked for UTF-8 and for \u0000 above, and cJSON
         * decodes escapes to well-formed UTF-8, so the values need no check. */
        st = jsonl_fields(b, root, line);
        if (st == HR_OK) st = add_text(b, v->valuestring, strlen(v->valuestring), line);
    }
    cJSON_Delete(root);
    return st;
}

static hr_status read_jsonl(builder *b, reader *r, size_t col0_first)
{
    hr_status st = HR_OK;
    const char *s;
    size_t len, line = 0;
    int got;
    while ((got = rd_line(r, &s, &len, &st, b->err, b->errlen)) == 1) {
        line++;
        if ((st = jsonl_line(b, s, len, line, line == 1 ? col0_first : 0)) != HR_OK) return st;
    }
    return got < 0 ? st : HR_OK;
}

/* ------------------------------------------------------------------------ */
/* CSV                                                                        */

typedef struct csv_field {
    size_t start, end; /* raw bytes in the reader's buffer, without the quotes */
    int quoted;        /* 1: "" inside stands for one quote */
} csv_field;

typedef struct csv_record {
    csv_field *f;  /* (n) fields of the record last scanned */
    size_t n, cap;
    size_t end;    /* buffer offset just past the record's line break */
    size_t lines;  /* '\n' bytes in the record, its line break included */
} csv_record;

enum { CSV_OK, CSV_MORE, CSV_ERR };

static int csv_push(csv_record *rec, size_t start, size_t end, int quoted)
{
    if (rec->n == rec->cap) {
        size_t cap = rec->cap ? rec->cap * 2 : 16;
        csv_field *f = realloc(rec->f, cap * sizeof *f);
        if (!f) return 0;
        rec->f = f;
        rec->cap = cap;
    }
    rec->f[rec->n].start = start;
    rec->f[rec->n].end = end;
    rec->f[rec->n].quoted = quoted;
    rec->n++;
    return 1;
}

static size_t count_newlines(const char *s, size_t len)
{
    size_t n = 0;
    const char *p = s, *e = s + len;
    while (p < e && (p = memchr(p, '\n', (size_t)(e - p))) != NULL) {
        n++;
        p++;
    }
    return n;
}

/* The 1-based line and column of buffer offset `at`, in a record that starts
 * at buffer offset rec_start on line rec_line (whose column 1 is col0 bytes
 * before rec_start: the BOM on line 1). */
static void csv_locate(const reader *r, size_t rec_start, size_t rec_line, size_t col0, size_t at,
                       size_t *line, size_t *col)
{
    size_t nl = count_newlines(r->buf + rec_start, at - rec_start);
    *line = rec_line + nl;
    if (nl == 0) {
        *col = col0 + at - rec_start + 1;
    } else {
        size_t q = at;
        while (r->buf[q - 1] != '\n') q--;
        *col = at - q + 1;
    }
}

/* Scans the record starting at r->pos, without consuming it. CSV_MORE: the
 * buffer ends inside it and the file goes on. CSV_ERR: *st set. */
static int csv_scan(builder *b, reader *r, csv_record *rec, size_t rec_line, size_t col0,
                    hr_status *st)
{
    const char *buf = r->buf;
    size_t end = r->end, i = r->pos;
    rec->n = 0;
    for (;;) { /* one field per turn, starting at i */
        if (i < end && buf[i] == '"') {
            size_t open = i, j = i + 1;
            for (;;) {
                const char *q = memchr(buf + j, '"', end - j);
                if (!q) {
                    if (!r->eof) return CSV_MORE;
                    size_t line, col;
                    csv_locate(r, r->pos, rec_line, col0, open, &line, &col);
                    *st = hr_fail(HR_ERR_INPUT, b->err, b->errlen,
                                  "%s:%zu: the quoted field that starts here (column %zu) is "
                                  "never closed", b->path, line, col);
                    return CSV_ERR;
                }
                j = (size_t)(q - buf);
                if (j + 1 == end && !r->eof) return CSV_MORE; /* "" or the end? */
                if (j + 1 < end && buf[j + 1] == '"') {
                    j += 2;
                    continue;
                }
                break;
            }
            if (!csv_push(rec, open + 1, j, 1)) goto nomem;
            i = j + 1; /* after the closing quote */
            if (i == end) { /* end of file */
                rec->end = i;
                break;
            }
            if (buf[i] == ',') {
                i++;
                continue;
            }
            if (buf[i] == '\n') {
                rec->end = i + 1;
                break;
            }
            if (buf[i] == '\r') {
                if (i + 1 == end && !r->eof) return CSV_MORE;
                if (i + 1 == end) {
                    rec->end = i + 1;
                    break;
                }
                if (buf[i + 1] == '\n') {
                    rec->end = i + 2;
                    break;
                }
            }
            size_t line, col;
            csv_locate(r, r->pos, rec_line, col0, i, &line, &col);
            *st = hr_fail(HR_ERR_INPUT, b->err, b->errlen,
                          "%s:%zu: column %zu: unexpected character after the closing quote of "
                          "a field (a quote inside a quoted field is written \"\")", b->path, line,
                          col);
            return CSV_ERR;
        }
        /* Unquoted: up to the next comma or line break. RFC 4180 allows no
         * quote inside: a field that holds one must be quoted whole. */
        size_t k = i;
        while (k < end && buf[k] != ',' && buf[k] != '\n') k++;
        if (k == end && !r->eof) return CSV_MORE;
        const char *quote = memchr(buf + i, '"', k - i);
        if (quote) {
            size_t line, col;
            csv_locate(r, r->pos, rec_line, col0, (size_t)(quote - buf), &line, &col);
            *st = hr_fail(HR_ERR_INPUT, b->err, b->errlen,
                          "%s:%zu: column %zu: a quote inside a field that does not start with "
                          "one (RFC 4180: quote the whole field and double the quote, as "
                          "\"ab\"\"cd\")", b->path, line, col);
            return CSV_ERR;
        }
        size_t fe = k;
        if (k == end || buf[k] == '\n') {
            if (fe > i && buf[fe - 1] == '\r') fe--;
            if (!csv_push(rec, i, fe, 0)) goto nomem;
            rec->end = k == end ? k : k + 1;
            break;
        }
        if (!csv_push(rec, i, fe, 0)) goto nomem;
        i = k + 1;
    }
    rec->lines = count_newlines(buf + r->pos, rec->end - r->pos);
    return CSV_OK;
nomem:
    *st = hr_fail(HR_ERR_NOMEM, b->err, b->errlen, "%s:%zu: out of memory", b->path, rec_line);
    return CSV_ERR;
}

/* Scans the next record, reading more of the file as needed. Returns 1 for a
 * record, 0 at the end of the file, -1 on error. */
static int csv_next(builder *b, reader *r, csv_record *rec, size_t rec_line, size_t col0,
                    hr_status *st)
{
    for (;;) {
        if (r->pos == r->end) {
            if (r->eof) return 0;
            if ((*st = rd_fill(r, b->err, b->errlen)) != HR_OK) return -1;
            continue;
        }
        int k = csv_scan(b, r, rec, rec_line, col0, st);
        if (k == CSV_OK) return 1;
        if (k == CSV_ERR) return -1;
        if ((*st = rd_fill(r, b->err, b->errlen)) != HR_OK) return -1;
    }
}

/* A field's value, with "" turned into ", into dst (room for f->end - f->start
 * bytes); returns its length. */
static size_t csv_decode(const char *buf, const csv_field *f, char *dst)
{
    size_t n = 0;
    if (!f->quoted) {
        n = f->end - f->start;
        memcpy(dst, buf + f->start, n);
        return n;
    }
    for (size_t i = f->start; i < f->end; i++) {
        dst[n++] = buf[i];
        if (buf[i] == '"') i++; /* the second of a "" pair */
    }
    return n;
}

static int csv_is_blank(const csv_record *rec)
{
    return rec->n == 1 && !rec->f[0].quoted && rec->f[0].start == rec->f[0].end;
}

/* The column named name among the header's names (NUL-terminated, lens[i]
 * bytes decoded: a name holding a NUL byte matches none): its index in
 * *column, an error when it is missing or named twice. */
static hr_status csv_find(const builder *b, char *const *names, const size_t *lens, size_t nf,
                          const char *name, size_t line, size_t *column)
{
    size_t found = SIZE_MAX;
    for (size_t i = 0; i < nf; i++) {
        if (strcmp(names[i], name) != 0 || strlen(names[i]) != lens[i]) continue;
        if (found != SIZE_MAX)
            return hr_fail(HR_ERR_INPUT, b->err, b->errlen,
                           "%s:%zu: the header names column \"%s\" twice (columns %zu and %zu)",
                           b->path, line, name, found + 1, i + 1);
        found = i;
    }
    if (found == SIZE_MAX) {
        char list[400];
        list_names(list, sizeof list, (const char *const *)names, nf, 0);
        return hr_fail(HR_ERR_INPUT, b->err, b->errlen,
                       "%s:%zu: no column \"%s\" in the header (columns: %s)", b->path, line,
                       name, list);
    }
    *column = found;
    return HR_OK;
}

/* Finds the text column (and the other fields' columns) in the header record. */
static hr_status csv_header(builder *b, reader *r, const csv_record *rec, size_t line,
                            size_t *column, size_t *ncols)
{
    size_t nf = rec->n, total = 0;
    for (size_t i = 0; i < nf; i++) total += rec->f[i].end - rec->f[i].start + 1;
    /* names: (nf) pointers into one block of decoded, NUL-terminated names */
    char **names = malloc(nf * sizeof *names);
    size_t *lens = malloc(nf * sizeof *lens); /* (nf) decoded bytes of each name */
    char *block = malloc(total);
    if (!names || !lens || !block) {
        free(names);
        free(lens);
        free(block);
        return hr_fail(HR_ERR_NOMEM, b->err, b->errlen, "%s:%zu: out of memory", b->path, line);
    }
    char *p = block;
    for (size_t i = 0; i < nf; i++) {
        names[i] = p;
        size_t n = csv_decode(r->buf, &rec->f[i], p);
        p[n] = '\0';
        p += n + 1;
        lens[i] = n;
    }
    hr_status st = csv_find(b, names, lens, nf, b->field, line, column);
    for (size_t j = 0; st == HR_OK && j < b->c->n_fields; j++)
        st = csv_find(b, names, lens, nf, b->extra[j], line, &b->extra_col[j]);
    free(names);
    free(lens);
    free(block);
    *ncols = nf;
    return st;
}

/* Cell f of the record at rec_start (line rec_line), checked for UTF-8 and
 * decoded into the arena: *out, *len. */
static hr_status csv_cell(builder *b, const reader *r, const csv_field *f, size_t rec_start,
                          size_t rec_line, size_t col0, char **out, size_t *len)
{
    size_t raw = f->end - f->start, bad = 0;
    /* The quotes of "" pairs are ASCII, so the raw bytes are valid UTF-8
     * exactly when the decoded text is. */
    if (!hr_utf8_valid(r->buf + f->start, raw, &bad)) {
        size_t at = f->start + bad, bl, bc;
        csv_locate(r, rec_start, rec_line, col0, at, &bl, &bc);
        unsigned char c = (unsigned char)r->buf[at];
        return c == 0 ? hr_fail(HR_ERR_INPUT, b->err, b->errlen, "%s:%zu: NUL byte at column %zu",
                                b->path, bl, bc)
                      : hr_fail(HR_ERR_INPUT, b->err, b->errlen,
                                "%s:%zu: invalid UTF-8 at byte column %zu (byte 0x%02X)", b->path,
                                bl, bc, c);
    }
    char *dst = raw < SIZE_MAX ? arena_reserve(b->ar, raw + 1) : NULL;
    if (!dst)
        return hr_fail(HR_ERR_NOMEM, b->err, b->errlen, "%s:%zu: out of memory", b->path, rec_line);
    size_t n = csv_decode(r->buf, f, dst);
    dst[n] = '\0';
    arena_commit(b->ar, n + 1);
    *out = dst;
    *len = n;
    return HR_OK;
}

static hr_status read_csv(builder *b, reader *r, size_t col0_first)
{
    csv_record rec = {0};
    hr_status st = HR_OK;
    size_t line = 1, column = 0, ncols = 0;
    int have_header = 0, got;
    while ((got = csv_next(b, r, &rec, line, line == 1 ? col0_first : 0, &st)) == 1) {
        size_t rec_line = line, rec_start = r->pos, col0 = line == 1 ? col0_first : 0;
        if (csv_is_blank(&rec)) {
            /* skipped */
        } else if (!have_header) {
            if ((st = csv_header(b, r, &rec, rec_line, &column, &ncols)) != HR_OK) break;
            have_header = 1;
        } else if (rec.n != ncols) {
            st = hr_fail(HR_ERR_INPUT, b->err, b->errlen,
                         "%s:%zu: the row has %zu field%s, the header has %zu", b->path, rec_line,
                         rec.n, rec.n == 1 ? "" : "s", ncols);
            break;
        } else {
            char *text;
            size_t n;
            if ((st = csv_cell(b, r, &rec.f[column], rec_start, rec_line, col0, &text, &n)))
                break;
            for (size_t j = 0; st == HR_OK && j < b->c->n_fields; j++) {
                hr_corpus_field *fj = &b->pending[j];
                char *v;
                if ((st = csv_cell(b, r, &rec.f[b->extra_col[j]], rec_start, rec_line, col0, &v,
                                   &fj->len)) == HR_OK)
                    fj->type = HR_FIELD_STRING, fj->text = v, fj->number = 0.0;
            }
            if (st != HR_OK || (st = push_text(b, text, n, rec_line)) != HR_OK) break;
        }
        line += rec.lines;
        r->pos = rec.end;
    }
    free(rec.f);
    return st; /* set by whatever stopped the loop early, else HR_OK */
}

/* ------------------------------------------------------------------------ */
/* Entry points                                                               */

static int ext_is(const char *ext, const char *want)
{
    for (; *ext && *want; ext++, want++) {
        char c = *ext;
        if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
        if (c != *want) return 0;
    }
    return *ext == '\0' && *want == '\0';
}

static hr_status format_of(const char *path, hr_corpus_format *fmt, char *err, size_t errlen)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    const char *dot = strrchr(base, '.');
    if (dot && dot != base) {
        if (ext_is(dot, ".jsonl")) *fmt = HR_FORMAT_JSONL;
        else if (ext_is(dot, ".txt")) *fmt = HR_FORMAT_TXT;
        else if (ext_is(dot, ".csv")) *fmt = HR_FORMAT_CSV;
        else
            return hr_fail(HR_ERR_INPUT, err, errlen,
                           "%s: unknown file extension \"%s\" (known: .jsonl, .txt, .csv)", path,
                           dot);
        return HR_OK;
    }
    return hr_fail(HR_ERR_INPUT, err, errlen,
                   "%s: no file extension to tell the format by (known: .jsonl, .txt, .csv)",
                   path);
}

void hr_corpus_destroy(hr_corpus *c)
{
    if (!c) return;
    free(c->texts);
    free(c->lens);
    free(c->lines);
    free(c->fields);
    free(c->path);
    arena_free(c->arena_);
    free(c);
}

hr_status hr_corpus_read(const char *path, const hr_corpus_options *opt, hr_corpus **out,
                         char *err, size_t errlen)
{
    if (err && errlen) err[0] = '\0';
    if (!out || !path)
        return hr_fail(HR_ERR_INTERNAL, err, errlen, "hr_corpus_read: path and out are required");
    *out = NULL;
    const char *field = opt && opt->text_field ? opt->text_field : "text";
    hr_corpus_format fmt = opt ? opt->format : HR_FORMAT_AUTO;
    hr_status st;
    if (fmt == HR_FORMAT_AUTO && (st = format_of(path, &fmt, err, errlen)) != HR_OK) return st;
    if (fmt != HR_FORMAT_JSONL && fmt != HR_FORMAT_TXT && fmt != HR_FORMAT_CSV)
        return hr_fail(HR_ERR_INTERNAL, err, errlen, "hr_corpus_read: unknown format %d",
                       (int)fmt);

    const size_t n_fields = opt && opt->fields ? opt->n_fields : 0;
    for (size_t j = 0; j < n_fields; j++)
        if (!opt->fields[j])
            return hr_fail(HR_ERR_INTERNAL, err, errlen, "hr_corpus_read: field %zu is NULL", j);
    hr_corpus *c = calloc(1, sizeof *c);
    arena *ar = calloc(1, sizeof *ar);
    size_t plen = strlen(path);
    char *pcopy = malloc(plen + 1);
    reader r = {.fd = -1, .path = path, .cap = READ_CHUNK};
    r.buf = malloc(r.cap);
    hr_corpus_field *pending = calloc(n_fields ? n_fields : 1, sizeof *pending); /* (n_fields) */
    size_t *extra_col = calloc(n_fields ? n_fields : 1, sizeof *extra_col);    /* (n_fields) */
    if (!c || !ar || !pcopy || !r.buf || !pending || !extra_col) {
        free(c);
        free(ar);
        free(pcopy);
        free(r.buf);
        free(pending);
        free(extra_col);
        return hr_fail(HR_ERR_NOMEM, err, errlen, "%s: out of memory", path);
    }
    memcpy(pcopy, path, plen + 1);
    c->path = pcopy;
    c->arena_ = ar;
    c->n_fields = n_fields;
    ar->next_cap = ARENA_FIRST;
    builder b = {.c = c, .ar = ar, .path = path, .field = field,
                 .extra = n_fields ? opt->fields : NULL, .pending = pending,
                 .extra_col = extra_col, .err = err, .errlen = errlen};

    do {
        r.fd = open(path, O_RDONLY);
    } while (r.fd < 0 && errno == EINTR);
    if (r.fd < 0) {
        st = hr_fail(HR_ERR_IO, err, errlen, "cannot open %s: %s", path, strerror(errno));
        goto done;
    }
    if ((st = rd_fill(&r, err, errlen)) != HR_OK) goto done;
    size_t col0 = 0; /* a UTF-8 byte order mark is skipped; columns still count it */
    if (r.end >= 3 && memcmp(r.buf, "\xEF\xBB\xBF", 3) == 0) {
        r.pos = 3;
        col0 = 3;
    }
    switch (fmt) {
    case HR_FORMAT_TXT: st = read_txt(&b, &r, col0); break;
    case HR_FORMAT_JSONL: st = read_jsonl(&b, &r, col0); break;
    default: st = read_csv(&b, &r, col0); break;
    }
    if (st == HR_OK && c->n == 0) st = hr_fail(HR_ERR_INPUT, err, errlen, "%s: no texts", path);

done:
    if (r.fd >= 0) close(r.fd);
    free(r.buf);
    free(pending);
    free(extra_col);
    if (st != HR_OK) {
        hr_corpus_destroy(c);
        return st;
    }
    *out = c;
    return HR_OK;
}

const hr_corpus_field *hr_corpus_get_field(const hr_corpus *c, size_t i, size_t j)
{
    if (!c || i >= c->n || j >= c->n_fields) return NULL;
    return &c->fields[i * c->n_fields + j];
}
