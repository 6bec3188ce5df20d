"""CPU: which calls intfa.sdpa serves itself and which it hands to PyTorch's SDPA (or refuses
with strict=True), on meta and CPU tensors."""
import pytest
import torch
import torch.nn.functional as F

import intfa


def meta(*shape, dtype=torch.float16):
    return torch.empty(*shape, dtype=dtype, device="meta")


Q = meta(1, 4, 32, 64)


@pytest.mark.parametrize("args, kwargs, reason", [
    ((Q, Q, Q), dict(attn_mask=meta(32, 32)), "attn_mask is given"),
    ((Q, Q, Q), dict(dropout_p=0.1), "dropout_p = 0.1"),
    ((meta(1, 4, 32, 72),) * 3, {}, "head_dim = 72: intfa has kernels for head_dim 32 to 256"),
    ((Q, meta(1, 4, 48, 64), meta(1, 4, 48, 64)), dict(is_causal=True), "top-left"),
    ((Q.float(), Q.float(), Q.float()), {}, "query.dtype = torch.float32"),
])
def test_unsupported_reasons(args, kwargs, reason):
    assert reason in intfa.unsupported_reason(*args, **kwargs)
    with pytest.raises(ValueError, match="intfa.sdpa: .*" + reason.replace(".", r"\.")):
        intfa.sdpa(*args, strict=True, **kwargs)


def test_supported_calls_have_no_reason():
    assert intfa.unsupported_reason(Q, Q, Q) is None
    kv = meta(1, 2, 48, 64)
    assert intfa.unsupported_reason(Q, kv, kv, is_causal=False, enable_gqa=True) is None
    assert intfa.sdpa(Q, kv, kv, enable_gqa=True, strict=True).shape == Q.shape


@pytest.mark.parametrize("d", [32, 80, 96, 192, 256])
def test_new_head_dims_are_served(d):
    q, kv = meta(1, 8, 40, d), meta(1, 2, 40, d)
    assert intfa.unsupported_reason(q, kv, kv, is_causal=True, enable_gqa=True) is None
    assert intfa.sdpa(q, kv, kv, is_causal=True, enable_gqa=True, strict=True).shape == q.shape


def test_head_dim_96_served_72_falls_back_with_a_warning(monkeypatch):
    import importlib
    mod = importlib.import_module("intfa.sdpa")
    mod._warned.clear()
    served, torch_calls = [], []
    monkeypatch.setattr(mod, "attention", lambda q, k, v, **kw: served.append(q.shape[-1]) or q)
    monkeypatch.setattr(mod, "_torch_sdpa", lambda q, k, v, **kw: torch_calls.append(q.shape[-1]) or q)
    q96, q72 = meta(1, 4, 16, 96), meta(1, 4, 16, 72)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # served: no warning
        intfa.sdpa(q96, q96, q96, is_causal=True)
    with pytest.warns(UserWarning, match=r"falling back to PyTorch's SDPA: head_dim = 72: intfa has "
                                         r"kernels for head_dim 32 to 256 in steps of 16"):
        intfa.sdpa(q72, q72, q72)
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # the same kind again: silent
        intfa.sdpa(q72, q72, q72)
    assert served == [96] and torch_calls == [72, 72]


def test_grad_wanted_falls_back():
    q = torch.randn(1, 2, 8, 64, dtype=torch.float16, requires_grad=True)
    assert "forward-only" in intfa.unsupported_reason(q.to("meta"), q.to("meta"), q.to("meta"))


def test_fallback_is_torch_sdpa_on_cpu():
    torch.manual_seed(0)
    q, k, v = (torch.randn(1, 2, 16, 80, dtype=torch.float32) for _ in range(3))
    torch.testing.assert_close(intfa.sdpa(q, k, v, is_causal=True), F.scaled_dot_product_attention(q, k, v, is_causal=True))


def test_gqa_needs_enable_gqa():
    kv = meta(1, 2, 32, 64)
    with pytest.raises(ValueError, match="pass enable_gqa=True"):
        intfa.sdpa(Q, kv, kv)


def test_fallback_warns_once_per_kind():
    import importlib
    importlib.import_module("intfa.sdpa")._warned.clear()   # the module (intfa.sdpa is the function)
    q = torch.randn(1, 2, 8, 64, dtype=torch.float16)
    mask = torch.ones(8, 8, dtype=torch.bool)
    with pytest.warns(UserWarning, match=r"intfa.sdpa: falling back to PyTorch's SDPA: attn_mask is given"):
        intfa.sdpa(q, q, q, attn_mask=mask)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # a second fallback of the same kind: silent
        out = intfa.sdpa(q, q, q, attn_mask=mask)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, q, q, attn_mask=mask))
