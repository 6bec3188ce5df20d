/* fuzz_api_args.c - libFuzzer harness: the argument checks of the public entry points
 * (intfa_attention, intfa_attention_int8, intfa_attention_varlen, intfa_quantize_qk,
 * intfa_quantize_qk_ex, intfa_quantize_v, intfa_mean_over_tokens, intfa_attention_workspace_size
 * and its varlen form, the paged KV cache's size queries, append and attention) on arbitrary
 * problems, tensors, strides, pointers and options, without a GPU.
 *
 * The context is made here: its driver table's cuCtxGetCurrent (the first driver call of every
 * entry point, made once the arguments are checked) answers "no context", then
 * cuCtxPushCurrent records that it was reached and fails, and every other entry aborts: no
 * call may get past it. Device pointers are made-up
 * addresses, never dereferenced.
 * Oracle: a failure has a message; the workspace size output is untouched on failure; a call
 * that reaches the driver has arguments every one of its launches can take (sizes, enums,
 * pointers non-NULL and aligned, grids and 32-bit kernel parameters in range), so nothing
 * fails after the first launch. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "context.h"
#include "fuzz_check.h"

/* ------------------------------------------------------------------ input */

typedef struct input {
    const uint8_t *p;
    size_t n;
} input;

static uint64_t take(input *in, int bytes)
{
    uint64_t x = 0;
    for (int i = 0; i < bytes; i++) {
        x = x << 8 | (in->n ? *in->p : 0);
        if (in->n) in->p++, in->n--;
    }
    return x;
}

/* A size: mostly small or a boundary of the checks, sometimes any 64-bit value. */
static int64_t take_size(input *in)
{
    static const int64_t edges[] = {0, 1, 2, 7, 16, 64, 128, 65535, 65536, 1LL << 30,
                                    (1LL << 30) + 1, INT32_MAX, (int64_t)INT32_MAX + 1,
                                    INT64_MAX, -1, INT64_MIN, 1LL << 33, 1LL << 40};
    const unsigned sel = (unsigned)take(in, 1);
    if (sel < 128) return sel % 40;
    if (sel < 240) return edges[sel % (sizeof edges / sizeof edges[0])];
    return (int64_t)take(in, 8);
}

/* A head dim: mostly one the kernels take (64, 128, 96, 256), sometimes any size. */
static int64_t take_head_dim(input *in)
{
    static const int64_t dims[4] = {64, 128, 96, 256};
    return take(in, 1) < 200 ? dims[take(in, 1) & 3] : take_size(in);
}

/* A device address: NULL, aligned to 256 bytes, or off by a few bytes, or any value. */
static void *take_ptr(input *in)
{
    static const uintptr_t offsets[] = {0, 4, 8, 2, 1, 16, 32, 64};
    const unsigned sel = (unsigned)take(in, 1);
    if (sel < 16) return NULL;
    if (sel < 248) return (void *)(uintptr_t)(0x10000000u + 0x100000u * (sel % 8) + offsets[sel / 8 % 8]);
    return (void *)(uintptr_t)take(in, 8);
}

/* A tensor: dense [B, N, H, D] or [B, H, N, D] strides, or arbitrary ones. */
static intfa_tensor take_tensor(input *in, int64_t n, int64_t h, int64_t d)
{
    void *data = take_ptr(in);
    const unsigned sel = (unsigned)take(in, 1);
    if (sel < 100) return intfa_tensor_bnhd(data, n, h, d);
    if (sel < 160) return intfa_tensor_bhnd(data, n, h, d);
    intfa_tensor t = {data, take_size(in), take_size(in), take_size(in)};
    return t;
}

static int take_enum(input *in) { return (int)(take(in, 1) % 5) - 1; } /* -1 .. 3 */

static intfa_attn_problem take_problem(input *in)
{
    intfa_attn_problem p;
    memset(&p, 0, sizeof p);
    p.batch = take_size(in);
    p.heads_q = take_size(in);
    p.heads_kv = take(in, 1) < 128 ? p.heads_q : take_size(in);
    p.seq_q = take_size(in);
    p.seq_kv = take(in, 1) < 128 ? p.seq_q : take_size(in);
    p.head_dim = take_head_dim(in);
    const unsigned s = (unsigned)take(in, 1);
    const uint32_t bits = (uint32_t)take(in, 4);
    if (s < 128) p.softmax_scale = 0.0f;
    else memcpy(&p.softmax_scale, &bits, sizeof bits);
    p.causal = take_enum(in);
    p.dtype = (intfa_dtype)take_enum(in);
    p.p_quant = (intfa_p_quant)take_enum(in);
    p.v_scale = (intfa_v_scale)take_enum(in);
    p.qk_format = (intfa_format)take_enum(in);
    p.smooth_k = take_enum(in);
    return p;
}

/* ------------------------------------------------------------------ the made-up context */

static _Thread_local int driver_reached;

static CUresult push_current(CUcontext c)
{
    (void)c;
    driver_reached = 1;
    return CUDA_ERROR_INVALID_CONTEXT;
}

static CUresult get_current(CUcontext *c)
{
    *c = NULL; /* not the context's own: intfa_ctx_enter pushes it */
    return CUDA_SUCCESS;
}

static CUresult pop_current(CUcontext *c)
{
    (void)c;
    FUZZ_CHECK(0, "cuCtxPopCurrent after a failed cuCtxPushCurrent");
    return CUDA_ERROR_INVALID_CONTEXT;
}

static intfa_cu fake_cu;
static intfa_context fake_ctx;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    setenv("INTFA_LIBCUDA", "/nonexistent/libcuda.so.1", 1); /* error names: none */
    fake_cu.CtxGetCurrent = get_current;
    fake_cu.CtxPushCurrent = push_current;
    fake_cu.CtxPopCurrent = pop_current;
    fake_ctx.cu = &fake_cu;
    fake_ctx.arch = INTFA_ARCH_SM80;
    return 0;
}

/* ------------------------------------------------------------------ what a launch can take */

#define GRID_X_MAX 2147483647LL
#define GRID_YZ_MAX 65535LL
#define QUANT_WARPS 4 /* rows per block of the quantization kernels (intfa_variant_default) */

static int aligned(const void *p, uintptr_t a) { return p && (uintptr_t)p % a == 0; }
static int dims_ok(int64_t b, int64_t h, int64_t n, int64_t d)
{
    return b >= 0 && h >= 0 && n >= 0 && n <= (1LL << 30) && d >= 32 && d <= 256 && d % 16 == 0;
}
static int fits(int64_t a, int64_t b, int64_t c, int64_t max)
{
    int64_t r;
    return !__builtin_mul_overflow(a, b, &r) && !__builtin_mul_overflow(r, c, &r) && r <= max;
}
/* The quantization of [b, n, h, d] rows: one row per warp, blocks in grid x. */
static int qk_launchable(int64_t b, int64_t h, int64_t n)
{
    return h <= INT32_MAX && fits(b, h, n, GRID_X_MAX * QUANT_WARPS);
}
/* quantize_v and the mean: one block per (batch, head) in grid x, 32-bit counts. */
static int bh_launchable(int64_t b, int64_t h) { return h <= INT32_MAX && fits(b, h, 1, INT32_MAX); }

static int problem_ok(const intfa_attn_problem *p)
{
    return dims_ok(p->batch, p->heads_q, p->seq_q, p->head_dim) && p->seq_kv >= 0 &&
           p->seq_kv <= (1LL << 30) && p->batch <= GRID_YZ_MAX && p->heads_q <= GRID_YZ_MAX &&
           p->heads_kv >= 0 && p->heads_kv <= GRID_YZ_MAX &&
           (p->heads_kv > 0 ? p->heads_q % p->heads_kv == 0 : p->heads_q == 0) &&
           (p->causal == 0 || p->causal == 1) && (unsigned)p->dtype <= 1 &&
           (unsigned)p->p_quant <= 2 && (unsigned)p->v_scale <= 1 &&
           (p->p_quant != INTFA_PQ_F16 || p->qk_format == INTFA_FMT_INT8) && (unsigned)p->qk_format <= 1 &&
           ((p->p_quant != INTFA_PQ_F16 && p->qk_format == INTFA_FMT_INT8) || p->head_dim == 64 ||
            p->head_dim == 128) &&
           (p->smooth_k == 0 || p->smooth_k == 1) &&
           (p->softmax_scale == 0.0f || (isfinite(p->softmax_scale) && p->softmax_scale > 0.0f));
}

/* ------------------------------------------------------------------ the calls */

static void check_failed(intfa_status st)
{
    if (st != INTFA_OK) FUZZ_CHECK(intfa_last_error()[0] != '\0', "status %d without a message", (int)st);
}

static void call_attention(input *in)
{
    const intfa_attn_problem p = take_problem(in);
    const int64_t d = p.head_dim;
    const intfa_tensor q = take_tensor(in, p.seq_q, p.heads_q, d), k = take_tensor(in, p.seq_kv, p.heads_kv, d);
    const intfa_tensor v = take_tensor(in, p.seq_kv, p.heads_kv, d), o = take_tensor(in, p.seq_q, p.heads_q, d);
    float *lse = take(in, 1) < 128 ? NULL : take_ptr(in);
    void *ws = take(in, 1) < 128 ? NULL : take_ptr(in);
    const size_t ws_bytes = (size_t)take_size(in);
    intfa_status st = intfa_attention(&fake_ctx, &p, &q, &k, &v, &o, lse, ws, ws_bytes, NULL);
    check_failed(st);
    if (!driver_reached) return;
    FUZZ_CHECK(problem_ok(&p) && p.batch > 0 && p.heads_q > 0 && p.seq_q > 0,
               "intfa_attention reached the driver with a problem it cannot run");
    FUZZ_CHECK(aligned(q.data, 16) && aligned(o.data, 16) &&
                   (p.seq_kv == 0 || (aligned(k.data, 16) && aligned(v.data, 16))) &&
                   (!lse || aligned(lse, 4)) && (!ws || aligned(ws, 256)),
               "intfa_attention reached the driver with a NULL or misaligned pointer");
    FUZZ_CHECK(qk_launchable(p.batch, p.heads_q, p.seq_q) && qk_launchable(p.batch, p.heads_kv, p.seq_kv) &&
                   bh_launchable(p.batch, p.heads_kv),
               "intfa_attention reached the driver with sizes one of its launches cannot take "
               "(batch %lld, heads_q %lld, heads_kv %lld, seq_q %lld, seq_kv %lld)",
               (long long)p.batch, (long long)p.heads_q, (long long)p.heads_kv, (long long)p.seq_q,
               (long long)p.seq_kv);
}

static void call_attention_int8(input *in)
{
    const intfa_attn_problem p = take_problem(in);
    const int64_t row = p.qk_format == INTFA_FMT_INT4 ? p.head_dim / 2 : p.head_dim;
    const intfa_qk_int8 q = {take_tensor(in, p.seq_q, p.heads_q, row), take_ptr(in),
                             take(in, 1) < 200 ? NULL : take_ptr(in)};
    const intfa_qk_int8 k = {take_tensor(in, p.seq_kv, p.heads_kv, row), take_ptr(in),
                             take(in, 1) < 240 ? NULL : take_ptr(in)};
    const intfa_v_int8 v = {take_ptr(in), take_ptr(in)};
    const intfa_tensor o = take_tensor(in, p.seq_q, p.heads_q, p.head_dim);
    float *lse = take(in, 1) < 128 ? NULL : take_ptr(in);
    if (p.p_quant == INTFA_PQ_F16) { /* V unquantized: intfa_attention_int8_qk (both are tried) */
        const intfa_tensor v16 = take_tensor(in, p.seq_kv, p.heads_kv, p.head_dim);
        intfa_status st16 = intfa_attention_int8_qk(&fake_ctx, &p, &q, &k, &v16, &o, lse, NULL);
        check_failed(st16);
        if (driver_reached)
            FUZZ_CHECK(problem_ok(&p) && p.qk_format == INTFA_FMT_INT8 && p.batch > 0 && p.heads_q > 0 &&
                           p.seq_q > 0 && aligned(q.values.data, 16) && aligned(o.data, 16) &&
                           (p.seq_kv == 0 || aligned(v16.data, 16)),
                       "intfa_attention_int8_qk reached the driver with arguments it cannot run");
        driver_reached = 0;
    }
    intfa_status st = intfa_attention_int8(&fake_ctx, &p, &q, &k, &v, &o, lse, NULL);
    check_failed(st);
    if (!driver_reached) return;
    FUZZ_CHECK(problem_ok(&p) && p.p_quant != INTFA_PQ_F16 && p.batch > 0 && p.heads_q > 0 && p.seq_q > 0,
               "intfa_attention_int8 reached the driver with a problem it cannot run");
    FUZZ_CHECK(aligned(q.values.data, 16) && aligned(q.scale, 4) && aligned(o.data, 16) &&
                   aligned(v.scale, 8) && !k.lse_bias && (!q.lse_bias || aligned(q.lse_bias, 4)) &&
                   (p.seq_kv == 0 || (aligned(k.values.data, 16) && aligned(k.scale, 4) &&
                                      aligned(v.values, 16))) &&
                   (!lse || aligned(lse, 4)),
               "intfa_attention_int8 reached the driver with a NULL or misaligned pointer");
}

/* The shared arguments of the quantization entry points. */
typedef struct quant_args {
    intfa_dtype dtype;
    int64_t b, h, n, d;
    intfa_tensor x;
    void *values;
    float *scale;
} quant_args;

static quant_args take_quant(input *in)
{
    quant_args a;
    a.dtype = (intfa_dtype)take_enum(in);
    a.b = take_size(in);
    a.h = take_size(in);
    a.n = take_size(in);
    a.d = take_head_dim(in);
    a.x = take_tensor(in, a.n, a.h, a.d);
    a.values = take_ptr(in);
    a.scale = take_ptr(in);
    return a;
}

static void check_quant_reached(const char *fn, const quant_args *a, int bh_only)
{
    FUZZ_CHECK(dims_ok(a->b, a->h, a->n, a->d) && (unsigned)a->dtype <= 1 && aligned(a->scale, 4),
               "%s reached the driver with sizes, dtype or scale it cannot take", fn);
    FUZZ_CHECK(bh_only ? bh_launchable(a->b, a->h) : qk_launchable(a->b, a->h, a->n),
               "%s reached the driver with sizes its launch cannot take (batch %lld, heads %lld, "
               "seq %lld)", fn, (long long)a->b, (long long)a->h, (long long)a->n);
}

static void call_quantize_qk(input *in, int ex)
{
    const quant_args a = take_quant(in);
    intfa_qk_quant_options o;
    memset(&o, 0, sizeof o);
    if (ex) {
        o.format = (intfa_format)take_enum(in);
        o.subtract = take(in, 1) < 128 ? NULL : take_ptr(in);
        o.bias_mean = take(in, 1) < 128 ? NULL : take_ptr(in);
        o.heads_per_mean = take_size(in);
        const uint32_t bits = (uint32_t)take(in, 4);
        memcpy(&o.bias_scale, &bits, sizeof bits);
        o.out_bias = take(in, 1) < 64 ? NULL : take_ptr(in);
    }
    intfa_status st = ex ? intfa_quantize_qk_ex(&fake_ctx, &a.x, a.dtype, a.b, a.h, a.n, a.d, &o,
                                                a.values, a.scale, NULL)
                         : intfa_quantize_qk(&fake_ctx, &a.x, a.dtype, a.b, a.h, a.n, a.d,
                                             a.values, a.scale, NULL);
    check_failed(st);
    if (!driver_reached) return;
    check_quant_reached("intfa_quantize_qk", &a, 0);
    FUZZ_CHECK(aligned(a.x.data, 16) && aligned(a.values, 16) && (unsigned)o.format <= 1 &&
                   (!o.subtract || aligned(o.subtract, 16)) &&
                   (!o.bias_mean || (aligned(o.out_bias, 4) && o.heads_per_mean >= 1)) &&
                   (o.bias_mean || !o.out_bias) && (o.format != INTFA_FMT_INT4 || a.d == 64 || a.d == 128),
               "intfa_quantize_qk reached the driver with a pointer, option or INT4 head dim it cannot take");
}

static void call_quantize_v(input *in)
{
    const quant_args a = take_quant(in);
    const intfa_v_scale mode = (intfa_v_scale)take_enum(in);
    intfa_status st = intfa_quantize_v(&fake_ctx, &a.x, a.dtype, a.b, a.h, a.n, a.d, mode,
                                       a.values, a.scale, NULL);
    check_failed(st);
    if (!driver_reached) return;
    check_quant_reached("intfa_quantize_v", &a, 1);
    FUZZ_CHECK((unsigned)mode <= 1 && aligned(a.scale, 8) &&
                   (a.n == 0 || (aligned(a.x.data, 16) && aligned(a.values, 16))),
               "intfa_quantize_v reached the driver with a pointer or mode it cannot take");
}

static void call_mean(input *in)
{
    const quant_args a = take_quant(in);
    intfa_status st = intfa_mean_over_tokens(&fake_ctx, &a.x, a.dtype, a.b, a.h, a.n, a.d,
                                             a.scale, NULL);
    check_failed(st);
    if (!driver_reached) return;
    check_quant_reached("intfa_mean_over_tokens", &a, 1);
    FUZZ_CHECK(a.n == 0 || aligned(a.x.data, 16),
               "intfa_mean_over_tokens reached the driver with a misaligned tensor");
}

/* Cumulative counts for batch sequences (host, batch + 1 entries as the API requires): mostly a
 * random split of total, sometimes arbitrary values. NULL when the batch is beyond what any
 * problem check accepts (the call fails before reading them). */
static int32_t *take_counts(input *in, int64_t batch, int64_t total)
{
    if (batch < 0 || batch > GRID_YZ_MAX) return NULL;
    int32_t *cu = malloc(((size_t)batch + 1) * sizeof *cu);
    const unsigned how = (unsigned)take(in, 1);
    cu[0] = how < 240 ? 0 : (int32_t)take(in, 4);
    for (int64_t b = 1; b <= batch; ++b) {
        if (how < 200 && total >= 0 && total <= INT32_MAX) { /* non-decreasing, ending at total */
            const int64_t left = total - cu[b - 1];
            const int64_t step = b == batch ? left : left > 0 ? (int64_t)(take(in, 2) % (uint64_t)(left + 1)) : 0;
            cu[b] = (int32_t)(cu[b - 1] + step);
        } else {
            cu[b] = (int32_t)take(in, 4);
        }
    }
    return cu;
}

static void call_attention_varlen(input *in)
{
    const intfa_attn_problem p = take_problem(in);
    const int64_t d = p.head_dim;
    const intfa_tensor q = take_tensor(in, p.seq_q, p.heads_q, d), k = take_tensor(in, p.seq_kv, p.heads_kv, d);
    const intfa_tensor v = take_tensor(in, p.seq_kv, p.heads_kv, d), o = take_tensor(in, p.seq_q, p.heads_q, d);
    int32_t *cu_q = take(in, 1) < 8 ? NULL : take_counts(in, p.batch, p.seq_q);
    int32_t *cu_k = take(in, 1) < 8 ? NULL : take_counts(in, p.batch, p.seq_kv);
    float *lse = take(in, 1) < 128 ? NULL : take_ptr(in);
    void *ws = take(in, 1) < 128 ? NULL : take_ptr(in);
    const size_t ws_bytes = (size_t)take_size(in);
    intfa_status st = intfa_attention_varlen(&fake_ctx, &p, &q, &k, &v, cu_q, cu_k, &o, lse, ws,
                                             ws_bytes, NULL);
    check_failed(st);
    if (driver_reached) {
        FUZZ_CHECK(problem_ok(&p) && p.qk_format == INTFA_FMT_INT8 && p.batch > 0 && p.heads_q > 0 &&
                       p.seq_q > 0,
                   "intfa_attention_varlen reached the driver with a problem it cannot run");
        /* the counts are copied and checked with the context entered: no oracle on them here
         * (the made-up context fails before that) */
        FUZZ_CHECK(cu_q && cu_k, "intfa_attention_varlen reached the driver with NULL counts");
        FUZZ_CHECK(aligned(q.data, 16) && aligned(o.data, 16) &&
                       (p.seq_kv == 0 || (aligned(k.data, 16) && aligned(v.data, 16))) &&
                       (!lse || aligned(lse, 4)) && (!ws || aligned(ws, 256)),
                   "intfa_attention_varlen reached the driver with a NULL or misaligned pointer");
    }
    free(cu_q);
    free(cu_k);
}

static void call_workspace_size(input *in)
{
    const intfa_attn_problem p = take_problem(in);
    size_t bytes = 12345;
    const int varlen = take(in, 1) & 1;
    intfa_status st = varlen ? intfa_attention_varlen_workspace_size(&p, &bytes)
                             : intfa_attention_workspace_size(&p, &bytes);
    check_failed(st);
    if (st != INTFA_OK) FUZZ_CHECK(bytes == 12345, "a failed workspace size query wrote its output");
    else FUZZ_CHECK(problem_ok(&p) && (!varlen || (p.qk_format == INTFA_FMT_INT8 && p.p_quant != INTFA_PQ_F16)),
                    "a workspace size for a problem that cannot run");
}

/* The paged KV cache: a description, its sequences (small host arrays: their contents are
 * read only once the context is entered, which the made-up driver refuses) and a query. */
static void call_kv(input *in)
{
    static const int64_t page_sizes[] = {16, 32, 64, 128, 256, 48, 0, 512};
    intfa_kv_cache c;
    memset(&c, 0, sizeof c);
    c.pool = take_ptr(in);
    c.num_pages = take_size(in);
    c.page_size = take(in, 1) < 224 ? page_sizes[take(in, 1) % 8] : take_size(in);
    c.heads_kv = take_size(in);
    c.head_dim = take_head_dim(in);
    c.num_slots = take_size(in);
    c.dtype = (intfa_dtype)take_enum(in);
    int32_t arrays[4][8] = {{0}};
    intfa_kv_seqs sq = {take_size(in), arrays[0], arrays[1], arrays[2], take_size(in)};
    if (take(in, 1) < 16) sq.lens = NULL;
    intfa_kv_query q = {take_size(in), take_size(in), 0.0f, take_enum(in)};
    const uint32_t bits = (uint32_t)take(in, 4);
    if (take(in, 1) >= 128) memcpy(&q.softmax_scale, &bits, sizeof bits);
    const intfa_tensor t1 = take_tensor(in, q.seq_q, q.heads_q, c.head_dim);
    const intfa_tensor t2 = take_tensor(in, q.seq_q, q.heads_q, c.head_dim);
    float *lse = take(in, 1) < 128 ? NULL : take_ptr(in);
    void *ws = take(in, 1) < 128 ? NULL : take_ptr(in);
    const size_t ws_bytes = (size_t)take_size(in);
    const int cache_ok = (c.page_size == 16 || c.page_size == 32 || c.page_size == 64 ||
                          c.page_size == 128 || c.page_size == 256) &&
                         (c.head_dim == 64 || c.head_dim == 128) && c.num_pages >= 1 &&
                         c.num_pages <= INT32_MAX && c.heads_kv >= 1 && c.heads_kv <= GRID_YZ_MAX &&
                         c.num_slots >= 1 && c.num_slots <= INT32_MAX && (unsigned)c.dtype <= 1;
    const int query_ok = c.heads_kv >= 1 && q.heads_q >= 1 && q.heads_q <= GRID_YZ_MAX &&
                         q.heads_q % c.heads_kv == 0 && q.seq_q >= 1 && q.seq_q <= 4096 &&
                         (q.causal == 0 || q.causal == 1) &&
                         (q.softmax_scale == 0.0f || (isfinite(q.softmax_scale) && q.softmax_scale > 0.0f));
    size_t bytes = 12345;
    intfa_status st;
    switch (take(in, 1) % 4) {
    case 0:
        st = intfa_kv_cache_bytes(&c, &bytes);
        check_failed(st);
        if (st != INTFA_OK) FUZZ_CHECK(bytes == 12345, "a failed pool size query wrote its output");
        else FUZZ_CHECK(cache_ok, "a pool size for a cache that cannot be used");
        break;
    case 1:
        st = intfa_kv_workspace_size(&c, &sq, take(in, 1) & 1 ? &q : NULL, &bytes);
        check_failed(st);
        if (st != INTFA_OK) FUZZ_CHECK(bytes == 12345, "a failed workspace size query wrote its output");
        else FUZZ_CHECK(cache_ok && sq.batch >= 0, "a workspace size for a cache that cannot be used");
        break;
    case 2:
        st = intfa_kv_attention(&fake_ctx, &c, &sq, &q, &t1, &t2, lse, ws, ws_bytes, NULL);
        check_failed(st);
        if (driver_reached)
            FUZZ_CHECK(cache_ok && query_ok && aligned(c.pool, 256) && sq.batch > 0 && sq.lens &&
                           aligned(t1.data, 16) && aligned(t2.data, 16) && (!lse || aligned(lse, 4)) &&
                           (!ws || aligned(ws, 256)),
                       "intfa_kv_attention reached the driver with arguments it cannot run");
        break;
    default:
        st = intfa_kv_append(&fake_ctx, &c, &sq, &t1, &t2, arrays[3], ws, ws_bytes, NULL);
        check_failed(st);
        if (driver_reached)
            FUZZ_CHECK(cache_ok && aligned(c.pool, 256) && sq.batch > 0 && sq.lens && (!ws || aligned(ws, 256)),
                       "intfa_kv_append reached the driver with arguments it cannot run");
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    input in = {data, size};
    driver_reached = 0;
    const unsigned sel = (unsigned)take(&in, 1);
    if (sel >= 240) /* added later: the older corpus inputs below 224 keep their meaning */
        call_kv(&in);
    else if (sel >= 224)
        call_attention_varlen(&in);
    else switch (sel % 7) {
    case 0: call_attention(&in); break;
    case 1: call_attention_int8(&in); break;
    case 2: call_quantize_qk(&in, 0); break;
    case 3: call_quantize_qk(&in, 1); break;
    case 4: call_quantize_v(&in); break;
    case 5: call_mean(&in); break;
    default: call_workspace_size(&in); break;
    }
    if (driver_reached) FUZZ_CHECK(intfa_last_error()[0] != '\0', "the driver's failure has no message");
    return 0;
}
