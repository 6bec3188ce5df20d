// FP16 FlashAttention forward: the baseline the INT8 kernel (attn_fwd.cu) is measured against.
// Variant: ${v.name}
//
// The same structure as attn_fwd.cu, on FP16 tensor cores and without any quantization. One
// block computes BM query rows of one (batch, head_q); each of its WARPS warps owns MT row
// tiles of 16 rows (MT = 1: Q fragments stay in registers; MT = 2: every K and V fragment
// feeds two row tiles, Q fragments are read from shared memory per key tile). Key tiles of BN keys (K and V, both [keys][HD] fp16 rows) stream through a STAGES-deep
// cp.async pipeline:
//   S  = Q K^T                 mma.m16n8k16 f16.f16 -> f32, K fragments by ldmatrix
//   online softmax in the log2 domain (ex2), masked only on tiles that need it
//   P  = exp2(S c - m) -> fp16 in registers: the S accumulator is already P.V's A operand
//   O  = O alpha + P V         mma.m16n8k16, V fragments by ldmatrix.trans (V is [keys][d])
//   out = O / l (fp16), lse = (m + log2 l) ln 2
// Rows that see no key (causal with seq_q > seq_kv) output 0 and lse = -inf, as attn_fwd.cu.

#define HD ${v.head_dim}
#define BM ${v.block_m}
#define BN ${v.block_n}
#define WARPS ${v.warps}
#define STAGES ${v.stages}
#define NT (WARPS * 32)
#define MT (BM / (16 * WARPS)) // row tiles per warp: 1 or 2
#define CAUSAL ${v.causal and 1 or 0}

//% include("attn_common.cu")

// Kernel parameters; the host mirror is intfa_attn_fp16_params in runtime/baseline.c.
struct intfa_attn_fp16_params {
    const u16 *q, *k, *v;
    u16 *o;
    float *lse;
    i64 q_sb, q_sh, q_sn;
    i64 k_sb, k_sh, k_sn;
    i64 v_sb, v_sh, v_sn;
    i64 o_sb, o_sh, o_sn;
    int batch, heads_q, heads_kv, seq_q, seq_kv;
    float scale_log2; // softmax_scale * log2(e)
};


// c += a b: a 16x16 (row), b 16x8 (col), fp16 inputs, fp32 accumulator.
__device__ __forceinline__ void mma_f16(float (&c)[4], const u32 (&a)[4], u32 b0, u32 b1)
{
    asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, "
        "{%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// Two floats -> fp16x2 (round to nearest even), lo in the low half.
__device__ __forceinline__ u32 half2_bits(float lo, float hi)
{
    u32 r;
    asm("cvt.rn.f16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
    return r;
}

// Shared-memory tiles are rows of RC 16-byte chunks (8 halves each); chunk c of row r is
// stored at c ^ (r % 8), so that the 8 rows one ldmatrix matrix reads hit 8 bank groups.
#define RC (HD / 8)
#define TILE_BYTES (BN * HD * 2)

__device__ __forceinline__ int chunk_at(int row, int c) { return (row * RC + (c ^ (row & 7))) * 16; }

extern "C" __global__ void __launch_bounds__(NT)
intfa_attn_fwd_fp16(const intfa_attn_fp16_params p)
{
    extern __shared__ __align__(128) unsigned char smem[];
    unsigned char *sQ = smem;
    unsigned char *sK = sQ + BM * HD * 2;
    unsigned char *sV = sK + STAGES * TILE_BYTES;

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

    const u16 *qg = p.q + b * p.q_sb + hq * p.q_sh;
    const u16 *kg = p.k + b * p.k_sb + hkv * p.k_sh;
    const u16 *vg = p.v + b * p.v_sb + hkv * p.v_sh;

    int n_tiles = (p.seq_kv + BN - 1) / BN;
#if CAUSAL
    {
        const int jmax = min(m0 + BM, p.seq_q) - 1 + diag;
        n_tiles = jmax < 0 ? 0 : min(n_tiles, jmax / BN + 1);
    }
#endif

    // ---- async loads; rows past the end are zero-filled (never NaN: P there is 0)
    for (int idx = tid; idx < BM * RC; idx += NT) {
        const int row = idx / RC, c = idx % RC;
        const bool ok = m0 + row < p.seq_q;
        const u16 *src = ok ? qg + (i64)(m0 + row) * p.q_sn + c * 8 : p.q;
        cp_async16(smem_addr(sQ + chunk_at(row, c)), src, ok ? 16 : 0);
    }
    auto load_kv = [&](int kt, int st) {
        unsigned char *dk = sK + st * TILE_BYTES, *dv = sV + st * TILE_BYTES;
        const int key0 = kt * BN;
        for (int idx = tid; idx < BN * RC; idx += NT) {
            const int row = idx / RC, c = idx % RC;
            const bool ok = key0 + row < p.seq_kv;
            const i64 n = key0 + row;
            cp_async16(smem_addr(dk + chunk_at(row, c)), ok ? kg + n * p.k_sn + c * 8 : p.k, ok ? 16 : 0);
            cp_async16(smem_addr(dv + chunk_at(row, c)), ok ? vg + n * p.v_sn + c * 8 : p.v, ok ? 16 : 0);
        }
    };

    // Prologue: Q and the first STAGES-1 tiles (group s holds tile s; group 0 also Q).
    pipeline_start<STAGES>(load_kv, n_tiles);

    // Q fragments (A operand: 16 rows x 16 dims per k-step) of row tile mt, k-step kk.
    const int q_row = warp * 16 * MT + ((lane >> 3) & 1) * 8 + (lane & 7);
#if MT == 1
    u32 qf[HD / 16][4]; // kept in registers for the whole loop
#pragma unroll
    for (int kk = 0; kk < HD / 16; ++kk) ldmatrix_x4(qf[kk], smem_addr(sQ + chunk_at(q_row, 2 * kk + (lane >> 4))));
#endif

    const float c = p.scale_log2;
    int rows[MT][2];
    float m[MT][2], l[MT][2]; // running max (log2 domain) and this thread's part of the row sum
#pragma unroll
    for (int mt = 0; mt < MT; ++mt)
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            rows[mt][h] = m0 + warp * 16 * MT + 16 * mt + g + 8 * h;
            m[mt][h] = NEG_INF;
            l[mt][h] = 0.f;
        }
    float o[MT][HD / 8][4];
#pragma unroll
    for (int mt = 0; mt < MT; ++mt)
#pragma unroll
        for (int e = 0; e < HD / 8; ++e)
#pragma unroll
            for (int i = 0; i < 4; ++i) o[mt][e][i] = 0.f;

    for (int kt = 0; kt < n_tiles; ++kt) {
        const int st = kt % STAGES;
        pipeline_next<STAGES>(load_kv, kt, st, n_tiles);
        const unsigned char *tK = sK + st * TILE_BYTES;
        const unsigned char *tV = sV + st * TILE_BYTES;
        const int key0 = kt * BN;

        // ---- S = Q K^T (fp32); thread (g, t) holds keys 8j+2t, 8j+2t+1 of rows g and g+8
        float s[MT][BN / 8][4];
#pragma unroll
        for (int mt = 0; mt < MT; ++mt)
#pragma unroll
            for (int j = 0; j < BN / 8; ++j) s[mt][j][0] = s[mt][j][1] = s[mt][j][2] = s[mt][j][3] = 0.f;
#pragma unroll
        for (int kc = 0; kc < HD / 32; ++kc) { // dims 32kc .. 32kc+31: two k-steps
            u32 qa[MT][2][4];
#pragma unroll
            for (int mt = 0; mt < MT; ++mt)
#pragma unroll
                for (int h = 0; h < 2; ++h) {
#if MT == 1
#pragma unroll
                    for (int r = 0; r < 4; ++r) qa[mt][h][r] = qf[2 * kc + h][r];
#else
                    ldmatrix_x4(qa[mt][h], smem_addr(sQ + chunk_at(q_row + 16 * mt, 2 * (2 * kc + h) + (lane >> 4))));
#endif
                }
#pragma unroll
            for (int j = 0; j < BN / 8; ++j) {
                u32 kb[4]; // those dims of keys 8j .. 8j+7
                ldmatrix_x4(kb, smem_addr(tK + chunk_at(8 * j + (lane & 7), 4 * kc + (lane >> 3))));
#pragma unroll
                for (int mt = 0; mt < MT; ++mt) {
                    mma_f16(s[mt][j], qa[mt][0], kb[0], kb[1]);
                    mma_f16(s[mt][j], qa[mt][1], kb[2], kb[3]);
                }
            }
        }

        bool need_mask = key0 + BN > p.seq_kv;
#if CAUSAL
        need_mask = need_mask || (key0 + BN - 1 > m0 + diag);
#endif
        if (need_mask) {
#pragma unroll
            for (int mt = 0; mt < MT; ++mt)
#pragma unroll
                for (int j = 0; j < BN / 8; ++j)
#pragma unroll
                    for (int i = 0; i < 4; ++i) {
                        const int key = key0 + 8 * j + 2 * t + (i & 1);
                        bool vis = key < p.seq_kv;
#if CAUSAL
                        vis = vis && key <= rows[mt][i >> 1] + diag;
#endif
                        if (!vis) s[mt][j][i] = NEG_INF;
                    }
        }

        // ---- online softmax in the log2 domain; s becomes P (in [0, 1])
        float alpha[MT][2];
#pragma unroll
        for (int mt = 0; mt < MT; ++mt)
#pragma unroll
            for (int h = 0; h < 2; ++h) {
                float mx = NEG_INF;
#pragma unroll
                for (int j = 0; j < BN / 8; ++j) mx = fmaxf(mx, fmaxf(s[mt][j][2 * h], s[mt][j][2 * h + 1]));
                mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
                mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
                const float m_new = fmaxf(m[mt][h], mx == NEG_INF ? NEG_INF : mx * c);
                const float m_use = m_new == NEG_INF ? 0.f : m_new;
                alpha[mt][h] = ex2(m[mt][h] - m_use);
                float rs = 0.f;
#pragma unroll
                for (int j = 0; j < BN / 8; ++j)
#pragma unroll
                    for (int e = 0; e < 2; ++e) {
                        const float pr = ex2(__fmaf_rn(s[mt][j][2 * h + e], c, -m_use)); // -inf -> 0
                        s[mt][j][2 * h + e] = pr;
                        rs += pr;
                    }
                l[mt][h] = __fmaf_rn(l[mt][h], alpha[mt][h], rs);
                m[mt][h] = m_new;
            }

        // P as the A operand of m16n8k16 (keys 16kk .. 16kk+15): the accumulators of key
        // groups 2kk and 2kk+1, rounded to fp16.
        u32 pf[MT][BN / 16][4];
#pragma unroll
        for (int mt = 0; mt < MT; ++mt)
#pragma unroll
            for (int kk = 0; kk < BN / 16; ++kk) {
                pf[mt][kk][0] = half2_bits(s[mt][2 * kk][0], s[mt][2 * kk][1]);
                pf[mt][kk][1] = half2_bits(s[mt][2 * kk][2], s[mt][2 * kk][3]);
                pf[mt][kk][2] = half2_bits(s[mt][2 * kk + 1][0], s[mt][2 * kk + 1][1]);
                pf[mt][kk][3] = half2_bits(s[mt][2 * kk + 1][2], s[mt][2 * kk + 1][3]);
            }

        // ---- O = O * alpha + P V
#pragma unroll
        for (int mt = 0; mt < MT; ++mt)
#pragma unroll
            for (int e = 0; e < HD / 8; ++e) {
                o[mt][e][0] *= alpha[mt][0];
                o[mt][e][1] *= alpha[mt][0];
                o[mt][e][2] *= alpha[mt][1];
                o[mt][e][3] *= alpha[mt][1];
            }
#pragma unroll
        for (int kk = 0; kk < BN / 16; ++kk)
#pragma unroll
            for (int ep = 0; ep < HD / 16; ++ep) {
                u32 vb[4]; // keys 16kk .. 16kk+15 of dims 16ep .. 16ep+15, transposed
                const int row = 16 * kk + ((lane >> 3) & 1) * 8 + (lane & 7);
                ldmatrix_x4_trans(vb, smem_addr(tV + chunk_at(row, 2 * ep + (lane >> 4))));
#pragma unroll
                for (int mt = 0; mt < MT; ++mt) {
                    mma_f16(o[mt][2 * ep], pf[mt][kk], vb[0], vb[1]);
                    mma_f16(o[mt][2 * ep + 1], pf[mt][kk], vb[2], vb[3]);
                }
            }
    }

    // ---- epilogue: the row sums over the 4 threads of a row, out = o / l, LSE
#pragma unroll
    for (int mt = 0; mt < MT; ++mt)
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            l[mt][h] += __shfl_xor_sync(0xffffffffu, l[mt][h], 1);
            l[mt][h] += __shfl_xor_sync(0xffffffffu, l[mt][h], 2);
        }
#pragma unroll
    for (int mt = 0; mt < MT; ++mt)
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            const int row = rows[mt][h];
            if (row >= p.seq_q) continue;
            u16 *orow = p.o + b * p.o_sb + hq * p.o_sh + (i64)row * p.o_sn;
            const float lv = l[mt][h], inv = lv > 0.f ? 1.0f / lv : 0.f;
#pragma unroll
            for (int e = 0; e < HD / 8; ++e)
                *(u32 *)(orow + 8 * e + 2 * t) = half2_bits(o[mt][e][2 * h] * inv, o[mt][e][2 * h + 1] * inv);
            if (p.lse && t == 0)
                p.lse[((i64)b * p.heads_q + hq) * p.seq_q + row] =
                    lv > 0.f ? (m[mt][h] + log2f(lv)) * 0.693147180559945309f : NEG_INF;
        }
}
