/* test_kv_args.c - the paged KV cache's argument checks, which all run before any launch: the
 * cache description and its pool size, the query, the sequences' host arrays (slots out of range
 * or repeated, lengths past the block table, table entries outside the pool, a page written by
 * two appends, counts that decrease, device memory), the tensors and the workspace. The arrays
 * are checked with the context entered, so those calls run on the made-up driver of
 * tests/fake_cuda with JIT disabled: a call that passes every check fails to load its kernels
 * (INTFA_ERR_JIT_DISABLED), which the valid calls here assert. Device pointers are made-up
 * aligned addresses, never dereferenced. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cache_fixture.h"
#include "context.h"
#include "kv_layout.h"

static intfa_context *drv;
static char *cache_dir;

#define DEV(addr) ((void *)(uintptr_t)(addr))

static void assert_error_is(const char *want)
{
    if (strcmp(intfa_last_error(), want) != 0) fail_msg("error \"%s\", want \"%s\"", intfa_last_error(), want);
}

/* 3 pages of 16 tokens, 2 K/V heads of 64, 2 slots. */
static intfa_kv_cache cache(void)
{
    intfa_kv_cache c = {DEV(0x1000000), 3, 16, 2, 64, 2, INTFA_DTYPE_FP16};
    return c;
}

/* Two sequences of 10 and 0 tokens, two pages each in the table. */
static int32_t table[4] = {2, 0, 1, 0}, lens[2] = {10, 0}, slots[2] = {1, 0};

static intfa_kv_seqs seqs(void)
{
    intfa_kv_seqs s = {2, slots, lens, table, 2};
    return s;
}

static intfa_tensor packed(uintptr_t addr)
{
    intfa_tensor t = {DEV(addr), 999, 2 * 64, 64};
    return t;
}

static intfa_status append(const intfa_kv_cache *c, const intfa_kv_seqs *s, const int32_t *cu)
{
    const intfa_tensor k = packed(0x2000000), v = packed(0x3000000);
    return intfa_kv_append(drv, c, s, &k, &v, cu, NULL, 0, NULL);
}

static void test_cache(void **state)
{
    (void)state;
    intfa_kv_cache c = cache();
    size_t bytes = 0;
    assert_int_equal(intfa_kv_cache_bytes(&c, &bytes), INTFA_OK);
    /* k8 6144, k_scale 384 -> 512, v8 6144, v_scale 1536, stage 2 x 2 x 16 x 64 x 2 = 8192 */
    assert_int_equal(bytes, 6144 + 512 + 6144 + 1536 + 8192);
    c.page_size = 48;
    assert_int_equal(intfa_kv_cache_bytes(&c, &bytes), INTFA_ERR_INVALID_ARGUMENT);
    assert_error_is("cache.page_size = 48: must be 16, 32, 64, 128 or 256");
    c = cache();
    c.head_dim = 96;
    assert_int_equal(intfa_kv_cache_bytes(&c, &bytes), INTFA_ERR_UNSUPPORTED);
    assert_error_is("cache.head_dim = 96: supported are 64 and 128");
    c = cache();
    c.num_pages = 0;
    assert_int_equal(intfa_kv_cache_bytes(&c, &bytes), INTFA_ERR_INVALID_ARGUMENT);
    assert_error_is("cache.num_pages = 0: must be 1 to 2147483647");
    c = cache();
    c.dtype = (intfa_dtype)7;
    assert_int_equal(intfa_kv_cache_bytes(&c, &bytes), INTFA_ERR_INVALID_ARGUMENT);
    assert_error_is("cache.dtype = 7 is not an intfa_dtype");
    c = cache();
    assert_int_equal(intfa_kv_cache_bytes(&c, NULL), INTFA_ERR_INVALID_ARGUMENT);
    assert_int_equal(intfa_kv_cache_bytes(NULL, &bytes), INTFA_ERR_INVALID_ARGUMENT);
    /* a pool that is not 256-byte aligned is refused by the calls */
    c.pool = DEV(0x1000010);
    const intfa_kv_seqs s = seqs();
    const int32_t cu[3] = {0, 1, 0};
    assert_int_equal(append(&c, &s, cu), INTFA_ERR_INVALID_ARGUMENT);
    assert_error_is("cache.pool = 0x1000010 is not 256-byte aligned");
}

static void test_append_arrays(void **state)
{
    (void)state;
    const intfa_kv_cache c = cache();
    intfa_kv_seqs s = seqs();
    /* valid: 22 tokens into sequence 0 (10 -> 32: its two pages), 16 into sequence 1 */
    int32_t cu[3] = {0, 22, 38};
    int32_t t2[4] = {2, 0, 0, 1};
    s.block_table = t2;
    assert_int_equal(append(&c, &s, cu), INTFA_ERR_INVALID_ARGUMENT); /* page 0 twice */
    assert_error_is("intfa_kv_append: page 0 is written by two appends of this call (a page "
                    "belongs to one sequence while it fills)");
    s = seqs();
    assert_int_equal(append(&c, &s, cu), INTFA_ERR_JIT_DISABLED); /* every check passed */
    /* one token too many: past the table's two pages */
    cu[1] = 23;
    cu[2] = 39;
    assert_int_equal(append(&c, &s, cu), INTFA_ERR_INVALID_ARGUMENT);
    assert_error_is("intfa_kv_append: seqs.lens[0] = 10 plus the appended tokens: must be 0 to "
                    "pages_per_seq x page_size = 32 after the append");
    /* a table entry outside the pool, in a page the new length needs */
    int32_t t3[4] = {2, 3, 1, 0};
    s.block_table = t3;
    cu[1] = 7;
    cu[2] = 7;
    assert_int_equal(append(&c, &s, cu), INTFA_ERR_INVALID_ARGUMENT);
    assert_error_is("intfa_kv_append: seqs.block_table[0][1] = 3: not a page of the pool (0 to 2)");
    cu[1] = cu[2] = 6; /* 16 tokens: the second page is not needed, its entry not read */
    assert_int_equal(append(&c, &s, cu), INTFA_ERR_JIT_DISABLED);
    s = seqs();
    const int32_t down[3] = {0, 5, 4}, start[3] = {1, 5, 6};
    assert_int_equal(append(&c, &s, down), INTFA_ERR_INVALID_ARGUMENT);
    assert_error_is("intfa_kv_append: cu_new[2] = 4 is less than cu_new[1] = 5: counts must not decrease");
    assert_int_equal(append(&c, &s, start), INTFA_ERR_INVALID_ARGUMENT);
    assert_error_is("intfa_kv_append: cu_new[0] = 1: must be 0");
    int32_t same[2] = {1, 1}, out[2] = {0, 2}, neg[2] = {-1, 0};
    s.slots = same;
    const int32_t one[3] = {0, 1, 1};
    assert_int_equal(append(&c, &s, one), INTFA_ERR_INVALID_ARGUMENT);
    assert_error_is("intfa_kv_append: seqs.slots holds 1 twice: each sequence has its own slot");
    s.slots = out;
    assert_int_equal(append(&c, &s, one), INTFA_ERR_INVALID_ARGUMENT);
    assert_error_is("intfa_kv_append: seqs.slots[1] = 2: must be 0 to cache.num_slots - 1 = 1");
    s = seqs();
    s.lens = neg;
    assert_int_equal(append(&c, &s, one), INTFA_ERR_INVALID_ARGUMENT);
    assert_error_is("intfa_kv_append: seqs.lens[0] = -1 plus the appended tokens: must be 0 to "
                    "pages_per_seq x page_size = 32 after the append");
    /* device memory (the made-up driver's range) is refused, never read */
    s = seqs();
    s.block_table = (const int32_t *)DEV(0x10000000);
    assert_int_equal(append(&c, &s, one), INTFA_ERR_INVALID_ARGUMENT);
    assert_error_is("intfa_kv_append: seqs.block_table = 0x10000000 is device memory: the call takes host arrays");
    s = seqs();
    s.pages_per_seq = 0;
    assert_int_equal(append(&c, &s, one), INTFA_ERR_INVALID_ARGUMENT);
    s = seqs();
    s.lens = NULL;
    assert_int_equal(append(&c, &s, one), INTFA_ERR_INVALID_ARGUMENT);
    assert_error_is("seqs.lens is NULL");
    s = seqs();
    s.slots = NULL;
    assert_int_equal(append(&c, &s, one), INTFA_ERR_INVALID_ARGUMENT);
    assert_error_is("intfa_kv_append: seqs.slots is NULL");
    s = seqs();
    assert_int_equal(append(&c, &s, NULL), INTFA_ERR_INVALID_ARGUMENT);
    assert_error_is("intfa_kv_append: cu_new is NULL");
    /* nothing to append: no launch at all, so no kernel is needed */
    const int32_t none[3] = {0, 0, 0};
    assert_int_equal(append(&c, &s, none), INTFA_OK);
}

static void test_append_tensors(void **state)
{
    (void)state;
    const intfa_kv_cache c = cache();
    const intfa_kv_seqs s = seqs();
    const int32_t cu[3] = {0, 3, 4};
    intfa_tensor k = packed(0x2000000), v = packed(0x3000008);
    assert_int_equal(intfa_kv_append(drv, &c, &s, &k, &v, cu, NULL, 0, NULL), INTFA_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(intfa_last_error(), "v.data"));
    v = packed(0x3000000);
    k.stride_n = 100;
    assert_int_equal(intfa_kv_append(drv, &c, &s, &k, &v, cu, NULL, 0, NULL), INTFA_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(intfa_last_error(), "k.stride_n = 100"));
    assert_int_equal(intfa_kv_append(drv, &c, &s, NULL, &v, cu, NULL, 0, NULL), INTFA_ERR_INVALID_ARGUMENT);
    assert_error_is("k is NULL");
    assert_int_equal(intfa_kv_append(NULL, &c, &s, &k, &v, cu, NULL, 0, NULL), INTFA_ERR_INVALID_ARGUMENT);
    assert_error_is("intfa_kv_append: ctx is NULL");
}

static intfa_status attend(const intfa_kv_query *q, void *ws, size_t ws_bytes)
{
    const intfa_kv_cache c = cache();
    const intfa_kv_seqs s = seqs();
    const intfa_tensor qt = {DEV(0x4000000), 2 * 4 * 64, 4 * 64, 64};
    const intfa_tensor ot = {DEV(0x5000000), 2 * 4 * 64, 4 * 64, 64};
    return intfa_kv_attention(drv, &c, &s, q, &qt, &ot, NULL, ws, ws_bytes, NULL);
}

static void test_attention(void **state)
{
    (void)state;
    intfa_kv_query q = {4, 2, 0.0f, 1};
    assert_int_equal(attend(&q, NULL, 0), INTFA_ERR_JIT_DISABLED); /* every check passed */
    /* attention reads no slots: NULL, repeated or out of range, they are not checked */
    {
        const intfa_kv_cache c = cache();
        intfa_kv_seqs s = seqs();
        const intfa_tensor qt = {DEV(0x4000000), 2 * 4 * 64, 4 * 64, 64};
        int32_t bad_slots[2] = {7, 7};
        s.slots = NULL;
        assert_int_equal(intfa_kv_attention(drv, &c, &s, &q, &qt, &qt, NULL, NULL, 0, NULL),
                         INTFA_ERR_JIT_DISABLED);
        s.slots = bad_slots;
        assert_int_equal(intfa_kv_attention(drv, &c, &s, &q, &qt, &qt, NULL, NULL, 0, NULL),
                         INTFA_ERR_JIT_DISABLED);
    }
    q.heads_q = 3;
    assert_int_equal(attend(&q, NULL, 0), INTFA_ERR_INVALID_ARGUMENT);
    assert_error_is("query.heads_q = 3: must be a multiple of cache.heads_kv = 2 (and at most 65535)");
    q.heads_q = 4;
    q.seq_q = 0;
    assert_int_equal(attend(&q, NULL, 0), INTFA_ERR_INVALID_ARGUMENT);
    q.seq_q = 2;
    q.softmax_scale = -1.0f;
    assert_int_equal(attend(&q, NULL, 0), INTFA_ERR_INVALID_ARGUMENT);
    assert_error_is("query.softmax_scale = -1: must be finite and > 0 (0 selects 1/sqrt(head_dim))");
    q.softmax_scale = 0.0f;
    q.causal = 2;
    assert_int_equal(attend(&q, NULL, 0), INTFA_ERR_INVALID_ARGUMENT);
    q.causal = 0;
    /* the workspace: its size, too small, misaligned */
    const intfa_kv_cache c = cache();
    const intfa_kv_seqs s = seqs();
    size_t need = 0;
    assert_int_equal(intfa_kv_workspace_size(&c, &s, &q, &need), INTFA_OK);
    assert_true(need >= 256 * 3);
    assert_int_equal(attend(&q, DEV(0x6000000), need - 1), INTFA_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(intfa_last_error(), "intfa_kv_workspace_size"));
    assert_int_equal(attend(&q, DEV(0x6000010), need), INTFA_ERR_INVALID_ARGUMENT);
    assert_int_equal(attend(&q, DEV(0x6000000), need), INTFA_ERR_JIT_DISABLED);
    /* a length past the table is refused before any launch */
    lens[1] = 33;
    assert_int_equal(attend(&q, NULL, 0), INTFA_ERR_INVALID_ARGUMENT);
    assert_error_is("intfa_kv_attention: seqs.lens[1] = 33: must be 0 to pages_per_seq x page_size = 32");
    lens[1] = 0;
    /* q's tensor */
    const intfa_tensor bad = {DEV(0x4000004), 0, 4 * 64, 64}, ot = {DEV(0x5000000), 0, 4 * 64, 64};
    assert_int_equal(intfa_kv_attention(drv, &c, &s, &q, &bad, &ot, NULL, NULL, 0, NULL),
                     INTFA_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(intfa_last_error(), "q.data"));
    assert_int_equal(intfa_kv_attention(drv, &c, &s, &q, &ot, &ot, (float *)DEV(0x7000002), NULL, 0, NULL),
                     INTFA_ERR_INVALID_ARGUMENT);
    assert_error_is("lse = 0x7000002 is not 4-byte aligned");
    assert_int_equal(intfa_kv_workspace_size(&c, &s, &q, NULL), INTFA_ERR_INVALID_ARGUMENT);
}

static int setup(void **state)
{
    (void)state;
    setenv("INTFA_LIBCUDA", FAKE_CUDA_PATH, 1);
    cache_dir = fixture_mkdtemp("kvargs");
    intfa_options o = {0};
    o.cache_dir = cache_dir;
    o.disable_jit = 1;
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
        cmocka_unit_test(test_cache),
        cmocka_unit_test(test_append_arrays),
        cmocka_unit_test(test_append_tensors),
        cmocka_unit_test(test_attention),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
