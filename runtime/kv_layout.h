/* kv_layout.h - the paged KV cache's layouts and checks (no driver): where each array lives in
 * the pool, the per-call workspace, how many key splits a decode call takes, and the checks of
 * the cache, sequence and query descriptions. templates/kv_cache.cu is their device side. */
#ifndef INTFA_KV_LAYOUT_H
#define INTFA_KV_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "intfa.h"

#define INTFA_KV_TILE 64             /* keys per decode tile (templates/kv_cache.cu TILE) */
#define INTFA_KV_MAX_SPLITS 128      /* templates/kv_cache.cu KV_MAX_SPLITS: the combine
                                        * keeps 128 / 32 weights per lane */
#define INTFA_KV_MIN_TILES_PER_SPLIT 4 /* a tile per warp at least */
#define INTFA_KV_WARPS 4             /* warps of a decode block (the kv_cache default variant) */

/* Byte offsets in the pool: k8 [pages][H][PS][D], k_scale [pages][H][PS], v8 [pages][H][D][PS],
 * v_scale [pages][H][D], stage [slots][H][PS][D] (2-byte values). */
typedef struct intfa_kv_pool {
    size_t k8, k_scale, v8, v_scale, stage, total;
} intfa_kv_pool;

/* Byte offsets in a call's workspace: the host arrays' copy (block table, lens, slots, cu_new:
 * int32, in that order, one copy), the decode partials (part_o, part_ml). */
typedef struct intfa_kv_ws {
    size_t arrays, part_o, part_ml, total;
    size_t arrays_bytes;
    int64_t splits_cap; /* the partials' room: no call of these sequences takes more splits */
} intfa_kv_ws;

/* The cache's fields (pool not read unless check_pool) and its layout. */
intfa_status intfa_kv_check_cache(const intfa_kv_cache *c, int check_pool, intfa_kv_pool *layout);

/* The query's fields against the cache; *scale_log2 = softmax scale * log2(e). */
intfa_status intfa_kv_check_query(const intfa_kv_cache *c, const intfa_kv_query *q, float *scale_log2);

/* The seqs struct's own fields (sizes, NULL lens or table; slots are the appends' own check);
 * the arrays' contents are checked on the call's copy by intfa_kv_check_arrays. */
intfa_status intfa_kv_check_seqs(const intfa_kv_cache *c, const intfa_kv_seqs *s);

/* The call's copy of the arrays: lengths (plus the new counts when cu_new is set: from 0, not
 * decreasing) within the table, every page the lengths need a page of the pool; for appends
 * (cu_new set) also slots in range and distinct and no page written by two sequences. fn names
 * the entry point. */
intfa_status intfa_kv_check_arrays(const char *fn, const intfa_kv_cache *c, const intfa_kv_seqs *s,
                                   const int32_t *table, const int32_t *lens, const int32_t *slots,
                                   const int32_t *cu_new);

/* Rows of one (sequence, K/V head): query tokens x heads per K/V head. */
int64_t intfa_kv_rows(const intfa_kv_cache *c, const intfa_kv_query *q);

/* Key splits of a decode call: the count (at least INTFA_KV_MIN_TILES_PER_SPLIT tiles each, at
 * most INTFA_KV_MAX_SPLITS) whose waves of blocks, resident_blocks at a time, take the least
 * time by a model of waves x (tiles per warp + 1); INTFA_KV_SPLITS in the environment
 * overrides (clamped the same way). Never more than the workspace's splits_cap for a table
 * holding max_len tokens. */
int64_t intfa_kv_decode_splits(int64_t batch, int64_t blocks_per_split, int64_t max_len,
                               int64_t resident_blocks);

/* The workspace of a call (query NULL: append only). Sized for the largest split count any
 * device could take with the table's capacity, so that one size serves every step of a
 * sequence's growth. */
intfa_status intfa_kv_plan_ws(const intfa_kv_cache *c, const intfa_kv_seqs *s,
                              const intfa_kv_query *q, intfa_kv_ws *w);

#endif
