/* nvrtc.c - CUDA C to cubin with NVRTC (linked), for one exact target, no GPU needed.
 *
 * Every compile uses the same fixed options (intfa_nvrtc_options_string, part of cache
 * keys) plus "-arch=<target>"; "-arch=sm_90a" yields a real sm_90a cubin, so wgmma and
 * setmaxnreg are available there. No fast math: the softmax relies on IEEE exp2f/divisions
 * as written. Kernels are self-contained: no include paths, no headers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "nvrtc_compile.h"

#include <nvrtc.h>

typedef nvrtcResult nvrtc_result;
#define NVRTC_OK NVRTC_SUCCESS
#define NVRTC_COMPILATION NVRTC_ERROR_COMPILATION

/* The options besides -arch, in order; also joined into one string for cache keys. Line
 * information (-lineinfo: source lines in ncu and compute-sanitizer reports) only with
 * INTFA_LINEINFO=1: the kernel code is the same bits without it (every .text section compared,
 * docs/RESULTS.md), the cubins 48-77% smaller and the compiles ~1.5% shorter. */
#define OPT_STD "-std=c++17"
#define OPT_DEFAULT_DEVICE "-default-device"
#define OPT_LINEINFO "-lineinfo"
#define OPT_DEFINE "-DINTFA_NVRTC=1"
static const char *const fixed_options[] = {OPT_STD, OPT_DEFAULT_DEVICE, OPT_DEFINE};
#define N_FIXED (sizeof fixed_options / sizeof fixed_options[0])

static int want_lineinfo(void)
{
    const char *e = getenv("INTFA_LINEINFO");
    return e && strcmp(e, "1") == 0;
}

/* Bytes of NVRTC log kept in a message: the first errors matter, and the message (with the
 * prefixes callers add) must fit the 4 KiB last-error buffer. */
#define LOG_KEEP 3000

static const char *target_name(intfa_arch arch)
{
    switch (arch) {
    case INTFA_ARCH_SM80: return "sm_80";
    case INTFA_ARCH_SM86: return "sm_86";
    case INTFA_ARCH_SM89: return "sm_89";
    case INTFA_ARCH_SM90: return "sm_90";
    case INTFA_ARCH_SM90A: return "sm_90a";
    case INTFA_ARCH_COUNT: break;
    }
    return NULL;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* INTFA_ERR_COMPILE with "<name>: NVRTC compile failed for <target>:\n<log>", the log cut
 * at a line end after LOG_KEEP bytes. */
static intfa_status compile_failure(nvrtcProgram prog, const char *name, const char *target,
                                    nvrtc_result r)
{
    size_t size = 0;
    char *log = NULL;
    if (nvrtcGetProgramLogSize(prog, &size) == NVRTC_OK && size > 1) {
        log = malloc(size);
        if (log && nvrtcGetProgramLog(prog, log) != NVRTC_OK) {
            free(log);
            log = NULL;
        }
    }
    if (!log)
        return intfa_fail(INTFA_ERR_COMPILE, "%s: NVRTC compile failed for %s: %s (no log)",
                          name, target, nvrtcGetErrorString(r));

    size_t len = strlen(log);
    while (len > 0 && (log[len - 1] == '\n' || log[len - 1] == '\r'))
        log[--len] = '\0';
    size_t keep = len;
    if (len > LOG_KEEP) {
        keep = LOG_KEEP;
        while (keep > LOG_KEEP / 2 && log[keep] != '\n')
            keep--;
        if (log[keep] != '\n')
            keep = LOG_KEEP;
    }
    intfa_status st;
    if (keep < len)
        st = intfa_fail(INTFA_ERR_COMPILE,
                        "%s: NVRTC compile failed for %s:\n%.*s\n... (%zu more bytes of log)",
                        name, target, (int)keep, log, len - keep);
    else
        st = intfa_fail(INTFA_ERR_COMPILE, "%s: NVRTC compile failed for %s:\n%s", name, target,
                        log);
    free(log);
    return st;
}

intfa_status intfa_nvrtc_compile(const char *source, const char *name, intfa_arch arch,
                                 void **cubin, size_t *cubin_size, double *ms)
{
    if (!source)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_nvrtc_compile: source is NULL");
    if (!name)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_nvrtc_compile: name is NULL");
    if (!cubin)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_nvrtc_compile: cubin is NULL");
    if (!cubin_size)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_nvrtc_compile: cubin_size is NULL");
    const char *target = target_name(arch);
    if (!target)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_nvrtc_compile: arch = %d: not an "
                          "intfa_arch (0 .. %d)", (int)arch, (int)INTFA_ARCH_COUNT - 1);

    char arch_option[32];
    snprintf(arch_option, sizeof arch_option, "-arch=%s", target);
    const char *options[2 + N_FIXED];
    options[0] = arch_option;
    for (size_t i = 0; i < N_FIXED; i++)
        options[1 + i] = fixed_options[i];
    const int n_options = (int)(1 + N_FIXED) + (want_lineinfo() ? 1 : 0);
    options[1 + N_FIXED] = OPT_LINEINFO;

    double t0 = now_ms();
    nvrtcProgram prog = NULL;
    nvrtc_result r = nvrtcCreateProgram(&prog, source, name, 0, NULL, NULL);
    if (r != NVRTC_OK)
        return intfa_fail(r == NVRTC_ERROR_OUT_OF_MEMORY ? INTFA_ERR_OUT_OF_MEMORY : INTFA_ERR_COMPILE,
                          "%s: nvrtcCreateProgram failed: %s", name, nvrtcGetErrorString(r));

    intfa_status st = INTFA_OK;
    char *bin = NULL;
    size_t size = 0;
    r = nvrtcCompileProgram(prog, n_options, options);
    if (r != NVRTC_OK) {
        st = compile_failure(prog, name, target, r);
    } else if ((r = nvrtcGetCUBINSize(prog, &size)) != NVRTC_OK || size == 0) {
        st = intfa_fail(INTFA_ERR_COMPILE, "%s: no cubin for %s (nvrtcGetCUBINSize: %s, size "
                        "%zu)", name, target, nvrtcGetErrorString(r), size);
    } else if (!(bin = malloc(size))) {
        st = intfa_fail(INTFA_ERR_OUT_OF_MEMORY, "%s: cubin of %zu bytes: out of memory", name,
                        size);
    } else if ((r = nvrtcGetCUBIN(prog, bin)) != NVRTC_OK) {
        st = intfa_fail(INTFA_ERR_COMPILE, "%s: nvrtcGetCUBIN for %s failed: %s", name, target,
                        nvrtcGetErrorString(r));
    }
    nvrtcDestroyProgram(&prog);
    double t1 = now_ms();

    if (st != INTFA_OK) {
        free(bin);
        return st;
    }
    *cubin = bin;
    *cubin_size = size;
    if (ms)
        *ms = t1 - t0;
    return INTFA_OK;
}

int intfa_nvrtc_version(void)
{
    int major = 0, minor = 0;
    if (nvrtcVersion(&major, &minor) != NVRTC_OK)
        return 0;
    return major * 1000 + minor * 10;
}

const char *intfa_nvrtc_options_string(void)
{
    static const char plain[] = "-arch=<target> " OPT_STD " " OPT_DEFAULT_DEVICE " " OPT_DEFINE;
    static const char lines[] = "-arch=<target> " OPT_STD " " OPT_DEFAULT_DEVICE " " OPT_DEFINE " " OPT_LINEINFO;
    return want_lineinfo() ? lines : plain;
}
