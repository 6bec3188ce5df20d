/* test_bench_baseline_args.c - the FP16 baseline's argument checks (runtime/baseline.c), on the
 * CPU: every bad argument fails with a message naming it and its value, before anything touches
 * the context or the device (the context here is an empty one: a launch would crash), and an
 * empty problem succeeds without work. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "baseline.h"
#include "context.h"

static intfa_context *empty_ctx; /* no driver table: any device work would crash */

static int setup(void **state)
{
    (void)state;
    empty_ctx = calloc(1, sizeof *empty_ctx);
    return empty_ctx ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(empty_ctx);
    return 0;
}

static void expect(intfa_status want, const char *words, intfa_context *ctx, const intfa_attn_problem *p,
                   const intfa_tensor *q, const intfa_tensor *k, const intfa_tensor *v,
                   const intfa_tensor *o, float *lse)
{
    const intfa_status st = intfa_baseline_fp16_attention(ctx, p, q, k, v, o, lse, NULL);
    if (st != want)
        fail_msg("status %s, expected %s (%s)", intfa_status_string(st), intfa_status_string(want),
                 intfa_last_error());
    if (words && !strstr(intfa_last_error(), words))
        fail_msg("message \"%s\" lacks \"%s\"", intfa_last_error(), words);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    void *dev = (void *)(uintptr_t)0x10000; /* never dereferenced on these paths */
    const intfa_attn_problem good = {2, 4, 2, 100, 120, 64, 0.0f, 1, INTFA_DTYPE_FP16,
                                     INTFA_PQ_U8_ROW, INTFA_VS_CHANNEL};
    intfa_tensor q = intfa_tensor_bnhd(dev, 100, 4, 64), k = intfa_tensor_bnhd(dev, 120, 2, 64);
    intfa_tensor v = k, o = q;
    intfa_context *c = empty_ctx;

    expect(INTFA_ERR_INVALID_ARGUMENT, "ctx is NULL", NULL, &good, &q, &k, &v, &o, NULL);
    expect(INTFA_ERR_INVALID_ARGUMENT, "problem is NULL", c, NULL, &q, &k, &v, &o, NULL);
    static const struct {
        intfa_attn_problem p;
        intfa_status st;
        const char *words;
    } bad_problems[] = {
        {{2, 4, 2, 100, 120, 64, 0.0f, 1, INTFA_DTYPE_BF16, INTFA_PQ_U8_ROW, INTFA_VS_CHANNEL},
         INTFA_ERR_UNSUPPORTED, "problem.dtype = 1: the FP16 baseline takes fp16 only"},
        {{2, 4, 2, 100, 120, 96, 0.0f, 1, INTFA_DTYPE_FP16, INTFA_PQ_U8_ROW, INTFA_VS_CHANNEL},
         INTFA_ERR_UNSUPPORTED, "head_dim = 96"},
        {{2, 4, 3, 100, 120, 64, 0.0f, 1, INTFA_DTYPE_FP16, INTFA_PQ_U8_ROW, INTFA_VS_CHANNEL},
         INTFA_ERR_INVALID_ARGUMENT, "heads_q = 4 is not a multiple of heads_kv = 3"},
        {{2, 4, 2, 100, 120, 64, 0.0f, 2, INTFA_DTYPE_FP16, INTFA_PQ_U8_ROW, INTFA_VS_CHANNEL},
         INTFA_ERR_INVALID_ARGUMENT, "causal = 2"},
        {{2, 4, 2, 100, 120, 64, -1.0f, 1, INTFA_DTYPE_FP16, INTFA_PQ_U8_ROW, INTFA_VS_CHANNEL},
         INTFA_ERR_INVALID_ARGUMENT, "softmax_scale = -1"},
        {{-1, 4, 2, 100, 120, 64, 0.0f, 1, INTFA_DTYPE_FP16, INTFA_PQ_U8_ROW, INTFA_VS_CHANNEL},
         INTFA_ERR_INVALID_ARGUMENT, "problem.batch = -1"},
    };
    for (size_t i = 0; i < sizeof bad_problems / sizeof bad_problems[0]; ++i)
        expect(bad_problems[i].st, bad_problems[i].words, c, &bad_problems[i].p, &q, &k, &v, &o, NULL);

    expect(INTFA_ERR_INVALID_ARGUMENT, "q is NULL", c, &good, NULL, &k, &v, &o, NULL);
    expect(INTFA_ERR_INVALID_ARGUMENT, "v is NULL", c, &good, &q, &k, NULL, &o, NULL);
    expect(INTFA_ERR_INVALID_ARGUMENT, "out is NULL", c, &good, &q, &k, &v, NULL, NULL);
    intfa_tensor bad = q;
    bad.data = (void *)(uintptr_t)0x10002;
    expect(INTFA_ERR_INVALID_ARGUMENT, "q.data", c, &good, &bad, &k, &v, &o, NULL);
    bad = k;
    bad.stride_n = 100; /* not a multiple of 8 halves */
    expect(INTFA_ERR_INVALID_ARGUMENT, "k.stride_n = 100", c, &good, &q, &bad, &v, &o, NULL);
    bad = o;
    bad.stride_h = -64;
    expect(INTFA_ERR_INVALID_ARGUMENT, "out.stride_h = -64", c, &good, &q, &k, &v, &bad, NULL);
    bad = v;
    bad.data = NULL;
    expect(INTFA_ERR_INVALID_ARGUMENT, "v.data is NULL", c, &good, &q, &k, &bad, &o, NULL);
    expect(INTFA_ERR_INVALID_ARGUMENT, "lse", c, &good, &q, &k, &v, &o, (float *)(uintptr_t)0x10002);
}

static void test_empty_problems(void **state)
{
    (void)state;
    /* nothing to do: success without a launch (the empty context would crash one) and without
     * looking at the tensors */
    const intfa_tensor none = {NULL, 0, 0, 0};
    intfa_attn_problem p = {0, 4, 2, 100, 120, 128, 0.0f, 0, INTFA_DTYPE_FP16, INTFA_PQ_U8_ROW,
                            INTFA_VS_CHANNEL};
    expect(INTFA_OK, NULL, empty_ctx, &p, &none, &none, &none, &none, NULL);
    p.batch = 3;
    p.seq_q = 0;
    expect(INTFA_OK, NULL, empty_ctx, &p, &none, &none, &none, &none, NULL);
    p.seq_q = 10;
    p.heads_q = p.heads_kv = 0;
    expect(INTFA_OK, NULL, empty_ctx, &p, &none, &none, &none, &none, NULL);
    assert_string_equal(intfa_last_error(), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_empty_problems),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
