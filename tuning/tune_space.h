/* tune_space.h - the candidates the autotuner times for a class on an arch: the built-in
 * default first, then (block_m, warps) in {(64, 4), (128, 4), (128, 8)} x block_n in {32, 64,
 * 128} x stages in {1, 2, 3}, and on sm_90a for INT8 classes the warp-specialized kernel's
 * (block_m, warps) in {(128, 12), (64, 8)} x block_n in {64, 128} x stages in {2, 3, 4}, in
 * that nesting order, each kept only if intfa_variant_check accepts it (shared memory and
 * register limits of the arch), so nothing invalid is ever compiled. The order is fixed: it
 * breaks near-ties (tune_rank.h), so the default wins unless another candidate is clearly
 * faster. */
#ifndef INTFA_TUNE_SPACE_H
#define INTFA_TUNE_SPACE_H

#include "tune_class.h"

/* The grids have 27 (+ 12) points; the default may lie outside them. */
#define INTFA_TUNE_MAX_CANDIDATES 40 /* the default + 3 x 3 x 3 grid + 2 x 2 x 3 (sm_90a INT8) */

/* Writes the candidates of class c on arch to out (cap >= INTFA_TUNE_MAX_CANDIDATES), their
 * number to *count and the number of grid points rejected by the resource checks to *pruned
 * (may be NULL). INTFA_ERR_UNSUPPORTED when no candidate is left (e.g. an INT4 class). */
intfa_status intfa_tune_candidates(const intfa_tune_class *c, intfa_arch arch, intfa_variant *out,
                                   size_t cap, size_t *count, size_t *pruned);

#endif
