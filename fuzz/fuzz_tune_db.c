/* fuzz_tune_db.c - libFuzzer harness: the tuning database's text parser
 * (intfa_tune_db_parse, tuning/tune_db_text.c) on arbitrary bytes.
 *
 * Oracle: a rejected text is INTFA_ERR_CORRUPT (or out of memory) with a message naming the
 * line, and the output database untouched. An accepted one formats, the formatted text parses
 * again to the same sections, entries, classes and variants, and formatting that gives the
 * same text (the writer's text is a fixed point). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "tune_db.h"

static void check_same(const intfa_tune_db *a, const intfa_tune_db *b)
{
    FUZZ_CHECK(a->count == b->count, "%zu sections became %zu", a->count, b->count);
    for (size_t i = 0; i < a->count; i++) {
        const intfa_tune_section *s = &a->sections[i], *t = &b->sections[i];
        FUZZ_CHECK(intfa_tune_key_equal(&s->key, &t->key), "section %zu: the key changed", i);
        FUZZ_CHECK(s->count == t->count, "section %zu: %zu entries became %zu", i, s->count, t->count);
        for (size_t j = 0; j < s->count; j++) {
            const intfa_tune_entry *e = &s->entries[j], *f = &t->entries[j];
            FUZZ_CHECK(intfa_tune_class_equal(&e->cls, &f->cls) &&
                           memcmp(&e->winner, &f->winner, sizeof e->winner) == 0 &&
                           e->has_runner_up == f->has_runner_up &&
                           (!e->has_runner_up ||
                            memcmp(&e->runner_up, &f->runner_up, sizeof e->runner_up) == 0),
                       "section %zu, entry %zu changed in the round trip", i, j);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    intfa_tune_db db, sentinel;
    memset(&sentinel, 0x5a, sizeof sentinel);
    db = sentinel;
    intfa_status st = intfa_tune_db_parse((const char *)data, size, "fuzz", &db);
    if (st != INTFA_OK) {
        FUZZ_CHECK(st == INTFA_ERR_CORRUPT || st == INTFA_ERR_OUT_OF_MEMORY,
                   "rejected with status %d", (int)st);
        FUZZ_CHECK(strncmp(intfa_last_error(), "fuzz:", 5) == 0,
                   "the message \"%s\" does not name the origin and line", intfa_last_error());
        FUZZ_CHECK(memcmp(&db, &sentinel, sizeof db) == 0, "a rejected text changed the output");
        return 0;
    }
    char *text = NULL, *text2 = NULL;
    size_t len = 0, len2 = 0;
    st = intfa_tune_db_format(&db, &text, &len);
    FUZZ_CHECK(st == INTFA_OK, "an accepted database does not format: %s", intfa_last_error());
    intfa_tune_db again;
    st = intfa_tune_db_parse(text, len, "formatted", &again);
    FUZZ_CHECK(st == INTFA_OK, "the formatted database does not parse: %s\n%s", intfa_last_error(), text);
    check_same(&db, &again);
    st = intfa_tune_db_format(&again, &text2, &len2);
    FUZZ_CHECK(st == INTFA_OK && len == len2 && memcmp(text, text2, len) == 0,
               "formatting is not a fixed point:\n%s\n---\n%s", text, text2 ? text2 : "");
    free(text);
    free(text2);
    intfa_tune_db_free(&again);
    intfa_tune_db_free(&db);
    return 0;
}
