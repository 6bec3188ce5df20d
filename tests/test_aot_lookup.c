/* test_aot_lookup.c - a library with a precompiled kernel table, with JIT disabled: built
 * (cmake/aot.cmake) twice from this file, linked to the AOT test library libintfa-jit-aot-test
 * (test_aot_lookup) and with that table compiled into the program over libintfa-jit.a
 * (test_aot_lookup_static). The table holds the kernels of one attention for sm_80, sm_86,
 * sm_89 and sm_90a. Checked: the table covers the four targets, each cubin is an ELF for its
 * target, fresh against this generator; the cache's lookup and intfa_kernel_binary return the
 * table's bytes (source AOT) with JIT disabled and an empty cache directory, writing nothing;
 * a variant not in the table fails with INTFA_ERR_JIT_DISABLED naming it; no lookup ever
 * returns an entry built for another target. No GPU, no NVRTC build. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aot_emit.h"
#include "cache.h"
#include "cache_fixture.h"
#include "context.h"
#include "kernel_store.h"
#include "render.h"

static const intfa_aot_table *table = &intfa_aot_builtin;

/* The kernel cache directory of every test: empty, and the tests assert it stays so. */
static char *cache_dir;

/* The entry of name, or NULL. */
static const intfa_aot_entry *entry_named(const char *name)
{
    for (size_t i = 0; i < table->count; i++)
        if (strcmp(table->entries[i].name, name) == 0)
            return &table->entries[i];
    return NULL;
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The SM number a CUDA ELF was built for (e_flags: bits 0-7 in ELF ABI version 7, bits 8-15
 * in version 8, CUDA 13), or -1 when the ABI version is another. */
static int cubin_sm(const unsigned char *b, size_t n)
{
    assert_true(n > 64);
    assert_memory_equal(b, "\177ELF", 4);
    assert_int_equal(b[18] | b[19] << 8, 190); /* e_machine EM_CUDA */
    uint32_t flags = le32(b + 48);
    return b[8] == 7 ? (int)(flags & 0xff) : b[8] == 8 ? (int)(flags >> 8 & 0xff) : -1;
}

static void test_table_covers_four_targets_fresh(void **state)
{
    (void)state;
    assert_int_equal(table->format, INTFA_AOT_FORMAT);
    assert_true(table->count >= 4);
    static const intfa_arch want[] = {INTFA_ARCH_SM80, INTFA_ARCH_SM86, INTFA_ARCH_SM89,
                                      INTFA_ARCH_SM90A};
    size_t per_target[INTFA_ARCH_COUNT] = {0};
    for (size_t i = 0; i < table->count; i++) {
        const intfa_aot_entry *e = &table->entries[i];
        if (i > 0)
            assert_true(strcmp(table->entries[i - 1].name, e->name) < 0); /* sorted, unique */
        intfa_variant v = fixture_variant(e->name);
        assert_string_equal(e->target, intfa_arch_name(v.arch));
        per_target[v.arch]++;
        int sm = cubin_sm(e->cubin, e->size);
        if (sm >= 0)
            assert_int_equal(sm, intfa_arch_sm(v.arch));
        int ok = 0;
        char why[512];
        assert_int_equal(intfa_aot_entry_verify(e, &ok, why, sizeof why), INTFA_OK);
        if (!ok)
            fail_msg("%s: %s", e->name, why);
    }
    for (size_t a = 0; a < sizeof want / sizeof want[0]; a++)
        if (per_target[want[a]] == 0)
            fail_msg("the table has no kernel for %s", intfa_arch_name(want[a]));
    assert_int_equal(per_target[INTFA_ARCH_SM90], 0); /* sm_90 devices use sm_90a */
}

static void expect_aot(const char *dir, const intfa_aot_entry *e)
{
    intfa_cache_config cfg = {.dir = dir};
    intfa_variant v = fixture_variant(e->name);
    void *bin = NULL;
    size_t size = 0;
    intfa_binary_source from = INTFA_BINARY_NONE;
    intfa_status st = intfa_cache_get_or_build(&cfg, &v, 0, &bin, &size, &from);
    if (st != INTFA_OK)
        fail_msg("%s: %s: %s", e->name, intfa_status_string(st), intfa_last_error());
    assert_int_equal(from, INTFA_BINARY_AOT);
    assert_int_equal(size, e->size);
    assert_memory_equal(bin, e->cubin, size);
    free(bin);
}

static void test_jit_disabled_lookup_returns_the_table(void **state)
{
    (void)state;
    const char *dir = cache_dir;
    intfa_cache_stats_reset();
    for (size_t i = 0; i < table->count; i++)
        expect_aot(dir, &table->entries[i]);
    intfa_cache_stats s;
    assert_int_equal(intfa_cache_stats_get(&s), INTFA_OK);
    assert_int_equal(s.aot_hits, table->count);
    assert_int_equal(s.compiles, 0);
    assert_int_equal(s.disk_hits + s.memory_hits, 0);
    assert_int_equal(fixture_count_files(dir, ""), 0); /* nothing went to the cache */
}

/* A context with JIT disabled (only its options matter to the kernel store). */
static void test_kernel_binary_with_jit_disabled(void **state)
{
    (void)state;
    intfa_context *ctx = calloc(1, sizeof *ctx);
    assert_non_null(ctx);
    ctx->opts.cache_dir = cache_dir;
    ctx->opts.disable_jit = 1;
    const intfa_aot_entry *e = &table->entries[table->count - 1];
    intfa_variant v = fixture_variant(e->name);
    void *bin = NULL;
    size_t size = 0;
    assert_int_equal(intfa_kernel_binary(ctx, &v, &bin, &size), INTFA_OK);
    assert_int_equal(size, e->size);
    assert_memory_equal(bin, e->cubin, size);
    free(bin);
    free(ctx);
}

static void expect_refused(const char *dir, const intfa_variant *v)
{
    char name[INTFA_VARIANT_NAME_MAX];
    assert_int_equal(intfa_variant_name(v, name, sizeof name), INTFA_OK);
    intfa_cache_config cfg = {.dir = dir};
    void *bin = (void *)1;
    size_t size = 99;
    intfa_binary_source from = INTFA_BINARY_DISK;
    assert_int_equal(intfa_cache_get_or_build(&cfg, v, 0, &bin, &size, &from),
                     INTFA_ERR_JIT_DISABLED);
    if (!strstr(intfa_last_error(), name))
        fail_msg("the message \"%s\" does not name %s", intfa_last_error(), name);
    assert_ptr_equal(bin, (void *)1);
    assert_int_equal(size, 99);
    assert_int_equal(from, INTFA_BINARY_DISK);
}

static void test_absent_variant_fails_naming_it(void **state)
{
    (void)state;
    const char *dir = cache_dir;
    intfa_cache_stats_reset();
    intfa_variant v = fixture_variant(table->entries[0].name);
    v.head_dim = v.head_dim == 64 ? 128 : 64;
    char name[INTFA_VARIANT_NAME_MAX];
    assert_int_equal(intfa_variant_name(&v, name, sizeof name), INTFA_OK);
    assert_null(entry_named(name));
    expect_refused(dir, &v);
    intfa_cache_stats s;
    assert_int_equal(intfa_cache_stats_get(&s), INTFA_OK);
    assert_int_equal(s.jit_refused, 1);
    assert_int_equal(s.compiles, 0);
}

/* Every entry's variant moved to every other target: the lookup returns that target's own
 * entry (same bytes, its ELF's SM) or refuses; never the entry of the target it came from. */
static void test_other_targets_entries_never_returned(void **state)
{
    (void)state;
    const char *dir = cache_dir;
    for (size_t i = 0; i < table->count; i++) {
        const intfa_aot_entry *e = &table->entries[i];
        intfa_variant v = fixture_variant(e->name);
        for (int a = 0; a < INTFA_ARCH_COUNT; a++) {
            if (a == (int)v.arch)
                continue;
            intfa_variant w = v;
            w.arch = (intfa_arch)a;
            char name[INTFA_VARIANT_NAME_MAX];
            if (intfa_variant_check(&w) != INTFA_OK)
                continue; /* the tile does not fit that target */
            assert_int_equal(intfa_variant_name(&w, name, sizeof name), INTFA_OK);
            const intfa_aot_entry *own = entry_named(name);
            if (!own) {
                expect_refused(dir, &w);
                continue;
            }
            assert_ptr_not_equal(own, e);
            assert_string_equal(own->target, intfa_arch_name(w.arch));
            expect_aot(dir, own);
        }
    }
    /* sm_90 (not 90a) has no entries: all refused, though sm_90a holds the same variants */
    intfa_variant v = fixture_variant(table->entries[0].name);
    v.arch = INTFA_ARCH_SM90;
    if (intfa_variant_check(&v) == INTFA_OK)
        expect_refused(dir, &v);
}

int main(void)
{
    setenv("INTFA_TEMPLATE_DIR", "", 1); /* a template override would make the table stale */
    cache_dir = fixture_mkdtemp("aot-lookup");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_covers_four_targets_fresh),
        cmocka_unit_test(test_jit_disabled_lookup_returns_the_table),
        cmocka_unit_test(test_kernel_binary_with_jit_disabled),
        cmocka_unit_test(test_absent_variant_fails_naming_it),
        cmocka_unit_test(test_other_targets_entries_never_returned),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    if (fixture_count_files(cache_dir, "") != 0) {
        fprintf(stderr, "FAIL: the tests wrote into the kernel cache %s\n", cache_dir);
        failed++;
    }
    fixture_rmtree(cache_dir);
    free(cache_dir);
    return failed;
}
