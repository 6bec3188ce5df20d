// INT8 Q/K FlashAttention forward with 16-bit P.V (p_quant pf16), wgmma path for sm_90a.
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
#define P_U8 0
#define LAZY_TAU 8.0f // P <= 2^8 between reference-maximum moves: exact in fp16 and bf16

#define GB HD
#define GC (HD / 16)
#define VC (BN / 16)
#define HC (HD / 8)                 // 16-byte chunks of a 16-bit V row
#define TILE_K_BYTES (BN * HD)
#define TILE_V_BYTES (BN * HD * 2)  // HD / 64 regions of BN rows x 128 bytes

//% include("attn_common.cu")
//% include("attn_int8_tile.cu")
//% include("attn_wgmma.cu")

// Three resident blocks where shared memory and registers allow (168 per thread: S, O and two P
// tiles must fit, else ptxas spills and serializes the products), else two.
//% local regs = v.block_n + v.head_dim // 2 + 40
//% local min_blocks = (3 * (v.smem_bytes + 1024) <= 233472 and regs <= 168) and 3 or 2
#define MIN_BLOCKS ${min_blocks}

//% local ab = v.dtype == "bf16" and "bf16" or "f16"
// MN-major descriptor of V rows (keys) in 128-byte-swizzled regions of 64 columns: 8-key
// groups 1024 bytes apart (stride offset), regions BN * 128 bytes apart (leading offset).
__device__ __forceinline__ unsigned long long wg_desc_v(u32 addr)
{
    return (unsigned long long)((addr & 0x3FFFF) >> 4) | ((unsigned long long)((BN * 128) >> 4) << 16) |
           ((unsigned long long)(1024 >> 4) << 32) | (1ull << 62);
}

//% local nk = v.block_n // 16 -- k16 steps per key tile
//% local no = v.head_dim // 2 -- accumulator registers
//% local oacc = {} for i = 0, no - 1 do oacc[#oacc + 1] = "%" .. i end oacc = table.concat(oacc, ",")
//% local oops = {} for i = 0, no - 1 do oops[#oops + 1] = string.format('"+f"(c[%d][%d])', i // 4, i % 4) end
//% local aops, dops = {}, {}
//% for j = 0, nk - 1 do
//%   for k = 0, 3 do aops[#aops + 1] = string.format('"r"(a[%d][%d])', j, k) end
//%   dops[#dops + 1] = string.format('"l"(wg_desc_v(tV + %d * 16 * 128))', j)
//% end
// O += P V over one key tile: its BN / 16 k16 steps (P, 16-bit, m16n8k16 A layout, from
// registers; V's 16 key rows per step from shared memory through an MN-major descriptor,
// imm-trans-b = 1) in one asm statement: one statement with HD / 2 accumulator operands instead
// of one per step is ~80 ms less NVVM time for the same instructions (docs/PERF_NOTES.md).
__device__ __forceinline__ void wg_pv16_tile(float (&c)[HD / 8][4], const u32 (&a)[BN / 16][4], u32 tV)
{
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, 1, 0;\n"
//% for j = 0, nk - 1 do
                 "wgmma.mma_async.sync.aligned.m64n${v.head_dim}k16.f32.${ab}.${ab} {${oacc}}, "
                 "{%${no + 4 * j},%${no + 4 * j + 1},%${no + 4 * j + 2},%${no + 4 * j + 3}}, %${no + 4 * nk + j}, p, 1, 1, 1;\n"
//% end
                 "}\n"
                 : ${table.concat(oops, ", ")}
                 : ${table.concat(aops, ", ")},
                   ${table.concat(dops, ", ")});
}

// One thread's part of the V tile copies: chunk column c of HC, rows row0 + 8i (HD 128) or
// row0 + 16i (HD 64); key r's chunk c lands in region c / 8, row r, at chunk (c % 8) ^ (r % 8).
struct v16_copier {
    static_assert(NT % HC == 0 && (NT / HC) % 8 == 0, "V chunk columns must be fixed per thread");
    const unsigned short *src; // this thread's first chunk of the next tile
    i64 step;                  // between this thread's rows
    u32 dst0;
    int row0;

    __device__ __forceinline__ v16_copier(const intfa_attn_params &p, const attn_block &blk, int tid)
    {
        const int c = tid % HC;
        row0 = tid / HC;
        dst0 = (c >> 3) * (BN * 128) + row0 * 128 + (((c & 7) ^ (row0 & 7)) << 4);
        step = (i64)(NT / HC) * p.v_sn;
        src = blk.vh + (i64)row0 * p.v_sn + c * 8;
    }

    // keys key0 .. key0 + BN - 1 into the stage at dv; rows past the keys are zeros (P is 0
    // there, and 0 * a NaN of uninitialized memory would not be)
    __device__ __forceinline__ void copy(const intfa_attn_params &p, const attn_block &blk, u32 dv,
                                         int key0)
    {
        dv += dst0;
        if (key0 + BN <= blk.seq_kv) {
#pragma unroll
            for (int i = 0; i < BN * HC / NT; ++i) cp_async16(dv + i * (NT / HC) * 128, src + i * step, 16);
        } else { // the tail tile, once per block: not unrolled
#pragma unroll 1
            for (int i = 0; i < BN * HC / NT; ++i) {
                const bool ok = key0 + row0 + i * (NT / HC) < blk.seq_kv;
                cp_async16(dv + i * (NT / HC) * 128, ok ? (const void *)(src + i * step) : (const void *)p.v, ok ? 16 : 0);
            }
        }
        src += (i64)BN * p.v_sn;
    }
};

// Online softmax of one tile (log2 domain) with P kept in 16 bits, packed as the A operand of
// the k16 products: ph[j] holds keys 16 j .. 16 j + 15 (accumulator n8 tiles 2 j and 2 j + 1).
// The reference maximum moves lazily (LAZY_TAU, as pu8's); l is this thread's partial row sum
// (its 2 * BN / 8 keys), summed over the four threads of a row in the epilogue.
__device__ __forceinline__ void tile_softmax16(const float (&x)[MT][BN / 8][4], const float (&a)[NR],
                                               float (&m)[NR], float (&l)[NR], float (&alpha)[NR],
                                               u32 (&ph)[BN / 16][4])
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
    for (int j = 0; j < BN / 16; ++j) {
        float pr[2][4];
#pragma unroll
        for (int jj = 0; jj < 2; ++jj)
#pragma unroll
            for (int i = 0; i < 4; ++i) {
                const int h = i >> 1;
                // a > 0 (start_rows), so a masked score gives ex2(-inf) = 0 with no select
                pr[jj][i] = ex2(__fmaf_rn(x[0][2 * j + jj][i], a[h], -shift[h]));
                ps[h] += pr[jj][i];
            }
        ph[j][0] = pack_out(pr[0][0], pr[0][1]);
        ph[j][1] = pack_out(pr[0][2], pr[0][3]);
        ph[j][2] = pack_out(pr[1][0], pr[1][1]);
        ph[j][3] = pack_out(pr[1][2], pr[1][3]);
    }
#pragma unroll
    for (int h = 0; h < NR; ++h) l[h] = __fmaf_rn(l[h], alpha[h], ps[h]);
}

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
    v16_copier vc(p, blk, tid);
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
        if (kt < n_tiles) vc.copy(p, blk, sV + (kt & 1) * TILE_V_BYTES, kt * BN);
        cp_async_commit();
    };
    auto issue_pv = [&](const u32 (&ph)[BN / 16][4], int kt) {
        const u32 tV = sV + (kt & 1) * TILE_V_BYTES;
        wg_pv16_tile(o[0], ph, tV);
        wg_commit();
    };
    // Tile kt: its S, the previous tile's P.V behind it, the softmax while that runs.
    auto tile = [&](int kt, const u32 (&p_prev)[BN / 16][4], u32 (&p_cur)[BN / 16][4]) {
        top(kt);
        const u32 tK = sK + (kt & 1) * TILE_K_BYTES;
        const u32 tKs = sKs + (kt & 1) * BN * 4;
        const int key0 = kt * BN;
        const bool masked = tile_needs_mask(key0, blk.seq_kv, m0, diag);
        {
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
            tile_softmax16(x, a, m, l, alpha, p_cur);
            wait_pv_rescale(o[0], alpha);
        }
    };

    // P of the tile being computed (pa) and of the previous one (pb, read by its P.V while the
    // softmax writes pa). One tile per iteration (one copy of the tile's code: NVRTC time), pa
    // moved to pb after the tile's wait by an add of a zero the compiler cannot prove: a plain
    // move would let ptxas give pa and pb the same registers, and then wait for the P.V before
    // the softmax writes them (the overlap gone).
    u32 pa[BN / 16][4], pb[BN / 16][4];
    const u32 zero = (u32)n_tiles >> 31;
    for (int kt = 0; kt < n_tiles; ++kt) {
        tile(kt, pb, pa);
#pragma unroll
        for (int j = 0; j < BN / 16; ++j)
#pragma unroll
            for (int i = 0; i < 4; ++i) asm volatile("add.u32 %0, %1, %2;" : "=r"(pb[j][i]) : "r"(pa[j][i]), "r"(zero));
    }
    if (n_tiles == 0) {
        cp_async_wait<0>(); // Q's copies (no key tile: nothing else waited for them)
    } else {
        top(n_tiles);
        wg_operands_f(o[0]);
        wg_fence();
        issue_pv(pb, n_tiles - 1);
        wg_wait<0>();
        wg_operands_f(o[0]);
    }
#pragma unroll
    for (int h = 0; h < NR; ++h) {
        l[h] += __shfl_xor_sync(0xffffffffu, l[h], 1);
        l[h] += __shfl_xor_sync(0xffffffffu, l[h], 2);
    }
    store_output<false>(p, o, m, l, rows, blk, t);
}
