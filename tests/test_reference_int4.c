/* test_reference_int4.c - the reference's INT4 Q/K and K smoothing (reference/ref_int4.c,
 * ref_smooth.c, intfa_ref_quantize_rows_ex): exact quantized values (the bounds of both formats
 * are in test_reference.c, test_quantize_rows), the nibble layout, the mean and the LSE bias,
 * the softmax invariance that smoothing relies on, and the accuracy of the whole INT4 pipeline
 * against exact attention with and without smoothing (measured values printed;
 * INTFA_TEST_MEASURE=1 prints and skips the bounds). CPU only. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "intfa_ref.h"

/* Accuracy bounds of the INT4 pipeline (per-token INT4 Q and K, V per channel, pu8, block_n
 * 64) against exact attention, single head, N_q = N_kv = 256, d 64 and 128, causal or not
 * (every value printed by test_int4_accuracy).
 * N(0,1) inputs: output rel L2 measured 1.28e-1 .. 1.73e-1 (INT8: ~1.2e-2), cosine >= 0.985,
 * the same with smoothing (it changes nothing much here). Bounds ~1.5x / half the distance
 * of the cosine to 1 beyond the measured. */
#define BOUND_INT4_NORMAL_REL_L2 0.25
#define BOUND_INT4_NORMAL_COSINE 0.97
/* K with channel offsets (4 channels at +-(8..16), the same for every token, plus N(0,1)):
 * without smoothing the offsets take the whole INT4 range and the other channels mostly round
 * to 0: measured rel L2 0.46 .. 0.56, cosine 0.86 .. 0.91 (scores cosine 0.96 .. 0.98). With
 * smoothing the offsets are gone: rel L2 0.13 .. 0.16, cosine 0.987 .. 0.992 (scores 0.997 ..
 * 0.999), as on N(0,1) data. (SageAttention2 reports 80% -> 99.5% on real K.) */
#define BOUND_INT4_SMOOTH_OUTLIER_REL_L2 0.25
#define BOUND_INT4_SMOOTH_OUTLIER_COSINE 0.97

static void fill_normal(intfa_ref_rng *r, float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = intfa_ref_round_dtype((float)intfa_ref_normal(r), INTFA_DTYPE_FP16);
}

/* ------------------------------------------------------------------ quantization */

static void test_int4_exact_values(void **state)
{
    (void)state;
    /* amax 7: scale 1, inv 1; rint rounds half to even */
    const float x[8] = {7.0f, -3.5f, 0.5f, 1.5f, 2.5f, -0.49f, -7.0f, 6.5f};
    const int8_t want[8] = {7, -4, 0, 2, 2, 0, -7, 6};
    int8_t q[8];
    float s;
    intfa_ref_quantize_rows_ex(x, 1, 8, 8, INTFA_FMT_INT4, NULL, q, &s);
    assert_true(s == 1.0f);
    assert_memory_equal(q, want, 8);
    /* amax 3.5: scale 0.5, inv 2 */
    const float y[4] = {-3.5f, 1.25f, 0.75f, 0.2f};
    const int8_t want_y[4] = {-7, 2, 2, 0}; /* 2.5 -> 2, 1.5 -> 2, 0.4 -> 0 */
    intfa_ref_quantize_rows_ex(y, 1, 4, 4, INTFA_FMT_INT4, NULL, q, &s);
    assert_true(s == 0.5f);
    assert_memory_equal(q, want_y, 4);
    /* a zero row: scale 0, values 0 */
    const float z[4] = {0};
    memset(q, 1, sizeof q);
    intfa_ref_quantize_rows_ex(z, 1, 4, 4, INTFA_FMT_INT4, NULL, q, &s);
    assert_true(s == 0.0f);
    for (int j = 0; j < 4; j++)
        assert_int_equal(q[j], 0);
    /* subtracting: x - sub = {4, -2, 1, 0}: amax 4, scale 4/7, inv 7/4 */
    const float xs[4] = {5.0f, -1.0f, 3.0f, 2.0f}, sub[4] = {1.0f, 1.0f, 2.0f, 2.0f};
    const int8_t want_s[4] = {7, -4, 2, 0}; /* -3.5 -> -4, 1.75 -> 2 */
    intfa_ref_quantize_rows_ex(xs, 1, 4, 4, INTFA_FMT_INT4, sub, q, &s);
    assert_true(s == 4.0f / 7.0f);
    assert_memory_equal(q, want_s, 4);
    assert_int_equal(intfa_ref_qk_max(INTFA_FMT_INT4), 7);
    assert_int_equal(intfa_ref_qk_max(INTFA_FMT_INT8), 127);
}

static void test_pack_unpack(void **state)
{
    (void)state;
    /* the layout: element 2j low nibble, 2j + 1 high nibble, two's complement */
    const int8_t q[6] = {1, -1, -8, 7, 0, -7};
    uint8_t packed[3];
    intfa_ref_pack_int4(q, 6, packed);
    assert_int_equal(packed[0], 0xF1);
    assert_int_equal(packed[1], 0x78);
    assert_int_equal(packed[2], 0x90);
    /* every byte unpacks and packs back; every pair of values packs and unpacks back */
    uint8_t all[256], back[256];
    int8_t vals[512];
    for (int b = 0; b < 256; b++)
        all[b] = (uint8_t)b;
    intfa_ref_unpack_int4(all, 512, vals);
    for (int i = 0; i < 512; i++)
        assert_true(vals[i] >= -8 && vals[i] <= 7);
    intfa_ref_pack_int4(vals, 512, back);
    assert_memory_equal(all, back, 256);
    for (int b = 0; b < 256; b++) {
        assert_int_equal(vals[2 * b], (b & 15) >= 8 ? (b & 15) - 16 : (b & 15));
        assert_int_equal(vals[2 * b + 1], (b >> 4) >= 8 ? (b >> 4) - 16 : (b >> 4));
    }
    /* a quantized row survives the round trip */
    enum { D = 64 };
    float x[D], s;
    int8_t qa[D], qb[D];
    uint8_t p[D / 2];
    intfa_ref_rng r;
    intfa_ref_rng_seed(&r, 5);
    fill_normal(&r, x, D);
    intfa_ref_quantize_rows_ex(x, 1, D, D, INTFA_FMT_INT4, NULL, qa, &s);
    intfa_ref_pack_int4(qa, D, p);
    intfa_ref_unpack_int4(p, D, qb);
    assert_memory_equal(qa, qb, D);
}

static void test_mean_and_bias(void **state)
{
    (void)state;
    /* 3 rows of 2 (row stride 3: the third column is ignored) */
    const float x[9] = {1.0f, -2.0f, 100.0f, 2.0f, 4.0f, 100.0f, 4.0f, 1.0f, 100.0f};
    float mean[2] = {9, 9};
    intfa_ref_mean_rows(x, 3, 3, 2, mean);
    assert_true(mean[0] == (float)(7.0 / 3.0));
    assert_true(mean[1] == 1.0f);
    intfa_ref_mean_rows(x, 0, 3, 2, mean);
    assert_true(mean[0] == 0.0f && mean[1] == 0.0f);
    /* double sums: 1e8 + 1 - 1e8 in float would lose the 1 */
    const float big[3] = {1e8f, 1.0f, -1e8f};
    intfa_ref_mean_rows(big, 3, 1, 1, mean);
    assert_true(mean[0] == (float)(1.0 / 3.0));

    const float q[4] = {1.0f, 2.0f, -1.0f, 0.5f}, m[2] = {0.5f, -0.25f};
    float bias[2];
    intfa_ref_lse_bias(q, 2, 2, 2, m, 2.0f, bias);
    assert_true(bias[0] == 0.0f);   /* 2 * (0.5 - 0.5) */
    assert_true(bias[1] == -1.25f); /* 2 * (-0.5 - 0.125) */
    intfa_ref_lse_bias(q, 1, 2, 2, m, 0.0f, bias); /* 0: 1/sqrt(2) */
    assert_true(bias[0] == 0.0f);
    const float q2[2] = {1.0f, 0.0f};
    intfa_ref_lse_bias(q2, 1, 2, 2, m, 0.0f, bias);
    assert_true(bias[0] == (float)((double)(1.0f / sqrtf(2.0f)) * 0.5));
}

/* ------------------------------------------------------------------ smoothing invariance */

/* Exact attention of one head on K and on K - mean(K): the outputs agree to 1e-12 and the
 * LSEs differ by the bias. On a grid (values multiples of 1/64, N = 64 keys) the mean and
 * K - mean are exact in fp32, so the two problems are exactly the same softmax. */
static void test_smoothing_invariance(void **state)
{
    (void)state;
    enum { NQ = 48, NK = 64, D = 64 };
    float *q = malloc(NQ * D * sizeof *q), *k = malloc(NK * D * sizeof *k);
    float *ks = malloc(NK * D * sizeof *ks), *v = malloc(NK * D * sizeof *v);
    double *o1 = malloc(NQ * D * sizeof *o1), *o2 = malloc(NQ * D * sizeof *o2);
    double lse1[NQ], lse2[NQ];
    float mean[D], bias[NQ];
    intfa_ref_rng r;
    intfa_ref_rng_seed(&r, 8);
    for (int grid = 1; grid >= 0; grid--) {
        for (int i = 0; i < NQ * D; i++)
            q[i] = grid ? (float)floor(64.0 * intfa_ref_normal(&r)) / 64.0f : (float)intfa_ref_normal(&r);
        for (int i = 0; i < NK * D; i++) {
            const double c = (i % D) % 8 == 3 ? 6.0 : 0.0; /* channels with an offset */
            k[i] = grid ? (float)floor(64.0 * (c + intfa_ref_normal(&r))) / 64.0f
                        : (float)(c + intfa_ref_normal(&r));
            v[i] = (float)intfa_ref_normal(&r);
        }
        intfa_ref_mean_rows(k, NK, D, D, mean);
        for (int i = 0; i < NK * D; i++)
            ks[i] = k[i] - mean[i % D];
        intfa_ref_lse_bias(q, NQ, D, D, mean, 0.0f, bias);
        for (int causal = 0; causal < 2; causal++) {
            intfa_ref_attention_exact_head(q, D, k, D, v, D, NQ, NK, D, 0.0, causal, o1, lse1);
            intfa_ref_attention_exact_head(q, D, ks, D, v, D, NQ, NK, D, 0.0, causal, o2, lse2);
            double out_diff = 0.0, lse_diff = 0.0;
            for (int i = 0; i < NQ * D; i++)
                out_diff = fmax(out_diff, fabs(o1[i] - o2[i]));
            for (int i = 0; i < NQ; i++) {
                /* the bias is q . mean in double, rounded to float: exact to 2^-24 relative */
                const double exact = (double)bias[i];
                lse_diff = fmax(lse_diff, fabs(lse1[i] - lse2[i] - exact) - fabs(exact) * 0x1p-23);
            }
            printf("smoothing, exact attention, %s data, causal %d: max |out diff| %.2e, "
                   "max |lse diff - bias| %.2e\n", grid ? "grid" : "random", causal, out_diff,
                   lse_diff);
            if (grid) {
                assert_true(out_diff < 1e-12);
                assert_true(lse_diff < 1e-12);
            } else { /* K - mean rounded to fp32: scores move by ~1e-7 */
                assert_true(out_diff < 1e-5);
                assert_true(lse_diff < 1e-5);
            }
        }
    }
    free(q);
    free(k);
    free(ks);
    free(v);
    free(o1);
    free(o2);
}

/* ------------------------------------------------------------------ accuracy */

typedef struct pipe_result {
    double rel_l2, cosine; /* output against exact */
    double lse_max;        /* max |lse - lse_exact| (with the bias added when smoothing) */
    double s_cosine;       /* cosine of the dequantized scores q_hat . k_hat (+ q . mean) against
                              the exact scores q . k, over all pairs */
} pipe_result;

/* The quantized pipeline on one head: Q and K per token in fmt (K smoothed when asked), V per
 * channel, pu8, block_n 64; compared with exact attention on the same inputs. */
static void run_pipeline(const float *q, const float *k, const float *v, int64_t n, int d,
                         int causal, intfa_format fmt, int smooth, pipe_result *res)
{
    const int64_t npad = (n + 15) / 16 * 16;
    int8_t *q8 = malloc((size_t)(n * d)), *k8 = malloc((size_t)(n * d));
    int8_t *vt = malloc((size_t)(npad * d));
    float *qs = malloc((size_t)n * 4), *ks = malloc((size_t)n * 4), vs[128], mean[128];
    float *out = malloc((size_t)(n * d) * 4), *lse = malloc((size_t)n * 4), *bias = malloc((size_t)n * 4);
    double *ex = malloc((size_t)(n * d) * 8), *exlse = malloc((size_t)n * 8);
    intfa_ref_mean_rows(k, n, d, d, mean);
    intfa_ref_quantize_rows_ex(q, n, d, d, fmt, NULL, q8, qs);
    intfa_ref_quantize_rows_ex(k, n, d, d, fmt, smooth ? mean : NULL, k8, ks);
    intfa_ref_quantize_v(v, n, d, d, INTFA_VS_CHANNEL, vt, vs);
    intfa_ref_lse_bias(q, n, d, d, mean, 0.0f, bias);
    intfa_ref_attention_quant_head(q8, qs, k8, ks, vt, vs, n, n, d, 0.0f, causal,
                                   INTFA_PQ_U8_ROW, 64, out, lse);
    intfa_ref_attention_exact_head(q, d, k, d, v, d, n, n, d, 0.0, causal, ex, exlse);
    intfa_ref_metrics m;
    intfa_ref_compare(out, ex, n * d, &m);
    res->rel_l2 = m.rel_l2;
    res->cosine = m.cosine;
    res->lse_max = 0.0;
    for (int64_t i = 0; i < n; i++)
        res->lse_max = fmax(res->lse_max, fabs(lse[i] + (smooth ? bias[i] : 0.0f) - exlse[i]));
    double dot = 0, sa = 0, sb = 0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) {
            double exact = 0, got = 0;
            for (int t = 0; t < d; t++) {
                exact += (double)q[i * d + t] * k[j * d + t];
                got += (double)q8[i * d + t] * k8[j * d + t];
            }
            got = got * qs[i] * ks[j] + (smooth ? bias[i] * sqrt((double)d) : 0.0);
            dot += exact * got;
            sa += exact * exact;
            sb += got * got;
        }
    res->s_cosine = dot / sqrt(sa * sb);
    free(q8); free(k8); free(vt); free(qs); free(ks); free(out); free(lse); free(bias);
    free(ex); free(exlse);
}

/* Inputs of one accuracy case: N(0,1) Q, K, V (fp16 values); with channel_offsets, 4 channels
 * of K get an offset of +-(8..16) shared by all tokens (the channel bias of LLM keys). */
static void make_case(uint64_t seed, int64_t n, int d, int channel_offsets, float *q, float *k,
                      float *v)
{
    intfa_ref_rng r;
    intfa_ref_rng_seed(&r, seed);
    fill_normal(&r, q, n * d);
    fill_normal(&r, k, n * d);
    fill_normal(&r, v, n * d);
    if (!channel_offsets)
        return;
    for (int c = 0; c < 4; c++) {
        const int ch = (5 + c * (d / 4)) % d;
        const double off = (c & 1 ? -1.0 : 1.0) * (8.0 + 8.0 * intfa_ref_uniform(&r));
        for (int64_t i = 0; i < n; i++)
            k[i * d + ch] = intfa_ref_round_dtype((float)(k[i * d + ch] + off), INTFA_DTYPE_FP16);
    }
}

static void test_int4_accuracy(void **state)
{
    (void)state;
    enum { N = 256 };
    const int measure_only = getenv("INTFA_TEST_MEASURE") != NULL;
    float *q = malloc(N * 128 * 4), *k = malloc(N * 128 * 4), *v = malloc(N * 128 * 4);
    for (int outl = 0; outl < 2; outl++)
        for (int d = 64; d <= 128; d *= 2)
            for (int causal = 0; causal < 2; causal++) {
                make_case(300u + (uint64_t)(d + 2 * outl + causal), N, d, outl, q, k, v);
                pipe_result r[2][2]; /* [fmt][smooth] */
                for (int fmt = 0; fmt < 2; fmt++)
                    for (int sm = 0; sm < 2; sm++)
                        run_pipeline(q, k, v, N, d, causal, (intfa_format)fmt, sm, &r[fmt][sm]);
                for (int fmt = 0; fmt < 2; fmt++)
                    for (int sm = 0; sm < 2; sm++)
                        printf("%-15s d %3d causal %d %s%-7s: out rel_l2 %.3e cosine %.5f  "
                               "lse %.3e  scores cosine %.5f\n",
                               outl ? "K chan offsets" : "N(0,1)", d, causal,
                               fmt ? "int4" : "int8", sm ? "+smooth" : "", r[fmt][sm].rel_l2,
                               r[fmt][sm].cosine, r[fmt][sm].lse_max, r[fmt][sm].s_cosine);
                if (measure_only)
                    continue;
                /* INT4 is coarser than INT8: the test would notice INT4 quietly being INT8 */
                assert_true(r[1][0].rel_l2 > 2.0 * r[0][0].rel_l2);
                /* smoothing is a change of the quantized problem only: on plain data it
                 * neither helps nor hurts much; with channel offsets it must help */
                const pipe_result *s4 = &r[1][1], *p4 = &r[1][0];
                if (!outl) {
                    assert_true(p4->rel_l2 < BOUND_INT4_NORMAL_REL_L2);
                    assert_true(p4->cosine > BOUND_INT4_NORMAL_COSINE);
                    assert_true(s4->rel_l2 < BOUND_INT4_NORMAL_REL_L2);
                    assert_true(s4->cosine > BOUND_INT4_NORMAL_COSINE);
                } else {
                    assert_true(s4->rel_l2 < BOUND_INT4_SMOOTH_OUTLIER_REL_L2);
                    assert_true(s4->cosine > BOUND_INT4_SMOOTH_OUTLIER_COSINE);
                    assert_true(s4->rel_l2 < 0.5 * p4->rel_l2);
                    assert_true(s4->cosine > p4->cosine);
                    assert_true(s4->s_cosine > p4->s_cosine);
                    assert_true(r[0][1].rel_l2 <= r[0][0].rel_l2); /* INT8 too */
                }
            }
    free(q);
    free(k);
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_int4_exact_values),   cmocka_unit_test(test_pack_unpack),
        cmocka_unit_test(test_mean_and_bias),
        cmocka_unit_test(test_smoothing_invariance), cmocka_unit_test(test_int4_accuracy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
