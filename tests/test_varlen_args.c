/* test_varlen_args.c - intfa_attention_varlen's argument checks, which run before any kernel
 * launch: INT4, the packed tensors, the workspace and its size with a zeroed context standing in
 * for a real one (those checks come before the context is touched: a call that got further
 * would crash the test); the cumulative counts (NULL, not starting at 0, decreasing, not ending
 * at the totals, changed by the caller after the call) on a context of the made-up driver of
 * tests/fake_cuda, since the counts are copied and checked with the context entered. Device
 * pointers are made-up aligned addresses, never dereferenced. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <stdlib.h>

#include "context.h"
#include "cache_fixture.h"

static intfa_context fake; /* zeroed: no driver, no device */
static intfa_context *drv; /* on the made-up driver */
static char *cache_dir;

#define DEV(addr) ((void *)(uintptr_t)(addr))

static void assert_error_is(const char *want)
{
    assert_string_equal(intfa_last_error(), want);
}

/* 3 sequences of 5, 0 and 7 queries against 4, 9 and 0 keys; H_q 4, H_kv 2, D 64. */
static const int32_t cu_q[4] = {0, 5, 5, 12}, cu_k[4] = {0, 4, 13, 13};

static intfa_attn_problem problem(void)
{
    intfa_attn_problem p = {3, 4, 2, 12, 13, 64, 0.0f, 1, INTFA_DTYPE_FP16, INTFA_PQ_U8_ROW,
                            INTFA_VS_CHANNEL, INTFA_FMT_INT8, 0};
    return p;
}

/* Packed [total, H, D] fp16 at a made-up address; stride_b deliberately odd (ignored). */
static intfa_tensor packed(uintptr_t addr, int64_t h)
{
    intfa_tensor t = {DEV(addr), 12345, h * 64, 64};
    return t;
}

static intfa_status call_on(intfa_context *c, const intfa_attn_problem *p, const int32_t *cq,
                            const int32_t *ck)
{
    const intfa_tensor q = packed(0x100000, 4), k = packed(0x200000, 2), v = packed(0x300000, 2),
                       o = packed(0x400000, 4);
    return intfa_attention_varlen(c, p, &q, &k, &v, cq, ck, &o, NULL, NULL, 0, NULL);
}

static intfa_status call(const intfa_attn_problem *p, const int32_t *cq, const int32_t *ck)
{
    return call_on(drv, p, cq, ck);
}

static void test_counts(void **state)
{
    (void)state;
    const intfa_attn_problem p = problem();
    assert_int_equal(call(&p, NULL, cu_k), INTFA_ERR_INVALID_ARGUMENT);
    assert_error_is("cu_seqlens_q is NULL");
    assert_int_equal(call(&p, cu_q, NULL), INTFA_ERR_INVALID_ARGUMENT);
    assert_error_is("cu_seqlens_k is NULL");
    const int32_t start1[4] = {1, 5, 5, 12};
    assert_int_equal(call(&p, start1, cu_k), INTFA_ERR_INVALID_ARGUMENT);
    assert_error_is("cu_seqlens_q[0] = 1: must be 0");
    const int32_t down[4] = {0, 9, 4, 13};
    assert_int_equal(call(&p, cu_q, down), INTFA_ERR_INVALID_ARGUMENT);
    assert_error_is("cu_seqlens_k[2] = 4 is less than cu_seqlens_k[1] = 9: counts must not decrease");
    const int32_t negative[4] = {0, -3, 5, 12};
    assert_int_equal(call(&p, negative, cu_k), INTFA_ERR_INVALID_ARGUMENT);
    assert_error_is("cu_seqlens_q[1] = -3 is less than cu_seqlens_q[0] = 0: counts must not decrease");
    const int32_t short_total[4] = {0, 5, 5, 11};
    assert_int_equal(call(&p, short_total, cu_k), INTFA_ERR_INVALID_ARGUMENT);
    assert_error_is("cu_seqlens_q[3] = 11: must equal the total token count problem.seq_q = 12");
    const int32_t past[4] = {0, 4, 13, 14};
    assert_int_equal(call(&p, cu_q, past), INTFA_ERR_INVALID_ARGUMENT);
    assert_error_is("cu_seqlens_k[3] = 14: must equal the total token count problem.seq_kv = 13");
    /* device memory (the made-up driver's device range): refused, never read */
    const int32_t *on_device = (const int32_t *)DEV(0x10000000);
    assert_int_equal(call(&p, cu_q, on_device), INTFA_ERR_INVALID_ARGUMENT);
    assert_error_is("cu_seqlens_k = 0x10000000 is device memory: intfa_attention_varlen takes the "
                    "counts in host memory");
}

static void test_problem_and_tensors(void **state)
{
    (void)state;
    intfa_attn_problem p = problem();
    p.qk_format = INTFA_FMT_INT4;
    assert_int_equal(call_on(&fake, &p, cu_q, cu_k), INTFA_ERR_UNSUPPORTED);
    assert_error_is("problem.qk_format = 1: variable-length batches take INT8 Q/K only");
    p = problem();
    p.head_dim = 72;
    assert_int_equal(call_on(&fake, &p, cu_q, cu_k), INTFA_ERR_UNSUPPORTED);
    p = problem();
    const intfa_tensor q = packed(0x100000, 4), k = packed(0x200000, 2), o = packed(0x400000, 4);
    intfa_tensor bad = packed(0x300008, 2); /* not 16-byte aligned */
    assert_int_equal(intfa_attention_varlen(&fake, &p, &q, &k, &bad, cu_q, cu_k, &o, NULL, NULL, 0, NULL),
                     INTFA_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(intfa_last_error(), "v.data"));
    bad = packed(0x300000, 2);
    bad.stride_n = 100; /* not a multiple of 8 elements */
    assert_int_equal(intfa_attention_varlen(&fake, &p, &q, &k, &bad, cu_q, cu_k, &o, NULL, NULL, 0, NULL),
                     INTFA_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(intfa_last_error(), "v.stride_n = 100"));
    assert_int_equal(intfa_attention_varlen(&fake, &p, &q, NULL, &bad, cu_q, cu_k, &o, NULL, NULL, 0, NULL),
                     INTFA_ERR_INVALID_ARGUMENT);
    assert_error_is("k is NULL");
    assert_int_equal(intfa_attention_varlen(NULL, &p, &q, &k, &bad, cu_q, cu_k, &o, NULL, NULL, 0, NULL),
                     INTFA_ERR_INVALID_ARGUMENT);
    assert_error_is("intfa_attention_varlen: ctx is NULL");
    /* nothing to do: no sequences, or no queries (nothing is touched, not even the tensors) */
    p.batch = 0;
    p.seq_q = p.seq_kv = 0;
    const int32_t zero[1] = {0};
    assert_int_equal(intfa_attention_varlen(&fake, &p, NULL, NULL, NULL, zero, zero, NULL, NULL, NULL, 0, NULL),
                     INTFA_OK);
}

static void test_workspace(void **state)
{
    (void)state;
    const intfa_attn_problem p = problem();
    size_t need = 0;
    assert_int_equal(intfa_attention_varlen_workspace_size(&p, &need), INTFA_OK);
    /* K [2, 13, 64] int8, its scales, V^T [2, 64, 128 (13 / 128 + 3) = 384], scales [3, 2, 64],
     * partial sums [6 x 1 split x 128 fp32], the two counts, the streamed pass's 6 + 4 x 6
     * words of epochs, counters and flags: each rounded up to 256 bytes */
    const size_t want = 1792 + 256 + 49152 + 1536 + 3072 + 256 + 256 + 256;
    assert_int_equal(need, want);
    const intfa_tensor q = packed(0x100000, 4), k = packed(0x200000, 2), v = packed(0x300000, 2),
                       o = packed(0x400000, 4);
    assert_int_equal(intfa_attention_varlen(&fake, &p, &q, &k, &v, cu_q, cu_k, &o, NULL, DEV(0x500000),
                                            want - 1, NULL),
                     INTFA_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(intfa_last_error(), "intfa_attention_varlen_workspace_size"));
    assert_int_equal(intfa_attention_varlen(&fake, &p, &q, &k, &v, cu_q, cu_k, &o, NULL, DEV(0x500010),
                                            want, NULL),
                     INTFA_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(intfa_last_error(), "workspace"));
    assert_int_equal(intfa_attention_varlen_workspace_size(&p, NULL), INTFA_ERR_INVALID_ARGUMENT);
    intfa_attn_problem p4 = p;
    p4.qk_format = INTFA_FMT_INT4;
    assert_int_equal(intfa_attention_varlen_workspace_size(&p4, &need), INTFA_ERR_UNSUPPORTED);
}

static int setup(void **state)
{
    (void)state;
    setenv("INTFA_LIBCUDA", FAKE_CUDA_PATH, 1);
    cache_dir = fixture_mkdtemp("varlen");
    intfa_options o = {0};
    o.cache_dir = cache_dir;
    o.disable_jit = 1; /* a call that got past its checks would fail to load, not compile */
    return intfa_create_with_options(&drv, 0, &o) == INTFA_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    intfa_destroy(drv);
    fixture_rmtree(cache_dir);
    free(cache_dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts),
        cmocka_unit_test(test_problem_and_tensors),
        cmocka_unit_test(test_workspace),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
