/*
 * host/backends/cuda/encoder_gpu.c: the GPU driver: whole embed calls on the CUDA encoder
 * (host/backends/cuda/encoder_cuda.h has the API).
 *
 * The scheduling is hr_cpu_embed's (host/backends/cpu/encoder_cpu.h): chunks of texts are
 * tokenised on worker threads, ordered by length and packed into batches by
 * token count, so no work goes to padding. What differs:
 *
 *   - The calling thread drives the GPU: for each batch it packs the ids,
 *     submits them on the next of the HR_CUDA_SLOTS slots (after waiting for
 *     that slot's previous batch and scattering its embeddings to their rows
 *     of out), so two batches are in flight and the GPU never waits for the
 *     host between them. Progress is reported from here, after each batch.
 *   - Meanwhile the other n_threads - 1 threads tokenise the next chunk into
 *     the second chunk buffer; at the end of a chunk the driver helps with
 *     what is left, joins them and goes on with the next chunk. Each slot
 *     keeps the out rows of its batch, so a chunk buffer is free for the
 *     chunk after next as soon as its last batch is submitted.
 *
 * Batch budget, HR_GPU_BATCH_TOKENS = 32768 tokens (all-MiniLM-L6-v2: about
 * 2,700 headlines, or 128 texts at the 256-token limit):
 *   - GEMM shape: the linear layers are (T x 384) by (384 x 1152 | 384 |
 *     1536) and (T x 1536) by (1536 x 384). With T = 32768 the narrowest
 *     (N = 384) still has ~770 output tiles of 128 x 128, about six waves
 *     on the H100's 132 SMs, so the tail wave costs a few per cent; at
 *     T = 8192 it is under two waves and the tail costs a third.
 *   - Fixed costs per batch: ~50 kernel launches, two small uploads, one
 *     copy-out, one wait and the scatter: tens of microseconds against
 *     ~5-10 ms of GPU work at 32768 tokens.
 *   - Memory: the work buffers take ~17 KB a token (FP32 hidden, QKV and
 *     feed-forward activations plus their FP16 copies), ~550 MB a slot,
 *     ~1.1 GB for both; pinned staging ~25 MB a slot.
 *   - Larger gains nothing more (the GEMMs are already saturated) and makes
 *     the first batch, the last (partial) batch and progress coarser.
 * bench_encoder --batch-tokens N measures other budgets.
 *
 * Chunk size, HR_GPU_CHUNK_TEXTS = 16384 texts: several batches per chunk, so
 * tokenising the next chunk has time to finish while the GPU works; the
 * chunk buffers take 2 x 16384 x max_len x 4 bytes (32 MB at 256 tokens).
 */
#include "backends/cpu/encoder_cpu.h"
#include "backends/cuda/encoder_cuda.h"
#include "core/util.h"

#include <stdlib.h>
#include <string.h>

/* What the driver keeps per call. */
typedef struct gpu_drive {
    hr_cuda_encoder *g;
    int h;
    float *out;                   /* (n, h) the call's output */
    size_t n, done;               /* texts of the call; embedded so far */
    hr_progress_fn progress;
    void *user;
    size_t *rows[HR_CUDA_SLOTS];  /* (budget) out row of each sequence in flight */
    int busy[HR_CUDA_SLOTS];      /* a batch was submitted on the slot */
} gpu_drive;

/* Waits for slot s's batch and scatters its embeddings to their rows. */
static hr_status finish_slot(gpu_drive *d, int s, char *err, size_t errlen)
{
    const float *emb = NULL; /* (n_seq, h) pinned */
    int n_seq = 0;
    d->busy[s] = 0;
    hr_status st = hr_cuda_encoder_wait(d->g, s, &emb, &n_seq, err, errlen);
    if (st != HR_OK) return st;
    const size_t h = (size_t)d->h;
    for (int k = 0; k < n_seq; k++)
        memcpy(d->out + d->rows[s][k] * h, emb + (size_t)k * h, h * sizeof(float));
    d->done += (size_t)n_seq;
    if (d->progress && d->progress(d->done, d->n, d->user))
        return hr_fail(HR_ERR_CANCELLED, err, errlen, "cancelled after %zu of %zu texts", d->done,
                       d->n);
    return HR_OK;
}

hr_status hr_gpu_embed(hr_cuda_encoder *g, const hr_model *m, int n_threads,
                       const hr_gpu_embed_options *opt, const char *const *texts,
                       const size_t *lens, size_t n, float *out, hr_progress_fn progress,
                       void *user, char *err, size_t errlen)
{
    if (n == 0) return HR_OK;
    if (!g || !m || !texts || !out)
        return hr_fail(HR_ERR_INTERNAL, err, errlen, "hr_gpu_embed: NULL argument");
    const int max_len = m->max_seq_length;
    int budget = opt && opt->batch_tokens > 0 ? opt->batch_tokens : HR_GPU_BATCH_TOKENS;
    if (budget < max_len) budget = max_len;
    size_t chunk = opt && opt->chunk_texts > 0 ? opt->chunk_texts : HR_GPU_CHUNK_TEXTS;
    if (chunk > n) chunk = n;
    if (n_threads < 1) n_threads = 1;
    const int helpers = n_threads - 1 < HR_MAX_THREADS ? n_threads - 1 : HR_MAX_THREADS;

    hr_status st = HR_OK;
    hr_embed_chunk ch[2];
    int n_alloc = 0; /* chunk buffers initialised */
    hr_threads tok;  /* helpers tokenising a chunk */
    tok.n = 0;
    gpu_drive d;
    memset(&d, 0, sizeof d);
    d.g = g;
    d.h = m->hidden;
    d.out = out;
    d.n = n;
    d.progress = progress;
    d.user = user;
    int32_t *packed = malloc((size_t)budget * sizeof *packed);     /* (budget) */
    int *offsets = malloc(((size_t)budget + 1) * sizeof *offsets); /* (n_seq + 1) */
    int ok = packed && offsets;
    for (int s = 0; s < HR_CUDA_SLOTS; s++) {
        d.rows[s] = malloc((size_t)budget * sizeof *d.rows[s]);
        ok = ok && d.rows[s];
    }
    if (ok && hr_embed_chunk_init(&ch[0], m, texts, lens, chunk) == 0) n_alloc = 1;
    if (ok && n_alloc == 1 && n > chunk && hr_embed_chunk_init(&ch[1], m, texts, lens, chunk) == 0)
        n_alloc = 2;
    if (!ok || n_alloc < (n > chunk ? 2 : 1)) {
        st = hr_fail(HR_ERR_NOMEM, err, errlen, "cannot allocate the GPU encoder's host buffers");
        goto done;
    }
    {
        /* The device buffers for the largest batch this call can make, now
         * (one allocation, and an out-of-memory error before any work).
         * Every text has at least 2 tokens ([CLS] and [SEP]). */
        const size_t most = n * (size_t)max_len;
        const int tokens = most < (size_t)budget ? (int)most : budget;
        const int seqs = n < (size_t)(tokens / 2 + 1) ? (int)n : tokens / 2 + 1;
        st = hr_cuda_encoder_reserve(g, tokens, seqs, err, errlen);
        if (st != HR_OK) goto done;
    }

    /* The first chunk on every thread; nothing to overlap it with yet. */
    hr_embed_chunk_start(&ch[0], 0, chunk);
    hr_threads_start(&tok, hr_embed_chunk_tokenize_worker, &ch[0], helpers);
    hr_embed_chunk_tokenize(&ch[0]);
    hr_threads_join(&tok);

    int slot = 0, cur = 0;
    for (size_t first = 0; first < n; cur ^= 1) {
        hr_embed_chunk *c = &ch[cur], *next = NULL;
        if (hr_embed_chunk_plan(c, budget) != 0) {
            st = hr_fail(HR_ERR_NOMEM, err, errlen, "cannot allocate the GPU encoder's plan");
            goto done;
        }
        const size_t next_first = first + c->count;
        if (next_first < n) {
            /* The other buffer held the chunk before this one, whose batches
             * are all submitted (their rows are kept per slot): free. */
            next = &ch[cur ^ 1];
            hr_embed_chunk_start(next, next_first, n - next_first < chunk ? n - next_first : chunk);
            hr_threads_start(&tok, hr_embed_chunk_tokenize_worker, next, helpers);
        }
        for (size_t b = 0; b < c->n_batches; b++) {
            if (d.busy[slot] && (st = finish_slot(&d, slot, err, errlen)) != HR_OK) goto done;
            const int n_seq = hr_embed_chunk_pack(c, b, packed, offsets);
            for (int k = 0; k < n_seq; k++) d.rows[slot][k] = hr_embed_chunk_row(c, b, k);
            st = hr_cuda_encoder_submit(g, slot, packed, offsets, n_seq, err, errlen);
            if (st != HR_OK) goto done;
            d.busy[slot] = 1;
            slot = (slot + 1) % HR_CUDA_SLOTS;
        }
        if (next) {
            /* Help with what is left (all of it when no helper started). */
            hr_embed_chunk_tokenize(next);
            hr_threads_join(&tok);
        }
        first = next_first;
    }
    /* The batches still in flight, oldest first. */
    for (int i = 0; i < HR_CUDA_SLOTS; i++) {
        const int s = (slot + i) % HR_CUDA_SLOTS;
        if (d.busy[s] && (st = finish_slot(&d, s, err, errlen)) != HR_OK) goto done;
    }
done:
    hr_threads_join(&tok); /* after a failure, helpers may still be tokenising */
    for (int s = 0; s < HR_CUDA_SLOTS; s++) {
        if (!d.busy[s]) continue;
        const float *discard = NULL; /* leave every slot idle for the next call */
        hr_cuda_encoder_wait(g, s, &discard, NULL, NULL, 0);
    }
    for (int i = 0; i < n_alloc; i++) hr_embed_chunk_free(&ch[i]);
    for (int s = 0; s < HR_CUDA_SLOTS; s++) free(d.rows[s]);
    free(packed);
    free(offsets);
    return st;
}
