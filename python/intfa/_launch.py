"""The real work of one attention call on CUDA tensors: describe the tensors to intfa, allocate
the output, the LSE and the workspace through PyTorch's caching allocator, and call
intfa_attention on PyTorch's current stream. Never synchronizes and never allocates outside
PyTorch, so it runs inside CUDA-graph capture (once the kernels are loaded: see README)."""
import ctypes
import struct

import torch

from . import _abi
from ._context import context
from ._errors import check
from ._library import lib

_current_stream = getattr(torch._C, "_cuda_getCurrentRawStream", None)
_DTYPE = {getattr(torch, name): code for name, code in _abi.DTYPE.items()}


def _stream(device_index):
    if _current_stream is not None:
        return _current_stream(device_index)
    return torch.cuda.current_stream(device_index).cuda_stream


def in_place_strides(x, layout):
    """(stride_b, stride_n, stride_h) of a 4-D tensor if intfa can read it in place (D contiguous,
    strides multiples of 16 bytes; strides of extent-1 dimensions count as 0), else None. The
    data pointer must also be 16-byte aligned."""
    sb, s1, s2, sd = x.stride()
    n0, n1, n2, _ = x.shape
    sb, s1, s2 = sb if n0 > 1 else 0, s1 if n1 > 1 else 0, s2 if n2 > 1 else 0
    if sd != 1 or (sb | s1 | s2) % 8:
        return None
    return (sb, s1, s2) if layout == "bnhd" else (sb, s2, s1)


def _desc(x, layout):
    """(tensor intfa reads, its intfa_tensor): x itself where intfa can read it in place, else
    a dense copy of x."""
    strides = in_place_strides(x, layout)
    if strides is None or x.data_ptr() % 16:
        return _desc(x.clone(memory_format=torch.contiguous_format), layout)
    return x, _abi.Tensor(x.data_ptr(), *strides)


def problem(q, s, causal, scale, smooth_k, qk_format, p_quant, v_scale):
    """The intfa_attn_problem of checked arguments with shapes s (intfa._args.Shapes)."""
    return _abi.Problem(s.batch, s.heads_q, s.heads_kv, s.seq_q, s.seq_kv, s.head_dim,
                        scale or 0.0, int(causal), _DTYPE[q.dtype], _abi.P_QUANT[p_quant],
                        _abi.V_SCALE[v_scale], _abi.QK_FORMAT[qk_format], int(smooth_k))


def workspace_bytes(problem):
    """intfa_attention_workspace_size, at least 1 (an allocation to take a pointer of)."""
    L = lib()
    size = ctypes.c_size_t()
    check(L, L.intfa_attention_workspace_size(ctypes.byref(problem), ctypes.byref(size)),
          "intfa_attention_workspace_size")
    return max(size.value, 1)


# intfa_attention through a prototype of plain pointers, the problem and the four intfa_tensor
# descriptions passed as packed bytes (a descriptor is {data, stride_b, stride_n, stride_h});
# ~2 us less per call than ctypes Structures and byref.
_TENSOR = struct.Struct("=Qqqq")
_PROBLEM = struct.Struct("=6qf6i4x")  # the C struct, padding included
_fast = None


def pack_problem(problem):
    """An intfa_attn_problem (ctypes) as the bytes the fast call passes."""
    return _PROBLEM.pack(problem.batch, problem.heads_q, problem.heads_kv, problem.seq_q,
                         problem.seq_kv, problem.head_dim, problem.softmax_scale, problem.causal,
                         problem.dtype, problem.p_quant, problem.v_scale, problem.qk_format,
                         problem.smooth_k)


def call_packed(dev, problem_bytes, q, sq, k, sk, v, sv, o, so, lse, ws, ws_bytes):
    """intfa_attention on data pointers q, k, v, o with strides sq, sk, sv, so (3-tuples), the
    problem as pack_problem's bytes; lse, ws: data pointers (lse may be None)."""
    global _fast
    L = lib()
    if _fast is None:
        proto = ctypes.CFUNCTYPE(ctypes.c_int, *([ctypes.c_void_p] * 8), ctypes.c_size_t, ctypes.c_void_p)
        _fast = proto(("intfa_attention", L))
    pack = _TENSOR.pack
    status = _fast(context(dev), problem_bytes, pack(q, *sq), pack(k, *sk), pack(v, *sv), pack(o, *so),
                   lse, ws, ws_bytes, _stream(dev))
    check(L, status, "intfa_attention")


def _parts(t):
    """(data pointer, (stride_b, stride_n, stride_h)) of an intfa_tensor (ctypes)."""
    return t.data, (t.stride_b, t.stride_n, t.stride_h)


def run(q, k, v, s, causal, scale, layout, return_lse, smooth_k, qk_format, p_quant, v_scale):
    """(out, lse or None) for checked arguments with shapes s, copying what intfa cannot read
    in place (the general way; intfa._plan serves repeated calls faster)."""
    pr = problem(q, s, causal, scale, smooth_k, qk_format, p_quant, v_scale)
    ws_bytes = workspace_bytes(pr)
    # the copies, where made, stay referenced until the call has enqueued its kernels; PyTorch's
    # allocator reuses their memory only for work ordered after them on this stream
    q, tq = _desc(q, layout)
    k, tk = _desc(k, layout)
    v, tv = _desc(v, layout)
    out = torch.empty_like(q, memory_format=torch.contiguous_format)
    lse = torch.empty((s.batch, s.heads_q, s.seq_q), dtype=torch.float32, device=q.device) if return_lse else None
    ws = torch.empty((ws_bytes,), dtype=torch.uint8, device=q.device)
    (qp, sq), (kp, sk), (vp, sv), (op, so) = map(_parts, (tq, tk, tv, _desc(out, layout)[1]))
    call_packed(q.get_device(), pack_problem(pr), qp, sq, kp, sk, vp, sv, op, so,
                None if lse is None else lse.data_ptr(), ws.data_ptr(), ws_bytes)
    return out, lse
