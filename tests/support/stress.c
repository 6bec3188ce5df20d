/* stress.c - one context, many threads (stress.h). */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intfa_ref.h"
#include "stress.h"

/* head_dim, causal, dtype, P quantization, Q/K format, K smoothing: eight kernel variants */
static const struct {
    int d, causal;
    intfa_dtype dtype;
    intfa_p_quant pq;
    intfa_format fmt;
    int smooth;
    double bound; /* relative L2 error vs exact attention on N(0,1) inputs (test_gpu_attention) */
} classes[STRESS_CLASSES] = {
    {64, 0, INTFA_DTYPE_FP16, INTFA_PQ_U8_ROW, INTFA_FMT_INT8, 0, 2e-2},
    {128, 1, INTFA_DTYPE_FP16, INTFA_PQ_U8_ROW, INTFA_FMT_INT8, 0, 2e-2},
    {64, 1, INTFA_DTYPE_BF16, INTFA_PQ_U8_ROW, INTFA_FMT_INT8, 0, 2e-2},
    {128, 0, INTFA_DTYPE_BF16, INTFA_PQ_U8_ROW, INTFA_FMT_INT8, 0, 2e-2},
    {128, 1, INTFA_DTYPE_FP16, INTFA_PQ_S8_127, INTFA_FMT_INT8, 0, 8e-2},
    {64, 0, INTFA_DTYPE_FP16, INTFA_PQ_S8_127, INTFA_FMT_INT8, 0, 8e-2},
    {128, 0, INTFA_DTYPE_FP16, INTFA_PQ_U8_ROW, INTFA_FMT_INT4, 0, 0.35},
    {64, 0, INTFA_DTYPE_BF16, INTFA_PQ_U8_ROW, INTFA_FMT_INT8, 1, 2e-2},
};

int stress_class_of(int thread, int call) { return (thread + 3 * call) % STRESS_CLASSES; }

intfa_attn_problem stress_problem(int cls)
{
    intfa_attn_problem p;
    memset(&p, 0, sizeof p);
    p.batch = 1;
    p.heads_q = p.heads_kv = 2;
    p.seq_q = 96 + 4 * cls;
    p.seq_kv = 128 - 4 * cls;
    p.head_dim = classes[cls].d;
    p.causal = classes[cls].causal;
    p.dtype = classes[cls].dtype;
    p.p_quant = classes[cls].pq;
    p.qk_format = classes[cls].fmt;
    p.smooth_k = classes[cls].smooth;
    return p;
}

/* K's mean (with smoothing), Q, K, V (amax, pack, scale), attention */
/* INT8: the K/V pass (2) and the attention kernel, which quantizes Q; INT4: K's mean (smooth),
 * Q and K, V (3) and the attention kernel */
int stress_launches_per_call(int cls)
{
    if (classes[cls].fmt == INTFA_FMT_INT8) return 2 + 1;
    return (classes[cls].smooth ? 1 : 0) + 2 + 3 + 1;
}

/* ------------------------------------------------------------------ one thread */

typedef struct worker {
    intfa_context *ctx;
    const stress_config *cfg;
    int index;
    pthread_barrier_t *start;
    long failed, bad;
    double worst;
} worker;

/* Device buffers of one call: fp16/bf16 [1, N, 2, D] Q, K, V and the output. */
typedef struct call_io {
    CUdeviceptr q, k, v, o;
    float *hq, *hk, *hv; /* the inputs as the device holds them (rounded), for the reference */
} call_io;

static int cu_ok(CUresult r, const char *what, int thread)
{
    if (r != CUDA_SUCCESS) fprintf(stderr, "stress thread %d: %s failed (%d)\n", thread, what, (int)r);
    return r == CUDA_SUCCESS;
}

static uint16_t to_dtype(float x, intfa_dtype t)
{
    return t == INTFA_DTYPE_BF16 ? intfa_ref_f32_to_bf16(x) : intfa_ref_f32_to_f16(x);
}

static float from_dtype(uint16_t h, intfa_dtype t)
{
    return t == INTFA_DTYPE_BF16 ? intfa_ref_bf16_to_f32(h) : intfa_ref_f16_to_f32(h);
}

/* Random N(0,1) input of n values: uploaded to *dev, the rounded values kept in *host. */
static int make_input(worker *w, intfa_ref_rng *rng, int64_t n, intfa_dtype t, CUdeviceptr *dev, float **host)
{
    uint16_t *h = malloc((size_t)n * 2);
    *host = malloc((size_t)n * sizeof(float));
    if (!h || !*host) {
        free(h);
        return 0;
    }
    for (int64_t i = 0; i < n; i++) {
        h[i] = to_dtype((float)intfa_ref_normal(rng), t);
        (*host)[i] = from_dtype(h[i], t);
    }
    int ok = cu_ok(w->ctx->cu->MemAlloc(dev, (size_t)n * 2), "cuMemAlloc", w->index) &&
             cu_ok(w->ctx->cu->MemcpyHtoD(*dev, h, (size_t)n * 2), "cuMemcpyHtoD", w->index);
    free(h);
    return ok;
}

/* The output against exact attention, per head; returns the error as a fraction of the bound. */
static double check_output(worker *w, const intfa_attn_problem *p, int cls, const call_io *io)
{
    const int64_t H = p->heads_q, D = p->head_dim, nq = p->seq_q, nk = p->seq_kv;
    uint16_t *out = malloc((size_t)(nq * H * D) * 2);
    float *got = malloc((size_t)(nq * D) * sizeof(float));
    double *ref = malloc((size_t)(nq * D) * sizeof(double)), *lse = malloc((size_t)nq * sizeof(double));
    double worst = INFINITY;
    if (out && got && ref && lse &&
        cu_ok(w->ctx->cu->MemcpyDtoH(out, io->o, (size_t)(nq * H * D) * 2), "cuMemcpyDtoH", w->index)) {
        worst = 0;
        for (int64_t h = 0; h < H; h++) {
            intfa_ref_attention_exact_head(io->hq + h * D, H * D, io->hk + h * D, H * D, io->hv + h * D,
                                           H * D, nq, nk, (int)D, 1.0 / sqrt((double)D), p->causal, ref, lse);
            for (int64_t r = 0; r < nq; r++)
                for (int64_t c = 0; c < D; c++) got[r * D + c] = from_dtype(out[(r * H + h) * D + c], p->dtype);
            intfa_ref_metrics m;
            intfa_ref_compare(got, ref, nq * D, &m);
            const double f = isfinite(m.rel_l2) ? m.rel_l2 / classes[cls].bound : INFINITY;
            if (f > worst) worst = f;
        }
    }
    free(out);
    free(got);
    free(ref);
    free(lse);
    return worst;
}

static void one_call(worker *w, CUstream stream, CUdeviceptr ws, size_t ws_bytes, int call)
{
    const int cls = stress_class_of(w->index, call);
    const intfa_attn_problem p = stress_problem(cls);
    intfa_ref_rng rng;
    intfa_ref_rng_seed(&rng, (uint64_t)(w->index * 1000 + call + 1));
    call_io io;
    memset(&io, 0, sizeof io);
    const int64_t nq = p.seq_q * p.heads_q * p.head_dim, nk = p.seq_kv * p.heads_kv * p.head_dim;
    int ok = make_input(w, &rng, nq, p.dtype, &io.q, &io.hq) && make_input(w, &rng, nk, p.dtype, &io.k, &io.hk) &&
             make_input(w, &rng, nk, p.dtype, &io.v, &io.hv) &&
             cu_ok(w->ctx->cu->MemAlloc(&io.o, (size_t)nq * 2), "cuMemAlloc", w->index);
    if (ok) {
        const intfa_tensor q = intfa_tensor_bnhd((void *)(uintptr_t)io.q, p.seq_q, p.heads_q, p.head_dim);
        const intfa_tensor k = intfa_tensor_bnhd((void *)(uintptr_t)io.k, p.seq_kv, p.heads_kv, p.head_dim);
        const intfa_tensor v = intfa_tensor_bnhd((void *)(uintptr_t)io.v, p.seq_kv, p.heads_kv, p.head_dim);
        const intfa_tensor o = intfa_tensor_bnhd((void *)(uintptr_t)io.o, p.seq_q, p.heads_q, p.head_dim);
        intfa_status st = intfa_attention(w->ctx, &p, &q, &k, &v, &o, NULL, (void *)(uintptr_t)ws,
                                          ws_bytes, (void *)stream);
        if (st != INTFA_OK) {
            fprintf(stderr, "stress thread %d, call %d (class %d): %s: %s\n", w->index, call, cls,
                    intfa_status_string(st), intfa_last_error());
            ok = 0;
        } else {
            ok = cu_ok(w->ctx->cu->StreamSynchronize(stream), "cuStreamSynchronize", w->index);
        }
    }
    if (ok && w->cfg->check_results) {
        const double f = check_output(w, &p, cls, &io);
        if (f > w->worst) w->worst = f;
        if (!(f <= 1.0)) {
            fprintf(stderr, "stress thread %d, call %d (class %d): error %.3g x its bound\n", w->index, call, cls, f);
            w->bad++;
        }
    }
    if (!ok) w->failed++;
    CUdeviceptr bufs[4] = {io.q, io.k, io.v, io.o};
    for (int i = 0; i < 4; i++)
        if (bufs[i]) w->ctx->cu->MemFree(bufs[i]);
    free(io.hq);
    free(io.hk);
    free(io.hv);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    CUstream stream = NULL;
    CUdeviceptr ws = 0;
    size_t ws_bytes = 0;
    for (int c = 0; c < STRESS_CLASSES; c++) {
        const intfa_attn_problem p = stress_problem(c);
        size_t b = 0;
        if (intfa_attention_workspace_size(&p, &b) == INTFA_OK && b > ws_bytes) ws_bytes = b;
    }
    /* this thread's stream and workspace, made in the context's device context */
    int ok = intfa_ctx_enter(w->ctx) == INTFA_OK;
    if (ok) {
        ok = cu_ok(w->ctx->cu->StreamCreate(&stream, CU_STREAM_NON_BLOCKING), "cuStreamCreate", w->index) &&
             cu_ok(w->ctx->cu->MemAlloc(&ws, ws_bytes), "cuMemAlloc (workspace)", w->index);
    }
    pthread_barrier_wait(w->start);
    for (int i = 0; ok && i < w->cfg->calls_per_thread; i++) one_call(w, stream, ws, ws_bytes, i);
    if (!ok) w->failed += w->cfg->calls_per_thread;
    if (ws) w->ctx->cu->MemFree(ws);
    if (stream) w->ctx->cu->StreamDestroy(stream);
    intfa_ctx_leave(w->ctx);
    return NULL;
}

void stress_run(intfa_context *ctx, const stress_config *cfg, stress_report *out)
{
    memset(out, 0, sizeof *out);
    worker *w = calloc((size_t)cfg->threads, sizeof *w);
    pthread_t *tid = calloc((size_t)cfg->threads, sizeof *tid);
    pthread_barrier_t start;
    if (!w || !tid || pthread_barrier_init(&start, NULL, (unsigned)cfg->threads) != 0) {
        fprintf(stderr, "stress: cannot set up %d threads\n", cfg->threads);
        out->failed_calls = 1;
        free(w);
        free(tid);
        return;
    }
    for (int t = 0; t < cfg->threads; t++) {
        w[t] = (worker){ctx, cfg, t, &start, 0, 0, 0.0};
        pthread_create(&tid[t], NULL, worker_main, &w[t]);
    }
    for (int t = 0; t < cfg->threads; t++) {
        pthread_join(tid[t], NULL);
        out->failed_calls += w[t].failed;
        out->bad_results += w[t].bad;
        if (w[t].worst > out->worst_rel_l2) out->worst_rel_l2 = w[t].worst;
        for (int i = 0; i < cfg->calls_per_thread; i++)
            out->launches_expected += stress_launches_per_call(stress_class_of(t, i));
    }
    out->calls = (long)cfg->threads * cfg->calls_per_thread;
    pthread_barrier_destroy(&start);
    free(w);
    free(tid);
}
