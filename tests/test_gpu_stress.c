/* test_gpu_stress.c - one context serving 8 threads on a GPU: each thread has its own stream
 * and workspace and runs 24 drop-in calls over 8 problem classes (17 kernel variants, compiled
 * on first use while other threads launch), and every output is checked against exact
 * attention on the CPU (tests/support/stress.c). Skips (exit 77, "SKIP: ...") without a GPU;
 * the host side of the same scenario runs everywhere in test_stress_host. For ThreadSanitizer
 * on a GPU machine: scripts/tsan.sh (docs/FUZZING.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

#include "gpu_harness.h"
#include "stress.h"

static void test_eight_threads_checked(void **state)
{
    (void)state;
    intfa_context *ctx = gpu_open_or_skip("test_gpu_stress");
    const stress_config cfg = {8, 24, 1};
    stress_report r;
    stress_run(ctx, &cfg, &r);
    printf("stress: %ld calls, %ld failed, %ld wrong; worst error %.3f x its bound\n", r.calls,
           r.failed_calls, r.bad_results, r.worst_rel_l2);
    assert_int_equal(r.calls, 8 * 24);
    assert_int_equal(r.failed_calls, 0);
    assert_int_equal(r.bad_results, 0);
    assert_true(r.worst_rel_l2 > 0 && r.worst_rel_l2 <= 1.0);
    gpu_close();
}

int main(void)
{
    gpu_open_or_skip("test_gpu_stress");
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_eight_threads_checked)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
