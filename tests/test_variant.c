/* test_variant.c - variant names (print, strict parse, round trip), validity rules, defaults. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "intfa.h"
#include "render.h"

static void assert_error_contains(const char *needle)
{
    const char *msg = intfa_last_error();
    if (!strstr(msg, needle)) {
        print_error("last error \"%s\" does not contain \"%s\"\n", msg, needle);
        fail();
    }
}

static intfa_variant attn(intfa_arch arch, int d, int m, int n, int w, int s)
{
    intfa_variant v;
    memset(&v, 0, sizeof v);
    v.kind = INTFA_KIND_ATTN_FWD;
    v.arch = arch;
    v.head_dim = d;
    v.block_m = m;
    v.block_n = n;
    v.warps = w;
    v.stages = s;
    return v;
}

static int is_attention(intfa_kind k)
{
    return k == INTFA_KIND_ATTN_FWD || k == INTFA_KIND_ATTN_FWD_FP16;
}

/* Zero the fields a kind does not have, as parse leaves them. */
static intfa_variant normalized(intfa_variant v)
{
    if (!is_attention(v.kind)) v.block_m = v.block_n = v.stages = v.causal = 0;
    if (v.kind != INTFA_KIND_ATTN_FWD) v.p_quant = INTFA_PQ_U8_ROW;
    if (v.kind == INTFA_KIND_QUANT_V || v.kind == INTFA_KIND_ATTN_FWD_FP16 ||
        v.kind == INTFA_KIND_KV_CACHE)
        v.qk_format = INTFA_FMT_INT8;
    return v;
}

static intfa_variant fp16(intfa_arch arch, int d, int m, int n, int w, int s)
{
    intfa_variant v = attn(arch, d, m, n, w, s);
    v.kind = INTFA_KIND_ATTN_FWD_FP16;
    return v;
}

static void assert_round_trip(const intfa_variant *v)
{
    char name[INTFA_VARIANT_NAME_MAX];
    assert_int_equal(intfa_variant_name(v, name, sizeof name), INTFA_OK);
    intfa_variant p, want = normalized(*v);
    memset(&p, 0xAB, sizeof p);
    if (intfa_variant_parse(name, &p) != INTFA_OK) {
        print_error("parse(\"%s\"): %s\n", name, intfa_last_error());
        fail();
    }
    assert_memory_equal(&p, &want, sizeof p);
    char again[INTFA_VARIANT_NAME_MAX];
    assert_int_equal(intfa_variant_name(&p, again, sizeof again), INTFA_OK);
    assert_string_equal(again, name);
}

/* ------------------------------------------------------------------ arch */

static void test_arch_names(void **state)
{
    (void)state;
    const char *names[] = {"sm_80", "sm_86", "sm_89", "sm_90", "sm_90a"};
    const char *alt1[] = {"sm80", "sm86", "sm89", "sm90", "sm90a"};
    const char *alt2[] = {"80", "86", "89", "90", "90a"};
    for (int a = 0; a < INTFA_ARCH_COUNT; a++) {
        assert_string_equal(intfa_arch_name((intfa_arch)a), names[a]);
        intfa_arch out = INTFA_ARCH_COUNT;
        assert_int_equal(intfa_arch_parse(names[a], &out), INTFA_OK);
        assert_int_equal(out, a);
        out = INTFA_ARCH_COUNT;
        assert_int_equal(intfa_arch_parse(alt1[a], &out), INTFA_OK);
        assert_int_equal(out, a);
        out = INTFA_ARCH_COUNT;
        assert_int_equal(intfa_arch_parse(alt2[a], &out), INTFA_OK);
        assert_int_equal(out, a);
    }
    assert_string_equal(intfa_arch_name((intfa_arch)99), "unknown arch");
    const char *bad[] = {"", "sm_", "sm", "sm_75", "sm_90b", "SM_90", "sm__90", "90aa",
                         "sm_90a ", " 90", "sm_080", "sm-90"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        intfa_arch out = (intfa_arch)1234;
        assert_int_equal(intfa_arch_parse(bad[i], &out), INTFA_ERR_INVALID_ARGUMENT);
        assert_int_equal(out, 1234);
        char want[64];
        snprintf(want, sizeof want, "arch \"%s\"", bad[i]);
        assert_error_contains(want);
    }
    intfa_arch out;
    assert_int_equal(intfa_arch_parse(NULL, &out), INTFA_ERR_INVALID_ARGUMENT);
    assert_int_equal(intfa_arch_parse("sm_80", NULL), INTFA_ERR_INVALID_ARGUMENT);
}

/* ------------------------------------------------------------------ names */

static void test_exact_names(void **state)
{
    (void)state;
    static const struct {
        intfa_kind kind;
        intfa_arch arch;
        int d;
        intfa_format fmt;
        int causal;
        intfa_dtype dt;
        intfa_p_quant pq;
        const char *name;
    } defaults[] = {
        {INTFA_KIND_ATTN_FWD, INTFA_ARCH_SM90A, 128, INTFA_FMT_INT8, 1, INTFA_DTYPE_FP16,
         INTFA_PQ_U8_ROW, "attn_fwd-sm90a-d128-int8-fp16-causal-pu8-m64n128w4s2"},
        {INTFA_KIND_ATTN_FWD, INTFA_ARCH_SM90, 128, INTFA_FMT_INT8, 1, INTFA_DTYPE_FP16,
         INTFA_PQ_U8_ROW, "attn_fwd-sm90-d128-int8-fp16-causal-pu8-m128n64w4s2"},
        {INTFA_KIND_ATTN_FWD, INTFA_ARCH_SM86, 64, INTFA_FMT_INT8, 0, INTFA_DTYPE_BF16,
         INTFA_PQ_S8_127, "attn_fwd-sm86-d64-int8-bf16-full-ps8-m64n128w4s2"},
        /* the fields a kind lacks are ignored, and zero in the default: quant_qk has no mask
         * and no P quantization, quant_v and attn_fp16 no Q/K format */
        {INTFA_KIND_QUANT_QK, INTFA_ARCH_SM80, 64, INTFA_FMT_INT8, 1, INTFA_DTYPE_BF16,
         INTFA_PQ_S8_127, "quant_qk-sm80-d64-int8-bf16-w4"},
        {INTFA_KIND_QUANT_V, INTFA_ARCH_SM89, 128, INTFA_FMT_INT4, 0, INTFA_DTYPE_FP16,
         INTFA_PQ_U8_ROW, "quant_v-sm89-d128-fp16-w4"},
        {INTFA_KIND_ATTN_FWD_FP16, INTFA_ARCH_SM90A, 128, INTFA_FMT_INT4, 1, INTFA_DTYPE_FP16,
         INTFA_PQ_S8_127, "attn_fp16-sm90a-d128-fp16-causal-m128n64w8s2"},
        {INTFA_KIND_ATTN_FWD_FP16, INTFA_ARCH_SM89, 64, INTFA_FMT_INT8, 0, INTFA_DTYPE_FP16,
         INTFA_PQ_U8_ROW, "attn_fp16-sm89-d64-fp16-full-m64n128w4s2"},
        {INTFA_KIND_KV_CACHE, INTFA_ARCH_SM90A, 128, INTFA_FMT_INT4, 1, INTFA_DTYPE_BF16,
         INTFA_PQ_S8_127, "kv_cache-sm90a-d128-bf16-w4"},
    };
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++) {
        intfa_variant v;
        char name[INTFA_VARIANT_NAME_MAX];
        assert_int_equal(intfa_variant_default(defaults[i].kind, defaults[i].arch, defaults[i].d,
                                               defaults[i].fmt, defaults[i].causal, defaults[i].dt,
                                               defaults[i].pq, &v),
                         INTFA_OK);
        const intfa_variant n = normalized(v);
        assert_memory_equal(&v, &n, sizeof v);
        assert_int_equal(intfa_variant_name(&v, name, sizeof name), INTFA_OK);
        assert_string_equal(name, defaults[i].name);
    }
    assert_string_equal(intfa_kind_name(INTFA_KIND_ATTN_FWD_FP16), "attn_fp16");
    assert_string_equal(intfa_kind_name(INTFA_KIND_KV_CACHE), "kv_cache");
    assert_null(intfa_kind_name(INTFA_KIND_COUNT));

    /* The parse of a name is exactly the variant. */
    intfa_variant p;
    assert_int_equal(intfa_variant_parse("attn_fp16-sm86-d64-fp16-full-m64n32w4s3", &p), INTFA_OK);
    intfa_variant want16 = fp16(INTFA_ARCH_SM86, 64, 64, 32, 4, 3);
    assert_memory_equal(&p, &want16, sizeof p);
    assert_int_equal(intfa_variant_parse("attn_fwd-sm90-d64-int8-bf16-full-ps8-m64n32w4s3", &p),
                     INTFA_OK);
    intfa_variant want = attn(INTFA_ARCH_SM90, 64, 64, 32, 4, 3);
    want.dtype = INTFA_DTYPE_BF16;
    want.p_quant = INTFA_PQ_S8_127;
    assert_memory_equal(&p, &want, sizeof p);
}

static void test_name_cap_and_args(void **state)
{
    (void)state;
    intfa_variant v = attn(INTFA_ARCH_SM90A, 128, 128, 64, 8, 2);
    const char *want = "attn_fwd-sm90a-d128-int8-fp16-full-pu8-m128n64w8s2";
    size_t need = strlen(want) + 1;
    char buf[INTFA_VARIANT_NAME_MAX];
    memset(buf, 'Z', sizeof buf);
    assert_int_equal(intfa_variant_name(&v, buf, need - 1), INTFA_ERR_INVALID_ARGUMENT);
    assert_error_contains("cap = ");
    for (size_t i = 0; i < sizeof buf; i++) assert_int_equal(buf[i], 'Z');
    assert_int_equal(intfa_variant_name(&v, buf, need), INTFA_OK);
    assert_string_equal(buf, want);
    assert_int_equal(intfa_variant_name(&v, buf, 0), INTFA_ERR_INVALID_ARGUMENT);
    assert_int_equal(intfa_variant_name(NULL, buf, sizeof buf), INTFA_ERR_INVALID_ARGUMENT);
    assert_int_equal(intfa_variant_name(&v, NULL, sizeof buf), INTFA_ERR_INVALID_ARGUMENT);

    /* Out-of-range enums and negative numbers do not print. */
    intfa_variant bad[6];
    for (int i = 0; i < 6; i++) bad[i] = v;
    bad[0].kind = INTFA_KIND_COUNT;
    bad[1].arch = (intfa_arch)5;
    bad[2].dtype = (intfa_dtype)2;
    bad[3].p_quant = (intfa_p_quant)7;
    bad[4].head_dim = -128;
    bad[5].causal = 2;
    const char *words[6] = {"kind = 5", "arch = 5", "dtype = 2", "p_quant = 7",
                            "head_dim = -128", "causal = 2"};
    for (int i = 0; i < 6; i++) {
        memset(buf, 'Z', sizeof buf);
        assert_int_equal(intfa_variant_name(&bad[i], buf, sizeof buf), INTFA_ERR_INVALID_ARGUMENT);
        assert_error_contains(words[i]);
        assert_int_equal(buf[0], 'Z');
        assert_int_equal(intfa_variant_check(&bad[i]), INTFA_ERR_INVALID_ARGUMENT);
        assert_error_contains(words[i]);
    }
    assert_int_equal(intfa_variant_check(NULL), INTFA_ERR_INVALID_ARGUMENT);
}

static void test_parse_rejects(void **state)
{
    (void)state;
    static const struct {
        const char *name, *word; /* word: must appear in the message */
    } bad[] = {
        {"", "length"},
        {"attn_fwd", "fields"},
        {"attn_fwd-sm90a-d128-int8-fp16-causal-pu8-m128n64w8s2-x", "\"x\""},
        {"attn_fwd-sm90a-d128-int8-fp16-causal-pu8-m128n64w8s2-", "empty field"},
        {"attn_fwd-sm90a-d128-int8-fp16-causal-pu8-m128n64w8s2x", "m128n64w8s2x"},
        {"attn_fwd-sm90a-d128-int8-fp16-causal-pu8-m128n64w8", "m128n64w8"},
        {"attn_fwd-sm90a-d128-int8-fp16-causal-pu8", "fields"},
        {"attn_fwd-sm90a-d0128-int8-fp16-causal-pu8-m128n64w8s2", "d0128"},
        {"attn_fwd-sm90a-d128-int8-fp16-causal-pu8-m128n064w8s2", "m128n064w8s2"},
        {"attn_fwd-sm90a-d128-int8-fp16-causal-pu8-m128n64w8s02", "m128n64w8s02"},
        {"attn_fwd-sm90a-d2147483648-int8-fp16-causal-pu8-m128n64w8s2", "d2147483648"},
        {"attn_fwd-sm90a-d99999999999999999999-int8-fp16-full-pu8-m128n64w8s2", "d9999"},
        {"attn_fwd-sm90a-d-128-int8-fp16-causal-pu8-m128n64w8s2", "unexpected \"m128n64w8s2\""},
        {"attn_fwd-sm90a-d+128-int8-fp16-causal-pu8-m128n64w8s2", "d+128"},
        {"attn_fwd-sm90a-d-int8-fp16-causal-pu8-m128n64w8s2", "head_dim field \"d\""},
        {"attn_fwd-sm_90a-d128-int8-fp16-causal-pu8-m128n64w8s2", "sm_90a"},
        {"attn_fwd-90a-d128-int8-fp16-causal-pu8-m128n64w8s2", "\"90a\""},
        {"Attn_fwd-sm90a-d128-int8-fp16-causal-pu8-m128n64w8s2", "Attn_fwd"},
        {"attn_bwd-sm90a-d128-int8-fp16-causal-pu8-m128n64w8s2", "attn_bwd"},
        {"attn_fwd-sm90a-d128-INT8-fp16-causal-pu8-m128n64w8s2", "INT8"},
        {"attn_fwd-sm90a-d128-int8-fp32-causal-pu8-m128n64w8s2", "fp32"},
        {"attn_fwd-sm90a-d128-int8-fp16-causa-pu8-m128n64w8s2", "causa"},
        {"attn_fwd-sm90a-d128-int8-fp16-causal-pu16-m128n64w8s2", "pu16"},
        {"attn_fwd-sm90a-d128-int8-fp16-causal-pu8-n64m128w8s2", "n64m128w8s2"},
        {"attn_fwd-sm90a-d128-int8-fp16-pu8-causal-m128n64w8s2", "pu8"},
        {"attn_fwd-sm90a-d128-fp16-int8-causal-pu8-m128n64w8s2", "fp16"},
        {"attn_fwd-sm90a-d128-int8-fp16-causal-pu8-m 128n64w8s2", "m 128n64w8s2"},
        {"attn_fwd--sm90a-d128-int8-fp16-causal-pu8-m128n64w8s2", "empty field"},
        {"attn_fwd-sm90a-d128-int8-fp16-causal-pu8-m128n64w8s2 ", "m128n64w8s2 "},
        {"quant_qk-sm80-d64-int8-bf16-w4-x", "\"x\""},
        {"quant_qk-sm80-d64-bf16-w4", "fields"},
        {"quant_qk-sm80-d64-int8-bf16-w04", "w04"},
        {"quant_qk-sm80-d64-int8-bf16-m4", "m4"},
        {"quant_v-sm80-d64-int8-bf16-w4", "unexpected \"w4\""},
        {"quant_v-sm80-d64-bf16-w4s2", "w4s2"},
        {"quant_v-sm80-d64-bf16-w", "\"w\""},
        {"quant_v-sm80-d64-bf16", "fields"},
        {"quant_v-sm80-d64-bf16-w4\n", "w4\n"},
        {"attn_fp16-sm90a-d128-int8-fp16-causal-m128n64w8s2", "unexpected \"m128n64w8s2\""},
        {"attn_fp16-sm90a-d128-int8-causal-m128n64w8s2", "dtype (fp16 bf16) field \"int8\""},
        {"attn_fp16-sm90a-d128-fp16-causal-pu8-m128n64w8s2", "unexpected \"m128n64w8s2\""},
        {"attn_fp16-sm90a-d128-fp16-pu8-m128n64w8s2", "mask (causal full) field \"pu8\""},
        {"attn_fp16-sm90a-d128-fp16-m128n64w8s2", "fields"},
        {"attn_fp16-sm90a-d128-fp16-full-m128n64w8", "m128n64w8"},
        {"attn_fp16-sm90a-d128-fp16-full-m128n64w8s2-", "empty field"},
        {"attn_fp16-sm90a-d128-fp16-full-m128n64w8s2-x", "\"x\""},
        {"attn_fp32-sm90a-d128-fp16-full-m128n64w8s2", "attn_fp32"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        intfa_variant out, poison;
        memset(&out, 0xAB, sizeof out);
        memset(&poison, 0xAB, sizeof poison);
        intfa_status st = intfa_variant_parse(bad[i].name, &out);
        if (st != INTFA_ERR_INVALID_ARGUMENT) {
            print_error("parse accepted \"%s\" (status %d)\n", bad[i].name, st);
            fail();
        }
        assert_memory_equal(&out, &poison, sizeof out);
        assert_error_contains(bad[i].word);
    }
    /* A name of INTFA_VARIANT_NAME_MAX or more characters. */
    char longname[INTFA_VARIANT_NAME_MAX + 8];
    memset(longname, 'a', sizeof longname);
    longname[sizeof longname - 1] = '\0';
    intfa_variant out;
    assert_int_equal(intfa_variant_parse(longname, &out), INTFA_ERR_INVALID_ARGUMENT);
    assert_error_contains("length");
    assert_int_equal(intfa_variant_parse(NULL, &out), INTFA_ERR_INVALID_ARGUMENT);
    assert_int_equal(intfa_variant_parse("quant_v-sm80-d64-bf16-w4", NULL),
                     INTFA_ERR_INVALID_ARGUMENT);
    /* Syntax only: an unbuildable but well-formed name parses, check refuses it. */
    assert_int_equal(intfa_variant_parse("attn_fwd-sm80-d0-int8-fp16-full-pu8-m0n0w0s0", &out),
                     INTFA_OK);
    assert_int_equal(intfa_variant_check(&out), INTFA_ERR_UNSUPPORTED);
    assert_int_equal(intfa_variant_parse("quant_v-sm80-d2147483647-bf16-w4", &out), INTFA_OK);
    assert_int_equal(out.head_dim, 2147483647);
}

/* ------------------------------------------------------------------ validity */

static void test_check_messages(void **state)
{
    (void)state;
    intfa_variant v = attn(INTFA_ARCH_SM80, 128, 128, 64, 8, 2);
    assert_int_equal(intfa_variant_check(&v), INTFA_OK);

    v.head_dim = 72;
    assert_int_equal(intfa_variant_check(&v), INTFA_ERR_UNSUPPORTED);
    assert_string_equal(intfa_last_error(), "head_dim = 72: supported are multiples of 16 from 32 to 256");
    v.head_dim = 272;
    assert_int_equal(intfa_variant_check(&v), INTFA_ERR_UNSUPPORTED);
    v.head_dim = 16;
    assert_int_equal(intfa_variant_check(&v), INTFA_ERR_UNSUPPORTED);

    /* the other head dims: the INT8 kernels (mma.sync and wgmma) and the quantization kernels;
     * the other families 64 and 128 only, each named */
    v = attn(INTFA_ARCH_SM80, 96, 128, 64, 8, 2);
    assert_int_equal(intfa_variant_check(&v), INTFA_OK);
    v = attn(INTFA_ARCH_SM90A, 256, 64, 64, 4, 2);
    assert_int_equal(intfa_variant_check(&v), INTFA_OK);
    v = attn(INTFA_ARCH_SM90A, 48, 64, 128, 4, 2);
    assert_int_equal(intfa_variant_check(&v), INTFA_OK);
    assert_int_equal(intfa_variant_smem_bytes(&v), 64 * 64 + 2 * (2 * 128 * 64 + 4 * 128) + 1024);
    v.qk_format = INTFA_FMT_INT4;
    assert_int_equal(intfa_variant_check(&v), INTFA_ERR_UNSUPPORTED);
    assert_string_equal(intfa_last_error(), "head_dim = 48: INT4 Q/K takes 64 and 128");
    v = attn(INTFA_ARCH_SM90A, 96, 64, 128, 4, 2);
    v.p_quant = INTFA_PQ_F16;
    assert_int_equal(intfa_variant_check(&v), INTFA_ERR_UNSUPPORTED);
    assert_error_contains("pf16 (16-bit P.V) takes 64 and 128");
    v = attn(INTFA_ARCH_SM90A, 96, 128, 128, 12, 2);
    assert_int_equal(intfa_variant_check(&v), INTFA_ERR_UNSUPPORTED);
    assert_error_contains("the warp-specialized kernel takes 64 and 128");
    v = attn(INTFA_ARCH_SM80, 96, 64, 64, 4, 2);
    v.kind = INTFA_KIND_ATTN_FWD_FP16;
    assert_int_equal(intfa_variant_check(&v), INTFA_ERR_UNSUPPORTED);
    assert_error_contains("the FP16 baseline (attn_fp16) takes 64 and 128");
    v.kind = INTFA_KIND_KV_CACHE;
    v.warps = 4;
    assert_int_equal(intfa_variant_check(&v), INTFA_ERR_UNSUPPORTED);
    assert_error_contains("the paged KV cache (kv_cache) takes 64 and 128");
    v.kind = INTFA_KIND_QUANT_V;
    assert_int_equal(intfa_variant_check(&v), INTFA_OK);
    v.kind = INTFA_KIND_QUANT_QK;
    assert_int_equal(intfa_variant_check(&v), INTFA_OK);
    v = attn(INTFA_ARCH_SM80, 128, 128, 64, 8, 2);

    /* INT4 Q/K: attention and its quantization on every arch. Shared memory: packed Q/K rows
     * of d/2 bytes; on sm_90 (unpacked to INT8 in shared memory) an int8 Q tile, a packed Q
     * staging tile and one int8 K tile besides. */
    for (int a = 0; a < INTFA_ARCH_COUNT; a++) {
        v = attn((intfa_arch)a, 128, 128, 64, 8, 2);
        v.qk_format = INTFA_FMT_INT4;
        assert_int_equal(intfa_variant_check(&v), INTFA_OK);
        const int unpack = a == INTFA_ARCH_SM90 || a == INTFA_ARCH_SM90A;
        const long long stage = 64 * 64 + 128 * 64 + 4 * 64;
        assert_int_equal(intfa_variant_smem_bytes(&v),
                         unpack ? 128 * 128 + 2 * stage + 128 * 64 + 64 * 128 : 128 * 64 + 2 * stage);
        v.kind = INTFA_KIND_QUANT_QK;
        v.warps = 4;
        assert_int_equal(intfa_variant_check(&v), INTFA_OK);
        v.kind = INTFA_KIND_QUANT_V; /* no Q/K format */
        assert_int_equal(intfa_variant_check(&v), INTFA_OK);
    }
    v = attn(INTFA_ARCH_SM80, 128, 128, 64, 8, 2);
    v.qk_format = (intfa_format)2;
    assert_int_equal(intfa_variant_check(&v), INTFA_ERR_INVALID_ARGUMENT);
    assert_string_equal(intfa_last_error(), "qk_format = 2: not an intfa_format (0..1)");

    v = attn(INTFA_ARCH_SM80, 128, 64, 64, 8, 2);
    assert_int_equal(intfa_variant_check(&v), INTFA_ERR_UNSUPPORTED);
    assert_string_equal(intfa_last_error(),
                        "block_m = 64 with warps = 8: each warp owns 16 query rows (or 32), so "
                        "block_m must be 128 or twice that");
    v = attn(INTFA_ARCH_SM80, 128, 32, 64, 2, 2);
    assert_int_equal(intfa_variant_check(&v), INTFA_ERR_UNSUPPORTED);
    assert_string_equal(intfa_last_error(),
                        "warps = 2: attention takes 4 or 8 warps (on sm_90a INT8 also 8 or 12 with "
                        "block_m = 16 * (warps - 4): the warp-specialized kernel)");
    v = attn(INTFA_ARCH_SM80, 128, 128, 96, 8, 2);
    assert_int_equal(intfa_variant_check(&v), INTFA_ERR_UNSUPPORTED);
    assert_string_equal(intfa_last_error(), "block_n = 96: supported are 32, 64 and 128");
    v = attn(INTFA_ARCH_SM80, 128, 128, 64, 8, 5);
    assert_int_equal(intfa_variant_check(&v), INTFA_ERR_UNSUPPORTED);
    assert_string_equal(intfa_last_error(), "stages = 5: supported are 1 to 4");
    v.stages = 0;
    assert_int_equal(intfa_variant_check(&v), INTFA_ERR_UNSUPPORTED);
    assert_string_equal(intfa_last_error(), "stages = 0: supported are 1 to 4");

    /* 128*128 + 4*(2*128*128 + 4*128) = 149504: fits sm_80 (166912), not sm_86 (101376). */
    v = attn(INTFA_ARCH_SM80, 128, 128, 128, 8, 4);
    assert_int_equal(intfa_variant_smem_bytes(&v), 149504);
    assert_int_equal(intfa_variant_check(&v), INTFA_OK);
    v.arch = INTFA_ARCH_SM86;
    assert_int_equal(intfa_variant_check(&v), INTFA_ERR_UNSUPPORTED);
    assert_string_equal(intfa_last_error(),
                        "shared memory: 149504 bytes (block_m 128, block_n 128, head_dim 128, "
                        "stages 4) exceed the sm_86 limit of 101376 bytes per block");
    v.arch = INTFA_ARCH_SM89;
    assert_int_equal(intfa_variant_check(&v), INTFA_ERR_UNSUPPORTED);
    assert_error_contains("sm_89 limit of 101376");
    v.arch = INTFA_ARCH_SM90A;
    assert_int_equal(intfa_variant_check(&v), INTFA_OK);

    /* The register estimate (one row tile per warp: Q fragments in registers), pinned; two
     * row tiles of 128 keys at hd128 exceed 255. */
    assert_int_equal(intfa_variant_reg_estimate(&v), 64 + 64 + 16 + 16 + 48);
    v = attn(INTFA_ARCH_SM90A, 128, 128, 128, 4, 1);
    assert_int_equal(intfa_variant_reg_estimate(&v), 2 * (64 + 64) + 48);
    assert_int_equal(intfa_variant_check(&v), INTFA_ERR_UNSUPPORTED);
    assert_error_contains("register estimate 304");
    v = attn(INTFA_ARCH_SM80, 64, 64, 32, 4, 1);
    assert_int_equal(intfa_variant_reg_estimate(&v), 16 + 32 + 8 + 16 + 48);
    assert_int_equal(intfa_variant_smem_bytes(&v), 64 * 64 + 1 * (2 * 32 * 64 + 4 * 32));

    /* The FP16 baseline: the attention tile rules, fp16 only, shared memory in fp16. */
    v = fp16(INTFA_ARCH_SM80, 128, 128, 64, 8, 2);
    v.qk_format = INTFA_FMT_INT4; /* not a field of this kind: ignored */
    v.p_quant = INTFA_PQ_S8_127;
    assert_int_equal(intfa_variant_check(&v), INTFA_OK);
    assert_int_equal(intfa_variant_smem_bytes(&v), 2 * (128 * 128 + 2 * 2 * 64 * 128));
    assert_int_equal(intfa_variant_reg_estimate(&v), 32 + 64 + 32 + 16 + 48);
    v.dtype = INTFA_DTYPE_BF16;
    assert_int_equal(intfa_variant_check(&v), INTFA_ERR_UNSUPPORTED);
    assert_string_equal(intfa_last_error(),
                        "dtype = bf16: the FP16 attention baseline (attn_fp16) is fp16 only");
    v = fp16(INTFA_ARCH_SM80, 128, 64, 64, 8, 2);
    assert_int_equal(intfa_variant_check(&v), INTFA_ERR_UNSUPPORTED);
    assert_error_contains("block_m = 64 with warps = 8: each warp owns 16 query rows (or 32)");
    /* two fp16 row tiles per warp: fine with 32 keys per tile, over the register estimate
     * (ptxas spills) with 64 */
    v = fp16(INTFA_ARCH_SM80, 128, 128, 32, 4, 2);
    assert_int_equal(intfa_variant_check(&v), INTFA_OK);
    assert_int_equal(intfa_variant_reg_estimate(&v), 2 * (16 + 64) + 16 + 48);
    v.block_n = 64;
    assert_int_equal(intfa_variant_check(&v), INTFA_ERR_UNSUPPORTED);
    assert_error_contains("register estimate 256");
    /* 2 * (128*128 + 3*2*64*128) = 131072: fits sm_80, not sm_86; 4 stages of 128 keys fit
     * neither. */
    v = fp16(INTFA_ARCH_SM80, 128, 128, 64, 8, 3);
    assert_int_equal(intfa_variant_check(&v), INTFA_OK);
    v.arch = INTFA_ARCH_SM86;
    assert_int_equal(intfa_variant_check(&v), INTFA_ERR_UNSUPPORTED);
    assert_string_equal(intfa_last_error(),
                        "shared memory: 131072 bytes (block_m 128, block_n 64, head_dim 128, "
                        "stages 3) exceed the sm_86 limit of 101376 bytes per block");
    v = fp16(INTFA_ARCH_SM80, 128, 128, 128, 8, 4);
    assert_int_equal(intfa_variant_check(&v), INTFA_ERR_UNSUPPORTED);
    assert_error_contains("sm_80 limit of 166912");
    v.arch = INTFA_ARCH_SM90A;
    assert_int_equal(intfa_variant_check(&v), INTFA_ERR_UNSUPPORTED);
    assert_error_contains("294912 bytes");

    /* Quantization kinds: warps 1, 2, 4, 8; other fields ignored. */
    memset(&v, 0x7F, sizeof v);
    v.kind = INTFA_KIND_QUANT_V;
    v.arch = INTFA_ARCH_SM89;
    v.head_dim = 64;
    v.dtype = INTFA_DTYPE_BF16;
    for (int w = 0; w <= 16; w++) {
        v.warps = w;
        int ok = w == 1 || w == 2 || w == 4 || w == 8;
        assert_int_equal(intfa_variant_check(&v), ok ? INTFA_OK : INTFA_ERR_UNSUPPORTED);
        if (!ok) assert_error_contains("warps = ");
    }
    assert_int_equal(intfa_arch_sm(INTFA_ARCH_SM90A), 90);
    assert_int_equal(intfa_arch_smem_limit(INTFA_ARCH_SM90A), 232448);
}

/* Independent statement of the rules: the reason words a variant violates (empty: valid). */
static int oracle(const intfa_variant *v, const char **reasons)
{
    int n = 0;
    if (v->head_dim < 32 || v->head_dim > 256 || v->head_dim % 16) reasons[n++] = "head_dim";
    const int fp16 = v->kind == INTFA_KIND_ATTN_FWD_FP16;
    const int ws = !fp16 && v->kind == INTFA_KIND_ATTN_FWD && v->arch == INTFA_ARCH_SM90A &&
                   v->qk_format == INTFA_FMT_INT8 && (v->warps == 8 || v->warps == 12) &&
                   v->block_m == 16 * (v->warps - 4);
    if (n == 0 && v->head_dim != 64 && v->head_dim != 128 &&
        (v->kind == INTFA_KIND_KV_CACHE || fp16 || ws ||
         ((v->kind == INTFA_KIND_ATTN_FWD || v->kind == INTFA_KIND_QUANT_QK) && v->qk_format == INTFA_FMT_INT4)))
        reasons[n++] = "takes 64 and 128";
    const long long d = (v->head_dim + 31) / 32 * 32; /* what the attention kernels compute with */
    if (v->kind == INTFA_KIND_KV_CACHE) { /* its warp merge: 2 or 4 warps */
        if (v->warps != 2 && v->warps != 4) reasons[n++] = "warps";
        return n;
    }
    if (!is_attention(v->kind)) {
        if (v->warps != 1 && v->warps != 2 && v->warps != 4 && v->warps != 8)
            reasons[n++] = "warps";
        return n;
    }
    if (fp16 && v->dtype != INTFA_DTYPE_FP16) reasons[n++] = "fp16 only";
    if (ws) {
        /* the warp-specialized kernel: 64 or 128 keys, 2..4 stages, the shared memory of Q, the
         * stages (K, V^T, key scales), 1 KB of alignment and the mbarriers; 240 registers */
        if (v->block_n != 64 && v->block_n != 128) reasons[n++] = "block_n";
        if (v->stages < 2 || v->stages > 4) reasons[n++] = "stages";
        const long long smem = (long long)v->block_m * v->head_dim +
                               (long long)v->stages * (2LL * v->block_n * v->head_dim + 4LL * v->block_n + 16) + 1040;
        if (smem > 232448) reasons[n++] = "shared memory";
        if (v->block_n / 2 + v->head_dim + v->block_n / 8 + 32 > 240) reasons[n++] = "register";
        return n;
    }
    if (v->warps != 4 && v->warps != 8) reasons[n++] = "warps";
    if (v->block_m != 16 * v->warps && v->block_m != 32 * v->warps) reasons[n++] = "block_m";
    if (v->block_n != 32 && v->block_n != 64 && v->block_n != 128) reasons[n++] = "block_n";
    if (v->stages < 1 || v->stages > 4) reasons[n++] = "stages";
    static const long long limit[] = {166912, 101376, 101376, 232448, 232448};
    long long smem = fp16 ? 2LL * v->block_m * d + 4LL * v->stages * v->block_n * d
                          : (long long)v->block_m * d + (long long)v->stages * (2LL * v->block_n * d + 4LL * v->block_n);
    if (!fp16 && v->qk_format == INTFA_FMT_INT4) { /* packed Q and K tiles; sm_90 unpacks */
        const long long half = v->head_dim / 2, kv = (long long)v->block_n * v->head_dim;
        smem -= (long long)v->block_m * half + (long long)v->stages * v->block_n * half;
        if (v->arch == INTFA_ARCH_SM90 || v->arch == INTFA_ARCH_SM90A)
            smem += (long long)v->block_m * v->head_dim + kv;
    }
    if (smem > limit[v->arch]) reasons[n++] = "shared memory";
    const int tiles = v->warps > 0 ? v->block_m / (16 * v->warps) : 1; /* row tiles per warp */
    const long long q = d > 128 ? (tiles == 1 || !fp16 ? 0 : 16) /* Q from shared memory */
                        : tiles == 1 ? d / (fp16 ? 4 : 8) + 16 : fp16 ? 16 : 0;
    const long long regs = tiles * (v->block_n / 2 + d / 2) + q + 48;
    if (regs > 255) reasons[n++] = "register";
    return n;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static unsigned rnd(unsigned n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (unsigned)(rng_state % n);
}

static void test_random_sweep(void **state)
{
    (void)state;
    static const int dims[] = {0, 32, 48, 64, 72, 96, 128, 160, 256, 272};
    static const int ms[] = {16, 32, 48, 64, 128, 256};
    static const int ns[] = {0, 16, 32, 48, 64, 96, 128, 256};
    static const int ws[] = {0, 1, 2, 3, 4, 8, 12, 16};
    int valid = 0, invalid = 0;
    for (int it = 0; it < 200000; it++) {
        intfa_variant v;
        memset(&v, 0, sizeof v);
        v.kind = (intfa_kind)rnd(INTFA_KIND_COUNT);
        v.arch = (intfa_arch)rnd(INTFA_ARCH_COUNT);
        v.head_dim = dims[rnd(10)];
        v.warps = ws[rnd(8)];
        v.block_m = rnd(2) ? 16 * v.warps : rnd(2) && v.warps > 4 ? 16 * (v.warps - 4) : ms[rnd(6)];
        v.block_n = ns[rnd(8)];
        v.stages = (int)rnd(6);
        v.qk_format = rnd(4) == 0 ? INTFA_FMT_INT4 : INTFA_FMT_INT8;
        v.causal = (int)rnd(2);
        v.dtype = (intfa_dtype)rnd(2);
        v.p_quant = (intfa_p_quant)rnd(2);
        if (v.kind != INTFA_KIND_ATTN_FWD && rnd(2)) v = normalized(v);

        const char *reasons[16];
        int nr = oracle(&v, reasons);
        intfa_status st = intfa_variant_check(&v);
        if (nr == 0) {
            if (st != INTFA_OK) {
                print_error("check refused a valid variant: %s\n", intfa_last_error());
                fail();
            }
            valid++;
        } else {
            assert_int_equal(st, INTFA_ERR_UNSUPPORTED);
            int found = 0;
            for (int r = 0; r < nr; r++) found |= strstr(intfa_last_error(), reasons[r]) != NULL;
            if (!found) {
                print_error("message \"%s\" names none of the %d reasons (first: %s)\n",
                            intfa_last_error(), nr, reasons[0]);
                fail();
            }
            invalid++;
        }
        /* Every variant with in-range fields prints and parses back, valid or not. */
        assert_round_trip(&v);
    }
    assert_true(valid > 1000);
    assert_true(invalid > 1000);
}

/* ------------------------------------------------------------------ defaults */

static void test_default_sets(void **state)
{
    (void)state;
    enum { COUNT = 36 };
    for (int a = 0; a < INTFA_ARCH_COUNT; a++) {
        size_t count = 0;
        assert_int_equal(intfa_variant_default_set((intfa_arch)a, NULL, 0, &count), INTFA_OK);
        assert_int_equal(count, COUNT);
        intfa_variant set[COUNT + 8];
        memset(set, 0xAB, sizeof set);
        size_t count2 = 0;
        assert_int_equal(intfa_variant_default_set((intfa_arch)a, set, COUNT + 8, &count2), INTFA_OK);
        assert_int_equal(count2, COUNT);
        int kinds[INTFA_KIND_COUNT] = {0}, ps8 = 0, int4[INTFA_KIND_COUNT] = {0};
        char names[COUNT][INTFA_VARIANT_NAME_MAX];
        for (size_t i = 0; i < count2; i++) {
            assert_int_equal(set[i].arch, a);
            assert_int_equal(intfa_variant_check(&set[i]), INTFA_OK);
            assert_round_trip(&set[i]);
            assert_int_equal(intfa_variant_name(&set[i], names[i], sizeof names[i]), INTFA_OK);
            for (size_t j = 0; j < i; j++) assert_string_not_equal(names[i], names[j]);
            kinds[set[i].kind]++;
            ps8 += set[i].kind == INTFA_KIND_ATTN_FWD && set[i].p_quant == INTFA_PQ_S8_127;
            int4[set[i].kind] += set[i].qk_format == INTFA_FMT_INT4;
        }
        assert_int_equal(kinds[INTFA_KIND_ATTN_FWD], 16);
        assert_int_equal(kinds[INTFA_KIND_QUANT_QK], 8);
        assert_int_equal(kinds[INTFA_KIND_QUANT_V], 4);
        assert_int_equal(kinds[INTFA_KIND_ATTN_FWD_FP16], 4);
        assert_int_equal(kinds[INTFA_KIND_KV_CACHE], 4);
        assert_int_equal(ps8, 4);
        assert_int_equal(int4[INTFA_KIND_ATTN_FWD], 4);
        assert_int_equal(int4[INTFA_KIND_QUANT_QK], 4);
        /* Entries past the set stay untouched. */
        unsigned char poison[sizeof(intfa_variant)];
        memset(poison, 0xAB, sizeof poison);
        assert_memory_equal(&set[COUNT], poison, sizeof poison);

        /* A smaller cap writes a prefix of the same order. */
        intfa_variant few[5];
        memset(few, 0xAB, sizeof few);
        size_t count3 = 0;
        assert_int_equal(intfa_variant_default_set((intfa_arch)a, few, 3, &count3), INTFA_OK);
        assert_int_equal(count3, COUNT);
        assert_memory_equal(few, set, 3 * sizeof few[0]);
        assert_memory_equal(&few[3], poison, sizeof poison);
    }
    /* Fixed order, pinned on sm_86: the INT8 set, then the INT4 one, then the KV cache's. */
    intfa_variant set[COUNT];
    size_t count;
    assert_int_equal(intfa_variant_default_set(INTFA_ARCH_SM86, set, COUNT, &count), INTFA_OK);
    static const char *const want[COUNT] = {
        "attn_fwd-sm86-d64-int8-fp16-full-pu8-m64n128w4s2",
        "attn_fwd-sm86-d64-int8-bf16-full-pu8-m64n128w4s2",
        "attn_fwd-sm86-d64-int8-fp16-causal-pu8-m64n128w4s2",
        "attn_fwd-sm86-d64-int8-bf16-causal-pu8-m64n128w4s2",
        "attn_fwd-sm86-d128-int8-fp16-full-pu8-m128n64w4s2",
        "attn_fwd-sm86-d128-int8-bf16-full-pu8-m128n64w4s2",
        "attn_fwd-sm86-d128-int8-fp16-causal-pu8-m128n64w4s2",
        "attn_fwd-sm86-d128-int8-bf16-causal-pu8-m128n64w4s2",
        "attn_fwd-sm86-d64-int8-fp16-full-ps8-m64n128w4s2",
        "attn_fwd-sm86-d64-int8-fp16-causal-ps8-m64n128w4s2",
        "attn_fwd-sm86-d128-int8-fp16-full-ps8-m128n64w4s2",
        "attn_fwd-sm86-d128-int8-fp16-causal-ps8-m128n64w4s2",
        "attn_fp16-sm86-d64-fp16-full-m64n128w4s2",
        "attn_fp16-sm86-d64-fp16-causal-m64n128w4s2",
        "attn_fp16-sm86-d128-fp16-full-m128n64w8s2",
        "attn_fp16-sm86-d128-fp16-causal-m128n64w8s2",
        "quant_qk-sm86-d64-int8-fp16-w4",
        "quant_qk-sm86-d64-int8-bf16-w4",
        "quant_qk-sm86-d128-int8-fp16-w4",
        "quant_qk-sm86-d128-int8-bf16-w4",
        "quant_v-sm86-d64-fp16-w4",
        "quant_v-sm86-d64-bf16-w4",
        "quant_v-sm86-d128-fp16-w4",
        "quant_v-sm86-d128-bf16-w4",
        "attn_fwd-sm86-d64-int4-fp16-full-pu8-m64n128w4s2",
        "attn_fwd-sm86-d64-int4-fp16-causal-pu8-m64n128w4s2",
        "attn_fwd-sm86-d128-int4-fp16-full-pu8-m128n64w4s2",
        "attn_fwd-sm86-d128-int4-fp16-causal-pu8-m128n64w4s2",
        "quant_qk-sm86-d64-int4-fp16-w4",
        "quant_qk-sm86-d64-int4-bf16-w4",
        "quant_qk-sm86-d128-int4-fp16-w4",
        "quant_qk-sm86-d128-int4-bf16-w4",
        "kv_cache-sm86-d64-fp16-w4",
        "kv_cache-sm86-d64-bf16-w4",
        "kv_cache-sm86-d128-fp16-w4",
        "kv_cache-sm86-d128-bf16-w4",
    };
    for (int i = 0; i < COUNT; i++) {
        char name[INTFA_VARIANT_NAME_MAX];
        assert_int_equal(intfa_variant_name(&set[i], name, sizeof name), INTFA_OK);
        assert_string_equal(name, want[i]);
    }
    assert_int_equal(intfa_variant_default_set(INTFA_ARCH_SM80, set, 20, NULL),
                     INTFA_ERR_INVALID_ARGUMENT);
    assert_int_equal(intfa_variant_default_set(INTFA_ARCH_SM80, NULL, 20, &count),
                     INTFA_ERR_INVALID_ARGUMENT);
    count = 12345;
    assert_int_equal(intfa_variant_default_set((intfa_arch)9, set, 20, &count),
                     INTFA_ERR_INVALID_ARGUMENT);
    assert_int_equal(count, 12345);
    assert_error_contains("arch = 9");
}

static void test_default_tiles(void **state)
{
    (void)state;
    /* every arch but sm_90a: INT8 hd128 m128n64w4 (two row tiles per warp), hd64 m64n128w4;
     * sm_90a (the wgmma kernel) m64n128w4 at both; the FP16 baseline the mma.sync blocks, at
     * hd128 over 8 warps */
    static const struct {
        intfa_kind kind;
        int d, m, n, w, s;
    } want[] = {
        {INTFA_KIND_ATTN_FWD, 128, 128, 64, 4, 2},      {INTFA_KIND_ATTN_FWD, 64, 64, 128, 4, 2},
        {INTFA_KIND_ATTN_FWD_FP16, 128, 128, 64, 8, 2}, {INTFA_KIND_ATTN_FWD_FP16, 64, 64, 128, 4, 2},
    };
    for (int a = 0; a < INTFA_ARCH_COUNT; a++)
        for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
            for (int c = 0; c < 2; c++) {
                const int int8 = want[i].kind == INTFA_KIND_ATTN_FWD;
                const intfa_dtype dt = int8 ? INTFA_DTYPE_BF16 : INTFA_DTYPE_FP16;
                intfa_variant v;
                assert_int_equal(intfa_variant_default(want[i].kind, (intfa_arch)a, want[i].d,
                                                       INTFA_FMT_INT8, c, dt, INTFA_PQ_S8_127, &v),
                                 INTFA_OK);
                const int wg = int8 && a == INTFA_ARCH_SM90A;
                intfa_variant e = attn((intfa_arch)a, want[i].d, wg ? 64 : want[i].m,
                                       wg ? 128 : want[i].n, want[i].w, want[i].s);
                e.kind = want[i].kind;
                e.causal = c;
                e.dtype = dt;
                e.p_quant = int8 ? INTFA_PQ_S8_127 : INTFA_PQ_U8_ROW;
                assert_memory_equal(&v, &e, sizeof v);
                assert_int_equal(intfa_variant_check(&v), INTFA_OK);
            }
    /* Failures leave the output alone. */
    intfa_variant out, poison;
    memset(&out, 0xAB, sizeof out);
    memset(&poison, 0xAB, sizeof poison);
    assert_int_equal(intfa_variant_default(INTFA_KIND_ATTN_FWD, INTFA_ARCH_SM80, 72,
                                           INTFA_FMT_INT8, 0, INTFA_DTYPE_FP16, INTFA_PQ_U8_ROW,
                                           &out),
                     INTFA_ERR_UNSUPPORTED);
    assert_error_contains("head_dim = 72");
    assert_memory_equal(&out, &poison, sizeof out);
    /* the other head dims on mma.sync: up to 64 as hd64, up to 128 as hd128, past 128 one row
     * tile per warp and 64 keys (32 past 192); the wgmma kernel's (sm_90a) tiles are
     * test_sm90a_int8_tiles' */
    static const struct { int d, m, n; } other[] = {
        {32, 64, 128}, {48, 64, 128}, {80, 128, 64}, {96, 128, 64},
        {160, 64, 64}, {192, 64, 64}, {224, 64, 32}, {256, 64, 32}};
    for (int a = 0; a < INTFA_ARCH_COUNT; a++)
        for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
            intfa_variant v;
            assert_int_equal(intfa_variant_default(INTFA_KIND_ATTN_FWD, (intfa_arch)a, other[i].d,
                                                   INTFA_FMT_INT8, 1, INTFA_DTYPE_FP16, INTFA_PQ_U8_ROW, &v),
                             INTFA_OK);
            const int wg = a == INTFA_ARCH_SM90A;
            if (!wg) {
                assert_int_equal(v.block_m, other[i].m);
                assert_int_equal(v.block_n, other[i].n);
                assert_int_equal(v.warps, 4);
            }
            assert_int_equal(intfa_variant_uses_wgmma(&v), wg);
            assert_int_equal(intfa_variant_default(INTFA_KIND_ATTN_FWD, (intfa_arch)a, other[i].d,
                                                   INTFA_FMT_INT4, 1, INTFA_DTYPE_FP16, INTFA_PQ_U8_ROW, &out),
                             INTFA_ERR_UNSUPPORTED);
        }
    /* INT4: the INT8 tile with packed Q/K, on every arch but sm_90a (INT4 runs on mma.sync,
     * with the mma.sync tile; hd64's is the same as the wgmma one) */
    for (int a = 0; a < INTFA_ARCH_COUNT; a++)
        for (int d = 64; d <= 128; d *= 2) {
            intfa_variant v4, v8;
            assert_int_equal(intfa_variant_default(INTFA_KIND_ATTN_FWD, (intfa_arch)a, d,
                                                   INTFA_FMT_INT4, 1, INTFA_DTYPE_FP16,
                                                   INTFA_PQ_U8_ROW, &v4),
                             INTFA_OK);
            assert_int_equal(intfa_variant_default(INTFA_KIND_ATTN_FWD, (intfa_arch)a, d,
                                                   INTFA_FMT_INT8, 1, INTFA_DTYPE_FP16,
                                                   INTFA_PQ_U8_ROW, &v8),
                             INTFA_OK);
            assert_int_equal(v4.qk_format, INTFA_FMT_INT4);
            v4.qk_format = INTFA_FMT_INT8;
            if (a == INTFA_ARCH_SM90A && d == 128) {
                assert_int_equal(v4.block_m, 128);
                assert_int_equal(v4.block_n, 64);
                v4.block_m = 64;
                v4.block_n = 128;
            }
            assert_memory_equal(&v4, &v8, sizeof v4);
        }
    assert_int_equal(intfa_variant_default((intfa_kind)5, INTFA_ARCH_SM80, 128, INTFA_FMT_INT8,
                                           0, INTFA_DTYPE_FP16, INTFA_PQ_U8_ROW, &out),
                     INTFA_ERR_INVALID_ARGUMENT);
    assert_int_equal(intfa_variant_default(INTFA_KIND_ATTN_FWD, (intfa_arch)5, 128,
                                           INTFA_FMT_INT8, 0, INTFA_DTYPE_FP16, INTFA_PQ_U8_ROW,
                                           &out),
                     INTFA_ERR_INVALID_ARGUMENT);
    assert_int_equal(intfa_variant_default(INTFA_KIND_ATTN_FWD, INTFA_ARCH_SM80, 128,
                                           INTFA_FMT_INT8, 3, INTFA_DTYPE_FP16, INTFA_PQ_U8_ROW,
                                           &out),
                     INTFA_ERR_INVALID_ARGUMENT);
    assert_memory_equal(&out, &poison, sizeof out);
    assert_int_equal(intfa_variant_default(INTFA_KIND_QUANT_QK, INTFA_ARCH_SM80, 128,
                                           INTFA_FMT_INT8, 0, INTFA_DTYPE_FP16, INTFA_PQ_U8_ROW,
                                           NULL),
                     INTFA_ERR_INVALID_ARGUMENT);
}

/* The sm_90a INT8 default tile (the wgmma kernel, pu8 and ps8) at every head dim, both masks:
 * m64n128w4 up to 128; past it the H200 sweep's fastest (docs/RESULTS.md session 10), by the
 * padded head dim: 128 keys at 192 and at 160 causal, 64 at 160 full (128 keys measured 2%
 * slower), two warpgroups (m128n128w8) past 192. */
static void test_sm90a_int8_tiles(void **state)
{
    (void)state;
    static const struct {
        int d, causal, m, n, w;
    } want[] = {
        {32, 0, 64, 128, 4},   {32, 1, 64, 128, 4},   {48, 0, 64, 128, 4},   {48, 1, 64, 128, 4},
        {64, 0, 64, 128, 4},   {64, 1, 64, 128, 4},   {80, 0, 64, 128, 4},   {80, 1, 64, 128, 4},
        {96, 0, 64, 128, 4},   {96, 1, 64, 128, 4},   {112, 0, 64, 128, 4},  {112, 1, 64, 128, 4},
        {128, 0, 64, 128, 4},  {128, 1, 64, 128, 4},  {144, 0, 64, 64, 4},   {144, 1, 64, 128, 4},
        {160, 0, 64, 64, 4},   {160, 1, 64, 128, 4},  {176, 0, 64, 128, 4},  {176, 1, 64, 128, 4},
        {192, 0, 64, 128, 4},  {192, 1, 64, 128, 4},  {208, 0, 128, 128, 8}, {208, 1, 128, 128, 8},
        {224, 0, 128, 128, 8}, {224, 1, 128, 128, 8}, {240, 0, 128, 128, 8}, {240, 1, 128, 128, 8},
        {256, 0, 128, 128, 8}, {256, 1, 128, 128, 8},
    };
    static const intfa_p_quant pqs[2] = {INTFA_PQ_U8_ROW, INTFA_PQ_S8_127};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        for (int q = 0; q < 2; q++)
            for (int dt = INTFA_DTYPE_FP16; dt <= INTFA_DTYPE_BF16; dt++) {
                intfa_variant v;
                assert_int_equal(intfa_variant_default(INTFA_KIND_ATTN_FWD, INTFA_ARCH_SM90A, want[i].d,
                                                       INTFA_FMT_INT8, want[i].causal, (intfa_dtype)dt,
                                                       pqs[q], &v),
                                 INTFA_OK);
                intfa_variant e = attn(INTFA_ARCH_SM90A, want[i].d, want[i].m, want[i].n, want[i].w, 2);
                e.causal = want[i].causal;
                e.dtype = (intfa_dtype)dt;
                e.p_quant = pqs[q];
                if (memcmp(&v, &e, sizeof v) != 0) {
                    print_error("d%d causal %d %s: m%dn%dw%d, want m%dn%dw%d\n", want[i].d,
                                want[i].causal, intfa_p_quant_name(pqs[q]), v.block_m, v.block_n,
                                v.warps, want[i].m, want[i].n, want[i].w);
                    fail();
                }
                /* all on the wgmma kernel (block_m = 16 warps), m128w8 too: the warp-specialized
                 * family's w8 is m64, so the names do not collide; valid, and the name parses back */
                assert_true(intfa_variant_uses_wgmma(&v));
                assert_false(intfa_variant_uses_ws(&v));
                assert_int_equal(intfa_variant_check(&v), INTFA_OK);
                assert_round_trip(&v);
            }
    /* hd144 and hd160 without a mask keep the 64-key tile, by name */
    static const char *const full64[] = {"attn_fwd-sm90a-d144-int8-fp16-full-pu8-m64n64w4s2",
                                         "attn_fwd-sm90a-d160-int8-fp16-full-pu8-m64n64w4s2"};
    for (int i = 0; i < 2; i++) {
        intfa_variant v;
        char name[INTFA_VARIANT_NAME_MAX];
        assert_int_equal(intfa_variant_default(INTFA_KIND_ATTN_FWD, INTFA_ARCH_SM90A, 144 + 16 * i,
                                               INTFA_FMT_INT8, 0, INTFA_DTYPE_FP16, INTFA_PQ_U8_ROW, &v),
                         INTFA_OK);
        assert_int_equal(intfa_variant_name(&v, name, sizeof name), INTFA_OK);
        assert_string_equal(name, full64[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arch_names),    cmocka_unit_test(test_exact_names),
        cmocka_unit_test(test_name_cap_and_args), cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_check_messages), cmocka_unit_test(test_random_sweep),
        cmocka_unit_test(test_default_sets),  cmocka_unit_test(test_default_tiles),
        cmocka_unit_test(test_sm90a_int8_tiles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
