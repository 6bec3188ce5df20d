/* select.c - the attention variant for a problem (defaults only until the tuner lands). */
#include "select.h"

intfa_status intfa_select_attention(intfa_context *ctx, const intfa_attn_problem *p,
                                    intfa_variant *out)
{
    return intfa_variant_default(INTFA_KIND_ATTN_FWD, ctx->arch, (int)p->head_dim, INTFA_FMT_INT8,
                                 p->causal, p->dtype, p->p_quant, out);
}
