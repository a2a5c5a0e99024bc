/*
 * host/backends/cpu/encoder_cpu.c: BERT sentence encoder in float32 on the CPU.
 *
 * Texts are tokenised, ordered by length and packed end to end into batches
 * of at most HR_CPU_BATCH_TOKENS tokens, so that the linear layers run as a
 * few large matrix products (OpenBLAS sgemm) and no work goes to padding.
 * Attention runs per sequence and head. Worker threads take whole batches;
 * each calls a single-threaded BLAS, so the cores never wait on each other.
 */
#include "backends/cpu/encoder_cpu.h"
#include "core/fastmath.h"
#include "core/util.h"

#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Tokens per packed batch. Large enough that sgemm runs near its peak,
 * small enough that the (tokens, intermediate) activations stay in L2/L3. */
#define HR_CPU_BATCH_TOKENS 2048
/* Texts tokenised and scheduled together; also the progress granularity. */
#define HR_CPU_CHUNK_TEXTS 8192

/* OpenBLAS entry point (cblas.h from OpenBLAS declares it; repeated here so
 * that a reference cblas.h also compiles). */
void openblas_set_num_threads(int num_threads);

struct hr_cpu_workspace {
    int max_tokens, max_len;
    float *x;      /* (max_tokens, H) hidden states */
    float *qkv;    /* (max_tokens, 3H) query | key | value */
    float *ctx;    /* (max_tokens, H) attention context, then scratch */
    float *inter;  /* (max_tokens, I) feed-forward activations */
    float *scores; /* (max_len, max_len) attention scores of one head */
};

hr_cpu_workspace *hr_cpu_workspace_create(const hr_model *m, int max_tokens, int max_len)
{
    hr_cpu_workspace *ws = calloc(1, sizeof *ws);
    if (!ws) return NULL;
    size_t t = (size_t)max_tokens, h = (size_t)m->hidden;
    ws->max_tokens = max_tokens;
    ws->max_len = max_len;
    ws->x = malloc(t * h * sizeof(float));
    ws->qkv = malloc(t * 3 * h * sizeof(float));
    ws->ctx = malloc(t * h * sizeof(float));
    ws->inter = malloc(t * (size_t)m->intermediate * sizeof(float));
    ws->scores = malloc((size_t)max_len * (size_t)max_len * sizeof(float));
    if (!ws->x || !ws->qkv || !ws->ctx || !ws->inter || !ws->scores) {
        hr_cpu_workspace_destroy(ws);
        return NULL;
    }
    return ws;
}

void hr_cpu_workspace_destroy(hr_cpu_workspace *ws)
{
    if (!ws) return;
    free(ws->x);
    free(ws->qkv);
    free(ws->ctx);
    free(ws->inter);
    free(ws->scores);
    free(ws);
}

/* Sum of v[0..n) in 16 interleaved partial sums (a fixed order, so results
 * are reproducible, and one the compiler turns into vector adds). */
static inline float sum16(const float *v, int n)
{
    float acc[16] = {0};
    int c = 0;
    for (; c + 16 <= n; c += 16)
        for (int j = 0; j < 16; j++) acc[j] += v[c + j];
    float s = 0.f;
    for (int j = 0; j < 16; j++) s += acc[j];
    for (; c < n; c++) s += v[c];
    return s;
}

/* Sum of (v[i] - mean)^2 over v[0..n), in the same way as sum16. */
static inline float sumsq16(const float *v, int n, float mean)
{
    float acc[16] = {0};
    int c = 0;
    for (; c + 16 <= n; c += 16)
        for (int j = 0; j < 16; j++) {
            float d = v[c + j] - mean;
            acc[j] += d * d;
        }
    float s = 0.f;
    for (int j = 0; j < 16; j++) s += acc[j];
    for (; c < n; c++) s += (v[c] - mean) * (v[c] - mean);
    return s;
}

/* LayerNorm of one row in place: two-pass mean and biased variance, as
 * torch.nn.LayerNorm. */
static inline void layernorm_row(float *v, int cols, const float *gamma, const float *beta,
                                 float eps)
{
    const float mean = sum16(v, cols) / (float)cols;
    const float inv = 1.f / sqrtf(sumsq16(v, cols, mean) / (float)cols + eps);
    for (int c = 0; c < cols; c++) v[c] = (v[c] - mean) * inv * gamma[c] + beta[c];
}

HR_VECTOR_CLONES
void hr_cpu_layernorm_rows(float *x, int rows, int cols, const float *gamma, const float *beta,
                           float eps)
{
    for (int r = 0; r < rows; r++) layernorm_row(x + (size_t)r * cols, cols, gamma, beta, eps);
}

HR_VECTOR_CLONES
void hr_cpu_residual_layernorm(float *x, const float *y, const float *b, int rows, int cols,
                               const float *gamma, const float *beta, float eps)
{
    for (int r = 0; r < rows; r++) {
        float *v = x + (size_t)r * cols;
        const float *u = y + (size_t)r * cols;
        for (int c = 0; c < cols; c++) v[c] += u[c] + b[c];
        layernorm_row(v, cols, gamma, beta, eps);
    }
}

/* Largest of v[0..n), n >= 1, with 16 interleaved maxima (vectorisable). */
static inline float max16(const float *v, int n)
{
    float acc[16];
    for (int j = 0; j < 16; j++) acc[j] = v[0];
    int c = 0;
    for (; c + 16 <= n; c += 16)
        for (int j = 0; j < 16; j++) acc[j] = v[c + j] > acc[j] ? v[c + j] : acc[j];
    float m = acc[0];
    for (int j = 1; j < 16; j++) m = acc[j] > m ? acc[j] : m;
    for (; c < n; c++) m = v[c] > m ? v[c] : m;
    return m;
}

/* Each row of p: (rows, cols) row-major becomes softmax(row). */
HR_VECTOR_CLONES
static void softmax_rows(float *p, int rows, int cols)
{
    for (int i = 0; i < rows; i++) {
        float *row = p + (size_t)i * cols;
        const float mx = max16(row, cols);
        for (int j = 0; j < cols; j++) row[j] = hr_expf(row[j] - mx);
        const float inv = 1.f / sum16(row, cols);
        for (int j = 0; j < cols; j++) row[j] *= inv;
    }
}

HR_VECTOR_CLONES
void hr_cpu_l2_normalize_rows(float *x, int rows, int cols)
{
    for (int r = 0; r < rows; r++) {
        float *v = x + (size_t)r * cols;
        const float ss = sumsq16(v, cols, 0.f);
        /* As torch.nn.functional.normalize: divide by max(norm, 1e-12). */
        float norm = sqrtf(ss);
        float inv = 1.f / (norm > 1e-12f ? norm : 1e-12f);
        for (int c = 0; c < cols; c++) v[c] *= inv;
    }
}

/* y = x W^T (the bias is added by the pass that reads y next).
 * x: (rows, in), w: (out, in), y: (rows, out), all row-major. */
static void matmul_wt(const float *x, int rows, int in, const float *w, int out, float *y)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, out, in, 1.f, x, in, w, in, 0.f,
                y, out);
}

HR_VECTOR_CLONES
void hr_cpu_add_bias_rows(float *y, int rows, int cols, const float *b)
{
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) y[(size_t)r * cols + c] += b[c];
}

HR_VECTOR_CLONES
void hr_cpu_bias_gelu_rows(float *y, int rows, int cols, const float *b)
{
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            float *v = y + (size_t)r * cols + c;
            *v = hr_gelu(*v + b[c]);
        }
}

/* x += y, element-wise over n values. */
HR_VECTOR_CLONES
static void add_inplace(float *x, const float *y, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] += y[i];
}

void hr_cpu_attention(const float *qkv, const int *offsets, int n_seq, int h, int heads,
                      float *ctx, float *scores)
{
    const int dh = h / heads, ld = 3 * h;
    const float scale = 1.f / sqrtf((float)dh);
    for (int s = 0; s < n_seq; s++) {
        const int start = offsets[s], len = offsets[s + 1] - offsets[s];
        for (int head = 0; head < heads; head++) {
            const float *q = qkv + (size_t)start * ld + head * dh;
            const float *k = q + h;
            const float *v = q + 2 * h;
            /* scores (len, len) = scale * Q K^T */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, len, len, dh, scale, q, ld, k,
                        ld, 0.f, scores, len);
            softmax_rows(scores, len, len);
            /* ctx rows of this head (len, dh) = P V */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, len, dh, len, 1.f, scores, len,
                        v, ld, 0.f, ctx + (size_t)start * h + head * dh, h);
        }
    }
}

void hr_cpu_pool(hr_pooling pooling, const float *x, const int *offsets, int n_seq, int h,
                 float *out)
{
    for (int s = 0; s < n_seq; s++) {
        const int start = offsets[s], len = offsets[s + 1] - offsets[s];
        float *o = out + (size_t)s * h;
        const float *first = x + (size_t)start * h;
        switch (pooling) {
        case HR_POOL_CLS:
            memcpy(o, first, (size_t)h * sizeof(float));
            break;
        case HR_POOL_MAX:
            memcpy(o, first, (size_t)h * sizeof(float));
            for (int t = 1; t < len; t++)
                for (int c = 0; c < h; c++) {
                    float v = first[(size_t)t * h + c];
                    o[c] = v > o[c] ? v : o[c];
                }
            break;
        case HR_POOL_MEAN:
        case HR_POOL_MEAN_SQRT_LEN: {
            memset(o, 0, (size_t)h * sizeof(float));
            for (int t = 0; t < len; t++) add_inplace(o, first + (size_t)t * h, (size_t)h);
            float div = pooling == HR_POOL_MEAN ? (float)len : sqrtf((float)len);
            for (int c = 0; c < h; c++) o[c] /= div;
            break;
        }
        }
    }
}

void hr_cpu_embed_layernorm(const int32_t *ids, const int *offsets, int n_seq, const float *word,
                            const float *pos, const float *type0, const float *gamma,
                            const float *beta, float eps, int h, float *x)
{
    for (int s = 0; s < n_seq; s++) {
        for (int t = offsets[s]; t < offsets[s + 1]; t++) {
            const int p = t - offsets[s];
            float *xt = x + (size_t)t * h;
            const float *we = word + (size_t)ids[t] * h;
            const float *pe = pos + (size_t)p * h;
            for (int c = 0; c < h; c++) xt[c] = we[c] + pe[c] + type0[c];
        }
    }
    hr_cpu_layernorm_rows(x, offsets[n_seq], h, gamma, beta, eps);
}

void hr_cpu_forward(const hr_model *m, const int32_t *ids, const int *offsets, int n_seq,
                    float *out, hr_cpu_workspace *ws)
{
    const int h = m->hidden, inter = m->intermediate;
    const int tokens = offsets[n_seq];
    float *x = ws->x;

    /* Embeddings: word + position + token type 0, then LayerNorm. */
    hr_cpu_embed_layernorm(ids, offsets, n_seq, m->word_emb, m->pos_emb, m->type_emb, m->emb_ln_g,
                           m->emb_ln_b, m->ln_eps, h, x);

    for (int l = 0; l < m->n_layers; l++) {
        const hr_layer_weights *w = &m->layers[l];
        matmul_wt(x, tokens, h, w->qkv_w, 3 * h, ws->qkv);
        hr_cpu_add_bias_rows(ws->qkv, tokens, 3 * h, w->qkv_b);
        hr_cpu_attention(ws->qkv, offsets, n_seq, h, m->n_heads, ws->ctx, ws->scores);
        /* attention output projection + bias, residual, LayerNorm; qkv is free now */
        float *proj = ws->qkv;
        matmul_wt(ws->ctx, tokens, h, w->ao_w, h, proj);
        hr_cpu_residual_layernorm(x, proj, w->ao_b, tokens, h, w->ln1_g, w->ln1_b, m->ln_eps);
        /* feed-forward: dense + bias + GELU, dense + bias, residual, LayerNorm */
        matmul_wt(x, tokens, h, w->in_w, inter, ws->inter);
        hr_cpu_bias_gelu_rows(ws->inter, tokens, inter, w->in_b);
        matmul_wt(ws->inter, tokens, inter, w->out_w, h, proj);
        hr_cpu_residual_layernorm(x, proj, w->out_b, tokens, h, w->ln2_g, w->ln2_b, m->ln_eps);
    }

    hr_cpu_pool(m->pooling, x, offsets, n_seq, h, out);
    if (m->normalize) hr_cpu_l2_normalize_rows(out, n_seq, h);
}

/* ---- scheduling: tokenise, sort by length, pack (shared with the GPU driver,
 * host/backends/cuda/encoder_gpu.c), and the CPU driver that runs batches on worker threads ---- */

int hr_embed_chunk_init(hr_embed_chunk *c, const hr_model *m, const char *const *texts,
                        const size_t *lens, size_t cap)
{
    memset(c, 0, sizeof *c);
    c->m = m;
    c->texts = texts;
    c->lens = lens;
    c->cap = cap ? cap : 1;
    c->max_len = m->max_seq_length;
    c->ids = malloc(c->cap * (size_t)c->max_len * sizeof *c->ids);
    c->n_ids = malloc(c->cap * sizeof *c->n_ids);
    c->order = malloc(c->cap * sizeof *c->order);
    c->batch_start = malloc((c->cap + 1) * sizeof *c->batch_start);
    atomic_init(&c->next_text, 0);
    if (!c->ids || !c->n_ids || !c->order || !c->batch_start) {
        hr_embed_chunk_free(c);
        return -1;
    }
    return 0;
}

void hr_embed_chunk_free(hr_embed_chunk *c)
{
    free(c->ids);
    free(c->n_ids);
    free(c->order);
    free(c->batch_start);
    c->ids = NULL, c->n_ids = NULL, c->order = NULL, c->batch_start = NULL;
}

void hr_embed_chunk_start(hr_embed_chunk *c, size_t first, size_t count)
{
    c->first = first;
    c->count = count <= c->cap ? count : c->cap;
    c->n_batches = 0;
    atomic_store(&c->next_text, 0);
}

#define TOKENIZE_GRAIN 256

void hr_embed_chunk_tokenize(hr_embed_chunk *c)
{
    const hr_tokenizer *tok = c->m->tokenizer;
    for (;;) {
        size_t i0 = atomic_fetch_add(&c->next_text, TOKENIZE_GRAIN);
        if (i0 >= c->count) return;
        size_t i1 = i0 + TOKENIZE_GRAIN < c->count ? i0 + TOKENIZE_GRAIN : c->count;
        for (size_t i = i0; i < i1; i++) {
            const char *t = c->texts[c->first + i];
            size_t len = c->lens ? c->lens[c->first + i] : strlen(t);
            c->n_ids[i] = (int)hr_tokenizer_encode(tok, t, len, c->ids + i * (size_t)c->max_len,
                                                   (size_t)c->max_len);
        }
    }
}

void *hr_embed_chunk_tokenize_worker(void *chunk)
{
    hr_embed_chunk_tokenize(chunk);
    return NULL;
}

/* Orders rows by token count (counting sort: lengths are <= max_len) and cuts
 * the order into batches of at most `budget` tokens. */
int hr_embed_chunk_plan(hr_embed_chunk *c, int budget)
{
    size_t *count = calloc((size_t)c->max_len + 2, sizeof *count);
    if (!count) return -1;
    for (size_t i = 0; i < c->count; i++) count[c->n_ids[i] + 1]++;
    for (int l = 1; l <= c->max_len + 1; l++) count[l] += count[l - 1];
    for (size_t i = 0; i < c->count; i++) c->order[count[c->n_ids[i]]++] = i;
    free(count);

    size_t nb = 0, tokens = 0;
    c->batch_start[0] = 0;
    for (size_t k = 0; k < c->count; k++) {
        int n = c->n_ids[c->order[k]];
        if (tokens > 0 && tokens + (size_t)n > (size_t)budget) {
            c->batch_start[++nb] = k;
            tokens = 0;
        }
        tokens += (size_t)n;
    }
    c->batch_start[++nb] = c->count;
    c->n_batches = nb;
    return 0;
}

int hr_embed_chunk_pack(const hr_embed_chunk *c, size_t b, int32_t *ids, int *offsets)
{
    int n_seq = 0;
    offsets[0] = 0;
    for (size_t k = c->batch_start[b]; k < c->batch_start[b + 1]; k++) {
        size_t row = c->order[k];
        int n = c->n_ids[row];
        memcpy(ids + offsets[n_seq], c->ids + row * (size_t)c->max_len, (size_t)n * sizeof *ids);
        offsets[n_seq + 1] = offsets[n_seq] + n;
        n_seq++;
    }
    return n_seq;
}

void hr_threads_start(hr_threads *t, void *(*fn)(void *), void *arg, int n)
{
    t->n = 0;
    if (n > HR_MAX_THREADS) n = HR_MAX_THREADS;
    for (int i = 0; i < n; i++) {
        if (pthread_create(&t->th[t->n], NULL, fn, arg) != 0) break;
        t->n++;
    }
}

void hr_threads_join(hr_threads *t)
{
    for (int i = 0; i < t->n; i++) pthread_join(t->th[i], NULL);
    t->n = 0;
}

/* Runs fn on n_threads threads (the caller being one of them). */
static void run_parallel(void *(*fn)(void *), void *arg, int n_threads)
{
    hr_threads t;
    hr_threads_start(&t, fn, arg, n_threads - 1);
    fn(arg);
    hr_threads_join(&t);
}

/* The CPU driver: every worker thread takes whole batches of the chunk. */
typedef struct cpu_job {
    const hr_embed_chunk *c;
    atomic_size_t next_batch;  /* next batch to take */
    float *out;                /* (n, H) output of the whole call */
    size_t total;              /* n, texts of the whole call */
    atomic_size_t done;        /* texts of the call embedded so far */
    pthread_t caller;          /* the thread that reports progress */
    hr_progress_fn progress;
    void *user;
    atomic_int alloc_failed;
    atomic_int stop;           /* progress asked to stop: take no more batches */
} cpu_job;

static void encode_some(cpu_job *job)
{
    const hr_embed_chunk *c = job->c;
    const hr_model *m = c->m;
    const int h = m->hidden;
    int budget = HR_CPU_BATCH_TOKENS > c->max_len ? HR_CPU_BATCH_TOKENS : c->max_len;
    hr_cpu_workspace *ws = hr_cpu_workspace_create(m, budget, c->max_len);
    int32_t *packed = malloc((size_t)budget * sizeof *packed);         /* (budget) */
    int *offsets = malloc(((size_t)budget + 1) * sizeof *offsets);     /* (n_seq + 1) */
    float *pooled = malloc((size_t)budget * (size_t)h * sizeof *pooled); /* (n_seq, H) */
    if (!ws || !packed || !offsets || !pooled) {
        atomic_store(&job->alloc_failed, 1);
        goto done;
    }
    while (!atomic_load(&job->stop)) {
        size_t b = atomic_fetch_add(&job->next_batch, 1);
        if (b >= c->n_batches) break;
        const int n_seq = hr_embed_chunk_pack(c, b, packed, offsets);
        hr_cpu_forward(m, packed, offsets, n_seq, pooled, ws);
        for (int s = 0; s < n_seq; s++)
            memcpy(job->out + hr_embed_chunk_row(c, b, s) * (size_t)h, pooled + (size_t)s * h,
                   (size_t)h * sizeof(float));
        size_t done = atomic_fetch_add(&job->done, (size_t)n_seq) + (size_t)n_seq;
        if (job->progress && pthread_equal(pthread_self(), job->caller) &&
            job->progress(done, job->total, job->user))
            atomic_store(&job->stop, 1);
    }
done:
    hr_cpu_workspace_destroy(ws);
    free(packed);
    free(offsets);
    free(pooled);
}

static void *encode_worker(void *arg)
{
    encode_some(arg);
    return NULL;
}

hr_status hr_cpu_embed(const hr_model *m, int n_threads, const char *const *texts,
                       const size_t *lens, size_t n, float *out, hr_progress_fn progress,
                       void *user, char *err, size_t errlen)
{
    if (n == 0) return HR_OK;
    if (!m || !texts || !out) return hr_fail(HR_ERR_INTERNAL, err, errlen, "hr_cpu_embed: NULL argument");
    const int max_len = m->max_seq_length;
    const int budget = HR_CPU_BATCH_TOKENS > max_len ? HR_CPU_BATCH_TOKENS : max_len;
    const size_t chunk = n < HR_CPU_CHUNK_TEXTS ? n : HR_CPU_CHUNK_TEXTS;

    hr_embed_chunk c;
    if (hr_embed_chunk_init(&c, m, texts, lens, chunk))
        return hr_fail(HR_ERR_NOMEM, err, errlen, "cannot allocate the CPU encoder's buffers");
    cpu_job job;
    memset(&job, 0, sizeof job);
    job.c = &c;
    job.out = out;
    job.total = n;
    job.caller = pthread_self();
    job.progress = progress;
    job.user = user;
    atomic_init(&job.next_batch, 0);
    atomic_init(&job.done, 0);
    atomic_init(&job.alloc_failed, 0);
    atomic_init(&job.stop, 0);
    hr_status st = HR_OK;
    /* Our workers each call BLAS; BLAS itself stays on one thread. */
    openblas_set_num_threads(1);

    for (size_t first = 0; first < n; first += chunk) {
        hr_embed_chunk_start(&c, first, n - first < chunk ? n - first : chunk);
        atomic_store(&job.next_batch, 0);
        run_parallel(hr_embed_chunk_tokenize_worker, &c, n_threads);
        if (hr_embed_chunk_plan(&c, budget) == 0) run_parallel(encode_worker, &job, n_threads);
        else atomic_store(&job.alloc_failed, 1);
        if (atomic_load(&job.alloc_failed)) {
            st = hr_fail(HR_ERR_NOMEM, err, errlen, "cannot allocate the CPU encoder's work buffers");
            break;
        }
        if (!atomic_load(&job.stop) && progress && progress(atomic_load(&job.done), n, user))
            atomic_store(&job.stop, 1);
        if (atomic_load(&job.stop)) {
            st = hr_fail(HR_ERR_CANCELLED, err, errlen, "cancelled after %zu of %zu texts",
                         atomic_load(&job.done), n);
            break;
        }
    }
    hr_embed_chunk_free(&c);
    return st;
}
