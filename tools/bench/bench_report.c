/* bench_report.c - derived numbers, tables and CSV of intfa-bench (bench_report.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench_report.h"

static int same_config(const bench_config *a, const bench_config *b)
{
    return a->batch == b->batch && a->heads == b->heads && a->seq == b->seq &&
           a->head_dim == b->head_dim && a->causal == b->causal;
}

static const bench_row *find(const bench_row *rows, int n, const bench_config *c, const char *kernel)
{
    for (int i = 0; i < n; ++i)
        if (same_config(&rows[i].cfg, c) && strcmp(rows[i].kernel, kernel) == 0) return &rows[i];
    return NULL;
}

void bench_derive(bench_row *rows, int n)
{
    for (int i = 0; i < n; ++i) {
        bench_row *r = &rows[i];
        const int attention = strcmp(r->kernel, BENCH_K_QUANT) != 0;
        const bench_row *base = find(rows, n, &r->cfg, BENCH_K_FP16);
        const int timed = r->ms > 0 && isfinite(r->ms);
        r->tops = attention && timed ? bench_attn_ops(&r->cfg) / r->ms * 1e-9 : NAN;
        r->speedup = attention && timed && base ? base->ms / r->ms : NAN;
    }
}

/* A CSV number: nothing for NaN. */
static void csv_num(FILE *f, const char *fmt, double x)
{
    if (!isnan(x)) fprintf(f, fmt, x);
}

void bench_csv_write(FILE *f, const bench_row *rows, int n)
{
    fprintf(f, "%s\n", BENCH_CSV_HEADER);
    for (int i = 0; i < n; ++i) {
        const bench_row *r = &rows[i];
        fprintf(f, "%s,%lld,%lld,%lld,%lld,%d,", r->kernel, (long long)r->cfg.batch,
                (long long)r->cfg.heads, (long long)r->cfg.seq, (long long)r->cfg.head_dim,
                r->cfg.causal);
        csv_num(f, "%.6f", r->ms);
        fputc(',', f);
        csv_num(f, "%.2f", r->tops);
        fputc(',', f);
        csv_num(f, "%.4f", r->speedup);
        fputc(',', f);
        csv_num(f, "%.3e", r->check);
        fputc('\n', f);
    }
}

/* The fields of one CSV line of len characters: field k is [start[k], end[k]). Returns the
 * count, or -1 beyond max. */
static int split(const char *line, size_t len, const char **start, const char **end, int max)
{
    int n = 0;
    const char *p = line, *stop = line + len;
    for (;;) {
        if (n == max) return -1;
        start[n] = p;
        while (p < stop && *p != ',') p++;
        end[n++] = p;
        if (p == stop) return n;
        p++;
    }
}

static int field_ll(const char *s, const char *e, long long *out)
{
    char *stop;
    if (s == e) return -1;
    *out = strtoll(s, &stop, 10);
    return stop == e ? 0 : -1;
}

static int field_d(const char *s, const char *e, double *out)
{
    char *stop;
    if (s == e) {
        *out = NAN;
        return 0;
    }
    *out = strtod(s, &stop);
    return stop == e && isfinite(*out) ? 0 : -1;
}

int bench_csv_parse(const char *line, bench_row *row)
{
    const char *s[11], *e[11];
    const size_t len = strcspn(line, "\r\n");
    if (strspn(line + len, "\r\n") != strlen(line + len) || split(line, len, s, e, 11) != 10)
        return -1;
    bench_row r;
    memset(&r, 0, sizeof r);
    const size_t klen = (size_t)(e[0] - s[0]);
    if (klen == 0 || klen >= sizeof r.kernel) return -1;
    memcpy(r.kernel, s[0], klen);
    long long v[5];
    for (int i = 0; i < 5; ++i)
        if (field_ll(s[1 + i], e[1 + i], &v[i])) return -1;
    if (v[4] != 0 && v[4] != 1) return -1;
    r.cfg = (bench_config){v[0], v[1], v[2], v[3], (int)v[4]};
    if (field_d(s[6], e[6], &r.ms) || field_d(s[7], e[7], &r.tops) ||
        field_d(s[8], e[8], &r.speedup) || field_d(s[9], e[9], &r.check))
        return -1;
    *row = r;
    return 0;
}

/* A table cell: x in fmt, or "-" for NaN and missing values. */
static void cell(FILE *f, int width, const char *fmt, double x)
{
    char num[32];
    if (isnan(x))
        snprintf(num, sizeof num, "-");
    else
        snprintf(num, sizeof num, fmt, x);
    fprintf(f, " %*s", width, num);
}

static void int4_table_print(FILE *f, const bench_row *rows, int n)
{
    fprintf(f, "\nINT4 Q/K (x int8: the INT8 kernel's time over the INT4 kernel's; int4+q: the drop-in; "
               "+smooth: the drop-in with K smoothing):\n");
    fprintf(f, "%6s %4s %4s %3s %6s | %9s | %9s %7s %6s %6s %8s | %10s %7s | %11s %7s\n", "N", "B",
            "H", "hd", "mask", "int8 ms", "int4 ms", "TOPS", "x fp16", "x int8", "err",
            "int4+q ms", "TOPS", "+smooth ms", "TOPS");
    const bench_row none = {.ms = NAN, .tops = NAN, .speedup = NAN, .check = NAN};
    for (int i = 0; i < n; ++i) {
        if (strcmp(rows[i].kernel, BENCH_K_INT4) != 0) continue; /* one line per INT4 row */
        const bench_config *c = &rows[i].cfg;
        const bench_row *k[4] = {find(rows, n, c, BENCH_K_INT8), &rows[i],
                                 find(rows, n, c, BENCH_K_DROPIN_INT4),
                                 find(rows, n, c, BENCH_K_DROPIN_SMOOTH)};
        for (int j = 0; j < 4; ++j)
            if (!k[j]) k[j] = &none;
        fprintf(f, "%6lld %4lld %4lld %3lld %6s |", (long long)c->seq, (long long)c->batch,
                (long long)c->heads, (long long)c->head_dim, c->causal ? "causal" : "full");
        cell(f, 9, "%.3f", k[0]->ms);
        fputs(" |", f);
        cell(f, 9, "%.3f", k[1]->ms);
        cell(f, 7, "%.1f", k[1]->tops);
        cell(f, 6, "%.2fx", k[1]->speedup);
        cell(f, 6, "%.2fx", k[0]->ms / k[1]->ms);
        cell(f, 8, "%.1e", k[1]->check);
        fputs(" |", f);
        cell(f, 10, "%.3f", k[2]->ms);
        cell(f, 7, "%.1f", k[2]->tops);
        fputs(" |", f);
        cell(f, 11, "%.3f", k[3]->ms);
        cell(f, 7, "%.1f", k[3]->tops);
        fputc('\n', f);
    }
}

void bench_table_print(FILE *f, const bench_row *rows, int n)
{
    fprintf(f, "%6s %4s %4s %3s %6s | %9s %7s | %9s %7s %6s %8s | %9s | %10s %7s %6s\n", "N",
            "B", "H", "hd", "mask", "fp16 ms", "TFLOPS", "int8 ms", "TOPS", "x fp16", "err", "quant ms",
            "drop-in ms", "TOPS", "x fp16");
    const bench_row none = {.ms = NAN, .tops = NAN, .speedup = NAN, .check = NAN};
    for (int i = 0; i < n; ++i) {
        int first = 1; /* one line per configuration, at its first row */
        for (int j = 0; j < i && first; ++j) first = !same_config(&rows[j].cfg, &rows[i].cfg);
        if (!first) continue;
        const bench_config *c = &rows[i].cfg;
        const bench_row *k[4] = {find(rows, n, c, BENCH_K_FP16), find(rows, n, c, BENCH_K_INT8),
                                 find(rows, n, c, BENCH_K_QUANT), find(rows, n, c, BENCH_K_DROPIN)};
        for (int j = 0; j < 4; ++j)
            if (!k[j]) k[j] = &none;
        fprintf(f, "%6lld %4lld %4lld %3lld %6s |", (long long)c->seq, (long long)c->batch,
                (long long)c->heads, (long long)c->head_dim, c->causal ? "causal" : "full");
        cell(f, 9, "%.3f", k[0]->ms);
        cell(f, 7, "%.1f", k[0]->tops);
        fputs(" |", f);
        cell(f, 9, "%.3f", k[1]->ms);
        cell(f, 7, "%.1f", k[1]->tops);
        cell(f, 6, "%.2fx", k[1]->speedup);
        cell(f, 8, "%.1e", k[1]->check);
        fputs(" |", f);
        cell(f, 9, "%.3f", k[2]->ms);
        fputs(" |", f);
        cell(f, 10, "%.3f", k[3]->ms);
        cell(f, 7, "%.1f", k[3]->tops);
        cell(f, 6, "%.2fx", k[3]->speedup);
        fputc('\n', f);
    }
    for (int i = 0; i < n; ++i)
        if (strcmp(rows[i].kernel, BENCH_K_INT4) == 0) {
            int4_table_print(f, rows, n);
            break;
        }
}

void bench_acc_csv_write(FILE *f, const bench_acc_row *rows, int n)
{
    fprintf(f, "%s\n", BENCH_ACC_CSV_HEADER);
    for (int i = 0; i < n; ++i) {
        const bench_acc_row *r = &rows[i];
        fprintf(f, "%s,%s,%lld,%lld,%lld,%lld,%d,%lld", r->inputs, r->method, (long long)r->cfg.batch,
                (long long)r->cfg.heads, (long long)r->cfg.seq, (long long)r->cfg.head_dim,
                r->cfg.causal, r->rows);
        const double m[6] = {r->m.rel_l2, r->m.cosine, r->m.rel_l1, r->m.rmse, r->m.mean_rel,
                             r->m.max_abs};
        for (int k = 0; k < 6; ++k) {
            fputc(',', f);
            csv_num(f, k == 1 ? "%.8f" : "%.6e", m[k]);
        }
        fputc('\n', f);
    }
}

void bench_acc_table_print(FILE *f, const bench_acc_row *rows, int n)
{
    fprintf(f, "%-10s %-15s %6s %3s %6s %5s | %9s %10s %9s %9s %9s\n", "inputs", "method", "N",
            "hd", "mask", "rows", "rel L2", "cosine", "rel L1", "RMSE", "MRE");
    for (int i = 0; i < n; ++i) {
        const bench_acc_row *r = &rows[i];
        fprintf(f, "%-10s %-15s %6lld %3lld %6s %5lld |", r->inputs, r->method,
                (long long)r->cfg.seq, (long long)r->cfg.head_dim, r->cfg.causal ? "causal" : "full",
                r->rows);
        cell(f, 9, "%.3e", r->m.rel_l2);
        cell(f, 10, "%.7f", r->m.cosine);
        cell(f, 9, "%.3e", r->m.rel_l1);
        cell(f, 9, "%.3e", r->m.rmse);
        cell(f, 9, "%.3e", r->m.mean_rel);
        fputc('\n', f);
    }
}
