/* launch.c - kernel launches with checked results. */
#include "error.h"
#include "launch.h"

intfa_status intfa_launch(intfa_context *ctx, CUfunction fn, const char *what, unsigned gx,
                          unsigned gy, unsigned gz, unsigned threads, unsigned smem_bytes,
                          void *stream, void *params)
{
    const intfa_cu *cu = ctx->cu;
    CUresult r;
    if (smem_bytes > 48 * 1024) {
        if ((int)smem_bytes > ctx->smem_optin)
            return intfa_fail(INTFA_ERR_UNSUPPORTED, "%s needs %u bytes of shared memory; device %d allows %d",
                              what, smem_bytes, ctx->ordinal, ctx->smem_optin);
        r = cu->FuncSetAttribute(fn, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, (int)smem_bytes);
        if (r != CUDA_SUCCESS) return intfa_cu_fail(r, what);
    }
    void *args[] = {params};
    r = cu->LaunchKernel(fn, gx, gy, gz, threads, 1, 1, smem_bytes, (CUstream)stream, args, NULL);
    if (r != CUDA_SUCCESS) return intfa_cu_fail(r, what);
    return INTFA_OK;
}
