// The drop-in's K and V quantization, its module alone (intfa_quantize_v's own kernels live in
// quant_v_api.cu, with Q and K's in the quant_qk module: a drop-in call compiles only what it
// runs). Variant: ${v.name}

#define HD ${v.head_dim}
//% local bf16 = (v.dtype == "bf16")

typedef unsigned int u32;
typedef long long i64;

__device__ __forceinline__ float to_float(unsigned short h)
{
//% if bf16 then
    return __uint_as_float(((u32)h) << 16);
//% else
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
    return f;
//% end
}

// The drop-in's K/V pass (INT8 K; docs/ALGORITHM.md): every byte of K and V read twice at
// most and written once (host: intfa_quant_kv_launch in runtime/quantize.c). Two kinds of work:
//   statistics  a head's keys are cut into kv_splits(len) equal spans (a function of its own
//               length alone: a sequence's mean and scales come out the same bit for bit in any
//               batch); span s writes, per channel, the fp32 sum of K (with smoothing) and max |V|
//               over its keys to part[bh][s][0 .. HD) and part[bh][s][HD .. 2 HD)
//   pack        the S partials reduced in a fixed order to K's mean and V's scales, then keys in
//               PACK_KEYS steps: K per token (minus the mean), V per channel (or head) into the
//               transposed, key-permuted layout
// run either as two launches (intfa_quant_kv_stats, grid (B * H, S); intfa_quant_kv_pack, grid
// (B * H, chunks)) or as one (intfa_quant_kv_stream, sm_90): a third of the SMs' worth of
// persistent 256-thread groups take the work of head after head from a queue, and the
// attention kernel, launched as its programmatic dependent, starts on the other SMs at once
// and waits per head for that head's flag (docs/ALGORITHM.md, "The K/V pass beside the
// attention").
// Every piece reads 16-byte chunks (8 values) of token rows. The threads are mapped onto rows of
// HDX = HD rounded up to a power of two (hd96 -> 128, hd160 .. hd224 -> 256): CPR chunks a row,
// a power of two that divides the warp; chunks c >= CHUNKS (HD < HDX) idle: they load zeros,
// which change no maximum or sum, and write nothing.

//% local hdx = 16
//% while hdx < v.head_dim do hdx = 2 * hdx end
#define HDX ${hdx}
#define KV_THREADS 256
#define CPR (HDX / 8)
#define CHUNKS (HD / 8)        // chunks of a row that hold channels
#define RPP (KV_THREADS / CPR) // rows per pass of a group
#define PACK_KEYS (8192 / HDX) // keys per step: 64 at hd128, 128 at hd64 (256 V words of 4 keys x 8 channels)
#if HDX > KV_THREADS
#error "the pack's mean padding assumes HDX <= KV_THREADS"
#endif
#define STREAM_GROUPS 4       // 256-thread groups per block of intfa_quant_kv_stream
#define STREAM_STEPS 4        // PACK_KEYS steps per pack item of intfa_quant_kv_stream

// Host mirror: intfa_quant_kv_params in runtime/launch_params.h.
struct intfa_quant_kv_params {
    const void *k, *v;
    signed char *k_out; // [B, H, N, HD]
    float *k_scale;     // [B, H, N]
    signed char *v_out; // [B, H, HD, n_pad]
    float *v_scale;     // [B, H, HD]
    float *mean;        // [B, H, HD] K's mean (written by pack when set)
    float *part;        // [B * H][splits][2 * HD]
    const int *cu;      // varlen: cumulative key counts [B + 1] (then seq is the total, n_pad the
                        // V^T row length: sequence b's columns start at 128 (cu[b] / 128 + b))
    unsigned *sync;     // intfa_quant_kv_stream: claim and published epoch (64 bits each),
                        // queue, groups left, stats_done[BH], packed[BH], ready[BH] (64 bits
                        // each); whatever the workspace held (see intfa_quant_kv_stream)
    i64 k_sb, k_sn, k_sh, v_sb, v_sn, v_sh;
    int heads, seq, n_pad, splits, smooth, per_head, bh, chunks; // splits, chunks: the longest head's
    unsigned long long epoch; // this launch's, never 0 (host: intfa_ctx_next_epoch)
};

// Key spans of a head's statistics pass (host: intfa_kv_splits, runtime/quantize.c).
__device__ __forceinline__ int kv_splits(int len) { return min(32, max(1, (len + 1023) / 1024)); }

// One (batch entry or sequence, head): where its keys are read and written.
struct kv_seq {
    int len, n_pad;   // keys, keys padded to 16
    i64 k_in, v_in;   // element offset of key 0 of this head in K and V
    i64 out_row0;     // its row in k_out and k_scale
    i64 v_out0;       // offset of V^T row 0 (channel 0), slot 0
    __device__ __forceinline__ kv_seq(const intfa_quant_kv_params &p, i64 bh)
    {
        const i64 b = bh / p.heads, h = bh % p.heads;
        if (p.cu) {
            const int k0 = p.cu[b];
            len = p.cu[b + 1] - k0;
            k_in = (i64)k0 * p.k_sn + h * p.k_sh;
            v_in = (i64)k0 * p.v_sn + h * p.v_sh;
            out_row0 = h * p.seq + k0;
            v_out0 = h * HD * (i64)p.n_pad + 128 * (k0 / 128 + b);
        } else {
            len = p.seq;
            k_in = b * p.k_sb + h * p.k_sh;
            v_in = b * p.v_sb + h * p.v_sh;
            out_row0 = bh * p.seq;
            v_out0 = bh * HD * (i64)p.n_pad;
        }
        n_pad = (len + 15) & ~15;
    }
};

__device__ __forceinline__ const uint4 *chunk_of(const void *x, i64 off, i64 sn, int n, int c)
{
    return (const uint4 *)((const unsigned short *)x + off + (i64)n * sn + c * 8);
}

__device__ __forceinline__ void chunk_to_float(const uint4 &raw, float (&x)[8])
{
    const u32 w[4] = {raw.x, raw.y, raw.z, raw.w};
#pragma unroll
    for (int e = 0; e < 8; ++e) x[e] = to_float((unsigned short)(w[e >> 1] >> (16 * (e & 1))));
}

// A barrier of the KV_THREADS threads of group `id` (0: the whole block of the two-launch kernels).
__device__ __forceinline__ void group_sync(int id)
{
    asm volatile("bar.sync %0, %1;" ::"r"(id), "n"(KV_THREADS) : "memory");
}

// Shared memory: the statistics' row partials; pack's mean, 127 / max and per-warp head maxima;
// a group of intfa_quant_kv_stream holds both (host: kv_stream_launch in runtime/quantize.c).
#define STATS_FLOATS (2 * RPP * HDX)
#define PACK_FLOATS (2 * HDX + KV_THREADS / 32)
#define GROUP_FLOATS (STATS_FLOATS + PACK_FLOATS)

// Statistics of span y of head bh (y < kv_splits(sq.len)) by one group (thread tid of it).
__device__ __forceinline__ void stats_span(const intfa_quant_kv_params &p, i64 bh, const kv_seq &sq, int y,
                                           int tid, float *red, int bar)
{
    const int rr = tid / CPR, c = tid % CPR;
    const int splits = kv_splits(sq.len), span = (sq.len + splits - 1) / splits;
    const int n0 = y * span, n1 = HD == HDX || c < CHUNKS ? min(sq.len, n0 + span) : n0; // idle: no rows
    float ks[8], vm[8];
#pragma unroll
    for (int e = 0; e < 8; ++e) ks[e] = vm[e] = 0.f;
    int n = n0 + rr;
    // four rows in flight per thread, then the tail
    for (; n + 3 * RPP < n1; n += 4 * RPP) {
        uint4 kr[4], vr[4];
#pragma unroll
        for (int u = 0; u < 4; ++u) {
            vr[u] = *chunk_of(p.v, sq.v_in, p.v_sn, n + u * RPP, c);
            if (p.smooth) kr[u] = *chunk_of(p.k, sq.k_in, p.k_sn, n + u * RPP, c);
        }
#pragma unroll
        for (int u = 0; u < 4; ++u) {
            float x[8];
            chunk_to_float(vr[u], x);
#pragma unroll
            for (int e = 0; e < 8; ++e) vm[e] = fmaxf(vm[e], fabsf(x[e]));
            if (p.smooth) {
                chunk_to_float(kr[u], x);
#pragma unroll
                for (int e = 0; e < 8; ++e) ks[e] += x[e];
            }
        }
    }
    for (; n < n1; n += RPP) {
        float x[8];
        chunk_to_float(*chunk_of(p.v, sq.v_in, p.v_sn, n, c), x);
#pragma unroll
        for (int e = 0; e < 8; ++e) vm[e] = fmaxf(vm[e], fabsf(x[e]));
        if (p.smooth) {
            chunk_to_float(*chunk_of(p.k, sq.k_in, p.k_sn, n, c), x);
#pragma unroll
            for (int e = 0; e < 8; ++e) ks[e] += x[e];
        }
    }
#pragma unroll
    for (int e = 0; e < 8; ++e) {
        red[rr * HDX + c * 8 + e] = ks[e];
        red[(RPP + rr) * HDX + c * 8 + e] = vm[e];
    }
    group_sync(bar);
    float *out = p.part + (bh * p.splits + y) * 2 * HD;
    for (int d = tid; d < HD; d += KV_THREADS) {
        float s = 0.f, m = 0.f;
        for (int r = 0; r < RPP; ++r) { // fixed order: the same bits on every run
            s += red[r * HDX + d];
            m = fmaxf(m, red[(RPP + r) * HDX + d]);
        }
        out[d] = s;
        out[HD + d] = m;
    }
}

// Pack of head bh by one group: the partials reduced (scales and mean written when `first`),
// then the keys key0, key0 + step, ... below key_end in PACK_KEYS steps. ps: PACK_FLOATS of
// shared memory (mean_s holds HDX values: zeros past HD, so an idle chunk's K stays zero).
__device__ __forceinline__ void pack_keys(const intfa_quant_kv_params &p, i64 bh, const kv_seq &sq,
                                          int key0, int step, int key_end, bool first, int tid,
                                          float *ps, int bar)
{
    float *mean_s = ps, *inv_s = mean_s + HDX, *head_max = inv_s + HDX;
    const float *part = p.part + bh * p.splits * 2 * HD;
    // the partials, reduced in split order (read through L2: another SM's group wrote them)
    float amax_d[(HD + KV_THREADS - 1) / KV_THREADS];
#pragma unroll
    for (int i = 0; i * KV_THREADS < HD; ++i) {
        const int d = tid + i * KV_THREADS;
        float s = 0.f, m = 0.f;
        if (d < HD)
            for (int sp = 0; sp < kv_splits(sq.len); ++sp) {
                s += __ldcg(part + sp * 2 * HD + d);
                m = fmaxf(m, __ldcg(part + sp * 2 * HD + HD + d));
            }
        if (d < HD) mean_s[d] = p.smooth && sq.len > 0 ? __fdiv_rn(s, (float)sq.len) : 0.f;
        else if (d < HDX) mean_s[d] = 0.f;
        amax_d[i] = m;
    }
    if (p.per_head) {
        float m = 0.f;
#pragma unroll
        for (int i = 0; i * KV_THREADS < HD; ++i) m = fmaxf(m, amax_d[i]);
#pragma unroll
        for (int off = 16; off > 0; off >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, off));
        if ((tid & 31) == 0) head_max[tid >> 5] = m;
        group_sync(bar);
        m = 0.f;
        for (int w = 0; w < KV_THREADS / 32; ++w) m = fmaxf(m, head_max[w]);
#pragma unroll
        for (int i = 0; i * KV_THREADS < HD; ++i) amax_d[i] = m;
    }
#pragma unroll
    for (int i = 0; i * KV_THREADS < HD; ++i) {
        const int d = tid + i * KV_THREADS;
        if (d >= HD) continue;
        inv_s[d] = amax_d[i] > 0.f ? 127.0f / amax_d[i] : 0.f;
        if (first) {
            p.v_scale[bh * HD + d] = amax_d[i] / 127.0f;
            if (p.mean) p.mean[bh * HD + d] = mean_s[d];
        }
    }
    group_sync(bar);
    for (; key0 < key_end; key0 += step) {
        // Every load of the step (V's words, then K's rows) is issued before the first store:
        // the stores may alias the loads for all the compiler knows, which would leave one load
        // in flight per thread.
        // V: thread (c, G, w) builds word w of 16-key group G for the 8 channels of chunk c: the
        // keys 2w, 2w + 1, 2w + 8, 2w + 9 of the group are slots 4w .. 4w + 3 (docs/ALGORITHM.md);
        // the items of the chunks c < CHUNKS only (c is the item's major index), at most one per
        // thread (HDX * PACK_KEYS = 8192)
        static_assert(CHUNKS * PACK_KEYS / 4 <= KV_THREADS, "one V item per thread at most");
        const int vw = tid & 3, vG = (tid >> 2) % (PACK_KEYS / 16), vc = tid / (PACK_KEYS / 4);
        const int g0 = key0 + vG * 16;
        const bool v_live = tid < CHUNKS * PACK_KEYS / 4 && g0 < sq.n_pad;
        uint4 vraw[4];
#pragma unroll
        for (int k = 0; k < 4; ++k) {
            const int key = g0 + (k >> 1) * 8 + 2 * vw + (k & 1);
            vraw[k] = v_live && key < sq.len ? *chunk_of(p.v, sq.v_in, p.v_sn, key, vc) : make_uint4(0u, 0u, 0u, 0u);
        }
        // K: per token, minus the mean; CPR threads share a row (shuffle-reduced maximum)
        constexpr int K_ROWS = PACK_KEYS * CPR / KV_THREADS;
        uint4 kraw[K_ROWS];
#pragma unroll
        for (int i = 0; i < K_ROWS; ++i) {
            const int n = key0 + tid / CPR + i * RPP, c = tid % CPR;
            const bool live = n < sq.len && (HD == HDX || c < CHUNKS);
            kraw[i] = live ? *chunk_of(p.k, sq.k_in, p.k_sn, n, c) : make_uint4(0u, 0u, 0u, 0u);
        }
#pragma unroll
        for (int i = 0; i < K_ROWS; ++i) {
            const int n = key0 + tid / CPR + i * RPP, c = tid % CPR;
            float x[8];
            const bool ok = n < sq.len, live = ok && (HD == HDX || c < CHUNKS);
            chunk_to_float(kraw[i], x);
            float amax = 0.f;
#pragma unroll
            for (int e = 0; e < 8; ++e) {
                if (p.smooth) x[e] = __fsub_rn(x[e], mean_s[c * 8 + e]);
                amax = fmaxf(amax, fabsf(x[e]));
            }
#pragma unroll
            for (int off = CPR / 2; off > 0; off >>= 1) amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, off));
            const float inv = amax > 0.f ? 127.0f / amax : 0.f;
            u32 b[2] = {0u, 0u};
#pragma unroll
            for (int e = 0; e < 8; ++e) {
                const int q = max(-127, min(127, __float2int_rn(__fmul_rn(x[e], inv))));
                b[e >> 2] |= ((u32)q & 0xffu) << (8 * (e & 3));
            }
            if (ok) {
                const i64 row = sq.out_row0 + n;
                if (live) *(uint2 *)(p.k_out + row * HD + c * 8) = make_uint2(b[0], b[1]);
                if (c == 0) p.k_scale[row] = amax / 127.0f;
            }
        }

        // V's words from the loads above
        if (v_live) {
            u32 word[8] = {0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u};
#pragma unroll
            for (int k = 0; k < 4; ++k) {
                float x[8];
                chunk_to_float(vraw[k], x);
#pragma unroll
                for (int e = 0; e < 8; ++e) {
                    const int q = max(-127, min(127, __float2int_rn(x[e] * inv_s[vc * 8 + e])));
                    word[e] |= ((u32)q & 0xffu) << (8 * k);
                }
            }
#pragma unroll
            for (int e = 0; e < 8; ++e)
                *(u32 *)(p.v_out + sq.v_out0 + (vc * 8 + e) * (i64)p.n_pad + g0 + 4 * vw) = word[e];
        }
    }
}

//% if v.arch < 90 then -- sm_90 runs the streamed kernel below (with or without overlap)
extern "C" __global__ void __launch_bounds__(KV_THREADS) intfa_quant_kv_stats(const intfa_quant_kv_params p)
{
    __shared__ float red[STATS_FLOATS];
    const i64 bh = blockIdx.x;
    const kv_seq sq(p, bh);
    if ((int)blockIdx.y >= kv_splits(sq.len)) return; // a shorter sequence than the grid's longest
    stats_span(p, bh, sq, blockIdx.y, threadIdx.x, red, 0);
}

// Heads in reverse order: the last heads packed are the first the attention kernel reads (L2).
extern "C" __global__ void __launch_bounds__(KV_THREADS) intfa_quant_kv_pack(const intfa_quant_kv_params p)
{
    __shared__ float ps[PACK_FLOATS];
    const i64 bh = gridDim.x - 1 - blockIdx.x;
    const kv_seq sq(p, bh);
    // key blocks blockIdx.y, blockIdx.y + gridDim.y, ... (grid y stops at 65535)
    pack_keys(p, bh, sq, blockIdx.y * PACK_KEYS, gridDim.y * PACK_KEYS, sq.n_pad, blockIdx.y == 0,
              threadIdx.x, ps, 0);
}
//% else
__device__ __forceinline__ u32 ld_acquire(const unsigned *a)
{
    u32 v;
    asm volatile("ld.acquire.gpu.global.u32 %0, [%1];" : "=r"(v) : "l"(a) : "memory");
    return v;
}

// Spins (with a back-off) until *a >= want (a head's statistics: milliseconds); traps after
// ~2 minutes rather than hang on a bug.
__device__ __forceinline__ void wait_at_least(const unsigned *a, unsigned want)
{
    for (long long i = 0; ld_acquire(a) < want; ++i) {
        __nanosleep(128);
        if (i > (1ll << 30)) __trap();
    }
}

// Work item `it` of the queue: the statistics of head r and the packs of head r - L in round
// r (L rounds of statistics alone first, L rounds of packs alone last), L = the heads that the
// groups of the grid hold at once, plus one: a head's packs are handed out about a whole grid
// of items after its statistics, so they rarely wait (a lag of one head measured ~2x slower),
// and the L heads between stay in L2 for the second read.
__device__ __forceinline__ void stream_item(const intfa_quant_kv_params &p, int it, bool &stats, int &bh, int &idx)
{
    const int S = p.splits, C = p.chunks, groups = gridDim.x * STREAM_GROUPS;
    const int L = min(p.bh, (groups + S + C - 1) / (S + C) + 1);
    const int head = L * S, mid = (p.bh - L) * (S + C);
    if (it < head) { // statistics of heads 0 .. L - 1
        stats = true, bh = it / S, idx = it % S;
    } else if (it - head < mid) { // round r = L + j / (S + C): statistics of r, packs of r - L
        const int j = it - head, r = L + j / (S + C), o = j % (S + C);
        stats = o < S;
        bh = stats ? r : r - L;
        idx = stats ? o : o - S;
    } else { // packs of the last L heads
        const int k = it - head - mid;
        stats = false, bh = p.bh - L + k / C, idx = k % C;
    }
}

// grid: a few SMs' worth of blocks (host: intfa_quant_kv_launch), STREAM_GROUPS groups each,
// dynamic shared memory STREAM_GROUPS * GROUP_FLOATS floats. Items are taken in queue order, and
// an item waits only for items handed out before it (a pack for its head's statistics), which
// running groups hold, and a block waits at its start only for the block that claimed the
// launch, which is running: no order of residency can deadlock.
extern "C" __global__ void __launch_bounds__(KV_THREADS * STREAM_GROUPS, 1)
intfa_quant_kv_stream(const intfa_quant_kv_params p)
{
    extern __shared__ float dyn[];
    __shared__ int next[STREAM_GROUPS][2];
    __shared__ int zeroer;
    unsigned long long *claim = reinterpret_cast<unsigned long long *>(p.sync),
                       *published = reinterpret_cast<unsigned long long *>(p.sync + 2);
    unsigned *queue = p.sync + 4, *left = p.sync + 5, *stats_done = p.sync + 6, *packed = stats_done + p.bh;
    unsigned long long *ready = reinterpret_cast<unsigned long long *>(packed + p.bh); // even word
    // The counters start as whatever the workspace held. The first block to arrive (whichever:
    // no residency order is assumed) claims the launch by swapping its epoch into `claim`,
    // zeroes them and publishes the epoch (release); every other block touches them only once
    // it has read it (acquire). A head's ready flag is set to the epoch, never to a constant, so
    // no flag an earlier launch left can pass for this launch's: the attention kernel (the
    // programmatic dependent, waiting for `ready == epoch`) needs nothing zeroed. Epochs are
    // never reused, except by a CUDA graph's replays: under capture the host clears sync first.
    if (threadIdx.x == 0) zeroer = atomicExch(claim, p.epoch) != p.epoch;
    __syncthreads();
    if (zeroer) {
        for (int i = threadIdx.x; i < 2 + 2 * p.bh; i += blockDim.x) queue[i] = 0u;
        __threadfence();
        __syncthreads();
        if (threadIdx.x == 0)
            asm volatile("st.release.gpu.global.u64 [%0], %1;" ::"l"(published), "l"(p.epoch) : "memory");
    } else if (threadIdx.x == 0) {
        for (long long i = 0;; ++i) {
            unsigned long long e;
            asm volatile("ld.acquire.gpu.global.u64 %0, [%1];" : "=l"(e) : "l"(published) : "memory");
            if (e == p.epoch) break;
            __nanosleep(64);
            if (i > (1ll << 30)) __trap();
        }
    }
    __syncthreads();
    // the attention kernel may launch now: its blocks wait for their head's flag
    asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
    const int grp = threadIdx.x / KV_THREADS, tid = threadIdx.x % KV_THREADS, bar = 1 + grp;
    float *gs = dyn + grp * GROUP_FLOATS;
    const int total = p.bh * (p.splits + p.chunks);
    if (tid == 0) next[grp][0] = atomicAdd(queue, 1);
    group_sync(bar);
    for (int round = 0;; ++round) {
        const int it = next[grp][round & 1];
        if (it >= total) {
            // the last group to leave sets the last head's flag (see wait_kv_ready): every
            // memory access of the pass comes before it
            if (tid == 0) {
                unsigned n;
                asm volatile("atom.acq_rel.gpu.global.add.u32 %0, [%1], 1;" : "=r"(n) : "l"(left) : "memory");
                if (n + 1 == gridDim.x * STREAM_GROUPS)
                    asm volatile("st.release.gpu.global.u64 [%0], %1;" ::"l"(ready + p.bh - 1), "l"(p.epoch) : "memory");
            }
            break;
        }
        if (tid == 0) next[grp][(round + 1) & 1] = atomicAdd(queue, 1); // the next, in flight now
        bool stats;
        int bh, idx;
        stream_item(p, it, stats, bh, idx);
        const kv_seq sq(p, bh);
        if (stats) {
            const bool real = idx < kv_splits(sq.len);
            if (real) stats_span(p, bh, sq, idx, tid, gs, bar);
            __threadfence();
            group_sync(bar);
            if (tid == 0 && real) atomicAdd(stats_done + bh, 1u);
        } else {
            const int keys = STREAM_STEPS * PACK_KEYS;
            const int chunks = max(1, (sq.n_pad + keys - 1) / keys);
            if (idx < chunks) {
                if (tid == 0) wait_at_least(stats_done + bh, (unsigned)kv_splits(sq.len));
                group_sync(bar);
                pack_keys(p, bh, sq, idx * keys, PACK_KEYS, min(sq.n_pad, (idx + 1) * keys), idx == 0, tid,
                          gs + STATS_FLOATS, bar);
                __threadfence();
                group_sync(bar);
                if (tid == 0) {
                    unsigned done;
                    asm volatile("atom.acq_rel.gpu.global.add.u32 %0, [%1], 1;" : "=r"(done) : "l"(packed + bh) : "memory");
                    if (done + 1 == (unsigned)chunks && bh != p.bh - 1) // the last head's: at the end
                        asm volatile("st.release.gpu.global.u64 [%0], %1;" ::"l"(ready + bh), "l"(p.epoch) : "memory");
                }
            } else {
                group_sync(bar);
            }
        }
    }
}
//% end
