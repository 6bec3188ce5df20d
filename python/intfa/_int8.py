"""Quantize once, attend many times: intfa.quantize_qk, intfa.quantize_v, intfa.attention_int8
over intfa_quantize_qk_ex, intfa_quantize_v and intfa_attention_int8 (docs/ALGORITHM.md has the
formats). Eager functions on the current stream; outputs come from PyTorch's allocator.

    q8, qs = intfa.quantize_qk(q)                 # int8 [B, H, N, D], fp32 scales [B, H, N]
    k8, ks = intfa.quantize_qk(k)
    v8, vs = intfa.quantize_v(v)                  # int8 [B, H, D, N_pad] key-permuted, fp32 [B, H, D]
    out = intfa.attention_int8(q8, qs, k8, ks, v8, vs, causal=True)   # [B, N, H, D] fp16
"""
import ctypes

import torch

from . import _abi, _args
from ._context import context
from ._errors import check
from ._launch import _DTYPE, _desc, _stream
from ._library import lib


def _fp_input(name, x, layout):
    """(B, N, H, D) of a valid fp16/bf16 CUDA input in `layout`."""
    if not isinstance(x, torch.Tensor):
        raise TypeError("%s: expected a torch.Tensor, got %s" % (name, type(x).__name__))
    _args.check_tensors(x, x, x, layout, (name, name, name))
    return _args._bnhd(x, layout)


def quantize_qk(x, *, layout="bnhd", qk_format="int8"):
    """Q or K, per token: (values, scale). values int8 [B, H, N, D] (qk_format "int8") or uint8
    [B, H, N, D / 2] holding two int4 values per byte, low nibble first ("int4"); scale fp32
    [B, H, N] (value = q * scale). x: fp16/bf16 CUDA [B, N, H, D] ("bnhd") or [B, H, N, D]."""
    _args._choice("layout", layout, tuple(_args.LAYOUTS))
    _args._choice("qk_format", qk_format, tuple(_abi.QK_FORMAT))
    B, N, H, D = _fp_input("x", x, layout)
    _args.check_head_dim(D, qk_format)
    row = D // 2 if qk_format == "int4" else D
    values = torch.empty((B, H, N, row), dtype=torch.uint8 if qk_format == "int4" else torch.int8,
                         device=x.device)
    scale = torch.empty((B, H, N), dtype=torch.float32, device=x.device)
    if values.numel() == 0:
        return values, scale
    x, tx = _desc(x, layout)
    opts = _abi.QKQuantOptions(_abi.QK_FORMAT[qk_format], None, None, 1, 0.0, None)
    L, dev = lib(), x.get_device()
    check(L, L.intfa_quantize_qk_ex(context(dev), ctypes.byref(tx), _DTYPE[x.dtype], B, H, N, D,
                                    ctypes.byref(opts), values.data_ptr(), scale.data_ptr(), _stream(dev)),
          "intfa_quantize_qk_ex")
    return values, scale


def quantize_v(v, *, layout="bnhd", v_scale="channel"):
    """V: (values int8 [B, H, D, N_pad] (keys contiguous, padded to 16, permuted within each
    group of 16 as the kernels read them), scale fp32 [B, H, D]); v_scale "channel" or "head"."""
    _args._choice("layout", layout, tuple(_args.LAYOUTS))
    _args._choice("v_scale", v_scale, tuple(_abi.V_SCALE))
    B, N, H, D = _fp_input("v", v, layout)
    L = lib()
    n_pad = L.intfa_v_padded_len(N)
    values = torch.empty((B, H, D, n_pad), dtype=torch.int8, device=v.device)
    scale = torch.empty((B, H, D), dtype=torch.float32, device=v.device)
    if B * H == 0:
        return values, scale
    v, tv = _desc(v, layout)
    dev = v.get_device()
    check(L, L.intfa_quantize_v(context(dev), ctypes.byref(tv), _DTYPE[v.dtype], B, H, N, D,
                                _abi.V_SCALE[v_scale], values.data_ptr(), scale.data_ptr(), _stream(dev)),
          "intfa_quantize_v")
    return values, scale


def _qk_shape(name, values, scale, qk_format):
    """(B, H, N, D) of quantized Q or K as quantize_qk returns them."""
    if not isinstance(values, torch.Tensor) or not isinstance(scale, torch.Tensor):
        raise TypeError("%s: expected the tensors quantize_qk returns" % name)
    want = torch.uint8 if qk_format == "int4" else torch.int8
    if values.dim() != 4 or values.dtype != want or not values.is_cuda:
        raise ValueError("%s: expected a CUDA %s tensor [B, H, N, D%s] (quantize_qk), got %s %s on %s"
                         % (name, want, " / 2" if qk_format == "int4" else "", values.dtype,
                            tuple(values.shape), values.device))
    B, H, N, row = values.shape
    if scale.shape != (B, H, N) or scale.dtype != torch.float32 or scale.device != values.device:
        raise ValueError("%s scale: expected fp32 [%d, %d, %d] on %s, got %s %s"
                         % (name, B, H, N, values.device, scale.dtype, tuple(scale.shape)))
    return B, H, N, row * 2 if qk_format == "int4" else row


def attention_int8(q8, q_scale, k8, k_scale, v8, v_scale, *, causal=False, scale=None,
                   return_lse=False, out_dtype=torch.float16, qk_format="int8", p_quant="u8_row"):
    """Attention on inputs quantized by quantize_qk and quantize_v. Returns out [B, N_q, H_q, D]
    in out_dtype (fp16 or bf16) or (out, lse fp32 [B, H_q, N_q])."""
    _args.check_options("bnhd", scale, qk_format, p_quant, "channel")
    if out_dtype not in _args.DTYPES:
        raise TypeError("out_dtype = %s: intfa writes torch.float16 or torch.bfloat16" % (out_dtype,))
    B, Hq, Nq, D = _qk_shape("q8", q8, q_scale, qk_format)
    Bk, Hkv, Nkv, Dk = _qk_shape("k8", k8, k_scale, qk_format)
    if (Bk, Dk) != (B, D) or Hkv == 0 or Hq % Hkv:
        raise ValueError("k8 is [%d, %d, %d, %d] for q8 [%d, %d, %d, %d]: batch and head_dim must "
                         "match, and q's heads be a multiple of k's" % (Bk, Hkv, Nkv, Dk, B, Hq, Nq, D))
    _args.check_head_dim(D, qk_format, p_quant)
    L = lib()
    want_v = (B, Hkv, D, L.intfa_v_padded_len(Nkv))
    if tuple(v8.shape) != want_v or v8.dtype != torch.int8 or tuple(v_scale.shape) != (B, Hkv, D):
        raise ValueError("v8, v_scale: expected int8 %s and fp32 %s (quantize_v), got %s %s and %s"
                         % (want_v, (B, Hkv, D), v8.dtype, tuple(v8.shape), tuple(v_scale.shape)))
    out = torch.empty((B, Nq, Hq, D), dtype=out_dtype, device=q8.device)
    lse = torch.empty((B, Hq, Nq), dtype=torch.float32, device=q8.device) if return_lse else None
    if out.numel() == 0:
        return (out, lse) if return_lse else out
    q8, k8, v8 = q8.contiguous(), k8.contiguous(), v8.contiguous()
    q_scale, k_scale, v_scale = q_scale.contiguous(), k_scale.contiguous(), v_scale.contiguous()
    row_b = q8.shape[3]  # bytes of a row
    pr = _abi.Problem(B, Hq, Hkv, Nq, Nkv, D, scale or 0.0, int(causal), _DTYPE[out_dtype],
                      _abi.P_QUANT[p_quant], _abi.V_SCALE["channel"], _abi.QK_FORMAT[qk_format], 0)
    qq = _abi.QK8(_abi.Tensor(q8.data_ptr(), Hq * Nq * row_b, row_b, Nq * row_b), q_scale.data_ptr(), None)
    kq = _abi.QK8(_abi.Tensor(k8.data_ptr(), Hkv * Nkv * row_b, row_b, Nkv * row_b), k_scale.data_ptr(), None)
    vq = _abi.V8(v8.data_ptr(), v_scale.data_ptr())
    to = _abi.Tensor(out.data_ptr(), Nq * Hq * D, Hq * D, D)
    dev = q8.get_device()
    check(L, L.intfa_attention_int8(context(dev), ctypes.byref(pr), ctypes.byref(qq), ctypes.byref(kq),
                                    ctypes.byref(vq), ctypes.byref(to),
                                    None if lse is None else lse.data_ptr(), _stream(dev)),
          "intfa_attention_int8")
    return (out, lse) if return_lse else out
