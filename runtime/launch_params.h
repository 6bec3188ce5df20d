/* launch_params.h - host mirrors of the kernels' parameter structs (templates, *.cu). Field
 * order, types and padding must match the templates exactly; the static asserts pin sizes.
 * intfa_quant_mean_params mirrors templates/quant_mean.cu. */
#ifndef INTFA_LAUNCH_PARAMS_H
#define INTFA_LAUNCH_PARAMS_H

#include <cuda.h>
#include <stdint.h>

typedef struct intfa_attn_params {
    const int8_t *q, *k, *v;
    const float *q_scale, *k_scale, *v_scale;
    void *o;
    float *lse;
    const float *lse_bias;
    int64_t q_sb, q_sh, q_sn;
    int64_t k_sb, k_sh, k_sn;
    int64_t o_sb, o_sh, o_sn;
    int32_t batch, heads_q, heads_kv, seq_q, seq_kv, n_pad;
    float scale_log2;
    int32_t q_fp;          /* 1: q is the drop-in's fp16/bf16 Q, quantized by the kernel */
    const float *k_mean;   /* with q_fp, an LSE and K smoothing: lse_bias is written */
    float softmax_scale;
    int32_t pad_;
    const int32_t *cu_q, *cu_k; /* varlen: cumulative token counts [batch + 1] on the device */
    int64_t v_sb, v_sh, v_sn;   /* pf16: strides (elements) of the fp16/bf16 V that v points to */
    const uint64_t *kv_ready;   /* the streamed K/V pass's per-head flags (the attention kernel is
                                   then its programmatic dependent), else NULL */
    uint64_t kv_epoch;          /* the value those flags take when a head is done */
} intfa_attn_params;
_Static_assert(sizeof(intfa_attn_params) == 9 * 8 + 9 * 8 + 8 * 4 + 8 + 8 + 16 + 24 + 8 + 8, "attn params layout");

/* templates/attn_fwd_ws.cu: three TMA tensor maps (128 bytes, 128-byte aligned) and the
 * common parameters. */
typedef struct intfa_attn_ws_params {
    CUtensorMap tq, tk, tv;
    intfa_attn_params a;
} intfa_attn_ws_params;
_Static_assert(sizeof(CUtensorMap) == 128 && _Alignof(CUtensorMap) == 128, "CUtensorMap layout");
_Static_assert(sizeof(intfa_attn_ws_params) == 3 * 128 + 256, "attn_ws params layout");

/* templates/attn_fwd_wg.cu at head dims 64 and 128 (KV_TMA): the common parameters, then the
 * tensor maps of K, V^T and the key scales. */
typedef struct intfa_attn_wg_tma_params {
    intfa_attn_params a;
    CUtensorMap tk, tv, tks;
} intfa_attn_wg_tma_params;
_Static_assert(sizeof(intfa_attn_wg_tma_params) == 256 + 3 * 128, "attn wg tma params layout");

typedef struct intfa_quant_qk_params {
    const void *x;
    void *out;
    float *scale;
    const float *subtract, *bias_mean;
    float *out_bias;
    int64_t x_sb, x_sn, x_sh;
    int64_t rows;
    int32_t heads, seq, heads_per_mean;
    float bias_scale;
} intfa_quant_qk_params;
_Static_assert(sizeof(intfa_quant_qk_params) == 6 * 8 + 4 * 8 + 4 * 4, "quant_qk params layout");

typedef struct intfa_quant_mean_params {
    const void *x;
    float *out;
    int64_t x_sb, x_sn, x_sh;
    int32_t heads, seq;
} intfa_quant_mean_params;
_Static_assert(sizeof(intfa_quant_mean_params) == 2 * 8 + 3 * 8 + 2 * 4, "quant_mean params layout");


typedef struct intfa_quant_v_params {
    const void *x;
    int8_t *out;
    float *scale;
    int64_t x_sb, x_sn, x_sh;
    int32_t heads, seq, n_pad, per_head;
} intfa_quant_v_params;
_Static_assert(sizeof(intfa_quant_v_params) == 3 * 8 + 3 * 8 + 4 * 4, "quant_v params layout");

typedef struct intfa_quant_kv_params {
    const void *k, *v;
    int8_t *k_out;
    float *k_scale;
    int8_t *v_out;
    float *v_scale, *mean, *part;
    const int32_t *cu; /* varlen: cumulative key counts [batch + 1] on the device */
    uint32_t *sync;    /* intfa_quant_kv_stream: epoch (64 bits), queue, groups left, stats_done[bh],
                          packed[bh], ready[bh]; the kernel zeroes them (8-byte aligned) */
    int64_t k_sb, k_sn, k_sh, v_sb, v_sn, v_sh;
    int32_t heads, seq, n_pad, splits, smooth, per_head, bh, chunks;
    uint64_t epoch;    /* intfa_quant_kv_stream: this launch's (intfa_ctx_next_epoch), never 0 */
} intfa_quant_kv_params;
_Static_assert(sizeof(intfa_quant_kv_params) == 10 * 8 + 6 * 8 + 8 * 4 + 8, "quant_kv params layout");

/* templates/kv_cache.cu: one struct for its kernels. The call's int32 arrays (block table, lens,
 * slots, cu_new, in that order) travel in inline_arrays when they fit (inline_n entries), else
 * in device memory at arrays. */
#define INTFA_KV_INLINE 2048
typedef struct intfa_kv_params {
    int8_t *k8;
    float *k_scale;
    int8_t *v8;
    float *v_scale;
    void *stage;
    const int32_t *arrays;
    const void *xk, *xv, *q;
    void *o;
    float *lse, *part_o, *part_ml;
    int64_t xk_sn, xk_sh, xv_sn, xv_sh;
    int64_t q_sb, q_sn, q_sh, o_sb, o_sn, o_sh;
    int32_t heads_kv, ps_log2, pages_per_seq, phase;
    int32_t heads_q, seq_q, rows, splits;
    int32_t tiles_per_split, causal;
    float scale_log2;
    int32_t batch;
    int32_t inline_n, pad_;
    int32_t inline_arrays[INTFA_KV_INLINE];
} intfa_kv_params;
_Static_assert(sizeof(intfa_kv_params) == 13 * 8 + 10 * 8 + 14 * 4 + INTFA_KV_INLINE * 4, "kv params layout");

#endif
