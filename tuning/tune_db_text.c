/* tune_db_text.c - the tuning database's text form: a strict line parser and the writer
 * (format in tune_db.h and docs/TUNING.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "tune_db.h"

#define MAGIC "intfa-tuning-db"
#define MAX_TOKENS 12

enum { K_GPU, K_SM, K_CC, K_DRIVER, K_NVRTC, K_LIBRARY, K_COUNT };
static const char *const header_keys[K_COUNT] = {"gpu", "sm_count", "compute_capability",
                                                 "driver", "nvrtc", "library"};

typedef struct parser {
    const char *origin;
    size_t line;
    int have_magic;
    int in_section;       /* a [device] line was seen */
    size_t section_line;
    unsigned seen;        /* header keys seen in the current section, bit per K_* */
    intfa_tune_key key;
    intfa_tune_db db;
} parser;

static intfa_status corrupt(const parser *p, const char *fmt, const char *arg)
{
    char what[256];
    snprintf(what, sizeof what, fmt, arg);
    return intfa_fail(INTFA_ERR_CORRUPT, "%s:%zu: %s", p->origin, p->line, what);
}

/* A decimal integer of 1..9 digits, nothing else. */
static int parse_int(const char *s, int *out)
{
    size_t n = strlen(s);
    if (n == 0 || n > 9 || strspn(s, "0123456789") != n) return -1;
    *out = atoi(s);
    return 0;
}

/* A time in ms: 1..7 digits, optionally '.' and 1..9 digits; > 0. Locale-independent. */
static int parse_ms(const char *s, double *out)
{
    size_t ni = strspn(s, "0123456789");
    if (ni == 0 || ni > 7) return -1;
    double v = 0, scale = 1;
    for (size_t i = 0; i < ni; i++) v = v * 10 + (s[i] - '0');
    const char *f = s + ni;
    if (*f == '.') {
        size_t nf = strspn(f + 1, "0123456789");
        if (nf == 0 || nf > 9 || f[1 + nf]) return -1;
        double frac = 0;
        for (size_t i = 1; i <= nf; i++, scale *= 10) frac = frac * 10 + (f[i] - '0');
        v += frac / scale;
    } else if (*f) {
        return -1;
    }
    if (!(v > 0)) return -1;
    *out = v;
    return 0;
}

/* Splits s at blanks in place; returns the number of tokens (MAX_TOKENS + 1 if more). */
static size_t split(char *s, char **tok)
{
    size_t n = 0;
    for (char *save = NULL, *t = strtok_r(s, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
        if (n == MAX_TOKENS) return MAX_TOKENS + 1;
        tok[n++] = t;
    }
    return n;
}

static intfa_status header_line(parser *p, char *line, char *eq)
{
    char *name = line, *value = eq + 1;
    *eq = '\0';
    for (char *e = eq; e > name && (e[-1] == ' ' || e[-1] == '\t'); e--) e[-1] = '\0';
    value += strspn(value, " \t");
    int k = 0;
    while (k < K_COUNT && strcmp(name, header_keys[k]) != 0) k++;
    if (k == K_COUNT) return corrupt(p, "unknown header field \"%.40s\"", name);
    if (p->seen & (1u << k)) return corrupt(p, "header field \"%s\" given twice", header_keys[k]);
    intfa_tune_key *key = &p->key;
    int bad = 0;
    switch (k) {
    case K_GPU:
        bad = strlen(value) >= sizeof key->gpu;
        if (!bad) strcpy(key->gpu, value);
        break;
    case K_LIBRARY:
        bad = strlen(value) >= sizeof key->library;
        if (!bad) strcpy(key->library, value);
        break;
    case K_SM: bad = parse_int(value, &key->sm_count); break;
    case K_DRIVER: bad = parse_int(value, &key->driver_version); break;
    case K_NVRTC: bad = parse_int(value, &key->nvrtc_version); break;
    default: {
        char *dot = strchr(value, '.');
        bad = !dot || dot[1] == '\0' || dot[2] != '\0';
        if (!bad) {
            *dot = '\0';
            bad = parse_int(value, &key->cc_major) || parse_int(dot + 1, &key->cc_minor);
        }
    }
    }
    if (bad) return corrupt(p, "bad value for header field \"%s\"", header_keys[k]);
    p->seen |= 1u << k;
    if (p->seen != (1u << K_COUNT) - 1) return INTFA_OK;
    /* the header is complete: the section exists from here on, even with no entries */
    if (intfa_tune_key_check(&p->key) != INTFA_OK) return corrupt(p, "%s", intfa_last_error());
    if (intfa_tune_db_find(&p->db, &p->key)) return corrupt(p, "%s", "a second section for the same device key");
    intfa_tune_section empty = {p->key, NULL, 0, 0};
    intfa_status st = intfa_tune_db_put_section(&p->db, &empty, NULL);
    return st == INTFA_ERR_OUT_OF_MEMORY ? st : st != INTFA_OK ? corrupt(p, "%s", intfa_last_error()) : st;
}

/* The names of the header fields missing from the current section, for messages. */
static void missing_fields(const parser *p, char *buf, size_t cap)
{
    buf[0] = '\0';
    for (int k = 0; k < K_COUNT; k++)
        if (!(p->seen & (1u << k)))
            snprintf(buf + strlen(buf), cap - strlen(buf), "%s%s", buf[0] ? ", " : "", header_keys[k]);
}

static intfa_status check_section_complete(const parser *p)
{
    if (!p->in_section || p->seen == (1u << K_COUNT) - 1) return INTFA_OK;
    char missing[128];
    missing_fields(p, missing, sizeof missing);
    return intfa_fail(INTFA_ERR_CORRUPT, "%s:%zu: the section starting here lacks header field(s) %s",
                      p->origin, p->section_line, missing);
}

static intfa_status variant_token(const parser *p, const char *tok, const intfa_tune_class *c,
                                  intfa_variant *v)
{
    if (intfa_variant_parse(tok, v) != INTFA_OK) return corrupt(p, "%s", intfa_last_error());
    if (!intfa_tune_class_admits(c, v))
        return corrupt(p, "variant %.128s does not belong to the line's class", tok);
    return INTFA_OK;
}

static intfa_status entry_line(parser *p, char *line)
{
    if (!p->in_section) return corrupt(p, "%s", "an entry outside a [device] section");
    if (p->seen != (1u << K_COUNT) - 1) {
        char missing[128];
        missing_fields(p, missing, sizeof missing);
        return corrupt(p, "an entry before the section's header is complete (missing %s)", missing);
    }
    char *tok[MAX_TOKENS];
    const size_t n = split(line, tok);
    if (n != 8 && n != 10)
        return corrupt(p, "%s", "an entry has 8 fields (class: 6, winner, ms) or 10 (and runner-up, ms)");
    intfa_tune_entry e;
    memset(&e, 0, sizeof e);
    if (intfa_tune_class_parse((const char *const *)tok, &e.cls) != INTFA_OK)
        return corrupt(p, "%s", intfa_last_error());
    intfa_status st = variant_token(p, tok[6], &e.cls, &e.winner);
    if (st != INTFA_OK) return st;
    if (parse_ms(tok[7], &e.ms)) return corrupt(p, "bad time \"%.40s\" (ms, > 0)", tok[7]);
    if (n == 10) {
        e.has_runner_up = 1;
        if ((st = variant_token(p, tok[8], &e.cls, &e.runner_up)) != INTFA_OK) return st;
        if (parse_ms(tok[9], &e.runner_ms)) return corrupt(p, "bad time \"%.40s\" (ms, > 0)", tok[9]);
    }
    const intfa_tune_section *s = intfa_tune_db_find(&p->db, &p->key);
    if (intfa_tune_section_find(s, &e.cls)) return corrupt(p, "%s", "a second entry for the same class");
    st = intfa_tune_db_put(&p->db, &p->key, &e);
    return st == INTFA_ERR_OUT_OF_MEMORY || st == INTFA_OK ? st : corrupt(p, "%s", intfa_last_error());
}

static intfa_status parse_line(parser *p, char *line)
{
    line += strspn(line, " \t");
    for (size_t n = strlen(line); n > 0 && strchr(" \t\r", line[n - 1]); n--) line[n - 1] = '\0';
    if (line[0] == '\0' || line[0] == '#') return INTFA_OK;
    if (!p->have_magic) {
        char *tok[MAX_TOKENS];
        size_t n = split(line, tok);
        int version = 0;
        if (n != 2 || strcmp(tok[0], MAGIC) != 0 || parse_int(tok[1], &version))
            return corrupt(p, "%s", "not an intfa tuning database (the first line must be \"" MAGIC " 1\")");
        if (version != INTFA_TUNE_DB_FORMAT)
            return corrupt(p, "format version %s: this library reads version 1", tok[1]);
        p->have_magic = 1;
        return INTFA_OK;
    }
    if (strcmp(line, "[device]") == 0) {
        intfa_status st = check_section_complete(p);
        if (st != INTFA_OK) return st;
        p->in_section = 1;
        p->section_line = p->line;
        p->seen = 0;
        memset(&p->key, 0, sizeof p->key);
        return INTFA_OK;
    }
    if (line[0] == '[') return corrupt(p, "unknown section \"%.40s\"", line);
    /* "name = value" with a lowercase identifier as name; entries have '=' only in "kv<=" */
    const size_t name_len = strspn(line, "abcdefghijklmnopqrstuvwxyz_");
    const size_t eq_at = name_len + strspn(line + name_len, " \t");
    if (name_len > 0 && line[eq_at] == '=') {
        if (!p->in_section) return corrupt(p, "%s", "a header field outside a [device] section");
        return header_line(p, line, line + eq_at);
    }
    return entry_line(p, line);
}

intfa_status intfa_tune_db_parse(const char *text, size_t len, const char *origin, intfa_tune_db *out)
{
    if ((!text && len) || !out)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "tuning db parse: %s is NULL", !out ? "out" : "text");
    parser p;
    memset(&p, 0, sizeof p);
    p.origin = origin ? origin : "tuning database";
    intfa_tune_db_init(&p.db);
    char line[INTFA_TUNE_DB_LINE_MAX + 1];
    intfa_status st = INTFA_OK;
    for (size_t at = 0; at < len && st == INTFA_OK;) {
        const char *nl = memchr(text + at, '\n', len - at);
        const size_t n = (nl ? (size_t)(nl - text) : len) - at;
        p.line++;
        if (n > INTFA_TUNE_DB_LINE_MAX) {
            st = corrupt(&p, "%s", "line too long");
        } else if (memchr(text + at, '\0', n)) {
            st = corrupt(&p, "%s", "a NUL byte (binary data)");
        } else {
            memcpy(line, text + at, n);
            line[n] = '\0';
            st = parse_line(&p, line);
        }
        at += n + 1;
    }
    if (st == INTFA_OK) st = check_section_complete(&p);
    if (st != INTFA_OK) {
        intfa_tune_db_free(&p.db);
        return st;
    }
    *out = p.db;
    return INTFA_OK;
}

/* ------------------------------------------------------------------ writer */

/* ms with 6 decimals, by integer arithmetic (no locale). */
static void put_ms(FILE *f, double ms)
{
    long long ns = (long long)(ms * 1e6 + 0.5);
    if (ns < 1) ns = 1;
    fprintf(f, " %lld.%06lld", ns / 1000000, ns % 1000000);
}

static void put_variant(FILE *f, const intfa_variant *v)
{
    char name[INTFA_VARIANT_NAME_MAX];
    if (intfa_variant_name(v, name, sizeof name) != INTFA_OK) strcpy(name, "?");
    fprintf(f, " %s", name);
}

intfa_status intfa_tune_db_format(const intfa_tune_db *db, char **text, size_t *len)
{
    if (!db || !text || !len)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "tuning db format: %s is NULL",
                          !db ? "db" : !text ? "text" : "len");
    for (size_t i = 0; i < db->count; i++) {
        intfa_status st = intfa_tune_key_check(&db->sections[i].key);
        for (size_t j = 0; j < db->sections[i].count && st == INTFA_OK; j++)
            st = intfa_tune_entry_check(&db->sections[i].entries[j]);
        if (st != INTFA_OK) return intfa_fail_wrap(st, "tuning db format: section %zu", i + 1);
    }
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    if (!f) return intfa_fail(INTFA_ERR_OUT_OF_MEMORY, "tuning db format: out of host memory");
    fprintf(f, "# intfa tuning database: one [device] section per device key (docs/TUNING.md).\n"
               "# Entries: class (head_dim qk_format out_dtype mask p_quant seq_kv_bucket), "
               "winner, median ms[, runner-up, median ms].\n"
               MAGIC " %d\n", INTFA_TUNE_DB_FORMAT);
    for (size_t i = 0; i < db->count; i++) {
        const intfa_tune_section *s = &db->sections[i];
        fprintf(f, "\n[device]\ngpu = %s\nsm_count = %d\ncompute_capability = %d.%d\ndriver = %d\n"
                   "nvrtc = %d\nlibrary = %s\n", s->key.gpu, s->key.sm_count, s->key.cc_major,
                s->key.cc_minor, s->key.driver_version, s->key.nvrtc_version, s->key.library);
        for (size_t j = 0; j < s->count; j++) {
            const intfa_tune_entry *e = &s->entries[j];
            char cls[INTFA_TUNE_CLASS_TEXT_MAX];
            intfa_tune_class_format(&e->cls, cls, sizeof cls);
            fputs(cls, f);
            put_variant(f, &e->winner);
            put_ms(f, e->ms);
            if (e->has_runner_up) {
                put_variant(f, &e->runner_up);
                put_ms(f, e->runner_ms);
            }
            fputc('\n', f);
        }
    }
    if (fclose(f) != 0 || !buf) {
        free(buf);
        return intfa_fail(INTFA_ERR_OUT_OF_MEMORY, "tuning db format: out of host memory");
    }
    *text = buf;
    *len = size;
    return INTFA_OK;
}
