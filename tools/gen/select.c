/* select.c - the variants an intfa-gen command works on.
 *
 * The base set: the names of --variants, the winners of --from-tuning-db, and the default set
 * (intfa_variant_default_set) of every target when --default-set is given or neither of the
 * others is. Filters then narrow it: --arch (default sm_80, sm_86, sm_89, sm_90a when the
 * default set is in the base), --kinds, --head-dims, --dtypes, and --formats, --causal,
 * --p-quant for the kinds that have those fields (so "--causal 1" keeps the quantization
 * kernels, which have no mask). The result is sorted by name, each variant once.
 *
 * A tuning database contributes, per section, each class's winner; for an fp16 winner whose
 * bf16 class has no entry, its bf16 twin (contexts run bf16 problems on the fp16 class's tile,
 * tune_state.c); and the quantization kernels those attention variants need (quant_qk and
 * quant_v of their head_dim and dtype), so the drop-in intfa_attention runs without JIT. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"
#include "render.h"
#include "../../tuning/tune_db_file.h"

/* Allowed values of each field, as bit masks (bit i: value i of the field's enum; head dims:
 * bit d / 16 - 2 for head dim d, 32 .. 256). */
typedef struct filters {
    unsigned arch, kind, dim, format, causal, dtype, pq;
} filters;

#define ALL 0xffffffffu

/* A growing list of variants (before sorting). */
typedef struct bag {
    gen_item *items;
    size_t n, cap;
} bag;

static int bag_add(bag *b, const intfa_variant *v)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 64;
        gen_item *grown = realloc(b->items, cap * sizeof *grown);
        if (!grown) {
            fprintf(stderr, "intfa-gen: out of memory\n");
            return 1;
        }
        b->items = grown;
        b->cap = cap;
    }
    gen_item *it = &b->items[b->n];
    it->v = *v;
    if (intfa_variant_name(v, it->name, sizeof it->name) != INTFA_OK) {
        fprintf(stderr, "intfa-gen: %s\n", intfa_last_error());
        return 1;
    }
    b->n++;
    return 0;
}

void gen_list_free(gen_list *l)
{
    if (!l)
        return;
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

/* ------------------------------------------------------------------ lists */

/* The index of tok among words, or -1. */
static int word_index(const char *tok, const char *const *words, int n)
{
    for (int i = 0; i < n; i++)
        if (words[i] && strcmp(tok, words[i]) == 0)
            return i;
    return -1;
}

/* 0 if list is items separated by single commas; else 2 after a message. */
static int check_items(const char *opt, const char *list)
{
    size_t n = strlen(list);
    if (n > 0 && list[0] != ',' && list[n - 1] != ',' && !strstr(list, ",,"))
        return 0;
    fprintf(stderr, "intfa-gen: %s '%s': empty item (a list is items separated by commas)\n",
            opt, list);
    return 2;
}

/* Calls each(opt, item, ctx) for every item of the comma-separated list, until one returns
 * non-zero. 0, or the first non-zero status (2 for an empty item, after a message). */
static int each_item(const char *opt, const char *list,
                     int (*each)(const char *opt, const char *item, void *ctx), void *ctx)
{
    if (check_items(opt, list))
        return 2;
    char *copy = strdup(list);
    if (!copy) {
        fprintf(stderr, "intfa-gen: out of memory\n");
        return 1;
    }
    int rc = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok && !rc; tok = strtok_r(NULL, ",", &save))
        rc = each(opt, tok, ctx);
    free(copy);
    return rc;
}

/* A list of values: the allowed words (NULL: arch names) and the mask being built. */
typedef struct word_list {
    const char *const *words;
    int nwords;
    unsigned mask;
} word_list;

static int add_word(const char *opt, const char *tok, void *ctx)
{
    word_list *w = ctx;
    intfa_arch arch;
    int i = !w->words ? (intfa_arch_parse(tok, &arch) == INTFA_OK ? (int)arch : -1)
                      : word_index(tok, w->words, w->nwords);
    if (i >= 0) {
        w->mask |= 1u << i;
        return 0;
    }
    fprintf(stderr, "intfa-gen: %s: \"%s\" is not one of ", opt, tok);
    if (!w->words)
        fprintf(stderr, "sm_80, sm_86, sm_89, sm_90, sm_90a (also sm90a, 90a)");
    for (int k = 0; w->words && k < w->nwords; k++)
        fprintf(stderr, "%s%s", k ? ", " : "", w->words[k]);
    fprintf(stderr, "\n");
    return 2;
}

/* The comma-separated list of option opt as a mask over words (arch names when words is
 * NULL). 0, or 2 after a message. */
static int parse_list(const char *opt, const char *list, const char *const *words, int nwords,
                      unsigned *mask)
{
    word_list w = {words, nwords, 0};
    int rc = each_item(opt, list, add_word, &w);
    if (rc == 0)
        *mask = w.mask;
    return rc;
}

static int dim_bit(int d) { return intfa_head_dim_ok(d) ? d / 16 - 2 : -1; }

/* One --head-dims item: a head dim the kernels take (a multiple of 16 from 32 to 256). */
static int add_dim(const char *opt, const char *tok, void *ctx)
{
    unsigned *mask = ctx;
    char *end = NULL;
    long d = strtol(tok, &end, 10);
    if (end && *end == '\0' && tok[0] >= '1' && tok[0] <= '9' && dim_bit((int)d) >= 0) {
        *mask |= 1u << dim_bit((int)d);
        return 0;
    }
    fprintf(stderr, "intfa-gen: %s: \"%s\" is not a head dim (multiples of 16 from 32 to 256)\n", opt,
            tok);
    return 2;
}

static int uses_default_set(const gen_selection *s)
{
    return s->default_set || (!s->variants && !s->tuning_db);
}

static int parse_filters(const gen_selection *s, filters *f)
{
    static const char *const formats[] = {"int8", "int4"};
    static const char *const causal[] = {"0", "1"};
    static const char *const dtypes[] = {"fp16", "bf16"};
    static const char *const pqs[] = {"pu8", "ps8"};
    const char *kinds[INTFA_KIND_COUNT];
    for (int k = 0; k < INTFA_KIND_COUNT; k++)
        kinds[k] = intfa_kind_name((intfa_kind)k);
    const char *archs = s->archs ? s->archs : uses_default_set(s) ? GEN_DEFAULT_ARCHS : NULL;
    *f = (filters){ALL, ALL, ALL, ALL, ALL, ALL, ALL};
    int rc = 0;
    if (!rc && archs)
        rc = parse_list("--arch", archs, NULL, INTFA_ARCH_COUNT, &f->arch);
    if (!rc && s->kinds)
        rc = parse_list("--kinds", s->kinds, kinds, INTFA_KIND_COUNT, &f->kind);
    if (!rc && s->head_dims) {
        f->dim = 0;
        rc = each_item("--head-dims", s->head_dims, add_dim, &f->dim);
    }
    if (!rc && s->formats)
        rc = parse_list("--formats", s->formats, formats, 2, &f->format);
    if (!rc && s->causal)
        rc = parse_list("--causal", s->causal, causal, 2, &f->causal);
    if (!rc && s->dtypes)
        rc = parse_list("--dtypes", s->dtypes, dtypes, 2, &f->dtype);
    if (!rc && s->p_quant)
        rc = parse_list("--p-quant", s->p_quant, pqs, 2, &f->pq);
    return rc;
}

static int has(unsigned mask, int value) { return value >= 0 && value < 32 && (mask >> value & 1); }

static int passes(const filters *f, const intfa_variant *v)
{
    int attention = v->kind == INTFA_KIND_ATTN_FWD || v->kind == INTFA_KIND_ATTN_FWD_FP16;
    int has_format = v->kind == INTFA_KIND_ATTN_FWD || v->kind == INTFA_KIND_QUANT_QK;
    return has(f->arch, (int)v->arch) && has(f->kind, (int)v->kind) &&
           has(f->dim, dim_bit(v->head_dim)) &&
           has(f->dtype, (int)v->dtype) && (!has_format || has(f->format, (int)v->qk_format)) &&
           (!attention || has(f->causal, v->causal)) &&
           (v->kind != INTFA_KIND_ATTN_FWD || has(f->pq, (int)v->p_quant));
}

/* ------------------------------------------------------------------ base sets */

/* The default tiles of a head dim outside the default set (64 and 128), for --head-dims: the
 * INT8 attention (pu8 fp16/bf16, ps8 fp16; full and causal) and the quantization kernels the
 * drop-in needs (quant_qk int8 and quant_v, fp16 and bf16). */
static int add_head_dim_set(intfa_arch arch, int d, bag *b)
{
    const intfa_kind kinds[2] = {INTFA_KIND_QUANT_QK, INTFA_KIND_QUANT_V};
    intfa_status st = INTFA_OK;
    for (int c = 0; c < 2; c++)
        for (int t = 0; t < 3 && st == INTFA_OK; t++) {
            intfa_variant v;
            st = intfa_variant_default(INTFA_KIND_ATTN_FWD, arch, d, INTFA_FMT_INT8, c,
                                       t == 1 ? INTFA_DTYPE_BF16 : INTFA_DTYPE_FP16,
                                       t == 2 ? INTFA_PQ_S8_127 : INTFA_PQ_U8_ROW, &v);
            if (st == INTFA_OK && bag_add(b, &v)) return 1;
        }
    for (int k = 0; k < 2; k++)
        for (int t = 0; t < 2 && st == INTFA_OK; t++) {
            intfa_variant v;
            st = intfa_variant_default(kinds[k], arch, d, INTFA_FMT_INT8, 0, (intfa_dtype)t,
                                       INTFA_PQ_U8_ROW, &v);
            if (st == INTFA_OK && bag_add(b, &v)) return 1;
        }
    if (st != INTFA_OK) {
        fprintf(stderr, "intfa-gen: head dim %d on %s: %s\n", d, intfa_arch_name(arch), intfa_last_error());
        return 1;
    }
    return 0;
}

static int add_default_sets(unsigned arch_mask, unsigned dim_mask, bag *b)
{
    for (int a = 0; a < INTFA_ARCH_COUNT; a++) {
        if (!has(arch_mask, a))
            continue;
        intfa_variant set[64];
        size_t count = 0;
        if (intfa_variant_default_set((intfa_arch)a, set, 64, &count) != INTFA_OK ||
            count > 64) {
            fprintf(stderr, "intfa-gen: default set of %s: %s\n", intfa_arch_name((intfa_arch)a),
                    count > 64 ? "more than 64 variants" : intfa_last_error());
            return 1;
        }
        for (size_t i = 0; i < count; i++)
            if (bag_add(b, &set[i]))
                return 1;
        for (int d = 32; d <= 256; d += 16)
            if (!intfa_head_dim_classic(d) && has(dim_mask, dim_bit(d)) && dim_mask != ALL &&
                add_head_dim_set((intfa_arch)a, d, b))
                return 1;
    }
    return 0;
}

static int add_name(const char *opt, const char *tok, void *ctx)
{
    intfa_variant v;
    if (intfa_variant_parse(tok, &v) != INTFA_OK || intfa_variant_check(&v) != INTFA_OK) {
        fprintf(stderr, "intfa-gen: %s %s: %s\n", opt, tok, intfa_last_error());
        return 2;
    }
    return bag_add(ctx, &v);
}

/* The quantization kernels intfa_attention needs next to attention variant v. */
static int add_quantizers(const intfa_variant *v, bag *b)
{
    static const intfa_kind kinds[2] = {INTFA_KIND_QUANT_QK, INTFA_KIND_QUANT_V};
    for (int k = 0; k < 2; k++) {
        intfa_variant q;
        if (intfa_variant_default(kinds[k], v->arch, v->head_dim, v->qk_format, 0, v->dtype,
                                  INTFA_PQ_U8_ROW, &q) != INTFA_OK) {
            fprintf(stderr, "intfa-gen: the %s kernel of %s: %s\n", intfa_kind_name(kinds[k]),
                    intfa_arch_name(v->arch), intfa_last_error());
            return 1;
        }
        if (bag_add(b, &q))
            return 1;
    }
    return 0;
}

static int add_section(const intfa_tune_section *sec, bag *b)
{
    for (size_t i = 0; i < sec->count; i++) {
        const intfa_tune_entry *e = &sec->entries[i];
        if (bag_add(b, &e->winner) || add_quantizers(&e->winner, b))
            return 1;
        intfa_tune_class bf16 = e->cls;
        bf16.dtype = INTFA_DTYPE_BF16;
        if (e->cls.dtype != INTFA_DTYPE_FP16 || intfa_tune_section_find(sec, &bf16))
            continue;
        intfa_variant twin = e->winner;
        twin.dtype = INTFA_DTYPE_BF16;
        if (intfa_variant_check(&twin) != INTFA_OK)
            continue; /* never for now: bf16 changes only the final store */
        if (bag_add(b, &twin) || add_quantizers(&twin, b))
            return 1;
    }
    return 0;
}

static int add_tuning_db(const char *path, bag *b)
{
    intfa_tune_db db;
    int exists = 0;
    if (intfa_tune_db_load(path, &db, &exists) != INTFA_OK) {
        fprintf(stderr, "intfa-gen: --from-tuning-db %s: %s\n", path, intfa_last_error());
        return 2;
    }
    int rc = 0;
    if (!exists) {
        fprintf(stderr, "intfa-gen: --from-tuning-db %s: no such file\n", path);
        rc = 2;
    }
    for (size_t s = 0; s < db.count && !rc; s++)
        rc = add_section(&db.sections[s], b);
    intfa_tune_db_free(&db);
    return rc;
}

/* ------------------------------------------------------------------ the selection */

static int by_name(const void *a, const void *b)
{
    return strcmp(((const gen_item *)a)->name, ((const gen_item *)b)->name);
}

int gen_select(const gen_selection *s, gen_list *out)
{
    filters f;
    int rc = parse_filters(s, &f);
    if (rc)
        return rc;
    bag b = {NULL, 0, 0};
    if (s->variants)
        rc = each_item("--variants", s->variants, add_name, &b);
    if (!rc && s->tuning_db)
        rc = add_tuning_db(s->tuning_db, &b);
    if (!rc && uses_default_set(s))
        rc = add_default_sets(f.arch, f.dim, &b);
    size_t kept = 0;
    for (size_t i = 0; i < b.n && !rc; i++)
        if (passes(&f, &b.items[i].v))
            b.items[kept++] = b.items[i];
    if (!rc && kept > 0) {
        qsort(b.items, kept, sizeof *b.items, by_name);
        size_t unique = 1;
        for (size_t i = 1; i < kept; i++)
            if (strcmp(b.items[i].name, b.items[unique - 1].name) != 0)
                b.items[unique++] = b.items[i];
        kept = unique;
    }
    if (!rc && kept == 0) {
        fprintf(stderr, "intfa-gen: the selection is empty (no variant passes the filters)\n");
        rc = 2;
    }
    if (rc) {
        free(b.items);
        return rc;
    }
    out->items = b.items;
    out->n = kept;
    return 0;
}
