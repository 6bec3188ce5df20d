"""CPU: intfa.attention's argument checks raise clear errors naming the argument, before any
library or GPU is touched (meta tensors stand in for CUDA ones)."""
import pytest
import torch

import intfa


def meta(*shape, dtype=torch.float16):
    return torch.empty(*shape, dtype=dtype, device="meta")


def qkv(b=1, n=8, h=4, d=64, hkv=None, nkv=None, dtype=torch.float16):
    q = meta(b, n, h, d, dtype=dtype)
    kv = meta(b, nkv or n, hkv or h, d, dtype=dtype)
    return q, kv, kv.clone()


@pytest.mark.parametrize("kwargs, match", [
    (dict(layout="nhd"), r"layout = 'nhd': expected one of 'bnhd', 'bhnd'"),
    (dict(qk_format="fp8"), r"qk_format = 'fp8'"),
    (dict(p_quant="u8"), r"p_quant = 'u8': expected one of 'u8_row', 's8_127'"),
    (dict(v_scale="token"), r"v_scale = 'token'"),
    (dict(scale=0.0), r"scale = 0.0: expected None"),
    (dict(scale=float("nan")), r"scale = nan"),
    (dict(scale=-1.0), r"scale = -1.0"),
])
def test_bad_options_name_the_argument(kwargs, match):
    q, k, v = qkv()
    with pytest.raises(ValueError, match=match):
        intfa.attention(q, k, v, **kwargs)


@pytest.mark.parametrize("d", [24, 40, 272, 16, 264])
def test_head_dim_the_library_lacks(d):
    q, k, v = qkv(d=d)
    with pytest.raises(ValueError, match=r"head_dim = %d: intfa has kernels for head_dim 32 to 256 in "
                                         r"steps of 16" % d):
        intfa.attention(q, k, v)


@pytest.mark.parametrize("d", [32, 48, 80, 96, 112, 160, 192, 256])
def test_every_multiple_of_16_from_32_to_256(d):
    q, k, v = qkv(d=d, h=8, hkv=2)
    out, lse = intfa.attention(q, k, v, causal=True, return_lse=True)
    assert out.shape == q.shape and lse.shape == (1, 8, 8)


@pytest.mark.parametrize("kwargs, match", [
    (dict(qk_format="int4"), r"qk_format = 'int4' with head_dim = 96: intfa has INT4 Q/K kernels for "
                             r"head_dim 64 and 128 only"),
    (dict(p_quant="f16"), r"p_quant = 'f16' with head_dim = 96: intfa has 16-bit P.V kernels for "
                          r"head_dim 64 and 128 only"),
])
def test_int4_and_pf16_keep_64_and_128(kwargs, match):
    q, k, v = qkv(d=96)
    with pytest.raises(ValueError, match=match):
        intfa.attention(q, k, v, **kwargs)
    with pytest.raises(ValueError, match=match):
        intfa.warmup(q, k, v, **kwargs)
    for d in (64, 128):   # the classic head dims still take both
        q, k, v = qkv(d=d)
        assert intfa.attention(q, k, v, **kwargs).shape == q.shape


def test_heads_not_a_multiple():
    q, k, v = qkv(h=6, hkv=4)
    with pytest.raises(ValueError, match=r"q has 6 heads and k 4"):
        intfa.attention(q, k, v)


def test_dtype_and_device_and_rank():
    q, k, v = qkv()
    with pytest.raises(TypeError, match=r"q.dtype = torch.float32"):
        intfa.attention(q.float(), k, v)
    with pytest.raises(TypeError, match=r"k.dtype = torch.bfloat16 but q.dtype = torch.float16"):
        intfa.attention(q, k.to(torch.bfloat16), v)
    with pytest.raises(ValueError, match=r"q.device = cpu: intfa runs on CUDA tensors"):
        intfa.attention(torch.zeros(1, 8, 4, 64, dtype=torch.float16), k, v)
    with pytest.raises(ValueError, match=r"q: expected a 4-D tensor \[B, N, H, D\]"):
        intfa.attention(meta(8, 4, 64), k, v)
    with pytest.raises(TypeError, match=r"v: expected a torch.Tensor, got list"):
        intfa.attention(q, k, [1])


def test_shape_mismatches():
    q, k, v = qkv()
    with pytest.raises(ValueError, match=r"v.shape = \(1, 9, 4, 64\) but k.shape = \(1, 8, 4, 64\)"):
        intfa.attention(q, k, meta(1, 9, 4, 64))
    with pytest.raises(ValueError, match=r"k: batch = 2 but q's batch = 1"):
        kb = meta(2, 8, 4, 64)
        intfa.attention(q, kb, kb)
    with pytest.raises(ValueError, match=r"k: head_dim = 128 but q's head_dim = 64"):
        kd = meta(1, 8, 4, 128)
        intfa.attention(q, kd, kd)


def test_layout_bhnd_reads_heads_from_dim_1():
    q = meta(1, 6, 8, 64)   # [B, H, N, D]: 6 heads, 8 tokens
    k = meta(1, 4, 8, 64)
    with pytest.raises(ValueError, match=r"q has 6 heads and k 4"):
        intfa.attention(q, k, k, layout="bhnd")
    assert intfa.attention(q, meta(1, 3, 8, 64), meta(1, 3, 8, 64), layout="bhnd").shape == (1, 6, 8, 64)
