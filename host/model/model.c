/*
 * host/model/model.c: loading a sentence-transformers BERT model folder (see
 * hyporank/model.h for the files and model_internal.h for the result).
 *
 * Order of work: the JSON configs (each value range-checked), the tokenizer,
 * then the weights: the safetensors header is checked whole by hr_st_open,
 * every weight is copied out as float32 into one aligned allocation (Q, K and
 * V stacked into one (3H, H) matrix per layer), and the identity hash is taken
 * over the weight file, the vocabulary and the settings that change an
 * embedding.
 */
#define _XOPEN_SOURCE 700 /* realpath */

#include "hyporank/model.h"
#include "hyporank/hash.h"
#include "hyporank/tokenizer.h"
#include "model/model_internal.h"
#include "io/safetensors.h"
#include "core/util.h"

#include <cjson/cJSON.h>

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FETCH_HINT                                                                              \
    "run scripts/fetch-model.sh to lay out all-MiniLM-L6-v2, or point --model (HYPORANK_MODEL) " \
    "at a sentence-transformers model folder"

/* Config files are small; anything bigger is not a config. */
#define MAX_CONFIG_BYTES ((size_t)16 << 20)
#define MAX_VOCAB_BYTES ((size_t)256 << 20)

/* Every weight buffer starts on a 64-byte boundary (16 floats). */
#define WEIGHT_ALIGN_FLOATS 16

/* ---- files and JSON ---------------------------------------------------- */

static char *path_join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    while (la > 1 && a[la - 1] == '/') la--;
    char *p = malloc(la + 1 + lb + 1);
    if (!p) return NULL;
    memcpy(p, a, la);
    p[la] = '/';
    memcpy(p + la + 1, b, lb + 1);
    return p;
}

/* Reads the whole file at path into *buf (NUL-terminated, *len bytes before
 * the NUL). A missing file is HR_ERR_MODEL, or, when *missing is not NULL,
 * HR_OK with *missing = 1 and *buf = NULL. */
static hr_status read_file(const char *path, size_t max, char **buf, size_t *len, int *missing,
                           char *err, size_t errlen)
{
    *buf = NULL;
    *len = 0;
    if (missing) *missing = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        if (errno == ENOENT) {
            if (missing) {
                *missing = 1;
                return HR_OK;
            }
            return hr_fail(HR_ERR_MODEL, err, errlen, "%s: not found; " FETCH_HINT, path);
        }
        return hr_fail(HR_ERR_IO, err, errlen, "%s: cannot open: %s", path, strerror(errno));
    }
    /* b: (cap + 1) bytes; read until EOF, at most max + 1 bytes so that a
     * file longer than max is noticed without reading all of it. */
    size_t cap = 4096, n = 0;
    char *b = malloc(cap + 1);
    if (!b) {
        fclose(fp);
        return hr_fail(HR_ERR_NOMEM, err, errlen, "%s: out of memory", path);
    }
    for (;;) {
        if (n == cap) {
            if (cap > max) break;
            size_t ncap = cap > max / 2 ? max + 1 : cap * 2;
            char *nb = realloc(b, ncap + 1);
            if (!nb) {
                free(b);
                fclose(fp);
                return hr_fail(HR_ERR_NOMEM, err, errlen, "%s: out of memory", path);
            }
            b = nb;
            cap = ncap;
        }
        size_t got = fread(b + n, 1, cap - n, fp);
        n += got;
        if (got == 0) break;
    }
    int bad = ferror(fp);
    int saved = errno;
    fclose(fp);
    if (bad) {
        free(b);
        return hr_fail(HR_ERR_IO, err, errlen, "%s: cannot read: %s", path, strerror(saved));
    }
    if (n > max) {
        free(b);
        return hr_fail(HR_ERR_MODEL, err, errlen, "%s: larger than %zu bytes", path, max);
    }
    b[n] = '\0';
    *buf = b;
    *len = n;
    return HR_OK;
}

/* Parses the JSON file dir/rel into *out. When optional, a missing file leaves
 * *out NULL. *path_out (malloc'd, for messages) is set either way. */
static hr_status load_json(const char *dir, const char *rel, int optional, cJSON **out,
                           char **path_out, char *err, size_t errlen)
{
    *out = NULL;
    *path_out = path_join(dir, rel);
    if (!*path_out) return hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory");
    const char *path = *path_out;
    char *text;
    size_t len;
    int missing = 0;
    hr_status st = read_file(path, MAX_CONFIG_BYTES, &text, &len, optional ? &missing : NULL, err,
                             errlen);
    if (st || missing) return st;
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!j) {
        const char *at = cJSON_GetErrorPtr();
        long pos = (at && at >= text && at <= text + len) ? (long)(at - text) : -1;
        free(text);
        return hr_fail(HR_ERR_MODEL, err, errlen, "%s: not valid JSON (near byte %ld)", path, pos);
    }
    for (const char *p = end; p < text + len; p++) {
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            free(text);
            cJSON_Delete(j);
            return hr_fail(HR_ERR_MODEL, err, errlen, "%s: trailing bytes after the JSON value",
                           path);
        }
    }
    free(text);
    *out = j;
    return HR_OK;
}

/* An integer field in [lo, hi]. Absent or null: def when not required. */
static hr_status get_int(const cJSON *o, const char *key, const char *path, int required, int def,
                         int lo, int hi, int *out, char *err, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v)) {
        if (required) return hr_fail(HR_ERR_MODEL, err, errlen, "%s: no \"%s\"", path, key);
        *out = def;
        return HR_OK;
    }
    double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    if (!(d >= lo && d <= hi) || d != floor(d))
        return hr_fail(HR_ERR_MODEL, err, errlen, "%s: \"%s\" must be an integer in [%d, %d]",
                       path, key, lo, hi);
    *out = (int)d;
    return HR_OK;
}

/* A boolean field; absent or null gives def. */
static hr_status get_bool(const cJSON *o, const char *key, const char *path, int def, int *out,
                          char *err, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v)) {
        *out = def;
        return HR_OK;
    }
    if (!cJSON_IsBool(v))
        return hr_fail(HR_ERR_MODEL, err, errlen, "%s: \"%s\" must be true or false", path, key);
    *out = cJSON_IsTrue(v) ? 1 : 0;
    return HR_OK;
}

/* A string field (NULL when absent or null); not a string is an error. */
static hr_status get_str(const cJSON *o, const char *key, const char *path, const char **out,
                         char *err, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    *out = NULL;
    if (!v || cJSON_IsNull(v)) return HR_OK;
    if (!cJSON_IsString(v) || !v->valuestring)
        return hr_fail(HR_ERR_MODEL, err, errlen, "%s: \"%s\" must be a string", path, key);
    *out = v->valuestring;
    return HR_OK;
}

/* ---- the configs -------------------------------------------------------- */

static hr_status parse_config(hr_model *m, const char *dir, char *err, size_t errlen)
{
    cJSON *j;
    char *path;
    hr_status st = load_json(dir, "config.json", 0, &j, &path, err, errlen);
    if (st) goto done;
    if (!cJSON_IsObject(j)) {
        st = hr_fail(HR_ERR_MODEL, err, errlen, "%s: not a JSON object", path);
        goto done;
    }
    const char *s;
    if ((st = get_str(j, "model_type", path, &s, err, errlen))) goto done;
    if (!s || strcmp(s, "bert") != 0) {
        st = hr_fail(HR_ERR_MODEL, err, errlen,
                     "%s: model_type is %s%s%s; only BERT models (\"bert\") are supported", path,
                     s ? "\"" : "", s ? s : "missing", s ? "\"" : "");
        goto done;
    }
    if ((st = get_str(j, "hidden_act", path, &s, err, errlen))) goto done;
    if (s && strcmp(s, "gelu") != 0) {
        st = hr_fail(HR_ERR_MODEL, err, errlen,
                     "%s: hidden_act \"%s\" is not supported (only \"gelu\", the erf form)", path,
                     s);
        goto done;
    }
    if ((st = get_str(j, "position_embedding_type", path, &s, err, errlen))) goto done;
    if (s && strcmp(s, "absolute") != 0) {
        st = hr_fail(HR_ERR_MODEL, err, errlen,
                     "%s: position_embedding_type \"%s\" is not supported (only \"absolute\")",
                     path, s);
        goto done;
    }
    if ((st = get_int(j, "vocab_size", path, 1, 0, 1, 1 << 24, &m->vocab_size, err, errlen)) ||
        (st = get_int(j, "hidden_size", path, 1, 0, 1, 1 << 16, &m->hidden, err, errlen)) ||
        (st = get_int(j, "num_hidden_layers", path, 1, 0, 1, 1024, &m->n_layers, err, errlen)) ||
        (st = get_int(j, "num_attention_heads", path, 1, 0, 1, 1 << 16, &m->n_heads, err,
                      errlen)) ||
        (st = get_int(j, "intermediate_size", path, 1, 0, 1, 1 << 20, &m->intermediate, err,
                      errlen)) ||
        (st = get_int(j, "max_position_embeddings", path, 1, 0, 2, 1 << 20, &m->max_position,
                      err, errlen)) ||
        (st = get_int(j, "type_vocab_size", path, 0, 2, 1, 1 << 16, &m->type_vocab, err,
                      errlen)))
        goto done;
    if (m->hidden % m->n_heads != 0) {
        st = hr_fail(HR_ERR_MODEL, err, errlen,
                     "%s: hidden_size %d is not a multiple of num_attention_heads %d", path,
                     m->hidden, m->n_heads);
        goto done;
    }
    const cJSON *eps = cJSON_GetObjectItemCaseSensitive(j, "layer_norm_eps");
    if (!eps || cJSON_IsNull(eps)) {
        m->ln_eps = 1e-12f; /* BertConfig's default */
    } else if (!cJSON_IsNumber(eps) || !(eps->valuedouble > 0.0 && eps->valuedouble < 1.0)) {
        st = hr_fail(HR_ERR_MODEL, err, errlen, "%s: \"layer_norm_eps\" must be a number in (0, 1)",
                     path);
        goto done;
    } else {
        m->ln_eps = (float)eps->valuedouble;
    }
done:
    cJSON_Delete(j);
    free(path);
    return st;
}

static const char *const ST_TRANSFORMER = "sentence_transformers.models.Transformer";
static const char *const ST_POOLING = "sentence_transformers.models.Pooling";
static const char *const ST_NORMALIZE = "sentence_transformers.models.Normalize";

/* modules.json: sets m->normalize and *pool_dir (malloc'd: the Pooling
 * module's folder, "1_Pooling" when modules.json names none). Any module
 * other than Transformer, Pooling and Normalize would change the embedding in
 * a way this encoder does not compute, so it is refused. */
static hr_status parse_modules(hr_model *m, const char *dir, char **pool_dir, char *err,
                               size_t errlen)
{
    cJSON *j;
    char *path;
    const char *pool = "1_Pooling";
    *pool_dir = NULL;
    hr_status st = load_json(dir, "modules.json", 0, &j, &path, err, errlen);
    if (st) goto done;
    if (!cJSON_IsArray(j)) {
        st = hr_fail(HR_ERR_MODEL, err, errlen, "%s: not a JSON array of modules", path);
        goto done;
    }
    m->normalize = 0;
    int k = 0;
    for (const cJSON *e = j->child; e; e = e->next, k++) {
        const char *type = NULL, *mpath = NULL;
        if (!cJSON_IsObject(e)) {
            st = hr_fail(HR_ERR_MODEL, err, errlen, "%s: module %d is not an object", path, k);
            goto done;
        }
        if ((st = get_str(e, "type", path, &type, err, errlen)) ||
            (st = get_str(e, "path", path, &mpath, err, errlen)))
            goto done;
        if (!type) {
            st = hr_fail(HR_ERR_MODEL, err, errlen, "%s: module %d has no \"type\"", path, k);
            goto done;
        }
        if (strcmp(type, ST_NORMALIZE) == 0) {
            m->normalize = 1;
        } else if (strcmp(type, ST_POOLING) == 0) {
            if (mpath && *mpath) {
                /* A folder inside the model folder: relative, no "..". */
                if (mpath[0] == '/' || strstr(mpath, "..") || strlen(mpath) > 255) {
                    st = hr_fail(HR_ERR_MODEL, err, errlen,
                                 "%s: Pooling module path \"%s\" leaves the model folder", path,
                                 mpath);
                    goto done;
                }
                pool = mpath;
            }
        } else if (strcmp(type, ST_TRANSFORMER) == 0) {
            if (mpath && *mpath) {
                st = hr_fail(HR_ERR_MODEL, err, errlen,
                             "%s: the Transformer module lives in \"%s\"; only a model whose "
                             "weights are in the folder itself is supported",
                             path, mpath);
                goto done;
            }
        } else {
            st = hr_fail(HR_ERR_MODEL, err, errlen,
                         "%s: module type \"%s\" is not supported (only Transformer, Pooling and "
                         "Normalize)",
                         path, type);
            goto done;
        }
    }
    *pool_dir = malloc(strlen(pool) + 1);
    if (!*pool_dir) {
        st = hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory");
        goto done;
    }
    memcpy(*pool_dir, pool, strlen(pool) + 1);
done:
    cJSON_Delete(j);
    free(path);
    return st;
}

/* <pool_dir>/config.json (optional: mean pooling). Exactly one mode. */
static hr_status parse_pooling(hr_model *m, const char *dir, const char *pool_dir, char *err,
                               size_t errlen)
{
    char *rel = path_join(pool_dir, "config.json");
    if (!rel) return hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory");
    cJSON *j;
    char *path;
    hr_status st = load_json(dir, rel, 1, &j, &path, err, errlen);
    free(rel);
    if (st || !j) {
        m->pooling = HR_POOL_MEAN;
        goto done;
    }
    if (!cJSON_IsObject(j)) {
        st = hr_fail(HR_ERR_MODEL, err, errlen, "%s: not a JSON object", path);
        goto done;
    }
    static const struct {
        const char *key;
        const char *label;
        hr_pooling mode;
        int supported;
    } MODES[] = {
        {"pooling_mode_cls_token", "cls", HR_POOL_CLS, 1},
        {"pooling_mode_mean_tokens", "mean", HR_POOL_MEAN, 1},
        {"pooling_mode_max_tokens", "max", HR_POOL_MAX, 1},
        {"pooling_mode_mean_sqrt_len_tokens", "mean_sqrt_len", HR_POOL_MEAN_SQRT_LEN, 1},
        {"pooling_mode_weightedmean_tokens", "weightedmean", HR_POOL_MEAN, 0},
        {"pooling_mode_lasttoken", "lasttoken", HR_POOL_MEAN, 0},
    };
    char set[160] = "";
    size_t used = 0;
    int n_set = 0;
    for (size_t i = 0; i < sizeof MODES / sizeof MODES[0]; i++) {
        int on = 0;
        if ((st = get_bool(j, MODES[i].key, path, 0, &on, err, errlen))) goto done;
        if (!on) continue;
        if (!MODES[i].supported) {
            st = hr_fail(HR_ERR_MODEL, err, errlen,
                         "%s: %s pooling is not supported (only mean, cls, max, mean_sqrt_len)",
                         path, MODES[i].label);
            goto done;
        }
        n_set++;
        m->pooling = MODES[i].mode;
        int w = snprintf(set + used, sizeof set - used, "%s%s", used ? ", " : "", MODES[i].label);
        if (w > 0 && (size_t)w < sizeof set - used) used += (size_t)w;
    }
    if (n_set == 0) {
        st = hr_fail(HR_ERR_MODEL, err, errlen, "%s: no pooling mode is set", path);
        goto done;
    }
    if (n_set > 1) {
        st = hr_fail(HR_ERR_MODEL, err, errlen,
                     "%s: %d pooling modes are set (%s); only one at a time is supported", path,
                     n_set, set);
        goto done;
    }
    int dim = 0;
    if ((st = get_int(j, "word_embedding_dimension", path, 0, m->hidden, 1, INT_MAX, &dim, err,
                      errlen)))
        goto done;
    if (dim != m->hidden)
        st = hr_fail(HR_ERR_MODEL, err, errlen,
                     "%s: word_embedding_dimension %d differs from config.json hidden_size %d",
                     path, dim, m->hidden);
done:
    cJSON_Delete(j);
    free(path);
    return st;
}

/* sentence_bert_config.json (optional): max_seq_length, and do_lower_case,
 * which makes sentence-transformers lower-case the text before the tokenizer
 * sees it (*st_lower). */
static hr_status parse_sbert(hr_model *m, const char *dir, int *st_lower, char *err,
                             size_t errlen)
{
    cJSON *j;
    char *path;
    *st_lower = 0;
    m->max_seq_length = 512;
    hr_status st = load_json(dir, "sentence_bert_config.json", 1, &j, &path, err, errlen);
    if (st || !j) goto done;
    if (!cJSON_IsObject(j)) {
        st = hr_fail(HR_ERR_MODEL, err, errlen, "%s: not a JSON object", path);
        goto done;
    }
    if ((st = get_int(j, "max_seq_length", path, 0, 512, 2, 1 << 20, &m->max_seq_length, err,
                      errlen)) ||
        (st = get_bool(j, "do_lower_case", path, 0, st_lower, err, errlen)))
        goto done;
done:
    /* Positions past max_position_embeddings have no embedding. */
    if (m->max_seq_length > m->max_position) m->max_seq_length = m->max_position;
    cJSON_Delete(j);
    free(path);
    return st;
}

/* tokenizer_config.json (optional). */
static hr_status parse_tokenizer_config(const char *dir, hr_tokenizer_options *opt, char *err,
                                        size_t errlen)
{
    cJSON *j;
    char *path;
    *opt = hr_tokenizer_default_options();
    hr_status st = load_json(dir, "tokenizer_config.json", 1, &j, &path, err, errlen);
    if (st || !j) goto done;
    if (!cJSON_IsObject(j)) {
        st = hr_fail(HR_ERR_MODEL, err, errlen, "%s: not a JSON object", path);
        goto done;
    }
    if ((st = get_bool(j, "do_lower_case", path, opt->do_lower_case, &opt->do_lower_case, err,
                       errlen)) ||
        (st = get_bool(j, "tokenize_chinese_chars", path, opt->tokenize_chinese_chars,
                       &opt->tokenize_chinese_chars, err, errlen)))
        goto done;
    const cJSON *sa = cJSON_GetObjectItemCaseSensitive(j, "strip_accents");
    if (!sa || cJSON_IsNull(sa)) opt->strip_accents = -1;
    else if (cJSON_IsBool(sa)) opt->strip_accents = cJSON_IsTrue(sa) ? 1 : 0;
    else st = hr_fail(HR_ERR_MODEL, err, errlen, "%s: \"strip_accents\" must be true, false or null",
                      path);
done:
    cJSON_Delete(j);
    free(path);
    return st;
}

/* ---- weights ------------------------------------------------------------ */

/* Hands out 64-byte-aligned float ranges of one block. With base NULL it only
 * counts, so the same layout code sizes the block and then fills it. */
typedef struct arena {
    float *base;
    uint64_t used; /* floats */
} arena;

static float *carve(arena *a, uint64_t n)
{
    uint64_t at = a->used;
    a->used += (n + WEIGHT_ALIGN_FLOATS - 1) / WEIGHT_ALIGN_FLOATS * WEIGHT_ALIGN_FLOATS;
    return a->base ? a->base + at : NULL;
}

/* Lays every weight of m out in a (dims are bounded by parse_config, so no
 * count here can overflow 64 bits). */
static void layout(hr_model *m, arena *a)
{
    uint64_t H = (uint64_t)m->hidden, I = (uint64_t)m->intermediate;
    m->word_emb = carve(a, (uint64_t)m->vocab_size * H);
    m->pos_emb = carve(a, (uint64_t)m->max_position * H);
    m->type_emb = carve(a, (uint64_t)m->type_vocab * H);
    m->emb_ln_g = carve(a, H);
    m->emb_ln_b = carve(a, H);
    for (int l = 0; l < m->n_layers; l++) {
        hr_layer_weights *w = &m->layers[l];
        w->qkv_w = carve(a, 3 * H * H);
        w->qkv_b = carve(a, 3 * H);
        w->ao_w = carve(a, H * H);
        w->ao_b = carve(a, H);
        w->ln1_g = carve(a, H);
        w->ln1_b = carve(a, H);
        w->in_w = carve(a, I * H);
        w->in_b = carve(a, I);
        w->out_w = carve(a, H * I);
        w->out_b = carve(a, H);
        w->ln2_g = carve(a, H);
        w->ln2_b = carve(a, H);
    }
}

typedef struct wctx {
    const hr_st_file *f;
    const char *prefix; /* "" or "bert." */
    int check;          /* 1: only check names, dtypes and shapes in the header */
    char *err;
    size_t errlen;
} wctx;

/* Reads prefix + name, shape (d0) or (d0, d1), into dst (or, in the check
 * pass, checks that it could). Old checkpoints call the LayerNorm parameters
 * gamma and beta; those names are accepted too. */
static hr_status rd(const wctx *c, const char *name, int64_t d0, int64_t d1, float *dst)
{
    char full[512];
    int w = snprintf(full, sizeof full, "%s%s", c->prefix, name);
    if (w < 0 || (size_t)w >= sizeof full)
        return hr_fail(HR_ERR_INTERNAL, c->err, c->errlen, "tensor name too long: %s", name);
    if (!hr_st_find(c->f, full)) {
        size_t n = strlen(full);
        static const char *const ALT[][2] = {{"LayerNorm.weight", "LayerNorm.gamma"},
                                             {"LayerNorm.bias", "LayerNorm.beta"}};
        for (int i = 0; i < 2; i++) {
            size_t k = strlen(ALT[i][0]);
            if (n >= k && strcmp(full + n - k, ALT[i][0]) == 0 &&
                n - k + strlen(ALT[i][1]) < sizeof full) {
                char alt[512];
                memcpy(alt, full, n - k);
                memcpy(alt + n - k, ALT[i][1], strlen(ALT[i][1]) + 1);
                if (hr_st_find(c->f, alt)) memcpy(full, alt, strlen(alt) + 1);
            }
        }
    }
    int64_t shape[2] = {d0, d1};
    if (c->check) return hr_st_check_f32(c->f, full, d1 ? 2 : 1, shape, c->err, c->errlen);
    return hr_st_read_f32(c->f, full, d1 ? 2 : 1, shape, dst, c->err, c->errlen);
}

/* Every weight of the model, in one place for both passes. In the check pass
 * the buffers do not exist yet, so no destination is computed (AT). */
static hr_status transfer(hr_model *m, const wctx *c)
{
#define AT(p, off) (c->check ? NULL : (p) + (off))
    const int64_t H = m->hidden, I = m->intermediate;
    char name[160];
    hr_status st;
    if ((st = rd(c, "embeddings.word_embeddings.weight", m->vocab_size, H, m->word_emb)) ||
        (st = rd(c, "embeddings.position_embeddings.weight", m->max_position, H, m->pos_emb)) ||
        (st = rd(c, "embeddings.token_type_embeddings.weight", m->type_vocab, H, m->type_emb)) ||
        (st = rd(c, "embeddings.LayerNorm.weight", H, 0, m->emb_ln_g)) ||
        (st = rd(c, "embeddings.LayerNorm.bias", H, 0, m->emb_ln_b)))
        return st;
    for (int l = 0; l < m->n_layers; l++) {
        hr_layer_weights *w = &m->layers[l];
        /* Q, K, V land in consecutive row blocks of qkv_w (3H, H) and thirds
         * of qkv_b (3H), so no copy is needed to fuse them. */
        static const struct {
            const char *suffix;
            int is_weight;
            int block;
        } QKV[] = {
            {"attention.self.query.weight", 1, 0}, {"attention.self.key.weight", 1, 1},
            {"attention.self.value.weight", 1, 2}, {"attention.self.query.bias", 0, 0},
            {"attention.self.key.bias", 0, 1},     {"attention.self.value.bias", 0, 2},
        };
        for (size_t i = 0; i < sizeof QKV / sizeof QKV[0]; i++) {
            snprintf(name, sizeof name, "encoder.layer.%d.%s", l, QKV[i].suffix);
            st = QKV[i].is_weight ? rd(c, name, H, H, AT(w->qkv_w, QKV[i].block * H * H))
                                  : rd(c, name, H, 0, AT(w->qkv_b, QKV[i].block * H));
            if (st) return st;
        }
        const struct {
            const char *suffix;
            int64_t d0, d1;
            float *dst;
        } REST[] = {
            {"attention.output.dense.weight", H, H, w->ao_w},
            {"attention.output.dense.bias", H, 0, w->ao_b},
            {"attention.output.LayerNorm.weight", H, 0, w->ln1_g},
            {"attention.output.LayerNorm.bias", H, 0, w->ln1_b},
            {"intermediate.dense.weight", I, H, w->in_w},
            {"intermediate.dense.bias", I, 0, w->in_b},
            {"output.dense.weight", H, I, w->out_w},
            {"output.dense.bias", H, 0, w->out_b},
            {"output.LayerNorm.weight", H, 0, w->ln2_g},
            {"output.LayerNorm.bias", H, 0, w->ln2_b},
        };
        for (size_t i = 0; i < sizeof REST / sizeof REST[0]; i++) {
            snprintf(name, sizeof name, "encoder.layer.%d.%s", l, REST[i].suffix);
            if ((st = rd(c, name, REST[i].d0, REST[i].d1, REST[i].dst))) return st;
        }
    }
    return HR_OK;
#undef AT
}

static hr_status load_weights(hr_model *m, const hr_st_file *f, char *err, size_t errlen)
{
    wctx c = {f, "", 1, err, errlen};
    char name[160];
    if (!hr_st_find(f, "embeddings.word_embeddings.weight")) {
        if (hr_st_find(f, "bert.embeddings.word_embeddings.weight")) c.prefix = "bert.";
        else
            return hr_fail(HR_ERR_MODEL, err, errlen,
                           "%s: no tensor 'embeddings.word_embeddings.weight' (nor "
                           "'bert.embeddings.word_embeddings.weight'): not a BERT model",
                           hr_st_path(f));
    }
    m->layers = calloc((size_t)m->n_layers, sizeof *m->layers);
    if (!m->layers) return hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory for the layers");

    /* Pass 1: every name, dtype and shape against the header. The header's
     * sizes were checked against the file, so once this passes the block
     * below is no larger than the file's weights widened to float32: a config
     * that claims huge dimensions fails here, before any allocation. */
    hr_status st = transfer(m, &c);
    if (st) return st;

    arena a = {NULL, 0};
    layout(m, &a);
    if (a.used > SIZE_MAX / sizeof(float) - WEIGHT_ALIGN_FLOATS)
        return hr_fail(HR_ERR_NOMEM, err, errlen, "%s: the weights do not fit in memory",
                       hr_st_path(f));
    size_t bytes = (size_t)a.used * sizeof(float); /* a multiple of 64 by construction */
    m->storage_ = aligned_alloc(WEIGHT_ALIGN_FLOATS * sizeof(float), bytes);
    if (!m->storage_)
        return hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory for %zu bytes of weights", bytes);
    /* Zeroed so that the alignment gaps between buffers hold no stale bytes
     * for anyone who copies the block whole (a device upload, a hash). */
    memset(m->storage_, 0, bytes);
    a.base = m->storage_;
    a.used = 0;
    layout(m, &a);

    /* Pass 2: the data. */
    c.check = 0;
    if ((st = transfer(m, &c))) return st;

    /* The checks accepted only F32, F16 or BF16. */
    snprintf(name, sizeof name, "%sembeddings.word_embeddings.weight", c.prefix);
    hr_st_dtype wdt = hr_st_find(f, name)->dtype;
    const char *dn = wdt == HR_ST_F16 ? "F16" : wdt == HR_ST_BF16 ? "BF16" : "F32";
    memcpy(m->dtype, dn, strlen(dn) + 1);
    return HR_OK;
}

/* ---- identity and name -------------------------------------------------- */

static void hash_part(hr_sha256 *h, const char *label, const void *data, size_t len)
{
    char head[96];
    int w = snprintf(head, sizeof head, "%s %zu\n", label, len);
    hr_sha256_update(h, head, (size_t)w);
    hr_sha256_update(h, data, len);
}

/* id = SHA-256 of, in order, each framed as "<label> <byte count>\n<bytes>":
 * the safetensors file, vocab.txt, and a canonical settings text (below) that
 * holds everything else that changes an embedding. The float eps is written
 * as its bit pattern so that no locale or printf rounding enters the hash. */
static void compute_id(hr_model *m, const hr_st_file *f, const char *vocab, size_t vocab_len,
                       const hr_tokenizer_options *opt, unsigned char plain[32])
{
    static const char *const POOL[] = {"mean", "cls", "max", "mean_sqrt_len"};
    uint32_t eps_bits;
    memcpy(&eps_bits, &m->ln_eps, sizeof eps_bits);
    int strip = opt->strip_accents < 0 ? opt->do_lower_case : opt->strip_accents;
    char settings[768];
    int w = snprintf(settings, sizeof settings,
                     "max_seq_length=%d\npooling=%s\nnormalize=%d\n"
                     "do_lower_case=%d\nstrip_accents=%d\ntokenize_chinese_chars=%d\n"
                     "vocab_size=%d\nhidden=%d\nlayers=%d\nheads=%d\nintermediate=%d\n"
                     "max_position=%d\ntype_vocab=%d\nlayer_norm_eps_bits=%08lx\n",
                     m->max_seq_length, POOL[m->pooling], m->normalize, opt->do_lower_case, strip,
                     opt->tokenize_chinese_chars, m->vocab_size, m->hidden, m->n_layers,
                     m->n_heads, m->intermediate, m->max_position, m->type_vocab,
                     (unsigned long)eps_bits);
    size_t slen = w < 0 ? 0 : (size_t)w < sizeof settings ? (size_t)w : sizeof settings - 1;

    hr_sha256 h;
    hr_sha256_init(&h);
    static const char tag[] = "hyporank-model-id-v1\n";
    hr_sha256_update(&h, tag, sizeof tag - 1);
    size_t wlen;
    const unsigned char *wbytes = hr_st_bytes(f, &wlen);
    if (plain) {
        /* The file's own SHA-256 too (the recorded one is checked against
         * it), in the same pass: each chunk is read from memory once. */
        char head[96];
        int hw = snprintf(head, sizeof head, "model.safetensors %zu\n", wlen);
        hr_sha256_update(&h, head, (size_t)hw);
        hr_sha256 p;
        hr_sha256_init(&p);
        for (size_t at = 0; at < wlen; at += (size_t)1 << 20) {
            size_t k = wlen - at < ((size_t)1 << 20) ? wlen - at : (size_t)1 << 20;
            hr_sha256_update(&h, wbytes + at, k);
            hr_sha256_update(&p, wbytes + at, k);
        }
        hr_sha256_final(&p, plain);
    } else {
        hash_part(&h, "model.safetensors", wbytes, wlen);
    }
    hash_part(&h, "vocab.txt", vocab, vocab_len);
    hash_part(&h, "settings", settings, slen);
    unsigned char digest[32];
    hr_sha256_final(&h, digest);
    hr_hex_encode(digest, m->id);
}

/* The folder's base name; through realpath when dir ends in "." or "..". */
static char *base_name(const char *dir)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') n--;
    size_t start = n;
    while (start > 0 && dir[start - 1] != '/') start--;
    size_t len = n - start;
    int dots = (len == 1 && dir[start] == '.') || (len == 2 && dir[start] == '.' && dir[start + 1] == '.');
    char *real = NULL;
    const char *src = dir + start;
    if (dots || len == 0) {
        real = realpath(dir, NULL);
        if (real) {
            size_t rn = strlen(real);
            size_t rs = rn;
            while (rs > 0 && real[rs - 1] != '/') rs--;
            src = real + rs;
            len = rn - rs;
            if (len == 0) { /* "/" */
                src = real;
                len = rn;
            }
        }
    }
    char *out = malloc(len + 1);
    if (out) {
        memcpy(out, src, len);
        out[len] = '\0';
    }
    free(real);
    return out;
}

/* ---- the recorded SHA-256 of the weights -------------------------------- */

/* The record's name beside the weights, as scripts/fetch-model.sh writes it
 * ("<64 hex digits>  model.safetensors", sha256sum's format). */
#define WEIGHTS_RECORD "model.safetensors.sha256"

/* Reads dir's record into want (32 bytes): *have 0 when there is none. */
static hr_status read_record(const char *dir, unsigned char want[32], int *have, char *err,
                             size_t errlen)
{
    *have = 0;
    char *path = path_join(dir, WEIGHTS_RECORD), *text = NULL;
    if (!path) return hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory");
    size_t len = 0;
    int missing = 0;
    hr_status st = read_file(path, 4096, &text, &len, &missing, err, errlen);
    if (st == HR_OK && !missing) {
        int ok = len >= 64;
        for (size_t i = 0; ok && i < 64; i++) {
            int c = text[i], v = c >= '0' && c <= '9'   ? c - '0'
                                 : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                 : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                        : -1;
            if (v < 0) ok = 0;
            else if (i % 2 == 0) want[i / 2] = (unsigned char)(v << 4);
            else want[i / 2] |= (unsigned char)v;
        }
        if (ok && len > 64 && text[64] != ' ' && text[64] != '\t' && text[64] != '\n' &&
            text[64] != '\r')
            ok = 0;
        if (!ok)
            st = hr_fail(HR_ERR_MODEL, err, errlen,
                         "%s: not a SHA-256 record (64 hex digits, then the file name, as "
                         "sha256sum writes); run scripts/fetch-model.sh %s to write it again",
                         path, dir);
        else *have = 1;
    }
    free(text);
    free(path);
    return st;
}

/* SHA-256 of the file at path; 0 when it cannot be read. */
static int sha256_file(const char *path, unsigned char digest[32])
{
    FILE *fp = fopen(path, "rb");
    if (!fp) return 0;
    hr_sha256 h;
    hr_sha256_init(&h);
    unsigned char buf[1 << 16];
    size_t k;
    while ((k = fread(buf, 1, sizeof buf, fp)) > 0) hr_sha256_update(&h, buf, k);
    int ok = !ferror(fp);
    fclose(fp);
    hr_sha256_final(&h, digest);
    return ok;
}

/* The error for weights whose SHA-256 (got) is not the recorded one. */
static hr_status record_mismatch(const char *dir, const char *weights, const unsigned char got[32],
                                 const unsigned char want[32], char *err, size_t errlen)
{
    char g[65], w[65];
    hr_hex_encode(got, g);
    hr_hex_encode(want, w);
    return hr_fail(HR_ERR_MODEL, err, errlen,
                   "%s: SHA-256 %.16s... differs from the %.16s... recorded in %s/" WEIGHTS_RECORD
                   ": the weights are damaged or were changed. Run scripts/fetch-model.sh %s to "
                   "lay them out again (if you changed them on purpose, delete the record or "
                   "pass --no-verify-model)",
                   weights, g, w, dir, dir);
}

/* ---- public ------------------------------------------------------------- */

void hr_model_destroy(hr_model *m)
{
    if (!m) return;
    hr_tokenizer_destroy(m->tokenizer);
    free(m->storage_);
    free(m->layers);
    free(m->name);
    free(m);
}

hr_status hr_model_load(const char *dir, hr_model **out, char *err, size_t errlen)
{
    return hr_model_load_with(dir, NULL, out, err, errlen);
}

hr_status hr_model_load_with(const char *dir, const hr_model_options *opt, hr_model **out,
                             char *err, size_t errlen)
{
    *out = NULL;
    const int verify = !opt || !opt->no_verify;
    unsigned char want[32], got[32];
    int have_record = 0;
    struct stat sb;
    if (stat(dir, &sb) != 0)
        return hr_fail(HR_ERR_MODEL, err, errlen, "model folder %s: %s; " FETCH_HINT, dir,
                       strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return hr_fail(HR_ERR_MODEL, err, errlen, "model folder %s: not a folder; " FETCH_HINT,
                       dir);

    hr_model *m = calloc(1, sizeof *m);
    if (!m) return hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory");
    char *pool_dir = NULL, *vocab_path = NULL, *vocab = NULL, *weights_path = NULL;
    size_t vocab_len = 0;
    hr_st_file *f = NULL;
    hr_tokenizer_options topt;
    int st_lower = 0;
    hr_status st;

    if ((st = parse_config(m, dir, err, errlen)) ||
        (st = parse_sbert(m, dir, &st_lower, err, errlen)) ||
        (st = parse_modules(m, dir, &pool_dir, err, errlen)) ||
        (st = parse_pooling(m, dir, pool_dir, err, errlen)) ||
        (st = parse_tokenizer_config(dir, &topt, err, errlen)) ||
        (verify && (st = read_record(dir, want, &have_record, err, errlen))))
        goto fail;
    if (st_lower && !topt.do_lower_case) {
        /* sentence-transformers lower-cases before a tokenizer that does not;
         * lower-casing in the tokenizer instead must not switch on accent
         * stripping, which follows do_lower_case only when left unset. */
        if (topt.strip_accents < 0) topt.strip_accents = 0;
        topt.do_lower_case = 1;
    }

    vocab_path = path_join(dir, "vocab.txt");
    weights_path = path_join(dir, "model.safetensors");
    m->name = base_name(dir);
    if (!vocab_path || !weights_path || !m->name) {
        st = hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory");
        goto fail;
    }
    if ((st = read_file(vocab_path, MAX_VOCAB_BYTES, &vocab, &vocab_len, NULL, err, errlen)))
        goto fail;
    if ((st = hr_tokenizer_load(vocab_path, &topt, &m->tokenizer, err, errlen))) goto fail;
    if (hr_tokenizer_vocab_size(m->tokenizer) > (size_t)m->vocab_size) {
        st = hr_fail(HR_ERR_MODEL, err, errlen,
                     "%s: %zu tokens, more than the %d rows of the word embeddings "
                     "(config.json vocab_size)",
                     vocab_path, hr_tokenizer_vocab_size(m->tokenizer), m->vocab_size);
        goto fail;
    }

    struct stat wsb;
    if (stat(weights_path, &wsb) != 0 && errno == ENOENT) {
        char *bin = path_join(dir, "pytorch_model.bin");
        int has_bin = bin && stat(bin, &wsb) == 0;
        free(bin);
        st = hr_fail(HR_ERR_MODEL, err, errlen, "%s: not found; %s", weights_path,
                     has_bin ? "the folder has pytorch_model.bin: convert it with "
                               "scripts/convert-bin-to-safetensors.py"
                             : FETCH_HINT);
        goto fail;
    }
    if ((st = hr_st_open(weights_path, &f, err, errlen))) {
        /* A damaged file that has a record: say so, and what to do. */
        if (have_record && st == HR_ERR_MODEL && sha256_file(weights_path, got) &&
            memcmp(got, want, 32) != 0)
            st = record_mismatch(dir, weights_path, got, want, err, errlen);
        goto fail;
    }
    compute_id(m, f, vocab, vocab_len, &topt, have_record ? got : NULL);
    if (have_record && memcmp(got, want, 32) != 0) {
        st = record_mismatch(dir, weights_path, got, want, err, errlen);
        goto fail;
    }
    if ((st = load_weights(m, f, err, errlen))) goto fail;

    hr_st_close(f);
    free(vocab);
    free(vocab_path);
    free(weights_path);
    free(pool_dir);
    *out = m;
    return HR_OK;

fail:
    hr_st_close(f);
    free(vocab);
    free(vocab_path);
    free(weights_path);
    free(pool_dir);
    hr_model_destroy(m);
    return st;
}

int hr_model_dim(const hr_model *m) { return m->hidden; }
int hr_model_max_tokens(const hr_model *m) { return m->max_seq_length; }
const char *hr_model_name(const hr_model *m) { return m->name; }
const char *hr_model_id(const hr_model *m) { return m->id; }
const hr_tokenizer *hr_model_tokenizer(const hr_model *m) { return m->tokenizer; }
const char *hr_model_weight_dtype(const hr_model *m) { return m->dtype; }
