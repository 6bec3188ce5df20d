/* aot_cmd.c - intfa-gen --emit-aot and --verify: a precompiled kernel table written from a
 * selection, and a table checked against this generator (runtime/aot_emit.h does the
 * format; this file compiles, writes the files and reports). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aot_emit.h"
#include "gen.h"

#define TABLE_FILE_MAX (4ull << 30) /* larger files are not read */

static char *path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    else
        fprintf(stderr, "intfa-gen: out of memory\n");
    return p;
}

/* Prints each failed job's message; the number of failures. */
static size_t report_failures(const gen_job *jobs, size_t n)
{
    size_t failed = 0;
    for (size_t i = 0; i < n; i++) {
        if (jobs[i].status == INTFA_OK)
            continue;
        fprintf(stderr, "intfa-gen: %s: %s: %s\n", jobs[i].name,
                intfa_status_string(jobs[i].status),
                jobs[i].message ? jobs[i].message : "(no message)");
        failed++;
    }
    return failed;
}

/* ------------------------------------------------------------------ --emit-aot */

static int in_list(const gen_list *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->items[i].name, name) == 0)
            return 1;
    return 0;
}

/* Removes the .cubin files in dir that are not of a variant in l (left from an earlier
 * selection), so that the directory holds exactly this table's cubins. */
static int remove_other_cubins(const char *dir, const gen_list *l)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "intfa-gen: %s: %s\n", dir, strerror(errno));
        return 1;
    }
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && !rc) {
        size_t n = strlen(de->d_name);
        const size_t ext = strlen(".cubin");
        if (n <= ext || strcmp(de->d_name + n - ext, ".cubin") != 0 || n - ext >= INTFA_VARIANT_NAME_MAX)
            continue;
        char name[INTFA_VARIANT_NAME_MAX];
        memcpy(name, de->d_name, n - ext);
        name[n - ext] = '\0';
        if (in_list(l, name))
            continue;
        char *path = path_join(dir, de->d_name);
        if (!path || unlink(path) != 0) {
            if (path)
                fprintf(stderr, "intfa-gen: remove %s: %s\n", path, strerror(errno));
            rc = 1;
        }
        free(path);
    }
    closedir(d);
    return rc;
}

/* Entries of the compiled jobs, and each cubin written to cubin_dir. */
static int make_entries(const gen_job *jobs, size_t n, const char *cubin_dir,
                        intfa_aot_entry *entries)
{
    for (size_t i = 0; i < n; i++) {
        if (intfa_aot_entry_make(&jobs[i].v, jobs[i].cubin, jobs[i].size, &entries[i]) !=
            INTFA_OK) {
            fprintf(stderr, "intfa-gen: %s: %s\n", jobs[i].name, intfa_last_error());
            return 1;
        }
        char file[INTFA_VARIANT_NAME_MAX + 8];
        snprintf(file, sizeof file, "%s.cubin", jobs[i].name);
        char *path = path_join(cubin_dir, file);
        int rc = !path || gen_write_file(path, jobs[i].cubin, jobs[i].size);
        free(path);
        if (rc)
            return 1;
    }
    return 0;
}

int gen_emit_aot(const char *dir, const gen_list *l, int threads)
{
    char *cubin_dir = path_join(dir, "cubins");
    if (!cubin_dir || gen_mkdir(dir) || gen_mkdir(cubin_dir)) {
        free(cubin_dir);
        return 1;
    }
    gen_job *jobs = NULL;
    intfa_aot_entry *entries = calloc(l->n, sizeof *entries);
    if (!entries)
        fprintf(stderr, "intfa-gen: out of memory\n");
    int rc = !entries || gen_jobs_of(l, &jobs);
    if (!rc) {
        gen_announce(l->n, threads);
        double t0 = gen_now_ms();
        rc = gen_compile_all(jobs, l->n, threads);
        fprintf(stderr, "compiled in %.1f s\n", (gen_now_ms() - t0) / 1e3);
    }
    if (!rc && report_failures(jobs, l->n) > 0)
        rc = 1; /* no table from a partial build */
    if (!rc)
        rc = make_entries(jobs, l->n, cubin_dir, entries);
    if (!rc)
        rc = remove_other_cubins(cubin_dir, l);
    if (!rc && intfa_aot_emit_files(dir, entries, l->n) != INTFA_OK) {
        fprintf(stderr, "intfa-gen: --emit-aot %s: %s\n", dir, intfa_last_error());
        rc = 1;
    }
    if (!rc) {
        size_t bytes = 0;
        for (size_t i = 0; i < l->n; i++)
            bytes += jobs[i].size;
        printf("emitted %zu precompiled kernels (%zu cubin bytes) to %s: " INTFA_AOT_TABLE_C
               ", " INTFA_AOT_TABLE_H ", cubins/\n", l->n, bytes, dir);
    }
    intfa_aot_entries_free(entries, l->n);
    gen_jobs_free(jobs, l->n);
    free(cubin_dir);
    return rc;
}

/* ------------------------------------------------------------------ --verify */

/* The whole file at path (a table, or a directory holding intfa_aot_table.c) into *text;
 * *shown is the file's path (malloc'd). 0, 1 (unreadable) or 2 (no such file). */
static int read_table(const char *path, char **text, size_t *len, char **shown)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "intfa-gen: --verify %s: %s\n", path, strerror(errno));
        return 2;
    }
    char *file = S_ISDIR(st.st_mode) ? path_join(path, INTFA_AOT_TABLE_C) : strdup(path);
    if (!file)
        return 1;
    FILE *f = fopen(file, "rb");
    char *buf = NULL;
    size_t n = 0;
    int rc = 0;
    if (!f || fstat(fileno(f), &st) != 0 || (unsigned long long)st.st_size > TABLE_FILE_MAX) {
        fprintf(stderr, "intfa-gen: --verify %s: %s\n", file,
                f && (unsigned long long)st.st_size > TABLE_FILE_MAX ? "larger than 4 GiB"
                                                                     : strerror(errno));
        rc = f ? 1 : 2;
    } else if (!(buf = malloc((size_t)st.st_size + 1)) ||
               (n = fread(buf, 1, (size_t)st.st_size, f)) != (size_t)st.st_size) {
        fprintf(stderr, "intfa-gen: --verify %s: %s\n", file,
                buf ? "short read" : "out of memory");
        rc = 1;
    }
    if (f)
        fclose(f);
    if (rc) {
        free(buf);
        free(file);
        return rc;
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    *shown = file;
    return 0;
}

/* Compiles the entries still fresh again and marks those whose bytes differ. */
static int recompile(const intfa_aot_entry *entries, size_t n, char (*why)[512], int threads)
{
    gen_list l = {calloc(n, sizeof(gen_item)), 0};
    if (!l.items) {
        fprintf(stderr, "intfa-gen: out of memory\n");
        return 1;
    }
    size_t *index = calloc(n, sizeof *index);
    for (size_t i = 0; i < n && index; i++) {
        if (why[i][0] || intfa_variant_parse(entries[i].name, &l.items[l.n].v) != INTFA_OK)
            continue;
        snprintf(l.items[l.n].name, sizeof l.items[l.n].name, "%s", entries[i].name);
        index[l.n++] = i;
    }
    gen_job *jobs = NULL;
    int rc = !index || gen_jobs_of(&l, &jobs);
    if (!rc) {
        gen_announce(l.n, threads);
        rc = gen_compile_all(jobs, l.n, threads);
    }
    for (size_t j = 0; j < l.n && !rc; j++) {
        const intfa_aot_entry *e = &entries[index[j]];
        if (jobs[j].status != INTFA_OK)
            snprintf(why[index[j]], 512, "does not compile now: %.400s",
                     jobs[j].message ? jobs[j].message : intfa_status_string(jobs[j].status));
        else if (jobs[j].size != e->size || memcmp(jobs[j].cubin, e->cubin, e->size) != 0)
            snprintf(why[index[j]], 512, "a fresh NVRTC build differs from the table's cubin "
                     "(%zu bytes, table %zu)", jobs[j].size, e->size);
    }
    if (!index)
        fprintf(stderr, "intfa-gen: out of memory\n");
    gen_jobs_free(jobs, l.n);
    free(index);
    free(l.items);
    return rc;
}

int gen_verify(const char *path, int recompile_all, int threads)
{
    char *text = NULL, *file = NULL;
    size_t len = 0;
    int rc = read_table(path, &text, &len, &file);
    if (rc)
        return rc;
    intfa_aot_entry *entries = NULL;
    size_t n = 0;
    if (intfa_aot_parse(text, len, file, &entries, &n) != INTFA_OK) {
        fprintf(stderr, "intfa-gen: --verify: %s\n", intfa_last_error());
        free(text);
        free(file);
        return 1;
    }
    free(text);
    char (*why)[512] = calloc(n, sizeof *why);
    if (!why) {
        fprintf(stderr, "intfa-gen: out of memory\n");
        rc = 1;
    }
    for (size_t i = 0; i < n && !rc; i++) {
        int ok = 0;
        if (intfa_aot_entry_verify(&entries[i], &ok, why[i], sizeof why[i]) != INTFA_OK) {
            fprintf(stderr, "intfa-gen: %s: %s\n", entries[i].name, intfa_last_error());
            rc = 1;
        }
    }
    if (!rc && recompile_all)
        rc = recompile(entries, n, why, threads);
    size_t stale = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        if (why[i][0]) {
            printf("stale %s (%s): %s\n", entries[i].name, entries[i].target, why[i]);
            stale++;
        } else {
            printf("fresh %s (%s)\n", entries[i].name, entries[i].target);
        }
    }
    if (!rc)
        printf("%s: %zu entries, %zu fresh, %zu stale%s\n", file, n, n - stale, stale,
               recompile_all ? " (cubins compiled again and compared)" : "");
    free(why);
    intfa_aot_entries_free(entries, n);
    free(file);
    return rc ? rc : stale ? 1 : 0;
}
