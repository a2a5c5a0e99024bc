/*
 * tests/test_model.c: the safetensors reader and the model loader.
 *
 * - The real model ($HYPORANK_MODEL): config values, and every weight against
 *   tests/fixtures/model-spot-values.json, which tests/fixtures/
 *   gen-model-fixture.py made with the safetensors package.
 * - Crafted safetensors files, written at test time into a mkdtemp folder:
 *   each way the header can lie must be refused with a message that names the
 *   file, the tensor and the fault; F16 and BF16 must convert exactly.
 * - Tiny synthetic model folders (H = 4): the fused Q/K/V layout, F16/BF16
 *   weights, the "bert." prefix, and each config error.
 * - An F16 copy of the real model made by scripts/make-f16-model.py (skipped,
 *   with a note, where python3 is missing).
 */
#define _XOPEN_SOURCE 700 /* nftw */

#include "hyporank/hash.h"
#include "hyporank/model.h"
#include "model/model_internal.h"
#include "io/safetensors.h"
#include "test_util.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <float.h>
#include <ftw.h>
#include <math.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static hr_model *real;      /* the real model, loaded once */
static char tmp_root[64];   /* mkdtemp folder for everything written here */
static int tmp_seq;         /* numbers the files and folders under tmp_root */

/* ---- helpers ------------------------------------------------------------- */

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* A fresh path under tmp_root (static buffer rotation: 4 live at once). */
static const char *tmp_path(const char *stem)
{
    static char bufs[4][512];
    static int next;
    char *b = bufs[next++ % 4];
    snprintf(b, sizeof bufs[0], "%s/%s-%d", tmp_root, stem, ++tmp_seq);
    return b;
}

static int write_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    int ok = fwrite(data, 1, len, f) == len;
    return fclose(f) == 0 && ok;
}

static int write_text(const char *dir, const char *rel, const char *text)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    return write_bytes(path, text, strlen(text));
}

/* Writes a safetensors file: 8-byte LE length of header, header, data. */
static int write_st(const char *path, const char *header, const void *data, size_t dlen)
{
    uint64_t n = strlen(header);
    size_t total = 8 + (size_t)n + dlen;
    unsigned char *buf = malloc(total ? total : 1);
    if (!buf) return 0;
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)(n >> (8 * i));
    memcpy(buf + 8, header, (size_t)n);
    if (dlen) memcpy(buf + 8 + n, data, dlen);
    int ok = write_bytes(path, buf, total);
    free(buf);
    return ok;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static void rm_tree(const char *path) { nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

/* A file under path's last '/'. */
static const char *base_of(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* hr_st_open on a crafted header must fail with HR_ERR_MODEL, naming the file
 * and saying `what`. */
static void expect_bad_header(const char *header, const void *data, size_t dlen, const char *what,
                              int line)
{
    const char *path = tmp_path("bad.safetensors");
    CHECK(write_st(path, header, data, dlen));
    hr_st_file *f = NULL;
    char err[1024] = "";
    hr_status st = hr_st_open(path, &f, err, sizeof err);
    CHECKF(st == HR_ERR_MODEL, "(line %d) status %d for header %s", line, st, header);
    CHECKF(strstr(err, base_of(path)) != NULL, "(line %d) message does not name the file: %s",
           line, err);
    CHECKF(strstr(err, what) != NULL, "(line %d) message lacks \"%s\": %s", line, what, err);
    CHECK(f == NULL);
    hr_st_close(f);
}
#define BAD_HEADER(h, data, dlen, what) expect_bad_header(h, data, dlen, what, __LINE__)

/* The model buffer that holds a tensor (by its safetensors name, no prefix),
 * and its element count; NULL for a name that has none. */
static const float *model_tensor(const hr_model *m, const char *name, size_t *n)
{
    size_t H = (size_t)m->hidden, I = (size_t)m->intermediate;
    if (strcmp(name, "embeddings.word_embeddings.weight") == 0)
        return *n = (size_t)m->vocab_size * H, m->word_emb;
    if (strcmp(name, "embeddings.position_embeddings.weight") == 0)
        return *n = (size_t)m->max_position * H, m->pos_emb;
    if (strcmp(name, "embeddings.token_type_embeddings.weight") == 0)
        return *n = (size_t)m->type_vocab * H, m->type_emb;
    if (strcmp(name, "embeddings.LayerNorm.weight") == 0) return *n = H, m->emb_ln_g;
    if (strcmp(name, "embeddings.LayerNorm.bias") == 0) return *n = H, m->emb_ln_b;
    static const char pre[] = "encoder.layer.";
    if (strncmp(name, pre, sizeof pre - 1) != 0) return NULL;
    char *end;
    long l = strtol(name + sizeof pre - 1, &end, 10);
    if (*end != '.' || l < 0 || l >= m->n_layers) return NULL;
    const hr_layer_weights *w = &m->layers[l];
    const char *s = end + 1;
    const struct {
        const char *suffix;
        const float *p;
        size_t n;
    } MAP[] = {
        {"attention.self.query.weight", w->qkv_w, H * H},
        {"attention.self.key.weight", w->qkv_w + H * H, H * H},
        {"attention.self.value.weight", w->qkv_w + 2 * H * H, H * H},
        {"attention.self.query.bias", w->qkv_b, H},
        {"attention.self.key.bias", w->qkv_b + H, H},
        {"attention.self.value.bias", w->qkv_b + 2 * H, H},
        {"attention.output.dense.weight", w->ao_w, H * H},
        {"attention.output.dense.bias", w->ao_b, H},
        {"attention.output.LayerNorm.weight", w->ln1_g, H},
        {"attention.output.LayerNorm.bias", w->ln1_b, H},
        {"intermediate.dense.weight", w->in_w, I * H},
        {"intermediate.dense.bias", w->in_b, I},
        {"output.dense.weight", w->out_w, H * I},
        {"output.dense.bias", w->out_b, H},
        {"output.LayerNorm.weight", w->ln2_g, H},
        {"output.LayerNorm.bias", w->ln2_b, H},
    };
    for (size_t i = 0; i < sizeof MAP / sizeof MAP[0]; i++)
        if (strcmp(s, MAP[i].suffix) == 0) return *n = MAP[i].n, MAP[i].p;
    return NULL;
}

static int is_hex64(const char *s)
{
    if (strlen(s) != 64) return 0;
    for (int i = 0; i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return 0;
    return 1;
}

/* ---- the real model ------------------------------------------------------ */

static void test_real_model_has_minilm_config_values(void)
{
    CHECK(hr_model_dim(real) == 384);
    CHECK(hr_model_max_tokens(real) == 256);
    CHECKF(strcmp(hr_model_name(real), base_of(test_model_dir())) == 0 ||
               strcmp(hr_model_name(real), "all-MiniLM-L6-v2") == 0,
           "name %s", hr_model_name(real));
    CHECK(strcmp(hr_model_weight_dtype(real), "F32") == 0);
    CHECKF(is_hex64(hr_model_id(real)), "id %s", hr_model_id(real));
    CHECK(real->vocab_size == 30522 && real->hidden == 384 && real->n_layers == 6);
    CHECK(real->n_heads == 12 && real->intermediate == 1536 && real->max_position == 512);
    CHECK(real->type_vocab == 2 && real->ln_eps == 1e-12f);
    CHECK(real->pooling == HR_POOL_MEAN && real->normalize == 1);
    CHECK(hr_model_tokenizer(real) != NULL);
    CHECK(hr_tokenizer_vocab_size(hr_model_tokenizer(real)) == 30522);
}

static void test_real_weights_match_the_safetensors_package(void)
{
    FILE *fp = fopen(test_fixture("model-spot-values.json"), "rb");
    CHECKF(fp != NULL, "cannot open %s", test_fixture("model-spot-values.json"));
    if (!fp) return;
    fseek(fp, 0, SEEK_END);
    long len = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *text = malloc((size_t)len + 1);
    size_t got = fread(text, 1, (size_t)len, fp);
    text[got] = '\0';
    fclose(fp);
    cJSON *doc = cJSON_Parse(text);
    free(text);
    CHECK(doc != NULL);
    const cJSON *model_name = cJSON_GetObjectItemCaseSensitive(doc, "model");
    if (!cJSON_IsString(model_name) || strcmp(model_name->valuestring, hr_model_name(real)) != 0) {
        fprintf(stderr, "note: fixture is for another model; spot values not compared\n");
        cJSON_Delete(doc);
        return;
    }
    int tensors = 0, values = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(doc, "tensors"))
    {
        const char *name = cJSON_GetObjectItemCaseSensitive(e, "name")->valuestring;
        size_t n = 0;
        const float *p = model_tensor(real, name, &n);
        CHECKF(p != NULL, "no buffer for %s", name);
        if (!p) continue;
        size_t numel = 1;
        const cJSON *d;
        cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(e, "shape")) numel *= (size_t)d->valuedouble;
        CHECKF(numel == n, "%s: %zu elements, buffer holds %zu", name, numel, n);
        /* First and last 8: float32 stored, float32 loaded, so equal exactly. */
        int i = 0;
        cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(e, "first"))
        {
            CHECKF(p[i] == (float)d->valuedouble, "%s[%d] = %.9g, expected %.9g", name, i, p[i],
                   d->valuedouble);
            i++, values++;
        }
        i = 0;
        cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(e, "last"))
        {
            size_t k = n - 8 + (size_t)i;
            CHECKF(p[k] == (float)d->valuedouble, "%s[%zu] = %.9g, expected %.9g", name, k, p[k],
                   d->valuedouble);
            i++, values++;
        }
        /* Checksums over every element, in double. Only the summation order
         * differs (numpy pairwise, here sequential); sequential summation of
         * n terms errs by at most (n - 1) u sum|terms| with u = DBL_EPSILON / 2,
         * so n * DBL_EPSILON * abs_wsum bounds the difference of the two. */
        double sum = 0, wsum = 0;
        for (size_t k = 0; k < n; k++) {
            sum += p[k];
            wsum += (double)p[k] * (double)(k % 13 + 1);
        }
        double abs_wsum = cJSON_GetObjectItemCaseSensitive(e, "abs_wsum")->valuedouble;
        double tol = (double)n * DBL_EPSILON * abs_wsum;
        double want_sum = cJSON_GetObjectItemCaseSensitive(e, "sum")->valuedouble;
        double want_wsum = cJSON_GetObjectItemCaseSensitive(e, "wsum")->valuedouble;
        CHECKF(fabs(sum - want_sum) <= tol, "%s: sum %.17g, expected %.17g", name, sum, want_sum);
        CHECKF(fabs(wsum - want_wsum) <= tol, "%s: weighted sum %.17g, expected %.17g", name, wsum,
               want_wsum);
        tensors++;
    }
    CHECKF(tensors == 2 + 3 + 16 * real->n_layers, "compared %d tensors", tensors);

    int spots = 0;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(doc, "fused"))
    {
        int layer = (int)cJSON_GetObjectItemCaseSensitive(e, "layer")->valuedouble;
        const char *field = cJSON_GetObjectItemCaseSensitive(e, "field")->valuestring;
        size_t off = (size_t)cJSON_GetObjectItemCaseSensitive(e, "offset")->valuedouble;
        const float *base = strcmp(field, "qkv_w") == 0 ? real->layers[layer].qkv_w
                                                        : real->layers[layer].qkv_b;
        int i = 0;
        const cJSON *d;
        cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(e, "values"))
        {
            CHECKF(base[off + (size_t)i] == (float)d->valuedouble, "layer %d %s[%zu]", layer,
                   field, off + (size_t)i);
            i++;
        }
        spots++;
    }
    CHECK(spots > 0);
    fprintf(stderr, "  %d tensors, %d spot values, %d fused spots compared\n", tensors, values,
            spots);
    cJSON_Delete(doc);
}

static void test_real_model_id_is_stable_and_ignores_a_trailing_slash(void)
{
    char dir[1024], err[1024] = "";
    snprintf(dir, sizeof dir, "%s/", test_model_dir());
    hr_model *m = NULL;
    CHECKF(hr_model_load(dir, &m, err, sizeof err) == HR_OK, "%s", err);
    if (!m) return;
    CHECK(strcmp(hr_model_id(m), hr_model_id(real)) == 0);
    CHECK(strcmp(hr_model_name(m), hr_model_name(real)) == 0);
    hr_model_destroy(m);
}

static void test_real_position_ids_are_checked_but_not_a_weight(void)
{
    char path[1024], err[1024] = "";
    snprintf(path, sizeof path, "%s/model.safetensors", test_model_dir());
    hr_st_file *f = NULL;
    CHECKF(hr_st_open(path, &f, err, sizeof err) == HR_OK, "%s", err);
    if (!f) return;
    const hr_st_tensor *t = hr_st_find(f, "embeddings.position_ids");
    CHECK(t && t->dtype == HR_ST_I64 && t->ndim == 2 && t->shape[1] == 512);
    float one[512];
    int64_t shape[2] = {1, 512};
    CHECK(hr_st_read_f32(f, "embeddings.position_ids", 2, shape, one, err, sizeof err) ==
          HR_ERR_MODEL);
    CHECKF(strstr(err, "I64") && strstr(err, "embeddings.position_ids"), "%s", err);
    /* Tensors come in data order. */
    for (size_t i = 1; i < hr_st_count(f); i++)
        CHECK(hr_st_at(f, i - 1)->end <= hr_st_at(f, i)->begin);
    hr_st_close(f);
}

/* ---- crafted safetensors files -------------------------------------------- */

static void test_truncated_files_are_refused(void)
{
    static const unsigned char five[5] = {1, 2, 3, 4, 5};
    const char *path = tmp_path("short.safetensors");
    CHECK(write_bytes(path, five, sizeof five));
    hr_st_file *f = NULL;
    char err[1024] = "";
    CHECK(hr_st_open(path, &f, err, sizeof err) == HR_ERR_MODEL);
    CHECKF(strstr(err, "too short") && strstr(err, base_of(path)), "%s", err);

    path = tmp_path("empty.safetensors");
    CHECK(write_bytes(path, "", 0));
    CHECK(hr_st_open(path, &f, err, sizeof err) == HR_ERR_MODEL);
    CHECKF(strstr(err, "too short"), "%s", err);

    /* A whole file cut inside its data: the offsets run past the end. */
    static const float data[4] = {1, 2, 3, 4};
    BAD_HEADER("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", data, 12,
               "run past");
}

static void test_header_length_beyond_the_file_is_refused(void)
{
    /* Claims 1000 header bytes; the file has 20 after the length. */
    unsigned char buf[28] = {0xe8, 0x03};
    memcpy(buf + 8, "{}                  ", 20);
    const char *path = tmp_path("long.safetensors");
    CHECK(write_bytes(path, buf, sizeof buf));
    hr_st_file *f = NULL;
    char err[1024] = "";
    CHECK(hr_st_open(path, &f, err, sizeof err) == HR_ERR_MODEL);
    CHECKF(strstr(err, "header length 1000") && strstr(err, base_of(path)), "%s", err);

    /* 2^63: must not wrap around in the arithmetic. */
    memset(buf, 0, 8);
    buf[7] = 0x80;
    CHECK(write_bytes(path, buf, sizeof buf));
    CHECK(hr_st_open(path, &f, err, sizeof err) == HR_ERR_MODEL);
    CHECKF(strstr(err, "header length"), "%s", err);

    /* Zero-length header. */
    memset(buf, 0, 8);
    CHECK(write_bytes(path, buf, sizeof buf));
    CHECK(hr_st_open(path, &f, err, sizeof err) == HR_ERR_MODEL);
}

static void test_header_that_is_not_a_json_object_is_refused(void)
{
    BAD_HEADER("{\"w\": {\"dtype\": \"F32\",", NULL, 0, "not valid JSON");
    BAD_HEADER("not json at all", NULL, 0, "not valid JSON");
    BAD_HEADER("[1, 2, 3]", NULL, 0, "not a JSON object");
    BAD_HEADER("{} {}", NULL, 0, "trailing bytes");
    BAD_HEADER("{\"w\": 3}", NULL, 0, "not an object");
    /* A NUL inside the header. */
    char h[] = "{\"w\": {}}";
    h[2] = '\0';
    unsigned char buf[8 + sizeof h - 1] = {sizeof h - 1};
    memcpy(buf + 8, h, sizeof h - 1);
    const char *path = tmp_path("nul.safetensors");
    CHECK(write_bytes(path, buf, sizeof buf));
    hr_st_file *f = NULL;
    char err[1024] = "";
    CHECK(hr_st_open(path, &f, err, sizeof err) == HR_ERR_MODEL);
}

static void test_malformed_tensor_entries_are_refused(void)
{
    static const unsigned char data[64];
    BAD_HEADER("{\"w\":{\"shape\":[4],\"data_offsets\":[0,16]}}", data, 16, "dtype");
    BAD_HEADER("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,16]}}", data, 16, "shape");
    BAD_HEADER("{\"w\":{\"dtype\":\"F32\",\"shape\":[4]}}", data, 16, "data_offsets");
    BAD_HEADER("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0]}}", data, 16,
               "data_offsets");
    BAD_HEADER("{\"w\":{\"dtype\":\"F32\",\"shape\":[-4],\"data_offsets\":[0,16]}}", data, 16,
               "shape entry 0");
    BAD_HEADER("{\"w\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,10]}}", data, 16,
               "shape entry 0");
    BAD_HEADER("{\"w\":{\"dtype\":\"F32\",\"shape\":[\"4\"],\"data_offsets\":[0,16]}}", data,
               16, "shape entry 0");
    BAD_HEADER("{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}",
               data, 16, "dimensions");
    BAD_HEADER("{\"w\":{\"dtype\":7,\"shape\":[4],\"data_offsets\":[0,16]}}", data, 16, "dtype");
}

static void test_offsets_out_of_range_are_refused(void)
{
    static const unsigned char data[16];
    BAD_HEADER("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[4,20]}}", data, 16,
               "run past the 16-byte data section");
    BAD_HEADER("{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,4]}}", data, 16,
               "end before they begin");
    BAD_HEADER("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[-16,0]}}", data, 16,
               "data_offsets are not integers");
    BAD_HEADER("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],"
               "\"data_offsets\":[18446744073709551600,18446744073709551616]}}",
               data, 16, "data_offsets are not integers");
}

static void test_overlapping_tensors_are_refused(void)
{
    static const unsigned char data[32];
    BAD_HEADER("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
               "\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}",
               data, 32, "overlap");
    BAD_HEADER("{\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]},"
               "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
               "\"c\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]}}",
               data, 32, "'b' [8, 24] and 'c' [16, 24] overlap");
    /* The same bytes twice are an overlap too. */
    BAD_HEADER("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
               "\"b\":{\"dtype\":\"I32\",\"shape\":[4],\"data_offsets\":[0,16]}}",
               data, 32, "overlap");
    BAD_HEADER("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
               "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}",
               data, 32, "appears twice");

    /* Empty tensors hold no bytes and overlap nothing; __metadata__ is
     * skipped; a header padded with spaces is fine. */
    const char *path = tmp_path("ok.safetensors");
    CHECK(write_st(path,
                   "{\"__metadata__\":{\"format\":\"pt\"},"
                   "\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                   "\"e\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[8,8]},"
                   "\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[16,32]}}    ",
                   data, 32));
    hr_st_file *f = NULL;
    char err[1024] = "";
    CHECKF(hr_st_open(path, &f, err, sizeof err) == HR_OK, "%s", err);
    CHECK(f && hr_st_count(f) == 3 && hr_st_find(f, "__metadata__") == NULL);
    CHECK(f && hr_st_find(f, "e") && hr_st_find(f, "e")->numel == 0);
    hr_st_close(f);
}

static void test_size_that_does_not_match_the_shape_is_refused(void)
{
    static const unsigned char data[64];
    BAD_HEADER("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,12]}}", data, 16,
               "needs 16");
    BAD_HEADER("{\"w\":{\"dtype\":\"F16\",\"shape\":[2,3],\"data_offsets\":[0,24]}}", data, 24,
               "span 24 bytes but shape [2, 3] of F16 needs 12");
    BAD_HEADER("{\"w\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,4]}}", data, 16,
               "needs 8");
}

static void test_shape_whose_element_count_overflows_is_refused(void)
{
    static const unsigned char data[16];
    BAD_HEADER("{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,2],"
               "\"data_offsets\":[0,16]}}",
               data, 16, "overflows");
    /* The count fits in 64 bits but its byte size does not. */
    BAD_HEADER("{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,1073741824],"
               "\"data_offsets\":[0,16]}}",
               data, 16, "byte size overflows");
    /* Too large to be an exact integer in JSON at all. */
    BAD_HEADER("{\"w\":{\"dtype\":\"F32\",\"shape\":[1e300],\"data_offsets\":[0,16]}}", data, 16,
               "shape entry 0");
}

static void test_weight_reads_check_name_dtype_and_shape(void)
{
    /* Data: 1 byte of U8, then 4 F32 at the odd offset 1 (an unaligned read),
     * then 2 I64, then a tensor of an unknown dtype. */
    unsigned char data[1 + 16 + 16 + 3] = {7};
    const float w[4] = {1.5f, -2.25f, 3.0f, 1e-3f};
    memcpy(data + 1, w, sizeof w); /* little-endian host */
    const char *path = tmp_path("reads.safetensors");
    CHECK(write_st(path,
                   "{\"u\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                   "\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[1,17]},"
                   "\"ids\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[17,33]},"
                   "\"odd\":{\"dtype\":\"Q3_K\",\"shape\":[1],\"data_offsets\":[33,36]}}",
                   data, sizeof data));
    hr_st_file *f = NULL;
    char err[1024] = "";
    CHECKF(hr_st_open(path, &f, err, sizeof err) == HR_OK, "unknown dtype refused at open: %s",
           err);
    if (!f) return;
    float out[4] = {0};
    int64_t s22[2] = {2, 2}, s4[1] = {4}, s2[1] = {2}, s1[1] = {1};
    CHECKF(hr_st_read_f32(f, "w", 2, s22, out, err, sizeof err) == HR_OK, "%s", err);
    CHECK(memcmp(out, w, sizeof w) == 0);

    CHECK(hr_st_read_f32(f, "w", 1, s4, out, err, sizeof err) == HR_ERR_MODEL);
    CHECKF(strstr(err, "'w' has shape [2, 2]; expected [4]") && strstr(err, base_of(path)), "%s",
           err);
    CHECK(hr_st_read_f32(f, "ids", 1, s2, out, err, sizeof err) == HR_ERR_MODEL);
    CHECKF(strstr(err, "'ids' has dtype I64"), "%s", err);
    CHECK(hr_st_read_f32(f, "odd", 1, s1, out, err, sizeof err) == HR_ERR_MODEL);
    CHECKF(strstr(err, "Q3_K (unknown)"), "%s", err);
    CHECK(hr_st_read_f32(f, "missing", 1, s1, out, err, sizeof err) == HR_ERR_MODEL);
    CHECKF(strstr(err, "no tensor 'missing'") && strstr(err, base_of(path)), "%s", err);
    hr_st_close(f);
}

/* binary16 decoded with arithmetic only, independently of the bit shuffling
 * under test. NaN is returned as NaN (payload checked separately). */
static double f16_reference(uint16_t h)
{
    int sign = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(1024 + m, e - 25);
    return sign ? -v : v;
}

static void test_every_f16_value_converts_exactly(void)
{
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float got = hr_f16_to_f32((uint16_t)h);
        double want = f16_reference((uint16_t)h);
        uint32_t bits;
        memcpy(&bits, &got, sizeof bits);
        int ok;
        if (isnan(want)) /* quiet/signalling bit and payload carried over */
            ok = isnan(got) && bits == (((h & 0x8000u) << 16) | 0x7f800000u | ((h & 0x3ffu) << 13));
        else
            ok = (double)got == want && !!signbit(got) == !!(h & 0x8000u);
        if (!ok && bad++ < 5) CHECKF(ok, "f16 0x%04x -> %.9g (bits %08x)", h, got, bits);
    }
    CHECKF(bad == 0, "%d of 65536 half values converted wrongly", bad);
    CHECK(hr_f16_to_f32(0x0001) == ldexpf(1.0f, -24));        /* smallest subnormal */
    CHECK(hr_f16_to_f32(0x03ff) == 1023.0f * ldexpf(1.0f, -24)); /* largest subnormal */
    CHECK(hr_f16_to_f32(0x7bff) == 65504.0f);
    CHECK(hr_f16_to_f32(0xfc00) == -INFINITY);
}

static void test_f16_and_bf16_tensors_convert_exactly(void)
{
    static const uint16_t f16[12] = {0x0000, 0x8000, 0x3c00, 0xc000, 0x7bff, 0x0001,
                                     0x03ff, 0x0400, 0x7c00, 0xfc00, 0x7e00, 0x3555};
    static const uint16_t bf16[6] = {0x3f80, 0xc040, 0x7f80, 0x0001, 0x7fc0, 0x3eab};
    unsigned char data[24 + 12];
    for (int i = 0; i < 12; i++) data[2 * i] = f16[i] & 0xff, data[2 * i + 1] = f16[i] >> 8;
    for (int i = 0; i < 6; i++)
        data[24 + 2 * i] = bf16[i] & 0xff, data[24 + 2 * i + 1] = bf16[i] >> 8;
    const char *path = tmp_path("half.safetensors");
    CHECK(write_st(path,
                   "{\"h\":{\"dtype\":\"F16\",\"shape\":[3,4],\"data_offsets\":[0,24]},"
                   "\"b\":{\"dtype\":\"BF16\",\"shape\":[6],\"data_offsets\":[24,36]}}",
                   data, sizeof data));
    hr_st_file *f = NULL;
    char err[1024] = "";
    CHECKF(hr_st_open(path, &f, err, sizeof err) == HR_OK, "%s", err);
    if (!f) return;
    float out[12];
    int64_t s34[2] = {3, 4}, s6[1] = {6};
    CHECKF(hr_st_read_f32(f, "h", 2, s34, out, err, sizeof err) == HR_OK, "%s", err);
    const float want[12] = {0.0f, -0.0f, 1.0f, -2.0f, 65504.0f, ldexpf(1.0f, -24),
                            1023.0f * ldexpf(1.0f, -24), ldexpf(1.0f, -14), INFINITY, -INFINITY,
                            NAN, 0.333251953125f};
    for (int i = 0; i < 12; i++) {
        if (isnan(want[i])) CHECKF(isnan(out[i]), "h[%d] = %g", i, out[i]);
        else CHECKF(out[i] == want[i] && !!signbit(out[i]) == !!signbit(want[i]),
                    "h[%d] = %.9g, expected %.9g", i, out[i], want[i]);
    }
    CHECKF(hr_st_read_f32(f, "b", 1, s6, out, err, sizeof err) == HR_OK, "%s", err);
    const float bwant[6] = {1.0f, -3.0f, INFINITY, ldexpf(1.0f, -133), NAN, 0.333984375f};
    for (int i = 0; i < 6; i++) {
        uint32_t bits;
        memcpy(&bits, &out[i], sizeof bits);
        CHECKF(bits == (uint32_t)bf16[i] << 16, "b[%d] bits %08x", i, bits);
        if (!isnan(bwant[i])) CHECKF(out[i] == bwant[i], "b[%d] = %.9g", i, out[i]);
    }
    hr_st_close(f);
}

/* ---- tiny synthetic model folders ---------------------------------------- */

enum { TV = 10, TH = 4, THEADS = 2, TL = 2, TI = 8, TP = 8, TT = 2 };

typedef struct tiny_opts {
    const char *dtype;       /* weights stored as "F32" (default), "F16" or "BF16" */
    const char *prefix;      /* "" (default) or "bert." */
    int gamma_beta;          /* LayerNorm parameters named gamma/beta */
    const char *drop;        /* a tensor left out */
    const char *as_i32;      /* a tensor stored as I32 */
    const char *transposed;  /* a 2-d tensor stored with its dimensions swapped */
} tiny_opts;

/* Tensor k of the tiny model, element i. Multiples of 1/64 in [-100/64,
 * 99/64]: exact in F32, F16 and BF16 alike. */
static float tiny_value(int k, size_t i)
{
    return (float)((int)((k * 37 + (int)i * 11) % 201) - 100) / 64.0f;
}

/* Names and shapes of the tiny model's weights, in a fixed order (k). */
static int tiny_tensor(int k, char *name, size_t len, int64_t *d0, int64_t *d1)
{
    static const struct {
        const char *name;
        int64_t d0, d1;
    } EMB[] = {
        {"embeddings.word_embeddings.weight", TV, TH},
        {"embeddings.position_embeddings.weight", TP, TH},
        {"embeddings.token_type_embeddings.weight", TT, TH},
        {"embeddings.LayerNorm.weight", TH, 0},
        {"embeddings.LayerNorm.bias", TH, 0},
    };
    static const struct {
        const char *suffix;
        int64_t d0, d1;
    } LAYER[] = {
        {"attention.self.query.weight", TH, TH}, {"attention.self.query.bias", TH, 0},
        {"attention.self.key.weight", TH, TH},   {"attention.self.key.bias", TH, 0},
        {"attention.self.value.weight", TH, TH}, {"attention.self.value.bias", TH, 0},
        {"attention.output.dense.weight", TH, TH}, {"attention.output.dense.bias", TH, 0},
        {"attention.output.LayerNorm.weight", TH, 0}, {"attention.output.LayerNorm.bias", TH, 0},
        {"intermediate.dense.weight", TI, TH},   {"intermediate.dense.bias", TI, 0},
        {"output.dense.weight", TH, TI},         {"output.dense.bias", TH, 0},
        {"output.LayerNorm.weight", TH, 0},      {"output.LayerNorm.bias", TH, 0},
    };
    if (k < 5) {
        snprintf(name, len, "%s", EMB[k].name);
        *d0 = EMB[k].d0, *d1 = EMB[k].d1;
        return 1;
    }
    k -= 5;
    if (k >= 16 * TL) return 0;
    snprintf(name, len, "encoder.layer.%d.%s", k / 16, LAYER[k % 16].suffix);
    *d0 = LAYER[k % 16].d0, *d1 = LAYER[k % 16].d1;
    return 1;
}

/* Exact binary16 bits of a float that is a normal F16 value (or zero). */
static uint16_t f16_bits(float v)
{
    if (v == 0) return signbit(v) ? 0x8000 : 0;
    int e;
    double m = frexp(fabs((double)v), &e); /* |v| = m 2^e, m in [0.5, 1) */
    uint16_t mant = (uint16_t)((m * 2 - 1) * 1024);
    return (uint16_t)((v < 0 ? 0x8000 : 0) | (uint16_t)(e - 1 + 15) << 10 | mant);
}

/* Writes the tiny model's model.safetensors into dir. */
static int write_tiny_weights(const char *dir, const tiny_opts *o)
{
    const char *dtype = o->dtype ? o->dtype : "F32";
    const char *prefix = o->prefix ? o->prefix : "";
    size_t isz = strcmp(dtype, "F32") == 0 ? 4 : 2;
    /* data: every tensor back to back, little-endian; at most 64 tensors of
     * at most TV*TH, TI*TH or TP*TH elements of at most 8 bytes. */
    size_t cap = 64 * 64 * 8, used = 0;
    unsigned char *data = calloc(1, cap);
    cJSON *h = cJSON_CreateObject();
    cJSON *meta = cJSON_AddObjectToObject(h, "__metadata__");
    cJSON_AddStringToObject(meta, "format", "pt");

    /* position_ids (I64, ignored) and a pooler weight (ignored) first. */
    char name[160], full[200];
    {
        cJSON *t = cJSON_AddObjectToObject(h, strcmp(prefix, "") ? "bert.embeddings.position_ids"
                                                                  : "embeddings.position_ids");
        cJSON_AddStringToObject(t, "dtype", "I64");
        cJSON *shape = cJSON_AddArrayToObject(t, "shape");
        cJSON_AddItemToArray(shape, cJSON_CreateNumber(1));
        cJSON_AddItemToArray(shape, cJSON_CreateNumber(TP));
        for (int i = 0; i < TP; i++) data[used + 8 * (size_t)i] = (unsigned char)i;
        cJSON *off = cJSON_AddArrayToObject(t, "data_offsets");
        cJSON_AddItemToArray(off, cJSON_CreateNumber((double)used));
        used += 8 * TP;
        cJSON_AddItemToArray(off, cJSON_CreateNumber((double)used));
    }
    int64_t d0, d1;
    for (int k = 0; tiny_tensor(k, name, sizeof name, &d0, &d1); k++) {
        if (o->drop && strcmp(o->drop, name) == 0) continue;
        snprintf(full, sizeof full, "%s%s", prefix, name);
        if (o->gamma_beta) {
            size_t n = strlen(full);
            if (n > 7 && strcmp(full + n - 7, ".weight") == 0 && strstr(full, "LayerNorm"))
                snprintf(full + n - 7, sizeof full - (n - 7), ".gamma");
            else if (n > 5 && strcmp(full + n - 5, ".bias") == 0 && strstr(full, "LayerNorm"))
                snprintf(full + n - 5, sizeof full - (n - 5), ".beta");
        }
        int i32 = o->as_i32 && strcmp(o->as_i32, name) == 0;
        int swap = o->transposed && strcmp(o->transposed, name) == 0;
        cJSON *t = cJSON_AddObjectToObject(h, full);
        cJSON_AddStringToObject(t, "dtype", i32 ? "I32" : dtype);
        cJSON *shape = cJSON_AddArrayToObject(t, "shape");
        cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)(swap ? d1 : d0)));
        if (d1) cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)(swap ? d0 : d1)));
        size_t n = (size_t)d0 * (size_t)(d1 ? d1 : 1);
        size_t esz = i32 ? 4 : isz;
        cJSON *off = cJSON_AddArrayToObject(t, "data_offsets");
        cJSON_AddItemToArray(off, cJSON_CreateNumber((double)used));
        for (size_t i = 0; i < n; i++) {
            float v = tiny_value(k, i);
            unsigned char *p = data + used + i * esz;
            uint32_t b32;
            memcpy(&b32, &v, 4);
            if (i32) b32 = (uint32_t)(int32_t)(v * 64);
            if (esz == 4) {
                for (int j = 0; j < 4; j++) p[j] = (unsigned char)(b32 >> (8 * j));
            } else {
                uint16_t b16 = strcmp(dtype, "F16") == 0 ? f16_bits(v) : (uint16_t)(b32 >> 16);
                p[0] = b16 & 0xff, p[1] = (unsigned char)(b16 >> 8);
            }
        }
        used += n * esz;
        cJSON_AddItemToArray(off, cJSON_CreateNumber((double)used));
    }
    {
        cJSON *t = cJSON_AddObjectToObject(h, "pooler.dense.weight");
        cJSON_AddStringToObject(t, "dtype", "F32");
        cJSON *shape = cJSON_AddArrayToObject(t, "shape");
        cJSON_AddItemToArray(shape, cJSON_CreateNumber(TH));
        cJSON_AddItemToArray(shape, cJSON_CreateNumber(TH));
        cJSON *off = cJSON_AddArrayToObject(t, "data_offsets");
        cJSON_AddItemToArray(off, cJSON_CreateNumber((double)used));
        used += 4 * TH * TH;
        cJSON_AddItemToArray(off, cJSON_CreateNumber((double)used));
    }
    char *header = cJSON_PrintUnformatted(h);
    char path[1024];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    int ok = used <= cap && write_st(path, header, data, used);
    free(header);
    cJSON_Delete(h);
    free(data);
    return ok;
}

static const char TINY_CONFIG[] =
    "{\"model_type\": \"bert\", \"hidden_act\": \"gelu\", \"hidden_size\": 4,"
    " \"num_hidden_layers\": 2, \"num_attention_heads\": 2, \"intermediate_size\": 8,"
    " \"vocab_size\": 10, \"max_position_embeddings\": 8, \"type_vocab_size\": 2,"
    " \"layer_norm_eps\": 1e-5, \"position_embedding_type\": \"absolute\"}";
static const char TINY_MODULES[] =
    "[{\"idx\": 0, \"name\": \"0\", \"path\": \"\", \"type\": "
    "\"sentence_transformers.models.Transformer\"},"
    " {\"idx\": 1, \"name\": \"1\", \"path\": \"1_Pooling\", \"type\": "
    "\"sentence_transformers.models.Pooling\"},"
    " {\"idx\": 2, \"name\": \"2\", \"path\": \"2_Normalize\", \"type\": "
    "\"sentence_transformers.models.Normalize\"}]";
static const char TINY_POOLING[] =
    "{\"word_embedding_dimension\": 4, \"pooling_mode_cls_token\": false,"
    " \"pooling_mode_mean_tokens\": true, \"pooling_mode_max_tokens\": false,"
    " \"pooling_mode_mean_sqrt_len_tokens\": false}";
static const char TINY_VOCAB[] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\nworld\n##s\na\nb\n";

/* A complete tiny model folder; returns its path (static rotation). */
static const char *make_tiny(const tiny_opts *o)
{
    const char *dir = tmp_path("tiny");
    char sub[1024];
    snprintf(sub, sizeof sub, "%s/1_Pooling", dir);
    int ok = mkdir(dir, 0700) == 0 && mkdir(sub, 0700) == 0 &&
             write_text(dir, "config.json", TINY_CONFIG) &&
             write_text(dir, "modules.json", TINY_MODULES) &&
             write_text(dir, "1_Pooling/config.json", TINY_POOLING) &&
             write_text(dir, "sentence_bert_config.json", "{\"max_seq_length\": 6}") &&
             write_text(dir, "tokenizer_config.json", "{\"do_lower_case\": true}") &&
             write_text(dir, "vocab.txt", TINY_VOCAB) && write_tiny_weights(dir, o);
    CHECKF(ok, "cannot write the tiny model in %s", dir);
    return dir;
}

/* Every weight of a loaded tiny model equals tiny_value, wherever the loader
 * put it. */
static void check_tiny_weights(const hr_model *m, const char *what)
{
    char name[160];
    int64_t d0, d1;
    int bad = 0;
    for (int k = 0; tiny_tensor(k, name, sizeof name, &d0, &d1); k++) {
        size_t n = 0;
        const float *p = model_tensor(m, name, &n);
        CHECKF(p && n == (size_t)d0 * (size_t)(d1 ? d1 : 1), "%s: %s", what, name);
        if (!p) continue;
        for (size_t i = 0; i < n; i++)
            if (p[i] != tiny_value(k, i) && bad++ < 5)
                CHECKF(0, "%s: %s[%zu] = %g, expected %g", what, name, i, p[i], tiny_value(k, i));
    }
    CHECKF(bad == 0, "%s: %d weights differ", what, bad);
}

/* Loads dir, expecting failure with st and a message holding `what`. */
static void expect_load_error(const char *dir, hr_status want, const char *what, int line)
{
    hr_model *m = NULL;
    char err[1024] = "";
    hr_status st = hr_model_load(dir, &m, err, sizeof err);
    CHECKF(st == want, "(line %d) status %d, expected %d: %s", line, st, want, err);
    CHECKF(strstr(err, what) != NULL, "(line %d) message lacks \"%s\": %s", line, what, err);
    CHECK(m == NULL);
    hr_model_destroy(m);
}
#define LOAD_ERROR(dir, st, what) expect_load_error(dir, st, what, __LINE__)

static hr_model *load_ok(const char *dir, int line)
{
    hr_model *m = NULL;
    char err[1024] = "";
    CHECKF(hr_model_load(dir, &m, err, sizeof err) == HR_OK, "(line %d) %s", line, err);
    return m;
}
#define LOAD_OK(dir) load_ok(dir, __LINE__)

static void test_tiny_model_loads_with_qkv_fused_in_order(void)
{
    tiny_opts o = {0};
    hr_model *m = LOAD_OK(make_tiny(&o));
    if (!m) return;
    CHECK(m->hidden == TH && m->n_heads == THEADS && m->n_layers == TL && m->intermediate == TI);
    CHECK(m->vocab_size == TV && m->max_position == TP && m->type_vocab == TT);
    CHECK(m->ln_eps == 1e-5f && m->max_seq_length == 6);
    CHECK(m->pooling == HR_POOL_MEAN && m->normalize == 1);
    CHECK(strcmp(hr_model_weight_dtype(m), "F32") == 0);
    CHECK(strncmp(hr_model_name(m), "tiny-", 5) == 0);
    check_tiny_weights(m, "F32");
    /* The fused matrix directly: layer 1, key row 2 is tensor
     * encoder.layer.1.attention.self.key.weight (k = 5 + 16 + 2), row 2. */
    for (int j = 0; j < TH; j++)
        CHECK(m->layers[1].qkv_w[(TH + 2) * TH + j] == tiny_value(5 + 16 + 2, (size_t)(2 * TH + j)));
    /* value bias: k = 5 + 5, landing in the last third of qkv_b */
    for (int j = 0; j < TH; j++) CHECK(m->layers[0].qkv_b[2 * TH + j] == tiny_value(10, (size_t)j));
    /* Every buffer is 64-byte aligned. */
    CHECK((uintptr_t)m->word_emb % 64 == 0 && (uintptr_t)m->layers[1].in_w % 64 == 0);
    hr_model_destroy(m);
}

static void test_f16_and_bf16_tiny_models_load_the_same_values(void)
{
    tiny_opts o32 = {0}, o16 = {.dtype = "F16"}, ob16 = {.dtype = "BF16"};
    hr_model *a = LOAD_OK(make_tiny(&o32));
    hr_model *b = LOAD_OK(make_tiny(&o16));
    hr_model *c = LOAD_OK(make_tiny(&ob16));
    if (a && b && c) {
        check_tiny_weights(b, "F16");
        check_tiny_weights(c, "BF16");
        CHECK(strcmp(hr_model_weight_dtype(b), "F16") == 0);
        CHECK(strcmp(hr_model_weight_dtype(c), "BF16") == 0);
        /* Same values, other bytes on disk: other identities. */
        CHECK(strcmp(hr_model_id(a), hr_model_id(b)) != 0);
        CHECK(strcmp(hr_model_id(a), hr_model_id(c)) != 0);
        CHECK(strcmp(hr_model_id(b), hr_model_id(c)) != 0);
    }
    hr_model_destroy(a);
    hr_model_destroy(b);
    hr_model_destroy(c);
}

/* The bytes of dir/model.safetensors (free them); *len their count. */
static unsigned char *read_weights(const char *dir, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    FILE *f = fopen(path, "rb");
    unsigned char *b = NULL;
    *len = 0;
    if (f && fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        if (n > 0 && fseek(f, 0, SEEK_SET) == 0 && (b = malloc((size_t)n)) &&
            fread(b, 1, (size_t)n, f) == (size_t)n)
            *len = (size_t)n;
    }
    if (f) fclose(f);
    return b;
}

static void write_weights(const char *dir, const unsigned char *b, size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    FILE *f = fopen(path, "wb");
    CHECKF(f && fwrite(b, 1, len, f) == len, "cannot write %s", path);
    if (f) fclose(f);
}

/* Rewrites dir's weights with `extra` bytes inserted at offset `at`. */
static void splice_weights(const char *dir, size_t at, size_t extra)
{
    size_t len;
    unsigned char *b = read_weights(dir, &len);
    unsigned char *c = calloc(1, len + extra);
    if (b && c && at <= len) {
        memcpy(c, b, at);
        memset(c + at, 0x3f, extra);
        memcpy(c + at + extra, b + at, len - at);
        write_weights(dir, c, len + extra);
    }
    free(b), free(c);
}

/* The offset where dir's data section starts (8 + header length). */
static size_t data_start(const char *dir)
{
    size_t len, start = 0;
    unsigned char *b = read_weights(dir, &len);
    for (int i = 7; b && len >= 8 && i >= 0; i--) start = (start << 8) | b[i];
    free(b);
    return 8 + start;
}

static void test_shifted_gapped_and_truncated_weights_are_refused(void)
{
    tiny_opts o = {0};
    /* Four bytes between the header and the data shift every weight. */
    const char *shifted = make_tiny(&o);
    splice_weights(shifted, data_start(shifted), 4);
    LOAD_ERROR(shifted, HR_ERR_MODEL, "4 bytes belong to no tensor");
    /* Bytes after the last tensor, or between two. */
    const char *trailing = make_tiny(&o);
    size_t len;
    free(read_weights(trailing, &len));
    splice_weights(trailing, len, 16);
    LOAD_ERROR(trailing, HR_ERR_MODEL, "16 bytes belong to no tensor");
    const char *gap = make_tiny(&o);
    splice_weights(gap, data_start(gap) + 8 * TP, 4); /* after position_ids: offsets no longer match */
    LOAD_ERROR(gap, HR_ERR_MODEL, "model.safetensors");
    /* Cut short: the last tensors run past the end. */
    const char *cut = make_tiny(&o);
    unsigned char *b = read_weights(cut, &len);
    if (b) write_weights(cut, b, len - 10);
    free(b);
    LOAD_ERROR(cut, HR_ERR_MODEL, "file truncated?");
}

/* Writes dir's record: the weights' SHA-256, or `digest` when given. */
static void write_record(const char *dir, const char *digest)
{
    char hex[65], line[200];
    size_t len;
    unsigned char *b = read_weights(dir, &len);
    hr_sha256_hex(b, len, hex);
    free(b);
    snprintf(line, sizeof line, "%s  model.safetensors\n", digest ? digest : hex);
    CHECK(write_text(dir, "model.safetensors.sha256", line));
}

static void test_recorded_sha256_is_checked_and_says_what_to_do(void)
{
    tiny_opts o = {0};
    const char *dir = make_tiny(&o);
    write_record(dir, NULL);
    hr_model *m = LOAD_OK(dir);
    if (m) check_tiny_weights(m, "recorded");
    hr_model_destroy(m);

    /* One weight changed in place: the structure is fine, the digest is not. */
    size_t len;
    unsigned char *b = read_weights(dir, &len);
    if (b) {
        b[len - 1] ^= 0x40;
        write_weights(dir, b, len);
    }
    free(b);
    LOAD_ERROR(dir, HR_ERR_MODEL, "scripts/fetch-model.sh");
    LOAD_ERROR(dir, HR_ERR_MODEL, "--no-verify-model");
    hr_model_options skip = {.no_verify = 1};
    char err[1024] = "";
    m = NULL;
    CHECKF(hr_model_load_with(dir, &skip, &m, err, sizeof err) == HR_OK, "%s", err);
    hr_model_destroy(m);

    /* A damaged file whose structure breaks too gets the record's message. */
    const char *shifted = make_tiny(&o);
    write_record(shifted, NULL);
    splice_weights(shifted, data_start(shifted), 4);
    LOAD_ERROR(shifted, HR_ERR_MODEL, "differs from the");

    /* A record that is not one. */
    const char *bad = make_tiny(&o);
    write_record(bad, "not-a-digest");
    LOAD_ERROR(bad, HR_ERR_MODEL, "not a SHA-256 record");
}

static void test_bert_prefix_and_gamma_beta_names_are_accepted(void)
{
    tiny_opts o = {.prefix = "bert."};
    hr_model *m = LOAD_OK(make_tiny(&o));
    if (m) check_tiny_weights(m, "bert. prefix");
    hr_model_destroy(m);
    tiny_opts g = {.prefix = "bert.", .gamma_beta = 1};
    m = LOAD_OK(make_tiny(&g));
    if (m) check_tiny_weights(m, "gamma/beta");
    hr_model_destroy(m);
}

static void test_bad_weights_are_refused_naming_the_tensor(void)
{
    tiny_opts drop = {.drop = "encoder.layer.1.output.dense.bias"};
    LOAD_ERROR(make_tiny(&drop), HR_ERR_MODEL, "no tensor 'encoder.layer.1.output.dense.bias'");
    tiny_opts i32 = {.as_i32 = "encoder.layer.0.attention.self.key.weight"};
    LOAD_ERROR(make_tiny(&i32), HR_ERR_MODEL,
               "'encoder.layer.0.attention.self.key.weight' has dtype I32");
    tiny_opts tr = {.transposed = "encoder.layer.1.intermediate.dense.weight"};
    LOAD_ERROR(make_tiny(&tr), HR_ERR_MODEL,
               "'encoder.layer.1.intermediate.dense.weight' has shape [4, 8]; expected [8, 4]");
    tiny_opts noemb = {.drop = "embeddings.word_embeddings.weight"};
    LOAD_ERROR(make_tiny(&noemb), HR_ERR_MODEL, "not a BERT model");

    /* A corrupt weight file fails the load the same way as hr_st_open. */
    tiny_opts o = {0};
    const char *dir = make_tiny(&o);
    char path[1024];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    CHECK(write_st(path, "{\"a\":1}", NULL, 0));
    LOAD_ERROR(dir, HR_ERR_MODEL, "model.safetensors: tensor 'a': header entry is not an object");
}

/* TINY_CONFIG with its first `from` replaced by `to` (static buffer). */
static const char *tiny_config_with(const char *from, const char *to)
{
    static char buf[2048];
    const char *at = strstr(TINY_CONFIG, from);
    if (!at) return TINY_CONFIG;
    snprintf(buf, sizeof buf, "%.*s%s%s", (int)(at - TINY_CONFIG), TINY_CONFIG, to,
             at + strlen(from));
    return buf;
}

static void test_huge_claimed_dimensions_fail_on_shape_before_allocating(void)
{
    tiny_opts o = {0};
    const char *dir = make_tiny(&o);
    /* 2^24 x 2^16 floats would be 4 TiB: the header check must come first. */
    CHECK(write_text(dir, "config.json",
                     tiny_config_with("\"vocab_size\": 10", "\"vocab_size\": 16777216")));
    LOAD_ERROR(dir, HR_ERR_MODEL,
               "'embeddings.word_embeddings.weight' has shape [10, 4]; expected [16777216, 4]");
    CHECK(write_text(dir, "config.json",
                     tiny_config_with("\"num_hidden_layers\": 2", "\"num_hidden_layers\": 1000")));
    LOAD_ERROR(dir, HR_ERR_MODEL, "no tensor 'encoder.layer.2.attention.self.query.weight'");
}

static void test_config_errors_are_model_errors_that_say_why(void)
{
    tiny_opts o = {0};
    const char *dir = make_tiny(&o);
    char cfg[2048];

    /* hidden_act other than gelu */
    snprintf(cfg, sizeof cfg, "%s", TINY_CONFIG);
    memcpy(strstr(cfg, "\"gelu\""), "\"relu\"", 6);
    CHECK(write_text(dir, "config.json", cfg));
    LOAD_ERROR(dir, HR_ERR_MODEL, "hidden_act \"relu\" is not supported");

    /* hidden % heads */
    snprintf(cfg, sizeof cfg, "%s", TINY_CONFIG);
    memcpy(strstr(cfg, "\"num_attention_heads\": 2"), "\"num_attention_heads\": 3", 24);
    CHECK(write_text(dir, "config.json", cfg));
    LOAD_ERROR(dir, HR_ERR_MODEL, "not a multiple of num_attention_heads 3");

    /* another architecture */
    snprintf(cfg, sizeof cfg, "%s", TINY_CONFIG);
    memcpy(strstr(cfg, "\"bert\""), "\"bart\"", 6);
    CHECK(write_text(dir, "config.json", cfg));
    LOAD_ERROR(dir, HR_ERR_MODEL, "model_type is \"bart\"");

    /* a size out of range, a size of the wrong type */
    snprintf(cfg, sizeof cfg, "%s", TINY_CONFIG);
    memcpy(strstr(cfg, "\"hidden_size\": 4"), "\"hidden_size\": 0", 16);
    CHECK(write_text(dir, "config.json", cfg));
    LOAD_ERROR(dir, HR_ERR_MODEL, "\"hidden_size\" must be an integer");
    snprintf(cfg, sizeof cfg, "%s", TINY_CONFIG);
    memcpy(strstr(cfg, "\"vocab_size\": 10"), "\"vocab_size\": \"\"", 16);
    CHECK(write_text(dir, "config.json", cfg));
    LOAD_ERROR(dir, HR_ERR_MODEL, "\"vocab_size\" must be an integer");

    /* not JSON */
    CHECK(write_text(dir, "config.json", "{\"model_type\": "));
    LOAD_ERROR(dir, HR_ERR_MODEL, "config.json: not valid JSON");
    CHECK(write_text(dir, "config.json", TINY_CONFIG));

    /* pooling: two modes, an unsupported mode, none */
    CHECK(write_text(dir, "1_Pooling/config.json",
                     "{\"pooling_mode_cls_token\": true, \"pooling_mode_mean_tokens\": true}"));
    LOAD_ERROR(dir, HR_ERR_MODEL, "2 pooling modes are set (cls, mean)");
    CHECK(write_text(dir, "1_Pooling/config.json", "{\"pooling_mode_weightedmean_tokens\": true}"));
    LOAD_ERROR(dir, HR_ERR_MODEL, "weightedmean pooling is not supported");
    CHECK(write_text(dir, "1_Pooling/config.json", "{\"pooling_mode_mean_tokens\": false}"));
    LOAD_ERROR(dir, HR_ERR_MODEL, "no pooling mode");
    CHECK(write_text(dir, "1_Pooling/config.json",
                     "{\"pooling_mode_mean_tokens\": true, \"word_embedding_dimension\": 5}"));
    LOAD_ERROR(dir, HR_ERR_MODEL, "word_embedding_dimension 5");
    CHECK(write_text(dir, "1_Pooling/config.json", TINY_POOLING));

    /* a module that would change the embedding */
    CHECK(write_text(dir, "modules.json",
                     "[{\"path\": \"\", \"type\": \"sentence_transformers.models.Transformer\"},"
                     " {\"path\": \"2_Dense\", \"type\": \"sentence_transformers.models.Dense\"}]"));
    LOAD_ERROR(dir, HR_ERR_MODEL, "\"sentence_transformers.models.Dense\" is not supported");
    CHECK(write_text(dir, "modules.json",
                     "[{\"path\": \"../x\", \"type\": \"sentence_transformers.models.Pooling\"}]"));
    LOAD_ERROR(dir, HR_ERR_MODEL, "leaves the model folder");
    CHECK(write_text(dir, "modules.json", TINY_MODULES));

    /* tokenizer options of the wrong type */
    CHECK(write_text(dir, "tokenizer_config.json", "{\"strip_accents\": \"yes\"}"));
    LOAD_ERROR(dir, HR_ERR_MODEL, "strip_accents");
    CHECK(write_text(dir, "tokenizer_config.json", "{\"do_lower_case\": true}"));

    /* a vocabulary longer than the embedding table */
    CHECK(write_text(dir, "vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\nworld\n##s\na\nb\nc\n"));
    LOAD_ERROR(dir, HR_ERR_MODEL, "more than the 10 rows");
    CHECK(write_text(dir, "vocab.txt", TINY_VOCAB));

    hr_model *m = LOAD_OK(dir);
    CHECK(m != NULL);
    hr_model_destroy(m);
}

static void test_missing_folder_or_files_say_to_run_fetch_model(void)
{
    char dir[600];
    snprintf(dir, sizeof dir, "%s/no-such-model", tmp_root);
    LOAD_ERROR(dir, HR_ERR_MODEL, "no-such-model");
    LOAD_ERROR(dir, HR_ERR_MODEL, "scripts/fetch-model.sh");

    tiny_opts o = {0};
    const char *tiny = make_tiny(&o);
    char path[1024];
    static const char *const REQUIRED[] = {"config.json", "modules.json", "vocab.txt"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", tiny, REQUIRED[i]);
        char saved[1100];
        snprintf(saved, sizeof saved, "%s.saved", path);
        CHECK(rename(path, saved) == 0);
        LOAD_ERROR(tiny, HR_ERR_MODEL, REQUIRED[i]);
        LOAD_ERROR(tiny, HR_ERR_MODEL, "scripts/fetch-model.sh");
        CHECK(rename(saved, path) == 0);
    }
    snprintf(path, sizeof path, "%s/model.safetensors", tiny);
    CHECK(remove(path) == 0);
    LOAD_ERROR(tiny, HR_ERR_MODEL, "model.safetensors: not found");
    CHECK(write_text(tiny, "pytorch_model.bin", "PK"));
    LOAD_ERROR(tiny, HR_ERR_MODEL, "scripts/convert-bin-to-safetensors.py");

    /* A file where the folder should be. */
    snprintf(path, sizeof path, "%s/vocab.txt", tiny);
    LOAD_ERROR(path, HR_ERR_MODEL, "not a folder");
}

static void test_optional_files_have_sentence_transformers_defaults(void)
{
    tiny_opts o = {0};
    const char *dir = make_tiny(&o);
    char path[1024];
    static const char *const OPTIONAL[] = {"sentence_bert_config.json", "1_Pooling/config.json",
                                           "tokenizer_config.json"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, OPTIONAL[i]);
        CHECK(remove(path) == 0);
    }
    CHECK(write_text(dir, "modules.json",
                     "[{\"path\": \"\", \"type\": \"sentence_transformers.models.Transformer\"},"
                     " {\"path\": \"1_Pooling\", \"type\": \"sentence_transformers.models.Pooling\"}]"));
    hr_model *m = LOAD_OK(dir);
    if (m) {
        /* default 512, clamped to the 8 positions the model has */
        CHECK(m->max_seq_length == TP);
        CHECK(m->pooling == HR_POOL_MEAN && m->normalize == 0);
    }
    hr_model_destroy(m);

    CHECK(write_text(dir, "sentence_bert_config.json", "{\"max_seq_length\": 1000}"));
    CHECK(write_text(dir, "1_Pooling/config.json", "{\"pooling_mode_cls_token\": true}"));
    m = LOAD_OK(dir);
    if (m) CHECK(m->max_seq_length == TP && m->pooling == HR_POOL_CLS);
    hr_model_destroy(m);
}

static void test_id_follows_the_settings_that_change_embeddings(void)
{
    tiny_opts o = {0};
    const char *a = make_tiny(&o);
    char a_dir[512];
    snprintf(a_dir, sizeof a_dir, "%s", a);
    const char *b = make_tiny(&o); /* same files, another folder */
    hr_model *ma = LOAD_OK(a_dir), *mb = LOAD_OK(b);
    if (!ma || !mb) {
        hr_model_destroy(ma);
        hr_model_destroy(mb);
        return;
    }
    CHECK(strcmp(hr_model_id(ma), hr_model_id(mb)) == 0);
    CHECK(strcmp(hr_model_name(ma), hr_model_name(mb)) != 0);
    hr_model_destroy(mb);

    static const struct {
        const char *file, *text, *restore;
    } CHANGES[] = {
        {"sentence_bert_config.json", "{\"max_seq_length\": 5}", "{\"max_seq_length\": 6}"},
        {"1_Pooling/config.json", "{\"pooling_mode_cls_token\": true}", TINY_POOLING},
        {"modules.json", "[{\"path\": \"\", \"type\": \"sentence_transformers.models.Transformer\"}]",
         TINY_MODULES},
        {"tokenizer_config.json", "{\"do_lower_case\": false}", "{\"do_lower_case\": true}"},
        {"tokenizer_config.json", "{\"do_lower_case\": true, \"strip_accents\": false}",
         "{\"do_lower_case\": true}"},
        {"tokenizer_config.json", "{\"tokenize_chinese_chars\": false}", "{\"do_lower_case\": true}"},
        {"vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\nworld\n##s\nb\na\n", TINY_VOCAB},
    };
    for (size_t i = 0; i < sizeof CHANGES / sizeof CHANGES[0]; i++) {
        CHECK(write_text(b, CHANGES[i].file, CHANGES[i].text));
        mb = LOAD_OK(b);
        if (mb)
            CHECKF(strcmp(hr_model_id(ma), hr_model_id(mb)) != 0, "%s: %s leaves the id as it was",
                   CHANGES[i].file, CHANGES[i].text);
        hr_model_destroy(mb);
        CHECK(write_text(b, CHANGES[i].file, CHANGES[i].restore));
    }
    /* A setting that only restates the default does not change the id. */
    CHECK(write_text(b, "tokenizer_config.json",
                     "{\"do_lower_case\": true, \"strip_accents\": true, "
                     "\"tokenize_chinese_chars\": true}"));
    mb = LOAD_OK(b);
    if (mb) CHECK(strcmp(hr_model_id(ma), hr_model_id(mb)) == 0);
    hr_model_destroy(mb);
    hr_model_destroy(ma);
}

/* ---- the F16 copy made by scripts/make-f16-model.py ------------------------ */

static void test_f16_copy_from_the_script_loads_with_another_id(void)
{
    const char *src_root = getenv("HR_SOURCE_DIR");
    char script[1024], dst[600], cmd[4096];
    snprintf(script, sizeof script, "%s/scripts/make-f16-model.py", src_root ? src_root : ".");
    snprintf(dst, sizeof dst, "%s/minilm-f16", tmp_root);
    struct stat sb;
    if (stat(script, &sb) != 0) {
        fprintf(stderr, "note: %s not found; F16 copy not tested\n", script);
        return;
    }
    if (strchr(script, '\'') || strchr(test_model_dir(), '\'')) {
        fprintf(stderr, "note: a quote in a path; F16 copy not tested\n");
        return;
    }
    snprintf(cmd, sizeof cmd, "python3 '%s' '%s' '%s' >/dev/null", script, test_model_dir(), dst);
    int rc = system(cmd);
    if (rc == -1 || !WIFEXITED(rc) || WEXITSTATUS(rc) == 127) {
        fprintf(stderr, "note: python3 is not available; F16 copy not tested\n");
        return;
    }
    CHECKF(WEXITSTATUS(rc) == 0, "%s exited with %d", cmd, WEXITSTATUS(rc));
    char weights[700];
    snprintf(weights, sizeof weights, "%s/model.safetensors", dst);
    CHECK(stat(weights, &sb) == 0 && sb.st_size < 64L * 1024 * 1024);

    double t0 = now_s();
    hr_model *m = LOAD_OK(dst);
    double t1 = now_s();
    if (!m) return;
    fprintf(stderr, "  F16 copy: %lld bytes, loaded in %.3f s\n", (long long)sb.st_size, t1 - t0);
    CHECK(strcmp(hr_model_weight_dtype(m), "F16") == 0);
    CHECK(strcmp(hr_model_id(m), hr_model_id(real)) != 0);
    CHECK(hr_model_dim(m) == hr_model_dim(real));
    CHECK(hr_model_max_tokens(m) == hr_model_max_tokens(real));

    /* Each F16 weight is the F32 one rounded to nearest: off by at most half
     * an F16 ulp, i.e. 2^-11 relative for normal values, 2^-25 absolute for
     * subnormal ones (MiniLM has nothing beyond the F16 range). */
    int bad = 0;
    size_t checked = 0;
    char name[160];
    for (int l = -1; l < real->n_layers; l++) {
        static const char *const EMB[] = {"embeddings.word_embeddings.weight",
                                          "embeddings.position_embeddings.weight",
                                          "embeddings.token_type_embeddings.weight",
                                          "embeddings.LayerNorm.weight", "embeddings.LayerNorm.bias"};
        static const char *const LAYER[] = {
            "attention.self.query.weight", "attention.self.key.weight",
            "attention.self.value.weight", "attention.self.value.bias",
            "attention.output.dense.weight", "intermediate.dense.weight", "output.dense.weight",
            "output.LayerNorm.weight"};
        int count = l < 0 ? 5 : 8;
        for (int i = 0; i < count; i++) {
            if (l < 0) snprintf(name, sizeof name, "%s", EMB[i]);
            else snprintf(name, sizeof name, "encoder.layer.%d.%s", l, LAYER[i]);
            size_t n32 = 0, n16 = 0;
            const float *a = model_tensor(real, name, &n32), *b = model_tensor(m, name, &n16);
            CHECKF(a && b && n32 == n16, "%s", name);
            if (!a || !b) continue;
            for (size_t k = 0; k < n32; k++) {
                double bound = fmax(fabs((double)a[k]) * ldexp(1, -11), ldexp(1, -25));
                if (fabs((double)a[k] - (double)b[k]) > bound && bad++ < 5)
                    CHECKF(0, "%s[%zu]: F32 %.9g, F16 %.9g", name, k, a[k], b[k]);
            }
            checked += n32;
        }
    }
    CHECKF(bad == 0, "%d of %zu F16 weights are not the rounded F32 ones", bad, checked);
    hr_model_destroy(m);
}

int main(void)
{
    snprintf(tmp_root, sizeof tmp_root, "/tmp/hr-test-model-XXXXXX");
    if (!mkdtemp(tmp_root)) {
        fprintf(stderr, "mkdtemp: %s\n", strerror(errno));
        return 1;
    }

    RUN(test_truncated_files_are_refused);
    RUN(test_header_length_beyond_the_file_is_refused);
    RUN(test_header_that_is_not_a_json_object_is_refused);
    RUN(test_malformed_tensor_entries_are_refused);
    RUN(test_offsets_out_of_range_are_refused);
    RUN(test_overlapping_tensors_are_refused);
    RUN(test_size_that_does_not_match_the_shape_is_refused);
    RUN(test_shape_whose_element_count_overflows_is_refused);
    RUN(test_weight_reads_check_name_dtype_and_shape);
    RUN(test_every_f16_value_converts_exactly);
    RUN(test_f16_and_bf16_tensors_convert_exactly);

    RUN(test_tiny_model_loads_with_qkv_fused_in_order);
    RUN(test_f16_and_bf16_tiny_models_load_the_same_values);
    RUN(test_shifted_gapped_and_truncated_weights_are_refused);
    RUN(test_recorded_sha256_is_checked_and_says_what_to_do);
    RUN(test_bert_prefix_and_gamma_beta_names_are_accepted);
    RUN(test_bad_weights_are_refused_naming_the_tensor);
    RUN(test_config_errors_are_model_errors_that_say_why);
    RUN(test_huge_claimed_dimensions_fail_on_shape_before_allocating);
    RUN(test_missing_folder_or_files_say_to_run_fetch_model);
    RUN(test_optional_files_have_sentence_transformers_defaults);
    RUN(test_id_follows_the_settings_that_change_embeddings);

    char err[1024] = "";
    double t0 = now_s();
    hr_status st = hr_model_load(test_model_dir(), &real, err, sizeof err);
    double t1 = now_s();
    CHECKF(st == HR_OK, "cannot load the model (run scripts/fetch-model.sh): %s", err);
    if (st == HR_OK) {
        fprintf(stderr, "  %s loaded in %.3f s\n", test_model_dir(), t1 - t0);
        RUN(test_real_model_has_minilm_config_values);
        RUN(test_real_weights_match_the_safetensors_package);
        RUN(test_real_model_id_is_stable_and_ignores_a_trailing_slash);
        RUN(test_real_position_ids_are_checked_but_not_a_weight);
        RUN(test_f16_copy_from_the_script_loads_with_another_id);
    }
    hr_model_destroy(real);
    rm_tree(tmp_root);
    return test_summary();
}
