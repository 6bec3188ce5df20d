// Per-token quantization of Q or K: fp16/bf16 -> int8 with one fp32 scale per (b, h, n).
// Variant: ${v.name}
// One warp quantizes one row of HD values (docs/ALGORITHM.md, "Q and K, per token"):
//   scale = amax / 127, q = clamp(rint(x * (127 / amax)), -127, 127).
// Input x[b][n][h][d] with any strides (elements; d contiguous); output dense [B, H, N, D]
// int8 and scale [B, H, N].

#define HD ${v.head_dim}
#define WARPS ${v.warps}
#define PER_LANE (HD / 32)
//% local bf16 = (v.dtype == "bf16")

typedef unsigned int u32;
typedef long long i64;

// Host mirror: intfa_quant_qk_params in runtime/launch_params.h.
struct intfa_quant_qk_params {
    const void *x;
    signed char *out;
    float *scale;
    i64 x_sb, x_sn, x_sh;
    i64 rows; // B * H * N
    int heads, seq;
};

__device__ __forceinline__ float to_float(unsigned short h)
{
//% if bf16 then
    return __uint_as_float(((u32)h) << 16);
//% else
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
    return f;
//% end
}

extern "C" __global__ void __launch_bounds__(WARPS * 32)
intfa_quant_qk(const intfa_quant_qk_params p)
{
    const int lane = threadIdx.x & 31;
    const i64 row = (i64)blockIdx.x * WARPS + (threadIdx.x >> 5);
    if (row >= p.rows) return;
    const int n = (int)(row % p.seq);
    const i64 bh = row / p.seq;
    const int h = (int)(bh % p.heads);
    const i64 b = bh / p.heads;
    const unsigned short *src =
        (const unsigned short *)p.x + b * p.x_sb + h * p.x_sh + n * p.x_sn + lane * PER_LANE;

    float v[PER_LANE];
#if PER_LANE == 4
    const uint2 raw = *(const uint2 *)src;
    v[0] = to_float((unsigned short)(raw.x & 0xffff));
    v[1] = to_float((unsigned short)(raw.x >> 16));
    v[2] = to_float((unsigned short)(raw.y & 0xffff));
    v[3] = to_float((unsigned short)(raw.y >> 16));
#else
    const u32 raw = *(const u32 *)src;
    v[0] = to_float((unsigned short)(raw & 0xffff));
    v[1] = to_float((unsigned short)(raw >> 16));
#endif
    float amax = 0.f;
#pragma unroll
    for (int i = 0; i < PER_LANE; ++i) amax = fmaxf(amax, fabsf(v[i]));
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, off));
    const float inv = amax > 0.f ? 127.0f / amax : 0.f;

    u32 packed = 0;
#pragma unroll
    for (int i = 0; i < PER_LANE; ++i) {
        int q = __float2int_rn(v[i] * inv);
        q = max(-127, min(127, q));
        packed |= ((u32)q & 0xffu) << (8 * i);
    }
    signed char *dst = p.out + row * HD + lane * PER_LANE;
#if PER_LANE == 4
    *(u32 *)dst = packed;
#else
    *(unsigned short *)dst = (unsigned short)packed;
#endif
    if (lane == 0) p.scale[row] = amax / 127.0f;
}
