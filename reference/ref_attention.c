/* ref_attention.c - attention for one head: the exact quantized algorithm of
 * docs/ALGORITHM.md in fp32, operation by operation (the ground truth for the GPU kernels),
 * and exact attention in double (the ground truth for accuracy). */
/* No contraction of a * b + c into fma: the algorithm says where fmaf is used. GCC ignores
 * the STDC pragma but does not contract in ISO C mode (-std=c11, which CMake selects). */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__) && !defined(__STRICT_ANSI__)
#error "compile the reference in ISO C mode (-std=c11): GNU mode contracts to fma"
#endif
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "intfa_ref.h"
#include "ref_tile.h"

static int64_t ref_v_padded_len(int64_t n)
{
    return (n + 15) / 16 * 16;
}

int64_t intfa_ref_last_visible(int64_t i, int64_t nq, int64_t nkv, int causal)
{
    if (!causal)
        return nkv - 1;
    int64_t lim = i + (nkv - nq);
    return lim < nkv - 1 ? lim : nkv - 1;
}

/* PV[k] = sum_j pq[j] * v8[t0 + j][k] over the tile's keys (exact int32; the order of the
 * sum does not matter). vk holds V key-major, v8[j][k] = vk[j * d + k]. */
static void pv_tile(const int32_t *pq, const int8_t *vk, int64_t t0, int64_t tv, int d,
                    int32_t *pv)
{
    for (int k = 0; k < d; k++)
        pv[k] = 0;
    for (int64_t jj = 0; jj < tv; jj++) {
        if (pq[jj] == 0)
            continue;
        const int8_t *vrow = vk + (t0 + jj) * d;
        for (int k = 0; k < d; k++)
            pv[k] += pq[jj] * (int32_t)vrow[k];
    }
}

float intfa_ref_tile_scores(const int8_t *q8, const int8_t *k8, const float *k_scale, int d,
                            int64_t t0, int64_t tn, int64_t last, int64_t nkv, float *x)
{
    float xmax = -INFINITY;
    for (int64_t jj = 0; jj < tn; jj++) {
        int64_t j = t0 + jj;
        if (j <= last && j < nkv) {
            int32_t s = 0;
            for (int k = 0; k < d; k++)
                s += (int32_t)q8[k] * (int32_t)k8[j * d + k];
            x[jj] = (float)s * k_scale[j];
        } else {
            x[jj] = -INFINITY;
        }
        xmax = fmaxf(xmax, x[jj]);
    }
    return xmax;
}

void intfa_ref_tile_pu8(const float *x, int64_t tn, float xmax, float a, float *m, int32_t *pq,
                        float *alpha, float *beta, int32_t *psum)
{
    const float mt = xmax == -INFINITY ? -INFINITY : xmax * a;
    /* the reference maximum moves lazily: only when the tile's maximum exceeds it by more than
     * INTFA_LAZY_TAU (P is scaled by the tile's own maximum anyway) */
    const float m_new = mt > *m + INTFA_LAZY_TAU ? mt : *m;
    const float m_use = m_new == -INFINITY ? 0.0f : m_new, mt_use = mt == -INFINITY ? 0.0f : mt;
    *alpha = m_new == *m ? 1.0f : exp2f(*m - m_use);
    *psum = 0;
    for (int64_t jj = 0; jj < tn; jj++) {
        float pj = x[jj] == -INFINITY ? 0.0f : exp2f(fmaf(x[jj], a, -mt_use));
        pq[jj] = (int32_t)(fmaf(pj, 255.0f, RINT_MAGIC) - RINT_MAGIC);
        *psum += pq[jj];
    }
    *beta = mt == -INFINITY ? 0.0f : exp2f(mt - m_use) * (1.0f / 255.0f);
    *m = m_new;
}

/* One query row of the quantized algorithm. x, p and pq are scratch of block_n entries, pv
 * and o of d entries; vk is V key-major (see pv_tile). */
static void quant_row(const int8_t *q8, float q_scale, const int8_t *k8, const float *k_scale,
                      const int8_t *vk, const float *v_scale, int64_t nkv, int d, float c,
                      int64_t last, intfa_p_quant pqmode, int block_n, float *x, float *p,
                      int32_t *pq, int32_t *pv, float *o, float *out, float *lse)
{
    float a = q_scale * c;
    float m = -INFINITY, l = 0.0f;
    for (int k = 0; k < d; k++)
        o[k] = 0.0f;
    /* tiles up to the last one holding a visible key; visibility is a prefix of the keys,
     * so every earlier tile holds one too */
    for (int64_t t0 = 0; t0 <= last; t0 += block_n) {
        int64_t tn = block_n, tv = nkv - t0 < tn ? nkv - t0 : tn; /* keys of V in the tile */
        const float xmax = intfa_ref_tile_scores(q8, k8, k_scale, d, t0, tn, last, nkv, x);
        if (pqmode == INTFA_PQ_U8_ROW) {
            float alpha, beta;
            int32_t psum;
            intfa_ref_tile_pu8(x, tn, xmax, a, &m, pq, &alpha, &beta, &psum);
            pv_tile(pq, vk, t0, tv, d, pv);
            for (int k = 0; k < d; k++)
                o[k] = fmaf((float)pv[k], beta, o[k] * alpha);
            l = fmaf((float)psum, beta, l * alpha);
        } else {
            /* ps8: P quantized against the running maximum itself */
            float mt = xmax == -INFINITY ? -INFINITY : xmax * a;
            float m_new = fmaxf(m, mt);
            float m_use = m_new == -INFINITY ? 0.0f : m_new;
            float alpha = m_new == m ? 1.0f : exp2f(m - m_use);
            float psum = 0.0f; /* fp32, keys in increasing order */
            for (int64_t jj = 0; jj < tn; jj++) {
                p[jj] = x[jj] == -INFINITY ? 0.0f : exp2f(fmaf(x[jj], a, -m_use));
                pq[jj] = (int32_t)(fmaf(p[jj], 127.0f, RINT_MAGIC) - RINT_MAGIC);
                psum += p[jj];
            }
            pv_tile(pq, vk, t0, tv, d, pv);
            for (int k = 0; k < d; k++)
                o[k] = fmaf((float)pv[k], 1.0f / 127.0f, o[k] * alpha);
            l = l * alpha + psum;
            m = m_new;
        }
    }
    for (int k = 0; k < d; k++)
        out[k] = l > 0.0f ? o[k] * v_scale[k] / l : 0.0f;
    if (lse)
        *lse = l > 0.0f ? (m + log2f(l)) * LN2_F : -INFINITY;
}

void intfa_ref_attention_quant_head(const int8_t *q8, const float *q_scale, const int8_t *k8,
                                    const float *k_scale, const int8_t *vt,
                                    const float *v_scale, int64_t nq, int64_t nkv, int d,
                                    float softmax_scale, int causal, intfa_p_quant pq,
                                    int block_n, float *out, float *lse)
{
    assert(d > 0 && block_n > 0 && nq >= 0 && nkv >= 0);
    if (softmax_scale == 0.0f)
        softmax_scale = 1.0f / sqrtf((float)d); /* fp32, as the host computes it */
    float c = softmax_scale * LOG2E_F;
    int64_t n_pad = ref_v_padded_len(nkv);
    size_t bn = (size_t)block_n;
    float *x = malloc(bn * sizeof *x), *p = malloc(bn * sizeof *p);
    int32_t *pqs = malloc(bn * sizeof *pqs), *pv = malloc((size_t)d * sizeof *pv);
    float *o = malloc((size_t)d * sizeof *o);
    int8_t *vk = malloc((size_t)(nkv * d) + 1);
    if (!x || !p || !pqs || !pv || !o || !vk)
        abort(); /* reference code: out of memory is fatal */
    /* V back to key-major from the documented layout: v8[j][k] = vt[k][slot(j)] */
    for (int64_t j = 0; j < nkv; j++) {
        int64_t s = intfa_ref_v_slot(j);
        for (int k = 0; k < d; k++)
            vk[j * d + k] = vt[(int64_t)k * n_pad + s];
    }
    for (int64_t i = 0; i < nq; i++)
        quant_row(q8 + i * d, q_scale[i], k8, k_scale, vk, v_scale, nkv, d, c,
                  intfa_ref_last_visible(i, nq, nkv, causal), pq, block_n, x, p, pqs, pv, o, out + i * d,
                  lse ? lse + i : NULL);
    free(x);
    free(p);
    free(pqs);
    free(vk);
    free(pv);
    free(o);
}

void intfa_ref_attention_exact_head(const float *q, int64_t ldq, const float *k, int64_t ldk,
                                    const float *v, int64_t ldv, int64_t nq, int64_t nkv, int d,
                                    double softmax_scale, int causal, double *out, double *lse)
{
    if (softmax_scale == 0.0)
        softmax_scale = 1.0 / sqrt((double)d);
    double *s = malloc((size_t)(nkv > 0 ? nkv : 1) * sizeof *s);
    if (!s)
        abort();
    for (int64_t i = 0; i < nq; i++) {
        const float *qi = q + i * ldq;
        double *oi = out + i * d;
        int64_t last = intfa_ref_last_visible(i, nq, nkv, causal);
        for (int t = 0; t < d; t++)
            oi[t] = 0.0;
        if (last < 0) {
            if (lse)
                lse[i] = -INFINITY;
            continue;
        }
        double mx = -INFINITY;
        for (int64_t j = 0; j <= last; j++) {
            const float *kj = k + j * ldk;
            double dot = 0.0;
            for (int t = 0; t < d; t++)
                dot += (double)qi[t] * (double)kj[t];
            s[j] = dot * softmax_scale;
            mx = fmax(mx, s[j]);
        }
        double sum = 0.0;
        for (int64_t j = 0; j <= last; j++) {
            double e = exp(s[j] - mx);
            const float *vj = v + j * ldv;
            sum += e;
            for (int t = 0; t < d; t++)
                oi[t] += e * (double)vj[t];
        }
        for (int t = 0; t < d; t++)
            oi[t] /= sum;
        if (lse)
            lse[i] = mx + log(sum);
    }
    free(s);
}
