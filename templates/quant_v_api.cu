// intfa_quantize_v's kernels: V (fp16/bf16) -> int8, per channel or per head, written
// transposed with keys permuted within groups of 16 (docs/ALGORITHM.md), so that the attention
// kernel's P.V needs no shuffles. Included by quant_qk.cu (the INT8 API's module, beside Q and
// K's quantization), whose HD, u32, i64 and to_float it uses. Three launches, in stream order
// (the host zeroes `scale` first; runtime/quantize.c):
//   intfa_quant_v_amax   column (or head) max |v| into scale[], as float bits via atomicMax
//   intfa_quant_v_pack   int8 values from those maxima, 16 keys per thread, 16-byte stores
//   intfa_quant_v_scale  scale[] = amax / 127
// each with one thread per channel d, V_THREADS = HD rounded up to a warp (threads d >= HD, at
// hd48, hd80 ..., hold no channel: they read and write nothing)

#define V_THREADS ${(v.head_dim + 31) // 32 * 32}
#define AMAX_KEYS 256   // keys per block in the max pass
#define PACK_GROUPS 8   // 16-key groups per block in the pack pass

// Host mirror: intfa_quant_v_params in runtime/launch_params.h.
struct intfa_quant_v_params {
    const void *x;
    signed char *out; // [B, H, HD, n_pad]
    float *scale;     // [B, H, HD]
    i64 x_sb, x_sn, x_sh;
    int heads, seq, n_pad, per_head;
};

__device__ __forceinline__ const unsigned short *row_of(const intfa_quant_v_params &p, i64 bh, int n)
{
    const i64 b = bh / p.heads, h = bh % p.heads;
    return (const unsigned short *)p.x + b * p.x_sb + h * p.x_sh + (i64)n * p.x_sn;
}

// grid (B * H, min(ceil(seq / AMAX_KEYS), 65535)), block V_THREADS threads: thread d scans its
// column over the key chunks blockIdx.y, blockIdx.y + gridDim.y, ...
extern "C" __global__ void __launch_bounds__(V_THREADS) intfa_quant_v_amax(const intfa_quant_v_params p)
{
    __shared__ float red[V_THREADS / 32];
    const int d = threadIdx.x;
    const bool on = HD == V_THREADS || d < HD; // thread d holds a channel (folds to true)
    const i64 bh = blockIdx.x;
    float amax = 0.f;
    for (int n0 = blockIdx.y * AMAX_KEYS; on && n0 < p.seq; n0 += gridDim.y * AMAX_KEYS) {
        const int n1 = min(n0 + AMAX_KEYS, p.seq);
        // unrolled so that 8 independent loads are in flight per thread, not one
#pragma unroll 8
        for (int n = n0; n < n1; ++n) amax = fmaxf(amax, fabsf(to_float(row_of(p, bh, n)[d])));
    }
    if (p.per_head) {
#pragma unroll
        for (int off = 16; off > 0; off >>= 1) amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, off));
        if ((d & 31) == 0) red[d >> 5] = amax;
        __syncthreads();
        if (d == 0) {
            for (int w = 1; w < V_THREADS / 32; ++w) amax = fmaxf(amax, red[w]);
            atomicMax((int *)&p.scale[bh * HD], __float_as_int(amax));
        }
    } else if (on) {
        atomicMax((int *)&p.scale[bh * HD + d], __float_as_int(amax));
    }
}

// grid (B * H, min(ceil(n_pad / (16 * PACK_GROUPS)), 65535)), block V_THREADS threads.
extern "C" __global__ void __launch_bounds__(V_THREADS) intfa_quant_v_pack(const intfa_quant_v_params p)
{
    const int d = threadIdx.x;
    if (HD != V_THREADS && d >= HD) return;
    const i64 bh = blockIdx.x;
    const float amax = p.scale[bh * HD + (p.per_head ? 0 : d)];
    const float inv = amax > 0.f ? 127.0f / amax : 0.f;
    for (int chunk = blockIdx.y; chunk * PACK_GROUPS * 16 < p.n_pad; chunk += gridDim.y)
    for (int gi = 0; gi < PACK_GROUPS; ++gi) {
        const int n0 = (chunk * PACK_GROUPS + gi) * 16;
        if (n0 >= p.n_pad) break;
        u32 w[4] = {0u, 0u, 0u, 0u};
#pragma unroll
        for (int k = 0; k < 16; ++k) {
            const int n = n0 + k;
            int q = 0;
            if (n < p.seq) {
                q = __float2int_rn(to_float(row_of(p, bh, n)[d]) * inv);
                q = max(-127, min(127, q));
            }
            // slot of key k within the group: ((k & 7) >> 1) * 4 + ((k >> 3) & 1) * 2 + (k & 1)
            const int s = ((k & 7) >> 1) * 4 + ((k >> 3) & 1) * 2 + (k & 1);
            w[s >> 2] |= ((u32)q & 0xffu) << (8 * (s & 3));
        }
        *(uint4 *)(p.out + (bh * HD + d) * (i64)p.n_pad + n0) = make_uint4(w[0], w[1], w[2], w[3]);
    }
}

// grid (B * H), block V_THREADS threads.
extern "C" __global__ void __launch_bounds__(V_THREADS) intfa_quant_v_scale(const intfa_quant_v_params p)
{
    const int d = threadIdx.x;
    const bool on = HD == V_THREADS || d < HD; // thread d holds a channel (folds to true)
    const i64 bh = blockIdx.x;
    const float amax = on ? p.scale[bh * HD + (p.per_head ? 0 : d)] : 0.f;
    __syncthreads();
    if (on) p.scale[bh * HD + d] = amax / 127.0f;
}
