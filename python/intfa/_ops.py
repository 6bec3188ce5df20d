"""torch.ops.intfa.attention: the custom op that torch.compile sees (one node, no graph break).

Its real implementation (CUDA) is intfa._plan.attention; its fake implementation gives the output's
shape and dtype from the inputs' alone, so Dynamo and AOTAutograd trace it with FakeTensors (and
it runs on meta tensors) without launching anything. It has no autograd formula: intfa is
forward-only (inference)."""
from typing import Tuple

import torch

from . import _args, _plan


@torch.library.custom_op("intfa::attention", mutates_args=(), device_types="cuda")
def attention_op(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool, scale: float,
                 layout: str, return_lse: bool, smooth_k: bool, qk_format: str, p_quant: str,
                 v_scale: str) -> Tuple[torch.Tensor, torch.Tensor]:
    """(out, lse); scale 0.0 means 1/sqrt(head_dim); lse is empty unless return_lse."""
    out, lse = _plan.attention(q, k, v, causal, scale or None, layout, return_lse, smooth_k,
                               qk_format, p_quant, v_scale)
    return out, lse if lse is not None else q.new_empty((0,), dtype=torch.float32)


@attention_op.register_fake
def _attention_fake(q, k, v, causal, scale, layout, return_lse, smooth_k, qk_format, p_quant,
                    v_scale):
    s = _args.check(q, k, v, layout, scale or None, qk_format, p_quant, v_scale)
    out = q.new_empty(_args.out_shape(q))
    lse = q.new_empty(_args.lse_shape(s, return_lse), dtype=torch.float32)
    return out, lse
