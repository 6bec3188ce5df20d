/* gpu_harness.c - device access and the end-to-end attention case for the GPU tests. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "gpu_harness.h"
#include "select.h"

static intfa_context *g_ctx;

static void die_cu(CUresult r, const char *what)
{
    const char *name = "?";
    if (g_ctx) g_ctx->cu->GetErrorName(r, &name);
    fprintf(stderr, "FATAL: %s failed: %s (%d)\n", what, name, (int)r);
    abort();
}
#define CU(call) do { CUresult r_ = (call); if (r_ != CUDA_SUCCESS) die_cu(r_, #call); } while (0)

intfa_context *gpu_open_or_skip(const char *test_name)
{
    if (g_ctx) return g_ctx;
    intfa_status st = intfa_create(&g_ctx, 0);
    if (st == INTFA_ERR_NO_DRIVER || st == INTFA_ERR_NO_DEVICE) {
        printf("SKIP: %s needs a GPU: %s (%s)\n", test_name, intfa_status_string(st), intfa_last_error());
        fflush(stdout);
        exit(GPU_SKIP_CODE);
    }
    if (st != INTFA_OK) {
        fprintf(stderr, "FATAL: intfa_create: %s: %s\n", intfa_status_string(st), intfa_last_error());
        abort();
    }
    CU(g_ctx->cu->CtxSetCurrent(g_ctx->cuctx));
    printf("device: %s (%d SMs), kernels for %s\n", g_ctx->device_name, g_ctx->sm_count,
           intfa_arch_name(g_ctx->arch));
    return g_ctx;
}

void gpu_close(void)
{
    intfa_destroy(g_ctx);
    g_ctx = NULL;
}

void *gpu_alloc(size_t bytes)
{
    CUdeviceptr p;
    CU(g_ctx->cu->MemAlloc(&p, bytes ? bytes : 16));
    return (void *)(uintptr_t)p;
}
void gpu_free(void *p) { if (p) CU(g_ctx->cu->MemFree((CUdeviceptr)(uintptr_t)p)); }
void gpu_upload(void *dst, const void *src, size_t bytes)
{
    if (bytes) CU(g_ctx->cu->MemcpyHtoD((CUdeviceptr)(uintptr_t)dst, src, bytes));
}
void gpu_download(void *dst, const void *src, size_t bytes)
{
    if (bytes) CU(g_ctx->cu->MemcpyDtoH(dst, (CUdeviceptr)(uintptr_t)src, bytes));
}
void gpu_fill_bytes(void *dst, unsigned char byte, size_t bytes)
{
    if (bytes) CU(g_ctx->cu->MemsetD8((CUdeviceptr)(uintptr_t)dst, byte, bytes));
}
void gpu_sync(void) { CU(g_ctx->cu->CtxSynchronize()); }

static const char *layout_name(gpu_layout l)
{
    return l == LAYOUT_BNHD ? "bnhd" : l == LAYOUT_BHND ? "bhnd" : "padded";
}

void attn_case_describe(const attn_case *c, char *buf, size_t cap)
{
    snprintf(buf, cap, "B=%lld Hq=%lld Hkv=%lld Nq=%lld Nkv=%lld D=%d %s %s %s %s %s%s%s%s",
             (long long)c->batch, (long long)c->heads_q, (long long)c->heads_kv,
             (long long)c->seq_q, (long long)c->seq_kv, c->head_dim, c->causal ? "causal" : "full",
             c->dtype == INTFA_DTYPE_BF16 ? "bf16" : "fp16",
             c->p_quant == INTFA_PQ_U8_ROW ? "pu8" : "ps8",
             c->v_scale == INTFA_VS_CHANNEL ? "vch" : "vhead", layout_name(c->layout),
             c->want_lse ? " lse" : "", c->drop_in ? " drop-in" : "", c->plain ? " plain" : "");
}

/* Strides of a [B, N, H, D] tensor in a layout; returns the element count to allocate. */
static int64_t make_strides(gpu_layout l, int64_t B, int64_t N, int64_t H, int64_t D, intfa_tensor *t)
{
    if (l == LAYOUT_BHND) *t = intfa_tensor_bhnd(NULL, N, H, D);
    else if (l == LAYOUT_BNHD) *t = intfa_tensor_bnhd(NULL, N, H, D);
    else {
        t->stride_h = D;
        t->stride_n = H * D + 16;
        t->stride_b = N * t->stride_n + 32;
    }
    if (B == 0 || N == 0 || H == 0) return 8;
    return (B - 1) * t->stride_b + (N - 1) * t->stride_n + (H - 1) * t->stride_h + D;
}

/* Random values, rounded through dtype, in dense [B][H][N][D]; a few large outliers. */
static float *make_input(intfa_ref_rng *rng, int64_t B, int64_t H, int64_t N, int64_t D,
                         intfa_dtype dt, int plain)
{
    const int64_t n = B * H * N * D;
    float *x = malloc((size_t)(n ? n : 1) * sizeof *x);
    for (int64_t i = 0; i < n; ++i) x[i] = (float)intfa_ref_normal(rng);
    for (int64_t bh = 0; bh < B * H && N > 0 && !plain; ++bh)
        for (int o = 0; o < 3; ++o) {
            const int64_t i = bh * N * D + (int64_t)(intfa_ref_uniform(rng) * (double)(N * D));
            x[i] = (intfa_ref_uniform(rng) < 0.5 ? -1.f : 1.f) * (float)(6.0 + 6.0 * intfa_ref_uniform(rng));
        }
    for (int64_t i = 0; i < n; ++i) x[i] = intfa_ref_round_dtype(x[i], dt);
    return x;
}

static uint16_t to_bits(float x, intfa_dtype dt)
{
    return dt == INTFA_DTYPE_BF16 ? intfa_ref_f32_to_bf16(x) : intfa_ref_f32_to_f16(x);
}
static float from_bits(uint16_t h, intfa_dtype dt)
{
    return dt == INTFA_DTYPE_BF16 ? intfa_ref_bf16_to_f32(h) : intfa_ref_f16_to_f32(h);
}

/* dense [B][H][N][D] floats -> device tensor in the strided layout. */
static void *upload_tensor(const float *x, int64_t B, int64_t H, int64_t N, int64_t D,
                           intfa_dtype dt, gpu_layout l, intfa_tensor *t)
{
    const int64_t count = make_strides(l, B, N, H, D, t);
    uint16_t *h = malloc((size_t)count * 2);
    memset(h, 0x7f, (size_t)count * 2); /* padding holds large values: must never be read */
    for (int64_t b = 0; b < B; ++b)
        for (int64_t hh = 0; hh < H; ++hh)
            for (int64_t n = 0; n < N; ++n)
                for (int64_t d = 0; d < D; ++d)
                    h[b * t->stride_b + n * t->stride_n + hh * t->stride_h + d] =
                        to_bits(x[((b * H + hh) * N + n) * D + d], dt);
    t->data = gpu_alloc((size_t)count * 2);
    gpu_upload(t->data, h, (size_t)count * 2);
    free(h);
    return t->data;
}

static void metrics_accumulate(double *acc, const float *x, const double *ref, int64_t n)
{
    /* acc: sum d^2, sum r^2, sum x*r, sum x^2, sum|d|, sum|r|, max|d|, nonfinite, count,
     * mean_rel numerator/count computed after */
    for (int64_t i = 0; i < n; ++i) {
        const double d = (double)x[i] - ref[i];
        if (!isfinite(x[i])) { acc[7] += 1; continue; }
        acc[0] += d * d; acc[1] += ref[i] * ref[i]; acc[2] += x[i] * ref[i];
        acc[3] += (double)x[i] * x[i]; acc[4] += fabs(d); acc[5] += fabs(ref[i]);
        if (fabs(d) > acc[6]) acc[6] = fabs(d);
        acc[8] += 1;
    }
}

intfa_status attn_case_run(const attn_case *c, attn_result *r)
{
    memset(r, 0, sizeof *r);
    r->lse_excess_exact = -INFINITY;
    intfa_context *ctx = g_ctx;
    const int64_t B = c->batch, Hq = c->heads_q, Hk = c->heads_kv, Nq = c->seq_q, Nk = c->seq_kv;
    const int64_t D = c->head_dim, npad = intfa_v_padded_len(Nk);
    intfa_ref_rng rng;
    intfa_ref_rng_seed(&rng, c->seed);
    float *qf = make_input(&rng, B, Hq, Nq, D, c->dtype, c->plain);
    float *kf = make_input(&rng, B, Hk, Nk, D, c->dtype, c->plain);
    float *vf = make_input(&rng, B, Hk, Nk, D, c->dtype, c->plain);

    intfa_tensor qt, kt, vt, ot;
    void *dq = upload_tensor(qf, B, Hq, Nq, D, c->dtype, c->layout, &qt);
    void *dk = upload_tensor(kf, B, Hk, Nk, D, c->dtype, c->layout, &kt);
    void *dv = upload_tensor(vf, B, Hk, Nk, D, c->dtype, c->layout, &vt);
    const int64_t ocount = make_strides(c->layout, B, Nq, Hq, D, &ot);
    ot.data = gpu_alloc((size_t)ocount * 2);
    gpu_fill_bytes(ot.data, 0xff, (size_t)ocount * 2); /* NaN poison */
    float *dlse = c->want_lse ? gpu_alloc((size_t)(B * Hq * Nq) * 4 + 4) : NULL;
    if (dlse) gpu_fill_bytes(dlse, 0xff, (size_t)(B * Hq * Nq) * 4 + 4);

    int8_t *q8 = gpu_alloc((size_t)(B * Hq * Nq * D)), *k8 = gpu_alloc((size_t)(B * Hk * Nk * D));
    int8_t *v8 = gpu_alloc((size_t)(B * Hk * D * npad));
    float *qs = gpu_alloc((size_t)(B * Hq * Nq) * 4), *ks = gpu_alloc((size_t)(B * Hk * Nk) * 4);
    float *vs = gpu_alloc((size_t)(B * Hk * D) * 4);

    intfa_attn_problem pr = {B, Hq, Hk, Nq, Nk, D, 0.0f, c->causal, c->dtype, c->p_quant, c->v_scale};
    intfa_status st = intfa_quantize_qk(ctx, &qt, c->dtype, B, Hq, Nq, D, q8, qs, NULL);
    if (st == INTFA_OK) st = intfa_quantize_qk(ctx, &kt, c->dtype, B, Hk, Nk, D, k8, ks, NULL);
    if (st == INTFA_OK) st = intfa_quantize_v(ctx, &vt, c->dtype, B, Hk, Nk, D, c->v_scale, v8, vs, NULL);
    CUevent e0, e1;
    CU(ctx->cu->EventCreate(&e0, 0));
    CU(ctx->cu->EventCreate(&e1, 0));
    if (st == INTFA_OK) {
        CU(ctx->cu->EventRecord(e0, NULL));
        if (c->drop_in) {
            st = intfa_attention(ctx, &pr, &qt, &kt, &vt, &ot, dlse, NULL, 0, NULL);
        } else {
            const intfa_qk_int8 qq = {intfa_tensor_bhnd(q8, Nq, Hq, D), qs};
            const intfa_qk_int8 kq = {intfa_tensor_bhnd(k8, Nk, Hk, D), ks};
            const intfa_v_int8 vq = {v8, vs};
            st = intfa_attention_int8(ctx, &pr, &qq, &kq, &vq, &ot, dlse, NULL);
        }
        CU(ctx->cu->EventRecord(e1, NULL));
    }
    if (st != INTFA_OK) goto done;
    gpu_sync();
    float ms = 0;
    CU(ctx->cu->EventElapsedTime(&ms, e0, e1));
    r->kernel_ms = ms;

    /* Quantized inputs: the GPU's must equal the C quantization of the same values. */
    int8_t *hq8 = malloc((size_t)(B * Hq * Nq * D) + 1), *hk8 = malloc((size_t)(B * Hk * Nk * D) + 1);
    int8_t *hv8 = malloc((size_t)(B * Hk * D * npad) + 1);
    float *hqs = malloc((size_t)(B * Hq * Nq) * 4 + 4), *hks = malloc((size_t)(B * Hk * Nk) * 4 + 4);
    float *hvs = malloc((size_t)(B * Hk * D) * 4 + 4);
    gpu_download(hq8, q8, (size_t)(B * Hq * Nq * D));
    gpu_download(hk8, k8, (size_t)(B * Hk * Nk * D));
    gpu_download(hv8, v8, (size_t)(B * Hk * D * npad));
    gpu_download(hqs, qs, (size_t)(B * Hq * Nq) * 4);
    gpu_download(hks, ks, (size_t)(B * Hk * Nk) * 4);
    gpu_download(hvs, vs, (size_t)(B * Hk * D) * 4);
    {
        int8_t *cq = malloc((size_t)(Nq > Nk ? Nq : Nk) * (size_t)D + (size_t)D * (size_t)npad + 16);
        float *cs = malloc((size_t)((Nq > Nk ? Nq : Nk) + D + 1) * 4);
        for (int64_t bh = 0; bh < B * Hq; ++bh) {
            intfa_ref_quantize_rows(qf + bh * Nq * D, Nq, D, (int)D, cq, cs);
            for (int64_t i = 0; i < Nq * D; ++i) r->quant_mismatches += cq[i] != hq8[bh * Nq * D + i];
            for (int64_t i = 0; i < Nq; ++i) r->quant_mismatches += cs[i] != hqs[bh * Nq + i];
        }
        for (int64_t bh = 0; bh < B * Hk; ++bh) {
            intfa_ref_quantize_rows(kf + bh * Nk * D, Nk, D, (int)D, cq, cs);
            for (int64_t i = 0; i < Nk * D; ++i) r->quant_mismatches += cq[i] != hk8[bh * Nk * D + i];
            for (int64_t i = 0; i < Nk; ++i) r->quant_mismatches += cs[i] != hks[bh * Nk + i];
            if (Nk > 0) {
                intfa_ref_quantize_v(vf + bh * Nk * D, Nk, D, (int)D, c->v_scale, cq, cs);
                for (int64_t i = 0; i < D * npad; ++i) r->quant_mismatches += cq[i] != hv8[bh * D * npad + i];
                for (int64_t i = 0; i < D; ++i) r->quant_mismatches += cs[i] != hvs[bh * D + i];
            }
        }
        free(cq);
        free(cs);
    }

    /* Outputs. */
    uint16_t *ho = malloc((size_t)ocount * 2);
    float *hlse = malloc((size_t)(B * Hq * Nq) * 4 + 4);
    gpu_download(ho, ot.data, (size_t)ocount * 2);
    if (dlse) gpu_download(hlse, dlse, (size_t)(B * Hq * Nq) * 4);
    intfa_variant var; /* the kernel's key tile size decides the reference's P rounding */
    if ((st = intfa_select_attention(ctx, &pr, &var)) != INTFA_OK) goto done;
    float *gout = malloc((size_t)(Nq * D) * 4 + 4), *rout = malloc((size_t)(Nq * D) * 4 + 4);
    float *rlse = malloc((size_t)Nq * 4 + 4);
    double *rq = malloc((size_t)(Nq * D) * 8 + 8), *ex = malloc((size_t)(Nq * D) * 8 + 8);
    double *exlse = malloc((size_t)Nq * 8 + 8);
    double acc_q[9] = {0}, acc_e[9] = {0}, acc_re[9] = {0};
    for (int64_t b = 0; b < B; ++b)
        for (int64_t h = 0; h < Hq; ++h) {
            const int64_t bh = b * Hq + h, bhk = b * Hk + h / (Hq / Hk);
            for (int64_t n = 0; n < Nq; ++n)
                for (int64_t d = 0; d < D; ++d) {
                    const float v = from_bits(ho[b * ot.stride_b + n * ot.stride_n + h * ot.stride_h + d], c->dtype);
                    if (isnan(v)) r->unwritten++;
                    gout[n * D + d] = v;
                }
            intfa_ref_attention_quant_head(hq8 + bh * Nq * D, hqs + bh * Nq, hk8 + bhk * Nk * D,
                                           hks + bhk * Nk, hv8 + bhk * D * npad, hvs + bhk * D, Nq,
                                           Nk, (int)D, 0.0f, c->causal, c->p_quant, var.block_n,
                                           rout, rlse);
            intfa_ref_attention_exact_head(qf + bh * Nq * D, D, kf + bhk * Nk * D, D,
                                           vf + bhk * Nk * D, D, Nq, Nk, (int)D,
                                           1.0 / sqrt((double)D), c->causal, ex, exlse);
            for (int64_t i = 0; i < Nq * D; ++i) rq[i] = intfa_ref_round_dtype(rout[i], c->dtype);
            /* LSE is 1-Lipschitz in the scores: bound each row's error by the largest score
             * error the Q/K quantization steps allow, plus 0.02 for P's rounding. */
            double max_sk = 0, max_k1 = 0;
            for (int64_t j = 0; j < Nk; ++j) {
                const double sk = hks[bhk * Nk + j];
                double k1 = 0;
                for (int64_t d = 0; d < D; ++d) k1 += fabs(hk8[(bhk * Nk + j) * D + d] * sk);
                if (sk > max_sk) max_sk = sk;
                if (k1 > max_k1) max_k1 = k1;
            }
            metrics_accumulate(acc_q, gout, rq, Nq * D);
            metrics_accumulate(acc_e, gout, ex, Nq * D);
            metrics_accumulate(acc_re, rout, ex, Nq * D);
            for (int64_t n = 0; n < Nq; ++n) {
                const int sees = Nk > 0 && (!c->causal || n + Nk - Nq >= 0);
                if (!sees) {
                    for (int64_t d = 0; d < D; ++d) r->lse_bad_empty += gout[n * D + d] != 0.0f;
                    if (dlse) r->lse_bad_empty += !(isinf(hlse[bh * Nq + n]) && hlse[bh * Nq + n] < 0);
                    continue;
                }
                if (!dlse) continue;
                const float gl = hlse[bh * Nq + n];
                if (isnan(gl)) { r->unwritten++; continue; }
                const double lq = fabs(gl - rlse[n]), le = fabs(gl - exlse[n]);
                if (lq > r->lse_max_diff_quant) r->lse_max_diff_quant = lq;
                if (le > r->lse_max_diff_exact) r->lse_max_diff_exact = le;
                double q1 = 0;
                for (int64_t d = 0; d < D; ++d) q1 += fabs(qf[(bh * Nq + n) * D + d]);
                const double bound = (max_sk / 2 * q1 + hqs[bh * Nq + n] / 2 * max_k1) / sqrt((double)D) + 0.02;
                if (le - bound > r->lse_excess_exact) r->lse_excess_exact = le - bound;
            }
        }
    const double *accs[3] = {acc_q, acc_e, acc_re};
    intfa_ref_metrics *ms3[3] = {&r->vs_quant, &r->vs_exact, &r->ref_vs_exact};
    for (int i = 0; i < 3; ++i) {
        const double *a = accs[i];
        intfa_ref_metrics *m = ms3[i];
        m->rel_l2 = a[1] > 0 ? sqrt(a[0] / a[1]) : sqrt(a[0]);
        m->cosine = (a[3] > 0 && a[1] > 0) ? a[2] / sqrt(a[3] * a[1]) : 1.0;
        m->rel_l1 = a[5] > 0 ? a[4] / a[5] : a[4];
        m->rmse = a[8] > 0 ? sqrt(a[0] / a[8]) : 0;
        m->max_abs = a[6];
        m->nonfinite = (int64_t)a[7];
    }
    free(gout); free(rout); free(rlse); free(rq); free(ex); free(exlse); free(ho); free(hlse);
    free(hq8); free(hk8); free(hv8); free(hqs); free(hks); free(hvs);
done:
    ctx->cu->EventDestroy(e0);
    ctx->cu->EventDestroy(e1);
    gpu_free(dq); gpu_free(dk); gpu_free(dv); gpu_free(ot.data); gpu_free(dlse);
    gpu_free(q8); gpu_free(k8); gpu_free(v8); gpu_free(qs); gpu_free(ks); gpu_free(vs);
    free(qf); free(kf); free(vf);
    return st;
}
