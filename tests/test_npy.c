/*
 * tests/test_npy.c: writing and reading .npy float32 matrices.
 *
 * Fixtures in tests/fixtures/npy were written by numpy itself
 * (tests/fixtures/gen-npy-fixtures.py); their values are (i / 3 - 1) for
 * i = 0, 1, ... in C order, rounded from double to float.
 */
#include "hyporank/npy.h"
#include "test_util.h"

#include <dirent.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmpdir[256];

static const char *tmp_path(const char *name)
{
    static char bufs[4][512];
    static int next;
    char *p = bufs[next++ % 4];
    snprintf(p, sizeof bufs[0], "%s/%s", tmpdir, name);
    return p;
}

/* The whole file into a malloc'ed buffer; NULL if it cannot be read. */
static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 4096;
            unsigned char *nb = realloc(buf, cap);
            if (!nb) break;
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    fclose(f);
    *len = n;
    return buf;
}

static void spit(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f || (len && fwrite(data, 1, len, f) != len)) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
    fclose(f);
}

static float fixture_value(size_t i) { return (float)((double)i / 3.0 - 1.0); }

/* Number of entries in tmpdir whose name contains "tmp". */
static int temp_files_left(void)
{
    DIR *d = opendir(tmpdir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        if (strstr(e->d_name, ".tmp.")) n++;
    if (d) closedir(d);
    return n;
}

/* Expects hr_npy_read_f32(path) to fail with st and a message holding the
 * file name and `what`. */
static void expect_read_error(const char *path, hr_status want, const char *what)
{
    char err[1024] = "";
    float *m = (float *)1;
    size_t r = 77, c = 77;
    hr_status st = hr_npy_read_f32(path, &m, &r, &c, err, sizeof err);
    CHECKF(st == want, "%s: status %s, want %s: %s", path, hr_status_str(st), hr_status_str(want),
           err);
    CHECKF(m == NULL, "%s: *data must be NULL on failure", path);
    CHECKF(strstr(err, path) != NULL, "message should name %s: %s", path, err);
    CHECKF(strstr(err, what) != NULL, "message should say \"%s\": %s", what, err);
    if (st == HR_OK) free(m);
    /* The view fails alike, with the same message, and holds nothing. */
    char err2[1024] = "";
    hr_npy_view v;
    hr_status st2 = hr_npy_open_f32(path, &v, err2, sizeof err2);
    CHECKF(st2 == st && strcmp(err, err2) == 0, "%s: view: %s: %s, read: %s", path,
           hr_status_str(st2), err2, err);
    CHECKF(v.data == NULL && v.map_base == NULL && v.owned == NULL, "%s: view not empty", path);
    if (st2 == HR_OK) hr_npy_close(&v);
}

static void test_round_trip_keeps_shape_and_every_bit(void)
{
    size_t rows = 37, cols = 384;
    float *a = malloc(rows * cols * sizeof *a);
    for (size_t i = 0; i < rows * cols; i++) a[i] = (float)((double)i * 1e-3 - 5.0);
    a[0] = -0.0f;
    a[1] = 1e-42f; /* subnormal */
    a[2] = 3.4e38f;
    const char *p = tmp_path("round.npy");
    char err[512] = "";
    CHECKF(hr_npy_write_f32(p, a, rows, cols, err, sizeof err) == HR_OK, "%s", err);
    float *b = NULL;
    size_t r = 0, c = 0;
    CHECKF(hr_npy_read_f32(p, &b, &r, &c, err, sizeof err) == HR_OK, "%s", err);
    CHECK(r == rows && c == cols);
    CHECK(b && memcmp(a, b, rows * cols * sizeof *a) == 0);
    free(a);
    free(b);
    CHECK(temp_files_left() == 0);
}

/* A regular file is mapped, not copied, and gives the same bits; a pipe,
 * which cannot be mapped, is read into memory. */
static void test_view_maps_a_file_and_reads_a_pipe(void)
{
    const size_t rows = 1000, cols = 384; /* 1.5 MB: several pages */
    float *a = malloc(rows * cols * sizeof *a);
    for (size_t i = 0; i < rows * cols; i++) a[i] = (float)((double)i * 1e-3 - 5.0);
    const char *p = tmp_path("view.npy");
    char err[512] = "";
    CHECKF(hr_npy_write_f32(p, a, rows, cols, err, sizeof err) == HR_OK, "%s", err);
    hr_npy_view v;
    CHECKF(hr_npy_open_f32(p, &v, err, sizeof err) == HR_OK, "%s", err);
    CHECK(v.rows == rows && v.cols == cols);
    CHECK(v.map_base != NULL && v.owned == NULL);
    CHECK(v.data && memcmp(v.data, a, rows * cols * sizeof *a) == 0);
    hr_npy_close(&v);

    const char *fifo = tmp_path("view.fifo");
    CHECK(mkfifo(fifo, 0600) == 0);
    size_t len = 0;
    unsigned char *bytes = slurp(p, &len);
    pid_t child = fork();
    if (child == 0) { /* the writer end of the pipe */
        FILE *f = fopen(fifo, "wb");
        size_t put = f ? fwrite(bytes, 1, len, f) : 0;
        if (f) fclose(f);
        _exit(put == len ? 0 : 1);
    }
    CHECKF(hr_npy_open_f32(fifo, &v, err, sizeof err) == HR_OK, "%s", err);
    CHECK(v.map_base == NULL && v.owned != NULL && v.rows == rows && v.cols == cols);
    CHECK(v.data && memcmp(v.data, a, rows * cols * sizeof *a) == 0);
    hr_npy_close(&v);
    int status = 1;
    waitpid(child, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    unlink(fifo);
    free(bytes);
    free(a);
}

static void test_written_header_is_version_1_with_data_at_a_multiple_of_64(void)
{
    /* Row counts of 1 to 20 digits move the dict's length around. */
    size_t counts[] = {0, 1, 9, 10, 12345, 1000000};
    for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++) {
        size_t rows = counts[k], cols = rows > 1000 ? 0 : 3;
        float *a = calloc(rows * cols + 1, sizeof *a);
        const char *p = tmp_path("hdr.npy");
        char err[512] = "";
        CHECKF(hr_npy_write_f32(p, a, rows, cols, err, sizeof err) == HR_OK, "%s", err);
        size_t len = 0;
        unsigned char *f = slurp(p, &len);
        CHECK(f && len >= 10 && memcmp(f, "\x93NUMPY\x01\x00", 8) == 0);
        size_t hlen = f ? (size_t)f[8] | (size_t)f[9] << 8 : 0;
        size_t data_at = 10 + hlen;
        CHECKF(data_at % 64 == 0, "rows %zu: data at %zu", rows, data_at);
        CHECK(len == data_at + rows * cols * 4);
        CHECK(f && data_at <= len && f[data_at - 1] == '\n');
        char want[128];
        snprintf(want, sizeof want,
                 "{'descr': '<f4', 'fortran_order': False, 'shape': (%zu, %zu), }", rows, cols);
        CHECKF(f && len > 10 + strlen(want) && memcmp(f + 10, want, strlen(want)) == 0, "rows %zu",
               rows);
        free(f);
        free(a);
    }
}

/* The writer produces the very bytes numpy.save wrote for the same matrix. */
static void check_matches_numpy(const char *fixture, size_t rows, size_t cols)
{
    float *a = malloc((rows * cols + 1) * sizeof *a);
    for (size_t i = 0; i < rows * cols; i++) a[i] = fixture_value(i);
    const char *p = tmp_path("same.npy");
    char err[512] = "";
    CHECKF(hr_npy_write_f32(p, a, rows, cols, err, sizeof err) == HR_OK, "%s", err);
    size_t la = 0, lb = 0;
    unsigned char *ours = slurp(p, &la), *theirs = slurp(test_fixture(fixture), &lb);
    CHECKF(theirs != NULL, "cannot read fixture %s", test_fixture(fixture));
    CHECKF(ours && theirs && la == lb && memcmp(ours, theirs, la) == 0,
           "%s: our file (%zu bytes) differs from numpy's (%zu bytes)", fixture, la, lb);
    free(ours);
    free(theirs);
    free(a);
}

static void test_written_file_is_byte_for_byte_what_numpy_writes(void)
{
    check_matches_numpy("npy/f4_c.npy", 3, 4);
    check_matches_numpy("npy/f4_empty.npy", 0, 384);
}

static void check_reads_fixture(const char *name, size_t rows, size_t cols)
{
    const char *p = test_fixture(name);
    char err[1024] = "";
    float *m = NULL;
    size_t r = 0, c = 0;
    hr_status st = hr_npy_read_f32(p, &m, &r, &c, err, sizeof err);
    CHECKF(st == HR_OK, "%s: %s", name, err);
    CHECKF(r == rows && c == cols, "%s: shape (%zu, %zu)", name, r, c);
    int same = 1;
    for (size_t i = 0; st == HR_OK && i < rows * cols; i++)
        if (m[i] != fixture_value(i)) same = 0;
    CHECKF(same, "%s: values differ", name);
    free(m);
    hr_npy_view v;
    st = hr_npy_open_f32(p, &v, err, sizeof err);
    CHECKF(st == HR_OK, "%s: view: %s", name, err);
    CHECKF(v.rows == rows && v.cols == cols, "%s: view shape (%zu, %zu)", name, v.rows, v.cols);
    same = 1;
    for (size_t i = 0; st == HR_OK && i < rows * cols; i++)
        if (v.data[i] != fixture_value(i)) same = 0;
    CHECKF(same, "%s: the view's values differ", name);
    hr_npy_close(&v);
    CHECK(v.data == NULL && v.map_base == NULL && v.owned == NULL);
}

static void test_numpy_float32_c_order_file_is_read(void)
{
    check_reads_fixture("npy/f4_c.npy", 3, 4);
}

static void test_numpy_file_with_zero_rows_is_read(void)
{
    check_reads_fixture("npy/f4_empty.npy", 0, 384);
}

static void test_numpy_version_2_and_3_headers_are_read(void)
{
    check_reads_fixture("npy/f4_v2.npy", 3, 4);
    check_reads_fixture("npy/f4_v3.npy", 3, 4);
}

static void test_float64_file_is_rejected_naming_its_dtype(void)
{
    expect_read_error(test_fixture("npy/f8.npy"), HR_ERR_INPUT, "dtype is '<f8'; expected '<f4'");
}

static void test_big_endian_float32_file_is_rejected_naming_its_dtype(void)
{
    expect_read_error(test_fixture("npy/f4_big_endian.npy"), HR_ERR_INPUT, "dtype is '>f4'");
}

static void test_fortran_order_file_is_rejected(void)
{
    expect_read_error(test_fixture("npy/f4_fortran.npy"), HR_ERR_INPUT, "Fortran order");
}

static void test_one_dimensional_file_is_rejected_saying_it_is_1d(void)
{
    expect_read_error(test_fixture("npy/f4_1d.npy"), HR_ERR_INPUT, "shape (5,) is 1-D");
}

static void test_three_dimensional_file_is_rejected(void)
{
    expect_read_error(test_fixture("npy/f4_3d.npy"), HR_ERR_INPUT, "shape (2, 3, 4) is 3-D");
}

static void test_truncated_data_is_rejected(void)
{
    expect_read_error(test_fixture("npy/f4_truncated.npy"), HR_ERR_INPUT,
                      "data is truncated: shape (3, 4) needs 48 bytes of data, the file holds 42");
}

static void test_trailing_bytes_after_the_data_are_rejected(void)
{
    size_t len = 0;
    unsigned char *f = slurp(test_fixture("npy/f4_c.npy"), &len);
    CHECK(f != NULL);
    if (!f) return;
    unsigned char *g = malloc(len + 3);
    memcpy(g, f, len);
    memcpy(g + len, "xyz", 3);
    const char *p = tmp_path("trailing.npy");
    spit(p, g, len + 3);
    expect_read_error(p, HR_ERR_INPUT, "3 bytes of unexpected data after the (3, 4) matrix");
    free(f);
    free(g);
}

/* A version 1.0 file with the given header text (padding and '\n' added)
 * and data_len bytes of zeros after it. */
static const char *handmade(const char *name, const char *dict, size_t data_len)
{
    size_t dl = strlen(dict), hlen = dl + 1;
    hlen += (64 - (10 + hlen) % 64) % 64;
    size_t total = 10 + hlen + data_len;
    unsigned char *b = calloc(total, 1);
    memcpy(b, "\x93NUMPY\x01\x00", 8);
    b[8] = (unsigned char)(hlen & 0xFF);
    b[9] = (unsigned char)(hlen >> 8);
    memcpy(b + 10, dict, dl);
    memset(b + 10 + dl, ' ', hlen - dl - 1);
    b[10 + hlen - 1] = '\n';
    const char *p = tmp_path(name);
    spit(p, b, total);
    free(b);
    return p;
}

static void test_header_with_other_spacing_quotes_and_key_order_is_read(void)
{
    const char *dicts[] = {
        "{\"shape\":(2,3),'fortran_order':False,\"descr\":'<f4'}",
        "{ 'descr' : '<f4' , 'fortran_order' : False , 'shape' : ( 2 , 3 , ) , }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }", /* Python 2 */
    };
    for (size_t k = 0; k < sizeof dicts / sizeof dicts[0]; k++) {
        const char *p = handmade("spacing.npy", dicts[k], 2 * 3 * 4);
        char err[512] = "";
        float *m = NULL;
        size_t r = 0, c = 0;
        CHECKF(hr_npy_read_f32(p, &m, &r, &c, err, sizeof err) == HR_OK, "header %zu: %s", k, err);
        CHECK(r == 2 && c == 3 && m && m[5] == 0.0f);
        free(m);
    }
}

static void test_malformed_headers_are_rejected(void)
{
    const char *bad[][2] = {
        {"{'descr': '<f4', 'fortran_order': False}", "lacks 'shape'"},
        {"{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2, 3), }", "malformed .npy header"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1}", "unexpected key 'x'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (6), }", "malformed .npy header"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3), }", "malformed .npy header"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } junk", "malformed"},
        {"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", "structured dtype"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (), }", "shape () is 0-D"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999, 1), }",
         "too big"},
        {"{'descr': '<f4', 'fortran_order': False, "
         "'shape': (4611686018427387904, 4611686018427387904), }",
         "too big"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        const char *p = handmade("bad.npy", bad[k][0], 24);
        expect_read_error(p, HR_ERR_INPUT, bad[k][1]);
    }
}

static void test_file_that_is_not_npy_is_rejected(void)
{
    const char *p = tmp_path("text.npy");
    spit(p, "hello, this is text\n", 20);
    expect_read_error(p, HR_ERR_INPUT, "not a .npy file");
    p = tmp_path("short.npy");
    spit(p, "\x93NUM", 4);
    expect_read_error(p, HR_ERR_INPUT, "not a .npy file");
    p = tmp_path("v9.npy");
    spit(p, "\x93NUMPY\x09\x00\x10\x00{}              ", 26);
    expect_read_error(p, HR_ERR_INPUT, "unsupported .npy format version 9.0");
    p = tmp_path("cut-header.npy");
    spit(p, "\x93NUMPY\x01\x00\x76\x00{'descr'", 17);
    expect_read_error(p, HR_ERR_INPUT, "header is truncated");
}

static void test_missing_file_is_an_io_error_naming_it(void)
{
    expect_read_error(tmp_path("absent.npy"), HR_ERR_IO, "No such file");
}

static void test_write_into_a_missing_folder_fails_and_leaves_no_temp_file(void)
{
    float a[2] = {1, 2};
    char err[512] = "";
    const char *p = tmp_path("no/such/dir/x.npy");
    hr_status st = hr_npy_write_f32(p, a, 1, 2, err, sizeof err);
    CHECK(st == HR_ERR_IO);
    CHECKF(strstr(err, p) != NULL, "%s", err);
    CHECK(temp_files_left() == 0);
}

static void test_failed_rename_removes_the_temp_file_and_keeps_the_target(void)
{
    /* The target is a non-empty folder: rename() onto it fails after the
     * temporary file was written in full. */
    const char *dir = tmp_path("occupied.npy");
    mkdir(dir, 0700);
    char inner[600];
    snprintf(inner, sizeof inner, "%s/keep", dir);
    spit(inner, "x", 1);
    float a[2] = {1, 2};
    char err[512] = "";
    hr_status st = hr_npy_write_f32(dir, a, 1, 2, err, sizeof err);
    CHECKF(st == HR_ERR_IO, "%s", err);
    CHECKF(strstr(err, dir) != NULL, "%s", err);
    CHECK(temp_files_left() == 0);
    struct stat sb;
    CHECK(stat(inner, &sb) == 0);
    unlink(inner);
    rmdir(dir);
}

static void test_writing_again_replaces_the_file_whole(void)
{
    const char *p = tmp_path("again.npy");
    float a[6] = {1, 2, 3, 4, 5, 6}, b[2] = {7, 8};
    char err[512] = "";
    CHECK(hr_npy_write_f32(p, a, 2, 3, err, sizeof err) == HR_OK);
    CHECK(hr_npy_write_f32(p, b, 1, 2, err, sizeof err) == HR_OK);
    float *m = NULL;
    size_t r = 0, c = 0;
    CHECKF(hr_npy_read_f32(p, &m, &r, &c, err, sizeof err) == HR_OK, "%s", err);
    CHECK(r == 1 && c == 2 && m && m[0] == 7 && m[1] == 8);
    free(m);
    CHECK(temp_files_left() == 0);
}

static void test_null_error_buffer_is_allowed(void)
{
    float *m = NULL;
    size_t r, c;
    CHECK(hr_npy_read_f32(test_fixture("npy/f8.npy"), &m, &r, &c, NULL, 0) == HR_ERR_INPUT);
}

static void remove_tree_files(void)
{
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        unlink(tmp_path(e->d_name));
    }
    if (d) closedir(d);
    rmdir(tmpdir);
}

int main(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/hr-npy-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_round_trip_keeps_shape_and_every_bit);
    RUN(test_view_maps_a_file_and_reads_a_pipe);
    RUN(test_written_header_is_version_1_with_data_at_a_multiple_of_64);
    RUN(test_written_file_is_byte_for_byte_what_numpy_writes);
    RUN(test_numpy_float32_c_order_file_is_read);
    RUN(test_numpy_file_with_zero_rows_is_read);
    RUN(test_numpy_version_2_and_3_headers_are_read);
    RUN(test_float64_file_is_rejected_naming_its_dtype);
    RUN(test_big_endian_float32_file_is_rejected_naming_its_dtype);
    RUN(test_fortran_order_file_is_rejected);
    RUN(test_one_dimensional_file_is_rejected_saying_it_is_1d);
    RUN(test_three_dimensional_file_is_rejected);
    RUN(test_truncated_data_is_rejected);
    RUN(test_trailing_bytes_after_the_data_are_rejected);
    RUN(test_header_with_other_spacing_quotes_and_key_order_is_read);
    RUN(test_malformed_headers_are_rejected);
    RUN(test_file_that_is_not_npy_is_rejected);
    RUN(test_missing_file_is_an_io_error_naming_it);
    RUN(test_write_into_a_missing_folder_fails_and_leaves_no_temp_file);
    RUN(test_failed_rename_removes_the_temp_file_and_keeps_the_target);
    RUN(test_writing_again_replaces_the_file_whole);
    RUN(test_null_error_buffer_is_allowed);
    remove_tree_files();
    return test_summary();
}
