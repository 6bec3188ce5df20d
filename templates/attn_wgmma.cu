// wgmma helpers shared by the sm_90a INT8 kernels (attn_fwd_wg.cu, attn_fwd_ws.cu): shared-
// memory descriptors, the fence/commit/wait protocol, and the two products of a 64-row
// warpgroup tile. The including kernel defines HD and BN.

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

//% local function acc_list(n) local t = {} for i = 0, n - 1 do t[#t + 1] = "%" .. i end return table.concat(t, ",") end
//% local function acc_ops(arr, n) local t = {} for i = 0, n - 1 do t[#t + 1] = string.format('"+r"(%s[%d][%d])', arr, i // 4, i % 4) end return table.concat(t, ", ") end
// S (+)= Q K^T over one k32 step: 64 x BN, both operands from shared memory via descriptors
// (Q from registers would hold HD / 8 more registers per thread, which the third resident
// block needs; measured the same or slower, docs/PERF_NOTES.md).
template <int ACC>
__device__ __forceinline__ void wg_qk(int (&c)[BN / 8][4], unsigned long long qd, unsigned long long kd)
{
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %${v.block_n // 2 + 2}, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n${v.block_n}k32.s32.s8.s8 {${acc_list(v.block_n // 2)}}, "
                 "%${v.block_n // 2}, %${v.block_n // 2 + 1}, p;\n}\n"
                 : ${acc_ops("c", v.block_n // 2)}
                 : "l"(qd), "l"(kd), "n"(ACC));
}

// P.V's output columns per product (PVN): the whole head dim up to 128; past that the largest
// multiple of 16 dividing it with O and one int32 P.V chunk within 168 registers (160: 80,
// 192: 96, 224: 112, 256: 64), the chunks issued and folded one after another.
//% local hd_k = (v.head_dim + 31) // 32 * 32
//% local pvn = hd_k
//% if hd_k > 128 then
//%   pvn = 16
//%   for n = 16, 128, 16 do if hd_k % n == 0 and hd_k // 2 + n // 2 <= 168 then pvn = n end end
//% end
#define PVN ${pvn}

// O_tile (+)= P V over one k32 step: 64 x PVN, P fragment from registers, V^T rows via descriptor.
template <int ACC>
__device__ __forceinline__ void wg_pv(int (&c)[PVN / 8][4], const u32 (&a)[4], unsigned long long vd)
{
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %${pvn // 2 + 5}, 0;\n"
//% if v.p_quant == "u8row" then
                 "wgmma.mma_async.sync.aligned.m64n${pvn}k32.s32.u8.s8 {${acc_list(pvn // 2)}}, "
//% else
                 "wgmma.mma_async.sync.aligned.m64n${pvn}k32.s32.s8.s8 {${acc_list(pvn // 2)}}, "
//% end
                 "{%${pvn // 2},%${pvn // 2 + 1},%${pvn // 2 + 2},%${pvn // 2 + 3}}, %${pvn // 2 + 4}, p;\n}\n"
                 : ${acc_ops("c", pvn // 2)}
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(vd), "n"(ACC));
}

// S = Q K^T of a warpgroup's 64 rows (Q at sQw: its rows of the first slab of a BM-row tile)
// and one key tile (K at tK), as one commit group. Rows of HD bytes in slabs (attn_int8_tile.cu,
// qk_off): k32 step kc reads bytes 32 kc % SL of slab 32 kc / SL.
__device__ __forceinline__ void wg_issue_qk(int (&s)[BN / 8][4], u32 sQw, u32 tK)
{
    constexpr int SL = qk_slab<HD>::bytes;
    wg_qk<0>(s, wg_desc(sQw, SL), wg_desc(tK, SL));
#pragma unroll
    for (int kc = 1; kc < HD / 32; ++kc)
        wg_qk<1>(s, wg_desc(sQw + (kc * 32 / SL) * (BM * SL) + kc * 32 % SL, SL),
                 wg_desc(tK + (kc * 32 / SL) * (BN * SL) + kc * 32 % SL, SL));
    wg_commit();
}
