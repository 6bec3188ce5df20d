/* attention_launch.h - the attention kernel of one given variant on checked arguments (for the
 * autotuner and the benchmarks; the public entry points select the variant themselves).
 * ctx must be entered; scale is the resolved softmax scale (> 0). */
#ifndef INTFA_ATTENTION_LAUNCH_H
#define INTFA_ATTENTION_LAUNCH_H

#include "context.h"

intfa_status intfa_attention_launch_variant(intfa_context *ctx, const intfa_variant *var,
                                           const intfa_attn_problem *pr, float scale,
                                           const intfa_qk_int8 *q, const intfa_qk_int8 *k,
                                           const intfa_v_int8 *v, const intfa_tensor *out,
                                           float *lse, void *stream);

#endif
