/* render.h - variant -> CUDA source: the template a kind uses, and the variant facts that
 * templates and the launcher share (shared memory bytes, register estimate, arch numbers).
 *
 * intfa_variant_render itself is public (intfa.h); it checks the variant, loads the kind's
 * template (template.h) and expands it with these variables, all always present:
 *   v.kind     string  "attn_fwd" | "quant_qk" | "quant_v"
 *   v.name     string  canonical name, e.g. "attn_fwd-sm90a-d128-int8-fp16-causal-pu8-m128n64w8s2"
 *   v.arch     int     80 | 86 | 89 | 90        v.arch_a  bool  true for sm_90a
 *   v.head_dim, v.block_m, v.block_n, v.warps, v.stages   ints (0 where a kind has no such field)
 *   v.int4     bool    Q/K in INT4              v.causal  bool
 *   v.dtype    string  "fp16" | "bf16"          v.p_quant string "u8row" | "s8_127" | "f16"
 *   v.smem_bytes int   dynamic shared memory of the kernel (intfa_variant_smem_bytes; 0 for
 *                      the quantization kinds)
 * The rendered source begins with the line "// intfa <name>".
 */
#ifndef INTFA_RENDER_H
#define INTFA_RENDER_H

#include "intfa.h"

/* Template file of a kind: "attn_fwd.cu", "quant_qk.cu", "quant_v.cu"; NULL if out of range. */
const char *intfa_variant_template_name(intfa_kind kind);

/* Template file of a variant: its kind's, except "attn_fwd_wg.cu" for the wgmma variants,
 * "attn_fwd_ws.cu" for the warp-specialized ones and "attn_fwd_wg16.cu" for pf16. */
const char *intfa_variant_template(const intfa_variant *v);

/* --- defined in variant.c; arguments are assumed in range (checked variants) --- */

/* "attn_fwd", "quant_qk", "quant_v"; NULL if out of range. */
const char *intfa_kind_name(intfa_kind kind);

/* "pu8", "ps8", "pf16" (the variant-name tokens); "p?" if out of range. */
const char *intfa_p_quant_name(intfa_p_quant pq);

/* 80, 86, 89, 90 (sm_90 and sm_90a); 0 if out of range. */
int intfa_arch_sm(intfa_arch arch);

/* Opt-in shared memory per block of an arch, in bytes; 0 if out of range. */
long long intfa_arch_smem_limit(intfa_arch arch);

/* 1 for the INT8 attention variants that run on wgmma: target sm_90a, INT8 Q/K, one m16 row
 * tile per warp (block_m = 16 * warps, so each 4-warp warpgroup owns 64 rows). The same tile on
 * sm_90, and every two-tile (block_m = 32 * warps) or INT4 variant, runs on mma.sync. */
int intfa_variant_uses_wgmma(const intfa_variant *v);

/* 1 for the wgmma kernels (8-bit P) whose K, V^T and key scales are copied by TMA: every head
 * dim that is a multiple of 32 (templates/attn_fwd_wg.cu, KV_TMA; their parameters are
 * intfa_attn_wg_tma_params), unless INTFA_KV_TMA=0 (the cp.async ring, kept for A/B timing).
 * Precompiled tables are built and used only with it on. */
int intfa_variant_uses_kv_tma(const intfa_variant *v);

/* 1 unless INTFA_KV_TMA=0 now: the kernels a precompiled table holds (read on every call,
 * unlike intfa_variant_uses_kv_tma's cached value). */
int intfa_kv_tma_env_default(void);

/* 1 when a and b name the same kernel (every field equal). */
int intfa_variant_same(const intfa_variant *a, const intfa_variant *b);

/* 1 for the warp-specialized sm_90a INT8 kernel (templates/attn_fwd_ws.cu): warps = 8 or 12
 * (one producer warpgroup, then one or two consumer warpgroups of 64 rows each), block_m =
 * 16 * (warps - 4). */
int intfa_variant_uses_ws(const intfa_variant *v);

/* Dynamic shared memory of an attention variant: the Q tile plus, per stage, the K tile, the
 * V^T tile and the K scales (block_m*d + stages*(2*block_n*d + 4*block_n)), plus 1024 bytes on
 * the wgmma path (its tiles start on 1024-byte boundaries); pf16 keeps V tiles in 16 bits
 * (block_m*d + stages*(3*block_n*d + 4*block_n) + 1024). 0 for other kinds. */
long long intfa_variant_smem_bytes(const intfa_variant *v);

/* Head dims of the INT8 attention kernels (mma.sync and wgmma) and of the quantization kernels:
 * multiples of 16 from 32 to 256 (docs/ALGORITHM.md, "Head dims"). The other families (INT4 Q/K,
 * pf16, the warp-specialized kernel, the FP16 baseline, the paged KV cache) take 64 and 128. */
int intfa_head_dim_ok(long long d);
int intfa_head_dim_classic(long long d);

/* The head dim the attention kernels compute with: d rounded up to a multiple of 32 (one k32
 * step of the tensor cores); Q/K columns and V^T rows past d are zeros in shared memory. */
int intfa_head_dim_padded(int d);

/* Estimated 32-bit registers per thread of an attention variant: block_n/2 (S accumulator) +
 * head_dim/2 (O accumulator) + head_dim/8 (Q fragments) + 16 (P.V chunk) + 48 (addresses,
 * softmax state). 0 for other kinds. */
long long intfa_variant_reg_estimate(const intfa_variant *v);

#endif
