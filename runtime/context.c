/* context.c - contexts: device selection, the primary CUDA context, loaded modules, the
 * chooser registered on each (chooser.h). */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "context.h"
#include "error.h"
#include "render.h"
#include "kernel_store.h"

static void context_free(intfa_context *ctx)
{
    if (ctx->chooser) ctx->chooser->destroy(ctx->chooser_state);
    free((char *)ctx->opts.cache_dir);
    free((char *)ctx->opts.tuning_db);
    free(ctx);
}

static intfa_status arch_of(int major, int minor, intfa_arch *arch)
{
    const int cc = major * 10 + minor;
    switch (cc) {
    case 80: *arch = INTFA_ARCH_SM80; return INTFA_OK;
    case 86: case 87: *arch = INTFA_ARCH_SM86; return INTFA_OK;
    case 89: *arch = INTFA_ARCH_SM89; return INTFA_OK;
    case 90: *arch = INTFA_ARCH_SM90A; return INTFA_OK;
    default:
        return intfa_fail(INTFA_ERR_UNSUPPORTED,
                          "device compute capability %d.%d: intfa builds kernels for sm_80, "
                          "sm_86, sm_89 and sm_90 only", major, minor);
    }
}

/* $INTFA_ARCH=sm_90 on an sm_90 device: the portable target (mma.sync kernels, compiled for
 * sm_90) instead of sm_90a's wgmma kernels, so that one H100 tests both (tests and
 * experiments; docs/ARCHITECTURE.md). Any other value is an error naming it. */
static intfa_status arch_override(intfa_arch *arch)
{
    const char *v = getenv("INTFA_ARCH");
    if (!v || !v[0]) return INTFA_OK;
    intfa_arch want;
    if (intfa_arch_parse(v, &want) != INTFA_OK || want != INTFA_ARCH_SM90 || *arch != INTFA_ARCH_SM90A)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT,
                          "INTFA_ARCH=\"%.32s\": only sm_90 on an sm_90 device (the portable kernels "
                          "instead of sm_90a's) is accepted; this device is %s",
                          v, intfa_arch_name(*arch));
    *arch = want;
    return INTFA_OK;
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

static int env_flag(const char *name)
{
    const char *v = getenv(name);
    return v && v[0] && strcmp(v, "0") != 0;
}

/* splitmix64's finalizer: a bijection, so distinct counts give distinct epochs */
static uint64_t mix64(uint64_t x)
{
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

uint64_t intfa_ctx_next_epoch(void)
{
    /* the count starts at a value drawn per process (clock and pid), so that a workspace that a
     * process before this one left behind holds no epoch this one will use, but for chance */
    static _Atomic uint64_t count;
    uint64_t c = atomic_load(&count);
    if (c == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t start = mix64(((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec) ^
                               ((uint64_t)getpid() << 40)) | 1u;
        atomic_compare_exchange_strong(&count, &c, start); /* a thread that lost the race reads the winner's */
    }
    for (;;) {
        const uint64_t e = mix64(atomic_fetch_add(&count, 1));
        if (e) return e;
    }
}

/* Blocks of the drop-in's streamed K/V pass (docs/ALGORITHM.md): a third of the SMs on sm_90,
 * where the attention kernel runs beside it as a programmatic dependent; none elsewhere (the
 * two-launch pass). INTFA_KV_STREAM_BLOCKS overrides it on sm_90 (0: the pass on every SM,
 * finished before the attention kernel starts). */
static int kv_stream_blocks(intfa_arch arch, int sm_count)
{
    const char *v = getenv("INTFA_KV_STREAM_BLOCKS");
    if (arch != INTFA_ARCH_SM90 && arch != INTFA_ARCH_SM90A) return 0;
    if (v && v[0]) {
        const long n = strtol(v, NULL, 10);
        return n < 0 ? 0 : n > sm_count ? sm_count : (int)n;
    }
    return sm_count / 3 > 0 ? sm_count / 3 : 1; /* 22, 33, 44, 66 of 132 measured: 44 best or level */
}

intfa_status intfa_create(intfa_context **out, int device_ordinal)
{
    return intfa_create_with_options(out, device_ordinal, NULL);
}

intfa_status intfa_create_with_options(intfa_context **out, int device_ordinal,
                                       const intfa_options *options)
{
    intfa_clear_error();
    if (!out) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_create: ctx is NULL");
    intfa_options opts = {0};
    if (options) opts = *options;
    if ((unsigned)opts.tune > INTFA_TUNE_ON_FIRST_USE)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "options.tune = %d is not an intfa_tune_mode", (int)opts.tune);
    if (env_flag("INTFA_DISABLE_JIT")) opts.disable_jit = 1;
    if (env_flag("INTFA_VERBOSE")) opts.verbose = 1;
    const intfa_cu *cu;
    intfa_status st = intfa_driver(&cu);
    if (st != INTFA_OK) return st;
    int count = 0;
    CUresult r = cu->DeviceGetCount(&count);
    if (r != CUDA_SUCCESS) return intfa_cu_fail(r, "cuDeviceGetCount");
    if (count == 0) return intfa_fail(INTFA_ERR_NO_DEVICE, "intfa_create: no CUDA device found");
    if (device_ordinal < 0 || device_ordinal >= count)
        return intfa_fail(INTFA_ERR_NO_DEVICE, "intfa_create: device_ordinal = %d, but %d device(s) exist",
                          device_ordinal, count);

    intfa_context *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return intfa_fail(INTFA_ERR_OUT_OF_MEMORY, "intfa_create: out of host memory");
    ctx->cu = cu;
    ctx->ordinal = device_ordinal;
    ctx->opts = opts;
    ctx->opts.cache_dir = dup_or_null(opts.cache_dir);
    ctx->opts.tuning_db = dup_or_null(opts.tuning_db);
    int major = 0, minor = 0;
    if ((r = cu->DeviceGet(&ctx->device, device_ordinal)) != CUDA_SUCCESS ||
        (r = cu->DeviceGetAttribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, ctx->device)) ||
        (r = cu->DeviceGetAttribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, ctx->device)) ||
        (r = cu->DeviceGetAttribute(&ctx->sm_count, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, ctx->device)) ||
        (r = cu->DeviceGetAttribute(&ctx->smem_optin,
                                    CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN, ctx->device)) ||
        (r = cu->DeviceGetName(ctx->device_name, sizeof ctx->device_name, ctx->device))) {
        context_free(ctx);
        return intfa_cu_fail(r, "intfa_create: querying the device");
    }
    if ((st = arch_of(major, minor, &ctx->arch)) != INTFA_OK || (st = arch_override(&ctx->arch)) != INTFA_OK) {
        context_free(ctx);
        return st;
    }
    if ((r = cu->DevicePrimaryCtxRetain(&ctx->cuctx, ctx->device)) != CUDA_SUCCESS) {
        context_free(ctx);
        return intfa_cu_fail(r, "intfa_create: cuDevicePrimaryCtxRetain");
    }
    ctx->chooser = &intfa_chooser_builtin;
    if ((st = ctx->chooser->create(&ctx->chooser_state)) != INTFA_OK) {
        cu->DevicePrimaryCtxRelease(ctx->device);
        context_free(ctx);
        return st;
    }
    ctx->kv_stream_blocks = kv_stream_blocks(ctx->arch, ctx->sm_count);
    pthread_mutex_init(&ctx->lock, NULL);
    pthread_cond_init(&ctx->module_loaded, NULL);
    *out = ctx;
    return INTFA_OK;
}

intfa_status intfa_destroy(intfa_context *ctx)
{
    intfa_clear_error();
    if (!ctx) return INTFA_OK;
    const intfa_cu *cu = ctx->cu;
    if (cu->CtxPushCurrent(ctx->cuctx) == CUDA_SUCCESS) {
        for (intfa_loaded_module *m = ctx->modules, *next; m; m = next) {
            next = m->next;
            cu->ModuleUnload(m->module);
            free(m);
        }
        if (ctx->workspace) cu->MemFree(ctx->workspace);
        CUcontext dummy;
        cu->CtxPopCurrent(&dummy);
    }
    cu->DevicePrimaryCtxRelease(ctx->device);
    pthread_mutex_destroy(&ctx->lock);
    pthread_cond_destroy(&ctx->module_loaded);
    context_free(ctx);
    return INTFA_OK;
}

intfa_status intfa_context_arch(const intfa_context *ctx, intfa_arch *arch)
{
    intfa_clear_error();
    if (!ctx || !arch) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_context_arch: NULL argument");
    *arch = ctx->arch;
    return INTFA_OK;
}

/* Per thread, one bit per intfa_ctx_enter not yet left: 1 where it pushed the context. Where
 * the caller's current context is already ctx's (PyTorch's threads: the primary context),
 * nothing is pushed or popped. */
static _Thread_local unsigned long long enter_pushed;

intfa_status intfa_ctx_enter(intfa_context *ctx)
{
    CUcontext cur = NULL;
    if (ctx->cu->CtxGetCurrent(&cur) == CUDA_SUCCESS && cur && cur == ctx->cuctx) {
        enter_pushed <<= 1;
        return INTFA_OK;
    }
    CUresult r = ctx->cu->CtxPushCurrent(ctx->cuctx);
    if (r != CUDA_SUCCESS) return intfa_cu_fail(r, "cuCtxPushCurrent");
    enter_pushed = enter_pushed << 1 | 1u;
    return INTFA_OK;
}

void intfa_ctx_leave(intfa_context *ctx)
{
    CUcontext dummy;
    if (enter_pushed & 1u) ctx->cu->CtxPopCurrent(&dummy);
    enter_pushed >>= 1;
}

/* v's listed module (loaded or loading), or NULL; ctx->lock held. */
static intfa_loaded_module *find_module(intfa_context *ctx, const intfa_variant *v)
{
    intfa_loaded_module *m = ctx->modules;
    while (m && !intfa_variant_same(&m->variant, v)) m = m->next;
    return m;
}

int intfa_ctx_has_module(intfa_context *ctx, const intfa_variant *v)
{
    pthread_mutex_lock(&ctx->lock);
    const intfa_loaded_module *m = find_module(ctx, v);
    pthread_mutex_unlock(&ctx->lock);
    return m != NULL;
}

/* cuModuleLoadData of v's cubin, failing with v's name. */
static intfa_status load_data(intfa_context *ctx, const intfa_variant *v, const void *cubin,
                              CUmodule *mod)
{
    CUresult r = ctx->cu->ModuleLoadData(mod, cubin);
    if (r == CUDA_SUCCESS) return INTFA_OK;
    char name[INTFA_VARIANT_NAME_MAX];
    intfa_variant_name(v, name, sizeof name);
    return intfa_cu_fail(r, name);
}

/* Lists a new module entry for v (loading when mod is NULL); ctx->lock held. */
static intfa_loaded_module *list_module(intfa_context *ctx, const intfa_variant *v, const CUmodule *mod)
{
    intfa_loaded_module *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->variant = *v;
    if (mod) m->module = *mod;
    m->loading = mod == NULL;
    m->next = ctx->modules;
    ctx->modules = m;
    return m;
}

intfa_status intfa_ctx_load_binary(intfa_context *ctx, const intfa_variant *v, const void *cubin)
{
    pthread_mutex_lock(&ctx->lock);
    intfa_status st = INTFA_OK;
    CUmodule mod;
    if (!find_module(ctx, v) && (st = load_data(ctx, v, cubin, &mod)) == INTFA_OK &&
        !list_module(ctx, v, &mod)) {
        ctx->cu->ModuleUnload(mod);
        st = intfa_fail(INTFA_ERR_OUT_OF_MEMORY, "out of host memory");
    }
    pthread_mutex_unlock(&ctx->lock);
    return st;
}

/* Compiles (or fetches) and loads the module of m (listed, loading) with the lock released
 * meanwhile; a failed load is unlisted. Called and returns with ctx->lock held. */
static intfa_status load_listed(intfa_context *ctx, intfa_loaded_module *m)
{
    pthread_mutex_unlock(&ctx->lock);
    void *cubin = NULL;
    size_t size = 0;
    CUmodule mod;
    intfa_status st = intfa_kernel_binary(ctx, &m->variant, &cubin, &size);
    if (st == INTFA_OK) st = load_data(ctx, &m->variant, cubin, &mod);
    free(cubin);
    pthread_mutex_lock(&ctx->lock);
    if (st == INTFA_OK) {
        m->module = mod;
        m->loading = 0;
    } else {
        intfa_loaded_module **p = &ctx->modules;
        while (*p != m) p = &(*p)->next;
        *p = m->next;
        free(m);
    }
    pthread_cond_broadcast(&ctx->module_loaded);
    return st;
}

intfa_status intfa_ctx_function(intfa_context *ctx, const intfa_variant *v, const char *entry,
                                CUfunction *fn)
{
    pthread_mutex_lock(&ctx->lock);
    intfa_loaded_module *m;
    intfa_status st = INTFA_OK;
    /* another thread's load of v: wait for it (if it fails, load it here) */
    while ((m = find_module(ctx, v)) && m->loading) pthread_cond_wait(&ctx->module_loaded, &ctx->lock);
    if (!m) {
        m = list_module(ctx, v, NULL);
        st = m ? load_listed(ctx, m) : intfa_fail(INTFA_ERR_OUT_OF_MEMORY, "out of host memory");
    }
    if (st == INTFA_OK) {
        CUresult r = ctx->cu->ModuleGetFunction(fn, m->module, entry);
        if (r != CUDA_SUCCESS) st = intfa_cu_fail(r, entry);
    }
    pthread_mutex_unlock(&ctx->lock);
    return st;
}

intfa_status intfa_ctx_check_stream(intfa_context *ctx, void *stream)
{
    if (!stream) return INTFA_OK; /* the legacy default stream of the current context */
    CUcontext sctx = NULL;
    CUresult r = ctx->cu->StreamGetCtx((CUstream)stream, &sctx);
    if (r != CUDA_SUCCESS) return intfa_cu_fail(r, "stream: cuStreamGetCtx (not a valid stream?)");
    if (sctx != ctx->cuctx)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT,
                          "stream = %p belongs to another CUDA context than this intfa context's "
                          "device %d (a stream from another device?)", stream, ctx->ordinal);
    return INTFA_OK;
}

int intfa_ctx_is_device_memory(intfa_context *ctx, const void *p)
{
    unsigned type = 0;
    int managed = 0;
    const CUdeviceptr d = (CUdeviceptr)(uintptr_t)p;
    return ctx->cu->PointerGetAttribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, d) == CUDA_SUCCESS &&
           type == CU_MEMORYTYPE_DEVICE &&
           (ctx->cu->PointerGetAttribute(&managed, CU_POINTER_ATTRIBUTE_IS_MANAGED, d) != CUDA_SUCCESS ||
            !managed);
}
