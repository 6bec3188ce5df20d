/* aot.c - looking a variant up in the precompiled kernel table (aot.h): by exact name and
 * target, and only entries this process's library, templates and NVRTC would build alike.
 * The table is small (tens to a few hundred entries) and each variant is looked up once per
 * context, so the search is linear and does not rely on the order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aot.h"
#include "cache.h"
#include "error.h"
#include "nvrtc_compile.h"
#include "render.h"
#include "template.h"

/* The reason e was not built by this library, templates and NVRTC, into reason ("" if it was;
 * cap bytes); with template_dir, also when INTFA_TEMPLATE_DIR is set. */
static intfa_status stale_reason(const char *fn, const intfa_aot_entry *e, int template_dir,
                                 int *fresh, char *why, size_t cap)
{
    if (!e)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "%s: e is NULL", fn);
    if (!fresh)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "%s: the result pointer is NULL", fn);
    if (!why && cap > 0)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "%s: why is NULL with cap = %zu", fn, cap);
    const char *lib = intfa_version_string();
    unsigned long long templates = intfa_template_hash();
    int nvrtc = intfa_nvrtc_version();
    const char *dir = template_dir ? getenv("INTFA_TEMPLATE_DIR") : NULL;
    char reason[320] = "";
    if (!e->library_version || strcmp(e->library_version, lib) != 0)
        snprintf(reason, sizeof reason, "built by intfa %.32s, this is intfa %s",
                 e->library_version ? e->library_version : "(none)", lib);
    else if (e->template_hash != templates)
        snprintf(reason, sizeof reason, "built from templates %016llx, this library's are %016llx",
                 e->template_hash, templates);
    else if (e->nvrtc_version != nvrtc)
        snprintf(reason, sizeof reason, "built with NVRTC %d, this process has NVRTC %d",
                 e->nvrtc_version, nvrtc);
    else if (dir && dir[0])
        snprintf(reason, sizeof reason, "INTFA_TEMPLATE_DIR=%.100s is set: kernels are rendered "
                 "from those templates, not the embedded ones the table was built from", dir);
    /* INTFA_KV_TMA other than 1 (0: K/V by cp.async; 2: by TMA at every head dim): other
     * kernels than a table's, which is built without it (intfa-gen --emit-aot refuses it) */
    else if (template_dir && !intfa_kv_tma_env_default())
        snprintf(reason, sizeof reason, "INTFA_KV_TMA=%.8s is set: the wgmma kernels copy K and V "
                 "otherwise, with other parameters, than the table's", getenv("INTFA_KV_TMA"));
    if (cap > 0)
        snprintf(why, cap, "%s", reason);
    *fresh = reason[0] == '\0';
    return INTFA_OK;
}

intfa_status intfa_aot_entry_fresh(const intfa_aot_entry *e, int *fresh, char *why, size_t cap)
{
    return stale_reason("intfa_aot_entry_fresh", e, 1, fresh, why, cap);
}

intfa_status intfa_aot_entry_built_here(const intfa_aot_entry *e, int *same, char *why,
                                        size_t cap)
{
    return stale_reason("intfa_aot_entry_built_here", e, 0, same, why, cap);
}

/* The stale entry's one report per process. */
static void report_stale(const intfa_aot_entry *e)
{
    char why[320];
    int fresh = 1;
    if (intfa_aot_entry_fresh(e, &fresh, why, sizeof why) != INTFA_OK || fresh)
        return;
    char id[INTFA_VARIANT_NAME_MAX + 40];
    snprintf(id, sizeof id, "aot-stale:%s:%s", e->target, e->name);
    intfa_cache_warn_once(id, "precompiled kernel %s for %s is stale (%s); not used, the kernel "
                          "comes from the cache or NVRTC", e->name, e->target, why);
}

intfa_status intfa_aot_find(const intfa_aot_table *t, const char *variant_name, intfa_arch arch,
                            int verbose, const intfa_aot_entry **entry)
{
    if (!t)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_aot_find: t is NULL");
    if (!variant_name)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_aot_find: variant_name is NULL");
    if ((unsigned)arch >= INTFA_ARCH_COUNT)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_aot_find: arch = %d: not an "
                          "intfa_arch (0 .. %d)", (int)arch, (int)INTFA_ARCH_COUNT - 1);
    if (!entry)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_aot_find: entry is NULL");
    intfa_variant v;
    if (intfa_variant_parse(variant_name, &v) != INTFA_OK)
        return intfa_fail_wrap(INTFA_ERR_INVALID_ARGUMENT, "intfa_aot_find: variant_name");
    if (v.arch != arch)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_aot_find: variant_name \"%s\" is "
                          "a variant for %s, not for arch = %s", variant_name,
                          intfa_arch_name(v.arch), intfa_arch_name(arch));

    const intfa_aot_entry *found = NULL;
    if (t->format == INTFA_AOT_FORMAT && t->entries) {
        const char *target = intfa_arch_name(arch);
        for (size_t i = 0; i < t->count && !found; i++) {
            const intfa_aot_entry *e = &t->entries[i];
            if (e->name && e->target && e->cubin && e->size > 0 &&
                strcmp(e->name, variant_name) == 0 && strcmp(e->target, target) == 0)
                found = e;
        }
    }
    int fresh = 1;
    if (found && intfa_aot_entry_fresh(found, &fresh, NULL, 0) == INTFA_OK && !fresh) {
        if (verbose)
            report_stale(found);
        found = NULL;
    }
    *entry = found;
    return INTFA_OK;
}

intfa_status intfa_aot_lookup_verbose(const char *variant_name, intfa_arch arch, int verbose,
                                      const void **bin, size_t *size)
{
    if (!bin)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_aot_lookup: bin is NULL");
    if (!size)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_aot_lookup: size is NULL");
    const intfa_aot_entry *e = NULL;
    intfa_status st = intfa_aot_find(&intfa_aot_builtin, variant_name, arch, verbose, &e);
    if (st != INTFA_OK)
        return st;
    *bin = e ? e->cubin : NULL;
    *size = e ? e->size : 0;
    return INTFA_OK;
}

intfa_status intfa_aot_lookup(const char *variant_name, intfa_arch arch, const void **bin,
                              size_t *size)
{
    const char *env = getenv("INTFA_VERBOSE");
    int verbose = env && env[0] && strcmp(env, "0") != 0;
    return intfa_aot_lookup_verbose(variant_name, arch, verbose, bin, size);
}
