/* error.c - status strings and the thread-local last-error message. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

static _Thread_local char last_error[4096];

const char *intfa_status_string(intfa_status status)
{
    switch (status) {
    case INTFA_OK: return "ok";
    case INTFA_ERR_INVALID_ARGUMENT: return "invalid argument";
    case INTFA_ERR_UNSUPPORTED: return "unsupported";
    case INTFA_ERR_OVERFLOW: return "size overflow";
    case INTFA_ERR_OUT_OF_MEMORY: return "out of memory";
    case INTFA_ERR_NO_DRIVER: return "no CUDA driver";
    case INTFA_ERR_NO_DEVICE: return "no device";
    case INTFA_ERR_CUDA: return "CUDA error";
    case INTFA_ERR_COMPILE: return "compile error";
    case INTFA_ERR_TEMPLATE: return "template error";
    case INTFA_ERR_IO: return "I/O error";
    case INTFA_ERR_CORRUPT: return "corrupt data";
    case INTFA_ERR_JIT_DISABLED: return "JIT disabled";
    case INTFA_ERR_INTERNAL: return "internal error";
    }
    return "unknown status";
}

const char *intfa_last_error(void) { return last_error; }

void intfa_clear_error(void) { last_error[0] = '\0'; }

intfa_status intfa_fail(intfa_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return status;
}

intfa_status intfa_fail_wrap(intfa_status status, const char *fmt, ...)
{
    char prev[sizeof last_error];
    memcpy(prev, last_error, sizeof prev);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n + 2 < sizeof last_error && prev[0]) {
        /* append ": <previous>" by hand, truncating (no snprintf: gcc warns on the truncation) */
        size_t at = (size_t)n;
        last_error[at++] = ':';
        last_error[at++] = ' ';
        for (size_t i = 0; prev[i] && at + 1 < sizeof last_error; ++i) last_error[at++] = prev[i];
        last_error[at] = '\0';
    }
    return status;
}

intfa_status intfa_get_version(int *major, int *minor, int *patch)
{
    if (major) *major = INTFA_VERSION_MAJOR;
    if (minor) *minor = INTFA_VERSION_MINOR;
    if (patch) *patch = INTFA_VERSION_PATCH;
    return INTFA_OK;
}

#define INTFA_STR2(x) #x
#define INTFA_STR(x) INTFA_STR2(x)
const char *intfa_version_string(void)
{
    return INTFA_STR(INTFA_VERSION_MAJOR) "." INTFA_STR(INTFA_VERSION_MINOR) "." INTFA_STR(
        INTFA_VERSION_PATCH);
}

void intfa_free(void *p) { free(p); }
