/* ref_pf16.c - the pf16 algorithm for one head (INTFA_PQ_F16, templates/attn_fwd_wg16.cu):
 * INT8 scores as in ref_attention.c, P kept in 16 bits and multiplied by V unquantized. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__) && !defined(__STRICT_ANSI__)
#error "compile the reference in ISO C mode (-std=c11): GNU mode contracts to fma"
#endif
#include <assert.h>
#include <math.h>
#include <stdlib.h>

#include "intfa_ref.h"
#include "ref_tile.h"

void intfa_ref_attention_pf16_head(const int8_t *q8, const float *q_scale, const int8_t *k8,
                                   const float *k_scale, const float *v, int64_t ldv, int64_t nq,
                                   int64_t nkv, int d, float softmax_scale, int causal,
                                   intfa_dtype dtype, int block_n, float *out, float *lse)
{
    assert(d > 0 && block_n > 0 && nq >= 0 && nkv >= 0);
    if (softmax_scale == 0.0f)
        softmax_scale = 1.0f / sqrtf((float)d);
    const float c = softmax_scale * LOG2E_F;
    float *x = malloc((size_t)block_n * sizeof *x), *o = malloc((size_t)d * sizeof *o);
    if (!x || !o)
        abort(); /* reference code: out of memory is fatal */
    for (int64_t i = 0; i < nq; i++) {
        const int64_t last = intfa_ref_last_visible(i, nq, nkv, causal);
        const float a = q_scale[i] * c;
        float m = -INFINITY, l = 0.0f;
        for (int k = 0; k < d; k++)
            o[k] = 0.0f;
        for (int64_t t0 = 0; t0 <= last; t0 += block_n) {
            const float xmax = intfa_ref_tile_scores(q8 + i * d, k8, k_scale, d, t0, block_n, last, nkv, x);
            const float mt = xmax == -INFINITY ? -INFINITY : xmax * a;
            const float m_new = mt > m + INTFA_LAZY_TAU ? mt : m;
            const float m_use = m_new == -INFINITY ? 0.0f : m_new;
            const float alpha = m_new == m ? 1.0f : exp2f(m - m_use);
            m = m_new;
            l *= alpha;
            for (int k = 0; k < d; k++)
                o[k] *= alpha;
            for (int64_t jj = 0; jj < block_n && t0 + jj < nkv; jj++) {
                if (x[jj] == -INFINITY)
                    continue;
                const float p = exp2f(fmaf(x[jj], a, -m_use));
                const float p16 = intfa_ref_round_dtype(p, dtype);
                const float *vrow = v + (t0 + jj) * ldv;
                l += p;
                for (int k = 0; k < d; k++)
                    o[k] = fmaf(p16, vrow[k], o[k]);
            }
        }
        for (int k = 0; k < d; k++)
            out[i * d + k] = l > 0.0f ? o[k] / l : 0.0f;
        if (lse)
            lse[i] = l > 0.0f ? (m + log2f(l)) * LN2_F : -INFINITY;
    }
    free(x);
    free(o);
}
