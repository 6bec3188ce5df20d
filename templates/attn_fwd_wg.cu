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
//% include("attn_tma.cu")


// Resident warpgroups per SM are what hides the softmax's latency chains (the kernel issues
// well under half of the time, docs/PERF_NOTES.md): with one warpgroup per block, registers
// are capped for as many blocks per SM as their shared memory allows (228 KB per SM, 1 KB of
// it reserved per block), three at most, or four for head_dim 64 (128 registers: measured 4-9%
// faster than three blocks without a mask; with a mask, where the cp.async ring spills, only
// with K/V by TMA, which needs no spill there: +3-5% at N = 4k-16k, +9% at 1k on an H100,
// session 12), never fewer than two. Q stays in shared memory to make room. Two warpgroups
// per block: one block per SM.
//% local min_blocks = 1
//% if v.warps == 4 then
//%   local want = (hd_pad <= 64 and (v.kv_tma or not v.causal)) and 4 or 3
//%   min_blocks = 2
//%   for b = want, 3, -1 do if b * (v.smem_bytes + 1024) <= 233472 then min_blocks = b break end end
//%   if hd_pad > 160 then min_blocks = 2 end -- O alone is hd / 2 registers: 168 spill at 192
//% end
#define MIN_BLOCKS ${min_blocks}

// Head dims 64 and 128 (K rows of one 64- or 128-byte swizzle atom): K, V^T and the key
// scales of each key tile are copied by TMA (cp.async.bulk.tensor; tensor maps built on the
// host, runtime/attention_wg_tma.c) from one thread into the swizzled stages, each stage
// completing a "full" mbarrier (one arrival with the stage's byte count), instead of ~45 copy
// and addressing instructions per thread and tile (docs/HOPPER_KERNEL.md, "K/V by TMA"). The
// refill of stage (kt - 1) % S is issued at the top of tile kt after a __syncthreads
// (TMA_BAR 1); TMA_BAR 0 (timing only) relies on thread 0's warp having waited for tile
// kt - 1's P.V product, one warpgroup-wide operation (the argument of
// docs/experiments/mbar_s9: true on the hardware, not a PTX promise). Past 128, K rows are
// copied in slabs of the wgmma tile's width (qk_slab: HD / SL copies per tile; multiples of 32
// only, where no box is wider than its tensor); other head dims keep the cp.async ring.
#define KV_TMA ${v.kv_tma and 1 or 0} // intfa_variant_uses_kv_tma: every multiple of 32 unless INTFA_KV_TMA=0
// A stage's key scales: with TMA, a window of BN + 4 from the 16-byte boundary at or below the
// tile's first scale (a copy's first element must be 16-byte aligned in global memory), in a
// slot rounded to the 128 bytes a TMA destination needs (intfa_variant_smem_bytes adds them).
#define KS_STAGE_BYTES (KV_TMA ? ((BN + 4) * 4 + 127) / 128 * 128 : BN * 4)
#define TMA_BAR 1

#if KV_TMA
// Host mirror: intfa_attn_wg_tma_params in runtime/launch_params.h. Varlen (p.cu_q): K is
// one sequence of all the tokens (batch extent 1), V^T's planes are the K/V heads, and a
// sequence's tiles start at its own first key, column or scale.
struct __align__(128) intfa_attn_wg_tma_params {
    intfa_attn_params a;
    tensor_map tk;  // int8 K: (HD, seq_kv, heads_kv, batch), box (HD, BN, 1, 1), HD-byte swizzle
    tensor_map tv;  // int8 V^T: (n_pad, HD, batch * heads_kv), box (BN, HD, 1), BN-byte swizzle
    tensor_map tks; // fp32 key scales: (batch * heads_kv * seq_kv, 1), box (BN + 4, 1)
};
#define ATTN_PARAMS const __grid_constant__ intfa_attn_wg_tma_params P
#define ATTN_P P.a
#else
#define ATTN_PARAMS const intfa_attn_params p_
#define ATTN_P p_
#endif

#if PV_PIPE
// O += beta P V_c for the HD / PVN column chunks c of one key tile (attn_wgmma.cu, PV_PIPE),
// O first multiplied by alpha where a row's maximum moved (behind the first product). The
// chunks alternate between two int32 accumulators, chunk c + 1 in flight while chunk c is
// folded (wait_group 1), so no accumulator is written by a product while the fold reads it
// and the tensor cores work during each fold.
__device__ __forceinline__ void pv_chunks_pipelined(float (&o)[MT][HD / 8][4], const u32 (&pf)[BN / 32][4],
                                                    u32 tV, const float (&alpha)[NR], const float (&beta)[NR])
{
    constexpr int C = HD / PVN;
    int pv[2][PVN / 8][4];
    wg_operands(pv[0]);
    wg_fence();
    wg_pv_tile(pv[0], pf, tV);
    wg_commit();
    rescale_o(o, alpha); // overlaps the products
#pragma unroll
    for (int ch = 0; ch < C; ++ch) {
        if (ch + 1 < C) {
            wg_operands(pv[(ch + 1) & 1]);
            wg_fence();
            wg_pv_tile(pv[(ch + 1) & 1], pf, tV + (ch + 1) * PVN * BN); // V^T rows (ch + 1) PVN ..
            wg_commit();
            wg_wait<1>();
        } else {
            wg_wait<0>();
        }
        wg_operands(pv[ch & 1]);
#pragma unroll
        for (int e = 0; e < PVN / 8; ++e)
#pragma unroll
            for (int r = 0; r < 4; ++r)
                o[0][ch * (PVN / 8) + e][r] = __fmaf_rn((float)pv[ch & 1][e][r], beta[r >> 1], o[0][ch * (PVN / 8) + e][r]);
    }
}
#endif

extern "C" __global__ void __launch_bounds__(NT, MIN_BLOCKS)
intfa_attn_fwd(ATTN_PARAMS)
{
    const intfa_attn_params &p = ATTN_P;
    extern __shared__ __align__(128) unsigned char smem[];
    const u32 sQ = (smem_addr(smem) + 1023u) & ~1023u; // swizzle atoms need 1024-byte alignment
    const u32 sK = sQ + BM * HD;
    const u32 sV = sK + STAGES * TILE_K_BYTES;
    const u32 sKs = sV + STAGES * TILE_V_BYTES; // fp32 key scales

    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int g = lane >> 2, t = lane & 3;
    const attn_block blk(p);
    const int m0 = blk.m0, diag = blk.diag, n_tiles = blk.n_tiles;
    const bool idle = m0 >= blk.seq_q; // varlen: past this sequence's rows (the whole block)
    wait_kv_ready(p, blk, idle);
    if (idle) return;
    float q_fused[NR]; // the drop-in's Q scales (p.q_fp)
    if (p.q_fp) quant_q_rows(p, blk, sQ, warp * 16, g, t, q_fused);
    else blk.copy_q(p, sQ, tid);
#if KV_TMA
    __shared__ __align__(8) unsigned long long kv_full[STAGES];
    const u32 sFull = smem_addr(kv_full);
    // Where this head's keys start in the three maps: K row and batch, V^T column and plane,
    // key scale (varlen: the sequence's first key k0, its V^T columns from 128 (k0 / 128 + b)).
    const int k0 = p.cu_q ? p.cu_k[blk.b] : 0;
    const int k_b = p.cu_q ? 0 : blk.b;
    const int v_col0 = p.cu_q ? 128 * (k0 / 128 + blk.b) : 0;
    const int v_plane = p.cu_q ? blk.hkv : (int)blk.bh_kv;
    const int ks0 = p.cu_q ? blk.hkv * p.seq_kv + k0 : (int)(blk.bh_kv * p.seq_kv);
    const int ks_shift = ks0 & 3; // where the head's scales start in each 16-byte-aligned window
    // Tile kt into stage st (thread 0 only): one arrival announcing the stage's bytes, then the
    // three copies, which complete them. Past this head's keys, K rows, V^T columns and key
    // scales are zeros (past the tensors) or the next head's or sequence's: finite values that
    // meet only masked scores (P = 0).
    auto issue_kv = [&](int kt, int st) {
        const u32 bar = sFull + 8 * st;
        mbar_arrive_expect_tx(bar, TILE_K_BYTES + TILE_V_BYTES + (BN + 4) * 4);
        constexpr int SL = qk_slab<HD>::bytes; // K rows in slabs of SL bytes (one at hd 64, 128)
#pragma unroll
        for (int s = 0; s < HD / SL; ++s)
            tma_load_4d(sK + st * TILE_K_BYTES + s * BN * SL, &P.tk, bar, s * SL, k0 + kt * BN, blk.hkv, k_b);
        tma_load_3d(sV + st * TILE_V_BYTES, &P.tv, bar, v_col0 + kt * BN, 0, v_plane);
        tma_load_2d(sKs + st * KS_STAGE_BYTES, &P.tks, bar, ks0 - ks_shift + kt * BN, 0);
    };
    if (tid == 0) {
#pragma unroll
        for (int s = 0; s < STAGES; ++s) mbar_init(sFull + 8 * s, 1);
        asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
        // K and V may come from the drop-in's pass (generic-proxy writes, wait_kv_ready)
        asm volatile("fence.proxy.async.global;\n" ::: "memory");
#pragma unroll
        for (int s = 0; s < STAGES - 1; ++s)
            if (s < n_tiles) issue_kv(s, s);
    }
    // Q (cp.async or quant_q_rows's stores) and the barriers' init, published
    cp_async_commit();
    cp_async_wait<0>();
    publish_copies<true>();
    u32 phase = 0; // of the current stage's full barrier
#else
    kv_copier kv(p, blk.kg, blk.vg, tid);
    // load_kv is called for kt = 0, 1, 2, ... in order.
    auto load_kv = [&](int kt, int st) {
        kv.copy(p, blk, sK + st * TILE_K_BYTES, sV + st * TILE_V_BYTES, sKs + st * BN * 4, kt * BN, tid);
    };

    // cp.async (and quant_q_rows's stores) write through the generic proxy, wgmma reads through
    // the async proxy: every writer fences its landed copies before the barrier that publishes
    // them.
    pipeline_start<STAGES, true>(load_kv, n_tiles);
#endif

    const u32 sQw = sQ + (warp >> 2) * 64 * qk_slab<HD>::bytes; // this warpgroup's 64 rows of Q

    int rows[NR]; // rows[2 mt + h]: row g + 8 h of m16 tile mt
    float a[NR], m[NR], l[NR], o[MT][HD / 8][4];
    start_rows(p, blk, m0 + warp * 16, g, q_fused, rows, a, m, l, o);

    for (int kt = 0, st = 0; kt < n_tiles; ++kt, st = st + 1 == STAGES ? 0 : st + 1) {
#if KV_TMA
        if (TMA_BAR && kt > 0) __syncthreads(); // every warp is done with tile kt - 1's stage
        if (tid == 0 && kt + STAGES - 1 < n_tiles) issue_kv(kt + STAGES - 1, st == 0 ? STAGES - 1 : st - 1);
        mbar_wait(sFull + 8 * st, phase);
        if (st == STAGES - 1) phase ^= 1;
#else
        pipeline_next<STAGES, true>(load_kv, kt, st, n_tiles);
#endif
        const u32 tK = sK + st * TILE_K_BYTES;
        const u32 tV = sV + st * TILE_V_BYTES;
#if KV_TMA
        const u32 tKs = sKs + st * KS_STAGE_BYTES + 4 * ks_shift;
#else
        const u32 tKs = sKs + st * BN * 4;
#endif
        const int key0 = kt * BN;
        const bool masked = tile_needs_mask(key0, blk.seq_kv, m0, diag);
        {
            int s[MT][BN / 8][4];
            wg_operands(s[0]);
            wg_fence();
            wg_issue_qk(s[0], sQw, tK);
            wg_wait<0>();
            wg_operands(s[0]);

            float x[MT][BN / 8][4];
            tile_scores<!KV_TMA>(s, x, tKs, t);
            if (masked) mask_scores(x, t, key0, rows, blk.seq_kv, diag);
            float alpha[NR], beta[NR];
            u32 pf[MT][BN / 32][4];
            tile_softmax(x, a, m, l, alpha, beta, pf);

            // P.V in HD / PVN column chunks (one up to head dim 128), each issued, waited for
            // and folded into O (PV_PIPE: the next chunk in flight during each fold)
#if PV_PIPE
            pv_chunks_pipelined(o, pf[0], tV, alpha, beta);
#else
#pragma unroll
            for (int ch = 0; ch < HD / PVN; ++ch) {
                const u32 tVc = tV + ch * PVN * BN; // V^T rows ch PVN ..
                int pv[PVN / 8][4];
                wg_operands(pv);
                wg_fence();
                wg_pv_tile(pv, pf[0], tVc);
                wg_commit();
                if (ch == 0) rescale_o(o, alpha); // overlaps the products
                wg_wait<0>();
                wg_operands(pv);
#pragma unroll
                for (int e = 0; e < PVN / 8; ++e)
#pragma unroll
                    for (int r = 0; r < 4; ++r)
                        o[0][ch * (PVN / 8) + e][r] = __fmaf_rn((float)pv[e][r], beta[r >> 1], o[0][ch * (PVN / 8) + e][r]);
            }
#endif
        }
    }

    store_output(p, o, m, l, rows, blk, t);
}
