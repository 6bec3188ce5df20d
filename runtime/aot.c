/* aot.c - the precompiled kernel table. Empty for now: every lookup misses, so binaries come
 * from the cache or NVRTC. Issue 5 replaces this file's body with the generated table. */
#include "aot.h"
#include "error.h"

intfa_status intfa_aot_lookup(const char *variant_name, intfa_arch arch, const void **bin,
                              size_t *size)
{
    if (!variant_name)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_aot_lookup: variant_name is NULL");
    if ((unsigned)arch >= INTFA_ARCH_COUNT)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_aot_lookup: arch = %d: not an "
                          "intfa_arch (0 .. %d)", (int)arch, (int)INTFA_ARCH_COUNT - 1);
    if (!bin)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_aot_lookup: bin is NULL");
    if (!size)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_aot_lookup: size is NULL");
    *bin = NULL; /* the table is empty */
    *size = 0;
    return INTFA_OK;
}
