/* launch.c - kernel launches with checked results. */
#include <pthread.h>
#include <string.h>

#include "error.h"
#include "launch.h"

/* Raises fn's dynamic shared-memory limit to smem_bytes where a launch needs more than the
 * default 48 KB: once per function and size (the context remembers the limits it set), not on
 * every launch. */
static intfa_status allow_smem(intfa_context *ctx, CUfunction fn, const char *what, unsigned smem_bytes)
{
    if (smem_bytes <= 48 * 1024) return INTFA_OK;
    if ((int)smem_bytes > ctx->smem_optin)
        return intfa_fail(INTFA_ERR_UNSUPPORTED, "%s needs %u bytes of shared memory; device %d allows %d",
                          what, smem_bytes, ctx->ordinal, ctx->smem_optin);
    pthread_mutex_lock(&ctx->lock);
    int slot = -1;
    for (int i = 0; i < ctx->n_smem_set && slot < 0; ++i)
        if (ctx->smem_set[i].fn == fn) slot = i;
    const int known = slot >= 0 && ctx->smem_set[slot].bytes >= smem_bytes;
    pthread_mutex_unlock(&ctx->lock);
    if (known) return INTFA_OK;
    const CUresult r = ctx->cu->FuncSetAttribute(fn, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, (int)smem_bytes);
    if (r != CUDA_SUCCESS) return intfa_cu_fail(r, what);
    pthread_mutex_lock(&ctx->lock);
    if (slot < 0 && ctx->n_smem_set < INTFA_SMEM_SET_MAX) slot = ctx->n_smem_set++;
    /* (a full table: the functions not in it set their limit on every launch) */
    if (slot >= 0 && ctx->smem_set[slot].bytes < smem_bytes) {
        ctx->smem_set[slot].fn = fn;
        ctx->smem_set[slot].bytes = smem_bytes;
    }
    pthread_mutex_unlock(&ctx->lock);
    return INTFA_OK;
}

intfa_status intfa_launch(intfa_context *ctx, CUfunction fn, const char *what, unsigned gx,
                          unsigned gy, unsigned gz, unsigned threads, unsigned smem_bytes,
                          void *stream, void *params)
{
    intfa_status st = allow_smem(ctx, fn, what, smem_bytes);
    if (st != INTFA_OK) return st;
    void *args[] = {params};
    const CUresult r = ctx->cu->LaunchKernel(fn, gx, gy, gz, threads, 1, 1, smem_bytes, (CUstream)stream, args, NULL);
    return r == CUDA_SUCCESS ? INTFA_OK : intfa_cu_fail(r, what);
}

intfa_status intfa_launch_dependent(intfa_context *ctx, CUfunction fn, const char *what, unsigned gx,
                                    unsigned gy, unsigned gz, unsigned threads, unsigned smem_bytes,
                                    void *stream, void *params)
{
    if (ctx->arch != INTFA_ARCH_SM90 && ctx->arch != INTFA_ARCH_SM90A)
        return intfa_launch(ctx, fn, what, gx, gy, gz, threads, smem_bytes, stream, params);
    intfa_status st = allow_smem(ctx, fn, what, smem_bytes);
    if (st != INTFA_OK) return st;
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
    c.sharedMemBytes = smem_bytes;
    c.hStream = (CUstream)stream;
    c.attrs = &attr;
    c.numAttrs = 1;
    void *args[] = {params};
    const CUresult r = ctx->cu->LaunchKernelEx(&c, fn, args, NULL);
    return r == CUDA_SUCCESS ? INTFA_OK : intfa_cu_fail(r, what);
}
