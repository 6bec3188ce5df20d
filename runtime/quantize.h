/* quantize.h - quantization launches without argument checks (for the drop-in, which has
 * checked its arguments already). ctx must be entered. */
#ifndef INTFA_QUANTIZE_H
#define INTFA_QUANTIZE_H

#include "context.h"

/* Checks that the quantization kernels' grids can cover [batch, seq, heads] rows: the per-token
 * kernels run QUANT_ROWS_PER_BLOCK rows per block in grid x (at most 2^31 - 1 blocks), the
 * per-(batch, head) kernels (V, the mean) one block per pair. INTFA_ERR_UNSUPPORTED naming fn
 * otherwise. Sizes are >= 0. Every entry point checks this before its first launch. */
#define QUANT_ROWS_PER_BLOCK 4 /* the warps of the default quant_qk variants */
intfa_status intfa_quantize_check_grid(const char *fn, int64_t batch, int64_t heads, int64_t seq);

/* o: valid options (all zero: plain per-token int8); out_values int8 or packed int4 per
 * o->format. */
intfa_status intfa_quantize_qk_launch(intfa_context *ctx, const intfa_tensor *x, intfa_dtype dtype,
                                      int64_t batch, int64_t heads, int64_t seq, int64_t head_dim,
                                      const intfa_qk_quant_options *o, void *out_values,
                                      float *out_scale, void *stream);
/* K's mean over tokens, fp32 [B, H, D], with the mean kernel of the fmt quant_qk variant (the
 * module the K quantization of that format loads anyway). */
intfa_status intfa_mean_launch(intfa_context *ctx, intfa_format fmt, const intfa_tensor *x,
                               intfa_dtype dtype, int64_t batch, int64_t heads, int64_t seq,
                               int64_t head_dim, float *out_mean, void *stream);
/* V per channel or head into int8 (transposed, keys permuted), with the V kernels of the
 * module_fmt quant_qk variant (templates/quant_v_api.cu: the module a call quantizing Q or K
 * in that format loads anyway). */
intfa_status intfa_quantize_v_launch(intfa_context *ctx, intfa_format module_fmt, const intfa_tensor *x,
                                     intfa_dtype dtype, int64_t batch, int64_t heads, int64_t seq,
                                     int64_t head_dim, intfa_v_scale mode, int8_t *out_values,
                                     float *out_scale, void *stream);

/* The drop-in's K/V pass for INT8 K (templates/quant_v.cu): K per token (minus its mean over
 * tokens when smooth), V per channel or head, transposed and key-permuted, from one statistics
 * pass over K and V and one quantizing pass. part is scratch of intfa_kv_part_bytes(); mean
 * (optional, [B, H, D] fp32) receives K's mean when smooth. sm_80-sm_89: two launches. sm_90
 * (and any context whose kv_stream_blocks > 0): one launch of the streamed kernel on sync
 * (intfa_kv_sync_words() words of scratch of any contents, 8-byte aligned, required on sm_90;
 * the kernel zeroes its counters itself, and the host memsets sync only while the stream is
 * being captured into a graph); with kv_stream_blocks > 0 it runs on that many SMs,
 * *streamed_epoch is set to the launch's epoch (else 0), and the attention kernel may follow as
 * its programmatic dependent, waiting until its head's intfa_kv_ready_flags() entry equals that
 * epoch; with 0, on every SM. */
typedef struct intfa_kv_quant_out {
    int8_t *k8, *v8;
    float *k_scale, *v_scale, *mean, *part;
    const int32_t *cu_k; /* varlen: cumulative key counts [batch + 1] on the device; then seq is
                            the total, k8 [heads, total, D], V^T rows of intfa_kv_varlen_cols */
    int64_t max_len;     /* varlen: the longest sequence's keys */
    uint32_t *sync;      /* optional: the streamed pass's counters and flags */
} intfa_kv_quant_out;
int64_t intfa_kv_sync_words(int64_t batch_heads);
/* The per-(batch, head) flags inside sync (64 bits each) that the streamed pass sets to its
 * launch's epoch when a head is done. */
const uint64_t *intfa_kv_ready_flags(const uint32_t *sync, int64_t batch_heads);
/* The V^T row length of a varlen batch: sequence b's columns start at 128 (cu_k[b] / 128 +
 * b), so that every sequence starts on a 128-byte line (a V^T tile row is one line; 16-byte
 * alignment alone measured 8% slower at hd128) and has room for its padding. */
int64_t intfa_kv_varlen_cols(int64_t batch, int64_t total);
/* Key spans of the statistics pass for a head of seq keys: one per 1024 keys, 32 at most. A
 * function of the head's own length only, so a sequence's K mean and V scales are the same bits
 * in any batch (batched, varlen, alone). */
int64_t intfa_kv_splits(int64_t seq);
int64_t intfa_kv_part_bytes(int64_t batch_heads, int64_t seq, int64_t head_dim);
intfa_status intfa_quantize_kv_launch(intfa_context *ctx, const intfa_tensor *k, const intfa_tensor *v,
                                      intfa_dtype dtype, int64_t batch, int64_t heads, int64_t seq,
                                      int64_t head_dim, int smooth, intfa_v_scale mode,
                                      const intfa_kv_quant_out *out, void *stream, uint64_t *streamed_epoch);
#endif
