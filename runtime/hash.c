/* hash.c - SHA-256 as FIPS 180-4 section 6.2 describes it: 512-bit blocks, a 64-word message
 * schedule, 64 rounds, big-endian words, the message padded with 0x80, zeros and its bit
 * length. */
#include <string.h>

#include "hash.h"

/* First 32 bits of the fractional parts of the cube roots of the first 64 primes (4.2.2). */
static const uint32_t round_constants[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2};

/* First 32 bits of the fractional parts of the square roots of the first 8 primes (5.3.3). */
static const uint32_t initial_state[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                          0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

static uint32_t rotr(uint32_t x, unsigned n) { return (x >> n) | (x << (32 - n)); }

static uint32_t load_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void store_be32(unsigned char *p, uint32_t x)
{
    p[0] = (unsigned char)(x >> 24);
    p[1] = (unsigned char)(x >> 16);
    p[2] = (unsigned char)(x >> 8);
    p[3] = (unsigned char)x;
}

/* One 64-byte block into the state (6.2.2 steps 1-4). */
static void compress(uint32_t state[8], const unsigned char *block)
{
    uint32_t w[64];
    for (int t = 0; t < 16; t++)
        w[t] = load_be32(block + 4 * t);
    for (int t = 16; t < 64; t++) {
        uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
        uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
    uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
    for (int t = 0; t < 64; t++) {
        uint32_t sum1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
        uint32_t choose = (e & f) ^ (~e & g);
        uint32_t t1 = h + sum1 + choose + round_constants[t] + w[t];
        uint32_t sum0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
        uint32_t majority = (a & b) ^ (a & c) ^ (b & c);
        uint32_t t2 = sum0 + majority;
        h = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
    state[4] += e;
    state[5] += f;
    state[6] += g;
    state[7] += h;
}

void intfa_sha256_init(intfa_sha256 *h)
{
    memcpy(h->state, initial_state, sizeof h->state);
    h->total = 0;
    h->pending = 0;
}

void intfa_sha256_update(intfa_sha256 *h, const void *data, size_t size)
{
    if (size == 0)
        return;
    const unsigned char *p = data;
    h->total += size;
    if (h->pending > 0) {
        size_t take = 64 - h->pending < size ? 64 - h->pending : size;
        memcpy(h->block + h->pending, p, take);
        h->pending += take;
        p += take;
        size -= take;
        if (h->pending < 64)
            return;
        compress(h->state, h->block);
        h->pending = 0;
    }
    for (; size >= 64; p += 64, size -= 64)
        compress(h->state, p);
    if (size > 0)
        memcpy(h->block, p, size);
    h->pending = size;
}

void intfa_sha256_final(intfa_sha256 *h, unsigned char digest[INTFA_SHA256_BYTES])
{
    /* Padding (5.1.1): 0x80, zeros up to 56 mod 64, then the length in bits, big-endian. */
    uint64_t bits = h->total * 8;
    h->block[h->pending++] = 0x80;
    if (h->pending > 56) {
        memset(h->block + h->pending, 0, 64 - h->pending);
        compress(h->state, h->block);
        h->pending = 0;
    }
    memset(h->block + h->pending, 0, 56 - h->pending);
    store_be32(h->block + 56, (uint32_t)(bits >> 32));
    store_be32(h->block + 60, (uint32_t)bits);
    compress(h->state, h->block);
    for (int i = 0; i < 8; i++)
        store_be32(digest + 4 * i, h->state[i]);
    h->pending = 0;
}

void intfa_sha256_buffer(const void *data, size_t size, unsigned char digest[INTFA_SHA256_BYTES])
{
    intfa_sha256 h;
    intfa_sha256_init(&h);
    intfa_sha256_update(&h, data, size);
    intfa_sha256_final(&h, digest);
}

void intfa_hex(const unsigned char *bytes, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * n] = '\0';
}
