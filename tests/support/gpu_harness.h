/* gpu_harness.h - what the GPU tests share: opening a device (or skipping visibly with exit
 * code 77 when none exists), device buffers, random inputs in fp16/bf16, and one attention
 * case (INT8 or INT4 Q/K, with or without K smoothing) run end to end against the CPU
 * reference. */
#ifndef INTFA_GPU_HARNESS_H
#define INTFA_GPU_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "context.h"
#include "intfa_ref.h"

#define GPU_SKIP_CODE 77

/* The context every GPU test uses (device 0). On a machine without driver or device it
 * prints "SKIP: <why>" and exits with GPU_SKIP_CODE, which ctest reports as skipped. */
intfa_context *gpu_open_or_skip(const char *test_name);
void gpu_close(void);

/* Device memory through the driver API; abort with a message on any failure. */
void *gpu_alloc(size_t bytes);
void gpu_free(void *p);
void gpu_upload(void *dst, const void *src, size_t bytes);
void gpu_download(void *dst, const void *src, size_t bytes);
void gpu_fill_bytes(void *dst, unsigned char byte, size_t bytes);
void gpu_sync(void);

typedef enum { LAYOUT_BNHD, LAYOUT_BHND, LAYOUT_PADDED } gpu_layout;

/* One attention case. */
typedef struct attn_case {
    int64_t batch, heads_q, heads_kv, seq_q, seq_kv;
    int head_dim, causal;
    intfa_dtype dtype;
    intfa_p_quant p_quant;
    intfa_v_scale v_scale;
    gpu_layout layout;
    int want_lse;
    int drop_in;      /* run intfa_attention (else the quantize + attention_int8 steps) */
    int plain;        /* N(0,1) inputs only (else a few large outliers per head) */
    uint64_t seed;
    intfa_format qk_format; /* INT8 (0) or packed INT4 Q and K */
    int smooth_k;           /* K smoothing: K's mean subtracted before quantizing, the LSE bias
                               q . mean * scale added back (quantize + attention_int8: the
                               harness does it with the public calls; drop-in: problem.smooth_k) */
} attn_case;

typedef struct attn_result {
    intfa_ref_metrics vs_quant; /* GPU output vs the C quantized reference (same int8 inputs) */
    intfa_ref_metrics vs_exact; /* GPU output vs exact double attention on the fp16/bf16 inputs */
    intfa_ref_metrics ref_vs_exact; /* the C quantized reference vs exact */
    double lse_max_diff_quant;  /* max |lse_gpu - lse_ref| over rows that see keys */
    double lse_max_diff_exact;
    double lse_excess_exact;    /* max over rows of |lse_gpu - lse_exact| minus that row's bound
                                   from the Q/K quantization steps (must be <= 0) */
    int64_t quant_mismatches;   /* int8 (int4: unpacked) values or scales that differ from the C
                                   quantization of the same values (smoothing: with the GPU's mean) */
    double mean_excess;         /* smoothing: max over K's mean of |gpu - C (double)| minus the
                                   bound of its fp32 sums (must be <= 0); -inf without */
    double bias_excess;         /* the same for the LSE bias against the C bias on the GPU mean */
    int64_t unwritten;          /* outputs still holding the NaN poison */
    int64_t lse_bad_empty;      /* rows that see no key whose lse is not -inf or out not 0 */
    double kernel_ms;
} attn_result;

/* Runs the case on the GPU and on the CPU; every output element is checked. Returns the
 * intfa status of the GPU calls (INTFA_OK expected). */
intfa_status attn_case_run(const attn_case *c, attn_result *r);

/* Human-readable one-line description. */
void attn_case_describe(const attn_case *c, char *buf, size_t cap);

#endif
