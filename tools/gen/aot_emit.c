/* aot_emit.c - precompiled kernel table entries and their C source (aot_emit.h): the entry of
 * a fresh build, the text of intfa_aot_table.c / .h, and writing both files. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aot_emit.h"
#include "cache.h"
#include "error.h"
#include "nvrtc_compile.h"
#include "template.h"

#define BYTES_PER_LINE 32

/* ------------------------------------------------------------------ entries */

void intfa_aot_entry_release(intfa_aot_entry *e)
{
    if (!e)
        return;
    free((void *)e->name);
    free((void *)e->target);
    free((void *)e->library_version);
    free((void *)e->key);
    free((void *)e->sha256);
    free((void *)e->cubin);
    memset(e, 0, sizeof *e);
}

void intfa_aot_entries_free(intfa_aot_entry *entries, size_t n)
{
    if (!entries)
        return;
    for (size_t i = 0; i < n; i++)
        intfa_aot_entry_release(&entries[i]);
    free(entries);
}

/* The kernel cache key of v's current source, in hex (INTFA_AOT_HEX_CHARS + 1 bytes). */
static intfa_status key_hex(const intfa_variant *v, const char *name, char *hex)
{
    char *source = NULL;
    intfa_status st = intfa_variant_render(v, &source);
    if (st != INTFA_OK)
        return intfa_fail_wrap(st, "%s: render", name);
    intfa_cache_key_inputs in;
    intfa_cache_key key;
    st = intfa_cache_key_inputs_of(v, name, source, &in);
    if (st == INTFA_OK)
        st = intfa_cache_key_compute(&in, &key);
    intfa_free(source);
    if (st == INTFA_OK)
        intfa_hex(key.bytes, sizeof key.bytes, hex);
    return st;
}

intfa_status intfa_aot_entry_make(const intfa_variant *v, const void *cubin, size_t size,
                                  intfa_aot_entry *out)
{
    if (!v || !cubin || !out)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_aot_entry_make: %s is NULL",
                          !v ? "v" : !cubin ? "cubin" : "out");
    if (size == 0)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_aot_entry_make: size = 0");
    char name[INTFA_VARIANT_NAME_MAX], key[INTFA_AOT_HEX_CHARS + 1], sha[INTFA_AOT_HEX_CHARS + 1];
    intfa_status st;
    if ((st = intfa_variant_check(v)) != INTFA_OK ||
        (st = intfa_variant_name(v, name, sizeof name)) != INTFA_OK)
        return intfa_fail_wrap(st, "intfa_aot_entry_make: v");
    if ((st = key_hex(v, name, key)) != INTFA_OK)
        return st;
    unsigned char digest[INTFA_SHA256_BYTES];
    intfa_sha256_buffer(cubin, size, digest);
    intfa_hex(digest, sizeof digest, sha);

    intfa_aot_entry e = {
        .name = strdup(name),
        .target = strdup(intfa_arch_name(v->arch)),
        .library_version = strdup(intfa_version_string()),
        .template_hash = intfa_template_hash(),
        .nvrtc_version = intfa_nvrtc_version(),
        .key = strdup(key),
        .sha256 = strdup(sha),
        .cubin = malloc(size),
        .size = size,
    };
    if (!e.name || !e.target || !e.library_version || !e.key || !e.sha256 || !e.cubin) {
        intfa_aot_entry_release(&e);
        return intfa_fail(INTFA_ERR_OUT_OF_MEMORY, "intfa_aot_entry_make: %s: %zu bytes", name,
                          size);
    }
    memcpy((void *)e.cubin, cubin, size);
    *out = e;
    return INTFA_OK;
}

/* ------------------------------------------------------------------ text */

static int by_name(const void *a, const void *b)
{
    const intfa_aot_entry *x = *(const intfa_aot_entry *const *)a;
    const intfa_aot_entry *y = *(const intfa_aot_entry *const *)b;
    return strcmp(x->name, y->name);
}

/* A string the generated C holds between quotes: printable, no quote or backslash. */
static int plain_string(const char *s)
{
    if (!s || !s[0])
        return 0;
    for (; *s; s++)
        if (!isprint((unsigned char)*s) || *s == '"' || *s == '\\' || *s == '?')
            return 0;
    return 1;
}

static int hex_string(const char *s)
{
    if (!s || strlen(s) != INTFA_AOT_HEX_CHARS)
        return 0;
    for (; *s; s++)
        if (!isxdigit((unsigned char)*s) || isupper((unsigned char)*s))
            return 0;
    return 1;
}

static intfa_status check_entry(const intfa_aot_entry *e, size_t i)
{
    const char *bad = !plain_string(e->name) ? "name"
                    : !plain_string(e->target) ? "target"
                    : !plain_string(e->library_version) ? "library_version"
                    : !hex_string(e->key) ? "key (64 lower-case hex digits)"
                    : !hex_string(e->sha256) ? "sha256 (64 lower-case hex digits)"
                    : !e->cubin || e->size == 0 ? "cubin" : NULL;
    if (bad)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_aot_emit_text: entries[%zu] (%s): "
                          "bad %s", i, plain_string(e->name) ? e->name : "?", bad);
    return INTFA_OK;
}

/* One cubin as a string literal of exactly e->size characters, BYTES_PER_LINE bytes a line. */
static void put_cubin(FILE *f, const intfa_aot_entry *e, size_t index)
{
    fprintf(f, "/* %s for %s */\nstatic const unsigned char cubin_%zu[%zu] =\n", e->name,
            e->target, index, e->size);
    char line[BYTES_PER_LINE * 4 + 4];
    for (size_t at = 0; at < e->size; at += BYTES_PER_LINE) {
        size_t n = 0, end = at + BYTES_PER_LINE < e->size ? at + BYTES_PER_LINE : e->size;
        line[n++] = '"';
        for (size_t i = at; i < end; i++) {
            unsigned char c = e->cubin[i];
            if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
                line[n++] = (char)c;
            } else { /* three digits always: a digit after it cannot extend the escape */
                line[n++] = '\\';
                line[n++] = (char)('0' + (c >> 6));
                line[n++] = (char)('0' + ((c >> 3) & 7));
                line[n++] = (char)('0' + (c & 7));
            }
        }
        line[n++] = '"';
        line[n++] = '\n';
        fwrite(line, 1, n, f);
    }
    fputs(";\n\n", f);
}

/* The targets present, in intfa_arch order, separated by blanks. */
static void targets_of(const intfa_aot_entry *const *sorted, size_t n, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int a = 0; a < INTFA_ARCH_COUNT; a++) {
        const char *t = intfa_arch_name((intfa_arch)a);
        for (size_t i = 0; i < n; i++) {
            if (strcmp(sorted[i]->target, t) == 0) {
                int w = snprintf(buf + used, cap - used, "%s%s", used ? " " : "", t);
                if (w > 0 && (size_t)w < cap - used)
                    used += (size_t)w;
                break;
            }
        }
    }
}

static void put_c(FILE *f, const intfa_aot_entry *const *sorted, size_t n, const char *targets)
{
    fprintf(f, "/* " INTFA_AOT_TABLE_C " - precompiled intfa kernels: %zu entries for %s.\n"
               " * Generated by intfa-gen --emit-aot. Do not edit: generate it again, and check it\n"
               " * against a generator with intfa-gen --verify (docs/AOT.md). */\n"
               "#include \"aot.h\"\n#include \"" INTFA_AOT_TABLE_H "\"\n\n"
               "#if INTFA_AOT_FORMAT != %d\n"
               "#error \"this table has AOT table format %d; this intfa reads another: generate "
               "it again\"\n#endif\n\n",
            n, targets, INTFA_AOT_FORMAT, INTFA_AOT_FORMAT);
    for (size_t i = 0; i < n; i++)
        put_cubin(f, sorted[i], i);
    fprintf(f, "static const intfa_aot_entry entries[%zu] = {\n", n);
    for (size_t i = 0; i < n; i++) {
        const intfa_aot_entry *e = sorted[i];
        fprintf(f, "    {\"%s\", \"%s\", \"%s\", 0x%016llxULL, %d, \"%s\", \"%s\", cubin_%zu, "
                   "%zu},\n",
                e->name, e->target, e->library_version, e->template_hash, e->nvrtc_version,
                e->key, e->sha256, i, e->size);
    }
    fprintf(f, "};\n\nconst intfa_aot_table intfa_aot_builtin = {INTFA_AOT_FORMAT, %zu, "
               "entries};\n", n);
}

static void put_h(FILE *f, size_t n, const char *targets)
{
    fprintf(f, "/* " INTFA_AOT_TABLE_H " - precompiled intfa kernels: %zu entries for %s.\n"
               " * Generated by intfa-gen --emit-aot; do not edit. The table is the library's\n"
               " * intfa_aot_builtin (runtime/aot.h). */\n"
               "#ifndef INTFA_AOT_TABLE_GENERATED_H\n#define INTFA_AOT_TABLE_GENERATED_H\n\n"
               "#include \"aot.h\"\n\n"
               "#define INTFA_AOT_TABLE_FORMAT %d\n"
               "#define INTFA_AOT_TABLE_ENTRIES %zu\n"
               "#define INTFA_AOT_TABLE_TARGETS \"%s\"\n\n"
               "extern const intfa_aot_table intfa_aot_builtin;\n\n#endif\n",
            n, targets, INTFA_AOT_FORMAT, n, targets);
}

/* Runs put into a memory stream; *text malloc'd. */
static intfa_status render_text(const intfa_aot_entry *const *sorted, size_t n,
                                const char *targets, int header, char **text, size_t *len)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    if (!f)
        return intfa_fail(INTFA_ERR_OUT_OF_MEMORY, "intfa_aot_emit_text: open_memstream: %s",
                          strerror(errno));
    if (header)
        put_h(f, n, targets);
    else
        put_c(f, sorted, n, targets);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad || !buf) {
        free(buf);
        return intfa_fail(INTFA_ERR_OUT_OF_MEMORY, "intfa_aot_emit_text: writing %s failed",
                          header ? INTFA_AOT_TABLE_H : INTFA_AOT_TABLE_C);
    }
    *text = buf;
    *len = size;
    return INTFA_OK;
}

intfa_status intfa_aot_emit_text(const intfa_aot_entry *entries, size_t n, char **c_text,
                                 size_t *c_len, char **h_text, size_t *h_len)
{
    if (!entries || !c_text || !c_len || !h_text || !h_len)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_aot_emit_text: %s is NULL",
                          !entries ? "entries" : !c_text ? "c_text" : !c_len ? "c_len"
                          : !h_text ? "h_text" : "h_len");
    if (n == 0)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_aot_emit_text: n = 0: a table "
                          "needs at least one entry");
    for (size_t i = 0; i < n; i++) {
        intfa_status st = check_entry(&entries[i], i);
        if (st != INTFA_OK)
            return st;
    }
    const intfa_aot_entry **sorted = malloc(n * sizeof *sorted);
    if (!sorted)
        return intfa_fail(INTFA_ERR_OUT_OF_MEMORY, "intfa_aot_emit_text: %zu entries", n);
    for (size_t i = 0; i < n; i++)
        sorted[i] = &entries[i];
    qsort(sorted, n, sizeof *sorted, by_name);
    intfa_status st = INTFA_OK;
    for (size_t i = 1; i < n && st == INTFA_OK; i++)
        if (strcmp(sorted[i - 1]->name, sorted[i]->name) == 0)
            st = intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_aot_emit_text: entries: \"%s\" "
                            "appears twice", sorted[i]->name);
    char targets[8 * INTFA_ARCH_COUNT];
    targets_of(sorted, n, targets, sizeof targets);
    char *c = NULL, *h = NULL;
    size_t cn = 0, hn = 0;
    if (st == INTFA_OK)
        st = render_text(sorted, n, targets, 0, &c, &cn);
    if (st == INTFA_OK && (st = render_text(sorted, n, targets, 1, &h, &hn)) != INTFA_OK)
        free(c);
    free(sorted);
    if (st != INTFA_OK)
        return st;
    *c_text = c;
    *c_len = cn;
    *h_text = h;
    *h_len = hn;
    return INTFA_OK;
}

/* ------------------------------------------------------------------ files */

/* dir/name replaced by text: written to a temporary file in dir, then renamed. */
static intfa_status replace_file(const char *dir, const char *name, const char *text, size_t len)
{
    size_t cap = strlen(dir) + strlen(name) + 48;
    char *path = malloc(cap), *temp = malloc(cap);
    if (!path || !temp) {
        free(path);
        free(temp);
        return intfa_fail(INTFA_ERR_OUT_OF_MEMORY, "intfa_aot_emit_files: path of %s", name);
    }
    snprintf(path, cap, "%s/%s", dir, name);
    snprintf(temp, cap, "%s/.%s.tmp-%ld", dir, name, (long)getpid());
    intfa_status st = INTFA_OK;
    FILE *f = fopen(temp, "wb");
    if (!f) {
        st = intfa_fail(INTFA_ERR_IO, "%s: %s", temp, strerror(errno));
    } else {
        int ok = fwrite(text, 1, len, f) == len;
        int err = errno;
        if (fclose(f) != 0 && ok) {
            ok = 0;
            err = errno;
        }
        if (!ok)
            st = intfa_fail(INTFA_ERR_IO, "%s: %s", temp, strerror(err));
        else if (rename(temp, path) != 0)
            st = intfa_fail(INTFA_ERR_IO, "rename %s to %s: %s", temp, path, strerror(errno));
        if (st != INTFA_OK)
            unlink(temp);
    }
    free(path);
    free(temp);
    return st;
}

intfa_status intfa_aot_emit_files(const char *dir, const intfa_aot_entry *entries, size_t n)
{
    if (!dir)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_aot_emit_files: dir is NULL");
    char *c = NULL, *h = NULL;
    size_t cn = 0, hn = 0;
    intfa_status st = intfa_aot_emit_text(entries, n, &c, &cn, &h, &hn);
    if (st != INTFA_OK)
        return st;
    /* The header first: a build that sees the new .c also sees the header it includes. */
    st = replace_file(dir, INTFA_AOT_TABLE_H, h, hn);
    if (st == INTFA_OK)
        st = replace_file(dir, INTFA_AOT_TABLE_C, c, cn);
    free(c);
    free(h);
    return st;
}
