/*
 * hyporank/npy.h: NumPy .npy files of float32 matrices.
 *
 * Writes format version 1.0, little-endian float32 ('<f4'), C order, shape
 * (rows, cols). The file is written to a temporary name beside the target
 * and renamed into place (hyporank/output.h), so a failed or killed run never
 * leaves a partial file under the final name.
 *
 *     hr_npy_write_f32("x.npy", emb, n, 384, err, sizeof err);
 *     float *m; size_t r, c;
 *     hr_npy_read_f32("x.npy", &m, &r, &c, err, sizeof err);  free(m);
 */
#ifndef HYPORANK_NPY_H
#define HYPORANK_NPY_H

#include "hyporank/status.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* data: (rows, cols) row-major. */
hr_status hr_npy_write_f32(const char *path, const float *data, size_t rows, size_t cols,
                           char *err, size_t errlen);

/* Reads a 2-D '<f4' C-order .npy (version 1.0, 2.0 or 3.0). Anything else (other
 * dtype, Fortran order, other rank, truncated data) is HR_ERR_INPUT with the
 * reason. On success *data is malloc'ed (rows, cols) row-major; free() it. */
hr_status hr_npy_read_f32(const char *path, float **data, size_t *rows, size_t *cols,
                          char *err, size_t errlen);

/* A read-only view of a .npy's matrix, for reading large embeddings without
 * copying them: a regular file on a little-endian host is mapped (its pages
 * come from the page cache; nothing is allocated or copied for them), and
 * anything else (a pipe, a big-endian host) is read into memory as
 * hr_npy_read_f32 reads it. Same checks and messages as hr_npy_read_f32.
 * While mapped, the file must not be changed in place: numpy.save over the
 * same path truncates it, and reading a page that is no longer in the file
 * ends the process with SIGBUS (hr_npy_write_f32 writes a new file and
 * renames it, which is safe). */
typedef struct hr_npy_view {
    const float *data; /* (rows, cols) row-major */
    size_t rows, cols;
    void *map_base;    /* the mapping, or NULL */
    size_t map_len;
    float *owned;      /* the copy in memory, or NULL */
} hr_npy_view;

hr_status hr_npy_open_f32(const char *path, hr_npy_view *view, char *err, size_t errlen);

/* Releases the view (a zeroed or closed view is fine). */
void hr_npy_close(hr_npy_view *view);

#ifdef __cplusplus
}
#endif

#endif
