/* tma_map.h - TMA tensor maps (cuTensorMapEncodeTiled through the dlopen'ed driver) of the
 * int8 tiles the sm_90a kernels read with wgmma, and the rules on what TMA can address. */
#ifndef INTFA_TMA_MAP_H
#define INTFA_TMA_MAP_H

#include <stdint.h>

#include "driver.h"
#include "intfa.h"

/* 1 when TMA takes s as a global stride: positive, a multiple of 16 bytes, below 2^40; a
 * stride over an extent of one is never used, so any value is usable there. */
int intfa_tma_stride_usable(int64_t s, int extent);

/* s, or 16 (a value TMA takes) for an unusable stride over an extent of one. */
cuuint64_t intfa_tma_stride(int64_t s, int extent);

/* An int8 map of rank 3 or 4 with boxes whose rows are row_bytes (32, 64 or 128) long, swizzled
 * as the wgmma descriptors expect (the 32-, 64- or 128-byte swizzle); rows past the tensor read
 * as zeros. what names the map in the error. */
intfa_status intfa_tma_map_int8(const intfa_cu *cu, CUtensorMap *map, const char *what, const void *base,
                                cuuint32_t rank, const cuuint64_t *dims, const cuuint64_t *strides,
                                const cuuint32_t *box, int row_bytes);

/* An fp32 map of n values read box at a time, as one row of a 2-D map (the kernel's copies are
 * 2-D with row 0): box * 4 a multiple of 16 bytes, base 16-byte aligned; values past n read as
 * zeros. */
intfa_status intfa_tma_map_f32(const intfa_cu *cu, CUtensorMap *map, const char *what, const float *base,
                               uint64_t n, uint32_t box);

#endif
