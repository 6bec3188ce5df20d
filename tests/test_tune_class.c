/* test_tune_class.c - the tuner's problem classes (buckets, mapping, text form, representative
 * problems, the default set), the candidate space with its pruning, and the tie-aware ranking. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../tuning/tune_rank.h"
#include "../tuning/tune_space.h"
#include "render.h"

static intfa_attn_problem problem(int64_t seq_kv, int64_t d, int causal, intfa_dtype dt, intfa_p_quant pq)
{
    intfa_attn_problem p = {1, 2, 2, 7, seq_kv, d, 0.0f, causal, dt, pq, INTFA_VS_CHANNEL};
    return p;
}

static void test_buckets(void **state)
{
    (void)state;
    const int64_t seq[] = {0, 1, 1024, 1025, 4096, 4097, 1LL << 30};
    const intfa_tune_bucket want[] = {INTFA_TUNE_KV_1K, INTFA_TUNE_KV_1K, INTFA_TUNE_KV_1K, INTFA_TUNE_KV_4K,
                                      INTFA_TUNE_KV_4K, INTFA_TUNE_KV_LONG, INTFA_TUNE_KV_LONG};
    for (size_t i = 0; i < sizeof seq / sizeof seq[0]; i++)
        assert_int_equal(intfa_tune_bucket_of(seq[i]), want[i]);
    assert_string_equal(intfa_tune_bucket_name(INTFA_TUNE_KV_4K), "kv<=4096");
    assert_null(intfa_tune_bucket_name(INTFA_TUNE_BUCKET_COUNT));
}

static void test_class_of(void **state)
{
    (void)state;
    intfa_attn_problem p = problem(3000, 128, 1, INTFA_DTYPE_BF16, INTFA_PQ_S8_127);
    intfa_tune_class c;
    assert_int_equal(intfa_tune_class_of(&p, &c), INTFA_OK);
    assert_int_equal(c.head_dim, 128);
    assert_int_equal(c.qk_format, INTFA_FMT_INT8);
    assert_int_equal(c.dtype, INTFA_DTYPE_BF16);
    assert_int_equal(c.causal, 1);
    assert_int_equal(c.p_quant, INTFA_PQ_S8_127);
    assert_int_equal(c.bucket, INTFA_TUNE_KV_4K);

    /* invalid problems: an error naming the field, out unchanged */
    intfa_tune_class before = c;
    p.head_dim = 72;
    assert_int_equal(intfa_tune_class_of(&p, &c), INTFA_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(intfa_last_error(), "head_dim = 72"));
    p.head_dim = 64;
    p.causal = 2;
    assert_int_equal(intfa_tune_class_of(&p, &c), INTFA_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(intfa_last_error(), "causal = 2"));
    p.causal = 0;
    p.seq_kv = -1;
    assert_int_equal(intfa_tune_class_of(&p, &c), INTFA_ERR_INVALID_ARGUMENT);
    assert_memory_equal(&before, &c, sizeof c);
    assert_int_equal(intfa_tune_class_of(NULL, &c), INTFA_ERR_INVALID_ARGUMENT);
}

/* Every valid class: text round trip, its representative problem maps back to it. */
static void test_text_and_problems(void **state)
{
    (void)state;
    size_t count = 0;
    for (int d = 64; d <= 128; d *= 2)
        for (int f = 0; f < 2; f++)
            for (int t = 0; t < 2; t++)
                for (int causal = 0; causal < 2; causal++)
                    for (int q = 0; q < 2; q++)
                        for (int b = 0; b < INTFA_TUNE_BUCKET_COUNT; b++, count++) {
                            intfa_tune_class c = {d, (intfa_format)f, (intfa_dtype)t, causal, (intfa_p_quant)q,
                                                  (intfa_tune_bucket)b}, back;
                            char text[INTFA_TUNE_CLASS_TEXT_MAX], copy[INTFA_TUNE_CLASS_TEXT_MAX];
                            assert_int_equal(intfa_tune_class_format(&c, text, sizeof text), INTFA_OK);
                            strcpy(copy, text);
                            const char *tok[INTFA_TUNE_CLASS_TOKENS];
                            char *save = NULL;
                            size_t n = 0;
                            for (char *s = strtok_r(copy, " ", &save); s; s = strtok_r(NULL, " ", &save)) tok[n++] = s;
                            assert_int_equal(n, INTFA_TUNE_CLASS_TOKENS);
                            assert_int_equal(intfa_tune_class_parse(tok, &back), INTFA_OK);
                            assert_true(intfa_tune_class_equal(&c, &back));

                            intfa_attn_problem p;
                            assert_int_equal(intfa_tune_class_problem(&c, &p), INTFA_OK);
                            if (f == INTFA_FMT_INT8) {
                                assert_int_equal(intfa_tune_class_of(&p, &back), INTFA_OK);
                                assert_true(intfa_tune_class_equal(&c, &back));
                            }
                            assert_int_equal(p.batch * p.seq_q, INTFA_TUNE_TOKENS);
                            assert_int_equal(p.seq_q, p.seq_kv);
                            assert_int_equal(p.heads_q, p.heads_kv);
                        }
    assert_int_equal(count, 96);
    char small[8];
    intfa_tune_class c = {128, INTFA_FMT_INT8, INTFA_DTYPE_FP16, 0, INTFA_PQ_U8_ROW, INTFA_TUNE_KV_1K};
    assert_int_equal(intfa_tune_class_format(&c, small, sizeof small), INTFA_ERR_INVALID_ARGUMENT);
}

static void test_parse_errors(void **state)
{
    (void)state;
    const char *bad[][INTFA_TUNE_CLASS_TOKENS] = {
        {"d72", "int8", "fp16", "full", "pu8", "kv<=1024"},
        {"d64", "int16", "fp16", "full", "pu8", "kv<=1024"},
        {"d64", "int8", "fp32", "full", "pu8", "kv<=1024"},
        {"d64", "int8", "fp16", "half", "pu8", "kv<=1024"},
        {"d64", "int8", "fp16", "full", "pu4", "kv<=1024"},
        {"d64", "int8", "fp16", "full", "pu8", "kv<=2048"},
    };
    const char *field[] = {"head_dim", "format", "dtype", "mask", "p_quant", "bucket"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        intfa_tune_class c = {0};
        assert_int_equal(intfa_tune_class_parse(bad[i], &c), INTFA_ERR_INVALID_ARGUMENT);
        assert_non_null(strstr(intfa_last_error(), field[i]));
        assert_int_equal(c.head_dim, 0);
    }
}

static void test_default_classes(void **state)
{
    (void)state;
    intfa_tune_class c[16];
    size_t n = 0;
    assert_int_equal(intfa_tune_default_classes(c, 16, &n), INTFA_OK);
    assert_int_equal(n, 12);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(c[i].dtype, INTFA_DTYPE_FP16);
        assert_int_equal(c[i].p_quant, INTFA_PQ_U8_ROW);
        assert_int_equal(c[i].qk_format, INTFA_FMT_INT8);
        for (size_t j = 0; j < i; j++) assert_false(intfa_tune_class_equal(&c[i], &c[j]));
    }
    size_t m = 0;
    assert_int_equal(intfa_tune_default_classes(NULL, 0, &m), INTFA_OK);
    assert_int_equal(m, 12);

    /* other head dims (intfa-tune --head-dims): 6 classes each, in order; candidates exist */
    static const int dims[2] = {96, 256};
    intfa_tune_class o[16];
    assert_int_equal(intfa_tune_classes_for(dims, 2, o, 16, &n), INTFA_OK);
    assert_int_equal(n, 12);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(o[i].head_dim, dims[i / 6]);
        assert_int_equal(o[i].causal, (int)(i / 3) % 2);
        assert_int_equal(intfa_tune_class_check(&o[i]), INTFA_OK);
        intfa_variant cand[INTFA_TUNE_MAX_CANDIDATES];
        size_t nc = 0;
        assert_int_equal(intfa_tune_candidates(&o[i], INTFA_ARCH_SM90A, cand, INTFA_TUNE_MAX_CANDIDATES, &nc, NULL),
                         INTFA_OK);
        assert_true(nc >= 2);
        for (size_t k = 0; k < nc; k++) assert_false(intfa_variant_uses_ws(&cand[k])); /* 64/128 only */
    }
    static const int bad[2] = {96, 72};
    m = 777;
    assert_int_equal(intfa_tune_classes_for(bad, 2, o, 16, &m), INTFA_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(intfa_last_error(), "head_dim = 72"));
    assert_int_equal(m, 777);
}

static int same_variant(const intfa_variant *a, const intfa_variant *b)
{
    char x[INTFA_VARIANT_NAME_MAX], y[INTFA_VARIANT_NAME_MAX];
    return intfa_variant_name(a, x, sizeof x) == INTFA_OK && intfa_variant_name(b, y, sizeof y) == INTFA_OK &&
           strcmp(x, y) == 0;
}

/* Candidates: the default first, all valid and distinct, the same list every time, and the
 * grid points the resource checks reject counted as pruned. */
static void test_candidates(void **state)
{
    (void)state;
    for (int arch = 0; arch < INTFA_ARCH_COUNT; arch++)
        for (int d = 64; d <= 128; d *= 2) {
            intfa_tune_class c = {d, INTFA_FMT_INT8, INTFA_DTYPE_FP16, 1, INTFA_PQ_U8_ROW, INTFA_TUNE_KV_4K};
            intfa_variant v[INTFA_TUNE_MAX_CANDIDATES], again[INTFA_TUNE_MAX_CANDIDATES], def;
            size_t n = 0, n2 = 0, pruned = 99, pruned2 = 0;
            assert_int_equal(intfa_tune_candidates(&c, (intfa_arch)arch, v, INTFA_TUNE_MAX_CANDIDATES, &n, &pruned), INTFA_OK);
            assert_int_equal(intfa_tune_candidates(&c, (intfa_arch)arch, again, INTFA_TUNE_MAX_CANDIDATES, &n2, &pruned2), INTFA_OK);
            assert_int_equal(n, n2);
            assert_int_equal(pruned, pruned2);
            /* the default lies in the grid; sm_90a INT8 adds the warp-specialized grid */
            assert_int_equal(n + pruned, 27 + (arch == INTFA_ARCH_SM90A ? 12 : 0));
            assert_int_equal(intfa_variant_default(INTFA_KIND_ATTN_FWD, (intfa_arch)arch, d, INTFA_FMT_INT8, 1,
                                                   INTFA_DTYPE_FP16, INTFA_PQ_U8_ROW, &def), INTFA_OK);
            assert_true(same_variant(&v[0], &def));
            for (size_t i = 0; i < n; i++) {
                assert_true(same_variant(&v[i], &again[i]));
                assert_int_equal(intfa_variant_check(&v[i]), INTFA_OK);
                assert_true(intfa_tune_class_admits(&c, &v[i]));
                assert_true(intfa_variant_smem_bytes(&v[i]) <= intfa_arch_smem_limit((intfa_arch)arch));
                for (size_t j = 0; j < i; j++) assert_false(same_variant(&v[i], &v[j]));
            }
            /* on sm_90a only two-tile warps with hd128 and 128-key tiles exceed the registers */
            if (arch == INTFA_ARCH_SM90A) assert_int_equal(pruned, d == 128 ? 3 : 0);
            /* 99 KB parts cannot hold hd128 with 128-row blocks, 128-key tiles and 3 stages */
            if ((arch == INTFA_ARCH_SM86 || arch == INTFA_ARCH_SM89) && d == 128) assert_true(pruned > 0);
        }
    /* INT4 classes have INT4 candidates (the INT8 grid, shared memory allowing) */
    intfa_tune_class int4 = {128, INTFA_FMT_INT4, INTFA_DTYPE_FP16, 0, INTFA_PQ_U8_ROW, INTFA_TUNE_KV_1K};
    intfa_variant v[INTFA_TUNE_MAX_CANDIDATES];
    size_t n = 0;
    assert_int_equal(intfa_tune_candidates(&int4, INTFA_ARCH_SM90A, v, INTFA_TUNE_MAX_CANDIDATES, &n, NULL),
                     INTFA_OK);
    assert_true(n > 0);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(v[i].qk_format, INTFA_FMT_INT4);
        assert_true(intfa_tune_class_admits(&int4, &v[i]));
    }
    intfa_tune_class ok = int4;
    ok.qk_format = INTFA_FMT_INT8;
    assert_int_equal(intfa_tune_candidates(&ok, INTFA_ARCH_SM90A, v, 3, &n, NULL), INTFA_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(intfa_last_error(), "cap = 3"));
}

static void assert_rank(const double *ms, size_t n, const size_t *want, size_t nwant)
{
    size_t order[32], k = 99;
    intfa_tune_rank(ms, n, order, &k);
    assert_int_equal(k, nwant);
    for (size_t i = 0; i < nwant; i++) assert_int_equal(order[i], want[i]);
}

static void test_rank(void **state)
{
    (void)state;
    /* within 2% of the best: the earliest wins */
    const double ties[] = {1.00, 0.99, 0.985, 1.5};
    assert_rank(ties, 4, (const size_t[]){0, 1, 2, 3}, 4);
    /* more than 2% faster: wins */
    const double clear[] = {1.00, 1.00, 0.97, 1.01};
    assert_rank(clear, 4, (const size_t[]){2, 0, 1, 3}, 4);
    /* failures are never ranked */
    const double fails[] = {INFINITY, 0.5, NAN, -1.0, 0.0, 0.6};
    assert_rank(fails, 6, (const size_t[]){1, 5}, 2);
    const double none[] = {INFINITY, INFINITY};
    assert_rank(none, 2, NULL, 0);
    /* the band is relative to the fastest remaining: 0.99 is no tie with 0.97, but once 0.97
     * is ranked, 1.00 ties with 0.99 and comes first */
    const double chain[] = {1.00, 0.99, 0.97};
    assert_rank(chain, 3, (const size_t[]){2, 0, 1}, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buckets),        cmocka_unit_test(test_class_of),
        cmocka_unit_test(test_text_and_problems), cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_default_classes), cmocka_unit_test(test_candidates),
        cmocka_unit_test(test_rank),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
