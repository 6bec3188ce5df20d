/* workspace.c - the drop-in entry points' device workspace (workspace.h). */
#include <pthread.h>

#include "error.h"
#include "validate.h"
#include "workspace.h"

intfa_status intfa_workspace_plan(int n, const int64_t (*sizes)[4], size_t *const *slots, size_t *total)
{
    uint64_t off = 0;
    for (int i = 0; i < n; ++i) {
        int64_t bytes;
        intfa_status st = intfa_mul4("workspace", sizes[i][0], sizes[i][1], sizes[i][2], sizes[i][3], &bytes);
        if (st != INTFA_OK) return st;
        *slots[i] = (size_t)off;
        if (__builtin_add_overflow(off, ((uint64_t)bytes + INTFA_WS_ALIGN - 1) / INTFA_WS_ALIGN * INTFA_WS_ALIGN, &off))
            return intfa_fail(INTFA_ERR_OVERFLOW, "workspace size overflows");
    }
    *total = (size_t)off;
    return INTFA_OK;
}

intfa_status intfa_ctx_workspace(intfa_context *ctx, size_t bytes, CUdeviceptr *ws)
{
    intfa_status st = INTFA_OK;
    pthread_mutex_lock(&ctx->lock);
    if (ctx->workspace_bytes < bytes) {
        if (ctx->workspace) ctx->cu->MemFree(ctx->workspace);
        ctx->workspace = 0;
        ctx->workspace_bytes = 0;
        CUresult r = ctx->cu->MemAlloc(&ctx->workspace, bytes);
        if (r != CUDA_SUCCESS)
            st = r == CUDA_ERROR_OUT_OF_MEMORY
                     ? intfa_fail(INTFA_ERR_OUT_OF_MEMORY, "workspace of %zu bytes: out of device memory", bytes)
                     : intfa_cu_fail(r, "workspace allocation");
        else
            ctx->workspace_bytes = bytes;
    }
    *ws = ctx->workspace;
    pthread_mutex_unlock(&ctx->lock);
    return st;
}
