"""intfa.sdpa: a drop-in for torch.nn.functional.scaled_dot_product_attention.

Same arguments, [B, H, N, D] tensors. What intfa can compute goes to intfa.attention (layout
"bhnd", K smoothing on); anything else falls back to PyTorch's own SDPA, so that replacing
F.scaled_dot_product_attention with intfa.sdpa never breaks a model:
  - attn_mask given, dropout_p > 0, not 4-D, dtype other than fp16/bf16, not a CUDA tensor;
  - head_dim not a multiple of 16 from 32 to 256, or value's head_dim differing from query's;
  - is_causal with N_q != N_kv (PyTorch aligns that mask to the top-left, intfa to the bottom-right);
  - gradients wanted (intfa is forward-only): grad mode on and an input that requires grad.
With strict=True these raise ValueError naming the reason instead; without it, the first
fallback of each kind warns once (UserWarning) with the reason. H_q != H_kv needs
enable_gqa=True, as in PyTorch (else ValueError, as PyTorch raises too).
"""
import warnings

import torch

from . import _args
from ._api import attention

# PyTorch's own, taken before anyone can replace F.scaled_dot_product_attention with ours.
_torch_sdpa = torch.nn.functional.scaled_dot_product_attention
_warned = set()


def _warn_once(reason):
    """One UserWarning per kind of reason (its first words: "attn_mask is given", "query.dtype",
    ...), outside torch.compile tracing."""
    kind = " ".join(reason.split(":")[0].split()[:3])
    if kind in _warned or torch.compiler.is_compiling():
        return
    _warned.add(kind)
    warnings.warn("intfa.sdpa: falling back to PyTorch's SDPA: " + reason, stacklevel=3)


def unsupported_reason(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False,
                       enable_gqa=False):
    """Why intfa cannot serve this call (a sentence), or None if it can."""
    if attn_mask is not None:
        return "attn_mask is given: intfa supports no mask but is_causal"
    if dropout_p != 0.0:
        return "dropout_p = %r: intfa has no dropout" % (dropout_p,)
    try:
        _args.check_tensors(query, key, value, "bhnd", ("query", "key", "value"))
    except (TypeError, ValueError) as err:
        return str(err)
    if is_causal and query.shape[2] != key.shape[2]:
        return ("is_causal with N_q = %s != N_kv = %s: PyTorch's mask is aligned to the top-left, "
                "intfa's to the bottom-right" % (query.shape[2], key.shape[2]))
    if torch.is_grad_enabled() and (query.requires_grad or key.requires_grad or value.requires_grad):
        return "an input requires grad: intfa is forward-only"
    return None


def sdpa(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
         enable_gqa=False, *, strict=False):
    """torch.nn.functional.scaled_dot_product_attention through intfa's INT8 kernels where they
    apply (see the module's docstring), else through PyTorch's SDPA (strict=True: ValueError)."""
    if query.dim() == 4 and key.dim() == 4 and query.shape[1] != key.shape[1] and not enable_gqa:
        raise ValueError("query has %s heads and key %s: pass enable_gqa=True for grouped-query "
                         "attention" % (query.shape[1], key.shape[1]))
    reason = unsupported_reason(query, key, value, attn_mask, dropout_p, is_causal, enable_gqa)
    if reason is None:
        return attention(query, key, value, causal=is_causal, scale=scale, layout="bhnd")
    if strict:
        raise ValueError("intfa.sdpa: " + reason)
    _warn_once(reason)
    return _torch_sdpa(query, key, value, attn_mask=attn_mask, dropout_p=dropout_p,
                       is_causal=is_causal, scale=scale, enable_gqa=enable_gqa)
