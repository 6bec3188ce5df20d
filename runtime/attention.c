/* attention.c - the attention entry points: on quantized inputs (int8 or packed int4 Q/K), and
 * the fp16/bf16 drop-in that quantizes into a workspace first (with K smoothing on request). */
#include <stdlib.h>

#include "attention_launch.h"
#include "attention_wg_tma.h"
#include "attention_ws.h"
#include "error.h"
#include "launch.h"
#include "launch_params.h"
#include "prepare.h"
#include "quantize.h"
#include "render.h"
#include "select.h"
#include "validate.h"
#include "workspace.h"

/* a * b * c, or -1 (a stride every check rejects) when a size is negative or it overflows */
static int64_t dense_stride(int64_t a, int64_t b, int64_t c)
{
    int64_t r;
    if (a < 0 || b < 0 || c < 0 || __builtin_mul_overflow(a, b, &r) || __builtin_mul_overflow(r, c, &r))
        return -1;
    return r;
}

intfa_tensor intfa_tensor_bnhd(void *data, int64_t n, int64_t h, int64_t d)
{
    intfa_tensor t = {data, dense_stride(n, h, d), dense_stride(h, d, 1), d};
    return t;
}

intfa_tensor intfa_tensor_bhnd(void *data, int64_t n, int64_t h, int64_t d)
{
    intfa_tensor t = {data, dense_stride(h, n, d), d, dense_stride(n, d, 1)};
    return t;
}

/* Checks everything of intfa_attention_int8's arguments (v) or, with qk_entry,
 * intfa_attention_int8_qk's (v16); *empty when there is nothing to do. */
static intfa_status check_int8_args(const intfa_attn_problem *pr, const intfa_qk_int8 *q,
                                    const intfa_qk_int8 *k, const intfa_v_int8 *v,
                                    const intfa_tensor *v16, int qk_entry,
                                    const intfa_tensor *out, const float *lse, float *scale,
                                    int *empty)
{
    intfa_status st = intfa_check_problem(pr, scale);
    if (st != INTFA_OK) return st;
    const int want_v16 = pr->p_quant == INTFA_PQ_F16;
    if (want_v16 != qk_entry)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT,
                          want_v16 ? "problem.p_quant = INTFA_PQ_F16 multiplies P by V unquantized: "
                                     "intfa_attention_int8_qk takes it"
                                   : "problem.p_quant = %d: intfa_attention_int8_qk takes "
                                     "INTFA_PQ_F16 (V unquantized); quantized V goes to "
                                     "intfa_attention_int8",
                          (int)pr->p_quant);
    const int has_v = qk_entry ? v16 != NULL : v != NULL;
    if (!q || !k || !has_v || !out)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "%s is NULL",
                          !q ? "q" : !k ? "k" : !has_v ? "v" : "out");
    *empty = pr->batch == 0 || pr->heads_q == 0 || pr->seq_q == 0;
    if (*empty) return INTFA_OK;
    const int64_t B = pr->batch, D = pr->head_dim;
    /* int8 rows of D bytes, or int4 rows of D / 2 bytes: strides in bytes either way */
    const int64_t row = intfa_qk_row_bytes(pr->qk_format, D);
    int64_t total;
    if ((st = intfa_mul4("q: batch x heads_q x seq_q x head_dim", B, pr->heads_q, pr->seq_q, D, &total)) ||
        (st = intfa_mul4("v: batch x heads_kv x seq_kv x head_dim", B, pr->heads_kv,
                         intfa_v_padded_len(pr->seq_kv), D, &total)) ||
        (st = intfa_check_tensor("q.values", &q->values, B, pr->seq_q, pr->heads_q, row, 1)) ||
        (st = intfa_check_ptr("q.scale", q->scale, 4)) ||
        (st = intfa_check_tensor("out", out, B, pr->seq_q, pr->heads_q, D, 2)) ||
        (v && (st = intfa_check_ptr("v.scale", v->scale, 8))))
        return st;
    if (q->lse_bias && (st = intfa_check_ptr("q.lse_bias", q->lse_bias, 4))) return st;
    if (k->lse_bias)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT,
                          "k.lse_bias = %p: must be NULL (the LSE bias is per query row: q.lse_bias)",
                          (const void *)k->lse_bias);
    if (pr->seq_kv > 0 &&
        ((st = intfa_check_tensor("k.values", &k->values, B, pr->seq_kv, pr->heads_kv, row, 1)) ||
         (st = intfa_check_ptr("k.scale", k->scale, 4)) ||
         (v && (st = intfa_check_ptr("v.values", v->values, 16))) ||
         (v16 && (st = intfa_check_tensor("v", v16, B, pr->seq_kv, pr->heads_kv, D, 2)))))
        return st;
    if (lse && (st = intfa_check_ptr("lse", lse, 4))) return st;
    return INTFA_OK;
}

intfa_attn_params intfa_attention_params(const intfa_attn_problem *pr, float scale, const intfa_qk_int8 *q,
                                     const intfa_qk_int8 *k, const intfa_v_int8 *v,
                                     const intfa_tensor *out, float *lse)
{
    intfa_attn_params p = {
        .q = q->values.data, .k = k->values.data, .v = v->values,
        .q_scale = q->scale, .k_scale = k->scale, .v_scale = v->scale,
        .o = out->data, .lse = lse, .lse_bias = q->lse_bias,
        .q_sb = q->values.stride_b, .q_sh = q->values.stride_h, .q_sn = q->values.stride_n,
        .k_sb = k->values.stride_b, .k_sh = k->values.stride_h, .k_sn = k->values.stride_n,
        .o_sb = out->stride_b, .o_sh = out->stride_h, .o_sn = out->stride_n,
        .batch = (int32_t)pr->batch, .heads_q = (int32_t)pr->heads_q,
        .heads_kv = (int32_t)pr->heads_kv, .seq_q = (int32_t)pr->seq_q,
        .seq_kv = (int32_t)pr->seq_kv, .n_pad = (int32_t)intfa_v_padded_len(pr->seq_kv),
        .scale_log2 = scale * 1.44269504088896340736f, .q_fp = 0, .k_mean = NULL,
        .softmax_scale = scale, .pad_ = 0, .cu_q = NULL, .cu_k = NULL};
    return p;
}

intfa_attn_params intfa_attention_params_v16(const intfa_attn_problem *pr, float scale,
                                             const intfa_qk_int8 *q, const intfa_qk_int8 *k,
                                             const intfa_tensor *v, const intfa_tensor *out, float *lse)
{
    const intfa_v_int8 none = {NULL, NULL};
    intfa_attn_params p = intfa_attention_params(pr, scale, q, k, &none, out, lse);
    p.v = v->data;
    p.v_sb = v->stride_b;
    p.v_sh = v->stride_h;
    p.v_sn = v->stride_n;
    return p;
}

intfa_status intfa_attention_launch_params(intfa_context *ctx, const intfa_variant *var,
                                           const intfa_attn_problem *pr, intfa_attn_params *p,
                                           int64_t rows, void *stream)
{
    intfa_variant fallback;
    intfa_status st = INTFA_OK;
    if (intfa_variant_uses_ws(var) && (p->q_fp || p->cu_q || !intfa_ws_can_run(p, var))) {
        st = intfa_variant_default(INTFA_KIND_ATTN_FWD, var->arch, var->head_dim, var->qk_format,
                                   var->causal, var->dtype, var->p_quant, &fallback);
        var = &fallback;
    }
    /* tensors TMA cannot address (K or V unaligned, odd K strides, fewer keys than a tile): the
     * portable kernel */
    if (st == INTFA_OK && intfa_variant_uses_kv_tma(var) && !intfa_wg_tma_can_run(p, var->block_n)) {
        const int block_n = var->block_n;
        st = intfa_variant_default(INTFA_KIND_ATTN_FWD, INTFA_ARCH_SM90, var->head_dim, var->qk_format,
                                   var->causal, var->dtype, var->p_quant, &fallback);
        /* the same key tiles (P is quantized per tile): the same result as the TMA kernel */
        intfa_variant same_tiles = fallback;
        same_tiles.block_n = block_n;
        if (st == INTFA_OK && intfa_variant_check(&same_tiles) != INTFA_OK) {
            same_tiles.block_m = 64; /* hd128: 128 rows of 128-key tiles exceed the registers */
            same_tiles.warps = 4;
        }
        if (st == INTFA_OK && intfa_variant_check(&same_tiles) == INTFA_OK) fallback = same_tiles;
        intfa_clear_error(); /* (the checks' messages are not this call's error) */
        var = &fallback;
    }
    CUfunction fn;
    if (st == INTFA_OK) st = intfa_ctx_function(ctx, var, "intfa_attn_fwd", &fn);
    if (st != INTFA_OK) return st;
    if (intfa_variant_uses_ws(var)) return intfa_attention_ws_launch(ctx, fn, var, p, stream);
    const unsigned smem = (unsigned)intfa_variant_smem_bytes(var);
    const unsigned gx = (unsigned)((rows + var->block_m - 1) / var->block_m);
    if (intfa_variant_uses_kv_tma(var)) return intfa_attention_wg_tma_launch(ctx, fn, var, p, gx, smem, stream);
    /* after the streamed K/V pass: started beside it, each block waiting for its head's flag */
    return (p->kv_ready ? intfa_launch_dependent : intfa_launch)(ctx, fn, "intfa_attn_fwd", gx, (unsigned)pr->heads_q,
                                                                 (unsigned)pr->batch, (unsigned)var->warps * 32,
                                                                 smem, stream, p);
}

intfa_status intfa_attention_launch_variant(intfa_context *ctx, const intfa_variant *var,
                                           const intfa_attn_problem *pr, float scale,
                                           const intfa_qk_int8 *q, const intfa_qk_int8 *k,
                                           const intfa_v_int8 *v, const intfa_tensor *out,
                                           float *lse, void *stream)
{
    intfa_attn_params p = intfa_attention_params(pr, scale, q, k, v, out, lse);
    return intfa_attention_launch_params(ctx, var, pr, &p, pr->seq_q, stream);
}

/* intfa_attention_int8 (v) and intfa_attention_int8_qk (v16, fn's qk_entry): the arguments
 * checked, then the selected attention kernel launched on them. */
static intfa_status attention_quantized(const char *fn, int qk_entry, intfa_context *ctx,
                                        const intfa_attn_problem *problem, const intfa_qk_int8 *q,
                                        const intfa_qk_int8 *k, const intfa_v_int8 *v,
                                        const intfa_tensor *v16, const intfa_tensor *out,
                                        float *lse, void *stream)
{
    intfa_clear_error();
    if (!ctx) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "%s: ctx is NULL", fn);
    float scale = 0.f;
    int empty = 0;
    intfa_status st = check_int8_args(problem, q, k, v, v16, qk_entry, out, lse, &scale, &empty);
    if (st != INTFA_OK || empty) return st;
    if ((st = intfa_ctx_enter(ctx)) != INTFA_OK) return st;
    st = intfa_ctx_check_stream(ctx, stream);
    intfa_variant var;
    if (st == INTFA_OK) st = intfa_select_attention(ctx, problem, &var);
    if (st == INTFA_OK) {
        intfa_attn_params p = qk_entry ? intfa_attention_params_v16(problem, scale, q, k, v16, out, lse)
                                       : intfa_attention_params(problem, scale, q, k, v, out, lse);
        st = intfa_attention_launch_params(ctx, &var, problem, &p, problem->seq_q, stream);
    }
    intfa_ctx_leave(ctx);
    return st;
}

intfa_status intfa_attention_int8(intfa_context *ctx, const intfa_attn_problem *problem,
                                  const intfa_qk_int8 *q, const intfa_qk_int8 *k,
                                  const intfa_v_int8 *v, const intfa_tensor *out, float *lse,
                                  void *stream)
{
    return attention_quantized("intfa_attention_int8", 0, ctx, problem, q, k, v, NULL, out, lse, stream);
}

intfa_status intfa_attention_int8_qk(intfa_context *ctx, const intfa_attn_problem *problem,
                                     const intfa_qk_int8 *q, const intfa_qk_int8 *k,
                                     const intfa_tensor *v, const intfa_tensor *out, float *lse,
                                     void *stream)
{
    return attention_quantized("intfa_attention_int8_qk", 1, ctx, problem, q, k, NULL, v, out, lse, stream);
}

/* ------------------------------------------------------------------ drop-in */

/* Byte offsets of the drop-in's buffers inside its workspace: K (int8, or int4 at half the
 * bytes) and its scales, V and its scales, with smooth_k K's mean [B, H_kv, D] and Q's LSE bias
 * [B, H_q, N_q] (fp32), for INT8 the K/V pass's partial sums, and for INT4 quantized Q and its
 * scales (INT8 Q is quantized inside the attention kernel: no Q buffers). */
typedef struct ws_layout {
    size_t q8, qs, k8, ks, v8, vs, mean, bias, part, sync, total;
} ws_layout;

static intfa_status ws_plan(const intfa_attn_problem *p, ws_layout *w)
{
    const int64_t B = p->batch, D = p->head_dim, Hq = p->heads_q, Hk = p->heads_kv;
    const int64_t row = intfa_qk_row_bytes(p->qk_format, D), sm = p->smooth_k ? 1 : 0;
    const int64_t sep_q = p->qk_format == INTFA_FMT_INT8 ? 0 : 1;
    /* pf16 reads V as given and quantizes K on its own (no K/V pass) */
    const int64_t v8 = p->p_quant == INTFA_PQ_F16 ? 0 : 1, kv_pass = (1 - sep_q) * v8;
    const int64_t splits = kv_pass ? intfa_kv_splits(p->seq_kv) : 0;
    const int64_t sizes[10][4] = {{B, Hq, p->seq_q, row * sep_q}, {B, Hq, p->seq_q, 4 * sep_q},
                                 {B, Hk, p->seq_kv, row}, {B, Hk, p->seq_kv, 4},
                                 {B, Hk, intfa_v_padded_len(p->seq_kv), D * v8}, {B, Hk, D, 4 * v8},
                                 {B, Hk, D, 4 * sm}, {B, Hq, p->seq_q, 4 * sm},
                                 {B, Hk, splits, 2 * D * 4}, {kv_pass, intfa_kv_sync_words(B * Hk), 4, 1}};
    size_t *const slot[10] = {&w->q8, &w->qs, &w->k8, &w->ks, &w->v8, &w->vs, &w->mean, &w->bias, &w->part, &w->sync};
    return intfa_workspace_plan(10, sizes, slot, &w->total);
}

intfa_status intfa_attention_workspace_size(const intfa_attn_problem *problem, size_t *bytes)
{
    intfa_clear_error();
    float scale;
    if (!bytes) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "bytes is NULL");
    intfa_status st = intfa_check_problem(problem, &scale);
    ws_layout w;
    if (st == INTFA_OK) st = ws_plan(problem, &w);
    if (st == INTFA_OK) *bytes = w.total;
    return st;
}

/* K on its own into the workspace (the INT4 and pf16 drop-ins): K's mean first with smooth_k
 * (K - mean(K) is quantized; the LSE gets softmax_scale * q . mean back through Q's bias), then
 * K per token in pr->qk_format. Arguments checked, ctx entered. */
static intfa_status dropin_quantize_k(intfa_context *ctx, const intfa_attn_problem *pr,
                                     const ws_layout *w, char *base, const intfa_tensor *k,
                                     void *stream)
{
    float *mean = (float *)(base + w->mean);
    const int smooth = pr->smooth_k && pr->seq_kv > 0;
    const intfa_qk_quant_options kopt = {pr->qk_format, smooth ? mean : NULL, NULL, 0, 0.0f, NULL};
    intfa_status st = INTFA_OK;
    if (smooth)
        st = intfa_mean_launch(ctx, pr->qk_format, k, pr->dtype, pr->batch, pr->heads_kv, pr->seq_kv,
                               pr->head_dim, mean, stream);
    if (st == INTFA_OK && pr->seq_kv > 0)
        st = intfa_quantize_qk_launch(ctx, k, pr->dtype, pr->batch, pr->heads_kv, pr->seq_kv,
                                      pr->head_dim, &kopt, base + w->k8, (float *)(base + w->ks),
                                      stream);
    return st;
}

/* The drop-in for INT4 Q/K: K's mean (smooth_k), Q, K and V quantized by their own kernels into
 * the workspace, then the attention variant attn. Arguments checked, ctx entered. */
static intfa_status dropin_run_int4(intfa_context *ctx, const intfa_attn_problem *pr,
                                    const intfa_variant *attn, float scale, const ws_layout *w,
                                    char *base, const intfa_tensor *q, const intfa_tensor *k,
                                    const intfa_tensor *v, const intfa_tensor *out, float *lse,
                                    void *stream)
{
    const int64_t B = pr->batch, D = pr->head_dim;
    void *q8 = base + w->q8, *k8 = base + w->k8;
    int8_t *v8 = (int8_t *)(base + w->v8);
    float *qs = (float *)(base + w->qs), *ks = (float *)(base + w->ks), *vs = (float *)(base + w->vs);
    float *mean = (float *)(base + w->mean), *bias = (float *)(base + w->bias);
    /* Q's LSE bias only when the LSE is wanted (the output does not depend on it) */
    const int with_bias = pr->smooth_k && pr->seq_kv > 0 && lse;
    const intfa_qk_quant_options qopt = {pr->qk_format, NULL, with_bias ? mean : NULL,
                                         pr->heads_q / pr->heads_kv, scale, with_bias ? bias : NULL};
    intfa_status st = dropin_quantize_k(ctx, pr, w, base, k, stream);
    if (st == INTFA_OK)
        st = intfa_quantize_qk_launch(ctx, q, pr->dtype, B, pr->heads_q, pr->seq_q, D, &qopt, q8, qs,
                                      stream);
    if (st == INTFA_OK)
        st = intfa_quantize_v_launch(ctx, pr->qk_format, v, pr->dtype, B, pr->heads_kv, pr->seq_kv, D,
                                     pr->v_scale, v8, vs, stream);
    if (st != INTFA_OK) return st;
    const int64_t row = intfa_qk_row_bytes(pr->qk_format, D);
    const intfa_qk_int8 qq = {intfa_tensor_bhnd(q8, pr->seq_q, pr->heads_q, row), qs, qopt.out_bias};
    const intfa_qk_int8 kq = {intfa_tensor_bhnd(k8, pr->seq_kv, pr->heads_kv, row), ks, NULL};
    const intfa_v_int8 vq = {v8, vs};
    return intfa_attention_launch_variant(ctx, attn, pr, scale, &qq, &kq, &vq, out, lse, stream);
}

/* The drop-in with 16-bit P.V (pf16): K's mean (smooth_k) and K quantized per token, then the
 * attention kernel, which quantizes its own Q rows and reads V as given. Arguments checked, ctx
 * entered. */
static intfa_status dropin_run_pf16(intfa_context *ctx, const intfa_attn_problem *pr,
                                    const intfa_variant *attn, float scale, const ws_layout *w,
                                    char *base, const intfa_tensor *q, const intfa_tensor *k,
                                    const intfa_tensor *v, const intfa_tensor *out, float *lse,
                                    void *stream)
{
    float *mean = (float *)(base + w->mean);
    const int with_bias = pr->smooth_k && pr->seq_kv > 0 && lse;
    intfa_status st = dropin_quantize_k(ctx, pr, w, base, k, stream);
    if (st != INTFA_OK) return st;
    const intfa_qk_int8 qq = {*q, NULL, with_bias ? (float *)(base + w->bias) : NULL};
    const intfa_qk_int8 kq = {intfa_tensor_bhnd(base + w->k8, pr->seq_kv, pr->heads_kv, pr->head_dim),
                              (float *)(base + w->ks), NULL};
    intfa_attn_params p = intfa_attention_params_v16(pr, scale, &qq, &kq, v, out, lse);
    p.q_fp = 1;
    p.k_mean = with_bias ? mean : NULL;
    return intfa_attention_launch_params(ctx, attn, pr, &p, pr->seq_q, stream);
}

/* The drop-in for INT8 (docs/ALGORITHM.md): one K/V pass (statistics, then K and V quantized
 * together; K's mean with smooth_k) and the attention kernel, which quantizes its own Q rows.
 * Arguments checked, ctx entered. */
static intfa_status dropin_run(intfa_context *ctx, const intfa_attn_problem *pr,
                               const intfa_variant *attn, float scale, const ws_layout *w,
                               char *base, const intfa_tensor *q,
                               const intfa_tensor *k, const intfa_tensor *v,
                               const intfa_tensor *out, float *lse, void *stream)
{
    if (pr->qk_format != INTFA_FMT_INT8)
        return dropin_run_int4(ctx, pr, attn, scale, w, base, q, k, v, out, lse, stream);
    if (pr->p_quant == INTFA_PQ_F16)
        return dropin_run_pf16(ctx, pr, attn, scale, w, base, q, k, v, out, lse, stream);
    const int smooth = pr->smooth_k && pr->seq_kv > 0, with_bias = smooth && lse;
    const intfa_kv_quant_out kv = {(int8_t *)(base + w->k8), (int8_t *)(base + w->v8),
                                   (float *)(base + w->ks), (float *)(base + w->vs),
                                   (float *)(base + w->mean), (float *)(base + w->part), NULL, 0,
                                   (uint32_t *)(base + w->sync)};
    uint64_t streamed = 0; /* the pass's epoch when the attention kernel runs beside it */
    intfa_status st = intfa_quantize_kv_launch(ctx, k, v, pr->dtype, pr->batch, pr->heads_kv, pr->seq_kv,
                                               pr->head_dim, smooth, pr->v_scale, &kv, stream, &streamed);
    if (st != INTFA_OK) return st;
    const intfa_qk_int8 qq = {*q, NULL, with_bias ? (float *)(base + w->bias) : NULL};
    const intfa_qk_int8 kq = {intfa_tensor_bhnd(kv.k8, pr->seq_kv, pr->heads_kv, pr->head_dim), kv.k_scale, NULL};
    const intfa_v_int8 vq = {kv.v8, kv.v_scale};
    intfa_attn_params p = intfa_attention_params(pr, scale, &qq, &kq, &vq, out, lse);
    p.q_fp = 1;
    p.k_mean = with_bias ? kv.mean : NULL;
    p.kv_ready = streamed ? intfa_kv_ready_flags(kv.sync, pr->batch * pr->heads_kv) : NULL;
    p.kv_epoch = streamed;
    return intfa_attention_launch_params(ctx, attn, pr, &p, pr->seq_q, stream);
}

intfa_status intfa_attention(intfa_context *ctx, const intfa_attn_problem *pr,
                             const intfa_tensor *q, const intfa_tensor *k, const intfa_tensor *v,
                             const intfa_tensor *out, float *lse, void *workspace,
                             size_t workspace_bytes, void *stream)
{
    intfa_clear_error();
    if (!ctx) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_attention: ctx is NULL");
    float scale = 0.f;
    intfa_status st = intfa_check_problem(pr, &scale);
    if (st != INTFA_OK) return st;
    if (!q || !k || !v || !out)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "%s is NULL", !q ? "q" : !k ? "k" : !v ? "v" : "out");
    if (pr->batch == 0 || pr->heads_q == 0 || pr->seq_q == 0) return INTFA_OK;
    const int64_t B = pr->batch, D = pr->head_dim;
    ws_layout w;
    if ((st = ws_plan(pr, &w)) ||
        (st = intfa_check_tensor("q", q, B, pr->seq_q, pr->heads_q, D, 2)) ||
        (st = intfa_check_tensor("out", out, B, pr->seq_q, pr->heads_q, D, 2)))
        return st;
    if (pr->seq_kv > 0 && ((st = intfa_check_tensor("k", k, B, pr->seq_kv, pr->heads_kv, D, 2)) ||
                           (st = intfa_check_tensor("v", v, B, pr->seq_kv, pr->heads_kv, D, 2))))
        return st;
    if (lse && (st = intfa_check_ptr("lse", lse, 4))) return st;
    /* every launch's grid, before the first one */
    if ((st = intfa_quantize_check_grid("intfa_attention: q", B, pr->heads_q, pr->seq_q)) ||
        (st = intfa_quantize_check_grid("intfa_attention: k, v", B, pr->heads_kv, pr->seq_kv)))
        return st;
    if (workspace) {
        if ((st = intfa_check_ptr("workspace", workspace, INTFA_WS_ALIGN))) return st;
        if (workspace_bytes < w.total)
            return intfa_fail(INTFA_ERR_INVALID_ARGUMENT,
                              "workspace_bytes = %zu, but this problem needs %zu (intfa_attention_workspace_size)",
                              workspace_bytes, w.total);
    }
    if ((st = intfa_ctx_enter(ctx)) != INTFA_OK) return st;
    CUdeviceptr ws = (CUdeviceptr)workspace;
    st = intfa_ctx_check_stream(ctx, stream);
    if (st == INTFA_OK && !workspace) st = intfa_ctx_workspace(ctx, w.total, &ws);
    /* the call's kernels that are not loaded yet compile at once, not one after another;
     * the last is the attention variant selected for the problem */
    intfa_variant kernels[3];
    size_t nk = 0;
    if (st == INTFA_OK) st = intfa_dropin_kernels(ctx, pr, kernels, &nk);
    if (st == INTFA_OK) st = intfa_ctx_prepare(ctx, kernels, nk);
    if (st == INTFA_OK)
        st = dropin_run(ctx, pr, &kernels[nk - 1], scale, &w, (char *)(uintptr_t)ws, q, k, v, out, lse,
                        stream);
    intfa_ctx_leave(ctx);
    return st;
}
