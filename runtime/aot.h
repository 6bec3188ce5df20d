/* aot.h - the precompiled (ahead-of-time) kernel table: the first place a variant's binary is
 * looked up, before the in-memory store, the disk cache and NVRTC (cache.c). docs/AOT.md.
 *
 * The table is data linked into the library under one name, intfa_aot_builtin:
 *   - libintfa-jit (shared and static) link runtime/aot_empty_table.c, an empty table;
 *   - libintfa-jit-aot (cmake/aot.cmake) links the intfa_aot_table.c that
 *     `intfa-gen --emit-aot` generated (tools/gen/aot_emit.h);
 *   - a program linked with libintfa-jit.a may compile a generated intfa_aot_table.c itself:
 *     its definition then replaces the archive's empty one (that member is never pulled in).
 *
 * An entry is used only for its exact target (lookups are by name and target; sm_90 devices
 * use sm_90a entries, as they use sm_90a kernels) and only when it was built by this library
 * version, from these templates, with this NVRTC version. Any other entry is stale: skipped,
 * so the lookup falls through to the cache and NVRTC, and reported once per process when
 * verbose. */
#ifndef INTFA_AOT_H
#define INTFA_AOT_H

#include <stddef.h>
#include "intfa.h"

/* The layout of intfa_aot_entry / intfa_aot_table; a generated table states the one it was
 * written for and does not compile against another. */
#define INTFA_AOT_FORMAT 1

/* Hex digits of a SHA-256 (key, checksum). */
#define INTFA_AOT_HEX_CHARS 64

/* One precompiled cubin. In a generated table every pointer is to static storage. */
typedef struct intfa_aot_entry {
    const char *name;            /* canonical variant name, "quant_qk-sm80-d128-int8-fp16-w4" */
    const char *target;          /* exact target, intfa_arch_name(): "sm_80" ... "sm_90a" */
    const char *library_version; /* intfa_version_string() of the generator */
    unsigned long long template_hash; /* intfa_template_hash() of the generator */
    int nvrtc_version;           /* intfa_nvrtc_version() it was compiled with */
    const char *key;             /* the build's kernel cache key (cache_key.c), 64 hex digits */
    const char *sha256;          /* of the cubin, 64 hex digits */
    const unsigned char *cubin;
    size_t size;                 /* bytes of cubin, > 0 */
} intfa_aot_entry;

typedef struct intfa_aot_table {
    int format;                    /* INTFA_AOT_FORMAT */
    size_t count;
    const intfa_aot_entry *entries; /* count entries, sorted by name; NULL when count is 0 */
} intfa_aot_table;

/* The table linked into this library (see above). */
extern const intfa_aot_table intfa_aot_builtin;

/* Whether e may be used by this process: *fresh = 1, or *fresh = 0 and why (may be NULL;
 * cap bytes) says what differs: library version, template hash, NVRTC version, or
 * INTFA_TEMPLATE_DIR set (kernels are then rendered from templates the table may not match).
 * Bad arguments: INTFA_ERR_INVALID_ARGUMENT, outputs unchanged. */
intfa_status intfa_aot_entry_fresh(const intfa_aot_entry *e, int *fresh, char *why, size_t cap);

/* As intfa_aot_entry_fresh without the INTFA_TEMPLATE_DIR rule: whether this library, its
 * embedded templates and this NVRTC built e (*same). */
intfa_status intfa_aot_entry_built_here(const intfa_aot_entry *e, int *same, char *why,
                                        size_t cap);

/* The fresh entry of table t for variant_name and arch: *entry, or NULL when t has none (or
 * only a stale one: reported once per process and entry when verbose, on stderr). t's format
 * must be INTFA_AOT_FORMAT (else every lookup misses). variant_name must name a variant of
 * arch: a name for another target is INTFA_ERR_INVALID_ARGUMENT. */
intfa_status intfa_aot_find(const intfa_aot_table *t, const char *variant_name, intfa_arch arch,
                            int verbose, const intfa_aot_entry **entry);

/* The precompiled cubin of the variant named variant_name for arch in intfa_aot_builtin.
 * Found: INTFA_OK, *bin points at static storage (not to be freed) and *size > 0.
 * Not found (or stale; reported when INTFA_VERBOSE is set): INTFA_OK with *bin = NULL and
 * *size = 0. Bad arguments: INTFA_ERR_INVALID_ARGUMENT, outputs unchanged. */
intfa_status intfa_aot_lookup(const char *variant_name, intfa_arch arch, const void **bin,
                              size_t *size);

/* As intfa_aot_lookup, with the stale report decided by verbose (a context's option) instead
 * of INTFA_VERBOSE. */
intfa_status intfa_aot_lookup_verbose(const char *variant_name, intfa_arch arch, int verbose,
                                      const void **bin, size_t *size);

#endif
