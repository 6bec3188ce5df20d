/* test_aot_emit.c - the generated table's C source: every byte value survives the text and
 * the read back, the text is the same for any order of the entries, bad input is refused,
 * damaged text is named with its line, the files are written whole, and an entry is checked
 * against the generator (fresh; stale after a changed key, byte, version, target or name).
 * Entries carry made-up cubins: nothing is compiled; rendering runs. No GPU. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aot_emit.h"
#include "cache_fixture.h"

#define N_ENTRIES 3
static const char *const names[N_ENTRIES] = {
    "quant_v-sm86-d128-fp16-w4",           /* out of order on purpose */
    "attn_fwd-sm90a-d64-int8-bf16-full-pu8-m128n128w8s2",
    "quant_qk-sm80-d64-int8-fp16-w4",
};

/* A made-up cubin of n bytes with every byte value, digits after non-alphanumeric bytes (so
 * escapes must stop at three digits), quotes, backslashes and '?' (trigraphs). */
static unsigned char *fake_cubin(size_t n, unsigned seed)
{
    static const char tricky[] = "\\\"?\?/?\?=0\0017\1778\377a?";
    unsigned char *b = malloc(n);
    assert_non_null(b);
    for (size_t i = 0; i < n; i++)
        b[i] = i < sizeof tricky ? (unsigned char)tricky[i] : (unsigned char)(i * 7 + seed);
    return b;
}

typedef struct made {
    intfa_aot_entry e[N_ENTRIES];
} made;

static void make_all(made *m)
{
    for (int i = 0; i < N_ENTRIES; i++) {
        size_t n = 300 + 97 * (size_t)i; /* not a multiple of a line */
        unsigned char *bin = fake_cubin(n, (unsigned)i);
        intfa_variant v = fixture_variant(names[i]);
        assert_int_equal(intfa_aot_entry_make(&v, bin, n, &m->e[i]), INTFA_OK);
        free(bin);
    }
}

static void release_all(made *m)
{
    for (int i = 0; i < N_ENTRIES; i++)
        intfa_aot_entry_release(&m->e[i]);
}

static void emit(const intfa_aot_entry *e, size_t n, char **c, size_t *cn, char **h, size_t *hn)
{
    assert_int_equal(intfa_aot_emit_text(e, n, c, cn, h, hn), INTFA_OK);
    assert_int_equal(strlen(*c), *cn);
    assert_int_equal(strlen(*h), *hn);
}

static void test_round_trip_keeps_every_byte_and_field(void **state)
{
    (void)state;
    made m;
    make_all(&m);
    char *c, *h;
    size_t cn, hn;
    emit(m.e, N_ENTRIES, &c, &cn, &h, &hn);
    intfa_aot_entry *back = NULL;
    size_t n = 0;
    assert_int_equal(intfa_aot_parse(c, cn, "t.c", &back, &n), INTFA_OK);
    assert_int_equal(n, N_ENTRIES);
    /* sorted by name: attn_fwd, quant_qk, quant_v */
    const int order[N_ENTRIES] = {1, 2, 0};
    for (int i = 0; i < N_ENTRIES; i++) {
        const intfa_aot_entry *want = &m.e[order[i]], *got = &back[i];
        assert_string_equal(got->name, want->name);
        assert_string_equal(got->target, want->target);
        assert_string_equal(got->library_version, want->library_version);
        assert_true(got->template_hash == want->template_hash);
        assert_int_equal(got->nvrtc_version, want->nvrtc_version);
        assert_string_equal(got->key, want->key);
        assert_string_equal(got->sha256, want->sha256);
        assert_int_equal(got->size, want->size);
        assert_memory_equal(got->cubin, want->cubin, want->size);
    }
    assert_non_null(strstr(h, "#define INTFA_AOT_TABLE_ENTRIES 3\n"));
    assert_non_null(strstr(h, "\"sm_80 sm_86 sm_90a\""));
    assert_null(strstr(c, "??")); /* no trigraph can form */
    intfa_aot_entries_free(back, n);
    free(c);
    free(h);
    release_all(&m);
}

static void test_text_is_independent_of_entry_order(void **state)
{
    (void)state;
    made m;
    make_all(&m);
    intfa_aot_entry rev[N_ENTRIES];
    for (int i = 0; i < N_ENTRIES; i++)
        rev[i] = m.e[N_ENTRIES - 1 - i];
    char *c1, *h1, *c2, *h2;
    size_t c1n, h1n, c2n, h2n;
    emit(m.e, N_ENTRIES, &c1, &c1n, &h1, &h1n);
    emit(rev, N_ENTRIES, &c2, &c2n, &h2, &h2n);
    assert_int_equal(c1n, c2n);
    assert_memory_equal(c1, c2, c1n);
    assert_string_equal(h1, h2);
    free(c1);
    free(h1);
    free(c2);
    free(h2);
    release_all(&m);
}

static void test_bad_entries_refused(void **state)
{
    (void)state;
    made m;
    make_all(&m);
    char *c = (char *)1, *h = (char *)1;
    size_t cn = 7, hn = 7;
    intfa_aot_entry twice[2] = {m.e[0], m.e[0]};
    assert_int_equal(intfa_aot_emit_text(twice, 2, &c, &cn, &h, &hn), INTFA_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(intfa_last_error(), "twice"));
    assert_int_equal(intfa_aot_emit_text(m.e, 0, &c, &cn, &h, &hn), INTFA_ERR_INVALID_ARGUMENT);
    intfa_aot_entry bad = m.e[0];
    bad.key = "ABCDEF";
    assert_int_equal(intfa_aot_emit_text(&bad, 1, &c, &cn, &h, &hn), INTFA_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(intfa_last_error(), "key"));
    bad = m.e[0];
    bad.name = "a\"b";
    assert_int_equal(intfa_aot_emit_text(&bad, 1, &c, &cn, &h, &hn), INTFA_ERR_INVALID_ARGUMENT);
    assert_int_equal(intfa_aot_emit_text(NULL, 1, &c, &cn, &h, &hn), INTFA_ERR_INVALID_ARGUMENT);
    assert_ptr_equal(c, (char *)1);
    assert_ptr_equal(h, (char *)1);
    assert_int_equal(cn, 7);

    intfa_aot_entry out;
    memset(&out, 0x5a, sizeof out);
    intfa_variant v = fixture_variant(names[0]);
    assert_int_equal(intfa_aot_entry_make(&v, "x", 0, &out), INTFA_ERR_INVALID_ARGUMENT);
    assert_int_equal(intfa_aot_entry_make(&v, NULL, 1, &out), INTFA_ERR_INVALID_ARGUMENT);
    v.head_dim = 72;
    assert_int_equal(intfa_aot_entry_make(&v, "x", 1, &out), INTFA_ERR_UNSUPPORTED);
    assert_int_equal(((unsigned char *)&out)[0], 0x5a);
    release_all(&m);
}

/* Parses text with the substring `from` replaced by `to` (first occurrence); the status. */
static intfa_status parse_edited(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);
    assert_non_null(at);
    size_t n = strlen(text) + strlen(to) + 1;
    char *edited = malloc(n);
    assert_non_null(edited);
    snprintf(edited, n, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    intfa_aot_entry *e = (intfa_aot_entry *)1;
    size_t count = 99;
    intfa_status st = intfa_aot_parse(edited, strlen(edited), "edited.c", &e, &count);
    if (st != INTFA_OK) {
        assert_ptr_equal(e, (intfa_aot_entry *)1);
        assert_int_equal(count, 99);
    } else {
        intfa_aot_entries_free(e, count);
    }
    free(edited);
    return st;
}

static void expect_corrupt(const char *text, const char *from, const char *to, const char *what)
{
    assert_int_equal(parse_edited(text, from, to), INTFA_ERR_CORRUPT);
    if (!strstr(intfa_last_error(), what) || !strstr(intfa_last_error(), "edited.c:"))
        fail_msg("replacing \"%s\": message \"%s\" lacks \"%s\"", from, intfa_last_error(), what);
}

static void test_damaged_text_named_with_its_line(void **state)
{
    (void)state;
    made m;
    make_all(&m);
    char *c, *h;
    size_t cn, hn;
    emit(m.e, 1, &c, &cn, &h, &hn);
    assert_int_equal(parse_edited(c, "#include", "#include"), INTFA_OK);
    expect_corrupt(c, "\\134", "\\434", "bad character");          /* not a byte */
    expect_corrupt(c, "\\134", "\\", "bad character");             /* cut escape */
    expect_corrupt(c, "\\134", "\\134\\134", "longer than declared");
    expect_corrupt(c, "\\134", "", "shorter than declared");
    expect_corrupt(c, "\\134", "\\134\"\nx", "expected a string line");
    expect_corrupt(c, "#if INTFA_AOT_FORMAT != 1", "#if INTFA_AOT_FORMAT != 2", "newer");
    expect_corrupt(c, "#if INTFA_AOT_FORMAT != 1", "", "not a generated table");
    expect_corrupt(c, "{INTFA_AOT_FORMAT, 1, entries}", "{INTFA_AOT_FORMAT, 2, entries}",
                   "counts");
    expect_corrupt(c, "const intfa_aot_table", "", "truncated");
    expect_corrupt(c, "ULL, ", "ULL ", "malformed entry");
    expect_corrupt(c, ", cubin_0, ", ", cubin_1, ", "own index");
    expect_corrupt(c, "cubin_0[", "cubin_3[", "out of sequence");
    /* cut after the first line of the cubin */
    intfa_aot_entry *e = (intfa_aot_entry *)1;
    size_t n = 99;
    const char *cut = strchr(strstr(c, "\\134"), '\n') + 1;
    assert_int_equal(intfa_aot_parse(c, (size_t)(cut - c), "cut.c", &e, &n), INTFA_ERR_CORRUPT);
    assert_non_null(strstr(intfa_last_error(), "truncated"));
    assert_ptr_equal(e, (intfa_aot_entry *)1);
    assert_int_equal(intfa_aot_parse(NULL, 0, "x", &e, &n), INTFA_ERR_INVALID_ARGUMENT);
    free(c);
    free(h);
    release_all(&m);
}

static void test_files_written_whole(void **state)
{
    (void)state;
    char *dir = fixture_mkdtemp("aot-emit");
    made m;
    make_all(&m);
    assert_int_equal(intfa_aot_emit_files(dir, m.e, N_ENTRIES), INTFA_OK);
    assert_int_equal(intfa_aot_emit_files(dir, m.e, N_ENTRIES), INTFA_OK); /* replaces */
    assert_int_equal(fixture_count_files(dir, ""), 2);
    char *c, *h, path[4200];
    size_t cn, hn, size;
    emit(m.e, N_ENTRIES, &c, &cn, &h, &hn);
    snprintf(path, sizeof path, "%s/" INTFA_AOT_TABLE_C, dir);
    char *file = fixture_read_file(path, &size);
    assert_int_equal(size, cn);
    assert_memory_equal(file, c, cn);
    free(file);
    snprintf(path, sizeof path, "%s/" INTFA_AOT_TABLE_H, dir);
    file = fixture_read_file(path, &size);
    assert_int_equal(size, hn);
    assert_memory_equal(file, h, hn);
    free(file);
    snprintf(path, sizeof path, "%s/missing", dir);
    assert_int_equal(intfa_aot_emit_files(path, m.e, N_ENTRIES), INTFA_ERR_IO);
    assert_non_null(strstr(intfa_last_error(), path));
    free(c);
    free(h);
    release_all(&m);
    fixture_rmtree(dir);
    free(dir);
}

static void expect_verify(const intfa_aot_entry *e, int want_ok, const char *why_word)
{
    int ok = -1;
    char why[512];
    assert_int_equal(intfa_aot_entry_verify(e, &ok, why, sizeof why), INTFA_OK);
    if (ok != want_ok || (why_word && !strstr(why, why_word)))
        fail_msg("%s: ok = %d (want %d), why \"%s\" (want \"%s\")", e->name, ok, want_ok, why,
                 why_word ? why_word : "");
}

static void test_verify_against_the_generator(void **state)
{
    (void)state;
    made m;
    make_all(&m);
    for (int i = 0; i < N_ENTRIES; i++)
        expect_verify(&m.e[i], 1, NULL);
    intfa_aot_entry e = m.e[1];
    char key[INTFA_AOT_HEX_CHARS + 1];
    snprintf(key, sizeof key, "%s", e.key);
    key[10] = key[10] == '0' ? '1' : '0';
    e.key = key;
    expect_verify(&e, 0, "key differs");
    e = m.e[1];
    unsigned char *bin = malloc(e.size);
    assert_non_null(bin);
    memcpy(bin, e.cubin, e.size);
    bin[e.size / 2] ^= 0x40;
    e.cubin = bin;
    expect_verify(&e, 0, "SHA-256");
    free(bin);
    /* another library, target, name; the same cubin under another variant's name has that
     * variant's key, not this one */
    static const struct {
        int base;
        const char *name, *target, *library, *why;
    } changed[] = {
        {1, NULL, NULL, "9.9.9", "intfa 9.9.9"},
        {1, NULL, "sm_90", NULL, "target sm_90"},
        {1, "attn_fwd-sm90a-d64-int8-bf16-full-pu8-m128n128w8s9", NULL, NULL, "not a valid variant"},
        {0, "quant_v-sm86-d128-bf16-w4", NULL, NULL, "key differs"},
    };
    for (size_t i = 0; i < sizeof changed / sizeof changed[0]; i++) {
        e = m.e[changed[i].base];
        e.name = changed[i].name ? changed[i].name : e.name;
        e.target = changed[i].target ? changed[i].target : e.target;
        e.library_version = changed[i].library ? changed[i].library : e.library_version;
        expect_verify(&e, 0, changed[i].why);
    }
    int ok = 5;
    assert_int_equal(intfa_aot_entry_verify(NULL, &ok, NULL, 0), INTFA_ERR_INVALID_ARGUMENT);
    assert_int_equal(intfa_aot_entry_verify(&m.e[0], &ok, NULL, 8), INTFA_ERR_INVALID_ARGUMENT);
    assert_int_equal(ok, 5);
    release_all(&m);
}

int main(void)
{
    setenv("INTFA_TEMPLATE_DIR", "", 1); /* the embedded templates, as a table's build */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_keeps_every_byte_and_field),
        cmocka_unit_test(test_text_is_independent_of_entry_order),
        cmocka_unit_test(test_bad_entries_refused),
        cmocka_unit_test(test_damaged_text_named_with_its_line),
        cmocka_unit_test(test_files_written_whole),
        cmocka_unit_test(test_verify_against_the_generator),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
