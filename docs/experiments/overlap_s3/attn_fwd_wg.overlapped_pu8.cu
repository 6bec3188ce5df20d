// EXPERIMENT: INT8 attention (pu8/ps8) with the pf16 kernel's overlapped schedule: P_{kt-1} V_{kt-1}
// (int8, int32 tile) runs behind the softmax of tile kt, then is folded into O.
// Variant: ${v.name}
//
// S = Q_i8 K_i8^T as in attn_fwd_wg.cu (wgmma m64n<BN>k32 s8.s8 -> s32, per-token scales), but
// P is not re-quantized: it stays in 16 bits (the output dtype) and multiplies V as given
// (fp16/bf16, no V quantization pass) on the 16-bit tensor cores, accumulating in fp32 straight
// into O (wgmma m64n<HD>k16 with P from registers and V from shared memory, MN-major). With no
// int32 P.V tile to fold, O lives in the product's accumulator and the products run behind the
// softmax (FA3's order within a warpgroup):
//
//   tile kt:  issue S_kt | issue P_{kt-1} V_{kt-1} | wait S_kt | softmax(S_kt) -> P_kt
//             | wait P.V | O *= alpha_kt (only when a row's reference maximum moved)
//
// so the softmax of tile kt runs while the tensor cores add tile kt-1 into O. K and V have
// rings of two stages each: at the top of tile kt the copies of K_{kt+1} and V_kt start (V_kt
// is first read one tile later). docs/HOPPER_KERNEL.md has the schedule and the measurements.

#define HD ${v.head_dim}
#define BM ${v.block_m}
#define BN ${v.block_n}
#define WARPS ${v.warps}
#define NT (WARPS * 32)
#define MT 1
#define NR 2
#define CAUSAL ${v.causal and 1 or 0}
//% local pu8 = (v.p_quant == "u8row")
#define P_U8 ${pu8 and 1 or 0}
#define LAZY_TAU 8.0f

#define GB HD
#define GC (HD / 16)
#define VC (BN / 16)
#define TILE_K_BYTES (BN * HD)
#define TILE_V_BYTES (BN * HD)

//% include("attn_common.cu")
//% include("attn_int8_tile.cu")
//% include("attn_wgmma.cu")

//% local need = v.block_n / 2 + v.head_dim + v.block_n / 8 + 40
//% local min_blocks = need <= 168 and 3 or 2
#define MIN_BLOCKS ${min_blocks}

extern "C" __global__ void __launch_bounds__(NT, MIN_BLOCKS)
intfa_attn_fwd(const intfa_attn_params p)
{
    extern __shared__ __align__(128) unsigned char smem[];
    const u32 sQ = (smem_addr(smem) + 1023u) & ~1023u; // swizzle atoms need 1024-byte alignment
    const u32 sK = sQ + BM * HD;
    const u32 sV = sK + 2 * TILE_K_BYTES;
    const u32 sKs = sV + 2 * TILE_V_BYTES; // fp32 key scales

    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int g = lane >> 2, t = lane & 3;
    const attn_block blk(p);
    const int m0 = blk.m0, diag = blk.diag, n_tiles = blk.n_tiles;
    if (m0 >= blk.seq_q) return; // varlen: past this sequence's rows (the whole block)
    float q_fused[NR];
    if (p.q_fp) quant_q_rows(p, blk, sQ, warp * 16, g, t, q_fused);
    else blk.copy_q(p, sQ, tid);
    kv_copier kc(p, blk.kg, blk.vg, tid);
    if (n_tiles > 0) kc.copy_k(p, blk, sK, sKs, 0, tid);
    cp_async_commit();

    int rows[NR];
    float a[NR], m[NR], l[NR], o[MT][HD / 8][4];
    start_rows(p, blk, m0 + warp * 16, g, q_fused, rows, a, m, l, o);
    const u32 sQw = sQ + (warp >> 2) * 64 * HD;

    // Before tile kt's products (kt == n_tiles: before the last P.V): K_kt and V_{kt-1} have
    // landed and every thread is done with S_{kt-1} and P_{kt-2} V_{kt-2}, so K_{kt+1} and V_kt
    // take those stages.
    auto top = [&](int kt) {
        cp_async_wait<0>();
        publish_copies<true>();
        if (kt + 1 < n_tiles) kc.copy_k(p, blk, sK + ((kt + 1) & 1) * TILE_K_BYTES, sKs + ((kt + 1) & 1) * BN * 4, (kt + 1) * BN, tid);
        if (kt < n_tiles) {
            if (kt * BN + BN <= blk.seq_kv) kc.v_rows<true>(p, blk, sV + (kt & 1) * TILE_V_BYTES, kt * BN, tid);
            else kc.v_rows<false>(p, blk, sV + (kt & 1) * TILE_V_BYTES, kt * BN, tid);
            kc.v_src += BN;
        }
        cp_async_commit();
    };
    int pv[HD / 8][4];
    float a_prev[NR], b_prev[NR];
    auto issue_pv = [&](const u32 (&pf)[MT][BN / 32][4], int kt) {
        const u32 tV = sV + (kt & 1) * TILE_V_BYTES;
        wg_operands(pv);
        wg_pv<0>(pv, pf[0][0], wg_desc(tV, BN));
#pragma unroll
        for (int j = 1; j < BN / 32; ++j) wg_pv<1>(pv, pf[0][j], wg_desc(tV + j * 32, BN));
        wg_commit();
    };
    auto fold = [&]() {
        wg_operands(pv);
        rescale_o(o, a_prev);
#pragma unroll
        for (int e = 0; e < HD / 8; ++e)
#pragma unroll
            for (int r = 0; r < 4; ++r) o[0][e][r] = __fmaf_rn((float)pv[e][r], b_prev[r >> 1], o[0][e][r]);
    };
    // Tile kt: its S, the previous tile's P.V behind it, the softmax while that runs.
    auto tile = [&](int kt, const u32 (&p_prev)[MT][BN / 32][4], u32 (&p_cur)[MT][BN / 32][4]) {
        top(kt);
        const u32 tK = sK + (kt & 1) * TILE_K_BYTES;
        const u32 tKs = sKs + (kt & 1) * BN * 4;
        const int key0 = kt * BN;
        auto step = [&](auto mask_tag) {
            constexpr bool MASK = decltype(mask_tag)::value;
            int s[MT][BN / 8][4];
            wg_operands(s[0]);
            wg_fence();
            wg_qk<0>(s[0], wg_desc(sQw, HD), wg_desc(tK, HD));
#pragma unroll
            for (int kc2 = 1; kc2 < HD / 32; ++kc2)
                wg_qk<1>(s[0], wg_desc(sQw + kc2 * 32, HD), wg_desc(tK + kc2 * 32, HD));
            wg_commit();
            if (kt > 0) {
                issue_pv(p_prev, kt - 1);
                wg_wait<1>();
            } else {
                wg_wait<0>();
            }
            wg_operands(s[0]);
            float x[MT][BN / 8][4];
            tile_scores<MASK>(s, x, tKs, t, key0, rows, blk.seq_kv, diag);
            float alpha[NR], beta[NR];
            tile_softmax<MASK>(x, a, m, l, alpha, beta, p_cur);
            if (kt > 0) {
                wg_wait<0>();
                fold();
            }
#pragma unroll
            for (int r = 0; r < NR; ++r) {
                a_prev[r] = alpha[r];
                b_prev[r] = beta[r];
            }
        };
        bool need_mask = key0 + BN > blk.seq_kv;
#if CAUSAL
        need_mask = need_mask || (key0 + BN - 1 > m0 + diag);
#endif
        if (need_mask) step(Flag<true>{});
        else step(Flag<false>{});
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
        wg_wait<0>();
        fold();
    }
    store_output(p, o, m, l, rows, blk, t);
}
