/* validate.c - argument checks for the public entry points. */
#include <math.h>
#include <stdio.h>
#include <stdint.h>

#include "error.h"
#include "render.h"
#include "validate.h"

intfa_status intfa_mul4(const char *what, int64_t a, int64_t b, int64_t c, int64_t d, int64_t *out)
{
    int64_t r;
    if (__builtin_mul_overflow(a, b, &r) || __builtin_mul_overflow(r, c, &r) ||
        __builtin_mul_overflow(r, d, &r))
        return intfa_fail(INTFA_ERR_OVERFLOW, "%s: %lld x %lld x %lld x %lld overflows 64 bits", what,
                          (long long)a, (long long)b, (long long)c, (long long)d);
    *out = r;
    return INTFA_OK;
}

intfa_status intfa_check_ptr(const char *name, const void *p, int align)
{
    if (!p) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "%s is NULL", name);
    if ((uintptr_t)p % (uintptr_t)align)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "%s = %p is not %d-byte aligned", name, p, align);
    return INTFA_OK;
}

intfa_status intfa_check_tensor(const char *name, const intfa_tensor *t, int64_t batch,
                                int64_t seq, int64_t heads, int64_t head_dim, int elem_bytes)
{
    if (!t) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "%s is NULL", name);
    char what[64];
    snprintf(what, sizeof what, "%s.data", name);
    intfa_status st = intfa_check_ptr(what, t->data, 16);
    if (st != INTFA_OK) return st;
    const int64_t align = 16 / elem_bytes;
    const struct { const char *n; int64_t v, extent; } s[3] = {
        {"stride_b", t->stride_b, batch}, {"stride_n", t->stride_n, seq}, {"stride_h", t->stride_h, heads}};
    int64_t last = head_dim; /* one past the largest element offset */
    for (int i = 0; i < 3; ++i) {
        if (s[i].v < 0 || s[i].v % align)
            return intfa_fail(INTFA_ERR_INVALID_ARGUMENT,
                              "%s.%s = %lld: strides must be non-negative multiples of %lld elements "
                              "(16 bytes)", name, s[i].n, (long long)s[i].v, (long long)align);
        int64_t span;
        if (s[i].extent > 0 && (__builtin_mul_overflow(s[i].v, s[i].extent - 1, &span) ||
                                __builtin_add_overflow(last, span, &last)))
            return intfa_fail(INTFA_ERR_OVERFLOW, "%s: offsets overflow 64 bits (%s = %lld)", name,
                              s[i].n, (long long)s[i].v);
    }
    if (__builtin_mul_overflow(last, (int64_t)elem_bytes, &last))
        return intfa_fail(INTFA_ERR_OVERFLOW, "%s: byte offsets overflow 64 bits", name);
    return INTFA_OK;
}

intfa_status intfa_check_packed(const char *name, const intfa_tensor *t, int64_t total,
                                int64_t heads, int64_t head_dim)
{
    if (!t) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "%s is NULL", name);
    intfa_tensor u = *t;
    u.stride_b = 0;
    return intfa_check_tensor(name, &u, 1, total, heads, head_dim, 2);
}

intfa_status intfa_check_problem(const intfa_attn_problem *p, float *scale)
{
    if (!p) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "problem is NULL");
    const struct { const char *n; int64_t v, max; } f[5] = {
        {"batch", p->batch, INTFA_MAX_GRID_YZ}, {"heads_q", p->heads_q, INTFA_MAX_GRID_YZ},
        {"heads_kv", p->heads_kv, INTFA_MAX_GRID_YZ}, {"seq_q", p->seq_q, INTFA_MAX_SEQ},
        {"seq_kv", p->seq_kv, INTFA_MAX_SEQ}};
    for (int i = 0; i < 5; ++i) {
        if (f[i].v < 0)
            return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "problem.%s = %lld is negative", f[i].n,
                              (long long)f[i].v);
        if (f[i].v > f[i].max)
            return intfa_fail(INTFA_ERR_UNSUPPORTED, "problem.%s = %lld exceeds the maximum %lld",
                              f[i].n, (long long)f[i].v, (long long)f[i].max);
    }
    if (!intfa_head_dim_ok(p->head_dim))
        return intfa_fail(INTFA_ERR_UNSUPPORTED,
                          "problem.head_dim = %lld: supported head dims are multiples of 16 from 32 to 256",
                          (long long)p->head_dim);
    if (p->heads_kv == 0 && p->heads_q != 0)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "problem.heads_kv = 0 with heads_q = %lld",
                          (long long)p->heads_q);
    if (p->heads_kv > 0 && p->heads_q % p->heads_kv)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT,
                          "problem.heads_q = %lld is not a multiple of heads_kv = %lld",
                          (long long)p->heads_q, (long long)p->heads_kv);
    if (p->causal != 0 && p->causal != 1)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "problem.causal = %d: must be 0 or 1", p->causal);
    if ((unsigned)p->dtype > INTFA_DTYPE_BF16)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "problem.dtype = %d is not an intfa_dtype", (int)p->dtype);
    if ((unsigned)p->p_quant > INTFA_PQ_F16)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "problem.p_quant = %d is not an intfa_p_quant",
                          (int)p->p_quant);
    if ((unsigned)p->v_scale > INTFA_VS_HEAD)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "problem.v_scale = %d is not an intfa_v_scale",
                          (int)p->v_scale);
    if ((unsigned)p->qk_format > INTFA_FMT_INT4)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "problem.qk_format = %d is not an intfa_format",
                          (int)p->qk_format);
    if (p->p_quant == INTFA_PQ_F16 && p->qk_format != INTFA_FMT_INT8)
        return intfa_fail(INTFA_ERR_UNSUPPORTED,
                          "problem.p_quant = INTFA_PQ_F16 with qk_format = INT4: 16-bit P.V runs with "
                          "INT8 Q/K only");
    if (!intfa_head_dim_classic(p->head_dim) && (p->qk_format == INTFA_FMT_INT4 || p->p_quant == INTFA_PQ_F16))
        return intfa_fail(INTFA_ERR_UNSUPPORTED, "problem.head_dim = %lld with %s: head dims 64 and 128 only",
                          (long long)p->head_dim,
                          p->qk_format == INTFA_FMT_INT4 ? "qk_format = INT4" : "p_quant = INTFA_PQ_F16");
    if (p->smooth_k != 0 && p->smooth_k != 1)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "problem.smooth_k = %d: must be 0 or 1",
                          p->smooth_k);
    float s = p->softmax_scale;
    if (s == 0.0f) s = 1.0f / sqrtf((float)p->head_dim);
    if (!isfinite(s) || s < 0.0f)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT,
                          "problem.softmax_scale = %g: must be finite and > 0 (0 selects 1/sqrt(head_dim))",
                          (double)p->softmax_scale);
    *scale = s;
    return INTFA_OK;
}
