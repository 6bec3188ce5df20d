/* attention_ws.c - the warp-specialized sm_90a kernel's launch: three TMA tensor maps (int8
 * tiles with the 64- or 128-byte swizzle that the wgmma descriptors expect) and a persistent
 * grid of at most one block per SM. */
#include <string.h>

#include "attention_ws.h"
#include "error.h"
#include "launch.h"
#include "render.h"
#include "tma_map.h"

int intfa_ws_can_run(const intfa_attn_params *a, const intfa_variant *var)
{
    /* no box larger than its tensor: Q rows, K rows, V^T columns */
    return a->seq_kv > 0 && a->seq_q >= var->block_m && a->seq_kv >= var->block_n && a->n_pad >= var->block_n && ((uintptr_t)a->q | (uintptr_t)a->k | (uintptr_t)a->v) % 16 == 0 &&
           intfa_tma_stride_usable(a->q_sn, a->seq_q) && intfa_tma_stride_usable(a->q_sh, a->heads_q) &&
           intfa_tma_stride_usable(a->q_sb, a->batch) && intfa_tma_stride_usable(a->k_sn, a->seq_kv) &&
           intfa_tma_stride_usable(a->k_sh, a->heads_kv) && intfa_tma_stride_usable(a->k_sb, a->batch);
}

intfa_status intfa_attention_ws_launch(intfa_context *ctx, CUfunction fn, const intfa_variant *var,
                                       const intfa_attn_params *a, void *stream)
{
    intfa_attn_ws_params P;
    memset(&P, 0, sizeof P);
    P.a = *a;
    const cuuint64_t hd = (cuuint64_t)var->head_dim;
    const cuuint32_t bm = (cuuint32_t)var->block_m, bn = (cuuint32_t)var->block_n;
    const cuuint64_t q_dims[4] = {hd, (cuuint64_t)a->seq_q, (cuuint64_t)a->heads_q, (cuuint64_t)a->batch};
    const cuuint64_t q_str[3] = {intfa_tma_stride(a->q_sn, a->seq_q), intfa_tma_stride(a->q_sh, a->heads_q),
                                 intfa_tma_stride(a->q_sb, a->batch)};
    const cuuint32_t q_box[4] = {(cuuint32_t)hd, bm, 1, 1};
    const cuuint64_t k_dims[4] = {hd, (cuuint64_t)a->seq_kv, (cuuint64_t)a->heads_kv, (cuuint64_t)a->batch};
    const cuuint64_t k_str[3] = {intfa_tma_stride(a->k_sn, a->seq_kv), intfa_tma_stride(a->k_sh, a->heads_kv),
                                 intfa_tma_stride(a->k_sb, a->batch)};
    const cuuint32_t k_box[4] = {(cuuint32_t)hd, bn, 1, 1};
    /* V^T: [batch * heads_kv][head_dim][n_pad] */
    const cuuint64_t v_dims[3] = {(cuuint64_t)a->n_pad, hd, (cuuint64_t)a->batch * (cuuint64_t)a->heads_kv};
    const cuuint64_t v_str[2] = {(cuuint64_t)a->n_pad, (cuuint64_t)a->n_pad * hd};
    const cuuint32_t v_box[3] = {bn, (cuuint32_t)hd, 1};
    intfa_status st;
    if ((st = intfa_tma_map_int8(ctx->cu, &P.tq, "tensor map of Q", a->q, 4, q_dims, q_str, q_box, (int)hd)) ||
        (st = intfa_tma_map_int8(ctx->cu, &P.tk, "tensor map of K", a->k, 4, k_dims, k_str, k_box, (int)hd)) ||
        (st = intfa_tma_map_int8(ctx->cu, &P.tv, "tensor map of V", a->v, 3, v_dims, v_str, v_box, (int)bn)))
        return st;
    const long long tiles = (long long)((a->seq_q + var->block_m - 1) / var->block_m) * a->heads_q * a->batch;
    const unsigned grid = (unsigned)(tiles < ctx->sm_count ? tiles : ctx->sm_count);
    const unsigned smem = (unsigned)intfa_variant_smem_bytes(var);
    return intfa_launch(ctx, fn, "intfa_attn_fwd", grid, 1, 1, (unsigned)var->warps * 32, smem,
                        stream, &P);
}

