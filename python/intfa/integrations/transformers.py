"""Hugging Face transformers: `attn_implementation="intfa"`.

    import intfa.integrations.transformers
    intfa.integrations.transformers.register()
    model = AutoModelForCausalLM.from_pretrained(name, attn_implementation="intfa", torch_dtype=torch.float16)

register() adds "intfa" to transformers' AttentionInterface, with the SDPA mask builder (which
passes no mask where attention is purely causal or full, so intfa's kernels run). Each call goes
to intfa.attention where intfa computes the same attention (no mask or a causal one with
N_q == N_kv, no dropout, softcap or position bias, fp16/bf16 CUDA tensors, head_dim a
multiple of 16 from 32 to 256, no gradients), else to transformers' own SDPA path, with a
one-time warning that says why. Needs transformers >= 4.48 (AttentionInterface)."""
import warnings

from ..sdpa import unsupported_reason
from .._api import attention

NAME = "intfa"
_warned = set()


def _why_not(query, key, value, attention_mask, dropout, is_causal, kwargs):
    if kwargs.get("softcap") is not None:
        return "softcap is set"
    if kwargs.get("position_bias") is not None:
        return "a position bias is given"
    return unsupported_reason(query, key, value, attention_mask, dropout, is_causal, enable_gqa=True)


def attention_forward(module, query, key, value, attention_mask, dropout=0.0, scaling=None,
                      is_causal=None, **kwargs):
    """transformers' attention function signature: query [B, H_q, N_q, D], key and value
    [B, H_kv, N_kv, D]; returns ([B, N_q, H_q, D] contiguous, None)."""
    causal = getattr(module, "is_causal", True) if is_causal is None else is_causal
    causal = bool(causal) and query.shape[2] > 1 and attention_mask is None
    reason = _why_not(query, key, value, attention_mask, dropout, causal, kwargs)
    if reason is None:
        # [B, N, H, D] views of the [B, H, N, D] tensors: read in place, and the output comes
        # out dense in that layout, which is what transformers reshapes next
        out = attention(query.transpose(1, 2), key.transpose(1, 2), value.transpose(1, 2),
                        causal=causal, scale=scaling, layout="bnhd")
        return out, None
    if reason not in _warned:
        _warned.add(reason)
        warnings.warn("intfa (transformers): falling back to SDPA: " + reason, stacklevel=2)
    from transformers.integrations.sdpa_attention import sdpa_attention_forward
    return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout,
                                  scaling=scaling, is_causal=is_causal, **kwargs)


def register():
    """Adds "intfa" to transformers' attention functions (idempotent)."""
    try:
        from transformers import AttentionInterface
    except ImportError as err:
        raise ImportError("intfa.integrations.transformers needs transformers >= 4.48 "
                          "(AttentionInterface): %s" % err) from None
    AttentionInterface.register(NAME, attention_forward)
    try:  # transformers >= 4.53 builds masks per implementation
        from transformers.masking_utils import AttentionMaskInterface, sdpa_mask
        AttentionMaskInterface.register(NAME, sdpa_mask)
    except ImportError:
        pass
    return NAME


__all__ = ["NAME", "attention_forward", "register"]
