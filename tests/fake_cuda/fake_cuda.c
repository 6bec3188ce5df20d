/* fake_cuda.c - the made-up CUDA driver of fake_cuda.h: cuGetProcAddress_v2 and the entry
 * points intfa resolves through it. */
#include <cuda.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_cuda.h"

#define MODULE_TAG 0x4d4f44554c45ULL /* "MODULE" */
#define STREAM_TAG 0x53545245414dULL /* "STREAM" */
#define FUNC_TAG 0x46554e43ULL       /* "FUNC" */

typedef struct fake_func {
    uint64_t tag;
} fake_func;

typedef struct fake_module {
    _Atomic uint64_t tag;
    fake_func fn; /* every entry name gives this one function */
} fake_module;

typedef struct fake_stream {
    _Atomic uint64_t tag;
} fake_stream;

static int primary; /* the one context's handle is its address */
/* modules come from a pool and are never reused: a launch through a function of an unloaded
 * module stays detectable (its tag is cleared), never a use after free */
#define MODULE_POOL 1024
static fake_module module_pool[MODULE_POOL];
static _Atomic int modules_used;
static _Atomic long modules_loaded, modules_unloaded, launches, bad_calls, pushes, pops, memsets;
static _Thread_local int push_depth;
static _Atomic int capturing;

void fake_cuda_set_capturing(int on) { capturing = on; }

void fake_cuda_get_stats(fake_cuda_stats *out)
{
    out->modules_loaded = modules_loaded;
    out->modules_unloaded = modules_unloaded;
    out->launches = launches;
    out->memsets = memsets;
    out->bad_calls = bad_calls;
    out->pushes = pushes;
    out->pops = pops;
}

static CUresult bad(const char *what)
{
    fprintf(stderr, "fake_cuda: %s\n", what);
    bad_calls++;
    return CUDA_ERROR_INVALID_VALUE;
}

static CUresult Init(unsigned flags) { (void)flags; return CUDA_SUCCESS; }
static CUresult DriverGetVersion(int *v) { *v = 13000; return CUDA_SUCCESS; }
static CUresult GetErrorString(CUresult r, const char **s) { (void)r; *s = "fake error"; return CUDA_SUCCESS; }
static CUresult GetErrorName(CUresult r, const char **s) { (void)r; *s = "CUDA_ERROR_FAKE"; return CUDA_SUCCESS; }
static CUresult DeviceGetCount(int *n) { *n = 1; return CUDA_SUCCESS; }
static CUresult DeviceGet(CUdevice *d, int ordinal) { *d = ordinal; return ordinal == 0 ? CUDA_SUCCESS : CUDA_ERROR_INVALID_DEVICE; }

static CUresult DeviceGetName(char *name, int len, CUdevice d)
{
    (void)d;
    snprintf(name, (size_t)len, "intfa fake sm_80");
    return CUDA_SUCCESS;
}

static CUresult DeviceGetAttribute(int *v, CUdevice_attribute a, CUdevice d)
{
    (void)d;
    switch (a) {
    case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR: *v = 8; break;
    case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR: *v = 0; break;
    case CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT: *v = 108; break;
    case CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN: *v = 166912; break;
    default: *v = 0; break;
    }
    return CUDA_SUCCESS;
}

static CUresult PrimaryCtxRetain(CUcontext *c, CUdevice d) { (void)d; *c = (CUcontext)&primary; return CUDA_SUCCESS; }
static CUresult PrimaryCtxRelease(CUdevice d) { (void)d; return CUDA_SUCCESS; }
static CUresult CtxSetCurrent(CUcontext c) { (void)c; return CUDA_SUCCESS; }
static CUresult CtxGetCurrent(CUcontext *c) { *c = push_depth ? (CUcontext)&primary : NULL; return CUDA_SUCCESS; }

static CUresult CtxPushCurrent(CUcontext c)
{
    if (c != (CUcontext)&primary) return bad("cuCtxPushCurrent of a context that does not exist");
    push_depth++;
    pushes++;
    return CUDA_SUCCESS;
}

static CUresult CtxPopCurrent(CUcontext *c)
{
    if (push_depth == 0) return bad("cuCtxPopCurrent without a push on this thread");
    push_depth--;
    pops++;
    if (c) *c = (CUcontext)&primary;
    return CUDA_SUCCESS;
}

static CUresult CtxSynchronize(void) { return CUDA_SUCCESS; }

static int is_stream(CUstream s)
{
    return s == NULL || ((fake_stream *)s)->tag == STREAM_TAG;
}

static CUresult StreamGetCtx(CUstream s, CUcontext *c)
{
    if (!is_stream(s)) return bad("cuStreamGetCtx of a stream that does not exist");
    *c = (CUcontext)&primary;
    return CUDA_SUCCESS;
}

static CUresult StreamSynchronize(CUstream s) { return is_stream(s) ? CUDA_SUCCESS : bad("cuStreamSynchronize of a foreign stream"); }

static CUresult StreamIsCapturing(CUstream s, CUstreamCaptureStatus *status)
{
    if (!is_stream(s)) return bad("cuStreamIsCapturing of a foreign stream");
    *status = capturing ? CU_STREAM_CAPTURE_STATUS_ACTIVE : CU_STREAM_CAPTURE_STATUS_NONE;
    return CUDA_SUCCESS;
}

/* The made-up device addresses tests pass, [0x10000000, 0x80000000), are device memory; anything
 * else is host memory to this driver ("not a CUDA pointer"), as malloc'ed memory on a real one. */
static CUresult PointerGetAttribute(void *data, CUpointer_attribute attr, CUdeviceptr p)
{
    if (p < 0x10000000u || p >= 0x80000000u) return CUDA_ERROR_INVALID_VALUE;
    if (attr == CU_POINTER_ATTRIBUTE_MEMORY_TYPE) *(unsigned *)data = CU_MEMORYTYPE_DEVICE;
    else if (attr == CU_POINTER_ATTRIBUTE_IS_MANAGED) *(int *)data = 0;
    else return CUDA_ERROR_INVALID_VALUE;
    return CUDA_SUCCESS;
}

static CUresult StreamCreate(CUstream *s, unsigned flags)
{
    (void)flags;
    fake_stream *f = malloc(sizeof *f);
    if (!f) return CUDA_ERROR_OUT_OF_MEMORY;
    f->tag = STREAM_TAG;
    *s = (CUstream)f;
    return CUDA_SUCCESS;
}

static CUresult StreamDestroy(CUstream s)
{
    if (!s || !is_stream(s)) return bad("cuStreamDestroy of a stream that does not exist");
    ((fake_stream *)s)->tag = 0;
    free(s);
    return CUDA_SUCCESS;
}

static CUresult ModuleLoadData(CUmodule *m, const void *image)
{
    if (!image || memcmp(image, "\177ELF", 4) != 0) return bad("cuModuleLoadData of an image that is not ELF");
    const int i = modules_used++;
    if (i >= MODULE_POOL) return bad("cuModuleLoadData: more modules than the fake driver holds");
    fake_module *f = &module_pool[i];
    f->tag = MODULE_TAG;
    f->fn.tag = FUNC_TAG;
    *m = (CUmodule)f;
    modules_loaded++;
    return CUDA_SUCCESS;
}

static CUresult ModuleUnload(CUmodule m)
{
    fake_module *f = (fake_module *)m;
    if (!f || f->tag != MODULE_TAG) return bad("cuModuleUnload of a module that is not loaded");
    f->tag = 0;
    modules_unloaded++;
    return CUDA_SUCCESS;
}

static CUresult ModuleGetFunction(CUfunction *fn, CUmodule m, const char *name)
{
    fake_module *f = (fake_module *)m;
    if (!f || f->tag != MODULE_TAG || !name || !name[0]) return bad("cuModuleGetFunction on a module that is not loaded");
    *fn = (CUfunction)&f->fn;
    return CUDA_SUCCESS;
}

static int is_live_function(CUfunction fn)
{
    if (!fn) return 0;
    const fake_func *f = (const fake_func *)fn;
    const fake_module *m = (const fake_module *)((const char *)f - offsetof(fake_module, fn));
    return f->tag == FUNC_TAG && m->tag == MODULE_TAG;
}

static CUresult FuncSetAttribute(CUfunction fn, CUfunction_attribute a, int v)
{
    (void)a;
    (void)v;
    return is_live_function(fn) ? CUDA_SUCCESS : bad("cuFuncSetAttribute of a function not loaded");
}

static CUresult FuncGetAttribute(int *v, CUfunction_attribute a, CUfunction fn)
{
    (void)a;
    *v = 0;
    return is_live_function(fn) ? CUDA_SUCCESS : bad("cuFuncGetAttribute of a function not loaded");
}

static CUresult LaunchKernel(CUfunction fn, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                             unsigned by, unsigned bz, unsigned smem, CUstream s, void **params,
                             void **extra)
{
    (void)smem;
    (void)extra;
    if (!is_live_function(fn)) return bad("cuLaunchKernel of a function not loaded");
    if (!is_stream(s)) return bad("cuLaunchKernel on a stream that does not exist");
    if (!params || !params[0]) return bad("cuLaunchKernel without kernel parameters");
    if (push_depth == 0) return bad("cuLaunchKernel without a current context");
    if (!gx || !gy || !gz || gy > 65535 || gz > 65535 || !bx || !by || !bz || bx * by * bz > 1024)
        return bad("cuLaunchKernel with a grid or block out of range");
    launches++;
    return CUDA_SUCCESS;
}

static CUresult LaunchKernelEx(const CUlaunchConfig *c, CUfunction fn, void **params, void **extra)
{
    if (!c) return bad("cuLaunchKernelEx without a configuration");
    for (unsigned i = 0; i < c->numAttrs; i++)
        if (c->attrs[i].id != CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION)
            return bad("cuLaunchKernelEx with an attribute the fake driver does not know");
    return LaunchKernel(fn, c->gridDimX, c->gridDimY, c->gridDimZ, c->blockDimX, c->blockDimY,
                        c->blockDimZ, c->sharedMemBytes, c->hStream, params, extra);
}

static CUresult MemAlloc(CUdeviceptr *p, size_t bytes)
{
    void *m = NULL;
    if (bytes == 0 || posix_memalign(&m, 256, bytes) != 0) return CUDA_ERROR_OUT_OF_MEMORY;
    *p = (CUdeviceptr)(uintptr_t)m;
    return CUDA_SUCCESS;
}

static CUresult MemFree(CUdeviceptr p) { free((void *)(uintptr_t)p); return CUDA_SUCCESS; }
static CUresult MemcpyHtoD(CUdeviceptr d, const void *s, size_t n) { memcpy((void *)(uintptr_t)d, s, n); return CUDA_SUCCESS; }
static CUresult MemcpyDtoH(void *d, CUdeviceptr s, size_t n) { memcpy(d, (const void *)(uintptr_t)s, n); return CUDA_SUCCESS; }
static CUresult MemcpyDtoD(CUdeviceptr d, CUdeviceptr s, size_t n) { memmove((void *)(uintptr_t)d, (const void *)(uintptr_t)s, n); return CUDA_SUCCESS; }
static CUresult MemsetD8(CUdeviceptr d, unsigned char b, size_t n) { memset((void *)(uintptr_t)d, b, n); return CUDA_SUCCESS; }

static CUresult MemcpyHtoDAsync(CUdeviceptr d, const void *src, size_t n, CUstream s)
{
    if (!is_stream(s)) return bad("cuMemcpyHtoDAsync on a stream that does not exist");
    memcpy((void *)(uintptr_t)d, src, n);
    return CUDA_SUCCESS;
}

static CUresult MemsetD32Async(CUdeviceptr d, unsigned v, size_t n, CUstream s)
{
    (void)d;
    (void)v;
    (void)n;
    /* the memory is the caller's made-up device memory: not touched */
    if (!is_stream(s)) return bad("cuMemsetD32Async on a stream that does not exist");
    memsets++;
    return CUDA_SUCCESS;
}

static CUresult EventCreate(CUevent *e, unsigned flags) { (void)flags; *e = (CUevent)&primary; return CUDA_SUCCESS; }
static CUresult EventDestroy(CUevent e) { (void)e; return CUDA_SUCCESS; }
static CUresult EventRecord(CUevent e, CUstream s) { (void)e; return is_stream(s) ? CUDA_SUCCESS : bad("cuEventRecord on a foreign stream"); }
static CUresult EventSynchronize(CUevent e) { (void)e; return CUDA_SUCCESS; }
static CUresult EventElapsedTime(float *ms, CUevent a, CUevent b) { (void)a; (void)b; *ms = 1.0f; return CUDA_SUCCESS; }

static CUresult TensorMapEncodeTiled(CUtensorMap *m, CUtensorMapDataType t, cuuint32_t rank, void *addr,
                                     const cuuint64_t *dims, const cuuint64_t *strides,
                                     const cuuint32_t *box, const cuuint32_t *elem,
                                     CUtensorMapInterleave il, CUtensorMapSwizzle sw,
                                     CUtensorMapL2promotion l2, CUtensorMapFloatOOBfill oob)
{
    (void)t; (void)rank; (void)addr; (void)dims; (void)strides; (void)box; (void)elem;
    (void)il; (void)sw; (void)l2; (void)oob;
    memset(m, 0, sizeof *m);
    return CUDA_SUCCESS;
}

#define FN(name) {"cu" #name, (void (*)(void))name}
static const struct {
    const char *symbol;
    void (*fn)(void);
} table[] = {
    FN(Init), FN(DriverGetVersion), FN(GetErrorString), FN(GetErrorName), FN(DeviceGetCount),
    FN(DeviceGet), FN(DeviceGetName), FN(DeviceGetAttribute),
    {"cuDevicePrimaryCtxRetain", (void (*)(void))PrimaryCtxRetain},
    {"cuDevicePrimaryCtxRelease", (void (*)(void))PrimaryCtxRelease}, FN(CtxSetCurrent),
    FN(CtxGetCurrent), FN(CtxPushCurrent), FN(CtxPopCurrent), FN(CtxSynchronize),
    FN(StreamGetCtx), FN(StreamSynchronize), FN(StreamIsCapturing), FN(PointerGetAttribute), FN(StreamCreate), FN(StreamDestroy),
    FN(ModuleLoadData), FN(ModuleUnload), FN(ModuleGetFunction), FN(FuncSetAttribute),
    FN(FuncGetAttribute), FN(LaunchKernel), FN(LaunchKernelEx), FN(MemAlloc), FN(MemFree), FN(MemcpyHtoD),
    FN(MemcpyDtoH), FN(MemcpyDtoD), FN(MemcpyHtoDAsync), FN(MemsetD8), FN(MemsetD32Async), FN(EventCreate),
    FN(EventDestroy), FN(EventRecord), FN(EventSynchronize), FN(EventElapsedTime),
    FN(TensorMapEncodeTiled),
};

CUresult cuGetProcAddress_v2(const char *symbol, void **pfn, int version, cuuint64_t flags,
                             CUdriverProcAddressQueryResult *status);
CUresult cuGetProcAddress_v2(const char *symbol, void **pfn, int version, cuuint64_t flags,
                             CUdriverProcAddressQueryResult *status)
{
    (void)version;
    (void)flags;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (strcmp(table[i].symbol, symbol) == 0) {
            memcpy(pfn, &table[i].fn, sizeof table[i].fn);
            if (status) *status = CU_GET_PROC_ADDRESS_SUCCESS;
            return CUDA_SUCCESS;
        }
    }
    *pfn = NULL;
    if (status) *status = CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
    return CUDA_ERROR_NOT_FOUND;
}
