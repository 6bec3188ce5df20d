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
    q = torch.empty(1, 16, 2, 80, dtype=torch.float16, device="meta")
    with pytest.raises(ValueError, match="head_dim = 80"):
        torch.ops.intfa.attention(q, q, q, False, 0.0, "bnhd", False, True, "int8", "u8_row", "channel")


def test_op_is_registered_with_a_schema():
    schema = str(torch.ops.intfa.attention.default._schema)
    assert schema.startswith("intfa::attention(Tensor q, Tensor k, Tensor v, bool causal")
    assert schema.endswith("-> (Tensor, Tensor)")
