/* tune_db_file.c - the tuning database file: location, read, atomic replace, merge. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "tune_db_file.h"

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && v[0] ? v : NULL;
}

static intfa_status joined(const char *a, const char *b, char **out)
{
    size_t n = strlen(a) + strlen(b) + 1;
    char *s = malloc(n);
    if (!s) return intfa_fail(INTFA_ERR_OUT_OF_MEMORY, "tuning db path: out of host memory");
    snprintf(s, n, "%s%s", a, b);
    *out = s;
    return INTFA_OK;
}

intfa_status intfa_tune_db_path(const char *explicit_path, const char *cache_dir, char **path)
{
    if (!path) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "tuning db path: path is NULL");
    const char *v;
    if (explicit_path && explicit_path[0]) return joined(explicit_path, "", path);
    if ((v = env("INTFA_TUNING_DB"))) return joined(v, "", path);
    if (cache_dir && cache_dir[0]) return joined(cache_dir, "/tuning.db", path);
    if ((v = env("INTFA_CACHE_DIR"))) return joined(v, "/tuning.db", path);
    if ((v = env("XDG_CACHE_HOME"))) return joined(v, "/intfa/tuning.db", path);
    if ((v = env("HOME"))) return joined(v, "/.cache/intfa/tuning.db", path);
    return intfa_fail(INTFA_ERR_IO, "tuning db path: none of options.tuning_db, $INTFA_TUNING_DB, "
                      "options.cache_dir, $INTFA_CACHE_DIR, $XDG_CACHE_HOME, $HOME is set");
}

intfa_status intfa_tune_db_load(const char *path, intfa_tune_db *db, int *exists)
{
    if (!path || !db)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "tuning db load: %s is NULL", !path ? "path" : "db");
    intfa_tune_db_init(db);
    if (exists) *exists = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT) return INTFA_OK;
        return intfa_fail(INTFA_ERR_IO, "tuning db %s: %s", path, strerror(errno));
    }
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size > INTFA_TUNE_DB_FILE_MAX) {
        fclose(f);
        return intfa_fail(INTFA_ERR_CORRUPT, "tuning db %s: not a regular file of at most %u bytes",
                          path, INTFA_TUNE_DB_FILE_MAX);
    }
    char *text = malloc((size_t)sb.st_size + 1);
    size_t got = text ? fread(text, 1, (size_t)sb.st_size, f) : 0;
    const int read_error = ferror(f);
    fclose(f);
    if (!text) return intfa_fail(INTFA_ERR_OUT_OF_MEMORY, "tuning db %s: out of host memory", path);
    if (read_error) {
        free(text);
        return intfa_fail(INTFA_ERR_IO, "tuning db %s: read error", path);
    }
    intfa_status st = intfa_tune_db_parse(text, got, path, db);
    free(text);
    if (st == INTFA_OK && exists) *exists = 1;
    return st;
}

/* mkdir -p of the directory part of path. */
static intfa_status make_parents(const char *path)
{
    char *dir = strdup(path);
    if (!dir) return intfa_fail(INTFA_ERR_OUT_OF_MEMORY, "tuning db: out of host memory");
    intfa_status st = INTFA_OK;
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        for (char *p = dir + 1; st == INTFA_OK; p++) {
            const char c = *p;
            if (c != '/' && c != '\0') continue;
            *p = '\0';
            if (mkdir(dir, 0755) != 0 && errno != EEXIST)
                st = intfa_fail(INTFA_ERR_IO, "tuning db: cannot create directory %s: %s", dir, strerror(errno));
            *p = c;
            if (c == '\0') break;
        }
    }
    free(dir);
    return st;
}

static intfa_status write_all(int fd, const char *buf, size_t n, const char *tmp)
{
    while (n > 0) {
        ssize_t w = write(fd, buf, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return intfa_fail(INTFA_ERR_IO, "tuning db: writing %s: %s", tmp, strerror(errno));
        buf += w;
        n -= (size_t)w;
    }
    return INTFA_OK;
}

intfa_status intfa_tune_db_save(const char *path, const intfa_tune_db *db)
{
    if (!path || !path[0] || !db)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "tuning db save: %s is NULL or empty", !db ? "db" : "path");
    char *text = NULL, *tmp = NULL;
    size_t len = 0;
    intfa_status st = intfa_tune_db_format(db, &text, &len);
    if (st == INTFA_OK) st = make_parents(path);
    if (st == INTFA_OK) {
        static unsigned counter;
        char suffix[64];
        snprintf(suffix, sizeof suffix, ".tmp-%ld-%u", (long)getpid(), __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED));
        st = joined(path, suffix, &tmp);
    }
    if (st == INTFA_OK) {
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0) {
            st = intfa_fail(INTFA_ERR_IO, "tuning db: cannot create %s: %s", tmp, strerror(errno));
        } else {
            st = write_all(fd, text, len, tmp);
            if (st == INTFA_OK && fsync(fd) != 0)
                st = intfa_fail(INTFA_ERR_IO, "tuning db: fsync %s: %s", tmp, strerror(errno));
            if (close(fd) != 0 && st == INTFA_OK)
                st = intfa_fail(INTFA_ERR_IO, "tuning db: close %s: %s", tmp, strerror(errno));
            if (st == INTFA_OK && rename(tmp, path) != 0)
                st = intfa_fail(INTFA_ERR_IO, "tuning db: rename %s to %s: %s", tmp, path, strerror(errno));
            if (st != INTFA_OK) unlink(tmp);
        }
    }
    free(tmp);
    free(text);
    return st;
}

intfa_status intfa_tune_db_update(const char *path, const intfa_tune_key *key,
                                  const intfa_tune_entry *entries, size_t n)
{
    if (!path || !key || (!entries && n))
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "tuning db update: %s is NULL",
                          !path ? "path" : !key ? "key" : "entries");
    intfa_tune_db db;
    intfa_status st = intfa_tune_db_load(path, &db, NULL);
    if (st != INTFA_OK) return intfa_fail_wrap(st, "tuning db update (the file is left as it is)");
    for (size_t i = 0; i < n && st == INTFA_OK; i++) st = intfa_tune_db_put(&db, key, &entries[i]);
    if (st == INTFA_OK) st = intfa_tune_db_save(path, &db);
    intfa_tune_db_free(&db);
    return st;
}
