"""CPU: which tensors intfa reads in place (their strides go to the library as they are) and which
get a dense copy first."""
import torch

from intfa._launch import in_place_strides


def test_views_of_a_fused_qkv_tensor_are_read_in_place():
    qkv = torch.empty(2, 100, 3, 4, 64, dtype=torch.float16)
    q, k, v = qkv.unbind(2)                      # [B, N, H, D] views, stride_n = 3 * 4 * 64
    assert in_place_strides(q, "bnhd") == (100 * 768, 768, 64)
    assert in_place_strides(k, "bnhd") == (100 * 768, 768, 64)


def test_bhnd_swaps_the_middle_strides():
    x = torch.empty(2, 4, 100, 64, dtype=torch.float16)   # [B, H, N, D]
    assert in_place_strides(x, "bhnd") == (4 * 100 * 64, 64, 100 * 64)
    assert in_place_strides(x.transpose(1, 2), "bnhd") == (4 * 100 * 64, 64, 100 * 64)


def test_extent_one_dims_have_stride_zero():
    x = torch.empty(1, 100, 1, 64, dtype=torch.float16).as_strided((1, 100, 1, 64), (3, 64, 5, 1))
    assert in_place_strides(x, "bnhd") == (0, 64, 0)


def test_what_needs_a_copy():
    x = torch.empty(1, 100, 4, 64, dtype=torch.float16)
    assert in_place_strides(x.transpose(2, 3), "bnhd") is None           # D not contiguous
    assert in_place_strides(torch.empty(1, 100, 4, 68)[..., :64], "bnhd") is None  # stride 68
    assert in_place_strides(torch.empty(1, 100, 4, 72)[..., :64], "bnhd") == (0, 288, 72)            # batch 1: stride 0
