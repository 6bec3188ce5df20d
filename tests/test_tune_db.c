/* test_tune_db.c - the tuning database: text and file round trips, atomic replacement, the
 * strict parser (each malformation named, truncations and garbage never crash), sections of
 * other devices or library versions ignored with a note, the bf16 fallback to fp16 winners,
 * import/export merges and the file's location. CPU only. */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../tuning/tune_db_file.h"
#include "../tuning/tune_state.h"

static char dir[256];

static int make_dir(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/intfa-tune-db-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static intfa_tune_key key_of(const char *gpu, const char *library)
{
    intfa_tune_key k;
    memset(&k, 0, sizeof k);
    snprintf(k.gpu, sizeof k.gpu, "%s", gpu);
    k.sm_count = 132;
    k.cc_major = 9;
    k.cc_minor = 0;
    k.driver_version = 13000;
    k.nvrtc_version = 12080;
    snprintf(k.library, sizeof k.library, "%s", library);
    return k;
}

static intfa_tune_entry entry_of(int d, int causal, intfa_dtype dt, intfa_tune_bucket b, int bn, int stages,
                                 double ms, int runner)
{
    intfa_tune_entry e;
    memset(&e, 0, sizeof e);
    e.cls = (intfa_tune_class){d, INTFA_FMT_INT8, dt, causal, INTFA_PQ_U8_ROW, b};
    const char *dts = dt == INTFA_DTYPE_BF16 ? "bf16" : "fp16", *mask = causal ? "causal" : "full";
    char name[INTFA_VARIANT_NAME_MAX];
    snprintf(name, sizeof name, "attn_fwd-sm90a-d%d-int8-%s-%s-pu8-m128n%dw8s%d", d, dts, mask, bn, stages);
    assert_int_equal(intfa_variant_parse(name, &e.winner), INTFA_OK);
    e.ms = ms;
    if (runner) {
        snprintf(name, sizeof name, "attn_fwd-sm90a-d%d-int8-%s-%s-pu8-m64n%dw4s%d", d, dts, mask, bn, stages);
        assert_int_equal(intfa_variant_parse(name, &e.runner_up), INTFA_OK);
        e.has_runner_up = 1;
        e.runner_ms = ms * 1.01;
    }
    return e;
}

/* Two devices, five entries. */
static void sample_db(intfa_tune_db *db)
{
    intfa_tune_db_init(db);
    const intfa_tune_key h200 = key_of("NVIDIA H200", "0.1.0"), h100 = key_of("NVIDIA H100 80GB HBM3", "0.1.0");
    intfa_tune_entry e[] = {entry_of(128, 1, INTFA_DTYPE_FP16, INTFA_TUNE_KV_1K, 64, 2, 0.052133, 1),
                            entry_of(128, 0, INTFA_DTYPE_FP16, INTFA_TUNE_KV_LONG, 128, 3, 3.25, 0),
                            entry_of(64, 1, INTFA_DTYPE_FP16, INTFA_TUNE_KV_4K, 32, 1, 0.000001, 1)};
    for (size_t i = 0; i < 3; i++) assert_int_equal(intfa_tune_db_put(db, &h200, &e[i]), INTFA_OK);
    for (size_t i = 0; i < 2; i++) assert_int_equal(intfa_tune_db_put(db, &h100, &e[i]), INTFA_OK);
}

static int same_variant(const intfa_variant *a, const intfa_variant *b)
{
    char x[INTFA_VARIANT_NAME_MAX], y[INTFA_VARIANT_NAME_MAX];
    return intfa_variant_name(a, x, sizeof x) == INTFA_OK && intfa_variant_name(b, y, sizeof y) == INTFA_OK &&
           strcmp(x, y) == 0;
}

static void assert_db_equal(const intfa_tune_db *a, const intfa_tune_db *b)
{
    assert_int_equal(a->count, b->count);
    for (size_t i = 0; i < a->count; i++) {
        const intfa_tune_section *s = &a->sections[i], *t = &b->sections[i];
        assert_true(intfa_tune_key_equal(&s->key, &t->key));
        assert_int_equal(s->count, t->count);
        for (size_t j = 0; j < s->count; j++) {
            const intfa_tune_entry *x = &s->entries[j], *y = &t->entries[j];
            assert_true(intfa_tune_class_equal(&x->cls, &y->cls));
            assert_true(same_variant(&x->winner, &y->winner));
            assert_true(fabs(x->ms - y->ms) <= 1e-6 * x->ms + 5e-7);
            assert_int_equal(x->has_runner_up, y->has_runner_up);
            if (x->has_runner_up) {
                assert_true(same_variant(&x->runner_up, &y->runner_up));
                assert_true(fabs(x->runner_ms - y->runner_ms) <= 1e-6 * x->runner_ms + 5e-7);
            }
        }
    }
}

static void test_text_round_trip(void **state)
{
    (void)state;
    intfa_tune_db db, back, again;
    sample_db(&db);
    char *text = NULL, *text2 = NULL;
    size_t len = 0, len2 = 0;
    assert_int_equal(intfa_tune_db_format(&db, &text, &len), INTFA_OK);
    assert_int_equal(strlen(text), len);
    assert_non_null(strstr(text, "intfa-tuning-db 1\n"));
    assert_non_null(strstr(text, "gpu = NVIDIA H100 80GB HBM3\n"));
    assert_non_null(strstr(text, "d128 int8 fp16 causal pu8 kv<=1024 "
                                 "attn_fwd-sm90a-d128-int8-fp16-causal-pu8-m128n64w8s2 0.052133 "
                                 "attn_fwd-sm90a-d128-int8-fp16-causal-pu8-m64n64w4s2 0.052654\n"));
    assert_int_equal(intfa_tune_db_parse(text, len, "sample", &back), INTFA_OK);
    assert_db_equal(&db, &back);
    /* and the text of what was read is the same text */
    assert_int_equal(intfa_tune_db_format(&back, &text2, &len2), INTFA_OK);
    assert_string_equal(text, text2);
    /* comments, blank lines, CRLF and spaces around '=' are accepted */
    const char *loose = "# hand-edited\r\n\r\n  intfa-tuning-db 1\r\n[device]\r\ngpu=NVIDIA H200\r\n"
                        "library   =   0.1.0\r\nsm_count = 132\r\ncompute_capability = 9.0\r\n"
                        "driver = 13000\r\nnvrtc = 12080\r\n  # a comment\r\n"
                        "d64  int8  fp16  causal  pu8  kv<=4096   "
                        "attn_fwd-sm90a-d64-int8-fp16-causal-pu8-m128n32w8s1   1.5";
    assert_int_equal(intfa_tune_db_parse(loose, strlen(loose), "loose", &again), INTFA_OK);
    assert_int_equal(again.count, 1);
    const intfa_tune_key h200 = key_of("NVIDIA H200", "0.1.0");
    assert_true(intfa_tune_key_equal(&again.sections[0].key, &h200));
    assert_int_equal(again.sections[0].count, 1);
    assert_true(again.sections[0].entries[0].ms == 1.5);
    /* empty and comment-only texts are empty databases */
    intfa_tune_db empty;
    assert_int_equal(intfa_tune_db_parse("", 0, "empty", &empty), INTFA_OK);
    assert_int_equal(empty.count, 0);
    assert_int_equal(intfa_tune_db_parse("# x\n\n", 5, "comments", &empty), INTFA_OK);
    assert_int_equal(empty.count, 0);
    free(text);
    free(text2);
    intfa_tune_db_free(&db);
    intfa_tune_db_free(&back);
    intfa_tune_db_free(&again);
}

static int count_temp_files(const char *d)
{
    DIR *dd = opendir(d);
    assert_non_null(dd);
    int n = 0;
    for (struct dirent *e; (e = readdir(dd));) n += strstr(e->d_name, ".tmp-") != NULL;
    closedir(dd);
    return n;
}

static void test_file_round_trip_and_atomic_replace(void **state)
{
    (void)state;
    char path[512], sub[400];
    snprintf(sub, sizeof sub, "%s/a/b", dir);
    snprintf(path, sizeof path, "%s/tuning.db", sub);
    intfa_tune_db db, back;
    int exists = 1;
    assert_int_equal(intfa_tune_db_load(path, &back, &exists), INTFA_OK); /* missing: empty */
    assert_int_equal(exists, 0);
    assert_int_equal(back.count, 0);
    sample_db(&db);
    assert_int_equal(intfa_tune_db_save(path, &db), INTFA_OK); /* parents created */
    assert_int_equal(intfa_tune_db_load(path, &back, &exists), INTFA_OK);
    assert_int_equal(exists, 1);
    assert_db_equal(&db, &back);
    assert_int_equal(count_temp_files(sub), 0);

    /* a reader holding the old file keeps seeing all of it: the new one is a new inode */
    struct stat before, after;
    assert_int_equal(stat(path, &before), 0);
    FILE *old = fopen(path, "rb");
    assert_non_null(old);
    intfa_tune_db_free(&back);
    intfa_tune_db_init(&back);
    assert_int_equal(intfa_tune_db_save(path, &back), INTFA_OK);
    assert_int_equal(stat(path, &after), 0);
    assert_true(before.st_ino != after.st_ino);
    char buf[4096];
    size_t got = fread(buf, 1, sizeof buf - 1, old);
    fclose(old);
    buf[got] = '\0';
    assert_non_null(strstr(buf, "NVIDIA H100 80GB HBM3"));
    assert_int_equal(intfa_tune_db_load(path, &back, NULL), INTFA_OK);
    assert_int_equal(back.count, 0);
    assert_int_equal(count_temp_files(sub), 0);

    /* unwritable location: an I/O error naming the path, nothing left behind */
    char bad[600];
    snprintf(bad, sizeof bad, "%s/tuning.db/x.db", sub);
    assert_int_equal(intfa_tune_db_save(bad, &db), INTFA_ERR_IO);
    assert_non_null(strstr(intfa_last_error(), sub));
    intfa_tune_db_free(&db);
    intfa_tune_db_free(&back);
}

/* A malformed text -> INTFA_ERR_CORRUPT whose message names origin:line and the problem. */
static void assert_corrupt(const char *text, const char *where, const char *what)
{
    intfa_tune_db db;
    intfa_tune_db_init(&db);
    db.count = 12345; /* must not be touched on failure */
    intfa_status st = intfa_tune_db_parse(text, strlen(text), "t.db", &db);
    if (st != INTFA_ERR_CORRUPT || !strstr(intfa_last_error(), where) || !strstr(intfa_last_error(), what))
        fail_msg("text:\n%s\nstatus %d, message \"%s\"; wanted \"%s\" and \"%s\"", text, (int)st,
                 intfa_last_error(), where, what);
    assert_int_equal(db.count, 12345);
}

#define HEAD "intfa-tuning-db 1\n[device]\ngpu = G\nsm_count = 1\ncompute_capability = 8.0\n" \
             "driver = 1\nnvrtc = 1\nlibrary = 0.1.0\n"
#define GOOD_ENTRY "d64 int8 fp16 full pu8 kv<=1024 attn_fwd-sm80-d64-int8-fp16-full-pu8-m64n32w4s1 0.5\n"

static void test_parse_errors(void **state)
{
    (void)state;
    intfa_tune_db db;
    assert_int_equal(intfa_tune_db_parse(HEAD GOOD_ENTRY, strlen(HEAD GOOD_ENTRY), "t.db", &db), INTFA_OK);
    intfa_tune_db_free(&db);
    assert_corrupt("hello\n", "t.db:1", "not an intfa tuning database");
    assert_corrupt("intfa-tuning-db 2\n", "t.db:1", "format version 2");
    assert_corrupt("intfa-tuning-db 1\n" GOOD_ENTRY, "t.db:2", "outside a [device] section");
    assert_corrupt("intfa-tuning-db 1\n[device]\ngpu = G\n" GOOD_ENTRY, "t.db:4", "missing sm_count");
    assert_corrupt("intfa-tuning-db 1\n[device]\ngpu = G\n", "t.db:2", "lacks header field(s) sm_count");
    assert_corrupt("intfa-tuning-db 1\n[device]\ncolor = red\n", "t.db:3", "unknown header field");
    assert_corrupt("intfa-tuning-db 1\n[device]\ngpu = G\ngpu = H\n", "t.db:4", "given twice");
    assert_corrupt("intfa-tuning-db 1\n[device]\nsm_count = -4\n", "t.db:3", "bad value");
    assert_corrupt("intfa-tuning-db 1\n[device]\ncompute_capability = 9\n", "t.db:3", "bad value");
    assert_corrupt("intfa-tuning-db 1\n[device]\nsm_count = 0\ngpu = G\ncompute_capability = 8.0\n"
                   "driver = 1\nnvrtc = 1\nlibrary = 1\n", "t.db:8", "sm_count = 0");
    assert_corrupt(HEAD "[device]\ngpu = G\nsm_count = 1\ncompute_capability = 8.0\ndriver = 1\nnvrtc = 1\n"
                   "library = 0.1.0\n", "t.db:15", "second section");
    assert_corrupt(HEAD GOOD_ENTRY GOOD_ENTRY, "t.db:10", "second entry for the same class");
    assert_corrupt(HEAD "d64 int8 fp16 full pu8 kv<=1024 attn_fwd-sm80-d128-int8-fp16-full-pu8-m64n32w4s1 0.5\n",
                   "t.db:9", "does not belong");
    assert_corrupt(HEAD "d64 int8 fp16 full pu8 kv<=1024 attn_fwd-sm80-d64-int8-fp16 0.5\n", "t.db:9",
                   "variant name");
    assert_corrupt(HEAD "d64 int8 fp16 full pu8 kv<=1024 attn_fwd-sm80-d64-int8-fp16-full-pu8-m64n32w4s1 0,5\n",
                   "t.db:9", "bad time");
    assert_corrupt(HEAD "d64 int8 fp16 full pu8 kv<=1024 attn_fwd-sm80-d64-int8-fp16-full-pu8-m64n32w4s1 0\n",
                   "t.db:9", "bad time");
    assert_corrupt(HEAD "d64 int8 fp16 full pu8 kv<=1024 attn_fwd-sm80-d64-int8-fp16-full-pu8-m64n32w4s1\n",
                   "t.db:9", "8 fields");
    assert_corrupt(HEAD "d72 int8 fp16 full pu8 kv<=1024 attn_fwd-sm80-d64-int8-fp16-full-pu8-m64n32w4s1 1\n",
                   "t.db:9", "head_dim");
    assert_corrupt(HEAD "[other]\n", "t.db:9", "unknown section");
    char nul[] = HEAD "x\0y\n";
    intfa_status st = intfa_tune_db_parse(nul, sizeof nul - 1, "t.db", &db);
    assert_int_equal(st, INTFA_ERR_CORRUPT);
    assert_non_null(strstr(intfa_last_error(), "NUL"));
    char longline[2 * INTFA_TUNE_DB_LINE_MAX];
    memset(longline, '#', sizeof longline - 1);
    longline[sizeof longline - 1] = '\0';
    assert_corrupt(longline, "t.db:1", "too long");
}

/* Every truncation and thousands of random corruptions of a valid file: OK or CORRUPT,
 * never a crash (ASan build), and whatever parses formats again. */
static void test_parser_fuzz(void **state)
{
    (void)state;
    intfa_tune_db db;
    sample_db(&db);
    char *text;
    size_t len;
    assert_int_equal(intfa_tune_db_format(&db, &text, &len), INTFA_OK);
    intfa_tune_db_free(&db);
    size_t ok = 0, corrupt = 0;
    for (size_t n = 0; n <= len; n++) {
        char *cut = malloc(n + 1); /* exactly n bytes readable (+1 so malloc(0) differs) */
        memcpy(cut, text, n);
        intfa_status st = intfa_tune_db_parse(cut, n, "cut", &db);
        assert_true(st == INTFA_OK || st == INTFA_ERR_CORRUPT);
        if (st == INTFA_OK) {
            char *again;
            size_t alen;
            assert_int_equal(intfa_tune_db_format(&db, &again, &alen), INTFA_OK);
            free(again);
            intfa_tune_db_free(&db);
            ok++;
        } else {
            corrupt++;
        }
        free(cut);
    }
    assert_true(ok > 0 && corrupt > 0);
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int round = 0; round < 4000; round++) {
        char *m = malloc(len + 8);
        memcpy(m, text, len);
        size_t mlen = len;
        for (int k = 0; k < 1 + round % 4; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            const size_t at = (size_t)(x % mlen);
            const char byte = (char)(x >> 40);
            switch ((x >> 32) % 3) {
            case 0: m[at] = byte; break;                                      /* replace */
            case 1: memmove(m + at, m + at + 1, mlen - at - 1); mlen--; break; /* delete */
            default: memmove(m + at + 1, m + at, mlen - at); m[at] = byte; mlen++; break; /* insert */
            }
        }
        intfa_status st = intfa_tune_db_parse(m, mlen, "fuzz", &db);
        assert_true(st == INTFA_OK || st == INTFA_ERR_CORRUPT);
        if (st == INTFA_OK) intfa_tune_db_free(&db);
        free(m);
    }
    for (int round = 0; round < 500; round++) { /* pure garbage */
        char g[200];
        for (size_t i = 0; i < sizeof g; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            g[i] = (char)x;
        }
        intfa_status st = intfa_tune_db_parse(g, sizeof g, "garbage", &db);
        assert_true(st == INTFA_OK || st == INTFA_ERR_CORRUPT);
        if (st == INTFA_OK) intfa_tune_db_free(&db);
    }
    free(text);
}

static FILE *open_log(char *buf, size_t cap)
{
    memset(buf, 0, cap);
    FILE *f = fmemopen(buf, cap, "w");
    assert_non_null(f);
    return f;
}

/* A context's view: its key's section only; other GPUs and other library versions ignored,
 * with one note when verbose. */
static void test_state_ignores_other_keys(void **state)
{
    (void)state;
    char path[400], log[2048];
    snprintf(path, sizeof path, "%s/state.db", dir);
    intfa_tune_db db;
    intfa_tune_db_init(&db);
    const intfa_tune_key mine = key_of("NVIDIA H200", "0.1.0"), other_gpu = key_of("NVIDIA A100", "0.1.0"),
                         other_lib = key_of("NVIDIA H200", "0.0.9");
    const intfa_tune_entry e1 = entry_of(128, 1, INTFA_DTYPE_FP16, INTFA_TUNE_KV_1K, 128, 3, 0.5, 0);
    const intfa_tune_entry e2 = entry_of(128, 1, INTFA_DTYPE_FP16, INTFA_TUNE_KV_4K, 32, 1, 0.5, 0);
    assert_int_equal(intfa_tune_db_put(&db, &other_gpu, &e1), INTFA_OK);
    assert_int_equal(intfa_tune_db_put(&db, &other_lib, &e1), INTFA_OK);
    assert_int_equal(intfa_tune_db_put(&db, &mine, &e2), INTFA_OK);
    assert_int_equal(intfa_tune_db_save(path, &db), INTFA_OK);
    intfa_tune_db_free(&db);

    for (int verbose = 0; verbose <= 1; verbose++) {
        intfa_tune_state *s;
        assert_int_equal(intfa_tune_state_create(&s), INTFA_OK);
        FILE *f = open_log(log, sizeof log);
        intfa_tune_state_load(s, path, &mine, verbose, f);
        intfa_tune_state_load(s, path, &mine, verbose, f); /* once only */
        fclose(f);
        assert_int_equal(s->ignored, 2);
        intfa_variant v;
        memset(&v, 0, sizeof v);
        assert_int_equal(intfa_tune_state_find(s, &e1.cls, INTFA_ARCH_SM90A, &v), 0); /* only others have it */
        assert_int_equal(v.head_dim, 0);
        assert_int_equal(intfa_tune_state_find(s, &e2.cls, INTFA_ARCH_SM90A, &v), 1);
        assert_true(same_variant(&v, &e2.winner));
        assert_int_equal(intfa_tune_state_find(s, &e2.cls, INTFA_ARCH_SM80, &v), 0); /* another arch */
        if (verbose) {
            const char *note = strstr(log, "ignoring 2 section(s)");
            assert_non_null(note);
            assert_null(strstr(note + 1, "ignoring")); /* one note */
        } else {
            assert_string_equal(log, "");
        }
        intfa_tune_state_destroy(s);
    }
    /* the same GPU with another library version finds nothing */
    intfa_tune_state *s;
    assert_int_equal(intfa_tune_state_create(&s), INTFA_OK);
    intfa_tune_state_load(s, path, &other_lib, 0, NULL);
    intfa_variant v;
    assert_int_equal(intfa_tune_state_find(s, &e2.cls, INTFA_ARCH_SM90A, &v), 0);
    assert_int_equal(intfa_tune_state_find(s, &e1.cls, INTFA_ARCH_SM90A, &v), 1);
    intfa_tune_state_destroy(s);
}

/* A malformed file: one warning, then the defaults (nothing found); winners put on first use
 * are still kept in memory. */
static void test_state_malformed_file(void **state)
{
    (void)state;
    char path[400], log[2048];
    snprintf(path, sizeof path, "%s/bad.db", dir);
    FILE *f = fopen(path, "w");
    fputs(HEAD "d64 int8 fp16 full pu8 kv<=1024 garbage 1\n", f);
    fclose(f);
    intfa_tune_state *s;
    assert_int_equal(intfa_tune_state_create(&s), INTFA_OK);
    const intfa_tune_key k = key_of("G", "0.1.0");
    f = open_log(log, sizeof log);
    intfa_tune_state_load(s, path, &k, 0, f);
    fclose(f);
    assert_non_null(strstr(log, "bad.db:9"));
    assert_non_null(strstr(log, "using the built-in defaults"));
    intfa_tune_entry e = entry_of(64, 0, INTFA_DTYPE_FP16, INTFA_TUNE_KV_1K, 64, 2, 1.0, 0);
    intfa_variant v;
    assert_int_equal(intfa_tune_state_find(s, &e.cls, INTFA_ARCH_SM90A, &v), 0);
    assert_int_equal(intfa_tune_state_put(s, &e), INTFA_OK);
    assert_int_equal(intfa_tune_state_find(s, &e.cls, INTFA_ARCH_SM90A, &v), 1);
    /* failed classes are remembered */
    assert_false(intfa_tune_state_failed(s, &e.cls));
    intfa_tune_state_mark_failed(s, &e.cls);
    assert_true(intfa_tune_state_failed(s, &e.cls));
    intfa_tune_state_destroy(s);
    /* updating a malformed file leaves it as it is */
    char before[2048], after[2048];
    f = fopen(path, "rb");
    size_t nb = fread(before, 1, sizeof before, f);
    fclose(f);
    assert_int_equal(intfa_tune_db_update(path, &k, &e, 1), INTFA_ERR_CORRUPT);
    assert_non_null(strstr(intfa_last_error(), "left as it is"));
    f = fopen(path, "rb");
    size_t na = fread(after, 1, sizeof after, f);
    fclose(f);
    assert_int_equal(na, nb);
    assert_memory_equal(before, after, nb);
}

/* bf16 problems use the fp16 winner's tile configuration when they have no entry. */
static void test_state_bf16_uses_fp16_tiles(void **state)
{
    (void)state;
    intfa_tune_state *s;
    assert_int_equal(intfa_tune_state_create(&s), INTFA_OK);
    const intfa_tune_key k = key_of("G", "0.1.0");
    intfa_tune_state_load(s, NULL, &k, 0, NULL);
    intfa_tune_entry fp16 = entry_of(128, 1, INTFA_DTYPE_FP16, INTFA_TUNE_KV_LONG, 32, 3, 1.0, 0);
    assert_int_equal(intfa_tune_state_put(s, &fp16), INTFA_OK);
    intfa_tune_class bf16 = fp16.cls;
    bf16.dtype = INTFA_DTYPE_BF16;
    intfa_variant v;
    assert_int_equal(intfa_tune_state_find(s, &bf16, INTFA_ARCH_SM90A, &v), 1);
    assert_int_equal(v.dtype, INTFA_DTYPE_BF16);
    assert_int_equal(v.block_n, 32);
    assert_int_equal(v.stages, 3);
    /* its own entry wins over the fp16 one */
    intfa_tune_entry own = entry_of(128, 1, INTFA_DTYPE_BF16, INTFA_TUNE_KV_LONG, 64, 1, 1.0, 0);
    assert_int_equal(intfa_tune_state_put(s, &own), INTFA_OK);
    assert_int_equal(intfa_tune_state_find(s, &bf16, INTFA_ARCH_SM90A, &v), 1);
    assert_int_equal(v.block_n, 64);
    intfa_tune_state_destroy(s);
}

/* Import merges sections, replacing those with the same key; export and import through files
 * keep everything; update merges entries into one section. */
static void test_import_export_merge(void **state)
{
    (void)state;
    intfa_tune_db here, there;
    sample_db(&here); /* H200, H100 */
    intfa_tune_db_init(&there);
    const intfa_tune_key h100 = key_of("NVIDIA H100 80GB HBM3", "0.1.0"), a100 = key_of("NVIDIA A100", "0.1.0");
    const intfa_tune_entry x = entry_of(64, 0, INTFA_DTYPE_FP16, INTFA_TUNE_KV_1K, 128, 2, 0.25, 0);
    assert_int_equal(intfa_tune_db_put(&there, &h100, &x), INTFA_OK);
    assert_int_equal(intfa_tune_db_put(&there, &a100, &x), INTFA_OK);

    char exported[400], imported[400];
    snprintf(exported, sizeof exported, "%s/export.db", dir);
    snprintf(imported, sizeof imported, "%s/import.db", dir);
    assert_int_equal(intfa_tune_db_save(exported, &there), INTFA_OK);
    intfa_tune_db file;
    assert_int_equal(intfa_tune_db_load(exported, &file, NULL), INTFA_OK);
    assert_db_equal(&there, &file);
    size_t replaced = 0;
    for (size_t i = 0; i < file.count; i++) {
        int r = -1;
        assert_int_equal(intfa_tune_db_put_section(&here, &file.sections[i], &r), INTFA_OK);
        replaced += (size_t)r;
    }
    assert_int_equal(replaced, 1);
    assert_int_equal(here.count, 3);
    const intfa_tune_section *s = intfa_tune_db_find(&here, &h100);
    assert_non_null(s);
    assert_int_equal(s->count, 1); /* replaced whole, not merged entry by entry */
    assert_true(intfa_tune_class_equal(&s->entries[0].cls, &x.cls));
    assert_non_null(intfa_tune_db_find(&here, &a100));
    const intfa_tune_key h200 = key_of("NVIDIA H200", "0.1.0");
    assert_int_equal(intfa_tune_db_find(&here, &h200)->count, 3);
    assert_int_equal(intfa_tune_db_save(imported, &here), INTFA_OK);
    intfa_tune_db back;
    assert_int_equal(intfa_tune_db_load(imported, &back, NULL), INTFA_OK);
    assert_db_equal(&here, &back);

    /* remove one section (--clear --this-gpu) */
    int removed = 0;
    assert_int_equal(intfa_tune_db_remove(&back, &a100, &removed), INTFA_OK);
    assert_int_equal(removed, 1);
    assert_null(intfa_tune_db_find(&back, &a100));
    assert_int_equal(back.count, 2);
    assert_int_equal(intfa_tune_db_remove(&back, &a100, &removed), INTFA_OK);
    assert_int_equal(removed, 0);

    /* update: entries into one section of the file, same class replaced, others kept */
    const intfa_tune_entry y = entry_of(64, 0, INTFA_DTYPE_FP16, INTFA_TUNE_KV_1K, 32, 1, 0.125, 1);
    const intfa_tune_entry z = entry_of(64, 1, INTFA_DTYPE_FP16, INTFA_TUNE_KV_1K, 32, 1, 0.5, 0);
    const intfa_tune_entry yz[2] = {y, z};
    assert_int_equal(intfa_tune_db_update(imported, &a100, yz, 2), INTFA_OK);
    intfa_tune_db updated;
    assert_int_equal(intfa_tune_db_load(imported, &updated, NULL), INTFA_OK);
    assert_int_equal(updated.count, 3);
    s = intfa_tune_db_find(&updated, &a100);
    assert_int_equal(s->count, 2);
    assert_true(same_variant(&intfa_tune_section_find(s, &x.cls)->winner, &y.winner));
    assert_non_null(intfa_tune_section_find(s, &z.cls));
    assert_int_equal(intfa_tune_db_find(&updated, &h100)->count, 1);

    intfa_tune_db_free(&here);
    intfa_tune_db_free(&there);
    intfa_tune_db_free(&file);
    intfa_tune_db_free(&back);
    intfa_tune_db_free(&updated);
}

static void test_invalid_keys_and_entries(void **state)
{
    (void)state;
    intfa_tune_db db;
    intfa_tune_db_init(&db);
    intfa_tune_key k = key_of("G\nH", "0.1.0");
    intfa_tune_entry e = entry_of(64, 0, INTFA_DTYPE_FP16, INTFA_TUNE_KV_1K, 64, 2, 1.0, 0);
    assert_int_equal(intfa_tune_db_put(&db, &k, &e), INTFA_ERR_INVALID_ARGUMENT);
    k = key_of(" G", "0.1.0");
    assert_int_equal(intfa_tune_db_put(&db, &k, &e), INTFA_ERR_INVALID_ARGUMENT);
    k = key_of("G", "0.1 beta");
    assert_int_equal(intfa_tune_db_put(&db, &k, &e), INTFA_ERR_INVALID_ARGUMENT);
    k = key_of("G", "0.1.0");
    e.ms = INFINITY;
    assert_int_equal(intfa_tune_db_put(&db, &k, &e), INTFA_ERR_INVALID_ARGUMENT);
    e.ms = 1.0;
    e.winner.head_dim = 128; /* not the class's */
    assert_int_equal(intfa_tune_db_put(&db, &k, &e), INTFA_ERR_INVALID_ARGUMENT);
    assert_int_equal(db.count, 0);
    e.winner.head_dim = 64;
    assert_int_equal(intfa_tune_db_put(&db, &k, &e), INTFA_OK);
    assert_int_equal(db.count, 1);
    intfa_tune_db_free(&db);
}

static void test_location(void **state)
{
    (void)state;
    const char *vars[] = {"INTFA_TUNING_DB", "INTFA_CACHE_DIR", "XDG_CACHE_HOME", "HOME"};
    char *saved[4];
    for (int i = 0; i < 4; i++) {
        const char *v = getenv(vars[i]);
        saved[i] = v ? strdup(v) : NULL;
        unsetenv(vars[i]);
    }
    char *p = NULL;
    assert_int_equal(intfa_tune_db_path(NULL, NULL, &p), INTFA_ERR_IO);
    assert_null(p);
    setenv("HOME", "/home/u", 1);
    assert_int_equal(intfa_tune_db_path(NULL, NULL, &p), INTFA_OK);
    assert_string_equal(p, "/home/u/.cache/intfa/tuning.db");
    free(p);
    setenv("XDG_CACHE_HOME", "/xdg", 1);
    assert_int_equal(intfa_tune_db_path(NULL, "", &p), INTFA_OK);
    assert_string_equal(p, "/xdg/intfa/tuning.db");
    free(p);
    setenv("INTFA_CACHE_DIR", "/cache", 1);
    assert_int_equal(intfa_tune_db_path(NULL, NULL, &p), INTFA_OK);
    assert_string_equal(p, "/cache/tuning.db");
    free(p);
    assert_int_equal(intfa_tune_db_path(NULL, "/opt", &p), INTFA_OK); /* options.cache_dir */
    assert_string_equal(p, "/opt/tuning.db");
    free(p);
    setenv("INTFA_TUNING_DB", "/env.db", 1);
    assert_int_equal(intfa_tune_db_path(NULL, "/opt", &p), INTFA_OK);
    assert_string_equal(p, "/env.db");
    free(p);
    assert_int_equal(intfa_tune_db_path("/explicit.db", "/opt", &p), INTFA_OK);
    assert_string_equal(p, "/explicit.db");
    free(p);
    for (int i = 0; i < 4; i++) {
        if (saved[i]) setenv(vars[i], saved[i], 1);
        else unsetenv(vars[i]);
        free(saved[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_round_trip),
        cmocka_unit_test(test_file_round_trip_and_atomic_replace),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_parser_fuzz),
        cmocka_unit_test(test_state_ignores_other_keys),
        cmocka_unit_test(test_state_malformed_file),
        cmocka_unit_test(test_state_bf16_uses_fp16_tiles),
        cmocka_unit_test(test_import_export_merge),
        cmocka_unit_test(test_invalid_keys_and_entries),
        cmocka_unit_test(test_location),
    };
    return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
