/* workspace.h - the drop-in entry points' device workspace: buffers laid out one after another
 * on 256-byte boundaries, and the context's own workspace for callers that pass none. */
#ifndef INTFA_WORKSPACE_H
#define INTFA_WORKSPACE_H

#include "context.h"

#define INTFA_WS_ALIGN 256

/* Buffer i takes sizes[i][0] x sizes[i][1] x sizes[i][2] x sizes[i][3] bytes (0 allowed); its
 * offset goes to *slots[i], the whole size to *total. INTFA_ERR_OVERFLOW when a size or the
 * sum overflows. */
intfa_status intfa_workspace_plan(int n, const int64_t (*sizes)[4], size_t *const *slots, size_t *total);

/* The context's own workspace, grown to at least `bytes`. ctx entered. */
intfa_status intfa_ctx_workspace(intfa_context *ctx, size_t bytes, CUdeviceptr *ws);

#endif
