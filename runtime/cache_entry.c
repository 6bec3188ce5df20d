/* cache_entry.c - the cache entry file: a 256-byte self-describing header (layout in cache.h)
 * then the cubin. The checksum covers the header and the payload, so any changed byte is
 * caught; the fields are also compared one by one, for a message that says what differs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "error.h"

static const unsigned char entry_magic[8] = {'I', 'N', 'T', 'F', 'A', 'K', 'C', '\0'};

enum {
    OFF_MAGIC = 0,
    OFF_FORMAT = 8,
    OFF_HEADER_SIZE = 12,
    OFF_PAYLOAD_SIZE = 16,
    OFF_KEY = 24,
    OFF_NVRTC = 56,
    OFF_ZERO = 60,
    OFF_TARGET = 64,
    OFF_LIBRARY = 80,
    OFF_NAME = 96,
    OFF_CHECKSUM = 224
};
_Static_assert(OFF_NAME + INTFA_VARIANT_NAME_MAX == OFF_CHECKSUM, "header layout");
_Static_assert(OFF_CHECKSUM + INTFA_SHA256_BYTES == INTFA_CACHE_HEADER_BYTES, "header layout");
_Static_assert(OFF_LIBRARY - OFF_TARGET == INTFA_CACHE_TARGET_MAX, "header layout");
_Static_assert(OFF_NAME - OFF_LIBRARY == INTFA_CACHE_VERSION_MAX, "header layout");

static void put_le(unsigned char *p, uint64_t x, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (unsigned char)(x >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int bytes)
{
    uint64_t x = 0;
    for (int i = bytes - 1; i >= 0; i--)
        x = x << 8 | p[i];
    return x;
}

/* A NUL-padded text field: s must fit with at least one NUL. */
static int put_text(unsigned char *field, size_t cap, const char *s)
{
    size_t n = strnlen(s, cap);
    if (n >= cap)
        return 0;
    memset(field, 0, cap);
    memcpy(field, s, n);
    return 1;
}

/* 1 if field holds exactly s followed by NULs. */
static int text_is(const unsigned char *field, size_t cap, const char *s)
{
    size_t n = strnlen(s, cap);
    if (n >= cap || memcmp(field, s, n) != 0)
        return 0;
    for (size_t i = n; i < cap; i++)
        if (field[i] != 0)
            return 0;
    return 1;
}

static void entry_checksum(const unsigned char *header, const void *payload, size_t size,
                           unsigned char digest[INTFA_SHA256_BYTES])
{
    intfa_sha256 h;
    intfa_sha256_init(&h);
    intfa_sha256_update(&h, header, OFF_CHECKSUM);
    intfa_sha256_update(&h, payload, size);
    intfa_sha256_final(&h, digest);
}

intfa_status intfa_cache_entry_info_of(const intfa_cache_key_inputs *in,
                                       const intfa_cache_key *key, intfa_cache_entry_info *out)
{
    if (!in || !key || !out)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_cache_entry_info_of: %s is NULL",
                          !in ? "in" : !key ? "key" : "out");
    if (!in->variant_name || !in->target || !in->library_version)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_cache_entry_info_of: in->%s is NULL",
                          !in->variant_name ? "variant_name" : !in->target ? "target"
                                                                         : "library_version");
    intfa_cache_entry_info info;
    memset(&info, 0, sizeof info);
    info.key = *key;
    info.nvrtc_version = in->nvrtc_version;
    const struct { const char *what, *s; char *dst; size_t cap; } texts[] = {
        {"variant_name", in->variant_name, info.variant_name, sizeof info.variant_name},
        {"target", in->target, info.target, sizeof info.target},
        {"library_version", in->library_version, info.library_version,
         sizeof info.library_version},
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        if (strnlen(texts[i].s, texts[i].cap) >= texts[i].cap)
            return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_cache_entry_info_of: in->%s = "
                              "\"%.40s...\" is longer than %zu characters", texts[i].what,
                              texts[i].s, texts[i].cap - 1);
        strcpy(texts[i].dst, texts[i].s);
    }
    *out = info;
    return INTFA_OK;
}

intfa_status intfa_cache_entry_encode(const intfa_cache_entry_info *info, const void *payload,
                                      size_t payload_size, void **file, size_t *file_size)
{
    if (!info || !payload || !file || !file_size)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_cache_entry_encode: %s is NULL",
                          !info ? "info" : !payload ? "payload" : !file ? "file" : "file_size");
    if (payload_size == 0 || payload_size > INTFA_CACHE_ENTRY_MAX_BYTES - INTFA_CACHE_HEADER_BYTES)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_cache_entry_encode: payload_size = "
                          "%zu is not in 1 .. %llu", payload_size,
                          INTFA_CACHE_ENTRY_MAX_BYTES - INTFA_CACHE_HEADER_BYTES);
    if (info->nvrtc_version < 0)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_cache_entry_encode: "
                          "info->nvrtc_version = %d is negative", info->nvrtc_version);
    unsigned char header[INTFA_CACHE_HEADER_BYTES];
    memset(header, 0, sizeof header);
    memcpy(header + OFF_MAGIC, entry_magic, sizeof entry_magic);
    put_le(header + OFF_FORMAT, INTFA_CACHE_FORMAT_VERSION, 4);
    put_le(header + OFF_HEADER_SIZE, INTFA_CACHE_HEADER_BYTES, 4);
    put_le(header + OFF_PAYLOAD_SIZE, payload_size, 8);
    memcpy(header + OFF_KEY, info->key.bytes, INTFA_SHA256_BYTES);
    put_le(header + OFF_NVRTC, (uint64_t)info->nvrtc_version, 4);
    if (!put_text(header + OFF_TARGET, INTFA_CACHE_TARGET_MAX, info->target) ||
        !put_text(header + OFF_LIBRARY, INTFA_CACHE_VERSION_MAX, info->library_version) ||
        !put_text(header + OFF_NAME, INTFA_VARIANT_NAME_MAX, info->variant_name))
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_cache_entry_encode: a text field "
                          "of info is not NUL-terminated within its size");
    entry_checksum(header, payload, payload_size, header + OFF_CHECKSUM);

    unsigned char *out = malloc(INTFA_CACHE_HEADER_BYTES + payload_size);
    if (!out)
        return intfa_fail(INTFA_ERR_OUT_OF_MEMORY, "intfa_cache_entry_encode: %zu bytes",
                          INTFA_CACHE_HEADER_BYTES + payload_size);
    memcpy(out, header, INTFA_CACHE_HEADER_BYTES);
    memcpy(out + INTFA_CACHE_HEADER_BYTES, payload, payload_size);
    *file = out;
    *file_size = INTFA_CACHE_HEADER_BYTES + payload_size;
    return INTFA_OK;
}

#define CORRUPT(...) intfa_fail(INTFA_ERR_CORRUPT, __VA_ARGS__)

intfa_status intfa_cache_entry_check(const void *file, size_t file_size,
                                     const intfa_cache_entry_info *expect,
                                     size_t *payload_offset, size_t *payload_size)
{
    if (!file || !expect || !payload_offset || !payload_size)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_cache_entry_check: %s is NULL",
                          !file ? "file" : !expect ? "expect" : !payload_offset ? "payload_offset"
                                                                                : "payload_size");
    const unsigned char *h = file;
    if (file_size < sizeof entry_magic)
        return CORRUPT("truncated: %zu bytes, shorter than the magic", file_size);
    if (memcmp(h + OFF_MAGIC, entry_magic, sizeof entry_magic) != 0)
        return CORRUPT("bad magic: not an intfa cache entry");
    if (file_size < OFF_PAYLOAD_SIZE)
        return CORRUPT("truncated: %zu bytes, shorter than the header", file_size);
    uint64_t format = get_le(h + OFF_FORMAT, 4);
    if (format != INTFA_CACHE_FORMAT_VERSION)
        return CORRUPT("format version %llu (this library reads version %d)",
                       (unsigned long long)format, INTFA_CACHE_FORMAT_VERSION);
    uint64_t header_size = get_le(h + OFF_HEADER_SIZE, 4);
    if (header_size != INTFA_CACHE_HEADER_BYTES)
        return CORRUPT("header size %llu, expected %d", (unsigned long long)header_size,
                       INTFA_CACHE_HEADER_BYTES);
    if (file_size < INTFA_CACHE_HEADER_BYTES)
        return CORRUPT("truncated: %zu bytes, shorter than the header", file_size);
    uint64_t size = get_le(h + OFF_PAYLOAD_SIZE, 8);
    if (size == 0 || size != file_size - INTFA_CACHE_HEADER_BYTES)
        return CORRUPT("size mismatch: the header says %llu payload bytes, the file holds %zu",
                       (unsigned long long)size, file_size - INTFA_CACHE_HEADER_BYTES);
    unsigned char digest[INTFA_SHA256_BYTES];
    entry_checksum(h, h + INTFA_CACHE_HEADER_BYTES, (size_t)size, digest);
    if (memcmp(digest, h + OFF_CHECKSUM, sizeof digest) != 0)
        return CORRUPT("checksum mismatch");
    /* Intact; now: is it the entry asked for? */
    if (memcmp(h + OFF_KEY, expect->key.bytes, INTFA_SHA256_BYTES) != 0)
        return CORRUPT("key mismatch: the file holds another entry");
    if (!text_is(h + OFF_NAME, INTFA_VARIANT_NAME_MAX, expect->variant_name))
        return CORRUPT("variant mismatch: the file holds \"%.*s\"", INTFA_VARIANT_NAME_MAX,
                       (const char *)(h + OFF_NAME));
    if (!text_is(h + OFF_TARGET, INTFA_CACHE_TARGET_MAX, expect->target))
        return CORRUPT("target mismatch: the file is for \"%.*s\"", INTFA_CACHE_TARGET_MAX,
                       (const char *)(h + OFF_TARGET));
    if (!text_is(h + OFF_LIBRARY, INTFA_CACHE_VERSION_MAX, expect->library_version))
        return CORRUPT("library version mismatch: the file is from \"%.*s\"",
                       INTFA_CACHE_VERSION_MAX, (const char *)(h + OFF_LIBRARY));
    uint64_t nvrtc = get_le(h + OFF_NVRTC, 4);
    if (nvrtc != (uint64_t)(uint32_t)expect->nvrtc_version)
        return CORRUPT("NVRTC version mismatch: the file is from %llu, this is %d",
                       (unsigned long long)nvrtc, expect->nvrtc_version);
    if (get_le(h + OFF_ZERO, 4) != 0)
        return CORRUPT("reserved header bytes are not zero");
    *payload_offset = INTFA_CACHE_HEADER_BYTES;
    *payload_size = (size_t)size;
    return INTFA_OK;
}
