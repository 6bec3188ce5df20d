/* test_nvrtc.c - NVRTC compiles: small hand-written kernels per target, the failure path, and
 * every default variant for sm_80, sm_86, sm_89 and sm_90a (needs the real templates). No GPU. */
#include <elf.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "error.h"
#include "nvrtc_compile.h"
#include "render.h"
#include "template.h"

static const intfa_arch test_archs[] = {INTFA_ARCH_SM80, INTFA_ARCH_SM86, INTFA_ARCH_SM89,
                                        INTFA_ARCH_SM90A};
#define N_TEST_ARCHS (sizeof test_archs / sizeof test_archs[0])

static int arch_sm(intfa_arch a)
{
    switch (a) {
    case INTFA_ARCH_SM80: return 80;
    case INTFA_ARCH_SM86: return 86;
    case INTFA_ARCH_SM89: return 89;
    case INTFA_ARCH_SM90:
    case INTFA_ARCH_SM90A: return 90;
    default: return -1;
    }
}

static int contains(const void *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    const char *h = hay;
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(h + i, needle, k) == 0)
            return 1;
    return 0;
}

/* The SM number in a cubin's ELF header, or -1 if it is not a CUDA ELF. The CUDA 13 ELF
 * (ABI version 8) keeps it in e_flags bits 8..15, earlier ones in bits 0..7. sm_90 and sm_90a
 * share it; the 'a' shows in the toolkit note ("-arch sm_90a") and the embedded ".target". */
static int cubin_sm(const void *cubin, size_t size)
{
    Elf64_Ehdr h;
    if (size < sizeof h)
        return -1;
    memcpy(&h, cubin, sizeof h);
    if (memcmp(h.e_ident, ELFMAG, SELFMAG) != 0 || h.e_ident[EI_CLASS] != ELFCLASS64 ||
        h.e_machine != EM_CUDA)
        return -1;
    return h.e_ident[EI_ABIVERSION] >= 8 ? (int)((h.e_flags >> 8) & 0xff)
                                         : (int)(h.e_flags & 0xff);
}

/* Asserts cubin is a CUDA ELF for arch (the "a" included). */
static void check_cubin(const void *cubin, size_t size, intfa_arch arch, const char *what)
{
    assert_non_null(cubin);
    assert_true(size > 64);
    const unsigned char *b = cubin;
    if (!(b[0] == 0x7f && b[1] == 'E' && b[2] == 'L' && b[3] == 'F'))
        fail_msg("%s: cubin does not start with the ELF magic", what);
    int sm = cubin_sm(cubin, size);
    if (sm != arch_sm(arch))
        fail_msg("%s: cubin is for sm %d, expected %d", what, sm, arch_sm(arch));
    int has_90a = contains(cubin, size, "sm_90a");
    if (arch == INTFA_ARCH_SM90A && !has_90a)
        fail_msg("%s: sm_90a cubin does not name sm_90a", what);
    if (arch != INTFA_ARCH_SM90A && has_90a)
        fail_msg("%s: non-sm_90a cubin names sm_90a", what);
}

/* ------------------------------------------------------------------ small kernels */

/* An int8 mma (sm_80+), a helper without __device__ (-default-device), no fast math, and
 * INTFA_NVRTC defined. */
static const char small_kernel[] =
    "#ifndef INTFA_NVRTC\n#error INTFA_NVRTC not defined\n#endif\n"
    "#if __USE_FAST_MATH__ || __CUDA_FTZ || !__CUDA_PREC_DIV || !__CUDA_PREC_SQRT\n"
    "#error fast math must be off\n#endif\n"
    "int dot4(int a, int b, int c) { return __dp4a(a, b, c); }\n"
    "extern \"C\" __global__ void small_mma(const int *a, const int *b, int *d) {\n"
    "    int c0 = 0, c1 = 0, c2 = 0, c3 = 0;\n"
    "    asm volatile(\"mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 "
    "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\\n\"\n"
    "        : \"+r\"(c0), \"+r\"(c1), \"+r\"(c2), \"+r\"(c3)\n"
    "        : \"r\"(a[0]), \"r\"(a[1]), \"r\"(a[2]), \"r\"(a[3]), \"r\"(b[0]), \"r\"(b[1]));\n"
    "    d[threadIdx.x] = dot4(c0, c1, c2 + c3) + (int)expf((float)c0);\n"
    "}\n";

/* Compiles only where the sm_90a features are enabled (wgmma, setmaxnreg need them). */
static const char sm90a_only_kernel[] =
    "#if !defined(__CUDA_ARCH_FEAT_SM90_ALL)\n#error needs sm_90a\n#endif\n"
    "extern \"C\" __global__ void feat(int *p) {\n"
    "    asm volatile(\"wgmma.fence.sync.aligned;\\n\" ::: \"memory\");\n"
    "    p[threadIdx.x] = 1;\n"
    "}\n";

static void test_small_kernel_every_arch(void **state)
{
    (void)state;
    void *bins[N_TEST_ARCHS];
    size_t sizes[N_TEST_ARCHS];
    for (size_t i = 0; i < N_TEST_ARCHS; i++) {
        double ms = -1;
        intfa_status st = intfa_nvrtc_compile(small_kernel, "small_mma.cu", test_archs[i],
                                              &bins[i], &sizes[i], &ms);
        if (st != INTFA_OK)
            fail_msg("small_mma for arch %d: %s", (int)test_archs[i], intfa_last_error());
        assert_true(ms > 0);
        check_cubin(bins[i], sizes[i], test_archs[i], "small_mma");
    }
    /* sm_80 and sm_90a cubins differ. */
    assert_false(sizes[0] == sizes[N_TEST_ARCHS - 1] &&
                 memcmp(bins[0], bins[N_TEST_ARCHS - 1], sizes[0]) == 0);
    for (size_t i = 0; i < N_TEST_ARCHS; i++)
        intfa_free(bins[i]);
}

static void test_sm90a_features(void **state)
{
    (void)state;
    void *bin = NULL;
    size_t size = 0;
    intfa_status st = intfa_nvrtc_compile(sm90a_only_kernel, "feat.cu", INTFA_ARCH_SM90A, &bin,
                                          &size, NULL);
    if (st != INTFA_OK)
        fail_msg("sm_90a features: %s", intfa_last_error());
    check_cubin(bin, size, INTFA_ARCH_SM90A, "feat");
    intfa_free(bin);

    /* Plain sm_90 has no wgmma: the same source must not compile. */
    bin = NULL;
    st = intfa_nvrtc_compile(sm90a_only_kernel, "feat.cu", INTFA_ARCH_SM90, &bin, &size, NULL);
    assert_int_equal(st, INTFA_ERR_COMPILE);
    assert_null(bin);
}

static void test_broken_source(void **state)
{
    (void)state;
    void *bin = (void *)0x1;
    size_t size = 12345;
    double ms = -7;
    intfa_status st = intfa_nvrtc_compile("__global__ void k() { int x = ; }\n",
                                          "broken_kernel.cu", INTFA_ARCH_SM80, &bin, &size, &ms);
    assert_int_equal(st, INTFA_ERR_COMPILE);
    const char *msg = intfa_last_error();
    assert_non_null(strstr(msg, "broken_kernel.cu"));
    assert_non_null(strstr(msg, "error"));
    assert_non_null(strstr(msg, "sm_80"));
    /* Outputs untouched. */
    assert_ptr_equal(bin, (void *)0x1);
    assert_int_equal(size, 12345);
    assert_true(ms == -7);
}

/* A log far over the message budget is cut at a line end with a note. */
static void test_long_log_truncated(void **state)
{
    (void)state;
    size_t cap = 400 * 64;
    char *src = malloc(cap);
    assert_non_null(src);
    size_t n = 0;
    for (int i = 0; i < 400; i++)
        n += (size_t)snprintf(src + n, cap - n, "__device__ int x%d = ;\n", i);
    void *bin = NULL;
    size_t size = 0;
    intfa_status st = intfa_nvrtc_compile(src, "many_errors.cu", INTFA_ARCH_SM86, &bin, &size,
                                          NULL);
    free(src);
    assert_int_equal(st, INTFA_ERR_COMPILE);
    const char *msg = intfa_last_error();
    assert_true(strlen(msg) < 3500);
    assert_non_null(strstr(msg, "many_errors.cu(1): error"));
    assert_non_null(strstr(msg, "more bytes of log)"));
}

static void test_bad_arguments(void **state)
{
    (void)state;
    void *bin = NULL;
    size_t size = 0;
    assert_int_equal(intfa_nvrtc_compile(NULL, "a.cu", INTFA_ARCH_SM80, &bin, &size, NULL),
                     INTFA_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(intfa_last_error(), "source"));
    assert_int_equal(intfa_nvrtc_compile("", NULL, INTFA_ARCH_SM80, &bin, &size, NULL),
                     INTFA_ERR_INVALID_ARGUMENT);
    assert_int_equal(intfa_nvrtc_compile("", "a.cu", INTFA_ARCH_SM80, NULL, &size, NULL),
                     INTFA_ERR_INVALID_ARGUMENT);
    assert_int_equal(intfa_nvrtc_compile("", "a.cu", INTFA_ARCH_SM80, &bin, NULL, NULL),
                     INTFA_ERR_INVALID_ARGUMENT);
    assert_int_equal(intfa_nvrtc_compile("", "a.cu", INTFA_ARCH_COUNT, &bin, &size, NULL),
                     INTFA_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(intfa_last_error(), "arch = 5"));
    assert_null(bin);

    intfa_variant v;
    memset(&v, 0, sizeof v);
    assert_int_equal(intfa_variant_compile(NULL, &bin, &size, NULL), INTFA_ERR_INVALID_ARGUMENT);
    assert_int_equal(intfa_variant_compile(&v, NULL, &size, NULL), INTFA_ERR_INVALID_ARGUMENT);
    assert_int_equal(intfa_variant_compile(&v, &bin, NULL, NULL), INTFA_ERR_INVALID_ARGUMENT);
}

static void test_version_and_options(void **state)
{
    (void)state;
    assert_true(intfa_nvrtc_version() >= 12000);
    const char *opts = intfa_nvrtc_options_string();
    assert_non_null(strstr(opts, "-std=c++17"));
    assert_non_null(strstr(opts, "-default-device"));
    assert_null(strstr(opts, "-lineinfo")); /* line information only on request */
    assert_non_null(strstr(opts, "-DINTFA_NVRTC=1"));
    assert_null(strstr(opts, "fast_math"));
}

/* INTFA_LINEINFO=1 adds -lineinfo: a different options string (so a different cache key) and a
 * cubin that carries line tables (larger), for profiling; unset, the plain options again. */
static void test_lineinfo_on_request(void **state)
{
    (void)state;
    intfa_variant v;
    assert_int_equal(intfa_variant_default(INTFA_KIND_QUANT_QK, INTFA_ARCH_SM80, 64, INTFA_FMT_INT8, 0,
                                           INTFA_DTYPE_FP16, INTFA_PQ_U8_ROW, &v),
                     INTFA_OK);
    void *plain = NULL, *lines = NULL;
    size_t plain_size = 0, lines_size = 0;
    assert_int_equal(intfa_variant_compile(&v, &plain, &plain_size, NULL), INTFA_OK);
    setenv("INTFA_LINEINFO", "1", 1);
    assert_non_null(strstr(intfa_nvrtc_options_string(), "-lineinfo"));
    assert_int_equal(intfa_variant_compile(&v, &lines, &lines_size, NULL), INTFA_OK);
    unsetenv("INTFA_LINEINFO");
    assert_null(strstr(intfa_nvrtc_options_string(), "-lineinfo"));
    assert_true(lines_size > plain_size + plain_size / 4);
    free(plain);
    free(lines);
}

/* ------------------------------------------------------------------ every default variant */

typedef struct job {
    intfa_variant v;
    char name[INTFA_VARIANT_NAME_MAX];
    intfa_status status;
    char message[4096];
    void *cubin;
    size_t size;
    double ms;
} job;

typedef struct pool {
    job *jobs;
    size_t n;
    atomic_size_t next;
} pool;

static void *worker(void *arg)
{
    pool *p = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&p->next, 1);
        if (i >= p->n)
            return NULL;
        job *j = &p->jobs[i];
        j->status = intfa_variant_compile(&j->v, &j->cubin, &j->size, &j->ms);
        if (j->status != INTFA_OK)
            snprintf(j->message, sizeof j->message, "%s", intfa_last_error());
    }
}

static void require_template(const char *file)
{
    for (const intfa_embedded_template *t = intfa_embedded_templates; t->name; t++)
        if (strcmp(t->name, file) == 0)
            return;
    fail_msg("template templates/%s is missing from the build: the default variants cannot be "
             "compiled until it exists (re-run cmake after adding it)",
             file);
}

/* Runs the jobs' compiles on two threads (each job records its status). */
static void compile_jobs(job *jobs, size_t n)
{
    pool p = {.jobs = jobs, .n = n};
    atomic_init(&p.next, 0);
    pthread_t threads[2];
    for (int t = 0; t < 2; t++)
        assert_int_equal(pthread_create(&threads[t], NULL, worker, &p), 0);
    for (int t = 0; t < 2; t++)
        pthread_join(threads[t], NULL);
}

/* One job per variant name (parsed). */
static void jobs_of(const char *const *names, job *jobs, size_t n)
{
    memset(jobs, 0, n * sizeof *jobs);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(intfa_variant_parse(names[i], &jobs[i].v), INTFA_OK);
        snprintf(jobs[i].name, sizeof jobs[i].name, "%s", names[i]);
    }
}

/* Compiles the jobs (two threads), then checks each cubin and prints its time and size. */
static void compile_and_check(job *jobs, size_t n)
{
    compile_jobs(jobs, n);
    for (size_t i = 0; i < n; i++) {
        if (jobs[i].status != INTFA_OK) fail_msg("%s: %s", jobs[i].name, jobs[i].message);
        print_message("%-60s %8.0f ms %8zu bytes\n", jobs[i].name, jobs[i].ms, jobs[i].size);
        check_cubin(jobs[i].cubin, jobs[i].size, jobs[i].v.arch, jobs[i].name);
        intfa_free(jobs[i].cubin);
    }
}

/* The warp-specialized sm_90a kernel (not in the default set): both head dims and masks, both
 * P quantizations, bf16, one and two consumer warpgroups, 64- and 128-key tiles. */
static void test_warp_specialized_variants(void **state)
{
    (void)state;
    require_template("attn_fwd_ws.cu");
    static const char *const names[] = {
        "attn_fwd-sm90a-d128-int8-fp16-full-pu8-m128n128w12s2",
        "attn_fwd-sm90a-d64-int8-bf16-causal-pu8-m128n128w12s3",
        "attn_fwd-sm90a-d128-int8-fp16-causal-ps8-m64n64w8s4",
        "attn_fwd-sm90a-d64-int8-fp16-full-pu8-m128n64w12s2",
    };
    enum { N = sizeof names / sizeof names[0] };
    job jobs[N];
    jobs_of(names, jobs, N);
    for (size_t i = 0; i < N; i++) {
        assert_true(intfa_variant_uses_ws(&jobs[i].v));
        char *src = NULL;
        assert_int_equal(intfa_variant_render(&jobs[i].v, &src), INTFA_OK);
        assert_non_null(strstr(src, "cp.async.bulk.tensor"));
        assert_non_null(strstr(src, "setmaxnreg.inc"));
        intfa_free(src);
    }
    compile_and_check(jobs, N);
}

/* The head dims outside the default set (issue 16): the wgmma kernel (sm_90a) and the mma.sync
 * kernel (sm_80, sm_90) at dims padded to 32 (48, 80), cut into 32-byte slabs (96, 224), 64-byte
 * (192) and 128-byte slabs with P.V in column chunks (256), and two of the wgmma defaults past
 * 128 (a block of two warpgroups at 224; 128 keys with pipelined P.V at 160 causal); the
 * quantization kernels at dims that are not powers of two. Every one renders and compiles to a
 * cubin of its target. */
static void test_other_head_dims(void **state)
{
    (void)state;
    static const char *const names[] = {
        "attn_fwd-sm90a-d96-int8-fp16-causal-pu8-m64n128w4s2",
        "attn_fwd-sm90a-d256-int8-bf16-full-pu8-m64n64w4s2",
        "attn_fwd-sm90a-d48-int8-fp16-full-ps8-m64n128w4s2",
        "attn_fwd-sm90a-d192-int8-fp16-causal-pu8-m64n64w4s2",
        "attn_fwd-sm90a-d224-int8-fp16-causal-pu8-m128n128w8s2",
        "attn_fwd-sm90a-d160-int8-bf16-causal-pu8-m64n128w4s2",
        "attn_fwd-sm80-d80-int8-fp16-causal-pu8-m128n64w4s2",
        "attn_fwd-sm90-d224-int8-bf16-full-pu8-m64n32w4s2",
        "quant_qk-sm90a-d80-int8-fp16-w4",
        "quant_v-sm90a-d160-bf16-w4",
        "quant_v-sm80-d96-fp16-w4",
    };
    enum { N = sizeof names / sizeof names[0] };
    job jobs[N];
    jobs_of(names, jobs, N);
    for (size_t i = 0; i < N; i++)
        if (intfa_variant_check(&jobs[i].v) != INTFA_OK) fail_msg("%s: %s", names[i], intfa_last_error());
    compile_and_check(jobs, N);
}

static void test_all_default_variants(void **state)
{
    (void)state;
    require_template("attn_fwd.cu");
    require_template("quant_qk.cu");
    require_template("quant_v.cu");

    job *jobs = NULL;
    size_t n = 0;
    for (size_t a = 0; a < N_TEST_ARCHS; a++) {
        intfa_variant probe;
        size_t count = 0;
        if (intfa_variant_default_set(test_archs[a], &probe, 0, &count) != INTFA_OK)
            fail_msg("intfa_variant_default_set: %s", intfa_last_error());
        assert_true(count > 0);
        intfa_variant *vs = calloc(count, sizeof *vs);
        job *grown = realloc(jobs, (n + count) * sizeof *jobs);
        assert_non_null(vs);
        assert_non_null(grown);
        jobs = grown;
        size_t got = 0;
        assert_int_equal(intfa_variant_default_set(test_archs[a], vs, count, &got), INTFA_OK);
        assert_int_equal(got, count);
        for (size_t i = 0; i < count; i++) {
            job *j = &jobs[n + i];
            memset(j, 0, sizeof *j);
            j->v = vs[i];
            assert_int_equal(j->v.arch, test_archs[a]);
            assert_int_equal(intfa_variant_name(&j->v, j->name, sizeof j->name), INTFA_OK);
        }
        n += count;
        free(vs);
    }

    compile_jobs(jobs, n);

    size_t failed = 0;
    const job *first_failure = NULL;
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        job *j = &jobs[i];
        if (j->status != INTFA_OK) {
            print_message("FAILED %s: %s\n", j->name, j->message);
            if (!first_failure)
                first_failure = j;
            failed++;
            continue;
        }
        print_message("%-60s %8.0f ms %8zu bytes\n", j->name, j->ms, j->size);
        total += j->ms;
        check_cubin(j->cubin, j->size, j->v.arch, j->name);
    }
    print_message("%zu variants, %zu failed, %.0f ms of compile time\n", n, failed, total);
    if (first_failure)
        fail_msg("%zu of %zu default variants failed to compile; first: %s", failed, n,
                 first_failure->message);

    /* The sm_80 and sm_90a builds of the first attention variant differ. */
    const job *j80 = NULL, *j90a = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!j80 && jobs[i].v.arch == INTFA_ARCH_SM80 && jobs[i].v.kind == INTFA_KIND_ATTN_FWD)
            j80 = &jobs[i];
        if (!j90a && jobs[i].v.arch == INTFA_ARCH_SM90A && jobs[i].v.kind == INTFA_KIND_ATTN_FWD)
            j90a = &jobs[i];
    }
    assert_non_null(j80);
    assert_non_null(j90a);
    assert_false(j80->size == j90a->size && memcmp(j80->cubin, j90a->cubin, j80->size) == 0);

    for (size_t i = 0; i < n; i++)
        intfa_free(jobs[i].cubin);
    free(jobs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_and_options),
        cmocka_unit_test(test_lineinfo_on_request),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_small_kernel_every_arch),
        cmocka_unit_test(test_sm90a_features),
        cmocka_unit_test(test_warp_specialized_variants),
        cmocka_unit_test(test_other_head_dims),
        cmocka_unit_test(test_broken_source),
        cmocka_unit_test(test_long_log_truncated),
        cmocka_unit_test(test_all_default_variants),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
