/* test_tune_run.c - the tuning run with a fake backend (no GPU): scripted times and failures,
 * counted compiles. Near-ties go to the first candidate in the fixed order, a clear winner
 * wins, failures are infinitely slow, a winner whose output disagrees with the reference is
 * passed over, all failures are an error, pruned candidates are never compiled, and a
 * candidate shared by several classes is compiled once. */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../tuning/tune_run.h"
#include "../tuning/tune_space.h"
#include "error.h"

#define MAXC INTFA_TUNE_MAX_CANDIDATES

/* Scripted behaviour per candidate index (in the class's candidate order). */
typedef struct fake {
    intfa_variant cand[MAXC];
    size_t ncand;
    double ms[MAXC];
    int compile_fails[MAXC], time_fails[MAXC], verify_fails[MAXC];
    pthread_mutex_t lock;
    int compiles, compiles_of[MAXC], invalid_compiles, prepares, times, verifies;
    intfa_tune_class prepared;
} fake;

static int index_of(fake *f, const intfa_variant *v)
{
    char a[INTFA_VARIANT_NAME_MAX], b[INTFA_VARIANT_NAME_MAX];
    intfa_variant_name(v, a, sizeof a);
    for (size_t i = 0; i < f->ncand; i++) {
        intfa_variant_name(&f->cand[i], b, sizeof b);
        if (strcmp(a, b) == 0) return (int)i;
    }
    return -1;
}

static intfa_status fake_compile(void *self, const intfa_variant *v)
{
    fake *f = self;
    pthread_mutex_lock(&f->lock);
    const int i = index_of(f, v);
    f->compiles++;
    if (i >= 0) f->compiles_of[i]++;
    if (intfa_variant_check(v) != INTFA_OK) f->invalid_compiles++;
    pthread_mutex_unlock(&f->lock);
    if (i < 0) return intfa_fail(INTFA_ERR_COMPILE, "not one of the fake's candidates");
    if (f->compile_fails[i]) return intfa_fail(INTFA_ERR_COMPILE, "scripted compile failure");
    return INTFA_OK;
}

static intfa_status fake_prepare(void *self, const intfa_tune_class *c, const intfa_attn_problem *p)
{
    fake *f = self;
    f->prepares++;
    f->prepared = *c;
    return p->seq_kv > 0 ? INTFA_OK : intfa_fail(INTFA_ERR_INTERNAL, "empty problem");
}

static intfa_status fake_time(void *self, const intfa_variant *v, double *ms)
{
    fake *f = self;
    const int i = index_of(f, v);
    f->times++;
    assert_true(i >= 0);
    assert_int_equal(f->compiles_of[i], 1); /* compiled before being timed */
    if (f->time_fails[i]) return intfa_fail(INTFA_ERR_CUDA, "scripted launch failure of %d", i);
    *ms = f->ms[i];
    return INTFA_OK;
}

static intfa_status fake_verify(void *self, const intfa_variant *v)
{
    fake *f = self;
    const int i = index_of(f, v);
    f->verifies++;
    if (f->verify_fails[i]) return intfa_fail(INTFA_ERR_INTERNAL, "scripted wrong output of %d", i);
    return INTFA_OK;
}

/* On sm_90a: the default + 23 of the 27 mma.sync/wgmma grid points + the 12 warp-specialized
 * ones = 36 candidates. */
static const intfa_tune_class cls = {128, INTFA_FMT_INT8, INTFA_DTYPE_FP16, 1, INTFA_PQ_U8_ROW, INTFA_TUNE_KV_4K};

/* A fake for cls on arch, every candidate at 1 ms. */
static void fake_init(fake *f, intfa_arch arch)
{
    memset(f, 0, sizeof *f);
    pthread_mutex_init(&f->lock, NULL);
    assert_int_equal(intfa_tune_candidates(&cls, arch, f->cand, MAXC, &f->ncand, NULL), INTFA_OK);
    for (size_t i = 0; i < f->ncand; i++) f->ms[i] = 1.0;
}

static intfa_tune_backend backend_of(fake *f)
{
    intfa_tune_backend b = {f, fake_compile, fake_prepare, fake_time, fake_verify};
    return b;
}

/* One class on sm_90a; returns the run's status. */
static intfa_status run1(fake *f, int jobs, intfa_tune_result *r)
{
    intfa_tune_backend b = backend_of(f);
    intfa_tune_options o = {jobs, 0, NULL, NULL, NULL, NULL};
    return intfa_tune_run(&b, INTFA_ARCH_SM90A, &cls, 1, &o, r, NULL);
}

static void assert_winner(const intfa_tune_result *r, const fake *f, size_t want)
{
    char a[INTFA_VARIANT_NAME_MAX], b[INTFA_VARIANT_NAME_MAX];
    intfa_variant_name(&r->entry.winner, a, sizeof a);
    intfa_variant_name(&f->cand[want], b, sizeof b);
    assert_string_equal(a, b);
}

static void test_near_ties_go_to_the_first(void **state)
{
    (void)state;
    fake f;
    fake_init(&f, INTFA_ARCH_SM90A);
    assert_int_equal(f.ncand, 36);
    /* all within 2% of the fastest (index 9), scattered */
    for (size_t i = 0; i < f.ncand; i++) f.ms[i] = 1.0 + 0.001 * (double)((i * 7) % 11);
    f.ms[9] = 0.995;
    intfa_tune_result r;
    assert_int_equal(run1(&f, 4, &r), INTFA_OK);
    assert_int_equal(r.status, INTFA_OK);
    assert_winner(&r, &f, 0);
    assert_true(fabs(r.entry.ms - f.ms[0]) < 1e-12);
    assert_true(fabs(r.default_ms - f.ms[0]) < 1e-12); /* candidate 0 is the default */
    assert_int_equal(r.entry.has_runner_up, 1);
    assert_int_equal(r.candidates, 36);
    assert_int_equal(f.compiles, 36);
    assert_int_equal(f.times, 36);
    assert_int_equal(f.verifies, 1);

    /* when the band excludes the first candidate: the earliest inside it. 0.90 ties with the
     * fastest 0.89 (band up to 0.9078), 0.91 does not */
    fake_init(&f, INTFA_ARCH_SM90A);
    f.ms[3] = 0.91;
    f.ms[5] = 0.90;
    f.ms[12] = 0.89;
    assert_int_equal(run1(&f, 1, &r), INTFA_OK);
    assert_winner(&r, &f, 5);
    char ru[INTFA_VARIANT_NAME_MAX], want[INTFA_VARIANT_NAME_MAX];
    intfa_variant_name(&r.entry.runner_up, ru, sizeof ru);
    intfa_variant_name(&f.cand[12], want, sizeof want);
    assert_string_equal(ru, want);
    assert_true(fabs(r.entry.runner_ms - 0.89) < 1e-12);
}

static void test_clear_winner(void **state)
{
    (void)state;
    fake f;
    fake_init(&f, INTFA_ARCH_SM90A);
    f.ms[11] = 0.97; /* 3% faster than the rest */
    intfa_tune_result r;
    assert_int_equal(run1(&f, 8, &r), INTFA_OK);
    assert_winner(&r, &f, 11);
    assert_true(fabs(r.entry.runner_ms - 1.0) < 1e-12);
    assert_true(fabs(r.default_ms - 1.0) < 1e-12);
}

static void test_failures_are_infinitely_slow(void **state)
{
    (void)state;
    fake f;
    fake_init(&f, INTFA_ARCH_SM90A);
    f.ms[4] = 0.5;
    f.time_fails[4] = 1;   /* fastest, but its launch fails */
    f.ms[6] = 0.6;
    f.compile_fails[6] = 1; /* next, but it does not compile */
    f.ms[0] = 0.7;
    f.time_fails[0] = 1;   /* the default fails too */
    f.ms[8] = 0.8;
    char log[4096] = "";
    FILE *mem = fmemopen(log, sizeof log, "w");
    intfa_tune_backend b = backend_of(&f);
    intfa_tune_options o = {2, 0, mem, NULL, NULL, NULL};
    intfa_tune_result r;
    assert_int_equal(intfa_tune_run(&b, INTFA_ARCH_SM90A, &cls, 1, &o, &r, NULL), INTFA_OK);
    fclose(mem);
    assert_winner(&r, &f, 8);
    assert_int_equal(r.failed, 3);
    assert_true(isinf(r.default_ms));
    assert_int_equal(f.times, 35); /* the one that did not compile is never timed */
    /* each failure is reported, naming the class and the candidate */
    assert_non_null(strstr(log, "scripted launch failure of 4"));
    assert_non_null(strstr(log, "scripted compile failure"));
    assert_non_null(strstr(log, "d128 int8 fp16 causal pu8 kv<=4096"));
}

static void test_wrong_output_is_passed_over(void **state)
{
    (void)state;
    fake f;
    fake_init(&f, INTFA_ARCH_SM90A);
    f.ms[2] = 0.5;
    f.verify_fails[2] = 1;
    f.ms[14] = 0.6;
    intfa_tune_result r;
    assert_int_equal(run1(&f, 3, &r), INTFA_OK);
    assert_winner(&r, &f, 14);
    assert_int_equal(r.rejected, 1);
    assert_int_equal(f.verifies, 2);
}

static void test_all_failures_are_an_error(void **state)
{
    (void)state;
    fake f;
    fake_init(&f, INTFA_ARCH_SM90A);
    for (size_t i = 0; i < f.ncand; i++) f.time_fails[i] = 1;
    intfa_tune_result r;
    assert_int_equal(run1(&f, 4, &r), INTFA_ERR_CUDA);
    assert_int_equal(r.status, INTFA_ERR_CUDA);
    assert_int_equal(r.failed, f.ncand);
    assert_non_null(strstr(r.message, "no candidate"));
    assert_non_null(strstr(intfa_last_error(), "no candidate"));

    /* all time fine but none checks out */
    fake_init(&f, INTFA_ARCH_SM90A);
    for (size_t i = 0; i < f.ncand; i++) f.verify_fails[i] = 1;
    assert_int_equal(run1(&f, 4, &r), INTFA_ERR_INTERNAL);
    assert_int_equal(r.rejected, f.ncand);
    assert_int_equal(f.verifies, (int)f.ncand);
}

/* sm_86 has 99 KB of shared memory: some hd128 grid points are pruned and never compiled. */
static void test_pruned_before_compile(void **state)
{
    (void)state;
    fake f;
    fake_init(&f, INTFA_ARCH_SM86);
    intfa_tune_backend b = backend_of(&f);
    intfa_tune_result r;
    assert_int_equal(intfa_tune_run(&b, INTFA_ARCH_SM86, &cls, 1, NULL, &r, NULL), INTFA_OK);
    assert_true(r.pruned > 0);
    assert_int_equal(r.pruned + r.candidates, 27);
    assert_int_equal(f.compiles, (int)r.candidates);
    assert_int_equal(f.invalid_compiles, 0);
    for (size_t i = 0; i < f.ncand; i++) assert_int_equal(f.compiles_of[i], 1);
}

/* The three buckets of a class share their candidates: each is compiled once, inputs are
 * prepared once per bucket, and the progress callbacks see every step. */
typedef struct seen {
    size_t compiled_calls, last_total, classes;
} seen;

static void on_compile(void *user, size_t done, size_t total)
{
    seen *s = user;
    s->compiled_calls++;
    assert_true(done <= total);
    s->last_total = total;
}

static void on_class(void *user, size_t k, size_t n, const intfa_tune_result *r)
{
    seen *s = user;
    assert_int_equal(k, ++s->classes);
    assert_int_equal(n, 3);
    assert_int_equal(r->status, INTFA_OK);
}

static void test_compiled_once_for_all_buckets(void **state)
{
    (void)state;
    fake f;
    fake_init(&f, INTFA_ARCH_SM90A);
    f.ms[7] = 0.5;
    intfa_tune_class classes[3];
    for (int b = 0; b < 3; b++) {
        classes[b] = cls;
        classes[b].bucket = (intfa_tune_bucket)b;
    }
    seen s = {0, 0, 0};
    intfa_tune_backend b = backend_of(&f);
    intfa_tune_options o = {8, 0, NULL, on_compile, on_class, &s};
    intfa_tune_result r[3];
    intfa_tune_stats stats;
    assert_int_equal(intfa_tune_run(&b, INTFA_ARCH_SM90A, classes, 3, &o, r, &stats), INTFA_OK);
    assert_int_equal(f.compiles, 36);
    assert_int_equal(stats.compiles, 36);
    assert_int_equal(stats.compile_failures, 0);
    assert_int_equal(stats.jobs, 8);
    assert_int_equal(f.prepares, 3);
    assert_int_equal(f.times, 3 * 36);
    assert_int_equal(s.compiled_calls, 36);
    assert_int_equal(s.last_total, 36);
    assert_int_equal(s.classes, 3);
    for (int i = 0; i < 3; i++) {
        assert_winner(&r[i], &f, 7);
        assert_true(intfa_tune_class_equal(&r[i].entry.cls, &classes[i]));
    }
}

static void test_deterministic_across_jobs(void **state)
{
    (void)state;
    char first[INTFA_VARIANT_NAME_MAX] = "";
    for (int jobs = 1; jobs <= 16; jobs *= 2) {
        fake f;
        fake_init(&f, INTFA_ARCH_SM90A);
        for (size_t i = 0; i < f.ncand; i++) f.ms[i] = 1.1;
        f.ms[2] = 1.05;
        f.ms[3] = 1.005;
        f.ms[6] = 1.0;
        intfa_tune_result r;
        assert_int_equal(run1(&f, jobs, &r), INTFA_OK);
        char name[INTFA_VARIANT_NAME_MAX];
        intfa_variant_name(&r.entry.winner, name, sizeof name);
        if (!first[0]) strcpy(first, name);
        assert_string_equal(name, first);
        assert_winner(&r, &f, 3); /* 1.005 and 1.0 tie (< 2%); 3 comes first */
    }
}

static void test_max_candidates_and_arguments(void **state)
{
    (void)state;
    fake f;
    fake_init(&f, INTFA_ARCH_SM90A);
    f.ms[10] = 0.1;
    intfa_tune_backend b = backend_of(&f);
    intfa_tune_options o = {1, 4, NULL, NULL, NULL, NULL};
    intfa_tune_result r;
    assert_int_equal(intfa_tune_run(&b, INTFA_ARCH_SM90A, &cls, 1, &o, &r, NULL), INTFA_OK);
    assert_int_equal(f.compiles, 4);
    assert_int_equal(r.candidates, 4);

    intfa_tune_backend bad = b;
    bad.verify = NULL;
    assert_int_equal(intfa_tune_run(&bad, INTFA_ARCH_SM90A, &cls, 1, NULL, &r, NULL), INTFA_ERR_INVALID_ARGUMENT);
    assert_int_equal(intfa_tune_run(&b, INTFA_ARCH_COUNT, &cls, 1, NULL, &r, NULL), INTFA_ERR_INVALID_ARGUMENT);
    assert_int_equal(intfa_tune_run(&b, INTFA_ARCH_SM90A, &cls, 0, NULL, &r, NULL), INTFA_ERR_INVALID_ARGUMENT);
    o.jobs = 99;
    assert_int_equal(intfa_tune_run(&b, INTFA_ARCH_SM90A, &cls, 1, &o, &r, NULL), INTFA_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(intfa_last_error(), "jobs = 99"));
    intfa_tune_class wrong = cls;
    wrong.head_dim = 88;
    assert_int_equal(intfa_tune_run(&b, INTFA_ARCH_SM90A, &wrong, 1, NULL, &r, NULL), INTFA_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(intfa_last_error(), "head_dim = 88"));
    /* a class none of whose candidates compiles (INT4: not the fake's): its own failure, the
     * others still run */
    fake_init(&f, INTFA_ARCH_SM90A);
    intfa_tune_class two[2] = {cls, cls};
    two[0].qk_format = INTFA_FMT_INT4;
    intfa_tune_result r2[2];
    assert_int_not_equal(intfa_tune_run(&b, INTFA_ARCH_SM90A, two, 2, NULL, r2, NULL), INTFA_OK);
    assert_int_not_equal(r2[0].status, INTFA_OK);
    assert_int_equal(r2[1].status, INTFA_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_near_ties_go_to_the_first),
        cmocka_unit_test(test_clear_winner),
        cmocka_unit_test(test_failures_are_infinitely_slow),
        cmocka_unit_test(test_wrong_output_is_passed_over),
        cmocka_unit_test(test_all_failures_are_an_error),
        cmocka_unit_test(test_pruned_before_compile),
        cmocka_unit_test(test_compiled_once_for_all_buckets),
        cmocka_unit_test(test_deterministic_across_jobs),
        cmocka_unit_test(test_max_candidates_and_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
