// Per-token quantization of Q or K: fp16/bf16 -> int8, or int4 two per byte, with one fp32
// scale per (b, h, n). Variant: ${v.name}
// One warp quantizes one row of HD values (docs/ALGORITHM.md, "Q and K, per token"), PER_LANE
// consecutive values per lane on LANES = HD / PER_LANE lanes (PER_LANE the smallest power of two
// with LANES <= 32: 32 lanes at hd 32, 64, 128, 256; 24 at hd48 and hd96, 20 at hd80 ...); lanes
// past LANES hold zeros, which change no maximum or sum, and load and store nothing.
//   y = x - subtract[b][h]     (K smoothing, when p.subtract is set; fp32)
//   scale = amax(y) / QMAX, q = clamp(rint(y * (QMAX / amax)), -QMAX, QMAX)
// QMAX is 127 for int8 and 7 for int4, whose rows are HD / 2 bytes: byte j holds d = 2j in its
// low nibble and d = 2j + 1 in its high nibble (two's complement).
// With p.bias_mean the warp also writes out_bias[row] = bias_scale * (x . bias_mean[b][h / hpm])
// on the unsmoothed x: Q's LSE correction when K is smoothed (hpm = H_q / H_kv).
// Input x[b][n][h][d] with any strides (elements; d contiguous); output dense [B, H, N, D] (or
// [B, H, N, D / 2] bytes) and scale [B, H, N]. The module also holds intfa_mean_tokens (K's mean
// over tokens, quant_mean.cu) and intfa_quantize_v's kernels (quant_v_api.cu).

#define HD ${v.head_dim}
#define WARPS ${v.warps}
//% local per_lane = 1
//% while v.head_dim > 32 * per_lane do per_lane = 2 * per_lane end
#define PER_LANE ${per_lane}
#define LANES (HD / PER_LANE)
#define INT4 ${v.int4 and 1 or 0}
#define QMAX ${v.int4 and 7 or 127}
//% local bf16 = (v.dtype == "bf16")
#if INT4 && PER_LANE != 2 && PER_LANE != 4
#error "INT4 rows are 64 or 128 values"
#endif

typedef unsigned int u32;
typedef long long i64;

// Host mirror: quant_qk_params in runtime/quantize.c.
struct intfa_quant_qk_params {
    const void *x;
    void *out;               // int8 [rows][HD] or packed int4 [rows][HD / 2]
    float *scale;            // [rows]
    const float *subtract;   // NULL or [B * H][HD]
    const float *bias_mean;  // NULL or [B * (H / heads_per_mean)][HD]
    float *out_bias;         // [rows], with bias_mean
    i64 x_sb, x_sn, x_sh;
    i64 rows; // B * H * N
    int heads, seq, heads_per_mean;
    float bias_scale;
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

// This lane's PER_LANE consecutive values of a row (src points at them), as fp32.
__device__ __forceinline__ void load_lane(const unsigned short *src, float (&v)[PER_LANE])
{
#if PER_LANE == 8
    const uint4 raw = *(const uint4 *)src;
    const u32 w[4] = {raw.x, raw.y, raw.z, raw.w};
#pragma unroll
    for (int i = 0; i < 8; ++i) v[i] = to_float((unsigned short)(w[i >> 1] >> (16 * (i & 1))));
#elif PER_LANE == 4
    const uint2 raw = *(const uint2 *)src;
    v[0] = to_float((unsigned short)(raw.x & 0xffff));
    v[1] = to_float((unsigned short)(raw.x >> 16));
    v[2] = to_float((unsigned short)(raw.y & 0xffff));
    v[3] = to_float((unsigned short)(raw.y >> 16));
#elif PER_LANE == 2
    const u32 raw = *(const u32 *)src;
    v[0] = to_float((unsigned short)(raw & 0xffff));
    v[1] = to_float((unsigned short)(raw >> 16));
#else
    v[0] = to_float(*src);
#endif
}

// This lane's PER_LANE consecutive fp32 values at p (16-byte aligned rows).
__device__ __forceinline__ void load_f32(const float *p, float (&m)[PER_LANE])
{
#if PER_LANE == 8
    const float4 t = *(const float4 *)p, u = *(const float4 *)(p + 4);
    m[0] = t.x; m[1] = t.y; m[2] = t.z; m[3] = t.w;
    m[4] = u.x; m[5] = u.y; m[6] = u.z; m[7] = u.w;
#elif PER_LANE == 4
    const float4 t = *(const float4 *)p;
    m[0] = t.x; m[1] = t.y; m[2] = t.z; m[3] = t.w;
#elif PER_LANE == 2
    const float2 t = *(const float2 *)p;
    m[0] = t.x; m[1] = t.y;
#else
    m[0] = *p;
#endif
}

// Sum over the warp; every lane gets the same value (xor butterfly: a + b == b + a).
__device__ __forceinline__ float warp_sum(float s)
{
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) s += __shfl_xor_sync(0xffffffffu, s, off);
    return s;
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
    const bool on = LANES == 32 || lane < LANES; // this lane holds channels (folds to true at 32)
    float v[PER_LANE];
    if (on) {
        load_lane((const unsigned short *)p.x + b * p.x_sb + h * p.x_sh + n * p.x_sn + lane * PER_LANE, v);
    } else {
#pragma unroll
        for (int i = 0; i < PER_LANE; ++i) v[i] = 0.f;
    }

    if (p.bias_mean) {
        const int hm = h / p.heads_per_mean, heads_m = p.heads / p.heads_per_mean;
        float dot = 0.f;
        if (on) {
            float m[PER_LANE];
            load_f32(p.bias_mean + (b * heads_m + hm) * HD + lane * PER_LANE, m);
#pragma unroll
            for (int i = 0; i < PER_LANE; ++i) dot = fmaf(v[i], m[i], dot);
        }
        dot = warp_sum(dot);
        if (lane == 0) p.out_bias[row] = p.bias_scale * dot;
    }
    if (p.subtract && on) {
        float m[PER_LANE];
        load_f32(p.subtract + bh * HD + lane * PER_LANE, m);
#pragma unroll
        for (int i = 0; i < PER_LANE; ++i) v[i] = __fsub_rn(v[i], m[i]);
    }

    float amax = 0.f;
#pragma unroll
    for (int i = 0; i < PER_LANE; ++i) amax = fmaxf(amax, fabsf(v[i]));
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, off));
    const float inv = amax > 0.f ? (float)QMAX / amax : 0.f;

    u32 packed[(PER_LANE + 3) / 4] = {}; // 4 int8 (or 8 int4) values a word
#pragma unroll
    for (int i = 0; i < PER_LANE; ++i) {
        int q = __float2int_rn(__fmul_rn(v[i], inv));
        q = max(-QMAX, min(QMAX, q));
#if INT4
        packed[0] |= ((u32)q & 0xfu) << (4 * i);
#else
        packed[i >> 2] |= ((u32)q & 0xffu) << (8 * (i & 3));
#endif
    }
    if (on) {
#if INT4
        unsigned char *dst = (unsigned char *)p.out + row * (HD / 2) + lane * (PER_LANE / 2);
#if PER_LANE == 4
        *(unsigned short *)dst = (unsigned short)packed[0];
#else
        *dst = (unsigned char)packed[0];
#endif
#else
        signed char *dst = (signed char *)p.out + row * HD + lane * PER_LANE;
#if PER_LANE == 8
        *(uint2 *)dst = make_uint2(packed[0], packed[1]);
#elif PER_LANE == 4
        *(u32 *)dst = packed[0];
#elif PER_LANE == 2
        *(unsigned short *)dst = (unsigned short)packed[0];
#else
        *dst = (signed char)packed[0];
#endif
#endif
    }
    if (lane == 0) p.scale[row] = amax / (float)QMAX;
}

//% include("quant_mean.cu")
//% include("quant_v_api.cu")
