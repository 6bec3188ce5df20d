/* attention_ws.c - the warp-specialized sm_90a kernel's launch: three TMA tensor maps (int8
 * tiles with the 64- or 128-byte swizzle that the wgmma descriptors expect) and a persistent
 * grid of at most one block per SM. */
#include <stdlib.h>
#include <string.h>

#include "attention_ws.h"
#include "error.h"
#include "launch.h"
#include "render.h"

static int tma_stride_ok(int64_t s) { return s > 0 && s % 16 == 0 && s < ((int64_t)1 << 40); }

/* A stride over an extent of one is never used: any value TMA takes stands in for it. */
static int stride_usable(int64_t s, int extent) { return extent == 1 || tma_stride_ok(s); }
static cuuint64_t tma_stride(int64_t s, int extent) { return tma_stride_ok(s) || extent != 1 ? (cuuint64_t)s : 16; }

int intfa_ws_can_run(const intfa_attn_params *a)
{
    return a->seq_kv > 0 && ((uintptr_t)a->q | (uintptr_t)a->k | (uintptr_t)a->v) % 16 == 0 &&
           stride_usable(a->q_sn, a->seq_q) && stride_usable(a->q_sh, a->heads_q) &&
           stride_usable(a->q_sb, a->batch) && stride_usable(a->k_sn, a->seq_kv) &&
           stride_usable(a->k_sh, a->heads_kv) && stride_usable(a->k_sb, a->batch);
}

/* The swizzle whose rows are `bytes` long (64 or 128: the variant's head_dim or block_n). */
static CUtensorMapSwizzle swizzle_for(int bytes)
{
    return bytes == 128 ? CU_TENSOR_MAP_SWIZZLE_128B : CU_TENSOR_MAP_SWIZZLE_64B;
}

static intfa_status encode(const intfa_cu *cu, CUtensorMap *map, const char *what, const void *base,
                           cuuint32_t rank, const cuuint64_t *dims, const cuuint64_t *strides,
                           const cuuint32_t *box, int row_bytes)
{
    static const cuuint32_t unit[4] = {1, 1, 1, 1};
    CUresult r = cu->TensorMapEncodeTiled(map, CU_TENSOR_MAP_DATA_TYPE_UINT8, rank, (void *)base,
                                          dims, strides, box, unit, CU_TENSOR_MAP_INTERLEAVE_NONE,
                                          swizzle_for(row_bytes), CU_TENSOR_MAP_L2_PROMOTION_L2_128B,
                                          CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
    return r == CUDA_SUCCESS ? INTFA_OK : intfa_cu_fail(r, what);
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
    const cuuint64_t q_str[3] = {tma_stride(a->q_sn, a->seq_q), tma_stride(a->q_sh, a->heads_q),
                                 tma_stride(a->q_sb, a->batch)};
    const cuuint32_t q_box[4] = {(cuuint32_t)hd, bm, 1, 1};
    const cuuint64_t k_dims[4] = {hd, (cuuint64_t)a->seq_kv, (cuuint64_t)a->heads_kv, (cuuint64_t)a->batch};
    const cuuint64_t k_str[3] = {tma_stride(a->k_sn, a->seq_kv), tma_stride(a->k_sh, a->heads_kv),
                                 tma_stride(a->k_sb, a->batch)};
    const cuuint32_t k_box[4] = {(cuuint32_t)hd, bn, 1, 1};
    /* V^T: [batch * heads_kv][head_dim][n_pad] */
    const cuuint64_t v_dims[3] = {(cuuint64_t)a->n_pad, hd, (cuuint64_t)a->batch * (cuuint64_t)a->heads_kv};
    const cuuint64_t v_str[2] = {(cuuint64_t)a->n_pad, (cuuint64_t)a->n_pad * hd};
    const cuuint32_t v_box[3] = {bn, (cuuint32_t)hd, 1};
    intfa_status st;
    if ((st = encode(ctx->cu, &P.tq, "tensor map of Q", a->q, 4, q_dims, q_str, q_box, (int)hd)) ||
        (st = encode(ctx->cu, &P.tk, "tensor map of K", a->k, 4, k_dims, k_str, k_box, (int)hd)) ||
        (st = encode(ctx->cu, &P.tv, "tensor map of V", a->v, 3, v_dims, v_str, v_box, (int)bn)))
        return st;
    const long long tiles = (long long)((a->seq_q + var->block_m - 1) / var->block_m) * a->heads_q * a->batch;
    const unsigned grid = (unsigned)(tiles < ctx->sm_count ? tiles : ctx->sm_count);
    const unsigned smem = (unsigned)intfa_variant_smem_bytes(var);
    return intfa_launch(ctx, fn, "intfa_attn_fwd", grid, 1, 1, (unsigned)var->warps * 32, smem,
                        stream, &P);
}

int intfa_wg_tma_wanted(const intfa_variant *var)
{
    static int wanted = -1;
    if (wanted < 0) {
        const char *e = getenv("INTFA_WG_TMA");
        wanted = e && e[0] == '1';
    }
    return wanted && intfa_variant_uses_wgmma(var) && var->p_quant != INTFA_PQ_F16;
}

intfa_status intfa_attention_wg_tma_launch(intfa_context *ctx, CUfunction fn, const intfa_variant *var,
                                           const intfa_attn_params *a, unsigned gx, void *stream)
{
    intfa_attn_wg_tma_params P;
    memset(&P, 0, sizeof P);
    P.a = *a;
    const int hd = var->head_dim;
    if ((hd == 64 || hd == 128) && a->seq_kv > 0) {
        const int64_t scales = (int64_t)a->batch * a->heads_kv * a->seq_kv;
        if (a->cu_q || ((uintptr_t)a->k | (uintptr_t)a->v | (uintptr_t)a->k_scale) % 16 ||
            !stride_usable(a->k_sn, a->seq_kv) || !stride_usable(a->k_sh, a->heads_kv) ||
            !stride_usable(a->k_sb, a->batch) || scales >= INT32_MAX)
            return intfa_fail(INTFA_ERR_UNSUPPORTED, "INTFA_WG_TMA: TMA cannot address these tensors");
        const cuuint32_t bn = (cuuint32_t)var->block_n;
        const cuuint64_t k_dims[4] = {(cuuint64_t)hd, (cuuint64_t)a->seq_kv, (cuuint64_t)a->heads_kv, (cuuint64_t)a->batch};
        const cuuint64_t k_str[3] = {tma_stride(a->k_sn, a->seq_kv), tma_stride(a->k_sh, a->heads_kv),
                                     tma_stride(a->k_sb, a->batch)};
        const cuuint32_t k_box[4] = {(cuuint32_t)hd, bn, 1, 1};
        const cuuint64_t v_dims[3] = {(cuuint64_t)a->n_pad, (cuuint64_t)hd, (cuuint64_t)a->batch * (cuuint64_t)a->heads_kv};
        const cuuint64_t v_str[2] = {(cuuint64_t)a->n_pad, (cuuint64_t)a->n_pad * (cuuint64_t)hd};
        const cuuint32_t v_box[3] = {bn, (cuuint32_t)hd, 1};
        const cuuint64_t s_dims[1] = {(cuuint64_t)scales};
        static const cuuint32_t unit[1] = {1};
        intfa_status st;
        if ((st = encode(ctx->cu, &P.tk, "tensor map of K", a->k, 4, k_dims, k_str, k_box, hd)) ||
            (st = encode(ctx->cu, &P.tv, "tensor map of V", a->v, 3, v_dims, v_str, v_box, (int)bn)))
            return st;
        const CUresult r = ctx->cu->TensorMapEncodeTiled(&P.tks, CU_TENSOR_MAP_DATA_TYPE_FLOAT32, 1, (void *)a->k_scale,
                                                         s_dims, NULL, &bn, unit, CU_TENSOR_MAP_INTERLEAVE_NONE,
                                                         CU_TENSOR_MAP_SWIZZLE_NONE, CU_TENSOR_MAP_L2_PROMOTION_L2_128B,
                                                         CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
        if (r != CUDA_SUCCESS) return intfa_cu_fail(r, "tensor map of the key scales");
    }
    const unsigned smem = (unsigned)intfa_variant_smem_bytes(var);
    return (a->kv_ready ? intfa_launch_dependent : intfa_launch)(ctx, fn, "intfa_attn_fwd", gx, (unsigned)a->heads_q,
                                                                 (unsigned)a->batch, (unsigned)var->warps * 32,
                                                                 smem, stream, &P);
}
