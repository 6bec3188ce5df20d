"""intfa.attention_varlen: variable-length batches (FlashAttention's varlen interface) through
intfa_attention_varlen. Sequences are packed along the token axis; the cumulative counts are
host data for the library (it checks them before launching anything), so counts given as CUDA
tensors are copied to the CPU first, which synchronizes: pass CPU tensors (or lists) to avoid it.
torch.ops.intfa.attention_varlen is the custom op torch.compile sees (counts as CPU tensors)."""
import ctypes
from typing import Tuple

import torch

from . import _abi, _args, _launch
from ._context import context
from ._errors import check as check_status
from ._launch import _DTYPE, _stream
from ._library import lib


def _counts(name, cu):
    """cu as a contiguous CPU int32 tensor of batch + 1 counts."""
    if isinstance(cu, torch.Tensor):
        if cu.dim() != 1:
            raise ValueError("%s: expected a 1-D tensor of batch + 1 cumulative counts, got shape %s"
                             % (name, tuple(cu.shape)))
        if cu.dtype not in (torch.int32, torch.int64):
            raise TypeError("%s.dtype = %s: expected torch.int32 (or torch.int64)" % (name, cu.dtype))
        if cu.is_meta:
            return cu
        cu = cu.to(device="cpu")
        if cu.dtype == torch.int64 and cu.numel() and (cu.min() < -2**31 or cu.max() >= 2**31):
            raise ValueError("%s: counts beyond int32 (%d .. %d)" % (name, cu.min(), cu.max()))
        return cu.to(dtype=torch.int32).contiguous()
    try:
        values = [int(c) for c in cu]
    except (TypeError, ValueError):
        raise TypeError("%s: expected a 1-D integer tensor or a sequence of ints, got %s"
                        % (name, type(cu).__name__)) from None
    if any(c < -2**31 or c >= 2**31 for c in values):
        raise ValueError("%s: counts beyond int32" % name)
    return torch.tensor(values, dtype=torch.int32)


def check_args(q, k, v, cu_q, cu_k, scale, v_scale):
    """(batch, heads_q, heads_kv, head_dim) of valid arguments (counts already from _counts);
    raises TypeError or ValueError naming the argument."""
    _args.check_options("bnhd", scale, "int8", "u8_row", v_scale)
    for name, x in (("q", q), ("k", k), ("v", v)):
        if not isinstance(x, torch.Tensor):
            raise TypeError("%s: expected a torch.Tensor, got %s" % (name, type(x).__name__))
        if x.dim() != 3:
            raise ValueError("%s: expected a 3-D tensor [total_tokens, H, D], got shape %s"
                             % (name, tuple(x.shape)))
    if tuple(v.shape) != tuple(k.shape):
        raise ValueError("v.shape = %s but k.shape = %s: they must be equal" % (tuple(v.shape), tuple(k.shape)))
    # the 4-D checks of intfa.attention on [1, total, H, D] views: dtypes, devices, heads, D
    _args.check_tensors(q.unsqueeze(0), k.unsqueeze(0), v.unsqueeze(0), "bnhd")
    if cu_q.numel() < 1 or cu_q.numel() != cu_k.numel():
        raise ValueError("cu_seqlens_q has %d entries and cu_seqlens_k %d: expected batch + 1 each"
                         % (cu_q.numel(), cu_k.numel()))
    return cu_q.numel() - 1, q.shape[1], k.shape[1], q.shape[2]


def _desc(x):
    """(tensor intfa reads, its intfa_tensor) of a [total, H, D] tensor: intfa.attention's rule
    on its [1, total, H, D] view (in place where it can, else a dense copy), the tensor given
    back as [total, H, D]."""
    x4, t = _launch._desc(x.unsqueeze(0), "bnhd")
    return x4[0], t


def run(q, k, v, cu_q, cu_k, causal, scale, return_lse, smooth_k, v_scale):
    """(out [total_q, H_q, D], lse [H_q, total_q] or None) on the current stream."""
    batch, hq, hkv, d = check_args(q, k, v, cu_q, cu_k, scale, v_scale)
    pr = _abi.Problem(batch, hq, hkv, q.shape[0], k.shape[0], d, scale or 0.0, int(causal),
                      _DTYPE[q.dtype], _abi.P_QUANT["u8_row"], _abi.V_SCALE[v_scale],
                      _abi.QK_FORMAT["int8"], int(smooth_k))
    L = lib()
    size = ctypes.c_size_t()
    check_status(L, L.intfa_attention_varlen_workspace_size(ctypes.byref(pr), ctypes.byref(size)),
                 "intfa_attention_varlen_workspace_size")
    q, tq = _desc(q)
    k, tk = _desc(k)
    v, tv = _desc(v)
    out = torch.empty(q.shape, dtype=q.dtype, device=q.device)
    lse = torch.empty((hq, q.shape[0]), dtype=torch.float32, device=q.device) if return_lse else None
    ws = torch.empty((max(size.value, 1),), dtype=torch.uint8, device=q.device)
    dev = q.get_device()
    i32p = ctypes.POINTER(ctypes.c_int32)
    status = L.intfa_attention_varlen(
        context(dev), ctypes.byref(pr), ctypes.byref(tq), ctypes.byref(tk), ctypes.byref(tv),
        ctypes.cast(cu_q.data_ptr(), i32p), ctypes.cast(cu_k.data_ptr(), i32p),
        ctypes.byref(_abi.Tensor(out.data_ptr(), 0, out.stride(0), out.stride(1))),
        None if lse is None else lse.data_ptr(), ws.data_ptr(), ws.numel(), _stream(dev))
    check_status(L, status, "intfa_attention_varlen")
    return out, lse


@torch.library.custom_op("intfa::attention_varlen", mutates_args=(), device_types="cuda")
def attention_varlen_op(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, cu_seqlens_q: torch.Tensor,
                        cu_seqlens_k: torch.Tensor, causal: bool, scale: float, return_lse: bool,
                        smooth_k: bool, v_scale: str) -> Tuple[torch.Tensor, torch.Tensor]:
    """(out, lse); the counts are CPU int32 tensors; lse is empty unless return_lse."""
    out, lse = run(q, k, v, _counts("cu_seqlens_q", cu_seqlens_q), _counts("cu_seqlens_k", cu_seqlens_k),
                   causal, scale or None, return_lse, smooth_k, v_scale)
    return out, lse if lse is not None else q.new_empty((0,), dtype=torch.float32)


@attention_varlen_op.register_fake
def _attention_varlen_fake(q, k, v, cu_seqlens_q, cu_seqlens_k, causal, scale, return_lse,
                           smooth_k, v_scale):
    _, hq, _, _ = check_args(q, k, v, cu_seqlens_q, cu_seqlens_k, scale or None, v_scale)
    lse_shape = (hq, q.shape[0]) if return_lse else (0,)
    return q.new_empty(q.shape), q.new_empty(lse_shape, dtype=torch.float32)


def attention_varlen(q, k, v, cu_seqlens_q, cu_seqlens_k, *, causal=False, scale=None,
                     return_lse=False, smooth_k=True, v_scale="channel"):
    """INT8 attention of a packed variable-length batch (fp16 or bf16 CUDA tensors).

    q: [total_q, H_q, D]; k, v: [total_kv, H_kv, D] (D a multiple of 16 from 32 to 256, H_q a
    multiple of H_kv; any strides, D contiguous). cu_seqlens_q / cu_seqlens_k: batch + 1
    cumulative token counts (0 first, never decreasing, the totals last) as CPU int32 tensors or
    lists (CUDA tensors are copied to the CPU: that synchronizes). Sequence b is tokens
    cu[b] .. cu[b + 1] (0 allowed), its causal mask aligned to its own bottom-right. Each
    sequence is quantized on its own, so its output equals intfa.attention on that sequence
    alone.

    Returns out [total_q, H_q, D] or, with return_lse, (out, lse) with lse fp32 [H_q, total_q].
    Not capturable into a CUDA graph (the counts are host data checked on every call: the library
    refuses with intfa.IntfaError)."""
    cu_q, cu_k = _counts("cu_seqlens_q", cu_seqlens_q), _counts("cu_seqlens_k", cu_seqlens_k)
    out, lse = attention_varlen_op(q, k, v, cu_q, cu_k, bool(causal), float(scale or 0.0),
                                   bool(return_lse), bool(smooth_k), v_scale)
    return (out, lse) if return_lse else out
