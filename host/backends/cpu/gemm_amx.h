/*
 * host/backends/cpu/gemm_amx.h: C = A B^T on Intel AMX tiles, to about
 * float precision (internal).
 *
 * AMX multiplies BF16 (8 significant bits) and accumulates in FP32, so one
 * BF16 product would round every input to 2^-9. Here each input is split
 * into two BF16 parts, x = x_hi + x_lo + r with |r| <= 2^-17 |x|, and
 *
 *     A B^T ~ A_hi B_hi^T + A_lo B_hi^T + A_hi B_lo^T
 *
 * (A_lo B_lo^T, below 2^-18 of the product, is left out): three BF16
 * products, each as one AMX product over a K three times as long. An entry
 * c = sum_k a_k b_k comes out within about 2^-16 sum_k |a_k b_k| (plus
 * FP32 accumulation) of the exact value; sgemm's is about 2^-24 K sum |a_k
 * b_k|. For the encoder's products that is 3e-6 where sgemm is 5e-7 (entries
 * of size 0.3); tests/test_gemm_amx.c checks the bound against a
 * double-precision reference. Each entry is summed in the same order
 * whatever M, N and the blocking: the result does not depend on how a
 * caller cuts its rows.
 *
 * Used where the CPU has AMX-BF16 and AVX512-BF16 (Sapphire Rapids and
 * later) and the kernel lets the process use the tiles; elsewhere, or with
 * HYPORANK_CPU_GEMM=fp32 in the environment, callers use sgemm.
 */
#ifndef HYPORANK_GEMM_AMX_H
#define HYPORANK_GEMM_AMX_H

#include <stddef.h>

/* 1 when the AMX products run here (decided once: CPU, kernel permission,
 * HYPORANK_CPU_GEMM). */
int hr_amx_available(void);

/* B (n, k) row-major float32, split and laid out for the tiles once (a
 * weight matrix): 4 bytes an entry, as B itself. B must outlive the packed
 * copy: entries outside the split's safe range (huge, tiny or non-finite
 * rows; see gemm_amx.c) are summed from it in plain float. */
typedef struct hr_amx_b hr_amx_b;
hr_amx_b *hr_amx_pack_b(const float *b, int n, int k); /* NULL: out of memory */
void hr_amx_b_free(hr_amx_b *b);

/* C (m, n) = A (m, k) B^T, row-major, lda and ldc in floats; k and n as
 * packed. Only hr_amx_available() callers; any m >= 0. Uses a per-thread
 * buffer of about 1 MB (freed at thread exit); 0, or -1 when it cannot be
 * allocated (C untouched). */
int hr_amx_gemm_nt(const float *a, int m, int lda, const hr_amx_b *b, float *c, int ldc);

/* The same product written transposed: ct (n, m) = B A^T, ldct in floats
 * (the scorer: A the samples, B a block of hypotheses, ct its rows of
 * scores). Each entry is the same bits as in hr_amx_gemm_nt. */
int hr_amx_gemm_nt_transposed(const float *a, int m, int lda, const hr_amx_b *b, float *ct,
                              int ldct);

#endif
