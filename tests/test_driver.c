/* test_driver.c - the dlopen'ed driver where libcuda cannot be opened ($INTFA_LIBCUDA names a
 * missing file): every GPU entry point answers INTFA_ERR_NO_DRIVER, consistently, from any
 * thread, and changes no outputs. Runs without a GPU. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "driver.h"
#include "error.h"

/* intfa_create lives in runtime/context.c; define INTFA_TEST_NO_CONTEXT to build this test
 * before that file exists. */

static int setup(void **state)
{
    (void)state;
    /* Before the first driver call: the load happens once per process. */
    return setenv("INTFA_LIBCUDA", "/nonexistent/libcuda.so.1", 1);
}

static void test_driver_missing(void **state)
{
    (void)state;
    const intfa_cu *cu = (const intfa_cu *)0x1;
    assert_int_equal(intfa_driver(&cu), INTFA_ERR_NO_DRIVER);
    assert_ptr_equal(cu, (const intfa_cu *)0x1);
    char first[1024];
    snprintf(first, sizeof first, "%s", intfa_last_error());
    assert_non_null(strstr(first, "libcuda"));
    assert_non_null(strstr(first, "/nonexistent/libcuda.so.1"));

    /* Later calls: the same status and message. */
    intfa_fail(INTFA_ERR_INTERNAL, "something else");
    assert_int_equal(intfa_driver(&cu), INTFA_ERR_NO_DRIVER);
    assert_string_equal(intfa_last_error(), first);
    assert_ptr_equal(cu, (const intfa_cu *)0x1);
}

static void test_driver_null(void **state)
{
    (void)state;
    assert_int_equal(intfa_driver(NULL), INTFA_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(intfa_last_error(), "cu"));
    assert_int_equal(intfa_device_count(NULL), INTFA_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(intfa_last_error(), "count"));
}

static void test_device_count(void **state)
{
    (void)state;
    int count = 42;
    assert_int_equal(intfa_device_count(&count), INTFA_ERR_NO_DRIVER);
    assert_int_equal(count, 0); /* documented in driver.h */
    assert_non_null(strstr(intfa_last_error(), "libcuda"));
}

typedef struct {
    intfa_status status;
    char message[1024];
} thread_result;

static void *call_driver(void *arg)
{
    thread_result *r = arg;
    const intfa_cu *cu = NULL;
    r->status = intfa_driver(&cu);
    snprintf(r->message, sizeof r->message, "%s", intfa_last_error());
    return NULL;
}

static void test_driver_threads(void **state)
{
    (void)state;
    pthread_t t[4];
    thread_result r[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, call_driver, &r[i]), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(r[i].status, INTFA_ERR_NO_DRIVER);
        assert_non_null(strstr(r[i].message, "libcuda"));
        assert_string_equal(r[i].message, r[0].message);
    }
}

static void test_cu_fail_without_names(void **state)
{
    (void)state;
    /* No driver: no error names to look up, the number is printed. */
    assert_int_equal(intfa_cu_fail(CUDA_ERROR_OUT_OF_MEMORY, "cuMemAlloc(4096 bytes)"),
                     INTFA_ERR_CUDA);
    assert_string_equal(intfa_last_error(), "cuMemAlloc(4096 bytes): CUresult 2");
    assert_int_equal(intfa_cu_fail(CUDA_ERROR_INVALID_VALUE, NULL), INTFA_ERR_CUDA);
    assert_non_null(strstr(intfa_last_error(), "CUresult 1"));
}

static void test_create_without_driver(void **state)
{
    (void)state;
#ifdef INTFA_TEST_NO_CONTEXT
    skip();
#else
    intfa_context *ctx = (intfa_context *)0x1;
    assert_int_equal(intfa_create(&ctx, 0), INTFA_ERR_NO_DRIVER);
    assert_ptr_equal(ctx, (intfa_context *)0x1);
    assert_non_null(strstr(intfa_last_error(), "libcuda"));
    assert_int_equal(intfa_destroy(NULL), INTFA_OK);
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_driver_missing),
        cmocka_unit_test(test_driver_null),
        cmocka_unit_test(test_device_count),
        cmocka_unit_test(test_driver_threads),
        cmocka_unit_test(test_cu_fail_without_names),
        cmocka_unit_test(test_create_without_driver),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
