/* test_gpu_tune.c - the autotuner on the GPU: a real (small) tuning run of one class with the
 * winner verified, its database written and read back, a context created with
 * INTFA_TUNE_ON_FIRST_USE tuning a class on its first call and saving it, other contexts using
 * the saved winner (end to end against the C reference), and the built-in default where the
 * database has nothing. Skips (exit 77, "SKIP: ...") where no GPU exists. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../tuning/tune_db_file.h"
#include "../tuning/tune_device_key.h"
#include "../tuning/tune_gpu.h"
#include "../tuning/tune_rank.h"
#include "../tuning/tune_space.h"
#include "../tuning/tune_state.h"
#include "gpu_harness.h"
#include "select.h"

#define MAX_REL_L2_VS_QUANT 1e-3 /* as tests/test_gpu_attention.c */

static char dir[256], run_db[320], first_use_db[320];

static void assert_ok(intfa_status st)
{
    if (st != INTFA_OK) fail_msg("%s: %s", intfa_status_string(st), intfa_last_error());
}

static int same_variant(const intfa_variant *a, const intfa_variant *b)
{
    char x[INTFA_VARIANT_NAME_MAX], y[INTFA_VARIANT_NAME_MAX];
    return intfa_variant_name(a, x, sizeof x) == INTFA_OK && intfa_variant_name(b, y, sizeof y) == INTFA_OK &&
           strcmp(x, y) == 0;
}

static void print_result(const intfa_tune_result *r)
{
    char name[INTFA_VARIANT_NAME_MAX] = "-";
    if (r->status == INTFA_OK) intfa_variant_name(&r->entry.winner, name, sizeof name);
    printf("  winner %s %.4f ms (default %.4f ms); %zu candidates, %zu pruned, %zu failed, %zu rejected\n",
           name, r->entry.ms, r->default_ms, r->candidates, r->pruned, r->failed, r->rejected);
}

/* One class, the first six candidates, on the GPU; then the database round trip. */
static void test_tuning_run(void **state)
{
    (void)state;
    intfa_context *ctx = gpu_open_or_skip("test_gpu_tune");
    const intfa_tune_class c = {64, INTFA_FMT_INT8, INTFA_DTYPE_FP16, 1, INTFA_PQ_U8_ROW, INTFA_TUNE_KV_1K};
    intfa_tune_gpu *g;
    const intfa_tune_gpu_config cfg = {2, 5};
    assert_ok(intfa_tune_gpu_create(ctx, &cfg, &g));
    intfa_tune_backend b;
    intfa_tune_gpu_backend(g, &b);
    const intfa_tune_options o = {0, 6, stderr, NULL, NULL, NULL};
    intfa_tune_result r;
    intfa_tune_stats stats;
    assert_ok(intfa_tune_run(&b, ctx->arch, &c, 1, &o, &r, &stats));
    print_result(&r);
    printf("  compiled %zu in %.2f s (%d threads), measured in %.2f s, %d input sets\n", stats.compiles,
           stats.compile_s, stats.jobs, stats.measure_s, intfa_tune_gpu_input_sets(g));
    assert_int_equal(r.status, INTFA_OK);
    assert_int_equal(r.candidates, 6);
    assert_int_equal(r.failed, 0);
    assert_int_equal(r.rejected, 0);
    assert_true(intfa_tune_gpu_input_sets(g) >= 2);
    assert_true(isfinite(r.entry.ms) && r.entry.ms > 0);
    assert_true(isfinite(r.default_ms)); /* candidate 0 is the default */
    assert_true(r.entry.ms <= r.default_ms * (1.0 + INTFA_TUNE_TIE)); /* never more than a tie slower */
    assert_int_equal(intfa_variant_check(&r.entry.winner), INTFA_OK);
    assert_true(intfa_tune_class_admits(&c, &r.entry.winner));
    intfa_variant cand[INTFA_TUNE_MAX_CANDIDATES];
    size_t n = 0;
    assert_ok(intfa_tune_candidates(&c, ctx->arch, cand, INTFA_TUNE_MAX_CANDIDATES, &n, NULL));
    int among = 0;
    for (size_t i = 0; i < 6; i++) among |= same_variant(&cand[i], &r.entry.winner);
    assert_true(among);
    /* the winner passes the reference check again, and times again within reason */
    assert_ok(b.verify(b.self, &r.entry.winner));
    double again = 0;
    assert_ok(b.time_variant(b.self, &r.entry.winner, &again));
    printf("  winner timed again: %.4f ms\n", again);
    assert_true(again > 0 && again < 3 * r.entry.ms + 0.05);
    intfa_tune_gpu_destroy(g);

    /* database: write, read back, equal; a context's state finds it */
    intfa_tune_key key;
    assert_ok(intfa_tune_device_key(ctx, &key));
    intfa_tune_db db, back;
    intfa_tune_db_init(&db);
    assert_ok(intfa_tune_db_put(&db, &key, &r.entry));
    assert_ok(intfa_tune_db_save(run_db, &db));
    assert_ok(intfa_tune_db_load(run_db, &back, NULL));
    const intfa_tune_section *s = intfa_tune_db_find(&back, &key);
    assert_non_null(s);
    assert_int_equal(s->count, 1);
    assert_true(same_variant(&s->entries[0].winner, &r.entry.winner));
    assert_true(fabs(s->entries[0].ms - r.entry.ms) <= 1e-6);
    intfa_tune_state *st;
    assert_ok(intfa_tune_state_create(&st));
    intfa_tune_state_load(st, run_db, &key, 1, stdout);
    intfa_variant v;
    assert_int_equal(intfa_tune_state_find(st, &c, ctx->arch, &v), 1);
    assert_true(same_variant(&v, &r.entry.winner));
    intfa_tune_state_destroy(st);
    intfa_tune_db_free(&db);
    intfa_tune_db_free(&back);
}

static intfa_context *context_with(intfa_tune_mode mode, const char *db)
{
    intfa_context *c = NULL;
    const intfa_options o = {mode, 0, 0, NULL, db};
    assert_ok(intfa_create_with_options(&c, 0, &o));
    return c;
}

/* Tune on first use, save, reuse from memory and from the file; defaults where there is none. */
static void test_first_use(void **state)
{
    (void)state;
    intfa_context *harness = gpu_open_or_skip("test_gpu_tune");
    intfa_attn_problem p = {1, 2, 2, 300, 300, 128, 0.0f, 0, INTFA_DTYPE_FP16, INTFA_PQ_U8_ROW, INTFA_VS_CHANNEL};
    intfa_context *first = context_with(INTFA_TUNE_ON_FIRST_USE, first_use_db);
    intfa_variant tuned, v, def;
    assert_int_equal(access(first_use_db, F_OK), -1);
    assert_ok(intfa_select_attention(first, &p, &tuned)); /* tunes d128 int8 fp16 full pu8 kv<=1024 */
    char name[INTFA_VARIANT_NAME_MAX];
    intfa_variant_name(&tuned, name, sizeof name);
    printf("  tuned on first use: %s\n", name);

    /* saved under this device's key */
    intfa_tune_key key;
    assert_ok(intfa_tune_device_key(first, &key));
    intfa_tune_db db;
    assert_ok(intfa_tune_db_load(first_use_db, &db, NULL));
    const intfa_tune_section *s = intfa_tune_db_find(&db, &key);
    assert_non_null(s);
    intfa_tune_class c;
    assert_ok(intfa_tune_class_of(&p, &c));
    const intfa_tune_entry *e = intfa_tune_section_find(s, &c);
    assert_non_null(e);
    assert_true(same_variant(&e->winner, &tuned));
    intfa_tune_db_free(&db);

    /* a context that never tunes reads it from the file; bf16 takes the fp16 winner's tiles */
    intfa_context *never = context_with(INTFA_TUNE_NEVER, first_use_db);
    assert_ok(intfa_select_attention(never, &p, &v));
    assert_true(same_variant(&v, &tuned));
    intfa_attn_problem pb = p;
    pb.dtype = INTFA_DTYPE_BF16;
    assert_ok(intfa_select_attention(never, &pb, &v));
    assert_int_equal(v.dtype, INTFA_DTYPE_BF16);
    assert_int_equal(v.block_n, tuned.block_n);
    assert_int_equal(v.block_m, tuned.block_m);
    assert_int_equal(v.stages, tuned.stages);

    /* end to end on the harness's context ($INTFA_TUNING_DB names the same file): the tuned
     * kernel against the C reference */
    assert_ok(intfa_select_attention(harness, &p, &v));
    assert_true(same_variant(&v, &tuned));
    attn_case ac = {1, 2, 2, 300, 300, 128, 0, INTFA_DTYPE_FP16, INTFA_PQ_U8_ROW, INTFA_VS_CHANNEL,
                    LAYOUT_BNHD, 1, 0, 0, 4242};
    attn_result ar;
    assert_ok(attn_case_run(&ac, &ar));
    printf("  tuned kernel vs the C reference: rel L2 %.2e, %.4f ms\n", ar.vs_quant.rel_l2, ar.kernel_ms);
    assert_int_equal(ar.quant_mismatches, 0);
    assert_int_equal(ar.unwritten, 0);
    assert_int_equal(ar.vs_quant.nonfinite, 0);
    assert_true(ar.vs_quant.rel_l2 < MAX_REL_L2_VS_QUANT);

    /* the loaded database is cached per context: no file needed any more */
    assert_int_equal(unlink(first_use_db), 0);
    assert_ok(intfa_select_attention(first, &p, &v));
    assert_true(same_variant(&v, &tuned));
    assert_ok(intfa_select_attention(never, &p, &v));
    assert_true(same_variant(&v, &tuned));

    /* nothing in the database and never tuning: the built-in default */
    intfa_context *plain = context_with(INTFA_TUNE_NEVER, first_use_db); /* the file is gone */
    assert_ok(intfa_select_attention(plain, &p, &v));
    assert_ok(intfa_variant_default(INTFA_KIND_ATTN_FWD, plain->arch, 128, INTFA_FMT_INT8, 0, INTFA_DTYPE_FP16,
                                    INTFA_PQ_U8_ROW, &def));
    assert_true(same_variant(&v, &def));
    assert_int_equal(access(first_use_db, F_OK), -1); /* and nothing was written */
    intfa_destroy(plain);
    intfa_destroy(never);
    intfa_destroy(first);
}

int main(void)
{
    gpu_open_or_skip("test_gpu_tune");
    snprintf(dir, sizeof dir, "/tmp/intfa-gpu-tune-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(run_db, sizeof run_db, "%s/run.db", dir);
    snprintf(first_use_db, sizeof first_use_db, "%s/first-use.db", dir);
    setenv("INTFA_TUNING_DB", first_use_db, 1); /* read by the harness's context on its first call */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tuning_run),
        cmocka_unit_test(test_first_use),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    gpu_close();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return failed ? 1 : 0;
}
