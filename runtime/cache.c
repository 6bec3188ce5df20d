/* cache.c - where a variant's binary comes from, in order: the precompiled (AOT) table, this
 * process's in-memory store, the disk cache, then NVRTC (unless JIT is disabled), whose result
 * is published to the disk cache (or kept in memory when the disk refuses it). Problems with
 * the cache itself (unusable directory, corrupt entry, failed publish) are warnings, once per
 * process each, and never fail a call that can still produce a correct binary. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aot.h"
#include "cache.h"
#include "error.h"
#include "jit_log.h"
#include "nvrtc_compile.h"

const char *intfa_binary_source_name(intfa_binary_source from)
{
    switch (from) {
    case INTFA_BINARY_NONE: return "none";
    case INTFA_BINARY_AOT: return "aot";
    case INTFA_BINARY_MEMORY: return "memory";
    case INTFA_BINARY_DISK: return "disk";
    case INTFA_BINARY_NVRTC: return "nvrtc";
    }
    return NULL;
}

/* ------------------------------------------------------------------ size bound */

/* "123", "512K", "64M", "1G", "2T" (powers of 1024) into *out (> 0); 0 if not such a count. */
static int parse_byte_count(const char *s, uint64_t *out)
{
    if (s[0] < '0' || s[0] > '9')
        return 0;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (errno != 0)
        return 0;
    int shift;
    switch (*end) {
    case '\0': shift = 0; break;
    case 'K': case 'k': shift = 10; break;
    case 'M': case 'm': shift = 20; break;
    case 'G': case 'g': shift = 30; break;
    case 'T': case 't': shift = 40; break;
    default: return 0;
    }
    if ((shift && end[1] != '\0') || x == 0 || x > (UINT64_MAX >> shift))
        return 0;
    *out = (uint64_t)x << shift;
    return 1;
}

intfa_status intfa_cache_max_bytes(const intfa_cache_config *cfg, uint64_t *max_bytes)
{
    if (!cfg || !max_bytes)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_cache_max_bytes: %s is NULL",
                          !cfg ? "cfg" : "max_bytes");
    uint64_t bytes = INTFA_CACHE_DEFAULT_MAX_BYTES;
    const char *env = getenv("INTFA_CACHE_MAX_BYTES");
    if (cfg->max_bytes)
        bytes = cfg->max_bytes;
    else if (env && env[0] && !parse_byte_count(env, &bytes))
        intfa_cache_warn_once("env:INTFA_CACHE_MAX_BYTES", "INTFA_CACHE_MAX_BYTES=\"%.100s\" is "
                              "not a byte count (like 1073741824, 512M or 2G); using %llu",
                              env, INTFA_CACHE_DEFAULT_MAX_BYTES);
    *max_bytes = bytes;
    return INTFA_OK;
}

/* ------------------------------------------------------------------ one request */

/* What a lookup past the AOT table works with. */
typedef struct request {
    const intfa_cache_config *cfg;
    const intfa_variant *v;
    const char *name;
    const char *target;
    char *source;               /* rendered, malloc'd */
    intfa_cache_entry_info info; /* key and header fields */
    char *dir;                  /* malloc'd; NULL: no usable directory */
    uint64_t max_bytes;
} request;

static intfa_status request_open(request *r)
{
    intfa_status st = intfa_variant_render(r->v, &r->source);
    if (st != INTFA_OK)
        return intfa_fail_wrap(st, "%s: render", r->name);
    intfa_cache_key_inputs in;
    intfa_cache_key key;
    if ((st = intfa_cache_key_inputs_of(r->v, r->name, r->source, &in)) != INTFA_OK ||
        (st = intfa_cache_key_compute(&in, &key)) != INTFA_OK ||
        (st = intfa_cache_entry_info_of(&in, &key, &r->info)) != INTFA_OK ||
        (st = intfa_cache_max_bytes(r->cfg, &r->max_bytes)) != INTFA_OK)
        return st;
    if (intfa_cache_dir_resolve(r->cfg->dir, &r->dir) != INTFA_OK) {
        char id[600];
        snprintf(id, sizeof id, "dir:%.500s", intfa_last_error());
        intfa_cache_warn_once(id, "%s; kernels are cached in memory for this process",
                              intfa_last_error());
        r->dir = NULL;
    }
    return INTFA_OK;
}

static void request_close(request *r)
{
    free(r->source);
    free(r->dir);
}

/* The memory store, then the disk. A corrupt entry is reported once and removed; an entry
 * that cannot be read is reported once; both count as misses. */
static intfa_status lookup(request *r, void **bin, size_t *size, intfa_binary_source *from,
                           int allow_jit)
{
    int found = 0;
    intfa_status st = intfa_cache_memory_get(&r->info.key, bin, size, &found);
    if (st != INTFA_OK || found) {
        *from = INTFA_BINARY_MEMORY;
        return st;
    }
    if (!r->dir)
        return INTFA_OK;
    st = intfa_cache_dir_read(r->dir, &r->info, bin, size, &found);
    if (st == INTFA_OK) {
        *from = found ? INTFA_BINARY_DISK : INTFA_BINARY_NONE;
        return INTFA_OK;
    }
    if (st == INTFA_ERR_OUT_OF_MEMORY)
        return st;
    char path[4200];
    intfa_cache_entry_path(r->dir, &r->info.key, path, sizeof path);
    char id[4300];
    snprintf(id, sizeof id, "%s:%s", st == INTFA_ERR_CORRUPT ? "corrupt" : "unreadable", path);
    if (st == INTFA_ERR_CORRUPT) {
        intfa_cache_count(INTFA_CACHE_CORRUPT, 1);
        intfa_cache_warn_once(id, "%s; removed it%s", intfa_last_error(),
                              allow_jit ? ", rebuilding" : "");
    } else {
        intfa_cache_warn_once(id, "%s; rebuilding", intfa_last_error());
    }
    return INTFA_OK;
}

/* Keeps a fresh build: published to disk and the directory trimmed, else in memory. */
static void keep(request *r, const void *bin, size_t size)
{
    if (r->dir) {
        if (intfa_cache_dir_publish(r->dir, &r->info, bin, size) == INTFA_OK) {
            intfa_cache_trim(r->dir, r->max_bytes, &r->info.key, NULL);
            return;
        }
        char id[4200];
        snprintf(id, sizeof id, "publish:%s", r->dir);
        intfa_cache_warn_once(id, "%s; kernels built by this process are kept in memory",
                              intfa_last_error());
        intfa_cache_count(INTFA_CACHE_PUBLISH_FAILURES, 1);
    }
    intfa_cache_memory_put(&r->info.key, bin, size, r->max_bytes); /* best effort */
}

static intfa_status build(request *r, void **bin, size_t *size)
{
    char program[INTFA_VARIANT_NAME_MAX + 8];
    snprintf(program, sizeof program, "%s.cu", r->name);
    intfa_jit_progress progress;
    int delay_ms = r->cfg->verbose ? 0 : r->cfg->quiet ? -1 : INTFA_JIT_PROGRESS_DELAY_MS;
    intfa_jit_progress_start(&progress, r->name, r->target, delay_ms);
    double t0 = intfa_jit_now_ms();
    intfa_status st = intfa_nvrtc_compile(r->source, program, r->v->arch, bin, size, NULL);
    intfa_jit_progress_stop(&progress, st == INTFA_OK, intfa_jit_now_ms() - t0);
    if (st != INTFA_OK)
        return st;
    intfa_cache_count(INTFA_CACHE_COMPILES, 1);
    keep(r, *bin, *size);
    return INTFA_OK;
}

/* The AOT table's binary, copied. */
static intfa_status from_aot(const char *name, intfa_arch arch, int verbose, void **bin,
                             size_t *size)
{
    const void *table_bin = NULL;
    size_t table_size = 0;
    intfa_status st = intfa_aot_lookup_verbose(name, arch, verbose, &table_bin, &table_size);
    if (st != INTFA_OK || !table_bin || table_size == 0)
        return st;
    void *copy = malloc(table_size);
    if (!copy)
        return intfa_fail(INTFA_ERR_OUT_OF_MEMORY, "%s: %zu bytes", name, table_size);
    memcpy(copy, table_bin, table_size);
    *bin = copy;
    *size = table_size;
    return INTFA_OK;
}

intfa_status intfa_cache_get_or_build(const intfa_cache_config *cfg, const intfa_variant *v,
                                      int allow_jit, void **cubin, size_t *size,
                                      intfa_binary_source *from)
{
    intfa_clear_error();
    if (!cfg || !v || !cubin || !size)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_cache_get_or_build: %s is NULL",
                          !cfg ? "cfg" : !v ? "v" : !cubin ? "cubin" : "size");
    char name[INTFA_VARIANT_NAME_MAX];
    intfa_status st = intfa_variant_check(v);
    if (st == INTFA_OK)
        st = intfa_variant_name(v, name, sizeof name);
    if (st != INTFA_OK)
        return intfa_fail_wrap(st, "intfa_cache_get_or_build: v");

    double t0 = intfa_jit_now_ms();
    request r = {.cfg = cfg, .v = v, .name = name, .target = intfa_arch_name(v->arch)};
    void *bin = NULL;
    size_t bin_size = 0;
    intfa_binary_source src = INTFA_BINARY_NONE;
    st = from_aot(name, v->arch, cfg->verbose, &bin, &bin_size);
    if (st == INTFA_OK && bin) {
        src = INTFA_BINARY_AOT;
        intfa_cache_count(INTFA_CACHE_AOT_HITS, 1);
    } else if (st == INTFA_OK && (st = request_open(&r)) == INTFA_OK &&
               (st = lookup(&r, &bin, &bin_size, &src, allow_jit)) == INTFA_OK) {
        if (src != INTFA_BINARY_NONE) {
            intfa_cache_count(src == INTFA_BINARY_DISK ? INTFA_CACHE_DISK_HITS
                                                       : INTFA_CACHE_MEMORY_HITS, 1);
        } else if (allow_jit) {
            if ((st = build(&r, &bin, &bin_size)) == INTFA_OK)
                src = INTFA_BINARY_NVRTC;
        } else {
            intfa_cache_count(INTFA_CACHE_JIT_REFUSED, 1);
            st = intfa_fail(INTFA_ERR_JIT_DISABLED, "%s for %s: JIT is disabled "
                            "(INTFA_DISABLE_JIT=1 or options.disable_jit) and the kernel is "
                            "neither precompiled nor in the kernel cache (%s)", name, r.target,
                            r.dir ? r.dir : "no usable cache directory");
        }
    }
    request_close(&r);
    if (st != INTFA_OK)
        return st;
    if (cfg->verbose)
        intfa_jit_log_binary(name, intfa_arch_name(v->arch), src, intfa_jit_now_ms() - t0);
    intfa_clear_error(); /* warnings on the way left messages; this call succeeded */
    *cubin = bin;
    *size = bin_size;
    if (from)
        *from = src;
    return INTFA_OK;
}
