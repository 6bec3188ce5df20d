/* tune_device_key.c - the device key of a context (see tune_device_key.h). */
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "nvrtc_compile.h"
#include "tune_device_key.h"

intfa_status intfa_tune_device_key(intfa_context *ctx, intfa_tune_key *key)
{
    if (!ctx || !key)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "device key: %s is NULL", !ctx ? "ctx" : "key");
    intfa_tune_key k;
    memset(&k, 0, sizeof k);
    CUresult r;
    if ((r = ctx->cu->DeviceGetAttribute(&k.cc_major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, ctx->device)) ||
        (r = ctx->cu->DeviceGetAttribute(&k.cc_minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, ctx->device)) ||
        (r = ctx->cu->DriverGetVersion(&k.driver_version)))
        return intfa_cu_fail(r, "device key: querying the device and driver");
    /* the name as the database writes it: printable, no surrounding blanks */
    const char *name = ctx->device_name;
    name += strspn(name, " ");
    size_t n = strnlen(name, sizeof k.gpu - 1);
    while (n > 0 && name[n - 1] == ' ') n--;
    for (size_t i = 0; i < n; i++) {
        const unsigned char ch = (unsigned char)name[i];
        k.gpu[i] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
    }
    if (n == 0) strcpy(k.gpu, "unnamed GPU");
    k.sm_count = ctx->sm_count;
    k.nvrtc_version = intfa_nvrtc_version();
    snprintf(k.library, sizeof k.library, "%s", intfa_version_string());
    intfa_status st = intfa_tune_key_check(&k);
    if (st != INTFA_OK) return intfa_fail_wrap(st, "device key of device %d", ctx->ordinal);
    *key = k;
    return INTFA_OK;
}
