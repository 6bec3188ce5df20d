/* intfa-host-overhead: the host time of one intfa_attention call, the driver aside. Run it on
 * the made-up driver of the tests (no GPU needed), which does no work per call:
 *
 *   INTFA_LIBCUDA=build/libintfa-fake-cuda.so build/intfa-host-overhead [calls]
 *
 * It times a repeated drop-in call (B 2, H 32, N 1024, hd128, INT8: three launches) after a
 * first call has loaded its kernels, so what it prints is the library's own per-call work
 * (checks, selection, prepare fast path, parameters); on a real driver each cuLaunchKernel and
 * the context push/pop come on top. Made-up device addresses: the fake driver never reads them. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "intfa.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    const long calls = argc > 1 ? atol(argv[1]) : 200000;
    intfa_context *ctx;
    if (intfa_create(&ctx, 0) != INTFA_OK) {
        fprintf(stderr, "intfa-host-overhead: %s (set INTFA_LIBCUDA to the fake driver)\n", intfa_last_error());
        return 1;
    }
    const intfa_attn_problem p = {2, 32, 32, 1024, 1024, 128, 0.0f, 0, INTFA_DTYPE_FP16,
                                  INTFA_PQ_U8_ROW, INTFA_VS_CHANNEL, INTFA_FMT_INT8, 0};
    void *base = (void *)(uintptr_t)0x10000000u, *ws = (void *)(uintptr_t)0x30000000u;
    const intfa_tensor x = intfa_tensor_bnhd(base, 1024, 32, 128);
    size_t ws_bytes = 0;
    intfa_status st = intfa_attention_workspace_size(&p, &ws_bytes);
    if (st == INTFA_OK) st = intfa_attention(ctx, &p, &x, &x, &x, &x, NULL, ws, ws_bytes, NULL);
    if (st != INTFA_OK) {
        fprintf(stderr, "intfa-host-overhead: %s\n", intfa_last_error());
        return 1;
    }
    const double t0 = now();
    for (long i = 0; i < calls; ++i) intfa_attention(ctx, &p, &x, &x, &x, &x, NULL, ws, ws_bytes, NULL);
    const double t1 = now();
    printf("intfa_attention host time per call (driver calls excluded): %.2f us over %ld calls\n",
           (t1 - t0) / (double)calls * 1e6, calls);
    intfa_destroy(ctx);
    return 0;
}
