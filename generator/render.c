/* render.c - variant -> CUDA source: check it, load its kind's template, expand it with the
 * variant's fields (render.h lists the variables). */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "render.h"
#include "template.h"

const char *intfa_variant_template_name(intfa_kind kind)
{
    switch (kind) {
    case INTFA_KIND_ATTN_FWD: return "attn_fwd.cu";
    case INTFA_KIND_QUANT_QK: return "quant_qk.cu";
    case INTFA_KIND_QUANT_V: return "quant_v.cu";
    case INTFA_KIND_ATTN_FWD_FP16: return "attn_fwd_fp16.cu";
    case INTFA_KIND_KV_CACHE: return "kv_cache.cu";
    default: return NULL;
    }
}

const char *intfa_variant_template(const intfa_variant *v)
{
    if (intfa_variant_uses_ws(v)) return "attn_fwd_ws.cu";
    if (v->kind == INTFA_KIND_ATTN_FWD && v->p_quant == INTFA_PQ_F16) return "attn_fwd_wg16.cu";
    return intfa_variant_uses_wgmma(v) ? "attn_fwd_wg.cu" : intfa_variant_template_name(v->kind);
}

static int int4_native_test(void)
{
    const char *e = getenv("INTFA_INT4_NATIVE_TEST");
    return e && e[0] == '1';
}

intfa_status intfa_variant_render(const intfa_variant *v, char **source)
{
    if (!v) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "variant is NULL");
    if (!source) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "source pointer is NULL");
    intfa_status st = intfa_variant_check(v);
    if (st != INTFA_OK) return st;
    char name[INTFA_VARIANT_NAME_MAX];
    st = intfa_variant_name(v, name, sizeof name);
    if (st != INTFA_OK) return st;

    /* Fields a kind does not have render as 0 / false / the first enum value. */
    const int attn = v->kind == INTFA_KIND_ATTN_FWD || v->kind == INTFA_KIND_ATTN_FWD_FP16;
    const int qk_format = v->kind == INTFA_KIND_ATTN_FWD || v->kind == INTFA_KIND_QUANT_QK;
    const intfa_tvar vars[] = {
        {"kind", INTFA_TV_STRING, intfa_kind_name(v->kind), 0},
        {"name", INTFA_TV_STRING, name, 0},
        {"arch", INTFA_TV_INT, NULL, intfa_arch_sm(v->arch)},
        {"arch_a", INTFA_TV_BOOL, NULL, v->arch == INTFA_ARCH_SM90A},
        {"head_dim", INTFA_TV_INT, NULL, v->head_dim},
        {"block_m", INTFA_TV_INT, NULL, attn ? v->block_m : 0},
        {"block_n", INTFA_TV_INT, NULL, attn ? v->block_n : 0},
        {"warps", INTFA_TV_INT, NULL, v->warps},
        {"stages", INTFA_TV_INT, NULL, attn ? v->stages : 0},
        {"int4", INTFA_TV_BOOL, NULL, qk_format && v->qk_format == INTFA_FMT_INT4},
        {"causal", INTFA_TV_BOOL, NULL, attn && v->causal},
        {"dtype", INTFA_TV_STRING, v->dtype == INTFA_DTYPE_BF16 ? "bf16" : "fp16", 0},
        {"p_quant", INTFA_TV_STRING,
         v->kind != INTFA_KIND_ATTN_FWD ? "u8row"
         : v->p_quant == INTFA_PQ_S8_127 ? "s8_127"
         : v->p_quant == INTFA_PQ_F16    ? "f16"
                                         : "u8row",
         0},
        {"smem_bytes", INTFA_TV_INT, NULL, intfa_variant_smem_bytes(v)},
        /* Test-only: INTFA_INT4_NATIVE_TEST=1 renders the native s4 tensor-core path (the one for
         * sm_80/86/89) on sm_90 too, where INT4 mma.sync is emulated but runs, so that path can
         * be checked on Hopper. It changes the source, hence the cache key. */
        {"int4_native_test", INTFA_TV_BOOL, NULL, int4_native_test()},
        /* K/V by TMA in the one-warpgroup wgmma kernel (intfa_variant_uses_kv_tma: every
         * head dim that is a multiple of 32 unless INTFA_KV_TMA=0). It
         * changes the source and the kernel's parameters together. */
        {"kv_tma", INTFA_TV_BOOL, NULL, intfa_variant_uses_kv_tma(v)},
    };

    const char *tname = intfa_variant_template(v);
    char *text = NULL, *origin = NULL, *body = NULL;
    size_t size = 0;
    st = intfa_template_load(tname, &text, &size, &origin);
    if (st != INTFA_OK) return intfa_fail_wrap(st, "rendering %s", name);
    st = intfa_template_expand(text, size, origin, vars, sizeof vars / sizeof vars[0], &body);
    free(text);
    free(origin);
    if (st != INTFA_OK) return intfa_fail_wrap(st, "rendering %s", name);

    /* "// intfa <name>\n" + body */
    size_t hlen = strlen("// intfa \n") + strlen(name), blen = strlen(body);
    char *src = malloc(hlen + blen + 1);
    if (!src) {
        free(body);
        return intfa_fail(INTFA_ERR_OUT_OF_MEMORY, "rendering %s: %zu bytes", name,
                          hlen + blen + 1);
    }
    memcpy(src, "// intfa ", 9);
    memcpy(src + 9, name, strlen(name));
    src[hlen - 1] = '\n';
    memcpy(src + hlen, body, blen + 1);
    free(body);
    *source = src;
    return INTFA_OK;
}
