/* bench_inputs.h - the inputs intfa-bench measures on: fp16-rounded random tensors of four
 * distributions for the accuracy section, and a pool of random fp16 for the speed sweep. */
#ifndef INTFA_BENCH_INPUTS_H
#define INTFA_BENCH_INPUTS_H

#include <stddef.h>
#include <stdint.h>

typedef enum bench_dist {
    BENCH_IN_NORMAL = 0, /* Q, K, V ~ N(0, 1) */
    BENCH_IN_UNIFORM,    /* Q, K, V ~ U[0, 1) */
    BENCH_IN_K_OUTLIERS, /* N(0, 1), but BENCH_OUTLIER_CHANNELS channels of K (the same for
                            every token and head) ~ N(12, 8^2): the channel outliers of LLM keys */
    BENCH_IN_K_OFFSETS,  /* N(0, 1), plus a constant +-(8..16) on BENCH_OUTLIER_CHANNELS channels
                            of K, one per (head, channel), the same for every token: the channel
                            bias of LLM keys that K smoothing removes */
    BENCH_IN_COUNT
} bench_dist;

#define BENCH_OUTLIER_CHANNELS 4

/* "normal", "uniform", "k-outliers", "k-offsets". */
const char *bench_dist_name(bench_dist d);

/* Outlier channel i (0 .. BENCH_OUTLIER_CHANNELS-1) of head_dim d: distinct, in 0..d-1. */
int bench_outlier_channel(int i, int d);

/* q, k, v: dense [tokens][heads][d] floats, each value rounded to fp16; deterministic in seed. */
void bench_make_inputs(bench_dist dist, uint64_t seed, int64_t tokens, int64_t heads, int d,
                       float *q, float *k, float *v);

/* n fp16 bit patterns of N(0, 1) values. */
void bench_fp16_pool(uint64_t seed, uint16_t *pool, size_t n);

#endif
