/* bench_report.h - intfa-bench's results and how they are written: the derived numbers (TOPS,
 * speedup over the FP16 baseline), the stdout tables and the CSV files (one line per kernel
 * and configuration, read back by bench_csv_parse and by scripts/bench_chart.py). */
#ifndef INTFA_BENCH_REPORT_H
#define INTFA_BENCH_REPORT_H

#include <stdio.h>

#include "bench_sweep.h"
#include "intfa_ref.h"

/* Kernel names in the results (scripts/bench_sdpa.py adds sdpa-flash and sdpa-cudnn). */
#define BENCH_K_FP16 "fp16"         /* our FP16 FlashAttention baseline (attn_fwd_fp16.cu) */
#define BENCH_K_INT8 "int8"         /* the INT8 attention kernel on quantized inputs */
#define BENCH_K_QUANT "quant"       /* quantization of Q, K and V (3 launches); not attention */
#define BENCH_K_DROPIN "int8+quant" /* intfa_attention: quantization + INT8 attention */
#define BENCH_K_INT4 "int4"         /* the attention kernel on INT4 Q/K (INT8 V) quantized beforehand */
#define BENCH_K_DROPIN_INT4 "int4+quant"   /* intfa_attention with qk_format INT4 */
#define BENCH_K_DROPIN_SMOOTH "int4+smooth" /* the same with smooth_k: K's mean, quantization
                                               (K - mean), INT4 attention */
#define BENCH_NAME_MAX 24

/* One timed kernel on one configuration. NaN marks what does not apply or failed. */
typedef struct bench_row {
    char kernel[BENCH_NAME_MAX];
    bench_config cfg;
    double ms;      /* median time */
    double tops;    /* bench_attn_ops / time, 1e12 ops per second; NaN for "quant" */
    double speedup; /* time of the "fp16" row of the same configuration / this time */
    double check;   /* rel L2 of this kernel's output against the "fp16" kernel's on the same
                       inputs (a sanity check of what was timed); NaN: not compared */
} bench_row;

/* Fills tops and speedup of every row from the times (NaN where they do not apply). */
void bench_derive(bench_row *rows, int n);

#define BENCH_CSV_HEADER \
    "kernel,batch,heads,seq,head_dim,causal,ms,tops,speedup_vs_fp16,rel_l2_vs_fp16"
/* The header line, then one line per row; NaN is an empty field. */
void bench_csv_write(FILE *f, const bench_row *rows, int n);
/* One data line (with or without its newline) -> row. 0, or -1 if it is not a well-formed
 * data line (the header is not one). */
int bench_csv_parse(const char *line, bench_row *row);

/* The speed table: one line per configuration, the kernels side by side; then, when there are
 * INT4 rows, the INT4 table: one line per configuration with an "int4" row, beside its INT8
 * kernel time ("x int8" = INT8 kernel time / INT4 kernel time). */
void bench_table_print(FILE *f, const bench_row *rows, int n);

/* One accuracy measurement: a method on one input distribution and shape, against exact
 * attention (FP64) on `rows` sampled query rows. */
typedef struct bench_acc_row {
    char inputs[BENCH_NAME_MAX]; /* "normal", "uniform", "k-outliers", "k-offsets" */
    char method[BENCH_NAME_MAX]; /* "int8-pu8", "int8-ps8", "int8-paper", "int8+smooth", "int4",
                                    "int4+smooth", "fp16", "fp8-e4m3"; "-sim": simulated on the
                                    CPU (C reference) because the GPU refused the method */
    bench_config cfg;
    long long rows;
    intfa_ref_metrics m;
} bench_acc_row;

#define BENCH_ACC_CSV_HEADER \
    "inputs,method,batch,heads,seq,head_dim,causal,rows,rel_l2,cosine,rel_l1,rmse,mean_rel,max_abs"
void bench_acc_csv_write(FILE *f, const bench_acc_row *rows, int n);
void bench_acc_table_print(FILE *f, const bench_acc_row *rows, int n);

#endif
