// Device helpers shared by the attention kernels (included by attn_fwd.cu and
// attn_fwd_fp16.cu with //% include("attn_common.cu")). Shared-memory operands are 32-bit
// shared-window addresses (u32), never generic pointers: that keeps tile address arithmetic
// in single registers.

typedef unsigned int u32;
typedef unsigned short u16;
typedef long long i64;

#define NEG_INF (__int_as_float(0xff800000u))

// Generic pointer into shared memory -> shared-window address.
__device__ __forceinline__ u32 smem_addr(const void *p)
{
    u32 r;
    asm("{ .reg .u64 a; cvta.to.shared.u64 a, %1; cvt.u32.u64 %0, a; }" : "=r"(r) : "l"(p));
    return r;
}

// 16-byte async copy; src_bytes 0 zero-fills the destination.
__device__ __forceinline__ void cp_async16(u32 dst, const void *src, int src_bytes)
{
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src),
                 "r"(src_bytes));
}

__device__ __forceinline__ void cp_async4(u32 dst, const void *src, int src_bytes)
{
    asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(dst), "l"(src),
                 "r"(src_bytes));
}

__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }

template <int N> __device__ __forceinline__ void cp_async_wait()
{
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

__device__ __forceinline__ float2 lds_f2(u32 a)
{
    float2 v;
    asm volatile("ld.shared.v2.f32 {%0,%1}, [%2];\n" : "=f"(v.x), "=f"(v.y) : "r"(a));
    return v;
}
__device__ __forceinline__ float lds_f(u32 a)
{
    float v;
    asm volatile("ld.shared.f32 %0, [%1];\n" : "=f"(v) : "r"(a));
    return v;
}

// Four 8x8 matrices of 16-bit values (or 8x16 bytes); lane i gives the address of row i % 8
// of matrix i / 8; thread (g, t) receives word t of row g of each matrix.
__device__ __forceinline__ void ldmatrix_x4(u32 (&r)[4], u32 a)
{
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(a));
}

// The same, transposed: thread (g, t) receives rows 2t and 2t+1 of column g.
__device__ __forceinline__ void ldmatrix_x4_trans(u32 (&r)[4], u32 a)
{
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(a));
}

__device__ __forceinline__ float ex2(float x)
{
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
    return y;
}

// An NS-deep cp.async pipeline over key tiles (NS = the kernel's STAGES): copy group s holds
// tile s, stage s % NS.
// load(kt, st) issues the copies of tile kt into stage st (tiles are requested in order).
// pipeline_start requests tiles 0 .. NS-2 (copies the caller issued before, Q's, join
// group 0) and returns when tile 0 has landed for every thread.
// ASYNC_PROXY: the tiles are read by wgmma (the async proxy), so each thread fences its
// landed copies (written through the generic proxy) before the barrier that publishes them.
template <bool ASYNC_PROXY> __device__ __forceinline__ void publish_copies()
{
    if (ASYNC_PROXY) asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
    __syncthreads();
}

template <int NS, bool ASYNC_PROXY = false, typename Load>
__device__ __forceinline__ void pipeline_start(const Load &load, int n_tiles)
{
    if constexpr (NS > 1) {
#pragma unroll
        for (int s = 0; s < NS - 1; ++s) {
            if (s < n_tiles) load(s, s);
            cp_async_commit();
        }
        cp_async_wait<NS - 2>();
    } else {
        cp_async_commit();
        cp_async_wait<0>();
    }
    publish_copies<ASYNC_PROXY>();
}

// At the top of key tile kt (in stage st): returns when tile kt has landed and every thread has
// finished tile kt - 1, and refills the stage tile kt - 1 used with tile kt + NS - 1.
template <int NS, bool ASYNC_PROXY = false, typename Load>
__device__ __forceinline__ void pipeline_next(const Load &load, int kt, int st, int n_tiles)
{
    if constexpr (NS > 1) {
        if (kt > 0) {
            cp_async_wait<NS - 2>();
            publish_copies<ASYNC_PROXY>();
        }
        if (kt + NS - 1 < n_tiles) load(kt + NS - 1, st == 0 ? NS - 1 : st - 1);
        cp_async_commit();
    } else {
        if (kt > 0) __syncthreads();
        load(kt, 0);
        cp_async_commit();
        cp_async_wait<0>();
        publish_copies<ASYNC_PROXY>();
    }
}
