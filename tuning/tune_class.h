/* tune_class.h - problem classes: what the autotuner tunes and the tuning database keys on
 * (besides the device): head_dim, Q/K format, output dtype, causal, P quantization and a
 * sequence-length bucket of seq_kv. Every problem maps to exactly one class; each class has a
 * representative problem that the tuner times. Text form, one token per field:
 *     d128 int8 fp16 causal pu8 kv<=1024
 */
#ifndef INTFA_TUNE_CLASS_H
#define INTFA_TUNE_CLASS_H

#include <stddef.h>
#include "intfa.h"

/* seq_kv buckets (docs/TUNING.md): the tile choice changes with the keys per query row. */
typedef enum intfa_tune_bucket {
    INTFA_TUNE_KV_1K = 0, /* seq_kv <= 1024 ("kv<=1024"), timed at seq 1024 */
    INTFA_TUNE_KV_4K,     /* 1024 < seq_kv <= 4096 ("kv<=4096"), timed at seq 4096 */
    INTFA_TUNE_KV_LONG,   /* seq_kv > 4096 ("kv>4096"), timed at seq 8192 */
    INTFA_TUNE_BUCKET_COUNT
} intfa_tune_bucket;

typedef struct intfa_tune_class {
    int head_dim;
    intfa_format qk_format;
    intfa_dtype dtype;   /* output dtype */
    int causal;
    intfa_p_quant p_quant;
    intfa_tune_bucket bucket;
} intfa_tune_class;

/* Longest text form, with the terminating NUL. */
#define INTFA_TUNE_CLASS_TEXT_MAX 48
/* Tokens in the text form. */
#define INTFA_TUNE_CLASS_TOKENS 6
/* Query and key tokens per representative problem (batch x seq), and its heads. */
#define INTFA_TUNE_TOKENS 8192
#define INTFA_TUNE_HEADS 16

/* The bucket of a seq_kv (>= 0). */
intfa_tune_bucket intfa_tune_bucket_of(int64_t seq_kv);

/* "kv<=1024", "kv<=4096", "kv>4096"; NULL when out of range. */
const char *intfa_tune_bucket_name(intfa_tune_bucket b);

/* The class of a problem (Q/K int8). INVALID_ARGUMENT for NULL or fields out of range. */
intfa_status intfa_tune_class_of(const intfa_attn_problem *p, intfa_tune_class *out);

/* Fields in range (head_dim 64 or 128, enums, causal 0/1). */
intfa_status intfa_tune_class_check(const intfa_tune_class *c);

int intfa_tune_class_equal(const intfa_tune_class *a, const intfa_tune_class *b);

/* 1 if attention variant v has the class's head_dim, format, dtype, mask and P quantization. */
int intfa_tune_class_admits(const intfa_tune_class *c, const intfa_variant *v);

/* The text form into buf (INTFA_TUNE_CLASS_TEXT_MAX bytes suffice). */
intfa_status intfa_tune_class_format(const intfa_tune_class *c, char *buf, size_t cap);

/* The class of INTFA_TUNE_CLASS_TOKENS tokens (the text form split at blanks). */
intfa_status intfa_tune_class_parse(const char *const *tokens, intfa_tune_class *out);

/* The problem the tuner times for a class: INTFA_TUNE_TOKENS query tokens as batch x seq
 * (seq = the bucket's timing length, seq_q = seq_kv), INTFA_TUNE_HEADS heads (no GQA), V per
 * channel, default softmax scale. */
intfa_status intfa_tune_class_problem(const intfa_tune_class *c, intfa_attn_problem *out);

/* The default problem set intfa-tune tunes: head_dim {64, 128} x causal {0, 1} x fp16 x pu8 x
 * every bucket, in that nesting order (12 classes). Writes up to cap, sets *count to 12. */
intfa_status intfa_tune_default_classes(intfa_tune_class *out, size_t cap, size_t *count);

/* The same set for the given head dims (multiples of 16 from 32 to 256; intfa-tune --head-dims):
 * each head dim x causal {0, 1} x fp16 x pu8 x every bucket, 6 per head dim. Writes up to cap,
 * sets *count to 6 ndims; INVALID_ARGUMENT naming a head dim the kernels do not take. */
intfa_status intfa_tune_classes_for(const int *dims, size_t ndims, intfa_tune_class *out, size_t cap,
                                   size_t *count);

#endif
