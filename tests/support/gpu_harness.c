/* gpu_harness.c - device access and the end-to-end attention case for the GPU tests (INT8 or
 * INT4 Q/K, with or without K smoothing). */
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
    snprintf(buf, cap, "B=%lld Hq=%lld Hkv=%lld Nq=%lld Nkv=%lld D=%d %s %s%s %s %s %s %s%s%s%s",
             (long long)c->batch, (long long)c->heads_q, (long long)c->heads_kv,
             (long long)c->seq_q, (long long)c->seq_kv, c->head_dim,
             c->qk_format == INTFA_FMT_INT4 ? "int4" : "int8", c->smooth_k ? "smooth " : "",
             c->causal ? "causal" : "full", c->dtype == INTFA_DTYPE_BF16 ? "bf16" : "fp16",
             c->p_quant == INTFA_PQ_U8_ROW ? "pu8" : c->p_quant == INTFA_PQ_F16 ? "pf16" : "ps8",
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

static void metrics_finish(const double *a, intfa_ref_metrics *m)
{
    m->rel_l2 = a[1] > 0 ? sqrt(a[0] / a[1]) : sqrt(a[0]);
    m->cosine = (a[3] > 0 && a[1] > 0) ? a[2] / sqrt(a[3] * a[1]) : 1.0;
    m->rel_l1 = a[5] > 0 ? a[4] / a[5] : a[4];
    m->rmse = a[8] > 0 ? sqrt(a[0] / a[8]) : 0;
    m->max_abs = a[6];
    m->nonfinite = (int64_t)a[7];
}

/* A case's shape. row: bytes of a quantized Q/K row (D, or D / 2 for INT4). */
typedef struct case_dims {
    int64_t B, Hq, Hk, Nq, Nk, D, npad, row;
} case_dims;

static case_dims dims_of(const attn_case *c)
{
    case_dims z = {c->batch, c->heads_q, c->heads_kv, c->seq_q, c->seq_kv, c->head_dim,
                   intfa_v_padded_len(c->seq_kv),
                   c->qk_format == INTFA_FMT_INT4 ? c->head_dim / 2 : c->head_dim};
    return z;
}

/* Quantized inputs: on the device (q8, k8 int8 or packed int4) and on the host (unpacked, one
 * int8 per value). mean [B, H_kv, D] and bias [B, H_q, N_q] with smoothing. */
typedef struct quant_set {
    int8_t *q8, *k8, *v8; /* on the device q8 and k8 may hold packed int4 */
    float *qs, *ks, *vs, *mean, *bias;
} quant_set;

static void quant_alloc_gpu(const case_dims *z, quant_set *g)
{
    g->q8 = gpu_alloc((size_t)(z->B * z->Hq * z->Nq * z->row));
    g->k8 = gpu_alloc((size_t)(z->B * z->Hk * z->Nk * z->row));
    g->v8 = gpu_alloc((size_t)(z->B * z->Hk * z->D * z->npad));
    g->qs = gpu_alloc((size_t)(z->B * z->Hq * z->Nq) * 4);
    g->ks = gpu_alloc((size_t)(z->B * z->Hk * z->Nk) * 4);
    g->vs = gpu_alloc((size_t)(z->B * z->Hk * z->D) * 4);
    g->mean = gpu_alloc((size_t)(z->B * z->Hk * z->D) * 4);
    g->bias = gpu_alloc((size_t)(z->B * z->Hq * z->Nq) * 4);
    gpu_fill_bytes(g->mean, 0xff, (size_t)(z->B * z->Hk * z->D) * 4); /* NaN poison */
    gpu_fill_bytes(g->bias, 0xff, (size_t)(z->B * z->Hq * z->Nq) * 4);
}

static void quant_free_gpu(quant_set *g)
{
    gpu_free(g->q8); gpu_free(g->k8); gpu_free(g->v8); gpu_free(g->qs); gpu_free(g->ks);
    gpu_free(g->vs); gpu_free(g->mean); gpu_free(g->bias);
}

static void quant_free_host(quant_set *h)
{
    free(h->q8); free(h->k8); free(h->v8); free(h->qs); free(h->ks); free(h->vs); free(h->mean);
    free(h->bias);
}

/* Quantizes the case's inputs with the public calls: K's mean, Q (with the LSE bias when
 * smoothing), K (minus the mean), V. */
static intfa_status quantize_on_gpu(intfa_context *ctx, const attn_case *c, const case_dims *z,
                                    const intfa_tensor *qt, const intfa_tensor *kt,
                                    const intfa_tensor *vt, const quant_set *g)
{
    const int sm = c->smooth_k;
    const intfa_qk_quant_options qo = {c->qk_format, NULL, sm ? g->mean : NULL, z->Hq / z->Hk,
                                       1.0f / sqrtf((float)z->D), sm ? g->bias : NULL};
    const intfa_qk_quant_options ko = {c->qk_format, sm ? g->mean : NULL, NULL, 0, 0.0f, NULL};
    intfa_status st = INTFA_OK;
    if (sm) st = intfa_mean_over_tokens(ctx, kt, c->dtype, z->B, z->Hk, z->Nk, z->D, g->mean, NULL);
    if (st == INTFA_OK)
        st = intfa_quantize_qk_ex(ctx, qt, c->dtype, z->B, z->Hq, z->Nq, z->D, &qo, g->q8, g->qs, NULL);
    if (st == INTFA_OK)
        st = intfa_quantize_qk_ex(ctx, kt, c->dtype, z->B, z->Hk, z->Nk, z->D, &ko, g->k8, g->ks, NULL);
    if (st == INTFA_OK)
        st = intfa_quantize_v(ctx, vt, c->dtype, z->B, z->Hk, z->Nk, z->D, c->v_scale, g->v8, g->vs, NULL);
    return st;
}

/* n quantized Q/K values from the device, unpacked when INT4. */
static int8_t *download_qk(const void *src, int64_t n, intfa_format fmt)
{
    int8_t *out = malloc((size_t)n + 1);
    if (fmt != INTFA_FMT_INT4) {
        gpu_download(out, src, (size_t)n);
        return out;
    }
    uint8_t *packed = malloc((size_t)n / 2 + 1);
    gpu_download(packed, src, (size_t)n / 2);
    intfa_ref_unpack_int4(packed, n, out);
    free(packed);
    return out;
}

static float *download_f32(const float *src, int64_t n)
{
    float *out = malloc((size_t)n * 4 + 4);
    gpu_download(out, src, (size_t)n * 4);
    return out;
}

static void quant_download(const attn_case *c, const case_dims *z, const quant_set *g, quant_set *h)
{
    h->q8 = download_qk(g->q8, z->B * z->Hq * z->Nq * z->D, c->qk_format);
    h->k8 = download_qk(g->k8, z->B * z->Hk * z->Nk * z->D, c->qk_format);
    h->v8 = malloc((size_t)(z->B * z->Hk * z->D * z->npad) + 1);
    gpu_download(h->v8, g->v8, (size_t)(z->B * z->Hk * z->D * z->npad));
    h->qs = download_f32(g->qs, z->B * z->Hq * z->Nq);
    h->ks = download_f32(g->ks, z->B * z->Hk * z->Nk);
    h->vs = download_f32(g->vs, z->B * z->Hk * z->D);
    h->mean = download_f32(g->mean, z->B * z->Hk * z->D);
    h->bias = download_f32(g->bias, z->B * z->Hq * z->Nq);
}

/* Values and scales of the GPU quantization that differ from the C quantization of the same
 * inputs (K smoothed with the GPU's mean, so that both subtract the same fp32 values). */
static int64_t quant_mismatches(const attn_case *c, const case_dims *z, const float *qf,
                                const float *kf, const float *vf, const quant_set *h)
{
    const int64_t D = z->D, Nq = z->Nq, Nk = z->Nk, nmax = Nq > Nk ? Nq : Nk;
    int8_t *cq = malloc((size_t)(nmax * D + D * z->npad) + 16);
    float *cs = malloc((size_t)(nmax + D + 1) * 4);
    int64_t bad = 0;
    for (int64_t bh = 0; bh < z->B * z->Hq; ++bh) {
        intfa_ref_quantize_rows_ex(qf + bh * Nq * D, Nq, D, (int)D, c->qk_format, NULL, cq, cs);
        for (int64_t i = 0; i < Nq * D; ++i) bad += cq[i] != h->q8[bh * Nq * D + i];
        for (int64_t i = 0; i < Nq; ++i) bad += cs[i] != h->qs[bh * Nq + i];
    }
    for (int64_t bh = 0; bh < z->B * z->Hk; ++bh) {
        intfa_ref_quantize_rows_ex(kf + bh * Nk * D, Nk, D, (int)D, c->qk_format,
                                   c->smooth_k ? h->mean + bh * D : NULL, cq, cs);
        for (int64_t i = 0; i < Nk * D; ++i) bad += cq[i] != h->k8[bh * Nk * D + i];
        for (int64_t i = 0; i < Nk; ++i) bad += cs[i] != h->ks[bh * Nk + i];
        if (Nk > 0) {
            intfa_ref_quantize_v(vf + bh * Nk * D, Nk, D, (int)D, c->v_scale, cq, cs);
            for (int64_t i = 0; i < D * z->npad; ++i) bad += cq[i] != h->v8[bh * D * z->npad + i];
            for (int64_t i = 0; i < D; ++i) bad += cs[i] != h->vs[bh * D + i];
        }
    }
    free(cq);
    free(cs);
    return bad;
}

/* Smoothing: the GPU's mean and bias against the C ones (double sums), each value against the
 * bound of its fp32 arithmetic on the GPU. The mean: each of 8 warps sums about N / 8 tokens,
 * then the 8 sums are added and divided by N, so |error| <= (N / 8 + 10) u mean|x| + u |mean|
 * (u = 2^-24), and the C mean is within u |mean|. The bias: an fma chain of <= 4 terms per lane,
 * a 5-step warp sum and the scale, so |error| <= 10 u scale sum|q m| + u |bias|, and the C bias
 * (on the GPU's mean) within u |bias|. NaN (unwritten) counts as an infinite excess. */
static void check_smoothing(const case_dims *z, const float *qf, const float *kf, const quant_set *h,
                            attn_result *r)
{
    const int64_t D = z->D, Nk = z->Nk, Nq = z->Nq;
    const double u = 0x1p-24, scale = 1.0f / sqrtf((float)D);
    float *m = malloc((size_t)D * 4), *b = malloc((size_t)(Nq + 1) * 4);
    for (int64_t bh = 0; bh < z->B * z->Hk; ++bh) {
        intfa_ref_mean_rows(kf + bh * Nk * D, Nk, D, (int)D, m);
        for (int64_t d = 0; d < D; ++d) {
            double abs_mean = 0;
            for (int64_t n = 0; n < Nk; ++n) abs_mean += fabs(kf[(bh * Nk + n) * D + d]);
            abs_mean = Nk > 0 ? abs_mean / (double)Nk : 0.0;
            const double g = h->mean[bh * D + d], bound = ((double)Nk / 8 + 10) * u * abs_mean + 2 * u * fabs(m[d]);
            const double ex = isnan(g) ? INFINITY : fabs(g - m[d]) - bound;
            if (ex > r->mean_excess) r->mean_excess = ex;
        }
    }
    for (int64_t b0 = 0; b0 < z->B; ++b0)
        for (int64_t hq = 0; hq < z->Hq; ++hq) {
            const int64_t bh = b0 * z->Hq + hq, bhk = b0 * z->Hk + hq / (z->Hq / z->Hk);
            const float *mean = h->mean + bhk * D;
            intfa_ref_lse_bias(qf + bh * Nq * D, Nq, D, (int)D, mean, 0.0f, b);
            for (int64_t n = 0; n < Nq; ++n) {
                double sxm = 0;
                for (int64_t d = 0; d < D; ++d) sxm += fabs((double)qf[(bh * Nq + n) * D + d] * mean[d]);
                const double g = h->bias[bh * Nq + n], bound = 10 * u * scale * sxm + 2 * u * fabs(b[n]);
                const double ex = isnan(g) ? INFINITY : fabs(g - b[n]) - bound;
                if (ex > r->bias_excess) r->bias_excess = ex;
            }
        }
    free(m);
    free(b);
}

/* Every output and LSE against the C quantized algorithm on the GPU's quantized inputs and
 * against exact attention on the fp16/bf16 inputs. ho: the output as stored (strides of ot). */
static void compare_outputs(const attn_case *c, const case_dims *z, int block_n, const float *qf,
                            const float *kf, const float *vf, const quant_set *h,
                            const uint16_t *ho, const intfa_tensor *ot, const float *hlse,
                            attn_result *r)
{
    const int64_t B = z->B, Hq = z->Hq, Hk = z->Hk, Nq = z->Nq, Nk = z->Nk, D = z->D, npad = z->npad;
    float *gout = malloc((size_t)(Nq * D) * 4 + 4), *rout = malloc((size_t)(Nq * D) * 4 + 4);
    float *rlse = malloc((size_t)Nq * 4 + 4);
    double *rq = malloc((size_t)(Nq * D) * 8 + 8), *ex = malloc((size_t)(Nq * D) * 8 + 8);
    double *exlse = malloc((size_t)Nq * 8 + 8);
    double acc_q[9] = {0}, acc_e[9] = {0}, acc_re[9] = {0};
    for (int64_t b = 0; b < B; ++b)
        for (int64_t hh = 0; hh < Hq; ++hh) {
            const int64_t bh = b * Hq + hh, bhk = b * Hk + hh / (Hq / Hk);
            for (int64_t n = 0; n < Nq; ++n)
                for (int64_t d = 0; d < D; ++d) {
                    const float v = from_bits(ho[b * ot->stride_b + n * ot->stride_n + hh * ot->stride_h + d], c->dtype);
                    if (isnan(v)) r->unwritten++;
                    gout[n * D + d] = v;
                }
            if (c->p_quant == INTFA_PQ_F16) /* V as given: the fp16/bf16 inputs */
                intfa_ref_attention_pf16_head(h->q8 + bh * Nq * D, h->qs + bh * Nq, h->k8 + bhk * Nk * D,
                                              h->ks + bhk * Nk, vf + bhk * Nk * D, D, Nq, Nk, (int)D, 0.0f,
                                              c->causal, c->dtype, block_n, rout, rlse);
            else
                intfa_ref_attention_quant_head(h->q8 + bh * Nq * D, h->qs + bh * Nq, h->k8 + bhk * Nk * D,
                                               h->ks + bhk * Nk, h->v8 + bhk * D * npad, h->vs + bhk * D, Nq,
                                               Nk, (int)D, 0.0f, c->causal, c->p_quant, block_n, rout, rlse);
            intfa_ref_attention_exact_head(qf + bh * Nq * D, D, kf + bhk * Nk * D, D,
                                           vf + bhk * Nk * D, D, Nq, Nk, (int)D,
                                           1.0 / sqrt((double)D), c->causal, ex, exlse);
            for (int64_t i = 0; i < Nq * D; ++i) rq[i] = intfa_ref_round_dtype(rout[i], c->dtype);
            /* LSE is 1-Lipschitz in the scores: bound each row's error by the largest score
             * error the Q/K quantization steps allow (of K - mean with smoothing: the bias
             * restores the rest to fp32 rounding), plus 0.02 for P's rounding. */
            double max_sk = 0, max_k1 = 0;
            for (int64_t j = 0; j < Nk; ++j) {
                const double sk = h->ks[bhk * Nk + j];
                double k1 = 0;
                for (int64_t d = 0; d < D; ++d) k1 += fabs(h->k8[(bhk * Nk + j) * D + d] * sk);
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
                    if (hlse) r->lse_bad_empty += !(isinf(hlse[bh * Nq + n]) && hlse[bh * Nq + n] < 0);
                    continue;
                }
                if (!hlse) continue;
                const float gl = hlse[bh * Nq + n];
                if (isnan(gl)) { r->unwritten++; continue; }
                const double rl = rlse[n] + (c->smooth_k ? (double)h->bias[bh * Nq + n] : 0.0);
                const double lq = fabs(gl - rl), le = fabs(gl - exlse[n]);
                if (lq > r->lse_max_diff_quant) r->lse_max_diff_quant = lq;
                if (le > r->lse_max_diff_exact) r->lse_max_diff_exact = le;
                double q1 = 0;
                for (int64_t d = 0; d < D; ++d) q1 += fabs(qf[(bh * Nq + n) * D + d]);
                const double bound = (max_sk / 2 * q1 + h->qs[bh * Nq + n] / 2 * max_k1) / sqrt((double)D) + 0.02;
                if (le - bound > r->lse_excess_exact) r->lse_excess_exact = le - bound;
            }
        }
    metrics_finish(acc_q, &r->vs_quant);
    metrics_finish(acc_e, &r->vs_exact);
    metrics_finish(acc_re, &r->ref_vs_exact);
    free(gout); free(rout); free(rlse); free(rq); free(ex); free(exlse);
}

intfa_status attn_case_run(const attn_case *c, attn_result *r)
{
    memset(r, 0, sizeof *r);
    r->lse_excess_exact = r->mean_excess = r->bias_excess = -INFINITY;
    intfa_context *ctx = g_ctx;
    const case_dims z = dims_of(c);
    const int64_t B = z.B, Hq = z.Hq, Hk = z.Hk, Nq = z.Nq, Nk = z.Nk, D = z.D;
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
    quant_set g, h;
    memset(&h, 0, sizeof h);
    quant_alloc_gpu(&z, &g);

    intfa_attn_problem pr = {B, Hq, Hk, Nq, Nk, D, 0.0f, c->causal, c->dtype, c->p_quant,
                             c->v_scale, c->qk_format, c->smooth_k};
    intfa_status st = quantize_on_gpu(ctx, c, &z, &qt, &kt, &vt, &g);
    CUevent e0, e1;
    CU(ctx->cu->EventCreate(&e0, 0));
    CU(ctx->cu->EventCreate(&e1, 0));
    if (st == INTFA_OK) {
        CU(ctx->cu->EventRecord(e0, NULL));
        if (c->drop_in) {
            st = intfa_attention(ctx, &pr, &qt, &kt, &vt, &ot, dlse, NULL, 0, NULL);
        } else {
            const intfa_qk_int8 qq = {intfa_tensor_bhnd(g.q8, Nq, Hq, z.row), g.qs, c->smooth_k ? g.bias : NULL};
            const intfa_qk_int8 kq = {intfa_tensor_bhnd(g.k8, Nk, Hk, z.row), g.ks, NULL};
            const intfa_v_int8 vq = {g.v8, g.vs};
            if (c->p_quant == INTFA_PQ_F16) st = intfa_attention_int8_qk(ctx, &pr, &qq, &kq, &vt, &ot, dlse, NULL);
            else st = intfa_attention_int8(ctx, &pr, &qq, &kq, &vq, &ot, dlse, NULL);
        }
        CU(ctx->cu->EventRecord(e1, NULL));
    }
    intfa_variant var; /* the kernel's key tile size decides the reference's P rounding */
    if (st == INTFA_OK) st = intfa_select_attention(ctx, &pr, &var);
    if (st == INTFA_OK) {
        gpu_sync();
        float ms = 0;
        CU(ctx->cu->EventElapsedTime(&ms, e0, e1));
        r->kernel_ms = ms;
        quant_download(c, &z, &g, &h);
        r->quant_mismatches = quant_mismatches(c, &z, qf, kf, vf, &h);
        if (c->smooth_k) check_smoothing(&z, qf, kf, &h, r);
        uint16_t *ho = malloc((size_t)ocount * 2);
        float *hlse = dlse ? download_f32(dlse, B * Hq * Nq) : NULL;
        gpu_download(ho, ot.data, (size_t)ocount * 2);
        compare_outputs(c, &z, var.block_n, qf, kf, vf, &h, ho, &ot, hlse, r);
        free(ho);
        free(hlse);
    }
    ctx->cu->EventDestroy(e0);
    ctx->cu->EventDestroy(e1);
    gpu_free(dq); gpu_free(dk); gpu_free(dv); gpu_free(ot.data); gpu_free(dlse);
    quant_free_gpu(&g);
    quant_free_host(&h);
    free(qf); free(kf); free(vf);
    return st;
}
