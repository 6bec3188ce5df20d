/* cache_trim.c - keeping the cache directory bounded: entries removed oldest first (by
 * modification time, which a hit refreshes) until their total fits, and temporary files left
 * by killed writers removed once stale. Only "<64 hex>.cubin" files and ".intfa-tmp-*" files
 * are ever touched; anything else in the directory (a tuning database) is left alone.
 * Safe while other processes read, publish or trim: a vanished file is simply skipped. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "error.h"

typedef struct entry_file {
    char name[INTFA_CACHE_KEY_HEX_CHARS + sizeof INTFA_CACHE_ENTRY_SUFFIX];
    uint64_t size;
    struct timespec mtime;
} entry_file;

typedef struct dir_scan {
    entry_file *entries;
    size_t n, cap;
    uint64_t bytes;
    uint64_t temps;
    uint64_t removed; /* files scan removed */
} dir_scan;

static int is_entry_name(const char *name)
{
    for (int i = 0; i < INTFA_CACHE_KEY_HEX_CHARS; i++)
        if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
            return 0;
    return strcmp(name + INTFA_CACHE_KEY_HEX_CHARS, INTFA_CACHE_ENTRY_SUFFIX) == 0;
}

static int is_temp_name(const char *name)
{
    return strncmp(name, INTFA_CACHE_TEMP_PREFIX, strlen(INTFA_CACHE_TEMP_PREFIX)) == 0;
}

static int add_entry(dir_scan *s, const char *name, const struct stat *sb)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        entry_file *grown = realloc(s->entries, cap * sizeof *grown);
        if (!grown)
            return -1;
        s->entries = grown;
        s->cap = cap;
    }
    entry_file *e = &s->entries[s->n++];
    strcpy(e->name, name); /* is_entry_name: fits exactly */
    e->size = (uint64_t)sb->st_size;
    e->mtime = sb->st_mtim;
    s->bytes += e->size;
    return 0;
}

/* Lists dir's entries; with remove_stale, removes temporary files older than
 * INTFA_CACHE_STALE_TEMP_SECONDS (with remove_all_entries: and every entry, listing none). */
static intfa_status scan(const char *dir, int remove_stale, int remove_all_entries, dir_scan *s)
{
    memset(s, 0, sizeof *s);
    DIR *d = opendir(dir);
    if (!d)
        return intfa_fail(INTFA_ERR_IO, "cache directory %s: opendir: %s", dir, strerror(errno));
    int dfd = dirfd(d);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    intfa_status st = INTFA_OK;
    struct dirent *de;
    while (st == INTFA_OK && (de = readdir(d)) != NULL) {
        int entry = is_entry_name(de->d_name), temp = !entry && is_temp_name(de->d_name);
        struct stat sb;
        if ((!entry && !temp) || fstatat(dfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISREG(sb.st_mode))
            continue; /* not ours, or gone meanwhile */
        if (temp) {
            if (remove_stale && now.tv_sec - sb.st_mtim.tv_sec > INTFA_CACHE_STALE_TEMP_SECONDS &&
                unlinkat(dfd, de->d_name, 0) == 0)
                s->removed++;
            else
                s->temps++;
        } else if (remove_all_entries) {
            if (unlinkat(dfd, de->d_name, 0) == 0)
                s->removed++;
        } else if (add_entry(s, de->d_name, &sb) != 0) {
            st = intfa_fail(INTFA_ERR_OUT_OF_MEMORY, "cache directory %s: listing", dir);
        }
    }
    closedir(d);
    if (st != INTFA_OK) {
        free(s->entries);
        s->entries = NULL;
    }
    return st;
}

static int older_first(const void *pa, const void *pb)
{
    const entry_file *a = pa, *b = pb;
    if (a->mtime.tv_sec != b->mtime.tv_sec)
        return a->mtime.tv_sec < b->mtime.tv_sec ? -1 : 1;
    if (a->mtime.tv_nsec != b->mtime.tv_nsec)
        return a->mtime.tv_nsec < b->mtime.tv_nsec ? -1 : 1;
    return strcmp(a->name, b->name);
}

intfa_status intfa_cache_trim(const char *dir, uint64_t max_bytes, const intfa_cache_key *keep,
                              intfa_cache_trim_result *out)
{
    if (!dir)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_cache_trim: dir is NULL");
    dir_scan s;
    intfa_status st = scan(dir, 1, 0, &s);
    if (st != INTFA_OK)
        return st;
    char keep_name[INTFA_CACHE_KEY_HEX_CHARS + sizeof INTFA_CACHE_ENTRY_SUFFIX] = "";
    if (keep) {
        intfa_hex(keep->bytes, sizeof keep->bytes, keep_name);
        strcat(keep_name, INTFA_CACHE_ENTRY_SUFFIX);
    }
    intfa_cache_trim_result r = {.stale_temps = s.removed};
    size_t gone = 0;
    if (s.bytes > max_bytes) {
        qsort(s.entries, s.n, sizeof *s.entries, older_first);
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        for (size_t i = 0; i < s.n && s.bytes > max_bytes && dfd >= 0; i++) {
            if (strcmp(s.entries[i].name, keep_name) == 0)
                continue;
            /* Gone already (another process trimmed it): it no longer counts either way. */
            int removed = unlinkat(dfd, s.entries[i].name, 0) == 0;
            if (removed || errno == ENOENT) {
                s.bytes -= s.entries[i].size;
                gone++;
            }
            if (removed) {
                r.evicted++;
                r.evicted_bytes += s.entries[i].size;
            }
        }
        if (dfd >= 0)
            close(dfd);
    }
    free(s.entries);
    r.after.entries = s.n - gone;
    r.after.bytes = s.bytes;
    r.after.temps = s.temps;
    intfa_cache_count(INTFA_CACHE_EVICTED, r.evicted);
    intfa_cache_count(INTFA_CACHE_STALE_TEMPS, r.stale_temps);
    if (out)
        *out = r;
    return INTFA_OK;
}

intfa_status intfa_cache_usage_of(const char *dir, intfa_cache_usage *out)
{
    if (!dir || !out)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_cache_usage_of: %s is NULL",
                          !dir ? "dir" : "out");
    dir_scan s;
    intfa_status st = scan(dir, 0, 0, &s);
    if (st != INTFA_OK)
        return st;
    free(s.entries);
    intfa_cache_usage u = {.entries = s.n, .bytes = s.bytes, .temps = s.temps};
    *out = u;
    return INTFA_OK;
}

intfa_status intfa_cache_clear(const char *dir, uint64_t *removed)
{
    if (!dir)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_cache_clear: dir is NULL");
    dir_scan s;
    intfa_status st = scan(dir, 1, 1, &s);
    if (st != INTFA_OK)
        return st;
    free(s.entries);
    if (removed)
        *removed = s.removed;
    return INTFA_OK;
}
