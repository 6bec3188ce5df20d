/* launch.c - kernel launches with checked results. */
#include <string.h>

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

intfa_status intfa_launch_dependent(intfa_context *ctx, CUfunction fn, const char *what, unsigned gx,
                                    unsigned gy, unsigned gz, unsigned threads, void *stream,
                                    void *params)
{
    if (ctx->arch != INTFA_ARCH_SM90 && ctx->arch != INTFA_ARCH_SM90A)
        return intfa_launch(ctx, fn, what, gx, gy, gz, threads, 0, stream, params);
    CUlaunchAttribute attr;
    memset(&attr, 0, sizeof attr);
    attr.id = CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION;
    attr.value.programmaticStreamSerializationAllowed = 1;
    CUlaunchConfig c;
    memset(&c, 0, sizeof c);
    c.gridDimX = gx;
    c.gridDimY = gy;
    c.gridDimZ = gz;
    c.blockDimX = threads;
    c.blockDimY = c.blockDimZ = 1;
    c.hStream = (CUstream)stream;
    c.attrs = &attr;
    c.numAttrs = 1;
    void *args[] = {params};
    const CUresult r = ctx->cu->LaunchKernelEx(&c, fn, args, NULL);
    return r == CUDA_SUCCESS ? INTFA_OK : intfa_cu_fail(r, what);
}
