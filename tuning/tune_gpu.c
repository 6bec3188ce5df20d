/* tune_gpu.c - the tuner's GPU backend: inputs, CUDA-event timing, verification against the
 * C reference (see tune_gpu.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../reference/intfa_ref.h"
#include "attention_launch.h"
#include "error.h"
#include "kernel_store.h"
#include "tune_gpu.h"
#include "validate.h"

#define PATTERN_LEN (1u << 20) /* random values, tiled over each tensor */
#define PATTERN_SHIFT 4099u    /* Q, K and V start at different places of the pattern */
#define VERIFY_ROWS 32
#define ALIGN 256
#define MAX_SETS 16

struct intfa_tune_gpu {
    intfa_context *ctx;
    int warmup, reps;
    CUevent ev[2 * INTFA_TUNE_MAX_REPS];
    int nev;
    size_t l2_bytes;
    uint16_t *pattern[2]; /* fp16 and bf16 bits of the same N(0,1) values */
    /* the prepared problem */
    int prepared;
    intfa_attn_problem p;
    float scale;
    size_t off_q8, off_qs, off_k8, off_ks, off_v8, off_vs, set_bytes, out_bytes;
    int nsets;
    CUdeviceptr sets, out;
};

static void release_inputs(intfa_tune_gpu *g)
{
    if (g->sets) g->ctx->cu->MemFree(g->sets);
    if (g->out) g->ctx->cu->MemFree(g->out);
    g->sets = g->out = 0;
    g->prepared = 0;
    g->nsets = 0;
}

void intfa_tune_gpu_destroy(intfa_tune_gpu *g)
{
    if (!g) return;
    if (intfa_ctx_enter(g->ctx) == INTFA_OK) {
        release_inputs(g);
        for (int i = 0; i < g->nev; i++) g->ctx->cu->EventDestroy(g->ev[i]);
        intfa_ctx_leave(g->ctx);
    }
    free(g->pattern[0]);
    free(g->pattern[1]);
    free(g);
}

intfa_status intfa_tune_gpu_create(intfa_context *ctx, const intfa_tune_gpu_config *cfg,
                                   intfa_tune_gpu **out)
{
    if (!ctx || !out)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "tune gpu: %s is NULL", !ctx ? "ctx" : "out");
    const int warmup = cfg && cfg->warmup ? cfg->warmup : 2, reps = cfg && cfg->reps ? cfg->reps : 10;
    if (warmup < 0 || warmup > 100 || reps < 1 || reps > INTFA_TUNE_MAX_REPS)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "tune gpu: warmup = %d, reps = %d: need 0..100 "
                          "and 1..%d", warmup, reps, INTFA_TUNE_MAX_REPS);
    intfa_tune_gpu *g = calloc(1, sizeof *g);
    if (!g) return intfa_fail(INTFA_ERR_OUT_OF_MEMORY, "tune gpu: out of host memory");
    g->ctx = ctx;
    g->warmup = warmup;
    g->reps = reps;
    const size_t plen = PATTERN_LEN + 2 * PATTERN_SHIFT;
    g->pattern[0] = malloc(plen * sizeof(uint16_t));
    g->pattern[1] = malloc(plen * sizeof(uint16_t));
    if (!g->pattern[0] || !g->pattern[1]) {
        intfa_tune_gpu_destroy(g);
        return intfa_fail(INTFA_ERR_OUT_OF_MEMORY, "tune gpu: out of host memory");
    }
    intfa_ref_rng rng;
    intfa_ref_rng_seed(&rng, 0x1f2e3d4c5b6a7988ull);
    for (size_t i = 0; i < plen; i++) {
        const float x = (float)intfa_ref_normal(&rng);
        g->pattern[0][i] = intfa_ref_f32_to_f16(x);
        g->pattern[1][i] = intfa_ref_f32_to_bf16(x);
    }
    intfa_status st = intfa_ctx_enter(ctx);
    if (st != INTFA_OK) {
        intfa_tune_gpu_destroy(g);
        return st;
    }
    int l2 = 0;
    CUresult r = ctx->cu->DeviceGetAttribute(&l2, CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE, ctx->device);
    g->l2_bytes = l2 > 0 ? (size_t)l2 : 0;
    while (r == CUDA_SUCCESS && g->nev < 2 * reps && (r = ctx->cu->EventCreate(&g->ev[g->nev], 0)) == CUDA_SUCCESS)
        g->nev++;
    intfa_ctx_leave(ctx);
    if (r != CUDA_SUCCESS) {
        intfa_tune_gpu_destroy(g);
        return intfa_cu_fail(r, "tune gpu: L2 size and events");
    }
    *out = g;
    return INTFA_OK;
}

int intfa_tune_gpu_input_sets(const intfa_tune_gpu *g) { return g ? g->nsets : 0; }

/* ------------------------------------------------------------------ inputs */

/* Places a buffer of a*b*c*d bytes at *at in a set, 256-byte aligned. */
static intfa_status place(const char *what, int64_t a, int64_t b, int64_t c, int64_t d, size_t *at,
                          size_t *off)
{
    int64_t bytes;
    intfa_status st = intfa_mul4(what, a, b, c, d, &bytes);
    if (st != INTFA_OK) return st;
    *off = *at;
    *at += ((size_t)bytes + ALIGN - 1) / ALIGN * ALIGN;
    return INTFA_OK;
}

/* Fills count elements at dst with pattern values starting at element shift. */
static intfa_status fill(intfa_tune_gpu *g, CUdeviceptr dst, size_t count, size_t shift, intfa_dtype dt)
{
    for (size_t done = 0; done < count;) {
        const size_t n = count - done < PATTERN_LEN ? count - done : PATTERN_LEN;
        CUresult r = g->ctx->cu->MemcpyHtoD(dst + done * 2, g->pattern[dt] + shift, n * 2);
        if (r != CUDA_SUCCESS) return intfa_cu_fail(r, "tune gpu: uploading inputs");
        done += n;
    }
    return INTFA_OK;
}

/* Quantized Q, K, V of random values into set 0 (staging holds the fp16/bf16 values). */
static intfa_status quantize_set0(intfa_tune_gpu *g, CUdeviceptr staging)
{
    const intfa_attn_problem *p = &g->p;
    const int64_t D = p->head_dim;
    const CUdeviceptr s0 = g->sets;
    intfa_tensor t = intfa_tensor_bnhd((void *)staging, p->seq_q, p->heads_q, D);
    intfa_status st = fill(g, staging, (size_t)(p->batch * p->heads_q * p->seq_q * D), 0, p->dtype);
    if (st == INTFA_OK)
        st = intfa_quantize_qk(g->ctx, &t, p->dtype, p->batch, p->heads_q, p->seq_q, D,
                               (int8_t *)(s0 + g->off_q8), (float *)(s0 + g->off_qs), NULL);
    t = intfa_tensor_bnhd((void *)staging, p->seq_kv, p->heads_kv, D);
    const size_t kv = (size_t)(p->batch * p->heads_kv * p->seq_kv * D);
    /* the legacy stream orders each upload after the previous quantization */
    if (st == INTFA_OK) st = fill(g, staging, kv, PATTERN_SHIFT, p->dtype);
    if (st == INTFA_OK)
        st = intfa_quantize_qk(g->ctx, &t, p->dtype, p->batch, p->heads_kv, p->seq_kv, D,
                               (int8_t *)(s0 + g->off_k8), (float *)(s0 + g->off_ks), NULL);
    if (st == INTFA_OK) st = fill(g, staging, kv, 2 * PATTERN_SHIFT, p->dtype);
    if (st == INTFA_OK)
        st = intfa_quantize_v(g->ctx, &t, p->dtype, p->batch, p->heads_kv, p->seq_kv, D, p->v_scale,
                              (int8_t *)(s0 + g->off_v8), (float *)(s0 + g->off_vs), NULL);
    return st;
}

static intfa_status gpu_prepare(void *self, const intfa_tune_class *cls, const intfa_attn_problem *p)
{
    intfa_tune_gpu *g = self;
    (void)cls;
    float scale;
    intfa_status st = intfa_check_problem(p, &scale);
    if (st != INTFA_OK) return st;
    if (p->batch < 1 || p->heads_q < 1 || p->seq_q < 1 || p->seq_kv < 1)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "tune gpu: the problem to time is empty");
    if (p->p_quant == INTFA_PQ_F16) /* its launches take V unquantized; not wired in here yet */
        return intfa_fail(INTFA_ERR_UNSUPPORTED,
                          "tune gpu: pf16 classes are not tuned yet (the built-in default runs)");
    if ((st = intfa_ctx_enter(g->ctx)) != INTFA_OK) return st;
    release_inputs(g);
    g->p = *p;
    g->scale = scale;
    const int64_t B = p->batch, D = p->head_dim, Hq = p->heads_q, Hk = p->heads_kv;
    size_t at = 0, out_at = 0, stage_at = 0, unused;
    if ((st = place("q", B, Hq, p->seq_q, D, &at, &g->off_q8)) ||
        (st = place("q scales", B, Hq, p->seq_q, 4, &at, &g->off_qs)) ||
        (st = place("k", B, Hk, p->seq_kv, D, &at, &g->off_k8)) ||
        (st = place("k scales", B, Hk, p->seq_kv, 4, &at, &g->off_ks)) ||
        (st = place("v", B, Hk, intfa_v_padded_len(p->seq_kv), D, &at, &g->off_v8)) ||
        (st = place("v scales", B, Hk, D, 4, &at, &g->off_vs)) ||
        (st = place("out", B, Hq, p->seq_q, 2 * D, &out_at, &unused)) ||
        (st = place("staging", B, Hq > Hk ? Hq : Hk, p->seq_q > p->seq_kv ? p->seq_q : p->seq_kv, 2 * D,
                    &stage_at, &unused))) {
        intfa_ctx_leave(g->ctx);
        return st;
    }
    g->set_bytes = at;
    g->out_bytes = out_at;
    size_t sets = g->l2_bytes ? 2 * g->l2_bytes / at + 1 : 2;
    g->nsets = sets < 2 ? 2 : sets > MAX_SETS ? MAX_SETS : (int)sets;
    const intfa_cu *cu = g->ctx->cu;
    CUdeviceptr staging = 0;
    CUresult r;
    if ((r = cu->MemAlloc(&g->sets, (size_t)g->nsets * at)) || (r = cu->MemAlloc(&g->out, out_at)) ||
        (r = cu->MemAlloc(&staging, stage_at)))
        st = r == CUDA_ERROR_OUT_OF_MEMORY
                 ? intfa_fail(INTFA_ERR_OUT_OF_MEMORY, "tune gpu: %d input sets of %zu bytes: out of device memory",
                              g->nsets, at)
                 : intfa_cu_fail(r, "tune gpu: allocating inputs");
    if (st == INTFA_OK) st = quantize_set0(g, staging);
    for (int i = 1; i < g->nsets && st == INTFA_OK; i++)
        if ((r = cu->MemcpyDtoD(g->sets + (size_t)i * at, g->sets, at)) != CUDA_SUCCESS)
            st = intfa_cu_fail(r, "tune gpu: copying input sets");
    if (st == INTFA_OK && (r = cu->CtxSynchronize()) != CUDA_SUCCESS)
        st = intfa_cu_fail(r, "tune gpu: preparing inputs");
    if (staging) cu->MemFree(staging);
    if (st == INTFA_OK) g->prepared = 1;
    else release_inputs(g);
    intfa_ctx_leave(g->ctx);
    return st;
}

/* ------------------------------------------------------------------ launches and timing */

/* One launch of v on input set `set` into the output buffer, on the legacy stream. ctx entered. */
static intfa_status launch(intfa_tune_gpu *g, const intfa_variant *v, int set)
{
    const intfa_attn_problem *p = &g->p;
    const int64_t D = p->head_dim;
    const CUdeviceptr s = g->sets + (size_t)set * g->set_bytes;
    const intfa_qk_int8 q = {intfa_tensor_bhnd((void *)(s + g->off_q8), p->seq_q, p->heads_q, D),
                             (const float *)(s + g->off_qs)};
    const intfa_qk_int8 k = {intfa_tensor_bhnd((void *)(s + g->off_k8), p->seq_kv, p->heads_kv, D),
                             (const float *)(s + g->off_ks)};
    const intfa_v_int8 vv = {(const int8_t *)(s + g->off_v8), (const float *)(s + g->off_vs)};
    const intfa_tensor o = intfa_tensor_bnhd((void *)g->out, p->seq_q, p->heads_q, D);
    return intfa_attention_launch_variant(g->ctx, v, p, g->scale, &q, &k, &vv, &o, NULL, NULL);
}

static int cmp_float(const void *a, const void *b)
{
    const float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static intfa_status not_prepared(void)
{
    return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "tune gpu: no prepared problem (prepare failed or was not called)");
}

/* Waits for the launches so far; a failure names v. ctx entered. */
static intfa_status finish(intfa_tune_gpu *g, const intfa_variant *v)
{
    CUresult r = g->ctx->cu->CtxSynchronize();
    if (r == CUDA_SUCCESS) return INTFA_OK;
    char name[INTFA_VARIANT_NAME_MAX];
    intfa_variant_name(v, name, sizeof name);
    return intfa_cu_fail(r, name);
}

static intfa_status time_launches(intfa_tune_gpu *g, const intfa_variant *v, double *ms)
{
    const intfa_cu *cu = g->ctx->cu;
    intfa_status st = INTFA_OK;
    for (int i = 0; i < g->warmup && st == INTFA_OK; i++) st = launch(g, v, i % g->nsets);
    if (st == INTFA_OK) st = finish(g, v);
    CUresult r = CUDA_SUCCESS;
    for (int i = 0; i < g->reps && st == INTFA_OK && r == CUDA_SUCCESS; i++) {
        r = cu->EventRecord(g->ev[2 * i], NULL);
        if (r == CUDA_SUCCESS) st = launch(g, v, (g->warmup + i) % g->nsets);
        if (r == CUDA_SUCCESS && st == INTFA_OK) r = cu->EventRecord(g->ev[2 * i + 1], NULL);
    }
    if (st == INTFA_OK && r == CUDA_SUCCESS) st = finish(g, v);
    float t[INTFA_TUNE_MAX_REPS];
    for (int i = 0; i < g->reps && st == INTFA_OK && r == CUDA_SUCCESS; i++)
        r = cu->EventElapsedTime(&t[i], g->ev[2 * i], g->ev[2 * i + 1]);
    if (st == INTFA_OK && r != CUDA_SUCCESS) st = intfa_cu_fail(r, "tune gpu: events");
    if (st != INTFA_OK) return st;
    qsort(t, (size_t)g->reps, sizeof t[0], cmp_float);
    const int m = g->reps / 2;
    *ms = g->reps % 2 ? t[m] : 0.5 * ((double)t[m - 1] + t[m]);
    return INTFA_OK;
}

static intfa_status gpu_time(void *self, const intfa_variant *v, double *ms)
{
    intfa_tune_gpu *g = self;
    if (!g->prepared) return not_prepared();
    intfa_status st = intfa_ctx_enter(g->ctx);
    if (st != INTFA_OK) return st;
    st = time_launches(g, v, ms);
    intfa_ctx_leave(g->ctx);
    return st;
}

/* ------------------------------------------------------------------ verification */

static intfa_status download(intfa_tune_gpu *g, void *dst, CUdeviceptr src, size_t bytes)
{
    CUresult r = g->ctx->cu->MemcpyDtoH(dst, src, bytes);
    return r == CUDA_SUCCESS ? INTFA_OK : intfa_cu_fail(r, "tune gpu: downloading for verification");
}

/* The quantized inputs of one (batch, head) of set 0, on the host. */
typedef struct head_inputs {
    int8_t *q8, *k8, *v8;
    float *qs, *ks, *vs;
} head_inputs;

static void head_free(head_inputs *h)
{
    free(h->q8); free(h->k8); free(h->v8); free(h->qs); free(h->ks); free(h->vs);
}

static intfa_status head_download(intfa_tune_gpu *g, int64_t b, int64_t h, head_inputs *hi)
{
    const intfa_attn_problem *p = &g->p;
    const int64_t D = p->head_dim, Nq = p->seq_q, Nk = p->seq_kv, npad = intfa_v_padded_len(Nk);
    const int64_t bq = b * p->heads_q + h, bk = b * p->heads_kv + h / (p->heads_q / p->heads_kv);
    const size_t nq = (size_t)Nq, nk = (size_t)Nk, d = (size_t)D;
    memset(hi, 0, sizeof *hi);
    hi->q8 = malloc(nq * d);
    hi->k8 = malloc(nk * d);
    hi->v8 = malloc(d * (size_t)npad);
    hi->qs = malloc(nq * 4);
    hi->ks = malloc(nk * 4);
    hi->vs = malloc(d * 4);
    if (!hi->q8 || !hi->k8 || !hi->v8 || !hi->qs || !hi->ks || !hi->vs) {
        head_free(hi);
        return intfa_fail(INTFA_ERR_OUT_OF_MEMORY, "tune gpu: out of host memory");
    }
    const CUdeviceptr s = g->sets;
    intfa_status st;
    if ((st = download(g, hi->q8, s + g->off_q8 + (size_t)bq * nq * d, nq * d)) ||
        (st = download(g, hi->qs, s + g->off_qs + (size_t)bq * nq * 4, nq * 4)) ||
        (st = download(g, hi->k8, s + g->off_k8 + (size_t)bk * nk * d, nk * d)) ||
        (st = download(g, hi->ks, s + g->off_ks + (size_t)bk * nk * 4, nk * 4)) ||
        (st = download(g, hi->v8, s + g->off_v8 + (size_t)bk * d * (size_t)npad, d * (size_t)npad)) ||
        (st = download(g, hi->vs, s + g->off_vs + (size_t)bk * d * 4, d * 4)))
        head_free(hi);
    return st;
}

/* Appends the GPU's and the reference's values of `rows` query rows from row0 of (b, h), the
 * reference run with the first nkv keys (the causal mask of the full problem preserved). */
static intfa_status compare_rows(intfa_tune_gpu *g, const intfa_variant *v, const uint16_t *out,
                                 const head_inputs *hi, int64_t b, int64_t h, int64_t row0,
                                 int64_t rows, int64_t nkv, float *xs, double *refs, size_t *n)
{
    const intfa_attn_problem *p = &g->p;
    const int64_t D = p->head_dim, npad = intfa_v_padded_len(p->seq_kv), tpad = intfa_v_padded_len(nkv);
    int8_t *vt = malloc((size_t)(D * tpad) + 1);
    float *ref = malloc((size_t)(rows * D) * sizeof *ref);
    if (!vt || !ref) {
        free(vt);
        free(ref);
        return intfa_fail(INTFA_ERR_OUT_OF_MEMORY, "tune gpu: out of host memory");
    }
    for (int64_t d = 0; d < D; d++) /* the first tpad key slots of each V row: keys < nkv */
        memcpy(vt + d * tpad, hi->v8 + d * npad, (size_t)tpad);
    intfa_ref_attention_quant_head(hi->q8 + row0 * D, hi->qs + row0, hi->k8, hi->ks, vt, hi->vs, rows,
                                   nkv, (int)D, p->softmax_scale, p->causal, p->p_quant, v->block_n,
                                   ref, NULL);
    for (int64_t r = 0; r < rows; r++)
        for (int64_t d = 0; d < D; d++, (*n)++) {
            const uint16_t bits = out[((b * p->seq_q + row0 + r) * p->heads_q + h) * D + d];
            xs[*n] = p->dtype == INTFA_DTYPE_BF16 ? intfa_ref_bf16_to_f32(bits) : intfa_ref_f16_to_f32(bits);
            refs[*n] = intfa_ref_round_dtype(ref[r * D + d], p->dtype);
        }
    free(vt);
    free(ref);
    return INTFA_OK;
}

/* Both row ranges of head (b, h). */
static intfa_status compare_head(intfa_tune_gpu *g, const intfa_variant *v, const uint16_t *out,
                                 int64_t b, int64_t h, float *xs, double *refs, size_t *n)
{
    const intfa_attn_problem *p = &g->p;
    const int64_t R = p->seq_q < VERIFY_ROWS ? p->seq_q : VERIFY_ROWS;
    head_inputs hi;
    intfa_status st = head_download(g, b, h, &hi);
    if (st != INTFA_OK) return st;
    /* the last rows see every key they see in the full problem */
    st = compare_rows(g, v, out, &hi, b, h, p->seq_q - R, R, p->seq_kv, xs, refs, n);
    /* the first rows: with a causal mask, the keys they can see are a prefix */
    const int64_t first_keys = p->causal ? R + p->seq_kv - p->seq_q : p->seq_kv;
    if (st == INTFA_OK && R < p->seq_q && first_keys > 0)
        st = compare_rows(g, v, out, &hi, b, h, 0, R, first_keys, xs, refs, n);
    head_free(&hi);
    return st;
}

static intfa_status verify_output(intfa_tune_gpu *g, const intfa_variant *v)
{
    const intfa_attn_problem *p = &g->p;
    const intfa_cu *cu = g->ctx->cu;
    CUresult r = cu->MemsetD8(g->out, 0xff, g->out_bytes); /* NaN: unwritten outputs show */
    if (r != CUDA_SUCCESS) return intfa_cu_fail(r, "tune gpu: poisoning the output");
    intfa_status st = launch(g, v, 0);
    if (st == INTFA_OK) st = finish(g, v);
    if (st != INTFA_OK) return st;
    const size_t cap = (size_t)(2 * 2 * VERIFY_ROWS * p->head_dim);
    uint16_t *out = malloc(g->out_bytes);
    float *xs = malloc(cap * sizeof *xs);
    double *refs = malloc(cap * sizeof *refs);
    size_t n = 0;
    if (!out || !xs || !refs) st = intfa_fail(INTFA_ERR_OUT_OF_MEMORY, "tune gpu: out of host memory");
    if (st == INTFA_OK) st = download(g, out, g->out, g->out_bytes);
    const int64_t last_b = p->batch - 1, last_h = p->heads_q - 1;
    if (st == INTFA_OK) st = compare_head(g, v, out, 0, 0, xs, refs, &n);
    if (st == INTFA_OK && (last_b || last_h)) st = compare_head(g, v, out, last_b, last_h, xs, refs, &n);
    if (st == INTFA_OK) {
        intfa_ref_metrics m;
        intfa_ref_compare(xs, refs, (int64_t)n, &m);
        if (m.nonfinite > 0 || !(m.rel_l2 <= INTFA_TUNE_VERIFY_MAX_REL_L2)) {
            char name[INTFA_VARIANT_NAME_MAX];
            intfa_variant_name(v, name, sizeof name);
            st = intfa_fail(INTFA_ERR_INTERNAL, "%s: output differs from the C reference: relative L2 "
                            "%.3g (bound %.0e), %lld non-finite of %zu values", name, m.rel_l2,
                            INTFA_TUNE_VERIFY_MAX_REL_L2, (long long)m.nonfinite, n);
        }
    }
    free(out);
    free(xs);
    free(refs);
    return st;
}

static intfa_status gpu_verify(void *self, const intfa_variant *v)
{
    intfa_tune_gpu *g = self;
    if (!g->prepared) return not_prepared();
    intfa_status st = intfa_ctx_enter(g->ctx);
    if (st != INTFA_OK) return st;
    st = verify_output(g, v);
    intfa_ctx_leave(g->ctx);
    return st;
}

/* ------------------------------------------------------------------ compile */

static intfa_status gpu_compile(void *self, const intfa_variant *v)
{
    intfa_tune_gpu *g = self;
    void *bin = NULL;
    size_t size = 0;
    intfa_status st = intfa_kernel_binary(g->ctx, v, &bin, &size);
    free(bin);
    return st;
}

void intfa_tune_gpu_backend(intfa_tune_gpu *g, intfa_tune_backend *b)
{
    b->self = g;
    b->compile = gpu_compile;
    b->prepare = gpu_prepare;
    b->time_variant = gpu_time;
    b->verify = gpu_verify;
}
