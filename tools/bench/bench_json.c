/* bench_json.c - the JSON results file of intfa-bench (bench_json.h). */
#include <math.h>

#include "bench_json.h"

/* A JSON string literal; NULL is null. */
static void str(FILE *f, const char *s)
{
    if (!s) {
        fputs("null", f);
        return;
    }
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; ++p) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

/* A JSON number; NaN and infinities (which JSON lacks) are null. */
static void num(FILE *f, double x)
{
    if (isfinite(x))
        fprintf(f, "%.9g", x);
    else
        fputs("null", f);
}

static void config(FILE *f, const bench_config *c)
{
    fprintf(f, "\"batch\": %lld, \"heads\": %lld, \"seq\": %lld, \"head_dim\": %lld, \"causal\": %d",
            (long long)c->batch, (long long)c->heads, (long long)c->seq, (long long)c->head_dim,
            c->causal);
}

void bench_json_write(FILE *f, const bench_meta *m, const bench_row *rows, int n,
                      const bench_acc_row *acc, int nacc)
{
    fputs("{\n  \"tool\": \"intfa-bench\",\n  \"device\": ", f);
    str(f, m->device);
    fputs(",\n  \"arch\": ", f);
    str(f, m->arch);
    fprintf(f, ",\n  \"sm_count\": %d,\n  \"l2_bytes\": %lld,\n  \"date\": ", m->sm_count, m->l2_bytes);
    str(f, m->date);
    fputs(",\n  \"sweep\": ", f);
    str(f, m->sweep);
    fputs(",\n  \"label\": ", f);
    str(f, m->label);
    fprintf(f, ",\n  \"reps\": %d,\n  \"warmup\": %d,\n  \"input_sets\": %d,\n  \"speed\": [",
            m->reps, m->warmup, m->input_sets);
    for (int i = 0; i < n; ++i) {
        fputs(i ? ",\n    {\"kernel\": " : "\n    {\"kernel\": ", f);
        str(f, rows[i].kernel);
        fputs(", ", f);
        config(f, &rows[i].cfg);
        fputs(", \"ms\": ", f);
        num(f, rows[i].ms);
        fputs(", \"tops\": ", f);
        num(f, rows[i].tops);
        fputs(", \"speedup_vs_fp16\": ", f);
        num(f, rows[i].speedup);
        fputs(", \"rel_l2_vs_fp16\": ", f);
        num(f, rows[i].check);
        fputc('}', f);
    }
    fputs(n ? "\n  ],\n  \"accuracy\": [" : "],\n  \"accuracy\": [", f);
    for (int i = 0; i < nacc; ++i) {
        const bench_acc_row *a = &acc[i];
        fputs(i ? ",\n    {\"inputs\": " : "\n    {\"inputs\": ", f);
        str(f, a->inputs);
        fputs(", \"method\": ", f);
        str(f, a->method);
        fputs(", ", f);
        config(f, &a->cfg);
        fprintf(f, ", \"rows\": %lld", a->rows);
        const char *names[6] = {"rel_l2", "cosine", "rel_l1", "rmse", "mean_rel", "max_abs"};
        const double vals[6] = {a->m.rel_l2, a->m.cosine, a->m.rel_l1, a->m.rmse, a->m.mean_rel,
                                a->m.max_abs};
        for (int k = 0; k < 6; ++k) {
            fprintf(f, ", \"%s\": ", names[k]);
            num(f, vals[k]);
        }
        fputc('}', f);
    }
    fputs(nacc ? "\n  ]\n}\n" : "]\n}\n", f);
}
