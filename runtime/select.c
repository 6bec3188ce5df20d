/* select.c - the attention variant for a problem: the tuned winner of its class when the
 * context's tuning database has one for this device (tuning it first on a context created
 * with INTFA_TUNE_ON_FIRST_USE), else the built-in per-arch default (docs/TUNING.md). */
#include "select.h"
#include "tune_choose.h"

intfa_status intfa_select_attention(intfa_context *ctx, const intfa_attn_problem *p,
                                    intfa_variant *out)
{
    intfa_tune_class c;
    intfa_variant tuned;
    int found = 0;
    intfa_status st = intfa_tune_class_of(p, &c);
    if (st == INTFA_OK) st = intfa_tune_choose(ctx, &c, &tuned, &found);
    if (st != INTFA_OK) return st;
    if (found) {
        *out = tuned;
        return INTFA_OK;
    }
    return intfa_variant_default(INTFA_KIND_ATTN_FWD, ctx->arch, (int)p->head_dim, p->qk_format,
                                 p->causal, p->dtype, p->p_quant, out);
}
