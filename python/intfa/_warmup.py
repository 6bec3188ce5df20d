"""intfa.warmup: compile (or load) ahead of time every kernel that calls of given shapes will
need, so that a server's first request pays no compile (intfa_warmup, in parallel)."""
import ctypes

import torch

from . import _abi, _args, _launch
from ._context import context
from ._errors import check
from ._library import lib


def warmup(q, k, v, *, causal=False, scale=None, layout="bnhd", smooth_k=True, qk_format="int8",
           p_quant="u8_row", v_scale="channel", device=None):
    """Loads the kernels intfa.attention(q, k, v, ...) with these options will use. q, k, v may
    be meta tensors (only their shapes and dtype count: warm up before any data exists); the
    device is theirs when they are CUDA tensors, else `device` (default: the current one). For
    intfa.attention_varlen, pass [1, longest sequence, H, D] shapes."""
    s = _args.check(q, k, v, layout, scale, qk_format, p_quant, v_scale)
    if q.is_cuda:
        dev = q.get_device()
    else:
        dev = torch.device(device if device is not None else "cuda").index
        dev = torch.cuda.current_device() if dev is None else dev
    problem = _launch.problem(q, s, causal, scale, smooth_k, qk_format, p_quant, v_scale)
    L = lib()
    check(L, L.intfa_warmup(context(dev), ctypes.byref(problem), 1), "intfa_warmup")
