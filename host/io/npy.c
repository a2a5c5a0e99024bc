/*
 * host/io/npy.c: NumPy .npy files of float32 matrices (npy.h).
 *
 * File layout (NumPy format, versions 1.0 / 2.0 / 3.0):
 *
 *   bytes 0..5   "\x93NUMPY"
 *   byte  6, 7   major, minor version
 *   then         header length HLEN: uint16 little-endian (1.0) or uint32
 *                little-endian (2.0, 3.0)
 *   then         HLEN bytes of header: a Python dict literal such as
 *                {'descr': '<f4', 'fortran_order': False, 'shape': (R, C), }
 *                padded with spaces and ended with '\n'
 *   then         R * C * 4 bytes: (R, C) row-major little-endian float32
 *
 * We write version 1.0 exactly as numpy.save does (same header bytes, data at
 * a multiple of 64), through hr_output_write (hyporank/output.h): a
 * temporary beside the target, synced, then renamed into place.
 */
#define _GNU_SOURCE /* MAP_POPULATE */
#include "hyporank/npy.h"
#include "hyporank/output.h"
#include "core/memory.h"
#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
#define NPY_ALIGN 64 /* numpy's ARRAY_ALIGN: data starts at a multiple of it */
#define NPY_GROWTH_DIGITS 21 /* numpy's GROWTH_AXIS_MAX_DIGITS, see below */

static int host_is_little_endian(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

static void swap4(void *p, size_t count)
{
    unsigned char *b = p;
    for (size_t i = 0; i < count; i++, b += 4) {
        unsigned char t = b[0];
        b[0] = b[3];
        b[3] = t;
        t = b[1];
        b[1] = b[2];
        b[2] = t;
    }
}

/* ------------------------------------------------------------------------ */
/* Writing                                                                    */

/* The full version 1.0 preamble (magic, version, length, header) into out
 * (cap bytes); returns its length, a multiple of NPY_ALIGN, or 0 if it does
 * not fit. Byte for byte what numpy.lib.format writes: the dict, then spaces
 * so the first axis can later grow to 21 digits in place, then spaces up to
 * the alignment (a whole NPY_ALIGN of them when already aligned), then '\n'. */
static size_t npy_preamble(char *out, size_t cap, size_t rows, size_t cols)
{
    char dict[160];
    int n = snprintf(dict, sizeof dict,
                     "{'descr': '<f4', 'fortran_order': False, 'shape': (%zu, %zu), }", rows, cols);
    if (n < 0 || (size_t)n >= sizeof dict) return 0;
    char digits[32];
    int nd = snprintf(digits, sizeof digits, "%zu", rows);
    size_t dlen = (size_t)n;
    if (nd > 0 && nd < NPY_GROWTH_DIGITS) dlen += (size_t)(NPY_GROWTH_DIGITS - nd);
    size_t hlen = dlen + 1; /* with the '\n' */
    size_t pad = NPY_ALIGN - (NPY_MAGIC_LEN + 2 + 2 + hlen) % NPY_ALIGN;
    size_t total = NPY_MAGIC_LEN + 2 + 2 + hlen + pad;
    if (total > cap || hlen + pad > 65535) return 0;
    memcpy(out, NPY_MAGIC, NPY_MAGIC_LEN);
    out[6] = 1;
    out[7] = 0;
    out[8] = (char)((hlen + pad) & 0xFF);
    out[9] = (char)((hlen + pad) >> 8);
    memcpy(out + 10, dict, (size_t)n);
    memset(out + 10 + n, ' ', total - 10 - (size_t)n - 1);
    out[total - 1] = '\n';
    return total;
}

/* What write_npy renders. */
typedef struct npy_out {
    const char *pre;   /* (plen) the preamble */
    size_t plen;
    const float *data; /* (count) */
    size_t count;
} npy_out;

static hr_status write_npy(FILE *f, const void *ctx)
{
    const npy_out *o = ctx;
    if (fwrite(o->pre, 1, o->plen, f) != o->plen) return HR_ERR_IO;
    if (host_is_little_endian())
        return fwrite(o->data, sizeof(float), o->count, f) == o->count ? HR_OK : HR_ERR_IO;
    float buf[4096]; /* a chunk of data, swapped to little-endian */
    for (size_t i = 0; i < o->count; i += 4096) {
        size_t k = o->count - i < 4096 ? o->count - i : 4096;
        memcpy(buf, o->data + i, k * sizeof(float));
        swap4(buf, k);
        if (fwrite(buf, sizeof(float), k, f) != k) return HR_ERR_IO;
    }
    return HR_OK;
}

hr_status hr_npy_write_f32(const char *path, const float *data, size_t rows, size_t cols,
                           char *err, size_t errlen)
{
    if (!path || (!data && rows && cols))
        return hr_fail(HR_ERR_INTERNAL, err, errlen,
                       "hr_npy_write_f32: path and data are required");
    if (cols && rows > SIZE_MAX / cols / sizeof(float))
        return hr_fail(HR_ERR_INPUT, err, errlen, "%s: a (%zu, %zu) matrix is too big", path, rows,
                       cols);
    char pre[256]; /* the preamble is at most 2 * NPY_ALIGN + a few bytes */
    size_t plen = npy_preamble(pre, sizeof pre, rows, cols);
    if (plen == 0) return hr_fail(HR_ERR_INTERNAL, err, errlen, "%s: header does not fit", path);
    npy_out o = {pre, plen, data, rows * cols};
    return hr_output_write(path, write_npy, &o, err, errlen);
}

/* ------------------------------------------------------------------------ */
/* Reading                                                                    */

/* Reads exactly len bytes; returns how many it got before the end of file
 * (len when all), or (size_t)-1 on error with errno set. */
static size_t read_full(int fd, void *buf, size_t len)
{
    char *p = buf;
    size_t got = 0;
    while (got < len) {
        size_t chunk = len - got > ((size_t)1 << 30) ? ((size_t)1 << 30) : len - got;
        ssize_t r = read(fd, p + got, chunk);
        if (r < 0) {
            if (errno == EINTR) continue;
            return (size_t)-1;
        }
        if (r == 0) break;
        got += (size_t)r;
    }
    return got;
}

/* A small parser of the header dict. Python literal syntax, as much of it as
 * numpy headers use: quoted strings ('..' or ".."), True/False, tuples of
 * integers (with an optional 'L' suffix that Python 2 wrote). */
typedef struct hparse {
    const char *s;
    size_t len, i;
} hparse;

static void hp_ws(hparse *h)
{
    while (h->i < h->len && (h->s[h->i] == ' ' || h->s[h->i] == '\t' || h->s[h->i] == '\n' ||
                             h->s[h->i] == '\r'))
        h->i++;
}

static int hp_char(hparse *h, char c)
{
    hp_ws(h);
    if (h->i < h->len && h->s[h->i] == c) {
        h->i++;
        return 1;
    }
    return 0;
}

/* A quoted string without escapes into out (cap bytes, NUL-terminated,
 * truncated if long); 0 if there is none. */
static int hp_string(hparse *h, char *out, size_t cap)
{
    hp_ws(h);
    if (h->i >= h->len || (h->s[h->i] != '\'' && h->s[h->i] != '"')) return 0;
    char q = h->s[h->i++];
    size_t start = h->i;
    while (h->i < h->len && h->s[h->i] != q) {
        if (h->s[h->i] == '\\') return 0; /* never in a numpy header we accept */
        h->i++;
    }
    if (h->i >= h->len) return 0;
    size_t n = h->i - start;
    if (n >= cap) n = cap - 1;
    memcpy(out, h->s + start, n);
    out[n] = '\0';
    h->i++;
    return 1;
}

static int hp_word(hparse *h, const char *w)
{
    hp_ws(h);
    size_t n = strlen(w);
    if (h->len - h->i < n || memcmp(h->s + h->i, w, n) != 0) return 0;
    char next = h->i + n < h->len ? h->s[h->i + n] : ' ';
    int ident = (next >= 'a' && next <= 'z') || (next >= 'A' && next <= 'Z') ||
                (next >= '0' && next <= '9') || next == '_';
    if (ident) return 0; /* "Falsey" is not "False" */
    h->i += n;
    return 1;
}

#define NPY_MAX_DIMS 32

/* A tuple of non-negative integers: (), (5,), (2, 3), (2, 3, 4). Returns the
 * number of dimensions, or -1 if malformed, -2 if a dimension overflows. */
static int hp_shape(hparse *h, uint64_t *dims)
{
    if (!hp_char(h, '(')) return -1;
    int n = 0;
    for (;;) {
        if (hp_char(h, ')')) return n;
        hp_ws(h);
        if (h->i >= h->len || h->s[h->i] < '0' || h->s[h->i] > '9') return -1;
        uint64_t v = 0;
        int overflow = 0;
        while (h->i < h->len && h->s[h->i] >= '0' && h->s[h->i] <= '9') {
            unsigned d = (unsigned)(h->s[h->i++] - '0');
            if (v > (UINT64_MAX - d) / 10) overflow = 1;
            else v = v * 10 + d;
        }
        if (h->i < h->len && h->s[h->i] == 'L') h->i++;
        if (overflow) return -2;
        if (n == NPY_MAX_DIMS) return -1;
        dims[n++] = v;
        if (hp_char(h, ',')) continue;
        if (hp_char(h, ')')) return n == 1 ? -1 : n; /* (5) is not a tuple */
        return -1;
    }
}

/* "(2, 3, 4)" into out. */
static void shape_str(char *out, size_t cap, const uint64_t *dims, int n)
{
    size_t used = (size_t)snprintf(out, cap, "(");
    for (int i = 0; i < n && used < cap; i++)
        used += (size_t)snprintf(out + used, cap - used, "%s%llu", i ? ", " : "",
                                 (unsigned long long)dims[i]);
    if (used < cap) snprintf(out + used, cap - used, "%s)", n == 1 ? "," : "");
}

static hr_status parse_header(const char *path, const char *hdr, size_t hlen, size_t *rows,
                              size_t *cols, char *err, size_t errlen)
{
    hparse h = {hdr, hlen, 0};
    char key[64], descr[64] = "";
    int have_descr = 0, have_order = 0, have_shape = 0, fortran = 0, ndim = 0;
    uint64_t dims[NPY_MAX_DIMS];
    if (!hp_char(&h, '{')) goto malformed;
    for (;;) {
        if (hp_char(&h, '}')) break;
        if (!hp_string(&h, key, sizeof key) || !hp_char(&h, ':')) goto malformed;
        if (strcmp(key, "descr") == 0) {
            if (!hp_string(&h, descr, sizeof descr)) {
                hp_ws(&h);
                if (h.i < h.len && h.s[h.i] == '[')
                    return hr_fail(HR_ERR_INPUT, err, errlen,
                                   "%s: the array has a structured dtype; expected '<f4' "
                                   "(little-endian float32)", path);
                goto malformed;
            }
            have_descr = 1;
        } else if (strcmp(key, "fortran_order") == 0) {
            if (hp_word(&h, "True")) fortran = 1;
            else if (hp_word(&h, "False")) fortran = 0;
            else goto malformed;
            have_order = 1;
        } else if (strcmp(key, "shape") == 0) {
            ndim = hp_shape(&h, dims);
            if (ndim == -2)
                return hr_fail(HR_ERR_INPUT, err, errlen, "%s: a dimension in the header's shape "
                               "is too big", path);
            if (ndim < 0) goto malformed;
            have_shape = 1;
        } else {
            return hr_fail(HR_ERR_INPUT, err, errlen,
                           "%s: unexpected key '%s' in the .npy header", path, key);
        }
        if (hp_char(&h, ',')) continue;
        if (hp_char(&h, '}')) break;
        goto malformed;
    }
    hp_ws(&h);
    if (h.i != h.len) goto malformed; /* only padding may follow the dict */
    if (!have_descr || !have_order || !have_shape)
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "%s: the .npy header lacks '%s'", path,
                       !have_descr ? "descr" : !have_order ? "fortran_order" : "shape");
    if (strcmp(descr, "<f4") != 0)
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "%s: dtype is '%s'; expected '<f4' (little-endian float32)", path, descr);
    if (fortran)
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "%s: the array is in Fortran order; expected C order (save it with "
                       "numpy.ascontiguousarray)", path);
    if (ndim != 2) {
        char sh[128];
        shape_str(sh, sizeof sh, dims, ndim);
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "%s: shape %s is %d-D; expected a 2-D matrix (rows, cols)", path, sh, ndim);
    }
    if (dims[0] > SIZE_MAX || dims[1] > SIZE_MAX ||
        (dims[1] && dims[0] > SIZE_MAX / dims[1] / sizeof(float)))
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "%s: shape (%llu, %llu) is too big", path, (unsigned long long)dims[0],
                       (unsigned long long)dims[1]);
    *rows = (size_t)dims[0];
    *cols = (size_t)dims[1];
    return HR_OK;
malformed:;
    /* Quote the start of the header, printable ASCII only. */
    char shown[101];
    size_t n = 0;
    for (; n < hlen && n < 100; n++)
        shown[n] = (hdr[n] >= 0x20 && hdr[n] < 0x7F) ? hdr[n] : '?';
    while (n > 0 && shown[n - 1] == ' ') n--;
    shown[n] = '\0';
    return hr_fail(HR_ERR_INPUT, err, errlen,
                   "%s: malformed .npy header near byte %zu of it: %s", path, h.i, shown);
}

/* The preamble and header of the .npy open on fd: its shape, and where its
 * data starts. For a regular file, also that the data is exactly what the
 * shape needs (checked before anything is allocated for it). */
static hr_status read_header(int fd, const char *path, size_t *rows, size_t *cols,
                             size_t *data_off, int *regular, char *err, size_t errlen)
{
    unsigned char pre[12];
    size_t got = read_full(fd, pre, 10);
    if (got == (size_t)-1)
        return hr_fail(HR_ERR_IO, err, errlen, "cannot read %s: %s", path, strerror(errno));
    if (got < 10 || memcmp(pre, NPY_MAGIC, NPY_MAGIC_LEN) != 0)
        return hr_fail(HR_ERR_INPUT, err, errlen, "%s: not a .npy file (no \\x93NUMPY magic)",
                       path);
    unsigned major = pre[6], minor = pre[7];
    size_t hlen, off;
    if (major == 1 && minor == 0) {
        hlen = (size_t)pre[8] | (size_t)pre[9] << 8;
        off = 10;
    } else if ((major == 2 || major == 3) && minor == 0) {
        got = read_full(fd, pre + 10, 2);
        if (got == (size_t)-1)
            return hr_fail(HR_ERR_IO, err, errlen, "cannot read %s: %s", path, strerror(errno));
        if (got < 2)
            return hr_fail(HR_ERR_INPUT, err, errlen, "%s: the .npy header is truncated", path);
        uint32_t v = (uint32_t)pre[8] | (uint32_t)pre[9] << 8 | (uint32_t)pre[10] << 16 |
                     (uint32_t)pre[11] << 24;
        hlen = v;
        off = 12;
    } else {
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "%s: unsupported .npy format version %u.%u (known: 1.0, 2.0, 3.0)", path,
                       major, minor);
    }
    /* A float32 matrix header is about a hundred bytes; numpy itself refuses
     * headers over 10000 bytes by default. */
    if (hlen > ((size_t)1 << 20))
        return hr_fail(HR_ERR_INPUT, err, errlen, "%s: the .npy header claims %zu bytes", path,
                       hlen);
    char *hdr = malloc(hlen + 1);
    if (!hdr) return hr_fail(HR_ERR_NOMEM, err, errlen, "%s: out of memory", path);
    got = read_full(fd, hdr, hlen);
    if (got != hlen) {
        free(hdr);
        if (got == (size_t)-1)
            return hr_fail(HR_ERR_IO, err, errlen, "cannot read %s: %s", path, strerror(errno));
        return hr_fail(HR_ERR_INPUT, err, errlen, "%s: the .npy header is truncated", path);
    }
    hdr[hlen] = '\0';
    hr_status st = parse_header(path, hdr, hlen, rows, cols, err, errlen);
    free(hdr);
    if (st != HR_OK) return st;
    *data_off = off + hlen;

    const size_t bytes = *rows * *cols * sizeof(float);
    struct stat sb;
    *regular = fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode);
    if (*regular) {
        uint64_t have = (uint64_t)sb.st_size, need = (uint64_t)*data_off + bytes;
        if (have < need)
            return hr_fail(HR_ERR_INPUT, err, errlen,
                           "%s: data is truncated: shape (%zu, %zu) needs %zu bytes of data, the "
                           "file holds %llu", path, *rows, *cols, bytes,
                           (unsigned long long)(have - *data_off));
        if (have > need)
            return hr_fail(HR_ERR_INPUT, err, errlen,
                           "%s: %llu bytes of unexpected data after the (%zu, %zu) matrix", path,
                           (unsigned long long)(have - need), *rows, *cols);
    }
    return HR_OK;
}

/* The data of a .npy whose header read_header has just read, into memory. */
static hr_status read_data(int fd, const char *path, size_t rows, size_t cols, float **data,
                           char *err, size_t errlen)
{
    const size_t count = rows * cols, bytes = count * sizeof(float);
    float *m = hr_alloc_large(bytes);
    if (!m)
        return hr_fail(HR_ERR_NOMEM, err, errlen, "%s: out of memory for a (%zu, %zu) matrix",
                       path, rows, cols);
    size_t got = read_full(fd, m, bytes);
    if (got != bytes) {
        free(m);
        if (got == (size_t)-1)
            return hr_fail(HR_ERR_IO, err, errlen, "cannot read %s: %s", path, strerror(errno));
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "%s: data is truncated: shape (%zu, %zu) needs %zu bytes of data, the "
                       "file holds %zu", path, rows, cols, bytes, got);
    }
    char extra;
    got = read_full(fd, &extra, 1);
    if (got != 0) {
        free(m);
        if (got == (size_t)-1)
            return hr_fail(HR_ERR_IO, err, errlen, "cannot read %s: %s", path, strerror(errno));
        return hr_fail(HR_ERR_INPUT, err, errlen,
                       "%s: unexpected data after the (%zu, %zu) matrix", path, rows, cols);
    }
    if (!host_is_little_endian()) swap4(m, count);
    *data = m;
    return HR_OK;
}

static hr_status open_path(const char *path, int *fd, char *err, size_t errlen)
{
    do {
        *fd = open(path, O_RDONLY);
    } while (*fd < 0 && errno == EINTR);
    if (*fd < 0)
        return hr_fail(HR_ERR_IO, err, errlen, "cannot open %s: %s", path, strerror(errno));
    return HR_OK;
}

hr_status hr_npy_read_f32(const char *path, float **data, size_t *rows, size_t *cols, char *err,
                          size_t errlen)
{
    if (!path || !data || !rows || !cols)
        return hr_fail(HR_ERR_INTERNAL, err, errlen, "hr_npy_read_f32: null argument");
    *data = NULL;
    size_t r = 0, c = 0, off;
    int fd, regular;
    hr_status st = open_path(path, &fd, err, errlen);
    if (st != HR_OK) return st;
    st = read_header(fd, path, &r, &c, &off, &regular, err, errlen);
    if (st == HR_OK) st = read_data(fd, path, r, c, data, err, errlen);
    close(fd);
    if (st == HR_OK) {
        *rows = r;
        *cols = c;
    }
    return st;
}

hr_status hr_npy_open_f32(const char *path, hr_npy_view *view, char *err, size_t errlen)
{
    if (!path || !view)
        return hr_fail(HR_ERR_INTERNAL, err, errlen, "hr_npy_open_f32: null argument");
    memset(view, 0, sizeof *view);
    size_t r = 0, c = 0, off;
    int fd, regular;
    hr_status st = open_path(path, &fd, err, errlen);
    if (st != HR_OK) return st;
    st = read_header(fd, path, &r, &c, &off, &regular, err, errlen);
    if (st != HR_OK) {
        close(fd);
        return st;
    }
    const size_t bytes = r * c * sizeof(float);
    /* Mapped: the file's bytes are the floats (little-endian host), each at
     * a multiple of 4 (numpy puts the data at a multiple of 64). */
    if (regular && bytes > 0 && host_is_little_endian() && off % sizeof(float) == 0) {
        const size_t len = off + bytes;
        void *base = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
        if (base != MAP_FAILED) {
            close(fd);
            view->data = (const float *)((const char *)base + off);
            view->rows = r;
            view->cols = c;
            view->map_base = base;
            view->map_len = len;
            return HR_OK;
        }
    }
    float *m = NULL;
    st = read_data(fd, path, r, c, &m, err, errlen);
    close(fd);
    if (st != HR_OK) return st;
    view->data = m;
    view->rows = r;
    view->cols = c;
    view->owned = m;
    return HR_OK;
}

void hr_npy_close(hr_npy_view *view)
{
    if (!view) return;
    if (view->map_base) munmap(view->map_base, view->map_len);
    free(view->owned);
    memset(view, 0, sizeof *view);
}
