/* test_gpu_quant_dims.c - the quantization kernels at every head dim they take (multiples of 16
 * from 32 to 256, issue 16), fp16 and bf16, against the C reference, every element:
 *   - intfa_quantize_qk: int8 values and scales bit for bit (intfa_ref_quantize_rows);
 *   - intfa_quantize_qk_ex with a subtracted vector and the LSE bias: values bit for bit
 *     (intfa_ref_quantize_rows_ex), the bias within its fp32 bound;
 *   - intfa_mean_over_tokens within its fp32 bound (docs/ALGORITHM.md, "K smoothing");
 *   - intfa_quantize_v per channel and per head: V^T bit for bit (intfa_ref_quantize_v);
 *   - the drop-in's K/V pass (intfa_quantize_kv_launch: two launches on sm_80-sm_89, the
 *     streamed kernel on sm_90, there also on 1 block and on every SM), smoothing on and off:
 *     K against the reference on the GPU's mean, V and its scales bit for bit, the mean within
 *     its bound.
 * Every output buffer is poisoned (int8 -128, which no quantized value takes; fp32 NaN) with a
 * guard past its end: a value left unwritten or a store past the layout fails. Skips (exit 77,
 * "SKIP: ...") without a GPU. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gpu_harness.h"
#include "quantize.h"

#define GUARD 256 /* poisoned bytes past every output */
#define POISON 0x80

typedef struct dims {
    int64_t B, H, N, D;
    intfa_dtype dt;
} dims;

static uint16_t to_half(intfa_dtype dt, float x)
{
    return dt == INTFA_DTYPE_BF16 ? intfa_ref_f32_to_bf16(x) : intfa_ref_f32_to_f16(x);
}

static float from_half(intfa_dtype dt, uint16_t h)
{
    return dt == INTFA_DTYPE_BF16 ? intfa_ref_bf16_to_f32(h) : intfa_ref_f16_to_f32(h);
}

/* A poisoned device buffer of bytes (+ GUARD). */
static void *poisoned(size_t bytes)
{
    void *p = gpu_alloc(bytes + GUARD);
    gpu_fill_bytes(p, POISON, bytes + GUARD);
    return p;
}

/* The device buffer's bytes, its guard checked. */
static void *fetch(const void *dev, size_t bytes, const char *what)
{
    unsigned char *h = malloc(bytes + GUARD);
    gpu_download(h, dev, bytes + GUARD);
    int64_t bad = 0;
    for (size_t i = bytes; i < bytes + GUARD; ++i) bad += h[i] != POISON;
    if (bad) fail_msg("%s: %lld bytes written past its end", what, (long long)bad);
    return h;
}

static int64_t count_diff(const void *a, const void *b, size_t bytes, size_t elem)
{
    int64_t n = 0;
    for (size_t i = 0; i < bytes; i += elem) n += memcmp((const char *)a + i, (const char *)b + i, elem) != 0;
    return n;
}

/* The row of (b, n, h) in [B, N, H, D] values. */
static const float *row_of(const float *x, const dims *z, int64_t b, int64_t n, int64_t h)
{
    return x + ((b * z->N + n) * z->H + h) * z->D;
}

/* Reference of the per-token kernels: q [B, H, N, D], scale [B, H, N]; sub [B * H][D] or NULL. */
static void ref_rows(const float *x, const dims *z, const float *sub, int8_t *q, float *scale)
{
    for (int64_t b = 0; b < z->B; ++b)
        for (int64_t h = 0; h < z->H; ++h) {
            const int64_t bh = b * z->H + h;
            intfa_ref_quantize_rows_ex(row_of(x, z, b, 0, h), z->N, z->H * z->D, (int)z->D, INTFA_FMT_INT8,
                                       sub ? sub + bh * z->D : NULL, q + bh * z->N * z->D, scale + bh * z->N);
        }
}

/* Reference of V: vt [B, H, D, n_pad], scale [B, H, D]. */
static void ref_v(const float *x, const dims *z, intfa_v_scale mode, int8_t *vt, float *scale)
{
    const int64_t np = intfa_v_padded_len(z->N);
    for (int64_t b = 0; b < z->B; ++b)
        for (int64_t h = 0; h < z->H; ++h) {
            const int64_t bh = b * z->H + h;
            intfa_ref_quantize_v(row_of(x, z, b, 0, h), z->N, z->H * z->D, (int)z->D, mode,
                                 vt + bh * z->D * np, scale + bh * z->D);
        }
}

/* max over (b, h, d) of |gpu - exact mean| minus the bound of fp32 sums (<= 0 expected). */
static double mean_excess(const float *x, const dims *z, const float *gpu)
{
    const double u = ldexp(1.0, -24);
    double worst = -INFINITY;
    float *m = malloc((size_t)z->D * sizeof *m);
    for (int64_t b = 0; b < z->B; ++b)
        for (int64_t h = 0; h < z->H; ++h) {
            intfa_ref_mean_rows(row_of(x, z, b, 0, h), z->N, z->H * z->D, (int)z->D, m);
            for (int64_t d = 0; d < z->D; ++d) {
                double a = 0;
                for (int64_t n = 0; n < z->N; ++n) a += fabs(row_of(x, z, b, n, h)[d]);
                a = z->N > 0 ? a / (double)z->N : 0.0;
                const double g = gpu[(b * z->H + h) * z->D + d];
                const double bound = ((double)z->N / 8 + 10) * u * a + 2 * u * fabs(m[d]);
                const double ex = isnan(g) ? INFINITY : fabs(g - m[d]) - bound;
                if (ex > worst) worst = ex;
            }
        }
    free(m);
    return worst;
}

static void check_qk(intfa_context *ctx, const dims *z, const intfa_tensor *xt, const float *xf)
{
    const int64_t rows = z->B * z->H * z->N, D = z->D;
    int8_t *want = malloc((size_t)(rows * D)), *got;
    float *wscale = malloc((size_t)rows * 4), *gscale;
    void *dq = poisoned((size_t)(rows * D)), *ds = poisoned((size_t)rows * 4);
    assert_int_equal(intfa_quantize_qk(ctx, xt, z->dt, z->B, z->H, z->N, D, dq, ds, NULL), INTFA_OK);
    gpu_sync();
    ref_rows(xf, z, NULL, want, wscale);
    got = fetch(dq, (size_t)(rows * D), "quantize_qk values");
    gscale = fetch(ds, (size_t)rows * 4, "quantize_qk scales");
    const int64_t dv = count_diff(got, want, (size_t)(rows * D), 1), dsc = count_diff(gscale, wscale, (size_t)rows * 4, 4);
    free(got);
    free(gscale);

    /* with a subtracted vector per (b, h) and the bias of a mean shared by 2 heads */
    const int64_t hpm = 2, bhm = z->B * (z->H / hpm);
    float *sub = malloc((size_t)(z->B * z->H * D) * 4), *bm = malloc((size_t)(bhm * D) * 4);
    intfa_ref_rng rng;
    intfa_ref_rng_seed(&rng, 7 + (uint64_t)D);
    for (int64_t i = 0; i < z->B * z->H * D; ++i) sub[i] = (float)intfa_ref_normal(&rng);
    for (int64_t i = 0; i < bhm * D; ++i) bm[i] = (float)intfa_ref_normal(&rng);
    void *dsub = gpu_alloc((size_t)(z->B * z->H * D) * 4), *dbm = gpu_alloc((size_t)(bhm * D) * 4);
    void *dbias = poisoned((size_t)rows * 4);
    gpu_upload(dsub, sub, (size_t)(z->B * z->H * D) * 4);
    gpu_upload(dbm, bm, (size_t)(bhm * D) * 4);
    gpu_fill_bytes(dq, POISON, (size_t)(rows * D) + GUARD);
    gpu_fill_bytes(ds, POISON, (size_t)rows * 4 + GUARD);
    const float bias_scale = 0.125f;
    const intfa_qk_quant_options o = {INTFA_FMT_INT8, dsub, dbm, hpm, bias_scale, dbias};
    assert_int_equal(intfa_quantize_qk_ex(ctx, xt, z->dt, z->B, z->H, z->N, D, &o, dq, ds, NULL), INTFA_OK);
    gpu_sync();
    ref_rows(xf, z, sub, want, wscale);
    got = fetch(dq, (size_t)(rows * D), "quantize_qk_ex values");
    gscale = fetch(ds, (size_t)rows * 4, "quantize_qk_ex scales");
    float *gbias = fetch(dbias, (size_t)rows * 4, "quantize_qk_ex bias");
    const int64_t dv2 = count_diff(got, want, (size_t)(rows * D), 1), dsc2 = count_diff(gscale, wscale, (size_t)rows * 4, 4);
    const double u = ldexp(1.0, -24);
    double worst = -INFINITY;
    for (int64_t b = 0; b < z->B; ++b)
        for (int64_t h = 0; h < z->H; ++h)
            for (int64_t n = 0; n < z->N; ++n) {
                const float *x = row_of(xf, z, b, n, h), *m = bm + (b * (z->H / hpm) + h / hpm) * D;
                double s = 0, sa = 0;
                for (int64_t d = 0; d < D; ++d) s += (double)x[d] * m[d], sa += fabs((double)x[d] * m[d]);
                const double w = bias_scale * s, g = gbias[(b * z->H + h) * z->N + n];
                const double ex = isnan(g) ? INFINITY : fabs(g - w) - (10 * u * bias_scale * sa + 2 * u * fabs(w));
                if (ex > worst) worst = ex;
            }
    printf("  qk: %lld + %lld values, %lld + %lld scales differ; bias excess %.3g\n", (long long)dv,
           (long long)dv2, (long long)dsc, (long long)dsc2, worst);
    assert_int_equal(dv + dv2 + dsc + dsc2, 0);
    assert_true(worst <= 0);
    free(got); free(gscale); free(gbias); free(want); free(wscale); free(sub); free(bm);
    gpu_free(dq); gpu_free(ds); gpu_free(dsub); gpu_free(dbm); gpu_free(dbias);

    /* K's mean over tokens */
    void *dm = poisoned((size_t)(z->B * z->H * D) * 4);
    assert_int_equal(intfa_mean_over_tokens(ctx, xt, z->dt, z->B, z->H, z->N, D, dm, NULL), INTFA_OK);
    gpu_sync();
    float *gm = fetch(dm, (size_t)(z->B * z->H * D) * 4, "mean_over_tokens");
    const double me = mean_excess(xf, z, gm);
    printf("  mean: excess over its bound %.3g\n", me);
    assert_true(me <= 0);
    free(gm);
    gpu_free(dm);
}

static void check_v(intfa_context *ctx, const dims *z, const intfa_tensor *xt, const float *xf)
{
    const int64_t np = intfa_v_padded_len(z->N), bytes = z->B * z->H * z->D * np, nsc = z->B * z->H * z->D;
    for (int mode = INTFA_VS_CHANNEL; mode <= INTFA_VS_HEAD; ++mode) {
        int8_t *want = malloc((size_t)bytes);
        float *wscale = malloc((size_t)nsc * 4);
        void *dvt = poisoned((size_t)bytes), *ds = poisoned((size_t)nsc * 4);
        assert_int_equal(intfa_quantize_v(ctx, xt, z->dt, z->B, z->H, z->N, z->D, (intfa_v_scale)mode, dvt,
                                          ds, NULL),
                         INTFA_OK);
        gpu_sync();
        ref_v(xf, z, (intfa_v_scale)mode, want, wscale);
        int8_t *got = fetch(dvt, (size_t)bytes, "quantize_v values");
        float *gscale = fetch(ds, (size_t)nsc * 4, "quantize_v scales");
        const int64_t dv = count_diff(got, want, (size_t)bytes, 1), dsc = count_diff(gscale, wscale, (size_t)nsc * 4, 4);
        printf("  v (%s): %lld values, %lld scales differ\n", mode == INTFA_VS_HEAD ? "head" : "channel",
               (long long)dv, (long long)dsc);
        assert_int_equal(dv + dsc, 0);
        free(want); free(wscale); free(got); free(gscale);
        gpu_free(dvt); gpu_free(ds);
    }
}

/* The drop-in's K/V pass against the reference: K on the GPU's mean, V, the mean's bound. */
static void check_kv(intfa_context *ctx, const dims *z, const intfa_tensor *kt, const intfa_tensor *vt,
                     const float *kf, const float *vf)
{
    const int64_t np = intfa_v_padded_len(z->N), bh = z->B * z->H, D = z->D;
    const int64_t kb = bh * z->N * D, vb = bh * D * np;
    const int sm90 = ctx->arch == INTFA_ARCH_SM90 || ctx->arch == INTFA_ARCH_SM90A;
    const int saved = ctx->kv_stream_blocks;
    /* sm_90: the default streamed blocks, one block (packs wait for statistics), every SM */
    const int blocks[3] = {saved, 1, 0};
    for (int smooth = 0; smooth <= 1; ++smooth)
        for (int mode = INTFA_VS_CHANNEL; mode <= INTFA_VS_HEAD; ++mode)
            for (int bi = 0; bi < (sm90 ? 3 : 1); ++bi) {
                ctx->kv_stream_blocks = blocks[bi];
                void *dk8 = poisoned((size_t)kb), *dks = poisoned((size_t)(bh * z->N) * 4);
                void *dv8 = poisoned((size_t)vb), *dvs = poisoned((size_t)(bh * D) * 4);
                void *dmean = poisoned((size_t)(bh * D) * 4);
                void *dpart = gpu_alloc((size_t)intfa_kv_part_bytes(bh, z->N, D));
                /* poisoned: the streamed pass zeroes its own counters and flags */
                void *dsync = poisoned((size_t)intfa_kv_sync_words(bh) * 4);
                /* sm_80-sm_89: no sync, the two launches (as the drop-in there) */
                intfa_kv_quant_out out = {dk8, dv8, dks, dvs, dmean, dpart, NULL, 0, sm90 ? dsync : NULL};
                uint64_t streamed = 0;
                /* sm_90: twice on the same sync words, the outputs poisoned again between: the
                 * second pass starts from what the first left there (its counters and flags) */
                for (int rep = 0; rep < (sm90 ? 2 : 1); ++rep) {
                    if (rep) {
                        gpu_fill_bytes(dk8, POISON, (size_t)kb);
                        gpu_fill_bytes(dks, POISON, (size_t)(bh * z->N) * 4);
                        gpu_fill_bytes(dv8, POISON, (size_t)vb);
                        gpu_fill_bytes(dvs, POISON, (size_t)(bh * D) * 4);
                        gpu_fill_bytes(dmean, POISON, (size_t)(bh * D) * 4);
                    }
                    assert_int_equal(intfa_ctx_enter(ctx), INTFA_OK);
                    const intfa_status st = intfa_quantize_kv_launch(ctx, kt, vt, z->dt, z->B, z->H, z->N, D, smooth,
                                                                     (intfa_v_scale)mode, &out, NULL, &streamed);
                    intfa_ctx_leave(ctx);
                    assert_int_equal(st, INTFA_OK);
                    gpu_sync();
                }
                if (streamed) { /* every head's ready flag holds the (second) launch's epoch */
                    uint32_t *gs = fetch(dsync, (size_t)intfa_kv_sync_words(bh) * 4, "K/V pass sync words");
                    const uint64_t *ready = intfa_kv_ready_flags(gs, bh);
                    for (int64_t i = 0; i < bh; ++i) assert_true(ready[i] == streamed);
                    free(gs);
                }
                float *gmean = fetch(dmean, (size_t)(bh * D) * 4, "K/V pass mean");
                double me = -INFINITY;
                if (smooth) {
                    me = mean_excess(kf, z, gmean);
                    assert_true(me <= 0);
                } else { /* no mean written */
                    const unsigned char *p = (const unsigned char *)gmean;
                    for (int64_t i = 0; i < bh * D * 4; ++i) assert_int_equal(p[i], POISON);
                }
                int8_t *wk = malloc((size_t)kb), *wv = malloc((size_t)vb);
                float *wks = malloc((size_t)(bh * z->N) * 4), *wvs = malloc((size_t)(bh * D) * 4);
                ref_rows(kf, z, smooth ? gmean : NULL, wk, wks);
                ref_v(vf, z, (intfa_v_scale)mode, wv, wvs);
                int8_t *gk = fetch(dk8, (size_t)kb, "K/V pass K"), *gv = fetch(dv8, (size_t)vb, "K/V pass V");
                float *gks = fetch(dks, (size_t)(bh * z->N) * 4, "K/V pass K scales");
                float *gvs = fetch(dvs, (size_t)(bh * D) * 4, "K/V pass V scales");
                const int64_t d1 = count_diff(gk, wk, (size_t)kb, 1), d2 = count_diff(gks, wks, (size_t)(bh * z->N) * 4, 4);
                const int64_t d3 = count_diff(gv, wv, (size_t)vb, 1), d4 = count_diff(gvs, wvs, (size_t)(bh * D) * 4, 4);
                printf("  K/V pass (%s, %s, %s%d blocks): K %lld, K scales %lld, V %lld, V scales %lld differ; "
                       "mean excess %.3g\n", smooth ? "smooth" : "plain", mode == INTFA_VS_HEAD ? "head" : "channel",
                       streamed ? "streamed, " : "", sm90 ? blocks[bi] : 0, (long long)d1, (long long)d2,
                       (long long)d3, (long long)d4, me);
                assert_int_equal(d1 + d2 + d3 + d4, 0);
                free(gmean); free(wk); free(wv); free(wks); free(wvs); free(gk); free(gv); free(gks); free(gvs);
                gpu_free(dk8); gpu_free(dks); gpu_free(dv8); gpu_free(dvs); gpu_free(dmean);
                gpu_free(dpart); gpu_free(dsync);
            }
    ctx->kv_stream_blocks = saved;
}

/* A random [B, N, H, D] tensor of the dtype on the device and its exact fp32 values. */
static void *make_tensor(intfa_ref_rng *rng, const dims *z, float *exact, intfa_tensor *t)
{
    const int64_t n = z->B * z->N * z->H * z->D;
    uint16_t *h = malloc((size_t)n * 2);
    for (int64_t i = 0; i < n; ++i) {
        /* a few large values so that per-token and per-channel maxima differ */
        const double s = intfa_ref_uniform(rng) < 0.01 ? 20.0 : 1.0;
        h[i] = to_half(z->dt, (float)(s * intfa_ref_normal(rng)));
        exact[i] = from_half(z->dt, h[i]);
    }
    void *d = gpu_alloc((size_t)n * 2);
    gpu_upload(d, h, (size_t)n * 2);
    free(h);
    *t = intfa_tensor_bnhd(d, z->N, z->H, z->D);
    return d;
}

static void test_every_head_dim(void **state)
{
    (void)state;
    intfa_context *ctx = gpu_open_or_skip("test_gpu_quant_dims");
    /* N: a tail of a 16-key group, and over 1024 keys (several statistics spans and pack blocks) */
    const int64_t seqs[2] = {37, 2100};
    for (int64_t D = 32; D <= 256; D += 16)
        for (int dt = 0; dt < 2; ++dt)
            for (int si = 0; si < 2; ++si) {
                const dims z = {2, 4, seqs[si], D, dt ? INTFA_DTYPE_BF16 : INTFA_DTYPE_FP16};
                printf("hd%lld %s N=%lld\n", (long long)D, dt ? "bf16" : "fp16", (long long)z.N);
                intfa_ref_rng rng;
                intfa_ref_rng_seed(&rng, 1000 * (uint64_t)D + 10 * (uint64_t)dt + (uint64_t)si);
                const int64_t n = z.B * z.N * z.H * z.D;
                float *kf = malloc((size_t)n * 4), *vf = malloc((size_t)n * 4);
                intfa_tensor kt, vt;
                void *dk = make_tensor(&rng, &z, kf, &kt), *dv = make_tensor(&rng, &z, vf, &vt);
                check_qk(ctx, &z, &kt, kf);
                check_v(ctx, &z, &vt, vf);
                check_kv(ctx, &z, &kt, &vt, kf, vf);
                free(kf); free(vf);
                gpu_free(dk); gpu_free(dv);
            }
}

int main(void)
{
    gpu_open_or_skip("test_gpu_quant_dims");
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_every_head_dim)};
    const int r = cmocka_run_group_tests(tests, NULL, NULL);
    gpu_close();
    return r;
}
