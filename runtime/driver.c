/* driver.c - the CUDA driver API opened at run time.
 *
 * libcuda.so.1 (or $INTFA_LIBCUDA) is dlopen'ed once; only cuGetProcAddress_v2 is looked up
 * with dlsym, every other entry point is resolved through it by base name for the CUDA 12.0
 * ABI, so the table's signatures stay those of 12.0 whatever the installed driver. The
 * outcome (table, status and message) of the one attempt is kept: every later call returns
 * the same status and message. The library is never closed. */
#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "error.h"

#define INTFA_CU_ABI_VERSION 12000 /* the ABI the table's signatures follow */

typedef CUresult (*get_proc_address_fn)(const char *symbol, void **pfn, int cuda_version,
                                        cuuint64_t flags,
                                        CUdriverProcAddressQueryResult *symbol_status);

/* Every table field and the base name it resolves from. */
#define ENTRY(field) { "cu" #field, offsetof(intfa_cu, field) }
static const struct {
    const char *symbol;
    size_t offset;
} entries[] = {
    ENTRY(Init), ENTRY(DriverGetVersion), ENTRY(GetErrorString), ENTRY(GetErrorName),
    ENTRY(DeviceGetCount), ENTRY(DeviceGet), ENTRY(DeviceGetName), ENTRY(DeviceGetAttribute),
    ENTRY(DevicePrimaryCtxRetain), ENTRY(DevicePrimaryCtxRelease), ENTRY(CtxSetCurrent),
    ENTRY(CtxGetCurrent), ENTRY(CtxPushCurrent), ENTRY(CtxPopCurrent), ENTRY(CtxSynchronize),
    ENTRY(StreamGetCtx), ENTRY(StreamSynchronize), ENTRY(StreamIsCapturing), ENTRY(PointerGetAttribute), ENTRY(StreamCreate), ENTRY(StreamDestroy),
    ENTRY(ModuleLoadData), ENTRY(ModuleUnload), ENTRY(ModuleGetFunction),
    ENTRY(FuncSetAttribute), ENTRY(FuncGetAttribute), ENTRY(LaunchKernel), ENTRY(LaunchKernelEx), ENTRY(MemAlloc),
    ENTRY(MemFree), ENTRY(MemcpyHtoD), ENTRY(MemcpyDtoH), ENTRY(MemcpyDtoD), ENTRY(MemcpyHtoDAsync), ENTRY(MemsetD8),
    ENTRY(MemsetD32Async), ENTRY(EventCreate), ENTRY(EventDestroy), ENTRY(EventRecord),
    ENTRY(EventSynchronize), ENTRY(EventElapsedTime), ENTRY(TensorMapEncodeTiled),
};
#undef ENTRY

_Static_assert(sizeof entries / sizeof entries[0] == sizeof(intfa_cu) / sizeof(void (*)(void)),
               "every intfa_cu field needs an entry");

/* Written once inside load_once(); read-only afterwards (pthread_once orders the accesses). */
static pthread_once_t load_once_flag = PTHREAD_ONCE_INIT;
static intfa_cu table;
static int table_resolved; /* 1 when every entry resolved, even if cuInit then failed */
static intfa_status load_status = INTFA_ERR_INTERNAL;
static char load_message[1024];

/* "what: CUDA_ERROR_X (text)", or "what: CUresult N" when the names are not available. */
static intfa_status format_cu_error(const intfa_cu *cu, CUresult r, const char *what,
                                    intfa_status status)
{
    const char *name = NULL, *text = NULL;
    if (cu && cu->GetErrorName && cu->GetErrorName(r, &name) != CUDA_SUCCESS)
        name = NULL;
    if (cu && cu->GetErrorString && cu->GetErrorString(r, &text) != CUDA_SUCCESS)
        text = NULL;
    if (!what)
        what = "CUDA driver call";
    if (name && text)
        return intfa_fail(status, "%s: %s (%s)", what, name, text);
    if (name)
        return intfa_fail(status, "%s: %s", what, name);
    return intfa_fail(status, "%s: CUresult %d", what, (int)r);
}

/* Opens the library and fills the table; returns the status, message in last_error. */
static intfa_status load_driver(void)
{
    const char *path = getenv("INTFA_LIBCUDA");
    int from_env = path && path[0];
    if (!from_env)
        path = "libcuda.so.1";

    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char *why = dlerror();
        return intfa_fail(INTFA_ERR_NO_DRIVER,
                          "cannot open the CUDA driver library (libcuda) \"%s\"%s: %s", path,
                          from_env ? " named by $INTFA_LIBCUDA" : "",
                          why ? why : "dlopen failed");
    }

    get_proc_address_fn get_proc;
    void *sym = dlsym(lib, "cuGetProcAddress_v2");
    if (!sym)
        return intfa_fail(INTFA_ERR_NO_DRIVER,
                          "CUDA driver library (libcuda) \"%s\" has no cuGetProcAddress_v2: the "
                          "driver is older than CUDA 12.0",
                          path);
    memcpy(&get_proc, &sym, sizeof get_proc);

    intfa_cu t;
    memset(&t, 0, sizeof t);
    for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++) {
        void *fn = NULL;
        CUdriverProcAddressQueryResult found = CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
        CUresult r = get_proc(entries[i].symbol, &fn, INTFA_CU_ABI_VERSION,
                              CU_GET_PROC_ADDRESS_DEFAULT, &found);
        if (r != CUDA_SUCCESS || found != CU_GET_PROC_ADDRESS_SUCCESS || !fn)
            return intfa_fail(INTFA_ERR_NO_DRIVER,
                              "CUDA driver library (libcuda) \"%s\": cannot resolve %s for "
                              "CUDA %d.%d (CUresult %d, query result %d)",
                              path, entries[i].symbol, INTFA_CU_ABI_VERSION / 1000,
                              INTFA_CU_ABI_VERSION % 1000 / 10, (int)r, (int)found);
        memcpy((char *)&t + entries[i].offset, &fn, sizeof fn);
    }
    table = t;
    table_resolved = 1;

    CUresult r = table.Init(0);
    if (r == CUDA_ERROR_NO_DEVICE)
        return format_cu_error(&table, r, "cuInit(0)", INTFA_ERR_NO_DEVICE);
    if (r != CUDA_SUCCESS)
        return format_cu_error(&table, r, "cuInit(0)", INTFA_ERR_CUDA);
    return INTFA_OK;
}

static void load_once(void)
{
    /* load_driver reports through this thread's last_error; keep the caller's message. */
    char saved[sizeof load_message];
    snprintf(saved, sizeof saved, "%s", intfa_last_error());
    load_status = load_driver();
    snprintf(load_message, sizeof load_message, "%s",
             load_status == INTFA_OK ? "" : intfa_last_error());
    intfa_fail(INTFA_OK, "%s", saved);
}

intfa_status intfa_driver(const intfa_cu **cu)
{
    if (!cu)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_driver: cu is NULL");
    pthread_once(&load_once_flag, load_once);
    if (load_status != INTFA_OK)
        return intfa_fail(load_status, "%s", load_message);
    *cu = &table;
    return INTFA_OK;
}

intfa_status intfa_device_count(int *count)
{
    if (!count)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_device_count: count is NULL");
    const intfa_cu *cu;
    intfa_status st = intfa_driver(&cu);
    if (st == INTFA_ERR_NO_DRIVER || st == INTFA_ERR_NO_DEVICE) {
        *count = 0; /* documented: no driver (or no device) counts zero devices */
        return st == INTFA_ERR_NO_DRIVER ? st : INTFA_OK;
    }
    if (st != INTFA_OK)
        return st;
    int n = 0;
    CUresult r = cu->DeviceGetCount(&n);
    if (r != CUDA_SUCCESS)
        return intfa_cu_fail(r, "cuDeviceGetCount");
    *count = n;
    return INTFA_OK;
}

intfa_status intfa_cu_fail(CUresult r, const char *what)
{
    /* Resolve names only if the table was loaded (a CUresult implies it was). */
    pthread_once(&load_once_flag, load_once);
    return format_cu_error(table_resolved ? &table : NULL, r, what, INTFA_ERR_CUDA);
}
