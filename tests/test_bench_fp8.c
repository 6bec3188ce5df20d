/* test_bench_fp8.c - the FP8 yardstick of intfa-bench (reference/ref_fp8.c): e4m3 conversion
 * on known values (448, subnormals, ties, saturation, NaN), against a brute-force nearest-code
 * search, and the simulated FP8 attention against exact attention within a stated bound. */
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

static void test_e4m3_known(void **state)
{
    (void)state;
    static const struct {
        float x;
        uint8_t code;
    } known[] = {
        {0.0f, 0x00},          {1.0f, 0x38},           {-1.0f, 0xb8},        {1.5f, 0x3c},
        {448.0f, 0x7e},        {-448.0f, 0xfe},        {416.0f, 0x7d},       {256.0f, 0x78},
        {240.0f, 0x77},        {0x1p-6f, 0x08},        {0x1p-9f, 0x01},      {7 * 0x1p-9f, 0x07},
        {-0x1p-9f, 0x81},      {0.875f, 0x36},
        /* ties go to the even mantissa */
        {1.0625f, 0x38},       {1.1875f, 0x3a},        {0x1p-10f, 0x00},     {3 * 0x1p-10f, 0x02},
        {15 * 0x1p-10f, 0x08}, /* 7.5 * 2^-9: up to the smallest normal */
        {1.07f, 0x39},         {0.3f, 0x2a},           {-100.0f, 0xec},
        /* saturation: nothing rounds past 448 */
        {449.0f, 0x7e},        {464.0f, 0x7e},         {480.0f, 0x7e},       {1e30f, 0x7e},
        {INFINITY, 0x7e},      {-INFINITY, 0xfe},      {0x1p-11f, 0x00},     {1e-30f, 0x00},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; ++i) {
        const uint8_t got = intfa_ref_f32_to_e4m3(known[i].x);
        if (got != known[i].code)
            fail_msg("e4m3(%g) = 0x%02x, expected 0x%02x", (double)known[i].x, got, known[i].code);
    }
    assert_int_equal(intfa_ref_f32_to_e4m3(-0.0f), 0x80);
    assert_int_equal(intfa_ref_f32_to_e4m3(NAN), 0x7f);
    assert_true(isnan(intfa_ref_e4m3_to_f32(0x7f)));
    assert_true(isnan(intfa_ref_e4m3_to_f32(0xff)));
    assert_true(intfa_ref_e4m3_to_f32(0x7e) == 448.0f);
    assert_true(intfa_ref_e4m3_to_f32(0x01) == 0x1p-9f);
    assert_true(intfa_ref_e4m3_to_f32(0x08) == 0x1p-6f);
    assert_true(intfa_ref_e4m3_to_f32(0x07) == 7 * 0x1p-9f); /* largest subnormal */
    assert_true(intfa_ref_round_e4m3(300.0f) == 288.0f);
    assert_true(intfa_ref_round_e4m3(0.1f) == 0.1015625f);
}

static void test_e4m3_every_code(void **state)
{
    (void)state;
    float prev = -1.0f;
    for (int b = 0; b < 256; ++b) {
        const float x = intfa_ref_e4m3_to_f32((uint8_t)b);
        if ((b & 0x7f) == 0x7f) continue;
        assert_int_equal(intfa_ref_f32_to_e4m3(x), b); /* decode then encode is the identity */
        assert_true(!!signbit(x) == (b >= 0x80));
        if (b < 0x80) { /* increasing with the code */
            assert_true(x > prev || b == 0);
            prev = x;
        }
    }
}

/* The code nearest to x by exhaustive search; ties to the even code (even mantissa). */
static uint8_t nearest(float x)
{
    int best = -1;
    double best_d = INFINITY;
    for (int b = 0; b < 256; ++b) {
        if ((b & 0x7f) == 0x7f) continue;
        const double d = fabs((double)intfa_ref_e4m3_to_f32((uint8_t)b) - x);
        if (!!signbit(intfa_ref_e4m3_to_f32((uint8_t)b)) != !!signbit(x)) continue;
        if (d < best_d || (d == best_d && !(b & 1))) {
            best = b;
            best_d = d;
        }
    }
    return (uint8_t)best;
}

static void test_e4m3_rounding(void **state)
{
    (void)state;
    intfa_ref_rng rng;
    intfa_ref_rng_seed(&rng, 8);
    for (int i = 0; i < 20000; ++i) {
        /* magnitudes from 2^-12 to 2^9: subnormals, normals and saturation */
        const float x = (float)((intfa_ref_uniform(&rng) < 0.5 ? -1 : 1) *
                                exp2(-12.0 + 21.0 * intfa_ref_uniform(&rng)));
        const uint8_t got = intfa_ref_f32_to_e4m3(x), want = nearest(x);
        if (got != want) fail_msg("e4m3(%a) = 0x%02x, nearest is 0x%02x", (double)x, got, want);
    }
}

static void test_scale_and_quantize(void **state)
{
    (void)state;
    const float x[4] = {1.0f, -896.0f, 3.0f, 0.0f};
    assert_true(intfa_ref_e4m3_scale(x, 4) == 2.0f);
    const float zeros[3] = {0};
    assert_true(intfa_ref_e4m3_scale(zeros, 3) == 1.0f);
    float q[4];
    intfa_ref_quantize_e4m3(x, 4, 2.0f, q);
    assert_true(q[0] == 0.5f && q[1] == -448.0f && q[2] == 1.5f && q[3] == 0.0f);
    float y[2] = {3.3f, 300.0f};
    intfa_ref_quantize_e4m3(y, 2, 1.0f, y); /* in place */
    assert_true(y[0] == 3.25f && y[1] == 288.0f);
}

/* e4m3 copies of x (n values) with their per-tensor scale. */
static float *to_fp8(const float *x, int64_t n, float *scale)
{
    float *q = malloc((size_t)n * sizeof *q);
    *scale = intfa_ref_e4m3_scale(x, n);
    intfa_ref_quantize_e4m3(x, n, *scale, q);
    return q;
}

/* Error bound of the simulated FP8 attention against exact attention on N(0, 1) inputs:
 * e4m3 keeps 3 mantissa bits, so each of Q, K, V and P is off by up to 2^-4 (about 3.6% rms);
 * the output error measured 4.1e-2 - 4.9e-2 relative L2 at N = 40..1000. A floor too: an
 * FP8 simulation that quantized nothing would be near 1e-7. */
#define FP8_MAX_REL_L2 8e-2
#define FP8_MIN_REL_L2 2e-2

static void test_fp8_attention_vs_exact(void **state)
{
    (void)state;
    static const struct {
        int64_t nq, nkv;
        int d, causal;
    } cases[] = {{256, 256, 64, 0}, {200, 1000, 128, 0}, {300, 300, 128, 1}, {100, 40, 64, 1}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; ++c) {
        const int64_t nq = cases[c].nq, nkv = cases[c].nkv;
        const int d = cases[c].d;
        intfa_ref_rng rng;
        intfa_ref_rng_seed(&rng, 100 + c);
        float *x[3];
        const int64_t len[3] = {nq * d, nkv * d, nkv * d};
        for (int t = 0; t < 3; ++t) {
            x[t] = malloc((size_t)len[t] * sizeof(float));
            for (int64_t i = 0; i < len[t]; ++i) x[t][i] = (float)intfa_ref_normal(&rng);
        }
        float s[3], *x8[3];
        for (int t = 0; t < 3; ++t) x8[t] = to_fp8(x[t], len[t], &s[t]);
        float *out = malloc((size_t)(nq * d) * sizeof *out);
        double *ref = malloc((size_t)(nq * d) * sizeof *ref);
        memset(out, 0xff, (size_t)(nq * d) * sizeof *out);
        intfa_ref_attention_fp8_head(x8[0], d, s[0], x8[1], d, s[1], x8[2], d, s[2], nq, nkv, d, 0.0f,
                                     cases[c].causal, 128, out);
        intfa_ref_attention_exact_head(x[0], d, x[1], d, x[2], d, nq, nkv, d, 1.0 / sqrt((double)d),
                                       cases[c].causal, ref, NULL);
        /* rows that see no key (causal, nq > nkv) are 0 in both */
        const int64_t first = cases[c].causal && nq > nkv ? nq - nkv : 0;
        for (int64_t i = 0; i < first * d; ++i) assert_true(out[i] == 0.0f && ref[i] == 0.0);
        intfa_ref_metrics m;
        intfa_ref_compare(out + first * d, ref + first * d, (nq - first) * d, &m);
        print_message("  nq %lld nkv %lld d %d causal %d: rel L2 %.3e cosine %.6f\n", (long long)nq,
                      (long long)nkv, d, cases[c].causal, m.rel_l2, m.cosine);
        assert_int_equal(m.nonfinite, 0);
        assert_true(m.rel_l2 < FP8_MAX_REL_L2);
        assert_true(m.rel_l2 > FP8_MIN_REL_L2);
        for (int t = 0; t < 3; ++t) {
            free(x[t]);
            free(x8[t]);
        }
        free(out);
        free(ref);
    }
}

/* One key: P is exactly 1 (448 after scaling), so the output is that key's V in e4m3. */
static void test_fp8_one_key(void **state)
{
    (void)state;
    const float q[4] = {1, 2, 3, 4}, k[4] = {-1, 0.5f, 2, 0}, v[4] = {0.3f, -7, 100, 0.01f};
    float vq[4], out[4];
    intfa_ref_quantize_e4m3(v, 4, 0.5f, vq);
    intfa_ref_attention_fp8_head(q, 4, 1.0f, k, 4, 1.0f, vq, 4, 0.5f, 1, 1, 4, 0.0f, 0, 64, out);
    for (int i = 0; i < 4; ++i) assert_true(fabsf(out[i] - vq[i] * 0.5f) <= 1e-6f * fabsf(vq[i]));
    /* tiles of 1, 2 and 256 keys agree closely on a longer row (the running max only moves
     * where P is rounded) */
    intfa_ref_rng rng;
    intfa_ref_rng_seed(&rng, 5);
    float kk[64 * 4], vv[64 * 4], o1[4], o2[4], o3[4];
    for (int i = 0; i < 256; ++i) {
        kk[i] = intfa_ref_round_e4m3((float)intfa_ref_normal(&rng));
        vv[i] = intfa_ref_round_e4m3((float)intfa_ref_normal(&rng));
    }
    intfa_ref_attention_fp8_head(q, 4, 0.25f, kk, 4, 1.0f, vv, 4, 1.0f, 1, 64, 4, 0.0f, 0, 1, o1);
    intfa_ref_attention_fp8_head(q, 4, 0.25f, kk, 4, 1.0f, vv, 4, 1.0f, 1, 64, 4, 0.0f, 0, 2, o2);
    intfa_ref_attention_fp8_head(q, 4, 0.25f, kk, 4, 1.0f, vv, 4, 1.0f, 1, 64, 4, 0.0f, 0, 999, o3);
    for (int i = 0; i < 4; ++i) {
        assert_true(fabsf(o1[i] - o3[i]) < 0.05f);
        assert_true(fabsf(o2[i] - o3[i]) < 0.05f);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_e4m3_known),         cmocka_unit_test(test_e4m3_every_code),
        cmocka_unit_test(test_e4m3_rounding),      cmocka_unit_test(test_scale_and_quantize),
        cmocka_unit_test(test_fp8_attention_vs_exact), cmocka_unit_test(test_fp8_one_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
