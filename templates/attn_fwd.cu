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

//% local hd_pad = (v.head_dim + 31) // 32 * 32
#define HD ${hd_pad}        // the head dim computed with (a multiple of 32)
#define DV ${v.head_dim}    // the problem's; columns DV .. HD are zeros
#define BM ${v.block_m}
#define BN ${v.block_n}
#define WARPS ${v.warps}
#define STAGES ${v.stages}
#define NT (WARPS * 32)
#define MT (BM / (16 * WARPS)) // m16 row tiles per warp: 1 or 2
#define RW (16 * MT)           // query rows per warp
#define NR (2 * MT)            // query rows per thread
#define QREG (MT == 1 && HD <= 128) // Q fragments kept in registers
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

#define GC (GB / 16) // 16-byte chunks per Q/K row as loaded
#define QC (KB / 16) // 16-byte chunks per Q/K row as the tensor cores read it
#define VC (BN / 16) // 16-byte chunks per V^T row
#define TILE_K_BYTES (BN * GB)
#define TILE_V_BYTES (HD * BN)

//% include("attn_common.cu")
//% include("attn_int8_tile.cu")

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
#if INT4_UNPACK
    const u32 sQload = sQ4; // packed Q, unpacked after the prologue
#else
    const u32 sQload = sQ;
#endif
    const attn_block blk(p);
    const int m0 = blk.m0, diag = blk.diag, n_tiles = blk.n_tiles;
    const bool idle = m0 >= blk.seq_q; // varlen: past this sequence's rows (the whole block)
    wait_kv_ready(p, blk, idle);
    if (idle) return;
    float q_fused[NR]; // the drop-in's Q scales (p.q_fp; never set for INT4 variants)
#if QK_INT4
    blk.copy_q(p, sQload, tid);
#else
    if (p.q_fp) quant_q_rows(p, blk, sQload, warp * RW, g, t, q_fused);
    else blk.copy_q(p, sQload, tid);
#endif
    kv_copier kv(p, blk.kg, blk.vg, tid);
    // load_kv is called for kt = 0, 1, 2, ... in order.
    auto load_kv = [&](int kt, int st) {
        kv.copy(p, blk, sK + st * TILE_K_BYTES, sV + st * TILE_V_BYTES, sKs + st * BN * 4, kt * BN, tid);
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
            ldmatrix_x4(qf[mt][kc], sQ + qk_off<KB, BM>(row, c));
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
        k_ofs[kc] = qk_off<KB, BN>(lrow_b, 2 * kc + ((lane >> 3) & 1));
#pragma unroll
    for (int kc = 0; kc < BN / 32; ++kc)
        v_ofs[kc] = lrow_b * BN + swz<VC>(lrow_b, 2 * kc + ((lane >> 3) & 1)) * 16;

    // Each thread holds NR = 2 * MT rows: rows[2 * mt + h] = tile mt, row g + 8 h.
    int rows[NR];
    float a[NR], m[NR], l[NR], o[MT][HD / 8][4];
    start_rows(p, blk, m0 + warp * RW, g, q_fused, rows, a, m, l, o);

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
        // The tile's work, compiled once: the mask (key tails, the causal diagonal) behind a
        // warp-uniform branch.
        const bool masked = tile_needs_mask(key0, blk.seq_kv, m0, diag);
        {

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
                    ldmatrix_x4(qa[mt], sQ + (warp * RW + mt * 16) * qk_slab<KB>::bytes + // rows 8 k apart:
                                            qk_off<KB, BM>(lrow_a, 2 * kc + (lane >> 4)));  // one swizzle
#define QA(mt) qa[mt]
#endif
#pragma unroll
                for (int jp = 0; jp < BN / 16; ++jp) {
                    u32 kb[4];
                    ldmatrix_x4(kb, tK + k_ofs[kc] + 16 * jp * qk_slab<KB>::bytes);
#pragma unroll
                    for (int mt = 0; mt < MT; ++mt) {
                        mma_qk(s[mt][2 * jp], QA(mt), kb[0], kb[1]);
                        mma_qk(s[mt][2 * jp + 1], QA(mt), kb[2], kb[3]);
                    }
                }
#undef QA
            }

            float x[MT][BN / 8][4];
            tile_scores(s, x, tKs, t);
            if (masked) mask_scores(x, t, key0, rows, blk.seq_kv, diag);
            float alpha[NR], beta[NR];
            u32 pf[MT][BN / 32][4];
            tile_softmax(x, a, m, l, alpha, beta, pf);
            rescale_o(o, alpha);

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
        }
    }

    store_output(p, o, m, l, rows, blk, t);
}
