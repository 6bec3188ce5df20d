/* ref_fp8.c - FP8 E4M3 conversion and a simulated FP8 attention: the accuracy yardstick that
 * intfa-bench sets beside the INT8 kernel (docs/BENCH.md). Conversions are exact bit
 * arithmetic in double, independent of the rounding mode. */
#include <math.h>

#include "intfa_ref.h"

/* Round y >= 0 to the nearest integer, ties to even; y has few enough bits to be exact. */
static double round_even(double y)
{
    const double f = floor(y), r = y - f;
    if (r > 0.5 || (r == 0.5 && fmod(f, 2.0) == 1.0)) return f + 1.0;
    return f;
}

uint8_t intfa_ref_f32_to_e4m3(float x)
{
    if (isnan(x)) return 0x7f;
    const uint8_t sign = signbit(x) ? 0x80 : 0x00;
    const double a = fabs((double)x);
    if (a >= INTFA_REF_E4M3_MAX) return sign | 0x7e; /* saturate, infinities included */
    if (a < 0x1p-6) /* subnormal: multiples of 2^-9; 8 of them round up to 2^-6, code 0x08 */
        return sign | (uint8_t)round_even(a * 512.0);
    int e;
    frexp(a, &e); /* a = f 2^e, f in [0.5, 1): the unbiased exponent is e - 1, in -6..8 */
    int exp = e - 1;
    int man = (int)round_even(ldexp(a, -exp) * 8.0) - 8; /* 0..8 */
    if (man == 8) {
        man = 0;
        exp++;
    }
    if (exp > 8 || (exp == 8 && man > 6)) return sign | 0x7e; /* above 448 after rounding */
    return (uint8_t)(sign | ((exp + 7) << 3) | man);
}

float intfa_ref_e4m3_to_f32(uint8_t b)
{
    const int exp = (b >> 3) & 0xf, man = b & 0x7;
    double a;
    if (exp == 0xf && man == 0x7)
        a = NAN;
    else if (exp == 0)
        a = man * 0x1p-9;
    else
        a = ldexp(1.0 + man / 8.0, exp - 7);
    return (float)((b & 0x80) ? -a : a);
}

float intfa_ref_round_e4m3(float x) { return intfa_ref_e4m3_to_f32(intfa_ref_f32_to_e4m3(x)); }

float intfa_ref_e4m3_scale(const float *x, int64_t n)
{
    float amax = 0.0f;
    for (int64_t i = 0; i < n; i++) amax = fmaxf(amax, fabsf(x[i]));
    return amax > 0.0f ? amax / INTFA_REF_E4M3_MAX : 1.0f;
}

void intfa_ref_quantize_e4m3(const float *x, int64_t n, float scale, float *out)
{
    for (int64_t i = 0; i < n; i++) out[i] = intfa_ref_round_e4m3(x[i] / scale);
}

void intfa_ref_attention_fp8_head(const float *q8, int64_t ldq, float q_scale, const float *k8,
                                  int64_t ldk, float k_scale, const float *v8, int64_t ldv,
                                  float v_scale, int64_t nq, int64_t nkv, int d,
                                  float softmax_scale, int causal, int block_n, float *out)
{
    const float sm = softmax_scale > 0.0f ? softmax_scale : 1.0f / sqrtf((float)d);
    const float c = q_scale * k_scale * sm * 1.44269504088896340736f;
    float x[INTFA_REF_FP8_MAX_BLOCK];
    if (block_n < 1 || block_n > INTFA_REF_FP8_MAX_BLOCK) block_n = INTFA_REF_FP8_MAX_BLOCK;
    for (int64_t i = 0; i < nq; i++) {
        float *o = out + i * d;
        for (int dd = 0; dd < d; dd++) o[dd] = 0.0f;
        const int64_t last = causal ? (i + nkv - nq < nkv - 1 ? i + nkv - nq : nkv - 1) : nkv - 1;
        float m = -INFINITY, l = 0.0f;
        for (int64_t j0 = 0; j0 <= last; j0 += block_n) {
            const int64_t n = last - j0 + 1 < block_n ? last - j0 + 1 : block_n;
            float mt = -INFINITY;
            for (int64_t j = 0; j < n; j++) {
                const float *kr = k8 + (j0 + j) * ldk, *qr = q8 + i * ldq;
                float s = 0.0f;
                for (int dd = 0; dd < d; dd++) s += qr[dd] * kr[dd];
                x[j] = s * c;
                mt = fmaxf(mt, x[j]);
            }
            const float m_new = fmaxf(m, mt), alpha = exp2f(m - m_new);
            l *= alpha;
            for (int dd = 0; dd < d; dd++) o[dd] *= alpha;
            for (int64_t j = 0; j < n; j++) {
                const float p = exp2f(x[j] - m_new);
                const float p8 = intfa_ref_round_e4m3(p * INTFA_REF_E4M3_MAX);
                const float *vr = v8 + (j0 + j) * ldv;
                l += p;
                for (int dd = 0; dd < d; dd++) o[dd] += p8 * vr[dd];
            }
            m = m_new;
        }
        const float f = l > 0.0f ? v_scale / (INTFA_REF_E4M3_MAX * l) : 0.0f;
        for (int dd = 0; dd < d; dd++) o[dd] *= f;
    }
}
