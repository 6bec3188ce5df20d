// Mean over tokens of x[b][n][h][d] per (b, h, d): out[b][h][d] fp32, K's mean for smoothing
// (docs/ALGORITHM.md, "K smoothing"). Included by quant_qk.cu, whose HD, PER_LANE, LANES,
// load_lane and i64 it uses.
// grid (B * H), block MEAN_WARPS warps. Warp w sums the tokens w, w + MEAN_WARPS, ... in fp32
// (lane l < LANES holds channels l * PER_LANE ...; the other lanes idle), then thread d adds the
// warps' sums of channel d in warp order and divides by N: no atomics, the same bits on every
// run. 0 when N = 0.

#define MEAN_WARPS 8
#define MEAN_UNROLL 4 // tokens a warp loads before it adds them

// Host mirror: quant_mean_params in runtime/quantize.c.
struct intfa_quant_mean_params {
    const void *x;
    float *out; // [B * H][HD]
    i64 x_sb, x_sn, x_sh;
    int heads, seq;
};

extern "C" __global__ void __launch_bounds__(MEAN_WARPS * 32)
intfa_mean_tokens(const intfa_quant_mean_params p)
{
    __shared__ float part[MEAN_WARPS][HD];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const i64 bh = blockIdx.x;
    const i64 b = bh / p.heads, h = bh % p.heads;
    const unsigned short *base = (const unsigned short *)p.x + b * p.x_sb + h * p.x_sh + lane * PER_LANE;
    const bool on = LANES == 32 || lane < LANES; // this lane holds channels (folds to true at 32)
    const int seq = on ? p.seq : 0;
    float acc[PER_LANE];
#pragma unroll
    for (int i = 0; i < PER_LANE; ++i) acc[i] = 0.f;
    int n = warp;
    for (; n + (MEAN_UNROLL - 1) * MEAN_WARPS < seq; n += MEAN_UNROLL * MEAN_WARPS) {
        float v[MEAN_UNROLL][PER_LANE];
#pragma unroll
        for (int u = 0; u < MEAN_UNROLL; ++u) load_lane(base + (i64)(n + u * MEAN_WARPS) * p.x_sn, v[u]);
#pragma unroll
        for (int u = 0; u < MEAN_UNROLL; ++u)
#pragma unroll
            for (int i = 0; i < PER_LANE; ++i) acc[i] += v[u][i];
    }
    for (; n < seq; n += MEAN_WARPS) {
        float v[PER_LANE];
        load_lane(base + (i64)n * p.x_sn, v);
#pragma unroll
        for (int i = 0; i < PER_LANE; ++i) acc[i] += v[i];
    }
    if (on) {
#pragma unroll
        for (int i = 0; i < PER_LANE; ++i) part[warp][lane * PER_LANE + i] = acc[i];
    }
    __syncthreads();
    for (int d = threadIdx.x; d < HD; d += MEAN_WARPS * 32) {
        float s = 0.f;
#pragma unroll
        for (int w = 0; w < MEAN_WARPS; ++w) s += part[w][d];
        p.out[bh * HD + d] = p.seq > 0 ? __fdiv_rn(s, (float)p.seq) : 0.f;
    }
}
