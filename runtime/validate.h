/* validate.h - argument checks shared by the public entry points. Each returns INTFA_OK or a
 * status with a message naming the argument and the value. None touches device memory. */
#ifndef INTFA_VALIDATE_H
#define INTFA_VALIDATE_H

#include "intfa.h"

#define INTFA_MAX_SEQ (1LL << 30)     /* tokens per sequence */
#define INTFA_MAX_GRID_YZ 65535LL     /* heads and batch map to grid y and z */

/* A [B, N, H, D] tensor of elem_bytes elements: data non-NULL and 16-byte aligned, strides
 * non-negative multiples of 16 bytes, largest offset representable. */
intfa_status intfa_check_tensor(const char *name, const intfa_tensor *t, int64_t batch,
                                int64_t seq, int64_t heads, int64_t head_dim, int elem_bytes);

/* A packed [total, H, D] tensor (varlen, KV appends): as intfa_check_tensor, stride_b ignored;
 * NULL is an error naming it. */
intfa_status intfa_check_packed(const char *name, const intfa_tensor *t, int64_t total,
                                int64_t heads, int64_t head_dim);

/* A device pointer argument: non-NULL and aligned to `align` bytes. */
intfa_status intfa_check_ptr(const char *name, const void *p, int align);

/* Sizes, enums and flags of an attention problem (qk_format, smooth_k included; also fills in
 * the default softmax_scale into *scale). */
intfa_status intfa_check_problem(const intfa_attn_problem *p, float *scale);

/* Bytes of one quantized Q or K row of head_dim values: head_dim (int8) or head_dim / 2 (int4,
 * two per byte). */
static inline int64_t intfa_qk_row_bytes(intfa_format fmt, int64_t head_dim)
{
    return fmt == INTFA_FMT_INT4 ? head_dim / 2 : head_dim;
}

/* a * b * c * d in int64 without overflow, or INTFA_ERR_OVERFLOW naming what. */
intfa_status intfa_mul4(const char *what, int64_t a, int64_t b, int64_t c, int64_t d, int64_t *out);

#endif
