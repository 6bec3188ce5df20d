// wgmma helpers shared by the sm_90a INT8 kernels (attn_fwd_wg.cu, attn_fwd_ws.cu,
// attn_fwd_wg16.cu): shared-memory descriptors, the fence/commit/wait protocol, and the two
// products of a 64-row warpgroup tile. The including kernel defines HD, BN and NR.

// Shared-memory matrix descriptor of a K-major operand whose rows are `row_bytes` (32, 64 or
// 128) long and swizzled with the matching pattern: 8-row atoms, 8 * row_bytes apart.
__device__ __forceinline__ unsigned long long wg_desc(u32 addr, int row_bytes)
{
    const unsigned long long mode = row_bytes == 128 ? 1 : row_bytes == 64 ? 2 : 3;
    return (unsigned long long)((addr & 0x3FFFF) >> 4) | (1ull << 16) |
           ((unsigned long long)((8 * row_bytes) >> 4) << 32) | (mode << 62);
}

__device__ __forceinline__ void wg_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wg_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
template <int N> __device__ __forceinline__ void wg_wait()
{
    asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
}

// An accumulator's registers are written by wgmma behind the compiler's back: this empty asm,
// placed after wg_wait and before wg_fence, pins every read and write of them to that side.
template <int R> __device__ __forceinline__ void wg_operands(int (&c)[R][4])
{
#pragma unroll
    for (int r = 0; r < R; ++r)
#pragma unroll
        for (int i = 0; i < 4; ++i) asm volatile("" : "+r"(c[r][i])::"memory");
}

// The same for an fp32 accumulator (O, when a product accumulates straight into it).
template <int R> __device__ __forceinline__ void wg_operands_f(float (&c)[R][4])
{
#pragma unroll
    for (int r = 0; r < R; ++r)
#pragma unroll
        for (int i = 0; i < 4; ++i) asm volatile("" : "+f"(c[r][i])::"memory");
}

// Waits for every product (the P.V into O issued before the softmax) and multiplies O by
// alpha where a row's reference maximum moved, with the wait inside the branch on that decision
// (made by the softmax). ptxas schedules within a basic block: with the wait in the softmax's
// block it hoisted the wait above the exponentials (asm without side effects), so the product
// issued before the softmax did not run behind it (SASS of session 7: WARPGROUP.DEPBAR before
// every MUFU.EX2 of the tile; scripts/sass_check.sh). The two waits are spelled differently so
// that no pass merges them back into that block.
__device__ __forceinline__ void wait_pv_rescale(float (&o)[HD / 8][4], const float (&alpha)[NR])
{
    bool rescale = false;
#pragma unroll
    for (int r = 0; r < NR; ++r) rescale = rescale || alpha[r] != 1.0f;
    if (__any_sync(0xffffffffu, rescale)) {
        asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory");
        wg_operands_f(o);
#pragma unroll
        for (int e = 0; e < HD / 8; ++e)
#pragma unroll
            for (int r = 0; r < 4; ++r) o[e][r] *= alpha[r >> 1];
    } else {
        asm volatile("wgmma.wait_group.sync.aligned  0; // O needs no rescale\n" ::: "memory");
        wg_operands_f(o);
    }
}

//% local function acc_list(n) local t = {} for i = 0, n - 1 do t[#t + 1] = "%" .. i end return table.concat(t, ",") end
//% local function acc_ops(arr, n) local t = {} for i = 0, n - 1 do t[#t + 1] = string.format('"+r"(%s[%d][%d])', arr, i // 4, i % 4) end return table.concat(t, ", ") end
//% local nq = (v.head_dim + 31) // 32 -- k32 steps of S = Q K^T (HD / 32)
//% local function desc_ops(n, fmt) local t = {} for k = 0, n - 1 do t[#t + 1] = string.format(fmt, k, k) end return table.concat(t, ", ") end
// S = Q K^T over the whole head dim: HD / 32 k32 steps, 64 x BN, both operands from shared
// memory via descriptors (Q from registers would hold HD / 8 more registers per thread, which
// the third resident block needs; measured the same or slower, docs/PERF_NOTES.md). Rows of HD
// bytes in slabs (attn_int8_tile.cu, qk_off): step kc reads bytes 32 kc % SL of slab 32 kc / SL
// of Q (at sQw: its rows of the first slab of a BM-row tile) and K (tK). One asm statement for
// all steps (the first with scale-d = 0): one statement with BN / 2 accumulator operands
// instead of one per step is less NVVM time for the same instructions (docs/PERF_NOTES.md).
__device__ __forceinline__ unsigned long long wg_q_desc(u32 sQw, int kc)
{
    constexpr int SL = qk_slab<HD>::bytes;
    return wg_desc(sQw + (kc * 32 / SL) * (BM * SL) + kc * 32 % SL, SL);
}
__device__ __forceinline__ unsigned long long wg_k_desc(u32 tK, int kc)
{
    constexpr int SL = qk_slab<HD>::bytes;
    return wg_desc(tK + (kc * 32 / SL) * (BN * SL) + kc * 32 % SL, SL);
}
__device__ __forceinline__ void wg_qk_tile(int (&c)[BN / 8][4], u32 sQw, u32 tK)
{
    asm volatile("{\n.reg .pred p0, p1;\nsetp.ne.b32 p0, 0, 0;\nsetp.ne.b32 p1, 1, 0;\n"
//% for kc = 0, nq - 1 do
                 "wgmma.mma_async.sync.aligned.m64n${v.block_n}k32.s32.s8.s8 {${acc_list(v.block_n // 2)}}, "
                 "%${v.block_n // 2 + kc}, %${v.block_n // 2 + nq + kc}, ${kc == 0 and "p0" or "p1"};\n"
//% end
                 "}\n"
                 : ${acc_ops("c", v.block_n // 2)}
                 : ${desc_ops(nq, '"l"(wg_q_desc(sQw, %d))')},
                   ${desc_ops(nq, '"l"(wg_k_desc(tK, %d))')});
}

// P.V's output columns per product (PVN): the whole head dim up to 128; past that it is
// split into chunks, either issued and folded one after another (the largest multiple of 16
// dividing the head dim with O and one int32 chunk within 168 registers: 160: 80, 192: 96,
// 224: 112, 256: 64) or pipelined (PV_PIPE: chunk c + 1 in flight while chunk c is folded,
// attn_fwd_wg.cu; O and two int32 chunks within 120 registers at three blocks per SM and 192
// at two: 160: 32, 192: 96, 256: 64). Pipelined where it measured faster (H100,
// N = 16k, docs/RESULTS.md session 9): 160 +5% / +2% (non-causal / causal), 192 causal
// +10% (non-causal -9%), 256 +4% / +1%; 224 lost 3-4% (seven chunks of 32), 128 and 64 split
// in two lost 1-3%. Only the head dims measured (and tested on a GPU) are pipelined, not
// the padded ones that share their width (144, 176, 240).
//% local hd_k = (v.head_dim + 31) // 32 * 32
//% local pvn = hd_k
//% local pv_pipe = v.warps == 4 and (v.head_dim == 160 or v.head_dim == 256 or (v.head_dim == 192 and v.causal))
//% if hd_k > 128 then
//%   pvn = 16
//%   for n = 16, 128, 16 do
//%     local fits = pv_pipe and (hd_k // 2 + n <= (hd_k > 160 and 192 or 120)) or (not pv_pipe and hd_k // 2 + n // 2 <= 168)
//%     if hd_k % n == 0 and fits then pvn = n end
//%   end
//% end
#define PV_PIPE ${pv_pipe and 1 or 0}
#define PVN ${pvn}

//% local npv = v.block_n // 32 -- k32 steps of P.V
//% local function a_ops(n) local t = {} for k = 0, n - 1 do for i = 0, 3 do t[#t + 1] = string.format('"r"(a[%d][%d])', k, i) end end return table.concat(t, ", ") end
// O_tile = P V over one key tile: BN / 32 k32 steps, 64 x PVN, P fragments from registers, V^T
// rows (at tVc: its first row of this chunk) via descriptors; one asm statement (see wg_qk_tile),
// the first step with scale-d = 0.
__device__ __forceinline__ void wg_pv_tile(int (&c)[PVN / 8][4], const u32 (&a)[BN / 32][4], u32 tVc)
{
    asm volatile("{\n.reg .pred p0, p1;\nsetp.ne.b32 p0, 0, 0;\nsetp.ne.b32 p1, 1, 0;\n"
//% for kc = 0, npv - 1 do
//%   local ab = pvn // 2 + 4 * kc
//% if v.p_quant == "u8row" then
                 "wgmma.mma_async.sync.aligned.m64n${pvn}k32.s32.u8.s8 {${acc_list(pvn // 2)}}, "
//% else
                 "wgmma.mma_async.sync.aligned.m64n${pvn}k32.s32.s8.s8 {${acc_list(pvn // 2)}}, "
//% end
                 "{%${ab},%${ab + 1},%${ab + 2},%${ab + 3}}, %${pvn // 2 + 4 * npv + kc}, ${kc == 0 and "p0" or "p1"};\n"
//% end
                 "}\n"
                 : ${acc_ops("c", pvn // 2)}
                 : ${a_ops(npv)},
                   ${desc_ops(npv, '"l"(wg_desc(tVc + %d * 32, BN))')});
}

// S = Q K^T of a warpgroup's 64 rows and one key tile, as one commit group.
__device__ __forceinline__ void wg_issue_qk(int (&s)[BN / 8][4], u32 sQw, u32 tK)
{
    wg_qk_tile(s, sQw, tK);
    wg_commit();
}
