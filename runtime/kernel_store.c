/* kernel_store.c - a variant's binary: NVRTC for now (cache and AOT table: issues 4 and 5). */
#include <stdio.h>

#include "error.h"
#include "kernel_store.h"

intfa_status intfa_kernel_binary(intfa_context *ctx, const intfa_variant *v, void **cubin,
                                 size_t *size)
{
    char name[INTFA_VARIANT_NAME_MAX];
    intfa_status st = intfa_variant_name(v, name, sizeof name);
    if (st != INTFA_OK) return st;
    if (ctx->opts.disable_jit)
        return intfa_fail(INTFA_ERR_JIT_DISABLED,
                          "JIT is disabled and %s is neither precompiled nor cached", name);
    double ms = 0;
    st = intfa_variant_compile(v, cubin, size, &ms);
    if (st == INTFA_OK && ctx->opts.verbose) fprintf(stderr, "intfa: compiled %s in %.0f ms\n", name, ms);
    return st;
}
