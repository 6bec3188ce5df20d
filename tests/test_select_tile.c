/* test_select_tile.c - $INTFA_ATTN_TILE's parse (runtime/select.c): a valid tile replaces the
 * selected variant's tile; malformed text and tiles the variant cannot take are errors that
 * name the setting and leave the variant alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "intfa.h"
#include "render.h"
#include "select.h"

static intfa_variant base_variant(intfa_arch arch, intfa_format fmt)
{
    intfa_variant v;
    assert_int_equal(intfa_variant_default(INTFA_KIND_ATTN_FWD, arch, 128, fmt, 1,
                                           INTFA_DTYPE_FP16, INTFA_PQ_U8_ROW, &v),
                     INTFA_OK);
    return v;
}

static void test_valid_tiles(void **state)
{
    (void)state;
    intfa_variant v = base_variant(INTFA_ARCH_SM90A, INTFA_FMT_INT8);
    assert_int_equal(intfa_apply_tile_override("m64n64w4s3", &v), INTFA_OK);
    assert_int_equal(v.block_m, 64);
    assert_int_equal(v.block_n, 64);
    assert_int_equal(v.warps, 4);
    assert_int_equal(v.stages, 3);
    assert_true(intfa_variant_uses_wgmma(&v));
    assert_int_equal(intfa_apply_tile_override("m128n64w4s2", &v), INTFA_OK);
    assert_false(intfa_variant_uses_wgmma(&v)); /* two row tiles per warp: mma.sync */
    assert_int_equal(v.causal, 1);              /* the rest of the variant is kept */
    assert_int_equal(v.head_dim, 128);
}

static void test_rejected_tiles(void **state)
{
    (void)state;
    static const char *const bad[] = {"",           "m64",          "m64n64w4",  "m64n64w4s2x",
                                      "m 64n64w4s2", "m+64n64w4s2", "m-64n64w4s2", "M64n64w4s2",
                                      "m64n64s2w4",  "m64n64w4s0",  "m0n64w4s2", "m99999n64w4s2",
                                      "m64n64w4s2 ", "n64m64w4s2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        intfa_variant v = base_variant(INTFA_ARCH_SM90A, INTFA_FMT_INT8), keep = v;
        assert_int_equal(intfa_apply_tile_override(bad[i], &v), INTFA_ERR_INVALID_ARGUMENT);
        assert_non_null(strstr(intfa_last_error(), "INTFA_ATTN_TILE"));
        assert_memory_equal(&v, &keep, sizeof v);
    }
    /* well-formed, but not a tile this variant takes */
    intfa_variant v = base_variant(INTFA_ARCH_SM90A, INTFA_FMT_INT8), keep = v;
    assert_int_equal(intfa_apply_tile_override("m64n64w3s2", &v), INTFA_ERR_UNSUPPORTED);
    assert_non_null(strstr(intfa_last_error(), "INTFA_ATTN_TILE=\"m64n64w3s2\""));
    assert_non_null(strstr(intfa_last_error(), "warps = 3"));
    assert_memory_equal(&v, &keep, sizeof v);
    assert_int_equal(intfa_apply_tile_override("m64n96w4s2", &v), INTFA_ERR_UNSUPPORTED);
    assert_memory_equal(&v, &keep, sizeof v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_tiles),
        cmocka_unit_test(test_rejected_tiles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
