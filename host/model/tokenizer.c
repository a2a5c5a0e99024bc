/*
 * host/model/tokenizer.c: BERT WordPiece tokenizer, id for id the Hugging Face fast
 * tokenizer (Rust `tokenizers`) of a BERT model.
 *
 * The pipeline, as tokenizers runs it on a tokenizer.json of BERT:
 *
 *   1. added tokens: the special tokens [PAD] [UNK] [CLS] [SEP] [MASK] (those
 *      in the vocabulary) are found in the raw text, before normalisation,
 *      and become their ids; the text between them is tokenised on its own.
 *   2. BertNormalizer: clean_text (drop NUL, U+FFFD and control characters,
 *      make whitespace ' '), handle_chinese_chars (spaces around CJK
 *      ideographs), strip_accents (NFD, then drop Mn), lowercase (Rust's
 *      char::to_lowercase, character by character: no final sigma).
 *   3. BertPreTokenizer: split on whitespace; each punctuation character is a
 *      word of its own.
 *   4. WordPiece: greedy longest match first, "##" for continuations; a word
 *      of more than 100 characters, or one with no segmentation, is [UNK].
 *   5. [CLS] pieces [SEP], the pieces truncated so that [SEP] still fits.
 *
 * The steps stream: each input character runs through normalisation into the
 * current word, and each finished word through WordPiece, so nothing is
 * allocated per text (the one exception: canonical ordering of more than
 * RUN_LOCAL consecutive surviving combining marks, see run_push). Encoding
 * stops as soon as the id buffer is full.
 *
 * Unicode data comes from unicode_tables.c (generated; see
 * scripts/gen-unicode-tables.py for the Unicode versions HF uses).
 */
#include "hyporank/tokenizer.h"

#include "model/unicode_tables.h"
#include "core/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WORD_MAX_CHARS 100                  /* WordPiece max_input_chars_per_word */
#define WORD_MAX_BYTES (WORD_MAX_CHARS * 4) /* UTF-8 */
#define RUN_LOCAL 32                        /* combining marks held without malloc */
#define N_SPECIAL 5

/* The special tokens BertTokenizer registers as added tokens. */
static const char *const special_names[N_SPECIAL] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};

/* One slot of the open-addressing vocabulary table. A token "abc" has the key
 * (cont 0, "abc"); a token "##abc" has two keys, (cont 0, "##abc") and
 * (cont 1, "abc"), so that continuation pieces are found without building
 * "##" + piece strings. */
typedef struct vocab_slot {
    uint32_t hash; /* hash of (cont, key bytes) */
    int32_t id;    /* token id; -1: empty slot */
    uint16_t len;  /* key length in bytes */
    uint8_t cont;  /* 1: key is the token without its "##" */
} vocab_slot;

struct hr_tokenizer {
    int lower, strip, cjk;       /* resolved options, 0 or 1 */
    char *strings;               /* (bytes) every token, NUL-terminated, in id order */
    uint32_t *offsets;           /* (n_tokens) start of token i in strings */
    uint32_t *lengths;           /* (n_tokens) byte length of token i */
    size_t n_tokens;
    vocab_slot *slots;           /* (mask + 1) hash table, power of two */
    uint32_t mask;
    size_t max_key;              /* longest key in bytes: no longer piece can match */
    int32_t unk, cls, sep;
    int32_t special_ids[N_SPECIAL]; /* id of special_names[i], -1 when absent */
    size_t special_lens[N_SPECIAL];
    int n_special;               /* how many of special_ids are present */
};

/* ---------------------------------------------------------------- vocabulary */

/* The hash of a key is FNV-1a over its bytes, seeded by cont, then mixed.
 * WordPiece tries ever shorter prefixes of the same text, so it keeps the
 * FNV state after each byte (fnv_step) and only mixes per lookup. */
static uint32_t fnv_seed(int cont)
{
    return 2166136261u ^ (cont ? 0x9E3779B9u : 0u);
}

static uint32_t fnv_step(uint32_t h, unsigned char byte)
{
    return (h ^ byte) * 16777619u;
}

static uint32_t fnv_mix(uint32_t h)
{
    h ^= h >> 15; /* spread the high bits into the low ones, which pick the slot */
    h *= 0x2C1B3C6Du;
    h ^= h >> 12;
    return h;
}

static uint32_t hash_key(const char *key, size_t len, int cont)
{
    uint32_t h = fnv_seed(cont);
    for (size_t i = 0; i < len; i++)
        h = fnv_step(h, (unsigned char)key[i]);
    return fnv_mix(h);
}

static const char *slot_key(const hr_tokenizer *tok, const vocab_slot *s)
{
    return tok->strings + tok->offsets[s->id] + (s->cont ? 2 : 0);
}

/* The id of (cont, key) whose hash_key is h, or -1. */
static int32_t vocab_find_hashed(const hr_tokenizer *tok, const char *key, size_t len, int cont,
                                 uint32_t h)
{
    for (uint32_t i = h & tok->mask;; i = (i + 1) & tok->mask) {
        const vocab_slot *s = &tok->slots[i];
        if (s->id < 0)
            return -1;
        if (s->hash == h && s->len == len && s->cont == cont &&
            memcmp(slot_key(tok, s), key, len) == 0)
            return s->id;
    }
}

static int32_t vocab_find(const hr_tokenizer *tok, const char *key, size_t len, int cont)
{
    return vocab_find_hashed(tok, key, len, cont, hash_key(key, len, cont));
}

/* Adds (cont, token id's key); a later line with the same token wins, as in
 * HF's vocabulary map. */
static void vocab_insert(hr_tokenizer *tok, int32_t id, int cont)
{
    const char *key = tok->strings + tok->offsets[id] + (cont ? 2 : 0);
    size_t len = tok->lengths[id] - (cont ? 2 : 0);
    uint32_t h = hash_key(key, len, cont);
    for (uint32_t i = h & tok->mask;; i = (i + 1) & tok->mask) {
        vocab_slot *s = &tok->slots[i];
        if (s->id < 0) {
            *s = (vocab_slot){h, id, (uint16_t)len, (uint8_t)cont};
            if (len > tok->max_key)
                tok->max_key = len;
            return;
        }
        if (s->hash == h && s->len == len && s->cont == cont &&
            memcmp(slot_key(tok, s), key, len) == 0) {
            s->id = id;
            return;
        }
    }
}

/* Length of the valid UTF-8 sequence at s[0..n), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char b = s[0];
    if (b < 0x80)
        return 1;
    size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF; /* range of the second byte */
    if (b >= 0xC2 && b <= 0xDF)
        len = 2;
    else if (b >= 0xE0 && b <= 0xEF) {
        len = 3;
        if (b == 0xE0)
            lo = 0xA0;
        else if (b == 0xED)
            hi = 0x9F; /* no surrogates */
    } else if (b >= 0xF0 && b <= 0xF4) {
        len = 4;
        if (b == 0xF0)
            lo = 0x90;
        else if (b == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t k = 2; k < len; k++)
        if ((s[k] & 0xC0) != 0x80)
            return 0;
    return len;
}

static hr_status read_file(const char *path, char **out, size_t *out_len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return hr_fail(HR_ERR_IO, err, errlen, "%s: %s", path, strerror(errno));
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        len += fread(buf + len, 1, cap - len, f);
        if (len < cap)
            break;
        char *bigger = realloc(buf, 2 * cap + 1);
        if (!bigger) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    int failed = ferror(f);
    int saved = errno;
    fclose(f);
    if (!buf)
        return hr_fail(HR_ERR_NOMEM, err, errlen, "%s: out of memory reading the vocabulary", path);
    if (failed) {
        free(buf);
        return hr_fail(HR_ERR_IO, err, errlen, "%s: read failed: %s", path, strerror(saved));
    }
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    return HR_OK;
}

hr_tokenizer_options hr_tokenizer_default_options(void)
{
    return (hr_tokenizer_options){.do_lower_case = 1, .strip_accents = -1, .tokenize_chinese_chars = 1};
}

hr_status hr_tokenizer_load(const char *vocab_path, const hr_tokenizer_options *opt,
                            hr_tokenizer **out, char *err, size_t errlen)
{
    if (!out || !vocab_path)
        return hr_fail(HR_ERR_INTERNAL, err, errlen, "hr_tokenizer_load: NULL argument");
    *out = NULL;
    hr_tokenizer_options o = opt ? *opt : hr_tokenizer_default_options();
    if (o.strip_accents < -1 || o.strip_accents > 1)
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "tokenizer: strip_accents is %d, must be -1, 0 or 1", o.strip_accents);

    hr_tokenizer *tok = calloc(1, sizeof *tok);
    if (!tok)
        return hr_fail(HR_ERR_NOMEM, err, errlen, "tokenizer: out of memory");
    tok->lower = o.do_lower_case != 0;
    tok->strip = o.strip_accents < 0 ? tok->lower : o.strip_accents;
    tok->cjk = o.tokenize_chinese_chars != 0;

    size_t len = 0;
    hr_status st = read_file(vocab_path, &tok->strings, &len, err, errlen);
    if (st != HR_OK) {
        free(tok);
        return st;
    }
    if (len >= UINT32_MAX) {
        hr_tokenizer_destroy(tok);
        return hr_fail(HR_ERR_MODEL, err, errlen, "%s: vocabulary file too large", vocab_path);
    }

    /* One token a line; the line number (from 0) is the id. A last line
     * without '\n' counts; "\r\n" endings are accepted. */
    size_t lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += tok->strings[i] == '\n';
    if (len > 0 && tok->strings[len - 1] != '\n')
        lines++;
    if (lines >= INT32_MAX) {
        hr_tokenizer_destroy(tok);
        return hr_fail(HR_ERR_MODEL, err, errlen, "%s: too many tokens", vocab_path);
    }
    tok->offsets = malloc((lines ? lines : 1) * sizeof *tok->offsets);
    tok->lengths = malloc((lines ? lines : 1) * sizeof *tok->lengths);
    if (!tok->offsets || !tok->lengths) {
        hr_tokenizer_destroy(tok);
        return hr_fail(HR_ERR_NOMEM, err, errlen, "tokenizer: out of memory");
    }
    size_t n = 0, n_cont = 0;
    for (size_t pos = 0; pos < len;) {
        char *line = tok->strings + pos;
        char *nl = memchr(line, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - tok->strings) : len;
        size_t l = end - pos;
        if (l > 0 && line[l - 1] == '\r')
            l--;
        line[l] = '\0';
        for (size_t k = 0; k < l;) {
            size_t s = utf8_seq((const unsigned char *)line + k, l - k);
            if (s == 0) {
                hr_tokenizer_destroy(tok);
                return hr_fail(HR_ERR_MODEL, err, errlen, "%s:%zu: invalid UTF-8 in token",
                               vocab_path, n + 1);
            }
            k += s;
        }
        tok->offsets[n] = (uint32_t)pos;
        tok->lengths[n] = (uint32_t)l;
        n_cont += l >= 2 && line[0] == '#' && line[1] == '#';
        n++;
        pos = end + 1;
    }
    tok->n_tokens = n;

    /* Load factor at most 1/2. */
    size_t want = 2 * (n + n_cont) + 16, cap = 16;
    while (cap < want)
        cap *= 2;
    tok->slots = malloc(cap * sizeof *tok->slots);
    if (!tok->slots) {
        hr_tokenizer_destroy(tok);
        return hr_fail(HR_ERR_NOMEM, err, errlen, "tokenizer: out of memory");
    }
    for (size_t i = 0; i < cap; i++)
        tok->slots[i].id = -1;
    tok->mask = (uint32_t)(cap - 1);
    for (size_t i = 0; i < n; i++) {
        /* A word holds at most WORD_MAX_BYTES: longer tokens never match. */
        if (tok->lengths[i] > WORD_MAX_BYTES + 2)
            continue;
        if (tok->lengths[i] <= WORD_MAX_BYTES)
            vocab_insert(tok, (int32_t)i, 0);
        if (tok->lengths[i] >= 2 && tok->strings[tok->offsets[i]] == '#' &&
            tok->strings[tok->offsets[i] + 1] == '#')
            vocab_insert(tok, (int32_t)i, 1);
    }

    for (int k = 0; k < N_SPECIAL; k++) {
        tok->special_lens[k] = strlen(special_names[k]);
        tok->special_ids[k] = vocab_find(tok, special_names[k], tok->special_lens[k], 0);
        tok->n_special += tok->special_ids[k] >= 0;
    }
    tok->unk = tok->special_ids[1];
    tok->cls = tok->special_ids[2];
    tok->sep = tok->special_ids[3];
    const char *missing = tok->unk < 0 ? "[UNK]" : tok->cls < 0 ? "[CLS]" : tok->sep < 0 ? "[SEP]" : NULL;
    if (missing) {
        hr_tokenizer_destroy(tok);
        return hr_fail(HR_ERR_MODEL, err, errlen, "%s: the vocabulary has no %s token",
                       vocab_path, missing);
    }
    *out = tok;
    return HR_OK;
}

size_t hr_tokenizer_vocab_size(const hr_tokenizer *tok)
{
    return tok ? tok->n_tokens : 0;
}

const char *hr_tokenizer_token(const hr_tokenizer *tok, int32_t id)
{
    if (!tok || id < 0 || (size_t)id >= tok->n_tokens)
        return NULL;
    return tok->strings + tok->offsets[id];
}

void hr_tokenizer_destroy(hr_tokenizer *tok)
{
    if (!tok)
        return;
    free(tok->strings);
    free(tok->offsets);
    free(tok->lengths);
    free(tok->slots);
    free(tok);
}

/* ------------------------------------------------------------------ encoding */

typedef struct enc {
    const hr_tokenizer *tok;
    int32_t *ids;   /* (max_ids) output: [CLS] pieces [SEP] */
    size_t n;       /* ids written so far */
    size_t limit;   /* pieces may fill ids[1 .. limit); ids[limit] is kept for [SEP] */
    int full;       /* n == limit: the rest of the text would be truncated */
    char word[WORD_MAX_BYTES]; /* (wlen) UTF-8 of the current word's first 100 chars */
    size_t wlen;
    size_t wchars;  /* characters in the word (may exceed WORD_MAX_CHARS) */
    uint32_t *run;  /* (nrun) pending combining marks, canonical ordering */
    size_t nrun, runcap;
    uint32_t run_local[RUN_LOCAL];
} enc;

static void push_id(enc *e, int32_t id)
{
    if (e->n < e->limit)
        e->ids[e->n++] = id;
    if (e->n >= e->limit)
        e->full = 1;
}

/* WordPiece on the finished word e->word[0..wlen). */
static void wordpiece(enc *e)
{
    const hr_tokenizer *tok = e->tok;
    const char *w = e->word;
    int32_t pieces[WORD_MAX_CHARS]; /* (np) ids of the pieces found so far */
    size_t np = 0, start = 0;
    while (start < e->wlen) {
        size_t end = e->wlen;
        if (end - start > tok->max_key) { /* nothing longer is in the vocabulary */
            end = start + tok->max_key;
            while (end > start && ((unsigned char)w[end] & 0xC0) == 0x80)
                end--;
        }
        uint32_t state[WORD_MAX_BYTES + 1]; /* (end - start + 1) FNV state after k bytes */
        int cont = start > 0;
        state[0] = fnv_seed(cont);
        for (size_t k = start; k < end; k++)
            state[k - start + 1] = fnv_step(state[k - start], (unsigned char)w[k]);
        int32_t id = -1;
        while (end > start) {
            size_t l = end - start;
            id = vocab_find_hashed(tok, w + start, l, cont, fnv_mix(state[l]));
            if (id >= 0)
                break;
            do /* drop the last character */
                end--;
            while (end > start && ((unsigned char)w[end] & 0xC0) == 0x80);
        }
        if (id < 0) { /* no segmentation: the whole word is [UNK] */
            push_id(e, tok->unk);
            return;
        }
        pieces[np++] = id;
        start = end;
    }
    for (size_t i = 0; i < np && !e->full; i++)
        push_id(e, pieces[i]);
}

static void finish_word(enc *e)
{
    if (e->wchars == 0)
        return;
    if (!e->full) {
        if (e->wchars > WORD_MAX_CHARS)
            push_id(e, e->tok->unk);
        else
            wordpiece(e);
    }
    e->wlen = 0;
    e->wchars = 0;
}

static void word_append(enc *e, uint32_t cp)
{
    if (e->wchars++ >= WORD_MAX_CHARS) /* only the length matters now: [UNK] */
        return;
    char *p = e->word + e->wlen;
    if (cp < 0x80) {
        p[0] = (char)cp;
        e->wlen += 1;
    } else if (cp < 0x800) {
        p[0] = (char)(0xC0 | cp >> 6);
        p[1] = (char)(0x80 | (cp & 0x3F));
        e->wlen += 2;
    } else if (cp < 0x10000) {
        p[0] = (char)(0xE0 | cp >> 12);
        p[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        p[2] = (char)(0x80 | (cp & 0x3F));
        e->wlen += 3;
    } else {
        p[0] = (char)(0xF0 | cp >> 18);
        p[1] = (char)(0x80 | (cp >> 12 & 0x3F));
        p[2] = (char)(0x80 | (cp >> 6 & 0x3F));
        p[3] = (char)(0x80 | (cp & 0x3F));
        e->wlen += 4;
    }
}

/* BertPreTokenizer on one normalised character. */
static void pretokenize(enc *e, uint32_t cp, unsigned props)
{
    if (cp == ' ' || (props & HR_UC_WS)) {
        finish_word(e);
    } else if (props & HR_UC_PUNCT) {
        finish_word(e);
        word_append(e, cp);
        finish_word(e);
    } else {
        word_append(e, cp);
    }
}

/* lowercase, then pre-tokenisation. */
static void lower_step(enc *e, uint32_t cp, unsigned props)
{
    if (e->tok->lower && (props & HR_UC_LOWER)) {
        if (cp < 0x80) { /* A-Z */
            pretokenize(e, cp | 0x20, 0);
            return;
        }
        uint32_t buf[HR_UC_MAP_MAX];
        size_t n = hr_uc_lower(cp, buf);
        for (size_t i = 0; i < n; i++)
            pretokenize(e, buf[i], hr_uc_props(buf[i]));
    } else {
        pretokenize(e, cp, props);
    }
}

/* Ends a sequence of combining marks: stable sort by combining class
 * (canonical ordering), then on down the pipeline. */
static void flush_run(enc *e)
{
    uint32_t *r = e->run;
    for (size_t i = 1; i < e->nrun; i++) {
        uint32_t x = r[i];
        unsigned cx = hr_uc_props(x) >> 8;
        size_t j = i;
        while (j > 0 && (hr_uc_props(r[j - 1]) >> 8) > cx) {
            r[j] = r[j - 1];
            j--;
        }
        r[j] = x;
    }
    size_t n = e->nrun;
    e->nrun = 0;
    for (size_t i = 0; i < n; i++)
        lower_step(e, r[i], hr_uc_props(r[i]));
}

static void run_push(enc *e, uint32_t cp)
{
    if (e->nrun == e->runcap) {
        /* More surviving marks in a row than RUN_LOCAL (they are rare: Mn
         * marks are dropped before this). Grow on the heap; without memory,
         * order what is held so far (the only way the output could differ). */
        size_t cap = 2 * e->runcap;
        uint32_t *bigger = e->run == e->run_local ? malloc(cap * sizeof *bigger)
                                                  : realloc(e->run, cap * sizeof *bigger);
        if (!bigger) {
            flush_run(e);
        } else {
            if (e->run == e->run_local)
                memcpy(bigger, e->run_local, sizeof e->run_local);
            e->run = bigger;
            e->runcap = cap;
        }
    }
    e->run[e->nrun++] = cp;
}

/* One character of the NFD output: strip accents. Marks with a combining
 * class wait in the run for canonical ordering; Mn marks are dropped (which
 * commutes with the stable sort, so they are dropped at once). */
static void nfd_step(enc *e, uint32_t cp, unsigned props)
{
    if ((props >> 8) == 0) {
        if (e->nrun)
            flush_run(e);
        if (!(props & HR_UC_MN))
            lower_step(e, cp, props);
    } else if (!(props & HR_UC_MN)) {
        run_push(e, cp);
    }
}

/* A character after clean_text and the CJK spacing. */
static void accent_step(enc *e, uint32_t cp, unsigned props)
{
    if (!e->tok->strip) {
        lower_step(e, cp, props);
    } else if (props & HR_UC_NFD) {
        uint32_t buf[HR_UC_MAP_MAX];
        size_t n = hr_uc_nfd(cp, buf);
        for (size_t i = 0; i < n; i++)
            nfd_step(e, buf[i], hr_uc_props(buf[i]));
    } else {
        nfd_step(e, cp, props);
    }
}

/* A space from the normaliser: a starter, and a word boundary. */
static void space(enc *e)
{
    if (e->nrun)
        flush_run(e);
    finish_word(e);
}

/* One input character: clean_text, CJK spacing, then the rest. */
static void put_char(enc *e, uint32_t cp)
{
    unsigned props = hr_uc_props(cp);
    if (props & HR_UC_DROP)
        return;
    if (props & HR_UC_WS) {
        space(e);
    } else if ((props & HR_UC_CJK) && e->tok->cjk) {
        space(e);
        accent_step(e, cp, props);
        space(e);
    } else {
        accent_step(e, cp, props);
    }
}

/* The id of a special token that starts at s[0..n), and its length. */
static int32_t match_special(const hr_tokenizer *tok, const char *s, size_t n, size_t *len)
{
    int32_t best = -1;
    *len = 0;
    for (int k = 0; k < N_SPECIAL; k++) {
        size_t l = tok->special_lens[k];
        if (tok->special_ids[k] >= 0 && l <= n && l > *len && memcmp(s, special_names[k], l) == 0) {
            best = tok->special_ids[k];
            *len = l;
        }
    }
    return best;
}

size_t hr_tokenizer_encode(const hr_tokenizer *tok, const char *text, size_t len,
                           int32_t *ids, size_t max_ids)
{
    if (!tok || !ids || max_ids < 2)
        return 0;
    if (!text)
        len = 0;
    enc e;
    e.tok = tok;
    e.ids = ids;
    e.n = 0;
    e.limit = max_ids - 1;
    e.full = 0;
    e.wlen = e.wchars = 0;
    e.run = e.run_local;
    e.nrun = 0;
    e.runcap = RUN_LOCAL;
    push_id(&e, tok->cls);

    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    while (i < len && !e.full) {
        unsigned char b = s[i];
        if (b < 0x80) {
            int upper = b >= 'A' && b <= 'Z';
            if (upper || (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9')) {
                /* fast path: a starter that only joins the current word */
                if (e.nrun)
                    flush_run(&e);
                if (upper && tok->lower)
                    b |= 0x20;
                if (e.wchars++ < WORD_MAX_CHARS)
                    e.word[e.wlen++] = (char)b;
                i++;
                continue;
            }
            size_t l;
            int32_t id;
            if (b == '[' && tok->n_special && (id = match_special(tok, text + i, len - i, &l)) >= 0) {
                space(&e); /* the text on each side is tokenised on its own */
                push_id(&e, id);
                i += l;
                continue;
            }
            put_char(&e, b);
            i++;
            continue;
        }
        size_t l = utf8_seq(s + i, len - i);
        uint32_t cp;
        if (l == 0) { /* invalid UTF-8 reads as U+FFFD, which clean_text drops */
            cp = 0xFFFD;
            l = 1;
        } else if (l == 2) {
            cp = (uint32_t)(b & 0x1F) << 6 | (s[i + 1] & 0x3F);
        } else if (l == 3) {
            cp = (uint32_t)(b & 0x0F) << 12 | (uint32_t)(s[i + 1] & 0x3F) << 6 | (s[i + 2] & 0x3F);
        } else {
            cp = (uint32_t)(b & 0x07) << 18 | (uint32_t)(s[i + 1] & 0x3F) << 12 |
                 (uint32_t)(s[i + 2] & 0x3F) << 6 | (s[i + 3] & 0x3F);
        }
        put_char(&e, cp);
        i += l;
    }
    space(&e);
    if (e.run != e.run_local)
        free(e.run);
    ids[e.n++] = tok->sep;
    return e.n;
}
