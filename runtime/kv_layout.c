/* kv_layout.c - the paged KV cache's layouts and argument checks (kv_layout.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "kv_layout.h"
#include "validate.h"
#include "workspace.h"

intfa_status intfa_kv_check_cache(const intfa_kv_cache *c, int check_pool, intfa_kv_pool *layout)
{
    if (!c) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "cache is NULL");
    const int64_t ps = c->page_size;
    if (ps != 16 && ps != 32 && ps != 64 && ps != 128 && ps != 256)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT,
                          "cache.page_size = %lld: must be 16, 32, 64, 128 or 256", (long long)ps);
    if (c->head_dim != 64 && c->head_dim != 128)
        return intfa_fail(INTFA_ERR_UNSUPPORTED, "cache.head_dim = %lld: supported are 64 and 128",
                          (long long)c->head_dim);
    const struct { const char *n; int64_t v, max; } f[3] = {
        {"num_pages", c->num_pages, INT32_MAX}, {"heads_kv", c->heads_kv, INTFA_MAX_GRID_YZ},
        {"num_slots", c->num_slots, INT32_MAX}};
    for (int i = 0; i < 3; ++i)
        if (f[i].v < 1 || f[i].v > f[i].max)
            return intfa_fail(f[i].v < 1 ? INTFA_ERR_INVALID_ARGUMENT : INTFA_ERR_UNSUPPORTED,
                              "cache.%s = %lld: must be 1 to %lld", f[i].n, (long long)f[i].v,
                              (long long)f[i].max);
    if ((unsigned)c->dtype > INTFA_DTYPE_BF16)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "cache.dtype = %d is not an intfa_dtype",
                          (int)c->dtype);
    if (check_pool) {
        intfa_status st = intfa_check_ptr("cache.pool", c->pool, INTFA_WS_ALIGN);
        if (st != INTFA_OK) return st;
    }
    const int64_t P = c->num_pages, H = c->heads_kv, D = c->head_dim;
    const int64_t sizes[5][4] = {{P, H, ps, D}, {P, H, ps, 4}, {P, H, D, ps}, {P, H, D, 4},
                                 {c->num_slots, H, ps, 2 * D}};
    size_t *const slot[5] = {&layout->k8, &layout->k_scale, &layout->v8, &layout->v_scale,
                             &layout->stage};
    return intfa_workspace_plan(5, sizes, slot, &layout->total);
}

intfa_status intfa_kv_check_query(const intfa_kv_cache *c, const intfa_kv_query *q, float *scale_log2)
{
    if (!q) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "query is NULL");
    if (q->heads_q < 1 || q->heads_q > INTFA_MAX_GRID_YZ || q->heads_q % c->heads_kv)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT,
                          "query.heads_q = %lld: must be a multiple of cache.heads_kv = %lld (and "
                          "at most %lld)", (long long)q->heads_q, (long long)c->heads_kv,
                          (long long)INTFA_MAX_GRID_YZ);
    if (q->seq_q < 1 || q->seq_q > 4096)
        return intfa_fail(q->seq_q < 1 ? INTFA_ERR_INVALID_ARGUMENT : INTFA_ERR_UNSUPPORTED,
                          "query.seq_q = %lld: must be 1 to 4096 (the decode kernel's rows)",
                          (long long)q->seq_q);
    if (q->causal != 0 && q->causal != 1)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "query.causal = %d: must be 0 or 1", q->causal);
    float s = q->softmax_scale;
    if (s == 0.0f) s = 1.0f / sqrtf((float)c->head_dim);
    if (!isfinite(s) || s < 0.0f)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT,
                          "query.softmax_scale = %g: must be finite and > 0 (0 selects 1/sqrt(head_dim))",
                          (double)q->softmax_scale);
    if ((q->heads_q / c->heads_kv) * q->seq_q > INTFA_MAX_GRID_YZ * 8 / c->heads_kv)
        return intfa_fail(INTFA_ERR_UNSUPPORTED,
                          "query: heads_q / heads_kv x seq_q = %lld rows per K/V head is more than "
                          "a launch can cover", (long long)(q->heads_q / c->heads_kv * q->seq_q));
    *scale_log2 = s * 1.44269504088896340736f;
    return INTFA_OK;
}

intfa_status intfa_kv_check_seqs(const intfa_kv_cache *c, const intfa_kv_seqs *s)
{
    if (!s) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "seqs is NULL");
    if (s->batch < 0 || s->batch > INTFA_MAX_GRID_YZ)
        return intfa_fail(s->batch < 0 ? INTFA_ERR_INVALID_ARGUMENT : INTFA_ERR_UNSUPPORTED,
                          "seqs.batch = %lld: must be 0 to %lld", (long long)s->batch,
                          (long long)INTFA_MAX_GRID_YZ);
    if (s->batch == 0) return INTFA_OK;
    if (!s->lens || !s->block_table)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "seqs.%s is NULL", !s->lens ? "lens" : "block_table");
    int64_t cells;
    if (s->pages_per_seq < 1 || __builtin_mul_overflow(s->pages_per_seq, c->page_size, &cells) ||
        cells > INTFA_MAX_SEQ || __builtin_mul_overflow(s->pages_per_seq, s->batch, &cells) ||
        cells > INT32_MAX)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT,
                          "seqs.pages_per_seq = %lld: must be >= 1, with pages_per_seq x page_size "
                          "<= %lld tokens and batch x pages_per_seq <= %d entries",
                          (long long)s->pages_per_seq, (long long)INTFA_MAX_SEQ, INT32_MAX);
    return INTFA_OK;
}

static int cmp_i32(const void *a, const void *b)
{
    const int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Two sequences' appends writing one page: the written pages sorted, neighbours compared. */
static intfa_status check_written_pages(const char *fn, const intfa_kv_cache *c,
                                        const intfa_kv_seqs *s, const int32_t *table,
                                        const int32_t *lens, const int32_t *cu_new)
{
    const int64_t ps = c->page_size;
    int64_t n = 0;
    for (int64_t b = 0; b < s->batch; ++b)
        if (cu_new[b + 1] > cu_new[b]) n += (lens[b] + (cu_new[b + 1] - cu_new[b]) - 1) / ps - lens[b] / ps + 1;
    if (n < 2) return INTFA_OK;
    int32_t *pages = malloc((size_t)n * sizeof *pages);
    if (!pages)
        return intfa_fail(INTFA_ERR_OUT_OF_MEMORY, "%s: out of host memory", fn);
    int64_t k = 0;
    for (int64_t b = 0; b < s->batch; ++b) {
        if (cu_new[b + 1] <= cu_new[b]) continue;
        const int64_t last = (lens[b] + (cu_new[b + 1] - cu_new[b]) - 1) / ps;
        for (int64_t i = lens[b] / ps; i <= last; ++i) pages[k++] = table[b * s->pages_per_seq + i];
    }
    qsort(pages, (size_t)n, sizeof *pages, cmp_i32);
    intfa_status st = INTFA_OK;
    for (int64_t i = 1; i < n && st == INTFA_OK; ++i)
        if (pages[i] == pages[i - 1])
            st = intfa_fail(INTFA_ERR_INVALID_ARGUMENT,
                            "%s: page %d is written by two appends of this call (a page belongs "
                            "to one sequence while it fills)", fn, (int)pages[i]);
    free(pages);
    return st;
}

intfa_status intfa_kv_check_arrays(const char *fn, const intfa_kv_cache *c, const intfa_kv_seqs *s,
                                   const int32_t *table, const int32_t *lens, const int32_t *slots,
                                   const int32_t *cu_new)
{
    const int64_t ps = c->page_size, cap = s->pages_per_seq * ps;
    if (cu_new && cu_new[0] != 0)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "%s: cu_new[0] = %d: must be 0", fn, (int)cu_new[0]);
    for (int64_t b = 0; b < s->batch; ++b) {
        if (cu_new && (slots[b] < 0 || slots[b] >= c->num_slots))
            return intfa_fail(INTFA_ERR_INVALID_ARGUMENT,
                              "%s: seqs.slots[%lld] = %d: must be 0 to cache.num_slots - 1 = %lld",
                              fn, (long long)b, (int)slots[b], (long long)c->num_slots - 1);
        int64_t len = lens[b];
        if (cu_new) {
            if (cu_new[b + 1] < cu_new[b])
                return intfa_fail(INTFA_ERR_INVALID_ARGUMENT,
                                  "%s: cu_new[%lld] = %d is less than cu_new[%lld] = %d: counts "
                                  "must not decrease", fn, (long long)(b + 1), (int)cu_new[b + 1],
                                  (long long)b, (int)cu_new[b]);
            len += (int64_t)cu_new[b + 1] - cu_new[b];
        }
        if (lens[b] < 0 || len > cap)
            return intfa_fail(INTFA_ERR_INVALID_ARGUMENT,
                              "%s: seqs.lens[%lld] = %d%s: must be 0 to pages_per_seq x page_size = "
                              "%lld%s", fn, (long long)b, (int)lens[b],
                              cu_new ? " plus the appended tokens" : "", (long long)cap,
                              cu_new ? " after the append" : "");
        const int64_t pages = (len + ps - 1) / ps;
        for (int64_t i = 0; i < pages; ++i) {
            const int32_t pg = table[b * s->pages_per_seq + i];
            if (pg < 0 || pg >= c->num_pages)
                return intfa_fail(INTFA_ERR_INVALID_ARGUMENT,
                                  "%s: seqs.block_table[%lld][%lld] = %d: not a page of the pool "
                                  "(0 to %lld)", fn, (long long)b, (long long)i, (int)pg,
                                  (long long)c->num_pages - 1);
        }
    }
    /* distinct slots (appends write their stages): a sort of a copy */
    if (cu_new && s->batch > 1) {
        int32_t *sorted = malloc((size_t)s->batch * sizeof *sorted);
        if (!sorted) return intfa_fail(INTFA_ERR_OUT_OF_MEMORY, "%s: out of host memory", fn);
        memcpy(sorted, slots, (size_t)s->batch * sizeof *sorted);
        qsort(sorted, (size_t)s->batch, sizeof *sorted, cmp_i32);
        int32_t dup = -1;
        for (int64_t i = 1; i < s->batch && dup < 0; ++i)
            if (sorted[i] == sorted[i - 1]) dup = sorted[i];
        free(sorted);
        if (dup >= 0)
            return intfa_fail(INTFA_ERR_INVALID_ARGUMENT,
                              "%s: seqs.slots holds %d twice: each sequence has its own slot", fn,
                              (int)dup);
    }
    if (cu_new && cu_new[s->batch] > INTFA_MAX_SEQ)
        return intfa_fail(INTFA_ERR_UNSUPPORTED, "%s: cu_new[%lld] = %d new tokens is too many", fn,
                          (long long)s->batch, (int)cu_new[s->batch]);
    return cu_new ? check_written_pages(fn, c, s, table, lens, cu_new) : INTFA_OK;
}

int64_t intfa_kv_rows(const intfa_kv_cache *c, const intfa_kv_query *q)
{
    return q->heads_q / c->heads_kv * q->seq_q;
}

static int64_t most_splits(int64_t max_len)
{
    const int64_t tiles = (max_len + INTFA_KV_TILE - 1) / INTFA_KV_TILE;
    const int64_t most = tiles / INTFA_KV_MIN_TILES_PER_SPLIT;
    return most < 1 ? 1 : most > INTFA_KV_MAX_SPLITS ? INTFA_KV_MAX_SPLITS : most;
}

int64_t intfa_kv_decode_splits(int64_t batch, int64_t blocks_per_split, int64_t max_len,
                               int64_t resident_blocks)
{
    const int64_t tiles = (max_len + INTFA_KV_TILE - 1) / INTFA_KV_TILE, most = most_splits(max_len);
    const char *env = getenv("INTFA_KV_SPLITS");
    if (env && *env) {
        const int64_t s = strtoll(env, NULL, 10);
        return s < 1 ? 1 : s > most ? most : s;
    }
    const int64_t base = batch * blocks_per_split, slots = resident_blocks > 0 ? resident_blocks : 1;
    int64_t best = 1, best_cost = INT64_MAX;
    for (int64_t s = 1; s <= most; ++s) {
        const int64_t per = (tiles + s - 1) / s, used = per > 0 ? (tiles + per - 1) / per : 1;
        /* waves of blocks x one block's time: its warps' tiles plus about one tile's worth of
         * Q quantization, warp merge and output */
        const int64_t waves = (base * used + slots - 1) / slots;
        const int64_t cost = waves * ((per + INTFA_KV_WARPS - 1) / INTFA_KV_WARPS + 1);
        if (cost < best_cost) {
            best = used;
            best_cost = cost;
        }
    }
    return best;
}

intfa_status intfa_kv_plan_ws(const intfa_kv_cache *c, const intfa_kv_seqs *s,
                              const intfa_kv_query *q, intfa_kv_ws *w)
{
    const int64_t B = s->batch, pages = B > 0 ? s->pages_per_seq : 0; /* checked when B > 0 */
    const int64_t arrays = B * pages + 3 * B + 1;
    int64_t rows = 0, splits = 0;
    if (q) {
        rows = intfa_kv_rows(c, q);
        /* the most splits any call of these sequences can take: the table's whole capacity */
        splits = most_splits(pages * c->page_size);
    }
    w->arrays_bytes = (size_t)arrays * sizeof(int32_t);
    w->splits_cap = splits;
    const int64_t sizes[3][4] = {{arrays, 4, 1, 1}, {B * c->heads_kv, rows, splits, c->head_dim * 4},
                                 {B * c->heads_kv, rows, splits, 8}};
    size_t *const slot[3] = {&w->arrays, &w->part_o, &w->part_ml};
    return intfa_workspace_plan(3, sizes, slot, &w->total);
}
