/* test_quant_args.c - the argument checks of the INT4 / K smoothing entry points, which run
 * before any device work: intfa_quantize_qk_ex's options, intfa_mean_over_tokens, the INT4
 * byte strides and the LSE bias of intfa_attention_int8, the drop-in's problem fields and its
 * workspace size. CPU only: a zeroed context stands in for a real one, so every call here must
 * fail (or return for an empty problem) before it touches the context; a call that got further
 * would crash the test. Device pointers are never dereferenced: made-up aligned addresses. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "context.h"

static intfa_context fake; /* zeroed: no driver, no device */

#define DEV(addr) ((void *)(uintptr_t)(addr))

static void assert_error_contains(const char *needle)
{
    const char *msg = intfa_last_error();
    if (!strstr(msg, needle)) fail_msg("last error \"%s\" does not contain \"%s\"", msg, needle);
}

/* An fp16 [B, N, H, D] tensor at a made-up 256-aligned address. */
static intfa_tensor x_bnhd(int64_t n, int64_t h, int64_t d) { return intfa_tensor_bnhd(DEV(0x100000), n, h, d); }

/* ------------------------------------------------------------------ intfa_quantize_qk_ex */

static intfa_status qk_ex(const intfa_qk_quant_options *o, int64_t heads, int64_t seq, void *out)
{
    const intfa_tensor x = x_bnhd(seq, heads, 128);
    return intfa_quantize_qk_ex(&fake, &x, INTFA_DTYPE_FP16, 2, heads, seq, 128, o, out,
                                (float *)DEV(0x200000), NULL);
}

static void test_qk_options(void **state)
{
    (void)state;
    void *out = DEV(0x300000);
    assert_int_equal(qk_ex(NULL, 4, 10, out), INTFA_ERR_INVALID_ARGUMENT);
    assert_string_equal(intfa_last_error(), "intfa_quantize_qk_ex: options is NULL (zero-initialized "
                                            "options quantize as intfa_quantize_qk)");
    intfa_qk_quant_options o = {0};
    o.format = (intfa_format)2;
    assert_int_equal(qk_ex(&o, 4, 10, out), INTFA_ERR_INVALID_ARGUMENT);
    assert_error_contains("options.format = 2");

    o = (intfa_qk_quant_options){INTFA_FMT_INT4, (const float *)DEV(0x400008), NULL, 0, 0.0f, NULL};
    assert_int_equal(qk_ex(&o, 4, 10, out), INTFA_ERR_INVALID_ARGUMENT);
    assert_error_contains("options.subtract");
    assert_error_contains("16-byte aligned");

    o = (intfa_qk_quant_options){INTFA_FMT_INT4, NULL, NULL, 0, 0.0f, (float *)DEV(0x500000)};
    assert_int_equal(qk_ex(&o, 4, 10, out), INTFA_ERR_INVALID_ARGUMENT);
    assert_error_contains("options.out_bias");
    assert_error_contains("bias_mean is NULL");

    const float *mean = (const float *)DEV(0x400000);
    o = (intfa_qk_quant_options){INTFA_FMT_INT8, NULL, mean, 2, 0.125f, NULL};
    assert_int_equal(qk_ex(&o, 4, 10, out), INTFA_ERR_INVALID_ARGUMENT);
    assert_error_contains("options.out_bias (required with options.bias_mean) is NULL");
    o.out_bias = (float *)DEV(0x500002);
    assert_int_equal(qk_ex(&o, 4, 10, out), INTFA_ERR_INVALID_ARGUMENT);
    assert_error_contains("4-byte aligned");
    o.out_bias = (float *)DEV(0x500000);
    o.heads_per_mean = 3; /* 4 heads */
    assert_int_equal(qk_ex(&o, 4, 10, out), INTFA_ERR_INVALID_ARGUMENT);
    assert_error_contains("options.heads_per_mean = 3: must be >= 1 and divide heads = 4");
    o.heads_per_mean = 0;
    assert_int_equal(qk_ex(&o, 4, 10, out), INTFA_ERR_INVALID_ARGUMENT);
    assert_error_contains("heads_per_mean = 0");
    o.heads_per_mean = 4;
    o.bias_scale = NAN;
    assert_int_equal(qk_ex(&o, 4, 10, out), INTFA_ERR_INVALID_ARGUMENT);
    assert_error_contains("options.bias_scale");
    o.bias_scale = INFINITY;
    assert_int_equal(qk_ex(&o, 4, 10, out), INTFA_ERR_INVALID_ARGUMENT);

    /* valid options: nothing to do for an empty problem, and the buffers are checked next */
    o.bias_scale = 0.125f;
    assert_int_equal(qk_ex(&o, 4, 0, out), INTFA_OK);
    assert_string_equal(intfa_last_error(), "");
    assert_int_equal(qk_ex(&o, 4, 10, DEV(0x300008)), INTFA_ERR_INVALID_ARGUMENT);
    assert_error_contains("out_values");
    assert_error_contains("16-byte aligned");
    assert_int_equal(qk_ex(&o, 4, 10, NULL), INTFA_ERR_INVALID_ARGUMENT);
    assert_error_contains("out_values is NULL");
    const intfa_tensor bad = {DEV(0x100000), 10 * 4 * 128, 4 * 128 + 4, 128}; /* 8-byte stride_n */
    assert_int_equal(intfa_quantize_qk_ex(&fake, &bad, INTFA_DTYPE_FP16, 2, 4, 10, 128, &o, out,
                                          (float *)DEV(0x200000), NULL),
                     INTFA_ERR_INVALID_ARGUMENT);
    assert_error_contains("x.stride_n");
    /* sizes and the context come first: head dims are multiples of 16 from 32 to 256, INT4 64
     * and 128 only */
    assert_int_equal(intfa_quantize_qk_ex(&fake, &bad, INTFA_DTYPE_FP16, 2, 4, 10, 100, &o, out,
                                          (float *)DEV(0x200000), NULL),
                     INTFA_ERR_UNSUPPORTED);
    assert_error_contains("head_dim = 100");
    o.format = INTFA_FMT_INT4;
    assert_int_equal(intfa_quantize_qk_ex(&fake, &bad, INTFA_DTYPE_FP16, 2, 4, 10, 96, &o, out,
                                          (float *)DEV(0x200000), NULL),
                     INTFA_ERR_UNSUPPORTED);
    assert_error_contains("intfa_quantize_qk_ex: head_dim = 96 with options.format = INT4");
    o.format = INTFA_FMT_INT8;
    assert_int_equal(intfa_quantize_qk_ex(NULL, &bad, INTFA_DTYPE_FP16, 2, 4, 10, 128, &o, out,
                                          (float *)DEV(0x200000), NULL),
                     INTFA_ERR_INVALID_ARGUMENT);
    assert_error_contains("ctx is NULL");
    /* intfa_quantize_qk is the zero-options case: an out_values check of its own name */
    const intfa_tensor x = x_bnhd(10, 4, 128);
    assert_int_equal(intfa_quantize_qk(&fake, &x, INTFA_DTYPE_FP16, 2, 4, 10, 128, (int8_t *)DEV(0x300004),
                                       (float *)DEV(0x200000), NULL),
                     INTFA_ERR_INVALID_ARGUMENT);
    assert_error_contains("intfa_quantize_qk: out_values");
}

/* ------------------------------------------------------------------ intfa_mean_over_tokens */

static void test_mean_args(void **state)
{
    (void)state;
    const intfa_tensor x = x_bnhd(10, 4, 64);
    float *out = (float *)DEV(0x600000);
    assert_int_equal(intfa_mean_over_tokens(NULL, &x, INTFA_DTYPE_BF16, 1, 4, 10, 64, out, NULL),
                     INTFA_ERR_INVALID_ARGUMENT);
    assert_int_equal(intfa_mean_over_tokens(&fake, NULL, INTFA_DTYPE_BF16, 1, 4, 10, 64, out, NULL),
                     INTFA_ERR_INVALID_ARGUMENT);
    assert_error_contains("x is NULL");
    assert_int_equal(intfa_mean_over_tokens(&fake, &x, INTFA_DTYPE_BF16, 1, 4, 10, 64,
                                            (float *)DEV(0x600002), NULL),
                     INTFA_ERR_INVALID_ARGUMENT);
    assert_error_contains("out_mean");
    assert_int_equal(intfa_mean_over_tokens(&fake, &x, INTFA_DTYPE_BF16, 1, 4, 10, 64, NULL, NULL),
                     INTFA_ERR_INVALID_ARGUMENT);
    assert_int_equal(intfa_mean_over_tokens(&fake, &x, (intfa_dtype)3, 1, 4, 10, 64, out, NULL),
                     INTFA_ERR_INVALID_ARGUMENT);
    assert_error_contains("dtype = 3");
    assert_int_equal(intfa_mean_over_tokens(&fake, &x, INTFA_DTYPE_BF16, -1, 4, 10, 64, out, NULL),
                     INTFA_ERR_INVALID_ARGUMENT);
    assert_int_equal(intfa_mean_over_tokens(&fake, &x, INTFA_DTYPE_BF16, 1, 4, 10, 264, out, NULL),
                     INTFA_ERR_UNSUPPORTED);
    assert_error_contains("head_dim = 264");
    assert_int_equal(intfa_mean_over_tokens(&fake, &x, INTFA_DTYPE_BF16, 1LL << 40, 1LL << 20, 1LL << 20,
                                            64, out, NULL),
                     INTFA_ERR_OVERFLOW);
    /* no (batch, head): nothing to do */
    assert_int_equal(intfa_mean_over_tokens(&fake, &x, INTFA_DTYPE_BF16, 0, 4, 10, 64, out, NULL), INTFA_OK);
}

/* ------------------------------------------------------------------ intfa_attention_int8 */

static intfa_attn_problem problem(intfa_format fmt)
{
    intfa_attn_problem p = {2, 4, 2, 100, 300, 128, 0.0f, 1, INTFA_DTYPE_FP16, INTFA_PQ_U8_ROW,
                            INTFA_VS_CHANNEL, fmt, 0};
    return p;
}

static void test_int4_attention_args(void **state)
{
    (void)state;
    const intfa_attn_problem p = problem(INTFA_FMT_INT4);
    /* packed rows of 64 bytes: dense [B, H, N, 64] byte strides */
    intfa_qk_int8 q = {intfa_tensor_bhnd(DEV(0x100000), 100, 4, 64), (const float *)DEV(0x200000), NULL};
    intfa_qk_int8 k = {intfa_tensor_bhnd(DEV(0x300000), 300, 2, 64), (const float *)DEV(0x400000), NULL};
    const intfa_v_int8 v = {(const int8_t *)DEV(0x500000), (const float *)DEV(0x600000)};
    const intfa_tensor out = intfa_tensor_bnhd(DEV(0x700000), 100, 4, 128);
    float *bad_lse = (float *)DEV(0x800002);
    /* everything else valid: the lse is the last check, so reaching it proves the others */
    assert_int_equal(intfa_attention_int8(&fake, &p, &q, &k, &v, &out, bad_lse, NULL),
                     INTFA_ERR_INVALID_ARGUMENT);
    assert_string_equal(intfa_last_error(), "lse = 0x800002 is not 4-byte aligned");
    q.lse_bias = (const float *)DEV(0x900000);
    assert_int_equal(intfa_attention_int8(&fake, &p, &q, &k, &v, &out, bad_lse, NULL),
                     INTFA_ERR_INVALID_ARGUMENT);
    assert_error_contains("lse = ");
    q.lse_bias = (const float *)DEV(0x900001);
    assert_int_equal(intfa_attention_int8(&fake, &p, &q, &k, &v, &out, bad_lse, NULL),
                     INTFA_ERR_INVALID_ARGUMENT);
    assert_error_contains("q.lse_bias");
    q.lse_bias = NULL;
    k.lse_bias = (const float *)DEV(0x900000);
    assert_int_equal(intfa_attention_int8(&fake, &p, &q, &k, &v, &out, bad_lse, NULL),
                     INTFA_ERR_INVALID_ARGUMENT);
    assert_error_contains("k.lse_bias");
    k.lse_bias = NULL;
    /* a stride of 72 bytes is no multiple of 16 */
    intfa_qk_int8 q72 = q;
    q72.values.stride_n = 72;
    assert_int_equal(intfa_attention_int8(&fake, &p, &q72, &k, &v, &out, bad_lse, NULL),
                     INTFA_ERR_INVALID_ARGUMENT);
    assert_error_contains("q.values.stride_n = 72");
    /* INT8 strides are fine for INT4 too (rows farther apart than they need to be) */
    intfa_qk_int8 q8 = {intfa_tensor_bhnd(DEV(0x100000), 100, 4, 128), q.scale, NULL};
    assert_int_equal(intfa_attention_int8(&fake, &p, &q8, &k, &v, &out, bad_lse, NULL),
                     INTFA_ERR_INVALID_ARGUMENT);
    assert_error_contains("lse = ");
    /* a packed tensor at an offset of 8 bytes */
    intfa_qk_int8 qoff = q;
    qoff.values.data = DEV(0x100008);
    assert_int_equal(intfa_attention_int8(&fake, &p, &qoff, &k, &v, &out, bad_lse, NULL),
                     INTFA_ERR_INVALID_ARGUMENT);
    assert_error_contains("q.values.data");
    intfa_attn_problem p5 = p;
    p5.qk_format = (intfa_format)5;
    assert_int_equal(intfa_attention_int8(&fake, &p5, &q, &k, &v, &out, NULL, NULL),
                     INTFA_ERR_INVALID_ARGUMENT);
    assert_string_equal(intfa_last_error(), "problem.qk_format = 5 is not an intfa_format");
    p5 = p;
    p5.smooth_k = 2;
    assert_int_equal(intfa_attention_int8(&fake, &p5, &q, &k, &v, &out, NULL, NULL),
                     INTFA_ERR_INVALID_ARGUMENT);
    assert_string_equal(intfa_last_error(), "problem.smooth_k = 2: must be 0 or 1");
}

/* pf16: each entry point takes its own V (intfa_attention_int8 the quantized one,
 * intfa_attention_int8_qk the fp16/bf16 one), V's strides and alignment are checked, and the
 * drop-in's workspace holds no V. */
static void test_pf16_args(void **state)
{
    (void)state;
    intfa_attn_problem p = problem(INTFA_FMT_INT8);
    p.p_quant = INTFA_PQ_F16;
    const intfa_qk_int8 q = {intfa_tensor_bhnd(DEV(0x100000), 100, 4, 128), (const float *)DEV(0x200000), NULL};
    const intfa_qk_int8 k = {intfa_tensor_bhnd(DEV(0x300000), 300, 2, 128), (const float *)DEV(0x400000), NULL};
    const intfa_v_int8 v8 = {(const int8_t *)DEV(0x500000), (const float *)DEV(0x600000)};
    intfa_tensor v = intfa_tensor_bnhd(DEV(0x500000), 300, 2, 128);
    const intfa_tensor out = intfa_tensor_bnhd(DEV(0x700000), 100, 4, 128);
    float *bad_lse = (float *)DEV(0x800002);
    assert_int_equal(intfa_attention_int8(&fake, &p, &q, &k, &v8, &out, NULL, NULL), INTFA_ERR_INVALID_ARGUMENT);
    assert_error_contains("intfa_attention_int8_qk takes it");
    /* everything valid up to the lse, the last check */
    assert_int_equal(intfa_attention_int8_qk(&fake, &p, &q, &k, &v, &out, bad_lse, NULL), INTFA_ERR_INVALID_ARGUMENT);
    assert_error_contains("lse = ");
    assert_int_equal(intfa_attention_int8_qk(&fake, &p, &q, &k, NULL, &out, NULL, NULL), INTFA_ERR_INVALID_ARGUMENT);
    assert_string_equal(intfa_last_error(), "v is NULL");
    v.stride_n = 2 * 128 + 4; /* 8 bytes past a 16-byte multiple */
    assert_int_equal(intfa_attention_int8_qk(&fake, &p, &q, &k, &v, &out, NULL, NULL), INTFA_ERR_INVALID_ARGUMENT);
    assert_error_contains("v.stride_n = 260");
    v = intfa_tensor_bnhd(DEV(0x500008), 300, 2, 128);
    assert_int_equal(intfa_attention_int8_qk(&fake, &p, &q, &k, &v, &out, NULL, NULL), INTFA_ERR_INVALID_ARGUMENT);
    assert_error_contains("v.data");
    p.p_quant = INTFA_PQ_U8_ROW;
    assert_int_equal(intfa_attention_int8_qk(&fake, &p, &q, &k, &v, &out, NULL, NULL), INTFA_ERR_INVALID_ARGUMENT);
    assert_error_contains("p_quant = 0: intfa_attention_int8_qk takes INTFA_PQ_F16");
    p.p_quant = (intfa_p_quant)3;
    assert_int_equal(intfa_attention_int8_qk(&fake, &p, &q, &k, &v, &out, NULL, NULL), INTFA_ERR_INVALID_ARGUMENT);
    assert_string_equal(intfa_last_error(), "problem.p_quant = 3 is not an intfa_p_quant");
    /* the drop-in's workspace: int8 K and its scales, no V, no K/V pass partials */
    p.p_quant = INTFA_PQ_F16;
    size_t bytes = 0;
    assert_int_equal(intfa_attention_workspace_size(&p, &bytes), INTFA_OK);
    assert_int_equal(bytes, (2 * 2 * 300 * 128 + 255) / 256 * 256 + (2 * 2 * 300 * 4 + 255) / 256 * 256);
}

/* ------------------------------------------------------------------ drop-in workspace */

static size_t up256(size_t b) { return (b + 255) / 256 * 256; }

static void test_workspace_sizes(void **state)
{
    (void)state;
    /* B 2, H_q 4, H_kv 2, N_q 100, N_kv 300 (N_pad 304), D 128 */
    const size_t q_scales = up256(2 * 4 * 100 * 4), k_scales = up256(2 * 2 * 300 * 4);
    const size_t v = up256(2 * 2 * 304 * 128) + up256(2 * 2 * 128 * 4);
    /* INT8: no Q buffers (the attention kernel quantizes Q), the K/V pass's partial sums:
     * B x H_kv x 1 split (300 keys: one per 1024) x 2 D fp32 */
    const size_t part = up256(2 * 2 * 1 * 2 * 128 * 4);
    /* and the streamed pass's claim and epoch (2 words each), queue, groups left, two counters
     * and a 64-bit flag per (batch, K/V head): 6 + 4 x B x H_kv words */
    const size_t sync = up256((6 + 4 * 2 * 2) * 4);
    const size_t int8 = up256(2 * 2 * 300 * 128) + k_scales + v + part + sync;
    const size_t int4 = up256(2 * 4 * 100 * 64) + q_scales + up256(2 * 2 * 300 * 64) + k_scales + v;
    const size_t smooth = up256(2 * 2 * 128 * 4) + up256(2 * 4 * 100 * 4); /* mean, bias */
    size_t bytes = 0;
    intfa_attn_problem p = problem(INTFA_FMT_INT8);
    assert_int_equal(intfa_attention_workspace_size(&p, &bytes), INTFA_OK);
    assert_int_equal(bytes, int8);
    p.qk_format = INTFA_FMT_INT4;
    assert_int_equal(intfa_attention_workspace_size(&p, &bytes), INTFA_OK);
    assert_int_equal(bytes, int4);
    p.smooth_k = 1;
    assert_int_equal(intfa_attention_workspace_size(&p, &bytes), INTFA_OK);
    assert_int_equal(bytes, int4 + smooth);
    p.qk_format = INTFA_FMT_INT8;
    assert_int_equal(intfa_attention_workspace_size(&p, &bytes), INTFA_OK);
    assert_int_equal(bytes, int8 + smooth);

    /* the drop-in refuses a workspace sized for the problem without smoothing */
    const intfa_tensor q = intfa_tensor_bnhd(DEV(0x100000), 100, 4, 128);
    const intfa_tensor kv = intfa_tensor_bnhd(DEV(0x200000), 300, 2, 128);
    const intfa_tensor out = intfa_tensor_bnhd(DEV(0x300000), 100, 4, 128);
    assert_int_equal(intfa_attention(&fake, &p, &q, &kv, &kv, &out, NULL, DEV(0x400000), int8, NULL),
                     INTFA_ERR_INVALID_ARGUMENT);
    char want[128];
    snprintf(want, sizeof want, "workspace_bytes = %zu, but this problem needs %zu", int8, int8 + smooth);
    assert_error_contains(want);
    p.smooth_k = 3;
    assert_int_equal(intfa_attention_workspace_size(&p, &bytes), INTFA_ERR_INVALID_ARGUMENT);
    assert_int_equal(intfa_attention(&fake, &p, &q, &kv, &kv, &out, NULL, NULL, 0, NULL),
                     INTFA_ERR_INVALID_ARGUMENT);
    assert_error_contains("smooth_k = 3");
    assert_int_equal(bytes, int8 + smooth); /* unchanged on failure */
}

/* What the API fuzzer found (fuzz/corpus/api_args/regress_*): dense strides of sizes that
 * overflow, and a drop-in whose later launches could not take its sizes after the first ones
 * had run. */
static void test_fuzz_findings(void **state)
{
    (void)state;
    intfa_tensor t = intfa_tensor_bnhd(DEV(0x100000), INT64_MAX / 2, 4, 128);
    assert_int_equal(t.stride_b, -1);
    assert_int_equal(t.stride_n, 4 * 128);
    t = intfa_tensor_bhnd(DEV(0x100000), 10, -1, 64);
    assert_int_equal(t.stride_b, -1);
    assert_int_equal(t.stride_h, 10 * 64);
    assert_int_equal(intfa_quantize_qk(&fake, &t, INTFA_DTYPE_FP16, 1, 1, 10, 64, (int8_t *)DEV(0x200000),
                                       (float *)DEV(0x300000), NULL),
                     INTFA_ERR_INVALID_ARGUMENT);
    assert_error_contains("stride_b = -1");

    /* 65535 x 65535 (batch, heads) pass the problem's checks, but V's quantization runs one
     * block per pair: refused before anything is launched (the zeroed context would crash) */
    intfa_attn_problem p = {.batch = 65535, .heads_q = 65535, .heads_kv = 65535, .seq_q = 1,
                            .seq_kv = 1, .head_dim = 64};
    const intfa_tensor x = intfa_tensor_bnhd(DEV(0x100000), 1, 65535, 64);
    assert_int_equal(intfa_attention(&fake, &p, &x, &x, &x, &x, NULL, DEV(0x400000), SIZE_MAX, NULL),
                     INTFA_ERR_UNSUPPORTED);
    assert_error_contains("intfa_attention: q: batch x heads = 65535 x 65535 exceeds 2147483647");
    /* rows: 128 x 26 x 2^30 tokens are more blocks than grid x holds */
    p = (intfa_attn_problem){.batch = 128, .heads_q = 26, .heads_kv = 26, .seq_q = 1LL << 30,
                             .seq_kv = 1, .head_dim = 64};
    const intfa_tensor q = intfa_tensor_bnhd(DEV(0x100000), 1LL << 30, 26, 64);
    const intfa_tensor kv = intfa_tensor_bnhd(DEV(0x100000), 1, 26, 64);
    assert_int_equal(intfa_attention(&fake, &p, &q, &kv, &kv, &q, NULL, DEV(0x400000), SIZE_MAX, NULL),
                     INTFA_ERR_UNSUPPORTED);
    assert_error_contains("intfa_attention: q: batch x heads x seq");
    assert_int_equal(intfa_quantize_v(&fake, &x, INTFA_DTYPE_FP16, 65535, 65535, 1, 64,
                                      INTFA_VS_CHANNEL, (int8_t *)DEV(0x200000), (float *)DEV(0x300000), NULL),
                     INTFA_ERR_UNSUPPORTED);
    assert_error_contains("intfa_quantize_v: batch x heads");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qk_options),
        cmocka_unit_test(test_mean_args),
        cmocka_unit_test(test_int4_attention_args),
        cmocka_unit_test(test_pf16_args),
        cmocka_unit_test(test_workspace_sizes),
        cmocka_unit_test(test_fuzz_findings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
