/* test_prepare.c - a call's kernels are fetched concurrently (CPU only, a fake compiler that
 * sleeps and records when it ran): the drop-in's three kernels of a first call take about the
 * slowest compile, not the sum; failures keep their message; one thread runs them in order;
 * intfa_warmup rejects bad arguments before touching a device. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "error.h"
#include "parallel.h"
#include "prepare.h"

#define COMPILE_MS 150.0

typedef struct fake_compiler {
    pthread_mutex_t lock;
    double start[8], end[8];
    int calls;
    const intfa_variant *base; /* item index = variant - base */
    int fail_index;            /* -1: none fails */
} fake_compiler;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static intfa_status fake_compile(void *user, const intfa_variant *v, void **bin, size_t *size)
{
    fake_compiler *f = user;
    const size_t i = (size_t)(v - f->base);
    const double t0 = now_ms();
    const struct timespec nap = {0, (long)(COMPILE_MS * 1e6)};
    nanosleep(&nap, NULL);
    pthread_mutex_lock(&f->lock);
    f->start[i] = t0;
    f->end[i] = now_ms();
    f->calls++;
    pthread_mutex_unlock(&f->lock);
    if ((int)i == f->fail_index) return intfa_fail(INTFA_ERR_COMPILE, "fake compile of item %zu failed", i);
    *bin = malloc(16);
    *size = 16;
    memset(*bin, (int)i, 16);
    return INTFA_OK;
}

/* The drop-in's kernels for a problem: its two quantization kernels and the default attention
 * variant (what a context without a tuning database selects). */
static void dropin_set(intfa_variant vs[3])
{
    const intfa_attn_problem p = {.batch = 2, .heads_q = 8, .heads_kv = 8, .seq_q = 1000,
                                  .seq_kv = 1000, .head_dim = 128, .dtype = INTFA_DTYPE_FP16};
    assert_int_equal(intfa_dropin_quant_kernels(INTFA_ARCH_SM90A, &p, vs), INTFA_OK);
    assert_int_equal(vs[0].kind, INTFA_KIND_QUANT_QK);
    assert_int_equal(vs[1].kind, INTFA_KIND_QUANT_V);
    assert_int_equal(intfa_variant_default(INTFA_KIND_ATTN_FWD, INTFA_ARCH_SM90A, 128, INTFA_FMT_INT8,
                                           0, INTFA_DTYPE_FP16, INTFA_PQ_U8_ROW, &vs[2]),
                     INTFA_OK);
}

/* Fetches the drop-in's three kernels through the fake on `threads` threads. */
static intfa_status fetch_dropin(fake_compiler *f, intfa_variant vs[3], int threads, int fail_index,
                                 void *bins[3], size_t sizes[3])
{
    dropin_set(vs);
    memset(f, 0, sizeof *f);
    pthread_mutex_init(&f->lock, NULL);
    f->base = vs;
    f->fail_index = fail_index;
    return intfa_fetch_binaries(vs, 3, threads, fake_compile, f, bins, sizes);
}

static void free_all(void **bins, size_t n)
{
    for (size_t i = 0; i < n; i++) free(bins[i]);
}

static void test_first_call_compiles_concurrently(void **state)
{
    (void)state;
    intfa_variant vs[3];
    fake_compiler f;
    void *bins[3];
    size_t sizes[3];
    const double t0 = now_ms();
    assert_int_equal(fetch_dropin(&f, vs, 3, -1, bins, sizes), INTFA_OK);
    const double wall = now_ms() - t0;
    assert_int_equal(f.calls, 3);
    double last_start = 0, first_end = 1e300;
    for (int i = 0; i < 3; i++) {
        assert_non_null(bins[i]);
        assert_int_equal(sizes[i], 16);
        assert_int_equal(((unsigned char *)bins[i])[15], i); /* each item got its own binary */
        if (f.start[i] > last_start) last_start = f.start[i];
        if (f.end[i] < first_end) first_end = f.end[i];
    }
    print_message("3 fake compiles of %.0f ms: %.0f ms wall\n", COMPILE_MS, wall);
    assert_true(last_start < first_end);     /* all three ran at the same time */
    assert_true(wall < 2.0 * COMPILE_MS);    /* about the slowest, not the sum (450 ms) */
    free_all(bins, 3);
}

static void test_one_thread_runs_in_order(void **state)
{
    (void)state;
    intfa_variant vs[3];
    fake_compiler f;
    void *bins[3];
    size_t sizes[3];
    assert_int_equal(fetch_dropin(&f, vs, 1, -1, bins, sizes), INTFA_OK);
    assert_true(f.start[1] >= f.end[0] && f.start[2] >= f.end[1]);
    free_all(bins, 3);
}

static void test_failure_keeps_its_message(void **state)
{
    (void)state;
    intfa_variant vs[3];
    fake_compiler f;
    void *bins[3];
    size_t sizes[3];
    assert_int_equal(fetch_dropin(&f, vs, 3, 1, bins, sizes), INTFA_ERR_COMPILE);
    assert_non_null(strstr(intfa_last_error(), "fake compile of item 1 failed"));
    assert_int_equal(f.calls, 3); /* the others still ran */
    assert_null(bins[1]);
    assert_non_null(bins[0]);
    assert_non_null(bins[2]);
    free_all(bins, 3);
}

static void test_warmup_arguments(void **state)
{
    (void)state;
    const intfa_attn_problem p = {.batch = 1, .heads_q = 1, .heads_kv = 1, .seq_q = 1, .seq_kv = 1,
                                  .head_dim = 128};
    assert_int_equal(intfa_warmup(NULL, &p, 1), INTFA_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(intfa_last_error(), "ctx is NULL"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_call_compiles_concurrently),
        cmocka_unit_test(test_one_thread_runs_in_order),
        cmocka_unit_test(test_failure_keeps_its_message),
        cmocka_unit_test(test_warmup_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
