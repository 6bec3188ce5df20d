/* aot_verify.c - a generated intfa_aot_table.c read back, and an entry checked against the
 * current generator (aot_emit.h). The reader knows exactly the text aot_emit.c writes: the
 * cubin arrays, the entry lines, the format and table lines; other lines (comments,
 * includes) are skipped, anything malformed in the lines it knows is an error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aot_emit.h"
#include "hash.h"
#include "error.h"

#define LINE_MAX_CHARS 1024
#define CUBIN_MAX_BYTES (256u << 20)

#define CUBIN_DECL "static const unsigned char cubin_"
#define ENTRY_START "    {\""
#define FORMAT_LINE "#if INTFA_AOT_FORMAT != "
#define TABLE_LINE "const intfa_aot_table intfa_aot_builtin = {INTFA_AOT_FORMAT, "

typedef struct cubin {
    unsigned char *bytes;
    size_t size, filled;
} cubin;

typedef struct parser {
    const char *origin;
    size_t line;
    cubin *cubins;          /* cubin_0, cubin_1, ... as declared */
    size_t ncubins, cap_cubins;
    intfa_aot_entry *entries;
    size_t nentries, cap_entries;
    int in_cubin;           /* reading the string lines of the last cubin */
    int format_seen;
    int table_seen;
    size_t table_count;
} parser;

static intfa_status corrupt(const parser *p, const char *what)
{
    return intfa_fail(INTFA_ERR_CORRUPT, "%s:%zu: %s", p->origin, p->line, what);
}

static intfa_status out_of_memory(const parser *p)
{
    return intfa_fail(INTFA_ERR_OUT_OF_MEMORY, "%s:%zu: out of memory", p->origin, p->line);
}

/* ------------------------------------------------------------------ small readers */

/* Each advances *s past what it read and returns 1, or returns 0. */

static int lit(const char **s, const char *word)
{
    size_t n = strlen(word);
    if (strncmp(*s, word, n) != 0)
        return 0;
    *s += n;
    return 1;
}

/* A decimal number without sign or leading zeros, at most max. */
static int number(const char **s, unsigned long long max, unsigned long long *out)
{
    const char *p = *s;
    unsigned long long x = 0;
    if (*p < '0' || *p > '9' || (*p == '0' && p[1] >= '0' && p[1] <= '9'))
        return 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (x > (max - (unsigned)(*p - '0')) / 10)
            return 0;
        x = x * 10 + (unsigned)(*p - '0');
    }
    *s = p;
    *out = x;
    return 1;
}

static int size_number(const char **s, size_t *out)
{
    unsigned long long x;
    if (!number(s, CUBIN_MAX_BYTES, &x))
        return 0;
    *out = (size_t)x;
    return 1;
}

/* n lower-case hex digits into *out (n <= 16). */
static int hex_number(const char **s, int n, unsigned long long *out)
{
    unsigned long long x = 0;
    for (int i = 0; i < n; i++) {
        char c = (*s)[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0)
            return 0;
        x = x << 4 | (unsigned)d;
    }
    *s += n;
    *out = x;
    return 1;
}

/* "text" with printable characters other than quote and backslash, into a malloc'd copy. */
static int quoted(const char **s, char **out)
{
    const char *p = *s;
    if (*p++ != '"')
        return 0;
    const char *start = p;
    while (*p >= ' ' && *p <= '~' && *p != '"' && *p != '\\')
        p++;
    if (*p != '"' || p == start)
        return 0;
    char *copy = strndup(start, (size_t)(p - start));
    if (!copy)
        return 0;
    *out = copy;
    *s = p + 1;
    return 1;
}

/* ------------------------------------------------------------------ lines */

static intfa_status cubin_decl(parser *p, const char *s)
{
    size_t index, size;
    s += strlen(CUBIN_DECL);
    if (!size_number(&s, &index) || !lit(&s, "[") || !size_number(&s, &size) ||
        !lit(&s, "] =") || *s)
        return corrupt(p, "malformed cubin declaration");
    if (index != p->ncubins)
        return corrupt(p, "cubin arrays out of sequence");
    if (size == 0)
        return corrupt(p, "cubin of 0 bytes");
    if (p->ncubins == p->cap_cubins) {
        size_t cap = p->cap_cubins ? 2 * p->cap_cubins : 16;
        cubin *grown = realloc(p->cubins, cap * sizeof *grown);
        if (!grown)
            return out_of_memory(p);
        p->cubins = grown;
        p->cap_cubins = cap;
    }
    cubin c = {malloc(size), size, 0};
    if (!c.bytes)
        return out_of_memory(p);
    p->cubins[p->ncubins++] = c;
    p->in_cubin = 1;
    return INTFA_OK;
}

static int octal(char c) { return c >= '0' && c <= '7'; }

/* One "..." line of the current cubin, or the ";" that ends it. */
static intfa_status cubin_line(parser *p, const char *s)
{
    cubin *c = &p->cubins[p->ncubins - 1];
    if (strcmp(s, ";") == 0) {
        if (c->filled != c->size)
            return corrupt(p, "cubin shorter than declared");
        p->in_cubin = 0;
        return INTFA_OK;
    }
    size_t n = strlen(s);
    if (n < 2 || s[0] != '"' || s[n - 1] != '"')
        return corrupt(p, "expected a string line of cubin bytes");
    for (size_t i = 1; i < n - 1;) {
        unsigned char byte;
        char ch = s[i];
        if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')) {
            byte = (unsigned char)ch;
            i++;
        } else if (ch == '\\' && i + 3 < n - 1 && octal(s[i + 1]) && octal(s[i + 2]) &&
                   octal(s[i + 3]) && s[i + 1] <= '3') {
            byte = (unsigned char)((s[i + 1] - '0') << 6 | (s[i + 2] - '0') << 3 | (s[i + 3] - '0'));
            i += 4;
        } else {
            return corrupt(p, "bad character in cubin bytes (letters, digits and \\ooo only)");
        }
        if (c->filled == c->size)
            return corrupt(p, "cubin longer than declared");
        c->bytes[c->filled++] = byte;
    }
    return INTFA_OK;
}

static intfa_status entry_line(parser *p, const char *s)
{
    intfa_aot_entry e;
    memset(&e, 0, sizeof e);
    char *name = NULL, *target = NULL, *lib = NULL, *key = NULL, *sha = NULL;
    unsigned long long nvrtc = 0;
    size_t index = 0;
    int ok = lit(&s, "    {") && quoted(&s, &name) && lit(&s, ", ") && quoted(&s, &target) &&
             lit(&s, ", ") && quoted(&s, &lib) && lit(&s, ", 0x") &&
             hex_number(&s, 16, &e.template_hash) && lit(&s, "ULL, ") &&
             number(&s, 1000000000, &nvrtc) && lit(&s, ", ") && quoted(&s, &key) &&
             lit(&s, ", ") && quoted(&s, &sha) && lit(&s, ", cubin_") &&
             size_number(&s, &index) && lit(&s, ", ") && size_number(&s, &e.size) &&
             lit(&s, "},") && *s == '\0';
    e.name = name;
    e.target = target;
    e.library_version = lib;
    e.key = key;
    e.sha256 = sha;
    e.nvrtc_version = (int)nvrtc;
    intfa_status st = INTFA_OK;
    if (!ok)
        st = corrupt(p, "malformed entry line");
    else if (strlen(key) != INTFA_AOT_HEX_CHARS || strlen(sha) != INTFA_AOT_HEX_CHARS)
        st = corrupt(p, "key and sha256 must have 64 hex digits");
    else if (index != p->nentries || index >= p->ncubins || p->in_cubin)
        st = corrupt(p, "an entry must use the cubin of its own index (cubin_<n> for entry n)");
    else if (p->cubins[index].size != e.size)
        st = corrupt(p, "entry size differs from its cubin's");
    if (st == INTFA_OK && p->nentries == p->cap_entries) {
        size_t cap = p->cap_entries ? 2 * p->cap_entries : 16;
        intfa_aot_entry *grown = realloc(p->entries, cap * sizeof *grown);
        if (!grown)
            st = out_of_memory(p);
        else {
            p->entries = grown;
            p->cap_entries = cap;
        }
    }
    if (st != INTFA_OK) {
        intfa_aot_entry_release(&e);
        return st;
    }
    e.cubin = p->cubins[index].bytes; /* the entry owns it from now */
    p->cubins[index].bytes = NULL;
    p->entries[p->nentries++] = e;
    return INTFA_OK;
}

static intfa_status other_line(parser *p, const char *s)
{
    size_t n;
    if (strncmp(s, CUBIN_DECL, strlen(CUBIN_DECL)) == 0)
        return cubin_decl(p, s);
    if (strncmp(s, ENTRY_START, strlen(ENTRY_START)) == 0)
        return entry_line(p, s);
    if (lit(&s, FORMAT_LINE)) {
        if (!size_number(&s, &n) || *s)
            return corrupt(p, "malformed format line");
        if (n != INTFA_AOT_FORMAT)
            return corrupt(p, n < INTFA_AOT_FORMAT ? "an older AOT table format"
                                                   : "a newer AOT table format");
        p->format_seen = 1;
        return INTFA_OK;
    }
    if (lit(&s, TABLE_LINE)) {
        if (!size_number(&s, &n) || !lit(&s, ", entries};") || *s)
            return corrupt(p, "malformed intfa_aot_builtin line");
        p->table_seen = 1;
        p->table_count = n;
    }
    return INTFA_OK;
}

static intfa_status finish(parser *p)
{
    if (p->in_cubin)
        return corrupt(p, "ends inside a cubin (truncated)");
    if (!p->format_seen)
        return corrupt(p, "no \"" FORMAT_LINE "\" line: not a generated table");
    if (!p->table_seen)
        return corrupt(p, "no intfa_aot_builtin definition (truncated)");
    if (p->table_count != p->nentries || p->nentries != p->ncubins)
        return corrupt(p, "the counts of cubins, entries and intfa_aot_builtin differ");
    if (p->nentries == 0)
        return corrupt(p, "no entries");
    return INTFA_OK;
}

static void parser_free(parser *p)
{
    for (size_t i = 0; i < p->ncubins; i++)
        free(p->cubins[i].bytes);
    free(p->cubins);
    intfa_aot_entries_free(p->entries, p->nentries);
}

intfa_status intfa_aot_parse(const char *text, size_t len, const char *origin,
                             intfa_aot_entry **entries, size_t *n)
{
    if (!text || !entries || !n)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_aot_parse: %s is NULL",
                          !text ? "text" : !entries ? "entries" : "n");
    parser p;
    memset(&p, 0, sizeof p);
    p.origin = origin ? origin : "(table)";
    intfa_status st = INTFA_OK;
    char line[LINE_MAX_CHARS + 1];
    for (size_t at = 0; at < len && st == INTFA_OK;) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t end = nl ? (size_t)(nl - text) : len, n_line = end - at;
        p.line++;
        if (n_line > LINE_MAX_CHARS || memchr(text + at, '\0', n_line))
            st = corrupt(&p, n_line > LINE_MAX_CHARS ? "line too long" : "NUL byte");
        if (st != INTFA_OK)
            break;
        memcpy(line, text + at, n_line);
        line[n_line] = '\0';
        st = p.in_cubin ? cubin_line(&p, line) : other_line(&p, line);
        at = end + 1;
    }
    if (st == INTFA_OK)
        st = finish(&p);
    if (st != INTFA_OK) {
        parser_free(&p);
        return st;
    }
    for (size_t i = 0; i < p.ncubins; i++)
        free(p.cubins[i].bytes); /* all NULL: the entries took them */
    free(p.cubins);
    *entries = p.entries;
    *n = p.nentries;
    return INTFA_OK;
}

/* ------------------------------------------------------------------ verify */

intfa_status intfa_aot_entry_verify(const intfa_aot_entry *e, int *ok, char *why, size_t cap)
{
    if (!e || !ok)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_aot_entry_verify: %s is NULL",
                          !e ? "e" : "ok");
    if (!why && cap > 0)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_aot_entry_verify: why is NULL "
                          "with cap = %zu", cap);
    char reason[512] = "";
    intfa_variant v;
    int same = 1;
    if (!e->name || !e->target || !e->key || !e->sha256 || !e->cubin || e->size == 0) {
        snprintf(reason, sizeof reason, "incomplete entry");
    } else if (intfa_variant_parse(e->name, &v) != INTFA_OK ||
               intfa_variant_check(&v) != INTFA_OK) {
        snprintf(reason, sizeof reason, "not a valid variant: %.400s", intfa_last_error());
    } else if (strcmp(e->target, intfa_arch_name(v.arch)) != 0) {
        snprintf(reason, sizeof reason, "target %.32s, but the name is a variant for %s",
                 e->target, intfa_arch_name(v.arch));
    } else {
        unsigned char digest[INTFA_SHA256_BYTES];
        char sha[INTFA_AOT_HEX_CHARS + 1];
        intfa_sha256_buffer(e->cubin, e->size, digest);
        intfa_hex(digest, sizeof digest, sha);
        intfa_aot_entry made;
        intfa_status st;
        if (strcmp(sha, e->sha256) != 0) {
            snprintf(reason, sizeof reason, "the cubin's bytes do not match its SHA-256");
        } else if ((st = intfa_aot_entry_built_here(e, &same, reason, sizeof reason)) !=
                   INTFA_OK) {
            return st;
        } else if (same) {
            /* The key of the source rendered now (make also hashes the bytes again: cheap). */
            if ((st = intfa_aot_entry_make(&v, e->cubin, e->size, &made)) != INTFA_OK)
                return st;
            if (strcmp(made.key, e->key) != 0)
                snprintf(reason, sizeof reason, "key differs: the variant's source as rendered "
                         "now (or the compile options) is not what the cubin was built from");
            intfa_aot_entry_release(&made);
        }
    }
    if (cap > 0)
        snprintf(why, cap, "%s", reason);
    *ok = reason[0] == '\0';
    return INTFA_OK;
}
