/* baseline.h - the FP16 FlashAttention baseline (templates/attn_fwd_fp16.cu, variant kind
 * INTFA_KIND_ATTN_FWD_FP16): what intfa-bench and the GPU tests measure the INT8 kernel
 * against. Internal: not part of intfa.h. */
#ifndef INTFA_BASELINE_H
#define INTFA_BASELINE_H

#include "intfa.h"

/* Attention on fp16 Q, K, V with fp16 output, no quantization, with the conventions of
 * intfa_attention: [B, N, H, D] tensors with any strides (D contiguous, data and strides
 * 16-byte aligned), GQA/MQA, causal aligned to the bottom-right, lse NULL or fp32
 * [B, H_q, N_q] (natural log; -inf for rows that see no key). problem->dtype must be
 * INTFA_DTYPE_FP16; p_quant and v_scale are ignored. Asynchronous on stream (NULL: the
 * legacy default stream). On failure nothing is launched and intfa_last_error() names the
 * argument and the value. */
intfa_status intfa_baseline_fp16_attention(intfa_context *ctx, const intfa_attn_problem *problem,
                                           const intfa_tensor *q, const intfa_tensor *k,
                                           const intfa_tensor *v, const intfa_tensor *out,
                                           float *lse, void *stream);

#endif
