/*
 * host/io/safetensors.c: the checked safetensors reader (see safetensors.h).
 *
 * The file is mapped read-only. The header is copied out, NUL-terminated, and
 * parsed with cJSON; every field is checked and turned into an hr_st_tensor
 * before the mapping is handed out, so that later reads only index memory
 * that is known to lie inside the file.
 */
#include "io/safetensors.h"
#include "core/util.h"

#include <cjson/cJSON.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct hr_st_file {
    char *path;
    const unsigned char *map;  /* (size) the whole file, read-only */
    size_t size;
    uint64_t data_off;         /* 8 + header length: where the data section starts */
    uint64_t data_len;         /* size - data_off */
    hr_st_tensor *tensors;     /* (n) ascending begin */
    const hr_st_tensor **by_name; /* (n) pointers into tensors, ascending strcmp of name */
    size_t n;
};

/* Integers in JSON are doubles in cJSON; above 2^53 they are no longer exact. */
#define MAX_EXACT_INT 9007199254740992.0

static const struct {
    const char *name;
    hr_st_dtype dtype;
    size_t size;
} DTYPES[] = {
    {"F64", HR_ST_F64, 8}, {"F32", HR_ST_F32, 4}, {"F16", HR_ST_F16, 2}, {"BF16", HR_ST_BF16, 2},
    {"I64", HR_ST_I64, 8}, {"I32", HR_ST_I32, 4}, {"I16", HR_ST_I16, 2}, {"I8", HR_ST_I8, 1},
    {"U8", HR_ST_U8, 1},   {"BOOL", HR_ST_BOOL, 1},
};

size_t hr_st_dtype_size(hr_st_dtype dtype)
{
    for (size_t i = 0; i < sizeof DTYPES / sizeof DTYPES[0]; i++)
        if (DTYPES[i].dtype == dtype) return DTYPES[i].size;
    return 0;
}

static hr_st_dtype dtype_from_name(const char *s)
{
    for (size_t i = 0; i < sizeof DTYPES / sizeof DTYPES[0]; i++)
        if (strcmp(DTYPES[i].name, s) == 0) return DTYPES[i].dtype;
    return HR_ST_UNKNOWN;
}

float hr_f16_to_f32(uint16_t h)
{
    /* IEEE binary16: 1 sign, 5 exponent (bias 15), 10 mantissa bits. Every
     * binary16 value is exactly representable in binary32. */
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;
    uint32_t bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign; /* +-0 */
        } else {
            /* Subnormal: mant * 2^-24. Shift the leading 1 up to the hidden
             * bit position (bit 10), lowering the exponent once per shift;
             * 2^-14 (the smallest normal) has binary32 exponent 127 - 14. */
            uint32_t e = 127 - 14;
            while (!(mant & 0x400u)) {
                mant <<= 1;
                e--;
            }
            bits = sign | (e << 23) | ((mant & 0x3ffu) << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (mant << 13); /* inf, or NaN with its payload */
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

float hr_bf16_to_f32(uint16_t h)
{
    /* bfloat16 is the top half of a binary32. */
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static int host_is_little_endian(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

static uint64_t load_le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* A JSON number that is a whole number in [0, 2^53]. */
static int json_uint(const cJSON *j, uint64_t *out)
{
    if (!cJSON_IsNumber(j)) return 0;
    double d = j->valuedouble;
    if (!(d >= 0.0) || d > MAX_EXACT_INT || d != floor(d)) return 0;
    *out = (uint64_t)d;
    return 1;
}

static void format_shape(char *buf, size_t len, int ndim, const int64_t *shape)
{
    size_t used = 0;
    int w = snprintf(buf, len, "[");
    if (w < 0) return;
    used = (size_t)w;
    for (int i = 0; i < ndim && used < len; i++) {
        w = snprintf(buf + used, len - used, "%s%lld", i ? ", " : "", (long long)shape[i]);
        if (w < 0) return;
        used += (size_t)w;
    }
    if (used < len) snprintf(buf + used, len - used, "]");
}

void hr_st_close(hr_st_file *f)
{
    if (!f) return;
    if (f->map) munmap((void *)f->map, f->size);
    if (f->tensors)
        for (size_t i = 0; i < f->n; i++) free((char *)f->tensors[i].name);
    free(f->tensors);
    free(f->by_name);
    free(f->path);
    free(f);
}

static int cmp_begin(const void *a, const void *b)
{
    const hr_st_tensor *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return 0;
}

static int cmp_name(const void *a, const void *b)
{
    const hr_st_tensor *const *x = a, *const *y = b;
    return strcmp((*x)->name, (*y)->name);
}

static int cmp_key_name(const void *key, const void *elem)
{
    const hr_st_tensor *const *t = elem;
    return strcmp((const char *)key, (*t)->name);
}

/* Parses one tensor entry into t (name already set). */
static hr_status parse_entry(const hr_st_file *f, const cJSON *e, hr_st_tensor *t, char *err,
                             size_t errlen)
{
    const char *path = f->path, *name = t->name;
    if (!cJSON_IsObject(e))
        return hr_fail(HR_ERR_MODEL, err, errlen, "%s: tensor '%s': header entry is not an object",
                       path, name);

    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    if (!cJSON_IsString(dt) || !dt->valuestring)
        return hr_fail(HR_ERR_MODEL, err, errlen, "%s: tensor '%s': no \"dtype\" string", path,
                       name);
    snprintf(t->dtype_name, sizeof t->dtype_name, "%s", dt->valuestring);
    t->dtype = dtype_from_name(dt->valuestring);

    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
    if (!cJSON_IsArray(sh))
        return hr_fail(HR_ERR_MODEL, err, errlen, "%s: tensor '%s': no \"shape\" array", path,
                       name);
    int nd = cJSON_GetArraySize(sh);
    if (nd > HR_ST_MAX_DIMS)
        return hr_fail(HR_ERR_MODEL, err, errlen,
                       "%s: tensor '%s': shape has %d dimensions (at most %d supported)", path,
                       name, nd, HR_ST_MAX_DIMS);
    t->ndim = nd;
    t->numel = 1;
    int k = 0;
    int overflow = 0;
    for (const cJSON *d = sh->child; d; d = d->next, k++) {
        uint64_t v;
        if (!json_uint(d, &v))
            return hr_fail(HR_ERR_MODEL, err, errlen,
                           "%s: tensor '%s': shape entry %d is not an integer in [0, 2^53]", path,
                           name, k);
        t->shape[k] = (int64_t)v;
        if (v != 0 && t->numel > UINT64_MAX / v) overflow = 1;
        else t->numel *= v;
    }
    /* A zero dimension makes the product 0 whatever the other sizes are; an
     * overflow before it is still refused, as nothing so large is sensible. */
    if (overflow)
        return hr_fail(HR_ERR_MODEL, err, errlen,
                       "%s: tensor '%s': shape element count overflows 64 bits", path, name);

    const cJSON *off = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    if (!cJSON_IsArray(off) || cJSON_GetArraySize(off) != 2)
        return hr_fail(HR_ERR_MODEL, err, errlen,
                       "%s: tensor '%s': no \"data_offsets\" array of two integers", path, name);
    if (!json_uint(off->child, &t->begin) || !json_uint(off->child->next, &t->end))
        return hr_fail(HR_ERR_MODEL, err, errlen,
                       "%s: tensor '%s': data_offsets are not integers in [0, 2^53]", path, name);
    if (t->begin > t->end)
        return hr_fail(HR_ERR_MODEL, err, errlen,
                       "%s: tensor '%s': data_offsets [%llu, %llu] end before they begin", path,
                       name, (unsigned long long)t->begin, (unsigned long long)t->end);
    if (t->end > f->data_len)
        return hr_fail(HR_ERR_MODEL, err, errlen,
                       "%s: tensor '%s': data_offsets [%llu, %llu] run past the %llu-byte data "
                       "section (file truncated?)",
                       path, name, (unsigned long long)t->begin, (unsigned long long)t->end,
                       (unsigned long long)f->data_len);
    size_t isz = hr_st_dtype_size(t->dtype);
    if (isz) {
        if (t->numel > UINT64_MAX / isz)
            return hr_fail(HR_ERR_MODEL, err, errlen,
                           "%s: tensor '%s': shape byte size overflows 64 bits", path, name);
        if (t->end - t->begin != t->numel * isz) {
            char s[160];
            format_shape(s, sizeof s, t->ndim, t->shape);
            return hr_fail(HR_ERR_MODEL, err, errlen,
                           "%s: tensor '%s': data_offsets span %llu bytes but shape %s of %s "
                           "needs %llu",
                           path, name, (unsigned long long)(t->end - t->begin), s, t->dtype_name,
                           (unsigned long long)(t->numel * isz));
        }
    }
    return HR_OK;
}

static hr_status parse_header(hr_st_file *f, const char *json, size_t len, char *err,
                              size_t errlen)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        long pos = (at && at >= json && at <= json + len) ? (long)(at - json) : -1;
        return hr_fail(HR_ERR_MODEL, err, errlen,
                       "%s: header is not valid JSON (near byte %ld of the %zu-byte header)",
                       f->path, pos, len);
    }
    hr_status st = HR_OK;
    /* The writer pads the header with spaces; anything else after the
     * object is garbage. */
    for (const char *p = end; p < json + len; p++) {
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            st = hr_fail(HR_ERR_MODEL, err, errlen,
                         "%s: header has trailing bytes after its JSON object", f->path);
            goto done;
        }
    }
    if (!cJSON_IsObject(root)) {
        st = hr_fail(HR_ERR_MODEL, err, errlen, "%s: header is not a JSON object", f->path);
        goto done;
    }

    size_t cap = 0;
    for (const cJSON *e = root->child; e; e = e->next) cap++;
    f->tensors = calloc(cap ? cap : 1, sizeof *f->tensors);
    if (!f->tensors) {
        st = hr_fail(HR_ERR_NOMEM, err, errlen, "%s: out of memory for the header", f->path);
        goto done;
    }
    for (const cJSON *e = root->child; e; e = e->next) {
        if (!e->string) {
            st = hr_fail(HR_ERR_MODEL, err, errlen, "%s: header entry without a name", f->path);
            goto done;
        }
        if (strcmp(e->string, "__metadata__") == 0) continue;
        hr_st_tensor *t = &f->tensors[f->n];
        char *name = malloc(strlen(e->string) + 1);
        if (!name) {
            st = hr_fail(HR_ERR_NOMEM, err, errlen, "%s: out of memory for the header", f->path);
            goto done;
        }
        memcpy(name, e->string, strlen(e->string) + 1);
        t->name = name;
        f->n++; /* counted now so that hr_st_close frees the name */
        st = parse_entry(f, e, t, err, errlen);
        if (st) goto done;
    }

    /* Overlaps: in begin order, every non-empty tensor must start at or after
     * the end of the non-empty tensors before it. Empty tensors hold no bytes
     * and overlap nothing. */
    qsort(f->tensors, f->n, sizeof *f->tensors, cmp_begin);
    const hr_st_tensor *prev = NULL;
    for (size_t i = 0; i < f->n; i++) {
        const hr_st_tensor *t = &f->tensors[i];
        if (t->begin == t->end) continue;
        if (prev && t->begin < prev->end) {
            st = hr_fail(HR_ERR_MODEL, err, errlen,
                         "%s: tensors '%s' [%llu, %llu] and '%s' [%llu, %llu] overlap", f->path,
                         prev->name, (unsigned long long)prev->begin,
                         (unsigned long long)prev->end, t->name, (unsigned long long)t->begin,
                         (unsigned long long)t->end);
            goto done;
        }
        prev = t;
    }

    f->by_name = malloc((f->n ? f->n : 1) * sizeof *f->by_name);
    if (!f->by_name) {
        st = hr_fail(HR_ERR_NOMEM, err, errlen, "%s: out of memory for the header", f->path);
        goto done;
    }
    for (size_t i = 0; i < f->n; i++) f->by_name[i] = &f->tensors[i];
    qsort(f->by_name, f->n, sizeof *f->by_name, cmp_name);
    for (size_t i = 1; i < f->n; i++) {
        if (strcmp(f->by_name[i - 1]->name, f->by_name[i]->name) == 0) {
            st = hr_fail(HR_ERR_MODEL, err, errlen, "%s: tensor '%s' appears twice in the header",
                         f->path, f->by_name[i]->name);
            goto done;
        }
    }
    /* Coverage: the data section is exactly the tensors' bytes, back to back
     * from 0 (as the reference implementation requires). A gap or bytes
     * after the last tensor mean the offsets do not describe this file: a
     * shifted or spliced file would otherwise load with every weight read
     * from the wrong place. */
    uint64_t covered = 0;
    for (size_t i = 0; i < f->n; i++) {
        const hr_st_tensor *t = &f->tensors[i];
        if (t->begin == t->end) continue;
        if (t->begin > covered) {
            st = hr_fail(HR_ERR_MODEL, err, errlen,
                         "%s: bytes [%llu, %llu) of the data section belong to no tensor (a gap "
                         "before '%s'): the file is damaged",
                         f->path, (unsigned long long)covered, (unsigned long long)t->begin,
                         t->name);
            goto done;
        }
        covered = t->end;
    }
    if (covered != f->data_len) {
        st = hr_fail(HR_ERR_MODEL, err, errlen,
                     "%s: the data section has %llu bytes but its tensors cover %llu (%llu bytes "
                     "belong to no tensor): the file is damaged or was spliced",
                     f->path, (unsigned long long)f->data_len, (unsigned long long)covered,
                     (unsigned long long)(f->data_len - covered));
        goto done;
    }
done:
    cJSON_Delete(root);
    return st;
}

hr_status hr_st_open(const char *path, hr_st_file **out, char *err, size_t errlen)
{
    *out = NULL;
    hr_st_file *f = calloc(1, sizeof *f);
    if (!f) return hr_fail(HR_ERR_NOMEM, err, errlen, "%s: out of memory", path);
    size_t plen = strlen(path);
    f->path = malloc(plen + 1);
    if (!f->path) {
        free(f);
        return hr_fail(HR_ERR_NOMEM, err, errlen, "%s: out of memory", path);
    }
    memcpy(f->path, path, plen + 1);

    hr_status st = HR_OK;
    char *header = NULL;
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        st = hr_fail(errno == ENOENT ? HR_ERR_MODEL : HR_ERR_IO, err, errlen, "%s: cannot open: %s",
                     path, strerror(errno));
        goto fail;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        st = hr_fail(HR_ERR_IO, err, errlen, "%s: cannot stat: %s", path, strerror(errno));
        goto fail;
    }
    if (!S_ISREG(sb.st_mode)) {
        st = hr_fail(HR_ERR_MODEL, err, errlen, "%s: not a regular file", path);
        goto fail;
    }
    if (sb.st_size < 8) {
        st = hr_fail(HR_ERR_MODEL, err, errlen,
                     "%s: %lld bytes is too short for a safetensors file (at least 8)", path,
                     (long long)sb.st_size);
        goto fail;
    }
    if ((uint64_t)sb.st_size > SIZE_MAX) {
        st = hr_fail(HR_ERR_MODEL, err, errlen, "%s: file too large to map", path);
        goto fail;
    }
    f->size = (size_t)sb.st_size;
    void *map = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
        st = hr_fail(HR_ERR_IO, err, errlen, "%s: cannot map: %s", path, strerror(errno));
        goto fail;
    }
    f->map = map;
    close(fd);
    fd = -1;

    uint64_t hlen = load_le64(f->map);
    if (hlen == 0 || hlen > HR_ST_MAX_HEADER || hlen > f->size - 8) {
        st = hr_fail(HR_ERR_MODEL, err, errlen,
                     "%s: header length %llu does not fit the %zu-byte file (not a safetensors "
                     "file, or truncated)",
                     path, (unsigned long long)hlen, f->size);
        goto fail;
    }
    f->data_off = 8 + hlen;
    f->data_len = f->size - f->data_off;

    /* header: (hlen + 1) chars, the JSON text NUL-terminated for cJSON */
    header = malloc((size_t)hlen + 1);
    if (!header) {
        st = hr_fail(HR_ERR_NOMEM, err, errlen, "%s: out of memory for the header", path);
        goto fail;
    }
    memcpy(header, f->map + 8, (size_t)hlen);
    header[hlen] = '\0';
    if (memchr(header, '\0', (size_t)hlen)) {
        st = hr_fail(HR_ERR_MODEL, err, errlen, "%s: header holds a NUL byte (not JSON)", path);
        goto fail;
    }
    st = parse_header(f, header, (size_t)hlen, err, errlen);
    if (st) goto fail;
    free(header);
    *out = f;
    return HR_OK;

fail:
    if (fd >= 0) close(fd);
    free(header);
    hr_st_close(f);
    return st;
}

const char *hr_st_path(const hr_st_file *f) { return f->path; }

const unsigned char *hr_st_bytes(const hr_st_file *f, size_t *len)
{
    *len = f->size;
    return f->map;
}

size_t hr_st_count(const hr_st_file *f) { return f->n; }

const hr_st_tensor *hr_st_at(const hr_st_file *f, size_t i)
{
    return i < f->n ? &f->tensors[i] : NULL;
}

const hr_st_tensor *hr_st_find(const hr_st_file *f, const char *name)
{
    if (f->n == 0) return NULL;
    const hr_st_tensor *const *hit =
        bsearch(name, f->by_name, f->n, sizeof *f->by_name, cmp_key_name);
    return hit ? *hit : NULL;
}

hr_status hr_st_check_f32(const hr_st_file *f, const char *name, int ndim, const int64_t *shape,
                          char *err, size_t errlen)
{
    const hr_st_tensor *t = hr_st_find(f, name);
    if (!t) return hr_fail(HR_ERR_MODEL, err, errlen, "%s: no tensor '%s'", f->path, name);
    if (t->dtype != HR_ST_F32 && t->dtype != HR_ST_F16 && t->dtype != HR_ST_BF16)
        return hr_fail(HR_ERR_MODEL, err, errlen,
                       "%s: tensor '%s' has dtype %s%s; a weight must be F32, F16 or BF16",
                       f->path, name, t->dtype_name,
                       t->dtype == HR_ST_UNKNOWN ? " (unknown)" : "");
    int same = t->ndim == ndim;
    for (int i = 0; same && i < ndim; i++) same = t->shape[i] == shape[i];
    if (!same) {
        char got[160], want[160];
        format_shape(got, sizeof got, t->ndim, t->shape);
        format_shape(want, sizeof want, ndim, shape);
        return hr_fail(HR_ERR_MODEL, err, errlen, "%s: tensor '%s' has shape %s; expected %s",
                       f->path, name, got, want);
    }
    return HR_OK;
}

hr_status hr_st_read_f32(const hr_st_file *f, const char *name, int ndim, const int64_t *shape,
                         float *dst, char *err, size_t errlen)
{
    hr_status st = hr_st_check_f32(f, name, ndim, shape, err, errlen);
    if (st) return st;
    const hr_st_tensor *t = hr_st_find(f, name);

    /* src: (numel) elements of the stored dtype, little-endian, possibly
     * unaligned for the element type (offsets need not be multiples of it). */
    const unsigned char *src = f->map + f->data_off + t->begin;
    size_t n = (size_t)t->numel;
    if (t->dtype == HR_ST_F32) {
        if (host_is_little_endian()) {
            memcpy(dst, src, n * sizeof *dst);
        } else {
            for (size_t i = 0; i < n; i++) {
                const unsigned char *p = src + 4 * i;
                uint32_t b = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                             (uint32_t)p[3] << 24;
                memcpy(&dst[i], &b, sizeof b);
            }
        }
    } else if (t->dtype == HR_ST_F16) {
        for (size_t i = 0; i < n; i++)
            dst[i] = hr_f16_to_f32((uint16_t)(src[2 * i] | src[2 * i + 1] << 8));
    } else {
        for (size_t i = 0; i < n; i++)
            dst[i] = hr_bf16_to_f32((uint16_t)(src[2 * i] | src[2 * i + 1] << 8));
    }
    return HR_OK;
}
