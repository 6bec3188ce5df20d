/* attention_ws.h - launches of the warp-specialized sm_90a INT8 kernel (templates/
 * attn_fwd_ws.cu): TMA tensor maps of Q, K and V^T, and a persistent grid. */
#ifndef INTFA_ATTENTION_WS_H
#define INTFA_ATTENTION_WS_H

#include "context.h"
#include "launch_params.h"

/* 1 when var's TMA copies can address these tensors: Q, K and V 16-byte aligned, every Q/K
 * stride a multiple of 16 bytes below 2^40, and at least one tile of queries and of keys (no
 * box may be larger than its tensor). Otherwise the caller runs another sm_90a kernel. */
int intfa_ws_can_run(const intfa_attn_params *a, const intfa_variant *var);

/* Builds the tensor maps and launches fn (a variant with intfa_variant_uses_ws) with one
 * block per SM at most. ctx entered; a checked by the caller and intfa_ws_can_run. */
intfa_status intfa_attention_ws_launch(intfa_context *ctx, CUfunction fn, const intfa_variant *var,
                                       const intfa_attn_params *a, void *stream);

#endif
