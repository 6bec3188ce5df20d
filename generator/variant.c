/* variant.c - kernel variants: canonical names and their strict parse, validity rules
 * (tile shapes, shared memory, registers), and the per-arch defaults.
 *
 * Names (lowercase, '-' separated, fields in this order):
 *   attn_fwd-<arch>-d<head_dim>-<int8|int4>-<fp16|bf16>-<causal|full>-<pu8|ps8>-m<M>n<N>w<W>s<S>
 *   quant_qk-<arch>-d<head_dim>-<int8|int4>-<fp16|bf16>-w<W>
 *   quant_v-<arch>-d<head_dim>-<fp16|bf16>-w<W>
 *   attn_fp16-<arch>-d<head_dim>-<fp16|bf16>-<causal|full>-m<M>n<N>w<W>s<S>
 *   kv_cache-<arch>-d<head_dim>-<fp16|bf16>-w<W>
 * with <arch> one of sm80 sm86 sm89 sm90 sm90a. On sm90a, int8 attn_fwd variants with one m16
 * row tile per warp (M = 16 W) run on wgmma (templates/attn_fwd_wg.cu), the rest on mma.sync
 * (intfa_variant_uses_wgmma). Fields a kind does not have are zero in a
 * parsed variant, so parse(name(v)) equals v once those fields of v are zeroed.
 */
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "render.h"

static const char *const kind_names[INTFA_KIND_COUNT] = {"attn_fwd", "quant_qk", "quant_v",
                                                          "attn_fp16", "kv_cache"};
static const char *const arch_names[INTFA_ARCH_COUNT] = {"sm_80", "sm_86", "sm_89", "sm_90",
                                                         "sm_90a"};
static const char *const arch_short[INTFA_ARCH_COUNT] = {"sm80", "sm86", "sm89", "sm90",
                                                         "sm90a"};
static const int arch_sm[INTFA_ARCH_COUNT] = {80, 86, 89, 90, 90};
/* Opt-in shared memory per block (cudaDevAttrMaxSharedMemoryPerBlockOptin). */
static const long long arch_smem[INTFA_ARCH_COUNT] = {166912, 101376, 101376, 232448, 232448};

#define REG_LIMIT 255

/* Kinds with a tile (block_m, block_n, warps, stages) and a mask: the attention kernels. */
static int is_attention(intfa_kind kind)
{
    return kind == INTFA_KIND_ATTN_FWD || kind == INTFA_KIND_ATTN_FWD_FP16;
}

/* Kinds whose name and variant carry a Q/K format (int8 or int4). */
static int has_qk_format(intfa_kind kind)
{
    return kind == INTFA_KIND_ATTN_FWD || kind == INTFA_KIND_QUANT_QK;
}

const char *intfa_kind_name(intfa_kind kind)
{
    return (unsigned)kind < INTFA_KIND_COUNT ? kind_names[kind] : NULL;
}

const char *intfa_arch_name(intfa_arch arch)
{
    return (unsigned)arch < INTFA_ARCH_COUNT ? arch_names[arch] : "unknown arch";
}

const char *intfa_p_quant_name(intfa_p_quant pq)
{
    static const char *const names[] = {"pu8", "ps8", "pf16"};
    return (unsigned)pq <= INTFA_PQ_F16 ? names[pq] : "p?";
}

int intfa_arch_sm(intfa_arch arch) { return (unsigned)arch < INTFA_ARCH_COUNT ? arch_sm[arch] : 0; }

long long intfa_arch_smem_limit(intfa_arch arch)
{
    return (unsigned)arch < INTFA_ARCH_COUNT ? arch_smem[arch] : 0;
}

int intfa_head_dim_ok(long long d) { return d >= 32 && d <= 256 && d % 16 == 0; }
int intfa_head_dim_classic(long long d) { return d == 64 || d == 128; }
int intfa_head_dim_padded(int d) { return (d + 31) / 32 * 32; }

int intfa_variant_uses_wgmma(const intfa_variant *v)
{
    return v->kind == INTFA_KIND_ATTN_FWD && v->arch == INTFA_ARCH_SM90A &&
           v->qk_format == INTFA_FMT_INT8 && v->warps > 0 && v->block_m == 16 * v->warps;
}

int intfa_variant_uses_kv_tma(const intfa_variant *v)
{
    /* On (the default): every head dim that is a multiple of 32 (past 128, K in slabs;
     * docs/HOPPER_KERNEL.md); INTFA_KV_TMA=0: off (the cp.async ring, for A/B timing). 1 and 2
     * (session 13's opt-in spelling) mean on. Read once (threads that race here read the same
     * environment). */
    static _Atomic int enabled = -1;
    int on = atomic_load_explicit(&enabled, memory_order_relaxed);
    if (on < 0) {
        const char *e = getenv("INTFA_KV_TMA");
        on = !(e && e[0] == '0');
        atomic_store_explicit(&enabled, on, memory_order_relaxed);
    }
    return on && intfa_variant_uses_wgmma(v) && v->p_quant != INTFA_PQ_F16 &&
           v->head_dim % 32 == 0;
}

int intfa_kv_tma_env_default(void)
{
    const char *e = getenv("INTFA_KV_TMA");
    return !(e && e[0] == '0');
}

int intfa_variant_same(const intfa_variant *a, const intfa_variant *b)
{
    return a->kind == b->kind && a->arch == b->arch && a->head_dim == b->head_dim &&
           a->block_m == b->block_m && a->block_n == b->block_n && a->warps == b->warps &&
           a->stages == b->stages && a->qk_format == b->qk_format && a->causal == b->causal &&
           a->dtype == b->dtype && a->p_quant == b->p_quant;
}

int intfa_variant_uses_ws(const intfa_variant *v)
{
    return v->kind == INTFA_KIND_ATTN_FWD && v->arch == INTFA_ARCH_SM90A &&
           v->qk_format == INTFA_FMT_INT8 && (v->warps == 8 || v->warps == 12) &&
           v->block_m == 16 * (v->warps - 4);
}

long long intfa_variant_smem_bytes(const intfa_variant *v)
{
    long long d = intfa_head_dim_padded(v->head_dim), n = v->block_n;
    if (v->kind == INTFA_KIND_ATTN_FWD_FP16) /* fp16 Q tile, K and V tiles per stage */
        return 2 * ((long long)v->block_m * d + (long long)v->stages * 2 * n * d);
    if (v->kind != INTFA_KIND_ATTN_FWD) return 0;
    if (v->qk_format == INTFA_FMT_INT4) {
        /* templates/attn_fwd.cu: packed Q/K rows of d/2 bytes; on sm_90 (unpack path) also the
         * packed Q staging tile and one int8 K tile */
        const long long g = d / 2;
        const int unpack = v->arch == INTFA_ARCH_SM90 || v->arch == INTFA_ARCH_SM90A;
        return (long long)v->block_m * (unpack ? d : g) + (long long)v->stages * (n * g + d * n + 4 * n) +
               (unpack ? (long long)v->block_m * g + n * d : 0);
    }
    /* the wgmma kernels' tiles start on 1024-byte boundaries; the warp-specialized one adds
     * two mbarriers per stage and two for Q; pf16's V tiles are 16-bit */
    if (v->p_quant == INTFA_PQ_F16)
        return (long long)v->block_m * d + (long long)v->stages * (3 * n * d + 4 * n) + 1024;
    /* K/V by TMA: each stage's key-scale slot holds a window of block_n + 4 in 128-byte units
     * (templates/attn_fwd_wg.cu, KS_STAGE_BYTES) */
    const long long ks_tma = intfa_variant_uses_kv_tma(v) ? ((n + 4) * 4 + 127) / 128 * 128 - 4 * n : 0;
    return (long long)v->block_m * d + (long long)v->stages * (n * d + d * n + 4 * n + ks_tma) +
           (intfa_variant_uses_wgmma(v) ? 1024 : 0) +
           (intfa_variant_uses_ws(v) ? 1024 + 16 * (long long)v->stages + 16 : 0);
}

long long intfa_variant_reg_estimate(const intfa_variant *v)
{
    if (v->kind != INTFA_KIND_ATTN_FWD && v->kind != INTFA_KIND_ATTN_FWD_FP16) return 0;
    /* per m16 row tile a warp owns: S (block_n / 2) and O (head_dim / 2); Q fragments stay in
     * registers only with one tile (head_dim / 8, fp16: head_dim / 4) with the P.V chunk (16);
     * with two tiles the fp16 kernel holds two k-steps of Q per tile and its P.V chunk (16:
     * calibrated on ptxas, which spills fp16 m128n64w4 at hd128 and m128n128w4 at hd64);
     * addresses and softmax state 48 */
    /* warp-specialized consumers: S (block_n / 2), O (head_dim / 2) and the int32 P.V tile
     * (head_dim / 2) in flight together, P (block_n / 8), addresses and softmax state 32 */
    if (intfa_variant_uses_ws(v)) return v->block_n / 2 + v->head_dim + v->block_n / 8 + 32;
    /* pf16 (wgmma, one row tile per warp): S (block_n / 2), O (head_dim / 2) and two 16-bit P
     * tiles (block_n / 4 each: the one a P.V product in flight reads, the next one), 40 */
    if (v->kind == INTFA_KIND_ATTN_FWD && v->p_quant == INTFA_PQ_F16)
        return v->block_n + v->head_dim / 2 + 40;
    const int fp16 = v->kind == INTFA_KIND_ATTN_FWD_FP16;
    const long long d = intfa_head_dim_padded(v->head_dim);
    const long long mt = v->warps > 0 ? v->block_m / (16 * v->warps) : 1;
    /* Q fragments stay in registers (mma.sync, one row tile) up to head_dim 128; the wgmma
     * kernel reads Q from shared memory (and splits P.V into column chunks past 128) */
    const long long q = intfa_variant_uses_wgmma(v) && d > 128 ? 0
                        : mt == 1 ? (d <= 128 ? d / (fp16 ? 4 : 8) + 16 : 0)
                        : fp16 ? 16 : 0;
    return mt * (v->block_n / 2 + d / 2) + q + 48;
}

/* Accepts "sm_90a", "sm90a" and "90a" (and likewise for every arch). */
intfa_status intfa_arch_parse(const char *name, intfa_arch *out)
{
    if (!name) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "arch name is NULL");
    if (!out) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "arch output pointer is NULL");
    const char *s = name;
    if (strncmp(s, "sm_", 3) == 0)
        s += 3;
    else if (strncmp(s, "sm", 2) == 0)
        s += 2;
    for (int a = 0; a < INTFA_ARCH_COUNT; a++) {
        if (strcmp(s, arch_names[a] + 3) == 0) {
            *out = (intfa_arch)a;
            return INTFA_OK;
        }
    }
    return intfa_fail(INTFA_ERR_INVALID_ARGUMENT,
                      "arch \"%s\": not one of sm_80, sm_86, sm_89, sm_90, sm_90a "
                      "(also written sm90a or 90a)",
                      name);
}

/* The range checks shared by name and check: enums in range, counts not negative, flags 0/1.
 * Only the fields the kind has are looked at. */
static intfa_status check_fields(const intfa_variant *v)
{
    if ((unsigned)v->kind >= INTFA_KIND_COUNT)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "kind = %d: not an intfa_kind (0..%d)",
                          (int)v->kind, INTFA_KIND_COUNT - 1);
    if ((unsigned)v->arch >= INTFA_ARCH_COUNT)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "arch = %d: not an intfa_arch (0..%d)",
                          (int)v->arch, INTFA_ARCH_COUNT - 1);
    if (v->head_dim < 0)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "head_dim = %d: negative", v->head_dim);
    if (v->warps < 0)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "warps = %d: negative", v->warps);
    if ((unsigned)v->dtype > INTFA_DTYPE_BF16)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "dtype = %d: not an intfa_dtype (0..1)",
                          (int)v->dtype);
    if (has_qk_format(v->kind) && (unsigned)v->qk_format > INTFA_FMT_INT4)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT,
                          "qk_format = %d: not an intfa_format (0..1)", (int)v->qk_format);
    if (!is_attention(v->kind)) return INTFA_OK;
    if (v->block_m < 0)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "block_m = %d: negative", v->block_m);
    if (v->block_n < 0)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "block_n = %d: negative", v->block_n);
    if (v->stages < 0)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "stages = %d: negative", v->stages);
    if (v->causal != 0 && v->causal != 1)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "causal = %d: must be 0 or 1", v->causal);
    if (v->kind == INTFA_KIND_ATTN_FWD && (unsigned)v->p_quant > INTFA_PQ_F16)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT,
                          "p_quant = %d: not an intfa_p_quant (0..2)", (int)v->p_quant);
    return INTFA_OK;
}

/* UNSUPPORTED when the attention variant's shared memory exceeds its arch's opt-in limit. */
static intfa_status check_smem(const intfa_variant *v)
{
    const long long smem = intfa_variant_smem_bytes(v);
    if (smem > arch_smem[v->arch])
        return intfa_fail(INTFA_ERR_UNSUPPORTED,
                          "shared memory: %lld bytes (block_m %d, block_n %d, head_dim %d, "
                          "stages %d) exceed the %s limit of %lld bytes per block",
                          smem, v->block_m, v->block_n, v->head_dim, v->stages,
                          arch_names[v->arch], arch_smem[v->arch]);
    return INTFA_OK;
}

/* The warp-specialized sm_90a kernel (templates/attn_fwd_ws.cu): one producer warpgroup and
 * one or two 64-row consumer warpgroups; K/V^T rows of block_n bytes use the 64- or 128-byte
 * swizzle; an mbarrier ring of 2 to 4 stages; consumers hold at most 240 registers. */
static intfa_status check_ws(const intfa_variant *v)
{
    if (v->block_n != 64 && v->block_n != 128)
        return intfa_fail(INTFA_ERR_UNSUPPORTED,
                          "block_n = %d: the warp-specialized kernel takes 64 or 128", v->block_n);
    if (v->stages < 2 || v->stages > 4)
        return intfa_fail(INTFA_ERR_UNSUPPORTED,
                          "stages = %d: the warp-specialized kernel takes 2 to 4", v->stages);
    intfa_status st = check_smem(v);
    if (st != INTFA_OK) return st;
    const long long regs = intfa_variant_reg_estimate(v);
    if (regs > 240)
        return intfa_fail(INTFA_ERR_UNSUPPORTED,
                          "register estimate %lld per consumer thread (block_n %d, head_dim %d) "
                          "exceeds the 240 of the warp-specialized kernel",
                          regs, v->block_n, v->head_dim);
    return INTFA_OK;
}

intfa_status intfa_variant_check(const intfa_variant *v)
{
    if (!v) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "variant is NULL");
    intfa_status st = check_fields(v);
    if (st != INTFA_OK) return st;
    if (!intfa_head_dim_ok(v->head_dim))
        return intfa_fail(INTFA_ERR_UNSUPPORTED,
                          "head_dim = %d: supported are multiples of 16 from 32 to 256", v->head_dim);
    if (!intfa_head_dim_classic(v->head_dim)) {
        const char *family = v->kind == INTFA_KIND_KV_CACHE ? "the paged KV cache (kv_cache)"
                             : v->kind == INTFA_KIND_ATTN_FWD_FP16 ? "the FP16 baseline (attn_fp16)"
                             : has_qk_format(v->kind) && v->qk_format == INTFA_FMT_INT4 ? "INT4 Q/K"
                             : v->kind == INTFA_KIND_ATTN_FWD && v->p_quant == INTFA_PQ_F16 ? "pf16 (16-bit P.V)"
                             : intfa_variant_uses_ws(v) ? "the warp-specialized kernel"
                             : NULL;
        if (family)
            return intfa_fail(INTFA_ERR_UNSUPPORTED, "head_dim = %d: %s takes 64 and 128", v->head_dim,
                              family);
    }

    if (v->kind == INTFA_KIND_KV_CACHE) {
        if (v->warps != 2 && v->warps != 4)
            return intfa_fail(INTFA_ERR_UNSUPPORTED,
                              "warps = %d: kv_cache kernels take 2 or 4 warps (their warp merge "
                              "fits 48 KB of shared memory)", v->warps);
        return INTFA_OK;
    }
    if (!is_attention(v->kind)) {
        if (v->warps != 1 && v->warps != 2 && v->warps != 4 && v->warps != 8)
            return intfa_fail(INTFA_ERR_UNSUPPORTED,
                              "warps = %d: %s kernels take 1, 2, 4 or 8 warps", v->warps,
                              kind_names[v->kind]);
        return INTFA_OK;
    }

    if (v->kind == INTFA_KIND_ATTN_FWD_FP16 && v->dtype != INTFA_DTYPE_FP16)
        return intfa_fail(INTFA_ERR_UNSUPPORTED,
                          "dtype = bf16: the FP16 attention baseline (attn_fp16) is fp16 only");
    if (v->kind == INTFA_KIND_ATTN_FWD && v->p_quant == INTFA_PQ_F16) {
        if (v->warps != 4 || !intfa_variant_uses_wgmma(v)) /* warps first: no 16 * warps overflow */
            return intfa_fail(INTFA_ERR_UNSUPPORTED,
                              "p_quant = pf16: 16-bit P.V runs on the sm_90a wgmma kernel only "
                              "(INT8 Q/K, warps 4, block_m 64)");
        if (v->stages != 2)
            return intfa_fail(INTFA_ERR_UNSUPPORTED,
                              "stages = %d: the pf16 kernel keeps two K and two V stages", v->stages);
        if (v->block_n != 64 && v->block_n != 128)
            return intfa_fail(INTFA_ERR_UNSUPPORTED, "block_n = %d: pf16 takes 64 or 128",
                              v->block_n);
    }
    if (intfa_variant_uses_ws(v)) return check_ws(v);
    if (v->warps != 4 && v->warps != 8)
        return intfa_fail(INTFA_ERR_UNSUPPORTED,
                          "warps = %d: attention takes 4 or 8 warps (on sm_90a INT8 also 8 or "
                          "12 with block_m = 16 * (warps - 4): the warp-specialized kernel)",
                          v->warps);
    if (v->block_m != 16 * v->warps && v->block_m != 32 * v->warps)
        return intfa_fail(INTFA_ERR_UNSUPPORTED,
                          "block_m = %d with warps = %d: each warp owns 16 query rows (or 32), so "
                          "block_m must be %d or twice that",
                          v->block_m, v->warps, 16 * v->warps);
    if (v->block_n != 32 && v->block_n != 64 && v->block_n != 128)
        return intfa_fail(INTFA_ERR_UNSUPPORTED, "block_n = %d: supported are 32, 64 and 128",
                          v->block_n);
    if (v->stages < 1 || v->stages > 4)
        return intfa_fail(INTFA_ERR_UNSUPPORTED, "stages = %d: supported are 1 to 4",
                          v->stages);
    st = check_smem(v);
    if (st != INTFA_OK) return st;
    long long regs = intfa_variant_reg_estimate(v);
    if (regs > REG_LIMIT)
        return intfa_fail(INTFA_ERR_UNSUPPORTED,
                          "register estimate %lld per thread (block_n %d, head_dim %d) "
                          "exceeds %d",
                          regs, v->block_n, v->head_dim, REG_LIMIT);
    return INTFA_OK;
}

intfa_status intfa_variant_name(const intfa_variant *v, char *buf, size_t cap)
{
    if (!v) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "variant is NULL");
    if (!buf) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "name buffer is NULL");
    intfa_status st = check_fields(v);
    if (st != INTFA_OK) return st;

    char tmp[4 * INTFA_VARIANT_NAME_MAX];
    const char *arch = arch_short[v->arch];
    const char *fmt = v->qk_format == INTFA_FMT_INT4 ? "int4" : "int8";
    const char *dt = v->dtype == INTFA_DTYPE_BF16 ? "bf16" : "fp16";
    int n;
    switch (v->kind) {
    case INTFA_KIND_ATTN_FWD:
        n = snprintf(tmp, sizeof tmp, "attn_fwd-%s-d%d-%s-%s-%s-%s-m%dn%dw%ds%d", arch,
                     v->head_dim, fmt, dt, v->causal ? "causal" : "full",
                     intfa_p_quant_name(v->p_quant), v->block_m, v->block_n,
                     v->warps, v->stages);
        break;
    case INTFA_KIND_ATTN_FWD_FP16:
        n = snprintf(tmp, sizeof tmp, "attn_fp16-%s-d%d-%s-%s-m%dn%dw%ds%d", arch, v->head_dim,
                     dt, v->causal ? "causal" : "full", v->block_m, v->block_n, v->warps,
                     v->stages);
        break;
    case INTFA_KIND_QUANT_QK:
        n = snprintf(tmp, sizeof tmp, "quant_qk-%s-d%d-%s-%s-w%d", arch, v->head_dim, fmt, dt,
                     v->warps);
        break;
    case INTFA_KIND_KV_CACHE:
        n = snprintf(tmp, sizeof tmp, "kv_cache-%s-d%d-%s-w%d", arch, v->head_dim, dt, v->warps);
        break;
    default:
        n = snprintf(tmp, sizeof tmp, "quant_v-%s-d%d-%s-w%d", arch, v->head_dim, dt, v->warps);
        break;
    }
    if (n < 0 || (size_t)n >= sizeof tmp)
        return intfa_fail(INTFA_ERR_INTERNAL, "variant name longer than %zu", sizeof tmp);
    if ((size_t)n >= cap)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT,
                          "cap = %zu: the name \"%s\" needs %d bytes", cap, tmp, n + 1);
    memcpy(buf, tmp, (size_t)n + 1);
    return INTFA_OK;
}

/* ------------------------------------------------------------------ parse */

/* A view of one '-' separated field of a name. */
typedef struct token {
    const char *s;
    size_t n;
} token;

static int tok_is(token t, const char *word)
{
    return strlen(word) == t.n && memcmp(t.s, word, t.n) == 0;
}

/* Parses a decimal number at *p (within end): no sign, no leading zero, at most INT_MAX.
 * Returns 0 and advances *p, or -1. */
static int parse_num(const char **p, const char *end, int *out)
{
    const char *s = *p;
    if (s >= end || *s < '0' || *s > '9') return -1;
    if (*s == '0' && s + 1 < end && s[1] >= '0' && s[1] <= '9') return -1;
    long long x = 0;
    while (s < end && *s >= '0' && *s <= '9') {
        x = x * 10 + (*s - '0');
        if (x > INT_MAX) return -1;
        s++;
    }
    *p = s;
    *out = (int)x;
    return 0;
}

/* A field made of letter-number pairs, e.g. "d128" or "m128n64w8s2": letters[i] then a
 * number into vals[i]; the whole token must be consumed. */
static int parse_pairs(token t, const char *letters, int *vals)
{
    const char *p = t.s, *end = t.s + t.n;
    for (size_t i = 0; letters[i]; i++) {
        if (p >= end || *p != letters[i]) return -1;
        p++;
        if (parse_num(&p, end, &vals[i]) != 0) return -1;
    }
    return p == end ? 0 : -1;
}

static intfa_status bad_field(const char *name, const char *what, token t)
{
    return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "variant name \"%s\": bad %s field \"%.*s\"",
                      name, what, (int)t.n, t.s);
}

intfa_status intfa_variant_parse(const char *name, intfa_variant *out)
{
    if (!name) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "variant name is NULL");
    if (!out) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "variant output pointer is NULL");
    size_t len = strlen(name);
    if (len == 0 || len >= INTFA_VARIANT_NAME_MAX)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT,
                          "variant name \"%.*s\": length %zu is not 1..%d", 160, name, len,
                          INTFA_VARIANT_NAME_MAX - 1);

    enum { MAXTOK = 8 };
    token tok[MAXTOK + 1];
    size_t ntok = 0;
    for (const char *p = name;;) {
        const char *dash = strchr(p, '-');
        size_t n = dash ? (size_t)(dash - p) : strlen(p);
        if (ntok == MAXTOK + 1) break;
        tok[ntok++] = (token){p, n};
        if (!dash) break;
        p = dash + 1;
    }
    for (size_t i = 0; i < ntok; i++)
        if (tok[i].n == 0)
            return intfa_fail(INTFA_ERR_INVALID_ARGUMENT,
                              "variant name \"%s\": empty field %zu", name, i + 1);

    intfa_variant v;
    memset(&v, 0, sizeof v);
    size_t want;
    if (tok_is(tok[0], "attn_fwd")) {
        v.kind = INTFA_KIND_ATTN_FWD;
        want = 8;
    } else if (tok_is(tok[0], "quant_qk")) {
        v.kind = INTFA_KIND_QUANT_QK;
        want = 6;
    } else if (tok_is(tok[0], "quant_v")) {
        v.kind = INTFA_KIND_QUANT_V;
        want = 5;
    } else if (tok_is(tok[0], "attn_fp16")) {
        v.kind = INTFA_KIND_ATTN_FWD_FP16;
        want = 6;
    } else if (tok_is(tok[0], "kv_cache")) {
        v.kind = INTFA_KIND_KV_CACHE;
        want = 5;
    } else {
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT,
                          "variant name \"%s\": unknown kind \"%.*s\" (attn_fwd, quant_qk, "
                          "quant_v, attn_fp16, kv_cache)",
                          name, (int)tok[0].n, tok[0].s);
    }
    if (ntok > want) {
        token t = tok[want];
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT,
                          "variant name \"%s\": unexpected \"%s\" after the last field of %s",
                          name, t.s, kind_names[v.kind]);
    }
    if (ntok < want)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT,
                          "variant name \"%s\": %zu fields, %s names have %zu", name, ntok,
                          kind_names[v.kind], want);

    size_t i = 1;
    int a;
    for (a = 0; a < INTFA_ARCH_COUNT; a++)
        if (tok_is(tok[i], arch_short[a])) break;
    if (a == INTFA_ARCH_COUNT)
        return bad_field(name, "arch (sm80 sm86 sm89 sm90 sm90a)", tok[i]);
    v.arch = (intfa_arch)a;
    i++;

    if (parse_pairs(tok[i], "d", &v.head_dim) != 0) return bad_field(name, "head_dim", tok[i]);
    i++;

    if (has_qk_format(v.kind)) {
        if (tok_is(tok[i], "int8"))
            v.qk_format = INTFA_FMT_INT8;
        else if (tok_is(tok[i], "int4"))
            v.qk_format = INTFA_FMT_INT4;
        else
            return bad_field(name, "format (int8 int4)", tok[i]);
        i++;
    }

    if (tok_is(tok[i], "fp16"))
        v.dtype = INTFA_DTYPE_FP16;
    else if (tok_is(tok[i], "bf16"))
        v.dtype = INTFA_DTYPE_BF16;
    else
        return bad_field(name, "dtype (fp16 bf16)", tok[i]);
    i++;

    if (is_attention(v.kind)) {
        if (tok_is(tok[i], "causal"))
            v.causal = 1;
        else if (tok_is(tok[i], "full"))
            v.causal = 0;
        else
            return bad_field(name, "mask (causal full)", tok[i]);
        i++;
    }
    if (v.kind == INTFA_KIND_ATTN_FWD) {
        if (tok_is(tok[i], "pu8"))
            v.p_quant = INTFA_PQ_U8_ROW;
        else if (tok_is(tok[i], "ps8"))
            v.p_quant = INTFA_PQ_S8_127;
        else if (tok_is(tok[i], "pf16"))
            v.p_quant = INTFA_PQ_F16;
        else
            return bad_field(name, "p_quant (pu8 ps8 pf16)", tok[i]);
        i++;
    }
    if (is_attention(v.kind)) {
        int t[4];
        if (parse_pairs(tok[i], "mnws", t) != 0)
            return bad_field(name, "tile (m<block_m>n<block_n>w<warps>s<stages>)", tok[i]);
        v.block_m = t[0];
        v.block_n = t[1];
        v.warps = t[2];
        v.stages = t[3];
    } else {
        if (parse_pairs(tok[i], "w", &v.warps) != 0) return bad_field(name, "warps", tok[i]);
    }
    *out = v;
    return INTFA_OK;
}

/* ------------------------------------------------------------------ defaults */

intfa_status intfa_variant_default(intfa_kind kind, intfa_arch arch, int head_dim,
                                   intfa_format fmt, int causal, intfa_dtype dtype,
                                   intfa_p_quant pq, intfa_variant *out)
{
    if (!out) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "variant output pointer is NULL");
    intfa_variant v;
    memset(&v, 0, sizeof v);
    v.kind = kind;
    v.arch = arch;
    v.head_dim = head_dim;
    v.dtype = dtype;
    if (is_attention(kind)) {
        if (kind == INTFA_KIND_ATTN_FWD) {
            v.qk_format = fmt;
            v.p_quant = pq;
        }
        v.causal = causal;
        /* The INT8 kernel's measured best on an H200 (docs/PERF_NOTES.md), which also fit
         * the 99 KB parts: hd128 gives each of 4 warps two m16 row tiles (m128n64w4); hd64
         * one tile and 128 keys per tile (m64n128w4). The FP16 baseline takes the same block
         * tiles; at hd128 it splits the 128 rows over 8 warps, because two fp16 row tiles per
         * warp exceed 255 registers (spills). */
        v.warps = kind == INTFA_KIND_ATTN_FWD_FP16 && head_dim == 128 ? 8 : 4;
        v.block_m = head_dim == 128 ? 128 : 64;
        v.block_n = head_dim == 128 ? 64 : 128;
        v.stages = 2;
        /* the other head dims (docs/ALGORITHM.md, "Head dims"): up to 64 as hd64; up to 128 as
         * hd128; past 128 one row tile per warp and 64-key tiles (O alone is head_dim / 2
         * registers) */
        if (head_dim > 64 && head_dim < 128) {
            v.block_m = 128;
            v.block_n = 64;
        } else if (head_dim > 128) {
            v.block_m = 64;
            v.block_n = head_dim > 192 ? 32 : 64; /* mma.sync at 224/256: 64 keys spill 400 B */
        }
        /* sm_90a, INT8: the wgmma kernel, 64 rows per block (one warpgroup, three blocks per
         * SM) and 128 keys per tile at hd64 and hd128 (docs/PERF_NOTES.md, "wgmma"). */
        if (kind == INTFA_KIND_ATTN_FWD && arch == INTFA_ARCH_SM90A && fmt == INTFA_FMT_INT8) {
            const int hd_pad = intfa_head_dim_padded(head_dim);
            v.block_m = 64;
            v.block_n = hd_pad > 128 ? 64 : 128;
            /* pf16 at hd64: 64-key tiles keep three blocks per SM without spills (H100:
             * 4-17% faster than 128, docs/PERF_NOTES.md "pf16") */
            if (pq == INTFA_PQ_F16 && head_dim == 64) v.block_n = 64;
            /* pu8/ps8 past 128: the fastest of every valid tile in the H200 sweep (N = 16k,
             * docs/RESULTS.md session 10). 128-key tiles at 192 (+27% / +18% over 64 keys,
             * full / causal) and at 160 causal (+7%; full is 2% slower, so it keeps 64). Past
             * 192 a block of two 64-row warpgroups (m128n128w8: the wgmma kernel with
             * block_m = 16 warps, not the warp-specialized m64n*w8) is 15-23% faster, while
             * one warpgroup with 128 keys is 5-16% slower than with 64 there. */
            if (pq != INTFA_PQ_F16 && hd_pad > 128) {
                v.block_n = hd_pad > 160 || causal ? 128 : 64;
                if (hd_pad > 192) {
                    v.block_m = 128;
                    v.warps = 8;
                }
            }
        }
    } else {
        if (kind == INTFA_KIND_QUANT_QK) v.qk_format = fmt;
        v.warps = 4;
    }
    intfa_status st = intfa_variant_check(&v);
    if (st != INTFA_OK) return intfa_fail_wrap(st, "no default variant");
    *out = v;
    return INTFA_OK;
}

intfa_status intfa_variant_default_set(intfa_arch arch, intfa_variant *out, size_t cap,
                                       size_t *count)
{
    if (!count) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "count pointer is NULL");
    if (!out && cap > 0)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "out is NULL with cap = %zu", cap);
    if ((unsigned)arch >= INTFA_ARCH_COUNT)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "arch = %d: not an intfa_arch (0..%d)",
                          (int)arch, INTFA_ARCH_COUNT - 1);

    static const int dims[2] = {64, 128};
    static const intfa_dtype dtypes[2] = {INTFA_DTYPE_FP16, INTFA_DTYPE_BF16};
    intfa_variant set[48];
    size_t n = 0;
    intfa_status st = INTFA_OK;
    /* attention, pu8: head_dim x causal x dtype */
    for (int d = 0; d < 2; d++)
        for (int c = 0; c < 2 && st == INTFA_OK; c++)
            for (int t = 0; t < 2 && st == INTFA_OK; t++)
                st = intfa_variant_default(INTFA_KIND_ATTN_FWD, arch, dims[d], INTFA_FMT_INT8, c,
                                           dtypes[t], INTFA_PQ_U8_ROW, &set[n++]);
    /* attention, ps8: head_dim x causal, fp16 */
    for (int d = 0; d < 2; d++)
        for (int c = 0; c < 2 && st == INTFA_OK; c++)
            st = intfa_variant_default(INTFA_KIND_ATTN_FWD, arch, dims[d], INTFA_FMT_INT8, c,
                                       INTFA_DTYPE_FP16, INTFA_PQ_S8_127, &set[n++]);
    /* the FP16 baseline (intfa-bench): head_dim x causal */
    for (int d = 0; d < 2; d++)
        for (int c = 0; c < 2 && st == INTFA_OK; c++)
            st = intfa_variant_default(INTFA_KIND_ATTN_FWD_FP16, arch, dims[d], INTFA_FMT_INT8, c,
                                       INTFA_DTYPE_FP16, INTFA_PQ_U8_ROW, &set[n++]);
    /* quantization: head_dim x dtype */
    for (int k = INTFA_KIND_QUANT_QK; k <= INTFA_KIND_QUANT_V; k++)
        for (int d = 0; d < 2; d++)
            for (int t = 0; t < 2 && st == INTFA_OK; t++)
                st = intfa_variant_default((intfa_kind)k, arch, dims[d], INTFA_FMT_INT8, 0,
                                           dtypes[t], INTFA_PQ_U8_ROW, &set[n++]);
    /* INT4 Q/K (after the INT8 set, whose order stays): attention pu8 fp16, head_dim x causal;
     * its quantization, head_dim x dtype */
    for (int d = 0; d < 2; d++)
        for (int c = 0; c < 2 && st == INTFA_OK; c++)
            st = intfa_variant_default(INTFA_KIND_ATTN_FWD, arch, dims[d], INTFA_FMT_INT4, c,
                                       INTFA_DTYPE_FP16, INTFA_PQ_U8_ROW, &set[n++]);
    for (int d = 0; d < 2; d++)
        for (int t = 0; t < 2 && st == INTFA_OK; t++)
            st = intfa_variant_default(INTFA_KIND_QUANT_QK, arch, dims[d], INTFA_FMT_INT4, 0,
                                       dtypes[t], INTFA_PQ_U8_ROW, &set[n++]);
    /* the paged KV cache (append, decode, combine): head_dim x dtype */
    for (int d = 0; d < 2; d++)
        for (int t = 0; t < 2 && st == INTFA_OK; t++)
            st = intfa_variant_default(INTFA_KIND_KV_CACHE, arch, dims[d], INTFA_FMT_INT8, 0,
                                       dtypes[t], INTFA_PQ_U8_ROW, &set[n++]);
    if (st != INTFA_OK)
        return intfa_fail_wrap(INTFA_ERR_INTERNAL, "default set of %s", arch_names[arch]);
    for (size_t i = 0; i < n && i < cap; i++) out[i] = set[i];
    *count = n;
    return INTFA_OK;
}
