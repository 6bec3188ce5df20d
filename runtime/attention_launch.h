/* attention_launch.h - the attention kernel of one given variant on checked arguments (for the
 * autotuner and the benchmarks; the public entry points select the variant themselves).
 * ctx must be entered; scale is the resolved softmax scale (> 0). */
#ifndef INTFA_ATTENTION_LAUNCH_H
#define INTFA_ATTENTION_LAUNCH_H

#include "context.h"
#include "launch_params.h"

intfa_status intfa_attention_launch_variant(intfa_context *ctx, const intfa_variant *var,
                                           const intfa_attn_problem *pr, float scale,
                                           const intfa_qk_int8 *q, const intfa_qk_int8 *k,
                                           const intfa_v_int8 *v, const intfa_tensor *out,
                                           float *lse, void *stream);

/* The kernel's parameters for quantized Q and K (int8 or packed int4) in batched layouts; the
 * drop-in entry points then point q at fp16/bf16 Q (q_fp) or set the varlen fields. */
intfa_attn_params intfa_attention_params(const intfa_attn_problem *pr, float scale,
                                         const intfa_qk_int8 *q, const intfa_qk_int8 *k,
                                         const intfa_v_int8 *v, const intfa_tensor *out, float *lse);
/* The same for pf16: V is the caller's fp16/bf16 tensor (p.v and its strides). */
intfa_attn_params intfa_attention_params_v16(const intfa_attn_problem *pr, float scale,
                                             const intfa_qk_int8 *q, const intfa_qk_int8 *k,
                                             const intfa_tensor *v, const intfa_tensor *out, float *lse);

/* Launches variant var with parameters p over a grid of ceil(rows / block_m) x heads_q x batch.
 * A warp-specialized variant reads through TMA; tensors it cannot address, fp16 Q (q_fp) and
 * varlen batches, which it does not take, run on the one-warpgroup wgmma kernel instead. */
intfa_status intfa_attention_launch_params(intfa_context *ctx, const intfa_variant *var,
                                           const intfa_attn_problem *pr, intfa_attn_params *p,
                                           int64_t rows, void *stream);

#endif
