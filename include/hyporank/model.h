/*
 * hyporank/model.h: loading a BERT-architecture sentence-transformers model
 * from its folder, as sentence-transformers lays it out:
 *
 *   config.json                 architecture (hidden size, layers, heads, eps)
 *   vocab.txt                   WordPiece vocabulary
 *   tokenizer_config.json       lower-casing, accents, CJK (optional)
 *   sentence_bert_config.json   max_seq_length (optional, default 512)
 *   modules.json                whether a Normalize module follows pooling
 *   1_Pooling/config.json       mean or CLS pooling (optional, default mean)
 *   model.safetensors           weights, F32, F16 or BF16
 *
 *   model.safetensors.sha256    the weights' SHA-256, as scripts/fetch-model.sh
 *                               records it (optional)
 *
 * Weights are converted to float32 at load. Tensor names are accepted with or
 * without a "bert." prefix. Every offset, shape and dtype in the safetensors
 * header is checked before a byte of data is read, and the tensors must cover
 * the data section exactly. When the folder has model.safetensors.sha256,
 * the weights' SHA-256 must match it (HR_ERR_MODEL with what to do
 * otherwise); the digest is taken in the same pass over the file as the
 * model's identity (about 0.2 s for all-MiniLM-L6-v2), and
 * hr_model_options.no_verify skips it.
 *
 *     hr_model *m;
 *     if (hr_model_load("models/all-MiniLM-L6-v2", &m, err, sizeof err)) ...
 *     printf("%d-dim, id %s\n", hr_model_dim(m), hr_model_id(m));
 *     hr_model_destroy(m);
 *
 * A loaded model is immutable and may be shared between threads.
 */
#ifndef HYPORANK_MODEL_H
#define HYPORANK_MODEL_H

#include "hyporank/status.h"
#include "hyporank/tokenizer.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hr_model hr_model;

/* How to load. */
typedef struct hr_model_options {
    int no_verify; /* 1: do not check the weights against model.safetensors.sha256 (0) */
} hr_model_options;

/* Loads dir with the default options (the weights verified when recorded). */
hr_status hr_model_load(const char *dir, hr_model **out, char *err, size_t errlen);
/* The same with options (NULL: the defaults). */
hr_status hr_model_load_with(const char *dir, const hr_model_options *opt, hr_model **out,
                             char *err, size_t errlen);
void hr_model_destroy(hr_model *m); /* accepts NULL */

/* Embedding width (hidden size), e.g. 384. */
int hr_model_dim(const hr_model *m);
/* Most tokens per text, [CLS] and [SEP] included (max_seq_length). */
int hr_model_max_tokens(const hr_model *m);
/* The folder's base name, e.g. "all-MiniLM-L6-v2". */
const char *hr_model_name(const hr_model *m);
/* 64 hex digits: SHA-256 over the weights, vocabulary and every setting that
 * changes an embedding. Two folders with the same id embed identically. */
const char *hr_model_id(const hr_model *m);
/* The model's tokenizer (owned by the model). */
const hr_tokenizer *hr_model_tokenizer(const hr_model *m);
/* The dtype the weights were stored in: "F32", "F16" or "BF16". */
const char *hr_model_weight_dtype(const hr_model *m);

#ifdef __cplusplus
}
#endif

#endif
