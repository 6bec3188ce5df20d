/* test_cache.c - the kernel cache in one process: miss then hit, corrupt / truncated /
 * foreign-version entries reported once and rebuilt, no-JIT mode, an unwritable directory
 * (warning and in-memory store), eviction oldest first, stale temporary files, the cache's
 * location from options and environment, the size bound's variable, logging. Real NVRTC
 * compiles of quant_qk variants (about 70 ms each); no GPU. */
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

#include "aot.h"
#include "cache.h"
#include "cache_fixture.h"
#include "error.h"
#include "jit_log.h"
#include "kernel_store.h"

#define QK_A "quant_qk-sm80-d64-int8-fp16-w4"
#define QK_B "quant_qk-sm80-d64-int8-bf16-w4"
#define QK_C "quant_qk-sm80-d128-int8-fp16-w4"

static int setup(void **state)
{
    *state = fixture_mkdtemp("cache");
    intfa_cache_memory_clear();
    intfa_cache_stats_reset();
    return 0;
}

static int teardown(void **state)
{
    fixture_rmtree(*state);
    free(*state);
    intfa_cache_set_publish_hook(NULL);
    return 0;
}

/* get_or_build that must succeed; returns where the binary came from. */
static intfa_binary_source get(const char *dir, const char *name, int allow_jit, void **bin,
                               size_t *size)
{
    intfa_cache_config cfg = {.dir = dir};
    intfa_variant v = fixture_variant(name);
    intfa_binary_source from = INTFA_BINARY_NONE;
    intfa_status st = intfa_cache_get_or_build(&cfg, &v, allow_jit, bin, size, &from);
    if (st != INTFA_OK)
        fail_msg("%s: %s: %s", name, intfa_status_string(st), intfa_last_error());
    assert_non_null(*bin);
    assert_true(*size > 0);
    return from;
}

/* The path of name's entry in dir. */
static void entry_path_of(const char *dir, const char *name, char *path, size_t cap)
{
    intfa_variant v = fixture_variant(name);
    char *source = NULL;
    assert_int_equal(intfa_variant_render(&v, &source), INTFA_OK);
    intfa_cache_key_inputs in;
    intfa_cache_key key;
    assert_int_equal(intfa_cache_key_inputs_of(&v, name, source, &in), INTFA_OK);
    assert_int_equal(intfa_cache_key_compute(&in, &key), INTFA_OK);
    assert_int_equal(intfa_cache_entry_path(dir, &key, path, cap), INTFA_OK);
    intfa_free(source);
}

static intfa_cache_stats stats(void)
{
    intfa_cache_stats s;
    assert_int_equal(intfa_cache_stats_get(&s), INTFA_OK);
    return s;
}

/* ------------------------------------------------------------------ miss, hit */

static void test_miss_builds_then_disk_hit(void **state)
{
    const char *dir = *state;
    void *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    assert_int_equal(get(dir, QK_A, 1, &a, &na), INTFA_BINARY_NVRTC);
    char path[4096];
    entry_path_of(dir, QK_A, path, sizeof path);
    size_t file_size = 0;
    void *file = fixture_read_file(path, &file_size);
    assert_non_null(file);
    assert_int_equal(file_size, INTFA_CACHE_HEADER_BYTES + na);
    assert_memory_equal((char *)file + INTFA_CACHE_HEADER_BYTES, a, na);
    assert_int_equal(fixture_count_files(dir, ""), 1); /* no temporary left */

    assert_int_equal(get(dir, QK_A, 1, &b, &nb), INTFA_BINARY_DISK);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na);
    intfa_cache_stats s = stats();
    assert_int_equal(s.compiles, 1);
    assert_int_equal(s.disk_hits, 1);
    assert_int_equal(s.corrupt, 0);
    assert_string_equal(intfa_last_error(), "");
    free(file);
    free(a);
    free(b);
}

/* A hit refreshes the entry's time, so eviction order is by last use. */
static void test_hit_refreshes_time(void **state)
{
    const char *dir = *state;
    void *a = NULL;
    size_t na = 0;
    get(dir, QK_A, 1, &a, &na);
    free(a);
    char path[4096];
    entry_path_of(dir, QK_A, path, sizeof path);
    fixture_set_age(path, 7200);
    struct stat before, after;
    assert_int_equal(stat(path, &before), 0);
    assert_int_equal(get(dir, QK_A, 1, &a, &na), INTFA_BINARY_DISK);
    free(a);
    assert_int_equal(stat(path, &after), 0);
    assert_true(after.st_mtime >= before.st_mtime + 7000);
}

/* ------------------------------------------------------------------ corrupt entries */

typedef enum { FLIP_PAYLOAD, FLIP_NAME, TRUNCATE_HALF, EMPTY, FOREIGN_VERSION, OTHER_ENTRY,
               GARBAGE, APPENDED, N_DAMAGE } damage;

static const char *const damage_phrase[N_DAMAGE] = {
    "checksum mismatch", "checksum mismatch", "size mismatch", "size 0", "format version 7",
    "key mismatch", "bad magic", "size mismatch"};

/* Damages the valid entry file (bytes `good`) at path in one way. */
static void apply_damage(const char *path, const unsigned char *good, size_t n, damage d,
                         const char *other_path)
{
    unsigned char *c = malloc(n + 16);
    assert_non_null(c);
    memcpy(c, good, n);
    size_t size = n;
    switch (d) {
    case FLIP_PAYLOAD: c[n - 10] ^= 0x40; break;
    case FLIP_NAME: c[100] ^= 0x01; break;
    case TRUNCATE_HALF: size = n / 2 + 200; break; /* header intact, payload cut */
    case EMPTY: size = 0; break;
    case FOREIGN_VERSION: {
        c[8] = 7; /* an intact entry of format version 7 */
        intfa_sha256 h;
        intfa_sha256_init(&h);
        intfa_sha256_update(&h, c, 224);
        intfa_sha256_update(&h, c + INTFA_CACHE_HEADER_BYTES, n - INTFA_CACHE_HEADER_BYTES);
        intfa_sha256_final(&h, c + 224);
        break;
    }
    case OTHER_ENTRY: {
        free(c);
        c = fixture_read_file(other_path, &size);
        assert_non_null(c);
        break;
    }
    case GARBAGE: memcpy(c, "not a cubin at all\n", size = 19); break;
    case APPENDED: memset(c + n, 0, 16); size = n + 16; break;
    case N_DAMAGE: break;
    }
    fixture_write_file(path, c, size);
    free(c);
}

/* Lines of intfa warnings in err: its "intfa:" lines but the progress notices ("compiling ..." /
 * "compiled ..."), which a compile slower than the notice delay prints on a loaded machine
 * (ASan, tests in parallel) and which are not warnings. */
static int warning_lines(const char *err)
{
    return fixture_count_lines(err, "intfa:") - fixture_count_lines(err, "intfa: compiling ") -
           fixture_count_lines(err, "intfa: compiled ");
}

/* Each damage is detected with its reason (the file then removed); through get_or_build it
 * is rebuilt, byte-identical, with one warning line for the first damage only. */
static void test_corrupt_entries_reported_once_and_rebuilt(void **state)
{
    const char *dir = *state;
    void *a = NULL, *other = NULL;
    size_t na = 0, nother = 0;
    get(dir, QK_A, 1, &a, &na);
    get(dir, QK_B, 1, &other, &nother);
    char path[4096], other_path[4096];
    entry_path_of(dir, QK_A, path, sizeof path);
    entry_path_of(dir, QK_B, other_path, sizeof other_path);
    size_t n = 0;
    unsigned char *good = fixture_read_file(path, &n);
    assert_non_null(good);

    intfa_variant v = fixture_variant(QK_A);
    char *source = NULL;
    assert_int_equal(intfa_variant_render(&v, &source), INTFA_OK);
    intfa_cache_key_inputs in;
    intfa_cache_key key;
    intfa_cache_entry_info info;
    assert_int_equal(intfa_cache_key_inputs_of(&v, QK_A, source, &in), INTFA_OK);
    assert_int_equal(intfa_cache_key_compute(&in, &key), INTFA_OK);
    assert_int_equal(intfa_cache_entry_info_of(&in, &key, &info), INTFA_OK);

    for (int d = 0; d < N_DAMAGE; d++) {
        /* Directly: rejected with its reason, and removed. */
        apply_damage(path, good, n, (damage)d, other_path);
        void *p = (void *)0x1;
        size_t ps = 0;
        int found = -1;
        intfa_status st = intfa_cache_dir_read(dir, &info, &p, &ps, &found);
        if (st != INTFA_ERR_CORRUPT || !strstr(intfa_last_error(), damage_phrase[d]))
            fail_msg("damage %d: %s: \"%s\", expected \"%s\"", d, intfa_status_string(st),
                     intfa_last_error(), damage_phrase[d]);
        assert_ptr_equal(p, (void *)0x1);
        assert_int_equal(found, -1);
        assert_int_equal(access(path, F_OK), -1);

        /* Through the cache: rebuilt, one warning in all. */
        apply_damage(path, good, n, (damage)d, other_path);
        fixture_stderr_begin();
        void *b = NULL;
        size_t nb = 0;
        intfa_binary_source from = get(dir, QK_A, 1, &b, &nb);
        char *err = fixture_stderr_end();
        assert_int_equal(from, INTFA_BINARY_NVRTC);
        assert_int_equal(nb, na);
        assert_memory_equal(b, a, na);
        int lines = warning_lines(err);
        if (lines != (d == 0 ? 1 : 0))
            fail_msg("damage %d: %d warning lines: \"%s\"", d, lines, err);
        if (d == 0 && (!strstr(err, path) || !strstr(err, "checksum mismatch") ||
                       !strstr(err, "rebuilding")))
            fail_msg("the warning does not name the file, the reason and the rebuild: %s", err);
        free(err);
        free(b);
        size_t m = 0;
        unsigned char *now = fixture_read_file(path, &m);
        assert_non_null(now);
        assert_int_equal(m, n);
        assert_memory_equal(now, good, n); /* the rebuilt entry is the original */
        free(now);
    }
    assert_int_equal(stats().corrupt, N_DAMAGE);
    intfa_free(source);
    free(good);
    free(a);
    free(other);
}

/* ------------------------------------------------------------------ no-JIT */

static void test_no_jit_miss_fails_naming_variant_hit_succeeds(void **state)
{
    const char *dir = *state;
    intfa_cache_config cfg = {.dir = dir};
    intfa_variant v = fixture_variant(QK_C);
    void *bin = (void *)0x1;
    size_t size = 77;
    intfa_binary_source from = INTFA_BINARY_AOT;
    intfa_status st = intfa_cache_get_or_build(&cfg, &v, 0, &bin, &size, &from);
    assert_int_equal(st, INTFA_ERR_JIT_DISABLED);
    assert_non_null(strstr(intfa_last_error(), QK_C));
    assert_non_null(strstr(intfa_last_error(), "sm_80"));
    assert_ptr_equal(bin, (void *)0x1); /* outputs unchanged */
    assert_int_equal(size, 77);
    assert_int_equal(from, INTFA_BINARY_AOT);
    assert_int_equal(fixture_count_files(dir, ""), 0);
    assert_int_equal(stats().compiles, 0);
    assert_int_equal(stats().jit_refused, 1);

    void *built = NULL;
    size_t nbuilt = 0;
    assert_int_equal(get(dir, QK_C, 1, &built, &nbuilt), INTFA_BINARY_NVRTC);
    assert_int_equal(get(dir, QK_C, 0, &bin, &size), INTFA_BINARY_DISK);
    assert_int_equal(size, nbuilt);
    assert_memory_equal(bin, built, size);
    free(bin);

    /* A corrupt entry is a miss too: refused, and the bad file removed. */
    char path[4096];
    entry_path_of(dir, QK_C, path, sizeof path);
    fixture_write_file(path, "junk junk junk", 14);
    fixture_stderr_begin();
    st = intfa_cache_get_or_build(&cfg, &v, 0, &bin, &size, &from);
    char *err = fixture_stderr_end();
    assert_int_equal(st, INTFA_ERR_JIT_DISABLED);
    assert_non_null(strstr(intfa_last_error(), QK_C));
    assert_int_equal(fixture_count_lines(err, "bad magic"), 1);
    assert_int_equal(access(path, F_OK), -1);
    free(err);
    free(built);
}

/* The context's options reach the cache: disable_jit and cache_dir. */
static void test_context_options_reach_the_cache(void **state)
{
    const char *dir = *state;
    intfa_context *ctx = calloc(1, sizeof *ctx);
    assert_non_null(ctx);
    ctx->opts.cache_dir = dir;
    ctx->opts.disable_jit = 1;
    intfa_variant v = fixture_variant(QK_A);
    void *bin = NULL;
    size_t size = 0;
    assert_int_equal(intfa_kernel_binary(ctx, &v, &bin, &size), INTFA_ERR_JIT_DISABLED);
    assert_non_null(strstr(intfa_last_error(), QK_A));
    ctx->opts.disable_jit = 0;
    assert_int_equal(intfa_kernel_binary(ctx, &v, &bin, &size), INTFA_OK);
    free(bin);
    assert_int_equal(fixture_count_files(dir, ""), 1);
    ctx->opts.disable_jit = 1;
    assert_int_equal(intfa_kernel_binary(ctx, &v, &bin, &size), INTFA_OK);
    free(bin);
    free(ctx);
}

/* ------------------------------------------------------------------ unwritable directory */

/* A directory this process cannot write: chmod 0500 where that binds, else (root) a path
 * below a character device, which cannot even be created. */
static void unwritable_dir(const char *scratch, char *dir, size_t cap)
{
    snprintf(dir, cap, "%s/ro", scratch);
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_int_equal(chmod(dir, 0500), 0);
    char probe[4200];
    snprintf(probe, sizeof probe, "%s/probe", dir);
    FILE *f = fopen(probe, "w");
    if (f) { /* root: permissions do not bind */
        fclose(f);
        unlink(probe);
        snprintf(dir, cap, "/dev/null/intfa-cache");
    }
}

static void test_unwritable_dir_warns_once_and_uses_memory(void **state)
{
    char dir[4096];
    unwritable_dir(*state, dir, sizeof dir);
    void *a = NULL, *b = NULL, *a2 = NULL;
    size_t na = 0, nb = 0, na2 = 0;
    fixture_stderr_begin();
    intfa_binary_source fa = get(dir, QK_A, 1, &a, &na);
    intfa_binary_source fb = get(dir, QK_B, 1, &b, &nb);
    intfa_binary_source fa2 = get(dir, QK_A, 1, &a2, &na2);
    char *err = fixture_stderr_end();
    assert_int_equal(fa, INTFA_BINARY_NVRTC);
    assert_int_equal(fb, INTFA_BINARY_NVRTC);
    assert_int_equal(fa2, INTFA_BINARY_MEMORY);
    assert_int_equal(na, na2);
    assert_memory_equal(a, a2, na);
    if (warning_lines(err) != 1 || fixture_count_lines(err, "memory") != 1 ||
        !strstr(err, dir))
        fail_msg("expected one warning naming %s and the in-memory cache, got \"%s\"", dir, err);
    assert_int_equal(stats().compiles, 2);
    if (strncmp(dir, "/dev/null", 9) != 0)
        assert_int_equal(fixture_count_files(dir, ""), 0);
    /* no-JIT against the memory store: a hit */
    void *c = NULL;
    size_t nc = 0;
    assert_int_equal(get(dir, QK_B, 0, &c, &nc), INTFA_BINARY_MEMORY);
    free(err);
    free(a);
    free(b);
    free(a2);
    free(c);
}

/* ------------------------------------------------------------------ size bound */

/* Publishes a synthetic entry named name with a payload making the file `bytes` long. */
static intfa_cache_key publish_synthetic(const char *dir, const char *name, size_t bytes)
{
    intfa_cache_key_inputs in = {.variant_name = name, .source = name, .nvrtc_version = 1,
                                 .options = "-o", .target = "sm_80", .template_hash = 1,
                                 .library_version = "test"};
    intfa_cache_key key;
    intfa_cache_entry_info info;
    assert_int_equal(intfa_cache_key_compute(&in, &key), INTFA_OK);
    assert_int_equal(intfa_cache_entry_info_of(&in, &key, &info), INTFA_OK);
    size_t n = bytes - INTFA_CACHE_HEADER_BYTES;
    unsigned char *payload = malloc(n);
    assert_non_null(payload);
    memset(payload, name[0], n);
    assert_int_equal(intfa_cache_dir_publish(dir, &info, payload, n), INTFA_OK);
    free(payload);
    return key;
}

static int present(const char *dir, const intfa_cache_key *key)
{
    char path[4096];
    assert_int_equal(intfa_cache_entry_path(dir, key, path, sizeof path), INTFA_OK);
    return access(path, F_OK) == 0;
}

static void set_entry_age(const char *dir, const intfa_cache_key *key, long seconds_ago)
{
    char path[4096];
    assert_int_equal(intfa_cache_entry_path(dir, key, path, sizeof path), INTFA_OK);
    fixture_set_age(path, seconds_ago);
}

static void test_eviction_oldest_first_under_bound(void **state)
{
    const char *dir = *state;
    intfa_cache_key k[10];
    char name[16];
    for (int i = 0; i < 10; i++) {
        snprintf(name, sizeof name, "v%d", i);
        k[i] = publish_synthetic(dir, name, 1000);
        set_entry_age(dir, &k[i], (10 - i) * 100L); /* v0 oldest */
    }
    char other[4200];
    snprintf(other, sizeof other, "%s/tuning.db", dir);
    fixture_write_file(other, "not ours", 8);
    fixture_set_age(other, 99999);

    intfa_cache_trim_result r;
    assert_int_equal(intfa_cache_trim(dir, 5500, NULL, &r), INTFA_OK);
    assert_int_equal(r.evicted, 5);
    assert_int_equal(r.evicted_bytes, 5000);
    assert_int_equal(r.after.entries, 5);
    assert_int_equal(r.after.bytes, 5000);
    for (int i = 0; i < 10; i++)
        if (present(dir, &k[i]) != (i >= 5))
            fail_msg("after trimming to 5500 bytes, v%d is %s", i,
                     present(dir, &k[i]) ? "present" : "gone");
    assert_int_equal(access(other, F_OK), 0); /* other files are never touched */

    /* A read is a use: v5 becomes the newest and survives the next trim. */
    intfa_cache_key_inputs in = {.variant_name = "v5", .source = "v5", .nvrtc_version = 1,
                                 .options = "-o", .target = "sm_80", .template_hash = 1,
                                 .library_version = "test"};
    intfa_cache_entry_info info;
    assert_int_equal(intfa_cache_entry_info_of(&in, &k[5], &info), INTFA_OK);
    void *p = NULL;
    size_t ps = 0;
    int found = 0;
    assert_int_equal(intfa_cache_dir_read(dir, &info, &p, &ps, &found), INTFA_OK);
    assert_int_equal(found, 1);
    free(p);
    assert_int_equal(intfa_cache_trim(dir, 2500, NULL, &r), INTFA_OK);
    assert_int_equal(r.evicted, 3);
    assert_true(present(dir, &k[5]) && present(dir, &k[9]));
    assert_false(present(dir, &k[6]) || present(dir, &k[7]) || present(dir, &k[8]));

    /* keep stays even when it alone exceeds the bound. */
    assert_int_equal(intfa_cache_trim(dir, 0, &k[9], &r), INTFA_OK);
    assert_true(present(dir, &k[9]));
    assert_false(present(dir, &k[5]));
    assert_int_equal(r.after.entries, 1);
    assert_int_equal(stats().evicted, 5 + 3 + 1);

    intfa_cache_usage u;
    assert_int_equal(intfa_cache_usage_of(dir, &u), INTFA_OK);
    assert_int_equal(u.entries, 1);
    assert_int_equal(u.bytes, 1000);
}

/* Through get_or_build: a bound smaller than one entry keeps only the newest build. */
static void test_build_trims_to_configured_bound(void **state)
{
    const char *dir = *state;
    intfa_cache_config cfg = {.dir = dir, .max_bytes = 1};
    void *bin = NULL;
    size_t size = 0;
    const char *names[] = {QK_A, QK_B};
    for (int i = 0; i < 2; i++) {
        intfa_variant v = fixture_variant(names[i]);
        assert_int_equal(intfa_cache_get_or_build(&cfg, &v, 1, &bin, &size, NULL), INTFA_OK);
        free(bin);
    }
    char path[4096];
    entry_path_of(dir, QK_B, path, sizeof path);
    assert_int_equal(fixture_count_files(dir, ""), 1);
    assert_int_equal(access(path, F_OK), 0);
    assert_int_equal(stats().evicted, 1);
}

static void test_max_bytes_from_environment(void **state)
{
    (void)state;
    intfa_cache_config cfg = {0};
    uint64_t max = 0;
    unsetenv("INTFA_CACHE_MAX_BYTES");
    assert_int_equal(intfa_cache_max_bytes(&cfg, &max), INTFA_OK);
    assert_int_equal(max, INTFA_CACHE_DEFAULT_MAX_BYTES);
    setenv("INTFA_CACHE_MAX_BYTES", "3K", 1);
    assert_int_equal(intfa_cache_max_bytes(&cfg, &max), INTFA_OK);
    assert_int_equal(max, 3072);
    setenv("INTFA_CACHE_MAX_BYTES", "2G", 1);
    assert_int_equal(intfa_cache_max_bytes(&cfg, &max), INTFA_OK);
    assert_int_equal(max, 2ull << 30);
    setenv("INTFA_CACHE_MAX_BYTES", "12345", 1);
    assert_int_equal(intfa_cache_max_bytes(&cfg, &max), INTFA_OK);
    assert_int_equal(max, 12345);
    cfg.max_bytes = 77; /* the config wins */
    assert_int_equal(intfa_cache_max_bytes(&cfg, &max), INTFA_OK);
    assert_int_equal(max, 77);
    cfg.max_bytes = 0;
    const char *bad[] = {"lots", "0", "-5", "12KB", "99999999999999999999T"};
    fixture_stderr_begin();
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv("INTFA_CACHE_MAX_BYTES", bad[i], 1);
        assert_int_equal(intfa_cache_max_bytes(&cfg, &max), INTFA_OK);
        assert_int_equal(max, INTFA_CACHE_DEFAULT_MAX_BYTES);
    }
    char *err = fixture_stderr_end();
    assert_int_equal(fixture_count_lines(err, "INTFA_CACHE_MAX_BYTES"), 1); /* once */
    free(err);
    unsetenv("INTFA_CACHE_MAX_BYTES");
    assert_int_equal(intfa_cache_max_bytes(NULL, &max), INTFA_ERR_INVALID_ARGUMENT);
}

/* ------------------------------------------------------------------ temporaries */

static void test_stale_temporaries_removed_fresh_kept(void **state)
{
    const char *dir = *state;
    char stale[4200], fresh[4200], other[4200];
    snprintf(stale, sizeof stale, "%s/" INTFA_CACHE_TEMP_PREFIX "aa-1-2-3.part", dir);
    snprintf(fresh, sizeof fresh, "%s/" INTFA_CACHE_TEMP_PREFIX "bb-1-2-3.part", dir);
    snprintf(other, sizeof other, "%s/notes.tmp", dir);
    fixture_write_file(stale, "partial", 7);
    fixture_write_file(fresh, "partial", 7);
    fixture_write_file(other, "mine", 4);
    fixture_set_age(stale, INTFA_CACHE_STALE_TEMP_SECONDS + 60);
    fixture_set_age(fresh, INTFA_CACHE_STALE_TEMP_SECONDS - 60);
    fixture_set_age(other, 99999);
    intfa_cache_key k = publish_synthetic(dir, "e", 400);

    intfa_cache_trim_result r;
    assert_int_equal(intfa_cache_trim(dir, 1 << 20, NULL, &r), INTFA_OK);
    assert_int_equal(r.stale_temps, 1);
    assert_int_equal(r.evicted, 0);
    assert_int_equal(r.after.temps, 1);
    assert_int_equal(access(stale, F_OK), -1);
    assert_int_equal(access(fresh, F_OK), 0);
    assert_int_equal(access(other, F_OK), 0);
    assert_true(present(dir, &k));

    /* clear: entries and stale temporaries go; a fresh temporary and other files stay. */
    uint64_t removed = 0;
    assert_int_equal(intfa_cache_clear(dir, &removed), INTFA_OK);
    assert_int_equal(removed, 1);
    assert_false(present(dir, &k));
    assert_int_equal(access(fresh, F_OK), 0);
    assert_int_equal(access(other, F_OK), 0);
}

/* ------------------------------------------------------------------ location */

typedef struct saved_env { char *home, *xdg, *intfa; } saved_env;

static char *dup_env(const char *name)
{
    const char *v = getenv(name);
    return v ? strdup(v) : NULL;
}

static void restore_env(const char *name, char *value)
{
    if (value)
        setenv(name, value, 1);
    else
        unsetenv(name);
    free(value);
}

static void expect_resolved(const char *explicit_dir, const char *want)
{
    char *path = NULL;
    intfa_status st = intfa_cache_dir_resolve(explicit_dir, &path);
    if (st != INTFA_OK)
        fail_msg("resolve: %s", intfa_last_error());
    assert_string_equal(path, want);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    assert_int_equal(sb.st_mode & 0077, 0); /* created private */
    free(path);
}

static void test_location_order(void **state)
{
    const char *base = *state;
    saved_env saved = {dup_env("HOME"), dup_env("XDG_CACHE_HOME"), dup_env("INTFA_CACHE_DIR")};
    char a[4200], b[4200], want[4200];

    snprintf(a, sizeof a, "%s/env/x/y", base);
    setenv("INTFA_CACHE_DIR", a, 1);
    snprintf(b, sizeof b, "%s/xdg", base);
    setenv("XDG_CACHE_HOME", b, 1);
    setenv("HOME", base, 1);
    expect_resolved(NULL, a); /* $INTFA_CACHE_DIR, parents created */
    snprintf(want, sizeof want, "%s/explicit", base);
    expect_resolved(want, want); /* options.cache_dir beats the environment */

    setenv("INTFA_CACHE_DIR", "", 1); /* empty: unset */
    snprintf(want, sizeof want, "%s/xdg/intfa", base);
    expect_resolved(NULL, want);
    expect_resolved("", want);

    setenv("XDG_CACHE_HOME", "relative/xdg", 1); /* relative: ignored, as the spec says */
    snprintf(want, sizeof want, "%s/.cache/intfa", base);
    expect_resolved(NULL, want);
    unsetenv("XDG_CACHE_HOME");
    expect_resolved(NULL, want);

    unsetenv("HOME");
    unsetenv("INTFA_CACHE_DIR");
    char *path = (char *)0x1;
    assert_int_equal(intfa_cache_dir_resolve(NULL, &path), INTFA_ERR_IO);
    assert_non_null(strstr(intfa_last_error(), "HOME"));
    assert_ptr_equal(path, (void *)0x1);

    snprintf(want, sizeof want, "%s/file", base);
    fixture_write_file(want, "x", 1);
    snprintf(a, sizeof a, "%s/file/cache", base);
    assert_int_equal(intfa_cache_dir_resolve(a, &path), INTFA_ERR_IO);
    assert_non_null(strstr(intfa_last_error(), a));
    assert_int_equal(intfa_cache_dir_resolve(want, &path), INTFA_ERR_IO); /* not a directory */
    assert_ptr_equal(path, (void *)0x1);

    restore_env("HOME", saved.home);
    restore_env("XDG_CACHE_HOME", saved.xdg);
    restore_env("INTFA_CACHE_DIR", saved.intfa);
}

/* ------------------------------------------------------------------ logging */

static void test_verbose_logs_source_and_time(void **state)
{
    const char *dir = *state;
    intfa_cache_config cfg = {.dir = dir, .verbose = 1};
    intfa_variant v = fixture_variant(QK_A);
    void *bin = NULL;
    size_t size = 0;
    fixture_stderr_begin();
    assert_int_equal(intfa_cache_get_or_build(&cfg, &v, 1, &bin, &size, NULL), INTFA_OK);
    free(bin);
    assert_int_equal(intfa_cache_get_or_build(&cfg, &v, 1, &bin, &size, NULL), INTFA_OK);
    free(bin);
    char *err = fixture_stderr_end();
    const char *compiling = strstr(err, "intfa: compiling " QK_A " for sm_80 ...");
    const char *compiled = strstr(err, "intfa: " QK_A " for sm_80: compiled (NVRTC) in ");
    const char *cached = strstr(err, "intfa: " QK_A " for sm_80: disk cache in ");
    if (!compiling || !compiled || !cached || !(compiling < compiled && compiled < cached))
        fail_msg("unexpected log:\n%s", err);
    assert_int_equal(fixture_count_lines(err, "intfa:"), 3);
    free(err);

    cfg.verbose = 0; /* quiet: nothing for a fast hit */
    fixture_stderr_begin();
    assert_int_equal(intfa_cache_get_or_build(&cfg, &v, 1, &bin, &size, NULL), INTFA_OK);
    free(bin);
    err = fixture_stderr_end();
    assert_string_equal(err, "");
    free(err);
}

/* A compile that outlasts the delay gets a notice and a closing line; a quick one nothing,
 * and stopping does not wait for the delay. */
static void test_progress_notice_after_delay(void **state)
{
    (void)state;
    intfa_jit_progress p;
    fixture_stderr_begin();
    intfa_jit_progress_start(&p, "slow-variant", "sm_90a", 30);
    usleep(300 * 1000);
    intfa_jit_progress_stop(&p, 1, 300);
    char *err = fixture_stderr_end();
    const char *a = strstr(err, "intfa: compiling slow-variant for sm_90a (first use");
    const char *b = strstr(err, "intfa: compiled slow-variant in 300 ms");
    if (!a || !b || a > b)
        fail_msg("unexpected notice:\n%s", err);
    free(err);

    fixture_stderr_begin();
    double t0 = intfa_jit_now_ms();
    intfa_jit_progress_start(&p, "fast-variant", "sm_80", 5000);
    intfa_jit_progress_stop(&p, 1, 1);
    double waited = intfa_jit_now_ms() - t0;
    err = fixture_stderr_end();
    assert_string_equal(err, "");
    assert_true(waited < 1000);
    free(err);

    fixture_stderr_begin(); /* negative delay: quiet, however long it takes */
    intfa_jit_progress_start(&p, "quiet-variant", "sm_80", -1);
    usleep(50 * 1000);
    intfa_jit_progress_stop(&p, 1, 50);
    err = fixture_stderr_end();
    assert_string_equal(err, "");
    free(err);
}

/* ------------------------------------------------------------------ smaller parts */

static void test_memory_store_bounded_and_replacing(void **state)
{
    (void)state;
    intfa_cache_key k[3];
    unsigned char payload[100];
    for (int i = 0; i < 3; i++) {
        memset(&k[i], i + 1, sizeof k[i]);
        memset(payload, i + 1, sizeof payload);
        assert_int_equal(intfa_cache_memory_put(&k[i], payload, sizeof payload, 250), INTFA_OK);
    }
    void *p = NULL;
    size_t n = 0;
    int found = -1;
    assert_int_equal(intfa_cache_memory_get(&k[0], &p, &n, &found), INTFA_OK);
    assert_int_equal(found, 0); /* the oldest was dropped */
    assert_int_equal(intfa_cache_memory_get(&k[2], &p, &n, &found), INTFA_OK);
    assert_int_equal(found, 1);
    assert_int_equal(n, 100);
    assert_int_equal(((unsigned char *)p)[99], 3);
    free(p);
    memset(payload, 9, 50);
    assert_int_equal(intfa_cache_memory_put(&k[1], payload, 50, 250), INTFA_OK);
    assert_int_equal(intfa_cache_memory_get(&k[1], &p, &n, &found), INTFA_OK);
    assert_int_equal(n, 50);
    assert_int_equal(((unsigned char *)p)[0], 9);
    free(p);
    assert_int_equal(intfa_cache_memory_put(&k[1], payload, 0, 250), INTFA_ERR_INVALID_ARGUMENT);
}

static void test_argument_checks(void **state)
{
    const char *dir = *state;
    intfa_cache_config cfg = {.dir = dir};
    intfa_variant v = fixture_variant(QK_A);
    void *bin = (void *)0x1;
    size_t size = 5;
    assert_int_equal(intfa_cache_get_or_build(NULL, &v, 1, &bin, &size, NULL),
                     INTFA_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(intfa_last_error(), "cfg"));
    assert_int_equal(intfa_cache_get_or_build(&cfg, NULL, 1, &bin, &size, NULL),
                     INTFA_ERR_INVALID_ARGUMENT);
    assert_int_equal(intfa_cache_get_or_build(&cfg, &v, 1, NULL, &size, NULL),
                     INTFA_ERR_INVALID_ARGUMENT);
    assert_int_equal(intfa_cache_get_or_build(&cfg, &v, 1, &bin, NULL, NULL),
                     INTFA_ERR_INVALID_ARGUMENT);
    v.head_dim = 65;
    assert_int_not_equal(intfa_cache_get_or_build(&cfg, &v, 1, &bin, &size, NULL), INTFA_OK);
    assert_non_null(strstr(intfa_last_error(), "65"));
    assert_ptr_equal(bin, (void *)0x1);
    assert_int_equal(size, 5);
    assert_int_equal(fixture_count_files(dir, ""), 0);

    const void *aot = (void *)0x1;
    assert_int_equal(intfa_aot_lookup(QK_A, INTFA_ARCH_SM80, &aot, &size), INTFA_OK);
    assert_null(aot); /* the table is empty until issue 5 */
    assert_int_equal(intfa_aot_lookup(QK_A, INTFA_ARCH_COUNT, &aot, &size),
                     INTFA_ERR_INVALID_ARGUMENT);
    assert_int_equal(intfa_cache_trim(NULL, 1, NULL, NULL), INTFA_ERR_INVALID_ARGUMENT);
    assert_int_equal(intfa_cache_stats_get(NULL), INTFA_ERR_INVALID_ARGUMENT);
    assert_string_equal(intfa_binary_source_name(INTFA_BINARY_DISK), "disk");
    assert_null(intfa_binary_source_name((intfa_binary_source)99));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_miss_builds_then_disk_hit),
        T(test_hit_refreshes_time),
        T(test_corrupt_entries_reported_once_and_rebuilt),
        T(test_no_jit_miss_fails_naming_variant_hit_succeeds),
        T(test_context_options_reach_the_cache),
        T(test_unwritable_dir_warns_once_and_uses_memory),
        T(test_eviction_oldest_first_under_bound),
        T(test_build_trims_to_configured_bound),
        T(test_max_bytes_from_environment),
        T(test_stale_temporaries_removed_fresh_kept),
        T(test_location_order),
        T(test_verbose_logs_source_and_time),
        T(test_progress_notice_after_delay),
        T(test_memory_store_bounded_and_replacing),
        T(test_argument_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
