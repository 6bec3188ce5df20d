/* fuzz_cache_entry.c - libFuzzer harness: the kernel cache's entry reader
 * (intfa_cache_entry_check, runtime/cache_entry.c) on arbitrary files.
 *
 * Input: one mode byte, then the file. Mode bit 0 set: the harness first writes the correct
 * checksum into the file (when it is long enough to hold one), so mutations reach the checks
 * after the checksum (key, variant, target, library and NVRTC version, reserved bytes), which
 * a fuzzer could never reach by forging SHA-256.
 * Oracle: an accepted file is exactly what intfa_cache_entry_encode writes for the expected
 * header and the payload found (so nothing unchecked can hide in it); a rejected one is
 * INTFA_ERR_CORRUPT with a message, and the outputs are untouched. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "fuzz_check.h"

#define OFF_CHECKSUM (INTFA_CACHE_HEADER_BYTES - INTFA_SHA256_BYTES)

/* The entry every input is checked against (the seeds are entries of it). */
static intfa_cache_entry_info expected(void)
{
    intfa_cache_entry_info e;
    memset(&e, 0, sizeof e);
    for (int i = 0; i < INTFA_SHA256_BYTES; i++) e.key.bytes[i] = (unsigned char)(0xa0 + i);
    strcpy(e.variant_name, "attn_fwd-sm90a-d128-int8-fp16-causal-pu8-m64n128w4s2");
    strcpy(e.target, "sm_90a");
    strcpy(e.library_version, "0.1.0");
    e.nvrtc_version = 13000;
    return e;
}

static void fix_checksum(unsigned char *file, size_t size)
{
    if (size < INTFA_CACHE_HEADER_BYTES) return;
    intfa_sha256 h;
    intfa_sha256_init(&h);
    intfa_sha256_update(&h, file, OFF_CHECKSUM);
    intfa_sha256_update(&h, file + INTFA_CACHE_HEADER_BYTES, size - INTFA_CACHE_HEADER_BYTES);
    intfa_sha256_final(&h, file + OFF_CHECKSUM);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const int fix = data[0] & 1;
    size--;
    /* an exact-size copy, so reading past the end is caught */
    unsigned char *file = malloc(size ? size : 1);
    FUZZ_CHECK(file != NULL, "out of memory");
    if (size) memcpy(file, data + 1, size);
    if (fix) fix_checksum(file, size);

    const intfa_cache_entry_info e = expected();
    size_t offset = 12345, payload = 67890;
    intfa_status st = intfa_cache_entry_check(file, size, &e, &offset, &payload);
    if (st != INTFA_OK) {
        FUZZ_CHECK(st == INTFA_ERR_CORRUPT, "rejected with status %d, not INTFA_ERR_CORRUPT", (int)st);
        FUZZ_CHECK(intfa_last_error()[0] != '\0', "rejected without a message");
        FUZZ_CHECK(offset == 12345 && payload == 67890, "a rejected entry changed the outputs");
        free(file);
        return 0;
    }
    FUZZ_CHECK(offset == INTFA_CACHE_HEADER_BYTES && payload > 0 && offset + payload == size,
               "accepted: payload at %zu, %zu bytes, in a file of %zu", offset, payload, size);
    void *again = NULL;
    size_t again_size = 0;
    st = intfa_cache_entry_encode(&e, file + offset, payload, &again, &again_size);
    FUZZ_CHECK(st == INTFA_OK, "re-encoding an accepted entry failed: %s", intfa_last_error());
    FUZZ_CHECK(again_size == size && memcmp(again, file, size) == 0,
               "an accepted entry differs from the encoding of its own header and payload");
    free(again);
    free(file);
    return 0;
}
