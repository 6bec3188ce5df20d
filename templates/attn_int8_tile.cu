// The per-tile arithmetic of the INT8 attention kernels, shared by the mma.sync kernel
// (attn_fwd.cu) and the wgmma kernel (attn_fwd_wg.cu): both hold S and O in the m16n8
// accumulator layout (thread (g, t) of a warp: rows g and g + 8 of each m16 tile, columns
// 8 j + 2 t and 8 j + 2 t + 1), so the softmax, P quantization and epilogue are the same code.
// The including kernel defines HD, BN, MT (m16 row tiles per warp), NR (= 2 MT rows per
// thread), CAUSAL, P_U8 and LAZY_TAU, and for the copies NT (threads), GB and GC (bytes and
// 16-byte chunks of a K row as loaded), VC (chunks of a V^T row). docs/ALGORITHM.md is the
// arithmetic step by step.
//
// Head dims (docs/ALGORITHM.md, "Head dims"): HD is the head dim the kernel computes with, a
// multiple of 32 (one k32 step); DV <= HD is the problem's (a multiple of 16). Q/K columns and
// V^T rows from DV to HD are zeros in shared memory and output columns past DV are not stored.
// Q/K tiles are stored in slabs: rows of up to 128 bytes are one slab (the layouts of head
// dims 32, 64 and 128 are what they always were); longer rows are cut into slabs of 128, 64 or
// 32 bytes (whichever divides the row), each [rows][slab bytes] with the matching swizzle, which
// is what one wgmma k32 step (a 32-byte column of every row) and ldmatrix read.
#ifndef DV
#define DV HD
#endif
#define GCP (GC <= 2 ? 2 : GC <= 4 ? 4 : GC <= 8 ? 8 : 16) // chunk columns of the copies (a power of two)
#define GCV (DV * GB / HD / 16)                            // of them, the chunks global memory holds

// Bytes of a slab of a Q/K tile whose rows are RB bytes long.
template <int RB> struct qk_slab {
    static constexpr int bytes = RB % 128 == 0 ? 128 : RB % 64 == 0 ? 64 : 32;
};

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
    int q_fp;            // 1: q holds the drop-in's fp16/bf16 Q (strides in elements), quantized
                         // here per token (quant_q_rows); q_scale is unused
    const float *k_mean; // q_fp with an LSE and K smoothing: K's mean [B, H_kv, HD]; lse_bias is
                         // then written here (softmax_scale * q . mean) before it is read
    float softmax_scale;
    int pad_;
    const int *cu_q, *cu_k; // varlen: cumulative query and key counts [batch + 1], else NULL
    i64 v_sb, v_sh, v_sn;   // pf16: strides (elements) of the fp16/bf16 V that p.v then points to
    const unsigned long long *kv_ready; // the drop-in's streamed K/V pass (sm_90): per (batch,
                                        // K/V head), set to kv_epoch when that head's K, V,
                                        // scales and mean are written; else NULL
    unsigned long long kv_epoch;
};


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
//% if v.dtype == "bf16" then
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

// Byte offset of 16-byte chunk c of row `row` in a Q/K tile of R rows of RB bytes (slabs of
// qk_slab<RB>::bytes, each R rows). Rows 8 apart share a swizzle, so moving by 8 k rows adds
// 8 k slab-bytes.
template <int RB, int R> __device__ __forceinline__ int qk_off(int row, int c)
{
    constexpr int SL = qk_slab<RB>::bytes, SC = SL / 16;
    if constexpr (SL == RB) return row * RB + swz<SC>(row, c) * 16; // one slab (c < SC)
    else return (c / SC) * (R * SL) + row * SL + swz<SC>(row, c % SC) * 16;
}

// ---- cp.async copies. Chunk i of thread tid is tid + i * NT; NT is a multiple of every row's
// chunk count, so a thread keeps one chunk column, its rows step by a constant, the swizzle of
// its chunks is fixed, and only base pointers move from tile to tile. UNROLL: how far the
// chunk loop unrolls (an integral constant expression; 1 for copies off the hot path: the tail
// tile's, whose bounds checks are not worth a second unrolled copy of the code).
#define FOR_CHUNKS_PRAGMA(x) _Pragma(#x)
#define FOR_CHUNKS(i, COUNT, UNROLL)                                                           \
    FOR_CHUNKS_PRAGMA(unroll UNROLL) for (int i = 0; i < ((COUNT) + NT - 1) / NT; ++i)         \
        if (((COUNT) % NT) == 0 || tid + i * NT < (COUNT))
#define ALL_CHUNKS 64 // more than any copy's chunks per thread: unrolled fully

// Which query rows, heads and keys a block works on: rows m0 .. m0 + BM - 1 of query head hq
// in batch b (causal grids run the longest rows first), and its n_tiles key tiles. With
// p.cu_q (varlen), b is a sequence of the packed batch: its tokens cu_q[b] .. cu_q[b + 1] of Q
// and cu_k[b] .. cu_k[b + 1] of K and V, its V^T columns from 128 (cu_k[b] / 128 + b) on (each
// sequence starts on a 128-byte line, with room for its padding), and p.seq_q, p.seq_kv and p.n_pad are the totals (the strides
// of the [heads, total] arrays and of V^T's rows); blocks past a sequence's rows do nothing.
struct attn_block {
    int hq, b, hkv, m0, diag, n_tiles; // key j is visible to row i iff j <= i + diag (causal)
    int seq_q, seq_kv, n_pad;          // this sequence's queries, keys, keys padded to 16
    i64 bh_kv;                         // (batch, K/V head) index: V scales, K's mean
    i64 q_off, o_off;                  // Q's and the output's row 0 of this head (elements; Q bytes when int8)
    i64 row0;                          // index of row 0 in q_scale, lse and lse_bias
    const signed char *qg, *kg, *vg;   // this head's Q, K and V^T
    const unsigned short *vh;          // pf16: this head's V row 0 (16-bit, rows p.v_sn apart)
    const float *ksg;                  // this head's key scales

    // The block's own rows: m-block, head and batch from the grid.
    __device__ __forceinline__ explicit attn_block(const intfa_attn_params &p)
#if CAUSAL
        : attn_block(p, gridDim.x - 1 - blockIdx.x, blockIdx.y, blockIdx.z)
#else
        : attn_block(p, blockIdx.x, blockIdx.y, blockIdx.z)
#endif
    {
    }

    // m-block mb (rows mb * BM ..) of query head hq_ in batch b_ (persistent grids).
    __device__ __forceinline__ attn_block(const intfa_attn_params &p, int mb, int hq_, int b_)
    {
        hq = hq_;
        b = b_;
        hkv = hq / (p.heads_q / p.heads_kv);
        m0 = mb * BM;
        bh_kv = (i64)b * p.heads_kv + hkv;
        i64 k_off, v_off;
        if (p.cu_q) {
            const int q0 = p.cu_q[b], k0 = p.cu_k[b];
            seq_q = p.cu_q[b + 1] - q0;
            seq_kv = p.cu_k[b + 1] - k0;
            q_off = (i64)q0 * p.q_sn + hq * p.q_sh;
            o_off = (i64)q0 * p.o_sn + hq * p.o_sh;
            k_off = (i64)k0 * p.k_sn + hkv * p.k_sh;
            v_off = (i64)hkv * DV * p.n_pad + 128 * (k0 / 128 + b);
            vh = (const unsigned short *)(const void *)p.v + (i64)k0 * p.v_sn + hkv * p.v_sh;
            row0 = (i64)hq * p.seq_q + q0;
            ksg = p.k_scale + (i64)hkv * p.seq_kv + k0;
        } else {
            seq_q = p.seq_q;
            seq_kv = p.seq_kv;
            q_off = b * p.q_sb + hq * p.q_sh;
            o_off = b * p.o_sb + hq * p.o_sh;
            k_off = b * p.k_sb + hkv * p.k_sh;
            v_off = bh_kv * DV * p.n_pad;
            vh = (const unsigned short *)(const void *)p.v + b * p.v_sb + hkv * p.v_sh;
            row0 = ((i64)b * p.heads_q + hq) * p.seq_q;
            ksg = p.k_scale + bh_kv * p.seq_kv;
        }
        n_pad = (seq_kv + 15) & ~15;
        diag = seq_kv - seq_q;
        qg = p.q + q_off;
        kg = p.k + k_off;
        vg = p.v + v_off;
        n_tiles = (seq_kv + BN - 1) / BN;
#if CAUSAL
        const int jmax = min(m0 + BM, seq_q) - 1 + diag;
        n_tiles = jmax < 0 ? 0 : min(n_tiles, jmax / BN + 1);
#endif
    }

    // Copies the block's Q rows (GB bytes each, swizzled) to dst; rows past the end, and columns
    // past DV, are zeros.
    __device__ __forceinline__ void copy_q(const intfa_attn_params &p, u32 dst, int tid) const
    {
        const int row0 = tid / GCP, c = tid % GCP;
        if (!(GC == GCP || c < GC)) return;
        const signed char *src = qg + (i64)(m0 + row0) * p.q_sn + c * 16;
        dst += qk_off<GB, BM>(row0, c);
        FOR_CHUNKS(i, BM * GCP, ALL_CHUNKS) {
            const bool ok = m0 + row0 + i * (NT / GCP) < seq_q && (GCV == GC || c < GCV);
            cp_async16(dst + i * (NT / GCP) * qk_slab<GB>::bytes, ok ? src + i * (NT / GCP) * p.q_sn : p.q,
                       ok ? 16 : 0);
        }
    }
};

// The drop-in's K/V pass runs beside this kernel (launched as its programmatic dependent,
// intfa_quant_kv_stream): before anything of K, V, their scales or K's mean is read, the block
// waits for its head's flag. The last (batch, K/V head)'s flag is set only once every group of
// the pass has left, so this grid cannot complete (and stream work after it cannot start)
// while the pass still touches memory: the blocks of that head wait even when they have no
// rows (`idle`). A bounded spin (~18 minutes: a pass over the largest K/V a GPU holds takes
// seconds): a flag never set is a bug, reported by a trap rather than a hang.
__device__ __forceinline__ void wait_kv_ready(const intfa_attn_params &p, const attn_block &blk, bool idle)
{
    if (!p.kv_ready || (idle && blk.bh_kv != (i64)p.batch * p.heads_kv - 1)) return;
    if (threadIdx.x == 0) {
        const unsigned long long *f = p.kv_ready + blk.bh_kv;
        for (long long i = 0;; ++i) {
            unsigned long long v;
            asm volatile("ld.acquire.gpu.global.u64 %0, [%1];" : "=l"(v) : "l"(f) : "memory");
            if (v == p.kv_epoch) break; // a flag of an earlier launch holds another epoch
            __nanosleep(256);
            if (i > (1ll << 32)) __trap();
        }
    }
    __syncthreads();
}

// The drop-in's Q (p.q_fp): the thread's NR rows (local rows lrow0 + g + 8 r of the block, as in
// start_rows) quantized per token exactly as intfa_quant_qk does (docs/ALGORITHM.md) straight
// into the block's int8 Q tile at dst (rows of HD bytes, 16-byte chunks swizzled as copy_q
// stores them), with no Q workspace and no separate launch. The four threads t = 0..3 of a
// row group share its rows: thread t converts the 8-value chunks t, t + 4, ...; the row maximum
// is a 4-lane reduction. qs gets each row's scale (0 past seq_q, whose rows are zeros). With
// p.k_mean and an LSE, thread t = 0 also writes the row's LSE bias (K smoothing), which
// store_output reads back in the same thread.
__device__ __forceinline__ float q_to_float(u32 h)
{
//% if v.dtype == "bf16" then
    return __uint_as_float(h << 16);
//% else
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"((unsigned short)h));
    return f;
//% end
}

__device__ __forceinline__ void quant_q_rows(const intfa_attn_params &p, const attn_block &blk,
                                             u32 dst, int lrow0, int g, int t, float (&qs)[NR])
{
    constexpr int CH = HD / 32; // 8-value chunks per thread and row
    const unsigned short *qx = (const unsigned short *)(const void *)p.q + blk.q_off;
    uint4 raw[NR][CH];
#pragma unroll
    for (int r = 0; r < NR; ++r) {
        const int row = blk.m0 + lrow0 + g + 8 * r;
#pragma unroll
        for (int i = 0; i < CH; ++i)
            raw[r][i] = row < blk.seq_q && (DV == HD || (t + 4 * i) * 8 < DV)
                            ? *(const uint4 *)(qx + (i64)row * p.q_sn + (t + 4 * i) * 8)
                            : make_uint4(0u, 0u, 0u, 0u);
    }
    const float *mean = p.k_mean && p.lse ? p.k_mean + blk.bh_kv * DV : nullptr;
    // One row per iteration, not unrolled: the loads above are all in flight already, and one
    // copy of the conversion code instead of NR (setup code, once per block; NVRTC time).
    // raw[r] and qs[r] go through compile-time indices (selects), so both stay in registers.
#pragma unroll 1
    for (int r = 0; r < NR; ++r) {
        const int lrow = lrow0 + g + 8 * r, row = blk.m0 + lrow;
        uint4 cur[CH];
#pragma unroll
        for (int i = 0; i < CH; ++i) cur[i] = raw[0][i];
#pragma unroll
        for (int rr = 1; rr < NR; ++rr)
            if (r == rr) {
#pragma unroll
                for (int i = 0; i < CH; ++i) cur[i] = raw[rr][i];
            }
        float x[CH][8];
        float amax = 0.f;
#pragma unroll
        for (int i = 0; i < CH; ++i) {
            const u32 w[4] = {cur[i].x, cur[i].y, cur[i].z, cur[i].w};
#pragma unroll
            for (int e = 0; e < 8; ++e) {
                x[i][e] = q_to_float((w[e >> 1] >> (16 * (e & 1))) & 0xffffu);
                amax = fmaxf(amax, fabsf(x[i][e]));
            }
        }
        amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, 1));
        amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, 2));
        const float inv = amax > 0.f ? 127.0f / amax : 0.f;
#pragma unroll
        for (int i = 0; i < CH; ++i) {
            u32 b[2] = {0u, 0u};
#pragma unroll
            for (int e = 0; e < 8; ++e) {
                const int q = max(-127, min(127, __float2int_rn(__fmul_rn(x[i][e], inv))));
                b[e >> 2] |= ((u32)q & 0xffu) << (8 * (e & 3));
            }
            const int c = t + 4 * i; // 8-byte half c & 1 of int8 chunk c >> 1
            asm volatile("st.shared.v2.u32 [%0], {%1,%2};\n" ::"r"(dst + qk_off<HD, BM>(lrow, c >> 1) + (c & 1) * 8),
                         "r"(b[0]), "r"(b[1]) : "memory");
        }
#pragma unroll
        for (int rr = 0; rr < NR; ++rr)
            if (r == rr) qs[rr] = amax / 127.0f;
        if (mean) {
            float dot = 0.f;
#pragma unroll
            for (int i = 0; i < CH; ++i) {
                if (DV != HD && (t + 4 * i) * 8 >= DV) continue;
                const float4 m0 = *(const float4 *)(mean + (t + 4 * i) * 8);
                const float4 m1 = *(const float4 *)(mean + (t + 4 * i) * 8 + 4);
                const float mv[8] = {m0.x, m0.y, m0.z, m0.w, m1.x, m1.y, m1.z, m1.w};
#pragma unroll
                for (int e = 0; e < 8; ++e) dot = fmaf(x[i][e], mv[e], dot);
            }
            dot += __shfl_xor_sync(0xffffffffu, dot, 1);
            dot += __shfl_xor_sync(0xffffffffu, dot, 2);
            if (t == 0 && row < blk.seq_q) ((float *)p.lse_bias)[blk.row0 + row] = p.softmax_scale * dot;
        }
    }
}

// A thread's NR = 2 MT query rows (rows[2 mt + h]: row g + 8 h of its warp's m16 tile mt, the
// warp's first row being row0), their softmax state and O = 0. a = q_scale * log2(e) * softmax scale, floored at 1e-30 (all-zero Q rows,
// rows past the end: 0) so that masked scores need no select in tile_softmax. fmaxf also turns
// a NaN scale (from NaN inputs) into 1e-30: such a row comes out as a plain average of V
// instead of NaN (a select that kept NaN perturbed the register allocation of the whole
// kernel; the kernels were measured as they are).
__device__ __forceinline__ void start_rows(const intfa_attn_params &p, const attn_block &blk,
                                           int row0, int g, const float (&q_fused)[NR],
                                           int (&rows)[NR], float (&a)[NR], float (&m)[NR],
                                           float (&l)[NR], float (&o)[MT][HD / 8][4])
{
#pragma unroll
    for (int r = 0; r < NR; ++r) rows[r] = row0 + g + 8 * r; // 8 r = 16 (r / 2) + 8 (r % 2)
#pragma unroll
    for (int r = 0; r < NR; ++r) {
        const float qs = p.q_fp ? q_fused[r]
                         : rows[r] < blk.seq_q ? p.q_scale[blk.row0 + rows[r]] : 0.f;
        a[r] = fmaxf(qs * p.scale_log2, 1e-30f);
        m[r] = NEG_INF;
        l[r] = 0.f;
    }
#pragma unroll
    for (int mt = 0; mt < MT; ++mt)
#pragma unroll
        for (int e = 0; e < HD / 8; ++e)
#pragma unroll
            for (int i = 0; i < 4; ++i) o[mt][e][i] = 0.f;
}

// One thread's part of the key-tile copies: its K and V^T chunk column and where the next
// tile's chunks are.
struct kv_copier {
    static_assert(NT % GCP == 0 && NT % VC == 0 && (NT / GCP) % 8 == 0 && (NT / VC) % 8 == 0,
                  "chunk columns must be fixed per thread");
    const signed char *k_src, *v_src; // this thread's first chunk of the next tile
    i64 k_step, v_step;               // between this thread's chunks (NT / GC K rows, NT / VC V^T rows)
    i64 k_tile_step;                  // from one tile's K rows to the next's
    u32 k_dst0, v_dst0;               // this thread's first chunk in a stage
    int k_row0, k_c, v_row0;

    __device__ __forceinline__ kv_copier(const intfa_attn_params &p, const signed char *kg,
                                         const signed char *vg, int tid)
    {
        k_row0 = tid / GCP;
        k_c = tid % GCP;
        v_row0 = tid / VC;
        const int v_c = tid % VC;
        k_dst0 = qk_off<GB, BN>(k_row0, k_c);
        v_dst0 = v_row0 * BN + swz<VC>(v_row0, v_c) * 16;
        k_step = (i64)(NT / GCP) * p.k_sn;
        v_step = (i64)(NT / VC) * p.n_pad;
        k_src = kg + (i64)k_row0 * p.k_sn + k_c * 16;
        v_src = vg + (i64)v_row0 * p.n_pad + v_c * 16;
        k_tile_step = (i64)BN * p.k_sn;
    }

    // The pieces of a key tile's copies (keys key0 ..): K rows into dk, key scales into dks, V^T
    // into dv (dk and dv already at this thread's first chunk: + k_dst0, + v_dst0). FULL: the tile lies inside the keys (every one but the last), no per-chunk bounds
    // checks; else what lies past the keys (V^T: past its padded length) is zero-filled. The
    // tail's V^T rows (once per block) in a loop that is not unrolled; its K rows too for
    // copy_k (pf16), not for copy (there the loop's registers made ptxas spill in the hot loop of
    // sm_90a hd128 ps8).
    template <bool FULL, int TAIL_UNROLL = ALL_CHUNKS>
    __device__ __forceinline__ void k_rows(const intfa_attn_params &p, const attn_block &blk, u32 dk, int key0, int tid) const
    {
        if (!(GC == GCP || k_c < GC)) return; // a copy column past the row
        FOR_CHUNKS(i, BN * GCP, (FULL ? ALL_CHUNKS : TAIL_UNROLL)) {
            const bool ok = (FULL || key0 + k_row0 + i * (NT / GCP) < blk.seq_kv) && (GCV == GC || k_c < GCV);
            cp_async16(dk + i * (NT / GCP) * qk_slab<GB>::bytes, ok ? k_src + i * k_step : p.k, ok ? 16 : 0);
        }
    }
    template <bool FULL>
    __device__ __forceinline__ void v_rows(const intfa_attn_params &p, const attn_block &blk, u32 dv, int key0, int tid) const
    {
        const bool ok = FULL || key0 + (tid % VC) * 16 < blk.n_pad;
        FOR_CHUNKS(i, HD * VC, (FULL ? ALL_CHUNKS : 1)) {
            const bool in = ok && (DV == HD || v_row0 + i * (NT / VC) < DV); // V^T rows past DV: zeros
            cp_async16(dv + i * (NT / VC) * BN, in ? v_src + i * v_step : p.v, in ? 16 : 0);
        }
    }
    template <bool FULL>
    __device__ __forceinline__ void k_scales(const intfa_attn_params &p, const attn_block &blk, u32 dks, int key0, int tid) const
    {
        if (tid < BN) {
            const bool ok = FULL || key0 + tid < blk.seq_kv;
            cp_async4(dks + tid * 4, ok ? blk.ksg + key0 + tid : p.k_scale, ok ? 4 : 0);
        }
    }

    // The next key tile's K, V^T and key scales into one stage (dk, dv, dks).
    __device__ __forceinline__ void copy(const intfa_attn_params &p, const attn_block &blk, u32 dk,
                                         u32 dv, u32 dks, int key0, int tid)
    {
        dk += k_dst0;
        dv += v_dst0;
        if (key0 + BN <= blk.seq_kv) {
            k_rows<true>(p, blk, dk, key0, tid);
            v_rows<true>(p, blk, dv, key0, tid);
            k_scales<true>(p, blk, dks, key0, tid);
        } else {
            k_rows<false>(p, blk, dk, key0, tid);
            v_rows<false>(p, blk, dv, key0, tid);
            k_scales<false>(p, blk, dks, key0, tid);
        }
        k_src += k_tile_step;
        v_src += BN;
    }

    // Only the next key tile's K and key scales (kernels with separate K and V rings).
    __device__ __forceinline__ void copy_k(const intfa_attn_params &p, const attn_block &blk, u32 dk,
                                           u32 dks, int key0, int tid)
    {
        dk += k_dst0;
        if (key0 + BN <= blk.seq_kv) {
            k_rows<true>(p, blk, dk, key0, tid);
            k_scales<true>(p, blk, dks, key0, tid);
        } else {
            k_rows<false, 1>(p, blk, dk, key0, tid);
            k_scales<false>(p, blk, dks, key0, tid);
        }
        k_src += k_tile_step;
    }
};

// S (int32) -> x = S * k_scale (fp32). ALIGNED8: the scales start on an 8-byte boundary (else,
// TMA's 16-byte-aligned windows of them, one 4-byte load each).
template <bool ALIGNED8 = true>
__device__ __forceinline__ void tile_scores(const int (&s)[MT][BN / 8][4], float (&x)[MT][BN / 8][4], u32 tKs, int t)
{
#pragma unroll
    for (int j = 0; j < BN / 8; ++j) {
        const u32 at = tKs + (8 * j + 2 * t) * 4;
        const float2 ks = ALIGNED8 ? lds_f2(at) : make_float2(lds_f(at), lds_f(at + 4));
#pragma unroll
        for (int mt = 0; mt < MT; ++mt) {
            x[mt][j][0] = (float)s[mt][j][0] * ks.x;
            x[mt][j][1] = (float)s[mt][j][1] * ks.y;
            x[mt][j][2] = (float)s[mt][j][2] * ks.x;
            x[mt][j][3] = (float)s[mt][j][3] * ks.y;
        }
    }
}

// Scores of keys a row must not see set to -inf (tiles on the key tail or the causal diagonal):
// per row, the last visible key relative to this thread's first column, one compare with a
// constant per element. The kernels call it behind a warp-uniform branch in the one copy of
// their tile code (a copy per mask state measured 35% of an NVRTC compile, docs/RESULTS.md).
__device__ __forceinline__ void mask_scores(float (&x)[MT][BN / 8][4], int t, int key0, const int (&rows)[NR],
                                            int seq_kv, int diag)
{
    int last[NR];
#pragma unroll
    for (int r = 0; r < NR; ++r) {
        last[r] = seq_kv - 1 - (key0 + 2 * t);
#if CAUSAL
        last[r] = min(last[r], rows[r] + diag - (key0 + 2 * t));
#endif
    }
#pragma unroll
    for (int mt = 0; mt < MT; ++mt)
#pragma unroll
        for (int j = 0; j < BN / 8; ++j)
#pragma unroll
            for (int i = 0; i < 4; ++i)
                if (8 * j + (i & 1) > last[2 * mt + (i >> 1)]) x[mt][j][i] = NEG_INF;
}

// Whether key tile key0 .. key0 + BN - 1 needs the mask: it reaches past the keys or (causal)
// above the diagonal of the block's first row m0 (key j visible to row i iff j <= i + diag), so
// that every row of the block sees every key of an unmasked tile.
__device__ __forceinline__ bool tile_needs_mask(int key0, int seq_kv, int m0, int diag)
{
    bool need = key0 + BN > seq_kv;
#if CAUSAL
    need = need || (key0 + BN - 1 > m0 + diag);
#endif
    return need;
}

// Maximum of row g + 8 h of a thread's m16 tile x over the key tile: a tree over the thread's
// BN / 4 values (depth log2(BN / 4), not a chain), then over the four threads of the row.
__device__ __forceinline__ float tile_row_max(const float (&x)[BN / 8][4], int h)
{
    float mv[BN / 8];
#pragma unroll
    for (int j = 0; j < BN / 8; ++j) mv[j] = fmaxf(x[j][2 * h], x[j][2 * h + 1]);
#pragma unroll
    for (int j = 0; j < 8; ++j)
        if (BN / 8 >= 16) mv[j] = fmaxf(mv[j], mv[(j + 8) % (BN / 8)]);
#pragma unroll
    for (int j = 0; j < 4; ++j)
        if (BN / 8 >= 8) mv[j] = fmaxf(mv[j], mv[(j + 4) % (BN / 8)]);
    float mx = fmaxf(fmaxf(mv[0], mv[2]), fmaxf(mv[1], mv[3]));
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
    return fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
}

// Online softmax (log2 domain) of one tile and P quantized to 8 bits, packed as the A operand
// of an m16n8k32 (or wgmma k32) product: pf[mt][kc] is key chunk kc of row tile mt. Updates
// the reference maxima m and row sums l; alpha is what O must be multiplied by before this
// tile's P.V is added with weight beta. Each row tile's statistics come first, then P is
// quantized and packed k-chunk by k-chunk so that the 32-bit intermediates die right away.
__device__ __forceinline__ void tile_softmax(const float (&x)[MT][BN / 8][4], const float (&a)[NR],
                                             float (&m)[NR], float (&l)[NR], float (&alpha)[NR],
                                             float (&beta)[NR], u32 (&pf)[MT][BN / 32][4])
{
#pragma unroll
    for (int mt = 0; mt < MT; ++mt) {
        float shift[2]; // what each row subtracts before ex2
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            const int r = 2 * mt + h;
            const float mx = tile_row_max(x[mt], h);
            const float mt_ = mx == NEG_INF ? NEG_INF : mx * a[r];
#if P_U8
            // The reference maximum m moves only when a tile's maximum exceeds it by more than
            // LAZY_TAU (log2 units): P is scaled by the tile's own maximum anyway, so
            // beta = 2^(mt - m) / 255 absorbs the difference (at most 2^LAZY_TAU) and O and l
            // need no rescale on most tiles.
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
                    // a > 0 (init_rows), so a masked score gives ex2(-inf) = 0 with no select
                    const float pr = ex2(__fmaf_rn(xv, a[2 * mt + h], -shift[h]));
#if P_U8
                    q[jj][i] = __float_as_uint(__fmaf_rn(pr, 255.0f, 12582912.0f));
#else
                    psum[h] += pr;
                    q[jj][i] = __float_as_uint(__fmaf_rn(pr, 127.0f, 12582912.0f));
#endif
                }
            // P as the A operand of a k32 product: thread (g, t) holds keys 8j+2t, 8j+2t+1 of
            // rows g and g+8, exactly the permuted key order of V's slots. The low byte of each
            // magic-rounded float is the quantized value.
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

    // Row sums of the quantized P, four bytes at a time with dp4a on the packed words (words
    // 0 and 2 of a k-chunk hold row g, words 1 and 3 row g + 8).
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
}

// O *= alpha. When no row's maximum moved (alpha == 1 everywhere in the warp, the common case
// once a row has seen its largest scores) the multiply is skipped: a warp-uniform branch.
__device__ __forceinline__ void rescale_o(float (&o)[MT][HD / 8][4], const float (&alpha)[NR])
{
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
}

// a[r] for a row index r known only at run time, through compile-time indices (selects): the
// array stays in registers (loops over a thread's rows that are not unrolled).
template <typename T, int N> __device__ __forceinline__ T pick(const T (&a)[N], int r)
{
    T v = a[0];
#pragma unroll
    for (int i = 1; i < N; ++i)
        if (r == i) v = a[i];
    return v;
}

// Epilogue: out = o * v_scale / l (V_SCALED; else o / l) for the thread's rows, and the LSE
// (natural log). The thread's V scales are loaded once for all its rows, before any output
// store (and only when the head has keys: no row has l > 0 without them): a load after a
// store that may alias it cannot be hoisted, so one load per row and column group waited out
// its latency in turn (and was a third of this code). One row per iteration of a loop that is
// not unrolled (its O values picked by selects): once per block, a quarter of the code at NR = 4.
template <bool V_SCALED = true>
__device__ __forceinline__ void store_output(const intfa_attn_params &p, const float (&o)[MT][HD / 8][4],
                                             const float (&m)[NR], const float (&l)[NR],
                                             const int (&rows)[NR], const attn_block &blk, int t)
{
    float2 sc[DV / 8]; // columns 8 e + 2 t, + 1 (output columns past DV are not stored)
    const float2 *vs = (const float2 *)(p.v_scale + blk.bh_kv * DV + 2 * t);
    if (V_SCALED && blk.seq_kv > 0) {
#pragma unroll
        for (int e = 0; e < DV / 8; ++e) sc[e] = vs[4 * e];
    } else {
#pragma unroll
        for (int e = 0; e < DV / 8; ++e) sc[e] = V_SCALED ? make_float2(0.f, 0.f) : make_float2(1.f, 1.f);
    }
#pragma unroll 1
    for (int r = 0; r < NR; ++r) {
        const int row = pick(rows, r);
        if (row >= blk.seq_q) continue;
        unsigned short *orow = (unsigned short *)p.o + blk.o_off + (i64)row * p.o_sn;
        const float lv = pick(l, r);
        const bool pos = lv > 0.f;
        const float inv = pos ? 1.0f / lv : 0.f; // one division per row, not per element
#pragma unroll
        for (int e = 0; e < DV / 8; ++e) {
            float x0[NR], x1[NR]; // element pair e of each row (rows[2 mt + h]: row g + 8 h of tile mt)
#pragma unroll
            for (int rr = 0; rr < NR; ++rr) {
                x0[rr] = o[rr >> 1][e][2 * (rr & 1)];
                x1[rr] = o[rr >> 1][e][2 * (rr & 1) + 1];
            }
            const int d = 8 * e + 2 * t;
            const float o0 = pick(x0, r) * (pos ? sc[e].x : 0.f) * inv;
            const float o1 = pick(x1, r) * (pos ? sc[e].y : 0.f) * inv;
            *(u32 *)(orow + d) = pack_out(o0, o1);
        }
        if (p.lse && t == 0) {
            const i64 at = blk.row0 + row;
            p.lse[at] = pos ? (pick(m, r) + log2f(lv)) * 0.693147180559945309f +
                                  (p.lse_bias ? p.lse_bias[at] : 0.f)
                            : NEG_INF;
        }
    }
}
