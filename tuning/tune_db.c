/* tune_db.c - the tuning database in memory: keys, sections, entries and their merges. The
 * text form is in tune_db_text.c, files in tune_db_file.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "tune_db.h"

void intfa_tune_db_init(intfa_tune_db *db)
{
    db->sections = NULL;
    db->count = db->cap = 0;
}

void intfa_tune_db_free(intfa_tune_db *db)
{
    if (!db) return;
    for (size_t i = 0; i < db->count; i++) free(db->sections[i].entries);
    free(db->sections);
    intfa_tune_db_init(db);
}

/* 1 if s holds 1..cap-1 printable characters followed by a NUL. */
static int printable(const char *s, size_t cap, int blanks)
{
    size_t n = strnlen(s, cap);
    if (n == 0 || n == cap) return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch == 0x7f || (!blanks && ch == ' ')) return 0;
    }
    return 1;
}

intfa_status intfa_tune_key_check(const intfa_tune_key *k)
{
    if (!k) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "tuning key is NULL");
    if (!printable(k->gpu, sizeof k->gpu, 1) || k->gpu[0] == ' ' || k->gpu[strlen(k->gpu) - 1] == ' ')
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "tuning key: gpu name \"%.64s\" is empty, too long, "
                          "not printable or has leading/trailing blanks", k->gpu);
    if (!printable(k->library, sizeof k->library, 0))
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "tuning key: library version \"%.32s\" is empty, "
                          "too long or has blanks", k->library);
    if (k->sm_count <= 0 || k->cc_major <= 0 || k->cc_minor < 0 || k->cc_minor > 9 ||
        k->driver_version <= 0 || k->nvrtc_version <= 0)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "tuning key: sm_count = %d, compute capability "
                          "%d.%d, driver %d, nvrtc %d: each must be > 0 (minor 0..9)", k->sm_count,
                          k->cc_major, k->cc_minor, k->driver_version, k->nvrtc_version);
    return INTFA_OK;
}

int intfa_tune_key_equal(const intfa_tune_key *a, const intfa_tune_key *b)
{
    return strcmp(a->gpu, b->gpu) == 0 && a->sm_count == b->sm_count && a->cc_major == b->cc_major &&
           a->cc_minor == b->cc_minor && a->driver_version == b->driver_version &&
           a->nvrtc_version == b->nvrtc_version && strcmp(a->library, b->library) == 0;
}

void intfa_tune_key_describe(const intfa_tune_key *k, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s, %d SMs, cc %d.%d, driver %d, nvrtc %d, intfa %s", k->gpu, k->sm_count,
             k->cc_major, k->cc_minor, k->driver_version, k->nvrtc_version, k->library);
}

const intfa_tune_section *intfa_tune_db_find(const intfa_tune_db *db, const intfa_tune_key *key)
{
    for (size_t i = 0; i < db->count; i++)
        if (intfa_tune_key_equal(&db->sections[i].key, key)) return &db->sections[i];
    return NULL;
}

const intfa_tune_entry *intfa_tune_section_find(const intfa_tune_section *s, const intfa_tune_class *c)
{
    for (size_t i = 0; i < s->count; i++)
        if (intfa_tune_class_equal(&s->entries[i].cls, c)) return &s->entries[i];
    return NULL;
}

static int good_ms(double ms) { return isfinite(ms) && ms > 0 && ms <= 1e7; }

intfa_status intfa_tune_entry_check(const intfa_tune_entry *e)
{
    if (!e) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "tuning entry is NULL");
    intfa_status st = intfa_tune_class_check(&e->cls);
    if (st != INTFA_OK) return st;
    char name[INTFA_VARIANT_NAME_MAX];
    if (!intfa_tune_class_admits(&e->cls, &e->winner) ||
        intfa_variant_name(&e->winner, name, sizeof name) != INTFA_OK)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "tuning entry: the winner is not an attention "
                          "variant of the entry's class");
    if (e->has_runner_up && (!intfa_tune_class_admits(&e->cls, &e->runner_up) ||
                             intfa_variant_name(&e->runner_up, name, sizeof name) != INTFA_OK))
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "tuning entry: the runner-up is not an "
                          "attention variant of the entry's class");
    if (!good_ms(e->ms) || (e->has_runner_up && !good_ms(e->runner_ms)))
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "tuning entry: median %g ms / runner-up %g ms: "
                          "must be finite, > 0 and <= 1e7", e->ms, e->has_runner_up ? e->runner_ms : 1.0);
    return INTFA_OK;
}

/* Room for one more element of size sz in *arr (count, *cap); 0 or -1 (out of memory). */
static int grow(void **arr, size_t count, size_t *cap, size_t sz)
{
    if (count < *cap) return 0;
    size_t n = *cap ? 2 * *cap : 8;
    void *p = realloc(*arr, n * sz);
    if (!p) return -1;
    *arr = p;
    *cap = n;
    return 0;
}

static intfa_tune_section *find_mut(intfa_tune_db *db, const intfa_tune_key *key)
{
    return (intfa_tune_section *)intfa_tune_db_find(db, key);
}

intfa_status intfa_tune_db_put(intfa_tune_db *db, const intfa_tune_key *key, const intfa_tune_entry *e)
{
    if (!db) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "tuning db is NULL");
    intfa_status st = intfa_tune_key_check(key);
    if (st == INTFA_OK) st = intfa_tune_entry_check(e);
    if (st != INTFA_OK) return st;
    intfa_tune_section *s = find_mut(db, key);
    const int fresh = s == NULL; /* a new section is counted once its entry is in */
    if (fresh) {
        if (db->count >= INTFA_TUNE_DB_MAX_SECTIONS)
            return intfa_fail(INTFA_ERR_UNSUPPORTED, "tuning db: more than %d sections", INTFA_TUNE_DB_MAX_SECTIONS);
        if (grow((void **)&db->sections, db->count, &db->cap, sizeof *db->sections))
            return intfa_fail(INTFA_ERR_OUT_OF_MEMORY, "tuning db: out of host memory");
        s = &db->sections[db->count];
        memset(s, 0, sizeof *s);
        s->key = *key;
    }
    intfa_tune_entry *old = (intfa_tune_entry *)intfa_tune_section_find(s, &e->cls);
    if (old) {
        *old = *e;
        return INTFA_OK;
    }
    if (s->count >= INTFA_TUNE_DB_MAX_ENTRIES)
        return intfa_fail(INTFA_ERR_UNSUPPORTED, "tuning db: more than %d entries in a section",
                          INTFA_TUNE_DB_MAX_ENTRIES);
    if (grow((void **)&s->entries, s->count, &s->cap, sizeof *s->entries))
        return intfa_fail(INTFA_ERR_OUT_OF_MEMORY, "tuning db: out of host memory");
    s->entries[s->count++] = *e;
    if (fresh) db->count++;
    return INTFA_OK;
}

intfa_status intfa_tune_db_put_section(intfa_tune_db *db, const intfa_tune_section *s, int *replaced)
{
    if (!db || !s) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "tuning db: %s is NULL", !db ? "db" : "section");
    intfa_status st = intfa_tune_key_check(&s->key);
    for (size_t i = 0; i < s->count && st == INTFA_OK; i++) st = intfa_tune_entry_check(&s->entries[i]);
    if (st != INTFA_OK) return st;
    intfa_tune_section copy = {s->key, NULL, s->count, s->count};
    if (s->count) {
        copy.entries = malloc(s->count * sizeof *copy.entries);
        if (!copy.entries) return intfa_fail(INTFA_ERR_OUT_OF_MEMORY, "tuning db: out of host memory");
        memcpy(copy.entries, s->entries, s->count * sizeof *copy.entries);
    }
    intfa_tune_section *old = find_mut(db, &s->key);
    if (!old && (db->count >= INTFA_TUNE_DB_MAX_SECTIONS ||
                 grow((void **)&db->sections, db->count, &db->cap, sizeof *db->sections))) {
        free(copy.entries);
        return db->count >= INTFA_TUNE_DB_MAX_SECTIONS
                   ? intfa_fail(INTFA_ERR_UNSUPPORTED, "tuning db: more than %d sections", INTFA_TUNE_DB_MAX_SECTIONS)
                   : intfa_fail(INTFA_ERR_OUT_OF_MEMORY, "tuning db: out of host memory");
    }
    if (replaced) *replaced = old != NULL;
    if (old) {
        free(old->entries);
        *old = copy;
    } else {
        db->sections[db->count++] = copy;
    }
    return INTFA_OK;
}

intfa_status intfa_tune_db_remove(intfa_tune_db *db, const intfa_tune_key *key, int *removed)
{
    if (!db || !key) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "tuning db: %s is NULL", !db ? "db" : "key");
    intfa_tune_section *s = find_mut(db, key);
    if (removed) *removed = s != NULL;
    if (!s) return INTFA_OK;
    free(s->entries);
    size_t i = (size_t)(s - db->sections);
    memmove(s, s + 1, (db->count - i - 1) * sizeof *s);
    db->count--;
    return INTFA_OK;
}
