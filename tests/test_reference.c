/* test_reference.c - the plain-C reference (reference/intfa_ref.h): conversions on known bit
 * patterns, the V key permutation, quantization, the quantized algorithm against exact
 * attention (stated error bounds; measured values printed), metrics and the generator.
 * CPU only. */
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

/* Error bounds of the quantized algorithm against exact attention on N(0,1) data, V per
 * channel, per case: relative L2 of out, max abs LSE error over the rows. Each is about 2x
 * the worst value measured over the cases of test_attention_vs_exact (the worst values are
 * printed; every case with INTFA_TEST_VERBOSE=1; INTFA_TEST_MEASURE=1 prints and skips the
 * bounds). Measured worst: pu8 1.52e-2, ps8 2.62e-2 (the few-row cases nq 1, 17 against
 * nkv 300; with many rows pu8 ~1.2e-2, ps8 ~1.9e-2); LSE 2.96e-2, the score error of Q/K
 * quantization, largest for rows that see one key. */
#define BOUND_PU8_REL_L2 3e-2
#define BOUND_PS8_REL_L2 5e-2
#define BOUND_LSE_ABS 6e-2
/* The algorithm alone, against exact attention on the dequantized inputs (P quantization
 * and the fp32 online softmax only). Measured worst: pu8 8.9e-3 (LSE 5.9e-3: l sums the
 * quantized P, small p round to 0), ps8 2.37e-2 (LSE 9.2e-7: l sums the unquantized p). */
#define BOUND_ALG_PU8_REL_L2 2e-2
#define BOUND_ALG_PS8_REL_L2 5e-2
#define BOUND_ALG_PU8_LSE_ABS 1.5e-2
#define BOUND_ALG_PS8_LSE_ABS 1e-5
/* With x10 outliers in 4 K channels (N 300, d 128). Measured: rel_l2 4.5e-2, LSE 0.122. */
#define BOUND_OUTLIER_REL_L2 9e-2
#define BOUND_OUTLIER_LSE_ABS 0.25

static float bits_f32(uint32_t u)
{
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* ------------------------------------------------------------------ conversions */

static void test_f16_known(void **state)
{
    (void)state;
    assert_int_equal(intfa_ref_f32_to_f16(1.0f), 0x3C00);
    assert_int_equal(intfa_ref_f32_to_f16(-2.0f), 0xC000);
    assert_int_equal(intfa_ref_f32_to_f16(0.0f), 0x0000);
    assert_int_equal(intfa_ref_f32_to_f16(-0.0f), 0x8000);
    assert_int_equal(intfa_ref_f32_to_f16(0.1f), 0x2E66);
    assert_int_equal(intfa_ref_f32_to_f16(65504.0f), 0x7BFF);
    assert_int_equal(intfa_ref_f32_to_f16(65519.996f), 0x7BFF);
    assert_int_equal(intfa_ref_f32_to_f16(65520.0f), 0x7C00); /* tie at the top: inf */
    assert_int_equal(intfa_ref_f32_to_f16(-1e6f), 0xFC00);
    assert_int_equal(intfa_ref_f32_to_f16(INFINITY), 0x7C00);
    assert_int_equal(intfa_ref_f32_to_f16(-INFINITY), 0xFC00);
    uint16_t hn = intfa_ref_f32_to_f16(NAN);
    assert_int_equal(hn & 0x7C00, 0x7C00);
    assert_int_not_equal(hn & 0x03FF, 0);
    /* a NaN with only low payload bits must stay a NaN */
    hn = intfa_ref_f32_to_f16(bits_f32(0x7F800001u));
    assert_int_equal(hn & 0x7C00, 0x7C00);
    assert_int_not_equal(hn & 0x03FF, 0);
    /* subnormals */
    assert_int_equal(intfa_ref_f32_to_f16(5.96e-8f), 0x0001);
    assert_int_equal(intfa_ref_f32_to_f16(ldexpf(1.0f, -24)), 0x0001);
    assert_int_equal(intfa_ref_f32_to_f16(ldexpf(1.0f, -25)), 0x0000); /* tie -> even 0 */
    assert_int_equal(intfa_ref_f32_to_f16(ldexpf(1.5f, -25)), 0x0001);
    assert_int_equal(intfa_ref_f32_to_f16(ldexpf(3.0f, -25)), 0x0002); /* 1.5 ulp -> 2 */
    assert_int_equal(intfa_ref_f32_to_f16(ldexpf(5.0f, -25)), 0x0002); /* 2.5 ulp -> 2 */
    assert_int_equal(intfa_ref_f32_to_f16(ldexpf(1023.0f, -24)), 0x03FF);
    assert_int_equal(intfa_ref_f32_to_f16(ldexpf(1023.5f, -24)), 0x0400); /* to normal */
    assert_int_equal(intfa_ref_f32_to_f16(ldexpf(1.0f, -14)), 0x0400);
    assert_int_equal(intfa_ref_f32_to_f16(-ldexpf(1.0f, -26)), 0x8000);
    assert_int_equal(intfa_ref_f32_to_f16(bits_f32(0x00000001u)), 0x0000); /* fp32 subnormal */
    /* ties in the normal range */
    assert_int_equal(intfa_ref_f32_to_f16(1.0f + ldexpf(1.0f, -11)), 0x3C00);
    assert_int_equal(intfa_ref_f32_to_f16(1.0f + ldexpf(3.0f, -11)), 0x3C02);
    assert_int_equal(intfa_ref_f32_to_f16(1.0f + ldexpf(1.0f, -11) + ldexpf(1.0f, -20)),
                     0x3C01);
    assert_int_equal(intfa_ref_f32_to_f16(2047.0f / 1024.0f + ldexpf(1.0f, -11)), 0x4000);

    assert_true(intfa_ref_f16_to_f32(0x3C00) == 1.0f);
    assert_true(intfa_ref_f16_to_f32(0x3555) == 0.333251953125f);
    assert_true(intfa_ref_f16_to_f32(0x7BFF) == 65504.0f);
    assert_true(intfa_ref_f16_to_f32(0x0001) == ldexpf(1.0f, -24));
    assert_true(intfa_ref_f16_to_f32(0x03FF) == ldexpf(1023.0f, -24));
    assert_true(intfa_ref_f16_to_f32(0x8000) == 0.0f && signbit(intfa_ref_f16_to_f32(0x8000)));
    assert_true(intfa_ref_f16_to_f32(0xFC00) == -INFINITY);
    assert_true(isnan(intfa_ref_f16_to_f32(0x7E00)));
    assert_true(isnan(intfa_ref_f16_to_f32(0x7C01)));
}

/* Every fp16 value round-trips, and midpoints between neighbours round to the even one. */
static void test_f16_exhaustive(void **state)
{
    (void)state;
    for (uint32_t h = 0; h < 0x10000u; h++) {
        float f = intfa_ref_f16_to_f32((uint16_t)h);
        if ((h & 0x7C00u) == 0x7C00u && (h & 0x3FFu)) {
            assert_true(isnan(f));
            assert_true(isnan(intfa_ref_f16_to_f32(intfa_ref_f32_to_f16(f))));
            continue;
        }
        assert_int_equal(intfa_ref_f32_to_f16(f), h);
    }
    for (uint32_t h = 0; h < 0x7BFFu; h++) {
        float lo = intfa_ref_f16_to_f32((uint16_t)h);
        float hi = intfa_ref_f16_to_f32((uint16_t)(h + 1));
        float mid = (lo + hi) * 0.5f; /* exact: fp16 neighbours differ by one fp16 ulp */
        assert_true(mid > lo && mid < hi);
        assert_int_equal(intfa_ref_f32_to_f16(mid), (h & 1u) ? h + 1 : h);
        assert_int_equal(intfa_ref_f32_to_f16(nextafterf(mid, INFINITY)), h + 1);
        assert_int_equal(intfa_ref_f32_to_f16(nextafterf(mid, -INFINITY)), h);
        assert_int_equal(intfa_ref_f32_to_f16(-mid), ((h & 1u) ? h + 1 : h) | 0x8000u);
    }
}

static void test_bf16_known(void **state)
{
    (void)state;
    assert_int_equal(intfa_ref_f32_to_bf16(1.0f), 0x3F80);
    assert_int_equal(intfa_ref_f32_to_bf16(-2.0f), 0xC000);
    assert_int_equal(intfa_ref_f32_to_bf16(bits_f32(0x3F808000u)), 0x3F80); /* tie -> even */
    assert_int_equal(intfa_ref_f32_to_bf16(bits_f32(0x3F818000u)), 0x3F82); /* tie -> even */
    assert_int_equal(intfa_ref_f32_to_bf16(bits_f32(0x3F808001u)), 0x3F81);
    assert_int_equal(intfa_ref_f32_to_bf16(bits_f32(0x3F807FFFu)), 0x3F80);
    assert_int_equal(intfa_ref_f32_to_bf16(bits_f32(0x7F7FFFFFu)), 0x7F80); /* max -> inf */
    assert_int_equal(intfa_ref_f32_to_bf16(bits_f32(0x7F7F7FFFu)), 0x7F7F);
    assert_int_equal(intfa_ref_f32_to_bf16(-INFINITY), 0xFF80);
    assert_int_equal(intfa_ref_f32_to_bf16(bits_f32(0x00008000u)), 0x0000); /* subnormal tie */
    assert_int_equal(intfa_ref_f32_to_bf16(bits_f32(0x00018000u)), 0x0002);
    assert_int_equal(intfa_ref_f32_to_bf16(bits_f32(0x80010000u)), 0x8001);
    uint16_t bn = intfa_ref_f32_to_bf16(bits_f32(0x7F800001u)); /* low-payload NaN */
    assert_int_equal(bn & 0x7F80, 0x7F80);
    assert_int_not_equal(bn & 0x007F, 0);
    assert_true(isnan(intfa_ref_bf16_to_f32(intfa_ref_f32_to_bf16(NAN))));
    assert_true(intfa_ref_bf16_to_f32(0x3F80) == 1.0f);
    assert_true(intfa_ref_bf16_to_f32(0x4049) == 3.140625f);
    assert_true(intfa_ref_bf16_to_f32(0x0001) == bits_f32(0x00010000u));

    assert_true(intfa_ref_round_dtype(1.0f + ldexpf(1.0f, -11), INTFA_DTYPE_FP16) == 1.0f);
    assert_true(intfa_ref_round_dtype(1.0f + ldexpf(3.0f, -11), INTFA_DTYPE_FP16) ==
                1.0f + ldexpf(1.0f, -9));
    assert_true(intfa_ref_round_dtype(1.0f + ldexpf(3.0f, -9), INTFA_DTYPE_BF16) ==
                1.0f + ldexpf(1.0f, -7));
    assert_true(intfa_ref_round_dtype(70000.0f, INTFA_DTYPE_FP16) == INFINITY);
    assert_true(intfa_ref_round_dtype(70000.0f, INTFA_DTYPE_BF16) == 70144.0f);
}

/* ------------------------------------------------------------------ V permutation */

static void test_v_permutation(void **state)
{
    (void)state;
    static const int64_t known[16] = {0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15};
    for (int64_t n = 0; n < 16; n++)
        assert_int_equal(intfa_ref_v_slot(n), known[n]);
    static unsigned char seen[4096];
    memset(seen, 0, sizeof seen);
    for (int64_t n = 0; n < 4096; n++) {
        int64_t s = intfa_ref_v_slot(n);
        /* slot bits (low to high): n bit 0, n bit 3, n bit 1, n bit 2 */
        int64_t want = (n & ~(int64_t)15) | (n & 1) | (((n >> 3) & 1) << 1) |
                       (((n >> 1) & 1) << 2) | (((n >> 2) & 1) << 3);
        assert_int_equal(s, want);
        assert_true(s >= 0 && s < 4096);
        assert_int_equal(s >> 4, n >> 4);
        assert_int_equal(seen[s], 0);
        seen[s] = 1;
        assert_int_equal(intfa_ref_v_key(s), n);
        assert_int_equal(intfa_ref_v_slot(intfa_ref_v_key(n)), n);
    }
}

/* ------------------------------------------------------------------ quantization */

static void fill_normal(intfa_ref_rng *r, float *x, int64_t n, double sd)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = intfa_ref_round_dtype((float)(sd * intfa_ref_normal(r)), INTFA_DTYPE_FP16);
}

static void test_quantize_rows(void **state)
{
    (void)state;
    /* hand example: amax 2, inv 63.5: 1 -> 63.5 -> 64 (tie to even), 0.5 -> 31.75 -> 32 */
    const float hand[4] = {1.0f, -2.0f, 0.5f, -0.25f};
    int8_t hq[4];
    float hs;
    intfa_ref_quantize_rows(hand, 1, 4, 4, hq, &hs);
    assert_true(hs == 2.0f / 127.0f);
    assert_int_equal(hq[0], 64);
    assert_int_equal(hq[1], -127);
    assert_int_equal(hq[2], 32);
    assert_int_equal(hq[3], -16); /* -15.875 */

    /* Random rows of several magnitudes, a zero row, an outlier, columns beyond d, in INT8 and
     * INT4 (qmax 127, 7): scale = amax / qmax, the row's largest |x| at +-qmax, every value in
     * range and within scale / 2; intfa_ref_quantize_rows is the INT8 case of _ex; with sub the
     * same as quantizing x - sub computed beforehand. */
    enum { ROWS = 40, D = 128, LD = 136 };
    float *x = calloc(ROWS * LD, sizeof *x), *xs = calloc(ROWS * LD, sizeof *xs), sub[D];
    int8_t *q = malloc(ROWS * D), *q2 = malloc(ROWS * D);
    float scale[ROWS], scale2[ROWS];
    intfa_ref_rng r;
    intfa_ref_rng_seed(&r, 11);
    for (int i = 0; i < ROWS; i++) {
        double sd = ldexp(1.0, i % 9 - 4);
        fill_normal(&r, x + i * LD, D, sd);
        for (int j = D; j < LD; j++)
            x[i * LD + j] = 1e6f; /* beyond d: must be ignored */
    }
    for (int j = 0; j < D; j++) {
        x[7 * LD + j] = 0.0f; /* a zero row */
        sub[j] = (float)(0.3 * intfa_ref_normal(&r));
    }
    x[3 * LD + 5] = -50.0f;  /* an outlier */
    for (int fmt = INTFA_FMT_INT8; fmt <= INTFA_FMT_INT4; fmt++) {
        const int qmax = intfa_ref_qk_max((intfa_format)fmt);
        intfa_ref_quantize_rows_ex(x, ROWS, LD, D, (intfa_format)fmt, NULL, q, scale);
        for (int i = 0; i < ROWS; i++) {
            float amax = 0.0f;
            int jmax = 0;
            for (int j = 0; j < D; j++)
                if (fabsf(x[i * LD + j]) > amax) {
                    amax = fabsf(x[i * LD + j]);
                    jmax = j;
                }
            assert_true(scale[i] == amax / (float)qmax);
            if (i == 7) {
                assert_true(scale[i] == 0.0f);
                for (int j = 0; j < D; j++)
                    assert_int_equal(q[i * D + j], 0);
                continue;
            }
            assert_int_equal(q[i * D + jmax], x[i * LD + jmax] > 0 ? qmax : -qmax);
            for (int j = 0; j < D; j++) {
                int v = q[i * D + j];
                assert_true(v >= -qmax && v <= qmax);
                double err = fabs((double)v * scale[i] - x[i * LD + j]);
                assert_true(err <= 0.5 * scale[i] * (1.0 + 1e-5));
            }
        }
        assert_int_equal(q[3 * D + 5], -qmax);
        if (fmt == INTFA_FMT_INT8) {
            intfa_ref_quantize_rows(x, ROWS, LD, D, q2, scale2);
            assert_memory_equal(q, q2, ROWS * D);
            assert_memory_equal(scale, scale2, sizeof scale);
        }
        for (int i = 0; i < ROWS; i++)
            for (int j = 0; j < D; j++)
                xs[i * LD + j] = x[i * LD + j] - sub[j];
        intfa_ref_quantize_rows_ex(x, ROWS, LD, D, (intfa_format)fmt, sub, q, scale);
        intfa_ref_quantize_rows_ex(xs, ROWS, LD, D, (intfa_format)fmt, NULL, q2, scale2);
        assert_memory_equal(q, q2, ROWS * D);
        assert_memory_equal(scale, scale2, sizeof scale);
    }
    free(x);
    free(xs);
    free(q);
    free(q2);
}

static void check_quantize_v(intfa_v_scale mode, int64_t n)
{
    enum { D = 64, LD = 72 };
    int64_t n_pad = (n + 15) / 16 * 16;
    float *v = malloc((size_t)(n * LD + 1) * sizeof *v);
    int8_t *vt = malloc((size_t)(D * n_pad + 1));
    float scale[D];
    intfa_ref_rng r;
    intfa_ref_rng_seed(&r, 21 + (uint64_t)n);
    for (int64_t i = 0; i < n; i++)
        for (int j = 0; j < LD; j++)
            v[i * LD + j] = j < D ? (float)((1.0 + j % 5) * intfa_ref_normal(&r)) : 1e6f;
    memset(vt, 0x55, (size_t)(D * n_pad)); /* padding must be overwritten with 0 */
    intfa_ref_quantize_v(v, n, LD, D, mode, vt, scale);
    float head_amax = 0.0f;
    for (int64_t i = 0; i < n; i++)
        for (int j = 0; j < D; j++)
            head_amax = fmaxf(head_amax, fabsf(v[i * LD + j]));
    for (int j = 0; j < D; j++) {
        float amax = 0.0f;
        for (int64_t i = 0; i < n; i++)
            amax = fmaxf(amax, fabsf(v[i * LD + j]));
        if (mode == INTFA_VS_HEAD) {
            assert_true(scale[j] == head_amax / 127.0f);
            assert_true(scale[j] == scale[0]);
        } else {
            assert_true(scale[j] == amax / 127.0f);
        }
        float inv = 127.0f / (mode == INTFA_VS_HEAD ? head_amax : amax);
        int saw127 = 0;
        for (int64_t i = 0; i < n; i++) {
            float w = rintf(v[i * LD + j] * inv);
            w = w > 127.0f ? 127.0f : (w < -127.0f ? -127.0f : w);
            int got = vt[j * n_pad + intfa_ref_v_slot(i)];
            assert_int_equal(got, (int)w);
            assert_true(fabs(got * (double)scale[j] - v[i * LD + j]) <=
                        0.5 * scale[j] * (1.0 + 1e-5));
            saw127 |= got == 127 || got == -127;
        }
        if (mode == INTFA_VS_CHANNEL)
            assert_true(saw127);
        for (int64_t s = n; s < n_pad; s++) /* padding keys n..n_pad have slots n..n_pad */
            assert_int_equal(vt[j * n_pad + intfa_ref_v_slot(s)], 0);
    }
    free(v);
    free(vt);
}

static void test_quantize_v(void **state)
{
    (void)state;
    const int64_t ns[] = {1, 16, 37, 300};
    for (size_t t = 0; t < sizeof ns / sizeof ns[0]; t++) {
        check_quantize_v(INTFA_VS_CHANNEL, ns[t]);
        check_quantize_v(INTFA_VS_HEAD, ns[t]);
    }
}

/* ------------------------------------------------------------------ attention */

/* One attention problem on N(0,1) fp16-rounded data; run_problem evaluates the quantized
 * algorithm for each P quantization and block_n against exact attention computed once. */
typedef struct attn_problem {
    int64_t nq, nkv;
    int d, causal;
    intfa_v_scale vs;
    uint64_t seed;
    float k_outlier; /* 0, or the factor applied to 4 K channels */
    int quick;       /* only block_n 128, and no algorithm-alone reference (alg_* are NaN) */
} attn_problem;

typedef struct attn_result {
    double rel_l2, lse_max_abs; /* against exact attention on the fp inputs */
    /* against exact attention on the dequantized inputs: the error of the algorithm itself
     * (P quantization, fp32 online softmax), without that of quantizing Q, K, V */
    double alg_rel_l2, alg_lse_max_abs;
} attn_result;

static const char *pq_name(int pq)
{
    return pq == INTFA_PQ_U8_ROW ? "pu8" : "ps8";
}

static const int block_ns[2] = {64, 128};

/* max |a - b| over n values; NaN if any is NaN */
static double lse_max_err(const float *a, const double *b, int64_t n)
{
    double mx = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]);
        if (!(e <= mx))
            mx = e;
    }
    return mx;
}

/* res[pq][block_n index]. Rows that see no key are checked to be exactly 0 with lse -inf and
 * are left out of the errors; returns their count. */
static int64_t run_problem(const attn_problem *pr, attn_result res[2][2])
{
    int d = pr->d;
    int64_t nq = pr->nq, nkv = pr->nkv, n_pad = (nkv + 15) / 16 * 16;
    size_t nqd = (size_t)(nq * d), nkd = (size_t)(nkv * d);
    float *q = malloc(nqd * sizeof *q), *k = malloc(nkd * sizeof *k), *v = malloc(nkd * 4);
    float *qd = malloc(nqd * sizeof *qd), *kd = malloc(nkd * 4), *vd = malloc(nkd * 4);
    int8_t *q8 = malloc(nqd), *k8 = malloc(nkd), *vt = malloc((size_t)(d * n_pad));
    float *qs = malloc((size_t)nq * 4), *ks = malloc((size_t)nkv * 4), *vs = malloc((size_t)d * 4);
    float *out = malloc(nqd * sizeof *out), *lse = malloc((size_t)nq * sizeof *lse);
    double *eout = malloc(nqd * sizeof *eout), *else_ = malloc((size_t)nq * sizeof *else_);
    double *aout = malloc(nqd * sizeof *aout), *alse = malloc((size_t)nq * sizeof *alse);
    assert_true(q && k && v && qd && kd && vd && q8 && k8 && vt && qs && ks && vs && out && lse &&
                eout && else_ && aout && alse);
    intfa_ref_rng r;
    intfa_ref_rng_seed(&r, pr->seed);
    fill_normal(&r, q, nq * d, 1.0);
    fill_normal(&r, k, nkv * d, 1.0);
    fill_normal(&r, v, nkv * d, 1.0);
    if (pr->k_outlier != 0.0f)
        for (int64_t j = 0; j < nkv; j++)
            for (int ch = 3; ch < d; ch += d / 4)
                k[j * d + ch] *= pr->k_outlier;
    intfa_ref_quantize_rows(q, nq, d, d, q8, qs);
    intfa_ref_quantize_rows(k, nkv, d, d, k8, ks);
    intfa_ref_quantize_v(v, nkv, d, d, pr->vs, vt, vs);
    for (int64_t i = 0; i < nq; i++)
        for (int t = 0; t < d; t++)
            qd[i * d + t] = (float)q8[i * d + t] * qs[i];
    for (int64_t j = 0; j < nkv; j++)
        for (int t = 0; t < d; t++) {
            kd[j * d + t] = (float)k8[j * d + t] * ks[j];
            vd[j * d + t] = (float)vt[t * n_pad + intfa_ref_v_slot(j)] * vs[t];
        }
    intfa_ref_attention_exact_head(q, d, k, d, v, d, nq, nkv, d, 0.0, pr->causal, eout, else_);
    if (!pr->quick)
        intfa_ref_attention_exact_head(qd, d, kd, d, vd, d, nq, nkv, d, 0.0, pr->causal, aout,
                                       alse);

    int64_t first = pr->causal && nq > nkv ? nq - nkv : 0; /* rows before see no key */
    for (int pq = 0; pq < 2; pq++)
        for (int b = pr->quick ? 1 : 0; b < 2; b++) {
            intfa_ref_attention_quant_head(q8, qs, k8, ks, vt, vs, nq, nkv, d, 0.0f, pr->causal,
                                           (intfa_p_quant)pq, block_ns[b], out, lse);
            for (int64_t i = 0; i < first; i++) {
                for (int t = 0; t < d; t++)
                    assert_true(out[i * d + t] == 0.0f && eout[i * d + t] == 0.0);
                assert_true(lse[i] == -INFINITY && else_[i] == -INFINITY);
            }
            for (int64_t i = first; i < nq; i++)
                assert_true(isfinite(lse[i]));
            intfa_ref_metrics m;
            attn_result *rs = &res[pq][b];
            intfa_ref_compare(out + first * d, eout + first * d, (nq - first) * d, &m);
            assert_int_equal(m.nonfinite, 0);
            rs->rel_l2 = m.rel_l2;
            rs->lse_max_abs = lse_max_err(lse + first, else_ + first, nq - first);
            rs->alg_rel_l2 = rs->alg_lse_max_abs = NAN;
            if (pr->quick)
                continue;
            intfa_ref_compare(out + first * d, aout + first * d, (nq - first) * d, &m);
            rs->alg_rel_l2 = m.rel_l2;
            rs->alg_lse_max_abs = lse_max_err(lse + first, alse + first, nq - first);
        }
    free(q), free(k), free(v), free(qd), free(kd), free(vd), free(q8), free(k8), free(vt);
    free(qs), free(ks), free(vs), free(out), free(lse), free(eout), free(else_), free(aout);
    free(alse);
    return first;
}

/* One key: out is the dequantized V row, lse the dequantized score (p = 1, pq = 255 or 127). */
static void test_attention_one_key(void **state)
{
    (void)state;
    enum { D = 64 };
    float q[D], k[D], v[D], qs, ks, vs[D], out[D], lse;
    int8_t q8[D], k8[D], vt[D * 16];
    intfa_ref_rng r;
    intfa_ref_rng_seed(&r, 5);
    fill_normal(&r, q, D, 1.0);
    fill_normal(&r, k, D, 1.0);
    fill_normal(&r, v, D, 1.0);
    intfa_ref_quantize_rows(q, 1, D, D, q8, &qs);
    intfa_ref_quantize_rows(k, 1, D, D, k8, &ks);
    intfa_ref_quantize_v(v, 1, D, D, INTFA_VS_HEAD, vt, vs);
    int32_t s = 0;
    for (int t = 0; t < D; t++)
        s += q8[t] * k8[t];
    double want_lse = (double)s * ks * qs / 8.0;
    for (int pq = 0; pq < 2; pq++) {
        intfa_ref_attention_quant_head(q8, &qs, k8, &ks, vt, vs, 1, 1, D, 0.0f, 1,
                                       (intfa_p_quant)pq, 64, out, &lse);
        for (int t = 0; t < D; t++) {
            double want = (double)vt[t * 16] * vs[t];
            assert_true(fabs(out[t] - want) <= 1e-6 * (fabs(want) + 1e-3));
        }
        assert_true(fabs(lse - want_lse) <= 1e-5 * (fabs(want_lse) + 1.0));
    }
    /* nkv = 0 and a causal row with nothing visible: 0 and -inf */
    out[0] = 1.0f;
    intfa_ref_attention_quant_head(q8, &qs, k8, &ks, vt, vs, 1, 0, D, 0.0f, 0, INTFA_PQ_U8_ROW,
                                   64, out, &lse);
    assert_true(out[0] == 0.0f && lse == -INFINITY);
}

/* Two keys with equal scores: P = (1, 1) exactly, out = mean of the dequantized rows. */
static void test_attention_equal_scores(void **state)
{
    (void)state;
    enum { D = 64 };
    float q[D], k[2 * D], v[2 * D], qs, ks[2], vs[D], out[D], lse;
    int8_t q8[D], k8[2 * D], vt[D * 16];
    intfa_ref_rng r;
    intfa_ref_rng_seed(&r, 6);
    fill_normal(&r, q, D, 1.0);
    fill_normal(&r, k, D, 1.0);
    memcpy(k + D, k, sizeof(float) * D);
    fill_normal(&r, v, 2 * D, 1.0);
    intfa_ref_quantize_rows(q, 1, D, D, q8, &qs);
    intfa_ref_quantize_rows(k, 2, D, D, k8, ks);
    intfa_ref_quantize_v(v, 2, D, D, INTFA_VS_CHANNEL, vt, vs);
    for (int pq = 0; pq < 2; pq++) {
        intfa_ref_attention_quant_head(q8, &qs, k8, ks, vt, vs, 1, 2, D, 0.3f, 0,
                                       (intfa_p_quant)pq, 64, out, &lse);
        for (int t = 0; t < D; t++) {
            double want = 0.5 * ((double)vt[t * 16] + vt[t * 16 + 1]) * vs[t];
            assert_true(fabs(out[t] - want) <= 1e-6 * (fabs(want) + 1e-2));
        }
        int32_t s = 0;
        for (int t = 0; t < D; t++)
            s += q8[t] * k8[t];
        double want_lse = (double)s * ks[0] * qs * 0.3 + log(2.0);
        assert_true(fabs(lse - want_lse) <= 1e-5 * (fabs(want_lse) + 1.0));
    }
}

/* Two tiles of 64 keys, each tile's keys with one score (K rows b and 2b quantize to the
 * same int8 row, the scale doubles): every P quantization step is exact except ps8 in a tile
 * below the running maximum, so out and lse follow in closed form. Checks the rescaling by
 * alpha and beta across tiles, in both orders, and that ps8's l sums the unquantized p. */
static void test_attention_two_tiles(void **state)
{
    (void)state;
    enum { D = 64, NK = 128, BN = 64 };
    float b[D], k[NK * D], v[NK * D], qs, ks[NK], vs[D], out[D], lse;
    int8_t q8[D], k8[NK * D], vt[D * NK];
    intfa_ref_rng r;
    intfa_ref_rng_seed(&r, 8);
    fill_normal(&r, b, D, 1.0);
    fill_normal(&r, v, NK * D, 1.0);
    const float scale = 0.02f;
    intfa_ref_quantize_rows(b, 1, D, D, q8, &qs);
    intfa_ref_quantize_v(v, NK, D, D, INTFA_VS_CHANNEL, vt, vs);
    for (int order = 0; order < 2; order++) {
        for (int j = 0; j < NK; j++)
            for (int t = 0; t < D; t++)
                k[j * D + t] = ((j < BN) == (order == 0) ? 1.0f : 2.0f) * b[t];
        intfa_ref_quantize_rows(k, NK, D, D, k8, ks);
        int32_t s = 0;
        for (int t = 0; t < D; t++)
            s += q8[t] * k8[t];
        assert_true(s > 0);
        for (int j = 1; j < NK; j++)
            assert_memory_equal(k8 + j * D, k8, D);
        /* the two groups' scores in the log2 domain, the first tile's first */
        float a = qs * (scale * 1.44269504088896340736f);
        double x0 = (double)((float)s * ks[0] * a), x1 = (double)((float)s * ks[BN] * a);
        double xmax = fmax(x0, x1), w0 = exp2(x0 - xmax), w1 = exp2(x1 - xmax);
        for (int pq = 0; pq < 2; pq++) {
            intfa_ref_attention_quant_head(q8, &qs, k8, ks, vt, vs, 1, NK, D, scale, 0,
                                           (intfa_p_quant)pq, BN, out, &lse);
            /* weights of the groups in o and in l */
            double wo0 = w0, wo1 = w1, wl0 = w0, wl1 = w1;
            if (pq == INTFA_PQ_S8_127 && x1 < x0) /* second tile below the running max */
                wo1 = rint(127.0 * w1) / 127.0;
            double l = BN * wl0 + BN * wl1;
            for (int t = 0; t < D; t++) {
                double g0 = 0, g1 = 0;
                for (int j = 0; j < BN; j++) {
                    g0 += vt[t * NK + intfa_ref_v_slot(j)];
                    g1 += vt[t * NK + intfa_ref_v_slot(BN + j)];
                }
                double want = (g0 * wo0 + g1 * wo1) * vs[t] / l;
                assert_true(fabs(out[t] - want) <= 1e-5 * 0.05 + 1e-5 * fabs(want));
            }
            double want_lse = (xmax + log2(l)) * log(2.0);
            assert_true(fabs(lse - want_lse) <= 1e-5 * (1.0 + fabs(want_lse)));
        }
    }
}

/* N(0,1) data, V per channel: head_dim 64/128 and 32, 48, 96, 256, causal or not, square and unequal lengths
 * (causal nq > nkv: the leading rows see no key), block_n 64/128, pu8 and ps8. */
static void test_attention_vs_exact(void **state)
{
    (void)state;
    static const int64_t sizes[][2] = {{1, 1},    {17, 17},  {64, 64},  {65, 65},
                                       {300, 300}, {17, 300}, {300, 17}, {64, 65},
                                       {65, 64},  {1, 300},  {300, 1},  {100, 37}};
    const int measure_only = getenv("INTFA_TEST_MEASURE") != NULL;
    const int verbose = measure_only || getenv("INTFA_TEST_VERBOSE") != NULL;
    const double bound[2] = {BOUND_PU8_REL_L2, BOUND_PS8_REL_L2};
    const double alg_bound[2] = {BOUND_ALG_PU8_REL_L2, BOUND_ALG_PS8_REL_L2};
    const double alg_lse_bound[2] = {BOUND_ALG_PU8_LSE_ABS, BOUND_ALG_PS8_LSE_ABS};
    double worst[2][4] = {{0}};
    int64_t empty = 0, cases = 0;
    static const int dims[] = {64, 128, 32, 48, 96, 256}; /* 64/128 first: their seeds as before */
    for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++)
        for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++)
            for (int causal = 0; causal < 2; causal++) {
                const int d = dims[di];
                attn_problem pr = {sizes[t][0], sizes[t][1], d, causal, INTFA_VS_CHANNEL,
                                   1000u + t, 0.0f, 0};
                attn_result res[2][2];
                empty += run_problem(&pr, res);
                for (int pq = 0; pq < 2; pq++)
                    for (int b = 0; b < 2; b++) {
                        const attn_result *x = &res[pq][b];
                        cases++;
                        if (verbose)
                            printf("  nq %4lld nkv %4lld d %3d causal %d block_n %3d %s: "
                                   "rel_l2 %.3e lse %.3e; algorithm rel_l2 %.3e lse %.3e\n",
                                   (long long)pr.nq, (long long)pr.nkv, d, causal, block_ns[b],
                                   pq_name(pq), x->rel_l2, x->lse_max_abs, x->alg_rel_l2,
                                   x->alg_lse_max_abs);
                        worst[pq][0] = fmax(worst[pq][0], x->rel_l2);
                        worst[pq][1] = fmax(worst[pq][1], x->lse_max_abs);
                        worst[pq][2] = fmax(worst[pq][2], x->alg_rel_l2);
                        worst[pq][3] = fmax(worst[pq][3], x->alg_lse_max_abs);
                        if (!measure_only &&
                            !(x->rel_l2 < bound[pq] && x->lse_max_abs < BOUND_LSE_ABS &&
                              x->alg_rel_l2 < alg_bound[pq] &&
                              x->alg_lse_max_abs < alg_lse_bound[pq]))
                            fail_msg("nq %lld nkv %lld d %d causal %d block_n %d %s: rel_l2 "
                                     "%.3e (bound %.1e) lse %.3e (%.1e); algorithm rel_l2 "
                                     "%.3e (%.1e) lse %.3e (%.1e)",
                                     (long long)pr.nq, (long long)pr.nkv, d, causal,
                                     block_ns[b], pq_name(pq), x->rel_l2, bound[pq],
                                     x->lse_max_abs, BOUND_LSE_ABS, x->alg_rel_l2,
                                     alg_bound[pq], x->alg_lse_max_abs, alg_lse_bound[pq]);
                    }
            }
    for (int pq = 0; pq < 2; pq++)
        printf("vs exact, V per channel, %s, worst of %lld cases: rel_l2 %.3e lse %.3e; "
               "algorithm alone: rel_l2 %.3e lse %.3e\n",
               pq_name(pq), (long long)cases / 2, worst[pq][0], worst[pq][1], worst[pq][2],
               worst[pq][3]);
    printf("%lld rows that see no key checked (out 0, lse -inf)\n", (long long)empty);
    assert_true(empty > 0);
}

static void test_attention_k_outliers(void **state)
{
    (void)state;
    for (int causal = 0; causal < 2; causal++) {
        attn_problem pr = {300, 300, 128, causal, INTFA_VS_CHANNEL, 77, 10.0f, 0};
        attn_result res[2][2];
        run_problem(&pr, res);
        for (int pq = 0; pq < 2; pq++) {
            const attn_result *x = &res[pq][0];
            printf("K outliers x10, causal %d, %s: rel_l2 %.3e lse %.3e\n", causal, pq_name(pq),
                   x->rel_l2, x->lse_max_abs);
            if (getenv("INTFA_TEST_MEASURE"))
                continue;
            assert_true(x->rel_l2 < BOUND_OUTLIER_REL_L2);
            assert_true(x->lse_max_abs < BOUND_OUTLIER_LSE_ABS);
        }
    }
}

/* The library default: pu8 must beat ps8 on N(0,1) data with N = 1000 (asserted, V per
 * channel and per head); N = 64 is printed for the record. block_n 128. */
static void test_pu8_beats_ps8(void **state)
{
    (void)state;
    const int64_t ns[2] = {64, 1000};
    for (int t = 0; t < 2; t++)
        for (int d = 64; d <= 128; d *= 2)
            for (int vsm = 0; vsm < 2; vsm++) {
                attn_problem pr = {ns[t], ns[t], d, 0, (intfa_v_scale)vsm, 99, 0.0f, 1};
                attn_result res[2][2];
                run_problem(&pr, res);
                double pu8 = res[INTFA_PQ_U8_ROW][1].rel_l2, ps8 = res[INTFA_PQ_S8_127][1].rel_l2;
                printf("N %4lld d %3d V per %-7s: rel_l2 pu8 %.3e ps8 %.3e\n", (long long)ns[t],
                       d, vsm == INTFA_VS_CHANNEL ? "channel" : "head", pu8, ps8);
                if (ns[t] == 1000)
                    assert_true(pu8 < ps8);
            }
}

/* ------------------------------------------------------------------ metrics and rng */

static void test_metrics(void **state)
{
    (void)state;
    intfa_ref_metrics m;
    const double ref[4] = {1.0, 2.0, -4.0, 0.0};
    const float same[4] = {1.0f, 2.0f, -4.0f, 0.0f};
    intfa_ref_compare(same, ref, 4, &m);
    assert_true(m.rel_l2 == 0.0 && m.rel_l1 == 0.0 && m.rmse == 0.0 && m.mean_rel == 0.0);
    assert_true(m.max_abs == 0.0 && m.nonfinite == 0);
    assert_true(fabs(m.cosine - 1.0) < 1e-15);

    const float twice[4] = {2.0f, 4.0f, -8.0f, 0.0f};
    intfa_ref_compare(twice, ref, 4, &m);
    assert_true(fabs(m.rel_l2 - 1.0) < 1e-15);
    assert_true(fabs(m.cosine - 1.0) < 1e-15);
    assert_true(fabs(m.rel_l1 - 1.0) < 1e-15);
    assert_true(fabs(m.mean_rel - 1.0) < 1e-15);
    assert_true(m.max_abs == 4.0);

    /* diffs 0.5, 0, 1, 0.5; mean_rel skips the zero reference: (0.5/1 + 0/2 + 1/4) / 3 */
    const float x[4] = {1.5f, 2.0f, -3.0f, 0.5f};
    intfa_ref_compare(x, ref, 4, &m);
    assert_true(fabs(m.rel_l1 - 2.0 / 7.0) < 1e-15);
    assert_true(fabs(m.rmse - sqrt(0.375)) < 1e-15);
    assert_true(fabs(m.mean_rel - 0.25) < 1e-15);
    assert_true(fabs(m.rel_l2 - sqrt(1.5 / 21.0)) < 1e-15);
    assert_true(fabs(m.cosine - 17.5 / (sqrt(15.5) * sqrt(21.0))) < 1e-15);
    assert_true(m.max_abs == 1.0);
    assert_int_equal(m.nonfinite, 0);

    const float bad[4] = {NAN, 2.0f, INFINITY, 0.0f};
    intfa_ref_compare(bad, ref, 4, &m);
    assert_int_equal(m.nonfinite, 2);
    assert_true(isnan(m.rel_l2));
    assert_false(m.rel_l2 < 1.0); /* a bound check on it fails */
    assert_true(isnan(m.max_abs));
}

static void test_rng(void **state)
{
    (void)state;
    intfa_ref_rng a, b;
    intfa_ref_rng_seed(&a, 0);
    assert_true(a.s[0] == 0xe220a8397b1dcdafull); /* splitmix64's first output for 0 */
    intfa_ref_rng_seed(&a, 42);
    intfa_ref_rng_seed(&b, 42);
    for (int i = 0; i < 1000; i++) {
        double x = intfa_ref_normal(&a), y = intfa_ref_normal(&b);
        assert_true(memcmp(&x, &y, sizeof x) == 0);
    }
    intfa_ref_rng_seed(&b, 43);
    int differ = 0;
    for (int i = 0; i < 100; i++)
        differ += intfa_ref_uniform(&a) != intfa_ref_uniform(&b);
    assert_true(differ > 90);

    intfa_ref_rng_seed(&a, 7);
    double sum = 0, sum2 = 0, umin = 1, umax = 0;
    const int n = 100000;
    for (int i = 0; i < n; i++) {
        double z = intfa_ref_normal(&a);
        sum += z;
        sum2 += z * z;
        double u = intfa_ref_uniform(&a);
        umin = fmin(umin, u);
        umax = fmax(umax, u);
    }
    double mean = sum / n, var = sum2 / n - mean * mean;
    printf("rng: normal mean %.4f variance %.4f over %d draws\n", mean, var, n);
    assert_true(fabs(mean) < 0.02);   /* ~6 standard errors */
    assert_true(fabs(var - 1.0) < 0.02);
    assert_true(umin >= 0.0 && umax < 1.0 && umin < 1e-3 && umax > 0.999);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_f16_known),
        cmocka_unit_test(test_f16_exhaustive),
        cmocka_unit_test(test_bf16_known),
        cmocka_unit_test(test_v_permutation),
        cmocka_unit_test(test_quantize_rows),
        cmocka_unit_test(test_quantize_v),
        cmocka_unit_test(test_attention_one_key),
        cmocka_unit_test(test_attention_equal_scores),
        cmocka_unit_test(test_attention_two_tiles),
        cmocka_unit_test(test_attention_vs_exact),
        cmocka_unit_test(test_attention_k_outliers),
        cmocka_unit_test(test_pu8_beats_ps8),
        cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_rng),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
