/* ref_smooth.c - K smoothing: the mean of K over tokens, which the K quantization subtracts
 * (intfa_ref_quantize_rows_ex), and the LSE bias softmax_scale * q . mean that gives the
 * attention of the smoothed K the LSE of the original one. Sums in double. */
/* No contraction of a * b + c into fma: the algorithm says where fmaf is used. GCC ignores
 * the STDC pragma but does not contract in ISO C mode (-std=c11, which CMake selects). */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__) && !defined(__STRICT_ANSI__)
#error "compile the reference in ISO C mode (-std=c11): GNU mode contracts to fma"
#endif
#include <math.h>

#include "intfa_ref.h"

void intfa_ref_mean_rows(const float *x, int64_t n, int64_t ld, int d, float *mean)
{
    for (int t = 0; t < d; t++) {
        double s = 0.0;
        for (int64_t i = 0; i < n; i++)
            s += (double)x[i * ld + t];
        mean[t] = n > 0 ? (float)(s / (double)n) : 0.0f;
    }
}

void intfa_ref_lse_bias(const float *q, int64_t nq, int64_t ld, int d, const float *mean,
                        float softmax_scale, float *bias)
{
    if (softmax_scale == 0.0f)
        softmax_scale = 1.0f / sqrtf((float)d); /* fp32, as the host computes it */
    for (int64_t i = 0; i < nq; i++) {
        double s = 0.0;
        for (int t = 0; t < d; t++)
            s += (double)q[i * ld + t] * (double)mean[t];
        bias[i] = (float)((double)softmax_scale * s);
    }
}
