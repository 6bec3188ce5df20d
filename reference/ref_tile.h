/* ref_tile.h - the per-key-tile steps of the quantized algorithm (docs/ALGORITHM.md), shared by
 * the reference's batched attention (ref_attention.c) and its paged KV cache (ref_kvcache.c).
 * Internal to reference/. */
#ifndef INTFA_REF_TILE_H
#define INTFA_REF_TILE_H

#include <stdint.h>

#define LOG2E_F 1.44269504088896340736f
#define LN2_F 0.69314718055994530942f
#define RINT_MAGIC 12582912.0f /* 1.5 * 2^23: x + magic - magic rounds x >= 0 to an integer */

/* Index of the last key query i sees, or -1 (bottom-right aligned causal mask). */
int64_t intfa_ref_last_visible(int64_t i, int64_t nq, int64_t nkv, int causal);

/* x[jj] = S * k_scale of keys t0 + jj (jj < tn) for query row q8[d], -inf for keys past last
 * or nkv (k8 key-major [nkv][d]); returns the tile's maximum. */
float intfa_ref_tile_scores(const int8_t *q8, const int8_t *k8, const float *k_scale, int d,
                            int64_t t0, int64_t tn, int64_t last, int64_t nkv, float *x);

/* pu8 for one tile of scores x[tn] (maximum xmax) of a row with a = q_scale * c: P quantized
 * against the tile's maximum into pq[tn] (psum their sum), the lazy reference maximum *m moved
 * (INTFA_LAZY_TAU), alpha what O and l are multiplied by, beta the weight of this tile's P.V. */
void intfa_ref_tile_pu8(const float *x, int64_t tn, float xmax, float a, float *m, int32_t *pq,
                        float *alpha, float *beta, int32_t *psum);

#endif
