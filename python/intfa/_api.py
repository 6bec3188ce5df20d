"""intfa.attention: INT8 attention of fp16/bf16 PyTorch tensors."""
import torch

from . import _args, _plan
from ._ops import attention_op

_dispatch_modes = getattr(torch._C, "_len_torch_dispatch_stack", lambda: 1)


def _eager(q, k, v):
    """True where calling the implementation directly is the same as calling the op: not under
    torch.compile or export tracing, plain CUDA tensors, no dispatch mode (FakeTensorMode,
    make_fx) active. It saves the dispatcher's few microseconds per call."""
    return (not torch.compiler.is_compiling() and type(q) is torch.Tensor and q.is_cuda
            and type(k) is torch.Tensor and type(v) is torch.Tensor and _dispatch_modes() == 0)


def attention(q, k, v, *, causal=False, scale=None, layout="bnhd", return_lse=False,
              smooth_k=True, qk_format="int8", p_quant="u8_row", v_scale="channel"):
    """INT8 FlashAttention of fp16 or bf16 CUDA tensors (Q and K quantized per token to int8 or
    int4, V per channel or per head, P to 8 bits; softmax in fp32).

    q: [B, N_q, H_q, D] (layout "bnhd") or [B, H_q, N_q, D] (layout "bhnd"); k, v: the same
    with N_kv and H_kv; any strides (the last dimension is copied to contiguous where it is not).
    D a multiple of 16 from 32 to 256 (64 or 128 with qk_format "int4" or p_quant "f16"); H_q a
    multiple of H_kv (GQA, MQA). causal: the mask is aligned to the bottom-right when
    N_q != N_kv. scale: None for 1/sqrt(D). smooth_k: subtract K's mean over tokens before
    quantizing (more accurate; the output is unchanged in exact arithmetic, the LSE is
    corrected). qk_format "int8" or "int4"; p_quant "u8_row" (default), "s8_127" (the
    paper's) or "f16" (H100/H200 only: P in 16 bits times V unquantized on the 16-bit tensor
    cores, a third less error, ~0.8x the speed at long N, INT8 Q/K, no varlen); v_scale
    "channel" (default) or "head" (the paper's).

    Returns out (q's dtype and layout, dense) or, with return_lse, (out, lse) where lse is fp32
    [B, H_q, N_q] (natural log; -inf for a row that sees no key). Runs on the current stream and
    never synchronizes. Raises TypeError or ValueError for bad arguments and intfa.IntfaError
    (with the library's message) for anything the library refuses."""
    if _eager(q, k, v):   # checked when a call of these shapes and options is first planned
        out, lse = _plan.attention(q, k, v, causal, scale, layout, return_lse, smooth_k,
                                   qk_format, p_quant, v_scale)
    else:
        _args.check(q, k, v, layout, scale, qk_format, p_quant, v_scale)
        out, lse = attention_op(q, k, v, bool(causal), float(scale or 0.0), layout, bool(return_lse),
                                bool(smooth_k), qk_format, p_quant, v_scale)
    return (out, lse) if return_lse else out
