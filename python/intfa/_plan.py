"""Per-call host overhead: what a call needs that depends only on the inputs' shapes, strides,
dtypes and device and on the options (the checks, the intfa_attn_problem, the workspace size,
the tensor descriptions' strides) is worked out once and kept under that key; a repeated call
then only reads the data pointers, allocates and calls intfa_attention. Calls whose tensors
need a copy (misaligned data, strides intfa cannot take) go the general way (_launch.run)."""
import threading
from collections import namedtuple

import torch

from . import _args, _launch

Plan = namedtuple("Plan", "problem ws_bytes strides lse_shape")  # problem: packed bytes
_U8 = torch.uint8
_MAX_PLANS = 4096
_plans = {}
_lock = threading.Lock()


def _make(q, k, v, causal, scale, layout, return_lse, smooth_k, qk_format, p_quant, v_scale):
    s = _args.check(q, k, v, layout, scale, qk_format, p_quant, v_scale)
    problem = _launch.problem(q, s, causal, scale, smooth_k, qk_format, p_quant, v_scale)
    strides = tuple(_launch.in_place_strides(x, layout) for x in (q, k, v))
    out = _launch.in_place_strides(torch.empty(q.shape, device="meta"), layout)
    return s, Plan(_launch.pack_problem(problem), _launch.workspace_bytes(problem), strides + (out,),
                   (s.batch, s.heads_q, s.seq_q) if return_lse else None)


def attention(q, k, v, causal, scale, layout, return_lse, smooth_k, qk_format, p_quant, v_scale):
    """(out, lse or None) of CUDA tensors, through a plan where the tensors allow it."""
    key = (q.shape, k.shape, v.shape, q.stride(), k.stride(), v.stride(), q.dtype, k.dtype,
           v.dtype, q.device, k.device, v.device, causal, scale, layout, return_lse, smooth_k,
           qk_format, p_quant, v_scale)
    try:
        plan = _plans.get(key)
    except TypeError:   # an unhashable option: _args.check names it
        plan = None
    if plan is None:
        s, plan = _make(q, k, v, causal, scale, layout, return_lse, smooth_k, qk_format, p_quant, v_scale)
        with _lock:
            if len(_plans) >= _MAX_PLANS:
                _plans.clear()
            try:
                _plans[key] = plan
            except TypeError:
                pass
    qp, kp, vp = q.data_ptr(), k.data_ptr(), v.data_ptr()
    sq, sk, sv, so = plan.strides
    if sq is None or sk is None or sv is None or (qp | kp | vp) % 16:
        s = _args.check(q, k, v, layout, scale, qk_format, p_quant, v_scale)
        return _launch.run(q, k, v, s, causal, scale, layout, return_lse, smooth_k, qk_format,
                           p_quant, v_scale)
    out = torch.empty_like(q, memory_format=torch.contiguous_format)
    dev = q.device
    lse = None if plan.lse_shape is None else torch.empty(plan.lse_shape, dtype=torch.float32, device=dev)
    ws = torch.empty(plan.ws_bytes, dtype=_U8, device=dev)
    _launch.call_packed(q.get_device(), plan.problem, qp, sq, kp, sk, vp, sv, out.data_ptr(), so,
                        None if lse is None else lse.data_ptr(), ws.data_ptr(), plan.ws_bytes)
    return out, lse
