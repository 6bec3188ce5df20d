/* attention_varlen.c - the drop-in on variable-length batches: sequences packed along the token
 * axis, described by host cumulative counts (FlashAttention's cu_seqlens). INT8 only: the K/V
 * pass per (sequence, head), then the attention kernel, which quantizes Q, over a grid of
 * (longest sequence's m-blocks, heads, sequences). docs/ALGORITHM.md, "Variable-length
 * batches". */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attention_launch.h"
#include "error.h"
#include "prepare.h"
#include "quantize.h"
#include "validate.h"
#include "workspace.h"

/* Checks cu[0 .. batch] (the call's own copy): starts at 0, never decreases, ends at total;
 * *max_len gets the longest sequence. */
static intfa_status check_cu(const char *name, const int32_t *cu, int64_t batch, int64_t total,
                             const char *total_field, int64_t *max_len)
{
    if (cu[0] != 0)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "%s[0] = %d: must be 0", name, (int)cu[0]);
    *max_len = 0;
    for (int64_t b = 0; b < batch; ++b) {
        if (cu[b + 1] < cu[b])
            return intfa_fail(INTFA_ERR_INVALID_ARGUMENT,
                              "%s[%lld] = %d is less than %s[%lld] = %d: counts must not decrease",
                              name, (long long)(b + 1), (int)cu[b + 1], name, (long long)b, (int)cu[b]);
        if (cu[b + 1] - cu[b] > *max_len) *max_len = cu[b + 1] - cu[b];
    }
    if (cu[batch] != total)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT,
                          "%s[%lld] = %d: must equal the total token count problem.%s = %lld", name,
                          (long long)batch, (int)cu[batch], total_field, (long long)total);
    return INTFA_OK;
}

/* Byte offsets in the varlen workspace: int8 K [H_kv, total_k, D] and its scales [H_kv,
 * total_k], V^T [H_kv, D, cols] and its scales [batch, H_kv, D], with smooth_k K's mean [batch,
 * H_kv, D] and Q's LSE bias [H_q, total_q], the K/V pass's partial sums, the two count arrays. */
typedef struct varlen_ws {
    size_t k8, ks, v8, vs, mean, bias, part, cu_q, cu_k, sync, total;
} varlen_ws;

static intfa_status varlen_plan(const intfa_attn_problem *p, varlen_ws *w)
{
    const int64_t B = p->batch, D = p->head_dim, Hq = p->heads_q, Hk = p->heads_kv;
    const int64_t sm = p->smooth_k ? 1 : 0;
    int64_t bh_kv;
    if (__builtin_mul_overflow(B, Hk, &bh_kv)) return intfa_fail(INTFA_ERR_OVERFLOW, "workspace size overflows");
    const int64_t sizes[10][4] = {{Hk, p->seq_kv, D, 1}, {Hk, p->seq_kv, 4, 1},
                                 {Hk, D, intfa_kv_varlen_cols(B, p->seq_kv), 1}, {B, Hk, D, 4},
                                 {B, Hk, D, 4 * sm}, {Hq, p->seq_q, 4 * sm, 1},
                                 {bh_kv, intfa_kv_splits(p->seq_kv), 2 * D, 4},
                                 {B + 1, 4, 1, 1}, {B + 1, 4, 1, 1}, {intfa_kv_sync_words(bh_kv), 4, 1, 1}};
    size_t *const slot[10] = {&w->k8, &w->ks, &w->v8, &w->vs, &w->mean, &w->bias, &w->part, &w->cu_q, &w->cu_k, &w->sync};
    return intfa_workspace_plan(10, sizes, slot, &w->total);
}

/* Everything of the problem alone: checked, INT8, the resolved scale. */
static intfa_status check_varlen_problem(const intfa_attn_problem *pr, float *scale)
{
    intfa_status st = intfa_check_problem(pr, scale);
    if (st != INTFA_OK) return st;
    if (pr->qk_format != INTFA_FMT_INT8)
        return intfa_fail(INTFA_ERR_UNSUPPORTED,
                          "problem.qk_format = %d: variable-length batches take INT8 Q/K only",
                          (int)pr->qk_format);
    if (pr->p_quant == INTFA_PQ_F16)
        return intfa_fail(INTFA_ERR_UNSUPPORTED,
                          "problem.p_quant = INTFA_PQ_F16: variable-length batches take 8-bit P "
                          "(pu8, ps8) for now");
    return INTFA_OK;
}

intfa_status intfa_attention_varlen_workspace_size(const intfa_attn_problem *problem, size_t *bytes)
{
    intfa_clear_error();
    float scale;
    if (!bytes) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "bytes is NULL");
    intfa_status st = check_varlen_problem(problem, &scale);
    varlen_ws w;
    if (st == INTFA_OK) st = varlen_plan(problem, &w);
    if (st == INTFA_OK) *bytes = w.total;
    return st;
}

/* The launches, arguments checked, ctx entered, workspace at base. */
static intfa_status varlen_run(intfa_context *ctx, const intfa_attn_problem *pr, float scale,
                               const intfa_variant *attn, const varlen_ws *w, char *base,
                               const intfa_tensor *q, const intfa_tensor *k, const intfa_tensor *v,
                               const int32_t *cu_q, const int32_t *cu_k, int64_t max_q,
                               int64_t max_k, const intfa_tensor *out, float *lse, void *stream)
{
    const int64_t B = pr->batch, D = pr->head_dim;
    int32_t *dcu_q = (int32_t *)(base + w->cu_q), *dcu_k = (int32_t *)(base + w->cu_k);
    const size_t cu_bytes = (size_t)(B + 1) * sizeof(int32_t);
    CUresult r = ctx->cu->MemcpyHtoDAsync((CUdeviceptr)(uintptr_t)dcu_q, cu_q, cu_bytes, (CUstream)stream);
    if (r == CUDA_SUCCESS)
        r = ctx->cu->MemcpyHtoDAsync((CUdeviceptr)(uintptr_t)dcu_k, cu_k, cu_bytes, (CUstream)stream);
    if (r != CUDA_SUCCESS) return intfa_cu_fail(r, "intfa_attention_varlen: copying cu_seqlens");
    const int smooth = pr->smooth_k && pr->seq_kv > 0, with_bias = smooth && lse;
    const intfa_kv_quant_out kv = {(int8_t *)(base + w->k8), (int8_t *)(base + w->v8),
                                   (float *)(base + w->ks), (float *)(base + w->vs),
                                   (float *)(base + w->mean), (float *)(base + w->part), dcu_k, max_k,
                                   (uint32_t *)(base + w->sync)};
    uint64_t streamed = 0; /* the pass's epoch when the attention kernel runs beside it */
    intfa_status st = intfa_quantize_kv_launch(ctx, k, v, pr->dtype, B, pr->heads_kv, pr->seq_kv, D,
                                               smooth, pr->v_scale, &kv, stream, &streamed);
    if (st != INTFA_OK) return st;
    const intfa_qk_int8 qq = {*q, NULL, with_bias ? (float *)(base + w->bias) : NULL};
    const intfa_qk_int8 kq = {intfa_tensor_bhnd(kv.k8, pr->seq_kv, pr->heads_kv, D), kv.k_scale, NULL};
    const intfa_v_int8 vq = {kv.v8, kv.v_scale};
    intfa_attn_params p = intfa_attention_params(pr, scale, &qq, &kq, &vq, out, lse);
    p.q_fp = 1;
    p.k_mean = with_bias ? kv.mean : NULL;
    p.n_pad = (int32_t)intfa_kv_varlen_cols(B, pr->seq_kv);
    p.cu_q = dcu_q;
    p.cu_k = dcu_k;
    p.kv_ready = streamed ? intfa_kv_ready_flags(kv.sync, B * pr->heads_kv) : NULL;
    p.kv_epoch = streamed;
    return intfa_attention_launch_params(ctx, attn, pr, &p, max_q, stream);
}

/* The counts as the call will use them: a private copy of cu (host memory, checked not to be
 * device memory), so that nothing the caller does to its array after the checks (a pinned
 * buffer refilled while the stream runs) can reach the kernels. ctx entered. */
static intfa_status copy_counts(intfa_context *ctx, const char *name, const int32_t *cu,
                                int64_t batch, int32_t *copy)
{
    if (intfa_ctx_is_device_memory(ctx, cu))
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT,
                          "%s = %p is device memory: intfa_attention_varlen takes the counts in host memory",
                          name, (const void *)cu);
    memcpy(copy, cu, ((size_t)batch + 1) * sizeof *copy);
    return INTFA_OK;
}

/* Everything after the checks that need no driver: refuses graph capture, takes and checks the
 * counts, then the kernels. ctx entered. */
static intfa_status varlen_call(intfa_context *ctx, const intfa_attn_problem *pr, float scale,
                                const varlen_ws *w, void *workspace, const intfa_tensor *q,
                                const intfa_tensor *k, const intfa_tensor *v,
                                const int32_t *cu_seqlens_q, const int32_t *cu_seqlens_k,
                                const intfa_tensor *out, float *lse, void *stream)
{
    const int64_t B = pr->batch;
    CUstreamCaptureStatus capture = CU_STREAM_CAPTURE_STATUS_NONE;
    CUresult r = ctx->cu->StreamIsCapturing((CUstream)stream, &capture);
    if (r != CUDA_SUCCESS) return intfa_cu_fail(r, "intfa_attention_varlen: cuStreamIsCapturing");
    if (capture != CU_STREAM_CAPTURE_STATUS_NONE)
        return intfa_fail(INTFA_ERR_UNSUPPORTED,
                          "intfa_attention_varlen: the stream is capturing a CUDA graph; the counts "
                          "are host data copied and checked on every call, which a graph cannot replay");
    int32_t *counts = malloc(2 * ((size_t)B + 1) * sizeof *counts);
    if (!counts) return intfa_fail(INTFA_ERR_OUT_OF_MEMORY, "out of host memory");
    int32_t *cq = counts, *ck = counts + B + 1;
    int64_t max_q = 0, max_k = 0;
    intfa_status st = copy_counts(ctx, "cu_seqlens_q", cu_seqlens_q, B, cq);
    if (st == INTFA_OK) st = copy_counts(ctx, "cu_seqlens_k", cu_seqlens_k, B, ck);
    if (st == INTFA_OK) st = check_cu("cu_seqlens_q", cq, B, pr->seq_q, "seq_q", &max_q);
    if (st == INTFA_OK) st = check_cu("cu_seqlens_k", ck, B, pr->seq_kv, "seq_kv", &max_k);
    /* kernels are selected as for the longest sequence */
    intfa_attn_problem rep = *pr;
    rep.seq_q = max_q;
    rep.seq_kv = max_k;
    CUdeviceptr ws = (CUdeviceptr)workspace;
    if (st == INTFA_OK && !workspace) st = intfa_ctx_workspace(ctx, w->total, &ws);
    intfa_variant kernels[3];
    size_t nk = 0;
    if (st == INTFA_OK) st = intfa_dropin_kernels(ctx, &rep, kernels, &nk);
    if (st == INTFA_OK) st = intfa_ctx_prepare(ctx, kernels, nk);
    /* the counts go to the device from this pageable copy: the driver has staged them when the
     * copy call returns, so it is freed right after */
    if (st == INTFA_OK)
        st = varlen_run(ctx, pr, scale, &kernels[nk - 1], w, (char *)(uintptr_t)ws, q, k, v, cq, ck,
                        max_q, max_k, out, lse, stream);
    free(counts);
    return st;
}

intfa_status intfa_attention_varlen(intfa_context *ctx, const intfa_attn_problem *pr,
                                    const intfa_tensor *q, const intfa_tensor *k,
                                    const intfa_tensor *v, const int32_t *cu_seqlens_q,
                                    const int32_t *cu_seqlens_k, const intfa_tensor *out,
                                    float *lse, void *workspace, size_t workspace_bytes,
                                    void *stream)
{
    intfa_clear_error();
    if (!ctx) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_attention_varlen: ctx is NULL");
    float scale = 0.f;
    intfa_status st = check_varlen_problem(pr, &scale);
    if (st != INTFA_OK) return st;
    const int64_t B = pr->batch, D = pr->head_dim;
    if (!cu_seqlens_q || !cu_seqlens_k)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "%s is NULL", !cu_seqlens_q ? "cu_seqlens_q" : "cu_seqlens_k");
    if (B == 0 || pr->heads_q == 0 || pr->seq_q == 0) return INTFA_OK;
    varlen_ws w;
    if ((st = varlen_plan(pr, &w)) || (st = intfa_check_packed("q", q, pr->seq_q, pr->heads_q, D)) ||
        (st = intfa_check_packed("out", out, pr->seq_q, pr->heads_q, D)))
        return st;
    if (pr->seq_kv > 0 && ((st = intfa_check_packed("k", k, pr->seq_kv, pr->heads_kv, D)) ||
                           (st = intfa_check_packed("v", v, pr->seq_kv, pr->heads_kv, D))))
        return st;
    if (lse && (st = intfa_check_ptr("lse", lse, 4))) return st;
    /* the K/V pass: one block row per (sequence, head), its key blocks strided in grid y */
    if ((st = intfa_quantize_check_grid("intfa_attention_varlen: k, v", B, pr->heads_kv, 0))) return st;
    if (workspace) {
        if ((st = intfa_check_ptr("workspace", workspace, INTFA_WS_ALIGN))) return st;
        if (workspace_bytes < w.total)
            return intfa_fail(INTFA_ERR_INVALID_ARGUMENT,
                              "workspace_bytes = %zu, but this problem needs %zu "
                              "(intfa_attention_varlen_workspace_size)",
                              workspace_bytes, w.total);
    }
    if ((st = intfa_ctx_enter(ctx)) != INTFA_OK) return st;
    st = intfa_ctx_check_stream(ctx, stream);
    if (st == INTFA_OK)
        st = varlen_call(ctx, pr, scale, &w, workspace, q, k, v, cu_seqlens_q, cu_seqlens_k, out, lse,
                         stream);
    intfa_ctx_leave(ctx);
    return st;
}
