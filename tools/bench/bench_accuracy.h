/* bench_accuracy.h - the accuracy section of intfa-bench: the INT8 kernel in each P
 * quantization mode and in the paper's configuration, INT8 and INT4 Q/K with and without K
 * smoothing (the drop-in on the GPU; where the GPU refuses a method, the C reference's
 * simulation of it, marked "-sim"), the FP16 baseline, and a simulated FP8 e4m3 attention (CPU,
 * reference/ref_fp8.c), each against exact attention in FP64 on sampled query rows, for three
 * input distributions. */
#ifndef INTFA_BENCH_ACCURACY_H
#define INTFA_BENCH_ACCURACY_H

#include <stdio.h>

#include "bench_report.h"
#include "context.h"

#define BENCH_ACC_HEADS 4       /* heads of each accuracy problem (batch 1) */
#define BENCH_ACC_ROWS 64       /* sampled query rows per head, evenly spaced */
#define BENCH_ACC_METHODS 8     /* rows per problem */
#define BENCH_ACC_FP8_BLOCK 128 /* key tile of the simulated FP8 attention */

/* For every input distribution, head_dim in hds and N in seqs (non-causal, batch 1,
 * BENCH_ACC_HEADS heads) appends BENCH_ACC_METHODS rows (at most cap in all). ctx made
 * current by the caller. Returns the number of rows; failing GPU calls leave NaN metrics, a
 * message on stderr and a count in *failures. */
int bench_accuracy_run(intfa_context *ctx, const int64_t *seqs, int nseqs, const int *hds, int nhds,
                       bench_acc_row *rows, int cap, int *failures, FILE *log);

#endif
