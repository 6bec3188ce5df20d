/* test_reference_pf16.c - the pf16 reference (reference/ref_pf16.c; INTFA_PQ_F16: 8-bit Q/K,
 * P in 16 bits times V unquantized): one key gives V's row and the dequantized score; rows
 * that see no key give 0 and -inf; on N(0,1) inputs its error against exact attention is
 * within the bound and below pu8's on the same quantized Q/K (its only quantization is Q and
 * K's), in fp16 and bf16. CPU only. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "intfa_ref.h"

/* per-token INT8 Q/K alone give ~9e-3 on N(0,1) (docs/PERF_NOTES.md, "Accuracy floor");
 * bound ~1.5x */
#define BOUND_REL_L2 1.4e-2

static void fill(intfa_ref_rng *r, float *x, int64_t n, intfa_dtype dt)
{
    for (int64_t i = 0; i < n; i++) x[i] = intfa_ref_round_dtype((float)intfa_ref_normal(r), dt);
}

static void test_one_key(void **state)
{
    (void)state;
    enum { D = 64 };
    intfa_ref_rng r;
    intfa_ref_rng_seed(&r, 5);
    float q[D], k[D], v[D], qs, ks, out[D], lse;
    int8_t q8[D], k8[D];
    fill(&r, q, D, INTFA_DTYPE_FP16);
    fill(&r, k, D, INTFA_DTYPE_FP16);
    fill(&r, v, D, INTFA_DTYPE_FP16);
    intfa_ref_quantize_rows(q, 1, D, D, q8, &qs);
    intfa_ref_quantize_rows(k, 1, D, D, k8, &ks);
    for (int dt = 0; dt < 2; dt++) {
        intfa_ref_attention_pf16_head(q8, &qs, k8, &ks, v, D, 1, 1, D, 0.0f, 1, (intfa_dtype)dt, 128,
                                      out, &lse);
        int32_t s = 0;
        for (int t = 0; t < D; t++) {
            assert_true(out[t] == v[t]); /* p = 1 exactly, in every dtype */
            s += q8[t] * k8[t];
        }
        const double want = (double)s * qs * ks / sqrt((double)D);
        assert_true(fabs(lse - want) < 1e-5 * (1 + fabs(want)));
    }
}

static void test_rows_without_keys(void **state)
{
    (void)state;
    enum { D = 64, NQ = 20, NK = 5 };
    intfa_ref_rng r;
    intfa_ref_rng_seed(&r, 6);
    float q[NQ * D], k[NK * D], v[NK * D], qs[NQ], ks[NK], out[NQ * D], lse[NQ];
    int8_t q8[NQ * D], k8[NK * D];
    fill(&r, q, NQ * D, INTFA_DTYPE_FP16);
    fill(&r, k, NK * D, INTFA_DTYPE_FP16);
    fill(&r, v, NK * D, INTFA_DTYPE_FP16);
    intfa_ref_quantize_rows(q, NQ, D, D, q8, qs);
    intfa_ref_quantize_rows(k, NK, D, D, k8, ks);
    intfa_ref_attention_pf16_head(q8, qs, k8, ks, v, D, NQ, NK, D, 0.0f, 1, INTFA_DTYPE_FP16, 64, out, lse);
    for (int i = 0; i < NQ; i++) {
        const int sees = i + NK - NQ >= 0; /* bottom-right aligned */
        assert_true(sees ? isfinite(lse[i]) : (isinf(lse[i]) && lse[i] < 0));
        for (int t = 0; t < D; t++) assert_true(sees ? isfinite(out[i * D + t]) : out[i * D + t] == 0.0f);
    }
}

static void test_vs_exact_and_pu8(void **state)
{
    (void)state;
    static const int64_t ns[] = {17, 300, 1000};
    for (size_t ni = 0; ni < sizeof ns / sizeof ns[0]; ni++)
        for (int d = 64; d <= 128; d *= 2)
            for (int causal = 0; causal < 2; causal++)
                for (int dt = 0; dt < 2; dt++) {
                    const int64_t n = ns[ni], nd = n * d, npad = intfa_v_padded_len(n);
                    intfa_ref_rng r;
                    intfa_ref_rng_seed(&r, 40u + (uint64_t)ni * 8 + (uint64_t)d + (uint64_t)causal * 2 + (uint64_t)dt);
                    float *q = malloc((size_t)nd * 4), *k = malloc((size_t)nd * 4), *v = malloc((size_t)nd * 4);
                    float *qs = malloc((size_t)n * 4), *ks = malloc((size_t)n * 4), *vs = malloc((size_t)d * 4);
                    float *out = malloc((size_t)nd * 4), *lse = malloc((size_t)n * 4);
                    int8_t *q8 = malloc((size_t)nd), *k8 = malloc((size_t)nd), *vt = malloc((size_t)(d * npad));
                    double *ex = malloc((size_t)nd * 8), *exl = malloc((size_t)n * 8);
                    assert_true(q && k && v && qs && ks && vs && out && lse && q8 && k8 && vt && ex && exl);
                    fill(&r, q, nd, (intfa_dtype)dt);
                    fill(&r, k, nd, (intfa_dtype)dt);
                    fill(&r, v, nd, (intfa_dtype)dt);
                    intfa_ref_quantize_rows(q, n, d, d, q8, qs);
                    intfa_ref_quantize_rows(k, n, d, d, k8, ks);
                    intfa_ref_quantize_v(v, n, d, d, INTFA_VS_CHANNEL, vt, vs);
                    intfa_ref_attention_exact_head(q, d, k, d, v, d, n, n, d, 0.0, causal, ex, exl);
                    intfa_ref_metrics m16, m8;
                    intfa_ref_attention_pf16_head(q8, qs, k8, ks, v, d, n, n, d, 0.0f, causal, (intfa_dtype)dt,
                                                  128, out, lse);
                    intfa_ref_compare(out, ex, nd, &m16);
                    double lse_err = 0;
                    for (int64_t i = 0; i < n; i++) lse_err = fmax(lse_err, fabs(lse[i] - exl[i]));
                    intfa_ref_attention_quant_head(q8, qs, k8, ks, vt, vs, n, n, d, 0.0f, causal,
                                                   INTFA_PQ_U8_ROW, 128, out, lse);
                    intfa_ref_compare(out, ex, nd, &m8);
                    printf("  n %4lld d %3d causal %d %s: rel_l2 pf16 %.3e (lse %.1e), pu8 %.3e\n",
                           (long long)n, d, causal, dt ? "bf16" : "fp16", m16.rel_l2, lse_err, m8.rel_l2);
                    assert_int_equal(m16.nonfinite, 0);
                    assert_true(m16.rel_l2 < (n < 100 ? 2 * BOUND_REL_L2 : BOUND_REL_L2));
                    assert_true(lse_err < 0.05);
                    if (n >= 300) assert_true(m16.rel_l2 < m8.rel_l2);
                    free(q), free(k), free(v), free(qs), free(ks), free(vs), free(out), free(lse);
                    free(q8), free(k8), free(vt), free(ex), free(exl);
                }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_key),
        cmocka_unit_test(test_rows_without_keys),
        cmocka_unit_test(test_vs_exact_and_pu8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
