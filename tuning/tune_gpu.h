/* tune_gpu.h - the tuner's GPU backend (tune_run.h) on a context:
 *   compile       the kernel store (intfa_kernel_binary: AOT, cache, NVRTC), so compiled
 *                 candidates land in the disk cache and later loads are cache hits;
 *   prepare       random fp16/bf16 Q, K, V quantized on the GPU once per class
 *                 (intfa_quantize_qk / intfa_quantize_v), copied into enough input sets that
 *                 together they exceed twice the L2 cache (CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE);
 *   time_variant  CUDA events around each launch (intfa_attention_launch_variant) on the
 *                 legacy stream, warm-up launches first, the median of the timed ones, each
 *                 launch on the next input set so they do not all find their inputs in L2;
 *   verify        one launch on NaN-poisoned output, then for two heads (the first and the
 *                 last) the first and the last 32 query rows against the C reference of the
 *                 quantized algorithm (intfa_ref_attention_quant_head, the variant's block_n),
 *                 relative L2 error at most INTFA_TUNE_VERIFY_MAX_REL_L2 and nothing non-finite.
 * Not thread-safe; one run at a time per backend. */
#ifndef INTFA_TUNE_GPU_H
#define INTFA_TUNE_GPU_H

#include "context.h"
#include "tune_run.h"

/* The bound of tests/test_gpu_attention.c (MAX_REL_L2_VS_QUANT). */
#define INTFA_TUNE_VERIFY_MAX_REL_L2 1e-3
#define INTFA_TUNE_MAX_REPS 64

typedef struct intfa_tune_gpu intfa_tune_gpu;

typedef struct intfa_tune_gpu_config {
    int warmup; /* launches before timing; 0: 2 */
    int reps;   /* timed launches, 1..INTFA_TUNE_MAX_REPS; 0: 10 */
} intfa_tune_gpu_config;

/* cfg may be NULL (the defaults). */
intfa_status intfa_tune_gpu_create(intfa_context *ctx, const intfa_tune_gpu_config *cfg,
                                   intfa_tune_gpu **out);
/* Frees the device buffers and events. NULL is allowed. */
void intfa_tune_gpu_destroy(intfa_tune_gpu *g);

/* The backend whose functions work on g. */
void intfa_tune_gpu_backend(intfa_tune_gpu *g, intfa_tune_backend *b);

/* Input sets the last prepare rotates through (0 before one). */
int intfa_tune_gpu_input_sets(const intfa_tune_gpu *g);

#endif
