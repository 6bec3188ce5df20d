/* intfa-bench: speed and accuracy of the INT8 attention, side by side with our FP16
 * FlashAttention baseline, in one run (docs/BENCH.md says what is measured and how to read it).
 *
 *   intfa-bench [--sweep default|tiny] [--hd 64|128|all] [--n N,...] [--causal 0|1|both]
 *               [--reps R] [--warmup W] [--accuracy] [--no-speed] [--csv FILE] [--json FILE]
 *               [--accuracy-csv FILE] [--label TEXT]
 *
 * Speed: every configuration of the sweep, every kernel (fp16 baseline, int8 attention,
 * quantization, drop-in), median of R CUDA-event timings after W warm-up runs, inputs rotated
 * through enough sets to exceed twice the L2 cache. Accuracy (--accuracy): errors against exact
 * FP64 attention on sampled rows. Exits 77 (with "SKIP: ...") where no GPU is present, 1 when
 * a kernel failed, 2 on a bad argument.
 *
 * Every .c file in tools/ is its own executable, so the bench's modules in tools/bench/ are compiled
 * into this one by inclusion (the tests include the modules they test the same way). */
#include <stdlib.h>
#include <time.h>

#include "bench/bench_accuracy.c"
#include "bench/bench_inputs.c"
#include "bench/bench_json.c"
#include "bench/bench_options.c"
#include "bench/bench_report.c"
#include "bench/bench_speed.c"
#include "bench/bench_sweep.c"

#define ACC_MAX_SEQ 4096 /* the exact reference runs on the CPU: accuracy up to N = 4k */

/* Writes a results file with fn; 0, or -1 with a message. */
static int write_file(const char *path, void (*fn)(FILE *, const void *), const void *arg)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return -1;
    }
    fn(f, arg);
    if (fclose(f) != 0) {
        perror(path);
        return -1;
    }
    return 0;
}

typedef struct results {
    bench_meta meta;
    bench_row *rows;
    int nrows;
    bench_acc_row *acc;
    int nacc;
} results;

static void put_csv(FILE *f, const void *a)
{
    const results *r = a;
    bench_csv_write(f, r->rows, r->nrows);
}
static void put_acc_csv(FILE *f, const void *a)
{
    const results *r = a;
    bench_acc_csv_write(f, r->acc, r->nacc);
}
static void put_json(FILE *f, const void *a)
{
    const results *r = a;
    bench_json_write(f, &r->meta, r->rows, r->nrows, r->acc, r->nacc);
}

/* The accuracy section's lengths: the sweep's up to ACC_MAX_SEQ, else its shortest. */
static int accuracy_seqs(const bench_sweep *s, int64_t *out)
{
    int n = 0;
    int64_t shortest = s->seqs[0];
    for (int i = 0; i < s->nseqs; ++i) {
        if (s->seqs[i] <= ACC_MAX_SEQ) out[n++] = s->seqs[i];
        if (s->seqs[i] < shortest) shortest = s->seqs[i];
    }
    if (n == 0) out[n++] = shortest < ACC_MAX_SEQ ? shortest : ACC_MAX_SEQ;
    return n;
}

int main(int argc, char **argv)
{
    bench_options o;
    char err[256];
    const int prc = bench_parse_options(argc, argv, &o, err, sizeof err);
    if (prc == 1) return 0;
    if (prc) {
        fprintf(stderr, "intfa-bench: %s\n", err);
        return 2;
    }
    intfa_context *ctx = NULL;
    intfa_status st = intfa_create(&ctx, 0);
    if (st == INTFA_ERR_NO_DRIVER || st == INTFA_ERR_NO_DEVICE) {
        printf("SKIP: intfa-bench needs a GPU: %s (%s)\n", intfa_status_string(st), intfa_last_error());
        return 77;
    }
    if (st != INTFA_OK || ctx->cu->CtxSetCurrent(ctx->cuctx) != CUDA_SUCCESS) {
        fprintf(stderr, "intfa-bench: intfa_create: %s: %s\n", intfa_status_string(st), intfa_last_error());
        return 1;
    }
    results r = {{0}, NULL, 0, NULL, 0};
    char date[32];
    const time_t now = time(NULL);
    struct tm tm;
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
    int l2 = 0;
    ctx->cu->DeviceGetAttribute(&l2, CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE, ctx->device);
    r.meta = (bench_meta){ctx->device_name, intfa_arch_name(ctx->arch), ctx->sm_count, l2, date,
                          o.sweep_name, o.label, o.reps, o.warmup, 0};
    printf("intfa-bench %s: %s (%s, %d SMs, L2 %.1f MB), sweep %s, %s\n", intfa_version_string(),
           ctx->device_name, intfa_arch_name(ctx->arch), ctx->sm_count, l2 / 1e6, o.sweep_name, date);

    int failures = 0, fatal = 0;
    bench_config cfgs[BENCH_MAX_CONFIGS];
    const int ncfg = bench_sweep_configs(&o.sweep, cfgs, BENCH_MAX_CONFIGS);
    if (o.speed) {
        r.rows = calloc((size_t)ncfg * BENCH_KERNELS, sizeof *r.rows);
        r.nrows = r.rows ? bench_speed_run(ctx, cfgs, ncfg, o.reps, o.warmup, r.rows,
                                           ncfg * BENCH_KERNELS, &r.meta.input_sets, &failures, stdout)
                         : -1;
        fatal |= r.nrows < 0;
        if (r.nrows > 0) {
            printf("\nspeed (median ms; TOPS = 4*B*H*N^2*D / time, half when causal; x fp16 = speedup"
                   " over our FP16 kernel; err = rel L2 of the int8 output vs the fp16 output):\n");
            bench_table_print(stdout, r.rows, r.nrows);
        }
    }
    if (o.accuracy && !fatal) {
        int64_t seqs[16];
        const int nseqs = accuracy_seqs(&o.sweep, seqs);
        const int cap = BENCH_IN_COUNT * o.sweep.nhead_dims * nseqs * BENCH_ACC_METHODS;
        r.acc = calloc((size_t)cap, sizeof *r.acc);
        r.nacc = r.acc ? bench_accuracy_run(ctx, seqs, nseqs, o.sweep.head_dims, o.sweep.nhead_dims,
                                            r.acc, cap, &failures, stdout)
                       : -1;
        fatal |= r.nacc < 0;
        if (r.nacc > 0) {
            printf("\naccuracy against exact attention (FP64), %d heads x %d sampled rows, batch 1:\n",
                   BENCH_ACC_HEADS, BENCH_ACC_ROWS);
            bench_acc_table_print(stdout, r.acc, r.nacc);
        }
    }
    if (r.nrows < 0) r.nrows = 0;
    if (r.nacc < 0) r.nacc = 0;
    if ((o.csv && write_file(o.csv, put_csv, &r)) || (o.json && write_file(o.json, put_json, &r)) ||
        (o.accuracy_csv && write_file(o.accuracy_csv, put_acc_csv, &r)))
        fatal = 1;
    free(r.rows);
    free(r.acc);
    intfa_destroy(ctx);
    if (failures) fprintf(stderr, "intfa-bench: %d kernel run(s) failed\n", failures);
    return fatal || failures ? 1 : 0;
}
