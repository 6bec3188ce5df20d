// The paged INT8 KV cache (docs/DECODE.md): appends into pages and attention over them for a few
// query tokens per sequence (decode), keys split across blocks. Variant: ${v.name}
//
// A page holds page_size (PS, 16 to 256, a power of two) tokens of one K/V head:
//   k8 [page][H_kv][PS][HD] int8, one fp32 scale per token in k_scale [page][H_kv][PS];
//   v8 [page][H_kv][PS / CH][HD][CH] int8 in chunks of CH = min(PS, 64) keys, key k of a chunk
//   at byte (v_slot(k % 16) / 4) * CH / 4 + (k / 16) * 4 + v_slot(k % 16) % 4 (what the P.V
//   fragments read without shuffles, each thread's words adjacent), one fp32 scale per channel
//   in v_scale [page][H_kv][HD].
// K is quantized per token when appended. V's scales belong to the page: a sequence's last,
// partly filled page keeps its fp16/bf16 V in the sequence's staging page (stage [slot][H_kv][PS]
// [HD]) and is quantized again from it, by the same rule, on every append; so the cache holds the
// same bytes however the tokens were appended (reference/ref_kvcache.c is the contract).
//
// intfa_kv_append: grid (pages an append touches, H_kv, batch); one block quantizes the new K
//   rows of its page and, once, the page's V (from the stage and the new rows).
// intfa_kv_decode (pages of >= 64 keys) and intfa_kv_decode_small (16 or 32): grid (splits,
//   H_kv x row groups, batch), WARPS warps. Rows are (query token, query head of the GQA group)
//   pairs, 8 per row group (the m16 fragment's upper half unused); each warp takes every
//   WARPS-th 64-key tile of its split: S = Q K^T on m16n8k32 (Q quantized per row in the
//   prologue), the prefill kernels' pu8 softmax per tile (lazy maximum), P.V on m16n8k16 one
//   16-key group at a time, folded into O with each page's V scales. The warps' (m, l, O) merge
//   in shared memory; one split writes the output, several write partials that
//   intfa_kv_combine merges (on sm_90 a programmatic dependent launch of the decode grid).

#define HD ${v.head_dim}
#define WARPS ${v.warps}
#define TILE 64
#define PER_LANE (HD / 32)
#define LAZY_TAU 8.0f
#define RINT_MAGIC 12582912.0f
//% local bf16 = (v.dtype == "bf16")

//% include("attn_common.cu")

// Host mirror: intfa_kv_params in runtime/launch_params.h.
#define KV_INLINE 2048 // int32 entries of the call's arrays carried in the parameters

struct intfa_kv_params {
    signed char *k8;
    float *k_scale;
    signed char *v8;
    float *v_scale;
    unsigned short *stage;
    const int *arrays;       // the call's arrays on the device (when inline_n is 0):
                             // block_table [batch][pages_per_seq], lens [batch] (append: before
                             // it), slots [batch], cu_new [batch + 1] (append)
    const unsigned short *xk, *xv; // append: packed new tokens [total, H_kv, HD]
    const unsigned short *q; // decode: [batch, seq_q, H_q, HD]
    unsigned short *o;       // decode: like q
    float *lse;              // decode: NULL or [batch, H_q, seq_q]
    float *part_o, *part_ml; // decode with splits > 1: [batch, H_kv, rows, splits][HD] and [..][2]
    i64 xk_sn, xk_sh, xv_sn, xv_sh;
    i64 q_sb, q_sn, q_sh, o_sb, o_sn, o_sh;
    int heads_kv, ps_log2, pages_per_seq, phase;
    int heads_q, seq_q, rows, splits;
    int tiles_per_split, causal;
    float scale_log2;
    int batch;
    int inline_n, pad_;
    int inline_arrays[KV_INLINE]; // the same arrays, when they fit (no copy before the launch)
};

// The call's arrays: in the parameters (constant bank) or on the device.
__device__ __forceinline__ const int *kv_table(const intfa_kv_params &p)
{
    return p.inline_n ? p.inline_arrays : p.arrays;
}
__device__ __forceinline__ const int *kv_lens(const intfa_kv_params &p)
{
    return kv_table(p) + p.batch * p.pages_per_seq;
}

__device__ __forceinline__ float half_to_float(unsigned short h)
{
//% if bf16 then
    return __uint_as_float(((u32)h) << 16);
//% else
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
    return f;
//% end
}

__device__ __forceinline__ unsigned short float_to_half(float x)
{
    unsigned short h;
//% if bf16 then
    asm("cvt.rn.bf16.f32 %0, %1;" : "=h"(h) : "f"(x));
//% else
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(x));
//% end
    return h;
}

__device__ __forceinline__ float warp_max(float x)
{
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, off));
    return x;
}

// rint(x * inv) clamped to +-127: intfa_ref's rule for Q, K and V.
__device__ __forceinline__ int quant8(float x, float inv)
{
    return max(-127, min(127, __float2int_rn(__fmul_rn(x, inv))));
}

// One row of HD values (row points at it) quantized per token by one warp: int8 to dst, the
// scale returned (every lane).
__device__ __forceinline__ float quant_row(const unsigned short *row, signed char *dst, int lane)
{
    float x[PER_LANE];
#pragma unroll
    for (int i = 0; i < PER_LANE; ++i) x[i] = half_to_float(row[lane * PER_LANE + i]);
    float amax = 0.f;
#pragma unroll
    for (int i = 0; i < PER_LANE; ++i) amax = fmaxf(amax, fabsf(x[i]));
    amax = warp_max(amax);
    const float inv = amax > 0.f ? 127.f / amax : 0.f;
    u32 packed = 0;
#pragma unroll
    for (int i = 0; i < PER_LANE; ++i) packed |= ((u32)quant8(x[i], inv) & 0xffu) << (8 * i);
#if PER_LANE == 4
    *(u32 *)(dst + lane * 4) = packed;
#else
    *(unsigned short *)(dst + lane * 2) = (unsigned short)packed;
#endif
    return amax / 127.f;
}

// Slot of key n within its group of 16 (intfa_ref_v_slot).
__device__ __forceinline__ int v_slot(int n)
{
    return (n & ~15) | (((n & 7) >> 1) << 2) | (((n >> 3) & 1) << 1) | (n & 1);
}

// ------------------------------------------------------------------------------ append

// Block (page i of the append, head h, sequence b). phase 0: K of the page's new tokens, and V
// unless this is a last, partly filled page whose stage the append's first page still reads
// (then phase 1, a second launch, writes that stage and quantizes that page).
extern "C" __global__ void __launch_bounds__(WARPS * 32) intfa_kv_append(const __grid_constant__ intfa_kv_params p)
{
    const int b = blockIdx.z, h = blockIdx.y, ps = 1 << p.ps_log2;
    const int *lens = kv_lens(p), *slots = lens + p.batch, *cu_new = slots + p.batch;
    const int len = lens[b], n_new = cu_new[b + 1] - cu_new[b], end = len + n_new;
    const int first = len >> p.ps_log2, pi = first + (int)blockIdx.x;
    const int pstart = pi << p.ps_log2, t0 = max(len, pstart), t1 = min(end, pstart + ps);
    if (t0 >= t1) return;
    const bool partial = t1 < pstart + ps, stage_read = (len & (ps - 1)) != 0;
    const bool deferred = partial && pi != first && stage_read;
    if (p.phase == 1 && !deferred) return;
    const i64 pg = kv_table(p)[(i64)b * p.pages_per_seq + pi];
    const i64 ph = pg * p.heads_kv + h;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const i64 new0 = (i64)cu_new[b] - len; // input row of token t: new0 + t

    if (p.phase == 0)
        for (int t = t0 + warp; t < t1; t += WARPS) {
            const int slot = t & (ps - 1);
            const float s = quant_row(p.xk + (new0 + t) * p.xk_sn + h * p.xk_sh,
                                      p.k8 + (ph * ps + slot) * HD, lane);
            if (lane == 0) p.k_scale[ph * ps + slot] = s;
        }
    if (p.phase == 0 && deferred) return;

    // V of the page: tokens pstart .. t1 - 1, the ones before len from the stage
    const int ch = threadIdx.x;
    if (ch >= HD) return;
    unsigned short *stage = p.stage + ((i64)slots[b] * p.heads_kv + h) * ps * HD;
    const int count = t1 - pstart;
    auto value = [&](int r) -> unsigned short {
        const int t = pstart + r;
        return t < len ? stage[(i64)r * HD + ch] : p.xv[(new0 + t) * p.xv_sn + h * p.xv_sh + ch];
    };
    float amax = 0.f;
    for (int r = 0; r < count; ++r) amax = fmaxf(amax, fabsf(half_to_float(value(r))));
    const float inv = amax > 0.f ? 127.f / amax : 0.f;
    // chunks of CH = min(PS, 64) keys, [HD][CH] each; word c * (CH / 16) + G of a channel holds
    // slots 4c .. 4c + 3 of its group G (v_slot), so one thread's P.V words are adjacent
    const int chunk = min(ps, TILE), groups = chunk / 16;
    for (int c0 = 0; c0 < ps; c0 += chunk) {
        u32 w[TILE / 4];
#pragma unroll
        for (int i = 0; i < TILE / 4; ++i) w[i] = 0;
        for (int j = 0; j < chunk && c0 + j < count; ++j) {
            const int sl = v_slot(j & 15);
            w[(sl >> 2) * groups + (j >> 4)] |= ((u32)quant8(half_to_float(value(c0 + j)), inv) & 0xffu)
                                                << (8 * (sl & 3));
        }
        uint4 *dst = (uint4 *)(p.v8 + ph * HD * ps + (i64)c0 * HD + (i64)ch * chunk);
        for (int i = 0; i < groups; ++i) dst[i] = make_uint4(w[4 * i], w[4 * i + 1], w[4 * i + 2], w[4 * i + 3]);
    }
    p.v_scale[ph * HD + ch] = amax / 127.f;
    if (partial) // the page stays open: its new V rows wait in the stage
        for (int t = t0; t < t1; ++t) stage[(i64)(t - pstart) * HD + ch] = value(t - pstart);
}

// ------------------------------------------------------------------------------ decode

__device__ __forceinline__ void mma_s8_k32(int (&d)[4], const u32 (&a)[4], u32 b0, u32 b1)
{
    asm volatile("mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
                 "{%8,%9}, {%0,%1,%2,%3};\n"
                 : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

__device__ __forceinline__ void mma_u8s8_k16(int (&d)[4], u32 a0, u32 a1, u32 b0)
{
    asm volatile("mma.sync.aligned.m16n8k16.row.col.s32.u8.s8.s32 {%0,%1,%2,%3}, {%4,%5}, {%6}, "
                 "{%0,%1,%2,%3};\n"
                 : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3])
                 : "r"(a0), "r"(a1), "r"(b0));
}

// A warp's 8 rows: the m16 fragment's rows g (0..7) carry them, rows g + 8 stay zero (decode
// has few rows per K/V head; a second row per thread would double the softmax and fold work).
struct decode_row {
    float m, l;
    float a;    // q_scale * scale * log2(e)
    int last;   // last key the row sees (-1: none)
    float o[HD / 8][2];
};

// Page-table entry of the page holding key t (clamped to the sequence's last page).
__device__ __forceinline__ i64 page_of(const intfa_kv_params &p, const int *table, int t, int len)
{
    return table[min(t, len - 1) >> p.ps_log2];
}

// A tile's K: B fragments of key kb + 8j + g (16-byte chunks at 64i + 16c) and the scales of
// this thread's S columns (kb + 8j + 2c, + 1).
struct k_tile {
    uint4 w[8][HD / 64];
    float2 s[8];
};

// A tile inside one page: K rows kt[key][HD] and the tile's 64 key scales ks.
__device__ __forceinline__ void load_k_rows(const signed char *kt, const float *ks, k_tile &k, int lane)
{
    const int g = lane >> 2, c = lane & 3;
#pragma unroll
    for (int j = 0; j < 8; ++j) {
        const signed char *row = kt + (8 * j + g) * HD + 16 * c;
#pragma unroll
        for (int i = 0; i < HD / 64; ++i) k.w[j][i] = *(const uint4 *)(row + 64 * i);
        k.s[j] = *(const float2 *)(ks + 8 * j + 2 * c);
    }
}

// ONE_PAGE: pages of 64 keys or more, which hold the whole tile (one table read per tile).
template <bool ONE_PAGE>
__device__ __forceinline__ void load_k(const intfa_kv_params &p, const int *table, int h, int len,
                                       int kb, k_tile &k, int lane)
{
    const int g = lane >> 2, c = lane & 3, ps = 1 << p.ps_log2;
    if constexpr (ONE_PAGE) {
        const i64 ph = page_of(p, table, kb, len) * p.heads_kv + h, key0 = ph * ps + (kb & (ps - 1));
        load_k_rows(p.k8 + key0 * HD, p.k_scale + key0, k, lane);
    } else {
#pragma unroll
        for (int j = 0; j < 8; ++j) {
            const int t = kb + 8 * j; // eight keys of one 16-key group: one page
            const i64 ph = page_of(p, table, t, len) * p.heads_kv + h;
            const int slot = t & (ps - 1);
            const signed char *row = p.k8 + (ph * ps + slot + g) * HD + 16 * c;
#pragma unroll
            for (int i = 0; i < HD / 64; ++i) k.w[j][i] = *(const uint4 *)(row + 64 * i);
            k.s[j] = *(const float2 *)(p.k_scale + ph * ps + slot + 2 * c);
        }
    }
}

// One 64-key tile (its K in k) for this warp's rows.
// ONE_PAGE: vt is the tile's V chunk [HD][64] and vsc its page's HD V scales; other tiles look
// their pages up.
template <bool ONE_PAGE>
__device__ __forceinline__ void decode_tile(const intfa_kv_params &p, const int *table, int h,
                                            int len, int kb, const u32 (&qf)[HD / 32][4],
                                            const k_tile &k, decode_row &r, int lane,
                                            const signed char *vt, const float *vsc)
{
    const int g = lane >> 2, c = lane & 3, ps = 1 << p.ps_log2;
    constexpr bool one_page = ONE_PAGE;
    // V: channel 8ct + g, the words of slots 4c .. 4c + 3 of each 16-key group G of the tile
    u32 vw[HD / 8][4];
    if constexpr (ONE_PAGE) { // the tile is one chunk [HD][64]: this thread's four words are adjacent
        const signed char *col = vt + g * TILE + 16 * c;
#pragma unroll
        for (int ct = 0; ct < HD / 8; ++ct) {
            const uint4 u = *(const uint4 *)(col + ct * 8 * TILE);
            vw[ct][0] = u.x; vw[ct][1] = u.y; vw[ct][2] = u.z; vw[ct][3] = u.w;
        }
    } else { // pages of 16 or 32 keys: a chunk is the page, [HD][PS]
#pragma unroll
        for (int G = 0; G < 4; ++G) {
            const int t = kb + 16 * G;
            const i64 ph = page_of(p, table, t, len) * p.heads_kv + h;
            const signed char *col = p.v8 + ph * HD * ps + (i64)g * ps + 4 * (c * (ps >> 4) + ((t & (ps - 1)) >> 4));
#pragma unroll
            for (int ct = 0; ct < HD / 8; ++ct) vw[ct][G] = *(const u32 *)(col + (i64)8 * ct * ps);
        }
    }
    int s[8][4];
#pragma unroll
    for (int j = 0; j < 8; ++j) {
        s[j][0] = s[j][1] = s[j][2] = s[j][3] = 0;
#pragma unroll
        for (int i = 0; i < HD / 64; ++i) {
            mma_s8_k32(s[j], qf[2 * i], k.w[j][i].x, k.w[j][i].y);
            mma_s8_k32(s[j], qf[2 * i + 1], k.w[j][i].z, k.w[j][i].w);
        }
    }

    // scores of row g, the tile's maximum
    float x[8][2], xmax = NEG_INF;
#pragma unroll
    for (int j = 0; j < 8; ++j)
#pragma unroll
        for (int e = 0; e < 2; ++e) {
            const int key = kb + 8 * j + 2 * c + e;
            const float v = __fmul_rn((float)s[j][e], e ? k.s[j].y : k.s[j].x);
            x[j][e] = key <= r.last ? v : NEG_INF;
            xmax = fmaxf(xmax, x[j][e]);
        }
    xmax = fmaxf(xmax, __shfl_xor_sync(0xffffffffu, xmax, 1));
    xmax = fmaxf(xmax, __shfl_xor_sync(0xffffffffu, xmax, 2));
    const float mt = xmax == NEG_INF ? NEG_INF : xmax * r.a;
    const float m_new = mt > r.m + LAZY_TAU ? mt : r.m;
    const float m_use = m_new == NEG_INF ? 0.f : m_new, shift = mt == NEG_INF ? 0.f : mt;
    const float alpha = m_new == r.m ? 1.f : ex2(r.m - m_use);
    const float beta = mt == NEG_INF ? 0.f : ex2(mt - m_use) * (1.0f / 255.0f);
    r.m = m_new;
    // P in u8 against the tile's maximum, packed as the A fragments (row g) of the four groups:
    // slots 4c, 4c + 1 from n-tile 2G (keys 2c, 2c + 1), 4c + 2, 4c + 3 from n-tile 2G + 1
    u32 pa[4];
    int psum = 0;
#pragma unroll
    for (int j = 0; j < 8; ++j) {
        u32 bytes[2];
#pragma unroll
        for (int e = 0; e < 2; ++e) {
            const float pr = x[j][e] == NEG_INF ? 0.f : ex2(__fmaf_rn(x[j][e], r.a, -shift));
            bytes[e] = (u32)__float_as_int(__fmaf_rn(pr, 255.f, RINT_MAGIC)) - 0x4B400000u;
            psum += (int)bytes[e];
        }
        const u32 half = bytes[0] | (bytes[1] << 8);
        pa[j >> 1] = (j & 1) ? pa[j >> 1] | (half << 16) : half;
    }
    psum += __shfl_xor_sync(0xffffffffu, psum, 1);
    psum += __shfl_xor_sync(0xffffffffu, psum, 2);
    r.l = __fmaf_rn((float)psum, beta, r.l * alpha);
    if (alpha != 1.f)
#pragma unroll
        for (int ct = 0; ct < HD / 8; ++ct) {
            r.o[ct][0] *= alpha;
            r.o[ct][1] *= alpha;
        }
    // P.V group by group; each page's share folded with its V scales
#pragma unroll
    for (int ct = 0; ct < HD / 8; ++ct) {
        int acc[4] = {0, 0, 0, 0};
#pragma unroll
        for (int G = 0; G < 4; ++G) {
            mma_u8s8_k16(acc, pa[G], 0u, vw[ct][G]);
            const int t = kb + 16 * G;
            if (G == 3 || ((t + 16) & (ps - 1)) == 0) { // the page ends here
                const float *vrow = one_page ? vsc : p.v_scale + (page_of(p, table, t, len) * p.heads_kv + h) * HD;
                const float2 vs = *(const float2 *)(vrow + 8 * ct + 2 * c);
                r.o[ct][0] = __fmaf_rn((float)acc[0], beta * vs.x, r.o[ct][0]);
                r.o[ct][1] = __fmaf_rn((float)acc[1], beta * vs.y, r.o[ct][1]);
                acc[0] = acc[1] = acc[2] = acc[3] = 0;
            }
        }
    }
}

// Row r of a (sequence, K/V head): query token r / group, query head h * group + r % group.
__device__ __forceinline__ i64 q_offset(const intfa_kv_params &p, int b, int h, int r, i64 sb,
                                        i64 sn, i64 sh)
{
    const int group = p.heads_q / p.heads_kv;
    return b * sb + (i64)(r / group) * sn + (i64)(h * group + r % group) * sh;
}

// The merged row (m, l, o[HD]) of row r: the output and LSE (one split) or the partials.
__device__ __forceinline__ void write_row(const intfa_kv_params &p, bool final_row, int b, int h,
                                          int r, int split, float m, float l, const float *o, int d0,
                                          int nd)
{
    if (final_row) {
        const float inv = l > 0.f ? 1.f / l : 0.f;
        unsigned short *dst = p.o + q_offset(p, b, h, r, p.o_sb, p.o_sn, p.o_sh);
        for (int d = d0; d < d0 + nd; ++d) dst[d] = float_to_half(o[d - d0] * inv);
        if (p.lse && d0 == 0) {
            const int group = p.heads_q / p.heads_kv;
            p.lse[((i64)b * p.heads_q + h * group + r % group) * p.seq_q + r / group] =
                l > 0.f ? (m + __log2f(l)) * 0.69314718055994530942f : NEG_INF;
        }
        return;
    }
    const i64 row = (((i64)b * p.heads_kv + h) * p.rows + r) * p.splits + split;
    for (int d = d0; d < d0 + nd; ++d) p.part_o[row * HD + d] = o[d - d0];
    if (d0 == 0) {
        p.part_ml[2 * row] = m;
        p.part_ml[2 * row + 1] = l;
    }
}

// ONE_PAGE: pages of >= 64 keys (a tile inside one page); else pages of 16 or 32 keys.
template <bool ONE_PAGE> __device__ __forceinline__ void decode_block(const intfa_kv_params &p)
{
    __shared__ __align__(16) signed char q8[8][HD];
    __shared__ float qa[8];
    __shared__ float red_ml[WARPS][2][8];
    __shared__ __align__(16) float red_o[WARPS][8][HD + 4];
    const int row_groups = (p.rows + 7) / 8;
    const int split = blockIdx.x, h = blockIdx.y / row_groups, rg = blockIdx.y % row_groups;
    const int b = blockIdx.z, warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int len = kv_lens(p)[b];
    const int *table = kv_table(p) + (i64)b * p.pages_per_seq;
    // this warp's tiles of the split: every WARPS-th
    const int tiles = (len + TILE - 1) / TILE;
    const int tile0 = split * p.tiles_per_split + warp;
    const int tile1 = min(tiles, (split + 1) * p.tiles_per_split);
    // Q: 8 rows quantized per token
    for (int rr = warp; rr < 8; rr += WARPS) {
        const int r = rg * 8 + rr;
        if (r < p.rows) {
            const float s = quant_row(p.q + q_offset(p, b, h, r, p.q_sb, p.q_sn, p.q_sh), q8[rr], lane);
            if (lane == 0) qa[rr] = s * p.scale_log2;
        } else {
            if (lane < HD / 4) ((u32 *)q8[rr])[lane] = 0;
            if (lane == 0) qa[rr] = 0.f;
        }
    }
    __syncthreads(); // Q
    const int g = lane >> 2, c = lane & 3;
    u32 qf[HD / 32][4];
#pragma unroll
    for (int i = 0; i < HD / 64; ++i) {
        const uint4 u = *(const uint4 *)(&q8[g][64 * i + 16 * c]);
        qf[2 * i][0] = u.x; qf[2 * i][2] = u.y; qf[2 * i + 1][0] = u.z; qf[2 * i + 1][2] = u.w;
        qf[2 * i][1] = qf[2 * i][3] = qf[2 * i + 1][1] = qf[2 * i + 1][3] = 0u; // rows 8..15
    }
    decode_row rw;
    {
        const int r = rg * 8 + g, group = p.heads_q / p.heads_kv;
        rw.m = NEG_INF;
        rw.l = 0.f;
        rw.a = qa[g];
        rw.last = r >= p.rows ? -1 : min(len - 1, p.causal ? len - p.seq_q + r / group : len - 1);
    }
#pragma unroll
    for (int ct = 0; ct < HD / 8; ++ct) rw.o[ct][0] = rw.o[ct][1] = 0.f;

    // (Loading a tile's K earlier, during the previous tile's softmax or Q's prologue, costs
    // registers: spills at hd128, 5-30% slower on an H100.)
    const int ps = 1 << p.ps_log2;
    for (int t = tile0; t < tile1; t += WARPS) {
        k_tile k;
        load_k<ONE_PAGE>(p, table, h, len, t * TILE, k, lane);
        const i64 ph = ONE_PAGE ? page_of(p, table, t * TILE, len) * p.heads_kv + h : 0;
        decode_tile<ONE_PAGE>(p, table, h, len, t * TILE, qf, k, rw, lane,
                              p.v8 + ph * HD * ps + (i64)((t * TILE) & (ps - 1)) * HD, p.v_scale + ph * HD);
    }

//% if v.arch >= 90 then
    // the combine kernel may be scheduled now; it waits for this grid to finish
    asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
//% end
    // merge the warps
    if (c == 0) {
        red_ml[warp][0][g] = rw.m;
        red_ml[warp][1][g] = rw.l;
    }
#pragma unroll
    for (int ct = 0; ct < HD / 8; ++ct)
        *(float2 *)&red_o[warp][g][8 * ct + 2 * c] = make_float2(rw.o[ct][0], rw.o[ct][1]);
    __syncthreads();
    // thread: row rr = tid / PER_ROW, ND channels from d0
    constexpr int PER_ROW = WARPS * 4, ND = HD / PER_ROW;
    const int rr = threadIdx.x / PER_ROW, d0 = (threadIdx.x % PER_ROW) * ND;
    const int r = rg * 8 + rr;
    if (r >= p.rows) return;
    float m = NEG_INF;
#pragma unroll
    for (int w = 0; w < WARPS; ++w) m = fmaxf(m, red_ml[w][0][rr]);
    float l = 0.f, o[ND];
#pragma unroll
    for (int d = 0; d < ND; ++d) o[d] = 0.f;
#pragma unroll
    for (int w = 0; w < WARPS; ++w) {
        const float f = red_ml[w][1][rr] > 0.f ? ex2(red_ml[w][0][rr] - m) : 0.f;
        l = __fmaf_rn(red_ml[w][1][rr], f, l);
#pragma unroll
        for (int d = 0; d < ND; ++d) o[d] = __fmaf_rn(red_o[w][rr][d0 + d], f, o[d]);
    }
    write_row(p, p.splits == 1, b, h, r, split, m, l, o, d0, ND);
}

// Pages of 64 keys or more (a tile inside one page): 243 registers at hd128, where the code for
// smaller pages would raise it to 254 (measured 4-25% slower on an H100; three blocks per SM
// spill and lose more).
extern "C" __global__ void __launch_bounds__(WARPS * 32, 2)
intfa_kv_decode(const __grid_constant__ intfa_kv_params p)
{
    decode_block<true>(p);
}

// Pages of 16 or 32 keys: a tile spans pages, each 16-key group looked up.
extern "C" __global__ void __launch_bounds__(WARPS * 32, 2)
intfa_kv_decode_small(const __grid_constant__ intfa_kv_params p)
{
    decode_block<false>(p);
}

// ------------------------------------------------------------------------------ combine

#define COMBINE_CHUNK 8 // partial O rows in flight per warp
#define KV_MAX_SPLITS 128 // host mirror: INTFA_KV_MAX_SPLITS (runtime/kv_layout.h), never exceeded

static_assert(KV_MAX_SPLITS <= WARPS * 32, "the combine gives each thread at most one split's (m, l)");

__device__ __forceinline__ float warp_sum(float x)
{
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) x += __shfl_xor_sync(0xffffffffu, x, off);
    return x;
}

// x reduced over the block (max or sum) into every thread; slot: WARPS floats of shared memory
template <bool MAX> __device__ __forceinline__ float block_reduce(float x, float *slot, int warp, int lane)
{
    x = MAX ? warp_max(x) : warp_sum(x);
    if (lane == 0) slot[warp] = x;
    __syncthreads();
    float r = slot[0];
#pragma unroll
    for (int w = 1; w < WARPS; ++w) r = MAX ? fmaxf(r, slot[w]) : r + slot[w];
    return r;
}

struct combine_rows {
    float x[COMBINE_CHUNK][PER_LANE];
};

// This lane's PER_LANE columns of the partial O rows of splits s0 + WARPS i (i < COMBINE_CHUNK)
// that exist: all loads issued before any is used.
__device__ __forceinline__ void load_chunk(combine_rows &c, const float *src, int s0, int splits)
{
#pragma unroll
    for (int i = 0; i < COMBINE_CHUNK; ++i) {
        const int s = s0 + WARPS * i;
        if (s < splits) {
#if PER_LANE == 4
            const float4 v = __ldcg((const float4 *)(src + (i64)s * HD));
            c.x[i][0] = v.x; c.x[i][1] = v.y; c.x[i][2] = v.z; c.x[i][3] = v.w;
#elif PER_LANE == 2
            const float2 v = __ldcg((const float2 *)(src + (i64)s * HD));
            c.x[i][0] = v.x; c.x[i][1] = v.y;
#else
#error "the combine reads 2 or 4 floats per lane (head_dim 64 or 128)"
#endif
        }
    }
}

// o += weight[s] x_s for the chunk's splits of nonzero weight: an empty split's row (l <= 0,
// e.g. past a short sequence's end) is never added, even a NaN in it.
__device__ __forceinline__ void fold_chunk(float (&o)[PER_LANE], const combine_rows &c,
                                           const float *weight, int s0, int splits)
{
#pragma unroll
    for (int i = 0; i < COMBINE_CHUNK; ++i) {
        const int s = s0 + WARPS * i;
        if (s < splits) {
            const float w = weight[s];
            if (w > 0.f) {
#pragma unroll
                for (int k = 0; k < PER_LANE; ++k) o[k] = __fmaf_rn(c.x[i][k], w, o[k]);
            }
        }
    }
}

// One block per row (b, h, r): the splits' partials merged into the output and the LSE. The
// latency of the loads is what this kernel costs (a few hundred KB at most per call), so every
// load is issued at once: each warp's first COMBINE_CHUNK partial rows (warp w: splits w,
// w + WARPS, ...) go out before the weights are formed from the splits' (m, l), one split per
// thread, whose maximum and weighted sum are block reductions; the warps' sums then meet in
// shared memory. Splits past WARPS * COMBINE_CHUNK (long sequences) come in further chunks.
extern "C" __global__ void __launch_bounds__(WARPS * 32) intfa_kv_combine(const __grid_constant__ intfa_kv_params p)
{
    __shared__ float weight[KV_MAX_SPLITS];
    __shared__ float red[2][WARPS];
    __shared__ __align__(16) float part[WARPS][HD];
//% if v.arch >= 90 then
    // launched as a programmatic dependent of intfa_kv_decode: wait for its partials
    asm volatile("griddepcontrol.wait;" ::: "memory");
//% end
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const i64 row = blockIdx.x; // the grid is exactly the rows
    const int r = (int)(row % p.rows), h = (int)(row / p.rows % p.heads_kv);
    const int b = (int)(row / ((i64)p.rows * p.heads_kv));
    const int splits = p.splits;
    const float *src = p.part_o + row * splits * HD + lane * PER_LANE;

    combine_rows c;
    load_chunk(c, src, warp, splits);

    float mt = NEG_INF, lt = 0.f;
    if (tid < splits) {
        const float2 v = __ldcg((const float2 *)(p.part_ml + (row * splits + tid) * 2));
        if (v.y > 0.f) {
            mt = v.x;
            lt = v.y;
        }
    }
    const float m = block_reduce<true>(mt, red[0], warp, lane);
    const float w = lt > 0.f ? ex2(mt - m) : 0.f;
    if (tid < KV_MAX_SPLITS) weight[tid] = w;
    const float l = block_reduce<false>(lt * w, red[1], warp, lane); // its barrier publishes weight

    float o[PER_LANE];
#pragma unroll
    for (int k = 0; k < PER_LANE; ++k) o[k] = 0.f;
    fold_chunk(o, c, weight, warp, splits);
    for (int s0 = warp + WARPS * COMBINE_CHUNK; s0 < splits; s0 += WARPS * COMBINE_CHUNK) {
        load_chunk(c, src, s0, splits);
        fold_chunk(o, c, weight, s0, splits);
    }
#pragma unroll
    for (int k = 0; k < PER_LANE; ++k) part[warp][lane * PER_LANE + k] = o[k];
    __syncthreads();
    if (warp != 0) return;
#pragma unroll
    for (int k = 0; k < PER_LANE; ++k) {
        float sum = part[0][lane * PER_LANE + k];
#pragma unroll
        for (int w2 = 1; w2 < WARPS; ++w2) sum += part[w2][lane * PER_LANE + k];
        o[k] = sum;
    }
    write_row(p, true, b, h, r, 0, m, l, o, lane * PER_LANE, PER_LANE);
}
