/* cache_fixture.c - helpers of the kernel cache tests (see cache_fixture.h). */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache_fixture.h"

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "cache_fixture: %s: %s\n", what, detail ? detail : "");
    abort();
}

char *fixture_mkdtemp(const char *tag)
{
    const char *tmp = getenv("TMPDIR");
    char *path = malloc(4096);
    if (!path)
        die("out of memory", NULL);
    snprintf(path, 4096, "%s/intfa-%s-XXXXXX", tmp && tmp[0] ? tmp : "/tmp", tag);
    if (!mkdtemp(path))
        die("mkdtemp", path);
    return path;
}

void fixture_rmtree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    char path[4096];
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        struct stat sb;
        if (lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            chmod(path, 0700);
            fixture_rmtree(path);
        } else {
            unlink(path);
        }
    }
    closedir(d);
    rmdir(dir);
}

/* Calls visit(name) for each file of dir whose name starts with prefix, until it returns 1. */
static void each_file(const char *dir, const char *prefix, int (*visit)(const char *, void *),
                      void *arg)
{
    DIR *d = opendir(dir);
    if (!d)
        die("opendir", dir);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
            strncmp(de->d_name, prefix, strlen(prefix)) != 0)
            continue;
        if (visit(de->d_name, arg))
            break;
    }
    closedir(d);
}

static int count_one(const char *name, void *arg)
{
    (void)name;
    ++*(size_t *)arg;
    return 0;
}

size_t fixture_count_files(const char *dir, const char *prefix)
{
    size_t n = 0;
    each_file(dir, prefix, count_one, &n);
    return n;
}

static int keep_first(const char *name, void *arg)
{
    *(char **)arg = strdup(name);
    return 1;
}

char *fixture_find_file(const char *dir, const char *prefix)
{
    char *name = NULL;
    each_file(dir, prefix, keep_first, &name);
    if (!name)
        return NULL;
    char *path = malloc(strlen(dir) + strlen(name) + 2);
    if (!path)
        die("out of memory", NULL);
    sprintf(path, "%s/%s", dir, name);
    free(name);
    return path;
}

void *fixture_read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *grown = realloc(buf, 2 * cap + 1);
            if (!grown)
                free(buf);
            buf = grown;
            cap *= 2;
        }
    }
    fclose(f);
    if (!buf)
        die("out of memory", path);
    buf[n] = '\0'; /* text files can be used as strings */
    *size = n;
    return buf;
}

void fixture_write_file(const char *path, const void *bytes, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(bytes, 1, size, f) != size) || fclose(f) != 0)
        die("write", path);
}

void fixture_set_age(const char *path, long seconds_ago)
{
    struct timespec t[2];
    clock_gettime(CLOCK_REALTIME, &t[0]);
    t[0].tv_sec -= seconds_ago;
    t[1] = t[0];
    if (utimensat(AT_FDCWD, path, t, 0) != 0)
        die("utimensat", path);
}

static int saved_stderr = -1;
static char capture_path[4096];

void fixture_stderr_begin(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(capture_path, sizeof capture_path, "%s/intfa-stderr-XXXXXX",
             tmp && tmp[0] ? tmp : "/tmp");
    int fd = mkstemp(capture_path);
    if (fd < 0)
        die("mkstemp", capture_path);
    fflush(stderr);
    saved_stderr = dup(2);
    if (saved_stderr < 0 || dup2(fd, 2) < 0)
        die("dup2", NULL);
    close(fd);
}

char *fixture_stderr_end(void)
{
    fflush(stderr);
    if (saved_stderr < 0 || dup2(saved_stderr, 2) < 0)
        die("restoring stderr", NULL);
    close(saved_stderr);
    saved_stderr = -1;
    size_t size;
    char *text = fixture_read_file(capture_path, &size);
    unlink(capture_path);
    if (!text)
        die("reading captured stderr", capture_path);
    return text;
}

int fixture_count_lines(const char *text, const char *needle)
{
    int n = 0;
    while (*text) {
        const char *end = strchr(text, '\n');
        size_t len = end ? (size_t)(end - text) : strlen(text);
        for (size_t i = 0; i + strlen(needle) <= len; i++) {
            if (strncmp(text + i, needle, strlen(needle)) == 0) {
                n++;
                break;
            }
        }
        text += len + (end ? 1 : 0);
    }
    return n;
}

intfa_variant fixture_variant(const char *name)
{
    intfa_variant v;
    if (intfa_variant_parse(name, &v) != INTFA_OK)
        die("variant name does not parse", name);
    return v;
}
