/* intfa_ref.h - plain-C reference implementations: the exact quantized algorithm of
 * docs/ALGORITHM.md (ground truth for the GPU kernels), exact double-precision attention,
 * fp16/bf16 conversions, error metrics and a deterministic random generator.
 * Single-threaded, no allocation beyond what each function documents. */
#ifndef INTFA_REF_H
#define INTFA_REF_H

#include <stddef.h>
#include <stdint.h>
#include "intfa.h"

/* fp16 / bf16 <-> fp32, round to nearest even, NaN and infinities kept. */
uint16_t intfa_ref_f32_to_f16(float x);
float intfa_ref_f16_to_f32(uint16_t h);
uint16_t intfa_ref_f32_to_bf16(float x);
float intfa_ref_bf16_to_f32(uint16_t h);
/* Round fp32 through dtype and back (what storing in dtype does). */
float intfa_ref_round_dtype(float x, intfa_dtype dtype);

/* pu8's lazy reference maximum: it moves only when a tile's maximum exceeds it by more than
 * this (log2 units), docs/ALGORITHM.md. Must equal LAZY_TAU in templates/attn_fwd.cu. */
#define INTFA_LAZY_TAU 8.0f

/* Key slot of key n in the permuted V layout, and its inverse. */
int64_t intfa_ref_v_slot(int64_t n);
int64_t intfa_ref_v_key(int64_t slot);

/* Per-token quantization of rows x[rows][d] (row stride ld floats): q[rows][d], scale[rows]. */
void intfa_ref_quantize_rows(const float *x, int64_t rows, int64_t ld, int d, int8_t *q,
                             float *scale);

/* Quantize one head of V, v[n][d] (row stride ld floats), into vt[d][n_pad] (permuted keys,
 * zero padding) and scale[d]. n_pad = intfa_v_padded_len(n). */
void intfa_ref_quantize_v(const float *v, int64_t n, int64_t ld, int d, intfa_v_scale mode,
                          int8_t *vt, float *scale);

/* The quantized algorithm for one (batch, head_q): q8[nq][d], q_scale[nq], k8[nkv][d],
 * k_scale[nkv], vt[d][n_pad], v_scale[d] -> out[nq][d] (fp32, before the dtype rounding) and
 * lse[nq] (may be NULL). softmax_scale 0 means 1/sqrt(d). */
void intfa_ref_attention_quant_head(const int8_t *q8, const float *q_scale, const int8_t *k8,
                                    const float *k_scale, const int8_t *vt,
                                    const float *v_scale, int64_t nq, int64_t nkv, int d,
                                    float softmax_scale, int causal, intfa_p_quant pq,
                                    int block_n, float *out, float *lse);

/* pf16 (INTFA_PQ_F16): the same scores, P not quantized but rounded to dtype (fp16/bf16)
 * for P.V against V as given, v[nkv][d] (row stride ldv, values of dtype), O and l in fp32:
 * per key tile of block_n keys, the lazy reference maximum (INTFA_LAZY_TAU), p = 2^(x a - m),
 * l = l alpha + sum p, o = o alpha + sum round(p) v. out[nq][d] = o / l, lse as the others. */
void intfa_ref_attention_pf16_head(const int8_t *q8, const float *q_scale, const int8_t *k8,
                                   const float *k_scale, const float *v, int64_t ldv, int64_t nq,
                                   int64_t nkv, int d, float softmax_scale, int causal,
                                   intfa_dtype dtype, int block_n, float *out, float *lse);

/* A paged INT8 KV cache of one (sequence, K/V head): the contract of issue 17's kernels
 * (docs/DECODE.md). Pages of page_size tokens (a multiple of 16); K int8 per token with its
 * scale, k8[t][d]; V int8 per (page, channel), vt[page][d][page_size] with keys permuted as
 * intfa_ref_quantize_v lays them out, v_scale[page][d], written when the page fills; the last
 * page's V kept in fp32, v_stage[slot][d], until then. */
typedef struct intfa_ref_kv_cache {
    int d, page_size, max_pages;
    int64_t len; /* tokens appended */
    int8_t *k8, *vt;
    float *k_scale, *v_scale, *v_stage;
} intfa_ref_kv_cache;
/* 0, or -1 (bad sizes, out of memory: nothing allocated). */
int intfa_ref_kv_cache_init(intfa_ref_kv_cache *c, int d, int page_size, int max_pages);
void intfa_ref_kv_cache_free(intfa_ref_kv_cache *c);
/* Appends n tokens, k[n][d] and v[n][d] (row stride ld floats); -1 and nothing appended when
 * they do not fit. */
int intfa_ref_kv_append(intfa_ref_kv_cache *c, const float *k, const float *v, int64_t n,
                        int64_t ld);
/* The quantized algorithm (pu8, docs/ALGORITHM.md) of nq query rows q8[nq][d] over the cache:
 * per key tile of block_n keys, O = O * alpha, then P.V page by page with each page's V scales
 * (o = fmaf(pv, beta * v_scale[page][c], o)), the staging page quantized by the same rule as
 * it is read; out[nq][d] = o / l (no V scale at the end). Causal bottom-right. */
void intfa_ref_attention_paged(const int8_t *q8, const float *q_scale, const intfa_ref_kv_cache *c,
                               int64_t nq, float softmax_scale, int causal, int block_n,
                               float *out, float *lse);

/* Exact attention in double for one head: q[nq][d], k[nkv][d], v[nkv][d] (fp32 inputs,
 * row strides ldq/ldk/ldv) -> out[nq][d], lse[nq] (may be NULL; natural log; -inf and
 * out 0 for rows that see no key). Same causal rule as the kernel. */
void intfa_ref_attention_exact_head(const float *q, int64_t ldq, const float *k, int64_t ldk,
                                    const float *v, int64_t ldv, int64_t nq, int64_t nkv, int d,
                                    double softmax_scale, int causal, double *out, double *lse);

/* Error of x against ref (n values). */
typedef struct intfa_ref_metrics {
    double rel_l2;        /* ||x - ref||_2 / ||ref||_2 */
    double cosine;        /* <x, ref> / (||x|| ||ref||) */
    double rel_l1;        /* ||x - ref||_1 / ||ref||_1 */
    double rmse;          /* sqrt(mean((x - ref)^2)) */
    double mean_rel;      /* the paper's MRE: mean over elements of |x - ref| / |ref|, over
                             elements with |ref| > 1e-6 * max|ref| */
    double max_abs;       /* max |x - ref| */
    int64_t nonfinite;    /* count of NaN/inf in x */
} intfa_ref_metrics;
void intfa_ref_compare(const float *x, const double *ref, int64_t n, intfa_ref_metrics *m);

/* Deterministic generator (splitmix64 / xoshiro-like): uniform [0,1) and standard normal. */
typedef struct intfa_ref_rng { uint64_t s[4]; int has_spare; double spare; } intfa_ref_rng;
void intfa_ref_rng_seed(intfa_ref_rng *r, uint64_t seed);
double intfa_ref_uniform(intfa_ref_rng *r);
double intfa_ref_normal(intfa_ref_rng *r);

/* ------------------------------------------------------------------ FP8 E4M3 (ref_fp8.c) */

/* OCP FP8 E4M3 (NVIDIA's __nv_fp8_e4m3): 1 sign, 4 exponent (bias 7) and 3 mantissa bits, no
 * infinities; largest finite 448, smallest normal 2^-6, smallest subnormal 2^-9; 0x7f and
 * 0xff are NaN. The conversion rounds to nearest even and saturates (|x| >= 448, infinities
 * included, gives +-448, as cvt.satfinite); NaN gives 0x7f. */
#define INTFA_REF_E4M3_MAX 448.0f
uint8_t intfa_ref_f32_to_e4m3(float x);
float intfa_ref_e4m3_to_f32(uint8_t b);
float intfa_ref_round_e4m3(float x);

/* Per-tensor scale: max |x| / 448 over n values (1 when all are 0); x / scale fits e4m3. */
float intfa_ref_e4m3_scale(const float *x, int64_t n);

/* out[i] = e4m3(x[i] / scale), held as floats (n values; out may be x). */
void intfa_ref_quantize_e4m3(const float *x, int64_t n, float scale, float *out);

/* Simulated FP8 attention for one head, as an FP8 FlashAttention computes it: q8[nq][d],
 * k8[nkv][d], v8[nkv][d] are e4m3 values held as floats (intfa_ref_quantize_e4m3; row strides
 * ldq/ldk/ldv) with their per-tensor scales. S = q8 . k8 accumulated in fp32; online softmax
 * in fp32 over key tiles of block_n (1..INTFA_REF_FP8_MAX_BLOCK; others: the maximum):
 * p = exp2(x - m_running) in [0, 1] is scaled by 448 (P's per-tensor scale) and rounded to
 * e4m3, O += P8 V8 in fp32, l sums the unrounded p; out[nq][d] = O v_scale / (448 l) in fp32
 * (0 for rows that see no key). softmax_scale 0 means 1/sqrt(d); the causal rule is the
 * kernel's (bottom-right). No allocation. */
#define INTFA_REF_FP8_MAX_BLOCK 256
void intfa_ref_attention_fp8_head(const float *q8, int64_t ldq, float q_scale, const float *k8,
                                  int64_t ldk, float k_scale, const float *v8, int64_t ldv,
                                  float v_scale, int64_t nq, int64_t nkv, int d,
                                  float softmax_scale, int causal, int block_n, float *out);

/* ------------------------------------------------------------------ INT4 Q/K, K smoothing */

/* The largest quantized magnitude of a Q/K format: 127 (INT8) or 7 (INT4). */
int intfa_ref_qk_max(intfa_format fmt);

/* Per-token quantization in a format, of x - sub when sub is given (K smoothing; sub[d] is
 * subtracted from every row in fp32), else of x: rows x[rows][d] (row stride ld floats) ->
 * q[rows][d] as int8 values (-127..127, or -7..7 for INT4: unpacked, one per int8) and
 * scale[rows] = amax / qmax. intfa_ref_quantize_rows is the INT8 case without sub. */
void intfa_ref_quantize_rows_ex(const float *x, int64_t rows, int64_t ld, int d,
                                intfa_format fmt, const float *sub, int8_t *q, float *scale);

/* INT4 storage of n values (n even, each in -8..7): packed[j] holds q[2j] in its low nibble
 * and q[2j + 1] in its high nibble, two's complement; unpack is the inverse. */
void intfa_ref_pack_int4(const int8_t *q, int64_t n, uint8_t *packed);
void intfa_ref_unpack_int4(const uint8_t *packed, int64_t n, int8_t *q);

/* Mean over n rows of x[n][d] (row stride ld): mean[t] = sum_i x[i][t] / n summed in double,
 * rounded to float; 0 when n == 0. */
void intfa_ref_mean_rows(const float *x, int64_t n, int64_t ld, int d, float *mean);

/* The LSE bias of K smoothing for nq query rows q[nq][d] (row stride ld): bias[i] =
 * softmax_scale * (q[i] . mean) in double, rounded to float; softmax_scale 0 means 1/sqrt(d).
 * Attention on K - mean has the output of attention on K and the LSE minus this bias. */
void intfa_ref_lse_bias(const float *q, int64_t nq, int64_t ld, int d, const float *mean,
                        float softmax_scale, float *bias);

#endif
