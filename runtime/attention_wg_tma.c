/* attention_wg_tma.c - the one-warpgroup wgmma kernel's K, V^T and key-scale tensor maps. */
#include <string.h>

#include "attention_wg_tma.h"
#include "error.h"
#include "launch.h"
#include "tma_map.h"

/* Varlen: K is one sequence of every token (batch extent 1); the key scales [heads_kv][seq_kv].
 * A box may not be larger than the tensor it reads (K, V^T or the key scales' window of
 * block_n + 4), so fewer keys than one tile go to the portable kernel (session 11 saw illegal
 * instructions at N = 1 and 65, which misaligned key-scale windows also explain: both rules are
 * kept until a GPU run separates them). */
int intfa_wg_tma_can_run(const intfa_attn_params *a, int block_n)
{
    const int varlen = a->cu_q != NULL;
    const int64_t scales = (int64_t)(varlen ? 1 : a->batch) * a->heads_kv * a->seq_kv;
    return ((uintptr_t)a->k | (uintptr_t)a->v | (uintptr_t)a->k_scale) % 16 == 0 &&
           intfa_tma_stride_usable(a->k_sn, a->seq_kv) && intfa_tma_stride_usable(a->k_sh, a->heads_kv) &&
           (varlen || intfa_tma_stride_usable(a->k_sb, a->batch)) && a->n_pad % 16 == 0 &&
           scales < INT32_MAX - 4 && a->seq_kv >= block_n && a->n_pad >= block_n && scales >= block_n + 4;
}

/* Everything the three maps depend on. */
typedef struct wg_tma_key {
    const void *k, *v, *k_scale;
    int64_t k_sn, k_sh, k_sb;
    int64_t seq_kv, heads_kv, batch, n_pad, head_dim, block_n, varlen;
} wg_tma_key;

/* The last maps this thread encoded and what they encode: a repeated call (same tensors, as
 * the drop-in's workspace under a caching allocator) skips the three encodes (~0.3 us each). */
static _Thread_local struct {
    wg_tma_key key;
    CUtensorMap tk, tv, tks;
    int valid;
} last_maps;

static intfa_status encode_maps(const intfa_cu *cu, intfa_attn_wg_tma_params *P, const wg_tma_key *key)
{
    const int varlen = (int)key->varlen;
    const cuuint64_t hd = (cuuint64_t)key->head_dim, kb = varlen ? 1 : (cuuint64_t)key->batch;
    const cuuint64_t planes = kb * (cuuint64_t)key->heads_kv;
    const cuuint32_t bn = (cuuint32_t)key->block_n;
    const int seq = (int)key->seq_kv, heads = (int)key->heads_kv, batch = (int)key->batch;
    /* varlen: the batch extent is 1, its stride never used; the whole tensor's bytes keep the
     * strides increasing */
    const cuuint64_t whole = ((cuuint64_t)key->k_sn * (cuuint64_t)key->seq_kv + 15) / 16 * 16;
    const cuuint64_t k_dims[4] = {hd, (cuuint64_t)key->seq_kv, (cuuint64_t)key->heads_kv, kb};
    const cuuint64_t k_str[3] = {intfa_tma_stride(key->k_sn, seq), intfa_tma_stride(key->k_sh, heads),
                                 varlen ? whole : intfa_tma_stride(key->k_sb, batch)};
    /* K rows are copied in slabs of the wgmma tile's width (qk_slab: 128, 64 or 32 bytes; the
     * kernel issues head_dim / slab copies per tile) */
    const cuuint32_t slab = hd % 128 == 0 ? 128 : hd % 64 == 0 ? 64 : 32;
    const cuuint32_t k_box[4] = {slab, bn, 1, 1};
    /* V^T: [planes][head_dim][n_pad] */
    const cuuint64_t v_dims[3] = {(cuuint64_t)key->n_pad, hd, planes};
    const cuuint64_t v_str[2] = {(cuuint64_t)key->n_pad, (cuuint64_t)key->n_pad * hd};
    const cuuint32_t v_box[3] = {bn, (cuuint32_t)hd, 1};
    intfa_status st;
    if ((st = intfa_tma_map_int8(cu, &P->tk, "tensor map of K", key->k, 4, k_dims, k_str, k_box, (int)slab)) ||
        (st = intfa_tma_map_int8(cu, &P->tv, "tensor map of V", key->v, 3, v_dims, v_str, v_box, (int)bn)))
        return st;
    return intfa_tma_map_f32(cu, &P->tks, "tensor map of the key scales", key->k_scale,
                             planes * (cuuint64_t)key->seq_kv, bn + 4);
}

intfa_status intfa_attention_wg_tma_launch(intfa_context *ctx, CUfunction fn, const intfa_variant *var,
                                           const intfa_attn_params *a, unsigned gx, unsigned smem,
                                           void *stream)
{
    intfa_attn_wg_tma_params P;
    memset(&P, 0, sizeof P);
    P.a = *a;
    if (a->seq_kv > 0) { /* (no keys: no tile is copied, and TMA takes no empty tensor) */
        wg_tma_key key;
        memset(&key, 0, sizeof key); /* (no padding bytes: every member is 8 bytes) */
        key.k = a->k;
        key.v = a->v;
        key.k_scale = a->k_scale;
        key.k_sn = a->k_sn;
        key.k_sh = a->k_sh;
        key.k_sb = a->k_sb;
        key.seq_kv = a->seq_kv;
        key.heads_kv = a->heads_kv;
        key.batch = a->batch;
        key.n_pad = a->n_pad;
        key.head_dim = var->head_dim;
        key.block_n = var->block_n;
        key.varlen = a->cu_q != NULL;
        if (last_maps.valid && !memcmp(&key, &last_maps.key, sizeof key)) {
            P.tk = last_maps.tk;
            P.tv = last_maps.tv;
            P.tks = last_maps.tks;
        } else {
            last_maps.valid = 0;
            const intfa_status st = encode_maps(ctx->cu, &P, &key);
            if (st != INTFA_OK) return st;
            last_maps.key = key;
            last_maps.tk = P.tk;
            last_maps.tv = P.tv;
            last_maps.tks = P.tks;
            last_maps.valid = 1;
        }
    }
    return (a->kv_ready ? intfa_launch_dependent : intfa_launch)(ctx, fn, "intfa_attn_fwd", gx, (unsigned)a->heads_q,
                                                                 (unsigned)a->batch, (unsigned)var->warps * 32,
                                                                 smem, stream, &P);
}
