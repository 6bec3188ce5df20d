/* cache_dir.c - the cache directory: where it is, reading one entry (checked, corrupt ones
 * removed) and publishing one atomically. No locks: every writer writes its own temporary
 * file and renames it over the entry's name; rename is atomic within a directory, so a
 * reader opens either a complete old entry, a complete new one or none. Writers of the same
 * key write identical bytes, so the last rename winning is harmless. */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "error.h"

/* ------------------------------------------------------------------ location */

/* path joined with suffix, malloc'd; NULL when out of memory. */
static char *join(const char *path, const char *suffix)
{
    size_t a = strlen(path), b = strlen(suffix);
    char *s = malloc(a + b + 1);
    if (s) {
        memcpy(s, path, a);
        memcpy(s + a, suffix, b + 1);
    }
    return s;
}

/* mkdir -p with mode 0700 for the directories it creates; path is restored on return. */
static intfa_status make_dirs(char *path, const char *from)
{
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        int failed = mkdir(path, 0700) != 0 && errno != EEXIST;
        int err = errno;
        *p = c;
        if (failed)
            return intfa_fail(INTFA_ERR_IO, "cache directory %s (from %s): mkdir %.*s: %s", path,
                              from, (int)(p - path), path, strerror(err));
        if (c == '\0')
            break;
    }
    struct stat sb;
    if (stat(path, &sb) != 0)
        return intfa_fail(INTFA_ERR_IO, "cache directory %s (from %s): %s", path, from,
                          strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return intfa_fail(INTFA_ERR_IO, "cache directory %s (from %s) is not a directory", path,
                          from);
    return INTFA_OK;
}

intfa_status intfa_cache_dir_resolve(const char *dir, char **path)
{
    if (!path)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_cache_dir_resolve: path is NULL");
    const char *env, *from;
    char *candidate;
    if (dir && dir[0]) {
        from = "options.cache_dir";
        candidate = strdup(dir);
    } else if ((env = getenv("INTFA_CACHE_DIR")) && env[0]) {
        from = "$INTFA_CACHE_DIR";
        candidate = strdup(env);
    } else if ((env = getenv("XDG_CACHE_HOME")) && env[0] == '/') { /* XDG: absolute only */
        from = "$XDG_CACHE_HOME";
        candidate = join(env, "/intfa");
    } else if ((env = getenv("HOME")) && env[0]) {
        from = "$HOME";
        candidate = join(env, "/.cache/intfa");
    } else {
        return intfa_fail(INTFA_ERR_IO, "no cache directory: options.cache_dir, "
                          "$INTFA_CACHE_DIR, $XDG_CACHE_HOME and $HOME are all unset");
    }
    if (!candidate)
        return intfa_fail(INTFA_ERR_OUT_OF_MEMORY, "intfa_cache_dir_resolve: out of memory");
    intfa_status st = make_dirs(candidate, from);
    if (st != INTFA_OK) {
        free(candidate);
        return st;
    }
    *path = candidate;
    return INTFA_OK;
}

intfa_status intfa_cache_entry_path(const char *dir, const intfa_cache_key *key, char *buf,
                                    size_t cap)
{
    if (!dir || !key || !buf)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_cache_entry_path: %s is NULL",
                          !dir ? "dir" : !key ? "key" : "buf");
    char hex[INTFA_CACHE_KEY_HEX_CHARS + 1];
    intfa_hex(key->bytes, sizeof key->bytes, hex);
    int n = snprintf(buf, cap, "%s/%s%s", dir, hex, INTFA_CACHE_ENTRY_SUFFIX);
    if (n < 0 || (size_t)n >= cap)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_cache_entry_path: dir \"%.200s\" "
                          "makes a path longer than cap = %zu", dir, cap);
    return INTFA_OK;
}

/* ------------------------------------------------------------------ reading */

/* Reads up to size bytes; returns the count read (less at end of file), -1 on error. */
static ssize_t read_all(int fd, unsigned char *buf, size_t size)
{
    size_t got = 0;
    while (got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

/* Removes path if it is still the file opened as sb (not a replacement published since). */
static void remove_if_same(const char *path, const struct stat *sb)
{
    struct stat now;
    if (lstat(path, &now) == 0 && now.st_dev == sb->st_dev && now.st_ino == sb->st_ino)
        unlink(path);
}

intfa_status intfa_cache_dir_read(const char *dir, const intfa_cache_entry_info *expect,
                                  void **payload, size_t *size, int *found)
{
    if (!dir || !expect || !payload || !size || !found)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_cache_dir_read: %s is NULL",
                          !dir ? "dir" : !expect ? "expect" : !payload ? "payload"
                                       : !size ? "size" : "found");
    char path[4096];
    intfa_status st = intfa_cache_entry_path(dir, &expect->key, path, sizeof path);
    if (st != INTFA_OK)
        return st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == ENOENT) {
        *found = 0;
        return INTFA_OK;
    }
    if (fd < 0)
        return intfa_fail(INTFA_ERR_IO, "cache entry %s: open: %s", path, strerror(errno));

    struct stat sb;
    unsigned char *bytes = NULL;
    size_t offset = 0, payload_size = 0;
    ssize_t got = 0;
    if (fstat(fd, &sb) != 0) {
        st = intfa_fail(INTFA_ERR_IO, "cache entry %s: fstat: %s", path, strerror(errno));
    } else if (!S_ISREG(sb.st_mode)) {
        st = intfa_fail(INTFA_ERR_CORRUPT, "cache entry %s: not a regular file", path);
    } else if ((uint64_t)sb.st_size > INTFA_CACHE_ENTRY_MAX_BYTES || sb.st_size == 0) {
        st = intfa_fail(INTFA_ERR_CORRUPT, "cache entry %s: size %lld is not in 1 .. %llu", path,
                        (long long)sb.st_size, INTFA_CACHE_ENTRY_MAX_BYTES);
    } else if (!(bytes = malloc((size_t)sb.st_size))) {
        st = intfa_fail(INTFA_ERR_OUT_OF_MEMORY, "cache entry %s: %lld bytes", path,
                        (long long)sb.st_size);
    } else if ((got = read_all(fd, bytes, (size_t)sb.st_size)) < 0) {
        st = intfa_fail(INTFA_ERR_IO, "cache entry %s: read: %s", path, strerror(errno));
    } else if ((st = intfa_cache_entry_check(bytes, (size_t)got, expect, &offset,
                                             &payload_size)) != INTFA_OK) {
        intfa_fail_wrap(st, "cache entry %s (%s)", path, expect->variant_name);
    }
    if (st == INTFA_ERR_CORRUPT)
        remove_if_same(path, &sb);
    if (st != INTFA_OK) {
        free(bytes);
        close(fd);
        return st;
    }
    futimens(fd, NULL); /* a hit is a use: the eviction order is by time of last use */
    close(fd);
    memmove(bytes, bytes + offset, payload_size);
    void *shrunk = realloc(bytes, payload_size);
    *payload = shrunk ? shrunk : bytes;
    *size = payload_size;
    *found = 1;
    return INTFA_OK;
}

/* ------------------------------------------------------------------ publishing */

static intfa_cache_publish_hook publish_hook;
static _Atomic unsigned temp_counter;

void intfa_cache_set_publish_hook(intfa_cache_publish_hook hook) { publish_hook = hook; }

static int write_all(int fd, const unsigned char *buf, size_t size)
{
    while (size > 0) {
        ssize_t n = write(fd, buf, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        size -= (size_t)n;
    }
    return 0;
}

/* Creates a new temporary file in dir for key: "<dir>/.intfa-tmp-<16 hex of key>-<pid>-<n>-
 * <clock>.part", O_EXCL (a clash with another process's name is retried). Returns the fd or
 * -1 with errno set. */
static int create_temp(const char *dir, const char *hex, char *path, size_t cap)
{
    for (int attempt = 0; attempt < 16; attempt++) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        unsigned n = atomic_fetch_add(&temp_counter, 1);
        int len = snprintf(path, cap, "%s/%s%.16s-%ld-%u-%08lx.part", dir,
                           INTFA_CACHE_TEMP_PREFIX, hex, (long)getpid(), n,
                           (unsigned long)(ts.tv_nsec ^ ts.tv_sec) & 0xffffffffUL);
        if (len < 0 || (size_t)len >= cap) {
            errno = ENAMETOOLONG;
            return -1;
        }
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    errno = EEXIST;
    return -1;
}

/* Writes file to the open temporary file fd, calling the test hook halfway, then fsyncs. */
static int write_temp(int fd, const char *temp, const unsigned char *file, size_t size)
{
    size_t half = size / 2;
    if (write_all(fd, file, half) != 0)
        return -1;
    if (publish_hook)
        publish_hook(temp, half, size);
    if (write_all(fd, file + half, size - half) != 0)
        return -1;
    return fsync(fd);
}

intfa_status intfa_cache_dir_publish(const char *dir, const intfa_cache_entry_info *info,
                                     const void *payload, size_t payload_size)
{
    if (!dir || !info || !payload)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_cache_dir_publish: %s is NULL",
                          !dir ? "dir" : !info ? "info" : "payload");
    char path[4096], temp[4096 + 64];
    intfa_status st = intfa_cache_entry_path(dir, &info->key, path, sizeof path);
    if (st != INTFA_OK)
        return st;
    void *file = NULL;
    size_t file_size = 0;
    st = intfa_cache_entry_encode(info, payload, payload_size, &file, &file_size);
    if (st != INTFA_OK)
        return st;

    char hex[INTFA_CACHE_KEY_HEX_CHARS + 1];
    intfa_hex(info->key.bytes, sizeof info->key.bytes, hex);
    int fd = create_temp(dir, hex, temp, sizeof temp);
    if (fd < 0) {
        st = intfa_fail(INTFA_ERR_IO, "cache directory %s: creating a temporary file: %s", dir,
                        strerror(errno));
        free(file);
        return st;
    }
    int failed = write_temp(fd, temp, file, file_size);
    int err = errno;
    free(file);
    if (close(fd) != 0 && !failed) {
        failed = 1;
        err = errno;
    }
    if (!failed && rename(temp, path) != 0) {
        failed = 1;
        err = errno;
    }
    if (failed) {
        unlink(temp);
        return intfa_fail(INTFA_ERR_IO, "cache entry %s: writing %s: %s", path, temp,
                          strerror(err));
    }
    /* Make the rename durable too; a failure here loses at most the entry, not consistency. */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return INTFA_OK;
}
