// INT8 FlashAttention forward (INT-FlashAttention), mma.sync path for sm_80 and later.
// Variant: ${v.name}
//
// One block computes BM query rows of one (batch, head_q); each of its WARPS warps owns 16 or
// 32 rows (MT = 1 or 2 m16 tiles: with 2, every K and V fragment read from shared memory
// serves twice the rows, halving shared-memory traffic per score). Key tiles of BN keys stream
// through a STAGES-deep cp.async pipeline:
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
#define MT (BM / (16 * WARPS)) // m16 row tiles per warp: 1 or 2
#define RW (16 * MT)           // query rows per warp
#define NR (2 * MT)            // query rows per thread
#define QREG (MT == 1)         // Q fragments kept in registers
#define CAUSAL ${v.causal and 1 or 0}
// Q/K storage: INT8, or INT4 packed two per byte along head_dim (low nibble = even index).
// INT4 takes the native s4 tensor-core path (mma.m16n8k64) on sm_80/86/89; on sm_90, where
// INT4 mma.sync is emulated, it is a storage format: tiles land packed and are unpacked to
// INT8 in shared memory, then the INT8 path runs (docs/INT4.md).
//% local native4 = v.int4 and (v.arch < 90 or v.int4_native_test)
#define QK_INT4 ${v.int4 and 1 or 0}
#define INT4_NATIVE ${native4 and 1 or 0}
#define INT4_UNPACK (QK_INT4 && !INT4_NATIVE)
#define GB (QK_INT4 ? HD / 2 : HD)     // bytes of a Q/K row in global memory
#define KB (INT4_NATIVE ? HD / 2 : HD) // bytes of a Q/K row as the tensor cores read it
#define KSTEP (INT4_NATIVE ? 64 : 32)  // reduction length of one mma
//% local pu8 = (v.p_quant == "u8row")
#define P_U8 ${pu8 and 1 or 0}
#define LAZY_TAU 8.0f // see docs/ALGORITHM.md
//% local bf16 = (v.dtype == "bf16")

//% include("attn_common.cu")

// Kernel parameters; the host mirror is intfa_attn_params in runtime/launch_params.h.
struct intfa_attn_params {
    const signed char *q, *k, *v;
    const float *q_scale, *k_scale, *v_scale;
    void *o;
    float *lse;
    const float *lse_bias; // optional, added to the LSE (K smoothing's q . mean(k) term)
    i64 q_sb, q_sh, q_sn;
    i64 k_sb, k_sh, k_sn;
    i64 o_sb, o_sh, o_sn;
    int batch, heads_q, heads_kv, seq_q, seq_kv, n_pad;
    float scale_log2;
    int pad_;
};


template <bool B> struct Flag {
    static constexpr bool value = B;
};

// S += Q K^T for one k step: s8 x s8 (k = 32), or s4 x s4 (k = 64) on the native INT4 path.
__device__ __forceinline__ void mma_qk(int (&c)[4], const u32 (&a)[4], u32 b0, u32 b1)
{
#if INT4_NATIVE
    asm volatile("mma.sync.aligned.m16n8k64.row.col.s32.s4.s4.s32 {%0,%1,%2,%3}, "
#else
    asm volatile("mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0,%1,%2,%3}, "
#endif
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

#define GC (GB / 16) // 16-byte chunks per Q/K row as loaded
#define QC (KB / 16) // 16-byte chunks per Q/K row as the tensor cores read it
#define VC (BN / 16) // 16-byte chunks per V^T row
#define TILE_K_BYTES (BN * GB)
#define TILE_V_BYTES (HD * BN)

// INT4 -> INT8 in shared memory: the 16-byte chunk c of packed row `row` at `src` (32 values)
// becomes the int8 chunks 2c and 2c+1 of that row at `dst` (rows of HD bytes, swizzled).
__device__ __forceinline__ u32 sext4(u32 x) { return x | ((x & 0x08080808u) * 0x1Eu); }
__device__ __forceinline__ void unpack_chunk(u32 dst, u32 src, int row, int c)
{
    u32 w[4], o[8];
    asm volatile("ld.shared.v4.u32 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(w[0]), "=r"(w[1]), "=r"(w[2]), "=r"(w[3]) : "r"(src));
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        const u32 lo = sext4(w[i] & 0x0F0F0F0Fu), hi = sext4((w[i] >> 4) & 0x0F0F0F0Fu);
        asm("prmt.b32 %0, %1, %2, 0x5140;" : "=r"(o[2 * i]) : "r"(lo), "r"(hi));
        asm("prmt.b32 %0, %1, %2, 0x7362;" : "=r"(o[2 * i + 1]) : "r"(lo), "r"(hi));
    }
#pragma unroll
    for (int h = 0; h < 2; ++h)
        asm volatile("st.shared.v4.u32 [%0], {%1,%2,%3,%4};\n" ::"r"(dst + row * HD + swz<HD / 16>(row, 2 * c + h) * 16),
                     "r"(o[4 * h]), "r"(o[4 * h + 1]), "r"(o[4 * h + 2]), "r"(o[4 * h + 3]));
}

// Blocks per SM the register allocation must allow (ptxas caps registers accordingly). Only
// the small head_dim 64, one-row-tile configurations fit more than the default without
// spilling; more resident warps hide the fixed-latency chains (tensor core -> convert -> FMA)
// that dominate the stalls (docs/PERF_NOTES.md).
//% local mt = v.block_m // (16 * v.warps)
//% local minb = 1
//% if v.head_dim == 64 and mt == 1 and v.warps == 4 then minb = (v.block_n == 128) and 3 or 4 end
#define MIN_BLOCKS ${minb}

extern "C" __global__ void __launch_bounds__(NT, MIN_BLOCKS)
intfa_attn_fwd(const intfa_attn_params p)
{
    extern __shared__ __align__(128) unsigned char smem[];
    const u32 sQ = smem_addr(smem);                   // Q as the tensor cores read it
    const u32 sK = sQ + BM * KB;                      // K tiles as loaded, STAGES of them
    const u32 sV = sK + STAGES * TILE_K_BYTES;
    const u32 sKs = sV + STAGES * TILE_V_BYTES;       // fp32 key scales
#if INT4_UNPACK
    const u32 sQ4 = sKs + STAGES * BN * 4;            // packed Q as loaded
    const u32 sK8 = sQ4 + BM * GB;                    // the current K tile unpacked to int8
#endif

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

    // ---- async loads. Chunk i of thread tid is tid + i * NT; NT is a multiple of every
    // row's chunk count, so a thread keeps one chunk column, its rows step by a constant, the
    // swizzle of its chunks is fixed, and only base pointers move from tile to tile.
    static_assert(NT % GC == 0 && NT % VC == 0 && (NT / GC) % 8 == 0 && (NT / VC) % 8 == 0,
                  "chunk columns must be fixed per thread");
#define FOR_CHUNKS(i, COUNT)                                                                   \
    _Pragma("unroll") for (int i = 0; i < ((COUNT) + NT - 1) / NT; ++i)                         \
        if (((COUNT) % NT) == 0 || tid + i * NT < (COUNT))
    {
        const int row0 = tid / GC, c = tid % GC;
        const signed char *src = qg + (i64)(m0 + row0) * p.q_sn + c * 16;
#if INT4_UNPACK
        const u32 dst = sQ4 + row0 * GB + swz<GC>(row0, c) * 16;
#else
        const u32 dst = sQ + row0 * GB + swz<GC>(row0, c) * 16;
#endif
        FOR_CHUNKS(i, BM * GC) {
            const bool ok = m0 + row0 + i * (NT / GC) < p.seq_q;
            cp_async16(dst + i * (NT / GC) * GB, ok ? src + i * (NT / GC) * p.q_sn : p.q, ok ? 16 : 0);
        }
    }
    const int k_row0 = tid / GC, v_row0 = tid / VC, v_c = tid % VC;
    const int k_dst0 = k_row0 * GB + swz<GC>(k_row0, tid % GC) * 16;
    const int v_dst0 = v_row0 * BN + swz<VC>(v_row0, v_c) * 16;
    const i64 k_step = (i64)(NT / GC) * p.k_sn, v_step = (i64)(NT / VC) * p.n_pad;
    const signed char *k_src = kg + (i64)k_row0 * p.k_sn + (tid % GC) * 16; // at tile 0
    const signed char *v_src = vg + (i64)v_row0 * p.n_pad + v_c * 16;
    const i64 k_tile_step = (i64)BN * p.k_sn;
    // load_kv is called for kt = 0, 1, 2, ... in order: k_src and v_src point at tile kt.
    auto load_kv = [&](int kt, int st) {
        const int key0 = kt * BN;
        const u32 dk = sK + st * TILE_K_BYTES + k_dst0;
        const u32 dv = sV + st * TILE_V_BYTES + v_dst0;
        FOR_CHUNKS(i, BN * GC) {
            const bool ok = key0 + k_row0 + i * (NT / GC) < p.seq_kv;
            cp_async16(dk + i * (NT / GC) * GB, ok ? k_src + i * k_step : p.k, ok ? 16 : 0);
        }
        const bool v_ok = key0 + v_c * 16 < p.n_pad;
        FOR_CHUNKS(i, HD * VC) {
            cp_async16(dv + i * (NT / VC) * BN, v_ok ? v_src + i * v_step : p.v, v_ok ? 16 : 0);
        }
        if (tid < BN) {
            const bool ok = key0 + tid < p.seq_kv;
            cp_async4(sKs + (st * BN + tid) * 4, ok ? ksg + key0 + tid : p.k_scale, ok ? 4 : 0);
        }
        k_src += k_tile_step;
        v_src += BN;
    };

    // Prologue: Q and the first STAGES-1 tiles (group s holds tile s; group 0 also Q).
    pipeline_start<STAGES>(load_kv, n_tiles);
#if INT4_UNPACK
    for (int idx = tid; idx < BM * GC; idx += NT)
        unpack_chunk(sQ, sQ4 + (idx / GC) * GB + swz<GC>(idx / GC, idx % GC) * 16, idx / GC, idx % GC);
    __syncthreads();
#endif

    // Q fragments: in registers for the whole loop when a warp owns one m16 tile, else
    // re-read from shared memory per key tile (the registers go to the second tile's O).
#if QREG
    u32 qf[MT][HD / KSTEP][4];
#pragma unroll
    for (int mt = 0; mt < MT; ++mt)
#pragma unroll
        for (int kc = 0; kc < HD / KSTEP; ++kc) {
            const int row = warp * RW + mt * 16 + ((lane >> 3) & 1) * 8 + (lane & 7);
            const int c = 2 * kc + (lane >> 4);
            ldmatrix_x4(qf[mt][kc], sQ + row * KB + swz<QC>(row, c) * 16);
        }
#endif

    // ldmatrix addresses: a row's swizzle depends on the row modulo 8 only, and every
    // fragment row is a lane row plus a multiple of 16, so per-lane offsets are computed once
    // and the tile loops add compile-time immediates.
    const int lrow_b = (lane >> 4) * 8 + (lane & 7);       // K and V fragments (B operands)
    const int lrow_a = ((lane >> 3) & 1) * 8 + (lane & 7); // Q fragments (A operand)
    int k_ofs[HD / KSTEP], v_ofs[BN / 32];
#pragma unroll
    for (int kc = 0; kc < HD / KSTEP; ++kc)
        k_ofs[kc] = lrow_b * KB + swz<QC>(lrow_b, 2 * kc + ((lane >> 3) & 1)) * 16;
#pragma unroll
    for (int kc = 0; kc < BN / 32; ++kc)
        v_ofs[kc] = lrow_b * BN + swz<VC>(lrow_b, 2 * kc + ((lane >> 3) & 1)) * 16;

    // Each thread holds NR = 2 * MT rows: rows[2 * mt + h] = tile mt, row g + 8 h.
    int rows[NR];
    float a[NR], m[NR], l[NR];
#pragma unroll
    for (int r = 0; r < NR; ++r) {
        rows[r] = m0 + warp * RW + (r >> 1) * 16 + g + 8 * (r & 1);
        const float qs = rows[r] < p.seq_q ? p.q_scale[((i64)b * p.heads_q + hq) * p.seq_q + rows[r]] : 0.f;
        a[r] = qs * p.scale_log2;
        m[r] = NEG_INF;
        l[r] = 0.f;
    }
    float o[MT][HD / 8][4];
#pragma unroll
    for (int mt = 0; mt < MT; ++mt)
#pragma unroll
        for (int e = 0; e < HD / 8; ++e)
#pragma unroll
            for (int i = 0; i < 4; ++i) o[mt][e][i] = 0.f;

    for (int kt = 0, st = 0; kt < n_tiles; ++kt, st = st + 1 == STAGES ? 0 : st + 1) {
        pipeline_next<STAGES>(load_kv, kt, st, n_tiles);
#if INT4_UNPACK
        // unpack this tile's K to int8 (every warp finished the previous tile at the barrier)
        for (int idx = tid; idx < BN * GC; idx += NT)
            unpack_chunk(sK8, sK + st * TILE_K_BYTES + (idx / GC) * GB + swz<GC>(idx / GC, idx % GC) * 16,
                         idx / GC, idx % GC);
        __syncthreads();
        const u32 tK = sK8;
#else
        const u32 tK = sK + st * TILE_K_BYTES;
#endif
        const u32 tV = sV + st * TILE_V_BYTES;
        const u32 tKs = sKs + st * BN * 4;
        const int key0 = kt * BN;
        // The tile's work, compiled twice: with masking (key tails, the causal diagonal) and
        // without (every other tile), so unmasked tiles carry no selects.
        auto step = [&](auto mask_tag) {
            constexpr bool MASK = decltype(mask_tag)::value;

            // ---- S = Q K^T (int32); each K fragment serves all MT row tiles
            int s[MT][BN / 8][4];
#pragma unroll
            for (int mt = 0; mt < MT; ++mt)
#pragma unroll
                for (int j = 0; j < BN / 8; ++j) s[mt][j][0] = s[mt][j][1] = s[mt][j][2] = s[mt][j][3] = 0;
#pragma unroll
            for (int kc = 0; kc < HD / KSTEP; ++kc) {
#if QREG
#define QA(mt) qf[mt][kc]
#else
                u32 qa[MT][4];
#pragma unroll
                for (int mt = 0; mt < MT; ++mt)
                    ldmatrix_x4(qa[mt], sQ + (warp * RW + mt * 16 + lrow_a) * KB +
                                            swz<QC>(lrow_a, 2 * kc + (lane >> 4)) * 16);
#define QA(mt) qa[mt]
#endif
#pragma unroll
                for (int jp = 0; jp < BN / 16; ++jp) {
                    u32 kb[4];
                    ldmatrix_x4(kb, tK + k_ofs[kc] + 16 * jp * KB);
#pragma unroll
                    for (int mt = 0; mt < MT; ++mt) {
                        mma_qk(s[mt][2 * jp], QA(mt), kb[0], kb[1]);
                        mma_qk(s[mt][2 * jp + 1], QA(mt), kb[2], kb[3]);
                    }
                }
#undef QA
            }

            // ---- dequantize with the key scales; mask only where the tile needs it
            float x[MT][BN / 8][4];
#pragma unroll
            for (int j = 0; j < BN / 8; ++j) {
                const float2 ks = lds_f2(tKs + (8 * j + 2 * t) * 4);
#pragma unroll
                for (int mt = 0; mt < MT; ++mt) {
                    x[mt][j][0] = (float)s[mt][j][0] * ks.x;
                    x[mt][j][1] = (float)s[mt][j][1] * ks.y;
                    x[mt][j][2] = (float)s[mt][j][2] * ks.x;
                    x[mt][j][3] = (float)s[mt][j][3] * ks.y;
                }
            }
            if (MASK) {
#pragma unroll
                for (int mt = 0; mt < MT; ++mt)
#pragma unroll
                    for (int j = 0; j < BN / 8; ++j)
#pragma unroll
                        for (int i = 0; i < 4; ++i) {
                            const int key = key0 + 8 * j + 2 * t + (i & 1);
                            bool vis = key < p.seq_kv;
#if CAUSAL
                            vis = vis && key <= rows[2 * mt + (i >> 1)] + diag;
#endif
                            if (!vis) x[mt][j][i] = NEG_INF;
                        }
            }

            // ---- online softmax (log2 domain) and P quantization, one row tile at a time:
            // both rows' statistics first, then P is quantized and packed k-chunk by k-chunk
            // so that the 32-bit intermediates die right away.
            float alpha[NR], beta[NR];
            u32 pf[MT][BN / 32][4];
#pragma unroll
            for (int mt = 0; mt < MT; ++mt) {
                float shift[2]; // what each row subtracts before ex2
#pragma unroll
                for (int h = 0; h < 2; ++h) {
                    const int r = 2 * mt + h;
                    // row maximum as a tree (depth log2(BN / 4), not a chain of BN / 4)
                    float mv[BN / 8];
#pragma unroll
                    for (int j = 0; j < BN / 8; ++j) mv[j] = fmaxf(x[mt][j][2 * h], x[mt][j][2 * h + 1]);
#pragma unroll
                    for (int j = 0; j < 8; ++j)
                        if (BN / 8 >= 16) mv[j] = fmaxf(mv[j], mv[(j + 8) % (BN / 8)]);
#pragma unroll
                    for (int j = 0; j < 4; ++j)
                        if (BN / 8 >= 8) mv[j] = fmaxf(mv[j], mv[(j + 4) % (BN / 8)]);
                    float mx = fmaxf(fmaxf(mv[0], mv[2]), fmaxf(mv[1], mv[3]));
                    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
                    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
                    const float mt_ = mx == NEG_INF ? NEG_INF : mx * a[r];
#if P_U8
                    // The reference maximum m moves only when a tile's maximum exceeds it by
                    // more than LAZY_TAU (log2 units): P is scaled by the tile's own maximum
                    // anyway, so beta = 2^(mt - m) / 255 absorbs the difference (at most
                    // 2^LAZY_TAU) and O and l need no rescale on most tiles.
                    const float m_new = mt_ > m[r] + LAZY_TAU ? mt_ : m[r];
                    const float m_use = m_new == NEG_INF ? 0.f : m_new;
                    shift[h] = mt_ == NEG_INF ? 0.f : mt_;
                    beta[r] = ex2(mt_ - m_use) * (1.0f / 255.0f);
#else
                    const float m_new = fmaxf(m[r], mt_);
                    const float m_use = m_new == NEG_INF ? 0.f : m_new;
                    shift[h] = m_use;
                    beta[r] = 1.0f / 127.0f;
#endif
                    alpha[r] = m_new == m[r] ? 1.0f : ex2(m[r] - m_use);
                    m[r] = m_new;
                }
#if !P_U8
                float psum[2] = {0.f, 0.f};
#endif
#pragma unroll
                for (int kc = 0; kc < BN / 32; ++kc) {
                    u32 q[4][4]; // q[jj][i]: key chunk 4 kc + jj, accumulator element i
#pragma unroll
                    for (int jj = 0; jj < 4; ++jj)
#pragma unroll
                        for (int i = 0; i < 4; ++i) {
                            const int h = i >> 1;
                            const float xv = x[mt][4 * kc + jj][i];
                            float pr = ex2(__fmaf_rn(xv, a[2 * mt + h], -shift[h]));
                            if (MASK) pr = xv == NEG_INF ? 0.f : pr;
#if P_U8
                            q[jj][i] = __float_as_uint(__fmaf_rn(pr, 255.0f, 12582912.0f));
#else
                            psum[h] += pr;
                            q[jj][i] = __float_as_uint(__fmaf_rn(pr, 127.0f, 12582912.0f));
#endif
                        }
                    // P as the A operand of m16n8k32: thread (g, t) holds keys 8j+2t, 8j+2t+1 of
                    // rows g and g+8, exactly the permuted key order of V's slots. The low byte
                    // of each magic-rounded float is the quantized value.
                    pf[mt][kc][0] = pack_low_bytes(q[0][0], q[0][1], q[1][0], q[1][1]);
                    pf[mt][kc][1] = pack_low_bytes(q[0][2], q[0][3], q[1][2], q[1][3]);
                    pf[mt][kc][2] = pack_low_bytes(q[2][0], q[2][1], q[3][0], q[3][1]);
                    pf[mt][kc][3] = pack_low_bytes(q[2][2], q[2][3], q[3][2], q[3][3]);
                }
#if !P_U8
#pragma unroll
                for (int h = 0; h < 2; ++h) {
                    float ps = psum[h];
                    ps += __shfl_xor_sync(0xffffffffu, ps, 1);
                    ps += __shfl_xor_sync(0xffffffffu, ps, 2);
                    l[2 * mt + h] = __fmaf_rn(l[2 * mt + h], alpha[2 * mt + h], ps);
                }
#endif
            }

            // Row sums of the quantized P, four bytes at a time with dp4a on the packed words
            // (words 0 and 2 of a k-chunk hold row g, words 1 and 3 row g + 8).
#if P_U8
#pragma unroll
            for (int r = 0; r < NR; ++r) {
                const int mt = r >> 1, h = r & 1;
                unsigned rs = 0;
#pragma unroll
                for (int kc = 0; kc < BN / 32; ++kc)
                    rs = __dp4a(pf[mt][kc][2 + h], 0x01010101u, __dp4a(pf[mt][kc][h], 0x01010101u, rs));
                rs += __shfl_xor_sync(0xffffffffu, rs, 1);
                rs += __shfl_xor_sync(0xffffffffu, rs, 2);
                l[r] = __fmaf_rn((float)rs, beta[r], l[r] * alpha[r]);
            }
#endif

            // When no row's maximum moved (alpha == 1 everywhere in the warp, the common case
            // once a row has seen its largest scores), O needs no rescale: skip the multiply.
            bool rescale = false;
#pragma unroll
            for (int r = 0; r < NR; ++r) rescale = rescale || alpha[r] != 1.0f;
            rescale = __any_sync(0xffffffffu, rescale);
            if (rescale) {
#pragma unroll
                for (int mt = 0; mt < MT; ++mt)
#pragma unroll
                    for (int e = 0; e < HD / 8; ++e)
#pragma unroll
                        for (int r = 0; r < 4; ++r) o[mt][e][r] *= alpha[2 * mt + (r >> 1)];
            }

            // ---- O = O * alpha + (P V) * beta, 16 output columns at a time, software
            // pipelined: the products of group e2 + 1 are issued before group e2 is converted
            // and accumulated, so the conversions do not wait on the tensor-core latency.
            auto pv_group = [&](int e2, int (&pv)[MT][2][4]) {
#pragma unroll
                for (int mt = 0; mt < MT; ++mt)
#pragma unroll
                    for (int i = 0; i < 2; ++i) pv[mt][i][0] = pv[mt][i][1] = pv[mt][i][2] = pv[mt][i][3] = 0;
#pragma unroll
                for (int kc = 0; kc < BN / 32; ++kc) {
                    u32 vb[4];
                    ldmatrix_x4(vb, tV + v_ofs[kc] + 16 * e2 * BN);
#pragma unroll
                    for (int mt = 0; mt < MT; ++mt) {
                        mma_pv(pv[mt][0], pf[mt][kc], vb[0], vb[1]);
                        mma_pv(pv[mt][1], pf[mt][kc], vb[2], vb[3]);
                    }
                }
            };
            auto pv_accumulate = [&](int e2, const int (&pv)[MT][2][4]) {
#pragma unroll
                for (int mt = 0; mt < MT; ++mt)
#pragma unroll
                    for (int i = 0; i < 2; ++i)
#pragma unroll
                        for (int r = 0; r < 4; ++r) {
                            float &ov = o[mt][2 * e2 + i][r];
                            ov = __fmaf_rn((float)pv[mt][i][r], beta[2 * mt + (r >> 1)], ov);
                        }
            };
            int pv_a[MT][2][4], pv_b[MT][2][4];
            pv_group(0, pv_a);
#pragma unroll
            for (int e2 = 0; e2 < HD / 16; e2 += 2) {
                pv_group(e2 + 1, pv_b); // HD / 16 is even
                pv_accumulate(e2, pv_a);
                if (e2 + 2 < HD / 16) pv_group(e2 + 2, pv_a);
                pv_accumulate(e2 + 1, pv_b);
            }
        };
        bool need_mask = key0 + BN > p.seq_kv;
#if CAUSAL
        need_mask = need_mask || (key0 + BN - 1 > m0 + diag);
#endif
        if (need_mask) step(Flag<true>{});
        else step(Flag<false>{});
    }

    // ---- epilogue: out = o * v_scale / l, LSE
    const float *vs = p.v_scale + bh_kv * HD;
#pragma unroll
    for (int r = 0; r < NR; ++r) {
        const int row = rows[r], mt = r >> 1, h = r & 1;
        if (row >= p.seq_q) continue;
        unsigned short *orow = (unsigned short *)p.o + b * p.o_sb + hq * p.o_sh + (i64)row * p.o_sn;
        const float lv = l[r];
#pragma unroll
        for (int e = 0; e < HD / 8; ++e) {
            const int d = 8 * e + 2 * t;
            const float2 sc = lv > 0.f ? *(const float2 *)(vs + d) : make_float2(0.f, 0.f);
            const float o0 = lv > 0.f ? (o[mt][e][2 * h] * sc.x) / lv : 0.f;
            const float o1 = lv > 0.f ? (o[mt][e][2 * h + 1] * sc.y) / lv : 0.f;
            *(u32 *)(orow + d) = pack_out(o0, o1);
        }
        if (p.lse && t == 0) {
            const i64 at = ((i64)b * p.heads_q + hq) * p.seq_q + row;
            p.lse[at] = lv > 0.f ? (m[r] + log2f(lv)) * 0.693147180559945309f +
                                       (p.lse_bias ? p.lse_bias[at] : 0.f)
                                 : NEG_INF;
        }
    }
}
