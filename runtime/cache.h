/* cache.h - the persistent kernel cache (docs/CACHE.md): compiled cubins on disk, one
 * self-describing file per entry, named by a SHA-256 key of everything that changes the
 * binary, published atomically (temporary file, fsync, rename), checked on every read,
 * bounded in size; an in-memory store when the directory cannot be written; per-process
 * counters and warnings printed once.
 *
 * The pieces, one file each:
 *   cache.c         where a binary comes from: AOT table, memory, disk, then NVRTC
 *   cache_key.c     the key
 *   cache_entry.c   the entry file format: encode and check
 *   cache_dir.c     the cache's location; reading and publishing one entry
 *   cache_trim.c    the size bound (oldest evicted), stale temporaries, usage, clear
 *   cache_memory.c  the in-memory store
 *   cache_report.c  warnings printed once per process, counters
 * Every function is thread-safe, and safe against other processes using the same directory.
 */
#ifndef INTFA_CACHE_H
#define INTFA_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "hash.h"
#include "intfa.h"

/* ------------------------------------------------------------------ getting a binary */

/* Where a binary came from. */
typedef enum intfa_binary_source {
    INTFA_BINARY_NONE = 0,
    INTFA_BINARY_AOT,    /* the precompiled table (aot.h) */
    INTFA_BINARY_MEMORY, /* this process's in-memory store */
    INTFA_BINARY_DISK,   /* the on-disk cache */
    INTFA_BINARY_NVRTC   /* compiled by this call */
} intfa_binary_source;

/* "aot", "memory", "disk", "nvrtc" ("none" for INTFA_BINARY_NONE, NULL when out of range). */
const char *intfa_binary_source_name(intfa_binary_source from);

#define INTFA_CACHE_DEFAULT_MAX_BYTES (1ull << 30)

typedef struct intfa_cache_config {
    const char *dir;    /* NULL or "": $INTFA_CACHE_DIR, else $XDG_CACHE_HOME/intfa, else
                           $HOME/.cache/intfa */
    uint64_t max_bytes; /* bound on the directory's entries; 0: $INTFA_CACHE_MAX_BYTES, else
                           INTFA_CACHE_DEFAULT_MAX_BYTES */
    int verbose;        /* 1: log each binary (variant, source, ms) and say "compiling ..."
                           before NVRTC starts (else only when a compile passes 1 s) */
    int quiet;          /* 1 (and verbose 0): no notice for long compiles either, for callers
                           with a progress display of their own (the tuner) */
} intfa_cache_config;

/* The cubin of v (a checked variant) from the first place that has it: the AOT table, the
 * in-memory store, the disk cache; else, when allow_jit, compiled with NVRTC and published to
 * the disk cache (or kept in memory when the directory cannot be written). Corrupt entries are
 * reported once per process, removed and rebuilt. *cubin is malloc'd (free it); from may be
 * NULL. A miss with allow_jit == 0 fails with INTFA_ERR_JIT_DISABLED naming the variant.
 * An unusable cache directory is a warning, never a failure. */
intfa_status intfa_cache_get_or_build(const intfa_cache_config *cfg, const intfa_variant *v,
                                      int allow_jit, void **cubin, size_t *size,
                                      intfa_binary_source *from);

/* The size bound cfg asks for (see intfa_cache_config.max_bytes). INTFA_CACHE_MAX_BYTES is a
 * byte count with an optional K, M, G or T suffix (powers of 1024); an invalid value is
 * warned about once and the default used. */
intfa_status intfa_cache_max_bytes(const intfa_cache_config *cfg, uint64_t *max_bytes);

/* ------------------------------------------------------------------ key (cache_key.c) */

/* Everything that changes a binary. */
typedef struct intfa_cache_key_inputs {
    const char *variant_name;    /* canonical name (also NVRTC's program name) */
    const char *source;          /* the rendered CUDA source (intfa_variant_render) */
    int nvrtc_version;           /* intfa_nvrtc_version() */
    const char *options;         /* intfa_nvrtc_options_string() */
    const char *target;          /* exact target, "sm_90a" (intfa_arch_name) */
    uint64_t template_hash;      /* intfa_template_hash() */
    const char *library_version; /* intfa_version_string() */
} intfa_cache_key_inputs;

typedef struct intfa_cache_key {
    unsigned char bytes[INTFA_SHA256_BYTES];
} intfa_cache_key;

#define INTFA_CACHE_KEY_HEX_CHARS (2 * INTFA_SHA256_BYTES)

/* The inputs for variant v named name whose rendered source is source (pointers into
 * name, source and static strings). */
intfa_status intfa_cache_key_inputs_of(const intfa_variant *v, const char *name,
                                       const char *source, intfa_cache_key_inputs *out);

/* SHA-256 of an unambiguous encoding of the inputs (each field tagged and length-prefixed). */
intfa_status intfa_cache_key_compute(const intfa_cache_key_inputs *in, intfa_cache_key *out);

/* ------------------------------------------------------------------ entry format (cache_entry.c)
 *
 * A 256-byte header, little-endian, then the cubin (offset, bytes, field):
 *     0   8  magic "INTFAKC\0"
 *     8   4  format version (INTFA_CACHE_FORMAT_VERSION)
 *    12   4  header size (256)
 *    16   8  payload size
 *    24  32  key
 *    56   4  NVRTC version
 *    60   4  zero
 *    64  16  target, NUL-padded ("sm_90a")
 *    80  16  library version, NUL-padded
 *    96 128  variant name, NUL-padded
 *   224  32  SHA-256 of header bytes 0..223 followed by the payload
 */
#define INTFA_CACHE_FORMAT_VERSION 1
#define INTFA_CACHE_HEADER_BYTES 256
#define INTFA_CACHE_ENTRY_MAX_BYTES (256ull << 20) /* larger files are rejected unread */
#define INTFA_CACHE_TARGET_MAX 16
#define INTFA_CACHE_VERSION_MAX 16

/* What an entry's header records besides sizes and checksum. */
typedef struct intfa_cache_entry_info {
    intfa_cache_key key;
    char variant_name[INTFA_VARIANT_NAME_MAX];
    char target[INTFA_CACHE_TARGET_MAX];
    char library_version[INTFA_CACHE_VERSION_MAX];
    int nvrtc_version;
} intfa_cache_entry_info;

/* The header fields of an entry with key built from in. */
intfa_status intfa_cache_entry_info_of(const intfa_cache_key_inputs *in,
                                       const intfa_cache_key *key, intfa_cache_entry_info *out);

/* The entry file for payload (1 .. INTFA_CACHE_ENTRY_MAX_BYTES - header bytes). *file is
 * malloc'd. */
intfa_status intfa_cache_entry_encode(const intfa_cache_entry_info *info, const void *payload,
                                      size_t payload_size, void **file, size_t *file_size);

/* Checks that file (file_size bytes) is a complete, intact entry of this format whose header
 * matches expect in every field. INTFA_OK: the payload is at file + *payload_offset,
 * *payload_size bytes. Else INTFA_ERR_CORRUPT with the first failed check in the message
 * ("truncated", "bad magic", "format version 2 ...", "size mismatch", "checksum mismatch",
 * "key mismatch", ...). */
intfa_status intfa_cache_entry_check(const void *file, size_t file_size,
                                     const intfa_cache_entry_info *expect,
                                     size_t *payload_offset, size_t *payload_size);

/* ------------------------------------------------------------------ directory (cache_dir.c) */

#define INTFA_CACHE_TEMP_PREFIX ".intfa-tmp-"
#define INTFA_CACHE_ENTRY_SUFFIX ".cubin"

/* The cache directory for dir (NULL or "": the environment, see intfa_cache_config), created
 * with its parents (mode 0700) when missing. *path is malloc'd. INTFA_ERR_IO when there is no
 * candidate (no HOME) or it cannot be created or is not a directory. */
intfa_status intfa_cache_dir_resolve(const char *dir, char **path);

/* "<dir>/<64 hex digits of key>.cubin" into buf. */
intfa_status intfa_cache_entry_path(const char *dir, const intfa_cache_key *key, char *buf,
                                    size_t cap);

/* Reads the entry for expect->key from dir. Absent: INTFA_OK with *found = 0. Present and
 * intact: INTFA_OK, *found = 1, *payload malloc'd, and the file's times set to now (the
 * eviction order is least recently used). Present but failing intfa_cache_entry_check (or not
 * a regular file, or too large): INTFA_ERR_CORRUPT naming the path and the failed check, and
 * the file is removed (unless another process replaced it meanwhile). */
intfa_status intfa_cache_dir_read(const char *dir, const intfa_cache_entry_info *expect,
                                  void **payload, size_t *size, int *found);

/* Publishes an entry: writes it to a new temporary file in dir (".intfa-tmp-<key>-<pid>-...",
 * O_EXCL), fsyncs it and renames it over "<key>.cubin", so readers see the old entry, no
 * entry or the whole new one, never a part. The temporary file is removed on failure
 * (INTFA_ERR_IO naming the path and errno's text). */
intfa_status intfa_cache_dir_publish(const char *dir, const intfa_cache_entry_info *info,
                                     const void *payload, size_t payload_size);

/* Test hook: called in intfa_cache_dir_publish once half of the temporary file is written
 * (temp_path, bytes written, bytes in all). NULL (the default) for none. Not thread-safe to
 * change while publishes run. */
typedef void (*intfa_cache_publish_hook)(const char *temp_path, size_t written, size_t total);
void intfa_cache_set_publish_hook(intfa_cache_publish_hook hook);

/* ------------------------------------------------------------------ size bound (cache_trim.c) */

#define INTFA_CACHE_STALE_TEMP_SECONDS 3600

typedef struct intfa_cache_usage {
    uint64_t entries;     /* "<hex key>.cubin" regular files */
    uint64_t bytes;       /* their total size */
    uint64_t temps;       /* temporary files, stale or not */
} intfa_cache_usage;

typedef struct intfa_cache_trim_result {
    uint64_t evicted;       /* entries removed to meet the bound */
    uint64_t evicted_bytes;
    uint64_t stale_temps;   /* temporary files older than INTFA_CACHE_STALE_TEMP_SECONDS removed */
    intfa_cache_usage after;
} intfa_cache_trim_result;

/* Removes stale temporary files, then, while the entries exceed max_bytes, the entry with the
 * oldest modification time (ties: by name), never keep (may be NULL). Files that vanish
 * meanwhile (other processes trimming) are skipped. out may be NULL. */
intfa_status intfa_cache_trim(const char *dir, uint64_t max_bytes, const intfa_cache_key *keep,
                              intfa_cache_trim_result *out);

/* What dir holds. */
intfa_status intfa_cache_usage_of(const char *dir, intfa_cache_usage *out);

/* Removes every entry and every stale temporary file of dir (fresh ones may belong to a
 * writer at work). *removed (may be NULL) counts the files removed. */
intfa_status intfa_cache_clear(const char *dir, uint64_t *removed);

/* ------------------------------------------------------------------ in-memory store (cache_memory.c) */

/* The process-wide store used when an entry cannot be published to disk. Bounded: putting
 * an entry drops the oldest ones until the total is at most max_bytes (the new one stays). */
intfa_status intfa_cache_memory_get(const intfa_cache_key *key, void **payload, size_t *size,
                                    int *found);
intfa_status intfa_cache_memory_put(const intfa_cache_key *key, const void *payload,
                                    size_t size, uint64_t max_bytes);
intfa_status intfa_cache_memory_clear(void);

/* ------------------------------------------------------------------ reports (cache_report.c) */

/* Counters of this process (since start or the last reset). */
typedef struct intfa_cache_stats {
    uint64_t aot_hits;
    uint64_t memory_hits;
    uint64_t disk_hits;
    uint64_t compiles;          /* NVRTC builds */
    uint64_t jit_refused;       /* misses in no-JIT mode */
    uint64_t corrupt;           /* entries rejected by their checks */
    uint64_t publish_failures;  /* builds kept in memory because the disk refused them */
    uint64_t evicted;
    uint64_t stale_temps;
} intfa_cache_stats;

typedef enum intfa_cache_counter {
    INTFA_CACHE_AOT_HITS = 0,
    INTFA_CACHE_MEMORY_HITS,
    INTFA_CACHE_DISK_HITS,
    INTFA_CACHE_COMPILES,
    INTFA_CACHE_JIT_REFUSED,
    INTFA_CACHE_CORRUPT,
    INTFA_CACHE_PUBLISH_FAILURES,
    INTFA_CACHE_EVICTED,
    INTFA_CACHE_STALE_TEMPS,
    INTFA_CACHE_COUNTER_COUNT
} intfa_cache_counter;

void intfa_cache_count(intfa_cache_counter counter, uint64_t n);
intfa_status intfa_cache_stats_get(intfa_cache_stats *out);
intfa_status intfa_cache_stats_reset(void);

/* Prints "intfa: <message>\n" to stderr the first time this process reports id (an entry's
 * path, "dir:<path>", ...); later reports of the same id print nothing. Returns 1 if printed.
 * One fprintf call, so lines of concurrent processes do not interleave within a line. */
int intfa_cache_warn_once(const char *id, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
