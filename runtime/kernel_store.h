/* kernel_store.h - where a variant's binary comes from, in order: the precompiled (AOT) table
 * built into the library, the on-disk cache, then NVRTC (unless JIT is disabled). */
#ifndef INTFA_KERNEL_STORE_H
#define INTFA_KERNEL_STORE_H

#include "context.h"

/* The cubin of v for ctx's device. *cubin is malloc'd (free it). */
intfa_status intfa_kernel_binary(intfa_context *ctx, const intfa_variant *v, void **cubin,
                                 size_t *size);

#endif
