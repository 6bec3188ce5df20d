/* test_gpu_kvcache.c - the paged INT8 KV cache on a GPU (intfa_kv_append, intfa_kv_attention):
 * sequences of random lengths (0, 1, tails, several pages and splits) appended in random chunk
 * sizes (and one token at a time at the end, as a decode loop does) into pages handed out in a
 * shuffled order, then attended by 1 to 16 query tokens per sequence, GQA and MQA, causal and
 * not, fp16 and bf16, every page size, the call's arrays in the kernel parameters or copied to
 * the device. Checked:
 *   - the pool's bytes against reference/ref_kvcache.c appending each sequence at once: every
 *     K value and scale, every V value and scale of full pages, the last page's V as the
 *     reference quantizes its stage: equal, bit for bit;
 *   - every element of the poisoned output and LSE against intfa_ref_attention_paged (same
 *     tiles of 64 keys), and against exact attention in double on the fp16/bf16 inputs.
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
#include "kv_layout.h"

#define MAX_SEQS 4
#define BOUND_VS_REF 4e-3   /* same algorithm and tiles; ex2.approx may move a P byte by one */
#define BOUND_VS_EXACT 2.5e-2 /* INT8 Q/K/V/P on N(0,1): ~1.3e-2 (docs/DECODE.md) */
#define LSE_BOUND 2e-3

typedef struct kv_case {
    int d, ps, hkv, hq, nq, causal, seqs;
    intfa_dtype dtype;
    int lens[MAX_SEQS];
} kv_case;

static uint16_t to_half(intfa_dtype dt, float x)
{
    return dt == INTFA_DTYPE_BF16 ? intfa_ref_f32_to_bf16(x) : intfa_ref_f32_to_f16(x);
}

static float from_half(intfa_dtype dt, uint16_t h)
{
    return dt == INTFA_DTYPE_BF16 ? intfa_ref_bf16_to_f32(h) : intfa_ref_f16_to_f32(h);
}

static void fill(intfa_ref_rng *rng, intfa_dtype dt, int64_t n, uint16_t *h, float *f)
{
    for (int64_t i = 0; i < n; ++i) {
        h[i] = to_half(dt, (float)intfa_ref_normal(rng));
        f[i] = from_half(dt, h[i]);
    }
}

static void shuffle(intfa_ref_rng *rng, int32_t *a, int n)
{
    for (int i = n - 1; i > 0; --i) {
        const int j = (int)(intfa_ref_uniform(rng) * (i + 1));
        const int32_t t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

/* Appends every sequence's tokens in random chunks, the last few one at a time. */
static void append_all(intfa_context *ctx, const kv_case *c, const intfa_kv_cache *cache,
                       intfa_kv_seqs *seqs, int32_t *lens, uint16_t *const *kh,
                       uint16_t *const *vh, intfa_ref_rng *rng)
{
    const int S = c->seqs, row = c->hkv * c->d;
    int max_len = 0;
    for (int s = 0; s < S; ++s) max_len = c->lens[s] > max_len ? c->lens[s] : max_len;
    uint16_t *pack = malloc((size_t)(max_len * S + 1) * (size_t)row * 2);
    void *dk = gpu_alloc((size_t)(max_len * S + 1) * (size_t)row * 2);
    void *dv = gpu_alloc((size_t)(max_len * S + 1) * (size_t)row * 2);
    int calls = 0;
    for (;;) {
        int32_t cu[MAX_SEQS + 1] = {0};
        for (int s = 0; s < S; ++s) {
            const int left = c->lens[s] - lens[s];
            int n = left <= 3 ? (left > 0) : (int)(intfa_ref_uniform(rng) * (left + 1));
            if (n > 300) n = 300;
            cu[s + 1] = cu[s] + n;
        }
        if (cu[S] == 0) {
            int done = 1;
            for (int s = 0; s < S; ++s) done &= lens[s] == c->lens[s];
            if (done) break;
            continue;
        }
        for (int pass = 0; pass < 2; ++pass) {
            uint16_t *const *src = pass ? vh : kh;
            for (int s = 0; s < S; ++s)
                memcpy(pack + (size_t)cu[s] * row, src[s] + (size_t)lens[s] * row,
                       (size_t)(cu[s + 1] - cu[s]) * row * 2);
            gpu_upload(pass ? dv : dk, pack, (size_t)cu[S] * row * 2);
        }
        const intfa_tensor k = {dk, 0, row, c->d}, v = {dv, 0, row, c->d};
        seqs->lens = lens;
        intfa_status st = intfa_kv_append(ctx, cache, seqs, &k, &v, cu, NULL, 0, NULL);
        if (st != INTFA_OK) fail_msg("intfa_kv_append: %s: %s", intfa_status_string(st), intfa_last_error());
        gpu_sync(); /* the staging buffers are rewritten next round */
        for (int s = 0; s < S; ++s) lens[s] += cu[s + 1] - cu[s];
        ++calls;
    }
    free(pack);
    gpu_free(dk);
    gpu_free(dv);
    print_message("    %d append calls\n", calls);
}

/* Byte of key j of a page within its channel's row of the pool's V (templates/kv_cache.cu):
 * chunks of CH = min(page, 64) keys, [D][CH] each, keys permuted within a chunk. */
static int64_t pool_v_offset(int64_t j, int64_t e, int64_t ps, int64_t d)
{
    const int64_t ch = ps < 64 ? ps : 64, k = j % ch, sl = intfa_ref_v_slot(k % 16);
    return (j / ch) * d * ch + e * ch + (sl / 4) * (ch / 4) + (k / 16) * 4 + sl % 4;
}

/* The pool's bytes of (sequence s, head h) against the reference cache rc. */
static int64_t pool_mismatches(const kv_case *c, const uint8_t *pool, size_t k8, size_t ks,
                               size_t v8, size_t vs, const int32_t *table, int64_t len, int h,
                               const intfa_ref_kv_cache *rc)
{
    const int64_t D = c->d, ps = c->ps, H = c->hkv;
    int64_t bad = 0;
    for (int64_t t = 0; t < len; ++t) {
        const int64_t ph = (int64_t)table[t / ps] * H + h, slot = t % ps;
        bad += memcmp(pool + k8 + (ph * ps + slot) * D, rc->k8 + t * D, (size_t)D) != 0;
        bad += memcmp(pool + ks + (ph * ps + slot) * 4, &rc->k_scale[t], 4) != 0;
    }
    const int64_t full = len / ps, pages = (len + ps - 1) / ps;
    int8_t *stage_vt = malloc((size_t)(ps + 16) * (size_t)D);
    float *stage_vs = malloc((size_t)D * sizeof(float));
    for (int64_t p = 0; p < pages; ++p) {
        const int64_t ph = (int64_t)table[p] * H + h, n = p < full ? ps : len - full * ps;
        const int64_t n_pad = (n + 15) / 16 * 16;
        const int8_t *want = rc->vt + p * ps * D;
        const float *want_s = rc->v_scale + p * D;
        int64_t ld = ps;
        if (p >= full) { /* the stage, quantized as the reference reads it */
            intfa_ref_quantize_v(rc->v_stage, n, D, (int)D, INTFA_VS_CHANNEL, stage_vt, stage_vs);
            want = stage_vt;
            want_s = stage_vs;
            ld = n_pad;
        }
        for (int64_t e = 0; e < D; ++e) {
            bad += memcmp(pool + vs + (ph * D + e) * 4, &want_s[e], 4) != 0;
            for (int64_t j = 0; j < n; ++j) {
                const int64_t sl = intfa_ref_v_slot(j);
                bad += ((const int8_t *)pool)[v8 + ph * D * ps + pool_v_offset(j, e, ps, D)] != want[e * ld + sl];
            }
        }
    }
    free(stage_vt);
    free(stage_vs);
    return bad;
}

static void run_case(const kv_case *c, uint64_t seed)
{
    intfa_context *ctx = gpu_open_or_skip("test_gpu_kvcache");
    const int S = c->seqs, D = c->d, Hq = c->hq, Hk = c->hkv, NQ = c->nq, ps = c->ps;
    const int row = Hk * D, group = Hq / Hk;
    print_message("  d%d ps%d H %d/%d nq %d %s %s lens", D, ps, Hq, Hk, NQ, c->causal ? "causal" : "full",
                  c->dtype == INTFA_DTYPE_BF16 ? "bf16" : "fp16");
    for (int s = 0; s < S; ++s) print_message(" %d", c->lens[s]);
    print_message("\n");
    intfa_ref_rng rng;
    intfa_ref_rng_seed(&rng, seed);

    /* pages: every sequence's pages, shuffled, plus spares; slots shuffled */
    int32_t pages_per_seq = 1, total_pages = 0;
    for (int s = 0; s < S; ++s) {
        const int p = (c->lens[s] + ps - 1) / ps;
        pages_per_seq = p > pages_per_seq ? p : pages_per_seq;
        total_pages += p;
    }
    const int num_pages = total_pages + 3;
    int32_t *ids = malloc(sizeof(int32_t) * (size_t)num_pages);
    for (int i = 0; i < num_pages; ++i) ids[i] = i;
    shuffle(&rng, ids, num_pages);
    int32_t *table = calloc((size_t)(S * pages_per_seq), sizeof(int32_t));
    for (int s = 0, k = 0; s < S; ++s)
        for (int p = 0; p < (c->lens[s] + ps - 1) / ps; ++p) table[s * pages_per_seq + p] = ids[k++];
    int32_t slots[MAX_SEQS], lens[MAX_SEQS] = {0};
    for (int s = 0; s < S; ++s) slots[s] = S + 1 - s;

    intfa_kv_cache cache = {NULL, num_pages, ps, Hk, D, S + 2, c->dtype};
    size_t pool_bytes = 0;
    assert_int_equal(intfa_kv_cache_bytes(&cache, &pool_bytes), INTFA_OK);
    cache.pool = gpu_alloc(pool_bytes);
    gpu_fill_bytes(cache.pool, 0xff, pool_bytes); /* the pool needs no initialization */
    intfa_kv_seqs seqs = {S, slots, lens, table, pages_per_seq};

    uint16_t *kh[MAX_SEQS], *vh[MAX_SEQS];
    float *kf[MAX_SEQS], *vf[MAX_SEQS];
    for (int s = 0; s < S; ++s) {
        const size_t n = (size_t)c->lens[s] * row + 1;
        kh[s] = malloc(n * 2);
        vh[s] = malloc(n * 2);
        kf[s] = malloc(n * 4);
        vf[s] = malloc(n * 4);
        fill(&rng, c->dtype, (int64_t)c->lens[s] * row, kh[s], kf[s]);
        fill(&rng, c->dtype, (int64_t)c->lens[s] * row, vh[s], vf[s]);
    }
    append_all(ctx, c, &cache, &seqs, lens, kh, vh, &rng);

    /* the cache's bytes */
    uint8_t *pool = malloc(pool_bytes);
    gpu_download(pool, cache.pool, pool_bytes);
    intfa_kv_pool lay;
    assert_int_equal(intfa_kv_check_cache(&cache, 1, &lay), INTFA_OK);
    const size_t k8 = lay.k8, ks = lay.k_scale, v8 = lay.v8, vs = lay.v_scale;
    intfa_ref_kv_cache *rc = calloc((size_t)(S * Hk), sizeof *rc);
    int64_t bad = 0;
    for (int s = 0; s < S; ++s)
        for (int h = 0; h < Hk; ++h) {
            intfa_ref_kv_cache *r = &rc[s * Hk + h];
            assert_int_equal(intfa_ref_kv_cache_init(r, D, ps, pages_per_seq), 0);
            assert_int_equal(intfa_ref_kv_append(r, kf[s] + h * D, vf[s] + h * D, c->lens[s], row), 0);
            bad += pool_mismatches(c, pool, k8, ks, v8, vs, table + s * pages_per_seq, c->lens[s], h, r);
        }
    if (bad) fail_msg("%lld cache values or scales differ from the reference", (long long)bad);

    /* attention */
    const size_t qn = (size_t)S * NQ * Hq * D;
    uint16_t *qh = malloc(qn * 2 + 2), *oh = malloc(qn * 2 + 2);
    float *qf = malloc(qn * 4 + 4);
    fill(&rng, c->dtype, (int64_t)qn, qh, qf);
    void *dq = gpu_alloc(qn * 2 + 16), *dout = gpu_alloc(qn * 2 + 16);
    float *dlse = gpu_alloc((size_t)S * Hq * NQ * 4 + 16), *lse = malloc((size_t)S * Hq * NQ * 4 + 4);
    gpu_upload(dq, qh, qn * 2);
    gpu_fill_bytes(dout, 0xff, qn * 2);
    gpu_fill_bytes(dlse, 0xff, (size_t)S * Hq * NQ * 4);
    const intfa_kv_query query = {Hq, NQ, 0.0f, c->causal};
    const intfa_tensor q = {dq, (int64_t)NQ * Hq * D, Hq * D, D}, o = {dout, (int64_t)NQ * Hq * D, Hq * D, D};
    intfa_status st = intfa_kv_attention(ctx, &cache, &seqs, &query, &q, &o, dlse, NULL, 0, NULL);
    if (st != INTFA_OK) fail_msg("intfa_kv_attention: %s: %s", intfa_status_string(st), intfa_last_error());
    gpu_sync();
    gpu_download(oh, dout, qn * 2);
    gpu_download(lse, dlse, (size_t)S * Hq * NQ * 4);

    float *got = malloc(sizeof(float) * (size_t)NQ * D + 4), *ref = malloc(sizeof(float) * (size_t)NQ * D + 4);
    float *ref_lse = malloc(sizeof(float) * (size_t)NQ + 4), *qs = malloc(sizeof(float) * (size_t)NQ + 4);
    double *refd = malloc(sizeof(double) * (size_t)NQ * D + 8), *exd = malloc(sizeof(double) * (size_t)NQ * D + 8);
    double *exl = malloc(sizeof(double) * (size_t)NQ + 8);
    int8_t *q8 = malloc((size_t)NQ * D + 1);
    double worst_ref = 0, worst_exact = 0, worst_lse = 0;
    int64_t unwritten = 0, bad_empty = 0;
    for (int s = 0; s < S; ++s)
        for (int hq = 0; hq < Hq; ++hq) {
            const float *qrow = qf + ((size_t)s * NQ * Hq + hq) * D;
            intfa_ref_quantize_rows(qrow, NQ, (int64_t)Hq * D, D, q8, qs);
            intfa_ref_attention_paged(q8, qs, &rc[s * Hk + hq / group], NQ, 0.0f, c->causal, 64, ref, ref_lse);
            intfa_ref_attention_exact_head(qrow, (int64_t)Hq * D, kf[s] + (hq / group) * D, row,
                                           vf[s] + (hq / group) * D, row, NQ, c->lens[s], D,
                                           1.0 / sqrt((double)D), c->causal, exd, exl);
            int rows_with_keys = 0;
            for (int i = 0; i < NQ; ++i) {
                const float l = lse[((size_t)s * Hq + hq) * NQ + i];
                const int64_t nk = c->lens[s], lim = i + nk - NQ;
                const int64_t last = c->causal && lim < nk - 1 ? lim : nk - 1;
                for (int e = 0; e < D; ++e) {
                    got[i * D + e] = from_half(c->dtype, oh[(((size_t)s * NQ + i) * Hq + hq) * D + e]);
                    refd[i * D + e] = ref[i * D + e];
                    unwritten += isnan(got[i * D + e]);
                }
                if (last < 0) {
                    for (int e = 0; e < D; ++e) bad_empty += got[i * D + e] != 0.0f;
                    bad_empty += !(isinf(l) && l < 0);
                    continue;
                }
                ++rows_with_keys;
                const double dl = fabs((double)l - ref_lse[i]);
                worst_lse = dl > worst_lse || isnan(dl) ? dl : worst_lse;
            }
            if (!rows_with_keys) continue;
            intfa_ref_metrics m, mx;
            intfa_ref_compare(got, refd, (int64_t)NQ * D, &m);
            intfa_ref_compare(got, exd, (int64_t)NQ * D, &mx);
            if (m.rel_l2 > worst_ref || isnan(m.rel_l2)) worst_ref = m.rel_l2;
            if (mx.rel_l2 > worst_exact || isnan(mx.rel_l2)) worst_exact = mx.rel_l2;
        }
    print_message("    vs reference %.3g, vs exact %.3g, lse %.3g\n", worst_ref, worst_exact, worst_lse);
    if (unwritten) fail_msg("%lld outputs still hold the poison", (long long)unwritten);
    if (bad_empty) fail_msg("%lld values of rows without keys are not 0 / -inf", (long long)bad_empty);
    if (!(worst_ref <= BOUND_VS_REF)) fail_msg("relative L2 vs the reference %g > %g", worst_ref, BOUND_VS_REF);
    if (!(worst_exact <= BOUND_VS_EXACT)) fail_msg("relative L2 vs exact %g > %g", worst_exact, BOUND_VS_EXACT);
    if (!(worst_lse <= LSE_BOUND)) fail_msg("LSE differs from the reference by %g > %g", worst_lse, LSE_BOUND);

    for (int i = 0; i < S * Hk; ++i) intfa_ref_kv_cache_free(&rc[i]);
    for (int s = 0; s < S; ++s) {
        free(kh[s]);
        free(vh[s]);
        free(kf[s]);
        free(vf[s]);
    }
    free(rc); free(pool); free(ids); free(table); free(qh); free(oh); free(qf); free(lse);
    free(got); free(ref); free(ref_lse); free(qs); free(refd); free(exd); free(exl); free(q8);
    gpu_free(dq);
    gpu_free(dout);
    gpu_free(dlse);
    gpu_free(cache.pool);
}

static const kv_case cases[] = {
    /* d  ps  hkv hq nq causal seqs dtype lens */
    {128, 128, 8, 32, 1, 0, 3, INTFA_DTYPE_FP16, {1, 300, 1000}},
    {128, 128, 8, 32, 1, 1, 2, INTFA_DTYPE_FP16, {0, 777}},
    {64, 16, 2, 2, 4, 1, 3, INTFA_DTYPE_BF16, {5, 77, 200}},
    {128, 256, 4, 16, 3, 1, 3, INTFA_DTYPE_BF16, {600, 2, 33}},
    {64, 64, 1, 8, 2, 0, 1, INTFA_DTYPE_FP16, {2500}},
    {128, 32, 2, 8, 16, 1, 2, INTFA_DTYPE_FP16, {40, 129}},
    {128, 128, 2, 8, 1, 0, 2, INTFA_DTYPE_BF16, {5000, 3000}},
    {64, 256, 4, 4, 5, 1, 4, INTFA_DTYPE_FP16, {3, 513, 256, 1100}},
    /* 4 x 569 table entries: more than the parameters carry (INTFA_KV_INLINE), so the arrays
     * are copied to the device */
    {64, 16, 1, 4, 1, 0, 4, INTFA_DTYPE_FP16, {9000, 8000, 100, 9100}},
};

static void test_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) run_case(&cases[i], 1000 + i);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_cases)};
    gpu_open_or_skip("test_gpu_kvcache");
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    gpu_close();
    return rc;
}
