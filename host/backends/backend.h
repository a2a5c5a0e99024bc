/*
 * host/backends/backend.h: the device layer's backend interface and
 * registry (internal; callers choose a device through hyporank/device.h and
 * the services' own headers).
 *
 * A backend is one hr_backend: a name, the hr_device it serves, whether a
 * device is there, and one table of functions per service it implements
 * (NULL for a service it does not):
 *
 *   encoder  hr_encoder_backend   front end host/model/encoder.c
 *   scorer   hr_scorer_backend    front end host/scoring/scorer.c
 *   probe    hr_probe_backend     front end host/scoring/probe.c (the Newton
 *                                 loop; a backend supplies the O(n d^2) passes)
 *
 * The front ends own the handles, the checks, the auto policy
 * (hyporank/device.h) and everything that does not depend on where the
 * arithmetic runs; a backend only computes. Each table's state is an opaque
 * void * that its create returns and its destroy frees (destroy accepts
 * NULL).
 *
 * Adding a backend is adding files: a folder host/backends/<name>/ (plus
 * kernels for it, as kernels/ is for cuda) with the tables and one
 * `const hr_backend hr_backend_<name>`, and one registration line, either
 *
 *   - in the library: X(<name>) in host/backends/registry.c's
 *     HR_BUILTIN_BACKENDS, under the build option that compiles the folder
 *     (HR_WITH_CUDA(X(cuda)) for cuda); CMakeLists.txt compiles
 *     host/backends/<name>/ when that option is on.
 *     The list is assembled at build time because the library is a static
 *     archive: the linker drops an object that nothing references, and a
 *     self-registering constructor in it would be dropped with it; the list
 *     references every backend the build has.
 *   - or in a program that links its backend's object directly (a test, a
 *     plugin): HR_BACKEND_REGISTER(hr_backend_<name>) in that object, a
 *     constructor that calls hr_backend_register before main (GCC and Clang,
 *     __attribute__((constructor))). tests/backend_reference.c does this.
 *
 * Which backend runs: for HR_DEVICE_CPU or HR_DEVICE_CUDA, the backend of
 * that device with the service's table registered last (a backend
 * registered at run time overrides a built-in one of the same device); for
 * HR_DEVICE_AUTO, the first registered accelerator (device other than CPU)
 * with the table whose device is usable, when the service finds the work
 * worth it (each table says from what size), else the CPU.
 *
 * Numerics: every backend computes what the CPU backend computes, within
 * the tolerance its service documents; tests/test_backends.c runs every
 * registered backend's operations against the CPU's.
 */
#ifndef HYPORANK_BACKEND_H
#define HYPORANK_BACKEND_H

#include "hyporank/device.h"
#include "hyporank/encoder.h"
#include "hyporank/model.h"
#include "hyporank/probe.h"
#include "hyporank/scorer.h"
#include "hyporank/status.h"
#include "model/encoder_internal.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ encoder */

/* Each step of the forward pass on host data, for tests/test_backends.c
 * (the CPU's are host/backends/cpu/encoder_cpu.h's, the specification). All
 * matrices row-major float32; T = offsets[n_seq] tokens. */
typedef struct hr_encoder_ops {
    /* x (rows, cols) = LayerNorm of each row; gamma, beta: (cols) */
    hr_status (*layernorm_rows)(float *x, int rows, int cols, const float *gamma,
                                const float *beta, float eps, char *err, size_t errlen);
    /* each row of x (rows, cols) divided by max(its norm, 1e-12) */
    hr_status (*l2_normalize_rows)(float *x, int rows, int cols, char *err, size_t errlen);
    /* x (T, h) = LayerNorm(word[ids[t]] + pos[t - offsets[s]] + type0) per token;
     * word: (vocab, h), pos: (n_pos, h), type0, gamma, beta: (h) */
    hr_status (*embed_layernorm)(const int32_t *ids, const int *offsets, int n_seq,
                                 const float *word, int vocab, const float *pos, int n_pos,
                                 const float *type0, const float *gamma, const float *beta,
                                 float eps, int h, float *x, char *err, size_t errlen);
    /* x (rows, h) = LayerNorm(x + y + b) per row; y: (rows, h), b, gamma, beta: (h) */
    hr_status (*residual_layernorm)(float *x, const float *y, const float *b, int rows, int h,
                                    const float *gamma, const float *beta, float eps, char *err,
                                    size_t errlen);
    /* y (rows, cols) = GELU(y + b), exact erf GELU; b: (cols) */
    hr_status (*bias_gelu)(float *y, const float *b, int rows, int cols, char *err,
                           size_t errlen);
    /* ctx (T, h) = per (sequence, head) softmax(Q K^T / sqrt(dh)) V, where qkv: (T, 3h)
     * holds Q | K | V before their bias, qkv_b: (3h) */
    hr_status (*attention)(const float *qkv, const float *qkv_b, const int *offsets, int n_seq,
                           int h, int heads, float *ctx, char *err, size_t errlen);
    /* out (n_seq, h) = mean over each sequence's rows of x (T, h), L2-normalised when
     * normalize is 1 */
    hr_status (*mean_pool)(const float *x, const int *offsets, int n_seq, int h, int normalize,
                           float *out, char *err, size_t errlen);
} hr_encoder_ops;

typedef struct hr_encoder_backend {
    /* The backend's encoder for model m (borrowed until destroy), with
     * n_threads >= 1 host threads. HR_ERR_UNSUPPORTED for a model it cannot
     * run, HR_ERR_NO_DEVICE without a device: the message says why. */
    hr_status (*create)(const hr_model *m, int n_threads, void **out, char *err, size_t errlen);
    void (*destroy)(void *state);
    /* hr_encoder_embed for the state's model (n >= 0; out: (n, dim)); opt:
     * the accelerator plan (hr_gpu_embed_options), never NULL. */
    hr_status (*embed)(void *state, const hr_gpu_embed_options *opt, const char *const *texts,
                       const size_t *lens, size_t n, float *out, hr_progress_fn progress,
                       void *user, char *err, size_t errlen);
    /* One packed batch: ids (T), offsets (n_seq + 1) as host/backends/cpu/
     * encoder_cpu.h's hr_cpu_forward; out: (n_seq, hidden). Bad ids or
     * offsets are HR_ERR_INTERNAL where the backend checks them. */
    hr_status (*forward)(void *state, const int32_t *ids, const int *offsets, int n_seq,
                         float *out, char *err, size_t errlen);
    /* Texts embedded between two cache writes (hr_encoder_embed_cached):
     * what a killed run can lose; larger for faster backends, whose calls
     * must be bigger to keep them busy. */
    size_t cache_batch_texts;
    const hr_encoder_ops *ops; /* the steps, for tests; NULL: none exposed */
} hr_encoder_backend;

/* ------------------------------------------------------------------- scorer */

/* What the front end asks a scorer backend for (hr_scorer_options,
 * checked: method known, temperature in range, n_threads >= 0). */
typedef struct hr_scorer_backend_options {
    hr_score_method method;
    double temperature;         /* CONTRAST's T */
    size_t memory_bytes;        /* host memory for score slabs (> 0) */
    size_t device_memory_bytes; /* accelerator memory; 0: the backend's default */
    int n_threads;              /* host worker threads; <= 0: one per core */
} hr_scorer_backend_options;

/* How a scorer spent its budget, for tests and benchmarks. */
typedef struct hr_scorer_layout {
    int resident;         /* 1: the samples live where the scorer computes */
    size_t chunk_samples; /* samples per tile (0: all of them) */
    size_t block_rows;    /* hypotheses per block (hr_scorer_block_rows) */
    size_t group_rows;    /* hypotheses whose statistics are gathered at once */
} hr_scorer_layout;

typedef struct hr_scorer_backend {
    /* 1 when the backend computes method at temperature t within the
     * documented tolerance (verified); else 0 and a reason in why. */
    int (*supports)(hr_score_method method, double t, char *why, size_t whylen);
    /* HR_DEVICE_AUTO uses the backend from this many A-B pairs on. */
    double auto_min_pairs;
    /* xa: (n_a, dim), xb: (n_b, dim) row-major, borrowed until destroy;
     * n_a, n_b >= 1. */
    hr_status (*create)(const float *xa, size_t n_a, const float *xb, size_t n_b, int dim,
                        const hr_scorer_backend_options *o, void **out, char *err,
                        size_t errlen);
    void (*destroy)(void *state);
    /* hr_scorer_score for k >= 1 hypotheses h: (k, dim) without the
     * q-values (the front end applies Benjamini-Hochberg); out: (k). */
    hr_status (*score)(void *state, const float *h, size_t k, hr_hypothesis_score *out,
                       char *err, size_t errlen);
    /* Optional (NULL: the front end computes the effects on the CPU after
     * score): score, and the effect of each hypothesis's plain similarity
     * (hyporank/findings.h) into effects: (k), q_value left at 1, in the
     * same pass over the similarities. */
    hr_status (*score_effects)(void *state, const float *h, size_t k, hr_hypothesis_score *out,
                               hr_effect *effects, char *err, size_t errlen);
    void (*layout)(const void *state, hr_scorer_layout *out);
} hr_scorer_backend;

/* -------------------------------------------------------------------- probe */

/* How a probe's data was placed, for tests and benchmarks. */
typedef struct hr_probe_layout {
    int resident;      /* 1: X lives where the passes compute */
    size_t chunk_rows; /* rows per block of a pass */
} hr_probe_layout;

/* The passes over the rows that hr_probe_fit's solvers need
 * (host/scoring/probe.c: Newton and L-BFGS). Rows are x~ = (x, 1), p = d + 1
 * unknowns theta = (w, b); s_i the weights (1 without), mu_i = sigmoid(z_i).
 * Every sum is in double. */
typedef struct hr_probe_backend {
    /* HR_DEVICE_AUTO uses the backend for fits of at least this many m d. */
    double auto_min_work;
    /* HR_PROBE_SOLVER_AUTO fits at least this many rows with L-BFGS on this
     * backend (where it was measured to beat Newton); 0: always Newton. */
    size_t auto_lbfgs_min_rows;
    /* The fit's rows: rows[0..m) of X (n, d) row-major float32 (rows NULL:
     * the first m), labels y and weights sw (NULL: all 1) indexed by row,
     * all checked (hr_probe_fit's checks). memory_bytes: the backend's
     * budget, 0 for its default. X, y, sw are borrowed until data_destroy
     * unless the backend copies them (its header says). */
    hr_status (*data_create)(const float *X, int d, const size_t *rows, size_t m,
                             const uint8_t *y, const double *sw, size_t memory_bytes,
                             void **out, char *err, size_t errlen);
    void (*data_destroy)(void *data);
    /* Pass 1 at theta (p): keeps the margins z = X~ theta; *loss = sum over
     * rows of positive weight of s_i softplus(y_i ? -z_i : z_i), in row
     * order; g (p) = X~^T (s (mu - y)); H (p, p) row-major, upper triangle =
     * X~^T diag(s mu (1 - mu)) X~ (the lower triangle is not read).
     * H NULL: the loss and g only, in one read of X and no O(m p^2) work
     * (what L-BFGS asks for); the margins need not be kept, and the sums
     * may be split over the backend's threads in a fixed order (so the
     * same inputs still give the same bits). */
    hr_status (*gradient)(void *data, const double *theta, double *loss, double *g, double *H,
                          char *err, size_t errlen);
    /* Pass 2: keeps dz = X~ delta (delta: (p)). */
    hr_status (*step)(void *data, const double *delta, char *err, size_t errlen);
    /* Along the line, z_i(t) = z_i + t dz_i, over the rows of positive
     * weight: slope 0: sum s_i softplus(y_i ? -z_i(t) : z_i(t)) (the loss);
     * slope 1: sum s_i (sigmoid(z_i(t)) - y_i) dz_i (its derivative in t). */
    hr_status (*line_sum)(void *data, double t, int slope, double *out, char *err,
                          size_t errlen);
    void (*layout)(const void *data, hr_probe_layout *out);
} hr_probe_backend;

/* ----------------------------------------------------------------- backends */

typedef struct hr_backend {
    const char *name; /* "cpu", "cuda", ... */
    hr_device device; /* what it serves: HR_DEVICE_CPU or an accelerator */
    /* 1 when a device is present (why: static text when not); NULL: always */
    int (*usable)(const char **why);
    /* name and memory of the device (hr_device_name); NULL: the backend's name, 0 */
    hr_status (*device_name)(char *name, size_t namelen, size_t *total_mem, char *err,
                             size_t errlen);
    const hr_encoder_backend *encoder; /* NULL: no encoder */
    const hr_scorer_backend *scorer;   /* NULL: no scorer */
    const hr_probe_backend *probe;     /* NULL: no probe */
} hr_backend;

typedef enum hr_service { HR_SERVICE_ENCODER, HR_SERVICE_SCORER, HR_SERVICE_PROBE } hr_service;

/* Registers b (borrowed for the life of the program) after the built-in
 * backends. Call before any handle is created (a constructor does); not
 * thread-safe. 0, or -1 when the table of run-time backends is full. */
int hr_backend_register(const hr_backend *b);

#if defined(__GNUC__)
/* In a program's own object: registers `var` (an hr_backend) before main. */
#define HR_BACKEND_REGISTER(var)                                                  \
    __attribute__((constructor)) static void hr_backend_register_##var(void)      \
    {                                                                             \
        hr_backend_register(&(var));                                              \
    }
#endif

/* Every registered backend, built-in ones first, in registration order. */
size_t hr_backend_count(void);
const hr_backend *hr_backend_at(size_t i);
/* The backend called name, NULL if none. */
const hr_backend *hr_backend_named(const char *name);
/* 1 when b implements service svc. */
int hr_backend_has(const hr_backend *b, hr_service svc);

/* The backend that runs svc for device (HR_DEVICE_CPU or an accelerator):
 * the last registered one of that device with the service. None: NULL, and
 * HR_ERR_UNSUPPORTED with a message naming what the build lacks. */
hr_status hr_backend_for(hr_device device, hr_service svc, const hr_backend **out, char *err,
                         size_t errlen);
/* For HR_DEVICE_AUTO: the first registered accelerator with the service
 * whose device is usable; or NULL, and when why is not NULL, *why says why
 * (static text). */
const hr_backend *hr_backend_accelerator(hr_service svc, const char **why);
/* 1 when b's device is present (b->usable, or always); else 0 and *why. */
int hr_backend_usable(const hr_backend *b, const char **why);

#ifdef __cplusplus
}
#endif

#endif
