"""Checks of intfa.attention's arguments, shared by the eager call, the custom op's real and fake
implementations and intfa.sdpa. Reads only shapes, dtypes and devices, so it runs on meta and
fake tensors too (under torch.compile, the shape checks become guards). Every error names the
argument and the value."""
import math
from collections import namedtuple

import torch

from . import _abi

LAYOUTS = {"bnhd": "[B, N, H, D]", "bhnd": "[B, H, N, D]"}
DTYPES = (torch.float16, torch.bfloat16)

Shapes = namedtuple("Shapes", "batch heads_q heads_kv seq_q seq_kv head_dim")


def _bnhd(x, layout):
    """(B, N, H, D) of a tensor in either layout."""
    b, a1, a2, d = x.shape
    return (b, a1, a2, d) if layout == "bnhd" else (b, a2, a1, d)


def _choice(name, value, choices):
    if value not in choices:
        raise ValueError("%s = %r: expected one of %s" % (name, value, ", ".join(map(repr, choices))))


def check_options(layout, scale, qk_format, p_quant, v_scale):
    _choice("layout", layout, tuple(LAYOUTS))
    _choice("qk_format", qk_format, tuple(_abi.QK_FORMAT))
    _choice("p_quant", p_quant, tuple(_abi.P_QUANT))
    _choice("v_scale", v_scale, tuple(_abi.V_SCALE))
    if scale is not None and not (isinstance(scale, (int, float)) and math.isfinite(scale) and scale > 0):
        raise ValueError("scale = %r: expected None (1/sqrt(head_dim)) or a finite number > 0" % (scale,))


def head_dims_text(dims):
    """The head dims as text: "64 and 128", or "32 to 256 in steps of 16" for a range."""
    if len(dims) > 2 and all(b - a == dims[1] - dims[0] for a, b in zip(dims, dims[1:])):
        return "%d to %d in steps of %d" % (dims[0], dims[-1], dims[1] - dims[0])
    return " and ".join(map(str, dims))


def check_head_dim(d, qk_format="int8", p_quant="u8_row"):
    """ValueError unless intfa has kernels for head_dim d with these options: every multiple of
    16 from 32 to 256 for INT8 Q/K, 64 and 128 only with qk_format "int4" or p_quant "f16"."""
    if d not in _abi.HEAD_DIMS:
        raise ValueError("head_dim = %s: intfa has kernels for head_dim %s"
                         % (d, head_dims_text(_abi.HEAD_DIMS)))
    if d not in _abi.HEAD_DIMS_CLASSIC:
        for name, value, limited, what in (("qk_format", qk_format, "int4", "INT4 Q/K"),
                                           ("p_quant", p_quant, "f16", "16-bit P.V")):
            if value == limited:
                raise ValueError("%s = %r with head_dim = %s: intfa has %s kernels for head_dim %s only"
                                 % (name, value, d, what, head_dims_text(_abi.HEAD_DIMS_CLASSIC)))


def check_tensors(q, k, v, layout, names=("q", "k", "v")):
    """Shapes of valid q, k, v in `layout`; raises TypeError or ValueError naming the argument
    (as `names` calls them)."""
    nq, nk, nv = names
    for name, x in zip(names, (q, k, v)):
        if not isinstance(x, torch.Tensor):
            raise TypeError("%s: expected a torch.Tensor, got %s" % (name, type(x).__name__))
        if x.dim() != 4:
            raise ValueError("%s: expected a 4-D tensor %s (layout %r), got shape %s"
                             % (name, LAYOUTS[layout], layout, tuple(x.shape)))
        if x.dtype not in DTYPES:
            raise TypeError("%s.dtype = %s: intfa takes torch.float16 or torch.bfloat16" % (name, x.dtype))
        if not (x.is_cuda or x.is_meta):
            raise ValueError("%s.device = %s: intfa runs on CUDA tensors" % (name, x.device))
    for name, x in ((nk, k), (nv, v)):
        if x.dtype != q.dtype:
            raise TypeError("%s.dtype = %s but %s.dtype = %s: they must share a dtype" % (name, x.dtype, nq, q.dtype))
        if x.is_cuda != q.is_cuda or x.get_device() != q.get_device():
            raise ValueError("%s.device = %s but %s.device = %s: they must be on one device" % (name, x.device, nq, q.device))
    B, Nq, Hq, D = _bnhd(q, layout)
    Bk, Nkv, Hkv, Dk = _bnhd(k, layout)
    if tuple(v.shape) != tuple(k.shape):
        raise ValueError("%s.shape = %s but %s.shape = %s: they must be equal" % (nv, tuple(v.shape), nk, tuple(k.shape)))
    if Bk != B:
        raise ValueError("%s: batch = %s but %s's batch = %s" % (nk, Bk, nq, B))
    if Dk != D:
        raise ValueError("%s: head_dim = %s but %s's head_dim = %s" % (nk, Dk, nq, D))
    check_head_dim(D)
    if Hkv == 0 and Hq != 0 or Hkv != 0 and Hq % Hkv != 0:
        raise ValueError("%s has %s heads and %s %s: the query heads must be a multiple of the "
                         "key/value heads (GQA, MQA)" % (nq, Hq, nk, Hkv))
    return Shapes(B, Hq, Hkv, Nq, Nkv, D)


def check(q, k, v, layout, scale, qk_format, p_quant, v_scale):
    check_options(layout, scale, qk_format, p_quant, v_scale)
    s = check_tensors(q, k, v, layout)
    check_head_dim(s.head_dim, qk_format, p_quant)
    return s


def out_shape(q):
    """The output has q's shape, in q's layout."""
    return tuple(q.shape)


def lse_shape(s, return_lse):
    """[B, H_q, N_q] fp32, or an empty tensor when the LSE is not asked for."""
    return (s.batch, s.heads_q, s.seq_q) if return_lse else (0,)
