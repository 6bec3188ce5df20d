/* tune_space.c - candidate enumeration and pruning (see tune_space.h). */
#include <string.h>

#include "error.h"
#include "tune_space.h"

static int same_tile(const intfa_variant *a, const intfa_variant *b)
{
    return a->block_m == b->block_m && a->block_n == b->block_n && a->warps == b->warps &&
           a->stages == b->stages;
}

intfa_status intfa_tune_candidates(const intfa_tune_class *c, intfa_arch arch, intfa_variant *out,
                                   size_t cap, size_t *count, size_t *pruned)
{
    intfa_status st = intfa_tune_class_check(c);
    if (st != INTFA_OK) return st;
    if ((unsigned)arch >= INTFA_ARCH_COUNT)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "candidates: arch = %d: not an intfa_arch", (int)arch);
    if (!out || !count)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "candidates: %s is NULL", !out ? "out" : "count");
    if (cap < INTFA_TUNE_MAX_CANDIDATES)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "candidates: cap = %zu, need %d", cap,
                          INTFA_TUNE_MAX_CANDIDATES);

    intfa_variant list[INTFA_TUNE_MAX_CANDIDATES];
    size_t n = 0, rejected = 0;
    intfa_variant def;
    int have_default = intfa_variant_default(INTFA_KIND_ATTN_FWD, arch, c->head_dim, c->qk_format,
                                             c->causal, c->dtype, c->p_quant, &def) == INTFA_OK;
    if (have_default) list[n++] = def;
    /* (block_m, warps): one m16 row tile per warp with 4 or 8 warps, or two with 4 warps */
    static const int mw[3][2] = {{64, 4}, {128, 4}, {128, 8}};
    static const int block_n[3] = {32, 64, 128};
    /* sm_90a INT8 also: the warp-specialized kernel, one or two consumer warpgroups (block_m 64
     * with 8 warps, 128 with 12), 64 or 128 keys per tile, 2 to 4 stages */
    static const int ws_mw[2][2] = {{128, 12}, {64, 8}};
    static const int ws_n[2] = {64, 128};
    const int ws = arch == INTFA_ARCH_SM90A && c->qk_format == INTFA_FMT_INT8;
    for (int g = 0; g < 1 + ws; g++)
        for (int i = 0; i < (g ? 2 : 3); i++)
        for (int j = 0; j < (g ? 2 : 3); j++)
            for (int stages = 1 + g; stages <= 3 + g; stages++) {
                intfa_variant v;
                memset(&v, 0, sizeof v);
                v.kind = INTFA_KIND_ATTN_FWD;
                v.arch = arch;
                v.head_dim = c->head_dim;
                v.qk_format = c->qk_format;
                v.dtype = c->dtype;
                v.causal = c->causal;
                v.p_quant = c->p_quant;
                v.block_m = g ? ws_mw[i][0] : mw[i][0];
                v.warps = g ? ws_mw[i][1] : mw[i][1];
                v.block_n = g ? ws_n[j] : block_n[j];
                v.stages = stages;
                if (have_default && same_tile(&v, &def)) continue;
                if (intfa_variant_check(&v) != INTFA_OK) {
                    rejected++;
                    continue;
                }
                list[n++] = v;
            }
    if (n == 0) {
        char cls[INTFA_TUNE_CLASS_TEXT_MAX];
        intfa_tune_class_format(c, cls, sizeof cls);
        return intfa_fail(INTFA_ERR_UNSUPPORTED, "class %s on %s: no candidate passes the checks "
                          "(%zu rejected)", cls, intfa_arch_name(arch), rejected);
    }
    intfa_clear_error(); /* the rejections' messages are not this call's */
    memcpy(out, list, n * sizeof *out);
    *count = n;
    if (pruned) *pruned = rejected;
    return INTFA_OK;
}
