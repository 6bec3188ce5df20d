/* nvrtc.h - compile CUDA C to a cubin with NVRTC for an exact target. Works with no GPU. */
#ifndef INTFA_NVRTC_H
#define INTFA_NVRTC_H

#include <stddef.h>
#include "intfa.h"

/* Compile source (named name in diagnostics) for arch (sm_80 .. sm_90a). *cubin is malloc'd.
 * On failure: INTFA_ERR_COMPILE with the NVRTC log in the message. ms may be NULL. */
intfa_status intfa_nvrtc_compile(const char *source, const char *name, intfa_arch arch,
                                 void **cubin, size_t *cubin_size, double *ms);

/* NVRTC version as major * 1000 + minor * 10 (like CUDA_VERSION); 0 if unavailable. */
int intfa_nvrtc_version(void);

/* The fixed option list used for every compile (part of cache keys), as one string. */
const char *intfa_nvrtc_options_string(void);

#endif
