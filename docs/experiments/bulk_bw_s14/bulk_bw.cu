// How many SMs does it take to move the drop-in K/V pass's bytes at the copy bandwidth?
// (issue 14; docs/RESULTS.md session 5: the streamed pass moves ~19 GB/s per SM with ~4
// 16-byte loads in flight per thread, so its SM-time is the same on 33 SMs as on 132, and the
// attention beside it loses what the pass takes.) A standalone measurement, not library code:
// G blocks (one per SM) stream R bytes in and R / 2 bytes out (fp16 in, int8 out), as
//   bulk: one thread per block, cp.async.bulk global -> shared into S stages of C bytes on
//         mbarriers, each chunk's first half written back with cp.async.bulk shared -> global
//   ld:   1024 threads, each with U (4 or 8) independent 16-byte loads in flight, the first half of each
//         stored (plain ld.global / st.global; the existing pass's kind of loop, deeper)
// and the GB/s of (in + out) are printed against G. Build and run on the GPU machine:
//   nvcc -O3 -arch=sm_90a -o /tmp/bulk_bw docs/experiments/bulk_bw_s14/bulk_bw.cu && /tmp/bulk_bw
#include <cstdio>
#include <cstdlib>
#include <cuda_runtime.h>

#define CK(x) do { cudaError_t e_ = (x); if (e_ != cudaSuccess) { \
    fprintf(stderr, "%s:%d %s\n", __FILE__, __LINE__, cudaGetErrorString(e_)); exit(1); } } while (0)

typedef unsigned int u32;
typedef unsigned long long u64;

__device__ __forceinline__ u32 saddr(const void *p) { return (u32)__cvta_generic_to_shared(p); }

// mbar_init, mbar_arrive_expect_tx, mbar_wait: the library's (plain CUDA, no template lines)
#include "../../../templates/attn_tma.cu"

__device__ __forceinline__ void load_bulk(u32 dst, const void *src, u32 bytes, u32 bar)
{
    asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];"
                 ::"r"(dst), "l"(src), "r"(bytes), "r"(bar) : "memory");
}

__device__ __forceinline__ void store_bulk(void *dst, u32 src, u32 bytes)
{
    asm volatile("cp.async.bulk.global.shared::cta.bulk_group [%0], [%1], %2;" ::"l"(dst), "r"(src), "r"(bytes) : "memory");
    asm volatile("cp.async.bulk.commit_group;" ::: "memory");
}

// Every store but the newest has read its shared memory.
__device__ __forceinline__ void stores_read_wait_but_newest()
{
    asm volatile("cp.async.bulk.wait_group.read 1;" ::: "memory");
}

template <int S>
__global__ void __launch_bounds__(32, 1) bulk_kernel(const char *in, char *out, u64 per_block, u32 chunk)
{
    extern __shared__ __align__(128) unsigned char stage[];
    __shared__ __align__(8) u64 full[S];
    if (threadIdx.x != 0) return;
    const char *src = in + blockIdx.x * per_block;
    char *dst = out + blockIdx.x * (per_block / 2);
    const u64 n = per_block / chunk;
    for (int s = 0; s < S; ++s) mbar_init(saddr(&full[s]), 1);
    asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
    for (u64 i = 0; i < n && i < S; ++i) {
        mbar_arrive_expect_tx(saddr(&full[i]), chunk);
        load_bulk(saddr(stage + i * chunk), src + i * chunk, chunk, saddr(&full[i]));
    }
    for (u64 i = 0; i < n; ++i) {
        const int s = (int)(i % S);
        mbar_wait(saddr(&full[s]), (u32)((i / S) & 1));
        store_bulk(dst + i * (chunk / 2), saddr(stage + s * chunk), chunk / 2);
        // the previous chunk's stage, whose store was the group before this one: load the
        // chunk S after it once that store has read it (S - 1 loads stay in flight)
        if (i >= 1 && i - 1 + S < n) {
            const int s1 = (int)((i - 1) % S);
            stores_read_wait_but_newest();
            mbar_arrive_expect_tx(saddr(&full[s1]), chunk);
            load_bulk(saddr(stage + s1 * chunk), src + (i - 1 + S) * chunk, chunk, saddr(&full[s1]));
        }
    }
    asm volatile("cp.async.bulk.wait_group 0;" ::: "memory");
}

template <int U>
__global__ void __launch_bounds__(1024, 1) ld_kernel(const uint4 *in, uint2 *out, u64 per_block)
{
    const u64 n = per_block / 16, base = blockIdx.x * n; // uint4 elements of this block
    for (u64 i = threadIdx.x; i < n; i += (u64)U * blockDim.x) {
        uint4 v[U];
#pragma unroll
        for (int u = 0; u < U; ++u) {
            const u64 j = i + (u64)u * blockDim.x;
            if (j < n) v[u] = __ldcs(in + base + j);
        }
#pragma unroll
        for (int u = 0; u < U; ++u) {
            const u64 j = i + (u64)u * blockDim.x;
            if (j < n) __stcs(out + base + j, make_uint2(v[u].x ^ v[u].z, v[u].y ^ v[u].w));
        }
    }
}

int main()
{
    int sms = 0;
    CK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
    cudaDeviceProp prop;
    CK(cudaGetDeviceProperties(&prop, 0));
    const u64 total = 1ull << 30; // bytes read per launch (1 GiB, 20x the L2)
    char *in, *out;
    CK(cudaMalloc(&in, total));
    CK(cudaMalloc(&out, total / 2));
    CK(cudaMemset(in, 1, total));
    cudaEvent_t e0, e1;
    CK(cudaEventCreate(&e0));
    CK(cudaEventCreate(&e1));
    const u32 chunk = 16384;
    constexpr int S = 12; // 192 KB of stages per SM
    CK(cudaFuncSetAttribute(bulk_kernel<S>, cudaFuncAttributeMaxDynamicSharedMemorySize, S * chunk));
    printf("# %s, %d SMs: GB/s of bytes read + written (1 GiB in, 0.5 GiB out), median of 5\n", prop.name, sms);
    printf("%6s %12s %12s %12s\n", "blocks", "bulk S=12", "ld U=4", "ld U=8");
    const int gs[] = {8, 16, 22, 33, 44, 66, 99, 132};
    for (int gi = 0; gi < 8; ++gi) {
        const int g = gs[gi] > sms ? sms : gs[gi];
        const u64 per = total / g / chunk * chunk;
        float best[3];
        for (int k = 0; k < 3; ++k) {
            float t[5];
            for (int r = 0; r < 5; ++r) {
                CK(cudaEventRecord(e0));
                if (k == 0) bulk_kernel<S><<<g, 32, S * chunk>>>(in, out, per, chunk);
                else if (k == 1) ld_kernel<4><<<g, 1024>>>((const uint4 *)in, (uint2 *)out, per);
                else ld_kernel<8><<<g, 1024>>>((const uint4 *)in, (uint2 *)out, per);
                CK(cudaEventRecord(e1));
                CK(cudaEventSynchronize(e1));
                CK(cudaGetLastError());
                CK(cudaEventElapsedTime(&t[r], e0, e1));
            }
            for (int a = 0; a < 5; ++a)
                for (int b = a + 1; b < 5; ++b)
                    if (t[b] < t[a]) { const float x = t[a]; t[a] = t[b]; t[b] = x; }
            best[k] = (float)(1.5 * per * g / (t[2] * 1e-3) / 1e9);
        }
        printf("%6d %12.0f %12.0f %12.0f\n", g, best[0], best[1], best[2]);
    }
    return 0;
}
