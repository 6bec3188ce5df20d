/* select.c - the attention variant for a problem: the tuned winner the context's chooser
 * (chooser.h) gives (from the tuning database of this device, tuned first on a context created
 * with INTFA_TUNE_ON_FIRST_USE), else the built-in per-arch default (docs/TUNING.md).
 * $INTFA_ATTN_TILE (e.g. "m64n64w4s2") overrides the tile of whichever variant that gives, for
 * experiments and for tests that cover both kernels on one GPU; a tile the problem's variant
 * cannot take is an error naming it, never a silent fallback. */
#include <stdlib.h>

#include "error.h"
#include "render.h"
#include "select.h"

/* Reads a decimal 1..9999 at *p (digits only: no sign, no space), advancing *p. */
static int tile_number(const char **p, int *out)
{
    int x = 0, n = 0;
    while (**p >= '0' && **p <= '9' && n < 4) {
        x = x * 10 + (**p - '0');
        (*p)++;
        n++;
    }
    *out = x;
    return n > 0 && x > 0 && !(**p >= '0' && **p <= '9');
}

intfa_status intfa_apply_tile_override(const char *tile, intfa_variant *v)
{
    static const char letters[4] = {'m', 'n', 'w', 's'};
    int val[4];
    const char *p = tile;
    int ok = 1;
    for (int i = 0; i < 4 && ok; i++) ok = *p++ == letters[i] && tile_number(&p, &val[i]);
    if (!ok || *p)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT,
                          "INTFA_ATTN_TILE=\"%.64s\": expected m<block_m>n<block_n>w<warps>s<stages> "
                          "(numbers 1..9999), e.g. m64n64w4s2", tile);
    intfa_variant t = *v;
    t.block_m = val[0];
    t.block_n = val[1];
    t.warps = val[2];
    t.stages = val[3];
    intfa_status st = intfa_variant_check(&t);
    if (st != INTFA_OK) return intfa_fail_wrap(st, "INTFA_ATTN_TILE=\"%s\"", tile);
    *v = t;
    return INTFA_OK;
}

intfa_status intfa_select_attention(intfa_context *ctx, const intfa_attn_problem *p,
                                    intfa_variant *out)
{
    intfa_variant v;
    int found = 0;
    intfa_status st = ctx->chooser->choose(ctx, ctx->chooser_state, p, &v, &found);
    if (st == INTFA_OK && !found)
        st = intfa_variant_default(INTFA_KIND_ATTN_FWD, ctx->arch, (int)p->head_dim,
                                   p->qk_format, p->causal, p->dtype, p->p_quant, &v);
    const char *tile = getenv("INTFA_ATTN_TILE");
    if (st == INTFA_OK && tile && tile[0]) st = intfa_apply_tile_override(tile, &v);
    if (st == INTFA_OK) *out = v;
    return st;
}
