/* test_gpu_aot.c - the attention from a library with precompiled kernels and no JIT: linked
 * to libintfa-jit-aot-test (cmake/aot.cmake: the kernels of a causal fp16 head_dim-128
 * attention for sm_80, sm_86, sm_89 and sm_90a), run with INTFA_DISABLE_JIT=1, an empty
 * kernel cache directory and no tuning database. The drop-in intfa_attention must succeed and
 * match the C reference with every kernel from the table (no compile, no cache hit, nothing
 * written), and a problem whose kernels are not in the table must fail with
 * INTFA_ERR_JIT_DISABLED. Skips (exit 77, "SKIP: ...") where no GPU exists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aot.h"
#include "cache.h"
#include "cache_fixture.h"
#include "gpu_harness.h"

/* As tests/test_gpu_attention.c (measured bounds, docs/RESULTS.md). */
#define MAX_REL_L2_VS_QUANT 1e-3
#define MAX_REL_L2_EXACT_PU8 4e-2

static char *cache_dir;

static attn_case table_case(void)
{
    attn_case c = {2, 4, 2, 333, 333, 128, 1, INTFA_DTYPE_FP16, INTFA_PQ_U8_ROW,
                   INTFA_VS_CHANNEL, LAYOUT_BNHD, 1, 1, 0, 20261122};
    return c;
}

static void test_attention_runs_from_the_table(void **state)
{
    intfa_context *ctx = *state;
    assert_int_equal(ctx->opts.disable_jit, 1);
    const char *target = intfa_arch_name(ctx->arch);
    size_t here = 0;
    for (size_t i = 0; i < intfa_aot_builtin.count; i++)
        here += strcmp(intfa_aot_builtin.entries[i].target, target) == 0;
    if (here == 0)
        fail_msg("the AOT test table has no kernel for this GPU's target %s", target);

    assert_int_equal(intfa_cache_stats_reset(), INTFA_OK);
    attn_case c = table_case();
    char desc[256];
    attn_case_describe(&c, desc, sizeof desc);
    attn_result r;
    intfa_status st = attn_case_run(&c, &r);
    if (st != INTFA_OK)
        fail_msg("%s: %s: %s", desc, intfa_status_string(st), intfa_last_error());
    printf("  %s on %s from the AOT table: vs_quant %.2e  vs_exact %.2e  lse %.1e  %.3f ms\n",
           desc, target, r.vs_quant.rel_l2, r.vs_exact.rel_l2, r.lse_max_diff_quant,
           r.kernel_ms);
    assert_int_equal(r.quant_mismatches, 0);
    assert_int_equal(r.unwritten, 0);
    assert_int_equal(r.vs_quant.nonfinite, 0);
    assert_true(r.vs_quant.rel_l2 < MAX_REL_L2_VS_QUANT);
    assert_true(r.vs_exact.rel_l2 < MAX_REL_L2_EXACT_PU8);
    assert_true(r.lse_excess_exact <= 0.0);

    intfa_cache_stats s;
    assert_int_equal(intfa_cache_stats_get(&s), INTFA_OK);
    printf("  kernels: %llu from the table, %llu compiled, %llu from the cache\n",
           (unsigned long long)s.aot_hits, (unsigned long long)s.compiles,
           (unsigned long long)(s.disk_hits + s.memory_hits));
    assert_true(s.aot_hits >= 3); /* quant_qk (the reference's Q, K, V), quant_v (the drop-in's
                                     K/V pass), attn_fwd */
    assert_int_equal(s.compiles, 0);
    assert_int_equal(s.disk_hits + s.memory_hits, 0);
    assert_int_equal(s.jit_refused, 0);
    assert_int_equal(fixture_count_files(cache_dir, ""), 0);
}

/* head_dim 64: neither its quantization nor its attention kernels are in the table. */
static void test_kernels_outside_the_table_are_refused(void **state)
{
    (void)state;
    attn_case c = table_case();
    c.head_dim = 64;
    attn_result r;
    intfa_status st = attn_case_run(&c, &r);
    assert_int_equal(st, INTFA_ERR_JIT_DISABLED);
    if (!strstr(intfa_last_error(), "-d64-"))
        fail_msg("the message \"%s\" names no head_dim-64 variant", intfa_last_error());
    assert_int_equal(fixture_count_files(cache_dir, ""), 0);
}

int main(void)
{
    setenv("INTFA_DISABLE_JIT", "1", 1); /* read when the context is created */
    setenv("INTFA_TEMPLATE_DIR", "", 1);
    intfa_context *ctx = gpu_open_or_skip("test_gpu_aot");
    /* read on first use: an empty cache, and no tuning database (built-in defaults) */
    cache_dir = fixture_mkdtemp("gpu-aot");
    char db[4200];
    snprintf(db, sizeof db, "%s/none/tuning.db", cache_dir);
    setenv("INTFA_CACHE_DIR", cache_dir, 1);
    setenv("INTFA_TUNING_DB", db, 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(test_attention_runs_from_the_table, ctx),
        cmocka_unit_test_prestate(test_kernels_outside_the_table_are_refused, ctx),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    gpu_close();
    fixture_rmtree(cache_dir);
    free(cache_dir);
    return failed;
}
