/* intfa-perf: kernel-only timing of attention variants, for kernel development (what
 * intfa-bench is for users). For each shape of the issue-7 sweep (H = 32, B*N = 16k tokens)
 * it quantizes random inputs once, then times each variant with CUDA events (warm-up, median
 * of --reps launches) and checks its output against the first variant's (rel L2).
 *
 *   intfa-perf [--variant NAME]... [--hd 64|128] [--n N]... [--causal 0|1] [--reps R] [--heads H]
 *              [--dropin 0|1] [--smooth 0|1] [--varlen 0|1] [--pq pu8|ps8|pf16] [--kvblocks G]...
 * Without --variant: the runtime's selection for each shape (of P mode --pq; pf16 variants read
 * the fp16 V as given, the others the quantized V). --dropin 1 also times, in the same
 * process, the drop-in (intfa_attention on the fp16 inputs, K smoothing per --smooth), its K/V
 * pass alone with the bytes it moves per second, and a device-to-device copy of those bytes.
 * --varlen 1 (with --dropin 1) also times intfa_attention_varlen on the same tokens as B
 * sequences of N (equal lengths), against the batched drop-in. On sm_90 the drop-in's K/V pass
 * is the streamed one (docs/ALGORITHM.md): the drop-in is also timed with the pass serialized
 * (the context's kv_stream_blocks set to 0: every SM, then the attention kernel) and, per
 * --kvblocks G, with G streamed blocks; the pass alone is timed serialized.
 * --overhead 1: instead of the sweep, the host time of one call (wall clock over 200 calls
 * queued back to back on a tiny problem, median of 9): the drop-in with each K/V pass and the
 * INT8 call, the driver's launches included. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attention_launch.h"
#include "intfa_ref.h"
#include "quantize.h"
#include "select.h"

#define MAX_LIST 16
#define FAIL(...) do { fprintf(stderr, "intfa-perf: " __VA_ARGS__); fputc('\n', stderr); exit(1); } while (0)
#define CHECK(call) do { intfa_status s_ = (call); if (s_ != INTFA_OK) \
    FAIL("%s: %s: %s", #call, intfa_status_string(s_), intfa_last_error()); } while (0)
#define CU(call) do { if ((call) != CUDA_SUCCESS) FAIL("%s failed", #call); } while (0)

typedef struct perf_opts {
    const char *variants[MAX_LIST];
    int nvariants;
    int64_t ns[MAX_LIST];
    int nns;
    int hd, causal, reps, heads, dropin, smooth, varlen;
    int kvblocks[MAX_LIST], nkvblocks, overhead;
    intfa_p_quant pq;
} perf_opts;

static void parse(int argc, char **argv, perf_opts *o)
{
    memset(o, 0, sizeof *o);
    o->hd = 128;
    o->reps = 30;
    o->heads = 32;
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!val) FAIL("%s needs a value", a);
        ++i;
        if (!strcmp(a, "--variant") && o->nvariants < MAX_LIST) o->variants[o->nvariants++] = val;
        else if (!strcmp(a, "--n") && o->nns < MAX_LIST) o->ns[o->nns++] = strtoll(val, NULL, 10);
        else if (!strcmp(a, "--hd")) o->hd = atoi(val);
        else if (!strcmp(a, "--causal")) o->causal = atoi(val);
        else if (!strcmp(a, "--reps")) o->reps = atoi(val);
        else if (!strcmp(a, "--heads")) o->heads = atoi(val);
        else if (!strcmp(a, "--dropin")) o->dropin = atoi(val);
        else if (!strcmp(a, "--smooth")) o->smooth = atoi(val);
        else if (!strcmp(a, "--varlen")) o->varlen = atoi(val);
        else if (!strcmp(a, "--kvblocks") && o->nkvblocks < MAX_LIST) o->kvblocks[o->nkvblocks++] = atoi(val);
        else if (!strcmp(a, "--overhead")) o->overhead = atoi(val);
        else if (!strcmp(a, "--pq")) {
            if (!strcmp(val, "pu8")) o->pq = INTFA_PQ_U8_ROW;
            else if (!strcmp(val, "ps8")) o->pq = INTFA_PQ_S8_127;
            else if (!strcmp(val, "pf16")) o->pq = INTFA_PQ_F16;
            else FAIL("--pq %s: expected pu8, ps8 or pf16", val);
        }
        else FAIL("unknown option %s", a);
    }
    if (!o->nns) {
        const int64_t def[] = {1024, 4096, 16384};
        for (int i = 0; i < 3; ++i) o->ns[o->nns++] = def[i];
    }
    if (o->reps < 1) o->reps = 1;
}

static int cmp_float(const void *a, const void *b)
{
    const float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Random fp16 [B, N, H, D] on the device. */
static void *random_fp16(intfa_ref_rng *rng, const intfa_cu *cu, int64_t n)
{
    uint16_t *h = malloc((size_t)n * 2);
    for (int64_t i = 0; i < n; ++i) h[i] = intfa_ref_f32_to_f16((float)intfa_ref_normal(rng));
    CUdeviceptr d;
    CU(cu->MemAlloc(&d, (size_t)n * 2));
    CU(cu->MemcpyHtoD(d, h, (size_t)n * 2));
    free(h);
    return (void *)(uintptr_t)d;
}

/* Median of reps timed calls of fn (after 3 warm-ups), ms. */
typedef intfa_status (*timed_fn)(void *arg);
static double time_median(const intfa_cu *cu, CUevent e0, CUevent e1, int reps, timed_fn fn, void *arg)
{
    float *t = malloc((size_t)reps * sizeof *t);
    for (int r = 0; r < reps + 3; ++r) {
        CU(cu->EventRecord(e0, NULL));
        CHECK(fn(arg));
        CU(cu->EventRecord(e1, NULL));
        CU(cu->EventSynchronize(e1));
        if (r >= 3) CU(cu->EventElapsedTime(&t[r - 3], e0, e1));
    }
    qsort(t, (size_t)reps, sizeof *t, cmp_float);
    const double ms = t[reps / 2];
    free(t);
    return ms;
}

typedef struct dropin_args {
    intfa_context *ctx;
    const intfa_attn_problem *pr;
    const intfa_tensor *x, *out;
    const int32_t *cu; /* --varlen: B + 1 cumulative counts of equal lengths */
    intfa_kv_quant_out kv;
    CUdeviceptr src, dst;
    size_t bytes;
} dropin_args;

static intfa_status run_dropin(void *arg)
{
    dropin_args *a = arg;
    return intfa_attention(a->ctx, a->pr, &a->x[0], &a->x[1], &a->x[2], a->out, NULL, NULL, 0, NULL);
}

/* The same tokens as pr->batch sequences of pr->seq_q, packed [B N, H, D]. */
static intfa_status run_varlen(void *arg)
{
    dropin_args *a = arg;
    intfa_attn_problem p = *a->pr;
    p.seq_q *= p.batch;
    p.seq_kv *= p.batch;
    intfa_tensor t[4];
    for (int i = 0; i < 4; ++i) {
        t[i] = i < 3 ? a->x[i] : *a->out;
        t[i].stride_b = 0;
    }
    return intfa_attention_varlen(a->ctx, &p, &t[0], &t[1], &t[2], a->cu, a->cu, &t[3], NULL, NULL, 0, NULL);
}

static intfa_status run_kv_pass(void *arg)
{
    dropin_args *a = arg;
    const intfa_attn_problem *p = a->pr;
    intfa_status st = intfa_ctx_enter(a->ctx);
    if (st != INTFA_OK) return st;
    uint64_t streamed; /* the pass alone: on every SM (sm_90: the streamed kernel serialized) */
    const int blocks = a->ctx->kv_stream_blocks;
    a->ctx->kv_stream_blocks = 0;
    st = intfa_quantize_kv_launch(a->ctx, &a->x[1], &a->x[2], p->dtype, p->batch, p->heads_kv, p->seq_kv,
                                  p->head_dim, p->smooth_k, p->v_scale, &a->kv, NULL, &streamed);
    a->ctx->kv_stream_blocks = blocks;
    intfa_ctx_leave(a->ctx);
    return st;
}

static intfa_status run_copy(void *arg)
{
    dropin_args *a = arg;
    return a->ctx->cu->MemcpyDtoD(a->dst, a->src, a->bytes) == CUDA_SUCCESS ? INTFA_OK : INTFA_ERR_CUDA;
}

/* The drop-in, its K/V pass and a copy of the pass's bytes, timed beside the kernels. */
static void time_dropin(intfa_context *ctx, const perf_opts *o, intfa_attn_problem pr,
                        const intfa_tensor x[3], const intfa_tensor *ot, CUevent e0, CUevent e1,
                        double kernel_ms)
{
    const intfa_cu *cu = ctx->cu;
    pr.smooth_k = o->smooth;
    const int64_t B = pr.batch, H = pr.heads_kv, N = pr.seq_kv, D = pr.head_dim;
    const int64_t n = B * H * N * D, npad = intfa_v_padded_len(N);
    int32_t *counts = calloc((size_t)B + 1, sizeof *counts);
    for (int64_t b = 0; b < B; ++b) counts[b + 1] = (int32_t)((b + 1) * N);
    dropin_args a = {ctx, &pr, x, ot, counts, {0}, 0, 0, 0};
    CUdeviceptr k8, v8, ks, vs, mean, part;
    CU(cu->MemAlloc(&k8, (size_t)n));
    CU(cu->MemAlloc(&v8, (size_t)(B * H * D * npad)));
    CU(cu->MemAlloc(&ks, (size_t)(B * H * N) * 4));
    CU(cu->MemAlloc(&vs, (size_t)(B * H * D) * 4));
    CU(cu->MemAlloc(&mean, (size_t)(B * H * D) * 4));
    CU(cu->MemAlloc(&part, (size_t)intfa_kv_part_bytes(B * H, N, D) + 256));
    CUdeviceptr sync;
    CU(cu->MemAlloc(&sync, (size_t)intfa_kv_sync_words(B * H) * 4));
    a.kv = (intfa_kv_quant_out){(int8_t *)(uintptr_t)k8, (int8_t *)(uintptr_t)v8, (float *)(uintptr_t)ks,
                                (float *)(uintptr_t)vs, (float *)(uintptr_t)mean, (float *)(uintptr_t)part, NULL, 0,
                                (uint32_t *)(uintptr_t)sync};
    /* bytes the pass moves: V (and K with smoothing) read by the statistics pass, K and V read
     * and int8 K, V written with their scales by the second */
    a.bytes = (size_t)(n * 2 * (o->smooth ? 2 : 1) + n * 2 * 2 + n + B * H * D * npad + B * H * N * 4);
    CU(cu->MemAlloc(&a.src, a.bytes));
    CU(cu->MemAlloc(&a.dst, a.bytes));
    const double d_ms = time_median(cu, e0, e1, o->reps, run_dropin, &a);
    const int streaming = ctx->kv_stream_blocks;
    if (streaming > 0 && pr.p_quant != INTFA_PQ_F16) {
        ctx->kv_stream_blocks = 0;
        const double two_ms = time_median(cu, e0, e1, o->reps, run_dropin, &a);
        printf("  drop-in, streamed K/V pass (%d blocks) %8.3f ms = %.3fx kernel; serialized pass %8.3f ms = %.3fx\n",
               streaming, d_ms, d_ms / kernel_ms, two_ms, two_ms / kernel_ms);
        for (int i = 0; i < o->nkvblocks; ++i) {
            ctx->kv_stream_blocks = o->kvblocks[i];
            const double g_ms = time_median(cu, e0, e1, o->reps, run_dropin, &a);
            printf("  drop-in, streamed K/V pass (%d blocks) %8.3f ms = %.3fx kernel\n", o->kvblocks[i], g_ms,
                   g_ms / kernel_ms);
        }
        ctx->kv_stream_blocks = streaming;
    }
    if (pr.p_quant == INTFA_PQ_F16) { /* no K/V pass: K is quantized on its own */
        printf("  drop-in %8.3f ms = %.3fx kernel (pf16: K quantized alone, V read as given) | smooth_k %d\n",
               d_ms, d_ms / kernel_ms, o->smooth);
    } else {
        const double kv_ms = time_median(cu, e0, e1, o->reps, run_kv_pass, &a);
        const double cp_ms = time_median(cu, e0, e1, o->reps, run_copy, &a);
        /* the copy reads and writes a.bytes: 2 a.bytes moved */
        const double kv_bw = a.bytes / kv_ms * 1e-6, cp_bw = 2.0 * a.bytes / cp_ms * 1e-6;
        printf("  drop-in %8.3f ms = %.3fx kernel | K/V pass %.3f ms, %.1f MB at %.0f GB/s = %.0f%% of "
               "copy bandwidth (%.0f GB/s, read+write) | smooth_k %d\n",
               d_ms, d_ms / kernel_ms, kv_ms, a.bytes * 1e-6, kv_bw, 100.0 * kv_bw / cp_bw, cp_bw, o->smooth);
    }
    if (o->varlen && pr.p_quant != INTFA_PQ_F16) {
        const double v_ms = time_median(cu, e0, e1, o->reps, run_varlen, &a);
        printf("  varlen (%lld sequences of %lld) %8.3f ms = %.3fx the batched drop-in\n", (long long)B,
               (long long)N, v_ms, v_ms / d_ms);
    }
    fflush(stdout);
    free(counts);
    CU(cu->MemFree(k8)); CU(cu->MemFree(v8)); CU(cu->MemFree(ks)); CU(cu->MemFree(vs));
    CU(cu->MemFree(mean)); CU(cu->MemFree(part)); CU(cu->MemFree(sync)); CU(cu->MemFree(a.src)); CU(cu->MemFree(a.dst));
}

static double rel_l2_fp16(const uint16_t *a, const uint16_t *b, int64_t n)
{
    double se = 0, sr = 0;
    for (int64_t i = 0; i < n; ++i) {
        const double x = intfa_ref_f16_to_f32(a[i]), y = intfa_ref_f16_to_f32(b[i]);
        se += (x - y) * (x - y);
        sr += y * y;
    }
    return sr > 0 ? sqrt(se / sr) : sqrt(se);
}

/* One launch of var: pf16 variants take V as given (x_v), the others the quantized V. */
static intfa_status launch_one(intfa_context *ctx, const intfa_variant *var, const intfa_attn_problem *pr,
                               float scale, const intfa_qk_int8 *q, const intfa_qk_int8 *k,
                               const intfa_v_int8 *v, const intfa_tensor *x_v, const intfa_tensor *out)
{
    if (var->p_quant != INTFA_PQ_F16)
        return intfa_attention_launch_variant(ctx, var, pr, scale, q, k, v, out, NULL, NULL);
    intfa_attn_params p = intfa_attention_params_v16(pr, scale, q, k, x_v, out, NULL);
    return intfa_attention_launch_params(ctx, var, pr, &p, pr->seq_q, NULL);
}

static double wall_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Host microseconds per call of fn over 200 calls queued back to back, median of 9 rounds. */
static double host_us(const intfa_cu *cu, intfa_status (*fn)(void *), void *arg)
{
    double r[9];
    for (int round = 0; round < 10; ++round) {
        CU(cu->CtxSynchronize());
        const double t0 = wall_s();
        for (int i = 0; i < 200; ++i) CHECK(fn(arg));
        const double us = (wall_s() - t0) / 200 * 1e6;
        if (round > 0) r[round - 1] = us; /* round 0 warms up */
    }
    CU(cu->CtxSynchronize());
    for (int i = 1; i < 9; ++i)
        for (int j = i; j > 0 && r[j] < r[j - 1]; --j) {
            const double x = r[j];
            r[j] = r[j - 1];
            r[j - 1] = x;
        }
    return r[4];
}

typedef struct int8_args {
    intfa_context *ctx;
    const intfa_attn_problem *pr;
    intfa_qk_int8 q, k;
    intfa_v_int8 v;
    intfa_tensor out;
} int8_args;

static intfa_status run_int8(void *arg)
{
    int8_args *a = arg;
    return intfa_attention_int8(a->ctx, a->pr, &a->q, &a->k, &a->v, &a->out, NULL, NULL);
}

/* --overhead 1: B 1, N 128, H_q 8, H_kv 2, hd64, causal (the Python overhead test's problem). */
static void measure_overhead(intfa_context *ctx)
{
    const intfa_cu *cu = ctx->cu;
    const int64_t N = 128, Hq = 8, Hk = 2, D = 64;
    intfa_attn_problem pr = {1, Hq, Hk, N, N, D, 0.0f, 1, INTFA_DTYPE_FP16, INTFA_PQ_U8_ROW, INTFA_VS_CHANNEL};
    intfa_ref_rng rng;
    intfa_ref_rng_seed(&rng, 5);
    intfa_tensor x[3] = {intfa_tensor_bnhd(random_fp16(&rng, cu, N * Hq * D), N, Hq, D),
                         intfa_tensor_bnhd(random_fp16(&rng, cu, N * Hk * D), N, Hk, D),
                         intfa_tensor_bnhd(random_fp16(&rng, cu, N * Hk * D), N, Hk, D)};
    CUdeviceptr out, q8, k8, v8, qs, ks, vs;
    CU(cu->MemAlloc(&out, (size_t)(N * Hq * D) * 2));
    CU(cu->MemAlloc(&q8, (size_t)(N * Hq * D)));
    CU(cu->MemAlloc(&k8, (size_t)(N * Hk * D)));
    CU(cu->MemAlloc(&v8, (size_t)(Hk * D * intfa_v_padded_len(N))));
    CU(cu->MemAlloc(&qs, (size_t)(N * Hq) * 4));
    CU(cu->MemAlloc(&ks, (size_t)(N * Hk) * 4));
    CU(cu->MemAlloc(&vs, (size_t)(Hk * D) * 4));
    const intfa_tensor ot = intfa_tensor_bnhd((void *)(uintptr_t)out, N, Hq, D);
    dropin_args a = {ctx, &pr, x, &ot, NULL, {0}, 0, 0, 0};
    CHECK(intfa_quantize_qk(ctx, &x[0], INTFA_DTYPE_FP16, 1, Hq, N, D, (int8_t *)(uintptr_t)q8, (float *)(uintptr_t)qs, NULL));
    CHECK(intfa_quantize_qk(ctx, &x[1], INTFA_DTYPE_FP16, 1, Hk, N, D, (int8_t *)(uintptr_t)k8, (float *)(uintptr_t)ks, NULL));
    CHECK(intfa_quantize_v(ctx, &x[2], INTFA_DTYPE_FP16, 1, Hk, N, D, INTFA_VS_CHANNEL, (int8_t *)(uintptr_t)v8, (float *)(uintptr_t)vs, NULL));
    int8_args b = {ctx, &pr, {intfa_tensor_bhnd((void *)(uintptr_t)q8, N, Hq, D), (float *)(uintptr_t)qs, NULL},
                   {intfa_tensor_bhnd((void *)(uintptr_t)k8, N, Hk, D), (float *)(uintptr_t)ks, NULL},
                   {(int8_t *)(uintptr_t)v8, (float *)(uintptr_t)vs}, ot};
    const int streaming = ctx->kv_stream_blocks;
    const double d_us = host_us(cu, run_dropin, &a);
    ctx->kv_stream_blocks = 0;
    const double two_us = host_us(cu, run_dropin, &a);
    ctx->kv_stream_blocks = streaming;
    const double i8_us = host_us(cu, run_int8, &b);
    printf("host time per call (B 1, N 128, H 8/2, hd64, causal; 200 calls queued, median of 9): drop-in "
           "%.1f us (K/V pass: %s), drop-in with the pass serialized %.1f us, intfa_attention_int8 %.1f us\n",
           d_us, streaming ? "streamed" : "not streamed", two_us, i8_us);
    for (int t = 0; t < 3; ++t) CU(cu->MemFree((CUdeviceptr)(uintptr_t)x[t].data));
    CU(cu->MemFree(out)); CU(cu->MemFree(q8)); CU(cu->MemFree(k8)); CU(cu->MemFree(v8));
    CU(cu->MemFree(qs)); CU(cu->MemFree(ks)); CU(cu->MemFree(vs));
}

int main(int argc, char **argv)
{
    perf_opts o;
    parse(argc, argv, &o);
    intfa_context *ctx;
    intfa_status st = intfa_create(&ctx, 0);
    if (st == INTFA_ERR_NO_DRIVER || st == INTFA_ERR_NO_DEVICE) {
        printf("SKIP: intfa-perf needs a GPU (%s)\n", intfa_last_error());
        return 77;
    }
    CHECK(st);
    const intfa_cu *cu = ctx->cu;
    CU(cu->CtxSetCurrent(ctx->cuctx));
    if (o.overhead) {
        measure_overhead(ctx);
        intfa_destroy(ctx);
        return 0;
    }
    printf("%s, %s; hd %d, %s, H %d, B*N = 16k, median of %d\n", ctx->device_name,
           intfa_arch_name(ctx->arch), o.hd, o.causal ? "causal" : "non-causal", o.heads, o.reps);
    printf("%-56s %7s %9s %8s %9s\n", "variant", "N", "ms", "TOPS", "relL2");
    intfa_ref_rng rng;
    intfa_ref_rng_seed(&rng, 77);
    CUevent e0, e1;
    CU(cu->EventCreate(&e0, 0));
    CU(cu->EventCreate(&e1, 0));
    for (int ni = 0; ni < o.nns; ++ni) {
        const int64_t N = o.ns[ni], B = 16384 / N > 0 ? 16384 / N : 1, H = o.heads, D = o.hd;
        const int64_t n = B * N * H * D, npad = intfa_v_padded_len(N);
        intfa_attn_problem pr = {B, H, H, N, N, D, 0.0f, o.causal, INTFA_DTYPE_FP16, o.pq, INTFA_VS_CHANNEL};
        intfa_tensor x[3];
        for (int t = 0; t < 3; ++t) x[t] = intfa_tensor_bnhd(random_fp16(&rng, cu, n), N, H, D);
        CUdeviceptr q8, k8, v8, qs, ks, vs, out;
        CU(cu->MemAlloc(&q8, (size_t)n));
        CU(cu->MemAlloc(&k8, (size_t)n));
        CU(cu->MemAlloc(&v8, (size_t)(B * H * D * npad)));
        CU(cu->MemAlloc(&qs, (size_t)(B * H * N) * 4));
        CU(cu->MemAlloc(&ks, (size_t)(B * H * N) * 4));
        CU(cu->MemAlloc(&vs, (size_t)(B * H * D) * 4));
        CU(cu->MemAlloc(&out, (size_t)n * 2));
        CHECK(intfa_quantize_qk(ctx, &x[0], INTFA_DTYPE_FP16, B, H, N, D, (int8_t *)(uintptr_t)q8, (float *)(uintptr_t)qs, NULL));
        CHECK(intfa_quantize_qk(ctx, &x[1], INTFA_DTYPE_FP16, B, H, N, D, (int8_t *)(uintptr_t)k8, (float *)(uintptr_t)ks, NULL));
        CHECK(intfa_quantize_v(ctx, &x[2], INTFA_DTYPE_FP16, B, H, N, D, INTFA_VS_CHANNEL, (int8_t *)(uintptr_t)v8, (float *)(uintptr_t)vs, NULL));
        const intfa_qk_int8 qq = {intfa_tensor_bhnd((void *)(uintptr_t)q8, N, H, D), (float *)(uintptr_t)qs};
        const intfa_qk_int8 kq = {intfa_tensor_bhnd((void *)(uintptr_t)k8, N, H, D), (float *)(uintptr_t)ks};
        const intfa_v_int8 vq = {(int8_t *)(uintptr_t)v8, (float *)(uintptr_t)vs};
        intfa_tensor ot = intfa_tensor_bnhd((void *)(uintptr_t)out, N, H, D);
        uint16_t *first = malloc((size_t)n * 2), *cur = malloc((size_t)n * 2);
        const int nv = o.nvariants ? o.nvariants : 1;
        double first_ms = 0;
        for (int vi = 0; vi < nv; ++vi) {
            intfa_variant var;
            if (o.nvariants) CHECK(intfa_variant_parse(o.variants[vi], &var));
            else CHECK(intfa_select_attention(ctx, &pr, &var));
            var.arch = ctx->arch;
            var.causal = o.causal;
            char name[INTFA_VARIANT_NAME_MAX];
            CHECK(intfa_variant_name(&var, name, sizeof name));
            if (intfa_variant_check(&var) != INTFA_OK) {
                printf("%-56s %7lld  invalid: %s\n", name, (long long)N, intfa_last_error());
                continue;
            }
            const float scale = 1.0f / sqrtf((float)D);
            CU(cu->MemsetD8(out, 0xff, (size_t)n * 2));
            CHECK(intfa_ctx_enter(ctx));
            st = launch_one(ctx, &var, &pr, scale, &qq, &kq, &vq, &x[2], &ot);
            intfa_ctx_leave(ctx);
            if (st != INTFA_OK) {
                printf("%-56s %7lld  failed: %s\n", name, (long long)N, intfa_last_error());
                continue;
            }
            CU(cu->CtxSynchronize());
            CU(cu->MemcpyDtoH(vi == 0 ? first : cur, out, (size_t)n * 2));
            const double err = vi == 0 ? 0.0 : rel_l2_fp16(cur, first, n);
            float *t = malloc((size_t)o.reps * sizeof *t);
            CHECK(intfa_ctx_enter(ctx));
            for (int r = 0; r < o.reps + 3; ++r) {
                CU(cu->EventRecord(e0, NULL));
                CHECK(launch_one(ctx, &var, &pr, scale, &qq, &kq, &vq, &x[2], &ot));
                CU(cu->EventRecord(e1, NULL));
                CU(cu->EventSynchronize(e1));
                if (r >= 3) CU(cu->EventElapsedTime(&t[r - 3], e0, e1));
            }
            intfa_ctx_leave(ctx);
            qsort(t, (size_t)o.reps, sizeof *t, cmp_float);
            const double ms = t[o.reps / 2];
            const double ops = 4.0 * B * H * N * N * D * (o.causal ? 0.5 : 1.0);
            printf("%-56s %7lld %9.3f %8.1f %9.2e\n", name, (long long)N, ms, ops / ms * 1e-9, err);
            fflush(stdout);
            free(t);
            if (vi == 0) first_ms = ms;
        }
        /* the drop-in against the first variant (the selection without --variant) */
        if (o.dropin && first_ms > 0) time_dropin(ctx, &o, pr, x, &ot, e0, e1, first_ms);
        free(first);
        free(cur);
        for (int t = 0; t < 3; ++t) CU(cu->MemFree((CUdeviceptr)(uintptr_t)x[t].data));
        CU(cu->MemFree(q8)); CU(cu->MemFree(k8)); CU(cu->MemFree(v8));
        CU(cu->MemFree(qs)); CU(cu->MemFree(ks)); CU(cu->MemFree(vs)); CU(cu->MemFree(out));
    }
    intfa_destroy(ctx);
    return 0;
}
