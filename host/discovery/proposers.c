/*
 * host/discovery/proposers.c: the pool of candidate hypotheses, the built-in bank and
 * the n-gram contrast proposer (proposers.h has the method and its choices).
 *
 * Pool: entries in a growable array, their strings in a block arena (blocks
 * never move, so text and note pointers stay valid), and an open-addressing
 * hash table over the normalised text (trimmed, whitespace collapsed, lower
 * case) for the duplicate check.
 *
 * N-grams: one pass over A then B. Each token is interned into a word table
 * (open addressing on a 64-bit hash of its bytes; the stop words are interned
 * first, so "is a stop word" is "id < number of stop words"). Unigrams and
 * bigrams are then counted in one open-addressing table keyed by word ids
 * (a 64-bit integer: id + 1 for a unigram, (id1 + 1) << 32 | (id2 + 1) for a
 * bigram), whose 16-byte slots hold the document frequencies of A and B.
 * A text's n-gram keys are gathered first, sorted and made unique (so a
 * repeated n-gram counts once), and their slots prefetched before they are
 * updated: with millions of distinct n-grams the table is far bigger than
 * the caches, and the misses overlap instead of queueing. Only the n-grams
 * that pass min_count get a string, once, when the results are built.
 */
#include "hyporank/proposers.h"
#include "core/threads.h"
#include "hyporank/corpus.h" /* hr_utf8_valid */
#include "model/unicode_tables.h"
#include "core/util.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* host/discovery/data/hypothesis-bank.txt, compiled in by the build. */
extern const char hr_data_hypothesis_bank[];
extern const unsigned long hr_data_hypothesis_bank_len;

/* ------------------------------------------------------------------------ */
/* Small helpers                                                              */

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

/* A 64-bit hash of s[0..n), 8 bytes a step; never 0 (0 marks an empty slot). */
static uint64_t hash_bytes(const char *s, size_t n)
{
    const uint64_t k = 0x9e3779b97f4a7c15ull;
    uint64_t h = k ^ ((uint64_t)n * 0xc2b2ae3d27d4eb4full);
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, s, 8);
        h = (h ^ mix64(v)) * k;
        s += 8;
        n -= 8;
    }
    if (n > 0) {
        uint64_t v = 0;
        memcpy(&v, s, n);
        h = (h ^ mix64(v ^ ((uint64_t)n << 59))) * k;
    }
    h = mix64(h);
    return h ? h : 1;
}

/* Decodes the code point at p[0..n), n >= 1: returns its length in bytes and
 * sets *cp; an ill-formed sequence gives length 1 and *cp = UINT32_MAX. */
static size_t utf8_decode(const unsigned char *p, size_t n, uint32_t *cp)
{
    unsigned c = p[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t need;
    unsigned lo = 0x80, hi = 0xBF;
    uint32_t v;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
        v = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        v = c & 0x0F;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        v = c & 0x07;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else {
        *cp = UINT32_MAX;
        return 1;
    }
    if (n <= need || p[1] < lo || p[1] > hi) {
        *cp = UINT32_MAX;
        return 1;
    }
    v = (v << 6) | (p[1] & 0x3F);
    for (size_t k = 2; k <= need; k++) {
        if (p[k] < 0x80 || p[k] > 0xBF) {
            *cp = UINT32_MAX;
            return 1;
        }
        v = (v << 6) | (p[k] & 0x3F);
    }
    *cp = v;
    return need + 1;
}

/* Writes cp (<= U+10FFFF) as UTF-8 to out (room for 4); returns the length. */
static size_t utf8_encode(uint32_t cp, unsigned char *out)
{
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (unsigned char)(0xC0 | (cp >> 6));
        out[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (unsigned char)(0xE0 | (cp >> 12));
        out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (unsigned char)(0xF0 | (cp >> 18));
    out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Writes the simple lower case of cp as UTF-8 to out (room for
 * 4 * HR_UC_MAP_MAX bytes); returns the length. */
static size_t utf8_lower(uint32_t cp, unsigned props, unsigned char *out)
{
    if (props & HR_UC_LOWER) {
        uint32_t m[HR_UC_MAP_MAX];
        size_t k = hr_uc_lower(cp, m), len = 0;
        if (k > 0) {
            for (size_t i = 0; i < k; i++) len += utf8_encode(m[i], out + len);
            return len;
        }
    }
    return utf8_encode(cp, out);
}

/* Whitespace for trimming and collapsing: ASCII space, \t \n \v \f \r and
 * every non-ASCII White_Space code point. */
static int is_space_cp(uint32_t cp)
{
    if (cp < 0x80) return cp == ' ' || (cp >= '\t' && cp <= '\r');
    if (cp == UINT32_MAX) return 0;
    return (hr_uc_props(cp) & HR_UC_WS) != 0;
}

/* ------------------------------------------------------------------------ */
/* Block arena: strings that never move                                      */

typedef struct arena_block {
    struct arena_block *next;
    size_t used, cap;
    char data[]; /* (cap) bytes */
} arena_block;

typedef struct arena {
    arena_block *head; /* the block being filled; older ones follow */
} arena;

enum { ARENA_BLOCK = 64 * 1024 };

static char *arena_alloc(arena *a, size_t n)
{
    arena_block *b = a->head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;
        b = malloc(sizeof *b + cap);
        if (!b) return NULL;
        b->used = 0;
        b->cap = cap;
        b->next = a->head;
        a->head = b;
    }
    char *p = b->data + b->used;
    b->used += n;
    return p;
}

static char *arena_strdup(arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    if (!p) return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

static void arena_free(arena *a)
{
    arena_block *b = a->head;
    while (b) {
        arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
}

/* ------------------------------------------------------------------------ */
/* The pool                                                                   */

struct hr_hypothesis_pool {
    size_t n, cap;
    hr_pool_entry *entries; /* (cap), first n used */
    const char **texts;     /* (cap) entries[i].text, for hr_pool_texts */
    size_t *lens;           /* (cap) entries[i].len */
    const char **keys;      /* (cap) normalised text of each entry (in the arena) */
    size_t *key_lens;       /* (cap) */
    uint64_t *key_hashes;   /* (cap) */
    uint32_t *slots;        /* (nslots) entry index + 1, 0 = empty; nslots a power of 2 */
    size_t nslots;
    arena strings;
};

const char *hr_hyp_source_str(hr_hyp_source s)
{
    switch (s) {
    case HR_SOURCE_USER: return "user";
    case HR_SOURCE_BANK: return "bank";
    case HR_SOURCE_NGRAM: return "ngram";
    case HR_SOURCE_LLM: return "llm";
    }
    return "unknown";
}

hr_status hr_pool_create(hr_hypothesis_pool **out, char *err, size_t errlen)
{
    if (!out) return hr_fail(HR_ERR_INTERNAL, err, errlen, "hr_pool_create: out is NULL");
    *out = NULL;
    hr_hypothesis_pool *p = calloc(1, sizeof *p);
    if (!p) return hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory creating a hypothesis pool");
    p->nslots = 1024;
    p->slots = calloc(p->nslots, sizeof *p->slots);
    if (!p->slots) {
        free(p);
        return hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory creating a hypothesis pool");
    }
    *out = p;
    return HR_OK;
}

void hr_pool_destroy(hr_hypothesis_pool *pool)
{
    if (!pool) return;
    arena_free(&pool->strings);
    free(pool->entries);
    free(pool->texts);
    free(pool->lens);
    free(pool->keys);
    free(pool->key_lens);
    free(pool->key_hashes);
    free(pool->slots);
    free(pool);
}

size_t hr_pool_size(const hr_hypothesis_pool *pool) { return pool ? pool->n : 0; }

const hr_pool_entry *hr_pool_get(const hr_hypothesis_pool *pool, size_t i)
{
    return pool && i < pool->n ? &pool->entries[i] : NULL;
}

const char *const *hr_pool_texts(const hr_hypothesis_pool *pool)
{
    return pool ? (const char *const *)pool->texts : NULL;
}

const size_t *hr_pool_lens(const hr_hypothesis_pool *pool) { return pool ? pool->lens : NULL; }

/* The normalised form of s[0..n) (valid UTF-8) into out (room for 4 n bytes:
 * a code point of k >= 1 bytes lower-cases to at most 2 code points of at
 * most 4 bytes each, and a 1-byte one to 1 byte): surrounding whitespace
 * dropped, inner runs of whitespace made one space, lower case. Returns the
 * length (0: nothing but whitespace). Also reports where the trimmed text
 * starts and ends in s. */
static size_t normalise(const char *s, size_t n, unsigned char *out, size_t *start, size_t *end)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len = 0, i = 0;
    int pending_space = 0;
    *start = *end = 0;
    while (i < n) {
        uint32_t cp;
        size_t k = utf8_decode(p + i, n - i, &cp);
        if (is_space_cp(cp)) {
            pending_space = len > 0;
        } else {
            if (len == 0) *start = i;
            if (pending_space) out[len++] = ' ';
            pending_space = 0;
            if (cp < 0x80)
                out[len++] = (unsigned char)(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
            else
                len += utf8_lower(cp, hr_uc_props(cp), out + len);
            *end = i + k;
        }
        i += k;
    }
    return len;
}

static int pool_grow(hr_hypothesis_pool *p)
{
    size_t cap = p->cap ? 2 * p->cap : 256;
#define GROW(field)                                                            \
    do {                                                                       \
        void *q_ = realloc(p->field, cap * sizeof *p->field);                  \
        if (!q_) return 0;                                                     \
        p->field = q_;                                                         \
    } while (0)
    GROW(entries);
    GROW(texts);
    GROW(lens);
    GROW(keys);
    GROW(key_lens);
    GROW(key_hashes);
#undef GROW
    p->cap = cap;
    return 1;
}

/* Doubles the slot table once it is more than half full. */
static int pool_rehash(hr_hypothesis_pool *p)
{
    if ((p->n + 1) * 2 <= p->nslots) return 1;
    size_t nslots = p->nslots * 2;
    uint32_t *slots = calloc(nslots, sizeof *slots);
    if (!slots) return 0;
    for (size_t i = 0; i < p->n; i++) {
        size_t h = (size_t)p->key_hashes[i] & (nslots - 1);
        while (slots[h]) h = (h + 1) & (nslots - 1);
        slots[h] = (uint32_t)(i + 1);
    }
    free(p->slots);
    p->slots = slots;
    p->nslots = nslots;
    return 1;
}

static hr_status pool_add(hr_hypothesis_pool *pool, const char *text, size_t len,
                          hr_hyp_source source, const char *note, char direction, double z,
                          int *added, char *err, size_t errlen)
{
    if (added) *added = 0;
    if (!pool || (!text && len > 0))
        return hr_fail(HR_ERR_INTERNAL, err, errlen, "hr_pool_add: pool or text is NULL");
    if ((int)source < (int)HR_SOURCE_USER || (int)source > (int)HR_SOURCE_LLM)
        return hr_fail(HR_ERR_INTERNAL, err, errlen, "hr_pool_add: unknown source %d", (int)source);
    if (pool->n >= UINT32_MAX - 1)
        return hr_fail(HR_ERR_INPUT, err, errlen, "too many hypotheses (at most %lu)",
                       (unsigned long)(UINT32_MAX - 2));
    size_t bad;
    if (!hr_utf8_valid(text, len, &bad))
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "hypothesis is not valid UTF-8 or holds a NUL (byte %zu)", bad + 1);
    if (len > SIZE_MAX / 4 - 1)
        return hr_fail(HR_ERR_INPUT, err, errlen, "hypothesis too long (%zu bytes)", len);

    unsigned char *key = malloc(4 * len + 1); /* (4 len + 1) bytes: see normalise */
    if (!key) return hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory adding a hypothesis");
    size_t start, end;
    size_t klen = normalise(text, len, key, &start, &end);
    if (klen == 0) {
        free(key);
        return hr_fail(HR_ERR_INPUT, err, errlen, "hypothesis is empty");
    }
    uint64_t h = hash_bytes((const char *)key, klen);
    size_t mask = pool->nslots - 1, s = (size_t)h & mask;
    for (; pool->slots[s]; s = (s + 1) & mask) {
        size_t i = pool->slots[s] - 1;
        if (pool->key_hashes[i] == h && pool->key_lens[i] == klen &&
            memcmp(pool->keys[i], key, klen) == 0) {
            free(key); /* a duplicate: the first one stays */
            return HR_OK;
        }
    }

    if ((pool->n == pool->cap && !pool_grow(pool)) || !pool_rehash(pool)) {
        free(key);
        return hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory adding a hypothesis");
    }
    char *t = arena_strdup(&pool->strings, text + start, end - start);
    char *k = arena_strdup(&pool->strings, (const char *)key, klen);
    char *nt = note ? arena_strdup(&pool->strings, note, strlen(note)) : NULL;
    free(key);
    if (!t || !k || (note && !nt))
        return hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory adding a hypothesis");

    size_t i = pool->n++;
    pool->entries[i] = (hr_pool_entry){.text = t, .len = end - start, .source = source,
                                       .note = nt, .direction = direction, .z = z};
    pool->texts[i] = t;
    pool->lens[i] = end - start;
    pool->keys[i] = k;
    pool->key_lens[i] = klen;
    pool->key_hashes[i] = h;
    mask = pool->nslots - 1; /* pool_rehash may have grown the table */
    for (s = (size_t)h & mask; pool->slots[s]; s = (s + 1) & mask) {
    }
    pool->slots[s] = (uint32_t)(i + 1);
    if (added) *added = 1;
    return HR_OK;
}

hr_status hr_pool_add(hr_hypothesis_pool *pool, const char *text, size_t len,
                      hr_hyp_source source, const char *note, int *added, char *err,
                      size_t errlen)
{
    return pool_add(pool, text, len, source, note, 0, 0.0, added, err, errlen);
}

hr_status hr_pool_add_lines(hr_hypothesis_pool *pool, const char *buf, size_t len,
                            hr_hyp_source source, const char *name, size_t *added, char *err,
                            size_t errlen)
{
    if (added) *added = 0;
    if (!pool || (!buf && len > 0))
        return hr_fail(HR_ERR_INTERNAL, err, errlen, "hr_pool_add_lines: pool or buf is NULL");
    size_t pos = 0, line = 0, count = 0;
    while (pos < len) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - buf) : len;
        size_t next = nl ? end + 1 : len;
        line++;
        if (end > pos && buf[end - 1] == '\r') end--;
        /* The first character that is not whitespace: none, a blank line;
         * '#', a comment. */
        size_t first = pos;
        while (first < end) {
            uint32_t cp;
            size_t k = utf8_decode((const unsigned char *)buf + first, end - first, &cp);
            if (!is_space_cp(cp)) break;
            first += k;
        }
        if (first < end && buf[first] != '#') {
            char detail[256];
            int was_added;
            hr_status st = pool_add(pool, buf + first, end - first, source, NULL, 0, 0.0,
                                    &was_added, detail, sizeof detail);
            if (st != HR_OK) {
                if (added) *added = count;
                return hr_fail(st, err, errlen, "%s:%zu: %s", name ? name : "hypotheses", line,
                               detail);
            }
            count += (size_t)was_added;
        }
        pos = next;
    }
    if (added) *added = count;
    return HR_OK;
}

const char *hr_bank_text(size_t *len)
{
    if (len) *len = (size_t)hr_data_hypothesis_bank_len;
    return hr_data_hypothesis_bank;
}

hr_status hr_pool_add_bank(hr_hypothesis_pool *pool, size_t *added, char *err, size_t errlen)
{
    size_t len;
    const char *bank = hr_bank_text(&len);
    return hr_pool_add_lines(pool, bank, len, HR_SOURCE_BANK, "built-in hypothesis bank", added,
                             err, errlen);
}

/* ------------------------------------------------------------------------ */
/* N-gram contrast: tokens                                                    */

enum { MAX_TOKEN = 64 }; /* longer tokens are dropped (see proposers.h) */

/* English function words and the pieces contractions leave behind ("don't"
 * -> "don" "t"). The fixture generator (tests/fixtures/gen-ngram-fixture.py)
 * reads this list from between the two marker comments: keep one quoted word
 * each, lower case. */
static const char *const stop_words[] = {
    /* stop words begin */
    "a", "about", "above", "after", "again", "against", "all", "am", "an", "and", "any",
    "are", "as", "at", "be", "because", "been", "before", "being", "below", "between",
    "both", "but", "by", "can", "could", "did", "do", "does", "doing", "down", "during",
    "each", "few", "for", "from", "further", "had", "has", "have", "having", "he", "her",
    "here", "hers", "herself", "him", "himself", "his", "how", "i", "if", "in", "into",
    "is", "it", "its", "itself", "just", "me", "more", "most", "my", "myself", "no", "nor",
    "not", "now", "of", "off", "on", "once", "only", "or", "other", "ought", "our", "ours",
    "ourselves", "out", "over", "own", "same", "she", "should", "so", "some", "such",
    "than", "that", "the", "their", "theirs", "them", "themselves", "then", "there",
    "these", "they", "this", "those", "through", "to", "too", "under", "until", "up",
    "very", "was", "we", "were", "what", "when", "where", "which", "while", "who", "whom",
    "why", "will", "with", "would", "you", "your", "yours", "yourself", "yourselves",
    "s", "t", "d", "ll", "m", "re", "ve", "don", "doesn", "didn", "isn", "aren", "wasn",
    "weren", "hasn", "haven", "hadn", "couldn", "shouldn", "wouldn",
    /* stop words end */
};
enum { N_STOP = sizeof stop_words / sizeof stop_words[0] };

/* An ASCII byte b's part in a token: its lower case for a letter or digit,
 * 0 for a separator. */
static inline unsigned char ascii_word(unsigned b)
{
    unsigned l = b | 0x20; /* 'A'..'Z' -> 'a'..'z'; no other byte lands in 'a'..'z' */
    if (l - 'a' < 26u) return (unsigned char)l;
    if (b - '0' < 10u) return (unsigned char)b;
    return 0;
}

/* Word interning: word bytes back to back, open addressing on their hash. */
typedef struct word_slot {
    uint64_t hash; /* 0: empty */
    uint32_t id;
} word_slot;

typedef struct word_table {
    word_slot *slots; /* (nslots), a power of 2, at most 70% full */
    size_t nslots;
    size_t count;     /* words interned; ids 0 .. count-1 */
    size_t *off;      /* (cap) offset of word id in bytes */
    uint32_t *len;    /* (cap) its length */
    size_t cap;
    char *bytes;      /* (bytes_cap) every word, back to back, no separators */
    size_t bytes_len, bytes_cap;
} word_table;

/* N-gram counts. key: id + 1 (unigram) or (id1 + 1) << 32 | (id2 + 1). */
typedef struct gram_slot {
    uint64_t key;  /* 0: empty */
    uint32_t df_a; /* texts of A that contain it */
    uint32_t df_b; /* texts of B that contain it */
} gram_slot;

typedef struct gram_table {
    gram_slot *slots; /* (nslots), a power of 2, at most 70% full */
    size_t nslots, count;
} gram_table;

/* The counts, and the scratch buffers of the text being counted. */
typedef struct counter {
    word_table w;
    gram_table g;
    int max_n;
    unsigned char *tb; /* (tb_cap) the text's tokens, lower case, back to back */
    size_t tb_cap;
    size_t *toff;      /* (tok_cap) each token's offset in tb */
    uint32_t *tlen;    /* (tok_cap) its length, or TOK_BREAK for a dropped token */
    uint64_t *thash;   /* (tok_cap) its hash_bytes */
    size_t ntok, tok_cap;
    uint64_t *keys;    /* (keys_cap) the text's n-gram keys, nkeys used */
    size_t *where;     /* (keys_cap) the home slot of each unique key */
    size_t nkeys, keys_cap;
} counter;

static void counter_free(counter *c)
{
    free(c->w.slots);
    free(c->w.off);
    free(c->w.len);
    free(c->w.bytes);
    free(c->g.slots);
    free(c->keys);
    free(c->where);
    free(c->tb);
    free(c->toff);
    free(c->tlen);
    free(c->thash);
}

static int word_table_grow(word_table *t)
{
    size_t nslots = t->nslots * 2;
    word_slot *slots = calloc(nslots, sizeof *slots);
    if (!slots) return 0;
    for (size_t i = 0; i < t->nslots; i++) {
        if (!t->slots[i].hash) continue;
        size_t s = (size_t)t->slots[i].hash & (nslots - 1);
        while (slots[s].hash) s = (s + 1) & (nslots - 1);
        slots[s] = t->slots[i];
    }
    free(t->slots);
    t->slots = slots;
    t->nslots = nslots;
    return 1;
}

/* The id of word s[0..n), whose hash_bytes is h, interning it when new;
 * UINT32_MAX when out of memory or out of ids. */
/* The slot of word s[0..n) (hash h) in t: the one that holds it, or the
 * empty slot where it would go. */
static inline size_t word_slot_at(const word_table *t, const char *s, size_t n, uint64_t h)
{
    const size_t mask = t->nslots - 1;
    size_t i = (size_t)h & mask;
    for (; t->slots[i].hash; i = (i + 1) & mask) {
        if (t->slots[i].hash != h) continue;
        const uint32_t id = t->slots[i].id;
        if (t->len[id] == n && memcmp(t->bytes + t->off[id], s, n) == 0) break;
    }
    return i;
}

static uint32_t word_intern(word_table *t, const char *s, size_t n, uint64_t h)
{
    const size_t i = word_slot_at(t, s, n, h);
    if (t->slots[i].hash) return t->slots[i].id;
    if (t->count >= UINT32_MAX - 2) return UINT32_MAX;
    if (t->count == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 4096;
        size_t *off = realloc(t->off, cap * sizeof *off);
        if (!off) return UINT32_MAX;
        t->off = off;
        uint32_t *len = realloc(t->len, cap * sizeof *len);
        if (!len) return UINT32_MAX;
        t->len = len;
        t->cap = cap;
    }
    if (t->bytes_cap - t->bytes_len < n) {
        size_t cap = t->bytes_cap ? 2 * t->bytes_cap : 65536;
        while (cap - t->bytes_len < n) cap *= 2;
        char *b = realloc(t->bytes, cap);
        if (!b) return UINT32_MAX;
        t->bytes = b;
        t->bytes_cap = cap;
    }
    uint32_t id = (uint32_t)t->count++;
    t->off[id] = t->bytes_len;
    t->len[id] = (uint32_t)n;
    memcpy(t->bytes + t->bytes_len, s, n);
    t->bytes_len += n;
    t->slots[i].hash = h;
    t->slots[i].id = id;
    if (t->count * 10 > t->nslots * 7 && !word_table_grow(t)) return UINT32_MAX;
    return id;
}

static int gram_table_grow(gram_table *t)
{
    size_t nslots = t->nslots * 2;
    gram_slot *slots = calloc(nslots, sizeof *slots);
    if (!slots) return 0;
    for (size_t i = 0; i < t->nslots; i++) {
        if (!t->slots[i].key) continue;
        size_t s = (size_t)mix64(t->slots[i].key) & (nslots - 1);
        while (slots[s].key) s = (s + 1) & (nslots - 1);
        slots[s] = t->slots[i];
    }
    free(t->slots);
    t->slots = slots;
    t->nslots = nslots;
    return 1;
}

/* Notes an n-gram of the current text. */
static int key_push(counter *c, uint64_t key)
{
    if (c->nkeys == c->keys_cap) {
        size_t cap = c->keys_cap ? 2 * c->keys_cap : 256;
        uint64_t *k = realloc(c->keys, cap * sizeof *k);
        if (!k) return 0;
        c->keys = k;
        size_t *w = realloc(c->where, cap * sizeof *w);
        if (!w) return 0;
        c->where = w;
        c->keys_cap = cap;
    }
    c->keys[c->nkeys++] = key;
    return 1;
}

static int key_cmp(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return (a > b) - (a < b);
}

#if defined(__GNUC__)
#define PREFETCH(p) __builtin_prefetch(p, 1)
#else
#define PREFETCH(p) ((void)(p))
#endif

/* Counts the current text's n-grams, each once, into A's or B's column. */
static int keys_commit(counter *c, int in_a)
{
    size_t n = c->nkeys;
    uint64_t *k = c->keys;
    c->nkeys = 0;
    if (n == 0) return 1;
    if (n <= 32) { /* insertion sort: texts are mostly short */
        for (size_t i = 1; i < n; i++) {
            uint64_t v = k[i];
            size_t j = i;
            for (; j > 0 && k[j - 1] > v; j--) k[j] = k[j - 1];
            k[j] = v;
        }
    } else {
        qsort(k, n, sizeof *k, key_cmp);
    }
    size_t u = 1;
    for (size_t i = 1; i < n; i++)
        if (k[i] != k[u - 1]) k[u++] = k[i];

    gram_table *t = &c->g;
    while ((t->count + u) * 10 > t->nslots * 7) /* no growth while slots are prefetched */
        if (!gram_table_grow(t)) return 0;
    size_t mask = t->nslots - 1;
    for (size_t i = 0; i < u; i++) {
        c->where[i] = (size_t)mix64(k[i]) & mask;
        PREFETCH(&t->slots[c->where[i]]);
    }
    for (size_t i = 0; i < u; i++) {
        size_t s = c->where[i];
        while (t->slots[s].key && t->slots[s].key != k[i]) s = (s + 1) & mask;
        gram_slot *g = &t->slots[s];
        if (!g->key) {
            g->key = k[i];
            t->count++;
        }
        if (in_a) g->df_a++;
        else g->df_b++;
    }
    return 1;
}

#define NO_WORD UINT32_MAX   /* no previous token (start of text, or after a break) */
#define TOK_BREAK UINT32_MAX /* tlen of a dropped token */

/* Appends a token (or, with len TOK_BREAK, a break) to the text's list. */
static int tok_push(counter *c, size_t off, uint32_t len)
{
    if (c->ntok == c->tok_cap) {
        size_t cap = c->tok_cap ? 2 * c->tok_cap : 256;
        size_t *o = realloc(c->toff, cap * sizeof *o);
        if (!o) return 0;
        c->toff = o;
        uint32_t *l = realloc(c->tlen, cap * sizeof *l);
        if (!l) return 0;
        c->tlen = l;
        uint64_t *h = realloc(c->thash, cap * sizeof *h);
        if (!h) return 0;
        c->thash = h;
        c->tok_cap = cap;
    }
    c->toff[c->ntok] = off;
    c->tlen[c->ntok] = len;
    c->ntok++;
    return 1;
}

/* Cuts text[0..len) into tokens (proposers.h): c->tb, toff, tlen, ntok. */
static int tokenise(counter *c, const unsigned char *p, size_t len)
{
    /* Room for the whole text lower-cased: a code point of k >= 2 bytes
     * lower-cases to at most 2 code points of at most 4 bytes (8 <= 4 k),
     * an ASCII byte to one byte; plus one token's worth of slack. */
    size_t need = len > (SIZE_MAX - 2 * MAX_TOKEN) / 4 ? SIZE_MAX : 4 * len + 2 * MAX_TOKEN;
    if (need == SIZE_MAX) return 0;
    if (c->tb_cap < need) {
        unsigned char *tb = realloc(c->tb, need);
        if (!tb) return 0;
        c->tb = tb;
        c->tb_cap = need;
    }
    c->ntok = 0;
    size_t end = 0;   /* bytes used in tb */
    size_t start = 0; /* where the current token starts in tb */
    int overflow = 0; /* the current token is over MAX_TOKEN bytes: drop it */
    size_t i = 0;
#define FLUSH()                                                                \
    do {                                                                       \
        if (overflow) {                                                        \
            if (!tok_push(c, start, TOK_BREAK)) return 0;                      \
        } else if (end > start) {                                              \
            if (!tok_push(c, start, (uint32_t)(end - start))) return 0;        \
        }                                                                      \
        overflow = 0;                                                          \
        start = end;                                                           \
    } while (0)
    while (i < len) {
        unsigned b = p[i];
        if (b < 0x80) {
            unsigned char w = ascii_word(b);
            if (!w) {
                FLUSH();
            } else if (!overflow) {
                if (end - start < MAX_TOKEN) {
                    c->tb[end++] = w;
                } else {
                    overflow = 1;
                    end = start; /* drop what was kept of it */
                }
            }
            i++;
            continue;
        }
        uint32_t cp;
        size_t k = utf8_decode(p + i, len - i, &cp);
        unsigned props = cp == UINT32_MAX ? HR_UC_DROP : hr_uc_props(cp);
        if (props & (HR_UC_DROP | HR_UC_WS | HR_UC_PUNCT)) {
            FLUSH();
        } else if (props & HR_UC_CJK) {
            FLUSH(); /* a CJK ideograph is a token of its own */
            memcpy(c->tb + end, p + i, k);
            end += k;
            FLUSH();
        } else if (!overflow) {
            size_t n = utf8_lower(cp, props, c->tb + end);
            end += n;
            if (end - start > MAX_TOKEN) {
                overflow = 1;
                end = start; /* drop what was kept of it */
            }
        }
        i += k;
    }
    FLUSH();
#undef FLUSH
    return 1;
}

/* Tokenises one text and counts its n-grams into A's or B's column; 0 when
 * out of memory. The word slots of all its tokens are prefetched before any
 * is looked up (a hint: the table may still grow in between). */
static int count_text(counter *c, const char *text, size_t len, int in_a)
{
    if (!tokenise(c, (const unsigned char *)text, len)) return 0;
    size_t wmask = c->w.nslots - 1;
    for (size_t i = 0; i < c->ntok; i++) {
        if (c->tlen[i] == TOK_BREAK) continue;
        c->thash[i] = hash_bytes((const char *)c->tb + c->toff[i], c->tlen[i]);
        PREFETCH(&c->w.slots[(size_t)c->thash[i] & wmask]);
    }
    uint32_t prev = NO_WORD;
    for (size_t i = 0; i < c->ntok; i++) {
        if (c->tlen[i] == TOK_BREAK) {
            prev = NO_WORD;
            continue;
        }
        uint32_t id = word_intern(&c->w, (const char *)c->tb + c->toff[i], c->tlen[i], c->thash[i]);
        if (id == UINT32_MAX) return 0;
        int stop = id < N_STOP;
        if (!stop && !key_push(c, (uint64_t)id + 1)) return 0;
        if (c->max_n >= 2 && prev != NO_WORD && !(stop && prev < N_STOP))
            if (!key_push(c, ((uint64_t)prev + 1) << 32 | ((uint64_t)id + 1))) return 0;
        prev = id;
    }
    return keys_commit(c, in_a);
}

/* An empty counter whose first N_STOP word ids are the stop words. */
static int counter_init(counter *c, int max_n)
{
    memset(c, 0, sizeof *c);
    c->max_n = max_n;
    c->w.nslots = 1 << 12;
    c->g.nslots = 1 << 14;
    c->w.slots = calloc(c->w.nslots, sizeof *c->w.slots);
    c->g.slots = calloc(c->g.nslots, sizeof *c->g.slots);
    if (!c->w.slots || !c->g.slots) return 0;
    for (size_t i = 0; i < N_STOP; i++)
        if (word_intern(&c->w, stop_words[i], strlen(stop_words[i]),
                        hash_bytes(stop_words[i], strlen(stop_words[i]))) != i)
            return 0;
    return 1;
}

/* Adds src's counts to dst's: src's words interned in dst, each gram's key
 * spelled in dst's ids. */
static int counter_merge(counter *dst, const counter *src)
{
    uint32_t *id = malloc((src->w.count ? src->w.count : 1) * sizeof *id); /* src id -> dst id */
    if (!id) return 0;
    for (size_t w = 0; w < src->w.count; w++) {
        const char *bytes = src->w.bytes + src->w.off[w];
        id[w] = word_intern(&dst->w, bytes, src->w.len[w], hash_bytes(bytes, src->w.len[w]));
        if (id[w] == UINT32_MAX) {
            free(id);
            return 0;
        }
    }
    gram_table *t = &dst->g;
    for (size_t i = 0; i < src->g.nslots; i++) {
        const gram_slot *g = &src->g.slots[i];
        if (!g->key) continue;
        const uint32_t hi = (uint32_t)(g->key >> 32), lo = (uint32_t)g->key;
        const uint64_t key = (hi ? ((uint64_t)id[hi - 1] + 1) << 32 : 0) | ((uint64_t)id[lo - 1] + 1);
        if ((t->count + 1) * 10 > t->nslots * 7 && !gram_table_grow(t)) {
            free(id);
            return 0;
        }
        const size_t mask = t->nslots - 1;
        size_t at = (size_t)mix64(key) & mask;
        while (t->slots[at].key && t->slots[at].key != key) at = (at + 1) & mask;
        gram_slot *d = &t->slots[at];
        if (!d->key) {
            d->key = key;
            t->count++;
        }
        d->df_a += g->df_a;
        d->df_b += g->df_b;
    }
    free(id);
    return 1;
}

/* One worker's share of the texts: A's [a_lo, a_hi) and B's [b_lo, b_hi),
 * counted into a counter of its own. */
typedef struct count_part {
    counter c;
    int max_n, ok;
    const char *const *a, *const *b;
    const size_t *a_lens, *b_lens;
    size_t a_lo, a_hi, b_lo, b_hi;
} count_part;

static void *count_part_run(void *arg)
{
    count_part *p = arg;
    p->ok = counter_init(&p->c, p->max_n);
    for (size_t i = p->a_lo; p->ok && i < p->a_hi; i++)
        p->ok = count_text(&p->c, p->a[i], p->a_lens ? p->a_lens[i] : strlen(p->a[i]), 1);
    for (size_t i = p->b_lo; p->ok && i < p->b_hi; i++)
        p->ok = count_text(&p->c, p->b[i], p->b_lens ? p->b_lens[i] : strlen(p->b[i]), 0);
    return NULL;
}

/* Texts a counting worker takes at least: below, threads cost more than
 * they save. */
#define COUNT_MIN_TEXTS 20000

/* Counts every text of A and of B into *c: the texts split among workers,
 * each counting its share, then the workers' counts merged into the first's
 * (sums: the same counts on any number of workers). */
static int count_all(counter *c, int max_n, int n_threads, const char *const *a,
                     const size_t *a_lens, size_t n_a, const char *const *b,
                     const size_t *b_lens, size_t n_b)
{
    memset(c, 0, sizeof *c);
    size_t workers = (size_t)hr_workers(n_threads);
    if (workers > (n_a + n_b) / COUNT_MIN_TEXTS) workers = (n_a + n_b) / COUNT_MIN_TEXTS;
    if (workers < 1) workers = 1;
    count_part *parts = calloc(workers, sizeof *parts);
    if (!parts) return 0;
    for (size_t t = 0; t < workers; t++)
        parts[t] = (count_part){.max_n = max_n, .a = a, .b = b, .a_lens = a_lens, .b_lens = b_lens,
                                .a_lo = n_a * t / workers, .a_hi = n_a * (t + 1) / workers,
                                .b_lo = n_b * t / workers, .b_hi = n_b * (t + 1) / workers};
    hr_run_workers(count_part_run, parts, sizeof *parts, (int)workers);
    int ok = 1;
    for (size_t t = 0; t < workers; t++) ok = ok && parts[t].ok;
    for (size_t t = 1; ok && t < workers; t++) ok = counter_merge(&parts[0].c, &parts[t].c);
    for (size_t t = 1; t < workers; t++) counter_free(&parts[t].c);
    *c = parts[0].c;
    free(parts);
    return ok;
}

/* ------------------------------------------------------------------------ */
/* N-gram contrast: statistics and results                                   */

hr_ngram_options hr_ngram_default_options(void)
{
    hr_ngram_options o;
    o.max_n = 2;
    o.alpha0 = 0.0; /* n_a + n_b */
    o.min_count = 5;
    o.top_k = 25;
    o.min_z = 1.96;
    o.n_threads = 0;
    return o;
}

/* Monroe et al.'s z for one n-gram (proposers.h). The order of operations is
 * the one tests/fixtures/gen-ngram-fixture.py uses. */
static void ngram_z(double df_a, double df_b, double n_a, double n_b, double alpha0,
                    hr_ngram_stat *s)
{
    double aw = alpha0 * ((df_a + df_b) / (n_a + n_b)); /* prior pseudo-count a_w */
    double va = df_a + aw, vb = df_b + aw;
    s->var = 1.0 / va + 1.0 / vb;
    if (df_a == n_a && df_b == n_b) {
        s->delta = 0.0; /* in every text: the odds are infinite on both sides */
        s->z = 0.0;
        return;
    }
    double la = log(va / ((n_a - df_a) + (alpha0 - aw)));
    double lb = log(vb / ((n_b - df_b) + (alpha0 - aw)));
    s->delta = la - lb;
    s->z = s->delta / sqrt(s->var);
}

static int stat_cmp(const void *x, const void *y)
{
    const hr_ngram_stat *a = x, *b = y;
    if (a->z > b->z) return -1;
    if (a->z < b->z) return 1;
    return strcmp(a->gram, b->gram);
}

void hr_ngram_table_destroy(hr_ngram_table *t)
{
    if (!t) return;
    free(t->stats);
    free(t->arena_);
    free(t);
}

static hr_status check_texts(const char *const *texts, size_t n, const char *side, char *err,
                             size_t errlen)
{
    if (n == 0) return hr_fail(HR_ERR_INPUT, err, errlen, "corpus %s is empty", side);
    if (!texts) return hr_fail(HR_ERR_INPUT, err, errlen, "corpus %s: texts is NULL", side);
    for (size_t i = 0; i < n; i++)
        if (!texts[i])
            return hr_fail(HR_ERR_INPUT, err, errlen, "corpus %s: text %zu is NULL", side, i + 1);
    return HR_OK;
}

hr_status hr_ngram_contrast(const char *const *a, const size_t *a_lens, size_t n_a,
                            const char *const *b, const size_t *b_lens, size_t n_b,
                            const hr_ngram_options *opt, hr_ngram_table **out, char *err,
                            size_t errlen)
{
    if (!out) return hr_fail(HR_ERR_INTERNAL, err, errlen, "hr_ngram_contrast: out is NULL");
    *out = NULL;
    hr_ngram_options o = opt ? *opt : hr_ngram_default_options();
    hr_status st;
    if ((st = check_texts(a, n_a, "A", err, errlen)) != HR_OK) return st;
    if ((st = check_texts(b, n_b, "B", err, errlen)) != HR_OK) return st;
    if (n_a >= UINT32_MAX - 1 || n_b >= UINT32_MAX - 1 || n_a + n_b >= UINT32_MAX - 1)
        return hr_fail(HR_ERR_INPUT, err, errlen, "too many texts (%zu + %zu; at most %lu)", n_a,
                       n_b, (unsigned long)(UINT32_MAX - 2));
    if (o.max_n != 1 && o.max_n != 2)
        return hr_fail(HR_ERR_INPUT, err, errlen, "n-gram length must be 1 or 2, not %d",
                       o.max_n);
    if (!(o.alpha0 >= 0.0) || !isfinite(o.alpha0))
        return hr_fail(HR_ERR_INPUT, err, errlen, "prior strength alpha0 must be >= 0, not %g",
                       o.alpha0);
    if (o.alpha0 == 0.0) o.alpha0 = (double)n_a + (double)n_b;
    if (!(o.min_z >= 0.0) || !isfinite(o.min_z))
        return hr_fail(HR_ERR_INPUT, err, errlen, "min_z must be >= 0, not %g", o.min_z);
    if (o.min_count == 0) o.min_count = 1;

    counter c;
    if (!count_all(&c, o.max_n, o.n_threads, a, a_lens, n_a, b, b_lens, n_b)) goto nomem;

    /* The n-grams that pass min_count, and the bytes of their strings. */
    size_t m = 0, bytes = 0;
    for (size_t i = 0; i < c.g.nslots; i++) {
        const gram_slot *g = &c.g.slots[i];
        if (!g->key || (size_t)g->df_a + g->df_b < o.min_count) continue;
        m++;
        uint32_t hi = (uint32_t)(g->key >> 32), lo = (uint32_t)g->key;
        bytes += c.w.len[lo - 1] + 1 + (hi ? c.w.len[hi - 1] + 1 : 0);
    }

    hr_ngram_table *t = calloc(1, sizeof *t);
    if (!t) goto nomem;
    t->stats = malloc((m ? m : 1) * sizeof *t->stats);      /* (m) */
    char *arena = malloc(bytes ? bytes : 1);                  /* (bytes) grams, NUL after each */
    t->arena_ = arena;
    if (!t->stats || !arena) {
        hr_ngram_table_destroy(t);
        goto nomem;
    }
    t->n = m;
    t->n_a = n_a;
    t->n_b = n_b;
    t->vocabulary = c.g.count;
    t->alpha0 = o.alpha0;
    size_t k = 0, pos = 0;
    for (size_t i = 0; i < c.g.nslots; i++) {
        const gram_slot *g = &c.g.slots[i];
        if (!g->key || (size_t)g->df_a + g->df_b < o.min_count) continue;
        hr_ngram_stat *s = &t->stats[k++];
        uint32_t hi = (uint32_t)(g->key >> 32), lo = (uint32_t)g->key;
        s->gram = arena + pos;
        if (hi) {
            memcpy(arena + pos, c.w.bytes + c.w.off[hi - 1], c.w.len[hi - 1]);
            pos += c.w.len[hi - 1];
            arena[pos++] = ' ';
        }
        memcpy(arena + pos, c.w.bytes + c.w.off[lo - 1], c.w.len[lo - 1]);
        pos += c.w.len[lo - 1];
        arena[pos++] = '\0';
        s->n = hi ? 2 : 1;
        s->df_a = g->df_a;
        s->df_b = g->df_b;
        ngram_z((double)g->df_a, (double)g->df_b, (double)n_a, (double)n_b, o.alpha0, s);
    }
    counter_free(&c);
    if (m > 1) qsort(t->stats, m, sizeof *t->stats, stat_cmp);
    *out = t;
    return HR_OK;

nomem:
    counter_free(&c);
    return hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory counting n-grams");
}

/* ------------------------------------------------------------------------ */
/* Document counts of given n-grams                                          */

/* The grams looked for: their words in a word table (ids), each gram as its
 * ids, and an open-addressing map from a gram's ids to the first gram with
 * those ids. */
typedef struct gram_index {
    word_table w;
    uint32_t *ids;     /* (k, HR_GRAM_WORDS_MAX) each gram's word ids */
    uint8_t *words;    /* (k) its number of words */
    uint64_t *hash;    /* (nslots) gram_hash of the slot's gram; 0: empty */
    size_t *at;        /* (nslots) the slot's gram */
    size_t nslots;     /* a power of 2, at most half full */
    size_t *rep;       /* (k) the first gram with the same ids (itself, mostly) */
    unsigned lengths;  /* bit L - 1: some gram has L words */
} gram_index;

#define UNKNOWN_WORD (UINT32_MAX - 1) /* a token that is in no gram looked for */

/* The id of word s[0..n) (hash h) in t, or UNKNOWN_WORD. */
static uint32_t word_find(const word_table *t, const char *s, size_t n, uint64_t h)
{
    const size_t i = word_slot_at(t, s, n, h);
    return t->slots[i].hash ? t->slots[i].id : UNKNOWN_WORD;
}

/* A hash of the word ids ids[0..n), never 0. */
static uint64_t gram_hash(const uint32_t *ids, size_t n)
{
    uint64_t h = mix64(0x9e3779b97f4a7c15ull + n);
    for (size_t t = 0; t < n; t++) h = mix64(h ^ ((uint64_t)ids[t] + 1));
    return h ? h : 1;
}

/* The gram with ids[0..n) (hash h), or SIZE_MAX; *slot: where it is, or
 * the empty slot it would take. */
static size_t gram_find(const gram_index *gi, const uint32_t *ids, size_t n, uint64_t h,
                        size_t *slot)
{
    const size_t mask = gi->nslots - 1;
    size_t s = (size_t)h & mask;
    for (; gi->hash[s]; s = (s + 1) & mask) {
        const size_t g = gi->at[s];
        if (gi->hash[s] == h && gi->words[g] == n &&
            memcmp(gi->ids + g * HR_GRAM_WORDS_MAX, ids, n * sizeof *ids) == 0)
            break;
    }
    *slot = s;
    return gi->hash[s] ? gi->at[s] : SIZE_MAX;
}

static void gram_index_free(gram_index *gi)
{
    free(gi->w.slots), free(gi->w.off), free(gi->w.len), free(gi->w.bytes);
    free(gi->ids), free(gi->words), free(gi->hash), free(gi->at), free(gi->rep);
}

/* 1 when the text tokenise cut last into c is a gram: 1 to
 * HR_GRAM_WORDS_MAX tokens, none dropped for its length. */
static int cut_is_gram(const counter *c)
{
    if (c->ntok < 1 || c->ntok > HR_GRAM_WORDS_MAX) return 0;
    for (size_t t = 0; t < c->ntok; t++)
        if (c->tlen[t] == TOK_BREAK) return 0;
    return 1;
}

/* Builds gi from grams: (k), each cut into words by tokenise (c: its
 * buffers). *bad: the first that is not a gram (k when all are). 0 when
 * out of memory. */
static int gram_index_build(gram_index *gi, counter *c, const char *const *grams, size_t k,
                            size_t *bad)
{
    memset(gi, 0, sizeof *gi);
    *bad = k;
    gi->w.nslots = 1 << 8;
    gi->nslots = 16;
    while (gi->nslots < 2 * k) gi->nslots *= 2;
    gi->w.slots = calloc(gi->w.nslots, sizeof *gi->w.slots);
    gi->ids = malloc(k * HR_GRAM_WORDS_MAX * sizeof *gi->ids);
    gi->words = malloc(k);
    gi->hash = calloc(gi->nslots, sizeof *gi->hash);
    gi->at = calloc(gi->nslots, sizeof *gi->at);
    gi->rep = malloc(k * sizeof *gi->rep);
    if (!gi->w.slots || !gi->ids || !gi->words || !gi->hash || !gi->at || !gi->rep) return 0;
    for (size_t g = 0; g < k; g++) {
        if (!grams[g]) {
            *bad = g;
            return 1;
        }
        if (!tokenise(c, (const unsigned char *)grams[g], strlen(grams[g]))) return 0;
        if (!cut_is_gram(c)) {
            *bad = g;
            return 1;
        }
        uint32_t *ids = gi->ids + g * HR_GRAM_WORDS_MAX;
        for (size_t t = 0; t < c->ntok; t++) {
            const char *w = (const char *)c->tb + c->toff[t];
            ids[t] = word_intern(&gi->w, w, c->tlen[t], hash_bytes(w, c->tlen[t]));
            if (ids[t] == UINT32_MAX) return 0;
        }
        gi->words[g] = (uint8_t)c->ntok;
        gi->lengths |= 1u << (c->ntok - 1);
        const uint64_t h = gram_hash(ids, c->ntok);
        size_t slot;
        const size_t same = gram_find(gi, ids, c->ntok, h, &slot);
        if (same == SIZE_MAX) gi->hash[slot] = h, gi->at[slot] = g;
        gi->rep[g] = same == SIZE_MAX ? g : same;
    }
    return 1;
}

/* One worker's texts [lo, hi): df (k) of the grams, each text counted once. */
typedef struct mention_part {
    const gram_index *gi;
    const char *const *texts;
    const size_t *lens;
    size_t lo, hi, k;
    size_t *df;    /* (k), by first gram: a repeated gram reads its first's */
    size_t *last;  /* (k) 1 + the last text counted for the gram; 0: none */
    uint32_t *ids; /* (ids_cap) the text's word ids, UNKNOWN_WORD, or NO_WORD at a break */
    size_t ids_cap;
    counter c;     /* tokenise's buffers */
    int ok;
} mention_part;

/* Counts text i for each gram whose words end at its token j (ids[0..j]);
 * known: the text's known words that end at j, in a row. */
static void note_grams_ending(mention_part *p, size_t i, size_t j, size_t known)
{
    const gram_index *gi = p->gi;
    for (size_t n = 1; n <= known && n <= HR_GRAM_WORDS_MAX; n++) {
        if (!(gi->lengths >> (n - 1) & 1u)) continue;
        const uint32_t *w = p->ids + j + 1 - n;
        size_t slot;
        const size_t g = gram_find(gi, w, n, gram_hash(w, n), &slot);
        if (g == SIZE_MAX || p->last[g] == i + 1) continue;
        p->last[g] = i + 1;
        p->df[g]++;
    }
}

static void *mention_part_run(void *arg)
{
    mention_part *p = arg;
    for (size_t i = p->lo; p->ok && i < p->hi; i++) {
        const char *t = p->texts[i];
        if (!tokenise(&p->c, (const unsigned char *)t, p->lens ? p->lens[i] : strlen(t))) {
            p->ok = 0;
            break;
        }
        if (p->c.ntok > p->ids_cap) {
            uint32_t *ids = realloc(p->ids, p->c.ntok * sizeof *ids);
            if (!ids) {
                p->ok = 0;
                break;
            }
            p->ids = ids, p->ids_cap = p->c.ntok;
        }
        size_t known = 0; /* words in a row, as count_text pairs them: a break ends a row */
        for (size_t j = 0; j < p->c.ntok; j++) {
            if (p->c.tlen[j] == TOK_BREAK) {
                p->ids[j] = NO_WORD, known = 0;
                continue;
            }
            const char *w = (const char *)p->c.tb + p->c.toff[j];
            p->ids[j] = word_find(&p->gi->w, w, p->c.tlen[j], hash_bytes(w, p->c.tlen[j]));
            known = p->ids[j] == UNKNOWN_WORD ? 0 : known + 1;
            if (known) note_grams_ending(p, i, j, known);
        }
    }
    return NULL;
}

int hr_ngram_is_gram(const char *s, size_t len)
{
    counter c;
    memset(&c, 0, sizeof c);
    const int ok = s && tokenise(&c, (const unsigned char *)s, len) && cut_is_gram(&c);
    counter_free(&c);
    return ok;
}

const char *hr_mention_words(const char *text, size_t len, size_t *words_len)
{
    static const char head[] = "mentions \"";
    const size_t h = sizeof head - 1;
    if (!text || len < h + 2 || memcmp(text, head, h) != 0 || text[len - 1] != '"' ||
        memchr(text + h, '"', len - h - 1) || !hr_ngram_is_gram(text + h, len - h - 1))
        return NULL;
    *words_len = len - h - 1;
    return text + h;
}

hr_status hr_ngram_document_counts(const char *const *texts, const size_t *lens, size_t n,
                                   const char *const *grams, size_t k, int n_threads,
                                   size_t *df, char *err, size_t errlen)
{
    if ((n && !texts) || (k && (!grams || !df)))
        return hr_fail(HR_ERR_INTERNAL, err, errlen, "hr_ngram_document_counts: bad arguments");
    for (size_t i = 0; i < n; i++)
        if (!texts[i]) return hr_fail(HR_ERR_INPUT, err, errlen, "text %zu is NULL", i + 1);
    for (size_t g = 0; g < k; g++) df[g] = 0; /* no texts: no text holds it */
    if (k == 0) return HR_OK;
    counter c;
    memset(&c, 0, sizeof c);
    gram_index gi;
    size_t bad;
    const int built = gram_index_build(&gi, &c, grams, k, &bad);
    counter_free(&c);
    if (!built) {
        gram_index_free(&gi);
        return hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory counting n-grams");
    }
    if (bad < k) {
        gram_index_free(&gi);
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "n-gram %zu (counting from 0) is not 1 to %d words: \"%s\"", bad,
                       HR_GRAM_WORDS_MAX, grams[bad] ? grams[bad] : "(null)");
    }
    if (n == 0) {
        gram_index_free(&gi);
        return HR_OK;
    }
    size_t workers = (size_t)hr_workers(n_threads);
    if (workers > n / COUNT_MIN_TEXTS) workers = n / COUNT_MIN_TEXTS;
    if (workers < 1) workers = 1;
    mention_part *parts = calloc(workers, sizeof *parts);
    int ok = parts != NULL;
    for (size_t t = 0; ok && t < workers; t++) {
        parts[t] = (mention_part){.gi = &gi, .texts = texts, .lens = lens, .lo = n * t / workers,
                                  .hi = n * (t + 1) / workers, .k = k, .ok = 1,
                                  .df = calloc(k, sizeof(size_t)),
                                  .last = calloc(k, sizeof(size_t))};
        ok = parts[t].df && parts[t].last;
    }
    if (ok) hr_run_workers(mention_part_run, parts, sizeof *parts, (int)workers);
    for (size_t t = 0; ok && t < workers; t++) ok = parts[t].ok;
    if (ok) {
        for (size_t g = 0; g < k; g++) df[g] = 0;
        for (size_t t = 0; t < workers; t++)
            for (size_t g = 0; g < k; g++) df[g] += parts[t].df[g];
        for (size_t g = 0; g < k; g++) df[g] = df[gi.rep[g]]; /* a repeat: its first's */
    }
    for (size_t t = 0; parts && t < workers; t++) {
        free(parts[t].df), free(parts[t].last), free(parts[t].ids);
        counter_free(&parts[t].c);
    }
    free(parts);
    gram_index_free(&gi);
    if (!ok) return hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory counting n-grams");
    return HR_OK;
}

hr_status hr_pool_add_mention(hr_hypothesis_pool *pool, const char *gram, const char *note,
                              char direction, double z, int *added, char *err, size_t errlen)
{
    if (added) *added = 0;
    if (!gram) return hr_fail(HR_ERR_INTERNAL, err, errlen, "hr_pool_add_mention: gram is NULL");
    const size_t cap = strlen(gram) + 16;
    char *text = malloc(cap);
    if (!text) return hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory adding n-grams");
    const int tl = snprintf(text, cap, "mentions \"%s\"", gram);
    hr_status st = pool_add(pool, text, (size_t)tl, HR_SOURCE_NGRAM, note, direction, z, added,
                            err, errlen);
    free(text);
    return st;
}

/* Adds stats[i] to the pool as `mentions "w"`. */
static hr_status add_gram(hr_hypothesis_pool *pool, const hr_ngram_table *t, size_t i,
                          size_t *added, char *err, size_t errlen)
{
    const hr_ngram_stat *s = &t->stats[i];
    const size_t cap = strlen(s->gram) + 128;
    char *note = malloc(cap);
    if (!note) return hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory adding n-grams");
    snprintf(note, cap, "ngram \"%s\" z=%+.2f A:%zu/%zu B:%zu/%zu", s->gram, s->z, s->df_a,
             t->n_a, s->df_b, t->n_b);
    int was_added = 0;
    hr_status st = hr_pool_add_mention(pool, s->gram, note, s->z > 0 ? 'A' : 'B', s->z,
                                       &was_added, err, errlen);
    free(note);
    *added += (size_t)was_added;
    return st;
}

hr_status hr_pool_add_ngrams(hr_hypothesis_pool *pool, const char *const *a,
                             const size_t *a_lens, size_t n_a, const char *const *b,
                             const size_t *b_lens, size_t n_b, const hr_ngram_options *opt,
                             size_t *added, char *err, size_t errlen)
{
    if (added) *added = 0;
    if (!pool) return hr_fail(HR_ERR_INTERNAL, err, errlen, "hr_pool_add_ngrams: pool is NULL");
    hr_ngram_options o = opt ? *opt : hr_ngram_default_options();
    hr_ngram_table *t;
    hr_status st = hr_ngram_contrast(a, a_lens, n_a, b, b_lens, n_b, &o, &t, err, errlen);
    if (st != HR_OK) return st;
    size_t count = 0;
    /* A: from the front (z descending, ties by gram ascending). */
    for (size_t i = 0; st == HR_OK && i < t->n && i < o.top_k; i++) {
        if (!(t->stats[i].z >= o.min_z && t->stats[i].z > 0)) break;
        st = add_gram(pool, t, i, &count, err, errlen);
    }
    /* B: from the back, one block of equal z at a time, each block walked
     * forward so that ties keep ascending gram order. */
    size_t taken = 0, end = t->n;
    while (st == HR_OK && end > 0 && taken < o.top_k) {
        double z = t->stats[end - 1].z;
        if (!(-z >= o.min_z && z < 0)) break;
        size_t start = end - 1;
        while (start > 0 && t->stats[start - 1].z == z) start--;
        for (size_t i = start; st == HR_OK && i < end && taken < o.top_k; i++, taken++)
            st = add_gram(pool, t, i, &count, err, errlen);
        end = start;
    }
    hr_ngram_table_destroy(t);
    if (added) *added = count;
    return st;
}
