/* quantize.c - the quantization entry points: fp16/bf16 Q, K (per token, int8 or packed int4,
 * with K smoothing's subtraction and Q's LSE bias as options), K's mean over tokens, and V (per
 * channel or per head, transposed and key-permuted) to int8; fp32 scales. */
#include <math.h>

#include "error.h"
#include "launch.h"
#include "launch_params.h"
#include "quantize.h"
#include "render.h"
#include "validate.h"

#define MEAN_THREADS 256 /* MEAN_WARPS * 32 in templates/quant_mean.cu */

int64_t intfa_v_padded_len(int64_t seq_kv) { return seq_kv <= 0 ? 0 : (seq_kv + 15) / 16 * 16; }

static intfa_status check_dims(const char *fn, intfa_dtype dtype, int64_t batch, int64_t heads,
                               int64_t seq, int64_t head_dim)
{
    if (batch < 0 || heads < 0 || seq < 0)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "%s: batch = %lld, heads = %lld, seq = %lld: sizes must be >= 0",
                          fn, (long long)batch, (long long)heads, (long long)seq);
    if (seq > INTFA_MAX_SEQ)
        return intfa_fail(INTFA_ERR_UNSUPPORTED, "%s: seq = %lld exceeds the maximum %lld", fn,
                          (long long)seq, (long long)INTFA_MAX_SEQ);
    if (heads > INT32_MAX)
        return intfa_fail(INTFA_ERR_UNSUPPORTED, "%s: heads = %lld exceeds the maximum %d", fn,
                          (long long)heads, INT32_MAX);
    if (!intfa_head_dim_ok(head_dim))
        return intfa_fail(INTFA_ERR_UNSUPPORTED,
                          "%s: head_dim = %lld: supported head dims are multiples of 16 from 32 to 256",
                          fn, (long long)head_dim);
    if ((unsigned)dtype > INTFA_DTYPE_BF16)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "%s: dtype = %d is not an intfa_dtype", fn, (int)dtype);
    return INTFA_OK;
}

intfa_status intfa_quantize_check_grid(const char *fn, int64_t batch, int64_t heads, int64_t seq)
{
    int64_t pairs, rows;
    if (__builtin_mul_overflow(batch, heads, &pairs) || pairs > INT32_MAX)
        return intfa_fail(INTFA_ERR_UNSUPPORTED, "%s: batch x heads = %lld x %lld exceeds %d", fn,
                          (long long)batch, (long long)heads, INT32_MAX);
    if (__builtin_mul_overflow(pairs, seq, &rows) || (rows + QUANT_ROWS_PER_BLOCK - 1) / QUANT_ROWS_PER_BLOCK > INT32_MAX)
        return intfa_fail(INTFA_ERR_UNSUPPORTED, "%s: batch x heads x seq = %lld x %lld x %lld rows "
                          "is more than a launch can cover (%lld)", fn, (long long)batch,
                          (long long)heads, (long long)seq, (long long)INT32_MAX * QUANT_ROWS_PER_BLOCK);
    return INTFA_OK;
}

/* The options of intfa_quantize_qk_ex, checked on their own (heads is the one size they
 * depend on). */
static intfa_status check_qk_options(const intfa_qk_quant_options *o, int64_t heads)
{
    intfa_status st;
    if (!o)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT,
                          "options is NULL (zero-initialized options quantize as intfa_quantize_qk)");
    if ((unsigned)o->format > INTFA_FMT_INT4)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "options.format = %d is not an intfa_format",
                          (int)o->format);
    if (o->subtract && (st = intfa_check_ptr("options.subtract", o->subtract, 16))) return st;
    if (!o->bias_mean) {
        if (o->out_bias)
            return intfa_fail(INTFA_ERR_INVALID_ARGUMENT,
                              "options.out_bias = %p is set but options.bias_mean is NULL",
                              (void *)o->out_bias);
        return INTFA_OK;
    }
    if ((st = intfa_check_ptr("options.bias_mean", o->bias_mean, 16)) ||
        (st = intfa_check_ptr("options.out_bias (required with options.bias_mean)", o->out_bias, 4)))
        return st;
    if (o->heads_per_mean < 1 || heads % o->heads_per_mean)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT,
                          "options.heads_per_mean = %lld: must be >= 1 and divide heads = %lld",
                          (long long)o->heads_per_mean, (long long)heads);
    if (!isfinite(o->bias_scale))
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "options.bias_scale = %g is not finite",
                          (double)o->bias_scale);
    return INTFA_OK;
}

intfa_status intfa_quantize_qk_launch(intfa_context *ctx, const intfa_tensor *x, intfa_dtype dtype,
                                      int64_t batch, int64_t heads, int64_t seq, int64_t head_dim,
                                      const intfa_qk_quant_options *o, void *out_values,
                                      float *out_scale, void *stream)
{
    intfa_variant v;
    CUfunction fn;
    intfa_status st = intfa_variant_default(INTFA_KIND_QUANT_QK, ctx->arch, (int)head_dim,
                                            o->format, 0, dtype, INTFA_PQ_U8_ROW, &v);
    if (st == INTFA_OK) st = intfa_ctx_function(ctx, &v, "intfa_quant_qk", &fn);
    if (st != INTFA_OK) return st;
    intfa_quant_qk_params p = {x->data, out_values, out_scale, o->subtract, o->bias_mean,
                         o->bias_mean ? o->out_bias : NULL, x->stride_b, x->stride_n, x->stride_h,
                         batch * heads * seq, (int32_t)heads, (int32_t)seq,
                         o->bias_mean ? (int32_t)o->heads_per_mean : 1, o->bias_scale};
    const int64_t blocks = (p.rows + v.warps - 1) / v.warps;
    if (blocks > 0x7fffffffLL)
        return intfa_fail(INTFA_ERR_UNSUPPORTED, "quantize: %lld rows is too many", (long long)p.rows);
    return intfa_launch(ctx, fn, "intfa_quant_qk", (unsigned)blocks, 1, 1, (unsigned)v.warps * 32, 0,
                        stream, &p);
}

intfa_status intfa_mean_launch(intfa_context *ctx, intfa_format fmt, const intfa_tensor *x,
                               intfa_dtype dtype, int64_t batch, int64_t heads, int64_t seq,
                               int64_t head_dim, float *out_mean, void *stream)
{
    intfa_variant v;
    CUfunction fn;
    intfa_status st = intfa_variant_default(INTFA_KIND_QUANT_QK, ctx->arch, (int)head_dim, fmt, 0,
                                            dtype, INTFA_PQ_U8_ROW, &v);
    if (st == INTFA_OK) st = intfa_ctx_function(ctx, &v, "intfa_mean_tokens", &fn);
    if (st != INTFA_OK) return st;
    const int64_t bh = batch * heads;
    if (bh > 0x7fffffffLL)
        return intfa_fail(INTFA_ERR_UNSUPPORTED, "mean: batch x heads = %lld is too many", (long long)bh);
    intfa_quant_mean_params p = {x->data, out_mean, x->stride_b, x->stride_n, x->stride_h, (int32_t)heads,
                           (int32_t)seq};
    return intfa_launch(ctx, fn, "intfa_mean_tokens", (unsigned)bh, 1, 1, MEAN_THREADS, 0, stream, &p);
}

intfa_status intfa_quantize_v_launch(intfa_context *ctx, intfa_format module_fmt, const intfa_tensor *x,
                                     intfa_dtype dtype, int64_t batch, int64_t heads, int64_t seq,
                                     int64_t head_dim, intfa_v_scale mode, int8_t *out_values,
                                     float *out_scale, void *stream)
{
    intfa_variant v;
    CUfunction famax, fpack, fscale;
    /* the kernels live in the quant_qk module (templates/quant_v_api.cu) */
    intfa_status st = intfa_variant_default(INTFA_KIND_QUANT_QK, ctx->arch, (int)head_dim,
                                            module_fmt, 0, dtype, INTFA_PQ_U8_ROW, &v);
    if (st == INTFA_OK) st = intfa_ctx_function(ctx, &v, "intfa_quant_v_amax", &famax);
    if (st == INTFA_OK) st = intfa_ctx_function(ctx, &v, "intfa_quant_v_pack", &fpack);
    if (st == INTFA_OK) st = intfa_ctx_function(ctx, &v, "intfa_quant_v_scale", &fscale);
    if (st != INTFA_OK) return st;
    const int64_t bh = batch * heads, n_pad = intfa_v_padded_len(seq);
    if (bh > 0x7fffffffLL)
        return intfa_fail(INTFA_ERR_UNSUPPORTED, "quantize_v: batch x heads = %lld is too many", (long long)bh);
    intfa_quant_v_params p = {x->data, out_values, out_scale, x->stride_b, x->stride_n, x->stride_h,
                              (int32_t)heads, (int32_t)seq, (int32_t)n_pad, mode == INTFA_VS_HEAD};
    CUresult r = ctx->cu->MemsetD32Async((CUdeviceptr)out_scale, 0, (size_t)(bh * head_dim), (CUstream)stream);
    if (r != CUDA_SUCCESS) return intfa_cu_fail(r, "quantize_v: clearing the scales");
    int64_t amax_blocks = (seq + 255) / 256, pack_blocks = (n_pad + 127) / 128;
    if (amax_blocks < 1) amax_blocks = 1;
    if (pack_blocks < 1) pack_blocks = 1;
    if (amax_blocks > 65535) amax_blocks = 65535;
    if (pack_blocks > 65535) pack_blocks = 65535;
    const unsigned threads = (unsigned)(head_dim + 31) / 32 * 32; /* V_THREADS: whole warps */
    if ((st = intfa_launch(ctx, famax, "intfa_quant_v_amax", (unsigned)bh, (unsigned)amax_blocks, 1,
                           threads, 0, stream, &p)) != INTFA_OK ||
        (st = intfa_launch(ctx, fpack, "intfa_quant_v_pack", (unsigned)bh, (unsigned)pack_blocks, 1,
                           threads, 0, stream, &p)) != INTFA_OK)
        return st;
    return intfa_launch(ctx, fscale, "intfa_quant_v_scale", (unsigned)bh, 1, 1, threads, 0, stream, &p);
}

#define KV_THREADS 256      /* templates/quant_v.cu */
#define KV_STREAM_GROUPS 4  /* groups of KV_THREADS per block of intfa_quant_kv_stream */
#define KV_STREAM_STEPS 4   /* PACK_KEYS steps (8192 / HDX keys each) per pack item */
#define KV_SPLIT_KEYS 1024
#define KV_MAX_SPLITS 32

/* The K/V pass maps its threads onto rows of head_dim rounded up to a power of two (HDX in
 * templates/quant_v.cu): 8192 / HDX keys per pack step, HDX floats of the pack's shared arrays. */
static int64_t kv_dim_pow2(int64_t head_dim)
{
    int64_t d = 16;
    while (d < head_dim) d *= 2;
    return d;
}

int64_t intfa_kv_splits(int64_t seq)
{
    const int64_t s = (seq + KV_SPLIT_KEYS - 1) / KV_SPLIT_KEYS;
    return s < 1 ? 1 : s > KV_MAX_SPLITS ? KV_MAX_SPLITS : s;
}

int64_t intfa_kv_part_bytes(int64_t batch_heads, int64_t seq, int64_t head_dim)
{
    return batch_heads * intfa_kv_splits(seq) * 2 * head_dim * 4;
}

/* templates/quant_v.cu: the claim and the published epoch (two words each), queue, groups left,
 * then stats_done and packed per (batch, head), then ready per (batch, head), two words each */
static int64_t kv_ready_word(int64_t batch_heads)
{
    return 6 + 2 * batch_heads;
}

int64_t intfa_kv_sync_words(int64_t batch_heads)
{
    return kv_ready_word(batch_heads) + 2 * batch_heads;
}

const uint64_t *intfa_kv_ready_flags(const uint32_t *sync, int64_t batch_heads)
{
    return (const uint64_t *)(const void *)(sync + kv_ready_word(batch_heads));
}

/* The streamed pass: one launch of `blocks` blocks (each a whole SM). Outside graph capture it
 * zeroes its own counters behind an epoch handshake and marks each head done with the epoch,
 * so no flag of an earlier launch can pass for this one's: no memset on the stream, a
 * cuStreamIsCapturing query in its place. A captured graph replays one epoch: there a memset
 * clears sync first, in stream order, as before. sync must be 8-byte aligned. */
static intfa_status kv_stream_launch(intfa_context *ctx, const intfa_variant *var, intfa_quant_kv_params *p,
                                     int64_t len, int64_t head_dim, int blocks_max, void *stream)
{
    CUfunction fn;
    intfa_status st = intfa_ctx_function(ctx, var, "intfa_quant_kv_stream", &fn);
    if (st != INTFA_OK) return st;
    const int64_t bh = p->bh, hdx = kv_dim_pow2(head_dim), item_keys = KV_STREAM_STEPS * (8192 / hdx);
    int64_t chunks = (intfa_v_padded_len(len) + item_keys - 1) / item_keys;
    if (chunks < 1) chunks = 1;
    const int64_t items = bh * (p->splits + chunks);
    if (items > 0x7fffffffLL)
        return intfa_fail(INTFA_ERR_UNSUPPORTED, "quantize K/V: %lld work items are too many", (long long)items);
    p->chunks = (int32_t)chunks;
    if ((uintptr_t)p->sync % 8)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "quantize K/V: sync %p is not 8-byte aligned", (void *)p->sync);
    p->epoch = intfa_ctx_next_epoch();
    CUstreamCaptureStatus capture = CU_STREAM_CAPTURE_STATUS_NONE;
    CUresult r = ctx->cu->StreamIsCapturing((CUstream)stream, &capture);
    if (r != CUDA_SUCCESS) return intfa_cu_fail(r, "quantize K/V: cuStreamIsCapturing");
    if (capture != CU_STREAM_CAPTURE_STATUS_NONE &&
        (r = ctx->cu->MemsetD32Async((CUdeviceptr)(uintptr_t)p->sync, 0, (size_t)intfa_kv_sync_words(p->bh),
                                     (CUstream)stream)) != CUDA_SUCCESS)
        return intfa_cu_fail(r, "quantize K/V: cuMemsetD32Async");
    int64_t blocks = (items + KV_STREAM_GROUPS - 1) / KV_STREAM_GROUPS;
    if (blocks > blocks_max) blocks = blocks_max;
    /* per group: 2 x 2048 floats of row partials (STATS_FLOATS), 2 HDX + 8 for pack (PACK_FLOATS) */
    const unsigned smem = (unsigned)(KV_STREAM_GROUPS * (4096 + 2 * hdx + KV_THREADS / 32) * 4);
    return intfa_launch(ctx, fn, "intfa_quant_kv_stream", (unsigned)blocks, 1, 1,
                        KV_STREAM_GROUPS * KV_THREADS, smem, stream, p);
}

int64_t intfa_kv_varlen_cols(int64_t batch, int64_t total)
{
    return 128 * (total / 128 + batch);
}

intfa_status intfa_quantize_kv_launch(intfa_context *ctx, const intfa_tensor *k, const intfa_tensor *v,
                                      intfa_dtype dtype, int64_t batch, int64_t heads, int64_t seq,
                                      int64_t head_dim, int smooth, intfa_v_scale mode,
                                      const intfa_kv_quant_out *out, void *stream, uint64_t *streamed_epoch)
{
    intfa_variant var;
    *streamed_epoch = 0;
    CUfunction fstats, fpack;
    intfa_status st = intfa_variant_default(INTFA_KIND_QUANT_V, ctx->arch, (int)head_dim,
                                            INTFA_FMT_INT8, 0, dtype, INTFA_PQ_U8_ROW, &var);
    if (st != INTFA_OK) return st;
    const int64_t bh = batch * heads;
    /* varlen: seq is the total, each sequence at most max_len keys */
    const int64_t len = out->cu_k ? out->max_len : seq;
    const int64_t n_pad = out->cu_k ? intfa_kv_varlen_cols(batch, seq) : intfa_v_padded_len(seq);
    if (bh > 0x7fffffffLL)
        return intfa_fail(INTFA_ERR_UNSUPPORTED, "quantize K/V: batch x heads = %lld is too many", (long long)bh);
    if (bh == 0 || len == 0) return INTFA_OK;
    const int64_t splits = intfa_kv_splits(len);
    /* up to four PACK_KEYS chunks per block, one per span: the partials' reduction at a block's
     * start is paid once per chunk at most (a head of one span takes one chunk per block:
     * measured 7% faster at N = 1k than four, docs/RESULTS.md) */
    const int64_t chunks = splits < 4 ? splits : 4;
    const int64_t pack_keys = chunks * (8192 / kv_dim_pow2(head_dim));
    int64_t pack_blocks = (intfa_v_padded_len(len) + pack_keys - 1) / pack_keys;
    if (pack_blocks > 65535) pack_blocks = 65535; /* the kernel strides over the rest */
    intfa_quant_kv_params p = {k->data, v->data, out->k8, out->k_scale, out->v8, out->v_scale,
                               smooth ? out->mean : NULL, out->part, out->cu_k, out->sync,
                               k->stride_b, k->stride_n, k->stride_h, v->stride_b, v->stride_n, v->stride_h,
                               (int32_t)heads, (int32_t)seq, (int32_t)n_pad, (int32_t)splits,
                               smooth ? 1 : 0, mode == INTFA_VS_HEAD, (int32_t)bh, 0, 0};
    /* sm_90 has the streamed kernel only: beside the attention kernel on kv_stream_blocks SMs,
     * or with kv_stream_blocks 0 on every SM before it (no flags, no overlap) */
    const int sm90 = ctx->arch == INTFA_ARCH_SM90 || ctx->arch == INTFA_ARCH_SM90A;
    if (sm90 && !out->sync)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "quantize K/V: sync is NULL (sm_90's pass needs it)");
    if (out->sync && (sm90 || ctx->kv_stream_blocks > 0)) {
        const int beside = ctx->kv_stream_blocks > 0;
        st = kv_stream_launch(ctx, &var, &p, len, head_dim, beside ? ctx->kv_stream_blocks : ctx->sm_count, stream);
        if (st == INTFA_OK && beside) *streamed_epoch = p.epoch;
        return st;
    }
    if ((st = intfa_ctx_function(ctx, &var, "intfa_quant_kv_stats", &fstats)) != INTFA_OK ||
        (st = intfa_ctx_function(ctx, &var, "intfa_quant_kv_pack", &fpack)) != INTFA_OK)
        return st;
    if ((st = intfa_launch(ctx, fstats, "intfa_quant_kv_stats", (unsigned)bh, (unsigned)splits, 1,
                           KV_THREADS, 0, stream, &p)) != INTFA_OK)
        return st;
    return intfa_launch(ctx, fpack, "intfa_quant_kv_pack", (unsigned)bh, (unsigned)pack_blocks, 1,
                        KV_THREADS, 0, stream, &p);
}

/* intfa_quantize_qk_ex under the name fn. */
static intfa_status quantize_qk(const char *fn, intfa_context *ctx, const intfa_tensor *x,
                                intfa_dtype dtype, int64_t batch, int64_t heads, int64_t seq,
                                int64_t head_dim, const intfa_qk_quant_options *o,
                                void *out_values, float *out_scale, void *stream)
{
    if (!ctx) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "%s: ctx is NULL", fn);
    intfa_status st = check_dims(fn, dtype, batch, heads, seq, head_dim);
    if (st != INTFA_OK) return st;
    int64_t rows = 0;
    if ((st = check_qk_options(o, heads)) == INTFA_OK && o->format == INTFA_FMT_INT4 &&
        !intfa_head_dim_classic(head_dim))
        st = intfa_fail(INTFA_ERR_UNSUPPORTED, "head_dim = %lld with options.format = INT4: INT4 Q/K "
                        "takes head dims 64 and 128", (long long)head_dim);
    if (st != INTFA_OK ||
        (st = intfa_mul4("batch x heads x seq x head_dim", batch, heads, seq, head_dim, &rows)) != INTFA_OK)
        return intfa_fail_wrap(st, "%s", fn);
    if (rows == 0) return INTFA_OK;
    if ((st = intfa_check_tensor("x", x, batch, seq, heads, head_dim, 2)) != INTFA_OK ||
        (st = intfa_check_ptr("out_values", out_values, 16)) != INTFA_OK ||
        (st = intfa_check_ptr("out_scale", out_scale, 4)) != INTFA_OK ||
        (st = intfa_quantize_check_grid(fn, batch, heads, seq)) != INTFA_OK)
        return intfa_fail_wrap(st, "%s", fn);
    if ((st = intfa_ctx_enter(ctx)) != INTFA_OK) return st;
    st = intfa_ctx_check_stream(ctx, stream);
    if (st == INTFA_OK)
        st = intfa_quantize_qk_launch(ctx, x, dtype, batch, heads, seq, head_dim, o, out_values,
                                      out_scale, stream);
    intfa_ctx_leave(ctx);
    return st;
}

intfa_status intfa_quantize_qk(intfa_context *ctx, const intfa_tensor *x, intfa_dtype dtype,
                               int64_t batch, int64_t heads, int64_t seq, int64_t head_dim,
                               int8_t *out_values, float *out_scale, void *stream)
{
    intfa_clear_error();
    const intfa_qk_quant_options none = {0};
    return quantize_qk("intfa_quantize_qk", ctx, x, dtype, batch, heads, seq, head_dim, &none,
                       out_values, out_scale, stream);
}

intfa_status intfa_quantize_qk_ex(intfa_context *ctx, const intfa_tensor *x, intfa_dtype dtype,
                                  int64_t batch, int64_t heads, int64_t seq, int64_t head_dim,
                                  const intfa_qk_quant_options *options, void *out_values,
                                  float *out_scale, void *stream)
{
    intfa_clear_error();
    return quantize_qk("intfa_quantize_qk_ex", ctx, x, dtype, batch, heads, seq, head_dim, options,
                       out_values, out_scale, stream);
}

intfa_status intfa_mean_over_tokens(intfa_context *ctx, const intfa_tensor *x, intfa_dtype dtype,
                                    int64_t batch, int64_t heads, int64_t seq, int64_t head_dim,
                                    float *out_mean, void *stream)
{
    intfa_clear_error();
    const char *fn = "intfa_mean_over_tokens";
    if (!ctx) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "%s: ctx is NULL", fn);
    intfa_status st = check_dims(fn, dtype, batch, heads, seq, head_dim);
    if (st != INTFA_OK) return st;
    int64_t elems = 0;
    if ((st = intfa_mul4("batch x heads x seq x head_dim", batch, heads, seq, head_dim, &elems)) != INTFA_OK)
        return intfa_fail_wrap(st, "%s", fn);
    if (batch * heads == 0) return INTFA_OK;
    if (!x) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "%s: x is NULL", fn);
    if ((st = intfa_quantize_check_grid(fn, batch, heads, 0)) != INTFA_OK) return st;
    if ((seq > 0 && (st = intfa_check_tensor("x", x, batch, seq, heads, head_dim, 2)) != INTFA_OK) ||
        (st = intfa_check_ptr("out_mean", out_mean, 4)) != INTFA_OK)
        return intfa_fail_wrap(st, "%s", fn);
    if ((st = intfa_ctx_enter(ctx)) != INTFA_OK) return st;
    st = intfa_ctx_check_stream(ctx, stream);
    if (st == INTFA_OK)
        st = intfa_mean_launch(ctx, INTFA_FMT_INT8, x, dtype, batch, heads, seq, head_dim, out_mean,
                               stream);
    intfa_ctx_leave(ctx);
    return st;
}

intfa_status intfa_quantize_v(intfa_context *ctx, const intfa_tensor *x, intfa_dtype dtype,
                              int64_t batch, int64_t heads, int64_t seq, int64_t head_dim,
                              intfa_v_scale mode, int8_t *out_values, float *out_scale, void *stream)
{
    intfa_clear_error();
    if (!ctx) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_quantize_v: ctx is NULL");
    intfa_status st = check_dims("intfa_quantize_v", dtype, batch, heads, seq, head_dim);
    int64_t elems = 0;
    if (st == INTFA_OK && (unsigned)mode > INTFA_VS_HEAD)
        st = intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_quantize_v: mode = %d is not an intfa_v_scale", (int)mode);
    if (st == INTFA_OK) st = intfa_mul4("intfa_quantize_v: batch x heads x seq x head_dim", batch,
                                        heads, intfa_v_padded_len(seq), head_dim, &elems);
    if (st != INTFA_OK) return st;
    if (batch * heads == 0) return INTFA_OK;
    if (!x) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_quantize_v: v is NULL");
    if (seq > 0 && (st = intfa_check_tensor("v", x, batch, seq, heads, head_dim, 2)) != INTFA_OK) return st;
    if ((seq > 0 && (st = intfa_check_ptr("out_values", out_values, 16)) != INTFA_OK) ||
        (st = intfa_check_ptr("out_scale", out_scale, 8)) != INTFA_OK ||
        (st = intfa_quantize_check_grid("intfa_quantize_v", batch, heads, 0)) != INTFA_OK)
        return st;
    if ((st = intfa_ctx_enter(ctx)) != INTFA_OK) return st;
    st = intfa_ctx_check_stream(ctx, stream);
    if (st == INTFA_OK)
        st = intfa_quantize_v_launch(ctx, INTFA_FMT_INT8, x, dtype, batch, heads, seq, head_dim, mode,
                                     out_values, out_scale, stream);
    intfa_ctx_leave(ctx);
    return st;
}
