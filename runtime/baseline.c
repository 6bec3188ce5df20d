/* baseline.c - the FP16 FlashAttention baseline: argument checks and the launch of
 * templates/attn_fwd_fp16.cu (its built-in default tile for the arch, head_dim and mask). */
#include "baseline.h"
#include "error.h"
#include "launch.h"
#include "render.h"
#include "validate.h"

/* Host mirror of the kernel's parameter struct (templates/attn_fwd_fp16.cu). */
typedef struct intfa_attn_fp16_params {
    const void *q, *k, *v;
    void *o;
    float *lse;
    int64_t q_sb, q_sh, q_sn;
    int64_t k_sb, k_sh, k_sn;
    int64_t v_sb, v_sh, v_sn;
    int64_t o_sb, o_sh, o_sn;
    int32_t batch, heads_q, heads_kv, seq_q, seq_kv;
    float scale_log2;
} intfa_attn_fp16_params;
_Static_assert(sizeof(intfa_attn_fp16_params) == 5 * 8 + 12 * 8 + 6 * 4, "fp16 params layout");

/* Every argument check of intfa_baseline_fp16_attention; *empty when there is nothing to do. */
static intfa_status check_args(const intfa_attn_problem *pr, const intfa_tensor *q,
                               const intfa_tensor *k, const intfa_tensor *v,
                               const intfa_tensor *out, const float *lse, float *scale, int *empty)
{
    intfa_status st = intfa_check_problem(pr, scale);
    if (st != INTFA_OK) return st;
    if (pr->dtype != INTFA_DTYPE_FP16)
        return intfa_fail(INTFA_ERR_UNSUPPORTED,
                          "problem.dtype = %d: the FP16 baseline takes fp16 only (INTFA_DTYPE_FP16)",
                          (int)pr->dtype);
    if (pr->head_dim != 64 && pr->head_dim != 128)
        return intfa_fail(INTFA_ERR_UNSUPPORTED, "problem.head_dim = %lld: the FP16 baseline takes 64 and 128",
                          (long long)pr->head_dim);
    if (!q || !k || !v || !out)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "%s is NULL",
                          !q ? "q" : !k ? "k" : !v ? "v" : "out");
    *empty = pr->batch == 0 || pr->heads_q == 0 || pr->seq_q == 0;
    if (*empty) return INTFA_OK;
    const int64_t B = pr->batch, D = pr->head_dim;
    if ((st = intfa_check_tensor("q", q, B, pr->seq_q, pr->heads_q, D, 2)) ||
        (st = intfa_check_tensor("out", out, B, pr->seq_q, pr->heads_q, D, 2)))
        return st;
    if (pr->seq_kv > 0 && ((st = intfa_check_tensor("k", k, B, pr->seq_kv, pr->heads_kv, D, 2)) ||
                           (st = intfa_check_tensor("v", v, B, pr->seq_kv, pr->heads_kv, D, 2))))
        return st;
    if (lse && (st = intfa_check_ptr("lse", lse, 4))) return st;
    return INTFA_OK;
}

/* Arguments checked, ctx entered. */
static intfa_status baseline_launch(intfa_context *ctx, const intfa_attn_problem *pr, float scale,
                                    const intfa_tensor *q, const intfa_tensor *k,
                                    const intfa_tensor *v, const intfa_tensor *out, float *lse,
                                    void *stream)
{
    intfa_variant var;
    CUfunction fn;
    intfa_status st = intfa_variant_default(INTFA_KIND_ATTN_FWD_FP16, ctx->arch, (int)pr->head_dim,
                                            INTFA_FMT_INT8, pr->causal, INTFA_DTYPE_FP16,
                                            INTFA_PQ_U8_ROW, &var);
    if (st == INTFA_OK) st = intfa_ctx_function(ctx, &var, "intfa_attn_fwd_fp16", &fn);
    if (st != INTFA_OK) return st;
    intfa_attn_fp16_params p = {
        .q = q->data, .k = k->data, .v = v->data, .o = out->data, .lse = lse,
        .q_sb = q->stride_b, .q_sh = q->stride_h, .q_sn = q->stride_n,
        .k_sb = k->stride_b, .k_sh = k->stride_h, .k_sn = k->stride_n,
        .v_sb = v->stride_b, .v_sh = v->stride_h, .v_sn = v->stride_n,
        .o_sb = out->stride_b, .o_sh = out->stride_h, .o_sn = out->stride_n,
        .batch = (int32_t)pr->batch, .heads_q = (int32_t)pr->heads_q,
        .heads_kv = (int32_t)pr->heads_kv, .seq_q = (int32_t)pr->seq_q,
        .seq_kv = (int32_t)pr->seq_kv, .scale_log2 = scale * 1.44269504088896340736f};
    const unsigned gx = (unsigned)((pr->seq_q + var.block_m - 1) / var.block_m);
    return intfa_launch(ctx, fn, "intfa_attn_fwd_fp16", gx, (unsigned)pr->heads_q,
                        (unsigned)pr->batch, (unsigned)var.warps * 32,
                        (unsigned)intfa_variant_smem_bytes(&var), stream, &p);
}

intfa_status intfa_baseline_fp16_attention(intfa_context *ctx, const intfa_attn_problem *problem,
                                           const intfa_tensor *q, const intfa_tensor *k,
                                           const intfa_tensor *v, const intfa_tensor *out,
                                           float *lse, void *stream)
{
    intfa_clear_error();
    if (!ctx)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_baseline_fp16_attention: ctx is NULL");
    float scale = 0.f;
    int empty = 0;
    intfa_status st = check_args(problem, q, k, v, out, lse, &scale, &empty);
    if (st != INTFA_OK || empty) return st;
    if ((st = intfa_ctx_enter(ctx)) != INTFA_OK) return st;
    st = intfa_ctx_check_stream(ctx, stream);
    if (st == INTFA_OK) st = baseline_launch(ctx, problem, scale, q, k, v, out, lse, stream);
    intfa_ctx_leave(ctx);
    return st;
}
