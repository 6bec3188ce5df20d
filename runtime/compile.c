/* compile.c - variant -> cubin: render the variant's template, then NVRTC it for the
 * variant's arch under the program name "<canonical name>.cu". */
#include <stdio.h>
#include <stdlib.h>

#include "error.h"
#include "nvrtc_compile.h"

intfa_status intfa_variant_compile(const intfa_variant *v, void **cubin, size_t *cubin_size,
                                   double *compile_ms)
{
    intfa_clear_error();
    if (!v)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_variant_compile: v is NULL");
    if (!cubin)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_variant_compile: cubin is NULL");
    if (!cubin_size)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT,
                          "intfa_variant_compile: cubin_size is NULL");

    char name[INTFA_VARIANT_NAME_MAX];
    intfa_status st = intfa_variant_name(v, name, sizeof name);
    if (st != INTFA_OK)
        return intfa_fail_wrap(st, "intfa_variant_compile");

    char *source = NULL;
    st = intfa_variant_render(v, &source);
    if (st != INTFA_OK)
        return intfa_fail_wrap(st, "%s: render", name);

    char program[INTFA_VARIANT_NAME_MAX + 8];
    snprintf(program, sizeof program, "%s.cu", name);
    void *bin = NULL;
    size_t size = 0;
    double ms = 0;
    /* The NVRTC message starts with the program name, i.e. the variant name already. */
    st = intfa_nvrtc_compile(source, program, v->arch, &bin, &size, &ms);
    intfa_free(source);
    if (st != INTFA_OK)
        return st;
    *cubin = bin;
    *cubin_size = size;
    if (compile_ms)
        *compile_ms = ms;
    return INTFA_OK;
}
