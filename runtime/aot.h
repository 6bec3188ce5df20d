/* aot.h - the precompiled (ahead-of-time) kernel table: the first place a variant's binary is
 * looked up, before the on-disk cache and NVRTC (cache.c). Issue 5 fills the table; until
 * then every lookup misses. */
#ifndef INTFA_AOT_H
#define INTFA_AOT_H

#include <stddef.h>
#include "intfa.h"

/* The precompiled cubin of the variant named variant_name for arch, if the table holds one.
 * Found: INTFA_OK, *bin points at static storage (not to be freed) and *size > 0.
 * Not found: INTFA_OK with *bin = NULL and *size = 0. Bad arguments: INTFA_ERR_INVALID_ARGUMENT,
 * outputs unchanged. */
intfa_status intfa_aot_lookup(const char *variant_name, intfa_arch arch, const void **bin,
                              size_t *size);

#endif
