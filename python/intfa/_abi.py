"""ctypes mirrors of include/intfa.h: the structs, the enums' values and the C signatures.

tests/test_python_abi.sh compares every mirror here with the header (member names) and
with the C compiler (sizes and offsets) in CI. Fields left unset are zero: the C defaults.
Imports nothing but ctypes, so scripts (scripts/bench_sdpa.py) can use it without torch.
"""
import ctypes as C

# intfa_status
OK = 0
ERR_INVALID_ARGUMENT = 1
ERR_UNSUPPORTED = 2

DTYPE = {"float16": 0, "bfloat16": 1}          # intfa_dtype, by torch dtype name
QK_FORMAT = {"int8": 0, "int4": 1}              # intfa_format
P_QUANT = {"u8_row": 0, "s8_127": 1, "f16": 2}  # intfa_p_quant
V_SCALE = {"channel": 0, "head": 1}             # intfa_v_scale
HEAD_DIMS = tuple(range(32, 257, 16))           # INT8 Q/K: what intfa_check_problem accepts
HEAD_DIMS_CLASSIC = (64, 128)                   # INT4 Q/K, p_quant f16 and the paged KV cache


class Tensor(C.Structure):
    _fields_ = [("data", C.c_void_p), ("stride_b", C.c_int64), ("stride_n", C.c_int64),
                ("stride_h", C.c_int64)]


class Problem(C.Structure):
    _fields_ = [("batch", C.c_int64), ("heads_q", C.c_int64), ("heads_kv", C.c_int64),
                ("seq_q", C.c_int64), ("seq_kv", C.c_int64), ("head_dim", C.c_int64),
                ("softmax_scale", C.c_float), ("causal", C.c_int), ("dtype", C.c_int),
                ("p_quant", C.c_int), ("v_scale", C.c_int), ("qk_format", C.c_int),
                ("smooth_k", C.c_int)]


class QK8(C.Structure):
    _fields_ = [("values", Tensor), ("scale", C.c_void_p), ("lse_bias", C.c_void_p)]


class V8(C.Structure):
    _fields_ = [("values", C.c_void_p), ("scale", C.c_void_p)]


class QKQuantOptions(C.Structure):
    _fields_ = [("format", C.c_int), ("subtract", C.c_void_p), ("bias_mean", C.c_void_p),
                ("heads_per_mean", C.c_int64), ("bias_scale", C.c_float), ("out_bias", C.c_void_p)]


class Variant(C.Structure):
    _fields_ = [("kind", C.c_int), ("arch", C.c_int), ("head_dim", C.c_int), ("block_m", C.c_int),
                ("block_n", C.c_int), ("warps", C.c_int), ("stages", C.c_int),
                ("qk_format", C.c_int), ("causal", C.c_int), ("dtype", C.c_int),
                ("p_quant", C.c_int)]


class KVCache(C.Structure):
    _fields_ = [("pool", C.c_void_p), ("num_pages", C.c_int64), ("page_size", C.c_int64),
                ("heads_kv", C.c_int64), ("head_dim", C.c_int64), ("num_slots", C.c_int64),
                ("dtype", C.c_int)]


class KVSeqs(C.Structure):
    _fields_ = [("batch", C.c_int64), ("slots", C.c_void_p), ("lens", C.c_void_p),
                ("block_table", C.c_void_p), ("pages_per_seq", C.c_int64)]


class KVQuery(C.Structure):
    _fields_ = [("heads_q", C.c_int64), ("seq_q", C.c_int64), ("softmax_scale", C.c_float),
                ("causal", C.c_int)]


VARIANT_NAME_MAX = 128  # INTFA_VARIANT_NAME_MAX

# Every struct mirrored here, by its C name (the ABI test walks this).
STRUCTS = {"intfa_tensor": Tensor, "intfa_attn_problem": Problem, "intfa_qk_int8": QK8,
           "intfa_v_int8": V8, "intfa_variant": Variant, "intfa_qk_quant_options": QKQuantOptions,
           "intfa_kv_cache": KVCache, "intfa_kv_seqs": KVSeqs, "intfa_kv_query": KVQuery}

_P = C.POINTER
# name: (argument types, result type)
SIGNATURES = {
    "intfa_create": ([_P(C.c_void_p), C.c_int], C.c_int),
    "intfa_destroy": ([C.c_void_p], C.c_int),
    "intfa_last_error": ([], C.c_char_p),
    "intfa_status_string": ([C.c_int], C.c_char_p),
    "intfa_version_string": ([], C.c_char_p),
    "intfa_v_padded_len": ([C.c_int64], C.c_int64),
    "intfa_arch_parse": ([C.c_char_p, _P(C.c_int)], C.c_int),
    "intfa_variant_default_set": ([C.c_int, _P(Variant), C.c_size_t, _P(C.c_size_t)], C.c_int),
    "intfa_variant_name": ([_P(Variant), C.c_char_p, C.c_size_t], C.c_int),
    "intfa_attention_workspace_size": ([_P(Problem), _P(C.c_size_t)], C.c_int),
    "intfa_attention": ([C.c_void_p, _P(Problem), _P(Tensor), _P(Tensor), _P(Tensor), _P(Tensor),
                         C.c_void_p, C.c_void_p, C.c_size_t, C.c_void_p], C.c_int),
    "intfa_attention_varlen_workspace_size": ([_P(Problem), _P(C.c_size_t)], C.c_int),
    "intfa_attention_varlen": ([C.c_void_p, _P(Problem), _P(Tensor), _P(Tensor), _P(Tensor),
                                _P(C.c_int32), _P(C.c_int32), _P(Tensor), C.c_void_p, C.c_void_p,
                                C.c_size_t, C.c_void_p], C.c_int),
    "intfa_warmup": ([C.c_void_p, _P(Problem), C.c_size_t], C.c_int),
    "intfa_attention_int8": ([C.c_void_p, _P(Problem), _P(QK8), _P(QK8), _P(V8), _P(Tensor),
                              C.c_void_p, C.c_void_p], C.c_int),
    "intfa_attention_int8_qk": ([C.c_void_p, _P(Problem), _P(QK8), _P(QK8), _P(Tensor), _P(Tensor),
                                 C.c_void_p, C.c_void_p], C.c_int),
    "intfa_quantize_qk": ([C.c_void_p, _P(Tensor), C.c_int] + [C.c_int64] * 4 +
                          [C.c_void_p, C.c_void_p, C.c_void_p], C.c_int),
    "intfa_quantize_qk_ex": ([C.c_void_p, _P(Tensor), C.c_int] + [C.c_int64] * 4 +
                             [_P(QKQuantOptions), C.c_void_p, C.c_void_p, C.c_void_p], C.c_int),
    "intfa_quantize_v": ([C.c_void_p, _P(Tensor), C.c_int] + [C.c_int64] * 4 +
                         [C.c_int, C.c_void_p, C.c_void_p, C.c_void_p], C.c_int),
    "intfa_kv_cache_bytes": ([_P(KVCache), _P(C.c_size_t)], C.c_int),
    "intfa_kv_workspace_size": ([_P(KVCache), _P(KVSeqs), _P(KVQuery), _P(C.c_size_t)], C.c_int),
    "intfa_kv_append": ([C.c_void_p, _P(KVCache), _P(KVSeqs), _P(Tensor), _P(Tensor), C.c_void_p,
                         C.c_void_p, C.c_size_t, C.c_void_p], C.c_int),
    "intfa_kv_attention": ([C.c_void_p, _P(KVCache), _P(KVSeqs), _P(KVQuery), _P(Tensor),
                            _P(Tensor), C.c_void_p, C.c_void_p, C.c_size_t, C.c_void_p], C.c_int),
}
# Not in intfa.h: the FP16 baseline kernel (runtime/baseline.h), for the benchmark.
BASELINE_SIGNATURES = {
    "intfa_baseline_fp16_attention": ([C.c_void_p, _P(Problem), _P(Tensor), _P(Tensor), _P(Tensor),
                                       _P(Tensor), C.c_void_p, C.c_void_p], C.c_int),
}


def bind(lib, signatures):
    """Sets argtypes and restype of each named function of a ctypes.CDLL; returns lib."""
    for name, (argtypes, restype) in signatures.items():
        fn = getattr(lib, name)
        fn.argtypes, fn.restype = argtypes, restype
    return lib
