/* context.h - what an intfa_context holds: a device's primary CUDA context, the arch its
 * kernels are built for, the modules loaded so far, the drop-in's workspace and the chooser of
 * tuned variants. */
#ifndef INTFA_CONTEXT_H
#define INTFA_CONTEXT_H

#include <pthread.h>
#include <stdint.h>
#include "chooser.h"
#include "driver.h"

/* A module of the context: being loaded by one thread (loading = 1: module not yet set; others
 * wanting it wait on module_loaded), or loaded. A failed load is removed from the list. */
typedef struct intfa_loaded_module {
    intfa_variant variant;
    CUmodule module;
    int loading;
    struct intfa_loaded_module *next;
} intfa_loaded_module;

#define INTFA_SMEM_SET_MAX 64

struct intfa_context {
    intfa_options opts;   /* as given, with env overrides applied; strings owned (copied) */
    const intfa_cu *cu;
    CUdevice device;
    CUcontext cuctx;
    int ordinal;
    intfa_arch arch;
    int sm_count;
    int smem_optin; /* bytes of shared memory a block may opt into */
    char device_name[256];
    pthread_mutex_t lock; /* guards modules and workspace; never held while compiling */
    pthread_cond_t module_loaded; /* signalled when a module's loading ends (lock) */
    intfa_loaded_module *modules;
    CUdeviceptr workspace;
    size_t workspace_bytes;
    struct { CUfunction fn; unsigned bytes; } smem_set[INTFA_SMEM_SET_MAX]; /* limits set (lock) */
    int n_smem_set;
    int kv_stream_blocks; /* blocks of the drop-in's streamed K/V pass beside the attention
                             (sm_90; 0: no overlap: two launches, on sm_90 the pass serialized) */
    const intfa_chooser *chooser; /* tuned variants (chooser.h), registered by intfa_create */
    void *chooser_state;          /* the chooser's own, for this context */
};

/* A 64-bit value never handed out before in this process, and never 0: the
 * streamed K/V pass's launch epoch (templates/quant_v.cu), which tells its blocks that the
 * counters in a workspace of unknown contents have been zeroed for this launch. Thread-safe. */
uint64_t intfa_ctx_next_epoch(void);

/* Make ctx current on this thread (push) and restore (pop). */
intfa_status intfa_ctx_enter(intfa_context *ctx);
void intfa_ctx_leave(intfa_context *ctx);

/* 1 when ctx has loaded v's module, or a thread is loading it (thread-safe). */
int intfa_ctx_has_module(intfa_context *ctx, const intfa_variant *v);

/* Loads cubin as v's module unless ctx has one for v already or a thread is loading it
 * (thread-safe). ctx entered. */
intfa_status intfa_ctx_load_binary(intfa_context *ctx, const intfa_variant *v, const void *cubin);

/* The function `entry` of variant v, compiled and loaded on first use (thread-safe: a variant
 * is compiled once per context, by the first thread that wants it, outside the context's
 * lock, so other threads go on with the modules already loaded; those that want the same
 * variant wait for it).
 * ctx must be entered. */
intfa_status intfa_ctx_function(intfa_context *ctx, const intfa_variant *v, const char *entry,
                                CUfunction *fn);

/* Check that stream belongs to ctx's device context. ctx must be entered. */
intfa_status intfa_ctx_check_stream(intfa_context *ctx, void *stream);

/* 1 when p is device memory the host cannot read (not managed memory): the entry points that
 * take host arrays refuse it. ctx must be entered. */
int intfa_ctx_is_device_memory(intfa_context *ctx, const void *p);

#endif
