/* quantize.h - quantization launches without argument checks (for the drop-in, which has
 * checked its arguments already). ctx must be entered. */
#ifndef INTFA_QUANTIZE_H
#define INTFA_QUANTIZE_H

#include "context.h"

intfa_status intfa_quantize_qk_launch(intfa_context *ctx, const intfa_tensor *x, intfa_dtype dtype,
                                      int64_t batch, int64_t heads, int64_t seq, int64_t head_dim,
                                      int8_t *out_values, float *out_scale, void *stream);
intfa_status intfa_quantize_v_launch(intfa_context *ctx, const intfa_tensor *x, intfa_dtype dtype,
                                     int64_t batch, int64_t heads, int64_t seq, int64_t head_dim,
                                     intfa_v_scale mode, int8_t *out_values, float *out_scale,
                                     void *stream);
#endif
