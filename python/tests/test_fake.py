"""CPU: the custom op's fake implementation gives the outputs' shapes and dtypes (meta tensors and
FakeTensorMode), so torch.compile can trace it without a GPU."""
import pytest
import torch
from torch._subclasses.fake_tensor import FakeTensorMode

import intfa


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("layout", ["bnhd", "bhnd"])
def test_meta_shapes(dtype, layout):
    B, Nq, Nkv, Hq, Hkv, D = 2, 33, 70, 8, 2, 128
    shape = (lambda n, h: (B, n, h, D)) if layout == "bnhd" else (lambda n, h: (B, h, n, D))
    q = torch.empty(shape(Nq, Hq), dtype=dtype, device="meta")
    k = torch.empty(shape(Nkv, Hkv), dtype=dtype, device="meta")
    out, lse = intfa.attention(q, k, k, causal=True, layout=layout, return_lse=True)
    assert out.shape == q.shape and out.dtype == dtype and out.device.type == "meta"
    assert lse.shape == (B, Hq, Nq) and lse.dtype == torch.float32
    out = intfa.attention(q, k, k, layout=layout)
    assert isinstance(out, torch.Tensor) and out.shape == q.shape


def test_op_without_lse_returns_an_empty_lse():
    q = torch.empty(1, 16, 2, 64, dtype=torch.float16, device="meta")
    out, lse = torch.ops.intfa.attention(q, q, q, False, 0.0, "bnhd", False, True, "int8",
                                         "u8_row", "channel")
    assert out.shape == q.shape and lse.shape == (0,)


def test_fake_tensor_mode():
    with FakeTensorMode():
        q = torch.empty(1, 4, 64, 64, dtype=torch.bfloat16)
        q = q.to("meta")
        out, lse = intfa.attention(q, q, q, layout="bhnd", return_lse=True)
    assert out.shape == (1, 4, 64, 64) and lse.shape == (1, 4, 64)


def test_fake_checks_arguments_too():
    q = torch.empty(1, 16, 2, 72, dtype=torch.float16, device="meta")
    with pytest.raises(ValueError, match="head_dim = 72"):
        torch.ops.intfa.attention(q, q, q, False, 0.0, "bnhd", False, True, "int8", "u8_row", "channel")
    q = torch.empty(1, 16, 2, 96, dtype=torch.float16, device="meta")
    with pytest.raises(ValueError, match="qk_format = 'int4' with head_dim = 96"):
        torch.ops.intfa.attention(q, q, q, False, 0.0, "bnhd", False, True, "int4", "u8_row", "channel")


@pytest.mark.parametrize("layout", ["bnhd", "bhnd"])
def test_head_dim_96_shapes(layout):
    """The new head dims (any multiple of 16 from 32 to 256) go through the fake implementation
    like 64 and 128: meta tensors, FakeTensorMode on device cuda, and the varlen op."""
    B, Nq, Nkv, Hq, Hkv, D = 2, 33, 70, 8, 2, 96
    shape = (lambda n, h: (B, n, h, D)) if layout == "bnhd" else (lambda n, h: (B, h, n, D))
    q = torch.empty(shape(Nq, Hq), dtype=torch.bfloat16, device="meta")
    k = torch.empty(shape(Nkv, Hkv), dtype=torch.bfloat16, device="meta")
    out, lse = intfa.attention(q, k, k, causal=True, layout=layout, return_lse=True)
    assert out.shape == q.shape and out.dtype == torch.bfloat16 and lse.shape == (B, Hq, Nq)
    with FakeTensorMode():
        qf = torch.empty(shape(Nq, Hq), dtype=torch.float16, device="cuda")
        kf = torch.empty(shape(Nkv, Hkv), dtype=torch.float16, device="cuda")
        out, lse = torch.ops.intfa.attention(qf, kf, kf, True, 0.0, layout, True, True, "int8",
                                             "u8_row", "channel")
    assert out.shape == qf.shape and out.device.type == "cuda" and lse.shape == (B, Hq, Nq)
    qv = torch.empty(50, Hq, D, dtype=torch.float16, device="meta")
    kv = torch.empty(80, Hkv, D, dtype=torch.float16, device="meta")
    cu = torch.tensor([0, 50], dtype=torch.int32).to("meta")
    cuk = torch.tensor([0, 80], dtype=torch.int32).to("meta")
    out, lse = torch.ops.intfa.attention_varlen(qv, kv, kv, cu, cuk, True, 0.0, True, True, "channel")
    assert out.shape == qv.shape and lse.shape == (Hq, 50)


def test_op_is_registered_with_a_schema():
    schema = str(torch.ops.intfa.attention.default._schema)
    assert schema.startswith("intfa::attention(Tensor q, Tensor k, Tensor v, bool causal")
    assert schema.endswith("-> (Tensor, Tensor)")
