/*
 * host/model/model_internal.h: the layout of a loaded model, for the encoders
 * (CPU and CUDA). Not public. All matrices are float32, row-major, and a
 * linear layer y = x W^T + b keeps W as (out, in) like PyTorch.
 */
#ifndef HYPORANK_MODEL_INTERNAL_H
#define HYPORANK_MODEL_INTERNAL_H

#include "hyporank/model.h"

typedef enum hr_pooling { HR_POOL_MEAN = 0, HR_POOL_CLS, HR_POOL_MAX, HR_POOL_MEAN_SQRT_LEN } hr_pooling;

typedef struct hr_layer_weights {
    float *qkv_w;  /* (3H, H): rows [0,H) query, [H,2H) key, [2H,3H) value */
    float *qkv_b;  /* (3H) */
    float *ao_w;   /* (H, H) attention output dense */
    float *ao_b;   /* (H) */
    float *ln1_g;  /* (H) attention.output.LayerNorm */
    float *ln1_b;  /* (H) */
    float *in_w;   /* (I, H) intermediate dense */
    float *in_b;   /* (I) */
    float *out_w;  /* (H, I) output dense */
    float *out_b;  /* (H) */
    float *ln2_g;  /* (H) output.LayerNorm */
    float *ln2_b;  /* (H) */
} hr_layer_weights;

struct hr_model {
    /* config.json */
    int vocab_size, hidden, n_layers, n_heads, intermediate, max_position, type_vocab;
    float ln_eps;
    /* sentence-transformers settings */
    int max_seq_length;   /* tokens per text, [CLS] and [SEP] included */
    hr_pooling pooling;
    int normalize;        /* 1: L2-normalise the pooled vector */

    float *word_emb;      /* (vocab_size, H) */
    float *pos_emb;       /* (max_position, H) */
    float *type_emb;      /* (type_vocab, H); token type 0 is used */
    float *emb_ln_g, *emb_ln_b; /* (H) */
    hr_layer_weights *layers;   /* (n_layers) */

    hr_tokenizer *tokenizer;
    char *name;           /* folder base name */
    char id[65];          /* hex SHA-256 identity */
    char dtype[8];        /* stored weight dtype */
    void *storage_;       /* one allocation backing every weight above */
};

#endif
