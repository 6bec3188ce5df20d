/* test_bench_report.c - intfa-bench's CPU parts: the sweep (B*N = 16k rule), the operation
 * count, the derived TOPS and speedups, the CSV format (exact text and parse back), the JSON
 * (valid, no NaN) and the command line. The modules are compiled in here, as in the tool. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../tools/bench/bench_json.c"
#include "../tools/bench/bench_options.c"
#include "../tools/bench/bench_report.c"
#include "../tools/bench/bench_sweep.c"

/* What fn writes to a FILE, as a malloc'd string. */
static char *capture(void (*fn)(FILE *, const void *), const void *arg)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    fn(f, arg);
    assert_int_equal(fclose(f), 0);
    return buf;
}

/* ------------------------------------------------------------------ sweep and ops */

static void test_ops(void **state)
{
    (void)state;
    bench_config c = {1, 1, 1, 1, 0};
    assert_true(bench_attn_ops(&c) == 4.0);
    c = (bench_config){1, 32, 16384, 128, 0};
    assert_true(bench_attn_ops(&c) == 4.0 * 32 * 16384.0 * 16384.0 * 128); /* 4.398e12 */
    c.causal = 1;
    assert_true(bench_attn_ops(&c) == 2.0 * 32 * 16384.0 * 16384.0 * 128);
    /* linear in B, H and D, quadratic in N */
    c = (bench_config){3, 5, 100, 64, 0};
    bench_config d = {6, 5, 200, 64, 0};
    assert_true(bench_attn_ops(&d) == 8 * bench_attn_ops(&c));
}

static void test_batch_rule(void **state)
{
    (void)state;
    assert_int_equal(bench_batch_for(16384, 1024), 16);
    assert_int_equal(bench_batch_for(16384, 16384), 1);
    assert_int_equal(bench_batch_for(16384, 32768), 1); /* never 0: one longer sequence */
    assert_int_equal(bench_batch_for(16384, 3000), 5);
    assert_int_equal(bench_batch_for(16384, 0), 1);
}

static void test_default_sweep(void **state)
{
    (void)state;
    bench_sweep s;
    assert_int_equal(bench_sweep_named("default", &s), 0);
    bench_config c[BENCH_MAX_CONFIGS];
    assert_int_equal(bench_sweep_configs(&s, c, BENCH_MAX_CONFIGS), 24);
    int seen[2][2] = {{0}};
    for (int i = 0; i < 24; ++i) {
        assert_int_equal(c[i].heads, 32);
        assert_true(c[i].head_dim == 64 || c[i].head_dim == 128);
        assert_true(c[i].seq >= 1024 && c[i].seq <= 32768 && (c[i].seq & (c[i].seq - 1)) == 0);
        if (c[i].seq <= 16384)
            assert_int_equal(c[i].batch * c[i].seq, 16384);
        else
            assert_int_equal(c[i].batch, 1);
        seen[c[i].head_dim == 128][c[i].causal]++;
    }
    for (int d = 0; d < 2; ++d)
        for (int k = 0; k < 2; ++k) assert_int_equal(seen[d][k], 6);
    /* head_dim outermost, then causal, then N */
    assert_true(c[0].head_dim == 64 && c[0].causal == 0 && c[0].seq == 1024 && c[0].batch == 16);
    assert_true(c[5].seq == 32768 && c[6].causal == 1 && c[12].head_dim == 128);
    assert_int_equal(bench_sweep_configs(&s, c, 5), 5); /* cap */

    assert_int_equal(bench_sweep_named("tiny", &s), 0);
    assert_int_equal(bench_sweep_configs(&s, c, BENCH_MAX_CONFIGS), 8);
    for (int i = 0; i < 8; ++i) assert_int_equal(c[i].batch * c[i].seq, 1024);
    assert_int_equal(bench_sweep_named("huge", &s), -1);
}

/* ------------------------------------------------------------------ options */

/* Parses "intfa-bench <line>" split at spaces; the options point into a static copy. */
static int parse(const char *line, bench_options *o, char *err)
{
    static char copy[512];
    char *argv[32];
    int argc = 0;
    snprintf(copy, sizeof copy, "intfa-bench %s", line);
    for (char *t = strtok(copy, " "); t && argc < 32; t = strtok(NULL, " ")) argv[argc++] = t;
    err[0] = '\0';
    return bench_parse_options(argc, argv, o, err, 256);
}

static void test_options(void **state)
{
    (void)state;
    bench_options o;
    char err[256];
    assert_int_equal(parse("", &o, err), 0);
    assert_int_equal(o.reps, 30);
    assert_int_equal(o.warmup, 5);
    assert_true(o.speed && !o.accuracy && !o.csv && !o.json);
    assert_int_equal(o.sweep.nseqs, 6);

    assert_int_equal(parse("--sweep tiny --hd 128 --causal 1 --n 64,4096 --reps 7 --warmup 0 "
                           "--accuracy --csv a.csv --json b.json --accuracy-csv c.csv --label x",
                           &o, err),
                     0);
    assert_string_equal(o.sweep_name, "tiny");
    assert_true(o.sweep.nhead_dims == 1 && o.sweep.head_dims[0] == 128);
    assert_true(o.sweep.ncausals == 1 && o.sweep.causals[0] == 1);
    assert_true(o.sweep.nseqs == 2 && o.sweep.seqs[0] == 64 && o.sweep.seqs[1] == 4096);
    assert_true(o.reps == 7 && o.warmup == 0 && o.accuracy);
    assert_string_equal(o.csv, "a.csv");
    assert_string_equal(o.json, "b.json");
    assert_string_equal(o.accuracy_csv, "c.csv");
    assert_string_equal(o.label, "x");
    assert_int_equal(o.sweep.heads, 4); /* the tiny sweep's */

    static const struct {
        const char *line, *word;
    } bad[] = {
        {"--hd 96", "--hd 96"},       {"--causal 2", "--causal 2"}, {"--n 0", "--n 0"},
        {"--n 1024,", "--n 1024,"},   {"--n x", "--n x"},           {"--reps 0", "--reps 0"},
        {"--reps 3x", "--reps 3x"},   {"--warmup -1", "--warmup -1"}, {"--sweep big", "--sweep big"},
        {"--heads 0", "--heads 0"},   {"--tokens -5", "--tokens -5"}, {"--csv", "--csv needs"},
        {"--frobnicate", "--frobnicate"}, {"--no-speed", "nothing to do"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
        assert_int_equal(parse(bad[i].line, &o, err), 2);
        if (!strstr(err, bad[i].word)) fail_msg("\"%s\": message \"%s\" lacks \"%s\"", bad[i].line, err, bad[i].word);
    }
    assert_int_equal(parse("--no-speed --accuracy", &o, err), 0);
    assert_true(!o.speed && o.accuracy);
}

/* ------------------------------------------------------------------ derived numbers */

static bench_row row(const char *k, bench_config c, double ms)
{
    bench_row r;
    memset(&r, 0, sizeof r);
    snprintf(r.kernel, sizeof r.kernel, "%s", k);
    r.cfg = c;
    r.ms = ms;
    r.tops = r.speedup = r.check = NAN;
    return r;
}

static void test_derive(void **state)
{
    (void)state;
    const bench_config c = {16, 32, 1024, 128, 0}, c2 = {16, 32, 1024, 128, 1};
    bench_row r[6] = {row(BENCH_K_FP16, c, 2.0), row(BENCH_K_INT8, c, 1.0), row(BENCH_K_QUANT, c, 0.25),
                      row(BENCH_K_DROPIN, c, 1.25), row(BENCH_K_INT8, c2, NAN),
                      row(BENCH_K_DROPIN, c2, 0.5)};
    bench_derive(r, 6);
    const double ops = 4.0 * 16 * 32 * 1024.0 * 1024.0 * 128;
    assert_true(fabs(r[0].tops - ops / 2.0e-3 / 1e12) < 1e-9);
    assert_true(fabs(r[1].tops - ops / 1.0e-3 / 1e12) < 1e-9);
    assert_true(r[0].speedup == 1.0 && r[1].speedup == 2.0 && r[3].speedup == 1.6);
    assert_true(isnan(r[2].tops) && isnan(r[2].speedup)); /* quantization is not attention */
    assert_true(isnan(r[4].tops) && isnan(r[4].speedup)); /* failed */
    assert_true(fabs(r[5].tops - ops / 2 / 0.5e-3 / 1e12) < 1e-9); /* causal: half the ops */
    assert_true(isnan(r[5].speedup));                               /* no fp16 row for c2 */
}

/* ------------------------------------------------------------------ CSV, JSON, tables */

typedef struct rows_arg {
    const bench_row *rows;
    int n;
} rows_arg;

static void put_csv(FILE *f, const void *a)
{
    const rows_arg *r = a;
    bench_csv_write(f, r->rows, r->n);
}

/* Four rows of two configurations: fp16, int8 and quant timed, a failed drop-in. */
static void fake_rows(bench_row *r)
{
    const bench_config c = {16, 32, 1024, 64, 0}, c2 = {1, 32, 32768, 128, 1};
    r[0] = row(BENCH_K_FP16, c, 0.5);
    r[1] = row(BENCH_K_INT8, c, 0.25);
    r[2] = row(BENCH_K_QUANT, c, 0.0625);
    r[3] = row(BENCH_K_DROPIN, c2, NAN);
    bench_derive(r, 4);
    r[1].check = 1.25e-2;
}

/* The CSV text of the fake rows (malloc'd); the rows in r. */
static char *fake_csv(bench_row *r)
{
    fake_rows(r);
    const rows_arg a = {r, 4};
    return capture(put_csv, &a);
}

static void test_csv_exact(void **state)
{
    (void)state;
    bench_row r[4];
    char *text = fake_csv(r);
    assert_string_equal(text,
                        "kernel,batch,heads,seq,head_dim,causal,ms,tops,speedup_vs_fp16,rel_l2_vs_fp16\n"
                        "fp16,16,32,1024,64,0,0.500000,274.88,1.0000,\n"
                        "int8,16,32,1024,64,0,0.250000,549.76,2.0000,1.250e-02\n"
                        "quant,16,32,1024,64,0,0.062500,,,\n"
                        "int8+quant,1,32,32768,128,1,,,,\n");
    free(text);
}

static void test_csv_round_trip(void **state)
{
    (void)state;
    bench_row r[4];
    char *text = fake_csv(r);
    bench_row back;
    char *save = NULL, *line = strtok_r(text, "\n", &save);
    assert_int_equal(bench_csv_parse(line, &back), -1); /* the header is no data line */
    for (int i = 0; i < 4; ++i) {
        line = strtok_r(NULL, "\n", &save);
        assert_non_null(line);
        memset(&back, 0xAB, sizeof back);
        assert_int_equal(bench_csv_parse(line, &back), 0);
        assert_string_equal(back.kernel, r[i].kernel);
        assert_memory_equal(&back.cfg, &r[i].cfg, sizeof back.cfg);
        const double a1[4] = {r[i].ms, r[i].tops, r[i].speedup, r[i].check};
        const double b1[4] = {back.ms, back.tops, back.speedup, back.check};
        for (int k = 0; k < 4; ++k) {
            if (isnan(a1[k]))
                assert_true(isnan(b1[k]));
            else
                assert_true(fabs(a1[k] - b1[k]) <= 5e-3 * fabs(a1[k])); /* printed precision */
        }
    }
    assert_null(strtok_r(NULL, "\n", &save));
    free(text);

    assert_int_equal(bench_csv_parse("int8,1,2,3,64,1,0.5,1,2,3\r\n", &back), 0);
    assert_true(back.cfg.causal == 1 && back.ms == 0.5 && back.check == 3);
    static const char *const bad[] = {
        "",
        "int8,1,2,3,64,1,0.5,1,2",       /* 9 fields */
        "int8,1,2,3,64,1,0.5,1,2,3,4",   /* 11 */
        ",1,2,3,64,1,0.5,1,2,3",         /* no kernel */
        "int8,1,2,3,64,2,0.5,1,2,3",     /* causal 2 */
        "int8,1,2,x,64,1,0.5,1,2,3",     /* not a number */
        "int8,1,2,3,64,1,0.5ms,1,2,3",   /* trailing text */
        "int8,1,2,3,64,1,inf,1,2,3",     /* not finite */
        "int8,1,2,3,64,1,0.5,1,2,3\nx",  /* more after the line */
        "a-kernel-name-far-too-long-for-the-field,1,2,3,64,1,0.5,1,2,3",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
        memset(&back, 0xAB, sizeof back);
        bench_row poison;
        memset(&poison, 0xAB, sizeof poison);
        if (bench_csv_parse(bad[i], &back) != -1) fail_msg("accepted \"%s\"", bad[i]);
        assert_memory_equal(&back, &poison, sizeof back);
    }
}

/* An accuracy row of batch 1, 4 heads, 256 rows. */
static bench_acc_row acc_row(const char *inputs, const char *method, int64_t seq, int64_t hd,
                             intfa_ref_metrics m)
{
    bench_acc_row a;
    memset(&a, 0, sizeof a);
    snprintf(a.inputs, sizeof a.inputs, "%s", inputs);
    snprintf(a.method, sizeof a.method, "%s", method);
    a.cfg = (bench_config){1, 4, seq, hd, 0};
    a.rows = 256;
    a.m = m;
    return a;
}

typedef struct json_arg {
    bench_meta meta;
    const bench_row *rows;
    int n;
    const bench_acc_row *acc;
    int nacc;
} json_arg;

static void put_json(FILE *f, const void *a)
{
    const json_arg *j = a;
    bench_json_write(f, &j->meta, j->rows, j->n, j->acc, j->nacc);
}

/* Brackets balance outside strings, strings close: a structural check of JSON. */
static int balanced(const char *s)
{
    char stack[64];
    int depth = 0, in_str = 0;
    for (; *s; ++s) {
        if (in_str) {
            if (*s == '\\') ++s;
            else if (*s == '"') in_str = 0;
            else if ((unsigned char)*s < 0x20) return 0;
        } else if (*s == '"') {
            in_str = 1;
        } else if (*s == '{' || *s == '[') {
            if (depth == 64) return 0;
            stack[depth++] = *s == '{' ? '}' : ']';
        } else if (*s == '}' || *s == ']') {
            if (depth == 0 || stack[--depth] != *s) return 0;
        }
    }
    return depth == 0 && !in_str;
}

static void test_json(void **state)
{
    (void)state;
    bench_row r[4];
    fake_rows(r);
    const bench_acc_row acc = acc_row("k-outliers", "fp8-e4m3", 4096, 128,
                                      (intfa_ref_metrics){0.05, NAN, 0, 0, 0, 0, 0});
    json_arg a = {{"NVIDIA H200", "sm_90a", 132, 62914560, "2026-11-22T00:00:00Z", "default",
                   "commit \"abc\"\n\\", 30, 5, 3},
                  r, 4, &acc, 1};
    char *text = capture(put_json, &a);
    assert_true(balanced(text));
    assert_null(strstr(text, "nan"));
    assert_null(strstr(text, "inf"));
    assert_non_null(strstr(text, "\"label\": \"commit \\\"abc\\\"\\u000a\\\\\""));
    assert_non_null(strstr(text, "\"device\": \"NVIDIA H200\""));
    assert_non_null(strstr(text, "{\"kernel\": \"int8\", \"batch\": 16, \"heads\": 32, \"seq\": 1024, "
                                 "\"head_dim\": 64, \"causal\": 0, \"ms\": 0.25, \"tops\": 549.755814, "
                                 "\"speedup_vs_fp16\": 2, \"rel_l2_vs_fp16\": 0.0125}"));
    assert_non_null(strstr(text, "{\"kernel\": \"quant\", \"batch\": 16, \"heads\": 32, \"seq\": 1024, "
                                 "\"head_dim\": 64, \"causal\": 0, \"ms\": 0.0625, \"tops\": null"));
    assert_non_null(strstr(text, "\"method\": \"fp8-e4m3\""));
    assert_non_null(strstr(text, "\"rel_l2\": 0.05, \"cosine\": null"));
    free(text);
    a.n = a.nacc = 0; /* empty sections stay valid */
    text = capture(put_json, &a);
    assert_true(balanced(text));
    assert_non_null(strstr(text, "\"speed\": [],"));
    assert_non_null(strstr(text, "\"accuracy\": []"));
    free(text);
}

static void put_table(FILE *f, const void *a)
{
    const rows_arg *r = a;
    bench_table_print(f, r->rows, r->n);
}

static void put_acc(FILE *f, const void *a)
{
    bench_acc_csv_write(f, a, 1);
}

static void test_tables(void **state)
{
    (void)state;
    bench_row r[4];
    fake_rows(r);
    const rows_arg a = {r, 4};
    char *text = capture(put_table, &a);
    /* a header and one line per configuration, kernels side by side */
    int lines = 0;
    for (const char *p = text; *p; ++p) lines += *p == '\n';
    assert_int_equal(lines, 3);
    assert_non_null(strstr(text, "  1024   16   32  64   full |     0.500   274.9 |     0.250   549.8  2.00x  1.3e-02 "
                                 "|     0.062 |          -       -      -\n"));
    free(text);

    const bench_acc_row acc = acc_row("normal", "int8-pu8", 1024, 64,
                                      (intfa_ref_metrics){0.0125, 0.99992, 0.011, 0.002, 0.05, NAN, 0});
    text = capture(put_acc, &acc);
    assert_string_equal(text, BENCH_ACC_CSV_HEADER "\n"
                              "normal,int8-pu8,1,4,1024,64,0,256,1.250000e-02,0.99992000,1.100000e-02,"
                              "2.000000e-03,5.000000e-02,\n");
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ops),         cmocka_unit_test(test_batch_rule),
        cmocka_unit_test(test_default_sweep), cmocka_unit_test(test_options),
        cmocka_unit_test(test_derive),      cmocka_unit_test(test_csv_exact),
        cmocka_unit_test(test_csv_round_trip), cmocka_unit_test(test_json),
        cmocka_unit_test(test_tables),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
