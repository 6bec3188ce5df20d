"""intfa.attention_varlen. CPU: argument errors name the argument, and the custom op's fake
implementation gives the shapes (meta tensors, torch.compile). GPU: against intfa.attention on
each sequence alone (bit for bit, K smoothing included: the same quantization, the same K/V
statistics spans, the same kernels) and against float64 attention."""
import math

import pytest
import torch

import intfa


def meta(*shape, dtype=torch.float16):
    return torch.empty(*shape, dtype=dtype, device="meta")


def packed(tq=20, tk=30, hq=4, hkv=2, d=64, dtype=torch.float16):
    return meta(tq, hq, d, dtype=dtype), meta(tk, hkv, d, dtype=dtype), meta(tk, hkv, d, dtype=dtype)


def test_meta_shapes():
    q, k, v = packed()
    out, lse = intfa.attention_varlen(q, k, v, [0, 5, 20], [0, 10, 30], causal=True, return_lse=True)
    assert out.shape == q.shape and out.dtype == q.dtype and out.device.type == "meta"
    assert lse.shape == (4, 20) and lse.dtype == torch.float32
    assert intfa.attention_varlen(q, k, v, torch.tensor([0, 20]), torch.tensor([0, 30])).shape == q.shape


def test_compile_traces_the_op_without_a_graph_break():
    q, k, v = packed(dtype=torch.bfloat16)
    cu_q, cu_k = torch.tensor([0, 7, 20], dtype=torch.int32), torch.tensor([0, 9, 30], dtype=torch.int32)

    def f(q, k, v):
        return intfa.attention_varlen(q, k, v, cu_q, cu_k, causal=True) * 2

    out = torch.compile(f, fullgraph=True, backend="eager")(q, k, v)
    assert out.shape == q.shape and out.dtype == torch.bfloat16


@pytest.mark.parametrize("make, error, match", [
    (lambda q, k, v: (q.unsqueeze(0), k, v), ValueError, r"q: expected a 3-D tensor \[total_tokens, H, D\]"),
    (lambda q, k, v: (q, k.float(), v), TypeError, r"k.dtype = torch.float32"),
    (lambda q, k, v: (q, k, v[:, :1]), ValueError, r"v.shape = \(30, 1, 64\) but k.shape = \(30, 2, 64\)"),
    (lambda q, k, v: (q[:, :3], k, v), ValueError, r"3 heads and k 2"),
])
def test_bad_tensors_name_the_argument(make, error, match):
    q, k, v = make(*packed())
    with pytest.raises(error, match=match):
        intfa.attention_varlen(q, k, v, [0, 20], [0, 30])


def test_head_dim_the_library_lacks():
    q, k, v = packed(d=72)
    with pytest.raises(ValueError, match=r"head_dim = 72"):
        intfa.attention_varlen(q, k, v, [0, 20], [0, 30])


def test_bad_counts_name_the_argument():
    q, k, v = packed()
    with pytest.raises(ValueError, match=r"cu_seqlens_q has 3 entries and cu_seqlens_k 2"):
        intfa.attention_varlen(q, k, v, [0, 5, 20], [0, 30])
    with pytest.raises(ValueError, match=r"cu_seqlens_k: expected a 1-D tensor"):
        intfa.attention_varlen(q, k, v, [0, 20], torch.zeros(2, 2, dtype=torch.int32))
    with pytest.raises(TypeError, match=r"cu_seqlens_q.dtype = torch.float32"):
        intfa.attention_varlen(q, k, v, torch.tensor([0.0, 20.0]), [0, 30])
    with pytest.raises(TypeError, match=r"cu_seqlens_q: expected a 1-D integer tensor or a sequence"):
        intfa.attention_varlen(q, k, v, "0,20", [0, 30])
    with pytest.raises(ValueError, match=r"cu_seqlens_k: counts beyond int32"):
        intfa.attention_varlen(q, k, v, [0, 20], torch.tensor([0, 2**32 + 30]))
    with pytest.raises(ValueError, match=r"cu_seqlens_q: counts beyond int32"):
        intfa.attention_varlen(q, k, v, [0, 2**40], [0, 30])
    with pytest.raises(ValueError, match=r"scale = -1.0"):
        intfa.attention_varlen(q, k, v, [0, 20], [0, 30], scale=-1.0)
    with pytest.raises(ValueError, match=r"v_scale = 'token'"):
        intfa.attention_varlen(q, k, v, [0, 20], [0, 30], v_scale="token")


def _exact(q, k, v, causal):
    """float64 attention of one sequence [N, H, D] (GQA by repeating K/V heads)."""
    q, k, v = (x.double().transpose(0, 1) for x in (q, k, v))
    rep = q.shape[0] // k.shape[0]
    k, v = k.repeat_interleave(rep, 0), v.repeat_interleave(rep, 0)
    s = q @ k.transpose(1, 2) / math.sqrt(q.shape[-1])
    if causal:
        nq, nk = s.shape[1], s.shape[2]
        keep = torch.arange(nk, device=s.device)[None, :] <= torch.arange(nq, device=s.device)[:, None] + (nk - nq)
        s = s.masked_fill(~keep, float("-inf"))
    p = torch.softmax(s, -1).nan_to_num(0.0)
    return (p @ v).transpose(0, 1)


@pytest.mark.gpu
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_gpu_matches_per_sequence_calls(causal, dtype):
    torch.manual_seed(3)
    lq, lk = [7, 0, 300, 1, 129], [7, 5, 300, 64, 260]
    cu_q = torch.tensor([0] + list(torch.tensor(lq).cumsum(0)), dtype=torch.int32)
    cu_k = torch.tensor([0] + list(torch.tensor(lk).cumsum(0)), dtype=torch.int32)
    q = torch.randn(sum(lq), 8, 128, device="cuda", dtype=dtype)
    k = torch.randn(sum(lk), 2, 128, device="cuda", dtype=dtype)
    v = torch.randn(sum(lk), 2, 128, device="cuda", dtype=dtype)
    out, lse = intfa.attention_varlen(q, k, v, cu_q, cu_k, causal=causal, return_lse=True)
    assert lse.shape == (8, sum(lq))
    for b in range(len(lq)):
        if lq[b] == 0:
            continue
        qs, ks, vs = (x[None, c[b]:c[b + 1]] for x, c in ((q, cu_q), (k, cu_k), (v, cu_k)))
        o1, l1 = intfa.attention(qs, ks, vs, causal=causal, return_lse=True)
        assert torch.equal(out[cu_q[b]:cu_q[b + 1]], o1[0])
        torch.testing.assert_close(lse[:, cu_q[b]:cu_q[b + 1]], l1[0], rtol=0, atol=1e-5)
        ex = _exact(qs[0], ks[0], vs[0], causal)
        err = (out[cu_q[b]:cu_q[b + 1]].double() - ex).norm() / max(ex.norm(), 1e-30)
        assert ex.norm() == 0 or err < 2.5e-2
