/* bench_inputs.c - random inputs of intfa-bench (bench_inputs.h). */
#include "bench_inputs.h"
#include "intfa_ref.h"

const char *bench_dist_name(bench_dist d)
{
    static const char *const names[BENCH_IN_COUNT] = {"normal", "uniform", "k-outliers", "k-offsets"};
    return (unsigned)d < BENCH_IN_COUNT ? names[d] : "?";
}

int bench_outlier_channel(int i, int d) { return (7 + i * (d / BENCH_OUTLIER_CHANNELS)) % d; }

static float sample(intfa_ref_rng *rng, bench_dist dist)
{
    return dist == BENCH_IN_UNIFORM ? (float)intfa_ref_uniform(rng) : (float)intfa_ref_normal(rng);
}

void bench_make_inputs(bench_dist dist, uint64_t seed, int64_t tokens, int64_t heads, int d,
                       float *q, float *k, float *v)
{
    intfa_ref_rng rng;
    intfa_ref_rng_seed(&rng, seed);
    const int64_t n = tokens * heads * d;
    for (int64_t i = 0; i < n; ++i) {
        q[i] = intfa_ref_round_dtype(sample(&rng, dist), INTFA_DTYPE_FP16);
        k[i] = intfa_ref_round_dtype(sample(&rng, dist), INTFA_DTYPE_FP16);
        v[i] = intfa_ref_round_dtype(sample(&rng, dist), INTFA_DTYPE_FP16);
    }
    if (dist == BENCH_IN_K_OFFSETS)
        for (int64_t h = 0; h < heads; ++h)
            for (int c = 0; c < BENCH_OUTLIER_CHANNELS; ++c) {
                const float off = (c & 1 ? -1.0f : 1.0f) * (8.0f + 8.0f * (float)intfa_ref_uniform(&rng));
                for (int64_t t = 0; t < tokens; ++t) {
                    float *x = &k[(t * heads + h) * d + bench_outlier_channel(c, d)];
                    *x = intfa_ref_round_dtype(*x + off, INTFA_DTYPE_FP16);
                }
            }
    if (dist != BENCH_IN_K_OUTLIERS) return;
    for (int64_t row = 0; row < tokens * heads; ++row)
        for (int c = 0; c < BENCH_OUTLIER_CHANNELS; ++c) {
            const int64_t at = row * d + bench_outlier_channel(c, d);
            k[at] = intfa_ref_round_dtype(12.0f + 8.0f * (float)intfa_ref_normal(&rng), INTFA_DTYPE_FP16);
        }
}

void bench_fp16_pool(uint64_t seed, uint16_t *pool, size_t n)
{
    intfa_ref_rng rng;
    intfa_ref_rng_seed(&rng, seed);
    for (size_t i = 0; i < n; ++i) pool[i] = intfa_ref_f32_to_f16((float)intfa_ref_normal(&rng));
}
