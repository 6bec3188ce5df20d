/* kernel_store.c - a context's kernel binaries: the context's options (cache directory,
 * no-JIT mode, verbose logging) applied to the cache's lookup order (cache.c: AOT table,
 * memory, disk, NVRTC). Loaded modules are kept per context by context.c, so a variant
 * reaches this point once per context. */
#include "cache.h"
#include "error.h"
#include "kernel_store.h"

intfa_status intfa_kernel_binary(intfa_context *ctx, const intfa_variant *v, void **cubin,
                                 size_t *size)
{
    if (!ctx)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_kernel_binary: ctx is NULL");
    intfa_cache_config cfg = {
        .dir = ctx->opts.cache_dir,
        .max_bytes = 0, /* $INTFA_CACHE_MAX_BYTES or the default */
        .verbose = ctx->opts.verbose,
    };
    return intfa_cache_get_or_build(&cfg, v, !ctx->opts.disable_jit, cubin, size, NULL);
}
