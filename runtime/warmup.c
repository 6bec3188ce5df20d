/* warmup.c - intfa_warmup: the kernels of a list of problem shapes, compiled ahead of use. */
#include <stdint.h>
#include <stdlib.h>

#include "error.h"
#include "prepare.h"
#include "validate.h"

intfa_status intfa_warmup(intfa_context *ctx, const intfa_attn_problem *problems, size_t count)
{
    intfa_clear_error();
    if (!ctx) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_warmup: ctx is NULL");
    if (count == 0) return INTFA_OK;
    if (!problems) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "problems is NULL with count = %zu", count);
    if (count > SIZE_MAX / (3 * sizeof(intfa_variant)))
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "count = %zu: too many problems", count);
    for (size_t i = 0; i < count; i++) {
        float scale;
        intfa_status st = intfa_check_problem(&problems[i], &scale);
        if (st != INTFA_OK) return intfa_fail_wrap(st, "problems[%zu]", i);
    }
    intfa_variant *vs = malloc(3 * count * sizeof *vs);
    if (!vs) return intfa_fail(INTFA_ERR_OUT_OF_MEMORY, "out of host memory");
    intfa_status st = intfa_ctx_enter(ctx);
    if (st == INTFA_OK) {
        size_t n = 0;
        for (size_t i = 0; i < count && st == INTFA_OK; i++) {
            size_t k = 0;
            st = intfa_dropin_kernels(ctx, &problems[i], vs + n, &k);
            if (st != INTFA_OK) st = intfa_fail_wrap(st, "problems[%zu]", i);
            n += k;
        }
        if (st == INTFA_OK) st = intfa_ctx_prepare(ctx, vs, n);
        intfa_ctx_leave(ctx);
    }
    free(vs);
    return st;
}
