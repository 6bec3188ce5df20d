/* test_errors.c - status strings, the thread-local last-error message, message wrapping and
 * the version query. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "error.h"

static void test_status_strings(void **state)
{
    (void)state;
    for (int a = INTFA_OK; a <= INTFA_ERR_INTERNAL; a++) {
        const char *sa = intfa_status_string((intfa_status)a);
        assert_non_null(sa);
        assert_true(sa[0] != '\0');
        for (int b = INTFA_OK; b < a; b++)
            if (strcmp(sa, intfa_status_string((intfa_status)b)) == 0)
                fail_msg("statuses %d and %d share the string \"%s\"", a, b, sa);
    }
    const char *unknown = intfa_status_string((intfa_status)(INTFA_ERR_INTERNAL + 1));
    assert_non_null(unknown);
    assert_true(unknown[0] != '\0');
}

static void test_fail_and_clear(void **state)
{
    (void)state;
    assert_int_equal(intfa_fail(INTFA_ERR_OVERFLOW, "seq_q = %lld: too long", 1LL << 40),
                     INTFA_ERR_OVERFLOW);
    assert_string_equal(intfa_last_error(), "seq_q = 1099511627776: too long");
    intfa_clear_error();
    assert_string_equal(intfa_last_error(), "");
}

static void test_fail_wrap(void **state)
{
    (void)state;
    intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "head_dim = %d: must be 64 or 128", 96);
    assert_int_equal(intfa_fail_wrap(INTFA_ERR_UNSUPPORTED, "variant %s", "attn_fwd-x"),
                     INTFA_ERR_UNSUPPORTED);
    assert_string_equal(intfa_last_error(), "variant attn_fwd-x: head_dim = 96: must be 64 or 128");
    intfa_fail_wrap(INTFA_ERR_UNSUPPORTED, "outer");
    assert_string_equal(intfa_last_error(),
                        "outer: variant attn_fwd-x: head_dim = 96: must be 64 or 128");

    /* Nothing to wrap: just the prefix. */
    intfa_clear_error();
    intfa_fail_wrap(INTFA_ERR_IO, "open %s", "x.bin");
    assert_string_equal(intfa_last_error(), "open x.bin");

    /* An over-long message is truncated, not overflowed. */
    char big[6000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    intfa_fail(INTFA_ERR_COMPILE, "%s", big);
    assert_true(strlen(intfa_last_error()) < sizeof big - 1);
    intfa_fail_wrap(INTFA_ERR_COMPILE, "prefix");
    assert_memory_equal(intfa_last_error(), "prefix: xxx", 11);
}

typedef struct {
    intfa_status status;
    const char *text;
    pthread_barrier_t *barrier;
    int ok;
} thread_arg;

static void *set_and_check(void *p)
{
    thread_arg *a = p;
    intfa_fail(a->status, "thread message %s", a->text);
    /* Both threads have set their message before either reads. */
    pthread_barrier_wait(a->barrier);
    char expected[128];
    snprintf(expected, sizeof expected, "thread message %s", a->text);
    a->ok = strcmp(intfa_last_error(), expected) == 0;
    pthread_barrier_wait(a->barrier);
    return NULL;
}

static void test_last_error_thread_local(void **state)
{
    (void)state;
    intfa_fail(INTFA_ERR_INTERNAL, "main thread");
    pthread_barrier_t barrier;
    assert_int_equal(pthread_barrier_init(&barrier, NULL, 2), 0);
    thread_arg a = {INTFA_ERR_IO, "one", &barrier, 0};
    thread_arg b = {INTFA_ERR_CORRUPT, "two", &barrier, 0};
    pthread_t ta, tb;
    assert_int_equal(pthread_create(&ta, NULL, set_and_check, &a), 0);
    assert_int_equal(pthread_create(&tb, NULL, set_and_check, &b), 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    pthread_barrier_destroy(&barrier);
    assert_true(a.ok);
    assert_true(b.ok);
    assert_string_equal(intfa_last_error(), "main thread");
}

static void test_version(void **state)
{
    (void)state;
    int major = -1, minor = -1, patch = -1;
    assert_int_equal(intfa_get_version(&major, &minor, &patch), INTFA_OK);
    assert_int_equal(major, INTFA_VERSION_MAJOR);
    assert_int_equal(minor, INTFA_VERSION_MINOR);
    assert_int_equal(patch, INTFA_VERSION_PATCH);
    assert_int_equal(intfa_get_version(NULL, NULL, NULL), INTFA_OK);
    char expected[32];
    snprintf(expected, sizeof expected, "%d.%d.%d", INTFA_VERSION_MAJOR, INTFA_VERSION_MINOR,
             INTFA_VERSION_PATCH);
    assert_string_equal(intfa_version_string(), expected);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_strings),
        cmocka_unit_test(test_fail_and_clear),
        cmocka_unit_test(test_fail_wrap),
        cmocka_unit_test(test_last_error_thread_local),
        cmocka_unit_test(test_version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
