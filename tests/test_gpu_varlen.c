/* test_gpu_varlen.c - intfa_attention_varlen on a GPU: random sequence lengths (0, 1, tails,
 * lengths across several tiles; queries and keys of different lengths), GQA, causal and not,
 * fp16 and bf16, K smoothing on and off, per-channel and per-head V, LSE. Each case checks every
 * element of the poisoned output and LSE:
 *   - against intfa_attention on each sequence alone: bit for bit, K smoothing included (the
 *     same quantization per sequence, the K/V statistics cut by the sequence's own length, the
 *     same kernels);
 *   - against exact attention in double on the fp16/bf16 inputs (the INT8 error bound of
 *     test_gpu_attention).
 * And on sm_90, where the drop-in's K/V pass is the streamed one (the attention kernel its
 * programmatic dependent, waiting per head): the batched and the varlen drop-in give the same
 * bits with 1, 2, 5 streamed blocks (heads waited for) and the default count as with the pass
 * serialized (every SM, then the attention kernel; on 2026-12-06 also checked equal to the
 * two-launch kernels of sm_80-sm_89, then still built for sm_90: docs/RESULTS.md, session 5).
 * Skips (exit 77, "SKIP: ...") without a GPU. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gpu_harness.h"

#define MAX_SEQS 8
#define BOUND_VS_PER_SEQ 1e-3
#define BOUND_VS_EXACT 2.5e-2 /* INT8 Q/K/V/P on N(0,1) inputs: ~1.4e-2 measured */

typedef struct varlen_case {
    int seqs, hq, hkv, d, causal, smooth, lse;
    intfa_dtype dtype;
    intfa_v_scale vs;
    int lq[MAX_SEQS], lk[MAX_SEQS];
} varlen_case;

static uint16_t to_half(intfa_dtype dt, float x)
{
    return dt == INTFA_DTYPE_BF16 ? intfa_ref_f32_to_bf16(x) : intfa_ref_f32_to_f16(x);
}

static float from_half(intfa_dtype dt, uint16_t h)
{
    return dt == INTFA_DTYPE_BF16 ? intfa_ref_bf16_to_f32(h) : intfa_ref_f16_to_f32(h);
}

/* n values N(0,1) rounded to the dtype: the device copy and its exact fp32 values. */
static uint16_t *random_half(intfa_ref_rng *rng, intfa_dtype dt, int64_t n, float *exact)
{
    uint16_t *h = malloc((size_t)n * 2 + 2);
    for (int64_t i = 0; i < n; ++i) {
        h[i] = to_half(dt, (float)intfa_ref_normal(rng));
        exact[i] = from_half(dt, h[i]);
    }
    return h;
}

static void run_case(const varlen_case *c, uint64_t seed)
{
    intfa_context *ctx = gpu_open_or_skip("test_gpu_varlen");
    const int S = c->seqs, D = c->d, Hq = c->hq, Hk = c->hkv;
    int32_t cq[MAX_SEQS + 1] = {0}, ck[MAX_SEQS + 1] = {0};
    for (int s = 0; s < S; ++s) {
        cq[s + 1] = cq[s] + c->lq[s];
        ck[s + 1] = ck[s] + c->lk[s];
    }
    const int64_t TQ = cq[S], TK = ck[S];
    intfa_ref_rng rng;
    intfa_ref_rng_seed(&rng, seed);
    float *qf = malloc(sizeof(float) * (size_t)(TQ * Hq * D + 1));
    float *kf = malloc(sizeof(float) * (size_t)(TK * Hk * D + 1));
    float *vf = malloc(sizeof(float) * (size_t)(TK * Hk * D + 1));
    uint16_t *qh = random_half(&rng, c->dtype, TQ * Hq * D, qf);
    uint16_t *kh = random_half(&rng, c->dtype, TK * Hk * D, kf);
    uint16_t *vh = random_half(&rng, c->dtype, TK * Hk * D, vf);
    const size_t qbytes = (size_t)(TQ * Hq * D) * 2, kbytes = (size_t)(TK * Hk * D) * 2;
    void *dq = gpu_alloc(qbytes + 16), *dk = gpu_alloc(kbytes + 16), *dv = gpu_alloc(kbytes + 16);
    void *dout = gpu_alloc(qbytes + 16), *dref = gpu_alloc(qbytes + 16);
    float *dlse = gpu_alloc((size_t)(Hq * TQ) * 4 + 16), *dlse1 = gpu_alloc((size_t)(Hq * TQ) * 4 + 16);
    gpu_upload(dq, qh, qbytes);
    gpu_upload(dk, kh, kbytes);
    gpu_upload(dv, vh, kbytes);
    gpu_fill_bytes(dout, 0xff, qbytes); /* NaN poison */
    gpu_fill_bytes(dref, 0xff, qbytes);
    gpu_fill_bytes(dlse, 0xff, (size_t)(Hq * TQ) * 4);
    gpu_fill_bytes(dlse1, 0xff, (size_t)(Hq * TQ) * 4);

    intfa_attn_problem pr = {S, Hq, Hk, TQ, TK, D, 0.0f, c->causal, c->dtype, INTFA_PQ_U8_ROW,
                             c->vs, INTFA_FMT_INT8, c->smooth};
    const intfa_tensor q = {dq, 0, Hq * D, D}, k = {dk, 0, Hk * D, D}, v = {dv, 0, Hk * D, D};
    const intfa_tensor o = {dout, 0, Hq * D, D};
    intfa_status st = intfa_attention_varlen(ctx, &pr, &q, &k, &v, cq, ck, &o, c->lse ? dlse : NULL,
                                             NULL, 0, NULL);
    if (st != INTFA_OK) fail_msg("intfa_attention_varlen: %s: %s", intfa_status_string(st), intfa_last_error());

    /* each sequence alone, into dref (lse per sequence: [1, H_q, len] at dlse1 + offset) */
    for (int s = 0; s < S; ++s) {
        if (c->lq[s] == 0) continue;
        intfa_attn_problem p1 = pr;
        p1.batch = 1;
        p1.seq_q = c->lq[s];
        p1.seq_kv = c->lk[s];
        const intfa_tensor q1 = {(uint16_t *)dq + (int64_t)cq[s] * Hq * D, 0, Hq * D, D};
        const intfa_tensor k1 = {(uint16_t *)dk + (int64_t)ck[s] * Hk * D, 0, Hk * D, D};
        const intfa_tensor v1 = {(uint16_t *)dv + (int64_t)ck[s] * Hk * D, 0, Hk * D, D};
        const intfa_tensor o1 = {(uint16_t *)dref + (int64_t)cq[s] * Hq * D, 0, Hq * D, D};
        st = intfa_attention(ctx, &p1, &q1, &k1, &v1, &o1, c->lse ? dlse1 + (int64_t)cq[s] * Hq : NULL,
                             NULL, 0, NULL);
        if (st != INTFA_OK) fail_msg("intfa_attention (sequence %d): %s", s, intfa_last_error());
    }
    gpu_sync();
    uint16_t *out = malloc(qbytes + 2), *ref = malloc(qbytes + 2);
    float *lse = malloc((size_t)(Hq * TQ) * 4 + 4), *lse1 = malloc((size_t)(Hq * TQ) * 4 + 4);
    gpu_download(out, dout, qbytes);
    gpu_download(ref, dref, qbytes);
    gpu_download(lse, dlse, (size_t)(Hq * TQ) * 4);
    gpu_download(lse1, dlse1, (size_t)(Hq * TQ) * 4);

    double se = 0, sr = 0, sx = 0, srx = 0, lse_diff = 0;
    int64_t unequal = 0, nonfinite = 0, lse_bad = 0;
    double *ex = malloc(sizeof(double) * (size_t)(TQ > 0 ? TQ : 1) * (size_t)D), *exl = malloc(sizeof(double) * (size_t)(TQ + 1));
    for (int s = 0; s < S; ++s) {
        const int nq = c->lq[s], nk = c->lk[s];
        for (int h = 0; h < Hq; ++h) {
            const int hk = h / (Hq / Hk);
            intfa_ref_attention_exact_head(qf + ((int64_t)cq[s] * Hq + h) * D, (int64_t)Hq * D,
                                           kf + ((int64_t)ck[s] * Hk + hk) * D, (int64_t)Hk * D,
                                           vf + ((int64_t)ck[s] * Hk + hk) * D, (int64_t)Hk * D, nq, nk,
                                           D, 1.0 / sqrt((double)D), c->causal, ex, exl);
            for (int i = 0; i < nq; ++i) {
                const int64_t row = (int64_t)cq[s] + i, at = (row * Hq + h) * D;
                for (int d = 0; d < D; ++d) {
                    const float g = from_half(c->dtype, out[at + d]), r = from_half(c->dtype, ref[at + d]);
                    if (!isfinite(g)) { nonfinite++; continue; }
                    unequal += out[at + d] != ref[at + d];
                    se += (double)(g - r) * (g - r);
                    sr += (double)r * r;
                    sx += (g - ex[(int64_t)i * D + d]) * (g - ex[(int64_t)i * D + d]);
                    srx += ex[(int64_t)i * D + d] * ex[(int64_t)i * D + d];
                }
                if (c->lse) {
                    const float gl = lse[(int64_t)h * TQ + row];                  /* [H_q, total_q] */
                    const float r1 = lse1[(int64_t)cq[s] * Hq + (int64_t)h * nq + i]; /* [1, H_q, len] */
                    if (isnan(gl) || !!isinf(exl[i]) != !!isinf(gl)) lse_bad++;
                    else if (!isinf(gl) && fabs(gl - r1) > lse_diff) lse_diff = fabs(gl - r1);
                }
            }
        }
    }
    const double rel_seq = sr > 0 ? sqrt(se / sr) : sqrt(se), rel_exact = srx > 0 ? sqrt(sx / srx) : sqrt(sx);
    printf("  seqs %d (q:", S);
    for (int s = 0; s < S; ++s) printf(" %d", c->lq[s]);
    printf(" k:");
    for (int s = 0; s < S; ++s) printf(" %d", c->lk[s]);
    printf(") Hq %d Hkv %d D %d %s %s%s%s: vs per-sequence %.2e (%lld unequal), vs exact %.2e, "
           "lse max diff %.1e\n", Hq, Hk, D, c->causal ? "causal" : "full",
           c->dtype == INTFA_DTYPE_BF16 ? "bf16" : "fp16", c->smooth ? " smooth" : "",
           c->vs == INTFA_VS_HEAD ? " v-head" : "", rel_seq, (long long)unequal, rel_exact, lse_diff);
    assert_int_equal(nonfinite, 0);
    assert_int_equal(lse_bad, 0);
    assert_true(rel_seq <= BOUND_VS_PER_SEQ);
    assert_int_equal(unequal, 0);
    if (srx > 0) assert_true(rel_exact <= BOUND_VS_EXACT);
    assert_true(lse_diff == 0.0);
    free(ex); free(exl);
    free(out); free(ref); free(lse); free(lse1);
    free(qh); free(kh); free(vh); free(qf); free(kf); free(vf);
    gpu_free(dq); gpu_free(dk); gpu_free(dv); gpu_free(dout); gpu_free(dref);
    gpu_free(dlse); gpu_free(dlse1);
}

static void test_varlen_cases(void **state)
{
    (void)state;
    const varlen_case cases[] = {
        /* lengths 0 and 1, tails, a sequence over several 128-key tiles, N_q != N_kv */
        {5, 4, 2, 128, 1, 0, 1, INTFA_DTYPE_FP16, INTFA_VS_CHANNEL, {7, 0, 300, 1, 129}, {7, 5, 300, 64, 260}},
        {5, 4, 2, 128, 0, 0, 1, INTFA_DTYPE_FP16, INTFA_VS_CHANNEL, {7, 3, 300, 1, 129}, {7, 0, 300, 64, 260}},
        {4, 8, 2, 64, 1, 1, 1, INTFA_DTYPE_BF16, INTFA_VS_CHANNEL, {65, 200, 16, 1}, {65, 257, 16, 33}},
        {4, 8, 1, 64, 0, 0, 0, INTFA_DTYPE_FP16, INTFA_VS_HEAD, {100, 1, 50, 0}, {120, 1, 17, 9}},
        {3, 2, 2, 128, 0, 1, 1, INTFA_DTYPE_BF16, INTFA_VS_CHANNEL, {513, 2, 80}, {513, 700, 1}},
        /* other head dims (issue 16): 96 (slabs of 32 bytes), 80 (padded to 96), 256 (P.V in chunks) */
        {4, 4, 2, 96, 1, 1, 1, INTFA_DTYPE_FP16, INTFA_VS_CHANNEL, {65, 0, 200, 1}, {65, 9, 257, 33}},
        {3, 2, 1, 80, 0, 0, 1, INTFA_DTYPE_BF16, INTFA_VS_CHANNEL, {130, 17, 1}, {190, 17, 40}},
        {3, 4, 2, 256, 1, 0, 1, INTFA_DTYPE_FP16, INTFA_VS_CHANNEL, {300, 1, 64}, {300, 100, 129}},
        /* equal lengths (the batched call's shape) */
        {4, 4, 4, 128, 1, 0, 1, INTFA_DTYPE_FP16, INTFA_VS_CHANNEL, {256, 256, 256, 256}, {256, 256, 256, 256}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) run_case(&cases[i], 1000 + i);
}

/* One drop-in call (varlen when cq is set) into poisoned out and lse; returns them downloaded. */
static void dropin_once(intfa_context *ctx, const intfa_attn_problem *pr, const intfa_tensor *q,
                        const intfa_tensor *k, const intfa_tensor *v, const intfa_tensor *o,
                        const int32_t *cq, const int32_t *ck, float *dlse, size_t obytes,
                        size_t lbytes, uint16_t *out, float *lse)
{
    gpu_fill_bytes(o->data, 0xff, obytes);
    gpu_fill_bytes(dlse, 0xff, lbytes);
    const intfa_status st = cq ? intfa_attention_varlen(ctx, pr, q, k, v, cq, ck, o, dlse, NULL, 0, NULL)
                               : intfa_attention(ctx, pr, q, k, v, o, dlse, NULL, 0, NULL);
    if (st != INTFA_OK) fail_msg("drop-in (%d streamed blocks): %s", ctx->kv_stream_blocks, intfa_last_error());
    gpu_sync();
    gpu_download(out, o->data, obytes);
    gpu_download(lse, dlse, lbytes);
}

static void test_streamed_pass_is_bit_identical(void **state)
{
    (void)state;
    intfa_context *ctx = gpu_open_or_skip("test_gpu_varlen");
    if (ctx->arch != INTFA_ARCH_SM90 && ctx->arch != INTFA_ARCH_SM90A) {
        printf("  (not sm_90: the drop-in's K/V pass is the two-launch one, no streaming)\n");
        return;
    }
    const int saved = ctx->kv_stream_blocks, blocks[] = {1, 2, 5, saved};
    for (int variant = 0; variant < 3; ++variant) {
        /* batched hd128 causal with smoothing and GQA; batched hd64 bf16; varlen hd128 */
        const int D = variant == 1 ? 64 : 128, Hq = 8, Hk = 2, B = variant == 2 ? 4 : 2;
        const intfa_dtype dt = variant == 1 ? INTFA_DTYPE_BF16 : INTFA_DTYPE_FP16;
        const int32_t cq[5] = {0, 0, 1, 2101, 2500}, ck[5] = {0, 5, 6, 2106, 3000};
        const int64_t nq = variant == 2 ? cq[4] : 900, nk = variant == 2 ? ck[4] : 2500;
        const int64_t tq = variant == 2 ? nq : B * nq, tk = variant == 2 ? nk : B * nk;
        intfa_attn_problem pr = {B, Hq, Hk, nq, nk, D, 0.0f, variant != 1, dt, INTFA_PQ_U8_ROW,
                                 INTFA_VS_CHANNEL, INTFA_FMT_INT8, variant != 1};
        intfa_ref_rng rng;
        intfa_ref_rng_seed(&rng, 4242 + (uint64_t)variant);
        float *scratch = malloc(sizeof(float) * (size_t)(tk * Hk * D + tq * Hq * D));
        uint16_t *qh = random_half(&rng, dt, tq * Hq * D, scratch);
        uint16_t *kh = random_half(&rng, dt, tk * Hk * D, scratch);
        uint16_t *vh = random_half(&rng, dt, tk * Hk * D, scratch);
        const size_t qbytes = (size_t)(tq * Hq * D) * 2, kbytes = (size_t)(tk * Hk * D) * 2;
        const size_t lbytes = (size_t)(B * Hq * nq) * 4;
        void *dq = gpu_alloc(qbytes), *dk = gpu_alloc(kbytes), *dv = gpu_alloc(kbytes), *dout = gpu_alloc(qbytes);
        float *dlse = gpu_alloc(lbytes);
        gpu_upload(dq, qh, qbytes);
        gpu_upload(dk, kh, kbytes);
        gpu_upload(dv, vh, kbytes);
        intfa_tensor q, k, v, o;
        if (variant == 2) { /* packed [total, H, D] */
            q = (intfa_tensor){dq, 0, Hq * D, D};
            k = (intfa_tensor){dk, 0, Hk * D, D};
            v = (intfa_tensor){dv, 0, Hk * D, D};
            o = (intfa_tensor){dout, 0, Hq * D, D};
        } else {
            q = intfa_tensor_bnhd(dq, nq, Hq, D);
            k = intfa_tensor_bnhd(dk, nk, Hk, D);
            v = intfa_tensor_bnhd(dv, nk, Hk, D);
            o = intfa_tensor_bnhd(dout, nq, Hq, D);
        }
        const int32_t *cqp = variant == 2 ? cq : NULL, *ckp = variant == 2 ? ck : NULL;
        uint16_t *ref = malloc(qbytes), *out = malloc(qbytes);
        float *rlse = malloc(lbytes), *lse = malloc(lbytes);
        ctx->kv_stream_blocks = 0; /* the pass serialized */
        dropin_once(ctx, &pr, &q, &k, &v, &o, cqp, ckp, dlse, qbytes, lbytes, ref, rlse);
        int64_t nan = 0;
        for (size_t i = 0; i < qbytes / 2; ++i) nan += (ref[i] & 0x7c00) == 0x7c00 && dt == INTFA_DTYPE_FP16;
        assert_int_equal(nan, 0);
        for (size_t b = 0; b < sizeof blocks / sizeof blocks[0]; ++b) {
            ctx->kv_stream_blocks = blocks[b];
            dropin_once(ctx, &pr, &q, &k, &v, &o, cqp, ckp, dlse, qbytes, lbytes, out, lse);
            int64_t diff = 0;
            for (size_t i = 0; i < qbytes / 2; ++i) diff += out[i] != ref[i];
            const int lse_same = memcmp(lse, rlse, lbytes) == 0;
            printf("  streamed K/V pass, %s hd%d, %d blocks: %lld outputs differ from the serialized "
                   "pass, LSE %s\n", variant == 2 ? "varlen" : "batched", D, blocks[b], (long long)diff,
                   lse_same ? "identical" : "differs");
            assert_int_equal(diff, 0);
            assert_true(lse_same);
        }
        ctx->kv_stream_blocks = saved;
        free(ref); free(out); free(rlse); free(lse); free(scratch);
        free(qh); free(kh); free(vh);
        gpu_free(dq); gpu_free(dk); gpu_free(dv); gpu_free(dout); gpu_free(dlse);
    }
}

int main(void)
{
    gpu_open_or_skip("test_gpu_varlen");
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_varlen_cases),
                                       cmocka_unit_test(test_streamed_pass_is_bit_identical)};
    const int r = cmocka_run_group_tests(tests, NULL, NULL);
    gpu_close();
    return r;
}
