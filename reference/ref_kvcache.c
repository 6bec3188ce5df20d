/* ref_kvcache.c - the paged INT8 KV cache of one (sequence, K/V head) and attention over it:
 * the contract for issue 17's append and decode kernels (docs/DECODE.md). K is quantized per
 * token when it is appended; V per (page, channel) when its page fills, the last page's V kept
 * in fp32 until then (the staging page) and quantized by the same rule whenever it is read. So
 * the cache's contents, and any attention over them, depend only on the tokens, not on how they
 * were appended. */
/* No contraction of a * b + c into fma (see ref_attention.c). */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__) && !defined(__STRICT_ANSI__)
#error "compile the reference in ISO C mode (-std=c11): GNU mode contracts to fma"
#endif
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "intfa_ref.h"
#include "ref_tile.h"

int intfa_ref_kv_cache_init(intfa_ref_kv_cache *c, int d, int page_size, int max_pages)
{
    memset(c, 0, sizeof *c);
    if (d <= 0 || page_size <= 0 || page_size % 16 || max_pages <= 0) return -1;
    c->d = d;
    c->page_size = page_size;
    c->max_pages = max_pages;
    const size_t tokens = (size_t)page_size * (size_t)max_pages;
    c->k8 = calloc(tokens * (size_t)d, 1);
    c->k_scale = calloc(tokens, sizeof *c->k_scale);
    c->vt = calloc(tokens * (size_t)d, 1);
    c->v_scale = calloc((size_t)max_pages * (size_t)d, sizeof *c->v_scale);
    c->v_stage = calloc((size_t)page_size * (size_t)d, sizeof *c->v_stage);
    if (!c->k8 || !c->k_scale || !c->vt || !c->v_scale || !c->v_stage) {
        intfa_ref_kv_cache_free(c);
        return -1;
    }
    return 0;
}

void intfa_ref_kv_cache_free(intfa_ref_kv_cache *c)
{
    free(c->k8);
    free(c->k_scale);
    free(c->vt);
    free(c->v_scale);
    free(c->v_stage);
    memset(c, 0, sizeof *c);
}

int intfa_ref_kv_append(intfa_ref_kv_cache *c, const float *k, const float *v, int64_t n,
                        int64_t ld)
{
    const int d = c->d, ps = c->page_size;
    if (n < 0 || c->len + n > (int64_t)ps * c->max_pages) return -1; /* nothing appended */
    for (int64_t i = 0; i < n; ++i) {
        const int64_t t = c->len + i, page = t / ps;
        const int slot = (int)(t % ps);
        intfa_ref_quantize_rows(k + i * ld, 1, ld, d, c->k8 + t * d, c->k_scale + t);
        memcpy(c->v_stage + (int64_t)slot * d, v + i * ld, (size_t)d * sizeof(float));
        if (slot == ps - 1) /* the page is full: its V gets its scales and leaves the stage */
            intfa_ref_quantize_v(c->v_stage, ps, d, d, INTFA_VS_CHANNEL, c->vt + page * ps * d,
                                 c->v_scale + page * d);
    }
    c->len += n;
    return 0;
}

/* Page p's V as read: vt [d][page_size] (permuted keys) and scale [d]; the staging page is
 * quantized into the caller's buffers by the same rule. */
static void page_v(const intfa_ref_kv_cache *c, int64_t p, int8_t *stage_vt, float *stage_scale,
                   const int8_t **vt, const float **scale)
{
    const int64_t full = c->len / c->page_size;
    if (p < full) {
        *vt = c->vt + p * c->page_size * c->d;
        *scale = c->v_scale + p * c->d;
        return;
    }
    /* quantize_v's rows are the tokens' count padded to 16 long: widen them to page_size */
    const int64_t n = c->len - full * c->page_size, n_pad = (n + 15) / 16 * 16;
    int8_t *rows = stage_vt + (int64_t)c->page_size * c->d; /* scratch after the page */
    intfa_ref_quantize_v(c->v_stage, n, c->d, c->d, INTFA_VS_CHANNEL, rows, stage_scale);
    memset(stage_vt, 0, (size_t)c->page_size * (size_t)c->d);
    for (int e = 0; e < c->d; ++e) memcpy(stage_vt + (int64_t)e * c->page_size, rows + e * n_pad, (size_t)n_pad);
    *vt = stage_vt;
    *scale = stage_scale;
}

void intfa_ref_attention_paged(const int8_t *q8, const float *q_scale, const intfa_ref_kv_cache *c,
                               int64_t nq, float softmax_scale, int causal, int block_n,
                               float *out, float *lse)
{
    const int d = c->d, ps = c->page_size;
    const int64_t nkv = c->len;
    if (softmax_scale == 0.0f) softmax_scale = 1.0f / sqrtf((float)d);
    const float cst = softmax_scale * LOG2E_F;
    float *x = malloc((size_t)block_n * sizeof *x), *o = malloc((size_t)d * sizeof *o);
    int32_t *pq = malloc((size_t)block_n * sizeof *pq), *pv = malloc((size_t)d * sizeof *pv);
    int8_t *stage_vt = malloc(2 * (size_t)ps * (size_t)d + 1); /* the page, then scratch */
    float *stage_scale = malloc((size_t)d * sizeof *stage_scale);
    if (!x || !o || !pq || !pv || !stage_vt || !stage_scale) abort(); /* reference code */
    for (int64_t i = 0; i < nq; ++i) {
        const int64_t last = causal ? (i + nkv - nq < nkv - 1 ? i + nkv - nq : nkv - 1) : nkv - 1;
        const float a = q_scale[i] * cst;
        float m = -INFINITY, l = 0.0f;
        for (int j = 0; j < d; ++j) o[j] = 0.0f;
        for (int64_t t0 = 0; t0 <= last; t0 += block_n) {
            const float xmax = intfa_ref_tile_scores(q8 + i * d, c->k8, c->k_scale, d, t0, block_n, last, nkv, x);
            float alpha, beta;
            int32_t psum;
            intfa_ref_tile_pu8(x, block_n, xmax, a, &m, pq, &alpha, &beta, &psum);
            for (int e = 0; e < d; ++e) o[e] = o[e] * alpha;
            /* P.V page by page within the tile, each with its own V scales (a tile may start
             * inside a page, block_n < page_size, or span several, block_n > page_size) */
            for (int64_t p0 = t0; p0 < t0 + block_n && p0 < nkv; p0 = (p0 / ps + 1) * ps) {
                const int64_t base = p0 / ps * ps;
                const int8_t *vt;
                const float *vs;
                page_v(c, p0 / ps, stage_vt, stage_scale, &vt, &vs);
                for (int e = 0; e < d; ++e) {
                    pv[e] = 0;
                    for (int64_t j = p0; j < base + ps && j < nkv && j - t0 < block_n; ++j)
                        pv[e] += pq[j - t0] * (int32_t)vt[(int64_t)e * ps + intfa_ref_v_slot(j - base)];
                    o[e] = fmaf((float)pv[e], beta * vs[e], o[e]);
                }
            }
            l = fmaf((float)psum, beta, l * alpha);
        }
        for (int e = 0; e < d; ++e) out[i * d + e] = l > 0.0f ? o[e] / l : 0.0f;
        if (lse) lse[i] = l > 0.0f ? (m + log2f(l)) * LN2_F : -INFINITY;
    }
    free(x);
    free(o);
    free(pq);
    free(pv);
    free(stage_vt);
    free(stage_scale);
}
