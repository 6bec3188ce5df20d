/* bench_sweep.h - what intfa-bench measures: the problem shapes of a sweep and the operation
 * count that turns a time into TOPS. */
#ifndef INTFA_BENCH_SWEEP_H
#define INTFA_BENCH_SWEEP_H

#include <stddef.h>
#include <stdint.h>

/* Tokens per problem of the default sweep: B * N = 16k (B = 16k / N, at least 1). */
#define BENCH_TOKENS 16384
#define BENCH_HEADS 32
#define BENCH_MAX_CONFIGS 64

/* One attention problem: B sequences of N tokens, H heads (query and key/value), head_dim D,
 * self-attention (N_q = N_kv). */
typedef struct bench_config {
    int64_t batch, heads, seq, head_dim;
    int causal;
} bench_config;

/* The sweep's shape lists; filters keep the values that appear in both lists. */
typedef struct bench_sweep {
    int64_t seqs[16];
    int nseqs;
    int head_dims[2];
    int nhead_dims;
    int causals[2];
    int ncausals;
    int64_t heads, tokens;
} bench_sweep;

/* "default": H = 32, B*N = 16k, N in 1k..32k, head_dim 64 and 128, causal off and on.
 * "tiny": H = 4, B*N = 1k, N in 256, 512 (a smoke test). 0 on success, -1 for another name. */
int bench_sweep_named(const char *name, bench_sweep *s);

/* Batch of a sweep point: tokens / seq, at least 1 (so N = 32k runs one sequence of 32k). */
int64_t bench_batch_for(int64_t tokens, int64_t seq);

/* The configurations of a sweep, head_dim outermost, then causal, then N; at most cap.
 * Returns the count. */
int bench_sweep_configs(const bench_sweep *s, bench_config *out, int cap);

/* Operations of one attention forward: 4 B H N_q N_kv D (two matmuls of 2 ops per
 * multiply-add), half of that when causal. */
double bench_attn_ops(const bench_config *c);

#endif
