/* bench_speed.c - the timing sweep (bench_speed.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "baseline.h"
#include "bench_inputs.h"
#include "bench_speed.h"

#define POOL_VALUES (1u << 22) /* random fp16 values the device inputs are copied from */
#define CHECK_STRIDE 61        /* every 61st output element is compared with the fp16 kernel's */
#define CHECK_MAX 0.1          /* an int8 output further from the fp16 one counts as a failure */
#define CHECK_MAX_INT4 0.4     /* the same for INT4 Q/K (~0.15 .. 0.2 against exact on N(0,1)) */

/* One input set: fp16 Q, K, V [B, N, H, D] and their quantized forms (Q and K also as INT4). */
typedef struct speed_set {
    CUdeviceptr x[3];
    CUdeviceptr q8, k8, v8, qs, ks, vs;
    CUdeviceptr q4, k4, q4s, k4s;
} speed_set;

typedef struct speed_state {
    intfa_context *ctx;
    const intfa_cu *cu;
    speed_set *sets;
    int nsets;
    CUdeviceptr out;
    intfa_attn_problem pr;
    uint16_t *host;   /* the output, downloaded for the check */
    float *reference; /* every CHECK_STRIDE-th output of the fp16 kernel on set 0 */
} speed_state;

typedef intfa_status (*launch_fn)(speed_state *s, int set);

int bench_input_sets(long long l2_bytes, long long set_bytes)
{
    long long n = set_bytes > 0 ? (2 * l2_bytes + set_bytes - 1) / set_bytes + 1 : BENCH_MAX_SETS;
    if (n < 2) n = 2;
    return n > BENCH_MAX_SETS ? BENCH_MAX_SETS : (int)n;
}

static void *ptr(CUdeviceptr p) { return (void *)(uintptr_t)p; }

static intfa_tensor fp16_view(const speed_state *s, CUdeviceptr p)
{
    return intfa_tensor_bnhd(ptr(p), s->pr.seq_q, s->pr.heads_q, s->pr.head_dim);
}

static intfa_status launch_fp16(speed_state *s, int set)
{
    const speed_set *x = &s->sets[set];
    const intfa_tensor q = fp16_view(s, x->x[0]), k = fp16_view(s, x->x[1]), v = fp16_view(s, x->x[2]);
    const intfa_tensor o = fp16_view(s, s->out);
    return intfa_baseline_fp16_attention(s->ctx, &s->pr, &q, &k, &v, &o, NULL, NULL);
}

static intfa_status launch_int8(speed_state *s, int set)
{
    const speed_set *x = &s->sets[set];
    const int64_t N = s->pr.seq_q, H = s->pr.heads_q, D = s->pr.head_dim;
    const intfa_qk_int8 q = {intfa_tensor_bhnd(ptr(x->q8), N, H, D), ptr(x->qs)};
    const intfa_qk_int8 k = {intfa_tensor_bhnd(ptr(x->k8), N, H, D), ptr(x->ks)};
    const intfa_v_int8 v = {ptr(x->v8), ptr(x->vs)};
    const intfa_tensor o = fp16_view(s, s->out);
    return intfa_attention_int8(s->ctx, &s->pr, &q, &k, &v, &o, NULL, NULL);
}

/* s->pr with INT4 Q/K, K smoothed or not. */
static intfa_attn_problem int4_problem(const speed_state *s, int smooth)
{
    intfa_attn_problem p = s->pr;
    p.qk_format = INTFA_FMT_INT4;
    p.smooth_k = smooth;
    return p;
}

static intfa_status launch_int4(speed_state *s, int set)
{
    const speed_set *x = &s->sets[set];
    const int64_t N = s->pr.seq_q, H = s->pr.heads_q, D = s->pr.head_dim;
    const intfa_attn_problem p = int4_problem(s, 0);
    const intfa_qk_int8 q = {intfa_tensor_bhnd(ptr(x->q4), N, H, D / 2), ptr(x->q4s), NULL};
    const intfa_qk_int8 k = {intfa_tensor_bhnd(ptr(x->k4), N, H, D / 2), ptr(x->k4s), NULL};
    const intfa_v_int8 v = {ptr(x->v8), ptr(x->vs)};
    const intfa_tensor o = fp16_view(s, s->out);
    return intfa_attention_int8(s->ctx, &p, &q, &k, &v, &o, NULL, NULL);
}

/* The drop-in with INT4 Q/K, K smoothed or not. */
static intfa_status dropin_int4(speed_state *s, int set, int smooth)
{
    const speed_set *x = &s->sets[set];
    const intfa_attn_problem p = int4_problem(s, smooth);
    const intfa_tensor q = fp16_view(s, x->x[0]), k = fp16_view(s, x->x[1]), v = fp16_view(s, x->x[2]);
    const intfa_tensor o = fp16_view(s, s->out);
    return intfa_attention(s->ctx, &p, &q, &k, &v, &o, NULL, NULL, 0, NULL);
}
static intfa_status launch_dropin_int4(speed_state *s, int set) { return dropin_int4(s, set, 0); }
static intfa_status launch_dropin_smooth(speed_state *s, int set) { return dropin_int4(s, set, 1); }

/* Q and K of a set as INT4 (for launch_int4; V is the INT8 one). Not timed. */
static intfa_status quantize_int4(speed_state *s, int set)
{
    const speed_set *x = &s->sets[set];
    const intfa_attn_problem *p = &s->pr;
    const intfa_qk_quant_options o = {INTFA_FMT_INT4, NULL, NULL, 0, 0.0f, NULL};
    const intfa_tensor q = fp16_view(s, x->x[0]), k = fp16_view(s, x->x[1]);
    intfa_status st = intfa_quantize_qk_ex(s->ctx, &q, p->dtype, p->batch, p->heads_q, p->seq_q,
                                           p->head_dim, &o, ptr(x->q4), ptr(x->q4s), NULL);
    if (st == INTFA_OK)
        st = intfa_quantize_qk_ex(s->ctx, &k, p->dtype, p->batch, p->heads_kv, p->seq_kv,
                                  p->head_dim, &o, ptr(x->k4), ptr(x->k4s), NULL);
    return st;
}

static intfa_status launch_quant(speed_state *s, int set)
{
    const speed_set *x = &s->sets[set];
    const intfa_attn_problem *p = &s->pr;
    const intfa_tensor q = fp16_view(s, x->x[0]), k = fp16_view(s, x->x[1]), v = fp16_view(s, x->x[2]);
    intfa_status st = intfa_quantize_qk(s->ctx, &q, p->dtype, p->batch, p->heads_q, p->seq_q,
                                        p->head_dim, ptr(x->q8), ptr(x->qs), NULL);
    if (st == INTFA_OK)
        st = intfa_quantize_qk(s->ctx, &k, p->dtype, p->batch, p->heads_kv, p->seq_kv,
                               p->head_dim, ptr(x->k8), ptr(x->ks), NULL);
    if (st == INTFA_OK)
        st = intfa_quantize_v(s->ctx, &v, p->dtype, p->batch, p->heads_kv, p->seq_kv, p->head_dim,
                              p->v_scale, ptr(x->v8), ptr(x->vs), NULL);
    return st;
}

static intfa_status launch_dropin(speed_state *s, int set)
{
    const speed_set *x = &s->sets[set];
    const intfa_tensor q = fp16_view(s, x->x[0]), k = fp16_view(s, x->x[1]), v = fp16_view(s, x->x[2]);
    const intfa_tensor o = fp16_view(s, s->out);
    return intfa_attention(s->ctx, &s->pr, &q, &k, &v, &o, NULL, NULL, 0, NULL);
}

static int cmp_float(const void *a, const void *b)
{
    const float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* warmup untimed launches, then reps launches each between two events, every launch on the
 * next input set; *ms = the median. */
static intfa_status time_kernel(speed_state *s, launch_fn fn, int reps, int warmup, double *ms)
{
    const intfa_cu *cu = s->cu;
    CUevent *ev = calloc((size_t)reps * 2, sizeof *ev);
    float *t = calloc((size_t)reps, sizeof *t);
    intfa_status st = ev && t ? INTFA_OK : INTFA_ERR_OUT_OF_MEMORY;
    int made = 0;
    for (; st == INTFA_OK && made < 2 * reps; ++made)
        if (cu->EventCreate(&ev[made], 0) != CUDA_SUCCESS) st = INTFA_ERR_CUDA;
    for (int i = 0; st == INTFA_OK && i < warmup; ++i) st = fn(s, i % s->nsets);
    for (int r = 0; st == INTFA_OK && r < reps; ++r) {
        if (cu->EventRecord(ev[2 * r], NULL) != CUDA_SUCCESS) st = INTFA_ERR_CUDA;
        if (st == INTFA_OK) st = fn(s, (warmup + r) % s->nsets);
        if (st == INTFA_OK && cu->EventRecord(ev[2 * r + 1], NULL) != CUDA_SUCCESS) st = INTFA_ERR_CUDA;
    }
    if (st == INTFA_OK && cu->EventSynchronize(ev[2 * reps - 1]) != CUDA_SUCCESS) st = INTFA_ERR_CUDA;
    for (int r = 0; st == INTFA_OK && r < reps; ++r)
        if (cu->EventElapsedTime(&t[r], ev[2 * r], ev[2 * r + 1]) != CUDA_SUCCESS) st = INTFA_ERR_CUDA;
    if (st == INTFA_OK) {
        qsort(t, (size_t)reps, sizeof *t, cmp_float);
        *ms = reps % 2 ? t[reps / 2] : 0.5 * ((double)t[reps / 2 - 1] + t[reps / 2]);
    }
    for (int i = 0; i < made; ++i) cu->EventDestroy(ev[i]);
    free(ev);
    free(t);
    return st;
}

/* Runs fn once on set 0 and returns the rel L2 of the sampled output against s->reference
 * (which it fills instead when fill_reference, returning 0). NaN on failure or when the
 * sampled output holds a NaN (the output is poisoned with NaN first). */
static double check_output(speed_state *s, launch_fn fn, int fill_reference)
{
    const int64_t n = s->pr.batch * s->pr.seq_q * s->pr.heads_q * s->pr.head_dim;
    if (s->cu->MemsetD8(s->out, 0xff, (size_t)n * 2) != CUDA_SUCCESS || fn(s, 0) != INTFA_OK ||
        s->cu->CtxSynchronize() != CUDA_SUCCESS ||
        s->cu->MemcpyDtoH(s->host, s->out, (size_t)n * 2) != CUDA_SUCCESS)
        return NAN;
    double se = 0, sr = 0;
    for (int64_t i = 0, j = 0; i < n; i += CHECK_STRIDE, ++j) {
        const float x = intfa_ref_f16_to_f32(s->host[i]);
        if (isnan(x)) return NAN;
        if (fill_reference) {
            s->reference[j] = x;
            continue;
        }
        se += (double)(x - s->reference[j]) * (x - s->reference[j]);
        sr += (double)s->reference[j] * s->reference[j];
    }
    return fill_reference ? 0.0 : sr > 0 ? sqrt(se / sr) : NAN;
}

/* Largest sizes over the configurations, in elements. */
typedef struct speed_sizes {
    int64_t x, v8, scales, v_scales, smallest_x;
} speed_sizes;

static speed_sizes sizes_of(const bench_config *cfgs, int ncfg)
{
    speed_sizes z = {0, 0, 0, 0, INT64_MAX};
    for (int i = 0; i < ncfg; ++i) {
        const bench_config *c = &cfgs[i];
        const int64_t x = c->batch * c->seq * c->heads * c->head_dim;
        const int64_t v8 = c->batch * c->heads * c->head_dim * intfa_v_padded_len(c->seq);
        z.x = x > z.x ? x : z.x;
        z.smallest_x = x < z.smallest_x ? x : z.smallest_x;
        z.v8 = v8 > z.v8 ? v8 : z.v8;
        z.scales = c->batch * c->heads * c->seq > z.scales ? c->batch * c->heads * c->seq : z.scales;
        z.v_scales = c->batch * c->heads * c->head_dim > z.v_scales ? c->batch * c->heads * c->head_dim
                                                                   : z.v_scales;
    }
    return z;
}

/* Allocates the sets and fills their fp16 tensors from a random pool. 0, or -1. */
static int alloc_sets(speed_state *s, const speed_sizes *z)
{
    const intfa_cu *cu = s->cu;
    uint16_t *pool = malloc((size_t)POOL_VALUES * 2);
    if (!pool) return -1;
    bench_fp16_pool(2024, pool, POOL_VALUES);
    const size_t chunk = POOL_VALUES / 2 * 2; /* bytes per upload: half the pool */
    int ok = 1;
    for (int i = 0; i < s->nsets && ok; ++i) {
        speed_set *x = &s->sets[i];
        for (int t = 0; t < 3 && ok; ++t) {
            ok = cu->MemAlloc(&x->x[t], (size_t)z->x * 2) == CUDA_SUCCESS;
            for (size_t off = 0, k = 0; ok && off < (size_t)z->x * 2; off += chunk, ++k) {
                const size_t start = ((size_t)(i * 3 + t) * 7919 + k * 104729) % (POOL_VALUES / 2);
                const size_t bytes = (size_t)z->x * 2 - off < chunk ? (size_t)z->x * 2 - off : chunk;
                ok = cu->MemcpyHtoD(x->x[t] + off, pool + start, bytes) == CUDA_SUCCESS;
            }
        }
        ok = ok && cu->MemAlloc(&x->q8, (size_t)z->x) == CUDA_SUCCESS &&
             cu->MemAlloc(&x->k8, (size_t)z->x) == CUDA_SUCCESS &&
             cu->MemAlloc(&x->v8, (size_t)z->v8) == CUDA_SUCCESS &&
             cu->MemAlloc(&x->qs, (size_t)z->scales * 4) == CUDA_SUCCESS &&
             cu->MemAlloc(&x->ks, (size_t)z->scales * 4) == CUDA_SUCCESS &&
             cu->MemAlloc(&x->vs, (size_t)z->v_scales * 4) == CUDA_SUCCESS &&
             cu->MemAlloc(&x->q4, (size_t)z->x / 2) == CUDA_SUCCESS &&
             cu->MemAlloc(&x->k4, (size_t)z->x / 2) == CUDA_SUCCESS &&
             cu->MemAlloc(&x->q4s, (size_t)z->scales * 4) == CUDA_SUCCESS &&
             cu->MemAlloc(&x->k4s, (size_t)z->scales * 4) == CUDA_SUCCESS;
    }
    free(pool);
    return ok ? 0 : -1;
}

static void free_state(speed_state *s)
{
    const intfa_cu *cu = s->cu;
    for (int i = 0; s->sets && i < s->nsets; ++i) {
        const speed_set *x = &s->sets[i];
        const CUdeviceptr all[13] = {x->x[0], x->x[1], x->x[2], x->q8, x->k8, x->v8, x->qs,
                                     x->ks, x->vs, x->q4, x->k4, x->q4s, x->k4s};
        for (int k = 0; k < 13; ++k)
            if (all[k]) cu->MemFree(all[k]);
    }
    if (s->out) cu->MemFree(s->out);
    free(s->sets);
    free(s->host);
    free(s->reference);
}

int bench_speed_run(intfa_context *ctx, const bench_config *cfgs, int ncfg, int reps, int warmup,
                    bench_row *rows, int cap, int *sets, int *failures, FILE *log)
{
    static const char *const names[BENCH_KERNELS] = {BENCH_K_FP16, BENCH_K_INT8, BENCH_K_DROPIN,
                                                     BENCH_K_QUANT, BENCH_K_INT4, BENCH_K_DROPIN_INT4,
                                                     BENCH_K_DROPIN_SMOOTH};
    static const launch_fn fns[BENCH_KERNELS] = {launch_fp16, launch_int8, launch_dropin, launch_quant,
                                                 launch_int4, launch_dropin_int4, launch_dropin_smooth};
    enum { QUANT = 3, INT4_FIRST = 4 }; /* the row that is no attention; the first INT4 one */
    speed_state s;
    memset(&s, 0, sizeof s);
    s.ctx = ctx;
    s.cu = ctx->cu;
    const speed_sizes z = sizes_of(cfgs, ncfg);
    int l2 = 0;
    if (s.cu->DeviceGetAttribute(&l2, CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE, ctx->device) != CUDA_SUCCESS)
        l2 = 64 << 20;
    /* the least a launch reads: the int8 Q, K and V of the smallest configuration */
    s.nsets = bench_input_sets(l2, 3 * z.smallest_x);
    *sets = s.nsets;
    s.sets = calloc((size_t)s.nsets, sizeof *s.sets);
    s.host = malloc((size_t)z.x * 2);
    s.reference = malloc(((size_t)z.x / CHECK_STRIDE + 1) * sizeof *s.reference);
    fprintf(log, "speed: %d input sets of %.1f MB fp16 each (L2 %.1f MB), %d warm-up + %d timed runs per kernel\n",
            s.nsets, 3.0 * (double)z.x * 2 / 1e6, l2 / 1e6, warmup, reps);
    if (!s.sets || !s.host || !s.reference || alloc_sets(&s, &z) ||
        s.cu->MemAlloc(&s.out, (size_t)z.x * 2) != CUDA_SUCCESS) {
        fprintf(stderr, "intfa-bench: out of memory for %d input sets of %lld elements\n", s.nsets,
                (long long)z.x);
        free_state(&s);
        return -1;
    }
    int n = 0;
    for (int i = 0; i < ncfg && n + BENCH_KERNELS <= cap; ++i) {
        const bench_config *c = &cfgs[i];
        s.pr = (intfa_attn_problem){c->batch, c->heads, c->heads, c->seq, c->seq, c->head_dim, 0.0f,
                                    c->causal, INTFA_DTYPE_FP16, INTFA_PQ_U8_ROW, INTFA_VS_CHANNEL};
        intfa_status st8 = INTFA_OK, st4; /* preparing the INT8 inputs, and the INT4 ones */
        for (int k = 0; k < s.nsets && st8 == INTFA_OK; ++k) st8 = launch_quant(&s, k);
        st4 = st8;
        for (int k = 0; k < s.nsets && st4 == INTFA_OK; ++k) st4 = quantize_int4(&s, k);
        int have_reference = 0;
        for (int k = 0; k < BENCH_KERNELS; ++k) {
            const intfa_status st = k >= INT4_FIRST ? st4 : st8;
            bench_row *r = &rows[n++];
            memset(r, 0, sizeof *r);
            snprintf(r->kernel, sizeof r->kernel, "%s", names[k]);
            r->cfg = *c;
            r->ms = r->check = NAN;
            /* the attention kernels' outputs on set 0, against the fp16 kernel's (k == 0) */
            const int attention = k != QUANT;
            const double err = st == INTFA_OK && attention ? check_output(&s, fns[k], k == 0) : NAN;
            if (k == 0)
                have_reference = !isnan(err);
            else if (have_reference)
                r->check = err;
            const double limit = k >= INT4_FIRST ? CHECK_MAX_INT4 : CHECK_MAX;
            if (st == INTFA_OK && attention && !(err < limit) && (k == 0 || have_reference)) {
                ++*failures;
                fprintf(stderr, "intfa-bench: %s, N=%lld hd=%lld %s: output %s\n", names[k],
                        (long long)c->seq, (long long)c->head_dim, c->causal ? "causal" : "full",
                        isnan(err) ? "not written or not finite" : "far from the fp16 kernel's");
            }
            intfa_status kst = st == INTFA_OK ? time_kernel(&s, fns[k], reps, warmup, &r->ms) : st;
            if (kst != INTFA_OK) {
                r->ms = NAN;
                ++*failures;
                fprintf(stderr, "intfa-bench: %s, N=%lld hd=%lld %s: %s: %s\n", names[k],
                        (long long)c->seq, (long long)c->head_dim, c->causal ? "causal" : "full",
                        intfa_status_string(kst), intfa_last_error());
            }
        }
        bench_derive(rows + n - BENCH_KERNELS, BENCH_KERNELS);
        const bench_row *r = rows + n - BENCH_KERNELS;
        fprintf(log, "  N=%-6lld B=%-3lld hd=%-3lld %-6s fp16 %8.3f ms  int8 %8.3f ms (%.2fx)  drop-in %8.3f ms  quant %7.3f ms"
                "  int4 %8.3f ms (%.2fx)  int4 drop-in %8.3f ms  +smooth %8.3f ms\n",
                (long long)c->seq, (long long)c->batch, (long long)c->head_dim,
                c->causal ? "causal" : "full", r[0].ms, r[1].ms, r[1].speedup, r[2].ms, r[3].ms,
                r[4].ms, r[4].speedup, r[5].ms, r[6].ms);
        fflush(log);
    }
    bench_derive(rows, n);
    free_state(&s);
    return n;
}
