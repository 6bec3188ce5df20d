/* test_aot_table.c - looking variants up in precompiled kernel tables built in memory: the
 * exact name and target only (an sm_90a entry is never an sm_90 kernel, a tampered entry whose
 * target disagrees with its name is never returned), stale entries (other library version,
 * templates, NVRTC, INTFA_TEMPLATE_DIR set) skipped and reported once when verbose, argument
 * checks with outputs unchanged, and the plain library's table empty. No GPU, no NVRTC build. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aot.h"
#include "cache_fixture.h"
#include "nvrtc_compile.h"
#include "template.h"

#define HEX64 "0000000000000000000000000000000000000000000000000000000000000000"

static const unsigned char bytes_a[] = "cubin of a", bytes_b[] = "cubin of b";

/* An entry as intfa-gen would have written it in this process. */
static intfa_aot_entry fresh_entry(const char *name, const char *target, const unsigned char *bin)
{
    intfa_aot_entry e = {name, target, intfa_version_string(), intfa_template_hash(),
                         intfa_nvrtc_version(), HEX64, HEX64, bin, 10};
    return e;
}

static const intfa_aot_entry *find(const intfa_aot_table *t, const char *name, intfa_arch arch,
                                   int verbose)
{
    const intfa_aot_entry *e = (const intfa_aot_entry *)1;
    assert_int_equal(intfa_aot_find(t, name, arch, verbose, &e), INTFA_OK);
    return e;
}

static void test_exact_name_and_target(void **state)
{
    (void)state;
    intfa_aot_entry entries[] = {
        fresh_entry("quant_qk-sm80-d64-int8-fp16-w4", "sm_80", bytes_a),
        fresh_entry("quant_qk-sm86-d64-int8-fp16-w4", "sm_86", bytes_b),
        fresh_entry("quant_qk-sm90a-d64-int8-fp16-w4", "sm_90a", bytes_a),
    };
    intfa_aot_table t = {INTFA_AOT_FORMAT, 3, entries};
    assert_ptr_equal(find(&t, "quant_qk-sm80-d64-int8-fp16-w4", INTFA_ARCH_SM80, 0), &entries[0]);
    assert_ptr_equal(find(&t, "quant_qk-sm86-d64-int8-fp16-w4", INTFA_ARCH_SM86, 0), &entries[1]);
    assert_ptr_equal(find(&t, "quant_qk-sm90a-d64-int8-fp16-w4", INTFA_ARCH_SM90A, 0),
                     &entries[2]);
    /* sm_90 is another target than sm_90a: its variant is absent, not the sm_90a entry */
    assert_null(find(&t, "quant_qk-sm90-d64-int8-fp16-w4", INTFA_ARCH_SM90, 0));
    assert_null(find(&t, "quant_qk-sm89-d64-int8-fp16-w4", INTFA_ARCH_SM89, 0));
    assert_null(find(&t, "quant_qk-sm80-d64-int8-bf16-w4", INTFA_ARCH_SM80, 0));
}

/* An entry whose target disagrees with its name (a tampered table) serves neither. */
static void test_entry_of_another_target_never_returned(void **state)
{
    (void)state;
    intfa_aot_entry entries[] = {fresh_entry("quant_qk-sm80-d64-int8-fp16-w4", "sm_86", bytes_a)};
    intfa_aot_table t = {INTFA_AOT_FORMAT, 1, entries};
    assert_null(find(&t, "quant_qk-sm80-d64-int8-fp16-w4", INTFA_ARCH_SM80, 0));
    const intfa_aot_entry *e = (const intfa_aot_entry *)1;
    assert_int_equal(intfa_aot_find(&t, "quant_qk-sm80-d64-int8-fp16-w4", INTFA_ARCH_SM86, 0, &e),
                     INTFA_ERR_INVALID_ARGUMENT);
    assert_ptr_equal(e, (const intfa_aot_entry *)1);
    assert_non_null(strstr(intfa_last_error(), "sm_86"));
}

static void expect_stale(intfa_aot_entry e, const char *reason_word)
{
    intfa_aot_table t = {INTFA_AOT_FORMAT, 1, &e};
    intfa_variant v;
    assert_int_equal(intfa_variant_parse(e.name, &v), INTFA_OK);
    assert_null(find(&t, e.name, v.arch, 0));
    int fresh = 1;
    char why[320];
    assert_int_equal(intfa_aot_entry_fresh(&e, &fresh, why, sizeof why), INTFA_OK);
    assert_int_equal(fresh, 0);
    if (!strstr(why, reason_word))
        fail_msg("stale reason \"%s\" does not mention \"%s\"", why, reason_word);
}

static void test_stale_entries_skipped(void **state)
{
    (void)state;
    intfa_aot_entry e = fresh_entry("quant_v-sm89-d128-fp16-w4", "sm_89", bytes_a);
    int fresh = 0;
    assert_int_equal(intfa_aot_entry_fresh(&e, &fresh, NULL, 0), INTFA_OK);
    assert_int_equal(fresh, 1);
    intfa_aot_entry old = e;
    old.library_version = "0.0.1";
    expect_stale(old, "intfa 0.0.1");
    intfa_aot_entry tmpl = e;
    tmpl.template_hash ^= 1;
    expect_stale(tmpl, "templates");
    intfa_aot_entry nvrtc = e;
    nvrtc.nvrtc_version += 10;
    expect_stale(nvrtc, "NVRTC");
    intfa_aot_entry nolib = e;
    nolib.library_version = NULL;
    expect_stale(nolib, "(none)");
}

/* With INTFA_TEMPLATE_DIR set, kernels are rendered from other templates than the table's. */
static void test_template_dir_makes_entries_stale(void **state)
{
    (void)state;
    intfa_aot_entry e = fresh_entry("quant_v-sm80-d128-fp16-w4", "sm_80", bytes_a);
    intfa_aot_table t = {INTFA_AOT_FORMAT, 1, &e};
    const char *old = getenv("INTFA_TEMPLATE_DIR");
    char *saved = old ? strdup(old) : NULL;
    setenv("INTFA_TEMPLATE_DIR", "/nonexistent/templates", 1);
    expect_stale(e, "INTFA_TEMPLATE_DIR");
    int same = 0; /* built by this library all the same (what --verify asks, with the key) */
    assert_int_equal(intfa_aot_entry_built_here(&e, &same, NULL, 0), INTFA_OK);
    assert_int_equal(same, 1);
    setenv("INTFA_TEMPLATE_DIR", "", 1);
    assert_ptr_equal(find(&t, e.name, INTFA_ARCH_SM80, 0), &e);
    if (saved)
        setenv("INTFA_TEMPLATE_DIR", saved, 1);
    else
        unsetenv("INTFA_TEMPLATE_DIR");
    free(saved);
}

/* With INTFA_KV_TMA=0 the wgmma kernels take other parameters than the table's. */
static void test_kv_tma_other_than_default_makes_entries_stale(void **state)
{
    (void)state;
    intfa_aot_entry e = fresh_entry("attn_fwd-sm90a-d128-int8-fp16-full-pu8-m64n128w4s2", "sm_90a",
                                    bytes_a);
    intfa_aot_table t = {INTFA_AOT_FORMAT, 1, &e};
    const char *old = getenv("INTFA_KV_TMA");
    char *saved = old ? strdup(old) : NULL;
    setenv("INTFA_KV_TMA", "0", 1);
    expect_stale(e, "INTFA_KV_TMA=0");
    setenv("INTFA_KV_TMA", "1", 1); /* the default, spelled out (2: session 13's spelling) */
    assert_ptr_equal(find(&t, e.name, INTFA_ARCH_SM90A, 0), &e);
    setenv("INTFA_KV_TMA", "2", 1);
    assert_ptr_equal(find(&t, e.name, INTFA_ARCH_SM90A, 0), &e);
    if (saved)
        setenv("INTFA_KV_TMA", saved, 1);
    else
        unsetenv("INTFA_KV_TMA");
    free(saved);
}

static void test_stale_reported_once_when_verbose(void **state)
{
    (void)state;
    intfa_aot_entry entries[] = {
        fresh_entry("quant_qk-sm86-d128-int8-bf16-w4", "sm_86", bytes_a),
        fresh_entry("quant_qk-sm89-d128-int8-bf16-w4", "sm_89", bytes_b),
    };
    entries[0].library_version = entries[1].library_version = "0.0.7";
    intfa_aot_table t = {INTFA_AOT_FORMAT, 2, entries};
    fixture_stderr_begin();
    for (int i = 0; i < 3; i++)
        assert_null(find(&t, entries[0].name, INTFA_ARCH_SM86, 1));
    assert_null(find(&t, entries[1].name, INTFA_ARCH_SM89, 0)); /* quiet */
    char *err = fixture_stderr_end();
    assert_int_equal(fixture_count_lines(err, "stale"), 1);
    assert_int_equal(fixture_count_lines(err, entries[0].name), 1);
    assert_int_equal(fixture_count_lines(err, "intfa 0.0.7"), 1);
    assert_int_equal(fixture_count_lines(err, entries[1].name), 0);
    free(err);
}

static void test_other_format_or_empty_table_misses(void **state)
{
    (void)state;
    intfa_aot_entry e = fresh_entry("quant_qk-sm80-d64-int8-fp16-w4", "sm_80", bytes_a);
    intfa_aot_table t = {INTFA_AOT_FORMAT + 1, 1, &e};
    assert_null(find(&t, e.name, INTFA_ARCH_SM80, 0));
    intfa_aot_table empty = {INTFA_AOT_FORMAT, 0, NULL};
    assert_null(find(&empty, e.name, INTFA_ARCH_SM80, 0));
    intfa_aot_entry no_bytes = e;
    no_bytes.size = 0;
    intfa_aot_table t2 = {INTFA_AOT_FORMAT, 1, &no_bytes};
    assert_null(find(&t2, e.name, INTFA_ARCH_SM80, 0));
}

static void test_argument_checks(void **state)
{
    (void)state;
    intfa_aot_entry e = fresh_entry("quant_qk-sm80-d64-int8-fp16-w4", "sm_80", bytes_a);
    intfa_aot_table t = {INTFA_AOT_FORMAT, 1, &e};
    const intfa_aot_entry *out = (const intfa_aot_entry *)1;
    assert_int_equal(intfa_aot_find(NULL, e.name, INTFA_ARCH_SM80, 0, &out),
                     INTFA_ERR_INVALID_ARGUMENT);
    assert_int_equal(intfa_aot_find(&t, NULL, INTFA_ARCH_SM80, 0, &out),
                     INTFA_ERR_INVALID_ARGUMENT);
    assert_int_equal(intfa_aot_find(&t, e.name, INTFA_ARCH_COUNT, 0, &out),
                     INTFA_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(intfa_last_error(), "arch = 5"));
    assert_int_equal(intfa_aot_find(&t, "not-a-variant", INTFA_ARCH_SM80, 0, &out),
                     INTFA_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(intfa_last_error(), "not-a-variant"));
    assert_ptr_equal(out, (const intfa_aot_entry *)1);
    assert_int_equal(intfa_aot_find(&t, e.name, INTFA_ARCH_SM80, 0, NULL),
                     INTFA_ERR_INVALID_ARGUMENT);

    int fresh = 7;
    char why[8];
    assert_int_equal(intfa_aot_entry_fresh(NULL, &fresh, why, sizeof why),
                     INTFA_ERR_INVALID_ARGUMENT);
    assert_int_equal(intfa_aot_entry_fresh(&e, NULL, why, sizeof why),
                     INTFA_ERR_INVALID_ARGUMENT);
    assert_int_equal(intfa_aot_entry_fresh(&e, &fresh, NULL, 4), INTFA_ERR_INVALID_ARGUMENT);
    assert_int_equal(fresh, 7);

    const void *bin = (const void *)1;
    size_t size = 99;
    assert_int_equal(intfa_aot_lookup(NULL, INTFA_ARCH_SM80, &bin, &size),
                     INTFA_ERR_INVALID_ARGUMENT);
    assert_int_equal(intfa_aot_lookup(e.name, INTFA_ARCH_SM80, NULL, &size),
                     INTFA_ERR_INVALID_ARGUMENT);
    assert_int_equal(intfa_aot_lookup(e.name, INTFA_ARCH_SM80, &bin, NULL),
                     INTFA_ERR_INVALID_ARGUMENT);
    assert_int_equal(intfa_aot_lookup_verbose(e.name, INTFA_ARCH_SM86, 1, &bin, &size),
                     INTFA_ERR_INVALID_ARGUMENT);
    assert_ptr_equal(bin, (const void *)1);
    assert_int_equal(size, 99);
}

/* This test links libintfa-jit.a: the plain library's table is the empty one. */
static void test_plain_library_table_is_empty(void **state)
{
    (void)state;
    assert_int_equal(intfa_aot_builtin.format, INTFA_AOT_FORMAT);
    assert_int_equal(intfa_aot_builtin.count, 0);
    const void *bin = (const void *)1;
    size_t size = 99;
    assert_int_equal(intfa_aot_lookup("quant_qk-sm80-d64-int8-fp16-w4", INTFA_ARCH_SM80, &bin,
                                      &size), INTFA_OK);
    assert_null(bin);
    assert_int_equal(size, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_name_and_target),
        cmocka_unit_test(test_entry_of_another_target_never_returned),
        cmocka_unit_test(test_stale_entries_skipped),
        cmocka_unit_test(test_template_dir_makes_entries_stale),
        cmocka_unit_test(test_kv_tma_other_than_default_makes_entries_stale),
        cmocka_unit_test(test_stale_reported_once_when_verbose),
        cmocka_unit_test(test_other_format_or_empty_table_misses),
        cmocka_unit_test(test_argument_checks),
        cmocka_unit_test(test_plain_library_table_is_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
