/* ref_convert.c - fp16 / bf16 <-> fp32 by bit manipulation: round to nearest even,
 * subnormals, overflow to infinity, NaN kept (made quiet). No dependence on compiler
 * _Float16 support or on the current rounding mode. */
#include <string.h>

#include "intfa_ref.h"

static uint32_t f32_bits(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static float bits_f32(uint32_t u)
{
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* Round the integer m / 2^shift to nearest, ties to even (shift in 1..31). */
static uint32_t shift_round_even(uint32_t m, int shift)
{
    uint32_t q = m >> shift;
    uint32_t rem = m & ((1u << shift) - 1u);
    uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (q & 1u)))
        q++;
    return q;
}

uint16_t intfa_ref_f32_to_f16(float x)
{
    uint32_t u = f32_bits(x);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    int exp = (int)((u >> 23) & 0xffu);
    uint32_t mant = u & 0x7fffffu;

    if (exp == 0xff) /* inf or NaN; NaN keeps its top payload bits and is made quiet */
        return (uint16_t)(sign | 0x7c00u | (mant ? 0x0200u | (mant >> 13) : 0u));
    int e = exp - 127; /* unbiased; fp32 subnormals (exp 0) are far below fp16's range */
    if (e > 15)
        return (uint16_t)(sign | 0x7c00u);
    if (e >= -14) {
        /* normal fp16; a carry out of the mantissa correctly bumps the exponent (to inf
         * from 65520 up) */
        uint32_t h = ((uint32_t)(e + 15) << 10) | (mant >> 13);
        uint32_t rem = mant & 0x1fffu;
        if (rem > 0x1000u || (rem == 0x1000u && (h & 1u)))
            h++;
        return (uint16_t)(sign | h);
    }
    if (exp == 0 || e < -25)
        return sign; /* below half the smallest subnormal: +-0 */
    /* subnormal fp16: value = m * 2^(e-23), in units of 2^-24: m / 2^(-e-1) */
    uint32_t m = mant | 0x800000u;
    return (uint16_t)(sign | shift_round_even(m, -e - 1)); /* 0x400 is the smallest normal */
}

float intfa_ref_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;
    if (exp == 0x1f)
        return bits_f32(sign | 0x7f800000u | (mant << 13));
    if (exp == 0) {
        if (mant == 0)
            return bits_f32(sign);
        /* subnormal: normalize the mantissa */
        int e = -14;
        while (!(mant & 0x400u)) {
            mant <<= 1;
            e--;
        }
        mant &= 0x3ffu;
        return bits_f32(sign | ((uint32_t)(e + 127) << 23) | (mant << 13));
    }
    return bits_f32(sign | ((exp - 15 + 127) << 23) | (mant << 13));
}

uint16_t intfa_ref_f32_to_bf16(float x)
{
    uint32_t u = f32_bits(x);
    if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x7fffffu))
        return (uint16_t)((u >> 16) | 0x0040u); /* NaN: keep it a (quiet) NaN */
    /* overflow of the rounding carries into the exponent and gives inf, as it should */
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

float intfa_ref_bf16_to_f32(uint16_t h)
{
    return bits_f32((uint32_t)h << 16);
}

float intfa_ref_round_dtype(float x, intfa_dtype dtype)
{
    if (dtype == INTFA_DTYPE_BF16)
        return intfa_ref_bf16_to_f32(intfa_ref_f32_to_bf16(x));
    return intfa_ref_f16_to_f32(intfa_ref_f32_to_f16(x));
}
