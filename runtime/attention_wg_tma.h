/* attention_wg_tma.h - launches of the one-warpgroup wgmma kernel (templates/attn_fwd_wg.cu) at
 * head dims 64 and 128, whose K, V^T and key scales are copied by TMA: the tensor maps. */
#ifndef INTFA_ATTENTION_WG_TMA_H
#define INTFA_ATTENTION_WG_TMA_H

#include "context.h"
#include "launch_params.h"

/* 1 when TMA can address a's K, V^T and key scales with tiles of block_n keys: 16-byte aligned,
 * K strides multiples of 16 bytes, at most 2^31 key scales, at least block_n keys (no box may
 * be larger than its tensor). Otherwise the caller runs a kernel that copies by cp.async
 * (the portable sm_90 kernel). */
int intfa_wg_tma_can_run(const intfa_attn_params *a, int block_n);

/* Builds the three tensor maps and launches fn (var: intfa_variant_uses_kv_tma) on the grid
 * (gx, heads_q, batch) with smem bytes of dynamic shared memory, as the programmatic dependent of the streamed K/V pass where
 * a->kv_ready is set. ctx entered; a checked by the caller and intfa_wg_tma_can_run. */
intfa_status intfa_attention_wg_tma_launch(intfa_context *ctx, CUfunction fn, const intfa_variant *var,
                                           const intfa_attn_params *a, unsigned gx, unsigned smem,
                                           void *stream);

#endif
