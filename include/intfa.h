/*
 * intfa.h - the public C API of libintfa-jit.
 *
 * intfa generates, JIT-compiles (NVRTC) and launches INT8 FlashAttention forward kernels
 * (INT-FlashAttention: Q, K, V and P in 8-bit integers, S and P.V on integer tensor cores,
 * online softmax in FP32).
 *
 * Conventions
 * - Every function returns an intfa_status. On failure it changes none of its outputs and
 *   intfa_last_error() holds a message that names the argument and the value.
 * - Device pointers and CUDA streams are passed as plain pointers (a CUdeviceptr cast to
 *   void *, a CUstream or cudaStream_t as void *); NULL is the legacy default stream.
 * - Tensors are 4-D [B, N, H, D] or [B, H, N, D], described by strides in elements; the
 *   head_dim dimension D is always contiguous.
 * - The library opens libcuda at run time (dlopen): it loads and runs its CPU parts on a
 *   machine with no driver; GPU calls then return INTFA_ERR_NO_DRIVER or INTFA_ERR_NO_DEVICE.
 */
#ifndef INTFA_H
#define INTFA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define INTFA_VERSION_MAJOR 0
#define INTFA_VERSION_MINOR 1
#define INTFA_VERSION_PATCH 0

typedef enum intfa_status {
    INTFA_OK = 0,
    INTFA_ERR_INVALID_ARGUMENT, /* null, negative, misaligned, bad stride, bad name ... */
    INTFA_ERR_UNSUPPORTED,      /* valid request this build or GPU cannot serve */
    INTFA_ERR_OVERFLOW,         /* sizes whose products overflow */
    INTFA_ERR_OUT_OF_MEMORY,
    INTFA_ERR_NO_DRIVER,        /* libcuda.so.1 could not be opened */
    INTFA_ERR_NO_DEVICE,        /* driver present, no (such) device */
    INTFA_ERR_CUDA,             /* a CUDA driver call failed */
    INTFA_ERR_COMPILE,          /* NVRTC failed; the message holds its log */
    INTFA_ERR_TEMPLATE,         /* a kernel template failed to expand; message has file:line */
    INTFA_ERR_IO,
    INTFA_ERR_CORRUPT,          /* a cache or table entry failed its checks */
    INTFA_ERR_JIT_DISABLED,     /* no-JIT mode and the kernel is not precompiled or cached */
    INTFA_ERR_INTERNAL
} intfa_status;

/* A constant, readable name for a status ("invalid argument", ...). */
const char *intfa_status_string(intfa_status status);

/* The message of the last failing intfa call on this thread ("" if none). Valid until the
 * next intfa call on this thread. */
const char *intfa_last_error(void);

/* Library version; outputs may be NULL. */
intfa_status intfa_get_version(int *major, int *minor, int *patch);
const char *intfa_version_string(void);

/* ------------------------------------------------------------------ variants */

typedef enum intfa_kind {
    INTFA_KIND_ATTN_FWD = 0, /* attention forward on quantized Q, K, V */
    INTFA_KIND_QUANT_QK,     /* fp16/bf16 -> int8 (or int4) per token (Q and K), K's mean, and
                                intfa_quantize_v's V per channel or per head, transposed */
    INTFA_KIND_QUANT_V,      /* the drop-in's K/V pass: K per token and V per channel or head */
    INTFA_KIND_ATTN_FWD_FP16, /* FP16 FlashAttention forward of the same structure: the baseline */
    INTFA_KIND_KV_CACHE,     /* the paged INT8 KV cache: append, decode attention, split combine */
    INTFA_KIND_COUNT
} intfa_kind;

typedef enum intfa_arch {
    INTFA_ARCH_SM80 = 0,
    INTFA_ARCH_SM86,
    INTFA_ARCH_SM89,
    INTFA_ARCH_SM90,
    INTFA_ARCH_SM90A,
    INTFA_ARCH_COUNT
} intfa_arch;

typedef enum intfa_format { INTFA_FMT_INT8 = 0, INTFA_FMT_INT4 } intfa_format;
typedef enum intfa_dtype { INTFA_DTYPE_FP16 = 0, INTFA_DTYPE_BF16 } intfa_dtype;

/* How P (the softmax probabilities) is re-quantized before P.V. */
typedef enum intfa_p_quant {
    INTFA_PQ_U8_ROW = 0, /* unsigned 0..255, scaled by each row's maximum in the tile (default) */
    INTFA_PQ_S8_127,     /* the paper's: signed, fixed scale 127 against the running maximum */
    INTFA_PQ_F16         /* not quantized: P in 16 bits (the problem's dtype) times V as given,
                            fp16/bf16, on 16-bit tensor cores; only Q and K are 8-bit. sm_90a
                            (wgmma kernel) only. No V quantization: intfa_attention reads V
                            directly; on quantized Q/K use intfa_attention_int8_qk */
} intfa_p_quant;

/* How V is scaled when quantized. */
typedef enum intfa_v_scale {
    INTFA_VS_CHANNEL = 0, /* one scale per (batch, head, head_dim column) (default) */
    INTFA_VS_HEAD         /* the paper's: one scale per (batch, head) */
} intfa_v_scale;

/* One kernel. Fields that do not apply to a kind are ignored by it and printed not at all. */
typedef struct intfa_variant {
    intfa_kind kind;
    intfa_arch arch;
    int head_dim;         /* INT8 attention and quantization: multiples of 16 from 32 to 256;
                             INT4, pf16, the warp-specialized kernel, the FP16 baseline and
                             the KV cache: 64 or 128 */
    int block_m;          /* query rows per block (attention) */
    int block_n;          /* keys per tile (attention) */
    int warps;            /* warps per block */
    int stages;           /* K/V pipeline stages (attention) */
    intfa_format qk_format;
    int causal;           /* 0 or 1 (attention) */
    intfa_dtype dtype;    /* output dtype (attention) or input dtype (quantization) */
    intfa_p_quant p_quant; /* attention */
} intfa_variant;

#define INTFA_VARIANT_NAME_MAX 128

/* Canonical name, e.g. "attn_fwd-sm90a-d128-int8-fp16-causal-pu8-m128n64w8s2".
 * Parse and print round-trip: intfa_variant_parse(name(v)) == v for every valid v. */
intfa_status intfa_variant_name(const intfa_variant *v, char *buf, size_t cap);
intfa_status intfa_variant_parse(const char *name, intfa_variant *out);

/* INTFA_OK if the combination can be built; else INTFA_ERR_UNSUPPORTED (or
 * INVALID_ARGUMENT for out-of-range fields) with the reason in intfa_last_error(). */
intfa_status intfa_variant_check(const intfa_variant *v);

/* Built-in per-arch default tile configuration for a problem class. */
intfa_status intfa_variant_default(intfa_kind kind, intfa_arch arch, int head_dim,
                                   intfa_format fmt, int causal, intfa_dtype dtype,
                                   intfa_p_quant pq, intfa_variant *out);

/* The default variant set for one arch (what intfa-gen compiles). Writes up to cap
 * variants, sets *count to the full number. */
intfa_status intfa_variant_default_set(intfa_arch arch, intfa_variant *out, size_t cap,
                                       size_t *count);

/* Name of an arch ("sm_90a") and its parse; the NVRTC target is "sm_90a" likewise. */
const char *intfa_arch_name(intfa_arch arch);
intfa_status intfa_arch_parse(const char *name, intfa_arch *out);

/* CUDA C source of a variant, rendered from its template. *source is malloc'd; release it
 * with intfa_free. */
intfa_status intfa_variant_render(const intfa_variant *v, char **source);

/* NVRTC-compile a variant for its arch. *cubin is malloc'd (intfa_free). compile_ms may be NULL. */
intfa_status intfa_variant_compile(const intfa_variant *v, void **cubin, size_t *cubin_size,
                                   double *compile_ms);

void intfa_free(void *p);

/* ------------------------------------------------------------------ context */

typedef struct intfa_context intfa_context;

/* When a context tunes kernel choices. */
typedef enum intfa_tune_mode {
    INTFA_TUNE_NEVER = 0,    /* tuned winners from the database when present, else defaults */
    INTFA_TUNE_ON_FIRST_USE  /* a problem class with no winner is tuned on its first call */
} intfa_tune_mode;

typedef struct intfa_options {
    intfa_tune_mode tune;
    int disable_jit;        /* 1: use only precompiled or cached kernels; a miss fails with
                               INTFA_ERR_JIT_DISABLED naming the variant (also INTFA_DISABLE_JIT=1) */
    int verbose;            /* 1: log each JIT compile (variant, ms) to stderr (also INTFA_VERBOSE=1) */
    const char *cache_dir;  /* NULL: $INTFA_CACHE_DIR, else $XDG_CACHE_HOME/intfa, else ~/.cache/intfa */
    const char *tuning_db;  /* NULL: $INTFA_TUNING_DB, else <cache dir>/tuning.db */
} intfa_options;

/* Create a context on a CUDA device (its primary context). Needs the driver and the device.
 * intfa_create uses the default options (all zero / NULL). */
intfa_status intfa_create(intfa_context **ctx, int device_ordinal);
intfa_status intfa_create_with_options(intfa_context **ctx, int device_ordinal,
                                       const intfa_options *options);
/* Release a context: its modules and its workspace. Synchronizes nothing; the caller makes
 * sure no work using it is pending. NULL is allowed. */
intfa_status intfa_destroy(intfa_context *ctx);

/* The arch this context's device compiles for (sm_90 devices use sm_90a). */
intfa_status intfa_context_arch(const intfa_context *ctx, intfa_arch *arch);

/* ------------------------------------------------------------------ tensors and problems */

/* A 4-D tensor on the device; strides in elements; D (head_dim) is contiguous. */
typedef struct intfa_tensor {
    void *data;
    int64_t stride_b, stride_n, stride_h;
} intfa_tensor;

/* Dense strides for [B, N, H, D] and [B, H, N, D]. A stride whose sizes are negative or whose
 * product overflows 64 bits is -1, which every entry point rejects. */
intfa_tensor intfa_tensor_bnhd(void *data, int64_t n, int64_t h, int64_t d);
intfa_tensor intfa_tensor_bhnd(void *data, int64_t n, int64_t h, int64_t d);

typedef struct intfa_attn_problem {
    int64_t batch;
    int64_t heads_q;
    int64_t heads_kv;   /* heads_q % heads_kv == 0 (GQA, MQA) */
    int64_t seq_q;
    int64_t seq_kv;
    int64_t head_dim;   /* multiples of 16 from 32 to 256 (INT4 Q/K and pf16: 64 or 128) */
    float softmax_scale; /* 0 selects 1/sqrt(head_dim); else finite and > 0 */
    int causal;         /* mask aligned to the bottom-right when seq_q != seq_kv */
    intfa_dtype dtype;  /* dtype of fp inputs (drop-in) and of the output */
    intfa_p_quant p_quant;
    intfa_v_scale v_scale;
    intfa_format qk_format; /* how Q and K are (or, in the drop-in, get) quantized: INT8 (default)
                               or INT4 (two per byte along head_dim, low nibble = even index,
                               -7..7, scale = amax / 7) */
    int smooth_k;           /* drop-in: subtract K's mean over tokens (per head and channel)
                               before quantizing K; softmax is unchanged, LSE is corrected */
} intfa_attn_problem;

/* Quantized Q or K: int8 values in a tensor (strides multiples of 16 bytes, data 16-byte
 * aligned) plus one fp32 scale per (b, h, n) at scale[(b * H + h) * N + n]. */
typedef struct intfa_qk_int8 {
    intfa_tensor values;      /* int8, or packed int4 (strides in bytes, rows of D/2 bytes) */
    const float *scale;
    const float *lse_bias;    /* Q only, optional: fp32 [B, H_q, N_q] added to the LSE (natural
                                 log), e.g. softmax_scale * q . mean(k) with K smoothing */
} intfa_qk_int8;

/* Quantized V, as intfa_quantize_v writes it: int8 in [B, H_kv, D, N_pad] (keys contiguous,
 * N_pad = intfa_v_padded_len(N), keys permuted within each group of 16 so that P.V needs no
 * shuffles), plus fp32 scales [B, H_kv, D]. */
typedef struct intfa_v_int8 {
    const int8_t *values;
    const float *scale;
} intfa_v_int8;

int64_t intfa_v_padded_len(int64_t seq_kv);

/* Quantize fp16/bf16 x [B, N, H, D] (any strides) per token: int8 to out_values (dense
 * [B, H, N, D]) and scales to out_scale [B, H, N]. */
intfa_status intfa_quantize_qk(intfa_context *ctx, const intfa_tensor *x, intfa_dtype dtype,
                               int64_t batch, int64_t heads, int64_t seq, int64_t head_dim,
                               int8_t *out_values, float *out_scale, void *stream);

/* Options of intfa_quantize_qk_ex. All-zero options mean what intfa_quantize_qk does. */
typedef struct intfa_qk_quant_options {
    intfa_format format;     /* INT8, or INT4 packed two per byte (out_values rows of D/2 bytes) */
    const float *subtract;   /* NULL, or fp32 [B, H, D] subtracted from every row of its (batch,
                                head) before quantizing (K smoothing: K's own mean) */
    const float *bias_mean;  /* NULL, or fp32 [B, H / heads_per_mean, D]: with it, out_bias[b][h][n]
                                = bias_scale * x[b][n][h] . bias_mean[b][h / heads_per_mean]
                                (Q's LSE correction for smoothed K) */
    int64_t heads_per_mean;  /* >= 1; H_q / H_kv for Q with GQA */
    float bias_scale;        /* the softmax scale */
    float *out_bias;         /* fp32 [B, H, N]; required with bias_mean */
} intfa_qk_quant_options;

intfa_status intfa_quantize_qk_ex(intfa_context *ctx, const intfa_tensor *x, intfa_dtype dtype,
                                  int64_t batch, int64_t heads, int64_t seq, int64_t head_dim,
                                  const intfa_qk_quant_options *options, void *out_values,
                                  float *out_scale, void *stream);

/* Mean over tokens of fp16/bf16 x [B, N, H, D] per (batch, head, channel): fp32 [B, H, D]. */
intfa_status intfa_mean_over_tokens(intfa_context *ctx, const intfa_tensor *x, intfa_dtype dtype,
                                    int64_t batch, int64_t heads, int64_t seq, int64_t head_dim,
                                    float *out_mean, void *stream);

/* Quantize fp16/bf16 V per channel or per head into intfa_v_int8's layout. */
intfa_status intfa_quantize_v(intfa_context *ctx, const intfa_tensor *v, intfa_dtype dtype,
                              int64_t batch, int64_t heads, int64_t seq, int64_t head_dim,
                              intfa_v_scale mode, int8_t *out_values, float *out_scale,
                              void *stream);

/* Attention on quantized inputs. out: fp16/bf16 per problem->dtype, [B, N_q, H_q, D] or any
 * strides; lse: NULL or fp32 [B, H_q, N_q] (natural log; -inf for rows that see no key). */
intfa_status intfa_attention_int8(intfa_context *ctx, const intfa_attn_problem *problem,
                                  const intfa_qk_int8 *q, const intfa_qk_int8 *k,
                                  const intfa_v_int8 *v, const intfa_tensor *out, float *lse,
                                  void *stream);

/* Attention on quantized Q and K with V as given (fp16/bf16 per problem->dtype, any strides
 * with D contiguous, rows 16-byte aligned): problem->p_quant must be INTFA_PQ_F16. */
intfa_status intfa_attention_int8_qk(intfa_context *ctx, const intfa_attn_problem *problem,
                                     const intfa_qk_int8 *q, const intfa_qk_int8 *k,
                                     const intfa_tensor *v, const intfa_tensor *out, float *lse,
                                     void *stream);

/* Bytes of device workspace the drop-in needs for a problem. */
intfa_status intfa_attention_workspace_size(const intfa_attn_problem *problem, size_t *bytes);

/* Drop-in: fp16/bf16 Q, K, V in, fp16/bf16 O out. Quantizes into workspace (NULL: one the
 * context owns and grows; calls that share a context on several streams at once must pass
 * their own), then runs the attention. */
intfa_status intfa_attention(intfa_context *ctx, const intfa_attn_problem *problem,
                             const intfa_tensor *q, const intfa_tensor *k, const intfa_tensor *v,
                             const intfa_tensor *out, float *lse, void *workspace,
                             size_t workspace_bytes, void *stream);

/* Variable-length batches (FlashAttention's varlen), drop-in form: problem->batch sequences
 * packed along the token axis, problem->seq_q and seq_kv their total token counts. q and out
 * are [total_q, H_q, D], k and v [total_kv, H_kv, D] (stride_n, stride_h as intfa_tensor's,
 * stride_b ignored); lse NULL or fp32 [H_q, total_q]. cu_seqlens_q and cu_seqlens_k are HOST
 * arrays of batch + 1 cumulative counts: 0 first, never decreasing, the totals last; sequence
 * b has cu[b + 1] - cu[b] tokens (0 allowed) and a causal mask aligned to its own bottom-right.
 * The call copies the counts before checking them (device memory is refused), so they may be
 * changed or freed once it returns, pinned or not; it cannot be captured into a CUDA graph
 * (INTFA_ERR_UNSUPPORTED). Each sequence is quantized on its own (Q and K per token, V's scales
 * and K's mean per sequence, over spans of its own length), so a sequence's output is the same
 * bits as intfa_attention on it alone whenever both select the same tile: always with the
 * built-in selection; a tuning database may pick per length class, and a varlen batch is
 * selected as its longest sequence. INT8 Q/K only (INT4: INTFA_ERR_UNSUPPORTED). The grid
 * covers the longest sequence for every sequence (blocks past a sequence's rows return at
 * once). workspace as intfa_attention's (calls that share a context on several streams at once
 * must pass their own). */
intfa_status intfa_attention_varlen_workspace_size(const intfa_attn_problem *problem, size_t *bytes);
intfa_status intfa_attention_varlen(intfa_context *ctx, const intfa_attn_problem *problem,
                                    const intfa_tensor *q, const intfa_tensor *k,
                                    const intfa_tensor *v, const int32_t *cu_seqlens_q,
                                    const int32_t *cu_seqlens_k, const intfa_tensor *out,
                                    float *lse, void *workspace, size_t workspace_bytes,
                                    void *stream);

/* ------------------------------------------------------------------ paged INT8 KV cache */

/* A paged INT8 KV cache for serving (docs/DECODE.md): a pool of pages in one device allocation
 * that the caller owns. A page holds page_size tokens of one sequence for every K/V head: K in
 * int8 with one scale per token, V in int8 with one scale per (page, head, channel). A
 * sequence's last, partly filled page also keeps its V in fp16/bf16 in the sequence's staging
 * slot, and is quantized again whenever tokens are appended to it, so the cache holds the same
 * bytes however the tokens arrived (one append of the whole sequence, or one token at a time).
 * The pool needs no initialization. */
typedef struct intfa_kv_cache {
    void *pool;          /* device memory, intfa_kv_cache_bytes() bytes, 256-byte aligned */
    int64_t num_pages;   /* pages in the pool (page ids 0 .. num_pages - 1) */
    int64_t page_size;   /* tokens per page: 16, 32, 64, 128 or 256 */
    int64_t heads_kv;
    int64_t head_dim;    /* 64 or 128 */
    int64_t num_slots;   /* sequences the cache can hold at once: one staging page each */
    intfa_dtype dtype;   /* of appended K/V tokens, queries and outputs */
} intfa_kv_cache;

/* The sequences of one call, all HOST arrays (copied by the call; they may change or be freed
 * once it returns). Sequence b holds lens[b] tokens; its token t is in page
 * block_table[b * pages_per_seq + t / page_size] (entries past its pages are not read; pages may
 * be shared between sequences, except by two appends of one call); appends keep its open page's
 * fp16/bf16 V in staging slot slots[b] (0 .. num_slots - 1, distinct within a call; attention
 * does not read slots, NULL is allowed there). */
typedef struct intfa_kv_seqs {
    int64_t batch;
    const int32_t *slots;       /* [batch]: appends */
    const int32_t *lens;        /* [batch]: tokens in the cache (before an append) */
    const int32_t *block_table; /* [batch][pages_per_seq] */
    int64_t pages_per_seq;
} intfa_kv_seqs;

/* Queries against the cache: seq_q tokens per sequence, the last seq_q tokens of each sequence
 * when causal (the mask aligned to the bottom right, as intfa_attention's). */
typedef struct intfa_kv_query {
    int64_t heads_q;     /* a multiple of the cache's heads_kv (GQA, MQA) */
    int64_t seq_q;       /* 1 for decode; a few for speculative decoding */
    float softmax_scale; /* 0 selects 1/sqrt(head_dim) */
    int causal;
} intfa_kv_query;

/* Bytes of the pool for a cache description (cache->pool is not read). */
intfa_status intfa_kv_cache_bytes(const intfa_kv_cache *cache, size_t *bytes);

/* Bytes of device workspace intfa_kv_append and intfa_kv_attention need for these sequences
 * (query may be NULL for appends only). */
intfa_status intfa_kv_workspace_size(const intfa_kv_cache *cache, const intfa_kv_seqs *seqs,
                                     const intfa_kv_query *query, size_t *bytes);

/* Appends cu_new[b + 1] - cu_new[b] tokens to sequence b: k and v packed [total_new, H_kv, D]
 * (fp16/bf16 per cache->dtype; stride_n and stride_h as intfa_tensor's, stride_b ignored);
 * cu_new a HOST array of batch + 1 cumulative counts from 0. seqs->lens are the lengths before
 * the append; the caller adds the counts afterwards. Every page the new lengths need must be
 * in the block table and the pool: else INVALID_ARGUMENT before any launch, nothing written.
 * workspace as intfa_attention's (NULL: the context's own). */
intfa_status intfa_kv_append(intfa_context *ctx, const intfa_kv_cache *cache,
                             const intfa_kv_seqs *seqs, const intfa_tensor *k,
                             const intfa_tensor *v, const int32_t *cu_new, void *workspace,
                             size_t workspace_bytes, void *stream);

/* Attention of q [B, seq_q, H_q, D] (any strides, D contiguous) over each sequence's cached
 * tokens into out (same shape) and lse (NULL or fp32 [B, H_q, seq_q], natural log; -inf and a
 * zero output for rows that see no key). Q is quantized per token in the kernel; the keys are
 * split across blocks when the batch alone would leave SMs idle, and the splits merged by
 * their LSE. */
intfa_status intfa_kv_attention(intfa_context *ctx, const intfa_kv_cache *cache,
                                const intfa_kv_seqs *seqs, const intfa_kv_query *query,
                                const intfa_tensor *q, const intfa_tensor *out, float *lse,
                                void *workspace, size_t workspace_bytes, void *stream);

/* Compiles (or loads from the AOT table or the disk cache) every kernel that intfa_attention
 * and intfa_attention_int8 will need for these problems, in parallel, and loads them into ctx,
 * so that the first request of a server pays nothing. A problem that fails its checks is an
 * error naming its index; nothing is launched. count 0 does nothing. */
intfa_status intfa_warmup(intfa_context *ctx, const intfa_attn_problem *problems, size_t count);

#ifdef __cplusplus
}
#endif
#endif /* INTFA_H */
