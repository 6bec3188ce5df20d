/* test_gpu_baseline.c - the FP16 FlashAttention baseline (templates/attn_fwd_fp16.cu) on the
 * GPU against exact attention in double: every output element of every case, outputs and LSE
 * poisoned with NaN first, strided inputs whose padding holds NaN (a read of it shows), tails,
 * N_q != N_kv, GQA/MQA, causal. Skips (exit 77, "SKIP: ...") where no GPU exists. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "baseline.h"
#include "gpu_harness.h"

/* P is rounded to fp16 before P.V and the output is stored in fp16: both ~2^-12 relative per
 * value; against exact attention that is a few 1e-4 (SDPA FP16 measures 2.8e-4). */
#define MAX_REL_L2 2e-3
#define MAX_LSE_DIFF 1e-3 /* LSE is computed in fp32 from fp32 scores */

typedef enum { BNHD, BHND, PADDED } layout;

typedef struct fp16_case {
    int64_t batch, heads_q, heads_kv, seq_q, seq_kv;
    int head_dim, causal;
    layout lay;
    float softmax_scale; /* 0: 1/sqrt(D) */
    uint64_t seed;
} fp16_case;

#define MAX_CASES 64
static fp16_case cases[MAX_CASES];
static int ncases;

static void add(int64_t nq, int64_t nkv, int d, int causal)
{
    if (ncases == MAX_CASES) return;
    fp16_case c = {1, 2, 2, nq, nkv, d, causal, BNHD, 0.0f, 0};
    c.seed = 4242u + (uint64_t)ncases * 7919u;
    cases[ncases++] = c;
}

static void build_cases(void)
{
    static const int64_t sizes[] = {1, 17, 64, 65, 127, 1000, 4099};
    for (int d = 64; d <= 128; d *= 2)
        for (int causal = 0; causal <= 1; ++causal)
            for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; ++i) {
                add(sizes[i], sizes[i], d, causal);
                if (sizes[i] > 1000) cases[ncases - 1].heads_q = cases[ncases - 1].heads_kv = 1;
            }
    static const int64_t pairs[][2] = {{100, 1000}, {1000, 100}, {1, 4099}, {65, 17}, {17, 65}, {5, 0}};
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; ++i)
        for (int causal = 0; causal <= 1; ++causal) add(pairs[i][0], pairs[i][1], i % 2 ? 64 : 128, causal);
    add(300, 300, 128, 1); /* GQA 8:1, two sequences, [B, H, N, D] */
    cases[ncases - 1].heads_q = 16;
    cases[ncases - 1].batch = 2;
    cases[ncases - 1].lay = BHND;
    add(257, 257, 64, 0); /* MQA, padded strides, another softmax scale */
    cases[ncases - 1].heads_q = 4;
    cases[ncases - 1].heads_kv = 1;
    cases[ncases - 1].lay = PADDED;
    cases[ncases - 1].softmax_scale = 0.3f;
    add(200, 333, 128, 1); /* padded, causal, B = 3 */
    cases[ncases - 1].batch = 3;
    cases[ncases - 1].lay = PADDED;
}

/* Strides of an [B, N, H, D] tensor in a layout; returns the elements to allocate. */
static int64_t strides(layout l, int64_t B, int64_t N, int64_t H, int64_t D, intfa_tensor *t)
{
    if (l == BHND)
        *t = intfa_tensor_bhnd(NULL, N, H, D);
    else
        *t = intfa_tensor_bnhd(NULL, N, H, D);
    if (l == PADDED) { /* gaps between tokens and between sequences */
        t->stride_n = H * D + 8;
        t->stride_b = N * t->stride_n + 24;
    }
    return B * N * H == 0 ? 8 : (B - 1) * t->stride_b + (N - 1) * t->stride_n + (H - 1) * t->stride_h + D;
}

/* Random fp16 values x[B][H][N][D] (as floats), uploaded into a strided device tensor whose
 * padding holds NaN. */
static float *upload(intfa_ref_rng *rng, const fp16_case *c, int64_t H, int64_t N, intfa_tensor *t)
{
    const int64_t B = c->batch, D = c->head_dim, n = B * H * N * D;
    const int64_t count = strides(c->lay, B, N, H, D, t);
    float *x = malloc((size_t)n * sizeof *x + 4);
    uint16_t *h = malloc((size_t)count * 2);
    for (int64_t i = 0; i < count; ++i) h[i] = 0x7e00; /* NaN */
    for (int64_t b = 0, i = 0; b < B; ++b)
        for (int64_t hh = 0; hh < H; ++hh)
            for (int64_t s = 0; s < N; ++s)
                for (int64_t d = 0; d < D; ++d, ++i) {
                    x[i] = intfa_ref_round_dtype((float)intfa_ref_normal(rng), INTFA_DTYPE_FP16);
                    h[b * t->stride_b + s * t->stride_n + hh * t->stride_h + d] = intfa_ref_f32_to_f16(x[i]);
                }
    t->data = gpu_alloc((size_t)count * 2);
    gpu_upload(t->data, h, (size_t)count * 2);
    free(h);
    return x;
}

static void run_case(void **state)
{
    const fp16_case *c = *state;
    const int64_t B = c->batch, Hq = c->heads_q, Hk = c->heads_kv, Nq = c->seq_q, Nk = c->seq_kv;
    const int64_t D = c->head_dim;
    intfa_context *ctx = gpu_open_or_skip("test_gpu_baseline");
    intfa_ref_rng rng;
    intfa_ref_rng_seed(&rng, c->seed);
    intfa_tensor qt, kt, vt, ot;
    float *q = upload(&rng, c, Hq, Nq, &qt), *k = upload(&rng, c, Hk, Nk, &kt);
    float *v = upload(&rng, c, Hk, Nk, &vt);
    const int64_t ocount = strides(c->lay, B, Nq, Hq, D, &ot);
    ot.data = gpu_alloc((size_t)ocount * 2);
    gpu_fill_bytes(ot.data, 0xff, (size_t)ocount * 2);
    const size_t lse_bytes = (size_t)(B * Hq * Nq) * 4 + 4;
    float *dlse = gpu_alloc(lse_bytes);
    gpu_fill_bytes(dlse, 0xff, lse_bytes);

    const intfa_attn_problem pr = {B, Hq, Hk, Nq, Nk, D, c->softmax_scale, c->causal,
                                   INTFA_DTYPE_FP16, INTFA_PQ_U8_ROW, INTFA_VS_CHANNEL};
    intfa_status st = intfa_baseline_fp16_attention(ctx, &pr, &qt, &kt, &vt, &ot, dlse, NULL);
    if (st != INTFA_OK) fail_msg("%s: %s", intfa_status_string(st), intfa_last_error());
    gpu_sync();
    uint16_t *ho = malloc((size_t)ocount * 2);
    float *hlse = malloc(lse_bytes);
    gpu_download(ho, ot.data, (size_t)ocount * 2);
    gpu_download(hlse, dlse, lse_bytes);

    const double scale = c->softmax_scale > 0 ? c->softmax_scale : 1.0 / sqrt((double)D);
    double *ex = malloc((size_t)(Nq * D) * 8 + 8), *exlse = malloc((size_t)Nq * 8 + 8);
    double se = 0, sr = 0, lse_diff = 0;
    int64_t unwritten = 0, bad_empty = 0;
    for (int64_t b = 0; b < B; ++b)
        for (int64_t h = 0; h < Hq; ++h) {
            const int64_t bh = b * Hq + h, bhk = b * Hk + h / (Hq / Hk);
            intfa_ref_attention_exact_head(q + bh * Nq * D, D, k + bhk * Nk * D, D, v + bhk * Nk * D, D,
                                           Nq, Nk, (int)D, scale, c->causal, ex, exlse);
            for (int64_t n = 0; n < Nq; ++n) {
                const int sees = Nk > 0 && (!c->causal || n + Nk - Nq >= 0);
                const float l = hlse[bh * Nq + n];
                for (int64_t d = 0; d < D; ++d) {
                    const float o = intfa_ref_f16_to_f32(ho[b * ot.stride_b + n * ot.stride_n + h * ot.stride_h + d]);
                    const double r = ex[n * D + d];
                    unwritten += isnan(o);
                    bad_empty += !sees && o != 0.0f;
                    se += (o - r) * (o - r);
                    sr += r * r;
                }
                if (!sees)
                    bad_empty += !(isinf(l) && l < 0);
                else if (isnan(l) || fabs(l - exlse[n]) > lse_diff)
                    lse_diff = isnan(l) ? INFINITY : fabs(l - exlse[n]);
            }
        }
    const double rel = sr > 0 ? sqrt(se / sr) : sqrt(se);
    print_message("  B=%lld Hq=%lld Hkv=%lld Nq=%lld Nkv=%lld D=%lld %s %s: rel L2 %.2e, lse %.1e\n",
                  (long long)B, (long long)Hq, (long long)Hk, (long long)Nq, (long long)Nk,
                  (long long)D, c->causal ? "causal" : "full",
                  c->lay == BNHD ? "bnhd" : c->lay == BHND ? "bhnd" : "padded", rel, lse_diff);
    assert_int_equal(unwritten, 0);
    assert_int_equal(bad_empty, 0);
    assert_true(rel < MAX_REL_L2);
    assert_true(lse_diff < MAX_LSE_DIFF);
    /* the gaps between the output's token rows were not written */
    for (int64_t b = 0; c->lay == PADDED && b < B; ++b)
        for (int64_t n = 0; n < Nq; ++n)
            for (int64_t i = b * ot.stride_b + n * ot.stride_n + Hq * D;
                 i < b * ot.stride_b + (n + 1) * ot.stride_n && i < ocount; ++i)
                assert_int_equal(ho[i], 0xffff);
    free(ex);
    free(exlse);
    free(ho);
    free(hlse);
    free(q);
    free(k);
    free(v);
    gpu_free(qt.data);
    gpu_free(kt.data);
    gpu_free(vt.data);
    gpu_free(ot.data);
    gpu_free(dlse);
}

int main(void)
{
    gpu_open_or_skip("test_gpu_baseline");
    build_cases();
    struct CMUnitTest tests[MAX_CASES];
    for (int i = 0; i < ncases; ++i) {
        struct CMUnitTest t = cmocka_unit_test_prestate(run_case, &cases[i]);
        tests[i] = t;
    }
    const int failed = _cmocka_run_group_tests("gpu_baseline", tests, (size_t)ncases, NULL, NULL);
    gpu_close();
    return failed ? 1 : 0;
}
