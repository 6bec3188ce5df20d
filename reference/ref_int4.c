/* ref_int4.c - the INT4 storage of Q and K: two values per byte along head_dim, element 2j in
 * the low nibble of byte j and element 2j + 1 in the high nibble, two's complement. */
#include "intfa_ref.h"

void intfa_ref_pack_int4(const int8_t *q, int64_t n, uint8_t *packed)
{
    for (int64_t j = 0; j < n / 2; j++)
        packed[j] = (uint8_t)(((unsigned)q[2 * j] & 15u) | (((unsigned)q[2 * j + 1] & 15u) << 4));
}

/* A nibble (0..15) as a signed value -8..7. */
static int8_t nibble(unsigned v)
{
    return (int8_t)(v >= 8 ? (int)v - 16 : (int)v);
}

void intfa_ref_unpack_int4(const uint8_t *packed, int64_t n, int8_t *q)
{
    for (int64_t j = 0; j < n / 2; j++) {
        q[2 * j] = nibble(packed[j] & 15u);
        q[2 * j + 1] = nibble(packed[j] >> 4);
    }
}
