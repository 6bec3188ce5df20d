/* prepare.c - a call's kernels fetched in parallel and loaded together (see prepare.h). */
#include <stdlib.h>
#include <stdio.h>

#include "error.h"
#include "kernel_store.h"
#include "parallel.h"
#include "prepare.h"
#include "render.h"
#include "select.h"

typedef struct fetch_job {
    const intfa_variant *vs;
    intfa_binary_getter get;
    void *user;
    void **bins;
    size_t *sizes;
    intfa_status *status;
    char (*message)[512];
} fetch_job;

static void fetch_one(void *arg, size_t i)
{
    fetch_job *j = arg;
    j->bins[i] = NULL;
    j->sizes[i] = 0;
    j->status[i] = j->get(j->user, &j->vs[i], &j->bins[i], &j->sizes[i]);
    if (j->status[i] != INTFA_OK) snprintf(j->message[i], sizeof j->message[i], "%s", intfa_last_error());
}

intfa_status intfa_fetch_binaries(const intfa_variant *vs, size_t n, int threads,
                                  intfa_binary_getter get, void *user, void **bins, size_t *sizes)
{
    if (n == 0) return INTFA_OK;
    intfa_status *status = calloc(n, sizeof *status);
    char (*message)[512] = calloc(n, sizeof *message);
    if (!status || !message) {
        free(status);
        free(message);
        for (size_t i = 0; i < n; i++) bins[i] = NULL;
        return intfa_fail(INTFA_ERR_OUT_OF_MEMORY, "out of host memory");
    }
    fetch_job j = {vs, get, user, bins, sizes, status, message};
    intfa_parallel(n, threads, fetch_one, &j);
    intfa_status st = INTFA_OK;
    for (size_t i = 0; i < n && st == INTFA_OK; i++)
        if (status[i] != INTFA_OK) st = intfa_fail(status[i], "%s", message[i]);
    free(status);
    free(message);
    return st;
}

static intfa_status store_getter(void *user, const intfa_variant *v, void **bin, size_t *size)
{
    return intfa_kernel_binary(user, v, bin, size);
}

intfa_status intfa_ctx_prepare(intfa_context *ctx, const intfa_variant *vs, size_t n)
{
    /* the common case, every kernel loaded, allocates nothing */
    size_t unloaded = 0;
    for (size_t i = 0; i < n; i++) unloaded += !intfa_ctx_has_module(ctx, &vs[i]);
    if (unloaded == 0) return INTFA_OK;
    intfa_variant *missing = calloc(n, sizeof *missing);
    void **bins = calloc(n, sizeof *bins);
    size_t *sizes = calloc(n, sizeof *sizes);
    intfa_status st = INTFA_OK;
    if (!missing || !bins || !sizes) st = intfa_fail(INTFA_ERR_OUT_OF_MEMORY, "out of host memory");
    size_t m = 0;
    for (size_t i = 0; i < n && st == INTFA_OK; i++) {
        int dup = intfa_ctx_has_module(ctx, &vs[i]);
        for (size_t k = 0; k < m && !dup; k++) dup = intfa_variant_same(&missing[k], &vs[i]);
        if (!dup) missing[m++] = vs[i];
    }
    if (st == INTFA_OK && m > 0) {
        /* $INTFA_COMPILE_JOBS (1..INTFA_MAX_JOBS) bounds the threads; 1 compiles one after
         * another (the old behaviour, for comparison) */
        const char *env = getenv("INTFA_COMPILE_JOBS");
        const int asked = env ? atoi(env) : 0;
        const int jobs = asked >= 1 && asked <= INTFA_MAX_JOBS ? asked : intfa_default_jobs();
        st = intfa_fetch_binaries(missing, m, (int)m < jobs ? (int)m : jobs, store_getter, ctx, bins, sizes);
        for (size_t i = 0; i < m && st == INTFA_OK; i++) st = intfa_ctx_load_binary(ctx, &missing[i], bins[i]);
        for (size_t i = 0; i < m; i++) free(bins[i]);
    }
    free(missing);
    free(bins);
    free(sizes);
    return st;
}

intfa_status intfa_dropin_quant_kernels(intfa_arch arch, const intfa_attn_problem *p,
                                        intfa_variant out[2])
{
    intfa_status st = intfa_variant_default(INTFA_KIND_QUANT_QK, arch, (int)p->head_dim,
                                            p->qk_format, 0, p->dtype, INTFA_PQ_U8_ROW, &out[0]);
    if (st == INTFA_OK)
        st = intfa_variant_default(INTFA_KIND_QUANT_V, arch, (int)p->head_dim, INTFA_FMT_INT8, 0,
                                   p->dtype, INTFA_PQ_U8_ROW, &out[1]);
    return st;
}

intfa_status intfa_dropin_kernels(intfa_context *ctx, const intfa_attn_problem *p,
                                  intfa_variant out[3], size_t *n)
{
    intfa_variant quant[2], attn;
    intfa_status st = intfa_dropin_quant_kernels(ctx->arch, p, quant);
    if (st == INTFA_OK) st = intfa_select_attention(ctx, p, &attn);
    /* INT8: the attention kernel quantizes Q itself, which the warp-specialized family (Q by
     * TMA) does not: the drop-in runs the one-warpgroup kernel in its place */
    if (st == INTFA_OK && p->qk_format == INTFA_FMT_INT8 && intfa_variant_uses_ws(&attn))
        st = intfa_variant_default(INTFA_KIND_ATTN_FWD, attn.arch, attn.head_dim, attn.qk_format,
                                   attn.causal, attn.dtype, attn.p_quant, &attn);
    *n = 0;
    if (st != INTFA_OK) return st;
    /* INT8: the K/V pass; INT4: Q, K and V with the quant_qk module's kernels; pf16: K alone */
    const int pass = p->qk_format == INTFA_FMT_INT8 && p->p_quant != INTFA_PQ_F16;
    out[(*n)++] = quant[pass ? 1 : 0];
    out[(*n)++] = attn;
    return st;
}
