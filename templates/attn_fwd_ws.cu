// INT8 FlashAttention forward (INT-FlashAttention), warp-specialized TMA + wgmma kernel for
// sm_90a. Variant: ${v.name}
//
// The arithmetic is attn_fwd_wg.cu's (docs/ALGORITHM.md; attn_int8_tile.cu holds the per-tile
// code); what differs is who does what and when (docs/HOPPER_KERNEL.md has the timeline):
// - warpgroup 0 is the producer: one warp issues TMA copies (cp.async.bulk.tensor, tensor maps
//   built on the host) of Q and of K, V^T tiles into a ring of STAGES shared-memory stages;
//   each stage has a "full" mbarrier (the copies' byte count plus the producer warp's 32
//   arrivals after it stored the tile's key scales) and an "empty" one (every consumer thread
//   arrives when it is done with the stage). It gives its registers away (setmaxnreg.dec).
// - warpgroups 1 .. CWG are consumers, 64 query rows each. Per key tile j a consumer issues
//   S_j = Q K_j^T and O_pv = P_{j-1} V_{j-1} together, waits, folds O_pv into O, then runs the
//   softmax of S_j. Two consumers take turns at the tensor cores (named barriers 1 and 2): the
//   softmax of one runs while the other's products run.
// - the grid is persistent: each block walks work tiles (BM query rows of one head) with a
//   stride of gridDim.x, head by head (K/V of a head stay in L2), causal rows longest first;
//   the next tile's Q is loaded while the consumers finish the current one.

#define HD ${v.head_dim}
#define BN ${v.block_n}
#define STAGES ${v.stages}
#define NT (${v.warps} * 32)
#define CWG ${(v.warps - 4) // 4} // consumer warpgroups
#define BM (64 * CWG)
#define MT 1
#define NR 2
#define CAUSAL ${v.causal and 1 or 0}
//% local pu8 = (v.p_quant == "u8row")
#define P_U8 ${pu8 and 1 or 0}
#define LAZY_TAU 8.0f // see docs/ALGORITHM.md

#define GB HD
#define GC (HD / 16)
#define VC (BN / 16)
#define TILE_K_BYTES (BN * HD)
#define TILE_V_BYTES (HD * BN)

//% include("attn_common.cu")
//% include("attn_int8_tile.cu")
//% include("attn_wgmma.cu")
//% include("attn_tma.cu")

// Tensor maps (attn_tma.cu) and the common parameters; the host mirror is intfa_attn_ws_params
// in runtime/launch_params.h.
struct intfa_attn_ws_params {
    tensor_map tq; // int8 Q: (HD, seq_q, heads_q, batch), box (HD, BM, 1, 1)
    tensor_map tk; // int8 K: (HD, seq_kv, heads_kv, batch), box (HD, BN, 1, 1)
    tensor_map tv; // int8 V^T: (n_pad, HD, batch * heads_kv), box (BN, HD, 1)
    intfa_attn_params a;
};

__device__ __forceinline__ void mbar_expect_tx(u32 bar, u32 bytes)
{
    asm volatile("mbarrier.expect_tx.relaxed.cta.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(bytes) : "memory");
}
__device__ __forceinline__ void mbar_arrive(u32 bar)
{
    asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(bar) : "memory");
}
// This kernel's own wait (a loop in C++ around one try_wait): attn_tma.cu's mbar_wait, a loop
// inside the asm, compiles this kernel to a different schedule with a stack frame.
__device__ __forceinline__ void ws_mbar_wait(u32 bar, u32 parity)
{
    u32 done;
    do {
        asm volatile("{\n.reg .pred p;\nmbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\n"
                     "selp.u32 %0, 1, 0, p;\n}\n"
                     : "=r"(done)
                     : "r"(bar), "r"(parity)
                     : "memory");
    } while (!done);
}

__device__ __forceinline__ void named_sync(int id, int threads)
{
    asm volatile("bar.sync %0, %1;\n" ::"r"(id), "r"(threads) : "memory");
}
__device__ __forceinline__ void named_arrive(int id, int threads)
{
    asm volatile("bar.arrive %0, %1;\n" ::"r"(id), "r"(threads) : "memory");
}

// The tensor cores' turn: consumer c waits on barrier 1 + c until the other consumer hands it
// over (a no-op with one consumer).
__device__ __forceinline__ void turn_take(int c)
{
    if (CWG == 2) named_sync(1 + c, 256);
}
__device__ __forceinline__ void turn_pass(int c)
{
    if (CWG == 2) named_arrive(2 - c, 256);
}

// One work tile: BM query rows (m-block mb) of query head hq in batch b.
struct work_tile {
    int mb, hq, b;
    __device__ __forceinline__ work_tile(const intfa_attn_params &p, int w, int n_mb)
    {
        const int hb = w / n_mb, r = w - hb * n_mb;
        mb = CAUSAL ? n_mb - 1 - r : r; // causal: the longest rows of a head first
        hq = hb % p.heads_q;
        b = hb / p.heads_q;
    }
};

// A ring position: stage and the parity of its current use.
struct ring_pos {
    int st = 0;
    u32 ph = 0;
    __device__ __forceinline__ void next()
    {
        if (++st == STAGES) {
            st = 0;
            ph ^= 1;
        }
    }
};

// Shared memory: Q (BM x HD), per stage K (BN x HD) and V^T (HD x BN), per stage BN key
// scales, then the mbarriers. Tiles start on 1024-byte boundaries (swizzle atoms).
struct smem_map {
    u32 q, k, v, ks, bar;
    __device__ __forceinline__ explicit smem_map(u32 base)
    {
        q = base;
        k = q + BM * HD;
        v = k + STAGES * TILE_K_BYTES;
        ks = v + STAGES * TILE_V_BYTES;
        bar = ks + STAGES * BN * 4;
    }
    __device__ __forceinline__ u32 full(int s) const { return bar + 8 * s; }
    __device__ __forceinline__ u32 empty(int s) const { return bar + 8 * (STAGES + s); }
    __device__ __forceinline__ u32 q_full() const { return bar + 16 * STAGES; }
    __device__ __forceinline__ u32 q_empty() const { return bar + 16 * STAGES + 8; }
};

// The producer warp: Q of each work tile, then its key tiles into the ring.
__device__ __forceinline__ void produce(const intfa_attn_ws_params &P, const smem_map &sm, int lane,
                                        int n_mb, int total)
{
    const intfa_attn_params &p = P.a;
    ring_pos pos;
    u32 q_uses = 0;
    for (int w = blockIdx.x; w < total; w += gridDim.x) {
        const work_tile wt(p, w, n_mb);
        const attn_block blk(p, wt.mb, wt.hq, wt.b);
        if (blk.n_tiles == 0) continue;
        if (lane == 0) {
            ws_mbar_wait(sm.q_empty(), (q_uses & 1) ^ 1);
            mbar_expect_tx(sm.q_full(), BM * HD);
            tma_load_4d(sm.q, &P.tq, sm.q_full(), 0, blk.m0, wt.hq, wt.b);
            mbar_arrive(sm.q_full());
        }
        ++q_uses;
        for (int kt = 0; kt < blk.n_tiles; ++kt, pos.next()) {
            const int key0 = kt * BN;
            ws_mbar_wait(sm.empty(pos.st), pos.ph ^ 1);
            if (lane == 0) {
                mbar_expect_tx(sm.full(pos.st), TILE_K_BYTES + TILE_V_BYTES);
                tma_load_4d(sm.k + pos.st * TILE_K_BYTES, &P.tk, sm.full(pos.st), 0, key0, blk.hkv, wt.b);
                tma_load_3d(sm.v + pos.st * TILE_V_BYTES, &P.tv, sm.full(pos.st), key0, 0, (int)blk.bh_kv);
            }
#pragma unroll
            for (int i = lane; i < BN; i += 32) {
                const float s = key0 + i < blk.seq_kv ? blk.ksg[key0 + i] : 0.f;
                asm volatile("st.shared.f32 [%0], %1;\n" ::"r"(sm.ks + (pos.st * BN + i) * 4), "f"(s) : "memory");
            }
            mbar_arrive(sm.full(pos.st));
        }
    }
}

// A consumer warpgroup (c = 0 .. CWG - 1): rows 64 c .. 64 c + 63 of each work tile.
__device__ __forceinline__ void consume(const intfa_attn_params &p, const smem_map &sm, int c,
                                        int warp, int lane, int n_mb, int total)
{
    const int g = lane >> 2, t = lane & 3;
    ring_pos pos;
    u32 q_uses = 0;
    if (c == 1) turn_pass(1); // consumer 0 goes first
    for (int w = blockIdx.x; w < total; w += gridDim.x) {
        const work_tile wt(p, w, n_mb);
        const attn_block blk(p, wt.mb, wt.hq, wt.b);
        const int m0w = blk.m0 + 64 * c; // this warpgroup's first row
        int rows[NR];
        float a[NR], m[NR], l[NR], o[MT][HD / 8][4];
        const float no_fused_q[NR] = {0.f, 0.f}; // Q arrives quantized (TMA); the host never sets q_fp here
        start_rows(p, blk, m0w + warp * 16, g, no_fused_q, rows, a, m, l, o);
        const int n = blk.n_tiles;
        if (n > 0) {
            ws_mbar_wait(sm.q_full(), q_uses & 1);
            ++q_uses;
            const u32 sQw = sm.q + c * 64 * HD;
            int s[MT][BN / 8][4], pv[HD / 8][4];
            u32 pf[MT][BN / 32][4];
            float alpha[NR], beta[NR];
            static_assert(HD <= 128, "Q and K rows of one slab (wg_qk_tile: sQw + 32 kc, tK + 32 kc)");
            auto issue_qk = [&](int st) { wg_qk_tile(s[0], sQw, sm.k + st * TILE_K_BYTES); };
            auto issue_pv = [&](int st) { wg_pv_tile(pv, pf[0], sm.v + st * TILE_V_BYTES); };
            // O = alpha O + beta (P.V) of the previous tile, whose stage is then released
            auto fold_pv = [&](int st) {
                mbar_arrive(sm.empty(st));
                rescale_o(o, alpha);
#pragma unroll
                for (int e = 0; e < HD / 8; ++e)
#pragma unroll
                    for (int r = 0; r < 4; ++r)
                        o[0][e][r] = __fmaf_rn((float)pv[e][r], beta[r >> 1], o[0][e][r]);
            };
            // softmax of tile kt (in stage st) -> P, alpha, beta: one copy, the mask (key tails,
            // the causal diagonal) behind a warp-uniform branch, as attn_fwd_wg.cu's tiles (a copy
            // per mask state doubled this kernel's NVRTC time for the tiles' code)
            auto softmax = [&](int kt, int st) {
                const int key0 = kt * BN;
                bool need_mask = key0 + BN > blk.seq_kv;
#if CAUSAL
                need_mask = need_mask || (key0 + BN - 1 > m0w + blk.diag);
#endif
                float x[MT][BN / 8][4];
                tile_scores(s, x, sm.ks + st * BN * 4, t);
                if (need_mask) mask_scores(x, t, key0, rows, blk.seq_kv, blk.diag);
                tile_softmax(x, a, m, l, alpha, beta, pf);
            };

            // tile 0: S only
            ws_mbar_wait(sm.full(pos.st), pos.ph);
            turn_take(c);
            wg_operands(s[0]);
            wg_fence();
            issue_qk(pos.st);
            wg_commit();
            turn_pass(c);
            wg_wait<0>();
            wg_operands(s[0]);
            if (n == 1) mbar_arrive(sm.q_empty()); // Q's last use in this work tile
            // Per tile kt: its softmax, then (kt + 1 < n) S of tile kt + 1 and P.V of tile kt in
            // one turn, folded into O. The loop is entered at tile 0's softmax, so that the
            // softmax is compiled once (the order of the work is the same as with tile 0's
            // softmax peeled off).
            int prev; // the stage whose V^T the next P.V reads
            for (int kt = 0;;) {
                softmax(kt, pos.st);
                prev = pos.st;
                pos.next();
                if (++kt == n) break;
                ws_mbar_wait(sm.full(pos.st), pos.ph);
                turn_take(c);
                wg_operands(s[0]);
                wg_operands(pv);
                wg_fence();
                issue_qk(pos.st);
                issue_pv(prev);
                wg_commit();
                turn_pass(c);
                wg_wait<0>();
                wg_operands(s[0]);
                wg_operands(pv);
                if (kt == n - 1) mbar_arrive(sm.q_empty());
                fold_pv(prev);
            }
            // the last tile's P.V
            turn_take(c);
            wg_operands(pv);
            wg_fence();
            issue_pv(prev);
            wg_commit();
            turn_pass(c);
            wg_wait<0>();
            wg_operands(pv);
            fold_pv(prev);
        }
        store_output(p, o, m, l, rows, blk, t);
    }
    if (c == 0) turn_take(0); // the last hand-over of consumer 1
}

extern "C" __global__ void __launch_bounds__(NT, 1)
intfa_attn_fwd(const __grid_constant__ intfa_attn_ws_params P)
{
    extern __shared__ __align__(128) unsigned char smem[];
    const smem_map sm((smem_addr(smem) + 1023u) & ~1023u);
    const int tid = threadIdx.x, wg = tid >> 7, warp = (tid >> 5) & 3, lane = tid & 31;
    if (tid == 0) {
#pragma unroll
        for (int s = 0; s < STAGES; ++s) {
            mbar_init(sm.full(s), 32);
            mbar_init(sm.empty(s), CWG * 128);
        }
        mbar_init(sm.q_full(), 1);
        mbar_init(sm.q_empty(), CWG * 128);
        asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
    }
    __syncthreads();
    const int n_mb = (P.a.seq_q + BM - 1) / BM;
    const int total = n_mb * P.a.heads_q * P.a.batch;
    if (wg == 0) {
        asm volatile("setmaxnreg.dec.sync.aligned.u32 ${v.head_dim == 64 and 32 or 24};\n");
        if (warp == 0) produce(P, sm, lane, n_mb, total);
    } else {
        asm volatile("setmaxnreg.inc.sync.aligned.u32 ${v.head_dim == 64 and 232 or 240};\n");
        consume(P.a, sm, wg - 1, warp, lane, n_mb, total);
    }
}
