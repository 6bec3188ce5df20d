// INT8 FlashAttention forward (INT-FlashAttention), mma.sync path for sm_80 and later.
// Variant: ${v.name}
//
// One block computes BM query rows of one (batch, head_q); each of its WARPS warps owns 16
// rows. Key tiles of BN keys stream through a STAGES-deep cp.async pipeline:
//   S  = Q_i8 K_i8^T          mma.m16n8k32 s8.s8 -> s32
//   x  = S * k_scale           fp32, masked (tails, causal) only on tiles that need it
//   online softmax in the log2 domain, P re-quantized to 8 bits in registers
//   O += P_8 V_i8^T            mma.m16n8k32 (u8|s8).s8 -> s32, dequantized per tile
// V arrives transposed with keys permuted within groups of 16 (docs/ALGORITHM.md), so the S
// accumulator is already laid out as P.V's A operand: no shuffles. The arithmetic follows
// docs/ALGORITHM.md step by step; reference/ref_attention.c is the same algorithm in C.

#define HD ${v.head_dim}
#define BM ${v.block_m}
#define BN ${v.block_n}
#define WARPS ${v.warps}
#define STAGES ${v.stages}
#define NT (WARPS * 32)
#define CAUSAL ${v.causal and 1 or 0}
//% local pu8 = (v.p_quant == "u8row")
#define P_U8 ${pu8 and 1 or 0}
//% local bf16 = (v.dtype == "bf16")

typedef unsigned int u32;
typedef long long i64;

// Kernel parameters; the host mirror is intfa_attn_params in runtime/launch_params.h.
struct intfa_attn_params {
    const signed char *q, *k, *v;
    const float *q_scale, *k_scale, *v_scale;
    void *o;
    float *lse;
    i64 q_sb, q_sh, q_sn;
    i64 k_sb, k_sh, k_sn;
    i64 o_sb, o_sh, o_sn;
    int batch, heads_q, heads_kv, seq_q, seq_kv, n_pad;
    float scale_log2;
    int pad_;
};

#define NEG_INF (__int_as_float(0xff800000u))

__device__ __forceinline__ u32 smem_addr(const void *p)
{
    u32 r;
    asm("{ .reg .u64 a; cvta.to.shared.u64 a, %1; cvt.u32.u64 %0, a; }" : "=r"(r) : "l"(p));
    return r;
}

// 16-byte async copy; src_bytes 0 zero-fills the destination.
__device__ __forceinline__ void cp_async16(void *dst, const void *src, int src_bytes)
{
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_addr(dst)),
                 "l"(src), "r"(src_bytes));
}

__device__ __forceinline__ void cp_async4(void *dst, const void *src, int src_bytes)
{
    asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(smem_addr(dst)),
                 "l"(src), "r"(src_bytes));
}

__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }

template <int N> __device__ __forceinline__ void cp_async_wait()
{
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

__device__ __forceinline__ void ldmatrix_x4(u32 (&r)[4], const void *p)
{
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(smem_addr(p)));
}

__device__ __forceinline__ void mma_s8s8(int (&c)[4], const u32 (&a)[4], u32 b0, u32 b1)
{
    asm volatile("mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0,%1,%2,%3}, "
                 "{%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                 : "+r"(c[0]), "+r"(c[1]), "+r"(c[2]), "+r"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// P (A operand) is unsigned in the u8 mode, signed in the paper's mode.
__device__ __forceinline__ void mma_pv(int (&c)[4], const u32 (&a)[4], u32 b0, u32 b1)
{
#if P_U8
    asm volatile("mma.sync.aligned.m16n8k32.row.col.s32.u8.s8.s32 {%0,%1,%2,%3}, "
#else
    asm volatile("mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0,%1,%2,%3}, "
#endif
                 "{%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                 : "+r"(c[0]), "+r"(c[1]), "+r"(c[2]), "+r"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

__device__ __forceinline__ float ex2(float x)
{
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
    return y;
}

// Low bytes of four words -> one word, first argument in the lowest byte.
__device__ __forceinline__ u32 pack_low_bytes(u32 b0, u32 b1, u32 b2, u32 b3)
{
    u32 lo, hi, r;
    asm("prmt.b32 %0, %1, %2, 0x0040;" : "=r"(lo) : "r"(b0), "r"(b1));
    asm("prmt.b32 %0, %1, %2, 0x0040;" : "=r"(hi) : "r"(b2), "r"(b3));
    asm("prmt.b32 %0, %1, %2, 0x5410;" : "=r"(r) : "r"(lo), "r"(hi));
    return r;
}

// Two floats -> two 16-bit values of the output dtype, lo in the low half.
__device__ __forceinline__ u32 pack_out(float lo, float hi)
{
    u32 r;
//% if bf16 then
    asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
//% else
    asm("cvt.rn.f16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
//% end
    return r;
}

// Shared-memory tiles are rows of C 16-byte chunks; chunk c of a row is stored at a position
// xor-ed with the row so that ldmatrix's 8 rows hit 8 different bank groups.
template <int C> __device__ __forceinline__ int swz(int row, int c)
{
    if (C >= 8) return c ^ (row & 7);
    if (C == 4) return c ^ ((row >> 1) & 3);
    return c ^ ((row >> 2) & 1);
}

#define QC (HD / 16) // 16-byte chunks per Q/K row
#define VC (BN / 16) // 16-byte chunks per V^T row
#define TILE_K_BYTES (BN * HD)
#define TILE_V_BYTES (HD * BN)

extern "C" __global__ void __launch_bounds__(NT)
intfa_attn_fwd(const intfa_attn_params p)
{
    extern __shared__ __align__(128) unsigned char smem[];
    unsigned char *sQ = smem;
    unsigned char *sK = sQ + BM * HD;
    unsigned char *sV = sK + STAGES * TILE_K_BYTES;
    float *sKs = (float *)(sV + STAGES * TILE_V_BYTES);

    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int g = lane >> 2, t = lane & 3;
#if CAUSAL
    const int mb = gridDim.x - 1 - blockIdx.x; // longest rows first
#else
    const int mb = blockIdx.x;
#endif
    const int hq = blockIdx.y, b = blockIdx.z;
    const int hkv = hq / (p.heads_q / p.heads_kv);
    const int m0 = mb * BM;
    const int diag = p.seq_kv - p.seq_q; // key j is visible to row i iff j <= i + diag

    const signed char *qg = p.q + b * p.q_sb + hq * p.q_sh;
    const signed char *kg = p.k + b * p.k_sb + hkv * p.k_sh;
    const i64 bh_kv = (i64)b * p.heads_kv + hkv;
    const signed char *vg = p.v + bh_kv * HD * p.n_pad;
    const float *ksg = p.k_scale + bh_kv * p.seq_kv;

    int n_tiles = (p.seq_kv + BN - 1) / BN;
#if CAUSAL
    {
        const int jmax = min(m0 + BM, p.seq_q) - 1 + diag;
        n_tiles = jmax < 0 ? 0 : min(n_tiles, jmax / BN + 1);
    }
#endif

    // ---- async loads
    for (int idx = tid; idx < BM * QC; idx += NT) {
        const int row = idx / QC, c = idx % QC;
        const bool ok = m0 + row < p.seq_q;
        const signed char *src = ok ? qg + (i64)(m0 + row) * p.q_sn + c * 16 : p.q;
        cp_async16(sQ + row * HD + swz<QC>(row, c) * 16, src, ok ? 16 : 0);
    }
    auto load_kv = [&](int kt, int st) {
        unsigned char *dk = sK + st * TILE_K_BYTES;
        unsigned char *dv = sV + st * TILE_V_BYTES;
        const int key0 = kt * BN;
        for (int idx = tid; idx < BN * QC; idx += NT) {
            const int row = idx / QC, c = idx % QC;
            const bool ok = key0 + row < p.seq_kv;
            const signed char *src = ok ? kg + (i64)(key0 + row) * p.k_sn + c * 16 : p.k;
            cp_async16(dk + row * HD + swz<QC>(row, c) * 16, src, ok ? 16 : 0);
        }
        for (int idx = tid; idx < HD * VC; idx += NT) {
            const int row = idx / VC, c = idx % VC;
            const bool ok = key0 + c * 16 < p.n_pad;
            const signed char *src = ok ? vg + (i64)row * p.n_pad + key0 + c * 16 : p.v;
            cp_async16(dv + row * BN + swz<VC>(row, c) * 16, src, ok ? 16 : 0);
        }
        if (tid < BN) {
            const bool ok = key0 + tid < p.seq_kv;
            cp_async4(sKs + st * BN + tid, ok ? ksg + key0 + tid : p.k_scale, ok ? 4 : 0);
        }
    };

    // Prologue: Q and the first STAGES-1 tiles (group s holds tile s; group 0 also Q).
#if STAGES > 1
#pragma unroll
    for (int s = 0; s < STAGES - 1; ++s) {
        if (s < n_tiles) load_kv(s, s);
        cp_async_commit();
    }
    cp_async_wait<STAGES - 2>();
#else
    cp_async_commit();
    cp_async_wait<0>();
#endif
    __syncthreads();

    // Q fragments stay in registers for the whole loop.
    u32 qf[HD / 32][4];
#pragma unroll
    for (int kc = 0; kc < HD / 32; ++kc) {
        const int row = warp * 16 + ((lane >> 3) & 1) * 8 + (lane & 7);
        const int c = 2 * kc + (lane >> 4);
        ldmatrix_x4(qf[kc], sQ + row * HD + swz<QC>(row, c) * 16);
    }

    int rows[2];
    float a[2], m[2], l[2];
#pragma unroll
    for (int h = 0; h < 2; ++h) {
        rows[h] = m0 + warp * 16 + g + 8 * h;
        const float qs = rows[h] < p.seq_q ? p.q_scale[((i64)b * p.heads_q + hq) * p.seq_q + rows[h]] : 0.f;
        a[h] = qs * p.scale_log2;
        m[h] = NEG_INF;
        l[h] = 0.f;
    }
    float o[HD / 8][4];
#pragma unroll
    for (int e = 0; e < HD / 8; ++e)
#pragma unroll
        for (int i = 0; i < 4; ++i) o[e][i] = 0.f;

    for (int kt = 0; kt < n_tiles; ++kt) {
        const int st = kt % STAGES;
#if STAGES > 1
        if (kt > 0) {
            cp_async_wait<STAGES - 2>();
            __syncthreads();
        }
        // Refill the stage consumed in the previous iteration (all warps passed the barrier).
        if (kt + STAGES - 1 < n_tiles) load_kv(kt + STAGES - 1, (kt + STAGES - 1) % STAGES);
        cp_async_commit();
#else
        if (kt > 0) __syncthreads();
        load_kv(kt, 0);
        cp_async_commit();
        cp_async_wait<0>();
        __syncthreads();
#endif
        const unsigned char *tK = sK + st * TILE_K_BYTES;
        const unsigned char *tV = sV + st * TILE_V_BYTES;
        const float *tKs = sKs + st * BN;
        const int key0 = kt * BN;

        // ---- S = Q K^T (int32)
        int s[BN / 8][4];
#pragma unroll
        for (int j = 0; j < BN / 8; ++j) {
            s[j][0] = s[j][1] = s[j][2] = s[j][3] = 0;
#pragma unroll
            for (int kc2 = 0; kc2 < HD / 64; ++kc2) {
                u32 kb[4];
                const int row = 8 * j + (lane & 7);
                const int c = 4 * kc2 + (lane >> 3);
                ldmatrix_x4(kb, tK + row * HD + swz<QC>(row, c) * 16);
                mma_s8s8(s[j], qf[2 * kc2], kb[0], kb[1]);
                mma_s8s8(s[j], qf[2 * kc2 + 1], kb[2], kb[3]);
            }
        }

        // ---- dequantize with the key scales; mask only where the tile needs it
        float x[BN / 8][4];
#pragma unroll
        for (int j = 0; j < BN / 8; ++j) {
            const float2 ks = *(const float2 *)(tKs + 8 * j + 2 * t);
            x[j][0] = (float)s[j][0] * ks.x;
            x[j][1] = (float)s[j][1] * ks.y;
            x[j][2] = (float)s[j][2] * ks.x;
            x[j][3] = (float)s[j][3] * ks.y;
        }
        bool need_mask = key0 + BN > p.seq_kv;
#if CAUSAL
        need_mask = need_mask || (key0 + BN - 1 > m0 + diag);
#endif
        if (need_mask) {
#pragma unroll
            for (int j = 0; j < BN / 8; ++j)
#pragma unroll
                for (int i = 0; i < 4; ++i) {
                    const int key = key0 + 8 * j + 2 * t + (i & 1);
                    bool vis = key < p.seq_kv;
#if CAUSAL
                    vis = vis && key <= rows[i >> 1] + diag;
#endif
                    if (!vis) x[j][i] = NEG_INF;
                }
        }

        // ---- online softmax (log2 domain) and P quantization
        float alpha[2], beta[2];
        u32 q8[BN / 8][4];
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            float mx = NEG_INF;
#pragma unroll
            for (int j = 0; j < BN / 8; ++j) mx = fmaxf(mx, fmaxf(x[j][2 * h], x[j][2 * h + 1]));
            mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
            mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
            const float mt = mx == NEG_INF ? NEG_INF : mx * a[h];
            const float m_new = fmaxf(m[h], mt);
            const float m_use = m_new == NEG_INF ? 0.f : m_new;
            alpha[h] = ex2(m[h] - m_use);
#if P_U8
            const float mt_use = mt == NEG_INF ? 0.f : mt;
            beta[h] = ex2(mt - m_use) * (1.0f / 255.0f);
            u32 bits_sum = 0;
#pragma unroll
            for (int j = 0; j < BN / 8; ++j)
#pragma unroll
                for (int e = 0; e < 2; ++e) {
                    const float xv = x[j][2 * h + e];
                    float pr = ex2(__fmaf_rn(xv, a[h], -mt_use));
                    if (need_mask) pr = xv == NEG_INF ? 0.f : pr;
                    const u32 bits = __float_as_uint(__fmaf_rn(pr, 255.0f, 12582912.0f));
                    q8[j][2 * h + e] = bits; // low byte is round(255 p)
                    bits_sum += bits;
                }
            int rs = (int)(bits_sum - (u32)(BN / 4) * 0x4B400000u);
            rs += __shfl_xor_sync(0xffffffffu, rs, 1);
            rs += __shfl_xor_sync(0xffffffffu, rs, 2);
            l[h] = __fmaf_rn((float)rs, beta[h], l[h] * alpha[h]);
#else
            beta[h] = 1.0f / 127.0f;
            float psum = 0.f;
#pragma unroll
            for (int j = 0; j < BN / 8; ++j)
#pragma unroll
                for (int e = 0; e < 2; ++e) {
                    const float xv = x[j][2 * h + e];
                    float pr = ex2(__fmaf_rn(xv, a[h], -m_use));
                    if (need_mask) pr = xv == NEG_INF ? 0.f : pr;
                    psum += pr;
                    q8[j][2 * h + e] = __float_as_uint(__fmaf_rn(pr, 127.0f, 12582912.0f));
                }
            psum += __shfl_xor_sync(0xffffffffu, psum, 1);
            psum += __shfl_xor_sync(0xffffffffu, psum, 2);
            l[h] = __fmaf_rn(l[h], alpha[h], psum);
#endif
            m[h] = m_new;
        }

        // P as the A operand of m16n8k32: thread (g, t) holds keys 8j+2t, 8j+2t+1 of rows g
        // and g+8, which is exactly the permuted key order of V's slots.
        u32 pf[BN / 32][4];
#pragma unroll
        for (int kc = 0; kc < BN / 32; ++kc) {
            pf[kc][0] = pack_low_bytes(q8[4 * kc][0], q8[4 * kc][1], q8[4 * kc + 1][0], q8[4 * kc + 1][1]);
            pf[kc][1] = pack_low_bytes(q8[4 * kc][2], q8[4 * kc][3], q8[4 * kc + 1][2], q8[4 * kc + 1][3]);
            pf[kc][2] = pack_low_bytes(q8[4 * kc + 2][0], q8[4 * kc + 2][1], q8[4 * kc + 3][0], q8[4 * kc + 3][1]);
            pf[kc][3] = pack_low_bytes(q8[4 * kc + 2][2], q8[4 * kc + 2][3], q8[4 * kc + 3][2], q8[4 * kc + 3][3]);
        }

        // ---- O = O * alpha + (P V) * beta, 32 output columns at a time
#pragma unroll
        for (int eg = 0; eg < HD / 32; ++eg) {
            int pv[4][4];
#pragma unroll
            for (int i = 0; i < 4; ++i) pv[i][0] = pv[i][1] = pv[i][2] = pv[i][3] = 0;
#pragma unroll
            for (int kc = 0; kc < BN / 32; ++kc)
#pragma unroll
                for (int ep = 0; ep < 2; ++ep) {
                    u32 vb[4];
                    const int row = 8 * (4 * eg + 2 * ep) + (lane >> 4) * 8 + (lane & 7);
                    const int c = 2 * kc + ((lane >> 3) & 1);
                    ldmatrix_x4(vb, tV + row * BN + swz<VC>(row, c) * 16);
                    mma_pv(pv[2 * ep], pf[kc], vb[0], vb[1]);
                    mma_pv(pv[2 * ep + 1], pf[kc], vb[2], vb[3]);
                }
#pragma unroll
            for (int i = 0; i < 4; ++i)
#pragma unroll
                for (int r = 0; r < 4; ++r) {
                    float &ov = o[4 * eg + i][r];
                    ov = __fmaf_rn((float)pv[i][r], beta[r >> 1], ov * alpha[r >> 1]);
                }
        }
    }

    // ---- epilogue: out = o * v_scale / l, LSE
    const float *vs = p.v_scale + bh_kv * HD;
#pragma unroll
    for (int h = 0; h < 2; ++h) {
        const int row = rows[h];
        if (row >= p.seq_q) continue;
        unsigned short *orow = (unsigned short *)p.o + b * p.o_sb + hq * p.o_sh + (i64)row * p.o_sn;
        const float lv = l[h];
#pragma unroll
        for (int e = 0; e < HD / 8; ++e) {
            const int d = 8 * e + 2 * t;
            const float2 sc = lv > 0.f ? *(const float2 *)(vs + d) : make_float2(0.f, 0.f);
            const float o0 = lv > 0.f ? (o[e][2 * h] * sc.x) / lv : 0.f;
            const float o1 = lv > 0.f ? (o[e][2 * h + 1] * sc.y) / lv : 0.f;
            *(u32 *)(orow + d) = pack_out(o0, o1);
        }
        if (p.lse && t == 0)
            p.lse[((i64)b * p.heads_q + hq) * p.seq_q + row] =
                lv > 0.f ? (m[h] + log2f(lv)) * 0.693147180559945309f : NEG_INF;
    }
}
