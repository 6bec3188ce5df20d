/* tune_class.c - problem classes: buckets, the mapping from problems, the text form and the
 * representative problem each class is timed on. */
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "render.h"
#include "tune_class.h"

static const char *const bucket_names[INTFA_TUNE_BUCKET_COUNT] = {"kv<=1024", "kv<=4096",
                                                                  "kv>4096"};
static const int64_t bucket_limit[INTFA_TUNE_BUCKET_COUNT - 1] = {1024, 4096};
static const int64_t bucket_timed_seq[INTFA_TUNE_BUCKET_COUNT] = {1024, 4096, 8192};

intfa_tune_bucket intfa_tune_bucket_of(int64_t seq_kv)
{
    for (int b = 0; b < INTFA_TUNE_BUCKET_COUNT - 1; b++)
        if (seq_kv <= bucket_limit[b]) return (intfa_tune_bucket)b;
    return INTFA_TUNE_KV_LONG;
}

const char *intfa_tune_bucket_name(intfa_tune_bucket b)
{
    return (unsigned)b < INTFA_TUNE_BUCKET_COUNT ? bucket_names[b] : NULL;
}

intfa_status intfa_tune_class_check(const intfa_tune_class *c)
{
    if (!c) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "tuning class is NULL");
    if (!intfa_head_dim_ok(c->head_dim))
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT,
                          "tuning class: head_dim = %d: not a multiple of 16 from 32 to 256", c->head_dim);
    if ((unsigned)c->qk_format > INTFA_FMT_INT4)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "tuning class: qk_format = %d: not an intfa_format",
                          (int)c->qk_format);
    if ((unsigned)c->dtype > INTFA_DTYPE_BF16)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "tuning class: dtype = %d: not an intfa_dtype",
                          (int)c->dtype);
    if (c->causal != 0 && c->causal != 1)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "tuning class: causal = %d: not 0 or 1", c->causal);
    if ((unsigned)c->p_quant > INTFA_PQ_F16)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "tuning class: p_quant = %d: not an intfa_p_quant",
                          (int)c->p_quant);
    if ((unsigned)c->bucket >= INTFA_TUNE_BUCKET_COUNT)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "tuning class: bucket = %d: not 0..%d",
                          (int)c->bucket, INTFA_TUNE_BUCKET_COUNT - 1);
    return INTFA_OK;
}

intfa_status intfa_tune_class_of(const intfa_attn_problem *p, intfa_tune_class *out)
{
    if (!p) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "tuning class: problem is NULL");
    if (!out) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "tuning class: out is NULL");
    if (p->seq_kv < 0)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "tuning class: seq_kv = %lld is negative",
                          (long long)p->seq_kv);
    if (!intfa_head_dim_ok(p->head_dim))
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT,
                          "tuning class: head_dim = %lld: not a multiple of 16 from 32 to 256",
                          (long long)p->head_dim);
    intfa_tune_class c = {(int)p->head_dim, p->qk_format, p->dtype, p->causal, p->p_quant,
                          intfa_tune_bucket_of(p->seq_kv)};
    intfa_status st = intfa_tune_class_check(&c);
    if (st == INTFA_OK) *out = c;
    return st;
}

int intfa_tune_class_equal(const intfa_tune_class *a, const intfa_tune_class *b)
{
    return a->head_dim == b->head_dim && a->qk_format == b->qk_format && a->dtype == b->dtype &&
           a->causal == b->causal && a->p_quant == b->p_quant && a->bucket == b->bucket;
}

int intfa_tune_class_admits(const intfa_tune_class *c, const intfa_variant *v)
{
    return v->kind == INTFA_KIND_ATTN_FWD && v->head_dim == c->head_dim &&
           v->qk_format == c->qk_format && v->dtype == c->dtype && v->causal == c->causal &&
           v->p_quant == c->p_quant;
}

intfa_status intfa_tune_class_format(const intfa_tune_class *c, char *buf, size_t cap)
{
    intfa_status st = intfa_tune_class_check(c);
    if (st != INTFA_OK) return st;
    if (!buf) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "tuning class: buf is NULL");
    char tmp[INTFA_TUNE_CLASS_TEXT_MAX];
    int n = snprintf(tmp, sizeof tmp, "d%d %s %s %s %s %s", c->head_dim,
                     c->qk_format == INTFA_FMT_INT4 ? "int4" : "int8",
                     c->dtype == INTFA_DTYPE_BF16 ? "bf16" : "fp16", c->causal ? "causal" : "full",
                     intfa_p_quant_name(c->p_quant), bucket_names[c->bucket]);
    if (n < 0 || (size_t)n >= cap)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "tuning class: cap = %zu is too small (need %d)",
                          cap, n + 1);
    memcpy(buf, tmp, (size_t)n + 1);
    return INTFA_OK;
}

/* Index of word in words[0..n), or -1. */
static int word_index(const char *word, const char *const *words, int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(word, words[i]) == 0) return i;
    return -1;
}

/* "d<head_dim>" with a supported head dim -> the head dim; else -1. */
static int head_dim_word(const char *w)
{
    if (w[0] != 'd') return -1;
    int d = 0, n = 0;
    for (const char *p = w + 1; *p; p++, n++) {
        if (*p < '0' || *p > '9' || n >= 3) return -1;
        d = d * 10 + (*p - '0');
    }
    return n > 0 && w[1] != '0' && intfa_head_dim_ok(d) ? d : -1;
}

intfa_status intfa_tune_class_parse(const char *const *tok, intfa_tune_class *out)
{
    if (!tok || !out) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "tuning class: NULL argument");
    for (int i = 0; i < INTFA_TUNE_CLASS_TOKENS; i++)
        if (!tok[i]) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "tuning class: token %d is NULL", i);
    static const char *const fmts[] = {"int8", "int4"};
    static const char *const dtypes[] = {"fp16", "bf16"}, *const masks[] = {"full", "causal"};
    static const char *const pqs[] = {"pu8", "ps8", "pf16"};
    const int d = head_dim_word(tok[0]), f = word_index(tok[1], fmts, 2);
    const int t = word_index(tok[2], dtypes, 2), m = word_index(tok[3], masks, 2);
    const int q = word_index(tok[4], pqs, 3), b = word_index(tok[5], bucket_names, INTFA_TUNE_BUCKET_COUNT);
    const char *bad = d < 0 ? "head_dim (d32 .. d256, multiples of 16)" : f < 0 ? "format (int8 int4)"
                    : t < 0 ? "dtype (fp16 bf16)" : m < 0 ? "mask (full causal)"
                    : q < 0 ? "p_quant (pu8 ps8 pf16)" : b < 0 ? "bucket (kv<=1024 kv<=4096 kv>4096)" : NULL;
    if (bad) {
        const int at = d < 0 ? 0 : f < 0 ? 1 : t < 0 ? 2 : m < 0 ? 3 : q < 0 ? 4 : 5;
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "tuning class: bad %s field \"%.40s\"", bad, tok[at]);
    }
    intfa_tune_class c = {d, (intfa_format)f, (intfa_dtype)t, m, (intfa_p_quant)q,
                          (intfa_tune_bucket)b};
    *out = c;
    return INTFA_OK;
}

intfa_status intfa_tune_class_problem(const intfa_tune_class *c, intfa_attn_problem *out)
{
    intfa_status st = intfa_tune_class_check(c);
    if (st != INTFA_OK) return st;
    if (!out) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "tuning class: problem out is NULL");
    const int64_t seq = bucket_timed_seq[c->bucket];
    intfa_attn_problem p = {INTFA_TUNE_TOKENS / seq, INTFA_TUNE_HEADS, INTFA_TUNE_HEADS, seq, seq,
                            c->head_dim, 0.0f, c->causal, c->dtype, c->p_quant, INTFA_VS_CHANNEL};
    *out = p;
    return INTFA_OK;
}

intfa_status intfa_tune_classes_for(const int *dims, size_t ndims, intfa_tune_class *out, size_t cap,
                                   size_t *count)
{
    if (!count) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "tuning classes: count is NULL");
    if (!dims && ndims > 0)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "tuning classes: dims is NULL with ndims = %zu", ndims);
    if (!out && cap > 0)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "tuning classes: out is NULL with cap = %zu", cap);
    for (size_t i = 0; i < ndims; i++)
        if (!intfa_head_dim_ok(dims[i]))
            return intfa_fail(INTFA_ERR_INVALID_ARGUMENT,
                              "tuning classes: head_dim = %d: not a multiple of 16 from 32 to 256", dims[i]);
    size_t n = 0;
    for (size_t i = 0; i < ndims; i++)
        for (int causal = 0; causal <= 1; causal++)
            for (int b = 0; b < INTFA_TUNE_BUCKET_COUNT; b++, n++)
                if (n < cap)
                    out[n] = (intfa_tune_class){dims[i], INTFA_FMT_INT8, INTFA_DTYPE_FP16, causal,
                                                INTFA_PQ_U8_ROW, (intfa_tune_bucket)b};
    *count = n;
    return INTFA_OK;
}

intfa_status intfa_tune_default_classes(intfa_tune_class *out, size_t cap, size_t *count)
{
    static const int dims[2] = {64, 128};
    return intfa_tune_classes_for(dims, 2, out, cap, count);
}
