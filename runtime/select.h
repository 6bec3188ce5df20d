/* select.h - which variant serves a problem on a context: a tuned winner when the context's
 * chooser (chooser.h) has one for this device and problem class, else the built-in per-arch
 * default. */
#ifndef INTFA_SELECT_H
#define INTFA_SELECT_H

#include "context.h"

intfa_status intfa_select_attention(intfa_context *ctx, const intfa_attn_problem *p,
                                    intfa_variant *out);

/* $INTFA_ATTN_TILE's parse: "m<block_m>n<block_n>w<warps>s<stages>" (digits only, 1..9999)
 * replaces v's tile if the result passes intfa_variant_check; otherwise an error naming the
 * setting, and v is unchanged. */
intfa_status intfa_apply_tile_override(const char *tile, intfa_variant *v);

#endif
