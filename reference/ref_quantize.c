/* ref_quantize.c - per-token Q/K quantization (INT8 or INT4 values, optionally of x - sub: K
 * smoothing) and V quantization (per channel or per head) into the transposed, key-permuted
 * layout of docs/ALGORITHM.md. */
/* No contraction of a * b + c into fma: the algorithm says where fmaf is used. GCC ignores
 * the STDC pragma but does not contract in ISO C mode (-std=c11, which CMake selects). */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__) && !defined(__STRICT_ANSI__)
#error "compile the reference in ISO C mode (-std=c11): GNU mode contracts to fma"
#endif
#include <math.h>
#include <string.h>

#include "intfa_ref.h"

/* N_pad = round_up(n, 16); computed here so that intfa-ref does not need the library. */
static int64_t ref_v_padded_len(int64_t n)
{
    return (n + 15) / 16 * 16;
}

int64_t intfa_ref_v_slot(int64_t n)
{
    return (n & ~(int64_t)15) | (((n & 7) >> 1) << 2) | (((n >> 3) & 1) << 1) | (n & 1);
}

int64_t intfa_ref_v_key(int64_t s)
{
    return (s & ~(int64_t)15) | (8 * ((s & 3) >> 1) + 2 * ((s & 15) >> 2) + (s & 1));
}

static int8_t quant_one(float x, float inv, float qmax)
{
    float r = rintf(x * inv);
    if (r > qmax)
        r = qmax;
    if (r < -qmax)
        r = -qmax;
    return (int8_t)r;
}

int intfa_ref_qk_max(intfa_format fmt)
{
    return fmt == INTFA_FMT_INT4 ? 7 : 127;
}

void intfa_ref_quantize_rows_ex(const float *x, int64_t rows, int64_t ld, int d,
                                intfa_format fmt, const float *sub, int8_t *q, float *scale)
{
    const float qmax = (float)intfa_ref_qk_max(fmt);
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * ld;
        int8_t *qr = q + r * d;
        float amax = 0.0f;
        for (int j = 0; j < d; j++)
            amax = fmaxf(amax, fabsf(sub ? xr[j] - sub[j] : xr[j]));
        float inv = amax > 0.0f ? qmax / amax : 0.0f;
        scale[r] = amax / qmax;
        for (int j = 0; j < d; j++)
            qr[j] = quant_one(sub ? xr[j] - sub[j] : xr[j], inv, qmax);
    }
}

void intfa_ref_quantize_rows(const float *x, int64_t rows, int64_t ld, int d, int8_t *q,
                             float *scale)
{
    intfa_ref_quantize_rows_ex(x, rows, ld, d, INTFA_FMT_INT8, NULL, q, scale);
}

void intfa_ref_quantize_v(const float *v, int64_t n, int64_t ld, int d, intfa_v_scale mode,
                          int8_t *vt, float *scale)
{
    int64_t n_pad = ref_v_padded_len(n);
    float head_amax = 0.0f;
    if (mode == INTFA_VS_HEAD)
        for (int64_t i = 0; i < n; i++)
            for (int j = 0; j < d; j++)
                head_amax = fmaxf(head_amax, fabsf(v[i * ld + j]));
    for (int j = 0; j < d; j++) {
        float amax = head_amax;
        if (mode == INTFA_VS_CHANNEL) {
            amax = 0.0f;
            for (int64_t i = 0; i < n; i++)
                amax = fmaxf(amax, fabsf(v[i * ld + j]));
        }
        float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
        scale[j] = amax / 127.0f;
        int8_t *row = vt + (int64_t)j * n_pad;
        memset(row, 0, (size_t)n_pad);
        for (int64_t i = 0; i < n; i++)
            row[intfa_ref_v_slot(i)] = quant_one(v[i * ld + j], inv, 127.0f);
    }
}
