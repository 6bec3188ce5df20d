/* cache_key.c - a cache key: SHA-256 over everything that changes a binary. Each field is
 * hashed as a one-byte tag, its length as 8 little-endian bytes, then its bytes, after a
 * domain string; so no two different input sets share an encoding. */
#include <string.h>

#include "cache.h"
#include "error.h"
#include "nvrtc_compile.h"
#include "template.h"

#define KEY_DOMAIN "intfa kernel cache key v1"

enum key_tag {
    TAG_VARIANT_NAME = 1,
    TAG_SOURCE,
    TAG_NVRTC_VERSION,
    TAG_OPTIONS,
    TAG_TARGET,
    TAG_TEMPLATE_HASH,
    TAG_LIBRARY_VERSION
};

static void put_le64(unsigned char *p, uint64_t x)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(x >> (8 * i));
}

static void hash_field(intfa_sha256 *h, enum key_tag tag, const void *bytes, size_t size)
{
    unsigned char head[9];
    head[0] = (unsigned char)tag;
    put_le64(head + 1, size);
    intfa_sha256_update(h, head, sizeof head);
    intfa_sha256_update(h, bytes, size);
}

static void hash_string(intfa_sha256 *h, enum key_tag tag, const char *s)
{
    hash_field(h, tag, s, strlen(s));
}

static void hash_u64(intfa_sha256 *h, enum key_tag tag, uint64_t x)
{
    unsigned char b[8];
    put_le64(b, x);
    hash_field(h, tag, b, sizeof b);
}

intfa_status intfa_cache_key_inputs_of(const intfa_variant *v, const char *name,
                                       const char *source, intfa_cache_key_inputs *out)
{
    if (!v || !name || !source || !out)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_cache_key_inputs_of: %s is NULL",
                          !v ? "v" : !name ? "name" : !source ? "source" : "out");
    if ((unsigned)v->arch >= INTFA_ARCH_COUNT)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_cache_key_inputs_of: v->arch = %d "
                          "is not an intfa_arch", (int)v->arch);
    intfa_cache_key_inputs in = {
        .variant_name = name,
        .source = source,
        .nvrtc_version = intfa_nvrtc_version(),
        .options = intfa_nvrtc_options_string(),
        .target = intfa_arch_name(v->arch),
        .template_hash = intfa_template_hash(),
        .library_version = intfa_version_string(),
    };
    *out = in;
    return INTFA_OK;
}

intfa_status intfa_cache_key_compute(const intfa_cache_key_inputs *in, intfa_cache_key *out)
{
    if (!in)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_cache_key_compute: in is NULL");
    if (!out)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_cache_key_compute: out is NULL");
    const char *missing = !in->variant_name ? "variant_name" : !in->source ? "source"
                        : !in->options ? "options" : !in->target ? "target"
                        : !in->library_version ? "library_version" : NULL;
    if (missing)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_cache_key_compute: in->%s is NULL",
                          missing);

    intfa_sha256 h;
    intfa_sha256_init(&h);
    intfa_sha256_update(&h, KEY_DOMAIN, sizeof KEY_DOMAIN); /* with its NUL */
    hash_string(&h, TAG_VARIANT_NAME, in->variant_name);
    hash_string(&h, TAG_SOURCE, in->source);
    hash_u64(&h, TAG_NVRTC_VERSION, (uint64_t)(int64_t)in->nvrtc_version);
    hash_string(&h, TAG_OPTIONS, in->options);
    hash_string(&h, TAG_TARGET, in->target);
    hash_u64(&h, TAG_TEMPLATE_HASH, in->template_hash);
    hash_string(&h, TAG_LIBRARY_VERSION, in->library_version);
    intfa_sha256_final(&h, out->bytes);
    return INTFA_OK;
}
