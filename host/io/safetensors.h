/*
 * host/io/safetensors.h: a checked reader of the safetensors format (internal).
 *
 * The format: an 8-byte little-endian header length n, n bytes of JSON
 * (an object mapping tensor names to {"dtype", "shape", "data_offsets"},
 * plus an optional "__metadata__" object), then the data section. Offsets
 * [begin, end) are relative to the start of the data section.
 *
 * hr_st_open maps the file and checks the whole header before anything else
 * may be read: the length is sane and inside the file, the JSON is an object,
 * every tensor has a dtype string, a shape of non-negative integers whose
 * element count does not overflow, and data_offsets [begin, end] with
 * begin <= end <= data size and end - begin == elements * item size (for the
 * known dtypes), no tensor overlaps another, no name appears twice, and the
 * tensors cover the data section exactly: no gap between them and no byte
 * after the last (a file shifted by inserted bytes fails here). A tensor
 * whose dtype is unknown is accepted at open and refused when it is read.
 *
 *     hr_st_file *f;
 *     if (hr_st_open("model.safetensors", &f, err, sizeof err)) return ...;
 *     int64_t shape[2] = {384, 384};
 *     float *w = malloc(384 * 384 * sizeof *w);    // (384, 384) row-major
 *     st = hr_st_read_f32(f, "encoder.layer.0.attention.self.query.weight",
 *                         2, shape, w, err, sizeof err);
 *     hr_st_close(f);
 *
 * Errors name the file, the tensor and what was wrong. A file is read-only
 * once open; reads from several threads are safe.
 */
#ifndef HYPORANK_SAFETENSORS_H
#define HYPORANK_SAFETENSORS_H

#include "hyporank/status.h"

#include <stddef.h>
#include <stdint.h>

#define HR_ST_MAX_DIMS 8

/* Largest header accepted (the reference implementation's limit). */
#define HR_ST_MAX_HEADER ((uint64_t)100 * 1000 * 1000)

typedef enum hr_st_dtype {
    HR_ST_F64, HR_ST_F32, HR_ST_F16, HR_ST_BF16,
    HR_ST_I64, HR_ST_I32, HR_ST_I16, HR_ST_I8, HR_ST_U8, HR_ST_BOOL,
    HR_ST_UNKNOWN
} hr_st_dtype;

typedef struct hr_st_tensor {
    const char *name;          /* owned by the file */
    char dtype_name[16];       /* as written in the header (truncated if longer) */
    hr_st_dtype dtype;         /* HR_ST_UNKNOWN for a dtype outside the set above */
    int ndim;                  /* 0 .. HR_ST_MAX_DIMS; 0 is a scalar */
    int64_t shape[HR_ST_MAX_DIMS];
    uint64_t numel;            /* product of shape (1 for a scalar) */
    uint64_t begin, end;       /* byte range inside the data section */
} hr_st_tensor;

typedef struct hr_st_file hr_st_file;

/* Opens and checks path. On success *out owns the mapping; close it with
 * hr_st_close. Errors: HR_ERR_IO (cannot open or map), HR_ERR_MODEL (the file
 * breaks the format), HR_ERR_NOMEM. */
hr_status hr_st_open(const char *path, hr_st_file **out, char *err, size_t errlen);
void hr_st_close(hr_st_file *f); /* accepts NULL */

/* The path given to hr_st_open (owned by f). */
const char *hr_st_path(const hr_st_file *f);
/* The whole file's bytes (for hashing). */
const unsigned char *hr_st_bytes(const hr_st_file *f, size_t *len);

/* Tensors in data order (ascending begin). */
size_t hr_st_count(const hr_st_file *f);
const hr_st_tensor *hr_st_at(const hr_st_file *f, size_t i);
/* The tensor called name, or NULL. */
const hr_st_tensor *hr_st_find(const hr_st_file *f, const char *name);

/* Bytes per element of dtype; 0 for HR_ST_UNKNOWN. */
size_t hr_st_dtype_size(hr_st_dtype dtype);

/* Copies tensor name into dst as float32, converting from F32, F16 or BF16
 * exactly (F16 subnormals, infinities and NaNs included). The tensor must have
 * exactly ndim dimensions equal to shape; dst holds the product of shape
 * floats in the tensor's row-major order. Errors (HR_ERR_MODEL): no such
 * tensor, another dtype, another shape. */
hr_status hr_st_read_f32(const hr_st_file *f, const char *name, int ndim, const int64_t *shape,
                         float *dst, char *err, size_t errlen);

/* The checks of hr_st_read_f32 alone (name, dtype, shape), from the header:
 * no data is touched. */
hr_status hr_st_check_f32(const hr_st_file *f, const char *name, int ndim, const int64_t *shape,
                          char *err, size_t errlen);

/* The conversions themselves, exposed for tests. */
float hr_f16_to_f32(uint16_t h);
float hr_bf16_to_f32(uint16_t h);

#endif
