/* select.h - which variant serves a problem on a context: a tuned winner when the tuning
 * database holds one for this device and problem class, else the built-in per-arch default. */
#ifndef INTFA_SELECT_H
#define INTFA_SELECT_H

#include "context.h"

intfa_status intfa_select_attention(intfa_context *ctx, const intfa_attn_problem *p,
                                    intfa_variant *out);

#endif
