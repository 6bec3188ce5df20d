/* test_stress_host.c - one context serving 8 threads, without a GPU: the context runs on the
 * made-up driver of tests/fake_cuda (sm_80), so everything on the host is real: argument
 * checks, kernel selection, template rendering, NVRTC compiles into a fresh kernel cache,
 * module loading, the per-context module list, launches. 8 threads, each with its own stream
 * and workspace, run 24 drop-in calls each over 8 problem classes (17 kernel variants),
 * staggered so fresh variants compile while others launch. Run under ThreadSanitizer by
 * scripts/tsan.sh (a data race fails it there); the plain and ASan builds run it too.
 * Checks: every call succeeds; the driver saw no call against its rules (a launch of a function
 * not loaded or on a foreign stream, an unbalanced context pop, a non-cubin module); every
 * launch the calls should make was made; each variant was loaded exactly once; and a thread
 * whose kernels are loaded keeps launching while another thread compiles a fresh one through
 * intfa_ctx_function. */
#include <dlfcn.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cache_fixture.h"
#include "fake_cuda.h"
#include "render.h"
#include "stress.h"

#define VARIANTS_OF_THE_MIX 13 /* 8 attention, 1 quant_qk (INT4 only), 4 quant_v (stress.c's classes) */

static intfa_context *ctx;
static char *cache_dir, *tuning_db;
static void (*get_stats)(fake_cuda_stats *);
static void (*set_capturing)(int);

static int setup(void **state)
{
    (void)state;
    setenv("INTFA_LIBCUDA", FAKE_CUDA_PATH, 1);
    void *lib = dlopen(FAKE_CUDA_PATH, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        fprintf(stderr, "cannot open %s: %s\n", FAKE_CUDA_PATH, dlerror());
        return -1;
    }
    void *sym = dlsym(lib, "fake_cuda_get_stats");
    memcpy(&get_stats, &sym, sizeof get_stats);
    sym = dlsym(lib, "fake_cuda_set_capturing");
    memcpy(&set_capturing, &sym, sizeof set_capturing);
    cache_dir = fixture_mkdtemp("stress");
    tuning_db = malloc(strlen(cache_dir) + 16);
    sprintf(tuning_db, "%s/tuning.db", cache_dir);
    intfa_options o = {0};
    o.cache_dir = cache_dir; /* fresh: every variant compiles */
    o.tuning_db = tuning_db;
    if (intfa_create_with_options(&ctx, 0, &o) != INTFA_OK) {
        fprintf(stderr, "intfa_create on the fake driver: %s\n", intfa_last_error());
        return -1;
    }
    return get_stats ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    intfa_destroy(ctx);
    fake_cuda_stats s;
    get_stats(&s);
    fixture_rmtree(cache_dir);
    free(cache_dir);
    free(tuning_db);
    /* every module loaded was unloaded by intfa_destroy */
    return s.modules_loaded == s.modules_unloaded && s.bad_calls == 0 ? 0 : -1;
}

static void test_eight_threads_one_context(void **state)
{
    (void)state;
    fake_cuda_stats before, after;
    get_stats(&before);
    const stress_config cfg = {8, 24, 0};
    stress_report r;
    stress_run(ctx, &cfg, &r);
    get_stats(&after);
    assert_int_equal(r.calls, 8 * 24);
    assert_int_equal(r.failed_calls, 0);
    assert_int_equal(after.bad_calls, 0);
    assert_int_equal(after.launches - before.launches, r.launches_expected);
    assert_int_equal(after.pushes - before.pushes, after.pops - before.pops);
    /* each variant loaded once: the module list has no duplicate and the driver loaded no more */
    long listed = 0;
    for (intfa_loaded_module *m = ctx->modules; m; m = m->next, listed++) {
        assert_false(m->loading);
        for (intfa_loaded_module *n = m->next; n; n = n->next)
            assert_false(intfa_variant_same(&m->variant, &n->variant));
    }
    assert_int_equal(listed, VARIANTS_OF_THE_MIX);
    assert_int_equal(after.modules_loaded - before.modules_loaded, VARIANTS_OF_THE_MIX);
    printf("stress: %ld calls, %ld launches, %ld modules\n", r.calls, after.launches - before.launches, listed);
}

/* ------------------------------------------------------------------ varlen on the host */

/* intfa_attention_varlen end to end on the host: the counts go to the device on the call's
 * stream and three kernels launch (the K/V pass's two and the attention); a class of the mix,
 * so nothing compiles. */
static void test_varlen_launches(void **state)
{
    (void)state;
    intfa_attn_problem p = stress_problem(0);
    const int32_t cu_q[4] = {0, 100, 100, 357}, cu_k[4] = {0, 90, 90, 400};
    p.batch = 3;
    p.seq_q = cu_q[3];
    p.seq_kv = cu_k[3];
    void *base = (void *)(uintptr_t)0x10000000u;
    const intfa_tensor q = {base, 0, p.heads_q * p.head_dim, p.head_dim};
    const intfa_tensor kv = {base, 0, p.heads_kv * p.head_dim, p.head_dim};
    fake_cuda_stats before, after;
    get_stats(&before);
    intfa_status st = intfa_attention_varlen(ctx, &p, &q, &kv, &kv, cu_q, cu_k, &q, NULL, NULL, 0, NULL);
    if (st != INTFA_OK) fail_msg("intfa_attention_varlen: %s", intfa_last_error());
    get_stats(&after);
    assert_int_equal(after.launches - before.launches, 3);
    assert_int_equal(after.bad_calls, 0);
    assert_int_equal(after.modules_loaded, before.modules_loaded);
    /* the counts, as copied into the context's workspace: find them after the buffers */
    const int32_t *ws = (const int32_t *)(uintptr_t)ctx->workspace;
    size_t bytes = 0;
    assert_int_equal(intfa_attention_varlen_workspace_size(&p, &bytes), INTFA_OK);
    assert_true(ctx->workspace_bytes >= bytes);
    const int32_t *tail = ws + (bytes - 768) / 4; /* 256-byte slots: cu_q, cu_k, then the pass's sync words */
    assert_memory_equal(tail, cu_q, sizeof cu_q);
    assert_memory_equal(tail + 64, cu_k, sizeof cu_k);
}

/* The streamed K/V pass (sm_90's; forced here on the fake sm_80 context, where the dependent
 * launch is a plain one): the drop-in is two launches, not three, and no memset (the pass
 * zeroes its own counters) except while the stream is being captured into a graph, which
 * replays one epoch; the host path (function lookup, grid, shared memory, parameters) is real. */
static void test_streamed_kv_pass_launches(void **state)
{
    (void)state;
    const intfa_attn_problem p = stress_problem(0);
    void *base = (void *)(uintptr_t)0x10000000u;
    const intfa_tensor q = intfa_tensor_bnhd(base, p.seq_q, p.heads_q, p.head_dim);
    const intfa_tensor kv = intfa_tensor_bnhd(base, p.seq_kv, p.heads_kv, p.head_dim);
    const int saved = ctx->kv_stream_blocks;
    fake_cuda_stats before, mid, after;
    get_stats(&before);
    ctx->kv_stream_blocks = 0;
    intfa_status st = intfa_attention(ctx, &p, &q, &kv, &kv, &q, NULL, NULL, 0, NULL);
    if (st != INTFA_OK) fail_msg("intfa_attention (two-launch pass): %s", intfa_last_error());
    get_stats(&mid);
    ctx->kv_stream_blocks = 4;
    st = intfa_attention(ctx, &p, &q, &kv, &kv, &q, NULL, NULL, 0, NULL);
    ctx->kv_stream_blocks = saved;
    if (st != INTFA_OK) fail_msg("intfa_attention (streamed pass): %s", intfa_last_error());
    get_stats(&after);
    assert_int_equal(mid.launches - before.launches, 3);
    assert_int_equal(mid.memsets - before.memsets, 0);
    assert_int_equal(after.launches - mid.launches, 2);
    assert_int_equal(after.memsets - mid.memsets, 0); /* the pass zeroes its own counters */
    fake_cuda_stats captured;
    ctx->kv_stream_blocks = 4;
    set_capturing(1);
    st = intfa_attention(ctx, &p, &q, &kv, &kv, &q, NULL, NULL, 0, NULL);
    set_capturing(0);
    ctx->kv_stream_blocks = saved;
    if (st != INTFA_OK) fail_msg("intfa_attention (streamed pass, capturing): %s", intfa_last_error());
    get_stats(&captured);
    assert_int_equal(captured.launches - after.launches, 2);
    assert_int_equal(captured.memsets - after.memsets, 1); /* the graph's replays start from zeros */
    assert_int_equal(captured.bad_calls, 0);
}

/* ------------------------------------------------------------------ launching during a compile */

typedef struct race {
    pthread_mutex_t lock;
    int compiling, done;
    long launched_meanwhile;
} race;

static intfa_status run_class(const intfa_attn_problem *p, void *ws, size_t ws_bytes)
{
    /* made-up device addresses: the fake driver never touches them */
    void *base = (void *)(uintptr_t)0x10000000u;
    const intfa_tensor q = intfa_tensor_bnhd(base, p->seq_q, p->heads_q, p->head_dim);
    const intfa_tensor o = intfa_tensor_bnhd(base, p->seq_q, p->heads_q, p->head_dim);
    const intfa_tensor kv = intfa_tensor_bnhd(base, p->seq_kv, p->heads_kv, p->head_dim);
    return intfa_attention(ctx, p, &q, &kv, &kv, &o, NULL, ws, ws_bytes, NULL);
}

/* intfa_attention_int8: its kernel comes through intfa_ctx_function alone (the drop-in fetches
 * missing kernels ahead, runtime/prepare.c) */
static intfa_status run_int8(const intfa_attn_problem *p)
{
    void *base = (void *)(uintptr_t)0x10000000u;
    const intfa_qk_int8 q = {intfa_tensor_bnhd(base, p->seq_q, p->heads_q, p->head_dim), base, NULL};
    const intfa_qk_int8 k = {intfa_tensor_bnhd(base, p->seq_kv, p->heads_kv, p->head_dim), base, NULL};
    const intfa_v_int8 v = {base, base};
    const intfa_tensor o = intfa_tensor_bnhd(base, p->seq_q, p->heads_q, p->head_dim);
    return intfa_attention_int8(ctx, p, &q, &k, &v, &o, NULL, NULL);
}

static void *compile_fresh(void *arg)
{
    race *r = arg;
    intfa_attn_problem p = stress_problem(1);
    p.dtype = INTFA_DTYPE_BF16; /* d128 causal bf16 pu8: an attention variant not in the mix */
    pthread_mutex_lock(&r->lock);
    r->compiling = 1;
    pthread_mutex_unlock(&r->lock);
    intfa_status st = run_int8(&p);
    pthread_mutex_lock(&r->lock);
    r->done = 1 + (st != INTFA_OK);
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

static void test_launches_go_on_during_a_compile(void **state)
{
    (void)state;
    const intfa_attn_problem loaded = stress_problem(0); /* compiled by the test before */
    assert_int_equal(run_class(&loaded, (void *)(uintptr_t)0x30000000u, (size_t)1 << 30), INTFA_OK);
    race r = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0};
    pthread_t t;
    pthread_create(&t, NULL, compile_fresh, &r);
    for (;;) {
        pthread_mutex_lock(&r.lock);
        const int compiling = r.compiling, done = r.done;
        pthread_mutex_unlock(&r.lock);
        if (done) break;
        if (!compiling) continue;
        assert_int_equal(run_class(&loaded, (void *)(uintptr_t)0x30000000u, (size_t)1 << 30), INTFA_OK);
        pthread_mutex_lock(&r.lock);
        if (!r.done) r.launched_meanwhile++;
        pthread_mutex_unlock(&r.lock);
    }
    pthread_join(t, NULL);
    assert_int_equal(r.done, 1);
    printf("calls of a loaded variant while another compiled: %ld\n", r.launched_meanwhile);
    /* the attention compile takes about a second; a context that held its lock over it would
     * let through at most the call that was past the lookup */
    assert_true(r.launched_meanwhile >= 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eight_threads_one_context),
        cmocka_unit_test(test_varlen_launches),
        cmocka_unit_test(test_streamed_kv_pass_launches),
        cmocka_unit_test(test_launches_go_on_during_a_compile),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
