/* test_cache_format.c - the kernel cache's pure parts: SHA-256 against the standard's
 * vectors, the key (changes with every input that matters), and the entry format (round trip;
 * every truncation and byte flip rejected; each mismatch named). No GPU; one NVRTC compile
 * for a real entry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cache.h"
#include "cache_fixture.h"
#include "error.h"
#include "hash.h"

static void assert_digest(const unsigned char d[INTFA_SHA256_BYTES], const char *hex)
{
    char got[2 * INTFA_SHA256_BYTES + 1];
    intfa_hex(d, INTFA_SHA256_BYTES, got);
    assert_string_equal(got, hex);
}

/* ------------------------------------------------------------------ SHA-256 */

static void test_sha256_standard_vectors(void **state)
{
    (void)state;
    unsigned char d[INTFA_SHA256_BYTES];
    intfa_sha256_buffer("", 0, d);
    assert_digest(d, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    intfa_sha256_buffer("abc", 3, d);
    assert_digest(d, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    intfa_sha256_buffer(m448, strlen(m448), d);
    assert_digest(d, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    const char *m896 = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopq"
                       "klmnopqrlmnopqrsmnopqrstnopqrstu";
    intfa_sha256_buffer(m896, strlen(m896), d);
    assert_digest(d, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");

    /* A million 'a', fed in uneven pieces (exercises the partial-block path). */
    char chunk[997];
    memset(chunk, 'a', sizeof chunk);
    intfa_sha256 h;
    intfa_sha256_init(&h);
    size_t left = 1000000, piece = 1;
    while (left > 0) {
        size_t n = piece < left ? piece : left;
        intfa_sha256_update(&h, chunk, n);
        left -= n;
        piece = piece * 7 % sizeof chunk + 1;
    }
    intfa_sha256_final(&h, d);
    assert_digest(d, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* Every length 0..199 (all padding cases around 55, 56, 64 and 119, 120, 128 bytes): the
 * digest of the concatenated digests, computed independently (Python hashlib). */
static void test_sha256_every_padding_length(void **state)
{
    (void)state;
    unsigned char msg[200], all[200 * INTFA_SHA256_BYTES], d[INTFA_SHA256_BYTES];
    for (int i = 0; i < 200; i++)
        msg[i] = (unsigned char)((i * 7 + 3) & 0xff);
    for (int n = 0; n < 200; n++) {
        intfa_sha256_buffer(msg, (size_t)n, all + n * INTFA_SHA256_BYTES);
        /* byte-at-a-time gives the same digest */
        intfa_sha256 h;
        intfa_sha256_init(&h);
        for (int i = 0; i < n; i++)
            intfa_sha256_update(&h, msg + i, 1);
        intfa_sha256_final(&h, d);
        assert_memory_equal(d, all + n * INTFA_SHA256_BYTES, INTFA_SHA256_BYTES);
    }
    intfa_sha256_buffer(all, sizeof all, d);
    assert_digest(d, "615d67a99b8c846e1f0582dfe127019e93c33a66e89ced6a4f81f932c82ece87");
}

/* ------------------------------------------------------------------ key */

static intfa_cache_key_inputs base_inputs(void)
{
    intfa_cache_key_inputs in = {
        .variant_name = "quant_qk-sm90-d64-int8-fp16-w4",
        .source = "// intfa quant_qk-sm90-d64-int8-fp16-w4\nextern \"C\" __global__ void k() {}\n",
        .nvrtc_version = 12080,
        .options = "-arch=<target> -std=c++17 -default-device -lineinfo -DINTFA_NVRTC=1",
        .target = "sm_90",
        .template_hash = 0x0123456789abcdefull,
        .library_version = "0.1.0",
    };
    return in;
}

static intfa_cache_key key_of(const intfa_cache_key_inputs *in)
{
    intfa_cache_key k;
    intfa_status st = intfa_cache_key_compute(in, &k);
    if (st != INTFA_OK)
        fail_msg("intfa_cache_key_compute: %s", intfa_last_error());
    return k;
}

static void test_key_changes_with_each_input(void **state)
{
    (void)state;
    intfa_cache_key_inputs base = base_inputs();
    intfa_cache_key keys[9];
    const char *what[9] = {"base", "source", "nvrtc", "options", "target sm_90a",
                           "template hash", "library version", "variant name", "source +1 char"};
    keys[0] = key_of(&base);
    intfa_cache_key_inputs in = base;
    in.source = "// intfa quant_qk-sm90-d64-int8-fp16-w4\nextern \"C\" __global__ void k() { }\n";
    keys[1] = key_of(&in);
    in = base;
    in.nvrtc_version = 12090;
    keys[2] = key_of(&in);
    in = base;
    in.options = "-arch=<target> -std=c++17 -default-device -DINTFA_NVRTC=1";
    keys[3] = key_of(&in);
    in = base;
    in.target = "sm_90a";
    keys[4] = key_of(&in);
    in = base;
    in.template_hash ^= 1;
    keys[5] = key_of(&in);
    in = base;
    in.library_version = "0.1.1";
    keys[6] = key_of(&in);
    in = base;
    in.variant_name = "quant_qk-sm90-d64-int8-fp16-w8";
    keys[7] = key_of(&in);
    in = base;
    in.source = "// intfa quant_qk-sm90-d64-int8-fp16-w4\nextern \"C\" __global__ void k() {}\n\n";
    keys[8] = key_of(&in);
    for (int i = 0; i < 9; i++)
        for (int j = i + 1; j < 9; j++)
            if (memcmp(keys[i].bytes, keys[j].bytes, sizeof keys[i].bytes) == 0)
                fail_msg("key(%s) == key(%s)", what[i], what[j]);
    /* Same inputs, same key (other storage, same text). */
    char copy[256];
    strcpy(copy, base.source);
    in = base;
    in.source = copy;
    intfa_cache_key again = key_of(&in);
    assert_memory_equal(again.bytes, keys[0].bytes, sizeof again.bytes);
}

/* Moving text from one field into its neighbour changes the key: fields are delimited. */
static void test_key_fields_do_not_run_together(void **state)
{
    (void)state;
    intfa_cache_key_inputs a = base_inputs(), b = base_inputs();
    a.options = "-O3 sm";
    a.target = "_90";
    b.options = "-O3 ";
    b.target = "sm_90";
    intfa_cache_key ka = key_of(&a), kb = key_of(&b);
    assert_memory_not_equal(ka.bytes, kb.bytes, sizeof ka.bytes);
}

/* The real inputs: sm_90 and sm_90a variants get different targets and keys; the inputs name
 * this build's NVRTC, options, template hash and version. */
static void test_key_inputs_of_real_variants(void **state)
{
    (void)state;
    intfa_variant v90 = fixture_variant("quant_qk-sm90-d64-int8-fp16-w4");
    intfa_variant v90a = fixture_variant("quant_qk-sm90a-d64-int8-fp16-w4");
    const char *src = "// same source for both\n";
    intfa_cache_key_inputs a, b;
    assert_int_equal(intfa_cache_key_inputs_of(&v90, "n", src, &a), INTFA_OK);
    assert_int_equal(intfa_cache_key_inputs_of(&v90a, "n", src, &b), INTFA_OK);
    assert_string_equal(a.target, "sm_90");
    assert_string_equal(b.target, "sm_90a");
    assert_string_equal(a.library_version, intfa_version_string());
    assert_non_null(strstr(a.options, "-arch="));
    assert_true(a.nvrtc_version >= 11000);
    intfa_cache_key ka = key_of(&a), kb = key_of(&b);
    assert_memory_not_equal(ka.bytes, kb.bytes, sizeof ka.bytes);

    char path[256];
    assert_int_equal(intfa_cache_entry_path("/c", &ka, path, sizeof path), INTFA_OK);
    assert_int_equal(strlen(path), 3 + 64 + strlen(".cubin"));
    assert_int_equal(intfa_cache_entry_path("/c", &ka, path, 20), INTFA_ERR_INVALID_ARGUMENT);
}

static void test_key_argument_checks(void **state)
{
    (void)state;
    intfa_cache_key k;
    memset(&k, 0xab, sizeof k);
    intfa_cache_key_inputs in = base_inputs();
    in.source = NULL;
    assert_int_equal(intfa_cache_key_compute(&in, &k), INTFA_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(intfa_last_error(), "source"));
    assert_int_equal(k.bytes[0], 0xab); /* unchanged */
    assert_int_equal(intfa_cache_key_compute(NULL, &k), INTFA_ERR_INVALID_ARGUMENT);
    in = base_inputs();
    assert_int_equal(intfa_cache_key_compute(&in, NULL), INTFA_ERR_INVALID_ARGUMENT);
    intfa_variant v = fixture_variant("quant_qk-sm80-d64-int8-fp16-w4");
    v.arch = INTFA_ARCH_COUNT;
    assert_int_equal(intfa_cache_key_inputs_of(&v, "n", "s", &in), INTFA_ERR_INVALID_ARGUMENT);
}

/* ------------------------------------------------------------------ entry format */

typedef struct entry_fixture {
    intfa_cache_entry_info info;
    unsigned char *file;
    size_t size;
} entry_fixture;

static entry_fixture make_entry(const intfa_cache_key_inputs *in, const void *payload,
                                size_t payload_size)
{
    entry_fixture e;
    intfa_cache_key key = key_of(in);
    assert_int_equal(intfa_cache_entry_info_of(in, &key, &e.info), INTFA_OK);
    void *file = NULL;
    if (intfa_cache_entry_encode(&e.info, payload, payload_size, &file, &e.size) != INTFA_OK)
        fail_msg("encode: %s", intfa_last_error());
    e.file = file;
    return e;
}

static intfa_status check(const entry_fixture *e, const void *file, size_t size)
{
    size_t off = 0, n = 0;
    return intfa_cache_entry_check(file, size, &e->info, &off, &n);
}

/* Rewrites the checksum after a deliberate header change, so only that change is seen. */
static void restamp(unsigned char *file, size_t size)
{
    intfa_sha256 h;
    intfa_sha256_init(&h);
    intfa_sha256_update(&h, file, 224);
    intfa_sha256_update(&h, file + INTFA_CACHE_HEADER_BYTES, size - INTFA_CACHE_HEADER_BYTES);
    intfa_sha256_final(&h, file + 224);
}

static void fill_random(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (unsigned char)(seed >> 16);
    }
}

static void test_entry_round_trip(void **state)
{
    (void)state;
    unsigned char payload[300];
    fill_random(payload, sizeof payload, 1);
    intfa_cache_key_inputs in = base_inputs();
    entry_fixture e = make_entry(&in, payload, sizeof payload);
    assert_int_equal(e.size, INTFA_CACHE_HEADER_BYTES + sizeof payload);
    assert_memory_equal(e.file, "INTFAKC", 8);
    /* the variant name is readable in the header */
    assert_string_equal((const char *)e.file + 96, in.variant_name);
    size_t off = 0, n = 0;
    assert_int_equal(intfa_cache_entry_check(e.file, e.size, &e.info, &off, &n), INTFA_OK);
    assert_int_equal(off, INTFA_CACHE_HEADER_BYTES);
    assert_int_equal(n, sizeof payload);
    assert_memory_equal(e.file + off, payload, n);
    free(e.file);
}

/* Every prefix of a valid entry, and every single-byte change at every offset (four kinds of
 * change each), is rejected as corrupt; so are random multi-byte changes and appended bytes. */
static void fuzz_entry(const entry_fixture *e, int random_rounds)
{
    unsigned char *copy = malloc(e->size + 1);
    assert_non_null(copy);
    for (size_t len = 0; len < e->size; len++)
        if (check(e, e->file, len) != INTFA_ERR_CORRUPT)
            fail_msg("a truncation to %zu of %zu bytes was accepted", len, e->size);
    memcpy(copy, e->file, e->size);
    copy[e->size] = 0;
    assert_int_equal(check(e, copy, e->size + 1), INTFA_ERR_CORRUPT);

    const unsigned char masks[] = {0x01, 0x80, 0xff, 0x5a};
    size_t step = e->size > 4096 ? 7 : 1; /* large real entries: every 7th byte, all masks */
    for (size_t pos = 0; pos < e->size; pos += step) {
        for (size_t m = 0; m < sizeof masks; m++) {
            copy[pos] ^= masks[m];
            if (check(e, copy, e->size) != INTFA_ERR_CORRUPT)
                fail_msg("byte %zu ^ 0x%02x of %zu was accepted", pos, masks[m], e->size);
            copy[pos] ^= masks[m];
        }
    }
    unsigned seed = 12345;
    for (int round = 0; round < random_rounds; round++) {
        int flips = 1 + round % 5;
        for (int f = 0; f < flips; f++) {
            seed = seed * 1103515245u + 12345u;
            size_t pos = (seed >> 8) % e->size;
            copy[pos] ^= (unsigned char)(1u << (seed % 8));
        }
        if (memcmp(copy, e->file, e->size) != 0 && check(e, copy, e->size) != INTFA_ERR_CORRUPT)
            fail_msg("random change round %d was accepted", round);
        memcpy(copy, e->file, e->size);
    }
    assert_int_equal(check(e, copy, e->size), INTFA_OK); /* the copy itself is fine */
    free(copy);
}

static void test_entry_every_truncation_and_flip_rejected(void **state)
{
    (void)state;
    unsigned char payload[300];
    fill_random(payload, sizeof payload, 2);
    intfa_cache_key_inputs in = base_inputs();
    entry_fixture e = make_entry(&in, payload, sizeof payload);
    fuzz_entry(&e, 3000);
    free(e.file);
}

/* The same on an entry holding a real cubin. */
static void test_real_entry_fuzz(void **state)
{
    (void)state;
    intfa_variant v = fixture_variant("quant_qk-sm80-d64-int8-fp16-w4");
    void *cubin = NULL;
    size_t size = 0;
    if (intfa_variant_compile(&v, &cubin, &size, NULL) != INTFA_OK)
        fail_msg("compile: %s", intfa_last_error());
    intfa_cache_key_inputs in = base_inputs();
    in.variant_name = "quant_qk-sm80-d64-int8-fp16-w4";
    entry_fixture e = make_entry(&in, cubin, size);
    fuzz_entry(&e, 1000);
    free(e.file);
    intfa_free(cubin);
}

/* Each kind of mismatch is rejected with a message naming it. */
static void expect_corrupt(const entry_fixture *e, const void *file, size_t size,
                           const char *phrase)
{
    intfa_status st = check(e, file, size);
    if (st != INTFA_ERR_CORRUPT)
        fail_msg("expected corrupt (\"%s\"), got %s", phrase, intfa_status_string(st));
    if (!strstr(intfa_last_error(), phrase))
        fail_msg("message \"%s\" does not say \"%s\"", intfa_last_error(), phrase);
}

static void test_entry_mismatches_named(void **state)
{
    (void)state;
    unsigned char payload[64];
    fill_random(payload, sizeof payload, 3);
    intfa_cache_key_inputs in = base_inputs();
    entry_fixture e = make_entry(&in, payload, sizeof payload);
    unsigned char *c = malloc(e.size);
    assert_non_null(c);

    expect_corrupt(&e, e.file, 5, "truncated");
    expect_corrupt(&e, e.file, 100, "truncated");
    memcpy(c, e.file, e.size);
    c[0] = 'X';
    expect_corrupt(&e, c, e.size, "bad magic");
    memcpy(c, e.file, e.size);
    c[8] = 2; /* a format version from the future, otherwise intact */
    restamp(c, e.size);
    expect_corrupt(&e, c, e.size, "format version 2");
    memcpy(c, e.file, e.size);
    c[16] ^= 1;
    expect_corrupt(&e, c, e.size, "size mismatch");
    memcpy(c, e.file, e.size);
    c[e.size - 1] ^= 1;
    expect_corrupt(&e, c, e.size, "checksum mismatch");

    /* Intact entries, but not the one asked for. */
    intfa_cache_key_inputs other_in = in;
    other_in.source = "other";
    entry_fixture o = make_entry(&other_in, payload, sizeof payload);
    expect_corrupt(&e, o.file, o.size, "key mismatch");
    free(o.file);

    /* Same key, other header fields (a collision or a forged file): each field is checked. */
    intfa_cache_entry_info alt = e.info;
    void *f = NULL;
    size_t fs = 0;
    const char *phrases[] = {"variant mismatch", "target mismatch", "library version mismatch",
                             "NVRTC version mismatch"};
    for (int i = 0; i < 4; i++) {
        alt = e.info;
        if (i == 0) strcpy(alt.variant_name, "quant_qk-sm90-d128-int8-fp16-w4");
        if (i == 1) strcpy(alt.target, "sm_90a");
        if (i == 2) strcpy(alt.library_version, "9.9.9");
        if (i == 3) alt.nvrtc_version = 11080;
        assert_int_equal(intfa_cache_entry_encode(&alt, payload, sizeof payload, &f, &fs),
                         INTFA_OK);
        expect_corrupt(&e, f, fs, phrases[i]);
        free(f);
    }
    free(c);
    free(e.file);
}

static void test_entry_argument_checks(void **state)
{
    (void)state;
    intfa_cache_key_inputs in = base_inputs();
    intfa_cache_key key = key_of(&in);
    intfa_cache_entry_info info;
    assert_int_equal(intfa_cache_entry_info_of(&in, &key, &info), INTFA_OK);
    void *file = (void *)0x1;
    size_t size = 7;
    unsigned char payload[4] = {1, 2, 3, 4};
    assert_int_equal(intfa_cache_entry_encode(&info, payload, 0, &file, &size),
                     INTFA_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(intfa_last_error(), "payload_size = 0"));
    assert_int_equal(intfa_cache_entry_encode(NULL, payload, 4, &file, &size),
                     INTFA_ERR_INVALID_ARGUMENT);
    assert_ptr_equal(file, (void *)0x1);
    assert_int_equal(size, 7);
    in.target = "sm_90a-with-a-very-long-suffix";
    intfa_cache_entry_info before = info;
    assert_int_equal(intfa_cache_entry_info_of(&in, &key, &info), INTFA_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(intfa_last_error(), "target"));
    assert_memory_equal(&before, &info, sizeof info);
    size_t off = 99;
    assert_int_equal(intfa_cache_entry_check(NULL, 0, &info, &off, &size),
                     INTFA_ERR_INVALID_ARGUMENT);
    assert_int_equal(off, 99);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_standard_vectors),
        cmocka_unit_test(test_sha256_every_padding_length),
        cmocka_unit_test(test_key_changes_with_each_input),
        cmocka_unit_test(test_key_fields_do_not_run_together),
        cmocka_unit_test(test_key_inputs_of_real_variants),
        cmocka_unit_test(test_key_argument_checks),
        cmocka_unit_test(test_entry_round_trip),
        cmocka_unit_test(test_entry_every_truncation_and_flip_rejected),
        cmocka_unit_test(test_real_entry_fuzz),
        cmocka_unit_test(test_entry_mismatches_named),
        cmocka_unit_test(test_entry_argument_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
