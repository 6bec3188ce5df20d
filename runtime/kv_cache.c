/* kv_cache.c - the paged INT8 KV cache's entry points (docs/DECODE.md): pool and workspace
 * sizes, intfa_kv_append and intfa_kv_attention. Each call copies the host arrays, checks the
 * copy (kv_layout.c), sends it to the device in one copy and launches templates/kv_cache.cu. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "kv_layout.h"
#include "launch.h"
#include "launch_params.h"
#include "validate.h"
#include "workspace.h"

intfa_status intfa_kv_cache_bytes(const intfa_kv_cache *cache, size_t *bytes)
{
    intfa_clear_error();
    if (!bytes) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "bytes is NULL");
    intfa_kv_pool l;
    intfa_status st = intfa_kv_check_cache(cache, 0, &l);
    if (st == INTFA_OK) *bytes = l.total;
    return st;
}

intfa_status intfa_kv_workspace_size(const intfa_kv_cache *cache, const intfa_kv_seqs *seqs,
                                     const intfa_kv_query *query, size_t *bytes)
{
    intfa_clear_error();
    if (!bytes) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "bytes is NULL");
    intfa_kv_pool l;
    intfa_kv_ws w;
    float s;
    intfa_status st = intfa_kv_check_cache(cache, 0, &l);
    if (st == INTFA_OK) st = intfa_kv_check_seqs(cache, seqs);
    if (st == INTFA_OK && query) st = intfa_kv_check_query(cache, query, &s);
    if (st == INTFA_OK) st = intfa_kv_plan_ws(cache, seqs, query, &w);
    if (st == INTFA_OK) *bytes = w.total;
    return st;
}

/* What both entry points share once their arguments are checked: the plan, the arrays' host
 * copy (table | lens | slots | cu_new) and the device workspace. */
typedef struct kv_call {
    const char *fn;
    intfa_kv_pool pool;
    intfa_kv_ws ws;
    int32_t *host, *table, *lens, *slots, *cu_new;
    char *base; /* device workspace */
    intfa_variant kernels;
} kv_call;

/* The cache, the query (attention, scale_log2 non-NULL: *scale_log2 set; appends pass NULL
 * for both), the sequences and the workspace, in that order. */
static intfa_status check_common(kv_call *k, const intfa_kv_cache *cache, const intfa_kv_seqs *seqs,
                                 const intfa_kv_query *query, float *scale_log2, void *workspace,
                                 size_t workspace_bytes)
{
    intfa_status st = intfa_kv_check_cache(cache, 1, &k->pool);
    if (st == INTFA_OK && scale_log2) st = intfa_kv_check_query(cache, query, scale_log2);
    if (st == INTFA_OK) st = intfa_kv_check_seqs(cache, seqs);
    if (st == INTFA_OK) st = intfa_kv_plan_ws(cache, seqs, query, &k->ws);
    if (st != INTFA_OK || !workspace) return st;
    if ((st = intfa_check_ptr("workspace", workspace, INTFA_WS_ALIGN))) return st;
    if (workspace_bytes < k->ws.total)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT,
                          "%s: workspace_bytes = %zu, but these sequences need %zu "
                          "(intfa_kv_workspace_size)", k->fn, workspace_bytes, k->ws.total);
    return INTFA_OK;
}

/* Host memory, not device memory: the call reads the arrays on the host. ctx entered. */
static intfa_status host_array(intfa_context *ctx, const char *fn, const char *name, const void *p)
{
    if (intfa_ctx_is_device_memory(ctx, p))
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "%s: %s = %p is device memory: the call takes host arrays",
                          fn, name, p);
    return INTFA_OK;
}

/* Refuses graph capture, copies the arrays (cu_new may be NULL), checks the copy, takes the
 * workspace and the kernels, sends the copy. ctx entered. */
static intfa_status start_call(intfa_context *ctx, kv_call *k, const intfa_kv_cache *cache,
                               const intfa_kv_seqs *s, const int32_t *cu_new, void *workspace,
                               void *stream)
{
    CUstreamCaptureStatus capture = CU_STREAM_CAPTURE_STATUS_NONE;
    CUresult r = ctx->cu->StreamIsCapturing((CUstream)stream, &capture);
    if (r != CUDA_SUCCESS) return intfa_cu_fail(r, "cuStreamIsCapturing");
    if (capture != CU_STREAM_CAPTURE_STATUS_NONE)
        return intfa_fail(INTFA_ERR_UNSUPPORTED,
                          "%s: the stream is capturing a CUDA graph; the block table and lengths "
                          "are host data copied and checked on every call, which a graph cannot replay",
                          k->fn);
    const int64_t B = s->batch, cells = B * s->pages_per_seq;
    intfa_status st = host_array(ctx, k->fn, "seqs.block_table", s->block_table);
    if (st == INTFA_OK) st = host_array(ctx, k->fn, "seqs.lens", s->lens);
    if (st == INTFA_OK && cu_new) st = host_array(ctx, k->fn, "seqs.slots", s->slots);
    if (st == INTFA_OK && cu_new) st = host_array(ctx, k->fn, "cu_new", cu_new);
    if (st != INTFA_OK) return st;
    k->host = malloc(k->ws.arrays_bytes);
    if (!k->host) return intfa_fail(INTFA_ERR_OUT_OF_MEMORY, "%s: out of host memory", k->fn);
    k->table = k->host;
    k->lens = k->table + cells;
    k->slots = k->lens + B;
    k->cu_new = k->slots + B;
    memcpy(k->table, s->block_table, (size_t)cells * sizeof(int32_t));
    memcpy(k->lens, s->lens, (size_t)B * sizeof(int32_t));
    if (cu_new) { /* attention reads neither the slots nor the counts */
        memcpy(k->slots, s->slots, (size_t)B * sizeof(int32_t));
        memcpy(k->cu_new, cu_new, (size_t)(B + 1) * sizeof(int32_t));
    } else {
        memset(k->slots, 0, (size_t)(2 * B + 1) * sizeof(int32_t));
    }
    st = intfa_kv_check_arrays(k->fn, cache, s, k->table, k->lens, k->slots, cu_new ? k->cu_new : NULL);
    if (st != INTFA_OK) return st;
    CUdeviceptr ws = (CUdeviceptr)workspace;
    if (!workspace && (st = intfa_ctx_workspace(ctx, k->ws.total, &ws)) != INTFA_OK) return st;
    k->base = (char *)(uintptr_t)ws;
    if ((st = intfa_variant_default(INTFA_KIND_KV_CACHE, ctx->arch, (int)cache->head_dim,
                                    INTFA_FMT_INT8, 0, cache->dtype, INTFA_PQ_U8_ROW, &k->kernels)))
        return st;
    return INTFA_OK;
}

/* Sends the arrays' copy: the driver has staged pageable memory when the call returns. */
static intfa_status send_arrays(intfa_context *ctx, const kv_call *k, void *stream)
{
    CUresult r = ctx->cu->MemcpyHtoDAsync((CUdeviceptr)(uintptr_t)(k->base + k->ws.arrays), k->host,
                                          k->ws.arrays_bytes, (CUstream)stream);
    return r == CUDA_SUCCESS ? INTFA_OK : intfa_cu_fail(r, "copying the block table");
}

static int log2_of(int64_t x)
{
    int l = 0;
    while ((1LL << l) < x) ++l;
    return l;
}

/* The parameters every kernel of the cache reads, with the call's arrays inline when they fit
 * (*inlined 1: nothing to copy before the launches). */
static intfa_kv_params cache_params(const intfa_kv_cache *c, const intfa_kv_seqs *s, const kv_call *k,
                                    int *inlined)
{
    char *pool = c->pool;
    intfa_kv_params p;
    memset(&p, 0, offsetof(intfa_kv_params, inline_arrays));
    p.k8 = (int8_t *)(pool + k->pool.k8);
    p.k_scale = (float *)(pool + k->pool.k_scale);
    p.v8 = (int8_t *)(pool + k->pool.v8);
    p.v_scale = (float *)(pool + k->pool.v_scale);
    p.stage = pool + k->pool.stage;
    p.arrays = (const int32_t *)(k->base + k->ws.arrays);
    const size_t n = k->ws.arrays_bytes / sizeof(int32_t);
    *inlined = n <= INTFA_KV_INLINE;
    if (*inlined) {
        p.inline_n = (int32_t)n;
        memcpy(p.inline_arrays, k->host, k->ws.arrays_bytes);
    }
    p.heads_kv = (int32_t)c->heads_kv;
    p.ps_log2 = log2_of(c->page_size);
    p.pages_per_seq = (int32_t)s->pages_per_seq;
    p.batch = (int32_t)s->batch;
    return p;
}

static intfa_status append_run(intfa_context *ctx, kv_call *k, const intfa_kv_cache *c,
                               const intfa_kv_seqs *s, const intfa_tensor *kt,
                               const intfa_tensor *vt, void *stream)
{
    const int64_t B = s->batch, ps = c->page_size, total = k->cu_new[B];
    intfa_status st;
    if (total == 0) return INTFA_OK;
    if ((st = intfa_check_packed("k", kt, total, c->heads_kv, c->head_dim)) ||
        (st = intfa_check_packed("v", vt, total, c->heads_kv, c->head_dim)))
        return st;
    int64_t pages = 0;
    int deferred = 0;
    for (int64_t b = 0; b < B; ++b) {
        const int64_t len = k->lens[b], n = k->cu_new[b + 1] - k->cu_new[b], end = len + n;
        if (n == 0) continue;
        const int64_t first = len / ps, last = (end - 1) / ps;
        if (last - first + 1 > pages) pages = last - first + 1;
        if (end % ps && last != first && len % ps) deferred = 1;
    }
    CUfunction fn;
    int inlined;
    intfa_kv_params p = cache_params(c, s, k, &inlined);
    if ((st = intfa_ctx_function(ctx, &k->kernels, "intfa_kv_append", &fn)) ||
        (!inlined && (st = send_arrays(ctx, k, stream))))
        return st;
    p.xk = kt->data;
    p.xv = vt->data;
    p.xk_sn = kt->stride_n;
    p.xk_sh = kt->stride_h;
    p.xv_sn = vt->stride_n;
    p.xv_sh = vt->stride_h;
    for (int phase = 0; phase <= deferred && st == INTFA_OK; ++phase) {
        p.phase = phase;
        st = intfa_launch(ctx, fn, "intfa_kv_append", (unsigned)pages, (unsigned)c->heads_kv,
                          (unsigned)B, (unsigned)k->kernels.warps * 32, 0, stream, &p);
    }
    return st;
}

intfa_status intfa_kv_append(intfa_context *ctx, const intfa_kv_cache *cache,
                             const intfa_kv_seqs *seqs, const intfa_tensor *k,
                             const intfa_tensor *v, const int32_t *cu_new, void *workspace,
                             size_t workspace_bytes, void *stream)
{
    intfa_clear_error();
    kv_call call = {.fn = "intfa_kv_append"};
    if (!ctx) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_kv_append: ctx is NULL");
    intfa_status st = check_common(&call, cache, seqs, NULL, NULL, workspace, workspace_bytes);
    if (st != INTFA_OK) return st;
    if (!cu_new) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_kv_append: cu_new is NULL");
    if (seqs->batch > 0 && !seqs->slots)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_kv_append: seqs.slots is NULL");
    if (!k || !v) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "%s is NULL", !k ? "k" : "v");
    if (seqs->batch == 0) return INTFA_OK;
    if ((st = intfa_ctx_enter(ctx)) != INTFA_OK) return st;
    st = intfa_ctx_check_stream(ctx, stream);
    if (st == INTFA_OK) st = start_call(ctx, &call, cache, seqs, cu_new, workspace, stream);
    if (st == INTFA_OK) st = append_run(ctx, &call, cache, seqs, k, v, stream);
    free(call.host);
    intfa_ctx_leave(ctx);
    return st;
}

static intfa_status attention_run(intfa_context *ctx, kv_call *k, const intfa_kv_cache *c,
                                  const intfa_kv_seqs *s, const intfa_kv_query *query,
                                  float scale_log2, const intfa_tensor *q, const intfa_tensor *out,
                                  float *lse, void *stream)
{
    const int64_t B = s->batch, rows = intfa_kv_rows(c, query), groups = (rows + 7) / 8;
    int64_t max_len = 0;
    for (int64_t b = 0; b < B; ++b)
        if (k->lens[b] > max_len) max_len = k->lens[b];
    const int64_t tiles = (max_len + INTFA_KV_TILE - 1) / INTFA_KV_TILE;
    /* two decode blocks per SM (254 registers x 128 threads; 36 KB of shared memory each) */
    int64_t splits = intfa_kv_decode_splits(B, c->heads_kv * groups, max_len, 2 * (int64_t)ctx->sm_count);
    if (splits > k->ws.splits_cap) splits = k->ws.splits_cap;
    const int64_t per_split = tiles > 0 ? (tiles + splits - 1) / splits : 1;
    splits = tiles > 0 ? (tiles + per_split - 1) / per_split : 1;
    CUfunction fdec, fcomb;
    int inlined;
    intfa_kv_params p = cache_params(c, s, k, &inlined);
    const char *decode = c->page_size >= INTFA_KV_TILE ? "intfa_kv_decode" : "intfa_kv_decode_small";
    intfa_status st = intfa_ctx_function(ctx, &k->kernels, decode, &fdec);
    if (st == INTFA_OK && splits > 1) st = intfa_ctx_function(ctx, &k->kernels, "intfa_kv_combine", &fcomb);
    if (st == INTFA_OK && !inlined) st = send_arrays(ctx, k, stream);
    if (st != INTFA_OK) return st;
    p.q = q->data;
    p.o = out->data;
    p.lse = lse;
    p.part_o = (float *)(k->base + k->ws.part_o);
    p.part_ml = (float *)(k->base + k->ws.part_ml);
    p.q_sb = q->stride_b;
    p.q_sn = q->stride_n;
    p.q_sh = q->stride_h;
    p.o_sb = out->stride_b;
    p.o_sn = out->stride_n;
    p.o_sh = out->stride_h;
    p.heads_q = (int32_t)query->heads_q;
    p.seq_q = (int32_t)query->seq_q;
    p.rows = (int32_t)rows;
    p.splits = (int32_t)splits;
    p.tiles_per_split = (int32_t)per_split;
    p.causal = query->causal;
    p.scale_log2 = scale_log2;
    const unsigned threads = (unsigned)k->kernels.warps * 32;
    st = intfa_launch(ctx, fdec, decode, (unsigned)splits, (unsigned)(c->heads_kv * groups),
                      (unsigned)B, threads, 0, stream, &p);
    if (st != INTFA_OK || splits == 1) return st;
    const int64_t all_rows = B * c->heads_kv * rows;
    /* one combine block per row; it may start while the decode blocks finish (sm_90:
     * programmatic dependent launch; it waits for their partials with griddepcontrol.wait) */
    return intfa_launch_dependent(ctx, fcomb, "intfa_kv_combine", (unsigned)all_rows, 1, 1,
                                  threads, 0, stream, &p);
}

intfa_status intfa_kv_attention(intfa_context *ctx, const intfa_kv_cache *cache,
                                const intfa_kv_seqs *seqs, const intfa_kv_query *query,
                                const intfa_tensor *q, const intfa_tensor *out, float *lse,
                                void *workspace, size_t workspace_bytes, void *stream)
{
    intfa_clear_error();
    kv_call call = {.fn = "intfa_kv_attention"};
    if (!ctx) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_kv_attention: ctx is NULL");
    float scale_log2 = 0.f;
    intfa_status st = check_common(&call, cache, seqs, query, &scale_log2, workspace, workspace_bytes);
    if (st != INTFA_OK) return st;
    const int64_t B = seqs->batch, D = cache->head_dim;
    if ((st = intfa_check_tensor("q", q, B, query->seq_q, query->heads_q, D, 2)) ||
        (st = intfa_check_tensor("out", out, B, query->seq_q, query->heads_q, D, 2)))
        return st;
    if (lse && (st = intfa_check_ptr("lse", lse, 4))) return st;
    if (cache->heads_kv * ((intfa_kv_rows(cache, query) + 7) / 8) > INTFA_MAX_GRID_YZ)
        return intfa_fail(INTFA_ERR_UNSUPPORTED,
                          "intfa_kv_attention: heads_kv x row groups exceeds %lld blocks",
                          (long long)INTFA_MAX_GRID_YZ);
    if (B == 0) return INTFA_OK;
    if ((st = intfa_ctx_enter(ctx)) != INTFA_OK) return st;
    st = intfa_ctx_check_stream(ctx, stream);
    if (st == INTFA_OK) st = start_call(ctx, &call, cache, seqs, NULL, workspace, stream);
    if (st == INTFA_OK)
        st = attention_run(ctx, &call, cache, seqs, query, scale_log2, q, out, lse, stream);
    free(call.host);
    intfa_ctx_leave(ctx);
    return st;
}
