/* hash.h - SHA-256 (FIPS 180-4), written from the standard: cache keys and entry checksums.
 * Not constant-time and not meant for secrets; it is here because a 64-bit hash is too weak
 * to name files by and to vouch for their contents. */
#ifndef INTFA_HASH_H
#define INTFA_HASH_H

#include <stddef.h>
#include <stdint.h>

#define INTFA_SHA256_BYTES 32

typedef struct intfa_sha256 {
    uint32_t state[8];
    uint64_t total;          /* bytes hashed so far */
    unsigned char block[64]; /* pending bytes of the current block */
    size_t pending;
} intfa_sha256;

/* Incremental use: init, any number of updates (data may be NULL when size is 0), final.
 * final writes the 32-byte digest and leaves h to be init'ed again before reuse. */
void intfa_sha256_init(intfa_sha256 *h);
void intfa_sha256_update(intfa_sha256 *h, const void *data, size_t size);
void intfa_sha256_final(intfa_sha256 *h, unsigned char digest[INTFA_SHA256_BYTES]);

/* One-shot digest of size bytes at data. */
void intfa_sha256_buffer(const void *data, size_t size, unsigned char digest[INTFA_SHA256_BYTES]);

/* Lower-case hex of n bytes into out (2n + 1 chars, NUL-terminated). */
void intfa_hex(const unsigned char *bytes, size_t n, char *out);

#endif
