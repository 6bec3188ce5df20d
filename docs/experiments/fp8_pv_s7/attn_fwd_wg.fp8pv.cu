// EXPERIMENT (timing only, .dev/x13_fp8): P in e4m3 times V^T bytes read as e4m3 on the FP8
// tensor cores, fp32 accumulation straight into O (no int32 P.V tile, no fold), in the pf16
// kernel's overlapped order (P_{kt-1} V_{kt-1} behind the softmax of tile kt). The V^T bytes are
// the INT8 pass's: the output is wrong on purpose; the schedule, registers and traffic are real.
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
//%   local want = (hd_pad <= 64 and v.block_n <= 64) and 4 or ((hd_pad >= 128 and v.block_n >= 128) and 2 or 3)
//%   min_blocks = 2
//%   for b = want, math.min(want, 3), -1 do if b * (v.smem_bytes + 1024) <= 233472 then min_blocks = b break end end
//%   if hd_pad > 160 then min_blocks = 2 end -- O alone is hd / 2 registers: 168 spill at 192
//% end
#define MIN_BLOCKS ${min_blocks}

//% local function oacc8(n) local t = {} for i = 0, n - 1 do t[#t + 1] = "%" .. i end return table.concat(t, ",") end
//% local function oops8(n) local t = {} for i = 0, n - 1 do t[#t + 1] = string.format('"+f"(c[%d][%d])', i // 4, i % 4) end return table.concat(t, ", ") end
// O += P V^T over one k32 step in e4m3 (P from registers, V^T K-major from shared memory).
__device__ __forceinline__ void wg_pv8(float (&c)[HD / 8][4], const u32 (&a)[4], unsigned long long vd)
{
    asm volatile("wgmma.mma_async.sync.aligned.m64n${hd_pad}k32.f32.e4m3.e4m3 {${oacc8(hd_pad // 2)}}, "
                 "{%${hd_pad // 2},%${hd_pad // 2 + 1},%${hd_pad // 2 + 2},%${hd_pad // 2 + 3}}, %${hd_pad // 2 + 4}, 1, 1, 1;\n"
                 : ${oops8(hd_pad // 2)}
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(vd));
}

__device__ __forceinline__ u32 e4m3x4(float b0, float b1, float b2, float b3)
{
    unsigned short lo, hi;
    asm("cvt.rn.satfinite.e4m3x2.f32 %0, %1, %2;" : "=h"(lo) : "f"(b1), "f"(b0));
    asm("cvt.rn.satfinite.e4m3x2.f32 %0, %1, %2;" : "=h"(hi) : "f"(b3), "f"(b2));
    return (u32)lo | ((u32)hi << 16);
}

// Online softmax with P in e4m3 (P <= 2^LAZY_TAU = 256 < 448), packed as the k32 A operand in
// V's permuted key order (as pu8's pack); l is this thread's partial row sum.
__device__ __forceinline__ void tile_softmax8(const float (&x)[MT][BN / 8][4], const float (&a)[NR],
                                              float (&m)[NR], float (&l)[NR], float (&alpha)[NR],
                                              u32 (&pf)[MT][BN / 32][4])
{
    float shift[NR];
#pragma unroll
    for (int h = 0; h < NR; ++h) {
        const float mx = tile_row_max(x[0], h);
        const float mt_ = mx == NEG_INF ? NEG_INF : mx * a[h];
        const float m_new = mt_ > m[h] + LAZY_TAU ? mt_ : m[h];
        const float m_use = m_new == NEG_INF ? 0.f : m_new;
        alpha[h] = m_new == m[h] ? 1.0f : ex2(m[h] - m_use);
        m[h] = m_new;
        shift[h] = m_use;
    }
    float ps[NR] = {0.f, 0.f};
#pragma unroll
    for (int kc = 0; kc < BN / 32; ++kc) {
        float pr[4][4];
#pragma unroll
        for (int jj = 0; jj < 4; ++jj)
#pragma unroll
            for (int i = 0; i < 4; ++i) {
                const int h = i >> 1;
                pr[jj][i] = ex2(__fmaf_rn(x[0][4 * kc + jj][i], a[h], -shift[h]));
                ps[h] += pr[jj][i];
            }
        pf[0][kc][0] = e4m3x4(pr[0][0], pr[0][1], pr[1][0], pr[1][1]);
        pf[0][kc][1] = e4m3x4(pr[0][2], pr[0][3], pr[1][2], pr[1][3]);
        pf[0][kc][2] = e4m3x4(pr[2][0], pr[2][1], pr[3][0], pr[3][1]);
        pf[0][kc][3] = e4m3x4(pr[2][2], pr[2][3], pr[3][2], pr[3][3]);
    }
#pragma unroll
    for (int h = 0; h < NR; ++h) l[h] = __fmaf_rn(l[h], alpha[h], ps[h]);
}

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
    auto issue_pv = [&](const u32 (&pf)[MT][BN / 32][4], int kt) {
        const u32 tV = sV + (kt & 1) * TILE_V_BYTES;
#pragma unroll
        for (int j = 0; j < BN / 32; ++j) wg_pv8(o[0], pf[0][j], wg_desc(tV + j * 32, BN));
        wg_commit();
    };
    auto tile = [&](int kt, const u32 (&p_prev)[MT][BN / 32][4], u32 (&p_cur)[MT][BN / 32][4]) {
        top(kt);
        const u32 tK = sK + (kt & 1) * TILE_K_BYTES;
        const u32 tKs = sKs + (kt & 1) * BN * 4;
        const int key0 = kt * BN;
        const bool masked = tile_needs_mask(key0, blk.seq_kv, m0, diag);
        int s[MT][BN / 8][4];
        wg_operands(s[0]);
        wg_operands_f(o[0]);
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
        float alpha[NR];
        tile_softmax8(x, a, m, l, alpha, p_cur);
        wait_pv_rescale(o[0], alpha); // the wait after the exponentials (attn_wgmma.cu)
    };

    u32 pa[MT][BN / 32][4], pb[MT][BN / 32][4];
    for (int kt = 0; kt < n_tiles; kt += 2) {
        tile(kt, pb, pa);
        if (kt + 1 < n_tiles) tile(kt + 1, pa, pb);
    }
    if (n_tiles > 0) {
        top(n_tiles);
        wg_operands_f(o[0]);
        wg_fence();
        if ((n_tiles - 1) & 1) issue_pv(pb, n_tiles - 1);
        else issue_pv(pa, n_tiles - 1);
        wg_wait<0>();
        wg_operands_f(o[0]);
    }
#pragma unroll
    for (int h = 0; h < NR; ++h) {
        l[h] += __shfl_xor_sync(0xffffffffu, l[h], 1);
        l[h] += __shfl_xor_sync(0xffffffffu, l[h], 2);
    }
    store_output(p, o, m, l, rows, blk, t);
}
