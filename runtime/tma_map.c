/* tma_map.c - TMA tensor maps of the sm_90a kernels' tiles. */
#include "tma_map.h"

#include "error.h"

static int stride_ok(int64_t s) { return s > 0 && s % 16 == 0 && s < ((int64_t)1 << 40); }

int intfa_tma_stride_usable(int64_t s, int extent) { return extent == 1 || stride_ok(s); }

cuuint64_t intfa_tma_stride(int64_t s, int extent) { return stride_ok(s) || extent != 1 ? (cuuint64_t)s : 16; }

intfa_status intfa_tma_map_int8(const intfa_cu *cu, CUtensorMap *map, const char *what, const void *base,
                                cuuint32_t rank, const cuuint64_t *dims, const cuuint64_t *strides,
                                const cuuint32_t *box, int row_bytes)
{
    static const cuuint32_t unit[4] = {1, 1, 1, 1};
    const CUresult r = cu->TensorMapEncodeTiled(
        map, CU_TENSOR_MAP_DATA_TYPE_UINT8, rank, (void *)base, dims, strides, box, unit,
        CU_TENSOR_MAP_INTERLEAVE_NONE,
        row_bytes == 128 ? CU_TENSOR_MAP_SWIZZLE_128B : row_bytes == 64 ? CU_TENSOR_MAP_SWIZZLE_64B : CU_TENSOR_MAP_SWIZZLE_32B,
        CU_TENSOR_MAP_L2_PROMOTION_L2_128B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
    return r == CUDA_SUCCESS ? INTFA_OK : intfa_cu_fail(r, what);
}

intfa_status intfa_tma_map_f32(const intfa_cu *cu, CUtensorMap *map, const char *what, const float *base,
                               uint64_t n, uint32_t box)
{
    /* as a 2-D map of one row: the driver rejects the 1-D form (CUDA_ERROR_INVALID_VALUE on an
     * H100, driver 580); the row stride is never used but must be a multiple of 16 bytes */
    static const cuuint32_t unit[2] = {1, 1};
    const cuuint64_t dims[2] = {n, 1}, strides[1] = {(n * 4 + 15) / 16 * 16};
    const cuuint32_t boxes[2] = {box, 1};
    const CUresult r = cu->TensorMapEncodeTiled(map, CU_TENSOR_MAP_DATA_TYPE_FLOAT32, 2, (void *)base, dims, strides,
                                                boxes, unit, CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_NONE,
                                                CU_TENSOR_MAP_L2_PROMOTION_L2_128B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
    return r == CUDA_SUCCESS ? INTFA_OK : intfa_cu_fail(r, what);
}
