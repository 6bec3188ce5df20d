/* bench_accuracy.c - errors against exact attention (bench_accuracy.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "baseline.h"
#include "bench_accuracy.h"
#include "bench_inputs.h"

typedef enum { M_INT, M_FP16, M_FP8 } method_kind;

static const struct {
    const char *name;
    method_kind kind;
    intfa_p_quant pq;
    intfa_v_scale vs;
    intfa_format fmt; /* Q/K of the M_INT methods */
    int smooth;       /* K smoothing (M_INT) */
} methods[BENCH_ACC_METHODS] = {
    {"int8-pu8", M_INT, INTFA_PQ_U8_ROW, INTFA_VS_CHANNEL, INTFA_FMT_INT8, 0}, /* the default */
    {"int8-ps8", M_INT, INTFA_PQ_S8_127, INTFA_VS_CHANNEL, INTFA_FMT_INT8, 0}, /* paper's P */
    {"int8-paper", M_INT, INTFA_PQ_S8_127, INTFA_VS_HEAD, INTFA_FMT_INT8, 0},  /* paper's config */
    {"int8+smooth", M_INT, INTFA_PQ_U8_ROW, INTFA_VS_CHANNEL, INTFA_FMT_INT8, 1},
    {"int4", M_INT, INTFA_PQ_U8_ROW, INTFA_VS_CHANNEL, INTFA_FMT_INT4, 0},
    {"int4+smooth", M_INT, INTFA_PQ_U8_ROW, INTFA_VS_CHANNEL, INTFA_FMT_INT4, 1},
    {"fp16", M_FP16, INTFA_PQ_U8_ROW, INTFA_VS_CHANNEL, INTFA_FMT_INT8, 0},    /* attn_fwd_fp16.cu */
    {"fp8-e4m3", M_FP8, INTFA_PQ_U8_ROW, INTFA_VS_CHANNEL, INTFA_FMT_INT8, 0}, /* simulated on the CPU */
};

/* One problem: inputs [N][H][D] on the host (fp16 values as floats) and on the device. */
typedef struct acc_problem {
    bench_config cfg;
    float *x[3];
    CUdeviceptr dx[3], out;
    uint16_t *host; /* a downloaded output */
    int64_t rows[BENCH_ACC_ROWS];
} acc_problem;

/* The sampled query row i of every head, as the row index of that head's [N][D] output. */
static int64_t sampled_row(int64_t n, int i)
{
    return BENCH_ACC_ROWS > 1 ? (int64_t)i * (n - 1) / (BENCH_ACC_ROWS - 1) : 0;
}

/* Keys query row r sees: all, or 0..r when causal (N_q = N_kv). */
static int64_t visible(const bench_config *c, int64_t r) { return c->causal ? r + 1 : c->seq; }

/* Exact attention of the sampled rows: ref[(h * ROWS + i) * D + d]. */
static void exact_rows(const acc_problem *p, double *ref)
{
    const int64_t H = p->cfg.heads, D = p->cfg.head_dim;
    for (int64_t h = 0; h < H; ++h)
        for (int i = 0; i < BENCH_ACC_ROWS; ++i) {
            const int64_t r = p->rows[i];
            intfa_ref_attention_exact_head(p->x[0] + (r * H + h) * D, H * D, p->x[1] + h * D, H * D,
                                           p->x[2] + h * D, H * D, 1, visible(&p->cfg, r), (int)D,
                                           1.0 / sqrt((double)D), 0, ref + (h * BENCH_ACC_ROWS + i) * D,
                                           NULL);
        }
}

/* Simulated FP8 attention of the sampled rows, per-tensor scales over all of Q, K, V. */
static int fp8_rows(const acc_problem *p, float *got)
{
    const int64_t H = p->cfg.heads, D = p->cfg.head_dim, n = p->cfg.seq * H * D;
    float *x8[3], scale[3];
    for (int t = 0; t < 3; ++t) {
        x8[t] = malloc((size_t)n * sizeof *x8[t]);
        if (!x8[t]) {
            for (int u = 0; u < t; ++u) free(x8[u]);
            return -1;
        }
        scale[t] = intfa_ref_e4m3_scale(p->x[t], n);
        intfa_ref_quantize_e4m3(p->x[t], n, scale[t], x8[t]);
    }
    for (int64_t h = 0; h < H; ++h)
        for (int i = 0; i < BENCH_ACC_ROWS; ++i) {
            const int64_t r = p->rows[i];
            intfa_ref_attention_fp8_head(x8[0] + (r * H + h) * D, H * D, scale[0], x8[1] + h * D, H * D,
                                         scale[1], x8[2] + h * D, H * D, scale[2], 1,
                                         visible(&p->cfg, r), (int)D, 0.0f, 0, BENCH_ACC_FP8_BLOCK,
                                         got + (h * BENCH_ACC_ROWS + i) * D);
        }
    for (int t = 0; t < 3; ++t) free(x8[t]);
    return 0;
}

/* Runs a GPU method and gathers the sampled rows of its output into got. */
static intfa_status gpu_rows(intfa_context *ctx, acc_problem *p, int m, float *got)
{
    const intfa_cu *cu = ctx->cu;
    const bench_config *c = &p->cfg;
    const int64_t N = c->seq, H = c->heads, D = c->head_dim, n = N * H * D;
    const intfa_attn_problem pr = {1, H, H, N, N, D, 0.0f, c->causal, INTFA_DTYPE_FP16,
                                   methods[m].pq, methods[m].vs, methods[m].fmt, methods[m].smooth};
    intfa_tensor t[4];
    for (int i = 0; i < 3; ++i) t[i] = intfa_tensor_bnhd((void *)(uintptr_t)p->dx[i], N, H, D);
    t[3] = intfa_tensor_bnhd((void *)(uintptr_t)p->out, N, H, D);
    if (cu->MemsetD8(p->out, 0xff, (size_t)n * 2) != CUDA_SUCCESS) return INTFA_ERR_CUDA;
    intfa_status st = methods[m].kind == M_FP16
                          ? intfa_baseline_fp16_attention(ctx, &pr, &t[0], &t[1], &t[2], &t[3], NULL, NULL)
                          : intfa_attention(ctx, &pr, &t[0], &t[1], &t[2], &t[3], NULL, NULL, 0, NULL);
    if (st != INTFA_OK) return st;
    if (cu->CtxSynchronize() != CUDA_SUCCESS ||
        cu->MemcpyDtoH(p->host, p->out, (size_t)n * 2) != CUDA_SUCCESS)
        return INTFA_ERR_CUDA;
    for (int64_t h = 0; h < H; ++h)
        for (int i = 0; i < BENCH_ACC_ROWS; ++i)
            for (int64_t d = 0; d < D; ++d)
                got[(h * BENCH_ACC_ROWS + i) * D + d] =
                    intfa_ref_f16_to_f32(p->host[(p->rows[i] * H + h) * D + d]);
    return INTFA_OK;
}

/* An integer method simulated on the CPU with the C reference (the GPU refused it): Q, K per
 * token in the method's format (K smoothed when asked), V, the quantized algorithm on each
 * sampled row with the default tile's key block of the context's arch. Non-causal problems
 * only (the accuracy section's). 0, or -1. */
static int sim_rows(const intfa_context *ctx, const acc_problem *p, int m, float *got)
{
    const int64_t N = p->cfg.seq, H = p->cfg.heads, D = p->cfg.head_dim, npad = intfa_v_padded_len(N);
    if (p->cfg.causal) return -1;
    intfa_variant var;
    const int block_n = intfa_variant_default(INTFA_KIND_ATTN_FWD, ctx->arch, (int)D, methods[m].fmt, 0,
                                              INTFA_DTYPE_FP16, methods[m].pq, &var) == INTFA_OK
                            ? var.block_n : 64;
    int8_t *k8 = malloc((size_t)(N * D)), *vt = malloc((size_t)(npad * D)), q8[128];
    float *ks = malloc((size_t)N * sizeof *ks), vs[128], mean[128], qs;
    if (!k8 || !vt || !ks) {
        free(k8); free(vt); free(ks);
        return -1;
    }
    for (int64_t h = 0; h < H; ++h) {
        intfa_ref_mean_rows(p->x[1] + h * D, N, H * D, (int)D, mean);
        intfa_ref_quantize_rows_ex(p->x[1] + h * D, N, H * D, (int)D, methods[m].fmt,
                                   methods[m].smooth ? mean : NULL, k8, ks);
        intfa_ref_quantize_v(p->x[2] + h * D, N, H * D, (int)D, methods[m].vs, vt, vs);
        for (int i = 0; i < BENCH_ACC_ROWS; ++i) {
            intfa_ref_quantize_rows_ex(p->x[0] + (p->rows[i] * H + h) * D, 1, D, (int)D,
                                       methods[m].fmt, NULL, q8, &qs);
            intfa_ref_attention_quant_head(q8, &qs, k8, ks, vt, vs, 1, N, (int)D, 0.0f, 0,
                                           methods[m].pq, block_n,
                                           got + (h * BENCH_ACC_ROWS + i) * D, NULL);
        }
    }
    free(k8); free(vt); free(ks);
    return 0;
}

static void free_problem(const intfa_cu *cu, acc_problem *p)
{
    for (int t = 0; t < 3; ++t) {
        free(p->x[t]);
        if (p->dx[t]) cu->MemFree(p->dx[t]);
    }
    if (p->out) cu->MemFree(p->out);
    free(p->host);
}

/* Inputs of one problem on the host and the device. 0, or -1. */
static int make_problem(const intfa_cu *cu, bench_dist dist, acc_problem *p)
{
    const int64_t N = p->cfg.seq, H = p->cfg.heads, D = p->cfg.head_dim, n = N * H * D;
    for (int t = 0; t < 3; ++t) p->x[t] = malloc((size_t)n * sizeof(float));
    p->host = malloc((size_t)n * 2);
    if (!p->x[0] || !p->x[1] || !p->x[2] || !p->host) return -1;
    bench_make_inputs(dist, 1000 + 10 * (uint64_t)dist + (uint64_t)D + (uint64_t)N, N, H, (int)D,
                      p->x[0], p->x[1], p->x[2]);
    for (int t = 0; t < 3; ++t) {
        for (int64_t i = 0; i < n; ++i) p->host[i] = intfa_ref_f32_to_f16(p->x[t][i]);
        if (cu->MemAlloc(&p->dx[t], (size_t)n * 2) != CUDA_SUCCESS ||
            cu->MemcpyHtoD(p->dx[t], p->host, (size_t)n * 2) != CUDA_SUCCESS)
            return -1;
    }
    for (int i = 0; i < BENCH_ACC_ROWS; ++i) p->rows[i] = sampled_row(N, i);
    return cu->MemAlloc(&p->out, (size_t)n * 2) == CUDA_SUCCESS ? 0 : -1;
}

int bench_accuracy_run(intfa_context *ctx, const int64_t *seqs, int nseqs, const int *hds, int nhds,
                       bench_acc_row *rows, int cap, int *failures, FILE *log)
{
    int n = 0;
    for (int dist = 0; dist < BENCH_IN_COUNT; ++dist)
        for (int di = 0; di < nhds; ++di)
            for (int si = 0; si < nseqs && n + BENCH_ACC_METHODS <= cap; ++si) {
                acc_problem p;
                memset(&p, 0, sizeof p);
                p.cfg = (bench_config){1, BENCH_ACC_HEADS, seqs[si], hds[di], 0};
                const int64_t vals = p.cfg.heads * BENCH_ACC_ROWS * p.cfg.head_dim;
                double *ref = malloc((size_t)vals * sizeof *ref);
                float *got = malloc((size_t)vals * sizeof *got);
                if (!ref || !got || make_problem(ctx->cu, (bench_dist)dist, &p)) {
                    fprintf(stderr, "intfa-bench: accuracy: out of memory for N = %lld\n",
                            (long long)p.cfg.seq);
                    free(ref);
                    free(got);
                    free_problem(ctx->cu, &p);
                    return -1;
                }
                exact_rows(&p, ref);
                for (int m = 0; m < BENCH_ACC_METHODS; ++m) {
                    bench_acc_row *r = &rows[n++];
                    memset(r, 0, sizeof *r);
                    snprintf(r->inputs, sizeof r->inputs, "%s", bench_dist_name((bench_dist)dist));
                    snprintf(r->method, sizeof r->method, "%s", methods[m].name);
                    r->cfg = p.cfg;
                    r->rows = p.cfg.heads * BENCH_ACC_ROWS;
                    intfa_status st = methods[m].kind == M_FP8
                                          ? (fp8_rows(&p, got) ? INTFA_ERR_OUT_OF_MEMORY : INTFA_OK)
                                          : gpu_rows(ctx, &p, m, got);
                    if (st == INTFA_ERR_UNSUPPORTED && methods[m].kind == M_INT) {
                        /* this GPU or build cannot run it: the C reference's simulation, named so */
                        fprintf(log, "  accuracy: %s not available on the GPU (%s): simulated on the CPU\n",
                                methods[m].name, intfa_last_error());
                        snprintf(r->method, sizeof r->method, "%s-sim", methods[m].name);
                        st = sim_rows(ctx, &p, m, got) ? INTFA_ERR_OUT_OF_MEMORY : INTFA_OK;
                    }
                    if (st == INTFA_OK) intfa_ref_compare(got, ref, vals, &r->m);
                    if (st == INTFA_OK && r->m.nonfinite) {
                        ++*failures;
                        fprintf(stderr, "intfa-bench: accuracy %s %s N=%lld hd=%lld: %lld outputs "
                                "not written or not finite\n", r->inputs, r->method,
                                (long long)p.cfg.seq, (long long)p.cfg.head_dim,
                                (long long)r->m.nonfinite);
                    } else if (st != INTFA_OK) {
                        r->m.rel_l2 = r->m.cosine = r->m.rel_l1 = r->m.rmse = NAN;
                        r->m.mean_rel = r->m.max_abs = NAN;
                        ++*failures;
                        fprintf(stderr, "intfa-bench: accuracy %s %s N=%lld hd=%lld: %s: %s\n",
                                r->inputs, r->method, (long long)p.cfg.seq,
                                (long long)p.cfg.head_dim, intfa_status_string(st), intfa_last_error());
                    }
                }
                fprintf(log, "  accuracy: %-10s N=%-5lld hd=%-3lld done\n",
                        bench_dist_name((bench_dist)dist), (long long)p.cfg.seq,
                        (long long)p.cfg.head_dim);
                fflush(log);
                free(ref);
                free(got);
                free_problem(ctx->cu, &p);
            }
    return n;
}
