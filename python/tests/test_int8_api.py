"""intfa.quantize_qk / quantize_v / attention_int8 (quantize once, attend many times). CPU: the
argument errors name what is wrong. GPU: the three calls give exactly intfa.attention's output
(the drop-in quantizes the same way and runs the same kernel)."""
import pytest
import torch

import intfa


def test_bad_arguments():
    x = torch.empty(1, 8, 2, 64, dtype=torch.float16)
    with pytest.raises(ValueError, match=r"layout = 'nhd'"):
        intfa.quantize_qk(x, layout="nhd")
    with pytest.raises(ValueError, match=r"qk_format = 'int2'"):
        intfa.quantize_qk(x, qk_format="int2")
    with pytest.raises(ValueError, match=r"x.device = cpu: intfa runs on CUDA tensors"):
        intfa.quantize_qk(x)
    with pytest.raises(TypeError, match=r"v.dtype = torch.float32"):
        intfa.quantize_v(x.float())
    with pytest.raises(ValueError, match=r"v_scale = 'token'"):
        intfa.quantize_v(x, v_scale="token")
    q8 = torch.zeros(1, 2, 8, 64, dtype=torch.int8)
    qs = torch.zeros(1, 2, 8)
    with pytest.raises(ValueError, match=r"q8: expected a CUDA torch.int8 tensor"):
        intfa.attention_int8(q8, qs, q8, qs, q8, qs)
    with pytest.raises(TypeError, match=r"out_dtype = torch.float32"):
        intfa.attention_int8(q8, qs, q8, qs, q8, qs, out_dtype=torch.float32)
    with pytest.raises(ValueError, match=r"scale = -2"):
        intfa.attention_int8(q8, qs, q8, qs, q8, qs, scale=-2)
    x96 = torch.empty(1, 8, 2, 96, dtype=torch.float16, device="meta")
    with pytest.raises(ValueError, match=r"qk_format = 'int4' with head_dim = 96: intfa has INT4 Q/K"):
        intfa.quantize_qk(x96, qk_format="int4")
    with pytest.raises(ValueError, match=r"head_dim = 40: intfa has kernels for head_dim 32 to 256"):
        intfa.quantize_v(torch.empty(1, 8, 2, 40, dtype=torch.float16, device="meta"))


@pytest.mark.gpu
@pytest.mark.parametrize("causal", [False, True])
def test_gpu_quantize_once_equals_the_drop_in(causal):
    torch.manual_seed(5)
    q = torch.randn(2, 300, 8, 128, device="cuda", dtype=torch.bfloat16)
    k = torch.randn(2, 300, 2, 128, device="cuda", dtype=torch.bfloat16)
    v = torch.randn(2, 300, 2, 128, device="cuda", dtype=torch.bfloat16)
    q8, qs = intfa.quantize_qk(q)
    k8, ks = intfa.quantize_qk(k)
    v8, vs = intfa.quantize_v(v)
    assert q8.shape == (2, 8, 300, 128) and v8.shape == (2, 2, 128, 304) and vs.shape == (2, 2, 128)
    out, lse = intfa.attention_int8(q8, qs, k8, ks, v8, vs, causal=causal, return_lse=True,
                                    out_dtype=torch.bfloat16)
    want, want_lse = intfa.attention(q, k, v, causal=causal, smooth_k=False, return_lse=True)
    assert torch.equal(out, want)
    torch.testing.assert_close(lse, want_lse, rtol=0, atol=0)
    # int4 Q/K: the same against the drop-in's int4 path
    q4, qs4 = intfa.quantize_qk(q, qk_format="int4")
    k4, ks4 = intfa.quantize_qk(k, qk_format="int4")
    assert q4.dtype == torch.uint8 and q4.shape == (2, 8, 300, 64)
    out4 = intfa.attention_int8(q4, qs4, k4, ks4, v8, vs, causal=causal, out_dtype=torch.bfloat16,
                                qk_format="int4")
    want4 = intfa.attention(q, k, v, causal=causal, smooth_k=False, qk_format="int4")
    assert torch.equal(out4, want4)


def test_warmup_checks_its_arguments():
    q = torch.empty(1, 16, 4, 72, dtype=torch.float16, device="meta")
    with pytest.raises(ValueError, match=r"head_dim = 72"):
        intfa.warmup(q, q, q)
    q = torch.empty(1, 16, 4, 64, dtype=torch.float16, device="meta")
    with pytest.raises(ValueError, match=r"layout = 'x'"):
        intfa.warmup(q, q, q, layout="x")


@pytest.mark.gpu
def test_gpu_warmup_on_meta_shapes():
    """intfa.warmup on meta tensors loads the kernels of that call (the C side's test_prepare
    checks that they compile concurrently and that a loaded call fetches nothing); the call then
    runs and matches the same call without a warm-up."""
    q = torch.empty(1, 777, 4, 128, dtype=torch.bfloat16, device="meta")
    k = torch.empty(1, 777, 2, 128, dtype=torch.bfloat16, device="meta")
    intfa.warmup(q, k, k, causal=True, smooth_k=False)
    intfa.warmup(q, k, k, causal=True, smooth_k=False)   # idempotent
    torch.manual_seed(1)
    qc = torch.randn(1, 777, 4, 128, dtype=torch.bfloat16, device="cuda")
    kc = torch.randn(1, 777, 2, 128, dtype=torch.bfloat16, device="cuda")
    out = intfa.attention(qc, kc, kc, causal=True, smooth_k=False)
    assert torch.equal(out, intfa.attention(qc, kc, kc, causal=True, smooth_k=False))
