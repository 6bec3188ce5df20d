// EXPERIMENT (docs/experiments/fp8_pv_s7): the INT8 kernel (P u8, V int8, int32 P.V tile folded
// into O) in the pf16 kernel's overlapped order: P_{kt-1} V_{kt-1} runs behind the softmax of
// tile kt and is folded after it, with the wait inside the branches of the fold (else ptxas
// hoists the wait above the exponentials, as it did in session 3's version of this schedule).
// Numerically the default kernel's arithmetic, one tile later.
// INT8 FlashAttention forward (INT-FlashAttention), wgmma path for sm_90a.
// Variant: ${v.name}
//
// The same algorithm as attn_fwd.cu (docs/ALGORITHM.md) with Hopper's warpgroup matrix
// products: each warpgroup (4 warps) owns 64 query rows, each warp 16 of them. Per key tile:
//   S  = Q_i8 K_i8^T    wgmma m64n<BN>k32 s8.s8 -> s32: Q and K from shared memory
//   softmax and P quantization in registers (attn_int8_tile.cu, the mma.sync kernel's code)
//   O += P_8 V_i8^T     wgmma m64n<HD>k32 (u8|s8).s8 -> s32: P from registers, V^T from shared
// The wgmma accumulator is the m16n8 accumulator layout repeated over n, and its register A
// operand is the m16n8k32 A layout, so V's permuted key order (docs/ALGORITHM.md) lets P
// pack straight from S here as well. Shared-memory tiles use the same XOR swizzle as
// attn_fwd.cu, which is exactly the hardware's 128/64/32-byte swizzle of K-major operands
// when a tile starts on a 1024-byte boundary: the descriptors below describe those tiles.

//% local hd_pad = (v.head_dim + 31) // 32 * 32
#define HD ${hd_pad}        // the head dim computed with (a multiple of 32)
#define DV ${v.head_dim}    // the problem's; columns DV .. HD are zeros
#define BM ${v.block_m}
#define BN ${v.block_n}
#define WARPS ${v.warps}
#define STAGES ${v.stages}
#define NT (WARPS * 32)
#define MT 1 // one m16 row tile per warp, 64 rows per warpgroup
#define NR 2
#define CAUSAL ${v.causal and 1 or 0}
//% local pu8 = (v.p_quant == "u8row")
#define P_U8 ${pu8 and 1 or 0}
#define LAZY_TAU 8.0f // see docs/ALGORITHM.md

#define GB HD        // bytes of a Q/K row
#define GC (HD / 16) // 16-byte chunks per Q/K row
#define VC (BN / 16) // 16-byte chunks per V^T row
#define TILE_K_BYTES (BN * HD)
#define TILE_V_BYTES (HD * BN)

//% include("attn_common.cu")
//% include("attn_int8_tile.cu")
//% include("attn_wgmma.cu")


// Resident warpgroups per SM are what hides the softmax's latency chains (the kernel issues
// well under half of the time, docs/PERF_NOTES.md): with one warpgroup per block, registers
// are capped for as many blocks per SM as their shared memory allows (228 KB per SM, 1 KB of
// it reserved per block), three at most, or four for head_dim 64 without a mask (128
// registers: measured 4-9% faster than three blocks although ptxas spills a few bytes for
// some of these variants; the causal kernel spills more there), never fewer than two. Q
// stays in shared memory to make room. Two warpgroups per block: one block per SM.
//% local min_blocks = 1
//% if v.warps == 4 then
//%   local want = 2 -- S, the int32 P.V tile, O and two P buffers: over 168 registers
//%   min_blocks = 2
//%   for b = want, math.min(want, 3), -1 do if b * (v.smem_bytes + 1024) <= 233472 then min_blocks = b break end end
//%   if hd_pad > 160 then min_blocks = 2 end -- O alone is hd / 2 registers: 168 spill at 192
//% end
#define MIN_BLOCKS ${min_blocks}

extern "C" __global__ void __launch_bounds__(NT, MIN_BLOCKS)
intfa_attn_fwd(const intfa_attn_params p)
{
    extern __shared__ __align__(128) unsigned char smem[];
    const u32 sQ = (smem_addr(smem) + 1023u) & ~1023u;
    const u32 sK = sQ + BM * HD;
    const u32 sV = sK + 2 * TILE_K_BYTES;
    const u32 sKs = sV + 2 * TILE_V_BYTES;

    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int g = lane >> 2, t = lane & 3;
    const attn_block blk(p);
    const int m0 = blk.m0, diag = blk.diag, n_tiles = blk.n_tiles;
    const bool idle = m0 >= blk.seq_q;
    wait_kv_ready(p, blk, idle);
    if (idle) return;
    float q_fused[NR];
    if (p.q_fp) quant_q_rows(p, blk, sQ, warp * 16, g, t, q_fused);
    else blk.copy_q(p, sQ, tid);
    kv_copier kc(p, blk.kg, blk.vg, tid);
    if (n_tiles > 0) kc.copy_k(p, blk, sK, sKs, 0, tid);
    cp_async_commit();

    int rows[NR];
    float a[NR], m[NR], l[NR], o[MT][HD / 8][4];
    start_rows(p, blk, m0 + warp * 16, g, q_fused, rows, a, m, l, o);
    const u32 sQw = sQ + (warp >> 2) * 64 * qk_slab<HD>::bytes;

    auto top = [&](int kt) {
        cp_async_wait<0>();
        publish_copies<true>();
        if (kt + 1 < n_tiles) kc.copy_k(p, blk, sK + ((kt + 1) & 1) * TILE_K_BYTES, sKs + ((kt + 1) & 1) * BN * 4, (kt + 1) * BN, tid);
        if (kt < n_tiles) {
            const u32 dv = sV + (kt & 1) * TILE_V_BYTES + kc.v_dst0;
            if (kt * BN + BN <= blk.seq_kv) kc.v_rows<true>(p, blk, dv, kt * BN, tid);
            else kc.v_rows<false>(p, blk, dv, kt * BN, tid);
            kc.v_src += BN;
        }
        cp_async_commit();
    };
    int pv[HD / 8][4];
    float a_prev[NR], b_prev[NR];
    auto issue_pv = [&](const u32 (&pf)[MT][BN / 32][4], int kt) {
        const u32 tV = sV + (kt & 1) * TILE_V_BYTES;
        wg_operands(pv);
        wg_pv_tile(pv, pf[0], tV);
        wg_commit();
    };
    // waits for P_{kt-1} V_{kt-1} and folds it into O, the wait inside the branches
    auto wait_fold = [&]() {
        bool rescale = false;
#pragma unroll
        for (int r = 0; r < NR; ++r) rescale = rescale || a_prev[r] != 1.0f;
        if (__any_sync(0xffffffffu, rescale)) {
            asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory");
            wg_operands(pv);
#pragma unroll
            for (int e = 0; e < HD / 8; ++e)
#pragma unroll
                for (int r = 0; r < 4; ++r)
                    o[0][e][r] = __fmaf_rn((float)pv[e][r], b_prev[r >> 1], o[0][e][r] * a_prev[r >> 1]);
        } else {
            asm volatile("wgmma.wait_group.sync.aligned  0; // O needs no rescale\n" ::: "memory");
            wg_operands(pv);
#pragma unroll
            for (int e = 0; e < HD / 8; ++e)
#pragma unroll
                for (int r = 0; r < 4; ++r) o[0][e][r] = __fmaf_rn((float)pv[e][r], b_prev[r >> 1], o[0][e][r]);
        }
    };
    auto tile = [&](int kt, const u32 (&p_prev)[MT][BN / 32][4], u32 (&p_cur)[MT][BN / 32][4]) {
        top(kt);
        const u32 tK = sK + (kt & 1) * TILE_K_BYTES;
        const u32 tKs = sKs + (kt & 1) * BN * 4;
        const int key0 = kt * BN;
        const bool masked = tile_needs_mask(key0, blk.seq_kv, m0, diag);
        int s[MT][BN / 8][4];
        wg_operands(s[0]);
        wg_fence();
        wg_issue_qk(s[0], sQw, tK);
        if (kt > 0) {
            issue_pv(p_prev, kt - 1);
            wg_wait<1>();
        } else {
            wg_wait<0>();
        }
        wg_operands(s[0]);
        float x[MT][BN / 8][4];
        tile_scores(s, x, tKs, t);
        if (masked) mask_scores(x, t, key0, rows, blk.seq_kv, diag);
        float alpha[NR], beta[NR];
        tile_softmax(x, a, m, l, alpha, beta, p_cur);
        if (kt > 0) wait_fold();
#pragma unroll
        for (int r = 0; r < NR; ++r) {
            a_prev[r] = alpha[r];
            b_prev[r] = beta[r];
        }
    };

    u32 pa[MT][BN / 32][4], pb[MT][BN / 32][4];
    for (int kt = 0; kt < n_tiles; kt += 2) {
        tile(kt, pb, pa);
        if (kt + 1 < n_tiles) tile(kt + 1, pa, pb);
    }
    if (n_tiles > 0) {
        top(n_tiles);
        wg_fence();
        if ((n_tiles - 1) & 1) issue_pv(pb, n_tiles - 1);
        else issue_pv(pa, n_tiles - 1);
        wait_fold();
    }
    store_output(p, o, m, l, rows, blk, t);
}
