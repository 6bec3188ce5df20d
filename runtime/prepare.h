/* prepare.h - the kernels one call (or one warm-up) needs, loaded into a context together:
 * their binaries come from the AOT table, the cache or NVRTC on parallel threads, so a first
 * call that needs three new kernels costs about the slowest compile, not their sum. */
#ifndef INTFA_PREPARE_H
#define INTFA_PREPARE_H

#include "context.h"

/* Where a binary comes from: intfa_kernel_binary in the library, a fake in tests. On failure it
 * returns the status and leaves the message in intfa_last_error() of its thread. */
typedef intfa_status (*intfa_binary_getter)(void *user, const intfa_variant *v, void **bin,
                                            size_t *size);

/* Runs get for vs[0 .. n) on up to `threads` threads (1..INTFA_MAX_JOBS), the caller's among
 * them; bins[i] and sizes[i] receive item i's binary (NULL on failure). Returns INTFA_OK, or the
 * first failure in item order with its message in this thread's intfa_last_error(); the binaries
 * that were fetched are in bins either way (the caller frees them). */
intfa_status intfa_fetch_binaries(const intfa_variant *vs, size_t n, int threads,
                                  intfa_binary_getter get, void *user, void **bins, size_t *sizes);

/* Loads every variant of vs that ctx has not loaded yet (duplicates allowed), fetching their
 * binaries in parallel. ctx entered. */
intfa_status intfa_ctx_prepare(intfa_context *ctx, const intfa_variant *vs, size_t n);

/* The drop-in's quantization modules for a checked problem on arch: out[0] the quant_qk variant
 * of its Q/K format (Q and K per token, K's mean, V alone: INT4, and pf16's K), out[1] the
 * quant_v variant (the INT8 drop-in's K/V pass). */
intfa_status intfa_dropin_quant_kernels(intfa_arch arch, const intfa_attn_problem *p,
                                        intfa_variant out[2]);

/* All the kernels of the drop-in (intfa_attention), *n of them, the attention variant last:
 * for INT8 the V/K-pass module (quant_v) and the attention variant selected for the problem on
 * ctx (a warp-specialized selection replaced by the default tile: the drop-in's attention
 * quantizes Q, which that family does not); for INT4 and pf16 the quant_qk module (Q, K and V
 * for INT4, K for pf16) and the selected variant. */
intfa_status intfa_dropin_kernels(intfa_context *ctx, const intfa_attn_problem *p,
                                  intfa_variant out[3], size_t *n);

#endif
