/* bench_speed.h - the timing sweep of intfa-bench: every configuration, every kernel (the FP16
 * baseline, the INT8 attention, the quantization, the drop-in; the INT4 attention and its
 * drop-in without and with K smoothing), CUDA events, warm-up, median,
 * inputs rotated through enough distinct sets to exceed twice the L2 cache. */
#ifndef INTFA_BENCH_SPEED_H
#define INTFA_BENCH_SPEED_H

#include <stdio.h>

#include "bench_report.h"
#include "context.h"

#define BENCH_MAX_SETS 256
#define BENCH_KERNELS 7 /* rows per configuration: fp16, int8, int8+quant, quant, int4,
                           int4+quant, int4+smooth */

/* Number of input sets to cycle through: enough that 2 x l2_bytes is exceeded by the smallest
 * one any kernel reads (set_bytes), at least 2, at most BENCH_MAX_SETS. */
int bench_input_sets(long long l2_bytes, long long set_bytes);

/* Times the ncfg configurations on ctx (entered by the caller with cuCtxSetCurrent), writing
 * BENCH_KERNELS rows per configuration into rows (cap at least that many) and the set count
 * into *sets. Progress goes to log. Returns the number of rows; a kernel that fails gets a NaN
 * time and a message on stderr, and *failures counts it. */
int bench_speed_run(intfa_context *ctx, const bench_config *cfgs, int ncfg, int reps, int warmup,
                    bench_row *rows, int cap, int *sets, int *failures, FILE *log);

#endif
